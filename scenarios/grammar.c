/* grammar.c: the scenario language's verbs: the table every statement is checked against, and per verb
 * the builder that yields its typed arguments (see docs/scenarios.md). Values are converted here, once:
 * the runner never parses a word. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/ports.h"
#include "fakes/payloads.h"
#include "fsm/tables.h"
#include "scenarios/check.h"
#include "scenarios/lang.h"

/* ---- values --------------------------------------------------------------------------------------- */
/* A KEY=VALUE word with its value converted to the key's type. */
typedef struct scn_kv {
    const scn_tok *tok;
    const char *key; /* not NUL-terminated: klen bytes */
    size_t klen;
    const char *v;   /* the value as written */
    char ty;
    bool b;
    uint64_t u, lo, hi;
    int64_t i, ms;
    double f;
    cJSON *json;     /* 'j': owned by the script's arena */
} scn_kv;

/* A statement's words after the verb: positional words and KEY=VALUE words, each in order. */
typedef struct scn_args {
    const scn_tok *w; /* all words, the verb's included */
    size_t n, first;  /* words; index of the first after the verb */
    const scn_tok **pos;
    size_t npos;
    scn_kv *kv;
    size_t nkv;
} scn_args;

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

static void kv_split(const scn_tok *t, scn_kv *kv)
{
    const char *eq = strchr(t->s, '=');
    *kv = (scn_kv){.tok = t, .key = t->s, .klen = (size_t)(eq - t->s), .v = eq + 1};
}

/* kv_typed: KV of key spec KEYS converted; reports and returns false when the key or value is wrong. VERB
 * names the statement in the message, in quotes when QUOTE ("'bot' does not take", "model does not take"). */
static bool kv_typed(scn_pctx *p, const char *verb, bool quote, const char *keys, scn_kv *kv)
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

static bool key_is(const scn_kv *kv, const char *key) { return kv->klen == strlen(key) && !strncmp(kv->key, key, kv->klen); }

/* The first KEY=VALUE word of KEY (as the language always read options given twice), or NULL. */
static const scn_kv *kv_first(const scn_args *a, const char *key)
{
    for (size_t i = 0; i < a->nkv; i++)
        if (key_is(&a->kv[i], key)) return &a->kv[i];
    return NULL;
}

static const char *pos(const scn_args *a, size_t k) { return k < a->npos ? a->pos[k]->s : NULL; }
static int pos_col(const scn_args *a, size_t k) { return k < a->npos ? a->pos[k]->col : a->w[0].col; }

/* ---- builders: options and definitions --------------------------------------------------------------- */
static const struct {
    const char *name;
    scn_opt_key key;
} opt_names[] = {
    {"manager", SCN_OPT_MANAGER}, {"nodes", SCN_OPT_NODES}, {"resync", SCN_OPT_RESYNC}, {"ns", SCN_OPT_NS},
    {"delete-allowance", SCN_OPT_DELETE_ALLOWANCE}, {"leader-election", SCN_OPT_LEADER_ELECTION},
    {"durable", SCN_OPT_DURABLE}, {"ack-wait", SCN_OPT_ACK_WAIT}, {"end", SCN_OPT_END}, {"latency", SCN_OPT_LATENCY},
    {"crashloop-escalate", SCN_OPT_CRASHLOOP_ESCALATE},
    {"init-escalate", SCN_OPT_INIT_ESCALATE}, {"requeue", SCN_OPT_REQUEUE}, {"lease", SCN_OPT_LEASE},
    {"max-deletes", SCN_OPT_MAX_DELETES}, {"nats", SCN_OPT_NATS},
};

static bool b_option(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    scn_option *o = scn_arena_alloc(p->arena, (a->nkv ? a->nkv : 1) * sizeof *o);
    if (!o) return p->oom = true, false;
    for (size_t i = 0; i < a->nkv; i++) {
        const scn_kv *kv = &a->kv[i];
        for (size_t k = 0; k < T0_ARRAY_LEN(opt_names); k++)
            if (key_is(kv, opt_names[k].name)) o[i].key = opt_names[k].key;
        o[i].b = kv->b, o[i].u = kv->u, o[i].ms = kv->ms;
        if (o[i].key == SCN_OPT_NS) o[i].s = scn_pstr(p, kv->v);
    }
    s->a.option.v = o;
    s->a.option.n = a->nkv;
    return true;
}

static bool b_end(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    if (scn_parse_duration(pos(a, 0), &s->a.end_ms)) return true;
    scn_perr(p, pos_col(a, 0), "end needs a duration, got '%s'", pos(a, 0));
    return false;
}

/* The definition changes among the KEY=VALUE words, in order. */
static bool mods(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    scn_mod *m = scn_arena_alloc(p->arena, (a->nkv ? a->nkv : 1) * sizeof *m);
    if (!m) return p->oom = true, false;
    static const struct {
        const char *name;
        scn_mod_key key;
    } strs[] = {{"runtime", SCN_MOD_RUNTIME}, {"entry", SCN_MOD_ENTRY}, {"version", SCN_MOD_VERSION},
                {"name", SCN_MOD_NAME},       {"path", SCN_MOD_PATH},   {"cron", SCN_MOD_CRON}};
    size_t n = 0;
    for (size_t i = 0; i < a->nkv; i++) {
        const scn_kv *kv = &a->kv[i];
        if (kv->klen > 7 && !strncmp(kv->key, "config.", 7)) {
            char key[128];
            snprintf(key, sizeof key, "%.*s", (int)(kv->klen - 7), kv->key + 7);
            cJSON *val = cJSON_Parse(kv->v);
            if (!val) val = cJSON_CreateString(kv->v);
            if (!(val = scn_arena_json(p->arena, val))) return p->oom = true, false;
            m[n++] = (scn_mod){.key = SCN_MOD_CONFIG_KEY, .config_key = scn_pstr(p, key), .json = val};
        } else if (key_is(kv, "config")) {
            m[n++] = (scn_mod){.key = SCN_MOD_CONFIG, .json = kv->json};
        } else {
            for (size_t k = 0; k < T0_ARRAY_LEN(strs); k++)
                if (key_is(kv, strs[k].name)) m[n++] = (scn_mod){.key = strs[k].key, .str = scn_pstr(p, kv->v)};
        }
    }
    s->a.def.mods = m;
    s->a.def.nmods = n;
    return true;
}

