/* manager_seam.h: the simulator's test seam into the controller manager: hooks that crash a manager
 * between two effects and trace every FSM step, and a memo of generated desired states shared by the
 * managers of one simulated world. Production code (cmd/, the0-runtime) never includes this header. */
#ifndef T0_CTL_MANAGER_SEAM_H
#define T0_CTL_MANAGER_SEAM_H

#include <stdbool.h>
#include <stdint.h>

#include "controllers/manager.h"
#include "fsm/fsm.h"

/* ctl_memo: desired-state hashes that the managers of one process can share (ctl_hooks.memo). A manager
 * that starts (again) skips regenerating the Pod or CronJob of a document that an earlier manager with
 * equal pod settings already generated: generation is a pure function of the document and the settings,
 * so nothing observable changes. The simulator uses it because its managers crash and restart many times
 * per simulated hour; a real controller process starts once. Documents are keyed by the 64-bit content
 * fingerprint the manager already uses to skip unchanged documents on resync. */
typedef struct ctl_memo ctl_memo;
/* ctl_memo_new: an empty memo for managers whose ctl_settings.pod equals *POD (copied; its strings are
 * borrowed and must outlive the memo). Managers with other pod settings do not use it. */
t0_status ctl_memo_new(const podgen_settings *pod, ctl_memo **out, t0_err *err);
void ctl_memo_destroy(ctl_memo *memo); /* NULL is a no-op */
/* ctl_memo_hits: lookups answered so far (for tests and reports). */
uint64_t ctl_memo_hits(const ctl_memo *memo);

/* Hooks for the simulator. before_effect runs before each effect is executed; returning false makes
 * the manager "crash" at that point: it executes nothing more and ignores every later callback until
 * destroyed (the intermediate-state perturbation). Any hook may be NULL. */
typedef struct ctl_hooks {
    void *ud;
    bool (*before_effect)(void *ud, const char *controller, const char *key, const char *effect);
    /* on_transition: every FSM step of either controller (coverage, traces). */
    fsm_trace_fn on_transition;
    ctl_memo *memo; /* borrowed, may be NULL: see ctl_memo */
    /* on_forget: the informer of KIND dropped object NAME of key ID, incarnation UID ("" when unknown),
     * from its cache: a DELETED event, a re-read answering 404, a re-list that did not show it, or labels
     * that are no longer ours or this key's. Not called when a whole cache goes with its manager. */
    void (*on_forget)(void *ud, kube_kind kind, const char *name, const char *id, const char *uid);
} ctl_hooks;

/* ctl_manager_new_hooked: ctl_manager_new with HOOKS (copied; may be NULL). */
t0_status ctl_manager_new_hooked(const ctl_settings *s, const ctl_ports *ports, const ctl_hooks *hooks,
                                 ctl_manager **out, t0_err *err);

#endif
