/* podman_worker.c: serve --run-pods: one pod's worker: set-up, init containers, supervision, termination. */
#include "fakes/podman_kubelet_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

/* ---- jobs on the cluster thread --------------------------------------------------------------------- */
/* job_remove: remove the pod object from the API (grace 0, this incarnation only) once it is stopped. */
typedef struct job_remove {
    pkl *k;
    char *ns, *name, *uid;
} job_remove;

static void job_remove_run(void *ud)
{
    job_remove *j = ud;
    t0_err err = {0};
    kube_delete_opts o = {.grace_seconds = 0, .precondition_uid = j->uid};
    t0_status st = j->k->sys.remove(j->k->sys.ctx, KUBE_POD, j->ns, j->name, &o, &err);
    if (st != T0_OK && st != T0_ENOTFOUND && st != T0_ECONFLICT) T0_WARN(PK_COMP, "remove %s/%s: %s", j->ns, j->name, err.msg);
    free(j->ns), free(j->name), free(j->uid);
    free(j);
}

/* call: run FN(P) on the cluster thread and wait for it (the worker's way to read cluster state). */
typedef struct job_call {
    pk_pod *p;
    void (*fn)(pk_pod *p, void *arg);
    void *arg;
} job_call;

static void job_call_run(void *ud)
{
    job_call *j = ud;
    j->fn(j->p, j->arg);
    pthread_mutex_lock(&j->p->mu);
    j->p->call_done = true;
    pthread_cond_broadcast(&j->p->cv);
    pthread_mutex_unlock(&j->p->mu);
    free(j);
}

static void call(pk_pod *p, void (*fn)(pk_pod *p, void *arg), void *arg)
{
    job_call *j = calloc(1, sizeof *j);
    if (!j) return;
    j->p = p;
    j->fn = fn;
    j->arg = arg;
    pthread_mutex_lock(&p->mu);
    p->call_done = false;
    pthread_mutex_unlock(&p->mu);
    p->k->host.post(p->k->host.ctx, job_call_run, j);
    pthread_mutex_lock(&p->mu);
    while (!p->call_done) pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

/* ---- the worker: waiting ----------------------------------------------------------------------------- */
/* stopping: whether the pod must stop now (and its grace period) */
static bool stopping(pk_pod *p, int64_t *grace)
{
    pthread_mutex_lock(&p->mu);
    bool s = p->stop;
    if (grace) *grace = p->grace_s;
    pthread_mutex_unlock(&p->mu);
    return s;
}

/* sleep_until: wait for a podman event, a stop or the monotonic time DUE (0: PK_SCAN_MS from now). Returns
 * whether the pod must stop. */
static bool sleep_until(pk_pod *p, int64_t due)
{
    if (!due) due = t0_mono_ms() + PK_SCAN_MS;
    pthread_mutex_lock(&p->mu);
    if (p->recheck && due > t0_mono_ms() + 100) due = t0_mono_ms() + 100;
    p->recheck = false;
    while (!p->stop && !p->dirty) {
        int64_t left = due - t0_mono_ms();
        if (left <= 0) break;
        struct timespec ts = t0_deadline(CLOCK_MONOTONIC, left);
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    }
    p->dirty = false;
    bool s = p->stop;
    pthread_mutex_unlock(&p->mu);
    return s;
}

/* ---- the worker: set-up -------------------------------------------------------------------------- */
typedef struct translate_arg {
    pkl_plan plan;
    t0_status st;
    t0_err err;
} translate_arg;

static cJSON *lookup_get(void *ctx, const char *plural, const char *ns, const char *name)
{
    pkl *k = ctx;
    return k->host.get(k->host.ctx, plural, ns, name);
}

static void do_translate(pk_pod *p, void *arg)
{
    translate_arg *a = arg;
    pkl_lookup lk = {.ctx = p->k, .get = lookup_get};
    /* the latest object: env can refer to labels and annotations changed since the pod was created */
    const cJSON *cur = kfake_peek(p->k->api, KUBE_POD, p->ns, p->name);
    a->st = pkl_translate(cur ? cur : p->obj, p->podman_pod, p->vol_dir, PK_HOST_IP, &lk, &a->plan, &a->err);
}



/* write_volumes: the plan's directories (0777, as emptyDir) and files. */
static t0_status write_volumes(const pkl_plan *pl, t0_err *err)
{
    for (size_t i = 0; i < pl->ndirs; i++)
        if (pk_mkdir_p(pl->dirs[i], 0777) != 0) return t0_fail(err, T0_EIO, "mkdir %s: %s", pl->dirs[i], strerror(errno));
    for (size_t i = 0; i < pl->nfiles; i++) {
        const pkl_file *f = &pl->files[i];
        char dir[1024];
        snprintf(dir, sizeof dir, "%s", f->path);
        char *slash = strrchr(dir, '/');
        if (slash) {
            *slash = 0;
            pk_mkdir_p(dir, 0755);
        }
        int fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) return t0_fail(err, T0_EIO, "write %s: %s", f->path, strerror(errno));
        ssize_t w = write(fd, f->data, f->len);
        fchmod(fd, (mode_t)f->mode);
        close(fd);
        if (w != (ssize_t)f->len) return t0_fail(err, T0_EIO, "write %s: short write", f->path);
    }
    return T0_OK;
}

