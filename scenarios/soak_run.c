/* soak_run.c: what soak and sweep share around one run: running a scenario text and classifying its first
 * failure, and shrinking a failing scenario to a minimal one (docs/soak.md). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "scenarios/soak_int.h"
#include "sim/faults.h"

/* ---- small helpers ------------------------------------------------------------------------------ */
void soak_bprintf(soak_buf *b, const char *fmt, ...)
{
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap <= b->len + (size_t)n) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

/* ---- running one scenario text ------------------------------------------------------------------- */
const char *const soak_fam_names[] = {"kube", "kube-watch", "nats", "mongo", "s3", "kubelet", "podfs"};

static int soak_family(const char *p)
{
    if (!strncmp(p, "kube/", 5)) return strstr(p, "watch") ? SOAK_FAM_WATCH : SOAK_FAM_KUBE;
    if (!strncmp(p, "nats/", 5)) return SOAK_FAM_NATS;
    if (!strncmp(p, "mongo/", 6)) return SOAK_FAM_MONGO;
    if (!strncmp(p, "s3/", 3)) return SOAK_FAM_S3;
    if (!strncmp(p, "podfs/", 6)) return SOAK_FAM_PODFS;
    return SOAK_FAM_KUBELET;
}

static void soak_on_faults(void *ud, const struct sim_faults *f)
{
    soak_fault_tally *t = ud;
    size_t n;
    const sim_fault_point *pts = sim_faults_points(&n);
    for (size_t i = 0; i < n; i++) {
        t->fam[soak_family(pts[i].name)] += sim_faults_injected(f, pts[i].name);
        if (t->calls) t->calls[i] = sim_faults_calls(f, pts[i].name);
    }
}

/* "[+HH:MM:SS.mmm] ..." -> ms; -1 when malformed. */
static int64_t soak_line_ms(const char *l)
{
    unsigned h, m, s, ms;
    if (sscanf(l, "[+%u:%u:%u.%u]", &h, &m, &s, &ms) != 4) return -1;
    return (((int64_t)h * 60 + m) * 60 + s) * 1000 + ms;
}

/* Find the first failure in the runner's quiet output. */
static void soak_classify(const char *out, soak_outcome *oc)
{
    oc->sig[0] = 0;
    oc->fail_ms = -1;
    for (const char *l = out; l && *l;) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        const char *inv = memmem(l, len, "] invariant ", 12), *exp = memmem(l, len, "] expect FAIL ", 14);
        if (inv) {
            const char *name = inv + 12, *sp = strchr(name, ' ');
            snprintf(oc->sig, sizeof oc->sig, "invariant %.*s", sp ? (int)(sp - name) : 40, name);
            oc->fail_ms = soak_line_ms(l);
            return; /* an invariant outranks any expectation */
        }
        if (exp && !oc->sig[0]) {
            const char *p = exp + 14, *e = l + len, *c = memmem(p, (size_t)(e - p), ": ", 2);
            if (c) p = c + 2;
            const char *obs = memmem(p, (size_t)(e - p), " -- observed", 12);
            snprintf(oc->sig, sizeof oc->sig, "expect %.*s", (int)((obs ? obs : e) - p), p);
            oc->fail_ms = soak_line_ms(l);
        }
        l = nl ? nl + 1 : NULL;
    }
}

t0_status soak_run_script(const scn_script *sc, uint64_t seed, uint64_t crash_at, soak_fault_tally *tally,
                         scn_coverage *cov, soak_outcome *oc, t0_err *err)
{
    memset(oc, 0, sizeof *oc);
    oc->fail_ms = -1;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out) return t0_fail(err, T0_ENOMEM, "soak: open_memstream failed");
    scn_run_opts ro = {.seed = seed, .quiet = true, .untraced = true, .out = out, .cov = cov, .log_level = T0_LOG_OFF,
                       .crash_at_effect = crash_at, .crash_restart_ms = 3000,
                       .on_faults = tally ? soak_on_faults : NULL, .on_faults_ud = tally};
    scn_result res;
    t0_status st = scn_run(sc, &ro, &res, err);
    fclose(out);
    if (st == T0_OK) {
        oc->violations = res.violations;
        oc->exp_failed = res.failed;
        oc->violated = res.violations > 0;
        oc->failed = res.violations || res.failed;
        oc->end_ms = res.end_ms;
        oc->effects = res.effects;
        if (oc->failed) soak_classify(buf, oc);
    }
    free(buf);
    return st;
}

