/* podgen.c: Pod and CronJob generation for bots and schedules (see podgen.h). */
#include "controllers/podgen.h"

#include "core/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/cronexpr.h"
#include "domain/gojson.h"
#include "domain/hash.h"
#include "domain/names.h"
#include "core/json.h"

#define LBL "the0.dev/"

static bool str_eq(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

bool podgen_settings_equal(const podgen_settings *a, const podgen_settings *b)
{
    /* a new field must be compared below; this fails to compile until the size is updated with it */
    _Static_assert(sizeof(void *) != 8 || sizeof(podgen_settings) == 144, "podgen_settings changed: update podgen_settings_equal");
    return str_eq(a->namespace, b->namespace) && str_eq(a->bot_controller_name, b->bot_controller_name) &&
           str_eq(a->schedule_controller_name, b->schedule_controller_name) && str_eq(a->minio_endpoint, b->minio_endpoint) &&
           str_eq(a->minio_access_key, b->minio_access_key) && str_eq(a->minio_secret_key, b->minio_secret_key) &&
           str_eq(a->minio_secret_name, b->minio_secret_name) &&
           str_eq(a->minio_secret_access_key, b->minio_secret_access_key) &&
           str_eq(a->minio_secret_secret_key, b->minio_secret_secret_key) && a->plain_credentials == b->plain_credentials &&
           str_eq(a->minio_bucket, b->minio_bucket) && str_eq(a->minio_state_bucket, b->minio_state_bucket) &&
           a->minio_use_ssl == b->minio_use_ssl && str_eq(a->runtime_image, b->runtime_image) &&
           str_eq(a->pull_policy, b->pull_policy) && a->starting_deadline_seconds == b->starting_deadline_seconds &&
           a->active_deadline_seconds == b->active_deadline_seconds &&
           a->termination_grace_period_seconds == b->termination_grace_period_seconds;
}

void podgen_settings_defaults(podgen_settings *s)
{
    *s = (podgen_settings){
        .namespace = "the0",
        .bot_controller_name = "the0-bot-controller",
        .schedule_controller_name = "the0-schedule-controller",
        .minio_endpoint = "minio:9000",
        .minio_access_key = "",
        .minio_secret_key = "",
        .minio_secret_name = "the0-minio",
        .minio_secret_access_key = "access-key",
        .minio_secret_secret_key = "secret-key",
        .plain_credentials = false,
        .minio_bucket = "the0-custom-bots",
        .minio_state_bucket = "bot-state",
        .minio_use_ssl = false,
        .runtime_image = "runtime:latest",
        .pull_policy = "IfNotPresent",
        .starting_deadline_seconds = 300,
        .active_deadline_seconds = 3600,
        .termination_grace_period_seconds = 90,
    };
}

size_t podgen_cli_opts(podgen_settings *s, cli_opt *out, size_t cap)
{
    const cli_opt o[PODGEN_CLI_NOPTS] = {
        {"namespace", 0, CLI_STR, &s->namespace, "namespace of bot Pods and CronJobs", .env = "NAMESPACE"},
        {"minio-endpoint", 0, CLI_STR, &s->minio_endpoint, "MinIO host:port, no scheme", .env = "MINIO_ENDPOINT"},
        {"minio-bucket", 0, CLI_STR, &s->minio_bucket, "code bucket (only validated)", .env = "MINIO_BUCKET"},
        {"minio-state-bucket", 0, CLI_STR, &s->minio_state_bucket, "state bucket (only validated)",
         .env = "MINIO_STATE_BUCKET"},
        {"minio-use-ssl", 0, CLI_BOOL, &s->minio_use_ssl, "bot pods reach MinIO over TLS", .env = "MINIO_USE_SSL"},
        {"minio-secret-name", 0, CLI_STR, &s->minio_secret_name,
         "Secret with keys access-key and secret-key that bot pods read the MinIO credentials from",
         .env = "MINIO_SECRET_NAME"},
        {"plain-credentials", 0, CLI_BOOL, &s->plain_credentials,
         "put MINIO_ACCESS_KEY and MINIO_SECRET_KEY into bot pods' env values, as the reference does (both are then "
         "required)"},
        {"runtime-image", 0, CLI_STR, &s->runtime_image, "image of the init and sync containers", .env = "RUNTIME_IMAGE"},
        {"runtime-image-pull-policy", 0, CLI_ENUM, &s->pull_policy, "imagePullPolicy of all three containers",
         .env = "RUNTIME_IMAGE_PULL_POLICY", .choices = "Always|IfNotPresent|Never"},
        {"starting-deadline-seconds", 0, CLI_LONG, &s->starting_deadline_seconds, "CronJob startingDeadlineSeconds",
         .min = 0, .max = 86400 * 7},
        {"active-deadline-seconds", 0, CLI_LONG, &s->active_deadline_seconds, "scheduled Job activeDeadlineSeconds",
         .min = 1, .max = 86400 * 7},
        {"termination-grace-period-seconds", 0, CLI_LONG, &s->termination_grace_period_seconds,
         "bot Pod terminationGracePeriodSeconds", .min = 0, .max = 86400},
    };
    size_t n = cap < PODGEN_CLI_NOPTS ? cap : PODGEN_CLI_NOPTS;
    memcpy(out, o, n * sizeof *out);
    return n;
}

const char *podgen_cli_credentials(podgen_settings *s)
{
    const char *ak = getenv("MINIO_ACCESS_KEY"), *sk = getenv("MINIO_SECRET_KEY");
    s->minio_access_key = ak ? ak : "";
    s->minio_secret_key = sk ? sk : "";
    if (!s->plain_credentials && ((ak && *ak) || (sk && *sk)))
        return "MINIO_ACCESS_KEY/MINIO_SECRET_KEY are set but unused: bot pods read the MinIO credentials from the "
               "Secret --minio-secret-name; add --plain-credentials to put these keys into their env instead";
    return "";
}

/* ---- building helpers: a NULL parent or a failed add clears *ok, so a tree is built without checks at
 * every step and thrown away once at the end when anything failed. Every KEY below is a string literal
 * (or points to one): members keep the pointer, not a copy (t0_json_add_static). */

static cJSON *obj(cJSON *parent, const char *key, bool *ok)
{
    cJSON *o = t0_json_add_static(parent, key, cJSON_CreateObject());
    if (!o) *ok = false;
    return o;
}

static cJSON *arr(cJSON *parent, const char *key, bool *ok)
{
    cJSON *o = t0_json_add_static(parent, key, cJSON_CreateArray());
    if (!o) *ok = false;
    return o;
}

static void str(cJSON *parent, const char *key, const char *v, bool *ok)
{
    if (!t0_json_add_static(parent, key, cJSON_CreateString(v))) *ok = false;
}

static void num(cJSON *parent, const char *key, double v, bool *ok)
{
    if (!t0_json_add_static(parent, key, cJSON_CreateNumber(v))) *ok = false;
}

static void boolean(cJSON *parent, const char *key, bool v, bool *ok)
{
    if (!t0_json_add_static(parent, key, cJSON_CreateBool(v))) *ok = false;
}

static cJSON *push_obj(cJSON *array, bool *ok)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !array || !cJSON_AddItemToArray(array, o)) {
        cJSON_Delete(o);
        *ok = false;
        return NULL;
    }
    return o;
}

