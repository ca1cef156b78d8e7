/* kube_watch.c: the fake API server's watch: the change history per kind, watchers with their namespace
 * and selector views, delivery on loop timers with the kube/watch fault point. */
#include <stdlib.h>
#include <string.h>

#include "fakes/kube_fake_impl.h"

void kf_wevent_unref(wevent *e)
{
    if (!e || --e->refs > 0) return;
    kf_kver_unref(e->v);
    kf_kver_unref(e->old);
    free(e->ns);
    free(e);
}

static void watch_deliver(void *ud);

static void watch_arm(kube_watch *w, int64_t delay)
{
    if (!w->timer) w->timer = sim_loop_timer(w->k->loop, delay, watch_deliver, w);
}

static bool watch_push(kube_watch *w, wevent *e, kube_watch_type type)
{
    if (w->qhead + w->qlen == w->qcap) {
        if (w->qhead > 0) {
            memmove(w->q, w->q + w->qhead, w->qlen * sizeof *w->q);
            w->qhead = 0;
        }
        if (w->qlen == w->qcap) {
            size_t nc = w->qcap ? w->qcap * 2 : 16;
            qent *nq = realloc(w->q, nc * sizeof *nq);
            if (!nq) return false;
            w->q = nq;
            w->qcap = nc;
        }
    }
    w->q[w->qhead + w->qlen++] = (qent){e, type};
    if (e) e->refs++;
    watch_arm(w, w->k->opts.watch_delay_ms);
    return true;
}

/* What watcher W sees of E: ADDED/MODIFIED/DELETED, or -1 for nothing (label filtering semantics). */
static int watch_view(const kube_watch *w, const wevent *e)
{
    if (w->closed || w->dead || e->kind != w->kind) return -1;
    if (w->ns && *w->ns && strcmp(w->ns, e->ns)) return -1;
    const cJSON *labels = t0_json_get(t0_json_get(e->v->obj, "metadata"), "labels");
    bool now = kfake_selector_matches(w->sel, labels);
    if (e->type != KUBE_WATCH_MODIFIED) return now ? (int)e->type : -1;
    bool before = !e->old ? now
                          : kfake_selector_matches(w->sel, t0_json_get(
                                                               t0_json_get(e->old->obj, "metadata"), "labels"));
    if (now && before) return KUBE_WATCH_MODIFIED;
    if (now) return KUBE_WATCH_ADDED;
    if (before) return KUBE_WATCH_DELETED;
    return -1;
}

static void hist_push(kfake *k, wevent *e)
{
    int kd = e->kind;
    size_t cap = (size_t)k->opts.watch_history;
    if (k->hist_len[kd] == cap) {
        wevent *old = k->hist[kd][k->hist_head[kd]];
        if (old->rv > k->evicted_rv[kd]) k->evicted_rv[kd] = old->rv;
        kf_wevent_unref(old);
        k->hist[kd][k->hist_head[kd]] = e;
        k->hist_head[kd] = (k->hist_head[kd] + 1) % cap;
    } else {
        k->hist[kd][(k->hist_head[kd] + k->hist_len[kd]) % cap] = e;
        k->hist_len[kd]++;
    }
}

/* emit: record a change of O (already stored) and queue it for watchers. OLD (borrowed; the event takes
 * a reference) is the version before a MODIFIED change whose labels may differ; NULL: labels unchanged. */
void kf_emit(kfake *k, kube_watch_type type, kobj *o, kver *old)
{
    if (k->observer && o->kind < KUBE__KINDS) k->observer(k->observer_ud, type, (kube_kind)o->kind, o->v->obj);
    wevent *e = calloc(1, sizeof *e);
    if (!e) return;
    e->refs = 1;
    e->type = type;
    e->kind = o->kind;
    e->rv = k->rv;
    e->v = kf_kver_ref(o->v);
    e->old = old ? kf_kver_ref(old) : NULL;
    e->ns = strdup(o->ns);
    if (!e->ns) {
        kf_wevent_unref(e);
        return;
    }
    for (kube_watch *w = k->watchers[o->kind]; w; w = w->next) {
        int t = watch_view(w, e);
        if (t >= 0) watch_push(w, e, (kube_watch_type)t);
    }
    hist_push(k, e);
}

/* bookmark_tick: queue W's BOOKMARK (the last change's resourceVersion, behind what is queued) and
 * arm the next one; a stream that ended gets none */
static void bookmark_tick(void *ud)
{
    kube_watch *w = ud;
    kfake *k = w->k;
    w->bm_timer = 0;
    if (w->closed || w->dead) return;
    char rv[24];
    kf_rv_str(k->rv, rv, sizeof rv);
    cJSON *obj = cJSON_CreateObject();
    cJSON *md = obj ? cJSON_AddObjectToObject(obj, "metadata") : NULL;
    wevent *e = md && cJSON_AddStringToObject(md, "resourceVersion", rv) ? calloc(1, sizeof *e) : NULL;
    if (e) {
        *e = (wevent){.refs = 1, .type = KUBE_WATCH_BOOKMARK, .kind = w->kind, .rv = k->rv, .ns = strdup("")};
        e->v = kf_kver_new(obj);
        obj = NULL;
        if (e->v && e->ns) watch_push(w, e, KUBE_WATCH_BOOKMARK);
        kf_wevent_unref(e);
    }
    cJSON_Delete(obj);
    w->bm_timer = sim_loop_timer(k->loop, w->bookmark_ms, bookmark_tick, w);
}

