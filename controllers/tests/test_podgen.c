/* test_podgen.c: Pod and CronJob generation against golden JSON and the reference's examples (7.5, 6.4),
 * every validation error of reference 7.3 and our extra checks, and the replace rule. */
#include <criterion/criterion.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/botdoc.h"
#include "domain/hash.h"
#include "controllers/podgen.h"

static cJSON *load_json(const char *name)
{
    char src[512], path[600];
    snprintf(src, sizeof src, "%s", __FILE__);
    snprintf(path, sizeof path, "%s/golden/%s", dirname(src), name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s (run the tests from the repository root)", path);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *v = cJSON_Parse(buf);
    cr_assert_not_null(v, "%s is not valid JSON", path);
    return v;
}

static botdoc *load_doc(const char *name)
{
    cJSON *j = load_json(name);
    botdoc *d = NULL;
    t0_err err = {0};
    cr_assert_eq(botdoc_parse(j, &d, &err), T0_OK, "%s", err.msg);
    cJSON_Delete(j);
    return d;
}

static botdoc *doc(const char *json)
{
    botdoc *d = NULL;
    t0_err err = {0};
    cr_assert_eq(botdoc_parse_text(json, strlen(json), &d, &err), T0_OK, "%s: %s", json, err.msg);
    return d;
}

/* Structural comparison; both objects are printed when they differ. */
static void assert_same(const cJSON *got, const cJSON *want, const char *what)
{
    if (cJSON_Compare(got, want, 1)) return;
    char *g = cJSON_Print(got), *w = cJSON_Print(want);
    fprintf(stderr, "%s differs from the expected object\n--- got:\n%s\n--- want:\n%s\n", what, g, w);
    free(g);
    free(w);
    cr_assert_fail("%s differs from the expected object (both printed above)", what);
}

static void settings_7_5(podgen_settings *s)
{
    podgen_settings_defaults(s);
    s->minio_endpoint = "the0-minio:9000";
    s->minio_access_key = "AK";
    s->minio_secret_key = "SK";
}

/* Remove the sidecar's options we add (the bot's done file waited for after SIGTERM, and the bounds of the end:
 * issue 14 point 5) from CONTAINER's args. */
static void strip_sync_additions(cJSON *container)
{
    cJSON *args = cJSON_GetObjectItemCaseSensitive(container, "args");
    for (int i = 0; i + 1 < cJSON_GetArraySize(args);) {
        const char *a = cJSON_GetArrayItem(args, i)->valuestring;
        if (!strcmp(a, "--done-file") || !strcmp(a, "--done-wait") || !strcmp(a, "--final-timeout")) {
            cJSON_DeleteItemFromArray(args, i);
            cJSON_DeleteItemFromArray(args, i);
        } else {
            i++;
        }
    }
}

/* Remove our additions (hardening, spec hash, sidecar options) from a generated pod spec. */
static void strip_pod_spec(cJSON *spec)
{
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "securityContext");
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "automountServiceAccountToken");
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "terminationGracePeriodSeconds");
    const char *lists[] = {"initContainers", "containers"};
    for (int i = 0; i < 2; i++) {
        cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(spec, lists[i])) {
            cJSON *sc = cJSON_DetachItemFromObjectCaseSensitive(c, "securityContext");
            cr_assert_not_null(sc, "container without securityContext");
            cJSON_Delete(sc);
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "name");
            if (cJSON_IsString(name) && !strcmp(name->valuestring, "sync")) strip_sync_additions(c);
        }
    }
}

Test(podgen, golden_pod)
{
    podgen_settings s;
    podgen_settings_defaults(&s);
    s.minio_endpoint = "the0-minio:9000";
    botdoc *d = load_doc("bot_ck9x2abc.json");
    cJSON *pod = NULL, *want = load_json("pod_ck9x2abc.json");
    t0_err err = {0};
    cr_assert_eq(podgen_pod(&s, d, &pod, &err), T0_OK, "%s", err.msg);
    assert_same(pod, want, "pod for ck9x2abc");
    /* the spec-hash annotation is the spec hash of the object itself */
    char h[HASH_HEX_LEN + 1];
    cr_assert_eq(hash_spec(pod, h, NULL), T0_OK);
    cr_assert_str_eq(podgen_annotation(pod, HASH_ANN_SPEC), h);
    cr_assert_str_eq(podgen_annotation(pod, HASH_ANN_CONFIG), "fcf3feb59f919e2d");
    cJSON_Delete(pod);
    cJSON_Delete(want);
    botdoc_destroy(d);
}

