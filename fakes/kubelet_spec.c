/* kubelet_spec.c: the simulated kubelet reads a container's spec (command, env, mounts, securityContext)
 * and makes the pod's volumes. */
#include "fakes/kubelet_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

/* ---- the spec of a container ---------------------------------------------------------------------- */
/* A Kubernetes quantity ("512Mi", "1G", "1000") in bytes; 0 when unreadable. */
static uint64_t quantity(const char *s)
{
    if (!s) return 0;
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0) return 0;
    static const struct {
        const char *sfx;
        double mul;
    } m[] = {{"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0}, {"k", 1e3},
             {"M", 1e6},     {"G", 1e9},        {"T", 1e12},          {"", 1.0}};
    for (size_t i = 0; i < T0_ARRAY_LEN(m); i++)
        if (!strcmp(end, m[i].sfx)) return (uint64_t)(v * m[i].mul);
    return 0;
}

static char *dupstr(const char *s) { return strdup(s ? s : ""); }

static void set_config_error(kctr *c, const char *fmt, const char *a, const char *b)
{
    if (c->config_error) return;
    char buf[400];
    snprintf(buf, sizeof buf, fmt, a, b);
    c->config_error = strdup(buf);
}

static bool json_bool(const cJSON *o, const char *k, bool *out)
{
    const cJSON *v = t0_json_get(o, k);
    if (!cJSON_IsBool(v)) return false;
    *out = cJSON_IsTrue(v);
    return true;
}

static bool json_u32(const cJSON *o, const char *k, uint32_t *out)
{
    const cJSON *v = t0_json_get(o, k);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0) return false;
    *out = (uint32_t)v->valuedouble;
    return true;
}

bool kl_parse_ctr(kpod *p, kctr *c, int role, const cJSON *spec, const cJSON *pod_spec)
{
    c->p = p;
    c->role = role;
    c->st.present = true;
    snprintf(c->st.name, sizeof c->st.name, "%s", kfake_str(spec, "name") ? kfake_str(spec, "name") : "");
    snprintf(c->st.image, sizeof c->st.image, "%s", kfake_str(spec, "image") ? kfake_str(spec, "image") : "");
    snprintf(c->trace_key, sizeof c->trace_key, "%s/%s", p->key, c->st.name);
    const cJSON *cmd = t0_json_get(spec, "command"), *args = t0_json_get(spec, "args");
    int n = cJSON_GetArraySize(cmd) + cJSON_GetArraySize(args);
    if (!(c->argv = calloc((size_t)n + 1, sizeof *c->argv))) return false;
    const cJSON *it;
    cJSON_ArrayForEach(it, cmd) if (cJSON_IsString(it) && !(c->argv[c->argc++] = strdup(it->valuestring))) return false;
    cJSON_ArrayForEach(it, args) if (cJSON_IsString(it) && !(c->argv[c->argc++] = strdup(it->valuestring))) return false;
    if (c->argc == 0) set_config_error(c, "no command: the simulated images have no default entrypoint%s%s", "", "");
    const cJSON *env = t0_json_get(spec, "env");
    if (cJSON_GetArraySize(env) && !(c->env = calloc(2 * (size_t)cJSON_GetArraySize(env), sizeof *c->env))) return false;
    cJSON_ArrayForEach(it, env)
    {
        const char *name = kfake_str(it, "name"), *value = kfake_str(it, "value"); /* valueFrom: "" */
        if (!name) continue;
        if (!(c->env[2 * c->nenv] = strdup(name)) || !(c->env[2 * c->nenv + 1] = dupstr(value))) return false;
        c->nenv++;
    }
    const cJSON *mounts = t0_json_get(spec, "volumeMounts"), *vols = t0_json_get(pod_spec, "volumes");
    if (cJSON_GetArraySize(mounts) && !(c->mounts = calloc((size_t)cJSON_GetArraySize(mounts), sizeof *c->mounts)))
        return false;
    cJSON_ArrayForEach(it, mounts)
    {
        const char *vn = kfake_str(it, "name"), *mp = kfake_str(it, "mountPath");
        const cJSON *v, *found = NULL;
        cJSON_ArrayForEach(v, vols) if (vn && kfake_str(v, "name") && !strcmp(kfake_str(v, "name"), vn)) found = v;
        if (!found) set_config_error(c, "volume \"%s\" not found (mounted at %s)", vn ? vn : "", mp ? mp : "");
        else if (!t0_json_get(found, "emptyDir"))
            set_config_error(c, "volume \"%s\": only emptyDir volumes are simulated%s", vn, "");
        bool ro = false;
        json_bool(it, "readOnly", &ro);
        podfs_mount *m = &c->mounts[c->nmounts++];
        m->read_only = ro;
        if (!(m->volume = dupstr(vn)) || !(m->path = dupstr(mp))) return false;
    }
    c->vo.mounts = c->mounts;
    c->vo.nmounts = c->nmounts;
    const cJSON *psc = t0_json_get(pod_spec, "securityContext"), *csc = t0_json_get(spec, "securityContext");
    bool nonroot = false, ro = false;
    if (!json_u32(csc, "runAsUser", &c->vo.uid)) json_u32(psc, "runAsUser", &c->vo.uid);
    if (!json_u32(csc, "runAsGroup", &c->vo.gid)) json_u32(psc, "runAsGroup", &c->vo.gid);
    json_u32(psc, "fsGroup", &c->vo.fs_group);
    if (!json_bool(csc, "runAsNonRoot", &nonroot)) json_bool(psc, "runAsNonRoot", &nonroot);
    json_bool(csc, "readOnlyRootFilesystem", &ro);
    c->vo.read_only_root = ro;
    cJSON_ArrayForEach(it, t0_json_get(t0_json_get(csc, "capabilities"), "drop"))
        if (cJSON_IsString(it) && !strcmp(it->valuestring, "ALL")) c->vo.caps_dropped = true;
    if (nonroot && c->vo.uid == 0)
        set_config_error(c, "container has runAsNonRoot and image will run as root (container: %s)%s", c->st.name, "");
    const char *tp = kfake_str(spec, "terminationMessagePath"), *wd = kfake_str(spec, "workingDir");
    if (tp && !(c->vo.termination_path = strdup(tp))) return false;
    if (wd && !(c->workdir = strdup(wd))) return false;
    return true;
}

static void on_volume_full(void *ud, const char *volume)
{
    emit(ud, KE_VOLUME_FULL, 0, volume, 0);
}

/* The pod's volumes: emptyDirs with their capacity (sizeLimit, else the bot's program, else 1 GiB). */
bool kl_make_volumes(kpod *p, const cJSON *pod_spec)
{
    t0_err err = {0};
    if (podfs_new(&p->k->lp, p->k->opts.faults, &p->fs, &err) != T0_OK) return false;
    podfs_on_full(p->fs, on_volume_full, p);
    const cJSON *v;
    cJSON_ArrayForEach(v, t0_json_get(pod_spec, "volumes"))
    {
        const char *name = kfake_str(v, "name");
        const cJSON *ed = t0_json_get(v, "emptyDir");
        if (!name || !ed) continue;
        uint64_t cap = quantity(kfake_str(ed, "sizeLimit"));
        for (size_t i = 0; !cap && i < p->prog.nvolumes; i++)
            if (!strcmp(p->prog.volumes[i].name, name)) cap = p->prog.volumes[i].bytes;
        if (podfs_add_volume(p->fs, name, cap, &err) != T0_OK && err.code != T0_EEXIST) return false;
    }
    return true;
}

