/* schedule_reconciler.c: the Schedule Controller as a reconciler of the controller runtime: one CronJob
 * per enabled scheduled bot. Its table is fsm/schedule_table.c; this file says how a CronJob is
 * summarized, how (desired, observed) becomes one table event, and which executor runs each effect. */
#include <stdlib.h>
#include <string.h>

#include "controllers/ctl_int.h"
#include "core/json.h"
#include "core/log.h"
#include "core/str.h"
#include "domain/cronexpr.h"
#include "domain/names.h"

static const char *jstr(const cJSON *o, const char *path) { return t0_json_str(o, path); }

static void object_name(const char *id, char out[CTL_NAME_MAX]) { names_cronjob(id, out); }

/* summarize: a CronJob's schedule fields go into the summary's extension (obj_ext) */
static void summarize(obj_sum *o, const cJSON *cj)
{
    o->cfg_form = ctl_hash_in(podgen_annotation(cj, HASH_ANN_SCHEDULE), &o->cfg_hash) & 3;
    obj_ext *x = ctl_obj_ext(o);
    if (!x) return; /* out of memory: classified as a CronJob without schedule fields */
    x->active = cJSON_GetArraySize(t0_json_at(cj, "status.active"));
    x->last_schedule_ms = ctl_parse_time(jstr(cj, "status.lastScheduleTime"));
    x->last_success_ms = ctl_parse_time(jstr(cj, "status.lastSuccessfulTime"));
    x->created_ms = ctl_parse_time(jstr(cj, "metadata.creationTimestamp"));
    const cJSON *dl = t0_json_at(cj, "spec.startingDeadlineSeconds");
    x->deadline_s = cJSON_IsNumber(dl) ? (int64_t)dl->valuedouble : 0;
    free(x->schedule);
    const char *sch = jstr(cj, "spec.schedule");
    x->schedule = sch ? strdup(sch) : NULL;
}

/* ext_of: O's schedule fields (all zero when it has none) */
static const obj_ext *ext_of(const obj_sum *o)
{
    static const obj_ext no_ext;
    return o->ext ? o->ext : &no_ext;
}

/* missed: the next activation after the last one is overdue beyond the starting deadline */
static bool missed(const obj_sum *so, int64_t now)
{
    const obj_ext *o = ext_of(so);
    cronexpr ce;
    int64_t base = o->last_schedule_ms ? o->last_schedule_ms : o->created_ms, next;
    if (!o->schedule || !base || cronexpr_parse(o->schedule, &ce, NULL) != T0_OK ||
        cronexpr_next(&ce, base / 1000, &next, NULL) != T0_OK)
        return false;
    int64_t grace = (o->deadline_s > 0 ? o->deadline_s : 300) + 60;
    return next * 1000 + grace * 1000 < now;
}

static int classify(ctl_kind *c, rec *r, const desired *d, const ctl_gate *g, ctl_input *input)
{
    sched_fsm_input *in = &input->sched;
    const obj_sum *o = r->obj;
    int64_t now = ctl_now(c->m);
    if (r->create_in_flight && ctl_mono_ms(c->m) > r->create_deadline_ms) r->create_in_flight = false;
    in->cj_exists = r->nobjs > 0;
    in->cj_deleting = o && o->terminating;
    in->create_in_flight = r->create_in_flight;
    in->deletions_held = g->held;
    in->delete_cap_reached = g->cap_reached;
    if (d->kind == D_ABSENT) return r->nobjs ? SE_UNWANTED : SE_GONE;
    if (d->kind == D_INVALID) return d->keep_existing ? SE_CRON_INVALID : SE_INVALID;
    if (!o) return SE_NO_CJ;
    if (o->terminating) return SE_CJ_DELETING;
    if (ctl_needs_replace(o, d)) return SE_STALE;
    const obj_ext *x = ext_of(o);
    if (x->active > 0) return SE_ACTIVE;
    if (missed(o, now)) return SE_MISSED;
    if (!x->last_schedule_ms) return SE_IDLE;
    return x->last_success_ms >= x->last_schedule_ms ? SE_LAST_OK : SE_LAST_FAILED;
}

static bool needs_fresh(int event, int state) { return event == SE_STALE; }

/* cron_invalid: the schedule's cron expression is missing or invalid: the reference rejects such an
 * update and its CronJob keeps the last good schedule, so an existing CronJob is left alone */
static bool cron_invalid(const botdoc *bd)
{
    const char *sched = botdoc_schedule(bd);
    cronexpr ce;
    char conv[512];
    return !sched || !*sched || cronexpr_parse(sched, &ce, NULL) != T0_OK ||
           names_convert_cron(sched, conv, sizeof conv, NULL) != T0_OK;
}
static bool steady(int state)
{
    return state == SS_IDLE || state == SS_JOB_RUNNING || state == SS_SUCCEEDED || state == SS_FAILED ||
           state == SS_INVALID || state == SS_NAME_CONFLICT;
}
static const char *managed_by(const podgen_settings *s) { return s->schedule_controller_name; }

