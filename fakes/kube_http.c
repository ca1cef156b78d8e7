/* kube_http.c: the fake cluster over the Kubernetes REST API; the contract is in kube_http.h. */
#include "fakes/kube_http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <cJSON.h>
#include <microhttpd.h>
#include <openssl/evp.h>

#include "core/log.h"
#include "core/ports.h"
#include "fakes/cronjob_ctl.h"
#include "fakes/kube_fake.h"
#include "fakes/kubelet.h"
#include "sim/loop.h"
#include "sim/map.h"

#define COMP "kube-http"
#define KH_MAX_BODY (16u << 20)       /* request bodies larger than this get 413 */
#define KH_MAX_WATCH_BUF (64u << 20)  /* a watch whose reader lags this far behind is ended */
#define KH_WATCH_DEFAULT_S 1800       /* the API server's default watch length (min-request-timeout) */
#define KH_OPENAPI_HASH "t0sim1"

/* ---- resources ------------------------------------------------------------------------------- */
typedef struct kh_res {
    const char *group, *version, *plural, *singular, *kind, *shortname;
    bool namespaced, all, has_status;
    int kkind; /* kube_kind served by kfake, or -1: the generic store */
} kh_res;

static const kh_res RES[] = {
    {"", "v1", "pods", "pod", "Pod", "po", true, true, true, KUBE_POD},
    {"", "v1", "events", "event", "Event", "ev", true, false, false, KUBE_EVENT},
    {"", "v1", "namespaces", "namespace", "Namespace", "ns", false, false, true, -1},
    {"", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", "sa", true, false, false, -1},
    {"", "v1", "secrets", "secret", "Secret", NULL, true, false, false, -1},
    {"", "v1", "configmaps", "configmap", "ConfigMap", "cm", true, false, false, -1},
    {"", "v1", "services", "service", "Service", "svc", true, true, true, -1},
    {"batch", "v1", "cronjobs", "cronjob", "CronJob", "cj", true, true, true, KUBE_CRONJOB},
    {"batch", "v1", "jobs", "job", "Job", NULL, true, true, true, KUBE_JOB},
    {"coordination.k8s.io", "v1", "leases", "lease", "Lease", NULL, true, false, false, KUBE_LEASE},
    {"apps", "v1", "deployments", "deployment", "Deployment", "deploy", true, true, true, -1},
    {"rbac.authorization.k8s.io", "v1", "roles", "role", "Role", NULL, true, false, false, -1},
    {"rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding", NULL, true, false, false, -1},
    {"rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", "ClusterRole", NULL, false, false, false, -1},
    {"rbac.authorization.k8s.io", "v1", "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", NULL, false,
     false, false, -1},
};
#define NRES (sizeof RES / sizeof RES[0])
/* the named API groups, in /apis order */
static const char *const GROUPS[] = {"apps", "batch", "coordination.k8s.io", "rbac.authorization.k8s.io"};
#define NGROUPS (sizeof GROUPS / sizeof GROUPS[0])

static const kh_res *find_res(const char *group, const char *version, const char *plural)
{
    for (size_t i = 0; i < NRES; i++)
        if (!strcmp(RES[i].group, group) && !strcmp(RES[i].version, version) && !strcmp(RES[i].plural, plural))
            return &RES[i];
    return NULL;
}

static bool known_gv(const char *group, const char *version)
{
    for (size_t i = 0; i < NRES; i++)
        if (!strcmp(RES[i].group, group) && !strcmp(RES[i].version, version)) return true;
    return false;
}

/* "v1" or "batch/v1" into BUF */
static const char *gv_of(const kh_res *r, char *buf, size_t cap)
{
    if (*r->group)
        snprintf(buf, cap, "%s/%s", r->group, r->version);
    else
        snprintf(buf, cap, "%s", r->version);
    return buf;
}

/* the qualified resource as the API server names it in messages: "pods", "cronjobs.batch" */
static const char *qres(const kh_res *r, char *buf, size_t cap)
{
    if (*r->group)
        snprintf(buf, cap, "%s.%s", r->plural, r->group);
    else
        snprintf(buf, cap, "%s", r->plural);
    return buf;
}

/* ---- the server ------------------------------------------------------------------------------- */
typedef struct kh_job {
    void (*fn)(struct khttp *h, void *ud);
    void *ud;
    bool wait; /* the poster waits for done (stack job); else the cluster thread frees the job */
    bool done;
    struct kh_job *next;
} kh_job;

typedef struct kh_watch kh_watch;

struct khttp {
    khttp_opts o;
    char host[64];
    /* cluster thread only (after start) */
    sim_loop *loop;
    kfake *kube;
    kubelet *kl;
    pkl *pk; /* serve --run-pods: the podman kubelet instead of kl */
    cronctl *cc;
    kube_port port;
    sim_map gen;    /* generic store: "plural/ns/name" -> cJSON * (owned) */
    uint64_t gen_rv, gen_uid;
    kh_watch *gwatch; /* watches on generic kinds */
    /* shared */
    pthread_mutex_t mu;
    pthread_cond_t wake; /* the cluster thread: work posted */
    pthread_cond_t done; /* posters: a job finished */
    kh_job *qhead, *qtail;
    bool quit;
    atomic_bool stopping;
    pthread_t thr;
    bool thr_started;
    struct MHD_Daemon *d;
    int bound_port;
    atomic_uint_fast64_t n_requests, n_watches, n_errors, n_open;
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timespec mono_deadline(int64_t in_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += in_ms / 1000;
    ts.tv_nsec += (in_ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
    return ts;
}

static void cond_init_mono(pthread_cond_t *c)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}

/* advance: bring the virtual clock to the wall clock, running every timer due by then. */
static void advance(khttp *h)
{
    int64_t now = wall_ms();
    int64_t vnow = sim_loop_now(h->loop);
    sim_loop_run_until(h->loop, now > vnow ? now : vnow);
}

static void *cluster_thread(void *arg)
{
    khttp *h = arg;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (!h->qhead && !h->quit) {
            int64_t now = wall_ms(), due, wait = 1000;
            if (sim_loop_next_due(h->loop, &due)) {
                if (due <= now) break;
                if (due - now < wait) wait = due - now;
            }
            struct timespec ts = mono_deadline(wait);
            pthread_cond_timedwait(&h->wake, &h->mu, &ts);
        }
        kh_job *jobs = h->qhead;
        h->qhead = h->qtail = NULL;
        bool quit = h->quit;
        pthread_mutex_unlock(&h->mu);
        advance(h);
        while (jobs) {
            kh_job *j = jobs;
            jobs = j->next;
            j->fn(h, j->ud);
            if (j->wait) {
                pthread_mutex_lock(&h->mu);
                j->done = true;
                pthread_cond_broadcast(&h->done);
                pthread_mutex_unlock(&h->mu);
            } else {
                free(j);
            }
        }
        pthread_mutex_lock(&h->mu);
        if (quit && !h->qhead) break;
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

static void post_job(khttp *h, kh_job *j)
{
    j->next = NULL;
    pthread_mutex_lock(&h->mu);
    if (h->qtail)
        h->qtail->next = j;
    else
        h->qhead = j;
    h->qtail = j;
    pthread_cond_signal(&h->wake);
    if (j->wait)
        while (!j->done) pthread_cond_wait(&h->done, &h->mu);
    pthread_mutex_unlock(&h->mu);
}

/* ---- small JSON helpers --------------------------------------------------------------------- */
static cJSON *obj_at(cJSON *o, const char *name)
{
    cJSON *c = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsObject(c)) {
        cJSON_DeleteItemFromObjectCaseSensitive(o, name);
        c = cJSON_AddObjectToObject(o, name);
    }
    return c;
}

static void set_str(cJSON *o, const char *name, const char *v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, name);
    cJSON_AddStringToObject(o, name, v);
}

static bool truthy(const char *s)
{
    return s && (!strcasecmp(s, "true") || !strcmp(s, "1"));
}

static int64_t ts_of(const cJSON *obj, const char *path)
{
    const char *s = kfake_str(obj, path);
    int64_t ms;
    return s && sim_parse_rfc3339(s, &ms) ? ms : INT64_MIN;
}

/* human_dur: Go's duration.HumanDuration, which kubectl's AGE columns use. */
static void human_dur(int64_t ms, char *b, size_t cap)
{
    long long s = (long long)(ms / 1000);
    if (s < -1) {
        snprintf(b, cap, "<invalid>");
        return;
    }
    if (s < 0) s = 0;
    if (s < 120) {
        snprintf(b, cap, "%llds", s);
        return;
    }
    long long m = s / 60, hr = s / 3600;
    if (m < 10) {
        if (s % 60 == 0)
            snprintf(b, cap, "%lldm", m);
        else
            snprintf(b, cap, "%lldm%llds", m, s % 60);
    } else if (m < 180) {
        snprintf(b, cap, "%lldm", m);
    } else if (hr < 8) {
        if (m % 60 == 0)
            snprintf(b, cap, "%lldh", hr);
        else
            snprintf(b, cap, "%lldh%lldm", hr, m % 60);
    } else if (hr < 48) {
        snprintf(b, cap, "%lldh", hr);
    } else if (hr < 24 * 8) {
        if (hr % 24 == 0)
            snprintf(b, cap, "%lldd", hr / 24);
        else
            snprintf(b, cap, "%lldd%lldh", hr / 24, hr % 24);
    } else if (hr < 24 * 365 * 2) {
        snprintf(b, cap, "%lldd", hr / 24);
    } else if (hr < 24 * 365 * 8) {
        long long dy = (hr / 24) % 365;
        if (dy == 0)
            snprintf(b, cap, "%lldy", hr / 24 / 365);
        else
            snprintf(b, cap, "%lldy%lldd", hr / 24 / 365, dy);
    } else {
        snprintf(b, cap, "%lldy", hr / 24 / 365);
    }
}

/* since: "5m" since the timestamp at PATH, or "<unknown>" when absent. */
static const char *since(khttp *h, const cJSON *obj, const char *path, char *b, size_t cap)
{
    int64_t t = ts_of(obj, path);
    if (t == INT64_MIN) {
        snprintf(b, cap, "<unknown>");
        return b;
    }
    human_dur(sim_loop_now(h->loop) - t, b, cap);
    return b;
}

/* ---- field selectors --------------------------------------------------------------------------- */
#define KH_FSEL_MAX 8
typedef struct fsel {
    size_t n;
    struct {
        char path[128], val[256];
        bool neg;
    } t[KH_FSEL_MAX];
} fsel;

static t0_status fsel_parse(const char *s, fsel *f, t0_err *err)
{
    memset(f, 0, sizeof *f);
    if (!s) return T0_OK;
    while (*s) {
        const char *end = strchr(s, ',');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        char term[400];
        if (n >= sizeof term || f->n == KH_FSEL_MAX) return t0_fail(err, T0_EINVAL, "field selector too long");
        memcpy(term, s, n);
        term[n] = 0;
        s += n + (end ? 1 : 0);
        if (!n) continue;
        char *op = strstr(term, "!=");
        size_t oplen = 2;
        bool neg = true;
        if (!op) {
            neg = false;
            op = strstr(term, "==");
            if (!op) op = strchr(term, '='), oplen = 1;
        }
        if (!op || op == term)
            return t0_fail(err, T0_EINVAL, "invalid field selector: '%s'", term);
        *op = 0;
        if (strlen(term) >= sizeof f->t[0].path || strlen(op + oplen) >= sizeof f->t[0].val)
            return t0_fail(err, T0_EINVAL, "field selector too long");
        strcpy(f->t[f->n].path, term);
        strcpy(f->t[f->n].val, op + oplen);
        f->t[f->n].neg = neg;
        f->n++;
    }
    return T0_OK;
}

static bool fsel_match(const fsel *f, const cJSON *obj)
{
    for (size_t i = 0; i < f->n; i++) {
        const char *v = kfake_str(obj, f->t[i].path);
        bool eq = !strcmp(v ? v : "", f->t[i].val);
        if (eq == f->t[i].neg) return false;
    }
    return true;
}

/* ---- the request ------------------------------------------------------------------------------- */
typedef struct kh_req {
    /* in: borrowed from the connection for the duration of the call */
    const char *method, *path;
    const char *body;
    size_t blen;
    const char *accept, *ctype;
    const char *q_label, *q_field, *q_rv, *q_watch, *q_timeout, *q_prop, *q_grace, *q_dryrun, *q_include;
    const char *q_container, *q_follow, *q_previous, *q_timestamps, *q_tail, *q_since;
    int fd;
    bool table;
    /* out: owned by the request */
    unsigned code;
    char *out;
    const char *out_ctype;
    kh_watch *watch;
    pkl_stream *logs; /* pods/log: streamed from podman logs */
} kh_req;

static void reply_json(kh_req *q, unsigned code, cJSON *obj)
{
    q->code = code;
    q->out = obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    q->out_ctype = "application/json";
    if (!q->out) {
        q->code = 500;
        q->out = strdup("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                        "\"message\":\"out of memory\",\"reason\":\"InternalError\",\"code\":500}");
    }
}

static void reply_text(kh_req *q, unsigned code, const char *text)
{
    q->code = code;
    q->out = strdup(text);
    q->out_ctype = "text/plain; charset=utf-8";
}

static cJSON *status_obj(int code, const char *reason, const char *msg, const kh_res *r, const char *name)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "kind", "Status");
    cJSON_AddStringToObject(s, "apiVersion", "v1");
    cJSON_AddObjectToObject(s, "metadata");
    cJSON_AddStringToObject(s, "status", "Failure");
    cJSON_AddStringToObject(s, "message", msg);
    cJSON_AddStringToObject(s, "reason", reason);
    if (r) {
        cJSON *d = cJSON_AddObjectToObject(s, "details");
        if (name && *name) cJSON_AddStringToObject(d, "name", name);
        if (*r->group) cJSON_AddStringToObject(d, "group", r->group);
        cJSON_AddStringToObject(d, "kind", r->plural);
    }
    cJSON_AddNumberToObject(s, "code", code);
    return s;
}

