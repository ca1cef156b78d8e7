/* soak.h: soak campaigns (generated fleets, desired-state changes and faults per seed, failing seeds shrunk
 * to minimal scenario files) and exhaustive small-scope sweeps; their command lines are cmd/sim_soak.c
 * (`the0-sim soak`) and cmd/sim_sweep.c (`the0-sim sweep`). docs/soak.md. */
#ifndef T0_SOAK_H
#define T0_SOAK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/t0.h"

/* What a generated scenario looks like. */
typedef struct soak_gen_opts {
    unsigned bots;     /* realtime bots (schedules: bots/10, at least 1) */
    unsigned hours;    /* simulated hours */
    bool liveness;     /* faults stop at 60 % of the run, then convergence expectations */
    bool healthy;      /* only programs that do not crash-loop or fail init forever (implied by liveness) */
} soak_gen_opts;

/* The liveness bound: after the faults stop, every enabled bot has a Running pod with the current spec and
 * every enabled schedule a CronJob within this much simulated time, and it still holds SOAK_STABLE_MS later. */
#define SOAK_BOUND_MS (10 * 60 * 1000)
#define SOAK_STABLE_MS (5 * 60 * 1000)

/* MinIO outages the generator writes last at most SOAK_S3_OUTAGE_MS and are at least SOAK_S3_UP_MS apart, so a
 * pod's final sync (its grace period less 5 s: 85 s) always meets MinIO up for long enough. */
#define SOAK_S3_OUTAGE_MS (60 * 1000)
#define SOAK_S3_UP_MS (30 * 1000)

/* A MongoDB restore (a controller restart whose first reads come back empty) lasts 17-27 s, at least
 * SOAK_RESTORE_GAP_MS after the last one ended (the collapse guard believes two empty reads one or two resync
 * periods apart: 30-60 s); with a second manager, half are a rolling restart instead (m1 stopped and started:
 * m2 takes the lease at once) that cuts m2 off from the API server SOAK_RESTORE_CUT_AT_MS into the restore, after
 * its first read, for 12-20 s, and hands the lease back to it in a second one 2-10 minutes later; of the others,
 * 30 % end into a MongoDB outage of 2-3 minutes that ends into a second restore (soak_gen.c). */
#define SOAK_RESTORE_CUT_AT_MS (5 * 1000)
#define SOAK_RESTORE_GAP_MS (2 * 60 * 1000)

/* Fault statements the generator wrote, by kind (index into soak_fault_kind_names). */
#define SOAK_FK_MAX 40
extern const char *const soak_fault_kind_names[]; /* NULL-terminated */

/* soak_generate: the scenario text for SEED (malloc'd, caller frees; NULL when out of memory). The same
 * seed and options always give the same text. counts (may be NULL, SOAK_FK_MAX entries) gets the fault
 * statements written, by kind, added to it. */
char *soak_generate(uint64_t seed, const soak_gen_opts *o, uint64_t *counts);

/* Fault-point families a campaign counts the hits of (names: soak_fam_names). */
enum { SOAK_FAM_KUBE, SOAK_FAM_WATCH, SOAK_FAM_NATS, SOAK_FAM_MONGO, SOAK_FAM_S3, SOAK_FAM_KUBELET, SOAK_FAM_PODFS, SOAK_FAM__COUNT };
extern const char *const soak_fam_names[];

int soak_jobs_default(void); /* the number of CPUs online */

/* A soak campaign: seeds FIRST..FIRST+SEEDS-1, each generated with G and run by one of JOBS forked workers
 * (seeds come from a shared counter). A failing seed is written to OUT/seed-N.scn (OUT must exist) with the
 * command that replays it; the first SHRINK_MAX of them are shrunk (at most SHRINK_RUNS runs and SHRINK_SECS
 * wall-clock seconds each) to OUT/seed-N.min.scn, replayed once more from that file. */
typedef struct soak_campaign {
    uint64_t seeds, first;
    int jobs;
    soak_gen_opts g;
    const char *out;
    unsigned shrink_max, shrink_runs;
    double shrink_secs;
} soak_campaign;

/* What the workers of a campaign reported, summed. */
typedef struct soak_result {
    uint64_t done;                              /* seeds run */
    uint64_t fk[SOAK_FK_MAX], fam[SOAK_FAM__COUNT]; /* fault statements by kind; fault-point hits by family */
    uint64_t *failed, nfailed;                  /* failing seeds (owned; failed may be NULL: out of memory) */
    uint64_t sim_ms;                            /* simulated time of every seed */
    unsigned char bot_rows[64], sched_rows[64]; /* bit i: row i of the bot / schedule table fired */
    int crashed;                                /* workers that did not exit 0 */
    double wall_s;
} soak_result;

/* soak_campaign_run: run campaign C; *R gets what it reported (free with soak_result_free). While it runs,
 * the workers' lines (failing seeds, their replay commands, shrinking) go to stdout and a progress line to
 * stderr. T0_ENOMEM or T0_EIO (the workers' pipe) when it cannot start. */
t0_status soak_campaign_run(const soak_campaign *c, soak_result *r, t0_err *err);
void soak_result_free(soak_result *r);

/* A sweep: every file's clean run (seed 1) counts its effects and each fault point's calls; then one run per
 * effect k with the manager crashing just before it (restarted 3 s later), and one per point and call k
 * with exactly that call failing. JOBS forked workers; a file whose clean run has more than MAX_EFFECTS
 * effects is skipped; at most MAX_CALLS calls per point are failed. */
typedef struct sweep_opts {
    int jobs;
    uint64_t max_effects, max_calls;
} sweep_opts;

/* One file's runs: crash runs and fault runs, those that broke an invariant (bad) and those whose
 * expectations failed (degraded). */
typedef struct sweep_file_result {
    const char *path;
    uint64_t effects; /* of its clean run */
    bool skipped;
    unsigned crash_runs, crash_bad, crash_degraded, fault_runs, fault_bad, fault_degraded;
} sweep_file_result;

typedef struct sweep_result {
    uint64_t runs, done, bad; /* planned, run, with an invariant violation */
    bool load_failed;         /* a file could not be read, parsed or run clean (said on stderr) */
    int crashed;              /* workers that did not exit 0 */
    double wall_s;            /* from the first file read to the last run */
} sweep_result;

/* sweep_run: sweep the N files PATHS with O; FILES (N entries, the caller's) gets each file's runs, *R the
 * totals. Violations and skipped files are printed as they come (stdout), a progress line on stderr. */
void sweep_run(const char *const *paths, size_t n, const sweep_opts *o, sweep_file_result *files, sweep_result *r);

#endif
