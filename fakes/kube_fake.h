/* kube_fake.h: an in-process Kubernetes API server (Pods, CronJobs, Jobs, Leases, Events behind kube_port;
 * the other resources `the0-sim serve` offers in the same store). docs/apiserver.md describes it. */
#ifndef T0_FAKES_KUBE_FAKE_H
#define T0_FAKES_KUBE_FAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/ports.h"
#include "core/t0.h"
#include "sim/faults.h"
#include "sim/loop.h"

/* Semantics (pinned by fakes/tests/test_kube_*.c):
 * - resourceVersion: one cluster-wide uint64 counter, bumped by every write, as a decimal string.
 *   uid: "00000000-0000-4000-8000-<12 hex of a counter>". creationTimestamp / deletionTimestamp: RFC3339
 *   from the virtual clock. metadata.generation: 1 on create, +1 when an update changes .spec.
 * - create: T0_EEXIST (409 AlreadyExists) when ns/name exists (terminating objects included);
 *   metadata.generateName is honoured when name is empty (5 characters from the loop PRNG).
 *   Validation as the API server does, T0_EINVALID (422) with the real message shape
 *   ("CronJob.batch \"x\" is invalid: metadata.name: Invalid value: \"x\": must be no more than 52
 *   characters"): DNS-1123 subdomain names (<= 253; CronJob <= 52; Namespace: a DNS-1123 label), label keys
 *   and values (63), annotation keys and their total size (256 KiB), pod spec
 *   (containers non-empty, names, image required, restartPolicy, resource quantities, requests <= limits),
 *   Job restartPolicy Never/OnFailure, CronJob spec.schedule (cron syntax), concurrencyPolicy, timeZone
 *   syntax. Pod updates may change only container images and activeDeadlineSeconds in .spec.
 * - update: PUT of the whole object; when metadata.resourceVersion is set and differs, T0_ECONFLICT
 *   (409, "the object has been modified; please apply your changes to the latest version and try
 *   again"); when unset, the update is unconditional (as AllowUnconditionalUpdate kinds do). .status is
 *   kept from the stored object; update_status replaces only .status.
 * - remove: pods bound to a node (spec.nodeName) get deletionTimestamp + deletionGracePeriodSeconds
 *   (opts grace, else spec.terminationGracePeriodSeconds, else 30) and stay until the kubelet finishes
 *   them (it calls remove with grace 0); unbound pods and grace 0 are removed at once. An object with
 *   metadata.finalizers stays (deletionTimestamp set) until an update removes the last one, and goes
 *   then (a pod once the kubelet has finished it too). Other kinds are
 *   removed at once, except Foreground: the owner gets deletionTimestamp and the "foregroundDeletion"
 *   finalizer, its dependents (metadata.ownerReferences by uid) are deleted (Foreground, recursively)
 *   and the owner is removed when the last dependent is gone. Background (default): the owner is removed
 *   and the garbage collector deletes its dependents on the next loop turn. Orphan: the dependents'
 *   ownerReferences to it are removed first. A dependent whose owners are all gone is collected.
 *   precondition_uid mismatch -> T0_ECONFLICT.
 * - watch: events with resourceVersion > from_rv ("" / NULL / "0" = from now), filtered by namespace
 *   ("" or NULL = all) and selector (an object that stops matching is reported DELETED, one that starts
 *   matching ADDED), delivered in order on loop timers. A from_rv older than the kept history (the last
 *   opts.watch_history events per kind) gets KUBE_WATCH_GONE (after which the watch delivers nothing
 *   more; unwatch it). Objects passed to watch callbacks are borrowed for the call.
 * - list: items sorted by namespace then name; List metadata.resourceVersion = the current counter.
 *   Selectors: a=b, a==b, a!=b, a in (x,y), a notin (x), a, !a, comma-separated (AND). A bad selector is
 *   T0_EINVAL (400).
 * - lookups: by namespace/name O(1); by equality label requirement O(matching objects) through a
 *   per-(kind, namespace, key=value) index; dependents by owner uid through an index.
 *
 * Fault points (sim/faults.h): kube/<kind>/<verb> for kind pod, cronjob, job, lease, event and verb
 * create, get, list, update, update_status, delete, watch; and kube/watch for each event delivered to a
 * watcher (drop, duplicate, latency, gone, close). Kinds honoured: error (any status), 429, timeout,
 * timeout-applied (writes), stale (list: the result of the previous identical list), gone/close
 * (watch). The system port (kfake_system_port) bypasses every fault: the simulated kubelet and
 * controllers are part of the cluster, not its clients. */

