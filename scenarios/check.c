/* check.c: the incremental invariant checker of DESIGN §5. It keeps per-bot facts updated from the
 * fakes' change observers and the managers' store reads, so each simulated step costs O(1) and each
 * change O(that change); nothing scans all objects per step. Violations go to the sink (check.h).
 * Definitions: docs/scenarios.md. */
#include "scenarios/check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hmap.h"
#include "core/json.h"
#include "core/str.h"
#include "daemon/daemon.h"
#include "fakes/botprog.h"
#include "fakes/objstore_fake.h"
#include "scenarios/scn.h"

#define LBL_BOT "the0.dev/bot-id"
#define LBL_SCHED "the0.dev/schedule-id"

const char *const scn_invariant_names[] = {"at-most-one-bot-container", "no-orphans", "no-delete-after-failed-read",
                                           "no-state-loss", "no-log-loss", "bad-doc-isolation", "no-partial-state",
                                           "no-resurrection", "informer-coherent", "log-traffic-linear", "one-acting-leader",
                                           "sidecar-memory-bounded", NULL};

/* Per bot/schedule facts (key "b:<id>" / "s:<id>"). */
typedef struct scn_idinfo {
    scn_checker *c;
    char *id;
    store_coll coll;
    bool desired;           /* the store holds it and config.enabled is not false */
    bool broken;            /* a document the scenario made undecodable */
    uint64_t changed_seq;   /* last change of its document (ck->seq: the order the checker saw things in) */
    uint64_t added_seq;     /* when its latest pod/CronJob was created (ck->seq) */
    int64_t undesired_ms;   /* when it became undesired (-1: desired) */
    int64_t observed_ms;    /* when a manager's read observed it undesired (-1: not yet) */
    bool awaiting_read;     /* on the collection's list of undesired ids awaiting a read */
    uint64_t check_timer;   /* orphan deadline check */
    int64_t down_mark;      /* pause of its collection (paused()) already counted into its orphan deadline */
} scn_idinfo;

/* One pod of a bot while it runs: what its bot program completed (numbers of the bot-wide sequences). */
typedef struct ppod {
    char *uid, *name;
    uint64_t *lines;           /* log lines completed, in order */
    int64_t *line_at;          /* when each was completed (ms) */
    size_t nlines, caplines, lines_at_term;
    uint64_t state_last, state_at_term; /* the last state write completed (overall, before SIGTERM) */
    char key_last[64];
    bool termed, killed, state_full, logs_full;
    bool sync_down; /* the sync container was OOM-killed or failed to start and has not started again */
    struct ppod *next;
} ppod;

/* Pod-side facts of a bot (by its the0.dev/bot-id, schedules' too): what reached the object store. */
typedef struct pbot {
    char *id;
    unsigned char *log_seen;   /* bitmap of shipped log line numbers */
    size_t log_cap;            /* bytes in log_seen */
    uint64_t lines_shipped;
    uint64_t log_put_bytes;    /* bytes of every write of its log objects */
    struct { uint64_t n; int64_t at; } *unshipped; /* lines completed, from the oldest not shipped on, in order */
    size_t unshipped_first, nunshipped, capunshipped;
    int64_t max_log_lag;       /* the longest a line waited from its completion to its shipping */
    unsigned pods_seen;        /* its pods, each a writer of its log objects (log-traffic-linear's allowance) */
    unsigned early_writes;     /* writes of a large log object that neither grew it enough nor waited */
    bool traffic_reported;
    uint64_t uploaded_seq;     /* the highest write in the state object now (0: none) */
    char damaged[8][64];       /* keys whose last write failed midway (EIO, a short write): cut files */
    size_t ndamaged;
    ppod *pods;
    struct { uint64_t seq; int64_t at; } *waiting; /* completed writes no state object holds yet */
    size_t nwaiting, capwaiting;
    int64_t max_lag;
} pbot;

struct scn_checker {
    scn_check_world world;
    scn_check_sink sink;
    uint64_t checks;
    hmap ids;                  /* "b:<id>" / "s:<id>" -> scn_idinfo* */
    scn_idinfo **all;          /* every scn_idinfo, in the order first seen */
    size_t nall, capall;
    hmap log_len;              /* log object key -> (uintptr_t) length seen */
    hmap log_at;               /* log object key -> (uintptr_t) 1 + the time of its last write (ms) */
    hmap pbots;                /* bot id -> pbot* */
    scn_idinfo **awaiting[2];  /* undesired ids waiting for a successful read, per collection */
    size_t nawaiting[2], capawaiting[2];
    unsigned desired_count[2]; /* documents per collection that count as enabled */
    bool read_bad[2];          /* the last desired-state read of the collection failed or was suspiciously empty */
    unsigned broken_docs;
    bool max_running_reported;
    bool leaders_reported;     /* one-acting-leader: this episode of several acting managers was reported */
    bool pod_memory_reported;  /* sidecar-memory-bounded: reported once */
    /* no-orphans' allowance pauses per collection while MongoDB is down (scn_checker_mongo_outage) or the
     * collection's desired-state lists fail (scn_checker_read): since when (-1: running), and the total */
    bool mongo_out, list_failing[2];
    int64_t pause_since[2], pause_ms[2];
    char term[300]; /* the controllers' Lease: "holder@acquireTime" of the current term (scn_checker_lease) */
    uint64_t seq;                            /* counts store changes and object creations (their order) */
};

