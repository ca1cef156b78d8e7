/* test_kube_api.c: conformance of the fake API server: conflicts, AlreadyExists, validation (422),
 * label selectors, graceful deletion, propagation, watch from resourceVersion and 410 Gone, faults. */
#include <criterion/criterion.h>
#include <string.h>

#include "fakes/kube_fake.h"

typedef struct env {
    sim_loop *loop;
    sim_faults *faults;
    kfake *k;
    kube_port api, sys;
} env;

static void env_init(env *e, int history)
{
    t0_err err = {0};
    memset(e, 0, sizeof *e);
    cr_assert_eq(sim_loop_new(1, 0, &e->loop, &err), T0_OK);
    cr_assert_eq(sim_faults_new(e->loop, &e->faults, &err), T0_OK, "%s", err.msg);
    kfake_opts o = {.watch_history = history};
    cr_assert_eq(kfake_new(e->loop, e->faults, &o, &e->k, &err), T0_OK);
    e->api = kfake_port(e->k);
    e->sys = kfake_system_port(e->k);
}

static void env_free(env *e)
{
    kfake_destroy(e->k);
    sim_faults_destroy(e->faults);
    sim_loop_destroy(e->loop);
}

static cJSON *pod(const char *name, const char *labels_json)
{
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"%s\",\"labels\":%s},\"spec\":{\"containers\":[{\"name\":\"bot\",\"image\":\"x:1\"}]}}",
             name, labels_json ? labels_json : "{}");
    cJSON *j = cJSON_Parse(buf);
    cr_assert_not_null(j, "bad test JSON %s", buf);
    return j;
}

static t0_status create(env *e, kube_kind kind, cJSON *obj, cJSON **out, t0_err *err)
{
    t0_status st = e->api.create(e->api.ctx, kind, "the0", obj, out, err);
    cJSON_Delete(obj);
    return st;
}

Test(kube_api, create_sets_metadata_and_already_exists)
{
    env e;
    env_init(&e, 0);
    cJSON *out = NULL;
    t0_err err = {0};
    cr_assert_eq(create(&e, KUBE_POD, pod("bot-a", NULL), &out, &err), T0_OK, "%s", err.msg);
    cr_assert_str_eq(kfake_str(out, "metadata.resourceVersion"), "1");
    cr_assert_str_eq(kfake_str(out, "metadata.uid"), "00000000-0000-4000-8000-000000000001");
    cr_assert_str_eq(kfake_str(out, "metadata.creationTimestamp"), "2026-01-05T00:00:00Z");
    cr_assert_str_eq(kfake_str(out, "metadata.namespace"), "the0");
    cr_assert_str_eq(kfake_str(out, "status.phase"), "Pending");
    cr_assert_str_eq(kfake_str(out, "spec.restartPolicy"), "Always");
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(out, "metadata"), "generation")->valuedouble, 1);
    cJSON_Delete(out);
    cr_assert_eq(create(&e, KUBE_POD, pod("bot-a", NULL), NULL, &err), T0_EEXIST);
    cr_assert_eq(err.http_status, 409);
    cr_assert_str_eq(err.msg, "pods \"bot-a\" already exists");
    cr_assert_eq(kfake_resource_version(e.k), 1, "a refused create must not bump the resourceVersion");
    env_free(&e);
}

Test(kube_api, update_conflict_on_stale_resource_version_and_generation)
{
    env e;
    env_init(&e, 0);
    t0_err err = {0};
    cJSON *cj = cJSON_Parse("{\"metadata\":{\"name\":\"schedule-x\"},\"spec\":{\"schedule\":\"0 9 * * *\",\"jobTemplate\":"
                            "{\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"b\","
                            "\"image\":\"i\"}]}}}}}}");
    cJSON *v1 = NULL;
    cr_assert_eq(create(&e, KUBE_CRONJOB, cj, &v1, &err), T0_OK, "%s", err.msg);
    cJSON *v2 = cJSON_Duplicate(v1, 1);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(v2, "spec"), "schedule", cJSON_CreateString("0 10 * * *"));
    cJSON *out = NULL;
    cr_assert_eq(e.api.update(e.api.ctx, KUBE_CRONJOB, "the0", v2, &out, &err), T0_OK, "%s", err.msg);
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(out, "metadata"), "generation")->valuedouble, 2);
    cr_assert_str_neq(kfake_str(out, "metadata.resourceVersion"), kfake_str(v1, "metadata.resourceVersion"));
    /* v1 carries the old resourceVersion: 409 Conflict */
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(v1, "spec"), "schedule", cJSON_CreateString("0 11 * * *"));
    cr_assert_eq(e.api.update(e.api.ctx, KUBE_CRONJOB, "the0", v1, NULL, &err), T0_ECONFLICT, "got %s",
                 t0_status_name(err.code));
    cr_assert_eq(err.http_status, 409);
    cr_assert(strstr(err.msg, "the object has been modified"), "%s", err.msg);
    /* a no-op update does not bump the resourceVersion */
    uint64_t rv = kfake_resource_version(e.k);
    cr_assert_eq(e.api.update(e.api.ctx, KUBE_CRONJOB, "the0", out, NULL, &err), T0_OK, "%s", err.msg);
    cr_assert_eq(kfake_resource_version(e.k), rv);
    /* update does not touch status; update_status touches only status */
    cJSON *st = cJSON_Parse("{\"metadata\":{\"name\":\"schedule-x\"},\"status\":{\"lastScheduleTime\":\"2026-01-05T09:00:00Z\"},\"spec\":{\"schedule\":\"bogus\"}}");
    cr_assert_eq(e.api.update_status(e.api.ctx, KUBE_CRONJOB, "the0", st, NULL, &err), T0_OK, "%s", err.msg);
    const cJSON *stored = kfake_peek(e.k, KUBE_CRONJOB, "the0", "schedule-x");
    cr_assert_str_eq(kfake_str(stored, "status.lastScheduleTime"), "2026-01-05T09:00:00Z");
    cr_assert_str_eq(kfake_str(stored, "spec.schedule"), "0 10 * * *");
    cJSON_Delete(st);
    cJSON_Delete(v1);
    cJSON_Delete(v2);
    cJSON_Delete(out);
    env_free(&e);
}

