/* test_faults.c: the fault registry: seeded decisions replay, k-th call, next N, wildcards, fiu-ctrl. */
#include <criterion/criterion.h>
#include <fiu-control.h>
#include <string.h>

#include "sim/faults.h"

static void setup(uint64_t seed, sim_loop **l, sim_faults **f)
{
    t0_err err = {0};
    cr_assert_eq(sim_loop_new(seed, 0, l, &err), T0_OK);
    cr_assert_eq(sim_faults_new(*l, f, &err), T0_OK, "%s", err.msg);
}

static void teardown(sim_loop *l, sim_faults *f)
{
    sim_faults_destroy(f);
    sim_loop_destroy(l);
}

/* The decisions of N calls with probability P under SEED, as a string of 0/1. */
static void decisions(uint64_t seed, double p, char *out, int n)
{
    sim_loop *l;
    sim_faults *f;
    setup(seed, &l, &f);
    sim_fault_spec s = {.kind = SIM_FAULT_ERROR, .status = T0_EINTERNAL, .probability = p};
    t0_err err = {0};
    cr_assert_eq(sim_faults_inject(f, "kube/pod/create", &s, &err), T0_OK, "%s", err.msg);
    for (int i = 0; i < n; i++) out[i] = sim_faults_check(f, "kube/pod/create", NULL) ? '1' : '0';
    out[n] = '\0';
    cr_assert_eq(sim_faults_calls(f, "kube/pod/create"), (uint64_t)n);
    teardown(l, f);
}

Test(faults, same_seed_same_decisions)
{
    char a[201], b[201], c[201];
    decisions(11, 0.3, a, 200);
    decisions(11, 0.3, b, 200);
    decisions(12, 0.3, c, 200);
    cr_assert_str_eq(a, b, "seed 11 twice:\n%s\n%s", a, b);
    cr_assert_str_neq(a, c, "seeds 11 and 12 agree: %s", a);
    int ones = 0;
    for (int i = 0; i < 200; i++) ones += a[i] == '1';
    cr_assert(ones > 30 && ones < 90, "p=0.3 over 200 calls gave %d faults", ones);
}

Test(faults, kth_call_and_range)
{
    sim_loop *l;
    sim_faults *f;
    setup(1, &l, &f);
    t0_err err = {0};
    sim_fault_spec s = {.kind = SIM_FAULT_ERROR, .status = T0_ECONFLICT, .first_call = 3};
    cr_assert_eq(sim_faults_inject(f, "kube/cronjob/update", &s, &err), T0_OK, "%s", err.msg);
    char got[8];
    for (int i = 0; i < 6; i++) {
        sim_fault_hit h;
        bool fail = sim_faults_check(f, "kube/cronjob/update", &h);
        got[i] = fail ? '1' : '0';
        if (fail) {
            cr_assert_eq(h.status, T0_ECONFLICT);
            cr_assert_eq(h.http_status, 409);
            t0_err e2 = {0};
            cr_assert_eq(sim_faults_fail(&h, "kube/cronjob/update", &e2), T0_ECONFLICT);
            cr_assert(strstr(e2.msg, "kube/cronjob/update"), "%s", e2.msg);
        }
    }
    got[6] = '\0';
    cr_assert_str_eq(got, "001000");
    s = (sim_fault_spec){.kind = SIM_FAULT_TIMEOUT, .first_call = 2, .last_call = 4};
    cr_assert_eq(sim_faults_inject(f, "s3/put", &s, &err), T0_OK);
    for (int i = 0; i < 6; i++) got[i] = sim_faults_check(f, "s3/put", NULL) ? '1' : '0';
    cr_assert_str_eq(got, "011100");
    cr_assert_eq(sim_faults_injected(f, "s3/put"), 3);
    cr_assert_eq(sim_faults_calls(f, "s3/put"), 6);
    teardown(l, f);
}

