/* pod_table.c: the simulated pod, i.e. what a kubelet does with one Pod (used by the simulator's fakes).
 *
 * A pod is accepted `pending` while its images are pulled; the init container runs (`init_running`),
 * and on failure either backs off and retries (restartPolicy Always: `init_backoff`) or fails the pod
 * (Never). When init succeeds the bot and sync containers start together (`running`). Under Always an
 * exited bot container waits in `bot_backoff` (CrashLoopBackOff: 10 s doubling to 300 s, reset after
 * 10 minutes up) and is restarted; an exited sync container is restarted. Under Never an exited bot
 * leaves the pod `completing` while the sync container does its final upload (done-file protocol); when
 * every container has stopped the pod is `succeeded` (all exit codes 0) or `failed`. A delete request
 * sends SIGTERM to every running container and starts the grace period (`terminating`); the object is
 * removed when all have stopped, or SIGKILL follows when the grace period expires. Eviction or node loss
 * marks the pod Failed with reason Evicted. `gone` (object removed) is terminal. */
#include "fsm/tables.h"

#include <string.h>

#define S(id, name) [id] = name,
static const char *const state_names[] = {POD_STATES(S)};
static const char *const event_names[] = {POD_EVENTS(S)};
static const char *const effect_names[] = {POD_EFFECTS(S)};
#undef S

static bool g_always(const void *in) { return ((const pod_fsm_input *)in)->restart_always; }
static bool g_sync_running(const void *in) { return ((const pod_fsm_input *)in)->sync_running; }
static bool g_all_ok(const void *in) { return ((const pod_fsm_input *)in)->all_ok; }

static const fsm_guard_def guards[] = {
    [PG_NONE_] = {NULL, NULL},
    [PG_ALWAYS] = {"restart_always", g_always},
    [PG_SYNC_RUNNING] = {"sync_running", g_sync_running},
    [PG_ALL_OK] = {"all_exit_zero", g_all_ok},
};

static const bool terminal[PS__COUNT] = {[PS_GONE] = true};

