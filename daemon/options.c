/* options.c: the options of `daemon init` and `daemon sync` from a container's args and environment, read the
 * same way by the production binary (daemon/cli.c) and by the simulator's pods (what the pod spec says). */
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"

#define MIB (1024ull * 1024ull)
#define TERMINATION_LOG "/dev/termination-log" /* the container's terminationMessagePath default */

static const char *env_str(dd_getenv_fn env, void *ud, const char *name, const char *dflt)
{
    const char *v = env ? env(ud, name) : NULL;
    return v && *v ? v : dflt;
}

/* A positive base-10 count; unparsable or 0 keeps the default (reference §8.1). */
static uint64_t env_u64(dd_getenv_fn env, void *ud, const char *name, uint64_t dflt)
{
    const char *v = env ? env(ud, name) : NULL;
    if (!v || !*v) return dflt;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    return (*end || n == 0 || n > (1ull << 40)) ? dflt : n;
}

static const char *termination_log(dd_getenv_fn env, void *ud)
{
    const char *v = env ? env(ud, "THE0_TERMINATION_LOG") : NULL; /* "" turns it off (tests) */
    return v ? v : TERMINATION_LOG;
}

/* The flags of ARGV (ARGV[0] is the subcommand): each NAMES[i] sets *VALS[i]. */
static t0_status parse_flags(int argc, char **argv, const char *const *names, const char **const *vals, size_t n,
                             bool *help, t0_err *err)
{
    *help = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            *help = true;
            return T0_OK;
        }
        int r = 0;
        for (size_t k = 0; k < n && r == 0; k++) {
            const char *v = NULL;
            if ((r = dd_flag(argc, argv, &i, names[k], &v)) > 0) *vals[k] = v;
        }
        if (r < 0) return t0_fail(err, T0_EINVAL, "flag needs an argument: %s", argv[i]);
        if (r == 0) return t0_fail(err, T0_EINVAL, "unknown flag: %s", argv[i]);
    }
    return T0_OK;
}

static dar_limits state_limits(dd_getenv_fn env, void *ud)
{
    return (dar_limits){.max_total = env_u64(env, ud, "MAX_STATE_SIZE_MB", 8192) * MIB,
                        .max_file = env_u64(env, ud, "MAX_STATE_FILE_SIZE_MB", 10) * MIB,
                        .max_entries = env_u64(env, ud, "MAX_ARCHIVE_ENTRIES", 100000)};
}

t0_status dinit_opts_parse(int argc, char **argv, dd_getenv_fn env, void *ud, dinit_opts *o, bool *help, t0_err *err)
{
    memset(o, 0, sizeof *o);
    static const char *const names[] = {"bot-id", "code-path", "state-path", "code-file", "runtime", "entrypoint"};
    const char **const vals[] = {&o->bot_id, &o->code_path, &o->state_path, &o->code_file, &o->runtime, &o->entrypoint};
    t0_status st = parse_flags(argc, argv, names, vals, T0_ARRAY_LEN(names), help, err);
    if (st != T0_OK || *help) return st;
    if (!o->bot_id || !*o->bot_id) return t0_fail(err, T0_EINVAL, "required flag(s) \"bot-id\" not set");
    if (!o->code_path || !*o->code_path) o->code_path = "/bot";
    if (!o->state_path || !*o->state_path) o->state_path = "/state";
    o->code_bucket = env_str(env, ud, "MINIO_CODE_BUCKET", "custom-bots");
    o->state_bucket = env_str(env, ud, "MINIO_STATE_BUCKET", "bot-state");
    o->state_limits = state_limits(env, ud);
    o->code_limits = (dar_limits){.max_total = env_u64(env, ud, "MAX_CODE_SIZE_MB", 1024) * MIB,
                                  .max_file = env_u64(env, ud, "MAX_CODE_FILE_SIZE_MB", 512) * MIB,
                                  .max_entries = env_u64(env, ud, "MAX_ARCHIVE_ENTRIES", 100000)};
    o->paths.bot_dir = env_str(env, ud, "THE0_BOT_DIR", "/bot");
    o->paths.var_dir = env_str(env, ud, "THE0_VAR_DIR", "/var/the0");
    o->attempts = (int)env_u64(env, ud, "THE0_INIT_ATTEMPTS", 6);
    o->retry_base_ms = (long)env_u64(env, ud, "THE0_RETRY_BASE_MS", 500);
    o->termination_log = termination_log(env, ud);
    return T0_OK;
}

t0_status dsync_opts_parse(int argc, char **argv, dd_getenv_fn env, void *ud, dsync_opts *o, bool *help, t0_err *err)
{
    memset(o, 0, sizeof *o);
    const char *interval = NULL, *final = NULL;
    static const char *const names[] = {"bot-id",     "state-path",    "logs-path", "interval",
                                        "watch-done", "final-timeout", "spool-dir"};
    const char **const vals[] = {&o->bot_id, &o->state_path, &o->logs_path, &interval, &o->watch_done, &final, &o->spool_dir};
    t0_status st = parse_flags(argc, argv, names, vals, T0_ARRAY_LEN(names), help, err);
    if (st != T0_OK || *help) return st;
    if (!o->bot_id || !*o->bot_id) return t0_fail(err, T0_EINVAL, "required flag(s) \"bot-id\" not set");
    long iv = interval && *interval ? dd_parse_duration(interval) : 0;
    long ft = final && *final ? dd_parse_duration(final) : 0;
    if (iv < 0 || ft < 0) return t0_fail(err, T0_EINVAL, "invalid duration \"%s\"", iv < 0 ? interval : final);
    if (!o->state_path || !*o->state_path) o->state_path = "/state";
    if (!o->logs_path || !*o->logs_path) o->logs_path = "/var/the0/logs";
    if (o->watch_done && !*o->watch_done) o->watch_done = NULL;
    if (o->spool_dir && !*o->spool_dir) o->spool_dir = NULL;
    o->state_bucket = env_str(env, ud, "MINIO_STATE_BUCKET", "bot-state");
    o->logs_bucket = "bot-logs"; /* hard-coded, reference §9.1 */
    o->state_limits = state_limits(env, ud);
    o->interval_ms = iv > 0 ? iv : 60000;
    o->final_timeout_ms = ft > 0 ? ft : 25000;
    o->retry_base_ms = (long)env_u64(env, ud, "THE0_RETRY_BASE_MS", 1000);
    o->termination_log = termination_log(env, ud);
    return T0_OK;
}
