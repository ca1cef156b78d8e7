/* kube_validate.c: what the fake API server refuses (422 Invalid in the API server's words: names, labels,
 * pod specs, Job and CronJob specs, the fields a pod update may change) and how it defaults what it takes. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "domain/cronexpr.h"
#include "domain/names.h"
#include "fakes/kube_fake_impl.h"

/* The findings of one validation: the message as the API server joins them ("a, b"), and each as a
 * StatusCause ({reason, message, field}) for details.causes. */
typedef struct vctx {
    char msgs[1024];
    size_t len;
    int n;
    cJSON *causes;
} vctx;

/* cause_reason: the StatusCause reason of a field error by its type's words (field.ErrorType) */
static const char *cause_reason(const char *body)
{
    static const char *const types[][2] = {
        {"Required value", "FieldValueRequired"}, {"Invalid value", "FieldValueInvalid"},
        {"Unsupported value", "FieldValueNotSupported"}, {"Forbidden", "FieldValueForbidden"},
        {"Too long", "FieldValueTooLong"}, {"Too many", "FieldValueTooMany"},
        {"Duplicate value", "FieldValueDuplicate"}, {"Not found", "FieldValueNotFound"}};
    for (size_t i = 0; i < T0_ARRAY_LEN(types); i++)
        if (!strncmp(body, types[i][0], strlen(types[i][0]))) return types[i][1];
    return "FieldValueInvalid";
}

/* vadd: one finding, "FIELD: TYPE[: DETAIL]" */
static void vadd(vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vadd(vctx *v, const char *fmt, ...)
{
    char one[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(one, sizeof one, fmt, ap);
    va_end(ap);
    char field[512] = "";
    const char *body = one, *sep = strstr(one, ": ");
    if (sep) {
        snprintf(field, sizeof field, "%.*s", (int)(sep - one), one);
        body = sep + 2;
    }
    if (!v->causes) v->causes = cJSON_CreateArray();
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "reason", cause_reason(body));
    cJSON_AddStringToObject(c, "message", body);
    if (*field) cJSON_AddStringToObject(c, "field", field);
    cJSON_AddItemToArray(v->causes, c);
    if (v->len >= sizeof v->msgs - 4) return;
    if (v->n++) v->len += (size_t)snprintf(v->msgs + v->len, sizeof v->msgs - v->len, ", ");
    if (v->len >= sizeof v->msgs) return;
    int w = snprintf(v->msgs + v->len, sizeof v->msgs - v->len, "%s", one);
    if (w > 0) v->len += (size_t)w;
    if (v->len > sizeof v->msgs - 1) v->len = sizeof v->msgs - 1;
}

static void validate_labels(vctx *v, const cJSON *labels, const char *path)
{
    const cJSON *it;
    char msg[400];
    cJSON_ArrayForEach(it, labels)
    {
        if (!kf_label_key_ok(it->string, msg, sizeof msg)) vadd(v, "%s: Invalid value: \"%s\": %s", path, it->string, msg);
        if (!cJSON_IsString(it))
            vadd(v, "%s: Invalid value: \"%s\": label values must be strings", path, it->string);
        else if (!kf_label_value_ok(it->valuestring, msg, sizeof msg))
            vadd(v, "%s: Invalid value: \"%s\": %s", path, it->valuestring, msg);
    }
}

bool kf_dns_label_ok(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > 63) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool an = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!an && (c != '-' || i == 0 || i == n - 1)) return false;
    }
    return true;
}

static void validate_resources(vctx *v, const cJSON *res, const char *path)
{
    const char *sections[] = {"limits", "requests"};
    double lim[2] = {-1, -1};
    for (int s = 0; s < 2; s++) {
        const cJSON *sec = t0_json_get(res, sections[s]);
        const cJSON *q;
        cJSON_ArrayForEach(q, sec)
        {
            double val;
            const char *str = cJSON_IsString(q) ? q->valuestring : NULL;
            char numbuf[64];
            if (cJSON_IsNumber(q)) {
                snprintf(numbuf, sizeof numbuf, "%g", q->valuedouble);
                str = numbuf;
            }
            if (!str || !names_quantity_parse(str, &val)) {
                vadd(v, "%s.%s[%s]: Invalid value: \"%s\": quantities must match the regular expression "
                        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                     path, sections[s], q->string, str ? str : "");
                continue;
            }
            if (val < 0) vadd(v, "%s.%s[%s]: Invalid value: \"%s\": must be greater than or equal to 0", path, sections[s], q->string, str);
            if (s == 0 && !strcmp(q->string, "cpu")) lim[0] = val;
            if (s == 0 && !strcmp(q->string, "memory")) lim[1] = val;
            if (s == 1) {
                int idx = !strcmp(q->string, "cpu") ? 0 : !strcmp(q->string, "memory") ? 1 : -1;
                if (idx >= 0 && lim[idx] >= 0 && val > lim[idx])
                    vadd(v, "%s.requests: Invalid value: \"%s\": must be less than or equal to %s limit of %s", path, str,
                         q->string, kfake_str(res, idx ? "limits.memory" : "limits.cpu") ?: "the");
            }
        }
    }
}

