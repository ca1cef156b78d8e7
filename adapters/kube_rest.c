/* kube_rest.c: kube_port over the Kubernetes REST API with libcurl and cJSON (see kube_rest.h): the client,
 * its transport (one synchronous request on the loop thread's connection), the client-side rate limiter,
 * error mapping and request metrics. The object verbs are in kube_rest_verbs.c, list-then-watch streams in
 * kube_rest_watch.c, configuration loading in kube_rest_config.c. */
#include "adapters/kube_rest.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "adapters/kube_rest_impl.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"

const double KUBEREST_BUCKETS[KUBEREST_NBUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
static const char *const verb_names[KR__VERBS] = {"get", "list", "create", "update", "delete", "watch"};
const char *kuberest_verb_name(kuberest_verb v) { return (unsigned)v < KR__VERBS ? verb_names[v] : "?"; }

/* ---- error mapping ---------------------------------------------------------------------------- */
t0_status kuberest_map_error(long http, const char *body, const char *retry_after, const char *what, t0_err *err)
{
    if (http >= 200 && http < 300) return T0_OK;
    cJSON *j = body ? cJSON_Parse(body) : NULL;
    const char *reason = "", *message = "";
    long retry_ms = 0;
    if (cJSON_IsObject(j)) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "reason"),
                    *m = cJSON_GetObjectItemCaseSensitive(j, "message"),
                    *d = cJSON_GetObjectItemCaseSensitive(j, "details"),
                    *ra = d ? cJSON_GetObjectItemCaseSensitive(d, "retryAfterSeconds") : NULL;
        if (cJSON_IsString(r)) reason = r->valuestring;
        if (cJSON_IsString(m)) message = m->valuestring;
        if (cJSON_IsNumber(ra) && ra->valuedouble > 0) /* an int32 in the API: clamp, never overflow */
            retry_ms = (long)((ra->valuedouble < INT32_MAX ? ra->valuedouble : INT32_MAX) * 1000);
    } else if (body && *body) {
        message = body; /* not a Status: show what came (truncated by the message buffer) */
    }
    if (retry_after && *retry_after) {
        char *end;
        long s = strtol(retry_after, &end, 10);
        if (end != retry_after && s >= 0) retry_ms = (s < INT32_MAX ? s : INT32_MAX) * 1000;
    }
    t0_status st;
    if (http == 404) st = T0_ENOTFOUND;
    else if (http == 409) st = !strcmp(reason, "AlreadyExists") ? T0_EEXIST : T0_ECONFLICT;
    else if (http == 410) st = T0_EGONE;
    else if (http == 422) st = T0_EINVALID;
    else if (http == 429) st = T0_ETOOMANY;
    else if (http == 401 || http == 403) st = T0_EFORBIDDEN;
    else if (http >= 500) st = T0_EINTERNAL;
    else st = T0_EINVAL;
    char msgbuf[400];
    snprintf(msgbuf, sizeof msgbuf, "%s", message);
    t0_fail(err, st, "%s: %ld %s%s%s", what, http, *reason ? reason : "", *reason && *msgbuf ? ": " : "", msgbuf);
    if (err) {
        err->http_status = (int)http;
        err->retry_after_ms = st == T0_ETOOMANY ? retry_ms : 0;
    }
    cJSON_Delete(j);
    return st;
}
/* ---- paths ------------------------------------------------------------------------------------ */
static const char *const kind_prefix[KUBE__KINDS] = {"/api/v1", "/apis/batch/v1", "/apis/batch/v1",
                                                     "/apis/coordination.k8s.io/v1", "/api/v1"};

t0_status kuberest_path(kube_kind k, const char *ns, const char *name, char *buf, size_t cap)
{
    if ((unsigned)k >= KUBE__KINDS || !ns || !*ns) return T0_EINVAL;
    int n = snprintf(buf, cap, "%s/namespaces/%s/%s%s%s", kind_prefix[k], ns, kube_kind_name(k), name ? "/" : "",
                     name ? name : "");
    return n < 0 || (size_t)n >= cap ? T0_ELIMIT : T0_OK;
}
/* ---- client ----------------------------------------------------------------------------------- */

