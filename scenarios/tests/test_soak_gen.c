/* test_soak_gen.c: what the soak generator writes is a fault a real deployment can survive by design: the
 * scenarios it makes parse, and MinIO stays down for no pod's whole final sync (docs/soak.md). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "scenarios/scn.h"
#include "scenarios/soak.h"
#include "scenarios/soak_int.h"

/* generated: seed SEED's scenario (100 bots, 1 h; liveness for even seeds), its text and *SC parsed */
static char *generated(uint64_t seed, scn_script **sc)
{
    soak_gen_opts o = {.bots = 100, .hours = 1, .liveness = seed % 2 == 0};
    char *text = soak_generate(seed, &o, NULL);
    cr_assert_not_null(text, "seed %llu: no scenario", (unsigned long long)seed);
    t0_err err = {0};
    cr_assert_eq(scn_parse("gen.scn", text, sc, NULL, &err), T0_OK, "seed %llu: %s", (unsigned long long)seed, err.msg);
    return text;
}

/* Every MinIO outage of seeds 1..400 (both modes, 100 bots) lasts at most SOAK_S3_OUTAGE_MS and starts at
 * least SOAK_S3_UP_MS after the one before it ended. Two one-minute outages a second apart held MinIO down
 * through a pod's whole termination (liveness seed 105013: a log line lost by a sidecar that could not ship). */
Test(soak_gen, minio_outages_leave_every_final_sync_time_to_ship)
{
    unsigned outages = 0;
    for (uint64_t seed = 1; seed <= 400; seed++) {
        scn_script *sc = NULL;
        char *text = generated(seed, &sc);
        int64_t on_at = -1, off_at = -1;
        for (size_t i = 0; i < sc->n; i++) {
            const scn_stmt *s = &sc->st[i];
            if (s->verb != SCN_OUTAGE || s->a.outage.server != SCN_SERVER_S3) continue;
            if (s->a.outage.on) {
                if (on_at >= 0) continue; /* already down: the window goes on */
                cr_assert(off_at < 0 || s->at_ms - off_at >= SOAK_S3_UP_MS,
                          "seed %llu: MinIO up for %lld ms between two outages, want >= %d", (unsigned long long)seed,
                          (long long)(s->at_ms - off_at), SOAK_S3_UP_MS);
                on_at = s->at_ms;
                outages++;
            } else if (on_at >= 0) {
                cr_assert_leq(s->at_ms - on_at, SOAK_S3_OUTAGE_MS, "seed %llu: MinIO down %lld ms, want <= %d",
                              (unsigned long long)seed, (long long)(s->at_ms - on_at), SOAK_S3_OUTAGE_MS);
                on_at = -1;
                off_at = s->at_ms;
            }
        }
        scn_script_free(sc);
        free(text);
    }
    cr_assert_gt(outages, 20, "the generator should write MinIO outages at all (got %u over 400 seeds)", outages);
}

/* Restores stay within the fault model (17-27 s, so no second empty read a resync later confirms them, and
 * SOAK_RESTORE_GAP_MS apart, so no read of one confirms a suspicion of the one before), and
 * the generator writes the shape of soak seed 300027 at all: a rolling restart during a restore hands the lease
 * to the second manager, which reads nothing and is cut off from the API server before its next read. */
Test(soak_gen, restores_end_within_a_resync_and_some_cut_the_standby_off)
{
    unsigned restores = 0, cut = 0;
    for (uint64_t seed = 1; seed <= 400; seed++) {
        scn_script *sc = NULL;
        char *text = generated(seed, &sc);
        scn_script_free(sc);
        int64_t on_at = -1, off_at = -1;
        for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
            char d[32], rest[128];
            int64_t at = 0;
            if (sscanf(l, "at %31s %127[^\n]", d, rest) != 2 || !scn_parse_duration(d, &at)) continue;
            if (!strcmp(rest, "mongo-restore on")) {
                cr_assert(off_at < 0 || at - off_at >= SOAK_RESTORE_GAP_MS, "seed %llu: restores %lld ms apart, want >= %d",
                          (unsigned long long)seed, (long long)(at - off_at), SOAK_RESTORE_GAP_MS);
                on_at = at;
                restores++;
            } else if (!strcmp(rest, "mongo-restore off") && on_at >= 0) {
                cr_assert(at - on_at >= 17000 && at - on_at <= 27000, "seed %llu: a restore of %lld ms, want 17-27 s",
                          (unsigned long long)seed, (long long)(at - on_at));
                on_at = -1;
                off_at = at;
            } else if (!strcmp(rest, "fault kube/* timeout manager=m2") && on_at >= 0 &&
                       at - on_at == SOAK_RESTORE_CUT_AT_MS) {
                cut++;
            }
        }
        free(text);
    }
    cr_assert_gt(restores, 20, "the generator should write restores at all (got %u over 400 seeds)", restores);
    cr_assert_gt(cut, 3, "some restores should cut the second manager off (got %u of %u)", cut, restores);
}

/* Shrinking stays in the fault model: a window the script closes ("mongo-restore on" .. "off") stays closed in
 * the shrunk script, also when it closes after the failure (a shrunk script can fail later than the original).
 * Here a restore of 100 s fails by design (two empty reads a resync apart are believed); a shrink that dropped
 * its end would keep failing the same way, so only the rule keeps the end (soak seeds 300027 and 20 shrank to
 * a never-ending restore before it). */
Test(soak_shrink, keeps_every_window_it_opens_closed)
{
    const char *text = "always no-delete-after-failed-read\n"
                       "bot k1\nbot k2\n"
                       "at 1s publish bot.created k1\n"
                       "at 1s publish bot.created k2\n"
                       "at 20s fault kube/pod/get error=500 count=1\n"
                       "at 50s mongo-restore on\n"
                       "at 55s outage nats on\n"
                       "at 58s outage nats off\n"
                       "at 2m30s mongo-restore off\n"
                       "at 3m publish bot.updated k1 config.x=1\n";
    soak_outcome oc;
    t0_err err = {0};
    cr_assert_eq(soak_run_text("window.scn", text, 1, NULL, NULL, &oc, &err), T0_OK, "%s", err.msg);
    cr_assert(oc.failed && !strcmp(oc.sig, "invariant no-delete-after-failed-read"), "the script should fail (sig \"%s\")",
              oc.sig);
    unsigned runs = 0;
    char *min = soak_shrink_text(text, 1, oc.sig, oc.fail_ms, 200, 60, &runs);
    cr_assert_not_null(min);
    cr_assert(strstr(min, "mongo-restore on") && strstr(min, "mongo-restore off"),
              "the restore and its end stay (failure at %lld ms, %u runs):\n%s", (long long)oc.fail_ms, runs, min);
    cr_assert_null(strstr(min, "outage nats"), "what the failure does not need goes:\n%s", min);
    free(min);
}