static void reply_status(kh_req *q, int code, const char *reason, const char *msg, const kh_res *r, const char *name)
{
    reply_json(q, (unsigned)code, status_obj(code, reason, msg, r, name));
}

static const char *reason_of(t0_status st, int *code)
{
    switch (st) {
    case T0_ENOTFOUND: *code = 404; return "NotFound";
    case T0_EEXIST: *code = 409; return "AlreadyExists";
    case T0_ECONFLICT: *code = 409; return "Conflict";
    case T0_EINVALID: *code = 422; return "Invalid";
    case T0_EINVAL: *code = 400; return "BadRequest";
    case T0_ETOOMANY: *code = 429; return "TooManyRequests";
    case T0_EGONE: *code = 410; return "Expired";
    case T0_ETIMEOUT: *code = 504; return "Timeout";
    case T0_EFORBIDDEN: *code = 403; return "Forbidden";
    case T0_EUNAVAILABLE: *code = 503; return "ServiceUnavailable";
    default: *code = 500; return "InternalError";
    }
}

/* qualify: kfake names resources by their plural only ("cronjobs \"x\" not found"); the API server
 * qualifies those of named groups ("cronjobs.batch \"x\" not found"). */
static void qualify(const kh_res *r, const char *msg, char *out, size_t cap)
{
    char pat[96];
    snprintf(pat, sizeof pat, "%s \"", r->plural);
    const char *p = *r->group ? strstr(msg, pat) : NULL;
    if (p && (p == msg || p[-1] == ' ')) {
        snprintf(out, cap, "%.*s%s.%s%s", (int)(p - msg), msg, r->plural, r->group, p + strlen(r->plural));
        return;
    }
    snprintf(out, cap, "%s", msg);
}

static void reply_err(kh_req *q, const kh_res *r, const char *name, t0_status st, const t0_err *err)
{
    int code;
    const char *reason = reason_of(st, &code);
    if (err && err->http_status >= 400 && err->http_status != code && st == T0_EINTERNAL) code = err->http_status;
    char msg[700];
    qualify(r, err && *err->msg ? err->msg : t0_status_name(st), msg, sizeof msg);
    reply_status(q, code, reason, msg, r, name);
}

/* ---- the generic store ---------------------------------------------------------------------- */
struct kh_watch {
    khttp *h;
    const kh_res *r;
    char ns[256];
    kube_watch *kw;         /* kfake kinds (cluster thread) */
    kfake_selector *lsel;   /* generic kinds (cluster thread) */
    fsel fs;
    bool table, headers_sent, include_object;
    char from_rv[32];
    kh_watch *gnext, *gprev; /* h->gwatch (cluster thread) */
    bool glisted;
    /* the stream, shared with the connection's thread under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *buf;
    size_t len, off, cap;
    bool ended;
    /* the connection's thread only */
    int fd;
    int64_t deadline;
};

static void kw_emit(kh_watch *w, const char *type, const cJSON *obj);
static void wire_fix(const kh_res *r, cJSON *o);

static void gkey(const kh_res *r, const char *ns, const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s/%s", r->plural, r->namespaced ? ns : "", name);
}

static void g_notify(khttp *h, const kh_res *r, const char *type, const cJSON *obj)
{
    const char *ns = kfake_str(obj, "metadata.namespace");
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "labels");
    for (kh_watch *w = h->gwatch; w; w = w->gnext) {
        if (w->r != r) continue;
        if (*w->ns && strcmp(w->ns, ns ? ns : "")) continue;
        if (w->lsel && !kfake_selector_matches(w->lsel, labels)) continue;
        kw_emit(w, type, obj);
    }
}

static bool dns_subdomain(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > 253 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1])) return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-' || s[i] == '.')) return false;
    return true;
}

static const char *kind_display(const kh_res *r, char *b, size_t cap)
{
    if (*r->group)
        snprintf(b, cap, "%s.%s", r->kind, r->group);
    else
        snprintf(b, cap, "%s", r->kind);
    return b;
}

/* g_defaults: what the API server's defaulting and strategies do for the generic kinds that matter. */
static void g_defaults(const kh_res *r, cJSON *o)
{
    if (!strcmp(r->kind, "Secret")) {
        cJSON *sd = cJSON_GetObjectItemCaseSensitive(o, "stringData");
        if (cJSON_IsObject(sd)) {
            cJSON *data = obj_at(o, "data");
            const cJSON *e;
            cJSON_ArrayForEach(e, sd)
            {
                if (!cJSON_IsString(e)) continue;
                size_t n = strlen(e->valuestring);
                char *b64 = malloc(4 * ((n + 2) / 3) + 1);
                if (!b64) continue;
                EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)e->valuestring, (int)n);
                set_str(data, e->string, b64);
                free(b64);
            }
        }
        cJSON_DeleteItemFromObjectCaseSensitive(o, "stringData");
        if (!kfake_str(o, "type")) cJSON_AddStringToObject(o, "type", "Opaque");
    } else if (!strcmp(r->kind, "Namespace")) {
        cJSON *spec = obj_at(o, "spec");
        if (!cJSON_GetObjectItemCaseSensitive(spec, "finalizers")) {
            cJSON *f = cJSON_AddArrayToObject(spec, "finalizers");
            cJSON_AddItemToArray(f, cJSON_CreateString("kubernetes"));
        }
        cJSON *st = obj_at(o, "status");
        if (!kfake_str(st, "phase")) cJSON_AddStringToObject(st, "phase", "Active");
    }
}

static t0_status g_create(khttp *h, const kh_res *r, const char *ns, const cJSON *obj, cJSON **out, t0_err *err)
{
    char kd[96], qr[96], key[800], name[300];
    const char *ons = kfake_str(obj, "metadata.namespace");
    if (r->namespaced && ons && *ons && strcmp(ons, ns))
        return t0_fail(err, T0_EINVAL, "the namespace of the provided object does not match the namespace sent on the request");
    const char *nm = kfake_str(obj, "metadata.name"), *gn = kfake_str(obj, "metadata.generateName");
    if ((!nm || !*nm) && gn && *gn) {
        static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
        for (int tries = 0; tries < 8; tries++) {
            char suf[6];
            for (int i = 0; i < 5; i++) suf[i] = alphabet[sim_rand_range(h->loop, 0, (int64_t)sizeof alphabet - 2)];
            suf[5] = 0;
            snprintf(name, sizeof name, "%.250s%s", gn, suf);
            gkey(r, ns, name, key, sizeof key);
            if (!sim_map_get(&h->gen, key)) break;
        }
    } else if (nm && *nm) {
        snprintf(name, sizeof name, "%s", nm);
    } else {
        return t0_fail(err, T0_EINVALID, "%s \"\" is invalid: metadata.name: Required value: name or generateName is required",
                       kind_display(r, kd, sizeof kd));
    }
    if (!dns_subdomain(name))
        return t0_fail(err, T0_EINVALID,
                       "%s \"%s\" is invalid: metadata.name: Invalid value: \"%s\": a lowercase RFC 1123 subdomain must "
                       "consist of lower case alphanumeric characters, '-' or '.', and must start and end with an "
                       "alphanumeric character (e.g. 'example.com', regex used for validation is "
                       "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                       kind_display(r, kd, sizeof kd), name, name);
    gkey(r, ns, name, key, sizeof key);
    if (sim_map_get(&h->gen, key)) return t0_fail(err, T0_EEXIST, "%s \"%s\" already exists", qres(r, qr, sizeof qr), name);
    cJSON *o = cJSON_Duplicate(obj, 1);
    if (!o) return t0_fail(err, T0_ENOMEM, "create: out of memory");
    char gv[64], buf[64];
    set_str(o, "apiVersion", gv_of(r, gv, sizeof gv));
    set_str(o, "kind", r->kind);
    cJSON *md = obj_at(o, "metadata");
    set_str(md, "name", name);
    if (r->namespaced)
        set_str(md, "namespace", ns);
    else
        cJSON_DeleteItemFromObjectCaseSensitive(md, "namespace");
    snprintf(buf, sizeof buf, "00000000-0000-4000-9000-%012" PRIx64, ++h->gen_uid);
    set_str(md, "uid", buf);
    snprintf(buf, sizeof buf, "%" PRIu64, ++h->gen_rv);
    set_str(md, "resourceVersion", buf);
    set_str(md, "creationTimestamp", sim_format_rfc3339(sim_loop_now(h->loop), buf, sizeof buf));
    cJSON_DeleteItemFromObjectCaseSensitive(md, "deletionTimestamp");
    cJSON_DeleteItemFromObjectCaseSensitive(md, "managedFields");
    if (cJSON_GetObjectItemCaseSensitive(o, "spec")) {
        cJSON_DeleteItemFromObjectCaseSensitive(md, "generation");
        cJSON_AddNumberToObject(md, "generation", 1);
    }
    g_defaults(r, o);
    if (sim_map_put(&h->gen, key, o, NULL) != T0_OK) {
        cJSON_Delete(o);
        return t0_fail(err, T0_ENOMEM, "create: out of memory");
    }
    g_notify(h, r, "ADDED", o);
    if (out && !(*out = cJSON_Duplicate(o, 1))) return t0_fail(err, T0_ENOMEM, "create: out of memory");
    return T0_OK;
}

static t0_status g_not_found(const kh_res *r, const char *name, t0_err *err)
{
    char qr[96];
    return t0_fail(err, T0_ENOTFOUND, "%s \"%s\" not found", qres(r, qr, sizeof qr), name ? name : "");
}

static t0_status g_get(khttp *h, const kh_res *r, const char *ns, const char *name, cJSON **out, t0_err *err)
{
    char key[800];
    gkey(r, ns, name, key, sizeof key);
    const cJSON *o = sim_map_get(&h->gen, key);
    if (!o) return g_not_found(r, name, err);
    if (out && !(*out = cJSON_Duplicate(o, 1))) return t0_fail(err, T0_ENOMEM, "get: out of memory");
    return T0_OK;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp((*(sim_map_entry *const *)a)->key, (*(sim_map_entry *const *)b)->key);
}

static t0_status g_list(khttp *h, const kh_res *r, const char *ns, const char *selector, cJSON **out, t0_err *err)
{
    kfake_selector *sel = NULL;
    t0_err serr = {0};
    if (selector && *selector && kfake_selector_parse(selector, &sel, &serr) != T0_OK)
        return t0_fail(err, T0_EINVAL, "%s", serr.msg);
    char prefix[400];
    if (r->namespaced && ns && *ns)
        snprintf(prefix, sizeof prefix, "%s/%s/", r->plural, ns);
    else
        snprintf(prefix, sizeof prefix, "%s/", r->plural);
    size_t plen = strlen(prefix), n = 0, it;
    sim_map_entry **v = malloc((h->gen.count + 1) * sizeof *v);
    cJSON *list = cJSON_CreateObject();
    cJSON *items = list ? cJSON_AddArrayToObject(list, "items") : NULL;
    if (!v || !items) {
        free(v);
        cJSON_Delete(list);
        kfake_selector_free(sel);
        return t0_fail(err, T0_ENOMEM, "list: out of memory");
    }
    for (sim_map_entry *e = sim_map_first(&h->gen, &it); e; e = sim_map_next(&h->gen, &it, e))
        if (!strncmp(e->key, prefix, plen)) v[n++] = e;
    if (n) qsort(v, n, sizeof *v, cmp_key);
    for (size_t i = 0; i < n; i++) {
        const cJSON *o = v[i]->val;
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "metadata"), "labels");
        if (sel && !kfake_selector_matches(sel, labels)) continue;
        cJSON_AddItemToArray(items, cJSON_Duplicate(o, 1));
    }
    free(v);
    kfake_selector_free(sel);
    char rv[32];
    snprintf(rv, sizeof rv, "%" PRIu64, h->gen_rv);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(list, "metadata"), "resourceVersion", rv);
    *out = list;
    return T0_OK;
}

