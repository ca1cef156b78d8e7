/* parse.c: the scenario language's tokenizer, time prefixes and statement checks (see docs/scenarios.md). */
#include "scenarios/scn.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "scenarios/scn_int.h"

bool scn_parse_duration(const char *s, int64_t *ms)
{
    if (!s || !*s) return false;
    int64_t total = 0;
    const char *p = s;
    while (*p) {
        if (!isdigit((unsigned char)*p)) return false;
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (errno || v < 0) return false;
        p = end;
        int64_t unit;
        if (!strncmp(p, "ms", 2)) unit = 1, p += 2;
        else if (*p == 'h') unit = 3600000, p++;
        else if (*p == 'm') unit = 60000, p++;
        else if (*p == 's') unit = 1000, p++;
        else if (*p == 'd') unit = 86400000, p++;
        else return false;
        if (v > INT64_MAX / unit / 2) return false;
        total += v * unit;
    }
    *ms = total;
    return true;
}

char *scn_format_offset(int64_t ms, char *buf, size_t cap)
{
    if (ms < 0) ms = 0;
    snprintf(buf, cap, "+%02lld:%02lld:%02lld.%03lld", (long long)(ms / 3600000), (long long)(ms / 60000 % 60),
             (long long)(ms / 1000 % 60), (long long)(ms % 1000));
    return buf;
}

/* ---- tokenizer ---------------------------------------------------------------------------------- */
/* Words are separated by blanks. A word may contain "..." or '...' (quotes removed; \" and \\ escape in
 * double quotes) and JSON objects/arrays {...} [...] (kept verbatim, balanced, strings respected). '#'
 * outside quotes and JSON starts a comment. */
static t0_status tokenize(const char *path, int lineno, const char *line, scn_tok **out, size_t *n, t0_err *err)
{
    size_t cap = 8, cnt = 0;
    scn_tok *w = calloc(cap, sizeof *w);
    size_t blen = strlen(line) + 1;
    char *buf = malloc(blen);
    if (!w || !buf) {
        free(w);
        free(buf);
        return t0_fail(err, T0_ENOMEM, "%s:%d: out of memory", path, lineno);
    }
    const char *p = line;
    t0_status st = T0_OK;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r') p++;
        if (!*p || *p == '#') break;
        int col = (int)(p - line) + 1;
        size_t bl = 0;
        bool quoted_whole = (*p == '"' || *p == '\'');
        while (*p && *p != ' ' && *p != '\t' && *p != '\r') {
            if (*p == '"' || *p == '\'') {
                char q = *p++;
                while (*p && *p != q) {
                    if (q == '"' && *p == '\\' && (p[1] == '"' || p[1] == '\\')) p++;
                    buf[bl++] = *p++;
                }
                if (!*p) {
                    st = t0_fail(err, T0_EINVAL, "%s:%d:%d: unterminated %c quote", path, lineno, col, q);
                    goto done;
                }
                p++;
            } else if (*p == '{' || *p == '[') {
                int depth = 0;
                bool instr = false;
                const char *start = p;
                do {
                    char c = *p;
                    if (!c) {
                        st = t0_fail(err, T0_EINVAL, "%s:%d:%d: unbalanced JSON value", path, lineno,
                                     (int)(start - line) + 1);
                        goto done;
                    }
                    if (instr) {
                        if (c == '\\' && p[1]) buf[bl++] = *p++;
                        else if (c == '"') instr = false;
                    } else if (c == '"') instr = true;
                    else if (c == '{' || c == '[') depth++;
                    else if (c == '}' || c == ']') depth--;
                    buf[bl++] = *p++;
                } while (depth > 0);
            } else if (*p == '#' && bl == 0) {
                break;
            } else {
                buf[bl++] = *p++;
            }
        }
        buf[bl] = '\0';
        if (cnt == cap) {
            scn_tok *nw = realloc(w, 2 * cap * sizeof *w);
            if (!nw) {
                st = t0_fail(err, T0_ENOMEM, "%s:%d: out of memory", path, lineno);
                goto done;
            }
            w = nw;
            cap *= 2;
        }
        w[cnt].s = strdup(buf);
        w[cnt].col = col;
        w[cnt].quoted = quoted_whole;
        if (!w[cnt].s) {
            st = t0_fail(err, T0_ENOMEM, "%s:%d: out of memory", path, lineno);
            goto done;
        }
        cnt++;
    }