static const fsm_row rows[] = {
    /* from              event             when                                              to               effects                                   why */
    GO(PS_PENDING,       PE_PULLED,        ALWAYS,                                           PS_INIT_RUNNING, FX(PFX_START_INIT),                       "images pulled: run the init container"),

    GO(PS_INIT_RUNNING,  PE_INIT_OK,       ALWAYS,                                           PS_RUNNING,      FX(PFX_START_MAIN, PFX_PHASE_RUNNING),    "init done: start bot and sync together"),
    GO(PS_INIT_RUNNING,  PE_INIT_FAIL,     WHEN(G(PG_ALWAYS)),                               PS_INIT_BACKOFF, FX(PFX_ARM_BACKOFF),                      "init failed: back off, then retry it"),
    GO(PS_INIT_RUNNING,  PE_INIT_FAIL,     WHEN(NOT(PG_ALWAYS)),                             PS_FAILED,       FX(PFX_PHASE_FAILED),                     "init failed under restartPolicy Never: the pod fails"),
    GO(PS_INIT_BACKOFF,  PE_BACKOFF_DONE,  ALWAYS,                                           PS_INIT_RUNNING, FX(PFX_RESTART_INIT),                     "backoff over: run init again"),

    GO(PS_RUNNING,       PE_BOT_EXIT,      WHEN(G(PG_ALWAYS)),                               PS_BOT_BACKOFF,  FX(PFX_ARM_BACKOFF),                      "bot exited under Always: CrashLoopBackOff, then restart"),
    GO(PS_RUNNING,       PE_BOT_EXIT,      WHEN(NOT(PG_ALWAYS), G(PG_SYNC_RUNNING)),         PS_COMPLETING,   NOFX,                                     "bot finished under Never: wait for sync's final upload"),
    GO(PS_RUNNING,       PE_BOT_EXIT,      WHEN(NOT(PG_ALWAYS), NOT(PG_SYNC_RUNNING), G(PG_ALL_OK)), PS_SUCCEEDED, FX(PFX_PHASE_SUCCEEDED),         "bot finished last, every container exited 0"),
    GO(PS_RUNNING,       PE_BOT_EXIT,      WHEN(NOT(PG_ALWAYS), NOT(PG_SYNC_RUNNING), NOT(PG_ALL_OK)), PS_FAILED,  FX(PFX_PHASE_FAILED),            "bot finished last, some container failed"),
    GO(PS_RUNNING,       PE_SYNC_EXIT,     WHEN(G(PG_ALWAYS)),                               FSM_SAME,        FX(PFX_RESTART_SYNC),                     "sync exited under Always: restart it"),
    GO(PS_RUNNING,       PE_SYNC_EXIT,     WHEN(NOT(PG_ALWAYS)),                             FSM_SAME,        NOFX,                                     "sync exited early under Never: the pod ends when the bot does"),
    GO(PS_BOT_BACKOFF,   PE_BACKOFF_DONE,  ALWAYS,                                           PS_RUNNING,      FX(PFX_RESTART_BOT),                      "backoff over: restart the bot container"),
    GO(PS_BOT_BACKOFF,   PE_SYNC_EXIT,     ALWAYS,                                           FSM_SAME,        FX(PFX_RESTART_SYNC),                     "sync exited while the bot backs off: restart it"),

    GO(PS_COMPLETING,    PE_SYNC_EXIT,     WHEN(G(PG_ALL_OK)),                               PS_SUCCEEDED,    FX(PFX_PHASE_SUCCEEDED),                  "final sync done and every container exited 0"),
    GO(PS_COMPLETING,    PE_SYNC_EXIT,     WHEN(NOT(PG_ALL_OK)),                             PS_FAILED,       FX(PFX_PHASE_FAILED),                     "final sync done; some container failed"),

    /* deletion, eviction and removal apply to every live state */
    GO(FSM_ANY,          PE_DELETE,        ALWAYS,                                           PS_TERMINATING,  FX(PFX_SIGTERM),                          "delete requested: SIGTERM every container, grace period starts"),
    GO(FSM_ANY,          PE_EVICT,         ALWAYS,                                           PS_FAILED,       FX(PFX_SIGKILL, PFX_MARK_EVICTED),        "node lost or pod evicted: containers die, phase Failed (Evicted)"),
    GO(FSM_ANY,          PE_REMOVED,       ALWAYS,                                           PS_GONE,         FX(PFX_SIGKILL),                          "object removed without the kubelet (force delete)"),
    IGNORE(FSM_ANY,      PE_BACKOFF_DONE,                                                                                                               "a backoff timer that no longer applies"),
    IGNORE(FSM_ANY,      PE_GRACE_EXPIRED,                                                                                                              "a grace timer that no longer applies"),
    ILLEGAL(FSM_ANY,     PE_PULLED,                                                                                                                     "images are pulled only once, while pending"),
    ILLEGAL(FSM_ANY,     PE_INIT_OK,                                                                                                                    "no init container is running"),
    ILLEGAL(FSM_ANY,     PE_INIT_FAIL,                                                                                                                  "no init container is running"),
    ILLEGAL(FSM_ANY,     PE_BOT_EXIT,                                                                                                                   "no bot container is running"),
    ILLEGAL(FSM_ANY,     PE_SYNC_EXIT,                                                                                                                  "no sync container is running"),
    ILLEGAL(FSM_ANY,     PE_ALL_STOPPED,                                                                                                                "only a terminating pod waits for its containers"),

    GO(PS_TERMINATING,   PE_ALL_STOPPED,   ALWAYS,                                           PS_GONE,         FX(PFX_REMOVE_OBJECT),                    "every container stopped: remove the object"),
    GO(PS_TERMINATING,   PE_GRACE_EXPIRED, ALWAYS,                                           PS_GONE,         FX(PFX_SIGKILL, PFX_REMOVE_OBJECT),       "grace period over: SIGKILL and remove"),
    IGNORE(PS_TERMINATING, PE_DELETE,                                                                                                                   "already terminating"),
    IGNORE(PS_TERMINATING, PE_BOT_EXIT,                                                                                                                 "a container stopped; the kubelet reports all_stopped when the last one does"),
    IGNORE(PS_TERMINATING, PE_SYNC_EXIT,                                                                                                                "a container stopped; the kubelet reports all_stopped when the last one does"),
    IGNORE(PS_TERMINATING, PE_INIT_OK,                                                                                                                  "no containers start while terminating"),
    IGNORE(PS_TERMINATING, PE_INIT_FAIL,                                                                                                                "init stopped by SIGTERM"),
    IGNORE(PS_TERMINATING, PE_PULLED,                                                                                                                   "a pull that finished after the delete"),
    IGNORE(PS_TERMINATING, PE_EVICT,                                                                                                                    "already terminating"),

    GO(PS_SUCCEEDED,     PE_DELETE,        ALWAYS,                                           PS_GONE,         FX(PFX_REMOVE_OBJECT),                    "a finished pod has nothing to stop: removed at once"),
    IGNORE(PS_SUCCEEDED, PE_EVICT,                                                                                                                      "already finished"),
    GO(PS_FAILED,        PE_DELETE,        ALWAYS,                                           PS_GONE,         FX(PFX_REMOVE_OBJECT),                    "a finished pod has nothing to stop: removed at once"),
    IGNORE(PS_FAILED,    PE_EVICT,                                                                                                                      "already failed"),

    IGNORE(PS_GONE,      PE_PULLED,        "gone"),
    IGNORE(PS_GONE,      PE_INIT_OK,       "gone"),
    IGNORE(PS_GONE,      PE_INIT_FAIL,     "gone"),
    IGNORE(PS_GONE,      PE_BACKOFF_DONE,  "gone"),
    IGNORE(PS_GONE,      PE_BOT_EXIT,      "gone"),
    IGNORE(PS_GONE,      PE_SYNC_EXIT,     "gone"),
    IGNORE(PS_GONE,      PE_DELETE,        "gone"),
    IGNORE(PS_GONE,      PE_ALL_STOPPED,   "gone"),
    IGNORE(PS_GONE,      PE_GRACE_EXPIRED, "gone"),
    IGNORE(PS_GONE,      PE_EVICT,         "gone"),
    IGNORE(PS_GONE,      PE_REMOVED,       "gone"),
};

static fsm_index row_index = FSM_INDEX_INIT;

const fsm_table fsm_pod_table = {
    .name = "pod",
    .title = "The simulated pod: what the simulator's kubelet does with one Pod (restartPolicy Always and Never).",
    .nstates = PS__COUNT,
    .nevents = PE__COUNT,
    .nguards = PG__COUNT,
    .neffects = PFX__COUNT,
    .state_names = state_names,
    .event_names = event_names,
    .guards = guards,
    .effect_names = effect_names,
    .terminal = terminal,
    .initial = PS_PENDING,
    .rows = rows,
    .nrows = T0_ARRAY_LEN(rows),
    .index = &row_index,
};

static const fsm_table *const all_tables[] = {&fsm_bot_table, &fsm_schedule_table, &fsm_pod_table, &fsm_sync_table};

const fsm_table *const *fsm_tables(size_t *n)
{
    *n = T0_ARRAY_LEN(all_tables);
    return all_tables;
}

const fsm_table *fsm_table_by_name(const char *name)
{
    for (size_t i = 0; name && i < T0_ARRAY_LEN(all_tables); i++)
        if (strcmp(all_tables[i]->name, name) == 0) return all_tables[i];
    return NULL;
}