static t0_status g_update(khttp *h, const kh_res *r, const char *ns, const cJSON *obj, bool status, cJSON **out,
                          t0_err *err)
{
    char key[800], qr[96], buf[64];
    const char *name = kfake_str(obj, "metadata.name");
    gkey(r, ns, name ? name : "", key, sizeof key);
    cJSON *cur = sim_map_get(&h->gen, key);
    if (!cur) return g_not_found(r, name, err);
    const char *want_rv = kfake_str(obj, "metadata.resourceVersion");
    if (want_rv && *want_rv && strcmp(want_rv, kfake_str(cur, "metadata.resourceVersion")))
        return t0_fail(err, T0_ECONFLICT,
                       "Operation cannot be fulfilled on %s \"%s\": the object has been modified; please apply your "
                       "changes to the latest version and try again",
                       qres(r, qr, sizeof qr), name);
    const char *want_uid = kfake_str(obj, "metadata.uid");
    if (want_uid && *want_uid && strcmp(want_uid, kfake_str(cur, "metadata.uid")))
        return t0_fail(err, T0_ECONFLICT, "Precondition failed: UID in precondition: %s, UID in object meta: %s", want_uid,
                       kfake_str(cur, "metadata.uid"));
    cJSON *n;
    if (status) {
        n = cJSON_Duplicate(cur, 1);
        if (n) {
            cJSON_DeleteItemFromObjectCaseSensitive(n, "status");
            const cJSON *s = cJSON_GetObjectItemCaseSensitive(obj, "status");
            cJSON_AddItemToObject(n, "status", s ? cJSON_Duplicate(s, 1) : cJSON_CreateObject());
        }
    } else {
        n = cJSON_Duplicate(obj, 1);
        if (n) {
            cJSON *md = obj_at(n, "metadata"), *cmd = cJSON_GetObjectItemCaseSensitive(cur, "metadata");
            static const char *const keep[] = {"uid", "creationTimestamp", "namespace", "deletionTimestamp"};
            for (size_t i = 0; i < T0_ARRAY_LEN(keep); i++) {
                cJSON_DeleteItemFromObjectCaseSensitive(md, keep[i]);
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(cmd, keep[i]);
                if (v) cJSON_AddItemToObject(md, keep[i], cJSON_Duplicate(v, 1));
            }
            cJSON_DeleteItemFromObjectCaseSensitive(md, "managedFields");
            const cJSON *gen = cJSON_GetObjectItemCaseSensitive(cmd, "generation");
            double g = cJSON_IsNumber(gen) ? gen->valuedouble : 0;
            if (!cJSON_Compare(cJSON_GetObjectItemCaseSensitive(cur, "spec"), cJSON_GetObjectItemCaseSensitive(n, "spec"), 1))
                g++;
            cJSON_DeleteItemFromObjectCaseSensitive(md, "generation");
            if (g > 0) cJSON_AddNumberToObject(md, "generation", g);
            if (r->has_status) {
                cJSON_DeleteItemFromObjectCaseSensitive(n, "status");
                const cJSON *s = cJSON_GetObjectItemCaseSensitive(cur, "status");
                if (s) cJSON_AddItemToObject(n, "status", cJSON_Duplicate(s, 1));
            }
            char gv[64];
            set_str(n, "apiVersion", gv_of(r, gv, sizeof gv));
            set_str(n, "kind", r->kind);
            g_defaults(r, n);
        }
    }
    if (!n) return t0_fail(err, T0_ENOMEM, "update: out of memory");
    snprintf(buf, sizeof buf, "%" PRIu64, ++h->gen_rv);
    set_str(obj_at(n, "metadata"), "resourceVersion", buf);
    if (sim_map_put(&h->gen, key, n, NULL) != T0_OK) {
        cJSON_Delete(n);
        return t0_fail(err, T0_ENOMEM, "update: out of memory");
    }
    cJSON_Delete(cur);
    g_notify(h, r, "MODIFIED", n);
    if (out && !(*out = cJSON_Duplicate(n, 1))) return t0_fail(err, T0_ENOMEM, "update: out of memory");
    return T0_OK;
}

static t0_status g_remove(khttp *h, const kh_res *r, const char *ns, const char *name, const kube_delete_opts *o,
                          t0_err *err)
{
    char key[800], buf[32];
    gkey(r, ns, name, key, sizeof key);
    cJSON *cur = sim_map_get(&h->gen, key);
    if (!cur) return g_not_found(r, name, err);
    if (o && o->precondition_uid && strcmp(o->precondition_uid, kfake_str(cur, "metadata.uid")))
        return t0_fail(err, T0_ECONFLICT, "Precondition failed: UID in precondition: %s, UID in object meta: %s",
                       o->precondition_uid, kfake_str(cur, "metadata.uid"));
    sim_map_remove(&h->gen, key);
    snprintf(buf, sizeof buf, "%" PRIu64, ++h->gen_rv);
    set_str(obj_at(cur, "metadata"), "resourceVersion", buf);
    g_notify(h, r, "DELETED", cur);
    cJSON_Delete(cur);
    return T0_OK;
}

/* ---- one store interface over kfake and the generic store ---------------------------------- */
static t0_status st_create(khttp *h, const kh_res *r, const char *ns, const cJSON *obj, cJSON **out, t0_err *err)
{
    if (r->kkind >= 0) return h->port.create(h->port.ctx, (kube_kind)r->kkind, ns, obj, out, err);
    return g_create(h, r, ns, obj, out, err);
}

static t0_status st_get(khttp *h, const kh_res *r, const char *ns, const char *name, cJSON **out, t0_err *err)
{
    if (r->kkind >= 0) return h->port.get(h->port.ctx, (kube_kind)r->kkind, ns, name, out, err);
    return g_get(h, r, ns, name, out, err);
}

static t0_status st_list(khttp *h, const kh_res *r, const char *ns, const char *sel, cJSON **out, t0_err *err)
{
    if (r->kkind >= 0) return h->port.list(h->port.ctx, (kube_kind)r->kkind, ns, sel, out, err);
    return g_list(h, r, ns, sel, out, err);
}

static t0_status st_update(khttp *h, const kh_res *r, const char *ns, const cJSON *obj, bool status, cJSON **out,
                           t0_err *err)
{
    if (r->kkind >= 0)
        return (status ? h->port.update_status : h->port.update)(h->port.ctx, (kube_kind)r->kkind, ns, obj, out, err);
    return g_update(h, r, ns, obj, status, out, err);
}

static t0_status st_remove(khttp *h, const kh_res *r, const char *ns, const char *name, const kube_delete_opts *o,
                           t0_err *err)
{
    if (r->kkind >= 0) return h->port.remove(h->port.ctx, (kube_kind)r->kkind, ns, name, o, err);
    return g_remove(h, r, ns, name, o, err);
}

/* ---- tables ---------------------------------------------------------------------------------- */
typedef struct kh_col {
    const char *name, *type, *format;
    int prio;
    const char *desc;
} kh_col;

static void add_cols(cJSON *t, const kh_col *c, size_t n)
{
    cJSON *a = cJSON_AddArrayToObject(t, "columnDefinitions");
    for (size_t i = 0; i < n; i++) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "name", c[i].name);
        cJSON_AddStringToObject(d, "type", c[i].type);
        cJSON_AddStringToObject(d, "format", c[i].format);
        cJSON_AddStringToObject(d, "description", c[i].desc);
        cJSON_AddNumberToObject(d, "priority", c[i].prio);
        cJSON_AddItemToArray(a, d);
    }
}

#define NAMECOL {"Name", "string", "name", 0, "Name must be unique within a namespace."}
#define AGECOL {"Age", "string", "", 0, "CreationTimestamp is a timestamp representing the server time when this object was created."}
static const kh_col POD_COLS[] = {
    NAMECOL,
    {"Ready", "string", "", 0, "The aggregate readiness state of this pod for accepting traffic."},
    {"Status", "string", "", 0, "The aggregate status of the containers in this pod."},
    {"Restarts", "string", "", 0, "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."},
    AGECOL,
    {"IP", "string", "", 1, "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated."},
    {"Node", "string", "", 1, "NodeName is a request to schedule this pod onto a specific node."},
    {"Nominated Node", "string", "", 1, "nominatedNodeName is set when this pod preempts other pods on the node."},
    {"Readiness Gates", "string", "", 1, "If specified, all readiness gates will be evaluated for pod readiness."},
};
static const kh_col CJ_COLS[] = {
    NAMECOL,
    {"Schedule", "string", "", 0, "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."},
    {"Suspend", "boolean", "", 0, "This flag tells the controller to suspend subsequent executions."},
    {"Active", "integer", "", 0, "A list of pointers to currently running jobs."},
    {"Last Schedule", "string", "", 0, "Information when was the last time the job was successfully scheduled."},
    AGECOL,
    {"Containers", "string", "", 1, "Names of each container in the template."},
    {"Images", "string", "", 1, "Images referenced by each container in the template."},
    {"Selector", "string", "", 1, "A label query over pods that should match the pod count."},
};
static const kh_col JOB_COLS[] = {
    NAMECOL,
    {"Completions", "string", "", 0, "The desired number of successfully finished pods the job should be run with."},
    {"Duration", "string", "", 0, "Time required to complete the job."},
    AGECOL,
    {"Containers", "string", "", 1, "Names of each container in the template."},
    {"Images", "string", "", 1, "Images referenced by each container in the template."},
    {"Selector", "string", "", 1, "A label query over pods that should match the pod count."},
};
static const kh_col LEASE_COLS[] = {NAMECOL, {"Holder", "string", "", 0, "The holder of the lease."}, AGECOL};
static const kh_col EVENT_COLS[] = {
    {"Last Seen", "string", "", 0, "Time when this event was last seen."},
    {"Type", "string", "", 0, "Type of this event (Normal, Warning)."},
    {"Reason", "string", "", 0, "Why the action was taken."},
    {"Object", "string", "", 0, "The object that this event is about."},
    {"Message", "string", "", 0, "A human-readable description of the status of this operation."},
    {"Name", "string", "name", 1, "Name must be unique within a namespace."},
};
static const kh_col NS_COLS[] = {NAMECOL, {"Status", "string", "", 0, "The status of the namespace"}, AGECOL};
static const kh_col GEN_COLS[] = {NAMECOL, AGECOL};

