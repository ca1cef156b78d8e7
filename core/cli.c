/* cli.c: the command-line layer (see cli.h): getopt_long over an option table, typed range-checked values,
 * environment fallbacks, help text and subcommand dispatch. */
#include "core/cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- durations and booleans --------------------------------------------------------------------- */
bool cli_parse_duration(const char *s, int64_t *ms)
{
    if (!s || !*s) return false;
    bool neg = false;
    if (*s == '-' || *s == '+') neg = *s++ == '-';
    if (!strcmp(s, "0")) {
        *ms = 0;
        return true;
    }
    if (!*s) return false;
    long double total_ns = 0;
    while (*s) {
        /* digits [. digits] only: Go has no exponents, hex or signs inside */
        long double v = 0, scale = 1;
        int digits = 0;
        while (isdigit((unsigned char)*s)) v = v * 10 + (*s++ - '0'), digits++;
        if (*s == '.') {
            s++;
            while (isdigit((unsigned char)*s)) scale /= 10, v += (*s++ - '0') * scale, digits++;
        }
        if (!digits) return false;
        long double unit;
        if (!strncmp(s, "ns", 2)) unit = 1, s += 2;
        else if (!strncmp(s, "us", 2)) unit = 1e3, s += 2;
        else if (!strncmp(s, "\xc2\xb5s", 3)) unit = 1e3, s += 3; /* µs */
        else if (!strncmp(s, "\xce\xbcs", 3)) unit = 1e3, s += 3; /* μs */
        else if (!strncmp(s, "ms", 2)) unit = 1e6, s += 2;
        else if (*s == 's') unit = 1e9, s += 1;
        else if (*s == 'm') unit = 60e9, s += 1;
        else if (*s == 'h') unit = 3600e9, s += 1;
        else return false; /* a number needs a unit (Go: "missing unit in duration") */
        total_ns += v * unit;
        if (total_ns > 9.2e18L) return false;
    }
    int64_t r = (int64_t)(total_ns / 1e6L);
    *ms = neg ? -r : r;
    return true;
}

void cli_format_duration(int64_t ms, char *buf, size_t cap)
{
    if (ms == 0) {
        snprintf(buf, cap, "0s");
        return;
    }
    const char *sign = ms < 0 ? "-" : "";
    uint64_t u = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    if (u < 1000) {
        snprintf(buf, cap, "%s%" PRIu64 "ms", sign, u);
        return;
    }
    uint64_t h = u / 3600000, m = u / 60000 % 60, s = u / 1000 % 60, frac = u % 1000;
    char sec[32];
    if (frac) snprintf(sec, sizeof sec, "%" PRIu64 ".%03" PRIu64, s, frac);
    else snprintf(sec, sizeof sec, "%" PRIu64, s);
    if (frac) /* trailing zeros of the fraction go, as Go prints 1.5s */
        for (size_t n = strlen(sec); sec[n - 1] == '0'; n--) sec[n - 1] = 0;
    if (h) snprintf(buf, cap, "%s%" PRIu64 "h%" PRIu64 "m%ss", sign, h, m, sec);
    else if (m) snprintf(buf, cap, "%s%" PRIu64 "m%ss", sign, m, sec);
    else snprintf(buf, cap, "%s%ss", sign, sec);
}

bool cli_parse_bool(const char *s, bool *out)
{
    static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < 6; i++) {
        if (!strcmp(s, t[i])) return *out = true, true;
        if (!strcmp(s, f[i])) return *out = false, true;
    }
    return false;
}

/* ---- values ------------------------------------------------------------------------------------- */
static bool is_int_type(cli_type t)
{
    return t == CLI_I64 || t == CLI_U64 || t == CLI_INT || t == CLI_UINT || t == CLI_LONG;
}

