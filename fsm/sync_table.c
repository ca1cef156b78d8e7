/* sync_table.c: the sync daemon (sidecar) lifecycle; its one executor is daemon/sync.c.
 *
 * The sidecar ships /state and bot.log to MinIO. It idles in `watching`; a change (a filesystem watch
 * or log growth) moves it to `dirty`, where a short debounce (200 ms of quiet) gathers a burst of writes
 * into one upload, and a maximum wait (300 ms from the first unshipped change) bounds the debounce: a bot
 * that writes every 100 ms is still shipped within a second, not at the next scan. The periodic scan is
 * the backup for lost notifications. A failed upload waits in `upload_backoff` and retries; changes seen
 * meanwhile are remembered by the daemon (the `unshipped_changes` guard), not by extra states. The done
 * file (scheduled bots) or SIGTERM start `final_sync`, which retries until its deadline and then exits.
 *
 * SIGTERM reaches every container of the pod at once, so a bot may still be writing its last state and
 * log lines while it shuts down. When the pod tells the sidecar where the bot's done file is (the
 * entrypoint removes it when the bot starts and writes it when the bot exits), SIGTERM with the bot still
 * running leads to `awaiting_bot`: the final sync starts when the done file appears, or after --done-wait
 * at the latest (podgen: the grace period minus 30 s, leaving the final sync its time before SIGKILL). So
 * what a bot writes while it stops is shipped; only a bot that does not stop within --done-wait can lose
 * what it writes afterwards (the hard-kill bound, docs/scenarios.md). The final deadline counts from
 * SIGTERM, the wait included.
 *
 * A sidecar never fails its pod: when the final sync's deadline passes with something unshipped, the
 * sidecar reports it loudly (an error log naming the cause, the container's termination message, and
 * the state object it leaves is not marked final — see daemon.h, "the state object" — so the next run's
 * init tells) and exits 0 all the same. Exiting 1 would turn a scheduled bot that exited 0 into a Failed
 * pod, and its Job (backoffLimit 2) would run the bot again: a trading bot run twice because MinIO was
 * slow. `exited` is terminal. */
#include "fsm/tables.h"

#define S(id, name) [id] = name,
static const char *const state_names[] = {SYNC_STATES(S)};
static const char *const event_names[] = {SYNC_EVENTS(S)};
static const char *const effect_names[] = {SYNC_EFFECTS(S)};
#undef S

static bool g_dirty(const void *in) { return ((const sync_fsm_input *)in)->dirty; }
static bool g_deadline_left(const void *in) { return ((const sync_fsm_input *)in)->deadline_left; }
static bool g_bot_running(const void *in) { return ((const sync_fsm_input *)in)->bot_running; }

static const fsm_guard_def guards[] = {
    [YG_NONE_] = {NULL, NULL},
    [YG_DIRTY] = {"unshipped_changes", g_dirty},
    [YG_DEADLINE_LEFT] = {"deadline_left", g_deadline_left},
    [YG_BOT_RUNNING] = {"bot_running", g_bot_running},
};

static const bool terminal[SYNC__COUNT] = {[SYNC_EXITED] = true};

