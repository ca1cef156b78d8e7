/* podman_kubelet.c: serve --run-pods: pods bound to a node run as podman containers (contract in podman_kubelet.h). */
#include "fakes/podman_kubelet.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/hmap.h"
#include "core/json.h"
#include "core/log.h"
#include "sim/loop.h"

#define COMP "podman-kubelet"
#define HOST_IP "127.0.0.1"
#define BACKOFF_BASE_MS 10000
#define BACKOFF_CAP_MS 300000
#define BACKOFF_RESET_MS 600000 /* 2 x the cap, as the kubelet's back-off expiry */
#define CONFIG_RETRY_MS 5000
#define SCAN_MS 5000

extern char **environ;

/* ---- time ------------------------------------------------------------------------------------------ */
static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* now_ns: the wall clock as RFC 3339 with nanoseconds, as podman writes times */
static void now_ns(char *b, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(b, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(b + n, cap - n, ".%09ldZ", ts.tv_nsec);
}

/* ---- child processes ----------------------------------------------------------------------------- */
/* spawn: ARGV with stdout (and stderr unless ERR_FD is NULL) on pipes; stdin /dev/null. */
static t0_status spawn(const char *const argv[], int *out_fd, int *err_fd, pid_t *pid, t0_err *err)
{
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    if (pipe2(po, O_CLOEXEC) != 0 || (err_fd && pipe2(pe, O_CLOEXEC) != 0)) {
        int e = errno;
        for (int i = 0; i < 2; i++) {
            if (po[i] >= 0) close(po[i]);
            if (pe[i] >= 0) close(pe[i]);
        }
        return t0_fail(err, T0_EIO, "pipe: %s", strerror(e));
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err_fd ? pe[1] : po[1], 2);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&at, &none); /* serve blocks SIGTERM/SIGINT in its threads */
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int rc = posix_spawnp(pid, argv[0], &fa, &at, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(po[1]);
    if (err_fd) close(pe[1]);
    if (rc != 0) {
        close(po[0]);
        if (err_fd) close(pe[0]);
        return t0_fail(err, T0_EIO, "cannot run %s: %s", argv[0], strerror(rc));
    }
    *out_fd = po[0];
    if (err_fd) *err_fd = pe[0];
    return T0_OK;
}

typedef struct obuf {
    char *b;
    size_t len, cap;
} obuf;

static void ob_add(obuf *o, const char *p, size_t n)
{
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 1024;
        while (cap < o->len + n + 1) cap *= 2;
        char *b = realloc(o->b, cap);
        if (!b) return;
        o->b = b;
        o->cap = cap;
    }
    memcpy(o->b + o->len, p, n);
    o->len += n;
    o->b[o->len] = '\0';
}

/* run: ARGV to completion; *OUT and *ERRS (may be NULL) get its stdout and stderr (owned, "" when empty).
 * Returns its exit code, or -1 when it could not be run (ERRS says why). */
