/* fsm.c: steps, validates, exports and measures coverage of table-driven FSMs (see fsm.h). */
#include "fsm/fsm.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define RESOLVE_CAP 32 /* rows one (state, event) pair may have; the validator enforces it */

const char *fsm_state_name(const fsm_table *t, int s)
{
    if (s == FSM_ANY) return "*";
    if (s == FSM_SAME) return "(same)";
    return (s >= 0 && s < t->nstates && t->state_names[s]) ? t->state_names[s] : "?";
}

const char *fsm_event_name(const fsm_table *t, int e)
{
    return (e >= 0 && e < t->nevents && t->event_names[e]) ? t->event_names[e] : "?";
}

const char *fsm_effect_name(const fsm_table *t, int fx)
{
    return (fx >= 0 && fx < t->neffects && t->effect_names[fx]) ? t->effect_names[fx] : "?";
}

const char *fsm_guard_name(const fsm_table *t, int g)
{
    return (g > 0 && g < t->nguards && t->guards[g].name) ? t->guards[g].name : "?";
}

static int name_index(const char *const *names, int n, const char *name)
{
    for (int i = 0; name && i < n; i++)
        if (names[i] && strcmp(names[i], name) == 0) return i;
    return -1;
}

int fsm_state_index(const fsm_table *t, const char *name) { return name_index(t->state_names, t->nstates, name); }
int fsm_event_index(const fsm_table *t, const char *name) { return name_index(t->event_names, t->nevents, name); }

/* index_build: T's index (once; false when memory runs out, and then the rows are scanned) */
static bool index_build(const fsm_table *t)
{
    fsm_index *x = t->index;
    if (atomic_load_explicit(&x->ready, memory_order_acquire)) return x->start != NULL;
    pthread_mutex_lock(&x->mu);
    if (!atomic_load_explicit(&x->ready, memory_order_relaxed)) {
        size_t groups = (size_t)(t->nstates + 1) * (size_t)t->nevents;
        unsigned *start = calloc(groups + 1, sizeof *start), *rows = malloc((t->nrows ? t->nrows : 1) * sizeof *rows);
        if (start && rows) {
            for (size_t i = 0; i < t->nrows; i++) { /* counting sort by group, stable: table order within a group */
                const fsm_row *r = &t->rows[i];
                int s = r->from == FSM_ANY ? t->nstates : r->from;
                if (s >= 0 && s <= t->nstates && r->event >= 0 && r->event < t->nevents)
                    start[(size_t)s * (size_t)t->nevents + (size_t)r->event + 1]++;
            }
            for (size_t g = 0; g < groups; g++) start[g + 1] += start[g];
            unsigned *fill = calloc(groups ? groups : 1, sizeof *fill);
            if (fill) {
                for (size_t i = 0; i < t->nrows; i++) {
                    const fsm_row *r = &t->rows[i];
                    int s = r->from == FSM_ANY ? t->nstates : r->from;
                    if (s < 0 || s > t->nstates || r->event < 0 || r->event >= t->nevents) continue;
                    size_t g = (size_t)s * (size_t)t->nevents + (size_t)r->event;
                    rows[start[g] + fill[g]++] = (unsigned)i;
                }
                free(fill);
                x->start = start;
                x->rows = rows;
                start = rows = NULL;
            }
        }
        free(start);
        free(rows);
        atomic_store_explicit(&x->ready, 1, memory_order_release);
    }
    pthread_mutex_unlock(&x->mu);
    return x->start != NULL;
}

