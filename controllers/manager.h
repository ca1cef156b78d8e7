/* manager.h: the controller manager: Bot Controller + Schedule Controller over the ports, a client-go
 * style work queue, periodic full resync, NATS subscribers, leader election and readiness. The same
 * code runs in the0-runtime (real adapters) and the0-sim (fakes). */
#ifndef T0_CTL_MANAGER_H
#define T0_CTL_MANAGER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/ports.h"
#include "core/prom.h"
#include "core/t0.h"
#include "controllers/podgen.h"
#include "controllers/workqueue.h"

typedef struct ctl_settings {
    podgen_settings pod;          /* namespace, images, MinIO, hardening (podgen_settings_defaults) */
    int64_t resync_ms;            /* periodic full resync (default 30000) */
    int64_t relist_ms;            /* re-list Pods/CronJobs at a resync at most this often (default 300000);
                                     the watch keeps the cache current in between, and a lost watch
                                     event is healed by the next re-list */
    size_t list_page;             /* a re-list asks for pages of this many objects (default 500, client-go's;
                                     0 = the whole list in one answer) */
    int64_t requeue_ms;           /* look again while waiting on the cluster (default 1000) */
    int64_t backoff_base_ms;      /* per-key backoff 5 ms * 2^n ... */
    int64_t backoff_cap_ms;       /* ... capped at 1000 s */
    double queue_qps;             /* overall token bucket: 10/s ... */
    int queue_burst;              /* ... burst 100 */
    int crashloop_escalate;       /* bot container restarts that escalate a crash loop (default 10) */
    int init_escalate;            /* init container restarts that escalate (default 5) */
    int max_deletes_per_cycle;    /* deletions a full resync may issue (default 50); the rest wait */
    int64_t expectation_ttl_ms;   /* an unobserved create is assumed lost after this (default 60000) */
    bool leader_election;         /* hold a coordination.k8s.io Lease before acting (default true) */
    const char *lease_name;       /* default "the0-runtime-controller" */
    const char *identity;         /* this manager's holder identity (default "the0-runtime") */
    int64_t lease_duration_ms;    /* how long a Lease holds after its last renewal: others take over then
                                     (default 15000) */
    int64_t lease_renew_deadline_ms; /* the holder stops acting when it has not renewed for this long
                                     (default 10000; < lease_duration_ms, so it stops before anyone may take
                                     over, with the difference as margin for clock skew) */
    int64_t lease_renew_ms;       /* retry period: renew / campaign this often (default 2000; < the deadline) */
    bool nats_durable;            /* prefer a durable consumer on stream THE0_EVENTS (default true) */
    unsigned nats_max_deliver;    /* deliveries of a message that keeps failing retryably before it is
                                     dead-lettered (default 120: about an hour with the backoff below) */
    const int64_t *nats_backoff_ms; /* redelivery delays after the 1st, 2nd, ... failed delivery, the last
                                     repeating (default 1 s, 2 s, 5 s, 10 s, 30 s) */
    size_t nats_nbackoff;
    int64_t tombstone_ttl_ms;     /* a delete's tombstone is kept this long: the stream's max age (7 days) */
    int64_t tombstone_sweep_ms;   /* expired tombstones are removed this often (default 1 h) */
    int64_t store_unready_ms;     /* not ready while MongoDB has not answered for this long (default 60 s) */
    bool record_events;           /* write Kubernetes Events (default true; false: they are only logged) */
} ctl_settings;

/* ctl_settings_defaults: the defaults listed above. */
void ctl_settings_defaults(ctl_settings *s);

typedef struct ctl_ports {
    loop_port *loop;
    kube_port *kube;
    store_port *store;
    bus_port *bus; /* NULL: no NATS (periodic resync only, as the reference without NATS_URL) */
    kube_port *events; /* where Events are written (NULL: kube). Its create and update of KUBE_EVENT may
                          queue the write and return T0_OK (recorder.c) */
    int64_t (*clock_ns)(void); /* a monotonic clock for the duration metrics (NULL: the loop's clock) */
} ctl_ports;

/* controller_runtime_reconcile_total's results */
typedef enum ctl_result { CTL_RESULT_SUCCESS, CTL_RESULT_ERROR, CTL_RESULT_REQUEUE, CTL_RESULT_REQUEUE_AFTER, CTL__RESULTS } ctl_result;
const char *ctl_result_name(ctl_result r); /* "success", "error", "requeue", "requeue_after" */

/* One controller's share of the standard metric families (controller_runtime_*, workqueue_*). */
typedef struct ctl_kind_stats {
    const char *name;             /* "bot-controller" / "schedule-controller" */
    uint64_t results[CTL__RESULTS];
    prom_hist reconcile_time;     /* seconds, PROM_RECONCILE_BUCKETS */
    wq_metrics queue;
} ctl_kind_stats;

