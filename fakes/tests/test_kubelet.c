/* test_kubelet.c: the simulated kubelet: startup and status, CrashLoopBackOff timing, graceful stop,
 * grace expiry, restartPolicy Never, init failures, eviction, the pod spec honoured (commands, volumes,
 * security contexts, termination messages), the bot program's events, determinism. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "fakes/kubelet.h"
#include "fsm/tables.h"
#include "testpods.h"

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
    char events[4096]; /* kubelet events: "S<n>/<eno> L<n> T K E<abrupt>" */
} kenv;

static void on_event(void *ud, const kubelet_event *ev)
{
    kenv *e = ud;
    char w[64];
    switch (ev->kind) {
    case KE_STATE_WRITE: snprintf(w, sizeof w, "S%llu/%d ", (unsigned long long)ev->n, ev->eno); break;
    case KE_LOG_LINE: snprintf(w, sizeof w, "L%llu ", (unsigned long long)ev->n); break;
    case KE_SIGTERM: snprintf(w, sizeof w, "T "); break;
    case KE_BOT_KILLED: snprintf(w, sizeof w, "K "); break;
    case KE_VOLUME_FULL: snprintf(w, sizeof w, "F:%s ", ev->key); break;
    case KE_POD_END: snprintf(w, sizeof w, "E%d ", ev->abrupt); break;
    case KE_SYNC_DOWN: snprintf(w, sizeof w, "D "); break;
    case KE_SYNC_UP: w[0] = '\0'; break; /* at every start: left out of the record */
    }
    strncat(e->events, w, sizeof e->events - strlen(e->events) - 1);
}

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
    kubelet_opts ko = {.strict = true};
    cr_assert_eq(kubelet_new(e->loop, e->k, &ko, &e->kl, &err), T0_OK, "%s", err.msg);
    cr_assert_eq(kubelet_add_node(e->kl, "node-1", &err), T0_OK);
    tp_register(e->kl);
    e->api = kfake_port(e->k);
    fsm_tracer t = {tracer, e};
    kubelet_set_tracer(e->kl, &t);
    kubelet_set_observer(e->kl, on_event, e);
}

static void kenv_free(kenv *e)
{
    kubelet_destroy(e->kl);
    kfake_destroy(e->k);
    sim_loop_destroy(e->loop);
}

static void create(kenv *e, cJSON *p)
{
    t0_err err = {0};
    cr_assert_not_null(p);
    cr_assert_eq(e->api.create(e->api.ctx, KUBE_POD, "the0", p, NULL, &err), T0_OK, "%s", err.msg);
    cJSON_Delete(p);
}

static void mkpod(kenv *e, const char *id, const char *policy) { create(e, tp_pod(id, policy, false)); }

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

/* The kernel's OOM killer ends a running container: exit 137, OOMKilled, restarted under Always; a container
 * that is not running cannot be killed. */
Test(kubelet, oom_kill_ends_a_container_with_137_and_it_restarts)
{
    kenv e;
    kenv_init(&e, 1);
    mkpod(&e, "a", "Always");
    at(&e, 2000);
    t0_err err = {0};
    cr_assert_eq(kubelet_oom_kill(e.kl, "the0", "bot-a", "init", &err), T0_ENOTFOUND, "the init container has ended");
    cr_assert_eq(kubelet_oom_kill(e.kl, "the0", "bot-a", "proxy", &err), T0_EINVAL);
    cr_assert_eq(kubelet_oom_kill(e.kl, "the0", "bot-x", "sync", &err), T0_ENOTFOUND);
    cr_assert_eq(kubelet_oom_kill(e.kl, "the0", "bot-a", "sync", &err), T0_OK, "%s", err.msg);
    cr_assert(strstr(e.events, "D "), "the checker hears that nothing ships: %s", e.events);
    at(&e, 2001);
    const cJSON *sync = cstatus(&e, "bot-a", 1);
    cr_assert_str_eq(kfake_str(sync, "name"), "sync");
    cr_assert_str_eq(kfake_str(sync, "lastState.terminated.reason"), "OOMKilled", "%s",
                     kfake_str(sync, "lastState.terminated.reason") ? kfake_str(sync, "lastState.terminated.reason") : "(none)");
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(sync, "lastState"), "terminated"), "exitCode")->valueint,
                 137);
    at(&e, 30000);
    sync = cstatus(&e, "bot-a", 1);
    cr_assert(cJSON_GetObjectItem(cJSON_GetObjectItem(sync, "state"), "running"), "the sync container runs again");
    cr_assert_eq(cJSON_GetObjectItem(sync, "restartCount")->valueint, 1);
    cr_assert_str_eq(pstr(&e, "bot-a", "status.phase"), "Running");
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

/* The bot program writes its state and log lines through the pod's filesystem, and the kubelet reports
 * them; a graceful stop lets the bot finish before the pod is removed. */