static int run(const char *const argv[], char **out, char **errs)
{
    int fo = -1, fe = -1;
    pid_t pid;
    t0_err e = {0};
    if (out) *out = NULL;
    if (errs) *errs = NULL;
    if (spawn(argv, &fo, &fe, &pid, &e) != T0_OK) {
        if (errs) *errs = strdup(e.msg);
        return -1;
    }
    obuf ob[2] = {{0}, {0}};
    struct pollfd p[2] = {{.fd = fo, .events = POLLIN}, {.fd = fe, .events = POLLIN}};
    int open_fds = 2;
    char buf[8192];
    while (open_fds) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = read(p[i].fd, buf, sizeof buf);
            if (n > 0) {
                ob_add(&ob[i], buf, (size_t)n);
            } else if (n == 0 || errno != EINTR) {
                close(p[i].fd);
                p[i].fd = -1;
                open_fds--;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (p[i].fd >= 0) close(p[i].fd);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    for (int i = 0; i < 2; i++)
        if (!ob[i].b) ob_add(&ob[i], "", 0);
    if (out)
        *out = ob[0].b;
    else
        free(ob[0].b);
    if (errs)
        *errs = ob[1].b;
    else
        free(ob[1].b);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* the last line of S without trailing white space, into B (for messages) */
static const char *last_line(const char *s, char *b, size_t cap)
{
    size_t n = s ? strlen(s) : 0;
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r')) n--;
    size_t st = n;
    while (st && s[st - 1] != '\n') st--;
    snprintf(b, cap, "%.*s", (int)(n - st), s ? s + st : "");
    return b;
}

/* ---- state ------------------------------------------------------------------------------------------ */
typedef enum { C_WAITING, C_RUNNING, C_TERMINATED } cphase;

typedef struct pk_ctr {
    pkl_ctr spec; /* name, image, podman_name, init, runAsNonRoot/runAsUser (owned copies) */
    char field_path[96];
    cphase ph;
    const char *wait_reason; /* literal */
    char wait_msg[512];
    int exit_code;
    const char *term_reason; /* literal */
    char term_msg[256];
    char started[48], finished[48]; /* podman's RFC 3339 with nanoseconds */
    /* log windows: conmon stamps a run's lines neither after StartedAt nor before FinishedAt, so runs are
     * told apart by when the kubelet started them (wall clock just before `podman start`; a run is restarted
     * only once podman reported it exited, all its output read) */
    char begin[48], last_begin[48];
    bool has_last;
    int last_exit;
    const char *last_reason;
    char last_started[48], last_finished[48];
    int restarts;
    bool ever_started;
    int64_t bo_ms, bo_last, restart_at; /* back-off (monotonic ms); restart_at 0 = none pending */
    bool done; /* terminated and will not restart */
} pk_ctr;

typedef struct pk_pod pk_pod;
struct pk_pod {
    pkl *k;
    char *ns, *name, *uid, *key, *node, *podman_pod, *vol_dir, *manifest_path;
    cJSON *obj; /* the pod as adopted (cluster thread reads only at adoption; the worker reads it) */
    pthread_t thr;
    bool thr_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* under mu */
    bool stop, dirty, call_done, finished;
    bool recheck; /* an exit podman has not finished recording: inspect again in 100 ms */
    int64_t grace_s;
    bool gone; /* removed from the API already */
    /* worker only (status snapshots are built under mu) */
    const char *restart_policy; /* literal: Always, OnFailure, Never */
    pk_ctr *c;
    size_t nc, ninit;
    bool created, initialized, failed_init, all_started;
    const char *phase; /* literal */
    int64_t start_ms;
    char *last_status; /* the last status posted (printed), to skip identical writes */
    pk_pod *next;      /* k->all (k->mu) */
};

struct pkl {
    kfake *api;
    kube_port sys;
    pkl_host host;
    pkl_opts o;
    char podman[256];
    char work[512];
    bool own_work;
    char inst[8];
    kube_watch *watch;
    /* cluster thread only */
    hmap pods;   /* "ns/name" -> pk_pod (the incarnation being run) */
    hmap events; /* dedupe key -> event object name (strdup) */
    unsigned *node_pods;
    uint64_t event_seq;
    /* shared, under mu */
    pthread_mutex_t mu;
    pk_pod *all; /* every pod whose worker has not been joined */
    bool shutting;
    /* events reader */
    pthread_t ev_thr;
    bool ev_started;
    pid_t ev_pid;
    int ev_fd;
};

static void pod_wake(pk_pod *p)
{
    pthread_mutex_lock(&p->mu);
    p->dirty = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* ---- on the cluster thread: jobs ------------------------------------------------------------------ */
typedef struct job_event {
    pkl *k;
    char *ns, *pod, *uid, *field_path, *reason, *message, *component, *node;
    bool warning;
} job_event;

/* record_event: an Event about pod NS/POD (cluster thread). A repeat (same object, container, reason and
 * message) counts up the first one, as the kubelet's event recorder does. */
static void record_event(pkl *k, const char *ns, const char *pod, const char *uid, const char *field_path,
                         bool warning, const char *reason, const char *message, const char *component, const char *node)
{
    char key[1400], ts[32];
    snprintf(key, sizeof key, "%s/%s/%s/%s/%s/%s", ns, pod, uid, field_path ? field_path : "", reason, message);
    sim_format_rfc3339(wall_ms(), ts, sizeof ts);
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
                T0_WARN(COMP, "event %s: %s", reason, err.msg);
            cJSON_Delete(u);
            return;
        }
    }
    char name[400];
    snprintf(name, sizeof name, "%s.%016" PRIx64, pod, ((uint64_t)wall_ms() << 12) | (++k->event_seq & 0xfff));
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
        T0_WARN(COMP, "event %s: %s", reason, err.msg);
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
    record_event(j->k, j->ns, j->pod, j->uid, j->field_path, j->warning, j->reason, j->message, j->component, j->node);
    free(j->ns), free(j->pod), free(j->uid), free(j->field_path), free(j->reason), free(j->message), free(j->component),
        free(j->node);
    free(j);
}

/* pod_event: from the worker: post an Event about P (container C, may be NULL). */
static void pod_event(pk_pod *p, const pk_ctr *c, bool warning, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void pod_event(pk_pod *p, const pk_ctr *c, bool warning, const char *reason, const char *fmt, ...)
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
    T0_INFO(COMP, "pod %s: %s %s%s%s: %s", p->key, warning ? "Warning" : "Normal", reason, c ? " " : "",
            c ? c->spec.name : "", msg);
    p->k->host.post(p->k->host.ctx, job_event_run, j);
}

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
    if (st != T0_OK && st != T0_ENOTFOUND && st != T0_ECONFLICT) T0_WARN(COMP, "status write: %s", err.msg);
    free(j->ns);
    free(j);
}

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
    if (st != T0_OK && st != T0_ENOTFOUND && st != T0_ECONFLICT) T0_WARN(COMP, "remove %s/%s: %s", j->ns, j->name, err.msg);
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

/* ---- status -------------------------------------------------------------------------------------------- */
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
    bool running = c->ph == C_RUNNING;
    cJSON_AddBoolToObject(s, "ready", running && !c->spec.init);
    cJSON_AddNumberToObject(s, "restartCount", c->restarts);
    cJSON_AddBoolToObject(s, "started", running);
    cJSON *st = cJSON_AddObjectToObject(s, "state");
    if (c->ph == C_RUNNING) {
        ts_member(cJSON_AddObjectToObject(st, "running"), "startedAt", c->started);
    } else if (c->ph == C_WAITING) {
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
    if (c->ph == C_WAITING && c->ever_started) { /* in back-off: the run that just ended, as the API shows it */
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

/* publish: post P's status (skipped when nothing changed). Worker thread. */
static void publish(pk_pod *p)
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
    for (size_t i = p->ninit; i < p->nc; i++) ready = ready && p->c[i].ph == C_RUNNING;
    sim_format_rfc3339(p->start_ms, ts, sizeof ts);
    cJSON *conds = cJSON_AddArrayToObject(s, "conditions");
    add_cond(conds, "PodScheduled", true, NULL, ts);
    add_cond(conds, "Initialized", p->initialized, p->initialized ? NULL : "ContainersNotInitialized", ts);
    add_cond(conds, "ContainersReady", ready, ready ? NULL : "ContainersNotReady", ts);
    add_cond(conds, "Ready", ready, ready ? NULL : "ContainersNotReady", ts);
    cJSON_AddStringToObject(s, "hostIP", HOST_IP);
    cJSON_AddStringToObject(s, "podIP", HOST_IP);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(s, "podIPs"), cJSON_CreateObject());
    cJSON_AddStringToObject(cJSON_GetArrayItem(cJSON_GetObjectItem(s, "podIPs"), 0), "ip", HOST_IP);
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

/* ---- the worker: podman calls ------------------------------------------------------------------ */
static int pm(pk_pod *p, char **out, char **errs, ...)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = p->k->podman;
    va_list ap;
    va_start(ap, errs);
    const char *a;
    while (n < 31 && (a = va_arg(ap, const char *))) argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    return run(argv, out, errs);
}

