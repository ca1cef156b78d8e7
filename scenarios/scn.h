/* scn.h: the scenario language (files scenarios/NAME.scn): parser, runner over the simulator's fakes, the
 * invariant checker, and the `the0-sim replay` command. The language is documented in docs/scenarios.md. */
#ifndef T0_SCN_H
#define T0_SCN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/t0.h"
#include "fsm/fsm.h"
#include "sim/faults.h"

/* ---- parsed form: typed statements ---------------------------------------------------------------
 * The parser checks every statement against the grammar (scenarios/grammar.c) and yields its verb and
 * typed arguments: durations in ms, counts as integers, JSON parsed into cJSON, fault specs, comparison
 * operators. The runner executes them as they are; nothing is parsed again at run time. Every string,
 * array and JSON value of a script is owned by the script (scn_script_free). */
typedef enum scn_stmt_type { SCN_ACTION = 0, SCN_EXPECT, SCN_ALWAYS, SCN_NEVER } scn_stmt_type;

/* The verbs of the grammar: actions (executed once at their time; scenarios/actions.c), then conditions
 * (`expect` / `always`; scenarios/expect.c). */
typedef enum scn_verb {
    SCN_OPTION = 0, SCN_END, SCN_BOT, SCN_SCHEDULE, SCN_PUBLISH, SCN_PUBLISH_RAW, SCN_STORE_PUT, SCN_STORE_PUT_DUPLICATE,
    SCN_STORE_PUT_BROKEN,
    SCN_STORE_DEL, SCN_MODEL, SCN_FAULT, SCN_CLEAR_FAULT, SCN_CLEAR_FAULTS, SCN_OUTAGE, SCN_CRASH_CONTROLLER,
    SCN_RESTART_CONTROLLER, SCN_START_MANAGER, SCN_STOP_MANAGER, SCN_CLOCK, SCN_KILL_NODE, SCN_REVIVE_NODE, SCN_ADD_NODE,
    SCN_EVICT_POD, SCN_OOM_KILL, SCN_CREATE_POD_FOR, SCN_CREATE_CRONJOB_FOR, SCN_DELETE_POD, SCN_DELETE_CRONJOB,
    SCN_CRONJOB_CONTROLLER, SCN_RESYNC, SCN_NOTE, SCN_OBJECT_PUT, SCN_OBJECT_CUT,
    SCN_CREATE_POD, SCN_CREATE_CRONJOB, SCN_ADD_FINALIZER, SCN_REMOVE_FINALIZERS, SCN_MONGO_RESTORE,
    SCN_INVARIANT, /* `always NAME` of a built-in invariant: a declaration, executed once like an action */
    SCN_IF_POD, SCN_IF_NO_POD, SCN_IF_CRONJOB, SCN_IF_NO_CRONJOB, SCN_IF_STORE, SCN_IF_NO_STORE, SCN_IF_JOB_RUNS,
    SCN_IF_RESTARTS, SCN_IF_LOG_LINES, SCN_IF_LOG_TRAFFIC, SCN_IF_LOG_LAG, SCN_IF_COUNT, SCN_IF_BOT, SCN_IF_SCHEDULE, SCN_IF_MANAGER, SCN_IF_STATE,
    SCN_IF_VIOLATIONS, SCN_IF_MESSAGE, SCN_IF_STATE_LAG, SCN_IF_INTENT, SCN_IF_EVENT, SCN_IF_API_CALLS,
    SCN_IF_LOGS_SHIPPED,
    SCN_VERB__COUNT
} scn_verb;
#define SCN_FIRST_CONDITION SCN_IF_POD
static inline bool scn_verb_is_condition(scn_verb v) { return v >= SCN_FIRST_CONDITION; }

