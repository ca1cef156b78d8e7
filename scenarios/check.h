/* check.h: the incremental invariant checker of DESIGN §5 (definitions: docs/scenarios.md). It reads the
 * simulated world's fakes, is fed their changes and the managers' store reads, and reports violations to
 * a sink; it knows nothing of the runner. Private to the scenarios module. */
#ifndef T0_SCN_CHECK_H
#define T0_SCN_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include <cJSON.h>

#include "core/ports.h"
#include "fakes/kube_fake.h"
#include "fakes/kubelet.h"
#include "fakes/objstore_fake.h"
#include "fakes/store_fake.h"
#include "sim/loop.h"

typedef enum scn_invariant {
    SCN_INV_ONE_CONTAINER = 0, SCN_INV_ORPHANS, SCN_INV_DELETE_GUARD, SCN_INV_STATE_LOSS, SCN_INV_LOG_LOSS,
    SCN_INV_BAD_DOC, SCN_INV_PARTIAL_STATE,
    SCN_INV_RESURRECTION, /* reported by the intent oracle (oracle.h) through the same sink */
    SCN_INV_INFORMER,     /* informer-coherent: scn_checker_forget, scn_checker_watch_from */
    SCN_INV_LOG_TRAFFIC,  /* log-traffic-linear: checked at every write of a log object */
    SCN_INV_ONE_LEADER,   /* one-acting-leader: scn_checker_leaders after every step */
    SCN_INV_POD_MEMORY,   /* sidecar-memory-bounded: scn_checker_step, from MinIO's transfers */
    SCN_INV__COUNT
} scn_invariant;
/* The invariants' names, as `always NAME` and the trace write them (NULL-terminated). */
extern const char *const scn_invariant_names[];

/* What the checker reads (all borrowed; they outlive the checker). */
typedef struct scn_check_world {
    sim_loop *loop;
    const kfake *kube;
    const kubelet *kl;
    const storefake *store;
    const char *ns;              /* the namespace bots live in */
    int64_t t0;                  /* virtual time of the scenario's start */
    int64_t delete_allowance_ms; /* no-orphans: how long an undesired bot's objects may stay */
    const char *pods_managed_by, *cronjobs_managed_by; /* our objects' the0.dev/managed-by: only they count */
    const objfake *obj;          /* MinIO: what its clients (the pods' daemons) held of an object in memory */
} scn_check_world;

/* Where violations go: WHICH broke, MSG says how (without the name). */
typedef struct scn_check_sink {
    void *ud;
    void (*violation)(void *ud, scn_invariant which, const char *msg);
} scn_check_sink;

/* scn_sink_vreport: report a violation of WHICH to SINK, its message formatted from FMT and AP. */
void scn_sink_vreport(const scn_check_sink *sink, scn_invariant which, const char *fmt, va_list ap);

typedef struct scn_checker scn_checker;

t0_status scn_checker_new(const scn_check_world *world, const scn_check_sink *sink, scn_checker **out, t0_err *err);
void scn_checker_destroy(scn_checker *c);
/* scn_checker_checks: how many simulated steps were checked. */
uint64_t scn_checker_checks(const scn_checker *c);

/* After every simulated step (O(1)). */
void scn_checker_step(scn_checker *c);
/* A document of the store changed (DOC NULL: removed). */
void scn_checker_store_change(scn_checker *c, store_coll coll, const char *id, const cJSON *doc);
/* The scenario stored (or replaced) an undecodable document. */
void scn_checker_mark_broken(scn_checker *c, store_coll coll, const char *id, bool broken);
/* A manager's desired-state read of COLL (find_enabled) answered ST with DOCS, or its get of ID. */
void scn_checker_read(scn_checker *c, store_coll coll, t0_status st, const cJSON *docs);
void scn_checker_get(scn_checker *c, store_coll coll, const char *id, t0_status st, const cJSON *doc);
/* A cluster object changed. DELETION_STARTED: this event starts its deletion; BY_SCENARIO: a scenario
 * statement (not a controller) is deleting it. */
void scn_checker_kube(scn_checker *c, kube_watch_type type, kube_kind kind, const cJSON *obj, bool deletion_started,
                      bool by_scenario);
/* An object of the object store changed (OBJ NULL: removed); BY_SCENARIO: a scenario statement wrote it. */
void scn_checker_object(scn_checker *c, const char *bucket, const char *key, const objfake_object *obj, bool by_scenario);
/* What the simulated pods did (kubelet events: bot programs' writes and lines, SIGTERM, kills, full volumes,
 * the end of a pod). */
void scn_checker_pod_event(scn_checker *c, const kubelet_event *e);
/* scn_checker_state_lag: the longest a completed state write of bot ID waited until a state object holding it
 * (or a later write) was uploaded, in ms (writes still waiting count up to now). */
uint64_t scn_checker_state_lag(const scn_checker *c, const char *id);
/* scn_checker_log_lines: distinct log lines of bot ID shipped to the object store so far. */
uint64_t scn_checker_log_lines(const scn_checker *c, const char *id);
/* scn_checker_leaders: after a step, ACTING managers may execute effects (their names in WHO); more than one
 * at once is a violation of one-acting-leader (reported once per such episode). */
void scn_checker_leaders(scn_checker *c, unsigned acting, const char *who);
/* scn_checker_log_traffic: bytes the sidecars have written to bot ID's log objects so far (every PUT
 * counts the whole object it writes: an append is a read-modify-write of the day's object). */
uint64_t scn_checker_log_traffic(const scn_checker *c, const char *id);
/* scn_checker_log_lag: the longest a log line of bot ID waited, from its completion to the write of a log
 * object that holds it, in ms (lines shipped so far). */
uint64_t scn_checker_log_lag(const scn_checker *c, const char *id);
/* scn_checker_logs_shipped: whether every log line that the bot of a running pod completed WITHIN_MS or more
 * ago is in the object store — but for pods whose sync container is down or whose logs volume is full, and
 * pods told to stop (their final sync is no-log-loss's). Otherwise GOT says which line of which pod waits. */
bool scn_checker_logs_shipped(const scn_checker *c, int64_t within_ms, char *got, size_t cap);
/* MongoDB went down (outage) or came back: no-orphans' allowance does not run while it is down. */
void scn_checker_mongo_outage(scn_checker *c, bool down);
/* The controllers' Lease was written: a new term restarts no-orphans' pending allowances. */
void scn_checker_lease(scn_checker *c, const cJSON *lease);
/* Manager WHO's informer dropped object NAME of KIND (key ID, incarnation UID, "" when unknown) from its
 * cache. informer-coherent: the API server no longer holds that incarnation as an object of ours of that
 * key. Every source of a drop is exact (a DELETED event, a re-read's 404, a list newer than the object that
 * did not show it, labels that changed), so a drop of an incarnation still there is the cache going wrong. */
void scn_checker_forget(scn_checker *c, const char *who, kube_kind kind, const char *name, const char *id,
                        const char *uid);
/* Manager WHO opens a watch of KIND from resourceVersion FROM (0: none given) when its lists and streams
 * of this incarnation delivered up to SEEN. informer-coherent: FROM <= SEEN; a watch resumed past what the
 * client was sent never delivers the changes in between (until a re-list). */
void scn_checker_watch_from(scn_checker *c, const char *who, kube_kind kind, uint64_t from, uint64_t seen);
/* The end of the run: the checks that wait for it. */
void scn_checker_final(scn_checker *c);

#endif
