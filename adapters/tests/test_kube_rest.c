/* test_kube_rest.c: the Kubernetes REST adapter: kubeconfig and in-cluster config, Status -> t0_status
 * mapping, and every port call against an in-test libmicrohttpd server with canned answers (Status
 * errors, lists, Retry-After, slow answers, streaming watches). */
#include <criterion/criterion.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adapters/kube_events.h"
#include "adapters/kube_rest.h"

/* ---- kubeconfig ------------------------------------------------------------------------------- */
static const char *KCFG =
    "apiVersion: v1\n"
    "kind: Config\n"
    "current-context: dev\n"
    "clusters:\n"
    "- name: prod\n"
    "  cluster:\n"
    "    server: https://prod.example:6443/\n"
    "    certificate-authority: certs/ca.pem\n"
    "- name: devc\n"
    "  cluster:\n"
    "    server: https://127.0.0.1:16443\n"
    "    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t\n" /* -----BEGIN CERTIFICATE----- */
    "    insecure-skip-tls-verify: true\n"
    "users:\n"
    "- name: alice\n"
    "  user:\n"
    "    token: s3cr3t\n"
    "- name: bob\n"
    "  user:\n"
    "    client-certificate-data: Y2VydA==\n" /* cert */
    "    client-key-data: a2V5\n"              /* key */
    "    client-certificate: /abs/c.pem\n"
    "contexts:\n"
    "- name: dev\n"
    "  context: {cluster: devc, user: bob, namespace: the0-dev}\n"
    "- name: prod\n"
    "  context:\n"
    "    cluster: prod\n"
    "    user: alice\n";

Test(kubeconfig, current_context_with_data_fields)
{
    kuberest_config c;
    t0_err e = {0};
    t0_status st = kuberest_config_kubeconfig_text(KCFG, strlen(KCFG), "/home/x/.kube", NULL, &c, &e);
    cr_assert_eq(st, T0_OK, "%s", e.msg);
    cr_assert_str_eq(c.server, "https://127.0.0.1:16443");
    cr_assert_str_eq(c.ca_pem, "-----BEGIN CERTIFICATE-----", "ca %s", c.ca_pem);
    cr_assert(c.insecure);
    cr_assert_str_eq(c.cert_pem, "cert", "cert %s", c.cert_pem);
    cr_assert_str_eq(c.key_pem, "key", "key %s", c.key_pem);
    cr_assert_str_eq(c.cert_file, "/abs/c.pem");
    cr_assert_null(c.token);
    cr_assert_str_eq(c.namespace, "the0-dev");
    kuberest_config_free(&c);
}

Test(kubeconfig, explicit_context_resolves_relative_paths_and_trailing_slash)
{
    kuberest_config c;
    t0_err e = {0};
    cr_assert_eq(kuberest_config_kubeconfig_text(KCFG, strlen(KCFG), "/home/x/.kube", "prod", &c, &e), T0_OK, "%s", e.msg);
    cr_assert_str_eq(c.server, "https://prod.example:6443", "server %s", c.server);
    cr_assert_str_eq(c.ca_file, "/home/x/.kube/certs/ca.pem", "ca %s", c.ca_file);
    cr_assert_null(c.ca_pem);
    cr_assert_not(c.insecure);
    cr_assert_str_eq(c.token, "s3cr3t");
    cr_assert_null(c.namespace);
    kuberest_config_free(&c);
}

Test(kubeconfig, errors_name_what_is_missing)
{
    kuberest_config c;
    t0_err e = {0};
    cr_assert_eq(kuberest_config_kubeconfig_text(KCFG, strlen(KCFG), ".", "nope", &c, &e), T0_EINVAL);
    cr_assert(strstr(e.msg, "context \"nope\" not found"), "msg %s", e.msg);
    const char *nocur = "clusters: []\n";
    cr_assert_eq(kuberest_config_kubeconfig_text(nocur, strlen(nocur), ".", NULL, &c, &e), T0_EINVAL);
    cr_assert(strstr(e.msg, "current-context"), "msg %s", e.msg);
    const char *bad = "a: [unclosed\n";
    cr_assert_eq(kuberest_config_kubeconfig_text(bad, strlen(bad), ".", NULL, &c, &e), T0_EINVAL);
    cr_assert(strstr(e.msg, "YAML error"), "msg %s", e.msg);
    const char *nocl = "current-context: x\ncontexts:\n- name: x\n  context: {cluster: gone}\n";
    cr_assert_eq(kuberest_config_kubeconfig_text(nocl, strlen(nocl), ".", NULL, &c, &e), T0_EINVAL);
    cr_assert(strstr(e.msg, "cluster \"gone\" not found"), "msg %s", e.msg);
    cr_assert_eq(kuberest_config_kubeconfig("/nonexistent/kubeconfig", NULL, &c, &e), T0_ENOTFOUND);
}