t0_status soak_run_text(const char *name, const char *text, uint64_t seed, soak_fault_tally *tally,
                       scn_coverage *cov, soak_outcome *oc, t0_err *err)
{
    scn_script *sc = NULL;
    t0_status st = scn_parse(name, text, &sc, NULL, err);
    if (st != T0_OK) return st;
    st = soak_run_script(sc, seed, 0, tally, cov, oc, err);
    scn_script_free(sc);
    return st;
}

bool soak_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

/* ---- shrinking ------------------------------------------------------------------------------------ */
typedef struct soak_shrink {
    char **line;   /* the scenario's statement lines (comments and blank lines dropped); borrowed */
    size_t n;
    uint64_t seed;
    const char *sig;
    unsigned runs, max_runs;
    double deadline;
    size_t *ends; /* ends[i]: the line that ends the window line I opens ("X on" -> "X off"); n when none
                   * (see soak_keeps_windows) */
    bool *kept;   /* scratch: which lines a candidate keeps */
} soak_shrink;

static char *soak_join(char **line, const size_t *idx, size_t n)
{
    soak_buf b = {0};
    for (size_t i = 0; i < n; i++) soak_bprintf(&b, "%s\n", line[idx[i]]);
    if (!b.s) soak_bprintf(&b, "%s", "");
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* A fault statement of the generator (faults, outages, crashes, node loss, evictions, a second manager),
 * with or without its "at T" prefix. */
static bool soak_fault_line(const char *l)
{
    if (!strncmp(l, "at ", 3)) {
        const char *sp = strchr(l + 3, ' ');
        if (!sp) return false;
        l = sp + 1;
    }
    static const char *const heads[] = {"fault ",  "outage ",       "crash ",        "kill ",
                                        "evict ",  "start manager", "stop manager",  "mongo-restore ",
                                        "restart ", "oom-kill ",      "clock "};
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++)
        if (!strncmp(l, heads[i], strlen(heads[i]))) return true;
    return false;
}

/* soak_stmt: L without its "at T " prefix; *at gets T (-1: untimed) */
static const char *soak_stmt(const char *l, int64_t *at)
{
    char d[32];
    *at = -1;
    if (strncmp(l, "at ", 3) || sscanf(l + 3, "%31s", d) != 1 || !scn_parse_duration(d, at)) return l;
    const char *sp = strchr(l + 3, ' ');
    return sp ? sp + 1 : l;
}

/* soak_closer: the statement that closes window statement ST into OUT ("X on" -> "X off"; "fault P ...
 * [manager=M]" -> "clear fault P [manager=M]", a partition or a fault left until cleared); false when ST opens
 * no window */
static bool soak_closer(const char *st, char *out, size_t cap)
{
    size_t len = strlen(st);
    if (len >= 3 && !strcmp(st + len - 3, " on")) return snprintf(out, cap, "%.*s off", (int)(len - 3), st) < (int)cap;
    char point[200];
    if (strncmp(st, "fault ", 6) || sscanf(st + 6, "%199s", point) != 1) return false;
    const char *mgr = strstr(st, " manager=");
    return snprintf(out, cap, "clear fault %s%s", point, mgr ? mgr : "") < (int)cap;
}

/* soak_find_ends: for each line opening a window ("mongo-restore on", "outage mongo on", a fault on every
 * API call of one manager), the first later line that closes it (soak_closer), if any. Also a window that closed
 * after the failure stays closed: a shrunk scenario can fail later than the original, and a restore or a
 * partition left open for good would make it fail for a documented reason instead (soak_keeps_windows). */
static void soak_find_ends(soak_shrink *s)
{
    for (size_t i = 0; i < s->n; i++) {
        s->ends[i] = s->n;
        int64_t at;
        char close[256];
        if (!soak_closer(soak_stmt(s->line[i], &at), close, sizeof close)) continue;
        for (size_t j = i + 1; j < s->n; j++)
            if (!strcmp(soak_stmt(s->line[j], &at), close)) {
                s->ends[i] = j;
                break;
            }
    }
}

/* soak_keeps_windows: a candidate stays in the generator's fault model: every window it opens that the
 * original closed is closed too. Without this, shrinking can drop the end of a 20 s
 * MongoDB restore and land on a restore that never ends: a documented limitation (two empty reads a
 * resync apart are believed), not the failure it started from (soak seed 300027 did). */
static bool soak_keeps_windows(soak_shrink *s, const size_t *idx, size_t n)
{
    memset(s->kept, 0, s->n * sizeof *s->kept);
    for (size_t i = 0; i < n; i++) s->kept[idx[i]] = true;
    for (size_t i = 0; i < n; i++)
        if (s->ends[idx[i]] < s->n && !s->kept[s->ends[idx[i]]]) return false;
    return true;
}

