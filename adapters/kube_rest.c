/* kube_rest.c: kube_port over the Kubernetes REST API with libcurl, cJSON and libyaml (see kube_rest.h). */
#include "adapters/kube_rest.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <yaml.h>

#include "core/log.h"

#define COMP "kube-rest"
#define SA_DIR_DEFAULT "/var/run/secrets/kubernetes.io/serviceaccount"

const double KUBEREST_BUCKETS[KUBEREST_NBUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
static const char *const verb_names[KR__VERBS] = {"get", "list", "create", "update", "delete", "watch"};
const char *kuberest_verb_name(kuberest_verb v) { return (unsigned)v < KR__VERBS ? verb_names[v] : "?"; }

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- small helpers ---------------------------------------------------------------------------- */
static char *xstrndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

static char *xstrdup(const char *s) { return s ? xstrndup(s, strlen(s)) : NULL; }

/* read_file: the whole file, NUL-terminated; NULL with errno on failure. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (n + 1 < cap) break;
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf) return errno = ENOMEM, NULL;
    if (bad) return free(buf), errno = EIO, NULL;
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

static void rtrim(char *s)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = 0;
}

/* b64_decode: standard base64 (whitespace ignored, padding optional) into a new NUL-terminated buffer. */
static char *b64_decode(const char *in, size_t *outlen)
{
    size_t n = strlen(in);
    char *out = malloc(n * 3 / 4 + 4);
    if (!out) return NULL;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)in[i], v;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '+' || c == '-') v = 62;
        else if (c == '/' || c == '_') v = 63;
        else if (c == '=') break;
        else if (isspace(c)) continue;
        else {
            free(out);
            return NULL;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = 0;
    if (outlen) *outlen = o;
    return out;
}

static char *join_path(const char *base, const char *p)
{
    if (!p) return NULL;
    if (p[0] == '/' || !base || !*base) return xstrdup(p);
    size_t n = strlen(base) + strlen(p) + 2;
    char *r = malloc(n);
    if (r) snprintf(r, n, "%s/%s", base, p);
    return r;
}

void kuberest_config_free(kuberest_config *c)
{
    if (!c) return;
    free(c->server);
    free(c->ca_file);
    free(c->ca_pem);
    free(c->token);
    free(c->token_file);
    free(c->cert_file);
    free(c->cert_pem);
    free(c->key_file);
    free(c->key_pem);
    free(c->namespace);
    free(c->source);
    memset(c, 0, sizeof *c);
}

/* ---- in-cluster ------------------------------------------------------------------------------- */
t0_status kuberest_config_incluster(const char *sa_dir, kuberest_config *c, t0_err *err)
{
    memset(c, 0, sizeof *c);
    const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host || !port || !*port)
        return t0_fail(err, T0_ENOTFOUND, "in-cluster config: KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT not set");
    if (!sa_dir) sa_dir = SA_DIR_DEFAULT;
    char path[1024];
    snprintf(path, sizeof path, "%s/token", sa_dir);
    if (access(path, R_OK) != 0)
        return t0_fail(err, T0_ENOTFOUND, "in-cluster config: service account token %s: %s", path, strerror(errno));
    char server[512];
    snprintf(server, sizeof server, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port);
    c->server = xstrdup(server);
    c->token_file = xstrdup(path);
    snprintf(path, sizeof path, "%s/ca.crt", sa_dir);
    if (access(path, R_OK) == 0) c->ca_file = xstrdup(path);
    snprintf(path, sizeof path, "%s/namespace", sa_dir);
    char *ns = read_file(path, NULL);
    if (ns) {
        rtrim(ns);
        c->namespace = ns;
    }
    c->source = xstrdup("in-cluster");
    if (!c->server || !c->token_file || !c->source) {
        kuberest_config_free(c);
        return t0_fail(err, T0_ENOMEM, "in-cluster config: out of memory");
    }
    return T0_OK;
}

/* ---- kubeconfig (libyaml document API) -------------------------------------------------------- */
static yaml_node_t *ymap_get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE) return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key);
        if (k && k->type == YAML_SCALAR_NODE && k->data.scalar.length == strlen(key) &&
            !memcmp(k->data.scalar.value, key, k->data.scalar.length))
            return yaml_document_get_node(d, p->value);
    }
    return NULL;
}

/* ystr: a copy of the scalar at MAP[KEY], or NULL (absent, not a scalar, or empty). */
static char *ystr(yaml_document_t *d, yaml_node_t *map, const char *key)
{
    yaml_node_t *n = ymap_get(d, map, key);
    if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.length == 0) return NULL;
    return xstrndup((const char *)n->data.scalar.value, n->data.scalar.length);
}