static void push_str(cJSON *array, const char *v, bool *ok)
{
    cJSON *s = cJSON_CreateString(v);
    if (!s || !array || !cJSON_AddItemToArray(array, s)) {
        cJSON_Delete(s);
        *ok = false;
    }
}

static void strings(cJSON *parent, const char *key, const char *const *v, size_t n, bool *ok)
{
    cJSON *a = arr(parent, key, ok);
    for (size_t i = 0; i < n; i++) push_str(a, v[i], ok);
}

static void mount(cJSON *mounts, const char *name, const char *path, bool *ok)
{
    cJSON *m = push_obj(mounts, ok);
    str(m, "name", name, ok);
    str(m, "mountPath", path, ok);
}

static void env_value(cJSON *env, const char *name, const char *value, bool *ok)
{
    cJSON *e = push_obj(env, ok);
    str(e, "name", name, ok);
    str(e, "value", value, ok);
}

static void env_secret(cJSON *env, const char *name, const char *secret, const char *key, bool *ok)
{
    cJSON *e = push_obj(env, ok);
    str(e, "name", name, ok);
    cJSON *ref = obj(obj(e, "valueFrom", ok), "secretKeyRef", ok);
    str(ref, "name", secret, ok);
    str(ref, "key", key, ok);
}

/* The four MinIO variables of init and sync, in the reference's order. */
static void minio_env(const podgen_settings *s, cJSON *c, bool *ok)
{
    cJSON *env = arr(c, "env", ok);
    env_value(env, "MINIO_ENDPOINT", s->minio_endpoint, ok);
    if (s->plain_credentials) {
        env_value(env, "MINIO_ACCESS_KEY", s->minio_access_key, ok);
        env_value(env, "MINIO_SECRET_KEY", s->minio_secret_key, ok);
    } else {
        env_secret(env, "MINIO_ACCESS_KEY", s->minio_secret_name, s->minio_secret_access_key, ok);
        env_secret(env, "MINIO_SECRET_KEY", s->minio_secret_name, s->minio_secret_secret_key, ok);
    }
    env_value(env, "MINIO_USE_SSL", s->minio_use_ssl ? "true" : "false", ok);
}

