/* trace.c: the scenario's timeline (docs/scenarios.md "The trace"): trace lines and their hash, the
 * invariant checker's sink, the log sink, the fakes' observers (which also feed the checker) and the
 * progress callback. */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "core/str.h"
#include "fsm/tables.h"
#include "scenarios/world.h"

int64_t scn_now(scn_world *w) { return sim_loop_now(w->loop) - w->t0; }

bool scn_traced(const scn_world *w) { return !w->ro->untraced || !w->ro->quiet || w->ro->trace; }

static void emit(scn_world *w, bool force, const char *who, const char *fmt, va_list ap)
{
    char ts[32], body[1400], line[1600];
    if (!force && !scn_traced(w)) {
        w->res->trace_lines++;
        return;
    }
    vsnprintf(body, sizeof body, fmt, ap);
    int n = snprintf(line, sizeof line, "[%s] %s %s\n", scn_format_offset(scn_now(w), ts, sizeof ts), who, body);
    if (n < 0) return;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    if (len && line[len - 1] != '\n') line[len - 1] = '\n';
    for (size_t i = 0; i < len; i++) w->res->trace_hash = (w->res->trace_hash ^ (unsigned char)line[i]) * 1099511628211ull;
    w->res->trace_lines++;
    if (w->ro->trace) fwrite(line, 1, len, w->ro->trace);
    if (!w->ro->quiet || force) fwrite(line, 1, len, w->ro->out);
}

void scn_trace(scn_world *w, const char *who, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(w, false, who, fmt, ap);
    va_end(ap);
}

void scn_trace_force(scn_world *w, const char *who, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(w, true, who, fmt, ap);
    va_end(ap);
}

static void violation(scn_world *w, const char *name, const char *msg)
{
    w->res->violations++;
    scn_trace_force(w, "invariant", "%s VIOLATED: %s", name, msg);
}