static int64_t now_ms(const scn_checker *ck) { return sim_loop_now(ck->world.loop) - ck->world.t0; }

void scn_sink_vreport(const scn_check_sink *sink, scn_invariant which, const char *fmt, va_list ap)
{
    char msg[1200];
    vsnprintf(msg, sizeof msg, fmt, ap);
    sink->violation(sink->ud, which, msg);
}

static void violation(scn_checker *c, scn_invariant which, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void violation(scn_checker *c, scn_invariant which, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    scn_sink_vreport(&c->sink, which, fmt, ap);
    va_end(ap);
}

t0_status scn_checker_new(const scn_check_world *world, const scn_check_sink *sink, scn_checker **out, t0_err *err)
{
    scn_checker *c = calloc(1, sizeof *c);
    if (!c) return t0_fail(err, T0_ENOMEM, "invariant checker: out of memory");
    c->world = *world;
    c->sink = *sink;
    c->pause_since[0] = c->pause_since[1] = -1;
    hmap_init(&c->ids);
    hmap_init(&c->log_len);
    hmap_init(&c->log_at);
    hmap_init(&c->pbots);
    *out = c;
    return T0_OK;
}

static void ppod_free(ppod *p)
{
    free(p->uid);
    free(p->name);
    free(p->lines);
    free(p->line_at);
    free(p);
}

void scn_checker_destroy(scn_checker *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->nall; i++) {
        free(c->all[i]->id);
        free(c->all[i]);
    }
    for (hmap_entry *he = hmap_first(&c->pbots); he; he = hmap_next(&c->pbots, he)) {
        pbot *b = he->val;
        for (ppod *p = b->pods, *nx; p; p = nx) {
            nx = p->next;
            ppod_free(p);
        }
        free(b->id);
        free(b->log_seen);
        free(b->unshipped);
        free(b->waiting);
        free(b);
    }
    hmap_free(&c->pbots);
    free(c->all);
    hmap_free(&c->ids);
    hmap_free(&c->log_len);
    hmap_free(&c->log_at);
    for (int j = 0; j < 2; j++) free(c->awaiting[j]);
    free(c);
}

uint64_t scn_checker_checks(const scn_checker *c) { return c->checks; }

static scn_idinfo *idinfo(scn_checker *ck, store_coll c, const char *id, bool create)
{
    char key[300];
    t0_strjoin(key, sizeof key, c == STORE_BOTS ? "b:" : "s:", id);
    scn_idinfo *in = hmap_get(&ck->ids, key);
    if (in || !create) return in;
    if (ck->nall == ck->capall) {
        size_t nc = ck->capall ? 2 * ck->capall : 64;
        scn_idinfo **na = realloc(ck->all, nc * sizeof *na);
        if (!na) return NULL;
        ck->all = na;
        ck->capall = nc;
    }
    in = calloc(1, sizeof *in);
    if (!in || !(in->id = strdup(id))) {
        free(in);
        return NULL;
    }
    in->c = ck;
    in->coll = c;
    in->undesired_ms = in->observed_ms = -1;
    if (hmap_put(&ck->ids, key, in, NULL) != T0_OK) {
        free(in->id);
        free(in);
        return NULL;
    }
    ck->all[ck->nall++] = in;
    return in;
}