void kfake_watch_bookmarks(kfake *k, kube_watch *w, int64_t every_ms)
{
    if (!w || every_ms <= 0) return;
    if (w->bm_timer) sim_loop_cancel(k->loop, w->bm_timer);
    w->bookmark_ms = every_ms;
    w->bm_timer = sim_loop_timer(k->loop, every_ms, bookmark_tick, w);
}

void kf_watch_free(kube_watch *w)
{
    kfake *k = w->k;
    if (w->timer) sim_loop_cancel(k->loop, w->timer);
    if (w->bm_timer) sim_loop_cancel(k->loop, w->bm_timer);
    for (size_t i = 0; i < w->qlen; i++) kf_wevent_unref(w->q[w->qhead + i].e);
    free(w->q);
    if (w->prev)
        w->prev->next = w->next;
    else if (k->watchers[w->kind] == w)
        k->watchers[w->kind] = w->next;
    if (w->next) w->next->prev = w->prev;
    kfake_selector_free(w->sel);
    free(w->ns);
    free(w);
}

static void watch_deliver(void *ud)
{
    kube_watch *w = ud;
    w->timer = 0;
    w->delivering = true;
    while (w->qlen && !w->dead) {
        qent q = w->q[w->qhead];
        if (q.e && q.type != KUBE_WATCH_BOOKMARK && w->faults && !w->closed && !w->head_delayed) {
            sim_fault_hit hit;
            if (sim_faults_check(w->k->faults, "kube/watch", &hit)) {
                if (hit.kind == SIM_FAULT_LATENCY) {
                    /* delayed once by ms (not again at every retry, or p=1 would hold it forever) */
                    w->head_delayed = true;
                    w->timer = sim_loop_timer(w->k->loop, hit.ms, watch_deliver, w);
                    break;
                }
                if (hit.kind == SIM_FAULT_DROP) {
                    w->qhead++, w->qlen--;
                    kf_wevent_unref(q.e);
                    continue;
                }
                if (hit.kind == SIM_FAULT_GONE || hit.kind == SIM_FAULT_CLOSE || hit.kind == SIM_FAULT_ERROR) {
                    /* the stream breaks here: nothing queued is delivered */
                    for (size_t i = 0; i < w->qlen; i++) kf_wevent_unref(w->q[w->qhead + i].e);
                    w->qhead = w->qlen = 0;
                    w->closed = true;
                    w->fn(w->ud, hit.kind == SIM_FAULT_CLOSE ? KUBE_WATCH_CLOSED : KUBE_WATCH_GONE, NULL);
                    break;
                }
                if (hit.kind == SIM_FAULT_DUPLICATE) w->fn(w->ud, q.type, q.e->v->obj);
                if (w->dead) break;
            }
        }
        w->qhead++, w->qlen--;
        w->head_delayed = false;
        if (!q.e) {
            w->closed = true;
            w->fn(w->ud, q.type, NULL);
        } else if (!w->closed) {
            w->fn(w->ud, q.type, q.e->v->obj);
        }
        kf_wevent_unref(q.e);
    }
    if (!w->qlen) w->qhead = 0;
    w->delivering = false;
    if (w->dead) kf_watch_free(w);
}

t0_status kf_watch_open(kfake *k, int kind, const char *ns, const char *selector, uint64_t from, bool gone,
                        bool faults, kube_watch_fn fn, void *ud, kube_watch **out, t0_err *err)
{
    kube_watch *w = calloc(1, sizeof *w);
    if (!w) return kf_fail(err, T0_ENOMEM, 0, "watch: out of memory");
    w->k = k;
    w->kind = kind;
    w->fn = fn;
    w->ud = ud;
    w->faults = faults;
    if (ns && *ns && !(w->ns = strdup(ns))) {
        free(w);
        return kf_fail(err, T0_ENOMEM, 0, "watch: out of memory");
    }
    t0_err serr = {0};
    if (selector && *selector && kfake_selector_parse(selector, &w->sel, &serr) != T0_OK) {
        free(w->ns);
        free(w);
        return kf_fail(err, T0_EINVAL, 400, "%s", serr.msg);
    }
    w->next = k->watchers[kind];
    if (w->next) w->next->prev = w;
    k->watchers[kind] = w;
    if (from && from < k->evicted_rv[kind]) gone = true;
    if (gone) {
        watch_push(w, NULL, KUBE_WATCH_GONE);
    } else if (from) {
        size_t cap = (size_t)k->opts.watch_history;
        for (size_t i = 0; i < k->hist_len[kind]; i++) {
            wevent *e = k->hist[kind][(k->hist_head[kind] + i) % cap];
            if (e->rv <= from) continue;
            int t = watch_view(w, e);
            if (t >= 0) watch_push(w, e, (kube_watch_type)t);
        }
    }
    *out = w;
    return T0_OK;
}

void kf_watch_close(kube_watch *w)
{
    if (!w) return;
    if (w->delivering) {
        w->dead = true; /* freed when its delivery returns */
        return;
    }
    kf_watch_free(w);
}