Test(podgen, reference_7_5_apart_from_hardening)
{
    podgen_settings s;
    settings_7_5(&s);
    s.plain_credentials = true;
    s.minio_use_ssl = false;
    botdoc *d = load_doc("bot_ck9x2abc.json");
    cJSON *pod = NULL, *want = load_json("pod_ck9x2abc_reference.json");
    t0_err err = {0};
    cr_assert_eq(podgen_pod(&s, d, &pod, &err), T0_OK, "%s", err.msg);
    /* the hardening is there ... */
    cJSON *spec = cJSON_GetObjectItem(pod, "spec");
    cJSON *psc = cJSON_GetObjectItem(spec, "securityContext");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(psc, "runAsNonRoot")));
    cr_assert_eq(cJSON_GetObjectItem(psc, "runAsUser")->valuedouble, 1000);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(psc, "seccompProfile"), "type")->valuestring, "RuntimeDefault");
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(spec, "automountServiceAccountToken")));
    cr_assert_eq(cJSON_GetObjectItem(spec, "terminationGracePeriodSeconds")->valuedouble, 90);
    cJSON *bot = cJSON_GetArrayItem(cJSON_GetObjectItem(spec, "containers"), 0);
    cJSON *sync = cJSON_GetArrayItem(cJSON_GetObjectItem(spec, "containers"), 1);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(bot, "securityContext"), "readOnlyRootFilesystem")));
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(sync, "securityContext"), "readOnlyRootFilesystem")));
    /* ... and everything else is the reference's object */
    strip_pod_spec(spec);
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItem(cJSON_GetObjectItem(pod, "metadata"), "annotations"),
                                            HASH_ANN_SPEC);
    assert_same(pod, want, "pod minus hardening vs reference 7.5");
    cJSON_Delete(pod);
    cJSON_Delete(want);
    botdoc_destroy(d);
}

Test(podgen, golden_cronjob)
{
    podgen_settings s;
    podgen_settings_defaults(&s);
    s.minio_endpoint = "the0-minio:9000";
    botdoc *d = load_doc("schedule_ck9sched01.json");
    cJSON *cj = NULL, *want = load_json("cronjob_ck9sched01.json");
    t0_err err = {0};
    cr_assert_eq(podgen_cronjob(&s, d, &cj, &err), T0_OK, "%s", err.msg);
    assert_same(cj, want, "cronjob for ck9sched01");
    cr_assert_str_eq(podgen_annotation(cj, HASH_ANN_SCHEDULE), "b9e5d29b930cccfc");
    cJSON_Delete(cj);
    cJSON_Delete(want);
    botdoc_destroy(d);
}

