/* informer.c: the controller runtime's informer: a cache of one kind's objects (summaries, by name) and
 * the per-key records, kept current by list + watch, re-listed on a timer and on 410 Gone. */
#include <stdlib.h>
#include <string.h>

#include "controllers/ctl_int.h"
#include "core/json.h"
#include "core/log.h"
#include "core/str.h"

static const char *jstr(const cJSON *o, const char *path) { return t0_json_str(o, path); }

/* mstr: O's string member KEY (one level; no path parsing on the per-object paths) */
static const char *mstr(const cJSON *o, const char *key)
{
    const cJSON *v = t0_json_get(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The controller's memory per bot is mostly one record and one summary, each inside its hash map entry
 * (bench_resync prints the figure): keep them within these sizes (jemalloc's 128-byte class with a short id). */
_Static_assert(sizeof(void *) != 8 || (sizeof(rec) <= 96 && sizeof(obj_sum) <= 80), "rec/obj_sum grew");

static const char *const unread_pod[] = {"spec", "status.conditions", "metadata.managedFields", NULL};
static const char *const unread_cronjob[] = {"spec.jobTemplate", "metadata.managedFields", NULL};
const char *const *const ctl_unread_members[KUBE__KINDS] = {[KUBE_POD] = unread_pod, [KUBE_CRONJOB] = unread_cronjob};

void ctl_obj_free(obj_sum *o)
{
    if (!o || !o->ext) return;
    free(o->ext->rv);
    free(o->ext->uid);
    free(o->ext->schedule);
    free(o->ext);
    o->ext = NULL;
}

obj_ext *ctl_obj_ext(obj_sum *o)
{
    if (!o->ext) o->ext = calloc(1, sizeof *o->ext);
    return o->ext;
}

/* hexval: the value of lowercase hex digit CH, 16 for anything else */
static unsigned hexval(char ch)
{
    return ch >= '0' && ch <= '9' ? (unsigned)(ch - '0') : ch >= 'a' && ch <= 'f' ? (unsigned)(ch - 'a' + 10) : 16;
}

uint8_t ctl_hash_in(const char *s, uint64_t *v)
{
    *v = 0;
    if (!s || !*s) return CH_NONE;
    uint64_t x = 0;
    for (int i = 0; i < HASH_HEX_LEN; i++) {
        char ch = s[i];
        unsigned d = hexval(ch);
        if (d == 16) return CH_OTHER; /* also a value shorter than a hash (ch == 0) */
        x = x << 4 | d;
    }
    *v = x;
    return CH_HEX;
}

static const char hexd[] = "0123456789abcdef";

/* set_rv: O's resourceVersion RVS (parsed: RV), kept as its number when it is that number's decimal form */
static void set_rv(obj_sum *o, const char *rvs, uint64_t rv)
{
    char dec[24];
    o->rv = rv;
    if (o->ext) {
        free(o->ext->rv);
        o->ext->rv = NULL;
    }
    if (!rvs || !*rvs) {
        o->rv_form = RV_EMPTY;
    } else if (t0_u64_dec(dec, rv) && !strcmp(dec, rvs)) {
        o->rv_form = RV_DEC;
    } else {
        obj_ext *x = ctl_obj_ext(o);
        o->rv_form = x && (x->rv = strndup(rvs, 23)) ? RV_EXT : RV_EMPTY;
    }
}

/* set_uid: O's uid, kept as 16 bytes when it is a lowercase UUID */
static void set_uid(obj_sum *o, const char *uid)
{
    if (o->ext) {
        free(o->ext->uid);
        o->ext->uid = NULL;
    }
    if (!uid || !*uid) {
        o->uid_form = UID_EMPTY;
        return;
    }
    bool uuid = strlen(uid) == 36;
    for (int i = 0, b = 0; uuid && i < 36; i++) {
        char ch = uid[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            uuid = ch == '-';
            continue;
        }
        unsigned d = hexval(ch);
        if (d == 16) {
            uuid = false;
            break;
        }
        o->uid[b / 2] = (uint8_t)(b % 2 ? (o->uid[b / 2] | d) : d << 4);
        b++;
    }
    if (uuid) {
        o->uid_form = UID_UUID;
        return;
    }
    obj_ext *x = ctl_obj_ext(o);
    o->uid_form = x && (x->uid = strndup(uid, 39)) ? UID_EXT : UID_EMPTY;
}

void ctl_obj_set_ids(obj_sum *o, const char *rv, const char *uid)
{
    set_rv(o, rv, rv ? strtoull(rv, NULL, 10) : 0);
    set_uid(o, uid);
}

const char *ctl_obj_rv(const obj_sum *o, char buf[24])
{
    if (o->rv_form == RV_DEC) {
        t0_u64_dec(buf, o->rv);
        return buf;
    }
    return o->rv_form == RV_EXT ? o->ext->rv : "";
}

const char *ctl_obj_uid(const obj_sum *o, char buf[40])
{
    if (o->uid_form == UID_EXT) return o->ext->uid;
    if (o->uid_form != UID_UUID) return "";
    char *p = buf;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) *p++ = '-';
        *p++ = hexd[o->uid[i] >> 4];
        *p++ = hexd[o->uid[i] & 15];
    }
    *p = 0;
    return buf;
}

/* rv_is: O's resourceVersion is RVS (the re-list's "unchanged since we saw it"); the decimal form is
 * compared digit by digit, without formatting */
static bool rv_is(const obj_sum *o, const char *rvs)
{
    if (o->rv_form == RV_EXT) return !strcmp(o->ext->rv, rvs);
    if (o->rv_form == RV_EMPTY) return !rvs[0];
    if (rvs[0] == '0') return !rvs[1] && !o->rv; /* a leading zero is decimal only as "0" */
    uint64_t v = 0;
    int n = 0;
    for (; rvs[n] >= '0' && rvs[n] <= '9'; n++) {
        uint64_t d = (uint64_t)(rvs[n] - '0');
        if (v > (UINT64_MAX - d) / 10) return false; /* past 64 bits: not o->rv's decimal form */
        v = v * 10 + d;
    }
    return n && !rvs[n] && v == o->rv;
}

/* rec_entry: ID's entry in the records (made, in the table's initial state, when CREATE) */
static hmap_entry *rec_entry(ctl_kind *c, const char *id, bool create)
{
    hmap_entry *e = hmap_get_entry(&c->recs, id);
    if (e || !create) return e;
    if (!(e = hmap_put_inline(&c->recs, id, sizeof(rec)))) return NULL;
    ((rec *)e->val)->state = (uint8_t)c->def->table->initial;
    return e;
}

rec *ctl_rec_get(ctl_kind *c, const char *id, bool create)
{
    if (!create) return hmap_get(&c->recs, id);
    hmap_entry *e = rec_entry(c, id, true);
    return e ? e->val : NULL;
}

void ctl_rec_maybe_free(ctl_kind *c, const char *id, rec *r)
{
    if (r->state == c->def->table->initial && !r->obj && !r->nobjs && !r->create_in_flight && !r->initial_pending &&
        !r->batch_doc) {
        if (c->gen && r->seen_gen == c->gen) c->gen_stamped--;
        hmap_del(&c->recs, id); /* R lives in the entry */
    }
}

void ctl_rec_stamp(ctl_kind *c, rec *r)
{
    if (r->seen_gen == c->gen) return;
    r->seen_gen = c->gen;
    c->gen_stamped++;
}

/* obj_stamp: O was listed by the re-list of generation c->list_gen */
static void obj_stamp(ctl_kind *c, obj_sum *o)
{
    if (o->list_gen == c->list_gen) return;
    o->list_gen = c->list_gen;
    c->list_stamped++;
}

/* obj_new: a cache entry for NAME of key ID, counted on R; NULL when out of memory */
static obj_sum *obj_new(ctl_kind *c, rec *r, const char *name, const char *id)
{
    hmap_entry *re = rec_entry(c, id, false);
    hmap_entry *e = re ? hmap_put_inline(&c->objs, name, sizeof(obj_sum)) : NULL;
    if (!e) return NULL;
    obj_sum *o = e->val;
    o->name = e->key;
    o->id = re->key;
    if (r->nobjs++ == 0) c->observed_ids++;
    return o;
}

/* obj_drop: remove cached O from the cache and from its key's record (O is freed with its entry) */
static void obj_drop(ctl_kind *c, obj_sum *o)
{
    const ctl_hooks *h = &c->m->h;
    if (h->on_forget) {
        char ub[40];
        h->on_forget(h->ud, c->def->kind, o->name, o->id, ctl_obj_uid(o, ub));
    }
    rec *r = ctl_rec_get(c, o->id, true);
    if (r) {
        if (r->obj == o) r->obj = NULL;
        if (r->nobjs && --r->nobjs == 0) c->observed_ids--;
    }
    if (c->list_gen && o->list_gen == c->list_gen) c->list_stamped--;
    ctl_obj_free(o);
    hmap_del(&c->objs, o->name);
}

/* id_of: the key LABELS name (the kind's id label, one key: "the0.dev/bot-id" is not a dotted path), NULL
 * when absent or empty */
static const char *id_of(const ctl_kind *c, const cJSON *labels)
{
    const char *id = mstr(labels, c->def->id_label);
    return id && id[0] ? id : NULL;
}

const char *ctl_owned(const ctl_kind *c, const cJSON *obj)
{
    const cJSON *labels = t0_json_at(obj, "metadata.labels");
    const char *mb = mstr(labels, LBL_MANAGED_BY);
    if (!mb || strcmp(mb, c->def->managed_by(&c->m->s.pod)) != 0) return NULL;
    return id_of(c, labels);
}

/* An object that is not ours (ctl_owned) is never cached; when an object we cached becomes not ours (its
 * labels changed), it leaves the cache as if deleted. Stubs of deletions carry only the name and the id. */
const char *ctl_cache_apply(ctl_kind *c, const cJSON *obj, bool deleted, char idbuf[256])
{
    const cJSON *md = t0_json_get(obj, "metadata"); /* looked up once: this runs on every watch event */
    const char *name = mstr(md, "name");
    /* A deletion is judged by its own id label and its resourceVersion, so a late DELETED of an old
     * incarnation leaves a newer one cached (late_deleted.scn). */
    const char *id = deleted ? id_of(c, t0_json_get(md, "labels")) : ctl_owned(c, obj);
    const char *rvs = mstr(md, "resourceVersion");
    uint64_t rv = rvs ? strtoull(rvs, NULL, 10) : 0;
    if (!name) return NULL;
    obj_sum *o = hmap_get(&c->objs, name);
    /* An event older than what we hold under that name tells nothing about what holds it now: a late DELETED
     * of someone else's pod that had the name before ours (late_foreign_deleted.scn), or an older state of
     * ours. */
    if (o && rv && o->rv > rv) {
        t0_strlcpy(idbuf, o->id, 256);
        return idbuf;
    }
    if (!id || (o && strcmp(o->id, id) != 0)) {
        /* not ours (or no longer this key's): whatever we held under that name is gone for its key */
        if (!o) return NULL;
        t0_strlcpy(idbuf, o->id, 256);
        obj_drop(c, o);
        if (!id) return idbuf;
        o = NULL;
    }
    t0_strlcpy(idbuf, id, 256);
    if (deleted) { /* the key is enqueued; no record is made for a key that had nothing cached */
        if (o) obj_drop(c, o);
        return idbuf;
    }
    rec *r = ctl_rec_get(c, id, true);
    if (!r) return NULL;
    if (!o && !(o = obj_new(c, r, name, id))) return NULL;
    set_rv(o, rvs, rv);
    set_uid(o, mstr(md, "uid"));
    const cJSON *dts = t0_json_get(md, "deletionTimestamp");
    o->terminating = dts && !cJSON_IsNull(dts);
    o->spec_form = ctl_hash_in(podgen_annotation(obj, HASH_ANN_SPEC), &o->spec_hash) & 3;
    c->def->summarize(o, obj);
    /* the primary object is the one with the canonical name; otherwise any */
    char canon[CTL_NAME_MAX];
    c->def->object_name(id, canon);
    if (!r->obj || !strcmp(o->name, canon)) r->obj = o;
    r->create_in_flight = false;
    return idbuf;
}

/* drop_cached: remove NAME of key ID from the cache as a DELETED event would; returns the id */
static const char *drop_cached(ctl_kind *c, const char *name, const char *id, char idbuf[256])
{
    cJSON *stub = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(stub, "metadata");
    cJSON_AddStringToObject(md, "name", name);
    cJSON *lb = cJSON_AddObjectToObject(md, "labels");
    cJSON_AddStringToObject(lb, c->def->id_label, id);
    const char *got = ctl_cache_apply(c, stub, true, idbuf);
    cJSON_Delete(stub);
    return got;
}

/* Used when the cache may be behind: before deciding to delete or replace, after a 409 on update, after a
 * delete answered 404, and while waiting for a terminating object to go (a lost DELETED watch event would
 * otherwise wait for the next re-list). */
t0_status ctl_refresh_obj(ctl_kind *c, const char *id, rec *r, t0_err *err)
{
    ctl_manager *m = c->m;
    if (!r->obj) return T0_OK;
    cJSON *cur = NULL;
    char name[256], idbuf[256];
    t0_strlcpy(name, r->obj->name, sizeof name);
    m->st.api_calls++;
    t0_err e = {0};
    t0_status st = m->p.kube->get(m->p.kube->ctx, c->def->kind, m->s.pod.namespace, name, &cur, &e);
    if (st == T0_OK && cur)
        ctl_cache_apply(c, cur, false, idbuf); /* an object that is not ours leaves the cache */
    else if (st == T0_ENOTFOUND && r->obj)
        drop_cached(c, name, id, idbuf);
    cJSON_Delete(cur);
    if (st != T0_OK && st != T0_ENOTFOUND) { /* the caller counts it when it matters */
        if (err) t0_fail(err, st, "re-reading %s %s before deciding: %s", kube_kind_kind(c->def->kind), name, e.msg);
        return st;
    }
    return T0_OK;
}

static void on_watch(void *ud, kube_watch_type type, const cJSON *obj)
{
    ctl_kind *c = ud;
    ctl_manager *m = c->m;
    if (m->crashed) return;
    if (type == KUBE_WATCH_GONE || type == KUBE_WATCH_CLOSED) {
        if (c->watch) m->p.kube->unwatch(m->p.kube->ctx, c->watch);
        c->watch = NULL;
        if (type == KUBE_WATCH_GONE) c->last_rv = 0; /* re-list */
        ctl_start_watch(c);
        return;
    }
    /* The stream's position is what it delivered (ours or not), never a GET's: a re-read can be ahead of
     * events still on their way, and a watch resumed from it would skip them (watch_resume.scn). */
    const char *rvs = mstr(t0_json_get(obj, "metadata"), "resourceVersion");
    uint64_t rv = rvs ? strtoull(rvs, NULL, 10) : 0;
    if (rv > c->last_rv) c->last_rv = rv;
    /* A bookmark is progress only: a quiet watch (other objects of the kind change, ours do not) resumes from
     * it instead of from its last event, which the server may have forgotten (410: a full re-list). */
    if (type == KUBE_WATCH_BOOKMARK) return;
    char idbuf[256];
    const char *id = ctl_cache_apply(c, obj, type == KUBE_WATCH_DELETED, idbuf);
    if (id) wq_add(c->q, id);
}

static void list_retry_tick(void *ud);

/* list_failed: blind until a list succeeds: retry from 1 s, doubling up to the resync period (what an
 * informer does), rather than only at the next resync */
static void list_failed(ctl_kind *c, const t0_err *err)
{
    ctl_manager *m = c->m;
    m->st.api_errors++;
    c->list_backoff_ms = c->list_backoff_ms ? c->list_backoff_ms * 2 : 1000;
    if (c->list_backoff_ms > m->s.resync_ms) c->list_backoff_ms = m->s.resync_ms;
    char retry[32];
    T0_WARNK(c->def->name, "list failed: retrying with backoff", "kind", kube_kind_kind(c->def->kind), "error",
             err->msg, "retry", t0_log_duration(retry, c->list_backoff_ms));
    if (!c->list_timer) c->list_timer = m->p.loop->timer(m->p.loop->ctx, c->list_backoff_ms, list_retry_tick, c);
}

typedef struct vanish_ctx {
    uint32_t gen;
    uint64_t list_rv;
} vanish_ctx;
/* vanished: an object the list of generation GEN (at LIST_RV) did not show and that is older than it */
static bool vanished(const hmap_entry *e, const void *ctx)
{
    const obj_sum *o = e->val;
    const vanish_ctx *x = ctx;
    return o->list_gen != x->gen && o->rv < x->list_rv;
}

/* drop_vanished: objects the list of generation GEN (at LIST_RV) did not show, and that are older than
 * the list, are gone: drop them and enqueue their keys, in name order (the order reaches the work queue,
 * so it must not be the hash map's). drop_cached deletes each entry after its last use here. */
static void drop_vanished(ctl_kind *c, uint32_t gen, uint64_t list_rv)
{
    if (c->list_stamped == c->objs.count) return; /* the list showed every cached object */
    hmap_entry **gone = hmap_sorted(&c->objs, vanished, &(vanish_ctx){gen, list_rv}, NULL);
    for (size_t i = 0; gone && gone[i]; i++) {
        const obj_sum *o = gone[i]->val;
        char idbuf[256];
        const char *id = drop_cached(c, o->name, o->id, idbuf);
        if (id) wq_add(c->q, id);
    }
    free(gone);
}

/* relist_page: the items of one page of the re-list into the cache (stamped with the list's generation);
 * enqueues every id whose object changed. */
static void relist_page(ctl_kind *c, const cJSON *list)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, t0_json_get(list, "items"))
    {
        const cJSON *md = t0_json_get(item, "metadata");
        const char *name = mstr(md, "name");
        obj_sum *before = name ? hmap_get(&c->objs, name) : NULL;
        const char *irv = mstr(md, "resourceVersion");
        if (before && irv && rv_is(before, irv)) { /* unchanged since we saw it */
            obj_stamp(c, before);
            continue;
        }
        uint64_t before_rv = before ? before->rv : 0;
        char idbuf[256];
        const char *id = ctl_cache_apply(c, item, false, idbuf);
        obj_sum *after = name ? hmap_get(&c->objs, name) : NULL;
        if (after) obj_stamp(c, after);
        if (id && (!before || (after && after->rv != before_rv))) wq_add(c->q, id);
    }
}