/* `option KEY=VALUE`: one setting each. */
typedef enum scn_opt_key {
    SCN_OPT_MANAGER = 0, SCN_OPT_NODES, SCN_OPT_RESYNC, SCN_OPT_NS, SCN_OPT_DELETE_ALLOWANCE, SCN_OPT_LEADER_ELECTION,
    SCN_OPT_DURABLE, SCN_OPT_ACK_WAIT, SCN_OPT_END, SCN_OPT_LATENCY, SCN_OPT_CRASHLOOP_ESCALATE,
    SCN_OPT_INIT_ESCALATE, SCN_OPT_REQUEUE, SCN_OPT_LEASE, SCN_OPT_MAX_DELETES, SCN_OPT_NATS,
    SCN_OPT_BOOKMARKS, SCN_OPT_WATCH_HISTORY, SCN_OPT_LIST_PAGE
} scn_opt_key;
typedef struct scn_option {
    scn_opt_key key;
    bool b;         /* on/off keys */
    uint64_t u;     /* counts */
    int64_t ms;     /* durations */
    const char *s;  /* ns */
} scn_option;

/* A change to a bot's definition (`bot`, `schedule`, `publish`, `store put[-duplicate]`), applied in order. */
typedef enum scn_mod_key {
    SCN_MOD_CONFIG_KEY = 0, /* config.KEY=V: V as JSON, else a string */
    SCN_MOD_CONFIG,         /* config=JSON: the whole config */
    SCN_MOD_RUNTIME, SCN_MOD_ENTRY, SCN_MOD_VERSION, SCN_MOD_NAME, SCN_MOD_PATH, SCN_MOD_CRON
} scn_mod_key;
typedef struct scn_mod {
    scn_mod_key key;
    const char *config_key;  /* SCN_MOD_CONFIG_KEY */
    const struct cJSON *json;/* SCN_MOD_CONFIG_KEY, SCN_MOD_CONFIG (copied when applied) */
    const char *str;         /* the string keys */
} scn_mod;

/* `model ID CONTAINER ...`: the program changes, applied in order to the bot's kubelet program. */
typedef enum scn_container {
    SCN_CONTAINER_BOT = 0, SCN_CONTAINER_INIT, SCN_CONTAINER_PULL, SCN_CONTAINER_VOLUME, SCN_CONTAINER_CODE
} scn_container;
typedef enum scn_model_op_kind {
    SCN_M_FOREVER = 0, SCN_M_IGNORE_SIGTERM, SCN_M_CRASH_EVERY, SCN_M_EXIT, SCN_M_AFTER, SCN_M_LOG_EVERY, SCN_M_TEXT,
    SCN_M_TERM, SCN_M_WRITE_STATE, SCN_M_WRITE_EVERY, /* bot */
    SCN_M_INIT_FAIL, SCN_M_INIT_MS, /* init */
    SCN_M_PULL_FAIL, SCN_M_PULL_MS, /* pull */
    SCN_M_VOLUME,                   /* volume: key = the volume's name, ms = its capacity in bytes (0: default) */
    SCN_M_CODE_FILE                 /* code: val = a file of the code zip */
} scn_model_op_kind;
typedef struct scn_model_op {
    scn_model_op_kind kind;
    int64_t ms;             /* durations; SCN_M_WRITE_STATE: at=; SCN_M_VOLUME: bytes */
    int n;                  /* SCN_M_EXIT: the code; SCN_M_INIT_FAIL: failures (-1 = forever) */
    const char *key, *val;  /* SCN_M_WRITE_STATE: K=V; SCN_M_TEXT: val */
} scn_model_op;

typedef enum scn_server { SCN_SERVER_MONGO = 0, SCN_SERVER_NATS, SCN_SERVER_S3 } scn_server;

/* A field an object condition asks for (`pod NAME label.K=V annotation.K=V env.K=V`, `cronjob NAME ...`). */
typedef enum scn_field_kind { SCN_FIELD_LABEL = 0, SCN_FIELD_ANNOTATION, SCN_FIELD_ENV } scn_field_kind;
typedef struct scn_field {
    scn_field_kind kind;
    const char *key, *val;
} scn_field;

