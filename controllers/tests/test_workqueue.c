/* test_workqueue.c: client-go semantics of the work queue and the NATS payload parsing. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "controllers/subscriber.h"
#include "controllers/workqueue.h"

/* A minimal manual loop for these tests: timers kept in an array, run in due order. */
typedef struct {
    int64_t now;
    struct {
        uint64_t id;
        int64_t due;
        loop_fn fn;
        void *ud;
    } t[256];
    int n;
    uint64_t next_id;
} tloop;
static int64_t tl_now(void *c) { return ((tloop *)c)->now; }
static uint64_t tl_timer(void *c, int64_t d, loop_fn fn, void *ud)
{
    tloop *l = c;
    l->t[l->n].id = ++l->next_id;
    l->t[l->n].due = l->now + d;
    l->t[l->n].fn = fn;
    l->t[l->n].ud = ud;
    l->n++;
    return l->next_id;
}
static void tl_cancel(void *c, uint64_t id)
{
    tloop *l = c;
    for (int i = 0; i < l->n; i++)
        if (l->t[i].id == id) {
            l->t[i] = l->t[--l->n];
            return;
        }
}
static uint64_t tl_rand(void *c) { return 4; }
static void tl_run_until(tloop *l, int64_t until)
{
    for (;;) {
        int best = -1;
        for (int i = 0; i < l->n; i++)
            if (l->t[i].due <= until && (best < 0 || l->t[i].due < l->t[best].due ||
                                         (l->t[i].due == l->t[best].due && l->t[i].id < l->t[best].id)))
                best = i;
        if (best < 0) break;
        loop_fn fn = l->t[best].fn;
        void *ud = l->t[best].ud;
        if (l->t[best].due > l->now) l->now = l->t[best].due;
        l->t[best] = l->t[--l->n];
        fn(ud);
    }
    l->now = until;
}

static char seen[64][32];
static int nseen;
static void record(void *ud, const char *key)
{
    (void)ud;
    snprintf(seen[nseen++ % 64], 32, "%s", key);
}

static wq *mk(tloop *l, loop_port *lp)
{
    *lp = (loop_port){l, tl_now, tl_timer, tl_cancel, tl_rand};
    wq_settings s = {5, 1000000, 10, 100, 64};
    wq *q = NULL;
    cr_assert_eq(wq_new(lp, &s, record, NULL, &q, NULL), T0_OK);
    nseen = 0;
    return q;
}

Test(workqueue, dedupes_queued_keys_and_keeps_order)
{
    static tloop l;
    memset(&l, 0, sizeof l);
    loop_port lp;
    wq *q = mk(&l, &lp);
    wq_add(q, "a");
    wq_add(q, "b");
    wq_add(q, "a");
    cr_assert_eq(wq_len(q), 2);
    tl_run_until(&l, 0);
    cr_assert_eq(nseen, 2);
    cr_assert_str_eq(seen[0], "a");
    cr_assert_str_eq(seen[1], "b");
    wq_destroy(q);
}

Test(workqueue, paused_queue_holds_keys)
{
    static tloop l;
    memset(&l, 0, sizeof l);
    loop_port lp;
    wq *q = mk(&l, &lp);
    wq_pause(q, true);
    wq_add(q, "a");
    tl_run_until(&l, 1000);
    cr_assert_eq(nseen, 0);
    wq_pause(q, false);
    tl_run_until(&l, 1000);
    cr_assert_eq(nseen, 1);
    wq_destroy(q);
}

Test(workqueue, add_after_keeps_earliest_delay)
{
    static tloop l;
    memset(&l, 0, sizeof l);
    loop_port lp;
    wq *q = mk(&l, &lp);
    wq_add_after(q, "k", 500);
    wq_add_after(q, "k", 100);
    wq_add_after(q, "k", 900);
    tl_run_until(&l, 99);
    cr_assert_eq(nseen, 0);
    tl_run_until(&l, 100);
    cr_assert_eq(nseen, 1);
    tl_run_until(&l, 2000);
    cr_assert_eq(nseen, 1, "the later delays were folded into the earliest: got %d runs", nseen);
    wq_destroy(q);
}