typedef struct ctl_stats {
    uint64_t reconciles, reconcile_errors, api_calls, api_errors;
    uint64_t creates, deletes, updates, nats_messages;
    uint64_t events_emitted;        /* Events recorded (written or counted on an earlier one) */
    uint64_t events_aggregated;     /* ... of which repeats, counted on the Event already written */
    uint64_t events_spam_dropped;   /* dropped by the per-object spam filter */
    uint64_t events_failed;         /* writes the events port refused */
    uint64_t nats_bad_messages;  /* terminated as bad input (logged with subject and stream sequence) */
    uint64_t nats_stale;         /* older than the desired state in effect: ignored */
    uint64_t nats_dead_lettered; /* failed on their last allowed delivery: moved to the dead-letter stream */
    uint64_t store_failures;     /* store calls that got no answer (unreachable, timeout, server error) */
    uint64_t resyncs, deletes_deferred, deletion_guard_trips;
    uint64_t name_conflicts;        /* objects with our name that are not ours, reported (bot or schedule) */
    uint64_t final_sync_failures;   /* scheduled runs whose sidecar reported a failed final sync (Event FinalSyncFailed) */
    unsigned queue_depth;
    unsigned bots, schedules;       /* keys tracked */
    unsigned bot_states[16];        /* bots per bot-table state (index = enum bot_state) */
    unsigned sched_states[16];      /* schedules per schedule-table state */
    bool leader, ready;
    bool store_ok;                  /* ctl_manager_store_ok */
    bool synced;                    /* both informer caches listed and watching (a standby's readiness) */
    ctl_kind_stats kinds[2];        /* bot-controller, schedule-controller */
} ctl_stats;

typedef struct ctl_manager ctl_manager;

/* ctl_unread_members: members of observed objects the controllers never read, by kind (NULL-terminated
 * dotted paths; NULL: none), for a client that can leave them out before parsing (kuberest_opts.drop):
 * a Pod's spec and conditions (a reconcile reads its labels, annotations and container statuses) and a
 * CronJob's job template (it reads the schedule and the starting deadline); both kinds' managedFields.
 * test_informer checks that summaries do not change. */
extern const char *const *const ctl_unread_members[KUBE__KINDS];

/* ctl_manager_new: a stopped manager using PORTS (borrowed; they must outlive it). T0_EINVAL when the
 * settings contradict each other (lease duration > renew deadline > retry period > 0). */
t0_status ctl_manager_new(const ctl_settings *s, const ctl_ports *ports, ctl_manager **out, t0_err *err);
/* ctl_manager_start: subscribe to NATS, start watches, campaign for the lease; once leader, run a first
 * full reconcile of both controllers (ready after both finish) and resync periodically. NATS being
 * unavailable does not stop it: it runs on resyncs and subscribes again every 5 s until it succeeds. */
t0_status ctl_manager_start(ctl_manager *m, t0_err *err);
/* ctl_manager_destroy: stop everything (unwatch, unsubscribe, cancel timers) and free all memory. The
 * lease is not released: a crashed manager does not release it either. NULL is a no-op. */
void ctl_manager_destroy(ctl_manager *m);
/* ctl_manager_release: step down gracefully (release the lease) before destroy, as on SIGTERM. */
void ctl_manager_release(ctl_manager *m);

/* ctl_manager_ready: leading, both controllers finished their first full reconcile, and MongoDB reachable
 * (ctl_manager_store_ok). */
bool ctl_manager_ready(const ctl_manager *m);
/* ctl_manager_store_ok: false once the store's calls have failed without an answer for longer than
 * store_unready_ms (a MongoDB the controller cannot reach); true again at its next answer. */
bool ctl_manager_store_ok(const ctl_manager *m);
bool ctl_manager_is_leader(const ctl_manager *m);
/* ctl_manager_acting: whether M may execute effects now (it leads and its renew deadline has not passed) */
bool ctl_manager_acting(ctl_manager *m);
bool ctl_manager_crashed(const ctl_manager *m);
void ctl_manager_stats(const ctl_manager *m, ctl_stats *out);
/* What another thread may read at any time (the health server): atomics only. */
typedef struct ctl_live {
    int64_t beat_ns;                /* ports' clock: the manager's last sign of progress */
    int64_t processing_since_ns[2]; /* per controller: when the reconcile in flight started (0: none) */
} ctl_live;
void ctl_manager_live(const ctl_manager *m, ctl_live *out);

/* ctl_metrics_write: the manager's metric families (metrics.c): controller_runtime_reconcile_total
 * {controller,result}, controller_runtime_reconcile_errors_total, controller_runtime_reconcile_time_seconds,
 * controller_runtime_max_concurrent_reconciles, controller_runtime_active_workers, workqueue_* {name},
 * leader_election_master_status {name=LEASE_NAME}, and the domain's the0_controller_*. LIVE (may be NULL)
 * gives the reconcile in flight at NOW_NS (ports' clock). */
void ctl_metrics_write(prom *b, const ctl_stats *st, const ctl_live *live, int64_t now_ns, const char *lease_name);

/* ctl_manager_resync_now: enqueue every known key of both controllers (as the periodic resync does). */
void ctl_manager_resync_now(ctl_manager *m);

#endif
