/* loop.c: the simulation loop: virtual clock, binary timer heap with cancel by id, xoshiro256** PRNG. */
#include "sim/loop.h"

#include <malloc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A timer lives in a slot of a pool; the heap orders slot indices by (due, seq). An id is
 * (generation << 32) | (slot + 1), so a stale id (slot reused since) is recognised and ignored. */
typedef struct tslot {
    int64_t due;
    uint64_t seq;
    loop_fn fn;
    void *ud;
    uint32_t gen;
    int32_t heap_pos; /* -1 = free */
    uint32_t next_free;
} tslot;

struct sim_loop {
    int64_t now;
    uint64_t seed, seq, steps;
    uint64_t s[4]; /* xoshiro256** state */
    tslot *slots;
    uint32_t nslots, cap_slots, free_head; /* free_head: UINT32_MAX = none */
    uint32_t *heap;
    uint32_t nheap;
    loop_fn hook;
    void *hook_ud;
};

#define NO_FREE UINT32_MAX

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

t0_status sim_loop_new(uint64_t seed, int64_t start_ms, sim_loop **out, t0_err *err)
{
    sim_loop *l = calloc(1, sizeof *l);
    if (!l) return t0_fail(err, T0_ENOMEM, "sim_loop_new: out of memory");
    l->now = start_ms ? start_ms : SIM_EPOCH_DEFAULT_MS;
    l->seed = seed;
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) l->s[i] = splitmix64(&x);
    l->free_head = NO_FREE;
    *out = l;
    return T0_OK;
}

void sim_loop_destroy(sim_loop *l)
{
    if (!l) return;
    free(l->slots);
    free(l->heap);
    free(l);
}

int64_t sim_loop_now(const sim_loop *l) { return l->now; }
uint64_t sim_loop_seed(const sim_loop *l) { return l->seed; }
uint64_t sim_loop_pending(const sim_loop *l) { return l->nheap; }
uint64_t sim_loop_steps(const sim_loop *l) { return l->steps; }

void sim_loop_set_step_hook(sim_loop *l, loop_fn fn, void *ud)
{
    l->hook = fn;
    l->hook_ud = ud;
}

static bool before(const sim_loop *l, uint32_t a, uint32_t b)
{
    const tslot *x = &l->slots[a], *y = &l->slots[b];
    return x->due < y->due || (x->due == y->due && x->seq < y->seq);
}

static void heap_set(sim_loop *l, uint32_t pos, uint32_t slot)
{
    l->heap[pos] = slot;
    l->slots[slot].heap_pos = (int32_t)pos;
}

static void sift_up(sim_loop *l, uint32_t pos)
{
    uint32_t slot = l->heap[pos];
    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;
        if (!before(l, slot, l->heap[parent])) break;
        heap_set(l, pos, l->heap[parent]);
        pos = parent;
    }
    heap_set(l, pos, slot);
}

static void sift_down(sim_loop *l, uint32_t pos)
{
    uint32_t slot = l->heap[pos];
    for (;;) {
        uint32_t c = 2 * pos + 1;
        if (c >= l->nheap) break;
        if (c + 1 < l->nheap && before(l, l->heap[c + 1], l->heap[c])) c++;
        if (!before(l, l->heap[c], slot)) break;
        heap_set(l, pos, l->heap[c]);
        pos = c;
    }
    heap_set(l, pos, slot);
}

static void heap_remove_at(sim_loop *l, uint32_t pos)
{
    uint32_t last = l->heap[--l->nheap];
    if (pos < l->nheap) {
        heap_set(l, pos, last);
        if (pos > 0 && before(l, last, l->heap[(pos - 1) / 2]))
            sift_up(l, pos);
        else
            sift_down(l, pos);
    }
}

static void slot_free(sim_loop *l, uint32_t slot)
{
    tslot *t = &l->slots[slot];
    t->heap_pos = -1;
    t->fn = NULL;
    t->ud = NULL;
    t->gen++;
    t->next_free = l->free_head;
    l->free_head = slot;
}

uint64_t sim_loop_timer_at(sim_loop *l, int64_t at_ms, loop_fn fn, void *ud)
{
    if (!fn) return 0;
    uint32_t slot;
    if (l->free_head != NO_FREE) {
        slot = l->free_head;
        l->free_head = l->slots[slot].next_free;
    } else {
        if (l->nslots == l->cap_slots) {
            uint32_t nc = l->cap_slots ? l->cap_slots * 2 : 64;
            tslot *ns = realloc(l->slots, nc * sizeof *ns);
            if (!ns) return 0;
            l->slots = ns;
            uint32_t *nh = realloc(l->heap, nc * sizeof *nh);
            if (!nh) return 0; /* slots grew; harmless */
            l->heap = nh;
            l->cap_slots = nc;
        }
        slot = l->nslots++;
        l->slots[slot].gen = 1;
    }
    tslot *t = &l->slots[slot];
    t->due = at_ms < l->now ? l->now : at_ms;
    t->seq = ++l->seq;
    t->fn = fn;
    t->ud = ud;
    l->heap[l->nheap] = slot;
    t->heap_pos = (int32_t)l->nheap;
    l->nheap++;
    sift_up(l, l->nheap - 1);
    return ((uint64_t)t->gen << 32) | (uint64_t)(slot + 1);
}