static void cols_of(const kh_res *r, const kh_col **c, size_t *n)
{
#define COLS(a) (*c = a, *n = T0_ARRAY_LEN(a))
    if (r->kkind == KUBE_POD)
        COLS(POD_COLS);
    else if (r->kkind == KUBE_CRONJOB)
        COLS(CJ_COLS);
    else if (r->kkind == KUBE_JOB)
        COLS(JOB_COLS);
    else if (r->kkind == KUBE_LEASE)
        COLS(LEASE_COLS);
    else if (r->kkind == KUBE_EVENT)
        COLS(EVENT_COLS);
    else if (!strcmp(r->plural, "namespaces"))
        COLS(NS_COLS);
    else
        COLS(GEN_COLS);
#undef COLS
}

static const cJSON *item(const cJSON *o, const char *a) { return cJSON_GetObjectItemCaseSensitive(o, a); }

static const cJSON *path_of(const cJSON *o, const char *p1, const char *p2)
{
    const cJSON *a = item(o, p1);
    return p2 ? item(a, p2) : a;
}

static void cell_s(cJSON *cells, const char *s) { cJSON_AddItemToArray(cells, cJSON_CreateString(s ? s : "")); }
static void cell_n(cJSON *cells, double v) { cJSON_AddItemToArray(cells, cJSON_CreateNumber(v)); }

/* pod_status: kubectl's printPod reason column (Init:x/y, waiting/terminated reasons, Terminating). */
static void pod_status(const cJSON *o, char *b, size_t cap, bool *initializing)
{
    const cJSON *st = item(o, "status"), *spec = item(o, "spec");
    const char *phase = kfake_str(st, "phase"), *reason = kfake_str(st, "reason");
    snprintf(b, cap, "%s", reason && *reason ? reason : phase ? phase : "Unknown");
    *initializing = false;
    const cJSON *ics = item(st, "initContainerStatuses"), *c;
    int ninit = cJSON_GetArraySize(item(spec, "initContainers")), i = 0;
    cJSON_ArrayForEach(c, ics)
    {
        const cJSON *term = path_of(c, "state", "terminated"), *wait = path_of(c, "state", "waiting");
        const cJSON *ec = item(term, "exitCode");
        if (term && cJSON_IsNumber(ec) && ec->valueint == 0) {
            i++;
            continue;
        }
        *initializing = true;
        const char *tr = kfake_str(term, "reason"), *wr = kfake_str(wait, "reason");
        if (term) {
            if (tr && *tr)
                snprintf(b, cap, "Init:%s", tr);
            else
                snprintf(b, cap, "Init:ExitCode:%d", cJSON_IsNumber(ec) ? ec->valueint : 0);
        } else if (wr && *wr && strcmp(wr, "PodInitializing")) {
            snprintf(b, cap, "Init:%s", wr);
        } else {
            snprintf(b, cap, "Init:%d/%d", i, ninit);
        }
        break;
    }
    if (!*initializing) {
        bool has_running = false;
        const cJSON *cs = item(st, "containerStatuses");
        for (int k = cJSON_GetArraySize(cs) - 1; k >= 0; k--) {
            c = cJSON_GetArrayItem(cs, k);
            const cJSON *term = path_of(c, "state", "terminated"), *wait = path_of(c, "state", "waiting");
            const char *tr = kfake_str(term, "reason"), *wr = kfake_str(wait, "reason");
            if (wr && *wr)
                snprintf(b, cap, "%s", wr);
            else if (tr && *tr)
                snprintf(b, cap, "%s", tr);
            else if (term)
                snprintf(b, cap, "ExitCode:%d", cJSON_IsNumber(item(term, "exitCode")) ? item(term, "exitCode")->valueint : 0);
            else if (cJSON_IsTrue(item(c, "ready")) && path_of(c, "state", "running"))
                has_running = true;
        }
        if (!strcmp(b, "Completed") && has_running) {
            bool ready = false;
            cJSON_ArrayForEach(c, item(st, "conditions"))
            {
                const char *t = kfake_str(c, "type"), *s = kfake_str(c, "status");
                if (t && s && !strcmp(t, "Ready") && !strcmp(s, "True")) ready = true;
            }
            snprintf(b, cap, "%s", ready ? "Running" : "NotReady");
        }
    }
    if (kfake_str(o, "metadata.deletionTimestamp")) {
        if (reason && !strcmp(reason, "NodeLost"))
            snprintf(b, cap, "Unknown");
        else
            snprintf(b, cap, "Terminating");
    }
}

static void row_pod(khttp *h, const cJSON *o, cJSON *cells)
{
    const cJSON *st = item(o, "status"), *c;
    int ready = 0, restarts = 0, total = cJSON_GetArraySize(path_of(o, "spec", "containers"));
    int64_t last_restart = INT64_MIN;
    char status[128], b[64], age[32];
    bool initializing;
    pod_status(o, status, sizeof status, &initializing);
    cJSON_ArrayForEach(c, item(st, initializing ? "initContainerStatuses" : "containerStatuses"))
    {
        const cJSON *rc = item(c, "restartCount");
        if (cJSON_IsNumber(rc)) restarts += rc->valueint;
        int64_t fin = ts_of(path_of(c, "lastState", "terminated"), "finishedAt");
        if (fin > last_restart) last_restart = fin;
    }
    cJSON_ArrayForEach(c, item(st, "containerStatuses")) if (cJSON_IsTrue(item(c, "ready"))) ready++;
    cell_s(cells, kfake_str(o, "metadata.name"));
    snprintf(b, sizeof b, "%d/%d", ready, total);
    cell_s(cells, b);
    cell_s(cells, status);
    if (restarts && last_restart != INT64_MIN) {
        human_dur(sim_loop_now(h->loop) - last_restart, age, sizeof age);
        snprintf(b, sizeof b, "%d (%s ago)", restarts, age);
    } else {
        snprintf(b, sizeof b, "%d", restarts);
    }
    cell_s(cells, b);
    cell_s(cells, since(h, o, "metadata.creationTimestamp", age, sizeof age));
    const char *ip = kfake_str(st, "podIP"), *node = kfake_str(o, "spec.nodeName");
    cell_s(cells, ip && *ip ? ip : "<none>");
    cell_s(cells, node && *node ? node : "<none>");
    const char *nom = kfake_str(st, "nominatedNodeName");
    cell_s(cells, nom && *nom ? nom : "<none>");
    cell_s(cells, "<none>");
}

/* containers/images/selector of a pod template, comma-separated */
static void template_cells(const cJSON *tmpl_spec, const cJSON *selector, cJSON *cells)
{
    char names[512] = "", images[1024] = "";
    const cJSON *c;
    cJSON_ArrayForEach(c, item(tmpl_spec, "containers"))
    {
        const char *n = kfake_str(c, "name"), *im = kfake_str(c, "image");
        size_t a = strlen(names), b = strlen(images);
        snprintf(names + a, sizeof names - a, "%s%s", a ? "," : "", n ? n : "");
        snprintf(images + b, sizeof images - b, "%s%s", b ? "," : "", im ? im : "");
    }
    cell_s(cells, names);
    cell_s(cells, images);
    char sel[512] = "";
    const cJSON *ml = item(selector, "matchLabels");
    cJSON_ArrayForEach(c, ml) if (cJSON_IsString(c))
    {
        size_t a = strlen(sel);
        snprintf(sel + a, sizeof sel - a, "%s%s=%s", a ? "," : "", c->string, c->valuestring);
    }
    cell_s(cells, *sel ? sel : "<none>");
}

static void row_cronjob(khttp *h, const cJSON *o, cJSON *cells)
{
    char b[32];
    cell_s(cells, kfake_str(o, "metadata.name"));
    cell_s(cells, kfake_str(o, "spec.schedule"));
    const cJSON *sus = path_of(o, "spec", "suspend");
    cell_s(cells, cJSON_IsBool(sus) ? (cJSON_IsTrue(sus) ? "True" : "False") : "<unset>");
    cell_n(cells, cJSON_GetArraySize(path_of(o, "status", "active")));
    if (kfake_str(o, "status.lastScheduleTime"))
        cell_s(cells, since(h, o, "status.lastScheduleTime", b, sizeof b));
    else
        cell_s(cells, "<none>");
    cell_s(cells, since(h, o, "metadata.creationTimestamp", b, sizeof b));
    const cJSON *js = path_of(path_of(o, "spec", "jobTemplate"), "spec", NULL);
    template_cells(path_of(item(js, "template"), "spec", NULL), item(js, "selector"), cells);
}

static void row_job(khttp *h, const cJSON *o, cJSON *cells)
{
    char b[64], d[32];
    cell_s(cells, kfake_str(o, "metadata.name"));
    const cJSON *succ = path_of(o, "status", "succeeded"), *comp = path_of(o, "spec", "completions");
    int s = cJSON_IsNumber(succ) ? succ->valueint : 0;
    if (cJSON_IsNumber(comp))
        snprintf(b, sizeof b, "%d/%d", s, comp->valueint);
    else
        snprintf(b, sizeof b, "%d/1", s);
    cell_s(cells, b);
    int64_t start = ts_of(o, "status.startTime"), end = ts_of(o, "status.completionTime");
    if (start == INT64_MIN)
        *d = 0;
    else
        human_dur((end != INT64_MIN ? end : sim_loop_now(h->loop)) - start, d, sizeof d);
    cell_s(cells, d);
    cell_s(cells, since(h, o, "metadata.creationTimestamp", b, sizeof b));
    template_cells(item(item(item(o, "spec"), "template"), "spec"), item(item(o, "spec"), "selector"), cells);
}

static void row_lease(khttp *h, const cJSON *o, cJSON *cells)
{
    char b[32];
    cell_s(cells, kfake_str(o, "metadata.name"));
    const char *holder = kfake_str(o, "spec.holderIdentity");
    cell_s(cells, holder ? holder : "");
    cell_s(cells, since(h, o, "metadata.creationTimestamp", b, sizeof b));
}

static void row_event(khttp *h, const cJSON *o, cJSON *cells)
{
    char b[32], obj[320];
    const char *last = kfake_str(o, "lastTimestamp") ? "lastTimestamp"
                       : kfake_str(o, "eventTime")   ? "eventTime"
                                                     : "metadata.creationTimestamp";
    cell_s(cells, since(h, o, last, b, sizeof b));
    cell_s(cells, kfake_str(o, "type"));
    cell_s(cells, kfake_str(o, "reason"));
    const char *k = kfake_str(o, "involvedObject.kind"), *n = kfake_str(o, "involvedObject.name");
    snprintf(obj, sizeof obj, "%s/%s", k ? k : "", n ? n : "");
    for (char *p = obj; *p && *p != '/'; p++) *p = (char)tolower((unsigned char)*p);
    cell_s(cells, obj);
    cell_s(cells, kfake_str(o, "message"));
    cell_s(cells, kfake_str(o, "metadata.name"));
}

static void row_generic(khttp *h, const kh_res *r, const cJSON *o, cJSON *cells)
{
    char b[32];
    cell_s(cells, kfake_str(o, "metadata.name"));
    if (!strcmp(r->plural, "namespaces")) {
        const char *ph = kfake_str(o, "status.phase");
        cell_s(cells, ph ? ph : "Active");
    }
    cell_s(cells, since(h, o, "metadata.creationTimestamp", b, sizeof b));
}

/* table_new: an empty meta.k8s.io/v1 Table for R; HEADERS = with columnDefinitions. */
static cJSON *table_new(const kh_res *r, bool headers, const char *rv)
{
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "kind", "Table");
    cJSON_AddStringToObject(t, "apiVersion", "meta.k8s.io/v1");
    cJSON *md = cJSON_AddObjectToObject(t, "metadata");
    if (rv) cJSON_AddStringToObject(md, "resourceVersion", rv);
    if (headers) {
        const kh_col *c;
        size_t n;
        cols_of(r, &c, &n);
        add_cols(t, c, n);
    } else {
        cJSON_AddArrayToObject(t, "columnDefinitions");
    }
    cJSON_AddArrayToObject(t, "rows");
    return t;
}

