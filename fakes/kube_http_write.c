/* kube_http_write.c: the HTTP front's writes (POST, PUT, PATCH, DELETE) with what the API server checks
 * around the store: dryRun, fieldValidation (unknown and duplicate fields), the namespace's existence,
 * and 422 answers with details.causes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakes/kube_http_impl.h"

/* ---- options -------------------------------------------------------------------------------------- */
/* write_flags: the dryRun query parameter (absent or All) as kfake flags; false with a 422 answered, as
 * the API server validates CreateOptions/UpdateOptions/PatchOptions/DeleteOptions */
static bool write_flags(kh_req *q, const kfake_res *r, const char *opts_kind, const char *dry, unsigned *flags)
{
    *flags = 0;
    if (!dry || !*dry) return true;
    if (!strcmp(dry, "All")) {
        *flags = KFAKE_DRY_RUN;
        return true;
    }
    char msg[300];
    snprintf(msg, sizeof msg,
             "%s.meta.k8s.io \"\" is invalid: dryRun: Unsupported value: []string{\"%.100s\"}: supported values: \"All\"",
             opts_kind, dry);
    kh_reply_status(q, 422, "Invalid", msg, r, NULL);
    return false;
}

/* fields_ok: OBJ against R's schema under the request's fieldValidation: Strict refuses unknown and
 * duplicate fields (400, false); Warn (the default) and Ignore drop them, Warn with a Warning each. HOW
 * words the refusal: "" for a patch, else the decoder's "<Kind> in version ... cannot be handled as". */
static bool fields_ok(kh_req *q, const kh_target *t, cJSON *obj, bool decode)
{
    kh_fieldval mode;
    if (!kh_fieldval_parse(q->q_fieldval, &mode)) {
        char msg[200];
        snprintf(msg, sizeof msg, "invalid fieldValidation value: %.60s (must be Ignore, Warn or Strict)", q->q_fieldval);
        kh_reply_status(q, 400, "BadRequest", msg, t->r, t->name);
        return false;
    }
    char errs[1024];
    if (kh_schema_check(t->rid, obj, mode, q, errs, sizeof errs)) return true;
    char msg[1400];
    if (decode)
        snprintf(msg, sizeof msg, "%s in version \"%s\" cannot be handled as a %s: strict decoding error: %s", t->r->kind,
                 t->r->version, t->r->kind, errs);
    else
        snprintf(msg, sizeof msg, "strict decoding error: %s", errs);
    kh_reply_status(q, 400, "BadRequest", msg, t->r, t->name);
    return false;
}

/* namespace_ok: a namespaced object is created only in a namespace that exists (NamespaceLifecycle) */
static bool namespace_ok(khttp *h, kh_req *q, const kh_target *t)
{
    if (!t->r->namespaced) return true;
    cJSON *ns = NULL;
    if (kfake_get(h->kube, KFAKE_NAMESPACE, "", t->ns, &ns, NULL) != T0_OK) {
        char msg[320];
        snprintf(msg, sizeof msg, "namespaces \"%.256s\" not found", t->ns);
        kh_reply_status(q, 404, "NotFound", msg, kfake_res_of(KFAKE_NAMESPACE), t->ns);
        return false;
    }
    bool terminating = kfake_str(ns, "metadata.deletionTimestamp") != NULL;
    cJSON_Delete(ns);
    if (!terminating) return true;
    char msg[400];
    snprintf(msg, sizeof msg, "%s \"%s\" is forbidden: unable to create new content in namespace %s because it is being "
                              "terminated", t->r->plural, t->name ? t->name : "", t->ns);
    kh_reply_status(q, 403, "Forbidden", msg, t->r, t->name);
    return false;
}

/* reply_write_err: the Status of a failed write; a 422 names the kind (errors.NewInvalid's details) and
 * carries the validation's causes */
static void reply_write_err(khttp *h, kh_req *q, const kh_target *t, const char *name, t0_status st, const t0_err *err)
{
    kh_reply_err(q, t->r, name, st, err);
    const cJSON *causes = kfake_causes(h->kube);
    if (st != T0_EINVALID || !causes || !q->out) return;
    cJSON *s = cJSON_Parse(q->out), *d = cJSON_GetObjectItemCaseSensitive(s, "details");
    if (d) {
        cJSON_ReplaceItemInObjectCaseSensitive(d, "kind", cJSON_CreateString(t->r->kind));
        cJSON_AddItemToObject(d, "causes", cJSON_Duplicate(causes, 1));
        free(q->out);
        q->out = NULL;
        kh_reply_json(q, q->code, s);
        return;
    }
    cJSON_Delete(s);
}

