/* bus_fake.c: the fake NATS server with a JetStream-like stream (see bus_fake.h). */
#include "fakes/bus_fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hmap.h"
#include "fakes/fake_faults.h"

/* A published message, shared by every delivery of it (refcounted; the stream holds one ref). */
typedef struct bmsg {
    unsigned refs;
    uint64_t seq; /* stream sequence, 0 when not in the stream */
    char *subject;
    char *data;
    size_t len;
} bmsg;

typedef struct bconsumer bconsumer;

/* A subscription. Deliveries hold references, so unsubscribing (even from inside its own handler)
 * never frees memory a pending timer still points at. */
typedef struct bsub {
    unsigned refs;
    bool dead;
    char *subject, *queue;
    bus_msg_fn fn;
    void *ud;
    bconsumer *cons;          /* durable: bound consumer, else NULL */
    struct bsub *next, *prev; /* in the bus's core list or the consumer's bound list */
} bsub;

/* A scheduled delivery of MSG to SUB (core) or to consumer CONS (durable: SUB chosen at dispatch). */
typedef struct bdeliv {
    struct bdeliv *prev, *next; /* the bus's pending list (cancelled at destroy) */
    struct busfake *bus;
    uint64_t timer;
    bmsg *msg;
    bsub *sub;
    bconsumer *cons;
    unsigned attempt;
    bool redelivery; /* waiting out ack-wait: re-dispatch rather than deliver */
} bdeliv;

struct bconsumer {
    char *name, *filter;
    unsigned max_deliver;   /* bus_durable.max_deliver (0: unbounded) */
    int64_t *backoff;       /* bus_durable.backoff_ms (copied), or NULL */
    size_t nbackoff;
    uint64_t next_seq;   /* next stream sequence to dispatch */
    uint64_t unacked;    /* dispatched and not acked */
    bsub *bound, *bound_tail;
    unsigned nbound;
    bdeliv *parked;      /* redeliveries waiting for a subscriber (singly linked via next) */
    struct bconsumer *next_all;
};

struct busfake {
    loop_port loop;
    struct sim_faults *faults;
    int64_t latency_ms, ack_wait_ms;
    bool down;
    bsub *subs, *subs_tail; /* core subscriptions in subscription order */
    bmsg **stream;          /* THE0_EVENTS, index = seq - 1 */
    size_t nstream, capstream;
    hmap consumers;         /* durable name -> bconsumer* */
    bconsumer *cons_all, *cons_tail; /* creation order (pumping order) */
    bdeliv *pending;
    uint64_t epoch;         /* THE0_EVENTS's creation time (microseconds): the stream epoch of its messages */
    busfake_dead *dead;     /* dead letters, in order */
    size_t ndead, capdead;
    busfake_observer obs;
    void *obs_ud;
    busfake_stats stats;
};

static const char *const stream_subjects[] = {"the0.bot.*", "the0.bot-schedule.*"};

bool busfake_subject_match(const char *pat, const char *subj)
{
    const char *p = pat, *s = subj;
    for (;;) {
        const char *pe = strchr(p, '.'), *se = strchr(s, '.');
        size_t pl = pe ? (size_t)(pe - p) : strlen(p), sl = se ? (size_t)(se - s) : strlen(s);
        if (pl == 1 && p[0] == '>') return sl > 0;
        if (sl == 0) return false;
        if (!(pl == 1 && p[0] == '*') && (pl != sl || memcmp(p, s, pl) != 0)) return false;
        if (!pe || !se) return !pe && !se;
        p = pe + 1;
        s = se + 1;
    }
}

static bool in_stream(const char *subject)
{
    for (size_t i = 0; i < T0_ARRAY_LEN(stream_subjects); i++)
        if (busfake_subject_match(stream_subjects[i], subject)) return true;
    return false;
}

static void msg_unref(bmsg *m)
{
    if (m && --m->refs == 0) {
        free(m->subject);
        free(m->data);
        free(m);
    }
}

static void sub_unref(bsub *s)
{
    if (s && --s->refs == 0) {
        free(s->subject);
        free(s->queue);
        free(s);
    }
}

