/* kubelet.h: simulated nodes and kubelet: pods stepped through fsm_pod_table, their containers run as the
 * processes their commands name, on the container filesystem model (fakes/podfs.h). */
#ifndef T0_FAKES_KUBELET_H
#define T0_FAKES_KUBELET_H

#include <stdbool.h>
#include <stdint.h>

#include "core/fs.h"
#include "core/ports.h"
#include "core/t0.h"
#include "fakes/botprog.h"
#include "fakes/kube_fake.h"
#include "fsm/fsm.h"
#include "sim/faults.h"
#include "sim/loop.h"

/* What it does: what a kubelet does, no more. It watches Pods through the fake's system port. A scheduler
 * step binds each new pod to a Ready node (the node with the fewest pods; ties by name) with
 * kfake_bind_pod; pods stay Pending while no node is Ready. A bound pod is stepped through fsm_pod_table:
 * image pull (program.pull_ms; fault point kubelet/pull) -> the init container -> bot + sync containers
 * (fault point kubelet/start: a container fails to start, StartError).
 * Every effect writes realistic status through update_status: phase, conditions (PodScheduled,
 * Initialized, ContainersReady, Ready), initContainerStatuses and containerStatuses (state
 * running{startedAt} / waiting{reason PodInitializing, ContainerCreating, CrashLoopBackOff} /
 * terminated{exitCode, reason Completed|Error|StartError, message, startedAt, finishedAt}, lastState,
 * restartCount, ready), podIP (10.244.<node>.<n>), hostIP, nodeName, startTime; reason Evicted.
 *
 * Containers. The pod's volumes (emptyDir; sizeLimit is the volume's capacity, else program.volumes or
 * 1 GiB) live in a fakes/podfs.h filesystem for the pod's life; each container runs in its own view:
 * its volumeMounts (readOnly honoured), its root read-only when securityContext.readOnlyRootFilesystem,
 * runAsUser/runAsGroup/fsGroup (container over pod), capabilities.drop ALL, terminationMessagePath. The
 * container's process is what its command + args name: argv[0] is looked up among the registered programs
 * (kubelet_register_exec); "/bin/bash" is built in and runs the bot program model (fakes/botprog.h) with
 * the bot's kubelet_program (strict mode, see kubelet_opts). A container that cannot be created ends at once
 * with exit 128 and reason
 * StartError, message saying why: argv[0] unknown ("exec: \"X\": no such file or directory"), a mount of
 * a volume the pod does not have, a volume type other than emptyDir, runAsNonRoot with uid 0. Env values
 * are the spec's value; valueFrom (secretKeyRef ...) reads as "". When a container ends, its termination
 * file becomes status.state.terminated.message (at most 4096 bytes) and its root filesystem goes.
 *
 * Timing (pinned by fakes/tests/test_kubelet.c):
 * - The init container's process starts program.init_ms (default 500 ms) after the container is created
 *   (the container runtime's work); the others at once.
 * - CrashLoopBackOff per container: 10 s, 20 s, 40 s, ... capped at 300 s; the backoff resets when the
 *   container had run for 10 minutes before exiting. The same applies to a failing init container
 *   (restartPolicy Always) and to an exited sync container.
 * - Deletion: SIGTERM to every container at once (the init container dies of it: exit 143); containers
 *   still running at the end of the grace period are killed (SIGKILL, exit 137), then the object is
 *   removed (remove with grace 0).
 * - Node loss (kubelet_node_down) and eviction (kubelet_evict): containers die at once; the pod becomes
 *   phase Failed, reason Evicted, message "The node was low on resource" / "node <n> was lost". */

typedef struct kubelet kubelet;

/* A bot's programs: the image pull, the init container's start, the bot container's program (botprog_spec's
 * fields), the capacities of its pod's volumes, and what the world puts in its code object (kubelet_exec
 * consumers read init_failures and code_files; the kubelet only carries them). The zero value after
 * kubelet_program_default runs forever. */
