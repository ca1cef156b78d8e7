/* options.c: the options of `daemon init` and `daemon sync` from a container's args and environment, read the
 * same way by the production binary (cmd/runtime_daemon.c) and by the simulator's pods (what the pod spec says). */
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
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

static dar_limits state_limits(dd_getenv_fn env, void *ud)
{
    return (dar_limits){.max_total = env_u64(env, ud, "MAX_STATE_SIZE_MB", 8192) * MIB,
                        .max_file = env_u64(env, ud, "MAX_STATE_FILE_SIZE_MB", 10) * MIB,
                        .max_entries = env_u64(env, ud, "MAX_ARCHIVE_ENTRIES", 100000)};
}

static const char INIT_ABOUT[] =
    "Downloads custom-bots/<code-file> into the code path (zip; traversal, absolute paths, escaping symlinks and\n"
    "bombs are refused), writes entrypoint.sh, and restores bot-state/<id>/state.tar.gz into the state path. Each\n"
    "archive is extracted into <path>/.the0-init on the same volume and renamed into place only when complete:\n"
    "a failed or refused restore leaves nothing behind.";
static const char INIT_FOOTER[] =
    "environment: MINIO_ENDPOINT, MINIO_ACCESS_KEY, MINIO_SECRET_KEY (required), MINIO_USE_SSL, MINIO_CODE_BUCKET,\n"
    "MINIO_STATE_BUCKET, MAX_STATE_SIZE_MB, MAX_STATE_FILE_SIZE_MB, MAX_CODE_SIZE_MB, MAX_CODE_FILE_SIZE_MB,\n"
    "MAX_ARCHIVE_ENTRIES, THE0_INIT_ATTEMPTS, THE0_RETRY_BASE_MS, THE0_BOT_DIR, THE0_VAR_DIR, THE0_TERMINATION_LOG\n"
    "(default " TERMINATION_LOG ", where the outcome is written; empty: none).\n"
    "exit codes: 0 success, 1 any error (usage errors too, as the reference)";

static const char SYNC_ABOUT[] =
    "Ships the state directory to bot-state/<id>/state.tar.gz when its content changes (inotify, 200 ms debounce\n"
    "bounded by a 300 ms maximum wait, periodic scan) and appends new bot.log bytes to\n"
    "bot-logs/logs/<id>/<YYYYMMDD>.log exactly once. S3 has no append, so each append rewrites the day's\n"
    "object: once it is 16 KiB, new lines wait until they add 1/16 of it or for --logs-max-delay (a busy log\n"
    "costs at most 17 times its bytes, a slow one a rewrite per delay). A snapshot up to 4 MiB is built in\n"
    "memory, a larger one is spooled in --spool-dir (the root filesystem may be read-only); so is a day's log\n"
    "object of 4 MiB or more while an append rewrites it. On the done file\n"
    "(--watch-done) or SIGTERM/SIGINT: a final sync within --final-timeout, then exit 0 — also when something\n"
    "could not be shipped, which is logged as an error and written to the termination message: a sidecar never\n"
    "fails its pod (a Job would run the bot again). SIGTERM while the bot still runs (its done file,\n"
    "--done-file or --watch-done, is not there) first waits up to --done-wait for it, so what the bot writes\n"
    "while it stops is shipped too.";
static const char SYNC_FOOTER[] =
    "environment: MINIO_* as for init; the logs bucket is bot-logs; THE0_RETRY_BASE_MS, THE0_TERMINATION_LOG.\n"
    "exit codes: 0 once the final sync ended, 1 a usage or configuration error (usage errors as the reference)";

static int missing_bot_id(FILE *err)
{
    fprintf(err ? err : stderr, "Error: required flag(s) \"bot-id\" not set\n");
    return 1;
}