t0_status busfake_new(const loop_port *loop, struct sim_faults *faults, busfake **out, t0_err *err)
{
    busfake *b = calloc(1, sizeof *b);
    if (!b) return t0_fail(err, T0_ENOMEM, "busfake_new: out of memory");
    b->loop = *loop;
    b->faults = faults;
    b->latency_ms = 1;
    b->ack_wait_ms = 30000;
    b->epoch = (uint64_t)loop->now_ms(loop->ctx) * 1000;
    hmap_init(&b->consumers);
    *out = b;
    return T0_OK;
}

static void deliv_free(bdeliv *d)
{
    msg_unref(d->msg);
    sub_unref(d->sub);
    free(d);
}

void busfake_destroy(busfake *b)
{
    if (!b) return;
    for (bdeliv *d = b->pending, *nx; d; d = nx) {
        nx = d->next;
        b->loop.cancel(b->loop.ctx, d->timer);
        deliv_free(d);
    }
    for (bconsumer *c = b->cons_all, *nx; c; c = nx) {
        nx = c->next_all;
        for (bdeliv *d = c->parked, *dn; d; d = dn) {
            dn = d->next;
            deliv_free(d);
        }
        for (bsub *s = c->bound, *sn; s; s = sn) {
            sn = s->next;
            s->cons = NULL;
            s->dead = true;
            sub_unref(s);
        }
        free(c->name);
        free(c->filter);
        free(c->backoff);
        free(c);
    }
    for (size_t i = 0; i < b->ndead; i++) {
        free(b->dead[i].subject);
        free(b->dead[i].data);
        free(b->dead[i].why);
    }
    free(b->dead);
    for (bsub *s = b->subs, *sn; s; s = sn) {
        sn = s->next;
        s->dead = true;
        sub_unref(s);
    }
    for (size_t i = 0; i < b->nstream; i++) msg_unref(b->stream[i]);
    free(b->stream);
    hmap_free(&b->consumers);
    free(b);
}

void busfake_set_latency(busfake *b, int64_t ms) { b->latency_ms = ms < 0 ? 0 : ms; }
void busfake_set_ack_wait(busfake *b, int64_t ms) { b->ack_wait_ms = ms < 1 ? 1 : ms; }
bool busfake_outage(const busfake *b) { return b->down; }
void busfake_observe(busfake *b, busfake_observer fn, void *ud)
{
    b->obs = fn;
    b->obs_ud = ud;
}
void busfake_get_stats(const busfake *b, busfake_stats *out) { *out = b->stats; }

docver busfake_position(void *bus)
{
    const busfake *b = bus;
    return (docver){.epoch = b->epoch, .seq = b->nstream};
}

size_t busfake_dead_letters(const busfake *b, const busfake_dead **out)
{
    if (out) *out = b->dead;
    return b->ndead;
}

/* dead_letter: D's message goes to the dead-letter stream (subject BUS_DEADLETTER_PREFIX + its subject)
 * with WHY; it is terminated on THE0_EVENTS */
static void dead_letter(busfake *b, const bdeliv *d, const char *why)
{
    b->stats.dead_lettered++;
    if (b->ndead == b->capdead) {
        size_t nc = b->capdead ? b->capdead * 2 : 16;
        busfake_dead *nd = realloc(b->dead, nc * sizeof *nd);
        if (!nd) return;
        b->dead = nd;
        b->capdead = nc;
    }
    busfake_dead *x = &b->dead[b->ndead];
    size_t sl = strlen(BUS_DEADLETTER_PREFIX) + strlen(d->msg->subject) + 1;
    x->subject = malloc(sl);
    x->data = malloc(d->msg->len + 1);
    x->why = strdup(why ? why : "");
    if (!x->subject || !x->data || !x->why) {
        free(x->subject);
        free(x->data);
        free(x->why);
        return;
    }
    snprintf(x->subject, sl, "%s%s", BUS_DEADLETTER_PREFIX, d->msg->subject);
    memcpy(x->data, d->msg->data, d->msg->len + 1);
    x->len = d->msg->len;
    x->stream_seq = d->msg->seq;
    x->delivered = d->attempt;
    b->ndead++;
}

