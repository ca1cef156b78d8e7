/* itest_nats.c: nats_bus against a real nats-server -js (URL in T0_NATS_URL, started by
 * ci/adapters-integration.sh): queue subscriptions, the THE0_EVENTS stream, durable consumers that get
 * what was published while they were away, ack only after the handler's T0_OK, messages' stream metadata
 * (sequence, delivery count, the stream's epoch), redelivery after a retryable failure on the consumer's
 * backoff, Term of bad input, MaxDeliver and the dead-letter stream. Handlers run on the loop thread. */
#include <criterion/criterion.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adapters/nats_bus.h"
#include "adapters/rtloop.h"

static const char *url(void)
{
    const char *u = getenv("T0_NATS_URL");
    cr_assert(u && *u, "T0_NATS_URL is not set: run through ci/adapters-integration.sh");
    return u;
}

typedef struct h {
    char marker[64];
    int seen[8];  /* per message number found in the payload "MARKER:n" */
    int calls;
    t0_status fail_first; /* returned on the first delivery of each message (T0_OK = never fail) */
    t0_status always;     /* returned every time (T0_OK = not used) */
    bool wrong_thread;
    pthread_t loop_thread;
    char subject[128];
    bus_msg last; /* the metadata of the last delivery of one of ours */
} h;

static t0_status handler(void *ud, const bus_msg *m, t0_err *err)
{
    h *x = ud;
    size_t ml = strlen(x->marker);
    if (!pthread_equal(pthread_self(), x->loop_thread)) x->wrong_thread = true;
    if (m->len < ml + 2 || memcmp(m->data, x->marker, ml) || m->data[ml] != ':') return T0_OK; /* another test's */
    int n = m->data[ml + 1] - '0';
    if (n < 0 || n > 7) return t0_fail(err, T0_EINVAL, "bad message number");
    x->calls++;
    snprintf(x->subject, sizeof x->subject, "%s", m->subject);
    x->seen[n]++;
    x->last = *m;
    x->last.subject = x->last.data = NULL;
    t0_status st = x->always != T0_OK ? x->always : x->fail_first != T0_OK && x->seen[n] == 1 ? x->fail_first : T0_OK;
    if (st != T0_OK) t0_fail(err, st, "test handler fails message %d (delivery %u)", n, m->delivered);
    return st;
}

/* durable: the consumer settings of a test: NAME on SUBJECT, MAX_DELIVER, one backoff step of BACKOFF_MS */
static bus_durable durable(const char *subject, const char *name, unsigned max_deliver, const int64_t *backoff_ms)
{
    return (bus_durable){"THE0_EVENTS", subject, name, max_deliver, backoff_ms, backoff_ms ? 1 : 0};
}

/* run: the loop until COND(x) or TIMEOUT_MS. */
static bool run(rtloop *l, h *x, bool (*cond)(h *), int timeout_ms)
{
    for (int t = 0; t < timeout_ms; t += 50) {
        if (cond(x)) return true;
        rtloop_run(l, 50);
    }
    return cond(x);
}

static bool got1(h *x) { return x->seen[1] >= 1; }
static bool got23(h *x) { return x->seen[2] && x->seen[3]; }
static bool twice1(h *x) { return x->seen[1] >= 2; }

static void marker(h *x, const char *what)
{
    snprintf(x->marker, sizeof x->marker, "%s-%d-%ld-%ld", what, (int)getpid(), (long)time(NULL), random() % 100000);
    x->loop_thread = pthread_self();
}

static void publish(bus_port *p, const char *subject, h *x, int n)
{
    char msg[128];
    int len = snprintf(msg, sizeof msg, "%s:%d", x->marker, n);
    t0_err e = {0};
    cr_assert_eq(p->publish(p->ctx, subject, msg, (size_t)len, &e), T0_OK, "%s", e.msg);
}

TestSuite(nats, .timeout = 60);

Test(nats, unreachable_server_is_unavailable)
{
    rtloop *l;
    rtloop_new(&l, NULL);
    natsbus *b = NULL;
    t0_err e = {0};
    natsbus_opts o;
    natsbus_opts_defaults(&o);
    o.connect_timeout_ms = 500;
    t0_status st = natsbus_new("nats://127.0.0.1:1", l, &o, &b, &e);
    cr_assert_eq(st, T0_EUNAVAILABLE, "got %s: %s", t0_status_name(st), e.msg);
    cr_assert_null(b);
    rtloop_destroy(l);
}

