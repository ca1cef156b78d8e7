/* sim_soak.c: `the0-sim soak`: the command line of soak campaigns (scenarios/soak.h): options, --print, the
 * banner and the closing report (and its JSON line with --json). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/cmd.h"
#include "core/cli.h"
#include "fsm/tables.h"
#include "scenarios/soak.h"

static const char SOAK_ABOUT[] =
    "Soak campaign: for every seed S..S+N-1, generate a scenario from the seed (a fleet of B realtime bots and\n"
    "B/10 schedules with varied runtimes and programs; random creates, enables, disables, config/version/\n"
    "runtime/entry updates, deletes and schedule edits through NATS publishes and MongoDB writes; faults from\n"
    "docs/faults.md as a real server produces them: API errors, 429, timeouts, watch drops/410/closes, NATS\n"
    "drop/duplicate/reorder, MongoDB/MinIO/NATS outages, MongoDB write errors and applied timeouts with\n"
    "redelivery, restarts during a MongoDB restore, controller crashes (also between two effects), a second\n"
    "manager, a partition of one manager, node loss and evictions, objects of someone else with our names,\n"
    "finalizers, poison messages and bad cron updates; and in the pods: MinIO 500/503 and timeouts at the init\n"
    "containers' and sync sidecars' calls, kubelet image-pull and container-start failures, container\n"
    "filesystem EIO, short writes, ENOSPC and failing reads and renames, OOM-killed containers, a day's log\n"
    "larger than a sidecar may hold in memory; managers' clocks skewed and stepped) and run it H simulated\n"
    "hours with every invariant (the intent oracle's no-resurrection included) checked after every step.\n"
    "--mode safety: faults throughout; a seed fails when an invariant breaks. --mode liveness: faults stop at\n"
    "60% of the run; then every enabled bot must have a Running pod and its controller state running, every\n"
    "disabled/deleted bot no pod, every enabled schedule a CronJob (and the others none), and every pod and\n"
    "CronJob what the latest intent asks (pods-match-intent) within 10 simulated minutes, and still 5 minutes\n"
    "later.";

/* soak_args: the options into C (core/cli.h); CLI_CONTINUE to go on, else the exit code. */
static int soak_args(int argc, char **argv, soak_campaign *c, bool *print, bool *json)
{
    const char *mode = "safety";
    uint64_t shrink_secs = 180;
    const cli_opt opts[] = {
        {"seeds", 0, CLI_U64, &c->seeds, "seeds to run", .min = 1, .max = 1000000000},
        {"first-seed", 0, CLI_U64, &c->first, "the first seed", .min = 0, .max = UINT64_MAX - 1000000000},
        {"jobs", 'j', CLI_INT, &c->jobs, "worker processes (default: the number of CPUs); seeds come from a shared counter",
         .min = 1, .max = 256},
        {"bots", 0, CLI_UINT, &c->g.bots, "realtime bots per seed (schedules: a tenth)", .min = 1, .max = 1000000},
        {"hours", 0, CLI_UINT, &c->g.hours, "simulated hours per seed", .min = 1, .max = 1000},
        {"mode", 0, CLI_ENUM, &mode, "safety or liveness (above)", .choices = "safety|liveness"},
        {"healthy", 0, CLI_BOOL, &c->g.healthy, "no crash-looping or forever-failing-init programs"},
        {"out", 0, CLI_STR, &c->out, "where failing seeds go: DIR/seed-N.scn, shrunk DIR/seed-N.min.scn", .arg = "DIR"},
        {"json", 0, CLI_BOOL, json, "end with the report as one JSON line (for ci/soak-collect.sh)"},
        {"print", 0, CLI_BOOL, print, "print each seed's generated scenario (replayable with --seed) instead of running it"},
        {"shrink-max", 0, CLI_UINT, &c->shrink_max, "shrink at most N failing seeds", .min = 0, .max = 1000000},
        {"shrink-runs", 0, CLI_UINT, &c->shrink_runs, "runs the shrinking of one seed may use", .min = 1, .max = 1000000},
        {"shrink-secs", 0, CLI_U64, &shrink_secs, "wall-clock seconds the shrinking of one seed may use", .min = 1,
         .max = 86400},
    };
    const cli_cmd cmd = {"the0-sim soak", "[flags]", SOAK_ABOUT, opts, T0_ARRAY_LEN(opts), 0, 0,
                         "Every failing seed prints seed=N and the command that replays it.\n"
                         "exit codes: 0 no seed failed, 1 one did, 2 usage error", 2};
    int first, parsed = cli_parse(&cmd, argc, argv, &first);
    if (parsed != CLI_CONTINUE) return parsed;
    c->g.liveness = !strcmp(mode, "liveness");
    c->shrink_secs = (double)shrink_secs;
    return CLI_CONTINUE;
}