Test(kubeconfig, data_fields_that_are_not_base64_are_named)
{
    static const char *const cases[][2] = {
        {"    certificate-authority-data: '!!'\n", "cluster \"c\": certificate-authority-data is not base64"},
        {"    client-certificate-data: '@@'\n", "user \"u\": client-certificate-data is not base64"},
        {"    client-key-data: '%%'\n", "user \"u\": client-key-data is not base64"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        bool user = i > 0;
        snprintf(text, sizeof text,
                 "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n"
                 "clusters:\n- name: c\n  cluster:\n    server: https://h:1\n%s"
                 "users:\n- name: u\n  user:\n    token: t\n%s",
                 user ? "" : cases[i][0], user ? cases[i][0] : "");
        kuberest_config c;
        t0_err e = {0};
        cr_assert_eq(kuberest_config_kubeconfig_text(text, strlen(text), ".", NULL, &c, &e), T0_EINVAL, "case %zu: %s", i,
                     e.msg);
        cr_assert(strstr(e.msg, cases[i][1]), "case %zu: message %s, want %s", i, e.msg, cases[i][1]);
    }
}

Test(kubeconfig, in_cluster_from_env_and_service_account_dir)
{
    char dir[] = "/tmp/t0-sa-XXXXXX";
    cr_assert(mkdtemp(dir));
    char p[256];
    snprintf(p, sizeof p, "%s/token", dir);
    FILE *f = fopen(p, "w");
    fputs("tok-1\n", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/namespace", dir);
    f = fopen(p, "w");
    fputs("the0\n", f);
    fclose(f);
    kuberest_config c;
    t0_err e = {0};
    unsetenv("KUBERNETES_SERVICE_HOST");
    cr_assert_eq(kuberest_config_incluster(dir, &c, &e), T0_ENOTFOUND);
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    cr_assert_eq(kuberest_config_incluster(dir, &c, &e), T0_OK, "%s", e.msg);
    cr_assert_str_eq(c.server, "https://10.96.0.1:443");
    cr_assert_str_eq(c.namespace, "the0", "ns '%s'", c.namespace);
    cr_assert(strstr(c.token_file, "/token"));
    cr_assert_null(c.ca_file); /* no ca.crt in the directory */
    kuberest_config_free(&c);
    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    cr_assert_eq(kuberest_config_incluster(dir, &c, &e), T0_OK, "%s", e.msg);
    cr_assert_str_eq(c.server, "https://[fd00::1]:443");
    kuberest_config_free(&c);
}

/* ---- Status mapping --------------------------------------------------------------------------- */
#define STATUS(code, reason, msg)                                                                      \
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"" reason           \
    "\",\"code\":" #code ",\"message\":\"" msg "\"}"

Test(kube_status, every_code_maps_to_its_status_with_context)
{
    struct {
        long http;
        const char *body, *retry;
        t0_status want;
        long retry_ms;
    } cases[] = {
        {200, "{}", NULL, T0_OK, 0},
        {201, NULL, NULL, T0_OK, 0},
        {404, STATUS(404, "NotFound", "pods \\\"bot-1\\\" not found"), NULL, T0_ENOTFOUND, 0},
        {409, STATUS(409, "AlreadyExists", "pods \\\"bot-1\\\" already exists"), NULL, T0_EEXIST, 0},
        {409, STATUS(409, "Conflict", "the object has been modified"), NULL, T0_ECONFLICT, 0},
        {410, STATUS(410, "Expired", "too old resource version"), NULL, T0_EGONE, 0},
        {422, STATUS(422, "Invalid", "spec.containers: Required value"), NULL, T0_EINVALID, 0},
        {429, STATUS(429, "TooManyRequests", "slow down"), "7", T0_ETOOMANY, 7000},
        {429, "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\",\"details\":{\"retryAfterSeconds\":3}}", NULL,
         T0_ETOOMANY, 3000},
        {500, STATUS(500, "InternalError", "etcd"), NULL, T0_EINTERNAL, 0},
        {503, "<html>busy</html>", NULL, T0_EINTERNAL, 0},
        {403, STATUS(403, "Forbidden", "no"), NULL, T0_EFORBIDDEN, 0},
        {400, STATUS(400, "BadRequest", "bad"), NULL, T0_EINVAL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        t0_err e = {0};
        t0_status st = kuberest_map_error(cases[i].http, cases[i].body, cases[i].retry, "create Pod the0/bot-1", &e);
        cr_assert_eq(st, cases[i].want, "http %ld: got %s want %s", cases[i].http, t0_status_name(st),
                     t0_status_name(cases[i].want));
        if (st == T0_OK) continue;
        cr_assert_eq(e.retry_after_ms, cases[i].retry_ms, "http %ld: retry %ld want %ld", cases[i].http, e.retry_after_ms,
                     cases[i].retry_ms);
        cr_assert_eq(e.http_status, (int)cases[i].http);
        cr_assert(strstr(e.msg, "create Pod the0/bot-1"), "msg %s", e.msg);
    }
    t0_err e = {0};
    kuberest_map_error(404, STATUS(404, "NotFound", "pods \\\"bot-1\\\" not found"), NULL, "get Pod the0/bot-1", &e);
    cr_assert_str_eq(e.msg, "get Pod the0/bot-1: 404 NotFound: pods \"bot-1\" not found");
}

Test(kube_status, paths_per_kind)
{
    char b[256];
    kuberest_path(KUBE_POD, "the0", NULL, b, sizeof b);
    cr_assert_str_eq(b, "/api/v1/namespaces/the0/pods");
    kuberest_path(KUBE_CRONJOB, "the0", "s-1", b, sizeof b);
    cr_assert_str_eq(b, "/apis/batch/v1/namespaces/the0/cronjobs/s-1");
    kuberest_path(KUBE_JOB, "n", NULL, b, sizeof b);
    cr_assert_str_eq(b, "/apis/batch/v1/namespaces/n/jobs");
    kuberest_path(KUBE_LEASE, "n", "l", b, sizeof b);
    cr_assert_str_eq(b, "/apis/coordination.k8s.io/v1/namespaces/n/leases/l");
    kuberest_path(KUBE_EVENT, "n", NULL, b, sizeof b);
    cr_assert_str_eq(b, "/api/v1/namespaces/n/events");
    cr_assert_eq(kuberest_path(KUBE_POD, "", NULL, b, sizeof b), T0_EINVAL);
}

/* ---- in-test API server ----------------------------------------------------------------------- */
typedef struct canned {
    unsigned status;
    const char *body;
    const char *retry_after;
    int delay_ms;
    const char *const *stream; /* watch: lines sent one by one, then the stream ends */
    int hold_ms;               /* watch: keep the stream open this long after the lines */
    bool gate;                 /* answer only once the test calls srv_release */
} canned;

typedef struct srv {
    struct MHD_Daemon *d;
    int port;
    pthread_mutex_t mu;
    canned answer;
    char method[16], url[1024], auth[256], body[4096];
    int requests;
    pthread_cond_t released_cv;
    bool released;
} srv;

static srv S;

typedef struct conn {
    char body[4096];
    size_t n;
} conn;

typedef struct stream_st {
    const char *const *lines;
    int i;
    int hold_ms;
} stream_st;

static ssize_t stream_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream_st *s = cls;
    if (s->lines && s->lines[s->i]) {
        usleep(10000);
        size_t n = strlen(s->lines[s->i]);
        if (n + 1 > max) return MHD_CONTENT_READER_END_WITH_ERROR;
        memcpy(buf, s->lines[s->i], n);
        buf[n] = '\n';
        s->i++;
        return (ssize_t)n + 1;
    }
    if (s->hold_ms > 0) {
        usleep(50000);
        s->hold_ms -= 50;
        return 0;
    }
    return MHD_CONTENT_READER_END_OF_STREAM;
}

static enum MHD_Result on_req(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)cls, (void)version;
    if (!*con_cls) {
        *con_cls = calloc(1, sizeof(conn));
        return MHD_YES;
    }
    conn *cc = *con_cls;
    if (*upload_size) {
        size_t n = *upload_size < sizeof cc->body - cc->n - 1 ? *upload_size : sizeof cc->body - cc->n - 1;
        memcpy(cc->body + cc->n, upload, n);
        cc->n += n;
        *upload_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&S.mu);
    S.requests++;
    snprintf(S.method, sizeof S.method, "%s", method);
    /* rebuild the query string in arrival order */
    snprintf(S.url, sizeof S.url, "%s", url);
    const char *q = NULL;
    q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "labelSelector");
    if (q) {
        strncat(S.url, " labelSelector=", sizeof S.url - strlen(S.url) - 1);
        strncat(S.url, q, sizeof S.url - strlen(S.url) - 1);
    }
    static const char *const keys[] = {"watch", "resourceVersion", "allowWatchBookmarks", "timeoutSeconds", "limit",
                                       "continue"};
    for (size_t i = 0; i < T0_ARRAY_LEN(keys); i++) {
        q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, keys[i]);
        if (q) {
            char kv[128];
            snprintf(kv, sizeof kv, " %s=%s", keys[i], q);
            strncat(S.url, kv, sizeof S.url - strlen(S.url) - 1);
        }
    }
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    snprintf(S.auth, sizeof S.auth, "%s", a ? a : "");
    snprintf(S.body, sizeof S.body, "%.*s", (int)cc->n, cc->body);
    canned ans = S.answer;
    while (ans.gate && !S.released) pthread_cond_wait(&S.released_cv, &S.mu);
    pthread_mutex_unlock(&S.mu);
    if (ans.delay_ms) usleep((useconds_t)ans.delay_ms * 1000);
    struct MHD_Response *r;
    if (ans.stream) {
        stream_st *st = calloc(1, sizeof *st);
        st->lines = ans.stream;
        st->hold_ms = ans.hold_ms;
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_cb, st, free);
    } else {
        const char *b = ans.body ? ans.body : "{}";
        r = MHD_create_response_from_buffer(strlen(b), (void *)b, MHD_RESPMEM_MUST_COPY);
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (ans.retry_after) MHD_add_response_header(r, "Retry-After", ans.retry_after);
    enum MHD_Result ret = MHD_queue_response(c, ans.status ? ans.status : 200, r);
    MHD_destroy_response(r);
    return ret;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
    (void)cls, (void)c, (void)t;
    free(*con_cls);
    *con_cls = NULL;
}