/* ynamed: in the sequence ROOT[LIST], the entry whose "name" is NAME; returns its INNER mapping. */
static yaml_node_t *ynamed(yaml_document_t *d, yaml_node_t *root, const char *list, const char *name, const char *inner)
{
    yaml_node_t *seq = ymap_get(d, root, list);
    if (!seq || seq->type != YAML_SEQUENCE_NODE) return NULL;
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
        yaml_node_t *e = yaml_document_get_node(d, *it);
        char *n = ystr(d, e, "name");
        bool match = n && !strcmp(n, name);
        free(n);
        if (match) return ymap_get(d, e, inner);
    }
    return NULL;
}

t0_status kuberest_config_kubeconfig_text(const char *text, size_t len, const char *base_dir, const char *context,
                                          kuberest_config *c, t0_err *err)
{
    memset(c, 0, sizeof *c);
    yaml_parser_t p;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&p)) return t0_fail(err, T0_ENOMEM, "kubeconfig: out of memory");
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    if (!yaml_parser_load(&p, &doc)) {
        t0_status st = t0_fail(err, T0_EINVAL, "kubeconfig: YAML error at line %lu: %s",
                               (unsigned long)p.problem_mark.line + 1, p.problem ? p.problem : "unknown");
        yaml_parser_delete(&p);
        return st;
    }
    yaml_parser_delete(&p);
    t0_status st = T0_OK;
    char *ctx_name = NULL, *cluster_name = NULL, *user_name = NULL, *tmp = NULL;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root || root->type != YAML_MAPPING_NODE) {
        st = t0_fail(err, T0_EINVAL, "kubeconfig: not a YAML mapping");
        goto out;
    }
    ctx_name = context && *context ? xstrdup(context) : ystr(&doc, root, "current-context");
    if (!ctx_name) {
        st = t0_fail(err, T0_EINVAL, "kubeconfig: no current-context and no context chosen");
        goto out;
    }
    yaml_node_t *cx = ynamed(&doc, root, "contexts", ctx_name, "context");
    if (!cx) {
        st = t0_fail(err, T0_EINVAL, "kubeconfig: context \"%s\" not found", ctx_name);
        goto out;
    }
    cluster_name = ystr(&doc, cx, "cluster");
    user_name = ystr(&doc, cx, "user");
    c->namespace = ystr(&doc, cx, "namespace");
    yaml_node_t *cl = cluster_name ? ynamed(&doc, root, "clusters", cluster_name, "cluster") : NULL;
    if (!cl) {
        st = t0_fail(err, T0_EINVAL, "kubeconfig: context \"%s\": cluster \"%s\" not found", ctx_name,
                     cluster_name ? cluster_name : "");
        goto out;
    }
    c->server = ystr(&doc, cl, "server");
    if (!c->server) {
        st = t0_fail(err, T0_EINVAL, "kubeconfig: cluster \"%s\" has no server", cluster_name);
        goto out;
    }
    size_t sl = strlen(c->server);
    while (sl > 1 && c->server[sl - 1] == '/') c->server[--sl] = 0;
    tmp = ystr(&doc, cl, "insecure-skip-tls-verify");
    c->insecure = tmp && !strcmp(tmp, "true");
    free(tmp);
    tmp = ystr(&doc, cl, "certificate-authority-data");
    if (tmp && !(c->ca_pem = b64_decode(tmp, NULL))) {
        st = t0_fail(err, T0_EINVAL, "kubeconfig: cluster \"%s\": certificate-authority-data is not base64", cluster_name);
        goto out;
    }
    free(tmp);
    tmp = ystr(&doc, cl, "certificate-authority");
    c->ca_file = join_path(base_dir, tmp);
    free(tmp);
    tmp = NULL;
    yaml_node_t *us = user_name ? ynamed(&doc, root, "users", user_name, "user") : NULL;
    if (user_name && !us) {
        st = t0_fail(err, T0_EINVAL, "kubeconfig: context \"%s\": user \"%s\" not found", ctx_name, user_name);
        goto out;
    }
    if (us) {
        c->token = ystr(&doc, us, "token");
        tmp = ystr(&doc, us, "tokenFile");
        c->token_file = join_path(base_dir, tmp);
        free(tmp);
        tmp = ystr(&doc, us, "client-certificate");
        c->cert_file = join_path(base_dir, tmp);
        free(tmp);
        tmp = ystr(&doc, us, "client-key");
        c->key_file = join_path(base_dir, tmp);
        free(tmp);
        tmp = ystr(&doc, us, "client-certificate-data");
        if (tmp && !(c->cert_pem = b64_decode(tmp, NULL))) {
            st = t0_fail(err, T0_EINVAL, "kubeconfig: user \"%s\": client-certificate-data is not base64", user_name);
            goto out;
        }
        free(tmp);
        tmp = ystr(&doc, us, "client-key-data");
        if (tmp && !(c->key_pem = b64_decode(tmp, NULL))) {
            st = t0_fail(err, T0_EINVAL, "kubeconfig: user \"%s\": client-key-data is not base64", user_name);
            goto out;
        }
        free(tmp);
        tmp = NULL;
        if (ymap_get(&doc, us, "exec") || ymap_get(&doc, us, "auth-provider"))
            T0_WARN(COMP, "kubeconfig user \"%s\": exec/auth-provider credentials are not supported", user_name);
    }