size_t fsm_resolve(const fsm_table *t, int state, int event, const fsm_row **out, size_t cap)
{
    if (t->index && state >= 0 && state < t->nstates && event >= 0 && event < t->nevents && index_build(t)) {
        const fsm_index *x = t->index;
        for (int pass = 0; pass < 2; pass++) { /* the state's own rows; when it has none, the any-state rows */
            size_t g = (size_t)(pass ? t->nstates : state) * (size_t)t->nevents + (size_t)event;
            size_t n = x->start[g + 1] - x->start[g];
            for (size_t i = 0; i < n && i < cap; i++) out[i] = &t->rows[x->rows[x->start[g] + i]];
            if (n) return n;
        }
        return 0;
    }
    size_t n = 0;
    for (size_t i = 0; i < t->nrows; i++) {
        const fsm_row *r = &t->rows[i];
        if (r->from == state && r->event == event) {
            if (n < cap) out[n] = r;
            n++;
        }
    }
    if (n) return n;
    for (size_t i = 0; i < t->nrows; i++) {
        const fsm_row *r = &t->rows[i];
        if (r->from == FSM_ANY && r->event == event) {
            if (n < cap) out[n] = r;
            n++;
        }
    }
    return n;
}

const char *fsm_format_when(const fsm_table *t, const fsm_row *row, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < FSM_MAX_GUARDS && row->when[i].guard; i++) {
        int w = snprintf(buf + used, used < cap ? cap - used : 0, "%s%s%s", i ? " && " : "",
                         row->when[i].negate ? "!" : "", fsm_guard_name(t, row->when[i].guard));
        if (w > 0) used += (size_t)w;
    }
    return buf;
}

/* Guard values for one step, evaluated at most once each. */
typedef struct guard_memo {
    signed char val[64];
} guard_memo;

static bool lit_holds(const fsm_table *t, const fsm_lit *l, const void *input, guard_memo *m)
{
    int g = l->guard;
    if (g >= 64 || !t->guards[g].fn) return false;
    if (m->val[g] < 0) m->val[g] = t->guards[g].fn(input) ? 1 : 0;
    return (m->val[g] == 1) != l->negate;
}

static bool row_matches(const fsm_table *t, const fsm_row *r, const void *input, guard_memo *m)
{
    for (int i = 0; i < FSM_MAX_GUARDS && r->when[i].guard; i++)
        if (!lit_holds(t, &r->when[i], input, m)) return false;
    return true;
}

t0_status fsm_step(const fsm_table *t, int state, int event, const void *input, const char *key,
                   const fsm_tracer *tracer, fsm_result *out, t0_err *err)
{
    memset(out, 0, sizeof *out);
    out->from = out->to = state;
    out->event = event;
    if (state < 0 || state >= t->nstates || event < 0 || event >= t->nevents)
        return t0_fail(err, T0_EINVAL, "fsm %s: state %d / event %d out of range", t->name, state, event);
    const fsm_row *rows[RESOLVE_CAP];
    size_t n = fsm_resolve(t, state, event, rows, RESOLVE_CAP);
    if (n > RESOLVE_CAP) n = RESOLVE_CAP;
    guard_memo memo;
    memset(memo.val, -1, sizeof memo.val);
    const fsm_row *hit = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!row_matches(t, rows[i], input, &memo)) continue;
        if (hit)
            return t0_fail(err, T0_EINVAL, "fsm %s [%s]: in %s on %s two rows fire (\"%s\" and \"%s\")", t->name,
                           key ? key : "-", fsm_state_name(t, state), fsm_event_name(t, event), hit->why, rows[i]->why);
        hit = rows[i];
    }
    if (!hit)
        return t0_fail(err, T0_EINVAL, "fsm %s [%s]: in %s on %s no row matches", t->name, key ? key : "-",
                       fsm_state_name(t, state), fsm_event_name(t, event));
    out->row = hit;
    out->kind = hit->kind;
    if (hit->kind == FSM_ROW_GO) {
        out->to = hit->to == FSM_SAME ? state : hit->to;
        for (int i = 0; i < FSM_MAX_FX && hit->fx[i]; i++) out->fx[out->nfx++] = hit->fx[i];
    }
    if (tracer && tracer->fn) tracer->fn(tracer->ud, t, key, out);
    if (hit->kind == FSM_ROW_ILLEGAL)
        return t0_fail(err, T0_EILLEGAL, "fsm %s [%s]: event %s is illegal in state %s (%s)", t->name,
                       key ? key : "-", fsm_event_name(t, event), fsm_state_name(t, state), hit->why);
    return T0_OK;
}