/* The CronJob of reference 6.4, built from its text and the 7.5 pod with the 7.6 changes. */
Test(podgen, reference_6_4_apart_from_additions)
{
    podgen_settings s;
    settings_7_5(&s);
    s.plain_credentials = true;
    botdoc *d = load_doc("schedule_ck9sched01.json");
    cJSON *cj = NULL;
    t0_err err = {0};
    cr_assert_eq(podgen_cronjob(&s, d, &cj, &err), T0_OK, "%s", err.msg);

    cJSON *want = cJSON_Parse("{\"apiVersion\":\"batch/v1\",\"kind\":\"CronJob\",\"metadata\":{"
                              "\"name\":\"schedule-ck9sched01\",\"namespace\":\"the0\",\"labels\":{"
                              "\"the0.dev/schedule-id\":\"ck9sched01\",\"the0.dev/custom-bot-id\":\"daily-report\","
                              "\"the0.dev/runtime\":\"python3.11\",\"the0.dev/managed-by\":\"the0-schedule-controller\"},"
                              "\"annotations\":{\"the0.dev/schedule-hash\":\"b9e5d29b930cccfc\"}},"
                              "\"spec\":{\"schedule\":\"0 9 * * *\",\"concurrencyPolicy\":\"Forbid\","
                              "\"successfulJobsHistoryLimit\":3,\"failedJobsHistoryLimit\":1,"
                              "\"jobTemplate\":{\"spec\":{\"backoffLimit\":2,\"template\":{\"metadata\":{\"labels\":{"
                              "\"the0.dev/schedule-id\":\"ck9sched01\",\"the0.dev/custom-bot-id\":\"daily-report\","
                              "\"the0.dev/managed-by\":\"the0-schedule-controller\",\"the0.dev/bot-id\":\"ck9sched01\"}}}}}}}");
    cr_assert_not_null(want);
    /* pod spec: 7.5 for this schedule, restartPolicy Never, sync gets --watch-done /var/the0/done */
    cJSON *ref = load_json("pod_ck9x2abc_reference.json");
    cJSON *pspec = cJSON_DetachItemFromObject(ref, "spec");
    cJSON_Delete(ref);
    char *text = cJSON_PrintUnformatted(pspec);
    cJSON_Delete(pspec);
    /* same layout, other id, code file and config */
    struct {
        const char *from, *to;
    } subst[] = {{"ck9x2abc", "ck9sched01"}, {"u1/price-alerts/1.0.0", "u1/daily-report/1.0.0"}};
    for (size_t k = 0; k < 2; k++) {
        char *p;
        while ((p = strstr(text, subst[k].from))) {
            size_t fl = strlen(subst[k].from), tl = strlen(subst[k].to), n = strlen(text);
            char *nt = malloc(n - fl + tl + 1);
            memcpy(nt, text, (size_t)(p - text));
            memcpy(nt + (p - text), subst[k].to, tl);
            strcpy(nt + (p - text) + tl, p + fl);
            free(text);
            text = nt;
        }
    }
    pspec = cJSON_Parse(text);
    free(text);
    cJSON_ReplaceItemInObject(pspec, "restartPolicy", cJSON_CreateString("Never"));
    cJSON *containers = cJSON_GetObjectItem(pspec, "containers");
    cJSON *botc = cJSON_GetArrayItem(containers, 0);
    cJSON *env1 = cJSON_GetArrayItem(cJSON_GetObjectItem(botc, "env"), 1);
    cJSON_ReplaceItemInObject(env1, "value",
                              cJSON_CreateString("{\"schedule\":\"0 9 * * *\",\"type\":\"scheduled/daily-report\","
                                                 "\"version\":\"1.0.0\"}"));
    cJSON *sargs = cJSON_GetObjectItem(cJSON_GetArrayItem(containers, 1), "args");
    cJSON_AddItemToArray(sargs, cJSON_CreateString("--watch-done"));
    cJSON_AddItemToArray(sargs, cJSON_CreateString("/var/the0/done"));
    cJSON_AddItemToObject(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(want, "spec"),
                                                                                       "jobTemplate"),
                                                                   "spec"),
                                              "template"),
                          "spec", pspec);

    /* our additions are there, then removed */
    cJSON *spec = cJSON_GetObjectItem(cj, "spec");
    cr_assert_eq(cJSON_GetObjectItem(spec, "startingDeadlineSeconds")->valuedouble, 300);
    cJSON_DeleteItemFromObject(spec, "startingDeadlineSeconds");
    cJSON *jspec = cJSON_GetObjectItem(cJSON_GetObjectItem(spec, "jobTemplate"), "spec");
    cr_assert_eq(cJSON_GetObjectItem(jspec, "activeDeadlineSeconds")->valuedouble, 3600);
    cJSON_DeleteItemFromObject(jspec, "activeDeadlineSeconds");
    strip_pod_spec(cJSON_GetObjectItem(cJSON_GetObjectItem(jspec, "template"), "spec"));
    cr_assert_not_null(podgen_annotation(cj, HASH_ANN_SPEC));
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(cJSON_GetObjectItem(cj, "metadata"), "annotations"), HASH_ANN_SPEC);
    assert_same(cj, want, "cronjob minus additions vs reference 6.4/7.6");
    cJSON_Delete(cj);
    cJSON_Delete(want);
    botdoc_destroy(d);
}