static void table_add(khttp *h, const kh_res *r, cJSON *t, const cJSON *o, bool include_object)
{
    cJSON *row = cJSON_CreateObject(), *cells = cJSON_AddArrayToObject(row, "cells");
    if (r->kkind == KUBE_POD)
        row_pod(h, o, cells);
    else if (r->kkind == KUBE_CRONJOB)
        row_cronjob(h, o, cells);
    else if (r->kkind == KUBE_JOB)
        row_job(h, o, cells);
    else if (r->kkind == KUBE_LEASE)
        row_lease(h, o, cells);
    else if (r->kkind == KUBE_EVENT)
        row_event(h, o, cells);
    else
        row_generic(h, r, o, cells);
    if (include_object) {
        cJSON *po = cJSON_AddObjectToObject(row, "object");
        cJSON_AddStringToObject(po, "kind", "PartialObjectMetadata");
        cJSON_AddStringToObject(po, "apiVersion", "meta.k8s.io/v1");
        const cJSON *md = item(o, "metadata");
        cJSON_AddItemToObject(po, "metadata", md ? cJSON_Duplicate(md, 1) : cJSON_CreateObject());
    }
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(t, "rows"), row);
}

/* ---- watch streams ---------------------------------------------------------------------------- */
/* kw_append: add one event line to the stream (cluster thread). A reader that lags too far is cut off. */
static void kw_append(kh_watch *w, char *line)
{
    size_t n = strlen(line);
    pthread_mutex_lock(&w->mu);
    if (!w->ended) {
        if (w->len + n + 1 > w->cap) {
            if (w->off) {
                memmove(w->buf, w->buf + w->off, w->len - w->off);
                w->len -= w->off;
                w->off = 0;
            }
            size_t cap = w->cap ? w->cap : 4096;
            while (cap < w->len + n + 1) cap *= 2;
            char *b = cap <= KH_MAX_WATCH_BUF ? realloc(w->buf, cap) : NULL;
            if (!b) {
                T0_WARN(COMP, "watch on %s: the client is too slow (%zu bytes queued); ending the stream", w->r->plural, w->len);
                w->ended = true;
                pthread_cond_signal(&w->cv);
                pthread_mutex_unlock(&w->mu);
                return;
            }
            w->buf = b;
            w->cap = cap;
        }
        memcpy(w->buf + w->len, line, n);
        w->buf[w->len + n] = '\n';
        w->len += n + 1;
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
}

static void kw_end(kh_watch *w)
{
    pthread_mutex_lock(&w->mu);
    w->ended = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void kw_emit(kh_watch *w, const char *type, const cJSON *obj)
{
    if (!fsel_match(&w->fs, obj)) return;
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "type", type);
    if (w->table) {
        cJSON *t = table_new(w->r, !w->headers_sent, kfake_str(obj, "metadata.resourceVersion"));
        table_add(w->h, w->r, t, obj, w->include_object);
        w->headers_sent = true;
        cJSON_AddItemToObject(ev, "object", t);
    } else {
        cJSON *d = cJSON_Duplicate(obj, 1);
        wire_fix(w->r, d);
        cJSON_AddItemToObject(ev, "object", d);
    }
    char *line = cJSON_PrintUnformatted(ev);
    cJSON_Delete(ev);
    if (line) kw_append(w, line);
    free(line);
}

/* kw_event: kfake's watch callback (cluster thread). */
static void kw_event(void *ud, kube_watch_type type, const cJSON *obj)
{
    kh_watch *w = ud;
    switch (type) {
    case KUBE_WATCH_ADDED: kw_emit(w, "ADDED", obj); break;
    case KUBE_WATCH_MODIFIED: kw_emit(w, "MODIFIED", obj); break;
    case KUBE_WATCH_DELETED: kw_emit(w, "DELETED", obj); break;
    case KUBE_WATCH_GONE: {
        char msg[128];
        snprintf(msg, sizeof msg, "too old resource version: %s (%" PRIu64 ")", w->from_rv,
                 kfake_resource_version(w->h->kube));
        cJSON *ev = cJSON_CreateObject();
        cJSON_AddStringToObject(ev, "type", "ERROR");
        cJSON_AddItemToObject(ev, "object", status_obj(410, "Expired", msg, NULL, NULL));
        char *line = cJSON_PrintUnformatted(ev);
        cJSON_Delete(ev);
        if (line) kw_append(w, line);
        free(line);
        kw_end(w);
        break;
    }
    case KUBE_WATCH_CLOSED: kw_end(w); break;
    }
}

/* kw_close: the stream's connection is done (cluster thread): unregister and free. */
static void kw_close(khttp *h, void *ud)
{
    kh_watch *w = ud;
    if (w->kw) h->port.unwatch(h->port.ctx, w->kw);
    if (w->glisted) {
        if (w->gprev)
            w->gprev->gnext = w->gnext;
        else
            h->gwatch = w->gnext;
        if (w->gnext) w->gnext->gprev = w->gprev;
    }
    kfake_selector_free(w->lsel);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->buf);
    free(w);
    atomic_fetch_sub(&h->n_open, 1);
}

/* peer_closed: whether the client hung up (checked while the stream is idle). */
static bool peer_closed(int fd)
{
    if (fd < 0) return false;
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
    if (poll(&p, 1, 0) <= 0) return false;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) return true;
    char c;
    return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/* kw_read: libmicrohttpd's content reader (the connection's thread): blocks until bytes, the end of the
 * stream, its deadline, the server stopping or the client hanging up. */
static ssize_t kw_read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    kh_watch *w = cls;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        if (w->off < w->len) {
            size_t n = w->len - w->off < max ? w->len - w->off : max;
            memcpy(out, w->buf + w->off, n);
            w->off += n;
            if (w->off == w->len) w->off = w->len = 0;
            pthread_mutex_unlock(&w->mu);
            return (ssize_t)n;
        }
        int64_t left = w->deadline - mono_ms();
        if (w->ended || atomic_load(&w->h->stopping) || left <= 0) {
            pthread_mutex_unlock(&w->mu);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        struct timespec ts = mono_deadline(left < 500 ? left : 500);
        if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) == ETIMEDOUT && w->off == w->len && peer_closed(w->fd)) {
            pthread_mutex_unlock(&w->mu);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
}

/* kw_free: libmicrohttpd is done with the stream (any thread): hand it back to the cluster thread. */
static void kw_free(void *cls)
{
    kh_watch *w = cls;
    kh_job *j = calloc(1, sizeof *j);
    if (!j) {
        /* cannot post: leak rather than free an object kfake may still call back into */
        T0_ERROR(COMP, "out of memory ending a watch stream");
        return;
    }
    j->fn = kw_close;
    j->ud = w;
    post_job(w->h, j);
}

/* ---- discovery and OpenAPI ------------------------------------------------------------------ */
static cJSON *resource_list(const char *group, const char *version)
{
    cJSON *l = cJSON_CreateObject();
    char gv[96];
    if (*group)
        snprintf(gv, sizeof gv, "%s/%s", group, version);
    else
        snprintf(gv, sizeof gv, "%s", version);
    cJSON_AddStringToObject(l, "kind", "APIResourceList");
    cJSON_AddStringToObject(l, "apiVersion", "v1");
    cJSON_AddStringToObject(l, "groupVersion", gv);
    cJSON *a = cJSON_AddArrayToObject(l, "resources");
    static const char *const verbs[] = {"create", "delete", "get", "list", "patch", "update", "watch"};
    static const char *const sverbs[] = {"get", "patch", "update"};
    for (size_t i = 0; i < NRES; i++) {
        const kh_res *r = &RES[i];
        if (strcmp(r->group, group) || strcmp(r->version, version)) continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", r->plural);
        cJSON_AddStringToObject(e, "singularName", r->singular);
        cJSON_AddBoolToObject(e, "namespaced", r->namespaced);
        cJSON_AddStringToObject(e, "kind", r->kind);
        cJSON_AddItemToObject(e, "verbs", cJSON_CreateStringArray(verbs, T0_ARRAY_LEN(verbs)));
        if (r->shortname) cJSON_AddItemToObject(e, "shortNames", cJSON_CreateStringArray(&r->shortname, 1));
        if (r->all) {
            static const char *const all[] = {"all"};
            cJSON_AddItemToObject(e, "categories", cJSON_CreateStringArray(all, 1));
        }
        cJSON_AddItemToArray(a, e);
        if (r->has_status) {
            char sub[96];
            snprintf(sub, sizeof sub, "%s/status", r->plural);
            e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "name", sub);
            cJSON_AddStringToObject(e, "singularName", "");
            cJSON_AddBoolToObject(e, "namespaced", r->namespaced);
            cJSON_AddStringToObject(e, "kind", r->kind);
            cJSON_AddItemToObject(e, "verbs", cJSON_CreateStringArray(sverbs, T0_ARRAY_LEN(sverbs)));
            cJSON_AddItemToArray(a, e);
        }
    }
    return l;
}

static cJSON *api_group(const char *g)
{
    cJSON *o = cJSON_CreateObject();
    char gv[96];
    snprintf(gv, sizeof gv, "%s/v1", g);
    cJSON_AddStringToObject(o, "name", g);
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "groupVersion", gv);
    cJSON_AddStringToObject(v, "version", "v1");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "versions"), v);
    cJSON_AddItemToObject(o, "preferredVersion", cJSON_Duplicate(v, 1));
    return o;
}

static cJSON *openapi_index(void)
{
    cJSON *o = cJSON_CreateObject(), *p = cJSON_AddObjectToObject(o, "paths");
    char key[128], url[160];
    cJSON *e = cJSON_AddObjectToObject(p, "api/v1");
    cJSON_AddStringToObject(e, "serverRelativeURL", "/openapi/v3/api/v1?hash=" KH_OPENAPI_HASH);
    for (size_t i = 0; i < NGROUPS; i++) {
        snprintf(key, sizeof key, "apis/%s/v1", GROUPS[i]);
        snprintf(url, sizeof url, "/openapi/v3/%s?hash=" KH_OPENAPI_HASH, key);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(p, key), "serverRelativeURL", url);
    }
    return o;
}

/* openapi_gv: one PATCH operation per resource, with the group-version-kind and the operation-level
 * fieldValidation parameter kubectl looks for (environment.md §6). */
static cJSON *openapi_gv(const char *group, const char *version)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "openapi", "3.0.0");
    cJSON *info = cJSON_AddObjectToObject(o, "info");
    cJSON_AddStringToObject(info, "title", "the0-sim serve");
    cJSON_AddStringToObject(info, "version", "v0");
    cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "components"), "schemas");
    cJSON *paths = cJSON_AddObjectToObject(o, "paths");
    for (size_t i = 0; i < NRES; i++) {
        const kh_res *r = &RES[i];
        if (strcmp(r->group, group) || strcmp(r->version, version)) continue;
        char path[256], prefix[128];
        if (*group)
            snprintf(prefix, sizeof prefix, "/apis/%s/%s", group, version);
        else
            snprintf(prefix, sizeof prefix, "/api/%s", version);
        if (r->namespaced)
            snprintf(path, sizeof path, "%s/namespaces/{namespace}/%s/{name}", prefix, r->plural);
        else
            snprintf(path, sizeof path, "%s/%s/{name}", prefix, r->plural);
        cJSON *patch = cJSON_AddObjectToObject(cJSON_AddObjectToObject(paths, path), "patch");
        cJSON *gvk = cJSON_AddObjectToObject(patch, "x-kubernetes-group-version-kind");
        cJSON_AddStringToObject(gvk, "group", r->group);
        cJSON_AddStringToObject(gvk, "version", r->version);
        cJSON_AddStringToObject(gvk, "kind", r->kind);
        cJSON *prm = cJSON_CreateObject();
        cJSON_AddStringToObject(prm, "name", "fieldValidation");
        cJSON_AddStringToObject(prm, "in", "query");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(prm, "schema"), "type", "string");
        cJSON_AddItemToArray(cJSON_AddArrayToObject(patch, "parameters"), prm);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(patch, "responses"), "200"), "description", "OK");
    }
    return o;
}

