/* podman_status.c: serve --run-pods: the pod status a worker writes (phase, conditions, container statuses). */
#include "fakes/podman_kubelet_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "sim/loop.h"

/* job_status: a status write a worker posts to the cluster thread (OBJ: the pod's metadata and status). */
typedef struct job_status {
    pkl *k;
    char *ns;
    cJSON *obj;
} job_status;

static void job_status_run(void *ud)
{
    job_status *j = ud;
    t0_err err = {0};
    t0_status st = kfake_write_status(j->k->api, KUBE_POD, j->ns, j->obj, &err);
    if (st != T0_OK && st != T0_ENOTFOUND && st != T0_ECONFLICT) T0_WARN(PK_COMP, "status write: %s", err.msg);
    free(j->ns);
    free(j);
}

/* ts_member: O[KEY] = PODMAN_TS (podman's nanoseconds) as the API writes times; nothing when it is empty */
static void ts_member(cJSON *o, const char *key, const char *podman_ts)
{
    int64_t ms;
    char b[32];
    if (podman_ts && *podman_ts && sim_parse_rfc3339(podman_ts, &ms)) cJSON_AddStringToObject(o, key, sim_format_rfc3339(ms, b, sizeof b));
}

static cJSON *ctr_status(const pk_pod *p, const pk_ctr *c)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "name", c->spec.name);
    cJSON_AddStringToObject(s, "image", c->spec.image);
    cJSON_AddStringToObject(s, "imageID", "");
    if (c->ever_started) {
        char id[400];
        snprintf(id, sizeof id, "podman://%s", c->spec.podman_name);
        cJSON_AddStringToObject(s, "containerID", id);
    }
    bool running = c->ph == PK_RUNNING;
    cJSON_AddBoolToObject(s, "ready", running && !c->spec.init);
    cJSON_AddNumberToObject(s, "restartCount", c->restarts);
    cJSON_AddBoolToObject(s, "started", running);
    cJSON *st = cJSON_AddObjectToObject(s, "state");
    if (c->ph == PK_RUNNING) {
        ts_member(cJSON_AddObjectToObject(st, "running"), "startedAt", c->started);
    } else if (c->ph == PK_WAITING) {
        cJSON *w = cJSON_AddObjectToObject(st, "waiting");
        cJSON_AddStringToObject(w, "reason", c->wait_reason ? c->wait_reason : "ContainerCreating");
        if (*c->wait_msg) cJSON_AddStringToObject(w, "message", c->wait_msg);
    } else {
        cJSON *t = cJSON_AddObjectToObject(st, "terminated");
        cJSON_AddNumberToObject(t, "exitCode", c->exit_code);
        cJSON_AddStringToObject(t, "reason", c->term_reason ? c->term_reason : "");
        if (*c->term_msg) cJSON_AddStringToObject(t, "message", c->term_msg);
        ts_member(t, "startedAt", c->started);
        ts_member(t, "finishedAt", c->finished);
    }
    cJSON *ls = cJSON_AddObjectToObject(s, "lastState");
    if (c->ph == PK_WAITING && c->ever_started) { /* in back-off: the run that just ended, as the API shows it */
        cJSON *t = cJSON_AddObjectToObject(ls, "terminated");
        cJSON_AddNumberToObject(t, "exitCode", c->exit_code);
        cJSON_AddStringToObject(t, "reason", c->term_reason ? c->term_reason : "");
        ts_member(t, "startedAt", c->started);
        ts_member(t, "finishedAt", c->finished);
    } else if (c->has_last) {
        cJSON *t = cJSON_AddObjectToObject(ls, "terminated");
        cJSON_AddNumberToObject(t, "exitCode", c->last_exit);
        cJSON_AddStringToObject(t, "reason", c->last_reason ? c->last_reason : "");
        ts_member(t, "startedAt", c->last_started);
        ts_member(t, "finishedAt", c->last_finished);
    }
    (void)p;
    return s;
}

static void add_cond(cJSON *arr, const char *type, bool v, const char *reason, const char *t)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "type", type);
    cJSON_AddStringToObject(c, "status", v ? "True" : "False");
    if (reason) cJSON_AddStringToObject(c, "reason", reason);
    cJSON_AddStringToObject(c, "lastTransitionTime", t);
    cJSON_AddItemToArray(arr, c);
}

/* compute_phase: the pod phase from its containers (the API's rules). */
static const char *compute_phase(pk_pod *p)
{
    if (p->failed_init) return "Failed";
    if (!p->initialized || !p->all_started) return "Pending";
    bool any_live = false, any_fail = false;
    for (size_t i = p->ninit; i < p->nc; i++) {
        const pk_ctr *c = &p->c[i];
        if (!c->done) any_live = true;
        if (c->done && c->exit_code != 0) any_fail = true;
    }
    if (any_live) return "Running";
    return any_fail ? "Failed" : "Succeeded";
}

void pk_publish(pk_pod *p)
{
    char ts[32];
    p->phase = compute_phase(p);
    cJSON *o = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    cJSON_AddStringToObject(md, "name", p->name);
    cJSON_AddStringToObject(md, "namespace", p->ns);
    cJSON_AddStringToObject(md, "uid", p->uid);
    cJSON *s = cJSON_AddObjectToObject(o, "status");
    cJSON_AddStringToObject(s, "phase", p->phase);
    bool ready = p->all_started;
    for (size_t i = p->ninit; i < p->nc; i++) ready = ready && p->c[i].ph == PK_RUNNING;
    sim_format_rfc3339(p->start_ms, ts, sizeof ts);
    cJSON *conds = cJSON_AddArrayToObject(s, "conditions");
    add_cond(conds, "PodScheduled", true, NULL, ts);
    add_cond(conds, "Initialized", p->initialized, p->initialized ? NULL : "ContainersNotInitialized", ts);
    add_cond(conds, "ContainersReady", ready, ready ? NULL : "ContainersNotReady", ts);
    add_cond(conds, "Ready", ready, ready ? NULL : "ContainersNotReady", ts);
    cJSON_AddStringToObject(s, "hostIP", PK_HOST_IP);
    cJSON_AddStringToObject(s, "podIP", PK_HOST_IP);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(s, "podIPs"), cJSON_CreateObject());
    cJSON_AddStringToObject(cJSON_GetArrayItem(cJSON_GetObjectItem(s, "podIPs"), 0), "ip", PK_HOST_IP);
    cJSON_AddStringToObject(s, "startTime", ts);
    cJSON_AddStringToObject(s, "qosClass", "Burstable");
    if (p->ninit) {
        cJSON *a = cJSON_AddArrayToObject(s, "initContainerStatuses");
        for (size_t i = 0; i < p->ninit; i++) cJSON_AddItemToArray(a, ctr_status(p, &p->c[i]));
    }
    cJSON *a = cJSON_AddArrayToObject(s, "containerStatuses");
    for (size_t i = p->ninit; i < p->nc; i++) cJSON_AddItemToArray(a, ctr_status(p, &p->c[i]));
    char *printed = cJSON_PrintUnformatted(s);
    if (printed && p->last_status && !strcmp(printed, p->last_status)) {
        free(printed);
        cJSON_Delete(o);
        return;
    }
    free(p->last_status);
    p->last_status = printed;
    job_status *j = calloc(1, sizeof *j);
    if (!j || !(j->ns = strdup(p->ns))) {
        free(j);
        cJSON_Delete(o);
        return;
    }
    j->k = p->k;
    j->obj = o;
    p->k->host.post(p->k->host.ctx, job_status_run, j);
}