/* ---- validation (reference 7.3, in order, then ours) ---- */

#define BOT(id, cfg, path, runtime)                                                                                   \
    "{\"id\":\"" id "\",\"config\":" cfg ",\"custom\":{\"version\":\"1.0.0\",\"filePath\":\"" path                   \
    "\",\"config\":{\"name\":\"n\",\"runtime\":\"" runtime "\",\"entrypoints\":{\"bot\":\"main.py\"}}}}"

static void pod_fails(const podgen_settings *s, const char *json, const char *want)
{
    botdoc *d = doc(json);
    cJSON *out = (cJSON *)0x1;
    t0_err err = {0};
    cr_assert_eq(podgen_pod(s, d, &out, &err), T0_EINVAL, "%s should fail", json);
    cr_assert_eq(out, (cJSON *)0x1, "out untouched on error");
    cr_assert_str_eq(err.msg, want);
    botdoc_destroy(d);
}

static cJSON *pod_ok(const podgen_settings *s, const char *json)
{
    botdoc *d = doc(json);
    cJSON *out = NULL;
    t0_err err = {0};
    cr_assert_eq(podgen_pod(s, d, &out, &err), T0_OK, "%s: %s", json, err.msg);
    botdoc_destroy(d);
    return out;
}

Test(podgen, err_marshal_config)
{
    podgen_settings s;
    podgen_settings_defaults(&s);
    botdoc *d = doc(BOT("b1", "{}", "u/p/1", "python3.11"));
    cJSON_AddNumberToObject(d->config, "x", 1.0 / 0.0);
    cJSON *out = NULL;
    t0_err err = {0};
    cr_assert_eq(podgen_pod(&s, d, &out, &err), T0_EINVAL);
    cr_assert_str_eq(err.msg, "bot b1: failed to marshal bot config: json: unsupported value: +Inf");
    botdoc_destroy(d);
}

Test(podgen, err_file_path)
{
    podgen_settings s;
    podgen_settings_defaults(&s);
    pod_fails(&s, BOT("b1", "{}", "u/p q/1", "python3.11"),
              "bot b1: invalid file path: invalid character ' ' in MinIO path");
    pod_fails(&s, BOT("b1", "{}", "u/$(x)", "python3.11"),
              "bot b1: invalid file path: invalid character '$' in MinIO path");
}

Test(podgen, err_bucket)
{
    podgen_settings s;
    podgen_settings_defaults(&s);
    s.minio_bucket = "bad;bucket";
    pod_fails(&s, BOT("b1", "{}", "u/p/1", "python3.11"),
              "bot b1: invalid bucket name: invalid character ';' in MinIO path");
}

Test(podgen, err_bot_id)
{
    podgen_settings s;
    podgen_settings_defaults(&s);
    pod_fails(&s, BOT("b|1", "{}", "u/p/1", "python3.11"), "bot b|1: invalid bot ID: invalid character '|' in MinIO path");
}

Test(podgen, err_state_bucket)
{
    podgen_settings s;
    podgen_settings_defaults(&s);
    s.minio_state_bucket = "state&";
    pod_fails(&s, BOT("b1", "{}", "u/p/1", "python3.11"),
              "bot b1: invalid state bucket name: invalid character '&' in MinIO path");
}

Test(podgen, err_runtime_unsupported_and_empty)
{
    podgen_settings s;
    podgen_settings_defaults(&s);
    pod_fails(&s, BOT("b1", "{}", "u/p/1", "java17"),
              "bot b1: failed to get Docker image: unsupported runtime: \"java17\" (supported: cpp-gcc13, dotnet8, gcc13, "
              "ghc96, nodejs20, python3.11, rust-stable, scala3)");
    pod_fails(&s, BOT("b1", "{}", "u/p/1", ""),
              "bot b1: failed to get Docker image: unsupported runtime: \"\" (supported: cpp-gcc13, dotnet8, gcc13, "
              "ghc96, nodejs20, python3.11, rust-stable, scala3)");
    pod_fails(&s, "{\"id\":\"b1\"}",
              "bot b1: failed to get Docker image: unsupported runtime: \"\" (supported: cpp-gcc13, dotnet8, gcc13, "
              "ghc96, nodejs20, python3.11, rust-stable, scala3)");
}