/* range: the option's inclusive integer range (its own, or the whole range of its type) */
static void range(const cli_opt *o, int64_t *lo, uint64_t *hi)
{
    if (o->min || o->max) {
        *lo = o->min;
        *hi = o->max;
        return;
    }
    switch (o->type) {
    case CLI_U64: *lo = 0, *hi = UINT64_MAX; break;
    case CLI_UINT: *lo = 0, *hi = UINT32_MAX; break;
    case CLI_INT: *lo = INT32_MIN, *hi = INT32_MAX; break;
    case CLI_DUR: *lo = 0, *hi = INT64_MAX; break;
    default: *lo = INT64_MIN, *hi = INT64_MAX; break;
    }
}

/* expected: what the option accepts, as the end of an error message ("an integer from 1 to 10") */
static void expected(const cli_opt *o, char *buf, size_t cap)
{
    int64_t lo;
    uint64_t hi;
    range(o, &lo, &hi);
    char a[32], b[32];
    switch (o->type) {
    case CLI_BOOL: snprintf(buf, cap, "true or false"); break;
    case CLI_ENUM: snprintf(buf, cap, "one of %s", o->choices); break;
    case CLI_NUM:
        if (o->fmin || o->fmax) snprintf(buf, cap, "a number from %g to %g", o->fmin, o->fmax);
        else snprintf(buf, cap, "a number");
        break;
    case CLI_DUR:
        cli_format_duration(lo, a, sizeof a);
        if (hi >= (uint64_t)INT64_MAX) snprintf(buf, cap, "a duration of at least %s (Go syntax: 30s, 1m30s, 250ms)", a);
        else {
            cli_format_duration((int64_t)hi, b, sizeof b);
            snprintf(buf, cap, "a duration from %s to %s (Go syntax: 30s, 1m30s, 250ms)", a, b);
        }
        break;
    default:
        snprintf(buf, cap, "an integer from %" PRId64 " to %" PRIu64, lo, hi);
        break;
    }
}

/* parse_int: strict decimal (optional '-' only where the range allows negatives), within the range */
static bool parse_int(const cli_opt *o, const char *s, int64_t *sv, uint64_t *uv)
{
    int64_t lo;
    uint64_t hi;
    range(o, &lo, &hi);
    const char *p = s;
    bool neg = *p == '-';
    if (neg) p++;
    if (!*p) return false;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q)) return false;
    errno = 0;
    unsigned long long mag = strtoull(p, NULL, 10);
    if (errno) return false;
    if (neg) {
        if (lo >= 0 || mag > (unsigned long long)INT64_MAX + 1) return false;
        int64_t v = mag == (unsigned long long)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
        if (v < lo) return false;
        *sv = v;
        *uv = 0;
        return true;
    }
    if (mag > hi || (lo > 0 && mag < (uint64_t)lo)) return false;
    *uv = mag;
    *sv = mag > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)mag;
    return true;
}

static bool in_choices(const char *choices, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, v, n)) return true;
        if (!bar) break;
        p = bar + 1;
    }
    return false;
}

/* set: parse V into O's dst; false when V is not acceptable */
static bool set(const cli_opt *o, const char *v)
{
    int64_t sv;
    uint64_t uv;
    switch (o->type) {
    case CLI_STR: *(const char **)o->dst = v; return true;
    case CLI_ENUM:
        if (!in_choices(o->choices, v)) return false;
        *(const char **)o->dst = v;
        return true;
    case CLI_BOOL: return cli_parse_bool(v, (bool *)o->dst);
    case CLI_NUM: {
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        if (!*v || *end || errno || !isfinite(d) || isspace((unsigned char)*v)) return false;
        if ((o->fmin || o->fmax) && (d < o->fmin || d > o->fmax)) return false;
        *(double *)o->dst = d;
        return true;
    }
    case CLI_DUR: {
        int64_t lo, ms;
        uint64_t hi;
        range(o, &lo, &hi);
        if (!cli_parse_duration(v, &ms) || ms < lo || (ms >= 0 && (uint64_t)ms > hi)) return false;
        *(int64_t *)o->dst = ms;
        return true;
    }
    default: break;
    }
    if (!parse_int(o, v, &sv, &uv)) return false;
    switch (o->type) {
    case CLI_I64: *(int64_t *)o->dst = sv; break;
    case CLI_U64: *(uint64_t *)o->dst = uv; break;
    case CLI_INT: *(int *)o->dst = (int)sv; break;
    case CLI_UINT: *(unsigned *)o->dst = (unsigned)uv; break;
    case CLI_LONG: *(long *)o->dst = (long)sv; break;
    default: break;
    }
    return true;
}