static void container_security(cJSON *c, bool read_only_root, bool *ok)
{
    cJSON *sc = obj(c, "securityContext", ok);
    boolean(sc, "allowPrivilegeEscalation", false, ok);
    cJSON *drop = arr(obj(sc, "capabilities", ok), "drop", ok);
    push_str(drop, "ALL", ok);
    boolean(sc, "readOnlyRootFilesystem", read_only_root, ok);
}

static void resources(cJSON *c, const char *const lim_mem, const char *lim_cpu, const char *req_mem,
                      const char *req_cpu, bool requests_first, bool *ok)
{
    cJSON *r = obj(c, "resources", ok);
    for (int pass = 0; pass < 2; pass++) {
        bool limits = (pass == 0) != requests_first;
        cJSON *o = obj(r, limits ? "limits" : "requests", ok);
        str(o, "memory", limits ? lim_mem : req_mem, ok);
        str(o, "cpu", limits ? lim_cpu : req_cpu, ok);
    }
}

/* ---- values derived from the bot (reference 7.2) and checks (7.3 + ours) ---- */

typedef struct derived {
    char *bot_config;        /* owned: BOT_CONFIG */
    const char *image;       /* bot image */
    const char *entrypoint;  /* borrowed from the doc or the defaults table */
    const char *res[4];      /* memory_limit, cpu_limit, memory_request, cpu_request */
    char pod_name[NAMES_SUBDOMAIN_MAX + 1];
} derived;

static const char *const res_keys[4] = {"memory_limit", "cpu_limit", "memory_request", "cpu_request"};
static const char *const res_defaults[4] = {"512Mi", "500m", "128Mi", "100m"};

/* Errors carry the reference's message without naming the bot; the callers put "bot <id>: " (or the
 * CronJob wording) in front. */
