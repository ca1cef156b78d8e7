/* test_kube_http.c: the fake API server over HTTP, driven by the production REST adapter (kube_rest):
 * CRUD and the Kubernetes error mapping, Status messages as the API server words them, watch from a
 * list's resourceVersion, 410 on a too-old resourceVersion, discovery and Table answers. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "adapters/kube_rest.h"
#include "adapters/rtloop.h"
#include "fakes/kube_http.h"

typedef struct fixture {
    khttp *srv;
    rtloop *loop;
    kuberest *k;
    kube_port p;
    char url[64];
} fixture;
static fixture F;

static void setup(void)
{
    t0_err e = {0};
    khttp_opts o = {.host = "127.0.0.1", .port = 0, .nodes = 1, .seed = 7, .namespaces = "ns1,ns2,ns3,ns4,ns5"};
    cr_assert_eq(khttp_start(&o, &F.srv, &e), T0_OK, "%s", e.msg);
    snprintf(F.url, sizeof F.url, "http://127.0.0.1:%d", khttp_port(F.srv));
    kuberest_config cfg = {.server = F.url, .token = "t"};
    cr_assert_eq(rtloop_new(&F.loop, &e), T0_OK, "%s", e.msg);
    cr_assert_eq(kuberest_new(&cfg, F.loop, NULL, &F.k, &e), T0_OK, "%s", e.msg);
    F.p = kuberest_port(F.k);
}

static void teardown(void)
{
    kuberest_destroy(F.k);
    rtloop_destroy(F.loop);
    khttp_stop(F.srv);
}

TestSuite(kube_http, .init = setup, .fini = teardown, .timeout = 30);

static cJSON *pod(const char *name, const char *app)
{
    char s[512];
    snprintf(s, sizeof s,
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\",\"labels\":{\"app\":\"%s\"}},"
             "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}",
             name, app);
    return cJSON_Parse(s);
}

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(o, a), b);
    return cJSON_IsString(v) ? v->valuestring : "";
}

Test(kube_http, crud_and_errors_as_the_api_server_words_them)
{
    t0_err e = {0};
    cJSON *p = pod("p1", "web"), *out = NULL;
    cr_assert_eq(F.p.create(F.p.ctx, KUBE_POD, "ns1", p, &out, &e), T0_OK, "%s", e.msg);
    cr_assert_str_eq(str_at(out, "metadata", "namespace"), "ns1");
    cr_assert_neq(*str_at(out, "metadata", "uid"), 0);
    char rv[32];
    snprintf(rv, sizeof rv, "%s", str_at(out, "metadata", "resourceVersion"));
    cJSON_Delete(out);
    cr_assert_eq(F.p.create(F.p.ctx, KUBE_POD, "ns1", p, NULL, &e), T0_EEXIST);
    cr_assert(strstr(e.msg, "pods \"p1\" already exists"), "%s", e.msg);
    cJSON *p2 = pod("p2", "db");
    cr_assert_eq(F.p.create(F.p.ctx, KUBE_POD, "ns1", p2, NULL, &e), T0_OK, "%s", e.msg);
    cJSON *list = NULL;
    cr_assert_eq(F.p.list(F.p.ctx, KUBE_POD, "ns1", "app=db", NULL, &list, &e), T0_OK, "%s", e.msg);
    cJSON *items = cJSON_GetObjectItem(list, "items");
    cr_assert_eq(cJSON_GetArraySize(items), 1);
    cr_assert_str_eq(str_at(cJSON_GetArrayItem(items, 0), "metadata", "name"), "p2");
    cr_assert_neq(*str_at(list, "metadata", "resourceVersion"), 0);
    cJSON_Delete(list);
    /* a stale resourceVersion: 409 Conflict (on a Lease: nothing else in the cluster writes it) */
    cJSON *l = cJSON_Parse("{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{\"name\":\"l\"},"
                           "\"spec\":{\"holderIdentity\":\"a\"}}");
    cr_assert_eq(F.p.create(F.p.ctx, KUBE_LEASE, "ns1", l, &out, &e), T0_OK, "%s", e.msg);
    snprintf(rv, sizeof rv, "%s", str_at(out, "metadata", "resourceVersion"));
    cJSON_Delete(out);
    cJSON_AddStringToObject(cJSON_GetObjectItem(l, "metadata"), "resourceVersion", "1");
    cr_assert_eq(F.p.update(F.p.ctx, KUBE_LEASE, "ns1", l, NULL, &e), T0_ECONFLICT, "%s", e.msg);
    cr_assert(strstr(e.msg, "Operation cannot be fulfilled on leases.coordination.k8s.io \"l\""), "%s", e.msg);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(l, "metadata"), "resourceVersion", cJSON_CreateString(rv));
    cr_assert_eq(F.p.update(F.p.ctx, KUBE_LEASE, "ns1", l, NULL, &e), T0_OK, "%s", e.msg);
    cJSON_Delete(l);
    kube_delete_opts d = {.propagation = KUBE_PROP_BACKGROUND, .grace_seconds = 0};
    cr_assert_eq(F.p.remove(F.p.ctx, KUBE_POD, "ns1", "p1", &d, &e), T0_OK, "%s", e.msg);
    cr_assert_eq(F.p.get(F.p.ctx, KUBE_POD, "ns1", "p1", NULL, &e), T0_ENOTFOUND);
    cr_assert(strstr(e.msg, "pods \"p1\" not found"), "%s", e.msg);
    cr_assert_eq(F.p.get(F.p.ctx, KUBE_CRONJOB, "ns1", "nope", NULL, &e), T0_ENOTFOUND);
    cr_assert(strstr(e.msg, "cronjobs.batch \"nope\" not found"), "%s", e.msg);
    cJSON *cj = cJSON_Parse("{\"apiVersion\":\"batch/v1\",\"kind\":\"CronJob\",\"metadata\":{\"name\":\"bad\"},\"spec\":{"
                            "\"schedule\":\"nope\",\"jobTemplate\":{\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":"
                            "\"Never\",\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}}}}}");
    cr_assert_eq(F.p.create(F.p.ctx, KUBE_CRONJOB, "ns1", cj, NULL, &e), T0_EINVALID, "%s", e.msg);
    cr_assert(strstr(e.msg, "CronJob.batch \"bad\" is invalid: spec.schedule"), "%s", e.msg);
    cJSON_Delete(cj);
    cJSON_Delete(p);
    cJSON_Delete(p2);
}

