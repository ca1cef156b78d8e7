/* ctl_int.h: the controller runtime's internals, shared by its files and the two reconcilers; private to
 * controllers/ (the contract for other modules is manager.h, and manager_seam.h for the simulator).
 *
 * The runtime knows no kind. A reconciler (bot_reconciler.c, schedule_reconciler.c) is a ctl_kind_def:
 * its FSM table, how it summarizes an observed object, how it classifies (desired, observed) into one
 * table event, how it generates the desired object, and one executor per table effect. The runtime keeps
 * an informer cache of the kind's objects (informer.c), reads desired state behind one function
 * (desired.c), steps the table and runs the effects it returns (reconcile.c), and leads, resyncs and
 * listens to NATS (manager.c, leader.c). */
#ifndef T0_CTL_INT_H
#define T0_CTL_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "controllers/manager_seam.h"
#include "controllers/workqueue.h"
#include "core/hmap.h"
#include "domain/botdoc.h"
#include "domain/hash.h"
#include "fsm/tables.h"

#define LBL_BOT_ID "the0.dev/bot-id"
#define LBL_SCHED_ID "the0.dev/schedule-id"
#define LBL_MANAGED_BY "the0.dev/managed-by"
#define CTL_NAME_MAX 320 /* an object name built from an id */

enum { PH_NONE, PH_PENDING, PH_RUNNING, PH_SUCCEEDED, PH_FAILED, PH_UNKNOWN };

/* A config or spec hash (16 lowercase hex digits, domain/hash.h) as 64 bits and a form: absent, a hash,
 * or something else (an annotation edited by hand: it equals no generated hash). ctl_hash_in reads the
 * first HASH_HEX_LEN characters of S (as the strings did before: longer values were cut there). */
enum { CH_NONE = 0, CH_HEX, CH_OTHER };
uint8_t ctl_hash_in(const char *s, uint64_t *v);
/* ctl_hash_eq: the forms and values are equal (CH_OTHER equals nothing; the desired side never has it) */
static inline bool ctl_hash_eq(uint8_t fa, uint64_t a, uint8_t fb, uint64_t b)
{
    return fa == fb && fa != CH_OTHER && (fa == CH_NONE || a == b);
}

/* What only some cached objects need, allocated for those: a CronJob's schedule fields, and a
 * resourceVersion or uid that the compact forms of obj_sum cannot hold (never for the API servers here). */
typedef struct obj_ext {
    char *rv;            /* resourceVersion (RV_EXT; at most 23 bytes, as the field it replaces) */
    char *uid;           /* metadata.uid (UID_EXT; at most 39 bytes) */
    int active;          /* cronjobs: status.active length */
    int64_t created_ms, last_schedule_ms, last_success_ms, deadline_s;
    char *schedule;      /* cronjobs: spec.schedule */
} obj_ext;

enum { RV_DEC = 0, RV_EMPTY, RV_EXT };    /* obj_sum.rv_form: the decimal form of rv, "", ext->rv */
enum { UID_EMPTY = 0, UID_UUID, UID_EXT }; /* obj_sum.uid_form: "", the lowercase UUID in uid, ext->uid */

/* A compact summary of one observed Pod or CronJob: what classification needs, nothing more. It lives
 * inside its entry of ctl_kind.objs (hmap_put_inline), and its strings are interned: the name is that
 * entry's key, the id the key of its record's entry in ctl_kind.recs (a record with objects is never
 * freed). Read the resourceVersion and uid with ctl_obj_rv and ctl_obj_uid. */