/* drop_build: K's o.drop paths prefixed for lists ("items.*.") and watch events ("object."); false when
 * out of memory */
static bool drop_build(kuberest *k)
{
    static const char *const prefix[3] = {"", "items.*.", "object."};
    for (int kind = 0; kind < KUBE__KINDS; kind++) {
        const char *const *d = k->o.drop[kind];
        size_t n = 0;
        while (d && d[n]) n++;
        if (!n) continue;
        for (int f = 0; f < 3; f++) {
            char **v = calloc(n + 1, sizeof *v);
            if (!v) return false;
            k->drop_paths[f][kind] = v;
            for (size_t i = 0; i < n; i++) {
                size_t l = strlen(prefix[f]) + strlen(d[i]) + 1;
                if (!(v[i] = malloc(l))) return false;
                snprintf(v[i], l, "%s%s", prefix[f], d[i]);
            }
        }
    }
    return true;
}

const char *const *kr_drop_for(const kuberest *k, int form, kube_kind kind)
{
    return (unsigned)kind < KUBE__KINDS ? (const char *const *)k->drop_paths[form][kind] : NULL;
}

void kuberest_opts_defaults(kuberest_opts *o)
{
    *o = (kuberest_opts){.qps = 50, .burst = 100, .timeout_ms = 30000, .connect_timeout_ms = 10000,
                         .watch_timeout_s = 300, .token_reread_ms = 60000};
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

#define DUPFIELD(f)                                                                                    \
    do {                                                                                               \
        if (cfg->f && !(k->cfg.f = kr_xstrdup(cfg->f))) goto nomem;                                       \
    } while (0)

t0_status kuberest_new(const kuberest_config *cfg, rtloop *loop, const kuberest_opts *opts, kuberest **out, t0_err *err)
{
    if (!cfg || !cfg->server || !loop) return t0_fail(err, T0_EINVAL, "kube client: no server or loop");
    pthread_once(&curl_once, curl_init_once);
    kuberest *k = calloc(1, sizeof *k);
    if (!k) return t0_fail(err, T0_ENOMEM, "kube client: out of memory");
    if (opts)
        k->o = *opts;
    else
        kuberest_opts_defaults(&k->o);
    k->loop = loop;
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->cv, NULL);
    DUPFIELD(server);
    DUPFIELD(ca_file);
    DUPFIELD(ca_pem);
    DUPFIELD(token);
    DUPFIELD(token_file);
    DUPFIELD(cert_file);
    DUPFIELD(cert_pem);
    DUPFIELD(key_file);
    DUPFIELD(key_pem);
    DUPFIELD(namespace);
    DUPFIELD(source);
    k->cfg.insecure = cfg->insecure;
    size_t sl = strlen(k->cfg.server);
    while (sl > 1 && k->cfg.server[sl - 1] == '/') k->cfg.server[--sl] = 0;
    { /* the host label: the URL's host[:port], without a scheme, userinfo or path */
        const char *h = strstr(k->cfg.server, "://");
        h = h ? h + 3 : k->cfg.server;
        size_t hl = strcspn(h, "/");
        const char *at = memchr(h, '@', hl);
        if (at) hl -= (size_t)(at + 1 - h), h = at + 1;
        snprintf(k->st.host, sizeof k->st.host, "%.*s", (int)hl, h);
    }
    if (!(k->easy = curl_easy_init()) || !drop_build(k)) goto nomem;
    k->tokens = k->o.burst > 0 ? k->o.burst : 1;
    k->bucket_ms = t0_mono_ms();
    if (k->cfg.token && !(k->token = kr_xstrdup(k->cfg.token))) goto nomem;
    if (k->cfg.token_file) {
        char *t = NULL;
        t0_status st = fs_read_host(k->cfg.token_file, KR_FILE_MAX, &t, NULL, err);
        if (st != T0_OK) {
            t0_err_prefix(err, "kube client: token file");
            kuberest_destroy(k);
            return st;
        }
        kr_rtrim(t);
        free(k->token);
        k->token = t;
        k->token_read_ms = t0_mono_ms();
    }
    *out = k;
    return T0_OK;
nomem:
    kuberest_destroy(k);
    return t0_fail(err, T0_ENOMEM, "kube client: out of memory");
}

