/* bot_reconciler.c: the Bot Controller as a reconciler of the controller runtime: one Pod per enabled
 * realtime bot. Its table is fsm/bot_table.c; this file says how a Pod is summarized, how (desired,
 * observed) becomes one table event, and which executor runs each of the table's effects. */
#include <string.h>

#include "controllers/ctl_int.h"
#include "core/json.h"
#include "core/log.h"
#include "core/str.h"

static const char *jstr(const cJSON *o, const char *path) { return t0_json_str(o, path); }

static void object_name(const char *id, char out[CTL_NAME_MAX]) { t0_strjoin(out, CTL_NAME_MAX, "bot-", id); }

static uint8_t phase_of(const char *ph)
{
    return !ph                          ? PH_NONE
           : !strcmp(ph, "Pending")   ? PH_PENDING
           : !strcmp(ph, "Running")   ? PH_RUNNING
           : !strcmp(ph, "Succeeded") ? PH_SUCCEEDED
           : !strcmp(ph, "Failed")    ? PH_FAILED
           : !strcmp(ph, "Unknown")   ? PH_UNKNOWN
                                      : PH_NONE;
}

static void summarize(obj_sum *o, const cJSON *pod)
{
    const cJSON *status = t0_json_get(pod, "status"); /* looked up once: this runs on every pod event */
    o->phase = phase_of(jstr(status, "phase"));
    const char *reason = jstr(status, "reason");
    o->evicted = reason && !strcmp(reason, "Evicted");
    o->init_failing = o->crashloop = o->bot_running = false;
    o->init_restarts = o->bot_restarts = 0;
    const cJSON *cs;
    cJSON_ArrayForEach(cs, t0_json_get(status, "initContainerStatuses"))
    {
        const cJSON *rc = t0_json_get(cs, "restartCount");
        if (cJSON_IsNumber(rc)) o->init_restarts = (uint16_t)rc->valuedouble;
        const char *w = jstr(cs, "state.waiting.reason");
        const cJSON *term = t0_json_at(cs, "state.terminated.exitCode");
        bool done_ok = cJSON_IsNumber(term) && term->valuedouble == 0;
        if (!done_ok && ((w && strcmp(w, "PodInitializing") != 0) || (cJSON_IsNumber(term) && term->valuedouble != 0) ||
                         o->init_restarts > 0))
            o->init_failing = true;
    }
    cJSON_ArrayForEach(cs, t0_json_get(status, "containerStatuses"))
    {
        const char *name = jstr(cs, "name");
        if (!name || strcmp(name, "bot") != 0) continue;
        const cJSON *rc = t0_json_get(cs, "restartCount");
        if (cJSON_IsNumber(rc)) o->bot_restarts = (uint16_t)rc->valuedouble;
        const char *w = jstr(cs, "state.waiting.reason");
        if (w && !strcmp(w, "CrashLoopBackOff")) o->crashloop = true;
        if (t0_json_at(cs, "state.running")) o->bot_running = true;
    }
    o->cfg_form = ctl_hash_in(podgen_annotation(pod, HASH_ANN_CONFIG), &o->cfg_hash) & 3;
}

static int classify(ctl_kind *c, rec *r, const desired *d, const ctl_gate *g, ctl_input *input)
{
    bot_fsm_input *in = &input->bot;
    const obj_sum *o = r->obj;
    if (r->create_in_flight && ctl_mono_ms(c->m) > r->create_deadline_ms) r->create_in_flight = false; /* expectation expired */
    in->pod_exists = r->nobjs > 0;
    in->pod_terminating = o && o->terminating;
    in->create_in_flight = r->create_in_flight;
    in->escalate = false;
    in->deletions_held = g->held;
    in->delete_cap_reached = g->cap_reached;
    if (d->kind == D_ABSENT) return r->nobjs ? BE_UNWANTED : BE_GONE;
    if (d->kind == D_INVALID) return BE_INVALID;
    if (!o) return BE_NO_POD;
    if (o->terminating) return BE_TERMINATING;
    if (o->phase == PH_SUCCEEDED || o->phase == PH_FAILED || o->phase == PH_UNKNOWN || o->evicted) return BE_TERMINAL;
    if (ctl_needs_replace(o, d)) return BE_STALE;
    if (o->init_failing && !o->bot_running && o->phase != PH_RUNNING) {
        in->escalate = o->init_restarts >= c->m->s.init_escalate;
        return BE_INIT_FAILING;
    }
    if (o->phase == PH_PENDING || o->phase == PH_NONE) return BE_PENDING;
    if (o->crashloop) {
        in->escalate = o->bot_restarts >= c->m->s.crashloop_escalate;
        return BE_CRASHLOOP;
    }
    return o->bot_running ? BE_RUNNING : BE_PENDING;
}

static bool needs_fresh(int event, int state) { return event == BE_STALE || (event == BE_TERMINAL && state != BS_TERMINAL_POD); }
/* steady: nothing to do while the document is unchanged (name_conflict looks again on its own timer) */
static bool steady(int state) { return state == BS_RUNNING || state == BS_INVALID || state == BS_NAME_CONFLICT; }
static const char *managed_by(const podgen_settings *s) { return s->bot_controller_name; }

