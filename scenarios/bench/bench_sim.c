/* bench_sim.c: simulated seconds per wall second for a fleet of N realtime bots (plus N/100 schedules)
 * with faults, for one simulated hour; default 1,000 bots (median of 3 runs) and 10,000 (one run: about two
 * minutes). Usage: bench_sim [N...] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "scenarios/scn.h"
#include "sim/loop.h"

/* A fleet scenario: every bot stored at 0 s, a config change of 1 % of them at 20 min, 429/500 faults on
 * pod creates, NATS drops, and one controller restart at 40 min. */
static char *fleet(int n, int hours)
{
    size_t cap = (size_t)n * 200 + 4096, len = 0;
    char *s = malloc(cap);
#define P(...) len += (size_t)snprintf(s + len, cap - len, __VA_ARGS__)
    P("option nodes=%d\nend %dh\n", n / 50 + 2, hours);
    for (int i = 0; i < n; i++) P("bot b%d config={\"symbol\":\"S%d\"}\n", i, i);
    for (int i = 0; i < n / 100; i++) P("schedule s%d cron=\"*/15 * * * *\"\n", i);
    P("fault kube/pod/create error=500 p=0.02\nfault kube/pod/create 429 p=0.01\n");
    for (int i = 0; i < n; i++) P("store put b%d\n", i);
    for (int i = 0; i < n / 100; i++) P("store put s%d\n", i);
    P("at 20m\n");
    for (int i = 0; i < n; i += 100) P("store put b%d config.threshold=2\n", i);
    P("at 40m\ncrash controller restart-after=5s\n");
    P("at 59m\nexpect pod bot-b0 phase=Running\n");
#undef P
    return s;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int sizes[8] = {1000, 10000}, nsizes = 2;
    if (argc > 1) {
        nsizes = 0;
        for (int i = 1; i < argc && nsizes < 8; i++) sizes[nsizes++] = atoi(argv[i]);
    }
    sim_tune_process(); /* as the0-sim does */
    FILE *devnull = fopen("/dev/null", "w");
    for (int k = 0; k < nsizes; k++) {
        int n = sizes[k], runs = n >= 5000 ? 1 : 3;
        char *text = fleet(n, 1);
        scn_script *sc = NULL;
        t0_err err = {0};
        if (scn_parse("bench-fleet", text, &sc, NULL, &err) != T0_OK) {
            fprintf(stderr, "bench_sim: %s\n", err.msg);
            return 1;
        }
        double wall[3];
        scn_result res = {0};
        for (int r = 0; r < runs; r++) {
            scn_run_opts o = {.seed = (uint64_t)r + 1, .quiet = true, .untraced = true, .out = devnull, .log_level = 4};
            double t0 = t0_mono_s();
            if (scn_run(sc, &o, &res, &err) != T0_OK) {
                fprintf(stderr, "bench_sim: %s\n", err.msg);
                return 1;
            }
            wall[r] = t0_mono_s() - t0;
        }
        qsort(wall, (size_t)runs, sizeof wall[0], cmp);
        double med = wall[runs / 2];
        printf("sim %5d bots + %3d schedules, 1 simulated hour with faults: median %.2f s wall (%d run%s) = %.0fx real "
               "time; %llu steps, %u violations\n",
               n, n / 100, med, runs, runs > 1 ? "s" : "", 3600.0 / med, (unsigned long long)res.steps, res.violations);
        scn_script_free(sc);
        free(text);
    }
    fclose(devnull);
    return 0;
}