static t0_status derive(const podgen_settings *s, const botdoc *d, derived *v, t0_err *err)
{
    memset(v, 0, sizeof *v);
    const char *id = d->id;
    t0_err e = {0};
    if (d->config) {
        if (gojson_encode(d->config, &v->bot_config, NULL, &e))
            return t0_fail(err, T0_EINVAL, "failed to marshal bot config: %s", e.msg);
    } else if (!(v->bot_config = strdup("null"))) {
        return t0_fail(err, T0_ENOMEM, "out of memory");
    }
    t0_status st = T0_OK;
    if (names_validate_minio_path(d->file_path, &e))
        st = t0_fail(err, T0_EINVAL, "invalid file path: %s", e.msg);
    else if (names_validate_minio_path(s->minio_bucket, &e))
        st = t0_fail(err, T0_EINVAL, "invalid bucket name: %s", e.msg);
    else if (names_validate_minio_path(id, &e))
        st = t0_fail(err, T0_EINVAL, "invalid bot ID: %s", e.msg);
    else if (names_validate_minio_path(s->minio_state_bucket, &e))
        st = t0_fail(err, T0_EINVAL, "invalid state bucket name: %s", e.msg);
    else if (!(v->image = names_runtime_image(d->runtime)))
        st = t0_fail(err, T0_EINVAL,
                     "failed to get Docker image: unsupported runtime: \"%s\" (supported: " NAMES_SUPPORTED_RUNTIMES
                     ")",
                     d->runtime);
    /* Ours: refuse what the API server would reject (reference gap 14.6), naming the bot. */
    else if (!names_check_label_value(id, &e))
        st = t0_fail(err, T0_EINVAL, "invalid bot ID: label value %s", e.msg);
    else if (names_pod(id, v->pod_name, sizeof v->pod_name, &e) ||
             !names_check_subdomain(v->pod_name, NAMES_SUBDOMAIN_MAX, &e))
        st = t0_fail(err, T0_EINVAL, "invalid bot ID: pod name \"bot-%s\" %s", id, e.msg);
    if (st) {
        free(v->bot_config);
        v->bot_config = NULL;
        return st;
    }
    const char *ep = botdoc_entrypoint(d, "bot");
    v->entrypoint = ep ? ep : names_default_entrypoint(d->runtime);

    double val[4];
    for (int i = 0; i < 4; i++) {
        const cJSON *c = d->config ? t0_json_get(d->config, res_keys[i]) : NULL;
        v->res[i] = res_defaults[i];
        if (cJSON_IsString(c) && *c->valuestring && names_quantity_parse(c->valuestring, NULL))
            v->res[i] = c->valuestring; /* else: the reference's silent fallback to the default */
        names_quantity_parse(v->res[i], &val[i]);
        if (val[i] < 0) {
            st = t0_fail(err, T0_EINVAL, "invalid resources: %s \"%s\" is negative", res_keys[i],
                         v->res[i]);
            break;
        }
    }
    for (int i = 0; !st && i < 2; i++)
        if (val[i + 2] > val[i])
            st = t0_fail(err, T0_EINVAL, "invalid resources: %s %s exceeds %s %s", res_keys[i + 2],
                         v->res[i + 2], res_keys[i], v->res[i]);
    if (st) {
        free(v->bot_config);
        v->bot_config = NULL;
    }
    return st;
}