Test(podgen, err_order_follows_reference)
{
    podgen_settings s;
    podgen_settings_defaults(&s);
    s.minio_bucket = "b b";
    /* file path before bucket before id before runtime */
    pod_fails(&s, BOT("b'1", "{}", "u p", "nope"), "bot b'1: invalid file path: invalid character ' ' in MinIO path");
    pod_fails(&s, BOT("b'1", "{}", "u/p", "nope"), "bot b'1: invalid bucket name: invalid character ' ' in MinIO path");
    s.minio_bucket = "ok";
    pod_fails(&s, BOT("b'1", "{}", "u/p", "nope"), "bot b'1: invalid bot ID: invalid character ''' in MinIO path");
}

Test(podgen, extra_invalid_pod_name_and_label)
{
    podgen_settings s;
    podgen_settings_defaults(&s);
    pod_fails(&s, BOT("Ck9X", "{}", "u/p/1", "python3.11"),
              "bot Ck9X: invalid bot ID: pod name \"bot-Ck9X\" must be a DNS-1123 subdomain: lowercase letters, digits, "
              "'-' or '.' (has byte 0x43 at 4)");
    pod_fails(&s, BOT("ab_c", "{}", "u/p/1", "python3.11"),
              "bot ab_c: invalid bot ID: pod name \"bot-ab_c\" must be a DNS-1123 subdomain: lowercase letters, digits, "
              "'-' or '.' (has byte 0x5f at 6)");
    pod_fails(&s, BOT("abc-", "{}", "u/p/1", "python3.11"),
              "bot abc-: invalid bot ID: label value must start and end with a letter or digit");
    pod_fails(&s, BOT("abc.-x", "{}", "u/p/1", "python3.11"),
              "bot abc.-x: invalid bot ID: pod name \"bot-abc.-x\" must be a DNS-1123 subdomain: each part must start "
              "and end with a lowercase letter or digit");
    char id[80], json[600], want[300];
    memset(id, 'a', 64);
    id[64] = '\0';
    snprintf(json, sizeof json, BOT("%s", "{}", "u/p/1", "python3.11"), id);
    snprintf(want, sizeof want, "bot %s: invalid bot ID: label value must be at most 63 characters (has 64)", id);
    pod_fails(&s, json, want);
}

Test(podgen, extra_invalid_version_label)
{
    podgen_settings s;
    podgen_settings_defaults(&s);
    pod_fails(&s,
              "{\"id\":\"b1\",\"custom\":{\"version\":\"1.0.0+build\",\"config\":{\"runtime\":\"python3.11\"}}}",
              "bot b1: invalid custom bot version \"1.0.0+build\": label value must consist of letters, digits, '-', '_' "
              "or '.' (has byte 0x2b at 5)");
}

Test(podgen, extra_resources_checks)
{
    podgen_settings s;
    podgen_settings_defaults(&s);
    pod_fails(&s, BOT("b1", "{\"cpu_limit\":\"-1\"}", "u/p/1", "python3.11"),
              "bot b1: invalid resources: cpu_limit \"-1\" is negative");
    pod_fails(&s, BOT("b1", "{\"memory_request\":\"1Gi\"}", "u/p/1", "python3.11"),
              "bot b1: invalid resources: memory_request 1Gi exceeds memory_limit 512Mi");
    pod_fails(&s, BOT("b1", "{\"cpu_request\":\"2\",\"cpu_limit\":\"1500m\"}", "u/p/1", "python3.11"),
              "bot b1: invalid resources: cpu_request 2 exceeds cpu_limit 1500m");
}

static const char *res_of(cJSON *pod, const char *kind, const char *what)
{
    cJSON *bot = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(pod, "spec"), "containers"), 0);
    return cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(bot, "resources"), kind), what)->valuestring;
}

