/* ports.h: the ports the controllers see — event loop/clock, Kubernetes API, desired-state store
 * (MongoDB) and message bus (NATS). Real adapters (adapters/) and in-process fakes (fakes/) implement
 * the same structs; nothing in controllers/ or fsm/ knows which one it got. The object store port
 * (S3/MinIO) is core/objstore.h.
 *
 * Threading contract: every callback a port delivers (timer, watch event, bus message) runs on the
 * loop's single thread, one at a time, never re-entrantly from inside a port call. Port calls are
 * synchronous and may be made from any loop callback. */
#ifndef T0_PORTS_H
#define T0_PORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "core/t0.h"

/* ---- loop: time, timers, deterministic randomness --------------------------------------------- */
typedef void (*loop_fn)(void *ud);
typedef struct loop_port {
    void *ctx;
    /* now_ms: milliseconds since the Unix epoch (virtual in the simulator). */
    int64_t (*now_ms)(void *ctx);
    /* timer: run FN(UD) on the loop after DELAY_MS (>= 0). Timers due at the same instant run in the
     * order they were armed. Returns a non-zero id for cancel. */
    uint64_t (*timer)(void *ctx, int64_t delay_ms, loop_fn fn, void *ud);
    /* cancel: forget a timer that has not run (unknown or already-run ids are ignored). */
    void (*cancel)(void *ctx, uint64_t id);
    /* rand: 64 random bits; seeded in the simulator so that jitter replays exactly. */
    uint64_t (*rand)(void *ctx);
} loop_port;

/* ---- kube: the Kubernetes API ---------------------------------------------------------------- */
typedef enum kube_kind { KUBE_POD = 0, KUBE_CRONJOB, KUBE_JOB, KUBE_LEASE, KUBE_EVENT, KUBE__KINDS } kube_kind;

/* kube_kind_name: "pods", "cronjobs", ... (the REST resource name); kube_kind_kind: "Pod", "CronJob". */
const char *kube_kind_name(kube_kind k);
const char *kube_kind_kind(kube_kind k);

typedef enum kube_propagation { KUBE_PROP_DEFAULT = 0, KUBE_PROP_BACKGROUND, KUBE_PROP_FOREGROUND, KUBE_PROP_ORPHAN } kube_propagation;
typedef struct kube_delete_opts {
    kube_propagation propagation;
    int64_t grace_seconds; /* -1 = the object's own default */
    const char *precondition_uid; /* optional: delete only this incarnation */
} kube_delete_opts;

typedef enum kube_watch_type { KUBE_WATCH_ADDED, KUBE_WATCH_MODIFIED, KUBE_WATCH_DELETED, KUBE_WATCH_GONE, KUBE_WATCH_CLOSED } kube_watch_type;
/* A watch callback. OBJ is borrowed for the duration of the call (NULL for GONE/CLOSED). GONE means the
 * resourceVersion was too old (410): re-list and watch again. CLOSED means the stream ended: re-watch. */
typedef void (*kube_watch_fn)(void *ud, kube_watch_type type, const cJSON *obj);
typedef struct kube_watch kube_watch;

/* Every call: T0_OK, or one of the statuses of core/t0.h with err naming verb, kind, namespace and name:
 * T0_ENOTFOUND 404, T0_EEXIST 409 AlreadyExists, T0_ECONFLICT 409 Conflict, T0_EINVALID 422,
 * T0_ETOOMANY 429 (err->retry_after_ms), T0_EINTERNAL 5xx, T0_ETIMEOUT, T0_EUNAVAILABLE, T0_EGONE 410.
 * Objects are cJSON; *out results are owned by the caller (cJSON_Delete). out may be NULL.
 * An in-process server may lend instead of copying (kfake_opts.lend_objects): *out and list items are
 * then read-only references into its store, valid until the next call on the port (cJSON_Delete still
 * releases them). So a caller reads what it gets, copies what it keeps or changes, and releases it
 * before its next call. */
