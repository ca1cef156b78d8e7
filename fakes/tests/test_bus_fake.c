/* test_bus_fake.c: the fake NATS: wildcards, queue groups, timer delivery, durable stream, faults. */
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
} rec;

static t0_status handler(void *ud, const char *subject, const char *data, size_t len)
{
    rec *r = ud;
    r->n++;
    char line[128];
    snprintf(line, sizeof line, "%s:%.*s;", subject, (int)len, data);
    strncat(r->log, line, sizeof r->log - strlen(r->log) - 1);
    if (r->fail_first && r->n <= r->fail_first) return r->answer;
    return r->fail_first ? T0_OK : r->answer;
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
    cr_assert_eq(p.subscribe_durable(p.ctx, BUSFAKE_STREAM, "the0.bot.*", "bots", handler, &r, &s, NULL), T0_OK);
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
    cr_assert_eq(p.subscribe_durable(p.ctx, BUSFAKE_STREAM, "the0.bot.*", "bots", handler, &r2, &s, NULL), T0_OK);
    sim_loop_run_for(l, 10);
    cr_expect_str_eq(r2.log, "the0.bot.deleted:d;", "resumes where the consumer was: %s", r2.log);
    p.unsubscribe(p.ctx, s);
    busfake_destroy(b);
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