typedef struct obj_sum {
    const char *name;
    const char *id;          /* the bot-id / schedule-id label */
    uint64_t rv;
    uint64_t cfg_hash, spec_hash; /* forms in cfg_form, spec_form (ctl_hash_in) */
    obj_ext *ext;            /* NULL for a pod with a decimal resourceVersion and a UUID */
    uint8_t uid[16];         /* metadata.uid: the incarnation Events name (UID_UUID) */
    uint32_t list_gen;       /* the re-list that last listed it */
    uint16_t init_restarts, bot_restarts;
    uint8_t rv_form : 2, uid_form : 2, cfg_form : 2, spec_form : 2;
    uint8_t phase : 3;       /* pods: PH_* */
    bool terminating : 1, init_failing : 1, crashloop : 1, bot_running : 1, evicted : 1;
} obj_sum;

/* ctl_obj_rv, ctl_obj_uid: O's resourceVersion and uid as strings (in BUF, or O's own), "" when none */
const char *ctl_obj_rv(const obj_sum *o, char buf[24]);
const char *ctl_obj_uid(const obj_sum *o, char buf[40]);
/* ctl_obj_ext: O's extension, allocated on first use (NULL when out of memory) */
obj_ext *ctl_obj_ext(obj_sum *o);

enum { FAIL_STORE = 1, FAIL_KUBE = 2 };

/* Per-key controller record; it lives inside its entry of ctl_kind.recs (hmap_put_inline), which is its
 * only allocation. */
typedef struct rec {
    uint64_t doc_fp;      /* fingerprint of the desired document last reconciled */
    uint64_t doc_rev;     /* the store's revision of a document a resync found to have fingerprint doc_fp
                             (0: none): the next resync skips a document with this revision unread */
    uint64_t want_fp;     /* want_* hold the hashes generated from the document with this fingerprint */
    uint64_t want_cfg, want_spec; /* generated hashes: always CH_HEX */
    int64_t want_until;
    int64_t create_deadline_ms;
    obj_sum *obj;         /* primary observed object, or NULL */
    cJSON *batch_doc;     /* owned copy of the document the resync that enqueued this key read, for the
                             reconcile to use instead of reading it again (the Go controller reconciles
                             from its list the same way); dropped by a NATS message; NULL otherwise */
    int64_t batch_at_ms;  /* when the resync read it */
    int64_t runs_checked_ms; /* schedules: runs whose pods finished before this were looked at (check_run_sync) */
    uint32_t seen_gen;    /* the resync generation whose desired read last listed this key */
    uint16_t nobjs;       /* observed objects carrying this id (more than 65,535 with one id label: not a
                             cluster this controller is made for) */
    uint8_t state;
    uint8_t fail_src : 2; /* the dependency the key's last failure came from (FAIL_STORE, FAIL_KUBE) or 0 */
    bool create_in_flight : 1;
    bool initial_pending : 1; /* part of the first full reconcile, not yet reconciled */
    bool want_valid : 1;  /* want_* are set (from the document with fingerprint want_fp) */
    bool want_fresh : 1;  /* ... and that document is still the stored one: no NATS message, resync
                             mismatch or failed read since, and want_until not passed. Reconciles that
                             only follow the cluster (watch events) then skip the store read. */
    bool missing : 1;     /* a desired read that did not list it found it with objects (each such read sets
                             it to that), and no read of its own found the document since: ctl_rec_missing */
} rec;

/* The desired state of one key, as desired_read found it. */
typedef enum { D_ERROR, D_ABSENT, D_INVALID, D_VALID } dkind;
typedef struct desired {
    dkind kind;
    bool keep_existing; /* D_INVALID in a way that leaves the existing object alone (a schedule's bad cron) */
    bool disabled; /* D_ABSENT: the document was read and says config.enabled false (not: not found) */
    cJSON *obj; /* D_VALID: the generated object (or a read-only reference lent by the memo), or NULL until
                   an effect needs it (desired_object); never modified */
    cJSON *doc; /* D_VALID without obj: the document, to generate obj from */
    uint64_t cfg_hash, spec_hash; /* D_VALID: the generated object's hashes (always CH_HEX) */
    uint64_t fp;
    t0_err err;
} desired;

/* The deletion guards' verdict for one reconcile, computed by the runtime and handed to classify, which
 * puts it into the table's guard input: the tables decide what a hold means (DESIGN §3). */