out:
    free(tmp);
    free(ctx_name);
    free(cluster_name);
    free(user_name);
    yaml_document_delete(&doc);
    if (st != T0_OK) kuberest_config_free(c);
    return st;
}

t0_status kuberest_config_kubeconfig(const char *path, const char *context, kuberest_config *c, t0_err *err)
{
    size_t len;
    char *text = read_file(path, &len);
    if (!text) {
        memset(c, 0, sizeof *c);
        return t0_fail(err, T0_ENOTFOUND, "kubeconfig %s: %s", path, strerror(errno));
    }
    char *dir = xstrdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
    if (slash) *slash = 0;
    t0_status st = kuberest_config_kubeconfig_text(text, len, slash ? dir : ".", context, c, err);
    free(dir);
    free(text);
    if (st != T0_OK) {
        t0_err_prefix(err, "%s", path);
        return st;
    }
    if (!(c->source = xstrdup(path))) {
        kuberest_config_free(c);
        return t0_fail(err, T0_ENOMEM, "kubeconfig: out of memory");
    }
    return T0_OK;
}

t0_status kuberest_config_load(const char *path, kuberest_config *c, bool *in_cluster, t0_err *err)
{
    if (in_cluster) *in_cluster = false;
    if (path && *path) return kuberest_config_kubeconfig(path, NULL, c, err);
    const char *env = getenv("KUBECONFIG");
    if (env && *env) {
        char first[1024];
        snprintf(first, sizeof first, "%s", env);
        char *colon = strchr(first, ':');
        if (colon) *colon = 0;
        return kuberest_config_kubeconfig(first, NULL, c, err);
    }
    t0_err e = {0};
    t0_status st = kuberest_config_incluster(NULL, c, &e);
    if (st == T0_OK) {
        if (in_cluster) *in_cluster = true;
        return T0_OK;
    }
    if (st != T0_ENOTFOUND) return t0_fail(err, st, "%s", e.msg);
    const char *home = getenv("HOME");
    char p[1024];
    snprintf(p, sizeof p, "%s/.kube/config", home ? home : "");
    if (home && access(p, R_OK) == 0) return kuberest_config_kubeconfig(p, NULL, c, err);
    return t0_fail(err, T0_ENOTFOUND,
                   "no Kubernetes configuration: not in a cluster (%s) and no kubeconfig (--kubeconfig, KUBECONFIG, "
                   "~/.kube/config)",
                   e.msg);
}

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
static const char *const kind_apiversion[KUBE__KINDS] = {"v1", "batch/v1", "batch/v1", "coordination.k8s.io/v1", "v1"};

t0_status kuberest_path(kube_kind k, const char *ns, const char *name, char *buf, size_t cap)
{
    if ((unsigned)k >= KUBE__KINDS || !ns || !*ns) return T0_EINVAL;
    int n = snprintf(buf, cap, "%s/namespaces/%s/%s%s%s", kind_prefix[k], ns, kube_kind_name(k), name ? "/" : "",
                     name ? name : "");
    return n < 0 || (size_t)n >= cap ? T0_ELIMIT : T0_OK;
}

/* ---- client ----------------------------------------------------------------------------------- */
struct kuberest {
    kuberest_config cfg;
    kuberest_opts o;
    rtloop *loop;
    CURL *easy; /* loop thread only: connection reuse for synchronous calls */
    pthread_mutex_t mu; /* token, rate limiter, stats, watch list */
    pthread_cond_t cv;  /* a watch thread ended */
    char *token;        /* current bearer token */
    int64_t token_read_ms;
    double tokens;
    int64_t bucket_ms;
    kuberest_stats st;
    struct kube_watch *watches;
    unsigned nthreads;
};

