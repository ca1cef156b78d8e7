/* podman_recorder.c: serve --run-pods: the Events the kubelet and the scheduler record about pods. */
#include "fakes/podman_kubelet_impl.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "sim/loop.h"

/* job_event: an Event a worker posts to the cluster thread (owned strings). */
typedef struct job_event {
    pkl *k;
    char *ns, *pod, *uid, *field_path, *reason, *message, *component, *node;
    bool warning;
} job_event;

void pk_record_event(pkl *k, const char *ns, const char *pod, const char *uid, const char *field_path, bool warning,
                     const char *reason, const char *message, const char *component, const char *node)
{
    char key[1400], ts[32];
    snprintf(key, sizeof key, "%s/%s/%s/%s/%s/%s", ns, pod, uid, field_path ? field_path : "", reason, message);
    sim_format_rfc3339(t0_wall_ms(), ts, sizeof ts);
    const char *ename = hmap_get(&k->events, key);
    t0_err err = {0};
    if (ename) {
        const cJSON *cur = kfake_peek(k->api, KUBE_EVENT, ns, ename);
        if (cur) {
            cJSON *u = cJSON_Duplicate(cur, 1);
            const cJSON *c = t0_json_get(u, "count");
            double n = cJSON_IsNumber(c) ? c->valuedouble + 1 : 2;
            cJSON_DeleteItemFromObjectCaseSensitive(u, "count");
            cJSON_AddNumberToObject(u, "count", n);
            cJSON_DeleteItemFromObjectCaseSensitive(u, "lastTimestamp");
            cJSON_AddStringToObject(u, "lastTimestamp", ts);
            if (k->sys.update(k->sys.ctx, KUBE_EVENT, ns, u, NULL, &err) != T0_OK)
                T0_WARN(PK_COMP, "event %s: %s", reason, err.msg);
            cJSON_Delete(u);
            return;
        }
    }
    char name[400];
    snprintf(name, sizeof name, "%s.%016" PRIx64, pod, ((uint64_t)t0_wall_ms() << 12) | (++k->event_seq & 0xfff));
    cJSON *e = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(e, "metadata");
    cJSON_AddStringToObject(md, "name", name);
    cJSON_AddStringToObject(md, "namespace", ns);
    cJSON *io = cJSON_AddObjectToObject(e, "involvedObject");
    cJSON_AddStringToObject(io, "apiVersion", "v1");
    cJSON_AddStringToObject(io, "kind", "Pod");
    cJSON_AddStringToObject(io, "namespace", ns);
    cJSON_AddStringToObject(io, "name", pod);
    cJSON_AddStringToObject(io, "uid", uid);
    if (field_path && *field_path) cJSON_AddStringToObject(io, "fieldPath", field_path);
    cJSON_AddStringToObject(e, "type", warning ? "Warning" : "Normal");
    cJSON_AddStringToObject(e, "reason", reason);
    cJSON_AddStringToObject(e, "message", message);
    cJSON_AddStringToObject(e, "firstTimestamp", ts);
    cJSON_AddStringToObject(e, "lastTimestamp", ts);
    cJSON_AddNumberToObject(e, "count", 1);
    cJSON *src = cJSON_AddObjectToObject(e, "source");
    cJSON_AddStringToObject(src, "component", component);
    if (node) cJSON_AddStringToObject(src, "host", node);
    cJSON_AddStringToObject(e, "reportingComponent", component);
    if (node) cJSON_AddStringToObject(e, "reportingInstance", node);
    if (k->sys.create(k->sys.ctx, KUBE_EVENT, ns, e, NULL, &err) != T0_OK)
        T0_WARN(PK_COMP, "event %s: %s", reason, err.msg);
    else {
        char *dup = strdup(name), *old = NULL;
        if (dup && hmap_put(&k->events, key, dup, (void **)&old) == T0_OK)
            free(old);
        else
            free(dup);
    }
    cJSON_Delete(e);
}

static void job_event_run(void *ud)
{
    job_event *j = ud;
    pk_record_event(j->k, j->ns, j->pod, j->uid, j->field_path, j->warning, j->reason, j->message, j->component, j->node);
    free(j->ns), free(j->pod), free(j->uid), free(j->field_path), free(j->reason), free(j->message), free(j->component),
        free(j->node);
    free(j);
}

void pk_pod_event(pk_pod *p, const pk_ctr *c, bool warning, const char *reason, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    job_event *j = calloc(1, sizeof *j);
    if (!j) return;
    j->k = p->k;
    j->ns = strdup(p->ns);
    j->pod = strdup(p->name);
    j->uid = strdup(p->uid);
    j->field_path = strdup(c ? c->field_path : "");
    j->reason = strdup(reason);
    j->message = strdup(msg);
    j->component = strdup("kubelet");
    j->node = strdup(p->node);
    j->warning = warning;
    T0_INFO(PK_COMP, "pod %s: %s %s%s%s: %s", p->key, warning ? "Warning" : "Normal", reason, c ? " " : "",
            c ? c->spec.name : "", msg);
    p->k->host.post(p->k->host.ctx, job_event_run, j);
}