Test(nats, queue_subscription_delivers_on_the_loop_thread)
{
    rtloop *l;
    rtloop_new(&l, NULL);
    natsbus *b;
    t0_err e = {0};
    cr_assert_eq(natsbus_new(url(), l, NULL, &b, &e), T0_OK, "%s", e.msg);
    bus_port p = natsbus_port(b);
    h x = {0};
    marker(&x, "core");
    char subj[128];
    snprintf(subj, sizeof subj, "it.%s.created", x.marker);
    bus_sub *s;
    cr_assert_eq(p.subscribe(p.ctx, "it.*.created", "runtime", handler, &x, &s, &e), T0_OK, "%s", e.msg);
    usleep(100000); /* the SUB reaches the server */
    publish(&p, subj, &x, 1);
    cr_assert(run(l, &x, got1, 5000), "nothing delivered");
    cr_assert_eq(x.seen[1], 1);
    cr_assert_str_eq(x.subject, subj);
    cr_assert_not(x.wrong_thread, "a handler ran off the loop thread");
    p.unsubscribe(p.ctx, s);
    natsbus_destroy(b);
    rtloop_destroy(l);
}

static void durable_name(char *buf, size_t cap, const h *x)
{
    snprintf(buf, cap, "it-%s", x->marker);
    for (char *c = buf; *c; c++)
        if (*c == '.') *c = '-';
}

/* One test's bus and durable subscription: a loop, a bus (OPTS NULL: defaults) and durable consumer "it-MARKER" on
 * SUBJECT with MAX_DELIVER and a one-step backoff (BACKOFF_MS NULL: the bus's ack-wait). */
typedef struct fx {
    rtloop *l;
    natsbus *b;
    bus_port p;
    bus_sub *s;
    char dn[128];
} fx;

static void fx_open(fx *f, h *x, const natsbus_opts *opts, const char *subject, unsigned max_deliver, const int64_t *backoff_ms)
{
    t0_err e = {0};
    durable_name(f->dn, sizeof f->dn, x);
    x->loop_thread = pthread_self();
    cr_assert_eq(rtloop_new(&f->l, NULL), T0_OK);
    cr_assert_eq(natsbus_new(url(), f->l, opts, &f->b, &e), T0_OK, "%s", e.msg);
    f->p = natsbus_port(f->b);
    bus_durable d = durable(subject, f->dn, max_deliver, backoff_ms);
    cr_assert_eq(f->p.subscribe_durable(f->p.ctx, &d, handler, x, &f->s, &e), T0_OK, "%s", e.msg);
}

/* short_ack_wait: bus options with a 1 s AckWait, so a message never settled comes back within a test */
static natsbus_opts short_ack_wait(void)
{
    natsbus_opts o;
    natsbus_opts_defaults(&o);
    o.ack_wait_ms = 1000;
    return o;
}

static void fx_close(fx *f)
{
    if (f->s) f->p.unsubscribe(f->p.ctx, f->s);
    natsbus_destroy(f->b);
    rtloop_destroy(f->l);
    f->s = NULL;
}