typedef struct ctl_gate {
    bool held;        /* the last desired-state list failed or collapsed, and (for a missing document) the
                         bot's own read cannot decide: no deletion of a live object now */
    bool cap_reached; /* this resync cycle issued max_deletes_per_cycle deletions already */
} ctl_gate;

/* One reconcile of one key: what the table was stepped with and what its effects see. */
typedef union ctl_input {
    bot_fsm_input bot;
    sched_fsm_input sched;
} ctl_input;

typedef struct ctl_step {
    const char *id;
    rec *r;            /* re-fetched after effects that may free or re-create it */
    desired *d;
    ctl_input in;
    fsm_result res;
    t0_err err;        /* why the failing effect failed */
    uint8_t fail_src;  /* FAIL_STORE / FAIL_KUBE of that failure */
    int64_t retry_after_ms; /* a 429's Retry-After (0: none): the backoff executor waits exactly that */
    bool deferred;     /* a hold or deferral executed: this reconcile did not act on the document */
    bool conflict;     /* the failing effect was an update answered 409 Conflict */
    bool failed;       /* the reconcile ended in a failure (controller_runtime_reconcile_total result "error") */
    uint8_t requeue;   /* CTL_REQUEUE_NOW / CTL_REQUEUE_AFTER: an executor queued the key again */
    bool not_ours;     /* the failing effect was a create whose name is held by an object not ours */
    uint64_t term;     /* the leadership term the reconcile was decided in: effects run only under it */
} ctl_step;

enum { CTL_REQUEUE_NONE = 0, CTL_REQUEUE_NOW, CTL_REQUEUE_AFTER };

typedef struct ctl_kind ctl_kind;

/* An effect's executor: T0_OK, or a failure (s->err says why) that becomes the next step's event. */
typedef t0_status (*ctl_executor)(ctl_kind *c, ctl_step *s);

/* A reconciler: everything the runtime needs to know about one kind. */
typedef struct ctl_kind_def {
    const char *name;      /* "bot-controller" */
    const char *noun;      /* "bot" / "schedule", in log lines */
    const char *component; /* the source.component of its Events */
    const fsm_table *table;
    kube_kind kind;
    store_coll coll;
    const char *id_label;
    const char *hash_annotation; /* the annotation carrying the config hash */
    int ev_api_error;            /* the table's event for a failed effect */
    int ev_conflict;             /* ... for a 409 Conflict on update (-1: none) */
    const ctl_executor *executors; /* [table->neffects]: exactly one per effect, [0] NULL */
    /* managed_by: the managed-by label value of this kind's objects */
    const char *(*managed_by)(const podgen_settings *s);
    void (*object_name)(const char *id, char out[CTL_NAME_MAX]);
    void (*summarize)(obj_sum *o, const cJSON *obj);
    /* classify: the table event for R given D, with the guard input in IN */
    int (*classify)(ctl_kind *c, rec *r, const desired *d, const ctl_gate *g, ctl_input *in);
    t0_status (*generate)(const podgen_settings *s, const botdoc *bd, cJSON **out, t0_err *err);
    /* needs_fresh: EVENT in STATE deletes or replaces a live object: decide it on a fresh GET of the
     * object, never on a cache that a stale list or a lost watch event left behind */
    bool (*needs_fresh)(int event, int state);
    bool (*steady)(int state); /* nothing to do while the document does not change */
    int ev_unwanted;           /* the table's "not desired, an object exists" event (the deletion gate) */
    int ev_stale;              /* ... "spec changed" event when it deletes to replace (-1: it updates) */
    int ev_invalid;            /* ... "spec invalid" event (a delete then removes the object of the old spec) */
    int ev_name_taken;         /* ... for a create whose name is held by an object that is not ours */
    /* keep_on_invalid: BD cannot be generated, but in a way that leaves an existing object running (may
     * be NULL: every invalid spec removes the object of the older spec) */
    bool (*keep_on_invalid)(const botdoc *bd);
} ctl_kind_def;

