/* podman_kubelet.h: `the0-sim serve --run-pods`: a kubelet that runs the served cluster's pods as real OCI
 * containers through podman, and the translation of a Pod into the manifest `podman kube play` runs. */
#ifndef T0_FAKES_PODMAN_KUBELET_H
#define T0_FAKES_PODMAN_KUBELET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cJSON.h>

#include "core/t0.h"
#include "fakes/kube_fake.h"

/* What the kubelet does (wall clock, one thread per pod, like the kubelet's pod workers):
 * - Scheduling: a new pod without spec.nodeName is bound to node-1..node-N (fewest pods; ties by name)
 *   and a Normal "Scheduled" Event is recorded (source default-scheduler). The nodes are names only:
 *   every pod runs on this machine, on the host's network (podIP = hostIP = 127.0.0.1).
 * - A bound pod is translated (pkl_translate) and created with `podman kube play --start=false`; podman
 *   applies command/args, env, workingDir, resources, securityContext (runAsUser/runAsGroup,
 *   readOnlyRootFilesystem, capabilities, allowPrivilegeEscalation, seccomp) and the volume mounts. The
 *   kubelet then starts the containers itself (`podman start`): init containers one at a time in order,
 *   each to a successful exit, then every regular container. It learns about exits from `podman events`
 *   (and a 5 s `podman inspect` scan as a safety net) and reads exit codes, reasons and times from
 *   `podman inspect`.
 * - Before creating: every image must be in podman's local store (`podman image exists`); a missing one is
 *   waiting ErrImagePull, then ImagePullBackOff, re-checked after 10 s doubling to 300 s (no registry is
 *   ever contacted: the translated manifest says imagePullPolicy Never). runAsNonRoot is checked against
 *   the effective uid (container, pod, then the image's USER); a violation, or env that cannot be resolved
 *   (missing Secret/ConfigMap or key), is waiting CreateContainerConfigError, retried every 5 s.
 * - Restarts as the kubelet does them: restartPolicy Always restarts any exit, OnFailure a non-zero exit,
 *   Never none; the first restart of a container is immediate, later ones wait 10 s doubling to 300 s
 *   (waiting CrashLoopBackOff, Warning "BackOff" Event); the back-off resets when 10 minutes passed since
 *   the last restart. A failed init container is restarted the same way (Never: the pod fails). A
 *   restart reuses the podman container (`podman start`), so its writable layer survives a restart, which a
 *   kubelet's new container would not keep. restartCount, lastState, exit codes and reasons (Completed,
 *   Error, OOMKilled) are reported as the API does; the pod phase follows from them (Pending until every
 *   init container succeeded and the containers started, Running, Succeeded when all exited 0 and none
 *   restarts, Failed otherwise).
 * - Deletion (deletionTimestamp) or serve stopping: a Normal "Killing" Event per running container, then
 *   `podman stop -t GRACE` of all of them at once (SIGTERM, SIGKILL when the grace period ends; GRACE is
 *   deletionGracePeriodSeconds, capped at opts.shutdown_grace_s when serve stops), the final statuses, then
 *   the pod object is removed from the API (grace 0), the podman pod removed (`podman pod rm -f`) and its
 *   volume directories deleted. A pod removed from the API without a grace period is stopped with 2 s.
 * - Events (Normal unless said): Scheduled, Pulled ("Container image "X" already present on machine"),
 *   Created, Started, Killing, BackOff (Warning; restarts and image pulls), Failed (Warning: pull,
 *   config and create errors). A repeated Event (same container, reason and message) counts up.
 * - Not done: probes (Ready follows the containers running), pod networking other than the host's,
 *   service-account tokens and KUBERNETES_SERVICE_* env (serve speaks plain HTTP: in-cluster config cannot
 *   work; give a client a kubeconfig in a ConfigMap volume), volumes other than emptyDir, hostPath, secret
 *   and configMap (Warning "FailedMount" and the pod stays Pending), image pulls. */

typedef struct pkl pkl;

/* What the HTTP server lends the kubelet: a way onto its cluster thread (which owns the kfake and the
 * generic store) and reads of generic objects. */
typedef struct pkl_host {
    void *ctx;
    /* post: run FN(UD) on the cluster thread soon; does not wait. Callable from any thread. */
    void (*post)(void *ctx, void (*fn)(void *ud), void *ud);
    /* get: on the cluster thread only: an owned copy of a generic object of PLURAL ("secrets",
     * "configmaps") NS/NAME, or NULL when there is none. */
    cJSON *(*get)(void *ctx, const char *plural, const char *ns, const char *name);
} pkl_host;

typedef struct pkl_opts {
    unsigned nodes;           /* node-1..node-N (default 1) */
    const char *podman;       /* the podman binary (default "podman", found on PATH) */
    const char *work_dir;     /* pod volume directories go under it (default: a new /tmp/the0-pods-XXXXXX,
                                 removed by pkl_destroy) */
    int64_t shutdown_grace_s; /* grace period cap when serve stops (default 10) */
} pkl_opts;

/* pkl_new: on the cluster thread: start the `podman events` reader and watch pods of API (borrowed; the
 * system port). HOST is copied. On failure nothing is left running. Fails (T0_EUNAVAILABLE) when podman
 * cannot be run. */
