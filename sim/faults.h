/* faults.h: the fault registry: named, seeded fault points (libfiu as the switchboard) for every fake. */
#ifndef T0_SIM_FAULTS_H
#define T0_SIM_FAULTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/t0.h"
#include "sim/loop.h"

/* How it works. A fake calls sim_faults_check(f, "kube/pod/create", &hit) at the top of every
 * operation. The registry counts the call, then asks libfiu (fiu_fail) whether the point fails. Points
 * are enabled with sim_faults_inject, which calls fiu_enable_external(pattern, 1, spec, 0, cb): the
 * external callback decides from the spec's trigger (probability drawn from the loop's seeded PRNG,
 * "next N calls", or "calls k..m" of that point) so that every decision replays exactly from the seed.
 * Points enabled from outside by fiu-ctrl / fiu_enable (no spec) fail with the HTTP status given as
 * failnum (e.g. `fiu-ctrl -c "enable name=kube/pod/create,failnum=429" PID`): 409 -> CONFLICT,
 * 404 -> NOTFOUND, 410 -> GONE, 422 -> INVALID, 429 -> TOOMANY (retry after 1 s), 503 -> UNAVAILABLE,
 * 504 -> TIMEOUT, anything else -> 500 INTERNAL.
 *
 * libfiu's callback carries no user data, so there is one registry per process at a time
 * (sim_faults_new fails with T0_ESTATE while another exists). The loop is single-threaded, and so is
 * the registry. */

typedef enum sim_fault_kind {
    SIM_FAULT_NONE = 0,
    SIM_FAULT_ERROR,     /* the call fails with spec.status / spec.http_status, nothing applied */
    SIM_FAULT_TOOMANY,   /* 429 TooManyRequests with Retry-After = spec.ms */
    SIM_FAULT_TIMEOUT,   /* T0_ETIMEOUT; nothing applied */
    SIM_FAULT_TIMEOUT_APPLIED, /* T0_ETIMEOUT, but the write WAS applied (the ambiguous timeout) */
    SIM_FAULT_LATENCY,   /* deliveries: delivered spec.ms later (order within one stream is kept) */
    SIM_FAULT_DROP,      /* deliveries: the event/message is lost (unobserved state) */
    SIM_FAULT_DUPLICATE, /* deliveries: delivered twice */
    SIM_FAULT_REORDER,   /* deliveries: delayed by spec.ms past later ones (message buses only) */
    SIM_FAULT_GONE,      /* watches: 410 Gone (re-list needed) */
    SIM_FAULT_CLOSE,     /* watches/subscriptions: the stream ends (re-watch needed) */
    SIM_FAULT_STALE,     /* lists/reads: served from an older snapshot */
    SIM_FAULT_ENOSPC,    /* filesystem writes: the volume fills up (ENOSPC) */
    SIM_FAULT_SHORT,     /* filesystem writes: part of the write lands, then EIO */
    SIM_FAULT__COUNT
} sim_fault_kind;

/* sim_fault_kind_name: "error", "429", "timeout", "timeout-applied", "latency", "drop", "duplicate",
 * "reorder", "gone", "close", "stale", "enospc", "short". sim_fault_kind_parse: the inverse; -1 when unknown. */
const char *sim_fault_kind_name(sim_fault_kind k);
int sim_fault_kind_parse(const char *s);

/* When a point fails. Exactly one trigger applies, checked in this order:
 *   first_call > 0        calls first_call..last_call of the point (1-based, inclusive; last_call 0 =
 *                         first_call only: "fail exactly the k-th call"). The index counts every call of
 *                         the point since the registry was created (sim_faults_calls).
 *   count > 0             the next COUNT calls after the injection.
 *   otherwise             each call fails with probability PROBABILITY (drawn from the loop's PRNG;
 *                         1.0 = every call until cleared). */
typedef struct sim_fault_spec {
    sim_fault_kind kind;
    t0_status status;   /* SIM_FAULT_ERROR: the status (default T0_EINTERNAL) */
    int http_status;    /* SIM_FAULT_ERROR: the HTTP code to report (default from status: 500, 409, ...) */
    int64_t ms;         /* TOOMANY: retry-after; LATENCY/REORDER: delay (defaults 1000) */
    double probability;
    uint64_t count;
    uint64_t first_call, last_call;
} sim_fault_spec;