Test(faults, next_n_wildcard_and_clear)
{
    sim_loop *l;
    sim_faults *f;
    setup(1, &l, &f);
    t0_err err = {0};
    sim_fault_spec s = {.kind = SIM_FAULT_TOOMANY, .ms = 2500, .count = 2};
    cr_assert_eq(sim_faults_inject(f, "kube/*", &s, &err), T0_OK, "%s", err.msg);
    sim_fault_hit h;
    cr_assert(sim_faults_check(f, "kube/pod/list", &h));
    cr_assert_eq(h.status, T0_ETOOMANY);
    t0_err e2 = {0};
    sim_faults_fail(&h, "kube/pod/list", &e2);
    cr_assert_eq(e2.retry_after_ms, 2500);
    cr_assert(sim_faults_check(f, "kube/job/get", &h));
    cr_assert(!sim_faults_check(f, "kube/job/get", &h), "only the next 2 calls fail");
    cr_assert(!sim_faults_check(f, "s3/put", &h), "s3 is not under kube/*");
    s = (sim_fault_spec){.kind = SIM_FAULT_DROP, .probability = 1.0};
    cr_assert_eq(sim_faults_inject(f, "nats/deliver", &s, &err), T0_OK);
    cr_assert(sim_faults_check(f, "nats/deliver", &h));
    cr_assert_eq(h.kind, SIM_FAULT_DROP);
    cr_assert_eq(h.status, T0_OK);
    cr_assert(sim_faults_clear(f, "nats/deliver"));
    cr_assert(!sim_faults_check(f, "nats/deliver", &h));
    cr_assert(!sim_faults_clear(f, "nats/deliver"));
    teardown(l, f);
}

Test(faults, fiu_ctrl_convention_failnum_is_http_status)
{
    sim_loop *l;
    sim_faults *f;
    setup(1, &l, &f);
    sim_fault_hit h;
    cr_assert_eq(fiu_enable("mongo/find", 503, NULL, 0), 0);
    cr_assert(!sim_faults_check(f, "mongo/find", &h), "external control is off by default (not under fiu-run)");
    sim_faults_external(f, true);
    cr_assert(sim_faults_check(f, "mongo/find", &h));
    cr_assert_eq(h.status, T0_EUNAVAILABLE, "got %s", t0_status_name(h.status));
    fiu_disable("mongo/find");
    cr_assert(!sim_faults_check(f, "mongo/find", &h));
    teardown(l, f);
}

Test(faults, rejects_bad_specs_and_second_registry)
{
    sim_loop *l;
    sim_faults *f;
    setup(1, &l, &f);
    t0_err err = {0};
    sim_fault_spec s = {.kind = SIM_FAULT_ERROR, .probability = 1.5};
    cr_assert_eq(sim_faults_inject(f, "x", &s, &err), T0_EINVAL);
    s = (sim_fault_spec){.kind = SIM_FAULT_ERROR};
    cr_assert_eq(sim_faults_inject(f, "x", &s, &err), T0_EINVAL, "no trigger must be refused");
    s = (sim_fault_spec){.kind = SIM_FAULT_ERROR, .first_call = 5, .last_call = 2};
    cr_assert_eq(sim_faults_inject(f, "x", &s, &err), T0_EINVAL);
    sim_faults *g = NULL;
    cr_assert_eq(sim_faults_new(l, &g, &err), T0_ESTATE);
    cr_assert(!sim_faults_check(NULL, "x", NULL));
    teardown(l, f);
}

Test(faults, documented_list)
{
    size_t n;
    const sim_fault_point *p = sim_faults_points(&n);
    cr_assert_gt(n, 40);
    cr_assert(sim_faults_known("kube/pod/create"));
    cr_assert(sim_faults_known("kube/cronjob/update"));
    cr_assert(sim_faults_known("kube/watch"));
    cr_assert(sim_faults_known("s3/put"));
    cr_assert(sim_faults_known("nats/deliver"));
    cr_assert(sim_faults_known("mongo/find"));
    for (size_t i = 0; i < n; i++) cr_assert(p[i].what && *p[i].what, "%s undocumented", p[i].name);
}
