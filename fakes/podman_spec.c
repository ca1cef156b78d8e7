/* podman_spec.c: a Pod as `podman kube play` should run it under serve --run-pods (pkl_translate, pure). */
#include "fakes/podman_kubelet.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/json.h"

/* ---- $(VAR) expansion ---------------------------------------------------------------------------- */
static const char *env_value(const cJSON *env, const char *name, size_t n)
{
    const cJSON *e;
    const char *found = NULL;
    cJSON_ArrayForEach(e, env)
    {
        const char *en = t0_json_str(e, "name");
        if (en && strlen(en) == n && !memcmp(en, name, n)) found = t0_json_str(e, "value"); /* the last wins */
    }
    return found;
}

typedef struct sbuf {
    char *b;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_add(sbuf *s, const char *p, size_t n)
{
    if (s->oom) return;
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 64;
        while (cap < s->len + n + 1) cap *= 2;
        char *b = realloc(s->b, cap);
        if (!b) {
            s->oom = true;
            return;
        }
        s->b = b;
        s->cap = cap;
    }
    memcpy(s->b + s->len, p, n);
    s->len += n;
    s->b[s->len] = '\0';
}

char *pkl_expand(const char *s, const cJSON *env)
{
    sbuf o = {0};
    sb_add(&o, "", 0);
    for (size_t i = 0; s[i];) {
        if (s[i] != '$' || !s[i + 1]) {
            sb_add(&o, s + i, 1);
            i++;
            continue;
        }
        char nx = s[i + 1];
        if (nx == '$') { /* an escaped $ */
            sb_add(&o, "$", 1);
            i += 2;
            continue;
        }
        if (nx == '(') {
            const char *close = strchr(s + i + 2, ')');
            if (!close) { /* no closing paren: the rest as it is */
                sb_add(&o, s + i, strlen(s + i));
                break;
            }
            size_t n = (size_t)(close - (s + i + 2));
            const char *v = n ? env_value(env, s + i + 2, n) : NULL;
            if (v)
                sb_add(&o, v, strlen(v));
            else
                sb_add(&o, s + i, n + 3);
            i += n + 3;
            continue;
        }
        sb_add(&o, s + i, 2);
        i += 2;
    }
    if (o.oom) {
        free(o.b);
        return NULL;
    }
    return o.b;
}

/* ---- helpers -------------------------------------------------------------------------------------- */
/* member_str: O's string member KEY (a key may contain dots: "tls.crt", "the0.dev/bot-id"), or NULL */
static const char *member_str(const cJSON *o, const char *key)
{
    const cJSON *v = t0_json_get(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static t0_status bad(pkl_plan *p, int ctr, const char *reason, t0_err *err, t0_status st)
{
    p->bad_ctr = ctr;
    snprintf(p->bad_reason, sizeof p->bad_reason, "%s", reason);
    return st;
}

static void add_env(cJSON *env, const char *name, const char *value)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "name", name);
    cJSON_AddStringToObject(e, "value", value ? value : "");
    cJSON_AddItemToArray(env, e);
}

/* base64 DATA of a Secret: decoded, owned, *LEN set; NULL when it is not base64 */
static char *b64_decode(const char *s, size_t *len)
{
    size_t n = strlen(s);
    unsigned char *out = malloc(n / 4 * 3 + 4);
    if (!out) return NULL;
    int r = n ? EVP_DecodeBlock(out, (const unsigned char *)s, (int)n) : 0;
    if (r < 0 || n % 4) {
        free(out);
        return NULL;
    }
    size_t m = (size_t)r;
    if (n >= 1 && s[n - 1] == '=') m--;
    if (n >= 2 && s[n - 2] == '=') m--;
    out[m] = 0;
    *len = m;
    return (char *)out;
}

/* The value of KEY in the Secret or ConfigMap OBJ (owned, *LEN set), or NULL. */
static char *data_value(const cJSON *obj, bool secret, const char *key, size_t *len)
{
    const char *v = member_str(t0_json_get(obj, "data"), key);
    if (v && secret) return b64_decode(v, len);
    if (v) {
        *len = strlen(v);
        return strdup(v);
    }
    const char *b = member_str(t0_json_get(obj, "binaryData"), key);
    return b && !secret ? b64_decode(b, len) : NULL;
}

