/* world.h: the simulated world one scenario runs in, shared by the runner's files (world.c set-up and
 * the run, managers.c, trace.c, actions.c, expect.c). The invariant checker (check.h) is a separate
 * part the runner feeds. Private to the scenarios module. */
#ifndef T0_SCN_WORLD_H
#define T0_SCN_WORLD_H

#include <stdarg.h>

#include "controllers/manager_seam.h"
#include "core/hmap.h"
#include "fakes/bus_fake.h"
#include "fakes/cronjob_ctl.h"
#include "fakes/kube_fake.h"
#include "fakes/kubelet.h"
#include "fakes/objstore_fake.h"
#include "fakes/payloads.h"
#include "fakes/store_fake.h"
#include "scenarios/check.h"
#include "scenarios/oracle.h"
#include "scenarios/scn.h"
#include "sim/loop.h"

typedef struct scn_world scn_world;

/* A bot or schedule as the scenario defines it (what the API would hold). */
typedef struct scn_bot {
    char *id;
    bool scheduled;
    cJSON *config; /* user config (owned) */
    char *runtime, *entry, *version, *name, *path, *cron;
    struct scn_bot *next;   /* the world's list of bots, for freeing */
} scn_bot;

/* The program of a bot's containers as `model` statements set it. */
typedef struct scn_program {
    kubelet_program p;
    struct scn_program *next; /* the world's list of programs, for freeing */
} scn_program;

/* One controller manager the scenario runs, across its incarnations (crash + restart). */
typedef struct scn_mgr {
    scn_world *w;
    char name[32];
    char identity[48];
    int incarnation;
    ctl_manager *m;         /* NULL while stopped */
    ctl_settings s;
    kube_port kube;         /* interposers: trace + invariants, then the fake's client port */
    store_port store;
    uint64_t effects;       /* effects this incarnation was about to execute */
    uint64_t crash_at;      /* crash before this effect number (0 = never) */
    int64_t restart_after;  /* restart this long after an at-effect crash (< 0 = stay down) */
    uint64_t destroy_timer, restart_timer;
    uint64_t api_calls[SCN_API__VERBS][KUBE__KINDS]; /* calls through its API port, all incarnations */
    struct scn_wwrap *wraps; /* its open watches, wrapped (a partition scoped to it ends them) */
    uint64_t seen_rv[KUBE__KINDS]; /* this incarnation: the newest resourceVersion its lists and watch
                                    * streams delivered (informer-coherent: a watch resumes at most there) */
    int64_t wall_offset_ms; /* its node's wall clock reads this far off the true time (`clock M OFFSET`) */
    loop_port lp;           /* the world's loop, but for that wall clock (its monotonic clock is true) */
    struct scn_mgr *next;
} scn_mgr;

/* A condition waiting to become true (`within`), or an `always` / `never` condition. */
typedef struct scn_exp {
    scn_world *w;
    const scn_stmt *st;
    bool always;            /* checked after every step from now on (`always`, `never`: the type says which) */
    int64_t deadline;       /* absolute ms */
    uint64_t timer;
    struct scn_exp *next;
} scn_exp;

/* The world's settings (`option`, `end`). */
typedef struct scn_opts_w {
    bool manager, leader_election, durable, nats;
    unsigned nodes;
    int64_t resync_ms, requeue_ms, delete_allowance_ms, ack_wait_ms, end_ms, latency_ms, lease_ms;
    int64_t bookmark_ms; /* the managers' watches get a BOOKMARK this often (default 60 s; 0: none) */
    int crashloop_escalate, init_escalate, max_deletes;
    unsigned watch_history; /* the API server's events kept per kind (0: the fake's default, 100) */
    unsigned list_page;     /* the managers' re-lists ask for pages of this many (list_page_set; else the
                               controller's default, 500; 0: one answer) */
    bool list_page_set;
    char ns[64];
} scn_opts_w;

