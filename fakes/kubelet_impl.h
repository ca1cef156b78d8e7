/* kubelet_impl.h: the simulated kubelet's internals, shared by its files and by nothing else (kubelet.h is
 * the contract):
 *   kubelet.c         the kubelet: nodes, scheduling, the pod watch, adoption, image pulls, pod records, the API
 *   kubelet_pod.c     a pod's steps through fsm_pod_table: its effects, restart policy and CrashLoopBackOff
 *   kubelet_ctr.c     a container's process: registered programs, the bot program, stand-ins; starts, exits, kills
 *   kubelet_spec.c    what a container runs, with what, on which filesystem; the pod's volumes
 *   kubelet_status.c  the pod status the kubelet writes (phase, conditions, container statuses)
 * One thread: the simulator's. */
#ifndef T0_FAKES_KUBELET_IMPL_H
#define T0_FAKES_KUBELET_IMPL_H

#include <stddef.h>

#include <cJSON.h>

#include "core/hmap.h"
#include "fakes/kubelet.h"
#include "fakes/podfs.h"


#define COMP "kubelet"
#define BACKOFF_BASE_MS 10000
#define BACKOFF_CAP_MS 300000
#define BACKOFF_RESET_MS 600000
#define TERM_MSG_MAX 4096
#define MAXQ 8

typedef struct knode {
    char *name;
    bool ready;
    unsigned npods, ipseq;
    int index;
} knode;

typedef struct botrec {
    kubelet_bot_obs obs;
} botrec;

typedef struct xreg {
    char *path;
    kubelet_exec_fn fn;
    void *ud;
} xreg;

/* One container's status as the kubelet reports it. */
typedef struct cstate {
    bool present, running, terminated, waiting;
    int64_t started_at, finished_at;
    int exit_code, restarts;
    /* reasons are string literals: the status written refers to them instead of copying them */
    const char *reason, *wait_reason;
    char *message; /* the terminated state's message (owned; NULL: none) */
    bool has_last;
    int last_exit;
    const char *last_reason;
    int64_t last_started, last_finished;
    int64_t backoff_ms;
    char name[64], image[160];
} cstate;

enum { R_INIT, R_BOT, R_SYNC };

typedef struct kpod kpod;

/* A container of the spec, and its process while one runs. */
typedef struct kctr {
    kpod *p;
    int role;
    cstate st;
    /* from the spec (owned) */
    char **argv;
    int argc;
    char **env; /* name, value, name, value, ... */
    size_t nenv;
    podfs_mount *mounts;
    size_t nmounts;
    podfs_view_opts vo;
    char *workdir, *config_error;
    /* the process */
    podfs_view *view;
    fs_port fs;
    kubelet_proc *proc;
    kubelet_exec x;
    char trace_key[320];
    uint64_t t_start;
} kctr;

struct kpod {
    kubelet *k;
    char *ns, *name, *key, *uid, *bot_id;
    botrec *br;
    knode *node;
    int state;
    bool detached, restart_always, has_init, has_sync, delete_seen, ended, abrupt, stepping;
    kubelet_program prog;
    kctr init, bot, sync;
    podfs *fs;
    int pullfails;
    int64_t grace_ms, grace_end, start_time;
    const char *phase; /* a string literal */
    char reason[32], message[128], ip[32];
    uint64_t t_main, t_grace;
    int q[MAXQ], nq;
};

struct kubelet {
    sim_loop *loop;
    loop_port lp;
    kfake *api;
    kube_port sys;
    kubelet_opts opts;
    kube_watch *watch;
    hmap pods;        /* "ns/name" -> kpod */
    hmap unscheduled; /* "ns/name" -> (void*)1 */
    hmap bots;        /* bot id -> botrec */
    hmap programs;    /* bot id -> kubelet_program */
    xreg *execs;
    size_t nexecs;
    knode **nodes;
    size_t nnodes;
    kubelet_program default_prog;
    fsm_tracer tracer;
    bool has_tracer;
    unsigned max_running;
    kubelet_event_fn observer;
    void *observer_ud;
};

/* ---- helpers every file uses ------------------------------------------------------------------ */
static inline int64_t now(const kubelet *k) { return sim_loop_now(k->loop); }

static inline void cancel(kubelet *k, uint64_t *t)
{
    if (*t) sim_loop_cancel(k->loop, *t);
    *t = 0;
}

static inline kctr *ctr_of_exec(const kubelet_exec *x) { return (kctr *)((char *)x - offsetof(kctr, x)); }

static inline void emit(kpod *p, kubelet_event_kind kind, uint64_t n, const char *key, int eno)
{
    kubelet *k = p->k;
    if (!k->observer) return;
    kubelet_event e = {.kind = kind, .bot_id = p->bot_id, .ns = p->ns, .pod = p->name, .pod_uid = p->uid, .n = n,
                       .key = key, .eno = eno, .abrupt = p->abrupt,
                       .sync_message = p->sync.st.message ? p->sync.st.message : ""};
    k->observer(k->observer_ud, &e);
}

/* ---- pods (kubelet.c) --------------------------------------------------------------------------- */
/* kl_pod_detach: the kubelet stops running P (timers, maps, counters); memory stays until kl_pod_release. */
void kl_pod_detach(kpod *p);
void kl_pod_release(kpod *p);

/* ---- pod steps (kubelet_pod.c) -------------------------------------------------------------------- */
/* kl_pod_fire: step P with pod event EV (queued when P is stepping already); P may be freed by it. */
void kl_pod_fire(kpod *p, int ev);
/* kl_kill_all: SIGKILL for every container (GRACE: the end of the grace period). */
void kl_kill_all(kpod *p, bool grace);

/* ---- containers (kubelet_ctr.c) --------------------------------------------------------------------- */
/* kl_ctr_start: the container is created now (status running) and its process starts DELAY later. */
void kl_ctr_start(kctr *c, int64_t delay);
/* kl_ctr_kill: SIGKILL (or the signal that ended it: CODE) for a running container. */
void kl_ctr_kill(kctr *c, int code);
/* kl_ctr_oom: C (running) is OOM-killed: exit 137, OOMKilled, and its pod event. P may be freed by it. */
void kl_ctr_oom(kctr *c);
void kl_ctr_free(kctr *c);

/* ---- the spec (kubelet_spec.c) ---------------------------------------------------------------------- */
/* kl_parse_ctr: what C runs, with what, on which filesystem (POD_SPEC for the pod's securityContext and
 * volumes). Anything that makes the container impossible to create becomes its config_error. False: out
 * of memory. */
bool kl_parse_ctr(kpod *p, kctr *c, int role, const cJSON *spec, const cJSON *pod_spec);
/* kl_make_volumes: the pod's volumes: emptyDirs with their capacity (sizeLimit, else the bot's program,
 * else 1 GiB). False: out of memory. */
bool kl_make_volumes(kpod *p, const cJSON *pod_spec);

/* ---- status (kubelet_status.c) ------------------------------------------------------------------------ */
/* kl_write_status: P's status as the kubelet reports it, written through the fake's status call. */
void kl_write_status(kpod *p);

#endif