static bool b_define(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    s->a.def.id = scn_pstr(p, pos(a, 0));
    return mods(p, s, a);
}

static bool b_publish(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    const char *ev = pos(a, 0), *dot = strchr(ev, '.');
    int op = dot ? payload_op_parse(dot + 1) : -1;
    bool ok = true;
    if (op < 0 || (strncmp(ev, "bot.", 4) && strncmp(ev, "schedule.", 9))) {
        scn_perr(p, pos_col(a, 0), "publish what? bot.created|updated|deleted, schedule.created|updated|deleted or raw, "
                 "got '%s'", ev);
        ok = false;
    }
    for (size_t k = 2; k < a->npos; k++) {
        if (!strcmp(pos(a, k), "wrapped")) s->a.def.wrapped = true;
        else {
            scn_perr(p, pos_col(a, k), "unexpected '%s' (only 'wrapped' and KEY=VALUE may follow the id)", pos(a, k));
            ok = false;
        }
    }
    if (!ok) return false;
    s->a.def.id = scn_pstr(p, pos(a, 1));
    s->a.def.schedule = !strncmp(ev, "schedule.", 9);
    s->a.def.op = op;
    return mods(p, s, a);
}

static bool b_publish_raw(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    s->a.raw.subject = scn_pstr(p, pos(a, 0));
    s->a.raw.data = scn_pstr(p, pos(a, 1));
    return true;
}

static bool b_put_broken(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    if (pos(a, 1) && strcmp(pos(a, 1), "schedule")) {
        scn_perr(p, pos_col(a, 1), "store put-broken ID [schedule], got '%s'", pos(a, 1));
        return false;
    }
    s->a.broken.id = scn_pstr(p, pos(a, 0));
    s->a.broken.schedule = pos(a, 1) != NULL;
    return true;
}

/* The one object word of node, pod, cronjob, `create ... for` and `store del` verbs. */
static bool b_obj(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    s->a.obj.name = scn_pstr(p, pos(a, 0));
    const scn_kv *g = kv_first(a, "grace");
    s->a.obj.grace_s = !g ? -1 : g->u > INT64_MAX ? INT64_MAX : (int64_t)g->u;
    return true;
}

/* ---- builders: programs and faults --------------------------------------------------------------- */
static bool model_op(scn_pctx *p, scn_container c, const scn_kv *kv, scn_model_op *op)
{
    if (key_is(kv, "fail")) {
        *op = (scn_model_op){.kind = SCN_M_INIT_FAIL, .n = !strcmp(kv->v, "forever") ? -1 : atoi(kv->v)};
        return c == SCN_CONTAINER_INIT;
    }
    if (key_is(kv, "ms")) {
        *op = (scn_model_op){.kind = c == SCN_CONTAINER_INIT ? SCN_M_INIT_MS : SCN_M_PULL_MS, .ms = kv->ms};
        return c != SCN_CONTAINER_BOT;
    }
    if (c != SCN_CONTAINER_BOT) return false;
    static const struct {
        const char *key;
        scn_model_op_kind kind;
    } keys[] = {{"crash-every", SCN_M_CRASH_EVERY}, {"exit", SCN_M_EXIT}, {"after", SCN_M_AFTER},
                {"log-every", SCN_M_LOG_EVERY},     {"text", SCN_M_TEXT}, {"term", SCN_M_TERM},
                {"write-every", SCN_M_WRITE_EVERY}};
    for (size_t k = 0; k < T0_ARRAY_LEN(keys); k++)
        if (key_is(kv, keys[k].key)) {
            *op = (scn_model_op){.kind = keys[k].kind, .ms = kv->ms, .n = atoi(kv->v)};
            if (op->kind == SCN_M_TEXT) op->val = scn_pstr(p, kv->v);
            return true;
        }
    return false; /* at= (read by write-state) */
}

/* A size in bytes: 4096, 4k, 64Ki, 1M, 1Mi, 2G (k/M/G and Ki/Mi/Gi are powers of 1024 alike). */
static bool parse_size(const char *v, int64_t *out)
{
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (end == v) return false;
    int64_t mul = 1;
    if (*end == 'k' || *end == 'K') mul = 1024, end++;
    else if (*end == 'M') mul = 1024 * 1024, end++;
    else if (*end == 'G') mul = 1024 * 1024 * 1024, end++;
    if (*end == 'i' && mul > 1) end++;
    if (*end || n > (unsigned long long)(INT64_MAX / mul)) return false;
    *out = (int64_t)n * mul;
    return true;
}

/* model ID volume NAME=SIZE...: the capacity of the bot's pods' volumes; model ID code file=NAME...: files of
 * its code zip. */
static bool model_volume_code(scn_pctx *p, scn_container c, const scn_tok *t, scn_model_op *op)
{
    scn_kv kv;
    if (!scn_tok_is_kv(t)) {
        scn_perr(p, t->col, "%s needs KEY=VALUE words, got '%s'", c == SCN_CONTAINER_VOLUME ? "volume" : "code", t->s);
        return false;
    }
    kv_split(t, &kv);
    char key[128];
    snprintf(key, sizeof key, "%.*s", (int)kv.klen, kv.key);
    if (c == SCN_CONTAINER_CODE) {
        if (strcmp(key, "file") || !*kv.v) {
            scn_perr(p, t->col, "code takes file=NAME, got '%s'", t->s);
            return false;
        }
        *op = (scn_model_op){.kind = SCN_M_CODE_FILE, .val = scn_pstr(p, kv.v)};
        return true;
    }
    *op = (scn_model_op){.kind = SCN_M_VOLUME, .key = scn_pstr(p, key)};
    if (!parse_size(kv.v, &op->ms)) {
        scn_perr(p, t->col, "volume %s: a size like 4096, 4k, 1M or 0 (the default), got '%s'", key, kv.v);
        return false;
    }
    return true;
}

