/* schedule_reconciler.c: the Schedule Controller as a reconciler of the controller runtime: one CronJob
 * per enabled scheduled bot. Its table is fsm/schedule_table.c; this file says how a CronJob is
 * summarized, how (desired, observed) becomes one table event, and which executor runs each effect. */
#include <stdlib.h>
#include <string.h>

#include "controllers/ctl_int.h"
#include "core/json.h"
#include "domain/cronexpr.h"
#include "domain/names.h"

static const char *jstr(const cJSON *o, const char *path) { return t0_json_str(o, path); }

static void object_name(const char *id, char out[CTL_NAME_MAX]) { names_cronjob(id, out); }

static void summarize(obj_sum *o, const cJSON *cj)
{
    o->active = cJSON_GetArraySize(t0_json_at(cj, "status.active"));
    o->last_schedule_ms = ctl_parse_time(jstr(cj, "status.lastScheduleTime"));
    o->last_success_ms = ctl_parse_time(jstr(cj, "status.lastSuccessfulTime"));
    o->created_ms = ctl_parse_time(jstr(cj, "metadata.creationTimestamp"));
    const cJSON *dl = t0_json_at(cj, "spec.startingDeadlineSeconds");
    o->deadline_s = cJSON_IsNumber(dl) ? (int64_t)dl->valuedouble : 0;
    free(o->schedule);
    const char *sch = jstr(cj, "spec.schedule");
    o->schedule = sch ? strdup(sch) : NULL;
    ctl_copy_hash(o->cfg_hash, podgen_annotation(cj, HASH_ANN_SCHEDULE));
}

/* missed: the next activation after the last one is overdue beyond the starting deadline */
static bool missed(const obj_sum *o, int64_t now)
{
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
    if (r->create_in_flight && now > r->create_deadline_ms) r->create_in_flight = false;
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
    if (o->active > 0) return SE_ACTIVE;
    if (missed(o, now)) return SE_MISSED;
    if (!o->last_schedule_ms) return SE_IDLE;
    return o->last_success_ms >= o->last_schedule_ms ? SE_LAST_OK : SE_LAST_FAILED;
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