/* --print: the scenarios the seeds run, for reading or `the0-sim replay --seed N FILE`. */
static int soak_print(const soak_campaign *c)
{
    uint64_t fk[SOAK_FK_MAX] = {0};
    for (uint64_t s = c->first; s < c->first + c->seeds; s++) {
        char *text = soak_generate(s, &c->g, fk);
        if (!text) {
            fprintf(stderr, "the0-sim soak: out of memory\n");
            return 2;
        }
        printf("# seed %llu: the0-sim replay --seed %llu FILE\n%s", (unsigned long long)s, (unsigned long long)s, text);
        free(text);
    }
    return 0;
}

/* The table's rows as the JSON report writes them: 1 fired, 0 not, - not a transition row. */
static void soak_rows_json(const fsm_table *t, const unsigned char *rows)
{
    for (size_t i = 0; i < t->nrows; i++)
        putchar(t->rows[i].kind != FSM_ROW_GO ? '-' : (rows[i / 8] >> (i % 8)) & 1 ? '1' : '0');
}

static void soak_report_json(const soak_campaign *c, const soak_result *t)
{
    printf("{\"first_seed\":%llu,\"seeds\":%llu,\"mode\":\"%s\",\"bots\":%u,\"hours\":%u,\"failed\":%llu,\"failed_seeds\":[",
           (unsigned long long)c->first, (unsigned long long)t->done, c->g.liveness ? "liveness" : "safety", c->g.bots,
           c->g.hours, (unsigned long long)t->nfailed);
    for (uint64_t i = 0; t->failed && i < t->nfailed; i++) printf("%s%llu", i ? "," : "", (unsigned long long)t->failed[i]);
    printf("],\"sim_hours\":%.3f,\"faults\":{", t->sim_ms / 3600000.0);
    for (int k = 0; soak_fault_kind_names[k]; k++)
        printf("%s\"%s\":%llu", k ? "," : "", soak_fault_kind_names[k], (unsigned long long)t->fk[k]);
    printf("},\"fault_hits\":{");
    for (int k = 0; k < SOAK_FAM__COUNT; k++) printf("%s\"%s\":%llu", k ? "," : "", soak_fam_names[k], (unsigned long long)t->fam[k]);
    printf("},\"bot_rows\":\"");
    soak_rows_json(&fsm_bot_table, t->bot_rows);
    printf("\",\"schedule_rows\":\"");
    soak_rows_json(&fsm_schedule_table, t->sched_rows);
    printf("\",\"wall_s\":%.2f,\"jobs\":%d}\n", t->wall_s, c->jobs);
}

