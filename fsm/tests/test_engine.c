/* test_engine.c: the FSM engine: stepping, guards, tracing, and one rejected table per validator rule. */
#include <criterion/criterion.h>
#include <string.h>

#include "fsm/fsm.h"

/* A tiny door: closed <-> open, locked only when closed. */
enum { D_CLOSED, D_OPEN, D_LOCKED, D_BROKEN, D__N };
enum { E_PUSH, E_LOCK, E_KICK, E__N };
enum { G_NONE, G_HAS_KEY, G_STRONG, G__N };
enum { FX_NONE, FX_CREAK, FX_CLICK, FX_ALARM, FX__N };

typedef struct {
    bool key, strong;
} door_in;
static bool g_key(const void *in) { return ((const door_in *)in)->key; }
static bool g_strong(const void *in) { return ((const door_in *)in)->strong; }

static const char *const st_names[] = {"closed", "open", "locked", "broken"};
static const char *const ev_names[] = {"push", "lock", "kick"};
static const char *const fx_names[] = {"none", "creak", "click", "alarm"};
static const fsm_guard_def guards[] = {{NULL, NULL}, {"has_key", g_key}, {"strong", g_strong}};
static const bool term[D__N] = {[D_BROKEN] = true};

static const fsm_row good_rows[] = {
    GO(D_CLOSED, E_PUSH, ALWAYS, D_OPEN, FX(FX_CREAK), "push opens"),
    GO(D_OPEN, E_PUSH, ALWAYS, D_CLOSED, FX(FX_CREAK), "push closes"),
    GO(D_CLOSED, E_LOCK, WHEN(G(G_HAS_KEY)), D_LOCKED, FX(FX_CLICK), "lock with key"),
    GO(D_CLOSED, E_LOCK, WHEN(NOT(G_HAS_KEY)), FSM_SAME, NOFX, "no key: nothing"),
    ILLEGAL(D_OPEN, E_LOCK, "cannot lock an open door"),
    GO(D_LOCKED, E_LOCK, WHEN(G(G_HAS_KEY)), D_CLOSED, FX(FX_CLICK), "unlock with key"),
    GO(D_LOCKED, E_LOCK, WHEN(NOT(G_HAS_KEY)), FSM_SAME, NOFX, "no key"),
    IGNORE(D_LOCKED, E_PUSH, "locked doors do not move"),
    GO(FSM_ANY, E_KICK, WHEN(G(G_STRONG)), D_BROKEN, FX(FX_ALARM, FX_CREAK), "a strong kick breaks it"),
    GO(FSM_ANY, E_KICK, WHEN(NOT(G_STRONG)), FSM_SAME, NOFX, "a weak kick does nothing"),
    IGNORE(D_BROKEN, E_PUSH, "broken"),
    IGNORE(D_BROKEN, E_LOCK, "broken"),
    IGNORE(D_BROKEN, E_KICK, "broken"),
};

static fsm_table door(const fsm_row *rows, size_t n)
{
    fsm_table t = {.name = "door", .title = "door", .nstates = D__N, .nevents = E__N, .nguards = G__N,
                   .neffects = FX__N, .state_names = st_names, .event_names = ev_names, .guards = guards,
                   .effect_names = fx_names, .terminal = term, .initial = D_CLOSED, .rows = rows, .nrows = n};
    return t;
}

Test(engine, valid_table_passes)
{
    fsm_table t = door(good_rows, T0_ARRAY_LEN(good_rows));
    t0_err err = {0};
    cr_assert_eq(fsm_validate(&t, &err), T0_OK, "validator rejected a good table: %s", err.msg);
}

Test(engine, step_fires_the_matching_row_and_emits_effects)
{
    fsm_table t = door(good_rows, T0_ARRAY_LEN(good_rows));
    fsm_result r;
    door_in in = {.key = true};
    cr_assert_eq(fsm_step(&t, D_CLOSED, E_LOCK, &in, "d1", NULL, &r, NULL), T0_OK);
    cr_assert_eq(r.to, D_LOCKED, "to=%s", fsm_state_name(&t, r.to));
    cr_assert_eq(r.nfx, 1);
    cr_assert_eq(r.fx[0], FX_CLICK);
    in.key = false;
    cr_assert_eq(fsm_step(&t, D_CLOSED, E_LOCK, &in, "d1", NULL, &r, NULL), T0_OK);
    cr_assert_eq(r.to, D_CLOSED);
    cr_assert_eq(r.nfx, 0);
}

