/* fsm.h: the table-driven finite state machine engine. Lifecycles are const tables; this module steps
 * them (pure: no I/O), validates them, and exports them as Mermaid/DOT diagrams. */
#ifndef T0_FSM_H
#define T0_FSM_H

#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>

#include "core/t0.h"

#define FSM_MAX_FX 4        /* effects one row may emit */
#define FSM_MAX_GUARDS 3    /* guard literals one row may test (a conjunction) */
#define FSM_ANY (-1)        /* row.from: applies to every state that has no row of its own for the event */
#define FSM_SAME (-2)       /* row.to: stay in the state the row fired from */

/* A guard is a named predicate over the caller's input (an observation snapshot). Guards must be pure. */
typedef bool (*fsm_guard_fn)(const void *input);
typedef struct fsm_guard_def {
    const char *name;
    fsm_guard_fn fn;
} fsm_guard_def;

typedef enum fsm_row_kind {
    FSM_ROW_GO = 0,  /* fire: go to `to`, emit `fx` */
    FSM_ROW_IGNORE,  /* the event is expected and changes nothing (explicit no-op) */
    FSM_ROW_ILLEGAL, /* the event cannot happen here; stepping returns T0_EILLEGAL */
} fsm_row_kind;

/* One guard literal: guard index into the table's guards, and whether it must be true or false.
 * guard == 0 means "no literal" (index 0 of every table's guards is unused). */
typedef struct fsm_lit {
    short guard;
    bool negate;
} fsm_lit;

/* A row reads like a sentence: in FROM, on EVENT, if all GUARDS hold, go to TO and emit FX; WHY says so
 * in words (printed by the trace hook and the diagrams). fx entries of 0 are unused (effect 0 is
 * reserved as "none" in every table). */
typedef struct fsm_row {
    int from;
    int event;
    fsm_lit when[FSM_MAX_GUARDS];
    int to;
    int fx[FSM_MAX_FX];
    fsm_row_kind kind;
    const char *why;
} fsm_row;

/* Row-building helpers, so tables read as columns. */
#define G(g) {(g), false}
#define NOT(g) {(g), true}
#define WHEN(...) {__VA_ARGS__}
#define ALWAYS {{0, false}}
#define FX(...) {__VA_ARGS__}
#define NOFX {0}
#define GO(from, ev, when, to, fx, why) {(from), (ev), when, (to), fx, FSM_ROW_GO, (why)}
#define IGNORE(from, ev, why) {(from), (ev), ALWAYS, FSM_SAME, NOFX, FSM_ROW_IGNORE, (why)}
#define ILLEGAL(from, ev, why) {(from), (ev), ALWAYS, FSM_SAME, NOFX, FSM_ROW_ILLEGAL, (why)}

/* fsm_index: the rows of a table grouped by (state, event), built from the table on first use so that a
 * step does not scan every row (the simulated sidecars step their table tens of thousands of times per
 * simulated hour). Private to fsm.c; a table points to one defined with FSM_INDEX_INIT, or to none. */
typedef struct fsm_index {
    pthread_mutex_t mu;
    _Atomic int ready;
    unsigned *start; /* [(nstates + 1) * nevents + 1]: group k = state * nevents + event (state nstates = any) */
    unsigned *rows;  /* row numbers in table order, grouped */
} fsm_index;
#define FSM_INDEX_INIT {PTHREAD_MUTEX_INITIALIZER, 0, NULL, NULL}

typedef struct fsm_table {
    const char *name;        /* "bot", "schedule", "pod", "sync" */
    const char *title;       /* one line for diagrams */
    int nstates, nevents, nguards, neffects;
    const char *const *state_names;  /* [nstates] */
    const char *const *event_names;  /* [nevents] */
    const fsm_guard_def *guards;     /* [nguards]; [0] unused */
    const char *const *effect_names; /* [neffects]; [0] = "none" */
    const bool *terminal;            /* [nstates]: states with no way out by design */
    int initial;
    const fsm_row *rows;
    size_t nrows;
    fsm_index *index; /* may be NULL: rows are then scanned */
} fsm_table;

/* The outcome of one step: which row fired (NULL only on error), the state before and after, and the
 * effects to execute, in order. Effects are plain data: the caller executes them. */