typedef struct wlog {
    char log[512];
    int n, stop_at;
} wlog;

static void on_ev(void *ud, kube_watch_type t, const cJSON *obj)
{
    wlog *w = ud;
    static const char *const names[] = {"ADDED", "MODIFIED", "DELETED", "GONE", "CLOSED", "BOOKMARK"};
    char item[96];
    snprintf(item, sizeof item, "%s%s%s ", names[t], obj ? ":" : "", obj ? str_at(obj, "metadata", "name") : "");
    strncat(w->log, item, sizeof w->log - strlen(w->log) - 1);
    if (++w->n == w->stop_at || t == KUBE_WATCH_GONE || t == KUBE_WATCH_CLOSED) rtloop_stop(F.loop);
}

Test(kube_http, watch_from_the_list_resource_version)
{
    t0_err e = {0};
    cJSON *list = NULL;
    cr_assert_eq(F.p.list(F.p.ctx, KUBE_POD, "ns2", NULL, NULL, &list, &e), T0_OK, "%s", e.msg);
    wlog w = {.stop_at = 2};
    kube_watch *h = NULL;
    cr_assert_eq(F.p.watch(F.p.ctx, KUBE_POD, "ns2", "app=w", str_at(list, "metadata", "resourceVersion"), on_ev, &w, &h, &e),
                 T0_OK, "%s", e.msg);
    cJSON_Delete(list);
    cJSON *a = pod("other", "x"), *b = pod("w1", "w");
    cr_assert_eq(F.p.create(F.p.ctx, KUBE_POD, "ns2", a, NULL, &e), T0_OK, "%s", e.msg);
    cr_assert_eq(F.p.create(F.p.ctx, KUBE_POD, "ns2", b, NULL, &e), T0_OK, "%s", e.msg);
    cr_assert(rtloop_run(F.loop, 10000), "log: %s", w.log);
    /* the simulated kubelet binds and starts w1: its first change after ADDED is a MODIFIED */
    cr_assert_str_eq(w.log, "ADDED:w1 MODIFIED:w1 ", "log: %s", w.log);
    F.p.unwatch(F.p.ctx, h);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

Test(kube_http, watch_from_a_too_old_resource_version_is_gone)
{
    t0_err e = {0};
    /* the fake keeps 1000 events per kind */
    for (int i = 0; i < 520; i++) {
        char s[200];
        snprintf(s, sizeof s, "{\"metadata\":{\"name\":\"e%d\"},\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"x\"}}", i);
        cJSON *ev = cJSON_Parse(s);
        cr_assert_eq(F.p.create(F.p.ctx, KUBE_EVENT, "ns3", ev, NULL, &e), T0_OK, "%s", e.msg);
        cJSON_Delete(ev);
        snprintf(s, sizeof s, "e%d", i);
        cr_assert_eq(F.p.remove(F.p.ctx, KUBE_EVENT, "ns3", s, NULL, &e), T0_OK, "%s", e.msg);
    }
    wlog w = {0};
    kube_watch *h = NULL;
    cr_assert_eq(F.p.watch(F.p.ctx, KUBE_EVENT, "ns3", NULL, "1", on_ev, &w, &h, &e), T0_OK, "%s", e.msg);
    cr_assert(rtloop_run(F.loop, 10000), "log: %s", w.log);
    cr_assert_str_eq(w.log, "GONE ", "log: %s", w.log);
    F.p.unwatch(F.p.ctx, h);
}

/* ---- raw HTTP: what kubectl relies on ---------------------------------------------------------- */
typedef struct buf {
    char *p;
    size_t n;
} buf;

static size_t on_body(char *d, size_t sz, size_t nm, void *ud)
{
    buf *b = ud;
    char *np = realloc(b->p, b->n + sz * nm + 1);
    cr_assert(np);
    memcpy(np + b->n, d, sz * nm);
    b->n += sz * nm;
    np[b->n] = 0;
    b->p = np;
    return sz * nm;
}

static long http_get(const char *path, const char *accept, buf *b)
{
    char url[256], hdr[256];
    snprintf(url, sizeof url, "%s%s", F.url, path);
    snprintf(hdr, sizeof hdr, "Accept: %s", accept);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, hdr);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    cr_assert_eq(curl_easy_perform(c), CURLE_OK);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return code;
}

