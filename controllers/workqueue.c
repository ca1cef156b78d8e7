/* workqueue.c: client-go style work queue over a loop_port (see workqueue.h). */
#include "controllers/workqueue.h"

#include <stdlib.h>
#include <string.h>

#include "core/hmap.h"

typedef struct wq_node {
    struct wq_node *next;
    char key[];
} wq_node;

typedef struct wq_delay {
    wq *q;
    uint64_t timer;
    int64_t due;
    char key[];
} wq_delay;

struct wq {
    loop_port *loop;
    wq_settings s;
    wq_process_fn fn;
    void *ud;
    wq_node *head, *tail;
    unsigned len;
    hmap dirty;      /* queued keys -> when they were added (clock ns + 1) */
    hmap processing; /* keys in flight (at most one at a time here, but the contract is per key) */
    hmap failures;   /* key -> (void*)(intptr_t)count */
    hmap delayed;    /* key -> wq_delay* */
    double tokens;
    int64_t tokens_at;
    uint64_t drain_timer;
    bool paused;
    wq_metrics met;
    _Atomic int64_t processing_since_ns;
};

/* Delays and the token bucket are on the loop's monotonic clock: a step of the wall clock moves neither. */
static int64_t clock_ns(const wq *q) { return q->s.clock_ns ? q->s.clock_ns() : loop_mono_ms(q->loop) * 1000000; }

static void drain(void *ud);

static void schedule_drain(wq *q)
{
    if (q->drain_timer || q->paused || !q->head) return;
    q->drain_timer = q->loop->timer(q->loop->ctx, 0, drain, q);
}

t0_status wq_new(loop_port *loop, const wq_settings *s, wq_process_fn fn, void *ud, wq **out, t0_err *err)
{
    wq *q = calloc(1, sizeof *q);
    if (!q) return t0_fail(err, T0_ENOMEM, "workqueue: out of memory");
    q->loop = loop;
    q->s = *s;
    if (q->s.batch <= 0) q->s.batch = 64;
    if (q->s.qps <= 0) q->s.qps = 10;
    if (q->s.burst <= 0) q->s.burst = 100;
    q->fn = fn;
    q->ud = ud;
    hmap_init(&q->dirty);
    hmap_init(&q->processing);
    hmap_init(&q->failures);
    hmap_init(&q->delayed);
    q->tokens = q->s.burst;
    q->tokens_at = loop_mono_ms(loop);
    *out = q;
    return T0_OK;
}

void wq_destroy(wq *q)
{
    if (!q) return;
    if (q->drain_timer) q->loop->cancel(q->loop->ctx, q->drain_timer);
    for (hmap_entry *e = hmap_first(&q->delayed); e; e = hmap_next(&q->delayed, e)) {
        wq_delay *d = e->val;
        q->loop->cancel(q->loop->ctx, d->timer);
        free(d);
    }
    for (wq_node *n = q->head, *nx; n; n = nx) {
        nx = n->next;
        free(n);
    }
    hmap_free(&q->dirty);
    hmap_free(&q->processing);
    hmap_free(&q->failures);
    hmap_free(&q->delayed);
    free(q);
}

static void push(wq *q, const char *key)
{
    size_t n = strlen(key) + 1;
    wq_node *node = malloc(sizeof *node + n);
    if (!node) return; /* dropped; the periodic resync re-adds every key */
    memcpy(node->key, key, n);
    node->next = NULL;
    if (q->tail)
        q->tail->next = node;
    else
        q->head = node;
    q->tail = node;
    q->len++;
}

void wq_add(wq *q, const char *key)
{
    if (hmap_get(&q->dirty, key)) return;
    if (hmap_put(&q->dirty, key, (void *)(intptr_t)(clock_ns(q) + 1), NULL) != T0_OK) return;
    q->met.adds++;
    if (hmap_get(&q->processing, key)) return; /* re-queued by wq_done */
    push(q, key);
    schedule_drain(q);
}

static void delay_fire(void *ud)
{
    wq_delay *d = ud;
    wq *q = d->q;
    hmap_del(&q->delayed, d->key);
    wq_add(q, d->key);
    free(d);
}

