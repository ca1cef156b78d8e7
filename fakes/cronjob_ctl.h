/* cronjob_ctl.h: simulated CronJob and Job controllers (kube-controller-manager) on the virtual clock. */
#ifndef T0_FAKES_CRONJOB_CTL_H
#define T0_FAKES_CRONJOB_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/t0.h"
#include "fakes/kube_fake.h"
#include "sim/loop.h"

/* Semantics (pinned by fakes/tests/test_cron*.c):
 * CronJob controller. One loop timer per CronJob, at its next activation (no scans). Schedules are the
 * cronexpr syntax (5 fields, @hourly-style descriptors) evaluated in UTC. spec.timeZone: absent, "UTC",
 * "Etc/UTC", "GMT", "Etc/GMT" and "Z" are UTC; any other zone is NOT approximated: the CronJob is not
 * scheduled and a Warning Event "UnknownTimeZone" is recorded (as kube-controller-manager does for a zone
 * it cannot load). At an activation at time T:
 *   - suspend: nothing. Missed starts: the schedule times in (earliest, now] are counted, earliest =
 *     status.lastScheduleTime or creationTimestamp, raised to now - startingDeadlineSeconds when set.
 *     More than 100 -> Warning Event "TooManyMissedTimes", an error in the log, and no Job (the
 *     documented behaviour, cronctl_opts.modern_missed = false); with modern_missed the Event is
 *     recorded and the most recent time still runs (kube-controller-manager >= 1.27).
 *   - the most recent missed time older than startingDeadlineSeconds: skipped (Event "MissedSchedule").
 *   - concurrencyPolicy Forbid with an active Job: skipped (lastScheduleTime not updated); Replace:
 *     active Jobs deleted (Background), then the new Job; Allow: the new Job.
 *   - Job "<cronjob>-<scheduled unix minutes>" with ownerReferences -> the CronJob (controller), labels
 *     of jobTemplate.metadata; status.active += it, lastScheduleTime = T.
 *   - finished Jobs: status.active -= it, lastSuccessfulTime; history limits (successful default 3, failed
 *     default 1) delete the oldest finished Jobs (Background).
 * Job controller. Pods "<job>-<5 chars>" from spec.template with labels job-name, controller-uid,
 * batch.kubernetes.io/job-name, batch.kubernetes.io/controller-uid, ownerReferences -> the Job. A Failed
 * pod counts in status.failed; while failed <= backoffLimit (default 6) a fresh pod is created after
 * 10 s * 2^(failed-1) (capped at 360 s); past it the Job fails (condition Failed, reason
 * BackoffLimitExceeded). A Succeeded pod completes the Job (condition Complete, completionTime).
 * activeDeadlineSeconds from status.startTime: active pods deleted, condition Failed reason
 * DeadlineExceeded. A Job that finished deletes nothing by itself (ttlSecondsAfterFinished unsupported).
 * Events are recorded as Event objects through the system port. */

typedef struct cronctl cronctl;

typedef struct cronctl_opts {
    bool modern_missed; /* see above; default false */
} cronctl_opts;

/* cronctl_new: start both controllers, watching API (borrowed) through its system port. OPTS may be NULL. */
t0_status cronctl_new(sim_loop *loop, kfake *api, const cronctl_opts *opts, cronctl **out, t0_err *err);
/* cronctl_destroy: stop (cancel timers, unwatch) and free. NULL is a no-op. */
void cronctl_destroy(cronctl *c);

/* cronctl_set_down: simulate kube-controller-manager downtime: while down nothing fires; when up again
 * every CronJob is re-evaluated at once (missed-start rules apply) and every Job re-examined. */
void cronctl_set_down(cronctl *c, bool down);

typedef struct cronctl_stats {
    uint64_t jobs_created, pods_created;
    uint64_t skipped_forbid, replaced, missed_too_many, missed_deadline;
    uint64_t jobs_succeeded, jobs_failed, jobs_deadline_exceeded, history_deleted;
} cronctl_stats;
void cronctl_get_stats(const cronctl *c, cronctl_stats *out);

#endif