Test(kube_api, validation_answers_422_like_the_api_server)
{
    env e;
    env_init(&e, 0);
    t0_err err = {0};
    cr_assert_eq(create(&e, KUBE_POD, pod("Bot_A", NULL), NULL, &err), T0_EINVALID);
    cr_assert_eq(err.http_status, 422);
    cr_assert(strstr(err.msg, "Pod \"Bot_A\" is invalid: metadata.name: Invalid value: \"Bot_A\": a lowercase RFC 1123 subdomain"),
              "%s", err.msg);
    char longname[300];
    memset(longname, 'a', 254);
    longname[254] = '\0';
    cr_assert_eq(create(&e, KUBE_POD, pod(longname, NULL), NULL, &err), T0_EINVALID);
    cr_assert(strstr(err.msg, "is invalid: metadata.name: Invalid value: \"aaa"), "%s", err.msg); /* the 253-character rule; the message is long */
    cr_assert_eq(create(&e, KUBE_POD, pod("bot-b", "{\"the0.dev/bot-id\":\"-bad-\"}"), NULL, &err), T0_EINVALID);
    cr_assert(strstr(err.msg, "metadata.labels: Invalid value: \"-bad-\""), "%s", err.msg);
    char big[200];
    snprintf(big, sizeof big, "{\"k\":\"%064d\"}", 0);
    cr_assert_eq(create(&e, KUBE_POD, pod("bot-c", big), NULL, &err), T0_EINVALID);
    cr_assert(strstr(err.msg, "must be no more than 63 characters"), "%s", err.msg);
    cr_assert_eq(create(&e, KUBE_POD, cJSON_Parse("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[]}}"), NULL, &err),
                 T0_EINVALID);
    cr_assert(strstr(err.msg, "spec.containers: Required value"), "%s", err.msg);
    cr_assert_eq(create(&e, KUBE_POD, cJSON_Parse("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\"}]}}"),
                        NULL, &err),
                 T0_EINVALID);
    cr_assert(strstr(err.msg, "spec.containers[0].image: Required value"), "%s", err.msg);
    cr_assert_eq(create(&e, KUBE_POD,
                        cJSON_Parse("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\","
                                    "\"resources\":{\"limits\":{\"cpu\":\"100m\"},\"requests\":{\"cpu\":\"200m\"}}}]}}"),
                        NULL, &err),
                 T0_EINVALID);
    cr_assert(strstr(err.msg, "must be less than or equal to cpu limit"), "%s", err.msg);
    cr_assert_eq(create(&e, KUBE_POD,
                        cJSON_Parse("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\","
                                    "\"resources\":{\"limits\":{\"memory\":\"lots\"}}}]}}"),
                        NULL, &err),
                 T0_EINVALID);
    cr_assert(strstr(err.msg, "quantities must match"), "%s", err.msg);
    const char *cj = "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"schedule\":\"%s\",\"jobTemplate\":{\"spec\":{\"template\":"
                     "{\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"b\",\"image\":\"i\"}]}}}}}}";
    char buf[600];
    snprintf(buf, sizeof buf, cj, "schedule-very-long-schedule-id-that-needs-to-be-trunc", "0 9 * * *");
    cr_assert_eq(create(&e, KUBE_CRONJOB, cJSON_Parse(buf), NULL, &err), T0_EINVALID);
    cr_assert(strstr(err.msg, "CronJob.batch \"schedule-very-long-schedule-id-that-needs-to-be-trunc\" is invalid: "
                              "metadata.name: Invalid value"),
              "%s", err.msg);
    cr_assert(strstr(err.msg, "must be no more than 52 characters"), "%s", err.msg);
    snprintf(buf, sizeof buf, cj, "schedule-x", "@every 5m");
    cr_assert_eq(create(&e, KUBE_CRONJOB, cJSON_Parse(buf), NULL, &err), T0_EINVALID);
    cr_assert(strstr(err.msg, "spec.schedule: Invalid value: \"@every 5m\""), "%s", err.msg);
    snprintf(buf, sizeof buf, cj, "schedule-x", "61 * * * *");
    cr_assert_eq(create(&e, KUBE_CRONJOB, cJSON_Parse(buf), NULL, &err), T0_EINVALID);
    snprintf(buf, sizeof buf, cj, "schedule-x", "@hourly");
    cr_assert_eq(create(&e, KUBE_CRONJOB, cJSON_Parse(buf), NULL, &err), T0_OK, "%s", err.msg);
    cr_assert_eq(create(&e, KUBE_JOB,
                        cJSON_Parse("{\"metadata\":{\"name\":\"j\"},\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":"
                                    "\"Always\",\"containers\":[{\"name\":\"b\",\"image\":\"i\"}]}}}}"),
                        NULL, &err),
                 T0_EINVALID);
    cr_assert(strstr(err.msg, "spec.template.spec.restartPolicy: Unsupported value: \"Always\""), "%s", err.msg);
    cr_assert_eq(kfake_count(e.k, KUBE_POD), 0);
    env_free(&e);
}

static void names_of(const cJSON *list, char *buf, size_t cap)
{
    buf[0] = '\0';
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(list, "items"))
    {
        strncat(buf, kfake_str(it, "metadata.name"), cap - strlen(buf) - 2);
        strncat(buf, " ", cap - strlen(buf) - 1);
    }
}

static void expect_list(env *e, const char *sel, const char *want)
{
    cJSON *l = NULL;
    t0_err err = {0};
    cr_assert_eq(e->api.list(e->api.ctx, KUBE_POD, "the0", sel, NULL, &l, &err), T0_OK, "%s: %s", sel, err.msg);
    char got[256];
    names_of(l, got, sizeof got);
    cr_assert_str_eq(got, want, "selector \"%s\": got \"%s\", want \"%s\"", sel, got, want);
    cJSON_Delete(l);
}

Test(kube_api, label_selectors_all_operators)
{
    env e;
    env_init(&e, 0);
    t0_err err = {0};
    cr_assert_eq(create(&e, KUBE_POD, pod("p3", "{\"app\":\"a\",\"tier\":\"x\"}"), NULL, &err), T0_OK, "%s", err.msg);
    cr_assert_eq(create(&e, KUBE_POD, pod("p1", "{\"app\":\"a\"}"), NULL, &err), T0_OK);
    cr_assert_eq(create(&e, KUBE_POD, pod("p2", "{\"app\":\"b\",\"tier\":\"y\"}"), NULL, &err), T0_OK);
    cr_assert_eq(create(&e, KUBE_POD, pod("p4", NULL), NULL, &err), T0_OK);
    cJSON *other = pod("p0", "{\"app\":\"a\"}");
    cr_assert_eq(e.api.create(e.api.ctx, KUBE_POD, "other", other, NULL, &err), T0_OK);
    cJSON_Delete(other);
    expect_list(&e, NULL, "p1 p2 p3 p4 ");
    expect_list(&e, "app=a", "p1 p3 ");
    expect_list(&e, "app==a", "p1 p3 ");
    expect_list(&e, "app!=a", "p2 p4 ");
    expect_list(&e, "app in (a,b)", "p1 p2 p3 ");
    expect_list(&e, "app in (b)", "p2 ");
    expect_list(&e, "app notin (a)", "p2 p4 ");
    expect_list(&e, "tier", "p2 p3 ");
    expect_list(&e, "!tier", "p1 p4 ");
    expect_list(&e, "app=a,tier=x", "p3 ");
    expect_list(&e, "app = a , !tier", "p1 ");
    expect_list(&e, "app=c", "");
    cJSON *l = NULL;
    cr_assert_eq(e.api.list(e.api.ctx, KUBE_POD, "the0", "app in (a", NULL, &l, &err), T0_EINVAL);
    cr_assert_eq(e.api.list(e.api.ctx, KUBE_POD, "the0", "a b", NULL, &l, &err), T0_EINVAL);
    cr_assert_eq(e.api.list(e.api.ctx, KUBE_POD, "", "app=a", NULL, &l, &err), T0_OK);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(l, "items")), 3, "all namespaces");
    cr_assert_str_eq(kfake_str(l, "metadata.resourceVersion"), "5");
    cJSON_Delete(l);
    cr_assert_eq(kfake_count_label(e.k, KUBE_POD, "the0", "app", "a"), 2);
    env_free(&e);
}

