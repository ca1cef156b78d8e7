/* kube_http.c: the fake cluster over the Kubernetes REST API; the contract is in kube_http.h. This file
 * holds the server: the cluster thread, libmicrohttpd's connection threads and the routing; the verbs,
 * watch streams, Tables, discovery and patches are in their own files (kube_http_impl.h lists them). */
#include "fakes/kube_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "core/clock.h"
#include "core/log.h"
#include "fakes/kube_http_impl.h"

/* ---- the server ------------------------------------------------------------------------------- */
void kh_cond_init_mono(pthread_cond_t *c)
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
    int64_t now = t0_wall_ms();
    int64_t vnow = sim_loop_now(h->loop);
    sim_loop_run_until(h->loop, now > vnow ? now : vnow);
}

static void *cluster_thread(void *arg)
{
    khttp *h = arg;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (!h->qhead && !h->quit) {
            int64_t now = t0_wall_ms(), due, wait = 1000;
            if (sim_loop_next_due(h->loop, &due)) {
                if (due <= now) break;
                if (due - now < wait) wait = due - now;
            }
            struct timespec ts = t0_deadline(CLOCK_MONOTONIC, wait);
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

void kh_post_job(khttp *h, kh_job *j)
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


/* ---- routing (cluster thread) ---------------------------------------------------------------- */
static void serve_req(khttp *h, void *ud)
{
    kh_req *q = ud;
    char path[2048];
    snprintf(path, sizeof path, "%s", q->path);
    char *seg[12];
    int n = 0;
    for (char *s = strtok(path, "/"); s; s = strtok(NULL, "/")) {
        if (n == (int)T0_ARRAY_LEN(seg)) return kh_not_found_path(q);
        seg[n++] = s;
    }
    bool get = !strcmp(q->method, "GET");
    if (n == 1 && get && (!strcmp(seg[0], "healthz") || !strcmp(seg[0], "livez") || !strcmp(seg[0], "readyz")))
        return kh_reply_text(q, 200, "ok");
    if (kh_serve_discovery(h, q, seg, n)) return;
    if (n >= 3 && !strcmp(seg[0], "api") && kh_known_gv("", seg[1]))
        return kh_serve_resource(h, q, "", seg[1], seg + 2, n - 2);
    if (n >= 4 && !strcmp(seg[0], "apis") && kh_known_gv(seg[1], seg[2]))
        return kh_serve_resource(h, q, seg[1], seg[2], seg + 3, n - 3);
    kh_not_found_path(q);
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

void kh_warn(kh_req *q, const char *text)
{
    size_t have = q->warnings ? strlen(q->warnings) : 0, n = strlen(text);
    char *w = realloc(q->warnings, have + n * 2 + 16);
    if (!w) return;
    q->warnings = w;
    char *p = w + have;
    p += sprintf(p, "299 - \"");
    for (const char *t = text; *t; t++) { /* a quoted-string: its quotes and backslashes escaped */
        if (*t == '"' || *t == '\\') *p++ = '\\';
        *p++ = *t;
    }
    strcpy(p, "\"\n");
}

/* queue_text: answer BODY (owned) with CODE; WARNINGS (borrowed; may be NULL) one Warning header a line */
static enum MHD_Result queue_text(struct MHD_Connection *c, unsigned code, const char *ctype, char *body,
                                  const char *warnings)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", ctype);
    MHD_add_response_header(r, "Cache-Control", "no-cache, private");
    for (const char *w = warnings; w && *w;) {
        const char *nl = strchr(w, '\n');
        char line[1200];
        snprintf(line, sizeof line, "%.*s", (int)(nl ? nl - w : (ptrdiff_t)strlen(w)), w);
        MHD_add_response_header(r, "Warning", line);
        w = nl ? nl + 1 : w + strlen(w);
    }
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

/* queue_logs: answer with the pod log stream S (taken) */
static enum MHD_Result queue_logs(khttp *h, struct MHD_Connection *c, pkl_stream *s)
{
    log_reader_ctx *lc = calloc(1, sizeof *lc);
    struct MHD_Response *r = lc ? MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, log_read, lc, log_free) : NULL;
    if (!r) {
        free(lc);
        pkl_stream_close(s);
        return MHD_NO;
    }
    lc->s = s;
    lc->h = h;
    MHD_add_response_header(r, "Content-Type", "text/plain");
    MHD_add_response_header(r, "Cache-Control", "no-cache, private");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
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
    int64_t t0 = t0_mono_ns();
    struct timespec arrived; /* wall-clock ns: the benchmarks compare it with other processes' clocks */
    clock_gettime(CLOCK_REALTIME, &arrived);
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
    q.q_limit = arg(c, "limit");
    q.q_continue = arg(c, "continue");
    q.q_watch = arg(c, "watch");
    q.q_timeout = arg(c, "timeoutSeconds");
    q.q_prop = arg(c, "propagationPolicy");
    q.q_grace = arg(c, "gracePeriodSeconds");
    q.q_dryrun = arg(c, "dryRun");
    q.q_include = arg(c, "includeObject");
    q.q_fieldval = arg(c, "fieldValidation");
    q.q_bookmarks = arg(c, "allowWatchBookmarks");
    q.q_container = arg(c, "container");
    q.q_follow = arg(c, "follow");
    q.q_previous = arg(c, "previous");
    q.q_timestamps = arg(c, "timestamps");
    q.q_tail = arg(c, "tailLines");
    q.q_since = arg(c, "sinceSeconds");
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    q.fd = ci ? ci->connect_fd : -1;
    if (cc->too_big) {
        kh_reply_status(&q, 413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728", NULL, NULL);
    } else {
        kh_job j = {.fn = serve_req, .ud = &q, .wait = true};
        kh_post_job(h, &j);
    }
    if (!q.watch && !q.out && !q.logs)
        kh_reply_status(&q, 500, "InternalError", "the0-sim serve: no answer for this request", NULL, NULL);
    enum MHD_Result ret;
    if (q.logs) {
        ret = queue_logs(h, c, q.logs);
        q.code = 200;
    } else if (q.watch) {
        atomic_fetch_add(&h->n_watches, 1);
        struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, kh_watch_read, q.watch, kh_watch_free);
        if (!r) {
            kh_watch_free(q.watch);
            return MHD_NO;
        }
        MHD_add_response_header(r, "Content-Type", "application/json");
        MHD_add_response_header(r, "Cache-Control", "no-cache, private");
        ret = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
    } else {
        if (q.code >= 400) atomic_fetch_add(&h->n_errors, 1);
        ret = queue_text(c, q.code, q.out_ctype, q.out, q.warnings);
    }
    if (h->o.access_log) { /* at=: the wall-clock time (ns) the whole request had arrived, for benchmarks */
        const char *qs = q.q_watch ? " watch" : "";
        double ms = (double)(t0_mono_ns() - t0) / 1e6;
        fprintf(stderr, "kube-http: %s %s%s%s%s%s%s%s%s -> %u %.3f ms%s at=%lld\n", method, url,
                q.q_label ? " labelSelector=" : "", q.q_label ? q.q_label : "", q.q_limit ? " limit=" : "",
                q.q_limit ? q.q_limit : "", q.q_continue ? " continue=" : "", q.q_continue ? q.q_continue : "",
                q.table ? " (Table)" : "", q.code, ms, qs, (long long)arrived.tv_sec * 1000000000LL + arrived.tv_nsec);
    }
    free(q.warnings);
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
    T0_DEBUG(KH_COMP, "libmicrohttpd: %s", msg);
}

/* ---- the objects a new cluster has ----------------------------------------------------------------- */
/* add_node_object: the Node object of simulated node NAME (the INDEXth; its pods get 10.244.INDEX.x), Ready,
 * as a kubelet registers it */
static t0_status add_node_object(khttp *h, const char *name, unsigned index, t0_err *err)
{
    char ts[32], cidr[32], ip[32];
    sim_format_rfc3339(sim_loop_now(h->loop), ts, sizeof ts);
    snprintf(cidr, sizeof cidr, "10.244.%u.0/24", index);
    snprintf(ip, sizeof ip, "172.18.0.%u", index + 1);
    cJSON *n = cJSON_CreateObject(), *md = cJSON_AddObjectToObject(n, "metadata");
    cJSON_AddStringToObject(md, "name", name);
    cJSON *l = cJSON_AddObjectToObject(md, "labels");
    cJSON_AddStringToObject(l, "kubernetes.io/arch", "amd64");
    cJSON_AddStringToObject(l, "kubernetes.io/hostname", name);
    cJSON_AddStringToObject(l, "kubernetes.io/os", "linux");
    cJSON *spec = cJSON_AddObjectToObject(n, "spec");
    cJSON_AddStringToObject(spec, "podCIDR", cidr);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(spec, "podCIDRs"), cJSON_CreateString(cidr));
    cJSON *st = cJSON_AddObjectToObject(n, "status"), *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "type", "Ready");
    cJSON_AddStringToObject(c, "status", "True");
    cJSON_AddStringToObject(c, "lastHeartbeatTime", ts);
    cJSON_AddStringToObject(c, "lastTransitionTime", ts);
    cJSON_AddStringToObject(c, "reason", "KubeletReady");
    cJSON_AddStringToObject(c, "message", "kubelet is posting ready status");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(st, "conditions"), c);
    cJSON *addrs = cJSON_AddArrayToObject(st, "addresses");
    const char *const at[][2] = {{"InternalIP", ip}, {"Hostname", name}};
    for (size_t i = 0; i < T0_ARRAY_LEN(at); i++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "type", at[i][0]);
        cJSON_AddStringToObject(a, "address", at[i][1]);
        cJSON_AddItemToArray(addrs, a);
    }
    const char *const res[][2] = {{"cpu", "4"}, {"memory", "8Gi"}, {"pods", "110"}};
    cJSON *cap = cJSON_AddObjectToObject(st, "capacity"), *alloc = cJSON_AddObjectToObject(st, "allocatable");
    for (size_t i = 0; i < T0_ARRAY_LEN(res); i++) {
        cJSON_AddStringToObject(cap, res[i][0], res[i][1]);
        cJSON_AddStringToObject(alloc, res[i][0], res[i][1]);
    }
    cJSON *ni = cJSON_AddObjectToObject(st, "nodeInfo");
    const char *const info[][2] = {{"architecture", "amd64"}, {"bootID", ""}, {"containerRuntimeVersion", "containerd://1.7.13"},
                                   {"kernelVersion", "6.1.0-the0-sim"}, {"kubeProxyVersion", "v1.30.0"},
                                   {"kubeletVersion", "v1.30.0"}, {"machineID", ""}, {"operatingSystem", "linux"},
                                   {"osImage", "Debian GNU/Linux 12 (bookworm)"}, {"systemUUID", ""}};
    for (size_t i = 0; i < T0_ARRAY_LEN(info); i++) cJSON_AddStringToObject(ni, info[i][0], info[i][1]);
    t0_status rc = kfake_create(h->kube, KFAKE_NODE, "", n, 0, NULL, err);
    cJSON_Delete(n);
    return rc;
}

