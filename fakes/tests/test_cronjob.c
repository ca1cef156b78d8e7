/* test_cronjob.c: the simulated CronJob and Job controllers: schedules on the virtual clock, Forbid and
 * Replace, history limits, the ">100 missed starts" rule and startingDeadlineSeconds, backoffLimit with
 * fresh pods, activeDeadlineSeconds, Foreground deletion, timeZone handling, determinism. */
#include <criterion/criterion.h>
#include <string.h>

#include "fakes/cronjob_ctl.h"
#include "fakes/kubelet.h"
#include "testpods.h"

typedef struct cenv {
    sim_loop *loop;
    kfake *k;
    kubelet *kl;
    cronctl *cc;
    kube_port api;
} cenv;

static void cenv_init(cenv *e, uint64_t seed)
{
    memset(e, 0, sizeof *e);
    t0_err err = {0};
    cr_assert_eq(sim_loop_new(seed, 0, &e->loop, &err), T0_OK);
    cr_assert_eq(kfake_new(e->loop, NULL, NULL, &e->k, &err), T0_OK);
    kubelet_opts ko = {.strict = true};
    cr_assert_eq(kubelet_new(e->loop, e->k, &ko, &e->kl, &err), T0_OK);
    cr_assert_eq(kubelet_add_node(e->kl, "node-1", &err), T0_OK);
    tp_register(e->kl);
    cr_assert_eq(cronctl_new(e->loop, e->k, NULL, &e->cc, &err), T0_OK, "%s", err.msg);
    e->api = kfake_port(e->k);
}

static void cenv_free(cenv *e)
{
    cronctl_destroy(e->cc);
    kubelet_destroy(e->kl);
    kfake_destroy(e->k);
    sim_loop_destroy(e->loop);
}

/* A CronJob "cj-<id>" whose pods run bot id ID. EXTRA is spliced into spec (e.g. "\"concurrencyPolicy\":\"Forbid\","). */
static void mkcj(cenv *e, const char *id, const char *schedule, const char *extra, const char *job_extra)
{
    char buf[2048];
    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"cj-%s\"},\"spec\":{%s\"schedule\":\"%s\",\"jobTemplate\":{\"spec\":{%s\"template\":"
             "{\"metadata\":{\"labels\":{\"the0.dev/bot-id\":\"%s\"}}}}}}}",
             id, extra ? extra : "", schedule, job_extra ? job_extra : "", id);
    cJSON *o = cJSON_Parse(buf);
    cr_assert_not_null(o, "%s", buf);
    cJSON *tpl = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "jobTemplate"), "spec"),
                                     "template");
    cJSON_AddItemToObject(tpl, "spec", tp_pod_spec(id, "Never", false));
    cr_assert_not_null(o, "%s", buf);
    t0_err err = {0};
    cr_assert_eq(e->api.create(e->api.ctx, KUBE_CRONJOB, "the0", o, NULL, &err), T0_OK, "%s", err.msg);
    cJSON_Delete(o);
}

static void program(cenv *e, const char *id, int64_t exit_after, int code)
{
    kubelet_program p;
    kubelet_program_default(&p);
    p.exit_after_ms = exit_after;
    p.exit_code = code;
    kubelet_set_program(e->kl, id, &p, NULL);
}

static int count_label(cenv *e, kube_kind kind, const char *id)
{
    return (int)kfake_count_label(e->k, kind, "the0", "the0.dev/bot-id", id);
}

static void at(cenv *e, int64_t ms) { sim_loop_run_until(e->loop, SIM_EPOCH_DEFAULT_MS + ms); }

static const char *cjs(cenv *e, const char *name, const char *path)
{
    const cJSON *o = kfake_peek(e->k, KUBE_CRONJOB, "the0", name);
    return o ? kfake_str(o, path) : NULL;
}

