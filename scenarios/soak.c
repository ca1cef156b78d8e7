/* soak.c: soak campaigns: seeded scenarios run by forked workers, failing seeds written and shrunk, what
 * the workers report summed (docs/soak.md). The generator is soak_gen.c, one run and shrinking soak_run.c,
 * the workers soak_pool.c, sweeps sweep.c; the command line `the0-sim soak` is cmd/sim_soak.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fsm/tables.h"
#include "scenarios/soak_int.h"

static void soak_cmdline(const soak_campaign *c, uint64_t seed, char *buf, size_t cap)
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
static void soak_failure(const soak_campaign *c, int fd, soak_shared *sh, uint64_t seed, const char *text, const soak_outcome *oc)
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
    double t0 = t0_mono_s();
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
             before, after, runs, t0_mono_s() - t0, mpath, ok ? "verified, fails the same way" : "NOT REPRODUCED",
             (unsigned long long)seed, mpath, ok ? "" : " -- ", ok ? "" : (v.failed ? v.sig : "passes"));
}

static void soak_worker(void *ctx, int fd, soak_shared *sh, int worker)
{
    const soak_campaign *c = ctx;
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

/* A worker's message: a seed done, or its totals at the end. */
static void soak_on_msg(void *ud, soak_progress *pr, const soak_msg *m)
{
    soak_result *t = ud;
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

t0_status soak_campaign_run(const soak_campaign *c, soak_result *r, t0_err *err)
{
    memset(r, 0, sizeof *r);
    soak_shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t *pids = calloc((size_t)c->jobs, sizeof *pids);
    if (sh == MAP_FAILED || !pids) {
        free(pids);
        if (sh != MAP_FAILED) munmap(sh, sizeof *sh);
        return t0_fail(err, T0_ENOMEM, "out of memory");
    }
    atomic_init(&sh->next, 0);
    atomic_init(&sh->shrinks, 0);
    soak_progress pr = {"soak: seeds", c->seeds, 0, 0, t0_mono_s(), 0, isatty(2)};
    int fd = soak_spawn(c->jobs, soak_worker, (void *)c, sh, pids);
    if (fd < 0) {
        int e = errno;
        free(pids);
        munmap(sh, sizeof *sh);
        t0_status st = t0_fail(err, T0_EIO, "pipe: %s", strerror(e));
        if (err) err->sys_errno = e;
        return st;
    }
    r->failed = calloc(c->seeds ? c->seeds : 1, sizeof *r->failed);
    soak_collect_msgs(fd, &pr, soak_on_msg, r);
    close(fd);
    r->crashed = soak_reap(c->jobs, pids);
    soak_progress_show(&pr, true);
    r->done = pr.done;
    r->wall_s = t0_mono_s() - pr.t0;
    free(pids);
    munmap(sh, sizeof *sh);
    return T0_OK;
}

void soak_result_free(soak_result *r)
{
    free(r->failed);
    r->failed = NULL;
}