done:
    free(buf);
    if (st != T0_OK) {
        for (size_t i = 0; i < cnt; i++) free(w[i].s);
        free(w);
        return st;
    }
    *out = w;
    *n = cnt;
    return T0_OK;
}

/* ---- statement checks --------------------------------------------------------------------------- */
/* A verb: its leading words, how many positional words follow, and the keys it accepts as
 * "name:type" (s string, d duration, u unsigned, i integer, f probability, j JSON, b on/off, r range
 * k..m, * anything). A key spec "config.*" accepts every key starting with "config.". */
typedef struct verb {
    const char *words;
    int minpos, maxpos;
    const char *keys;
} verb;

#define PUB_KEYS "config.*:* version:s runtime:s entry:s path:s name:s cron:s"
static const verb actions[] = {
    {"option", 0, 0,
     "manager:b nodes:u resync:d ns:s delete-allowance:d leader-election:b durable:b ack-wait:d end:d latency:d "
     "sync-interval:d crashloop-escalate:u init-escalate:u requeue:d lease:d max-deletes:u nats:b"},
    {"bot", 1, 1, "runtime:s entry:s config:j version:s name:s path:s"},
    {"schedule", 1, 1, "cron:s runtime:s entry:s config:j version:s name:s path:s"},
    {"publish raw", 2, 2, ""},
    {"publish", 2, 3, PUB_KEYS},
    {"store put-broken", 1, 2, ""},
    {"store put", 1, 1, PUB_KEYS},
    {"store put-duplicate", 1, 1, PUB_KEYS},
    {"store del", 1, 1, ""},
    {"model", 2, 4, NULL}, /* checked by check_model */
    {"fault", 1, 2, NULL}, /* checked by check_fault */
    {"clear faults", 0, 0, ""},
    {"clear fault", 1, 1, ""},
    {"outage", 2, 2, ""},
    {"crash controller", 0, 1, "at-effect:u restart-after:d"},
    {"restart controller", 0, 1, ""},
    {"start manager", 1, 1, ""},
    {"stop manager", 1, 1, ""},
    {"kill node", 1, 1, ""},
    {"revive node", 1, 1, ""},
    {"add node", 1, 1, ""},
    {"evict pod", 1, 1, ""},
    {"create pod for", 1, 1, ""},
    {"create cronjob for", 1, 1, ""},
    {"delete pod", 1, 1, "grace:u"},
    {"delete cronjob", 1, 1, ""},
    {"cronjob-controller", 1, 1, ""},
    {"resync", 0, 0, ""},
    {"end", 1, 1, ""},
    {"note", 0, 64, "*:*"},
};

static const verb conds[] = {
    {"no pod", 1, 1, ""},
    {"no cronjob", 1, 1, ""},
    {"no store", 1, 1, ""},
    {"pod", 1, 1, "phase:s ready:b restarts:u"},
    {"cronjob", 1, 1, ""},
    {"job-runs", 3, 3, ""},
    {"restarts", 3, 3, ""},
    {"log-lines", 3, 3, ""},
    {"bot", 1, 1, "state:s"},
    {"schedule", 1, 1, "state:s"},
    {"count", 3, 3, ""},
    {"manager", 2, 2, ""},
    {"state", 1, 1, "*:*"},
    {"store", 1, 1, ""},
    {"violations", 2, 2, ""},
};

const char *const scn_invariant_names[] = {"at-most-one-bot-container", "no-orphans", "no-delete-after-failed-read",
                                           "no-state-loss", "no-log-loss", "bad-doc-isolation", NULL};

static size_t verb_len(const char *words)
{
    size_t n = 1;
    for (const char *p = words; *p; p++) n += *p == ' ';
    return n;
}

/* match: does S's leading words equal V->words? */
static bool match(const scn_stmt *s, const verb *v)
{
    const char *p = v->words;
    for (size_t i = 0;; i++) {
        const char *sp = strchr(p, ' ');
        size_t l = sp ? (size_t)(sp - p) : strlen(p);
        if (i >= s->n || strlen(s->w[i].s) != l || strncmp(s->w[i].s, p, l)) return false;
        if (!sp) return true;
        p = sp + 1;
    }
}

