/* test_t0.c: the error convention's helpers and the detached-thread starter (core/t0.h). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

#include "core/t0.h"

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ran;
    int detach; /* the thread's own detach state (pthread_getattr_np) */
} probe;

static void *run(void *arg)
{
    probe *p = arg;
    pthread_mutex_lock(&p->mu);
    pthread_attr_t a;
    p->detach = -1;
    if (pthread_getattr_np(pthread_self(), &a) == 0) {
        pthread_attr_getdetachstate(&a, &p->detach);
        pthread_attr_destroy(&a);
    }
    p->ran++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

Test(t0, thread_detached_runs_fn_on_a_thread_nobody_joins)
{
    probe p = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .detach = -2};
    int rc = t0_thread_detached(run, &p);
    cr_assert_eq(rc, 0, "t0_thread_detached: %s", strerror(rc));
    pthread_mutex_lock(&p.mu);
    while (!p.ran) pthread_cond_wait(&p.cv, &p.mu);
    pthread_mutex_unlock(&p.mu);
    cr_expect_eq(p.ran, 1, "fn ran %d times, want 1", p.ran);
    cr_expect_eq(p.detach, PTHREAD_CREATE_DETACHED, "detach state %d, want PTHREAD_CREATE_DETACHED (%d)", p.detach,
                 PTHREAD_CREATE_DETACHED);
}

Test(t0, err_prefix_keeps_the_cause_after_the_context)
{
    t0_err e = {0};
    cr_expect_eq(t0_fail(&e, T0_EINVAL, "bad %s", "thing"), T0_EINVAL);
    t0_err_prefix(&e, "bot %s", "b1");
    cr_expect_str_eq(e.msg, "bot b1: bad thing", "got \"%s\"", e.msg);
    cr_expect_eq(e.code, T0_EINVAL, "code %d", e.code);
}