static void validate_containers(vctx *v, const cJSON *list, const char *path, bool required)
{
    if (required && cJSON_GetArraySize(list) == 0) {
        vadd(v, "%s: Required value", path);
        return;
    }
    int i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, list)
    {
        char p[160];
        snprintf(p, sizeof p, "%s[%d]", path, i++);
        const char *name = kfake_str(c, "name");
        if (!name || !*name)
            vadd(v, "%s.name: Required value", p);
        else if (!kf_dns_label_ok(name))
            vadd(v, "%s.name: Invalid value: \"%s\": a lowercase RFC 1123 label must consist of lower case "
                    "alphanumeric characters or '-', and must start and end with an alphanumeric character",
                 p, name);
        const char *image = kfake_str(c, "image");
        if (!image || !*image) vadd(v, "%s.image: Required value", p);
        char rp[180];
        snprintf(rp, sizeof rp, "%s.resources", p);
        validate_resources(v, t0_json_get(c, "resources"), rp);
    }
}

static void validate_pod_spec(vctx *v, const cJSON *spec, const char *path, bool job)
{
    char p[200];
    if (!cJSON_IsObject(spec)) {
        vadd(v, "%s: Required value", path);
        return;
    }
    snprintf(p, sizeof p, "%s.containers", path);
    validate_containers(v, t0_json_get(spec, "containers"), p, true);
    snprintf(p, sizeof p, "%s.initContainers", path);
    validate_containers(v, t0_json_get(spec, "initContainers"), p, false);
    const char *rp = kfake_str(spec, "restartPolicy");
    if (rp) {
        bool ok = job ? (!strcmp(rp, "Never") || !strcmp(rp, "OnFailure"))
                      : (!strcmp(rp, "Always") || !strcmp(rp, "Never") || !strcmp(rp, "OnFailure"));
        if (!ok)
            vadd(v, "%s.restartPolicy: %s: \"%s\": supported values: %s", path, job ? "Unsupported value" : "Unsupported value",
                 rp, job ? "\"OnFailure\", \"Never\"" : "\"Always\", \"OnFailure\", \"Never\"");
    } else if (job)
        vadd(v, "%s.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\"", path);
    const cJSON *g = t0_json_get(spec, "terminationGracePeriodSeconds");
    if (g && (!cJSON_IsNumber(g) || g->valuedouble < 0))
        vadd(v, "%s.terminationGracePeriodSeconds: Invalid value: must be greater than or equal to 0", path);
}

