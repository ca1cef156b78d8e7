/* kube_fake.c: the in-process Kubernetes API server of the simulator (see kube_fake.h for the semantics). */
#include "fakes/kube_fake.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/cronexpr.h"
#include "domain/names.h"
#include "core/json.h"
#include "core/log.h"
#include "core/str.h"
#include "sim/map.h"

#define COMP "kube-fake"

static const char *const kind_singular[KUBE__KINDS] = {"pod", "cronjob", "job", "lease", "event"};
static const char *const kind_display[KUBE__KINDS] = {"Pod", "CronJob.batch", "Job.batch", "Lease.coordination.k8s.io",
                                                      "Event"};
static const char *const kind_api[KUBE__KINDS] = {"v1", "batch/v1", "batch/v1", "coordination.k8s.io/v1", "v1"};

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
 * owner references) touch only the metadata, through meta_w(), which derives a new version first when
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

typedef struct kobj {
    kube_kind kind;
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
    kube_kind kind;
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
    kube_kind kind;
    char *ns; /* NULL = all */
    kfake_selector *sel;
    kube_watch_fn fn;
    void *ud;
    qent *q;
    size_t qhead, qlen, qcap;
    uint64_t timer;
    bool closed, dead, delivering, faults;
    bool head_delayed; /* the queue's head already waited out a latency fault: deliver it now */
    struct kube_watch *next, *prev;
};

typedef struct port_ctx {
    kfake *k;
    bool faults;
} port_ctx;

struct kfake {
    sim_loop *loop;
    sim_faults *faults;
    kfake_opts opts;
    uint64_t rv, uid_counter;
    sim_map objs[KUBE__KINDS]; /* "ns/name" -> kobj */
    sim_map by_uid;            /* uid -> kobj */
    sim_map index;             /* "k|<kind>|key=value" / "o|<uid>" -> ibucket */
    wevent **hist[KUBE__KINDS];
    size_t hist_head[KUBE__KINDS], hist_len[KUBE__KINDS];
    uint64_t evicted_rv[KUBE__KINDS];
    kube_watch *watchers[KUBE__KINDS];
    sim_map stale; /* "<kind>|ns|selector" -> lsnap: the list last served */
    char **gc_queue;
    size_t gc_len, gc_cap;
    uint64_t gc_timer;
    port_ctx client, system;
    kfake_observer_fn observer;
    void *observer_ud;
};

/* ---- small helpers ---------------------------------------------------------------------------- */
const char *kfake_str(const cJSON *obj, const char *path) { return t0_json_str(obj, path); }

/* del_member: delete O's first member NAME, if any (cJSON_DeleteItemFromObjectCaseSensitive, with the
 * lookup of t0_json_get: most deletes here are of members that are not there) */
static void del_member(cJSON *o, const char *name)
{
    cJSON *c = t0_json_get(o, name);
    if (c) cJSON_Delete(cJSON_DetachItemViaPointer(o, c));
}

/* obj_at: O's object member NAME (a string literal), made one when missing or not an object */
#define obj_at(o, name) obj_at_((o), "" name "")
static cJSON *obj_at_(cJSON *o, const char *name)
{
    cJSON *c = t0_json_get(o, name);
    if (cJSON_IsObject(c)) return c;
    if (c) del_member(o, name);
    return t0_json_add_static(o, name, cJSON_CreateObject());
}

/* add_like: add ITEM (owned) to N under the key of member C of another object: pointed to when that key
 * is a literal (cJSON_StringIsConst), else copied. False (ITEM freed) when out of memory. */
static bool add_like(cJSON *n, const cJSON *c, cJSON *item)
{
    if (!item) return false;
    if (c->type & cJSON_StringIsConst) return t0_json_add_static(n, c->string, item) != NULL;
    if (cJSON_AddItemToObject(n, c->string, item)) return true;
    cJSON_Delete(item);
    return false;
}

/* share: a member standing for C without copying it: a reference to its object, array or string content
 * (which must outlive it: the version it lives in is kept as a base), a copy of any other scalar */
static cJSON *share(const cJSON *c)
{
    if (cJSON_IsArray(c)) return cJSON_CreateArrayReference(c->child);
    if (cJSON_IsObject(c)) return cJSON_CreateObjectReference(c->child);
    if (cJSON_IsString(c)) return cJSON_CreateStringReference(c->valuestring);
    return cJSON_Duplicate(c, 0);
}

/* set_str, set_num: replace member NAME of O. NAME is a string literal (the member points at it: no
 * copy of the key in every stored version). */
#define set_str(o, name, v) set_str_((o), "" name "", (v))
#define set_num(o, name, v) set_num_((o), "" name "", (v))
static void set_str_(cJSON *o, const char *name, const char *v)
{
    del_member(o, name);
    t0_json_add_static(o, name, cJSON_CreateString(v));
}

static void set_num_(cJSON *o, const char *name, double v)
{
    del_member(o, name);
    t0_json_add_static(o, name, cJSON_CreateNumber(v));
}

static t0_status http_fail(t0_err *err, t0_status st, int http, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static t0_status http_fail(t0_err *err, t0_status st, int http, const char *fmt, ...)
{
    if (!err) return st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->code = st;
    err->http_status = http;
    err->retry_after_ms = 0;
    return st;
}

static void rv_str(uint64_t rv, char *b, size_t cap)
{
    char d[21];
    t0_u64_dec(d, rv);
    t0_strlcpy(b, d, cap);
}

static bool parse_rv(const char *s, uint64_t *out)
{
    if (!s || !*s) return false;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end) return false;
    *out = v;
    return true;
}

static char *now_str(kfake *k, char *b, size_t cap) { return sim_format_rfc3339(sim_loop_now(k->loop), b, cap); }

/* ---- label selectors -------------------------------------------------------------------------- */
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

void kfake_selector_free(kfake_selector *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->reqs[i].key);
        for (size_t j = 0; j < s->reqs[i].nvals; j++) free(s->reqs[i].vals[j]);
        free(s->reqs[i].vals);
    }
    free(s->reqs);
    free(s);
}

