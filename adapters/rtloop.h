/* rtloop.h: the production event loop (loop_port in wall-clock time): timer heap, thread-safe inbox
 * for work posted by adapter threads, SIGTERM/SIGINT delivered as a loop callback. */
#ifndef T0_ADAPTERS_RTLOOP_H
#define T0_ADAPTERS_RTLOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/ports.h"
#include "core/t0.h"

/* Threading contract: rtloop_run runs on one thread, "the loop thread"; every timer callback and every
 * posted function runs there, one at a time. rtloop_post, rtloop_stop and rtloop_pending_posts may be
 * called from any thread. Timers (rtloop_timer / the port's timer and cancel) must be armed from the
 * loop thread, or from the thread that will run the loop before rtloop_run starts. */
typedef struct rtloop rtloop;

/* rtloop_new: a stopped loop with an empty inbox, seeded from /dev/urandom (getrandom). */
t0_status rtloop_new(rtloop **out, t0_err *err);
/* rtloop_destroy: free the loop. Pending timers are dropped without running; pending posts get their
 * DROP function (if any) called instead of FN so their payloads are freed. Every thread that posts
 * must have stopped first. NULL is a no-op. */
void rtloop_destroy(rtloop *l);

/* rtloop_post: run FN(UD) on the loop thread as soon as possible, after work posted earlier (FIFO).
 * DROP (may be NULL) is called with UD instead when the loop is destroyed before FN ran. Returns
 * T0_ENOMEM when the queue entry cannot be allocated (FN and DROP are then not called). */
t0_status rtloop_post(rtloop *l, loop_fn fn, loop_fn drop, void *ud);

/* rtloop_run: run timers and posted work until rtloop_stop, or until MAX_MS milliseconds have passed
 * (MAX_MS < 0: no limit). Returns true when it returned because of rtloop_stop (the stop request is
 * consumed, so the loop can be run again). */
bool rtloop_run(rtloop *l, int64_t max_ms);
/* rtloop_stop: make rtloop_run return after the callback it is running (thread-safe). */
void rtloop_stop(rtloop *l);

/* rtloop_on_signals: block SIGTERM and SIGINT in the calling thread and receive them through a
 * signalfd: each one runs FN(UD, signo) on the loop. Call it from the main thread BEFORE any other
 * thread starts (threads inherit the blocked mask, so the signal is not delivered to them). */
typedef void (*rtloop_signal_fn)(void *ud, int signo);
t0_status rtloop_on_signals(rtloop *l, rtloop_signal_fn fn, void *ud, t0_err *err);

/* rtloop_watch_fd: run FN(UD) on the loop whenever FD is readable (level-triggered: FN reads until it
 * would block, or it runs again). Loop thread only. Returns a non-zero id for rtloop_unwatch_fd (0 when
 * out of memory); FD stays owned by the caller and must stay open until it is unwatched. */
uint64_t rtloop_watch_fd(rtloop *l, int fd, loop_fn fn, void *ud);
void rtloop_unwatch_fd(rtloop *l, uint64_t id);

/* Time and timers (the port's functions, usable directly). now is CLOCK_REALTIME in ms; timer delays
 * are measured on CLOCK_MONOTONIC, so a wall-clock step does not fire or stall timers. */
int64_t rtloop_now_ms(rtloop *l);
uint64_t rtloop_timer(rtloop *l, int64_t delay_ms, loop_fn fn, void *ud);
void rtloop_cancel(rtloop *l, uint64_t id);
uint64_t rtloop_rand(rtloop *l);
/* rtloop_timers: armed timers; rtloop_pending_posts: posted work not yet run (thread-safe). */
unsigned rtloop_timers(const rtloop *l);
unsigned rtloop_pending_posts(rtloop *l);

/* rtloop_port: the loop_port adapter (ctx = L); borrows L. */
loop_port rtloop_port(rtloop *l);

#endif
