/* soak.c: `the0-sim soak`: seeded scenarios run by forked workers, failing seeds written and shrunk, and
 * the campaign's report (docs/soak.md). The generator is soak_gen.c, one run and shrinking soak_run.c,
 * the workers soak_pool.c; `the0-sim sweep` is sweep.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cli.h"
#include "fsm/tables.h"
#include "scenarios/soak_int.h"

typedef struct soak_cfg {
    uint64_t seeds, first;
    int jobs;
    soak_gen_opts g;
    const char *out;
    bool json;
    unsigned shrink_max, shrink_runs;
    double shrink_secs;
} soak_cfg;

static void soak_cmdline(const soak_cfg *c, uint64_t seed, char *buf, size_t cap)
{
    snprintf(buf, cap, "build/the0-sim soak --first-seed %llu --seeds 1 --bots %u --hours %u --mode %s%s --out %s",
             (unsigned long long)seed, c->g.bots, c->g.hours, c->g.liveness ? "liveness" : "safety",
             c->g.healthy ? " --healthy" : "", c->out);
}

static void soak_rows(const fsm_coverage *c, unsigned char *bits, size_t cap)
{
    for (size_t i = 0; i < c->table->nrows && i / 8 < cap; i++)
        if (c->fired[i]) bits[i / 8] |= (unsigned char)(1u << (i % 8));
}

/* One failing seed: its file, the replay command, then (within the shrink budget) the minimal scenario,
 * replayed once more from the written file to check that it fails the same way. */
static void soak_failure(const soak_cfg *c, int fd, soak_shared *sh, uint64_t seed, const char *text, const soak_outcome *oc)
{
    char path[1024], mpath[1100], cmd[1400];
    snprintf(path, sizeof path, "%s/seed-%llu.scn", c->out, (unsigned long long)seed);
    snprintf(mpath, sizeof mpath, "%s/seed-%llu.min.scn", c->out, (unsigned long long)seed);
    bool wrote = soak_write_file(path, text);
    soak_cmdline(c, seed, cmd, sizeof cmd);
    soak_say(fd, seed, "FAIL seed=%llu: %s (at +%.3fs; %u violations, %u expectations failed)\nseed=%llu\n"
             "replay: build/the0-sim replay --seed %llu %s%s\nregenerate: %s\n",
             (unsigned long long)seed, oc->sig, oc->fail_ms / 1000.0, oc->violations, oc->exp_failed,
             (unsigned long long)seed, (unsigned long long)seed, path, wrote ? "" : " (could not be written)", cmd);
    if (atomic_fetch_add(&sh->shrinks, 1) >= c->shrink_max) {
        soak_say(fd, seed, "  (not shrunk: --shrink-max %u reached)\n", c->shrink_max);
        return;
    }
    unsigned runs = 0;
    double t0 = soak_now_s();
    size_t before = 0;
    for (const char *p = text; *p; p++) before += *p == '\n';
    char *min = soak_shrink_text(text, seed, oc->sig, oc->fail_ms, c->shrink_runs, c->shrink_secs, &runs);
    if (!min) return;
    soak_buf b = {0};
    size_t after = 0;
    for (const char *p = min; *p; p++) after += *p == '\n';
    soak_bprintf(&b, "# seed-%llu.min.scn: soak seed %llu (%s, %u bots, %u h) shrunk from %zu to %zu lines; fails with: %s\n"
                 "# replay: build/the0-sim replay --seed %llu %s\n%s",
                 (unsigned long long)seed, (unsigned long long)seed, c->g.liveness ? "liveness" : "safety", c->g.bots,
                 c->g.hours, before, after, oc->sig, (unsigned long long)seed, mpath, min);
    free(min);
    if (b.oom || !soak_write_file(mpath, b.s)) {
        soak_say(fd, seed, "  shrink: cannot write %s\n", mpath);
        free(b.s);
        return;
    }
    free(b.s);
    /* verify from the file, exactly as `the0-sim replay --seed N FILE` runs it */
    scn_script *sc = NULL;
    t0_err err = {0};
    soak_outcome v = {0};
    bool ok = scn_parse_file(mpath, &sc, NULL, &err) == T0_OK && soak_run_script(sc, seed, 0, NULL, NULL, &v, &err) == T0_OK &&
              v.failed && !strcmp(v.sig, oc->sig);
    scn_script_free(sc);
    soak_say(fd, seed, "  shrunk: %zu -> %zu lines in %u runs (%.1fs): %s\n  %s: build/the0-sim replay --seed %llu %s%s%s\n",
             before, after, runs, soak_now_s() - t0, mpath, ok ? "verified, fails the same way" : "NOT REPRODUCED",
             (unsigned long long)seed, mpath, ok ? "" : " -- ", ok ? "" : (v.failed ? v.sig : "passes"));
}

