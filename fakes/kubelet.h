/* kubelet.h: simulated nodes and kubelet: drive every Pod through fsm_pod_table running program models. */
#ifndef T0_FAKES_KUBELET_H
#define T0_FAKES_KUBELET_H

#include <stdbool.h>
#include <stdint.h>

#include "core/objstore.h"
#include "fakes/objstore_fake.h"
#include "core/t0.h"
#include "fakes/kube_fake.h"
#include "fsm/fsm.h"
#include "sim/faults.h"
#include "sim/loop.h"

/* What it does. The kubelet watches Pods through the fake's system port. A scheduler step binds each
 * new pod to a Ready node (the node with the fewest pods; ties by name) with kfake_bind_pod; pods stay
 * Pending (condition PodScheduled False, reason Unschedulable) while no node is Ready. A bound pod is
 * stepped through fsm_pod_table: image pull (program.pull_ms) -> init container (program.init_*) ->
 * bot + sync containers. Every effect writes realistic status through update_status: phase,
 * conditions (PodScheduled, Initialized, ContainersReady, Ready), initContainerStatuses and
 * containerStatuses (state running{startedAt} / waiting{reason PodInitializing, ContainerCreating,
 * CrashLoopBackOff} / terminated{exitCode, reason Completed|Error, startedAt, finishedAt}, lastState,
 * restartCount, ready), podIP (10.244.<node>.<n>), hostIP, nodeName, startTime; reason Evicted.
 *
 * Timing (pinned by fakes/tests/test_kubelet.c):
 * - CrashLoopBackOff per container: 10 s, 20 s, 40 s, ... capped at 300 s; the backoff resets when the
 *   container had run for 10 minutes before exiting. The same applies to a failing init container
 *   (restartPolicy Always/OnFailure).
 * - Deletion: SIGTERM to every container; containers that ignore it (program.term_ms < 0) are killed at
 *   the end of the grace period, then the object is removed (remove with grace 0).
 * - Node loss (kubelet_node_down) and eviction (kubelet_evict): containers die at once; the pod becomes
 *   phase Failed, reason Evicted, message "The node was low on resource" / "node <n> was lost".
 *
 * The sync sidecar model follows fsm_sync_table: a state write or a log line is a `change`; debounce
 * 200 ms; a periodic scan every opts.sync_interval_ms (default 60 s) while something is unshipped (an idle
 * pod arms no timers); uploads retry with backoff 1 s
 * doubling to 30 s; SIGTERM or the done file (restartPolicy Never: the bot exited) start the final sync,
 * which waits for the bot container to stop (at most until 2 s before the grace period ends), then
 * uploads state and logs, retrying until its deadline (final_deadline_ms, default 90 s).
 *
 * Object layout written through the objstore port (buckets created on demand):
 * - state: bucket "bot-state", key "<bot-id>/state.tar.gz". In simulation the content is NOT a tar.gz but
 *   a deterministic text serialisation of the pod's state map: the line "t0-sim-state v1 seq=<n>" then
 *   one "<key>=<value>" line per key in byte order of the keys (keys and values contain no '\n' or '=' in
 *   keys). seq is the bot-wide write counter of the last write the snapshot contains.
 * - logs: bucket "bot-logs", key "logs/<bot-id>/<YYYYMMDD>.log"; each shipped chunk is appended as
 *   "[YYYY-MM-DD HH:MM:SS] <chunk without surrounding whitespace>\n" (reference 9.5), after a GET of the
 *   existing object; a GET error other than NotFound aborts the upload (never overwrite a log). The
 *   shipped offset lives with the pod (survives sync restarts; a new pod starts a new bot.log).
 * - init restores the state map from the state object (NotFound = empty state).
 * Bot log lines are "<bot-id> <text> #<n>" where n is the bot-wide line counter (1, 2, ...), so a
 * checker can detect lost and duplicated lines. */

typedef struct kubelet kubelet;

/* A container program model. The zero value (after kubelet_program_default) runs forever. */
#define KUBELET_MAX_WRITES 8
typedef struct kubelet_program {
    int64_t pull_ms;        /* image pull delay (default 1000) */
    bool pull_fail;         /* the pull never succeeds (waiting ErrImagePull / ImagePullBackOff) */
    int64_t init_ms;        /* init container run time (default 500) */
    int init_failures;      /* init fails this many times (exit 1, "code object missing"); -1 = always */
    int64_t exit_after_ms;  /* bot exits this long after each start; < 0 = runs forever (default -1) */
    int exit_code;          /* ... with this code (0 = completed; "crash every T" = exit 1 after T) */
    int64_t log_every_ms;   /* print a log line this often while running (0 = never) */
    char log_text[64];      /* the line's text (default "tick") */
    int64_t term_ms;        /* bot stops this long after SIGTERM; < 0 = ignores SIGTERM (killed at grace
                               end, like bash as PID 1 in the reference). Default 100. */
    size_t nwrites;         /* state writes, each at_ms after each container start */
    struct {
        int64_t at_ms;
        char key[64];
        char val[128];
    } writes[KUBELET_MAX_WRITES];
} kubelet_program;