/* the label or annotation named in "metadata.labels['k']" */
static const char *bracket_ref(const cJSON *pod, const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(path, prefix, n) || path[n] != '[') return NULL;
    const char *q = path + n + 1;
    char quote = *q;
    if (quote != '\'' && quote != '"') return NULL;
    const char *end = strchr(q + 1, quote);
    if (!end || end[1] != ']' || end[2]) return NULL;
    char key[320];
    snprintf(key, sizeof key, "%.*s", (int)(end - q - 1), q + 1);
    const char *section = strstr(prefix, "labels") ? "labels" : "annotations";
    const char *v = member_str(t0_json_get(t0_json_get(pod, "metadata"), section), key);
    return v ? v : "";
}

static const char *field_ref(const cJSON *pod, const char *path, const char *host_ip)
{
    if (!strcmp(path, "metadata.name") || !strcmp(path, "metadata.namespace") || !strcmp(path, "metadata.uid") ||
        !strcmp(path, "spec.nodeName") || !strcmp(path, "spec.serviceAccountName")) {
        const char *v = t0_json_str(pod, path);
        if (!v && !strcmp(path, "spec.serviceAccountName")) v = "default";
        return v ? v : "";
    }
    if (!strcmp(path, "status.podIP") || !strcmp(path, "status.hostIP") || !strcmp(path, "status.podIPs") ||
        !strcmp(path, "status.hostIPs"))
        return host_ip;
    const char *v = bracket_ref(pod, path, "metadata.labels");
    return v ? v : bracket_ref(pod, path, "metadata.annotations");
}

/* resolve_env: C's envFrom then env, as name/value pairs into OUT (an array). */
static t0_status resolve_env(const cJSON *pod, const cJSON *c, int idx, const char *ns, const char *host_ip,
                             const pkl_lookup *lk, cJSON *out, pkl_plan *p, t0_err *err)
{
    const cJSON *ef;
    cJSON_ArrayForEach(ef, t0_json_get(c, "envFrom"))
    {
        const cJSON *ref = t0_json_get(ef, "secretRef");
        bool secret = ref != NULL;
        if (!ref) ref = t0_json_get(ef, "configMapRef");
        const char *name = t0_json_str(ref, "name");
        if (!name) continue;
        const cJSON *opt = t0_json_get(ref, "optional");
        cJSON *obj = lk->get(lk->ctx, secret ? "secrets" : "configmaps", ns, name);
        if (!obj) {
            if (cJSON_IsTrue(opt)) continue;
            return bad(p, idx, "CreateContainerConfigError", err,
                       t0_fail(err, T0_EINVALID, "%s \"%s\" not found", secret ? "secret" : "configmap", name));
        }
        const char *prefix = t0_json_str(ef, "prefix");
        const cJSON *d;
        cJSON_ArrayForEach(d, t0_json_get(obj, "data"))
        {
            size_t len = 0;
            char *v = data_value(obj, secret, d->string, &len);
            char nm[512];
            snprintf(nm, sizeof nm, "%s%s", prefix ? prefix : "", d->string);
            if (v) add_env(out, nm, v);
            free(v);
        }
        cJSON_Delete(obj);
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, t0_json_get(c, "env"))
    {
        const char *name = t0_json_str(e, "name");
        if (!name) continue;
        const cJSON *vf = t0_json_get(e, "valueFrom");
        if (!vf) {
            const char *v = t0_json_str(e, "value");
            char *x = pkl_expand(v ? v : "", out);
            if (!x) return t0_fail(err, T0_ENOMEM, "translate: out of memory");
            add_env(out, name, x);
            free(x);
            continue;
        }
        const cJSON *sk = t0_json_get(vf, "secretKeyRef"), *ck = t0_json_get(vf, "configMapKeyRef");
        const cJSON *fr = t0_json_get(vf, "fieldRef");
        if (sk || ck) {
            const cJSON *ref = sk ? sk : ck;
            const char *oname = t0_json_str(ref, "name"), *key = t0_json_str(ref, "key");
            bool optional = cJSON_IsTrue(t0_json_get(ref, "optional"));
            cJSON *obj = oname ? lk->get(lk->ctx, sk ? "secrets" : "configmaps", ns, oname) : NULL;
            if (!obj) {
                if (optional) continue;
                return bad(p, idx, "CreateContainerConfigError", err,
                           t0_fail(err, T0_EINVALID, "%s \"%s\" not found", sk ? "secret" : "configmap", oname ? oname : ""));
            }
            size_t len = 0;
            char *v = key ? data_value(obj, sk != NULL, key, &len) : NULL;
            cJSON_Delete(obj);
            if (!v) {
                if (optional) continue;
                return bad(p, idx, "CreateContainerConfigError", err,
                           t0_fail(err, T0_EINVALID, "couldn't find key %s in %s %s/%s", key ? key : "",
                                   sk ? "Secret" : "ConfigMap", ns, oname));
            }
            add_env(out, name, v);
            free(v);
        } else if (fr) {
            const char *path = t0_json_str(fr, "fieldPath");
            const char *v = path ? field_ref(pod, path, host_ip) : NULL;
            if (!v)
                return bad(p, idx, "CreateContainerConfigError", err,
                           t0_fail(err, T0_EINVALID, "unsupported fieldPath: %s", path ? path : ""));
            add_env(out, name, v);
        } else {
            return bad(p, idx, "CreateContainerConfigError", err,
                       t0_fail(err, T0_EINVALID, "env %s: valueFrom kind not supported by serve --run-pods", name));
        }
    }
    return T0_OK;
}

