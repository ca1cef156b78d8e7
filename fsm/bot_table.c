/* bot_table.c: the bot lifecycle, i.e. the Bot Controller's view of one realtime bot.
 *
 * The controller is level-triggered: every reconcile of a bot observes its desired state (the MongoDB
 * document: absent, disabled, invalid, or valid with a spec hash) and its actual state (the pods labelled
 * with its id) and turns them into exactly one observation event. So the next state follows from what is
 * observed, and a controller that restarts with empty memory re-derives every bot's state from its first
 * observation (every state answers every event). The previous state only decides the effects that
 * belong to a change, such as emitting an Event when a bot starts crash-looping.
 *
 * States: absent (nothing wanted, nothing there); create_pending (wanted, no pod, but a create is not
 * safe yet); creating (create sent, pod not seen); starting (init container running); running;
 * crashlooping (bot container in CrashLoopBackOff); init_failing (init keeps failing, e.g. the code
 * object is missing); replacing (the old pod is being deleted — spec changed, escalation, or someone
 * else deleted it — and the new one is created only once it is gone); stopping (disabled or deleted,
 * pod going away); terminal_pod (pod Succeeded/Failed/Unknown/evicted, being deleted to be replaced);
 * invalid_spec (no pod can be generated; reported for this bot only, no pod of an older spec is left
 * running); api_backoff (an API call failed; the key is retried with exponential backoff); name_conflict
 * (a Pod with the bot's name exists but is not this bot's — another owner's managed-by, another bot id:
 * it is never updated or deleted; reported once, and the name is tried again every resync period).
 *
 * Safety (DESIGN §5) is in the guards: a pod is created only when `no_pod_anywhere` holds — no pod of
 * this bot exists, terminating ones included, and no create of ours is still unobserved — so two bot
 * pods of one id never live at once, across spec changes and controller restarts. A live pod with
 * another spec is deleted first (replacing) and the create follows when the deletion is observed.
 *
 * The deletion guards are guards too, so the diagram shows them: `deletions_held` (the last
 * desired-state list failed or collapsed, and for a missing document the bot's own read cannot decide)
 * turns a deletion or an escalation into a hold, looked at again at the next resync; `delete_cap_reached`
 * (this resync cycle already issued its maximum of deletions) defers a deletion to the next cycle. */
#include "fsm/tables.h"

#define S(id, name) [id] = name,
static const char *const state_names[] = {BOT_STATES(S)};
static const char *const event_names[] = {BOT_EVENTS(S)};
static const char *const effect_names[] = {BOT_EFFECTS(S)};
#undef S

static bool g_create_safe(const void *in)
{
    const bot_fsm_input *b = in;
    return !b->pod_exists && !b->create_in_flight;
}
static bool g_pod_exists(const void *in) { return ((const bot_fsm_input *)in)->pod_exists; }
static bool g_terminating(const void *in) { return ((const bot_fsm_input *)in)->pod_terminating; }
static bool g_escalate(const void *in) { return ((const bot_fsm_input *)in)->escalate; }
static bool g_held(const void *in) { return ((const bot_fsm_input *)in)->deletions_held; }
static bool g_cap(const void *in) { return ((const bot_fsm_input *)in)->delete_cap_reached; }

static const fsm_guard_def guards[] = {
    [BG_NONE_] = {NULL, NULL},
    [BG_CREATE_SAFE] = {"no_pod_anywhere", g_create_safe},
    [BG_POD_EXISTS] = {"pod_exists", g_pod_exists},
    [BG_TERMINATING] = {"pod_terminating", g_terminating},
    [BG_ESCALATE] = {"escalate", g_escalate},
    [BG_HELD] = {"deletions_held", g_held},
    [BG_CAP] = {"delete_cap_reached", g_cap},
};

static const bool terminal[BS__COUNT] = {0};