Test(kube_api, graceful_pod_deletion)
{
    env e;
    env_init(&e, 0);
    t0_err err = {0};
    cr_assert_eq(create(&e, KUBE_POD, pod("bot-a", NULL), NULL, &err), T0_OK);
    cr_assert_eq(create(&e, KUBE_POD, pod("bot-b", NULL), NULL, &err), T0_OK);
    /* an unbound pod is removed at once */
    cr_assert_eq(e.api.remove(e.api.ctx, KUBE_POD, "the0", "bot-b", NULL, &err), T0_OK);
    cr_assert_null(kfake_peek(e.k, KUBE_POD, "the0", "bot-b"));
    cr_assert_eq(kfake_bind_pod(e.k, "the0", "bot-a", "node-1", &err), T0_OK, "%s", err.msg);
    sim_loop_run_for(e.loop, 5000);
    cr_assert_eq(e.api.remove(e.api.ctx, KUBE_POD, "the0", "bot-a", NULL, &err), T0_OK);
    const cJSON *p = kfake_peek(e.k, KUBE_POD, "the0", "bot-a");
    cr_assert_not_null(p, "a bound pod stays until the kubelet finishes it");
    cr_assert_str_eq(kfake_str(p, "metadata.deletionTimestamp"), "2026-01-05T00:00:35Z");
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "metadata"), "deletionGracePeriodSeconds")->valuedouble, 30);
    /* a second delete is accepted and changes nothing */
    uint64_t rv = kfake_resource_version(e.k);
    cr_assert_eq(e.api.remove(e.api.ctx, KUBE_POD, "the0", "bot-a", NULL, &err), T0_OK);
    cr_assert_eq(kfake_resource_version(e.k), rv);
    /* the kubelet's final delete with grace 0 removes it */
    kube_delete_opts now = {.grace_seconds = 0};
    cr_assert_eq(e.sys.remove(e.sys.ctx, KUBE_POD, "the0", "bot-a", &now, &err), T0_OK);
    cr_assert_null(kfake_peek(e.k, KUBE_POD, "the0", "bot-a"));
    cr_assert_eq(e.api.remove(e.api.ctx, KUBE_POD, "the0", "bot-a", NULL, &err), T0_ENOTFOUND);
    cr_assert_str_eq(err.msg, "pods \"bot-a\" not found");
    env_free(&e);
}

/* A finalizer holds a terminating pod after the kubelet finished it; the pod goes when the last finalizer
 * is removed (and, removed before the kubelet finishes, at the kubelet's final delete). */
Test(kube_api, finalizers_hold_a_terminating_pod)
{
    env e;
    env_init(&e, 0);
    t0_err err = {0};
    for (int order = 0; order < 2; order++) {
        cJSON *p0 = pod("bot-f", NULL);
        cJSON_AddItemToObject(cJSON_GetObjectItem(p0, "metadata"), "finalizers", cJSON_Parse("[\"example.com/hold\"]"));
        cr_assert_eq(create(&e, KUBE_POD, p0, NULL, &err), T0_OK, "%s", err.msg);
        cr_assert_eq(kfake_bind_pod(e.k, "the0", "bot-f", "node-1", &err), T0_OK, "%s", err.msg);
        cr_assert_eq(e.api.remove(e.api.ctx, KUBE_POD, "the0", "bot-f", NULL, &err), T0_OK);
        kube_delete_opts now = {.grace_seconds = 0};
        if (order == 0) { /* the kubelet finishes first: the finalizer still holds it */
            cr_assert_eq(e.sys.remove(e.sys.ctx, KUBE_POD, "the0", "bot-f", &now, &err), T0_OK);
            cr_assert_not_null(kfake_peek(e.k, KUBE_POD, "the0", "bot-f"), "order %d: held by its finalizer", order);
        }
        cJSON *cur = cJSON_Duplicate(kfake_peek(e.k, KUBE_POD, "the0", "bot-f"), 1);
        cJSON_DeleteItemFromObject(cJSON_GetObjectItem(cur, "metadata"), "finalizers");
        cr_assert_eq(e.api.update(e.api.ctx, KUBE_POD, "the0", cur, NULL, &err), T0_OK, "%s", err.msg);
        cJSON_Delete(cur);
        if (order == 1) { /* the finalizer went first: the pod waits for the kubelet, then goes */
            cr_assert_not_null(kfake_peek(e.k, KUBE_POD, "the0", "bot-f"), "order %d: the kubelet has not finished", order);
            cr_assert_eq(e.sys.remove(e.sys.ctx, KUBE_POD, "the0", "bot-f", &now, &err), T0_OK);
        }
        cr_assert_null(kfake_peek(e.k, KUBE_POD, "the0", "bot-f"), "order %d: expected the pod gone", order);
    }
    env_free(&e);
}

static cJSON *owned(const char *name, const char *owner_kind, const cJSON *owner)
{
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"%s\",\"ownerReferences\":[{\"apiVersion\":\"batch/v1\",\"kind\":\"%s\",\"name\":"
             "\"%s\",\"uid\":\"%s\",\"controller\":true}]},\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"Never\","
             "\"containers\":[{\"name\":\"b\",\"image\":\"i\"}]}},\"containers\":[{\"name\":\"b\",\"image\":\"i\"}]}}",
             name, owner_kind, kfake_str(owner, "metadata.name"), kfake_str(owner, "metadata.uid"));
    return cJSON_Parse(buf);
}

