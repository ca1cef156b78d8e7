/* cronexpr.h: cron expressions as Kubernetes CronJobs accept them (robfig/cron standard parser), with
 * next-activation computation in UTC, for schedule validation and the simulator's CronJob controller. */
#ifndef CONTROLLERS_CRONEXPR_H
#define CONTROLLERS_CRONEXPR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/t0.h"

/* A parsed expression as bit sets. The star flags implement the day rule: when either day field
 * is unrestricted ('*' or '?' without a step > 1) a day must match both fields, otherwise either
 * (day-of-month OR day-of-week, as in Vixie cron and robfig/cron). */
typedef struct cronexpr {
    uint64_t minute; /* bit m: minute m (0-59) */
    uint32_t hour;   /* bit h: hour h (0-23) */
    uint32_t dom;    /* bit d: day of month d (1-31) */
    uint16_t month;  /* bit m: month m (1-12) */
    uint8_t dow;     /* bit d: day of week d (0-6, 0 = Sunday) */
    bool dom_star, dow_star;
} cronexpr;

/* cronexpr_parse: parse EXPR into *OUT. Accepted: 5 fields (minute hour day-of-month month day-of-week)
 * with '*', '?', lists, ranges a-b, steps (*, a-b or a followed by /n), month names JAN-DEC and day names
 * SUN-SAT (any case); 6 fields whose first is seconds (validated 0-59, then dropped, as the controller's
 * conversion does); and @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly.
 * Rejected with T0_EINVAL and a message saying why: @every and other descriptors, TZ=/CRON_TZ= prefixes
 * (Kubernetes wants spec.timeZone), a wrong field count, out-of-range values (day of week is 0-6, as in
 * Kubernetes), malformed ranges or steps. *OUT is written only on success. */
t0_status cronexpr_parse(const char *expr, cronexpr *out, t0_err *err);

/* cronexpr_next: the first activation strictly after AFTER_UNIX (seconds, UTC) into *NEXT (a whole
 * minute). T0_ENOTFOUND when nothing matches within five years (e.g. "0 0 30 2 *"). */
t0_status cronexpr_next(const cronexpr *c, int64_t after_unix, int64_t *next, t0_err *err);

#endif
