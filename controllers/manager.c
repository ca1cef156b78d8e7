/* manager.c: the controller manager: Bot and Schedule controllers driving the fsm/ tables over the
 * ports, with an informer-style cache, a client-go work queue, resync, NATS triggers, leader election,
 * readiness and the deletion guards (see manager.h). */
#include "controllers/manager.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/botdoc.h"
#include "domain/cronexpr.h"
#include "domain/hash.h"
#include "domain/names.h"
#include "controllers/subscriber.h"
#include "controllers/workqueue.h"
#include "core/hmap.h"
#include "core/json.h"
#include "core/log.h"
#include "core/str.h"
#include "fsm/tables.h"

#define LBL_BOT_ID "the0.dev/bot-id"
#define LBL_SCHED_ID "the0.dev/schedule-id"
#define LBL_MANAGED_BY "the0.dev/managed-by"

void ctl_settings_defaults(ctl_settings *s)
{
    memset(s, 0, sizeof *s);
    podgen_settings_defaults(&s->pod);
    s->resync_ms = 30000;
    s->relist_ms = 300000;
    s->requeue_ms = 1000;
    s->backoff_base_ms = 5;
    s->backoff_cap_ms = 1000 * 1000;
    s->queue_qps = 10;
    s->queue_burst = 100;
    s->crashloop_escalate = 10;
    s->init_escalate = 5;
    s->max_deletes_per_cycle = 50;
    s->expectation_ttl_ms = 60000;
    s->leader_election = true;
    s->lease_name = "the0-runtime-controller";
    s->identity = "the0-runtime";
    s->lease_duration_ms = 15000;
    s->lease_renew_ms = 5000;
    s->nats_durable = true;
}

/* ---- observed objects ------------------------------------------------------------------------ */

enum { PH_NONE, PH_PENDING, PH_RUNNING, PH_SUCCEEDED, PH_FAILED, PH_UNKNOWN };

/* A compact summary of one observed Pod or CronJob: what classification needs, nothing more. */
typedef struct obj_sum {
    char *name;
    char *id;            /* the bot-id / schedule-id label */
    uint64_t rv;
    char rv_str[24];
    uint32_t list_gen;   /* the re-list that last listed it */
    bool terminating;
    uint8_t phase;       /* pods */
    bool init_failing, crashloop, bot_running, evicted;
    uint16_t init_restarts, bot_restarts;
    char cfg_hash[HASH_HEX_LEN + 1], spec_hash[HASH_HEX_LEN + 1];
    int active;          /* cronjobs: status.active length */
    int64_t created_ms, last_schedule_ms, last_success_ms, deadline_s;
    char *schedule;      /* cronjobs: spec.schedule */
} obj_sum;

enum { FAIL_STORE = 1, FAIL_KUBE = 2 };

/* Per-key controller record. */
typedef struct rec {
    uint8_t state;
    bool create_in_flight;
    bool initial_pending; /* part of the first full reconcile, not yet reconciled */
    int64_t create_deadline_ms;
    uint64_t doc_fp;      /* fingerprint of the desired document last reconciled */
    uint64_t doc_rev;     /* the store's revision of a document a resync found to have fingerprint doc_fp
                             (0: none): the next resync skips a document with this revision unread */
    uint32_t seen_gen;    /* the resync generation whose desired read last listed this key */
    bool want_valid;      /* want_* hold the hashes generated from the document with fingerprint want_fp */
    bool want_fresh;      /* ... and that document is still the stored one: no NATS message, resync
                             mismatch or failed read since, and want_until not passed. Reconciles that
                             only follow the cluster (watch events) then skip the store read. */
    int64_t want_until;
    uint64_t want_fp;
    char want_cfg[HASH_HEX_LEN + 1], want_spec[HASH_HEX_LEN + 1];
    obj_sum *obj;         /* primary observed object, or NULL */
    unsigned nobjs;       /* observed objects carrying this id */
    uint8_t fail_src;     /* the dependency the key's last failure came from (FAIL_STORE, FAIL_KUBE) or 0 */
    cJSON *batch_doc;     /* owned copy of the document the resync that enqueued this key read, for the
                             reconcile to use instead of reading it again (the Go controller reconciles
                             from its list the same way); dropped by a NATS message; NULL otherwise */
    int64_t batch_at_ms;  /* when the resync read it */
} rec;

typedef struct ctl_ctl {
    ctl_manager *m;
    bool sched;
    const fsm_table *table;
    kube_kind kind;
    store_coll coll;
    const char *name;
    const char *id_label;
    char selector[128];
    hmap recs; /* id -> rec* */
    hmap objs; /* object name -> obj_sum* */
    wq *q;
    kube_watch *watch;
    uint64_t last_rv;
    int64_t last_relist_ms; /* when the cache was last re-listed (0 = never) */
    uint64_t list_timer;    /* a failed list is retried with backoff, not only at the next resync */
    int64_t list_backoff_ms;
    bool gate_open;       /* deletions allowed: the last desired read succeeded and was not suspicious */
    bool gate_suspicious; /* the last successful read collapsed (until a successful read that did not) */
    long last_count;      /* documents in the last successful desired read (-1 = none yet) */
    uint32_t gen;         /* resync generation: stamps the keys each desired read lists */
    uint32_t list_gen;    /* re-list generation: stamps the cached objects each re-list lists */
    unsigned initial_left;
    bool first_done;
    long retry_after_ms;  /* while api_failed runs the table: the server's Retry-After of a 429 (0 = none) */
} ctl_ctl;

struct ctl_manager {
    ctl_settings s;
    ctl_ports p;
    ctl_hooks h;
    ctl_ctl bots, scheds;
    bool started, crashed, leader, ready, released;
    uint64_t lease_timer, resync_timer, bus_timer;
    int64_t lease_valid_until;
    int deletes_this_cycle;
    bus_sub *subs[2];
    ctl_stats st;
    uint64_t event_seq;
    ctl_memo *memo; /* h.memo when its pod settings are ours (memo_of) */
    bool memo_checked;
};

static int64_t now_ms(ctl_manager *m) { return m->p.loop->now_ms(m->p.loop->ctx); }

static void fmt_time(int64_t ms, char *buf, size_t cap, bool micro)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    if (micro)
        snprintf(buf, cap, "%s.%06ldZ", base, (long)(ms % 1000) * 1000);
    else
        snprintf(buf, cap, "%sZ", base);
}

static int64_t parse_time(const char *s)
{
    if (!s) return 0;
    struct tm tm = {0};
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest) return 0;
    int64_t ms = (int64_t)timegm(&tm) * 1000;
    if (*rest == '.') {
        long frac = 0, div = 1;
        for (rest++; *rest >= '0' && *rest <= '9'; rest++)
            if (div < 1000) frac = frac * 10 + (*rest - '0'), div *= 10;
        while (div < 1000) frac *= 10, div *= 10;
        ms += frac;
    }
    return ms;
}

static const cJSON *jget(const cJSON *o, const char *path) { return t0_json_at(o, path); }
static const char *jstr(const cJSON *o, const char *path) { return t0_json_str(o, path); }

static void copy_hash(char dst[HASH_HEX_LEN + 1], const char *src)
{
    t0_strlcpy(dst, src, HASH_HEX_LEN + 1);
}

static void obj_free(obj_sum *o)
{
    if (!o) return;
    free(o->name);
    free(o->id);
    free(o->schedule);
    free(o);
}

static void summarize_pod(obj_sum *o, const cJSON *pod)
{
    const cJSON *status = t0_json_get(pod, "status"); /* looked up once: this runs on every pod event */
    const char *ph = jstr(status, "phase");
    o->phase = !ph ? PH_NONE
               : !strcmp(ph, "Pending") ? PH_PENDING
               : !strcmp(ph, "Running") ? PH_RUNNING
               : !strcmp(ph, "Succeeded") ? PH_SUCCEEDED
               : !strcmp(ph, "Failed") ? PH_FAILED
               : !strcmp(ph, "Unknown") ? PH_UNKNOWN
                                          : PH_NONE;
    const char *reason = jstr(status, "reason");
    o->evicted = reason && !strcmp(reason, "Evicted");
    o->init_failing = o->crashloop = o->bot_running = false;
    o->init_restarts = o->bot_restarts = 0;
    const cJSON *cs;
    cJSON_ArrayForEach(cs, t0_json_get(status, "initContainerStatuses"))
    {
        const cJSON *rc = t0_json_get(cs, "restartCount");
        if (cJSON_IsNumber(rc)) o->init_restarts = (uint16_t)rc->valuedouble;
        const char *w = jstr(cs, "state.waiting.reason");
        const cJSON *term = jget(cs, "state.terminated.exitCode");
        bool done_ok = cJSON_IsNumber(term) && term->valuedouble == 0;
        if (!done_ok && ((w && strcmp(w, "PodInitializing") != 0) || (cJSON_IsNumber(term) && term->valuedouble != 0) ||
                         o->init_restarts > 0))
            o->init_failing = true;
    }
    cJSON_ArrayForEach(cs, t0_json_get(status, "containerStatuses"))
    {
        const char *name = jstr(cs, "name");
        if (!name || strcmp(name, "bot") != 0) continue;
        const cJSON *rc = t0_json_get(cs, "restartCount");
        if (cJSON_IsNumber(rc)) o->bot_restarts = (uint16_t)rc->valuedouble;
        const char *w = jstr(cs, "state.waiting.reason");
        if (w && !strcmp(w, "CrashLoopBackOff")) o->crashloop = true;
        if (jget(cs, "state.running")) o->bot_running = true;
    }
    copy_hash(o->cfg_hash, podgen_annotation(pod, HASH_ANN_CONFIG));
}

