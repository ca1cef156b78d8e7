/* test_cli.c: the command-line layer: types, ranges, environment, help, errors, dispatch. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"

typedef struct settings {
    uint64_t seeds;
    int jobs;
    bool json, ssl;
    const char *out, *mode;
    int64_t every;
    double qps;
    long grace;
} settings;

static settings S;
static const cli_opt OPTS[] = {
    {"seeds", 0, CLI_U64, &S.seeds, "seeds to run", .min = 1, .max = 1000000000},
    {"jobs", 'j', CLI_INT, &S.jobs, "worker processes", .min = 1, .max = 256},
    {"json", 0, CLI_BOOL, &S.json, "JSON report"},
    {"minio-use-ssl", 0, CLI_BOOL, &S.ssl, "TLS to MinIO", .env = "T0_TEST_SSL"},
    {"out", 'o', CLI_STR, &S.out, "output folder", .arg = "DIR", .env = "T0_TEST_OUT"},
    {"mode", 0, CLI_ENUM, &S.mode, "campaign mode", .choices = "safety|liveness"},
    {"every", 0, CLI_DUR, &S.every, "progress period", .min = 1, .max = 86400000},
    {"kube-qps", 0, CLI_NUM, &S.qps, "requests per second", .fmin = 0, .fmax = 10000},
    {"termination-grace-period-seconds", 0, CLI_LONG, &S.grace, "grace", .min = 0, .max = 86400},
};
static const cli_cmd CMD = {"t0 soak", "[options] FILE...", "Runs a campaign.", OPTS, sizeof OPTS / sizeof OPTS[0], 0, 2,
                            "exit codes: 0 ok, 1 failed, 2 usage", 0};

static char *outbuf, *errbuf;
static size_t outlen, errlen;

/* run: parse ARGS (a NULL-terminated list after the command name) with fresh defaults */
static int run_args(int *first, const char **args)
{
    S = (settings){.seeds = 100, .jobs = 4, .out = "soak-out", .mode = "safety", .every = 300000, .qps = 50, .grace = 90};
    char *argv[32] = {"soak"};
    int argc = 1;
    while (args[argc - 1]) argv[argc] = (char *)args[argc - 1], argc++;
    free(outbuf), free(errbuf);
    FILE *o = open_memstream(&outbuf, &outlen), *e = open_memstream(&errbuf, &errlen);
    int rc = cli_parse_to(&CMD, argc, argv, first, o, e);
    fclose(o), fclose(e);
    return rc;
}
#define RUN(first, ...) run_args(first, (const char *[]){__VA_ARGS__, NULL})

static void expect_usage(int rc, const char *needle)
{
    cr_assert_eq(rc, 2, "exit status: expected 2, got %d (stderr: %s)", rc, errbuf);
    cr_assert(strstr(errbuf, needle), "stderr: expected to contain [%s], got [%s]", needle, errbuf);
    cr_assert(strstr(errbuf, "Run 't0 soak --help' for usage."), "stderr lacks the pointer to --help: [%s]", errbuf);
    cr_assert_eq(outlen, 0, "nothing on stdout expected, got [%s]", outbuf);
}

Test(cli, values_of_every_type)
{
    int first = 0;
    int rc = RUN(&first, "--seeds", "7", "-j", "2", "--json", "--minio-use-ssl=true", "--out=/tmp/x", "--mode", "liveness",
                 "--every", "1m30s", "--kube-qps=2.5", "--termination-grace-period-seconds", "30", "a.scn");
    cr_assert_eq(rc, CLI_CONTINUE, "expected CLI_CONTINUE, got %d: %s", rc, errbuf);
    cr_assert_eq(S.seeds, 7);
    cr_assert_eq(S.jobs, 2);
    cr_assert(S.json && S.ssl);
    cr_assert_str_eq(S.out, "/tmp/x");
    cr_assert_str_eq(S.mode, "liveness");
    cr_assert_eq(S.every, 90000, "every: expected 90000 ms, got %lld", (long long)S.every);
    cr_assert_eq(S.qps, 2.5);
    cr_assert_eq(S.grace, 30);
    cr_assert_eq(first, 15, "first positional: expected 15, got %d", first);
}