static bool is_key_char(char c) { return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.' || c == '/'; }

/* label_key_ok / label_value_ok: the API server's syntax rules; on failure MSG says why. */
static bool name_part_ok(const char *s, size_t n, char *msg, size_t cap)
{
    if (n == 0 || n > 63) {
        snprintf(msg, cap, "name part must be no more than 63 characters and non-empty");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = isalnum((unsigned char)c) && (unsigned char)c < 128;
        if (!alnum && c != '-' && c != '_' && c != '.') goto bad;
        if ((i == 0 || i == n - 1) && !alnum) goto bad;
    }
    return true;
bad:
    snprintf(msg, cap,
             "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
             "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
             "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
    return false;
}

static bool subdomain_ok(const char *s, size_t n, size_t max, char *msg, size_t cap)
{
    if (n > max) {
        snprintf(msg, cap, "must be no more than %zu characters", max);
        return false;
    }
    bool ok = n > 0;
    for (size_t i = 0; ok && i < n; i++) {
        char c = s[i];
        bool an = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!an && c != '-' && c != '.') ok = false;
        bool edge = i == 0 || i == n - 1 || s[i - 1] == '.' || s[i + 1] == '.';
        if (edge && !an) ok = false;
    }
    if (!ok)
        snprintf(msg, cap,
                 "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
                 "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
    return ok;
}

static bool label_key_ok(const char *k, char *msg, size_t cap)
{
    const char *slash = strchr(k, '/');
    if (slash) {
        if (!subdomain_ok(k, (size_t)(slash - k), 253, msg, cap)) {
            char tmp[400];
            snprintf(tmp, sizeof tmp, "prefix part %s", msg);
            snprintf(msg, cap, "%s", tmp);
            return false;
        }
        k = slash + 1;
    }
    return name_part_ok(k, strlen(k), msg, cap);
}

static bool label_value_ok(const char *v, char *msg, size_t cap)
{
    size_t n = strlen(v);
    if (n > 63) {
        snprintf(msg, cap, "must be no more than 63 characters");
        return false;
    }
    if (n == 0) return true;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        bool alnum = isalnum((unsigned char)c) && (unsigned char)c < 128;
        if ((!alnum && c != '-' && c != '_' && c != '.') || ((i == 0 || i == n - 1) && !alnum)) {
            snprintf(msg, cap,
                     "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                     "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
                     "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
            return false;
        }
    }
    return true;
}

static void skip_ws(const char **p)
{
    while (isspace((unsigned char)**p)) (*p)++;
}

static char *take_word(const char **p)
{
    skip_ws(p);
    const char *s = *p;
    while (**p && is_key_char(**p)) (*p)++;
    if (*p == s) return NULL;
    return strndup(s, (size_t)(*p - s));
}

static t0_status push_val(sel_req *r, char *v)
{
    char **nv = realloc(r->vals, (r->nvals + 1) * sizeof *nv);
    if (!nv) {
        free(v);
        return T0_ENOMEM;
    }
    r->vals = nv;
    r->vals[r->nvals++] = v;
    return T0_OK;
}

t0_status kfake_selector_parse(const char *s, kfake_selector **out, t0_err *err)
{
    kfake_selector *sel = calloc(1, sizeof *sel);
    if (!sel) return t0_fail(err, T0_ENOMEM, "selector: out of memory");
    const char *p = s ? s : "";
    char msg[400];
    skip_ws(&p);
    while (*p) {
        sel_req *nr = realloc(sel->reqs, (sel->n + 1) * sizeof *nr);
        if (!nr) goto nomem;
        sel->reqs = nr;
        sel_req *r = &sel->reqs[sel->n];
        memset(r, 0, sizeof *r);
        sel->n++;
        bool neg = false;
        skip_ws(&p);
        if (*p == '!') {
            neg = true;
            p++;
        }
        r->key = take_word(&p);
        if (!r->key) goto bad;
        if (!label_key_ok(r->key, msg, sizeof msg)) goto badkey;
        skip_ws(&p);
        if (neg) {
            r->op = SEL_NOTEXISTS;
        } else if (*p == ',' || !*p) {
            r->op = SEL_EXISTS;
        } else if (p[0] == '=' || (p[0] == '!' && p[1] == '=')) {
            r->op = p[0] == '!' ? SEL_NEQ : SEL_EQ;
            p += (p[0] == '!' || p[1] == '=') ? 2 : 1;
            skip_ws(&p);
            const char *vs = p;
            while (*p && !isspace((unsigned char)*p) && *p != ',') p++;
            char *v = strndup(vs, (size_t)(p - vs));
            if (!v || push_val(r, v) != T0_OK) goto nomem;
            if (!label_value_ok(r->vals[0], msg, sizeof msg)) goto badval;
        } else if (!strncmp(p, "in", 2) || !strncmp(p, "notin", 5)) {
            r->op = p[0] == 'i' ? SEL_IN : SEL_NOTIN;
            p += r->op == SEL_IN ? 2 : 5;
            skip_ws(&p);
            if (*p != '(') goto bad;
            p++;
            for (;;) {
                skip_ws(&p);
                const char *vs = p;
                while (*p && !isspace((unsigned char)*p) && *p != ',' && *p != ')') p++;
                char *v = strndup(vs, (size_t)(p - vs));
                if (!v || push_val(r, v) != T0_OK) goto nomem;
                if (!label_value_ok(v, msg, sizeof msg)) goto badval;
                skip_ws(&p);
                if (*p == ',') {
                    p++;
                    continue;
                }
                if (*p == ')') {
                    p++;
                    break;
                }
                goto bad;
            }
        } else
            goto bad;
        skip_ws(&p);
        if (*p == ',') {
            p++;
            skip_ws(&p);
            if (!*p) goto bad;
        } else if (*p)
            goto bad;
    }
    *out = sel;
    return T0_OK;
nomem:
    kfake_selector_free(sel);
    return t0_fail(err, T0_ENOMEM, "selector: out of memory");
bad:
    kfake_selector_free(sel);
    return t0_fail(err, T0_EINVAL, "unable to parse requirement: found '%s', expected: in, notin, =, ==, !=, (, ), ','",
                   p);
badkey:
badval : {
    t0_status st = t0_fail(err, T0_EINVAL, "unable to parse requirement: invalid label %s: %s",
                           sel->reqs[sel->n - 1].key ? "key or value" : "key", msg);
    kfake_selector_free(sel);
    return st;
}
}

bool kfake_selector_matches(const kfake_selector *sel, const cJSON *labels)
{
    if (!sel) return true;
    for (size_t i = 0; i < sel->n; i++) {
        const sel_req *r = &sel->reqs[i];
        const cJSON *l = labels ? t0_json_get(labels, r->key) : NULL;
        const char *v = cJSON_IsString(l) ? l->valuestring : NULL;
        bool in = false;
        for (size_t j = 0; v && j < r->nvals; j++)
            if (!strcmp(v, r->vals[j])) in = true;
        switch (r->op) {
        case SEL_EQ:
        case SEL_IN:
            if (!in) return false;
            break;
        case SEL_NEQ:
        case SEL_NOTIN:
            if (in) return false;
            break;
        case SEL_EXISTS:
            if (!v) return false;
            break;
        case SEL_NOTEXISTS:
            if (v) return false;
            break;
        }
    }
    return true;
}

/* ---- indexes ---------------------------------------------------------------------------------- */
static ibucket *bucket_get(kfake *k, const char *key, bool create)
{
    ibucket *b = sim_map_get(&k->index, key);
    if (b || !create) return b;
    b = calloc(1, sizeof *b);
    if (!b) return NULL;
    if (sim_map_put(&k->index, key, b, NULL) != T0_OK) {
        free(b);
        return NULL;
    }
    return b;
}

static void label_index_key(kube_kind kind, const char *key, const char *val, char *buf, size_t cap)
{
    char kd[21];
    t0_u64_dec(kd, (uint64_t)kind);
    t0_strjoin(buf, cap, "k|", kd, "|", key, "=", val);
}

static void owner_index_key(const char *uid, char *buf, size_t cap) { t0_strjoin(buf, cap, "o|", uid); }

static void unindex(kfake *k, kobj *o)
{
    (void)k;
    for (size_t i = 0; i < o->nnodes; i++) {
        inode *n = &o->nodes[i];
        if (!n->b) continue;
        if (n->prev)
            n->prev->next = n->next;
        else
            n->b->head = n->next;
        if (n->next) n->next->prev = n->prev;
        n->b->n--;
    }
    free(o->nodes);
    o->nodes = NULL;
    o->nnodes = 0;
}

static t0_status index_obj(kfake *k, kobj *o)
{
    const cJSON *md = t0_json_get(o->v->obj, "metadata");
    const cJSON *labels = t0_json_get(md, "labels");
    const cJSON *owners = t0_json_get(md, "ownerReferences");
    size_t n = (size_t)cJSON_GetArraySize(labels) + (size_t)cJSON_GetArraySize(owners);
    if (!n) return T0_OK;
    o->nodes = calloc(n, sizeof *o->nodes);
    if (!o->nodes) return T0_ENOMEM;
    char key[700];
    const cJSON *it;
    size_t i = 0;
    cJSON_ArrayForEach(it, labels)
    {
        if (!cJSON_IsString(it)) continue;
        label_index_key(o->kind, it->string, it->valuestring, key, sizeof key);
        ibucket *b = bucket_get(k, key, true);
        if (!b) return T0_ENOMEM;
        inode *nd = &o->nodes[i++];
        nd->o = o;
        nd->b = b;
        nd->next = b->head;
        if (b->head) b->head->prev = nd;
        b->head = nd;
        b->n++;
    }
    cJSON_ArrayForEach(it, owners)
    {
        const char *uid = kfake_str(it, "uid");
        if (!uid) continue;
        owner_index_key(uid, key, sizeof key);
        ibucket *b = bucket_get(k, key, true);
        if (!b) return T0_ENOMEM;
        inode *nd = &o->nodes[i++];
        nd->o = o;
        nd->b = b;
        nd->next = b->head;
        if (b->head) b->head->prev = nd;
        b->head = nd;
        b->n++;
    }
    o->nnodes = i;
    return T0_OK;
}

static size_t dependents(kfake *k, const char *uid, kobj ***out)
{
    char key[300];
    owner_index_key(uid, key, sizeof key);
    ibucket *b = bucket_get(k, key, false);
    *out = NULL;
    if (!b || !b->n) return 0;
    kobj **v = malloc(b->n * sizeof *v);
    if (!v) return 0;
    size_t n = 0;
    for (inode *nd = b->head; nd; nd = nd->next) v[n++] = nd->o;
    *out = v;
    return n;
}

static size_t dependents_count(kfake *k, const char *uid)
{
    char key[300];
    owner_index_key(uid, key, sizeof key);
    ibucket *b = bucket_get(k, key, false);
    return b ? b->n : 0;
}

/* ---- stored versions -------------------------------------------------------------------------- */
/* kver_new: a version owning OBJ (freed with OBJ on failure), refs 1. */
static kver *kver_new(cJSON *obj)
{
    kver *v = obj ? malloc(sizeof *v) : NULL;
    if (!v) {
        cJSON_Delete(obj);
        return NULL;
    }
    v->refs = 1;
    v->obj = obj;
    v->base = NULL;
    return v;
}

static kver *kver_ref(kver *v)
{
    v->refs++;
    return v;
}

static void kver_unref(kver *v)
{
    if (!v || --v->refs > 0) return;
    cJSON_Delete(v->obj); /* leaves what reference members point to */
    kver_unref(v->base);
    free(v);
}

/* derive: the object of a version derived from V that changes only its metadata and/or the member SKIP
 * (NULL: none; left out here): its own copies of scalar members and its own metadata object (whose scalar
 * members are copies too), every object or array, top-level or in the metadata (labels, annotations,
 * owner references, finalizers), shared as a reference. *BASE gets a version that keeps those references
 * alive: the one they all live in when it is one (so repeated status writes grow no chain of versions),
 * else V. NULL when out of memory. Writers of the metadata go through meta_w, which makes the shared
 * members their own first. */
typedef struct derive_owner {
    kver *v, *owner;
    bool mixed;
} derive_owner;

/* shared_member: add to N a reference standing for member C of V's object (object or array), noting the
 * version its target lives in: V's base when C is itself a reference, else V */
static bool shared_member(cJSON *n, const cJSON *c, derive_owner *d)
{
    kver *in = (c->type & cJSON_IsReference) ? d->v->base : d->v;
    d->mixed = d->mixed || (d->owner && d->owner != in);
    d->owner = in;
    return add_like(n, c, share(c));
}

static cJSON *derive(kver *v, const char *skip, kver **base)
{
    cJSON *n = cJSON_CreateObject();
    derive_owner d = {v, NULL, false};
    for (cJSON *c = v->obj->child; n && c; c = c->next) {
        if (skip && !strcmp(c->string, skip)) continue;
        bool ok;
        if (!strcmp(c->string, "metadata") && cJSON_IsObject(c) && !(c->type & cJSON_IsReference)) {
            cJSON *md = cJSON_CreateObject();
            ok = add_like(n, c, md);
            for (const cJSON *m = ok ? c->child : NULL; ok && m; m = m->next)
                ok = cJSON_IsObject(m) || cJSON_IsArray(m) ? shared_member(md, m, &d) : add_like(md, m, cJSON_Duplicate(m, 1));
        } else if (cJSON_IsObject(c) || cJSON_IsArray(c))
            ok = shared_member(n, c, &d);
        else
            ok = add_like(n, c, cJSON_Duplicate(c, 1));
        if (!ok) {
            cJSON_Delete(n);
            n = NULL;
        }
    }
    *base = d.mixed ? v : d.owner;
    return n;
}

/* own_metadata: replace the shared members of OBJ's metadata by copies of their own, before a write */
static bool own_metadata(cJSON *obj)
{
    cJSON *md = t0_json_get(obj, "metadata");
    for (cJSON *m = md ? md->child : NULL, *next; m; m = next) {
        next = m->next;
        if (!(m->type & cJSON_IsReference)) continue;
        cJSON *own = cJSON_Duplicate(m, 1); /* a copy of a reference is a deep copy of its target */
        if (!own || !cJSON_ReplaceItemViaPointer(md, m, own)) {
            cJSON_Delete(own);
            return false;
        }
    }
    return true;
}

/* meta_w: O's stored object, for a write of its metadata only. A version shared with events or snapshots
 * is first replaced by a derived one (its own metadata, the rest shared). NULL when out of memory (the
 * write is lost; the stored object is unchanged). */
static cJSON *meta_w(kobj *o)
{
    if (o->v->refs > 1) {
        kver *base;
        cJSON *n = derive(o->v, NULL, &base);
        kver *nv = n ? kver_new(n) : NULL;
        if (!nv) return NULL;
        nv->base = base ? kver_ref(base) : NULL;
        kver_unref(o->v);
        o->v = nv;
    }
    return own_metadata(o->v->obj) ? o->v->obj : NULL; /* its metadata object is its own; now its members too */
}

/* kobj_set: O's stored object becomes NOBJ (owned; its reference members point into BASE, which the new
 * version then references, or BASE is NULL). False when out of memory (NOBJ freed, unchanged). */
static bool kobj_set(kobj *o, cJSON *nobj, kver *base)
{
    kver *n = kver_new(nobj);
    if (!n) return false;
    n->base = base ? kver_ref(base) : NULL;
    kver_unref(o->v);
    o->v = n;
    return true;
}

/* hand_out: what a port call returns for a stored object: a read-only reference when the cluster lends
 * its objects (kfake_opts.lend_objects), else a copy. cJSON_Delete releases either. */
static cJSON *hand_out(const kfake *k, const cJSON *obj)
{
    return k->opts.lend_objects ? cJSON_CreateObjectReference(obj->child) : cJSON_Duplicate(obj, 1);
}

/* ---- watch events ----------------------------------------------------------------------------- */
static void wevent_unref(wevent *e)
{
    if (!e || --e->refs > 0) return;
    kver_unref(e->v);
    kver_unref(e->old);
    free(e->ns);
    free(e);
}

static void watch_deliver(void *ud);

static void watch_arm(kube_watch *w, int64_t delay)
{
    if (!w->timer) w->timer = sim_loop_timer(w->k->loop, delay, watch_deliver, w);
}

static bool watch_push(kube_watch *w, wevent *e, kube_watch_type type)
{
    if (w->qhead + w->qlen == w->qcap) {
        if (w->qhead > 0) {
            memmove(w->q, w->q + w->qhead, w->qlen * sizeof *w->q);
            w->qhead = 0;
        }
        if (w->qlen == w->qcap) {
            size_t nc = w->qcap ? w->qcap * 2 : 16;
            qent *nq = realloc(w->q, nc * sizeof *nq);
            if (!nq) return false;
            w->q = nq;
            w->qcap = nc;
        }
    }
    w->q[w->qhead + w->qlen++] = (qent){e, type};
    if (e) e->refs++;
    watch_arm(w, w->k->opts.watch_delay_ms);
    return true;
}

/* What watcher W sees of E: ADDED/MODIFIED/DELETED, or -1 for nothing (label filtering semantics). */
static int watch_view(const kube_watch *w, const wevent *e)
{
    if (w->closed || w->dead || e->kind != w->kind) return -1;
    if (w->ns && *w->ns && strcmp(w->ns, e->ns)) return -1;
    const cJSON *labels = t0_json_get(t0_json_get(e->v->obj, "metadata"), "labels");
    bool now = kfake_selector_matches(w->sel, labels);
    if (e->type != KUBE_WATCH_MODIFIED) return now ? (int)e->type : -1;
    bool before = !e->old ? now
                          : kfake_selector_matches(w->sel, t0_json_get(
                                                               t0_json_get(e->old->obj, "metadata"), "labels"));
    if (now && before) return KUBE_WATCH_MODIFIED;
    if (now) return KUBE_WATCH_ADDED;
    if (before) return KUBE_WATCH_DELETED;
    return -1;
}

static void hist_push(kfake *k, wevent *e)
{
    kube_kind kd = e->kind;
    size_t cap = (size_t)k->opts.watch_history;
    if (k->hist_len[kd] == cap) {
        wevent *old = k->hist[kd][k->hist_head[kd]];
        if (old->rv > k->evicted_rv[kd]) k->evicted_rv[kd] = old->rv;
        wevent_unref(old);
        k->hist[kd][k->hist_head[kd]] = e;
        k->hist_head[kd] = (k->hist_head[kd] + 1) % cap;
    } else {
        k->hist[kd][(k->hist_head[kd] + k->hist_len[kd]) % cap] = e;
        k->hist_len[kd]++;
    }
}

/* emit: record a change of O (already stored) and queue it for watchers. OLD (borrowed; the event takes
 * a reference) is the version before a MODIFIED change whose labels may differ; NULL: labels unchanged. */
static void emit(kfake *k, kube_watch_type type, kobj *o, kver *old)
{
    if (k->observer) k->observer(k->observer_ud, type, o->kind, o->v->obj);
    wevent *e = calloc(1, sizeof *e);
    if (!e) return;
    e->refs = 1;
    e->type = type;
    e->kind = o->kind;
    e->rv = k->rv;
    e->v = kver_ref(o->v);
    e->old = old ? kver_ref(old) : NULL;
    e->ns = strdup(o->ns);
    if (!e->ns) {
        wevent_unref(e);
        return;
    }
    for (kube_watch *w = k->watchers[o->kind]; w; w = w->next) {
        int t = watch_view(w, e);
        if (t >= 0) watch_push(w, e, (kube_watch_type)t);
    }
    hist_push(k, e);
}

static void watch_free(kube_watch *w)
{
    kfake *k = w->k;
    if (w->timer) sim_loop_cancel(k->loop, w->timer);
    for (size_t i = 0; i < w->qlen; i++) wevent_unref(w->q[w->qhead + i].e);
    free(w->q);
    if (w->prev)
        w->prev->next = w->next;
    else if (k->watchers[w->kind] == w)
        k->watchers[w->kind] = w->next;
    if (w->next) w->next->prev = w->prev;
    kfake_selector_free(w->sel);
    free(w->ns);
    free(w);
}

static void watch_deliver(void *ud)
{
    kube_watch *w = ud;
    w->timer = 0;
    w->delivering = true;
    while (w->qlen && !w->dead) {
        qent q = w->q[w->qhead];
        if (q.e && w->faults && !w->closed && !w->head_delayed) {
            sim_fault_hit hit;
            if (sim_faults_check(w->k->faults, "kube/watch", &hit)) {
                if (hit.kind == SIM_FAULT_LATENCY) {
                    /* delayed once by ms (not again at every retry, or p=1 would hold it forever) */
                    w->head_delayed = true;
                    w->timer = sim_loop_timer(w->k->loop, hit.ms, watch_deliver, w);
                    break;
                }
                if (hit.kind == SIM_FAULT_DROP) {
                    w->qhead++, w->qlen--;
                    wevent_unref(q.e);
                    continue;
                }
                if (hit.kind == SIM_FAULT_GONE || hit.kind == SIM_FAULT_CLOSE || hit.kind == SIM_FAULT_ERROR) {
                    /* the stream breaks here: nothing queued is delivered */
                    for (size_t i = 0; i < w->qlen; i++) wevent_unref(w->q[w->qhead + i].e);
                    w->qhead = w->qlen = 0;
                    w->closed = true;
                    w->fn(w->ud, hit.kind == SIM_FAULT_CLOSE ? KUBE_WATCH_CLOSED : KUBE_WATCH_GONE, NULL);
                    break;
                }
                if (hit.kind == SIM_FAULT_DUPLICATE) w->fn(w->ud, q.type, q.e->v->obj);
                if (w->dead) break;
            }
        }
        w->qhead++, w->qlen--;
        w->head_delayed = false;
        if (!q.e) {
            w->closed = true;
            w->fn(w->ud, q.type, NULL);
        } else if (!w->closed) {
            w->fn(w->ud, q.type, q.e->v->obj);
        }
        wevent_unref(q.e);
    }
    if (!w->qlen) w->qhead = 0;
    w->delivering = false;
    if (w->dead) watch_free(w);
}

/* ---- object lifecycle ------------------------------------------------------------------------- */
static void kobj_free(kobj *o)
{
    if (!o) return;
    free(o->nodes);
    if (o->v) kver_unref(o->v);
    free(o->key);
    free(o->ns);
    free(o->name);
    free(o->uid);
    free(o);
}

static void gc_enqueue(kfake *k, const char *uid);

static bool has_finalizers(const kobj *o)
{
    const cJSON *f = t0_json_get(t0_json_get(o->v->obj, "metadata"), "finalizers");
    return cJSON_GetArraySize(f) > 0;
}

static void remove_finalizer(cJSON *obj, const char *name)
{
    cJSON *f = t0_json_get(t0_json_get(obj, "metadata"), "finalizers");
    for (int i = cJSON_GetArraySize(f) - 1; i >= 0; i--) {
        cJSON *it = cJSON_GetArrayItem(f, i);
        if (cJSON_IsString(it) && !strcmp(it->valuestring, name)) cJSON_DeleteItemFromArray(f, i);
    }
    if (f && cJSON_GetArraySize(f) == 0) del_member(t0_json_get(obj, "metadata"), "finalizers");
}

/* stamp_rv: the next resourceVersion into OBJ's metadata. bump_rv: the same on O's stored object. */
static void stamp_rv(kfake *k, cJSON *obj)
{
    char b[32];
    rv_str(++k->rv, b, sizeof b);
    set_str(obj_at(obj, "metadata"), "resourceVersion", b);
}

static void bump_rv(kfake *k, kobj *o) { stamp_rv(k, meta_w(o)); }

static void check_foreground_owner(kfake *k, const char *uid);

/* remove_now: the object leaves the store: DELETED event, free, then owners and dependents react. */
static void remove_now(kfake *k, kobj *o)
{
    sim_map_remove(&k->objs[o->kind], o->key);
    sim_map_remove(&k->by_uid, o->uid);
    unindex(k, o);
    bump_rv(k, o);
    emit(k, KUBE_WATCH_DELETED, o, NULL);
    /* owners waiting in foreground deletion may now be complete; dependents become garbage */
    const cJSON *owners =
        t0_json_get(t0_json_get(o->v->obj, "metadata"), "ownerReferences");
    size_t no = (size_t)cJSON_GetArraySize(owners);
    char **ouids = no ? calloc(no, sizeof *ouids) : NULL;
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, owners)
    {
        const char *u = kfake_str(it, "uid");
        if (u && ouids) ouids[i++] = strdup(u);
    }
    if (dependents_count(k, o->uid)) gc_enqueue(k, o->uid);
    kobj_free(o);
    for (size_t j = 0; j < i; j++) {
        if (ouids[j]) check_foreground_owner(k, ouids[j]);
        free(ouids[j]);
    }
    free(ouids);
}

/* An owner in foreground deletion is removed once its last dependent is gone. */
static void check_foreground_owner(kfake *k, const char *uid)
{
    kobj *o = sim_map_get(&k->by_uid, uid);
    if (!o || dependents_count(k, uid)) return;
    const cJSON *f = t0_json_get(t0_json_get(o->v->obj, "metadata"), "finalizers");
    bool fg = false;
    const cJSON *it;
    cJSON_ArrayForEach(it, f) if (cJSON_IsString(it) && !strcmp(it->valuestring, "foregroundDeletion")) fg = true;
    if (!fg) return;
    remove_finalizer(meta_w(o), "foregroundDeletion");
    if (has_finalizers(o)) {
        bump_rv(k, o);
        emit(k, KUBE_WATCH_MODIFIED, o, NULL);
        return;
    }
    if (o->pod_terminating) return; /* the kubelet finishes it */
    remove_now(k, o);
}

static t0_status delete_obj(kfake *k, kobj *o, kube_propagation prop, int64_t grace, t0_err *err);

static void gc_run(void *ud)
{
    kfake *k = ud;
    k->gc_timer = 0;
    /* take the queue: deletions below may enqueue more (handled in a later turn) */
    char **q = k->gc_queue;
    size_t n = k->gc_len;
    k->gc_queue = NULL;
    k->gc_len = k->gc_cap = 0;
    for (size_t i = 0; i < n; i++) {
        if (sim_map_get(&k->by_uid, q[i])) { /* the owner exists again?? (uids are unique: it never does) */
            free(q[i]);
            continue;
        }
        kobj **deps;
        size_t nd = dependents(k, q[i], &deps);
        /* Collect uids first: deleting one may free others. */
        char **duids = nd ? calloc(nd, sizeof *duids) : NULL;
        for (size_t j = 0; duids && j < nd; j++) duids[j] = strdup(deps[j]->uid);
        free(deps);
        for (size_t j = 0; duids && j < nd; j++) {
            kobj *d = duids[j] ? sim_map_get(&k->by_uid, duids[j]) : NULL;
            if (!d) {
                free(duids[j]);
                continue;
            }
            /* collected only when every owner is gone */
            bool owner_alive = false;
            const cJSON *it;
            cJSON_ArrayForEach(it,
                               t0_json_get(t0_json_get(d->v->obj, "metadata"),
                                                                "ownerReferences"))
            {
                const char *u = kfake_str(it, "uid");
                if (u && sim_map_get(&k->by_uid, u)) owner_alive = true;
            }
            if (!owner_alive && !kfake_str(d->v->obj, "metadata.deletionTimestamp"))
                delete_obj(k, d, KUBE_PROP_BACKGROUND, -1, NULL);
            free(duids[j]);
        }
        free(duids);
        free(q[i]);
    }
    free(q);
}

static void gc_enqueue(kfake *k, const char *uid)
{
    if (k->gc_len == k->gc_cap) {
        size_t nc = k->gc_cap ? k->gc_cap * 2 : 16;
        char **nq = realloc(k->gc_queue, nc * sizeof *nq);
        if (!nq) return;
        k->gc_queue = nq;
        k->gc_cap = nc;
    }
    char *u = strdup(uid);
    if (!u) return;
    k->gc_queue[k->gc_len++] = u;
    if (!k->gc_timer) k->gc_timer = sim_loop_timer(k->loop, 0, gc_run, k);
}

static int64_t pod_grace(const kfake *k, const kobj *o, int64_t grace)
{
    if (grace >= 0) return grace;
    const cJSON *g = t0_json_get(t0_json_get(o->v->obj, "spec"),
                                                      "terminationGracePeriodSeconds");
    return cJSON_IsNumber(g) ? (int64_t)g->valuedouble : k->opts.default_grace_s;
}

static void mark_deleting(kfake *k, kobj *o, int64_t grace_s)
{
    cJSON *md = obj_at(meta_w(o), "metadata");
    char ts[32];
    set_str(md, "deletionTimestamp", sim_format_rfc3339(sim_loop_now(k->loop) + grace_s * 1000, ts, sizeof ts));
    set_num(md, "deletionGracePeriodSeconds", (double)grace_s);
}

static t0_status delete_obj(kfake *k, kobj *o, kube_propagation prop, int64_t grace, t0_err *err)
{
    (void)err;
    if (prop == KUBE_PROP_DEFAULT) prop = o->kind == KUBE_JOB ? KUBE_PROP_ORPHAN : KUBE_PROP_BACKGROUND;
    bool deleting = kfake_str(o->v->obj, "metadata.deletionTimestamp") != NULL;
    if (o->kind == KUBE_POD) {
        int64_t g = pod_grace(k, o, grace);
        const char *phase = kfake_str(o->v->obj, "status.phase");
        bool bound = kfake_str(o->v->obj, "spec.nodeName") != NULL;
        bool ended = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
        if (deleting && g != 0) return T0_OK; /* already terminating */
        if (!bound || ended || g == 0) {
            if (has_finalizers(o)) {
                o->pod_terminating = false; /* nothing more to wait for but the finalizers */
                if (!deleting) {
                    mark_deleting(k, o, 0);
                    bump_rv(k, o);
                    emit(k, KUBE_WATCH_MODIFIED, o, NULL);
                }
                return T0_OK;
            }
            remove_now(k, o);
            return T0_OK;
        }
        mark_deleting(k, o, g);
        o->pod_terminating = true;
        bump_rv(k, o);
        emit(k, KUBE_WATCH_MODIFIED, o, NULL);
        return T0_OK;
    }
    if (deleting) return T0_OK;
    if (prop == KUBE_PROP_ORPHAN) {
        kobj **deps;
        size_t nd = dependents(k, o->uid, &deps);
        char *uid = strdup(o->uid);
        for (size_t i = 0; i < nd && uid; i++) {
            kobj *d = deps[i];
            kver *old = kver_ref(d->v); /* shared now: meta_w derives a new version */
            cJSON *dobj = meta_w(d);
            cJSON *refs = t0_json_get(t0_json_get(dobj, "metadata"), "ownerReferences");
            for (int j = cJSON_GetArraySize(refs) - 1; j >= 0; j--) {
                const char *u = kfake_str(cJSON_GetArrayItem(refs, j), "uid");
                if (u && !strcmp(u, uid)) cJSON_DeleteItemFromArray(refs, j);
            }
            if (refs && !cJSON_GetArraySize(refs))
                del_member(t0_json_get(dobj, "metadata"), "ownerReferences");
            unindex(k, d);
            index_obj(k, d);
            bump_rv(k, d);
            emit(k, KUBE_WATCH_MODIFIED, d, old);
            kver_unref(old);
        }
        free(uid);
        free(deps);
    }
    if (prop == KUBE_PROP_FOREGROUND && dependents_count(k, o->uid)) {
        mark_deleting(k, o, 0);
        cJSON *md = obj_at(meta_w(o), "metadata");
        cJSON *f = t0_json_get(md, "finalizers");
        if (!cJSON_IsArray(f)) f = cJSON_AddArrayToObject(md, "finalizers");
        cJSON_AddItemToArray(f, cJSON_CreateString("foregroundDeletion"));
        bump_rv(k, o);
        emit(k, KUBE_WATCH_MODIFIED, o, NULL);
        kobj **deps;
        size_t nd = dependents(k, o->uid, &deps);
        char **duids = nd ? calloc(nd, sizeof *duids) : NULL;
        for (size_t i = 0; duids && i < nd; i++) duids[i] = strdup(deps[i]->uid);
        free(deps);
        char *uid = strdup(o->uid);
        for (size_t i = 0; duids && i < nd; i++) {
            kobj *d = duids[i] ? sim_map_get(&k->by_uid, duids[i]) : NULL;
            if (d) delete_obj(k, d, KUBE_PROP_FOREGROUND, -1, NULL);
            free(duids[i]);
        }
        free(duids);
        if (uid) check_foreground_owner(k, uid);
        free(uid);
        return T0_OK;
    }
    if (has_finalizers(o)) {
        mark_deleting(k, o, 0);
        bump_rv(k, o);
        emit(k, KUBE_WATCH_MODIFIED, o, NULL);
        return T0_OK;
    }
    remove_now(k, o);
    return T0_OK;
}

/* ---- validation ------------------------------------------------------------------------------- */
typedef struct vctx {
    char msgs[1024];
    size_t len;
    int n;
} vctx;

static void vadd(vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vadd(vctx *v, const char *fmt, ...)
{
    if (v->len >= sizeof v->msgs - 4) return;
    if (v->n++) v->len += (size_t)snprintf(v->msgs + v->len, sizeof v->msgs - v->len, ", ");
    if (v->len >= sizeof v->msgs) return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(v->msgs + v->len, sizeof v->msgs - v->len, fmt, ap);
    va_end(ap);
    if (w > 0) v->len += (size_t)w;
    if (v->len > sizeof v->msgs - 1) v->len = sizeof v->msgs - 1;
}

static void validate_labels(vctx *v, const cJSON *labels, const char *path)
{
    const cJSON *it;
    char msg[400];
    cJSON_ArrayForEach(it, labels)
    {
        if (!label_key_ok(it->string, msg, sizeof msg)) vadd(v, "%s: Invalid value: \"%s\": %s", path, it->string, msg);
        if (!cJSON_IsString(it))
            vadd(v, "%s: Invalid value: \"%s\": label values must be strings", path, it->string);
        else if (!label_value_ok(it->valuestring, msg, sizeof msg))
            vadd(v, "%s: Invalid value: \"%s\": %s", path, it->valuestring, msg);
    }
}

static bool dns_label_ok(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > 63) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool an = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!an && (c != '-' || i == 0 || i == n - 1)) return false;
    }
    return true;
}