Test(podgen, resources_from_config_and_fallbacks)
{
    podgen_settings s;
    podgen_settings_defaults(&s);
    cJSON *p = pod_ok(&s, BOT("b1", "{\"memory_limit\":\"1Gi\",\"cpu_limit\":\"2\",\"memory_request\":\"256M\","
                                    "\"cpu_request\":\"0.5\"}", "u/p/1", "python3.11"));
    cr_assert_str_eq(res_of(p, "limits", "memory"), "1Gi");
    cr_assert_str_eq(res_of(p, "limits", "cpu"), "2");
    cr_assert_str_eq(res_of(p, "requests", "memory"), "256M");
    cr_assert_str_eq(res_of(p, "requests", "cpu"), "0.5");
    cJSON_Delete(p);
    /* not a string, empty, or not a quantity: the default, silently (reference 7.2) */
    p = pod_ok(&s, BOT("b1", "{\"memory_limit\":1024,\"cpu_limit\":\"\",\"memory_request\":\"abc\",\"cpu_request\":"
                            "\"1 m\"}", "u/p/1", "python3.11"));
    cr_assert_str_eq(res_of(p, "limits", "memory"), "512Mi");
    cr_assert_str_eq(res_of(p, "limits", "cpu"), "500m");
    cr_assert_str_eq(res_of(p, "requests", "memory"), "128Mi");
    cr_assert_str_eq(res_of(p, "requests", "cpu"), "100m");
    cJSON_Delete(p);
}

static const char *init_arg(cJSON *pod, int i)
{
    cJSON *init = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(pod, "spec"), "initContainers"), 0);
    return cJSON_GetArrayItem(cJSON_GetObjectItem(init, "args"), i)->valuestring;
}

static const char *label(cJSON *o, const char *k)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "labels"), k)->valuestring;
}

Test(podgen, entrypoint_and_custom_bot_id)
{
    podgen_settings s;
    podgen_settings_defaults(&s);
    cJSON *p = pod_ok(&s, "{\"id\":\"abcdefghijk\",\"custom\":{\"config\":{\"runtime\":\"nodejs20\"}}}");
    cr_assert_str_eq(init_arg(p, 11), "index.js");
    cr_assert_str_eq(label(p, "the0.dev/custom-bot-id"), "abcdefgh");
    cr_assert_str_eq(label(p, "the0.dev/custom-bot-version"), "");
    cJSON *env = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "spec"), "containers"), 0), "env");
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(env, 1), "value")->valuestring, "null");
    cJSON_Delete(p);
    p = pod_ok(&s, "{\"id\":\"b1\",\"custom\":{\"config\":{\"name\":\"--My Bot!--\",\"runtime\":\"rust-stable\","
                   "\"entrypoints\":{\"bot\":\"\"}}}}");
    cr_assert_str_eq(init_arg(p, 11), ""); /* key present, even empty, wins */
    cr_assert_str_eq(label(p, "the0.dev/custom-bot-id"), "MyBot");
    cJSON_Delete(p);
    p = pod_ok(&s, "{\"id\":\"b1\",\"custom\":{\"config\":{\"runtime\":\"gcc13\"}}}");
    cr_assert_str_eq(init_arg(p, 11), "main");
    cJSON_Delete(p);
}

Test(podgen, settings_flow_into_object)
{
    podgen_settings s;
    podgen_settings_defaults(&s);
    s.namespace = "prod";
    s.runtime_image = "ghcr.io/x/runtime:1";
    s.pull_policy = "Always";
    s.minio_use_ssl = true;
    s.minio_secret_name = "creds";
    s.termination_grace_period_seconds = 120;
    cJSON *p = pod_ok(&s, BOT("b1", "{}", "u/p/1", "cpp-gcc13"));
    char *t = cJSON_PrintUnformatted(p);
    cr_assert(strstr(t, "\"namespace\":\"prod\""), "%s", t);
    cr_assert(strstr(t, "\"image\":\"ghcr.io/x/runtime:1\",\"imagePullPolicy\":\"Always\""), "%s", t);
    cr_assert(strstr(t, "\"image\":\"the0/gcc13:latest\",\"imagePullPolicy\":\"Always\""), "%s", t);
    cr_assert(strstr(t, "{\"name\":\"MINIO_USE_SSL\",\"value\":\"true\"}"), "%s", t);
    cr_assert(strstr(t, "\"secretKeyRef\":{\"name\":\"creds\",\"key\":\"secret-key\"}"), "%s", t);
    cr_assert(strstr(t, "\"terminationGracePeriodSeconds\":120"), "%s", t);
    cr_assert_null(strstr(t, "\"value\":\"\""), "no empty credential values: %s", t);
    free(t);
    cJSON_Delete(p);
}

