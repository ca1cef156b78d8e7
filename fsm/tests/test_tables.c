/* test_tables.c: the four lifecycle tables: valid, total (every state x event x input answers), every
 * row driven, and the safety properties of DESIGN §5 that the tables carry. */
#include <criterion/criterion.h>
#include <string.h>

#include "fsm/tables.h"

/* Guard inputs are structs of bools; build one from the bits of MASK, field by field. */
typedef void (*input_fn)(unsigned mask, void *out);
static void bot_in(unsigned m, void *o)
{
    bot_fsm_input *b = o;
    *b = (bot_fsm_input){m & 1, (m >> 1) & 1, (m >> 2) & 1, (m >> 3) & 1, (m >> 4) & 1, (m >> 5) & 1};
}
static void sched_in(unsigned m, void *o)
{
    sched_fsm_input *s = o;
    *s = (sched_fsm_input){m & 1, (m >> 1) & 1, (m >> 2) & 1, (m >> 3) & 1, (m >> 4) & 1};
}
static void pod_in(unsigned m, void *o)
{
    pod_fsm_input *p = o;
    *p = (pod_fsm_input){m & 1, (m >> 1) & 1, (m >> 2) & 1};
}
static void sync_in(unsigned m, void *o)
{
    sync_fsm_input *s = o;
    *s = (sync_fsm_input){m & 1, (m >> 1) & 1, (m >> 2) & 1};
}

/* Walk the full response matrix; every step must answer (OK, or EILLEGAL for an ILLEGAL row), and
 * every row of the table must fire somewhere in the matrix. */
static void walk_matrix(const fsm_table *t, input_fn mk, int nbits)
{
    t0_err err = {0};
    cr_assert_eq(fsm_validate(t, &err), T0_OK, "table %s rejected:\n%s", t->name, err.msg);
    fsm_coverage cov;
    cr_assert_eq(fsm_coverage_init(&cov, t), T0_OK);
    unsigned char *any_fired = calloc(t->nrows, 1);
    unsigned char in[64];
    for (int s = 0; s < t->nstates; s++)
        for (int e = 0; e < t->nevents; e++)
            for (unsigned m = 0; m < (1u << nbits); m++) {
                mk(m, in);
                fsm_result r;
                t0_status st = fsm_step(t, s, e, in, "matrix", NULL, &r, &err);
                cr_assert(st == T0_OK || st == T0_EILLEGAL, "%s: %s x %s (mask %u): %s", t->name,
                          fsm_state_name(t, s), fsm_event_name(t, e), m, err.msg);
                cr_assert_not_null(r.row);
                cr_assert_eq(st == T0_EILLEGAL, r.kind == FSM_ROW_ILLEGAL);
                any_fired[r.row - t->rows] = 1;
                fsm_coverage_hit(&cov, &r);
                if (r.kind != FSM_ROW_GO) cr_assert_eq(r.to, s, "ignore/illegal rows must not move");
            }
    for (size_t i = 0; i < t->nrows; i++)
        cr_assert(any_fired[i], "%s: row %zu (\"%s\") never fires in the full matrix", t->name, i, t->rows[i].why);
    size_t total, fired = fsm_coverage_fired(&cov, &total);
    cr_assert_eq(fired, total);
    free(any_fired);
    fsm_coverage_free(&cov);
}

Test(tables, bot_matrix) { walk_matrix(&fsm_bot_table, bot_in, 6); }
Test(tables, schedule_matrix) { walk_matrix(&fsm_schedule_table, sched_in, 5); }
Test(tables, pod_matrix) { walk_matrix(&fsm_pod_table, pod_in, 3); }
Test(tables, sync_matrix) { walk_matrix(&fsm_sync_table, sync_in, 3); }

Test(tables, registry_names_all_four)
{
    size_t n;
    fsm_tables(&n);
    cr_assert_eq(n, 4);
    cr_assert_eq(fsm_table_by_name("bot"), &fsm_bot_table);
    cr_assert_eq(fsm_table_by_name("sync"), &fsm_sync_table);
    cr_assert_null(fsm_table_by_name("nope"));
}

static bool has_fx(const fsm_result *r, int fx)
{
    for (int i = 0; i < r->nfx; i++)
        if (r->fx[i] == fx) return true;
    return false;
}

/* DESIGN §5: a bot pod is created only when no pod of that bot exists, terminating ones included, and
 * no create of ours is unobserved — whatever the state and event. */