Test(kube_http, discovery_version_and_tables)
{
    buf b = {0};
    cr_assert_eq(http_get("/version", "application/json", &b), 200);
    cr_assert(strstr(b.p, "\"gitVersion\":\"v1.30.0\""), "%s", b.p);
    free(b.p), b = (buf){0};
    cr_assert_eq(http_get("/apis/batch/v1", "application/json", &b), 200);
    cr_assert(strstr(b.p, "\"name\":\"cronjobs\",\"singularName\":\"cronjob\",\"namespaced\":true,\"kind\":\"CronJob\""), "%s", b.p);
    cr_assert(strstr(b.p, "\"shortNames\":[\"cj\"],\"categories\":[\"all\"]"), "%s", b.p);
    free(b.p), b = (buf){0};
    cr_assert_eq(http_get("/openapi/v2", "application/json", &b), 404);
    free(b.p), b = (buf){0};
    t0_err e = {0};
    cJSON *p = pod("t1", "t");
    cr_assert_eq(F.p.create(F.p.ctx, KUBE_POD, "ns4", p, NULL, &e), T0_OK, "%s", e.msg);
    cJSON_Delete(p);
    cr_assert_eq(http_get("/api/v1/namespaces/ns4/pods", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json", &b), 200);
    cJSON *t = cJSON_Parse(b.p);
    cr_assert_str_eq(cJSON_GetObjectItem(t, "kind")->valuestring, "Table");
    const char *want[] = {"Name", "Ready", "Status", "Restarts", "Age", "IP", "Node"};
    cJSON *cols = cJSON_GetObjectItem(t, "columnDefinitions");
    for (int i = 0; i < 7; i++)
        cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(cols, i), "name")->valuestring, want[i]);
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(cols, 5), "priority")->valueint, 1);
    cJSON *row = cJSON_GetArrayItem(cJSON_GetObjectItem(t, "rows"), 0);
    cr_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(row, "cells"), 0)->valuestring, "t1");
    cr_assert_str_eq(str_at(cJSON_GetObjectItem(row, "object"), "metadata", "name"), "t1");
    cJSON_Delete(t);
    free(b.p);
}

