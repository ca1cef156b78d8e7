/* prng.h: the project's one pseudo-random generator: xoshiro256** seeded through splitmix64. The
 * simulator's loop draws its whole run from one (so a seed replays exactly); the production loop seeds
 * one from getrandom for jitter. */
#ifndef T0_PRNG_H
#define T0_PRNG_H

#include <stdbool.h>
#include <stdint.h>

typedef struct prng {
    uint64_t s[4]; /* xoshiro256** state; never all zero once seeded */
} prng;

/* prng_seed: the state for SEED: four splitmix64 outputs from SEED (any seed, 0 included). */
void prng_seed(prng *r, uint64_t seed);
/* prng_u64: the next 64 bits. */
uint64_t prng_u64(prng *r);
/* prng_range: uniform in [LO, HI] (inclusive, unbiased: draws again above the largest multiple of the
 * span); LO when HI <= LO, without drawing. */
int64_t prng_range(prng *r, int64_t lo, int64_t hi);
/* prng_double: uniform in [0, 1) (53 bits). */
double prng_double(prng *r);
/* prng_chance: true with probability P. P <= 0 is always false and P >= 1 always true, and neither draws
 * (so a fault that cannot fire does not shift the stream). */
bool prng_chance(prng *r, double p);
/* prng_splitmix64: one splitmix64 step: advances *STATE and returns its output (a small generator of its
 * own, for deriving seeds and streams from one number). */
uint64_t prng_splitmix64(uint64_t *state);

#endif
