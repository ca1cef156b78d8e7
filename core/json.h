/* json.h: dotted-path reads of cJSON objects, the one helper the controllers and the fakes share. */
#ifndef T0_CORE_JSON_H
#define T0_CORE_JSON_H

#include <cJSON.h>
#include <stdbool.h>

/* t0_json_at: the member of O at PATH ("metadata.name": object keys separated by dots, matched
 * case-sensitively, first match), or NULL when a step is missing or not an object. Borrowed from O.
 * Allocation-free: it runs on every watch event and status write. */
const cJSON *t0_json_at(const cJSON *o, const char *path);
/* t0_json_get: O's member KEY (no dots: a key may contain them); a drop-in for
 * cJSON_GetObjectItemCaseSensitive (same arguments, result and NULL handling) that compares the first
 * byte inline: the fakes and controllers look up members of every object they see. */
cJSON *t0_json_get(const cJSON *o, const char *key);
/* t0_json_equal: whether A and B hold the same JSON (cJSON_Compare case-sensitively: numbers within its
 * tolerance, objects regardless of member order). Members in the same order are compared in one pass;
 * otherwise cJSON_Compare decides. For objects with duplicate keys, a positional match counts as equal. */
bool t0_json_equal(const cJSON *a, const cJSON *b);
/* t0_json_str: the string at PATH, or NULL when there is none or it is not a string. */
const char *t0_json_str(const cJSON *o, const char *path);

/* t0_json_text_drop: remove from the JSON text BUF (LEN bytes, edited in place) the members at PATHS (a
 * NULL-terminated list of dotted paths from the root; a "*" step matches every element of an array:
 * "items.*.spec"), and return the new length (BUF stays NUL-terminated when it was). Keys are matched as
 * they are written (a key with an escape sequence matches no path). Along the paths the text must be
 * well-formed, or it is left as it is for the parser to report; values off the paths are only skipped
 * (brackets counted, strings jumped), so what is wrong inside them is left to the parser, or goes unread
 * when it is cut. A client that reads only part of large objects (an informer; client-go's transform)
 * saves parsing, building and freeing the rest: scanning costs a few instructions per byte. */
size_t t0_json_text_drop(char *buf, size_t len, const char *const *paths);

/* Building objects under string-literal keys: the member keeps a pointer to its key instead of a copy
 * (cJSON_AddItemToObjectCS; cJSON_Duplicate keeps the pointer too), which saves an allocation per member
 * of every generated Pod, status and their copies. The key must have static storage: the macros take
 * string literals only ("" k "" does not compile otherwise). Each returns the added item, or NULL (the
 * item freed) when O is NULL or memory runs out. */
#define T0_JSON_STR(o, k, v) t0_json_add_static((o), "" k "", cJSON_CreateString(v))
#define T0_JSON_NUM(o, k, v) t0_json_add_static((o), "" k "", cJSON_CreateNumber(v))
#define T0_JSON_BOOL(o, k, v) t0_json_add_static((o), "" k "", cJSON_CreateBool(v))
#define T0_JSON_OBJ(o, k) t0_json_add_static((o), "" k "", cJSON_CreateObject())
#define T0_JSON_ARR(o, k) t0_json_add_static((o), "" k "", cJSON_CreateArray())
/* T0_JSON_STR_STATIC: a string member whose value V points to static storage (a literal, or one of a
 * fixed set of literals chosen at run time): the member refers to it instead of copying it
 * (cJSON_CreateStringReference; copies of the object copy it). Never pass a buffer. */
#define T0_JSON_STR_STATIC(o, k, v) t0_json_add_static((o), "" k "", cJSON_CreateStringReference(v))
/* t0_json_add_static: add ITEM (owned) to O under KEY, which must outlive every copy of O (a literal). */
cJSON *t0_json_add_static(cJSON *o, const char *key, cJSON *item);

#endif