static void validate_resources(vctx *v, const cJSON *res, const char *path)
{
    const char *sections[] = {"limits", "requests"};
    double lim[2] = {-1, -1};
    for (int s = 0; s < 2; s++) {
        const cJSON *sec = t0_json_get(res, sections[s]);
        const cJSON *q;
        cJSON_ArrayForEach(q, sec)
        {
            double val;
            const char *str = cJSON_IsString(q) ? q->valuestring : NULL;
            char numbuf[64];
            if (cJSON_IsNumber(q)) {
                snprintf(numbuf, sizeof numbuf, "%g", q->valuedouble);
                str = numbuf;
            }
            if (!str || !names_quantity_parse(str, &val)) {
                vadd(v, "%s.%s[%s]: Invalid value: \"%s\": quantities must match the regular expression "
                        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                     path, sections[s], q->string, str ? str : "");
                continue;
            }
            if (val < 0) vadd(v, "%s.%s[%s]: Invalid value: \"%s\": must be greater than or equal to 0", path, sections[s], q->string, str);
            if (s == 0 && !strcmp(q->string, "cpu")) lim[0] = val;
            if (s == 0 && !strcmp(q->string, "memory")) lim[1] = val;
            if (s == 1) {
                int idx = !strcmp(q->string, "cpu") ? 0 : !strcmp(q->string, "memory") ? 1 : -1;
                if (idx >= 0 && lim[idx] >= 0 && val > lim[idx])
                    vadd(v, "%s.requests: Invalid value: \"%s\": must be less than or equal to %s limit of %s", path, str,
                         q->string, kfake_str(res, idx ? "limits.memory" : "limits.cpu") ?: "the");
            }
        }
    }
}