int dinit_opts_parse(int argc, char **argv, dd_getenv_fn env, void *ud, dinit_opts *o, FILE *out, FILE *err)
{
    memset(o, 0, sizeof *o);
    o->bot_id = o->code_file = o->runtime = o->entrypoint = "";
    o->code_path = "/bot";
    o->state_path = "/state";
    const cli_opt opts[] = {
        {"bot-id", 0, CLI_STR, &o->bot_id, "the bot's id (required)"},
        {"code-path", 0, CLI_STR, &o->code_path, "where the code goes", .arg = "DIR"},
        {"state-path", 0, CLI_STR, &o->state_path, "where the state goes", .arg = "DIR"},
        {"code-file", 0, CLI_STR, &o->code_file, "object key of the code zip in the code bucket (empty: no code step)",
         .arg = "KEY"},
        {"runtime", 0, CLI_STR, &o->runtime, "runtime of entrypoint.sh (python3.11, nodejs20, ...)"},
        {"entrypoint", 0, CLI_STR, &o->entrypoint, "the bot's entry file", .arg = "FILE"},
    };
    const cli_cmd cmd = {"the0-runtime daemon init", "--bot-id ID [flags]", INIT_ABOUT, opts, T0_ARRAY_LEN(opts), 0, 0,
                         INIT_FOOTER, 1};
    int first, pr = cli_parse_to(&cmd, argc, argv, &first, out, err);
    if (pr != CLI_CONTINUE) return pr;
    if (!*o->bot_id) return missing_bot_id(err);
    if (!*o->code_path) o->code_path = "/bot";
    if (!*o->state_path) o->state_path = "/state";
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
    return CLI_CONTINUE;
}

int dsync_opts_parse(int argc, char **argv, dd_getenv_fn env, void *ud, dsync_opts *o, FILE *out, FILE *err)
{
    memset(o, 0, sizeof *o);
    const char *done = "", *done_file = "", *spool = "";
    int64_t iv = 60000, ft = 25000, dw = 0, ld = DSYNC_LOGS_MAX_DELAY_MS;
    o->bot_id = "";
    o->state_path = "/state";
    o->logs_path = "/var/the0/logs";
    const cli_opt opts[] = {
        {"bot-id", 0, CLI_STR, &o->bot_id, "the bot's id (required)"},
        {"state-path", 0, CLI_STR, &o->state_path, "the state directory", .arg = "DIR"},
        {"logs-path", 0, CLI_STR, &o->logs_path, "the directory of bot.log", .arg = "DIR"},
        {"interval", 0, CLI_DUR, &iv, "periodic scan", .min = 1, .max = 86400000},
        {"watch-done", 0, CLI_STR, &done, "stop after a final sync once this file exists (the bot's done file, "
         "restartPolicy Never)", .arg = "PATH"},
        {"done-file", 0, CLI_STR, &done_file, "the bot's done file, waited for after SIGTERM only (restartPolicy "
         "Always)", .arg = "PATH"},
        {"done-wait", 0, CLI_DUR, &dw, "after SIGTERM, wait this long at most for the done file before the final sync",
         .min = 0, .max = 3600000},
        {"final-timeout", 0, CLI_DUR, &ft, "bound of the end: from SIGTERM (the wait included) or the done file",
         .min = 1, .max = 3600000},
        {"logs-max-delay", 0, CLI_DUR, &ld, "the longest new log lines wait once the day's log object is large "
         "(each append rewrites it; 0s: append every line as it comes)", .min = 0, .max = 3600000},
        {"spool-dir", 0, CLI_STR, &spool, "where large snapshots and day log objects are spooled (empty: the logs path)", .arg = "DIR"},
    };
    const cli_cmd cmd = {"the0-runtime daemon sync", "--bot-id ID [flags]", SYNC_ABOUT, opts, T0_ARRAY_LEN(opts), 0, 0,
                         SYNC_FOOTER, 1};
    int first, pr = cli_parse_to(&cmd, argc, argv, &first, out, err);
    if (pr != CLI_CONTINUE) return pr;
    if (!*o->bot_id) return missing_bot_id(err);
    if (!*o->state_path) o->state_path = "/state";
    if (!*o->logs_path) o->logs_path = "/var/the0/logs";
    o->watch_done = *done ? done : NULL;
    o->done_file = *done_file ? done_file : NULL;
    o->done_wait_ms = (long)dw;
    o->spool_dir = *spool ? spool : NULL;
    o->state_bucket = env_str(env, ud, "MINIO_STATE_BUCKET", "bot-state");
    o->logs_bucket = "bot-logs"; /* hard-coded, reference §9.1 */
    o->state_limits = state_limits(env, ud);
    o->interval_ms = (long)iv;
    o->final_timeout_ms = (long)ft;
    o->logs_max_delay_ms = (long)ld;
    o->retry_base_ms = (long)env_u64(env, ud, "THE0_RETRY_BASE_MS", 1000);
    o->termination_log = termination_log(env, ud);
    return CLI_CONTINUE;
}