static void summarize_cronjob(obj_sum *o, const cJSON *cj)
{
    o->active = cJSON_GetArraySize(jget(cj, "status.active"));
    o->last_schedule_ms = parse_time(jstr(cj, "status.lastScheduleTime"));
    o->last_success_ms = parse_time(jstr(cj, "status.lastSuccessfulTime"));
    o->created_ms = parse_time(jstr(cj, "metadata.creationTimestamp"));
    const cJSON *dl = jget(cj, "spec.startingDeadlineSeconds");
    o->deadline_s = cJSON_IsNumber(dl) ? (int64_t)dl->valuedouble : 0;
    free(o->schedule);
    const char *sch = jstr(cj, "spec.schedule");
    o->schedule = sch ? strdup(sch) : NULL;
    copy_hash(o->cfg_hash, podgen_annotation(cj, HASH_ANN_SCHEDULE));
}

/* ---- records and cache ------------------------------------------------------------------------ */

static rec *rec_get(ctl_ctl *c, const char *id, bool create)
{
    rec *r = hmap_get(&c->recs, id);
    if (r || !create) return r;
    r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->state = (uint8_t)c->table->initial;
    if (hmap_put(&c->recs, id, r, NULL) != T0_OK) {
        free(r);
        return NULL;
    }
    return r;
}

static void rec_maybe_free(ctl_ctl *c, const char *id, rec *r)
{
    if (r->state == c->table->initial && !r->obj && !r->nobjs && !r->create_in_flight && !r->initial_pending &&
        !r->batch_doc) {
        hmap_del(&c->recs, id);
        free(r);
    }
}

/* cache_apply: insert/replace (ADDED/MODIFIED) or remove (DELETED) one object. Ignores objects older
 * than what the cache holds (a stale list). Returns the id it concerns (borrowed from the cache or the
 * object) or NULL when the object carries no id label. */
static const char *cache_apply(ctl_ctl *c, const cJSON *obj, bool deleted, char idbuf[256])
{
    const cJSON *md = t0_json_get(obj, "metadata"); /* looked up once: this runs on every watch event */
    const char *name = jstr(md, "name");
    const cJSON *idv = t0_json_get(t0_json_get(md, "labels"), c->id_label);
    const char *id = cJSON_IsString(idv) ? idv->valuestring : NULL;
    const char *rvs = jstr(md, "resourceVersion");
    uint64_t rv = rvs ? strtoull(rvs, NULL, 10) : 0;
    if (!name || !id) return NULL;
    t0_strlcpy(idbuf, id, 256);
    if (rv > c->last_rv) c->last_rv = rv;
    obj_sum *o = hmap_get(&c->objs, name);
    if (o && rv && o->rv > rv) return idbuf; /* older than what we hold */
    rec *r = rec_get(c, id, true);
    if (!r) return NULL;
    if (deleted) {
        if (o) {
            hmap_del(&c->objs, name);
            if (r->obj == o) r->obj = NULL;
            if (r->nobjs) r->nobjs--;
            obj_free(o);
        }
        return idbuf;
    }
    if (!o) {
        o = calloc(1, sizeof *o);
        if (!o || !(o->name = strdup(name)) || !(o->id = strdup(id)) || hmap_put(&c->objs, name, o, NULL) != T0_OK) {
            if (o) {
                free(o->name);
                free(o->id);
                free(o);
            }
            return NULL;
        }
        r->nobjs++;
    }
    o->rv = rv;
    t0_strlcpy(o->rv_str, rvs, sizeof o->rv_str);
    const cJSON *dts = t0_json_get(md, "deletionTimestamp");
    o->terminating = dts && !cJSON_IsNull(dts);
    copy_hash(o->spec_hash, podgen_annotation(obj, HASH_ANN_SPEC));
    if (c->sched)
        summarize_cronjob(o, obj);
    else
        summarize_pod(o, obj);
    /* the primary object is the one with the canonical name; otherwise any */
    char canon[320];
    if (c->sched)
        names_cronjob(id, canon);
    else
        t0_strjoin(canon, sizeof canon, "bot-", id);
    if (!r->obj || !strcmp(o->name, canon)) r->obj = o;
    r->create_in_flight = false;
    return idbuf;
}

/* ---- effects helpers -------------------------------------------------------------------------- */

static bool acting_allowed(ctl_manager *m)
{
    if (m->crashed || !m->leader) return false;
    if (!m->s.leader_election) return true;
    return now_ms(m) < m->lease_valid_until;
}

static void emit_event(ctl_ctl *c, const char *id, const char *obj_name, const char *type, const char *reason,
                       const char *msg)
{
    ctl_manager *m = c->m;
    T0_INFO(c->name, "%s %s: %s: %s", c->sched ? "schedule" : "bot", id, reason, msg);
    cJSON *ev = cJSON_CreateObject();
    char name[300], when[40];
    snprintf(name, sizeof name, "%s.%llx", obj_name, (unsigned long long)++m->event_seq);
    fmt_time(now_ms(m), when, sizeof when, false);
    cJSON *md = T0_JSON_OBJ(ev, "metadata");
    T0_JSON_STR(md, "name", name);
    T0_JSON_STR(md, "namespace", m->s.pod.namespace);
    cJSON *inv = T0_JSON_OBJ(ev, "involvedObject");
    T0_JSON_STR(inv, "kind", c->sched ? "CronJob" : "Pod");
    T0_JSON_STR(inv, "name", obj_name);
    T0_JSON_STR(inv, "namespace", m->s.pod.namespace);
    T0_JSON_STR(ev, "type", type);
    T0_JSON_STR(ev, "reason", reason);
    T0_JSON_STR(ev, "message", msg);
    T0_JSON_STR(ev, "firstTimestamp", when);
    T0_JSON_STR(ev, "lastTimestamp", when);
    T0_JSON_NUM(ev, "count", 1);
    cJSON *src = T0_JSON_OBJ(ev, "source");
    T0_JSON_STR(src, "component", c->sched ? "the0-schedule-controller" : "the0-bot-controller");
    t0_err err = {0};
    m->st.events_emitted++;
    if (m->p.kube->create(m->p.kube->ctx, KUBE_EVENT, m->s.pod.namespace, ev, NULL, &err) != T0_OK)
        T0_DEBUG(c->name, "event for %s not recorded: %s", id, err.msg);
    cJSON_Delete(ev);
}

/* ---- desired state ---------------------------------------------------------------------------- */

typedef enum { D_ERROR, D_ABSENT, D_INVALID, D_VALID } dkind;
typedef struct desired {
    dkind kind;
    bool disabled; /* D_ABSENT: the document was read and says config.enabled false (not: not found) */
    cJSON *obj; /* D_VALID: the generated object (or a read-only reference lent by the memo: memo_put), or NULL
                   until an effect needs it (desired_object); never modified */
    cJSON *doc; /* D_VALID without obj: the document, to generate obj from */
    char cfg_hash[HASH_HEX_LEN + 1], spec_hash[HASH_HEX_LEN + 1];
    uint64_t fp;
    t0_err err;
} desired;

/* doc_fingerprint: a 64-bit digest of a document's content (types, keys in order, values), computed by
 * walking it without allocating: a resync compares it with the digest of the document last reconciled to
 * skip bots whose document did not change. */
static uint64_t fp_mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static uint64_t fp_walk(uint64_t h, const cJSON *v)
{
    for (; v; v = v->next) {
        unsigned char t = (unsigned char)(v->type & 0xff);
        h = fp_mix(h, &t, 1);
        if (v->string) h = fp_mix(h, v->string, strlen(v->string) + 1);
        if (cJSON_IsString(v) && v->valuestring) h = fp_mix(h, v->valuestring, strlen(v->valuestring) + 1);
        if (cJSON_IsNumber(v)) h = fp_mix(h, &v->valuedouble, sizeof v->valuedouble);
        if (v->child) {
            h = fp_walk(h, v->child);
            h = fp_mix(h, "}", 1);
        }
    }
    return h;
}

static uint64_t doc_fingerprint(const cJSON *doc)
{
    return fp_walk(1469598103934665603ull, doc ? doc->child : NULL);
}

/* ---- the memo (manager.h) ---- */
/* A full memo keeps what it has and adds nothing: the objects it holds are lent to reconciles, so it
 * never frees while in use. */
#define MEMO_MAX 65536   /* documents */
#define MEMO_OBJECTS 2048 /* generated objects kept (each some kilobytes) */

struct ctl_memo {
    podgen_settings pod;
    hmap map; /* "b"/"s" + fingerprint (16 hex digits) -> memo_ent */
    size_t objects;
    uint64_t hits;
};

typedef struct memo_ent {
    char cfg[HASH_HEX_LEN + 1], spec[HASH_HEX_LEN + 1];
    cJSON *obj; /* the generated object, or NULL */
} memo_ent;

t0_status ctl_memo_new(const podgen_settings *pod, ctl_memo **out, t0_err *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out) return t0_fail(err, T0_ENOMEM, "memo: out of memory");
    (*out)->pod = *pod;
    hmap_init(&(*out)->map);
    return T0_OK;
}