Test(cronjob, runs_on_schedule_and_keeps_history_limits)
{
    cenv e;
    cenv_init(&e, 1);
    program(&e, "a", 5000, 0);
    mkcj(&e, "a", "* * * * *", NULL, NULL);
    at(&e, 60 * 1000 + 100);
    cr_assert_not_null(kfake_peek(e.k, KUBE_JOB, "the0", "cj-a-29459521"), "job named by the scheduled minute (unix minutes)");
    cr_assert_str_eq(cjs(&e, "cj-a", "status.lastScheduleTime"), "2026-01-05T00:01:00Z");
    const cJSON *active = cJSON_GetObjectItem(cJSON_GetObjectItem(kfake_peek(e.k, KUBE_CRONJOB, "the0", "cj-a"), "status"), "active");
    cr_assert_eq(cJSON_GetArraySize(active), 1);
    at(&e, 60 * 1000 + 30000);
    const cJSON *job = kfake_peek(e.k, KUBE_JOB, "the0", "cj-a-29459521");
    cr_assert_str_eq(kfake_str(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(job, "status"), "conditions"), 0), "type"),
                     "Complete");
    cr_assert_not_null(cjs(&e, "cj-a", "status.lastSuccessfulTime"));
    at(&e, 10 * 60 * 1000);
    cronctl_stats st;
    cronctl_get_stats(e.cc, &st);
    cr_assert_eq(st.jobs_created, 10, "one job per minute: %llu", (unsigned long long)st.jobs_created);
    cr_assert_eq(kfake_count(e.k, KUBE_JOB), 3 + 1, "3 successful kept + the running one: %zu", kfake_count(e.k, KUBE_JOB));
    at(&e, 10 * 60 * 1000 + 30000);
    cr_assert_eq(kfake_count(e.k, KUBE_JOB), 3, "successfulJobsHistoryLimit 3: %zu", kfake_count(e.k, KUBE_JOB));
    cr_assert_eq(count_label(&e, KUBE_POD, "a"), 3, "the pods of deleted jobs are collected");
    cenv_free(&e);
}

Test(cronjob, forbid_skips_while_a_job_runs)
{
    cenv e;
    cenv_init(&e, 1);
    program(&e, "f", -1, 0);
    mkcj(&e, "f", "*/5 * * * *", "\"concurrencyPolicy\":\"Forbid\",", NULL);
    at(&e, 21 * 60 * 1000);
    cronctl_stats st;
    cronctl_get_stats(e.cc, &st);
    cr_assert_eq(st.jobs_created, 1);
    cr_assert_eq(st.skipped_forbid, 3, "activations at 10, 15, 20 min skipped: %llu", (unsigned long long)st.skipped_forbid);
    cr_assert_str_eq(cjs(&e, "cj-f", "status.lastScheduleTime"), "2026-01-05T00:05:00Z", "Forbid leaves lastScheduleTime");
    cenv_free(&e);
}

Test(cronjob, replace_deletes_the_running_job)
{
    cenv e;
    cenv_init(&e, 1);
    program(&e, "r", -1, 0);
    mkcj(&e, "r", "*/5 * * * *", "\"concurrencyPolicy\":\"Replace\",", NULL);
    at(&e, 5 * 60 * 1000 + 1000);
    cr_assert_not_null(kfake_peek(e.k, KUBE_JOB, "the0", "cj-r-29459525"));
    at(&e, 10 * 60 * 1000 + 1000);
    cr_assert_null(kfake_peek(e.k, KUBE_JOB, "the0", "cj-r-29459525"), "replaced");
    cr_assert_not_null(kfake_peek(e.k, KUBE_JOB, "the0", "cj-r-29459530"));
    cronctl_stats st;
    cronctl_get_stats(e.cc, &st);
    cr_assert_eq(st.replaced, 1);
    at(&e, 10 * 60 * 1000 + 40000);
    kubelet_bot_obs o;
    kubelet_bot_observe(e.kl, "r", &o);
    cr_assert_eq(o.bot_running, 1, "the old pod is gone after its grace period: %u", o.bot_running);
    cenv_free(&e);
}

