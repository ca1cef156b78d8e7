/* log.c: leveled, structured logging with a replaceable sink (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static t0_log_sink g_sink;
static void *g_sink_ud;
static t0_log_level g_min = T0_LOG_INFO;
static t0_log_format g_format = T0_LOG_LOGFMT;

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

int t0_log_format_parse(const char *s)
{
    if (s && !strcmp(s, "logfmt")) return T0_LOG_LOGFMT;
    if (s && !strcmp(s, "json")) return T0_LOG_JSON;
    return -1;
}

void t0_log_set_sink(t0_log_sink sink, void *ud)
{
    g_sink = sink;
    g_sink_ud = ud;
}

void t0_log_set_level(t0_log_level min) { g_min = min; }
t0_log_level t0_log_get_level(void) { return g_min; }
void t0_log_set_format(t0_log_format f) { g_format = f; }

/* ---- a bounded line buffer -------------------------------------------------------------------- */
#define LINE_MAX_BYTES 8192

typedef struct line {
    char b[LINE_MAX_BYTES];
    size_t n;
} line;

static void put(line *l, const char *s, size_t n)
{
    if (n > sizeof l->b - 1 - l->n) n = sizeof l->b - 1 - l->n;
    memcpy(l->b + l->n, s, n);
    l->n += n;
    l->b[l->n] = 0;
}
static void puts_(line *l, const char *s) { put(l, s, strlen(s)); }
static void putc_(line *l, char c) { put(l, &c, 1); }

/* quoted: V between double quotes with \" \\ \n \r \t escaped, other control bytes as \xNN (logfmt)
 * or \u00NN (JSON) */
static void quoted(line *l, const char *v, bool json)
{
    putc_(l, '"');
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        switch (*p) {
        case '"': puts_(l, "\\\""); break;
        case '\\': puts_(l, "\\\\"); break;
        case '\n': puts_(l, "\\n"); break;
        case '\r': puts_(l, "\\r"); break;
        case '\t': puts_(l, "\\t"); break;
        default:
            if (*p < ' ' || *p == 0x7f) {
                char u[8];
                snprintf(u, sizeof u, json ? "\\u%04x" : "\\x%02x", *p);
                puts_(l, u);
            } else {
                putc_(l, (char)*p);
            }
        }
    }
    putc_(l, '"');
}

/* logfmt_value: V bare when it needs no quoting, else quoted */
static void logfmt_value(line *l, const char *v)
{
    bool quote = !*v;
    for (const unsigned char *p = (const unsigned char *)v; *p && !quote; p++)
        quote = *p <= ' ' || *p == '=' || *p == '"' || *p == '\\' || *p == 0x7f;
    if (quote)
        quoted(l, v, false);
    else
        puts_(l, v);
}

static void json_string(line *l, const char *v) { quoted(l, v, true); }

/* ---- fields ----------------------------------------------------------------------------------- */
#define MAX_FIELDS 16
typedef struct field {
    const char *k, *v;
} field;

/* collect: the key/value pairs of AP up to a NULL key; pairs with a NULL value are left out */
static size_t collect(va_list ap, field out[MAX_FIELDS])
{
    size_t n = 0;
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k) break;
        const char *v = va_arg(ap, const char *);
        if (v && n < MAX_FIELDS) out[n++] = (field){k, v};
    }
    return n;
}

static void emit(t0_log_level lvl, const char *component, const char *msg, const field *f, size_t nf)
{
    line buf;
    buf.n = 0;
    buf.b[0] = 0;
    if (g_sink) {
        /* the simulator's trace: message, then the fields in logfmt */
        puts_(&buf, msg);
        for (size_t i = 0; i < nf; i++) {
            putc_(&buf, ' ');
            puts_(&buf, f[i].k);
            putc_(&buf, '=');
            logfmt_value(&buf, f[i].v);
        }
        g_sink(g_sink_ud, lvl, component, buf.b);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[48], date[32];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when, sizeof when, "%s.%03ldZ", date, ts.tv_nsec / 1000000);
    if (!component) component = "-";
    if (g_format == T0_LOG_JSON) {
        puts_(&buf, "{\"ts\":\"");
        puts_(&buf, when);
        puts_(&buf, "\",\"level\":\"");
        puts_(&buf, t0_log_level_name(lvl));
        puts_(&buf, "\",\"component\":");
        json_string(&buf, component);
        puts_(&buf, ",\"msg\":");
        json_string(&buf, msg);
        for (size_t i = 0; i < nf; i++) {
            putc_(&buf, ',');
            json_string(&buf, f[i].k);
            putc_(&buf, ':');
            json_string(&buf, f[i].v);
        }
        /* a line cut at the buffer's end still closes as one object */
        if (buf.n > sizeof buf.b - 8) {
            buf.n = sizeof buf.b - 8;
            while (buf.n && (buf.b[buf.n - 1] & 0xc0) == 0x80) buf.n--; /* not inside a UTF-8 sequence */
            buf.b[buf.n] = 0;
            puts_(&buf, "\"}");
        } else {
            putc_(&buf, '}');
        }
    } else {
        puts_(&buf, "ts=");
        puts_(&buf, when);
        puts_(&buf, " level=");
        puts_(&buf, t0_log_level_name(lvl));
        puts_(&buf, " component=");
        logfmt_value(&buf, component);
        puts_(&buf, " msg=");
        logfmt_value(&buf, msg);
        for (size_t i = 0; i < nf; i++) {
            putc_(&buf, ' ');
            puts_(&buf, f[i].k);
            putc_(&buf, '=');
            logfmt_value(&buf, f[i].v);
        }
    }
    if (buf.n > sizeof buf.b - 2) buf.n = sizeof buf.b - 2;
    buf.b[buf.n++] = '\n';
    ssize_t w = write(STDERR_FILENO, buf.b, buf.n);
    (void)w;
}

