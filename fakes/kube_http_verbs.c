/* kube_http_verbs.c: the HTTP front's resource routing, get and list on the one kfake store, field
 * selectors, and the answers: objects, Tables, and v1 Status errors worded as the API server words them
 * (the writes are in kube_http_write.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fakes/kube_http_impl.h"

/* ---- small JSON helpers --------------------------------------------------------------------- */
static void set_str(cJSON *o, const char *name, const char *v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, name);
    cJSON_AddStringToObject(o, name, v);
}

bool kh_truthy(const char *s)
{
    return s && (!strcasecmp(s, "true") || !strcmp(s, "1"));
}

/* ---- field selectors: a=b, a==b, a!=b on dotted paths, comma-separated (AND) ---------------- */
t0_status kh_fsel_parse(const char *s, kh_fsel *f, t0_err *err)
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

bool kh_fsel_match(const kh_fsel *f, const cJSON *obj)
{
    for (size_t i = 0; i < f->n; i++) {
        const char *v = kfake_str(obj, f->t[i].path);
        bool eq = !strcmp(v ? v : "", f->t[i].val);
        if (eq == f->t[i].neg) return false;
    }
    return true;
}

/* ---- answers ---------------------------------------------------------------------------------- */
void kh_reply_json(kh_req *q, unsigned code, cJSON *obj)
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

void kh_reply_text(kh_req *q, unsigned code, const char *text)
{
    q->code = code;
    q->out = strdup(text);
    q->out_ctype = "text/plain; charset=utf-8";
}

cJSON *kh_status_obj(int code, const char *reason, const char *msg, const kfake_res *r, const char *name)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "kind", "Status");
    cJSON_AddStringToObject(s, "apiVersion", "v1");
    cJSON_AddObjectToObject(s, "metadata");
    cJSON_AddStringToObject(s, "status", "Failure");
    cJSON_AddStringToObject(s, "message", msg);
    if (*reason) cJSON_AddStringToObject(s, "reason", reason);
    if (r) {
        cJSON *d = cJSON_AddObjectToObject(s, "details");
        if (name && *name) cJSON_AddStringToObject(d, "name", name);
        if (*r->group) cJSON_AddStringToObject(d, "group", r->group);
        cJSON_AddStringToObject(d, "kind", r->plural);
    }
    cJSON_AddNumberToObject(s, "code", code);
    return s;
}

