/* bus_fake.h: an in-process fake NATS server implementing bus_port: subject wildcards, queue groups,
 * delivery through loop timers (never re-entrant), and a JetStream-like stream THE0_EVENTS (subjects
 * the0.bot.* and the0.bot-schedule.*) with durable consumers as JetStream runs them: acks, naks
 * redelivered after the consumer's backoff, terminations, redelivery after ack-wait of what was never
 * settled, MaxDeliver, and a dead-letter stream (bus_port's contract). Faults: nats/publish and
 * nats/subscribe (error), nats/deliver (drop, duplicate, latency/reorder) and a server outage switch. */
#ifndef FAKES_BUS_FAKE_H
#define FAKES_BUS_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ports.h"
#include "core/t0.h"
#include "domain/docver.h"

struct sim_faults;
typedef struct busfake busfake;

#define BUSFAKE_STREAM BUS_STREAM

/* busfake_new: a bus on LOOP (borrowed; its timers carry deliveries and its rand picks queue-group
 * members). FAULTS (borrowed, may be NULL) drives nats/publish and nats/deliver. Stream THE0_EVENTS
 * exists from the start (the API creates it). */
t0_status busfake_new(const loop_port *loop, struct sim_faults *faults, busfake **out, t0_err *err);
/* busfake_destroy: cancel pending deliveries and free everything. Subscriptions still held by callers
 * become invalid. NULL is a no-op. */
void busfake_destroy(busfake *b);
bus_port busfake_port(busfake *b);

/* Settings. latency: every delivery runs this long after its publish (default 1 ms; 0 allowed, still
 * via a timer). ack_wait: an unacked durable delivery (retryable status, dropped, or its subscriber
 * gone) is redelivered after this (default 30000 ms, JetStream's default). */
void busfake_set_latency(busfake *b, int64_t ms);
void busfake_set_ack_wait(busfake *b, int64_t ms);

/* busfake_set_outage: while DOWN, publish fails with T0_EUNAVAILABLE, core deliveries due are lost and
 * durable ones wait (redelivered once the server is back). Going up resumes every durable consumer. */
void busfake_set_outage(busfake *b, bool down);
bool busfake_outage(const busfake *b);

/* An observer of deliveries (traces): called before each handler runs ("deliver") and after ("handled",
 * with its status), for a dropped delivery ("dropped"), a message dead-lettered after its handler failed
 * on the last allowed delivery ("dead-lettered", with that status) and one the server stopped delivering
 * ("max-deliveries"). ATTEMPT counts deliveries of this message to this consumer (1 = first). */
typedef void (*busfake_observer)(void *ud, const char *subject, const char *durable, unsigned attempt,
                                 const char *event, t0_status st);
void busfake_observe(busfake *b, busfake_observer fn, void *ud);

/* busfake_subject_match: NATS matching of SUBJECT against PATTERN ('*' one token, '>' one or more
 * trailing tokens). */
bool busfake_subject_match(const char *pattern, const char *subject);

typedef struct busfake_stats {
    uint64_t published, publish_failed, delivered, dropped, duplicated, delayed, redelivered, acked, naked;
    uint64_t terminated;      /* durable deliveries whose handler said bad input */
    uint64_t dead_lettered;   /* messages moved to the dead-letter stream */
    uint64_t stream_msgs;     /* messages stored in THE0_EVENTS */
    uint64_t pending;         /* deliveries scheduled and not yet run */
} busfake_stats;
void busfake_get_stats(const busfake *b, busfake_stats *out);
/* busfake_position: where THE0_EVENTS stands (a storefake_position_fn; BUS is the busfake): its epoch
 * (the stream's creation time in microseconds, the stream_epoch of its messages) and last sequence. */
docver busfake_position(void *bus);

/* A dead letter: the message, where it came from, how often it was delivered and why it failed. */
typedef struct busfake_dead {
    char *subject; /* BUS_DEADLETTER_PREFIX + the original subject */
    char *data;
    size_t len;
    uint64_t stream_seq;
    unsigned delivered;
    char *why;
} busfake_dead;
/* busfake_dead_letters: how many messages were dead-lettered; *OUT (may be NULL) the array (borrowed). */
size_t busfake_dead_letters(const busfake *b, const busfake_dead **out);

/* busfake_consumer_pending: messages of durable DURABLE not yet acked (delivered or not); 0 if unknown. */
uint64_t busfake_consumer_pending(const busfake *b, const char *durable);

#endif
