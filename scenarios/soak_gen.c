/* soak_gen.c: the soak campaign's scenario generator (soak_generate): a seeded fleet, desired-state
 * changes and faults, and for liveness the convergence expectations (docs/soak.md). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenarios/soak_int.h"

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
/* soak_instant: a random whole second in [1 s, FAULT_STOP - 2 s] (ms), when changes and faults happen */
static int64_t soak_instant(uint64_t *st, int64_t fault_stop)
{
    return 1000 * (1 + (int64_t)soak_below(st, (unsigned)(fault_stop / 1000 - 2)));
}

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
    "watch-latency", "list-timeout", "nats-drop", "nats-duplicate", "nats-reorder", "outage-mongo", "outage-s3",
    "outage-nats", "mongo-error", "controller-crash", "controller-crash-at-effect", "second-manager", "node-kill",
    "pod-evict",
    /* what the intent oracle watches (gen_intent_fault) */
    "mongo-write-error", "mongo-write-applied", "restart-empty-read", "foreign-pod", "foreign-cronjob",
    "finalizer-hold", "poison-message", "bad-cron-update", "partition",
    /* the pod side (gen_pod_fault) */
    "s3-error", "kubelet-fault", "podfs-fault",
    /* the re-list in pages (soak_generate) */
    "list-page-expired", "list-page-error",
    /* the pod side's restarts and lost answers (soak_generate) */
    "container-oom", "s3-put-applied", "clock-skew",
    /* a day's log larger than a sidecar may hold in memory (soak_generate) */
    "big-day-log", NULL};
enum {
    FK_KUBE_ERR, FK_429, FK_TIMEOUT, FK_TIMEOUT_APPLIED, FK_WDROP, FK_WGONE, FK_WCLOSE, FK_WLAT, FK_LIST_TIMEOUT, FK_NDROP,
    FK_NDUP, FK_NREORDER, FK_OUT_MONGO, FK_OUT_S3, FK_OUT_NATS, FK_MONGO_ERR, FK_CRASH, FK_CRASH_EFFECT, FK_M2,
    FK_NODE, FK_EVICT,
    FK_MONGO_WRITE, FK_MONGO_APPLIED, FK_EMPTY_READ, FK_FOREIGN_POD, FK_FOREIGN_CJ, FK_FINALIZER, FK_POISON, FK_BAD_CRON,
    FK_PARTITION,
    FK_S3, FK_KUBELET, FK_PODFS,
    FK_PAGE_GONE, FK_PAGE_ERR, FK_OOM, FK_S3_APPLIED, FK_CLOCK, FK_BIG_LOG, FK__COUNT
};
_Static_assert((int)FK__COUNT <= SOAK_FK_MAX, "soak fault kinds");

static const char *const soak_runtimes[] = {"python3.11", "nodejs20", "rust-stable", "dotnet8", "gcc13", "scala3"};
static const char *const soak_crons[] = {"*/5 * * * *", "*/10 * * * *", "*/15 * * * *", "0 * * * *", "*/2 * * * *",
                                         "*/20 * * * *"};

