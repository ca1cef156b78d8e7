/* gojson.c: Go encoding/json compatible encoder for cJSON values (see gojson.h). */
#include "domain/gojson.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct gbuf {
    char *p;
    size_t len, cap;
    int oom;
} gbuf;

/* gb_grow: make room for N more bytes and the final NUL; false (and oom set) when memory runs out. */
static bool gb_grow(gbuf *b, size_t n)
{
    if (b->oom) return false;
    size_t nc = b->cap ? b->cap : 1024;
    while (nc < b->len + n + 1) nc *= 2;
    char *np = realloc(b->p, nc);
    if (!np) {
        b->oom = 1;
        return false;
    }
    b->p = np;
    b->cap = nc;
    return true;
}

/* The buffer is NUL-terminated only at the end (gojson_encode_omit). */
static inline void gb_put(gbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap && !gb_grow(b, n)) return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static inline void gb_putc(gbuf *b, char c)
{
    if (b->len + 2 > b->cap && !gb_grow(b, 1)) return;
    b->p[b->len++] = c;
}

static void gb_puts(gbuf *b, const char *s) { gb_put(b, s, strlen(s)); }

/* Decode one rune the way Go's utf8.DecodeRuneInString does: any invalid or truncated sequence,
 * overlong form, surrogate or value above U+10FFFF yields size 1 and rune -1 (RuneError). */
static int32_t utf8_decode(const unsigned char *s, size_t n, size_t *size)
{
    unsigned char c = s[0];
    *size = 1;
    if (c < 0x80) return c;
    unsigned char lo = 0x80, hi = 0xBF;
    size_t need;
    int32_t r;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
        r = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        r = c & 0x0F;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        r = c & 0x07;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return -1;
    }
    if (n < need) return -1;
    if (s[1] < lo || s[1] > hi) return -1;
    r = (r << 6) | (s[1] & 0x3F);
    for (size_t i = 2; i < need; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF) return -1;
        r = (r << 6) | (s[i] & 0x3F);
    }
    *size = need;
    return r;
}

/* plain[c]: ASCII byte C goes out as itself (Go's htmlSafeSet); the other ASCII bytes are escaped, and bytes from
 * 0x80 on start a UTF-8 sequence that is checked */
