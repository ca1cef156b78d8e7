/* kube_events.c: the Event writer: a bounded queue and one thread with its own REST client (see
 * kube_events.h). */
#include "adapters/kube_events.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"

#define COMP "events"

typedef struct item {
    struct item *next;
    bool update;
    char *ns;
    cJSON *obj;
} item;

struct kevents {
    kevents_opts o;
    kuberest *k; /* used by the thread only */
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    item *head, *tail;
    unsigned depth;
    bool stop;
    struct timespec stop_by; /* stop writing at this CLOCK_REALTIME instant */
    uint64_t queued, written, failed, dropped;
};

void kevents_opts_defaults(kevents_opts *o) { *o = (kevents_opts){.qps = 20, .burst = 30, .queue_cap = 1000, .flush_ms = 2000}; }

static void item_free(item *it)
{
    if (!it) return;
    free(it->ns);
    cJSON_Delete(it->obj);
    free(it);
}

static bool past(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/* write_one: one queued write; an update of an Event that is gone (expired, deleted) creates it */
static void write_one(kevents *e, item *it)
{
    kube_port p = kuberest_port(e->k);
    t0_err err = {0};
    t0_status st = it->update ? p.update(p.ctx, KUBE_EVENT, it->ns, it->obj, NULL, &err)
                              : p.create(p.ctx, KUBE_EVENT, it->ns, it->obj, NULL, &err);
    if (it->update && st == T0_ENOTFOUND) st = p.create(p.ctx, KUBE_EVENT, it->ns, it->obj, NULL, &err);
    pthread_mutex_lock(&e->mu);
    if (st == T0_OK)
        e->written++;
    else
        e->failed++;
    pthread_mutex_unlock(&e->mu);
    if (st != T0_OK) T0_DEBUGK(COMP, "event not written", "error", err.msg);
}

static void *run(void *arg)
{
    kevents *e = arg;
    for (;;) {
        pthread_mutex_lock(&e->mu);
        while (!e->head && !e->stop) pthread_cond_wait(&e->cv, &e->mu);
        if (!e->head || (e->stop && past(&e->stop_by))) {
            pthread_mutex_unlock(&e->mu);
            break;
        }
        item *it = e->head;
        e->head = it->next;
        if (!e->head) e->tail = NULL;
        e->depth--;
        pthread_mutex_unlock(&e->mu);
        write_one(e, it);
        item_free(it);
    }
    return NULL;
}

t0_status kevents_new(const kuberest_config *cfg, rtloop *loop, const kevents_opts *opts, kevents **out, t0_err *err)
{
    kevents *e = calloc(1, sizeof *e);
    if (!e) return t0_fail(err, T0_ENOMEM, "event writer: out of memory");
    if (opts)
        e->o = *opts;
    else
        kevents_opts_defaults(&e->o);
    if (!e->o.queue_cap) e->o.queue_cap = 1000;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    kuberest_opts ko;
    kuberest_opts_defaults(&ko);
    ko.qps = e->o.qps;
    ko.burst = e->o.burst;
    ko.timeout_ms = 10000; /* an Event is not worth waiting 30 s for */
    t0_status st = kuberest_new(cfg, loop, &ko, &e->k, err);
    if (st != T0_OK) {
        t0_err_prefix(err, "event writer");
        kevents_destroy(e);
        return st;
    }
    int rc = pthread_create(&e->thread, NULL, run, e);
    if (rc != 0) {
        kevents_destroy(e);
        return t0_fail(err, T0_EUNAVAILABLE, "event writer: cannot start a thread: %s", strerror(rc));
    }
    e->started = true;
    *out = e;
    return T0_OK;
}

void kevents_destroy(kevents *e)
{
    if (!e) return;
    if (e->started) {
        pthread_mutex_lock(&e->mu);
        e->stop = true;
        e->stop_by = t0_deadline(CLOCK_REALTIME, e->o.flush_ms);
        pthread_cond_broadcast(&e->cv);
        pthread_mutex_unlock(&e->mu);
        pthread_join(e->thread, NULL);
    }
    for (item *it = e->head, *nx; it; it = nx) {
        nx = it->next;
        item_free(it);
    }
    kuberest_destroy(e->k);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    free(e);
}

static t0_status enqueue(kevents *e, bool update, kube_kind kind, const char *ns, const cJSON *obj, cJSON **out,
                         t0_err *err)
{
    if (out) *out = NULL;
    if (kind != KUBE_EVENT || !ns || !cJSON_IsObject(obj))
        return t0_fail(err, T0_EINVAL, "event writer: only Events are written here");
    item *it = calloc(1, sizeof *it);
    if (!it || !(it->ns = strdup(ns)) || !(it->obj = cJSON_Duplicate(obj, 1))) {
        item_free(it);
        return t0_fail(err, T0_ENOMEM, "event writer: out of memory");
    }
    it->update = update;
    pthread_mutex_lock(&e->mu);
    if (e->depth >= e->o.queue_cap || e->stop) {
        e->dropped++;
        pthread_mutex_unlock(&e->mu);
        item_free(it);
        return t0_fail(err, T0_ELIMIT, "event writer: %zu Events waiting: this one is dropped", e->o.queue_cap);
    }
    if (e->tail)
        e->tail->next = it;
    else
        e->head = it;
    e->tail = it;
    e->depth++;
    e->queued++;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
    return T0_OK;
}

static t0_status ke_create(void *ctx, kube_kind k, const char *ns, const cJSON *obj, cJSON **out, t0_err *err)
{
    return enqueue(ctx, false, k, ns, obj, out, err);
}
static t0_status ke_update(void *ctx, kube_kind k, const char *ns, const cJSON *obj, cJSON **out, t0_err *err)
{
    return enqueue(ctx, true, k, ns, obj, out, err);
}
static t0_status ke_get(void *ctx, kube_kind k, const char *ns, const char *name, cJSON **out, t0_err *err)
{
    (void)ctx, (void)k, (void)ns, (void)name;
    if (out) *out = NULL;
    return t0_fail(err, T0_EINVAL, "event writer: writes only");
}
static t0_status ke_list(void *ctx, kube_kind k, const char *ns, const char *sel, const kube_list_page *pg, cJSON **out,
                         t0_err *err)
{
    (void)sel, (void)pg;
    return ke_get(ctx, k, ns, NULL, out, err);
}
static t0_status ke_remove(void *ctx, kube_kind k, const char *ns, const char *name, const kube_delete_opts *o,
                           t0_err *err)
{
    (void)o;
    return ke_get(ctx, k, ns, name, NULL, err);
}
static t0_status ke_watch(void *ctx, kube_kind k, const char *ns, const char *sel, const char *rv, kube_watch_fn fn,
                          void *ud, kube_watch **out, t0_err *err)
{
    (void)sel, (void)rv, (void)fn, (void)ud;
    if (out) *out = NULL;
    return ke_get(ctx, k, ns, NULL, NULL, err);
}
static void ke_unwatch(void *ctx, kube_watch *w) { (void)ctx, (void)w; }

kube_port kevents_port(kevents *e)
{
    return (kube_port){e, ke_create, ke_get, ke_list, ke_update, ke_update, ke_remove, ke_watch, ke_unwatch};
}

void kevents_stats_get(kevents *e, kevents_stats *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&e->mu);
    out->queued = e->queued;
    out->written = e->written;
    out->failed = e->failed;
    out->dropped = e->dropped;
    out->depth = e->depth;
    pthread_mutex_unlock(&e->mu);
    kuberest_stats_get(e->k, &out->client);
}

void kevents_metrics_write(const kevents_stats *s, prom *out)
{
    prom_family(out, "the0_events_queued_total", "counter", "Event writes queued for the Event writer's thread.");
    prom_sample(out, "the0_events_queued_total", NULL, (double)s->queued);
    prom_family(out, "the0_events_written_total", "counter", "Event writes the API server accepted.");
    prom_sample(out, "the0_events_written_total", NULL, (double)s->written);
    prom_family(out, "the0_events_failed_total", "counter", "Event writes the API server refused or did not answer.");
    prom_sample(out, "the0_events_failed_total", NULL, (double)s->failed);
    prom_family(out, "the0_events_dropped_total", "counter", "Events dropped because the writer's queue was full.");
    prom_sample(out, "the0_events_dropped_total", NULL, (double)s->dropped);
    prom_family(out, "the0_events_queue_depth", "gauge", "Event writes waiting for the writer's thread.");
    prom_sample(out, "the0_events_queue_depth", NULL, s->depth);
}