Test(cronjob, more_than_100_missed_starts_blocks_without_deadline)
{
    cenv e;
    cenv_init(&e, 1);
    program(&e, "m", 1000, 0);
    program(&e, "d", 1000, 0);
    mkcj(&e, "m", "* * * * *", NULL, NULL);
    mkcj(&e, "d", "* * * * *", "\"startingDeadlineSeconds\":200,", NULL);
    at(&e, 100);
    cronctl_set_down(e.cc, true);
    at(&e, 2 * 3600 * 1000 + 30000); /* 120 activations missed */
    cronctl_set_down(e.cc, false);
    at(&e, 2 * 3600 * 1000 + 31000);
    cronctl_stats st;
    cronctl_get_stats(e.cc, &st);
    cr_assert_eq(st.missed_too_many, 1, "%llu", (unsigned long long)st.missed_too_many);
    cr_assert_eq(count_label(&e, KUBE_JOB, "m"), 0);
    cr_assert_eq(kfake_count(e.k, KUBE_JOB), 1, "the CronJob with startingDeadlineSeconds runs its most recent time");
    cr_assert_not_null(kfake_peek(e.k, KUBE_JOB, "the0", "cj-d-29459640"));
    /* the undeadlined one stays stuck: every later activation still sees > 100 missed */
    at(&e, 2 * 3600 * 1000 + 5 * 60 * 1000);
    cronctl_get_stats(e.cc, &st);
    cr_assert_geq(st.missed_too_many, 5);
    cr_assert_null(cjs(&e, "cj-m", "status.lastScheduleTime"));
    cenv_free(&e);
}

Test(cronjob, backoff_limit_with_fresh_pods)
{
    cenv e;
    cenv_init(&e, 1);
    program(&e, "b", 2000, 1);
    mkcj(&e, "b", "0 * * * *", NULL, "\"backoffLimit\":2,");
    at(&e, 3600 * 1000 + 10 * 60 * 1000);
    const cJSON *job = kfake_peek(e.k, KUBE_JOB, "the0", "cj-b-29459580");
    cr_assert_not_null(job);
    const cJSON *st = cJSON_GetObjectItem(job, "status");
    cr_assert_eq(cJSON_GetObjectItem(st, "failed")->valuedouble, 3);
    cr_assert_str_eq(kfake_str(cJSON_GetArrayItem(cJSON_GetObjectItem(st, "conditions"), 0), "reason"), "BackoffLimitExceeded");
    kubelet_bot_obs o;
    kubelet_bot_observe(e.kl, "b", &o);
    cr_assert_eq(o.pods_started, 3, "each retry is a fresh pod: %llu", (unsigned long long)o.pods_started);
    cr_assert_eq(count_label(&e, KUBE_POD, "b"), 3, "failed pods are kept");
    cenv_free(&e);
}

Test(cronjob, active_deadline_kills_the_pod)
{
    cenv e;
    cenv_init(&e, 1);
    program(&e, "x", -1, 0);
    mkcj(&e, "x", "0 * * * *", NULL, "\"activeDeadlineSeconds\":60,");
    at(&e, 3600 * 1000 + 59000);
    cr_assert_eq(count_label(&e, KUBE_POD, "x"), 1);
    at(&e, 3600 * 1000 + 2 * 60 * 1000);
    const cJSON *job = kfake_peek(e.k, KUBE_JOB, "the0", "cj-x-29459580");
    cr_assert_str_eq(kfake_str(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(job, "status"), "conditions"), 0), "reason"),
                     "DeadlineExceeded");
    cr_assert_eq(count_label(&e, KUBE_POD, "x"), 0, "the pod was deleted");
    cenv_free(&e);
}

