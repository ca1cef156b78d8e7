/* t0.h: the one status/error convention every module of the0-k8s uses. */
#ifndef T0_H
#define T0_H

#include <stdarg.h>
#include <stddef.h>

/* Status codes. A function that can fail returns t0_status and fills an optional t0_err with context.
 * The Kubernetes-flavoured codes map one to one onto the API server's answers so that controllers can
 * react to them the same way whether a fake or a real adapter produced them. */
typedef enum t0_status {
    T0_OK = 0,
    T0_EINVAL,       /* bad argument or malformed input (caller's fault) */
    T0_ENOTFOUND,    /* 404: object, key or document does not exist */
    T0_EEXIST,       /* 409 AlreadyExists */
    T0_ECONFLICT,    /* 409 Conflict: resourceVersion mismatch */
    T0_EINVALID,     /* 422 Invalid: the server refused the object */
    T0_ETOOMANY,     /* 429 TooManyRequests: see t0_err.retry_after_ms */
    T0_EINTERNAL,    /* 500 and other server-side failures */
    T0_EUNAVAILABLE, /* cannot reach the server / outage */
    T0_ETIMEOUT,     /* the call did not finish in time */
    T0_EGONE,        /* 410 Gone: watch resourceVersion too old */
    T0_EFORBIDDEN,   /* 401/403 */
    T0_ENOMEM,       /* allocation failed */
    T0_EIO,          /* local I/O failed (errno in t0_err.sys_errno) */
    T0_ELIMIT,       /* a size or count limit was exceeded */
    T0_EILLEGAL,     /* an FSM event that the table marks illegal in the current state */
    T0_ESTATE,       /* operation not valid now (already running, not leader, ...) */
    T0__COUNT
} t0_status;

/* Context for a failure: what failed, on which object, in which call, and why. */
typedef struct t0_err {
    t0_status code;
    int http_status;     /* HTTP status when the failure came from an HTTP peer, else 0 */
    long retry_after_ms; /* for T0_ETOOMANY: how long the server asked us to wait (0 = unknown) */
    int sys_errno;       /* errno for T0_EIO, else 0 */
    char msg[512];
} t0_err;

/* t0_fail: record CODE and a printf-style message in ERR (which may be NULL) and return CODE, so that
 * callers can write `return t0_fail(err, T0_EINVAL, "bot %s: no runtime", id);`. The arguments may
 * include ERR's own message (`t0_fail(err, st, "ping: %s", err->msg)` keeps the cause). */
t0_status t0_fail(t0_err *err, t0_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* t0_err_prefix: put "CONTEXT: " in front of an existing message (e.g. which call was being made). */
void t0_err_prefix(t0_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* t0_err_clear: reset ERR to T0_OK with an empty message. */
void t0_err_clear(t0_err *err);

/* t0_status_name: stable upper-case name for printing ("CONFLICT"); never NULL. */
const char *t0_status_name(t0_status s);

/* t0_status_retryable: whether a failure with this status is worth retrying later unchanged. */
int t0_status_retryable(t0_status s);

/* t0_thread_detached: run FN(ARG) on a new detached thread (nobody joins it: FN owns ARG's reference and
 * the thread's end). 0, or the pthread_create error number (ARG untouched then). */
int t0_thread_detached(void *(*fn)(void *), void *arg);

#define T0_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
