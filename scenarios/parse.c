/* parse.c: the scenario language's lines: tokenizer, time prefixes, `within`/`expect`/`always`, the
 * error sink that reports every error of a file, and the script's arena (see docs/scenarios.md). The
 * statements themselves are checked and typed by the grammar (grammar.c). */
#include "scenarios/scn.h"

#include <ctype.h>
#include <errno.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "scenarios/lang.h"

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

/* ---- the arena ------------------------------------------------------------------------------------ */
typedef struct arena_blk {
    struct arena_blk *next;
    size_t used, cap;
    alignas(max_align_t) unsigned char data[];
} arena_blk;

struct scn_arena {
    arena_blk *blk;
    cJSON **json;
    size_t njson, capjson;
};

scn_arena *scn_arena_new(void) { return calloc(1, sizeof(scn_arena)); }

void scn_arena_free(scn_arena *a)
{
    if (!a) return;
    for (arena_blk *b = a->blk, *nx; b; b = nx) {
        nx = b->next;
        free(b);
    }
    for (size_t i = 0; i < a->njson; i++) cJSON_Delete(a->json[i]);
    free(a->json);
    free(a);
}

void *scn_arena_alloc(scn_arena *a, size_t n)
{
    const size_t al = alignof(max_align_t);
    n = (n + al - 1) / al * al;
    if (!n) n = al;
    arena_blk *b = a->blk;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        b = calloc(1, sizeof *b + cap);
        if (!b) return NULL;
        b->cap = cap;
        b->next = a->blk;
        a->blk = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

char *scn_arena_strdup(scn_arena *a, const char *s)
{
    size_t l = strlen(s);
    char *d = scn_arena_alloc(a, l + 1);
    if (d) memcpy(d, s, l + 1);
    return d;
}

cJSON *scn_arena_json(scn_arena *a, cJSON *j)
{
    if (!j) return NULL;
    if (a->njson == a->capjson) {
        size_t nc = a->capjson ? 2 * a->capjson : 16;
        cJSON **nj = realloc(a->json, nc * sizeof *nj);
        if (!nj) {
            cJSON_Delete(j);
            return NULL;
        }
        a->json = nj;
        a->capjson = nc;
    }
    a->json[a->njson++] = j;
    return j;
}

/* ---- errors ------------------------------------------------------------------------------------------ */
void scn_errors_free(scn_errors *e)
{
    if (!e) return;
    for (size_t i = 0; i < e->n; i++) free(e->msg[i]);
    free(e->msg);
    e->msg = NULL;
    e->n = e->cap = 0;
}

static void errors_add(scn_pctx *p, const char *msg)
{
    scn_errors *e = p->errors;
    if (!e) return;
    if (e->n == e->cap) {
        size_t nc = e->cap ? 2 * e->cap : 8;
        char **nm = realloc(e->msg, nc * sizeof *nm);
        if (!nm) {
            p->oom = true;
            return;
        }
        e->msg = nm;
        e->cap = nc;
    }
    if (!(e->msg[e->n] = strdup(msg))) p->oom = true;
    else e->n++;
}

void scn_perr(scn_pctx *p, int col, const char *fmt, ...)
{
    char what[400], msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(msg, sizeof msg, "%s:%d:%d: %s", p->path, p->line, col, what);
    if (!p->nerr) t0_fail(p->err, T0_EINVAL, "%s", msg);
    p->nerr++;
    errors_add(p, msg);
}

const char *scn_pstr(scn_pctx *p, const char *s)
{
    char *d = scn_arena_strdup(p->arena, s);
    if (!d) p->oom = true;
    return d ? d : "";
}

bool scn_tok_is_kv(const scn_tok *t) { return !t->quoted && t->s[0] != '=' && strchr(t->s, '=') && !strchr("<>!", t->s[0]); }

/* ---- tokenizer ---------------------------------------------------------------------------------- */
/* Words are separated by blanks. A word may contain "..." or '...' (quotes removed; \" and \\ escape in
 * double quotes) and JSON objects/arrays {...} [...] (kept verbatim, balanced, strings respected). '#'
 * outside quotes and JSON starts a comment. The words of LINE go into BUF (strlen(LINE) + 1 bytes: a word
 * is never longer than its source and blanks separate words) and W (strlen(LINE) / 2 + 1 entries).
 * Returns the number of words, or -1 after reporting a malformed word. */
static long tokenize(scn_pctx *pc, const char *line, char *buf, scn_tok *w)
{
    const char *p = line;
    size_t bl = 0, cnt = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r') p++;
        if (!*p || *p == '#') break;
        int col = (int)(p - line) + 1;
        size_t start = bl;
        bool quoted_whole = (*p == '"' || *p == '\'');
        while (*p && *p != ' ' && *p != '\t' && *p != '\r') {
            if (*p == '"' || *p == '\'') {
                char q = *p++;
                while (*p && *p != q) {
                    if (q == '"' && *p == '\\' && (p[1] == '"' || p[1] == '\\')) p++;
                    buf[bl++] = *p++;
                }
                if (!*p) {
                    scn_perr(pc, col, "unterminated %c quote", q);
                    return -1;
                }
                p++;
            } else if (*p == '{' || *p == '[') {
                int depth = 0;
                bool instr = false;
                const char *js = p;
                do {
                    char c = *p;
                    if (!c) {
                        scn_perr(pc, (int)(js - line) + 1, "unbalanced JSON value");
                        return -1;
                    }
                    if (instr) {
                        if (c == '\\' && p[1]) buf[bl++] = *p++;
                        else if (c == '"') instr = false;
                    } else if (c == '"') instr = true;
                    else if (c == '{' || c == '[') depth++;
                    else if (c == '}' || c == ']') depth--;
                    buf[bl++] = *p++;
                } while (depth > 0);
            } else if (*p == '#' && bl == start) {
                break;
            } else {
                buf[bl++] = *p++;
            }
        }
        buf[bl++] = '\0';
        w[cnt++] = (scn_tok){buf + start, col, quoted_whole};
    }
    return (long)cnt;
}