static const fsm_row rows[] = {
    /* from            event           when                    to              effects            why */
    GO(SYNC_WATCHING,  YE_CHANGE,      ALWAYS,                 SYNC_DIRTY,     FX(YFX_ARM_DEBOUNCE, YFX_ARM_MAX_WAIT), "a change was seen: debounce a burst of writes, but not for longer than the maximum wait"),
    IGNORE(SYNC_WATCHING, YE_QUIET,    "a debounce timer from before the last upload: nothing pending"),
    IGNORE(SYNC_WATCHING, YE_MAX_WAIT, "a maximum-wait timer from before the last upload: nothing pending"),
    GO(SYNC_WATCHING,  YE_SCAN,        WHEN(G(YG_DIRTY)),      SYNC_UPLOADING, FX(YFX_UPLOAD),    "the scan found unshipped changes (a missed inotify event)"),
    GO(SYNC_WATCHING,  YE_SCAN,        WHEN(NOT(YG_DIRTY)),    FSM_SAME,       NOFX,              "the scan found nothing new"),
    IGNORE(SYNC_WATCHING, YE_RETRY,    "a retry timer from an upload that has since succeeded"),

    GO(SYNC_DIRTY,     YE_CHANGE,      ALWAYS,                 FSM_SAME,       FX(YFX_ARM_DEBOUNCE), "more writes: push the debounce back (the maximum wait still bounds it)"),
    GO(SYNC_DIRTY,     YE_QUIET,       ALWAYS,                 SYNC_UPLOADING, FX(YFX_UPLOAD),    "writes settled: upload"),
    GO(SYNC_DIRTY,     YE_MAX_WAIT,    ALWAYS,                 SYNC_UPLOADING, FX(YFX_UPLOAD),    "writes keep coming: upload now rather than wait for quiet"),
    GO(SYNC_DIRTY,     YE_SCAN,        ALWAYS,                 SYNC_UPLOADING, FX(YFX_UPLOAD),    "the scan bounds the debounce: a busy bot is still shipped"),
    IGNORE(SYNC_DIRTY, YE_RETRY,       "a stale retry timer; the debounce will upload"),

    GO(SYNC_UPLOADING, YE_UPLOAD_OK,   WHEN(G(YG_DIRTY)),      SYNC_DIRTY,     FX(YFX_RESET_BACKOFF, YFX_ARM_DEBOUNCE, YFX_ARM_MAX_WAIT), "shipped, but more changed meanwhile"),
    GO(SYNC_UPLOADING, YE_UPLOAD_OK,   WHEN(NOT(YG_DIRTY)),    SYNC_WATCHING,  FX(YFX_RESET_BACKOFF), "everything shipped"),
    GO(SYNC_UPLOADING, YE_UPLOAD_FAIL, ALWAYS,                 SYNC_BACKOFF,   FX(YFX_ARM_RETRY), "upload failed: keep the data, retry with backoff"),
    IGNORE(SYNC_UPLOADING, YE_CHANGE,  "remembered as unshipped; handled when the upload ends"),
    IGNORE(SYNC_UPLOADING, YE_QUIET,   "an upload is already running"),
    IGNORE(SYNC_UPLOADING, YE_MAX_WAIT, "an upload is already running"),
    IGNORE(SYNC_UPLOADING, YE_SCAN,    "an upload is already running"),
    IGNORE(SYNC_UPLOADING, YE_RETRY,   "an upload is already running"),

    GO(SYNC_BACKOFF,   YE_RETRY,       ALWAYS,                 SYNC_UPLOADING, FX(YFX_UPLOAD),    "backoff over: try again"),
    IGNORE(SYNC_BACKOFF, YE_CHANGE,    "remembered as unshipped; the retry ships it"),
    IGNORE(SYNC_BACKOFF, YE_QUIET,     "the retry timer decides when to upload"),
    IGNORE(SYNC_BACKOFF, YE_MAX_WAIT,  "the retry timer decides when to upload"),
    IGNORE(SYNC_BACKOFF, YE_SCAN,      "the retry timer decides when to upload"),

    /* any live state: the end of the pod's life */
    GO(FSM_ANY,        YE_DONE,        ALWAYS,                 SYNC_FINAL,     FX(YFX_FINAL_UPLOAD), "the bot finished (done file): final sync"),
    GO(FSM_ANY,        YE_TERM,        WHEN(NOT(YG_BOT_RUNNING)), SYNC_FINAL,  FX(YFX_FINAL_UPLOAD), "SIGTERM: final sync within the grace period"),
    GO(FSM_ANY,        YE_TERM,        WHEN(G(YG_BOT_RUNNING)), SYNC_STOPPING, FX(YFX_AWAIT_BOT), "SIGTERM while the bot still runs: wait for its done file (at most --done-wait) so that what it writes while it stops is shipped"),
    IGNORE(FSM_ANY,    YE_STOP_WAIT,   "a wait timer that no longer applies"),
    ILLEGAL(FSM_ANY,   YE_UPLOAD_OK,   "no upload is running"),
    ILLEGAL(FSM_ANY,   YE_UPLOAD_FAIL, "no upload is running"),
    ILLEGAL(FSM_ANY,   YE_FINAL_OK,    "no final sync is running"),
    ILLEGAL(FSM_ANY,   YE_FINAL_FAIL,  "no final sync is running"),

    GO(SYNC_STOPPING,  YE_DONE,        ALWAYS,                 SYNC_FINAL,     FX(YFX_FINAL_UPLOAD), "the bot stopped (done file): its last writes are on disk, final sync"),
    GO(SYNC_STOPPING,  YE_STOP_WAIT,   ALWAYS,                 SYNC_FINAL,     FX(YFX_FINAL_UPLOAD), "the bot still runs after --done-wait: ship what there is (what it writes later is lost when SIGKILL ends it)"),
    IGNORE(SYNC_STOPPING, YE_TERM,     "already stopping"),
    IGNORE(SYNC_STOPPING, YE_CHANGE,   "the final sync after the bot stops takes a fresh snapshot"),
    IGNORE(SYNC_STOPPING, YE_QUIET,    "waiting for the bot"),
    IGNORE(SYNC_STOPPING, YE_MAX_WAIT, "waiting for the bot"),
    IGNORE(SYNC_STOPPING, YE_SCAN,     "waiting for the bot"),
    IGNORE(SYNC_STOPPING, YE_RETRY,    "waiting for the bot"),

    GO(SYNC_FINAL,     YE_FINAL_OK,    ALWAYS,                 SYNC_EXITED,    FX(YFX_EXIT_OK),   "everything shipped: exit 0"),
    GO(SYNC_FINAL,     YE_FINAL_FAIL,  WHEN(G(YG_DEADLINE_LEFT)), FSM_SAME,    FX(YFX_FINAL_UPLOAD), "final upload failed, time left: retry"),
    GO(SYNC_FINAL,     YE_FINAL_FAIL,  WHEN(NOT(YG_DEADLINE_LEFT)), SYNC_EXITED, FX(YFX_REPORT_UNSHIPPED, YFX_EXIT_OK), "final upload failed and the deadline passed: say loudly what was not shipped, then exit 0 (a sidecar never fails its pod: the Job would run the bot again)"),
    IGNORE(SYNC_FINAL, YE_CHANGE,      "the final upload takes a fresh snapshot"),
    IGNORE(SYNC_FINAL, YE_QUIET,       "finalising"),
    IGNORE(SYNC_FINAL, YE_MAX_WAIT,    "finalising"),
    IGNORE(SYNC_FINAL, YE_SCAN,        "finalising"),
    IGNORE(SYNC_FINAL, YE_RETRY,       "finalising"),
    IGNORE(SYNC_FINAL, YE_DONE,        "already finalising"),
    IGNORE(SYNC_FINAL, YE_TERM,        "already finalising"),
    ILLEGAL(SYNC_FINAL, YE_UPLOAD_OK,  "no ordinary upload during the final sync"),
    ILLEGAL(SYNC_FINAL, YE_UPLOAD_FAIL, "no ordinary upload during the final sync"),

    IGNORE(SYNC_EXITED, YE_CHANGE,     "exited"),
    IGNORE(SYNC_EXITED, YE_QUIET,      "exited"),
    IGNORE(SYNC_EXITED, YE_MAX_WAIT,   "exited"),
    IGNORE(SYNC_EXITED, YE_SCAN,       "exited"),
    IGNORE(SYNC_EXITED, YE_RETRY,      "exited"),
    IGNORE(SYNC_EXITED, YE_DONE,       "exited"),
    IGNORE(SYNC_EXITED, YE_TERM,       "exited"),
    ILLEGAL(SYNC_EXITED, YE_UPLOAD_OK, "exited"),
    ILLEGAL(SYNC_EXITED, YE_UPLOAD_FAIL, "exited"),
    ILLEGAL(SYNC_EXITED, YE_FINAL_OK,  "exited"),
    ILLEGAL(SYNC_EXITED, YE_FINAL_FAIL, "exited"),
};

static fsm_index row_index = FSM_INDEX_INIT;

const fsm_table fsm_sync_table = {
    .name = "sync",
    .title = "The sync daemon (sidecar): ships /state and bot.log to MinIO; the final sync on done file or SIGTERM; never fails its pod.",
    .nstates = SYNC__COUNT,
    .nevents = YE__COUNT,
    .nguards = YG__COUNT,
    .neffects = YFX__COUNT,
    .state_names = state_names,
    .event_names = event_names,
    .guards = guards,
    .effect_names = effect_names,
    .terminal = terminal,
    .initial = SYNC_WATCHING,
    .rows = rows,
    .nrows = T0_ARRAY_LEN(rows),
    .index = &row_index,
};
