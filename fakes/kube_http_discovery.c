/* kube_http_discovery.c: what clients read before they call the HTTP front: /version, discovery (/api,
 * /apis, the APIResourceLists with short names and categories) and OpenAPI v3 documents. */
#include <stdio.h>
#include <string.h>

#include "fakes/kube_http_impl.h"

/* the named API groups, in /apis order */
static const char *const GROUPS[] = {"apps", "batch", "coordination.k8s.io", "rbac.authorization.k8s.io"};
#define NGROUPS (sizeof GROUPS / sizeof GROUPS[0])

bool kh_known_gv(const char *group, const char *version)
{
    for (int i = 0; i < KFAKE_NRES; i++) {
        const kfake_res *r = kfake_res_of(i);
        if (!strcmp(r->group, group) && !strcmp(r->version, version)) return true;
    }
    return false;
}

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
    for (int i = 0; i < KFAKE_NRES; i++) {
        const kfake_res *r = kfake_res_of(i);
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
    cJSON_AddItemToObject(cJSON_AddObjectToObject(o, "components"), "schemas", kh_openapi_schemas_of(group, version));
    cJSON *paths = cJSON_AddObjectToObject(o, "paths");
    for (int i = 0; i < KFAKE_NRES; i++) {
        const kfake_res *r = kfake_res_of(i);
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

static cJSON *version_info(void)
{
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
    return v;
}

static cJSON *api_versions(khttp *h)
{
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
    return v;
}

static cJSON *group_list(void)
{
    cJSON *l = cJSON_CreateObject();
    cJSON_AddStringToObject(l, "kind", "APIGroupList");
    cJSON_AddStringToObject(l, "apiVersion", "v1");
    cJSON *g = cJSON_AddArrayToObject(l, "groups");
    for (size_t i = 0; i < NGROUPS; i++) cJSON_AddItemToArray(g, api_group(GROUPS[i]));
    return l;
}

static void serve_openapi(kh_req *q, char **seg, int n, bool get)
{
    if (!get) return kh_method_not_allowed(q, NULL);
    if (n == 2 && !strcmp(seg[1], "v3")) return kh_reply_json(q, 200, openapi_index());
    if (n == 4 && !strcmp(seg[1], "v3") && !strcmp(seg[2], "api") && kh_known_gv("", seg[3]))
        return kh_reply_json(q, 200, openapi_gv("", seg[3]));
    if (n == 5 && !strcmp(seg[1], "v3") && !strcmp(seg[2], "apis") && kh_known_gv(seg[3], seg[4]))
        return kh_reply_json(q, 200, openapi_gv(seg[3], seg[4]));
    kh_not_found_path(q);
}

static void serve_group(kh_req *q, const char *name)
{
    for (size_t i = 0; i < NGROUPS; i++)
        if (!strcmp(name, GROUPS[i])) {
            cJSON *g = api_group(GROUPS[i]);
            cJSON_AddStringToObject(g, "kind", "APIGroup");
            cJSON_AddStringToObject(g, "apiVersion", "v1");
            return kh_reply_json(q, 200, g);
        }
    kh_not_found_path(q);
}

bool kh_serve_discovery(khttp *h, kh_req *q, char **seg, int n)
{
    bool get = !strcmp(q->method, "GET");
    if (n == 1 && get && !strcmp(seg[0], "version")) {
        kh_reply_json(q, 200, version_info());
    } else if (n >= 1 && !strcmp(seg[0], "openapi")) {
        serve_openapi(q, seg, n, get);
    } else if (n == 1 && !strcmp(seg[0], "api")) {
        get ? kh_reply_json(q, 200, api_versions(h)) : kh_method_not_allowed(q, NULL);
    } else if (n == 2 && !strcmp(seg[0], "api") && kh_known_gv("", seg[1])) {
        get ? kh_reply_json(q, 200, resource_list("", seg[1])) : kh_method_not_allowed(q, NULL);
    } else if (n == 1 && !strcmp(seg[0], "apis")) {
        get ? kh_reply_json(q, 200, group_list()) : kh_method_not_allowed(q, NULL);
    } else if (n == 2 && !strcmp(seg[0], "apis")) {
        serve_group(q, seg[1]);
    } else if (n == 3 && !strcmp(seg[0], "apis") && kh_known_gv(seg[1], seg[2])) {
        get ? kh_reply_json(q, 200, resource_list(seg[1], seg[2])) : kh_method_not_allowed(q, NULL);
    } else {
        return false;
    }
    return true;
}