/* show: O's current value as the help's default ("" when there is none to show) */
static void show(const cli_opt *o, char *buf, size_t cap)
{
    buf[0] = 0;
    if (!o->dst) return;
    switch (o->type) {
    case CLI_STR:
    case CLI_ENUM: {
        const char *s = *(const char *const *)o->dst;
        if (s && *s) snprintf(buf, cap, "%s", s);
        break;
    }
    case CLI_BOOL: snprintf(buf, cap, "%s", *(bool *)o->dst ? "true" : "false"); break;
    case CLI_I64: snprintf(buf, cap, "%" PRId64, *(int64_t *)o->dst); break;
    case CLI_U64: snprintf(buf, cap, "%" PRIu64, *(uint64_t *)o->dst); break;
    case CLI_INT: snprintf(buf, cap, "%d", *(int *)o->dst); break;
    case CLI_UINT: snprintf(buf, cap, "%u", *(unsigned *)o->dst); break;
    case CLI_LONG: snprintf(buf, cap, "%ld", *(long *)o->dst); break;
    case CLI_NUM: snprintf(buf, cap, "%g", *(double *)o->dst); break;
    case CLI_DUR: cli_format_duration(*(int64_t *)o->dst, buf, cap); break;
    }
}

static const char *metavar(const cli_opt *o)
{
    if (o->arg) return o->arg;
    switch (o->type) {
    case CLI_BOOL: return "BOOL";
    case CLI_DUR: return "DURATION";
    case CLI_ENUM: return o->choices;
    case CLI_STR: return "S";
    default: return "N";
    }
}

/* ---- help --------------------------------------------------------------------------------------- */
void cli_usage(const cli_cmd *c, FILE *f)
{
    const char *syn = c->synopsis ? c->synopsis : "[options]";
    fprintf(f, "usage: %s%s%s\n", c->prog, *syn ? " " : "", syn);
    if (c->about) fprintf(f, "\n%s\n", c->about);
    fprintf(f, "\noptions:\n");
    for (size_t i = 0; i < c->nopts; i++) {
        const cli_opt *o = &c->opts[i];
        char left[96], def[160], rng[96] = "", extra[320];
        if (o->type == CLI_BOOL)
            snprintf(left, sizeof left, "%s%c%s--%s[=BOOL]", o->short_name ? "-" : "", o->short_name ? o->short_name : ' ',
                     o->short_name ? ", " : "", o->name);
        else
            snprintf(left, sizeof left, "%s%c%s--%s=%s", o->short_name ? "-" : "", o->short_name ? o->short_name : ' ',
                     o->short_name ? ", " : "", o->name, metavar(o));
        if (!o->short_name) memmove(left, left + 1, strlen(left)); /* no short name: no leading blank */
        show(o, def, sizeof def);
        if (is_int_type(o->type) && (o->min || o->max))
            snprintf(rng, sizeof rng, "%" PRId64 "..%" PRIu64, o->min, o->max);
        else if (o->type == CLI_NUM && (o->fmin || o->fmax))
            snprintf(rng, sizeof rng, "%g..%g", o->fmin, o->fmax);
        else if (o->type == CLI_DUR && o->max && o->max < (uint64_t)INT64_MAX) {
            char a[32], b[32];
            cli_format_duration(o->min, a, sizeof a);
            cli_format_duration((int64_t)o->max, b, sizeof b);
            snprintf(rng, sizeof rng, "%s..%s", a, b);
        } else if (o->type == CLI_DUR && o->min > 0)
            snprintf(rng, sizeof rng, "> 0");
        snprintf(extra, sizeof extra, "%s%s%s%s%s%s%s%s", *rng ? rng : "", *rng && *def ? "; " : "",
                 *def ? "default " : "", def, (*rng || *def) && o->env ? "; " : "", o->env ? "env " : "",
                 o->env ? o->env : "", "");
        if (strlen(left) > 34) fprintf(f, "  %s\n  %-34s", left, ""); /* a long name: its help on the next line */
        else fprintf(f, "  %-34s", left);
        fprintf(f, " %s%s%s%s\n", o->help ? o->help : "", *extra ? " (" : "", extra, *extra ? ")" : "");
    }
    fprintf(f, "  %-34s %s\n", "-h, --help", "this help");
    if (c->footer) fprintf(f, "\n%s\n", c->footer);
}

