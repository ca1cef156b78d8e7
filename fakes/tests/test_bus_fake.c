/* test_bus_fake.c: the fake NATS: wildcards, queue groups, timer delivery, durable stream (metadata, acks,
 * naks after the backoff, terminations, MaxDeliver and the dead-letter stream), faults. */
#include <criterion/criterion.h>
#include <string.h>

#include "fakes/bus_fake.h"
#include "fakes/payloads.h"
#include "sim/faults.h"
#include "sim/loop.h"

typedef struct rec {
    char log[1024];
    int n;
    t0_status answer; /* what the handler returns */
    int fail_first;   /* return answer only for the first N deliveries, then OK */
    bus_msg last;     /* the last delivery's metadata (subject and data not kept) */
    int64_t at[16];   /* when each delivery ran */
    const sim_loop *loop;
} rec;

static t0_status handler(void *ud, const bus_msg *m, t0_err *err)
{
    rec *r = ud;
    if (r->loop && r->n < 16) r->at[r->n] = sim_loop_now(r->loop);
    r->n++;
    r->last = *m;
    char line[128];
    snprintf(line, sizeof line, "%s:%.*s;", m->subject, (int)m->len, m->data);
    strncat(r->log, line, sizeof r->log - strlen(r->log) - 1);
    t0_status st = r->fail_first && r->n > r->fail_first ? T0_OK : r->answer;
    if (st != T0_OK) t0_fail(err, st, "test handler says %s", t0_status_name(st));
    return st;
}

static bus_durable durable(const char *subject, const char *name) { return (bus_durable){BUSFAKE_STREAM, subject, name, 0, NULL, 0}; }

/* A loop seeded SEED and a bus on it, without faults. */
typedef struct fx {
    sim_loop *l;
    busfake *b;
    bus_port p;
} fx;

static fx fx_open(uint64_t seed)
{
    fx f;
    cr_assert_eq(sim_loop_new(seed, 0, &f.l, NULL), T0_OK);
    loop_port lp = sim_loop_port(f.l);
    cr_assert_eq(busfake_new(&lp, NULL, &f.b, NULL), T0_OK);
    f.p = busfake_port(f.b);
    return f;
}

static void fx_close(fx *f)
{
    busfake_destroy(f->b);
    sim_loop_destroy(f->l);
}

Test(bus_fake, subject_matching)
{
    cr_expect(busfake_subject_match("the0.bot.*", "the0.bot.created"));
    cr_expect(!busfake_subject_match("the0.bot.*", "the0.bot-schedule.created"));
    cr_expect(!busfake_subject_match("the0.bot.*", "the0.bot.created.x"));
    cr_expect(busfake_subject_match("the0.>", "the0.bot.created"));
    cr_expect(!busfake_subject_match("the0.>", "the0"));
    cr_expect(busfake_subject_match("*.*.deleted", "the0.bot.deleted"));
    cr_expect(busfake_subject_match("a", "a"));
    cr_expect(!busfake_subject_match("a", "ab"));
}

Test(bus_fake, delivery_is_on_timers_and_queue_groups_share)
{
    sim_loop *l;
    cr_assert_eq(sim_loop_new(11, 0, &l, NULL), T0_OK);
    loop_port lp = sim_loop_port(l);
    busfake *b;
    cr_assert_eq(busfake_new(&lp, NULL, &b, NULL), T0_OK);
    bus_port p = busfake_port(b);
    rec q1 = {0}, q2 = {0}, plain = {0};
    bus_sub *s1, *s2, *s3;
    cr_assert_eq(p.subscribe(p.ctx, "the0.bot.*", "runtime", handler, &q1, &s1, NULL), T0_OK);
    cr_assert_eq(p.subscribe(p.ctx, "the0.bot.*", "runtime", handler, &q2, &s2, NULL), T0_OK);
    cr_assert_eq(p.subscribe(p.ctx, "the0.>", NULL, handler, &plain, &s3, NULL), T0_OK);
    for (int i = 0; i < 20; i++) cr_assert_eq(p.publish(p.ctx, "the0.bot.created", "x", 1, NULL), T0_OK);
    cr_expect_eq(q1.n + q2.n + plain.n, 0, "nothing delivered inside publish");
    sim_loop_run_for(l, 10);
    cr_expect_eq(q1.n + q2.n, 20, "each message to exactly one queue member: %d + %d", q1.n, q2.n);
    cr_expect(q1.n > 0 && q2.n > 0, "both members got some: %d, %d", q1.n, q2.n);
    cr_expect_eq(plain.n, 20, "plain subscriber gets all: %d", plain.n);
    p.unsubscribe(p.ctx, s1);
    p.unsubscribe(p.ctx, s2);
    p.unsubscribe(p.ctx, s3);
    busfake_destroy(b);
    sim_loop_destroy(l);
}