typedef struct fsm_result {
    const fsm_row *row;
    int from, to, event;
    int fx[FSM_MAX_FX];
    int nfx;
    fsm_row_kind kind;
} fsm_result;

/* Trace hook: called once per step with the row that fired. KEY names the machine instance (a bot id).
 * The default is none; fsm_tracer may be passed NULL to step silently. */
typedef void (*fsm_trace_fn)(void *ud, const fsm_table *t, const char *key, const fsm_result *r);
typedef struct fsm_tracer {
    fsm_trace_fn fn;
    void *ud;
} fsm_tracer;

/* fsm_resolve: the effective rows for (STATE, EVENT): the table's rows whose `from` is STATE, or, when
 * there are none, the FSM_ANY rows for EVENT. Writes up to CAP row pointers to OUT; returns how many
 * exist (may exceed CAP). */
size_t fsm_resolve(const fsm_table *t, int state, int event, const fsm_row **out, size_t cap);

/* fsm_step: fire EVENT in STATE. Guards are evaluated on INPUT. On T0_OK *out describes the row that
 * fired (an IGNORE row leaves the state unchanged and emits nothing). Returns T0_EILLEGAL for an
 * ILLEGAL row, and T0_EINVAL when no row or more than one row matches (a table the validator would
 * reject); err says which table, state, event and guard values. Never does I/O except through TRACER. */
t0_status fsm_step(const fsm_table *t, int state, int event, const void *input, const char *key,
                   const fsm_tracer *tracer, fsm_result *out, t0_err *err);

/* fsm_validate: check the table's structure. Rejects: a (state, event) pair with no row and no explicit
 * IGNORE/ILLEGAL entry, or one whose rows leave a combination of guard outcomes uncovered; a state
 * unreachable from the initial one; a non-terminal state with no exit; two rows that can fire for the
 * same state, event and guard outcome; an undefined guard or effect; out-of-range states and events.
 * On failure returns T0_EINVAL and err lists the first problems found (one per line). */
t0_status fsm_validate(const fsm_table *t, t0_err *err);

/* Names for printing; out-of-range values give "?". */
const char *fsm_state_name(const fsm_table *t, int s);
const char *fsm_event_name(const fsm_table *t, int e);
const char *fsm_effect_name(const fsm_table *t, int fx);
const char *fsm_guard_name(const fsm_table *t, int g);
/* fsm_state_index / fsm_event_index: look a name up (exact match); -1 when unknown. */
int fsm_state_index(const fsm_table *t, const char *name);
int fsm_event_index(const fsm_table *t, const char *name);

/* fsm_format_when: "g1 && !g2" (or "" for no guards) into BUF. Returns BUF. */
const char *fsm_format_when(const fsm_table *t, const fsm_row *row, char *buf, size_t cap);

/* Diagram export. Mermaid stateDiagram-v2 or Graphviz DOT of the transition rows (IGNORE rows are
 * omitted, ILLEGAL rows too). Writes to F; returns T0_EIO when writing fails. */
typedef enum fsm_format { FSM_FMT_MERMAID, FSM_FMT_DOT } fsm_format;
t0_status fsm_export(const fsm_table *t, fsm_format fmt, FILE *f, t0_err *err);
/* fsm_export_markdown: the docs/fsm/<table>.md page: title, the Mermaid diagram, and a row table. */
t0_status fsm_export_markdown(const fsm_table *t, FILE *f, t0_err *err);

/* Row coverage: a per-table bitmap of rows fired, for the transition-coverage report. */
typedef struct fsm_coverage {
    const fsm_table *table;
    unsigned char *fired; /* [table->nrows] counts, saturating at 255 */
} fsm_coverage;
t0_status fsm_coverage_init(fsm_coverage *c, const fsm_table *t);
void fsm_coverage_free(fsm_coverage *c);
void fsm_coverage_hit(fsm_coverage *c, const fsm_result *r);
/* Rows counted: GO rows only (IGNORE/ILLEGAL rows are not transitions). */
size_t fsm_coverage_fired(const fsm_coverage *c, size_t *total_go_rows);

/* The registry of the project's tables (bot, schedule, pod, sync), for the CLI and the docs check. */
const fsm_table *const *fsm_tables(size_t *n);
const fsm_table *fsm_table_by_name(const char *name);

#endif
