/* test_options.c: the daemon's options from a container's args and env, as the pod spec gives them (what the
 * production binary and the simulator's pods both read). */
#include <criterion/criterion.h>
#include <string.h>

#include "daemon/daemon.h"

typedef struct env_list {
    const char *const *kv; /* "NAME", "value", ..., NULL */
} env_list;

static const char *lookup(void *ud, const char *name)
{
    const env_list *e = ud;
    for (const char *const *p = e->kv; p && *p; p += 2)
        if (!strcmp(*p, name)) return p[1];
    return NULL;
}

Test(options, the_sync_container_of_a_scheduled_pod)
{
    char *argv[] = {"sync", "--bot-id", "b1", "--state-path", "/state", "--logs-path", "/var/the0/logs",
                    "--watch-done", "/var/the0/done", NULL};
    const char *kv[] = {"MINIO_ENDPOINT", "minio:9000", "MINIO_USE_SSL", "false", NULL};
    env_list env = {kv};
    dsync_opts o;
    bool help;
    t0_err e = {0};
    cr_assert_eq(dsync_opts_parse(9, argv, lookup, &env, &o, &help, &e), T0_OK, "%s", e.msg);
    cr_assert(!help);
    cr_assert_str_eq(o.bot_id, "b1");
    cr_assert_str_eq(o.watch_done, "/var/the0/done");
    cr_assert_str_eq(o.state_bucket, "bot-state");
    cr_assert_str_eq(o.logs_bucket, "bot-logs");
    cr_assert_str_eq(o.termination_log, "/dev/termination-log");
    cr_assert_null(o.spool_dir, "the spool defaults to the logs path (dsync_start)");
    cr_assert_eq(o.interval_ms, 60000);
    cr_assert_eq(o.final_timeout_ms, 25000);
    cr_assert_eq(o.state_limits.max_file, 10ull << 20);
    cr_assert_eq(o.state_limits.max_total, 8192ull << 20);
}

Test(options, init_reads_buckets_limits_and_knobs_from_the_environment)
{
    char *argv[] = {"init", "--bot-id", "b1", "--code-path", "/bot", "--state-path", "/state", "--code-file",
                    "u1/x/1.0.0", "--runtime", "python3.11", "--entrypoint", "main.py", NULL};
    const char *kv[] = {"MINIO_CODE_BUCKET", "code", "MAX_CODE_SIZE_MB", "2", "MAX_STATE_SIZE_MB", "x",
                        "THE0_TERMINATION_LOG", "", NULL};
    env_list env = {kv};
    dinit_opts o;
    bool help;
    t0_err e = {0};
    cr_assert_eq(dinit_opts_parse(13, argv, lookup, &env, &o, &help, &e), T0_OK, "%s", e.msg);
    cr_assert_str_eq(o.code_file, "u1/x/1.0.0");
    cr_assert_str_eq(o.code_bucket, "code");
    cr_assert_str_eq(o.state_bucket, "bot-state");
    cr_assert_eq(o.code_limits.max_total, 2ull << 20);
    cr_assert_eq(o.state_limits.max_total, 8192ull << 20, "an unparsable size keeps the default");
    cr_assert_str_eq(o.termination_log, "", "an empty THE0_TERMINATION_LOG turns the message off");
    cr_assert_eq(o.attempts, 6);
    cr_assert_str_eq(o.paths.var_dir, "/var/the0");
}

Test(options, errors_use_the_cli_messages)
{
    dsync_opts o;
    dinit_opts io;
    bool help;
    t0_err e = {0};
    char *a1[] = {"sync", "--bot-id", "b1", "--nope", NULL};
    cr_assert_eq(dsync_opts_parse(4, a1, NULL, NULL, &o, &help, &e), T0_EINVAL);
    cr_assert_str_eq(e.msg, "unknown flag: --nope");
    char *a2[] = {"sync", "--bot-id", NULL};
    cr_assert_eq(dsync_opts_parse(2, a2, NULL, NULL, &o, &help, &e), T0_EINVAL);
    cr_assert_str_eq(e.msg, "flag needs an argument: --bot-id");
    char *a3[] = {"init", "--state-path", "/s", NULL};
    cr_assert_eq(dinit_opts_parse(3, a3, NULL, NULL, &io, &help, &e), T0_EINVAL);
    cr_assert_str_eq(e.msg, "required flag(s) \"bot-id\" not set");
    char *a4[] = {"sync", "--bot-id", "b1", "--interval", "soon", NULL};
    cr_assert_eq(dsync_opts_parse(5, a4, NULL, NULL, &o, &help, &e), T0_EINVAL);
    cr_assert_str_eq(e.msg, "invalid duration \"soon\"");
    char *a5[] = {"init", "-h", NULL};
    cr_assert_eq(dinit_opts_parse(2, a5, NULL, NULL, &io, &help, &e), T0_OK);
    cr_assert(help);
}