static const fsm_row rows[] = {
    /* from              event            when                                      to                effects                                   why */
    /* -- not desired ------------------------------------------------------------------------------------------------------------------------------ */
    GO(FSM_ANY,          BE_GONE,         ALWAYS,                                   BS_ABSENT,        FX(BFX_FORGET),                           "not desired and no pod: forget the bot"),
    IGNORE(BS_ABSENT,    BE_GONE,                                                                                                               "still absent"),
    GO(FSM_ANY,          BE_UNWANTED,     WHEN(G(BG_HELD)),                         FSM_SAME,         FX(BFX_HOLD_DELETE),                      "not desired, but deletions are held (the desired-state list failed or collapsed): look again at the next resync"),
    GO(FSM_ANY,          BE_UNWANTED,     WHEN(NOT(BG_HELD), G(BG_CAP)),            FSM_SAME,         FX(BFX_DEFER_DELETE),                     "not desired, but this resync cycle used its deletions: look again at the next resync"),
    GO(FSM_ANY,          BE_UNWANTED,     WHEN(NOT(BG_HELD), NOT(BG_CAP), NOT(BG_TERMINATING)), BS_STOPPING, FX(BFX_DELETE_POD),               "disabled or deleted: delete its pod"),
    GO(FSM_ANY,          BE_UNWANTED,     WHEN(NOT(BG_HELD), NOT(BG_CAP), G(BG_TERMINATING)), BS_STOPPING, NOFX,                               "disabled or deleted and the pod is already terminating: wait"),
    GO(BS_STOPPING,      BE_UNWANTED,     WHEN(G(BG_HELD)),                         FSM_SAME,         FX(BFX_HOLD_DELETE),                      "stopping, but deletions are held: look again at the next resync"),
    GO(BS_STOPPING,      BE_UNWANTED,     WHEN(NOT(BG_HELD), G(BG_CAP)),            FSM_SAME,         FX(BFX_DEFER_DELETE),                     "stopping, but this resync cycle used its deletions: look again at the next resync"),
    GO(BS_STOPPING,      BE_UNWANTED,     WHEN(NOT(BG_HELD), NOT(BG_CAP), NOT(BG_TERMINATING)), FSM_SAME, FX(BFX_DELETE_POD),                  "our delete is not visible yet: delete again (idempotent)"),
    GO(BS_STOPPING,      BE_UNWANTED,     WHEN(NOT(BG_HELD), NOT(BG_CAP), G(BG_TERMINATING)), FSM_SAME, FX(BFX_REQUEUE),                       "waiting for the pod to go"),

    /* -- desired but invalid ----------------------------------------------------------------------------------------------------------------------- */
    GO(FSM_ANY,          BE_INVALID,      WHEN(NOT(BG_POD_EXISTS)),                 BS_INVALID,       FX(BFX_REPORT_INVALID),                   "no pod can be generated: report it for this bot only"),
    GO(FSM_ANY,          BE_INVALID,      WHEN(G(BG_POD_EXISTS), NOT(BG_TERMINATING)), BS_INVALID,    FX(BFX_REPORT_INVALID, BFX_DELETE_POD),   "new spec invalid: report it and stop the pod of the old spec"),
    GO(FSM_ANY,          BE_INVALID,      WHEN(G(BG_POD_EXISTS), G(BG_TERMINATING)), BS_INVALID,      FX(BFX_REPORT_INVALID),                   "spec invalid; the old pod is already going"),
    GO(BS_INVALID,       BE_INVALID,      WHEN(NOT(BG_POD_EXISTS)),                 FSM_SAME,         NOFX,                                     "still invalid (already reported)"),
    GO(BS_INVALID,       BE_INVALID,      WHEN(G(BG_POD_EXISTS), NOT(BG_TERMINATING)), FSM_SAME,      FX(BFX_DELETE_POD),                       "still invalid; our delete is not visible yet"),
    GO(BS_INVALID,       BE_INVALID,      WHEN(G(BG_POD_EXISTS), G(BG_TERMINATING)), FSM_SAME,        NOFX,                                     "still invalid; waiting for the old pod to go"),

    /* -- desired and valid, no pod: create, but only when safe -------------------------------------------------------------------------------------- */
    GO(FSM_ANY,          BE_NO_POD,       WHEN(G(BG_CREATE_SAFE)),                  BS_CREATING,      FX(BFX_CREATE_POD),                       "wanted and no pod anywhere: create it"),
    GO(FSM_ANY,          BE_NO_POD,       WHEN(NOT(BG_CREATE_SAFE)),                BS_CREATE_PENDING, FX(BFX_REQUEUE),                         "a pod of ours is not observed yet: never create twice, look again"),
    GO(BS_CREATING,      BE_NO_POD,       WHEN(G(BG_CREATE_SAFE)),                  FSM_SAME,         FX(BFX_CREATE_POD),                       "our create was lost (not in flight, not observed): create again"),
    GO(BS_CREATING,      BE_NO_POD,       WHEN(NOT(BG_CREATE_SAFE)),                FSM_SAME,         FX(BFX_REQUEUE),                          "waiting to observe the pod we created"),

    /* -- desired, the pod is going away or built from another spec ----------------------------------------------------------------------------------- */
    GO(FSM_ANY,          BE_TERMINATING,  ALWAYS,                                   BS_REPLACING,     FX(BFX_REQUEUE),                          "the pod is terminating while the bot is wanted: recreate once it is gone"),
    GO(BS_REPLACING,     BE_TERMINATING,  ALWAYS,                                   FSM_SAME,         FX(BFX_REQUEUE),                          "still waiting for the old pod to go"),
    GO(FSM_ANY,          BE_STALE,        ALWAYS,                                   BS_REPLACING,     FX(BFX_DELETE_POD),                       "spec changed: delete the old pod first; create when it is gone"),

    /* -- desired, current pod: follow what the kubelet reports --------------------------------------------------------------------------------------- */
    GO(FSM_ANY,          BE_PENDING,      ALWAYS,                                   BS_STARTING,      NOFX,                                     "pod observed: init container running"),
    IGNORE(BS_STARTING,  BE_PENDING,                                                                                                            "still starting"),
    GO(BS_ABSENT,        BE_RUNNING,      ALWAYS,                                   BS_RUNNING,       FX(BFX_FORGET),                           "found running (a restarted or new leader): no Event, it was reported when it started"),
    GO(FSM_ANY,          BE_RUNNING,      ALWAYS,                                   BS_RUNNING,       FX(BFX_EVENT_RUNNING, BFX_FORGET),        "bot container running"),
    IGNORE(BS_RUNNING,   BE_RUNNING,                                                                                                            "steady state"),
    GO(FSM_ANY,          BE_INIT_FAILING, WHEN(NOT(BG_ESCALATE)),                   BS_INIT_FAILING,  FX(BFX_EVENT_INIT_FAILING),               "init container failing: surface it (Event, log, metric)"),
    GO(FSM_ANY,          BE_INIT_FAILING, WHEN(G(BG_ESCALATE), NOT(BG_HELD)),       BS_REPLACING,     FX(BFX_EVENT_ESCALATED, BFX_DELETE_POD),  "init failed too often: recreate the pod (fresh download)"),
    GO(FSM_ANY,          BE_INIT_FAILING, WHEN(G(BG_ESCALATE), G(BG_HELD)),         BS_INIT_FAILING,  FX(BFX_EVENT_INIT_FAILING, BFX_HOLD_ESCALATION), "init failed too often, but deletions are held: surface it; recreate after a good read"),
    GO(BS_INIT_FAILING,  BE_INIT_FAILING, WHEN(NOT(BG_ESCALATE)),                   FSM_SAME,         NOFX,                                     "still failing; the kubelet retries with backoff"),
    GO(FSM_ANY,          BE_CRASHLOOP,    WHEN(NOT(BG_ESCALATE)),                   BS_CRASHLOOP,     FX(BFX_EVENT_CRASHLOOP),                  "bot crash-looping: surface it (Event, log, metric)"),
    GO(FSM_ANY,          BE_CRASHLOOP,    WHEN(G(BG_ESCALATE), NOT(BG_HELD)),       BS_REPLACING,     FX(BFX_EVENT_ESCALATED, BFX_DELETE_POD),  "crash loop past the threshold: recreate the pod"),
    GO(FSM_ANY,          BE_CRASHLOOP,    WHEN(G(BG_ESCALATE), G(BG_HELD)),         BS_CRASHLOOP,     FX(BFX_EVENT_CRASHLOOP, BFX_HOLD_ESCALATION), "crash loop past the threshold, but deletions are held: surface it; recreate after a good read"),
    GO(BS_CRASHLOOP,     BE_CRASHLOOP,    WHEN(NOT(BG_ESCALATE)),                   FSM_SAME,         NOFX,                                     "still crash-looping; the kubelet backs off"),
    GO(BS_INIT_FAILING,  BE_INIT_FAILING, WHEN(G(BG_ESCALATE), NOT(BG_HELD)),       BS_REPLACING,     FX(BFX_EVENT_ESCALATED, BFX_DELETE_POD),  "init failed too often: recreate the pod"),
    GO(BS_INIT_FAILING,  BE_INIT_FAILING, WHEN(G(BG_ESCALATE), G(BG_HELD)),         FSM_SAME,         FX(BFX_HOLD_ESCALATION),                  "still failing past the threshold; deletions are held"),
    GO(BS_CRASHLOOP,     BE_CRASHLOOP,    WHEN(G(BG_ESCALATE), NOT(BG_HELD)),       BS_REPLACING,     FX(BFX_EVENT_ESCALATED, BFX_DELETE_POD),  "crash loop past the threshold: recreate the pod"),
    GO(BS_CRASHLOOP,     BE_CRASHLOOP,    WHEN(G(BG_ESCALATE), G(BG_HELD)),         FSM_SAME,         FX(BFX_HOLD_ESCALATION),                  "still crash-looping past the threshold; deletions are held"),
    GO(FSM_ANY,          BE_TERMINAL,     ALWAYS,                                   BS_TERMINAL_POD,  FX(BFX_EVENT_TERMINAL, BFX_DELETE_POD),   "pod ended (Succeeded/Failed/Unknown/evicted): delete it, recreate when gone"),
    GO(BS_TERMINAL_POD,  BE_TERMINAL,     ALWAYS,                                   FSM_SAME,         FX(BFX_DELETE_POD),                       "our delete is not visible yet: delete again (idempotent)"),

    /* -- effects that failed ----------------------------------------------------------------------------------------------------------------------- */
    GO(FSM_ANY,          BE_API_ERROR,    ALWAYS,                                   BS_BACKOFF,       FX(BFX_BACKOFF),                          "an API call failed: retry the key with exponential backoff"),
    GO(BS_BACKOFF,       BE_API_ERROR,    ALWAYS,                                   FSM_SAME,         FX(BFX_BACKOFF),                          "failed again: back off further"),

    /* -- the name is taken by an object that is not this bot's: never touch it ------------------------------------------------------------------- */
    GO(FSM_ANY,          BE_NAME_TAKEN,   ALWAYS,                                   BS_NAME_CONFLICT, FX(BFX_REPORT_CONFLICT, BFX_REQUEUE_SLOW), "its pod's name is held by an object that is not this bot's: leave it alone, report it once, look again later"),
    GO(BS_NAME_CONFLICT, BE_NAME_TAKEN,   ALWAYS,                                   FSM_SAME,         FX(BFX_REQUEUE_SLOW),                     "still taken (already reported): look again later"),
    GO(BS_NAME_CONFLICT, BE_NO_POD,       WHEN(G(BG_CREATE_SAFE)),                  FSM_SAME,         FX(BFX_CREATE_POD),                       "try the name again: it may have been freed"),
    GO(BS_NAME_CONFLICT, BE_NO_POD,       WHEN(NOT(BG_CREATE_SAFE)),                BS_CREATE_PENDING, FX(BFX_REQUEUE),                         "a pod of ours is not observed yet: never create twice, look again"),
};

static fsm_index row_index = FSM_INDEX_INIT;

const fsm_table fsm_bot_table = {
    .name = "bot",
    .title = "The bot lifecycle: the Bot Controller's view of one realtime bot (one Pod per enabled bot).",
    .nstates = BS__COUNT,
    .nevents = BE__COUNT,
    .nguards = BG__COUNT,
    .neffects = BFX__COUNT,
    .state_names = state_names,
    .event_names = event_names,
    .guards = guards,
    .effect_names = effect_names,
    .terminal = terminal,
    .initial = BS_ABSENT,
    .rows = rows,
    .nrows = T0_ARRAY_LEN(rows),
    .index = &row_index,
};
