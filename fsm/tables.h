/* tables.h: the four lifecycle tables (bot, schedule, simulated pod, sync daemon): their states,
 * events, guards, effects and guard inputs. The tables themselves are const data in fsm/<name>_table.c;
 * docs/fsm/<name>.md are generated from them. Enums are X-macros so names and values cannot drift. */
#ifndef T0_FSM_TABLES_H
#define T0_FSM_TABLES_H

#include <stdbool.h>

#include "fsm/fsm.h"

#define T0_ENUM(id, name) id,

/* ---- bot lifecycle: the Bot Controller's view of one realtime bot ---------------------------- */
#define BOT_STATES(X)                                                                                  \
    X(BS_ABSENT, "absent")                 /* not desired and no pod: nothing to do */               \
    X(BS_CREATE_PENDING, "create_pending") /* desired, no pod, create deferred (not yet safe) */      \
    X(BS_CREATING, "creating")             /* create sent, pod not observed yet */                    \
    X(BS_STARTING, "starting")             /* pod observed, init container running */                 \
    X(BS_RUNNING, "running")               /* bot and sync containers up */                           \
    X(BS_CRASHLOOP, "crashlooping")        /* bot container in CrashLoopBackOff */                    \
    X(BS_INIT_FAILING, "init_failing")     /* init container keeps failing (e.g. code missing) */      \
    X(BS_REPLACING, "replacing")           /* old pod being deleted; new one created once it is gone */ \
    X(BS_STOPPING, "stopping")             /* disabled or deleted; waiting for the pod to go */       \
    X(BS_TERMINAL_POD, "terminal_pod")     /* pod Succeeded/Failed/Unknown/evicted: being replaced */  \
    X(BS_INVALID, "invalid_spec")          /* no pod can be generated (runtime, path, name) */        \
    X(BS_BACKOFF, "api_backoff")           /* an API call failed; retrying with per-key backoff */    \
    X(BS_NAME_CONFLICT, "name_conflict")   /* the pod's name is held by an object that is not ours */

#define BOT_EVENTS(X)                                                                                  \
    X(BE_GONE, "not_desired_no_pod")       /* document absent or disabled, no pod */                  \
    X(BE_UNWANTED, "not_desired_pod")      /* document absent or disabled, a pod exists */            \
    X(BE_INVALID, "spec_invalid")          /* desired, but no pod can be generated */                 \
    X(BE_NO_POD, "desired_no_pod")         /* desired and valid, no pod observed */                   \
    X(BE_TERMINATING, "pod_terminating")   /* desired, pod has a deletionTimestamp */                 \
    X(BE_STALE, "spec_changed")            /* desired, live pod built from another spec */            \
    X(BE_PENDING, "pod_pending")           /* current pod, init running or waiting */                 \
    X(BE_INIT_FAILING, "init_failing")     /* current pod, init container failing */                  \
    X(BE_RUNNING, "pod_running")           /* current pod, bot container running */                   \
    X(BE_CRASHLOOP, "bot_crashloop")       /* current pod, bot container crash-looping */             \
    X(BE_TERMINAL, "pod_terminal")         /* current pod ended: Succeeded/Failed/Unknown/evicted */  \
    X(BE_API_ERROR, "api_error")           /* executing an effect failed (retryable) */               \
    X(BE_NAME_TAKEN, "name_taken")         /* a create found the name taken by another owner or bot id */

#define BOT_GUARDS(X)                                                                                  \
    X(BG_NONE_, "-")                                                                                   \
    X(BG_CREATE_SAFE, "no_pod_anywhere") /* no pod of this bot, terminating included, no create in flight */ \
    X(BG_POD_EXISTS, "pod_exists")                                                                     \
    X(BG_TERMINATING, "pod_terminating")                                                               \
    X(BG_ESCALATE, "escalate")           /* failures crossed the escalation threshold */               \
    X(BG_HELD, "deletions_held")         /* the last desired-state list failed or collapsed */         \
    X(BG_CAP, "delete_cap_reached")      /* this resync cycle issued its maximum of deletions */

