/* payloads.h: builds NATS payloads and MongoDB documents exactly as the0's API publishes/stores them
 * (reference §3.2 direct format, §3.3 wrapped format), so scenarios and tests send realistic messages.
 * Parsing lives in controllers/subscriber.h; this is the producing side. */
#ifndef FAKES_PAYLOADS_H
#define FAKES_PAYLOADS_H

#include <stdbool.h>
#include <stdint.h>

#include <cJSON.h>

#include "core/t0.h"

typedef enum payload_op { PAYLOAD_CREATED = 0, PAYLOAD_UPDATED, PAYLOAD_DELETED } payload_op;

/* A bot as the API knows it. Strings are borrowed; NULL means "use the default" noted. */
typedef struct payload_bot {
    const char *id;            /* required */
    bool scheduled;            /* custom.config.type "scheduled" (subjects the0.bot-schedule.*), else realtime */
    const cJSON *config;       /* the user config (borrowed; NULL = {}); customBotId is added to a copy */
    const char *custom_bot_id; /* default "cb-<id>" */
    const char *name;          /* custom.config.name, default "bot-<id>" */
    const char *runtime;       /* custom.config.runtime, default "python3.11"; "" omits it (Go omitempty) */
    const char *entry;         /* custom.config.entrypoints.bot, default per runtime (main.py, index.js, main) */
    const char *version;       /* custom.version, default "1.0.0" */
    const char *file_path;     /* custom.filePath, default "user-1/<name>/<version>" */
    int64_t created_ms, updated_ms; /* custom.createdAt/updatedAt (0 = 2026-01-01T00:00:00Z) */
} payload_bot;

/* payload_subject: "the0.bot.created", "the0.bot-schedule.deleted", ... */
const char *payload_subject(bool scheduled, payload_op op);

/* payload_document: {id, config, custom} as the subscribers store it (created/updated payload body).
 * Owned by the caller. NULL only when memory runs out. */
cJSON *payload_document(const payload_bot *b);

/* payload_direct: the JSON text the API publishes for OP (direct format §3.2; a delete carries only
 * {id, config}). payload_wrapped: the same event in the wrapped format {type, entity_id, data:{id,
 * config, custom, topicName}, timestamp} (§3.3) stamped at NOW_MS. Both return a malloc'd string
 * owned by the caller, or NULL when B has no id or memory runs out (err says which). */
char *payload_direct(const payload_bot *b, payload_op op, t0_err *err);
char *payload_wrapped(const payload_bot *b, payload_op op, int64_t now_ms, t0_err *err);

/* payload_op_parse: "created"/"updated"/"deleted" -> op; -1 when unknown. */
int payload_op_parse(const char *s);
const char *payload_op_name(payload_op op);

#endif
