/* docval.c: UTF-8, id, nesting and JSON-text checks for payloads and documents (see docval.h). */
#include "domain/docval.h"

#include <stdio.h>
#include <string.h>

bool docval_utf8(const char *s, size_t len, size_t *bad_at)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        size_t n;
        unsigned lo = 0x80, hi = 0xBF; /* the range of the first continuation byte */
        if (c == 0) goto bad;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) n = 1;
        else if (c == 0xE0) n = 2, lo = 0xA0;            /* no overlong 3-byte forms */
        else if (c == 0xED) n = 2, hi = 0x9F;            /* no surrogates */
        else if (c >= 0xE1 && c <= 0xEF) n = 2;
        else if (c == 0xF0) n = 3, lo = 0x90;            /* no overlong 4-byte forms */
        else if (c == 0xF4) n = 3, hi = 0x8F;            /* nothing above U+10FFFF */
        else if (c >= 0xF1 && c <= 0xF3) n = 3;
        else goto bad;
        if (i + n >= len) goto bad; /* truncated sequence */
        if (p[i + 1] < lo || p[i + 1] > hi) goto bad;
        for (size_t k = 2; k <= n; k++)
            if (p[i + k] < 0x80 || p[i + k] > 0xBF) goto bad;
        i += n + 1;
    }
    return true;
bad:
    if (bad_at) *bad_at = i;
    return false;
}

const char *docval_quote(const char *s, size_t max, char *out, size_t cap)
{
    static const char hx[] = "0123456789abcdef";
    size_t o = 0, i = 0;
    if (!cap) return out;
    for (; s[i] && i < max && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hx[c >> 4];
            out[o++] = hx[c & 15];
        }
    }
    if (s[i] && o + 4 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o < cap ? o : cap - 1] = '\0';
    return out;
}

static bool id_char(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

t0_status docval_id(const char *id, t0_err *err)
{
    char q[400];
    size_t n = strlen(id);
    if (n == 0) return t0_fail(err, T0_EINVAL, "id is empty");
    if (n > DOCVAL_ID_MAX)
        return t0_fail(err, T0_EINVAL, "id \"%s\" has %zu bytes: at most %d (it names a pod and labels)",
                       docval_quote(id, 80, q, sizeof q), n, DOCVAL_ID_MAX);
    for (size_t i = 0; i < n; i++)
        if (!id_char((unsigned char)id[i]))
            return t0_fail(err, T0_EINVAL, "id \"%s\": byte %zu is not a lowercase letter, digit or '-'",
                           docval_quote(id, 80, q, sizeof q), i);
    if (id[0] == '-' || id[n - 1] == '-')
        return t0_fail(err, T0_EINVAL, "id \"%s\" must start and end with a lowercase letter or digit",
                       docval_quote(id, 80, q, sizeof q));
    return T0_OK;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

t0_status docval_json_text(const char *text, size_t len, t0_err *err)
{
    size_t bad;
    if (!docval_utf8(text, len, &bad))
        return t0_fail(err, T0_EINVAL, "payload is not UTF-8 without NUL bytes (bad byte 0x%02x at offset %zu)",
                       (unsigned char)text[bad], bad);
    /* In valid JSON every backslash is inside a string and starts an escape: \\ is one escape, so the
     * scan skips the escaped character and cannot mistake \\u0000 for a \u0000. */
    for (size_t i = 0; i + 1 < len; i++) {
        if (text[i] != '\\') continue;
        if (text[i + 1] == 'u' && i + 5 < len) {
            int v = 0;
            for (int k = 2; k < 6 && v >= 0; k++) {
                int h = hexval(text[i + k]);
                v = h < 0 ? -1 : v * 16 + h;
            }
            if (v == 0) return t0_fail(err, T0_EINVAL, "payload has a \\u0000 escape at offset %zu (a NUL in a string)", i);
        }
        i++;
    }
    return T0_OK;
}

static bool container(const cJSON *v) { return cJSON_IsObject(v) || cJSON_IsArray(v); }

int docval_depth(const cJSON *v)
{
    if (!container(v)) return 0;
    int best = 0;
    for (const cJSON *c = v->child; c; c = c->next) {
        int d = docval_depth(c);
        if (d > best) best = d;
    }
    return best + 1;
}

/* walk: check V, a member at DEPTH (the document is 1); PATH (CAP bytes) holds its path for messages, or is
 * NULL for the quick check, which builds no path and says nothing (the caller walks again with a path). */
static t0_status walk(const cJSON *v, int depth, char *path, size_t cap, t0_err *err)
{
    if (depth > DOCVAL_MAX_DEPTH && container(v))
        return path ? t0_fail(err, T0_EINVAL, "%s nests deeper than %d levels", path[0] ? path : "the document", DOCVAL_MAX_DEPTH)
                    : T0_EINVAL;
    if (cJSON_IsString(v) && v->valuestring && !docval_utf8(v->valuestring, strlen(v->valuestring), NULL))
        return path ? t0_fail(err, T0_EINVAL, "%s is not valid UTF-8", path[0] ? path : "the value") : T0_EINVAL;
    size_t base = path ? strlen(path) : 0;
    int idx = 0;
    for (const cJSON *c = v->child; c; c = c->next, idx++) {
        if (c->string && !docval_utf8(c->string, strlen(c->string), NULL)) {
            if (!path) return T0_EINVAL;
            char q[100];
            return t0_fail(err, T0_EINVAL, "%s has a key that is not valid UTF-8 (\"%s\")", path[0] ? path : "the document",
                           docval_quote(c->string, 40, q, sizeof q));
        }
        if (path && c->string)
            snprintf(path + base, cap - base, "%s%s", base ? "." : "", c->string);
        else if (path)
            snprintf(path + base, cap - base, "[%d]", idx);
        t0_status st = walk(c, depth + 1, path, cap, err);
        if (path) path[base] = '\0';
        if (st != T0_OK) return st;
    }
    return T0_OK;
}

t0_status docval_json(const cJSON *v, t0_err *err)
{
    if (!v || walk(v, 1, NULL, 0, NULL) == T0_OK) return T0_OK; /* the common case: no path built */
    char path[256] = "";
    return walk(v, 1, path, sizeof path, err);
}