/* CronJob -> Job -> Pod (bound, so its deletion is graceful). */
static void family(env *e)
{
    t0_err err = {0};
    cJSON *cj = NULL, *job = NULL;
    cr_assert_eq(create(e, KUBE_CRONJOB,
                        cJSON_Parse("{\"metadata\":{\"name\":\"cj\"},\"spec\":{\"schedule\":\"@daily\",\"jobTemplate\":{\"spec\":"
                                    "{\"template\":{\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"b\","
                                    "\"image\":\"i\"}]}}}}}}"),
                        &cj, &err),
                 T0_OK, "%s", err.msg);
    cr_assert_eq(create(e, KUBE_JOB, owned("cj-1", "CronJob", cj), &job, &err), T0_OK, "%s", err.msg);
    cJSON *p = owned("cj-1-abcde", "Job", job);
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(p, "spec"), "template");
    cr_assert_eq(create(e, KUBE_POD, p, NULL, &err), T0_OK, "%s", err.msg);
    cr_assert_eq(kfake_bind_pod(e->k, "the0", "cj-1-abcde", "n1", &err), T0_OK);
    cJSON_Delete(cj);
    cJSON_Delete(job);
}

Test(kube_api, foreground_propagation_waits_for_dependents)
{
    env e;
    env_init(&e, 0);
    family(&e);
    t0_err err = {0};
    kube_delete_opts fg = {.propagation = KUBE_PROP_FOREGROUND, .grace_seconds = -1};
    cr_assert_eq(e.api.remove(e.api.ctx, KUBE_CRONJOB, "the0", "cj", &fg, &err), T0_OK, "%s", err.msg);
    const cJSON *cj = kfake_peek(e.k, KUBE_CRONJOB, "the0", "cj");
    const cJSON *job = kfake_peek(e.k, KUBE_JOB, "the0", "cj-1");
    const cJSON *p = kfake_peek(e.k, KUBE_POD, "the0", "cj-1-abcde");
    cr_assert(cj && job && p, "owner and dependents stay while the pod terminates");
    cr_assert_not_null(kfake_str(cj, "metadata.deletionTimestamp"));
    cr_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cj, "metadata"), "finalizers"), 0)->valuestring,
                     "foregroundDeletion");
    cr_assert_not_null(kfake_str(job, "metadata.deletionTimestamp"));
    cr_assert_not_null(kfake_str(p, "metadata.deletionTimestamp"), "the pod got a graceful delete");
    kube_delete_opts now = {.grace_seconds = 0};
    cr_assert_eq(e.sys.remove(e.sys.ctx, KUBE_POD, "the0", "cj-1-abcde", &now, &err), T0_OK);
    cr_assert_null(kfake_peek(e.k, KUBE_POD, "the0", "cj-1-abcde"));
    cr_assert_null(kfake_peek(e.k, KUBE_JOB, "the0", "cj-1"), "the job goes with its last pod");
    cr_assert_null(kfake_peek(e.k, KUBE_CRONJOB, "the0", "cj"), "the cronjob goes with its last job");
    env_free(&e);
}

Test(kube_api, background_propagation_collects_dependents)
{
    env e;
    env_init(&e, 0);
    family(&e);
    t0_err err = {0};
    kube_delete_opts bg = {.propagation = KUBE_PROP_BACKGROUND, .grace_seconds = -1};
    cr_assert_eq(e.api.remove(e.api.ctx, KUBE_CRONJOB, "the0", "cj", &bg, &err), T0_OK);
    cr_assert_null(kfake_peek(e.k, KUBE_CRONJOB, "the0", "cj"), "the owner goes at once");
    cr_assert_not_null(kfake_peek(e.k, KUBE_JOB, "the0", "cj-1"), "the collector runs on a later loop turn");
    sim_loop_run_for(e.loop, 1);
    cr_assert_null(kfake_peek(e.k, KUBE_JOB, "the0", "cj-1"));
    sim_loop_run_for(e.loop, 1);
    const cJSON *p = kfake_peek(e.k, KUBE_POD, "the0", "cj-1-abcde");
    cr_assert_not_null(p);
    cr_assert_not_null(kfake_str(p, "metadata.deletionTimestamp"), "the pod is deleted gracefully");
    env_free(&e);
}

Test(kube_api, orphan_propagation_and_job_default)
{
    env e;
    env_init(&e, 0);
    family(&e);
    t0_err err = {0};
    /* batch/v1 Jobs default to orphaning their pods (as the real API server) */
    cr_assert_eq(e.api.remove(e.api.ctx, KUBE_JOB, "the0", "cj-1", NULL, &err), T0_OK);
    sim_loop_run_for(e.loop, 10);
    cr_assert_null(kfake_peek(e.k, KUBE_JOB, "the0", "cj-1"));
    const cJSON *p = kfake_peek(e.k, KUBE_POD, "the0", "cj-1-abcde");
    cr_assert_not_null(p);
    cr_assert_null(kfake_str(p, "metadata.deletionTimestamp"));
    cr_assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "metadata"), "ownerReferences"), "the reference is removed");
    env_free(&e);
}

/* ---- watch ---------------------------------------------------------------------------------- */
typedef struct wlog {
    char buf[2048];
    int gone, closed;
} wlog;

static void on_watch(void *ud, kube_watch_type t, const cJSON *obj)
{
    wlog *w = ud;
    static const char *names[] = {"ADDED", "MODIFIED", "DELETED", "GONE", "CLOSED", "BOOKMARK"};
    char line[128];
    const char *name = obj ? kfake_str(obj, "metadata.name") : NULL;
    snprintf(line, sizeof line, "%s %s@%s;", names[t], name ? name : "-",
             obj ? kfake_str(obj, "metadata.resourceVersion") : "-");
    strncat(w->buf, line, sizeof w->buf - strlen(w->buf) - 1);
    w->gone += t == KUBE_WATCH_GONE;
    w->closed += t == KUBE_WATCH_CLOSED;
}

Test(kube_api, watch_from_resource_version_with_selector_semantics)
{
    env e;
    env_init(&e, 0);
    t0_err err = {0};
    cr_assert_eq(create(&e, KUBE_POD, pod("p1", "{\"app\":\"a\"}"), NULL, &err), T0_OK); /* rv 1 */
    cr_assert_eq(create(&e, KUBE_POD, pod("p2", "{\"app\":\"b\"}"), NULL, &err), T0_OK); /* rv 2 */
    wlog w1 = {0}, w2 = {0};
    kube_watch *a = NULL, *b = NULL;
    cr_assert_eq(e.api.watch(e.api.ctx, KUBE_POD, "the0", NULL, "1", on_watch, &w1, &a, &err), T0_OK);
    cr_assert_eq(e.api.watch(e.api.ctx, KUBE_POD, "the0", "app=a", "", on_watch, &w2, &b, &err), T0_OK);
    cr_assert_str_eq(w1.buf, "", "events arrive on the loop, not inside the call");
    /* p2 relabelled to app=a: the selector watch sees it ADDED; then p1 relabelled away: DELETED */
    cJSON *p2 = NULL;
    e.api.get(e.api.ctx, KUBE_POD, "the0", "p2", &p2, &err);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(cJSON_GetObjectItem(p2, "metadata"), "labels"), "app", cJSON_CreateString("a"));
    cr_assert_eq(e.api.update(e.api.ctx, KUBE_POD, "the0", p2, NULL, &err), T0_OK, "%s", err.msg); /* rv 3 */
    cJSON *p1 = NULL;
    e.api.get(e.api.ctx, KUBE_POD, "the0", "p1", &p1, &err);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(cJSON_GetObjectItem(p1, "metadata"), "labels"), "app", cJSON_CreateString("z"));
    cr_assert_eq(e.api.update(e.api.ctx, KUBE_POD, "the0", p1, NULL, &err), T0_OK, "%s", err.msg); /* rv 4 */
    cr_assert_eq(e.api.remove(e.api.ctx, KUBE_POD, "the0", "p2", NULL, &err), T0_OK);            /* rv 5 */
    sim_loop_run_for(e.loop, 1);
    cr_assert_str_eq(w1.buf, "ADDED p2@2;MODIFIED p2@3;MODIFIED p1@4;DELETED p2@5;");
    cr_assert_str_eq(w2.buf, "ADDED p2@3;DELETED p1@4;DELETED p2@5;");
    e.api.unwatch(e.api.ctx, a);
    e.api.unwatch(e.api.ctx, b);
    cJSON_Delete(p1);
    cJSON_Delete(p2);
    env_free(&e);
}