static bool tz_syntax_ok(const char *tz)
{
    if (!*tz || strlen(tz) > 255 || tz[0] == '/' || strstr(tz, "..")) return false;
    for (const char *p = tz; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/_-+", *p)) return false;
    return true;
}

static void validate_int_field(vctx *v, const cJSON *parent, const char *name, const char *path, double min)
{
    const cJSON *x = t0_json_get(parent, name);
    if (x && (!cJSON_IsNumber(x) || x->valuedouble < min))
        vadd(v, "%s.%s: Invalid value: must be greater than or equal to %g", path, name, min);
}

/* validate_pod_update: pod updates may not change fields other than images and activeDeadlineSeconds */
static void validate_pod_update(vctx *v, const cJSON *spec, const cJSON *old_spec)
{
    cJSON *a = cJSON_Duplicate(spec, 1), *b = cJSON_Duplicate(old_spec, 1);
    cJSON *lists[2] = {a, b};
    for (int s = 0; s < 2; s++) {
        if (!lists[s]) continue;
        kf_del_member(lists[s], "activeDeadlineSeconds");
        if (s == 1 && !t0_json_get(a, "nodeName")) kf_del_member(lists[s], "nodeName");
        const char *cl[] = {"containers", "initContainers"};
        for (int c = 0; c < 2; c++) {
            cJSON *it;
            cJSON_ArrayForEach(it, t0_json_get(lists[s], cl[c])) kf_del_member(it, "image");
        }
    }
    if (a && b && !cJSON_Compare(a, b, 1))
        vadd(v, "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`, "
                "`spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only "
                "additions to existing tolerations), `spec.terminationGracePeriodSeconds` (allow it to be set "
                "to 1 if it was previously negative)");
    cJSON_Delete(a);
    cJSON_Delete(b);
}

static void validate_job(vctx *v, const cJSON *spec)
{
    if (!cJSON_IsObject(spec)) {
        vadd(v, "spec: Required value");
        return;
    }
    validate_pod_spec(v, t0_json_get(t0_json_get(spec, "template"), "spec"), "spec.template.spec", true);
    validate_int_field(v, spec, "backoffLimit", "spec", 0);
    validate_int_field(v, spec, "activeDeadlineSeconds", "spec", 1);
}

static void validate_cronjob(vctx *v, const cJSON *spec)
{
    if (!cJSON_IsObject(spec)) {
        vadd(v, "spec: Required value");
        return;
    }
    const char *sched = kfake_str(spec, "schedule");
    cronexpr ce;
    t0_err cerr = {0};
    if (!sched || !*sched)
        vadd(v, "spec.schedule: Required value");
    else if (cronexpr_parse(sched, &ce, &cerr) != T0_OK)
        vadd(v, "spec.schedule: Invalid value: \"%s\": %s", sched, cerr.msg);
    const char *tz = kfake_str(spec, "timeZone");
    if (t0_json_get(spec, "timeZone") && (!tz || !tz_syntax_ok(tz)))
        vadd(v, "spec.timeZone: Invalid value: \"%s\": unknown time zone %s", tz ? tz : "", tz ? tz : "");
    const char *cp = kfake_str(spec, "concurrencyPolicy");
    if (cp && strcmp(cp, "Allow") && strcmp(cp, "Forbid") && strcmp(cp, "Replace"))
        vadd(v, "spec.concurrencyPolicy: Unsupported value: \"%s\": supported values: \"Allow\", \"Forbid\", \"Replace\"", cp);
    validate_int_field(v, spec, "startingDeadlineSeconds", "spec", 0);
    validate_int_field(v, spec, "successfulJobsHistoryLimit", "spec", 0);
    validate_int_field(v, spec, "failedJobsHistoryLimit", "spec", 0);
    const cJSON *jt = t0_json_get(spec, "jobTemplate");
    const cJSON *jspec = t0_json_get(jt, "spec");
    validate_labels(v, t0_json_get(t0_json_get(jt, "metadata"), "labels"), "spec.jobTemplate.metadata.labels");
    const cJSON *tmpl = t0_json_get(jspec, "template");
    validate_labels(v, t0_json_get(t0_json_get(tmpl, "metadata"), "labels"),
                    "spec.jobTemplate.spec.template.metadata.labels");
    validate_pod_spec(v, t0_json_get(tmpl, "spec"), "spec.jobTemplate.spec.template.spec", true);
    validate_int_field(v, jspec, "backoffLimit", "spec.jobTemplate.spec", 0);
}

/* validate_annotations: their keys as label keys, their total size at most 256 KiB
 * (TotalAnnotationSizeLimitB) */
static void validate_annotations(vctx *v, const cJSON *ann)
{
    size_t total = 0;
    char msg[400];
    const cJSON *it;
    cJSON_ArrayForEach(it, ann)
    {
        if (!kf_label_key_ok(it->string, msg, sizeof msg))
            vadd(v, "metadata.annotations: Invalid value: \"%s\": %s", it->string, msg);
        total += strlen(it->string) + (cJSON_IsString(it) ? strlen(it->valuestring) : 0);
    }
    if (total > 256 * 1024) vadd(v, "metadata.annotations: Too long: must have at most %d bytes", 256 * 1024);
}

/* validate_name: a DNS-1123 subdomain (CronJob: at most 52 characters), a DNS-1123 label for Namespaces */
static void validate_name(vctx *v, int kind, const char *name)
{
    char msg[400];
    if (kind == KFAKE_NAMESPACE) {
        if (!kf_dns_label_ok(name))
            vadd(v, "metadata.name: Invalid value: \"%s\": a lowercase RFC 1123 label must consist of lower case "
                    "alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. "
                    "'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                 name);
        return;
    }
    size_t max = kind == KUBE_CRONJOB ? 52 : 253;
    if (!kf_subdomain_ok(name, strlen(name), max, msg, sizeof msg))
        vadd(v, "metadata.name: Invalid value: \"%s\": %s", name, msg);
}

t0_status kf_validate(kfake *k, int kind, const cJSON *obj, const char *name, const kobj *old, t0_err *err)
{
    vctx v = {{0}, 0, 0, NULL};
    validate_name(&v, kind, name);
    const cJSON *md = t0_json_get(obj, "metadata");
    validate_labels(&v, t0_json_get(md, "labels"), "metadata.labels");
    const cJSON *ann = t0_json_get(md, "annotations");
    if (ann) validate_annotations(&v, ann);
    const cJSON *spec = t0_json_get(obj, "spec");
    switch (kind) {
    case KUBE_POD:
        validate_pod_spec(&v, spec, "spec", false);
        if (old) validate_pod_update(&v, spec, t0_json_get(old->v->obj, "spec"));
        break;
    case KUBE_JOB: validate_job(&v, spec); break;
    case KUBE_CRONJOB: validate_cronjob(&v, spec); break;
    default: break;
    }
    cJSON_Delete(k->causes);
    k->causes = v.causes;
    if (!v.n) return T0_OK;
    return kf_fail(err, T0_EINVALID, 422, "%s \"%s\" is invalid: %s", kf_res[kind].display, name, v.msgs);
}

/* secret_defaults: stringData is written into data (base64) and dropped; type Opaque */
static void secret_defaults(cJSON *o)
{
    cJSON *sd = t0_json_get(o, "stringData");
    if (cJSON_IsObject(sd)) {
        cJSON *data = kf_obj_at(o, "data");
        const cJSON *e;
        cJSON_ArrayForEach(e, sd)
        {
            if (!cJSON_IsString(e)) continue;
            size_t n = strlen(e->valuestring);
            char *b64 = malloc(4 * ((n + 2) / 3) + 1);
            if (!b64) continue;
            EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)e->valuestring, (int)n);
            cJSON_DeleteItemFromObjectCaseSensitive(data, e->string);
            cJSON_AddStringToObject(data, e->string, b64);
            free(b64);
        }
    }
    kf_del_member(o, "stringData");
    if (!kfake_str(o, "type")) cJSON_AddStringToObject(o, "type", "Opaque");
}