Test(engine, any_rows_apply_only_without_a_specific_row)
{
    fsm_table t = door(good_rows, T0_ARRAY_LEN(good_rows));
    fsm_result r;
    door_in in = {.strong = true};
    cr_assert_eq(fsm_step(&t, D_OPEN, E_KICK, &in, NULL, NULL, &r, NULL), T0_OK);
    cr_assert_eq(r.to, D_BROKEN);
    cr_assert_eq(r.nfx, 2);
    cr_assert_eq(r.fx[0], FX_ALARM);
    cr_assert_eq(r.fx[1], FX_CREAK);
    cr_assert_eq(fsm_step(&t, D_BROKEN, E_KICK, &in, NULL, NULL, &r, NULL), T0_OK);
    cr_assert_eq(r.kind, FSM_ROW_IGNORE);
    cr_assert_eq(r.to, D_BROKEN);
}

Test(engine, illegal_event_returns_eillegal_with_context)
{
    fsm_table t = door(good_rows, T0_ARRAY_LEN(good_rows));
    fsm_result r;
    door_in in = {0};
    t0_err err = {0};
    cr_assert_eq(fsm_step(&t, D_OPEN, E_LOCK, &in, "front", NULL, &r, &err), T0_EILLEGAL);
    cr_assert(strstr(err.msg, "front") && strstr(err.msg, "lock") && strstr(err.msg, "open"), "msg: %s", err.msg);
}

static int traced;
static char last_why[128];
static void tracer_fn(void *ud, const fsm_table *t, const char *key, const fsm_result *r)
{
    (void)t;
    (void)key;
    *(int *)ud += 1;
    snprintf(last_why, sizeof last_why, "%s", r->row->why);
}

Test(engine, trace_hook_sees_every_step_with_its_reason)
{
    fsm_table t = door(good_rows, T0_ARRAY_LEN(good_rows));
    fsm_tracer tr = {tracer_fn, &traced};
    fsm_result r;
    door_in in = {0};
    traced = 0;
    fsm_step(&t, D_CLOSED, E_PUSH, &in, "d", &tr, &r, NULL);
    fsm_step(&t, D_OPEN, E_PUSH, &in, "d", &tr, &r, NULL);
    cr_assert_eq(traced, 2);
    cr_assert_str_eq(last_why, "push closes");
}

static void expect_rejected(const fsm_row *rows, size_t n, const char *needle)
{
    fsm_table t = door(rows, n);
    t0_err err = {0};
    cr_assert_eq(fsm_validate(&t, &err), T0_EINVAL, "validator accepted a table that should fail with '%s'", needle);
    cr_assert(strstr(err.msg, needle) != NULL, "expected '%s' in:\n%s", needle, err.msg);
}

/* Each rejection below changes one thing in the good table. */
Test(validator, rejects_missing_state_event_pair)
{
    fsm_row rows[T0_ARRAY_LEN(good_rows)];
    memcpy(rows, good_rows, sizeof rows);
    rows[7] = rows[12]; /* drop IGNORE(locked, push): duplicate a harmless broken row instead */
    expect_rejected(rows, T0_ARRAY_LEN(rows), "state locked has no row for event push");
}

Test(validator, rejects_uncovered_guard_outcome)
{
    fsm_row rows[T0_ARRAY_LEN(good_rows)];
    memcpy(rows, good_rows, sizeof rows);
    rows[3] = rows[12]; /* closed+lock has only the has_key row */
    expect_rejected(rows, T0_ARRAY_LEN(rows), "no row when !has_key");
}

Test(validator, rejects_unreachable_state)
{
    fsm_row rows[T0_ARRAY_LEN(good_rows)];
    memcpy(rows, good_rows, sizeof rows);
    rows[2].to = FSM_SAME; /* nothing leads to locked any more */
    expect_rejected(rows, T0_ARRAY_LEN(rows), "state locked is unreachable");
}

Test(validator, rejects_non_terminal_state_without_exit)
{
    fsm_row rows[T0_ARRAY_LEN(good_rows)];
    memcpy(rows, good_rows, sizeof rows);
    rows[5].to = FSM_SAME; /* locked can no longer be unlocked, and kicks are ANY rows... */
    /* ...so give locked its own kick rows that stay */
    fsm_row extra[] = {GO(D_LOCKED, E_KICK, ALWAYS, FSM_SAME, NOFX, "locked doors resist kicks")};
    fsm_row all[T0_ARRAY_LEN(good_rows) + 1];
    memcpy(all, rows, sizeof rows);
    all[T0_ARRAY_LEN(good_rows)] = extra[0];
    expect_rejected(all, T0_ARRAY_LEN(all), "non-terminal state locked has no exit");
}

Test(validator, rejects_overlapping_rows)
{
    fsm_row all[T0_ARRAY_LEN(good_rows) + 1];
    memcpy(all, good_rows, sizeof good_rows);
    fsm_row dup = GO(D_CLOSED, E_PUSH, WHEN(G(G_STRONG)), D_BROKEN, FX(FX_ALARM), "strong push breaks it");
    all[T0_ARRAY_LEN(good_rows)] = dup;
    expect_rejected(all, T0_ARRAY_LEN(all), "overlapping rows");
}