Test(workqueue, per_key_backoff_doubles_and_forget_resets)
{
    wq_settings s = {5, 1000000, 10, 100, 64};
    cr_assert_eq(wq_backoff_ms(&s, 0), 5);
    cr_assert_eq(wq_backoff_ms(&s, 1), 10);
    cr_assert_eq(wq_backoff_ms(&s, 10), 5120);
    cr_assert_eq(wq_backoff_ms(&s, 40), 1000000);
    static tloop l;
    memset(&l, 0, sizeof l);
    loop_port lp;
    wq *q = mk(&l, &lp);
    cr_assert_eq(wq_add_rate_limited(q, "x"), 5);
    cr_assert_eq(wq_add_rate_limited(q, "x"), 10);
    cr_assert_eq(wq_add_rate_limited(q, "x"), 20);
    cr_assert_eq(wq_failures(q, "x"), 3);
    wq_forget(q, "x");
    cr_assert_eq(wq_add_rate_limited(q, "x"), 5);
    wq_destroy(q);
}

Test(workqueue, token_bucket_limits_bursts)
{
    static tloop l;
    memset(&l, 0, sizeof l);
    loop_port lp;
    wq *q = mk(&l, &lp);
    char key[16];
    int64_t last = 0;
    for (int i = 0; i < 101; i++) {
        snprintf(key, sizeof key, "k%d", i);
        last = wq_add_rate_limited(q, key);
    }
    /* 100 tokens of burst, then one every 100 ms at 10 qps */
    cr_assert_eq(last, 100, "the 101st key waits for a token: got %lld ms", (long long)last);
    wq_destroy(q);
}

Test(subscriber, subjects_map_to_collections_and_operations)
{
    store_coll c;
    sub_op op;
    cr_assert_eq(sub_parse_subject("the0.bot.created", &c, &op, NULL), T0_OK);
    cr_assert_eq(c, STORE_BOTS);
    cr_assert_eq(op, SUB_CREATED);
    cr_assert_eq(sub_parse_subject("the0.bot-schedule.deleted", &c, &op, NULL), T0_OK);
    cr_assert_eq(c, STORE_SCHEDULES);
    cr_assert_eq(op, SUB_DELETED);
    t0_err err = {0};
    cr_assert_eq(sub_parse_subject("the0.bot.exploded", &c, &op, &err), T0_EINVAL);
    cr_assert(strstr(err.msg, "exploded"), "%s", err.msg);
}

Test(subscriber, direct_and_wrapped_payloads)
{
    const char *direct = "{\"id\":\"b1\",\"config\":{\"x\":1},\"custom\":{\"version\":\"1.0.0\"}}";
    const char *wrapped = "{\"type\":\"bot.created\",\"entity_id\":\"b2\",\"data\":{\"id\":\"b2\",\"config\":{},"
                          "\"custom\":{\"version\":\"2.0.0\"}},\"timestamp\":\"2026-01-01T00:00:00Z\"}";
    cJSON *f = NULL;
    cr_assert_eq(sub_parse_payload(STORE_BOTS, SUB_CREATED, direct, strlen(direct), &f, NULL), T0_OK);
    cr_assert_str_eq(cJSON_GetObjectItem(f, "id")->valuestring, "b1");
    cJSON_Delete(f);
    cr_assert_eq(sub_parse_payload(STORE_BOTS, SUB_CREATED, wrapped, strlen(wrapped), &f, NULL), T0_OK);
    cr_assert_str_eq(cJSON_GetObjectItem(f, "id")->valuestring, "b2");
    cJSON_Delete(f);
    t0_err err = {0};
    cr_assert_eq(sub_parse_payload(STORE_SCHEDULES, SUB_CREATED, wrapped, strlen(wrapped), &f, &err), T0_EINVAL,
                 "schedules take the direct format only");
    cr_assert_null(f);
}

Test(subscriber, malformed_payloads_are_rejected_with_a_reason)
{
    const char *bad[] = {"not json", "[1,2]", "{\"id\":\"\"}", "{\"id\":7}", "{\"id\":\"b\",\"config\":\"x\"}",
                         "{\"id\":\"b\",\"custom\":[1]}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *f = NULL;
        t0_err err = {0};
        cr_assert_eq(sub_parse_payload(STORE_BOTS, SUB_UPDATED, bad[i], strlen(bad[i]), &f, &err), T0_EINVAL, "accepted: %s", bad[i]);
        cr_assert(err.msg[0], "no reason for %s", bad[i]);
        cr_assert_null(f);
    }
}