static void validate_containers(vctx *v, const cJSON *list, const char *path, bool required)
{
    if (required && cJSON_GetArraySize(list) == 0) {
        vadd(v, "%s: Required value", path);
        return;
    }
    int i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, list)
    {
        char p[160];
        snprintf(p, sizeof p, "%s[%d]", path, i++);
        const char *name = kfake_str(c, "name");
        if (!name || !*name)
            vadd(v, "%s.name: Required value", p);
        else if (!dns_label_ok(name))
            vadd(v, "%s.name: Invalid value: \"%s\": a lowercase RFC 1123 label must consist of lower case "
                    "alphanumeric characters or '-', and must start and end with an alphanumeric character",
                 p, name);
        const char *image = kfake_str(c, "image");
        if (!image || !*image) vadd(v, "%s.image: Required value", p);
        char rp[180];
        snprintf(rp, sizeof rp, "%s.resources", p);
        validate_resources(v, t0_json_get(c, "resources"), rp);
    }
}

static void validate_pod_spec(vctx *v, const cJSON *spec, const char *path, bool job)
{
    char p[200];
    if (!cJSON_IsObject(spec)) {
        vadd(v, "%s: Required value", path);
        return;
    }
    snprintf(p, sizeof p, "%s.containers", path);
    validate_containers(v, t0_json_get(spec, "containers"), p, true);
    snprintf(p, sizeof p, "%s.initContainers", path);
    validate_containers(v, t0_json_get(spec, "initContainers"), p, false);
    const char *rp = kfake_str(spec, "restartPolicy");
    if (rp) {
        bool ok = job ? (!strcmp(rp, "Never") || !strcmp(rp, "OnFailure"))
                      : (!strcmp(rp, "Always") || !strcmp(rp, "Never") || !strcmp(rp, "OnFailure"));
        if (!ok)
            vadd(v, "%s.restartPolicy: %s: \"%s\": supported values: %s", path, job ? "Unsupported value" : "Unsupported value",
                 rp, job ? "\"OnFailure\", \"Never\"" : "\"Always\", \"OnFailure\", \"Never\"");
    } else if (job)
        vadd(v, "%s.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\"", path);
    const cJSON *g = t0_json_get(spec, "terminationGracePeriodSeconds");
    if (g && (!cJSON_IsNumber(g) || g->valuedouble < 0))
        vadd(v, "%s.terminationGracePeriodSeconds: Invalid value: must be greater than or equal to 0", path);
}

