/* sim_run.c: `the0-sim run`: replay the embedded demo fleet (scenarios/demo.scn) with progress lines and a
 * closing summary (bots per FSM state, table rows fired, invariants checked, violations, replay command). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "core/cli.h"
#include "core/clock.h"
#include "core/log.h"
#include "fsm/tables.h"
#include "scenarios/scn.h"

typedef struct demo_ctx {
    FILE *out;
    double start, last; /* t0_mono_s */
    uint64_t last_steps;
    bool quiet;
} demo_ctx;

/* "running=52 replacing=1 ..." for the states with at least one bot (table order). */
static void print_states(FILE *out, const fsm_table *t, const unsigned *counts)
{
    bool any = false;
    for (int s = 0; s < t->nstates && s < 16; s++)
        if (counts[s]) {
            fprintf(out, "%s%s=%u", any ? " " : "", fsm_state_name(t, s), counts[s]);
            any = true;
        }
    if (!any) fprintf(out, "-");
}

static void on_progress(void *ud, const scn_progress *p)
{
    demo_ctx *d = ud;
    if (p->final || d->quiet) return;
    double now = t0_mono_s();
    double dt = now - d->last;
    double rate = dt > 0 ? (double)(p->steps - d->last_steps) / dt : 0;
    char ts[32];
    fprintf(d->out, "[sim %s] bots: ", scn_format_offset(p->sim_ms, ts, sizeof ts));
    print_states(d->out, &fsm_bot_table, p->bot_states);
    fprintf(d->out, " | schedules: ");
    print_states(d->out, &fsm_schedule_table, p->sched_states);
    fprintf(d->out, " | %.0f events/s, violations %u\n", rate, p->violations);
    fflush(d->out);
    d->last = now;
    d->last_steps = p->steps;
}

/* The final counts, kept for the summary (the final progress call). */
typedef struct demo_final {
    demo_ctx *ctx;
    scn_progress last;
} demo_final;

static void on_progress_final(void *ud, const scn_progress *p)
{
    demo_final *f = ud;
    if (p->final) f->last = *p;
    on_progress(f->ctx, p);
}

int scenario_demo_main(int argc, char **argv)
{
    uint64_t seed = 1;
    const char *file = NULL;
    int64_t every = 5 * 60 * 1000;
    bool quiet = false;
    const cli_opt opts[] = {
        {"seed", 0, CLI_U64, &seed, "seed of the PRNG; the same seed replays the same run"},
        {"file", 0, CLI_STR, &file, "replay this scenario file instead of the embedded demo", .arg = "F"},
        {"every", 0, CLI_DUR, &every, "progress period in simulated time", .min = 1, .max = INT64_MAX},
        {"quiet", 0, CLI_BOOL, &quiet, "no progress lines, only the summary"},
    };
    const cli_cmd cmd = {"the0-sim run", "[flags]",
                         "Replay the demo fleet (scenarios/demo.scn, embedded in this binary: 50+ realtime bots and 10\n"
                         "schedules with config changes, crashes, a controller restart and API faults) on the virtual clock,\n"
                         "printing a progress line every D of simulated time (simulated time, bots and schedules per FSM\n"
                         "state, simulated events per wall-clock second) and a closing summary: bots per FSM state, bot and\n"
                         "schedule table rows fired of total, invariants checked, violations, the seed and the command that\n"
                         "replays the run with its full trace.",
                         opts, T0_ARRAY_LEN(opts), 0, 0,
                         "exit codes: 0 every expectation held and no invariant broke, 1 otherwise, 2 usage errors", 2};
    int first, pr = cli_parse(&cmd, argc, argv, &first);
    if (pr != CLI_CONTINUE) return pr;
    const char *path = file ? file : "scenarios/demo.scn";
    scn_script *sc = NULL;
    t0_err err = {0};
    scn_errors errs = {0};
    t0_status st = file ? scn_parse_file(file, &sc, &errs, &err) : scn_parse(path, scn_demo_text, &sc, &errs, &err);
    if (st != T0_OK) {
        for (size_t i = 0; i < errs.n; i++) fprintf(stderr, "the0-sim run: %s\n", errs.msg[i]);
        if (!errs.n) fprintf(stderr, "the0-sim run: %s\n", err.msg);
        scn_errors_free(&errs);
        return 2;
    }
    scn_coverage cov;
    if (scn_coverage_init(&cov, &err) != T0_OK) {
        fprintf(stderr, "the0-sim run: %s\n", err.msg);
        scn_script_free(sc);
        return 2;
    }
    demo_ctx ctx = {.out = stdout, .quiet = quiet};
    ctx.start = t0_mono_s();
    ctx.last = ctx.start;
    demo_final fin = {.ctx = &ctx};
    printf("the0-sim run: replaying %s%s (seed %llu): the controller manager against simulated Kubernetes, "
           "MinIO, NATS and MongoDB\n",
           path, file ? "" : " (embedded)", (unsigned long long)seed);
    fflush(stdout);
    /* the timeline is not printed (only failures and violations are); --trace of `replay` has it all */
    scn_run_opts ro = {.seed = seed, .quiet = true, .out = stdout, .cov = &cov, .log_level = T0_LOG_INFO,
                       .progress = on_progress_final, .progress_ud = &fin, .progress_every_ms = every};
    scn_result res;
    st = scn_run(sc, &ro, &res, &err);
    if (st != T0_OK) {
        fprintf(stderr, "the0-sim run: %s\n", err.msg);
        scn_coverage_free(&cov);
        scn_script_free(sc);
        return 2;
    }
    double wall = t0_mono_s() - ctx.start;
    char ts[32];
    printf("\nsummary: %s, %s simulated in %.2f s of wall time (%llu events, %.0f events/s)\n", path,
           scn_format_offset(res.end_ms, ts, sizeof ts), wall, (unsigned long long)res.steps,
           wall > 0 ? (double)res.steps / wall : 0.0);
    printf("  bots (%u):      ", fin.last.bots);
    print_states(stdout, &fsm_bot_table, fin.last.bot_states);
    printf("\n  schedules (%u): ", fin.last.schedules);
    print_states(stdout, &fsm_schedule_table, fin.last.sched_states);
    size_t bt = 0, bf = fsm_coverage_fired(&cov.bot, &bt), stt = 0, sf = fsm_coverage_fired(&cov.sched, &stt);
    printf("\n  table rows fired: bot %zu/%zu, schedule %zu/%zu\n", bf, bt, sf, stt);
    printf("  expectations: %u of %u passed\n", res.passed, res.expectations);
    printf("  invariants checked: %llu times (after every simulated step)\n", (unsigned long long)res.invariant_checks);
    printf("  violations: %u\n", res.violations);
    printf("  seed=%llu\n  replay: build/the0-sim replay --seed %llu %s   (add --trace FILE for the full timeline)\n",
           (unsigned long long)seed, (unsigned long long)seed, path);
    int rc = res.failed || res.violations ? 1 : 0;
    printf("%s\n", rc ? "FAILED" : "ok");
    scn_coverage_free(&cov);
    scn_script_free(sc);
    return rc;
}