/* kr_auth_header: "Authorization: Bearer <token>" into a new slist entry, re-reading the token file when
 * it is older than the re-read period. Thread-safe. */
struct curl_slist *kr_auth_header(kuberest *k, struct curl_slist *h)
{
    pthread_mutex_lock(&k->mu);
    if (k->cfg.token_file && t0_mono_ms() - k->token_read_ms >= k->o.token_reread_ms) {
        char *t = NULL;
        t0_err e = {0};
        if (fs_read_host(k->cfg.token_file, KR_FILE_MAX, &t, NULL, &e) == T0_OK) {
            kr_rtrim(t);
            free(k->token);
            k->token = t;
        } else {
            T0_WARN(COMP, "re-reading the token: %s (keeping the old one)", e.msg);
        }
        k->token_read_ms = t0_mono_ms();
    }
    if (k->token && *k->token) {
        size_t n = strlen(k->token) + 32;
        char *line = malloc(n);
        if (line) {
            snprintf(line, n, "Authorization: Bearer %s", k->token);
            struct curl_slist *nh = curl_slist_append(h, line);
            if (nh) h = nh;
            free(line);
        }
    }
    pthread_mutex_unlock(&k->mu);
    return h;
}

/* kr_rate_wait: take a token from the client-side bucket, sleeping when it is empty (client-go's
 * behaviour: the caller blocks; at the default 50 QPS a wait is at most tens of milliseconds). */
