/* kube_http.c: the fake cluster over the Kubernetes REST API; the contract is in kube_http.h. This file
 * holds the server: the cluster thread, libmicrohttpd's connection threads and the routing; the verbs,
 * watch streams, Tables, discovery and patches are in their own files (kube_http_impl.h lists them). */
#include "fakes/kube_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "core/log.h"
#include "fakes/kube_http_impl.h"

/* ---- the server ------------------------------------------------------------------------------- */
static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t kh_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timespec kh_mono_deadline(int64_t in_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += in_ms / 1000;
    ts.tv_nsec += (in_ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
    return ts;
}

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
            struct timespec ts = kh_mono_deadline(wait);
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
    int64_t t0 = kh_mono_ms();
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
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    q.fd = ci ? ci->connect_fd : -1;
    if (cc->too_big) {
        kh_reply_status(&q, 413, "RequestEntityTooLarge", "the request body is too large", NULL, NULL);
    } else {
        kh_job j = {.fn = serve_req, .ud = &q, .wait = true};
        kh_post_job(h, &j);
    }
    if (!q.watch && !q.out) kh_reply_status(&q, 500, "InternalError", "the0-sim serve: no answer for this request", NULL, NULL);
    enum MHD_Result ret;
    if (q.watch) {
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
        ret = queue_text(c, q.code, q.out_ctype, q.out);
    }
    if (h->o.access_log) {
        const char *qs = q.q_watch ? " watch" : "";
        fprintf(stderr, "kube-http: %s %s%s%s%s -> %u %.1f ms%s\n", method, url, q.q_label ? " labelSelector=" : "",
                q.q_label ? q.q_label : "", q.table ? " (Table)" : "", q.code, (double)(kh_mono_ms() - t0), qs);
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
    T0_DEBUG(KH_COMP, "libmicrohttpd: %s", msg);
}

/* ---- lifecycle -------------------------------------------------------------------------------- */
static void free_cluster(khttp *h)
{
    cronctl_destroy(h->cc);
    kubelet_destroy(h->kl);
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
    pthread_mutex_init(&h->mu, NULL);
    kh_cond_init_mono(&h->wake);
    pthread_cond_init(&h->done, NULL);
    t0_status st = sim_loop_new(h->o.seed, wall_ms(), &h->loop, err);
    if (st == T0_OK) st = kfake_new(h->loop, NULL, NULL, &h->kube, err);
    if (st == T0_OK) st = kubelet_new(h->loop, h->kube, NULL, NULL, &h->kl, err);
    if (st == T0_OK) st = cronctl_new(h->loop, h->kube, NULL, &h->cc, err);
    for (unsigned i = 1; st == T0_OK && i <= h->o.nodes; i++) {
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