/* backoff_of: how long after the failed delivery ATTEMPT of C's message it is delivered again */
static int64_t backoff_of(const busfake *b, const bconsumer *c, unsigned attempt)
{
    if (!c->nbackoff) return b->ack_wait_ms;
    size_t i = attempt < 1 ? 0 : attempt - 1;
    return c->backoff[i < c->nbackoff ? i : c->nbackoff - 1];
}

static void on_timer(void *ud);

/* arm: put D on the pending list and arm its timer after DELAY ms. */
static void arm(busfake *b, bdeliv *d, int64_t delay)
{
    d->bus = b;
    d->prev = NULL;
    d->next = b->pending;
    if (b->pending) b->pending->prev = d;
    b->pending = d;
    b->stats.pending++;
    d->timer = b->loop.timer(b->loop.ctx, delay, on_timer, d);
}

static void unlink_pending(busfake *b, bdeliv *d)
{
    if (d->prev) d->prev->next = d->next;
    else b->pending = d->next;
    if (d->next) d->next->prev = d->prev;
    d->prev = d->next = NULL;
    b->stats.pending--;
}

static bdeliv *deliv_new(bmsg *m, bsub *s, bconsumer *c, unsigned attempt)
{
    bdeliv *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->msg = m;
    m->refs++;
    d->sub = s;
    if (s) s->refs++;
    d->cons = c;
    d->attempt = attempt;
    return d;
}

/* schedule: send D through the nats/deliver fault point, then arm it (maybe twice, maybe late, maybe
 * never). Takes ownership of D. */
static void schedule(busfake *b, bdeliv *d)
{
    fake_fault f;
    t0_err err = {0};
    int64_t delay = b->latency_ms;
    switch (fake_fault_at(b->faults, "nats/deliver", &f, &err)) {
    case FAKE_FAULT_DROP:
    case FAKE_FAULT_ERROR:
        b->stats.dropped++;
        if (b->obs) b->obs(b->obs_ud, d->msg->subject, d->cons ? d->cons->name : NULL, d->attempt, "dropped", T0_OK);
        if (d->cons) { /* never acked: JetStream redelivers after ack-wait */
            d->redelivery = true;
            arm(b, d, b->ack_wait_ms);
        } else {
            deliv_free(d);
        }
        return;
    case FAKE_FAULT_DUPLICATE: {
        b->stats.duplicated++;
        bdeliv *dup = deliv_new(d->msg, d->sub, d->cons, d->attempt);
        if (dup) {
            if (d->cons) d->cons->unacked++;
            arm(b, dup, delay + 1);
        }
        break;
    }
    case FAKE_FAULT_DELAY:
        b->stats.delayed++;
        delay += f.delay_ms > 0 ? f.delay_ms : 1000;
        break;
    default:
        break;
    }
    arm(b, d, delay);
}

/* dispatch: hand durable delivery D to one bound subscriber (seeded choice), or park it. */
static void dispatch(busfake *b, bdeliv *d)
{
    bconsumer *c = d->cons;
    sub_unref(d->sub);
    d->sub = NULL;
    d->redelivery = false;
    if (!c->nbound || b->down) {
        d->next = c->parked;
        c->parked = d;
        return;
    }
    unsigned pick = c->nbound == 1 ? 0 : (unsigned)(b->loop.rand(b->loop.ctx) % c->nbound);
    bsub *s = c->bound;
    while (pick--) s = s->next;
    d->sub = s;
    s->refs++;
    schedule(b, d);
}

/* pump: dispatch every stream message C has not seen yet. */
static void pump(busfake *b, bconsumer *c)
{
    if (!c->nbound || b->down) return;
    /* parked redeliveries first, oldest first */
    bdeliv *rev = NULL;
    for (bdeliv *d = c->parked, *nx; d; d = nx) {
        nx = d->next;
        d->next = rev;
        rev = d;
    }
    c->parked = NULL;
    for (bdeliv *d = rev, *nx; d; d = nx) {
        nx = d->next;
        d->next = NULL;
        dispatch(b, d);
    }
    while (c->next_seq <= b->nstream) {
        bmsg *m = b->stream[c->next_seq - 1];
        c->next_seq++;
        if (!busfake_subject_match(c->filter, m->subject)) continue;
        bdeliv *d = deliv_new(m, NULL, c, 1);
        if (!d) return;
        c->unacked++;
        dispatch(b, d);
    }
}