typedef struct kube_port {
    void *ctx;
    t0_status (*create)(void *ctx, kube_kind k, const char *ns, const cJSON *obj, cJSON **out, t0_err *err);
    t0_status (*get)(void *ctx, kube_kind k, const char *ns, const char *name, cJSON **out, t0_err *err);
    /* list: a List object {"metadata":{"resourceVersion":...},"items":[...]}; SELECTOR may be NULL. */
    t0_status (*list)(void *ctx, kube_kind k, const char *ns, const char *selector, cJSON **out, t0_err *err);
    /* update: PUT; OBJ carries metadata.resourceVersion (T0_ECONFLICT when stale). */
    t0_status (*update)(void *ctx, kube_kind k, const char *ns, const cJSON *obj, cJSON **out, t0_err *err);
    /* update_status: PUT .../status (the kubelet and Job controllers use it). */
    t0_status (*update_status)(void *ctx, kube_kind k, const char *ns, const cJSON *obj, cJSON **out, t0_err *err);
    t0_status (*remove)(void *ctx, kube_kind k, const char *ns, const char *name, const kube_delete_opts *opts, t0_err *err);
    /* watch: events after resourceVersion FROM_RV ("" or NULL = from now) for objects matching
     * SELECTOR, delivered on the loop until unwatch. */
    t0_status (*watch)(void *ctx, kube_kind k, const char *ns, const char *selector, const char *from_rv,
                       kube_watch_fn fn, void *ud, kube_watch **out, t0_err *err);
    void (*unwatch)(void *ctx, kube_watch *w);
} kube_port;

/* ---- store: the desired state (MongoDB bot_runner.bots, bot_scheduler.bot_schedules) ------------ */
typedef enum store_coll { STORE_BOTS = 0, STORE_SCHEDULES } store_coll;
const char *store_coll_name(store_coll c); /* "bot_runner.bots" / "bot_scheduler.bot_schedules" */

/* Documents are JSON objects matched by their string field "id" (not _id). */
typedef struct store_port {
    void *ctx;
    /* find_enabled: every document matching the reference filter
     * {$or:[{"config.enabled":{$ne:false}},{"config.enabled":{$exists:false}}]}, as a JSON array (owned).
     * A document that cannot be decoded is still returned (as far as it goes): validating it is the
     * controller's job, so one bad document affects only its own bot. The array's items may be cJSON
     * references to the store's own documents (the in-process fake does this to avoid a copy per
     * document): treat them as read-only and delete the array before making another call on the port.
     * REVS may be NULL. Otherwise *revs is an owned array (free()) of one revision per document, in the
     * array's order: a value that differs whenever the document's content differs (a version counter or
     * a content digest), or NULL when the store cannot tell. The controller compares revisions to skip
     * unchanged documents without walking their content. */
    t0_status (*find_enabled)(void *ctx, store_coll c, cJSON **out, uint64_t **revs, t0_err *err);
    /* get: the document with this id, enabled or not; T0_ENOTFOUND when there is none. */
    t0_status (*get)(void *ctx, store_coll c, const char *id, cJSON **out, t0_err *err);
    /* upsert: $set each top-level field of FIELDS on the document with this id (insert when absent). */
    t0_status (*upsert)(void *ctx, store_coll c, const char *id, const cJSON *fields, t0_err *err);
    /* remove: delete the document with this id; T0_ENOTFOUND when there was none. */
    t0_status (*remove)(void *ctx, store_coll c, const char *id, t0_err *err);
} store_port;

/* ---- bus: NATS ------------------------------------------------------------------------------- */
/* A message handler. Its status is the acknowledgement on durable subscriptions: T0_OK acks; a
 * retryable status (t0_status_retryable) asks for redelivery; any other status acks and drops the
 * message as bad input (the handler has logged why). DATA is borrowed and not NUL-terminated. */
typedef t0_status (*bus_msg_fn)(void *ud, const char *subject, const char *data, size_t len);
typedef struct bus_sub bus_sub;

typedef struct bus_port {
    void *ctx;
    /* subscribe: core subscription with queue group QUEUE (NULL = none); SUBJECT may use * and >. */
    t0_status (*subscribe)(void *ctx, const char *subject, const char *queue, bus_msg_fn fn, void *ud, bus_sub **out,
                           t0_err *err);
    /* subscribe_durable: a durable consumer on STREAM (JetStream-like): messages published while nobody
     * listened are delivered when it starts; a message is redelivered until acked. May be NULL when the
     * bus has no streams (then callers fall back to subscribe). */
    t0_status (*subscribe_durable)(void *ctx, const char *stream, const char *subject, const char *durable,
                                   bus_msg_fn fn, void *ud, bus_sub **out, t0_err *err);
    void (*unsubscribe)(void *ctx, bus_sub *s);
    t0_status (*publish)(void *ctx, const char *subject, const char *data, size_t len, t0_err *err);
} bus_port;

#endif
