/* test_kubelet.c: the simulated kubelet: startup and status, CrashLoopBackOff timing, graceful stop,
 * grace expiry, restartPolicy Never, init failures, eviction, state/log shipping, determinism. */
#include <criterion/criterion.h>
#include <string.h>

#include "fakes/kubelet.h"
#include "fsm/tables.h"

typedef struct kenv {
    sim_loop *loop;
    kfake *k;
    kubelet *kl;
    kube_port api;
    char trace[8192];
    int64_t restarts_at[32];
    int nrestart;
    int64_t exits_at[32];
    int nexit;
} kenv;

static void tracer(void *ud, const fsm_table *t, const char *key, const fsm_result *r)
{
    kenv *e = ud;
    char line[200];
    snprintf(line, sizeof line, "%lld %s %s %s->%s\n", (long long)(sim_loop_now(e->loop) - SIM_EPOCH_DEFAULT_MS), key,
             fsm_event_name(t, r->event), fsm_state_name(t, r->from), fsm_state_name(t, r->to));
    strncat(e->trace, line, sizeof e->trace - strlen(e->trace) - 1);
    if (t == &fsm_pod_table && r->event == PE_BACKOFF_DONE && r->from == PS_BOT_BACKOFF && e->nrestart < 32)
        e->restarts_at[e->nrestart++] = sim_loop_now(e->loop);
    if (t == &fsm_pod_table && r->event == PE_BOT_EXIT && e->nexit < 32) e->exits_at[e->nexit++] = sim_loop_now(e->loop);
}

static void kenv_init(kenv *e, uint64_t seed)
{
    memset(e, 0, sizeof *e);
    t0_err err = {0};
    cr_assert_eq(sim_loop_new(seed, 0, &e->loop, &err), T0_OK);
    cr_assert_eq(kfake_new(e->loop, NULL, NULL, &e->k, &err), T0_OK);
    cr_assert_eq(kubelet_new(e->loop, e->k, NULL, NULL, &e->kl, &err), T0_OK, "%s", err.msg);
    cr_assert_eq(kubelet_add_node(e->kl, "node-1", &err), T0_OK);
    e->api = kfake_port(e->k);
    fsm_tracer t = {tracer, e};
    kubelet_set_tracer(e->kl, &t);
}

static void kenv_free(kenv *e)
{
    kubelet_destroy(e->kl);
    kfake_destroy(e->k);
    sim_loop_destroy(e->loop);
}

static void mkpod(kenv *e, const char *id, const char *policy)
{
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"bot-%s\",\"labels\":{\"the0.dev/bot-id\":\"%s\"}},\"spec\":{\"restartPolicy\":\"%s\","
             "\"initContainers\":[{\"name\":\"init\",\"image\":\"runtime:latest\"}],\"containers\":[{\"name\":\"bot\","
             "\"image\":\"the0/python311:latest\"},{\"name\":\"sync\",\"image\":\"runtime:latest\"}]}}",
             id, id, policy);
    cJSON *p = cJSON_Parse(buf);
    t0_err err = {0};
    cr_assert_eq(e->api.create(e->api.ctx, KUBE_POD, "the0", p, NULL, &err), T0_OK, "%s", err.msg);
    cJSON_Delete(p);
}

static const char *pstr(kenv *e, const char *name, const char *path)
{
    const cJSON *p = kfake_peek(e->k, KUBE_POD, "the0", name);
    return p ? kfake_str(p, path) : NULL;
}

static const cJSON *cstatus(kenv *e, const char *name, int i)
{
    const cJSON *p = kfake_peek(e->k, KUBE_POD, "the0", name);
    return cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "status"), "containerStatuses"), i);
}

static void at(kenv *e, int64_t ms) { sim_loop_run_until(e->loop, SIM_EPOCH_DEFAULT_MS + ms); }