void kuberest_opts_defaults(kuberest_opts *o)
{
    *o = (kuberest_opts){.qps = 50, .burst = 100, .timeout_ms = 30000, .connect_timeout_ms = 10000,
                         .watch_timeout_s = 300, .token_reread_ms = 60000};
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

#define DUPFIELD(f)                                                                                    \
    do {                                                                                               \
        if (cfg->f && !(k->cfg.f = xstrdup(cfg->f))) goto nomem;                                       \
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
    if (!(k->easy = curl_easy_init())) goto nomem;
    k->tokens = k->o.burst > 0 ? k->o.burst : 1;
    k->bucket_ms = mono_ms();
    if (k->cfg.token && !(k->token = xstrdup(k->cfg.token))) goto nomem;
    if (k->cfg.token_file) {
        char *t = read_file(k->cfg.token_file, NULL);
        if (!t) {
            t0_status st = t0_fail(err, T0_EIO, "kube client: token file %s: %s", k->cfg.token_file, strerror(errno));
            kuberest_destroy(k);
            return st;
        }
        rtrim(t);
        free(k->token);
        k->token = t;
        k->token_read_ms = mono_ms();
    }
    *out = k;
    return T0_OK;
nomem:
    kuberest_destroy(k);
    return t0_fail(err, T0_ENOMEM, "kube client: out of memory");
}

/* auth_header: "Authorization: Bearer <token>" into a new slist entry, re-reading the token file when
 * it is older than the re-read period. Thread-safe. */
static struct curl_slist *auth_header(kuberest *k, struct curl_slist *h)
{
    pthread_mutex_lock(&k->mu);
    if (k->cfg.token_file && mono_ms() - k->token_read_ms >= k->o.token_reread_ms) {
        char *t = read_file(k->cfg.token_file, NULL);
        if (t) {
            rtrim(t);
            free(k->token);
            k->token = t;
        } else {
            T0_WARN(COMP, "re-reading token %s: %s (keeping the old one)", k->cfg.token_file, strerror(errno));
        }
        k->token_read_ms = mono_ms();
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

/* rate_wait: take a token from the client-side bucket, sleeping when it is empty (client-go's
 * behaviour: the caller blocks; at the default 50 QPS a wait is at most tens of milliseconds). */
static void rate_wait(kuberest *k)
{
    if (k->o.qps <= 0) return;
    pthread_mutex_lock(&k->mu);
    int64_t now = mono_ms();
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

/* record: one request of verb V answered HTTP (0: no answer) after SECS; FAILED: it is an error */
static void record(kuberest *k, kuberest_verb v, long http, double secs, bool failed)
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

/* tls_setup: server trust and client identity on C. */
static void tls_setup(kuberest *k, CURL *c)
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

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static int buf_add(buf *b, const char *d, size_t n)
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

static size_t on_body(char *d, size_t sz, size_t nm, void *ud) { return buf_add(ud, d, sz * nm) ? 0 : sz * nm; }

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

/* request: one synchronous call on the loop thread. BODY may be NULL. On T0_OK and OUT non-NULL, *out
 * is the parsed answer (owned by the caller). */
static t0_status request(kuberest *k, kuberest_verb verb, const char *method, const char *path_query, const char *body,
                         const char *what, cJSON **out, t0_err *err)
{
    if (out) *out = NULL;
    rate_wait(k);
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
    h = auth_header(k, h);
    buf resp = {0};
    char retry_after[32] = "";
    tls_setup(k, c);
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
    int64_t t0 = mono_ms();
    CURLcode rc = curl_easy_perform(c);
    double secs = (double)(mono_ms() - t0) / 1000.0;
    long http = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
    curl_slist_free_all(h);
    free(url);
    t0_status st;
    if (rc != CURLE_OK) {
        st = curl_status(rc, what, err);
    } else if ((st = kuberest_map_error(http, resp.p, retry_after, what, err)) == T0_OK && out) {
        *out = resp.p ? cJSON_Parse(resp.p) : NULL;
        if (!*out) st = t0_fail(err, T0_EINTERNAL, "%s: the server answered %ld with a body that is not JSON", what, http);
    }
    /* a 404 answering a get or a delete is what the caller asked to learn (gone already), not an API error */
    bool failed = st != T0_OK && !(st == T0_ENOTFOUND && (verb == KR_GET || verb == KR_DELETE));
    record(k, verb, rc == CURLE_OK ? http : 0, secs, failed);
    free(resp.p);
    return st;
}

static const char *obj_name(const cJSON *obj)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *n = md ? cJSON_GetObjectItemCaseSensitive(md, "name") : NULL;
    return cJSON_IsString(n) ? n->valuestring : NULL;
}

/* body_of: OBJ serialised, with apiVersion and kind filled in when the caller left them out. */
static char *body_of(kube_kind k, const cJSON *obj)
{
    if (cJSON_GetObjectItemCaseSensitive(obj, "apiVersion") && cJSON_GetObjectItemCaseSensitive(obj, "kind"))
        return cJSON_PrintUnformatted(obj);
    cJSON *cp = cJSON_Duplicate(obj, 1);
    if (!cp) return NULL;
    if (!cJSON_GetObjectItemCaseSensitive(cp, "apiVersion")) cJSON_AddStringToObject(cp, "apiVersion", kind_apiversion[k]);
    if (!cJSON_GetObjectItemCaseSensitive(cp, "kind")) cJSON_AddStringToObject(cp, "kind", kube_kind_kind(k));
    char *s = cJSON_PrintUnformatted(cp);
    cJSON_Delete(cp);
    return s;
}

static t0_status k_write(kuberest *k, kube_kind kind, const char *ns, const cJSON *obj, int mode, cJSON **out,
                         t0_err *err)
{
    static const char *const verbs[3] = {"create", "update", "update status of"};
    const char *name = obj_name(obj);
    char what[300], path[512];
    snprintf(what, sizeof what, "%s %s %s/%s", verbs[mode], kube_kind_kind(kind), ns ? ns : "", name ? name : "");
    if (!cJSON_IsObject(obj) || (mode && !name)) return t0_fail(err, T0_EINVAL, "%s: object without metadata.name", what);
    if (kuberest_path(kind, ns, mode ? name : NULL, path, sizeof path - 8) != T0_OK)
        return t0_fail(err, T0_EINVAL, "%s: bad kind or namespace", what);
    if (mode == 2) strcat(path, "/status");
    char *body = body_of(kind, obj);
    if (!body) return t0_fail(err, T0_ENOMEM, "%s: out of memory", what);
    t0_status st = request(k, mode ? KR_UPDATE : KR_CREATE, mode ? "PUT" : "POST", path, body, what, out, err);
    free(body);
    return st;
}

static t0_status k_create(void *ctx, kube_kind kind, const char *ns, const cJSON *obj, cJSON **out, t0_err *err)
{
    return k_write(ctx, kind, ns, obj, 0, out, err);
}
static t0_status k_update(void *ctx, kube_kind kind, const char *ns, const cJSON *obj, cJSON **out, t0_err *err)
{
    return k_write(ctx, kind, ns, obj, 1, out, err);
}
static t0_status k_update_status(void *ctx, kube_kind kind, const char *ns, const cJSON *obj, cJSON **out, t0_err *err)
{
    return k_write(ctx, kind, ns, obj, 2, out, err);
}

static t0_status k_get(void *ctx, kube_kind kind, const char *ns, const char *name, cJSON **out, t0_err *err)
{
    char what[300], path[512];
    snprintf(what, sizeof what, "get %s %s/%s", kube_kind_kind(kind), ns ? ns : "", name ? name : "");
    if (!name || !*name || kuberest_path(kind, ns, name, path, sizeof path) != T0_OK)
        return t0_fail(err, T0_EINVAL, "%s: bad kind, namespace or name", what);
    cJSON *tmp = NULL;
    t0_status st = request(ctx, KR_GET, "GET", path, NULL, what, &tmp, err);
    if (out)
        *out = tmp;
    else
        cJSON_Delete(tmp);
    return st;
}

/* append_selector: "?labelSelector=<escaped>" (or "&...") onto PATH. */
static t0_status append_query(CURL *c, char *path, size_t cap, const char *key, const char *val)
{
    if (!val || !*val) return T0_OK;
    char *esc = curl_easy_escape(c, val, 0);
    if (!esc) return T0_ENOMEM;
    size_t n = strlen(path);
    int w = snprintf(path + n, cap - n, "%c%s=%s", strchr(path, '?') ? '&' : '?', key, esc);
    curl_free(esc);
    return w < 0 || (size_t)w >= cap - n ? T0_ELIMIT : T0_OK;
}

static t0_status k_list(void *ctx, kube_kind kind, const char *ns, const char *selector, cJSON **out, t0_err *err)
{
    kuberest *k = ctx;
    char what[300], path[2048];
    snprintf(what, sizeof what, "list %s in %s%s%s", kube_kind_name(kind), ns ? ns : "", selector ? " selector " : "",
             selector ? selector : "");
    if (kuberest_path(kind, ns, NULL, path, sizeof path) != T0_OK ||
        append_query(k->easy, path, sizeof path, "labelSelector", selector) != T0_OK)
        return t0_fail(err, T0_EINVAL, "%s: bad kind, namespace or selector", what);
    cJSON *tmp = NULL;
    t0_status st = request(k, KR_LIST, "GET", path, NULL, what, &tmp, err);
    if (st == T0_OK && !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(tmp, "items"))) {
        /* Go encodes an empty slice as null or omits it; the port promises an array */
        if (cJSON_GetObjectItemCaseSensitive(tmp, "items"))
            cJSON_ReplaceItemInObjectCaseSensitive(tmp, "items", cJSON_CreateArray());
        else
            cJSON_AddItemToObject(tmp, "items", cJSON_CreateArray());
    }
    if (out)
        *out = tmp;
    else
        cJSON_Delete(tmp);
    return st;
}

static t0_status k_remove(void *ctx, kube_kind kind, const char *ns, const char *name, const kube_delete_opts *opts,
                          t0_err *err)
{
    char what[300], path[512];
    snprintf(what, sizeof what, "delete %s %s/%s", kube_kind_kind(kind), ns ? ns : "", name ? name : "");
    if (!name || !*name || kuberest_path(kind, ns, name, path, sizeof path) != T0_OK)
        return t0_fail(err, T0_EINVAL, "%s: bad kind, namespace or name", what);
    cJSON *o = cJSON_CreateObject();
    if (!o) return t0_fail(err, T0_ENOMEM, "%s: out of memory", what);
    cJSON_AddStringToObject(o, "kind", "DeleteOptions");
    cJSON_AddStringToObject(o, "apiVersion", "v1");
    if (opts) {
        static const char *const prop[] = {NULL, "Background", "Foreground", "Orphan"};
        if (opts->propagation > KUBE_PROP_DEFAULT && opts->propagation <= KUBE_PROP_ORPHAN)
            cJSON_AddStringToObject(o, "propagationPolicy", prop[opts->propagation]);
        if (opts->grace_seconds >= 0) cJSON_AddNumberToObject(o, "gracePeriodSeconds", (double)opts->grace_seconds);
        if (opts->precondition_uid && *opts->precondition_uid) {
            cJSON *pc = cJSON_AddObjectToObject(o, "preconditions");
            if (pc) cJSON_AddStringToObject(pc, "uid", opts->precondition_uid);
        }
    }
    char *body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!body) return t0_fail(err, T0_ENOMEM, "%s: out of memory", what);
    t0_status st = request(ctx, KR_DELETE, "DELETE", path, body, what, NULL, err);
    free(body);
    return st;
}

/* ---- watch ------------------------------------------------------------------------------------ */
/* Lifetime: the watch is shared by its thread, by the caller (until unwatch) and by every event posted
 * to the loop; it is freed when the last reference goes. `alive` is read and written on the loop
 * thread only: unwatch clears it, and a posted event checks it before calling FN, so nothing is
 * delivered after unwatch. `stop` (atomic) tells the thread to end its stream. */
struct kube_watch {
    kuberest *k;
    struct kube_watch *next, *prev; /* k->watches, under k->mu while the thread runs */
    kube_kind kind;
    char *url;
    kube_watch_fn fn;
    void *ud;
    atomic_int refs;
    atomic_bool stop;
    bool alive, user_ref;
    pthread_mutex_t mu; /* for the interruptible pause between failed attempts */
    pthread_cond_t cv;
    /* thread side */
    buf line;
    long http;
    bool ended; /* a terminal event (GONE/CLOSED) was posted */
    buf errbody;
    char what[160];
};

static void w_release(struct kube_watch *w)
{
    if (atomic_fetch_sub(&w->refs, 1) != 1) return;
    free(w->url);
    free(w->line.p);
    free(w->errbody.p);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

static void unlink_watch(kuberest *k, struct kube_watch *w)
{
    if (w->prev) w->prev->next = w->next;
    else k->watches = w->next;
    if (w->next) w->next->prev = w->prev;
    w->next = w->prev = NULL;
}

typedef struct w_event {
    struct kube_watch *w;
    kube_watch_type type;
    cJSON *obj;
} w_event;

static void w_deliver(void *ud)
{
    w_event *e = ud;
    if (e->w->alive) e->w->fn(e->w->ud, e->type, e->obj);
    cJSON_Delete(e->obj);
    w_release(e->w);
    free(e);
}

static void w_drop(void *ud)
{
    w_event *e = ud;
    cJSON_Delete(e->obj);
    w_release(e->w);
    free(e);
}

/* w_post: hand an event (taking OBJ) to the loop. */
static void w_post(struct kube_watch *w, kube_watch_type type, cJSON *obj)
{
    w_event *e = malloc(sizeof *e);
    if (!e) {
        cJSON_Delete(obj);
        return;
    }
    atomic_fetch_add(&w->refs, 1);
    *e = (w_event){w, type, obj};
    if (rtloop_post(w->k->loop, w_deliver, w_drop, e) != T0_OK) w_drop(e);
    if (type == KUBE_WATCH_GONE || type == KUBE_WATCH_CLOSED) w->ended = true;
}

/* w_line: one newline-delimited event. Returns false to end the stream. */
static bool w_line(struct kube_watch *w, char *s)
{
    while (*s == ' ' || *s == '\r') s++;
    if (!*s) return true;
    cJSON *ev = cJSON_Parse(s);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
    cJSON *obj = cJSON_DetachItemFromObjectCaseSensitive(ev, "object");
    bool go = true;
    if (!cJSON_IsString(type) || !cJSON_IsObject(obj)) {
        T0_WARN(COMP, "%s: malformed watch event (%.80s): restarting the watch", w->what, s);
        w_post(w, KUBE_WATCH_CLOSED, NULL);
        go = false;
    } else if (!strcmp(type->valuestring, "ADDED") || !strcmp(type->valuestring, "MODIFIED") ||
               !strcmp(type->valuestring, "DELETED")) {
        kube_watch_type t = type->valuestring[0] == 'A' ? KUBE_WATCH_ADDED
                            : type->valuestring[0] == 'M' ? KUBE_WATCH_MODIFIED
                                                          : KUBE_WATCH_DELETED;
        w_post(w, t, obj);
        obj = NULL;
    } else if (!strcmp(type->valuestring, "BOOKMARK")) {
        /* progress only: the port has no bookmark event; the caller tracks versions from objects */
    } else if (!strcmp(type->valuestring, "ERROR")) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(obj, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(obj, "message");
        bool gone = cJSON_IsNumber(code) && code->valueint == 410;
        T0_INFO(COMP, "%s: watch ERROR %d: %s%s", w->what, cJSON_IsNumber(code) ? code->valueint : 0,
                cJSON_IsString(msg) ? msg->valuestring : "", gone ? " (re-list)" : "");
        w_post(w, gone ? KUBE_WATCH_GONE : KUBE_WATCH_CLOSED, NULL);
        go = false;
    } else {
        T0_DEBUG(COMP, "%s: ignoring watch event type %s", w->what, type->valuestring);
    }
    cJSON_Delete(obj);
    cJSON_Delete(ev);
    return go;
}

static size_t w_on_body(char *d, size_t sz, size_t nm, void *ud)
{
    struct kube_watch *w = ud;
    size_t n = sz * nm;
    if (atomic_load(&w->stop) || w->ended) return 0;
    if (w->http != 200) return buf_add(&w->errbody, d, n) ? 0 : n;
    if (buf_add(&w->line, d, n)) return 0;
    char *start = w->line.p, *nl;
    while ((nl = memchr(start, '\n', w->line.n - (size_t)(start - w->line.p)))) {
        *nl = 0;
        if (!w_line(w, start)) return 0;
        start = nl + 1;
    }
    size_t rest = w->line.n - (size_t)(start - w->line.p);
    memmove(w->line.p, start, rest);
    w->line.n = rest;
    w->line.p[rest] = 0;
    return n;
}

static int w_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    struct kube_watch *w = ud;
    return atomic_load(&w->stop) ? 1 : 0;
}

typedef struct w_ctx {
    struct kube_watch *w;
    CURL *c;
} w_ctx;

static size_t w_on_body_c(char *d, size_t sz, size_t nm, void *ud)
{
    w_ctx *x = ud;
    if (!x->w->http) curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &x->w->http);
    return w_on_body(d, sz, nm, x->w);
}