/* The API calls `api-calls` counts: the verbs of kube_port. */
typedef enum scn_api_verb {
    SCN_API_CREATE = 0, SCN_API_GET, SCN_API_LIST, SCN_API_UPDATE, SCN_API_UPDATE_STATUS, SCN_API_DELETE, SCN_API_WATCH,
    SCN_API__VERBS
} scn_api_verb;
typedef enum scn_cmp { SCN_CMP_GE = 0, SCN_CMP_LE, SCN_CMP_EQ, SCN_CMP_NE, SCN_CMP_GT, SCN_CMP_LT } scn_cmp;
typedef enum scn_mgr_cond {
    SCN_MGR_LEADER = 0, SCN_MGR_NOT_LEADER, SCN_MGR_READY, SCN_MGR_NOT_READY, SCN_MGR_CRASHED
} scn_mgr_cond;

typedef struct scn_stmt {
    int line;
    scn_stmt_type type;
    scn_verb verb;
    int64_t at_ms;     /* simulated time offset from the start */
    int64_t within_ms; /* SCN_EXPECT: how long it may take to become true; 0 = must hold now */
    const char *text;  /* the statement as written (trimmed, without a comment) */
    union {
        int64_t end_ms;                                         /* SCN_END */
        struct { const scn_option *v; size_t n; } option;       /* SCN_OPTION */
        struct { /* SCN_BOT SCN_SCHEDULE SCN_PUBLISH SCN_STORE_PUT SCN_STORE_PUT_DUPLICATE */
            const char *id;
            const scn_mod *mods;
            size_t nmods;
            bool schedule;   /* SCN_PUBLISH: schedule.* */
            int op;          /* SCN_PUBLISH: payload_op */
            bool wrapped;    /* SCN_PUBLISH */
        } def;
        struct { const char *subject, *data; } raw;             /* SCN_PUBLISH_RAW */
        struct { const char *id; bool schedule; } broken;       /* SCN_STORE_PUT_BROKEN */
        struct {                                                /* SCN_MODEL */
            const char *id;
            scn_container container;
            const scn_model_op *ops;
            size_t nops;
        } model;
        struct { /* SCN_FAULT, SCN_CLEAR_FAULT (point) */
            const char *point;      /* with manager=M: "M:POINT", seen only by M's API port */
            const char *manager;    /* NULL: every client */
            sim_fault_spec spec;
        } fault;
        struct { scn_server server; bool on; } outage;          /* SCN_OUTAGE */
        struct {  /* SCN_CRASH_CONTROLLER SCN_RESTART_CONTROLLER SCN_START_MANAGER SCN_STOP_MANAGER */
            const char *name;           /* default "m1" */
            bool at_effect_set;
            uint64_t at_effect;         /* crash before the N-th effect from now */
            int64_t restart_after_ms;   /* < 0: not restarted */
            int64_t clock_ms;           /* SCN_CLOCK: the wall clock's offset from the true time */
        } mgr;
        /* the object of node, pod, cronjob and `create ... for` verbs and SCN_STORE_DEL */
        struct {
            const char *name;
            int64_t grace_s;       /* SCN_DELETE_POD: -1 = default */
            const char *container; /* SCN_OOM_KILL: "init", "bot" or "sync" */
        } obj;
        bool down;                                              /* SCN_CRONJOB_CONTROLLER, SCN_MONGO_RESTORE (on) */
        struct {                               /* SCN_CREATE_POD SCN_CREATE_CRONJOB: an object not ours */
            const char *name;
            const struct cJSON *labels, *annotations, *finalizers; /* NULL: none */
            const char *owner_kind, *owner_name;                   /* NULL: no ownerReference */
            const char *schedule;                                  /* CronJob spec.schedule */
        } foreign;
        struct { const char *name, *value; bool cronjob; } fin; /* SCN_ADD_FINALIZER SCN_REMOVE_FINALIZERS */
        const char *note;                                       /* SCN_NOTE */
        int invariant;                                          /* SCN_INVARIANT: scn_invariant */
        struct {                       /* SCN_IF_POD SCN_IF_NO_POD SCN_IF_[NO_]CRONJOB SCN_IF_[NO_]STORE */
            const char *name;
            const char *phase;         /* NULL: any */
            int ready;                 /* -1: any, else 0/1 */
            bool restarts_set;
            uint64_t restarts;         /* at least */
            const char *schedule;      /* SCN_IF_CRONJOB: spec.schedule (NULL: any) */
            const scn_field *fields;   /* labels, annotations, env of any container */
            size_t nfields;
        } pod;
        struct {                       /* SCN_IF_JOB_RUNS SCN_IF_RESTARTS SCN_IF_LOG_* SCN_IF_COUNT */
            const char *name;          /* CronJob, pod, bot id; SCN_IF_COUNT: pods|cronjobs|jobs */
            int kind;                  /* SCN_IF_COUNT: kube_kind */
            scn_cmp op;
            uint64_t n;
        } num;
        struct { const char *id; int state; /* -1: any */ } fsm;  /* SCN_IF_BOT SCN_IF_SCHEDULE */
        struct { const char *name; scn_mgr_cond cond; } manager; /* SCN_IF_MANAGER */
        struct { const char *id, *line, *object; } state;      /* SCN_IF_STATE: line K=V in object ID/state.tar.gz */
        struct { scn_cmp op; uint64_t n; } violations;         /* SCN_IF_VIOLATIONS */
        int64_t within_ms;                                      /* SCN_IF_LOGS_SHIPPED */
        struct { const char *bucket, *key, *data; size_t len; } object; /* SCN_OBJECT_PUT SCN_OBJECT_CUT */
        struct { const char *pod, *container, *text; } message;  /* SCN_IF_MESSAGE */
        struct { const char *name, *reason; scn_cmp op; uint64_t n; } event; /* SCN_IF_EVENT: Events of NAME (may end in '*') */
        struct {                                               /* SCN_IF_API_CALLS */
            const char *manager;
            scn_api_verb verb;
            int kind;                  /* kube_kind */
            scn_cmp op;
            uint64_t n;
        } api;
    } a;
} scn_stmt;

