/* world.h: the simulated world one scenario runs in, shared by the runner (run.c) and the invariant
 * checker (check.c). Private to the scenarios module. */
#ifndef T0_SCN_WORLD_H
#define T0_SCN_WORLD_H

#include <stdarg.h>

#include "controllers/manager_seam.h"
#include "fakes/bus_fake.h"
#include "fakes/cronjob_ctl.h"
#include "fakes/kube_fake.h"
#include "fakes/kubelet.h"
#include "fakes/objstore_fake.h"
#include "fakes/store_fake.h"
#include "scenarios/scn_int.h"
#include "sim/loop.h"
#include "sim/map.h"

typedef struct scn_world scn_world;

/* A bot or schedule as the scenario defines it (what the API would hold). */
typedef struct scn_bot {
    char *id;
    bool scheduled;
    cJSON *config; /* user config (owned) */
    char *runtime, *entry, *version, *name, *path, *cron;
} scn_bot;

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
    struct scn_mgr *next;
} scn_mgr;

/* Per bot/schedule facts the invariant checker keeps (key "b:<id>" / "s:<id>"). */
typedef struct scn_idinfo {
    scn_world *w;
    char *id;
    store_coll coll;
    bool desired;           /* the store holds it and config.enabled is not false */
    bool broken;            /* a document the scenario made undecodable */
    int64_t changed_ms;     /* last change of its document */
    int64_t undesired_ms;   /* when it became undesired (-1: desired) */
    int64_t observed_ms;    /* when a manager's read observed it undesired (-1: not yet) */
    bool awaiting_read;     /* on the collection's list of undesired ids awaiting a read */
    uint64_t check_timer;   /* orphan deadline check */
    uint64_t state_lost_seen, log_lost_seen;
    unsigned char *log_seen; /* bitmap of shipped log line numbers */
    size_t log_cap;          /* bytes in log_seen */
} scn_idinfo;

typedef struct scn_exp {
    scn_world *w;
    const scn_stmt *st;
    bool always;
    int64_t deadline;       /* absolute ms */
    uint64_t timer;
    struct scn_exp *next;
} scn_exp;

typedef struct scn_opts_w {
    bool manager, leader_election, durable, nats;
    unsigned nodes;
    int64_t resync_ms, requeue_ms, delete_allowance_ms, ack_wait_ms, end_ms, latency_ms, sync_interval_ms, lease_ms;
    int crashloop_escalate, init_escalate, max_deletes;
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
    scn_mgr *mgrs;
    ctl_memo *memo;         /* shared by the managers (ctl_hooks.memo): a restart regenerates nothing known */
    sim_map bots;           /* id -> scn_bot* */
    sim_map programs;       /* id -> kubelet_program* */
    sim_map fsm_state;      /* "bot/<id>" / "schedule/<id>" -> (intptr_t)(state + 1) */
    sim_map ids;            /* "b:<id>" / "s:<id>" -> scn_idinfo* */
    sim_map deleting;       /* "<kind>/<ns>/<name>" of objects with a deletionTimestamp seen */
    sim_map phases;         /* "<ns>/<name>" of pods -> const char* phase last traced */
    sim_map job_runs;       /* CronJob name -> (uintptr_t) Jobs created */
    sim_map log_len;        /* log object key -> (uintptr_t) length seen */
    scn_idinfo **awaiting[2];  /* undesired ids waiting for a successful read, per collection */
    size_t nawaiting[2], capawaiting[2];
    unsigned desired_count[2]; /* documents per collection that count as enabled */
    bool read_bad[2];       /* the last desired-state read of the collection failed or was suspiciously empty */
    unsigned broken_docs;
    bool scenario_deleting; /* a scenario statement is deleting objects (not the controller) */
    bool max_running_reported;
    scn_exp *pending;       /* expectations waiting to become true, and always-conditions */
    unsigned violations_by[8];
    const char *who;        /* the actor of the trace line being written */
};

/* trace: one timeline line "[+HH:MM:SS.mmm] WHO TEXT". Also hashed, and printed unless quiet. */
void scn_trace(scn_world *w, const char *who, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* scn_violation: an invariant broke: trace it (always printed) and count it. */
void scn_violation(scn_world *w, int which, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int64_t scn_now(scn_world *w); /* ms since the scenario's start */

enum { INV_ONE_CONTAINER = 0, INV_ORPHANS, INV_DELETE_GUARD, INV_STATE_LOSS, INV_LOG_LOSS, INV_BAD_DOC, INV__COUNT };

/* ---- the invariant checker (check.c) ---------------------------------------------------------- */
void scn_inv_init(scn_world *w);
void scn_inv_free(scn_world *w);
void scn_inv_step(scn_world *w);
void scn_inv_store_change(scn_world *w, store_coll c, const char *id, const cJSON *doc);
void scn_inv_mark_broken(scn_world *w, store_coll c, const char *id, bool broken);
void scn_inv_read(scn_world *w, store_coll c, t0_status st, const cJSON *docs);
void scn_inv_get(scn_world *w, store_coll c, const char *id, t0_status st, const cJSON *doc);
void scn_inv_kube(scn_world *w, kube_watch_type type, kube_kind kind, const cJSON *obj, bool deletion_started);
void scn_inv_object(scn_world *w, const char *bucket, const char *key, const objfake_object *obj);
void scn_inv_final(scn_world *w);

#endif
