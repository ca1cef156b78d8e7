/* soak.h: soak campaigns (`the0-sim soak`: generated fleets, desired-state changes and faults per seed, failing
 * seeds shrunk to minimal scenario files) and exhaustive small-scope sweeps (`the0-sim sweep`). docs/soak.md. */
#ifndef T0_SOAK_H
#define T0_SOAK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Fault statements the generator wrote, by kind (index into soak_fault_kind_names). */
#define SOAK_FK_MAX 40
extern const char *const soak_fault_kind_names[]; /* NULL-terminated */

/* soak_generate: the scenario text for SEED (malloc'd, caller frees; NULL when out of memory). The same
 * seed and options always give the same text. counts (may be NULL, SOAK_FK_MAX entries) gets the fault
 * statements written, by kind, added to it. */
char *soak_generate(uint64_t seed, const soak_gen_opts *o, uint64_t *counts);

/* soak_main: `the0-sim soak ...` (see --help). Exit 0 when no seed failed, 1 when one did, 2 on usage. */
int soak_main(int argc, char **argv);
/* sweep_main: `the0-sim sweep FILE... [--jobs J] [--max-effects N] [--max-calls N]`. Exit 0 when no run broke
 * an invariant, 1 when one did, 2 on usage or parse errors. */
int sweep_main(int argc, char **argv);

#endif
