/* test_ctlcmd.c: pieces of `the0-runtime controller` that need no servers: listen
 * addresses and the Prometheus text exposition. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/cmd_controller.h"
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