extern const ctl_kind_def bot_reconciler;
extern const ctl_kind_def schedule_reconciler;

/* The runtime's state for one kind. */
struct ctl_kind {
    ctl_manager *m;
    const ctl_kind_def *def;
    char selector[128];
    hmap recs; /* id -> rec* */
    hmap objs; /* object name -> obj_sum* */
    wq *q;
    kube_watch *watch;
    uint64_t last_rv;       /* where a watch resumes: the last list's or delivered event's resourceVersion */
    int64_t last_relist_ms; /* when the cache was last re-listed (0 = never) */
    uint64_t list_timer;    /* a failed list is retried with backoff, not only at the next resync */
    int64_t list_backoff_ms;
    bool gate_open;       /* deletions allowed: the last desired read succeeded and was not suspicious */
    bool gate_suspicious; /* the last successful read collapsed (until a successful read that did not) */
    int64_t suspect_ms;   /* when the read that found the collapse was made: only a read a resync period
                             later confirms it */
    long last_count;      /* documents in the last successful desired read (-1 = none yet in this term, or
                             forgotten: ctl_gate_forget) */
    uint32_t gen;         /* resync generation: stamps the keys each desired read lists */
    uint32_t list_gen;    /* re-list generation: stamps the cached objects each re-list lists */
    size_t gen_stamped;   /* records whose seen_gen is gen, and ... */
    size_t list_stamped;  /* ... cached objects whose list_gen is list_gen: when every one is stamped, the
                             passes looking for the unstamped ones are skipped (the steady state) */
    long observed_ids;    /* keys with at least one cached object (the collapse guard compares reads with it) */
    bool synced;          /* a list succeeded since this manager started: the cache may be trusted (client-go's
                             WaitForCacheSync): until then no reconcile acts, it only waits */
    unsigned initial_left;
    bool first_done;
    uint64_t results[CTL__RESULTS]; /* controller_runtime_reconcile_total by result */
    prom_hist reconcile_time;       /* controller_runtime_reconcile_time_seconds */
};

struct ctl_manager {
    ctl_settings s;
    ctl_ports p; /* p.store is &store_watch, which forwards to store_real (store_watch.c) */
    ctl_hooks h;
    ctl_kind bots, scheds;
    bool started, crashed, leader, ready, released;
    uint64_t lease_timer, resync_timer, bus_timer, sweep_timer;
    uint64_t recovered_timer; /* reads while MongoDB does not answer, and at once when it does (store_watch.c) */
    int64_t store_failed_for_ms; /* how long the store's last failure period lasted (store_watch.c) */
    store_port store_real, store_watch;
    int64_t store_failing_since; /* when the store's calls started failing without an answer since (0: they
                                    do not) */
    int64_t lease_valid_until; /* last successful renewal + renew deadline (ctl_mono_ms): acting stops then */
    char lease_seen[200];      /* the Lease's record (holder, acquire and renew times) as last read */
    int64_t lease_seen_at;     /* when (ctl_mono_ms) this manager first read that record */
    uint64_t term;             /* incremented each time this manager starts leading */
    int deletes_this_cycle;
    bus_sub *subs[2];
    ctl_stats st;
    uint64_t event_seq;
    hmap ev_agg;  /* recorder.c: Events written, by what they say (aggregation of repeats) */
    hmap ev_spam; /* recorder.c: per-object token buckets */
    ctl_memo *memo; /* h.memo when its pod settings are ours (memo_of) */
    bool memo_checked;
    _Atomic int64_t beat_ns; /* the last sign of progress (a reconcile finished, a lease or resync tick) */
};

/* ---- shared helpers (manager.c) ---- */
int64_t ctl_now(const ctl_manager *m);
/* ctl_mono_ms: the loop's monotonic clock (ms): every interval and deadline of the manager is measured on it,
 * so that a skewed or stepped wall clock (ctl_now) changes no decision; ctl_now only stamps what is written
 * (renewTime, Events) and is compared with times other machines wrote (object timestamps). */
