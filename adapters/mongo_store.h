/* mongo_store.h: store_port over mongo-c-driver: bot_runner.bots and bot_scheduler.bot_schedules
 * (reference §2.1), the reference's enabled filter (§2.8), documents matched by their string "id". */
#ifndef T0_ADAPTERS_MONGO_STORE_H
#define T0_ADAPTERS_MONGO_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bson/bson.h>
#include <cJSON.h>

#include "core/ports.h"
#include "core/t0.h"

typedef struct mongostore mongostore;

/* mongostore_new: connect to URI (NULL or "" = mongodb://localhost:27017) with serverSelectionTimeoutMS
 * and connectTimeoutMS set to TIMEOUT_MS unless the URI sets them (reference: 10 s), then ping.
 * T0_EINVAL for a malformed URI, T0_EUNAVAILABLE when the ping fails. The client is used from one
 * thread (the loop's): store calls are synchronous. */
t0_status mongostore_new(const char *uri, int64_t timeout_ms, mongostore **out, t0_err *err);
void mongostore_destroy(mongostore *s);
store_port mongostore_port(mongostore *s);
/* mongostore_ping: a fresh ping (readiness checks). */
t0_status mongostore_ping(mongostore *s, t0_err *err);

/* mongoprobe: whether MongoDB is reachable, for readiness: a thread of its own pings every EVERY_MS with a
 * client of its own (a mongoc client serves one thread), so a slow or unreachable MongoDB never blocks the
 * loop. TIMEOUT_MS as mongostore_new. mongoprobe_ok: the last ping's verdict (true before the first);
 * when false, WHY (may be NULL) gets the cause. Thread-safe. mongoprobe_destroy: NULL is a no-op. */
typedef struct mongoprobe mongoprobe;
t0_status mongoprobe_start(const char *uri, int64_t timeout_ms, int64_t every_ms, mongoprobe **out, t0_err *err);
bool mongoprobe_ok(mongoprobe *p, char *why, size_t cap);
void mongoprobe_destroy(mongoprobe *p);

/* The enabled filter of reference §2.8, exactly: {"$or":[{"config.enabled":{"$ne":false}},
 * {"config.enabled":{"$exists":false}}]} as relaxed extended JSON. */
extern const char MONGOSTORE_ENABLED_FILTER[];

/* mongostore_bson_to_json: DOC as a cJSON object for the controllers: double, int32 and int64 become
 * numbers; strings, booleans, null, nested documents and arrays keep their shape; the top-level _id and
 * every ObjectId are dropped; datetimes become RFC 3339 strings, decimal128 a string, timestamps a
 * number; binary, regex, code and other exotic values become null. A document whose bytes stop decoding
 * is returned as far as it went (the controller validates it and reports that one bot). *out owned. */
t0_status mongostore_bson_to_json(const bson_t *doc, cJSON **out, t0_err *err);

#endif