void ctl_memo_destroy(ctl_memo *memo)
{
    if (!memo) return;
    for (hmap_entry *e = hmap_first(&memo->map); e; e = hmap_next(&memo->map, e)) {
        cJSON_Delete(((memo_ent *)e->val)->obj);
        free(e->val);
    }
    hmap_free(&memo->map);
    free(memo);
}

uint64_t ctl_memo_hits(const ctl_memo *memo) { return memo ? memo->hits : 0; }

/* memo_of: C's memo, when the manager has one for its pod settings (checked once per manager) */
static ctl_memo *memo_of(ctl_ctl *c)
{
    ctl_manager *m = c->m;
    if (m->memo_checked) return m->memo;
    m->memo_checked = true;
    m->memo = m->h.memo && podgen_settings_equal(&m->h.memo->pod, &m->s.pod) ? m->h.memo : NULL;
    return m->memo;
}

static void memo_key(const ctl_ctl *c, uint64_t fp, char key[18])
{
    static const char hx[] = "0123456789abcdef";
    key[0] = c->sched ? 's' : 'b';
    for (int i = 0; i < 16; i++) key[1 + i] = hx[(fp >> (60 - 4 * i)) & 15];
    key[17] = '\0';
}

static memo_ent *memo_find(ctl_ctl *c, uint64_t fp)
{
    ctl_memo *memo = memo_of(c);
    if (!memo) return NULL;
    char key[18];
    memo_key(c, fp, key);
    memo_ent *e = hmap_get(&memo->map, key);
    if (e) memo->hits++;
    return e;
}

/* memo_get: D's hashes from the memo; false when it has none */
static bool memo_get(ctl_ctl *c, uint64_t fp, desired *d)
{
    const memo_ent *e = memo_find(c, fp);
    if (!e) return false;
    copy_hash(d->cfg_hash, e->cfg);
    copy_hash(d->spec_hash, e->spec);
    return true;
}

/* memo_put: remember D (valid, enabled, hashes set, d->obj generated from the document with fingerprint
 * FP). The memo keeps d->obj when it has room, and d->obj becomes a read-only reference to it. */
static void memo_put(ctl_ctl *c, uint64_t fp, desired *d)
{
    ctl_memo *memo = memo_of(c);
    if (!memo) return;
    char key[18];
    memo_key(c, fp, key);
    memo_ent *e = hmap_get(&memo->map, key);
    if (!e) {
        if (memo->map.count >= MEMO_MAX || !(e = calloc(1, sizeof *e))) return;
        copy_hash(e->cfg, d->cfg_hash);
        copy_hash(e->spec, d->spec_hash);
        if (hmap_put(&memo->map, key, e, NULL) != T0_OK) {
            free(e);
            return;
        }
    }
    if (e->obj || !d->obj || memo->objects >= MEMO_OBJECTS) return;
    cJSON *ref = cJSON_CreateObjectReference(d->obj->child);
    if (!ref) return;
    e->obj = d->obj;
    d->obj = ref;
    memo->objects++;
}

/* read_desired: the bot's desired state from the store. Generating the object (podgen + spec hash) is the
 * expensive part of a reconcile, so when the document's fingerprint equals the one the record's cached
 * hashes came from, the hashes are reused and the object is generated only if an effect needs it. */
static void read_desired(ctl_ctl *c, const char *id, rec *r, desired *d)
{
    ctl_manager *m = c->m;
    memset(d, 0, sizeof *d);
    if (r->want_valid && r->want_fresh && now_ms(m) < r->want_until) {
        d->kind = D_VALID; /* the object is generated from a fresh read if an effect needs it */
        d->fp = r->want_fp;
        copy_hash(d->cfg_hash, r->want_cfg);
        copy_hash(d->spec_hash, r->want_spec);
        return;
    }
    /* read by the resync that enqueued us: as fresh as a read now, unless the reconcile waited longer than
     * a resync period (while another manager led, say) */
    cJSON *doc = r->batch_doc && now_ms(m) - r->batch_at_ms <= m->s.resync_ms ? r->batch_doc : NULL;
    if (!doc) cJSON_Delete(r->batch_doc);
    r->batch_doc = NULL;
    t0_status st = T0_OK;
    if (!doc) {
        m->st.api_calls++;
        st = m->p.store->get(m->p.store->ctx, c->coll, id, &doc, &d->err);
    }
    if (st == T0_ENOTFOUND) {
        d->kind = D_ABSENT;
        return;
    }
    if (st != T0_OK) {
        m->st.api_errors++;
        d->kind = D_ERROR;
        r->want_fresh = false;
        t0_err_prefix(&d->err, "reading %s %s", store_coll_name(c->coll), id);
        return;
    }
    d->fp = doc_fingerprint(doc);
    if (r->want_valid && r->want_fp == d->fp) {
        r->want_fresh = true;
        r->want_until = now_ms(m) + m->s.resync_ms;
        d->kind = D_VALID;
        d->doc = doc;
        copy_hash(d->cfg_hash, r->want_cfg);
        copy_hash(d->spec_hash, r->want_spec);
        return;
    }
    if (memo_get(c, d->fp, d)) { /* generated before (valid and enabled): as if this record had cached it */
        d->kind = D_VALID;
        d->doc = doc;
        r->want_valid = r->want_fresh = true;
        r->want_until = now_ms(m) + m->s.resync_ms;
        r->want_fp = d->fp;
        copy_hash(r->want_cfg, d->cfg_hash);
        copy_hash(r->want_spec, d->spec_hash);
        return;
    }
    r->want_valid = r->want_fresh = false;
    botdoc *bd = NULL;
    if (botdoc_parse(doc, &bd, &d->err) != T0_OK) {
        d->kind = D_INVALID;
        cJSON_Delete(doc);
        return;
    }
    cJSON_Delete(doc);
    if (!botdoc_is_enabled(bd)) {
        d->kind = D_ABSENT;
        d->disabled = true;
        botdoc_destroy(bd);
        return;
    }
    t0_status gs = c->sched ? podgen_cronjob(&m->s.pod, bd, &d->obj, &d->err) : podgen_pod(&m->s.pod, bd, &d->obj, &d->err);
    botdoc_destroy(bd);
    if (gs != T0_OK) {
        d->kind = D_INVALID;
        return;
    }
    d->kind = D_VALID;
    copy_hash(d->cfg_hash, podgen_annotation(d->obj, c->sched ? HASH_ANN_SCHEDULE : HASH_ANN_CONFIG));
    copy_hash(d->spec_hash, podgen_annotation(d->obj, HASH_ANN_SPEC));
    r->want_valid = r->want_fresh = true;
    r->want_until = now_ms(m) + m->s.resync_ms;
    r->want_fp = d->fp;
    copy_hash(r->want_cfg, d->cfg_hash);
    copy_hash(r->want_spec, d->spec_hash);
    memo_put(c, d->fp, d);
}

/* desired_object: generate D's object when the fast paths skipped it: from D's document, or (cached
 * hashes) from a fresh read, which must still be the document the hashes came from (T0_ECONFLICT when it
 * changed meanwhile: the caller re-reconciles). */
static t0_status desired_object(ctl_ctl *c, const char *id, desired *d)
{
    if (d->obj || d->kind != D_VALID) return T0_OK;
    ctl_manager *m = c->m;
    if (!d->doc) {
        m->st.api_calls++;
        t0_status st = m->p.store->get(m->p.store->ctx, c->coll, id, &d->doc, &d->err);
        if (st != T0_OK) return st;
        if (doc_fingerprint(d->doc) != d->fp)
            return t0_fail(&d->err, T0_ECONFLICT, "%s %s changed while being reconciled", store_coll_name(c->coll), id);
    }
    const memo_ent *e = memo_find(c, d->fp);
    if (e && e->obj) { /* generated before from this very content: lent read-only (see memo_put) */
        d->obj = cJSON_CreateObjectReference(e->obj->child);
        return d->obj ? T0_OK : t0_fail(&d->err, T0_ENOMEM, "%s %s: out of memory", store_coll_name(c->coll), id);
    }
    botdoc *bd = NULL;
    t0_status st = botdoc_parse(d->doc, &bd, &d->err);
    if (st == T0_OK)
        st = c->sched ? podgen_cronjob(&m->s.pod, bd, &d->obj, &d->err) : podgen_pod(&m->s.pod, bd, &d->obj, &d->err);
    botdoc_destroy(bd);
    if (st == T0_OK) memo_put(c, d->fp, d);
    return st;
}

static void desired_free(desired *d)
{
    cJSON_Delete(d->obj);
    cJSON_Delete(d->doc);
    d->obj = d->doc = NULL;
}

static bool needs_replace(const obj_sum *o, const desired *d)
{
    if (strcmp(o->cfg_hash, d->cfg_hash) != 0) return true;
    return o->spec_hash[0] && strcmp(o->spec_hash, d->spec_hash) != 0; /* no spec hash: adopt */
}

/* ---- classification --------------------------------------------------------------------------- */

