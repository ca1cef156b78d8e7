/* clock.h: the process's real clocks, one helper for each use: elapsed time and deadlines (monotonic), the
 * time of day (wall). Never the simulator's virtual clock (sim/loop.h), and never printed in a trace. */
#ifndef T0_CLOCK_H
#define T0_CLOCK_H

#include <stdint.h>
#include <time.h>

/* t0_mono_ms, t0_mono_ns, t0_mono_s: CLOCK_MONOTONIC in milliseconds (truncated), nanoseconds, seconds. */
int64_t t0_mono_ms(void);
int64_t t0_mono_ns(void);
double t0_mono_s(void);
/* t0_wall_ms: CLOCK_REALTIME in milliseconds since the epoch (truncated). */
int64_t t0_wall_ms(void);
/* t0_deadline: CLOCK's time IN_MS (>= 0) from now, as pthread_cond_timedwait takes it (CLOCK_REALTIME for a
 * default condition variable, CLOCK_MONOTONIC for one initialised with that clock). */
struct timespec t0_deadline(clockid_t clock, int64_t in_ms);

#endif
