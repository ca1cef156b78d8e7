/* test_clock.c: the real clocks' helpers: the units agree, deadlines are normalised and not early. */
#include <criterion/criterion.h>

#include "core/clock.h"

Test(clock, units_agree_and_do_not_go_back)
{
    int64_t ns = t0_mono_ns(), ms = t0_mono_ms();
    double s = t0_mono_s();
    int64_t ns2 = t0_mono_ns();
    cr_assert(ms >= ns / 1000000 && ms <= ns2 / 1000000, "mono ms %lld outside [%lld, %lld] (from ns)", (long long)ms,
              (long long)(ns / 1000000), (long long)(ns2 / 1000000));
    cr_assert(s * 1e9 >= (double)ns - 1e3 && s * 1e9 <= (double)ns2 + 1e3, "mono s %.9f outside [%lld, %lld] ns", s,
              (long long)ns, (long long)ns2);
    cr_assert_gt(t0_wall_ms(), INT64_C(1577836800000), "wall clock before 2020: %lld", (long long)t0_wall_ms());
}

Test(clock, deadline_is_normalised_and_not_early)
{
    static const int64_t ins[] = {0, 1, 999, 1000, 1001, 2500, 86400000};
    static const clockid_t clocks[] = {CLOCK_MONOTONIC, CLOCK_REALTIME};
    for (size_t c = 0; c < 2; c++)
        for (size_t i = 0; i < sizeof ins / sizeof ins[0]; i++) {
            struct timespec before;
            clock_gettime(clocks[c], &before);
            struct timespec d = t0_deadline(clocks[c], ins[i]);
            cr_assert(d.tv_nsec >= 0 && d.tv_nsec < 1000000000, "in %lld ms: tv_nsec %ld not in [0, 1e9)",
                      (long long)ins[i], d.tv_nsec);
            int64_t want = (int64_t)before.tv_sec * 1000000000 + before.tv_nsec + ins[i] * 1000000;
            int64_t got = (int64_t)d.tv_sec * 1000000000 + d.tv_nsec;
            cr_assert_geq(got, want, "in %lld ms (clock %d): deadline %lld ns, expected at least %lld", (long long)ins[i],
                          (int)clocks[c], (long long)got, (long long)want);
        }
}