/* stopping: whether the pod must stop now (and its grace period) */
static bool stopping(pk_pod *p, int64_t *grace)
{
    pthread_mutex_lock(&p->mu);
    bool s = p->stop;
    if (grace) *grace = p->grace_s;
    pthread_mutex_unlock(&p->mu);
    return s;
}

/* sleep_until: wait for a podman event, a stop or the monotonic time DUE (0: SCAN_MS from now). Returns
 * whether the pod must stop. */
static bool sleep_until(pk_pod *p, int64_t due)
{
    if (!due) due = mono_ms() + SCAN_MS;
    pthread_mutex_lock(&p->mu);
    if (p->recheck && due > mono_ms() + 100) due = mono_ms() + 100;
    p->recheck = false;
    while (!p->stop && !p->dirty) {
        int64_t left = due - mono_ms();
        if (left <= 0) break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += left / 1000;
        ts.tv_nsec += (left % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    }
    p->dirty = false;
    bool s = p->stop;
    pthread_mutex_unlock(&p->mu);
    return s;
}

/* ctr_exited: C's run ended with CODE (podman inspect); lastState and the restart decision. */
static void ctr_exited(pk_pod *p, pk_ctr *c, int code, bool oom, const char *finished)
{
    c->ph = C_TERMINATED;
    c->exit_code = code;
    c->term_reason = oom ? "OOMKilled" : code ? "Error" : "Completed";
    snprintf(c->finished, sizeof c->finished, "%s", finished ? finished : "");
    bool again = !strcmp(p->restart_policy, "Always") || (!strcmp(p->restart_policy, "OnFailure") && code != 0);
    if (c->spec.init) again = code != 0 && strcmp(p->restart_policy, "Never");
    if (!again) {
        c->done = true;
        return;
    }
    int64_t now = mono_ms();
    if (!c->bo_ms || now - c->bo_last > BACKOFF_RESET_MS) {
        c->restart_at = now; /* the first restart is at once; the next ones back off */
        c->bo_ms = 0;
    } else {
        c->restart_at = now + c->bo_ms;
        c->ph = C_WAITING;
        c->wait_reason = "CrashLoopBackOff";
        snprintf(c->wait_msg, sizeof c->wait_msg, "back-off %llds restarting failed container=%s pod=%s_%s(%s)",
                 (long long)(c->bo_ms / 1000), c->spec.name, p->name, p->ns, p->uid);
        pod_event(p, c, true, "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)", c->spec.name, p->name,
                  p->ns, p->uid);
    }
}

/* refresh: podman inspect of every container believed running; exits are recorded. */
static void refresh(pk_pod *p)
{
    const char *argv[64];
    size_t n = 0;
    argv[n++] = p->k->podman;
    argv[n++] = "container";
    argv[n++] = "inspect";
    for (size_t i = 0; i < p->nc && n < 63; i++)
        if (p->c[i].ph == C_RUNNING) argv[n++] = p->c[i].spec.podman_name;
    if (n == 3) return;
    argv[n] = NULL;
    char *out = NULL, *errs = NULL;
    run(argv, &out, &errs); /* a missing container fails the call but still prints the others */
    cJSON *arr = out ? cJSON_Parse(out) : NULL;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->nc; i++) {
        pk_ctr *c = &p->c[i];
        if (c->ph != C_RUNNING) continue;
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

/* start_ctr: podman start C (a fresh run: a restart moves the last run to lastState). */
static void start_ctr(pk_pod *p, pk_ctr *c)
{
    pod_event(p, c, false, "Pulled", "Container image \"%s\" already present on machine", c->spec.image);
    if (!c->ever_started) pod_event(p, c, false, "Created", "Created container %s", c->spec.name);
    char begin[48];
    now_ns(begin, sizeof begin);
    char *out = NULL, *errs = NULL;
    int rc = pm(p, &out, &errs, "start", c->spec.podman_name, (char *)NULL);
    for (int attempt = 1; rc != 0 && rc != -1 && attempt < 3; attempt++) {
        /* podman may still be cleaning up the run that just ended: a real start error fails every time */
        free(out), free(errs);
        usleep(200 * 1000);
        rc = pm(p, &out, &errs, "start", c->spec.podman_name, (char *)NULL);
    }
    char *iout = NULL;
    pm(p, &iout, NULL, "container", "inspect", c->spec.podman_name, (char *)NULL);
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
        int64_t now = mono_ms();
        c->bo_ms = !c->bo_ms ? BACKOFF_BASE_MS : c->bo_ms * 2 > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : c->bo_ms * 2;
        c->bo_last = now;
    }
    memcpy(c->begin, begin, sizeof c->begin);
    c->ever_started = true;
    c->restart_at = 0;
    c->wait_reason = NULL;
    c->wait_msg[0] = 0;
    c->term_msg[0] = 0;
    snprintf(c->started, sizeof c->started, "%s", t0_json_str(st, "StartedAt") ? t0_json_str(st, "StartedAt") : "");
    c->ph = C_RUNNING;
    pthread_mutex_unlock(&p->mu);
    if (rc != 0) {
        char line[256];
        last_line(errs, line, sizeof line);
        char now[48];
        now_ns(now, sizeof now); /* it did not run: it ended now */
        pthread_mutex_lock(&p->mu);
        ctr_exited(p, c, 128, false, now);
        c->term_reason = "StartError";
        snprintf(c->term_msg, sizeof c->term_msg, "%s", line);
        pthread_mutex_unlock(&p->mu);
        pod_event(p, c, true, "Failed", "Error: %s", line);
    } else {
        pod_event(p, c, false, "Started", "Started container %s", c->spec.name);
        if (!cJSON_IsTrue(t0_json_get(st, "Running"))) refresh(p); /* it may have exited already */
    }
    cJSON_Delete(arr);
    free(iout);
    free(out);
    free(errs);
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
    a->st = pkl_translate(cur ? cur : p->obj, p->podman_pod, p->vol_dir, HOST_IP, &lk, &a->plan, &a->err);
}

static int mkdir_p(const char *path, mode_t mode)
{
    char b[1024];
    snprintf(b, sizeof b, "%s", path);
    for (char *s = b + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(b, 0755) != 0 && errno != EEXIST) return -1;
        *s = '/';
    }
    if (mkdir(b, mode) != 0 && errno != EEXIST) return -1;
    return chmod(b, mode);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void rm_rf(const char *path)
{
    if (path && *path) nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* write_volumes: the plan's directories (0777, as emptyDir) and files. */
static t0_status write_volumes(const pkl_plan *pl, t0_err *err)
{
    for (size_t i = 0; i < pl->ndirs; i++)
        if (mkdir_p(pl->dirs[i], 0777) != 0) return t0_fail(err, T0_EIO, "mkdir %s: %s", pl->dirs[i], strerror(errno));
    for (size_t i = 0; i < pl->nfiles; i++) {
        const pkl_file *f = &pl->files[i];
        char dir[1024];
        snprintf(dir, sizeof dir, "%s", f->path);
        char *slash = strrchr(dir, '/');
        if (slash) {
            *slash = 0;
            mkdir_p(dir, 0755);
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
        c->ph = C_WAITING;
        c->wait_reason = hit ? reason : c->spec.init ? "PodInitializing" : p->ninit ? "PodInitializing" : "ContainerCreating";
        snprintf(c->wait_msg, sizeof c->wait_msg, "%s", hit && msg ? msg : "");
    }
    pthread_mutex_unlock(&p->mu);
}

/* image_user: the image's USER (owned), "" when none, NULL when podman cannot tell. */
static char *image_user(pk_pod *p, const char *image)
{
    char *out = NULL;
    int rc = pm(p, &out, NULL, "image", "inspect", "--format", "{{.Config.User}}", image, (char *)NULL);
    if (rc != 0) {
        free(out);
        return NULL;
    }
    size_t n = strlen(out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == ' ')) out[--n] = 0;
    return out;
}

/* check_non_root: "" when C may start, else the kubelet's message (into MSG). */
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

/* prepare: translate, images, runAsNonRoot, kube play. Returns false when the pod must stop. */
static bool prepare(pk_pod *p)
{
    int64_t pull_bo = BACKOFF_BASE_MS;
    for (;;) {
        if (stopping(p, NULL)) return false;
        translate_arg a = {0};
        call(p, do_translate, &a);
        if (a.st != T0_OK) {
            int bad = a.plan.bad_ctr;
            const char *reason = !strcmp(a.plan.bad_reason, "FailedMount") ? "ContainerCreating" : "CreateContainerConfigError";
            set_waiting(p, reason[0] == 'C' && reason[1] == 'r' ? bad : -1, reason, a.err.msg);
            pkl_plan_free(&a.plan);
            pod_event(p, bad >= 0 && (size_t)bad < p->nc ? &p->c[bad] : NULL, true,
                      !strcmp(reason, "ContainerCreating") ? "FailedMount" : "Failed", "%s%s",
                      !strcmp(reason, "ContainerCreating") ? "" : "Error: ", a.err.msg);
            publish(p);
            if (sleep_until(p, mono_ms() + CONFIG_RETRY_MS)) return false;
            continue;
        }
        /* images: all present locally, or ErrImagePull / ImagePullBackOff */
        int missing = -1;
        for (size_t i = 0; i < p->nc && missing < 0; i++) {
            char *o = NULL;
            if (pm(p, &o, NULL, "image", "exists", p->c[i].spec.image, (char *)NULL) != 0) missing = (int)i;
            free(o);
        }
        if (missing >= 0) {
            pk_ctr *c = &p->c[missing];
            char msg[600];
            snprintf(msg, sizeof msg,
                     "image \"%s\" is not in podman's local store and the0-sim serve pulls from no registry (build it: "
                     "make images)",
                     c->spec.image);
            pod_event(p, c, false, "Pulling", "Pulling image \"%s\"", c->spec.image);
            pod_event(p, c, true, "Failed", "Failed to pull image \"%s\": %s", c->spec.image, msg);
            pod_event(p, c, true, "Failed", "Error: ErrImagePull");
            set_waiting(p, missing, "ErrImagePull", msg);
            publish(p);
            pkl_plan_free(&a.plan);
            if (sleep_until(p, mono_ms() + 1000)) return false;
            char bmsg[600];
            snprintf(bmsg, sizeof bmsg, "Back-off pulling image \"%s\"", c->spec.image);
            pod_event(p, c, false, "BackOff", "%s", bmsg);
            pod_event(p, c, true, "Failed", "Error: ImagePullBackOff");
            set_waiting(p, missing, "ImagePullBackOff", bmsg);
            publish(p);
            if (sleep_until(p, mono_ms() + pull_bo)) return false;
            pull_bo = pull_bo * 2 > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : pull_bo * 2;
            continue;
        }
        char msg[512];
        int bad = -1;
        for (size_t i = 0; i < p->nc && bad < 0; i++)
            if (!check_non_root(p, &p->c[i], msg, sizeof msg)) bad = (int)i;
        if (bad >= 0) {
            set_waiting(p, bad, "CreateContainerConfigError", msg);
            pod_event(p, &p->c[bad], true, "Failed", "Error: %s", msg);
            publish(p);
            pkl_plan_free(&a.plan);
            if (sleep_until(p, mono_ms() + CONFIG_RETRY_MS)) return false;
            continue;
        }
        t0_err err = {0};
        t0_status st = write_volumes(&a.plan, &err);
        char *json = st == T0_OK ? cJSON_Print(a.plan.manifest) : NULL;
        pkl_plan_free(&a.plan);
        FILE *f = json ? fopen(p->manifest_path, "w") : NULL;
        if (f) {
            fputs(json, f);
            fclose(f);
        }
        free(json);
        char *out = NULL, *errs = NULL;
        int rc = f ? pm(p, &out, &errs, "kube", "play", "--start=false", "--network", "host", p->manifest_path, (char *)NULL) : -1;
        if (rc == 0) {
            free(out);
            free(errs);
            pthread_mutex_lock(&p->mu);
            p->created = true;
            pthread_mutex_unlock(&p->mu);
            return true;
        }
        char line[400];
        snprintf(line, sizeof line, "%s", st != T0_OK ? err.msg : rc < 0 ? "cannot write the manifest" : last_line(errs, line, sizeof line));
        free(out);
        free(errs);
        pm(p, NULL, NULL, "pod", "rm", "-f", p->podman_pod, (char *)NULL); /* a half-made pod */
        set_waiting(p, -1, "CreateContainerError", line);
        pod_event(p, NULL, true, "Failed", "Error: %s", line);
        publish(p);
        if (sleep_until(p, mono_ms() + BACKOFF_BASE_MS)) return false;
    }
}

/* ---- the worker: running -------------------------------------------------------------------------- */
/* run_inits: each init container to a successful exit, in order. Returns false when the pod must stop
 * (or failed: p->failed_init). */
static bool run_inits(pk_pod *p)
{
    for (size_t i = 0; i < p->ninit; i++) {
        pk_ctr *c = &p->c[i];
        start_ctr(p, c);
        publish(p);
        for (;;) {
            pthread_mutex_lock(&p->mu);
            cphase ph = c->ph;
            bool done = c->done;
            int64_t at = c->restart_at;
            int code = c->exit_code;
            pthread_mutex_unlock(&p->mu);
            if (ph == C_TERMINATED && done) {
                if (code == 0) break;
                pthread_mutex_lock(&p->mu);
                p->failed_init = true;
                pthread_mutex_unlock(&p->mu);
                publish(p);
                return false;
            }
            if (at && at <= mono_ms()) {
                start_ctr(p, c);
                publish(p);
                continue;
            }
            publish(p);
            if (sleep_until(p, at ? at : 0)) return false;
            refresh(p);
        }
    }
    pthread_mutex_lock(&p->mu);
    p->initialized = true;
    pthread_mutex_unlock(&p->mu);
    set_waiting(p, -1, "ContainerCreating", NULL);
    publish(p);
    return true;
}

static void supervise(pk_pod *p)
{
    for (size_t i = p->ninit; i < p->nc; i++) {
        if (stopping(p, NULL)) return;
        start_ctr(p, &p->c[i]);
    }
    pthread_mutex_lock(&p->mu);
    p->all_started = true;
    pthread_mutex_unlock(&p->mu);
    publish(p);
    for (;;) {
        int64_t next = 0, now = mono_ms();
        for (size_t i = p->ninit; i < p->nc; i++) {
            pk_ctr *c = &p->c[i];
            if (c->restart_at && c->restart_at <= now) {
                if (stopping(p, NULL)) return;
                start_ctr(p, c);
            }
            if (c->restart_at && (!next || c->restart_at < next)) next = c->restart_at;
        }
        publish(p);
        if (sleep_until(p, next)) return;
        refresh(p);
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
        if (c->ph == C_RUNNING && n < 63) argv[n++] = c->spec.podman_name;
        if (c->ph == C_WAITING && c->ever_started) { /* in back-off: stays terminated */
            c->ph = C_TERMINATED;
            c->done = true;
        }
    }
    pthread_mutex_unlock(&p->mu);
    argv[n] = NULL;
    for (size_t i = 4; i < n; i++)
        for (size_t j = 0; j < p->nc; j++)
            if (p->c[j].spec.podman_name == argv[i]) pod_event(p, &p->c[j], false, "Killing", "Stopping container %s", p->c[j].spec.name);
    if (n > 4) {
        char *out = NULL, *errs = NULL;
        int64_t t0 = mono_ms();
        run(argv, &out, &errs);
        T0_INFO(COMP, "pod %s: stopped %zu container(s) in %lld ms (grace %s s)", p->key, n - 4, (long long)(mono_ms() - t0), gs);
        free(out);
        free(errs);
        refresh(p);
        pthread_mutex_lock(&p->mu);
        for (size_t i = 0; i < p->nc; i++) p->c[i].done = p->c[i].ph == C_TERMINATED || p->c[i].done;
        pthread_mutex_unlock(&p->mu);
    }
    publish(p);
    if (p->created) pm(p, NULL, NULL, "pod", "rm", "-f", "-t", "0", p->podman_pod, (char *)NULL);
    rm_rf(p->vol_dir);
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

static void job_finished_run(void *ud);

static void *worker(void *arg)
{
    pk_pod *p = arg;
    T0_INFO(COMP, "pod %s: podman pod %s", p->key, p->podman_pod);
    publish(p);
    if (prepare(p) && run_inits(p)) supervise(p);
    /* a pod that ended by itself (Succeeded/Failed) keeps its containers until it is deleted */
    while (!stopping(p, NULL)) {
        publish(p);
        sleep_until(p, mono_ms() + 60000);
    }
    terminate(p);
    T0_INFO(COMP, "pod %s: done", p->key);
    p->k->host.post(p->k->host.ctx, job_finished_run, p);
    return NULL;
}

/* ---- cluster thread: pods ------------------------------------------------------------------------- */
static void pod_free(pk_pod *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->nc; i++) {
        free(p->c[i].spec.name);
        free(p->c[i].spec.image);
        free(p->c[i].spec.podman_name);
    }
    free(p->c);
    cJSON_Delete(p->obj);
    free(p->ns), free(p->name), free(p->uid), free(p->key), free(p->node), free(p->podman_pod), free(p->vol_dir),
        free(p->manifest_path), free(p->last_status);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

static int node_index(const char *node)
{
    return node && !strncmp(node, "node-", 5) ? atoi(node + 5) : 0;
}

/* job_finished_run: the worker is about to return: forget the pod, join and free it (unless serve is
 * stopping: then pkl_shutdown joins it and pkl_destroy frees it). */
static void job_finished_run(void *ud)
{
    pk_pod *p = ud;
    pkl *k = p->k;
    if (hmap_get(&k->pods, p->key) == p) hmap_del(&k->pods, p->key);
    int ni = node_index(p->node);
    if (ni >= 1 && (unsigned)ni <= k->o.nodes && k->node_pods[ni - 1]) k->node_pods[ni - 1]--;
    pthread_mutex_lock(&k->mu);
    bool mine = !k->shutting;
    if (mine) {
        for (pk_pod **pp = &k->all; *pp; pp = &(*pp)->next)
            if (*pp == p) {
                *pp = p->next;
                break;
            }
    } else {
        p->finished = true;
    }
    pthread_mutex_unlock(&k->mu);
    if (mine) {
        pthread_join(p->thr, NULL);
        pod_free(p);
    }
}

static t0_status adopt(pkl *k, const cJSON *obj, const char *node)
{
    const cJSON *md = t0_json_get(obj, "metadata"), *spec = t0_json_get(obj, "spec");
    pk_pod *p = calloc(1, sizeof *p);
    if (!p) return T0_ENOMEM;
    p->k = k;
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    p->ns = strdup(t0_json_str(md, "namespace"));
    p->name = strdup(t0_json_str(md, "name"));
    p->uid = strdup(t0_json_str(md, "uid"));
    p->node = strdup(node);
    p->obj = cJSON_Duplicate(obj, 1);
    const char *uid = p->uid ? p->uid : "";
    size_t ul = strlen(uid);
    if (asprintf(&p->key, "%s/%s", p->ns, p->name) < 0) p->key = NULL;
    if (asprintf(&p->podman_pod, "t0_%s_%s_%s_%s", p->ns, p->name, k->inst, ul > 12 ? uid + ul - 12 : uid) < 0)
        p->podman_pod = NULL;
    if (p->podman_pod && asprintf(&p->vol_dir, "%s/%s", k->work, p->podman_pod) < 0) p->vol_dir = NULL;
    if (p->podman_pod && asprintf(&p->manifest_path, "%s/%s.json", k->work, p->podman_pod) < 0) p->manifest_path = NULL;
    const char *rp = t0_json_str(spec, "restartPolicy");
    p->restart_policy = rp && !strcmp(rp, "Never") ? "Never" : rp && !strcmp(rp, "OnFailure") ? "OnFailure" : "Always";
    const cJSON *g = t0_json_get(spec, "terminationGracePeriodSeconds");
    p->grace_s = cJSON_IsNumber(g) ? (int64_t)g->valuedouble : 30;
    p->start_ms = wall_ms();
    p->phase = "Pending";
    const cJSON *inits = t0_json_get(spec, "initContainers"), *ctrs = t0_json_get(spec, "containers");
    p->ninit = (size_t)cJSON_GetArraySize(inits);
    p->nc = p->ninit + (size_t)cJSON_GetArraySize(ctrs);
    p->c = calloc(p->nc ? p->nc : 1, sizeof *p->c);
    bool ok = p->ns && p->name && p->uid && p->node && p->obj && p->key && p->podman_pod && p->vol_dir && p->manifest_path && p->c;
    size_t i = 0;
    for (int pass = 0; ok && pass < 2; pass++) {
        const cJSON *c, *list = pass ? ctrs : inits;
        cJSON_ArrayForEach(c, list)
        {
            pk_ctr *pc = &p->c[i++];
            const char *nm = t0_json_str(c, "name"), *im = t0_json_str(c, "image");
            pc->spec.init = pass == 0;
            pc->spec.name = strdup(nm ? nm : "");
            pc->spec.image = strdup(im ? im : "");
            if (asprintf(&pc->spec.podman_name, "%s-%s", p->podman_pod, nm ? nm : "") < 0) pc->spec.podman_name = NULL;
            ok = ok && pc->spec.name && pc->spec.image && pc->spec.podman_name;
            const cJSON *sc = t0_json_get(c, "securityContext"), *psc = t0_json_get(spec, "securityContext");
            const cJSON *nr = t0_json_get(sc, "runAsNonRoot");
            if (!nr) nr = t0_json_get(psc, "runAsNonRoot");
            const cJSON *u = t0_json_get(sc, "runAsUser");
            if (!u) u = t0_json_get(psc, "runAsUser");
            pc->spec.run_as_non_root = cJSON_IsTrue(nr);
            pc->spec.run_as_user = cJSON_IsNumber(u) ? (long)u->valuedouble : -1;
            snprintf(pc->field_path, sizeof pc->field_path, "spec.%s{%s}", pass ? "containers" : "initContainers", nm ? nm : "");
            pc->ph = C_WAITING;
            pc->wait_reason = pass ? (p->ninit ? "PodInitializing" : "ContainerCreating") : "PodInitializing";
        }
    }
    if (!ok || hmap_put(&k->pods, p->key, p, NULL) != T0_OK) {
        pod_free(p);
        return T0_ENOMEM;
    }
    pthread_mutex_lock(&k->mu);
    p->next = k->all;
    k->all = p;
    if (pthread_create(&p->thr, NULL, worker, p) == 0) p->thr_started = true;
    pthread_mutex_unlock(&k->mu);
    if (!p->thr_started) {
        T0_ERROR(COMP, "pod %s: cannot start its worker thread", p->key);
        return T0_EIO;
    }
    return T0_OK;
}

static void schedule(pkl *k, const cJSON *obj)
{
    const char *ns = kfake_str(obj, "metadata.namespace"), *name = kfake_str(obj, "metadata.name");
    const char *uid = kfake_str(obj, "metadata.uid");
    unsigned best = 0;
    for (unsigned i = 1; i < k->o.nodes; i++)
        if (k->node_pods[i] < k->node_pods[best]) best = i;
    char node[32], msg[700];
    snprintf(node, sizeof node, "node-%u", best + 1);
    t0_err err = {0};
    if (kfake_bind_pod(k->api, ns, name, node, &err) != T0_OK) {
        T0_DEBUG(COMP, "bind %s/%s: %s", ns, name, err.msg);
        return;
    }
    snprintf(msg, sizeof msg, "Successfully assigned %s/%s to %s", ns, name, node);
    record_event(k, ns, name, uid, NULL, false, "Scheduled", msg, "default-scheduler", NULL);
}

static void on_pod_event(void *ud, kube_watch_type type, const cJSON *obj)
{
    pkl *k = ud;
    if (type == KUBE_WATCH_GONE || type == KUBE_WATCH_CLOSED) {
        T0_ERROR(COMP, "pod watch ended (%d): the kubelet is blind from now on", (int)type);
        return;
    }
    const cJSON *md = t0_json_get(obj, "metadata");
    const char *ns = kfake_str(md, "namespace"), *name = kfake_str(md, "name"), *uid = kfake_str(md, "uid");
    if (!ns || !name || !uid) return;
    char key[600];
    snprintf(key, sizeof key, "%s/%s", ns, name);
    pk_pod *p = hmap_get(&k->pods, key);
    if (p && strcmp(p->uid, uid)) p = NULL;
    if (type == KUBE_WATCH_DELETED) {
        if (p) {
            pthread_mutex_lock(&p->mu);
            p->gone = true;
            if (!p->stop) p->grace_s = 2; /* removed without a grace period (force): a short one here */
            p->stop = true;
            pthread_cond_broadcast(&p->cv);
            pthread_mutex_unlock(&p->mu);
        }
        return;
    }
    const char *deleting = kfake_str(md, "deletionTimestamp");
    const char *node = kfake_str(obj, "spec.nodeName");
    if (!p) {
        if (deleting) {
            /* not ours (or already finished): an unbound pod is removed by the API at once */
            return;
        }
        if (!node) {
            schedule(k, obj);
            return;
        }
        const char *phase = kfake_str(obj, "status.phase");
        int ni = node_index(node);
        if (ni < 1 || (unsigned)ni > k->o.nodes || (phase && strcmp(phase, "Pending"))) return;
        pthread_mutex_lock(&k->mu);
        bool shutting = k->shutting;
        pthread_mutex_unlock(&k->mu);
        if (shutting) return;
        if (adopt(k, obj, node) == T0_OK) k->node_pods[ni - 1]++;
        return;
    }
    if (deleting) {
        const cJSON *g = t0_json_get(md, "deletionGracePeriodSeconds");
        pthread_mutex_lock(&p->mu);
        if (!p->stop) {
            p->stop = true;
            if (cJSON_IsNumber(g)) p->grace_s = (int64_t)g->valuedouble;
            pthread_cond_broadcast(&p->cv);
        }
        pthread_mutex_unlock(&p->mu);
    }
}

/* ---- podman events ------------------------------------------------------------------------------ */
static void *events_reader(void *arg)
{
    pkl *k = arg;
    FILE *f = fdopen(k->ev_fd, "r");
    if (!f) return NULL;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        cJSON *e = cJSON_Parse(line);
        const char *name = t0_json_str(e, "Name");
        if (name) {
            pthread_mutex_lock(&k->mu);
            for (pk_pod *p = k->all; p; p = p->next) {
                size_t n = strlen(p->podman_pod);
                if (!strncmp(name, p->podman_pod, n) && name[n] == '-') pod_wake(p);
            }
            pthread_mutex_unlock(&k->mu);
        }
        cJSON_Delete(e);
    }
    free(line);
    fclose(f);
    return NULL;
}

/* ---- public API ---------------------------------------------------------------------------------- */
t0_status pkl_new(kfake *api, const pkl_host *host, const pkl_opts *opts, pkl **out, t0_err *err)
{
    *out = NULL;
    pkl *k = calloc(1, sizeof *k);
    if (!k) return t0_fail(err, T0_ENOMEM, "run-pods: out of memory");
    k->api = api;
    k->sys = kfake_system_port(api);
    k->host = *host;
    if (opts) k->o = *opts;
    if (!k->o.nodes) k->o.nodes = 1;
    if (k->o.shutdown_grace_s <= 0) k->o.shutdown_grace_s = 10;
    snprintf(k->podman, sizeof k->podman, "%s", k->o.podman && *k->o.podman ? k->o.podman : "podman");
    snprintf(k->inst, sizeof k->inst, "%06x", (unsigned)((getpid() * 2654435761u) ^ (unsigned)wall_ms()) & 0xffffff);
    pthread_mutex_init(&k->mu, NULL);
    hmap_init(&k->pods);
    hmap_init(&k->events);
    k->ev_fd = -1;
    k->node_pods = calloc(k->o.nodes, sizeof *k->node_pods);
    t0_status st = k->node_pods ? T0_OK : t0_fail(err, T0_ENOMEM, "run-pods: out of memory");
    if (st == T0_OK) {
        if (k->o.work_dir && *k->o.work_dir) {
            snprintf(k->work, sizeof k->work, "%s", k->o.work_dir);
            if (mkdir_p(k->work, 0755) != 0) st = t0_fail(err, T0_EIO, "run-pods: mkdir %s: %s", k->work, strerror(errno));
        } else {
            snprintf(k->work, sizeof k->work, "/tmp/the0-pods-XXXXXX");
            if (!mkdtemp(k->work))
                st = t0_fail(err, T0_EIO, "run-pods: mkdtemp: %s", strerror(errno));
            else
                k->own_work = true, chmod(k->work, 0755);
        }
    }
    if (st == T0_OK) { /* podman must run: a clear error now rather than at the first pod */
        const char *argv[] = {k->podman, "version", "--format", "{{.Client.Version}}", NULL};
        char *o = NULL, *e = NULL;
        int rc = run(argv, &o, &e);
        char line[300];
        if (rc != 0)
            st = t0_fail(err, T0_EUNAVAILABLE, "run-pods: `%s version` failed (exit %d): %s (install podman, runc and "
                         "catatonit: ci/deps.sh)", k->podman, rc, last_line(e, line, sizeof line));
        else
            T0_INFO(COMP, "podman %s; pod volumes under %s", last_line(o, line, sizeof line), k->work);
        free(o);
        free(e);
    }
    if (st == T0_OK) {
        const char *argv[] = {k->podman, "events", "--format", "json", "--filter", "type=container", "--filter",
                              "event=died", NULL};
        st = spawn(argv, &k->ev_fd, NULL, &k->ev_pid, err);
        if (st == T0_OK) {
            if (pthread_create(&k->ev_thr, NULL, events_reader, k) == 0)
                k->ev_started = true;
            else
                st = t0_fail(err, T0_EIO, "run-pods: cannot start the events thread");
        }
    }
    if (st == T0_OK) st = k->sys.watch(k->sys.ctx, KUBE_POD, NULL, NULL, NULL, on_pod_event, k, &k->watch, err);
    if (st != T0_OK) {
        pkl_shutdown(k);
        pkl_destroy(k);
        return st;
    }
    *out = k;
    return T0_OK;
}

void pkl_shutdown(pkl *k)
{
    if (!k) return;
    pthread_mutex_lock(&k->mu);
    bool again = k->shutting;
    k->shutting = true;
    size_t n = 0;
    for (pk_pod *p = k->all; p; p = p->next) {
        n++;
        pthread_mutex_lock(&p->mu);
        if (!p->stop || p->grace_s > k->o.shutdown_grace_s) p->grace_s = p->grace_s < k->o.shutdown_grace_s ? p->grace_s : k->o.shutdown_grace_s;
        p->stop = true;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    pk_pod *list = k->all;
    pthread_mutex_unlock(&k->mu);
    if (again) return;
    if (n) T0_INFO(COMP, "stopping %zu pod(s)", n);
    for (pk_pod *p = list; p; p = p->next)
        if (p->thr_started) pthread_join(p->thr, NULL);
    if (k->ev_pid > 0) {
        kill(k->ev_pid, SIGTERM);
        while (waitpid(k->ev_pid, NULL, 0) < 0 && errno == EINTR) {
        }
        k->ev_pid = 0;
    }
    if (k->ev_started) pthread_join(k->ev_thr, NULL);
    k->ev_started = false;
}

void pkl_destroy(pkl *k)
{
    if (!k) return;
    if (k->watch) k->sys.unwatch(k->sys.ctx, k->watch);
    pk_pod *p = k->all;
    while (p) {
        pk_pod *n = p->next;
        pod_free(p);
        p = n;
    }
    for (hmap_entry *e = hmap_first(&k->events); e; e = hmap_next(&k->events, e)) free(e->val);
    hmap_free(&k->events);
    hmap_free(&k->pods);
    if (k->own_work) rm_rf(k->work);
    free(k->node_pods);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

/* ---- pods/log ------------------------------------------------------------------------------------- */
struct pkl_stream {
    int fd;
    pid_t pid;
};

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
    const char *cname = q->container && *q->container ? q->container : NULL;
    if (!cname) {
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
        cname = kfake_str(cJSON_GetArrayItem(ctrs, 0), "name");
    }
    if (!p) return t0_fail(err, T0_EINVAL, "container \"%s\" in pod \"%s\" is waiting to start: ContainerCreating", cname, q->name);
    char pname[400], since[48] = "", until[48] = "";
    bool found = false;
    t0_status st = T0_OK;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->nc; i++) {
        pk_ctr *c = &p->c[i];
        if (strcmp(c->spec.name, cname)) continue;
        found = true;
        snprintf(pname, sizeof pname, "%s", c->spec.podman_name);
        if (q->previous) {
            if (!c->has_last)
                st = t0_fail(err, T0_EINVAL, "previous terminated container \"%s\" in pod \"%s\" not found", cname, q->name);
            snprintf(since, sizeof since, "%s", c->last_begin);
            snprintf(until, sizeof until, "%s", c->begin);
        } else if (!c->ever_started) {
            st = t0_fail(err, T0_EINVAL, "container \"%s\" in pod \"%s\" is waiting to start: %s", cname, q->name,
                         c->wait_reason ? c->wait_reason : "ContainerCreating");
        } else {
            snprintf(since, sizeof since, "%s", c->begin);
        }
    }
    pthread_mutex_unlock(&p->mu);
    if (!found) return t0_fail(err, T0_EINVAL, "container %s is not valid for pod %s", cname, q->name);
    if (st != T0_OK) return st;
    char sincebuf[48];
    if (q->since_seconds > 0) {
        int64_t s_ms = wall_ms() - q->since_seconds * 1000, run_ms = 0;
        if (!*since || (sim_parse_rfc3339(since, &run_ms) && s_ms > run_ms)) {
            char b[32];
            sim_format_rfc3339(s_ms, b, sizeof b);
            snprintf(sincebuf, sizeof sincebuf, "%s", b);
            snprintf(since, sizeof since, "%s", sincebuf);
        }
    }
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
    T0_DEBUG(COMP, "logs %s/%s -c %s: podman logs %s --since '%s' --until '%s'", q->ns, q->name, cname, pname, since, until);
    pkl_stream *s = calloc(1, sizeof *s);
    if (!s) return t0_fail(err, T0_ENOMEM, "logs: out of memory");
    st = spawn(argv, &s->fd, NULL, &s->pid, err);
    if (st != T0_OK) {
        free(s);
        return st;
    }
    *out = s;
    return T0_OK;
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