t0_status pkl_new(kfake *api, const pkl_host *host, const pkl_opts *opts, pkl **out, t0_err *err);
/* pkl_shutdown: NOT on the cluster thread, which must keep running jobs meanwhile: stop every pod's
 * containers (grace capped), remove them and their podman pods, wait for every pod worker and the events
 * reader. Idempotent. */
void pkl_shutdown(pkl *k);
/* pkl_destroy: after pkl_shutdown, on the cluster thread or once it has ended: unwatch and free. NULL is
 * a no-op. */
void pkl_destroy(pkl *k);

/* ---- pods/log --------------------------------------------------------------------------------------- */
typedef struct pkl_log_req {
    const char *ns, *name;
    const char *container; /* NULL or "": the pod's only container (else 400, as the API server says) */
    bool follow, previous, timestamps;
    long tail_lines;       /* < 0: all */
    long since_seconds;    /* <= 0: from the start of the run */
} pkl_log_req;
typedef struct pkl_stream pkl_stream;
/* pkl_logs: on the cluster thread: start `podman logs` for the container's current run (--previous: the
 * run before it). On T0_OK *out streams its output (pkl_stream_read, then pkl_stream_close). Errors as the
 * API server words them: T0_ENOTFOUND (pod, or a container not in it), T0_EINVAL (400: container name
 * needed, waiting to start, no previous run), T0_EIO (podman could not be started). */
t0_status pkl_logs(pkl *k, const pkl_log_req *q, pkl_stream **out, t0_err *err);
/* pkl_stream_read: up to MAX bytes; 0 at the end of the output or once *STOP is set (checked every
 * 500 ms); -1 on error. Any one thread. */
ssize_t pkl_stream_read(pkl_stream *s, char *buf, size_t max, const atomic_bool *stop);
/* pkl_stream_close: end `podman logs` (SIGTERM) and reap it; free. NULL is a no-op. */
void pkl_stream_close(pkl_stream *s);

/* ---- translation (pure; exposed for tests) ---------------------------------------------------------- */
/* Reads of the objects env and volumes refer to: an owned copy of PLURAL NS/NAME, or NULL when absent. */
typedef struct pkl_lookup {
    void *ctx;
    cJSON *(*get)(void *ctx, const char *plural, const char *ns, const char *name);
} pkl_lookup;

typedef struct pkl_file {
    char *path, *data; /* owned; DATA may hold NUL bytes */
    size_t len;
    int mode;
} pkl_file;

typedef struct pkl_ctr {
    char *name, *image, *podman_name; /* owned; podman_name = "<podman pod>-<name>" */
    bool init;
    bool run_as_non_root;             /* effective runAsNonRoot (container, else pod) */
    long run_as_user;                 /* effective runAsUser, or -1 (the image decides) */
} pkl_ctr;

typedef struct pkl_plan {
    cJSON *manifest;       /* the Pod `podman kube play` runs (owned) */
    char **dirs;           /* directories to create, mode 0777 (emptyDir, secret and configMap volumes) */
    size_t ndirs;
    pkl_file *files;       /* secret and configMap volume files to write */
    size_t nfiles;
    pkl_ctr *ctrs;         /* init containers in order, then the regular ones */
    size_t nctrs, ninit;
    int bad_ctr;           /* on a T0_EINVALID failure: the container whose env failed, or -1 */
    char bad_reason[32];   /* ... "CreateContainerConfigError" or "FailedMount" */
} pkl_plan;

/* pkl_translate: the manifest for POD (an API Pod object): podman pod name PODMAN_POD (hostname = the
 * pod's spec.hostname or name), restartPolicy Never (the kubelet restarts), every container with
 * imagePullPolicy Never, init containers moved first among the containers (the kubelet starts them in
 * order), env resolved to values (envFrom, then env; value, secretKeyRef, configMapKeyRef, fieldRef of
 * metadata.name|namespace|uid, metadata.labels['k'], metadata.annotations['k'], spec.nodeName,
 * spec.serviceAccountName, status.podIP|hostIP — HOST_IP, as the kubelet fills them) with $(VAR)
 * references expanded in env values, command and args (Kubernetes' rules: $$ is a literal $, an unknown
 * $(VAR) stays as written), volumes as hostPath directories under VOL_DIR/<volume> (emptyDir, secret,
 * configMap; their files in PLAN's files) or the pod's own hostPath; ports, probes, lifecycle hooks and
 * fields podman need not see dropped. runAsNonRoot is not passed on (the kubelet checks it; see above).
 * Errors: T0_EINVALID when env or a volume refers to a missing object or key (the message as the kubelet
 * words it: `secret "x" not found`, `couldn't find key k in Secret ns/x`) or a volume type is not
 * supported, with plan->bad_ctr and bad_reason set; T0_EINVAL for a pod that is not a Pod; T0_ENOMEM.
 * On failure OUT holds nothing to free. */
t0_status pkl_translate(const cJSON *pod, const char *podman_pod, const char *vol_dir, const char *host_ip,
                        const pkl_lookup *lk, pkl_plan *out, t0_err *err);
/* pkl_plan_free: free what PLAN holds (not PLAN itself). */
void pkl_plan_free(pkl_plan *plan);

/* pkl_expand: S with $(VAR) references replaced from the env array ENV ([{"name":..,"value":..}], may be
 * NULL), Kubernetes' rules. Owned result, NULL on allocation failure. */
char *pkl_expand(const char *s, const cJSON *env);

#endif