#define BOT_EFFECTS(X)                                                                                 \
    X(BFX_NONE_, "none")                                                                               \
    X(BFX_CREATE_POD, "create_pod")                                                                    \
    X(BFX_DELETE_POD, "delete_pod")                                                                    \
    X(BFX_REQUEUE, "requeue")             /* look again soon (waiting on the cluster) */               \
    X(BFX_BACKOFF, "requeue_backoff")     /* look again after the key's exponential backoff */         \
    X(BFX_FORGET, "forget")               /* reset the key's backoff and escalation memory */          \
    X(BFX_REPORT_INVALID, "report_invalid") /* log + Warning Event + metric, for this bot only */      \
    X(BFX_EVENT_RUNNING, "event_running")                                                              \
    X(BFX_EVENT_CRASHLOOP, "event_crashloop")                                                          \
    X(BFX_EVENT_INIT_FAILING, "event_init_failing")                                                    \
    X(BFX_EVENT_ESCALATED, "event_escalated")                                                          \
    X(BFX_EVENT_TERMINAL, "event_pod_ended")                                                           \
    X(BFX_HOLD_DELETE, "hold_delete")     /* count a guard trip; look again after a resync period */   \
    X(BFX_DEFER_DELETE, "defer_delete")   /* count a deferral; look again after a resync period */     \
    X(BFX_HOLD_ESCALATION, "hold_escalation") /* count a guard trip (the pod is not recreated now) */  \
    X(BFX_REPORT_CONFLICT, "report_conflict") /* log + Warning Event + metric, once */                  \
    X(BFX_REQUEUE_SLOW, "requeue_resync")   /* look again after a resync period */

enum bot_state { BOT_STATES(T0_ENUM) BS__COUNT };
enum bot_event { BOT_EVENTS(T0_ENUM) BE__COUNT };
enum bot_guard { BOT_GUARDS(T0_ENUM) BG__COUNT };
enum bot_effect { BOT_EFFECTS(T0_ENUM) BFX__COUNT };

/* Guard input for the bot table: facts about the observed pods of one bot. */
typedef struct bot_fsm_input {
    bool pod_exists;       /* a pod labelled with this bot id is in the view, terminating ones included */
    bool pod_terminating;  /* that pod has a deletionTimestamp */
    bool create_in_flight; /* we created a pod that the view has not shown yet */
    bool escalate;         /* restarts / init failures crossed the configured threshold */
    bool deletions_held;   /* the deletion gate is closed: the last desired-state list failed or collapsed
                              (for a missing document: and the bot's own read cannot decide) */
    bool delete_cap_reached; /* not desired, a live pod, and this resync cycle's deletions are used up */
} bot_fsm_input;

/* ---- schedule lifecycle: the Schedule Controller's view of one scheduled bot ----------------- */
#define SCHED_STATES(X)                                                                                \
    X(SS_ABSENT, "absent")                                                                             \
    X(SS_CREATING, "creating")        /* CronJob create sent, not observed yet */                      \
    X(SS_IDLE, "scheduled")           /* CronJob current, waiting for its next run */                  \
    X(SS_JOB_RUNNING, "job_running")  /* a Job of it is active */                                      \
    X(SS_SUCCEEDED, "last_succeeded") /* idle; the last run succeeded */                               \
    X(SS_FAILED, "last_failed")       /* idle; the last run failed */                                  \
    X(SS_UPDATING, "updating")        /* PUT with resourceVersion sent (re-read on conflict) */        \
    X(SS_DELETING, "deleting")        /* Foreground delete sent or the CronJob is terminating */       \
    X(SS_INVALID, "invalid")          /* bad cron expression or spec: reported for this bot only */    \
    X(SS_MISSED, "missed_starts")     /* starts were missed (controller/cluster downtime) */           \
    X(SS_BACKOFF, "api_backoff")                                                                       \
    X(SS_NAME_CONFLICT, "name_conflict") /* the CronJob's name is held by another owner or schedule */