/* expand_array: command or args with $(VAR) expanded, or NULL when C has none. */
static cJSON *expand_array(const cJSON *arr, const cJSON *env)
{
    if (!cJSON_IsArray(arr)) return NULL;
    cJSON *o = cJSON_CreateArray();
    const cJSON *a;
    cJSON_ArrayForEach(a, arr)
    {
        char *x = pkl_expand(cJSON_IsString(a) ? a->valuestring : "", env);
        cJSON_AddItemToArray(o, cJSON_CreateString(x ? x : ""));
        free(x);
    }
    return o;
}

static void copy_member(cJSON *dst, const cJSON *src, const char *name)
{
    const cJSON *v = t0_json_get(src, name);
    if (v) cJSON_AddItemToObject(dst, name, cJSON_Duplicate(v, 1));
}

static const cJSON *sc_member(const cJSON *c, const cJSON *spec, const char *name)
{
    const cJSON *v = t0_json_get(t0_json_get(c, "securityContext"), name);
    return v ? v : t0_json_get(t0_json_get(spec, "securityContext"), name);
}

static t0_status translate_ctr(const cJSON *pod, const cJSON *spec, const cJSON *c, int idx, bool init, const char *ns,
                               const char *podman_pod, const char *host_ip, const cJSON *ro_vols, const pkl_lookup *lk,
                               cJSON *ctrs, pkl_plan *p, t0_err *err)
{
    const char *name = t0_json_str(c, "name"), *image = t0_json_str(c, "image");
    if (!name || !image) return t0_fail(err, T0_EINVAL, "translate: a container without name or image");
    pkl_ctr *pc = &p->ctrs[p->nctrs];
    memset(pc, 0, sizeof *pc);
    pc->init = init;
    pc->name = strdup(name);
    pc->image = strdup(image);
    if (asprintf(&pc->podman_name, "%s-%s", podman_pod, name) < 0) pc->podman_name = NULL;
    p->nctrs++;
    if (!pc->name || !pc->image || !pc->podman_name) return t0_fail(err, T0_ENOMEM, "translate: out of memory");
    pc->run_as_non_root = cJSON_IsTrue(sc_member(c, spec, "runAsNonRoot"));
    const cJSON *u = sc_member(c, spec, "runAsUser");
    pc->run_as_user = cJSON_IsNumber(u) ? (long)u->valuedouble : -1;

    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToArray(ctrs, o);
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "image", image);
    cJSON_AddStringToObject(o, "imagePullPolicy", "Never");
    cJSON *env = cJSON_CreateArray();
    t0_status st = resolve_env(pod, c, idx, ns, host_ip, lk, env, p, err);
    if (st != T0_OK) {
        cJSON_Delete(env);
        return st;
    }
    cJSON *cmd = expand_array(t0_json_get(c, "command"), env), *args = expand_array(t0_json_get(c, "args"), env);
    if (cmd) cJSON_AddItemToObject(o, "command", cmd);
    if (args) cJSON_AddItemToObject(o, "args", args);
    copy_member(o, c, "workingDir");
    if (cJSON_GetArraySize(env))
        cJSON_AddItemToObject(o, "env", env);
    else
        cJSON_Delete(env);
    copy_member(o, c, "resources");
    const cJSON *sc = t0_json_get(c, "securityContext");
    if (sc) {
        cJSON *s = cJSON_Duplicate(sc, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(s, "runAsNonRoot");
        cJSON_AddItemToObject(o, "securityContext", s);
    }
    const cJSON *vm;
    cJSON *mounts = NULL;
    cJSON_ArrayForEach(vm, t0_json_get(c, "volumeMounts"))
    {
        if (!mounts) mounts = cJSON_AddArrayToObject(o, "volumeMounts");
        cJSON *m = cJSON_Duplicate(vm, 1);
        const char *vn = t0_json_str(vm, "name");
        /* secret and configMap volumes are mounted read-only, as the kubelet does */
        if (vn && cJSON_GetObjectItemCaseSensitive(ro_vols, vn) && !t0_json_get(m, "readOnly"))
            cJSON_AddTrueToObject(m, "readOnly");
        cJSON_DeleteItemFromObjectCaseSensitive(m, "mountPropagation");
        cJSON_AddItemToArray(mounts, m);
    }
    return T0_OK;
}

