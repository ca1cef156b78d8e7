/* test_options.c: the daemon's options from a container's args and env, as the pod spec gives them (what the
 * production binary and the simulator's pods both read). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
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
    cr_assert_eq(dsync_opts_parse(9, argv, lookup, &env, &o, NULL, NULL), CLI_CONTINUE);
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

Test(options, the_sync_container_of_a_realtime_pod_waits_for_the_done_file)
{
    char *argv[] = {"sync", "--bot-id", "b1", "--done-file", "/var/the0/done", "--done-wait", "60s", "--final-timeout",
                    "85s", NULL};
    dsync_opts o;
    cr_assert_eq(dsync_opts_parse(9, argv, NULL, NULL, &o, NULL, NULL), CLI_CONTINUE);
    cr_assert_null(o.watch_done, "the done file does not end a realtime sidecar");
    cr_assert_str_eq(o.done_file, "/var/the0/done");
    cr_assert_eq(o.done_wait_ms, 60000);
    cr_assert_eq(o.final_timeout_ms, 85000);
    char *plain[] = {"sync", "--bot-id", "b1", NULL};
    cr_assert_eq(dsync_opts_parse(3, plain, NULL, NULL, &o, NULL, NULL), CLI_CONTINUE);
    cr_assert(!o.done_file && o.done_wait_ms == 0, "no wait unless asked");
}

Test(options, init_reads_buckets_limits_and_knobs_from_the_environment)
{
    char *argv[] = {"init", "--bot-id", "b1", "--code-path", "/bot", "--state-path", "/state", "--code-file",
                    "u1/x/1.0.0", "--runtime", "python3.11", "--entrypoint", "main.py", NULL};
    const char *kv[] = {"MINIO_CODE_BUCKET", "code", "MAX_CODE_SIZE_MB", "2", "MAX_STATE_SIZE_MB", "x",
                        "THE0_TERMINATION_LOG", "", NULL};
    env_list env = {kv};
    dinit_opts o;
    cr_assert_eq(dinit_opts_parse(13, argv, lookup, &env, &o, NULL, NULL), CLI_CONTINUE);
    cr_assert_str_eq(o.code_file, "u1/x/1.0.0");
    cr_assert_str_eq(o.code_bucket, "code");
    cr_assert_str_eq(o.state_bucket, "bot-state");
    cr_assert_eq(o.code_limits.max_total, 2ull << 20);
    cr_assert_eq(o.state_limits.max_total, 8192ull << 20, "an unparsable size keeps the default");
    cr_assert_str_eq(o.termination_log, "", "an empty THE0_TERMINATION_LOG turns the message off");
    cr_assert_eq(o.attempts, 6);
    cr_assert_str_eq(o.paths.var_dir, "/var/the0");
}

/* Parse ARGV as `daemon sync` (SYNC) or `daemon init`; the exit status, and what was printed in *OUT. */
static int parse(bool sync, int argc, char **argv, char **out)
{
    size_t len = 0;
    FILE *f = open_memstream(out, &len);
    dsync_opts o;
    dinit_opts io;
    int r = sync ? dsync_opts_parse(argc, argv, NULL, NULL, &o, f, f) : dinit_opts_parse(argc, argv, NULL, NULL, &io, f, f);
    fclose(f);
    return r;
}

Test(options, errors_use_the_cli_messages)
{
    char *out;
    char *a1[] = {"sync", "--bot-id", "b1", "--nope", NULL};
    cr_assert_eq(parse(true, 4, a1, &out), 1);
    cr_assert(strstr(out, "unknown option '--nope'"), "%s", out);
    free(out);
    char *a3[] = {"init", "--state-path", "/s", NULL};
    cr_assert_eq(parse(false, 3, a3, &out), 1);
    cr_assert(strstr(out, "Error: required flag(s) \"bot-id\" not set"), "%s", out);
    free(out);
    char *a4[] = {"sync", "--bot-id", "b1", "--interval", "soon", NULL};
    cr_assert_eq(parse(true, 5, a4, &out), 1);
    cr_assert(strstr(out, "invalid value \"soon\" for --interval"), "%s", out);
    free(out);
    char *a5[] = {"init", "-h", NULL};
    cr_assert_eq(parse(false, 2, a5, &out), 0);
    cr_assert(strstr(out, "usage: the0-runtime daemon init"), "%s", out);
    free(out);
}