#define SCHED_EVENTS(X)                                                                                \
    X(SE_GONE, "not_desired_no_cronjob")                                                               \
    X(SE_UNWANTED, "not_desired_cronjob")                                                              \
    X(SE_INVALID, "spec_invalid")                                                                      \
    X(SE_NO_CJ, "desired_no_cronjob")                                                                  \
    X(SE_CJ_DELETING, "cronjob_terminating")                                                           \
    X(SE_STALE, "spec_changed")                                                                        \
    X(SE_IDLE, "cronjob_idle")          /* current, never ran */                                       \
    X(SE_ACTIVE, "job_active")                                                                         \
    X(SE_LAST_OK, "last_run_succeeded")                                                                \
    X(SE_LAST_FAILED, "last_run_failed")                                                               \
    X(SE_MISSED, "starts_missed")                                                                      \
    X(SE_CONFLICT, "update_conflict")   /* the PUT answered 409 */                                     \
    X(SE_API_ERROR, "api_error")                                                                       \
    X(SE_NAME_TAKEN, "name_taken")                                                                     \
    X(SE_CRON_INVALID, "cron_invalid")  /* the schedule's cron expression is invalid */

#define SCHED_GUARDS(X)                                                                                \
    X(SG_NONE_, "-")                                                                                   \
    X(SG_CREATE_SAFE, "no_cronjob_anywhere")                                                           \
    X(SG_CJ_EXISTS, "cronjob_exists")                                                                  \
    X(SG_DELETING, "cronjob_terminating")                                                              \
    X(SG_HELD, "deletions_held")                                                                       \
    X(SG_CAP, "delete_cap_reached")

#define SCHED_EFFECTS(X)                                                                               \
    X(SFX_NONE_, "none")                                                                               \
    X(SFX_CREATE_CJ, "create_cronjob")                                                                 \
    X(SFX_UPDATE_CJ, "update_cronjob")   /* PUT the full object with the observed resourceVersion */   \
    X(SFX_REREAD, "reread_cronjob")      /* GET it again, then retry */                                \
    X(SFX_DELETE_CJ, "delete_cronjob")   /* propagationPolicy Foreground */                            \
    X(SFX_REQUEUE, "requeue")                                                                          \
    X(SFX_BACKOFF, "requeue_backoff")                                                                  \
    X(SFX_FORGET, "forget")                                                                            \
    X(SFX_REPORT_INVALID, "report_invalid")                                                            \
    X(SFX_EVENT_FAILED, "event_run_failed")                                                            \
    X(SFX_EVENT_MISSED, "event_missed_starts")                                                         \
    X(SFX_HOLD_DELETE, "hold_delete")                                                                  \
    X(SFX_DEFER_DELETE, "defer_delete")                                                                \
    X(SFX_REPORT_CONFLICT, "report_conflict")                                                          \
    X(SFX_REQUEUE_SLOW, "requeue_resync")                                                              \
    X(SFX_CHECK_RUN, "check_run_sync")   /* a run ended: did its sidecar ship the run's last state? */

enum sched_state { SCHED_STATES(T0_ENUM) SS__COUNT };
enum sched_event { SCHED_EVENTS(T0_ENUM) SE__COUNT };
enum sched_guard { SCHED_GUARDS(T0_ENUM) SG__COUNT };
enum sched_effect { SCHED_EFFECTS(T0_ENUM) SFX__COUNT };

typedef struct sched_fsm_input {
    bool cj_exists;        /* a CronJob labelled with this schedule id is in the view */
    bool cj_deleting;      /* it has a deletionTimestamp */
    bool create_in_flight; /* we created one that the view has not shown yet */
    bool deletions_held;   /* as bot_fsm_input */
    bool delete_cap_reached;
} sched_fsm_input;