Test(bus_fake, durable_gets_messages_published_while_absent_and_redelivers)
{
    sim_loop *l;
    cr_assert_eq(sim_loop_new(5, 0, &l, NULL), T0_OK);
    loop_port lp = sim_loop_port(l);
    busfake *b;
    cr_assert_eq(busfake_new(&lp, NULL, &b, NULL), T0_OK);
    busfake_set_ack_wait(b, 5000);
    bus_port p = busfake_port(b);
    cr_assert_eq(p.publish(p.ctx, "the0.bot.created", "a", 1, NULL), T0_OK);
    cr_assert_eq(p.publish(p.ctx, "the0.bot-schedule.created", "s", 1, NULL), T0_OK);
    cr_assert_eq(p.publish(p.ctx, "other.subject", "o", 1, NULL), T0_OK);
    rec r = {.answer = T0_EUNAVAILABLE, .fail_first = 1};
    bus_sub *s;
    bus_durable d = durable("the0.bot.*", "bots");
    cr_assert_eq(p.subscribe_durable(p.ctx, &d, handler, &r, &s, NULL), T0_OK);
    sim_loop_run_for(l, 10);
    cr_expect_str_eq(r.log, "the0.bot.created:a;", "the earlier message arrives: %s", r.log);
    cr_expect_eq(busfake_consumer_pending(b, "bots"), 1u, "nacked: still pending");
    sim_loop_run_for(l, 4000);
    cr_expect_eq(r.n, 1, "not before ack-wait: %d", r.n);
    sim_loop_run_for(l, 1100);
    cr_expect_eq(r.n, 2, "redelivered after ack-wait: %d", r.n);
    cr_expect_eq(busfake_consumer_pending(b, "bots"), 0u, "acked");
    /* the consumer survives its subscriber: messages wait for the next one */
    p.unsubscribe(p.ctx, s);
    cr_assert_eq(p.publish(p.ctx, "the0.bot.deleted", "d", 1, NULL), T0_OK);
    sim_loop_run_for(l, 100);
    cr_expect_eq(r.n, 2, "no subscriber, no delivery");
    rec r2 = {0};
    cr_assert_eq(p.subscribe_durable(p.ctx, &d, handler, &r2, &s, NULL), T0_OK);
    sim_loop_run_for(l, 10);
    cr_expect_str_eq(r2.log, "the0.bot.deleted:d;", "resumes where the consumer was: %s", r2.log);
    p.unsubscribe(p.ctx, s);
    busfake_destroy(b);
    sim_loop_destroy(l);
}

Test(bus_fake, durable_messages_carry_stream_metadata)
{
    fx f = fx_open(5);
    docver pos = busfake_position(f.b);
    cr_expect_eq(pos.epoch, (uint64_t)sim_loop_now(f.l) * 1000, "epoch: the stream's creation time in us");
    cr_expect_eq(pos.seq, 0u, "empty stream");
    cr_assert_eq(f.p.publish(f.p.ctx, "the0.bot-schedule.created", "s", 1, NULL), T0_OK);
    cr_assert_eq(f.p.publish(f.p.ctx, "the0.bot.created", "a", 1, NULL), T0_OK);
    pos = busfake_position(f.b);
    cr_expect_eq(pos.seq, 2u, "two messages in the stream: %llu", (unsigned long long)pos.seq);
    rec r = {0};
    bus_sub *s;
    bus_durable d = {BUSFAKE_STREAM, "the0.bot.*", "bots", 7, NULL, 0};
    cr_assert_eq(f.p.subscribe_durable(f.p.ctx, &d, handler, &r, &s, NULL), T0_OK);
    sim_loop_run_for(f.l, 10);
    cr_assert_eq(r.n, 1);
    cr_expect_eq(r.last.stream_seq, 2u, "the stream's sequence, not the consumer's: %llu", (unsigned long long)r.last.stream_seq);
    cr_expect_eq(r.last.stream_epoch, pos.epoch);
    cr_expect_eq(r.last.delivered, 1u);
    cr_expect_eq(r.last.max_deliver, 7u);
    /* core subscriptions have none */
    rec c = {0};
    bus_sub *cs;
    cr_assert_eq(f.p.subscribe(f.p.ctx, "the0.>", NULL, handler, &c, &cs, NULL), T0_OK);
    cr_assert_eq(f.p.publish(f.p.ctx, "the0.bot.updated", "u", 1, NULL), T0_OK);
    sim_loop_run_for(f.l, 10);
    cr_expect_eq(c.n, 1);
    cr_expect(c.last.stream_seq == 0 && c.last.delivered == 0, "core: no stream metadata");
    f.p.unsubscribe(f.p.ctx, s);
    f.p.unsubscribe(f.p.ctx, cs);
    fx_close(&f);
}