struct scn_world {
    const scn_script *script;
    const scn_run_opts *ro;
    scn_result *res;
    scn_opts_w o;
    int64_t t0;             /* virtual time of the scenario's start */
    sim_loop *loop;
    loop_port lp;
    sim_faults *faults;
    kfake *kube;
    kube_port sys;          /* the fake API's system port (no faults) */
    kubelet *kl;
    cronctl *cc;
    objfake *obj;
    storefake *store;
    busfake *bus;
    bus_port busport;
    scn_checker *check;     /* the invariants */
    scn_oracle *oracle;     /* the user's intent and the invariants that compare the cluster with it */
    scn_mgr *mgrs;
    ctl_memo *memo;         /* shared by the managers (ctl_hooks.memo): a restart regenerates nothing known */
    hmap bots;              /* id -> scn_bot* (also on bot_list) */
    scn_bot *bot_list;
    hmap programs;          /* id -> scn_program* (also on program_list) */
    scn_program *program_list;
    hmap fsm_state;         /* "bot/<id>" / "schedule/<id>" -> (intptr_t)(state + 1) */
    scn_progress fleet;     /* bots and schedules per FSM state, kept with fsm_state (for progress) */
    hmap deleting;          /* "<kind>/<ns>/<name>" of objects with a deletionTimestamp seen */
    hmap phases;            /* "<ns>/<name>" of pods -> const char* phase last traced */
    hmap job_runs;          /* CronJob name -> (uintptr_t) Jobs created */
    hmap code_zips;         /* entry + code files -> objstore_buf* (the code objects pods.c makes) */
    hmap events;            /* "<involved name> <reason>" -> (uintptr_t) Events created */
    bool scenario_deleting; /* a scenario statement is deleting objects (not the controller) */
    bool scenario_objects;  /* a scenario statement is writing the object store (not a sidecar) */
    bool scenario_creating; /* a scenario statement is creating objects (not the controller) */
    bool scoped_faults;     /* a fault scoped to one manager was injected: their API ports ask for it */
    scn_exp *pending;       /* expectations waiting to become true, and always-conditions */
};

/* ---- trace.c: the timeline, the checker's sink, the fakes' observers, progress ----------------------- */
int64_t scn_now(scn_world *w); /* ms since the scenario's start */
/* scn_traced: whether a line that is not forced goes anywhere (or into the trace hash). */
bool scn_traced(const scn_world *w);
/* scn_trace: one timeline line "[+HH:MM:SS.mmm] WHO TEXT". Also hashed, and printed unless quiet. */
void scn_trace(scn_world *w, const char *who, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* scn_trace_force: the same, printed even when quiet (failures, violations, statements that failed). */
void scn_trace_force(scn_world *w, const char *who, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* scn_violation: an `always` condition broke (the invariants report through the checker's sink). */
void scn_violation(scn_world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* scn_observe: route the log, the fakes' observers and the checker's sink into the world (trace + checker). */
void scn_observe(scn_world *w);
scn_check_sink scn_check_sink_of(scn_world *w);
void scn_progress_start(scn_world *w);
void scn_progress_final(scn_world *w);

/* ---- pods.c: the simulated pods run `/app/runtime daemon init|sync` as the shipped daemon code ------------ */
t0_status scn_pods_bind(scn_world *w, t0_err *err);

/* ---- managers.c --------------------------------------------------------------------------------------- */
scn_mgr *scn_mgr_new(scn_world *w, const char *name);
scn_mgr *scn_mgr_find(scn_world *w, const char *name);
void scn_mgr_start(scn_mgr *m);
/* scn_mgr_stop: destroy the running incarnation (no cleanup) and cancel its crash timers. */
void scn_mgr_stop(scn_mgr *m);
/* scn_mgr_free_watches: free what is left of M's wrapped watches (the fake API server frees the watches). */
void scn_mgr_free_watches(scn_mgr *m);
/* scn_mgr_restart_in: start a new incarnation MS from now. */
void scn_mgr_restart_in(scn_mgr *m, int64_t ms);

/* ---- actions.c: one executor per action verb ---------------------------------------------------------- */
typedef void (*scn_exec_fn)(scn_world *w, const scn_stmt *s);
typedef struct scn_action_exec {
    scn_verb verb;
    scn_exec_fn exec;
} scn_action_exec;
extern const scn_action_exec scn_action_execs[];
extern const size_t scn_action_execs_len;
/* scn_exec: run action S (its verb's executor). */
void scn_exec(scn_world *w, const scn_stmt *s);
void scn_bot_free(scn_bot *b);

/* ---- expect.c: one evaluator per condition verb, expectations -------------------------------------------- */
/* An evaluator: whether condition S holds now; GOT describes what was observed (for messages). */
typedef bool (*scn_eval_fn)(scn_world *w, const scn_stmt *s, char *got, size_t cap);
typedef struct scn_cond_eval {
    scn_verb verb;
    scn_eval_fn eval;
} scn_cond_eval;
extern const scn_cond_eval scn_cond_evals[];
extern const size_t scn_cond_evals_len;
/* scn_expect: condition statement S at its time: checked now, or kept pending (returns the time the run
 * must last until for its deadline; 0 when none). */
int64_t scn_expect(scn_world *w, const scn_stmt *s);
/* scn_expect_step: evaluate pending expectations and always-conditions (after every simulated step). */
void scn_expect_step(scn_world *w);
void scn_expect_free(scn_world *w);

#endif