/* set_waiting: every container not started yet waits with REASON (literal) and MSG. */
static void set_waiting(pk_pod *p, int only, const char *reason, const char *msg)
{
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->nc; i++) {
        pk_ctr *c = &p->c[i];
        if (c->ever_started) continue;
        bool hit = only < 0 || (size_t)only == i;
        c->ph = PK_WAITING;
        c->wait_reason = hit ? reason : c->spec.init ? "PodInitializing" : p->ninit ? "PodInitializing" : "ContainerCreating";
        snprintf(c->wait_msg, sizeof c->wait_msg, "%s", hit && msg ? msg : "");
    }
    pthread_mutex_unlock(&p->mu);
}

/* image_user: the image's USER (owned), "" when none, NULL when podman cannot tell. */
static char *image_user(pk_pod *p, const char *image)
{
    char *out = NULL;
    int rc = pk_podman(p, &out, NULL, "image", "inspect", "--format", "{{.Config.User}}", image, (char *)NULL);
    if (rc != 0) {
        free(out);
        return NULL;
    }
    size_t n = strlen(out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == ' ')) out[--n] = 0;
    return out;
}

/* check_non_root: true when C may start, else false with the kubelet's message in MSG. */
static bool check_non_root(pk_pod *p, const pk_ctr *c, char *msg, size_t cap)
{
    if (!c->spec.run_as_non_root) return true;
    if (c->spec.run_as_user >= 0) {
        if (c->spec.run_as_user != 0) return true;
        snprintf(msg, cap, "container's runAsUser breaks non-root policy (pod: \"%s_%s(%s)\", container: %s)", p->name,
                 p->ns, p->uid, c->spec.name);
        return false;
    }
    char *u = image_user(p, c->spec.image);
    bool ok = false;
    if (!u || !*u || !strcmp(u, "root") || !strncmp(u, "0:", 2) || !strcmp(u, "0"))
        snprintf(msg, cap, "container has runAsNonRoot and image will run as root (pod: \"%s_%s(%s)\", container: %s)",
                 p->name, p->ns, p->uid, c->spec.name);
    else if (u[0] < '0' || u[0] > '9')
        snprintf(msg, cap, "container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root (pod: \"%s_%s(%s)\", container: %s)",
                 u, p->name, p->ns, p->uid, c->spec.name);
    else
        ok = true;
    free(u);
    return ok;
}

/* config_failed: the translation failed (env or a volume refers to something missing, or a volume type
 * is not supported): the container (or every one, for a mount) waits with the reason, an Event says why;
 * PLAN is freed. Retried after PK_CONFIG_RETRY_MS. Returns whether the pod must stop. */
