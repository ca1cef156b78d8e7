/* loop.c: the simulation loop: a virtual clock over the core timer heap (core/theap) and PRNG (core/prng). */
#include "sim/loop.h"

#include <malloc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/prng.h"
#include "core/theap.h"

struct sim_loop {
    int64_t now;
    uint64_t seed, steps;
    prng rng;
    theap timers;
    loop_fn hook;
    void *hook_ud;
};

t0_status sim_loop_new(uint64_t seed, int64_t start_ms, sim_loop **out, t0_err *err)
{
    sim_loop *l = calloc(1, sizeof *l);
    if (!l) return t0_fail(err, T0_ENOMEM, "sim_loop_new: out of memory");
    l->now = start_ms ? start_ms : SIM_EPOCH_DEFAULT_MS;
    l->seed = seed;
    prng_seed(&l->rng, seed);
    theap_init(&l->timers);
    *out = l;
    return T0_OK;
}

void sim_loop_destroy(sim_loop *l)
{
    if (!l) return;
    theap_free(&l->timers);
    free(l);
}

int64_t sim_loop_now(const sim_loop *l) { return l->now; }
uint64_t sim_loop_seed(const sim_loop *l) { return l->seed; }
uint64_t sim_loop_pending(const sim_loop *l) { return theap_len(&l->timers); }
uint64_t sim_loop_steps(const sim_loop *l) { return l->steps; }

void sim_loop_set_step_hook(sim_loop *l, loop_fn fn, void *ud)
{
    l->hook = fn;
    l->hook_ud = ud;
}

uint64_t sim_loop_timer_at(sim_loop *l, int64_t at_ms, loop_fn fn, void *ud)
{
    return theap_add(&l->timers, at_ms < l->now ? l->now : at_ms, fn, ud);
}

uint64_t sim_loop_timer(sim_loop *l, int64_t delay_ms, loop_fn fn, void *ud)
{
    return sim_loop_timer_at(l, l->now + (delay_ms > 0 ? delay_ms : 0), fn, ud);
}

bool sim_loop_cancel(sim_loop *l, uint64_t id) { return theap_cancel(&l->timers, id); }

bool sim_loop_next_due(const sim_loop *l, int64_t *at) { return theap_peek(&l->timers, at); }

bool sim_loop_step(sim_loop *l)
{
    theap_timer t;
    if (!theap_pop(&l->timers, &t)) return false;
    if (t.due > l->now) l->now = t.due;
    l->steps++;
    t.fn(t.ud);
    if (l->hook) l->hook(l->hook_ud);
    return true;
}

uint64_t sim_loop_run_until(sim_loop *l, int64_t t_ms)
{
    uint64_t n = 0;
    int64_t due;
    while (theap_peek(&l->timers, &due) && due <= t_ms) {
        sim_loop_step(l);
        n++;
    }
    if (t_ms > l->now) l->now = t_ms;
    return n;
}

uint64_t sim_loop_run_for(sim_loop *l, int64_t ms) { return sim_loop_run_until(l, l->now + ms); }

/* ---- seeded randomness: the loop's core PRNG ---------------------------------------------------- */
uint64_t sim_rand_u64(sim_loop *l) { return prng_u64(&l->rng); }
int64_t sim_rand_range(sim_loop *l, int64_t lo, int64_t hi) { return prng_range(&l->rng, lo, hi); }
double sim_rand_double(sim_loop *l) { return prng_double(&l->rng); }
bool sim_rand_chance(sim_loop *l, double p) { return prng_chance(&l->rng, p); }

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