/* The statement's text: from its first word, without a comment and surrounding blanks. */
static const char *stmt_text(scn_pctx *pc, const char *line, int col)
{
    const char *a = line + col - 1;
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
    char *t = scn_arena_alloc(pc->arena, tl + 1);
    if (!t) {
        pc->oom = true;
        return "";
    }
    memcpy(t, a, tl);
    t[tl] = '\0';
    return t;
}

/* ---- lines and time prefixes ---------------------------------------------------------------------- */
void scn_script_free(scn_script *sc)
{
    if (!sc) return;
    scn_arena_free(sc->arena);
    free(sc->st);
    free(sc->path);
    free(sc);
}

static bool script_add(scn_script *sc, const scn_stmt *s)
{
    if (sc->n == sc->cap) {
        size_t nc = sc->cap ? sc->cap * 2 : 32;
        scn_stmt *ns = realloc(sc->st, nc * sizeof *ns);
        if (!ns) return false;
        sc->st = ns;
        sc->cap = nc;
    }
    sc->st[sc->n++] = *s;
    return true;
}

/* One line's statement, if any, into SC. *NOW is the time of the previous step. */
static void parse_line(scn_pctx *pc, scn_script *sc, const char *line, char *buf, scn_tok *w, int64_t *now)
{
    long nw = tokenize(pc, line, buf, w);
    if (nw <= 0) return;
    size_t n = (size_t)nw;
    scn_stmt s = {.line = pc->line, .text = stmt_text(pc, line, w[0].col)};
    pc->text_col = w[0].col;
    /* time prefix: at T / after T, alone or followed by a statement */
    if (!strcmp(w[0].s, "at") || !strcmp(w[0].s, "after")) {
        int64_t d;
        if (n < 2 || !scn_parse_duration(w[1].s, &d)) {
            scn_perr(pc, n < 2 ? w[0].col : w[1].col, "'%s' needs a duration like 10s, 1m30s, 2h, 250ms", w[0].s);
            return;
        }
        int64_t t = w[0].s[1] == 't' ? d : *now + d;
        if (t < *now) {
            scn_perr(pc, w[1].col, "time goes backwards (at %s is before the previous step)", w[1].s);
            return;
        }
        *now = t;
        w += 2, n -= 2;
        if (!n) return;
    }
    s.at_ms = *now;
    if (!strcmp(w[0].s, "within")) {
        if (n < 3 || !scn_parse_duration(w[1].s, &s.within_ms) || strcmp(w[2].s, "expect")) {
            scn_perr(pc, w[0].col, "expected 'within DURATION expect CONDITION'");
            return;
        }
        w += 3, n -= 3;
        s.type = SCN_EXPECT;
    } else if (!strcmp(w[0].s, "expect")) {
        w++, n--;
        s.type = SCN_EXPECT;
    } else if (!strcmp(w[0].s, "always")) {
        w++, n--;
        s.type = SCN_ALWAYS;
    } else if (!strcmp(w[0].s, "never")) {
        w++, n--;
        s.type = SCN_NEVER;
    }
    if (!n) {
        scn_perr(pc, 1, "a condition is missing");
        return;
    }
    if (scn_grammar_parse(pc, &s, w, n) && !script_add(sc, &s)) pc->oom = true;
}