Test(bus_fake, naks_follow_the_backoff_and_the_last_delivery_dead_letters)
{
    fx f = fx_open(5);
    busfake_set_latency(f.b, 0);
    static const int64_t backoff[] = {1000, 5000};
    rec r = {.answer = T0_EUNAVAILABLE, .loop = f.l};
    bus_sub *s;
    bus_durable d = {BUSFAKE_STREAM, "the0.bot.*", "bots", 4, backoff, 2};
    cr_assert_eq(f.p.subscribe_durable(f.p.ctx, &d, handler, &r, &s, NULL), T0_OK);
    int64_t t0 = sim_loop_now(f.l);
    cr_assert_eq(f.p.publish(f.p.ctx, "the0.bot.updated", "u", 1, NULL), T0_OK);
    sim_loop_run_for(f.l, 60000);
    cr_assert_eq(r.n, 4, "delivered max_deliver times, then no more: %d", r.n);
    int64_t want[] = {0, 1000, 6000, 11000}; /* the last backoff repeats */
    for (int i = 0; i < 4; i++)
        cr_expect_eq(r.at[i] - t0, want[i], "delivery %d at +%lld ms, want +%lld", i + 1, (long long)(r.at[i] - t0),
                     (long long)want[i]);
    const busfake_dead *dl = NULL;
    cr_assert_eq(busfake_dead_letters(f.b, &dl), 1u, "dead-lettered once");
    cr_expect_str_eq(dl[0].subject, BUS_DEADLETTER_PREFIX "the0.bot.updated");
    cr_expect_eq(dl[0].stream_seq, 1u);
    cr_expect_eq(dl[0].delivered, 4u);
    cr_expect(strstr(dl[0].why, "UNAVAILABLE") != NULL, "the handler's reason is kept: %s", dl[0].why);
    cr_expect_eq(busfake_consumer_pending(f.b, "bots"), 0u, "settled on the stream");
    f.p.unsubscribe(f.p.ctx, s);
    fx_close(&f);
}

Test(bus_fake, bad_input_is_terminated_never_redelivered)
{
    fx f = fx_open(5);
    rec r = {.answer = T0_EINVAL};
    bus_sub *s;
    bus_durable d = durable("the0.bot.*", "bots");
    cr_assert_eq(f.p.subscribe_durable(f.p.ctx, &d, handler, &r, &s, NULL), T0_OK);
    cr_assert_eq(f.p.publish(f.p.ctx, "the0.bot.created", "{", 1, NULL), T0_OK);
    sim_loop_run_for(f.l, 3600 * 1000);
    cr_expect_eq(r.n, 1, "delivered once: %d", r.n);
    busfake_stats st;
    busfake_get_stats(f.b, &st);
    cr_expect_eq(st.terminated, 1u);
    cr_expect_eq(busfake_dead_letters(f.b, NULL), 0u, "bad input is not dead-lettered");
    cr_expect_eq(busfake_consumer_pending(f.b, "bots"), 0u);
    f.p.unsubscribe(f.p.ctx, s);
    fx_close(&f);
}

Test(bus_fake, the_server_stops_at_its_maxdeliver_when_nothing_settles)
{
    /* deliveries that never reach a handler (dropped) are redelivered after ack-wait until the
     * server-side bound; its advisory lands in the dead-letter stream */
    sim_loop *l;
    sim_faults *flt;
    cr_assert_eq(sim_loop_new(3, 0, &l, NULL), T0_OK);
    cr_assert_eq(sim_faults_new(l, &flt, NULL), T0_OK);
    loop_port lp = sim_loop_port(l);
    busfake *b;
    cr_assert_eq(busfake_new(&lp, flt, &b, NULL), T0_OK);
    busfake_set_ack_wait(b, 1000);
    bus_port p = busfake_port(b);
    rec r = {0};
    bus_sub *s;
    bus_durable d = {BUSFAKE_STREAM, "the0.bot.*", "bots", 2, NULL, 0};
    cr_assert_eq(p.subscribe_durable(p.ctx, &d, handler, &r, &s, NULL), T0_OK);
    sim_fault_spec drop = {.kind = SIM_FAULT_DROP, .probability = 1};
    cr_assert_eq(sim_faults_inject(flt, "nats/deliver", &drop, NULL), T0_OK);
    cr_assert_eq(p.publish(p.ctx, "the0.bot.created", "x", 1, NULL), T0_OK);
    sim_loop_run_for(l, 60000);
    busfake_stats st;
    busfake_get_stats(b, &st);
    cr_expect_eq(r.n, 0, "never handled");
    cr_expect_eq(st.dropped, 2u + BUS_MAXDELIVER_SLACK, "deliveries made: %llu", (unsigned long long)st.dropped);
    const busfake_dead *dl = NULL;
    cr_assert_eq(busfake_dead_letters(b, &dl), 1u);
    cr_expect(strstr(dl[0].why, "MaxDeliver"), "%s", dl[0].why);
    p.unsubscribe(p.ctx, s);
    busfake_destroy(b);
    sim_faults_destroy(flt);
    sim_loop_destroy(l);
}

