/* workqueue.h: a work queue with client-go semantics on a loop_port: deduplicated keys, one reconcile
 * in flight per key, delayed adds, per-key exponential backoff and an overall token bucket. */
#ifndef T0_WORKQUEUE_H
#define T0_WORKQUEUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/ports.h"
#include "core/prom.h"

typedef struct wq wq;
/* Called on the loop for each key taken off the queue; the key is in flight until it returns. */
typedef void (*wq_process_fn)(void *ud, const char *key);

typedef struct wq_settings {
    int64_t backoff_base_ms; /* per-key: base * 2^failures ... */
    int64_t backoff_cap_ms;  /* ... capped */
    double qps;              /* overall token bucket for rate-limited adds */
    int burst;
    int batch;               /* keys processed per loop callback before yielding (default 64) */
    int64_t (*clock_ns)(void); /* a monotonic clock for the duration metrics (NULL: the loop's clock) */
} wq_settings;

/* What client-go's workqueue metrics show (workqueue_* families, seconds): adds that queued a key (a key
 * already queued is not added again), rate-limited re-adds, how long keys waited and how long processing
 * them took. */
typedef struct wq_metrics {
    unsigned depth;
    uint64_t adds, retries;
    prom_hist queue_duration, work_duration; /* PROM_WORKQUEUE_BUCKETS */
} wq_metrics;

t0_status wq_new(loop_port *loop, const wq_settings *s, wq_process_fn fn, void *ud, wq **out, t0_err *err);
/* wq_destroy: cancel every timer and free everything. NULL is a no-op. */
void wq_destroy(wq *q);
/* wq_add: queue KEY now unless it is already queued (a key in flight is re-queued after it finishes). */
void wq_add(wq *q, const char *key);
/* wq_add_after: queue KEY after DELAY_MS; of several pending delays for one key the earliest wins. */
void wq_add_after(wq *q, const char *key, int64_t delay_ms);
/* wq_add_rate_limited: queue KEY after max(its backoff, the token bucket's delay); counts a failure.
 * Returns the delay chosen. */
int64_t wq_add_rate_limited(wq *q, const char *key);
/* wq_forget: reset KEY's failure count (its next backoff starts from the base again). */
void wq_forget(wq *q, const char *key);
int wq_failures(const wq *q, const char *key);
/* wq_pause: while paused, keys accumulate but none is processed (a manager that is not leader). */
void wq_pause(wq *q, bool paused);
unsigned wq_len(const wq *q);
/* wq_delay_for: the backoff a key with N failures gets (for tests and docs). */
int64_t wq_backoff_ms(const wq_settings *s, int failures);
/* wq_metrics_get: a copy of Q's metrics (loop thread). */
void wq_metrics_get(const wq *q, wq_metrics *out);
/* wq_processing_since_ns: when the key in flight started processing (the settings' clock), 0 when none is;
 * readable from any thread (workqueue_unfinished_work_seconds, a stuck reconcile). */
int64_t wq_processing_since_ns(const wq *q);

#endif