/* ---- simulated pod: what a kubelet does with one Pod ----------------------------------------- */
#define POD_STATES(X)                                                                                  \
    X(PS_PENDING, "pending")           /* accepted; images being pulled */                             \
    X(PS_INIT_RUNNING, "init_running")                                                                 \
    X(PS_INIT_BACKOFF, "init_backoff") /* init failed; waiting to retry (restartPolicy Always) */      \
    X(PS_RUNNING, "running")           /* bot + sync containers started */                             \
    X(PS_BOT_BACKOFF, "bot_backoff")   /* bot exited; CrashLoopBackOff before restarting it */         \
    X(PS_COMPLETING, "completing")     /* restartPolicy Never: bot done, sync doing its final upload */ \
    X(PS_TERMINATING, "terminating")   /* SIGTERM sent; grace period running */                        \
    X(PS_SUCCEEDED, "succeeded")                                                                       \
    X(PS_FAILED, "failed")                                                                             \
    X(PS_GONE, "gone")                 /* the API object is removed */

#define POD_EVENTS(X)                                                                                  \
    X(PE_PULLED, "images_pulled")                                                                      \
    X(PE_INIT_OK, "init_exit_ok")                                                                      \
    X(PE_INIT_FAIL, "init_exit_fail")                                                                  \
    X(PE_BACKOFF_DONE, "backoff_done")                                                                 \
    X(PE_BOT_EXIT, "bot_exit")                                                                         \
    X(PE_SYNC_EXIT, "sync_exit")                                                                       \
    X(PE_DELETE, "delete_requested")                                                                   \
    X(PE_ALL_STOPPED, "all_stopped")                                                                   \
    X(PE_GRACE_EXPIRED, "grace_expired")                                                               \
    X(PE_EVICT, "evicted")             /* node lost or pod evicted */                                  \
    X(PE_REMOVED, "object_removed")    /* removed from the API without the kubelet (force delete) */

#define POD_GUARDS(X)                                                                                  \
    X(PG_NONE_, "-")                                                                                   \
    X(PG_ALWAYS, "restart_always")       /* restartPolicy Always (else Never) */                      \
    X(PG_SYNC_RUNNING, "sync_running")   /* the sync container is still running */                   \
    X(PG_ALL_OK, "all_exit_zero")        /* every terminated container exited 0 */

#define POD_EFFECTS(X)                                                                                 \
    X(PFX_NONE_, "none")                                                                               \
    X(PFX_START_INIT, "start_init")                                                                    \
    X(PFX_START_MAIN, "start_bot_and_sync")                                                            \
    X(PFX_ARM_BACKOFF, "arm_backoff")    /* 10 s doubling to 300 s; reset after 10 min up */           \
    X(PFX_RESTART_INIT, "restart_init")                                                                \
    X(PFX_RESTART_BOT, "restart_bot")                                                                  \
    X(PFX_RESTART_SYNC, "restart_sync")                                                                \
    X(PFX_SIGTERM, "sigterm_all")        /* and arm the grace-period timer */                          \
    X(PFX_SIGKILL, "sigkill_all")                                                                      \
    X(PFX_PHASE_RUNNING, "phase_running")                                                              \
    X(PFX_PHASE_SUCCEEDED, "phase_succeeded")                                                          \
    X(PFX_PHASE_FAILED, "phase_failed")                                                                \
    X(PFX_MARK_EVICTED, "mark_evicted")  /* phase Failed, reason Evicted */                            \
    X(PFX_REMOVE_OBJECT, "remove_object")

enum pod_state { POD_STATES(T0_ENUM) PS__COUNT };
enum pod_event { POD_EVENTS(T0_ENUM) PE__COUNT };
enum pod_guard { POD_GUARDS(T0_ENUM) PG__COUNT };
enum pod_effect { POD_EFFECTS(T0_ENUM) PFX__COUNT };

typedef struct pod_fsm_input {
    bool restart_always;
    bool sync_running;
    bool all_ok;
} pod_fsm_input;

