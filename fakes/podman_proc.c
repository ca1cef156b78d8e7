/* podman_proc.c: serve --run-pods: child processes (the podman runner, the `podman events` reader), clocks, directories. */
#include "fakes/podman_kubelet_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
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

#include "core/json.h"

extern char **environ;

/* ---- time ------------------------------------------------------------------------------------------ */
void pk_now_ns(char *b, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(b, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(b + n, cap - n, ".%09ldZ", ts.tv_nsec);
}

/* ---- child processes ----------------------------------------------------------------------------- */
t0_status pk_spawn(const char *const argv[], int *out_fd, int *err_fd, pid_t *pid, t0_err *err)
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

int pk_run(const char *const argv[], char **out, char **errs)
{
    int fo = -1, fe = -1;
    pid_t pid;
    t0_err e = {0};
    if (out) *out = NULL;
    if (errs) *errs = NULL;
    if (pk_spawn(argv, &fo, &fe, &pid, &e) != T0_OK) {
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

const char *pk_last_line(const char *s, char *b, size_t cap)
{
    size_t n = s ? strlen(s) : 0;
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r')) n--;
    size_t st = n;
    while (st && s[st - 1] != '\n') st--;
    snprintf(b, cap, "%.*s", (int)(n - st), s ? s + st : "");
    return b;
}

int pk_podman(pk_pod *p, char **out, char **errs, ...)
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
    return pk_run(argv, out, errs);
}

/* ---- directories ---------------------------------------------------------------------------------- */
int pk_mkdir_p(const char *path, mode_t mode)
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

void pk_rm_rf(const char *path)
{
    if (path && *path) nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void pod_wake(pk_pod *p)
{
    pthread_mutex_lock(&p->mu);
    p->dirty = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* ---- podman events ------------------------------------------------------------------------------ */
/* events_reader: each container death `podman events` reports wakes the pod it belongs to (its podman name
 * starts with the pod's podman pod name and '-'); the worker then inspects its containers. */
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

t0_status pk_events_start(pkl *k, t0_err *err)
{
    const char *argv[] = {k->podman, "events", "--format", "json", "--filter", "type=container", "--filter",
                          "event=died", NULL};
    t0_status st = pk_spawn(argv, &k->ev_fd, NULL, &k->ev_pid, err);
    if (st != T0_OK) return st;
    if (pthread_create(&k->ev_thr, NULL, events_reader, k) != 0)
        return t0_fail(err, T0_EIO, "run-pods: cannot start the events thread");
    k->ev_started = true;
    return T0_OK;
}

void pk_events_stop(pkl *k)
{
    if (k->ev_pid > 0) {
        kill(k->ev_pid, SIGTERM);
        while (waitpid(k->ev_pid, NULL, 0) < 0 && errno == EINTR) {
        }
        k->ev_pid = 0;
    }
    if (k->ev_started) pthread_join(k->ev_thr, NULL);
    k->ev_started = false;
}
