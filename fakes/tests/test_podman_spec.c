/* test_podman_spec.c: the Pod -> `podman kube play` manifest translation of serve --run-pods (pure). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "fakes/podman_kubelet.h"

/* a store of two objects: Secret the0/the0-minio and ConfigMap the0/kc */
static cJSON *get_obj(void *ctx, const char *plural, const char *ns, const char *name)
{
    (void)ctx;
    if (!strcmp(plural, "secrets") && !strcmp(ns, "the0") && !strcmp(name, "the0-minio"))
        /* access-key: AK, secret-key: S3cr3t!, both base64 as the API stores Secret data */
        return cJSON_Parse("{\"data\":{\"access-key\":\"QUs=\",\"secret-key\":\"UzNjcjN0IQ==\"}}");
    if (!strcmp(plural, "configmaps") && !strcmp(ns, "the0") && !strcmp(name, "kc"))
        return cJSON_Parse("{\"data\":{\"config\":\"apiVersion: v1\\n\",\"MODE\":\"x\"}}");
    return NULL;
}

static const pkl_lookup LK = {.ctx = NULL, .get = get_obj};

/* the realtime bot pod as the controller generates it (abridged: the same kinds of fields) */
static const char *POD =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"bot-b1\",\"namespace\":\"the0\",\"uid\":\"u-1\","
    "\"labels\":{\"the0.dev/bot-id\":\"b1\"},\"annotations\":{\"the0.dev/config-hash\":\"abc\"}},"
    "\"spec\":{\"restartPolicy\":\"Always\",\"nodeName\":\"node-2\",\"terminationGracePeriodSeconds\":90,"
    "\"automountServiceAccountToken\":false,"
    "\"securityContext\":{\"runAsNonRoot\":true,\"runAsUser\":1000,\"runAsGroup\":1000,\"fsGroup\":1000},"
    "\"initContainers\":[{\"name\":\"init\",\"image\":\"runtime:latest\",\"imagePullPolicy\":\"IfNotPresent\","
    "\"command\":[\"/app/runtime\",\"daemon\",\"init\"],\"args\":[\"--bot-id\",\"$(BOT)\",\"--x\",\"$$(BOT)\",\"$(NOPE)\"],"
    "\"env\":[{\"name\":\"BOT\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.labels['the0.dev/bot-id']\"}}},"
    "{\"name\":\"MINIO_ACCESS_KEY\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"the0-minio\",\"key\":\"access-key\"}}},"
    "{\"name\":\"MINIO_SECRET_KEY\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"the0-minio\",\"key\":\"secret-key\"}}},"
    "{\"name\":\"WHERE\",\"value\":\"$(BOT)@$(NODE)\"},"
    "{\"name\":\"NODE\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"spec.nodeName\"}}}],"
    "\"securityContext\":{\"readOnlyRootFilesystem\":true,\"allowPrivilegeEscalation\":false},"
    "\"volumeMounts\":[{\"name\":\"bot-code\",\"mountPath\":\"/bot\"},{\"name\":\"kc\",\"mountPath\":\"/etc/kc\"}]}],"
    "\"containers\":[{\"name\":\"bot\",\"image\":\"the0/python311:latest\",\"command\":[\"/bin/bash\",\"/bot/entrypoint.sh\"],"
    "\"workingDir\":\"/bot\",\"ports\":[{\"containerPort\":80}],\"livenessProbe\":{\"exec\":{\"command\":[\"true\"]}},"
    "\"envFrom\":[{\"configMapRef\":{\"name\":\"kc\"},\"prefix\":\"CM_\"}],"
    "\"resources\":{\"limits\":{\"memory\":\"512Mi\",\"cpu\":\"500m\"}},"
    "\"volumeMounts\":[{\"name\":\"bot-code\",\"mountPath\":\"/bot\"}]}],"
    "\"volumes\":[{\"name\":\"bot-code\",\"emptyDir\":{}},{\"name\":\"kc\",\"configMap\":{\"name\":\"kc\",\"items\":"
    "[{\"key\":\"config\",\"path\":\"kubeconfig\"}]}}]}}";

static const char *env_of(const cJSON *ctr, const char *name)
{
    const cJSON *e, *found = NULL;
    cJSON_ArrayForEach(e, t0_json_get(ctr, "env")) if (!strcmp(t0_json_str(e, "name"), name)) found = e;
    return found ? t0_json_str(found, "value") : NULL;
}

