/* recorder.c: Kubernetes Events as client-go's recorder writes them. An Event names its object fully
 * (involvedObject: apiVersion, kind, namespace, name, uid, resourceVersion), so `kubectl describe`, which
 * filters on the uid, shows a pod's own Events and not those of an earlier pod of the same name. A repeat
 * (same object, type, reason and message) updates the Event already written (count + 1, lastTimestamp),
 * as client-go's EventCorrelator does, instead of writing a new one; a per-object token bucket (burst 25,
 * one more every 5 minutes, client-go's spam filter) drops Events of an object that keeps producing them.
 * Events go through their own port (ctl_ports.events, else the kube port): the production binary gives
 * them a writer with its own queue, thread and QPS budget, so an Event never waits for, nor delays, a
 * create. */
#include <stdlib.h>
#include <string.h>

#include "controllers/ctl_int.h"
#include "core/json.h"
#include "core/log.h"
#include "core/str.h"
#include "domain/names.h"

#define CACHE_MAX 4096         /* entries of each cache; a full cache starts over (deterministically) */
#define SPAM_BURST 25.0        /* client-go's EventSourceObjectSpamFilter: burst 25 ... */
#define SPAM_REFILL_MS 300000  /* ... and one token every 5 minutes */

typedef struct ev_agg {
    char name[280];   /* the Event written first */
    uint32_t count;
    int64_t first_ms;
} ev_agg;

typedef struct ev_spam {
    double tokens;
    int64_t at_ms;
} ev_spam;

static kube_port *events_port(ctl_manager *m) { return m->p.events ? m->p.events : m->p.kube; }

static const char *api_version(kube_kind k)
{
    switch (k) {
    case KUBE_CRONJOB:
    case KUBE_JOB: return "batch/v1";
    case KUBE_LEASE: return "coordination.k8s.io/v1";
    default: return "v1";
    }
}

static void cache_clear(hmap *h)
{
    for (hmap_entry *e = hmap_first(h); e; e = hmap_next(h, e)) free(e->val);
    hmap_free(h);
    hmap_init(h);
}

void ctl_recorder_init(ctl_manager *m)
{
    hmap_init(&m->ev_agg);
    hmap_init(&m->ev_spam);
}

void ctl_recorder_fini(ctl_manager *m)
{
    cache_clear(&m->ev_agg);
    cache_clear(&m->ev_spam);
    hmap_free(&m->ev_agg);
    hmap_free(&m->ev_spam);
}

/* spam_allows: take a token of the object's bucket (false: the Event is dropped) */
static bool spam_allows(ctl_manager *m, const char *key, int64_t now)
{
    ev_spam *b = hmap_get(&m->ev_spam, key);
    if (!b) {
        if (m->ev_spam.count >= CACHE_MAX) cache_clear(&m->ev_spam);
        if (!(b = malloc(sizeof *b))) return true;
        *b = (ev_spam){SPAM_BURST, now};
        if (hmap_put(&m->ev_spam, key, b, NULL) != T0_OK) {
            free(b);
            return true;
        }
    }
    b->tokens += (double)(now - b->at_ms) / SPAM_REFILL_MS;
    if (b->tokens > SPAM_BURST) b->tokens = SPAM_BURST;
    b->at_ms = now;
    if (b->tokens < 1) return false;
    b->tokens -= 1;
    return true;
}

static cJSON *event_object(ctl_kind *c, const char *name, kube_kind kind, const char *obj_name, const obj_sum *o,
                           const char *type, const char *reason, const char *msg, uint32_t count, int64_t first_ms)
{
    ctl_manager *m = c->m;
    char first[40], last[40];
    ctl_fmt_time(first_ms, first, sizeof first, false);
    ctl_fmt_time(ctl_now(m), last, sizeof last, false);
    cJSON *ev = cJSON_CreateObject();
    T0_JSON_STR(ev, "apiVersion", "v1");
    T0_JSON_STR(ev, "kind", "Event");
    cJSON *md = T0_JSON_OBJ(ev, "metadata");
    T0_JSON_STR(md, "name", name);
    T0_JSON_STR(md, "namespace", m->s.pod.namespace);
    cJSON *inv = T0_JSON_OBJ(ev, "involvedObject");
    T0_JSON_STR(inv, "apiVersion", api_version(kind));
    T0_JSON_STR(inv, "kind", kube_kind_kind(kind));
    T0_JSON_STR(inv, "name", obj_name);
    T0_JSON_STR(inv, "namespace", m->s.pod.namespace);
    char uidbuf[40], rvbuf[24];
    const char *uid = o ? ctl_obj_uid(o, uidbuf) : "", *rv = o ? ctl_obj_rv(o, rvbuf) : "";
    if (uid[0]) T0_JSON_STR(inv, "uid", uid);
    if (rv[0]) T0_JSON_STR(inv, "resourceVersion", rv);
    T0_JSON_STR(ev, "type", type);
    T0_JSON_STR(ev, "reason", reason);
    T0_JSON_STR(ev, "message", msg);
    T0_JSON_STR(ev, "firstTimestamp", first);
    T0_JSON_STR(ev, "lastTimestamp", last);
    T0_JSON_NUM(ev, "count", count);
    cJSON *src = T0_JSON_OBJ(ev, "source");
    T0_JSON_STR(src, "component", c->def->component);
    T0_JSON_STR(ev, "reportingComponent", c->def->component);
    T0_JSON_STR(ev, "reportingInstance", m->s.identity);
    return ev;
}