static bool tz_syntax_ok(const char *tz)
{
    if (!*tz || strlen(tz) > 255 || tz[0] == '/' || strstr(tz, "..")) return false;
    for (const char *p = tz; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/_-+", *p)) return false;
    return true;
}

static void validate_int_field(vctx *v, const cJSON *parent, const char *name, const char *path, double min)
{
    const cJSON *x = t0_json_get(parent, name);
    if (x && (!cJSON_IsNumber(x) || x->valuedouble < min))
        vadd(v, "%s.%s: Invalid value: must be greater than or equal to %g", path, name, min);
}

static t0_status validate(kfake *k, kube_kind kind, const cJSON *obj, const char *name, const kobj *old, t0_err *err)
{
    (void)k;
    vctx v = {{0}, 0, 0};
    char msg[400];
    size_t max = kind == KUBE_CRONJOB ? 52 : 253;
    if (!subdomain_ok(name, strlen(name), max, msg, sizeof msg))
        vadd(&v, "metadata.name: Invalid value: \"%s\": %s", name, msg);
    const cJSON *md = t0_json_get(obj, "metadata");
    validate_labels(&v, t0_json_get(md, "labels"), "metadata.labels");
    const cJSON *spec = t0_json_get(obj, "spec");
    switch (kind) {
    case KUBE_POD:
        validate_pod_spec(&v, spec, "spec", false);
        if (old) {
            /* pod updates may not change fields other than images and activeDeadlineSeconds */
            cJSON *a = cJSON_Duplicate(spec, 1), *b = cJSON_Duplicate(t0_json_get(old->v->obj, "spec"), 1);
            cJSON *lists[2] = {a, b};
            for (int s = 0; s < 2; s++) {
                if (!lists[s]) continue;
                del_member(lists[s], "activeDeadlineSeconds");
                if (s == 1 && !t0_json_get(a, "nodeName"))
                    del_member(lists[s], "nodeName");
                const char *cl[] = {"containers", "initContainers"};
                for (int c = 0; c < 2; c++) {
                    cJSON *it;
                    cJSON_ArrayForEach(it, t0_json_get(lists[s], cl[c]))
                        del_member(it, "image");
                }
            }
            if (a && b && !cJSON_Compare(a, b, 1))
                vadd(&v, "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`, "
                         "`spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only "
                         "additions to existing tolerations), `spec.terminationGracePeriodSeconds` (allow it to be set "
                         "to 1 if it was previously negative)");
            cJSON_Delete(a);
            cJSON_Delete(b);
        }
        break;
    case KUBE_JOB:
        if (!cJSON_IsObject(spec)) {
            vadd(&v, "spec: Required value");
            break;
        }
        validate_pod_spec(&v, t0_json_get(t0_json_get(spec, "template"), "spec"),
                          "spec.template.spec", true);
        validate_int_field(&v, spec, "backoffLimit", "spec", 0);
        validate_int_field(&v, spec, "activeDeadlineSeconds", "spec", 1);
        break;
    case KUBE_CRONJOB: {
        if (!cJSON_IsObject(spec)) {
            vadd(&v, "spec: Required value");
            break;
        }
        const char *sched = kfake_str(spec, "schedule");
        cronexpr ce;
        t0_err cerr = {0};
        if (!sched || !*sched)
            vadd(&v, "spec.schedule: Required value");
        else if (cronexpr_parse(sched, &ce, &cerr) != T0_OK)
            vadd(&v, "spec.schedule: Invalid value: \"%s\": %s", sched, cerr.msg);
        const char *tz = kfake_str(spec, "timeZone");
        if (t0_json_get(spec, "timeZone") && (!tz || !tz_syntax_ok(tz)))
            vadd(&v, "spec.timeZone: Invalid value: \"%s\": unknown time zone %s", tz ? tz : "", tz ? tz : "");
        const char *cp = kfake_str(spec, "concurrencyPolicy");
        if (cp && strcmp(cp, "Allow") && strcmp(cp, "Forbid") && strcmp(cp, "Replace"))
            vadd(&v, "spec.concurrencyPolicy: Unsupported value: \"%s\": supported values: \"Allow\", \"Forbid\", \"Replace\"", cp);
        validate_int_field(&v, spec, "startingDeadlineSeconds", "spec", 0);
        validate_int_field(&v, spec, "successfulJobsHistoryLimit", "spec", 0);
        validate_int_field(&v, spec, "failedJobsHistoryLimit", "spec", 0);
        const cJSON *jt = t0_json_get(spec, "jobTemplate");
        const cJSON *jspec = t0_json_get(jt, "spec");
        validate_labels(&v, t0_json_get(t0_json_get(jt, "metadata"), "labels"),
                        "spec.jobTemplate.metadata.labels");
        const cJSON *tmpl = t0_json_get(jspec, "template");
        validate_labels(&v, t0_json_get(t0_json_get(tmpl, "metadata"), "labels"),
                        "spec.jobTemplate.spec.template.metadata.labels");
        validate_pod_spec(&v, t0_json_get(tmpl, "spec"), "spec.jobTemplate.spec.template.spec", true);
        validate_int_field(&v, jspec, "backoffLimit", "spec.jobTemplate.spec", 0);
        break;
    }
    default:
        break;
    }
    if (!v.n) return T0_OK;
    return http_fail(err, T0_EINVALID, 422, "%s \"%s\" is invalid: %s", kind_display[kind], name, v.msgs);
}

/* ---- the API ---------------------------------------------------------------------------------- */
static const char *point(kube_kind kind, const char *verb, char *buf, size_t cap)
{
    t0_strjoin(buf, cap, "kube/", (unsigned)kind < KUBE__KINDS ? kind_singular[kind] : "?", "/", verb);
    return buf;
}

/* fault_gate: ask the point; returns T0_OK to proceed (with *applied_timeout / *stale set), or the
 * injected status. */
static t0_status fault_gate(port_ctx *pc, kube_kind kind, const char *verb, bool *applied_timeout, bool *stale,
                            t0_err *err)
{
    if (applied_timeout) *applied_timeout = false;
    if (stale) *stale = false;
    if (!pc->faults || !pc->k->faults) return T0_OK;
    char p[64];
    sim_fault_hit hit;
    if (!sim_faults_check(pc->k->faults, point(kind, verb, p, sizeof p), &hit)) return T0_OK;
    if (hit.kind == SIM_FAULT_TIMEOUT_APPLIED && applied_timeout) {
        *applied_timeout = true;
        return T0_OK;
    }
    if (hit.kind == SIM_FAULT_STALE) {
        if (stale) *stale = true;
        return T0_OK;
    }
    if (hit.status == T0_OK) return T0_OK; /* delivery kinds mean nothing for a call */
    return sim_faults_fail(&hit, p, err);
}

static t0_status applied_timeout_err(kube_kind kind, const char *verb, t0_err *err)
{
    char p[64];
    return http_fail(err, T0_ETIMEOUT, 504, "%s: injected timeout-applied (HTTP 504; the request was applied)",
                     point(kind, verb, p, sizeof p));
}

static bool kind_ok(kube_kind k) { return (unsigned)k < KUBE__KINDS; }

static kobj *lookup(kfake *k, kube_kind kind, const char *ns, const char *name)
{
    char key[600];
    t0_strjoin(key, sizeof key, ns ? ns : "", "/", name ? name : "");
    return sim_map_get(&k->objs[kind], key);
}

static void gen_name(kfake *k, const char *prefix, char *out, size_t cap)
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    char suf[6];
    for (int i = 0; i < 5; i++) suf[i] = alphabet[sim_rand_range(k->loop, 0, (int64_t)sizeof alphabet - 2)];
    suf[5] = '\0';
    snprintf(out, cap, "%s%s", prefix, suf);
}