Test(bus_fake, faults_drop_duplicate_and_outage)
{
    sim_loop *l;
    sim_faults *f;
    cr_assert_eq(sim_loop_new(9, 0, &l, NULL), T0_OK);
    cr_assert_eq(sim_faults_new(l, &f, NULL), T0_OK);
    loop_port lp = sim_loop_port(l);
    busfake *b;
    cr_assert_eq(busfake_new(&lp, f, &b, NULL), T0_OK);
    bus_port p = busfake_port(b);
    rec r = {0};
    bus_sub *s;
    cr_assert_eq(p.subscribe(p.ctx, "x.>", NULL, handler, &r, &s, NULL), T0_OK);
    sim_fault_spec dup = {.kind = SIM_FAULT_DUPLICATE, .count = 1};
    cr_assert_eq(sim_faults_inject(f, "nats/deliver", &dup, NULL), T0_OK);
    cr_assert_eq(p.publish(p.ctx, "x.a", "1", 1, NULL), T0_OK);
    sim_faults_clear(f, "nats/deliver");
    sim_fault_spec drop = {.kind = SIM_FAULT_DROP, .count = 1};
    cr_assert_eq(sim_faults_inject(f, "nats/deliver", &drop, NULL), T0_OK);
    cr_assert_eq(p.publish(p.ctx, "x.b", "2", 1, NULL), T0_OK);
    sim_loop_run_for(l, 10);
    cr_expect_str_eq(r.log, "x.a:1;x.a:1;", "duplicated then dropped: %s", r.log);
    busfake_set_outage(b, true);
    t0_err err = {0};
    cr_expect_eq(p.publish(p.ctx, "x.c", "3", 1, &err), T0_EUNAVAILABLE, "%s", err.msg);
    busfake_set_outage(b, false);
    p.unsubscribe(p.ctx, s);
    busfake_destroy(b);
    sim_faults_destroy(f);
    sim_loop_destroy(l);
}

Test(payloads, direct_and_wrapped_formats)
{
    cJSON *cfg = cJSON_Parse("{\"symbol\":\"BTC\"}");
    payload_bot pb = {.id = "b1", .config = cfg};
    char *d = payload_direct(&pb, PAYLOAD_CREATED, NULL);
    cr_assert_not_null(d);
    cr_expect(strstr(d, "\"id\":\"b1\",\"config\":{\"symbol\":\"BTC\",\"customBotId\":\"cb-b1\"}") != NULL, "%s", d);
    cr_expect(strstr(d, "\"filePath\":\"user-1/bot-b1/1.0.0\"") != NULL, "%s", d);
    cr_expect(strstr(d, "\"entrypoints\":{\"bot\":\"main.py\"}") != NULL, "%s", d);
    free(d);
    d = payload_direct(&pb, PAYLOAD_DELETED, NULL);
    cr_expect(strstr(d, "\"custom\":") == NULL, "delete has no custom: %s", d);
    free(d);
    d = payload_wrapped(&pb, PAYLOAD_UPDATED, 0, NULL);
    const char *want = "{\"type\":\"bot.updated\",\"entity_id\":\"b1\",\"data\":{\"id\":\"b1\"";
    cr_expect(strncmp(d, want, strlen(want)) == 0, "%s", d);
    cr_expect(strstr(d, "\"topicName\":\"the0.bot.updated\"") != NULL, "%s", d);
    free(d);
    cr_expect_str_eq(payload_subject(true, PAYLOAD_DELETED), "the0.bot-schedule.deleted");
    cJSON_Delete(cfg);
}