typedef struct kfake kfake;

/* The resources the fake stores, in one store with one resourceVersion counter. The port's kinds come
 * first, at their kube_kind values, with the behaviour described above; the others get the API machinery
 * only (names, labels and selectors, versions and conflicts, watch, finalizers, owner references and
 * garbage collection, Secret stringData and Namespace defaults), for `the0-sim serve`. */
typedef enum kfake_rid {
    KFAKE_POD = KUBE_POD, KFAKE_CRONJOB = KUBE_CRONJOB, KFAKE_JOB = KUBE_JOB, KFAKE_LEASE = KUBE_LEASE,
    KFAKE_EVENT = KUBE_EVENT,
    KFAKE_NAMESPACE = KUBE__KINDS, KFAKE_SERVICEACCOUNT, KFAKE_SECRET, KFAKE_CONFIGMAP, KFAKE_SERVICE,
    KFAKE_DEPLOYMENT, KFAKE_ROLE, KFAKE_ROLEBINDING, KFAKE_CLUSTERROLE, KFAKE_CLUSTERROLEBINDING, KFAKE_NODE,
    KFAKE_NRES
} kfake_rid;

typedef struct kfake_res {
    const char *group, *version;  /* "" and "v1" for the core group */
    const char *api_version;      /* "v1", "batch/v1" */
    const char *plural, *singular, *kind;
    const char *display;          /* the name in validation messages: "Pod", "CronJob.batch" */
    const char *shortname;        /* kubectl's short name, or NULL */
    bool namespaced, all;         /* all: in kubectl's "all" category */
    bool has_status;              /* a status subresource (an update keeps the stored status) */
} kfake_res;

/* kfake_res_of: the resource RES (a kfake_rid), or NULL when out of range. kfake_res_find: the id of
 * GROUP/VERSION/PLURAL, or -1. */
const kfake_res *kfake_res_of(int res);
int kfake_res_find(const char *group, const char *version, const char *plural);

typedef struct kfake_opts {
    int watch_history;        /* events kept per kind for watch-from-resourceVersion (default 100, as
                                 kube-apiserver's --default-watch-cache-size) */
    int64_t watch_delay_ms;   /* delivery delay of watch events (default 0: next loop turn) */
    int64_t default_grace_s;  /* pods without terminationGracePeriodSeconds (default 30) */
    bool lend_objects;        /* list items and the results of get, create and updates are read-only
                                 references into the store (cJSON_IsReference), valid until the next call
                                 on a port; default: owned copies */
} kfake_opts;

/* kfake_new: an empty cluster on LOOP (borrowed). FAULTS may be NULL (no injection). OPTS may be NULL. */
t0_status kfake_new(sim_loop *loop, sim_faults *faults, const kfake_opts *opts, kfake **out, t0_err *err);
/* kfake_destroy: free every object and watch (callers' watch handles become invalid). NULL is a no-op. */
void kfake_destroy(kfake *k);

/* kfake_port: the client-facing port (faults apply). kfake_system_port: the same API without faults,
 * for the kubelet and the CronJob/Job controllers. Both borrow K. */
kube_port kfake_port(kfake *k);
kube_port kfake_system_port(kfake *k);

/* Calls on any resource RES (a kfake_rid), with the semantics of the client port's calls (faults apply;
 * watch callbacks as there). UPDATE with STATUS is update_status. For the HTTP front. FLAGS:
 * KFAKE_DRY_RUN (dryRun=All): every check and default as for the real call, nothing stored; create and
 * update answer the object as it would be (a create's without resourceVersion), remove answers T0_OK. */