static void apply_defaults(kube_kind kind, cJSON *o)
{
    cJSON *spec = t0_json_get(o, "spec");
    cJSON *pod_spec = NULL;
    if (kind == KUBE_POD) pod_spec = spec;
    if (kind == KUBE_JOB) pod_spec = t0_json_get(t0_json_get(spec, "template"), "spec");
    if (kind == KUBE_CRONJOB) {
        if (!t0_json_get(spec, "concurrencyPolicy")) T0_JSON_STR_STATIC(spec, "concurrencyPolicy", "Allow");
        if (!t0_json_get(spec, "suspend")) cJSON_AddBoolToObject(spec, "suspend", 0);
        if (!t0_json_get(spec, "successfulJobsHistoryLimit"))
            T0_JSON_NUM(spec, "successfulJobsHistoryLimit", 3);
        if (!t0_json_get(spec, "failedJobsHistoryLimit"))
            T0_JSON_NUM(spec, "failedJobsHistoryLimit", 1);
        cJSON *js = t0_json_get(t0_json_get(spec, "jobTemplate"), "spec");
        if (js && !t0_json_get(js, "backoffLimit")) T0_JSON_NUM(js, "backoffLimit", 6);
    }
    if (kind == KUBE_JOB && spec) {
        if (!t0_json_get(spec, "backoffLimit")) T0_JSON_NUM(spec, "backoffLimit", 6);
        if (!t0_json_get(spec, "completions")) T0_JSON_NUM(spec, "completions", 1);
        if (!t0_json_get(spec, "parallelism")) T0_JSON_NUM(spec, "parallelism", 1);
    }
    if (pod_spec) {
        if (!t0_json_get(pod_spec, "restartPolicy")) T0_JSON_STR_STATIC(pod_spec, "restartPolicy", "Always");
        if (!t0_json_get(pod_spec, "terminationGracePeriodSeconds"))
            T0_JSON_NUM(pod_spec, "terminationGracePeriodSeconds", 30);
    }
}

static t0_status do_create(void *ctx, kube_kind kind, const char *ns, const cJSON *obj, cJSON **out, t0_err *err)
{
    port_ctx *pc = ctx;
    kfake *k = pc->k;
    if (out) *out = NULL;
    if (!kind_ok(kind) || !cJSON_IsObject(obj)) return http_fail(err, T0_EINVAL, 400, "create: bad kind or object");
    bool applied_to;
    t0_status st = fault_gate(pc, kind, "create", &applied_to, NULL, err);
    if (st != T0_OK) return st;
    ns = ns ? ns : "";
    const char *ons = kfake_str(obj, "metadata.namespace");
    if (ons && *ons && strcmp(ons, ns))
        return http_fail(err, T0_EINVAL, 400, "the namespace of the provided object does not match the namespace sent on the request");
    cJSON *o = cJSON_Duplicate(obj, 1);
    if (!o) return http_fail(err, T0_ENOMEM, 0, "create: out of memory");
    cJSON *md = obj_at(o, "metadata");
    char name[300];
    const char *nm = kfake_str(o, "metadata.name");
    const char *gn = kfake_str(o, "metadata.generateName");
    if ((!nm || !*nm) && gn && *gn) {
        for (int tries = 0; tries < 8; tries++) {
            gen_name(k, gn, name, sizeof name);
            if (!lookup(k, kind, ns, name)) break;
        }
    } else if (nm && *nm)
        t0_strlcpy(name, nm, sizeof name);
    else {
        cJSON_Delete(o);
        return http_fail(err, T0_EINVALID, 422, "%s \"\" is invalid: metadata.name: Required value: name or generateName is required",
                         kind_display[kind]);
    }
    if (strlen(name) >= sizeof name - 1) {
        cJSON_Delete(o);
        return http_fail(err, T0_EINVALID, 422, "%s is invalid: metadata.name: Invalid value: must be no more than 253 characters", kind_display[kind]);
    }
    st = validate(k, kind, o, name, NULL, err);
    if (st != T0_OK) {
        cJSON_Delete(o);
        return st;
    }
    if (lookup(k, kind, ns, name)) {
        cJSON_Delete(o);
        return http_fail(err, T0_EEXIST, 409, "%s \"%s\" already exists", kube_kind_name(kind), name);
    }
    kobj *ko = calloc(1, sizeof *ko);
    char uid[64], ts[32], rvb[32];
    snprintf(uid, sizeof uid, "00000000-0000-4000-8000-%012llx", (unsigned long long)++k->uid_counter);
    if (!ko) goto nomem;
    ko->kind = kind;
    ko->ns = strdup(ns);
    ko->name = strdup(name);
    ko->uid = strdup(uid);
    size_t klen = strlen(ns) + strlen(name) + 2;
    ko->key = malloc(klen);
    if (!ko->ns || !ko->name || !ko->uid || !ko->key) goto nomem;
    t0_strjoin(ko->key, klen, ns, "/", name);
    set_str(o, "apiVersion", kind_api[kind]);
    set_str(o, "kind", kube_kind_kind(kind));
    set_str(md, "name", name);
    set_str(md, "namespace", ns);
    set_str(md, "uid", uid);
    set_str(md, "creationTimestamp", now_str(k, ts, sizeof ts));
    set_num(md, "generation", 1);
    del_member(md, "deletionTimestamp");
    del_member(md, "deletionGracePeriodSeconds");
    rv_str(++k->rv, rvb, sizeof rvb);
    set_str(md, "resourceVersion", rvb);
    if (kind == KUBE_POD || kind == KUBE_JOB || kind == KUBE_CRONJOB) {
        del_member(o, "status");
        cJSON *status = T0_JSON_OBJ(o, "status");
        if (kind == KUBE_POD && status) T0_JSON_STR_STATIC(status, "phase", "Pending");
        if (kind == KUBE_POD) del_member(t0_json_get(o, "spec"), "nodeName");
    }
    apply_defaults(kind, o);
    if (!(ko->v = kver_new(o))) {
        o = NULL;
        goto nomem;
    }
    o = NULL;
    if (sim_map_put(&k->objs[kind], ko->key, ko, NULL) != T0_OK) goto nomem;
    if (sim_map_put(&k->by_uid, ko->uid, ko, NULL) != T0_OK) {
        sim_map_remove(&k->objs[kind], ko->key);
        goto nomem;
    }
    if (index_obj(k, ko) != T0_OK) {
        unindex(k, ko);
        sim_map_remove(&k->objs[kind], ko->key);
        sim_map_remove(&k->by_uid, ko->uid);
        goto nomem;
    }
    emit(k, KUBE_WATCH_ADDED, ko, NULL);
    /* a dependent created for owners that do not exist is garbage */
    const cJSON *it;
    bool orphaned = false, any = false;
    cJSON_ArrayForEach(it, t0_json_get(t0_json_get(ko->v->obj, "metadata"), "ownerReferences"))
    {
        const char *u = kfake_str(it, "uid");
        any = true;
        if (u && !sim_map_get(&k->by_uid, u)) {
            orphaned = true;
            gc_enqueue(k, u);
        }
    }
    (void)any, (void)orphaned;
    if (out) *out = hand_out(k, ko->v->obj);
    if (applied_to) return applied_timeout_err(kind, "create", err);
    return T0_OK;
nomem:
    cJSON_Delete(o);
    kobj_free(ko);
    return http_fail(err, T0_ENOMEM, 0, "create: out of memory");
}

static t0_status not_found(kube_kind kind, const char *name, t0_err *err)
{
    return http_fail(err, T0_ENOTFOUND, 404, "%s \"%s\" not found", kube_kind_name(kind), name ? name : "");
}

static t0_status do_get(void *ctx, kube_kind kind, const char *ns, const char *name, cJSON **out, t0_err *err)
{
    port_ctx *pc = ctx;
    if (out) *out = NULL;
    if (!kind_ok(kind)) return http_fail(err, T0_EINVAL, 400, "get: bad kind");
    t0_status st = fault_gate(pc, kind, "get", NULL, NULL, err);
    if (st != T0_OK) return st;
    kobj *o = lookup(pc->k, kind, ns, name);
    if (!o) return not_found(kind, name, err);
    if (out && !(*out = hand_out(pc->k, o->v->obj))) return http_fail(err, T0_ENOMEM, 0, "get: out of memory");
    return T0_OK;
}

static int cmp_kobj(const void *a, const void *b)
{
    const kobj *x = *(kobj *const *)a, *y = *(kobj *const *)b;
    int c = strcmp(x->ns, y->ns);
    return c ? c : strcmp(x->name, y->name);
}

/* Candidates for SEL: the smallest equality bucket, or every object of the kind. Owned array. */
static size_t candidates(kfake *k, kube_kind kind, const kfake_selector *sel, kobj ***out)
{
    ibucket *best = NULL;
    bool have_eq = false;
    for (size_t i = 0; sel && i < sel->n; i++) {
        const sel_req *r = &sel->reqs[i];
        if (!(r->op == SEL_EQ || (r->op == SEL_IN && r->nvals == 1))) continue;
        char key[700];
        label_index_key(kind, r->key, r->vals[0], key, sizeof key);
        ibucket *b = bucket_get(k, key, false);
        if (!b || !b->n) {
            *out = NULL;
            return 0;
        }
        if (!have_eq || b->n < best->n) best = b;
        have_eq = true;
    }
    size_t n = have_eq ? best->n : k->objs[kind].count;
    *out = NULL;
    if (!n) return 0;
    kobj **v = malloc(n * sizeof *v);
    if (!v) return 0;
    size_t i = 0;
    if (have_eq) {
        for (inode *nd = best->head; nd; nd = nd->next) v[i++] = nd->o;
    } else {
        size_t it;
        for (sim_map_entry *e = sim_map_first(&k->objs[kind], &it); e; e = sim_map_next(&k->objs[kind], &it, e))
            v[i++] = e->val;
    }
    *out = v;
    return i;
}

static void lsnap_free(lsnap *sn)
{
    if (!sn) return;
    for (size_t i = 0; i < sn->n; i++) kver_unref(sn->v[i]);
    free(sn->v);
    free(sn);
}

/* list_build: a List object of KIND at RV over the versions V[0..N) (borrowed): items are read-only
 * references into V when the cluster lends its objects (kfake_opts.lend_objects), copies otherwise. */
static cJSON *list_build(const kfake *k, kube_kind kind, uint64_t rv, kver *const *v, size_t n)
{
    cJSON *list = cJSON_CreateObject();
    char rvb[32], kindlist[48];
    rv_str(rv, rvb, sizeof rvb);
    snprintf(kindlist, sizeof kindlist, "%sList", kube_kind_kind(kind));
    cJSON_AddStringToObject(list, "apiVersion", kind_api[kind]);
    cJSON_AddStringToObject(list, "kind", kindlist);
    cJSON *lmd = cJSON_AddObjectToObject(list, "metadata");
    cJSON_AddStringToObject(lmd, "resourceVersion", rvb);
    cJSON *items = cJSON_AddArrayToObject(list, "items");
    if (!items) {
        cJSON_Delete(list);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        bool ok = k->opts.lend_objects ? cJSON_AddItemReferenceToArray(items, v[i]->obj)
                                         : cJSON_AddItemToArray(items, cJSON_Duplicate(v[i]->obj, 1));
        if (!ok) {
            cJSON_Delete(list);
            return NULL;
        }
    }
    return list;
}