typedef struct scn_script {
    char *path;
    scn_stmt *st; /* in file order; at_ms never decreases */
    size_t n, cap;
    struct scn_arena *arena; /* owns the statements' strings, arrays and JSON values */
} scn_script;

/* Parse errors of one file, in file order, each "PATH:LINE:COL: what is wrong". */
typedef struct scn_errors {
    char **msg;
    size_t n, cap;
} scn_errors;
void scn_errors_free(scn_errors *e);

/* scn_parse: parse TEXT (from PATH, used in messages) into *OUT (owned; scn_script_free). Every statement
 * is checked; on errors returns T0_EINVAL with nothing allocated, err->msg the first error
 * ("PATH:LINE:COL: what is wrong", followed by how many more there are) and, when ERRORS is not NULL,
 * every error appended to it. T0_ENOMEM when memory ran out. */
t0_status scn_parse(const char *path, const char *text, scn_script **out, scn_errors *errors, t0_err *err);
/* scn_parse_file: read PATH and parse it. */
t0_status scn_parse_file(const char *path, scn_script **out, scn_errors *errors, t0_err *err);
void scn_script_free(scn_script *s);

/* scn_parse_duration: "90s", "1m30s", "2h", "250ms", "0s" -> milliseconds. false when malformed. */
bool scn_parse_duration(const char *s, int64_t *ms);
/* scn_format_offset: "+HH:MM:SS.mmm" for MS into BUF (>= 24 bytes). */
char *scn_format_offset(int64_t ms, char *buf, size_t cap);

