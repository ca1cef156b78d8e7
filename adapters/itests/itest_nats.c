/* itest_nats.c: nats_bus against a real nats-server -js (URL in T0_NATS_URL, started by
 * ci/adapters-integration.sh): queue subscriptions, the THE0_EVENTS stream, durable consumers that get
 * what was published while they were away, ack only after the handler's T0_OK, redelivery after a
 * retryable failure, drop of bad input. Handlers run on the loop thread. */
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
} h;

static t0_status handler(void *ud, const char *subject, const char *data, size_t len)
{
    h *x = ud;
    size_t ml = strlen(x->marker);
    if (!pthread_equal(pthread_self(), x->loop_thread)) x->wrong_thread = true;
    if (len < ml + 2 || memcmp(data, x->marker, ml) || data[ml] != ':') return T0_OK; /* another test's message */
    int n = data[ml + 1] - '0';
    if (n < 0 || n > 7) return T0_EINVAL;
    x->calls++;
    snprintf(x->subject, sizeof x->subject, "%s", subject);
    x->seen[n]++;
    if (x->always != T0_OK) return x->always;
    if (x->fail_first != T0_OK && x->seen[n] == 1) return x->fail_first;
    return T0_OK;
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
    cr_assert_eq(p.subscribe_durable(p.ctx, "THE0_EVENTS", "the0.bot.*", dn, handler, &x, &s, &e), T0_OK, "%s", e.msg);
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
    cr_assert_eq(p.subscribe_durable(p.ctx, "THE0_EVENTS", "the0.bot.*", dn, handler, &x, &s, &e), T0_OK, "%s", e.msg);
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
    char dn[128];
    durable_name(dn, sizeof dn, &x);
    rtloop *l;
    rtloop_new(&l, NULL);
    natsbus *b;
    t0_err e = {0};
    natsbus_opts o;
    natsbus_opts_defaults(&o);
    o.nak_delay_ms = 200;
    cr_assert_eq(natsbus_new(url(), l, &o, &b, &e), T0_OK, "%s", e.msg);
    bus_port p = natsbus_port(b);
    bus_sub *s;
    cr_assert_eq(p.subscribe_durable(p.ctx, "THE0_EVENTS", "the0.bot-schedule.*", dn, handler, &x, &s, &e), T0_OK, "%s",
                 e.msg);
    publish(&p, "the0.bot-schedule.created", &x, 1);
    cr_assert(run(l, &x, twice1, 10000), "not redelivered after a retryable failure (seen %d)", x.seen[1]);
    rtloop_run(l, 1500); /* past nak delay and then some: an acked message does not come back */
    cr_assert_eq(x.seen[1], 2, "seen %d times (want 2: failed once, then acked)", x.seen[1]);
    natsbus_stats ns;
    natsbus_stats_get(b, &ns);
    cr_assert_geq(ns.naked, 1u);
    p.unsubscribe(p.ctx, s);
    natsbus_destroy(b);
    rtloop_destroy(l);
}

Test(nats, bad_input_is_acked_and_dropped)
{
    h x = {0};
    marker(&x, "bad");
    x.always = T0_EINVAL;
    char dn[128];
    durable_name(dn, sizeof dn, &x);
    rtloop *l;
    rtloop_new(&l, NULL);
    natsbus *b;
    t0_err e = {0};
    natsbus_opts o;
    natsbus_opts_defaults(&o);
    o.nak_delay_ms = 100;
    o.ack_wait_ms = 1000;
    cr_assert_eq(natsbus_new(url(), l, &o, &b, &e), T0_OK, "%s", e.msg);
    bus_port p = natsbus_port(b);
    bus_sub *s;
    cr_assert_eq(p.subscribe_durable(p.ctx, "THE0_EVENTS", "the0.bot.*", dn, handler, &x, &s, &e), T0_OK, "%s", e.msg);
    publish(&p, "the0.bot.updated", &x, 1);
    cr_assert(run(l, &x, got1, 10000));
    rtloop_run(l, 2000); /* longer than AckWait: an unacked message would be back */
    cr_assert_eq(x.seen[1], 1, "bad input delivered %d times", x.seen[1]);
    p.unsubscribe(p.ctx, s);
    natsbus_destroy(b);
    rtloop_destroy(l);
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
    cr_assert_eq(p.subscribe_durable(p.ctx, "THE0_EVENTS", "the0.bot.*", dn, handler, &x, &s, &e), T0_OK, "%s", e.msg);
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
    cr_assert_eq(p.subscribe_durable(p.ctx, "THE0_EVENTS", "the0.bot.*", dn, handler, &x, &s, &e), T0_OK, "%s", e.msg);
    cr_assert(run(l, &x, got1, 10000), "the unacked message never came back");
    p.unsubscribe(p.ctx, s);
    natsbus_destroy(b);
    rtloop_destroy(l);
}