static void set_identity(cJSON *b, const kh_target *t, const char *name)
{
    cJSON *md = cJSON_GetObjectItemCaseSensitive(b, "metadata");
    if (!cJSON_IsObject(md)) {
        cJSON_DeleteItemFromObjectCaseSensitive(b, "metadata");
        md = cJSON_AddObjectToObject(b, "metadata");
    }
    if (name && !kfake_str(md, "name")) cJSON_AddStringToObject(md, "name", name);
    if (t->r->namespaced && !kfake_str(md, "namespace")) cJSON_AddStringToObject(md, "namespace", t->ns);
}

/* size_ok: an object etcd would store (at most 1.5 MiB, its --max-request-bytes); else its refusal */
static bool size_ok(kh_req *q, const cJSON *o)
{
    char *js = cJSON_PrintUnformatted(o);
    bool ok = js && strlen(js) <= KH_MAX_OBJECT;
    free(js);
    if (!ok) kh_reply_status(q, 500, "", "etcdserver: request is too large", NULL, NULL);
    return ok;
}

/* create: B (owned) becomes a new object: 201 with it, or the refusal */
static void create(khttp *h, kh_req *q, const kh_target *t, cJSON *b, unsigned flags)
{
    set_identity(b, t, t->name);
    kh_target named = *t;
    named.name = kfake_str(b, "metadata.name");
    if (!namespace_ok(h, q, &named) || !size_ok(q, b)) {
        cJSON_Delete(b);
        return;
    }
    t0_err err = {0};
    cJSON *o = NULL;
    t0_status st = kfake_create(h->kube, t->rid, t->r->namespaced ? t->ns : "", b, flags, &o, &err);
    if (st != T0_OK) {
        reply_write_err(h, q, t, named.name, st, &err);
    } else {
        q->table = false;
        kh_reply_obj(h, q, t->rid, 201, o);
    }
    cJSON_Delete(b);
}

/* update: B (owned) replaces the object (or its status): 200 with it, or the refusal */
static void update(khttp *h, kh_req *q, const kh_target *t, cJSON *b, unsigned flags)
{
    if (!size_ok(q, b)) return cJSON_Delete(b);
    t0_err err = {0};
    cJSON *o = NULL;
    t0_status st = kfake_update(h->kube, t->rid, t->r->namespaced ? t->ns : "", b, t->sub != NULL, flags, &o, &err);
    cJSON_Delete(b);
    if (st != T0_OK) return reply_write_err(h, q, t, t->name, st, &err);
    q->table = false;
    kh_reply_obj(h, q, t->rid, 200, o);
}

void kh_do_create(khttp *h, kh_req *q, const kh_target *t)
{
    unsigned flags;
    if (!write_flags(q, t->r, "CreateOptions", q->q_dryrun, &flags)) return;
    cJSON *b = kh_parse_body(q, t->r);
    if (!b) return;
    if (!fields_ok(q, t, b, true)) return cJSON_Delete(b);
    create(h, q, t, b, flags);
}

void kh_do_update(khttp *h, kh_req *q, const kh_target *t)
{
    unsigned flags;
    if (!write_flags(q, t->r, "UpdateOptions", q->q_dryrun, &flags)) return;
    cJSON *b = kh_parse_body(q, t->r);
    if (!b) return;
    const char *bn = kfake_str(b, "metadata.name");
    if (bn && strcmp(bn, t->name)) {
        char msg[700];
        snprintf(msg, sizeof msg, "the name of the object (%.300s) does not match the name on the URL (%.300s)", bn, t->name);
        cJSON_Delete(b);
        return kh_reply_status(q, 400, "BadRequest", msg, t->r, t->name);
    }
    if (!fields_ok(q, t, b, true)) return cJSON_Delete(b);
    set_identity(b, t, t->name);
    update(h, q, t, b, flags);
}

/* ---- patches ------------------------------------------------------------------------------------- */
typedef enum { P_MERGE, P_STRATEGIC, P_APPLY, P_JSON } patch_type;

static bool patch_type_of(const char *ct, patch_type *pt)
{
    static const struct {
        const char *prefix;
        patch_type t;
    } types[] = {{"application/apply-patch", P_APPLY},
                 {"application/merge-patch+json", P_MERGE},
                 {"application/strategic-merge-patch+json", P_STRATEGIC},
                 {"application/json-patch+json", P_JSON}};
    for (size_t i = 0; i < T0_ARRAY_LEN(types); i++)
        if (!strncmp(ct, types[i].prefix, strlen(types[i].prefix))) {
            *pt = types[i].t;
            return true;
        }
    return false;
}

