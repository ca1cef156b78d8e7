/* t0.c: the status/error convention (see t0.h). */
#include "t0.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const char *const status_names[T0__COUNT] = {
    [T0_OK] = "OK",
    [T0_EINVAL] = "EINVAL",
    [T0_ENOTFOUND] = "NOTFOUND",
    [T0_EEXIST] = "ALREADYEXISTS",
    [T0_ECONFLICT] = "CONFLICT",
    [T0_EINVALID] = "INVALID",
    [T0_ETOOMANY] = "TOOMANYREQUESTS",
    [T0_EINTERNAL] = "INTERNAL",
    [T0_EUNAVAILABLE] = "UNAVAILABLE",
    [T0_ETIMEOUT] = "TIMEOUT",
    [T0_EGONE] = "GONE",
    [T0_EFORBIDDEN] = "FORBIDDEN",
    [T0_ENOMEM] = "NOMEM",
    [T0_EIO] = "EIO",
    [T0_ELIMIT] = "LIMIT",
    [T0_EILLEGAL] = "ILLEGAL",
    [T0_ESTATE] = "STATE",
};

const char *t0_status_name(t0_status s)
{
    if ((unsigned)s >= T0__COUNT || !status_names[s]) return "UNKNOWN";
    return status_names[s];
}

int t0_status_retryable(t0_status s)
{
    switch (s) {
    case T0_ECONFLICT:
    case T0_ETOOMANY:
    case T0_EINTERNAL:
    case T0_EUNAVAILABLE:
    case T0_ETIMEOUT:
    case T0_EGONE:
    case T0_EIO:
        return 1;
    default:
        return 0;
    }
}

t0_status t0_fail(t0_err *err, t0_status code, const char *fmt, ...)
{
    if (!err) return code;
    /* formatted into a copy first: an argument may be ERR's own message (wrapping a cause in place), and
     * vsnprintf must not read the buffer it writes */
    char msg[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    err->code = code;
    memcpy(err->msg, msg, sizeof msg);
    return code;
}

void t0_err_prefix(t0_err *err, const char *fmt, ...)
{
    if (!err) return;
    char pre[256], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", pre, old);
}

void t0_err_clear(t0_err *err)
{
    if (!err) return;
    memset(err, 0, sizeof *err);
}

int t0_thread_detached(void *(*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    int rc = pthread_attr_init(&attr);
    if (rc != 0) return rc;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    rc = pthread_create(&th, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    return rc;
}
