/* bench_sim.c: simulated seconds per second for a fleet of N realtime bots (plus N/100 schedules) with
 * faults, for one simulated hour: per CPU second of the process (the figure: the machine is shared, and the
 * simulator is one thread) and per wall second. Default 1,000 bots (median of 3 runs) and 10,000 (one run);
 * BENCH_LARGE=1 adds 100,000 (one run: minutes, and about 8 GB). Usage: bench_sim [N...]
 *
 * The first hour creates the fleet: every pod is generated, created, scheduled and started (init container,
 * sidecar) in it. For the first size, the cost of a running fleet's further hours is printed too: the same
 * fleet for 1 + BENCH_STEADY_HOURS hours (default 3; 0: not measured), minus the first hour, per hour.
 * BENCH_PROFILE_HOURS=H runs each size once for H hours and prints only its CPU (for a profiler:
 * ci/bench-shares.sh). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double peak_mib(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss / 1024.0 : 0;
}

/* target: issue 17's target for N bots (x real time), 0 when it states none */
static double target(int n) { return n == 1000 ? 100000 : n == 10000 ? 10000 : n == 100000 ? 1000 : 0; }

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* run_fleet: the median CPU and wall seconds of RUNS runs of N bots for HOURS simulated hours (seeds 1..RUNS);
 * false (and a message) when the scenario does not parse or run */
static bool run_fleet(int n, int hours, int runs, FILE *devnull, double *medc, double *medw, scn_result *res)
{
    char *text = fleet(n, hours);
    scn_script *sc = NULL;
    t0_err err = {0};
    if (scn_parse("bench-fleet", text, &sc, NULL, &err) != T0_OK) {
        fprintf(stderr, "bench_sim: %s\n", err.msg);
        free(text);
        return false;
    }
    double wall[3], cpu[3];
    bool ok = true;
    for (int r = 0; r < runs && ok; r++) {
        scn_run_opts o = {.seed = (uint64_t)r + 1, .quiet = true, .untraced = true, .out = devnull, .log_level = 4};
        double t0 = t0_mono_s(), c0 = cpu_s();
        if (scn_run(sc, &o, res, &err) != T0_OK) {
            fprintf(stderr, "bench_sim: %s\n", err.msg);
            ok = false;
        }
        wall[r] = t0_mono_s() - t0;
        cpu[r] = cpu_s() - c0;
    }
    qsort(wall, (size_t)runs, sizeof wall[0], cmp);
    qsort(cpu, (size_t)runs, sizeof cpu[0], cmp);
    *medw = wall[runs / 2];
    *medc = cpu[runs / 2];
    scn_script_free(sc);
    free(text);
    return ok;
}

int main(int argc, char **argv)
{
    int sizes[8] = {1000, 10000, 100000}, nsizes = getenv("BENCH_LARGE") && atoi(getenv("BENCH_LARGE")) ? 3 : 2;
    if (argc > 1) {
        nsizes = 0;
        for (int i = 1; i < argc && nsizes < 8; i++) sizes[nsizes++] = atoi(argv[i]);
    }
    sim_tune_process(); /* as the0-sim does */
    FILE *devnull = fopen("/dev/null", "w");
    int steady = getenv("BENCH_STEADY_HOURS") ? atoi(getenv("BENCH_STEADY_HOURS")) : 3;
    int profile = getenv("BENCH_PROFILE_HOURS") ? atoi(getenv("BENCH_PROFILE_HOURS")) : 0;
    for (int k = 0; k < nsizes && profile > 0; k++) {
        double w, c;
        scn_result res = {0};
        if (!run_fleet(sizes[k], profile, 1, devnull, &c, &w, &res)) return 1;
        printf("sim %d bots, %d simulated hours (one run): %.3f s CPU, %.1f us CPU per bot-hour, %llu steps\n", sizes[k],
               profile, c, c * 1e6 / sizes[k] / profile, (unsigned long long)res.steps);
    }
    if (profile > 0) return 0;
    for (int k = 0; k < nsizes; k++) {
        int n = sizes[k], runs = n >= 5000 ? 1 : 3;
        double med, medc;
        scn_result res = {0};
        if (!run_fleet(n, 1, runs, devnull, &medc, &med, &res)) return 1;
        double x = 3600.0 / medc;
        char tn[96] = "";
        if (target(n) > 0)
            snprintf(tn, sizeof tn, " [target >= %.0fx: %.2fx the target, %s]", target(n), x / target(n),
                     x >= target(n) ? "met" : "not met");
        printf("sim %6d bots + %4d schedules, 1 simulated hour with faults (%d run%s, median): %.2f s CPU = %.0fx real "
               "time%s; %.2f s wall = %.0fx; %.1f us CPU per bot-hour; %llu steps, %u violations; peak RSS so far "
               "%.0f MiB\n",
               n, n / 100, runs, runs > 1 ? "s" : "", medc, x, tn, med, 3600.0 / med, medc * 1e6 / n,
               (unsigned long long)res.steps, res.violations, peak_mib());
        fflush(stdout);
        if (k > 0 || steady <= 0) continue;
        /* the same fleet running on: (1 + STEADY hours) - (1 hour), per hour */
        double lmed, lmedc;
        scn_result lres = {0};
        if (!run_fleet(n, 1 + steady, runs, devnull, &lmedc, &lmed, &lres)) return 1;
        double per_h = (lmedc - medc) / steady;
        printf("sim %6d bots, each further hour of the running fleet (%d + 1 hours minus the first, %d run%s, median): "
               "%.3f s CPU per hour = %.0fx real time; %.1f us CPU per bot-hour (the first hour: %.1f); %llu steps per "
               "hour (the first: %llu)\n",
               n, steady, runs, runs > 1 ? "s" : "", per_h, per_h > 0 ? 3600.0 / per_h : 0.0, per_h * 1e6 / n,
               medc * 1e6 / n, (unsigned long long)((lres.steps - res.steps) / (uint64_t)steady),
               (unsigned long long)res.steps);
        fflush(stdout);
    }
    fclose(devnull);
    return 0;
}