uint64_t sim_loop_timer(sim_loop *l, int64_t delay_ms, loop_fn fn, void *ud)
{
    return sim_loop_timer_at(l, l->now + (delay_ms > 0 ? delay_ms : 0), fn, ud);
}

bool sim_loop_cancel(sim_loop *l, uint64_t id)
{
    uint64_t s1 = id & 0xffffffffULL;
    if (!s1 || s1 > l->nslots) return false;
    uint32_t slot = (uint32_t)(s1 - 1);
    tslot *t = &l->slots[slot];
    if (t->gen != (uint32_t)(id >> 32) || t->heap_pos < 0) return false;
    heap_remove_at(l, (uint32_t)t->heap_pos);
    slot_free(l, slot);
    return true;
}

bool sim_loop_next_due(const sim_loop *l, int64_t *at)
{
    if (!l->nheap) return false;
    *at = l->slots[l->heap[0]].due;
    return true;
}

bool sim_loop_step(sim_loop *l)
{
    if (!l->nheap) return false;
    uint32_t slot = l->heap[0];
    tslot *t = &l->slots[slot];
    loop_fn fn = t->fn;
    void *ud = t->ud;
    if (t->due > l->now) l->now = t->due;
    heap_remove_at(l, 0);
    slot_free(l, slot);
    l->steps++;
    fn(ud);
    if (l->hook) l->hook(l->hook_ud);
    return true;
}

uint64_t sim_loop_run_until(sim_loop *l, int64_t t_ms)
{
    uint64_t n = 0;
    while (l->nheap && l->slots[l->heap[0]].due <= t_ms) {
        sim_loop_step(l);
        n++;
    }
    if (t_ms > l->now) l->now = t_ms;
    return n;
}

uint64_t sim_loop_run_for(sim_loop *l, int64_t ms) { return sim_loop_run_until(l, l->now + ms); }

/* ---- PRNG: xoshiro256** ---------------------------------------------------------------------- */
static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sim_rand_u64(sim_loop *l)
{
    uint64_t *s = l->s;
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

int64_t sim_rand_range(sim_loop *l, int64_t lo, int64_t hi)
{
    if (hi <= lo) return lo;
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1; /* 0 means the full 2^64 range */
    if (span == 0) return (int64_t)sim_rand_u64(l);
    uint64_t limit = UINT64_MAX - UINT64_MAX % span, r;
    do r = sim_rand_u64(l);
    while (r >= limit);
    return (int64_t)((uint64_t)lo + r % span);
}

double sim_rand_double(sim_loop *l) { return (double)(sim_rand_u64(l) >> 11) * 0x1.0p-53; }

bool sim_rand_chance(sim_loop *l, double p)
{
    if (p <= 0) return false;
    if (p >= 1) return true;
    return sim_rand_double(l) < p;
}

/* ---- loop_port adapter ----------------------------------------------------------------------- */
static int64_t port_now(void *ctx) { return sim_loop_now(ctx); }
static uint64_t port_timer(void *ctx, int64_t delay, loop_fn fn, void *ud) { return sim_loop_timer(ctx, delay, fn, ud); }
static void port_cancel(void *ctx, uint64_t id) { sim_loop_cancel(ctx, id); }
static uint64_t port_rand(void *ctx) { return sim_rand_u64(ctx); }

loop_port sim_loop_port(sim_loop *l)
{
    return (loop_port){.ctx = l, .now_ms = port_now, .timer = port_timer, .cancel = port_cancel, .rand = port_rand};
}

/* ---- time formatting (pure arithmetic: no TZ, no locale) -------------------------------------- */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

char *sim_format_rfc3339(int64_t ms, char *buf, size_t cap)
{
    int64_t s = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    /* the last second formatted, per thread: status writes stamp the same instant several times */
    static _Thread_local int64_t last_s = INT64_MIN;
    static _Thread_local char last[21];
    if (s == last_s && cap >= sizeof last) {
        memcpy(buf, last, sizeof last);
        return buf;
    }
    int64_t days = s >= 0 ? s / 86400 : (s - 86399) / 86400;
    int64_t rem = s - days * 86400, y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999 || cap < 21) {
        snprintf(buf, cap, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y, m, d, (int)(rem / 3600),
                 (int)(rem / 60 % 60), (int)(rem % 60));
        return buf;
    }
    /* the common case without printf (the kubelet stamps every status write several times) */
    unsigned f[6] = {(unsigned)y, m, d, (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60), (unsigned)(rem % 60)};
    static const char sep[6] = {'-', '-', 'T', ':', ':', 'Z'};
    char *p = buf;
    for (int i = 0; i < 6; i++) {
        int wdt = i ? 2 : 4;
        for (int j = wdt - 1; j >= 0; j--, f[i] /= 10) p[j] = (char)('0' + f[i] % 10);
        p += wdt;
        *p++ = sep[i];
    }
    *p = '\0';
    last_s = s;
    memcpy(last, buf, sizeof last);
    return buf;
}

bool sim_parse_rfc3339(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, se, n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6) return false;
    const char *p = s + n;
    int64_t frac = 0;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3) frac = frac * 10 + (*p - '0');
        for (; digits < 3; digits++) frac *= 10;
    }
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z')
        p++;
    else if (*p == '+' || *p == '-') {
        int oh, om;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2) return false;
        off = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else
        return false;
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return false;
    int64_t secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se - off;
    *ms = secs * 1000 + frac;
    return true;
}

void sim_tune_process(void) { mallopt(M_MXFAST, 0); }
