/* test_cronexpr.c: cron parsing (accepted forms, clear rejections) and next activation in UTC. */
#include <criterion/criterion.h>
#include <string.h>
#include <time.h>

#include "domain/cronexpr.h"

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s};
    return (int64_t)timegm(&tm);
}

static void next_is(const char *expr, int64_t after, int64_t want)
{
    cronexpr c;
    t0_err err = {0};
    cr_assert_eq(cronexpr_parse(expr, &c, &err), T0_OK, "%s: %s", expr, err.msg);
    int64_t got = 0;
    cr_assert_eq(cronexpr_next(&c, after, &got, &err), T0_OK, "%s: %s", expr, err.msg);
    cr_assert_eq(got, want, "%s after %lld: got %lld want %lld", expr, (long long)after, (long long)got, (long long)want);
}

static void rejects(const char *expr, const char *want)
{
    cronexpr c;
    memset(&c, 0xAB, sizeof c);
    cronexpr before = c;
    t0_err err = {0};
    cr_assert_eq(cronexpr_parse(expr, &c, &err), T0_EINVAL, "%s should be rejected", expr);
    cr_assert_str_eq(err.msg, want);
    cr_assert_eq(memcmp(&c, &before, sizeof c), 0, "output untouched on error");
}

Test(cronexpr, reference_11_4_examples)
{
    next_is("* * * * *", utc(2023, 1, 1, 12, 30, 0), utc(2023, 1, 1, 12, 31, 0));
    next_is("0 9 * * *", utc(2023, 1, 1, 12, 0, 0), utc(2023, 1, 2, 9, 0, 0));
    next_is("0 10 * * 1", utc(2023, 1, 1, 12, 0, 0), utc(2023, 1, 2, 10, 0, 0));
    next_is("0 * * * * *", utc(2023, 1, 1, 12, 30, 30), utc(2023, 1, 1, 12, 31, 0));
}

Test(cronexpr, strictly_after)
{
    next_is("30 12 * * *", utc(2023, 1, 1, 12, 30, 0), utc(2023, 1, 2, 12, 30, 0));
    next_is("30 12 * * *", utc(2023, 1, 1, 12, 29, 59), utc(2023, 1, 1, 12, 30, 0));
}

Test(cronexpr, fields_ranges_steps_names)
{
    int64_t t = utc(2023, 1, 1, 0, 0, 0); /* a Sunday */
    next_is("*/15 * * * *", t, utc(2023, 1, 1, 0, 15, 0));
    next_is("5/20 * * * *", t, utc(2023, 1, 1, 0, 5, 0));
    next_is("0 8-10/2 * * *", utc(2023, 1, 1, 8, 0, 0), utc(2023, 1, 1, 10, 0, 0));
    next_is("0 0 1 mar *", t, utc(2023, 3, 1, 0, 0, 0));
    next_is("0 0 * * FRI", t, utc(2023, 1, 6, 0, 0, 0));
    next_is("0 0 * * mon-wed", utc(2023, 1, 2, 0, 0, 0), utc(2023, 1, 3, 0, 0, 0));
    next_is("0 0 1,15 * *", utc(2023, 1, 2, 0, 0, 0), utc(2023, 1, 15, 0, 0, 0));
    next_is("0 0 29 2 *", t, utc(2024, 2, 29, 0, 0, 0));
    next_is("0 12 ? * SUN", t, utc(2023, 1, 1, 12, 0, 0));
}

Test(cronexpr, day_of_month_or_day_of_week)
{
    /* both restricted: either matches (Vixie/robfig): the 13th or any Friday */
    next_is("0 0 13 * 5", utc(2023, 1, 1, 0, 0, 0), utc(2023, 1, 6, 0, 0, 0));
    next_is("0 0 13 * 5", utc(2023, 1, 10, 0, 0, 0), utc(2023, 1, 13, 0, 0, 0));
    /* one is '*': both must match, i.e. only the restricted one counts */
    next_is("0 0 13 * *", utc(2023, 1, 1, 0, 0, 0), utc(2023, 1, 13, 0, 0, 0));
    /* a stepped '*' is a restriction: */
    next_is("0 0 */10 * 1", utc(2023, 1, 1, 0, 0, 0), utc(2023, 1, 2, 0, 0, 0));
}