static const char *label(const cJSON *obj, const char *key)
{
    const cJSON *l = t0_json_get(t0_json_get(obj, "metadata"), "labels");
    const cJSON *v = t0_json_get(l, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ours: OBJ of kind K is managed by our controller of that kind. Objects of someone else (another
 * installation, an operator) are never the controller's to delete, so no invariant counts them. */
static bool ours(const scn_checker *ck, kube_kind k, const cJSON *obj)
{
    const char *mb = label(obj, "the0.dev/managed-by");
    const char *want = k == KUBE_POD ? ck->world.pods_managed_by : ck->world.cronjobs_managed_by;
    return mb && want && !strcmp(mb, want);
}

/* The bot a Pod/CronJob of ours belongs to for the invariants: realtime pods (not Job pods) by bot-id,
 * CronJobs by schedule-id. NULL for anything else. */
static const char *owner_id(const scn_checker *ck, kube_kind k, const cJSON *obj, store_coll *c)
{
    if (k == KUBE_POD && !label(obj, "job-name") && !label(obj, "batch.kubernetes.io/job-name") && ours(ck, k, obj)) {
        *c = STORE_BOTS;
        return label(obj, LBL_BOT);
    }
    if (k == KUBE_CRONJOB && ours(ck, k, obj)) {
        *c = STORE_SCHEDULES;
        return label(obj, LBL_SCHED);
    }
    return NULL;
}

static size_t objects_of(const scn_checker *ck, const scn_idinfo *in)
{
    bool b = in->coll == STORE_BOTS;
    return kfake_count_labels(ck->world.kube, b ? KUBE_POD : KUBE_CRONJOB, ck->world.ns, b ? LBL_BOT : LBL_SCHED, in->id,
                              "the0.dev/managed-by", b ? ck->world.pods_managed_by : ck->world.cronjobs_managed_by);
}

/* ---- informer-coherent ------------------------------------------------------------------------------- */
void scn_checker_forget(scn_checker *ck, const char *who, kube_kind kind, const char *name, const char *id,
                        const char *uid)
{
    if (!uid || !*uid || (kind != KUBE_POD && kind != KUBE_CRONJOB)) return;
    const cJSON *obj = kfake_peek(ck->world.kube, kind, ck->world.ns, name);
    const char *now_uid = kfake_str(obj, "metadata.uid");
    const char *now_id = label(obj, kind == KUBE_POD ? LBL_BOT : LBL_SCHED);
    if (!obj || !now_uid || strcmp(now_uid, uid) != 0 || !ours(ck, kind, obj) || !now_id || strcmp(now_id, id) != 0)
        return;
    const char *rv = kfake_str(obj, "metadata.resourceVersion");
    violation(ck, SCN_INV_INFORMER, "%s forgot %s %s/%s of %s (uid %s), which the API server still holds (rv %s)", who,
              kube_kind_kind(kind), ck->world.ns, name, id, uid, rv ? rv : "?");
}

void scn_checker_watch_from(scn_checker *ck, const char *who, kube_kind kind, uint64_t from, uint64_t seen)
{
    if (from <= seen) return;
    violation(ck, SCN_INV_INFORMER,
              "%s resumed its %s watch from resourceVersion %llu, past %llu, the newest its lists and watch streams "
              "had sent: the changes in between are never delivered", who, kube_kind_kind(kind),
              (unsigned long long)from, (unsigned long long)seen);
}

/* ---- no-orphans -------------------------------------------------------------------------------------- */
/* paused: how long no-orphans' allowance of collection C has been paused so far. It does not run while
 * MongoDB is down or while the collection's desired-state lists fail: the controller decides a deletion on
 * a successful fresh read, and a missing document on a list (a restarted controller's first list; a get
 * alone decides only what the last good list already found missing), so either delays it by its length.
 * Every manager's lists count (scn_checker_read), and that is exact: only the acting leader lists
 * (find_enabled's one caller, ctl_resync_kind, runs while ctl_acting_allowed), so a standby's lists never
 * pause it. */
static int64_t paused(const scn_checker *ck, store_coll c)
{
    return ck->pause_ms[c] + (ck->pause_since[c] >= 0 ? now_ms(ck) - ck->pause_since[c] : 0);
}

/* pause_sync: start or stop each collection's pause after MongoDB or one of its lists changed */
static void pause_sync(scn_checker *ck)
{
    for (int c = 0; c < 2; c++) {
        bool down = ck->mongo_out || ck->list_failing[c];
        if (down && ck->pause_since[c] < 0) ck->pause_since[c] = now_ms(ck);
        if (!down && ck->pause_since[c] >= 0) {
            ck->pause_ms[c] += now_ms(ck) - ck->pause_since[c];
            ck->pause_since[c] = -1;
        }
    }
}

void scn_checker_mongo_outage(scn_checker *ck, bool down)
{
    ck->mongo_out = down;
    pause_sync(ck);
}

static void arm_orphan(scn_checker *ck, scn_idinfo *in);

/* A new term (another holder of the controllers' Lease, or the same holder acquiring it again) starts the
 * allowance of every pending deletion again: the new leader decides it afresh on reads of its own (its first
 * list, and a resync period later the confirmation when the deletion looks like a collapse: the last bots of
 * a collection), then the pod's grace period runs. A crash just before the old leader acted costs that much
 * again; the allowance has no slack for it (soak safety, 500 bots, seed 331186: the only bot deleted, a
 * MongoDB outage, a crash). Renewals change neither field. */
void scn_checker_lease(scn_checker *ck, const cJSON *lease)
{
    const char *holder = kfake_str(lease, "spec.holderIdentity"), *acq = kfake_str(lease, "spec.acquireTime");
    char term[sizeof ck->term];
    snprintf(term, sizeof term, "%s@%s", holder ? holder : "", acq ? acq : "");
    if (!strcmp(term, ck->term)) return;
    memcpy(ck->term, term, sizeof term);
    for (hmap_entry *e = hmap_first(&ck->ids); e; e = hmap_next(&ck->ids, e)) {
        scn_idinfo *in = e->val;
        if (!in->check_timer) continue;
        sim_loop_cancel(ck->world.loop, in->check_timer);
        in->check_timer = 0;
        arm_orphan(ck, in);
    }
}

static void orphan_deadline(void *ud)
{
    scn_idinfo *in = ud;
    scn_checker *ck = in->c;
    in->check_timer = 0;
    if (in->desired) return;
    int64_t down = paused(ck, in->coll) - in->down_mark;
    if (down > 0) { /* MongoDB was down or the lists failed meanwhile: the deadline moves by that much */
        in->down_mark += down;
        in->check_timer = sim_loop_timer(ck->world.loop, down, orphan_deadline, in);
        return;
    }
    size_t n = objects_of(ck, in);
    if (n) {
        char t1[32], t2[32];
        violation(ck, SCN_INV_ORPHANS, "%s %s was observed %s at %s, yet %zu %s still exist%s at %s (allowance %llds)",
                      in->coll == STORE_BOTS ? "bot" : "schedule", in->id,
                      storefake_peek(ck->world.store, in->coll, in->id) ? "disabled" : "deleted",
                      scn_format_offset(in->observed_ms, t1, sizeof t1), n,
                      in->coll == STORE_BOTS ? (n == 1 ? "pod" : "pods") : (n == 1 ? "cronjob" : "cronjobs"),
                      n == 1 ? "s" : "", scn_format_offset(now_ms(ck), t2, sizeof t2),
                      (long long)(ck->world.delete_allowance_ms / 1000));
    }
}

static void arm_orphan(scn_checker *ck, scn_idinfo *in)
{
    if (in->check_timer) return;
    in->down_mark = paused(ck, in->coll);
    in->check_timer = sim_loop_timer(ck->world.loop, ck->world.delete_allowance_ms, orphan_deadline, in);
}

static void observe_undesired(scn_checker *ck, scn_idinfo *in)
{
    if (in->desired || in->observed_ms >= 0) return;
    in->observed_ms = now_ms(ck);
    arm_orphan(ck, in);
}

void scn_checker_store_change(scn_checker *ck, store_coll c, const char *id, const cJSON *doc)
{
    scn_idinfo *in = idinfo(ck, c, id, true);
    if (!in) return;
    in->changed_seq = ++ck->seq;
    bool desired = doc && storefake_doc_enabled(doc);
    if (!doc && in->broken) {
        in->broken = false;
        if (ck->broken_docs) ck->broken_docs--;
    }
    if (desired) {
        if (!in->desired) ck->desired_count[c]++;
        in->desired = true;
        in->undesired_ms = in->observed_ms = -1;
        if (in->check_timer) sim_loop_cancel(ck->world.loop, in->check_timer);
        in->check_timer = 0;
        return;
    }
    if (in->desired && ck->desired_count[c]) ck->desired_count[c]--;
    bool was = in->desired || in->undesired_ms < 0;
    in->desired = false;
    if (was) {
        in->undesired_ms = now_ms(ck);
        in->observed_ms = -1;
    }
    if (!in->awaiting_read) {
        if (ck->nawaiting[c] == ck->capawaiting[c]) {
            size_t nc = ck->capawaiting[c] ? 2 * ck->capawaiting[c] : 16;
            scn_idinfo **na = realloc(ck->awaiting[c], nc * sizeof *na);
            if (!na) return;
            ck->awaiting[c] = na;
            ck->capawaiting[c] = nc;
        }
        ck->awaiting[c][ck->nawaiting[c]++] = in;
        in->awaiting_read = true;
    }
}

void scn_checker_mark_broken(scn_checker *ck, store_coll c, const char *id, bool broken)
{
    scn_idinfo *in = idinfo(ck, c, id, true);
    if (!in || in->broken == broken) return;
    in->broken = broken;
    if (broken) ck->broken_docs++;
    else if (ck->broken_docs) ck->broken_docs--;
}

void scn_checker_read(scn_checker *ck, store_coll c, t0_status st, const cJSON *docs)
{
    if ((unsigned)c > STORE_SCHEDULES) return; /* the desired-state collections only */
    int n = cJSON_GetArraySize(docs);
    if (ck->list_failing[c] != (st != T0_OK)) {
        ck->list_failing[c] = st != T0_OK;
        pause_sync(ck);
    }
    if (st != T0_OK || (n == 0 && ck->desired_count[c] > 0)) {
        ck->read_bad[c] = true;
        return;
    }
    ck->read_bad[c] = false;
    for (size_t i = 0; i < ck->nawaiting[c]; i++) {
        scn_idinfo *in = ck->awaiting[c][i];
        in->awaiting_read = false;
        observe_undesired(ck, in);
    }
    ck->nawaiting[c] = 0;
}

void scn_checker_get(scn_checker *ck, store_coll c, const char *id, t0_status st, const cJSON *doc)
{
    if ((unsigned)c > STORE_SCHEDULES) return; /* the desired-state collections only */
    if (st != T0_ENOTFOUND && !(st == T0_OK && !storefake_doc_enabled(doc))) return;
    scn_idinfo *in = idinfo(ck, c, id, false);
    if (in) observe_undesired(ck, in);
}

void scn_checker_kube(scn_checker *ck, kube_watch_type type, kube_kind kind, const cJSON *obj, bool deletion_started,
                      bool by_scenario)
{
    store_coll c;
    const char *id = owner_id(ck, kind, obj, &c);
    if (!id) return;
    scn_idinfo *in = idinfo(ck, c, id, true);
    if (!in) return;
    if (type == KUBE_WATCH_ADDED) in->added_seq = ++ck->seq;
    if (type == KUBE_WATCH_ADDED && !in->desired && in->observed_ms >= 0) arm_orphan(ck, in);
    if (deletion_started && !by_scenario && in->desired) {
        const char *phase = kfake_str(obj, "status.phase");
        bool terminal = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
        /* current: created after its document last changed, in the order the checker saw them (not by time:
         * creationTimestamp has whole seconds, and a pod and a change of its document in the same ms are common) */
        bool current = in->added_seq > in->changed_seq;
        if (!terminal && current) {
            const char *name = kfake_str(obj, "metadata.name");
            if (ck->read_bad[c])
                violation(ck, SCN_INV_DELETE_GUARD, "%s %s of desired %s %s deleted while the last desired-state read of "
                              "%s failed or came back empty", kube_kind_kind(kind), name ? name : "?",
                              c == STORE_BOTS ? "bot" : "schedule", id, store_coll_name(c));
            else if (ck->broken_docs && !in->broken)
                violation(ck, SCN_INV_BAD_DOC, "%s %s of healthy %s %s deleted while %u broken document(s) are stored",
                              kube_kind_kind(kind), name ? name : "?", c == STORE_BOTS ? "bot" : "schedule", id,
                              ck->broken_docs);
        }
    }
}

/* ---- the pod side: state and log loss, partial state ------------------------------------------------- */
static pbot *pbot_of(scn_checker *ck, const char *id)
{
    pbot *b = hmap_get(&ck->pbots, id);
    if (b) return b;
    b = calloc(1, sizeof *b);
    if (!b || !(b->id = strdup(id)) || hmap_put(&ck->pbots, id, b, NULL) != T0_OK) {
        if (b) free(b->id);
        free(b);
        return NULL;
    }
    return b;
}

static bool bit_test_set(pbot *b, uint64_t n)
{
    size_t byte = (size_t)(n / 8);
    if (byte >= b->log_cap) {
        size_t nc = b->log_cap ? b->log_cap : 64;
        while (nc <= byte) nc *= 2;
        unsigned char *nb = realloc(b->log_seen, nc);
        if (!nb) return false;
        memset(nb + b->log_cap, 0, nc - b->log_cap);
        b->log_seen = nb;
        b->log_cap = nc;
    }
    bool was = b->log_seen[byte] & (1u << (n % 8));
    b->log_seen[byte] |= (unsigned char)(1u << (n % 8));
    return was;
}

static bool bit_test(const pbot *b, uint64_t n)
{
    size_t byte = (size_t)(n / 8);
    return byte < b->log_cap && (b->log_seen[byte] & (1u << (n % 8)));
}

uint64_t scn_checker_state_lag(const scn_checker *ck, const char *id)
{
    const pbot *b = hmap_get(&ck->pbots, id);
    if (!b) return 0;
    int64_t lag = b->max_lag;
    if (b->nwaiting && sim_loop_now(ck->world.loop) - b->waiting[0].at > lag) lag = sim_loop_now(ck->world.loop) - b->waiting[0].at;
    return (uint64_t)lag;
}

uint64_t scn_checker_log_lines(const scn_checker *ck, const char *id)
{
    const pbot *b = hmap_get(&ck->pbots, id);
    return b ? b->lines_shipped : 0;
}

uint64_t scn_checker_log_traffic(const scn_checker *ck, const char *id)
{
    const pbot *b = hmap_get(&ck->pbots, id);
    return b ? b->log_put_bytes : 0;
}

bool scn_checker_logs_shipped(const scn_checker *ck, int64_t within_ms, char *got, size_t cap)
{
    int64_t now = sim_loop_now(ck->world.loop);
    size_t pods = 0, lines = 0;
    const pbot *wb = NULL;
    const ppod *wp = NULL;
    size_t wi = 0;
    for (hmap_entry *he = hmap_first(&ck->pbots); he; he = hmap_next(&ck->pbots, he)) {
        const pbot *b = he->val;
        for (const ppod *p = b->pods; p; p = p->next) {
            if (p->termed || p->sync_down || p->logs_full) continue;
            pods++;
            for (size_t i = 0; i < p->nlines && now - p->line_at[i] >= within_ms; i++) {
                lines++;
                if (bit_test(b, p->lines[i])) continue;
                /* the oldest line waiting, of any pod (ties: the lowest bot id, for a stable report) */
                if (!wp || p->line_at[i] < wp->line_at[wi] || (p->line_at[i] == wp->line_at[wi] && strcmp(b->id, wb->id) < 0))
                    wb = b, wp = p, wi = i;
                break;
            }
        }
    }
    if (wp) {
        snprintf(got, cap, "bot %s: pod %s's log line #%llu, completed %lld ms ago, is not in bot-logs yet", wb->id,
                 wp->name, (unsigned long long)wp->lines[wi], (long long)(now - wp->line_at[wi]));
        return false;
    }
    snprintf(got, cap, "%zu lines of %zu running pods completed %lld ms ago or earlier, all in bot-logs", lines, pods,
             (long long)within_ms);
    return true;
}

/* log-lag: the lines a bot completed, in order, until they are shipped (the shipped head is dropped) */
static void line_completed(pbot *b, uint64_t n, int64_t at)
{
    if (b->unshipped_first && b->unshipped_first * 2 >= b->nunshipped) { /* compact */
        b->nunshipped -= b->unshipped_first;
        memmove(b->unshipped, b->unshipped + b->unshipped_first, b->nunshipped * sizeof *b->unshipped);
        b->unshipped_first = 0;
    }
    if (b->nunshipped == b->capunshipped) {
        size_t nc = b->capunshipped ? 2 * b->capunshipped : 64;
        void *nu = realloc(b->unshipped, nc * sizeof *b->unshipped);
        if (!nu) return;
        b->unshipped = nu;
        b->capunshipped = nc;
    }
    b->unshipped[b->nunshipped].n = n;
    b->unshipped[b->nunshipped++].at = at;
}

/* line N of B was shipped NOW: its wait counts into max_log_lag */
static void line_shipped(pbot *b, uint64_t n, int64_t now)
{
    size_t lo = b->unshipped_first, hi = b->nunshipped;
    while (lo < hi) { /* numbers grow in completion order */
        size_t mid = lo + (hi - lo) / 2;
        if (b->unshipped[mid].n < n) lo = mid + 1;
        else hi = mid;
    }
    if (lo < b->nunshipped && b->unshipped[lo].n == n && now - b->unshipped[lo].at > b->max_log_lag)
        b->max_log_lag = now - b->unshipped[lo].at;
    while (b->unshipped_first < b->nunshipped && bit_test(b, b->unshipped[b->unshipped_first].n)) b->unshipped_first++;
}

uint64_t scn_checker_log_lag(const scn_checker *ck, const char *id)
{
    const pbot *b = hmap_get(&ck->pbots, id);
    return b ? (uint64_t)b->max_log_lag : 0;
}

static bool damaged(const pbot *b, const char *key)
{
    for (size_t i = 0; i < b->ndamaged; i++)
        if (!strcmp(b->damaged[i], key)) return true;
    return false;
}

static void set_damaged(pbot *b, const char *key, bool on)
{
    for (size_t i = 0; i < b->ndamaged; i++)
        if (!strcmp(b->damaged[i], key)) {
            if (!on) memmove(b->damaged[i], b->damaged[i + 1], (--b->ndamaged - i) * sizeof b->damaged[0]);
            return;
        }
    if (on && b->ndamaged < T0_ARRAY_LEN(b->damaged)) t0_strlcpy(b->damaged[b->ndamaged++], key, sizeof b->damaged[0]);
}

typedef struct archive_scan {
    scn_checker *ck;
    pbot *b;
    const char *key;
    uint64_t max_seq;
    char cut[300]; /* the first cut document found that no failed write explains */
} archive_scan;

static void scan_file(void *ud, const char *name, const char *data, size_t len)
{
    archive_scan *a = ud;
    static const char dir[] = ".the0-state/";
    size_t nl = strlen(name);
    if (strncmp(name, dir, sizeof dir - 1) || nl < sizeof dir - 1 + 5 || strcmp(name + nl - 5, ".json")) return;
    char key[128];
    snprintf(key, sizeof key, "%.*s", (int)(nl - (sizeof dir - 1) - 5), name + sizeof dir - 1);
    uint64_t seq;
    char val[8];
    if (botprog_doc_parse(data, len, &seq, val, sizeof val)) {
        if (seq > a->max_seq) a->max_seq = seq;
    } else if (!damaged(a->b, key) && !a->cut[0]) {
        snprintf(a->cut, sizeof a->cut, "%s (%zu bytes)", name, len);
    }
}

/* A state object: a whole tar.gz whose documents are whole (a document cut by a write that failed midway —
 * EIO, a short write — is the bot's own doing and shipped as it is on disk; one cut because its volume
 * filled up must never be shipped: the sidecar refuses a full volume). */
static void state_object(scn_checker *ck, const char *id, const char *key, const objfake_object *obj)
{
    pbot *b = pbot_of(ck, id);
    if (!b) return;
    if (!obj) {
        b->uploaded_seq = 0;
        return;
    }
    archive_scan a = {ck, b, key, 0, ""};
    t0_err err = {0};
    if (botprog_archive_each(obj->data, obj->len, scan_file, &a, &err) != T0_OK) {
        violation(ck, SCN_INV_PARTIAL_STATE, "bot %s: bot-state/%s is not a whole tar.gz (%zu bytes): %s", id, key, obj->len,
                  err.msg);
        return;
    }
    size_t keep = 0; /* the writes this object holds (or a later one) stop waiting */
    for (size_t i = 0; i < b->nwaiting; i++) {
        if (b->waiting[i].seq <= a.max_seq) {
            int64_t lag = sim_loop_now(ck->world.loop) - b->waiting[i].at;
            if (lag > b->max_lag) b->max_lag = lag;
        } else {
            b->waiting[keep++] = b->waiting[i];
        }
    }
    b->nwaiting = keep;
    if (a.cut[0])
        violation(ck, SCN_INV_PARTIAL_STATE, "bot %s: bot-state/%s holds a cut state file %s that no failed write of the bot "
                  "explains", id, key, a.cut);
    b->uploaded_seq = a.max_seq;
}

/* log-traffic-linear (docs/scenarios.md): S3 has no append, so each write of a log object costs the whole
 * object. The documented pacing (docs/operations.md, "Log shipping") rewrites an object of 16 KiB or more only
 * once its new lines add 1/16 of it, or 60 s after its last append; each pod's sidecar may write early twice
 * (its first append, which cannot know the last one's time, and its final sync). The check leaves room for a
 * cut partial line (1/32) and for latency (59 s). Anything else that rewrites a large object early makes the
 * traffic grow with the square of the log. */
#define LOG_SMALL 16384u
#define LOG_PACE_MS 59000
static void log_pacing(scn_checker *ck, pbot *b, const char *key, size_t prev, size_t len)
{
    int64_t now = now_ms(ck);
    uintptr_t at = (uintptr_t)hmap_get(&ck->log_at, key);
    hmap_put(&ck->log_at, key, (void *)(uintptr_t)(now + 1), NULL);
    if (!b || !at || prev < LOG_SMALL || len < prev || (len - prev) * 32 >= prev) return;
    int64_t since = now - (int64_t)(at - 1);
    if (since >= LOG_PACE_MS || ++b->early_writes <= 2 * b->pods_seen || b->traffic_reported) return;
    b->traffic_reported = true;
    violation(ck, SCN_INV_LOG_TRAFFIC, "bot %s: bot-logs/%s (%zu bytes) rewritten %lld ms after its previous write for "
              "%zu new bytes: %u such writes for %u pod(s) (allowed: two per pod); the log's traffic grows with its "
              "square", b->id, key, prev, (long long)since, len - prev, b->early_writes, b->pods_seen);
}

static void log_object(scn_checker *ck, const char *key, const objfake_object *obj)
{
    uintptr_t prev = (uintptr_t)hmap_get(&ck->log_len, key);
    if (!obj) {
        hmap_del(&ck->log_len, key);
        hmap_del(&ck->log_at, key);
        return;
    }
    const char *slash = strchr(key + 5, '/');
    char id[256];
    size_t idn = slash ? (size_t)(slash - key - 5) : 0;
    if (idn >= sizeof id) idn = sizeof id - 1;
    memcpy(id, key + 5, idn);
    id[idn] = '\0';
    pbot *b = pbot_of(ck, id);
    if (b) b->log_put_bytes += obj->len;
    log_pacing(ck, b, key, prev, obj->len);
    if (obj->len < prev) {
        violation(ck, SCN_INV_LOG_LOSS, "log object bot-logs/%s shrank from %zu to %zu bytes (overwritten)", key,
                  (size_t)prev, obj->len);
        prev = 0;
    }
    /* new lines: "[ts] <bot-id> <text> #<n>." (the stamp starts each shipped chunk) */
    for (const char *p = obj->data + prev; b && p < obj->data + obj->len;) {
        const char *nl = memchr(p, '\n', (size_t)(obj->data + obj->len - p));
        const char *end = nl ? nl : obj->data + obj->len;
        uint64_t n = botprog_line_number(p, (size_t)(end - p));
        if (n) {
            if (bit_test_set(b, n))
                violation(ck, SCN_INV_LOG_LOSS, "bot %s: log line #%llu shipped twice (bot-logs/%s)", id,
                          (unsigned long long)n, key);
            else {
                b->lines_shipped++;
                line_shipped(b, n, sim_loop_now(ck->world.loop));
            }
        }
        p = nl ? nl + 1 : end;
    }
    hmap_put(&ck->log_len, key, (void *)(uintptr_t)obj->len, NULL);
}

void scn_checker_object(scn_checker *ck, const char *bucket, const char *key, const objfake_object *obj, bool by_scenario)
{
    if (by_scenario) return; /* what a statement planted is not the sidecar's doing */
    if (!strcmp(bucket, "bot-logs") && !strncmp(key, "logs/", 5)) {
        log_object(ck, key, obj);
        return;
    }
    size_t kl = strlen(key);
    static const char sfx[] = "/state.tar.gz";
    if (!strcmp(bucket, "bot-state") && kl > sizeof sfx - 1 && !strcmp(key + kl - (sizeof sfx - 1), sfx)) {
        char id[256];
        snprintf(id, sizeof id, "%.*s", (int)(kl - (sizeof sfx - 1)), key);
        state_object(ck, id, key, obj);
    }
}

static ppod *ppod_of(pbot *b, const kubelet_event *e, bool create)
{
    for (ppod *p = b->pods; p; p = p->next)
        if (!strcmp(p->uid, e->pod_uid)) return p;
    if (!create) return NULL;
    ppod *p = calloc(1, sizeof *p);
    if (!p || !(p->uid = strdup(e->pod_uid)) || !(p->name = strdup(e->pod))) {
        if (p) free(p->uid);
        free(p);
        return NULL;
    }
    p->next = b->pods;
    b->pods = p;
    b->pods_seen++;
    return p;
}

/* The end of a pod: what its bot completed is in the object store, but for the documented bounds. */
static void pod_ended(scn_checker *ck, pbot *b, ppod *p, const kubelet_event *e)
{
    if (e->abrupt) return; /* node loss, eviction, force removal: its emptyDirs went with it */
    /* its sidecar was OOM-killed (or failed to start) and the pod ended before the kubelet restarted it: what
     * was not shipped went with the emptyDirs, as on a node (docs/scenarios.md, no-state-loss) */
    if (p->sync_down) return;
    uint64_t need = p->killed ? p->state_at_term : p->state_last;
    if (need && !p->state_full && b->uploaded_seq < need)
        violation(ck, SCN_INV_STATE_LOSS, "bot %s: pod %s ended with state write #%llu (%s) not in bot-state/%s/state.tar.gz "
                  "(it holds writes up to #%llu)%s%s", b->id, p->name, (unsigned long long)need, p->key_last, b->id,
                  (unsigned long long)b->uploaded_seq, e->sync_message[0] ? "; sync: " : "", e->sync_message);
    if (p->logs_full) return;
    size_t n = p->killed ? p->lines_at_term : p->nlines, missing = 0;
    uint64_t first = 0;
    for (size_t i = 0; i < n; i++)
        if (!bit_test(b, p->lines[i]) && !missing++) first = p->lines[i];
    if (missing)
        violation(ck, SCN_INV_LOG_LOSS, "bot %s: pod %s ended with %zu of its %zu log line(s) never shipped (first #%llu)%s%s",
                  b->id, p->name, missing, n, (unsigned long long)first, e->sync_message[0] ? "; sync: " : "",
                  e->sync_message);
}

void scn_checker_pod_event(scn_checker *ck, const kubelet_event *e)
{
    pbot *b = pbot_of(ck, e->bot_id);
    ppod *p = b ? ppod_of(b, e, e->kind != KE_POD_END) : NULL;
    if (!p) return;
    switch (e->kind) {
    case KE_LOG_LINE:
        if (e->eno) break; /* not written: nothing to ship */
        if (p->nlines == p->caplines) {
            size_t nc = p->caplines ? 2 * p->caplines : 32;
            uint64_t *nl = realloc(p->lines, nc * sizeof *nl);
            if (nl) p->lines = nl;
            int64_t *na = nl ? realloc(p->line_at, nc * sizeof *na) : NULL;
            if (!na) break;
            p->line_at = na;
            p->caplines = nc;
        }
        p->line_at[p->nlines] = sim_loop_now(ck->world.loop);
        p->lines[p->nlines++] = e->n;
        line_completed(b, e->n, sim_loop_now(ck->world.loop));
        break;
    case KE_STATE_WRITE:
        if (!e->eno) {
            if (b->nwaiting == b->capwaiting) {
                size_t nc = b->capwaiting ? 2 * b->capwaiting : 16;
                void *nw = realloc(b->waiting, nc * sizeof *b->waiting);
                if (nw) {
                    b->waiting = nw;
                    b->capwaiting = nc;
                }
            }
            if (b->nwaiting < b->capwaiting) {
                b->waiting[b->nwaiting].seq = e->n;
                b->waiting[b->nwaiting++].at = sim_loop_now(ck->world.loop);
            }
            p->state_last = e->n;
            t0_strlcpy(p->key_last, e->key, sizeof p->key_last);
            set_damaged(b, e->key, false);
        } else if (e->eno == ENOSPC) {
            p->state_full = true; /* the sidecar ships nothing more from this volume */
        } else {
            set_damaged(b, e->key, true);
        }
        break;
    case KE_SIGTERM:
        p->termed = true;
        p->lines_at_term = p->nlines;
        p->state_at_term = p->state_last;
        break;
    case KE_BOT_KILLED:
        p->killed = true;
        break;
    case KE_SYNC_DOWN:
        p->sync_down = true;
        break;
    case KE_SYNC_UP:
        p->sync_down = false;
        break;
    case KE_VOLUME_FULL:
        if (!strcmp(e->key, "bot-state")) p->state_full = true;
        else if (!strcmp(e->key, "the0")) p->logs_full = true;
        break;
    case KE_POD_END:
        pod_ended(ck, b, p, e);
        for (ppod **pp = &b->pods; *pp; pp = &(*pp)->next)
            if (*pp == p) {
                *pp = p->next;
                break;
            }
        ppod_free(p);
        break;
    }
}

/* Bots and schedules in id order (bots first), for reports that name several: their order is visible. */
static int by_id(const void *a, const void *b)
{
    const scn_idinfo *x = *(scn_idinfo *const *)a, *y = *(scn_idinfo *const *)b;
    return x->coll != y->coll ? (int)x->coll - (int)y->coll : strcmp(x->id, y->id);
}

/* sidecar-memory-bounded: no pod's daemon GETs an object into memory, or PUTs one from memory, of more than
 * DSYNC_MEM_SPOOL bytes (larger ones go through a file on a volume: the containers have memory limits, and a day's
 * log or a state archive has none) */
static void pod_memory(scn_checker *ck)
{
    uint64_t held = objfake_mem_held(ck->world.obj);
    if (held <= DSYNC_MEM_SPOOL) return;
    objfake_stats st;
    objfake_get_stats(ck->world.obj, &st);
    ck->pod_memory_reported = true;
    violation(ck, SCN_INV_POD_MEMORY, "a pod held a %llu-byte object in memory for a MinIO %s (the bound is %u bytes: "
              "larger ones go through a file)", (unsigned long long)held, st.mem_get_max >= st.mem_put_max ? "GET" : "PUT",
              (unsigned)DSYNC_MEM_SPOOL);
}

void scn_checker_step(scn_checker *ck)
{
    ck->checks++;
    if (!ck->pod_memory_reported && ck->world.obj) pod_memory(ck);
    if (ck->max_running_reported || kubelet_max_bot_running(ck->world.kl) <= 1) return;
    ck->max_running_reported = true;
    /* rare path: find which bot (scan once, only on violation); the first in id order */
    const scn_idinfo *which = NULL;
    unsigned running = 0;
    for (size_t i = 0; i < ck->nall; i++) {
        const scn_idinfo *in = ck->all[i];
        kubelet_bot_obs ob;
        if (kubelet_bot_observe(ck->world.kl, in->id, &ob) && ob.max_bot_running > 1 && (!which || by_id(&in, &which) < 0))
            which = in, running = ob.max_bot_running;
    }
    if (which) violation(ck, SCN_INV_ONE_CONTAINER, "bot %s: %u bot containers running at once", which->id, running);
    else violation(ck, SCN_INV_ONE_CONTAINER, "%u bot containers of one bot running at once", kubelet_max_bot_running(ck->world.kl));
}

void scn_checker_leaders(scn_checker *ck, unsigned acting, const char *who)
{
    if (acting <= 1) {
        ck->leaders_reported = false;
        return;
    }
    if (ck->leaders_reported) return;
    ck->leaders_reported = true;
    violation(ck, SCN_INV_ONE_LEADER, "%u managers may execute effects at once (%s): two leaders act on the same bots",
              acting, who);
}

/* Pods still running at the end have not ended: nothing of theirs is checked for loss. */
void scn_checker_final(scn_checker *ck) { (void)ck; }
