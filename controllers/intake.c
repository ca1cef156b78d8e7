/* intake.c: the NATS side of the manager (docs/intake.md): while it leads, a durable JetStream consumer
 * per subject family (else a core subscription), and the handler that validates each message, writes its
 * desired state to the store in publish order (subscriber.c) and enqueues its key. Only the leader
 * consumes, so one manager at a time writes desired state from NATS; a manager that stops leading
 * unsubscribes and what it had not settled is redelivered to the next leader. NATS being unavailable
 * does not stop the manager: it runs on resyncs and subscribes again every BUS_RETRY_MS. */
#include <string.h>

#include "controllers/ctl_int.h"
#include "controllers/subscriber.h"
#include "core/json.h"
#include "core/log.h"

static const char *const subjects[2] = {"the0.bot.*", "the0.bot-schedule.*"};
static const char *const durables[2] = {"the0-runtime-bots", "the0-runtime-schedules"};

/* msg_keys: the log keys naming which message this is: its stream sequence and delivery "K/MAX" (NULL
 * for a core message: left out of the line) */
typedef struct msg_keys {
    char seq[24], delivery[24];
} msg_keys;
static void where(const bus_msg *msg, msg_keys *k)
{
    k->seq[0] = k->delivery[0] = 0;
    if (!msg->stream_seq) return;
    snprintf(k->seq, sizeof k->seq, "%llu", (unsigned long long)msg->stream_seq);
    snprintf(k->delivery, sizeof k->delivery, "%u/%u", msg->delivered, msg->max_deliver);
}
#define MSG_KEYS(msg, k) "subject", (msg)->subject, "seq", (k).seq[0] ? (k).seq : NULL, "delivery", \
                         (k).delivery[0] ? (k).delivery : NULL

/* touched: the key's document changed: the next reconcile reads it, now */
static void touched(ctl_manager *m, store_coll coll, const char *id)
{
    ctl_kind *c = coll == STORE_BOTS ? &m->bots : &m->scheds;
    rec *r = ctl_rec_get(c, id, false);
    if (r) {
        r->want_fresh = false;
        cJSON_Delete(r->batch_doc);
        r->batch_doc = NULL;
    }
    wq_add(c->q, id);
}

static t0_status on_message(void *ud, const bus_msg *msg, t0_err *err)
{
    ctl_manager *m = ud;
    if (m->crashed) return t0_fail(err, T0_EUNAVAILABLE, "manager stopped");
    if (!ctl_acting_allowed(m)) return t0_fail(err, T0_EUNAVAILABLE, "not leading: for the next leader");
    m->st.nats_messages++;
    msg_keys at;
    where(msg, &at);
    store_coll coll;
    sub_op op;
    cJSON *fields = NULL;
    t0_status st = sub_parse_subject(msg->subject, &coll, &op, err);
    if (st == T0_OK) st = sub_parse_payload(coll, op, msg->data, msg->len, &fields, err);
    if (st != T0_OK) { /* poison: terminated, never redelivered, never near MongoDB */
        m->st.nats_bad_messages++;
        T0_ERRORK("subscriber", "bad message terminated", MSG_KEYS(msg, at), "error", err->msg);
        return T0_EINVAL;
    }
    const char *id = t0_json_get(fields, "id")->valuestring;
    docver ver = {.epoch = msg->stream_epoch, .seq = msg->stream_seq};
    sub_event ev = {coll, op, fields, msg->stream_seq && msg->stream_epoch ? &ver : NULL, ctl_now(m),
                    m->s.tombstone_ttl_ms};
    sub_outcome out;
    st = sub_apply(m->p.store, &ev, &out, err);
    if (st == T0_OK) {
        if (out == SUB_APPLIED || out == SUB_ABSENT) touched(m, coll, id);
        if (out == SUB_STALE) {
            m->st.nats_stale++;
            T0_INFOK("subscriber", "a newer event or direct write is in effect: ignored", MSG_KEYS(msg, at),
                     coll == STORE_BOTS ? "bot" : "schedule", id);
        } else if (out == SUB_EXISTS) {
            T0_INFOK("subscriber", "already exists: create ignored (reference semantics)", MSG_KEYS(msg, at),
                     coll == STORE_BOTS ? "bot" : "schedule", id);
        }
    } else if (!t0_status_retryable(st)) {
        m->st.nats_bad_messages++;
        T0_ERRORK("subscriber", "message terminated", MSG_KEYS(msg, at), "error", err->msg);
    } else if (msg->max_deliver && msg->delivered >= msg->max_deliver) {
        m->st.nats_dead_lettered++;
        char dl[300];
        snprintf(dl, sizeof dl, "%s%s", BUS_DEADLETTER_PREFIX, msg->subject);
        T0_ERRORK("subscriber", "message dead-lettered", MSG_KEYS(msg, at), "error", err->msg, "to", dl);
    } else {
        T0_WARNK("subscriber", "store write failed: the message will be redelivered", MSG_KEYS(msg, at), "error",
                 err->msg);
    }
    cJSON_Delete(fields);
    return st;
}