/* ---- the bot-only executors ---- */
static t0_status fx_report_invalid(ctl_kind *c, ctl_step *s)
{
    ctl_emit_event(c, s->id, "Warning", "InvalidBotSpec", s->d->err.msg);
    return T0_OK;
}
static t0_status fx_event_running(ctl_kind *c, ctl_step *s)
{
    ctl_emit_event(c, s->id, "Normal", "BotRunning", "bot container running");
    return T0_OK;
}
static t0_status fx_event_crashloop(ctl_kind *c, ctl_step *s)
{
    const obj_sum *o = s->r->obj;
    char n[24], msg[160];
    t0_strjoin(msg, sizeof msg, "bot container is in CrashLoopBackOff (", t0_log_num(n, o ? o->bot_restarts : 0),
               " restarts)");
    ctl_emit_event(c, s->id, "Warning", "BotCrashLooping", msg);
    return T0_OK;
}
static t0_status fx_event_init_failing(ctl_kind *c, ctl_step *s)
{
    const obj_sum *o = s->r->obj;
    char n[24], msg[200];
    t0_strjoin(msg, sizeof msg, "init container keeps failing (", t0_log_num(n, o ? o->init_restarts : 0),
               " restarts): the bot's code or state cannot be fetched?");
    ctl_emit_event(c, s->id, "Warning", "BotInitFailing", msg);
    return T0_OK;
}
/* event_escalated: the pod is about to be deleted to be recreated: say which failure crossed which
 * threshold (the delete that follows in the row writes no Event of its own) */
static t0_status fx_event_escalated(ctl_kind *c, ctl_step *s)
{
    const obj_sum *o = s->r->obj;
    char n[24], t[24], msg[240];
    if (s->res.event == BE_INIT_FAILING)
        t0_strjoin(msg, sizeof msg, "init container failed ", t0_log_num(n, o ? o->init_restarts : 0),
                   " times (threshold ", t0_log_num(t, c->m->s.init_escalate), "): deleting the pod to recreate it");
    else
        t0_strjoin(msg, sizeof msg, "crash loop escalated: ", t0_log_num(n, o ? o->bot_restarts : 0),
                   " restarts (threshold ", t0_log_num(t, c->m->s.crashloop_escalate),
                   "): deleting the pod to recreate it");
    ctl_emit_event(c, s->id, "Warning", "BotRecreated", msg);
    return T0_OK;
}
static t0_status fx_event_terminal(ctl_kind *c, ctl_step *s)
{
    const obj_sum *o = s->r->obj;
    static const char *const phases[] = {[PH_NONE] = "?", [PH_PENDING] = "Pending", [PH_RUNNING] = "Running",
                                         [PH_SUCCEEDED] = "Succeeded", [PH_FAILED] = "Failed",
                                         [PH_UNKNOWN] = "Unknown"};
    char msg[160];
    t0_strjoin(msg, sizeof msg, "pod ended (", o && o->evicted ? "evicted" : o ? phases[o->phase] : "?",
               "): deleting it to recreate it");
    ctl_emit_event(c, s->id, "Warning", "BotPodEnded", msg);
    return T0_OK;
}
/* hold_escalation: a crash loop or failing init past its threshold while deletions are held (the gate
 * is closed): surfaced by the row's Event, recreated after a good desired-state read */
static t0_status fx_hold_escalation(ctl_kind *c, ctl_step *s)
{
    c->m->st.deletion_guard_trips++;
    return T0_OK;
}

/* One executor per effect of fsm_bot_table (controllers/tests/test_reconcilers.c checks it). */
static const ctl_executor executors[BFX__COUNT] = {
    [BFX_CREATE_POD] = ctl_fx_create,
    [BFX_DELETE_POD] = ctl_fx_delete,
    [BFX_REQUEUE] = ctl_fx_requeue,
    [BFX_BACKOFF] = ctl_fx_backoff,
    [BFX_FORGET] = ctl_fx_forget,
    [BFX_REPORT_INVALID] = fx_report_invalid,
    [BFX_EVENT_RUNNING] = fx_event_running,
    [BFX_EVENT_CRASHLOOP] = fx_event_crashloop,
    [BFX_EVENT_INIT_FAILING] = fx_event_init_failing,
    [BFX_EVENT_ESCALATED] = fx_event_escalated,
    [BFX_EVENT_TERMINAL] = fx_event_terminal,
    [BFX_HOLD_DELETE] = ctl_fx_hold_delete,
    [BFX_DEFER_DELETE] = ctl_fx_defer_delete,
    [BFX_HOLD_ESCALATION] = fx_hold_escalation,
    [BFX_REPORT_CONFLICT] = ctl_fx_report_conflict,
    [BFX_REQUEUE_SLOW] = ctl_fx_requeue_slow,
};

const ctl_kind_def bot_reconciler = {
    .name = "bot-controller",
    .noun = "bot",
    .component = "the0-bot-controller",
    .table = &fsm_bot_table,
    .kind = KUBE_POD,
    .coll = STORE_BOTS,
    .id_label = LBL_BOT_ID,
    .hash_annotation = HASH_ANN_CONFIG,
    .ev_api_error = BE_API_ERROR,
    .ev_conflict = -1,
    .ev_unwanted = BE_UNWANTED,
    .ev_stale = BE_STALE,
    .ev_invalid = BE_INVALID,
    .ev_name_taken = BE_NAME_TAKEN,
    .executors = executors,
    .managed_by = managed_by,
    .object_name = object_name,
    .summarize = summarize,
    .classify = classify,
    .generate = podgen_pod,
    .needs_fresh = needs_fresh,
    .steady = steady,
};