/* reply_patch_err: a patch that does not apply, as the API server answers it (NewGenericServerResponse) */
static void reply_patch_err(kh_req *q, const char *msg)
{
    cJSON *s = kh_status_obj(422, "Invalid", msg, NULL, NULL), *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "reason", "UnexpectedServerResponse");
    cJSON_AddStringToObject(c, "message", msg);
    cJSON *code = cJSON_DetachItemFromObjectCaseSensitive(s, "code"); /* details go before it */
    cJSON_AddItemToArray(cJSON_AddArrayToObject(cJSON_AddObjectToObject(s, "details"), "causes"), c);
    cJSON_AddItemToObject(s, "code", code);
    kh_reply_json(q, 422, s);
}

/* patched: CUR (owned) with PATCH applied, or NULL with the refusal answered */
static cJSON *patched(kh_req *q, const kh_target *t, cJSON *cur, const char *body, size_t len, patch_type pt)
{
    char msg[600];
    if (pt == P_JSON) {
        cJSON *ops = body && len ? cJSON_ParseWithLength(body, len) : NULL;
        cJSON *m = NULL;
        int code = 0;
        if (!cJSON_IsArray(ops)) {
            cJSON_Delete(cur);
            code = 400;
            snprintf(msg, sizeof msg, "json: cannot unmarshal %s into Go value of type jsonpatch.Patch",
                     cJSON_IsObject(ops) ? "object" : "data");
        } else if (!(m = kh_json_patch(cur, ops, msg, sizeof msg))) {
            code = 422;
        }
        cJSON_Delete(ops);
        if (code == 400) kh_reply_status(q, 400, "BadRequest", msg, t->r, t->name);
        if (code == 422) reply_patch_err(q, msg);
        return m;
    }
    cJSON *patch = kh_parse_body(q, t->r);
    if (!patch) {
        cJSON_Delete(cur);
        return NULL;
    }
    cJSON *m = kh_merge_patch(cur, patch, pt != P_MERGE);
    cJSON_Delete(patch);
    return m;
}

void kh_do_patch(khttp *h, kh_req *q, const kh_target *t)
{
    unsigned flags;
    if (!write_flags(q, t->r, "PatchOptions", q->q_dryrun, &flags)) return;
    const char *ct = q->ctype ? q->ctype : "";
    patch_type pt;
    if (!patch_type_of(ct, &pt)) {
        char msg[300];
        snprintf(msg, sizeof msg, "the body of the request was in an unknown format - accepted media types include: "
                                  "application/json-patch+json, application/merge-patch+json, "
                                  "application/apply-patch+yaml, application/strategic-merge-patch+json");
        return kh_reply_status(q, 415, "UnsupportedMediaType", msg, t->r, t->name);
    }
    const char *ns = t->r->namespaced ? t->ns : "";
    t0_err err = {0};
    cJSON *cur = NULL;
    t0_status st = kfake_get(h->kube, t->rid, ns, t->name, &cur, &err);
    if (st == T0_ENOTFOUND && pt == P_APPLY && !t->sub) { /* server-side apply of an absent object creates it */
        cJSON *b = kh_parse_body(q, t->r);
        if (!b) return;
        const char *pn = kfake_str(b, "metadata.name");
        if (pn && strcmp(pn, t->name)) {
            cJSON_Delete(b);
            return kh_reply_status(q, 400, "BadRequest", "the name of the object does not match the name on the URL", t->r, t->name);
        }
        if (!fields_ok(q, t, b, false)) return cJSON_Delete(b);
        return create(h, q, t, b, flags);
    }
    if (st != T0_OK) return kh_reply_err(q, t->r, t->name, st, &err);
    cJSON *m = patched(q, t, cur, q->body, q->blen, pt);
    if (!m) return;
    if (!fields_ok(q, t, m, false)) return cJSON_Delete(m);
    cJSON *md = cJSON_GetObjectItemCaseSensitive(m, "metadata");
    if (!cJSON_IsObject(md)) {
        cJSON_DeleteItemFromObjectCaseSensitive(m, "metadata");
        md = cJSON_AddObjectToObject(m, "metadata");
    }
    cJSON_DeleteItemFromObjectCaseSensitive(md, "name");
    cJSON_AddStringToObject(md, "name", t->name);
    if (t->r->namespaced) {
        cJSON_DeleteItemFromObjectCaseSensitive(md, "namespace");
        cJSON_AddStringToObject(md, "namespace", t->ns);
    }
    update(h, q, t, m, flags);
}