Test(safety, bot_create_only_when_no_pod_anywhere)
{
    const fsm_table *t = &fsm_bot_table;
    for (int s = 0; s < t->nstates; s++)
        for (int e = 0; e < t->nevents; e++)
            for (unsigned m = 0; m < 64; m++) {
                bot_fsm_input in;
                bot_in(m, &in);
                fsm_result r;
                if (fsm_step(t, s, e, &in, NULL, NULL, &r, NULL) != T0_OK) continue;
                if (has_fx(&r, BFX_CREATE_POD))
                    cr_assert(!in.pod_exists && !in.create_in_flight, "create in %s on %s with pod_exists=%d in_flight=%d",
                              fsm_state_name(t, s), fsm_event_name(t, e), in.pod_exists, in.create_in_flight);
                /* a create never comes with a delete in the same step */
                cr_assert(!(has_fx(&r, BFX_CREATE_POD) && has_fx(&r, BFX_DELETE_POD)));
            }
}

Test(safety, schedule_create_only_when_no_cronjob_anywhere)
{
    const fsm_table *t = &fsm_schedule_table;
    for (int s = 0; s < t->nstates; s++)
        for (int e = 0; e < t->nevents; e++)
            for (unsigned m = 0; m < 32; m++) {
                sched_fsm_input in;
                sched_in(m, &in);
                fsm_result r;
                if (fsm_step(t, s, e, &in, NULL, NULL, &r, NULL) != T0_OK) continue;
                if (has_fx(&r, SFX_CREATE_CJ)) cr_assert(!in.cj_exists && !in.create_in_flight);
            }
}

/* DESIGN §5: once a bot is observed disabled/deleted, every answer removes its pod or waits for it —
 * unless the deletion gate holds it (then nothing is deleted and it is looked at again) or the cycle's
 * deletion cap defers it. */
Test(safety, unwanted_bot_pod_is_always_deleted_or_awaited)
{
    const fsm_table *t = &fsm_bot_table;
    for (int s = 0; s < t->nstates; s++)
        for (unsigned m = 0; m < 64; m++) {
            bot_fsm_input in;
            bot_in(m, &in);
            fsm_result r;
            cr_assert_eq(fsm_step(t, s, BE_UNWANTED, &in, NULL, NULL, &r, NULL), T0_OK);
            if (in.deletions_held || in.delete_cap_reached) {
                cr_assert_eq(r.to, s, "a held deletion must not move (from %s)", fsm_state_name(t, s));
                cr_assert(!has_fx(&r, BFX_DELETE_POD));
                cr_assert(has_fx(&r, in.deletions_held ? BFX_HOLD_DELETE : BFX_DEFER_DELETE));
                continue;
            }
            cr_assert_eq(r.to, BS_STOPPING);
            cr_assert_eq(has_fx(&r, BFX_DELETE_POD), !in.pod_terminating, "from %s", fsm_state_name(t, s));
        }
}

/* DESIGN §5: never delete because a read of desired state failed or came back suspiciously empty: while
 * deletions are held, no row deletes a pod for a missing document or an escalation. */
Test(safety, held_deletions_delete_nothing)
{
    const fsm_table *t = &fsm_bot_table;
    const int evs[] = {BE_UNWANTED, BE_CRASHLOOP, BE_INIT_FAILING};
    for (int s = 0; s < t->nstates; s++)
        for (size_t e = 0; e < sizeof evs / sizeof evs[0]; e++)
            for (unsigned m = 0; m < 64; m++) {
                bot_fsm_input in;
                bot_in(m, &in);
                if (!in.deletions_held) continue;
                fsm_result r;
                cr_assert_eq(fsm_step(t, s, evs[e], &in, NULL, NULL, &r, NULL), T0_OK);
                cr_assert(!has_fx(&r, BFX_DELETE_POD), "%s on %s deletes while held", fsm_state_name(t, s),
                          fsm_event_name(t, evs[e]));
            }
    const fsm_table *st = &fsm_schedule_table;
    for (int s = 0; s < st->nstates; s++)
        for (unsigned m = 0; m < 32; m++) {
            sched_fsm_input in;
            sched_in(m, &in);
            if (!in.deletions_held && !in.delete_cap_reached) continue;
            fsm_result r;
            cr_assert_eq(fsm_step(st, s, SE_UNWANTED, &in, NULL, NULL, &r, NULL), T0_OK);
            cr_assert(!has_fx(&r, SFX_DELETE_CJ), "schedule %s deletes while held or capped", fsm_state_name(st, s));
        }
}