void kh_reply_status(kh_req *q, int code, const char *reason, const char *msg, const kfake_res *r, const char *name)
{
    kh_reply_json(q, (unsigned)code, kh_status_obj(code, reason, msg, r, name));
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
static void qualify(const kfake_res *r, const char *msg, char *out, size_t cap)
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

void kh_reply_err(kh_req *q, const kfake_res *r, const char *name, t0_status st, const t0_err *err)
{
    int code;
    const char *reason = reason_of(st, &code);
    if (err && err->http_status >= 400 && err->http_status != code && st == T0_EINTERNAL) code = err->http_status;
    char msg[700];
    qualify(r, err && *err->msg ? err->msg : t0_status_name(st), msg, sizeof msg);
    kh_reply_status(q, code, reason, msg, r, name);
}


/* wire_fix: fields the API server always sends that the simulated kubelet leaves out and strict clients
 * require (python3-kubernetes refuses a containerStatus without imageID). Applied to what is sent only. */
void kh_wire_fix(int rid, cJSON *o)
{
    if (rid != KFAKE_POD) return;
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

/* ---- verbs (cluster thread) ------------------------------------------------------------------ */
cJSON *kh_parse_body(kh_req *q, const kfake_res *r)
{
    cJSON *b = q->body && q->blen ? cJSON_ParseWithLength(q->body, q->blen) : NULL;
    if (!cJSON_IsObject(b)) {
        cJSON_Delete(b);
        kh_reply_status(q, 400, "BadRequest", "the request body is not a JSON object (the0-sim serve accepts JSON only)", r, NULL);
        return NULL;
    }
    return b;
}

void kh_reply_obj(khttp *h, kh_req *q, int rid, unsigned code, cJSON *obj)
{
    if (q->table && code == 200) {
        cJSON *t = kh_table_new(rid, true, kfake_str(obj, "metadata.resourceVersion"));
        kh_table_add(h, rid, t, obj, true);
        cJSON_Delete(obj);
        kh_reply_json(q, code, t);
        return;
    }
    kh_wire_fix(rid, obj);
    kh_reply_json(q, code, obj);
}

/* rv_ok: the resourceVersion query parameter is "" or an unsigned decimal (etcd's revision). The API
 * server's storage words the refusal; it answers it with 500 (kubernetes#101350, #139485), this server
 * with the 400 of the fixes proposed there. */
static bool rv_ok(kh_req *q, const kfake_res *r)
{
    const char *rv = q->q_rv;
    if (!rv || !*rv) return true;
    const char *why = NULL;
    if (strspn(rv, "0123456789") != strlen(rv))
        why = "invalid syntax";
    else if (strlen(rv) > 20 || (strlen(rv) == 20 && strcmp(rv, "18446744073709551615") > 0))
        why = "value out of range";
    if (!why) return true;
    char msg[300];
    snprintf(msg, sizeof msg, "resourceVersion: Invalid value: \"%.60s\": strconv.ParseUint: parsing \"%.60s\": %s", rv, rv,
             why);
    kh_reply_status(q, 400, "BadRequest", msg, r, NULL);
    return false;
}

static void do_list(khttp *h, kh_req *q, const kh_target *t)
{
    t0_err err = {0};
    kh_fsel fs;
    if (kh_fsel_parse(q->q_field, &fs, &err) != T0_OK) return kh_reply_err(q, t->r, NULL, T0_EINVAL, &err);
    /* limit and continue: pages of one snapshot (kube_list_page); a negative or non-numeric limit is refused
     * as the API server's query decoder refuses it */
    kube_list_page page = {.cont = q->q_continue};
    if (q->q_limit && *q->q_limit) {
        char *end;
        errno = 0;
        long long lim = strtoll(q->q_limit, &end, 10);
        if (*end || errno || lim < 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "limit: Invalid value: \"%.60s\": must be a non-negative integer", q->q_limit);
            return kh_reply_status(q, 400, "BadRequest", msg, t->r, NULL);
        }
        page.limit = (size_t)lim;
    }
    cJSON *list = NULL;
    t0_status st = kfake_list(h->kube, t->rid, t->ns ? t->ns : "", q->q_label, &page, &list, &err);
    if (st != T0_OK) return kh_reply_err(q, t->r, NULL, st, &err);
    cJSON *items = cJSON_GetObjectItemCaseSensitive(list, "items");
    if (!cJSON_IsArray(items)) {
        cJSON_DeleteItemFromObjectCaseSensitive(list, "items");
        items = cJSON_AddArrayToObject(list, "items");
    }
    if (fs.n)
        for (cJSON *it = items->child; it;) {
            cJSON *next = it->next;
            if (!kh_fsel_match(&fs, it)) cJSON_Delete(cJSON_DetachItemViaPointer(items, it));
            it = next;
        }
    const char *rv = kfake_str(list, "metadata.resourceVersion");
    if (q->table) {
        bool inc = !q->q_include || strcasecmp(q->q_include, "None");
        cJSON *tb = kh_table_new(t->rid, true, rv);
        const char *next = kfake_str(list, "metadata.continue");
        if (next && *next) cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(tb, "metadata"), "continue", next);
        const cJSON *it;
        cJSON_ArrayForEach(it, items) kh_table_add(h, t->rid, tb, it, inc);
        cJSON_Delete(list);
        return kh_reply_json(q, 200, tb);
    }
    cJSON *it;
    cJSON_ArrayForEach(it, items) kh_wire_fix(t->rid, it);
    char kind[96];
    snprintf(kind, sizeof kind, "%sList", t->r->kind);
    set_str(list, "kind", kind);
    set_str(list, "apiVersion", t->r->api_version);
    kh_reply_json(q, 200, list);
}