static bool safe_name(const char *s)
{
    if (!s || !*s || strlen(s) > 253 || !strcmp(s, ".") || !strcmp(s, "..")) return false;
    for (const char *c = s; *c; c++)
        if (*c == '/' || (unsigned char)*c < 0x20) return false;
    return true;
}

static t0_status add_dir(pkl_plan *p, const char *dir, t0_err *err)
{
    char **v = realloc(p->dirs, (p->ndirs + 1) * sizeof *v);
    if (!v) return t0_fail(err, T0_ENOMEM, "translate: out of memory");
    p->dirs = v;
    if (!(p->dirs[p->ndirs] = strdup(dir))) return t0_fail(err, T0_ENOMEM, "translate: out of memory");
    p->ndirs++;
    return T0_OK;
}

static t0_status add_file(pkl_plan *p, const char *dir, const char *rel, char *data, size_t len, int mode, t0_err *err)
{
    if (!safe_name(rel) || strstr(rel, "..")) {
        free(data);
        return bad(p, -1, "FailedMount", err, t0_fail(err, T0_EINVALID, "invalid volume file path \"%s\"", rel));
    }
    pkl_file *v = realloc(p->files, (p->nfiles + 1) * sizeof *v);
    if (!v) {
        free(data);
        return t0_fail(err, T0_ENOMEM, "translate: out of memory");
    }
    p->files = v;
    pkl_file *f = &p->files[p->nfiles];
    f->data = data;
    f->len = len;
    f->mode = mode;
    if (asprintf(&f->path, "%s/%s", dir, rel) < 0) {
        free(data);
        return t0_fail(err, T0_ENOMEM, "translate: out of memory");
    }
    p->nfiles++;
    return T0_OK;
}

