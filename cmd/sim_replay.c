/* sim_replay.c: `the0-sim replay`: replay scenario files, print the timeline, and on failure the seed and
 * the exact command that replays it. */
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/cli.h"
#include "core/log.h"
#include "fsm/tables.h"
#include "scenarios/scn.h"

int scenario_replay_main(int argc, char **argv)
{
    uint64_t seed = 1;
    const char *trace_path = NULL, *level = "info";
    bool quiet = false, coverage = false;
    const cli_opt opts[] = {
        {"seed", 0, CLI_U64, &seed, "seed of the PRNG; the same seed gives a byte-identical trace"},
        {"trace", 0, CLI_STR, &trace_path, "also write the trace there (several files: appended in order)", .arg = "FILE"},
        {"quiet", 0, CLI_BOOL, &quiet, "print only failures, violations and the summary"},
        {"coverage", 0, CLI_BOOL, &coverage, "print FSM transition coverage over all files, with the rows never fired"},
        {"log-level", 0, CLI_ENUM, &level, "controller log lines in the trace", .choices = "debug|info|warn|error|off"},
    };
    const cli_cmd cmd = {"the0-sim replay", "[flags] FILE...",
                         "Replay scenario files (docs/scenarios.md) in the simulator: print the timeline, check the\n"
                         "expectations and the invariants after every simulated step.",
                         opts, T0_ARRAY_LEN(opts), 1, -1,
                         "exit codes: 0 every file passed, 1 one failed (the seed and the command that replays it are\n"
                         "printed), 2 usage or parse errors", 2};
    int i, pr = cli_parse(&cmd, argc, argv, &i);
    if (pr != CLI_CONTINUE) return pr;
    int log_level = t0_log_level_parse(level);
    FILE *trace = NULL;
    if (trace_path && !(trace = fopen(trace_path, "w"))) {
        fprintf(stderr, "the0-sim replay: cannot write %s\n", trace_path);
        return 2;
    }
    scn_coverage cov;
    t0_err err = {0};
    if (coverage && scn_coverage_init(&cov, &err) != T0_OK) {
        fprintf(stderr, "the0-sim replay: %s\n", err.msg);
        if (trace) fclose(trace);
        return 2;
    }
    int rc = 0;
    unsigned files = 0, failed_files = 0;
    uint64_t hash = 1469598103934665603ull;
    for (; i < argc; i++) {
        scn_script *sc = NULL;
        scn_errors errs = {0};
        if (scn_parse_file(argv[i], &sc, &errs, &err) != T0_OK) {
            /* every error of the file, one per line */
            for (size_t k = 0; k < errs.n; k++) fprintf(stderr, "the0-sim replay: %s\n", errs.msg[k]);
            if (!errs.n) fprintf(stderr, "the0-sim replay: %s\n", err.msg);
            scn_errors_free(&errs);
            rc = 2;
            continue;
        }
        scn_run_opts ro = {.seed = seed, .trace = trace, .quiet = quiet, .out = stdout,
                           .cov = coverage ? &cov : NULL, .log_level = log_level};
        scn_result res;
        t0_status st = scn_run(sc, &ro, &res, &err);
        files++;
        hash = (hash ^ res.trace_hash) * 1099511628211ull;
        if (st != T0_OK) {
            fprintf(stderr, "the0-sim replay: %s\n", err.msg);
            rc = 2;
        } else if (res.failed || res.violations) {
            failed_files++;
            if (rc == 0) rc = 1;
            printf("FAILED %s: %u of %u expectations failed, %u invariant violations (seed=%llu)\n", argv[i], res.failed,
                   res.expectations, res.violations, (unsigned long long)seed);
            printf("seed=%llu\nreplay: build/the0-sim replay --seed %llu %s\n", (unsigned long long)seed,
                   (unsigned long long)seed, argv[i]);
        } else {
            printf("ok %s: %u expectations passed, 0 violations, %llu steps, %llu invariant checks, trace %016llx "
                   "(seed=%llu)\n", argv[i], res.passed, (unsigned long long)res.steps,
                   (unsigned long long)res.invariant_checks, (unsigned long long)res.trace_hash, (unsigned long long)seed);
        }
        fflush(stdout);
        scn_script_free(sc);
    }
    if (files > 1) printf("replayed %u files: %u failed; combined trace hash %016llx\n", files, failed_files,
                          (unsigned long long)hash);
    if (coverage) {
        scn_coverage_report(&cov, stdout);
        scn_coverage_free(&cov);
    }
    if (trace) fclose(trace);
    return rc;
}