static int usage_exit(const cli_cmd *c)
{
    return c->usage_exit ? c->usage_exit : 2;
}

static int verror(const cli_cmd *c, FILE *err, const char *fmt, va_list ap)
{
    fprintf(err, "%s: ", c->prog);
    vfprintf(err, fmt, ap);
    fprintf(err, "\nRun '%s --help' for usage.\n", c->prog);
    return usage_exit(c);
}

static int error_to(const cli_cmd *c, FILE *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int error_to(const cli_cmd *c, FILE *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = verror(c, err, fmt, ap);
    va_end(ap);
    return rc;
}

int cli_usage_error(const cli_cmd *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = verror(c, stderr, fmt, ap);
    va_end(ap);
    return rc;
}

/* ---- parsing ------------------------------------------------------------------------------------ */
#define CLI_MAX_OPTS 64

int cli_parse_to(const cli_cmd *c, int argc, char **argv, int *first, FILE *out, FILE *err)
{
    out = out ? out : stdout;
    err = err ? err : stderr;
    if (c->nopts > CLI_MAX_OPTS) return error_to(c, err, "internal error: more than %d options", CLI_MAX_OPTS);
    /* help first, so that it shows the defaults, whatever else the command line says */
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            cli_usage(c, out);
            return 0;
        }
    char ebuf[240];
    for (size_t i = 0; i < c->nopts; i++) {
        const cli_opt *o = &c->opts[i];
        const char *v = o->env ? getenv(o->env) : NULL;
        if (!v) continue;
        if (!set(o, v)) {
            expected(o, ebuf, sizeof ebuf);
            return error_to(c, err, "invalid value \"%s\" in $%s (for --%s): %s is expected", v, o->env, o->name, ebuf);
        }
        if (o->given) *o->given = true;
    }
    struct option lo[CLI_MAX_OPTS + 2];
    char shorts[2 * CLI_MAX_OPTS + 8] = ":h";
    size_t ns = 2;
    for (size_t i = 0; i < c->nopts; i++) {
        const cli_opt *o = &c->opts[i];
        lo[i] = (struct option){o->name, o->type == CLI_BOOL ? optional_argument : required_argument, NULL, 256 + (int)i};
        if (o->short_name) {
            shorts[ns++] = o->short_name;
            if (o->type != CLI_BOOL) shorts[ns++] = ':';
        }
    }
    shorts[ns] = 0;
    lo[c->nopts] = (struct option){"help", no_argument, NULL, 'h'};
    lo[c->nopts + 1] = (struct option){0, 0, 0, 0};
    optind = 0; /* GNU: full re-initialisation, so a process may parse more than once (tests) */
    opterr = 0;
    for (;;) {
        int idx = -1;
        int ch = getopt_long(argc, argv, shorts, lo, &idx);
        if (ch == -1) break;
        /* the token the option came from (getopt_long has not moved it yet) */
        const char *tok = optarg && optind >= 2 && argv[optind - 1] == optarg && optarg != argv[optind - 1] + 2
                              ? argv[optind - 2]
                              : argv[optind - 1];
        if (ch == '?') {
            if (optopt && optopt < 256) return error_to(c, err, "unknown option '-%c'", optopt);
            return error_to(c, err, "unknown option '%s'", tok);
        }
        if (ch == ':') {
            const cli_opt *o = optopt >= 256 ? &c->opts[optopt - 256] : NULL;
            if (o) return error_to(c, err, "--%s needs a value (%s)", o->name, metavar(o));
            return error_to(c, err, "-%c needs a value", optopt);
        }
        if (ch == 'h') /* -h and --help were handled above: this is an abbreviation */
            return error_to(c, err, "unknown option '%s' (did you mean --help?)", tok);
        const cli_opt *o = NULL;
        if (ch >= 256) o = &c->opts[ch - 256];
        else
            for (size_t i = 0; i < c->nopts && !o; i++)
                if (c->opts[i].short_name == ch) o = &c->opts[i];
        if (!o) return error_to(c, err, "unknown option '%s'", tok);
        if (ch >= 256 && !strncmp(tok, "--", 2)) { /* no abbreviations: --seed is not --seeds */
            size_t n = strcspn(tok + 2, "=");
            if (n != strlen(o->name) || strncmp(tok + 2, o->name, n))
                return error_to(c, err, "unknown option '%.*s' (did you mean --%s?)", (int)(n + 2), tok, o->name);
        }
        const char *v = optarg ? optarg : o->type == CLI_BOOL ? "true" : NULL;
        if (!v) return error_to(c, err, "--%s needs a value", o->name);
        if (!set(o, v)) {
            expected(o, ebuf, sizeof ebuf);
            return error_to(c, err, "invalid value \"%s\" for --%s: %s is expected", v, o->name, ebuf);
        }
        if (o->given) *o->given = true;
    }
    int npos = argc - optind;
    if (npos < c->min_args)
        return error_to(c, err, "%s", c->min_args == 1 && c->max_args == 1 ? "one argument is needed" : "arguments are missing");
    if (c->max_args >= 0 && npos > c->max_args) return error_to(c, err, "unexpected argument '%s'", argv[optind + c->max_args]);
    *first = optind;
    return CLI_CONTINUE;
}