void busfake_set_outage(busfake *b, bool down)
{
    b->down = down;
    if (!down)
        for (bconsumer *c = b->cons_all; c; c = c->next_all) pump(b, c);
}

static void on_timer(void *ud)
{
    bdeliv *d = ud;
    busfake *b = d->bus;
    unlink_pending(b, d);
    if (d->redelivery) { /* ack-wait or the nak's delay ran out: try again */
        b->stats.redelivered++;
        d->attempt++;
        bconsumer *c = d->cons;
        if (c->max_deliver && d->attempt > c->max_deliver + BUS_MAXDELIVER_SLACK) {
            /* the server's MaxDeliver: no more deliveries; its advisory lands in the dead-letter stream */
            if (b->obs) b->obs(b->obs_ud, d->msg->subject, c->name, d->attempt - 1, "max-deliveries", T0_OK);
            dead_letter(b, d, "MaxDeliver reached (JetStream advisory)");
            if (c->unacked) c->unacked--;
            deliv_free(d);
            return;
        }
        dispatch(b, d);
        return;
    }
    bsub *s = d->sub;
    bconsumer *c = d->cons;
    if (s->dead || b->down) {
        if (c) { /* not acked: redeliver after ack-wait */
            sub_unref(d->sub);
            d->sub = NULL;
            d->redelivery = true;
            arm(b, d, b->ack_wait_ms);
        } else {
            b->stats.dropped++;
            deliv_free(d);
        }
        return;
    }
    if (b->obs) b->obs(b->obs_ud, d->msg->subject, c ? c->name : NULL, d->attempt, "deliver", T0_OK);
    b->stats.delivered++;
    bus_msg msg = {.subject = d->msg->subject, .data = d->msg->data, .len = d->msg->len};
    if (c) {
        msg.stream_seq = d->msg->seq;
        msg.stream_epoch = b->epoch;
        msg.delivered = d->attempt;
        msg.max_deliver = c->max_deliver;
    }
    t0_err err = {0};
    t0_status st = s->fn(s->ud, &msg, &err);
    if (b->obs) b->obs(b->obs_ud, d->msg->subject, c ? c->name : NULL, d->attempt, "handled", st);
    if (c && st != T0_OK && t0_status_retryable(st)) {
        if (c->max_deliver && d->attempt >= c->max_deliver) { /* the last allowed delivery: dead letter */
            if (b->obs) b->obs(b->obs_ud, d->msg->subject, c->name, d->attempt, "dead-lettered", st);
            dead_letter(b, d, err.msg);
            if (c->unacked) c->unacked--;
            deliv_free(d);
            return;
        }
        b->stats.naked++;
        sub_unref(d->sub);
        d->sub = NULL;
        d->redelivery = true;
        arm(b, d, backoff_of(b, c, d->attempt));
        return;
    }
    if (c) {
        if (st == T0_OK) b->stats.acked++;
        else b->stats.terminated++;
        if (c->unacked) c->unacked--;
    }
    deliv_free(d);
}

static bsub *sub_new(const char *subject, const char *queue, bus_msg_fn fn, void *ud)
{
    bsub *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->refs = 1;
    s->subject = strdup(subject);
    s->queue = queue ? strdup(queue) : NULL;
    s->fn = fn;
    s->ud = ud;
    if (!s->subject || (queue && !s->queue)) {
        free(s->subject);
        free(s->queue);
        free(s);
        return NULL;
    }
    return s;
}

static bool valid_subject(const char *s, bool wild)
{
    if (!s || !*s || s[0] == '.' || s[strlen(s) - 1] == '.' || strstr(s, "..") || strpbrk(s, " \t\r\n"))
        return false;
    return wild || !strpbrk(s, "*>");
}