typedef struct soak_obj {
    bool present, enabled, healthy;
    bool logs; /* its program logs (gen_fleet) */
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

/* What the fault generator keeps across faults: windows of outages and node loss, the second manager. */
typedef struct soak_fault_state {
    int64_t limit;           /* faults end before this */
    unsigned nodes, nbots;
    const soak_obj *bots;
    int64_t outage_until[3]; /* mongo, s3, nats */
    int64_t *node_until;     /* [nodes] */
    bool m2;                 /* the second manager runs */
    uint64_t *counts;        /* fault statements by kind */
    unsigned nscheds;
    const soak_obj *scheds;
    int64_t restore_until, ext_until, partition_until; /* windows of gen_intent_fault */
} soak_fault_state;

/* Faults of the pod side (PICK 0..2): the object store the sidecars and init containers use (transient:
 * 500/503/timeouts, never a false 404), the kubelet's pulls and container starts, and the containers'
 * filesystems (EIO, a short write, a volume that fills up for good; reads and renames failing). */
static void gen_pod_fault(soak_gen *g, int64_t t, unsigned pick, uint64_t *counts)
{
    uint64_t *r = &g->rng;
    switch (pick) {
    case 0: {
        static const char *const ops[] = {"get", "put", "head", "ensure_bucket"};
        unsigned k = soak_below(r, 3);
        if (k == 0) soak_add(g, t, "fault s3/%s error=%d count=%u", ops[soak_below(r, 4)], soak_chance(r, 50) ? 500 : 503,
                             1 + soak_below(r, 5));
        else if (k == 1) soak_add(g, t, "fault s3/%s timeout count=%u", ops[soak_below(r, 4)], 1 + soak_below(r, 3));
        else soak_add(g, t, "fault s3/* error=503 p=0.3 count=%u", 5 + soak_below(r, 20));
        counts[FK_S3]++;
        break;
    }
    case 1:
        soak_add(g, t, "fault kubelet/%s error count=%u", soak_chance(r, 50) ? "pull" : "start", 1 + soak_below(r, 3));
        counts[FK_KUBELET]++;
        break;
    default: {
        unsigned k = soak_below(r, 10);
        if (k < 3) soak_add(g, t, "fault podfs/write error count=%u", 1 + soak_below(r, 3));
        else if (k < 6) soak_add(g, t, "fault podfs/write short count=1");
        else if (k < 7) soak_add(g, t, "fault podfs/write enospc count=1");
        else if (k < 9) soak_add(g, t, "fault podfs/read error count=%u", 1 + soak_below(r, 3));
        else soak_add(g, t, "fault podfs/rename error count=1");
        counts[FK_PODFS]++;
        break;
    }
    }
}

/* Faults at the fakes' fault points (PICK 0..13). */
static void gen_point_fault(soak_gen *g, int64_t t, unsigned pick, uint64_t *counts)
{
    static const char *const kinds[] = {"pod", "cronjob"};
    static const char *const verbs[] = {"create", "get", "list", "update", "delete"};
    /* what a real API server answers there for an object that exists (sim/faults.c lists them): server
     * errors everywhere, a quota refusal (403) on create, a conflicting writer (409) on update */
    static const int codes[][4] = {{500, 503, 504, 403}, {500, 503, 504, 500}, {500, 503, 504, 503},
                                   {500, 503, 504, 409}, {500, 503, 504, 504}};
    uint64_t *r = &g->rng;
    switch (pick) {
    case 0: case 1: case 2: {
        unsigned v = soak_below(r, 5);
        soak_add(g, t, "fault kube/%s/%s error=%d count=%u", kinds[soak_below(r, 2)], verbs[v], codes[v][soak_below(r, 4)],
                 1 + soak_below(r, 5));
        counts[FK_KUBE_ERR]++;
        break;
    }
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
        /* not `stale`: our lists carry no resourceVersion, which a real server answers from etcd */
        soak_add(g, t, "fault kube/%s/list timeout count=%u", kinds[soak_below(r, 2)], 1 + soak_below(r, 3));
        counts[FK_LIST_TIMEOUT]++;
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
    }
}

/* Outages, crashes, the second manager, node loss and evictions (PICK 14..20) in a window of WIN ms. */
static void gen_world_fault(soak_gen *g, int64_t t, unsigned pick, int64_t win, soak_fault_state *f)
{
    uint64_t *r = &g->rng;
    uint64_t *counts = f->counts;
    switch (pick) {
    case 14: {
        unsigned which = soak_below(r, 3);
        static const char *const sys[] = {"mongo", "s3", "nats"};
        if (f->outage_until[which] > t) break;
        /* MinIO outages stay under a minute and at least SOAK_S3_UP_MS apart: a pod deleted while the object
         * store is down for (nearly) its whole grace period (90 s) loses its unshipped bytes with its emptyDir,
         * whatever the sidecar does (docs/soak.md shows such a run); two one-minute outages one second apart
         * are such a time too (the final sync's retries, seconds apart, miss the second: seed 105013) */
        if (which == 1 && t < f->outage_until[1] + SOAK_S3_UP_MS) break;
        if (which == 1 && win > SOAK_S3_OUTAGE_MS) win = SOAK_S3_OUTAGE_MS;
        soak_add(g, t, "outage %s on", sys[which]);
        soak_add(g, t + win, "outage %s off", sys[which]);
        f->outage_until[which] = t + win;
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
        if (f->m2) {
            if (soak_chance(r, 50)) soak_add(g, t, "stop manager m2");
            else soak_add(g, t, "crash controller m2 restart-after=%us", 1 + soak_below(r, 20));
            f->m2 = false;
        } else {
            soak_add(g, t, "start manager m2");
            f->m2 = true;
        }
        counts[FK_M2]++;
        break;
    case 19: {
        if (f->nodes < 2) break;
        unsigned k = soak_below(r, f->nodes);
        unsigned down = 0;
        for (unsigned i = 0; i < f->nodes; i++) down += f->node_until[i] > t;
        if (f->node_until[k] > t || down + 1 >= f->nodes) break;
        soak_add(g, t, "kill node node-%u", k + 1);
        soak_add(g, t + win, "revive node node-%u", k + 1);
        f->node_until[k] = t + win;
        counts[FK_NODE]++;
        break;
    }
    default: {
        unsigned i = soak_below(r, f->nbots);
        if (!f->bots[i].present || !f->bots[i].enabled) break;
        soak_add(g, t, "evict pod bot-b%u", i);
        counts[FK_EVICT]++;
        break;
    }
    }
}

/* A foreign object's labels: another installation's (its own managed-by value), some other app's, or one
 * that claims our managed-by value with an empty id (which the controller must ignore, as the reference).
 * Not our bot-id with a value: the simulated kubelet counts a pod's containers, logs and state for the bot
 * its bot-id label names, so another's pod labelled b7 would be counted as b7's (name_conflict.scn has one) */
static const char *foreign_labels(uint64_t *r, char c, unsigned id, char *buf, size_t cap)
{
    switch (soak_below(r, 3)) {
    case 0:
        snprintf(buf, cap, "{\"the0.dev/managed-by\":\"the0-%s-controller-staging\",\"app\":\"%c%u\"}",
                 c == 'b' ? "bot" : "schedule", c, id);
        break;
    case 1: snprintf(buf, cap, "{\"app\":\"other-%u\",\"team\":\"t%u\"}", id, soak_below(r, 9)); break;
    default:
        snprintf(buf, cap, "{\"the0.dev/managed-by\":\"the0-%s-controller\",\"the0.dev/%s-id\":\"\"}",
                 c == 'b' ? "bot" : "schedule", c == 'b' ? "bot" : "schedule");
    }
    return buf;
}

/* What the intent oracle watches (PICK 0..8) in a window of WIN ms: MongoDB writes that fail (redelivered
 * on the intake's backoff: per-message reordering) or time out after they were applied, a restarted
 * controller whose first reads come back empty (a restore), objects someone else made with our objects'
 * names, finalizers holding our pods, poison messages and bad cron updates the intake must reject (no
 * intent), and a partition between one manager and the API server. Every window ends before F->limit. */
static void gen_intent_fault(soak_gen *g, int64_t t, unsigned pick, int64_t win, soak_fault_state *f)
{
    uint64_t *r = &g->rng;
    uint64_t *counts = f->counts;
    char lb[200];
    switch (pick) {
    case 0: {
        static const char *const how[] = {"error=500", "error=503", "error=504", "timeout"};
        soak_add(g, t, "fault mongo/%s %s count=%u", soak_chance(r, 60) ? "upsert" : "remove", how[soak_below(r, 4)],
                 1 + soak_below(r, 4));
        counts[FK_MONGO_WRITE]++;
        break;
    }
    case 1:
        soak_add(g, t, "fault mongo/%s timeout-applied count=%u", soak_chance(r, 60) ? "upsert" : "remove", 1 + soak_below(r, 3));
        counts[FK_MONGO_APPLIED]++;
        break;
    case 2: {
        /* the new incarnation leads once the old lease expires (15 s): its first reads, and those of m2 if it
         * takes over or leads, find the collections empty; the restore ends within one resync period (30 s),
         * before a second read could confirm the collapse (two empty reads in a row are believed: a restore
         * longer than that deletes the fleet; docs/soak.md) */
        /* restores at least SOAK_RESTORE_GAP_MS apart: two empty reads one or two resync periods apart are
         * believed, whatever failed between them (a suspicion older than two periods confirms nothing) */
        if ((f->restore_until && f->restore_until + SOAK_RESTORE_GAP_MS > t) || win < 17000) break;
        int64_t w = 17000 + (int64_t)soak_below(r, 11) * 1000;
        if (w > win) w = win;
        /* or, with a second manager, a rolling restart: m1 hands the lease over, m2's first read finds nothing,
         * and m2 is cut off from the API server before its next read: it stops leading with that read in
         * memory. 2-10 minutes later (when the hour allows) a second rolling restart during a restore hands the
         * lease back to it: whatever a manager remembers from an earlier term meets a new term's first read
         * (soak seed 300027: a guard that remembered the old term's empty read took the new one for its
         * confirmation and deleted the fleet) */
        int64_t pw = 12000 + (int64_t)soak_below(r, 9) * 1000;
        bool handover = f->m2 && f->partition_until <= t && win >= SOAK_RESTORE_CUT_AT_MS + pw && soak_chance(r, 50);
        soak_add(g, t, "mongo-restore on");
        if (handover) {
            soak_add(g, t, "stop manager m1");
            soak_add(g, t + 1000, "start manager m1");
            soak_add(g, t + SOAK_RESTORE_CUT_AT_MS, "fault kube/* timeout manager=m2");
            soak_add(g, t + SOAK_RESTORE_CUT_AT_MS + pw, "clear fault kube/* manager=m2");
            f->partition_until = t + SOAK_RESTORE_CUT_AT_MS + pw;
            counts[FK_PARTITION]++;
        } else {
            soak_add(g, t, "restart controller");
        }
        soak_add(g, t + w, "mongo-restore off");
        f->restore_until = t + w;
        counts[FK_EMPTY_READ]++;
        /* or the restore ends into a MongoDB outage of 2-3 minutes (every read fails) that ends into a second
         * restore: the leader's next good read is empty again, long after the suspicion of the first one */
        bool bridged = !handover && f->outage_until[0] <= t && soak_chance(r, 30);
        int64_t t2 = t + w + SOAK_RESTORE_GAP_MS + (int64_t)(bridged ? soak_below(r, 61) * 1000 : soak_below(r, 9) * 60000),
                w2 = 17000 + (int64_t)soak_below(r, 11) * 1000;
        if ((handover || bridged) && t2 + w2 < f->limit) {
            soak_add(g, t2, "mongo-restore on");
            if (handover) {
                soak_add(g, t2, "stop manager m1");
                soak_add(g, t2 + 1000, "start manager m1");
            } else {
                soak_add(g, t + w, "outage mongo on");
                soak_add(g, t2, "outage mongo off");
                f->outage_until[0] = t2;
                counts[FK_OUT_MONGO]++;
            }
            soak_add(g, t2 + w2, "mongo-restore off");
            f->restore_until = t2 + w2;
            counts[FK_EMPTY_READ]++;
        }
        break;
    }
    case 3: case 4: {
        bool sch = pick == 4;
        unsigned n = sch ? f->nscheds : f->nbots, id = soak_below(r, n);
        const soak_obj *x = sch ? &f->scheds[id] : &f->bots[id];
        const char *l = foreign_labels(r, sch ? 's' : 'b', id, lb, sizeof lb);
        bool ours_empty = strstr(l, "\"\"") != NULL;
        if (x->present || (ours_empty && f->ext_until > t)) break; /* its name is likely free; one empty id at a time */
        if (ours_empty) f->ext_until = t + win;
        if (sch) soak_add(g, t, "create cronjob schedule-s%u labels=%s schedule=\"%u * * * *\"", id, l, soak_below(r, 60));
        else soak_add(g, t, "create pod bot-b%u labels=%s annotations={\"owner\":\"team-%u\"}%s", id, l, soak_below(r, 9),
                      soak_chance(r, 20) ? " owner=ReplicaSet/gone-1" : "");
        soak_add(g, t + win, "delete %s %s-%c%u", sch ? "cronjob" : "pod", sch ? "schedule" : "bot", sch ? 's' : 'b', id);
        counts[sch ? FK_FOREIGN_CJ : FK_FOREIGN_POD]++;
        /* In half of them the watch is slow around the hand-over of the name, so that the other's late events
         * can come after our object exists (late_foreign_deleted.scn). From a stream of its own (T and ID): the
         * rest of the scenario is what the seed gave before. */
        uint64_t rl = (uint64_t)t * 0x9e3779b97f4a7c15ull + id * 2 + sch + 1;
        if (win > 3000 && soak_below(&rl, 2)) {
            soak_add(g, t + win - 2000, "fault kube/watch latency ms=%us count=%u", 5 + soak_below(&rl, 11),
                     3 + soak_below(&rl, 6));
            counts[FK_WLAT]++;
        }
        break;
    }
    case 5: {
        unsigned id = soak_below(r, f->nbots);
        if (!f->bots[id].present || !f->bots[id].enabled) break;
        int64_t w = 5000 + (int64_t)soak_below(r, 36) * 1000; /* held at most 40 s: within no-orphans' allowance */
        if (w > win) w = win;
        soak_add(g, t, "add finalizer pod bot-b%u example.com/hold-%u", id, soak_below(r, 3));
        soak_add(g, t + w, "remove finalizers pod bot-b%u", id);
        counts[FK_FINALIZER]++;
        break;
    }
    case 6: {
        unsigned id = soak_below(r, f->nbots), k = soak_below(r, 3);
        if (k == 0) /* invalid UTF-8 in a string */
            soak_add(g, t, "publish raw the0.bot.updated '{\"id\":\"b%u\",\"config\":{\"symbol\":\"\xff\xfe%u\",\"enabled\":false}}'", id, id);
        else if (k == 1) /* an id no pod name can carry */
            soak_add(g, t, "publish bot.created b%u-%s config.enabled=true", id,
                     "abcdefghij-abcdefghij-abcdefghij-abcdefghij-abcdefghij-abcdefghij");
        else /* a NUL escape: cJSON would cut the id to b<id> */
            soak_add(g, t, "publish raw the0.bot.deleted '{\"id\":\"b%u\\u0000x\",\"config\":{}}'", id);
        counts[FK_POISON]++;
        break;
    }
    case 7: {
        unsigned id = soak_below(r, f->nscheds);
        static const char *const bad[] = {"61 * * * *", "* * *", "*/0 * * * *", "every minute"};
        soak_add(g, t, "publish schedule.updated s%u cron=\"%s\" config.enabled=false", id, bad[soak_below(r, 4)]);
        counts[FK_BAD_CRON]++;
        break;
    }
    default: {
        /* 10-25 s: long enough for a partitioned leader to stop at its renew deadline and a standby to take
         * over; short enough that, with no standby, the deletions it delays stay within no-orphans' allowance
         * (a longer one is an API outage for the controller) */
        if (f->partition_until > t) break;
        int64_t w = 10000 + (int64_t)soak_below(r, 16) * 1000;
        if (w > win) w = win;
        const char *m = f->m2 && soak_chance(r, 50) ? "m2" : "m1";
        soak_add(g, t, "fault kube/* %s manager=%s", soak_chance(r, 70) ? "timeout" : "error=503", m);
        soak_add(g, t + w, "clear fault kube/* manager=%s", m);
        f->partition_until = t + w;
        counts[FK_PARTITION]++;
        break;
    }
    }
}

/* One fault (or fault window) starting at T, ending before F->limit. */
static void soak_gen_fault(soak_gen *g, int64_t t, soak_fault_state *f)
{
    uint64_t *r = &g->rng;
    unsigned pick = soak_below(r, 33);
    int64_t win = 10000 + (int64_t)soak_below(r, 170) * 1000; /* 10 s .. 3 min */
    if (t + win >= f->limit) win = f->limit - t - 1;
    if (win < 1000) pick = 0;
    if (pick <= 13) gen_point_fault(g, t, pick, f->counts);
    else if (pick <= 20) gen_world_fault(g, t, pick, win, f);
    else if (pick <= 29) gen_intent_fault(g, t, pick - 21, win, f);
    else gen_pod_fault(g, t, pick - 30, f->counts);
}

/* The fleet: every bot's and schedule's definition and program. */
static void gen_fleet(uint64_t *r, soak_buf *b, const soak_gen_opts *o, unsigned nb, unsigned ns, soak_obj *bots)
{
    for (unsigned i = 0; i < nb; i++) {
        soak_bprintf(b, "bot b%u runtime=%s config={\"symbol\":\"S%u\",\"threshold\":%u}\n", i,
                     soak_runtimes[soak_below(r, 6)], i, soak_below(r, 10));
        unsigned p = soak_below(r, 100);
        bots[i].healthy = true;
        bots[i].logs = p < 65;
        if (p < 45) soak_bprintf(b, "model b%u bot log-every=%us write-state pos=%u at=%us\n", i, 5 + soak_below(r, 60), p, 1 + soak_below(r, 60));
        else if (p < 65) soak_bprintf(b, "model b%u bot log-every=%us term=%us\n", i, 5 + soak_below(r, 60), 1 + soak_below(r, 20));
        else if (p < 75) soak_bprintf(b, "model b%u init fail=1\n", i);
        else if (p < 80) soak_bprintf(b, "model b%u pull ms=%us\n", i, 1 + soak_below(r, 20));
        else if (!o->liveness && !o->healthy && p < 90) {
            soak_bprintf(b, "model b%u bot crash-every=%us\n", i, 5 + soak_below(r, 120));
            bots[i].healthy = false;
        } else if (!o->liveness && !o->healthy && p < 93) {
            soak_bprintf(b, "model b%u init fail=forever\n", i);
            bots[i].healthy = false;
        } else if (!o->liveness && p < 95) {
            soak_bprintf(b, "model b%u bot ignore-sigterm write-state pos=1 at=2s\n", i);
        }
    }
    for (unsigned i = 0; i < ns; i++) {
        soak_bprintf(b, "schedule s%u cron=\"%s\" runtime=%s\n", i, soak_crons[soak_below(r, 6)], soak_runtimes[soak_below(r, 6)]);
        soak_bprintf(b, "model s%u bot exit=%u after=%us\n", i, soak_chance(r, 85) ? 0 : 1, 1 + soak_below(r, 40));
    }
}

/* The start: most documents stored (some disabled), the rest created later. */
static void gen_start(soak_gen *g, unsigned nb, unsigned ns, soak_obj *bots, soak_obj *scheds)
{
    uint64_t *r = &g->rng;
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
}

/* One desired-state change at T of a bot (a schedule when SCH) X: create, delete, enable/disable or an
 * update, through a publish or straight into MongoDB. */
static void gen_change(soak_gen *g, int64_t t, bool sch, unsigned id, soak_obj *x)
{
    uint64_t *r = &g->rng;
    char c = sch ? 's' : 'b';
    const char *subj = sch ? "schedule" : "bot";
    bool pub = soak_chance(r, 60);
    if (!x->present) { /* create */
        x->present = x->enabled = true;
        if (pub) soak_add(g, t, "publish %s.created %c%u config.enabled=true", subj, c, id);
        else soak_add(g, t, "store put %c%u config.enabled=true", c, id);
        return;
    }
    unsigned op = soak_below(r, 100);
    if (op < 10) { /* delete */
        x->present = x->enabled = false;
        if (pub) soak_add(g, t, "publish %s.deleted %c%u", subj, c, id);
        else soak_add(g, t, "store del %c%u", c, id);
        return;
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

/* Desired-state changes and faults at random instants before FAULT_STOP. false when out of memory. */
static bool gen_changes(soak_gen *g, const soak_gen_opts *o, int64_t fault_stop, unsigned nb, unsigned ns,
                        unsigned nodes, soak_obj *bots, soak_obj *scheds, uint64_t *counts)
{
    uint64_t *r = &g->rng;
    size_t nev = (size_t)nb * (size_t)(o->hours ? o->hours : 1) * 3 / 2 + 10;
    int64_t *times = malloc(nev * sizeof *times);
    if (!times) return false;
    for (size_t k = 0; k < nev; k++) times[k] = soak_instant(r, fault_stop);
    qsort(times, nev, sizeof *times, soak_i64_cmp);
    soak_fault_state f = {.limit = fault_stop, .nodes = nodes, .nbots = nb, .bots = bots, .counts = counts,
                          .node_until = calloc(nodes, sizeof *f.node_until), .nscheds = ns, .scheds = scheds};
    if (!f.node_until) {
        free(times);
        return false;
    }
    for (size_t k = 0; k < nev; k++) {
        int64_t t = times[k];
        unsigned what = soak_below(r, 100);
        if (what < 22) {
            soak_gen_fault(g, t, &f);
            continue;
        }
        bool sch = what >= 88;
        unsigned id = sch ? soak_below(r, ns) : soak_below(r, nb);
        gen_change(g, t, sch, id, sch ? &scheds[id] : &bots[id]);
    }
    free(times);
    free(f.node_until);
    return true;
}

/* Liveness: the faults stop; the desired state is stated once more straight in MongoDB (a publish lost in
 * a NATS outage must not make the expectations below wrong); then convergence within the bound, and
 * stability. */
static void gen_liveness(soak_gen *g, int64_t fault_stop, unsigned nb, unsigned ns, unsigned nodes, const soak_obj *bots,
                         const soak_obj *scheds)
{
    char d1[32], d2[32];
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
        const soak_obj *x = sch ? &scheds[i - nb] : &bots[i];
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
        soak_add(g, t, "%s%s%sexpect pods-match-intent", w, wb, sp); /* the intent oracle's view (docs/scenarios.md) */
    }
    /* the sidecars keep up: no line of a running pod waits longer than the log pacing's minute (and a backoff) */
    soak_add(g, t2, "expect logs-shipped-within 65s");
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
    if (!bots || !scheds) {
        g->oom = true;
        goto out;
    }
    soak_bprintf(&b, "# soak seed=%llu mode=%s bots=%u schedules=%u hours=%u: generated by `the0-sim soak` (docs/soak.md)\n",
                 (unsigned long long)seed, o->liveness ? "liveness" : "safety", nb, ns, o->hours ? o->hours : 1);
    soak_bprintf(&b, "option nodes=%u crashloop-escalate=%u\n", nodes, 3 + soak_below(r, 4));
    /* The API server's bookmarks (the world's default: one a minute, as a real one sends) and history: in half
     * the seeds another interval and a shorter history, so watches resume from bookmarks and also outlive
     * the history (410, re-list); in a quarter none (a server that sends none: the port's contract allows it).
     * Drawn from a stream of its own: the rest of the scenario is what the seed gave before. */
    uint64_t r2 = seed * 0x9e3779b97f4a7c15ull + 7;
    if (soak_below(&r2, 2))
        soak_bprintf(&b, "option bookmarks=%us watch-history=%u\n", 30 + soak_below(&r2, 61), 20 + soak_below(&r2, 81));
    else if (soak_below(&r2, 2))
        soak_bprintf(&b, "option bookmarks=0s\n");
    /* Re-lists in pages: the controller's default page (500) is more than most fleets here, so in a third of
     * the seeds pages of 1 to 50 objects, and now and then a later page that fails or whose continue token has
     * expired (410: etcd compacted the list's revision between two pages). From the same stream of its own. */
    if (soak_below(&r2, 3) == 0) {
        soak_bprintf(&b, "option list-page=%u\n", 1 + soak_below(&r2, 50));
        static const char *const kinds[] = {"pod", "cronjob"};
        for (unsigned k = 0, n = soak_below(&r2, 4); k < n && fault_stop > 3000; k++) {
            int64_t t = soak_instant(&r2, fault_stop);
            if (soak_below(&r2, 2)) {
                soak_add(g, t, "fault kube/%s/continue gone count=%u", kinds[soak_below(&r2, 2)], 1 + soak_below(&r2, 2));
                counts[FK_PAGE_GONE]++;
            } else {
                soak_add(g, t, "fault kube/%s/continue error=%d count=%u", kinds[soak_below(&r2, 2)],
                         (const int[]){500, 503, 504}[soak_below(&r2, 3)], 1 + soak_below(&r2, 3));
                counts[FK_PAGE_ERR]++;
            }
        }
    }
    /* The pod side's own restarts and lost answers: in a third of the seeds the kernel OOM-kills a sync (or bot)
     * container now and then, which the kubelet restarts in the same pod (the sidecar resumes from its offset
     * record and the day object's metadata), and MinIO stores an upload whose answer is lost (timeout-applied).
     * From a stream of its own, as above. */
    uint64_t r3 = seed * 0xd1342543de82ef95ull + 11;
    if (soak_below(&r3, 3) == 0 && fault_stop > 3000) {
        for (unsigned k = 0, n = 1 + soak_below(&r3, 6); k < n; k++) {
            int64_t t = soak_instant(&r3, fault_stop);
            soak_add(g, t, "oom-kill pod bot-b%u container=%s", soak_below(&r3, nb), soak_below(&r3, 4) ? "sync" : "bot");
            counts[FK_OOM]++;
        }
        for (unsigned k = 0, n = soak_below(&r3, 4); k < n; k++) {
            int64_t t = soak_instant(&r3, fault_stop);
            soak_add(g, t, "fault s3/put timeout-applied count=%u", 1 + soak_below(&r3, 3));
            counts[FK_S3_APPLIED]++;
        }
    }
    /* Nodes whose clocks disagree: in a third of the seeds the second manager's node runs up to a minute off
     * (from the start), and 0-2 times a manager's wall clock is stepped (NTP, an operator). Leader election and
     * every deadline must not care (one-acting-leader; clock_skew.scn). From a stream of its own, as above. */
    uint64_t r4 = seed * 0x2545f4914f6cdd1dull + 13;
    if (soak_below(&r4, 3) == 0 && fault_stop > 3000) {
        soak_add(g, 0, "clock m2 %c%us", soak_below(&r4, 2) ? '+' : '-', 1 + soak_below(&r4, 60));
        counts[FK_CLOCK]++;
        for (unsigned k = 0, n = soak_below(&r4, 3); k < n; k++) {
            int64_t t = soak_instant(&r4, fault_stop);
            soak_add(g, t, "clock m%u %c%us", 1 + soak_below(&r4, 2), soak_below(&r4, 2) ? '+' : '-', soak_below(&r4, 90));
            counts[FK_CLOCK]++;
        }
    }
    int64_t last = end;
    if (o->liveness && fault_stop + 1000 + SOAK_BOUND_MS + SOAK_STABLE_MS > last)
        last = fault_stop + 1000 + SOAK_BOUND_MS + SOAK_STABLE_MS;
    char d1[32];
    soak_bprintf(&b, "end %s\n", soak_fmt_dur(last, d1, sizeof d1));
    gen_fleet(r, &b, o, nb, ns, bots);
    gen_start(g, nb, ns, bots, scheds);
    /* A chatty bot's day log: in one seed in twenty, the first day's object of a bot whose program logs is already
     * over the 4 MiB a sidecar may hold in memory (sidecar-memory-bounded; large_day_log.scn), as an earlier pod
     * of a chatty bot leaves it. Its appends then go through the spool file on the pod's logs volume. Rare: each
     * append copies the object a few times. The key's date is the simulator's epoch (SIM_EPOCH_DEFAULT_MS, UTC).
     * From a stream of its own, as above. */
    uint64_t r5 = seed * 0x9fb21c651e98df25ull + 17;
    if (soak_below(&r5, 20) == 0) {
        unsigned k = soak_below(&r5, nb), lines = 94000 + soak_below(&r5, 30000);
        for (unsigned i = 0; i < nb && !bots[k].logs; i++) k = (k + 1) % nb; /* the next bot whose program logs */
        if (bots[k].logs) {
            soak_add(g, 0, "object put bot-logs/logs/b%u/20260105.log lines=%u", k, lines);
            counts[FK_BIG_LOG]++;
        }
    }
    if (!gen_changes(g, o, fault_stop, nb, ns, nodes, bots, scheds, counts)) {
        g->oom = true;
        goto out;
    }
    if (o->liveness) gen_liveness(g, fault_stop, nb, ns, nodes, bots, scheds);
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