/* ---- patches ---------------------------------------------------------------------------------- */
static const char *merge_key(const cJSON *patch_array)
{
    static const char *const keys[] = {"name", "mountPath", "containerPort"};
    if (!cJSON_IsArray(patch_array) || !cJSON_GetArraySize(patch_array)) return NULL;
    for (size_t k = 0; k < T0_ARRAY_LEN(keys); k++) {
        bool all = true;
        const cJSON *e;
        cJSON_ArrayForEach(e, patch_array)
        {
            const cJSON *v = item(e, keys[k]);
            if (!cJSON_IsObject(e) || !(cJSON_IsString(v) || cJSON_IsNumber(v))) all = false;
        }
        if (all) return keys[k];
    }
    return NULL;
}

static bool same_key(const cJSON *a, const cJSON *b)
{
    if (cJSON_IsString(a) && cJSON_IsString(b)) return !strcmp(a->valuestring, b->valuestring);
    return cJSON_IsNumber(a) && cJSON_IsNumber(b) && a->valuedouble == b->valuedouble;
}

/* merge_patch: apply PATCH to TARGET (owned, consumed) and return the result: RFC 7386, or with
 * STRATEGIC the approximation of strategic merge described in kube_http.h. */
static cJSON *merge_patch(cJSON *target, const cJSON *patch, bool strategic)
{
    if (!cJSON_IsObject(patch)) {
        cJSON_Delete(target);
        return cJSON_Duplicate(patch, 1);
    }
    if (!cJSON_IsObject(target)) {
        cJSON_Delete(target);
        target = cJSON_CreateObject();
    }
    const cJSON *p;
    cJSON_ArrayForEach(p, patch)
    {
        if (strategic && p->string[0] == '$') continue;
        if (cJSON_IsNull(p)) {
            cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
            continue;
        }
        cJSON *t = cJSON_DetachItemFromObjectCaseSensitive(target, p->string);
        const char *mk = strategic && cJSON_IsArray(t) ? merge_key(p) : NULL;
        if (mk) {
            const cJSON *pe;
            cJSON_ArrayForEach(pe, p)
            {
                const char *dir = kfake_str(pe, "$patch");
                cJSON *te = t->child;
                int idx = 0;
                while (te && !(cJSON_IsObject(te) && same_key(item(te, mk), item(pe, mk)))) te = te->next, idx++;
                if (dir && !strcmp(dir, "delete")) {
                    if (te) cJSON_DeleteItemFromArray(t, idx);
                } else if (te) {
                    cJSON *m = merge_patch(cJSON_DetachItemFromArray(t, idx), pe, true);
                    cJSON_InsertItemInArray(t, idx, m);
                } else {
                    cJSON_AddItemToArray(t, merge_patch(NULL, pe, true));
                }
            }
            cJSON_AddItemToObject(target, p->string, t);
        } else {
            cJSON_AddItemToObject(target, p->string, merge_patch(t, p, strategic));
        }
    }
    return target;
}

/* wire_fix: fields the API server always sends that the simulated kubelet leaves out and strict clients
 * require (python3-kubernetes refuses a containerStatus without imageID). Applied to what is sent only. */
static void wire_fix(const kh_res *r, cJSON *o)
{
    if (r->kkind != KUBE_POD) return;
    static const char *const lists[] = {"containerStatuses", "initContainerStatuses"};
    cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "status");
    for (size_t i = 0; i < T0_ARRAY_LEN(lists); i++) {
        cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(st, lists[i]))
        {
            if (!cJSON_IsObject(c)) continue;
            if (!cJSON_GetObjectItemCaseSensitive(c, "imageID")) cJSON_AddStringToObject(c, "imageID", "");
            if (!cJSON_GetObjectItemCaseSensitive(c, "image")) cJSON_AddStringToObject(c, "image", "");
        }
    }
}

/* ---- request handling (cluster thread) ------------------------------------------------------ */
typedef struct kh_target {
    const kh_res *r;
    const char *ns, *name, *sub;
} kh_target;

static cJSON *parse_body(kh_req *q, const kh_res *r)
{
    cJSON *b = q->body && q->blen ? cJSON_ParseWithLength(q->body, q->blen) : NULL;
    if (!cJSON_IsObject(b)) {
        cJSON_Delete(b);
        reply_status(q, 400, "BadRequest", "the request body is not a JSON object (the0-sim serve accepts JSON only)", r, NULL);
        return NULL;
    }
    return b;
}

static bool refuse_dry_run(kh_req *q, const kh_res *r)
{
    if (q->q_dryrun && *q->q_dryrun) {
        reply_status(q, 400, "BadRequest", "dryRun is not supported by the0-sim serve", r, NULL);
        return true;
    }
    return false;
}

static void reply_obj(khttp *h, kh_req *q, const kh_res *r, unsigned code, cJSON *obj)
{
    if (q->table && code == 200) {
        cJSON *t = table_new(r, true, kfake_str(obj, "metadata.resourceVersion"));
        table_add(h, r, t, obj, true);
        cJSON_Delete(obj);
        reply_json(q, code, t);
        return;
    }
    wire_fix(r, obj);
    reply_json(q, code, obj);
}

static void do_list(khttp *h, kh_req *q, const kh_target *t)
{
    t0_err err = {0};
    fsel fs;
    if (fsel_parse(q->q_field, &fs, &err) != T0_OK) return reply_err(q, t->r, NULL, T0_EINVAL, &err);
    cJSON *list = NULL;
    t0_status st = st_list(h, t->r, t->ns ? t->ns : "", q->q_label, &list, &err);
    if (st != T0_OK) return reply_err(q, t->r, NULL, st, &err);
    cJSON *items = cJSON_GetObjectItemCaseSensitive(list, "items");
    if (!cJSON_IsArray(items)) {
        cJSON_DeleteItemFromObjectCaseSensitive(list, "items");
        items = cJSON_AddArrayToObject(list, "items");
    }
    if (fs.n)
        for (cJSON *it = items->child; it;) {
            cJSON *next = it->next;
            if (!fsel_match(&fs, it)) cJSON_Delete(cJSON_DetachItemViaPointer(items, it));
            it = next;
        }
    const char *rv = kfake_str(list, "metadata.resourceVersion");
    if (q->table) {
        bool inc = !q->q_include || strcasecmp(q->q_include, "None");
        cJSON *tb = table_new(t->r, true, rv);
        const cJSON *it;
        cJSON_ArrayForEach(it, items) table_add(h, t->r, tb, it, inc);
        cJSON_Delete(list);
        return reply_json(q, 200, tb);
    }
    cJSON *it;
    cJSON_ArrayForEach(it, items) wire_fix(t->r, it);
    char gv[64], kind[96];
    snprintf(kind, sizeof kind, "%sList", t->r->kind);
    set_str(list, "kind", kind);
    set_str(list, "apiVersion", gv_of(t->r, gv, sizeof gv));
    reply_json(q, 200, list);
}

static void do_watch(khttp *h, kh_req *q, const kh_target *t)
{
    t0_err err = {0};
    kh_watch *w = calloc(1, sizeof *w);
    if (!w) return reply_status(q, 500, "InternalError", "out of memory", t->r, NULL);
    w->h = h;
    w->r = t->r;
    w->fd = q->fd;
    w->table = q->table;
    w->include_object = !q->q_include || strcasecmp(q->q_include, "None");
    snprintf(w->ns, sizeof w->ns, "%s", t->ns ? t->ns : "");
    pthread_mutex_init(&w->mu, NULL);
    cond_init_mono(&w->cv);
    long secs = q->q_timeout ? strtol(q->q_timeout, NULL, 10) : 0;
    w->deadline = mono_ms() + (secs > 0 ? secs : KH_WATCH_DEFAULT_S) * 1000;
    atomic_fetch_add(&h->n_open, 1);
    t0_status st = fsel_parse(q->q_field, &w->fs, &err);
    const char *rv = q->q_rv;
    char list_rv[32] = "";
    if (st == T0_OK && (!rv || !*rv || !strcmp(rv, "0"))) {
        /* "from now" in the API server's sense: the current objects as ADDED, then the changes */
        cJSON *list = NULL;
        st = st_list(h, t->r, w->ns, q->q_label, &list, &err);
        if (st == T0_OK) {
            snprintf(list_rv, sizeof list_rv, "%s", kfake_str(list, "metadata.resourceVersion") ? kfake_str(list, "metadata.resourceVersion") : "");
            const cJSON *it;
            cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(list, "items")) kw_emit(w, "ADDED", it);
        }
        cJSON_Delete(list);
        rv = list_rv;
    }
    snprintf(w->from_rv, sizeof w->from_rv, "%s", rv ? rv : "");
    if (st == T0_OK) {
        if (t->r->kkind >= 0) {
            st = h->port.watch(h->port.ctx, (kube_kind)t->r->kkind, w->ns, q->q_label, rv, kw_event, w, &w->kw, &err);
        } else {
            t0_err serr = {0};
            if (q->q_label && *q->q_label && kfake_selector_parse(q->q_label, &w->lsel, &serr) != T0_OK)
                st = t0_fail(&err, T0_EINVAL, "%s", serr.msg);
            else {
                w->gnext = h->gwatch;
                if (h->gwatch) h->gwatch->gprev = w;
                h->gwatch = w;
                w->glisted = true;
            }
        }
    }
    if (st != T0_OK) {
        kw_close(h, w);
        return reply_err(q, t->r, NULL, st, &err);
    }
    q->code = 200;
    q->watch = w;
}

static void do_get(khttp *h, kh_req *q, const kh_target *t)
{
    t0_err err = {0};
    cJSON *o = NULL;
    t0_status st = st_get(h, t->r, t->ns, t->name, &o, &err);
    if (st != T0_OK) return reply_err(q, t->r, t->name, st, &err);
    reply_obj(h, q, t->r, 200, o);
}

static void set_identity(cJSON *b, const kh_target *t, const char *name)
{
    cJSON *md = obj_at(b, "metadata");
    if (name && !kfake_str(md, "name")) set_str(md, "name", name);
    if (t->r->namespaced && !kfake_str(md, "namespace")) set_str(md, "namespace", t->ns);
}

static void do_create(khttp *h, kh_req *q, const kh_target *t)
{
    if (refuse_dry_run(q, t->r)) return;
    cJSON *b = parse_body(q, t->r);
    if (!b) return;
    set_identity(b, t, NULL);
    t0_err err = {0};
    cJSON *o = NULL;
    t0_status st = st_create(h, t->r, t->r->namespaced ? t->ns : "", b, &o, &err);
    const char *nm = kfake_str(b, "metadata.name");
    if (st != T0_OK) {
        reply_err(q, t->r, nm, st, &err);
    } else {
        q->table = false;
        reply_obj(h, q, t->r, 201, o);
    }
    cJSON_Delete(b);
}

static void do_update(khttp *h, kh_req *q, const kh_target *t)
{
    if (refuse_dry_run(q, t->r)) return;
    cJSON *b = parse_body(q, t->r);
    if (!b) return;
    const char *bn = kfake_str(b, "metadata.name");
    if (bn && strcmp(bn, t->name)) {
        char msg[700];
        snprintf(msg, sizeof msg, "the name of the object (%.300s) does not match the name on the URL (%.300s)", bn, t->name);
        cJSON_Delete(b);
        return reply_status(q, 400, "BadRequest", msg, t->r, t->name);
    }
    set_identity(b, t, t->name);
    t0_err err = {0};
    cJSON *o = NULL;
    t0_status st = st_update(h, t->r, t->r->namespaced ? t->ns : "", b, t->sub != NULL, &o, &err);
    cJSON_Delete(b);
    if (st != T0_OK) return reply_err(q, t->r, t->name, st, &err);
    q->table = false;
    reply_obj(h, q, t->r, 200, o);
}