/* w_pause: wait MS unless unwatch/destroy asks the thread to stop. */
static void w_pause(struct kube_watch *w, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
    pthread_mutex_lock(&w->mu);
    while (!atomic_load(&w->stop))
        if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != 0) break;
    pthread_mutex_unlock(&w->mu);
}

static void *w_thread(void *arg)
{
    struct kube_watch *w = arg;
    kuberest *k = w->k;
    CURL *c = curl_easy_init();
    int64_t t0 = mono_ms();
    if (c) {
        rate_wait(k);
        w_ctx x = {w, c};
        struct curl_slist *h = auth_header(k, curl_slist_append(NULL, "Accept: application/json"));
        tls_setup(k, c);
        curl_easy_setopt(c, CURLOPT_URL, w->url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, w_on_body_c);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, w_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
        curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
        CURLcode rc = curl_easy_perform(c);
        if (!w->http) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &w->http);
        curl_slist_free_all(h);
        curl_easy_cleanup(c);
        bool failed = rc != CURLE_OK && !w->ended;
        record(k, KR_WATCH, w->http, (double)(mono_ms() - t0) / 1000.0, failed || (w->http && w->http != 200));
        if (!atomic_load(&w->stop) && !w->ended) {
            if (w->http == 410) {
                w_post(w, KUBE_WATCH_GONE, NULL);
            } else {
                if (rc != CURLE_OK)
                    T0_WARN(COMP, "%s: watch stream failed: %s", w->what, curl_easy_strerror(rc));
                else if (w->http != 200) {
                    t0_err e = {0};
                    kuberest_map_error(w->http, w->errbody.p, NULL, w->what, &e);
                    T0_WARN(COMP, "watch: %s", e.msg);
                }
                /* a stream that failed quickly is not re-opened in a hot loop */
                if (mono_ms() - t0 < 1000) w_pause(w, 1000);
                if (!atomic_load(&w->stop)) w_post(w, KUBE_WATCH_CLOSED, NULL);
            }
        }
    } else if (!atomic_load(&w->stop)) {
        w_pause(w, 1000);
        w_post(w, KUBE_WATCH_CLOSED, NULL);
    }
    pthread_mutex_lock(&k->mu);
    k->nthreads--;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
    w_release(w);
    return NULL;
}