/* add_namespaces: default, kube-system, kube-public, kube-node-lease and those of the options */
static t0_status add_namespaces(khttp *h, t0_err *err)
{
    char list[1024];
    snprintf(list, sizeof list, "default,kube-system,kube-public,kube-node-lease%s%s", h->o.namespaces ? "," : "",
             h->o.namespaces ? h->o.namespaces : "");
    for (char *save = NULL, *ns = strtok_r(list, ",", &save); ns; ns = strtok_r(NULL, ",", &save)) {
        if (kfake_get(h->kube, KFAKE_NAMESPACE, "", ns, NULL, NULL) == T0_OK) continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "metadata"), "name", ns);
        t0_status st = kfake_create(h->kube, KFAKE_NAMESPACE, "", o, 0, NULL, err);
        cJSON_Delete(o);
        if (st != T0_OK) return st;
    }
    return T0_OK;
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
        T0_ERROR(KH_COMP, "out of memory posting a kubelet job");
        return;
    }
    p->fn = fn;
    p->ud = ud;
    j->fn = host_post_run;
    j->ud = p;
    kh_post_job(ctx, j);
}

/* host_get: a core/v1 object of PLURAL from the one store (cluster thread) */
static cJSON *host_get(void *ctx, const char *plural, const char *ns, const char *name)
{
    khttp *h = ctx;
    int rid = kfake_res_find("", "v1", plural);
    cJSON *o = NULL;
    if (rid < 0 || kfake_get(h->kube, rid, ns, name, &o, NULL) != T0_OK) return NULL;
    return o;
}