int cli_parse(const cli_cmd *c, int argc, char **argv, int *first)
{
    return cli_parse_to(c, argc, argv, first, NULL, NULL);
}

/* ---- subcommands -------------------------------------------------------------------------------- */
void cli_group_usage(const cli_group *g, FILE *f)
{
    fprintf(f, "usage: %s <command> [options]\n", g->prog);
    if (g->about) fprintf(f, "\n%s\n", g->about);
    fprintf(f, "\ncommands:\n");
    for (size_t i = 0; i < g->nsubs; i++) {
        char left[96];
        snprintf(left, sizeof left, "%s%s%s", g->subs[i].name, g->subs[i].args ? " " : "",
                 g->subs[i].args ? g->subs[i].args : "");
        fprintf(f, "  %-30s %s\n", left, g->subs[i].summary);
    }
    fprintf(f, "  %-30s %s\n", "help [COMMAND]", "this help, or a command's");
    fprintf(f, "\nRun '%s <command> --help' (or '%s help <command>') for a command's options.\n", g->prog, g->prog);
    if (g->footer) fprintf(f, "%s\n", g->footer);
}

static const cli_sub *find_sub(const cli_group *g, const char *name)
{
    for (size_t i = 0; i < g->nsubs; i++)
        if (!strcmp(g->subs[i].name, name)) return &g->subs[i];
    return NULL;
}

int cli_dispatch(const cli_group *g, int argc, char **argv)
{
    int bad = g->usage_exit ? g->usage_exit : 2;
    if (argc < 2) {
        cli_group_usage(g, stderr);
        return bad;
    }
    const char *a = argv[1];
    if (!strcmp(a, "help") || !strcmp(a, "--help") || !strcmp(a, "-h")) {
        if (!strcmp(a, "help") && argc > 2) {
            const cli_sub *s = find_sub(g, argv[2]);
            if (!s) {
                fprintf(stderr, "%s: unknown command '%s'\nRun '%s help' for the commands.\n", g->prog, argv[2], g->prog);
                return bad;
            }
            char *hv[] = {argv[2], "--help", NULL};
            return s->run(2, hv);
        }
        cli_group_usage(g, stdout);
        return 0;
    }
    const cli_sub *s = find_sub(g, a);
    if (!s) {
        fprintf(stderr, "%s: unknown command '%s'\nRun '%s help' for the commands.\n", g->prog, a, g->prog);
        return bad;
    }
    return s->run(argc - 1, argv + 1);
}