static const bool plain[256] = {
    [' '] = 1, ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['\''] = 1, ['('] = 1, [')'] = 1, ['*'] = 1, ['+'] = 1,
    [','] = 1, ['-'] = 1, ['.'] = 1, ['/'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, [':'] = 1, [';'] = 1, ['='] = 1, ['?'] = 1, ['@'] = 1, ['A'] = 1,
    ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1,
    ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,
    ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['['] = 1, [']'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1,
    ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1,
    ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1, ['{'] = 1, ['|'] = 1, ['}'] = 1, ['~'] = 1,
    [0x7f] = 1,
};

/* Go's appendString with escapeHTML=true. */
static void put_string(gbuf *b, const char *str)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    size_t n = strlen((const char *)s);
    size_t i = 0, start = 0;
    gb_putc(b, '"');
    while (i < n) {
        unsigned char c = s[i];
        if (plain[c]) {
            i++;
            continue;
        }
        if (c < 0x80) {
            gb_put(b, (const char *)s + start, i - start);
            switch (c) {
            case '"': gb_put(b, "\\\"", 2); break;
            case '\\': gb_put(b, "\\\\", 2); break;
            case '\b': gb_put(b, "\\b", 2); break;
            case '\f': gb_put(b, "\\f", 2); break;
            case '\n': gb_put(b, "\\n", 2); break;
            case '\r': gb_put(b, "\\r", 2); break;
            case '\t': gb_put(b, "\\t", 2); break;
            default: {
                char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
                gb_put(b, e, 6);
            }
            }
            i++;
            start = i;
            continue;
        }
        size_t size;
        int32_t r = utf8_decode(s + i, n - i, &size);
        if (r < 0) {
            gb_put(b, (const char *)s + start, i - start);
            gb_put(b, "\\ufffd", 6);
            i += 1;
            start = i;
            continue;
        }
        if (r == 0x2028 || r == 0x2029) {
            gb_put(b, (const char *)s + start, i - start);
            gb_put(b, r == 0x2028 ? "\\u2028" : "\\u2029", 6);
            i += size;
            start = i;
            continue;
        }
        i += size;
    }
    gb_put(b, (const char *)s + start, n - start);
    gb_putc(b, '"');
}

t0_status gojson_format_float(double x, char *buf, size_t cap, t0_err *err)
{
    if (isnan(x) || isinf(x)) return t0_fail(err, T0_EINVAL, "json: unsupported value: %s", isnan(x) ? "NaN" : (x > 0 ? "+Inf" : "-Inf"));
    if (cap < 32) return t0_fail(err, T0_EINVAL, "gojson_format_float: buffer too small");
    if (x == 0) {
        snprintf(buf, cap, "%s", signbit(x) ? "-0" : "0");
        return T0_OK;
    }
    /* integers below 2^53 are exact and Go writes their decimal digits ('f' format): the common case,
     * without the shortest-digits search below */
    if (fabs(x) < 9007199254740992.0 && x == (double)(int64_t)x) {
        snprintf(buf, cap, "%lld", (long long)x);
        return T0_OK;
    }
    /* Shortest round-trip digits: the first precision whose correctly rounded form reads back exactly. */
    char tmp[64];
    for (int p = 0; p <= 16; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p, x);
        if (strtod(tmp, NULL) == x) break;
    }
    /* tmp is [-]d[.ddd]e[+-]XX: split into sign, digit string and decimal exponent. */
    char digits[32];
    size_t nd = 0;
    const char *q = tmp;
    int neg = 0;
    if (*q == '-') {
        neg = 1;
        q++;
    }
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9' && nd < sizeof digits - 1) digits[nd++] = *q;
    int exp10 = (*q == 'e') ? atoi(q + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    digits[nd] = '\0';

    double ax = fabs(x);
    char *o = buf;
    if (neg) *o++ = '-';
    if (ax < 1e-6 || ax >= 1e21) {
        /* Go 'e' format with -1 precision, then "e-09" cleaned to "e-9" (exponent has >= 2 digits in Go
         * and encoding/json drops the leading zero only for negative exponents). */
        *o++ = digits[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, nd - 1);
            o += nd - 1;
        }
        int ae = exp10 < 0 ? -exp10 : exp10;
        if (exp10 < 0 && ae < 10)
            o += sprintf(o, "e-%d", ae);
        else
            o += sprintf(o, "e%c%02d", exp10 < 0 ? '-' : '+', ae);
        *o = '\0';
        return T0_OK;
    }
    /* 'f' format: value = 0.digits * 10^(exp10+1). */
    int point = exp10 + 1; /* digits before the decimal point */
    if (point <= 0) {
        *o++ = '0';
        *o++ = '.';
        for (int k = 0; k < -point; k++) *o++ = '0';
        memcpy(o, digits, nd);
        o += nd;
    } else if ((size_t)point >= nd) {
        memcpy(o, digits, nd);
        o += nd;
        for (size_t k = nd; k < (size_t)point; k++) *o++ = '0';
    } else {
        memcpy(o, digits, (size_t)point);
        o += point;
        *o++ = '.';
        memcpy(o, digits + point, nd - (size_t)point);
        o += nd - (size_t)point;
    }
    *o = '\0';
    return T0_OK;
}

typedef struct kv {
    const char *key;
    const cJSON *item;
    size_t idx;
} kv;