static void do_patch(khttp *h, kh_req *q, const kh_target *t)
{
    if (refuse_dry_run(q, t->r)) return;
    const char *ct = q->ctype ? q->ctype : "";
    bool apply = !strncmp(ct, "application/apply-patch", 23);
    bool merge = !strncmp(ct, "application/merge-patch+json", 28);
    bool strategic = !strncmp(ct, "application/strategic-merge-patch+json", 38);
    if (!apply && !merge && !strategic) {
        char msg[300];
        snprintf(msg, sizeof msg, "the body of the request was in an unknown format - accepted media types include: "
                                  "application/merge-patch+json, application/strategic-merge-patch+json, "
                                  "application/apply-patch+yaml (got %.100s)", *ct ? ct : "none");
        return reply_status(q, 415, "UnsupportedMediaType", msg, t->r, t->name);
    }
    cJSON *patch = parse_body(q, t->r);
    if (!patch) return;
    const char *ns = t->r->namespaced ? t->ns : "";
    t0_err err = {0};
    cJSON *cur = NULL, *o = NULL;
    t0_status st = st_get(h, t->r, ns, t->name, &cur, &err);
    if (st == T0_ENOTFOUND && apply && !t->sub) {
        const char *pn = kfake_str(patch, "metadata.name");
        if (pn && strcmp(pn, t->name)) {
            cJSON_Delete(patch);
            return reply_status(q, 400, "BadRequest", "the name of the object does not match the name on the URL", t->r, t->name);
        }
        set_identity(patch, t, t->name);
        err = (t0_err){0};
        st = st_create(h, t->r, ns, patch, &o, &err);
        cJSON_Delete(patch);
        if (st != T0_OK) return reply_err(q, t->r, t->name, st, &err);
        q->table = false;
        return reply_obj(h, q, t->r, 201, o);
    }
    if (st != T0_OK) {
        cJSON_Delete(patch);
        return reply_err(q, t->r, t->name, st, &err);
    }
    cJSON *m = merge_patch(cur, patch, !merge);
    cJSON_Delete(patch);
    cJSON *md = obj_at(m, "metadata");
    set_str(md, "name", t->name);
    if (t->r->namespaced) set_str(md, "namespace", t->ns);
    st = st_update(h, t->r, ns, m, t->sub != NULL, &o, &err);
    cJSON_Delete(m);
    if (st != T0_OK) return reply_err(q, t->r, t->name, st, &err);
    q->table = false;
    reply_obj(h, q, t->r, 200, o);
}

static bool parse_prop(const char *s, kube_propagation *p)
{
    if (!strcmp(s, "Background"))
        *p = KUBE_PROP_BACKGROUND;
    else if (!strcmp(s, "Foreground"))
        *p = KUBE_PROP_FOREGROUND;
    else if (!strcmp(s, "Orphan"))
        *p = KUBE_PROP_ORPHAN;
    else
        return false;
    return true;
}

static void do_delete(khttp *h, kh_req *q, const kh_target *t)
{
    if (refuse_dry_run(q, t->r)) return;
    kube_delete_opts o = {.propagation = KUBE_PROP_DEFAULT, .grace_seconds = -1};
    cJSON *b = q->body && q->blen ? cJSON_ParseWithLength(q->body, q->blen) : NULL;
    if (q->body && q->blen && !cJSON_IsObject(b)) {
        cJSON_Delete(b);
        return reply_status(q, 400, "BadRequest", "the DeleteOptions body is not a JSON object", t->r, t->name);
    }
    const cJSON *dr = item(b, "dryRun");
    if (cJSON_GetArraySize(dr) > 0) {
        cJSON_Delete(b);
        return reply_status(q, 400, "BadRequest", "dryRun is not supported by the0-sim serve", t->r, t->name);
    }
    const char *prop = kfake_str(b, "propagationPolicy");
    if (!prop) prop = q->q_prop;
    if (prop && *prop && !parse_prop(prop, &o.propagation)) {
        char msg[200];
        snprintf(msg, sizeof msg, "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"%.60s\": "
                                  "supported values: \"Foreground\", \"Background\", \"Orphan\"", prop);
        cJSON_Delete(b);
        return reply_status(q, 422, "Invalid", msg, t->r, t->name);
    }
    const cJSON *g = item(b, "gracePeriodSeconds");
    if (cJSON_IsNumber(g))
        o.grace_seconds = (int64_t)g->valuedouble;
    else if (q->q_grace && *q->q_grace)
        o.grace_seconds = strtoll(q->q_grace, NULL, 10);
    o.precondition_uid = kfake_str(item(b, "preconditions"), "uid");
    const char *ns = t->r->namespaced ? t->ns : "";
    t0_err err = {0};
    cJSON *before = NULL, *after = NULL;
    t0_status st = st_get(h, t->r, ns, t->name, &before, &err);
    if (st == T0_OK) st = st_remove(h, t->r, ns, t->name, &o, &err);
    cJSON_Delete(b);
    if (st != T0_OK) {
        cJSON_Delete(before);
        return reply_err(q, t->r, t->name, st, &err);
    }
    q->table = false;
    if (st_get(h, t->r, ns, t->name, &after, NULL) == T0_OK) {
        cJSON_Delete(before);
        return reply_obj(h, q, t->r, 200, after);
    }
    reply_obj(h, q, t->r, 200, before);
}

static void not_found_path(kh_req *q)
{
    reply_status(q, 404, "NotFound", "the server could not find the requested resource", NULL, NULL);
}

static void method_not_allowed(kh_req *q, const kh_res *r)
{
    reply_status(q, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource", r, NULL);
}

/* do_log: pods/NAME/log, served by the podman kubelet (serve --run-pods). */
static void do_log(khttp *h, kh_req *q, const kh_target *t)
{
    if (!h->pk)
        return reply_status(q, 400, "BadRequest",
                            "the0-sim serve runs no containers: pod logs need serve --run-pods", t->r, t->name);
    pkl_log_req lr = {.ns = t->ns, .name = t->name, .container = q->q_container, .follow = truthy(q->q_follow),
                      .previous = truthy(q->q_previous), .timestamps = truthy(q->q_timestamps),
                      .tail_lines = q->q_tail ? atol(q->q_tail) : -1, .since_seconds = q->q_since ? atol(q->q_since) : 0};
    t0_err err = {0};
    t0_status st = pkl_logs(h->pk, &lr, &q->logs, &err);
    if (st == T0_ENOTFOUND) return reply_status(q, 404, "NotFound", err.msg, t->r, t->name);
    if (st != T0_OK) return reply_status(q, st == T0_EINVAL ? 400 : 500, st == T0_EINVAL ? "BadRequest" : "InternalError", err.msg, NULL, NULL);
}

static void serve_resource(khttp *h, kh_req *q, const char *group, const char *version, char **r, int m)
{
    kh_target t = {0};
    if (m >= 3 && !strcmp(r[0], "namespaces") && find_res(group, version, r[2])) {
        if (m > 5) return not_found_path(q);
        t.ns = r[1];
        t.r = find_res(group, version, r[2]);
        t.name = m > 3 ? r[3] : NULL;
        t.sub = m > 4 ? r[4] : NULL;
    } else {
        if (m > 3) return not_found_path(q);
        t.r = find_res(group, version, r[0]);
        t.name = m > 1 ? r[1] : NULL;
        t.sub = m > 2 ? r[2] : NULL;
    }
    if (!t.r || (t.ns && !t.r->namespaced) || (!t.ns && t.r->namespaced && t.name)) return not_found_path(q);
    if (t.sub && !strcmp(t.sub, "log") && t.r->kkind == KUBE_POD && t.name && !strcmp(q->method, "GET"))
        return do_log(h, q, &t);
    if (t.sub && (strcmp(t.sub, "status") || !t.r->has_status)) return not_found_path(q);
    if (!t.ns) t.ns = "";
    const char *m_ = q->method;
    if (!strcmp(m_, "GET")) {
        if (t.name) return do_get(h, q, &t);
        if (truthy(q->q_watch)) return do_watch(h, q, &t);
        return do_list(h, q, &t);
    }
    if (!strcmp(m_, "POST") && !t.name && !t.sub) return do_create(h, q, &t);
    if (!strcmp(m_, "PUT") && t.name) return do_update(h, q, &t);
    if (!strcmp(m_, "PATCH") && t.name) return do_patch(h, q, &t);
    if (!strcmp(m_, "DELETE") && t.name && !t.sub) return do_delete(h, q, &t);
    method_not_allowed(q, t.r);
}

static void serve_req(khttp *h, void *ud)
{
    kh_req *q = ud;
    char path[2048];
    snprintf(path, sizeof path, "%s", q->path);
    char *seg[12];
    int n = 0;
    for (char *s = strtok(path, "/"); s; s = strtok(NULL, "/")) {
        if (n == (int)T0_ARRAY_LEN(seg)) return not_found_path(q);
        seg[n++] = s;
    }
    bool get = !strcmp(q->method, "GET");
    if (n == 1 && get && (!strcmp(seg[0], "healthz") || !strcmp(seg[0], "livez") || !strcmp(seg[0], "readyz")))
        return reply_text(q, 200, "ok");
    if (n == 1 && get && !strcmp(seg[0], "version")) {
        cJSON *v = cJSON_CreateObject();
        cJSON_AddStringToObject(v, "major", "1");
        cJSON_AddStringToObject(v, "minor", "30");
        cJSON_AddStringToObject(v, "gitVersion", "v1.30.0");
        cJSON_AddStringToObject(v, "gitCommit", "the0-sim");
        cJSON_AddStringToObject(v, "gitTreeState", "clean");
        cJSON_AddStringToObject(v, "buildDate", "2026-01-01T00:00:00Z");
        cJSON_AddStringToObject(v, "goVersion", "go1.22.0");
        cJSON_AddStringToObject(v, "compiler", "gc");
        cJSON_AddStringToObject(v, "platform", "linux/amd64");
        return reply_json(q, 200, v);
    }
    if (n >= 1 && !strcmp(seg[0], "openapi")) {
        if (!get) return method_not_allowed(q, NULL);
        if (n == 2 && !strcmp(seg[1], "v3")) return reply_json(q, 200, openapi_index());
        if (n == 4 && !strcmp(seg[1], "v3") && !strcmp(seg[2], "api") && known_gv("", seg[3]))
            return reply_json(q, 200, openapi_gv("", seg[3]));
        if (n == 5 && !strcmp(seg[1], "v3") && !strcmp(seg[2], "apis") && known_gv(seg[3], seg[4]))
            return reply_json(q, 200, openapi_gv(seg[3], seg[4]));
        return not_found_path(q);
    }
    if (n >= 1 && !strcmp(seg[0], "api")) {
        if (n == 1) {
            if (!get) return method_not_allowed(q, NULL);
            cJSON *v = cJSON_CreateObject();
            cJSON_AddStringToObject(v, "kind", "APIVersions");
            static const char *const vs[] = {"v1"};
            cJSON_AddItemToObject(v, "versions", cJSON_CreateStringArray(vs, 1));
            cJSON *a = cJSON_CreateObject();
            char addr[96];
            snprintf(addr, sizeof addr, "%s:%d", h->host, h->bound_port);
            cJSON_AddStringToObject(a, "clientCIDR", "0.0.0.0/0");
            cJSON_AddStringToObject(a, "serverAddress", addr);
            cJSON_AddItemToArray(cJSON_AddArrayToObject(v, "serverAddressByClientCIDRs"), a);
            return reply_json(q, 200, v);
        }
        if (!known_gv("", seg[1])) return not_found_path(q);
        if (n == 2) return get ? reply_json(q, 200, resource_list("", seg[1])) : method_not_allowed(q, NULL);
        return serve_resource(h, q, "", seg[1], seg + 2, n - 2);
    }
    if (n >= 1 && !strcmp(seg[0], "apis")) {
        if (n == 1) {
            if (!get) return method_not_allowed(q, NULL);
            cJSON *l = cJSON_CreateObject();
            cJSON_AddStringToObject(l, "kind", "APIGroupList");
            cJSON_AddStringToObject(l, "apiVersion", "v1");
            cJSON *g = cJSON_AddArrayToObject(l, "groups");
            for (size_t i = 0; i < NGROUPS; i++) cJSON_AddItemToArray(g, api_group(GROUPS[i]));
            return reply_json(q, 200, l);
        }
        if (n == 2) {
            for (size_t i = 0; i < NGROUPS; i++)
                if (!strcmp(seg[1], GROUPS[i])) {
                    cJSON *g = api_group(GROUPS[i]);
                    cJSON_AddStringToObject(g, "kind", "APIGroup");
                    cJSON_AddStringToObject(g, "apiVersion", "v1");
                    return reply_json(q, 200, g);
                }
            return not_found_path(q);
        }
        if (!known_gv(seg[1], seg[2])) return not_found_path(q);
        if (n == 3) return get ? reply_json(q, 200, resource_list(seg[1], seg[2])) : method_not_allowed(q, NULL);
        return serve_resource(h, q, seg[1], seg[2], seg + 3, n - 3);
    }
    not_found_path(q);
}

/* ---- HTTP (connection threads) ---------------------------------------------------------------- */
typedef struct kh_conn {
    char *body;
    size_t len, cap;
    bool too_big;
} kh_conn;

static const char *arg(struct MHD_Connection *c, const char *k)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, k);
}

