/* subscriber.h: the NATS subscribers of reference §3: parse the API's payloads (direct and wrapped) and
 * apply created/updated/deleted to the desired-state store. */
#ifndef T0_SUBSCRIBER_H
#define T0_SUBSCRIBER_H

#include <cJSON.h>

#include "core/ports.h"

typedef enum sub_op { SUB_CREATED = 0, SUB_UPDATED, SUB_DELETED } sub_op;

/* sub_parse_subject: the0.bot.{created,updated,deleted} -> STORE_BOTS, the0.bot-schedule.* ->
 * STORE_SCHEDULES. T0_EINVAL for any other subject. */
t0_status sub_parse_subject(const char *subject, store_coll *coll, sub_op *op, t0_err *err);

/* sub_parse_payload: the document fields {id, config, custom} of a payload. Bots accept the direct
 * format {id, config, custom} and, when that has no id, the wrapped format {type, entity_id, data:{id,
 * config, custom}, timestamp}; schedules accept the direct format only (reference §3.3, §3.4). On T0_OK
 * *out is a new object with string "id" (non-empty), "config" (object or null) and, when present,
 * "custom" (object), owned by the caller. T0_EINVAL with a message that says what is wrong otherwise
 * (not JSON, no id, config or custom of the wrong type). */
t0_status sub_parse_payload(store_coll coll, const char *data, size_t len, cJSON **out, t0_err *err);

/* sub_apply: apply OP with the parsed FIELDS to STORE, as the reference's subscribers do: created skips
 * an existing document; updated upserts config and custom (creating the document when absent);
 * deleted removes it (absent is fine). Schedules also get next_execution_time when their cron
 * expression parses (the controller reports a bad one for that schedule; the event is not dropped).
 * Store failures are returned as they are (retryable ones get the message redelivered). */
t0_status sub_apply(store_port *store, store_coll coll, sub_op op, const cJSON *fields, int64_t now_ms, t0_err *err);

#endif
