/* kube_fake_impl.h: the fake API server's internals, shared by its files (kube_fake.c, kube_store.c,
 * kube_select.c, kube_watch.c, kube_lifecycle.c, kube_validate.c) and by nothing else: kube_fake.h is
 * the contract. */
#ifndef T0_FAKES_KUBE_FAKE_IMPL_H
#define T0_FAKES_KUBE_FAKE_IMPL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/json.h"
#include "core/str.h"
#include "fakes/kube_fake.h"
#include "core/hmap.h"

/* Kinds: the internal "kind" of an object, watch or call is a resource id (kfake_rid), described by
 * kf_res[kind]; the port's kube_kind values are the first of them. */
extern const kfake_res kf_res[KFAKE_NRES];

/* ---- objects and indexes ---------------------------------------------------------------------- */
struct kobj;
typedef struct ibucket {
    struct inode *head;
    size_t n;
} ibucket;
typedef struct inode {
    struct inode *prev, *next;
    struct kobj *o;
    ibucket *b;
} inode;

/* One stored state of an object. Shared (refs > 1) by the object, the watch events that carry it and
 * the stale-list snapshots that served it; immutable while shared. Derived versions share what did not
 * change with the version before instead of copying it: their unchanged top-level members are cJSON
 * references into older trees, which BASE keeps alive (directly or through its own base). A version's
 * metadata is always its own: the fake's in-place writes (resourceVersion, deletion stamps, finalizers,
 * owner references) touch only the metadata, through kf_meta_w(), which derives a new version first when
 * the current one is shared (copy on write of the metadata alone). */
typedef struct kver {
    int refs;
    cJSON *obj;         /* owned, except reference members (cJSON_IsReference) kept alive by base */
    struct kver *base;  /* a reference held while obj borrows from it, or NULL */
} kver;

/* A list as served: its resourceVersion and the versions of its items (references), for stale lists. */
typedef struct lsnap {
    uint64_t rv;
    size_t n;
    kver **v;
} lsnap;

/* A paginated list in progress (kube_list_page): the snapshot its first page was cut from, until its
 * last page is served, it is older than KF_CONTINUE_TTL_MS (etcd compacts the revision) or KF_PAGES_MAX
 * newer ones push it out. The continue token names it and the position. */
#define KF_CONTINUE_TTL_MS (5 * 60 * 1000)
#define KF_PAGES_MAX 64
typedef struct kpages {
    struct kpages *next_done; /* on kfake.pages_done */
    lsnap sn;
    uint64_t id;
    int64_t at_ms; /* when the first page was served (the loop's clock) */
    char *skey;    /* "<kind>|ns|selector": a token serves only the list it was issued for */
} kpages;

typedef struct kobj {
    int kind;
    char *key;  /* "ns/name" */
    char *ns, *name, *uid;
    kver *v;    /* the current stored version (shared with watch events and stale snapshots) */
    inode *nodes;
    size_t nnodes;
    bool pod_terminating; /* graceful pod deletion handed to the kubelet */
} kobj;

/* A change, shared by the history ring and watcher queues (refcounted). */
typedef struct wevent {
    int refs;
    kube_watch_type type;
    int kind;
    uint64_t rv;
    kver *v;           /* the object after the change (DELETED: its last state); a reference */
    kver *old;         /* MODIFIED: the version before the change when its labels may differ, or NULL */
    char *ns;
} wevent;

typedef struct qent {
    wevent *e; /* NULL for GONE/CLOSED */
    kube_watch_type type;
} qent;

struct kube_watch {
    kfake *k;
    int kind;
    char *ns; /* NULL = all */
    kfake_selector *sel;
    kube_watch_fn fn;
    void *ud;
    qent *q;
    size_t qhead, qlen, qcap;
    uint64_t timer;
    bool closed, dead, delivering, faults;
    bool head_delayed; /* the queue's head already waited out a latency fault: deliver it now */
    int64_t bookmark_ms;  /* kfake_watch_bookmarks: a BOOKMARK this often (0: none) */
    uint64_t bm_timer;
    struct kube_watch *next, *prev;
};

typedef struct port_ctx {
    kfake *k;
    bool faults;
    bool dry; /* dryRun=All: every check, nothing stored */
} port_ctx;

struct kfake {
    sim_loop *loop;
    sim_faults *faults;
    kfake_opts opts;
    uint64_t rv, uid_counter;
    hmap objs[KFAKE_NRES]; /* "ns/name" -> kobj */
    hmap by_uid;            /* uid -> kobj */
    hmap index;             /* "k|<kind>|key=value" / "o|<uid>" -> ibucket */
    wevent **hist[KFAKE_NRES];
    size_t hist_head[KFAKE_NRES], hist_len[KFAKE_NRES];
    uint64_t evicted_rv[KFAKE_NRES];
    kube_watch *watchers[KFAKE_NRES];
    hmap stale; /* "<kind>|ns|selector" -> lsnap: the list last served */
    hmap pages; /* "<id>" -> kpages: paginated lists in progress */
    kpages *pages_done; /* lists whose last page was served: their versions may be lent to the caller until
                           its next call (kfake_opts.lend_objects), so they are freed at the next list */
    uint64_t pages_seq;
    char **gc_queue;
    size_t gc_len, gc_cap;
    uint64_t gc_timer;
    port_ctx client, system, dry;
    cJSON *causes; /* the StatusCauses of the last validation (kfake_causes), or NULL */
    kfake_observer_fn observer;
    void *observer_ud;
};

