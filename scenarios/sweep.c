/* sweep.c: exhaustive small-scope sweeps of scenario files: a manager crash before every effect of the clean
 * run, and every call of every fault point failed in turn (docs/soak.md; the command line `the0-sim sweep` is
 * cmd/sim_sweep.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/fs.h"
#include "scenarios/soak_int.h"
#include "sim/faults.h"

typedef struct sweep_item {
    unsigned file;
    int point;   /* -1: crash the manager before effect k; else: fail call k of that fault point */
    uint64_t k;
} sweep_item;

/* A file being swept: what is reported about it, and its text and script while it is. */
typedef struct sweep_file {
    sweep_file_result *r;
    char *text;
    scn_script *sc;
} sweep_file;

typedef struct sweep_ctx {
    sweep_file *f;
    sweep_item *it;
    uint64_t n;
} sweep_ctx;

/* The kind a sweep injects at a point: error 500 where the point takes errors, else its first kind. */
static void sweep_kind(const sim_fault_point *p, char *buf, size_t cap)
{
    if (strstr(p->kinds, "error")) snprintf(buf, cap, "error=500");
    else snprintf(buf, cap, "%.*s", (int)strcspn(p->kinds, " "), p->kinds);
}

static void sweep_worker(void *ctx, int fd, soak_shared *sh, int worker)
{
    const sweep_ctx *c = ctx;
    size_t np;
    const sim_fault_point *pts = sim_faults_points(&np);
    (void)worker;
    for (;;) {
        uint64_t i = atomic_fetch_add(&sh->next, 1);
        if (i >= c->n) break;
        const sweep_item *it = &c->it[i];
        const sweep_file *f = &c->f[it->file];
        soak_msg m = {.type = SOAK_MSG_DONE, .item = i};
        soak_outcome oc = {0};
        t0_err err = {0};
        t0_status st;
        char what[160];
        if (it->point < 0) {
            snprintf(what, sizeof what, "crash before effect %llu (restart 3s later)", (unsigned long long)it->k);
            st = soak_run_script(f->sc, 1, it->k, NULL, NULL, &oc, &err);
        } else {
            char kind[32];
            sweep_kind(&pts[it->point], kind, sizeof kind);
            snprintf(what, sizeof what, "fault %s %s calls=%llu", pts[it->point].name, kind, (unsigned long long)it->k);
            soak_buf b = {0};
            soak_bprintf(&b, "%s\n%s", what, f->text);
            st = b.oom ? T0_ENOMEM : soak_run_text(f->r->path, b.s, 1, NULL, NULL, &oc, &err);
            free(b.s);
        }
        if (st != T0_OK) {
            m.failed = 1;
            soak_say(fd, i, "sweep: %s: %s: %s\n", f->r->path, what, err.msg);
        } else {
            m.failed = oc.violated ? 1 : oc.failed ? 2 : 0;
            if (oc.violated) soak_say(fd, i, "VIOLATION %s with `%s`: %s (at +%.3fs)\n", f->r->path, what, oc.sig, oc.fail_ms / 1000.0);
        }
        soak_send(fd, &m);
    }
}

/* The runs to make, per file: its clean run counts the effects and each point's calls. */
typedef struct sweep_plan {
    sweep_item *items;
    uint64_t n, cap;
    uint64_t max_effects, max_calls;
    uint64_t *calls; /* [fault points]: calls of the file's clean run */
    size_t np;
} sweep_plan;