#define KFAKE_DRY_RUN 1u
t0_status kfake_create(kfake *k, int res, const char *ns, const cJSON *obj, unsigned flags, cJSON **out, t0_err *err);
t0_status kfake_get(kfake *k, int res, const char *ns, const char *name, cJSON **out, t0_err *err);
t0_status kfake_list(kfake *k, int res, const char *ns, const char *selector, const kube_list_page *page, cJSON **out,
                     t0_err *err);
t0_status kfake_update(kfake *k, int res, const char *ns, const cJSON *obj, bool status, unsigned flags, cJSON **out,
                       t0_err *err);
t0_status kfake_remove(kfake *k, int res, const char *ns, const char *name, const kube_delete_opts *opts, unsigned flags,
                       t0_err *err);
t0_status kfake_watch(kfake *k, int res, const char *ns, const char *selector, const char *from_rv, kube_watch_fn fn,
                      void *ud, kube_watch **out, t0_err *err);
/* kfake_causes: the findings of the last validation that failed with 422, as a details.causes array
 * ([{reason, message, field}]; borrowed, valid until the next call), or NULL. */
const cJSON *kfake_causes(const kfake *k);
void kfake_unwatch(kfake *k, kube_watch *w);
/* kfake_watch_bookmarks: from now on, every EVERY_MS (> 0) queue a KUBE_WATCH_BOOKMARK on W carrying the
 * resourceVersion of the last change made, behind the events already queued on W, as the API server does
 * for a watch with allowWatchBookmarks=true (about once a minute). A bookmark is no fault point: it is
 * delivered, or lost with the stream. */
void kfake_watch_bookmarks(kfake *k, kube_watch *w, int64_t every_ms);

/* kfake_write_status: the system port's update_status with OBJ handed over (owned, freed whatever the
 * outcome): its status becomes the stored one without a copy. For the simulated kubelet and controllers,
 * which write a freshly built status many times per pod. */
t0_status kfake_write_status(kfake *k, kube_kind kind, const char *ns, cJSON *obj, t0_err *err);

/* kfake_bind_pod: the pods/binding subresource: set spec.nodeName of an unbound pod (the scheduler's
 * call). T0_ENOTFOUND, T0_ECONFLICT when already bound. */
t0_status kfake_bind_pod(kfake *k, const char *ns, const char *name, const char *node, t0_err *err);

/* Direct, read-only access for observers (invariant checker, tests): the stored object or NULL. The
 * pointer is valid until the next write to the cluster. No fault, no copy. */
const cJSON *kfake_peek(const kfake *k, kube_kind kind, const char *ns, const char *name);
/* kfake_count: objects of KIND (all namespaces; terminating ones included). */
size_t kfake_count(const kfake *k, kube_kind kind);
/* kfake_count_label: objects of KIND in NS ("" = all) carrying label KEY=VALUE. O(matches). */
size_t kfake_count_label(const kfake *k, kube_kind kind, const char *ns, const char *key, const char *value);
/* kfake_count_labels: the same, of the objects that also carry label KEY2=VALUE2. O(matches of the first). */
size_t kfake_count_labels(const kfake *k, kube_kind kind, const char *ns, const char *key, const char *value,
                          const char *key2, const char *value2);
/* kfake_resource_version: the current cluster-wide resourceVersion counter. */
uint64_t kfake_resource_version(const kfake *k);

/* Observer: FN runs synchronously after every stored change of the port's kinds (before watchers are
 * served), with the event type, the kind and the object as stored (borrowed). For traces and invariants.
 * NULL removes. */
typedef void (*kfake_observer_fn)(void *ud, kube_watch_type type, kube_kind kind, const cJSON *obj);
void kfake_set_observer(kfake *k, kfake_observer_fn fn, void *ud);

/* Label selectors, exposed for tests and other fakes. kfake_selector_parse compiles S; matches tests a
 * labels object (may be NULL). */
typedef struct kfake_selector kfake_selector;
t0_status kfake_selector_parse(const char *s, kfake_selector **out, t0_err *err);
bool kfake_selector_matches(const kfake_selector *sel, const cJSON *labels);
void kfake_selector_free(kfake_selector *sel);

/* Small helpers for fakes: string field of OBJ at a dotted path ("metadata.name"), or NULL. */
const char *kfake_str(const cJSON *obj, const char *path);

#endif