Test(kubelet, pod_starts_and_reports_status)
{
    kenv e;
    kenv_init(&e, 1);
    mkpod(&e, "a", "Always");
    at(&e, 100);
    cr_assert_str_eq(pstr(&e, "bot-a", "spec.nodeName"), "node-1");
    cr_assert_str_eq(pstr(&e, "bot-a", "status.phase"), "Pending");
    cr_assert_str_eq(kfake_str(cstatus(&e, "bot-a", 0), "state.waiting.reason"), "ContainerCreating");
    at(&e, 1200); /* pulled at 1 s; init runs */
    cr_assert_str_eq(kfake_str(cstatus(&e, "bot-a", 0), "state.waiting.reason"), "PodInitializing");
    at(&e, 1600); /* init done at 1.5 s */
    cr_assert_str_eq(pstr(&e, "bot-a", "status.phase"), "Running");
    cr_assert_str_eq(pstr(&e, "bot-a", "status.podIP"), "10.244.1.1");
    cr_assert_str_eq(kfake_str(cstatus(&e, "bot-a", 0), "state.running.startedAt"), "2026-01-05T00:00:01Z");
    cr_assert_str_eq(kfake_str(cstatus(&e, "bot-a", 1), "name"), "sync");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(cstatus(&e, "bot-a", 0), "ready")));
    kubelet_bot_obs o;
    cr_assert(kubelet_bot_observe(e.kl, "a", &o));
    cr_assert_eq(o.bot_running, 1);
    cr_assert_eq(kubelet_pod_state(e.kl, "the0", "bot-a"), PS_RUNNING);
    kenv_free(&e);
}

Test(kubelet, crashloop_backoff_doubles_to_300s)
{
    kenv e;
    kenv_init(&e, 1);
    kubelet_program p;
    kubelet_program_default(&p);
    p.exit_after_ms = 1000;
    p.exit_code = 1;
    kubelet_set_program(e.kl, "a", &p, NULL);
    mkpod(&e, "a", "Always");
    at(&e, 3600 * 1000);
    int64_t want[] = {10, 20, 40, 80, 160, 300, 300, 300};
    cr_assert_geq(e.nrestart, 8, "restarts: %d\n%s", e.nrestart, e.trace);
    for (int i = 0; i < 8; i++) {
        int64_t gap = (e.restarts_at[i] - e.exits_at[i]) / 1000;
        cr_assert_eq(gap, want[i], "backoff %d: %lld s, want %lld s", i, (long long)gap, (long long)want[i]);
    }
    const cJSON *bot = cstatus(&e, "bot-a", 0);
    cr_assert_eq(cJSON_GetObjectItem(bot, "restartCount")->valuedouble, e.nrestart);
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(bot, "lastState"), "terminated"), "exitCode")->valuedouble, 1);
    /* between a crash and the restart the container waits in CrashLoopBackOff */
    at(&e, (e.exits_at[e.nexit - 1] - SIM_EPOCH_DEFAULT_MS) + 5);
    cr_assert_str_eq(kfake_str(cstatus(&e, "bot-a", 0), "state.waiting.reason"), "CrashLoopBackOff");
    kenv_free(&e);
}

Test(kubelet, crashloop_backoff_resets_after_ten_minutes_up)
{
    kenv e;
    kenv_init(&e, 1);
    kubelet_program p;
    kubelet_program_default(&p);
    p.exit_after_ms = 11 * 60 * 1000;
    p.exit_code = 2;
    kubelet_set_program(e.kl, "a", &p, NULL);
    mkpod(&e, "a", "Always");
    at(&e, 4 * 3600 * 1000);
    cr_assert_geq(e.nrestart, 4, "%s", e.trace);
    for (int i = 0; i < e.nrestart; i++)
        cr_assert_eq((e.restarts_at[i] - e.exits_at[i]) / 1000, 10, "backoff %d: %lld s", i,
                     (long long)(e.restarts_at[i] - e.exits_at[i]) / 1000);
    kenv_free(&e);
}

