/* podman_ctr.c: serve --run-pods: one container's runs: podman start and inspect, exits, the restart back-off. */
#include "fakes/podman_kubelet_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/json.h"
#include "sim/loop.h"

/* ctr_exited: C's run ended with CODE (podman inspect); lastState and the restart decision. */
static void ctr_exited(pk_pod *p, pk_ctr *c, int code, bool oom, const char *finished)
{
    c->ph = PK_TERMINATED;
    c->exit_code = code;
    c->term_reason = oom ? "OOMKilled" : code ? "Error" : "Completed";
    snprintf(c->finished, sizeof c->finished, "%s", finished ? finished : "");
    bool again = !strcmp(p->restart_policy, "Always") || (!strcmp(p->restart_policy, "OnFailure") && code != 0);
    if (c->spec.init) again = code != 0 && strcmp(p->restart_policy, "Never");
    if (!again) {
        c->done = true;
        return;
    }
    int64_t now = t0_mono_ms();
    if (!c->bo_ms || now - c->bo_last > PK_BACKOFF_RESET_MS) {
        c->restart_at = now; /* the first restart is at once; the next ones back off */
        c->bo_ms = 0;
    } else {
        c->restart_at = now + c->bo_ms;
        c->ph = PK_WAITING;
        c->wait_reason = "CrashLoopBackOff";
        snprintf(c->wait_msg, sizeof c->wait_msg, "back-off %llds restarting failed container=%s pod=%s_%s(%s)",
                 (long long)(c->bo_ms / 1000), c->spec.name, p->name, p->ns, p->uid);
        pk_pod_event(p, c, true, "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)", c->spec.name, p->name,
                  p->ns, p->uid);
    }
}

void pk_refresh(pk_pod *p)
{
    const char *argv[64];
    size_t n = 0;
    argv[n++] = p->k->podman;
    argv[n++] = "container";
    argv[n++] = "inspect";
    for (size_t i = 0; i < p->nc && n < 63; i++)
        if (p->c[i].ph == PK_RUNNING) argv[n++] = p->c[i].spec.podman_name;
    if (n == 3) return;
    argv[n] = NULL;
    char *out = NULL, *errs = NULL;
    pk_run(argv, &out, &errs); /* a missing container fails the call but still prints the others */
    cJSON *arr = out ? cJSON_Parse(out) : NULL;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->nc; i++) {
        pk_ctr *c = &p->c[i];
        if (c->ph != PK_RUNNING) continue;
        const cJSON *it, *found = NULL;
        cJSON_ArrayForEach(it, arr)
        {
            const char *nm = t0_json_str(it, "Name");
            if (nm && !strcmp(nm, c->spec.podman_name)) found = it;
        }
        if (!found) {
            if (arr) ctr_exited(p, c, 137, false, NULL); /* the container is gone */
            continue;
        }
        const cJSON *st = t0_json_get(found, "State");
        if (cJSON_IsTrue(t0_json_get(st, "Running"))) continue;
        /* the process ended but podman has not recorded the exit yet (FinishedAt still zero, or still the
         * previous run's after a restart; a short run can end before podman notes its StartedAt, so that is
         * no bound): look again soon */
        const char *fin = t0_json_str(st, "FinishedAt");
        int64_t fin_ms, prev_ms;
        if (!fin || !sim_parse_rfc3339(fin, &fin_ms) || fin_ms < 946684800000LL ||
            (*c->last_finished && sim_parse_rfc3339(c->last_finished, &prev_ms) && fin_ms <= prev_ms)) {
            p->recheck = true;
            continue;
        }
        const cJSON *ec = t0_json_get(st, "ExitCode");
        ctr_exited(p, c, cJSON_IsNumber(ec) ? (int)ec->valuedouble : 1, cJSON_IsTrue(t0_json_get(st, "OOMKilled")),
                   t0_json_str(st, "FinishedAt"));
    }
    pthread_mutex_unlock(&p->mu);
    cJSON_Delete(arr);
    free(out);
    free(errs);
}

void pk_start_ctr(pk_pod *p, pk_ctr *c)
{
    pk_pod_event(p, c, false, "Pulled", "Container image \"%s\" already present on machine", c->spec.image);
    if (!c->ever_started) pk_pod_event(p, c, false, "Created", "Created container %s", c->spec.name);
    char begin[48];
    pk_now_ns(begin, sizeof begin);
    char *out = NULL, *errs = NULL;
    int rc = pk_podman(p, &out, &errs, "start", c->spec.podman_name, (char *)NULL);
    for (int attempt = 1; rc != 0 && rc != -1 && attempt < 3; attempt++) {
        /* podman may still be cleaning up the run that just ended: a real start error fails every time */
        free(out), free(errs);
        usleep(200 * 1000);
        rc = pk_podman(p, &out, &errs, "start", c->spec.podman_name, (char *)NULL);
    }
    char *iout = NULL;
    pk_podman(p, &iout, NULL, "container", "inspect", c->spec.podman_name, (char *)NULL);
    cJSON *arr = iout ? cJSON_Parse(iout) : NULL;
    const cJSON *st = t0_json_get(cJSON_GetArrayItem(arr, 0), "State");
    pthread_mutex_lock(&p->mu);
    if (c->ever_started) {
        c->has_last = true;
        c->last_exit = c->exit_code;
        c->last_reason = c->term_reason;
        memcpy(c->last_started, c->started, sizeof c->started);
        memcpy(c->last_finished, c->finished, sizeof c->finished);
        memcpy(c->last_begin, c->begin, sizeof c->begin);
        c->restarts++;
        int64_t now = t0_mono_ms();
        c->bo_ms = !c->bo_ms ? PK_BACKOFF_BASE_MS : c->bo_ms * 2 > PK_BACKOFF_CAP_MS ? PK_BACKOFF_CAP_MS : c->bo_ms * 2;
        c->bo_last = now;
    }
    memcpy(c->begin, begin, sizeof c->begin);
    c->ever_started = true;
    c->restart_at = 0;
    c->wait_reason = NULL;
    c->wait_msg[0] = 0;
    c->term_msg[0] = 0;
    snprintf(c->started, sizeof c->started, "%s", t0_json_str(st, "StartedAt") ? t0_json_str(st, "StartedAt") : "");
    c->ph = PK_RUNNING;
    pthread_mutex_unlock(&p->mu);
    if (rc != 0) {
        char line[256];
        pk_last_line(errs, line, sizeof line);
        char now[48];
        pk_now_ns(now, sizeof now); /* it did not run: it ended now */
        pthread_mutex_lock(&p->mu);
        ctr_exited(p, c, 128, false, now);
        c->term_reason = "StartError";
        snprintf(c->term_msg, sizeof c->term_msg, "%s", line);
        pthread_mutex_unlock(&p->mu);
        pk_pod_event(p, c, true, "Failed", "Error: %s", line);
    } else {
        pk_pod_event(p, c, false, "Started", "Started container %s", c->spec.name);
        if (!cJSON_IsTrue(t0_json_get(st, "Running"))) pk_refresh(p); /* it may have exited already */
    }
    cJSON_Delete(arr);
    free(iout);
    free(out);
    free(errs);
}
