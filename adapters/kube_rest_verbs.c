/* kube_rest_verbs.c: the object verbs of the REST client's kube_port (create, get, list, update, update
 * status, delete; see kube_rest.h), each one request through kr_request. */
#include "adapters/kube_rest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "adapters/kube_rest_impl.h"
#include "core/str.h"

static const char *const kind_apiversion[KUBE__KINDS] = {"v1", "batch/v1", "batch/v1", "coordination.k8s.io/v1", "v1"};

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
    t0_status st = kr_request(k, mode ? KR_UPDATE : KR_CREATE, mode ? "PUT" : "POST", path, body, what,
                           kr_drop_for(k, DROP_ONE, kind), out, err);
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
    t0_status st = kr_request(ctx, KR_GET, "GET", path, NULL, what, kr_drop_for(ctx, DROP_ONE, kind), &tmp, err);
    if (out)
        *out = tmp;
    else
        cJSON_Delete(tmp);
    return st;
}

/* kr_append_query: "?KEY=<escaped VAL>" (or "&...") onto PATH. */
t0_status kr_append_query(CURL *c, char *path, size_t cap, const char *key, const char *val)
{
    if (!val || !*val) return T0_OK;
    char *esc = curl_easy_escape(c, val, 0);
    if (!esc) return T0_ENOMEM;
    size_t n = strlen(path);
    int w = snprintf(path + n, cap - n, "%c%s=%s", strchr(path, '?') ? '&' : '?', key, esc);
    curl_free(esc);
    return w < 0 || (size_t)w >= cap - n ? T0_ELIMIT : T0_OK;
}

static t0_status k_list(void *ctx, kube_kind kind, const char *ns, const char *selector, const kube_list_page *page,
                        cJSON **out, t0_err *err)
{
    kuberest *k = ctx;
    char what[300], path[2048], limit[24] = "";
    const char *cont = page && page->cont && *page->cont ? page->cont : NULL;
    if (page && page->limit) t0_u64_dec(limit, page->limit);
    snprintf(what, sizeof what, "list %s in %s%s%s%s", kube_kind_name(kind), ns ? ns : "", selector ? " selector " : "",
             selector ? selector : "", cont ? " (a continuation page)" : "");
    if (kuberest_path(kind, ns, NULL, path, sizeof path) != T0_OK ||
        kr_append_query(k->easy, path, sizeof path, "labelSelector", selector) != T0_OK ||
        kr_append_query(k->easy, path, sizeof path, "limit", limit) != T0_OK ||
        kr_append_query(k->easy, path, sizeof path, "continue", cont) != T0_OK)
        return t0_fail(err, T0_EINVAL, "%s: bad kind, namespace, selector or continue token", what);
    cJSON *tmp = NULL;
    t0_status st = kr_request(k, KR_LIST, "GET", path, NULL, what, kr_drop_for(k, DROP_LIST, kind), &tmp, err);
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
    t0_status st = kr_request(ctx, KR_DELETE, "DELETE", path, body, what, NULL, NULL, err);
    free(body);
    return st;
}
kube_port kuberest_port(kuberest *k)
{
    return (kube_port){k, k_create, k_get, k_list, k_update, k_update_status, k_remove, kr_watch, kr_unwatch};
}