/* sweep_load: read, parse and run file FI clean, and add its runs to P. 0, or the exit code it sets. */
static int sweep_load(sweep_file *files, size_t fi, sweep_plan *p)
{
    sweep_file *f = &files[fi];
    t0_err err = {0};
    if (fs_read_host(f->r->path, (size_t)64 << 20, &f->text, NULL, &err) != T0_OK ||
        scn_parse(f->r->path, f->text, &f->sc, NULL, &err) != T0_OK) {
        fprintf(stderr, "the0-sim sweep: %s\n", err.msg);
        f->r->skipped = true;
        return 2;
    }
    soak_outcome oc;
    soak_fault_tally tally = {{0}, p->calls};
    memset(p->calls, 0, p->np * sizeof *p->calls);
    if (soak_run_script(f->sc, 1, 0, &tally, NULL, &oc, &err) != T0_OK) {
        fprintf(stderr, "the0-sim sweep: %s\n", err.msg);
        f->r->skipped = true;
        return 2;
    }
    f->r->effects = oc.effects;
    if (oc.failed) printf("sweep: %s: the clean run already fails (%s); sweeping anyway\n", f->r->path, oc.sig);
    if (oc.effects > p->max_effects) {
        printf("sweep: %s: skipped (%llu effects > --max-effects %llu)\n", f->r->path, (unsigned long long)oc.effects,
               (unsigned long long)p->max_effects);
        f->r->skipped = true;
        return 0;
    }
    uint64_t need = oc.effects;
    for (size_t k = 0; k < p->np; k++) need += p->calls[k] < p->max_calls ? p->calls[k] : p->max_calls;
    if (p->n + need > p->cap) {
        uint64_t cap = (p->n + need) * 2;
        sweep_item *x = realloc(p->items, cap * sizeof *p->items);
        if (!x) return -2; /* out of memory: stop planning */
        p->items = x;
        p->cap = cap;
    }
    for (uint64_t k = 1; k <= oc.effects; k++) p->items[p->n++] = (sweep_item){(unsigned)fi, -1, k};
    for (size_t pt = 0; pt < p->np; pt++)
        for (uint64_t k = 1; k <= p->calls[pt] && k <= p->max_calls; k++) p->items[p->n++] = (sweep_item){(unsigned)fi, (int)pt, k};
    return 0;
}

/* A worker's run done: counted for its file. */
static void sweep_on_msg(void *ud, soak_progress *pr, const soak_msg *m)
{
    const sweep_ctx *c = ud;
    if (m->type != SOAK_MSG_DONE || m->item >= c->n) return;
    const sweep_item *it = &c->it[m->item];
    sweep_file_result *f = c->f[it->file].r;
    pr->done++;
    pr->bad += m->failed == 1;
    if (it->point < 0) f->crash_runs++, f->crash_bad += m->failed == 1, f->crash_degraded += m->failed == 2;
    else f->fault_runs++, f->fault_bad += m->failed == 1, f->fault_degraded += m->failed == 2;
}

void sweep_run(const char *const *paths, size_t nf, const sweep_opts *o, sweep_file_result *results, sweep_result *r)
{
    sweep_plan p = {.max_effects = o->max_effects, .max_calls = o->max_calls};
    int jobs = o->jobs;
    memset(r, 0, sizeof *r);
    sweep_file *files = calloc(nf ? nf : 1, sizeof *files);
    for (size_t fi = 0; fi < nf; fi++) {
        results[fi] = (sweep_file_result){.path = paths[fi]};
        if (files) files[fi].r = &results[fi];
    }
    if (!files) {
        r->load_failed = true;
        return;
    }
    (void)sim_faults_points(&p.np);
    p.calls = calloc(p.np, sizeof *p.calls);
    double t0 = t0_mono_s();
    for (size_t fi = 0; fi < nf && p.calls; fi++) {
        int lr = sweep_load(files, fi, &p);
        if (lr) r->load_failed = true;
        if (lr < 0) break;
    }
    free(p.calls);
    soak_shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t *pids = calloc((size_t)jobs, sizeof *pids);
    int fd = -1;
    sweep_ctx c = {files, p.items, p.n};
    if (sh != MAP_FAILED && pids && p.n) {
        atomic_init(&sh->next, 0);
        atomic_init(&sh->shrinks, 0);
        if ((uint64_t)jobs > p.n) jobs = (int)p.n;
        fd = soak_spawn(jobs, sweep_worker, &c, sh, pids);
    }
    soak_progress pr = {"sweep: runs", p.n, 0, 0, t0_mono_s(), 0, isatty(2)};
    if (fd >= 0) {
        soak_collect_msgs(fd, &pr, sweep_on_msg, &c);
        close(fd);
        r->crashed = soak_reap(jobs, pids);
        soak_progress_show(&pr, true);
    }
    for (size_t fi = 0; fi < nf; fi++) {
        scn_script_free(files[fi].sc);
        free(files[fi].text);
    }
    r->runs = p.n;
    r->done = pr.done;
    r->bad = pr.bad;
    r->wall_s = t0_mono_s() - t0;
    free(p.items);
    free(pids);
    free(files);
    if (sh != MAP_FAILED) munmap(sh, sizeof *sh);
}
