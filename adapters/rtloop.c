/* rtloop.c: the production event loop: the core timer heap on CLOCK_MONOTONIC, eventfd-woken inbox, signalfd
 * (see rtloop.h). */
#include "adapters/rtloop.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/prng.h"
#include "core/theap.h"

typedef struct rt_fd {
    int fd;
    uint64_t id;
    loop_fn fn;
    void *ud;
} rt_fd;

typedef struct rt_post {
    struct rt_post *next;
    loop_fn fn, drop;
    void *ud;
} rt_post;

struct rtloop {
    theap timers; /* due times on CLOCK_MONOTONIC, ms */
    prng rng;
    int evfd, sigfd;
    rtloop_signal_fn sig_fn;
    void *sig_ud;
    pthread_mutex_t mu; /* guards the inbox */
    rt_post *head, *tail;
    unsigned nposts;
    atomic_bool stop;
    rt_fd *fds; /* descriptors watched for readability (loop thread only) */
    size_t nfds, capfds;
    struct pollfd *pfds; /* [capfds + 2]: the inbox, signals, then the watched descriptors */
    uint64_t *pids;      /* [capfds]: the watch ids polled this round */
    uint64_t next_fd_id;
};

t0_status rtloop_new(rtloop **out, t0_err *err)
{
    rtloop *l = calloc(1, sizeof *l);
    if (!l) return t0_fail(err, T0_ENOMEM, "rtloop: out of memory");
    l->sigfd = -1;
    l->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->evfd < 0) {
        int e = errno;
        free(l);
        t0_status st = t0_fail(err, T0_EIO, "rtloop: eventfd: %s", strerror(e));
        if (err) err->sys_errno = e;
        return st;
    }
    pthread_mutex_init(&l->mu, NULL);
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed) seed = (uint64_t)t0_mono_ms() ^ (uint64_t)getpid() << 32;
    prng_seed(&l->rng, seed);
    theap_init(&l->timers);
    atomic_init(&l->stop, false);
    *out = l;
    return T0_OK;
}

void rtloop_destroy(rtloop *l)
{
    if (!l) return;
    rt_post *p = l->head;
    while (p) {
        rt_post *next = p->next;
        if (p->drop) p->drop(p->ud);
        free(p);
        p = next;
    }
    theap_free(&l->timers);
    free(l->fds);
    free(l->pfds);
    free(l->pids);
    close(l->evfd);
    if (l->sigfd >= 0) close(l->sigfd);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* ---- timers and randomness ------------------------------------------------------------------- */
uint64_t rtloop_timer(rtloop *l, int64_t delay_ms, loop_fn fn, void *ud)
{
    return theap_add(&l->timers, t0_mono_ms() + (delay_ms > 0 ? delay_ms : 0), fn, ud);
}

void rtloop_cancel(rtloop *l, uint64_t id) { theap_cancel(&l->timers, id); }

unsigned rtloop_timers(const rtloop *l) { return (unsigned)theap_len(&l->timers); }

int64_t rtloop_now_ms(rtloop *l)
{
    (void)l;
    return t0_wall_ms();
}

uint64_t rtloop_rand(rtloop *l) { return prng_u64(&l->rng); }

/* ---- inbox ------------------------------------------------------------------------------------ */
static void wake(rtloop *l)
{
    uint64_t one = 1;
    ssize_t w = write(l->evfd, &one, sizeof one);
    (void)w; /* EAGAIN means the counter is already non-zero: the loop wakes anyway */
}

t0_status rtloop_post(rtloop *l, loop_fn fn, loop_fn drop, void *ud)
{
    rt_post *p = malloc(sizeof *p);
    if (!p) return T0_ENOMEM;
    *p = (rt_post){NULL, fn, drop, ud};
    pthread_mutex_lock(&l->mu);
    if (l->tail)
        l->tail->next = p;
    else
        l->head = p;
    l->tail = p;
    l->nposts++;
    pthread_mutex_unlock(&l->mu);
    wake(l);
    return T0_OK;
}

unsigned rtloop_pending_posts(rtloop *l)
{
    pthread_mutex_lock(&l->mu);
    unsigned n = l->nposts;
    pthread_mutex_unlock(&l->mu);
    return n;
}

void rtloop_stop(rtloop *l)
{
    atomic_store(&l->stop, true);
    wake(l);
}

t0_status rtloop_on_signals(rtloop *l, rtloop_signal_fn fn, void *ud, t0_err *err)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) return t0_fail(err, T0_EIO, "rtloop: cannot block signals");
    int fd = signalfd(l->sigfd, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        t0_status st = t0_fail(err, T0_EIO, "rtloop: signalfd: %s", strerror(e));
        if (err) err->sys_errno = e;
        return st;
    }
    l->sigfd = fd;
    l->sig_fn = fn;
    l->sig_ud = ud;
    return T0_OK;
}

/* ---- descriptors ------------------------------------------------------------------------------ */
uint64_t rtloop_watch_fd(rtloop *l, int fd, loop_fn fn, void *ud)
{
    if (l->nfds == l->capfds) {
        size_t cap = l->capfds ? l->capfds * 2 : 8;
        rt_fd *a = realloc(l->fds, cap * sizeof *a);
        if (!a) return 0;
        l->fds = a;
        struct pollfd *pf = realloc(l->pfds, (cap + 2) * sizeof *pf);
        if (!pf) return 0;
        l->pfds = pf;
        uint64_t *ids = realloc(l->pids, cap * sizeof *ids);
        if (!ids) return 0;
        l->pids = ids;
        l->capfds = cap;
    }
    uint64_t id = ++l->next_fd_id;
    l->fds[l->nfds++] = (rt_fd){fd, id, fn, ud};
    return id;
}