static t0_status do_list(void *ctx, kube_kind kind, const char *ns, const char *selector, cJSON **out, t0_err *err)
{
    port_ctx *pc = ctx;
    kfake *k = pc->k;
    if (out) *out = NULL;
    if (!kind_ok(kind)) return http_fail(err, T0_EINVAL, 400, "list: bad kind");
    bool stale;
    t0_status st = fault_gate(pc, kind, "list", NULL, &stale, err);
    if (st != T0_OK) return st;
    char skey[700];
    snprintf(skey, sizeof skey, "%d|%s|%s", (int)kind, ns ? ns : "", selector ? selector : "");
    if (stale) {
        const lsnap *prev = sim_map_get(&k->stale, skey);
        if (prev) {
            if (out && !(*out = list_build(k, kind, prev->rv, prev->v, prev->n)))
                return http_fail(err, T0_ENOMEM, 0, "list: out of memory");
            return T0_OK;
        }
    }
    kfake_selector *sel = NULL;
    t0_err serr = {0};
    if (selector && *selector && kfake_selector_parse(selector, &sel, &serr) != T0_OK)
        return http_fail(err, T0_EINVAL, 400, "%s", serr.msg);
    kobj **cand;
    size_t n = candidates(k, kind, sel, &cand), m = 0;
    for (size_t i = 0; i < n; i++) {
        kobj *o = cand[i];
        if (ns && *ns && strcmp(o->ns, ns)) continue;
        if (!kfake_selector_matches(sel, t0_json_get(t0_json_get(o->v->obj, "metadata"), "labels")))
            continue;
        cand[m++] = o;
    }
    kfake_selector_free(sel);
    if (m > 1) qsort(cand, m, sizeof *cand, cmp_kobj);
    /* the versions served (kept as the stale snapshot when faults may ask for it) */
    kver **vers = m ? malloc(m * sizeof *vers) : NULL;
    if (m && !vers) {
        free(cand);
        return http_fail(err, T0_ENOMEM, 0, "list: out of memory");
    }
    for (size_t i = 0; i < m; i++) vers[i] = cand[i]->v;
    free(cand);
    cJSON *list = out ? list_build(k, kind, k->rv, vers, m) : NULL;
    if (pc->faults && k->faults) {
        lsnap *sn = calloc(1, sizeof *sn), *old = NULL;
        if (sn) {
            sn->rv = k->rv;
            sn->n = m;
            sn->v = vers;
            vers = NULL;
            for (size_t i = 0; i < m; i++) kver_ref(sn->v[i]);
            if (sim_map_put(&k->stale, skey, sn, (void **)&old) == T0_OK)
                lsnap_free(old);
            else
                lsnap_free(sn);
        }
    }
    free(vers);
    if (out && !list) return http_fail(err, T0_ENOMEM, 0, "list: out of memory");
    if (out) *out = list;
    return T0_OK;
}

/* store_update: replace O's object by NOBJ (owned; its reference members point into BASE, or NULL), bump
 * its resourceVersion, reindex unless the caller knows labels and owner references are unchanged
 * (SAME_LABELS), emit MODIFIED. */
static void store_update(kfake *k, kobj *o, cJSON *nobj, kver *base, bool same_labels)
{
    kver *old = kver_ref(o->v);
    stamp_rv(k, nobj); /* its metadata is its own even when it borrows from BASE */
    if (!kobj_set(o, nobj, base)) {
        kver_unref(old);
        return;
    }
    if (!same_labels) { /* labels and owner references are what the index holds */
        unindex(k, o);
        index_obj(k, o);
    }
    emit(k, KUBE_WATCH_MODIFIED, o, same_labels ? NULL : old);
    kver_unref(old);
}

static t0_status update_common(port_ctx *pc, kube_kind kind, const char *ns, const cJSON *obj, cJSON **give, cJSON **out,
                               bool status, t0_err *err);

/* do_update_common: update (STATUS false) or update_status. GIVE (status writes only; owned, consumed
 * whatever the outcome) is the new status when the caller hands it over instead of OBJ's being copied. */
static t0_status do_update_common(port_ctx *pc, kube_kind kind, const char *ns, const cJSON *obj, cJSON *give, cJSON **out,
                                  bool status, t0_err *err)
{
    t0_status st = update_common(pc, kind, ns, obj, &give, out, status, err);
    cJSON_Delete(give); /* not taken: a failed or no-op write */
    return st;
}