/* model ID bot|init|pull|volume|code WORD...: words meant for another container are accepted and ignored. */
static bool b_model(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    const scn_tok *w = a->w;
    size_t n = a->n;
    if (n < 3) {
        scn_perr(p, w[0].col, "model needs a bot id and a container: model ID bot|init|pull|volume|code ...");
        return false;
    }
    static const char *const containers[] = {"bot", "init", "pull", "volume", "code"};
    int c = -1;
    for (int i = 0; i < 5; i++)
        if (!strcmp(w[2].s, containers[i])) c = i;
    if (c < 0) {
        scn_perr(p, w[2].col, "unknown container '%s' (bot, init, pull, volume or code)", w[2].s);
        return false;
    }
    scn_model_op *ops = scn_arena_alloc(p->arena, n * sizeof *ops);
    if (!ops) return p->oom = true, false;
    size_t nops = 0;
    bool ok = true;
    for (size_t i = 3; i < n; i++) {
        const scn_tok *t = &w[i];
        scn_kv kv;
        if (c == SCN_CONTAINER_VOLUME || c == SCN_CONTAINER_CODE) {
            if (model_volume_code(p, (scn_container)c, t, &ops[nops])) nops++;
            else ok = false;
            continue;
        }
        if (!strcmp(t->s, "forever") || !strcmp(t->s, "ignore-sigterm") || !strcmp(t->s, "fail")) {
            scn_model_op_kind k = t->s[0] == 'i' ? SCN_M_IGNORE_SIGTERM
                                  : t->s[1] == 'o'  ? SCN_M_FOREVER
                                  : c == SCN_CONTAINER_INIT ? SCN_M_INIT_FAIL : SCN_M_PULL_FAIL;
            bool mine = (c == SCN_CONTAINER_BOT) == (k == SCN_M_IGNORE_SIGTERM || k == SCN_M_FOREVER);
            if (mine) ops[nops++] = (scn_model_op){.kind = k, .n = -1};
        } else if (!strcmp(t->s, "write-state")) {
            if (i + 1 >= n || !scn_tok_is_kv(&w[i + 1]) || !strncmp(w[i + 1].s, "at=", 3)) {
                scn_perr(p, t->col, "write-state needs KEY=VALUE next (then at=DURATION)");
                ok = false;
                continue;
            }
            kv_split(&w[++i], &kv);
            scn_model_op op = {.kind = SCN_M_WRITE_STATE, .val = scn_pstr(p, kv.v)};
            char key[256];
            snprintf(key, sizeof key, "%.*s", (int)kv.klen, kv.key);
            op.key = scn_pstr(p, key);
            for (size_t j = i + 1; j < n; j++) /* the first at= after it */
                if (scn_tok_is_kv(&w[j]) && !strncmp(w[j].s, "at=", 3)) {
                    if (!scn_parse_duration(w[j].s + 3, &op.ms)) op.ms = 0;
                    break;
                }
            if (c == SCN_CONTAINER_BOT) ops[nops++] = op;
        } else if (!scn_tok_is_kv(t)) {
            scn_perr(p, t->col, "unexpected '%s' in model", t->s);
            ok = false;
        } else {
            kv_split(t, &kv);
            if (key_is(&kv, "fail") && strcmp(kv.v, "forever") && !(*kv.v && isdigit((unsigned char)*kv.v) &&
                                                                     strspn(kv.v, "0123456789") == strlen(kv.v))) {
                scn_perr(p, t->col, "fail= needs a count or 'forever', got '%s'", kv.v);
                ok = false;
            } else if (!kv_typed(p, "model", false, "crash-every:d exit:i after:d at:d log-every:d text:s term:d fail:* ms:d write-every:d", &kv))
                ok = false;
            else if (model_op(p, (scn_container)c, &kv, &ops[nops])) nops++;
        }
    }
    s->a.model.id = scn_pstr(p, w[1].s);
    s->a.model.container = (scn_container)c;
    s->a.model.ops = ops;
    s->a.model.nops = nops;
    return ok;
}

/* scoped_point: POINT as the registry knows it: "M:POINT" when only manager M's API port sees it. */
static const char *scoped_point(scn_pctx *p, const char *point, const char *manager)
{
    if (!manager) return scn_pstr(p, point);
    char b[300];
    snprintf(b, sizeof b, "%s:%s", manager, point);
    return scn_pstr(p, b);
}

/* KIND as the fault's kind (a bare word); false when unknown. */
static bool fault_kind(const char *kind, sim_fault_spec *spec)
{
    if (!strcmp(kind, "outage")) {
        spec->kind = SIM_FAULT_ERROR;
        spec->status = T0_EUNAVAILABLE;
        spec->http_status = 503;
        return true;
    }
    int k = sim_fault_kind_parse(kind);
    if (k < 0) return false;
    spec->kind = (sim_fault_kind)k;
    spec->status = k == SIM_FAULT_ERROR ? T0_EINTERNAL : k == SIM_FAULT_TOOMANY ? T0_ETOOMANY : T0_OK;
    spec->http_status = k == SIM_FAULT_ERROR ? 500 : k == SIM_FAULT_TOOMANY ? 429 : 0;
    return true;
}

