/* soak_int.h: what the soak and sweep files share (soak_gen.c, soak_run.c, soak_pool.c, soak.c, sweep.c);
 * not part of the module's contract (soak.h is). */
#ifndef T0_SOAK_INT_H
#define T0_SOAK_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "core/clock.h"
#include "scenarios/scn.h"
#include "scenarios/soak.h"

/* ---- small helpers (soak_run.c) ------------------------------------------------------------------- */

/* A growable string; on allocation failure it stays NULL-safe and sets oom. */
typedef struct soak_buf {
    char *s;
    size_t len, cap;
    bool oom;
} soak_buf;
void soak_bprintf(soak_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- one run (soak_run.c) ------------------------------------------------------------------------------ */
typedef struct soak_outcome {
    bool failed;          /* an invariant violation or a failed expectation */
    bool violated;        /* an invariant violation */
    unsigned violations, exp_failed;
    int64_t fail_ms;      /* simulated time of the first failure line (-1: none) */
    char sig[200];        /* "invariant NAME" or "expect TEXT": what shrinking must keep */
    int64_t end_ms;
    uint64_t effects;
} soak_outcome;

/* What on_faults collects: fault-point hits per family, and (sweeps) calls per documented point. */
typedef struct soak_fault_tally {
    uint64_t fam[SOAK_FAM__COUNT];
    uint64_t *calls; /* [sim_faults_points count] or NULL */
} soak_fault_tally;

/* soak_run_script: run SC with SEED; *OC says whether and how it failed. TALLY, COV may be NULL.
 * crash_at: crash the manager at that effect of the run (0 = never), restarted 3 s later. */
t0_status soak_run_script(const scn_script *sc, uint64_t seed, uint64_t crash_at, soak_fault_tally *tally,
                          scn_coverage *cov, soak_outcome *oc, t0_err *err);
/* soak_run_text: parse TEXT (named NAME in messages) and run it as soak_run_script does. */
t0_status soak_run_text(const char *name, const char *text, uint64_t seed, soak_fault_tally *tally, scn_coverage *cov,
                        soak_outcome *oc, t0_err *err);
bool soak_write_file(const char *path, const char *text);
/* soak_shrink_text: delta debugging (ddmin over lines) of TEXT, which fails with SIG under SEED. Returns
 * the smallest failing text found (malloc'd) within the budget; *RUNS gets the runs spent. */
char *soak_shrink_text(const char *text, uint64_t seed, const char *sig, int64_t fail_ms, unsigned max_runs,
                       double secs, unsigned *runs);

/* ---- workers (soak_pool.c) ------------------------------------------------------------------------------ */
/* Workers write fixed-size messages (< PIPE_BUF, so each write is atomic) into one shared pipe. */
enum { SOAK_MSG_DONE = 1, SOAK_MSG_TOTALS, SOAK_MSG_TEXT };
typedef struct soak_msg {
    int type;
    uint64_t item;             /* seed (soak) or run index (sweep) */
    int failed;                /* 0 ok; 1 an invariant broke; 2 only expectations failed */
    int64_t sim_ms;
    uint64_t fk[SOAK_FK_MAX];  /* TOTALS: fault statements by kind */
    uint64_t fam[SOAK_FAM__COUNT];
    unsigned char bot_rows[64], sched_rows[64];
    char text[2048];           /* TEXT: lines to print on stdout */
} soak_msg;
_Static_assert(sizeof(soak_msg) < 4096, "soak_msg must fit PIPE_BUF");

/* Shared by the parent and its workers (an anonymous shared mapping). */
typedef struct soak_shared {
    atomic_uint_fast64_t next;    /* next item to take */
    atomic_uint_fast64_t shrinks; /* failing seeds shrunk so far */
} soak_shared;

void soak_send(int fd, const soak_msg *m);
/* soak_say: a TEXT message for ITEM. */
void soak_say(int fd, uint64_t item, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* soak_recv: read one whole message; false at EOF (every worker gone). */
bool soak_recv(int fd, soak_msg *m);

typedef void (*soak_work_fn)(void *ctx, int fd, soak_shared *sh, int worker);
/* soak_spawn: fork JOBS workers running FN (each exits when done); returns the read end of their pipe,
 * -1 on failure. PIDS gets their ids. */
int soak_spawn(int jobs, soak_work_fn fn, void *ctx, soak_shared *sh, pid_t *pids);
/* soak_reap: wait for the workers; how many did not exit 0. */
int soak_reap(int jobs, const pid_t *pids);

/* Progress on stderr: in place on a TTY (every 0.5 s), a line every 5 s otherwise. */
typedef struct soak_progress {
    const char *what;
    uint64_t total, done, bad;
    double t0, last;
    bool tty;
} soak_progress;
void soak_progress_show(soak_progress *p, bool final);
/* soak_collect_msgs: read the workers' messages on FD until every worker is gone: TEXT messages go to
 * stdout, the others to ON_MSG; the progress line is kept up to date. */
void soak_collect_msgs(int fd, soak_progress *pr, void (*on_msg)(void *ud, soak_progress *pr, const soak_msg *m), void *ud);

#endif