static void srv_start(void)
{
    memset(&S, 0, sizeof S);
    pthread_mutex_init(&S.mu, NULL);
    pthread_cond_init(&S.released_cv, NULL);
    S.d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
                           NULL, NULL, on_req, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
                           MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, MHD_OPTION_END);
    cr_assert_not_null(S.d, "MHD_start_daemon failed");
    S.port = MHD_get_daemon_info(S.d, MHD_DAEMON_INFO_BIND_PORT)->port;
}

static void srv_stop(void)
{
    if (S.d) MHD_stop_daemon(S.d);
    S.d = NULL;
}

static void srv_release(void)
{
    pthread_mutex_lock(&S.mu);
    S.released = true;
    pthread_cond_broadcast(&S.released_cv);
    pthread_mutex_unlock(&S.mu);
}

static void srv_answer(canned a)
{
    pthread_mutex_lock(&S.mu);
    S.answer = a;
    pthread_mutex_unlock(&S.mu);
}

typedef struct fixture {
    rtloop *loop;
    kuberest *k;
    kube_port p;
} fixture;

static fixture F;

static void client(const kuberest_opts *o, const char *token)
{
    char server[64];
    snprintf(server, sizeof server, "http://127.0.0.1:%d/", S.port);
    kuberest_config cfg = {.server = server, .token = (char *)token};
    cr_assert_eq(rtloop_new(&F.loop, NULL), T0_OK);
    t0_err e = {0};
    cr_assert_eq(kuberest_new(&cfg, F.loop, o, &F.k, &e), T0_OK, "%s", e.msg);
    F.p = kuberest_port(F.k);
}