static t0_status start_run_pods(khttp *h, t0_err *err)
{
    pkl_opts o = *h->o.run_pods;
    if (!o.nodes) o.nodes = h->o.nodes ? h->o.nodes : 1;
    pkl_host host = {.ctx = h, .post = host_post, .get = host_get};
    return pkl_new(h->kube, &host, &o, &h->pk, err);
}

/* ---- lifecycle -------------------------------------------------------------------------------- */
static void free_cluster(khttp *h)
{
    cronctl_destroy(h->cc);
    kubelet_destroy(h->kl);
    pkl_destroy(h->pk);
    kfake_destroy(h->kube);
    sim_loop_destroy(h->loop);
}

t0_status khttp_start(const khttp_opts *opts, khttp **out, t0_err *err)
{
    *out = NULL;
    khttp *h = calloc(1, sizeof *h);
    if (!h) return t0_fail(err, T0_ENOMEM, "serve: out of memory");
    if (opts) h->o = *opts;
    snprintf(h->host, sizeof h->host, "%s", h->o.host && *h->o.host ? h->o.host : "127.0.0.1");
    if (!h->o.idle_timeout_s) h->o.idle_timeout_s = 90;
    if (!h->o.bookmark_s) h->o.bookmark_s = 60;
    if (!h->o.max_connections) h->o.max_connections = 4096;
    pthread_mutex_init(&h->mu, NULL);
    kh_cond_init_mono(&h->wake);
    pthread_cond_init(&h->done, NULL);
    t0_status st = sim_loop_new(h->o.seed, t0_wall_ms(), &h->loop, err);
    if (st == T0_OK) st = kfake_new(h->loop, NULL, NULL, &h->kube, err);
    if (st == T0_OK)
        st = h->o.run_pods ? start_run_pods(h, err) : kubelet_new(h->loop, h->kube, NULL, &h->kl, err);
    if (st == T0_OK) st = cronctl_new(h->loop, h->kube, NULL, &h->cc, err);
    for (unsigned i = 1; st == T0_OK && i <= h->o.nodes; i++) {
        char n[32];
        snprintf(n, sizeof n, "node-%u", i);
        if (h->kl) st = kubelet_add_node(h->kl, n, err); /* (the podman kubelet has its own) */
        if (st == T0_OK) st = add_node_object(h, n, i, err);
    }
    if (st == T0_OK) st = add_namespaces(h, err);
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
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_CONNECTION_TIMEOUT,
                            h->o.idle_timeout_s, MHD_OPTION_CONNECTION_LIMIT, h->o.max_connections,
                            MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512u << 10),
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