void wq_add_after(wq *q, const char *key, int64_t delay_ms)
{
    if (delay_ms <= 0) {
        wq_add(q, key);
        return;
    }
    int64_t due = loop_mono_ms(q->loop) + delay_ms;
    wq_delay *old = hmap_get(&q->delayed, key);
    if (old) {
        if (old->due <= due) return;
        q->loop->cancel(q->loop->ctx, old->timer);
        hmap_del(&q->delayed, key);
        free(old);
    }
    size_t n = strlen(key) + 1;
    wq_delay *d = malloc(sizeof *d + n);
    if (!d) return;
    d->q = q;
    d->due = due;
    memcpy(d->key, key, n);
    if (hmap_put(&q->delayed, key, d, NULL) != T0_OK) {
        free(d);
        return;
    }
    d->timer = q->loop->timer(q->loop->ctx, delay_ms, delay_fire, d);
}

int64_t wq_backoff_ms(const wq_settings *s, int failures)
{
    int64_t d = s->backoff_base_ms > 0 ? s->backoff_base_ms : 5;
    for (int i = 0; i < failures && d < s->backoff_cap_ms; i++) d *= 2;
    return d < s->backoff_cap_ms ? d : s->backoff_cap_ms;
}

int wq_failures(const wq *q, const char *key) { return (int)(intptr_t)hmap_get(&q->failures, key); }

int64_t wq_add_rate_limited(wq *q, const char *key)
{
    int n = wq_failures(q, key);
    int64_t per_key = wq_backoff_ms(&q->s, n);
    q->met.retries++;
    hmap_put(&q->failures, key, (void *)(intptr_t)(n + 1), NULL);
    /* token bucket with reservations, as golang.org/x/time/rate */
    int64_t now = loop_mono_ms(q->loop);
    q->tokens += (double)(now - q->tokens_at) * q->s.qps / 1000.0;
    if (q->tokens > q->s.burst) q->tokens = q->s.burst;
    q->tokens_at = now;
    q->tokens -= 1;
    int64_t bucket = q->tokens >= 0 ? 0 : (int64_t)(-q->tokens * 1000.0 / q->s.qps + 0.5);
    int64_t delay = per_key > bucket ? per_key : bucket;
    wq_add_after(q, key, delay);
    return delay;
}

/* shrink: a map emptied after a burst gives its bucket array back (100,000 keys: 2 MiB, held for nothing
 * at steady state); small ones keep theirs. Nothing iterates these maps, so no order depends on it. */
static void shrink(hmap *m)
{
    if (!m->count && m->nbuckets > 1024) hmap_free(m);
}

void wq_forget(wq *q, const char *key)
{
    hmap_del(&q->failures, key);
    shrink(&q->failures);
}

void wq_pause(wq *q, bool paused)
{
    q->paused = paused;
    if (!paused) schedule_drain(q);
}

unsigned wq_len(const wq *q) { return q->len; }

void wq_metrics_get(const wq *q, wq_metrics *out)
{
    *out = q->met;
    out->depth = q->len;
}

int64_t wq_processing_since_ns(const wq *q) { return q ? atomic_load(&q->processing_since_ns) : 0; }

static void drain(void *ud)
{
    wq *q = ud;
    q->drain_timer = 0;
    for (int i = 0; i < q->s.batch && q->head && !q->paused; i++) {
        wq_node *n = q->head;
        q->head = n->next;
        if (!q->head) q->tail = NULL;
        q->len--;
        int64_t added = (int64_t)(intptr_t)hmap_get(&q->dirty, n->key) - 1, start = clock_ns(q);
        if (added >= 0)
            prom_hist_observe(&q->met.queue_duration, PROM_WORKQUEUE_BUCKETS, 12, (double)(start - added) / 1e9);
        hmap_del(&q->dirty, n->key);
        shrink(&q->dirty);
        hmap_put(&q->processing, n->key, (void *)1, NULL);
        atomic_store(&q->processing_since_ns, start ? start : 1);
        q->fn(q->ud, n->key);
        atomic_store(&q->processing_since_ns, 0);
        prom_hist_observe(&q->met.work_duration, PROM_WORKQUEUE_BUCKETS, 12, (double)(clock_ns(q) - start) / 1e9);
        hmap_del(&q->processing, n->key);
        if (hmap_get(&q->dirty, n->key)) push(q, n->key); /* added again while in flight */
        free(n);
    }
    schedule_drain(q);
}