static void setup(void)
{
    srv_start();
    client(NULL, "tok-abc");
}

static void teardown(void)
{
    kuberest_destroy(F.k);
    rtloop_destroy(F.loop);
    srv_stop();
    memset(&F, 0, sizeof F);
}

TestSuite(kube_rest, .init = setup, .fini = teardown, .timeout = 30);

Test(kube_rest, create_posts_the_object_with_kind_and_bearer_token)
{
    srv_answer((canned){201, "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"bot-1\",\"uid\":\"u1\",\"resourceVersion\":\"5\"}}"});
    cJSON *pod = cJSON_Parse("{\"metadata\":{\"name\":\"bot-1\"},\"spec\":{}}");
    cJSON *out = NULL;
    t0_err e = {0};
    t0_status st = F.p.create(F.p.ctx, KUBE_POD, "the0", pod, &out, &e);
    cr_assert_eq(st, T0_OK, "%s: %s", t0_status_name(st), e.msg);
    cr_assert_str_eq(S.method, "POST");
    cr_assert_str_eq(S.url, "/api/v1/namespaces/the0/pods");
    cr_assert_str_eq(S.auth, "Bearer tok-abc");
    cJSON *sent = cJSON_Parse(S.body);
    cr_assert_str_eq(cJSON_GetObjectItem(sent, "kind")->valuestring, "Pod", "body %s", S.body);
    cr_assert_str_eq(cJSON_GetObjectItem(sent, "apiVersion")->valuestring, "v1", "body %s", S.body);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(out, "metadata"), "uid")->valuestring, "u1");
    cJSON_Delete(sent);
    cJSON_Delete(out);
    cJSON_Delete(pod);
    kuberest_stats ks;
    kuberest_stats_get(F.k, &ks);
    cr_assert_eq(ks.requests[KR_CREATE], 1u);
    cr_assert_eq(ks.bucket[KR_CREATE][KUBEREST_NBUCKETS - 1], 1u, "a fast call is in the last cumulative bucket");
}

Test(kube_rest, update_puts_to_the_name_and_maps_conflict)
{
    srv_answer((canned){409, STATUS(409, "Conflict", "the object has been modified")});
    cJSON *cj = cJSON_Parse("{\"apiVersion\":\"batch/v1\",\"kind\":\"CronJob\",\"metadata\":{\"name\":\"s-1\","
                            "\"resourceVersion\":\"3\"}}");
    t0_err e = {0};
    t0_status st = F.p.update(F.p.ctx, KUBE_CRONJOB, "the0", cj, NULL, &e);
    cr_assert_eq(st, T0_ECONFLICT, "%s", t0_status_name(st));
    cr_assert_str_eq(S.method, "PUT");
    cr_assert_str_eq(S.url, "/apis/batch/v1/namespaces/the0/cronjobs/s-1");
    cr_assert(strstr(e.msg, "update CronJob the0/s-1: 409 Conflict: the object has been modified"), "msg %s", e.msg);
    srv_answer((canned){200, "{}"});
    cr_assert_eq(F.p.update_status(F.p.ctx, KUBE_CRONJOB, "the0", cj, NULL, &e), T0_OK, "%s", e.msg);
    cr_assert_str_eq(S.url, "/apis/batch/v1/namespaces/the0/cronjobs/s-1/status");
    cJSON_Delete(cj);
}