Test(nats, stream_is_created_with_the_reference_shape)
{
    rtloop *l;
    rtloop_new(&l, NULL);
    natsbus *b;
    t0_err e = {0};
    cr_assert_eq(natsbus_new(url(), l, NULL, &b, &e), T0_OK, "%s", e.msg);
    cr_assert_eq(natsbus_ensure_stream(b, "THE0_EVENTS", &e), T0_OK, "%s", e.msg);
    natsConnection *nc;
    jsCtx *js;
    cr_assert_eq(natsConnection_ConnectTo(&nc, url()), NATS_OK);
    cr_assert_eq(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
    jsStreamInfo *si = NULL;
    cr_assert_eq(js_GetStreamInfo(&si, js, "THE0_EVENTS", NULL, NULL), NATS_OK);
    cr_assert_eq(si->Config->SubjectsLen, 6, "subjects %d", si->Config->SubjectsLen);
    cr_assert_eq(si->Config->Retention, js_LimitsPolicy);
    cr_assert_eq(si->Config->Storage, js_FileStorage);
    cr_assert_eq(si->Config->MaxAge, 7LL * 24 * 3600 * 1000000000LL, "max age %lld", (long long)si->Config->MaxAge);
    jsStreamInfo_Destroy(si);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    natsbus_destroy(b);
    rtloop_destroy(l);
}

Test(nats, durable_consumer_gets_what_was_published_while_it_was_away)
{
    h x = {0};
    marker(&x, "away");
    char dn[128];
    durable_name(dn, sizeof dn, &x);
    /* run 1: consume message 1, then stop */
    rtloop *l;
    rtloop_new(&l, NULL);
    natsbus *b;
    t0_err e = {0};
    cr_assert_eq(natsbus_new(url(), l, NULL, &b, &e), T0_OK, "%s", e.msg);
    bus_port p = natsbus_port(b);
    bus_sub *s;
    bus_durable d = durable("the0.bot.*", dn, 10, NULL);
    cr_assert_eq(p.subscribe_durable(p.ctx, &d, handler, &x, &s, &e), T0_OK, "%s", e.msg);
    publish(&p, "the0.bot.created", &x, 1);
    cr_assert(run(l, &x, got1, 10000), "message 1 not delivered");
    rtloop_run(l, 300); /* let the ack reach the server */
    p.unsubscribe(p.ctx, s);
    natsbus_destroy(b);
    rtloop_destroy(l);
    /* while nobody listens: messages 2 and 3 (the API's JetStream publishes land in the stream) */
    natsConnection *nc;
    jsCtx *js;
    cr_assert_eq(natsConnection_ConnectTo(&nc, url()), NATS_OK);
    cr_assert_eq(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
    for (int n = 2; n <= 3; n++) {
        char msg[128];
        int len = snprintf(msg, sizeof msg, "%s:%d", x.marker, n);
        jsPubAck *pa = NULL;
        cr_assert_eq(js_Publish(&pa, js, n == 2 ? "the0.bot.updated" : "the0.bot.deleted", msg, len, NULL, NULL), NATS_OK);
        jsPubAck_Destroy(pa);
    }
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    /* run 2: the same durable picks up 2 and 3, and not 1 again (it was acked) */
    memset(x.seen, 0, sizeof x.seen);
    rtloop_new(&l, NULL);
    x.loop_thread = pthread_self();
    cr_assert_eq(natsbus_new(url(), l, NULL, &b, &e), T0_OK, "%s", e.msg);
    p = natsbus_port(b);
    cr_assert_eq(p.subscribe_durable(p.ctx, &d, handler, &x, &s, &e), T0_OK, "%s", e.msg);
    cr_assert(run(l, &x, got23, 10000), "2=%d 3=%d after restart", x.seen[2], x.seen[3]);
    rtloop_run(l, 500);
    cr_assert_eq(x.seen[1], 0, "message 1 was redelivered after its ack (%d)", x.seen[1]);
    cr_assert_eq(x.seen[2], 1, "message 2 seen %d times", x.seen[2]);
    cr_assert_eq(x.seen[3], 1, "message 3 seen %d times", x.seen[3]);
    cr_assert_not(x.wrong_thread);
    natsbus_stats ns;
    natsbus_stats_get(b, &ns);
    cr_assert_geq(ns.acked, 2u, "acked %llu", (unsigned long long)ns.acked);
    p.unsubscribe(p.ctx, s);
    natsbus_destroy(b);
    rtloop_destroy(l);
}

Test(nats, retryable_failure_is_redelivered_and_ok_is_acked_once)
{
    h x = {0};
    marker(&x, "retry");
    x.fail_first = T0_EUNAVAILABLE; /* as when the MongoDB write fails */
    static const int64_t backoff[] = {200};
    fx f;
    fx_open(&f, &x, NULL, "the0.bot-schedule.*", 10, backoff);
    publish(&f.p, "the0.bot-schedule.created", &x, 1);
    cr_assert(run(f.l, &x, twice1, 10000), "not redelivered after a retryable failure (seen %d)", x.seen[1]);
    cr_assert_eq(x.last.delivered, 2u, "the second delivery says so: %u", x.last.delivered);
    cr_assert_eq(x.last.max_deliver, 10u);
    rtloop_run(f.l, 1500); /* past the backoff and then some: an acked message does not come back */
    cr_assert_eq(x.seen[1], 2, "seen %d times (want 2: failed once, then acked)", x.seen[1]);
    natsbus_stats ns;
    natsbus_stats_get(f.b, &ns);
    cr_assert_geq(ns.naked, 1u);
    fx_close(&f);
}

Test(nats, bad_input_is_terminated)
{
    h x = {0};
    marker(&x, "bad");
    x.always = T0_EINVAL;
    natsbus_opts o = short_ack_wait();
    static const int64_t backoff[] = {100};
    fx f;
    fx_open(&f, &x, &o, "the0.bot.*", 10, backoff);
    publish(&f.p, "the0.bot.updated", &x, 1);
    cr_assert(run(f.l, &x, got1, 10000));
    rtloop_run(f.l, 2000); /* longer than AckWait and the backoff: an unsettled message would be back */
    cr_assert_eq(x.seen[1], 1, "bad input delivered %d times", x.seen[1]);
    natsbus_stats ns;
    natsbus_stats_get(f.b, &ns);
    cr_assert_geq(ns.terminated, 1u, "terminated %llu", (unsigned long long)ns.terminated);
    fx_close(&f);
}

Test(nats, unsubscribe_with_a_message_in_flight_leaves_it_unacked)
{
    h x = {0};
    marker(&x, "inflight");
    char dn[128];
    durable_name(dn, sizeof dn, &x);
    rtloop *l;
    rtloop_new(&l, NULL);
    natsbus *b;
    t0_err e = {0};
    natsbus_opts o;
    natsbus_opts_defaults(&o);
    o.ack_wait_ms = 1000;
    cr_assert_eq(natsbus_new(url(), l, &o, &b, &e), T0_OK, "%s", e.msg);
    bus_port p = natsbus_port(b);
    bus_sub *s;
    bus_durable d = durable("the0.bot.*", dn, 10, NULL);
    cr_assert_eq(p.subscribe_durable(p.ctx, &d, handler, &x, &s, &e), T0_OK, "%s", e.msg);
    publish(&p, "the0.bot.created", &x, 1);
    /* wait until the message sits in the loop's inbox, then unsubscribe before the loop runs it */
    for (int i = 0; i < 200 && rtloop_pending_posts(l) == 0; i++) usleep(10000);
    cr_assert_geq(rtloop_pending_posts(l), 1u);
    p.unsubscribe(p.ctx, s);
    rtloop_run(l, 200);
    cr_assert_eq(x.seen[1], 0, "a handler ran after unsubscribe");
    natsbus_destroy(b);
    rtloop_destroy(l);
    /* the next run of the durable gets it (after AckWait) */
    rtloop_new(&l, NULL);
    cr_assert_eq(natsbus_new(url(), l, &o, &b, &e), T0_OK, "%s", e.msg);
    p = natsbus_port(b);
    cr_assert_eq(p.subscribe_durable(p.ctx, &d, handler, &x, &s, &e), T0_OK, "%s", e.msg);
    cr_assert(run(l, &x, got1, 10000), "the unacked message never came back");
    p.unsubscribe(p.ctx, s);
    natsbus_destroy(b);
    rtloop_destroy(l);
}

/* js: a plain JetStream context of our own, to look at what the bus did */
typedef struct js_conn {
    natsConnection *nc;
    jsCtx *js;
} js_conn;

static js_conn js_open(void)
{
    js_conn c;
    cr_assert_eq(natsConnection_ConnectTo(&c.nc, url()), NATS_OK);
    cr_assert_eq(natsConnection_JetStream(&c.js, c.nc, NULL), NATS_OK);
    return c;
}

static void js_close(js_conn *c)
{
    jsCtx_Destroy(c->js);
    natsConnection_Destroy(c->nc);
}

Test(nats, messages_carry_their_stream_sequence_and_the_streams_epoch)
{
    h x = {0};
    marker(&x, "meta");
    fx f;
    fx_open(&f, &x, NULL, "the0.bot.*", 10, NULL);
    js_conn c = js_open();
    char msg[128];
    int len = snprintf(msg, sizeof msg, "%s:1", x.marker);
    jsPubAck *pa = NULL;
    cr_assert_eq(js_Publish(&pa, c.js, "the0.bot.created", msg, len, NULL, NULL), NATS_OK);
    uint64_t seq = pa->Sequence;
    jsPubAck_Destroy(pa);
    jsStreamInfo *si = NULL;
    cr_assert_eq(js_GetStreamInfo(&si, c.js, "THE0_EVENTS", NULL, NULL), NATS_OK);
    uint64_t epoch = (uint64_t)(si->Created / 1000);
    jsStreamInfo_Destroy(si);
    cr_assert(run(f.l, &x, got1, 10000), "not delivered");
    cr_expect_eq(x.last.stream_seq, seq, "stream sequence %llu, published as %llu", (unsigned long long)x.last.stream_seq,
                 (unsigned long long)seq);
    cr_expect_eq(x.last.stream_epoch, epoch, "epoch %llu, the stream was created at %llu us",
                 (unsigned long long)x.last.stream_epoch, (unsigned long long)epoch);
    cr_expect_eq(x.last.delivered, 1u);
    /* the consumer got the server-side bound: max_deliver + slack */
    jsConsumerInfo *ci = NULL;
    cr_assert_eq(js_GetConsumerInfo(&ci, c.js, "THE0_EVENTS", f.dn, NULL, NULL), NATS_OK);
    cr_expect_eq(ci->Config->MaxDeliver, 10 + BUS_MAXDELIVER_SLACK, "MaxDeliver %lld", (long long)ci->Config->MaxDeliver);
    jsConsumerInfo_Destroy(ci);
    js_close(&c);
    fx_close(&f);
}

static bool thrice1(h *x) { return x->seen[1] >= 3; }

Test(nats, a_message_failing_to_its_last_delivery_is_dead_lettered)
{
    h x = {0};
    marker(&x, "dead");
    x.always = T0_EUNAVAILABLE;
    natsbus_opts o = short_ack_wait();
    static const int64_t backoff[] = {100};
    fx f;
    fx_open(&f, &x, &o, "the0.bot.*", 3, backoff);
    publish(&f.p, "the0.bot.updated", &x, 1);
    cr_assert(run(f.l, &x, thrice1, 10000), "3 deliveries expected, got %d", x.seen[1]);
    rtloop_run(f.l, 2500); /* past AckWait and the backoff: a 4th delivery would be here */
    cr_assert_eq(x.seen[1], 3, "delivered %d times with max_deliver 3", x.seen[1]);
    natsbus_stats ns;
    natsbus_stats_get(f.b, &ns);
    cr_assert_geq(ns.dead_lettered, 1u, "dead-lettered %llu", (unsigned long long)ns.dead_lettered);
    /* the dead letter: our payload, its origin and why */
    js_conn c = js_open();
    natsMsg *dl = NULL;
    jsErrCode jerr = 0;
    cr_assert_eq(js_GetLastMsg(&dl, c.js, BUS_DEADLETTER_STREAM, BUS_DEADLETTER_PREFIX "the0.bot.updated", NULL, &jerr),
                 NATS_OK, "no dead letter (js error %d)", (int)jerr);
    char want[128];
    snprintf(want, sizeof want, "%s:1", x.marker);
    cr_expect_eq((size_t)natsMsg_GetDataLength(dl), strlen(want));
    cr_expect(!memcmp(natsMsg_GetData(dl), want, strlen(want)), "the payload as published");
    const char *v = NULL;
    cr_expect_eq(natsMsgHeader_Get(dl, "The0-Subject", &v), NATS_OK);
    cr_expect_str_eq(v ? v : "", "the0.bot.updated");
    cr_expect_eq(natsMsgHeader_Get(dl, "The0-Delivered", &v), NATS_OK);
    cr_expect_str_eq(v ? v : "", "3");
    cr_expect_eq(natsMsgHeader_Get(dl, "The0-Error", &v), NATS_OK);
    cr_expect(v && strstr(v, "test handler fails message 1"), "why: %s", v ? v : "(none)");
    cr_expect_eq(natsMsgHeader_Get(dl, "The0-Stream-Seq", &v), NATS_OK);
    cr_expect(v && atoll(v) > 0, "stream sequence %s", v ? v : "(none)");
    natsMsg_Destroy(dl);
    js_close(&c);
    fx_close(&f);
}

Test(nats, an_existing_consumer_gets_our_settings)
{
    h x = {0};
    marker(&x, "upd");
    char dn[128];
    durable_name(dn, sizeof dn, &x);
    /* an older version of us made the consumer without MaxDeliver */
    js_conn c = js_open();
    rtloop *l;
    rtloop_new(&l, NULL);
    natsbus *b;
    t0_err e = {0};
    cr_assert_eq(natsbus_new(url(), l, NULL, &b, &e), T0_OK, "%s", e.msg);
    cr_assert_eq(natsbus_ensure_stream(b, "THE0_EVENTS", &e), T0_OK, "%s", e.msg);
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = dn;
    cc.FilterSubject = "the0.bot.*";
    cc.AckPolicy = js_AckExplicit;
    jsConsumerInfo *ci = NULL;
    cr_assert_eq(js_AddConsumer(&ci, c.js, "THE0_EVENTS", &cc, NULL, NULL), NATS_OK);
    jsConsumerInfo_Destroy(ci);
    bus_port p = natsbus_port(b);
    bus_sub *s;
    bus_durable d = durable("the0.bot.*", dn, 7, NULL);
    cr_assert_eq(p.subscribe_durable(p.ctx, &d, handler, &x, &s, &e), T0_OK, "%s", e.msg);
    cr_assert_eq(js_GetConsumerInfo(&ci, c.js, "THE0_EVENTS", dn, NULL, NULL), NATS_OK);
    cr_expect_eq(ci->Config->MaxDeliver, 7 + BUS_MAXDELIVER_SLACK, "updated MaxDeliver %lld", (long long)ci->Config->MaxDeliver);
    jsConsumerInfo_Destroy(ci);
    js_close(&c);
    p.unsubscribe(p.ctx, s);
    natsbus_destroy(b);
    rtloop_destroy(l);
}
