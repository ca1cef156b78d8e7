/* json.h: dotted-path reads of cJSON objects, the one helper the controllers and the fakes share. */
#ifndef T0_CORE_JSON_H
#define T0_CORE_JSON_H

#include <cJSON.h>

/* t0_json_at: the member of O at PATH ("metadata.name": object keys separated by dots, matched
 * case-sensitively, first match), or NULL when a step is missing or not an object. Borrowed from O.
 * Allocation-free: it runs on every watch event and status write. */
const cJSON *t0_json_at(const cJSON *o, const char *path);
/* t0_json_str: the string at PATH, or NULL when there is none or it is not a string. */
const char *t0_json_str(const cJSON *o, const char *path);

#endif