/* The replace sequence: spec change deletes first; the create follows as soon as the pod is gone. */
Test(bot, replace_is_delete_then_create_when_gone)
{
    const fsm_table *t = &fsm_bot_table;
    bot_fsm_input live = {.pod_exists = true}, going = {.pod_exists = true, .pod_terminating = true}, gone = {0};
    fsm_result r;
    cr_assert_eq(fsm_step(t, BS_RUNNING, BE_STALE, &live, "b", NULL, &r, NULL), T0_OK);
    cr_assert_eq(r.to, BS_REPLACING);
    cr_assert(has_fx(&r, BFX_DELETE_POD) && !has_fx(&r, BFX_CREATE_POD));
    cr_assert_eq(fsm_step(t, BS_REPLACING, BE_TERMINATING, &going, "b", NULL, &r, NULL), T0_OK);
    cr_assert_eq(r.to, BS_REPLACING);
    cr_assert(!has_fx(&r, BFX_CREATE_POD));
    cr_assert_eq(fsm_step(t, BS_REPLACING, BE_NO_POD, &gone, "b", NULL, &r, NULL), T0_OK);
    cr_assert_eq(r.to, BS_CREATING);
    cr_assert(has_fx(&r, BFX_CREATE_POD));
}

Test(bot, crashloop_is_surfaced_once_then_escalated)
{
    const fsm_table *t = &fsm_bot_table;
    bot_fsm_input calm = {.pod_exists = true}, hot = {.pod_exists = true, .escalate = true};
    fsm_result r;
    fsm_step(t, BS_RUNNING, BE_CRASHLOOP, &calm, "b", NULL, &r, NULL);
    cr_assert_eq(r.to, BS_CRASHLOOP);
    cr_assert(has_fx(&r, BFX_EVENT_CRASHLOOP));
    fsm_step(t, BS_CRASHLOOP, BE_CRASHLOOP, &calm, "b", NULL, &r, NULL);
    cr_assert_eq(r.nfx, 0, "a second observation must not emit the Event again");
    fsm_step(t, BS_CRASHLOOP, BE_CRASHLOOP, &hot, "b", NULL, &r, NULL);
    cr_assert_eq(r.to, BS_REPLACING);
    cr_assert(has_fx(&r, BFX_EVENT_ESCALATED) && has_fx(&r, BFX_DELETE_POD));
}

/* Restart-safety: from the initial state, one observation lands in the state that observation means. */
Test(bot, first_observation_rederives_state)
{
    const fsm_table *t = &fsm_bot_table;
    struct {
        int ev, want;
        bot_fsm_input in;
    } cases[] = {
        {BE_RUNNING, BS_RUNNING, {.pod_exists = true}},
        {BE_PENDING, BS_STARTING, {.pod_exists = true}},
        {BE_TERMINATING, BS_REPLACING, {.pod_exists = true, .pod_terminating = true}},
        {BE_UNWANTED, BS_STOPPING, {.pod_exists = true}},
        {BE_CRASHLOOP, BS_CRASHLOOP, {.pod_exists = true}},
        {BE_INVALID, BS_INVALID, {0}},
        {BE_NO_POD, BS_CREATING, {0}},
    };
    for (size_t i = 0; i < T0_ARRAY_LEN(cases); i++) {
        fsm_result r;
        cr_assert_eq(fsm_step(t, BS_ABSENT, cases[i].ev, &cases[i].in, "b", NULL, &r, NULL), T0_OK);
        cr_assert_eq(r.to, cases[i].want, "%s: got %s want %s", fsm_event_name(t, cases[i].ev),
                     fsm_state_name(t, r.to), fsm_state_name(t, cases[i].want));
    }
}

Test(schedule, conflict_rereads_then_updates)
{
    const fsm_table *t = &fsm_schedule_table;
    sched_fsm_input in = {.cj_exists = true};
    fsm_result r;
    fsm_step(t, SS_IDLE, SE_STALE, &in, "s", NULL, &r, NULL);
    cr_assert_eq(r.to, SS_UPDATING);
    cr_assert(has_fx(&r, SFX_UPDATE_CJ));
    fsm_step(t, SS_UPDATING, SE_CONFLICT, &in, "s", NULL, &r, NULL);
    cr_assert(has_fx(&r, SFX_REREAD));
    fsm_step(t, SS_UPDATING, SE_STALE, &in, "s", NULL, &r, NULL);
    cr_assert(has_fx(&r, SFX_UPDATE_CJ));
    fsm_step(t, SS_UPDATING, SE_IDLE, &in, "s", NULL, &r, NULL);
    cr_assert_eq(r.to, SS_IDLE);
}