Test(cronexpr, descriptors)
{
    int64_t t = utc(2023, 5, 17, 13, 14, 0); /* Wednesday */
    next_is("@hourly", t, utc(2023, 5, 17, 14, 0, 0));
    next_is("@daily", t, utc(2023, 5, 18, 0, 0, 0));
    next_is("@midnight", t, utc(2023, 5, 18, 0, 0, 0));
    next_is("@weekly", t, utc(2023, 5, 21, 0, 0, 0));
    next_is("@monthly", t, utc(2023, 6, 1, 0, 0, 0));
    next_is("@yearly", t, utc(2024, 1, 1, 0, 0, 0));
    next_is("@annually", t, utc(2024, 1, 1, 0, 0, 0));
}

Test(cronexpr, rejections)
{
    rejects("", "cron expression is empty");
    rejects("   ", "cron expression is empty");
    rejects("@every 5m", "cron expression \"@every 5m\": @every is not supported by Kubernetes CronJobs");
    rejects("@reboot", "cron expression \"@reboot\": unknown descriptor");
    rejects("@daily 5", "cron expression \"@daily 5\": unknown descriptor");
    rejects("TZ=UTC 0 9 * * *", "cron expression \"TZ=UTC 0 9 * * *\": TZ= and CRON_TZ= prefixes are not supported");
    rejects("CRON_TZ=Europe/Paris 0 9 * * *",
            "cron expression \"CRON_TZ=Europe/Paris 0 9 * * *\": TZ= and CRON_TZ= prefixes are not supported");
    rejects("60 * * * *", "cron expression \"60 * * * *\": minute value 60 out of range 0-59");
    rejects("0 24 * * *", "cron expression \"0 24 * * *\": hour value 24 out of range 0-23");
    rejects("0 0 0 * *", "cron expression \"0 0 0 * *\": day of month value 0 out of range 1-31");
    rejects("0 0 * 13 *", "cron expression \"0 0 * 13 *\": month value 13 out of range 1-12");
    rejects("0 0 * * 7", "cron expression \"0 0 * * 7\": day of week value 7 out of range 0-6");
    rejects("60 * * * * *", "cron expression \"60 * * * * *\": second value 60 out of range 0-59");
    rejects("* * * *", "cron expression \"* * * *\": expected 5 fields (or 6 with seconds), found 4");
    rejects("* * * * * * *", "cron expression \"* * * * * * *\": expected 5 fields (or 6 with seconds), found 7");
    rejects("5-1 * * * *", "cron expression \"5-1 * * * *\": range 5-1 is backwards in minute field");
    rejects("*/0 * * * *", "cron expression \"*/0 * * * *\": step must be positive in minute field");
    rejects("*/ * * * *", "cron expression \"*/ * * * *\": missing step in minute field");
    rejects("1,,2 * * * *", "cron expression \"1,,2 * * * *\": empty list item in minute field");
    rejects("x * * * *", "cron expression \"x * * * *\": bad value \"x\" in minute field");
    rejects("0 0 * foo *", "cron expression \"0 0 * foo *\": bad value \"foo\" in month field");
    rejects("1a * * * *", "cron expression \"1a * * * *\": bad number \"1a\" in minute field");
}

Test(cronexpr, never_matches)
{
    cronexpr c;
    cr_assert_eq(cronexpr_parse("0 0 30 2 *", &c, NULL), T0_OK);
    int64_t n = 0;
    t0_err err = {0};
    cr_assert_eq(cronexpr_next(&c, 0, &n, &err), T0_ENOTFOUND);
}

Test(cronexpr, before_1970_and_leap_years)
{
    next_is("0 0 1 1 *", utc(1969, 6, 1, 0, 0, 0), utc(1970, 1, 1, 0, 0, 0));
    next_is("0 0 29 2 *", utc(2099, 3, 1, 0, 0, 0), utc(2104, 2, 29, 0, 0, 0)); /* 2100 is not a leap year */
}
