/* mongo_store.h: store_port over mongo-c-driver: bot_runner.bots and bot_scheduler.bot_schedules
 * (reference §2.1), the reference's enabled filter (§2.8), documents matched by their string "id"; the
 * intake's tombstones in bot_runner.bots_deleted and bot_scheduler.bot_schedules_deleted; conditional
 * writes as single server operations (no transactions, no unique index needed: docs/intake.md). Nothing
 * that is not UTF-8 is ever sent (such an id or field is refused with T0_EINVAL), and after any failed
 * call the client is dropped and the next call connects afresh: a MongoDB-wire server may fail every
 * later operation on a connection after one bad request. */
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
 * and connectTimeoutMS set to TIMEOUT_MS unless the URI sets them (reference: 10 s), then ping, and ask
 * for a unique index on the tombstones' id (best effort). T0_EINVAL for a malformed URI,
 * T0_EUNAVAILABLE when the ping fails. The client is used from one thread (the loop's): store calls are
 * synchronous. */
t0_status mongostore_new(const char *uri, int64_t timeout_ms, mongostore **out, t0_err *err);
void mongostore_destroy(mongostore *s);
store_port mongostore_port(mongostore *s);
/* mongostore_ping: a fresh ping (readiness checks). */
t0_status mongostore_ping(mongostore *s, t0_err *err);
/* mongostore_insert_raw: insert DOC into C as it is, unchecked, on the store's own connection (tests and
 * tools that must reproduce what an unchecked writer sends; a failure drops the connection as any does). */
t0_status mongostore_insert_raw(mongostore *s, store_coll c, const bson_t *doc, t0_err *err);
/* mongostore_reconnects: clients dropped after a failed call so far. */
uint64_t mongostore_reconnects(const mongostore *s);

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
 * number; binary, regex, code and other exotic values become null. A document that does not decode
 * completely (its bytes stop decoding, a string or key is not UTF-8, a string holds a NUL byte (written
 * as the six characters \u0000, so an id stays distinct), it nests deeper than DOCVAL_MAX_DEPTH) is
 * returned as far as it went with the member STORE_UNDECODABLE saying why: the controller reports that one
 * bot invalid. *out owned. */
t0_status mongostore_bson_to_json(const bson_t *doc, cJSON **out, t0_err *err);

#endif
