/* test_loop.c: the simulation loop: ordering, ties, cancel, run_until, PRNG determinism, time format. */
#include <criterion/criterion.h>
#include <string.h>

#include "sim/loop.h"

typedef struct rec {
    sim_loop *l;
    char log[512];
    size_t n;
} rec;

typedef struct tag {
    rec *r;
    char c;
} tag;

static void note(void *ud)
{
    tag *t = ud;
    t->r->log[t->r->n++] = t->c;
    t->r->log[t->r->n] = '\0';
}

static sim_loop *mk(uint64_t seed)
{
    sim_loop *l = NULL;
    t0_err err = {0};
    cr_assert_eq(sim_loop_new(seed, 0, &l, &err), T0_OK, "%s", err.msg);
    return l;
}

Test(loop, starts_at_default_epoch)
{
    sim_loop *l = mk(1);
    cr_assert_eq(sim_loop_now(l), SIM_EPOCH_DEFAULT_MS, "now %lld", (long long)sim_loop_now(l));
    char b[32];
    cr_assert_str_eq(sim_format_rfc3339(sim_loop_now(l), b, sizeof b), "2026-01-05T00:00:00Z");
    sim_loop_destroy(l);
}

Test(loop, order_by_time_then_arming_sequence)
{
    sim_loop *l = mk(1);
    rec r = {.l = l};
    tag a = {&r, 'a'}, b = {&r, 'b'}, c = {&r, 'c'}, d = {&r, 'd'}, e = {&r, 'e'};
    sim_loop_timer(l, 50, note, &a);
    sim_loop_timer(l, 10, note, &b);
    sim_loop_timer(l, 50, note, &c); /* same instant as a: after a */
    sim_loop_timer(l, 0, note, &d);
    sim_loop_timer(l, 10, note, &e); /* same instant as b: after b */
    cr_assert_eq(sim_loop_pending(l), 5);
    cr_assert_eq(sim_loop_run_until(l, sim_loop_now(l) + 49), 3);
    cr_assert_str_eq(r.log, "dbe");
    cr_assert_eq(sim_loop_now(l), SIM_EPOCH_DEFAULT_MS + 49);
    sim_loop_run_for(l, 1000);
    cr_assert_str_eq(r.log, "dbeac");
    cr_assert_eq(sim_loop_now(l), SIM_EPOCH_DEFAULT_MS + 1049);
    cr_assert_eq(sim_loop_steps(l), 5);
    sim_loop_destroy(l);
}

Test(loop, cancel_by_id_and_stale_ids)
{
    sim_loop *l = mk(1);
    rec r = {.l = l};
    tag a = {&r, 'a'}, b = {&r, 'b'}, c = {&r, 'c'};
    uint64_t ia = sim_loop_timer(l, 30, note, &a);
    uint64_t ib = sim_loop_timer(l, 20, note, &b);
    sim_loop_timer(l, 10, note, &c);
    cr_assert_neq(ia, 0);
    cr_assert(sim_loop_cancel(l, ib));
    cr_assert(!sim_loop_cancel(l, ib), "a cancelled id cancels nothing the second time");
    cr_assert(!sim_loop_cancel(l, 0));
    cr_assert(!sim_loop_cancel(l, 999999));
    /* The freed slot is reused; the old id must not cancel the new timer. */
    uint64_t id2 = sim_loop_timer(l, 5, note, &b);
    cr_assert_neq(id2, ib);
    cr_assert(!sim_loop_cancel(l, ib));
    sim_loop_run_for(l, 100);
    cr_assert_str_eq(r.log, "bca");
    cr_assert(!sim_loop_cancel(l, ia), "a timer that ran cannot be cancelled");
    sim_loop_destroy(l);
}

/* Arm and cancel many timers pseudo-randomly; the survivors run in (due, seq) order. */
typedef struct big {
    int64_t due;
    uint64_t seq;
    int64_t *last_due;
    uint64_t *last_seq;
    int *bad;
    int *ran;
} big;

static void big_fn(void *ud)
{
    big *b = ud;
    if (b->due < *b->last_due || (b->due == *b->last_due && b->seq < *b->last_seq)) (*b->bad)++;
    *b->last_due = b->due;
    *b->last_seq = b->seq;
    (*b->ran)++;
}

Test(loop, heap_order_under_random_cancels)
{
    sim_loop *l = mk(42);
    enum { N = 5000 };
    static big b[N];
    static uint64_t ids[N];
    int64_t last_due = 0;
    uint64_t last_seq = 0;
    int bad = 0, ran = 0, cancelled = 0;
    for (int i = 0; i < N; i++) {
        int64_t d = sim_rand_range(l, 0, 100);
        b[i] = (big){sim_loop_now(l) + d, (uint64_t)i, &last_due, &last_seq, &bad, &ran};
        ids[i] = sim_loop_timer(l, d, big_fn, &b[i]);
    }
    for (int i = 0; i < N; i += 3)
        if (sim_loop_cancel(l, ids[i])) cancelled++;
    while (sim_loop_step(l)) {
    }
    cr_assert_eq(bad, 0, "%d timers ran out of order", bad);
    cr_assert_eq(ran + cancelled, N, "ran %d + cancelled %d != %d", ran, cancelled, N);
    sim_loop_destroy(l);
}

