/* names.c: names, label values, MinIO paths, runtime tables, cron conversion, quantities (see names.h). */
#include "domain/names.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

t0_status names_pod(const char *id, char *buf, size_t cap, t0_err *err)
{
    int n = snprintf(buf, cap, "bot-%s", id);
    if (n < 0 || (size_t)n >= cap) return t0_fail(err, T0_ELIMIT, "is longer than %zu bytes", cap - 1);
    return T0_OK;
}

void names_cronjob(const char *id, char out[NAMES_CRONJOB_MAX + 1])
{
    snprintf(out, NAMES_CRONJOB_MAX + 1, "schedule-%s", id);
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '-') out[--n] = '\0';
}

static int is_alnum(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

void names_sanitize_label_value(const char *in, char out[NAMES_LABEL_MAX + 1])
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && n < NAMES_LABEL_MAX; p++)
        if (is_alnum(*p) || *p == '-' || *p == '_' || *p == '.') out[n++] = (char)*p;
    out[n] = '\0';
    size_t s = 0;
    while (s < n && !is_alnum((unsigned char)out[s])) s++;
    while (n > s && !is_alnum((unsigned char)out[n - 1])) n--;
    memmove(out, out + s, n - s);
    out[n - s] = '\0';
    if (!out[0]) strcpy(out, "bot");
}

void names_sanitize_subdomain(const char *in, size_t max, char *out, size_t cap)
{
    if (max >= cap) max = cap - 1;
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && n < max; p++) {
        unsigned char c = *p;
        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c - 'A' + 'a');
        out[n++] = (char)((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ? c : '-');
    }
    /* each dot-separated part starts and ends with an alphanumeric */
    for (size_t i = 0; i < n; i++)
        if (out[i] == '.' && (!i || !is_alnum((unsigned char)out[i - 1]) || i + 1 == n ||
                              !is_alnum((unsigned char)out[i + 1])))
            out[i] = '-';
    size_t s = 0;
    while (s < n && !is_alnum((unsigned char)out[s])) s++;
    while (n > s && !is_alnum((unsigned char)out[n - 1])) n--;
    memmove(out, out + s, n - s);
    out[n - s] = '\0';
    if (!out[0]) snprintf(out, cap, "x");
}

void names_custom_bot_id(const char *name, const char *id, char out[NAMES_LABEL_MAX + 1])
{
    char prefix[9];
    snprintf(prefix, sizeof prefix, "%.8s", id);
    names_sanitize_label_value(name && *name ? name : prefix, out);
}

t0_status names_validate_minio_path(const char *s, t0_err *err)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if (is_alnum(c) || c == '/' || c == '-' || c == '_' || c == '.') continue;
        char ch[5] = {0};
        size_t need = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3 : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
        size_t i = 1;
        for (; i < need && p[i] >= 0x80 && p[i] <= 0xBF; i++) {}
        if (need && i == need)
            memcpy(ch, p, need);
        else
            memcpy(ch, "\xef\xbf\xbd", 3);
        return t0_fail(err, T0_EINVAL, "invalid character '%s' in MinIO path", ch);
    }
    /* Ours (issue 14): a key stays inside its prefix. S3 keys are flat strings, but the path is sent in a
     * URL, where "." and ".." segments are resolved by HTTP stacks and proxies, and the daemon builds keys
     * from the bot id. Empty segments ("u1//1.0.0", the file path of a bot with an empty name) stay in
     * their prefix and are allowed (the scenario corpus has such a bot). */
    if (!*s) return T0_OK;
    if (s[0] == '/') return t0_fail(err, T0_EINVAL, "leading '/' in MinIO path \"%s\"", s);
    for (const char *p = s;;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return t0_fail(err, T0_EINVAL, "'%.*s' segment in MinIO path \"%s\"", (int)n, p, s);
        if (!e) break;
        p = e + 1;
    }
    return T0_OK;
}

t0_status names_convert_cron(const char *expr, char *buf, size_t cap, t0_err *err)
{
    const char *f[7];
    size_t fl[7];
    int n = 0;
    for (const char *p = expr; *p;) {
        while (*p && isspace((unsigned char)*p)) p++;
        if (!*p) break;
        const char *s = p;
        while (*p && !isspace((unsigned char)*p)) p++;
        if (n < 7) {
            f[n] = s;
            fl[n] = (size_t)(p - s);
        }
        n++;
    }
    int w;
    if (n == 6)
        w = snprintf(buf, cap, "%.*s %.*s %.*s %.*s %.*s", (int)fl[1], f[1], (int)fl[2], f[2], (int)fl[3], f[3],
                     (int)fl[4], f[4], (int)fl[5], f[5]);
    else
        w = snprintf(buf, cap, "%s", expr);
    if (w < 0 || (size_t)w >= cap) return t0_fail(err, T0_ELIMIT, "cron expression too long (%zu bytes)", strlen(expr));
    return T0_OK;
}