/* A secret or configMap volume: its keys (or ITEMS) as files under DIR. */
static t0_status data_volume(const cJSON *src, bool secret, const char *ns, const char *dir, const pkl_lookup *lk,
                             pkl_plan *p, t0_err *err)
{
    const char *oname = t0_json_str(src, secret ? "secretName" : "name");
    bool optional = cJSON_IsTrue(t0_json_get(src, "optional"));
    const cJSON *dm = t0_json_get(src, "defaultMode");
    int mode = cJSON_IsNumber(dm) ? (int)dm->valuedouble & 0777 : 0644;
    cJSON *obj = oname ? lk->get(lk->ctx, secret ? "secrets" : "configmaps", ns, oname) : NULL;
    if (!obj) {
        if (optional) return T0_OK;
        return bad(p, -1, "FailedMount", err,
                   t0_fail(err, T0_EINVALID, "MountVolume.SetUp failed: %s \"%s\" not found", secret ? "secret" : "configmap",
                           oname ? oname : ""));
    }
    t0_status st = T0_OK;
    const cJSON *items = t0_json_get(src, "items");
    if (cJSON_GetArraySize(items) > 0) {
        const cJSON *it;
        cJSON_ArrayForEach(it, items)
        {
            const char *key = t0_json_str(it, "key"), *path = t0_json_str(it, "path");
            const cJSON *m = t0_json_get(it, "mode");
            size_t len = 0;
            char *v = key ? data_value(obj, secret, key, &len) : NULL;
            if (!v) {
                st = bad(p, -1, "FailedMount", err,
                         t0_fail(err, T0_EINVALID, "MountVolume.SetUp failed: couldn't find key %s in %s %s/%s",
                                 key ? key : "", secret ? "Secret" : "ConfigMap", ns, oname));
                break;
            }
            if ((st = add_file(p, dir, path ? path : key, v, len, cJSON_IsNumber(m) ? (int)m->valuedouble & 0777 : mode,
                               err)) != T0_OK)
                break;
        }
    } else {
        const char *sections[] = {"data", "binaryData"};
        for (size_t s = 0; st == T0_OK && s < (secret ? 1u : 2u); s++) {
            const cJSON *d;
            cJSON_ArrayForEach(d, t0_json_get(obj, sections[s]))
            {
                size_t len = 0;
                char *v = data_value(obj, secret, d->string, &len);
                if (v && (st = add_file(p, dir, d->string, v, len, mode, err)) != T0_OK) break;
            }
        }
    }
    cJSON_Delete(obj);
    return st;
}