/* fault POINT KIND|error=HTTP [p=P] [count=N] [calls=K..M] [ms=D] -> the registry's sim_fault_spec. */
static bool b_fault(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    const scn_tok *w = a->w;
    if (a->n < 3) {
        scn_perr(p, w[0].col, "fault needs a point and a kind: fault POINT KIND [p=..] [count=..] [calls=..]");
        return false;
    }
    sim_fault_spec spec = {.kind = SIM_FAULT_ERROR, .status = T0_EINTERNAL, .http_status = 500, .probability = 1.0};
    bool kind = false, ok = true;
    for (size_t i = 2; i < a->n; i++) {
        const scn_tok *t = &w[i];
        scn_kv kv;
        if (!scn_tok_is_kv(t)) {
            if (kind) scn_perr(p, t->col, "a fault has one kind; unexpected '%s'", t->s), ok = false;
            else if (!fault_kind(t->s, &spec))
                scn_perr(p, t->col, "unknown fault kind '%s' (error[=HTTP] 429 timeout timeout-applied latency drop "
                         "duplicate reorder gone close stale outage)", t->s), ok = false;
            kind = true;
            continue;
        }
        kv_split(t, &kv);
        if (key_is(&kv, "error")) {
            int code = atoi(kv.v), st = scn_http_to_status(code);
            if (kind) scn_perr(p, t->col, "a fault has one kind"), ok = false;
            else if (st < 0)
                scn_perr(p, t->col, "error= needs an HTTP status (404 409 410 422 429 5xx), got '%s'", kv.v), ok = false;
            kind = true;
            spec.kind = st == T0_ETOOMANY ? SIM_FAULT_TOOMANY : SIM_FAULT_ERROR;
            spec.http_status = code;
            spec.status = (t0_status)st;
        } else if (!kv_typed(p, "fault", false, "p:f count:u calls:r ms:d manager:s", &kv)) ok = false;
        else if (key_is(&kv, "manager")) s->a.fault.manager = scn_pstr(p, kv.v);
        else if (kv.ty == 'f') spec.probability = kv.f;
        else if (kv.ty == 'u') spec.count = kv.u;
        else if (kv.ty == 'r') spec.first_call = kv.lo, spec.last_call = kv.hi;
        else spec.ms = kv.ms;
    }
    if (!kind) scn_perr(p, w[1].col, "fault %s: no kind given", w[1].s), ok = false;
    if ((spec.kind == SIM_FAULT_TOOMANY || spec.kind == SIM_FAULT_LATENCY || spec.kind == SIM_FAULT_REORDER) && !spec.ms)
        spec.ms = 1000;
    char why[300];
    if (ok && kind && !sim_faults_realistic(w[1].s, &spec, why, sizeof why)) {
        scn_perr(p, w[1].col, "%s", why);
        ok = false;
    }
    s->a.fault.point = scoped_point(p, w[1].s, s->a.fault.manager);
    s->a.fault.spec = spec;
    return ok;
}

static bool b_clear_fault(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    const scn_kv *m = kv_first(a, "manager");
    s->a.fault.manager = m ? scn_pstr(p, m->v) : NULL;
    s->a.fault.point = scoped_point(p, pos(a, 0), s->a.fault.manager);
    return true;
}

static bool b_none(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    (void)p, (void)s, (void)a;
    return true;
}

/* ---- builders: servers, managers, the cluster -------------------------------------------------------- */
static bool b_outage(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    static const char *const servers[] = {"mongo", "nats", "s3"};
    const char *what = pos(a, 0);
    int sv = -1;
    for (int i = 0; i < 3; i++)
        if (!strcmp(what, servers[i])) sv = i;
    if (sv < 0) scn_perr(p, pos_col(a, 0), "outage of what? mongo, nats or s3, got '%s'", what);
    bool on = false, ok = scn_parse_bool(pos(a, 1), &on);
    if (!ok) scn_perr(p, pos_col(a, 1), "outage %s on|off, got '%s'", what, pos(a, 1));
    s->a.outage.server = (scn_server)sv;
    s->a.outage.on = on;
    return ok && sv >= 0;
}

/* [M] at-effect=N restart-after=D: the manager (default m1; a bare `at-effect` names none). */
static bool b_mgr(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    const char *name = pos(a, 0);
    s->a.mgr.name = name && strcmp(name, "at-effect") ? scn_pstr(p, name) : "m1";
    const scn_kv *at = kv_first(a, "at-effect"), *ra = kv_first(a, "restart-after");
    s->a.mgr.at_effect_set = at != NULL;
    s->a.mgr.at_effect = at ? at->u : 0;
    s->a.mgr.restart_after_ms = ra ? ra->ms : -1;
    return true;
}