static void do_get(khttp *h, kh_req *q, const kh_target *t)
{
    t0_err err = {0};
    cJSON *o = NULL;
    t0_status st = kfake_get(h->kube, t->rid, t->ns, t->name, &o, &err);
    if (st != T0_OK) return kh_reply_err(q, t->r, t->name, st, &err);
    kh_reply_obj(h, q, t->rid, 200, o);
}

void kh_not_found_path(kh_req *q)
{
    kh_reply_status(q, 404, "NotFound", "the server could not find the requested resource", NULL, NULL);
}

void kh_method_not_allowed(kh_req *q, const kfake_res *r)
{
    kh_reply_status(q, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource", r, NULL);
}

/* do_log: pods/NAME/log, served by the podman kubelet (serve --run-pods). */
static void do_log(khttp *h, kh_req *q, const kh_target *t)
{
    if (!h->pk)
        return kh_reply_status(q, 400, "BadRequest",
                               "the0-sim serve runs no containers: pod logs need serve --run-pods", t->r, t->name);
    pkl_log_req lr = {.ns = t->ns, .name = t->name, .container = q->q_container, .follow = kh_truthy(q->q_follow),
                      .previous = kh_truthy(q->q_previous), .timestamps = kh_truthy(q->q_timestamps),
                      .tail_lines = q->q_tail ? atol(q->q_tail) : -1, .since_seconds = q->q_since ? atol(q->q_since) : 0};
    t0_err err = {0};
    t0_status st = pkl_logs(h->pk, &lr, &q->logs, &err);
    if (st == T0_ENOTFOUND) return kh_reply_status(q, 404, "NotFound", err.msg, t->r, t->name);
    if (st != T0_OK)
        return kh_reply_status(q, st == T0_EINVAL ? 400 : 500, st == T0_EINVAL ? "BadRequest" : "InternalError", err.msg,
                               NULL, NULL);
}

void kh_serve_resource(khttp *h, kh_req *q, const char *group, const char *version, char **r, int m)
{
    kh_target t = {0};
    if (m >= 3 && !strcmp(r[0], "namespaces") && kfake_res_find(group, version, r[2]) >= 0) {
        if (m > 5) return kh_not_found_path(q);
        t.ns = r[1];
        t.rid = kfake_res_find(group, version, r[2]);
        t.name = m > 3 ? r[3] : NULL;
        t.sub = m > 4 ? r[4] : NULL;
    } else {
        if (m > 3) return kh_not_found_path(q);
        t.rid = kfake_res_find(group, version, r[0]);
        t.name = m > 1 ? r[1] : NULL;
        t.sub = m > 2 ? r[2] : NULL;
    }
    t.r = kfake_res_of(t.rid);
    if (!t.r || (t.ns && !t.r->namespaced) || (!t.ns && t.r->namespaced && t.name)) return kh_not_found_path(q);
    if (t.sub && !strcmp(t.sub, "log") && t.rid == KFAKE_POD && t.name && !strcmp(q->method, "GET"))
        return do_log(h, q, &t);
    if (t.sub && (strcmp(t.sub, "status") || !t.r->has_status)) return kh_not_found_path(q);
    if (!t.ns) t.ns = "";
    const char *m_ = q->method;
    if (!strcmp(m_, "GET")) {
        if (!rv_ok(q, t.r)) return;
        if (t.name) return do_get(h, q, &t);
        if (kh_truthy(q->q_watch)) return kh_do_watch(h, q, &t);
        return do_list(h, q, &t);
    }
    if (!strcmp(m_, "POST") && !t.name && !t.sub) return kh_do_create(h, q, &t);
    if (!strcmp(m_, "PUT") && t.name) return kh_do_update(h, q, &t);
    if (!strcmp(m_, "PATCH") && t.name) return kh_do_patch(h, q, &t);
    if (!strcmp(m_, "DELETE") && t.name && !t.sub) return kh_do_delete(h, q, &t);
    kh_method_not_allowed(q, t.r);
}