Test(kube_api, watch_gone_when_resource_version_too_old)
{
    env e;
    env_init(&e, 3); /* keep 3 events per kind */
    t0_err err = {0};
    for (int i = 0; i < 5; i++) {
        char n[8];
        snprintf(n, sizeof n, "p%d", i);
        cr_assert_eq(create(&e, KUBE_POD, pod(n, NULL), NULL, &err), T0_OK);
    }
    wlog ok = {0}, old = {0};
    kube_watch *a = NULL, *b = NULL;
    cr_assert_eq(e.api.watch(e.api.ctx, KUBE_POD, "the0", NULL, "2", on_watch, &ok, &a, &err), T0_OK);
    cr_assert_eq(e.api.watch(e.api.ctx, KUBE_POD, "the0", NULL, "1", on_watch, &old, &b, &err), T0_OK);
    sim_loop_run_for(e.loop, 1);
    cr_assert_str_eq(ok.buf, "ADDED p2@3;ADDED p3@4;ADDED p4@5;");
    cr_assert_eq(old.gone, 1, "rv 1 is older than the kept history: %s", old.buf);
    cr_assert_str_eq(old.buf, "GONE -@-;");
    cr_assert_eq(create(&e, KUBE_POD, pod("p9", NULL), NULL, &err), T0_OK);
    sim_loop_run_for(e.loop, 1);
    cr_assert_str_eq(old.buf, "GONE -@-;", "a gone watch delivers nothing more");
    e.api.unwatch(e.api.ctx, a);
    e.api.unwatch(e.api.ctx, b);
    env_free(&e);
}

/* Bookmarks (allowWatchBookmarks): a watch whose objects do not change learns how far the kind has gone, and
 * resumes from there after the history has moved past its last event; only the watch that asked gets them,
 * and none after it is gone. */
Test(kube_api, watch_bookmarks_let_a_quiet_watch_resume)
{
    env e;
    env_init(&e, 3); /* keep 3 events per kind */
    t0_err err = {0};
    wlog quiet = {0}, plain = {0};
    kube_watch *a = NULL, *b = NULL;
    cr_assert_eq(e.api.watch(e.api.ctx, KUBE_POD, "the0", "app=a", "", on_watch, &quiet, &a, &err), T0_OK);
    cr_assert_eq(e.api.watch(e.api.ctx, KUBE_POD, "the0", "app=a", "", on_watch, &plain, &b, &err), T0_OK);
    kfake_watch_bookmarks(e.k, a, 1000);
    for (int i = 0; i < 5; i++) { /* rv 1..5, none of them app=a */
        char n[8];
        snprintf(n, sizeof n, "p%d", i);
        cr_assert_eq(create(&e, KUBE_POD, pod(n, "{\"app\":\"b\"}"), NULL, &err), T0_OK);
    }
    sim_loop_run_for(e.loop, 1500);
    cr_assert_str_eq(quiet.buf, "BOOKMARK -@5;", "one bookmark after 1 s, at the last change");
    cr_assert_str_eq(plain.buf, "", "a watch that did not ask gets none");
    wlog from_mark = {0}, from_start = {0};
    kube_watch *c = NULL, *d = NULL;
    cr_assert_eq(e.api.watch(e.api.ctx, KUBE_POD, "the0", "app=a", "5", on_watch, &from_mark, &c, &err), T0_OK);
    cr_assert_eq(e.api.watch(e.api.ctx, KUBE_POD, "the0", "app=a", "1", on_watch, &from_start, &d, &err), T0_OK);
    cr_assert_eq(create(&e, KUBE_POD, pod("p9", "{\"app\":\"a\"}"), NULL, &err), T0_OK); /* rv 6 */
    sim_loop_run_for(e.loop, 10);
    cr_assert_str_eq(from_mark.buf, "ADDED p9@6;", "resumed from the bookmark");
    cr_assert_eq(from_start.gone, 1, "resumed from its last own event (rv 1): %s", from_start.buf);
    sim_loop_run_for(e.loop, 1000);
    cr_assert_str_eq(quiet.buf, "BOOKMARK -@5;ADDED p9@6;BOOKMARK -@6;");
    e.api.unwatch(e.api.ctx, a);
    sim_loop_run_for(e.loop, 3000);
    cr_assert_str_eq(quiet.buf, "BOOKMARK -@5;ADDED p9@6;BOOKMARK -@6;", "none after unwatch");
    e.api.unwatch(e.api.ctx, b);
    e.api.unwatch(e.api.ctx, c);
    e.api.unwatch(e.api.ctx, d);
    env_free(&e);
}

static void unwatch_self(void *ud, kube_watch_type t, const cJSON *obj)
{
    (void)t, (void)obj;
    void **ctx = ud;
    kube_port *api = ctx[0];
    api->unwatch(api->ctx, ctx[1]);
    (*(int *)ctx[2])++;
}

Test(kube_api, unwatch_from_inside_the_callback)
{
    env e;
    env_init(&e, 0);
    t0_err err = {0};
    int calls = 0;
    void *ctx[3] = {&e.api, NULL, &calls};
    kube_watch *w = NULL;
    cr_assert_eq(e.api.watch(e.api.ctx, KUBE_POD, NULL, NULL, NULL, unwatch_self, ctx, &w, &err), T0_OK);
    ctx[1] = w;
    cr_assert_eq(create(&e, KUBE_POD, pod("p1", NULL), NULL, &err), T0_OK);
    cr_assert_eq(create(&e, KUBE_POD, pod("p2", NULL), NULL, &err), T0_OK);
    sim_loop_run_for(e.loop, 1);
    cr_assert_eq(calls, 1);
    env_free(&e);
}