Test(kube_rest, get_404_and_create_already_exists)
{
    srv_answer((canned){404, STATUS(404, "NotFound", "pods \\\"bot-9\\\" not found")});
    cJSON *out = NULL;
    t0_err e = {0};
    cr_assert_eq(F.p.get(F.p.ctx, KUBE_POD, "the0", "bot-9", &out, &e), T0_ENOTFOUND);
    cr_assert_null(out);
    cr_assert_str_eq(S.url, "/api/v1/namespaces/the0/pods/bot-9");
    cr_assert_str_eq(e.msg, "get Pod the0/bot-9: 404 NotFound: pods \"bot-9\" not found");
    srv_answer((canned){409, STATUS(409, "AlreadyExists", "leases \\\"l\\\" already exists")});
    cJSON *lease = cJSON_Parse("{\"metadata\":{\"name\":\"l\"}}");
    cr_assert_eq(F.p.create(F.p.ctx, KUBE_LEASE, "the0", lease, NULL, &e), T0_EEXIST, "%s", e.msg);
    cr_assert_str_eq(S.url, "/apis/coordination.k8s.io/v1/namespaces/the0/leases");
    cJSON *sent = cJSON_Parse(S.body);
    cr_assert_str_eq(cJSON_GetObjectItem(sent, "apiVersion")->valuestring, "coordination.k8s.io/v1");
    cJSON_Delete(sent);
    cJSON_Delete(lease);
}

Test(kube_rest, list_escapes_the_label_selector)
{
    srv_answer((canned){200, "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"42\"},\"items\":[{\"metadata\":"
                             "{\"name\":\"a\"}}]}"});
    cJSON *out = NULL;
    t0_err e = {0};
    cr_assert_eq(F.p.list(F.p.ctx, KUBE_POD, "the0", "the0.dev/managed-by=the0-bot-controller,x in (a b)", NULL, &out, &e),
                 T0_OK, "%s", e.msg);
    cr_assert_str_eq(S.url, "/api/v1/namespaces/the0/pods labelSelector=the0.dev/managed-by=the0-bot-controller,x in (a b)",
                     "url %s", S.url);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(out, "items")), 1);
    cJSON_Delete(out);
    srv_answer((canned){200, "{\"kind\":\"CronJobList\",\"metadata\":{\"resourceVersion\":\"1\"}}"});
    cr_assert_eq(F.p.list(F.p.ctx, KUBE_CRONJOB, "the0", NULL, NULL, &out, &e), T0_OK, "%s", e.msg);
    cr_assert(cJSON_IsArray(cJSON_GetObjectItem(out, "items")), "an omitted items becomes []");
    cJSON_Delete(out);
    /* a page: limit and the continue token go in the query, the next token comes back in metadata */
    srv_answer((canned){200, "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"42\",\"continue\":\"42.7.4\"},"
                             "\"items\":[{\"metadata\":{\"name\":\"c\"}},{\"metadata\":{\"name\":\"d\"}}]}"});
    cr_assert_eq(F.p.list(F.p.ctx, KUBE_POD, "the0", NULL, &(kube_list_page){2, "42.7.2"}, &out, &e), T0_OK, "%s", e.msg);
    cr_assert_str_eq(S.url, "/api/v1/namespaces/the0/pods limit=2 continue=42.7.2", "url %s", S.url);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(out, "metadata"), "continue")->valuestring, "42.7.4");
    cJSON_Delete(out);
    srv_answer((canned){410, "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"Expired\",\"code\":410,"
                             "\"message\":\"The provided continue parameter is too old\"}"});
    cr_assert_eq(F.p.list(F.p.ctx, KUBE_POD, "the0", NULL, &(kube_list_page){2, "42.7.4"}, &out, &e), T0_EGONE);
    cr_assert(strstr(e.msg, "a continuation page") && strstr(e.msg, "too old"), "%s", e.msg);
    srv_answer((canned){200, "{\"kind\":\"JobList\",\"metadata\":{\"resourceVersion\":\"1\"},\"items\":null}"});
    cr_assert_eq(F.p.list(F.p.ctx, KUBE_JOB, "the0", NULL, NULL, &out, &e), T0_OK, "%s", e.msg);
    cr_assert(cJSON_IsArray(cJSON_GetObjectItem(out, "items")), "a null items becomes []");
    cJSON_Delete(out);
}

Test(kube_rest, delete_sends_delete_options)
{
    srv_answer((canned){200, "{}"});
    kube_delete_opts o = {KUBE_PROP_FOREGROUND, 30, "uid-7"};
    t0_err e = {0};
    cr_assert_eq(F.p.remove(F.p.ctx, KUBE_CRONJOB, "the0", "s-1", &o, &e), T0_OK, "%s", e.msg);
    cr_assert_str_eq(S.method, "DELETE");
    cJSON *b = cJSON_Parse(S.body);
    cr_assert_not_null(b, "body %s", S.body);
    cr_assert_str_eq(cJSON_GetObjectItem(b, "propagationPolicy")->valuestring, "Foreground", "body %s", S.body);
    cr_assert_eq(cJSON_GetObjectItem(b, "gracePeriodSeconds")->valueint, 30);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(b, "preconditions"), "uid")->valuestring, "uid-7");
    cJSON_Delete(b);
    kube_delete_opts d = {KUBE_PROP_DEFAULT, -1, NULL};
    cr_assert_eq(F.p.remove(F.p.ctx, KUBE_POD, "the0", "bot-1", &d, &e), T0_OK);
    cr_assert(!strstr(S.body, "propagationPolicy") && !strstr(S.body, "gracePeriodSeconds") &&
                  !strstr(S.body, "preconditions"),
              "defaults send none: %s", S.body);
}