/* ---- label selectors (kube_select.c) ---------------------------------------------------------- */
enum sel_op { SEL_EQ, SEL_NEQ, SEL_IN, SEL_NOTIN, SEL_EXISTS, SEL_NOTEXISTS };
typedef struct sel_req {
    enum sel_op op;
    char *key;
    char **vals;
    size_t nvals;
} sel_req;
struct kfake_selector {
    sel_req *reqs;
    size_t n;
};

/* The API server's syntax rules for label keys and values and DNS-1123 subdomains (at most MAX
 * characters); on failure MSG says why, in its words. */
bool kf_label_key_ok(const char *k, char *msg, size_t cap);
bool kf_label_value_ok(const char *v, char *msg, size_t cap);
bool kf_subdomain_ok(const char *s, size_t n, size_t max, char *msg, size_t cap);
/* kf_dns_label_ok: a DNS-1123 label (kube_validate.c) */
bool kf_dns_label_ok(const char *s);

/* ---- indexes (kube_select.c) ------------------------------------------------------------------ */
/* kf_index / kf_unindex: enter O under its labels and owner uids / take it out (before a change of
 * either, or its removal). kf_index fails only when out of memory. */
t0_status kf_index(kfake *k, kobj *o);
void kf_unindex(kfake *k, kobj *o);
/* kf_dependents: the objects with an owner reference to UID, as an owned array (*OUT; NULL when none);
 * kf_dependents_count: how many. */
size_t kf_dependents(kfake *k, const char *uid, kobj ***out);
size_t kf_dependents_count(kfake *k, const char *uid);
/* kf_candidates: the objects of KIND that may match SEL: the smallest bucket of its equality
 * requirements, or every object of the kind; an owned array (*OUT), unsorted. */
size_t kf_candidates(kfake *k, int kind, const kfake_selector *sel, kobj ***out);
/* kf_label_index_key: the index key of label KEY=VAL on objects of KIND into BUF. */
void kf_label_index_key(int kind, const char *key, const char *val, char *buf, size_t cap);

/* ---- stored versions (kube_store.c) ----------------------------------------------------------- */
kver *kf_kver_new(cJSON *obj);
void kf_kver_unref(kver *v);
static inline kver *kf_kver_ref(kver *v)
{
    v->refs++;
    return v;
}
/* kf_derive: the object of a version derived from V that changes only its metadata and/or the member
 * SKIP (NULL: none; left out here); *BASE gets the version its shared members live in. NULL when out
 * of memory. */
cJSON *kf_derive(kver *v, const char *skip, kver **base);
/* kf_meta_w: O's stored object, for a write of its metadata only (copy on write of the metadata when the
 * version is shared). NULL when out of memory. */
cJSON *kf_meta_w(kobj *o);
/* kf_hand_out: what a port call returns for a stored object: a lent reference or a copy. */
cJSON *kf_hand_out(const kfake *k, const cJSON *obj);
/* kf_stamp_rv: the next resourceVersion into OBJ's metadata; kf_bump_rv: the same on O's stored object. */
void kf_stamp_rv(kfake *k, cJSON *obj);
void kf_bump_rv(kfake *k, kobj *o);
/* kf_store_update: replace O's object by NOBJ (owned; its reference members point into BASE, or NULL),
 * bump its resourceVersion, reindex unless SAME_LABELS, emit MODIFIED. */
void kf_store_update(kfake *k, kobj *o, cJSON *nobj, kver *base, bool same_labels);
/* kf_store_insert: a new object of KIND NS/NAME with uid UID holding OBJ (owned, consumed whatever the
 * outcome): stored, indexed and announced (ADDED). NULL when out of memory (nothing stored). */
kobj *kf_store_insert(kfake *k, int kind, const char *ns, const char *name, const char *uid, cJSON *obj);
void kf_kobj_free(kobj *o);
kobj *kf_lookup(kfake *k, int kind, const char *ns, const char *name);

/* ---- watch (kube_watch.c) --------------------------------------------------------------------- */
/* kf_emit: record a change of O (already stored) and queue it for watchers. OLD (borrowed) is the
 * version before a MODIFIED change whose labels may differ; NULL: labels unchanged. */
void kf_emit(kfake *k, kube_watch_type type, kobj *o, kver *old);
/* kf_watch_open: register a watch of KIND (fn, ud, ns, selector as the port's watch) from resourceVersion
 * FROM (0: from now); GONE: it is told KUBE_WATCH_GONE first. */
