/* test_rtloop.c: the production event loop: timer order and cancel, posts from other threads run on the
 * loop thread, stop, drop on destroy, signals through signalfd. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adapters/rtloop.h"
#include "core/clock.h"

typedef struct rec {
    rtloop *l;
    char log[256];
    int stop_after;
    int n;
} rec;

static void note(rec *r, char c)
{
    size_t n = strlen(r->log);
    r->log[n] = c;
    r->log[n + 1] = 0;
    if (++r->n == r->stop_after) rtloop_stop(r->l);
}

static rec *g;
static void ta(void *ud) { (void)ud, note(g, 'a'); }
static void tb(void *ud) { (void)ud, note(g, 'b'); }
static void tc(void *ud) { (void)ud, note(g, 'c'); }
static void td(void *ud) { (void)ud, note(g, 'd'); }

Test(rtloop, timers_run_in_due_then_arming_order_and_cancel_works)
{
    rtloop *l;
    cr_assert_eq(rtloop_new(&l, NULL), T0_OK);
    rec r = {.l = l, .stop_after = 3};
    g = &r;
    loop_port p = rtloop_port(l);
    p.timer(p.ctx, 30, tc, NULL);
    p.timer(p.ctx, 10, ta, NULL);
    uint64_t id = p.timer(p.ctx, 20, td, NULL);
    p.timer(p.ctx, 10, tb, NULL);
    p.cancel(p.ctx, id);
    p.cancel(p.ctx, 999999); /* unknown ids are ignored */
    cr_assert_eq(rtloop_timers(l), 3u, "armed %u", rtloop_timers(l));
    int64_t t0 = p.now_ms(p.ctx);
    cr_assert(rtloop_run(l, 5000), "the loop timed out instead of stopping");
    int64_t dt = p.now_ms(p.ctx) - t0;
    cr_assert_str_eq(r.log, "abc", "order %s", r.log);
    cr_assert(dt >= 29 && dt < 2000, "elapsed %lld ms", (long long)dt);
    cr_assert_neq(p.rand(p.ctx), p.rand(p.ctx));
    rtloop_destroy(l);
}

Test(rtloop, run_with_limit_returns_false_when_nothing_stops_it)
{
    rtloop *l;
    cr_assert_eq(rtloop_new(&l, NULL), T0_OK);
    int64_t a = t0_mono_ms();
    cr_assert_not(rtloop_run(l, 50));
    int64_t b = t0_mono_ms();
    long ms = (long)(b - a);
    cr_assert(ms >= 49 && ms < 1000, "ran %ld ms", ms);
    rtloop_destroy(l);
}

typedef struct poster {
    rtloop *l;
    pthread_t loop_thread;
    atomic_int ran, wrong_thread;
} poster;

static void on_post(void *ud)
{
    poster *p = ud;
    if (!pthread_equal(pthread_self(), p->loop_thread)) atomic_fetch_add(&p->wrong_thread, 1);
    if (atomic_fetch_add(&p->ran, 1) + 1 == 400) rtloop_stop(p->l);
}

static void *post_many(void *ud)
{
    poster *p = ud;
    for (int i = 0; i < 100; i++) rtloop_post(p->l, on_post, NULL, p);
    return NULL;
}

Test(rtloop, posts_from_four_threads_all_run_on_the_loop_thread)
{
    poster p = {0};
    cr_assert_eq(rtloop_new(&p.l, NULL), T0_OK);
    p.loop_thread = pthread_self();
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, post_many, &p);
    cr_assert(rtloop_run(p.l, 5000), "timed out after %d posts", atomic_load(&p.ran));
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    cr_assert_eq(atomic_load(&p.ran), 400, "ran %d", atomic_load(&p.ran));
    cr_assert_eq(atomic_load(&p.wrong_thread), 0, "%d ran on another thread", atomic_load(&p.wrong_thread));
    rtloop_destroy(p.l);
}

static int dropped;
static void never(void *ud)
{
    (void)ud;
    cr_assert_fail("a post ran after destroy");
}
static void drop(void *ud) { dropped += *(int *)ud; }

Test(rtloop, destroy_drops_pending_posts_with_their_drop_function)
{
    rtloop *l;
    cr_assert_eq(rtloop_new(&l, NULL), T0_OK);
    int one = 1, two = 2;
    rtloop_post(l, never, drop, &one);
    rtloop_post(l, never, drop, &two);
    cr_assert_eq(rtloop_pending_posts(l), 2u);
    dropped = 0;
    rtloop_destroy(l);
    cr_assert_eq(dropped, 3, "dropped %d", dropped);
}

static int got_sig;
static void on_sig(void *ud, int signo)
{
    got_sig = signo;
    rtloop_stop(ud);
}

Test(rtloop, sigterm_becomes_a_loop_callback)
{
    rtloop *l;
    cr_assert_eq(rtloop_new(&l, NULL), T0_OK);
    cr_assert_eq(rtloop_on_signals(l, on_sig, l, NULL), T0_OK);
    pthread_kill(pthread_self(), SIGTERM); /* blocked: stays pending for the signalfd */
    cr_assert(rtloop_run(l, 3000), "the signal did not stop the loop");
    cr_assert_eq(got_sig, SIGTERM, "signal %d", got_sig);
    rtloop_destroy(l);
}