/* The closing report (and its JSON line with --json). */
static void soak_report(const soak_campaign *c, bool json, const soak_result *t)
{
    size_t bot_total = 0, sched_total = 0, bot_fired = 0, sched_fired = 0;
    for (size_t i = 0; i < fsm_bot_table.nrows; i++)
        if (fsm_bot_table.rows[i].kind == FSM_ROW_GO) bot_total++, bot_fired += (t->bot_rows[i / 8] >> (i % 8)) & 1;
    for (size_t i = 0; i < fsm_schedule_table.nrows; i++)
        if (fsm_schedule_table.rows[i].kind == FSM_ROW_GO) sched_total++, sched_fired += (t->sched_rows[i / 8] >> (i % 8)) & 1;
    printf("soak report: %llu seeds run (%llu..%llu, mode %s, %u bots, %u h), %llu failed%s\n", (unsigned long long)t->done,
           (unsigned long long)c->first, (unsigned long long)(c->first + c->seeds - 1), c->g.liveness ? "liveness" : "safety",
           c->g.bots, c->g.hours, (unsigned long long)t->nfailed, t->crashed ? " -- A WORKER DIED" : "");
    if (t->nfailed && t->failed) {
        printf("  failing seeds:");
        for (uint64_t i = 0; i < t->nfailed && i < 50; i++) printf(" %llu", (unsigned long long)t->failed[i]);
        printf("%s\n", t->nfailed > 50 ? " ..." : "");
    }
    printf("  simulated hours: %.1f\n  fault statements by kind:", t->sim_ms / 3600000.0);
    for (int k = 0; soak_fault_kind_names[k]; k++) printf(" %s=%llu", soak_fault_kind_names[k], (unsigned long long)t->fk[k]);
    printf("\n  faults injected at fault points (registry counts):");
    for (int k = 0; k < SOAK_FAM__COUNT; k++) printf(" %s=%llu", soak_fam_names[k], (unsigned long long)t->fam[k]);
    printf("\n  table rows covered: bot %zu/%zu, schedule %zu/%zu\n", bot_fired, bot_total, sched_fired, sched_total);
    printf("  wall %.1f s, %.0f seeds/min with %d job%s\n", t->wall_s, t->wall_s > 0 ? t->done * 60.0 / t->wall_s : 0.0, c->jobs,
           c->jobs > 1 ? "s" : "");
    if (json) soak_report_json(c, t);
}

int soak_main(int argc, char **argv)
{
    soak_campaign c = {.seeds = 100, .first = 1, .jobs = soak_jobs_default(), .g = {100, 1, false, false}, .out = "soak-out",
                       .shrink_max = 3, .shrink_runs = 400, .shrink_secs = 180};
    bool print = false, json = false;
    int rc = soak_args(argc, argv, &c, &print, &json);
    if (rc != CLI_CONTINUE) return rc;
    if (print) return soak_print(&c);
    if (mkdir(c.out, 0777) && errno != EEXIST) {
        fprintf(stderr, "the0-sim soak: cannot create %s: %s\n", c.out, strerror(errno));
        return 2;
    }
    if ((uint64_t)c.jobs > c.seeds) c.jobs = c.seeds ? (int)c.seeds : 1;
    printf("soak: seeds %llu..%llu, mode %s, %u bots + %u schedules, %u simulated hour%s per seed, %d job%s, out %s\n",
           (unsigned long long)c.first, (unsigned long long)(c.first + c.seeds - 1), c.g.liveness ? "liveness" : "safety",
           c.g.bots, c.g.bots / 10 ? c.g.bots / 10 : 1, c.g.hours, c.g.hours > 1 ? "s" : "", c.jobs, c.jobs > 1 ? "s" : "", c.out);
    if (c.g.liveness)
        printf("soak: liveness bound: convergence within %d simulated minutes after the faults stop, still so %d minutes later\n",
               SOAK_BOUND_MS / 60000, SOAK_STABLE_MS / 60000);
    soak_result r;
    t0_err err = {0};
    if (soak_campaign_run(&c, &r, &err) != T0_OK) {
        fprintf(stderr, "the0-sim soak: %s\n", err.msg);
        return 2;
    }
    soak_report(&c, json, &r);
    rc = r.nfailed || r.crashed || r.done < c.seeds ? 1 : 0;
    soak_result_free(&r);
    return rc;
}