Test(kube_api, injected_faults_and_stale_list)
{
    env e;
    env_init(&e, 0);
    t0_err err = {0};
    sim_fault_spec s = {.kind = SIM_FAULT_TOOMANY, .ms = 3000, .count = 1};
    cr_assert_eq(sim_faults_inject(e.faults, "kube/pod/create", &s, &err), T0_OK);
    cr_assert_eq(create(&e, KUBE_POD, pod("p1", NULL), NULL, &err), T0_ETOOMANY);
    cr_assert_eq(err.retry_after_ms, 3000);
    cr_assert_null(kfake_peek(e.k, KUBE_POD, "the0", "p1"));
    s = (sim_fault_spec){.kind = SIM_FAULT_TIMEOUT_APPLIED, .count = 1};
    sim_faults_inject(e.faults, "kube/pod/create", &s, &err);
    cr_assert_eq(create(&e, KUBE_POD, pod("p1", NULL), NULL, &err), T0_ETIMEOUT);
    cr_assert_not_null(kfake_peek(e.k, KUBE_POD, "the0", "p1"), "timeout-applied: the pod exists");
    /* the system port ignores faults */
    s = (sim_fault_spec){.kind = SIM_FAULT_ERROR, .status = T0_EINTERNAL, .probability = 1};
    sim_faults_inject(e.faults, "kube/pod/get", &s, &err);
    cr_assert_eq(e.api.get(e.api.ctx, KUBE_POD, "the0", "p1", NULL, &err), T0_EINTERNAL);
    cr_assert_eq(err.http_status, 500);
    cr_assert_eq(e.sys.get(e.sys.ctx, KUBE_POD, "the0", "p1", NULL, &err), T0_OK);
    /* stale: the previous identical list is served */
    cJSON *l1 = NULL, *l2 = NULL;
    cr_assert_eq(e.api.list(e.api.ctx, KUBE_POD, "the0", NULL, NULL, &l1, &err), T0_OK);
    cr_assert_eq(create(&e, KUBE_POD, pod("p2", NULL), NULL, &err), T0_OK);
    s = (sim_fault_spec){.kind = SIM_FAULT_STALE, .count = 1};
    sim_faults_inject(e.faults, "kube/pod/list", &s, &err);
    cr_assert_eq(e.api.list(e.api.ctx, KUBE_POD, "the0", NULL, NULL, &l2, &err), T0_OK);
    cr_assert(cJSON_Compare(l1, l2, 1), "the stale list is the earlier one");
    cJSON_Delete(l2);
    cr_assert_eq(e.api.list(e.api.ctx, KUBE_POD, "the0", NULL, NULL, &l2, &err), T0_OK);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(l2, "items")), 2);
    cJSON_Delete(l1);
    cJSON_Delete(l2);
    /* dropped watch events: the watcher never sees them */
    wlog w = {0};
    kube_watch *wh = NULL;
    cr_assert_eq(e.api.watch(e.api.ctx, KUBE_POD, "the0", NULL, NULL, on_watch, &w, &wh, &err), T0_OK);
    s = (sim_fault_spec){.kind = SIM_FAULT_DROP, .count = 1};
    sim_faults_inject(e.faults, "kube/watch", &s, &err);
    cr_assert_eq(create(&e, KUBE_POD, pod("p3", NULL), NULL, &err), T0_OK);
    cr_assert_eq(create(&e, KUBE_POD, pod("p4", NULL), NULL, &err), T0_OK);
    sim_loop_run_for(e.loop, 1);
    cr_assert_str_eq(w.buf, "ADDED p4@4;", "p3 (rv 3) was dropped: %s", w.buf);
    e.api.unwatch(e.api.ctx, wh);
    env_free(&e);
}

/* Lists in pages (limit and continue): one consistent snapshot at the first page's resourceVersion, which
 * every page carries; tokens are per list, die with the last page, after 5 minutes, or by a `gone` fault. */