Test(kubelet, graceful_stop_lets_the_bot_finish)
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
    p.term_ms = 500;
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
    /* the bot started at 1.5 s: lines at 2.5 ... 9.5 s, the write at 6.5 s, SIGTERM at 10 s, one more line at
     * 10.5 s while it stops */
    cr_assert_str_eq(e.events, "L1 L2 L3 L4 S1/0 L5 L6 L7 L8 T L9 E0 ", "events: %s", e.events);
    kubelet_bot_obs o;
    kubelet_bot_observe(e.kl, "a", &o);
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
    cr_assert_str_eq(e.events, "T K E0 ", "a bot killed at the end of its grace period is reported: %s", e.events);
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

static const cJSON *c_term(kenv *e, const char *pod, const char *list, int i)
{
    const cJSON *p = kfake_peek(e->k, KUBE_POD, "the0", pod);
    const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "status"), list), i);
    const cJSON *st = cJSON_GetObjectItem(c, "state");
    const cJSON *t = cJSON_GetObjectItem(st, "terminated");
    return t ? t : cJSON_GetObjectItem(cJSON_GetObjectItem(c, "lastState"), "terminated");
}

/* What the spec says is what the container gets: a bot on a read-only root cannot write its runtime's
 * wrapper to /tmp (exit 1); a command the node does not have, a volume the pod does not define and
 * runAsNonRoot as uid 0 cannot start (StartError, 128, with the reason as the message). */
Test(kubelet, the_pod_spec_is_honoured)
{
    kenv e;
    kenv_init(&e, 1);
    create(&e, tp_pod("ro", "Always", true));
    cJSON *cmd = tp_pod("cmd", "Always", false);
    cJSON *sync = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cmd, "spec"), "containers"), 1);
    cJSON_ReplaceItemInArray(cJSON_GetObjectItem(sync, "command"), 0, cJSON_CreateString("/app/runtme"));
    create(&e, cmd);
    cJSON *vol = tp_pod("vol", "Always", false);
    cJSON *mounts = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(vol, "spec"), "initContainers"), 0),
                                        "volumeMounts");
    cJSON_ReplaceItemInObject(cJSON_GetArrayItem(mounts, 1), "name", cJSON_CreateString("state"));
    create(&e, vol);
    cJSON *root = tp_pod("root", "Always", false);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "spec"), "securityContext"), "runAsUser",
                              cJSON_CreateNumber(0));
    create(&e, root);
    at(&e, 4000);
    const cJSON *t = c_term(&e, "bot-ro", "containerStatuses", 0);
    cr_assert_not_null(t, "the bot on a read-only root ran on\n%s", e.trace);
    cr_assert_eq(cJSON_GetObjectItem(t, "exitCode")->valueint, 1);
    t = c_term(&e, "bot-cmd", "containerStatuses", 1);
    cr_assert_not_null(t);
    cr_assert_str_eq(kfake_str(t, "reason"), "StartError");
    cr_assert_eq(cJSON_GetObjectItem(t, "exitCode")->valueint, 128);
    cr_assert(strstr(kfake_str(t, "message"), "exec: \"/app/runtme\""), "%s", kfake_str(t, "message"));
    t = c_term(&e, "bot-vol", "initContainerStatuses", 0);
    cr_assert_not_null(t);
    cr_assert(strstr(kfake_str(t, "message"), "volume \"state\" not found"), "%s", kfake_str(t, "message"));
    cr_assert_str_eq(pstr(&e, "bot-vol", "status.phase"), "Pending");
    t = c_term(&e, "bot-root", "initContainerStatuses", 0);
    cr_assert_not_null(t);
    cr_assert(strstr(kfake_str(t, "message"), "runAsNonRoot"), "%s", kfake_str(t, "message"));
    kenv_free(&e);
}

/* The termination file of a container is its status message (here the stand-in sidecar's, and the init
 * container's when it fails). */
Test(kubelet, termination_messages_reach_the_status)
{
    kenv e;
    kenv_init(&e, 1);
    kubelet_program p;
    kubelet_program_default(&p);
    p.exit_after_ms = 2000;
    kubelet_set_program(e.kl, "j", &p, NULL);
    p.init_failures = -1;
    kubelet_set_program(e.kl, "n", &p, NULL);
    mkpod(&e, "j", "Never");
    mkpod(&e, "n", "Never");
    at(&e, 10000);
    cr_assert_str_eq(pstr(&e, "bot-j", "status.phase"), "Succeeded", "%s", e.trace);
    const cJSON *t = c_term(&e, "bot-j", "containerStatuses", 1);
    cr_assert_str_eq(kfake_str(t, "message"), "stand-in sync done");
    t = c_term(&e, "bot-n", "initContainerStatuses", 0);
    cr_assert_str_eq(kfake_str(t, "message"), "code object missing");
    cr_assert_str_eq(pstr(&e, "bot-n", "status.phase"), "Failed");
    kenv_free(&e);
}