Test(cronjob, foreground_delete_removes_jobs_and_pods)
{
    cenv e;
    cenv_init(&e, 1);
    kubelet_program p;
    kubelet_program_default(&p);
    p.term_ms = -1; /* the pods take their whole 30 s grace period */
    kubelet_set_program(e.kl, "g", &p, NULL);
    mkcj(&e, "g", "*/2 * * * *", NULL, NULL);
    at(&e, 5 * 60 * 1000);
    cr_assert_eq(count_label(&e, KUBE_POD, "g"), 2);
    t0_err err = {0};
    kube_delete_opts fg = {.propagation = KUBE_PROP_FOREGROUND, .grace_seconds = -1};
    cr_assert_eq(e.api.remove(e.api.ctx, KUBE_CRONJOB, "the0", "cj-g", &fg, &err), T0_OK);
    at(&e, 5 * 60 * 1000 + 1000);
    cr_assert_not_null(kfake_peek(e.k, KUBE_CRONJOB, "the0", "cj-g"), "waits for its pods");
    cr_assert_not_null(kfake_str(kfake_peek(e.k, KUBE_CRONJOB, "the0", "cj-g"), "metadata.deletionTimestamp"));
    at(&e, 5 * 60 * 1000 + 31000);
    cr_assert_null(kfake_peek(e.k, KUBE_CRONJOB, "the0", "cj-g"));
    cr_assert_eq(kfake_count(e.k, KUBE_JOB), 0);
    cr_assert_eq(count_label(&e, KUBE_POD, "g"), 0);
    at(&e, 20 * 60 * 1000);
    cr_assert_eq(kfake_count(e.k, KUBE_JOB), 0, "no activation after deletion");
    cenv_free(&e);
}

Test(cronjob, time_zone_utc_runs_other_zones_are_reported)
{
    cenv e;
    cenv_init(&e, 1);
    program(&e, "u", 1000, 0);
    program(&e, "t", 1000, 0);
    mkcj(&e, "u", "@hourly", "\"timeZone\":\"Etc/UTC\",", NULL);
    mkcj(&e, "t", "@hourly", "\"timeZone\":\"Europe/Paris\",", NULL);
    at(&e, 3600 * 1000 + 1000);
    cr_assert_not_null(kfake_peek(e.k, KUBE_JOB, "the0", "cj-u-29459580"));
    cr_assert_eq(count_label(&e, KUBE_JOB, "t"), 0);
    cJSON *l = NULL;
    t0_err err = {0};
    e.api.list(e.api.ctx, KUBE_EVENT, "the0", NULL, NULL, &l, &err);
    bool seen = false;
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(l, "items")) if (!strcmp(kfake_str(it, "reason"), "UnknownTimeZone")) seen = true;
    cr_assert(seen, "an UnknownTimeZone event is recorded");
    cJSON_Delete(l);
    cenv_free(&e);
}

static void observe(void *ud, kube_watch_type type, kube_kind kind, const cJSON *obj)
{
    char *buf = ud;
    char line[200];
    snprintf(line, sizeof line, "%d %d %s %s %s\n", (int)type, (int)kind, kfake_str(obj, "metadata.name"),
             kfake_str(obj, "metadata.resourceVersion"), kfake_str(obj, "status.phase") ? kfake_str(obj, "status.phase") : "");
    size_t n = strlen(buf);
    if (n + strlen(line) < 200000) strcat(buf, line);
}

static void run(uint64_t seed, char *buf)
{
    cenv e;
    cenv_init(&e, seed);
    buf[0] = '\0';
    kfake_set_observer(e.k, observe, buf);
    program(&e, "z", 45000, 1);
    mkcj(&e, "z", "*/3 * * * *", "\"concurrencyPolicy\":\"Replace\",", "\"backoffLimit\":1,");
    at(&e, 30 * 60 * 1000);
    cenv_free(&e);
}

Test(cronjob, same_seed_identical_event_sequence)
{
    static char a[200001], b[200001];
    run(9, a);
    run(9, b);
    cr_assert_gt(strlen(a), 1000);
    cr_assert_str_eq(a, b, "run 1:\n%s\nrun 2:\n%s", a, b);
}