static enum MHD_Result queue_text(struct MHD_Connection *c, unsigned code, const char *ctype, char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", ctype);
    MHD_add_response_header(r, "Cache-Control", "no-cache, private");
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

/* pods/log streams: libmicrohttpd's reader and free callbacks over the podman kubelet's stream. */
typedef struct log_reader_ctx {
    khttp *h;
    pkl_stream *s;
} log_reader_ctx;

static ssize_t log_read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    log_reader_ctx *lc = cls;
    ssize_t n = pkl_stream_read(lc->s, out, max, &lc->h->stopping);
    return n > 0 ? n : n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void log_free(void *cls)
{
    log_reader_ctx *lc = cls;
    pkl_stream_close(lc->s);
    free(lc);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    khttp *h = cls;
    kh_conn *cc = *con_cls;
    if (!cc) {
        if (!(cc = calloc(1, sizeof *cc))) return MHD_NO;
        *con_cls = cc;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (cc->too_big || cc->len + n > KH_MAX_BODY) {
            cc->too_big = true;
            return MHD_YES;
        }
        if (cc->len + n + 1 > cc->cap) {
            size_t cap = cc->cap ? cc->cap : 4096;
            while (cap < cc->len + n + 1) cap *= 2;
            char *b = realloc(cc->body, cap);
            if (!b) return MHD_NO;
            cc->body = b;
            cc->cap = cap;
        }
        memcpy(cc->body + cc->len, upload, n);
        cc->len += n;
        cc->body[cc->len] = 0;
        return MHD_YES;
    }
    int64_t t0 = mono_ms();
    atomic_fetch_add(&h->n_requests, 1);
    kh_req q = {0};
    q.method = method;
    q.path = url;
    q.body = cc->body;
    q.blen = cc->len;
    q.accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
    q.ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    q.table = q.accept && strstr(q.accept, "as=Table");
    q.q_label = arg(c, "labelSelector");
    q.q_field = arg(c, "fieldSelector");
    q.q_rv = arg(c, "resourceVersion");
    q.q_watch = arg(c, "watch");
    q.q_timeout = arg(c, "timeoutSeconds");
    q.q_prop = arg(c, "propagationPolicy");
    q.q_grace = arg(c, "gracePeriodSeconds");
    q.q_dryrun = arg(c, "dryRun");
    q.q_include = arg(c, "includeObject");
    q.q_container = arg(c, "container");
    q.q_follow = arg(c, "follow");
    q.q_previous = arg(c, "previous");
    q.q_timestamps = arg(c, "timestamps");
    q.q_tail = arg(c, "tailLines");
    q.q_since = arg(c, "sinceSeconds");
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    q.fd = ci ? ci->connect_fd : -1;
    if (cc->too_big) {
        reply_status(&q, 413, "RequestEntityTooLarge", "the request body is too large", NULL, NULL);
    } else {
        kh_job j = {.fn = serve_req, .ud = &q, .wait = true};
        post_job(h, &j);
    }
    if (!q.watch && !q.out && !q.logs) reply_status(&q, 500, "InternalError", "the0-sim serve: no answer for this request", NULL, NULL);
    enum MHD_Result ret;
    if (q.logs) {
        q.code = 200;
        log_reader_ctx *lc = calloc(1, sizeof *lc);
        struct MHD_Response *r = lc ? MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, log_read, lc, log_free) : NULL;
        if (!r) {
            free(lc);
            pkl_stream_close(q.logs);
            return MHD_NO;
        }
        lc->s = q.logs;
        lc->h = h;
        MHD_add_response_header(r, "Content-Type", "text/plain");
        MHD_add_response_header(r, "Cache-Control", "no-cache, private");
        ret = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
    } else if (q.watch) {
        atomic_fetch_add(&h->n_watches, 1);
        struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, kw_read, q.watch, kw_free);
        if (!r) {
            kw_free(q.watch);
            return MHD_NO;
        }
        MHD_add_response_header(r, "Content-Type", "application/json");
        MHD_add_response_header(r, "Cache-Control", "no-cache, private");
        ret = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
    } else {
        if (q.code >= 400) atomic_fetch_add(&h->n_errors, 1);
        ret = queue_text(c, q.code, q.out_ctype, q.out);
    }
    if (h->o.access_log) {
        const char *qs = q.q_watch ? " watch" : "";
        fprintf(stderr, "kube-http: %s %s%s%s%s -> %u %.1f ms%s\n", method, url, q.q_label ? " labelSelector=" : "",
                q.q_label ? q.q_label : "", q.table ? " (Table)" : "", q.code, (double)(mono_ms() - t0), qs);
    }
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    kh_conn *cc = *con_cls;
    if (cc) {
        free(cc->body);
        free(cc);
        *con_cls = NULL;
    }
}

/* mhd_log: libmicrohttpd's messages (e.g. "Closing connection" after a watch client hung up) at debug. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n') msg[--n] = 0;
    T0_DEBUG(COMP, "libmicrohttpd: %s", msg);
}

/* ---- lifecycle -------------------------------------------------------------------------------- */
static void free_cluster(khttp *h)
{
    cronctl_destroy(h->cc);
    kubelet_destroy(h->kl);
    pkl_destroy(h->pk);
    kfake_destroy(h->kube);
    size_t it;
    for (sim_map_entry *e = sim_map_first(&h->gen, &it); e; e = sim_map_next(&h->gen, &it, e)) cJSON_Delete(e->val);
    sim_map_free(&h->gen);
    sim_loop_destroy(h->loop);
}

/* ---- serve --run-pods: what the podman kubelet borrows from the server ---------------------------- */
typedef struct kh_post {
    void (*fn)(void *ud);
    void *ud;
} kh_post;

static void host_post_run(khttp *h, void *ud)
{
    (void)h;
    kh_post *p = ud;
    p->fn(p->ud);
    free(p);
}

/* host_post: any thread; the job and its adapter are freed once they ran */
static void host_post(void *ctx, void (*fn)(void *ud), void *ud)
{
    kh_post *p = malloc(sizeof *p);
    kh_job *j = calloc(1, sizeof *j);
    if (!p || !j) {
        free(p);
        free(j);
        T0_ERROR(COMP, "out of memory posting a kubelet job");
        return;
    }
    p->fn = fn;
    p->ud = ud;
    j->fn = host_post_run;
    j->ud = p;
    post_job(ctx, j);
}

static cJSON *host_get(void *ctx, const char *plural, const char *ns, const char *name)
{
    const kh_res *r = find_res("", "v1", plural);
    cJSON *o = NULL;
    if (!r || g_get(ctx, r, ns, name, &o, NULL) != T0_OK) return NULL;
    return o;
}

static t0_status start_run_pods(khttp *h, t0_err *err)
{
    pkl_opts o = *h->o.run_pods;
    if (!o.nodes) o.nodes = h->o.nodes ? h->o.nodes : 1;
    pkl_host host = {.ctx = h, .post = host_post, .get = host_get};
    return pkl_new(h->kube, &host, &o, &h->pk, err);
}

t0_status khttp_start(const khttp_opts *opts, khttp **out, t0_err *err)
{
    *out = NULL;
    khttp *h = calloc(1, sizeof *h);
    if (!h) return t0_fail(err, T0_ENOMEM, "serve: out of memory");
    if (opts) h->o = *opts;
    snprintf(h->host, sizeof h->host, "%s", h->o.host && *h->o.host ? h->o.host : "127.0.0.1");
    sim_map_init(&h->gen);
    pthread_mutex_init(&h->mu, NULL);
    cond_init_mono(&h->wake);
    pthread_cond_init(&h->done, NULL);
    t0_status st = sim_loop_new(h->o.seed, wall_ms(), &h->loop, err);
    if (st == T0_OK) st = kfake_new(h->loop, NULL, NULL, &h->kube, err);
    if (st == T0_OK) {
        h->port = kfake_port(h->kube);
        if (h->o.run_pods)
            st = start_run_pods(h, err);
        else
            st = kubelet_new(h->loop, h->kube, NULL, &h->kl, err);
    }
    if (st == T0_OK) st = cronctl_new(h->loop, h->kube, NULL, &h->cc, err);
    for (unsigned i = 1; st == T0_OK && h->kl && i <= h->o.nodes; i++) {
        char n[32];
        snprintf(n, sizeof n, "node-%u", i);
        st = kubelet_add_node(h->kl, n, err);
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)h->o.port)};
    if (st == T0_OK && inet_pton(AF_INET, h->host, &sa.sin_addr) != 1)
        st = t0_fail(err, T0_EINVAL, "serve: listen address '%s' is not an IPv4 address", h->host);
    if (st != T0_OK) goto fail;
    if (pthread_create(&h->thr, NULL, cluster_thread, h) != 0) {
        st = t0_fail(err, T0_EIO, "serve: cannot start the cluster thread");
        goto fail;
    }
    h->thr_started = true;
    h->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
                                MHD_USE_ERROR_LOG,
                            (uint16_t)h->o.port, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, &sa,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_CONNECTION_TIMEOUT, 0u,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
                            MHD_OPTION_END);
    if (!h->d) {
        st = t0_fail(err, T0_EIO, "serve: cannot listen on %s:%d (%s)", h->host, h->o.port, strerror(errno));
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->bound_port = di ? di->port : h->o.port;
    *out = h;
    return T0_OK;
fail:
    khttp_stop(h);
    return st;
}

int khttp_port(const khttp *h)
{
    return h->bound_port;
}

void khttp_get_stats(khttp *h, khttp_stats *out)
{
    out->requests = atomic_load(&h->n_requests);
    out->watches = atomic_load(&h->n_watches);
    out->errors = atomic_load(&h->n_errors);
    out->watches_open = atomic_load(&h->n_open);
}

void khttp_stop(khttp *h)
{
    if (!h) return;
    /* readers see `stopping` within 500 ms and end their streams; MHD then joins every connection
     * thread, and each stream's free callback posts its unwatch to the still-running cluster thread */
    atomic_store(&h->stopping, true);
    if (h->d) MHD_stop_daemon(h->d);
    if (h->pk && h->thr_started) pkl_shutdown(h->pk); /* its workers post to the cluster thread: still running */
    if (h->thr_started) {
        pthread_mutex_lock(&h->mu);
        h->quit = true;
        pthread_cond_signal(&h->wake);
        pthread_mutex_unlock(&h->mu);
        pthread_join(h->thr, NULL);
    }
    free_cluster(h);
    pthread_cond_destroy(&h->done);
    pthread_cond_destroy(&h->wake);
    pthread_mutex_destroy(&h->mu);
    free(h);
}