void t0_log(t0_log_level lvl, const char *component, const char *fmt, ...)
{
    if (lvl < g_min) return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emit(lvl, component, msg, NULL, 0);
}

void t0_logk_(t0_log_level lvl, const char *component, const char *msg, ...)
{
    if (lvl < g_min) return;
    field f[MAX_FIELDS];
    va_list ap;
    va_start(ap, msg);
    size_t n = collect(ap, f);
    va_end(ap);
    emit(lvl, component, msg, f, n);
}

const char *t0_log_duration(char buf[32], int64_t ms)
{
    if (ms < 0) ms = 0;
    if (ms < 1000)
        snprintf(buf, 32, "%lldms", (long long)ms);
    else if (ms < 60000)
        snprintf(buf, 32, "%lld.%03llds", (long long)(ms / 1000), (long long)(ms % 1000));
    else if (ms < 3600000)
        snprintf(buf, 32, "%lldm%lld.%03llds", (long long)(ms / 60000), (long long)(ms % 60000 / 1000),
                 (long long)(ms % 1000));
    else
        snprintf(buf, 32, "%lldh%lldm%lld.%03llds", (long long)(ms / 3600000), (long long)(ms % 3600000 / 60000),
                 (long long)(ms % 60000 / 1000), (long long)(ms % 1000));
    /* Go drops trailing zeros of the fraction and the dot ("1.500s" -> "1.5s", "30.000s" -> "30s") */
    size_t n = strlen(buf);
    if (n > 1 && buf[n - 1] == 's' && strchr(buf, '.')) {
        size_t e = n - 1;
        while (buf[e - 1] == '0') e--;
        if (buf[e - 1] == '.') e--;
        buf[e] = 's';
        buf[e + 1] = 0;
    }
    return buf;
}

const char *t0_log_num(char buf[24], long long v)
{
    snprintf(buf, 24, "%lld", v);
    return buf;
}

/* ---- redaction -------------------------------------------------------------------------------- */
const char *t0_redact_url(const char *url, char *buf, size_t cap)
{
    if (!cap) return buf;
    line l;
    l.n = 0;
    l.b[0] = 0;
    if (!url) url = "";
    const char *p = url;
    while (*p) {
        const char *sch = strstr(p, "://");
        if (!sch) {
            puts_(&l, p);
            break;
        }
        const char *auth = sch + 3;
        put(&l, p, (size_t)(auth - p));
        /* the authority ends at the first '/', '?' or '#'; the userinfo is what precedes its last '@' */
        size_t alen = strcspn(auth, "/?#");
        const char *at = NULL;
        for (const char *q = auth; q < auth + alen; q++)
            if (*q == '@') at = q;
        if (at) {
            const char *colon = memchr(auth, ':', (size_t)(at - auth));
            if (colon) {
                put(&l, auth, (size_t)(colon - auth));
                puts_(&l, ":xxxxx");
            } else {
                puts_(&l, "xxxxx");
            }
            p = at; /* from the '@' on */
        } else {
            p = auth;
        }
        /* copy up to the next scheme (a list of URLs) or the end */
        const char *next = strstr(p, "://");
        const char *stop = next;
        if (next) { /* back to the start of that scheme name */
            while (stop > p && (stop[-1] == '+' || stop[-1] == '-' || stop[-1] == '.' ||
                                (stop[-1] >= 'a' && stop[-1] <= 'z') || (stop[-1] >= 'A' && stop[-1] <= 'Z') ||
                                (stop[-1] >= '0' && stop[-1] <= '9')))
                stop--;
        }
        if (!next || stop == p) {
            if (!next) {
                puts_(&l, p);
                break;
            }
            stop = next; /* no scheme name: copy through */
        }
        put(&l, p, (size_t)(stop - p));
        p = stop;
    }
    size_t n = l.n < cap - 1 ? l.n : cap - 1;
    memcpy(buf, l.b, n);
    buf[n] = 0;
    return buf;
}