/* kubelet_program_default: run forever, pull 1 s, init 0.5 s ok, no logs, stops 100 ms after SIGTERM. */
void kubelet_program_default(kubelet_program *p);

typedef struct kubelet_opts {
    int64_t sync_interval_ms;   /* periodic scan (default 60000) */
    int64_t sync_debounce_ms;   /* default 200 */
    int64_t final_deadline_ms;  /* final sync deadline (default 90000) */
    int64_t upload_ms;          /* how long one upload takes (default 20) */
    sim_faults *faults;         /* point kubelet/pull (may be NULL) */
} kubelet_opts;

/* kubelet_new: a kubelet with no nodes, watching pods of API (borrowed). STORE (borrowed, may be NULL:
 * then state and logs are kept in memory only and "shipped" instantly) is the fake MinIO, used through its
 * port (fault points and all) and objfake_append for the logs' read-append-write. */
t0_status kubelet_new(sim_loop *loop, kfake *api, objfake *store, const kubelet_opts *opts, kubelet **out,
                      t0_err *err);
/* kubelet_destroy: stop (no status writes) and free. Pods stay in the API as they are. NULL is a no-op. */
void kubelet_destroy(kubelet *k);

/* Nodes. kubelet_add_node: a Ready node NAME (T0_EEXIST when known). kubelet_node_down: the node is lost:
 * its pods are evicted (phase Failed, reason Evicted) and it takes no new pods. kubelet_node_up: Ready again. */
t0_status kubelet_add_node(kubelet *k, const char *name, t0_err *err);
t0_status kubelet_node_down(kubelet *k, const char *name, t0_err *err);
t0_status kubelet_node_up(kubelet *k, const char *name, t0_err *err);
/* kubelet_evict: evict one pod (T0_ENOTFOUND when the kubelet does not run it). */
t0_status kubelet_evict(kubelet *k, const char *ns, const char *name, t0_err *err);

/* Programs, keyed by bot id (the pod's the0.dev/bot-id label, else the pod name). Copied. Applies to
 * containers started after the call. kubelet_set_default_program: for bots without their own. */
t0_status kubelet_set_program(kubelet *k, const char *bot_id, const kubelet_program *p, t0_err *err);
void kubelet_set_default_program(kubelet *k, const kubelet_program *p);

/* Tracing: every pod-table and sync-table step (key = "ns/pod" and "ns/pod/sync"). NULL removes. */
void kubelet_set_tracer(kubelet *k, const fsm_tracer *t);

/* ---- observer API for the invariant checker --------------------------------------------------- */
typedef struct kubelet_bot_obs {
    unsigned bot_running;        /* bot containers running now for this bot id (must be <= 1) */
    unsigned max_bot_running;    /* the highest bot_running ever seen */
    uint64_t state_written_seq;  /* bot-wide counter of the last completed state write (0 = none) */
    uint64_t state_uploaded_seq; /* seq contained in the last successful state upload */
    uint64_t state_lost;         /* pods that ended with state written after their last upload */
    uint64_t log_lines_written;
    uint64_t log_lines_shipped;  /* lines included in successful log uploads */
    uint64_t log_lines_lost;     /* lines a pod took with it unshipped after a graceful stop */
    uint64_t log_lines_lost_abrupt; /* ... by pods killed without one (node loss, eviction): unavoidable */
    uint64_t state_lost_abrupt;  /* pods killed without a graceful stop with state unshipped */
    uint64_t pods_started, bot_starts, init_runs;
} kubelet_bot_obs;
/* kubelet_bot_observe: facts about BOT_ID; false (and *out zeroed) when the kubelet never saw it. */
bool kubelet_bot_observe(const kubelet *k, const char *bot_id, kubelet_bot_obs *out);
/* kubelet_max_bot_running: the highest bot_running over every bot so far (the "<= 1" invariant). */
unsigned kubelet_max_bot_running(const kubelet *k);
/* kubelet_pod_state: the pod-table state of NS/NAME (enum pod_state), or -1 when the kubelet has none. */
int kubelet_pod_state(const kubelet *k, const char *ns, const char *name);
/* kubelet_pods: pods the kubelet tracks now. */
size_t kubelet_pods(const kubelet *k);

#endif