void kr_rate_wait(kuberest *k)
{
    if (k->o.qps <= 0) return;
    pthread_mutex_lock(&k->mu);
    int64_t now = t0_mono_ms();
    double cap = k->o.burst > 0 ? k->o.burst : 1;
    k->tokens += (double)(now - k->bucket_ms) * k->o.qps / 1000.0;
    if (k->tokens > cap) k->tokens = cap;
    k->bucket_ms = now;
    k->tokens -= 1;
    double deficit = k->tokens < 0 ? -k->tokens : 0;
    if (deficit > 0) k->st.throttled++;
    pthread_mutex_unlock(&k->mu);
    if (deficit > 0) {
        double s = deficit / k->o.qps;
        struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

/* kr_record: one request of verb V answered HTTP (0: no answer) after SECS; FAILED: it is an error */
void kr_record(kuberest *k, kuberest_verb v, long http, double secs, bool failed)
{
    pthread_mutex_lock(&k->mu);
    k->st.requests[v]++;
    if (failed) k->st.errors[v]++;
    k->st.sum_s[v] += secs;
    for (int i = 0; i < KUBEREST_NBUCKETS; i++)
        if (secs <= KUBEREST_BUCKETS[i]) k->st.bucket[v][i]++;
    unsigned i = 0;
    while (i < k->st.ncodes && !(k->st.codes[i].code == (int)http && k->st.codes[i].verb == v)) i++;
    if (i == k->st.ncodes && i < KUBEREST_MAX_CODES) k->st.codes[k->st.ncodes++] = (kuberest_code_count){(int)http, (uint8_t)v, 0};
    if (i < k->st.ncodes) k->st.codes[i].n++;
    if (v != KR_WATCH) prom_hist_observe(&k->st.method_latency[v], PROM_REST_BUCKETS, 12, secs);
    pthread_mutex_unlock(&k->mu);
}

const char *kuberest_verb_method(kuberest_verb v)
{
    static const char *const m[KR__VERBS] = {"GET", "GET", "POST", "PUT", "DELETE", "GET"};
    return (unsigned)v < KR__VERBS ? m[v] : "?";
}

void kuberest_stats_add(kuberest_stats *into, const kuberest_stats *from)
{
    for (int v = 0; v < KR__VERBS; v++) {
        into->requests[v] += from->requests[v];
        into->errors[v] += from->errors[v];
        into->sum_s[v] += from->sum_s[v];
        for (int i = 0; i < KUBEREST_NBUCKETS; i++) into->bucket[v][i] += from->bucket[v][i];
        prom_hist *h = &into->method_latency[v];
        for (int i = 0; i <= PROM_MAX_BUCKETS; i++) h->counts[i] += from->method_latency[v].counts[i];
        h->sum += from->method_latency[v].sum;
        h->count += from->method_latency[v].count;
    }
    into->throttled += from->throttled;
    into->watches += from->watches;
    if (!into->host[0]) memcpy(into->host, from->host, sizeof into->host);
    for (unsigned j = 0; j < from->ncodes; j++) {
        const kuberest_code_count *c = &from->codes[j];
        unsigned i = 0;
        while (i < into->ncodes && !(into->codes[i].code == c->code && into->codes[i].verb == c->verb)) i++;
        if (i == into->ncodes && i < KUBEREST_MAX_CODES) into->codes[into->ncodes++] = (kuberest_code_count){c->code, c->verb, 0};
        if (i < into->ncodes) into->codes[i].n += c->n;
    }
}

void kuberest_metrics_write(const kuberest_stats *s, prom *out)
{
    char lb[256], code[16];
    /* the domain families (by verb) */
    prom_family(out, "the0_kube_api_requests_total", "counter", "Kubernetes API requests by verb.");
    for (int v = 0; v < KR__VERBS; v++)
        prom_sample(out, "the0_kube_api_requests_total", prom_labels(lb, sizeof lb, "verb", kuberest_verb_name(v)),
                    (double)s->requests[v]);
    prom_family(out, "the0_kube_api_errors_total", "counter",
                "Kubernetes API requests that failed, by verb (a 404 answering a get or a delete is not a failure).");
    for (int v = 0; v < KR__VERBS; v++)
        prom_sample(out, "the0_kube_api_errors_total", prom_labels(lb, sizeof lb, "verb", kuberest_verb_name(v)),
                    (double)s->errors[v]);
    prom_family(out, "the0_kube_api_request_duration_seconds", "histogram", "Kubernetes API request latency.");
    for (int v = 0; v < KR__VERBS; v++) {
        if (v == KR_WATCH) continue; /* a watch lasts minutes by design */
        prom_hist h = {0};
        uint64_t below = 0;
        for (int i = 0; i < KUBEREST_NBUCKETS; i++) { /* cumulative counts back to per-bucket ones */
            h.counts[i] = s->bucket[v][i] - below;
            below = s->bucket[v][i];
        }
        h.counts[KUBEREST_NBUCKETS] = s->requests[v] - below;
        h.sum = s->sum_s[v];
        h.count = s->requests[v];
        prom_histogram(out, "the0_kube_api_request_duration_seconds",
                       prom_labels(lb, sizeof lb, "verb", kuberest_verb_name(v)), KUBEREST_BUCKETS, KUBEREST_NBUCKETS, &h);
    }
    prom_family(out, "the0_kube_api_throttled_total", "counter",
                "Requests that waited for the client-side QPS/burst bucket.");
    prom_sample(out, "the0_kube_api_throttled_total", NULL, (double)s->throttled);
    prom_family(out, "the0_kube_watches", "gauge", "Watch streams open.");
    prom_sample(out, "the0_kube_watches", NULL, s->watches);
    /* client-go's */
    prom_family(out, "rest_client_requests_total", "counter",
                "Number of HTTP requests, partitioned by status code, method, and host.");
    /* one series per (code, method): get, list and watch are all GETs */
    uint64_t seen[KUBEREST_MAX_CODES] = {0};
    for (unsigned i = 0; i < s->ncodes; i++) {
        if (seen[i]) continue;
        const char *method = kuberest_verb_method(s->codes[i].verb);
        uint64_t n = 0;
        for (unsigned j = i; j < s->ncodes; j++)
            if (s->codes[j].code == s->codes[i].code && !strcmp(kuberest_verb_method(s->codes[j].verb), method)) {
                n += s->codes[j].n;
                seen[j] = 1;
            }
        if (s->codes[i].code)
            snprintf(code, sizeof code, "%d", s->codes[i].code);
        else
            snprintf(code, sizeof code, "<error>");
        prom_sample(out, "rest_client_requests_total", prom_labels(lb, sizeof lb, "code", code, "host", s->host, "method", method), (double)n);
    }
    prom_family(out, "rest_client_request_duration_seconds", "histogram",
                "Request latency in seconds. Broken down by verb, and host.");
    static const char *const methods[] = {"GET", "POST", "PUT", "DELETE"};
    for (size_t mi = 0; mi < sizeof methods / sizeof *methods; mi++) {
        prom_hist h = {0};
        for (int v = 0; v < KR__VERBS; v++) {
            if (strcmp(kuberest_verb_method(v), methods[mi])) continue;
            for (int i = 0; i <= PROM_MAX_BUCKETS; i++) h.counts[i] += s->method_latency[v].counts[i];
            h.sum += s->method_latency[v].sum;
            h.count += s->method_latency[v].count;
        }
        if (!h.count) continue;
        prom_histogram(out, "rest_client_request_duration_seconds",
                       prom_labels(lb, sizeof lb, "host", s->host, "verb", methods[mi]), PROM_REST_BUCKETS, 12, &h);
    }
}

void kuberest_stats_get(kuberest *k, kuberest_stats *out)
{
    pthread_mutex_lock(&k->mu);
    *out = k->st;
    out->watches = k->nthreads;
    pthread_mutex_unlock(&k->mu);
}

/* kr_tls_setup: server trust and client identity on C. */
void kr_tls_setup(kuberest *k, CURL *c)
{
    if (k->cfg.insecure) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (k->cfg.ca_pem) {
        struct curl_blob b = {k->cfg.ca_pem, strlen(k->cfg.ca_pem), CURL_BLOB_COPY};
        curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &b);
    } else if (k->cfg.ca_file) {
        curl_easy_setopt(c, CURLOPT_CAINFO, k->cfg.ca_file);
    }
    if (k->cfg.cert_pem) {
        struct curl_blob b = {k->cfg.cert_pem, strlen(k->cfg.cert_pem), CURL_BLOB_COPY};
        curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &b);
        curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
    } else if (k->cfg.cert_file) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, k->cfg.cert_file);
    }
    if (k->cfg.key_pem) {
        struct curl_blob b = {k->cfg.key_pem, strlen(k->cfg.key_pem), CURL_BLOB_COPY};
        curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &b);
        curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
    } else if (k->cfg.key_file) {
        curl_easy_setopt(c, CURLOPT_SSLKEY, k->cfg.key_file);
    }
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "the0-runtime/0.1 (controller)");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, k->o.connect_timeout_ms);
}