/* create pod|cronjob NAME [labels=] [annotations=] [finalizers=] [owner=KIND/NAME] [schedule=] */
static bool b_foreign(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    const scn_kv *l = kv_first(a, "labels"), *an = kv_first(a, "annotations"), *f = kv_first(a, "finalizers");
    const scn_kv *o = kv_first(a, "owner"), *sc = kv_first(a, "schedule");
    bool ok = true;
    s->a.foreign.name = scn_pstr(p, pos(a, 0));
    s->a.foreign.labels = l ? l->json : NULL;
    s->a.foreign.annotations = an ? an->json : NULL;
    s->a.foreign.finalizers = f ? f->json : NULL;
    s->a.foreign.schedule = sc ? scn_pstr(p, sc->v) : NULL;
    const cJSON *it;
    if (l && !cJSON_IsObject(l->json)) scn_perr(p, l->tok->col, "labels= needs a JSON object"), ok = false;
    if (an && !cJSON_IsObject(an->json)) scn_perr(p, an->tok->col, "annotations= needs a JSON object"), ok = false;
    const scn_kv *maps[] = {l, an};
    for (size_t m = 0; m < 2; m++) {
        if (!maps[m] || !cJSON_IsObject(maps[m]->json)) continue;
        cJSON_ArrayForEach(it, maps[m]->json) if (!cJSON_IsString(it)) {
            scn_perr(p, maps[m]->tok->col, "label and annotation values are strings ('%s' is not)", it->string);
            ok = false;
            break;
        }
    }
    if (f && !cJSON_IsArray(f->json)) scn_perr(p, f->tok->col, "finalizers= needs a JSON array of strings"), ok = false;
    if (s->verb != SCN_CREATE_CRONJOB && sc) scn_perr(p, sc->tok->col, "'create pod' does not take schedule="), ok = false;
    if (o) {
        const char *slash = strchr(o->v, '/');
        if (!slash || slash == o->v || !slash[1]) {
            scn_perr(p, o->tok->col, "owner= needs KIND/NAME (owner=ReplicaSet/web-5d9c), got '%s'", o->v);
            ok = false;
        } else {
            char k[128];
            snprintf(k, sizeof k, "%.*s", (int)(slash - o->v), o->v);
            s->a.foreign.owner_kind = scn_pstr(p, k);
            s->a.foreign.owner_name = scn_pstr(p, slash + 1);
        }
    }
    return ok;
}

/* add finalizer pod|cronjob NAME VALUE, remove finalizers pod|cronjob NAME */
static bool b_fin(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    const char *k = pos(a, 0);
    if (strcmp(k, "pod") && strcmp(k, "cronjob")) {
        scn_perr(p, pos_col(a, 0), "finalizers of a pod or a cronjob, got '%s'", k);
        return false;
    }
    s->a.fin.cronjob = !strcmp(k, "cronjob");
    s->a.fin.name = scn_pstr(p, pos(a, 1));
    s->a.fin.value = pos(a, 2) ? scn_pstr(p, pos(a, 2)) : NULL;
    return true;
}

static bool b_on_off(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    bool on = false;
    if (scn_parse_bool(pos(a, 0), &on)) {
        s->a.down = on;
        return true;
    }
    scn_perr(p, pos_col(a, 0), "on or off, got '%s'", pos(a, 0));
    return false;
}

static bool b_cronjob_controller(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    const char *v = pos(a, 0);
    if (strcmp(v, "down") && strcmp(v, "up")) {
        scn_perr(p, pos_col(a, 0), "cronjob-controller down|up, got '%s'", v);
        return false;
    }
    s->a.down = !strcmp(v, "down");
    return true;
}

/* note TEXT: the text after `note ` as written (the statement's text may start with a time prefix). */
static bool b_note(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    const char *t = s->text + (a->w[0].col - p->text_col) + 4;
    s->a.note = t + (*t == ' ');
    return true;
}

/* ---- builders: conditions ---------------------------------------------------------------------------- */
/* The label.K=, annotation.K= and env.K= words of an object condition, in order. */
static bool fields(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    static const struct {
        const char *prefix;
        scn_field_kind kind;
    } pre[] = {{"label.", SCN_FIELD_LABEL}, {"annotation.", SCN_FIELD_ANNOTATION}, {"env.", SCN_FIELD_ENV}};
    scn_field *f = scn_arena_alloc(p->arena, (a->nkv ? a->nkv : 1) * sizeof *f);
    if (!f) return p->oom = true, false;
    size_t n = 0;
    for (size_t i = 0; i < a->nkv; i++)
        for (size_t k = 0; k < T0_ARRAY_LEN(pre); k++) {
            size_t l = strlen(pre[k].prefix);
            if (a->kv[i].klen > l && !strncmp(a->kv[i].key, pre[k].prefix, l)) {
                char key[300];
                snprintf(key, sizeof key, "%.*s", (int)(a->kv[i].klen - l), a->kv[i].key + l);
                f[n++] = (scn_field){pre[k].kind, scn_pstr(p, key), scn_pstr(p, a->kv[i].v)};
            }
        }
    s->a.pod.fields = f;
    s->a.pod.nfields = n;
    return true;
}

static bool b_pod(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    s->a.pod.name = scn_pstr(p, pos(a, 0));
    const scn_kv *sc = kv_first(a, "schedule");
    s->a.pod.schedule = sc ? scn_pstr(p, sc->v) : NULL;
    if (!fields(p, s, a)) return false;
    const scn_kv *ph = kv_first(a, "phase"), *rd = kv_first(a, "ready"), *rs = kv_first(a, "restarts");
    s->a.pod.phase = ph ? scn_pstr(p, ph->v) : NULL;
    s->a.pod.ready = rd ? rd->b : -1;
    s->a.pod.restarts_set = rs != NULL;
    s->a.pod.restarts = rs ? rs->u : 0;
    return true;
}

static bool cmp_parse(const char *s, scn_cmp *op)
{
    static const char *const ops[] = {">=", "<=", "==", "!=", ">", "<"};
    static const scn_cmp cmps[] = {SCN_CMP_GE, SCN_CMP_LE, SCN_CMP_EQ, SCN_CMP_NE, SCN_CMP_GT, SCN_CMP_LT};
    for (size_t i = 0; i < T0_ARRAY_LEN(ops); i++)
        if (!strcmp(s, ops[i])) return *op = cmps[i], true;
    return false;
}

static bool count_parse(const char *v, uint64_t *n)
{
    char *end;
    *n = strtoull(v, &end, 10);
    return *v && isdigit((unsigned char)*v) && !*end;
}

/* OP N at positional words K and K+1. */
static bool b_op_n(scn_pctx *p, const scn_args *a, size_t k, const char *what, scn_cmp *op, uint64_t *n)
{
    bool ok = true;
    if (!cmp_parse(pos(a, k), op)) scn_perr(p, pos_col(a, k), "expected a comparison%s, got '%s'", what, pos(a, k)), ok = false;
    if (!count_parse(pos(a, k + 1), n)) scn_perr(p, pos_col(a, k + 1), "expected a number, got '%s'", pos(a, k + 1)), ok = false;
    return ok;
}