int64_t ctl_mono_ms(const ctl_manager *m);
/* ctl_clock_ns: the ports' monotonic clock for durations (the loop's clock when there is none) */
int64_t ctl_clock_ns(const ctl_manager *m);
/* ctl_beat: record a sign of progress for liveness (ctl_manager_live) */
void ctl_beat(ctl_manager *m);
void ctl_fmt_time(int64_t ms, char *buf, size_t cap, bool micro);
int64_t ctl_parse_time(const char *s);
bool ctl_acting_allowed(ctl_manager *m);

/* ---- records and the informer cache (informer.c) ---- */
rec *ctl_rec_get(ctl_kind *c, const char *id, bool create);
/* ctl_rec_missing: whether the last desired read (generation c->gen) did not list R while R had objects, and
 * no read of R's own found its document since. A flag and seen_gen say it (a generation of its own would grow
 * every record by 8 bytes): the flag is set at each read that does not list R, and within a generation
 * seen_gen changes only in that read's listing, which comes first. */
static inline bool ctl_rec_missing(const ctl_kind *c, const rec *r)
{
    return r->missing && c->gen && r->seen_gen != c->gen;
}
void ctl_rec_maybe_free(ctl_kind *c, const char *id, rec *r);
/* ctl_rec_stamp: R was listed by the desired read of generation c->gen */
void ctl_rec_stamp(ctl_kind *c, rec *r);
void ctl_obj_free(obj_sum *o);
/* ctl_obj_set_ids: O's resourceVersion RV and uid UID (strings as the object has them; NULL: none), as the
 * cache keeps them; free O's extension with ctl_obj_free when O is not in the cache */
void ctl_obj_set_ids(obj_sum *o, const char *rv, const char *uid);
/* ctl_cache_apply: insert/replace (ADDED/MODIFIED) or remove (DELETED) one object; ignores objects older
 * than what the cache holds. Returns the id it concerns (in IDBUF) or NULL when it carries no id label. */
const char *ctl_cache_apply(ctl_kind *c, const cJSON *obj, bool deleted, char idbuf[256]);
/* ctl_refresh_obj: GET the key's primary object and update the cache from the answer: a 404, or an
 * object of that name that is not this key's (ctl_owned), drops it. T0_OK or T0_ENOTFOUND then; another
 * status (ERR says why) when the GET failed and the cache is as it was. */
t0_status ctl_refresh_obj(ctl_kind *c, const char *id, rec *r, t0_err *err);
/* ctl_owned: whether OBJ is ours (managed-by this kind's controller) and carries a non-empty id label;
 * the id is returned (borrowed from OBJ), else NULL. Objects that are not ours are never cached, updated
 * or deleted. */
const char *ctl_owned(const ctl_kind *c, const cJSON *obj);
/* ctl_relist: replace the cache with a fresh list (retried with backoff on failure). */
t0_status ctl_relist(ctl_kind *c);
void ctl_start_watch(ctl_kind *c);
/* ctl_standby_informers: a manager that does not lead lists and watches too (once, and again while a
 * watch is not open), so its caches are synced when it takes over: it is Ready as a standby */
void ctl_standby_informers(ctl_manager *m);

/* ---- desired state (desired.c) ---- */
uint64_t ctl_doc_fingerprint(const cJSON *doc);
/* ctl_desired_read: the key's desired state: the one place the store is read for a reconcile. */
void ctl_desired_read(ctl_kind *c, const char *id, rec *r, desired *d);
/* ctl_desired_object: generate D's object when the fast paths skipped it (T0_ECONFLICT when the
 * document changed since D was read). */
t0_status ctl_desired_object(ctl_kind *c, const char *id, desired *d);
void ctl_desired_free(desired *d);