int kr_buf_add(kr_buf *b, const char *d, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n + 1) cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) return -1;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = 0;
    return 0;
}

static size_t on_body(char *d, size_t sz, size_t nm, void *ud) { return kr_buf_add(ud, d, sz * nm) ? 0 : sz * nm; }

static size_t on_header(char *d, size_t sz, size_t nm, void *ud)
{
    size_t n = sz * nm;
    static const char key[] = "retry-after:";
    if (n > sizeof key - 1 && !strncasecmp(d, key, sizeof key - 1)) {
        char *v = ud;
        size_t off = sizeof key - 1;
        while (off < n && (d[off] == ' ' || d[off] == '\t')) off++;
        size_t l = n - off;
        while (l && (d[off + l - 1] == '\r' || d[off + l - 1] == '\n' || d[off + l - 1] == ' ')) l--;
        if (l > 31) l = 31;
        memcpy(v, d + off, l);
        v[l] = 0;
    }
    return n;
}

static t0_status curl_status(CURLcode rc, const char *what, t0_err *err)
{
    t0_status st = rc == CURLE_OPERATION_TIMEDOUT ? T0_ETIMEOUT : T0_EUNAVAILABLE;
    return t0_fail(err, st, "%s: %s", what, curl_easy_strerror(rc));
}