static int kv_cmp(const void *a, const void *b)
{
    const kv *x = a, *y = b;
    int c = strcmp(x->key, y->key); /* strcmp compares as unsigned char: byte order */
    if (c) return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* kv_sort: by key, then position (stable); insertion sort for the small objects that are the rule. */
static void kv_sort(kv *a, size_t n)
{
    if (n > 24) {
        qsort(a, n, sizeof *a, kv_cmp);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        kv t = a[i];
        size_t j = i;
        while (j > 0 && kv_cmp(&a[j - 1], &t) > 0) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = t;
    }
}

/* enc: append V; the member OMIT (anywhere below V, or NULL) is written as if absent. */
static t0_status enc(gbuf *b, const cJSON *v, const cJSON *omit, int depth, t0_err *err)
{
    if (depth > 1000) return t0_fail(err, T0_ELIMIT, "json: nesting deeper than 1000 levels");
    if (!v) return t0_fail(err, T0_EINVAL, "json: NULL value");
    switch (v->type & 0xFF) {
    case cJSON_NULL: gb_puts(b, "null"); return T0_OK;
    case cJSON_True: gb_puts(b, "true"); return T0_OK;
    case cJSON_False: gb_puts(b, "false"); return T0_OK;
    case cJSON_Number: {
        char nb[64];
        t0_status st = gojson_format_float(v->valuedouble, nb, sizeof nb, err);
        if (st) return st;
        gb_puts(b, nb);
        return T0_OK;
    }
    case cJSON_String: put_string(b, v->valuestring); return T0_OK;
    case cJSON_Array: {
        gb_putc(b, '[');
        int first = 1;
        for (const cJSON *c = v->child; c; c = c->next) {
            if (!first) gb_putc(b, ',');
            first = 0;
            t0_status st = enc(b, c, omit, depth + 1, err);
            if (st) return st;
        }
        gb_putc(b, ']');
        return T0_OK;
    }
    case cJSON_Object: {
        size_t n = 0;
        for (const cJSON *c = v->child; c; c = c->next) n += c != omit;
        kv small[16];
        kv *arr = n <= 16 ? small : calloc(n, sizeof *arr);
        if (!arr) return t0_fail(err, T0_ENOMEM, "json: out of memory");
        size_t i = 0;
        for (const cJSON *c = v->child; c; c = c->next) {
            if (c == omit) continue;
            arr[i].key = c->string ? c->string : "";
            arr[i].item = c;
            arr[i].idx = i;
            i++;
        }
        kv_sort(arr, n);
        gb_putc(b, '{');
        int first = 1;
        for (i = 0; i < n; i++) {
            /* A Go map keeps the last of duplicate keys. */
            if (i + 1 < n && !strcmp(arr[i].key, arr[i + 1].key)) continue;
            if (!first) gb_putc(b, ',');
            first = 0;
            put_string(b, arr[i].key);
            gb_putc(b, ':');
            t0_status st = enc(b, arr[i].item, omit, depth + 1, err);
            if (st) {
                if (arr != small) free(arr);
                return st;
            }
        }
        gb_putc(b, '}');
        if (arr != small) free(arr);
        return T0_OK;
    }
    default:
        return t0_fail(err, T0_EINVAL, "json: unsupported cJSON item type %d", v->type & 0xFF);
    }
}

t0_status gojson_encode(const cJSON *v, char **out, size_t *len, t0_err *err)
{
    return gojson_encode_omit(v, NULL, out, len, err);
}

t0_status gojson_encode_omit(const cJSON *v, const cJSON *omit, char **out, size_t *len, t0_err *err)
{
    gbuf b = {0};
    t0_status st = enc(&b, v, omit, 0, err);
    if (!st && !b.p) gb_grow(&b, 0); /* cannot happen (every value writes something) but keep the contract */
    if (!st && b.oom) st = t0_fail(err, T0_ENOMEM, "json: out of memory");
    if (!st) b.p[b.len] = '\0'; /* every put left room for it */
    if (st) {
        free(b.p);
        return st;
    }
    *out = b.p;
    if (len) *len = b.len;
    return T0_OK;
}
