/* json.c: dotted-path reads of cJSON objects (see json.h). */
#include "core/json.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

const cJSON *t0_json_at(const cJSON *o, const char *path)
{
    const cJSON *cur = o;
    while (cur && path && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (!cJSON_IsObject(cur)) return NULL;
        const cJSON *c = cur->child;
        /* the first byte is compared inline: most members differ there, and a call per member costs more
         * than the comparison itself */
        while (c && !(c->string && c->string[0] == path[0] && !strncmp(c->string, path, n) && c->string[n] == '\0'))
            c = c->next;
        cur = c;
        path += n + (dot != NULL);
    }
    return cur;
}

cJSON *t0_json_get(const cJSON *o, const char *key)
{
    if (!o || !key) return NULL;
    for (cJSON *c = o->child; c; c = c->next)
        if (c->string && c->string[0] == key[0] && !strcmp(c->string, key)) return c;
    return NULL;
}

bool t0_json_equal(const cJSON *a, const cJSON *b)
{
    if (!a || !b || (a->type & 0xFF) != (b->type & 0xFF)) return false;
    switch (a->type & 0xFF) {
    case cJSON_False:
    case cJSON_True:
    case cJSON_NULL: return true;
    case cJSON_Number: { /* cJSON_Compare's tolerance */
        double x = a->valuedouble, y = b->valuedouble, m = fabs(x) > fabs(y) ? fabs(x) : fabs(y);
        return fabs(x - y) <= m * DBL_EPSILON;
    }
    case cJSON_String:
    case cJSON_Raw: return a->valuestring && b->valuestring && !strcmp(a->valuestring, b->valuestring);
    case cJSON_Array: {
        const cJSON *x = a->child, *y = b->child;
        for (; x && y; x = x->next, y = y->next)
            if (!t0_json_equal(x, y)) return false;
        return !x && !y;
    }
    case cJSON_Object: {
        /* members in the same order (how the fakes and controllers build them): one pass; otherwise by key */
        const cJSON *x = a->child, *y = b->child;
        for (; x && y; x = x->next, y = y->next) {
            if (!x->string || !y->string || strcmp(x->string, y->string)) return cJSON_Compare(a, b, 1);
            if (!t0_json_equal(x, y)) return false;
        }
        return !x && !y ? true : cJSON_Compare(a, b, 1);
    }
    default: return cJSON_Compare(a, b, 1);
    }
}