Test(cli, positionals_between_options)
{
    int first = 0;
    int rc = RUN(&first, "a.scn", "--seeds", "3", "b.scn", "--json=false");
    cr_assert_eq(rc, CLI_CONTINUE, "%s", errbuf);
    cr_assert_eq(S.seeds, 3);
    cr_assert_not(S.json);
    /* getopt_long moved the two files behind the options, in their order */
    char *argv[] = {"soak", "a.scn", "--seeds", "3", "b.scn", "--json=false", NULL};
    FILE *o = fopen("/dev/null", "w");
    rc = cli_parse_to(&CMD, 6, argv, &first, o, o);
    fclose(o);
    cr_assert_eq(rc, CLI_CONTINUE);
    cr_assert_eq(first, 4);
    cr_assert_str_eq(argv[4], "a.scn");
    cr_assert_str_eq(argv[5], "b.scn");
}

Test(cli, negative_and_non_numbers_name_the_flag_and_range)
{
    int first;
    expect_usage(RUN(&first, "--seeds", "-1"), "invalid value \"-1\" for --seeds: an integer from 1 to 1000000000 is expected");
    expect_usage(RUN(&first, "--seeds", "abc"), "invalid value \"abc\" for --seeds: an integer from 1 to 1000000000 is expected");
    expect_usage(RUN(&first, "--seeds=0"), "invalid value \"0\" for --seeds");
    expect_usage(RUN(&first, "--seeds", "18446744073709551616"), "for --seeds: an integer from 1 to 1000000000");
    expect_usage(RUN(&first, "--seeds", " 5"), "invalid value \" 5\" for --seeds");
    expect_usage(RUN(&first, "--seeds", "5x"), "invalid value \"5x\" for --seeds");
    expect_usage(RUN(&first, "-j", "257"), "invalid value \"257\" for --jobs: an integer from 1 to 256 is expected");
    expect_usage(RUN(&first, "--kube-qps", "nan"), "for --kube-qps: a number from 0 to 10000 is expected");
    expect_usage(RUN(&first, "--kube-qps", "-1"), "for --kube-qps");
    expect_usage(RUN(&first, "--every", "90"), "invalid value \"90\" for --every: a duration from 1ms to 24h0m0s");
    expect_usage(RUN(&first, "--every", "0s"), "for --every");
    expect_usage(RUN(&first, "--mode", "fast"), "invalid value \"fast\" for --mode: one of safety|liveness is expected");
    expect_usage(RUN(&first, "--json=maybe"), "invalid value \"maybe\" for --json: true or false is expected");
}

Test(cli, unknown_missing_abbreviated_and_extra)
{
    int first;
    expect_usage(RUN(&first, "--sedes", "5"), "unknown option '--sedes'");
    expect_usage(RUN(&first, "-x"), "unknown option '-x'");
    expect_usage(RUN(&first, "--seed", "5"), "unknown option '--seed' (did you mean --seeds?)");
    expect_usage(RUN(&first, "--hel"), "unknown option '--hel' (did you mean --help?)");
    expect_usage(RUN(&first, "--seeds"), "--seeds needs a value");
    expect_usage(RUN(&first, "a", "b", "c"), "unexpected argument 'c'");
}

Test(cli, environment_counts_when_set_and_the_command_line_wins)
{
    int first;
    setenv("T0_TEST_OUT", "", 1);
    setenv("T0_TEST_SSL", "1", 1);
    cr_assert_eq(RUN(&first, "--json"), CLI_CONTINUE, "%s", errbuf);
    cr_assert_str_eq(S.out, "", "a set but empty variable counts: expected \"\", got \"%s\"", S.out);
    cr_assert(S.ssl);
    cr_assert_eq(RUN(&first, "--out", "flag", "--minio-use-ssl=false"), CLI_CONTINUE, "%s", errbuf);
    cr_assert_str_eq(S.out, "flag");
    cr_assert_not(S.ssl);
    setenv("T0_TEST_SSL", "yes", 1);
    expect_usage(RUN(&first, "--json"), "invalid value \"yes\" in $T0_TEST_SSL (for --minio-use-ssl): true or false is expected");
    unsetenv("T0_TEST_OUT");
    unsetenv("T0_TEST_SSL");
    cr_assert_eq(RUN(&first, "--json"), CLI_CONTINUE, "%s", errbuf);
    cr_assert_str_eq(S.out, "soak-out");
}

