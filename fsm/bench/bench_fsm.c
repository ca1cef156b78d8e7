/* bench_fsm.c: FSM step throughput on the bot table (the simulator's and controllers' inner step). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/clock.h"
#include "fsm/tables.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    const fsm_table *t = &fsm_bot_table;
    enum { ROUNDS = 7, STEPS = 2000000 };
    double ns[ROUNDS];
    unsigned sink = 0;
    for (int r = 0; r < ROUNDS; r++) {
        uint64_t x = 88172645463325252ull + (uint64_t)r;
        double t0 = t0_mono_s();
        for (int i = 0; i < STEPS; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            bot_fsm_input in = {x & 1, (x >> 1) & 1, (x >> 2) & 1, (x >> 3) & 1};
            fsm_result res;
            int s = (int)((x >> 8) % BS__COUNT), e = (int)((x >> 16) % BE__COUNT);
            fsm_step(t, s, e, &in, NULL, NULL, &res, NULL);
            sink += (unsigned)res.to;
        }
        ns[r] = (t0_mono_s() - t0) * 1e9 / STEPS;
    }
    qsort(ns, ROUNDS, sizeof ns[0], cmp);
    printf("fsm_step (bot table, random state/event/guards): median %.1f ns/step, min %.1f, max %.1f over %d rounds of %d "
           "(checksum %u)\n",
           ns[ROUNDS / 2], ns[0], ns[ROUNDS - 1], ROUNDS, STEPS, sink % 7);
    return 0;
}