Test(kubelet, graceful_stop_ships_state_before_removal)
{
    kenv e;
    kenv_init(&e, 1);
    kubelet_program p;
    kubelet_program_default(&p);
    p.nwrites = 1;
    p.writes[0].at_ms = 5000;
    snprintf(p.writes[0].key, sizeof p.writes[0].key, "pos");
    snprintf(p.writes[0].val, sizeof p.writes[0].val, "long");
    p.log_every_ms = 1000;
    kubelet_set_program(e.kl, "a", &p, NULL);
    mkpod(&e, "a", "Always");
    at(&e, 10000);
    t0_err err = {0};
    cr_assert_eq(e.api.remove(e.api.ctx, KUBE_POD, "the0", "bot-a", NULL, &err), T0_OK);
    at(&e, 10001);
    cr_assert_not_null(pstr(&e, "bot-a", "metadata.deletionTimestamp"));
    cr_assert_eq(kubelet_pod_state(e.kl, "the0", "bot-a"), PS_TERMINATING);
    at(&e, 12000);
    cr_assert_null(kfake_peek(e.k, KUBE_POD, "the0", "bot-a"), "removed once bot and sync stopped\n%s", e.trace);
    kubelet_bot_obs o;
    kubelet_bot_observe(e.kl, "a", &o);
    cr_assert_eq(o.state_written_seq, 1);
    cr_assert_eq(o.state_uploaded_seq, 1, "the write at 5 s was shipped by the final sync");
    cr_assert_eq(o.state_lost, 0);
    cr_assert_eq(o.log_lines_shipped, o.log_lines_written, "shipped %llu of %llu lines",
                 (unsigned long long)o.log_lines_shipped, (unsigned long long)o.log_lines_written);
    cr_assert_eq(o.log_lines_lost, 0);
    cr_assert_eq(o.bot_running, 0);
    cr_assert_eq(kubelet_pods(e.kl), 0);
    kenv_free(&e);
}

Test(kubelet, sigterm_ignored_means_kill_at_grace_expiry)
{
    kenv e;
    kenv_init(&e, 1);
    kubelet_program p;
    kubelet_program_default(&p);
    p.term_ms = -1; /* bash as PID 1 */
    kubelet_set_program(e.kl, "a", &p, NULL);
    mkpod(&e, "a", "Always");
    at(&e, 10000);
    t0_err err = {0};
    cr_assert_eq(e.api.remove(e.api.ctx, KUBE_POD, "the0", "bot-a", NULL, &err), T0_OK);
    at(&e, 39000);
    cr_assert_not_null(kfake_peek(e.k, KUBE_POD, "the0", "bot-a"), "still terminating before 30 s");
    kubelet_bot_obs o;
    kubelet_bot_observe(e.kl, "a", &o);
    cr_assert_eq(o.bot_running, 1);
    at(&e, 40001);
    cr_assert_null(kfake_peek(e.k, KUBE_POD, "the0", "bot-a"), "SIGKILL and removal at 30 s\n%s", e.trace);
    kubelet_bot_observe(e.kl, "a", &o);
    cr_assert_eq(o.bot_running, 0);
    kenv_free(&e);
}

Test(kubelet, restart_policy_never_succeeds_or_fails_by_exit_code)
{
    kenv e;
    kenv_init(&e, 1);
    kubelet_program p;
    kubelet_program_default(&p);
    p.exit_after_ms = 3000;
    kubelet_set_program(e.kl, "ok", &p, NULL);
    p.exit_code = 3;
    kubelet_set_program(e.kl, "bad", &p, NULL);
    mkpod(&e, "ok", "Never");
    mkpod(&e, "bad", "Never");
    at(&e, 60000);
    cr_assert_str_eq(pstr(&e, "bot-ok", "status.phase"), "Succeeded", "%s", e.trace);
    cr_assert_str_eq(pstr(&e, "bot-bad", "status.phase"), "Failed");
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cstatus(&e, "bot-bad", 0), "state"), "terminated"),
                                     "exitCode")->valuedouble,
                 3);
    cr_assert_eq(cJSON_GetObjectItem(cstatus(&e, "bot-ok", 0), "restartCount")->valuedouble, 0);
    kenv_free(&e);
}