/* What a failing point tells the fake. */
typedef struct sim_fault_hit {
    sim_fault_kind kind;
    t0_status status;   /* the status the call should return (T0_OK for delivery kinds) */
    int http_status;
    int64_t ms;
} sim_fault_hit;

typedef struct sim_faults sim_faults;

/* sim_faults_new: the process's registry, drawing decisions from LOOP's PRNG (borrowed). Calls
 * fiu_init. T0_ESTATE when another registry exists. */
t0_status sim_faults_new(sim_loop *loop, sim_faults **out, t0_err *err);
/* sim_faults_destroy: disable every injection this registry enabled and free it. NULL is a no-op. */
void sim_faults_destroy(sim_faults *f);

/* sim_faults_inject: enable PATTERN (a point name, or a prefix ending in '*': "kube/" followed by a star matches
 * every kube point, "s3/" and a star every MinIO point) with SPEC (copied). Re-injecting the same pattern replaces its spec. When two patterns
 * match one point, libfiu's choice applies (an exact name wins over a wildcard). Unknown point names
 * are accepted (fakes may add points) but sim_faults_known says whether the name is documented.
 * T0_EINVAL for a bad spec (kind out of range, probability outside [0,1], last_call < first_call). */
t0_status sim_faults_inject(sim_faults *f, const char *pattern, const sim_fault_spec *spec, t0_err *err);
/* sim_faults_clear: disable PATTERN (exactly as injected); "*" clears everything. Returns whether
 * something was cleared. */
bool sim_faults_clear(sim_faults *f, const char *pattern);

/* sim_faults_check: count one call of POINT and decide whether it fails. Returns true and fills *HIT
 * (may be NULL) when it fails. F may be NULL (never fails, counts nothing), so fakes can run without a
 * registry. The point's counters are kept even when nothing is injected. A point that none of the
 * registry's patterns matches is not asked of libfiu at all (the answer is cached per point until the
 * next inject or clear), unless external control is on (sim_faults_external). */
bool sim_faults_check(sim_faults *f, const char *point, sim_fault_hit *hit);
/* sim_faults_external: whether points enabled outside this registry (fiu-ctrl, fiu_enable) are seen:
 * every check then goes through libfiu. Off by default (checks of points without an injection cost a
 * lookup), on by default when the process runs under fiu-run (FIU_CTRL_FIFO or FIU_ENABLE set). */
void sim_faults_external(sim_faults *f, bool on);

/* sim_faults_fail: helper for fakes: when HIT's status is an error, fill ERR ("<point>: injected
 * <kind> (HTTP n)", http_status and retry_after_ms set) and return the status. */
t0_status sim_faults_fail(const sim_fault_hit *hit, const char *point, t0_err *err);

/* Counters, for reports: calls of POINT so far and faults injected into it. */
uint64_t sim_faults_calls(const sim_faults *f, const char *point);
uint64_t sim_faults_injected(const sim_faults *f, const char *point);
/* sim_faults_report: "point calls faults" lines for every point called so far, sorted by name. */
void sim_faults_report(const sim_faults *f, FILE *out);

/* ---- the documented point list ---------------------------------------------------------------- */
typedef struct sim_fault_point {
    const char *name;  /* e.g. "kube/pod/create" */
    const char *kinds; /* which kinds make sense there, e.g. "error 429 timeout timeout-applied" */
    const char *what;  /* one line */
} sim_fault_point;
/* sim_faults_points: the documented points (docs/faults.md is generated from this list). */
const sim_fault_point *sim_faults_points(size_t *n);
bool sim_faults_known(const char *point);
/* sim_faults_realistic: whether SPEC at PATTERN (a point, or a prefix ending in '*') is something a real
 * server answers there, as the documented points list it (their kinds; for errors, their HTTP statuses).
 * A wildcard is accepted when some point it names takes the kind and every point it names that takes
 * errors takes that status. Patterns naming no documented point are accepted. WHY says why not. */
bool sim_faults_realistic(const char *pattern, const sim_fault_spec *spec, char *why, size_t cap);
/* sim_faults_list: print the documented list as Markdown (what docs/faults.md holds). */
void sim_faults_list(FILE *out);

#endif