/* The re-list, in pages of m->s.list_page items (client-go's pager: the memory of one page, not of the
 * whole list). Every page is applied as it comes; objects that vanished are dropped only once the last page
 * is in, and only when the list is newer than what we saw of them. A continue token that expired (410)
 * starts the list over, once. Enqueues every id whose object changed. */
t0_status ctl_relist(ctl_kind *c)
{
    ctl_manager *m = c->m;
    char *cont = NULL;
    bool restarted = false;
    uint64_t list_rv = 0;
    uint32_t gen = ++c->list_gen;
    c->list_stamped = 0;
    for (;;) {
        cJSON *list = NULL;
        t0_err err = {0};
        kube_list_page page = {.limit = m->s.list_page, .cont = cont};
        m->st.api_calls++;
        t0_status st = m->p.kube->list(m->p.kube->ctx, c->def->kind, m->s.pod.namespace, c->selector, &page, &list, &err);
        if (st == T0_EGONE && cont && !restarted) {
            cJSON_Delete(list);
            T0_INFOK(c->def->name, "list continue token expired: listing again from the first page", "kind",
                     kube_kind_kind(c->def->kind), "error", err.msg);
            free(cont);
            cont = NULL;
            restarted = true;
            gen = ++c->list_gen;
            c->list_stamped = 0;
            continue;
        }
        if (st != T0_OK) {
            cJSON_Delete(list);
            free(cont);
            list_failed(c, &err);
            return st;
        }
        if (!cont) {
            const char *lrvs = jstr(list, "metadata.resourceVersion");
            list_rv = lrvs ? strtoull(lrvs, NULL, 10) : 0;
        }
        relist_page(c, list);
        const char *next = jstr(list, "metadata.continue");
        free(cont);
        cont = next && *next ? strdup(next) : NULL;
        bool more = next && *next;
        cJSON_Delete(list);
        if (more && !cont) {
            t0_err oom = {0};
            t0_fail(&oom, T0_ENOMEM, "list: out of memory");
            list_failed(c, &oom);
            return T0_ENOMEM;
        }
        if (!more) break;
    }
    c->list_backoff_ms = 0;
    c->synced = true;
    if (c->list_timer) { /* a retry armed by an earlier failure is moot */
        m->p.loop->cancel(m->p.loop->ctx, c->list_timer);
        c->list_timer = 0;
    }
    drop_vanished(c, gen, list_rv);
    if (list_rv > c->last_rv) c->last_rv = list_rv;
    return T0_OK;
}

