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
    /* mono_ms: a monotonic clock in ms for intervals and deadlines, which a step of the wall clock (NTP, an
     * operator) does not move; NULL: now_ms (the simulator's virtual time never steps). now_ms is for times
     * written down or compared with other machines' (renewTime, Events, timestamps of objects). */
    int64_t (*mono_ms)(void *ctx);
} loop_port;

/* loop_mono_ms: L's monotonic clock (ms): mono_ms, or now_ms when the loop has none. */
static inline int64_t loop_mono_ms(const loop_port *l) { return l->mono_ms ? l->mono_ms(l->ctx) : l->now_ms(l->ctx); }

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

typedef enum kube_watch_type {
    KUBE_WATCH_ADDED,
    KUBE_WATCH_MODIFIED,
    KUBE_WATCH_DELETED,
    KUBE_WATCH_GONE,
    KUBE_WATCH_CLOSED,
    KUBE_WATCH_BOOKMARK
} kube_watch_type;
/* A watch callback. OBJ is borrowed for the duration of the call (NULL for GONE/CLOSED). GONE means the
 * resourceVersion was too old (410): re-list and watch again. CLOSED means the stream ended: re-watch.
 * BOOKMARK (the API server's progress note, sent only where asked for: kube_rest asks on every watch,
 * allowWatchBookmarks; the fake when kfake_watch_bookmarks is set): OBJ holds only kind and
 * metadata.resourceVersion, and every change of the watched objects up to that version has been delivered,
 * so a watch may resume from it. A consumer that does not resume watches ignores it. */
typedef void (*kube_watch_fn)(void *ud, kube_watch_type type, const cJSON *obj);
typedef struct kube_watch kube_watch;

/* A list in pages (the API server's limit and continue): at most LIMIT items (0: all) from CONT, the
 * metadata.continue of the page before (NULL or "": the first page). A page's List carries
 * metadata.continue when more follow (absent or "" on the last one). The pages are one consistent snapshot,
 * taken at the first page's resourceVersion, which every page carries. A token the server no longer holds
 * (etcd compacted that revision; tokens live about 5 minutes) fails with T0_EGONE (410 Expired): list again
 * from the first page. A page may hold fewer than LIMIT items and still name a next one. */
typedef struct kube_list_page {
    size_t limit;
    const char *cont;
} kube_list_page;

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
    /* list: a List object {"metadata":{"resourceVersion":...},"items":[...]}; SELECTOR may be NULL; PAGE
     * may be NULL (every item in one answer; see kube_list_page). */
    t0_status (*list)(void *ctx, kube_kind k, const char *ns, const char *selector, const kube_list_page *page,
                      cJSON **out, t0_err *err);
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
typedef enum store_coll {
    STORE_BOTS = 0,
    STORE_SCHEDULES,
    /* the intake's delete tombstones (docs/intake.md): bot_runner.bots_deleted and
     * bot_scheduler.bot_schedules_deleted, documents {id, the0_version, deleted_at, expires_at}. They are
     * kept apart from the collections the reference's enabled filter reads. */
    STORE_BOTS_DELETED,
    STORE_SCHEDULES_DELETED,
    STORE__COLLS
} store_coll;
const char *store_coll_name(store_coll c); /* "bot_runner.bots" / "bot_scheduler.bot_schedules" / ... */
/* store_tombstones: the tombstone collection of desired-state collection C. */
static inline store_coll store_tombstones(store_coll c) { return c == STORE_BOTS ? STORE_BOTS_DELETED : STORE_SCHEDULES_DELETED; }

/* The field holding a document's version (domain/docver.h): written by the intake, read back as it is. */
#define STORE_VERSION_FIELD "the0_version"
/* Tombstones: when they may be removed (a number: milliseconds since the Unix epoch). */
#define STORE_EXPIRES_FIELD "expires_at"
/* The member a store adds to a document it could not decode completely (invalid UTF-8, a NUL inside a
 * string, nesting deeper than its decoder goes): a string saying why. A key starting with '$' is never a
 * stored field. The controller reports such a document invalid (never acts on what did decode). */
#define STORE_UNDECODABLE "$the0_undecodable"

/* A conditional write of the documents of one id (the intake's versioned writes, docs/intake.md). Each is
 * one atomic operation of the server: no transaction is needed (MongoDB-wire servers here have none).
 * "Older than V" (V a version in the text form of domain/docver.h, which sorts as it compares) matches a
 * document whose STORE_VERSION_FIELD is absent, is not a well-formed version, or is a string below V. */
typedef enum store_wop {
    /* $set each top-level field of FIELDS on the first document with ID older than OLDER_THAN (NULL: on
     * the first with ID); T0_ECONFLICT when none matches (absent, or not older). */
    STORE_W_SET,
    /* insert {id: ID, FIELDS...} unless a document with ID exists (T0_EEXIST): an upsert whose update
     * is only $setOnInsert, so an existing document is never changed. */
    STORE_W_INSERT,
    /* remove every document with ID older than OLDER_THAN (NULL: every one); T0_ECONFLICT when none. */
    STORE_W_REMOVE,
    /* remove every document of COLL whose STORE_EXPIRES_FIELD is a number <= BEFORE_MS (none is fine). */
    STORE_W_EXPIRE,
} store_wop;

typedef struct store_write {
    store_wop op;
    store_coll coll;
    const char *id;         /* SET, INSERT, REMOVE */
    const cJSON *fields;    /* SET, INSERT */
    const char *older_than; /* SET, REMOVE: the version condition (above), or NULL */
    int64_t before_ms;      /* EXPIRE */
} store_write;

