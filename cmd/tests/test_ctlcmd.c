/* test_ctlcmd.c: pieces of `the0-runtime controller` that need no servers: listen
 * addresses and the Prometheus text exposition. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/runtime_controller.h"
#include "fsm/tables.h"

Test(ctlcmd, listen_addresses)
{
    char h[64];
    int p;
    cr_assert(ctlcmd_parse_addr(":8080", h, sizeof h, &p));
    cr_assert_str_eq(h, "");
    cr_assert_eq(p, 8080);
    cr_assert(ctlcmd_parse_addr("127.0.0.1:0", h, sizeof h, &p));
    cr_assert_str_eq(h, "127.0.0.1");
    cr_assert_eq(p, 0);
    cr_assert(ctlcmd_parse_addr("[::1]:9090", h, sizeof h, &p));
    cr_assert_str_eq(h, "::1");
    cr_assert_eq(p, 9090);
    cr_assert_not(ctlcmd_parse_addr("8080", h, sizeof h, &p));
    cr_assert_not(ctlcmd_parse_addr(":99999", h, sizeof h, &p));
    cr_assert_not(ctlcmd_parse_addr("[::1]9090", h, sizeof h, &p));
}

/* line: the value of the sample line that starts with NAME (exactly, followed by a space), or -1. */
static double sample(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p && *p;) {
        if (!strncmp(p, name, n) && p[n] == ' ') return strtod(p + n + 1, NULL);
        p = strchr(p, '\n');
        if (p) p++;
    }
    return -1;
}

Test(ctlcmd, metrics_text_format)
{
    ctlcmd_snapshot s;
    memset(&s, 0, sizeof s);
    s.st.reconciles = 12;
    s.st.reconcile_errors = 2;
    s.st.deletion_guard_trips = 3;
    s.st.final_sync_failures = 2;
    s.st.queue_depth = 4;
    s.st.bot_states[BS_RUNNING] = 7;
    s.st.sched_states[SS_IDLE] = 5;
    s.st.leader = true;
    s.ready = true;
    s.have_kube = true;
    s.ks.requests[KR_GET] = 10;
    s.ks.bucket[KR_GET][0] = 6; /* <= 5 ms */
    for (int i = 1; i < KUBEREST_NBUCKETS; i++) s.ks.bucket[KR_GET][i] = 10;
    s.ks.sum_s[KR_GET] = 0.25;
    s.have_nats = true;
    s.ns.acked = 9;
    s.nats_connected = true;
    char *t = ctlcmd_metrics_text(&s);
    cr_assert_not_null(t);
    struct {
        const char *name;
        double want;
    } w[] = {
        {"the0_controller_reconciles_total", 12},
        {"the0_controller_reconcile_errors_total", 2},
        {"the0_controller_deletion_guard_trips_total", 3},
        {"the0_controller_final_sync_failures_total", 2},
        {"the0_controller_queue_depth", 4},
        {"the0_controller_leader", 1},
        {"the0_controller_ready", 1},
        {"the0_controller_bots{state=\"running\"}", 7},
        {"the0_controller_bots{state=\"absent\"}", 0},
        {"the0_controller_schedules{state=\"scheduled\"}", 5},
        {"the0_kube_api_requests_total{verb=\"get\"}", 10},
        {"the0_kube_api_request_duration_seconds_bucket{verb=\"get\",le=\"0.005\"}", 6},
        {"the0_kube_api_request_duration_seconds_bucket{verb=\"get\",le=\"+Inf\"}", 10},
        {"the0_kube_api_request_duration_seconds_count{verb=\"get\"}", 10},
        {"the0_kube_api_request_duration_seconds_sum{verb=\"get\"}", 0.25},
        {"the0_nats_acked_total", 9},
        {"the0_nats_connected", 1},
    };
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
        double v = sample(t, w[i].name);
        cr_assert_float_eq(v, w[i].want, 1e-9, "%s: got %g want %g", w[i].name, v, w[i].want);
    }
    /* every sample has a TYPE line before it, once per family; every line ends with \n */
    cr_assert(strstr(t, "# TYPE the0_kube_api_request_duration_seconds histogram\n"));
    cr_assert(strstr(t, "# TYPE the0_controller_reconciles_total counter\n"));
    const char *p = strstr(t, "# TYPE the0_controller_bots gauge");
    cr_assert(p && p == strstr(t, "# TYPE the0_controller_bots "), "one TYPE line for the bots family");
    cr_assert_eq(t[strlen(t) - 1], '\n');
    int states = 0;
    for (const char *q = t; (q = strstr(q, "the0_controller_bots{state=")); q++) states++;
    cr_assert_eq(states, fsm_bot_table.nstates, "bots states %d want %d", states, fsm_bot_table.nstates);
    free(t);
    /* no NATS: no NATS families */
    s.have_nats = false;
    t = ctlcmd_metrics_text(&s);
    cr_assert_null(strstr(t, "the0_nats_"));
    free(t);
}

