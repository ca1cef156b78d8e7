/* kube_http_impl.h: the HTTP front's internals, shared by its files (kube_http.c: server, threads and
 * routing; kube_http_verbs.c: the resource verbs and Status answers; kube_http_watch.c: watch streams;
 * kube_http_table.c: Table answers; kube_http_discovery.c: discovery and OpenAPI; kube_http_patch.c:
 * patches) and by nothing else: kube_http.h is the contract. */
#ifndef T0_FAKES_KUBE_HTTP_IMPL_H
#define T0_FAKES_KUBE_HTTP_IMPL_H

#include <pthread.h>
#include <sys/types.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <cJSON.h>

#include "core/ports.h"
#include "fakes/cronjob_ctl.h"
#include "fakes/kube_fake.h"
#include "fakes/kube_http.h"
#include "fakes/kubelet.h"
#include "fakes/podman_kubelet.h"
#include "sim/loop.h"

#define KH_COMP "kube-http"
#define KH_MAX_BODY (3u << 20)        /* request bodies larger than this get 413 (the API server's 3 MiB) */
#define KH_MAX_OBJECT (3u << 19)      /* objects larger than this are refused as etcd refuses them (1.5 MiB) */
#define KH_MAX_WATCH_BUF (64u << 20)  /* a watch whose reader lags this far behind is ended */
#define KH_WATCH_DEFAULT_S 1800       /* the API server's default watch length (min-request-timeout) */
#define KH_OPENAPI_HASH "t0sim1"

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
    kfake *kube; /* every resource served lives in its one store */
    kubelet *kl;
    pkl *pk; /* serve --run-pods: the podman kubelet instead of kl */
    cronctl *cc;
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

/* kh_post_job: run J on the cluster thread (waiting for it when J->wait). */
void kh_post_job(khttp *h, kh_job *j);
/* kh_cond_init_mono: a condition variable that waits on the monotonic clock (deadlines: t0_deadline with
 * CLOCK_MONOTONIC, core/clock.h). */
void kh_cond_init_mono(pthread_cond_t *c);

/* ---- the request ------------------------------------------------------------------------------- */
typedef struct kh_req {
    /* in: borrowed from the connection for the duration of the call */
    const char *method, *path;
    const char *body;
    size_t blen;
    const char *accept, *ctype;
    const char *q_label, *q_field, *q_rv, *q_watch, *q_timeout, *q_prop, *q_grace, *q_dryrun, *q_include;
    const char *q_fieldval; /* fieldValidation */
    const char *q_bookmarks; /* allowWatchBookmarks */
    const char *q_limit, *q_continue; /* a list in pages */
    const char *q_container, *q_follow, *q_previous, *q_timestamps, *q_tail, *q_since; /* pods/log */
    int fd;
    bool table;
    /* out: owned by the request */
    unsigned code;
    char *out;
    const char *out_ctype;
    kh_watch *watch;
    char *warnings; /* "Warning" header values, one per line (owned), or NULL */
    pkl_stream *logs; /* pods/log: streamed from podman logs */
} kh_req;

/* kh_warn: a Warning header of the answer (299 - "TEXT"), as the API server sends for fieldValidation=Warn */
void kh_warn(kh_req *q, const char *text);

/* The resource a request addresses: NS "" for cluster-scoped ones and lists across namespaces. */
typedef struct kh_target {
    const kfake_res *r;
    int rid;
    const char *ns, *name, *sub;
} kh_target;

/* Answers. reply_json takes OBJ (owned; NULL = out of memory). reply_status: a v1 Status (Failure) with
 * details naming R (may be NULL) and NAME. reply_err: the Status of a failed store call. */
void kh_reply_json(kh_req *q, unsigned code, cJSON *obj);
void kh_reply_text(kh_req *q, unsigned code, const char *text);
cJSON *kh_status_obj(int code, const char *reason, const char *msg, const kfake_res *r, const char *name);
void kh_reply_status(kh_req *q, int code, const char *reason, const char *msg, const kfake_res *r, const char *name);
void kh_reply_err(kh_req *q, const kfake_res *r, const char *name, t0_status st, const t0_err *err);
void kh_not_found_path(kh_req *q);
void kh_method_not_allowed(kh_req *q, const kfake_res *r);

/* ---- verbs (kube_http_verbs.c, kube_http_write.c) ------------------------------------------------ */
/* kh_parse_body: the request body as a JSON object, or NULL with a 400 answered. kh_reply_obj: answer OBJ
 * (owned) of RID, as a Table when one was asked for (and CODE is 200). */