/* The pod spec of 7.5 (SCHEDULED=false) or 7.6 (true), with our hardening, into SPEC. */
static void pod_spec(const podgen_settings *s, const botdoc *d, const derived *v, bool scheduled, cJSON *spec,
                     bool *ok)
{
    str(spec, "restartPolicy", scheduled ? "Never" : "Always", ok);

    cJSON *inits = arr(spec, "initContainers", ok);
    cJSON *init = push_obj(inits, ok);
    str(init, "name", "init", ok);
    str(init, "image", s->runtime_image, ok);
    str(init, "imagePullPolicy", s->pull_policy, ok);
    strings(init, "command", (const char *const[]){"/app/runtime", "daemon", "init"}, 3, ok);
    strings(init, "args",
            (const char *const[]){"--bot-id", d->id, "--code-path", "/bot", "--state-path", "/state", "--code-file",
                                  d->file_path, "--runtime", d->runtime, "--entrypoint", v->entrypoint},
            12, ok);
    minio_env(s, init, ok);
    cJSON *m = arr(init, "volumeMounts", ok);
    mount(m, "bot-code", "/bot", ok);
    mount(m, "bot-state", "/state", ok);
    container_security(init, true, ok);

    cJSON *containers = arr(spec, "containers", ok);
    cJSON *bot = push_obj(containers, ok);
    str(bot, "name", "bot", ok);
    str(bot, "image", v->image, ok);
    str(bot, "imagePullPolicy", s->pull_policy, ok);
    strings(bot, "command", (const char *const[]){names_shell_for_image(v->image), "/bot/entrypoint.sh"}, 2, ok);
    str(bot, "workingDir", "/bot", ok);
    cJSON *env = arr(bot, "env", ok);
    env_value(env, "BOT_ID", d->id, ok);
    env_value(env, "BOT_CONFIG", v->bot_config, ok);
    env_value(env, "CODE_MOUNT_DIR", "/bot", ok);
    env_value(env, "STATE_DIR", "/state/.the0-state", ok);
    m = arr(bot, "volumeMounts", ok);
    mount(m, "bot-code", "/bot", ok);
    mount(m, "bot-state", "/state", ok);
    mount(m, "the0", "/var/the0", ok);
    resources(bot, v->res[0], v->res[1], v->res[2], v->res[3], false, ok);
    container_security(bot, false, ok); /* the bot may write /tmp */

    cJSON *sync = push_obj(containers, ok);
    str(sync, "name", "sync", ok);
    str(sync, "image", s->runtime_image, ok);
    str(sync, "imagePullPolicy", s->pull_policy, ok);
    strings(sync, "command", (const char *const[]){"/app/runtime", "daemon", "sync"}, 3, ok);
    /* The bot's done file ends a scheduled run (--watch-done); in both kinds SIGTERM first waits for it (the
     * bot writes while it stops), for the grace period less 30 s, and the sidecar's whole end takes the grace
     * period less 5 s: what is still unshipped then has 5 s before SIGKILL. */
    long grace = s->termination_grace_period_seconds;
    char wait[32], fin[32];
    snprintf(wait, sizeof wait, "%lds", grace > 30 ? grace - 30 : 0);
    snprintf(fin, sizeof fin, "%lds", grace > 6 ? grace - 5 : 1);
    strings(sync, "args",
            (const char *const[]){"--bot-id", d->id, "--state-path", "/state", "--logs-path", "/var/the0/logs",
                                  scheduled ? "--watch-done" : "--done-file", "/var/the0/done", "--done-wait", wait,
                                  "--final-timeout", fin},
            12, ok);
    minio_env(s, sync, ok);
    m = arr(sync, "volumeMounts", ok);
    mount(m, "bot-state", "/state", ok);
    mount(m, "the0", "/var/the0", ok);
    resources(sync, "64Mi", "100m", "32Mi", "10m", true, ok);
    container_security(sync, true, ok);

    cJSON *vols = arr(spec, "volumes", ok);
    static const char *const vol_names[] = {"bot-code", "bot-state", "the0"};
    for (int i = 0; i < 3; i++) {
        cJSON *vol = push_obj(vols, ok);
        str(vol, "name", vol_names[i], ok);
        obj(vol, "emptyDir", ok);
    }

    boolean(spec, "automountServiceAccountToken", false, ok);
    num(spec, "terminationGracePeriodSeconds", (double)s->termination_grace_period_seconds, ok);
    cJSON *psc = obj(spec, "securityContext", ok);
    boolean(psc, "runAsNonRoot", true, ok);
    num(psc, "runAsUser", 1000, ok);
    num(psc, "runAsGroup", 1000, ok);
    num(psc, "fsGroup", 1000, ok);
    str(obj(psc, "seccompProfile", ok), "type", "RuntimeDefault", ok);
}