static int classify_bot(ctl_ctl *c, rec *r, const desired *d, bot_fsm_input *in)
{
    const obj_sum *o = r->obj;
    int64_t now = now_ms(c->m);
    if (r->create_in_flight && now > r->create_deadline_ms) r->create_in_flight = false; /* expectation expired */
    in->pod_exists = r->nobjs > 0;
    in->pod_terminating = o && o->terminating;
    in->create_in_flight = r->create_in_flight;
    in->escalate = false;
    if (d->kind == D_ABSENT) return r->nobjs ? BE_UNWANTED : BE_GONE;
    if (d->kind == D_INVALID) return BE_INVALID;
    if (!o) return BE_NO_POD;
    if (o->terminating) return BE_TERMINATING;
    if (o->phase == PH_SUCCEEDED || o->phase == PH_FAILED || o->phase == PH_UNKNOWN || o->evicted) return BE_TERMINAL;
    if (needs_replace(o, d)) return BE_STALE;
    if (o->init_failing && !o->bot_running && o->phase != PH_RUNNING) {
        in->escalate = o->init_restarts >= c->m->s.init_escalate;
        return BE_INIT_FAILING;
    }
    if (o->phase == PH_PENDING || o->phase == PH_NONE) return BE_PENDING;
    if (o->crashloop) {
        in->escalate = o->bot_restarts >= c->m->s.crashloop_escalate;
        return BE_CRASHLOOP;
    }
    return o->bot_running ? BE_RUNNING : BE_PENDING;
}

static int classify_sched(ctl_ctl *c, rec *r, const desired *d, sched_fsm_input *in)
{
    const obj_sum *o = r->obj;
    int64_t now = now_ms(c->m);
    if (r->create_in_flight && now > r->create_deadline_ms) r->create_in_flight = false;
    in->cj_exists = r->nobjs > 0;
    in->cj_deleting = o && o->terminating;
    in->create_in_flight = r->create_in_flight;
    if (d->kind == D_ABSENT) return r->nobjs ? SE_UNWANTED : SE_GONE;
    if (d->kind == D_INVALID) return SE_INVALID;
    if (!o) return SE_NO_CJ;
    if (o->terminating) return SE_CJ_DELETING;
    if (needs_replace(o, d)) return SE_STALE;
    if (o->active > 0) return SE_ACTIVE;
    /* missed starts: the next activation after the last one is overdue beyond the starting deadline */
    cronexpr ce;
    int64_t base = o->last_schedule_ms ? o->last_schedule_ms : o->created_ms, next;
    if (o->schedule && base && cronexpr_parse(o->schedule, &ce, NULL) == T0_OK &&
        cronexpr_next(&ce, base / 1000, &next, NULL) == T0_OK) {
        int64_t grace = (o->deadline_s > 0 ? o->deadline_s : 300) + 60;
        if (next * 1000 + grace * 1000 < now) return SE_MISSED;
    }
    if (!o->last_schedule_ms) return SE_IDLE;
    return o->last_success_ms >= o->last_schedule_ms ? SE_LAST_OK : SE_LAST_FAILED;
}

/* ---- reconcile -------------------------------------------------------------------------------- */

static void requeue_after(ctl_ctl *c, const char *id, int64_t ms) { wq_add_after(c->q, id, ms); }

static void finish_initial(ctl_ctl *c, rec *r)
{
    if (!r || !r->initial_pending) return;
    r->initial_pending = false;
    if (c->initial_left && --c->initial_left == 0 && !c->first_done) {
        c->first_done = true;
        T0_INFO(c->name, "first full reconcile done");
        ctl_manager *m = c->m;
        if (m->bots.first_done && m->scheds.first_done && !m->ready) {
            m->ready = true;
            T0_INFO("manager", "ready: both controllers finished their first full reconcile");
        }
    }
}

static bool hook_ok(ctl_ctl *c, const char *id, const char *effect)
{
    ctl_manager *m = c->m;
    if (m->h.before_effect && !m->h.before_effect(m->h.ud, c->name, id, effect)) {
        m->crashed = true;
        wq_pause(m->bots.q, true);
        wq_pause(m->scheds.q, true);
        return false;
    }
    return !m->crashed;
}

static void step(ctl_ctl *c, const char *id, rec *r, int event, const void *in, fsm_result *res);
static void execute(ctl_ctl *c, const char *id, rec *r, const desired *d, const fsm_result *res, const void *in);

/* An API effect failed: feed api_error into the table and run what it says (the backoff). A key whose
 * failures move from MongoDB to the API server (MongoDB answered this time) starts the backoff from the
 * base again: retries of a delete must not wait out the backoff of a MongoDB outage. (Not the other way:
 * failures alternating between both still back off.) */
static void api_failed(ctl_ctl *c, const char *id, rec *r, const desired *d, const void *in, const t0_err *err,
                       uint8_t src)
{
    ctl_manager *m = c->m;
    m->st.api_errors++;
    if (r->fail_src == FAIL_STORE && src == FAIL_KUBE) wq_forget(c->q, id); /* the store answered this time */
    r->fail_src = src;
    r->want_fresh = false; /* after a failure, the retry reads the desired state again */
    T0_WARN(c->name, "%s %s: %s", c->sched ? "schedule" : "bot", id, err->msg);
    fsm_result res;
    step(c, id, r, c->sched ? SE_API_ERROR : BE_API_ERROR, in, &res);
    c->retry_after_ms = err->code == T0_ETOOMANY ? err->retry_after_ms : 0;
    if (res.row) execute(c, id, r, d, &res, in);
    c->retry_after_ms = 0;
}

/* requeue_backoff: the key's exponential backoff, or exactly the Retry-After a 429 asked for (retrying
 * a throttled API server after 5 ms, 10 ms, ... would only prolong the storm). */
static void backoff(ctl_ctl *c, const char *id)
{
    if (c->retry_after_ms > 0)
        wq_add_after(c->q, id, c->retry_after_ms);
    else
        wq_add_rate_limited(c->q, id);
}

static void step(ctl_ctl *c, const char *id, rec *r, int event, const void *in, fsm_result *res)
{
    ctl_manager *m = c->m;
    fsm_tracer tr = {m->h.on_transition, m->h.ud};
    t0_err err = {0};
    t0_status st = fsm_step(c->table, r->state, event, in, id, m->h.on_transition ? &tr : NULL, res, &err);
    if (st != T0_OK) {
        T0_ERROR(c->name, "%s", err.msg);
        res->row = NULL;
        return;
    }
    r->state = (uint8_t)res->to;
}

static void refresh_obj(ctl_ctl *c, const char *id, rec *r);

static void delete_object(ctl_ctl *c, const char *id, rec *r, const desired *d, const void *in, bool unwanted)
{
    ctl_manager *m = c->m;
    obj_sum *o = r->obj;
    if (!o) return;
    kube_delete_opts opts = {c->sched ? KUBE_PROP_FOREGROUND : KUBE_PROP_BACKGROUND, -1, NULL};
    t0_err err = {0};
    m->st.api_calls++;
    t0_status st = m->p.kube->remove(m->p.kube->ctx, c->kind, m->s.pod.namespace, o->name, &opts, &err);
    if (st == T0_OK || st == T0_ENOTFOUND) {
        m->st.deletes++;
        if (unwanted) m->deletes_this_cycle++;
        T0_INFO(c->name, "%s %s: deleted %s %s", c->sched ? "schedule" : "bot", id, kube_kind_kind(c->kind), o->name);
        if (st == T0_ENOTFOUND) refresh_obj(c, id, r); /* already gone: our cache was behind */
        requeue_after(c, id, m->s.requeue_ms);
        return;
    }
    api_failed(c, id, r, d, in, &err, FAIL_KUBE);
}

static void create_object(ctl_ctl *c, const char *id, rec *r, const desired *d, const void *in)
{
    ctl_manager *m = c->m;
    t0_err err = {0};
    cJSON *out = NULL;
    m->st.api_calls++;
    t0_status st = m->p.kube->create(m->p.kube->ctx, c->kind, m->s.pod.namespace, d->obj, &out, &err);
    if (st == T0_OK) {
        m->st.creates++;
        char idbuf[256];
        if (out) cache_apply(c, out, false, idbuf);
        cJSON_Delete(out);
        r = rec_get(c, id, true);
        r->create_in_flight = true;
        r->create_deadline_ms = now_ms(m) + m->s.expectation_ttl_ms;
        T0_INFO(c->name, "%s %s: created %s %s", c->sched ? "schedule" : "bot", id, kube_kind_kind(c->kind),
                jstr(d->obj, "metadata.name"));
        return;
    }
    cJSON_Delete(out);
    if (st == T0_EEXIST) {
        /* our view is behind: learn the object, then back off */
        cJSON *cur = NULL;
        if (m->p.kube->get(m->p.kube->ctx, c->kind, m->s.pod.namespace, jstr(d->obj, "metadata.name"), &cur, NULL) ==
                T0_OK &&
            cur) {
            char idbuf[256];
            cache_apply(c, cur, false, idbuf);
        }
        cJSON_Delete(cur);
    }
    api_failed(c, id, r, d, in, &err, FAIL_KUBE);
}