/* ---- delete -------------------------------------------------------------------------------------- */
static bool parse_prop(const char *s, kube_propagation *p)
{
    if (!strcmp(s, "Background"))
        *p = KUBE_PROP_BACKGROUND;
    else if (!strcmp(s, "Foreground"))
        *p = KUBE_PROP_FOREGROUND;
    else if (!strcmp(s, "Orphan"))
        *p = KUBE_PROP_ORPHAN;
    else
        return false;
    return true;
}

/* delete_options: the DeleteOptions of the body B (may be NULL) and the query into *O and *FLAGS; false
 * with the refusal answered */
static bool delete_options(kh_req *q, const kh_target *t, const cJSON *b, kube_delete_opts *o, unsigned *flags)
{
    const cJSON *dr = cJSON_GetObjectItemCaseSensitive(b, "dryRun");
    const char *dry = cJSON_IsString(cJSON_GetArrayItem(dr, 0)) ? cJSON_GetArrayItem(dr, 0)->valuestring : q->q_dryrun;
    if (!write_flags(q, t->r, "DeleteOptions", dry, flags)) return false;
    const char *prop = kfake_str(b, "propagationPolicy");
    if (!prop) prop = q->q_prop;
    if (prop && *prop && !parse_prop(prop, &o->propagation)) {
        char msg[200];
        snprintf(msg, sizeof msg, "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"%.60s\": "
                                  "supported values: \"Foreground\", \"Background\", \"Orphan\"", prop);
        kh_reply_status(q, 422, "Invalid", msg, t->r, t->name);
        return false;
    }
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(b, "gracePeriodSeconds");
    if (cJSON_IsNumber(g))
        o->grace_seconds = (int64_t)g->valuedouble;
    else if (q->q_grace && *q->q_grace)
        o->grace_seconds = strtoll(q->q_grace, NULL, 10);
    o->precondition_uid = kfake_str(cJSON_GetObjectItemCaseSensitive(b, "preconditions"), "uid");
    return true;
}

/* delete_namespace_content: what the namespace controller does before a Namespace goes: every object in
 * it is deleted (pods gracefully) */
static void delete_namespace_content(khttp *h, const char *ns)
{
    for (int rid = 0; rid < KFAKE_NRES; rid++) {
        if (!kfake_res_of(rid)->namespaced) continue;
        cJSON *list = NULL;
        if (kfake_list(h->kube, rid, ns, NULL, NULL, &list, NULL) != T0_OK) continue;
        const cJSON *it;
        kube_delete_opts o = {.propagation = KUBE_PROP_BACKGROUND, .grace_seconds = -1};
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(list, "items"))
            kfake_remove(h->kube, rid, ns, kfake_str(it, "metadata.name"), &o, 0, NULL);
        cJSON_Delete(list);
    }
}

void kh_do_delete(khttp *h, kh_req *q, const kh_target *t)
{
    kube_delete_opts o = {.propagation = KUBE_PROP_DEFAULT, .grace_seconds = -1};
    cJSON *b = q->body && q->blen ? cJSON_ParseWithLength(q->body, q->blen) : NULL;
    if (q->body && q->blen && !cJSON_IsObject(b)) {
        cJSON_Delete(b);
        return kh_reply_status(q, 400, "BadRequest", "the DeleteOptions body is not a JSON object", t->r, t->name);
    }
    unsigned flags = 0;
    bool ok = delete_options(q, t, b, &o, &flags);
    const char *ns = t->r->namespaced ? t->ns : "";
    t0_err err = {0};
    cJSON *before = NULL, *after = NULL;
    t0_status st = ok ? kfake_get(h->kube, t->rid, ns, t->name, &before, &err) : T0_OK;
    if (ok && st == T0_OK) st = kfake_remove(h->kube, t->rid, ns, t->name, &o, flags, &err);
    cJSON_Delete(b);
    if (!ok) return cJSON_Delete(before);
    if (st != T0_OK) {
        cJSON_Delete(before);
        return kh_reply_err(q, t->r, t->name, st, &err);
    }
    if (t->rid == KFAKE_NAMESPACE && !(flags & KFAKE_DRY_RUN)) delete_namespace_content(h, t->name);
    q->table = false;
    if (!(flags & KFAKE_DRY_RUN) && kfake_get(h->kube, t->rid, ns, t->name, &after, NULL) == T0_OK) {
        cJSON_Delete(before);
        return kh_reply_obj(h, q, t->rid, 200, after);
    }
    kh_reply_obj(h, q, t->rid, 200, before);
}