/* Put HASH_KEY=HASH_VAL and the spec hash of ROOT (computed without annotations) into ANN. */
static t0_status add_hashes(cJSON *root, cJSON *ann, const char *hash_key, const char *hash_val, t0_err *err)
{
    char spec_hash[HASH_HEX_LEN + 1];
    t0_err e = {0};
    t0_status st = hash_spec(root, spec_hash, &e); /* covers all but metadata.annotations, where the hashes go */
    if (st) return t0_fail(err, st, "%s", e.msg);
    bool ok = true;
    str(ann, hash_key, hash_val, &ok);
    str(ann, HASH_ANN_SPEC, spec_hash, &ok);
    return ok ? T0_OK : t0_fail(err, T0_ENOMEM, "out of memory");
}

t0_status podgen_pod(const podgen_settings *s, const botdoc *d, cJSON **out, t0_err *err)
{
    derived v;
    t0_err e = {0};
    t0_status st = derive(s, d, &v, &e);
    if (st) return t0_fail(err, st, "bot %s: %s", d->id, e.msg);
    if (!names_check_label_value(d->version, &e)) {
        free(v.bot_config);
        return t0_fail(err, T0_EINVAL, "bot %s: invalid custom bot version \"%s\": label value %s", d->id, d->version,
                       e.msg);
    }
    char cbid[NAMES_LABEL_MAX + 1], chash[HASH_HEX_LEN + 1];
    names_custom_bot_id(d->name, d->id, cbid);
    hash_config_doc(d, chash);

    bool ok = true;
    cJSON *root = cJSON_CreateObject();
    if (!root) ok = false;
    str(root, "apiVersion", "v1", &ok);
    str(root, "kind", "Pod", &ok);
    cJSON *md = obj(root, "metadata", &ok);
    str(md, "name", v.pod_name, &ok);
    str(md, "namespace", s->namespace, &ok);
    cJSON *labels = obj(md, "labels", &ok);
    str(labels, LBL "bot-id", d->id, &ok);
    str(labels, LBL "custom-bot-id", cbid, &ok);
    str(labels, LBL "custom-bot-version", d->version, &ok);
    str(labels, LBL "runtime", d->runtime, &ok);
    str(labels, LBL "managed-by", s->bot_controller_name, &ok);
    cJSON *ann = obj(md, "annotations", &ok);
    pod_spec(s, d, &v, false, obj(root, "spec", &ok), &ok);
    free(v.bot_config);
    if (!ok) {
        cJSON_Delete(root);
        return t0_fail(err, T0_ENOMEM, "bot %s: out of memory building the pod", d->id);
    }
    st = add_hashes(root, ann, HASH_ANN_CONFIG, chash, &e);
    if (st) {
        t0_fail(err, st, "bot %s: %s", d->id, e.msg);
        cJSON_Delete(root);
        return st;
    }
    *out = root;
    return T0_OK;
}