t0_status scn_parse(const char *path, const char *text, scn_script **out, scn_errors *errors, t0_err *err)
{
    *out = NULL;
    scn_script *sc = calloc(1, sizeof *sc);
    if (!sc || !(sc->path = strdup(path)) || !(sc->arena = scn_arena_new())) {
        scn_script_free(sc);
        return t0_fail(err, T0_ENOMEM, "%s: out of memory", path);
    }
    scn_pctx pc = {.path = path, .arena = sc->arena, .errors = errors, .err = err};
    size_t cap = 0;
    char *line = NULL, *buf = NULL;
    scn_tok *w = NULL;
    int64_t now = 0;
    for (const char *p = text; *p && !pc.oom;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len + 1 > cap) { /* line, its words and their tokens: sized for the longest line so far */
            cap = len + 1 > 2 * cap ? len + 1 : 2 * cap;
            free(line), free(buf), free(w);
            line = malloc(cap), buf = malloc(cap), w = malloc((cap / 2 + 1) * sizeof *w);
            if (!line || !buf || !w) {
                pc.oom = true;
                break;
            }
        }
        memcpy(line, p, len);
        line[len] = '\0';
        p += len + (nl ? 1 : 0);
        pc.line++;
        parse_line(&pc, sc, line, buf, w, &now);
    }
    free(line), free(buf), free(w);
    if (pc.oom) {
        scn_script_free(sc);
        return t0_fail(err, T0_ENOMEM, "%s: out of memory", path);
    }
    if (pc.nerr) {
        if (pc.nerr > 1 && err) {
            size_t l = strlen(err->msg);
            snprintf(err->msg + l, sizeof err->msg - l, " (and %u more error%s)", pc.nerr - 1, pc.nerr > 2 ? "s" : "");
        }
        scn_script_free(sc);
        return T0_EINVAL;
    }
    *out = sc;
    return T0_OK;
}

t0_status scn_parse_file(const char *path, scn_script **out, scn_errors *errors, t0_err *err)
{
    *out = NULL;
    char *buf = NULL;
    t0_status rst = fs_read_host(path, (size_t)64 << 20, &buf, NULL, err); /* a soak's shrunk script is kBs */
    if (rst != T0_OK) return rst;
    t0_status st = scn_parse(path, buf, out, errors, err);
    free(buf);
    return st;
}