const char *t0_json_str(const cJSON *o, const char *path)
{
    const cJSON *v = t0_json_at(o, path);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

cJSON *t0_json_add_static(cJSON *o, const char *key, cJSON *item)
{
    if (!o || !item || !cJSON_AddItemToObjectCS(o, key, item)) {
        cJSON_Delete(item);
        return NULL;
    }
    return item;
}

/* ---- t0_json_text_drop: a scanner over JSON text that cuts members out before they are parsed ---- */
#define DROP_MAX_DEPTH 64 /* paths deeper than this are not followed (the text is still scanned) */
#define DROP_MAX_PATHS 16 /* paths past the 16th are ignored */

typedef struct drop_scan {
    const char *base, *p, *end;
    size_t (*cuts)[2]; /* [start, end) byte ranges to remove, in order */
    size_t ncuts, cap;
    bool bad;
} drop_scan;

static void ws(drop_scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t')) s->p++;
}

/* string_end: the closing quote of the string whose contents start at Q, or END when it has none: memchr
 * finds each quote (the contents are most of the bytes a scan sees), and a quote after an odd run of
 * backslashes is escaped */
static const char *string_end(const char *q, const char *end)
{
    for (const char *from = q;;) {
        const char *c = memchr(from, '"', (size_t)(end - from));
        if (!c) return end;
        const char *b = c;
        while (b > q && b[-1] == '\\') b--;
        if (!((c - b) & 1)) return c;
        from = c + 1;
    }
}

/* skip_key: past the key string starting at s->p (a quote); its contents (without quotes) in *K, *KN, with
 * *K NULL when it has an escape sequence (such a key matches no path) */
static void skip_key(drop_scan *s, const char **k, size_t *kn)
{
    const char *from = s->p + 1, *q = string_end(from, s->end);
    if (q == s->end) {
        s->bad = true;
        s->p = s->end;
        return;
    }
    *k = memchr(from, '\\', (size_t)(q - from)) ? NULL : from;
    *kn = (size_t)(q - from);
    s->p = q + 1;
}

/* the bytes skip_opaque stops at: 1 inside a container (quotes and brackets), 2 also after a scalar */
static const unsigned char opaque_stop[256] = {
    ['"'] = 1, ['{'] = 1, ['['] = 1, ['}'] = 1, [']'] = 1, [','] = 2, [' '] = 2, ['\n'] = 2, ['\r'] = 2, ['\t'] = 2,
};

/* skip_opaque: past the value at s->p, which no path enters: brackets are counted and strings skipped,
 * nothing else is checked (the value is parsed later, or cut out unread). A table and memchr keep it to
 * about an instruction per byte: a branch per character mispredicts on text. */
static void skip_opaque(drop_scan *s)
{
    const char *q = s->p, *end = s->end;
    if (*q == '"') {
        q = string_end(q + 1, end);
        s->bad |= q == end;
        s->p = q < end ? q + 1 : end;
        return;
    }
    if (*q != '{' && *q != '[') { /* a number, true, false or null (or text the parser will reject) */
        while (q < end && !opaque_stop[(unsigned char)*q]) q++;
        s->p = q;
        return;
    }
    long depth = 0;
    while (q < end) {
        while (q < end && opaque_stop[(unsigned char)*q] != 1) q++;
        if (q == end) break;
        char ch = *q++;
        if (ch == '"') {
            q = string_end(q, end);
            if (q == end) break;
            q++;
        } else if (ch == '{' || ch == '[') {
            depth++;
        } else if (--depth == 0) { /* } or ] */
            s->p = q;
            return;
        }
    }
    s->bad = true;
    s->p = end;
}

static void skip_value(drop_scan *s, const char *const *act, int depth);

/* step_match: whether step DEPTH of PATH is KEY (N bytes); *LAST: it is the path's last step */
static bool step_match(const char *path, int depth, const char *key, size_t n, bool *last)
{
    for (int d = 0; d < depth; d++) { /* past DEPTH dots */
        path = strchr(path, '.');
        if (!path) return false;
        path++;
    }
    const char *dot = strchr(path, '.');
    size_t sl = dot ? (size_t)(dot - path) : strlen(path);
    *last = !dot;
    return key ? sl == n && !memcmp(path, key, n) : sl == 1 && path[0] == '*';
}

/* sub_paths: of ACT (the paths still matching at DEPTH), those whose step DEPTH is KEY (NULL: "*") and
 * that go deeper, into OUT (at most the list's length); *CUT: one of them ends here */
static void sub_paths(const char *const *act, int depth, const char *key, size_t n, const char **out, bool *cut)
{
    size_t j = 0;
    *cut = false;
    for (size_t i = 0; act && act[i] && i < DROP_MAX_PATHS; i++) {
        bool last;
        if (!step_match(act[i], depth, key, n, &last)) continue;
        if (last)
            *cut = true;
        else
            out[j++] = act[i];
    }
    out[j] = NULL;
}

static void add_cut(drop_scan *s, size_t a, size_t b)
{
    if (s->ncuts == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        void *n = realloc(s->cuts, cap * sizeof *s->cuts);
        if (!n) {
            s->bad = true; /* out of memory: nothing is cut */
            return;
        }
        s->cuts = n;
        s->cap = cap;
    }
    s->cuts[s->ncuts][0] = a;
    s->cuts[s->ncuts][1] = b;
    s->ncuts++;
}

static void skip_object(drop_scan *s, const char *const *act, int depth)
{
    const char *base = s->base;
    s->p++; /* { */
    ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return;
    }
    const char *subv[DROP_MAX_PATHS + 1], **sub = act && depth < DROP_MAX_DEPTH ? subv : NULL;
    const char *prev_end = NULL; /* just past the previous member's value */
    while (!s->bad) {
        ws(s);
        const char *mstart = s->p;
        if (s->p >= s->end || *s->p != '"') {
            s->bad = true;
            break;
        }
        const char *k = NULL;
        size_t kn = 0;
        skip_key(s, &k, &kn);
        ws(s);
        if (s->p >= s->end || *s->p != ':') {
            s->bad = true;
            break;
        }
        s->p++;
        ws(s);
        bool cut = false;
        if (sub && k)
            sub_paths(act, depth, k, kn, sub, &cut);
        else if (sub)
            sub[0] = NULL; /* an escaped key matches no path */
        skip_value(s, cut || !sub || !sub[0] ? NULL : sub, depth + 1);
        const char *vend = s->p;
        ws(s);
        bool more = s->p < s->end && *s->p == ',';
        if (cut) {
            if (prev_end) /* from the comma after the previous member */
                add_cut(s, (size_t)(prev_end - base), (size_t)(vend - base));
            else /* the first member: through the comma after it */
                add_cut(s, (size_t)(mstart - base), (size_t)((more ? s->p + 1 : vend) - base));
        }
        if (!cut || prev_end) prev_end = vend;
        if (more) {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == '}') s->p++;
        else s->bad = true;
        break;
    }
}

static void skip_array(drop_scan *s, const char *const *act, int depth)
{
    s->p++; /* [ */
    ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return;
    }
    const char *subv[DROP_MAX_PATHS + 1], **sub = act && depth < DROP_MAX_DEPTH ? subv : NULL;
    bool cut = false;
    if (sub) sub_paths(act, depth, NULL, 0, sub, &cut); /* "*" steps; a path ending in "*" cuts nothing */
    while (!s->bad) {
        ws(s);
        skip_value(s, sub && sub[0] ? sub : NULL, depth + 1);
        ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == ']') s->p++;
        else s->bad = true;
        break;
    }
}

static void skip_value(drop_scan *s, const char *const *act, int depth)
{
    if (s->p >= s->end) {
        s->bad = true;
        return;
    }
    if (act && *s->p == '{')
        skip_object(s, act, depth);
    else if (act && *s->p == '[')
        skip_array(s, act, depth);
    else /* no path enters it, or a string or scalar: the same skip either way */
        skip_opaque(s);
}

size_t t0_json_text_drop(char *buf, size_t len, const char *const *paths)
{
    if (!buf || !paths || !paths[0]) return len;
    drop_scan s = {.base = buf, .p = buf, .end = buf + len};
    ws(&s);
    skip_value(&s, paths, 0);
    if (s.bad || !s.ncuts) {
        free(s.cuts);
        return len;
    }
    size_t w = s.cuts[0][0], r = s.cuts[0][1];
    for (size_t i = 1; i < s.ncuts; i++) {
        memmove(buf + w, buf + r, s.cuts[i][0] - r);
        w += s.cuts[i][0] - r;
        r = s.cuts[i][1];
    }
    memmove(buf + w, buf + r, len - r);
    w += len - r;
    if (w < len) buf[w] = '\0';
    free(s.cuts);
    return w;
}