Test(kube_rest, too_many_requests_carries_retry_after)
{
    srv_answer((canned){429, STATUS(429, "TooManyRequests", "slow down"), "4"});
    t0_err e = {0};
    cr_assert_eq(F.p.get(F.p.ctx, KUBE_POD, "the0", "bot-1", NULL, &e), T0_ETOOMANY);
    cr_assert_eq(e.retry_after_ms, 4000, "retry %ld", e.retry_after_ms);
}

Test(kube_rest, slow_server_is_a_timeout_and_no_server_is_unavailable)
{
    kuberest_destroy(F.k);
    rtloop_destroy(F.loop);
    kuberest_opts o;
    kuberest_opts_defaults(&o);
    o.timeout_ms = 200;
    client(&o, NULL);
    srv_answer((canned){200, "{}", NULL, 1000});
    t0_err e = {0};
    cr_assert_eq(F.p.get(F.p.ctx, KUBE_POD, "the0", "bot-1", NULL, &e), T0_ETIMEOUT, "%s", e.msg);
    cr_assert(strstr(e.msg, "get Pod the0/bot-1"), "msg %s", e.msg);
    srv_stop();
    cr_assert_eq(F.p.get(F.p.ctx, KUBE_POD, "the0", "bot-1", NULL, &e), T0_EUNAVAILABLE, "%s", e.msg);
}

Test(kube_rest, qps_and_burst_are_enforced)
{
    kuberest_destroy(F.k);
    rtloop_destroy(F.loop);
    kuberest_opts o;
    kuberest_opts_defaults(&o);
    o.qps = 20;
    o.burst = 2;
    client(&o, NULL);
    srv_answer((canned){200, "{}"});
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < 6; i++) cr_assert_eq(F.p.get(F.p.ctx, KUBE_POD, "the0", "x", NULL, NULL), T0_OK);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    cr_assert(ms >= 180, "6 requests at 20 QPS burst 2 took %ld ms (want >= 200 - slack)", ms);
    kuberest_stats ks;
    kuberest_stats_get(F.k, &ks);
    cr_assert_geq(ks.throttled, 4u, "throttled %llu", (unsigned long long)ks.throttled);
}

Test(kube_rest, token_file_is_re_read)
{
    char path[] = "/tmp/t0-token-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(write(fd, "first\n", 6) == 6);
    close(fd);
    kuberest_destroy(F.k);
    char server[64];
    snprintf(server, sizeof server, "http://127.0.0.1:%d", S.port);
    kuberest_config cfg = {.server = server, .token_file = path};
    kuberest_opts o;
    kuberest_opts_defaults(&o);
    o.token_reread_ms = 0;
    cr_assert_eq(kuberest_new(&cfg, F.loop, &o, &F.k, NULL), T0_OK);
    F.p = kuberest_port(F.k);
    srv_answer((canned){200, "{}"});
    F.p.get(F.p.ctx, KUBE_POD, "the0", "x", NULL, NULL);
    cr_assert_str_eq(S.auth, "Bearer first");
    FILE *f = fopen(path, "w");
    fputs("second", f);
    fclose(f);
    F.p.get(F.p.ctx, KUBE_POD, "the0", "x", NULL, NULL);
    cr_assert_str_eq(S.auth, "Bearer second");
    unlink(path);
}

/* ---- watch ------------------------------------------------------------------------------------ */
typedef struct wrec {
    char log[512];
    int n, stop_at;
    pthread_t loop_thread;
    bool wrong_thread;
    kube_watch *w;
    bool unwatch_on_first;
} wrec;

static void on_ev(void *ud, kube_watch_type t, const cJSON *obj)
{
    wrec *r = ud;
    static const char *const names[] = {"ADDED", "MODIFIED", "DELETED", "GONE", "CLOSED", "BOOKMARK"};
    const cJSON *md = cJSON_GetObjectItem(obj, "metadata");
    const cJSON *nm = md ? cJSON_GetObjectItem(md, t == KUBE_WATCH_BOOKMARK ? "resourceVersion" : "name") : NULL;
    char item[64];
    snprintf(item, sizeof item, "%s%s%s ", names[t], nm ? ":" : "", nm ? nm->valuestring : "");
    strncat(r->log, item, sizeof r->log - strlen(r->log) - 1);
    if (!pthread_equal(pthread_self(), r->loop_thread)) r->wrong_thread = true;
    if (r->unwatch_on_first && r->w) {
        F.p.unwatch(F.p.ctx, r->w);
        r->w = NULL;
    }
    if (++r->n == r->stop_at || t == KUBE_WATCH_GONE || t == KUBE_WATCH_CLOSED) rtloop_stop(F.loop);
}

#define EV(type, name) "{\"type\":\"" type "\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"" name "\"}}}"

