/* cronexpr.c: cron expression parsing and next-activation search in UTC (see cronexpr.h). */
#include "domain/cronexpr.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct field_def {
    const char *name;
    int min, max;
    const char *const *names; /* names[i] stands for min+i, or NULL */
} field_def;

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const field_def F_SEC = {"second", 0, 59, NULL};
static const field_def F_MIN = {"minute", 0, 59, NULL};
static const field_def F_HOUR = {"hour", 0, 23, NULL};
static const field_def F_DOM = {"day of month", 1, 31, NULL};
static const field_def F_MON = {"month", 1, 12, month_names};
static const field_def F_DOW = {"day of week", 0, 6, dow_names};

/* One value: a number or (where the field has names) a three-letter name. */
static int parse_value(const field_def *f, const char *s, size_t n, int *v, const char *expr, t0_err *err)
{
    if (n == 0) return t0_fail(err, T0_EINVAL, "cron expression \"%s\": empty value in %s field", expr, f->name);
    if (isdigit((unsigned char)s[0])) {
        long x = 0;
        for (size_t i = 0; i < n; i++) {
            if (!isdigit((unsigned char)s[i]) || x > 1000)
                return t0_fail(err, T0_EINVAL, "cron expression \"%s\": bad number \"%.*s\" in %s field", expr, (int)n,
                               s, f->name);
            x = x * 10 + (s[i] - '0');
        }
        *v = (int)x;
        return T0_OK;
    }
    if (f->names)
        for (int i = 0; f->names[i]; i++)
            if (n == 3 && !strncasecmp(s, f->names[i], 3)) {
                *v = f->min + i;
                return T0_OK;
            }
    return t0_fail(err, T0_EINVAL, "cron expression \"%s\": bad value \"%.*s\" in %s field", expr, (int)n, s, f->name);
}

/* Parse one comma-separated field into a bit set; *star is set when the whole field is unrestricted. */
static t0_status parse_field(const field_def *f, const char *s, size_t n, uint64_t *bits, bool *star, const char *expr,
                             t0_err *err)
{
    uint64_t acc = 0;
    bool all_star = false;
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && s[j] != ',') j++;
        const char *p = s + i;
        size_t len = j - i;
        if (len == 0) return t0_fail(err, T0_EINVAL, "cron expression \"%s\": empty list item in %s field", expr, f->name);
        const char *slash = memchr(p, '/', len);
        size_t rlen = slash ? (size_t)(slash - p) : len;
        int lo, hi, step = 1;
        bool is_star = false;
        if (rlen == 1 && (p[0] == '*' || p[0] == '?')) {
            lo = f->min;
            hi = f->max;
            is_star = true;
        } else {
            const char *dash = memchr(p, '-', rlen);
            if (parse_value(f, p, dash ? (size_t)(dash - p) : rlen, &lo, expr, err)) return T0_EINVAL;
            if (dash) {
                if (parse_value(f, dash + 1, rlen - (size_t)(dash + 1 - p), &hi, expr, err)) return T0_EINVAL;
            } else {
                hi = slash ? f->max : lo; /* "N/step" means N-max/step */
            }
        }
        if (slash) {
            size_t sl = len - rlen - 1;
            if (sl == 0) return t0_fail(err, T0_EINVAL, "cron expression \"%s\": missing step in %s field", expr, f->name);
            field_def sf = {f->name, 0, 0, NULL};
            if (parse_value(&sf, slash + 1, sl, &step, expr, err)) return T0_EINVAL;
            if (step <= 0)
                return t0_fail(err, T0_EINVAL, "cron expression \"%s\": step must be positive in %s field", expr, f->name);
        }
        if (lo < f->min || hi > f->max || lo > f->max || hi < f->min)
            return t0_fail(err, T0_EINVAL, "cron expression \"%s\": %s value %d out of range %d-%d", expr, f->name,
                           lo < f->min || lo > f->max ? lo : hi, f->min, f->max);
        if (lo > hi)
            return t0_fail(err, T0_EINVAL, "cron expression \"%s\": range %d-%d is backwards in %s field", expr, lo, hi,
                           f->name);
        for (int v = lo; v <= hi; v += step) acc |= (uint64_t)1 << v;
        if (is_star && step == 1) all_star = true;
        i = j + 1;
    }
    *bits = acc;
    *star = all_star;
    return T0_OK;
}