static void soak_worker(void *ctx, int fd, soak_shared *sh, int worker)
{
    const soak_cfg *c = ctx;
    soak_msg tot = {.type = SOAK_MSG_TOTALS};
    scn_coverage cov;
    t0_err err = {0};
    bool have_cov = scn_coverage_init(&cov, &err) == T0_OK;
    for (;;) {
        uint64_t i = atomic_fetch_add(&sh->next, 1);
        if (i >= c->seeds) break;
        uint64_t seed = c->first + i;
        soak_msg m = {.type = SOAK_MSG_DONE, .item = seed};
        char *text = soak_generate(seed, &c->g, tot.fk);
        soak_outcome oc = {0};
        soak_fault_tally tally = {{0}, NULL};
        char name[64];
        snprintf(name, sizeof name, "soak-seed-%llu", (unsigned long long)seed);
        if (!text || soak_run_text(name, text, seed, &tally, have_cov ? &cov : NULL, &oc, &err) != T0_OK) {
            soak_say(fd, seed, "ERROR seed=%llu: %s\n", (unsigned long long)seed, text ? err.msg : "out of memory");
            m.failed = 1;
        } else {
            m.failed = oc.violated ? 1 : oc.failed ? 2 : 0;
            m.sim_ms = oc.end_ms;
            for (int k = 0; k < SOAK_FAM__COUNT; k++) tot.fam[k] += tally.fam[k];
            if (oc.failed) soak_failure(c, fd, sh, seed, text, &oc);
        }
        free(text);
        soak_send(fd, &m);
    }
    if (have_cov) {
        soak_rows(&cov.bot, tot.bot_rows, sizeof tot.bot_rows);
        soak_rows(&cov.sched, tot.sched_rows, sizeof tot.sched_rows);
        scn_coverage_free(&cov);
    }
    tot.item = (uint64_t)worker;
    soak_send(fd, &tot);
}

static const char SOAK_ABOUT[] =
    "Soak campaign: for every seed S..S+N-1, generate a scenario from the seed (a fleet of B realtime bots and\n"
    "B/10 schedules with varied runtimes and programs; random creates, enables, disables, config/version/\n"
    "runtime/entry updates, deletes and schedule edits through NATS publishes and MongoDB writes; faults from\n"
    "docs/faults.md as a real server produces them: API errors, 429, timeouts, watch drops/410/closes, NATS\n"
    "drop/duplicate/reorder, MongoDB/MinIO/NATS outages, MongoDB write errors and applied timeouts with\n"
    "redelivery, restarts during a MongoDB restore, controller crashes (also between two effects), a second\n"
    "manager, a partition of one manager, node loss and evictions, objects of someone else with our names,\n"
    "finalizers, poison messages and bad cron updates) and run it H simulated hours with every invariant (the\n"
    "intent oracle's no-resurrection included) checked after every step. --mode safety: faults throughout; a\n"
    "seed fails when an invariant breaks. --mode liveness: faults stop at 60% of the run; then every enabled\n"
    "bot must have a Running pod and its controller state running, every disabled/deleted bot no pod, every\n"
    "enabled schedule a CronJob (and the others none), and every pod and CronJob what the latest intent asks\n"
    "(pods-match-intent) within 10 simulated minutes, and still 5 minutes later.";

/* soak_args: the options into C (core/cli.h); CLI_CONTINUE to go on, else the exit code. */
static int soak_args(int argc, char **argv, soak_cfg *c, bool *print)
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
        {"json", 0, CLI_BOOL, &c->json, "end with the report as one JSON line (for ci/soak-collect.sh)"},
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
static int soak_print(const soak_cfg *c)
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

/* What the workers reported, summed. */
typedef struct soak_totals {
    uint64_t fk[SOAK_FK_MAX], fam[SOAK_FAM__COUNT];
    uint64_t *failed, nfailed; /* failing seeds (failed may be NULL: out of memory) */
    uint64_t sim_ms;
    unsigned char bot_rows[64], sched_rows[64];
} soak_totals;

/* A worker's message: a seed done, or its totals at the end. */
static void soak_on_msg(void *ud, soak_progress *pr, const soak_msg *m)
{
    soak_totals *t = ud;
    if (m->type == SOAK_MSG_DONE) {
        pr->done++;
        t->sim_ms += (uint64_t)m->sim_ms;
        if (m->failed) {
            pr->bad++;
            if (t->failed) t->failed[t->nfailed++] = m->item;
        }
    } else if (m->type == SOAK_MSG_TOTALS) {
        for (int k = 0; k < SOAK_FK_MAX; k++) t->fk[k] += m->fk[k];
        for (int k = 0; k < SOAK_FAM__COUNT; k++) t->fam[k] += m->fam[k];
        for (size_t k = 0; k < sizeof t->bot_rows; k++) t->bot_rows[k] |= m->bot_rows[k], t->sched_rows[k] |= m->sched_rows[k];
    }
}

/* The table's rows as the JSON report writes them: 1 fired, 0 not, - not a transition row. */
static void soak_rows_json(const fsm_table *t, const unsigned char *rows)
{
    for (size_t i = 0; i < t->nrows; i++)
        putchar(t->rows[i].kind != FSM_ROW_GO ? '-' : (rows[i / 8] >> (i % 8)) & 1 ? '1' : '0');
}

