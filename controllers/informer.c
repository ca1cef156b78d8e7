/* informer.c: the controller runtime's informer: a cache of one kind's objects (summaries, by name) and
 * the per-key records, kept current by list + watch, re-listed on a timer and on 410 Gone. */
#include <stdlib.h>
#include <string.h>

#include "controllers/ctl_int.h"
#include "core/json.h"
#include "core/log.h"
#include "core/str.h"

static const char *jstr(const cJSON *o, const char *path) { return t0_json_str(o, path); }

void ctl_obj_free(obj_sum *o)
{
    if (!o) return;
    free(o->name);
    free(o->id);
    free(o->schedule);
    free(o);
}

rec *ctl_rec_get(ctl_kind *c, const char *id, bool create)
{
    rec *r = hmap_get(&c->recs, id);
    if (r || !create) return r;
    r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->state = (uint8_t)c->def->table->initial;
    if (hmap_put(&c->recs, id, r, NULL) != T0_OK) {
        free(r);
        return NULL;
    }
    return r;
}

void ctl_rec_maybe_free(ctl_kind *c, const char *id, rec *r)
{
    if (r->state == c->def->table->initial && !r->obj && !r->nobjs && !r->create_in_flight && !r->initial_pending &&
        !r->batch_doc) {
        hmap_del(&c->recs, id);
        free(r);
    }
}

/* obj_new: a cache entry for NAME of key ID, counted on R; NULL when out of memory */
static obj_sum *obj_new(ctl_kind *c, rec *r, const char *name, const char *id)
{
    obj_sum *o = calloc(1, sizeof *o);
    if (!o || !(o->name = strdup(name)) || !(o->id = strdup(id)) || hmap_put(&c->objs, name, o, NULL) != T0_OK) {
        if (o) {
            free(o->name);
            free(o->id);
            free(o);
        }
        return NULL;
    }
    if (r->nobjs++ == 0) c->observed_ids++;
    return o;
}

/* obj_drop: remove cached O from the cache and from its key's record */
static void obj_drop(ctl_kind *c, obj_sum *o)
{
    rec *r = ctl_rec_get(c, o->id, true);
    hmap_del(&c->objs, o->name);
    if (r) {
        if (r->obj == o) r->obj = NULL;
        if (r->nobjs && --r->nobjs == 0) c->observed_ids--;
    }
    ctl_obj_free(o);
}

const char *ctl_owned(const ctl_kind *c, const cJSON *obj)
{
    const cJSON *labels = t0_json_at(obj, "metadata.labels");
    const cJSON *mb = t0_json_get(labels, LBL_MANAGED_BY);
    const cJSON *idv = t0_json_get(labels, c->def->id_label);
    if (!cJSON_IsString(mb) || strcmp(mb->valuestring, c->def->managed_by(&c->m->s.pod)) != 0) return NULL;
    return cJSON_IsString(idv) && idv->valuestring[0] ? idv->valuestring : NULL;
}

/* An object that is not ours (ctl_owned) is never cached; when an object we cached becomes not ours (its
 * labels changed), it leaves the cache as if deleted. Stubs of deletions carry only the name and the id. */
const char *ctl_cache_apply(ctl_kind *c, const cJSON *obj, bool deleted, char idbuf[256])
{
    const cJSON *md = t0_json_get(obj, "metadata"); /* looked up once: this runs on every watch event */
    const char *name = jstr(md, "name");
    const char *id = deleted ? jstr(t0_json_get(md, "labels"), c->def->id_label) : ctl_owned(c, obj);
    const char *rvs = jstr(md, "resourceVersion");
    uint64_t rv = rvs ? strtoull(rvs, NULL, 10) : 0;
    if (!name) return NULL;
    obj_sum *o = hmap_get(&c->objs, name);
    if (!id || (o && strcmp(o->id, id) != 0)) {
        /* not ours (or no longer this key's): whatever we held under that name is gone for its key */
        if (!o) return NULL;
        t0_strlcpy(idbuf, o->id, 256);
        obj_drop(c, o);
        if (!id) return idbuf;
        o = NULL;
    }
    t0_strlcpy(idbuf, id, 256);
    if (rv > c->last_rv) c->last_rv = rv;
    if (o && rv && o->rv > rv) return idbuf; /* older than what we hold */
    rec *r = ctl_rec_get(c, id, true);
    if (!r) return NULL;
    if (deleted) {
        if (o) obj_drop(c, o);
        return idbuf;
    }
    if (!o && !(o = obj_new(c, r, name, id))) return NULL;
    o->rv = rv;
    t0_strlcpy(o->rv_str, rvs, sizeof o->rv_str);
    t0_strlcpy(o->uid, jstr(md, "uid"), sizeof o->uid);
    const cJSON *dts = t0_json_get(md, "deletionTimestamp");
    o->terminating = dts && !cJSON_IsNull(dts);
    ctl_copy_hash(o->spec_hash, podgen_annotation(obj, HASH_ANN_SPEC));
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
    hmap_entry **gone = hmap_sorted(&c->objs, vanished, &(vanish_ctx){gen, list_rv}, NULL);
    for (size_t i = 0; gone && gone[i]; i++) {
        const obj_sum *o = gone[i]->val;
        char idbuf[256];
        const char *id = drop_cached(c, o->name, o->id, idbuf);
        if (id) wq_add(c->q, id);
    }
    free(gone);
}

/* Objects that vanished are dropped only when the list is newer than what we saw of them. Enqueues every
 * id whose object changed. */
t0_status ctl_relist(ctl_kind *c)
{
    ctl_manager *m = c->m;
    cJSON *list = NULL;
    t0_err err = {0};
    m->st.api_calls++;
    t0_status st = m->p.kube->list(m->p.kube->ctx, c->def->kind, m->s.pod.namespace, c->selector, &list, &err);
    if (st != T0_OK) {
        cJSON_Delete(list);
        list_failed(c, &err);
        return st;
    }
    c->list_backoff_ms = 0;
    c->synced = true;
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
        const char *id = ctl_cache_apply(c, item, false, idbuf);
        obj_sum *after = name ? hmap_get(&c->objs, name) : NULL;
        if (after) after->list_gen = gen;
        if (id && (!before || (after && after->rv != before_rv))) wq_add(c->q, id);
    }
    drop_vanished(c, gen, list_rv);
    if (list_rv > c->last_rv) c->last_rv = list_rv;
    cJSON_Delete(list);
    return T0_OK;
}

static void list_retry_tick(void *ud)
{
    ctl_kind *c = ud;
    ctl_manager *m = c->m;
    c->list_timer = 0;
    if (m->crashed || !ctl_acting_allowed(m) || !c->list_backoff_ms) return; /* a list succeeded meanwhile */
    if (ctl_relist(c) != T0_OK) return; /* armed again */
    c->last_relist_ms = ctl_now(m);
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