static bool config_failed(pk_pod *p, translate_arg *a)
{
    int bad = a->plan.bad_ctr;
    const char *reason = !strcmp(a->plan.bad_reason, "FailedMount") ? "ContainerCreating" : "CreateContainerConfigError";
    set_waiting(p, reason[0] == 'C' && reason[1] == 'r' ? bad : -1, reason, a->err.msg);
    pkl_plan_free(&a->plan);
    pk_pod_event(p, bad >= 0 && (size_t)bad < p->nc ? &p->c[bad] : NULL, true,
                 !strcmp(reason, "ContainerCreating") ? "FailedMount" : "Failed", "%s%s",
                 !strcmp(reason, "ContainerCreating") ? "" : "Error: ", a->err.msg);
    pk_publish(p);
    return sleep_until(p, t0_mono_ms() + PK_CONFIG_RETRY_MS);
}

/* missing_image: the first container whose image is not in podman's local store, or -1 */
static int missing_image(pk_pod *p)
{
    int missing = -1;
    for (size_t i = 0; i < p->nc && missing < 0; i++) {
        char *o = NULL;
        if (pk_podman(p, &o, NULL, "image", "exists", p->c[i].spec.image, (char *)NULL) != 0) missing = (int)i;
        free(o);
    }
    return missing;
}

/* image_pull_failed: container MISSING's image is not there (no registry is ever contacted): waiting
 * ErrImagePull, 1 s later ImagePullBackOff until the next look after *PULL_BO, which doubles up to the cap.
 * Returns whether the pod must stop. */
static bool image_pull_failed(pk_pod *p, int missing, int64_t *pull_bo)
{
    pk_ctr *c = &p->c[missing];
    char msg[600];
    snprintf(msg, sizeof msg,
             "image \"%s\" is not in podman's local store and the0-sim serve pulls from no registry (build it: "
             "make images)",
             c->spec.image);
    pk_pod_event(p, c, false, "Pulling", "Pulling image \"%s\"", c->spec.image);
    pk_pod_event(p, c, true, "Failed", "Failed to pull image \"%s\": %s", c->spec.image, msg);
    pk_pod_event(p, c, true, "Failed", "Error: ErrImagePull");
    set_waiting(p, missing, "ErrImagePull", msg);
    pk_publish(p);
    if (sleep_until(p, t0_mono_ms() + 1000)) return true;
    char bmsg[600];
    snprintf(bmsg, sizeof bmsg, "Back-off pulling image \"%s\"", c->spec.image);
    pk_pod_event(p, c, false, "BackOff", "%s", bmsg);
    pk_pod_event(p, c, true, "Failed", "Error: ImagePullBackOff");
    set_waiting(p, missing, "ImagePullBackOff", bmsg);
    pk_publish(p);
    if (sleep_until(p, t0_mono_ms() + *pull_bo)) return true;
    *pull_bo = *pull_bo * 2 > PK_BACKOFF_CAP_MS ? PK_BACKOFF_CAP_MS : *pull_bo * 2;
    return false;
}

/* create_pod: PLAN's volumes and manifest, then `podman kube play --start=false` (PLAN is freed). False,
 * with what went wrong in LINE, when any of it failed (a half-made podman pod is removed). */
static bool create_pod(pk_pod *p, pkl_plan *plan, char *line, size_t cap)
{
    t0_err err = {0};
    t0_status st = write_volumes(plan, &err);
    char *json = st == T0_OK ? cJSON_Print(plan->manifest) : NULL;
    pkl_plan_free(plan);
    FILE *f = json ? fopen(p->manifest_path, "w") : NULL;
    if (f) {
        fputs(json, f);
        fclose(f);
    }
    free(json);
    char *out = NULL, *errs = NULL;
    int rc = f ? pk_podman(p, &out, &errs, "kube", "play", "--start=false", "--network", "host", p->manifest_path, (char *)NULL) : -1;
    if (rc != 0) {
        if (st != T0_OK)
            snprintf(line, cap, "%s", err.msg);
        else if (rc < 0)
            snprintf(line, cap, "cannot write the manifest");
        else
            pk_last_line(errs, line, cap);
    }
    free(out);
    free(errs);
    if (rc != 0) pk_podman(p, NULL, NULL, "pod", "rm", "-f", p->podman_pod, (char *)NULL); /* a half-made pod */
    return rc == 0;
}