t0_status cronexpr_parse(const char *expr, cronexpr *out, t0_err *err)
{
    if (!expr) return t0_fail(err, T0_EINVAL, "cron expression missing");
    const char *p = expr;
    while (isspace((unsigned char)*p)) p++;
    if (!*p) return t0_fail(err, T0_EINVAL, "cron expression is empty");
    if (!strncmp(p, "TZ=", 3) || !strncmp(p, "CRON_TZ=", 8))
        return t0_fail(err, T0_EINVAL, "cron expression \"%s\": TZ= and CRON_TZ= prefixes are not supported", expr);
    if (*p == '@') {
        static const struct {
            const char *name, *expansion;
        } desc[] = {
            {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
            {"@daily", "0 0 * * *"},  {"@midnight", "0 0 * * *"}, {"@hourly", "0 * * * *"},
        };
        size_t n = 0;
        while (p[n] && !isspace((unsigned char)p[n])) n++;
        const char *rest = p + n;
        while (isspace((unsigned char)*rest)) rest++;
        for (size_t i = 0; i < T0_ARRAY_LEN(desc); i++)
            if (strlen(desc[i].name) == n && !strncmp(p, desc[i].name, n)) {
                if (*rest) break;
                return cronexpr_parse(desc[i].expansion, out, err);
            }
        if (n == 6 && !strncmp(p, "@every", 6))
            return t0_fail(err, T0_EINVAL, "cron expression \"%s\": @every is not supported by Kubernetes CronJobs", expr);
        return t0_fail(err, T0_EINVAL, "cron expression \"%s\": unknown descriptor", expr);
    }
    const char *fs[6];
    size_t fl[6];
    int n = 0;
    while (*p) {
        const char *s = p;
        while (*p && !isspace((unsigned char)*p)) p++;
        if (n < 6) {
            fs[n] = s;
            fl[n] = (size_t)(p - s);
        }
        n++;
        while (isspace((unsigned char)*p)) p++;
    }
    if (n != 5 && n != 6)
        return t0_fail(err, T0_EINVAL, "cron expression \"%s\": expected 5 fields (or 6 with seconds), found %d", expr, n);
    int o = 0;
    uint64_t bits;
    bool star;
    if (n == 6) {
        if (parse_field(&F_SEC, fs[0], fl[0], &bits, &star, expr, err)) return T0_EINVAL;
        o = 1;
    }
    cronexpr c = {0};
    if (parse_field(&F_MIN, fs[o], fl[o], &bits, &star, expr, err)) return T0_EINVAL;
    c.minute = bits;
    if (parse_field(&F_HOUR, fs[o + 1], fl[o + 1], &bits, &star, expr, err)) return T0_EINVAL;
    c.hour = (uint32_t)bits;
    if (parse_field(&F_DOM, fs[o + 2], fl[o + 2], &bits, &c.dom_star, expr, err)) return T0_EINVAL;
    c.dom = (uint32_t)bits;
    if (parse_field(&F_MON, fs[o + 3], fl[o + 3], &bits, &star, expr, err)) return T0_EINVAL;
    c.month = (uint16_t)bits;
    if (parse_field(&F_DOW, fs[o + 4], fl[o + 4], &bits, &c.dow_star, expr, err)) return T0_EINVAL;
    c.dow = (uint8_t)bits;
    *out = c;
    return T0_OK;
}

/* Days since 1970-01-01 -> civil date (proleptic Gregorian; H. Hinnant's algorithm). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

t0_status cronexpr_next(const cronexpr *c, int64_t after_unix, int64_t *next, t0_err *err)
{
    int64_t start = floor_div(after_unix, 60) * 60 + 60; /* strictly after, on a whole minute */
    int64_t day = floor_div(start, 86400);
    int first_minute = (int)((start - day * 86400) / 60);
    for (int64_t k = 0; k <= 366 * 5; k++, first_minute = 0) {
        int64_t dd = day + k;
        int64_t y;
        unsigned m, d;
        civil_from_days(dd, &y, &m, &d);
        if (!(c->month & (1u << m))) continue;
        unsigned wd = (unsigned)(((dd % 7) + 11) % 7); /* 1970-01-01 was a Thursday (4) */
        bool dom_ok = c->dom & (1u << d), dow_ok = c->dow & (1u << wd);
        bool day_ok = (c->dom_star || c->dow_star) ? (dom_ok && dow_ok) : (dom_ok || dow_ok);
        if (!day_ok) continue;
        for (int mm = first_minute; mm < 1440; mm++) {
            if ((c->hour & (1u << (mm / 60))) && (c->minute & ((uint64_t)1 << (mm % 60)))) {
                *next = dd * 86400 + (int64_t)mm * 60;
                return T0_OK;
            }
        }
    }
    return t0_fail(err, T0_ENOTFOUND, "cron expression has no activation within five years");
}