Test(kube_rest, watch_delivers_events_and_bookmarks_in_order_on_the_loop_then_closed)
{
    static const char *const lines[] = {
        EV("ADDED", "a"),
        "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"resourceVersion\":\"9\"}}}",
        EV("MODIFIED", "a"), EV("DELETED", "a"), NULL};
    srv_answer((canned){200, NULL, NULL, 0, lines});
    wrec r = {.loop_thread = pthread_self()};
    t0_err e = {0};
    cr_assert_eq(F.p.watch(F.p.ctx, KUBE_POD, "the0", "app=x", "41", on_ev, &r, &r.w, &e), T0_OK, "%s", e.msg);
    cr_assert(rtloop_run(F.loop, 10000), "no CLOSED within 10 s; log: %s", r.log);
    cr_assert_str_eq(r.log, "ADDED:a BOOKMARK:9 MODIFIED:a DELETED:a CLOSED ", "log %s", r.log);
    cr_assert_not(r.wrong_thread, "a callback ran off the loop thread");
    cr_assert(strstr(S.url, "watch=true") && strstr(S.url, "resourceVersion=41") &&
                  strstr(S.url, "allowWatchBookmarks=true") && strstr(S.url, "labelSelector=app=x"),
              "url %s", S.url);
    F.p.unwatch(F.p.ctx, r.w);
}

Test(kube_rest, watch_error_410_is_gone)
{
    static const char *const lines[] = {
        EV("ADDED", "b"),
        "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"Expired\",\"code\":410,"
        "\"message\":\"too old resource version: 1 (50)\"}}",
        EV("ADDED", "never"), NULL};
    srv_answer((canned){200, NULL, NULL, 0, lines});
    wrec r = {.loop_thread = pthread_self()};
    cr_assert_eq(F.p.watch(F.p.ctx, KUBE_POD, "the0", NULL, "1", on_ev, &r, &r.w, NULL), T0_OK);
    cr_assert(rtloop_run(F.loop, 10000), "log: %s", r.log);
    cr_assert_str_eq(r.log, "ADDED:b GONE ", "log %s", r.log);
    F.p.unwatch(F.p.ctx, r.w);
}

Test(kube_rest, watch_http_410_is_gone)
{
    srv_answer((canned){410, STATUS(410, "Expired", "too old")});
    wrec r = {.loop_thread = pthread_self()};
    cr_assert_eq(F.p.watch(F.p.ctx, KUBE_CRONJOB, "the0", NULL, "1", on_ev, &r, &r.w, NULL), T0_OK);
    cr_assert(rtloop_run(F.loop, 10000), "log: %s", r.log);
    cr_assert_str_eq(r.log, "GONE ", "log %s", r.log);
    F.p.unwatch(F.p.ctx, r.w);
}

Test(kube_rest, nothing_is_delivered_after_unwatch_even_when_already_posted)
{
    static const char *const lines[] = {EV("ADDED", "1"), EV("ADDED", "2"), EV("ADDED", "3"), NULL};
    srv_answer((canned){200, NULL, NULL, 0, lines, 3000});
    wrec r = {.loop_thread = pthread_self(), .unwatch_on_first = true};
    cr_assert_eq(F.p.watch(F.p.ctx, KUBE_POD, "the0", NULL, NULL, on_ev, &r, &r.w, NULL), T0_OK);
    /* let all three events reach the inbox before the loop runs any of them */
    for (int i = 0; i < 200 && rtloop_pending_posts(F.loop) < 3; i++) usleep(10000);
    cr_assert_eq(rtloop_pending_posts(F.loop), 3u, "posted %u", rtloop_pending_posts(F.loop));
    rtloop_run(F.loop, 300);
    cr_assert_str_eq(r.log, "ADDED:1 ", "log %s", r.log);
    /* destroy (teardown) must not wait for the server's 3 s hold: the thread aborts its transfer */
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    kuberest_destroy(F.k);
    F.k = NULL;
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    cr_assert(ms < 2500, "destroy waited %ld ms", ms);
}

Test(kube_rest, destroy_with_a_watch_still_open_frees_everything)
{
    static const char *const lines[] = {EV("ADDED", "1"), NULL};
    srv_answer((canned){200, NULL, NULL, 0, lines, 2000});
    wrec r = {.loop_thread = pthread_self(), .stop_at = 1};
    cr_assert_eq(F.p.watch(F.p.ctx, KUBE_POD, "the0", NULL, NULL, on_ev, &r, &r.w, NULL), T0_OK);
    cr_assert(rtloop_run(F.loop, 5000));
    cr_assert_str_eq(r.log, "ADDED:1 ");
    kuberest_stats ks;
    kuberest_stats_get(F.k, &ks);
    cr_assert_eq(ks.watches, 1u, "watch threads %u", ks.watches);
    /* teardown destroys the client without unwatch: no leak, no hang (checked under ASan) */
}

/* sample: the value of the sample line NAME{LABELS} in TEXT, or -1 */
static double metric_value(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p;) {
        if (!strncmp(p, series, n) && p[n] == ' ') return strtod(p + n + 1, NULL);
        p = strchr(p, '\n');
        if (p) p++;
    }
    return -1;
}

