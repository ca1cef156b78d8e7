/* store_fake.h: an in-process fake of the MongoDB desired-state store (bot_runner.bots and
 * bot_scheduler.bot_schedules, and the intake's tombstone collections) implementing store_port, with the
 * reference's enabled filter, no unique index (two documents may share an id), an outage switch and
 * seeded fault points mongo/find, mongo/get, mongo/upsert (upserts, conditional sets and inserts),
 * mongo/remove (removes, conditional removes, tombstone expiry). A write whose fault is timeout-applied
 * is done and then answers the timeout (a write concern timeout: the caller cannot tell). */
#ifndef FAKES_STORE_FAKE_H
#define FAKES_STORE_FAKE_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "core/ports.h"
#include "core/t0.h"
#include "domain/docver.h"

struct sim_faults;
typedef struct storefake storefake;

/* A change observer (the invariant checker): called after every successful write to a desired-state
 * collection (not the tombstones) with the document as it is now (NULL after a remove). DOC is borrowed
 * for the call. Runs synchronously inside the write. */
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
/* storefake_set_restoring: while ON the desired-state collections are being restored (mongorestore --drop
 * of bot_runner.bots and bot_scheduler.bot_schedules): find_enabled answers no documents and their gets
 * answer not found, successfully; writes work; the tombstones are not restored. The documents are kept. */
void storefake_set_restoring(storefake *s, bool on);
void storefake_on_change(storefake *s, storefake_change_fn fn, void *ud);

/* ---- scenario helpers: direct access that bypasses faults and the outage switch ------------------ */
/* Direct writes (an operator's, the simulator's `store` statements) take part in the intake's event
 * order (docs/intake.md) when the store knows where the event stream stands: POSITION returns the
 * stream's epoch and last sequence (the fake bus's busfake_position). A direct put then carries the
 * version "EPOCH:SEQ:direct" (newer than every event published so far, older than the next one), and a
 * direct delete leaves a tombstone of that version. Without a position source they carry none. */
typedef docver (*storefake_position_fn)(void *ud);
void storefake_set_position(storefake *s, storefake_position_fn fn, void *ud);
/* storefake_put: replace (or insert) the whole document ID (the first one with that id) with a copy of
 * DOC, its "id" set to ID and its version that of a direct write. An existing document keeps its
 * insertion position. C is a desired-state collection. */
t0_status storefake_put(storefake *s, store_coll c, const char *id, const cJSON *doc, t0_err *err);
/* storefake_put_duplicate: add one more document with ID (as storefake_put makes it) after those that
 * exist: the collection then holds two with one id, as a MongoDB without a unique index can (get answers
 * T0_EEXIST; find_enabled returns both). Without a document of that id it is storefake_put. */
t0_status storefake_put_duplicate(storefake *s, store_coll c, const char *id, const cJSON *doc, t0_err *err);
/* storefake_put_broken: insert a document that decodes in no Go model: custom.config.entrypoints.bot is
 * a number and config is a string. find_enabled still returns it (see store_port). */
t0_status storefake_put_broken(storefake *s, store_coll c, const char *id, t0_err *err);
/* storefake_del: remove every document with ID (and leave the direct delete's tombstone, see above);
 * T0_ENOTFOUND when there was none. */
t0_status storefake_del(storefake *s, store_coll c, const char *id, t0_err *err);
/* storefake_peek: the (first) stored document with ID (borrowed, valid until the next write), or NULL.
 * C may be a tombstone collection. */
const cJSON *storefake_peek(const storefake *s, store_coll c, const char *id);
size_t storefake_count(const storefake *s, store_coll c);
/* storefake_doc_enabled: the reference filter on one document: false only when config.enabled is the
 * JSON boolean false ("false", 0, null, a missing key, a missing or non-object config: enabled). */
bool storefake_doc_enabled(const cJSON *doc);

/* Calls served through the port (faulted ones included), per operation, for tests and stats. */
typedef struct storefake_stats {
    unsigned long finds, gets, upserts, removes, writes, failures;
} storefake_stats;
void storefake_get_stats(const storefake *s, storefake_stats *out);

#endif