static void update_cronjob(ctl_ctl *c, const char *id, rec *r, const desired *d, const void *in)
{
    ctl_manager *m = c->m;
    obj_sum *o = r->obj;
    if (!o) return;
    cJSON *obj = cJSON_Duplicate(d->obj, 1);
    cJSON *md = t0_json_get(obj, "metadata");
    cJSON_DeleteItemFromObjectCaseSensitive(md, "resourceVersion");
    cJSON_AddStringToObject(md, "resourceVersion", o->rv_str);
    t0_err err = {0};
    cJSON *out = NULL;
    m->st.api_calls++;
    t0_status st = m->p.kube->update(m->p.kube->ctx, KUBE_CRONJOB, m->s.pod.namespace, obj, &out, &err);
    cJSON_Delete(obj);
    if (st == T0_OK) {
        m->st.updates++;
        char idbuf[256];
        if (out) cache_apply(c, out, false, idbuf);
        cJSON_Delete(out);
        T0_INFO(c->name, "schedule %s: updated CronJob %s", id, o->name);
        return;
    }
    cJSON_Delete(out);
    if (st == T0_ECONFLICT) {
        m->st.api_errors++;
        T0_INFO(c->name, "schedule %s: update conflict (%s); re-reading", id, err.msg);
        fsm_result res;
        step(c, id, r, SE_CONFLICT, in, &res);
        if (res.row) execute(c, id, r, d, &res, in);
        return;
    }
    api_failed(c, id, r, d, in, &err, FAIL_KUBE);
}

/* refresh_obj: GET the bot's primary object and update the cache from the answer (a 404 drops it). Used
 * when the cache may be behind: after a 409 on update, after a delete answered 404, and while waiting for
 * a terminating object to go (a lost DELETED watch event would otherwise wait for the next re-list). */
static void refresh_obj(ctl_ctl *c, const char *id, rec *r)
{
    ctl_manager *m = c->m;
    if (!r->obj) return;
    cJSON *cur = NULL;
    char name[256];
    t0_strlcpy(name, r->obj->name, sizeof name);
    m->st.api_calls++;
    t0_status st = m->p.kube->get(m->p.kube->ctx, c->kind, m->s.pod.namespace, name, &cur, NULL);
    char idbuf[256];
    if (st == T0_OK && cur)
        cache_apply(c, cur, false, idbuf);
    else if (st == T0_ENOTFOUND && r->obj) {
        cJSON *stub = cJSON_CreateObject();
        cJSON *md = cJSON_AddObjectToObject(stub, "metadata");
        cJSON_AddStringToObject(md, "name", name);
        cJSON *lb = cJSON_AddObjectToObject(md, "labels");
        cJSON_AddStringToObject(lb, c->id_label, id);
        cache_apply(c, stub, true, idbuf);
        cJSON_Delete(stub);
    }
    cJSON_Delete(cur);
}

static void reread(ctl_ctl *c, const char *id, rec *r)
{
    refresh_obj(c, id, r);
    wq_add(c->q, id);
}

static void execute(ctl_ctl *c, const char *id, rec *r, const desired *d, const fsm_result *res, const void *in)
{
    ctl_manager *m = c->m;
    char objname[320];
    if (c->sched)
        names_cronjob(id, objname);
    else
        t0_strjoin(objname, sizeof objname, "bot-", id);
    for (int i = 0; i < res->nfx; i++) {
        int fx = res->fx[i];
        const char *fxname = fsm_effect_name(c->table, fx);
        if (!hook_ok(c, id, fxname)) return;
        if (!acting_allowed(m)) {
            T0_WARN(c->name, "%s: not leader (or lease not renewed): effect %s skipped", id, fxname);
            return;
        }
        if (!c->sched) {
            switch (fx) {
            case BFX_CREATE_POD: create_object(c, id, r, d, in); break;
            case BFX_DELETE_POD: delete_object(c, id, r, d, in, d->kind == D_ABSENT); break;
            case BFX_REQUEUE: requeue_after(c, id, m->s.requeue_ms); break;
            case BFX_BACKOFF: backoff(c, id); break;
            case BFX_FORGET: wq_forget(c->q, id); break;
            case BFX_REPORT_INVALID: emit_event(c, id, objname, "Warning", "InvalidBotSpec", d->err.msg); break;
            case BFX_EVENT_RUNNING: emit_event(c, id, objname, "Normal", "BotRunning", "bot container running"); break;
            case BFX_EVENT_CRASHLOOP:
                emit_event(c, id, objname, "Warning", "BotCrashLooping", "bot container is in CrashLoopBackOff");
                break;
            case BFX_EVENT_INIT_FAILING:
                emit_event(c, id, objname, "Warning", "BotInitFailing",
                           "init container keeps failing (code or state cannot be fetched?)");
                break;
            case BFX_EVENT_ESCALATED:
                emit_event(c, id, objname, "Warning", "BotRecreated", "failures crossed the threshold: recreating the pod");
                break;
            case BFX_EVENT_TERMINAL: emit_event(c, id, objname, "Warning", "BotPodEnded", "pod ended; replacing it"); break;
            default: break;
            }
        } else {
            switch (fx) {
            case SFX_CREATE_CJ: create_object(c, id, r, d, in); break;
            case SFX_UPDATE_CJ: update_cronjob(c, id, r, d, in); break;
            case SFX_REREAD: reread(c, id, r); break;
            case SFX_DELETE_CJ: delete_object(c, id, r, d, in, d->kind == D_ABSENT); break;
            case SFX_REQUEUE: requeue_after(c, id, m->s.requeue_ms); break;
            case SFX_BACKOFF: backoff(c, id); break;
            case SFX_FORGET: wq_forget(c->q, id); break;
            case SFX_REPORT_INVALID: emit_event(c, id, objname, "Warning", "InvalidSchedule", d->err.msg); break;
            case SFX_EVENT_FAILED: emit_event(c, id, objname, "Warning", "ScheduledRunFailed", "the last run failed"); break;
            case SFX_EVENT_MISSED:
                emit_event(c, id, objname, "Warning", "ScheduledStartsMissed", "starts were missed past the deadline");
                break;
            default: break;
            }
        }
        if (m->crashed) return;
        r = rec_get(c, id, false);
        if (!r) return;
    }
}

static void reconcile(void *ud, const char *id)
{
    ctl_ctl *c = ud;
    ctl_manager *m = c->m;
    if (m->crashed || !acting_allowed(m)) return;
    m->st.reconciles++;
    rec *r = rec_get(c, id, true);
    if (!r) return;
    desired d;
    read_desired(c, id, r, &d);
    if (d.kind == D_ERROR) {
        /* a failed desired-state read never leads to a deletion: back off and look again */
        m->st.reconcile_errors++;
        bot_fsm_input bin = {0};
        sched_fsm_input sin = {0};
        api_failed(c, id, r, &d, c->sched ? (void *)&sin : (void *)&bin, &d.err, FAIL_STORE);
        finish_initial(c, r);
        return;
    }
    if (d.kind == D_ABSENT && r->nobjs) {
        /* The gate guards against deleting on a failed or collapsed list read. This reconcile read the
         * bot's own document: when the list failed, that read decides; when the list collapsed, only an
         * explicit disable does (a missing document is what a collapse looks like). */
        bool own_read_decides = !c->gate_suspicious || d.disabled;
        if (!c->gate_open && !own_read_decides) {
            m->st.deletion_guard_trips++;
            T0_WARN(c->name, "%s: its document is missing, but deletions are held (the last desired-state list was "
                             "suspiciously empty); looking again at the next resync", id);
            requeue_after(c, id, m->s.resync_ms);
            finish_initial(c, r);
            return;
        }
        if (r->obj && !r->obj->terminating && m->deletes_this_cycle >= m->s.max_deletes_per_cycle) {
            m->st.deletes_deferred++;
            T0_WARN(c->name, "%s: deletion deferred: %d deletions this cycle (cap %d)", id, m->deletes_this_cycle,
                    m->s.max_deletes_per_cycle);
            requeue_after(c, id, m->s.resync_ms);
            finish_initial(c, r);
            return;
        }
    }
    if (r->obj && r->obj->terminating) {
        refresh_obj(c, id, r); /* waiting for it to go: do not depend on the watch alone */
        r = rec_get(c, id, true);
    }
    bot_fsm_input bin;
    sched_fsm_input sin;
    int ev = c->sched ? classify_sched(c, r, &d, &sin) : classify_bot(c, r, &d, &bin);
    if (ev == (c->sched ? SE_STALE : BE_STALE) || (!c->sched && ev == BE_TERMINAL && r->state != BS_TERMINAL_POD)) {
        /* these delete or replace a live object: decide on a fresh read of it, never on a cache that a
         * stale list or a lost watch event left behind */
        refresh_obj(c, id, r);
        r = rec_get(c, id, true);
        ev = c->sched ? classify_sched(c, r, &d, &sin) : classify_bot(c, r, &d, &bin);
    }
    if (!c->sched && bin.escalate && !c->gate_open) {
        /* escalation deletes a live pod: hold it while deletions are held (a failed or suspicious
         * desired-state read); the crash loop stays surfaced and escalates after a good read */
        bin.escalate = false;
        m->st.deletion_guard_trips++;
    }
    const void *in = c->sched ? (const void *)&sin : (const void *)&bin;
    fsm_result res;
    step(c, id, r, ev, in, &res);
    if (res.row && d.kind == D_VALID && !d.obj) {
        bool needs = false;
        for (int i = 0; i < res.nfx; i++)
            needs |= c->sched ? (res.fx[i] == SFX_CREATE_CJ || res.fx[i] == SFX_UPDATE_CJ) : res.fx[i] == BFX_CREATE_POD;
        if (needs && desired_object(c, id, &d) != T0_OK) {
            /* the document changed or could not be read again: look again from a fresh read */
            T0_WARN(c->name, "%s: the object could not be generated now (%s); looking again", id, d.err.msg);
            r->want_valid = r->want_fresh = false;
            wq_add_rate_limited(c->q, id);
            desired_free(&d);
            finish_initial(c, r);
            return;
        }
    }
    if (res.row) execute(c, id, r, &d, &res, in);
    desired_free(&d);
    if (m->crashed) return;
    r = rec_get(c, id, false);
    if (r) {
        if (r->doc_fp != d.fp) r->doc_rev = 0;
        r->doc_fp = d.fp;
        finish_initial(c, r);
        rec_maybe_free(c, id, r);
    }
}

