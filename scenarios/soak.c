/* soak.c: `the0-sim soak` (seeded scenario generator, forked workers, shrinking of failing seeds) and
 * `the0-sim sweep` (crash at every effect, fail every API call in turn) over the scenario runner. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/log.h"
#include "fsm/tables.h"
#include "scenarios/scn.h"
#include "scenarios/soak.h"
#include "sim/faults.h"

/* ---- small helpers ------------------------------------------------------------------------------ */
static double soak_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A growable string; on allocation failure it stays NULL-safe and sets oom. */
typedef struct soak_buf {
    char *s;
    size_t len, cap;
    bool oom;
} soak_buf;

static void soak_bprintf(soak_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void soak_bprintf(soak_buf *b, const char *fmt, ...)
{
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap <= b->len + (size_t)n) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

/* splitmix64: the generator's PRNG (independent of the simulator's). */
static uint64_t soak_rand(uint64_t *st)
{
    uint64_t z = (*st += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static unsigned soak_below(uint64_t *st, unsigned n) { return n ? (unsigned)(soak_rand(st) % n) : 0; }
static bool soak_chance(uint64_t *st, unsigned percent) { return soak_below(st, 100) < percent; }

/* "1h2m3s" (whole seconds) or "250ms". */
static char *soak_fmt_dur(int64_t ms, char *buf, size_t cap)
{
    if (ms % 1000) {
        snprintf(buf, cap, "%lldms", (long long)ms);
        return buf;
    }
    long long s = ms / 1000, h = s / 3600, m = s / 60 % 60, sec = s % 60;
    size_t n = 0;
    buf[0] = 0;
    if (h) n += (size_t)snprintf(buf + n, cap - n, "%lldh", h);
    if (m) n += (size_t)snprintf(buf + n, cap - n, "%lldm", m);
    if (sec || (!h && !m)) snprintf(buf + n, cap - n, "%llds", sec);
    return buf;
}

/* ---- the generator ------------------------------------------------------------------------------ */
const char *const soak_fault_kind_names[] = {
    "kube-error", "kube-429", "kube-timeout", "kube-timeout-applied", "watch-drop", "watch-gone", "watch-close",
    "watch-latency", "stale-list", "nats-drop", "nats-duplicate", "nats-reorder", "outage-mongo", "outage-s3",
    "outage-nats", "mongo-error", "controller-crash", "controller-crash-at-effect", "second-manager", "node-kill",
    "pod-evict", NULL};
enum {
    FK_KUBE_ERR, FK_429, FK_TIMEOUT, FK_TIMEOUT_APPLIED, FK_WDROP, FK_WGONE, FK_WCLOSE, FK_WLAT, FK_STALE, FK_NDROP,
    FK_NDUP, FK_NREORDER, FK_OUT_MONGO, FK_OUT_S3, FK_OUT_NATS, FK_MONGO_ERR, FK_CRASH, FK_CRASH_EFFECT, FK_M2,
    FK_NODE, FK_EVICT, FK__COUNT
};
_Static_assert((int)FK__COUNT <= SOAK_FK_MAX, "soak fault kinds");

static const char *const soak_runtimes[] = {"python3.11", "nodejs20", "rust-stable", "dotnet8", "gcc13", "scala3"};
static const char *const soak_crons[] = {"*/5 * * * *", "*/10 * * * *", "*/15 * * * *", "0 * * * *", "*/2 * * * *",
                                         "*/20 * * * *"};

typedef struct soak_obj {
    bool present, enabled, healthy;
} soak_obj;

/* One timed statement; sorted by time (then by generation order) before being written. */
typedef struct soak_line {
    int64_t at;
    unsigned ord;
    char *text;
} soak_line;

typedef struct soak_gen {
    uint64_t rng;
    soak_line *l;
    size_t n, cap;
    unsigned ord;
    bool oom;
} soak_gen;

static void soak_add(soak_gen *g, int64_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void soak_add(soak_gen *g, int64_t at, const char *fmt, ...)
{
    if (g->oom) return;
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 256;
        soak_line *l = realloc(g->l, cap * sizeof *l);
        if (!l) {
            g->oom = true;
            return;
        }
        g->l = l;
        g->cap = cap;
    }
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *t = strdup(buf);
    if (!t) {
        g->oom = true;
        return;
    }
    g->l[g->n++] = (soak_line){at, g->ord++, t};
}

static int soak_line_cmp(const void *a, const void *b)
{
    const soak_line *x = a, *y = b;
    if (x->at != y->at) return x->at < y->at ? -1 : 1;
    return x->ord < y->ord ? -1 : x->ord > y->ord;
}

static int soak_i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* One fault (or fault window) starting at T, ending before LIMIT. */
static void soak_gen_fault(soak_gen *g, int64_t t, int64_t limit, unsigned nodes, unsigned nbots, const soak_obj *bots,
                           int64_t *outage_until, int64_t *node_until, bool *m2, uint64_t *counts)
{
    static const char *const kinds[] = {"pod", "cronjob"};
    static const char *const verbs[] = {"create", "get", "list", "update", "delete"};
    static const int codes[] = {500, 409, 404, 503, 504, 422};
    uint64_t *r = &g->rng;
    unsigned pick = soak_below(r, 21);
    int64_t win = 10000 + (int64_t)soak_below(r, 170) * 1000; /* 10 s .. 3 min */
    if (t + win >= limit) win = limit - t - 1;
    if (win < 1000) pick = 0;
    switch (pick) {
    case 0: case 1: case 2:
        soak_add(g, t, "fault kube/%s/%s error=%d count=%u", kinds[soak_below(r, 2)], verbs[soak_below(r, 5)],
                 codes[soak_below(r, 6)], 1 + soak_below(r, 5));
        counts[FK_KUBE_ERR]++;
        break;
    case 3:
        if (soak_chance(r, 50)) soak_add(g, t, "fault kube/* 429 ms=%us count=%u", 1 + soak_below(r, 3), 1 + soak_below(r, 20));
        else soak_add(g, t, "fault kube/pod/create 429 ms=1s count=%u", 1 + soak_below(r, 5));
        counts[FK_429]++;
        break;
    case 4:
        soak_add(g, t, "fault kube/%s/%s timeout count=%u", kinds[soak_below(r, 2)], verbs[soak_below(r, 5)], 1 + soak_below(r, 3));
        counts[FK_TIMEOUT]++;
        break;
    case 5:
        soak_add(g, t, "fault kube/%s/%s timeout-applied count=1", kinds[soak_below(r, 2)],
                 (const char *[]){"create", "update", "delete"}[soak_below(r, 3)]);
        counts[FK_TIMEOUT_APPLIED]++;
        break;
    case 6:
        soak_add(g, t, "fault kube/watch drop count=%u", 1 + soak_below(r, 5));
        counts[FK_WDROP]++;
        break;
    case 7:
        soak_add(g, t, "fault kube/watch gone count=1");
        counts[FK_WGONE]++;
        break;
    case 8:
        soak_add(g, t, "fault kube/watch close count=1");
        counts[FK_WCLOSE]++;
        break;
    case 9:
        soak_add(g, t, "fault kube/watch latency ms=%us count=%u", 1 + soak_below(r, 10), 1 + soak_below(r, 10));
        counts[FK_WLAT]++;
        break;
    case 10:
        soak_add(g, t, "fault kube/%s/list stale count=%u", kinds[soak_below(r, 2)], 1 + soak_below(r, 3));
        counts[FK_STALE]++;
        break;
    case 11:
        soak_add(g, t, "fault nats/deliver drop count=%u", 1 + soak_below(r, 4));
        counts[FK_NDROP]++;
        break;
    case 12:
        soak_add(g, t, "fault nats/deliver duplicate count=%u", 1 + soak_below(r, 4));
        counts[FK_NDUP]++;
        break;
    case 13:
        soak_add(g, t, "fault nats/deliver reorder ms=%us count=%u", 1 + soak_below(r, 5), 1 + soak_below(r, 4));
        counts[FK_NREORDER]++;
        break;
    case 14: {
        unsigned which = soak_below(r, 3);
        static const char *const sys[] = {"mongo", "s3", "nats"};
        if (outage_until[which] > t) break;
        /* MinIO outages stay under a minute: a pod deleted while the object store is down for its whole
         * grace period (90 s) loses its unshipped bytes with its emptyDir, whatever the sidecar does
         * (docs/soak.md shows such a run); shorter outages must lose nothing */
        if (which == 1 && win > 60000) win = 60000;
        soak_add(g, t, "outage %s on", sys[which]);
        soak_add(g, t + win, "outage %s off", sys[which]);
        outage_until[which] = t + win;
        counts[FK_OUT_MONGO + which]++;
        break;
    }
    case 15:
        soak_add(g, t, "fault mongo/%s error=500 count=%u", soak_chance(r, 50) ? "find" : "get", 1 + soak_below(r, 3));
        counts[FK_MONGO_ERR]++;
        break;
    case 16:
        soak_add(g, t, "crash controller restart-after=%us", 1 + soak_below(r, 30));
        counts[FK_CRASH]++;
        break;
    case 17:
        soak_add(g, t, "crash controller at-effect=%u restart-after=%us", 1 + soak_below(r, 6), 1 + soak_below(r, 20));
        counts[FK_CRASH_EFFECT]++;
        break;
    case 18:
        if (*m2) {
            if (soak_chance(r, 50)) soak_add(g, t, "stop manager m2");
            else soak_add(g, t, "crash controller m2 restart-after=%us", 1 + soak_below(r, 20));
            *m2 = false;
        } else {
            soak_add(g, t, "start manager m2");
            *m2 = true;
        }
        counts[FK_M2]++;
        break;
    case 19: {
        if (nodes < 2) break;
        unsigned k = soak_below(r, nodes);
        unsigned down = 0;
        for (unsigned i = 0; i < nodes; i++) down += node_until[i] > t;
        if (node_until[k] > t || down + 1 >= nodes) break;
        soak_add(g, t, "kill node node-%u", k + 1);
        soak_add(g, t + win, "revive node node-%u", k + 1);
        node_until[k] = t + win;
        counts[FK_NODE]++;
        break;
    }
    default: {
        unsigned i = soak_below(r, nbots);
        if (!bots[i].present || !bots[i].enabled) break;
        soak_add(g, t, "evict pod bot-b%u", i);
        counts[FK_EVICT]++;
        break;
    }
    }
}

char *soak_generate(uint64_t seed, const soak_gen_opts *o, uint64_t *counts)
{
    uint64_t local[SOAK_FK_MAX] = {0};
    if (!counts) counts = local;
    soak_gen G = {.rng = seed * 0x2545f4914f6cdd1dull + 1}, *g = &G;
    uint64_t *r = &g->rng;
    unsigned nb = o->bots ? o->bots : 1, ns = nb / 10 ? nb / 10 : 1, nodes = nb / 50 + 2;
    int64_t end = (int64_t)(o->hours ? o->hours : 1) * 3600000;
    int64_t fault_stop = o->liveness ? end * 6 / 10 : end; /* faults and changes happen before this */
    soak_obj *bots = calloc(nb, sizeof *bots), *scheds = calloc(ns, sizeof *scheds);
    soak_buf b = {0};
    if (!bots || !scheds) goto out;
    soak_bprintf(&b, "# soak seed=%llu mode=%s bots=%u schedules=%u hours=%u: generated by `the0-sim soak` (docs/soak.md)\n",
                 (unsigned long long)seed, o->liveness ? "liveness" : "safety", nb, ns, o->hours ? o->hours : 1);
    soak_bprintf(&b, "option nodes=%u crashloop-escalate=%u\n", nodes, 3 + soak_below(r, 4));
    int64_t last = end;
    if (o->liveness && fault_stop + 1000 + SOAK_BOUND_MS + SOAK_STABLE_MS > last)
        last = fault_stop + 1000 + SOAK_BOUND_MS + SOAK_STABLE_MS;
    char d1[32], d2[32];
    soak_bprintf(&b, "end %s\n", soak_fmt_dur(last, d1, sizeof d1));
    /* the fleet: definitions and programs */
    for (unsigned i = 0; i < nb; i++) {
        soak_bprintf(&b, "bot b%u runtime=%s config={\"symbol\":\"S%u\",\"threshold\":%u}\n", i,
                     soak_runtimes[soak_below(r, 6)], i, soak_below(r, 10));
        unsigned p = soak_below(r, 100);
        bots[i].healthy = true;
        if (p < 45) soak_bprintf(&b, "model b%u bot log-every=%us write-state pos=%u at=%us\n", i, 5 + soak_below(r, 60), p, 1 + soak_below(r, 60));
        else if (p < 65) soak_bprintf(&b, "model b%u bot log-every=%us term=%us\n", i, 5 + soak_below(r, 60), 1 + soak_below(r, 20));
        else if (p < 75) soak_bprintf(&b, "model b%u init fail=1\n", i);
        else if (p < 80) soak_bprintf(&b, "model b%u pull ms=%us\n", i, 1 + soak_below(r, 20));
        else if (!o->liveness && !o->healthy && p < 90) {
            soak_bprintf(&b, "model b%u bot crash-every=%us\n", i, 5 + soak_below(r, 120));
            bots[i].healthy = false;
        } else if (!o->liveness && !o->healthy && p < 93) {
            soak_bprintf(&b, "model b%u init fail=forever\n", i);
            bots[i].healthy = false;
        } else if (!o->liveness && p < 95) {
            soak_bprintf(&b, "model b%u bot ignore-sigterm write-state pos=1 at=2s\n", i);
        }
    }
    for (unsigned i = 0; i < ns; i++) {
        soak_bprintf(&b, "schedule s%u cron=\"%s\" runtime=%s\n", i, soak_crons[soak_below(r, 6)], soak_runtimes[soak_below(r, 6)]);
        soak_bprintf(&b, "model s%u bot exit=%u after=%us\n", i, soak_chance(r, 85) ? 0 : 1, 1 + soak_below(r, 40));
    }
    /* start: most documents stored (some disabled), the rest created later */
    for (unsigned i = 0; i < nb + ns; i++) {
        bool sch = i >= nb;
        soak_obj *x = sch ? &scheds[i - nb] : &bots[i];
        unsigned id = sch ? i - nb : i, p = soak_below(r, 100);
        if (p < 85) {
            x->present = true;
            x->enabled = p < 75;
            soak_add(g, 0, "store put %c%u config.enabled=%s", sch ? 's' : 'b', id, x->enabled ? "true" : "false");
        }
    }
    /* desired-state changes and faults at random instants before fault_stop */
    size_t nev = (size_t)nb * (size_t)(o->hours ? o->hours : 1) * 3 / 2 + 10;
    int64_t *times = malloc(nev * sizeof *times);
    if (!times) goto out;
    for (size_t k = 0; k < nev; k++) times[k] = 1000 * (1 + (int64_t)soak_below(r, (unsigned)(fault_stop / 1000 - 2)));
    qsort(times, nev, sizeof *times, soak_i64_cmp);
    int64_t outage_until[3] = {0}, *node_until = calloc(nodes, sizeof *node_until);
    bool m2 = false;
    if (!node_until) {
        free(times);
        goto out;
    }
    for (size_t k = 0; k < nev; k++) {
        int64_t t = times[k];
        unsigned what = soak_below(r, 100);
        if (what < 22) {
            soak_gen_fault(g, t, fault_stop, nodes, nb, bots, outage_until, node_until, &m2, counts);
            continue;
        }
        bool sch = what >= 88;
        unsigned id = sch ? soak_below(r, ns) : soak_below(r, nb);
        soak_obj *x = sch ? &scheds[id] : &bots[id];
        char c = sch ? 's' : 'b';
        const char *subj = sch ? "schedule" : "bot";
        bool pub = soak_chance(r, 60);
        if (!x->present) { /* create */
            x->present = x->enabled = true;
            if (pub) soak_add(g, t, "publish %s.created %c%u config.enabled=true", subj, c, id);
            else soak_add(g, t, "store put %c%u config.enabled=true", c, id);
            continue;
        }
        unsigned op = soak_below(r, 100);
        if (op < 10) { /* delete */
            x->present = x->enabled = false;
            if (pub) soak_add(g, t, "publish %s.deleted %c%u", subj, c, id);
            else soak_add(g, t, "store del %c%u", c, id);
            continue;
        }
        if (op < 30) x->enabled = !x->enabled; /* enable / disable */
        char mod[96];
        unsigned m = soak_below(r, 10);
        if (op < 30) mod[0] = 0;
        else if (sch && m < 5) snprintf(mod, sizeof mod, " cron=\"%s\"", soak_crons[soak_below(r, 6)]);
        else if (m < 5) snprintf(mod, sizeof mod, " config.threshold=%u", soak_below(r, 50));
        else if (m < 7) snprintf(mod, sizeof mod, " version=1.%u.%u", soak_below(r, 3), soak_below(r, 10));
        else if (m < 9) snprintf(mod, sizeof mod, " runtime=%s", soak_runtimes[soak_below(r, 6)]);
        else snprintf(mod, sizeof mod, " entry=%s", soak_chance(r, 50) ? "main.py" : "alt/main.py");
        if (pub) soak_add(g, t, "publish %s.updated %c%u%s config.enabled=%s", subj, c, id, mod, x->enabled ? "true" : "false");
        else soak_add(g, t, "store put %c%u%s config.enabled=%s", c, id, mod, x->enabled ? "true" : "false");
    }
    free(times);
    free(node_until);
    if (o->liveness) {
        /* faults stop; the desired state is stated once more straight in MongoDB (a publish lost in a NATS
         * outage must not make the expectations below wrong); then convergence within the bound, and stability */
        soak_add(g, fault_stop, "note faults stop: convergence expected within %s, stable %s later",
                 soak_fmt_dur(SOAK_BOUND_MS, d1, sizeof d1), soak_fmt_dur(SOAK_STABLE_MS, d2, sizeof d2));
        soak_add(g, fault_stop, "clear faults");
        soak_add(g, fault_stop, "outage mongo off");
        soak_add(g, fault_stop, "outage s3 off");
        soak_add(g, fault_stop, "outage nats off");
        for (unsigned i = 0; i < nodes; i++) soak_add(g, fault_stop, "revive node node-%u", i + 1);
        int64_t t1 = fault_stop + 1000, t2 = t1 + SOAK_BOUND_MS + SOAK_STABLE_MS;
        for (unsigned i = 0; i < nb + ns; i++) {
            bool sch = i >= nb;
            soak_obj *x = sch ? &scheds[i - nb] : &bots[i];
            unsigned id = sch ? i - nb : i;
            char c = sch ? 's' : 'b';
            if (x->present) soak_add(g, t1, "store put %c%u config.enabled=%s", c, id, x->enabled ? "true" : "false");
            else soak_add(g, t1, "store del %c%u", c, id);
        }
        const char *bound = soak_fmt_dur(SOAK_BOUND_MS, d1, sizeof d1);
        for (int pass = 0; pass < 2; pass++) {
            int64_t t = pass ? t2 : t1;
            const char *w = pass ? "" : "within ";
            const char *wb = pass ? "" : bound;
            const char *sp = pass ? "" : " ";
            for (unsigned i = 0; i < nb; i++) {
                if (bots[i].present && bots[i].enabled) {
                    soak_add(g, t, "%s%s%sexpect pod bot-b%u phase=Running", w, wb, sp, i);
                    soak_add(g, t, "%s%s%sexpect bot b%u state=running", w, wb, sp, i);
                } else soak_add(g, t, "%s%s%sexpect no pod bot-b%u", w, wb, sp, i);
            }
            for (unsigned i = 0; i < ns; i++)
                soak_add(g, t, "%s%s%sexpect %scronjob schedule-s%u", w, wb, sp, scheds[i].present && scheds[i].enabled ? "" : "no ", i);
        }
    }
    if (g->oom) goto out;
    qsort(g->l, g->n, sizeof *g->l, soak_line_cmp);
    for (size_t k = 0; k < g->n; k++) soak_bprintf(&b, "at %s %s\n", soak_fmt_dur(g->l[k].at, d1, sizeof d1), g->l[k].text);
out:
    for (size_t k = 0; k < g->n; k++) free(g->l[k].text);
    free(g->l);
    free(bots);
    free(scheds);
    if (g->oom || b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* ---- running one scenario text ------------------------------------------------------------------- */
enum { SOAK_FAM_KUBE, SOAK_FAM_WATCH, SOAK_FAM_NATS, SOAK_FAM_MONGO, SOAK_FAM_S3, SOAK_FAM_KUBELET, SOAK_FAM__COUNT };
static const char *const soak_fam_names[] = {"kube", "kube-watch", "nats", "mongo", "s3", "kubelet"};

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

static int soak_family(const char *p)
{
    if (!strncmp(p, "kube/", 5)) return strstr(p, "watch") ? SOAK_FAM_WATCH : SOAK_FAM_KUBE;
    if (!strncmp(p, "nats/", 5)) return SOAK_FAM_NATS;
    if (!strncmp(p, "mongo/", 6)) return SOAK_FAM_MONGO;
    if (!strncmp(p, "s3/", 3)) return SOAK_FAM_S3;
    return SOAK_FAM_KUBELET;
}

static void soak_on_faults(void *ud, const struct sim_faults *f)
{
    soak_fault_tally *t = ud;
    size_t n;
    const sim_fault_point *pts = sim_faults_points(&n);
    for (size_t i = 0; i < n; i++) {
        t->fam[soak_family(pts[i].name)] += sim_faults_injected(f, pts[i].name);
        if (t->calls) t->calls[i] = sim_faults_calls(f, pts[i].name);
    }
}

/* "[+HH:MM:SS.mmm] ..." -> ms; -1 when malformed. */
static int64_t soak_line_ms(const char *l)
{
    unsigned h, m, s, ms;
    if (sscanf(l, "[+%u:%u:%u.%u]", &h, &m, &s, &ms) != 4) return -1;
    return (((int64_t)h * 60 + m) * 60 + s) * 1000 + ms;
}

/* Find the first failure in the runner's quiet output. */
static void soak_classify(const char *out, soak_outcome *oc)
{
    oc->sig[0] = 0;
    oc->fail_ms = -1;
    for (const char *l = out; l && *l;) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        const char *inv = memmem(l, len, "] invariant ", 12), *exp = memmem(l, len, "] expect FAIL ", 14);
        if (inv) {
            const char *name = inv + 12, *sp = strchr(name, ' ');
            snprintf(oc->sig, sizeof oc->sig, "invariant %.*s", sp ? (int)(sp - name) : 40, name);
            oc->fail_ms = soak_line_ms(l);
            return; /* an invariant outranks any expectation */
        }
        if (exp && !oc->sig[0]) {
            const char *p = exp + 14, *e = l + len, *c = memmem(p, (size_t)(e - p), ": ", 2);
            if (c) p = c + 2;
            const char *obs = memmem(p, (size_t)(e - p), " -- observed", 12);
            snprintf(oc->sig, sizeof oc->sig, "expect %.*s", (int)((obs ? obs : e) - p), p);
            oc->fail_ms = soak_line_ms(l);
        }
        l = nl ? nl + 1 : NULL;
    }
}

/* soak_run_script: run SC with SEED; *OC says whether and how it failed. TALLY, COV may be NULL.
 * crash_at: crash the manager at that effect of the run (0 = never), restarted 3 s later. */
static t0_status soak_run_script(const scn_script *sc, uint64_t seed, uint64_t crash_at, soak_fault_tally *tally,
                                 scn_coverage *cov, soak_outcome *oc, t0_err *err)
{
    memset(oc, 0, sizeof *oc);
    oc->fail_ms = -1;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out) return t0_fail(err, T0_ENOMEM, "soak: open_memstream failed");
    scn_run_opts ro = {.seed = seed, .quiet = true, .untraced = true, .out = out, .cov = cov, .log_level = T0_LOG_OFF,
                       .crash_at_effect = crash_at, .crash_restart_ms = 3000,
                       .on_faults = tally ? soak_on_faults : NULL, .on_faults_ud = tally};
    scn_result res;
    t0_status st = scn_run(sc, &ro, &res, err);
    fclose(out);
    if (st == T0_OK) {
        oc->violations = res.violations;
        oc->exp_failed = res.failed;
        oc->violated = res.violations > 0;
        oc->failed = res.violations || res.failed;
        oc->end_ms = res.end_ms;
        oc->effects = res.effects;
        if (oc->failed) soak_classify(buf, oc);
    }
    free(buf);
    return st;
}

static t0_status soak_run_text(const char *name, const char *text, uint64_t seed, soak_fault_tally *tally,
                               scn_coverage *cov, soak_outcome *oc, t0_err *err)
{
    scn_script *sc = NULL;
    t0_status st = scn_parse(name, text, &sc, err);
    if (st != T0_OK) return st;
    st = soak_run_script(sc, seed, 0, tally, cov, oc, err);
    scn_script_free(sc);
    return st;
}

static bool soak_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

/* ---- shrinking ------------------------------------------------------------------------------------ */
typedef struct soak_shrink {
    char **line;   /* the scenario's statement lines (comments and blank lines dropped); borrowed */
    size_t n;
    uint64_t seed;
    const char *sig;
    unsigned runs, max_runs;
    double deadline;
} soak_shrink;

static char *soak_join(char **line, const size_t *idx, size_t n)
{
    soak_buf b = {0};
    for (size_t i = 0; i < n; i++) soak_bprintf(&b, "%s\n", line[idx[i]]);
    if (!b.s) soak_bprintf(&b, "%s", "");
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* A fault statement of the generator (faults, outages, crashes, node loss, evictions, a second manager),
 * with or without its "at T" prefix. */
static bool soak_fault_line(const char *l)
{
    if (!strncmp(l, "at ", 3)) {
        const char *sp = strchr(l + 3, ' ');
        if (!sp) return false;
        l = sp + 1;
    }
    static const char *const heads[] = {"fault ", "outage ", "crash ", "kill ", "evict ", "start manager", "stop manager"};
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++)
        if (!strncmp(l, heads[i], strlen(heads[i]))) return true;
    return false;
}

/* Does the scenario made of these lines still fail the same way (same signature)? A failed expectation
 * counts only while the faults cause it: the same lines without their fault statements must pass, or
 * shrinking would end at an expectation left failing because the statements it needed were removed
 * (a bot never defined never runs). */
static bool soak_still_fails(soak_shrink *s, const size_t *idx, size_t n)
{
    if (s->runs >= s->max_runs || soak_now_s() > s->deadline) return false;
    s->runs++;
    char *text = soak_join(s->line, idx, n);
    if (!text) return false;
    soak_outcome oc;
    t0_err err = {0};
    bool same = soak_run_text("shrink", text, s->seed, NULL, NULL, &oc, &err) == T0_OK && oc.failed &&
                !strcmp(oc.sig, s->sig);
    free(text);
    if (!same || strncmp(s->sig, "expect ", 7) != 0) return same;
    size_t *calm = malloc((n + 1) * sizeof *calm), k = 0;
    if (!calm) return false;
    for (size_t i = 0; i < n; i++)
        if (!soak_fault_line(s->line[idx[i]])) calm[k++] = idx[i];
    s->runs++;
    text = soak_join(s->line, calm, k);
    free(calm);
    if (!text) return false;
    bool passes = soak_run_text("shrink", text, s->seed, NULL, NULL, &oc, &err) == T0_OK && !oc.failed;
    free(text);
    return passes;
}

/* soak_shrink_text: delta debugging (ddmin over lines) of TEXT, which fails with SIG under SEED. Returns
 * the smallest failing text found (malloc'd) within the budget; *RUNS gets the runs spent. */
static char *soak_shrink_text(const char *text, uint64_t seed, const char *sig, int64_t fail_ms, unsigned max_runs,
                              double secs, unsigned *runs)
{
    char *copy = strdup(text);
    size_t cap = 64, n = 0;
    char **line = malloc(cap * sizeof *line);
    size_t *idx = NULL, *cand = NULL;
    char *res = NULL;
    if (!copy || !line) goto out;
    for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        while (*l == ' ') l++;
        if (!*l || *l == '#') continue;
        if (n == cap) {
            char **nl = realloc(line, (cap *= 2) * sizeof *line);
            if (!nl) goto out;
            line = nl;
        }
        line[n++] = l;
    }
    idx = malloc((n + 1) * sizeof *idx);
    cand = malloc((n + 1) * sizeof *cand);
    if (!idx || !cand) goto out;
    soak_shrink S = {line, n, seed, sig, 0, max_runs, soak_now_s() + secs};
    size_t m = 0;
    for (size_t i = 0; i < n; i++) idx[m++] = i;
    /* first: everything timed after the failure, and the end line, goes */
    if (fail_ms >= 0) {
        size_t k = 0;
        for (size_t i = 0; i < m; i++) {
            const char *l = line[idx[i]];
            int64_t at = 0;
            char d[32];
            if (!strncmp(l, "end ", 4)) continue;
            if (!strncmp(l, "at ", 3) && sscanf(l + 3, "%31s", d) == 1 && scn_parse_duration(d, &at) && at > fail_ms) continue;
            cand[k++] = idx[i];
        }
        if (k < m && soak_still_fails(&S, cand, k)) {
            memcpy(idx, cand, k * sizeof *idx);
            m = k;
        }
    }
    /* ddmin: try removing each of `parts` chunks; on success keep the rest, else refine */
    size_t parts = 2;
    while (m >= 2) {
        size_t chunk = (m + parts - 1) / parts;
        bool removed = false;
        for (size_t start = 0; start < m; start += chunk) {
            size_t end = start + chunk < m ? start + chunk : m, k = 0;
            for (size_t i = 0; i < m; i++)
                if (i < start || i >= end) cand[k++] = idx[i];
            if (soak_still_fails(&S, cand, k)) {
                memcpy(idx, cand, k * sizeof *idx);
                m = k;
                parts = parts > 2 ? parts - 1 : 2;
                removed = true;
                break;
            }
        }
        if (S.runs >= S.max_runs || soak_now_s() > S.deadline) break;
        if (!removed) {
            if (parts >= m) break;
            parts = parts * 2 < m ? parts * 2 : m;
        }
    }
    *runs = S.runs;
    res = soak_join(line, idx, m);
out:
    free(idx);
    free(cand);
    free(line);
    free(copy);
    return res;
}

/* ---- workers ---------------------------------------------------------------------------------------- */
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

typedef struct soak_shared {
    atomic_uint_fast64_t next;    /* next item to take */
    atomic_uint_fast64_t shrinks; /* failing seeds shrunk so far */
} soak_shared;

static void soak_send(int fd, const soak_msg *m)
{
    const char *p = (const char *)m;
    size_t left = sizeof *m;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        p += w;
        left -= (size_t)w;
    }
}

static void soak_say(int fd, uint64_t item, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void soak_say(int fd, uint64_t item, const char *fmt, ...)
{
    soak_msg m = {.type = SOAK_MSG_TEXT, .item = item};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m.text, sizeof m.text, fmt, ap);
    va_end(ap);
    soak_send(fd, &m);
}

/* Read one whole message; false at EOF (every worker gone). */
static bool soak_recv(int fd, soak_msg *m)
{
    char *p = (char *)m;
    size_t got = 0;
    while (got < sizeof *m) {
        ssize_t r = read(fd, p + got, sizeof *m - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        got += (size_t)r;
    }
    return true;
}

typedef void (*soak_work_fn)(void *ctx, int fd, soak_shared *sh, int worker);

/* soak_spawn: fork JOBS workers running FN (each exits when done); returns the read end of their pipe,
 * -1 on failure. PIDS gets their ids. */
static int soak_spawn(int jobs, soak_work_fn fn, void *ctx, soak_shared *sh, pid_t *pids)
{
    int p[2];
    if (pipe(p)) return -1;
    fflush(stdout);
    fflush(stderr);
    for (int j = 0; j < jobs; j++) {
        pid_t pid = fork();
        if (pid < 0) {
            pids[j] = -1;
            continue;
        }
        if (pid == 0) {
            close(p[0]);
            fn(ctx, p[1], sh, j);
            close(p[1]);
            _exit(0);
        }
        pids[j] = pid;
    }
    close(p[1]);
    return p[0];
}

static int soak_reap(int jobs, const pid_t *pids)
{
    int bad = 0;
    for (int j = 0; j < jobs; j++) {
        int stv = 0;
        if (pids[j] > 0 && (waitpid(pids[j], &stv, 0) < 0 || !WIFEXITED(stv) || WEXITSTATUS(stv))) bad++;
    }
    return bad;
}

/* Progress on stderr: in place on a TTY (every 0.5 s), a line every 5 s otherwise. */
typedef struct soak_progress {
    const char *what;
    uint64_t total, done, bad;
    double t0, last;
    bool tty;
} soak_progress;

static void soak_progress_show(soak_progress *p, bool final)
{
    double now = soak_now_s(), el = now - p->t0;
    if (!final && now - p->last < (p->tty ? 0.5 : 5.0)) return;
    p->last = now;
    double rate = el > 0 ? p->done / el : 0, eta = rate > 0 ? (p->total - p->done) / rate : 0;
    fprintf(stderr, "%s%s %llu/%llu done, %.1f/s, %llu failing so far, ETA %.0fs%s", p->tty ? "\r" : "", p->what,
            (unsigned long long)p->done, (unsigned long long)p->total, rate, (unsigned long long)p->bad, eta,
            p->tty ? (final ? "\n" : "   ") : "\n");
    fflush(stderr);
}

/* ---- soak --------------------------------------------------------------------------------------- */
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
    bool ok = scn_parse_file(mpath, &sc, &err) == T0_OK && soak_run_script(sc, seed, 0, NULL, NULL, &v, &err) == T0_OK &&
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
    "docs/faults.md: API errors, 429, timeouts, watch drops/410/closes, stale lists, NATS drop/duplicate/\n"
    "reorder, MongoDB/MinIO/NATS outages, controller crashes (also between two effects), a second manager,\n"
    "node loss and evictions) and run it H simulated hours with every invariant checked after every step.\n"
    "--mode safety: faults throughout; a seed fails when an invariant breaks. --mode liveness: faults stop at\n"
    "60% of the run; then every enabled bot must have a Running pod and its controller state running, every\n"
    "disabled/deleted bot no pod, every enabled schedule a CronJob (and the others none) within 10 simulated\n"
    "minutes, and still 5 minutes later.";

static int soak_jobs_default(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int soak_main(int argc, char **argv)
{
    soak_cfg c = {.seeds = 100, .first = 1, .jobs = soak_jobs_default(), .g = {100, 1, false, false}, .out = "soak-out",
                  .shrink_max = 3, .shrink_runs = 400, .shrink_secs = 180};
    bool print = false;
    const char *mode = "safety";
    uint64_t shrink_secs = 180;
    const cli_opt opts[] = {
        {"seeds", 0, CLI_U64, &c.seeds, "seeds to run", .min = 1, .max = 1000000000},
        {"first-seed", 0, CLI_U64, &c.first, "the first seed", .min = 0, .max = UINT64_MAX - 1000000000},
        {"jobs", 'j', CLI_INT, &c.jobs, "worker processes (default: the number of CPUs); seeds come from a shared counter",
         .min = 1, .max = 256},
        {"bots", 0, CLI_UINT, &c.g.bots, "realtime bots per seed (schedules: a tenth)", .min = 1, .max = 1000000},
        {"hours", 0, CLI_UINT, &c.g.hours, "simulated hours per seed", .min = 1, .max = 1000},
        {"mode", 0, CLI_ENUM, &mode, "safety or liveness (above)", .choices = "safety|liveness"},
        {"healthy", 0, CLI_BOOL, &c.g.healthy, "no crash-looping or forever-failing-init programs"},
        {"out", 0, CLI_STR, &c.out, "where failing seeds go: DIR/seed-N.scn, shrunk DIR/seed-N.min.scn", .arg = "DIR"},
        {"json", 0, CLI_BOOL, &c.json, "end with the report as one JSON line (for ci/soak-collect.sh)"},
        {"print", 0, CLI_BOOL, &print, "print each seed's generated scenario (replayable with --seed) instead of running it"},
        {"shrink-max", 0, CLI_UINT, &c.shrink_max, "shrink at most N failing seeds", .min = 0, .max = 1000000},
        {"shrink-runs", 0, CLI_UINT, &c.shrink_runs, "runs the shrinking of one seed may use", .min = 1, .max = 1000000},
        {"shrink-secs", 0, CLI_U64, &shrink_secs, "wall-clock seconds the shrinking of one seed may use", .min = 1,
         .max = 86400},
    };
    const cli_cmd cmd = {"the0-sim soak", "[flags]", SOAK_ABOUT, opts, T0_ARRAY_LEN(opts), 0, 0,
                         "Every failing seed prints seed=N and the command that replays it.\n"
                         "exit codes: 0 no seed failed, 1 one did, 2 usage error", 2};
    int first, parsed = cli_parse(&cmd, argc, argv, &first);
    if (parsed != CLI_CONTINUE) return parsed;
    c.g.liveness = !strcmp(mode, "liveness");
    c.shrink_secs = (double)shrink_secs;
    if (print) { /* the scenarios the seeds run, for reading or `the0-sim replay --seed N FILE` */
        uint64_t fk[SOAK_FK_MAX] = {0};
        for (uint64_t s = c.first; s < c.first + c.seeds; s++) {
            char *text = soak_generate(s, &c.g, fk);
            if (!text) {
                fprintf(stderr, "the0-sim soak: out of memory\n");
                return 2;
            }
            printf("# seed %llu: the0-sim replay --seed %llu FILE\n%s", (unsigned long long)s, (unsigned long long)s, text);
            free(text);
        }
        return 0;
    }
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
    uint64_t fk[SOAK_FK_MAX] = {0}, fam[SOAK_FAM__COUNT] = {0}, *failed = calloc(c.seeds ? c.seeds : 1, sizeof *failed);
    uint64_t nfailed = 0, sim_ms = 0, totals = 0;
    unsigned char bot_rows[64] = {0}, sched_rows[64] = {0};
    soak_msg m;
    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int pr_rc = poll(&pfd, 1, 250);
        if (pr_rc > 0) {
            if (!soak_recv(fd, &m)) break;
            if (m.type == SOAK_MSG_DONE) {
                pr.done++;
                sim_ms += (uint64_t)m.sim_ms;
                if (m.failed) {
                    pr.bad++;
                    if (failed) failed[nfailed++] = m.item;
                }
            } else if (m.type == SOAK_MSG_TEXT) {
                if (pr.tty) fprintf(stderr, "\r\033[K");
                fputs(m.text, stdout);
                fflush(stdout);
            } else if (m.type == SOAK_MSG_TOTALS) {
                totals++;
                for (int k = 0; k < SOAK_FK_MAX; k++) fk[k] += m.fk[k];
                for (int k = 0; k < SOAK_FAM__COUNT; k++) fam[k] += m.fam[k];
                for (size_t k = 0; k < sizeof bot_rows; k++) bot_rows[k] |= m.bot_rows[k], sched_rows[k] |= m.sched_rows[k];
            }
        }
        soak_progress_show(&pr, false);
    }
    close(fd);
    int crashed = soak_reap(c.jobs, pids);
    soak_progress_show(&pr, true);
    double wall = soak_now_s() - pr.t0;
    /* the closing report */
    size_t bot_total = 0, sched_total = 0, bot_fired = 0, sched_fired = 0;
    for (size_t i = 0; i < fsm_bot_table.nrows; i++)
        if (fsm_bot_table.rows[i].kind == FSM_ROW_GO) bot_total++, bot_fired += (bot_rows[i / 8] >> (i % 8)) & 1;
    for (size_t i = 0; i < fsm_schedule_table.nrows; i++)
        if (fsm_schedule_table.rows[i].kind == FSM_ROW_GO) sched_total++, sched_fired += (sched_rows[i / 8] >> (i % 8)) & 1;
    printf("soak report: %llu seeds run (%llu..%llu, mode %s, %u bots, %u h), %llu failed%s\n", (unsigned long long)pr.done,
           (unsigned long long)c.first, (unsigned long long)(c.first + c.seeds - 1), c.g.liveness ? "liveness" : "safety",
           c.g.bots, c.g.hours, (unsigned long long)nfailed, crashed ? " -- A WORKER DIED" : "");
    if (nfailed && failed) {
        printf("  failing seeds:");
        for (uint64_t i = 0; i < nfailed && i < 50; i++) printf(" %llu", (unsigned long long)failed[i]);
        printf("%s\n", nfailed > 50 ? " ..." : "");
    }
    printf("  simulated hours: %.1f\n  fault statements by kind:", sim_ms / 3600000.0);
    for (int k = 0; soak_fault_kind_names[k]; k++) printf(" %s=%llu", soak_fault_kind_names[k], (unsigned long long)fk[k]);
    printf("\n  faults injected at fault points (registry counts):");
    for (int k = 0; k < SOAK_FAM__COUNT; k++) printf(" %s=%llu", soak_fam_names[k], (unsigned long long)fam[k]);
    printf("\n  table rows covered: bot %zu/%zu, schedule %zu/%zu\n", bot_fired, bot_total, sched_fired, sched_total);
    printf("  wall %.1f s, %.0f seeds/min with %d job%s\n", wall, wall > 0 ? pr.done * 60.0 / wall : 0.0, c.jobs,
           c.jobs > 1 ? "s" : "");
    if (c.json) {
        printf("{\"first_seed\":%llu,\"seeds\":%llu,\"mode\":\"%s\",\"bots\":%u,\"hours\":%u,\"failed\":%llu,\"failed_seeds\":[",
               (unsigned long long)c.first, (unsigned long long)pr.done, c.g.liveness ? "liveness" : "safety", c.g.bots,
               c.g.hours, (unsigned long long)nfailed);
        for (uint64_t i = 0; failed && i < nfailed; i++) printf("%s%llu", i ? "," : "", (unsigned long long)failed[i]);
        printf("],\"sim_hours\":%.3f,\"faults\":{", sim_ms / 3600000.0);
        for (int k = 0; soak_fault_kind_names[k]; k++)
            printf("%s\"%s\":%llu", k ? "," : "", soak_fault_kind_names[k], (unsigned long long)fk[k]);
        printf("},\"fault_hits\":{");
        for (int k = 0; k < SOAK_FAM__COUNT; k++) printf("%s\"%s\":%llu", k ? "," : "", soak_fam_names[k], (unsigned long long)fam[k]);
        printf("},\"bot_rows\":\"");
        for (size_t i = 0; i < fsm_bot_table.nrows; i++)
            putchar(fsm_bot_table.rows[i].kind != FSM_ROW_GO ? '-' : (bot_rows[i / 8] >> (i % 8)) & 1 ? '1' : '0');
        printf("\",\"schedule_rows\":\"");
        for (size_t i = 0; i < fsm_schedule_table.nrows; i++)
            putchar(fsm_schedule_table.rows[i].kind != FSM_ROW_GO ? '-' : (sched_rows[i / 8] >> (i % 8)) & 1 ? '1' : '0');
        printf("\",\"wall_s\":%.2f,\"jobs\":%d}\n", wall, c.jobs);
    }
    (void)totals;
    free(failed);
    free(pids);
    munmap(sh, sizeof *sh);
    return nfailed || crashed || pr.done < c.seeds ? 1 : 0;
}

/* ---- sweep ---------------------------------------------------------------------------------------- */
typedef struct sweep_item {
    unsigned file;
    int point;   /* -1: crash the manager before effect k; else: fail call k of that fault point */
    uint64_t k;
} sweep_item;

typedef struct sweep_file {
    const char *path;
    char *text;
    scn_script *sc;
    uint64_t effects;
    bool skipped;
    unsigned crash_runs, crash_bad, crash_degraded, fault_runs, fault_bad, fault_degraded;
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
            st = b.oom ? T0_ENOMEM : soak_run_text(f->path, b.s, 1, NULL, NULL, &oc, &err);
            free(b.s);
        }
        if (st != T0_OK) {
            m.failed = 1;
            soak_say(fd, i, "sweep: %s: %s: %s\n", f->path, what, err.msg);
        } else {
            m.failed = oc.violated ? 1 : oc.failed ? 2 : 0;
            if (oc.violated) soak_say(fd, i, "VIOLATION %s with `%s`: %s (at +%.3fs)\n", f->path, what, oc.sig, oc.fail_ms / 1000.0);
        }
        soak_send(fd, &m);
    }
}