Test(podman_spec, expand_follows_kubernetes_rules)
{
    cJSON *env = cJSON_Parse("[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"two\"}]");
    struct {
        const char *in, *want;
    } cases[] = {
        {"$(A)-$(B)", "1-two"}, {"$$(A)", "$(A)"},  {"$(C)", "$(C)"}, {"$$", "$"},     {"a$b", "a$b"},
        {"$(A", "$(A"},         {"x$", "x$"},       {"$()", "$()"},   {"$(A)$(A)", "11"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = pkl_expand(cases[i].in, env);
        cr_expect_str_eq(got, cases[i].want, "expand(%s): expected [%s], got [%s]", cases[i].in, cases[i].want, got);
        free(got);
    }
    cJSON_Delete(env);
}

Test(podman_spec, the_bot_pod_as_podman_runs_it)
{
    cJSON *pod = cJSON_Parse(POD);
    cr_assert(pod);
    pkl_plan pl;
    t0_err err = {0};
    cr_assert_eq(pkl_translate(pod, "t0_the0_bot-b1_x_1", "/v/p1", "127.0.0.1", &LK, &pl, &err), T0_OK, "%s", err.msg);
    const cJSON *m = pl.manifest, *spec = t0_json_get(m, "spec");
    cr_expect_str_eq(t0_json_str(m, "metadata.name"), "t0_the0_bot-b1_x_1");
    cr_expect_str_eq(t0_json_str(spec, "hostname"), "bot-b1");
    cr_expect_str_eq(t0_json_str(spec, "restartPolicy"), "Never", "the kubelet restarts, not podman");
    cr_expect_null(t0_json_get(spec, "initContainers"), "init containers run as ordinary ones, started in order");
    cr_expect_null(t0_json_get(t0_json_get(spec, "securityContext"), "runAsNonRoot"));
    cr_expect(cJSON_IsNumber(t0_json_at(spec, "securityContext.runAsUser")));
    const cJSON *ctrs = t0_json_get(spec, "containers");
    cr_assert_eq(cJSON_GetArraySize(ctrs), 2);
    const cJSON *init = cJSON_GetArrayItem(ctrs, 0), *bot = cJSON_GetArrayItem(ctrs, 1);
    cr_expect_str_eq(t0_json_str(init, "name"), "init");
    cr_expect_str_eq(t0_json_str(init, "imagePullPolicy"), "Never");
    cr_expect_str_eq(t0_json_str(bot, "imagePullPolicy"), "Never");
    /* env resolved: fieldRef (label), secretKeyRef (base64-decoded), $(VAR) of earlier entries only */
    cr_expect_str_eq(env_of(init, "BOT"), "b1");
    cr_expect_str_eq(env_of(init, "MINIO_ACCESS_KEY"), "AK");
    cr_expect_str_eq(env_of(init, "MINIO_SECRET_KEY"), "S3cr3t!");
    cr_expect_str_eq(env_of(init, "WHERE"), "b1@$(NODE)", "NODE is defined after WHERE: left as written");
    cr_expect_str_eq(env_of(init, "NODE"), "node-2");
    const cJSON *args = t0_json_get(init, "args");
    cr_expect_str_eq(cJSON_GetArrayItem(args, 1)->valuestring, "b1");
    cr_expect_str_eq(cJSON_GetArrayItem(args, 3)->valuestring, "$(BOT)");
    cr_expect_str_eq(cJSON_GetArrayItem(args, 4)->valuestring, "$(NOPE)");
    cr_expect(cJSON_IsTrue(t0_json_at(init, "securityContext.readOnlyRootFilesystem")));
    /* envFrom with a prefix; probes and ports are not passed on; resources and workingDir are */
    cr_expect_str_eq(env_of(bot, "CM_MODE"), "x");
    cr_expect_null(t0_json_get(bot, "ports"));
    cr_expect_null(t0_json_get(bot, "livenessProbe"));
    cr_expect_str_eq(t0_json_str(bot, "workingDir"), "/bot");
    cr_expect_str_eq(t0_json_at(bot, "resources.limits")->child->valuestring, "512Mi");
    /* volumes: emptyDir and configMap become directories; the configMap mount is read-only */
    const cJSON *vols = t0_json_get(spec, "volumes");
    cr_expect_str_eq(t0_json_str(cJSON_GetArrayItem(vols, 0), "hostPath.path"), "/v/p1/bot-code");
    cr_expect_str_eq(t0_json_str(cJSON_GetArrayItem(vols, 1), "hostPath.path"), "/v/p1/kc");
    const cJSON *kc_mount = cJSON_GetArrayItem(t0_json_get(init, "volumeMounts"), 1);
    cr_expect(cJSON_IsTrue(t0_json_get(kc_mount, "readOnly")));
    cr_expect(!cJSON_IsTrue(t0_json_get(cJSON_GetArrayItem(t0_json_get(init, "volumeMounts"), 0), "readOnly")));
    cr_expect_eq(pl.ndirs, 2);
    cr_assert_eq(pl.nfiles, 1);
    cr_expect_str_eq(pl.files[0].path, "/v/p1/kc/kubeconfig");
    cr_expect_str_eq(pl.files[0].data, "apiVersion: v1\n");
    cr_expect_eq(pl.files[0].mode, 0644);
    cr_assert_eq(pl.nctrs, 2);
    cr_expect_eq(pl.ninit, 1);
    cr_expect_str_eq(pl.ctrs[1].podman_name, "t0_the0_bot-b1_x_1-bot");
    cr_expect(pl.ctrs[1].run_as_non_root);
    cr_expect_eq(pl.ctrs[1].run_as_user, 1000);
    pkl_plan_free(&pl);
    cJSON_Delete(pod);
}

Test(podman_spec, missing_secret_or_key_fails_that_container_as_the_kubelet_says)
{
    cJSON *pod = cJSON_Parse(POD);
    /* the bot container asks for a key the Secret lacks */
    cJSON *bot = cJSON_GetArrayItem(t0_json_get(t0_json_get(pod, "spec"), "containers"), 0);
    cJSON_AddItemToObject(bot, "env",
                          cJSON_Parse("[{\"name\":\"K\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"the0-minio\",\"key\":\"nope\"}}}]"));
    pkl_plan pl;
    t0_err err = {0};
    cr_expect_eq(pkl_translate(pod, "p", "/v", "127.0.0.1", &LK, &pl, &err), T0_EINVALID);
    cr_expect_str_eq(err.msg, "couldn't find key nope in Secret the0/the0-minio");
    cr_expect_eq(pl.bad_ctr, 1, "expected the bot container (1), got %d", pl.bad_ctr);
    cr_expect_str_eq(pl.bad_reason, "CreateContainerConfigError");
    cr_expect_null(pl.manifest);
    /* a missing Secret */
    cJSON_ReplaceItemInObject(bot, "env",
                              cJSON_Parse("[{\"name\":\"K\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"gone\",\"key\":\"k\"}}}]"));
    cr_expect_eq(pkl_translate(pod, "p", "/v", "127.0.0.1", &LK, &pl, &err), T0_EINVALID);
    cr_expect_str_eq(err.msg, "secret \"gone\" not found");
    /* optional: skipped */
    cJSON_ReplaceItemInObject(
        bot, "env", cJSON_Parse("[{\"name\":\"K\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"gone\",\"key\":\"k\",\"optional\":true}}}]"));
    cr_expect_eq(pkl_translate(pod, "p", "/v", "127.0.0.1", &LK, &pl, &err), T0_OK, "%s", err.msg);
    cr_expect_null(env_of(cJSON_GetArrayItem(t0_json_at(pl.manifest, "spec.containers"), 1), "K"));
    pkl_plan_free(&pl);
    cJSON_Delete(pod);
}

Test(podman_spec, unsupported_volume_is_a_mount_failure)
{
    cJSON *pod = cJSON_Parse(POD);
    cJSON_AddItemToArray(t0_json_get(t0_json_get(pod, "spec"), "volumes"),
                         cJSON_Parse("{\"name\":\"pvc\",\"persistentVolumeClaim\":{\"claimName\":\"c\"}}"));
    pkl_plan pl;
    t0_err err = {0};
    cr_expect_eq(pkl_translate(pod, "p", "/v", "127.0.0.1", &LK, &pl, &err), T0_EINVALID);
    cr_expect_str_eq(pl.bad_reason, "FailedMount");
    cr_expect(strstr(err.msg, "volume \"pvc\"") != NULL, "got [%s]", err.msg);
    cJSON_Delete(pod);
}