/* NAME OP N (job-runs, restarts, log-lines, count). */
static bool b_num(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    bool ok = b_op_n(p, a, 1, " (>= <= == != > <)", &s->a.num.op, &s->a.num.n);
    const char *name = pos(a, 0);
    if (s->verb == SCN_IF_COUNT) {
        if (!strcmp(name, "pods")) s->a.num.kind = KUBE_POD;
        else if (!strcmp(name, "cronjobs")) s->a.num.kind = KUBE_CRONJOB;
        else if (!strcmp(name, "jobs")) s->a.num.kind = KUBE_JOB;
        else scn_perr(p, pos_col(a, 0), "count what? pods, cronjobs or jobs, got '%s'", name), ok = false;
    }
    s->a.num.name = scn_pstr(p, name);
    return ok;
}

/* event NAME reason=R [OP N]: without OP N, at least one */
static bool b_event(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    const scn_kv *r = kv_first(a, "reason");
    s->a.event.name = scn_pstr(p, pos(a, 0));
    s->a.event.reason = r ? scn_pstr(p, r->v) : NULL;
    s->a.event.op = SCN_CMP_GE, s->a.event.n = 1;
    bool ok = true;
    if (!r) scn_perr(p, pos_col(a, 0), "event %s: which reason? event NAME reason=R [OP N]", pos(a, 0)), ok = false;
    if (a->npos == 2) scn_perr(p, pos_col(a, 1), "event NAME reason=R [OP N]: a comparison needs a number"), ok = false;
    if (a->npos == 3 && !b_op_n(p, a, 1, " (>= <= == != > <)", &s->a.event.op, &s->a.event.n)) ok = false;
    return ok;
}

/* api-calls M VERB KIND OP N */
static bool b_api(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    static const char *const verbs[] = {"create", "get", "list", "update", "update_status", "delete", "watch"};
    static const char *const kinds[] = {"pods", "cronjobs", "jobs", "leases", "events"}; /* kube_kind */
    _Static_assert(T0_ARRAY_LEN(verbs) == SCN_API__VERBS, "api verbs");
    _Static_assert(T0_ARRAY_LEN(kinds) == KUBE__KINDS, "kube kinds");
    bool ok = b_op_n(p, a, 3, " (>= <= == != > <)", &s->a.api.op, &s->a.api.n);
    int v = -1, k = -1;
    for (int i = 0; i < SCN_API__VERBS; i++)
        if (!strcmp(pos(a, 1), verbs[i])) v = i;
    for (int i = 0; i < KUBE__KINDS; i++)
        if (!strcmp(pos(a, 2), kinds[i])) k = i;
    if (v < 0) scn_perr(p, pos_col(a, 1), "api-calls: verb create|get|list|update|update_status|delete|watch, got '%s'", pos(a, 1)), ok = false;
    if (k < 0) scn_perr(p, pos_col(a, 2), "api-calls: kind pods|cronjobs|jobs|leases|events, got '%s'", pos(a, 2)), ok = false;
    s->a.api.manager = scn_pstr(p, pos(a, 0));
    s->a.api.verb = (scn_api_verb)(v < 0 ? 0 : v);
    s->a.api.kind = k < 0 ? 0 : k;
    return ok;
}

static bool b_violations(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    return b_op_n(p, a, 0, "", &s->a.violations.op, &s->a.violations.n);
}

static bool b_fsm(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    const fsm_table *t = s->verb == SCN_IF_BOT ? &fsm_bot_table : &fsm_schedule_table;
    const scn_kv *st = kv_first(a, "state");
    s->a.fsm.id = scn_pstr(p, pos(a, 0));
    s->a.fsm.state = st ? fsm_state_index(t, st->v) : -1;
    if (!st || s->a.fsm.state >= 0) return true;
    char names[400];
    size_t o = 0;
    for (int i = 0; i < t->nstates && o < sizeof names; i++)
        o += (size_t)snprintf(names + o, sizeof names - o, "%s%s", i ? " " : "", t->state_names[i]);
    scn_perr(p, st->tok->col, "unknown %s state '%s' (%s)", t->name, st->v, names);
    return false;
}

static bool b_manager(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    static const char *const conds[] = {"leader", "not-leader", "ready", "not-ready", "crashed"}; /* scn_mgr_cond */
    const char *c = pos(a, 1);
    for (int i = 0; i < 5; i++)
        if (!strcmp(c, conds[i])) {
            s->a.manager.name = scn_pstr(p, pos(a, 0));
            s->a.manager.cond = (scn_mgr_cond)i;
            return true;
        }
    scn_perr(p, pos_col(a, 1), "manager condition: leader, not-leader, ready, not-ready or crashed, got '%s'", c);
    return false;
}

/* object put BUCKET/KEY 'BYTES' | object cut BUCKET/KEY: the scenario writes the object store (no fault applies). */
static bool b_object(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    const char *bk = pos(a, 0), *slash = bk ? strchr(bk, '/') : NULL;
    if (!slash || slash == bk || !slash[1]) {
        scn_perr(p, pos_col(a, 0), "object needs BUCKET/KEY, got '%s'", bk ? bk : "");
        return false;
    }
    char bucket[128];
    snprintf(bucket, sizeof bucket, "%.*s", (int)(slash - bk), bk);
    s->a.object.bucket = scn_pstr(p, bucket);
    s->a.object.key = scn_pstr(p, slash + 1);
    s->a.object.data = s->verb == SCN_OBJECT_PUT ? scn_pstr(p, pos(a, 1)) : NULL;
    s->a.object.len = s->a.object.data ? strlen(s->a.object.data) : 0;
    return true;
}

