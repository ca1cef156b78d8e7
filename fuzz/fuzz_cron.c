/* fuzz_cron.c: libFuzzer target for cronexpr_parse/cronexpr_next and names_convert_cron, with range and match oracles. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain/cronexpr.h"
#include "domain/names.h"
#include "core/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    t0_log_set_level(T0_LOG_OFF);
    return 0;
}

/* Civil date of a day count (same algorithm, written independently of cronexpr.c's copy). */
static void ymd(int64_t days, int *m, int *d)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    unsigned doe = (unsigned)(days - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
}

/* The activation T must satisfy every field of C (day rule as documented in cronexpr.h). */
static void check_match(const cronexpr *c, int64_t t)
{
    if (t % 60 != 0) abort();
    int64_t day = t / 86400, sec = t % 86400;
    if (sec < 0) sec += 86400, day--;
    int mm = (int)(sec / 60) % 60, hh = (int)(sec / 3600);
    int mon, dom;
    ymd(day, &mon, &dom);
    int wd = (int)(((day % 7) + 11) % 7);
    if (!(c->minute >> mm & 1) || !(c->hour >> hh & 1) || !(c->month >> mon & 1)) abort();
    bool dom_ok = c->dom >> dom & 1, dow_ok = c->dow >> wd & 1;
    if ((c->dom_star || c->dow_star) ? !(dom_ok && dow_ok) : !(dom_ok || dow_ok)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *expr = malloc(size + 1);
    if (!expr) return 0;
    memcpy(expr, data, size);
    expr[size] = '\0';

    cronexpr c;
    t0_err err = {0};
    t0_status st = cronexpr_parse(expr, &c, &err);
    if (st != T0_OK && st != T0_EINVAL) abort();
    if (st == T0_OK) {
        /* every bit set must be inside the field's range */
        if (c.minute >> 60 || c.hour >> 24 || (c.dom & 1) || (c.month & 1) || c.month >> 13 || c.dow >> 7) abort();
        static const int64_t afters[] = {0, 1700000000, 1709164799 /* 2024-02-28 23:59:59 */, -86400 * 365,
                                         4102444800 /* 2100-01-01 */};
        for (size_t i = 0; i < sizeof afters / sizeof afters[0]; i++) {
            int64_t next = 0;
            t0_status ns = cronexpr_next(&c, afters[i], &next, NULL);
            if (ns == T0_OK) {
                if (next <= afters[i]) abort();
                check_match(&c, next);
            } else if (ns != T0_ENOTFOUND) {
                abort();
            }
        }
        char conv[512];
        t0_status cs = names_convert_cron(expr, conv, sizeof conv, NULL);
        if (cs == T0_OK) {
            /* what the CronJob gets must parse to the same schedule (seconds dropped) */
            cronexpr c2;
            if (cronexpr_parse(conv, &c2, NULL) != T0_OK || c2.minute != c.minute || c2.hour != c.hour || c2.dom != c.dom ||
                c2.month != c.month || c2.dow != c.dow || c2.dom_star != c.dom_star || c2.dow_star != c.dow_star)
                abort();
        }
    } else if (!err.msg[0]) {
        abort(); /* an error must say why */
    }
    free(expr);
    return 0;
}