/* Lists in pages over HTTP: the REST client's limit and continue, kubectl's Table pages (it asks for
 * limit=500 and follows metadata.continue), and the API server's refusals. */
Test(kube_http, lists_in_pages_over_http)
{
    t0_err e = {0};
    const char *names[] = {"q1", "q2", "q3"};
    for (int i = 0; i < 3; i++) {
        cJSON *p = pod(names[i], "q");
        cr_assert_eq(F.p.create(F.p.ctx, KUBE_POD, "ns5", p, NULL, &e), T0_OK, "%s", e.msg);
        cJSON_Delete(p);
    }
    cJSON *l = NULL;
    cr_assert_eq(F.p.list(F.p.ctx, KUBE_POD, "ns5", NULL, &(kube_list_page){2, NULL}, &l, &e), T0_OK, "%s", e.msg);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(l, "items")), 2);
    char tok[128], rv[32];
    snprintf(tok, sizeof tok, "%s", str_at(l, "metadata", "continue"));
    snprintf(rv, sizeof rv, "%s", str_at(l, "metadata", "resourceVersion"));
    cr_assert_neq(*tok, 0, "a first page of 2 of 3 names a next one");
    cJSON_Delete(l);
    cr_assert_eq(F.p.list(F.p.ctx, KUBE_POD, "ns5", NULL, &(kube_list_page){2, tok}, &l, &e), T0_OK, "%s", e.msg);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(l, "items")), 1);
    cr_assert_str_eq(str_at(cJSON_GetArrayItem(cJSON_GetObjectItem(l, "items"), 0), "metadata", "name"), "q3");
    cr_assert_str_eq(str_at(l, "metadata", "resourceVersion"), rv, "every page carries the first page's version");
    cr_assert_eq(*str_at(l, "metadata", "continue"), 0, "the last page names none");
    cJSON_Delete(l);
    cr_assert_eq(F.p.list(F.p.ctx, KUBE_POD, "ns5", NULL, &(kube_list_page){2, tok}, &l, &e), T0_EGONE);
    cr_assert(strstr(e.msg, "too old to display a consistent list result"), "%s", e.msg);
    buf b = {0};
    cr_assert_eq(http_get("/api/v1/namespaces/ns5/pods?limit=2", "application/json;as=Table;v=v1;g=meta.k8s.io", &b), 200);
    cJSON *t = cJSON_Parse(b.p);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(t, "rows")), 2, "%s", b.p);
    cr_assert_neq(*str_at(t, "metadata", "continue"), 0, "a Table page names the next one: %s", b.p);
    cJSON_Delete(t);
    free(b.p), b = (buf){0};
    cr_assert_eq(http_get("/api/v1/namespaces/ns5/pods?limit=-1", "application/json", &b), 400);
    cr_assert(strstr(b.p, "limit: Invalid value"), "%s", b.p);
    free(b.p), b = (buf){0};
    cr_assert_eq(http_get("/api/v1/namespaces/ns5/pods?limit=1&continue=nonsense", "application/json", &b), 400);
    cr_assert(strstr(b.p, "continue key is not valid"), "%s", b.p);
    free(b.p);
}