#define KUBELET_MAX_WRITES BOTPROG_MAX_WRITES
#define KUBELET_MAX_VOLUMES 4
#define KUBELET_MAX_CODE_FILES 4
typedef struct kubelet_program {
    int64_t pull_ms;        /* image pull delay (default 1000) */
    bool pull_fail;         /* the pull never succeeds (waiting ErrImagePull / ImagePullBackOff) */
    int64_t init_ms;        /* the init container's process starts this long after its creation (default 500) */
    int init_failures;      /* the code object is missing for this many init runs; -1 = always */
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
    int64_t write_every_ms; /* a steady writer: the state key "steady" rewritten this often (0 = never) */
    size_t nvolumes;        /* capacities of the pod's volumes by name (a node's disk that is small) */
    struct {
        char name[64];
        uint64_t bytes;
    } volumes[KUBELET_MAX_VOLUMES];
    size_t ncode_files;     /* extra files of the bot's code zip (names are bytes) */
    char code_files[KUBELET_MAX_CODE_FILES][128];
} kubelet_program;

/* kubelet_program_default: run forever, pull 1 s, init after 0.5 s, no logs, stops 100 ms after SIGTERM. */
void kubelet_program_default(kubelet_program *p);

typedef struct kubelet_opts {
    sim_faults *faults; /* points kubelet/pull, kubelet/start and the podfs ones (may be NULL) */
    /* strict (the scenario world): a container runs a registered program or the built-in /bin/bash bot
     * model, and anything else fails to start (StartError). Not strict (`the0-sim serve`, which registers
     * nothing): a command that is not registered runs a stand-in process — an init container's exits 0 once
     * started, any other's runs until SIGTERM and then exits 0 — so that any pod can reach Running. */
    bool strict;
} kubelet_opts;

/* kubelet_new: a kubelet with no nodes, watching pods of API (borrowed). */
t0_status kubelet_new(sim_loop *loop, kfake *api, const kubelet_opts *opts, kubelet **out, t0_err *err);
/* kubelet_destroy: stop (no status writes; processes killed) and free. Pods stay in the API as they are.
 * NULL is a no-op. */
void kubelet_destroy(kubelet *k);

/* ---- container processes -------------------------------------------------------------------------- */
/* A running process, as the kubelet sees it. TERM: SIGTERM (the process decides; it may ignore it). KILL:
 * SIGKILL, also after the process exited: it is gone at once, frees itself, and calls nothing more. */
typedef struct kubelet_proc kubelet_proc;
struct kubelet_proc {
    void (*term)(kubelet_proc *p);
    void (*kill)(kubelet_proc *p);
};

/* What a process is started with. Everything is borrowed and valid until its kill. */
typedef struct kubelet_exec {
    const char *ns, *pod, *pod_uid, *bot_id, *container;
    int argc;
    char **argv;                 /* command + args (argv[argc] == NULL) */
    const fs_port *fs;           /* the container's view of the filesystem */
    const loop_port *loop;
    const fsm_tracer *tracer;    /* the kubelet's tracer (NULL: none) */
    const char *trace_key;       /* "<ns>/<pod>/<container>" */
    const kubelet_program *prog; /* the bot's programs */
    unsigned init_runs;          /* init containers of this bot started so far, this one included */
    sim_faults *faults;
    /* exit: the process ended with CODE; called once, on the loop, never from inside term/kill. */
    void (*exit)(const struct kubelet_exec *x, int code);
} kubelet_exec;
/* kubelet_exec_getenv: the container's variable NAME (the spec's env list; NULL when absent). */
const char *kubelet_exec_getenv(const kubelet_exec *x, const char *name);

/* kubelet_register_exec: processes whose argv[0] is PATH are started by FN(UD, x, &proc). T0_EEXIST when
 * PATH is registered (or built in). */
typedef t0_status (*kubelet_exec_fn)(void *ud, const kubelet_exec *x, kubelet_proc **out, t0_err *err);
t0_status kubelet_register_exec(kubelet *k, const char *path, kubelet_exec_fn fn, void *ud, t0_err *err);

