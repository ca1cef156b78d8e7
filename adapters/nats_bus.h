/* nats_bus.h: bus_port over nats.c: core (queue) subscriptions, publish, and durable JetStream pull
 * consumers on stream THE0_EVENTS that ack only after the handler (the MongoDB write) returned T0_OK. */
#ifndef T0_ADAPTERS_NATS_BUS_H
#define T0_ADAPTERS_NATS_BUS_H

#include <stdbool.h>
#include <stdint.h>

#include "adapters/rtloop.h"
#include "core/ports.h"
#include "core/prom.h"
#include "core/t0.h"

/* Design (why the loop never blocks on NATS): every subscription has a thread of its own.
 * - Core subscription: the thread waits for the next message (natsSubscription_NextMsg, 500 ms slices
 *   so it notices unsubscribe), copies it and posts it to the loop; the handler's status is only logged.
 * - Durable subscription: the thread fetches from a JetStream pull consumer (up to 16 messages, 1 s
 *   timeout), posts ONE message at a time to the loop with its metadata (stream sequence, delivery count,
 *   the stream's epoch: its creation time, read when binding) and waits for the handler's status, then
 *   settles it as bus_port says: T0_OK: AckSync (the ack is on the server before the next message); a
 *   retryable status: NakWithDelay(backoff of that delivery), or on the last allowed delivery a JetStream
 *   publish to the dead-letter stream (headers The0-Subject, The0-Stream, The0-Stream-Epoch,
 *   The0-Stream-Seq, The0-Delivered, The0-Error) then Term; any other status: Term. The consumer's
 *   server-side MaxDeliver is max_deliver + BUS_MAXDELIVER_SLACK; the dead-letter stream also keeps the
 *   server's MAX_DELIVERIES advisories of THE0_EVENTS. Only that thread waits; the loop runs the handler
 *   like any other callback.
 * Unsubscribe (on the loop) marks the subscription dead and wakes its thread; a message already posted
 * finds it dead, runs no handler and is not acked (JetStream redelivers it after AckWait). */

typedef struct natsbus_opts {
    int64_t ack_wait_ms;   /* consumer AckWait (default 30000): redelivery of what was never settled */
    int64_t connect_timeout_ms; /* default 10000 */
    bool create_stream;    /* create THE0_EVENTS and THE0_DEADLETTER when missing (default true) */
    int64_t stream_max_age_ms; /* for a created THE0_EVENTS (default 7 days) */
    int64_t deadletter_max_age_ms; /* for a created THE0_DEADLETTER (default 30 days) */
} natsbus_opts;
void natsbus_opts_defaults(natsbus_opts *o);

typedef struct natsbus natsbus;

/* natsbus_new: connect to URL (a comma-separated list is allowed) and deliver on LOOP (borrowed: it must
 * outlive the bus). Reconnects forever after a connection was made (disconnections are logged).
 * T0_EUNAVAILABLE when the first connection fails. OPTS NULL = defaults. */
t0_status natsbus_new(const char *url, rtloop *loop, const natsbus_opts *opts, natsbus **out, t0_err *err);
/* natsbus_destroy: stop every subscription thread, then close the connection. NULL is a no-op. */
void natsbus_destroy(natsbus *b);
bus_port natsbus_port(natsbus *b);

/* natsbus_ensure_stream: create STREAM (the six the0.bot.* / the0.bot-schedule.* subjects, limits
 * retention, file storage, max age) unless it exists. */
t0_status natsbus_ensure_stream(natsbus *b, const char *stream, t0_err *err);
/* natsbus_ensure_deadletter: create THE0_DEADLETTER (subjects the0.deadletter.> and JetStream's
 * MAX_DELIVERIES advisories of THE0_EVENTS; limits, file storage, deadletter_max_age_ms) unless it exists. */
t0_status natsbus_ensure_deadletter(natsbus *b, t0_err *err);

typedef struct natsbus_stats {
    uint64_t received, acked, naked, terminated, dead_lettered, dead_letter_failures, published, disconnects, reconnects,
        fetch_errors;
} natsbus_stats;
void natsbus_stats_get(natsbus *b, natsbus_stats *out);
/* natsbus_connected: whether the connection is up right now (thread-safe). */
bool natsbus_connected(natsbus *b);
/* natsbus_metrics_write: the the0_nats_* families of S (CONNECTED: natsbus_connected). */
void natsbus_metrics_write(const natsbus_stats *s, bool connected, prom *out);

#endif