Test(pod, never_policy_completes_after_sync_final_upload)
{
    const fsm_table *t = &fsm_pod_table;
    pod_fsm_input never_sync = {.restart_always = false, .sync_running = true, .all_ok = true};
    pod_fsm_input never_done = {.restart_always = false, .sync_running = false, .all_ok = true};
    fsm_result r;
    fsm_step(t, PS_RUNNING, PE_BOT_EXIT, &never_sync, "p", NULL, &r, NULL);
    cr_assert_eq(r.to, PS_COMPLETING);
    fsm_step(t, PS_COMPLETING, PE_SYNC_EXIT, &never_done, "p", NULL, &r, NULL);
    cr_assert_eq(r.to, PS_SUCCEEDED);
    never_done.all_ok = false;
    fsm_step(t, PS_COMPLETING, PE_SYNC_EXIT, &never_done, "p", NULL, &r, NULL);
    cr_assert_eq(r.to, PS_FAILED);
}

Test(pod, always_policy_backs_off_and_restarts)
{
    const fsm_table *t = &fsm_pod_table;
    pod_fsm_input in = {.restart_always = true, .sync_running = true};
    fsm_result r;
    fsm_step(t, PS_RUNNING, PE_BOT_EXIT, &in, "p", NULL, &r, NULL);
    cr_assert_eq(r.to, PS_BOT_BACKOFF);
    cr_assert(has_fx(&r, PFX_ARM_BACKOFF));
    fsm_step(t, PS_BOT_BACKOFF, PE_BACKOFF_DONE, &in, "p", NULL, &r, NULL);
    cr_assert_eq(r.to, PS_RUNNING);
    cr_assert(has_fx(&r, PFX_RESTART_BOT));
}

Test(sync, final_sync_retries_until_deadline)
{
    const fsm_table *t = &fsm_sync_table;
    sync_fsm_input left = {.dirty = true, .deadline_left = true}, late = {.dirty = true};
    fsm_result r;
    fsm_step(t, SYNC_BACKOFF, YE_TERM, &left, "s", NULL, &r, NULL);
    cr_assert_eq(r.to, SYNC_FINAL);
    cr_assert(has_fx(&r, YFX_FINAL_UPLOAD));
    fsm_step(t, SYNC_FINAL, YE_FINAL_FAIL, &left, "s", NULL, &r, NULL);
    cr_assert_eq(r.to, SYNC_FINAL);
    cr_assert(has_fx(&r, YFX_FINAL_UPLOAD));
    fsm_step(t, SYNC_FINAL, YE_FINAL_FAIL, &late, "s", NULL, &r, NULL);
    cr_assert_eq(r.to, SYNC_EXITED);
    /* a sidecar never fails its pod: it reports what was not shipped and exits 0 (issue 14) */
    cr_assert(has_fx(&r, YFX_REPORT_UNSHIPPED), "the unshipped data is not reported");
    cr_assert(has_fx(&r, YFX_EXIT_OK), "a failed final sync must exit 0, or the Job runs the bot again");
}

Test(sync, max_wait_bounds_the_debounce)
{
    const fsm_table *t = &fsm_sync_table;
    sync_fsm_input in = {.dirty = true, .deadline_left = true};
    fsm_result r;
    fsm_step(t, SYNC_WATCHING, YE_CHANGE, &in, "s", NULL, &r, NULL);
    cr_assert_eq(r.to, SYNC_DIRTY);
    cr_assert(has_fx(&r, YFX_ARM_DEBOUNCE) && has_fx(&r, YFX_ARM_MAX_WAIT), "the first change arms both timers");
    fsm_step(t, SYNC_DIRTY, YE_CHANGE, &in, "s", NULL, &r, NULL);
    cr_assert_eq(r.to, SYNC_DIRTY);
    cr_assert(!has_fx(&r, YFX_ARM_MAX_WAIT), "a later change must not push the maximum wait back");
    fsm_step(t, SYNC_DIRTY, YE_MAX_WAIT, &in, "s", NULL, &r, NULL);
    cr_assert_eq(r.to, SYNC_UPLOADING, "the maximum wait must upload although writes keep coming");
    cr_assert(has_fx(&r, YFX_UPLOAD));
    fsm_step(t, SYNC_UPLOADING, YE_UPLOAD_OK, &in, "s", NULL, &r, NULL);
    cr_assert(has_fx(&r, YFX_ARM_MAX_WAIT), "changes made during an upload get a maximum wait too");
}