/* ---- sync daemon: the sidecar that ships state and logs -------------------------------------- */
#define SYNC_STATES(X)                                                                                 \
    X(SYNC_WATCHING, "watching")                                                                       \
    X(SYNC_DIRTY, "dirty")           /* a change was seen; debouncing */                               \
    X(SYNC_UPLOADING, "uploading")                                                                     \
    X(SYNC_BACKOFF, "upload_backoff")                                                                  \
    X(SYNC_STOPPING, "awaiting_bot") /* SIGTERM: waiting (bounded) for the bot's done file */          \
    X(SYNC_FINAL, "final_sync")      /* done file or SIGTERM: last upload, bounded in time */          \
    X(SYNC_EXITED, "exited")

#define SYNC_EVENTS(X)                                                                                 \
    X(YE_CHANGE, "change")           /* inotify event or log growth */                                 \
    X(YE_QUIET, "debounce_expired")  /* no change for debounce_ms */                                   \
    X(YE_MAX_WAIT, "max_wait_expired") /* max_wait_ms since the first change not yet uploaded */       \
    X(YE_SCAN, "periodic_scan")                                                                        \
    X(YE_UPLOAD_OK, "upload_ok")                                                                       \
    X(YE_UPLOAD_FAIL, "upload_failed")                                                                 \
    X(YE_RETRY, "retry_timer")                                                                         \
    X(YE_DONE, "done_file")                                                                            \
    X(YE_TERM, "sigterm")                                                                              \
    X(YE_FINAL_OK, "final_ok")                                                                         \
    X(YE_FINAL_FAIL, "final_failed")                                                                   \
    X(YE_STOP_WAIT, "bot_wait_expired") /* --done-wait after SIGTERM and the bot has not stopped */

#define SYNC_GUARDS(X)                                                                                 \
    X(YG_NONE_, "-")                                                                                   \
    X(YG_DIRTY, "unshipped_changes")                                                                   \
    X(YG_DEADLINE_LEFT, "deadline_left")                                                               \
    X(YG_BOT_RUNNING, "bot_running") /* a done file is configured and is not there */

#define SYNC_EFFECTS(X)                                                                                \
    X(YFX_NONE_, "none")                                                                               \
    X(YFX_ARM_DEBOUNCE, "arm_debounce")                                                                \
    X(YFX_ARM_MAX_WAIT, "arm_max_wait") /* once per batch of changes, from the first one */            \
    X(YFX_UPLOAD, "upload")                                                                            \
    X(YFX_ARM_RETRY, "arm_retry")                                                                      \
    X(YFX_RESET_BACKOFF, "reset_backoff")                                                              \
    X(YFX_AWAIT_BOT, "await_bot")    /* arm the --done-wait timer; the final deadline starts */        \
    X(YFX_FINAL_UPLOAD, "final_upload")                                                                \
    X(YFX_REPORT_UNSHIPPED, "report_unshipped") /* log + termination message: what was not shipped */ \
    X(YFX_EXIT_OK, "exit_ok")   /* the only exit: a sidecar never fails its pod (fsm/sync_table.c) */

enum sync_state { SYNC_STATES(T0_ENUM) SYNC__COUNT };
enum sync_event { SYNC_EVENTS(T0_ENUM) YE__COUNT };
enum sync_guard { SYNC_GUARDS(T0_ENUM) YG__COUNT };
enum sync_effect { SYNC_EFFECTS(T0_ENUM) YFX__COUNT };

typedef struct sync_fsm_input {
    bool dirty;         /* changes not yet shipped (state content or log bytes) */
    bool deadline_left; /* the final-sync deadline has not passed */
    bool bot_running;   /* a done file is configured (--done-file / --watch-done) and does not exist */
} sync_fsm_input;

extern const fsm_table fsm_bot_table;
extern const fsm_table fsm_schedule_table;
extern const fsm_table fsm_pod_table;
extern const fsm_table fsm_sync_table;

#endif