/* ---- informer: list + watch ------------------------------------------------------------------- */

static void start_watch(ctl_ctl *c);

static void on_watch(void *ud, kube_watch_type type, const cJSON *obj)
{
    ctl_ctl *c = ud;
    ctl_manager *m = c->m;
    if (m->crashed) return;
    if (type == KUBE_WATCH_GONE || type == KUBE_WATCH_CLOSED) {
        if (c->watch) m->p.kube->unwatch(m->p.kube->ctx, c->watch);
        c->watch = NULL;
        if (type == KUBE_WATCH_GONE) c->last_rv = 0; /* re-list */
        start_watch(c);
        return;
    }
    char idbuf[256];
    const char *id = cache_apply(c, obj, type == KUBE_WATCH_DELETED, idbuf);
    if (id) wq_add(c->q, id);
}

/* relist: replace the cache with a fresh list; objects that vanished are dropped only when the list is
 * newer than what we saw of them. Enqueues every id whose object changed. */
static void list_retry_tick(void *ud);

/* obj_vanished: an object that the list of generation GEN at resourceVersion LIST_RV no longer has */
typedef struct vanish_ctx {
    uint32_t gen;
    uint64_t list_rv;
} vanish_ctx;
static bool obj_vanished(const hmap_entry *e, const void *ud)
{
    const obj_sum *o = e->val;
    const vanish_ctx *x = ud;
    return o->list_gen != x->gen && o->rv < x->list_rv;
}

static t0_status relist(ctl_ctl *c)
{
    ctl_manager *m = c->m;
    cJSON *list = NULL;
    t0_err err = {0};
    m->st.api_calls++;
    t0_status st = m->p.kube->list(m->p.kube->ctx, c->kind, m->s.pod.namespace, c->selector, &list, &err);
    if (st != T0_OK) {
        m->st.api_errors++;
        cJSON_Delete(list);
        /* blind until a list succeeds: retry from 1 s, doubling up to the resync period (what an informer
         * does), rather than only at the next resync */
        c->list_backoff_ms = c->list_backoff_ms ? c->list_backoff_ms * 2 : 1000;
        if (c->list_backoff_ms > m->s.resync_ms) c->list_backoff_ms = m->s.resync_ms;
        T0_WARN(c->name, "list %s: %s (retrying in %lld ms)", kube_kind_name(c->kind), err.msg,
                (long long)c->list_backoff_ms);
        if (!c->list_timer) c->list_timer = m->p.loop->timer(m->p.loop->ctx, c->list_backoff_ms, list_retry_tick, c);
        return st;
    }
    c->list_backoff_ms = 0;
    if (c->list_timer) { /* a retry armed by an earlier failure is moot */
        m->p.loop->cancel(m->p.loop->ctx, c->list_timer);
        c->list_timer = 0;
    }
    const char *lrvs = jstr(list, "metadata.resourceVersion");
    uint64_t list_rv = lrvs ? strtoull(lrvs, NULL, 10) : 0;
    uint32_t gen = ++c->list_gen;
    const cJSON *item;
    cJSON_ArrayForEach(item, t0_json_get(list, "items"))
    {
        const cJSON *md = t0_json_get(item, "metadata");
        const char *name = jstr(md, "name");
        obj_sum *before = name ? hmap_get(&c->objs, name) : NULL;
        const char *irv = jstr(md, "resourceVersion");
        if (before && irv && !strcmp(irv, before->rv_str)) { /* unchanged since we saw it */
            before->list_gen = gen;
            continue;
        }
        uint64_t before_rv = before ? before->rv : 0;
        char idbuf[256];
        const char *id = cache_apply(c, item, false, idbuf);
        obj_sum *after = name ? hmap_get(&c->objs, name) : NULL;
        if (after) after->list_gen = gen;
        if (id && (!before || (after && after->rv != before_rv))) wq_add(c->q, id);
    }
    /* vanished objects, in name order (it reaches the work queue); cache_apply deletes each one's entry
     * after its last use here */
    hmap_entry **gone = hmap_sorted(&c->objs, obj_vanished, &(vanish_ctx){gen, list_rv}, NULL);
    for (size_t i = 0; gone && gone[i]; i++) {
        const obj_sum *o = gone[i]->val;
        cJSON *stub = cJSON_CreateObject();
        cJSON *md = cJSON_AddObjectToObject(stub, "metadata");
        cJSON_AddStringToObject(md, "name", o->name);
        cJSON *lb = cJSON_AddObjectToObject(md, "labels");
        cJSON_AddStringToObject(lb, c->id_label, o->id);
        char idbuf[256];
        const char *id = cache_apply(c, stub, true, idbuf);
        if (id) wq_add(c->q, id);
        cJSON_Delete(stub);
    }
    free(gone);
    if (list_rv > c->last_rv) c->last_rv = list_rv;
    cJSON_Delete(list);
    return T0_OK;
}

static void list_retry_tick(void *ud)
{
    ctl_ctl *c = ud;
    ctl_manager *m = c->m;
    c->list_timer = 0;
    if (m->crashed || !acting_allowed(m) || !c->list_backoff_ms) return; /* a list succeeded meanwhile */
    if (relist(c) != T0_OK) return; /* armed again */
    c->last_relist_ms = now_ms(m);
    if (!c->watch) start_watch(c);
}

static void start_watch(ctl_ctl *c)
{
    ctl_manager *m = c->m;
    if (c->watch) return;
    if (!c->last_rv && relist(c) != T0_OK) return; /* the next resync tries again */
    char rv[24];
    snprintf(rv, sizeof rv, "%llu", (unsigned long long)c->last_rv);
    t0_err err = {0};
    t0_status st = m->p.kube->watch(m->p.kube->ctx, c->kind, m->s.pod.namespace, c->selector, rv, on_watch, c, &c->watch, &err);
    if (st == T0_EGONE) {
        c->last_rv = 0;
        if (relist(c) == T0_OK) {
            snprintf(rv, sizeof rv, "%llu", (unsigned long long)c->last_rv);
            st = m->p.kube->watch(m->p.kube->ctx, c->kind, m->s.pod.namespace, c->selector, rv, on_watch, c, &c->watch, &err);
        }
    }
    if (st != T0_OK) {
        c->watch = NULL;
        T0_WARN(c->name, "watch %s: %s (the resync re-lists)", kube_kind_name(c->kind), err.msg);
    }
}

/* ---- full resync ------------------------------------------------------------------------------ */

static bool steady(const ctl_ctl *c, int state)
{
    if (c->sched)
        return state == SS_IDLE || state == SS_JOB_RUNNING || state == SS_SUCCEEDED || state == SS_FAILED ||
               state == SS_INVALID;
    return state == BS_RUNNING || state == BS_INVALID;
}

/* rec_unseen: a key the last desired-state read (generation ctl->gen) did not have */
static bool rec_unseen(const hmap_entry *e, const void *ctl) { return ((const rec *)e->val)->seen_gen != ((const ctl_ctl *)ctl)->gen; }