static t0_status update_common(port_ctx *pc, kube_kind kind, const char *ns, const cJSON *obj, cJSON **give, cJSON **out,
                               bool status, t0_err *err)
{
    kfake *k = pc->k;
    if (out) *out = NULL;
    const char *verb = status ? "update_status" : "update";
    if (!kind_ok(kind) || !cJSON_IsObject(obj)) return http_fail(err, T0_EINVAL, 400, "%s: bad kind or object", verb);
    bool applied_to;
    t0_status st = fault_gate(pc, kind, verb, &applied_to, NULL, err);
    if (st != T0_OK) return st;
    const cJSON *in_md = t0_json_get(obj, "metadata"); /* looked up once: every status write comes here */
    const char *name = kfake_str(in_md, "name");
    kobj *o = lookup(k, kind, ns, name);
    if (!o) return not_found(kind, name, err);
    const char *want_rv = kfake_str(in_md, "resourceVersion");
    const char *have_rv = kfake_str(o->v->obj, "metadata.resourceVersion");
    if (want_rv && *want_rv && strcmp(want_rv, have_rv))
        return http_fail(err, T0_ECONFLICT, 409,
                         "Operation cannot be fulfilled on %s \"%s\": the object has been modified; please apply your "
                         "changes to the latest version and try again",
                         kube_kind_name(kind), name);
    const char *want_uid = kfake_str(in_md, "uid");
    if (want_uid && *want_uid && strcmp(want_uid, o->uid))
        return http_fail(err, T0_ECONFLICT, 409, "Precondition failed: UID in precondition: %s, UID in object meta: %s", want_uid, o->uid);
    cJSON *n;
    if (status) {
        /* only the status changes: a write of the status already stored is a no-op */
        const cJSON *s = t0_json_get(obj, "status");
        const cJSON *os = t0_json_get(o->v->obj, "status");
        cJSON *nst = *give ? *give : s ? cJSON_Duplicate(s, 1) : cJSON_CreateObject();
        *give = NULL;
        if (!nst) return http_fail(err, T0_ENOMEM, 0, "update: out of memory");
        if (os && t0_json_equal(nst, os)) {
            cJSON_Delete(nst);
            if (out) *out = hand_out(k, o->v->obj);
            return applied_to ? applied_timeout_err(kind, verb, err) : T0_OK;
        }
        /* the new version: the new status, its own metadata, the spec shared (it does not change here) */
        kver *base;
        n = derive(o->v, "status", &base);
        if (!n) {
            cJSON_Delete(nst);
            return http_fail(err, T0_ENOMEM, 0, "update: out of memory");
        }
        t0_json_add_static(n, "status", nst);
        store_update(k, o, n, base, true); /* the metadata is a copy of the stored one */
        if (out) *out = hand_out(k, o->v->obj);
        return applied_to ? applied_timeout_err(kind, verb, err) : T0_OK;
    } else {
        n = cJSON_Duplicate(obj, 1);
        if (!n) return http_fail(err, T0_ENOMEM, 0, "update: out of memory");
        apply_defaults(kind, n);
        st = validate(k, kind, n, name, o, err);
        if (st != T0_OK) {
            cJSON_Delete(n);
            return st;
        }
        cJSON *md = obj_at(n, "metadata");
        const cJSON *omd = t0_json_get(o->v->obj, "metadata");
        const char *keep[] = {"uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "namespace", "name"};
        for (size_t i = 0; i < T0_ARRAY_LEN(keep); i++) {
            del_member(md, keep[i]);
            const cJSON *v = t0_json_get(omd, keep[i]);
            if (v) t0_json_add_static(md, keep[i], cJSON_Duplicate(v, 1)); /* keep[] holds literals */
        }
        set_str(n, "apiVersion", kind_api[kind]);
        set_str(n, "kind", kube_kind_kind(kind));
        del_member(n, "status");
        const cJSON *os = t0_json_get(o->v->obj, "status");
        if (os) t0_json_add_static(n, "status", cJSON_Duplicate(os, 1));
        if (kind == KUBE_POD) {
            /* nodeName is set only through binding */
            cJSON *spec = t0_json_get(n, "spec");
            del_member(spec, "nodeName");
            const char *node = kfake_str(o->v->obj, "spec.nodeName");
            if (node && spec) T0_JSON_STR(spec, "nodeName", node);
        }
        if (!t0_json_equal(t0_json_get(n, "spec"), t0_json_get(o->v->obj, "spec"))) {
            const cJSON *g = t0_json_get(omd, "generation");
            set_num(md, "generation", (cJSON_IsNumber(g) ? g->valuedouble : 1) + 1);
        }
    }
    /* a no-op write changes nothing (no new resourceVersion, no event) */
    set_str(obj_at(n, "metadata"), "resourceVersion", have_rv);
    if (t0_json_equal(n, o->v->obj)) {
        cJSON_Delete(n);
        if (out) *out = hand_out(k, o->v->obj);
        return applied_to ? applied_timeout_err(kind, verb, err) : T0_OK;
    }
    store_update(k, o, n, NULL, false);
    if (out) *out = hand_out(k, o->v->obj);
    /* finalizers removed from an object being deleted: it goes now */
    if (!status && kfake_str(o->v->obj, "metadata.deletionTimestamp") && !has_finalizers(o) && !o->pod_terminating &&
        !dependents_count(k, o->uid))
        remove_now(k, o);
    return applied_to ? applied_timeout_err(kind, verb, err) : T0_OK;
}

static t0_status do_update(void *ctx, kube_kind kind, const char *ns, const cJSON *obj, cJSON **out, t0_err *err)
{
    return do_update_common(ctx, kind, ns, obj, NULL, out, false, err);
}

static t0_status do_update_status(void *ctx, kube_kind kind, const char *ns, const cJSON *obj, cJSON **out, t0_err *err)
{
    return do_update_common(ctx, kind, ns, obj, NULL, out, true, err);
}

t0_status kfake_write_status(kfake *k, kube_kind kind, const char *ns, cJSON *obj, t0_err *err)
{
    cJSON *status = cJSON_DetachItemFromObjectCaseSensitive(obj, "status");
    t0_status st = do_update_common(&k->system, kind, ns, obj, status, NULL, true, err);
    cJSON_Delete(obj);
    return st;
}

static t0_status do_remove(void *ctx, kube_kind kind, const char *ns, const char *name, const kube_delete_opts *opts,
                           t0_err *err)
{
    port_ctx *pc = ctx;
    if (!kind_ok(kind)) return http_fail(err, T0_EINVAL, 400, "delete: bad kind");
    bool applied_to;
    t0_status st = fault_gate(pc, kind, "delete", &applied_to, NULL, err);
    if (st != T0_OK) return st;
    kobj *o = lookup(pc->k, kind, ns, name);
    if (!o) return not_found(kind, name, err);
    if (opts && opts->precondition_uid && *opts->precondition_uid && strcmp(opts->precondition_uid, o->uid))
        return http_fail(err, T0_ECONFLICT, 409,
                         "Operation cannot be fulfilled on %s \"%s\": Precondition failed: UID in precondition: %s, "
                         "UID in object meta: %s",
                         kube_kind_name(kind), name, opts->precondition_uid, o->uid);
    st = delete_obj(pc->k, o, opts ? opts->propagation : KUBE_PROP_DEFAULT, opts ? opts->grace_seconds : -1, err);
    if (st == T0_OK && applied_to) return applied_timeout_err(kind, "delete", err);
    return st;
}

static t0_status do_watch(void *ctx, kube_kind kind, const char *ns, const char *selector, const char *from_rv,
                          kube_watch_fn fn, void *ud, kube_watch **out, t0_err *err)
{
    port_ctx *pc = ctx;
    kfake *k = pc->k;
    *out = NULL;
    if (!kind_ok(kind) || !fn) return http_fail(err, T0_EINVAL, 400, "watch: bad kind or callback");
    char p[64];
    sim_fault_hit hit;
    bool gone = false;
    if (pc->faults && k->faults && sim_faults_check(k->faults, point(kind, "watch", p, sizeof p), &hit)) {
        if (hit.kind == SIM_FAULT_GONE)
            gone = true;
        else if (hit.status != T0_OK)
            return sim_faults_fail(&hit, p, err);
    }
    uint64_t from = 0;
    if (from_rv && *from_rv && strcmp(from_rv, "0") && !parse_rv(from_rv, &from))
        return http_fail(err, T0_EINVAL, 400, "watch: invalid resourceVersion \"%s\"", from_rv);
    kube_watch *w = calloc(1, sizeof *w);
    if (!w) return http_fail(err, T0_ENOMEM, 0, "watch: out of memory");
    w->k = k;
    w->kind = kind;
    w->fn = fn;
    w->ud = ud;
    w->faults = pc->faults && k->faults;
    if (ns && *ns && !(w->ns = strdup(ns))) {
        free(w);
        return http_fail(err, T0_ENOMEM, 0, "watch: out of memory");
    }
    t0_err serr = {0};
    if (selector && *selector && kfake_selector_parse(selector, &w->sel, &serr) != T0_OK) {
        free(w->ns);
        free(w);
        return http_fail(err, T0_EINVAL, 400, "%s", serr.msg);
    }
    w->next = k->watchers[kind];
    if (w->next) w->next->prev = w;
    k->watchers[kind] = w;
    if (from && from < k->evicted_rv[kind]) gone = true;
    if (gone) {
        watch_push(w, NULL, KUBE_WATCH_GONE);
    } else if (from) {
        size_t cap = (size_t)k->opts.watch_history;
        for (size_t i = 0; i < k->hist_len[kind]; i++) {
            wevent *e = k->hist[kind][(k->hist_head[kind] + i) % cap];
            if (e->rv <= from) continue;
            int t = watch_view(w, e);
            if (t >= 0) watch_push(w, e, (kube_watch_type)t);
        }
    }
    *out = w;
    return T0_OK;
}

static void do_unwatch(void *ctx, kube_watch *w)
{
    (void)ctx;
    if (!w) return;
    if (w->delivering) {
        w->dead = true;
        return;
    }
    watch_free(w);
}

/* ---- construction ----------------------------------------------------------------------------- */
t0_status kfake_new(sim_loop *loop, sim_faults *faults, const kfake_opts *opts, kfake **out, t0_err *err)
{
    kfake *k = calloc(1, sizeof *k);
    if (!k) return t0_fail(err, T0_ENOMEM, "kfake_new: out of memory");
    k->loop = loop;
    k->faults = faults;
    if (opts) k->opts = *opts;
    if (k->opts.watch_history <= 0) k->opts.watch_history = 100;
    if (k->opts.default_grace_s <= 0) k->opts.default_grace_s = 30;
    if (k->opts.watch_delay_ms < 0) k->opts.watch_delay_ms = 0;
    for (int i = 0; i < KUBE__KINDS; i++) {
        sim_map_init(&k->objs[i]);
        k->hist[i] = calloc((size_t)k->opts.watch_history, sizeof *k->hist[i]);
        if (!k->hist[i]) {
            kfake_destroy(k);
            return t0_fail(err, T0_ENOMEM, "kfake_new: out of memory");
        }
    }
    sim_map_init(&k->by_uid);
    sim_map_init(&k->index);
    sim_map_init(&k->stale);
    k->client = (port_ctx){k, true};
    k->system = (port_ctx){k, false};
    *out = k;
    return T0_OK;
}

void kfake_destroy(kfake *k)
{
    if (!k) return;
    for (int i = 0; i < KUBE__KINDS; i++) {
        while (k->watchers[i]) watch_free(k->watchers[i]);
        size_t it;
        for (sim_map_entry *e = sim_map_first(&k->objs[i], &it); e; e = sim_map_next(&k->objs[i], &it, e)) kobj_free(e->val);
        sim_map_free(&k->objs[i]);
        size_t cap = (size_t)k->opts.watch_history;
        for (size_t j = 0; k->hist[i] && j < k->hist_len[i]; j++) wevent_unref(k->hist[i][(k->hist_head[i] + j) % cap]);
        free(k->hist[i]);
    }
    size_t it;
    for (sim_map_entry *e = sim_map_first(&k->index, &it); e; e = sim_map_next(&k->index, &it, e)) free(e->val);
    for (sim_map_entry *e = sim_map_first(&k->stale, &it); e; e = sim_map_next(&k->stale, &it, e)) lsnap_free(e->val);
    sim_map_free(&k->index);
    sim_map_free(&k->stale);
    sim_map_free(&k->by_uid);
    if (k->gc_timer) sim_loop_cancel(k->loop, k->gc_timer);
    for (size_t i = 0; i < k->gc_len; i++) free(k->gc_queue[i]);
    free(k->gc_queue);
    free(k);
}

static kube_port make_port(port_ctx *pc)
{
    return (kube_port){.ctx = pc,
                       .create = do_create,
                       .get = do_get,
                       .list = do_list,
                       .update = do_update,
                       .update_status = do_update_status,
                       .remove = do_remove,
                       .watch = do_watch,
                       .unwatch = do_unwatch};
}

kube_port kfake_port(kfake *k) { return make_port(&k->client); }
kube_port kfake_system_port(kfake *k) { return make_port(&k->system); }

t0_status kfake_bind_pod(kfake *k, const char *ns, const char *name, const char *node, t0_err *err)
{
    kobj *o = lookup(k, KUBE_POD, ns, name);
    if (!o) return not_found(KUBE_POD, name, err);
    if (kfake_str(o->v->obj, "spec.nodeName"))
        return http_fail(err, T0_ECONFLICT, 409, "Operation cannot be fulfilled on pods/binding \"%s\": pod %s is already assigned to node \"%s\"",
                         name, name, kfake_str(o->v->obj, "spec.nodeName"));
    if (kfake_str(o->v->obj, "metadata.deletionTimestamp"))
        return http_fail(err, T0_ECONFLICT, 409, "pod %s is being deleted, cannot be assigned to a host", name);
    /* the bound version: its own metadata and a new spec object with nodeName; every other member, and
     * every other member of the spec, shared with the version before */
    cJSON *n = cJSON_CreateObject();
    bool ok = n != NULL;
    for (cJSON *c = o->v->obj->child; ok && c; c = c->next) {
        if (!strcmp(c->string, "metadata")) {
            ok = add_like(n, c, cJSON_Duplicate(c, 1));
        } else if (!strcmp(c->string, "spec") && cJSON_IsObject(c)) {
            cJSON *spec = T0_JSON_OBJ(n, "spec");
            ok = spec != NULL;
            for (cJSON *m = c->child; ok && m; m = m->next)
                if (strcmp(m->string, "nodeName") != 0) ok = add_like(spec, m, share(m));
            ok = ok && T0_JSON_STR(spec, "nodeName", node);
        } else {
            ok = add_like(n, c, share(c));
        }
    }
    if (ok && !t0_json_get(n, "spec")) ok = T0_JSON_STR(T0_JSON_OBJ(n, "spec"), "nodeName", node) != NULL;
    if (!ok) {
        cJSON_Delete(n);
        return http_fail(err, T0_ENOMEM, 0, "bind: out of memory");
    }
    store_update(k, o, n, o->v, true);
    return T0_OK;
}

const cJSON *kfake_peek(const kfake *k, kube_kind kind, const char *ns, const char *name)
{
    if (!kind_ok(kind)) return NULL;
    kobj *o = lookup((kfake *)k, kind, ns, name);
    return o ? o->v->obj : NULL;
}

size_t kfake_count(const kfake *k, kube_kind kind) { return kind_ok(kind) ? k->objs[kind].count : 0; }

size_t kfake_count_label(const kfake *k, kube_kind kind, const char *ns, const char *key, const char *value)
{
    char ik[700];
    label_index_key(kind, key, value, ik, sizeof ik);
    ibucket *b = sim_map_get(&k->index, ik);
    if (!b) return 0;
    if (!ns || !*ns) return b->n;
    size_t n = 0;
    for (inode *nd = b->head; nd; nd = nd->next) n += !strcmp(nd->o->ns, ns);
    return n;
}

size_t kfake_count_labels(const kfake *k, kube_kind kind, const char *ns, const char *key, const char *value,
                          const char *key2, const char *value2)
{
    char ik[700];
    label_index_key(kind, key, value, ik, sizeof ik);
    ibucket *b = sim_map_get(&k->index, ik);
    size_t n = 0;
    for (inode *nd = b ? b->head : NULL; nd; nd = nd->next) {
        if (ns && *ns && strcmp(nd->o->ns, ns)) continue;
        const cJSON *v = t0_json_get(t0_json_get(t0_json_get(nd->o->v->obj, "metadata"), "labels"), key2);
        n += cJSON_IsString(v) && !strcmp(v->valuestring, value2);
    }
    return n;
}

uint64_t kfake_resource_version(const kfake *k) { return k->rv; }

void kfake_set_observer(kfake *k, kfake_observer_fn fn, void *ud)
{
    k->observer = fn;
    k->observer_ud = ud;
}