/* prepare: translate, images, runAsNonRoot, kube play; each failure is reported as the kubelet does and
 * retried. Returns false when the pod must stop. */
static bool prepare(pk_pod *p)
{
    int64_t pull_bo = PK_BACKOFF_BASE_MS;
    for (;;) {
        if (stopping(p, NULL)) return false;
        translate_arg a = {0};
        call(p, do_translate, &a);
        if (a.st != T0_OK) {
            if (config_failed(p, &a)) return false;
            continue;
        }
        int missing = missing_image(p);
        if (missing >= 0) {
            pkl_plan_free(&a.plan);
            if (image_pull_failed(p, missing, &pull_bo)) return false;
            continue;
        }
        char msg[512];
        int bad = -1;
        for (size_t i = 0; i < p->nc && bad < 0; i++)
            if (!check_non_root(p, &p->c[i], msg, sizeof msg)) bad = (int)i;
        if (bad >= 0) {
            pkl_plan_free(&a.plan);
            set_waiting(p, bad, "CreateContainerConfigError", msg);
            pk_pod_event(p, &p->c[bad], true, "Failed", "Error: %s", msg);
            pk_publish(p);
            if (sleep_until(p, t0_mono_ms() + PK_CONFIG_RETRY_MS)) return false;
            continue;
        }
        char line[400];
        if (create_pod(p, &a.plan, line, sizeof line)) {
            pthread_mutex_lock(&p->mu);
            p->created = true;
            pthread_mutex_unlock(&p->mu);
            return true;
        }
        set_waiting(p, -1, "CreateContainerError", line);
        pk_pod_event(p, NULL, true, "Failed", "Error: %s", line);
        pk_publish(p);
        if (sleep_until(p, t0_mono_ms() + PK_BACKOFF_BASE_MS)) return false;
    }
}

/* ---- the worker: running -------------------------------------------------------------------------- */
/* run_inits: each init container to a successful exit, in order. Returns false when the pod must stop
 * (or failed: p->failed_init). */
static bool run_inits(pk_pod *p)
{
    for (size_t i = 0; i < p->ninit; i++) {
        pk_ctr *c = &p->c[i];
        pk_start_ctr(p, c);
        pk_publish(p);
        for (;;) {
            pthread_mutex_lock(&p->mu);
            pk_cphase ph = c->ph;
            bool done = c->done;
            int64_t at = c->restart_at;
            int code = c->exit_code;
            pthread_mutex_unlock(&p->mu);
            if (ph == PK_TERMINATED && done) {
                if (code == 0) break;
                pthread_mutex_lock(&p->mu);
                p->failed_init = true;
                pthread_mutex_unlock(&p->mu);
                pk_publish(p);
                return false;
            }
            if (at && at <= t0_mono_ms()) {
                pk_start_ctr(p, c);
                pk_publish(p);
                continue;
            }
            pk_publish(p);
            if (sleep_until(p, at ? at : 0)) return false;
            pk_refresh(p);
        }
    }
    pthread_mutex_lock(&p->mu);
    p->initialized = true;
    pthread_mutex_unlock(&p->mu);
    set_waiting(p, -1, "ContainerCreating", NULL);
    pk_publish(p);
    return true;
}

