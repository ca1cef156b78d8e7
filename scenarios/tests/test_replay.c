/* test_replay.c: scenario runs: a wrong expectation fails (and the replay command names the seed), the
 * same seed gives the same trace, and the runner leaks nothing (run under ASan by make check). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "scenarios/scn.h"

static scn_result run_file_memo(const char *path, uint64_t seed, char **trace_out, bool memo)
{
    scn_script *sc = NULL;
    t0_err err = {0};
    cr_assert_eq(scn_parse_file(path, &sc, NULL, &err), T0_OK, "%s", err.msg);
    char *buf = NULL, *obuf = NULL;
    size_t len = 0, olen = 0;
    FILE *tf = open_memstream(&buf, &len), *of = open_memstream(&obuf, &olen);
    scn_run_opts ro = {.seed = seed, .trace = tf, .quiet = true, .out = of, .log_level = 1, .no_memo = !memo};
    scn_result res;
    cr_assert_eq(scn_run(sc, &ro, &res, &err), T0_OK, "%s", err.msg);
    fclose(tf);
    fclose(of);
    free(obuf);
    scn_script_free(sc);
    if (trace_out) *trace_out = buf;
    else free(buf);
    return res;
}

static scn_result run_file(const char *path, uint64_t seed, char **trace_out) { return run_file_memo(path, seed, trace_out, true); }

Test(scn_replay, wrong_expectation_fails)
{
    char *trace = NULL;
    scn_result r = run_file("scenarios/tests/wrong_expectation.scn", 7, &trace);
    cr_expect_eq(r.failed, 1u, "failed expectations: got %u, want 1", r.failed);
    cr_expect_eq(r.passed, 0u, "passed: got %u, want 0", r.passed);
    cr_expect(strstr(trace, "expect FAIL scenarios/tests/wrong_expectation.scn:8:") != NULL, "trace names file:line: %s", trace);
    cr_expect(strstr(trace, "observed: phase=Pending") != NULL, "trace says what was observed: %s", trace);
    free(trace);
}

Test(scn_replay, fakes_only_is_green_and_deterministic)
{
    char *t1 = NULL, *t2 = NULL;
    scn_result a = run_file("scenarios/fakes_only.scn", 1, &t1);
    scn_result b = run_file("scenarios/fakes_only.scn", 1, &t2);
    cr_expect_eq(a.failed, 0u, "fakes_only failed %u expectations", a.failed);
    cr_expect_eq(a.violations, 0u, "fakes_only: %u violations", a.violations);
    cr_expect(a.passed >= 10, "passed %u", a.passed);
    cr_expect_eq(a.trace_hash, b.trace_hash, "same seed, same trace: %016llx vs %016llx", (unsigned long long)a.trace_hash,
                 (unsigned long long)b.trace_hash);
    cr_expect_str_eq(t1, t2);
    free(t1);
    free(t2);
}

/* The managers' shared memo of generated pods (ctl_memo) is pure memoization: scenarios whose managers
 * crash, restart or take over give byte-identical traces with it and without it, and it is used. */
Test(scn_replay, memo_changes_no_trace)
{
    const char *files[] = {"scenarios/controller_crash_mid_replace.scn", "scenarios/two_managers.scn",
                           "scenarios/api_storms.scn", "scenarios/list_fails_after_takeover.scn"};
    uint64_t hits = 0;
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        for (uint64_t seed = 1; seed <= 2; seed++) {
            char *with = NULL, *without = NULL;
            scn_result a = run_file_memo(files[i], seed, &with, true);
            scn_result b = run_file_memo(files[i], seed, &without, false);
            cr_expect_eq(b.memo_hits, 0u, "%s: no memo, yet %llu hits", files[i], (unsigned long long)b.memo_hits);
            cr_expect_eq(a.trace_hash, b.trace_hash, "%s seed %llu: trace %016llx with the memo, %016llx without", files[i],
                         (unsigned long long)seed, (unsigned long long)a.trace_hash, (unsigned long long)b.trace_hash);
            cr_expect_str_eq(with, without, "%s seed %llu", files[i], (unsigned long long)seed);
            hits += a.memo_hits;
            free(with);
            free(without);
        }
    }
    cr_expect(hits > 0, "the memo answered no lookup in %zu files", sizeof files / sizeof *files);
}

/* Issue 14: the simulated pods run the shipped daemon (daemon/): its init and sidecar log what they do
 * (components daemon-init, daemon-sync), the sidecar steps fsm_sync_table under the key "ns/pod/sync",
 * the state object is the daemon's tar.gz (the0-* metadata, read back by `state`), and the termination
 * messages the pod status shows are the daemon's own words. */
Test(scn_replay, the_simulated_pods_run_the_daemon)
{
    char *trace = NULL;
    scn_result r = run_file("scenarios/pod_nonascii_names.scn", 1, &trace);
    cr_expect_eq(r.failed, 0u, "failed expectations: %u\n%s", r.failed, trace);
    cr_expect_eq(r.violations, 0u, "violations: %u", r.violations);
    const char *want[] = {
        "log info daemon-init: init bot b1: code custom-bots/", /* daemon/init.c */
        "log info daemon-sync: sync bot b1: state /state -> bot-state/b1/state.tar.gz", /* daemon/sync.c */
        "log info daemon-sync: state uploaded to bot-state/b1/state.tar.gz: generation 1", /* daemon/sync_state.c */
        "kubelet sync the0/bot-b1/sync watching -change-> dirty", /* fsm_sync_table, stepped by daemon/sync.c */
        "kubelet sync the0/bot-b1/sync awaiting_bot -done_file-> final_sync", /* the SIGTERM wait (point 5) */
        "bot-b1/init message: done: restored state generation", /* dinit's termination message */
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_expect(strstr(trace, want[i]) != NULL, "the trace lacks \"%s\"", want[i]);
    free(trace);
}
