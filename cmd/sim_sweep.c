/* sim_sweep.c: `the0-sim sweep`: the command line of exhaustive small-scope sweeps (scenarios/soak.h):
 * options, the table per file and the closing line. */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cmd.h"
#include "core/cli.h"
#include "scenarios/soak.h"

/* sweep_args: options (core/cli.h) into O and the index of the first file into *FIRST; CLI_CONTINUE to go on,
 * else the exit code. */
static int sweep_args(int argc, char **argv, sweep_opts *o, int *first)
{
    const cli_opt opts[] = {
        {"jobs", 'j', CLI_INT, &o->jobs, "worker processes (default: the number of CPUs)", .min = 1, .max = 256},
        {"max-effects", 0, CLI_U64, &o->max_effects, "skip files whose clean run has more effects", .min = 1, .max = 1000000},
        {"max-calls", 0, CLI_U64, &o->max_calls, "calls failed per fault point at most", .min = 1, .max = 1000000},
    };
    const cli_cmd cmd = {"the0-sim sweep", "[flags] FILE...",
                         "Exhaustive small-scope sweeps of scenario files (seed 1): (a) run once counting the managers'\n"
                         "effects (K), then once per k = 1..K with the manager crashing just before effect k of the run and\n"
                         "restarted 3 s later; (b) count the calls of every fault point in the clean run, then once per point\n"
                         "and call k with exactly that call failing (error 500; the point's first kind where it takes no\n"
                         "errors). Every run must keep the invariants (a violation fails the sweep); a run whose expectations\n"
                         "fail is counted as degraded.",
                         opts, T0_ARRAY_LEN(opts), 1, -1,
                         "exit codes: 0 no run broke an invariant, 1 one did, 2 usage or parse errors", 2};
    return cli_parse(&cmd, argc, argv, first);
}

/* sweep_report: the table per file; the exit code with RC so far. */
static int sweep_report(const sweep_file_result *files, size_t nf, int rc)
{
    printf("%-44s %8s %9s %9s %8s %9s %9s\n", "sweep: file (effects)", "crashes", "violated", "degraded", "faults",
           "violated", "degraded");
    for (size_t fi = 0; fi < nf; fi++) {
        const sweep_file_result *f = &files[fi];
        char name[64];
        snprintf(name, sizeof name, "%s (%llu)", f->path, (unsigned long long)f->effects);
        if (f->skipped) printf("%-44s skipped\n", name);
        else printf("%-44s %8u %9u %9u %8u %9u %9u\n", name, f->crash_runs, f->crash_bad, f->crash_degraded, f->fault_runs,
                    f->fault_bad, f->fault_degraded);
        if (f->crash_bad || f->fault_bad) rc = rc ? rc : 1;
    }
    return rc;
}

int sweep_main(int argc, char **argv)
{
    sweep_opts o = {.jobs = soak_jobs_default(), .max_effects = 300, .max_calls = 60};
    int first, rc = sweep_args(argc, argv, &o, &first);
    if (rc != CLI_CONTINUE) return rc;
    size_t nf = (size_t)(argc - first);
    sweep_file_result *files = calloc(nf, sizeof *files);
    if (!files) return 2;
    sweep_result r;
    sweep_run((const char *const *)argv + first, nf, &o, files, &r);
    rc = r.load_failed ? 2 : r.crashed ? 1 : 0;
    rc = sweep_report(files, nf, rc);
    printf("sweep: %llu runs in %.1f s, %llu with an invariant violation\n", (unsigned long long)r.done, r.wall_s,
           (unsigned long long)r.bad);
    if (r.done < r.runs) rc = rc ? rc : 1;
    free(files);
    return rc;
}