void ctl_emit_event_on(ctl_kind *c, const char *id, const obj_sum *o, const char *type, const char *reason,
                       const char *msg)
{
    char obj_name[CTL_NAME_MAX];
    if (o)
        t0_strlcpy(obj_name, o->name, sizeof obj_name);
    else
        c->def->object_name(id, obj_name);
    ctl_emit_event_about(c, id, c->def->kind, obj_name, o, type, reason, msg);
}

void ctl_emit_event_about(ctl_kind *c, const char *id, kube_kind kind, const char *obj_name, const obj_sum *o,
                          const char *type, const char *reason, const char *msg)
{
    ctl_manager *m = c->m;
    const char *kindname = kube_kind_kind(kind);
    t0_logk(strcmp(type, "Warning") ? T0_LOG_DEBUG : T0_LOG_WARN, c->def->name, "event", c->def->noun, id,
            kind == KUBE_POD ? "pod" : "cronjob", obj_name, "type", type, "reason", reason, "message", msg);
    if (!m->s.record_events) return;
    int64_t now = ctl_now(m);
    char uidbuf[40];
    const char *uid = o ? ctl_obj_uid(o, uidbuf) : "";
    char okey[CTL_NAME_MAX + 120];
    t0_strjoin(okey, sizeof okey, c->def->component, "\x1f", kindname, "\x1f", obj_name, "\x1f", uid);
    if (!spam_allows(m, okey, ctl_mono_ms(m))) { /* (the window on the monotonic clock; the Event's times on the wall) */
        m->st.events_spam_dropped++;
        return;
    }
    char key[CTL_NAME_MAX + 120 + 700];
    t0_strjoin(key, sizeof key, okey, "\x1f", type, "\x1f", reason, "\x1f", msg);
    kube_port *k = events_port(m);
    t0_err err = {0};
    ev_agg *a = hmap_get(&m->ev_agg, key);
    m->st.events_emitted++;
    if (a) { /* a repeat: the Event already written counts it */
        a->count++;
        m->st.events_aggregated++;
        cJSON *ev = event_object(c, a->name, kind, obj_name, o, type, reason, msg, a->count, a->first_ms);
        t0_status st = k->update(k->ctx, KUBE_EVENT, m->s.pod.namespace, ev, NULL, &err);
        if (st == T0_ENOTFOUND) /* expired or deleted meanwhile: write it again, with its count */
            st = k->create(k->ctx, KUBE_EVENT, m->s.pod.namespace, ev, NULL, &err);
        if (st != T0_OK) {
            m->st.events_failed++;
            T0_DEBUGK(c->def->name, "event not recorded", c->def->noun, id, "reason", reason, "error", err.msg);
        }
        cJSON_Delete(ev);
        return;
    }
    /* a valid Event name whatever the id is (the object's own name may be invalid: that may be why it is
     * reported), unique across incarnations too (a restarted manager must not collide with its
     * predecessor's Events), like client-go's recorder: the time in nanoseconds, here plus a counter
     * within the millisecond */
    char base[240], name[280];
    names_sanitize_subdomain(obj_name, sizeof base - 1, base, sizeof base);
    uint64_t uniq = (uint64_t)now * 1000000u + (++m->event_seq % 1000000u);
    snprintf(name, sizeof name, "%s.%llx", base, (unsigned long long)uniq);
    cJSON *ev = event_object(c, name, kind, obj_name, o, type, reason, msg, 1, now);
    t0_status st = k->create(k->ctx, KUBE_EVENT, m->s.pod.namespace, ev, NULL, &err);
    cJSON_Delete(ev);
    if (st != T0_OK) {
        m->st.events_failed++;
        T0_DEBUGK(c->def->name, "event not recorded", c->def->noun, id, "reason", reason, "error", err.msg);
        return;
    }
    if (m->ev_agg.count >= CACHE_MAX) cache_clear(&m->ev_agg);
    if (!(a = malloc(sizeof *a))) return;
    t0_strlcpy(a->name, name, sizeof a->name);
    a->count = 1;
    a->first_ms = now;
    if (hmap_put(&m->ev_agg, key, a, NULL) != T0_OK) free(a);
}

void ctl_emit_event(ctl_kind *c, const char *id, const char *type, const char *reason, const char *msg)
{
    rec *r = ctl_rec_get(c, id, false);
    ctl_emit_event_on(c, id, r ? r->obj : NULL, type, reason, msg);
}