t0_status kf_watch_open(kfake *k, int kind, const char *ns, const char *selector, uint64_t from, bool gone,
                        bool faults, kube_watch_fn fn, void *ud, kube_watch **out, t0_err *err);
/* kf_watch_close: the port's unwatch (deferred while W's callback runs); kf_watch_free: at once. */
void kf_watch_close(kube_watch *w);
void kf_watch_free(kube_watch *w);
void kf_wevent_unref(wevent *e);

/* ---- lifecycle (kube_lifecycle.c) ------------------------------------------------------------- */
/* kf_delete: delete O as the port's remove does (grace, propagation, finalizers); kf_remove_now: the
 * object leaves the store at once. kf_gc_enqueue: dependents of UID are collected on the next turn. */
t0_status kf_delete(kfake *k, kobj *o, kube_propagation prop, int64_t grace, t0_err *err);
void kf_remove_now(kfake *k, kobj *o);
void kf_gc_enqueue(kfake *k, const char *uid);
bool kf_has_finalizers(const kobj *o);

/* ---- validation and defaults (kube_validate.c) ------------------------------------------------ */
/* kf_validate: OBJ (named NAME) as the API server validates it on create (OLD NULL) or update; T0_EINVALID
 * (422) with every finding in the API server's words. kf_apply_defaults: its defaulting. */
t0_status kf_validate(kfake *k, int kind, const cJSON *obj, const char *name, const kobj *old, t0_err *err);
void kf_apply_defaults(int kind, cJSON *o);

/* ---- small helpers ---------------------------------------------------------------------------- */
/* kf_fail: ERR gets ST, HTTP and the message; returns ST. */
t0_status kf_fail(t0_err *err, t0_status st, int http, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* kf_del_member: delete O's first member NAME, if any (cJSON_DeleteItemFromObjectCaseSensitive, with the
 * lookup of t0_json_get: most deletes here are of members that are not there) */
static inline void kf_del_member(cJSON *o, const char *name)
{
    cJSON *c = t0_json_get(o, name);
    if (c) cJSON_Delete(cJSON_DetachItemViaPointer(o, c));
}

/* kf_obj_at: O's object member NAME (a string literal), made one when missing or not an object */
#define kf_obj_at(o, name) kf_obj_at_((o), "" name "")
static inline cJSON *kf_obj_at_(cJSON *o, const char *name)
{
    cJSON *c = t0_json_get(o, name);
    if (cJSON_IsObject(c)) return c;
    if (c) kf_del_member(o, name);
    return t0_json_add_static(o, name, cJSON_CreateObject());
}

/* kf_add_like: add ITEM (owned) to N under the key of member C of another object: pointed to when that
 * key is a literal (cJSON_StringIsConst), else copied. False (ITEM freed) when out of memory. */
static inline bool kf_add_like(cJSON *n, const cJSON *c, cJSON *item)
{
    if (!item) return false;
    if (c->type & cJSON_StringIsConst) return t0_json_add_static(n, c->string, item) != NULL;
    if (cJSON_AddItemToObject(n, c->string, item)) return true;
    cJSON_Delete(item);
    return false;
}

/* kf_share: a member standing for C without copying it: a reference to its object, array or string
 * content (which must outlive it: the version it lives in is kept as a base), a copy of any other scalar */
static inline cJSON *kf_share(const cJSON *c)
{
    if (cJSON_IsArray(c)) return cJSON_CreateArrayReference(c->child);
    if (cJSON_IsObject(c)) return cJSON_CreateObjectReference(c->child);
    if (cJSON_IsString(c)) return cJSON_CreateStringReference(c->valuestring);
    return cJSON_Duplicate(c, 0);
}

/* kf_set_str, kf_set_num: replace member NAME of O. NAME is a string literal (the member points at it:
 * no copy of the key in every stored version). */
#define kf_set_str(o, name, v) kf_set_str_((o), "" name "", (v))
#define kf_set_num(o, name, v) kf_set_num_((o), "" name "", (v))
static inline void kf_set_str_(cJSON *o, const char *name, const char *v)
{
    kf_del_member(o, name);
    t0_json_add_static(o, name, cJSON_CreateString(v));
}

static inline void kf_set_num_(cJSON *o, const char *name, double v)
{
    kf_del_member(o, name);
    t0_json_add_static(o, name, cJSON_CreateNumber(v));
}

static inline void kf_rv_str(uint64_t rv, char *b, size_t cap)
{
    char d[21];
    t0_u64_dec(d, rv);
    t0_strlcpy(b, d, cap);
}

static inline bool kf_kind_ok(int k) { return (unsigned)k < KFAKE_NRES; }

static inline t0_status kf_not_found(int kind, const char *name, t0_err *err)
{
    return kf_fail(err, T0_ENOTFOUND, 404, "%s \"%s\" not found", kf_res[kind].plural, name ? name : "");
}

#endif