/* ---- the spec hash and the replace rule ---- */

static void hashes(const podgen_settings *s, const char *json, char cfg[17], char spec[17])
{
    cJSON *p = pod_ok(s, json);
    strcpy(cfg, podgen_annotation(p, HASH_ANN_CONFIG));
    strcpy(spec, podgen_annotation(p, HASH_ANN_SPEC));
    cJSON_Delete(p);
}

Test(podgen, spec_hash_covers_what_config_hash_misses)
{
    podgen_settings s;
    podgen_settings_defaults(&s);
    char c0[17], s0[17], c1[17], s1[17];
    hashes(&s, BOT("b1", "{\"a\":1}", "u/p/1", "python3.11"), c0, s0);
    /* code path, runtime: config hash unchanged (reference), spec hash changes (ours) */
    hashes(&s, BOT("b1", "{\"a\":1}", "u/p/2", "python3.11"), c1, s1);
    cr_assert_str_eq(c0, c1);
    cr_assert_str_neq(s0, s1);
    hashes(&s, BOT("b1", "{\"a\":1}", "u/p/1", "nodejs20"), c1, s1);
    cr_assert_str_eq(c0, c1);
    cr_assert_str_neq(s0, s1);
    /* a controller setting */
    s.runtime_image = "runtime:2";
    hashes(&s, BOT("b1", "{\"a\":1}", "u/p/1", "python3.11"), c1, s1);
    cr_assert_str_eq(c0, c1);
    cr_assert_str_neq(s0, s1);
    /* same input, same hashes */
    podgen_settings_defaults(&s);
    hashes(&s, BOT("b1", "{\"a\":1}", "u/p/1", "python3.11"), c1, s1);
    cr_assert_str_eq(c0, c1);
    cr_assert_str_eq(s0, s1);
}

Test(podgen, needs_replace_rule)
{
    cJSON *ann = cJSON_Parse("{\"the0.dev/config-hash\":\"c1\",\"the0.dev/spec-hash\":\"s1\"}");
    cr_assert_not(podgen_needs_replace(ann, "c1", "s1"));
    cr_assert(podgen_needs_replace(ann, "c2", "s1"));
    cr_assert(podgen_needs_replace(ann, "c1", "s2"));
    cJSON *go = cJSON_Parse("{\"the0.dev/config-hash\":\"c1\"}"); /* made by the Go controller */
    cr_assert_not(podgen_needs_replace(go, "c1", "s9"));
    cr_assert(podgen_needs_replace(go, "c2", "s9"));
    cr_assert(podgen_needs_replace(NULL, "c1", "s1"));
    cJSON *cj = cJSON_Parse("{\"the0.dev/schedule-hash\":\"h\"}");
    cr_assert_not(podgen_cronjob_needs_update(cj, "h", "s"));
    cr_assert(podgen_cronjob_needs_update(cj, "h2", "s"));
    cr_assert(podgen_cronjob_needs_update(ann, "c1", "s1")); /* no schedule-hash */
    cJSON_Delete(ann);
    cJSON_Delete(go);
    cJSON_Delete(cj);
}

/* ---- CronJob checks ---- */

#define SCHED(id, sched, name)                                                                                        \
    "{\"id\":\"" id "\",\"config\":{\"schedule\":" sched "},\"custom\":{\"version\":\"1\",\"filePath\":\"u/p/1\","    \
    "\"config\":{\"name\":\"" name "\",\"runtime\":\"python3.11\"}}}"

static void cron_fails(const char *json, const char *want)
{
    podgen_settings s;
    podgen_settings_defaults(&s);
    botdoc *d = doc(json);
    cJSON *out = NULL;
    t0_err err = {0};
    cr_assert_eq(podgen_cronjob(&s, d, &out, &err), T0_EINVAL, "%s should fail", json);
    cr_assert_null(out);
    cr_assert_str_eq(err.msg, want);
    botdoc_destroy(d);
}