/* ---- reconcile and the shared executors (reconcile.c) ---- */
void ctl_reconcile(void *ud, const char *id);
t0_status ctl_fx_create(ctl_kind *c, ctl_step *s);
t0_status ctl_fx_delete(ctl_kind *c, ctl_step *s);
t0_status ctl_fx_update(ctl_kind *c, ctl_step *s);
t0_status ctl_fx_reread(ctl_kind *c, ctl_step *s);
t0_status ctl_fx_requeue(ctl_kind *c, ctl_step *s);
t0_status ctl_fx_backoff(ctl_kind *c, ctl_step *s);
t0_status ctl_fx_forget(ctl_kind *c, ctl_step *s);
t0_status ctl_fx_hold_delete(ctl_kind *c, ctl_step *s);
t0_status ctl_fx_defer_delete(ctl_kind *c, ctl_step *s);
t0_status ctl_fx_requeue_slow(ctl_kind *c, ctl_step *s);
t0_status ctl_fx_report_conflict(ctl_kind *c, ctl_step *s);
bool ctl_needs_replace(const obj_sum *o, const desired *d);

/* ---- Events (recorder.c) ---- */
void ctl_recorder_init(ctl_manager *m);
void ctl_recorder_fini(ctl_manager *m);
/* ctl_emit_event: an Event about key ID's cached object (its uid and resourceVersion; only its name when
 * none is cached). ctl_emit_event_on: about object O (e.g. the one just deleted; NULL: the name only). */
void ctl_emit_event(ctl_kind *c, const char *id, const char *type, const char *reason, const char *msg);
/* ctl_emit_event_about: about another object of key ID (KIND OBJ_NAME; O its uid/resourceVersion, may be NULL),
 * e.g. one of a schedule's Job pods. */
void ctl_emit_event_about(ctl_kind *c, const char *id, kube_kind kind, const char *obj_name, const obj_sum *o,
                          const char *type, const char *reason, const char *msg);
void ctl_emit_event_on(ctl_kind *c, const char *id, const obj_sum *o, const char *type, const char *reason,
                       const char *msg);

/* ---- NATS (intake.c) ---- */
#define BUS_RETRY_MS 5000
/* ctl_intake_start: consume NATS (called when the manager starts leading); NATS unavailable: retried every
 * BUS_RETRY_MS. ctl_intake_stop: stop consuming (stops leading, destroy). */
void ctl_intake_start(ctl_manager *m);
void ctl_intake_stop(ctl_manager *m);

/* ---- the store's health (store_watch.c) ---- */
/* ctl_store_watch_init: make m->p.store the watching port over REAL (copied). */
void ctl_store_watch_init(ctl_manager *m, const store_port *real);

/* ---- leadership (leader.c) ---- */
void ctl_lease_tick(void *ud);
void ctl_lease_release(ctl_manager *m);
void ctl_start_leading(ctl_manager *m);
void ctl_stop_leading(ctl_manager *m, const char *why);

/* ---- manager.c ---- */
void ctl_finish_initial(ctl_kind *c, rec *r);
/* ctl_resync_kind: re-list when due, read the desired state and enqueue what changed (INITIAL: the first
 * full reconcile after becoming leader, which readiness waits for). */
void ctl_resync_kind(ctl_kind *c, bool initial);
/* ctl_gate_forget: the collapse guard forgets its reads (as a new incarnation has none): at the start of a
 * term (reads of an earlier term confirm nothing, the manager did not read in between) and when a suspicion
 * is older than two resync periods (manager.c gate_after_read) */
void ctl_gate_forget(ctl_kind *c);
/* ctl_list_trusted: the last successful desired read was made in this term and was not suspicious: the keys
 * it did not list (ctl_rec_missing) may be decided by their own reads while lists fail */
static inline bool ctl_list_trusted(const ctl_kind *c) { return c->last_count >= 0 && !c->gate_suspicious; }
void ctl_resync_tick(void *ud);

#endif
