/* subscriber.h: the NATS subscribers of reference §3: validate and parse the API's payloads (direct and
 * wrapped) and apply created/updated/deleted to the desired-state store in publish order, versioned by
 * the event's place in the stream (docs/intake.md). */
#ifndef T0_SUBSCRIBER_H
#define T0_SUBSCRIBER_H

#include <cJSON.h>

#include "core/ports.h"
#include "domain/docver.h"

typedef enum sub_op { SUB_CREATED = 0, SUB_UPDATED, SUB_DELETED } sub_op;

/* sub_parse_subject: the0.bot.{created,updated,deleted} -> STORE_BOTS, the0.bot-schedule.* ->
 * STORE_SCHEDULES. T0_EINVAL for any other subject. */
t0_status sub_parse_subject(const char *subject, store_coll *coll, sub_op *op, t0_err *err);

/* sub_parse_payload: the document fields {id, config, custom} of a payload, after the checks that keep
 * poison out of MongoDB (domain/docval.h): the text is UTF-8 without NUL bytes or \u0000 escapes, it nests
 * at most DOCVAL_MAX_DEPTH levels, and the id is a DNS-1123 label of at most 63 characters (it names the
 * Pod, the CronJob and labels). Bots accept the direct format {id, config, custom} and, when that has no
 * id, the wrapped format {type, entity_id, data:{id, config, custom}, timestamp}; schedules accept the
 * direct format only (reference §3.3, §3.4), and a created/updated schedule needs config.schedule, a cron
 * expression that parses (the reference rejects the event otherwise: the old schedule keeps running). On
 * T0_OK *out is a new object with string "id", "config" (object or null) and, when present, "custom"
 * (object), owned by the caller. T0_EINVAL with a message saying what is wrong otherwise. */
t0_status sub_parse_payload(store_coll coll, sub_op op, const char *data, size_t len, cJSON **out, t0_err *err);

/* What sub_apply did. */
typedef enum sub_outcome {
    SUB_APPLIED = 0, /* the store changed */
    SUB_STALE,       /* an event newer than this one (or a direct write after it) is already in effect */
    SUB_EXISTS,      /* created for a document that exists: ignored (reference semantics) */
    SUB_ABSENT,      /* deleted for a document that does not exist (the tombstone is still written) */
} sub_outcome;

typedef struct sub_event {
    store_coll coll;        /* STORE_BOTS or STORE_SCHEDULES */
    sub_op op;
    const cJSON *fields;    /* sub_parse_payload's */
    const docver *ver;      /* the event's version; NULL for an event without one (core NATS: applied as
                               delivered, as the reference does) */
    int64_t now_ms;
    int64_t tombstone_ttl_ms; /* how long a delete's tombstone is kept (the stream's max age) */
} sub_event;

/* sub_apply: apply EV to STORE as the reference's subscribers do (created skips an existing document;
 * updated sets config and custom, creating the document when absent; deleted removes it; schedules get
 * next_execution_time), in publish order (docs/intake.md): a versioned update sets the document only if
 * it is older than the event, and creates it only if no tombstone is as new; a versioned delete first
 * raises the id's tombstone to its version, then removes every document of the id older than the event.
 * Each write is one conditional server operation; an insert that loses a race reads and decides again.
 * Store failures are returned as they are (retryable ones get the message redelivered). *OUT says what
 * happened on T0_OK. */
t0_status sub_apply(store_port *store, const sub_event *ev, sub_outcome *out, t0_err *err);

#endif