Test(cli, help_shows_defaults_ranges_and_env)
{
    int first;
    int rc = RUN(&first, "--seeds", "9", "--help");
    cr_assert_eq(rc, 0, "--help: exit 0 expected, got %d", rc);
    cr_assert_eq(errlen, 0, "stderr: expected empty, got [%s]", errbuf);
    const char *want[] = {"usage: t0 soak [options] FILE...", "Runs a campaign.",
                          "--seeds=N", "seeds to run (1..1000000000; default 100)",
                          "-j, --jobs=N", "--json[=BOOL]", "JSON report (default false)",
                          "--out=DIR", "(default soak-out; env T0_TEST_OUT)", "--mode=safety|liveness",
                          "--every=DURATION", "(1ms..24h0m0s; default 5m0s)", "-h, --help", "exit codes: 0 ok, 1 failed, 2 usage"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert(strstr(outbuf, want[i]), "help: expected to contain [%s], got:\n%s", want[i], outbuf);
    cr_assert_eq(RUN(&first, "-h"), 0);
}

Test(cli, durations_round_trip)
{
    static const struct { const char *s; int64_t ms; const char *fmt; } v[] = {
        {"30s", 30000, "30s"}, {"1m30s", 90000, "1m30s"}, {"250ms", 250, "250ms"}, {"1.5h", 5400000, "1h30m0s"},
        {"0", 0, "0s"}, {"2h45m", 9900000, "2h45m0s"}, {"1500ms", 1500, "1.5s"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        int64_t ms = -1;
        char buf[32];
        cr_assert(cli_parse_duration(v[i].s, &ms), "\"%s\" rejected", v[i].s);
        cr_assert_eq(ms, v[i].ms, "\"%s\": expected %lld ms, got %lld", v[i].s, (long long)v[i].ms, (long long)ms);
        cli_format_duration(ms, buf, sizeof buf);
        cr_assert_str_eq(buf, v[i].fmt, "%lld ms: expected \"%s\", got \"%s\"", (long long)ms, v[i].fmt, buf);
    }
    static const char *bad[] = {"", "30", "s", "1x", "1e3s", "--1s", "1.s5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = 0;
        cr_assert_not(cli_parse_duration(bad[i], &ms), "\"%s\" accepted as %lld", bad[i], (long long)ms);
    }
}

static int sub_rc(int argc, char **argv)
{
    return argc == 2 && !strcmp(argv[1], "--help") ? 40 : 41 + argc;
}

Test(cli, dispatch_help_and_unknown)
{
    static const cli_sub subs[] = {{"walk", NULL, "walk the table", sub_rc}};
    static const cli_group g = {"t0", "The tool.", subs, 1, NULL, 0};
    char *help[] = {"t0", "help", NULL}, *helpw[] = {"t0", "help", "walk", NULL}, *walk[] = {"t0", "walk", "x", NULL},
         *none[] = {"t0", NULL}, *bad[] = {"t0", "fly", NULL};
    cr_assert_eq(cli_dispatch(&g, 2, help), 0, "`t0 help` exits 0");
    cr_assert_eq(cli_dispatch(&g, 3, helpw), 40, "`t0 help walk` runs `walk --help`");
    cr_assert_eq(cli_dispatch(&g, 3, walk), 43, "`t0 walk x` runs walk with [walk, x]");
    cr_assert_eq(cli_dispatch(&g, 1, none), 2, "no command: usage error");
    cr_assert_eq(cli_dispatch(&g, 2, bad), 2, "unknown command: usage error");
}

Test(cli, go_durations)
{
    struct {
        const char *s;
        int64_t ms;
    } ok[] = {{"30s", 30000},  {"1m30s", 90000}, {"1.5h", 5400000}, {"300ms", 300}, {"2h45m", 9900000},
              {"0", 0},        {"-5s", -5000},   {"1500us", 1},     {"2\xc2\xb5s", 0}, {"1h0m0.5s", 3600500},
              {".5s", 500},    {"10ns", 0}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t ms = -42;
        cr_assert(cli_parse_duration(ok[i].s, &ms), "\"%s\" rejected", ok[i].s);
        cr_assert_eq(ms, ok[i].ms, "\"%s\": got %lld want %lld", ok[i].s, (long long)ms, (long long)ok[i].ms);
    }
    const char *bad[] = {"", "30", "s", "1x", "1m30", "abc", "--1s", "1.s.", "5 s", "1e3s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = 0;
        cr_assert_not(cli_parse_duration(bad[i], &ms), "\"%s\" accepted as %lld", bad[i], (long long)ms);
    }
}