static bool b_message(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    s->a.message.pod = scn_pstr(p, pos(a, 0));
    s->a.message.container = scn_pstr(p, pos(a, 1));
    s->a.message.text = scn_pstr(p, pos(a, 2));
    return true;
}

static bool b_state(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    if (a->n != 3 || !scn_tok_is_kv(&a->w[2])) {
        scn_perr(p, a->w[a->n - 1].col, "state needs: state ID KEY=VALUE");
        return false;
    }
    char okey[300];
    snprintf(okey, sizeof okey, "%s/state.tar.gz", a->w[1].s);
    s->a.state.id = scn_pstr(p, a->w[1].s);
    s->a.state.line = scn_pstr(p, a->w[2].s);
    s->a.state.object = scn_pstr(p, okey);
    return true;
}

/* ---- the table ------------------------------------------------------------------------------------------- */
#define PUB_KEYS "config.*:* version:s runtime:s entry:s path:s name:s cron:s"
#define OPT_KEYS                                                                                                   \
    "manager:b nodes:u resync:d ns:s delete-allowance:d leader-election:b durable:b ack-wait:d end:d latency:d "   \
    "crashloop-escalate:u init-escalate:u requeue:d lease:d max-deletes:u nats:b"
#define ACT false
#define COND true
const scn_grammar_row scn_grammar[] = {
    {SCN_OPTION, "option", ACT, 0, 0, OPT_KEYS, b_option},
    {SCN_END, "end", ACT, 1, 1, "", b_end},
    {SCN_BOT, "bot", ACT, 1, 1, "runtime:s entry:s config:j version:s name:s path:s", b_define},
    {SCN_SCHEDULE, "schedule", ACT, 1, 1, "cron:s runtime:s entry:s config:j version:s name:s path:s", b_define},
    {SCN_PUBLISH_RAW, "publish raw", ACT, 2, 2, "", b_publish_raw},
    {SCN_PUBLISH, "publish", ACT, 2, 3, PUB_KEYS, b_publish},
    {SCN_STORE_PUT_BROKEN, "store put-broken", ACT, 1, 2, "", b_put_broken},
    {SCN_STORE_PUT, "store put", ACT, 1, 1, PUB_KEYS, b_define},
    {SCN_STORE_PUT_DUPLICATE, "store put-duplicate", ACT, 1, 1, PUB_KEYS, b_define},
    {SCN_STORE_DEL, "store del", ACT, 1, 1, "", b_obj},
    {SCN_MODEL, "model", ACT, 2, 4, NULL, b_model},
    {SCN_FAULT, "fault", ACT, 1, 2, NULL, b_fault},
    {SCN_CLEAR_FAULTS, "clear faults", ACT, 0, 0, "", b_none},
    {SCN_CLEAR_FAULT, "clear fault", ACT, 1, 1, "manager:s", b_clear_fault},
    {SCN_OUTAGE, "outage", ACT, 2, 2, "", b_outage},
    {SCN_CRASH_CONTROLLER, "crash controller", ACT, 0, 1, "at-effect:u restart-after:d", b_mgr},
    {SCN_RESTART_CONTROLLER, "restart controller", ACT, 0, 1, "", b_mgr},
    {SCN_START_MANAGER, "start manager", ACT, 1, 1, "", b_mgr},
    {SCN_STOP_MANAGER, "stop manager", ACT, 1, 1, "", b_mgr},
    {SCN_KILL_NODE, "kill node", ACT, 1, 1, "", b_obj},
    {SCN_REVIVE_NODE, "revive node", ACT, 1, 1, "", b_obj},
    {SCN_ADD_NODE, "add node", ACT, 1, 1, "", b_obj},
    {SCN_EVICT_POD, "evict pod", ACT, 1, 1, "", b_obj},
    {SCN_CREATE_POD_FOR, "create pod for", ACT, 1, 1, "", b_obj},
    {SCN_CREATE_CRONJOB_FOR, "create cronjob for", ACT, 1, 1, "", b_obj},
    {SCN_DELETE_POD, "delete pod", ACT, 1, 1, "grace:u", b_obj},
    {SCN_DELETE_CRONJOB, "delete cronjob", ACT, 1, 1, "", b_obj},
    {SCN_CRONJOB_CONTROLLER, "cronjob-controller", ACT, 1, 1, "", b_cronjob_controller},
    {SCN_RESYNC, "resync", ACT, 0, 0, "", b_none},
    {SCN_NOTE, "note", ACT, 0, 64, "*:*", b_note},
    {SCN_OBJECT_PUT, "object put", ACT, 2, 2, "", b_object},
    {SCN_OBJECT_CUT, "object cut", ACT, 1, 1, "", b_object},
    {SCN_CREATE_POD, "create pod", ACT, 1, 1, "labels:j annotations:j finalizers:j owner:s", b_foreign},
    {SCN_CREATE_CRONJOB, "create cronjob", ACT, 1, 1, "labels:j annotations:j finalizers:j owner:s schedule:s", b_foreign},
    {SCN_ADD_FINALIZER, "add finalizer", ACT, 3, 3, "", b_fin},
    {SCN_REMOVE_FINALIZERS, "remove finalizers", ACT, 2, 2, "", b_fin},
    {SCN_MONGO_RESTORE, "mongo-restore", ACT, 1, 1, "", b_on_off},
    {SCN_INVARIANT, NULL, ACT, 0, 0, "", b_none}, /* always NAME: matched by name in scn_grammar_parse */
    {SCN_IF_NO_POD, "no pod", COND, 1, 1, "", b_pod},
    {SCN_IF_NO_CRONJOB, "no cronjob", COND, 1, 1, "", b_pod},
    {SCN_IF_NO_STORE, "no store", COND, 1, 1, "", b_pod},
    {SCN_IF_POD, "pod", COND, 1, 1, "phase:s ready:b restarts:u label.*:s annotation.*:s env.*:s", b_pod},
    {SCN_IF_CRONJOB, "cronjob", COND, 1, 1, "schedule:s label.*:s annotation.*:s env.*:s", b_pod},
    {SCN_IF_JOB_RUNS, "job-runs", COND, 3, 3, "", b_num},
    {SCN_IF_RESTARTS, "restarts", COND, 3, 3, "", b_num},
    {SCN_IF_LOG_LINES, "log-lines", COND, 3, 3, "", b_num},
    {SCN_IF_BOT, "bot", COND, 1, 1, "state:s", b_fsm},
    {SCN_IF_SCHEDULE, "schedule", COND, 1, 1, "state:s", b_fsm},
    {SCN_IF_COUNT, "count", COND, 3, 3, "", b_num},
    {SCN_IF_MANAGER, "manager", COND, 2, 2, "", b_manager},
    {SCN_IF_STATE, "state", COND, 1, 1, "*:*", b_state},
    {SCN_IF_STORE, "store", COND, 1, 1, "", b_pod},
    {SCN_IF_VIOLATIONS, "violations", COND, 2, 2, "", b_violations},
    {SCN_IF_MESSAGE, "message", COND, 3, 3, "", b_message},
    {SCN_IF_STATE_LAG, "state-lag", COND, 3, 3, "", b_num},
    {SCN_IF_INTENT, "pods-match-intent", COND, 0, 0, "", b_none},
    {SCN_IF_EVENT, "event", COND, 1, 3, "reason:s", b_event},
    {SCN_IF_API_CALLS, "api-calls", COND, 5, 5, "", b_api},
};
const size_t scn_grammar_len = T0_ARRAY_LEN(scn_grammar);