static t0_status k_watch(void *ctx, kube_kind kind, const char *ns, const char *selector, const char *from_rv,
                         kube_watch_fn fn, void *ud, kube_watch **out, t0_err *err)
{
    kuberest *k = ctx;
    char path[2048], what[160];
    snprintf(what, sizeof what, "watch %s in %s", kube_kind_name(kind), ns ? ns : "");
    if (!fn || kuberest_path(kind, ns, NULL, path, sizeof path) != T0_OK)
        return t0_fail(err, T0_EINVAL, "%s: bad kind or namespace", what);
    char q[64];
    snprintf(q, sizeof q, "?watch=true&allowWatchBookmarks=true&timeoutSeconds=%d", k->o.watch_timeout_s);
    strncat(path, q, sizeof path - strlen(path) - 1);
    if (append_query(k->easy, path, sizeof path, "resourceVersion", from_rv) != T0_OK ||
        append_query(k->easy, path, sizeof path, "labelSelector", selector) != T0_OK)
        return t0_fail(err, T0_EINVAL, "%s: selector or resourceVersion too long", what);
    struct kube_watch *w = calloc(1, sizeof *w);
    size_t ul = strlen(k->cfg.server) + strlen(path) + 1;
    if (!w || !(w->url = malloc(ul))) {
        free(w);
        return t0_fail(err, T0_ENOMEM, "%s: out of memory", what);
    }
    snprintf(w->url, ul, "%s%s", k->cfg.server, path);
    snprintf(w->what, sizeof w->what, "%s", what);
    w->k = k;
    w->kind = kind;
    w->fn = fn;
    w->ud = ud;
    w->alive = w->user_ref = true;
    atomic_init(&w->refs, 2); /* the caller's and the thread's */
    atomic_init(&w->stop, false);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    pthread_mutex_lock(&k->mu);
    w->next = k->watches;
    if (w->next) w->next->prev = w;
    k->watches = w;
    k->nthreads++;
    pthread_mutex_unlock(&k->mu);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    int rc = pthread_create(&th, &attr, w_thread, w);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        pthread_mutex_lock(&k->mu);
        unlink_watch(k, w);
        k->nthreads--;
        pthread_mutex_unlock(&k->mu);
        atomic_store(&w->refs, 1);
        w_release(w);
        return t0_fail(err, T0_EUNAVAILABLE, "%s: cannot start a thread: %s", what, strerror(rc));
    }
    *out = w;
    return T0_OK;
}