/* Does the scenario made of these lines still fail the same way (same signature)? A failed expectation
 * counts only while the faults cause it: the same lines without their fault statements must pass, or
 * shrinking would end at an expectation left failing because the statements it needed were removed
 * (a bot never defined never runs). */
static bool soak_still_fails(soak_shrink *s, const size_t *idx, size_t n)
{
    if (s->runs >= s->max_runs || t0_mono_s() > s->deadline) return false;
    if (!soak_keeps_windows(s, idx, n)) return false; /* no run: it leaves the fault model */
    s->runs++;
    char *text = soak_join(s->line, idx, n);
    if (!text) return false;
    soak_outcome oc;
    t0_err err = {0};
    bool same = soak_run_text("shrink", text, s->seed, NULL, NULL, &oc, &err) == T0_OK && oc.failed &&
                !strcmp(oc.sig, s->sig);
    free(text);
    if (!same || strncmp(s->sig, "expect ", 7) != 0) return same;
    size_t *calm = malloc((n + 1) * sizeof *calm), k = 0;
    if (!calm) return false;
    for (size_t i = 0; i < n; i++)
        if (!soak_fault_line(s->line[idx[i]])) calm[k++] = idx[i];
    s->runs++;
    text = soak_join(s->line, calm, k);
    free(calm);
    if (!text) return false;
    bool passes = soak_run_text("shrink", text, s->seed, NULL, NULL, &oc, &err) == T0_OK && !oc.failed;
    free(text);
    return passes;
}

char *soak_shrink_text(const char *text, uint64_t seed, const char *sig, int64_t fail_ms, unsigned max_runs,
                       double secs, unsigned *runs)
{
    char *copy = strdup(text);
    size_t cap = 64, n = 0;
    char **line = malloc(cap * sizeof *line);
    size_t *idx = NULL, *cand = NULL, *ends = NULL;
    bool *kept = NULL;
    char *res = NULL;
    if (!copy || !line) goto out;
    for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        while (*l == ' ') l++;
        if (!*l || *l == '#') continue;
        if (n == cap) {
            char **nl = realloc(line, (cap *= 2) * sizeof *line);
            if (!nl) goto out;
            line = nl;
        }
        line[n++] = l;
    }
    idx = malloc((n + 1) * sizeof *idx);
    cand = malloc((n + 1) * sizeof *cand);
    ends = malloc((n + 1) * sizeof *ends);
    kept = malloc((n + 1) * sizeof *kept);
    if (!idx || !cand || !ends || !kept) goto out;
    soak_shrink S = {line, n, seed, sig, 0, max_runs, t0_mono_s() + secs, ends, kept};
    soak_find_ends(&S);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) idx[m++] = i;
    /* first: everything timed after the failure, and the end line, goes (but the ends of windows opened
     * before it: kept[] marks them here) */
    if (fail_ms >= 0) {
        size_t k = 0;
        memset(kept, 0, n * sizeof *kept);
        for (size_t i = 0; i < n; i++) {
            int64_t at;
            soak_stmt(line[i], &at);
            if (ends[i] < n && at <= fail_ms) kept[ends[i]] = true;
        }
        for (size_t i = 0; i < m; i++) {
            const char *l = line[idx[i]];
            int64_t at;
            if (!strncmp(l, "end ", 4)) continue;
            soak_stmt(l, &at);
            if (at > fail_ms && !kept[idx[i]]) continue;
            cand[k++] = idx[i];
        }
        if (k < m && soak_still_fails(&S, cand, k)) {
            memcpy(idx, cand, k * sizeof *idx);
            m = k;
        }
    }
    /* ddmin: try removing each of `parts` chunks; on success keep the rest, else refine */
    size_t parts = 2;
    while (m >= 2) {
        size_t chunk = (m + parts - 1) / parts;
        bool removed = false;
        for (size_t start = 0; start < m; start += chunk) {
            size_t end = start + chunk < m ? start + chunk : m, k = 0;
            for (size_t i = 0; i < m; i++)
                if (i < start || i >= end) cand[k++] = idx[i];
            if (soak_still_fails(&S, cand, k)) {
                memcpy(idx, cand, k * sizeof *idx);
                m = k;
                parts = parts > 2 ? parts - 1 : 2;
                removed = true;
                break;
            }
        }
        if (S.runs >= S.max_runs || t0_mono_s() > S.deadline) break;
        if (!removed) {
            if (parts >= m) break;
            parts = parts * 2 < m ? parts * 2 : m;
        }
    }
    *runs = S.runs;
    res = soak_join(line, idx, m);
out:
    free(idx);
    free(cand);
    free(ends);
    free(kept);
    free(line);
    free(copy);
    return res;
}