/* kr_request: one synchronous call on the loop thread. BODY may be NULL. On T0_OK and OUT non-NULL, *out
 * is the parsed answer (owned by the caller), without the members at DROP (NULL: none). */
t0_status kr_request(kuberest *k, kuberest_verb verb, const char *method, const char *path_query, const char *body,
                     const char *what, const char *const *drop, cJSON **out, t0_err *err)
{
    if (out) *out = NULL;
    kr_rate_wait(k);
    CURL *c = k->easy;
    curl_easy_reset(c);
    size_t ul = strlen(k->cfg.server) + strlen(path_query) + 1;
    char *url = malloc(ul);
    if (!url) return t0_fail(err, T0_ENOMEM, "%s: out of memory", what);
    snprintf(url, ul, "%s%s", k->cfg.server, path_query);
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
    if (body) h = curl_slist_append(h, "Content-Type: application/json");
    /* no "Expect: 100-continue" (libcurl adds it to bodies over 1 KiB, as every Pod is): a round trip per
     * write waiting for "100 Continue" from an API server that accepts the body anyway */
    if (body) h = curl_slist_append(h, "Expect:");
    h = kr_auth_header(k, h);
    kr_buf resp = {0};
    char retry_after[32] = "";
    kr_tls_setup(k, c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, k->o.timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, retry_after);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    int64_t t0 = t0_mono_ms();
    CURLcode rc = curl_easy_perform(c);
    double secs = (double)(t0_mono_ms() - t0) / 1000.0;
    long http = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
    curl_slist_free_all(h);
    free(url);
    t0_status st;
    if (rc != CURLE_OK) {
        st = curl_status(rc, what, err);
    } else if ((st = kuberest_map_error(http, resp.p, retry_after, what, err)) == T0_OK && out) {
        if (resp.p) resp.n = t0_json_text_drop(resp.p, resp.n, drop);
        *out = resp.p ? cJSON_Parse(resp.p) : NULL;
        if (!*out) st = t0_fail(err, T0_EINTERNAL, "%s: the server answered %ld with a body that is not JSON", what, http);
    }
    /* a 404 answering a get or a delete is what the caller asked to learn (gone already), not an API error */
    bool failed = st != T0_OK && !(st == T0_ENOTFOUND && (verb == KR_GET || verb == KR_DELETE));
    kr_record(k, verb, rc == CURLE_OK ? http : 0, secs, failed);
    free(resp.p);
    return st;
}
void kuberest_destroy(kuberest *k)
{
    if (!k) return;
    kr_watches_end(k);
    if (k->easy) curl_easy_cleanup(k->easy);
    for (int f = 0; f < 3; f++)
        for (int kind = 0; kind < KUBE__KINDS; kind++) {
            for (char **v = k->drop_paths[f][kind]; v && *v; v++) free(*v);
            free(k->drop_paths[f][kind]);
        }
    kuberest_config_free(&k->cfg);
    free(k->token);
    pthread_mutex_destroy(&k->mu);
    pthread_cond_destroy(&k->cv);
    free(k);
}
