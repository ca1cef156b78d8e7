/* kubelet_status.c: the pod status the simulated kubelet writes (phase, conditions, container statuses). */
#include "fakes/kubelet_impl.h"

#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "fsm/tables.h"

/* ---- status ---------------------------------------------------------------------------------- */
static cJSON *c_status(const kpod *p, const cstate *c, bool init)
{
    char ts[32];
    cJSON *s = cJSON_CreateObject();
    T0_JSON_STR(s, "name", c->name);
    T0_JSON_STR(s, "image", c->image);
    T0_JSON_BOOL(s, "ready", c->running && !init);
    T0_JSON_NUM(s, "restartCount", c->restarts);
    T0_JSON_BOOL(s, "started", c->running);
    cJSON *st = T0_JSON_OBJ(s, "state");
    if (c->running && !c->waiting) {
        T0_JSON_STR(T0_JSON_OBJ(st, "running"), "startedAt", sim_format_rfc3339(c->started_at, ts, sizeof ts));
    } else if (c->waiting || (!c->terminated && !c->running)) {
        cJSON *w = T0_JSON_OBJ(st, "waiting");
        const char *reason = c->waiting ? c->wait_reason : init ? "PodInitializing" : p->state == PS_PENDING ? "ContainerCreating" : "PodInitializing";
        if (p->state == PS_PENDING && p->pullfails) reason = p->prog.pull_fail ? "ImagePullBackOff" : "ErrImagePull";
        T0_JSON_STR_STATIC(w, "reason", reason);
        if (c->waiting && !strcmp(c->wait_reason, "CrashLoopBackOff")) {
            char m[160];
            snprintf(m, sizeof m, "back-off %llds restarting failed container=%s pod=%s_%s(%s)", (long long)(c->backoff_ms / 1000),
                     c->name, p->name, p->ns, p->uid);
            T0_JSON_STR(w, "message", m);
        }
    } else {
        cJSON *t = T0_JSON_OBJ(st, "terminated");
        T0_JSON_NUM(t, "exitCode", c->exit_code);
        T0_JSON_STR_STATIC(t, "reason", c->reason ? c->reason : "");
        if (c->message) T0_JSON_STR(t, "message", c->message);
        T0_JSON_STR(t, "startedAt", sim_format_rfc3339(c->started_at, ts, sizeof ts));
        T0_JSON_STR(t, "finishedAt", sim_format_rfc3339(c->finished_at, ts, sizeof ts));
    }
    cJSON *ls = T0_JSON_OBJ(s, "lastState");
    const bool waiting_after_exit = c->waiting && c->terminated;
    if (c->has_last || waiting_after_exit) {
        cJSON *t = T0_JSON_OBJ(ls, "terminated");
        int code = waiting_after_exit ? c->exit_code : c->last_exit;
        T0_JSON_NUM(t, "exitCode", code);
        const char *why = waiting_after_exit ? c->reason : c->last_reason;
        T0_JSON_STR_STATIC(t, "reason", why ? why : "");
        if (waiting_after_exit && c->message) T0_JSON_STR(t, "message", c->message);
        T0_JSON_STR(t, "startedAt", sim_format_rfc3339(waiting_after_exit ? c->started_at : c->last_started, ts, sizeof ts));
        T0_JSON_STR(t, "finishedAt", sim_format_rfc3339(waiting_after_exit ? c->finished_at : c->last_finished, ts, sizeof ts));
    }
    return s;
}

/* add_cond: a pod condition; TYPE and REASON (NULL: none) are string literals */
static void add_cond(cJSON *arr, const char *type, bool v, const char *reason, int64_t t)
{
    char ts[32];
    cJSON *c = cJSON_CreateObject();
    T0_JSON_STR_STATIC(c, "type", type);
    T0_JSON_STR_STATIC(c, "status", v ? "True" : "False");
    if (reason) T0_JSON_STR_STATIC(c, "reason", reason);
    T0_JSON_STR(c, "lastTransitionTime", sim_format_rfc3339(t, ts, sizeof ts));
    cJSON_AddItemToArray(arr, c);
}

void kl_write_status(kpod *p)
{
    kubelet *k = p->k;
    char ts[32];
    cJSON *o = cJSON_CreateObject();
    cJSON *md = T0_JSON_OBJ(o, "metadata");
    T0_JSON_STR(md, "name", p->name);
    T0_JSON_STR(md, "namespace", p->ns);
    T0_JSON_STR(md, "uid", p->uid);
    cJSON *s = T0_JSON_OBJ(o, "status");
    T0_JSON_STR_STATIC(s, "phase", p->phase);
    if (*p->reason) T0_JSON_STR(s, "reason", p->reason);
    if (*p->message) T0_JSON_STR(s, "message", p->message);
    bool initialized = p->state != PS_PENDING && p->state != PS_INIT_RUNNING && p->state != PS_INIT_BACKOFF;
    bool ready = p->bot.st.running && (!p->has_sync || p->sync.st.running) && p->state == PS_RUNNING;
    cJSON *conds = T0_JSON_ARR(s, "conditions");
    add_cond(conds, "PodScheduled", true, NULL, p->start_time);
    add_cond(conds, "Initialized", initialized, initialized ? NULL : "ContainersNotInitialized", p->start_time);
    add_cond(conds, "ContainersReady", ready, ready ? NULL : "ContainersNotReady", p->start_time);
    add_cond(conds, "Ready", ready, ready ? NULL : "ContainersNotReady", p->start_time);
    T0_JSON_STR_STATIC(s, "hostIP", "10.0.0.1");
    if (*p->ip && strcmp(p->phase, "Pending")) T0_JSON_STR(s, "podIP", p->ip);
    T0_JSON_STR(s, "startTime", sim_format_rfc3339(p->start_time, ts, sizeof ts));
    if (p->has_init) {
        cJSON *ics = T0_JSON_ARR(s, "initContainerStatuses");
        cJSON_AddItemToArray(ics, c_status(p, &p->init.st, true));
    }
    cJSON *cs = T0_JSON_ARR(s, "containerStatuses");
    cJSON_AddItemToArray(cs, c_status(p, &p->bot.st, false));
    if (p->has_sync) cJSON_AddItemToArray(cs, c_status(p, &p->sync.st, false));
    t0_err err = {0};
    t0_status st = kfake_write_status(k->api, KUBE_POD, p->ns, o, &err);
    if (st != T0_OK && st != T0_ENOTFOUND) T0_WARN(COMP, "pod %s: status write failed: %s", p->key, err.msg);
}