t0_status pkl_translate(const cJSON *pod, const char *podman_pod, const char *vol_dir, const char *host_ip,
                        const pkl_lookup *lk, pkl_plan *out, t0_err *err)
{
    memset(out, 0, sizeof *out);
    out->bad_ctr = -1;
    const cJSON *spec = t0_json_get(pod, "spec"), *md = t0_json_get(pod, "metadata");
    const char *ns = t0_json_str(md, "namespace"), *name = t0_json_str(md, "name");
    const cJSON *inits = t0_json_get(spec, "initContainers"), *regular = t0_json_get(spec, "containers");
    if (!ns || !name || !cJSON_IsArray(regular)) return t0_fail(err, T0_EINVAL, "translate: not a Pod with containers");
    size_t n = (size_t)cJSON_GetArraySize(inits) + (size_t)cJSON_GetArraySize(regular);
    out->ctrs = calloc(n ? n : 1, sizeof *out->ctrs);
    cJSON *m = cJSON_CreateObject();
    out->manifest = m;
    cJSON *ro_vols = cJSON_CreateObject();
    if (!out->ctrs || !m || !ro_vols) {
        cJSON_Delete(ro_vols);
        pkl_plan_free(out);
        return t0_fail(err, T0_ENOMEM, "translate: out of memory");
    }
    t0_status st = T0_OK;
    cJSON_AddStringToObject(m, "apiVersion", "v1");
    cJSON_AddStringToObject(m, "kind", "Pod");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(m, "metadata"), "name", podman_pod);
    cJSON *ms = cJSON_AddObjectToObject(m, "spec");
    const char *hostname = t0_json_str(spec, "hostname");
    char hn[64];
    snprintf(hn, sizeof hn, "%s", hostname ? hostname : name);
    for (char *c = hn + strlen(hn); c > hn && c[-1] == '.'; c--) c[-1] = 0; /* a 63-byte cut may end in a dot */
    cJSON_AddStringToObject(ms, "hostname", hn);
    cJSON_AddStringToObject(ms, "restartPolicy", "Never");
    const cJSON *psc = t0_json_get(spec, "securityContext");
    if (psc) {
        cJSON *s = cJSON_Duplicate(psc, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(s, "runAsNonRoot");
        cJSON_AddItemToObject(ms, "securityContext", s);
    }
    copy_member(ms, spec, "hostAliases");

    /* volumes first: their kind decides which mounts are read-only */
    cJSON *vols = cJSON_AddArrayToObject(ms, "volumes");
    const cJSON *v;
    cJSON_ArrayForEach(v, t0_json_get(spec, "volumes"))
    {
        const char *vn = t0_json_str(v, "name");
        if (!safe_name(vn)) {
            st = bad(out, -1, "FailedMount", err, t0_fail(err, T0_EINVALID, "invalid volume name \"%s\"", vn ? vn : ""));
            break;
        }
        cJSON *tv = cJSON_CreateObject();
        cJSON_AddItemToArray(vols, tv);
        cJSON_AddStringToObject(tv, "name", vn);
        const cJSON *hp = t0_json_get(v, "hostPath");
        if (hp) {
            cJSON_AddItemToObject(tv, "hostPath", cJSON_Duplicate(hp, 1));
            continue;
        }
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/%s", vol_dir, vn);
        if ((st = add_dir(out, dir, err)) != T0_OK) break;
        cJSON *th = cJSON_AddObjectToObject(tv, "hostPath");
        cJSON_AddStringToObject(th, "path", dir);
        cJSON_AddStringToObject(th, "type", "Directory");
        const cJSON *sec = t0_json_get(v, "secret"), *cm = t0_json_get(v, "configMap");
        if (t0_json_get(v, "emptyDir")) continue;
        if (sec || cm) {
            cJSON_AddTrueToObject(ro_vols, vn);
            if ((st = data_volume(sec ? sec : cm, sec != NULL, ns, dir, lk, out, err)) != T0_OK) break;
            continue;
        }
        st = bad(out, -1, "FailedMount", err,
                 t0_fail(err, T0_EINVALID, "volume \"%s\": only emptyDir, hostPath, secret and configMap volumes run under "
                         "serve --run-pods", vn));
        break;
    }
    cJSON *ctrs = cJSON_AddArrayToObject(ms, "containers");
    int idx = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, inits)
    {
        if (st != T0_OK) break;
        st = translate_ctr(pod, spec, c, idx++, true, ns, podman_pod, host_ip, ro_vols, lk, ctrs, out, err);
        if (st == T0_OK) out->ninit++;
    }
    cJSON_ArrayForEach(c, regular)
    {
        if (st != T0_OK) break;
        st = translate_ctr(pod, spec, c, idx++, false, ns, podman_pod, host_ip, ro_vols, lk, ctrs, out, err);
    }
    cJSON_Delete(ro_vols);
    if (st != T0_OK) {
        int bc = out->bad_ctr;
        char br[32];
        memcpy(br, out->bad_reason, sizeof br);
        pkl_plan_free(out);
        out->bad_ctr = bc;
        memcpy(out->bad_reason, br, sizeof br);
        if (st == T0_EINVALID && !out->bad_reason[0]) snprintf(out->bad_reason, sizeof out->bad_reason, "CreateContainerConfigError");
    }
    return st;
}

void pkl_plan_free(pkl_plan *p)
{
    if (!p) return;
    cJSON_Delete(p->manifest);
    for (size_t i = 0; i < p->ndirs; i++) free(p->dirs[i]);
    free(p->dirs);
    for (size_t i = 0; i < p->nfiles; i++) {
        free(p->files[i].path);
        free(p->files[i].data);
    }
    free(p->files);
    for (size_t i = 0; i < p->nctrs; i++) {
        free(p->ctrs[i].name);
        free(p->ctrs[i].image);
        free(p->ctrs[i].podman_name);
    }
    free(p->ctrs);
    memset(p, 0, sizeof *p);
    p->bad_ctr = -1;
}