Test(kubelet, init_failures_back_off_then_succeed_or_fail_the_pod)
{
    kenv e;
    kenv_init(&e, 1);
    kubelet_program p;
    kubelet_program_default(&p);
    p.init_failures = 2;
    kubelet_set_program(e.kl, "a", &p, NULL);
    p.init_failures = -1;
    kubelet_set_program(e.kl, "n", &p, NULL);
    mkpod(&e, "a", "Always");
    mkpod(&e, "n", "Never");
    at(&e, 5000);
    cr_assert_str_eq(pstr(&e, "bot-n", "status.phase"), "Failed", "init failure under Never fails the pod");
    cr_assert_str_eq(pstr(&e, "bot-a", "status.phase"), "Pending");
    at(&e, 1500 + 10000 + 500 + 20000 + 600);
    cr_assert_str_eq(pstr(&e, "bot-a", "status.phase"), "Running", "%s", e.trace);
    const cJSON *p0 = kfake_peek(e.k, KUBE_POD, "the0", "bot-a");
    const cJSON *ics = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(p0, "status"), "initContainerStatuses"), 0);
    cr_assert_eq(cJSON_GetObjectItem(ics, "restartCount")->valuedouble, 2);
    kenv_free(&e);
}

Test(kubelet, node_loss_evicts_pods)
{
    kenv e;
    kenv_init(&e, 1);
    mkpod(&e, "a", "Always");
    at(&e, 5000);
    t0_err err = {0};
    cr_assert_eq(kubelet_node_down(e.kl, "node-1", &err), T0_OK);
    cr_assert_str_eq(pstr(&e, "bot-a", "status.phase"), "Failed");
    cr_assert_str_eq(pstr(&e, "bot-a", "status.reason"), "Evicted");
    cr_assert_str_eq(pstr(&e, "bot-a", "status.message"), "node node-1 was lost");
    kubelet_bot_obs o;
    kubelet_bot_observe(e.kl, "a", &o);
    cr_assert_eq(o.bot_running, 0);
    /* a new pod waits for a node */
    mkpod(&e, "b", "Always");
    at(&e, 10000);
    cr_assert_null(pstr(&e, "bot-b", "spec.nodeName"));
    cr_assert_eq(kubelet_add_node(e.kl, "node-2", &err), T0_OK);
    at(&e, 15000);
    cr_assert_str_eq(pstr(&e, "bot-b", "spec.nodeName"), "node-2");
    cr_assert_str_eq(pstr(&e, "bot-b", "status.phase"), "Running");
    /* the evicted pod is removed at once when deleted */
    cr_assert_eq(e.api.remove(e.api.ctx, KUBE_POD, "the0", "bot-a", NULL, &err), T0_OK);
    at(&e, 15001);
    cr_assert_null(kfake_peek(e.k, KUBE_POD, "the0", "bot-a"));
    cr_assert_leq(kubelet_max_bot_running(e.kl), 1);
    kenv_free(&e);
}

static void run_trace(uint64_t seed, char *out, size_t cap)
{
    kenv e;
    kenv_init(&e, seed);
    kubelet_program p;
    kubelet_program_default(&p);
    p.exit_after_ms = 7000;
    p.exit_code = 1;
    p.log_every_ms = 900;
    kubelet_set_program(e.kl, "a", &p, NULL);
    mkpod(&e, "a", "Always");
    mkpod(&e, "b", "Never");
    at(&e, 120000);
    t0_err err = {0};
    e.api.remove(e.api.ctx, KUBE_POD, "the0", "bot-a", NULL, &err);
    at(&e, 200000);
    snprintf(out, cap, "%s", e.trace);
    kenv_free(&e);
}

Test(kubelet, same_seed_same_event_sequence)
{
    static char a[8192], b[8192];
    run_trace(5, a, sizeof a);
    run_trace(5, b, sizeof b);
    cr_assert_gt(strlen(a), 100);
    cr_assert_str_eq(a, b, "first run:\n%s\nsecond run:\n%s", a, b);
}