Test(ctlcmd, metrics_text_has_the_standard_families)
{
    ctlcmd_snapshot s;
    memset(&s, 0, sizeof s);
    s.st.kinds[0].name = "bot-controller";
    s.st.kinds[1].name = "schedule-controller";
    s.st.kinds[0].results[CTL_RESULT_SUCCESS] = 5;
    s.st.kinds[0].results[CTL_RESULT_ERROR] = 2;
    s.st.kinds[1].queue.depth = 3;
    s.st.kinds[1].queue.adds = 11;
    s.st.leader = true;
    s.lease_name = "the0-runtime-controller";
    s.live.processing_since_ns[0] = 1000000000;
    s.now_ns = 3500000000;
    s.have_kube = true;
    snprintf(s.ks.host, sizeof s.ks.host, "10.0.0.1:443");
    char *t = ctlcmd_metrics_text(&s);
    cr_assert_not_null(t);
    struct {
        const char *series;
        double want;
    } w[] = {
        {"controller_runtime_reconcile_total{controller=\"bot-controller\",result=\"success\"}", 5},
        {"controller_runtime_reconcile_total{controller=\"bot-controller\",result=\"error\"}", 2},
        {"controller_runtime_reconcile_errors_total{controller=\"bot-controller\"}", 2},
        {"controller_runtime_reconcile_time_seconds_count{controller=\"bot-controller\"}", 0},
        {"controller_runtime_max_concurrent_reconciles{controller=\"schedule-controller\"}", 1},
        {"controller_runtime_active_workers{controller=\"bot-controller\"}", 1},
        {"controller_runtime_active_workers{controller=\"schedule-controller\"}", 0},
        {"workqueue_depth{name=\"schedule-controller\"}", 3},
        {"workqueue_adds_total{name=\"schedule-controller\"}", 11},
        {"workqueue_retries_total{name=\"bot-controller\"}", 0},
        {"workqueue_unfinished_work_seconds{name=\"bot-controller\"}", 2.5},
        {"workqueue_longest_running_processor_seconds{name=\"bot-controller\"}", 2.5},
        {"workqueue_queue_duration_seconds_bucket{name=\"bot-controller\",le=\"1e-08\"}", 0},
        {"workqueue_work_duration_seconds_bucket{name=\"bot-controller\",le=\"1000\"}", 0},
        {"leader_election_master_status{name=\"the0-runtime-controller\"}", 1},
    };
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
        double v = sample(t, w[i].series);
        cr_expect_float_eq(v, w[i].want, 1e-9, "%s: expected %g, got %g", w[i].series, w[i].want, v);
    }
    const char *types[] = {"controller_runtime_reconcile_time_seconds histogram", "rest_client_requests_total counter",
                           "rest_client_request_duration_seconds histogram", "process_cpu_seconds_total counter",
                           "process_resident_memory_bytes gauge", "process_open_fds gauge",
                           "process_start_time_seconds gauge", "the0_build_info gauge"};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        char line[128];
        snprintf(line, sizeof line, "# TYPE %s\n", types[i]);
        cr_expect_not_null(strstr(t, line), "expected [%s]", line);
    }
    cr_expect_not_null(strstr(t, "the0_build_info{version=\"0.1.0\",commit=\""), "build info labels");
    free(t);
}

Test(ctlcmd, ready_as_leader_or_standby_with_dependencies_reachable)
{
    ctlcmd_snapshot s;
    memset(&s, 0, sizeof s);
    s.manager_up = true;
    s.mongo_ok = true;
    s.st.store_ok = true;
    s.have_nats = true;
    s.nats_connected = true;
    char why[256];
    /* a standby whose caches are synced is ready (a 2-replica Deployment becomes Available) */
    s.st.synced = true;
    cr_expect(ctlcmd_readiness(&s, why, sizeof why), "standby, synced: expected ready, got [%s]", why);
    s.st.synced = false;
    cr_expect_not(ctlcmd_readiness(&s, why, sizeof why), "standby, not synced: expected not ready");
    cr_expect_not_null(strstr(why, "not synced"), "got [%s]", why);
    /* a leader: once its first full reconcile is done */
    s.st.leader = true;
    cr_expect_not(ctlcmd_readiness(&s, why, sizeof why), "leader before its first reconcile: expected not ready");
    s.st.ready = true;
    cr_expect(ctlcmd_readiness(&s, why, sizeof why), "leader, reconciled: expected ready, got [%s]", why);
    /* MongoDB and NATS */
    s.mongo_ok = false;
    snprintf(s.mongo_why, sizeof s.mongo_why, "mongo ping: No suitable servers found");
    cr_expect_not(ctlcmd_readiness(&s, why, sizeof why));
    cr_expect_str_eq(why, "MongoDB unreachable: mongo ping: No suitable servers found", "got [%s]", why);
    s.mongo_ok = true;
    s.st.store_ok = false; /* the manager's own calls unanswered (ctl_manager_store_ok) */
    cr_expect_not(ctlcmd_readiness(&s, why, sizeof why));
    cr_expect_not_null(strstr(why, "MongoDB has not answered"), "got [%s]", why);
    s.st.store_ok = true;
    s.nats_connected = false;
    cr_expect_not(ctlcmd_readiness(&s, why, sizeof why));
    cr_expect_str_eq(why, "NATS not connected", "got [%s]", why);
    s.have_nats = false; /* no NATS configured: not needed */
    cr_expect(ctlcmd_readiness(&s, why, sizeof why), "got [%s]", why);
    s.shutting_down = true;
    cr_expect_not(ctlcmd_readiness(&s, why, sizeof why));
    cr_expect_str_eq(why, "shutting down");
}

Test(ctlcmd, alive_while_the_loop_makes_progress)
{
    char why[256];
    const int64_t s = 1000000000;
    cr_expect(ctlcmd_liveness(100 * s, 95 * s, 60 * s, why, sizeof why), "5 s since progress: alive");
    cr_expect(ctlcmd_liveness(100 * s, 0, 60 * s, why, sizeof why), "no progress yet (starting): alive");
    cr_expect_not(ctlcmd_liveness(100 * s, 30 * s, 60 * s, why, sizeof why), "70 s since progress: stuck");
    cr_expect_str_eq(why, "the control loop made no progress for 70.0 s (timeout 60.0 s)", "got [%s]", why);
}
