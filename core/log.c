/* log.c: leveled logging with a replaceable sink (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static t0_log_sink g_sink;
static void *g_sink_ud;
static t0_log_level g_min = T0_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

const char *t0_log_level_name(t0_log_level lvl)
{
    return (unsigned)lvl <= T0_LOG_OFF ? level_names[lvl] : "?";
}

int t0_log_level_parse(const char *s)
{
    for (int i = 0; s && i <= T0_LOG_OFF; i++)
        if (strcmp(s, level_names[i]) == 0) return i;
    return -1;
}

void t0_log_set_sink(t0_log_sink sink, void *ud)
{
    g_sink = sink;
    g_sink_ud = ud;
}

void t0_log_set_level(t0_log_level min) { g_min = min; }
t0_log_level t0_log_get_level(void) { return g_min; }

static void default_sink(void *ud, t0_log_level lvl, const char *component, const char *msg)
{
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "ts=%s.%03ldZ level=%s component=%s msg=\"", when, ts.tv_nsec / 1000000,
            t0_log_level_name(lvl), component ? component : "-");
    for (const char *p = msg; *p; p++) {
        if (*p == '"' || *p == '\\') fputc('\\', stderr);
        fputc(*p == '\n' ? ' ' : *p, stderr);
    }
    fputs("\"\n", stderr);
}

void t0_log(t0_log_level lvl, const char *component, const char *fmt, ...)
{
    if (lvl < g_min) return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (g_sink)
        g_sink(g_sink_ud, lvl, component, buf);
    else
        default_sink(NULL, lvl, component, buf);
}