void scn_violation(scn_world *w, const char *fmt, ...)
{
    char body[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    violation(w, "always", body);
}

static void check_violation(void *ud, scn_invariant which, const char *msg)
{
    violation(ud, scn_invariant_names[which], msg);
}

scn_check_sink scn_check_sink_of(scn_world *w) { return (scn_check_sink){w, check_violation}; }

static void log_sink(void *ud, t0_log_level lvl, const char *component, const char *msg)
{
    scn_world *w = ud;
    scn_trace(w, "log", "%s %s: %s", t0_log_level_name(lvl), component, msg);
}

/* ---- observers ------------------------------------------------------------------------------------- */
static const char *phase_const(const char *p)
{
    static const char *const ph[] = {"Pending", "Running", "Succeeded", "Failed", "Unknown"};
    for (size_t i = 0; p && i < T0_ARRAY_LEN(ph); i++)
        if (!strcmp(p, ph[i])) return ph[i];
    return "?";
}

static void count_job_run(scn_world *w, const cJSON *md)
{
    const cJSON *owners = t0_json_get(md, "ownerReferences");
    const cJSON *o;
    cJSON_ArrayForEach(o, owners)
    {
        const cJSON *ok = t0_json_get(o, "kind"), *on = t0_json_get(o, "name");
        if (cJSON_IsString(ok) && !strcmp(ok->valuestring, "CronJob") && cJSON_IsString(on)) {
            uintptr_t n = (uintptr_t)hmap_get(&w->job_runs, on->valuestring);
            hmap_put(&w->job_runs, on->valuestring, (void *)(n + 1), NULL);
        }
    }
}

static void trace_phase(scn_world *w, const char *ns, const char *name, const cJSON *status)
{
    char pk[300];
    t0_strjoin(pk, sizeof pk, ns, "/", name);
    const char *ph = phase_const(kfake_str(status, "phase"));
    const char *old = hmap_get(&w->phases, pk);
    if (old != ph) {
        const char *reason = kfake_str(status, "reason");
        scn_trace(w, "kube", "Pod %s/%s phase %s -> %s%s%s", ns, name, old ? old : "-", ph, reason ? " reason " : "",
                  reason ? reason : "");
        hmap_put(&w->phases, pk, (void *)ph, NULL);
    }
}

static void kube_observer(void *ud, kube_watch_type type, kube_kind kind, const cJSON *obj)
{
    scn_world *w = ud;
    if (kind == KUBE_LEASE || kind == KUBE_EVENT) {
        if (kind == KUBE_LEASE && type != KUBE_WATCH_DELETED) scn_checker_lease(w->check, obj);
        if (kind == KUBE_EVENT && type == KUBE_WATCH_ADDED) {
            const char *reason = kfake_str(obj, "reason"), *msg = kfake_str(obj, "message");
            const char *on = kfake_str(obj, "involvedObject.name");
            scn_trace(w, "event", "%s %s: %s", on ? on : "?", reason ? reason : "?", msg ? msg : "");
            char ek[600];
            t0_strjoin(ek, sizeof ek, on ? on : "?", "\x1f", reason ? reason : "?");
            hmap_put(&w->events, ek, (void *)((uintptr_t)hmap_get(&w->events, ek) + 1), NULL);
        }
        return;
    }
    const cJSON *md = t0_json_get(obj, "metadata"), *status = t0_json_get(obj, "status"); /* once per event */
    const char *ns = kfake_str(md, "namespace"), *name = kfake_str(md, "name");
    if (!ns) ns = "";
    if (!name) name = "?";
    char key[400];
    t0_strjoin(key, sizeof key, kube_kind_name(kind), "/", ns, "/", name);
    bool deletion_started = false;
    const char *kk = kube_kind_kind(kind);
    if (type == KUBE_WATCH_ADDED) {
        scn_trace(w, "kube", "%s %s/%s created", kk, ns, name);
        if (kind == KUBE_JOB) count_job_run(w, md);
    }
    if (type != KUBE_WATCH_DELETED && kfake_str(md, "deletionTimestamp") && !hmap_get(&w->deleting, key)) {
        hmap_put(&w->deleting, key, (void *)1, NULL);
        deletion_started = true;
        const cJSON *g = t0_json_get(md, "deletionGracePeriodSeconds");
        scn_trace(w, "kube", "%s %s/%s terminating (grace %ds)", kk, ns, name, cJSON_IsNumber(g) ? g->valueint : 0);
    }
    if (kind == KUBE_POD && type != KUBE_WATCH_DELETED) trace_phase(w, ns, name, status);
    if (type == KUBE_WATCH_DELETED) {
        if (!hmap_del(&w->deleting, key)) deletion_started = true;
        if (kind == KUBE_POD) {
            char pk[300];
            t0_strjoin(pk, sizeof pk, ns, "/", name);
            hmap_del(&w->phases, pk);
        }
        scn_trace(w, "kube", "%s %s/%s deleted", kk, ns, name);
    }
    scn_checker_kube(w->check, type, kind, obj, deletion_started, w->scenario_deleting);
    scn_oracle_kube(w->oracle, type, kind, obj, w->scenario_deleting || w->scenario_creating);
}

static void store_observer(void *ud, store_coll c, const char *id, const cJSON *doc)
{
    scn_world *w = ud;
    scn_checker_store_change(w->check, c, id, doc);
}

static void obj_observer(void *ud, const char *bucket, const char *key, const objfake_object *obj)
{
    scn_world *w = ud;
    scn_checker_object(w->check, bucket, key, obj, w->scenario_objects);
}

static void bus_observer(void *ud, const char *subject, const char *durable, unsigned attempt, const char *event, t0_status st)
{
    scn_world *w = ud;
    if (!strcmp(event, "deliver")) return; /* "handled" says the same with the outcome */
    if (!strcmp(event, "handled"))
        scn_trace(w, "nats", "%s delivered%s%s (attempt %u) -> %s", subject, durable ? " to durable " : "",
                  durable ? durable : "", attempt, t0_status_name(st));
    else scn_trace(w, "nats", "%s %s%s%s (attempt %u)", subject, event, durable ? " for durable " : "", durable ? durable : "", attempt);
}

static void pod_observer(void *ud, const kubelet_event *e)
{
    scn_world *w = ud;
    scn_checker_pod_event(w->check, e);
}

static void kubelet_tracer(void *ud, const fsm_table *t, const char *key, const fsm_result *r)
{
    scn_world *w = ud;
    if (w->ro->cov) {
        if (t == &fsm_pod_table) fsm_coverage_hit(&w->ro->cov->pod, r);
        else if (t == &fsm_sync_table) fsm_coverage_hit(&w->ro->cov->sync, r);
    }
    if (r->kind == FSM_ROW_IGNORE) return;
    scn_trace(w, "kubelet", "%s %s %s -%s-> %s", t->name, key, fsm_state_name(t, r->from), fsm_event_name(t, r->event),
              fsm_state_name(t, r->to));
}

void scn_observe(scn_world *w)
{
    t0_log_set_sink(log_sink, w);
    kfake_set_observer(w->kube, kube_observer, w);
    storefake_on_change(w->store, store_observer, w);
    objfake_on_change(w->obj, obj_observer, w);
    busfake_observe(w->bus, bus_observer, w);
    fsm_tracer kt = {kubelet_tracer, w};
    kubelet_set_tracer(w->kl, &kt);
    kubelet_set_observer(w->kl, pod_observer, w);
}

/* ---- progress ------------------------------------------------------------------------------------------ */
static void progress_fill(scn_world *w, scn_progress *p, bool final)
{
    memset(p, 0, sizeof *p);
    p->sim_ms = scn_now(w);
    p->steps = w->res->steps;
    p->trace_lines = w->res->trace_lines;
    p->violations = w->res->violations;
    p->final = final;
    p->bots = w->fleet.bots;
    p->schedules = w->fleet.schedules;
    memcpy(p->bot_states, w->fleet.bot_states, sizeof p->bot_states);
    memcpy(p->sched_states, w->fleet.sched_states, sizeof p->sched_states);
}

static void progress_tick(void *ud)
{
    scn_world *w = ud;
    scn_progress p;
    progress_fill(w, &p, false);
    w->ro->progress(w->ro->progress_ud, &p);
    sim_loop_timer(w->loop, w->ro->progress_every_ms, progress_tick, w);
}

void scn_progress_start(scn_world *w)
{
    if (w->ro->progress && w->ro->progress_every_ms > 0) sim_loop_timer(w->loop, w->ro->progress_every_ms, progress_tick, w);
}

void scn_progress_final(scn_world *w)
{
    if (!w->ro->progress) return;
    scn_progress p;
    progress_fill(w, &p, true);
    w->ro->progress(w->ro->progress_ud, &p);
}
