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

struct sim_faults;

/* ---- parsed form --------------------------------------------------------------------------- */
typedef struct scn_tok {
    char *s; /* the word with quotes removed (owned) */
    int col; /* 1-based column where it starts */
    bool quoted; /* the word started with a quote: never a KEY=VALUE */
} scn_tok;

typedef enum scn_stmt_type { SCN_ACTION = 0, SCN_EXPECT, SCN_ALWAYS } scn_stmt_type;

typedef struct scn_stmt {
    int line;
    scn_stmt_type type;
    int64_t at_ms;     /* simulated time offset from the start */
    int64_t within_ms; /* SCN_EXPECT: how long it may take to become true; 0 = must hold now */
    scn_tok *w;        /* the statement's words (the time prefix, `within D`, `expect`, `always` removed) */
    size_t n;
    char *text;        /* the statement as written (trimmed, without a comment) */
} scn_stmt;

typedef struct scn_script {
    char *path;
    scn_stmt *st; /* in file order; at_ms never decreases */
    size_t n, cap;
} scn_script;

/* scn_parse: parse TEXT (from PATH, used in messages) into *OUT (owned; scn_script_free). On a syntax
 * error returns T0_EINVAL with err->msg "PATH:LINE:COL: what is wrong" and nothing allocated. */
t0_status scn_parse(const char *path, const char *text, scn_script **out, t0_err *err);
/* scn_parse_file: read PATH and parse it. */
t0_status scn_parse_file(const char *path, scn_script **out, t0_err *err);
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

/* scenario_replay_main: `the0-sim replay [--seed N] [--trace FILE] [--quiet] [--coverage] FILE...`.
 * Exit 0 when every file passed, 1 when an expectation or invariant failed (the seed and the replay
 * command are printed), 2 on usage or parse errors. */
int scenario_replay_main(int argc, char **argv);

/* scenario_demo_main: `the0-sim run [--seed N] [--file F] [--every D] [--quiet]`: replay the embedded
 * scenarios/demo.scn (or F) with a progress line every D of simulated time and a closing summary (bots
 * per FSM state, table rows fired, invariants checked, violations, seed, the replay command). Exit 0 when
 * every expectation passed and no invariant broke, 1 otherwise, 2 on usage or parse errors. */
int scenario_demo_main(int argc, char **argv);
/* The text of scenarios/demo.scn, embedded at build time (build/gen/demo_scn.c). */
extern const char scn_demo_text[];

#endif
