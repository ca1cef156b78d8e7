/* intake.c: the NATS side of the manager: subscriptions (a durable JetStream consumer, else a core
 * subscription), and the handler that writes each message's desired state to the store (subscriber.c)
 * and enqueues its key. NATS being unavailable does not stop the manager: it runs on resyncs and
 * subscribes again every BUS_RETRY_MS. */
#include "controllers/ctl_int.h"
#include "controllers/subscriber.h"
#include "core/json.h"
#include "core/log.h"

/* ---- NATS ------------------------------------------------------------------------------------- */

static t0_status on_message(void *ud, const char *subject, const char *data, size_t len)
{
    ctl_manager *m = ud;
    if (m->crashed) return T0_EUNAVAILABLE;
    m->st.nats_messages++;
    store_coll coll;
    sub_op op;
    t0_err err = {0};
    cJSON *fields = NULL;
    t0_status st = sub_parse_subject(subject, &coll, &op, &err);
    if (st == T0_OK) st = sub_parse_payload(coll, data, len, &fields, &err);
    if (st != T0_OK) {
        m->st.nats_bad_messages++;
        T0_ERROR("subscriber", "%s: dropped: %s", subject, err.msg);
        return st;
    }
    st = sub_apply(m->p.store, coll, op, fields, ctl_now(m), &err);
    if (st == T0_OK) {
        const char *id = t0_json_get(fields, "id")->valuestring;
        ctl_kind *c = coll == STORE_BOTS ? &m->bots : &m->scheds;
        rec *r = ctl_rec_get(c, id, false);
        if (r) { /* the document changed: the next reconcile reads it */
            r->want_fresh = false;
            cJSON_Delete(r->batch_doc);
            r->batch_doc = NULL;
        }
        wq_add(c->q, id);
    } else {
        T0_WARN("subscriber", "%s: %s (%s)", subject, err.msg, t0_status_retryable(st) ? "will be redelivered" : "dropped");
    }
    cJSON_Delete(fields);
    return st;
}

/* subscribe_all: subscribe what is not subscribed yet: the durable consumer, else a core subscription.
 * RETRY: a retry after NATS was unavailable (the fallback is then not worth a warning each time). */
t0_status ctl_subscribe_all(ctl_manager *m, bool retry, t0_err *err)
{
    static const char *const subjects[2] = {"the0.bot.*", "the0.bot-schedule.*"};
    static const char *const durables[2] = {"the0-runtime-bots", "the0-runtime-schedules"};
    for (int i = 0; i < 2; i++) {
        if (m->subs[i]) continue;
        t0_err e = {0};
        t0_status st = T0_EINVAL;
        if (m->s.nats_durable && m->p.bus->subscribe_durable)
            st = m->p.bus->subscribe_durable(m->p.bus->ctx, "THE0_EVENTS", subjects[i], durables[i], on_message, m,
                                             &m->subs[i], &e);
        if (st != T0_OK) {
            if (m->s.nats_durable && m->p.bus->subscribe_durable && !retry)
                T0_WARN("manager", "durable consumer on THE0_EVENTS unavailable (%s): core subscription", e.msg);
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
void ctl_bus_retry_tick(void *ud)
{
    ctl_manager *m = ud;
    m->bus_timer = 0;
    if (m->crashed || m->released) return;
    t0_err e = {0};
    if (ctl_subscribe_all(m, true, &e) != T0_OK) {
        T0_DEBUG("manager", "NATS still unavailable (%s): retrying in %d s", e.msg, BUS_RETRY_MS / 1000);
        m->bus_timer = m->p.loop->timer(m->p.loop->ctx, BUS_RETRY_MS, ctl_bus_retry_tick, m);
        return;
    }
    T0_INFO("manager", "%s: subscribed to NATS", m->s.identity);
}