cJSON *kh_parse_body(kh_req *q, const kfake_res *r);
void kh_reply_obj(khttp *h, kh_req *q, int rid, unsigned code, cJSON *obj);
/* the writes: POST, PUT (and .../status), PATCH, DELETE */
void kh_do_create(khttp *h, kh_req *q, const kh_target *t);
void kh_do_update(khttp *h, kh_req *q, const kh_target *t);
void kh_do_patch(khttp *h, kh_req *q, const kh_target *t);
void kh_do_delete(khttp *h, kh_req *q, const kh_target *t);
/* kh_serve_resource: a request under /api/v1 or /apis/GROUP/VERSION; R[0..M) the path segments after it. */
void kh_serve_resource(khttp *h, kh_req *q, const char *group, const char *version, char **r, int m);
/* kh_wire_fix: fields the API server always sends that the simulated kubelet leaves out (on what is sent
 * only). */
void kh_wire_fix(int rid, cJSON *o);
bool kh_truthy(const char *s);

/* ---- field selectors (kube_http_verbs.c) ------------------------------------------------------ */
#define KH_FSEL_MAX 8
typedef struct kh_fsel {
    size_t n;
    struct {
        char path[128], val[256];
        bool neg;
    } t[KH_FSEL_MAX];
} kh_fsel;
t0_status kh_fsel_parse(const char *s, kh_fsel *f, t0_err *err);
bool kh_fsel_match(const kh_fsel *f, const cJSON *obj);

/* ---- watch streams (kube_http_watch.c) -------------------------------------------------------- */
/* kh_do_watch: a watch request: the stream is q->watch (or an error answer). */
void kh_do_watch(khttp *h, kh_req *q, const kh_target *t);
/* libmicrohttpd's content reader and free callback of a stream */
ssize_t kh_watch_read(void *cls, uint64_t pos, char *out, size_t max);
void kh_watch_free(void *cls);

/* ---- tables (kube_http_table.c) --------------------------------------------------------------- */
/* kh_table_new: an empty meta.k8s.io/v1 Table for RID (HEADERS: with its columnDefinitions) at RV;
 * kh_table_add: a row for O (with its PartialObjectMetadata when INCLUDE_OBJECT). */
cJSON *kh_table_new(int rid, bool headers, const char *rv);
void kh_table_add(khttp *h, int rid, cJSON *t, const cJSON *o, bool include_object);

/* ---- discovery and OpenAPI (kube_http_discovery.c) ------------------------------------------- */
/* kh_serve_discovery: /version, /api, /apis, /api/v1, /apis/G, /apis/G/V and /openapi/v3...; false when
 * SEG[0..N) is none of them. */
bool kh_serve_discovery(khttp *h, kh_req *q, char **seg, int n);
bool kh_known_gv(const char *group, const char *version);

/* ---- patches (kube_http_patch.c) -------------------------------------------------------------- */
/* kh_merge_patch: apply PATCH to TARGET (owned, consumed) and return the result: RFC 7386, or with
 * STRATEGIC the approximation of strategic merge described in kube_http.h. */
cJSON *kh_merge_patch(cJSON *target, const cJSON *patch, bool strategic);
/* kh_json_patch: apply the RFC 6902 operations OPS (an array) to DOC (owned, consumed); the result, or NULL
 * with MSG worded as the API server's json-patch library words it (a failed test, a missing path...). */
cJSON *kh_json_patch(cJSON *doc, const cJSON *ops, char *msg, size_t cap);

/* ---- field validation against the OpenAPI schemas (kube_http_schema.c) ---------------------------- */
typedef enum kh_fieldval { KH_FV_IGNORE, KH_FV_WARN, KH_FV_STRICT } kh_fieldval;
/* kh_fieldval_parse: the fieldValidation query parameter (absent: Warn, the API server's default). */
bool kh_fieldval_parse(const char *s, kh_fieldval *out);
/* kh_schema_check: OBJ's unknown and duplicate fields by RID's schema. STRICT: false, ERRS listing them
 * as the strict decoder does ("unknown field \"spec.x\", duplicate field \"metadata.name\""); otherwise they
 * are dropped (the last of duplicates kept), each a Warning under WARN; true. */
bool kh_schema_check(int rid, cJSON *obj, kh_fieldval mode, kh_req *q, char *errs, size_t cap);
/* kh_openapi_schemas_of: the component schemas of GROUP/VERSION's resources and all they refer to (owned) */
cJSON *kh_openapi_schemas_of(const char *group, const char *version);

/* ---- small JSON helpers ---------------------------------------------------------------------- */
static inline const cJSON *kh_item(const cJSON *o, const char *a) { return cJSON_GetObjectItemCaseSensitive(o, a); }

#endif