static void soak_report_json(const soak_cfg *c, const soak_progress *pr, const soak_totals *t, double wall)
{
    printf("{\"first_seed\":%llu,\"seeds\":%llu,\"mode\":\"%s\",\"bots\":%u,\"hours\":%u,\"failed\":%llu,\"failed_seeds\":[",
           (unsigned long long)c->first, (unsigned long long)pr->done, c->g.liveness ? "liveness" : "safety", c->g.bots,
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
    printf("\",\"wall_s\":%.2f,\"jobs\":%d}\n", wall, c->jobs);
}

/* The closing report (and its JSON line with --json). */
static void soak_report(const soak_cfg *c, const soak_progress *pr, const soak_totals *t, int crashed, double wall)
{
    size_t bot_total = 0, sched_total = 0, bot_fired = 0, sched_fired = 0;
    for (size_t i = 0; i < fsm_bot_table.nrows; i++)
        if (fsm_bot_table.rows[i].kind == FSM_ROW_GO) bot_total++, bot_fired += (t->bot_rows[i / 8] >> (i % 8)) & 1;
    for (size_t i = 0; i < fsm_schedule_table.nrows; i++)
        if (fsm_schedule_table.rows[i].kind == FSM_ROW_GO) sched_total++, sched_fired += (t->sched_rows[i / 8] >> (i % 8)) & 1;
    printf("soak report: %llu seeds run (%llu..%llu, mode %s, %u bots, %u h), %llu failed%s\n", (unsigned long long)pr->done,
           (unsigned long long)c->first, (unsigned long long)(c->first + c->seeds - 1), c->g.liveness ? "liveness" : "safety",
           c->g.bots, c->g.hours, (unsigned long long)t->nfailed, crashed ? " -- A WORKER DIED" : "");
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
    printf("  wall %.1f s, %.0f seeds/min with %d job%s\n", wall, wall > 0 ? pr->done * 60.0 / wall : 0.0, c->jobs,
           c->jobs > 1 ? "s" : "");
    if (c->json) soak_report_json(c, pr, t, wall);
}

int soak_main(int argc, char **argv)
{
    soak_cfg c = {.seeds = 100, .first = 1, .jobs = soak_jobs_default(), .g = {100, 1, false, false}, .out = "soak-out",
                  .shrink_max = 3, .shrink_runs = 400, .shrink_secs = 180};
    bool print = false;
    int rc = soak_args(argc, argv, &c, &print);
    if (rc != CLI_CONTINUE) return rc;
    if (print) return soak_print(&c);
    if (mkdir(c.out, 0777) && errno != EEXIST) {
        fprintf(stderr, "the0-sim soak: cannot create %s: %s\n", c.out, strerror(errno));
        return 2;
    }
    if ((uint64_t)c.jobs > c.seeds) c.jobs = c.seeds ? (int)c.seeds : 1;
    soak_shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t *pids = calloc((size_t)c.jobs, sizeof *pids);
    if (sh == MAP_FAILED || !pids) {
        fprintf(stderr, "the0-sim soak: out of memory\n");
        free(pids);
        return 2;
    }
    atomic_init(&sh->next, 0);
    atomic_init(&sh->shrinks, 0);
    printf("soak: seeds %llu..%llu, mode %s, %u bots + %u schedules, %u simulated hour%s per seed, %d job%s, out %s\n",
           (unsigned long long)c.first, (unsigned long long)(c.first + c.seeds - 1), c.g.liveness ? "liveness" : "safety",
           c.g.bots, c.g.bots / 10 ? c.g.bots / 10 : 1, c.g.hours, c.g.hours > 1 ? "s" : "", c.jobs, c.jobs > 1 ? "s" : "", c.out);
    if (c.g.liveness)
        printf("soak: liveness bound: convergence within %d simulated minutes after the faults stop, still so %d minutes later\n",
               SOAK_BOUND_MS / 60000, SOAK_STABLE_MS / 60000);
    soak_progress pr = {"soak: seeds", c.seeds, 0, 0, soak_now_s(), 0, isatty(2)};
    int fd = soak_spawn(c.jobs, soak_worker, &c, sh, pids);
    if (fd < 0) {
        fprintf(stderr, "the0-sim soak: pipe: %s\n", strerror(errno));
        free(pids);
        munmap(sh, sizeof *sh);
        return 2;
    }
    soak_totals t = {.failed = calloc(c.seeds ? c.seeds : 1, sizeof *t.failed)};
    soak_collect_msgs(fd, &pr, soak_on_msg, &t);
    close(fd);
    int crashed = soak_reap(c.jobs, pids);
    soak_progress_show(&pr, true);
    soak_report(&c, &pr, &t, crashed, soak_now_s() - pr.t0);
    free(t.failed);
    free(pids);
    munmap(sh, sizeof *sh);
    return t.nfailed || crashed || pr.done < c.seeds ? 1 : 0;
}