static cJSON *cron_ok(const char *json)
{
    podgen_settings s;
    podgen_settings_defaults(&s);
    botdoc *d = doc(json);
    cJSON *out = NULL;
    t0_err err = {0};
    cr_assert_eq(podgen_cronjob(&s, d, &out, &err), T0_OK, "%s: %s", json, err.msg);
    botdoc_destroy(d);
    return out;
}

static const char *sched_of(cJSON *cj) { return cJSON_GetObjectItem(cJSON_GetObjectItem(cj, "spec"), "schedule")->valuestring; }

Test(podgen, cronjob_schedule_checks)
{
    cron_fails("{\"id\":\"s1\",\"config\":{}}", "schedule s1 has no cron expression");
    cron_fails(SCHED("s1", "\"\"", "n"), "schedule s1 has no cron expression");
    cron_fails(SCHED("s1", "5", "n"), "schedule s1 has no cron expression");
    cron_fails(SCHED("s1", "\"@every 5m\"", "n"),
               "schedule s1: cron expression \"@every 5m\": @every is not supported by Kubernetes CronJobs");
    cron_fails(SCHED("s1", "\"TZ=UTC 0 9 * * *\"", "n"),
               "schedule s1: cron expression \"TZ=UTC 0 9 * * *\": TZ= and CRON_TZ= prefixes are not supported");
    cron_fails(SCHED("s1", "\"60 9 * * *\"", "n"), "schedule s1: cron expression \"60 9 * * *\": minute value 60 out of range 0-59");
    cron_fails(SCHED("s1", "\"0 9 * *\"", "n"),
               "schedule s1: cron expression \"0 9 * *\": expected 5 fields (or 6 with seconds), found 4");
}

Test(podgen, cronjob_schedule_conversion)
{
    cJSON *cj = cron_ok(SCHED("s1", "\"30 0 9 1 * 0\"", "n"));
    cr_assert_str_eq(sched_of(cj), "0 9 1 * 0");
    cJSON_Delete(cj);
    cj = cron_ok(SCHED("s1", "\"@daily\"", "n"));
    cr_assert_str_eq(sched_of(cj), "@daily");
    cJSON_Delete(cj);
    cj = cron_ok(SCHED("s1", "\"0-30 */2 * * 1-5\"", "n"));
    cr_assert_str_eq(sched_of(cj), "0-30 */2 * * 1-5");
    cJSON_Delete(cj);
}

Test(podgen, cronjob_names_and_labels)
{
    /* cut to 52, then the trailing '-' stripped */
    cJSON *cj = cron_ok(SCHED("abcdefghij-abcdefghij-abcdefghij-abcdefghi-xyz", "\"0 9 * * *\"", ""));
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(cj, "metadata"), "name")->valuestring,
                     "schedule-abcdefghij-abcdefghij-abcdefghij-abcdefghi");
    cr_assert_str_eq(label(cj, "the0.dev/custom-bot-id"), ""); /* raw, may be empty */
    cJSON_Delete(cj);
    /* the reference's long-id example is not a valid label value, so it is an invalid spec here */
    cron_fails(SCHED("very-long-schedule-id-that-needs-to-be-truncated-for-k8s-name-limit", "\"0 9 * * *\"", "n"),
               "schedule very-long-schedule-id-that-needs-to-be-truncated-for-k8s-name-limit: failed to create CronJob "
               "spec: failed to generate pod spec: invalid bot ID: label value must be at most 63 characters (has 67)");
    cron_fails(SCHED("s1", "\"0 9 * * *\"", "daily report"),
               "schedule s1: invalid custom bot name \"daily report\" for label the0.dev/custom-bot-id: must consist of "
               "letters, digits, '-', '_' or '.' (has byte 0x20 at 5)");
    cron_fails("{\"id\":\"s1\",\"config\":{\"schedule\":\"0 9 * * *\"},\"custom\":{\"config\":{\"runtime\":\"x\"}}}",
               "schedule s1: failed to create CronJob spec: failed to generate pod spec: failed to get Docker image: "
               "unsupported runtime: \"x\" (supported: cpp-gcc13, dotnet8, gcc13, ghc96, nodejs20, python3.11, "
               "rust-stable, scala3)");
}
