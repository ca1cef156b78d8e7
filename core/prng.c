/* prng.c: xoshiro256** and splitmix64 (see prng.h; the algorithms of Blackman and Vigna, unchanged). */
#include "core/prng.h"

uint64_t prng_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void prng_seed(prng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = prng_splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t prng_u64(prng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

int64_t prng_range(prng *r, int64_t lo, int64_t hi)
{
    if (hi <= lo) return lo;
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1; /* 0 means the full 2^64 range */
    if (span == 0) return (int64_t)prng_u64(r);
    uint64_t limit = UINT64_MAX - UINT64_MAX % span, x;
    do x = prng_u64(r);
    while (x >= limit);
    return (int64_t)((uint64_t)lo + x % span);
}

double prng_double(prng *r) { return (double)(prng_u64(r) >> 11) * 0x1.0p-53; }

bool prng_chance(prng *r, double p)
{
    if (p <= 0) return false;
    if (p >= 1) return true;
    return prng_double(r) < p;
}
