/* log.h: leveled, structured logging (logfmt or JSON lines) with a replaceable sink, so the simulator can
 * stamp virtual time and the runtime can write to stderr. */
#ifndef T0_LOG_H
#define T0_LOG_H

#include <stddef.h>
#include <stdint.h>

typedef enum t0_log_level { T0_LOG_DEBUG = 0, T0_LOG_INFO, T0_LOG_WARN, T0_LOG_ERROR, T0_LOG_OFF } t0_log_level;

/* A sink receives one finished line. COMPONENT is e.g. "bot-controller"; MSG has no newline: the message,
 * followed by the line's fields in logfmt (`created Pod bot=b1 pod=bot-b1`). */
typedef void (*t0_log_sink)(void *ud, t0_log_level lvl, const char *component, const char *msg);

/* t0_log_set_sink: route lines to SINK (NULL restores the default stderr sink). Not thread-safe against
 * concurrent t0_log calls: set it at start-up. */
void t0_log_set_sink(t0_log_sink sink, void *ud);
void t0_log_set_level(t0_log_level min);
t0_log_level t0_log_get_level(void);
/* t0_log_level_parse: "debug"|"info"|"warn"|"error"|"off" -> level; returns -1 when unknown. */
int t0_log_level_parse(const char *s);
const char *t0_log_level_name(t0_log_level lvl);

/* The default sink's format: one line per entry on stderr, either logfmt
 *   ts=2026-01-05T10:00:00.000Z level=info component=bot-controller msg="created Pod" bot=b1 pod=bot-b1
 * or one JSON object per line
 *   {"ts":"2026-01-05T10:00:00.000Z","level":"info","component":"bot-controller","msg":"created Pod","bot":"b1",...}
 * Each line is written with one write, so lines of several threads never interleave. */
typedef enum t0_log_format { T0_LOG_LOGFMT = 0, T0_LOG_JSON } t0_log_format;
void t0_log_set_format(t0_log_format f);
/* t0_log_format_parse: "logfmt"|"json" -> format; -1 when unknown. */
int t0_log_format_parse(const char *s);

/* t0_log: a line whose message is formatted (no fields). For new code prefer t0_logk: the data goes
 * into fields, the message stays constant. */
void t0_log(t0_log_level lvl, const char *component, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* t0_logk_: a structured line: MSG (constant text) and key/value string pairs up to a NULL key. A pair
 * whose value is NULL is left out (optional fields). Keys in use: bot, schedule, pod, cronjob, namespace,
 * kind, name, error, duration, reason, and what a line needs beyond those. Use the T0_*K macros. */
void t0_logk_(t0_log_level lvl, const char *component, const char *msg, ...);
#define t0_logk(lvl, comp, msg, ...) t0_logk_((lvl), (comp), (msg), ##__VA_ARGS__, (const char *)NULL)

#define T0_DEBUG(comp, ...) t0_log(T0_LOG_DEBUG, comp, __VA_ARGS__)
#define T0_INFO(comp, ...) t0_log(T0_LOG_INFO, comp, __VA_ARGS__)
#define T0_WARN(comp, ...) t0_log(T0_LOG_WARN, comp, __VA_ARGS__)
#define T0_ERROR(comp, ...) t0_log(T0_LOG_ERROR, comp, __VA_ARGS__)
#define T0_DEBUGK(comp, msg, ...) t0_logk(T0_LOG_DEBUG, comp, msg, ##__VA_ARGS__)
#define T0_INFOK(comp, msg, ...) t0_logk(T0_LOG_INFO, comp, msg, ##__VA_ARGS__)
#define T0_WARNK(comp, msg, ...) t0_logk(T0_LOG_WARN, comp, msg, ##__VA_ARGS__)
#define T0_ERRORK(comp, msg, ...) t0_logk(T0_LOG_ERROR, comp, msg, ##__VA_ARGS__)

/* t0_log_duration: MS as a Go duration ("250ms", "1.5s", "2m0s") into BUF; returns BUF. */
const char *t0_log_duration(char buf[32], int64_t ms);
/* t0_log_num: V in decimal into BUF; returns BUF (for numeric fields). */
const char *t0_log_num(char buf[24], long long v);

/* t0_redact_url: URL (or a comma-separated list of URLs, or a MongoDB URI with several hosts) with the
 * secret part of every userinfo replaced, as Go's url.Redacted does: "nats://user:pw@h" ->
 * "nats://user:xxxxx@h"; a userinfo without ':' (a token) becomes "xxxxx". Into BUF (truncated to CAP);
 * returns BUF. Credentials are never logged or put into an error message: pass URLs through this. */
const char *t0_redact_url(const char *url, char *buf, size_t cap);

#endif
