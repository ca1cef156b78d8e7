/* kube_events.h: the controller process's Event writer: a kube_port whose create and update of Events
 * queue the write and return at once; a thread of its own writes them through a client of its own, with
 * its own QPS/burst budget (as controller-runtime's recorder has its own client). So an Event never waits
 * behind the controller's requests, and never takes a token from the bucket its creates wait on. */
#ifndef T0_ADAPTERS_KUBE_EVENTS_H
#define T0_ADAPTERS_KUBE_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "adapters/kube_rest.h"
#include "core/ports.h"
#include "core/prom.h"
#include "core/t0.h"

typedef struct kevents_opts {
    double qps;       /* the writer's own client-side rate limit (default 20; <= 0: none) */
    int burst;        /* default 30 */
    size_t queue_cap; /* writes waiting at most (default 1000, client-go's broadcaster queue); more are dropped */
    int64_t flush_ms; /* at destroy, how long queued writes may still take (default 2000) */
} kevents_opts;
void kevents_opts_defaults(kevents_opts *o);

typedef struct kevents kevents;

/* kevents_new: a writer to the server of CFG (copied), with its thread started. LOOP is only handed to
 * the writer's client (it never watches). */
t0_status kevents_new(const kuberest_config *cfg, rtloop *loop, const kevents_opts *opts, kevents **out, t0_err *err);
/* kevents_destroy: write what is queued for at most flush_ms, then stop the thread and free. NULL is a no-op. */
void kevents_destroy(kevents *e);
/* kevents_port: create and update of KUBE_EVENT copy the object into the queue and return T0_OK (*out is
 * set to NULL), or T0_ELIMIT when the queue is full (the Event is dropped). The thread writes them in
 * order; an update answered 404 (the Event expired) creates it instead, as client-go's recorder does.
 * Every other call and kind: T0_EINVAL. */
kube_port kevents_port(kevents *e);

typedef struct kevents_stats {
    uint64_t queued, written, failed, dropped; /* dropped: the queue was full */
    unsigned depth;                            /* writes waiting now */
    kuberest_stats client;                     /* the writer's requests */
} kevents_stats;
void kevents_stats_get(kevents *e, kevents_stats *out); /* thread-safe */
/* kevents_metrics_write: the the0_events_* families of S. */
void kevents_metrics_write(const kevents_stats *s, prom *out);

#endif