static t0_status p_subscribe(void *ctx, const char *subject, const char *queue, bus_msg_fn fn, void *ud, bus_sub **out,
                             t0_err *err)
{
    busfake *b = ctx;
    if (!valid_subject(subject, true) || !fn) return t0_fail(err, T0_EINVAL, "nats subscribe: invalid subject '%s'", subject ? subject : "");
    if (b->down) return t0_fail(err, T0_EUNAVAILABLE, "nats subscribe %s: no servers available (outage)", subject);
    t0_status st = fake_fault_call(b->faults, "nats/subscribe", err);
    if (st != T0_OK) return st;
    bsub *s = sub_new(subject, queue, fn, ud);
    if (!s) return t0_fail(err, T0_ENOMEM, "nats subscribe %s: out of memory", subject);
    s->prev = b->subs_tail;
    if (b->subs_tail) b->subs_tail->next = s;
    else b->subs = s;
    b->subs_tail = s;
    *out = (bus_sub *)s;
    return T0_OK;
}

static t0_status p_subscribe_durable(void *ctx, const bus_durable *o, bus_msg_fn fn, void *ud, bus_sub **out, t0_err *err)
{
    busfake *b = ctx;
    if (!o || !o->stream || strcmp(o->stream, BUSFAKE_STREAM) != 0)
        return t0_fail(err, T0_ENOTFOUND, "nats subscribe durable: stream '%s' not found", o && o->stream ? o->stream : "");
    const char *subject = o->subject, *durable = o->durable;
    if (!valid_subject(subject, true) || !durable || !*durable || !fn)
        return t0_fail(err, T0_EINVAL, "nats subscribe durable: need a subject, a durable name and a handler");
    if (b->down) return t0_fail(err, T0_EUNAVAILABLE, "nats subscribe durable %s: no servers available (outage)", durable);
    t0_status fst = fake_fault_call(b->faults, "nats/subscribe", err);
    if (fst != T0_OK) return fst;
    int64_t *bo = NULL;
    if (o->nbackoff) {
        if (!o->backoff_ms || !(bo = malloc(o->nbackoff * sizeof *bo)))
            return t0_fail(err, o->backoff_ms ? T0_ENOMEM : T0_EINVAL, "nats consumer %s: bad backoff", durable);
        memcpy(bo, o->backoff_ms, o->nbackoff * sizeof *bo);
    }
    bconsumer *c = hmap_get(&b->consumers, durable);
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c) {
            free(bo);
            return t0_fail(err, T0_ENOMEM, "nats consumer %s: out of memory", durable);
        }
        c->name = strdup(durable);
        c->filter = strdup(subject);
        c->next_seq = 1; /* deliver policy All: the whole stream */
        if (!c->name || !c->filter || hmap_put(&b->consumers, durable, c, NULL) != T0_OK) {
            free(c->name);
            free(c->filter);
            free(c);
            free(bo);
            return t0_fail(err, T0_ENOMEM, "nats consumer %s: out of memory", durable);
        }
        if (b->cons_tail) b->cons_tail->next_all = c;
        else b->cons_all = c;
        b->cons_tail = c;
    }
    /* the consumer's settings are the latest subscriber's (the adapter updates an existing consumer) */
    free(c->backoff);
    c->backoff = bo;
    c->nbackoff = o->nbackoff;
    c->max_deliver = o->max_deliver;
    bsub *s = sub_new(subject, NULL, fn, ud);
    if (!s) return t0_fail(err, T0_ENOMEM, "nats subscribe durable %s: out of memory", durable);
    s->cons = c;
    s->prev = c->bound_tail;
    if (c->bound_tail) c->bound_tail->next = s;
    else c->bound = s;
    c->bound_tail = s;
    c->nbound++;
    *out = (bus_sub *)s;
    pump(b, c);
    return T0_OK;
}

static void p_unsubscribe(void *ctx, bus_sub *bs)
{
    busfake *b = ctx;
    bsub *s = (bsub *)bs;
    if (!s || s->dead) return;
    s->dead = true;
    bconsumer *c = s->cons;
    bsub **head = c ? &c->bound : &b->subs, **tail = c ? &c->bound_tail : &b->subs_tail;
    if (s->prev) s->prev->next = s->next;
    else *head = s->next;
    if (s->next) s->next->prev = s->prev;
    else *tail = s->prev;
    s->next = s->prev = NULL;
    if (c) c->nbound--;
    sub_unref(s);
}

