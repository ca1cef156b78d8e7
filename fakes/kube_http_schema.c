/* kube_http_schema.c: the OpenAPI v3 schemas of the served resources (kube_openapi_data.c, Kubernetes 1.30)
 * and what the HTTP front does with them: fieldValidation (unknown and duplicate fields, as the API
 * server's strict decoder reports them) and the component schemas of /openapi/v3 documents (kubectl
 * explain). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fakes/kube_http_impl.h"

extern const char kh_openapi_schemas[];

static pthread_once_t once = PTHREAD_ONCE_INIT;
static cJSON *schemas;                   /* name -> schema, parsed once, read-only after */
static const cJSON *roots[KFAKE_NRES];   /* each resource's schema (by x-kubernetes-group-version-kind) */

static void load(void)
{
    schemas = cJSON_Parse(kh_openapi_schemas);
    const cJSON *s;
    cJSON_ArrayForEach(s, schemas)
    {
        const cJSON *gvk = cJSON_GetArrayItem(kh_item(s, "x-kubernetes-group-version-kind"), 0);
        for (int rid = 0; gvk && rid < KFAKE_NRES; rid++) {
            const kfake_res *r = kfake_res_of(rid);
            if (!strcmp(kfake_str(gvk, "group") ?: "", r->group) && !strcmp(kfake_str(gvk, "version") ?: "", r->version) &&
                !strcmp(kfake_str(gvk, "kind") ?: "", r->kind))
                roots[rid] = s;
        }
    }
}

/* deref: the schema S stands for: its $ref, or the $ref of its first allOf */
static const cJSON *deref(const cJSON *s)
{
    const char *ref = kfake_str(s, "$ref");
    if (!ref) ref = kfake_str(cJSON_GetArrayItem(kh_item(s, "allOf"), 0), "$ref");
    if (!ref) return s;
    const char *name = strrchr(ref, '/');
    return kh_item(schemas, name ? name + 1 : ref);
}

/* ---- fieldValidation ------------------------------------------------------------------------------- */
bool kh_fieldval_parse(const char *s, kh_fieldval *out)
{
    if (!s || !*s || !strcasecmp(s, "Warn"))
        *out = KH_FV_WARN;
    else if (!strcasecmp(s, "Strict"))
        *out = KH_FV_STRICT;
    else if (!strcasecmp(s, "Ignore"))
        *out = KH_FV_IGNORE;
    else
        return false;
    return true;
}

typedef struct fctx {
    kh_fieldval mode;
    kh_req *q;
    char *errs;
    size_t cap, len;
    int n;
} fctx;

/* finding: one unknown or duplicate field: into the strict error, or a Warning */
static void finding(fctx *f, const char *what, const char *path)
{
    char one[600];
    snprintf(one, sizeof one, "%s field \"%s\"", what, path);
    f->n++;
    if (f->mode == KH_FV_WARN) kh_warn(f->q, one);
    if (f->mode != KH_FV_STRICT || f->len + 3 >= f->cap) return;
    int w = snprintf(f->errs + f->len, f->cap - f->len, "%s%s", f->len ? ", " : "", one);
    if (w > 0) f->len += (size_t)w < f->cap - f->len ? (size_t)w : f->cap - f->len - 1;
}

static void check_value(fctx *f, const cJSON *schema, cJSON *v, const char *path);

/* later_duplicate: whether a member after M has M's key (the decoder keeps the last) */
static bool later_duplicate(const cJSON *m)
{
    for (const cJSON *n = m->next; n; n = n->next)
        if (!strcmp(n->string, m->string)) return true;
    return false;
}

static void check_object(fctx *f, const cJSON *s, cJSON *o, const char *path)
{
    const cJSON *props = kh_item(s, "properties"), *extra = kh_item(s, "additionalProperties");
    if (!props && !extra) return; /* free-form (RawExtension, FieldsV1) */
    for (cJSON *m = o->child, *next; m; m = next) {
        next = m->next;
        char p[512];
        snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", m->string);
        const cJSON *ps = props ? kh_item(props, m->string) : extra;
        bool dup = later_duplicate(m);
        if (dup || !ps) {
            bool first_dup = dup;
            for (const cJSON *e = o->child; first_dup && e != m; e = e->next)
                if (!strcmp(e->string, m->string)) first_dup = false; /* reported once, at its first */
            if (first_dup || !ps) finding(f, ps ? "duplicate" : "unknown", p);
            if (f->mode != KH_FV_STRICT) cJSON_Delete(cJSON_DetachItemViaPointer(o, m));
            continue;
        }
        check_value(f, ps, m, p);
    }
}

static void check_value(fctx *f, const cJSON *schema, cJSON *v, const char *path)
{
    const cJSON *s = deref(schema);
    if (!s) return;
    if (cJSON_IsObject(v)) {
        check_object(f, s, v, path);
    } else if (cJSON_IsArray(v) && kh_item(s, "items")) {
        int i = 0;
        cJSON *it;
        cJSON_ArrayForEach(it, v)
        {
            char p[512];
            snprintf(p, sizeof p, "%s[%d]", path, i++);
            check_value(f, kh_item(s, "items"), it, p);
        }
    }
}

bool kh_schema_check(int rid, cJSON *obj, kh_fieldval mode, kh_req *q, char *errs, size_t cap)
{
    pthread_once(&once, load);
    *errs = 0;
    if (rid < 0 || rid >= KFAKE_NRES || !roots[rid]) return true;
    fctx f = {mode, q, errs, cap, 0, 0};
    check_value(&f, roots[rid], obj, "");
    return mode != KH_FV_STRICT || !f.n;
}

/* ---- /openapi/v3 component schemas ----------------------------------------------------------------- */
/* collect: NAME and every schema it refers to, into OUT (by name) */
static void collect_refs(const cJSON *s, cJSON *out);

static void collect(const char *name, cJSON *out)
{
    if (kh_item(out, name)) return;
    const cJSON *s = kh_item(schemas, name);
    if (!s) return;
    cJSON_AddItemToObject(out, name, cJSON_Duplicate(s, 1));
    collect_refs(s, out);
}

static void collect_refs(const cJSON *s, cJSON *out)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, s)
    {
        if (c->string && !strcmp(c->string, "$ref") && cJSON_IsString(c)) {
            const char *n = strrchr(c->valuestring, '/');
            collect(n ? n + 1 : c->valuestring, out);
        } else if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
            collect_refs(c, out);
        }
    }
}

cJSON *kh_openapi_schemas_of(const char *group, const char *version)
{
    pthread_once(&once, load);
    cJSON *out = cJSON_CreateObject();
    for (int rid = 0; rid < KFAKE_NRES; rid++) {
        const kfake_res *r = kfake_res_of(rid);
        if (strcmp(r->group, group) || strcmp(r->version, version) || !roots[rid]) continue;
        collect(roots[rid]->string, out);
    }
    return out;
}