int sweep_main(int argc, char **argv)
{
    uint64_t max_effects = 300, max_calls = 60;
    int jobs = soak_jobs_default();
    const cli_opt opts[] = {
        {"jobs", 'j', CLI_INT, &jobs, "worker processes (default: the number of CPUs)", .min = 1, .max = 256},
        {"max-effects", 0, CLI_U64, &max_effects, "skip files whose clean run has more effects", .min = 1, .max = 1000000},
        {"max-calls", 0, CLI_U64, &max_calls, "calls failed per fault point at most", .min = 1, .max = 1000000},
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
    int first, parsed = cli_parse(&cmd, argc, argv, &first);
    if (parsed != CLI_CONTINUE) return parsed;
    size_t nf = 0;
    sweep_file *files = calloc((size_t)argc, sizeof *files);
    if (!files) return 2;
    int rc = 0;
    for (int i = first; i < argc; i++) files[nf++].path = argv[i];
    size_t np;
    (void)sim_faults_points(&np);
    uint64_t *calls = calloc(np, sizeof *calls);
    sweep_item *items = NULL;
    uint64_t ni = 0, cap = 0;
    double t0 = soak_now_s();
    for (size_t fi = 0; fi < nf && calls; fi++) {
        sweep_file *f = &files[fi];
        t0_err err = {0};
        FILE *in = fopen(f->path, "r");
        soak_buf b = {0};
        char chunk[4096];
        size_t got;
        while (in && (got = fread(chunk, 1, sizeof chunk, in)) > 0) soak_bprintf(&b, "%.*s", (int)got, chunk);
        if (in) fclose(in);
        f->text = b.s;
        if (!in || b.oom || !b.s || scn_parse(f->path, f->text, &f->sc, &err) != T0_OK) {
            fprintf(stderr, "the0-sim sweep: %s\n", in ? err.msg : strerror(errno));
            rc = 2;
            f->skipped = true;
            continue;
        }
        soak_outcome oc;
        soak_fault_tally tally = {{0}, calls};
        memset(calls, 0, np * sizeof *calls);
        if (soak_run_script(f->sc, 1, 0, &tally, NULL, &oc, &err) != T0_OK) {
            fprintf(stderr, "the0-sim sweep: %s\n", err.msg);
            rc = 2;
            f->skipped = true;
            continue;
        }
        f->effects = oc.effects;
        if (oc.failed) printf("sweep: %s: the clean run already fails (%s); sweeping anyway\n", f->path, oc.sig);
        if (oc.effects > max_effects) {
            printf("sweep: %s: skipped (%llu effects > --max-effects %llu)\n", f->path, (unsigned long long)oc.effects,
                   (unsigned long long)max_effects);
            f->skipped = true;
            continue;
        }
        uint64_t need = oc.effects;
        for (size_t p = 0; p < np; p++) need += calls[p] < max_calls ? calls[p] : max_calls;
        if (ni + need > cap) {
            cap = (ni + need) * 2;
            sweep_item *x = realloc(items, cap * sizeof *items);
            if (!x) {
                rc = 2;
                break;
            }
            items = x;
        }
        for (uint64_t k = 1; k <= oc.effects; k++) items[ni++] = (sweep_item){(unsigned)fi, -1, k};
        for (size_t p = 0; p < np; p++)
            for (uint64_t k = 1; k <= calls[p] && k <= max_calls; k++) items[ni++] = (sweep_item){(unsigned)fi, (int)p, k};
    }
    free(calls);
    soak_shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t *pids = calloc((size_t)jobs, sizeof *pids);
    int fd = -1;
    if (sh != MAP_FAILED && pids && ni) {
        atomic_init(&sh->next, 0);
        atomic_init(&sh->shrinks, 0);
        if ((uint64_t)jobs > ni) jobs = (int)ni;
        sweep_ctx c = {files, items, ni};
        fd = soak_spawn(jobs, sweep_worker, &c, sh, pids);
    }
    soak_progress pr = {"sweep: runs", ni, 0, 0, soak_now_s(), 0, isatty(2)};
    soak_msg m;
    while (fd >= 0) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, 250) > 0) {
            if (!soak_recv(fd, &m)) break;
            if (m.type == SOAK_MSG_TEXT) {
                if (pr.tty) fprintf(stderr, "\r\033[K");
                fputs(m.text, stdout);
                fflush(stdout);
            } else if (m.type == SOAK_MSG_DONE && m.item < ni) {
                const sweep_item *it = &items[m.item];
                sweep_file *f = &files[it->file];
                pr.done++;
                pr.bad += m.failed == 1;
                if (it->point < 0) f->crash_runs++, f->crash_bad += m.failed == 1, f->crash_degraded += m.failed == 2;
                else f->fault_runs++, f->fault_bad += m.failed == 1, f->fault_degraded += m.failed == 2;
            }
        }
        soak_progress_show(&pr, false);
    }
    if (fd >= 0) {
        close(fd);
        if (soak_reap(jobs, pids)) rc = rc ? rc : 1;
        soak_progress_show(&pr, true);
    }
    printf("%-44s %8s %9s %9s %8s %9s %9s\n", "sweep: file (effects)", "crashes", "violated", "degraded", "faults",
           "violated", "degraded");
    for (size_t fi = 0; fi < nf; fi++) {
        sweep_file *f = &files[fi];
        char name[64];
        snprintf(name, sizeof name, "%s (%llu)", f->path, (unsigned long long)f->effects);
        if (f->skipped) printf("%-44s skipped\n", name);
        else printf("%-44s %8u %9u %9u %8u %9u %9u\n", name, f->crash_runs, f->crash_bad, f->crash_degraded, f->fault_runs,
                    f->fault_bad, f->fault_degraded);
        if (f->crash_bad || f->fault_bad) rc = rc ? rc : 1;
        scn_script_free(f->sc);
        free(f->text);
    }
    printf("sweep: %llu runs in %.1f s, %llu with an invariant violation\n", (unsigned long long)pr.done,
           soak_now_s() - t0, (unsigned long long)pr.bad);
    if (pr.done < ni) rc = rc ? rc : 1;
    free(items);
    free(pids);
    free(files);
    if (sh != MAP_FAILED) munmap(sh, sizeof *sh);
    return rc;
}
