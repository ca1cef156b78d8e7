/* oracle.h: the intent oracle of DESIGN §5: what the user last asked for, per bot and schedule id, in the
 * order the API published it and scenario statements wrote MongoDB (docs/intake.md: a direct write is
 * newer than every event published before it), and the checks that compare the cluster with it — the
 * invariant no-resurrection and the condition pods-match-intent (definitions: docs/scenarios.md). It
 * learns intent from the runner (publishes, store statements) and effect from the managers' reads and
 * the cluster's changes; it never asks a controller what it thinks. Private to the scenarios module. */
#ifndef T0_SCN_ORACLE_H
#define T0_SCN_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "controllers/podgen.h"
#include "core/ports.h"
#include "domain/docver.h"
#include "fakes/kube_fake.h"
#include "fakes/store_fake.h"
#include "scenarios/check.h"
#include "sim/loop.h"

typedef struct scn_oracle scn_oracle;

/* What the oracle reads (borrowed; they outlive it). POD: the settings the managers generate objects
 * with (managed-by values, namespace, images), copied. */
typedef struct scn_oracle_world {
    sim_loop *loop;
    const kfake *kube;
    const storefake *store;
    const podgen_settings *pod;
    int64_t t0;
} scn_oracle_world;

t0_status scn_oracle_new(const scn_oracle_world *w, const scn_check_sink *sink, scn_oracle **out, t0_err *err);
void scn_oracle_destroy(scn_oracle *o);

/* scn_oracle_accepts: whether the intake takes the message DATA (LEN bytes) on SUBJECT as an event
 * (docs/intake.md §2: UTF-8, depth, shape, an id a Pod can carry, a cron that parses); when it does and
 * FIELDS is not NULL, *FIELDS gets its {id, config, custom} (owned). WHY (may be NULL) says why not. */
bool scn_oracle_accepts(const char *subject, const char *data, size_t len, cJSON **fields, t0_err *why);

/* scn_oracle_event: the API published DATA on SUBJECT and NATS took it at stream position V (NULL: the
 * event has no version the intake writes, as on core NATS). A message the intake rejects is no intent.
 * WHAT names the statement in reports ("line 12"). */
void scn_oracle_event(scn_oracle *o, const char *subject, const char *data, size_t len, const docver *v,
                      const char *what);
/* Direct writes (`store put`, `store del`): applied as they are made. DOC NULL: a delete. INVALID: a
 * document the controller must report invalid (put-duplicate, put-broken): intent, but nothing to match. */
void scn_oracle_direct(scn_oracle *o, store_coll c, const char *id, const cJSON *doc, bool invalid, const char *what);

/* A manager's desired-state read answered: a list of collection C, or the get of ID (only successful
 * answers and not-found count). */
void scn_oracle_read(scn_oracle *o, store_coll c, t0_status st);
void scn_oracle_get(scn_oracle *o, store_coll c, const char *id, t0_status st);
/* A cluster object changed; BY_SCENARIO: a scenario statement made the change. */
void scn_oracle_kube(scn_oracle *o, kube_watch_type type, kube_kind kind, const cJSON *obj, bool by_scenario);

/* scn_oracle_matches: pods-match-intent: every id's objects are what its latest intent asks for. GOT
 * gets the first id that differs (or a summary). Amortized cheap: it starts where it failed last. */
bool scn_oracle_matches(scn_oracle *o, char *got, size_t cap);

#endif