static void w_stop(struct kube_watch *w)
{
    pthread_mutex_lock(&w->mu);
    atomic_store(&w->stop, true);
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void k_unwatch(void *ctx, kube_watch *w)
{
    kuberest *k = ctx;
    if (!w || !w->user_ref) return;
    w->alive = false;
    w->user_ref = false;
    pthread_mutex_lock(&k->mu);
    unlink_watch(k, w);
    pthread_mutex_unlock(&k->mu);
    w_stop(w);
    w_release(w);
}

void kuberest_destroy(kuberest *k)
{
    if (!k) return;
    pthread_mutex_lock(&k->mu);
    for (struct kube_watch *w = k->watches; w; w = w->next) {
        w->alive = false;
        w_stop(w);
    }
    while (k->nthreads) pthread_cond_wait(&k->cv, &k->mu);
    /* watches the caller never unwatched: drop the caller's reference (the handles die with K) */
    while (k->watches) {
        struct kube_watch *w = k->watches;
        unlink_watch(k, w);
        w->user_ref = false;
        w_release(w);
    }
    pthread_mutex_unlock(&k->mu);
    if (k->easy) curl_easy_cleanup(k->easy);
    kuberest_config_free(&k->cfg);
    free(k->token);
    pthread_mutex_destroy(&k->mu);
    pthread_cond_destroy(&k->cv);
    free(k);
}

kube_port kuberest_port(kuberest *k)
{
    return (kube_port){k, k_create, k_get, k_list, k_update, k_update_status, k_remove, k_watch, k_unwatch};
}
