/* podman_logs.c: serve --run-pods: pods/log through `podman logs`. */
#include "fakes/podman_kubelet_impl.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/json.h"
#include "core/log.h"
#include "sim/loop.h"

/* ---- pods/log ------------------------------------------------------------------------------------- */
struct pkl_stream {
    int fd;
    pid_t pid;
};

/* log_container: the container Q names, or the pod's only one (OBJ: the API's pod); else 400 as the API
 * server words it. */
static t0_status log_container(const cJSON *obj, const pkl_log_req *q, const char **cname, t0_err *err)
{
    *cname = q->container && *q->container ? q->container : NULL;
    if (*cname) return T0_OK;
    const cJSON *ctrs = t0_json_at(obj, "spec.containers");
    if (cJSON_GetArraySize(ctrs) != 1) {
        char names[400] = "";
        const cJSON *c;
        cJSON_ArrayForEach(c, ctrs)
        {
            size_t l = strlen(names);
            snprintf(names + l, sizeof names - l, "%s%s", l ? " " : "", kfake_str(c, "name"));
        }
        return t0_fail(err, T0_EINVAL, "a container name must be specified for pod %s, choose one of: [%s]", q->name, names);
    }
    *cname = kfake_str(cJSON_GetArrayItem(ctrs, 0), "name");
    return T0_OK;
}

/* log_window: container CNAME of P: its podman name (PNAME) and the window of the run Q asks for (SINCE,
 * UNTIL: when the kubelet started that run and the next, podman's times; "" for open). */
static t0_status log_window(pk_pod *p, const pkl_log_req *q, const char *cname, char pname[400], char since[48],
                            char until[48], t0_err *err)
{
    bool found = false;
    t0_status st = T0_OK;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->nc; i++) {
        pk_ctr *c = &p->c[i];
        if (strcmp(c->spec.name, cname)) continue;
        found = true;
        snprintf(pname, 400, "%s", c->spec.podman_name);
        if (q->previous) {
            if (!c->has_last)
                st = t0_fail(err, T0_EINVAL, "previous terminated container \"%s\" in pod \"%s\" not found", cname, q->name);
            snprintf(since, 48, "%s", c->last_begin);
            snprintf(until, 48, "%s", c->begin);
        } else if (!c->ever_started) {
            st = t0_fail(err, T0_EINVAL, "container \"%s\" in pod \"%s\" is waiting to start: %s", cname, q->name,
                         c->wait_reason ? c->wait_reason : "ContainerCreating");
        } else {
            snprintf(since, 48, "%s", c->begin);
        }
    }
    pthread_mutex_unlock(&p->mu);
    if (!found) return t0_fail(err, T0_EINVAL, "container %s is not valid for pod %s", cname, q->name);
    return st;
}

/* logs_spawn: `podman logs` of PNAME with Q's options in the window SINCE..UNTIL ("" for open). */
static t0_status logs_spawn(pkl *k, const pkl_log_req *q, const char *cname, const char *pname, const char *since,
                            const char *until, pkl_stream **out, t0_err *err)
{
    const char *argv[16];
    int n = 0;
    char tail[24];
    argv[n++] = k->podman;
    argv[n++] = "logs";
    if (q->follow) argv[n++] = "--follow";
    if (q->timestamps) argv[n++] = "--timestamps";
    if (q->tail_lines >= 0) {
        snprintf(tail, sizeof tail, "%ld", q->tail_lines);
        argv[n++] = "--tail";
        argv[n++] = tail;
    }
    if (*since) argv[n++] = "--since", argv[n++] = since;
    if (*until) argv[n++] = "--until", argv[n++] = until;
    argv[n++] = pname;
    argv[n] = NULL;
    T0_DEBUG(PK_COMP, "logs %s/%s -c %s: podman logs %s --since '%s' --until '%s'", q->ns, q->name, cname, pname, since, until);
    pkl_stream *s = calloc(1, sizeof *s);
    if (!s) return t0_fail(err, T0_ENOMEM, "logs: out of memory");
    t0_status st = pk_spawn(argv, &s->fd, NULL, &s->pid, err);
    if (st != T0_OK) {
        free(s);
        return st;
    }
    *out = s;
    return T0_OK;
}

t0_status pkl_logs(pkl *k, const pkl_log_req *q, pkl_stream **out, t0_err *err)
{
    *out = NULL;
    const cJSON *obj = kfake_peek(k->api, KUBE_POD, q->ns, q->name);
    if (!obj) return t0_fail(err, T0_ENOTFOUND, "pods \"%s\" not found", q->name);
    char key[600];
    snprintf(key, sizeof key, "%s/%s", q->ns, q->name);
    pk_pod *p = hmap_get(&k->pods, key);
    const char *uid = kfake_str(obj, "metadata.uid");
    if (p && uid && strcmp(p->uid, uid)) p = NULL;
    const char *cname = NULL;
    t0_status st = log_container(obj, q, &cname, err);
    if (st != T0_OK) return st;
    if (!p) return t0_fail(err, T0_EINVAL, "container \"%s\" in pod \"%s\" is waiting to start: ContainerCreating", cname, q->name);
    char pname[400], since[48] = "", until[48] = "";
    st = log_window(p, q, cname, pname, since, until, err);
    if (st != T0_OK) return st;
    if (q->since_seconds > 0) { /* sinceSeconds: from then, unless the run started later */
        int64_t s_ms = t0_wall_ms() - q->since_seconds * 1000, run_ms = 0;
        if (!*since || (sim_parse_rfc3339(since, &run_ms) && s_ms > run_ms)) sim_format_rfc3339(s_ms, since, sizeof since);
    }
    return logs_spawn(k, q, cname, pname, since, until, out, err);
}

ssize_t pkl_stream_read(pkl_stream *s, char *buf, size_t max, const atomic_bool *stop)
{
    for (;;) {
        if (stop && atomic_load(stop)) return 0;
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        int r = poll(&p, 1, 500);
        if (r < 0 && errno != EINTR) return -1;
        if (r <= 0) continue;
        ssize_t n = read(s->fd, buf, max);
        if (n < 0 && errno == EINTR) continue;
        return n;
    }
}

void pkl_stream_close(pkl_stream *s)
{
    if (!s) return;
    close(s->fd);
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    free(s);
}