Test(loop, prng_is_seeded_and_deterministic)
{
    sim_loop *a = mk(7), *b = mk(7), *c = mk(8);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = sim_rand_u64(a), y = sim_rand_u64(b), z = sim_rand_u64(c);
        cr_assert_eq(x, y, "draw %d: %llu != %llu", i, (unsigned long long)x, (unsigned long long)y);
        differ += x != z;
    }
    cr_assert_gt(differ, 990, "seeds 7 and 8 gave the same stream (%d differ)", differ);
    int hist[6] = {0};
    for (int i = 0; i < 6000; i++) {
        int64_t v = sim_rand_range(a, 10, 15);
        cr_assert(v >= 10 && v <= 15, "range gave %lld", (long long)v);
        hist[v - 10]++;
    }
    for (int i = 0; i < 6; i++) cr_assert(hist[i] > 800 && hist[i] < 1200, "bucket %d: %d", i, hist[i]);
    uint64_t before = sim_rand_u64(b);
    (void)before;
    /* chance(0) and chance(1) do not draw */
    sim_loop *d = mk(9), *e = mk(9);
    cr_assert(!sim_rand_chance(d, 0.0));
    cr_assert(sim_rand_chance(d, 1.0));
    cr_assert_eq(sim_rand_u64(d), sim_rand_u64(e));
    sim_loop_destroy(a);
    sim_loop_destroy(b);
    sim_loop_destroy(c);
    sim_loop_destroy(d);
    sim_loop_destroy(e);
}

static void count_hook(void *ud) { (*(int *)ud)++; }
static void noop(void *ud) { (void)ud; }

Test(loop, step_hook_and_port)
{
    sim_loop *l = mk(3);
    int hooks = 0;
    sim_loop_set_step_hook(l, count_hook, &hooks);
    loop_port p = sim_loop_port(l);
    uint64_t id = p.timer(p.ctx, 100, noop, NULL);
    p.timer(p.ctx, 200, noop, NULL);
    p.cancel(p.ctx, id);
    cr_assert_eq(p.now_ms(p.ctx), SIM_EPOCH_DEFAULT_MS);
    sim_loop_run_for(l, 1000);
    cr_assert_eq(hooks, 1, "hook ran %d times", hooks);
    cr_assert_eq(p.now_ms(p.ctx), SIM_EPOCH_DEFAULT_MS + 1000);
    sim_loop_destroy(l);
}

Test(loop, rfc3339_round_trip)
{
    const char *s[] = {"1970-01-01T00:00:00Z", "2000-02-29T23:59:59Z", "2026-12-31T12:00:00Z"};
    for (size_t i = 0; i < 3; i++) {
        int64_t ms;
        cr_assert(sim_parse_rfc3339(s[i], &ms), "%s", s[i]);
        char b[32];
        cr_assert_str_eq(sim_format_rfc3339(ms, b, sizeof b), s[i]);
    }
    int64_t ms;
    cr_assert(sim_parse_rfc3339("2026-01-05T01:00:00.250+01:00", &ms));
    cr_assert_eq(ms, SIM_EPOCH_DEFAULT_MS + 250);
    cr_assert(!sim_parse_rfc3339("2026-01-05 00:00:00", &ms));
}

/* sim_format_rfc3339 keeps the last second it formatted: repeats, milliseconds within a second and
 * alternating seconds must all come out as formatting afresh does. */
Test(loop, rfc3339_repeats_and_alternation)
{
    const int64_t base = 1767571200000; /* 2026-01-05T00:00:00Z */
    const int64_t ms[] = {base, base, base + 999, base + 1000, base, base + 86400000, base + 86400500, -1, -1000, 0};
    const char *want[] = {"2026-01-05T00:00:00Z", "2026-01-05T00:00:00Z", "2026-01-05T00:00:00Z", "2026-01-05T00:00:01Z",
                          "2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z", "2026-01-06T00:00:00Z", "1969-12-31T23:59:59Z",
                          "1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z"};
    for (size_t i = 0; i < sizeof ms / sizeof *ms; i++) {
        char b[32];
        cr_expect_str_eq(sim_format_rfc3339(ms[i], b, sizeof b), want[i], "ms %lld: got %s, want %s", (long long)ms[i], b, want[i]);
    }
    char small[8];
    sim_format_rfc3339(base, small, sizeof small);
    cr_expect_eq(strlen(small), 7u, "a short buffer is truncated, never overrun: %s", small);
}