Test(kube_api, lists_in_pages_are_one_snapshot_and_tokens_expire)
{
    env e;
    env_init(&e, 0);
    t0_err err = {0};
    const char *names[] = {"p1", "p2", "p3", "p4", "p5"};
    for (size_t i = 0; i < 5; i++) cr_assert_eq(create(&e, KUBE_POD, pod(names[i], "{\"app\":\"a\"}"), NULL, &err), T0_OK);
    char buf[256];
    cJSON *l = NULL;
    kube_list_page pg = {.limit = 2};
    cr_assert_eq(e.api.list(e.api.ctx, KUBE_POD, "the0", NULL, &pg, &l, &err), T0_OK, "%s", err.msg);
    names_of(l, buf, sizeof buf);
    cr_assert_str_eq(buf, "p1 p2 ");
    cr_assert_str_eq(kfake_str(l, "metadata.resourceVersion"), "5");
    char tok[128];
    snprintf(tok, sizeof tok, "%s", kfake_str(l, "metadata.continue"));
    cJSON_Delete(l);
    /* changes between two pages are not in the later ones: p3 deleted, p0 and p6 created */
    cr_assert_eq(e.api.remove(e.api.ctx, KUBE_POD, "the0", "p3", &(kube_delete_opts){.grace_seconds = 0}, &err), T0_OK);
    cr_assert_eq(create(&e, KUBE_POD, pod("p6", NULL), NULL, &err), T0_OK);
    pg.cont = tok;
    cr_assert_eq(e.api.list(e.api.ctx, KUBE_POD, "the0", NULL, &pg, &l, &err), T0_OK, "%s", err.msg);
    names_of(l, buf, sizeof buf);
    cr_assert_str_eq(buf, "p3 p4 ", "the snapshot's second page: %s", buf);
    cr_assert_str_eq(kfake_str(l, "metadata.resourceVersion"), "5");
    /* the same token again: a client retrying a page it did not get */
    cJSON_Delete(l);
    cr_assert_eq(e.api.list(e.api.ctx, KUBE_POD, "the0", NULL, &pg, &l, &err), T0_OK, "%s", err.msg);
    names_of(l, buf, sizeof buf);
    cr_assert_str_eq(buf, "p3 p4 ");
    snprintf(tok, sizeof tok, "%s", kfake_str(l, "metadata.continue"));
    cJSON_Delete(l);
    /* the token of another list is a bad request */
    cr_assert_eq(e.api.list(e.api.ctx, KUBE_POD, "the0", "app=a", &pg, &l, &err), T0_EINVAL);
    cr_assert_eq(e.api.list(e.api.ctx, KUBE_POD, "the0", NULL, &(kube_list_page){2, "junk"}, &l, &err), T0_EINVAL);
    cr_assert(strstr(err.msg, "continue key is not valid"), "%s", err.msg);
    /* the last page names no next one, and its token is spent */
    pg.limit = 0;
    cr_assert_eq(e.api.list(e.api.ctx, KUBE_POD, "the0", NULL, &pg, &l, &err), T0_OK, "%s", err.msg);
    names_of(l, buf, sizeof buf);
    cr_assert_str_eq(buf, "p5 ");
    cr_assert_null(kfake_str(l, "metadata.continue"));
    cJSON_Delete(l);
    cr_assert_eq(e.api.list(e.api.ctx, KUBE_POD, "the0", NULL, &pg, &l, &err), T0_EGONE);
    cr_assert_eq(err.http_status, 410);
    /* a token older than 5 minutes has expired (etcd compacted its revision) */
    pg = (kube_list_page){.limit = 3};
    cr_assert_eq(e.api.list(e.api.ctx, KUBE_POD, "the0", NULL, &pg, &l, &err), T0_OK, "%s", err.msg);
    names_of(l, buf, sizeof buf);
    cr_assert_str_eq(buf, "p1 p2 p4 ", "the current state: %s", buf);
    snprintf(tok, sizeof tok, "%s", kfake_str(l, "metadata.continue"));
    cJSON_Delete(l);
    pg.cont = tok;
    sim_loop_run_for(e.loop, 5 * 60 * 1000 + 1);
    cr_assert_eq(e.api.list(e.api.ctx, KUBE_POD, "the0", NULL, &pg, &l, &err), T0_EGONE);
    cr_assert(strstr(err.msg, "too old to display a consistent list result"), "%s", err.msg);
    /* ... or by a fault at the continuation point, which a first page never meets */
    sim_fault_spec s = {.kind = SIM_FAULT_GONE, .count = 1};
    cr_assert_eq(sim_faults_inject(e.faults, "kube/pod/continue", &s, &err), T0_OK, "%s", err.msg);
    pg.cont = NULL;
    cr_assert_eq(e.api.list(e.api.ctx, KUBE_POD, "the0", NULL, &pg, &l, &err), T0_OK, "%s", err.msg);
    snprintf(tok, sizeof tok, "%s", kfake_str(l, "metadata.continue"));
    cJSON_Delete(l);
    pg.cont = tok;
    cr_assert_eq(e.api.list(e.api.ctx, KUBE_POD, "the0", NULL, &pg, &l, &err), T0_EGONE);
    cr_assert_eq(e.api.list(e.api.ctx, KUBE_POD, "the0", NULL, &pg, &l, &err), T0_EGONE, "an expired token stays so");
    /* no limit, or one the list fits in: one answer, no token */
    cr_assert_eq(e.api.list(e.api.ctx, KUBE_POD, "the0", NULL, &(kube_list_page){.limit = 5}, &l, &err), T0_OK);
    names_of(l, buf, sizeof buf);
    cr_assert_str_eq(buf, "p1 p2 p4 p5 p6 ");
    cr_assert_null(kfake_str(l, "metadata.continue"));
    cJSON_Delete(l);
    env_free(&e);
}

/* A cluster that lends its objects (the simulator's) keeps the versions of a finished paginated list alive
 * until the caller's next list, as the port promises: the last page may hold the only reference to an object
 * deleted since the first page (run under ASan by make check). */
Test(kube_api, a_lent_last_page_outlives_its_snapshot_until_the_next_list)
{
    env e;
    t0_err err = {0};
    memset(&e, 0, sizeof e);
    cr_assert_eq(sim_loop_new(1, 0, &e.loop, &err), T0_OK);
    cr_assert_eq(sim_faults_new(e.loop, &e.faults, &err), T0_OK, "%s", err.msg);
    kfake_opts o = {.lend_objects = true, .watch_history = 1}; /* no event keeps l2's version alive ... */
    cr_assert_eq(kfake_new(e.loop, NULL, &o, &e.k, &err), T0_OK);  /* ... nor a stale-list snapshot */
    e.api = kfake_port(e.k);
    cr_assert_eq(create(&e, KUBE_POD, pod("l1", NULL), NULL, &err), T0_OK);
    cr_assert_eq(create(&e, KUBE_POD, pod("l2", NULL), NULL, &err), T0_OK);
    cJSON *l = NULL;
    cr_assert_eq(e.api.list(e.api.ctx, KUBE_POD, "the0", NULL, &(kube_list_page){1, NULL}, &l, &err), T0_OK);
    char tok[128];
    snprintf(tok, sizeof tok, "%s", kfake_str(l, "metadata.continue"));
    cJSON_Delete(l);
    cr_assert_eq(e.api.remove(e.api.ctx, KUBE_POD, "the0", "l2", &(kube_delete_opts){.grace_seconds = 0}, &err), T0_OK);
    sim_loop_run_for(e.loop, 1000);
    cr_assert_eq(create(&e, KUBE_POD, pod("l3", NULL), NULL, &err), T0_OK); /* pushes the deletion out of the history */
    cr_assert_eq(create(&e, KUBE_POD, pod("l4", NULL), NULL, &err), T0_OK);
    cr_assert_null(kfake_peek(e.k, KUBE_POD, "the0", "l2"), "l2 is gone from the store");
    cr_assert_eq(e.api.list(e.api.ctx, KUBE_POD, "the0", NULL, &(kube_list_page){1, tok}, &l, &err), T0_OK, "%s", err.msg);
    char buf[64];
    names_of(l, buf, sizeof buf);
    cr_assert_str_eq(buf, "l2 ", "the snapshot's last page still shows l2: %s", buf);
    cJSON_Delete(l);
    cr_assert_eq(e.api.list(e.api.ctx, KUBE_POD, "the0", NULL, NULL, &l, &err), T0_OK);
    names_of(l, buf, sizeof buf);
    cr_assert_str_eq(buf, "l1 l3 l4 ");
    cJSON_Delete(l);
    env_free(&e);
}

static void log_ev(void *ud, kube_watch_type t, const cJSON *obj)
{
    static const char *const names[] = {"ADDED", "MODIFIED", "DELETED", "GONE", "CLOSED", "BOOKMARK"};
    char *log = ud;
    char item[96];
    snprintf(item, sizeof item, "%s:%s ", names[t], obj ? kfake_str(obj, "metadata.name") : "");
    strncat(log, item, 511 - strlen(log));
}

/* The resources `serve` stores besides the port's kinds live in the same store: one resourceVersion
 * sequence, watch from a resourceVersion, no-op updates, owner references and garbage collection. */
