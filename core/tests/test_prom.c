/* test_prom.c: the Prometheus text format: numbers as the Go client prints them, cumulative histogram
 * buckets, label escaping, and the process collector reading /proc. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/prom.h"

static char *render_samples(const double *v, size_t n)
{
    prom b;
    prom_init(&b);
    for (size_t i = 0; i < n; i++) prom_sample(&b, "x", NULL, v[i]);
    return prom_take(&b);
}

Test(prom, numbers_like_go_strconv_g_shortest)
{
    double v[] = {0, 1, 0.005, 1e-8, 20000, 1e6, 0.1, 2.5, 1234567, 3.0000000000000004, 12};
    const char *want = "x 0\nx 1\nx 0.005\nx 1e-08\nx 20000\nx 1e+06\nx 0.1\nx 2.5\nx 1.234567e+06\n"
                       "x 3.0000000000000004\nx 12\n";
    char *t = render_samples(v, sizeof v / sizeof *v);
    cr_expect_str_eq(t, want, "expected\n%s\ngot\n%s", want, t);
    free(t);
}

Test(prom, histogram_buckets_are_cumulative_and_end_in_inf)
{
    static const double bounds[3] = {0.1, 1, 10};
    prom_hist h = {0};
    double obs[] = {0.05, 0.1, 0.5, 5, 50};
    for (size_t i = 0; i < 5; i++) prom_hist_observe(&h, bounds, 3, obs[i]);
    prom b;
    prom_init(&b);
    char lb[64];
    prom_family(&b, "d_seconds", "histogram", "Some durations.");
    prom_histogram(&b, "d_seconds", prom_labels(lb, sizeof lb, "name", "q"), bounds, 3, &h);
    char *t = prom_take(&b);
    const char *want = "# HELP d_seconds Some durations.\n# TYPE d_seconds histogram\n"
                       "d_seconds_bucket{name=\"q\",le=\"0.1\"} 2\n"
                       "d_seconds_bucket{name=\"q\",le=\"1\"} 3\n"
                       "d_seconds_bucket{name=\"q\",le=\"10\"} 4\n"
                       "d_seconds_bucket{name=\"q\",le=\"+Inf\"} 5\n"
                       "d_seconds_sum{name=\"q\"} 55.65\n"
                       "d_seconds_count{name=\"q\"} 5\n";
    cr_expect_str_eq(t, want, "expected\n%s\ngot\n%s", want, t);
    free(t);
}

Test(prom, label_values_are_escaped)
{
    char lb[128];
    prom_labels(lb, sizeof lb, "a", "x\"y", "b", "back\\slash", "c", "new\nline");
    cr_expect_str_eq(lb, "a=\"x\\\"y\",b=\"back\\\\slash\",c=\"new\\nline\"", "got %s", lb);
}

Test(prom, process_collector_reads_proc)
{
    prom b;
    prom_init(&b);
    prom_process(&b);
    char *t = prom_take(&b);
    const char *fams[] = {"process_cpu_seconds_total counter", "process_resident_memory_bytes gauge",
                          "process_virtual_memory_bytes gauge", "process_start_time_seconds gauge",
                          "process_open_fds gauge", "process_max_fds gauge"};
    for (size_t i = 0; i < sizeof fams / sizeof *fams; i++) {
        char line[96];
        snprintf(line, sizeof line, "# TYPE %s\n", fams[i]);
        cr_expect_not_null(strstr(t, line), "expected [%s] in\n%s", line, t);
    }
    const char *rss = strstr(t, "\nprocess_resident_memory_bytes ");
    cr_assert_not_null(rss);
    double v = strtod(rss + strlen("\nprocess_resident_memory_bytes "), NULL);
    cr_expect(v > 100000, "resident memory of a running test: expected > 100 kB, got %g", v);
    free(t);
}