/* ---- validation ------------------------------------------------------------------------------ */

typedef struct problems {
    t0_err *err;
    int count;
    size_t used;
} problems;

static void problem(problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(problems *p, const char *fmt, ...)
{
    p->count++;
    if (!p->err) return;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t cap = sizeof p->err->msg;
    if (p->used + 2 >= cap) return;
    int w = snprintf(p->err->msg + p->used, cap - p->used, "%s%s", p->count > 1 ? "\n" : "", line);
    if (w > 0) p->used = p->used + (size_t)w < cap ? p->used + (size_t)w : cap - 1;
}

static void check_row_defs(const fsm_table *t, problems *p)
{
    for (size_t i = 0; i < t->nrows; i++) {
        const fsm_row *r = &t->rows[i];
        if (r->from != FSM_ANY && (r->from < 0 || r->from >= t->nstates))
            problem(p, "row %zu: from-state %d out of range", i, r->from);
        if (r->event < 0 || r->event >= t->nevents) problem(p, "row %zu: event %d out of range", i, r->event);
        if (r->to != FSM_SAME && (r->to < 0 || r->to >= t->nstates))
            problem(p, "row %zu: to-state %d out of range", i, r->to);
        if (!r->why || !*r->why) problem(p, "row %zu: no reason text", i);
        for (int k = 0; k < FSM_MAX_GUARDS && r->when[k].guard; k++) {
            int g = r->when[k].guard;
            if (g < 0 || g >= t->nguards || g >= 64 || !t->guards[g].fn || !t->guards[g].name)
                problem(p, "row %zu (%s): undefined guard %d", i, r->why ? r->why : "", g);
        }
        for (int k = 0; k < FSM_MAX_FX && r->fx[k]; k++) {
            int fx = r->fx[k];
            if (fx < 0 || fx >= t->neffects || !t->effect_names[fx])
                problem(p, "row %zu (%s): undefined effect %d", i, r->why ? r->why : "", fx);
        }
        if (r->kind != FSM_ROW_GO && (r->fx[0] || (r->to != FSM_SAME)))
            problem(p, "row %zu (%s): an ignore/illegal row must not move or emit effects", i, r->why);
    }
}

/* For one (state, event): every combination of the guards its rows test must select exactly one row. */
static void check_pair(const fsm_table *t, int s, int e, problems *p)
{
    const fsm_row *rows[RESOLVE_CAP];
    size_t n = fsm_resolve(t, s, e, rows, RESOLVE_CAP);
    if (n == 0) {
        problem(p, "state %s has no row for event %s (add a row, IGNORE or ILLEGAL)", fsm_state_name(t, s),
                fsm_event_name(t, e));
        return;
    }
    if (n > RESOLVE_CAP) {
        problem(p, "state %s, event %s: more than %d rows", fsm_state_name(t, s), fsm_event_name(t, e), RESOLVE_CAP);
        return;
    }
    int used[FSM_MAX_GUARDS * RESOLVE_CAP], k = 0;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < FSM_MAX_GUARDS && rows[i]->when[j].guard; j++) {
            int g = rows[i]->when[j].guard, seen = 0;
            for (int q = 0; q < k; q++) seen |= used[q] == g;
            if (!seen) used[k++] = g;
        }
    if (k > 12) {
        problem(p, "state %s, event %s: rows test %d guards (at most 12)", fsm_state_name(t, s), fsm_event_name(t, e),
                k);
        return;
    }
    unsigned fired_any[RESOLVE_CAP] = {0};
    for (unsigned a = 0; a < (1u << k); a++) {
        const fsm_row *hit = NULL;
        for (size_t i = 0; i < n; i++) {
            bool ok = true;
            for (int j = 0; ok && j < FSM_MAX_GUARDS && rows[i]->when[j].guard; j++) {
                int g = rows[i]->when[j].guard, bit = 0;
                for (int q = 0; q < k; q++)
                    if (used[q] == g) bit = (a >> q) & 1;
                ok = (bit == 1) != rows[i]->when[j].negate;
            }
            if (!ok) continue;
            fired_any[i] = 1;
            if (hit) {
                char w1[128], w2[128];
                problem(p, "state %s, event %s: overlapping rows \"%s\" [%s] and \"%s\" [%s]", fsm_state_name(t, s),
                        fsm_event_name(t, e), hit->why, fsm_format_when(t, hit, w1, sizeof w1), rows[i]->why,
                        fsm_format_when(t, rows[i], w2, sizeof w2));
                return;
            }
            hit = rows[i];
        }
        if (!hit) {
            char desc[256] = "";
            size_t u = 0;
            for (int q = 0; q < k && u < sizeof desc; q++) {
                int w = snprintf(desc + u, sizeof desc - u, "%s%s%s", q ? " && " : "", (a >> q) & 1 ? "" : "!",
                                 fsm_guard_name(t, used[q]));
                if (w > 0) u += (size_t)w;
            }
            problem(p, "state %s, event %s: no row when %s", fsm_state_name(t, s), fsm_event_name(t, e), desc);
            return;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (!fired_any[i])
            problem(p, "state %s, event %s: row \"%s\" can never fire", fsm_state_name(t, s), fsm_event_name(t, e),
                    rows[i]->why);
}

t0_status fsm_validate(const fsm_table *t, t0_err *err)
{
    problems p = {err, 0, 0};
    if (err) t0_err_clear(err);
    if (!t || t->nstates <= 0 || t->nevents <= 0 || !t->state_names || !t->event_names || !t->rows ||
        !t->effect_names || !t->guards || !t->terminal)
        return t0_fail(err, T0_EINVAL, "fsm table is incomplete (names, rows, guards, effects, terminal)");
    if (t->initial < 0 || t->initial >= t->nstates) problem(&p, "initial state %d out of range", t->initial);
    for (int s = 0; s < t->nstates; s++)
        if (!t->state_names[s]) problem(&p, "state %d has no name", s);
    for (int e = 0; e < t->nevents; e++)
        if (!t->event_names[e]) problem(&p, "event %d has no name", e);
    check_row_defs(t, &p);
    if (p.count) goto done;
    for (int s = 0; s < t->nstates; s++)
        for (int e = 0; e < t->nevents; e++) check_pair(t, s, e, &p);

    /* reachability and exits over the effective GO rows */
    {
        unsigned char *reach = calloc((size_t)t->nstates, 1);
        int *stack = calloc((size_t)t->nstates, sizeof *stack);
        if (!reach || !stack) {
            free(reach);
            free(stack);
            return t0_fail(err, T0_ENOMEM, "fsm %s: out of memory validating", t->name);
        }
        int top = 0;
        reach[t->initial] = 1;
        stack[top++] = t->initial;
        while (top) {
            int s = stack[--top];
            for (int e = 0; e < t->nevents; e++) {
                const fsm_row *rows[RESOLVE_CAP];
                size_t n = fsm_resolve(t, s, e, rows, RESOLVE_CAP);
                for (size_t i = 0; i < n && i < RESOLVE_CAP; i++) {
                    if (rows[i]->kind != FSM_ROW_GO) continue;
                    int to = rows[i]->to == FSM_SAME ? s : rows[i]->to;
                    if (!reach[to]) {
                        reach[to] = 1;
                        stack[top++] = to;
                    }
                }
            }
        }
        for (int s = 0; s < t->nstates; s++) {
            if (!reach[s]) problem(&p, "state %s is unreachable from %s", fsm_state_name(t, s),
                                   fsm_state_name(t, t->initial));
            if (t->terminal[s]) continue;
            bool exit = false;
            for (int e = 0; e < t->nevents && !exit; e++) {
                const fsm_row *rows[RESOLVE_CAP];
                size_t n = fsm_resolve(t, s, e, rows, RESOLVE_CAP);
                for (size_t i = 0; i < n && i < RESOLVE_CAP; i++)
                    if (rows[i]->kind == FSM_ROW_GO && rows[i]->to != FSM_SAME && rows[i]->to != s) exit = true;
            }
            if (!exit) problem(&p, "non-terminal state %s has no exit", fsm_state_name(t, s));
        }
        free(reach);
        free(stack);
    }
done:
    if (p.count) {
        if (err) {
            err->code = T0_EINVAL;
            t0_err_prefix(err, "fsm %s: %d problem%s", t->name, p.count, p.count == 1 ? "" : "s");
        }
        return T0_EINVAL;
    }
    return T0_OK;
}

/* ---- export ---------------------------------------------------------------------------------- */

static void fx_list(const fsm_table *t, const fsm_row *r, char *buf, size_t cap)
{
    size_t u = 0;
    buf[0] = '\0';
    for (int i = 0; i < FSM_MAX_FX && r->fx[i]; i++) {
        int w = snprintf(buf + u, u < cap ? cap - u : 0, "%s%s", i ? ", " : "", fsm_effect_name(t, r->fx[i]));
        if (w > 0) u += (size_t)w;
    }
}

/* Label of one transition edge: EVENT [guards] / effects */
static void edge_label(const fsm_table *t, const fsm_row *r, char *buf, size_t cap)
{
    char w[160], fx[160];
    fsm_format_when(t, r, w, sizeof w);
    fx_list(t, r, fx, sizeof fx);
    snprintf(buf, cap, "%s%s%s%s%s%s", fsm_event_name(t, r->event), *w ? " [" : "", w, *w ? "]" : "",
             *fx ? " / " : "", fx);
}

t0_status fsm_export(const fsm_table *t, fsm_format fmt, FILE *f, t0_err *err)
{
    if (fmt == FSM_FMT_MERMAID) {
        fprintf(f, "stateDiagram-v2\n    direction LR\n    [*] --> %s\n", fsm_state_name(t, t->initial));
    } else {
        fprintf(f, "digraph %s {\n    rankdir=LR;\n    node [shape=box, style=rounded];\n", t->name);
        fprintf(f, "    __start [shape=point];\n    __start -> %s;\n", fsm_state_name(t, t->initial));
    }
    /* One edge per GO row, as the table says it. Rows for every state (FSM_ANY) start at a pseudo-state
     * named "any"; a row that stays (FSM_SAME) is a self-loop, drawn only when it emits effects. */
    bool any_used = false;
    for (size_t i = 0; i < t->nrows; i++) {
        const fsm_row *r = &t->rows[i];
        if (r->kind != FSM_ROW_GO) continue;
        if (r->to == FSM_SAME && !r->fx[0]) continue; /* a silent self-loop draws nothing useful */
        const char *from = r->from == FSM_ANY ? "any" : fsm_state_name(t, r->from);
        const char *to = r->to == FSM_SAME ? from : fsm_state_name(t, r->to);
        any_used |= r->from == FSM_ANY;
        char label[400];
        edge_label(t, r, label, sizeof label);
        if (fmt == FSM_FMT_MERMAID)
            fprintf(f, "    %s --> %s: %s\n", from, to, label);
        else
            fprintf(f, "    %s -> %s [label=\"%s\"];\n", from, to, label);
    }
    for (int s = 0; s < t->nstates; s++) {
        if (!t->terminal[s]) continue;
        if (fmt == FSM_FMT_MERMAID)
            fprintf(f, "    %s --> [*]\n", fsm_state_name(t, s));
        else
            fprintf(f, "    %s [peripheries=2];\n", fsm_state_name(t, s));
    }
    if (any_used) {
        if (fmt == FSM_FMT_MERMAID)
            fputs("    note right of any: rows for every state without its own row for the event\n", f);
        else
            fputs("    any [shape=note, label=\"any state\\n(without its own row)\"];\n", f);
    }
    if (fmt == FSM_FMT_DOT) fputs("}\n", f);
    if (ferror(f)) return t0_fail(err, T0_EIO, "fsm %s: writing the diagram failed", t->name);
    return T0_OK;
}

static void md_cell(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|') fputc('\\', f);
        fputc(*s, f);
    }
}

t0_status fsm_export_markdown(const fsm_table *t, FILE *f, t0_err *err)
{
    fprintf(f, "# FSM: %s\n\n", t->name);
    fprintf(f, "%s\n\n", t->title);
    fprintf(f, "Generated from `fsm/` by `the0-sim fsm --format markdown %s`; `make test` fails when this page\n"
               "differs from the table. Do not edit by hand: edit the table and run `make docs`.\n\n",
            t->name);
    fprintf(f, "```mermaid\n");
    t0_status st = fsm_export(t, FSM_FMT_MERMAID, f, err);
    if (st != T0_OK) return st;
    fprintf(f, "```\n\n## States\n\n");
    for (int s = 0; s < t->nstates; s++)
        fprintf(f, "- `%s`%s%s\n", fsm_state_name(t, s), s == t->initial ? " (initial)" : "",
                t->terminal[s] ? " (terminal)" : "");
    fprintf(f, "\n## Rows\n\n`*` rows apply in every state that has no row of its own for the event.\n\n");
    fprintf(f, "| from | event | when | to | effects | kind | why |\n|---|---|---|---|---|---|---|\n");
    static const char *const kinds[] = {"go", "ignore", "illegal"};
    for (size_t i = 0; i < t->nrows; i++) {
        const fsm_row *r = &t->rows[i];
        char w[160], fx[160];
        fsm_format_when(t, r, w, sizeof w);
        fx_list(t, r, fx, sizeof fx);
        fprintf(f, "| %s | %s | ", fsm_state_name(t, r->from), fsm_event_name(t, r->event));
        md_cell(f, w);
        fprintf(f, " | %s | %s | %s | ", r->kind == FSM_ROW_GO ? fsm_state_name(t, r->to) : "(same)", fx,
                kinds[r->kind]);
        md_cell(f, r->why);
        fputs(" |\n", f);
    }
    if (ferror(f)) return t0_fail(err, T0_EIO, "fsm %s: writing markdown failed", t->name);
    return T0_OK;
}

/* ---- coverage -------------------------------------------------------------------------------- */

t0_status fsm_coverage_init(fsm_coverage *c, const fsm_table *t)
{
    c->table = t;
    c->fired = calloc(t->nrows ? t->nrows : 1, 1);
    if (!c->fired) return T0_ENOMEM;
    return T0_OK;
}

void fsm_coverage_free(fsm_coverage *c)
{
    if (!c) return;
    free(c->fired);
    c->fired = NULL;
}

void fsm_coverage_hit(fsm_coverage *c, const fsm_result *r)
{
    if (!c || !c->fired || !r || !r->row) return;
    size_t i = (size_t)(r->row - c->table->rows);
    if (i < c->table->nrows && c->fired[i] < 255) c->fired[i]++;
}

size_t fsm_coverage_fired(const fsm_coverage *c, size_t *total_go_rows)
{
    size_t fired = 0, total = 0;
    for (size_t i = 0; i < c->table->nrows; i++) {
        if (c->table->rows[i].kind != FSM_ROW_GO) continue;
        total++;
        if (c->fired[i]) fired++;
    }
    if (total_go_rows) *total_go_rows = total;
    return fired;
}