static t0_status p_publish(void *ctx, const char *subject, const char *data, size_t len, t0_err *err)
{
    busfake *b = ctx;
    if (!valid_subject(subject, false)) return t0_fail(err, T0_EINVAL, "nats publish: invalid subject '%s'", subject ? subject : "");
    if (b->down) {
        b->stats.publish_failed++;
        return t0_fail(err, T0_EUNAVAILABLE, "nats publish %s: no servers available (outage)", subject);
    }
    t0_status st = fake_fault_call(b->faults, "nats/publish", err);
    if (st != T0_OK) {
        b->stats.publish_failed++;
        t0_err_prefix(err, "nats publish %s", subject);
        return st;
    }
    bmsg *m = calloc(1, sizeof *m);
    if (!m) return t0_fail(err, T0_ENOMEM, "nats publish %s: out of memory", subject);
    m->refs = 1;
    m->subject = strdup(subject);
    m->data = malloc(len + 1);
    if (!m->subject || !m->data) {
        free(m->subject);
        free(m->data);
        free(m);
        return t0_fail(err, T0_ENOMEM, "nats publish %s: out of memory", subject);
    }
    memcpy(m->data, data, len);
    m->data[len] = '\0';
    m->len = len;
    b->stats.published++;

    /* core subscribers: every plain one, and one member per queue group (seeded choice) */
    for (bsub *s = b->subs; s; s = s->next) {
        if (!busfake_subject_match(s->subject, subject)) continue;
        if (s->queue) {
            bool first = true;
            for (bsub *p = b->subs; p != s; p = p->next)
                if (p->queue && !strcmp(p->queue, s->queue) && busfake_subject_match(p->subject, subject)) first = false;
            if (!first) continue;
            unsigned n = 0;
            for (bsub *q = s; q; q = q->next)
                if (q->queue && !strcmp(q->queue, s->queue) && busfake_subject_match(q->subject, subject)) n++;
            unsigned pick = n == 1 ? 0 : (unsigned)(b->loop.rand(b->loop.ctx) % n);
            bsub *q = s;
            for (;; q = q->next)
                if (q->queue && !strcmp(q->queue, s->queue) && busfake_subject_match(q->subject, subject) && pick-- == 0)
                    break;
            bdeliv *d = deliv_new(m, q, NULL, 1);
            if (d) schedule(b, d);
        } else {
            bdeliv *d = deliv_new(m, s, NULL, 1);
            if (d) schedule(b, d);
        }
    }
    if (in_stream(subject)) {
        if (b->nstream == b->capstream) {
            size_t nc = b->capstream ? b->capstream * 2 : 64;
            bmsg **ns = realloc(b->stream, nc * sizeof *ns);
            if (!ns) {
                msg_unref(m);
                return t0_fail(err, T0_ENOMEM, "nats publish %s: stream full (out of memory)", subject);
            }
            b->stream = ns;
            b->capstream = nc;
        }
        b->stream[b->nstream++] = m;
        m->seq = b->nstream;
        m->refs++;
        b->stats.stream_msgs++;
        for (bconsumer *c = b->cons_all; c; c = c->next_all) pump(b, c);
    }
    msg_unref(m);
    return T0_OK;
}

uint64_t busfake_consumer_pending(const busfake *b, const char *durable)
{
    const bconsumer *c = hmap_get(&b->consumers, durable);
    if (!c) return 0;
    uint64_t n = c->unacked;
    for (uint64_t seq = c->next_seq; seq <= b->nstream; seq++)
        if (busfake_subject_match(c->filter, b->stream[seq - 1]->subject)) n++;
    return n;
}

bus_port busfake_port(busfake *b)
{
    return (bus_port){.ctx = b,
                      .subscribe = p_subscribe,
                      .subscribe_durable = p_subscribe_durable,
                      .unsubscribe = p_unsubscribe,
                      .publish = p_publish};
}
