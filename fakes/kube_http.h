/* kube_http.h: the fake cluster (kfake API server + kubelet + CronJob/Job controllers) served over the
 * Kubernetes REST API (libmicrohttpd) in wall-clock time, for kubectl, python3-kubernetes and the
 * production binary's kube_rest adapter. */
#ifndef T0_FAKES_KUBE_HTTP_H
#define T0_FAKES_KUBE_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/t0.h"
#include "fakes/podman_kubelet.h"

/* Threading. One "cluster thread" owns everything simulated: a sim_loop whose clock is advanced to the
 * wall clock (CLOCK_REALTIME) whenever a timer is due or a request arrives, the kfake, the kubelet, the
 * CronJob/Job controllers and the generic object store. libmicrohttpd runs one thread per connection;
 * a handler thread hands its parsed request to the cluster thread and waits for the finished answer,
 * so no cluster object is ever touched by two threads. Watch streams are fed by the cluster thread
 * (the watch callback formats each event into the stream's buffer) and drained by the connection's
 * thread.
 *
 * What is served (reference/environment.md §6):
 * - /version (gitVersion v1.30.0: the kubectl dispatcher then runs kubectl 1.30), /healthz, /livez,
 *   /readyz; discovery: /api (APIVersions), /apis (APIGroupList), /apis/<g> (APIGroup), /api/v1 and
 *   /apis/<g>/<v> (APIResourceList with shortNames and categories);
 * - /openapi/v3 (an index) and /openapi/v3/api/v1, /openapi/v3/apis/<g>/<v>: one PATCH operation per
 *   resource with x-kubernetes-group-version-kind and an operation-level fieldValidation parameter,
 *   which is what kubectl needs for create/apply; /openapi/v2 is 404 (kubectl tolerates it);
 * - resources: v1 pods, events (kfake), namespaces, serviceaccounts, secrets, configmaps, services;
 *   batch/v1 cronjobs, jobs (kfake); coordination.k8s.io/v1 leases (kfake); apps/v1 deployments;
 *   rbac.authorization.k8s.io/v1 roles, rolebindings, clusterroles, clusterrolebindings. Kinds not in
 *   kfake live in a generic store: accepted, defaulted minimally (uid, resourceVersion,
 *   creationTimestamp, generation; Secret stringData -> data; Namespace status.phase Active), listed,
 *   watched, updated and deleted, with no behaviour;
 * - verbs: GET (get, list with labelSelector and a simple fieldSelector of a=b / a!=b on dotted
 *   paths; limit is ignored and no continue is returned), watch (watch=true|True|1, case-insensitive;
 *   resourceVersion unset or "0" first sends ADDED for every current object; a too-old resourceVersion
 *   gives an ERROR event with a 410 Expired Status; timeoutSeconds honoured, default 1800 s), POST,
 *   PUT, PUT .../status, DELETE (DeleteOptions body or propagationPolicy/gracePeriodSeconds query; the
 *   answer is the object as it was or, while it terminates, as it is), PATCH with
 *   application/merge-patch+json (RFC 7386), application/strategic-merge-patch+json (approximated:
 *   lists of objects are merged by name, mountPath or containerPort; $-directives other than
 *   {"$patch":"delete"} are dropped) and application/apply-patch+yaml (a JSON body: create when absent,
 *   201; else merged like a strategic patch, 200; no managedFields); GET pods/NAME/log (container,
 *   follow, previous, timestamps, tailLines, sinceSeconds) with run_pods, else 400;
 * - Table answers (meta.k8s.io/v1) when Accept contains as=Table, for lists, single objects and watch
 *   events (column definitions on the first watch event only, as the API server does): pods NAME READY
 *   STATUS RESTARTS AGE [IP NODE NOMINATED NODE READINESS GATES], cronjobs NAME SCHEDULE SUSPEND ACTIVE
 *   LAST SCHEDULE AGE [CONTAINERS IMAGES SELECTOR], jobs NAME COMPLETIONS DURATION AGE [CONTAINERS
 *   IMAGES SELECTOR], leases NAME HOLDER AGE, events LAST SEEN TYPE REASON OBJECT MESSAGE, namespaces
 *   NAME STATUS AGE, everything else NAME AGE;
 * - errors: a v1 Status with status Failure, reason, code, message and details as the API server
 *   formats them (`pods "x" not found`, `cronjobs.batch "x" already exists`, ...). dryRun is refused
 *   with 400 rather than silently applied. */

typedef struct khttp khttp;

typedef struct khttp_opts {
    const char *host;  /* listen address, IPv4 dotted quad (default "127.0.0.1") */
    int port;          /* 0 = any free port (see khttp_port) */
    unsigned nodes;    /* simulated Ready nodes "node-1".."node-N" (default 3; 0 = pods stay Pending) */
    uint64_t seed;     /* the loop PRNG (generateName suffixes, Job pod names) */
    bool access_log;   /* one line per request on stderr: method, path, status, milliseconds */
    const pkl_opts *run_pods; /* non-NULL: pods run as podman containers (fakes/podman_kubelet.h) instead of
                                 the simulated kubelet; pods/log then serves their output */
} khttp_opts;

/* khttp_start: build the cluster, start its thread and the HTTP server. On success the caller owns
 * *OUT (khttp_stop). On failure nothing is left running and ERR says what failed. */
t0_status khttp_start(const khttp_opts *opts, khttp **out, t0_err *err);
/* khttp_port: the TCP port actually bound. */
int khttp_port(const khttp *h);

typedef struct khttp_stats {
    uint64_t requests, watches, errors; /* errors: answers with status >= 400 */
    uint64_t watches_open;
} khttp_stats;
/* khttp_get_stats: counters so far (thread-safe). */
void khttp_get_stats(khttp *h, khttp_stats *out);

/* khttp_stop: end every watch stream, stop the HTTP server (waiting for its threads), stop the
 * cluster thread, free the cluster. NULL is a no-op. */
void khttp_stop(khttp *h);

#endif
