/* schedule_table.c: the schedule lifecycle, i.e. the Schedule Controller's view of one scheduled bot.
 *
 * Level-triggered like the bot table: each reconcile observes the schedule document and the CronJob
 * labelled with its id (plus the CronJob's status: active Jobs, last run result, missed starts) and
 * turns them into one observation event.
 *
 * States: absent; creating (CronJob create sent, not yet observed); scheduled (current CronJob, idle,
 * never ran); job_running (a Job of it is active); last_succeeded / last_failed (idle after a run);
 * updating (spec changed: a PUT of the full object with the observed resourceVersion was sent; a 409
 * conflict re-reads the CronJob and retries); deleting (Foreground delete sent, or the CronJob is
 * terminating; Jobs and Pods go with it); invalid (bad cron expression or spec: reported for this
 * schedule only, and a CronJob of an older spec is removed — except for a bad cron expression, which leaves
 * the CronJob of the last good schedule running, as the reference does); missed_starts (the CronJob missed starts:
 * surfaced; startingDeadlineSeconds on every CronJob keeps the ">100 missed starts" rule from stopping
 * it for good); api_backoff (an API call failed; the key is retried with exponential backoff);
 * name_conflict (a CronJob with the schedule's name is not this schedule's — another owner, or another
 * schedule whose id shares the first 43 characters: never updated or deleted, reported once).
 *
 * Safety: a CronJob is created only when `no_cronjob_anywhere` holds (none in view, terminating ones
 * included, no create of ours unobserved), so a schedule never has two CronJobs. The deletion guards
 * `deletions_held` and `delete_cap_reached` hold or defer a deletion as in the bot table. */
#include "fsm/tables.h"

#define S(id, name) [id] = name,
static const char *const state_names[] = {SCHED_STATES(S)};
static const char *const event_names[] = {SCHED_EVENTS(S)};
static const char *const effect_names[] = {SCHED_EFFECTS(S)};
#undef S

static bool g_create_safe(const void *in)
{
    const sched_fsm_input *s = in;
    return !s->cj_exists && !s->create_in_flight;
}
static bool g_exists(const void *in) { return ((const sched_fsm_input *)in)->cj_exists; }
static bool g_deleting(const void *in) { return ((const sched_fsm_input *)in)->cj_deleting; }
static bool g_held(const void *in) { return ((const sched_fsm_input *)in)->deletions_held; }
static bool g_cap(const void *in) { return ((const sched_fsm_input *)in)->delete_cap_reached; }

static const fsm_guard_def guards[] = {
    [SG_NONE_] = {NULL, NULL},
    [SG_CREATE_SAFE] = {"no_cronjob_anywhere", g_create_safe},
    [SG_CJ_EXISTS] = {"cronjob_exists", g_exists},
    [SG_DELETING] = {"cronjob_terminating", g_deleting},
    [SG_HELD] = {"deletions_held", g_held},
    [SG_CAP] = {"delete_cap_reached", g_cap},
};

static const bool terminal[SS__COUNT] = {0};