void rtloop_unwatch_fd(rtloop *l, uint64_t id)
{
    for (size_t i = 0; i < l->nfds; i++)
        if (l->fds[i].id == id) {
            memmove(&l->fds[i], &l->fds[i + 1], (l->nfds - i - 1) * sizeof *l->fds);
            l->nfds--;
            return;
        }
}

/* ---- run -------------------------------------------------------------------------------------- */
static bool take_stop(rtloop *l) { return atomic_exchange(&l->stop, false); }

/* run_posts: run what was in the inbox when we looked (work posted meanwhile waits for the next round,
 * so a callback that posts cannot starve timers). Returns false when a stop was requested. */
static bool run_posts(rtloop *l)
{
    pthread_mutex_lock(&l->mu);
    rt_post *p = l->head;
    l->head = l->tail = NULL;
    pthread_mutex_unlock(&l->mu);
    while (p) {
        rt_post *next = p->next;
        pthread_mutex_lock(&l->mu);
        l->nposts--;
        pthread_mutex_unlock(&l->mu);
        p->fn(p->ud);
        free(p);
        p = next;
        if (atomic_load(&l->stop) && p) {
            /* put the rest back in front, in order */
            rt_post *last = p;
            while (last->next) last = last->next;
            pthread_mutex_lock(&l->mu);
            last->next = l->head;
            if (!l->head) l->tail = last;
            l->head = p;
            pthread_mutex_unlock(&l->mu);
            return false;
        }
    }
    return true;
}

static void run_signals(rtloop *l)
{
    struct signalfd_siginfo si;
    while (l->sigfd >= 0 && read(l->sigfd, &si, sizeof si) == (ssize_t)sizeof si)
        if (l->sig_fn) l->sig_fn(l->sig_ud, (int)si.ssi_signo);
}

bool rtloop_run(rtloop *l, int64_t max_ms)
{
    int64_t deadline = max_ms < 0 ? INT64_MAX : t0_mono_ms() + max_ms;
    for (;;) {
        if (take_stop(l)) return true;
        int64_t now = t0_mono_ms();
        /* timers due now, in order; timers armed by these callbacks for "now" also run */
        int64_t due;
        theap_timer t;
        while (theap_peek(&l->timers, &due) && due <= now && theap_pop(&l->timers, &t)) {
            t.fn(t.ud);
            if (atomic_load(&l->stop)) break;
        }
        if (take_stop(l)) return true;
        if (!run_posts(l)) continue;
        now = t0_mono_ms();
        if (now >= deadline) return false;
        int64_t wait = deadline - now;
        if (theap_peek(&l->timers, &due) && due - now < wait) wait = due - now;
        if (wait < 0) wait = 0;
        if (wait > 60000) wait = 60000;
        pthread_mutex_lock(&l->mu);
        bool have = l->head != NULL;
        pthread_mutex_unlock(&l->mu);
        if (have) continue;
        size_t nw = l->nfds;
        struct pollfd stackpf[2], *pf = l->pfds ? l->pfds : stackpf;
        uint64_t *ids = l->pids;
        pf[0] = (struct pollfd){l->evfd, POLLIN, 0};
        pf[1] = (struct pollfd){l->sigfd, POLLIN, 0};
        for (size_t i = 0; i < nw; i++) {
            pf[2 + i] = (struct pollfd){l->fds[i].fd, POLLIN, 0};
            ids[i] = l->fds[i].id;
        }
        int r = poll(pf, (nfds_t)(2 + nw), (int)wait); /* a negative fd (no signalfd) is skipped by poll */
        if (r > 0) {
            uint64_t v;
            if (pf[0].revents & POLLIN) {
                ssize_t rd = read(l->evfd, &v, sizeof v);
                (void)rd;
            }
            if (l->sigfd >= 0 && (pf[1].revents & POLLIN)) run_signals(l);
            /* a callback may watch or unwatch others (and move the arrays): collect the ready ids first */
            size_t nready = 0;
            for (size_t i = 0; i < nw; i++)
                if (pf[2 + i].revents & (POLLIN | POLLHUP | POLLERR)) ids[nready++] = ids[i];
            /* pids keeps its contents when a callback's rtloop_watch_fd grows it: read it afresh each time */
            for (size_t k = 0; k < nready && !atomic_load(&l->stop); k++) {
                uint64_t id = l->pids[k];
                for (size_t j = 0; j < l->nfds; j++)
                    if (l->fds[j].id == id) {
                        l->fds[j].fn(l->fds[j].ud);
                        break;
                    }
            }
        }
    }
}

/* ---- port ------------------------------------------------------------------------------------- */
static int64_t p_now(void *ctx) { return rtloop_now_ms(ctx); }
static uint64_t p_timer(void *ctx, int64_t d, loop_fn fn, void *ud) { return rtloop_timer(ctx, d, fn, ud); }
static void p_cancel(void *ctx, uint64_t id) { rtloop_cancel(ctx, id); }
static uint64_t p_rand(void *ctx) { return rtloop_rand(ctx); }
static int64_t p_mono(void *ctx)
{
    (void)ctx;
    return t0_mono_ms();
}

loop_port rtloop_port(rtloop *l) { return (loop_port){l, p_now, p_timer, p_cancel, p_rand, p_mono}; }
