/* botdoc.h: the desired-state document of one bot (bot_runner.bots) or schedule
 * (bot_scheduler.bot_schedules), parsed from JSON (a Mongo document or a NATS payload's fields). */
#ifndef CONTROLLERS_BOTDOC_H
#define CONTROLLERS_BOTDOC_H

#include <stdbool.h>

#include <cJSON.h>

#include "core/t0.h"

/* Top-level `enabled`: absent (the normal case; the subscribers never write it), true or false. */
typedef enum botdoc_tri { BOTDOC_ABSENT = -1, BOTDOC_FALSE = 0, BOTDOC_TRUE = 1 } botdoc_tri;

/* One document. Every string is owned and never NULL ("" when the field is absent or null), except as
 * noted. Fields the controllers do not use (segment_id, next_execution_time, _id, custom.createdAt, other
 * manifest keys) are not kept. */
typedef struct botdoc {
    char *id;              /* `id`: non-empty */
    cJSON *config;         /* `config`: owned cJSON object, or NULL when absent or null */
    botdoc_tri enabled;    /* top-level `enabled` */
    char *version;         /* custom.version */
    char *file_path;       /* custom.filePath (MinIO key of the code zip in custom-bots) */
    char *name;            /* custom.config.name */
    char *runtime;         /* custom.config.runtime */
    cJSON *entrypoints;    /* custom.config.entrypoints: owned object of string values, or NULL if absent */
} botdoc;

/* botdoc_parse: build a botdoc from the JSON object DOC (not modified, not retained). On T0_OK *out is
 * owned by the caller (botdoc_destroy). Types follow the Go model: id a non-empty string; config an object
 * or null; enabled a boolean or null; custom an object or null with string version/filePath and a
 * config object with string name/runtime and an entrypoints object whose values are strings. Any other
 * type gives T0_EINVAL with a message naming the document id (when known) and the field path, e.g.
 * `bot ck9x2abc: field custom.config.entrypoints.bot: expected string, got number`; nothing is allocated
 * then. Numbers are doubles (as Go decodes JSON numbers), so integers beyond 2^53 lose precision. */
t0_status botdoc_parse(const cJSON *doc, botdoc **out, t0_err *err);

/* botdoc_parse_stored: botdoc_parse of a document read from the desired-state store, after the checks of
 * domain/docval.h (docs/intake.md): a document the store marked STORE_UNDECODABLE, one with a string or
 * key that is not UTF-8, one nesting deeper than DOCVAL_MAX_DEPTH, or one whose id is not a DNS-1123
 * label of at most 63 characters is invalid (T0_EINVAL naming the bot), never acted on in part. */
t0_status botdoc_parse_stored(const cJSON *doc, botdoc **out, t0_err *err);

/* botdoc_parse_text: botdoc_parse on a JSON text of LEN bytes (T0_EINVAL when it is not valid JSON). */
t0_status botdoc_parse_text(const char *text, size_t len, botdoc **out, t0_err *err);

/* botdoc_clone: deep copy of SRC into a new document owned by the caller. */
t0_status botdoc_clone(const botdoc *src, botdoc **out, t0_err *err);

/* botdoc_destroy: free D and everything it owns. NULL is a no-op. */
void botdoc_destroy(botdoc *d);

/* botdoc_is_enabled: the reference's desired-state filter: only a JSON boolean false in config.enabled
 * disables; a string "false", 0, null, a missing key or a missing config all count as enabled. The
 * top-level `enabled` field does not take part (reference 2.8). */
bool botdoc_is_enabled(const botdoc *d);

/* botdoc_entrypoint: value of custom.config.entrypoints[KEY], or NULL when the key is absent (an
 * existing key with an empty value returns ""). */
const char *botdoc_entrypoint(const botdoc *d, const char *key);

/* botdoc_schedule: config.schedule when it is a string (possibly ""), else NULL. */
const char *botdoc_schedule(const botdoc *d);

#endif