static const fsm_row rows[] = {
    /* from              event            when                                        to              effects                                  why */
    /* -- not desired -------------------------------------------------------------------------------------------------------------------------- */
    GO(FSM_ANY,          SE_GONE,         ALWAYS,                                     SS_ABSENT,      FX(SFX_FORGET),                          "not desired and no CronJob: forget the schedule"),
    IGNORE(SS_ABSENT,    SE_GONE,                                                                                                              "still absent"),
    GO(FSM_ANY,          SE_UNWANTED,     WHEN(G(SG_HELD)),                           FSM_SAME,       FX(SFX_HOLD_DELETE),                     "not desired, but deletions are held (the desired-state list failed or collapsed): look again at the next resync"),
    GO(FSM_ANY,          SE_UNWANTED,     WHEN(NOT(SG_HELD), G(SG_CAP)),              FSM_SAME,       FX(SFX_DEFER_DELETE),                    "not desired, but this resync cycle used its deletions: look again at the next resync"),
    GO(FSM_ANY,          SE_UNWANTED,     WHEN(NOT(SG_HELD), NOT(SG_CAP), NOT(SG_DELETING)), SS_DELETING, FX(SFX_DELETE_CJ),                   "disabled or deleted: delete the CronJob (Foreground: its Jobs and Pods too)"),
    GO(FSM_ANY,          SE_UNWANTED,     WHEN(NOT(SG_HELD), NOT(SG_CAP), G(SG_DELETING)), SS_DELETING, FX(SFX_REQUEUE),                       "disabled or deleted; the CronJob is already terminating"),

    /* -- desired but invalid ------------------------------------------------------------------------------------------------------------------- */
    GO(FSM_ANY,          SE_INVALID,      WHEN(NOT(SG_CJ_EXISTS)),                    SS_INVALID,     FX(SFX_REPORT_INVALID),                  "bad cron or spec: report it for this schedule only"),
    GO(FSM_ANY,          SE_INVALID,      WHEN(G(SG_CJ_EXISTS), NOT(SG_DELETING)),    SS_INVALID,     FX(SFX_REPORT_INVALID, SFX_DELETE_CJ),   "new spec invalid: report it and remove the CronJob of the old spec"),
    GO(FSM_ANY,          SE_INVALID,      WHEN(G(SG_CJ_EXISTS), G(SG_DELETING)),      SS_INVALID,     FX(SFX_REPORT_INVALID),                  "spec invalid; the old CronJob is already going"),
    GO(SS_INVALID,       SE_INVALID,      WHEN(NOT(SG_CJ_EXISTS)),                    FSM_SAME,       NOFX,                                    "still invalid (already reported)"),
    GO(SS_INVALID,       SE_INVALID,      WHEN(G(SG_CJ_EXISTS), NOT(SG_DELETING)),    FSM_SAME,       FX(SFX_DELETE_CJ),                       "still invalid; our delete is not visible yet"),
    GO(SS_INVALID,       SE_INVALID,      WHEN(G(SG_CJ_EXISTS), G(SG_DELETING)),      FSM_SAME,       NOFX,                                    "still invalid; waiting for the old CronJob to go"),

    /* -- desired, no CronJob ------------------------------------------------------------------------------------------------------------------- */
    GO(FSM_ANY,          SE_NO_CJ,        WHEN(G(SG_CREATE_SAFE)),                    SS_CREATING,    FX(SFX_CREATE_CJ),                       "wanted and no CronJob anywhere: create it"),
    GO(FSM_ANY,          SE_NO_CJ,        WHEN(NOT(SG_CREATE_SAFE)),                  SS_CREATING,    FX(SFX_REQUEUE),                         "our create is not observed yet: never create twice, look again"),
    GO(FSM_ANY,          SE_CJ_DELETING,  ALWAYS,                                     SS_DELETING,    FX(SFX_REQUEUE),                         "wanted, but the CronJob is terminating: recreate once it is gone"),

    /* -- desired, CronJob of another spec ------------------------------------------------------------------------------------------------------ */
    GO(FSM_ANY,          SE_STALE,        ALWAYS,                                     SS_UPDATING,    FX(SFX_UPDATE_CJ),                       "spec changed: PUT the new object with the observed resourceVersion"),
    GO(FSM_ANY,          SE_CONFLICT,     ALWAYS,                                     SS_UPDATING,    FX(SFX_REREAD),                          "409 Conflict: re-read the CronJob, then retry the PUT"),

    /* -- desired, current CronJob: follow its runs --------------------------------------------------------------------------------------------- */
    GO(FSM_ANY,          SE_IDLE,         ALWAYS,                                     SS_IDLE,        FX(SFX_FORGET),                          "CronJob current; waiting for its first run"),
    IGNORE(SS_IDLE,      SE_IDLE,                                                                                                              "steady state"),
    GO(FSM_ANY,          SE_ACTIVE,       ALWAYS,                                     SS_JOB_RUNNING, FX(SFX_FORGET),                          "a Job is running"),
    IGNORE(SS_JOB_RUNNING, SE_ACTIVE,                                                                                                          "still running"),
    GO(FSM_ANY,          SE_LAST_OK,      ALWAYS,                                     SS_SUCCEEDED,   FX(SFX_FORGET, SFX_CHECK_RUN),           "the last run succeeded (its sidecar never fails the pod: a failed final sync is reported from its termination message)"),
    IGNORE(SS_SUCCEEDED, SE_LAST_OK,                                                                                                           "steady state"),
    GO(FSM_ANY,          SE_LAST_FAILED,  ALWAYS,                                     SS_FAILED,      FX(SFX_EVENT_FAILED, SFX_CHECK_RUN),     "the last run failed: surface it"),
    IGNORE(SS_FAILED,    SE_LAST_FAILED,                                                                                                       "already reported"),
    GO(FSM_ANY,          SE_MISSED,       ALWAYS,                                     SS_MISSED,      FX(SFX_EVENT_MISSED),                    "starts were missed: surface it"),
    IGNORE(SS_MISSED,    SE_MISSED,                                                                                                            "already reported"),

    /* -- effects that failed ------------------------------------------------------------------------------------------------------------------- */
    GO(FSM_ANY,          SE_API_ERROR,    ALWAYS,                                     SS_BACKOFF,     FX(SFX_BACKOFF),                         "an API call failed: retry the key with exponential backoff"),
    GO(SS_BACKOFF,       SE_API_ERROR,    ALWAYS,                                     FSM_SAME,       FX(SFX_BACKOFF),                         "failed again: back off further"),
    GO(FSM_ANY,          SE_NAME_TAKEN,   ALWAYS,                                     SS_NAME_CONFLICT, FX(SFX_REPORT_CONFLICT, SFX_REQUEUE_SLOW), "its CronJob's name is held by another owner or schedule (ids sharing their first 43 characters): leave it alone, report it once"),
    GO(SS_NAME_CONFLICT, SE_NAME_TAKEN,   ALWAYS,                                     FSM_SAME,       FX(SFX_REQUEUE_SLOW),                    "still taken (already reported): look again later"),
    GO(SS_NAME_CONFLICT, SE_NO_CJ,        WHEN(G(SG_CREATE_SAFE)),                    FSM_SAME,       FX(SFX_CREATE_CJ),                       "try the name again: it may have been freed"),
    GO(SS_NAME_CONFLICT, SE_NO_CJ,        WHEN(NOT(SG_CREATE_SAFE)),                  SS_CREATING,    FX(SFX_REQUEUE),                         "our create is not observed yet: never create twice, look again"),
    GO(FSM_ANY,          SE_CRON_INVALID, ALWAYS,                                     SS_INVALID,     FX(SFX_REPORT_INVALID),                  "bad cron expression: report it for this schedule only; a CronJob of the last good schedule keeps running (as the reference keeps it)"),
    GO(SS_INVALID,       SE_CRON_INVALID, ALWAYS,                                     FSM_SAME,       NOFX,                                    "still invalid (already reported)"),
};

static fsm_index row_index = FSM_INDEX_INIT;

const fsm_table fsm_schedule_table = {
    .name = "schedule",
    .title = "The schedule lifecycle: the Schedule Controller's view of one scheduled bot (one CronJob per enabled schedule).",
    .nstates = SS__COUNT,
    .nevents = SE__COUNT,
    .nguards = SG__COUNT,
    .neffects = SFX__COUNT,
    .state_names = state_names,
    .event_names = event_names,
    .guards = guards,
    .effect_names = effect_names,
    .terminal = terminal,
    .initial = SS_ABSENT,
    .rows = rows,
    .nrows = T0_ARRAY_LEN(rows),
    .index = &row_index,
};
