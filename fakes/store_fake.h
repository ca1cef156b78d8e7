/* store_fake.h: an in-process fake of the MongoDB desired-state store (bot_runner.bots and
 * bot_scheduler.bot_schedules) implementing store_port, with the reference's enabled filter, an outage
 * switch and seeded fault points mongo/find, mongo/get, mongo/upsert, mongo/remove. */
#ifndef FAKES_STORE_FAKE_H
#define FAKES_STORE_FAKE_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "core/ports.h"
#include "core/t0.h"

struct sim_faults;
typedef struct storefake storefake;

/* A change observer (the invariant checker): called after every successful write with the document as
 * it is now (NULL after a remove). DOC is borrowed for the call. Runs synchronously inside the write. */
typedef void (*storefake_change_fn)(void *ud, store_coll c, const char *id, const cJSON *doc);

/* storefake_new: an empty store. FAULTS (borrowed, may be NULL) decides the mongo/<op> fault points. */
t0_status storefake_new(struct sim_faults *faults, storefake **out, t0_err *err);
/* storefake_destroy: free every document. NULL is a no-op. */
void storefake_destroy(storefake *s);

/* storefake_port: the store_port of S (its ctx is S; valid until S is destroyed). */
store_port storefake_port(storefake *s);

/* storefake_set_outage: while DOWN every port call fails with T0_EUNAVAILABLE ("server selection
 * timeout"), as when MongoDB is unreachable. The scenario helpers below are not affected. */
void storefake_set_outage(storefake *s, bool down);
bool storefake_outage(const storefake *s);
void storefake_on_change(storefake *s, storefake_change_fn fn, void *ud);

/* ---- scenario helpers: direct access that bypasses faults and the outage switch ------------------ */
/* storefake_put: replace (or insert) the whole document ID with a copy of DOC (its "id" is set to ID).
 * An existing document keeps its insertion position. */
t0_status storefake_put(storefake *s, store_coll c, const char *id, const cJSON *doc, t0_err *err);
/* storefake_put_broken: insert a document that decodes in no Go model: custom.config.entrypoints.bot is
 * a number and config is a string. find_enabled still returns it (see store_port). */
t0_status storefake_put_broken(storefake *s, store_coll c, const char *id, t0_err *err);
/* storefake_del: remove ID; T0_ENOTFOUND when absent. */
t0_status storefake_del(storefake *s, store_coll c, const char *id, t0_err *err);
/* storefake_peek: the stored document (borrowed, valid until the next write), or NULL. */
const cJSON *storefake_peek(const storefake *s, store_coll c, const char *id);
size_t storefake_count(const storefake *s, store_coll c);
/* storefake_doc_enabled: the reference filter on one document: false only when config.enabled is the
 * JSON boolean false ("false", 0, null, a missing key, a missing or non-object config: enabled). */
bool storefake_doc_enabled(const cJSON *doc);

/* Calls served through the port (faulted ones included), per operation, for tests and stats. */
typedef struct storefake_stats {
    unsigned long finds, gets, upserts, removes, failures;
} storefake_stats;
void storefake_get_stats(const storefake *s, storefake_stats *out);

#endif