/* ---- nodes ------------------------------------------------------------------------------------------ */
/* kubelet_add_node: a Ready node NAME (T0_EEXIST when known). kubelet_node_down: the node is lost: its pods
 * are evicted (phase Failed, reason Evicted) and it takes no new pods. kubelet_node_up: Ready again. */
t0_status kubelet_add_node(kubelet *k, const char *name, t0_err *err);
t0_status kubelet_node_down(kubelet *k, const char *name, t0_err *err);
t0_status kubelet_node_up(kubelet *k, const char *name, t0_err *err);
/* kubelet_evict: evict one pod (T0_ENOTFOUND when the kubelet does not run it). */
t0_status kubelet_evict(kubelet *k, const char *ns, const char *name, t0_err *err);
/* kubelet_oom_kill: the kernel's OOM killer ends the running container CONTAINER ("init", "bot" or "sync", by
 * role) of a pod at its memory limit: exit 137, reason OOMKilled; the pod's restart policy decides what
 * follows, and its emptyDirs stay. T0_ENOTFOUND when the kubelet does not run the pod or that container is
 * not running. */
t0_status kubelet_oom_kill(kubelet *k, const char *ns, const char *name, const char *container, t0_err *err);

/* Programs, keyed by bot id (the pod's the0.dev/bot-id label, else the pod name). Copied. Applies to
 * pods and containers started after the call. kubelet_set_default_program: for bots without their own. */
t0_status kubelet_set_program(kubelet *k, const char *bot_id, const kubelet_program *p, t0_err *err);
void kubelet_set_default_program(kubelet *k, const kubelet_program *p);

/* Tracing: every pod-table step (key "ns/pod"); processes get it too (the sync daemon traces its table as
 * "ns/pod/sync"). NULL removes. */
void kubelet_set_tracer(kubelet *k, const fsm_tracer *t);

/* ---- observer API for the invariant checker --------------------------------------------------- */
typedef struct kubelet_bot_obs {
    unsigned bot_running;        /* bot containers running now for this bot id (must be <= 1) */
    unsigned max_bot_running;    /* the highest bot_running ever seen */
    uint64_t state_seq;          /* the bot programs' state writes so far (attempts; botprog.h) */
    uint64_t line_seq;           /* the bot programs' log lines so far (attempts) */
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

/* Events for the pod-side invariants, as they happen (synchronously, on the loop):
 * - KE_STATE_WRITE: a bot program's state write N of KEY ended; ENO 0 = completed, else its errno.
 * - KE_LOG_LINE: a bot program's log line N ended (ENO as above).
 * - KE_SIGTERM: the pod's containers got SIGTERM (deletion).
 * - KE_BOT_KILLED: the bot container was still running at the end of the grace period (SIGKILL).
 * - KE_VOLUME_FULL: a write to the pod's volume KEY failed with ENOSPC (a file was cut short there).
 * - KE_SYNC_DOWN: the sync container was OOM-killed or could not start: nothing ships until KE_SYNC_UP (its
 *   restart); a pod that ends in between loses what it had not shipped, with its emptyDirs, as on a node.
 * - KE_SYNC_UP: the sync container starts (again).
 * - KE_POD_END: the pod can ship nothing more (its containers stopped: Succeeded, Failed, Evicted, or
 *   removed); ABRUPT when it ended without a graceful stop (node loss, eviction, force removal): its
 *   emptyDirs went whatever its sidecar did. SYNC_MESSAGE: the sync container's last termination message. */
typedef enum kubelet_event_kind {
    KE_STATE_WRITE, KE_LOG_LINE, KE_SIGTERM, KE_BOT_KILLED, KE_VOLUME_FULL, KE_POD_END, KE_SYNC_DOWN, KE_SYNC_UP
} kubelet_event_kind;
typedef struct kubelet_event {
    kubelet_event_kind kind;
    const char *bot_id, *ns, *pod, *pod_uid;
    uint64_t n;
    const char *key;
    int eno;
    bool abrupt;
    const char *sync_message;
} kubelet_event;
typedef void (*kubelet_event_fn)(void *ud, const kubelet_event *e);
void kubelet_set_observer(kubelet *k, kubelet_event_fn fn, void *ud);

#endif