Test(kube_api, other_resources_share_the_one_store)
{
    env e;
    env_init(&e, 0);
    t0_err err = {0};
    cJSON *out = NULL;
    int cm = kfake_res_find("", "v1", "configmaps"), sec = kfake_res_find("", "v1", "secrets");
    int ns = kfake_res_find("", "v1", "namespaces");
    cr_assert(cm >= KUBE__KINDS && sec >= KUBE__KINDS && ns >= KUBE__KINDS, "cm %d secret %d ns %d", cm, sec, ns);
    cr_assert_eq(create(&e, KUBE_POD, pod("bot-a", NULL), NULL, &err), T0_OK, "%s", err.msg);
    cJSON *s = cJSON_Parse("{\"metadata\":{\"name\":\"s\"},\"stringData\":{\"k\":\"abc\"}}");
    cr_assert_eq(kfake_create(e.k, sec, "the0", s, 0, &out, &err), T0_OK, "%s", err.msg);
    cJSON_Delete(s);
    cr_assert_str_eq(kfake_str(out, "metadata.resourceVersion"), "2", "one counter for every resource");
    cr_assert_str_eq(kfake_str(out, "data.k"), "YWJj", "stringData is stored base64 in data");
    cr_assert_str_eq(kfake_str(out, "type"), "Opaque");
    char owner[600];
    snprintf(owner, sizeof owner,
             "{\"metadata\":{\"name\":\"c\",\"labels\":{\"app\":\"x\"},\"ownerReferences\":[{\"apiVersion\":\"v1\","
             "\"kind\":\"Secret\",\"name\":\"s\",\"uid\":\"%s\"}]},\"data\":{\"a\":\"1\"}}",
             kfake_str(out, "metadata.uid"));
    cJSON_Delete(out);
    char log[512] = "";
    kube_watch *w = NULL;
    cr_assert_eq(kfake_watch(e.k, cm, "the0", "app=x", "2", log_ev, log, &w, &err), T0_OK, "%s", err.msg);
    cJSON *c = cJSON_Parse(owner);
    cr_assert_eq(kfake_create(e.k, cm, "the0", c, 0, &out, &err), T0_OK, "%s", err.msg);
    cr_assert_str_eq(kfake_str(out, "metadata.resourceVersion"), "3");
    cJSON_Delete(out);
    cr_assert_eq(kfake_update(e.k, cm, "the0", c, false, 0, &out, &err), T0_OK, "%s", err.msg);
    cr_assert_str_eq(kfake_str(out, "metadata.resourceVersion"), "3", "a no-op update writes nothing");
    cJSON_Delete(out);
    cJSON_Delete(c);
    cJSON *n = cJSON_Parse("{\"metadata\":{\"name\":\"team-a\",\"namespace\":\"x\"}}");
    cr_assert_eq(kfake_create(e.k, ns, "", n, 0, &out, &err), T0_OK, "%s", err.msg);
    cJSON_Delete(n);
    cr_assert_null(kfake_str(out, "metadata.namespace"), "a cluster-scoped object has no namespace");
    cr_assert_str_eq(kfake_str(out, "status.phase"), "Active");
    cJSON_Delete(out);
    kube_delete_opts bg = {.propagation = KUBE_PROP_BACKGROUND, .grace_seconds = -1};
    cr_assert_eq(kfake_remove(e.k, sec, "the0", "s", &bg, 0, &err), T0_OK, "%s", err.msg);
    sim_loop_run_for(e.loop, 1000);
    cr_assert_eq(kfake_get(e.k, cm, "the0", "c", NULL, &err), T0_ENOTFOUND, "the ConfigMap owned by the Secret is collected");
    cr_assert_str_eq(log, "ADDED:c DELETED:c ", "%s", log);
    kfake_unwatch(e.k, w);
    env_free(&e);
}

/* dryRun=All: every check and default, nothing stored, no resourceVersion used; a 422 leaves its causes */
Test(kube_api, dry_run_stores_nothing_and_invalid_answers_causes)
{
    env e;
    env_init(&e, 0);
    t0_err err = {0};
    cJSON *p = pod("bot-a", NULL), *out = NULL;
    cr_assert_eq(kfake_create(e.k, KFAKE_POD, "the0", p, KFAKE_DRY_RUN, &out, &err), T0_OK, "%s", err.msg);
    cr_assert_str_eq(kfake_str(out, "spec.restartPolicy"), "Always", "defaulted as a real create");
    cr_assert_null(kfake_str(out, "metadata.resourceVersion"), "no resourceVersion: %s",
                   kfake_str(out, "metadata.resourceVersion"));
    cJSON_Delete(out);
    cr_assert_eq(kfake_count(e.k, KUBE_POD), 0, "stored %zu", kfake_count(e.k, KUBE_POD));
    cr_assert_eq(kfake_resource_version(e.k), 0);
    cr_assert_eq(kfake_create(e.k, KFAKE_POD, "the0", p, 0, NULL, &err), T0_OK, "%s", err.msg);
    cJSON_ReplaceItemInObject(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "spec"), "containers"), 0),
                              "image", cJSON_CreateString("x:2"));
    cr_assert_eq(kfake_update(e.k, KFAKE_POD, "the0", p, false, KFAKE_DRY_RUN, &out, &err), T0_OK, "%s", err.msg);
    cr_assert_str_eq(kfake_str(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(out, "spec"), "containers"), 0),
                               "image"), "x:2");
    cJSON_Delete(out);
    kube_delete_opts bg = {.propagation = KUBE_PROP_BACKGROUND, .grace_seconds = 0};
    cr_assert_eq(kfake_remove(e.k, KFAKE_POD, "the0", "bot-a", &bg, KFAKE_DRY_RUN, &err), T0_OK, "%s", err.msg);
    const cJSON *stored = kfake_peek(e.k, KUBE_POD, "the0", "bot-a");
    cr_assert_not_null(stored, "a dry-run delete deletes nothing");
    cr_assert_str_eq(kfake_str(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(stored, "spec"), "containers"), 0),
                               "image"), "x:1", "a dry-run update stores nothing");
    cr_assert_eq(kfake_resource_version(e.k), 1);
    cJSON_Delete(p);
    cJSON *bad = cJSON_Parse("{\"metadata\":{\"name\":\"Bad\"},\"spec\":{\"containers\":[]}}");
    cr_assert_eq(kfake_create(e.k, KFAKE_POD, "the0", bad, 0, NULL, &err), T0_EINVALID, "%s", err.msg);
    cJSON_Delete(bad);
    char *causes = cJSON_PrintUnformatted(kfake_causes(e.k));
    cr_assert_str_eq(causes,
                     "[{\"reason\":\"FieldValueInvalid\",\"message\":\"Invalid value: \\\"Bad\\\": a lowercase RFC 1123 "
                     "subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end "
                     "with an alphanumeric character (e.g. 'example.com', regex used for validation is "
                     "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')\",\"field\":\"metadata.name\"},"
                     "{\"reason\":\"FieldValueRequired\",\"message\":\"Required value\",\"field\":\"spec.containers\"}]",
                     "%s", causes);
    free(causes);
    env_free(&e);
}