/* ---- running ----------------------------------------------------------------------------------- */
/* Transition coverage over several runs (bot and schedule tables; pod and sync from the kubelet). */
typedef struct scn_coverage {
    fsm_coverage bot, sched, pod, sync;
    bool init;
} scn_coverage;
t0_status scn_coverage_init(scn_coverage *c, t0_err *err);
void scn_coverage_free(scn_coverage *c);
/* scn_coverage_report: "coverage bot: F/T rows fired" per table and the rows never fired. */
void scn_coverage_report(const scn_coverage *c, FILE *out);

/* What a progress callback sees: simulated time, work done so far, and bots/schedules per FSM state (the
 * last transition of any manager, as `expect bot ID state=S` uses). */
typedef struct scn_progress {
    int64_t sim_ms;           /* simulated time since the scenario started */
    uint64_t steps, trace_lines;
    unsigned violations;
    bool final;               /* the last call, after the run ended */
    unsigned bots, schedules; /* ids that ever stepped */
    unsigned bot_states[16];  /* per enum bot_state */
    unsigned sched_states[16];/* per enum sched_state */
} scn_progress;

typedef struct scn_run_opts {
    uint64_t seed;
    FILE *trace;        /* every trace line also goes here (may be NULL) */
    bool quiet;         /* stdout gets only expectation failures, violations and the summary */
    bool untraced;      /* with quiet and no trace file: the lines quiet would drop are not even formatted,
                           and trace_hash stays unset (soak runs and benchmarks; a replay hashes) */
    FILE *out;          /* where the readable timeline and summary go (default stdout) */
    scn_coverage *cov;  /* accumulate coverage here (may be NULL) */
    int log_level;      /* t0_log level routed into the trace (default T0_LOG_INFO) */
    /* progress: when set, called every progress_every_ms of simulated time and once more at the end
     * (final = true). It must not touch the world; it does not enter the trace. */
    void (*progress)(void *ud, const scn_progress *p);
    void *progress_ud;
    int64_t progress_every_ms;
    /* crash_at_effect: when > 0, the manager about to execute the crash_at_effect-th effect of the run (all
     * managers and incarnations counted, as scn_result.effects counts them) crashes before it (no cleanup,
     * lease kept) and is restarted crash_restart_ms later (0 = at once, < 0 = never). Used by sweeps. */
    uint64_t crash_at_effect;
    int64_t crash_restart_ms;
    /* on_faults: when set, called once at the end of the run with the fault registry, read-only
     * (sim_faults_calls / sim_faults_injected per point), before the world is freed. */
    void (*on_faults)(void *ud, const struct sim_faults *f);
    void *on_faults_ud;
    bool no_memo; /* the managers share no ctl_memo (tests compare runs with and without it) */
} scn_run_opts;

typedef struct scn_result {
    unsigned expectations, passed, failed;
    unsigned violations;
    uint64_t steps, invariant_checks;
    uint64_t trace_hash; /* FNV-1a 64 of the trace bytes (not with scn_run_opts.untraced) */
    uint64_t trace_lines;
    int64_t end_ms;
    uint64_t effects; /* effects the managers were about to execute (ctl_hooks.before_effect calls) */
    uint64_t memo_hits; /* desired states the managers took from the shared ctl_memo */
} scn_result;

/* scn_run: replay SCRIPT in a fresh simulated world (loop, faults, fake API server, kubelet, CronJob
 * controllers, MinIO, NATS, MongoDB and the controller manager(s)). Returns T0_OK when the run could be
 * carried out (expectation failures and violations are in *res); another status when setting up the
 * world failed (err says why). */
t0_status scn_run(const scn_script *script, const scn_run_opts *opts, scn_result *res, t0_err *err);


/* The text of scenarios/demo.scn, embedded at build time (build/gen/demo_scn.c). */
extern const char scn_demo_text[];

#endif