const char *names_default_entrypoint(const char *runtime)
{
    if (!strcmp(runtime, "python3.11")) return "main.py";
    if (!strcmp(runtime, "nodejs20")) return "index.js";
    return "main";
}

static const struct {
    const char *runtime, *image;
} runtime_images[] = {
    {"python3.11", "the0/python311:latest"}, {"nodejs20", "the0/nodejs20:latest"},
    {"rust-stable", "the0/rust-stable:latest"}, {"dotnet8", "the0/dotnet8:latest"},
    {"gcc13", "the0/gcc13:latest"},           {"cpp-gcc13", "the0/gcc13:latest"},
    {"scala3", "the0/scala3:latest"},         {"ghc96", "the0/ghc96:latest"},
};

const char *names_runtime_image(const char *runtime)
{
    for (size_t i = 0; i < T0_ARRAY_LEN(runtime_images); i++)
        if (!strcmp(runtime, runtime_images[i].runtime)) return runtime_images[i].image;
    return NULL;
}

const char *names_shell_for_image(const char *image) { return strstr(image, "alpine") ? "/bin/sh" : "/bin/bash"; }

bool names_check_label_value(const char *s, t0_err *err)
{
    size_t n = strlen(s);
    if (n > NAMES_LABEL_MAX) {
        t0_fail(err, T0_EINVAL, "must be at most 63 characters (has %zu)", n);
        return false;
    }
    if (n == 0) return true;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(is_alnum(c) || c == '-' || c == '_' || c == '.')) {
            t0_fail(err, T0_EINVAL, "must consist of letters, digits, '-', '_' or '.' (has byte 0x%02x at %zu)", c, i);
            return false;
        }
    }
    if (!is_alnum((unsigned char)s[0]) || !is_alnum((unsigned char)s[n - 1])) {
        t0_fail(err, T0_EINVAL, "must start and end with a letter or digit");
        return false;
    }
    return true;
}

static int is_lower_alnum(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool names_check_subdomain(const char *s, size_t max, t0_err *err)
{
    size_t n = strlen(s);
    if (n == 0 || n > max) {
        t0_fail(err, T0_EINVAL, "must be 1 to %zu characters (has %zu)", max, n);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(is_lower_alnum(c) || c == '-' || c == '.')) {
            t0_fail(err, T0_EINVAL,
                    "must be a DNS-1123 subdomain: lowercase letters, digits, '-' or '.' (has byte 0x%02x at %zu)", c, i);
            return false;
        }
        /* every dot-separated label starts and ends with an alphanumeric */
        int at_start = i == 0 || s[i - 1] == '.';
        int at_end = i + 1 == n || s[i + 1] == '.';
        if ((at_start || at_end) && !is_lower_alnum(c)) {
            t0_fail(err, T0_EINVAL, "must be a DNS-1123 subdomain: each part must start and end with a lowercase letter or digit");
            return false;
        }
    }
    return true;
}

bool names_quantity_parse(const char *s, double *value)
{
    const char *p = s;
    int neg = 0;
    if (*p == '+' || *p == '-') neg = *p++ == '-';
    const char *ds = p;
    size_t nint = 0, nfrac = 0;
    while (isdigit((unsigned char)*p)) p++, nint++;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) p++, nfrac++;
    }
    if (nint + nfrac == 0) return false;
    char num[128];
    size_t dl = (size_t)(p - ds);
    if (dl >= sizeof num) return false;
    memcpy(num, ds, dl);
    num[dl] = '\0';
    double mult = 1;
    static const struct {
        const char *suf;
        double mult;
    } sufs[] = {
        {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
        {"Pi", 1125899906842624.0}, {"Ei", 1152921504606846976.0},
        {"n", 1e-9}, {"u", 1e-6}, {"m", 1e-3}, {"", 1}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12},
        {"P", 1e15}, {"E", 1e18},
    };
    int found = 0;
    for (size_t i = 0; i < T0_ARRAY_LEN(sufs); i++)
        if (!strcmp(p, sufs[i].suf)) {
            mult = sufs[i].mult;
            found = 1;
            break;
        }
    if (!found) {
        /* decimal exponent: e|E followed by an optionally signed integer */
        if (*p != 'e' && *p != 'E') return false;
        const char *q = p + 1;
        if (*q == '+' || *q == '-') q++;
        if (!isdigit((unsigned char)*q)) return false;
        while (isdigit((unsigned char)*q)) q++;
        if (*q) return false;
        mult = pow(10.0, atof(p + 1));
    }
    if (value) *value = (neg ? -1 : 1) * strtod(num, NULL) * mult;
    return true;
}