bool scn_tok_is_kv(const scn_tok *t) { return !t->quoted && t->s[0] != '=' && strchr(t->s, '=') && !strchr("<>!", t->s[0]); }

/* The key spec of KEY in KEYS ("name:type ..."): its type char, or 0 when not allowed. */
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

static bool check_value(char ty, const char *v)
{
    char *end;
    int64_t d;
    uint64_t a, b;
    bool bo;
    switch (ty) {
    case 'd': return scn_parse_duration(v, &d);
    case 'u': strtoull(v, &end, 10); return *v && isdigit((unsigned char)*v) && !*end;
    case 'i': strtoll(v, &end, 10); return *v && !*end;
    case 'f': {
        double x = strtod(v, &end);
        return *v && !*end && x >= 0 && x <= 1;
    }
    case 'j': {
        cJSON *j = cJSON_Parse(v);
        bool ok = j != NULL;
        cJSON_Delete(j);
        return ok;
    }
    case 'b': return scn_parse_bool(v, &bo);
    case 'r': return scn_parse_range(v, &a, &b);
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

#define FAIL_AT(tok, ...)                                                                                          \
    do {                                                                                                           \
        char m_[300];                                                                                              \
        snprintf(m_, sizeof m_, __VA_ARGS__);                                                                      \
        return t0_fail(err, T0_EINVAL, "%s:%d:%d: %s", path, s->line, (tok) ? (tok)->col : 1, m_);                \
    } while (0)

/* check words from FIRST on against V: positional count and keys. */
static t0_status check_args(const char *path, const scn_stmt *s, size_t first, const verb *v, t0_err *err)
{
    int pos = 0;
    for (size_t i = first; i < s->n; i++) {
        const scn_tok *t = &s->w[i];
        if (v->keys && scn_tok_is_kv(t)) {
            const char *eq = strchr(t->s, '=');
            char ty = key_type(v->keys, t->s, (size_t)(eq - t->s));
            if (!ty) FAIL_AT(t, "'%s' does not take %.*s=", v->words, (int)(eq - t->s), t->s);
            if (!check_value(ty, eq + 1)) FAIL_AT(t, "%.*s= needs %s, got '%s'", (int)(eq - t->s), t->s, type_name(ty), eq + 1);
        } else {
            pos++;
            if (pos > v->maxpos) FAIL_AT(t, "'%s' takes at most %d argument%s; unexpected '%s'", v->words, v->maxpos,
                                         v->maxpos == 1 ? "" : "s", t->s);
        }
    }
    if (pos < v->minpos)
        FAIL_AT(s->n ? &s->w[s->n - 1] : NULL, "'%s' needs %d argument%s, got %d", v->words, v->minpos,
                v->minpos == 1 ? "" : "s", pos);
    return T0_OK;
}

static bool is_op(const char *s)
{
    return !strcmp(s, ">=") || !strcmp(s, "<=") || !strcmp(s, "==") || !strcmp(s, ">") || !strcmp(s, "<") ||
           !strcmp(s, "!=");
}

static t0_status check_model(const char *path, const scn_stmt *s, t0_err *err)
{
    if (s->n < 3) FAIL_AT(&s->w[0], "model needs a bot id and a container: model ID bot|init|pull ...");
    const char *c = s->w[2].s;
    if (strcmp(c, "bot") && strcmp(c, "init") && strcmp(c, "pull"))
        FAIL_AT(&s->w[2], "unknown container '%s' (bot, init or pull)", c);
    for (size_t i = 3; i < s->n; i++) {
        const scn_tok *t = &s->w[i];
        if (!strcmp(t->s, "forever") || !strcmp(t->s, "ignore-sigterm") || !strcmp(t->s, "fail")) continue;
        if (!strcmp(t->s, "write-state")) {
            if (i + 1 >= s->n || !scn_tok_is_kv(&s->w[i + 1]) || !strncmp(s->w[i + 1].s, "at=", 3))
                FAIL_AT(t, "write-state needs KEY=VALUE next (then at=DURATION)");
            i++;
            continue;
        }
        if (!scn_tok_is_kv(t)) FAIL_AT(t, "unexpected '%s' in model", t->s);
        const char *eq = strchr(t->s, '=');
        char ty = key_type("crash-every:d exit:i after:d at:d log-every:d text:s term:d fail:* ms:d", t->s,
                           (size_t)(eq - t->s));
        if (!ty) FAIL_AT(t, "model does not take %.*s=", (int)(eq - t->s), t->s);
        if (!strncmp(t->s, "fail=", 5) && strcmp(eq + 1, "forever") && !check_value('u', eq + 1))
            FAIL_AT(t, "fail= needs a count or 'forever', got '%s'", eq + 1);
        if (!check_value(ty, eq + 1)) FAIL_AT(t, "%.*s= needs %s, got '%s'", (int)(eq - t->s), t->s, type_name(ty), eq + 1);
    }
    return T0_OK;
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

static t0_status check_fault(const char *path, const scn_stmt *s, t0_err *err)
{
    if (s->n < 3) FAIL_AT(&s->w[0], "fault needs a point and a kind: fault POINT KIND [p=..] [count=..] [calls=..]");
    bool kind = false;
    for (size_t i = 2; i < s->n; i++) {
        const scn_tok *t = &s->w[i];
        if (scn_tok_is_kv(t)) {
            const char *eq = strchr(t->s, '=');
            size_t kl = (size_t)(eq - t->s);
            if (kl == 5 && !strncmp(t->s, "error", 5)) {
                if (kind) FAIL_AT(t, "a fault has one kind");
                kind = true;
                if (scn_http_to_status(atoi(eq + 1)) < 0) FAIL_AT(t, "error= needs an HTTP status (404 409 410 422 429 5xx), got '%s'", eq + 1);
                continue;
            }
            char ty = key_type("p:f count:u calls:r ms:d", t->s, kl);
            if (!ty) FAIL_AT(t, "fault does not take %.*s=", (int)kl, t->s);
            if (!check_value(ty, eq + 1)) FAIL_AT(t, "%.*s= needs %s, got '%s'", (int)kl, t->s, type_name(ty), eq + 1);
        } else {
            if (kind) FAIL_AT(t, "a fault has one kind; unexpected '%s'", t->s);
            if (strcmp(t->s, "outage") && scn_fault_kind_parse(t->s) < 0)
                FAIL_AT(t, "unknown fault kind '%s' (error[=HTTP] 429 timeout timeout-applied latency drop duplicate "
                           "reorder gone close stale outage)", t->s);
            kind = true;
        }
    }
    if (!kind) FAIL_AT(&s->w[1], "fault %s: no kind given", s->w[1].s);
    return T0_OK;
}

static t0_status check_stmt(const char *path, const scn_stmt *s, t0_err *err)
{
    if (s->type == SCN_ALWAYS && s->n == 1) {
        for (int i = 0; scn_invariant_names[i]; i++)
            if (!strcmp(s->w[0].s, scn_invariant_names[i])) return T0_OK;
    }
    const verb *tab = s->type == SCN_ACTION ? actions : conds;
    size_t nt = s->type == SCN_ACTION ? T0_ARRAY_LEN(actions) : T0_ARRAY_LEN(conds);
    const verb *best = NULL;
    for (size_t i = 0; i < nt; i++)
        if (match(s, &tab[i]) && (!best || verb_len(tab[i].words) > verb_len(best->words))) best = &tab[i];
    if (!best) {
        if (s->type == SCN_ACTION) FAIL_AT(&s->w[0], "unknown statement '%s'", s->w[0].s);
        FAIL_AT(&s->w[0], "unknown condition '%s'", s->w[0].s);
    }
    if (!strcmp(best->words, "model")) return check_model(path, s, err);
    if (!strcmp(best->words, "fault")) return check_fault(path, s, err);
    size_t first = verb_len(best->words);
    t0_status st = check_args(path, s, first, best, err);
    if (st != T0_OK) return st;
    if (s->type != SCN_ACTION && best->minpos == 3) {
        /* NAME OP N */
        if (!is_op(s->w[first + 1].s)) FAIL_AT(&s->w[first + 1], "expected a comparison (>= <= == != > <), got '%s'", s->w[first + 1].s);
        if (!check_value('u', s->w[first + 2].s)) FAIL_AT(&s->w[first + 2], "expected a number, got '%s'", s->w[first + 2].s);
        if (!strcmp(best->words, "count") && strcmp(s->w[1].s, "pods") && strcmp(s->w[1].s, "cronjobs") &&
            strcmp(s->w[1].s, "jobs"))
            FAIL_AT(&s->w[1], "count what? pods, cronjobs or jobs, got '%s'", s->w[1].s);
    }
    if (!strcmp(best->words, "violations")) {
        if (!is_op(s->w[1].s)) FAIL_AT(&s->w[1], "expected a comparison, got '%s'", s->w[1].s);
        if (!check_value('u', s->w[2].s)) FAIL_AT(&s->w[2], "expected a number, got '%s'", s->w[2].s);
    }
    if (!strcmp(best->words, "manager") && strcmp(s->w[2].s, "leader") && strcmp(s->w[2].s, "ready") &&
        strcmp(s->w[2].s, "not-leader") && strcmp(s->w[2].s, "not-ready") && strcmp(s->w[2].s, "crashed"))
        FAIL_AT(&s->w[2], "manager condition: leader, not-leader, ready, not-ready or crashed, got '%s'", s->w[2].s);
    if (!strcmp(best->words, "state") && (s->n != 3 || !scn_tok_is_kv(&s->w[2])))
        FAIL_AT(&s->w[s->n - 1], "state needs: state ID KEY=VALUE");
    if (!strcmp(best->words, "outage")) {
        const char *what = s->w[1].s, *sw = s->w[2].s;
        bool b;
        if (strcmp(what, "mongo") && strcmp(what, "nats") && strcmp(what, "s3"))
            FAIL_AT(&s->w[1], "outage of what? mongo, nats or s3, got '%s'", what);
        if (!scn_parse_bool(sw, &b)) FAIL_AT(&s->w[2], "outage %s on|off, got '%s'", what, sw);
    }
    if (!strcmp(best->words, "publish")) {
        const char *ev = s->w[1].s;
        const char *dot = strchr(ev, '.');
        if (!dot || (strncmp(ev, "bot.", 4) && strncmp(ev, "schedule.", 9)) || payload_op_parse(dot + 1) < 0)
            FAIL_AT(&s->w[1], "publish what? bot.created|updated|deleted, schedule.created|updated|deleted or raw, got '%s'", ev);
        for (size_t i = 3; i < s->n; i++)
            if (!scn_tok_is_kv(&s->w[i]) && strcmp(s->w[i].s, "wrapped"))
                FAIL_AT(&s->w[i], "unexpected '%s' (only 'wrapped' and KEY=VALUE may follow the id)", s->w[i].s);
    }
    if (!strcmp(best->words, "store put-broken") && s->n == 4 && strcmp(s->w[3].s, "schedule"))
        FAIL_AT(&s->w[3], "store put-broken ID [schedule], got '%s'", s->w[3].s);
    if (!strcmp(best->words, "cronjob-controller") && strcmp(s->w[1].s, "down") && strcmp(s->w[1].s, "up"))
        FAIL_AT(&s->w[1], "cronjob-controller down|up, got '%s'", s->w[1].s);
    if (!strcmp(best->words, "end")) {
        int64_t d;
        if (!scn_parse_duration(s->w[1].s, &d)) FAIL_AT(&s->w[1], "end needs a duration, got '%s'", s->w[1].s);
    }
    return T0_OK;
}

/* ---- lines and time prefixes ---------------------------------------------------------------------- */
static void stmt_free(scn_stmt *s)
{
    for (size_t i = 0; i < s->n; i++) free(s->w[i].s);
    free(s->w);
    free(s->text);
}

void scn_script_free(scn_script *sc)
{
    if (!sc) return;
    for (size_t i = 0; i < sc->n; i++) stmt_free(&sc->st[i]);
    free(sc->st);
    free(sc->path);
    free(sc);
}

/* drop the first K words of S */
static void shift(scn_stmt *s, size_t k)
{
    for (size_t i = 0; i < k; i++) free(s->w[i].s);
    memmove(s->w, s->w + k, (s->n - k) * sizeof *s->w);
    s->n -= k;
}

t0_status scn_parse(const char *path, const char *text, scn_script **out, t0_err *err)
{
    scn_script *sc = calloc(1, sizeof *sc);
    if (!sc || !(sc->path = strdup(path))) {
        free(sc);
        return t0_fail(err, T0_ENOMEM, "%s: out of memory", path);
    }
    int64_t now = 0;
    int lineno = 0;
    t0_status st = T0_OK;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = strndup(p, len);
        p += len + (nl ? 1 : 0);
        lineno++;
        if (!line) {
            st = t0_fail(err, T0_ENOMEM, "%s: out of memory", path);
            break;
        }
        scn_stmt s = {.line = lineno};
        st = tokenize(path, lineno, line, &s.w, &s.n, err);
        if (st != T0_OK) {
            free(line);
            break;
        }
        /* the statement's text without comment and surrounding blanks */
        if (s.n) {
            const char *a = line + s.w[0].col - 1;
            const char *hash = NULL;
            bool q = false;
            char qc = 0;
            for (const char *c = a; *c; c++) {
                if (q) {
                    if (*c == qc) q = false;
                } else if (*c == '"' || *c == '\'') q = true, qc = *c;
                else if (*c == '#' && (c == a || c[-1] == ' ' || c[-1] == '\t')) {
                    hash = c;
                    break;
                }
            }
            size_t tl = hash ? (size_t)(hash - a) : strlen(a);
            while (tl && (a[tl - 1] == ' ' || a[tl - 1] == '\t' || a[tl - 1] == '\r')) tl--;
            s.text = strndup(a, tl);
        }
        free(line);
        if (!s.n) {
            free(s.w);
            continue;
        }
        /* time prefix: at T / after T, alone or followed by a statement */
        if (!strcmp(s.w[0].s, "at") || !strcmp(s.w[0].s, "after")) {
            int64_t d;
            bool abs = !strcmp(s.w[0].s, "at");
            if (s.n < 2 || !scn_parse_duration(s.w[1].s, &d)) {
                st = t0_fail(err, T0_EINVAL, "%s:%d:%d: '%s' needs a duration like 10s, 1m30s, 2h, 250ms", path, lineno,
                             s.n < 2 ? s.w[0].col : s.w[1].col, s.w[0].s);
                stmt_free(&s);
                break;
            }
            int64_t t = abs ? d : now + d;
            if (t < now) {
                st = t0_fail(err, T0_EINVAL, "%s:%d:%d: time goes backwards (at %s is before the previous step)", path,
                             lineno, s.w[1].col, s.w[1].s);
                stmt_free(&s);
                break;
            }
            now = t;
            shift(&s, 2);
            if (!s.n) {
                stmt_free(&s);
                continue;
            }
        }
        s.at_ms = now;
        if (!strcmp(s.w[0].s, "within")) {
            if (s.n < 3 || !scn_parse_duration(s.w[1].s, &s.within_ms) || strcmp(s.w[2].s, "expect")) {
                st = t0_fail(err, T0_EINVAL, "%s:%d:%d: expected 'within DURATION expect CONDITION'", path, lineno, s.w[0].col);
                stmt_free(&s);
                break;
            }
            shift(&s, 3);
            s.type = SCN_EXPECT;
        } else if (!strcmp(s.w[0].s, "expect")) {
            shift(&s, 1);
            s.type = SCN_EXPECT;
        } else if (!strcmp(s.w[0].s, "always")) {
            shift(&s, 1);
            s.type = SCN_ALWAYS;
        }
        if (!s.n) {
            st = t0_fail(err, T0_EINVAL, "%s:%d:1: a condition is missing", path, lineno);
            stmt_free(&s);
            break;
        }
        st = check_stmt(path, &s, err);
        if (st != T0_OK) {
            stmt_free(&s);
            break;
        }
        if (sc->n == sc->cap) {
            size_t nc = sc->cap ? sc->cap * 2 : 32;
            scn_stmt *ns = realloc(sc->st, nc * sizeof *ns);
            if (!ns) {
                stmt_free(&s);
                st = t0_fail(err, T0_ENOMEM, "%s: out of memory", path);
                break;
            }
            sc->st = ns;
            sc->cap = nc;
        }
        sc->st[sc->n++] = s;
    }
    if (st != T0_OK) {
        scn_script_free(sc);
        return st;
    }
    *out = sc;
    return T0_OK;
}

t0_status scn_parse_file(const char *path, scn_script **out, t0_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return t0_fail(err, T0_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (n + 1 == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf) return t0_fail(err, T0_ENOMEM, "%s: out of memory", path);
    buf[n] = '\0';
    t0_status st = scn_parse(path, buf, out, err);
    free(buf);
    return st;
}