typedef struct wspec {
    int events, with_spec, named;
} wspec;

static void on_ev_spec(void *ud, kube_watch_type t, const cJSON *obj)
{
    wspec *w = ud;
    w->events++;
    if (cJSON_GetObjectItem(obj, "spec")) w->with_spec++;
    if (*str_at(obj, "metadata", "name")) w->named++;
    if (w->events == 2) rtloop_stop(F.loop);
}

Test(kube_http, dropped_members_are_left_out_of_answers_lists_and_watch_events)
{
    t0_err e = {0};
    static const char *const spec[] = {"spec", NULL};
    kuberest_opts o;
    kuberest_opts_defaults(&o);
    o.drop[KUBE_POD] = spec;
    kuberest_config cfg = {.server = F.url, .token = "t"};
    kuberest *k = NULL;
    cr_assert_eq(kuberest_new(&cfg, F.loop, &o, &k, &e), T0_OK, "%s", e.msg);
    kube_port p = kuberest_port(k);
    cJSON *list = NULL;
    cr_assert_eq(p.list(p.ctx, KUBE_POD, "ns4", NULL, NULL, &list, &e), T0_OK, "%s", e.msg);
    wspec w = {0};
    kube_watch *h = NULL;
    cr_assert_eq(p.watch(p.ctx, KUBE_POD, "ns4", NULL, str_at(list, "metadata", "resourceVersion"), on_ev_spec, &w, &h, &e),
                 T0_OK, "%s", e.msg);
    cJSON_Delete(list);
    cJSON *a = pod("d1", "x"), *out = NULL;
    cr_assert_eq(p.create(p.ctx, KUBE_POD, "ns4", a, &out, &e), T0_OK, "%s", e.msg);
    cr_expect_null(cJSON_GetObjectItem(out, "spec"), "the create's answer has no spec");
    cr_expect_str_eq(str_at(out, "metadata", "name"), "d1", "but its metadata");
    cJSON_Delete(out);
    cr_assert_eq(p.get(p.ctx, KUBE_POD, "ns4", "d1", &out, &e), T0_OK, "%s", e.msg);
    cr_expect_null(cJSON_GetObjectItem(out, "spec"), "a get's answer has no spec");
    cr_expect_str_eq(str_at(cJSON_GetObjectItem(out, "metadata"), "labels", "app"), "x", "its labels are there");
    cJSON_Delete(out);
    cr_assert_eq(p.list(p.ctx, KUBE_POD, "ns4", NULL, NULL, &list, &e), T0_OK, "%s", e.msg);
    const cJSON *it = cJSON_GetArrayItem(cJSON_GetObjectItem(list, "items"), 0);
    cr_expect_str_eq(str_at(it, "metadata", "name"), "d1");
    cr_expect_null(cJSON_GetObjectItem(it, "spec"), "a list item has no spec");
    cJSON_Delete(list);
    cr_assert(rtloop_run(F.loop, 10000), "two watch events");
    cr_expect_eq(w.with_spec, 0, "no watch event has a spec: %d of %d did", w.with_spec, w.events);
    cr_expect_eq(w.named, w.events, "every watch event has its metadata: %d of %d", w.named, w.events);
    cr_assert_eq(F.p.get(F.p.ctx, KUBE_POD, "ns4", "d1", &out, &e), T0_OK, "%s", e.msg);
    cr_expect_not_null(cJSON_GetObjectItem(out, "spec"), "a client without drop still gets the spec");
    cJSON_Delete(out);
    p.unwatch(p.ctx, h);
    kuberest_destroy(k);
    cJSON_Delete(a);
}