static void list_retry_tick(void *ud)
{
    ctl_kind *c = ud;
    ctl_manager *m = c->m;
    c->list_timer = 0;
    if (m->crashed || !ctl_acting_allowed(m) || !c->list_backoff_ms) return; /* a list succeeded meanwhile */
    if (ctl_relist(c) != T0_OK) return; /* armed again */
    c->last_relist_ms = ctl_mono_ms(m);
    if (!c->watch) ctl_start_watch(c);
}

void ctl_standby_informers(ctl_manager *m)
{
    if (m->crashed || m->leader) return;
    ctl_start_watch(&m->bots);
    ctl_start_watch(&m->scheds);
}

void ctl_start_watch(ctl_kind *c)
{
    ctl_manager *m = c->m;
    if (c->watch) return;
    if (!c->last_rv && ctl_relist(c) != T0_OK) return; /* the next resync tries again */
    char rv[24];
    t0_u64_dec(rv, c->last_rv);
    t0_err err = {0};
    kube_port *k = m->p.kube;
    t0_status st = k->watch(k->ctx, c->def->kind, m->s.pod.namespace, c->selector, rv, on_watch, c, &c->watch, &err);
    if (st == T0_EGONE) {
        c->last_rv = 0;
        if (ctl_relist(c) == T0_OK) {
            t0_u64_dec(rv, c->last_rv);
            st = k->watch(k->ctx, c->def->kind, m->s.pod.namespace, c->selector, rv, on_watch, c, &c->watch, &err);
        }
    }
    if (st != T0_OK) {
        c->watch = NULL;
        T0_WARNK(c->def->name, "watch failed: the next resync lists again", "kind", kube_kind_kind(c->def->kind),
                 "error", err.msg);
    }
}