const char *scn_verb_name(scn_verb v)
{
    for (size_t i = 0; i < scn_grammar_len; i++)
        if (scn_grammar[i].verb == v) return scn_grammar[i].words ? scn_grammar[i].words : "always NAME";
    return "?";
}

static size_t verb_len(const char *words)
{
    size_t n = 1;
    for (const char *p = words; *p; p++) n += *p == ' ';
    return n;
}

/* match: are the N words W led by ROW's words? */
static bool match(const scn_tok *w, size_t n, const scn_grammar_row *row)
{
    const char *p = row->words;
    for (size_t i = 0;; i++) {
        const char *sp = strchr(p, ' ');
        size_t l = sp ? (size_t)(sp - p) : strlen(p);
        if (i >= n || strlen(w[i].s) != l || strncmp(w[i].s, p, l)) return false;
        if (!sp) return true;
        p = sp + 1;
    }
}

/* The words after ROW's into A: positional counts and every KEY=VALUE checked and converted (rows with
 * keys NULL check their words themselves). false when something was wrong (reported). */
static bool split_args(scn_pctx *p, const scn_grammar_row *row, scn_args *a)
{
    bool ok = true;
    for (size_t i = a->first; i < a->n; i++) {
        const scn_tok *t = &a->w[i];
        if (row->keys && scn_tok_is_kv(t)) {
            scn_kv *kv = &a->kv[a->nkv];
            kv_split(t, kv);
            if (kv_typed(p, row->words, true, row->keys, kv)) a->nkv++;
            else ok = false;
            continue;
        }
        if ((int)a->npos >= row->maxpos) {
            scn_perr(p, t->col, "'%s' takes at most %d argument%s; unexpected '%s'", row->words, row->maxpos,
                     row->maxpos == 1 ? "" : "s", t->s);
            ok = false;
        } else a->pos[a->npos++] = t;
    }
    if ((int)a->npos < row->minpos && ok) {
        scn_perr(p, a->w[a->n - 1].col, "'%s' needs %d argument%s, got %zu", row->words, row->minpos,
                 row->minpos == 1 ? "" : "s", a->npos);
        ok = false;
    }
    return ok;
}

static const scn_grammar_row *lookup(scn_pctx *p, const scn_stmt *s, const scn_tok *w, size_t n)
{
    const scn_grammar_row *best = NULL;
    bool cond = s->type != SCN_ACTION;
    for (size_t i = 0; i < scn_grammar_len; i++) {
        const scn_grammar_row *r = &scn_grammar[i];
        if (r->words && r->condition == cond && r->words[0] == w[0].s[0] && match(w, n, r) &&
            (!best || verb_len(r->words) > verb_len(best->words)))
            best = r;
    }
    if (!best) scn_perr(p, w[0].col, "unknown %s '%s'", cond ? "condition" : "statement", w[0].s);
    return best;
}

bool scn_grammar_parse(scn_pctx *p, scn_stmt *s, const scn_tok *w, size_t n)
{
    if (s->type == SCN_ALWAYS && n == 1) {
        for (int i = 0; scn_invariant_names[i]; i++)
            if (!strcmp(w[0].s, scn_invariant_names[i])) {
                s->verb = SCN_INVARIANT;
                s->a.invariant = i;
                return true;
            }
    }
    const scn_grammar_row *row = lookup(p, s, w, n);
    if (!row) return false;
    s->verb = row->verb;
    scn_args a = {.w = w, .n = n, .first = verb_len(row->words)};
    const scn_tok *pos_small[16];
    scn_kv kv_small[16];
    bool small = n <= 16; /* most statements: no allocation */
    a.pos = small ? pos_small : malloc(n * sizeof *a.pos);
    a.kv = small ? kv_small : malloc(n * sizeof *a.kv);
    bool ok = a.pos && a.kv;
    if (!ok) p->oom = true;
    else ok = (!row->keys || split_args(p, row, &a)) && row->build(p, s, &a);
    if (!small) {
        free(a.pos);
        free(a.kv);
    }
    return ok && !p->oom;
}
