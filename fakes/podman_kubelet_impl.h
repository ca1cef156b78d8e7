/* podman_kubelet_impl.h: the podman kubelet's internals, shared by its files and by nothing else
 * (podman_kubelet.h is the contract):
 *   podman_kubelet.c  the kubelet: start and stop, the pod watch (scheduling, adoption, deletion), pod records
 *   podman_worker.c   one pod's worker thread: set-up, init containers, supervision, termination
 *   podman_ctr.c      one container's runs: podman start and inspect, exits, the restart back-off
 *   podman_status.c   the pod status the worker writes
 *   podman_recorder.c Kubernetes Events (the kubelet's and the scheduler's)
 *   podman_logs.c     pods/log through `podman logs`
 *   podman_proc.c     child processes (the podman runner, the `podman events` reader), clocks, directories
 *   podman_spec.c     the Pod -> `podman kube play` translation (pure; declared in podman_kubelet.h)
 * Threads: the cluster thread (host.post jobs, the pod watch) owns the kfake, k->pods and k->events; each
 * pod's worker owns its pk_pod's containers and shares what pods/log and the cluster thread read under
 * p->mu; k->all and k->shutting are under k->mu. */
#ifndef T0_FAKES_PODMAN_KUBELET_IMPL_H
#define T0_FAKES_PODMAN_KUBELET_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cJSON.h>

#include "core/clock.h"
#include "core/hmap.h"
#include "core/ports.h"
#include "core/t0.h"
#include "fakes/kube_fake.h"
#include "fakes/podman_kubelet.h"

#define PK_COMP "podman-kubelet"
#define PK_HOST_IP "127.0.0.1"
#define PK_BACKOFF_BASE_MS 10000
#define PK_BACKOFF_CAP_MS 300000
#define PK_BACKOFF_RESET_MS 600000 /* 2 x the cap, as the kubelet's back-off expiry */
#define PK_CONFIG_RETRY_MS 5000
#define PK_SCAN_MS 5000

/* ---- state ------------------------------------------------------------------------------------------ */
typedef enum { PK_WAITING, PK_RUNNING, PK_TERMINATED } pk_cphase;

typedef struct pk_ctr {
    pkl_ctr spec; /* name, image, podman_name, init, runAsNonRoot/runAsUser (owned copies) */
    char field_path[96];
    pk_cphase ph;
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

/* ---- podman_proc.c: clocks, child processes, directories -------------------------------------------- */
/* pk_now_ns: the wall clock as RFC 3339 with nanoseconds, as podman writes times */
void pk_now_ns(char *b, size_t cap);
/* pk_spawn: ARGV with stdout (and stderr unless ERR_FD is NULL) on pipes; stdin /dev/null. */
t0_status pk_spawn(const char *const argv[], int *out_fd, int *err_fd, pid_t *pid, t0_err *err);
/* pk_run: ARGV to completion; *OUT and *ERRS (may be NULL) get its stdout and stderr (owned, "" when empty).
 * Returns its exit code, or -1 when it could not be run (ERRS says why). */
int pk_run(const char *const argv[], char **out, char **errs);
/* pk_last_line: the last line of S without trailing white space, into B (for messages); returns B */
const char *pk_last_line(const char *s, char *b, size_t cap);
/* pk_mkdir_p: PATH and its parents (0755), PATH itself with MODE. 0 or -1 (errno). */
int pk_mkdir_p(const char *path, mode_t mode);
/* pk_rm_rf: remove PATH and everything below it; NULL or "" is a no-op. */
void pk_rm_rf(const char *path);
/* pk_events_start: run `podman events` (container deaths) and a thread that wakes the pod each one is
 * about. pk_events_stop: end both (after every worker has been joined). Idempotent. */
t0_status pk_events_start(pkl *k, t0_err *err);
void pk_events_stop(pkl *k);

/* ---- podman_recorder.c: Events ---------------------------------------------------------------------- */
/* pk_record_event: on the cluster thread: an Event about pod NS/POD. A repeat (same object, container,
 * reason and message) counts up the first one, as the kubelet's event recorder does. */
void pk_record_event(pkl *k, const char *ns, const char *pod, const char *uid, const char *field_path, bool warning,
                     const char *reason, const char *message, const char *component, const char *node);
/* pk_pod_event: from the worker: post an Event about P (container C, may be NULL). */
void pk_pod_event(pk_pod *p, const pk_ctr *c, bool warning, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ---- podman_status.c -------------------------------------------------------------------------------- */
/* pk_publish: post P's status (skipped when nothing changed). Worker thread. */
void pk_publish(pk_pod *p);

/* ---- podman_ctr.c: containers ----------------------------------------------------------------------- */
/* pk_podman: run podman with the arguments up to a NULL (char *); as pk_run. */
int pk_podman(pk_pod *p, char **out, char **errs, ...);
/* pk_refresh: podman inspect of every container believed running; exits are recorded. */
void pk_refresh(pk_pod *p);
/* pk_start_ctr: podman start C (a fresh run: a restart moves the last run to lastState). */
void pk_start_ctr(pk_pod *p, pk_ctr *c);

/* ---- podman_worker.c / podman_kubelet.c --------------------------------------------------------------- */
/* pk_worker: the thread that runs pod P (a pk_pod *) from set-up to removal, then posts pk_pod_finished. */
void *pk_worker(void *arg);
/* pk_pod_finished: a job on the cluster thread: P's worker is about to return: forget the pod, join and
 * free it (unless serve is stopping: then pkl_shutdown joins it and pkl_destroy frees it). */
void pk_pod_finished(void *p);

#endif