static void resync_ctl(ctl_ctl *c, bool initial)
{
    ctl_manager *m = c->m;
    /* a first full reconcile whose desired-state read failed never started: this resync is the first one
     * (otherwise the manager would never become ready while it keeps leading) */
    if (!c->first_done && c->initial_left == 0) initial = true;
    int64_t now = now_ms(m);
    if (initial || !c->watch || !c->last_relist_ms || now - c->last_relist_ms >= m->s.relist_ms) {
        if (relist(c) == T0_OK) c->last_relist_ms = now;
    }
    if (!c->watch) start_watch(c);
    cJSON *docs = NULL;
    uint64_t *revs = NULL;
    t0_err err = {0};
    m->st.api_calls++;
    t0_status st = m->p.store->find_enabled(m->p.store->ctx, c->coll, &docs, &revs, &err);
    if (st != T0_OK) {
        m->st.api_errors++;
        c->gate_open = false; /* gate_suspicious stays: a collapse is cleared only by a good read */
        m->st.deletion_guard_trips++;
        T0_WARN(c->name, "desired-state read failed (%s): deletions only on a bot's own successful read until a list read succeeds", err.msg);
        cJSON_Delete(docs);
        free(revs);
        if (initial) {
            /* still count as reconciled once every observed key was looked at (in key order) */
            hmap_entry **v = hmap_sorted(&c->recs, NULL, NULL, NULL);
            for (size_t i = 0; v && v[i]; i++) wq_add(c->q, v[i]->key);
            free(v);
        }
        return;
    }
    long count = cJSON_GetArraySize(docs);
    /* suspicion: the desired set collapsed (to nothing, or by more than half of at least 10) — hold
     * deletions until the next read confirms the same count */
    bool suspicious = c->last_count > 0 && (count == 0 || (c->last_count >= 10 && count * 2 < c->last_count));
    c->gate_suspicious = suspicious;
    if (suspicious) {
        c->gate_open = false;
        m->st.deletion_guard_trips++;
        T0_WARN(c->name, "desired state dropped from %ld to %ld documents: deletions held until confirmed", c->last_count,
                count);
    } else {
        c->gate_open = true;
    }
    c->last_count = count;
    c->gen++;
    const cJSON *doc;
    size_t di = 0;
    cJSON_ArrayForEach(doc, docs)
    {
        uint64_t rev = revs ? revs[di] : 0;
        di++;
        const cJSON *idj = t0_json_get(doc, "id");
        if (!cJSON_IsString(idj) || !idj->valuestring[0]) {
            T0_WARN(c->name, "a %s document has no string id: skipped", store_coll_name(c->coll));
            continue;
        }
        const char *id = idj->valuestring;
        rec *r = rec_get(c, id, false);
        if (!initial && r && steady(c, r->state)) {
            /* unchanged since the last reconcile: the same revision, or (new revision) the same content */
            bool same = rev && r->doc_rev == rev;
            if (!same && r->doc_fp == doc_fingerprint(doc)) {
                r->doc_rev = rev;
                same = true;
            }
            if (same) {
                r->seen_gen = c->gen;
                continue;
            }
        }
        r = rec_get(c, id, true);
        if (!r) continue;
        r->seen_gen = c->gen;
        r->want_fresh = false; /* read it again: it may have changed without a NATS message */
        cJSON_Delete(r->batch_doc); /* this read is the fresh read: the reconcile uses it */
        r->batch_doc = cJSON_Duplicate(doc, 1);
        r->batch_at_ms = now_ms(m);
        if (initial && !r->initial_pending) {
            r->initial_pending = true;
            c->initial_left++;
        }
        wq_add(c->q, id);
    }
    cJSON_Delete(docs);
    free(revs);
    /* observed keys that are not desired (or disabled: their documents are not in the enabled read) */
    hmap_entry **v = hmap_sorted(&c->recs, rec_unseen, c, NULL); /* key order: it reaches the work queue */
    for (size_t i = 0; v && v[i]; i++) {
        rec *r = v[i]->val;
        r->want_fresh = false; /* not in the enabled read: deleted or disabled; read it again */
        cJSON_Delete(r->batch_doc);
        r->batch_doc = NULL;
        if (initial && !r->initial_pending) {
            r->initial_pending = true;
            c->initial_left++;
        }
        wq_add(c->q, v[i]->key);
    }
    free(v);
    if (initial && c->initial_left == 0 && !c->first_done) {
        c->first_done = true;
        if (m->bots.first_done && m->scheds.first_done) m->ready = true;
    }
}

static void resync_tick(void *ud)
{
    ctl_manager *m = ud;
    m->resync_timer = 0;
    if (m->crashed) return;
    if (acting_allowed(m)) {
        m->st.resyncs++;
        m->deletes_this_cycle = 0;
        resync_ctl(&m->bots, false);
        resync_ctl(&m->scheds, false);
    }
    m->resync_timer = m->p.loop->timer(m->p.loop->ctx, m->s.resync_ms, resync_tick, m);
}

void ctl_manager_resync_now(ctl_manager *m)
{
    if (!m || m->crashed || !acting_allowed(m)) return;
    m->st.resyncs++;
    resync_ctl(&m->bots, false);
    resync_ctl(&m->scheds, false);
}

/* ---- leadership ------------------------------------------------------------------------------- */

static void start_leading(ctl_manager *m)
{
    T0_INFO("manager", "%s: became leader", m->s.identity);
    m->leader = true;
    m->deletes_this_cycle = 0;
    wq_pause(m->bots.q, false);
    wq_pause(m->scheds.q, false);
    m->st.resyncs++;
    resync_ctl(&m->bots, true);
    resync_ctl(&m->scheds, true);
    if (!m->resync_timer) m->resync_timer = m->p.loop->timer(m->p.loop->ctx, m->s.resync_ms, resync_tick, m);
}

static void stop_leading(ctl_manager *m, const char *why)
{
    if (!m->leader) return;
    T0_WARN("manager", "%s: stopped leading: %s", m->s.identity, why);
    m->leader = false;
    m->ready = false;
    m->bots.first_done = m->scheds.first_done = false;
    wq_pause(m->bots.q, true);
    wq_pause(m->scheds.q, true);
}

static cJSON *lease_object(ctl_manager *m, const char *rv, int64_t acquire_ms, int transitions)
{
    char renew[40], acq[40];
    fmt_time(now_ms(m), renew, sizeof renew, true);
    fmt_time(acquire_ms, acq, sizeof acq, true);
    cJSON *l = cJSON_CreateObject();
    T0_JSON_STR(l, "apiVersion", "coordination.k8s.io/v1");
    T0_JSON_STR(l, "kind", "Lease");
    cJSON *md = T0_JSON_OBJ(l, "metadata");
    T0_JSON_STR(md, "name", m->s.lease_name);
    T0_JSON_STR(md, "namespace", m->s.pod.namespace);
    if (rv) T0_JSON_STR(md, "resourceVersion", rv);
    cJSON *sp = T0_JSON_OBJ(l, "spec");
    T0_JSON_STR(sp, "holderIdentity", m->s.identity);
    T0_JSON_NUM(sp, "leaseDurationSeconds", (double)(m->s.lease_duration_ms / 1000));
    T0_JSON_STR(sp, "acquireTime", acq);
    T0_JSON_STR(sp, "renewTime", renew);
    T0_JSON_NUM(sp, "leaseTransitions", transitions);
    return l;
}

static void lease_tick(void *ud)
{
    ctl_manager *m = ud;
    m->lease_timer = 0;
    if (m->crashed || m->released) return;
    int64_t now = now_ms(m);
    kube_port *k = m->p.kube;
    cJSON *cur = NULL, *next = NULL;
    t0_err err = {0};
    t0_status st = k->get(k->ctx, KUBE_LEASE, m->s.pod.namespace, m->s.lease_name, &cur, &err);
    bool ok = false;
    if (st == T0_ENOTFOUND) {
        next = lease_object(m, NULL, now, 0);
        ok = k->create(k->ctx, KUBE_LEASE, m->s.pod.namespace, next, NULL, &err) == T0_OK;
    } else if (st == T0_OK) {
        const char *holder = jstr(cur, "spec.holderIdentity");
        int64_t renew = parse_time(jstr(cur, "spec.renewTime"));
        const cJSON *dur = jget(cur, "spec.leaseDurationSeconds");
        int64_t dur_ms = cJSON_IsNumber(dur) ? (int64_t)dur->valuedouble * 1000 : m->s.lease_duration_ms;
        const cJSON *tr = jget(cur, "spec.leaseTransitions");
        int transitions = cJSON_IsNumber(tr) ? (int)tr->valuedouble : 0;
        const char *rv = jstr(cur, "metadata.resourceVersion");
        bool mine = holder && !strcmp(holder, m->s.identity);
        bool expired = !holder || !holder[0] || now > renew + dur_ms;
        if (mine || expired) {
            int64_t acq = mine ? parse_time(jstr(cur, "spec.acquireTime")) : now;
            next = lease_object(m, rv, acq, mine ? transitions : transitions + 1);
            ok = k->update(k->ctx, KUBE_LEASE, m->s.pod.namespace, next, NULL, &err) == T0_OK;
        }
    }
    cJSON_Delete(cur);
    cJSON_Delete(next);
    if (ok) {
        m->lease_valid_until = now + m->s.lease_duration_ms;
        if (!m->leader) start_leading(m);
    } else if (m->leader && now >= m->lease_valid_until) {
        stop_leading(m, err.msg[0] ? err.msg : "lease held by another manager");
    } else if (m->leader && err.msg[0]) {
        T0_WARN("manager", "lease renewal failed (%s); leading until %lld", err.msg, (long long)m->lease_valid_until);
    } else if (!m->leader && err.msg[0]) {
        T0_WARN("manager", "%s: cannot reach the lease %s: %s", m->s.identity, m->s.lease_name, err.msg);
    } else if (!m->leader) {
        T0_DEBUG("manager", "%s: standing by; the lease %s is held by another manager", m->s.identity, m->s.lease_name);
    }
    if (m->leader && now >= m->lease_valid_until) stop_leading(m, "lease expired");
    m->lease_timer = m->p.loop->timer(m->p.loop->ctx, m->s.lease_renew_ms, lease_tick, m);
}

/* ---- NATS ------------------------------------------------------------------------------------- */

static t0_status on_message(void *ud, const char *subject, const char *data, size_t len)
{
    ctl_manager *m = ud;
    if (m->crashed) return T0_EUNAVAILABLE;
    m->st.nats_messages++;
    store_coll coll;
    sub_op op;
    t0_err err = {0};
    cJSON *fields = NULL;
    t0_status st = sub_parse_subject(subject, &coll, &op, &err);
    if (st == T0_OK) st = sub_parse_payload(coll, data, len, &fields, &err);
    if (st != T0_OK) {
        m->st.nats_bad_messages++;
        T0_ERROR("subscriber", "%s: dropped: %s", subject, err.msg);
        return st;
    }
    st = sub_apply(m->p.store, coll, op, fields, now_ms(m), &err);
    if (st == T0_OK) {
        const char *id = t0_json_get(fields, "id")->valuestring;
        ctl_ctl *c = coll == STORE_BOTS ? &m->bots : &m->scheds;
        rec *r = rec_get(c, id, false);
        if (r) { /* the document changed: the next reconcile reads it */
            r->want_fresh = false;
            cJSON_Delete(r->batch_doc);
            r->batch_doc = NULL;
        }
        if (op == SUB_DELETED) {
            /* an explicit delete is not a suspicious read; it still passes the deletion cap */
        }
        wq_add(c->q, id);
    } else {
        T0_WARN("subscriber", "%s: %s (%s)", subject, err.msg, t0_status_retryable(st) ? "will be redelivered" : "dropped");
    }
    cJSON_Delete(fields);
    return st;
}

