/* test_reconcilers.c: each reconciler binds every effect of its table to exactly one executor, and its
 * definition agrees with its table. */
#include <criterion/criterion.h>

#include "controllers/ctl_int.h"

static void check_def(const ctl_kind_def *def, int neffects)
{
    const fsm_table *t = def->table;
    cr_assert_eq(t->neffects, neffects, "%s: table has %d effects, the executor array %d", def->name, t->neffects,
                 neffects);
    cr_assert_null(def->executors[0], "%s: effect 0 is \"none\" and has no executor", def->name);
    for (int fx = 1; fx < t->neffects; fx++)
        cr_assert_not_null(def->executors[fx], "%s: effect %s has no executor", def->name, fsm_effect_name(t, fx));
    /* every effect some row emits is one of the table's (the validator checks the range; this checks the
     * executor exists for what the rows actually use) */
    for (size_t i = 0; i < t->nrows; i++)
        for (int k = 0; k < FSM_MAX_FX && t->rows[i].fx[k]; k++)
            cr_assert_not_null(def->executors[t->rows[i].fx[k]], "%s row %zu", def->name, i);
    cr_assert(def->ev_api_error >= 0 && def->ev_api_error < t->nevents);
    cr_assert(def->ev_unwanted >= 0 && def->ev_unwanted < t->nevents);
    cr_assert(def->ev_conflict < t->nevents);
}

Test(reconcilers, bot_has_one_executor_per_effect) { check_def(&bot_reconciler, BFX__COUNT); }
Test(reconcilers, schedule_has_one_executor_per_effect) { check_def(&schedule_reconciler, SFX__COUNT); }

Test(reconcilers, events_name_their_table)
{
    cr_assert_str_eq(fsm_event_name(bot_reconciler.table, bot_reconciler.ev_api_error), "api_error");
    cr_assert_str_eq(fsm_event_name(schedule_reconciler.table, schedule_reconciler.ev_conflict), "update_conflict");
    cr_assert_str_eq(fsm_event_name(bot_reconciler.table, bot_reconciler.ev_unwanted), "not_desired_pod");
    cr_assert_str_eq(fsm_event_name(schedule_reconciler.table, schedule_reconciler.ev_unwanted),
                     "not_desired_cronjob");
}