/* Documents are JSON objects matched by their string field "id" (not _id). No unique index is assumed
 * (CongoDB enforces none): two documents may carry one id, which get reports. */
typedef struct store_port {
    void *ctx;
    /* find_enabled: every document matching the reference filter
     * {$or:[{"config.enabled":{$ne:false}},{"config.enabled":{$exists:false}}]}, as a JSON array (owned).
     * A document that cannot be decoded is still returned as far as it goes, marked STORE_UNDECODABLE:
     * validating it is the controller's job, so one bad document affects only its own bot. The array's
     * items may be cJSON references to the store's own documents (the in-process fake does this to avoid
     * a copy per document): treat them as read-only and delete the array before making another call on
     * the port. REVS may be NULL. Otherwise *revs is an owned array (free()) of one revision per
     * document, in the array's order: a value that differs whenever the document's content differs (a
     * version counter or a content digest), or NULL when the store cannot tell. The controller compares
     * revisions to skip unchanged documents without walking their content. */
    t0_status (*find_enabled)(void *ctx, store_coll c, cJSON **out, uint64_t **revs, t0_err *err);
    /* get: the document with this id, enabled or not; T0_ENOTFOUND when there is none; T0_EEXIST (and
     * no document) when more than one has this id. */
    t0_status (*get)(void *ctx, store_coll c, const char *id, cJSON **out, t0_err *err);
    /* upsert: $set each top-level field of FIELDS on the document with this id (insert when absent). */
    t0_status (*upsert)(void *ctx, store_coll c, const char *id, const cJSON *fields, t0_err *err);
    /* remove: delete the document with this id; T0_ENOTFOUND when there was none. */
    t0_status (*remove)(void *ctx, store_coll c, const char *id, t0_err *err);
    /* write: one conditional write (store_wop). */
    t0_status (*write)(void *ctx, const store_write *w, t0_err *err);
} store_port;

/* ---- bus: NATS ------------------------------------------------------------------------------- */
#define BUS_STREAM "THE0_EVENTS"
/* A message that failed retryably on its last allowed delivery is published again on BUS_DEADLETTER_PREFIX
 * + its subject (stream BUS_DEADLETTER_STREAM keeps it) with why, where it came from and how often it was
 * delivered, then terminated. */
#define BUS_DEADLETTER_STREAM "THE0_DEADLETTER"
#define BUS_DEADLETTER_PREFIX "the0.deadletter."
/* The server-side MaxDeliver of a durable consumer is max_deliver + BUS_MAXDELIVER_SLACK: a message whose
 * dead-letter publish failed is delivered (and dead-lettered) again rather than dropped. */
#define BUS_MAXDELIVER_SLACK 2

/* One delivered message; everything is borrowed for the duration of the handler. */
typedef struct bus_msg {
    const char *subject;
    const char *data; /* LEN bytes, not NUL-terminated */
    size_t len;
    /* durable subscriptions only (0 otherwise): */
    uint64_t stream_seq;   /* the message's sequence in its stream */
    uint64_t stream_epoch; /* the stream's incarnation: its creation time in microseconds (sequences
                              restart when a stream is deleted and created again) */
    unsigned delivered;    /* deliveries of this message to this consumer, this one included (1: first) */
    unsigned max_deliver;  /* bus_durable.max_deliver (0: unbounded) */
} bus_msg;

/* A message handler. Its status settles the message on durable subscriptions:
 * - T0_OK: ack.
 * - a retryable status (t0_status_retryable): nak, redelivered after bus_durable.backoff_ms; on the last
 *   allowed delivery (delivered >= max_deliver) dead-lettered instead (BUS_DEADLETTER_PREFIX) and
 *   terminated;
 * - any other status: bad input: terminated, never redelivered (the handler has logged why).
 * The handler says why in ERR (never NULL; the dead letter carries it). */
typedef t0_status (*bus_msg_fn)(void *ud, const bus_msg *msg, t0_err *err);
typedef struct bus_sub bus_sub;

/* A durable consumer's settings (JetStream: durable name, filter subject, MaxDeliver; the backoff is
 * applied with each nak's delay). */
typedef struct bus_durable {
    const char *stream, *subject, *durable;
    unsigned max_deliver;      /* 0: unbounded */
    const int64_t *backoff_ms; /* after a retryable failure of delivery n, redeliver after
                                  backoff_ms[min(n, nbackoff) - 1]; NULL: after the bus's ack-wait */
    size_t nbackoff;
} bus_durable;

typedef struct bus_port {
    void *ctx;
    /* subscribe: core subscription with queue group QUEUE (NULL = none); SUBJECT may use * and >. */
    t0_status (*subscribe)(void *ctx, const char *subject, const char *queue, bus_msg_fn fn, void *ud, bus_sub **out,
                           t0_err *err);
    /* subscribe_durable: a durable consumer on D->stream (JetStream-like): messages published while nobody
     * listened are delivered when it starts; a message is redelivered until acked, terminated or
     * dead-lettered. May be NULL when the bus has no streams (then callers fall back to subscribe). */
    t0_status (*subscribe_durable)(void *ctx, const bus_durable *d, bus_msg_fn fn, void *ud, bus_sub **out,
                                   t0_err *err);
    void (*unsubscribe)(void *ctx, bus_sub *s);
    t0_status (*publish)(void *ctx, const char *subject, const char *data, size_t len, t0_err *err);
} bus_port;

#endif