static void supervise(pk_pod *p)
{
    for (size_t i = p->ninit; i < p->nc; i++) {
        if (stopping(p, NULL)) return;
        pk_start_ctr(p, &p->c[i]);
    }
    pthread_mutex_lock(&p->mu);
    p->all_started = true;
    pthread_mutex_unlock(&p->mu);
    pk_publish(p);
    for (;;) {
        int64_t next = 0, now = t0_mono_ms();
        for (size_t i = p->ninit; i < p->nc; i++) {
            pk_ctr *c = &p->c[i];
            if (c->restart_at && c->restart_at <= now) {
                if (stopping(p, NULL)) return;
                pk_start_ctr(p, c);
            }
            if (c->restart_at && (!next || c->restart_at < next)) next = c->restart_at;
        }
        pk_publish(p);
        if (sleep_until(p, next)) return;
        pk_refresh(p);
    }
}

/* terminate: SIGTERM to every running container, SIGKILL when the grace period ends; then the pod object,
 * the podman pod and the volumes go. */
static void terminate(pk_pod *p)
{
    int64_t grace = 30;
    stopping(p, &grace);
    const char *argv[64];
    size_t n = 0;
    char gs[24];
    snprintf(gs, sizeof gs, "%lld", (long long)(grace < 0 ? 0 : grace));
    argv[n++] = p->k->podman;
    argv[n++] = "stop";
    argv[n++] = "-t";
    argv[n++] = gs;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->nc; i++) {
        pk_ctr *c = &p->c[i];
        c->restart_at = 0;
        if (c->ph == PK_RUNNING && n < 63) argv[n++] = c->spec.podman_name;
        if (c->ph == PK_WAITING && c->ever_started) { /* in back-off: stays terminated */
            c->ph = PK_TERMINATED;
            c->done = true;
        }
    }
    pthread_mutex_unlock(&p->mu);
    argv[n] = NULL;
    for (size_t i = 4; i < n; i++)
        for (size_t j = 0; j < p->nc; j++)
            if (p->c[j].spec.podman_name == argv[i]) pk_pod_event(p, &p->c[j], false, "Killing", "Stopping container %s", p->c[j].spec.name);
    if (n > 4) {
        char *out = NULL, *errs = NULL;
        int64_t t0 = t0_mono_ms();
        pk_run(argv, &out, &errs);
        T0_INFO(PK_COMP, "pod %s: stopped %zu container(s) in %lld ms (grace %s s)", p->key, n - 4, (long long)(t0_mono_ms() - t0), gs);
        free(out);
        free(errs);
        pk_refresh(p);
        pthread_mutex_lock(&p->mu);
        for (size_t i = 0; i < p->nc; i++) p->c[i].done = p->c[i].ph == PK_TERMINATED || p->c[i].done;
        pthread_mutex_unlock(&p->mu);
    }
    pk_publish(p);
    if (p->created) pk_podman(p, NULL, NULL, "pod", "rm", "-f", "-t", "0", p->podman_pod, (char *)NULL);
    pk_rm_rf(p->vol_dir);
    unlink(p->manifest_path);
    pthread_mutex_lock(&p->mu);
    bool gone = p->gone;
    pthread_mutex_unlock(&p->mu);
    if (!gone) {
        job_remove *j = calloc(1, sizeof *j);
        if (j) {
            j->k = p->k;
            j->ns = strdup(p->ns);
            j->name = strdup(p->name);
            j->uid = strdup(p->uid);
            p->k->host.post(p->k->host.ctx, job_remove_run, j);
        }
    }
}


void *pk_worker(void *arg)
{
    pk_pod *p = arg;
    T0_INFO(PK_COMP, "pod %s: podman pod %s", p->key, p->podman_pod);
    pk_publish(p);
    if (prepare(p) && run_inits(p)) supervise(p);
    /* a pod that ended by itself (Succeeded/Failed) keeps its containers until it is deleted */
    while (!stopping(p, NULL)) {
        pk_publish(p);
        sleep_until(p, t0_mono_ms() + 60000);
    }
    terminate(p);
    T0_INFO(PK_COMP, "pod %s: done", p->key);
    p->k->host.post(p->k->host.ctx, pk_pod_finished, p);
    return NULL;
}