/* namespace_defaults: the "kubernetes" finalizer in spec, status.phase Active */
static void namespace_defaults(cJSON *o)
{
    cJSON *spec = kf_obj_at(o, "spec");
    if (!t0_json_get(spec, "finalizers")) {
        cJSON *f = cJSON_AddArrayToObject(spec, "finalizers");
        cJSON_AddItemToArray(f, cJSON_CreateString("kubernetes"));
    }
    cJSON *st = kf_obj_at(o, "status");
    if (!kfake_str(st, "phase")) cJSON_AddStringToObject(st, "phase", "Active");
}

void kf_apply_defaults(int kind, cJSON *o)
{
    if (kind == KFAKE_SECRET) secret_defaults(o);
    if (kind == KFAKE_NAMESPACE) namespace_defaults(o);
    cJSON *spec = t0_json_get(o, "spec");
    cJSON *pod_spec = NULL;
    if (kind == KUBE_POD) pod_spec = spec;
    if (kind == KUBE_JOB) pod_spec = t0_json_get(t0_json_get(spec, "template"), "spec");
    if (kind == KUBE_CRONJOB) {
        if (!t0_json_get(spec, "concurrencyPolicy")) T0_JSON_STR_STATIC(spec, "concurrencyPolicy", "Allow");
        if (!t0_json_get(spec, "suspend")) cJSON_AddBoolToObject(spec, "suspend", 0);
        if (!t0_json_get(spec, "successfulJobsHistoryLimit"))
            T0_JSON_NUM(spec, "successfulJobsHistoryLimit", 3);
        if (!t0_json_get(spec, "failedJobsHistoryLimit"))
            T0_JSON_NUM(spec, "failedJobsHistoryLimit", 1);
        cJSON *js = t0_json_get(t0_json_get(spec, "jobTemplate"), "spec");
        if (js && !t0_json_get(js, "backoffLimit")) T0_JSON_NUM(js, "backoffLimit", 6);
    }
    if (kind == KUBE_JOB && spec) {
        if (!t0_json_get(spec, "backoffLimit")) T0_JSON_NUM(spec, "backoffLimit", 6);
        if (!t0_json_get(spec, "completions")) T0_JSON_NUM(spec, "completions", 1);
        if (!t0_json_get(spec, "parallelism")) T0_JSON_NUM(spec, "parallelism", 1);
    }
    if (pod_spec) {
        if (!t0_json_get(pod_spec, "restartPolicy")) T0_JSON_STR_STATIC(pod_spec, "restartPolicy", "Always");
        if (!t0_json_get(pod_spec, "terminationGracePeriodSeconds"))
            T0_JSON_NUM(pod_spec, "terminationGracePeriodSeconds", 30);
    }
}
