/* loop.h: the simulation loop: one thread, a virtual clock, the core timer heap and a seeded core PRNG. */
#ifndef T0_SIM_LOOP_H
#define T0_SIM_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/ports.h"
#include "core/t0.h"

/* 2026-01-05T00:00:00Z (a Monday): the virtual clock's start unless the caller chooses one. */
#define SIM_EPOCH_DEFAULT_MS INT64_C(1767571200000)

typedef struct sim_loop sim_loop;

/* sim_loop_new: a loop whose clock reads START_MS (0 = SIM_EPOCH_DEFAULT_MS) and whose PRNG
 * (core/prng.h: xoshiro256**, seeded through splitmix64) is seeded with SEED. Nothing in the loop reads the wall
 * clock or an unseeded random source: the same seed and the same calls give the same run. */
t0_status sim_loop_new(uint64_t seed, int64_t start_ms, sim_loop **out, t0_err *err);
/* sim_loop_destroy: free the loop. Pending timers are dropped without running (their UD is not freed:
 * the owners of timers cancel them or free UD themselves). NULL is a no-op. */
void sim_loop_destroy(sim_loop *l);

/* sim_tune_process: process-wide allocator settings for a simulator process; call first in main. A run
 * allocates and frees millions of small cJSON nodes, and glibc's fastbins then cost about a fifth of the
 * run in malloc_consolidate; M_MXFAST 0 sends small frees to the regular bins instead. */
void sim_tune_process(void);

int64_t sim_loop_now(const sim_loop *l);
uint64_t sim_loop_seed(const sim_loop *l);

/* sim_loop_timer: run FN(UD) at now + DELAY_MS (negative delays count as 0). Timers due at the same
 * instant run in the order they were armed (a global sequence number breaks ties). Returns a non-zero
 * id for cancel. O(log n); no allocation once the heap has grown to its working size. Returns 0 only
 * when memory runs out (the timer is then not armed). */
uint64_t sim_loop_timer(sim_loop *l, int64_t delay_ms, loop_fn fn, void *ud);
/* sim_loop_timer_at: the same at an absolute time (times in the past run at the next step). */
uint64_t sim_loop_timer_at(sim_loop *l, int64_t at_ms, loop_fn fn, void *ud);
/* sim_loop_cancel: forget a timer that has not run. Returns whether it was pending (unknown, already run
 * or already cancelled ids return false). O(log n). */
bool sim_loop_cancel(sim_loop *l, uint64_t id);

/* sim_loop_step: run the earliest pending timer, first advancing the clock to its due time (the clock
 * never goes backwards). Returns false when nothing is pending. */
bool sim_loop_step(sim_loop *l);
/* sim_loop_run_until: run every timer due at or before T_MS, in order (including timers that callbacks
 * arm for times <= T_MS), then set the clock to T_MS (when it is later than now). Returns how many
 * callbacks ran. */
uint64_t sim_loop_run_until(sim_loop *l, int64_t t_ms);
/* sim_loop_run_for: sim_loop_run_until(l, now + MS). */
uint64_t sim_loop_run_for(sim_loop *l, int64_t ms);
/* sim_loop_next_due: the due time of the earliest pending timer into *AT; false when none. */
bool sim_loop_next_due(const sim_loop *l, int64_t *at);
/* sim_loop_pending: how many timers are armed. sim_loop_steps: how many callbacks have run. */
uint64_t sim_loop_pending(const sim_loop *l);
uint64_t sim_loop_steps(const sim_loop *l);

/* After-step hook (the invariant checker): FN(UD) runs after every timer callback, on the loop. One
 * hook per loop; NULL removes it. */
void sim_loop_set_step_hook(sim_loop *l, loop_fn fn, void *ud);

/* ---- seeded randomness: the loop's one core/prng.h generator (see there) ---------------------- */
uint64_t sim_rand_u64(sim_loop *l);
/* sim_rand_range: uniform in [LO, HI] (inclusive, unbiased); LO when HI <= LO. */
int64_t sim_rand_range(sim_loop *l, int64_t lo, int64_t hi);
/* sim_rand_chance: true with probability P. P <= 0 is always false and P >= 1 always true, and neither
 * draws from the PRNG (so an unused fault does not shift the stream). */
bool sim_rand_chance(sim_loop *l, double p);
/* sim_rand_double: uniform in [0, 1). */
double sim_rand_double(sim_loop *l);

/* sim_loop_port: the loop_port adapter (ctx = L). The struct is returned by value; it borrows L. */
loop_port sim_loop_port(sim_loop *l);

/* sim_format_rfc3339: MS (ms since epoch, UTC) as "2026-01-05T00:00:00Z" (seconds precision, as the
 * API server's timestamps) into BUF (at least 21 bytes). Returns BUF. */
char *sim_format_rfc3339(int64_t ms, char *buf, size_t cap);
/* sim_parse_rfc3339: the inverse (accepts an optional fraction and Z or +hh:mm); false when malformed. */
bool sim_parse_rfc3339(const char *s, int64_t *ms);

#endif