/* subscribe_all: subscribe what is not subscribed yet: the durable consumer, else a core subscription.
 * RETRY: a retry after NATS was unavailable (the fallback is then not worth a warning each time). */
static t0_status subscribe_all(ctl_manager *m, bool retry, t0_err *err)
{
    for (int i = 0; i < 2; i++) {
        if (m->subs[i]) continue;
        t0_err e = {0};
        t0_status st = T0_EINVAL;
        bus_durable d = {BUS_STREAM, subjects[i], durables[i], m->s.nats_max_deliver, m->s.nats_backoff_ms,
                         m->s.nats_nbackoff};
        if (m->s.nats_durable && m->p.bus->subscribe_durable)
            st = m->p.bus->subscribe_durable(m->p.bus->ctx, &d, on_message, m, &m->subs[i], &e);
        if (st != T0_OK) {
            if (m->s.nats_durable && m->p.bus->subscribe_durable && !retry)
                T0_WARNK("manager", "durable consumer unavailable: core subscription", "stream", BUS_STREAM, "error",
                         e.msg);
            st = m->p.bus->subscribe(m->p.bus->ctx, subjects[i], "runtime", on_message, m, &m->subs[i], &e);
        }
        if (st != T0_OK) {
            m->subs[i] = NULL;
            return t0_fail(err, st, "subscribing to %s: %s", subjects[i], e.msg);
        }
    }
    return T0_OK;
}

/* NATS was unreachable: the controller runs on its resyncs meanwhile and subscribes again every
 * BUS_RETRY_MS (messages published meanwhile wait in the durable consumer). */
static void bus_retry_tick(void *ud)
{
    ctl_manager *m = ud;
    m->bus_timer = 0;
    if (m->crashed || m->released || !m->leader) return;
    t0_err e = {0};
    if (subscribe_all(m, true, &e) != T0_OK) {
        char every[32];
        T0_DEBUGK("manager", "NATS still unavailable: retrying", "error", e.msg, "retry",
                  t0_log_duration(every, BUS_RETRY_MS));
        m->bus_timer = m->p.loop->timer(m->p.loop->ctx, BUS_RETRY_MS, bus_retry_tick, m);
        return;
    }
    T0_INFOK("manager", "subscribed to NATS", "identity", m->s.identity);
}

/* tombstones expire after the stream's max age: no event older than that can still be delivered */
static void sweep_tick(void *ud)
{
    ctl_manager *m = ud;
    m->sweep_timer = 0;
    if (m->crashed || !m->leader) return;
    if (ctl_acting_allowed(m) && m->p.store->write) {
        for (int i = 0; i < 2; i++) {
            store_write w = {.op = STORE_W_EXPIRE, .coll = store_tombstones(i ? STORE_SCHEDULES : STORE_BOTS),
                             .before_ms = ctl_now(m)};
            t0_err e = {0};
            if (m->p.store->write(m->p.store->ctx, &w, &e) != T0_OK) {
                char next[32];
                T0_WARNK("subscriber", "expiring tombstones failed", "collection", store_coll_name(w.coll), "error",
                         e.msg, "retry", t0_log_duration(next, m->s.tombstone_sweep_ms));
            }
        }
    }
    m->sweep_timer = m->p.loop->timer(m->p.loop->ctx, m->s.tombstone_sweep_ms, sweep_tick, m);
}

void ctl_intake_start(ctl_manager *m)
{
    if (!m->p.bus || m->crashed) return;
    if (!m->sweep_timer && m->s.tombstone_sweep_ms > 0)
        m->sweep_timer = m->p.loop->timer(m->p.loop->ctx, m->s.tombstone_sweep_ms, sweep_tick, m);
    if (m->bus_timer) return; /* a retry is armed */
    t0_err e = {0};
    if (subscribe_all(m, false, &e) != T0_OK) {
        /* NATS only triggers: without it the controller still converges through its resyncs */
        char every[32];
        T0_WARNK("manager", "NATS unavailable: running on resyncs, subscribing again periodically", "identity",
                 m->s.identity, "error", e.msg, "retry", t0_log_duration(every, BUS_RETRY_MS));
        m->bus_timer = m->p.loop->timer(m->p.loop->ctx, BUS_RETRY_MS, bus_retry_tick, m);
    }
}

void ctl_intake_stop(ctl_manager *m)
{
    for (int i = 0; i < 2; i++) {
        if (m->subs[i] && m->p.bus) m->p.bus->unsubscribe(m->p.bus->ctx, m->subs[i]);
        m->subs[i] = NULL;
    }
    if (m->bus_timer) m->p.loop->cancel(m->p.loop->ctx, m->bus_timer);
    if (m->sweep_timer) m->p.loop->cancel(m->p.loop->ctx, m->sweep_timer);
    m->bus_timer = m->sweep_timer = 0;
}