t0_status podgen_cronjob(const podgen_settings *s, const botdoc *d, cJSON **out, t0_err *err)
{
    const char *id = d->id;
    const char *sched = botdoc_schedule(d);
    if (!sched || !*sched) return t0_fail(err, T0_EINVAL, "schedule %s has no cron expression", id);
    t0_err e = {0};
    cronexpr ce;
    if (cronexpr_parse(sched, &ce, &e)) return t0_fail(err, T0_EINVAL, "schedule %s: %s", id, e.msg);
    char conv[512];
    if (names_convert_cron(sched, conv, sizeof conv, &e)) return t0_fail(err, T0_EINVAL, "schedule %s: %s", id, e.msg);

    derived v;
    if (derive(s, d, &v, &e))
        return t0_fail(err, e.code, "schedule %s: failed to create CronJob spec: failed to generate pod spec: %s", id,
                       e.msg);
    char name[NAMES_CRONJOB_MAX + 1];
    names_cronjob(id, name);
    t0_status st = T0_OK;
    if (!names_check_subdomain(name, NAMES_CRONJOB_MAX, &e))
        st = t0_fail(err, T0_EINVAL, "schedule %s: invalid CronJob name \"%s\": %s", id, name, e.msg);
    else if (!names_check_label_value(d->name, &e))
        st = t0_fail(err, T0_EINVAL, "schedule %s: invalid custom bot name \"%s\" for label " LBL "custom-bot-id: %s", id,
                     d->name, e.msg);
    if (st) {
        free(v.bot_config);
        return st;
    }
    char shash[HASH_HEX_LEN + 1];
    hash_config_doc(d, shash);

    bool ok = true;
    cJSON *root = cJSON_CreateObject();
    if (!root) ok = false;
    str(root, "apiVersion", "batch/v1", &ok);
    str(root, "kind", "CronJob", &ok);
    cJSON *md = obj(root, "metadata", &ok);
    str(md, "name", name, &ok);
    str(md, "namespace", s->namespace, &ok);
    cJSON *labels = obj(md, "labels", &ok);
    str(labels, LBL "schedule-id", id, &ok);
    str(labels, LBL "custom-bot-id", d->name, &ok);
    str(labels, LBL "runtime", d->runtime, &ok);
    str(labels, LBL "managed-by", s->schedule_controller_name, &ok);
    cJSON *ann = obj(md, "annotations", &ok);
    cJSON *spec = obj(root, "spec", &ok);
    str(spec, "schedule", conv, &ok);
    str(spec, "concurrencyPolicy", "Forbid", &ok);
    num(spec, "successfulJobsHistoryLimit", 3, &ok);
    num(spec, "failedJobsHistoryLimit", 1, &ok);
    num(spec, "startingDeadlineSeconds", (double)s->starting_deadline_seconds, &ok);
    cJSON *jspec = obj(obj(spec, "jobTemplate", &ok), "spec", &ok);
    num(jspec, "backoffLimit", 2, &ok);
    num(jspec, "activeDeadlineSeconds", (double)s->active_deadline_seconds, &ok);
    cJSON *tmpl = obj(jspec, "template", &ok);
    cJSON *tl = obj(obj(tmpl, "metadata", &ok), "labels", &ok);
    str(tl, LBL "schedule-id", id, &ok);
    str(tl, LBL "custom-bot-id", d->name, &ok);
    str(tl, LBL "managed-by", s->schedule_controller_name, &ok);
    str(tl, LBL "bot-id", id, &ok);
    pod_spec(s, d, &v, true, obj(tmpl, "spec", &ok), &ok);
    free(v.bot_config);
    if (!ok) {
        cJSON_Delete(root);
        return t0_fail(err, T0_ENOMEM, "schedule %s: out of memory building the CronJob", id);
    }
    st = add_hashes(root, ann, HASH_ANN_SCHEDULE, shash, &e);
    if (st) {
        t0_fail(err, st, "schedule %s: %s", id, e.msg);
        cJSON_Delete(root);
        return st;
    }
    *out = root;
    return T0_OK;
}

const char *podgen_annotation(const cJSON *o, const char *key)
{
    const cJSON *ann = t0_json_get(t0_json_get(o, "metadata"), "annotations");
    const cJSON *v = t0_json_get(ann, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool needs(const cJSON *ann, const char *key, const char *want_hash, const char *want_spec)
{
    const cJSON *h = t0_json_get(ann, key);
    if (!cJSON_IsString(h) || strcmp(h->valuestring, want_hash)) return true;
    const cJSON *sp = t0_json_get(ann, HASH_ANN_SPEC);
    if (!sp) return false; /* made by the Go controller (or before spec hashes): adopt */
    return !cJSON_IsString(sp) || strcmp(sp->valuestring, want_spec) != 0;
}

bool podgen_needs_replace(const cJSON *ann, const char *want_config_hash, const char *want_spec_hash)
{
    return needs(ann, HASH_ANN_CONFIG, want_config_hash, want_spec_hash);
}

bool podgen_cronjob_needs_update(const cJSON *ann, const char *want_schedule_hash, const char *want_spec_hash)
{
    return needs(ann, HASH_ANN_SCHEDULE, want_schedule_hash, want_spec_hash);
}