/* ---- the schedule-only executors ---- */
static t0_status fx_report_invalid(ctl_kind *c, ctl_step *s)
{
    ctl_emit_event(c, s->id, "Warning", "InvalidSchedule", s->d->err.msg);
    return T0_OK;
}
static t0_status fx_event_failed(ctl_kind *c, ctl_step *s)
{
    ctl_emit_event(c, s->id, "Warning", "ScheduledRunFailed", "the last run failed");
    return T0_OK;
}
static t0_status fx_event_missed(ctl_kind *c, ctl_step *s)
{
    ctl_emit_event(c, s->id, "Warning", "ScheduledStartsMissed", "starts were missed past the deadline");
    return T0_OK;
}

/* check_run_sync: a run ended. Its sync sidecar exits 0 even when its final sync could not ship the run's last
 * state or logs (a Job must not run the bot again for that), saying so in its termination message; that
 * message becomes a Warning Event FinalSyncFailed on the pod and a count in the metrics. Pods whose sync
 * container finished before the last check were looked at already. Best effort: a failed list is logged. */
static t0_status fx_check_run(ctl_kind *c, ctl_step *s)
{
    ctl_manager *m = c->m;
    rec *r = ctl_rec_get(c, s->id, false);
    char sel[320];
    snprintf(sel, sizeof sel, "%s=%s,%s=%s", LBL_MANAGED_BY, c->def->managed_by(&m->s.pod), LBL_SCHED_ID, s->id);
    cJSON *list = NULL;
    t0_err err = {0};
    m->st.api_calls++;
    if (m->p.kube->list(m->p.kube->ctx, KUBE_POD, m->s.pod.namespace, sel, NULL, &list, &err) != T0_OK) {
        m->st.api_errors++;
        T0_DEBUG(c->def->name, "schedule %s: the run's pods not listed: %s", s->id, err.msg);
        return T0_OK;
    }
    int64_t since = r ? r->runs_checked_ms : 0, latest = since;
    const cJSON *pod, *cs;
    cJSON_ArrayForEach(pod, t0_json_get(list, "items"))
    {
        cJSON_ArrayForEach(cs, t0_json_at(pod, "status.containerStatuses"))
        {
            const char *name = jstr(cs, "name"), *msg = jstr(cs, "state.terminated.message");
            int64_t fin = ctl_parse_time(jstr(cs, "state.terminated.finishedAt"));
            if (!name || strcmp(name, "sync") || !msg || fin <= since) continue;
            if (fin > latest) latest = fin;
            if (strncmp(msg, "final sync FAILED", 17)) continue;
            m->st.final_sync_failures++;
            const char *pname = jstr(pod, "metadata.name"), *uid = jstr(pod, "metadata.uid"),
                       *rv = jstr(pod, "metadata.resourceVersion");
            obj_sum who = {0}; /* the pod's incarnation, so that `kubectl describe pod` shows it */
            ctl_obj_set_ids(&who, rv, uid);
            ctl_emit_event_about(c, s->id, KUBE_POD, pname ? pname : "", &who, "Warning", "FinalSyncFailed", msg);
            ctl_obj_free(&who);
        }
    }
    if (r) r->runs_checked_ms = latest;
    cJSON_Delete(list);
    return T0_OK;
}

/* One executor per effect of fsm_schedule_table (controllers/tests/test_reconcilers.c checks it). */
static const ctl_executor executors[SFX__COUNT] = {
    [SFX_CREATE_CJ] = ctl_fx_create,
    [SFX_UPDATE_CJ] = ctl_fx_update,
    [SFX_REREAD] = ctl_fx_reread,
    [SFX_DELETE_CJ] = ctl_fx_delete,
    [SFX_REQUEUE] = ctl_fx_requeue,
    [SFX_BACKOFF] = ctl_fx_backoff,
    [SFX_FORGET] = ctl_fx_forget,
    [SFX_REPORT_INVALID] = fx_report_invalid,
    [SFX_EVENT_FAILED] = fx_event_failed,
    [SFX_EVENT_MISSED] = fx_event_missed,
    [SFX_HOLD_DELETE] = ctl_fx_hold_delete,
    [SFX_DEFER_DELETE] = ctl_fx_defer_delete,
    [SFX_REPORT_CONFLICT] = ctl_fx_report_conflict,
    [SFX_REQUEUE_SLOW] = ctl_fx_requeue_slow,
    [SFX_CHECK_RUN] = fx_check_run,
};

const ctl_kind_def schedule_reconciler = {
    .name = "schedule-controller",
    .noun = "schedule",
    .component = "the0-schedule-controller",
    .table = &fsm_schedule_table,
    .kind = KUBE_CRONJOB,
    .coll = STORE_SCHEDULES,
    .id_label = LBL_SCHED_ID,
    .hash_annotation = HASH_ANN_SCHEDULE,
    .ev_api_error = SE_API_ERROR,
    .ev_conflict = SE_CONFLICT,
    .ev_unwanted = SE_UNWANTED,
    .ev_stale = -1, /* a changed spec is an update (PUT), not a replacement */
    .ev_invalid = SE_INVALID,
    .ev_name_taken = SE_NAME_TAKEN,
    .keep_on_invalid = cron_invalid,
    .executors = executors,
    .managed_by = managed_by,
    .object_name = object_name,
    .summarize = summarize,
    .classify = classify,
    .generate = podgen_cronjob,
    .needs_fresh = needs_fresh,
    .steady = steady,
};