Test(validator, rejects_undefined_guard)
{
    fsm_row rows[T0_ARRAY_LEN(good_rows)];
    memcpy(rows, good_rows, sizeof rows);
    rows[2].when[0].guard = 7;
    expect_rejected(rows, T0_ARRAY_LEN(rows), "undefined guard 7");
}

Test(validator, rejects_undefined_effect)
{
    fsm_row rows[T0_ARRAY_LEN(good_rows)];
    memcpy(rows, good_rows, sizeof rows);
    rows[0].fx[1] = 9;
    expect_rejected(rows, T0_ARRAY_LEN(rows), "undefined effect 9");
}

Test(validator, rejects_guard_with_no_function)
{
    static const fsm_guard_def half[] = {{NULL, NULL}, {"has_key", NULL}, {"strong", g_strong}};
    fsm_table t = door(good_rows, T0_ARRAY_LEN(good_rows));
    t.guards = half;
    t0_err err = {0};
    cr_assert_eq(fsm_validate(&t, &err), T0_EINVAL);
    cr_assert(strstr(err.msg, "undefined guard 1"), "msg: %s", err.msg);
}

Test(validator, rejects_row_that_can_never_fire)
{
    fsm_row all[T0_ARRAY_LEN(good_rows) + 1];
    memcpy(all, good_rows, sizeof good_rows);
    fsm_row dead = GO(D_OPEN, E_PUSH, WHEN(G(G_STRONG), NOT(G_STRONG)), D_BROKEN, NOFX, "contradiction");
    all[T0_ARRAY_LEN(good_rows)] = dead;
    expect_rejected(all, T0_ARRAY_LEN(all), "can never fire");
}

Test(export, mermaid_and_dot_name_every_transition)
{
    fsm_table t = door(good_rows, T0_ARRAY_LEN(good_rows));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_eq(fsm_export(&t, FSM_FMT_MERMAID, f, NULL), T0_OK);
    fclose(f);
    cr_assert(strstr(buf, "stateDiagram-v2"));
    cr_assert(strstr(buf, "closed --> locked: lock [has_key] / click"), "%s", buf);
    cr_assert(strstr(buf, "any --> broken: kick [strong] / alarm, creak"), "%s", buf);
    cr_assert(strstr(buf, "broken --> [*]"), "%s", buf);
    free(buf);
    f = open_memstream(&buf, &len);
    cr_assert_eq(fsm_export(&t, FSM_FMT_DOT, f, NULL), T0_OK);
    fclose(f);
    cr_assert(strstr(buf, "closed -> open [label=\"push / creak\"]"), "%s", buf);
    free(buf);
}

Test(coverage, counts_go_rows_fired)
{
    fsm_table t = door(good_rows, T0_ARRAY_LEN(good_rows));
    fsm_coverage c;
    cr_assert_eq(fsm_coverage_init(&c, &t), T0_OK);
    fsm_result r;
    door_in in = {0};
    fsm_step(&t, D_CLOSED, E_PUSH, &in, NULL, NULL, &r, NULL);
    fsm_coverage_hit(&c, &r);
    fsm_step(&t, D_CLOSED, E_PUSH, &in, NULL, NULL, &r, NULL);
    fsm_coverage_hit(&c, &r);
    size_t total;
    cr_assert_eq(fsm_coverage_fired(&c, &total), 1);
    cr_assert_eq(total, 8);
    fsm_coverage_free(&c);
}

/* The row index (fsm_table.index, built on first use) must resolve exactly what scanning the rows does,
 * for every state and event of every table, in the same order. */
Test(engine, index_resolves_what_a_scan_does)
{
    size_t nt;
    const fsm_table *const *tables = fsm_tables(&nt);
    cr_assert(nt >= 4, "tables: %zu", nt);
    for (size_t i = 0; i < nt; i++) {
        const fsm_table *t = tables[i];
        cr_assert_not_null(t->index, "%s has a row index", t->name);
        fsm_table scan = *t;
        scan.index = NULL;
        for (int s = -1; s <= t->nstates; s++)
            for (int e = -1; e <= t->nevents; e++) {
                const fsm_row *a[64], *b[64];
                size_t na = fsm_resolve(t, s, e, a, 64), nb = fsm_resolve(&scan, s, e, b, 64);
                cr_expect_eq(na, nb, "%s: state %d event %d: %zu rows indexed, %zu scanned", t->name, s, e, na, nb);
                for (size_t k = 0; k < na && k < nb && k < 64; k++)
                    cr_expect_eq(a[k], b[k], "%s: state %d event %d: row %zu differs", t->name, s, e, k);
            }
    }
}