Test(kube_rest, a_404_on_get_or_delete_is_a_404_request_not_an_api_error)
{
    t0_err e = {0};
    srv_answer((canned){404, STATUS(404, "NotFound", "pods \\\"bot-9\\\" not found")});
    cr_assert_eq(F.p.get(F.p.ctx, KUBE_POD, "the0", "bot-9", NULL, &e), T0_ENOTFOUND);
    cr_assert_eq(F.p.remove(F.p.ctx, KUBE_POD, "the0", "bot-9", NULL, &e), T0_ENOTFOUND);
    srv_answer((canned){500, STATUS(500, "InternalError", "boom")});
    cr_assert_eq(F.p.get(F.p.ctx, KUBE_POD, "the0", "bot-9", NULL, &e), T0_EINTERNAL);
    srv_answer((canned){201, "{}"});
    cJSON *pod = cJSON_Parse("{\"metadata\":{\"name\":\"bot-1\"}}");
    cr_assert_eq(F.p.create(F.p.ctx, KUBE_POD, "the0", pod, NULL, &e), T0_OK, "%s", e.msg);
    cJSON_Delete(pod);
    kuberest_stats ks;
    kuberest_stats_get(F.k, &ks);
    cr_expect_eq(ks.errors[KR_GET], 1u, "get errors: expected 1 (the 500; the 404 is an answer), got %llu",
                 (unsigned long long)ks.errors[KR_GET]);
    cr_expect_eq(ks.errors[KR_DELETE], 0u, "delete errors: expected 0, got %llu", (unsigned long long)ks.errors[KR_DELETE]);
    prom b;
    prom_init(&b);
    kuberest_metrics_write(&ks, &b);
    char *t = prom_take(&b);
    char series[256];
    struct {
        const char *code, *method;
        double want;
    } w[] = {{"404", "GET", 1}, {"404", "DELETE", 1}, {"500", "GET", 1}, {"201", "POST", 1}};
    for (size_t i = 0; i < sizeof w / sizeof *w; i++) {
        snprintf(series, sizeof series, "rest_client_requests_total{code=\"%s\",host=\"127.0.0.1:%d\",method=\"%s\"}",
                 w[i].code, S.port, w[i].method);
        double v = metric_value(t, series);
        cr_expect_eq(v, w[i].want, "%s: expected %g, got %g", series, w[i].want, v);
    }
    snprintf(series, sizeof series, "rest_client_request_duration_seconds_count{host=\"127.0.0.1:%d\",verb=\"GET\"}", S.port);
    cr_expect_eq(metric_value(t, series), 2, "%s: expected 2 (two gets), got %g", series, metric_value(t, series));
    cr_expect_eq(metric_value(t, "the0_kube_api_errors_total{verb=\"delete\"}"), 0);
    cr_expect_eq(metric_value(t, "the0_kube_api_errors_total{verb=\"get\"}"), 1);
    cr_expect_not_null(strstr(t, "le=\"0.005\"} "), "client-go's first bucket 0.005");
    cr_expect_not_null(strstr(t, "le=\"60\"} "), "client-go's last bucket 60");
    free(t);
}

/* ---- the Event writer ---- */
Test(kube_rest, event_writer_writes_off_the_callers_thread_and_creates_an_expired_event)
{
    char server[64];
    snprintf(server, sizeof server, "http://127.0.0.1:%d", S.port);
    kuberest_config cfg = {.server = server};
    kevents *ev = NULL;
    t0_err e = {0};
    kevents_opts o;
    kevents_opts_defaults(&o);
    cr_assert_eq(kevents_new(&cfg, F.loop, &o, &ev, &e), T0_OK, "%s", e.msg);
    kube_port p = kevents_port(ev);
    cJSON *evj = cJSON_Parse("{\"metadata\":{\"name\":\"bot-1.abc\"},\"reason\":\"X\",\"count\":2}");
    /* the server answers nothing until released: a write that waited for it would never return */
    srv_answer((canned){.status = 404, .body = STATUS(404, "NotFound", "gone"), .gate = true});
    cr_assert_eq(p.update(p.ctx, KUBE_EVENT, "the0", evj, NULL, &e), T0_OK, "%s", e.msg);
    kevents_stats st;
    kevents_stats_get(ev, &st);
    cr_expect_eq(st.written + st.failed, 0u, "the write returned before the server answered");
    cr_assert_eq(p.get(p.ctx, KUBE_EVENT, "the0", "x", NULL, &e), T0_EINVAL, "the writer only writes");
    srv_release();
    for (int i = 0; i < 400; i++) { /* the PUT answered 404, then the POST (also answered 404 here) */
        kevents_stats_get(ev, &st);
        if (st.written + st.failed >= 1) break;
        usleep(10000);
    }
    cr_expect_eq(st.client.requests[KR_UPDATE], 1u, "one PUT, got %llu", (unsigned long long)st.client.requests[KR_UPDATE]);
    cr_expect_eq(st.client.requests[KR_CREATE], 1u, "then a POST for the expired Event, got %llu",
                 (unsigned long long)st.client.requests[KR_CREATE]);
    cr_expect_str_eq(S.method, "POST");
    cr_expect_str_eq(S.url, "/api/v1/namespaces/the0/events");
    cr_expect_eq(st.queued, 1u);
    cJSON_Delete(evj);
    kevents_destroy(ev);
    /* the controller's own client made no request */
    kuberest_stats ks;
    kuberest_stats_get(F.k, &ks);
    cr_expect_eq(ks.requests[KR_CREATE] + ks.requests[KR_UPDATE], 0u, "the Events used their own client");
}