/* ---- lifecycle -------------------------------------------------------------------------------- */

static t0_status ctl_init(ctl_manager *m, ctl_ctl *c, bool sched, t0_err *err)
{
    c->m = m;
    c->sched = sched;
    c->table = sched ? &fsm_schedule_table : &fsm_bot_table;
    c->kind = sched ? KUBE_CRONJOB : KUBE_POD;
    c->coll = sched ? STORE_SCHEDULES : STORE_BOTS;
    c->name = sched ? "schedule-controller" : "bot-controller";
    c->id_label = sched ? LBL_SCHED_ID : LBL_BOT_ID;
    snprintf(c->selector, sizeof c->selector, "%s=%s", LBL_MANAGED_BY,
             sched ? m->s.pod.schedule_controller_name : m->s.pod.bot_controller_name);
    c->last_count = -1;
    hmap_init(&c->recs);
    hmap_init(&c->objs);
    wq_settings ws = {m->s.backoff_base_ms, m->s.backoff_cap_ms, m->s.queue_qps, m->s.queue_burst, 64};
    t0_status st = wq_new(m->p.loop, &ws, reconcile, c, &c->q, err);
    if (st == T0_OK) wq_pause(c->q, true);
    return st;
}

static void ctl_fini(ctl_manager *m, ctl_ctl *c)
{
    if (c->watch) m->p.kube->unwatch(m->p.kube->ctx, c->watch);
    if (c->list_timer) m->p.loop->cancel(m->p.loop->ctx, c->list_timer);
    wq_destroy(c->q);
    for (hmap_entry *e = hmap_first(&c->objs); e; e = hmap_next(&c->objs, e)) obj_free(e->val);
    for (hmap_entry *e = hmap_first(&c->recs); e; e = hmap_next(&c->recs, e)) {
        cJSON_Delete(((rec *)e->val)->batch_doc);
        free(e->val);
    }
    hmap_free(&c->objs);
    hmap_free(&c->recs);
}

t0_status ctl_manager_new(const ctl_settings *s, const ctl_ports *ports, const ctl_hooks *hooks, ctl_manager **out,
                          t0_err *err)
{
    *out = NULL;
    if (!ports || !ports->loop || !ports->kube || !ports->store)
        return t0_fail(err, T0_EINVAL, "manager: the loop, kube and store ports are required");
    ctl_manager *m = calloc(1, sizeof *m);
    if (!m) return t0_fail(err, T0_ENOMEM, "manager: out of memory");
    m->s = *s;
    m->p = *ports;
    if (hooks) m->h = *hooks;
    t0_status st = ctl_init(m, &m->bots, false, err);
    if (st == T0_OK) st = ctl_init(m, &m->scheds, true, err);
    if (st != T0_OK) {
        ctl_manager_destroy(m);
        return st;
    }
    *out = m;
    return T0_OK;
}

/* subscribe_all: subscribe what is not subscribed yet: the durable consumer, else a core subscription.
 * RETRY: a retry after NATS was unavailable (the fallback is then not worth a warning each time). */
static t0_status subscribe_all(ctl_manager *m, bool retry, t0_err *err)
{
    static const char *const subjects[2] = {"the0.bot.*", "the0.bot-schedule.*"};
    static const char *const durables[2] = {"the0-runtime-bots", "the0-runtime-schedules"};
    for (int i = 0; i < 2; i++) {
        if (m->subs[i]) continue;
        t0_err e = {0};
        t0_status st = T0_EINVAL;
        if (m->s.nats_durable && m->p.bus->subscribe_durable)
            st = m->p.bus->subscribe_durable(m->p.bus->ctx, "THE0_EVENTS", subjects[i], durables[i], on_message, m,
                                             &m->subs[i], &e);
        if (st != T0_OK) {
            if (m->s.nats_durable && m->p.bus->subscribe_durable && !retry)
                T0_WARN("manager", "durable consumer on THE0_EVENTS unavailable (%s): core subscription", e.msg);
            st = m->p.bus->subscribe(m->p.bus->ctx, subjects[i], "runtime", on_message, m, &m->subs[i], &e);
        }
        if (st != T0_OK) {
            m->subs[i] = NULL;
            return t0_fail(err, st, "subscribing to %s: %s", subjects[i], e.msg);
        }
    }
    return T0_OK;
}

#define BUS_RETRY_MS 5000

/* NATS was unreachable: the controller runs on its resyncs meanwhile and subscribes again every
 * BUS_RETRY_MS (messages published meanwhile wait in the durable consumer). */
static void bus_retry_tick(void *ud)
{
    ctl_manager *m = ud;
    m->bus_timer = 0;
    if (m->crashed || m->released) return;
    t0_err e = {0};
    if (subscribe_all(m, true, &e) != T0_OK) {
        T0_DEBUG("manager", "NATS still unavailable (%s): retrying in %d s", e.msg, BUS_RETRY_MS / 1000);
        m->bus_timer = m->p.loop->timer(m->p.loop->ctx, BUS_RETRY_MS, bus_retry_tick, m);
        return;
    }
    T0_INFO("manager", "%s: subscribed to NATS", m->s.identity);
}

t0_status ctl_manager_start(ctl_manager *m, t0_err *err)
{
    if (m->started) return t0_fail(err, T0_ESTATE, "manager already running");
    m->started = true;
    t0_err e = {0};
    if (m->p.bus && subscribe_all(m, false, &e) != T0_OK) {
        /* NATS only triggers: without it the controller still converges through its resyncs */
        T0_WARN("manager", "%s: NATS unavailable at start (%s): running on resyncs, subscribing again every %d s",
                m->s.identity, e.msg, BUS_RETRY_MS / 1000);
        m->bus_timer = m->p.loop->timer(m->p.loop->ctx, BUS_RETRY_MS, bus_retry_tick, m);
    }
    (void)err;
    if (m->s.leader_election) {
        lease_tick(m);
    } else {
        start_leading(m);
    }
    return T0_OK;
}

void ctl_manager_release(ctl_manager *m)
{
    if (!m || m->crashed || !m->leader || !m->s.leader_election) return;
    cJSON *cur = NULL;
    if (m->p.kube->get(m->p.kube->ctx, KUBE_LEASE, m->s.pod.namespace, m->s.lease_name, &cur, NULL) == T0_OK) {
        const char *holder = jstr(cur, "spec.holderIdentity");
        cJSON *next = holder && !strcmp(holder, m->s.identity) ? cJSON_Duplicate(cur, 1) : NULL; /* cur: read-only */
        cJSON_Delete(cur);
        cur = next;
        if (next) {
            cJSON *sp = t0_json_get(next, "spec");
            cJSON_ReplaceItemInObjectCaseSensitive(sp, "holderIdentity", cJSON_CreateString(""));
            m->p.kube->update(m->p.kube->ctx, KUBE_LEASE, m->s.pod.namespace, next, NULL, NULL);
        }
    }
    cJSON_Delete(cur);
    m->released = true;
    stop_leading(m, "released");
}

void ctl_manager_destroy(ctl_manager *m)
{
    if (!m) return;
    for (int i = 0; i < 2; i++)
        if (m->subs[i] && m->p.bus) m->p.bus->unsubscribe(m->p.bus->ctx, m->subs[i]);
    if (m->lease_timer) m->p.loop->cancel(m->p.loop->ctx, m->lease_timer);
    if (m->resync_timer) m->p.loop->cancel(m->p.loop->ctx, m->resync_timer);
    if (m->bus_timer) m->p.loop->cancel(m->p.loop->ctx, m->bus_timer);
    if (m->bots.q) ctl_fini(m, &m->bots);
    if (m->scheds.q) ctl_fini(m, &m->scheds);
    free(m);
}

bool ctl_manager_ready(const ctl_manager *m) { return m && m->ready && !m->crashed; }
bool ctl_manager_is_leader(const ctl_manager *m) { return m && m->leader && !m->crashed; }
bool ctl_manager_crashed(const ctl_manager *m) { return m && m->crashed; }

void ctl_manager_stats(const ctl_manager *m, ctl_stats *out)
{
    *out = m->st;
    out->queue_depth = wq_len(m->bots.q) + wq_len(m->scheds.q);
    out->bots = (unsigned)m->bots.recs.count;
    out->schedules = (unsigned)m->scheds.recs.count;
    out->leader = ctl_manager_is_leader(m);
    out->ready = ctl_manager_ready(m);
    for (hmap_entry *e = hmap_first(&m->bots.recs); e; e = hmap_next(&m->bots.recs, e))
        out->bot_states[((rec *)e->val)->state & 15]++;
    for (hmap_entry *e = hmap_first(&m->scheds.recs); e; e = hmap_next(&m->scheds.recs, e))
        out->sched_states[((rec *)e->val)->state & 15]++;
}
