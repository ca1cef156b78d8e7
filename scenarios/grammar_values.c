/* grammar_values.c: the scenario language's values: on/off, call ranges, HTTP statuses, and the typed
 * KEY=VALUE words of the grammar's key specs ("name:type ..."). */
#include "scenarios/grammar_impl.h"

#include <ctype.h>
#include <stdlib.h>

#include "core/t0.h"

/* ---- values --------------------------------------------------------------------------------------- */
bool scn_parse_bool(const char *v, bool *out)
{
    if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1")) return *out = true, true;
    if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0")) return *out = false, true;
    return false;
}

bool scn_parse_range(const char *v, uint64_t *a, uint64_t *b)
{
    char *end;
    unsigned long long x = strtoull(v, &end, 10);
    if (end == v) return false;
    unsigned long long y = x;
    if (!strncmp(end, "..", 2)) {
        char *e2;
        y = strtoull(end + 2, &e2, 10);
        if (e2 == end + 2 || *e2) return false;
    } else if (*end) return false;
    if (x == 0 || y < x) return false;
    *a = x;
    *b = y;
    return true;
}

int scn_http_to_status(int code)
{
    switch (code) {
    case 404: return T0_ENOTFOUND;
    case 409: return T0_ECONFLICT;
    case 410: return T0_EGONE;
    case 422: return T0_EINVALID;
    case 429: return T0_ETOOMANY;
    case 403: case 401: return T0_EFORBIDDEN;
    case 503: return T0_EUNAVAILABLE;
    case 504: return T0_ETIMEOUT;
    default: return code >= 500 && code < 600 ? T0_EINTERNAL : -1;
    }
}

/* The type of KEY (KLEN bytes) in KEYS ("name:type ..."): its type char, or 0 when not allowed. */
static char key_type(const char *keys, const char *key, size_t klen)
{
    for (const char *p = keys; p && *p;) {
        const char *sp = strchr(p, ' ');
        size_t l = sp ? (size_t)(sp - p) : strlen(p);
        const char *colon = memchr(p, ':', l);
        size_t nl = colon ? (size_t)(colon - p) : l;
        char ty = colon ? colon[1] : 's';
        if (nl == 1 && p[0] == '*') return ty;
        if (nl >= 2 && p[nl - 1] == '*' && klen >= nl - 1 && !strncmp(p, key, nl - 1)) return ty;
        if (nl == klen && !strncmp(p, key, klen)) return ty;
        if (!sp) break;
        p = sp + 1;
    }
    return 0;
}

/* convert: KV's value as type TY; false when malformed. */
static bool convert(scn_pctx *p, char ty, scn_kv *kv)
{
    const char *v = kv->v;
    char *end;
    kv->ty = ty;
    switch (ty) {
    case 'd': return scn_parse_duration(v, &kv->ms);
    case 'u': kv->u = strtoull(v, &end, 10); return *v && isdigit((unsigned char)*v) && !*end;
    case 'i': kv->i = strtoll(v, &end, 10); return *v && !*end;
    case 'f': kv->f = strtod(v, &end); return *v && !*end && kv->f >= 0 && kv->f <= 1;
    case 'j': {
        cJSON *j = cJSON_Parse(v);
        if (!j) return false;
        if (!(kv->json = scn_arena_json(p->arena, j))) p->oom = true;
        return true;
    }
    case 'b': return scn_parse_bool(v, &kv->b);
    case 'r': return scn_parse_range(v, &kv->lo, &kv->hi);
    default: return true;
    }
}

static const char *type_name(char ty)
{
    switch (ty) {
    case 'd': return "a duration like 30s, 1m30s, 250ms";
    case 'u': return "a non-negative integer";
    case 'i': return "an integer";
    case 'f': return "a probability in [0,1]";
    case 'j': return "a JSON value";
    case 'b': return "on or off";
    case 'r': return "a call range k or k..m (1-based)";
    default: return "a value";
    }
}

void scn_kv_split(const scn_tok *t, scn_kv *kv)
{
    const char *eq = strchr(t->s, '=');
    *kv = (scn_kv){.tok = t, .key = t->s, .klen = (size_t)(eq - t->s), .v = eq + 1};
}

bool scn_kv_typed(scn_pctx *p, const char *verb, bool quote, const char *keys, scn_kv *kv)
{
    char ty = key_type(keys, kv->key, kv->klen);
    if (!ty) {
        const char *q = quote ? "'" : "";
        scn_perr(p, kv->tok->col, "%s%s%s does not take %.*s=", q, verb, q, (int)kv->klen, kv->key);
        return false;
    }
    if (!convert(p, ty, kv)) {
        scn_perr(p, kv->tok->col, "%.*s= needs %s, got '%s'", (int)kv->klen, kv->key, type_name(ty), kv->v);
        return false;
    }
    return true;
}

