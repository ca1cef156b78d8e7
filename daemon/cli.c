/* cli.c: `the0-runtime daemon init|sync`: flags and environment, and the production ports they run on (the
 * S3 client, the wall-clock loop with SIGTERM, the POSIX filesystem). The only file of daemon/ that knows
 * the adapters; the simulator binds its own ports to dinit_start/dsync_start instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/fs_posix.h"
#include "adapters/rtloop.h"
#include "adapters/s3.h"
#include "core/log.h"
#include "daemon/daemon.h"

#define MIB (1024ull * 1024ull)
#define TERMINATION_LOG "/dev/termination-log" /* the container's terminationMessagePath default */

/* The production ports, built in one go and freed in reverse. */
typedef struct prod {
    s3_config cfg;
    s3_client *s3;
    rtloop *loop;
    fs_posix *fsp;
    loop_port lp;
    objstore os;
    fs_port fs;
    dd_env env;
    int code;
    char msg[700]; /* the daemon's last word */
} prod;

static void prod_free(prod *p)
{
    fs_posix_free(p->fsp);
    rtloop_destroy(p->loop);
    s3_client_free(p->s3);
    s3_config_free(&p->cfg);
}

/* The MinIO configuration from the environment (reference 8.1), a client, a loop and the filesystem. On
 * failure prints "Error: ..." and returns false with nothing left allocated. */
static bool prod_open(prod *p)
{
    memset(p, 0, sizeof *p);
    t0_err err = {0};
    if (s3_config_from_env(&p->cfg, &err) != T0_OK) {
        fprintf(stderr, "Error: %s\n", err.msg);
        return false;
    }
    if (s3_client_new(&p->cfg, &p->s3, &err) != T0_OK) {
        fprintf(stderr, "Error: failed to create MinIO client: %s\n", err.msg);
        s3_config_free(&p->cfg);
        return false;
    }
    if (rtloop_new(&p->loop, &err) != T0_OK || fs_posix_new(p->loop, &p->fsp, &err) != T0_OK) {
        fprintf(stderr, "Error: %s\n", err.msg);
        prod_free(p);
        return false;
    }
    p->lp = rtloop_port(p->loop);
    p->os = s3_objstore(p->s3);
    p->fs = fs_posix_port(p->fsp);
    p->env = (dd_env){.loop = &p->lp, .os = &p->os, .fs = &p->fs};
    return true;
}

static void on_end(void *ud, int code, const char *msg)
{
    prod *p = ud;
    p->code = code;
    snprintf(p->msg, sizeof p->msg, "%s", msg);
    rtloop_stop(p->loop);
}

static const char *termination_log(void)
{
    const char *v = getenv("THE0_TERMINATION_LOG"); /* "" turns it off (tests) */
    return v ? v : TERMINATION_LOG;
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    if (!v || !*v) return dflt;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    return (*end || n == 0) ? dflt : n;
}

/* ---- init ----------------------------------------------------------------------------------------- */
static void init_usage(FILE *f)
{
    fprintf(f,
            "usage: the0-runtime daemon init --bot-id ID [--code-path /bot] [--state-path /state]\n"
            "                                 [--code-file KEY] [--runtime RT] [--entrypoint FILE]\n"
            "Downloads custom-bots/<code-file> into the code path (zip; traversal, absolute paths, escaping\n"
            "symlinks and bombs are refused), writes entrypoint.sh, and restores bot-state/<id>/state.tar.gz into\n"
            "the state path. Each archive is extracted into <path>/.the0-init on the same volume and renamed into\n"
            "place only when complete: a failed init leaves nothing behind. Env: MINIO_ENDPOINT, MINIO_ACCESS_KEY,\n"
            "MINIO_SECRET_KEY (required), MINIO_USE_SSL, MINIO_CODE_BUCKET, MINIO_STATE_BUCKET, MAX_STATE_SIZE_MB,\n"
            "MAX_STATE_FILE_SIZE_MB, MAX_CODE_SIZE_MB, MAX_CODE_FILE_SIZE_MB, MAX_ARCHIVE_ENTRIES,\n"
            "THE0_INIT_ATTEMPTS, THE0_RETRY_BASE_MS, THE0_BOT_DIR, THE0_VAR_DIR, THE0_TERMINATION_LOG (default\n"
            TERMINATION_LOG ", when it exists). Exit 0 on success, 1 on any error.\n");
}

static int init_main(int argc, char **argv)
{
    dinit_opts o = {.code_path = "", .state_path = "", .code_file = "", .runtime = "", .entrypoint = ""};
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r = 0;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            init_usage(stdout);
            return 0;
        }
        if ((r = dd_flag(argc, argv, &i, "bot-id", &v)) > 0) o.bot_id = v;
        else if (r == 0 && (r = dd_flag(argc, argv, &i, "code-path", &v)) > 0) o.code_path = v;
        else if (r == 0 && (r = dd_flag(argc, argv, &i, "state-path", &v)) > 0) o.state_path = v;
        else if (r == 0 && (r = dd_flag(argc, argv, &i, "code-file", &v)) > 0) o.code_file = v;
        else if (r == 0 && (r = dd_flag(argc, argv, &i, "runtime", &v)) > 0) o.runtime = v;
        else if (r == 0 && (r = dd_flag(argc, argv, &i, "entrypoint", &v)) > 0) o.entrypoint = v;
        if (r < 0) {
            fprintf(stderr, "Error: flag needs an argument: %s\n", argv[i]);
            return 1;
        }
        if (r == 0) {
            fprintf(stderr, "Error: unknown flag: %s\n", argv[i]);
            init_usage(stderr);
            return 1;
        }
    }
    if (!o.bot_id || !*o.bot_id) {
        fprintf(stderr, "Error: required flag(s) \"bot-id\" not set\n");
        init_usage(stderr);
        return 1;
    }
    prod p;
    if (!prod_open(&p)) return 1;
    o.code_bucket = p.cfg.code_bucket;
    o.state_bucket = p.cfg.state_bucket;
    o.state_limits = (dar_limits){.max_total = p.cfg.max_state_size, .max_file = p.cfg.max_state_file_size,
                                  .max_entries = env_u64("MAX_ARCHIVE_ENTRIES", 100000)};
    o.code_limits = (dar_limits){.max_total = env_u64("MAX_CODE_SIZE_MB", 1024) * MIB,
                                 .max_file = env_u64("MAX_CODE_FILE_SIZE_MB", 512) * MIB,
                                 .max_entries = env_u64("MAX_ARCHIVE_ENTRIES", 100000)};
    o.paths.bot_dir = getenv("THE0_BOT_DIR") && *getenv("THE0_BOT_DIR") ? getenv("THE0_BOT_DIR") : "/bot";
    o.paths.var_dir = getenv("THE0_VAR_DIR") && *getenv("THE0_VAR_DIR") ? getenv("THE0_VAR_DIR") : "/var/the0";
    o.attempts = (int)env_u64("THE0_INIT_ATTEMPTS", 6);
    o.retry_base_ms = (long)env_u64("THE0_RETRY_BASE_MS", 500);
    o.termination_log = termination_log();
    dinit *in = NULL;
    t0_err err = {0};
    p.code = 1;
    if (dinit_start(&p.env, &o, on_end, &p, &in, &err) != T0_OK) {
        snprintf(p.msg, sizeof p.msg, "%s", err.msg);
        dd_termination_message(&p.fs, o.termination_log, p.msg);
    } else {
        rtloop_run(p.loop, -1);
    }
    dinit_destroy(in);
    int code = p.code;
    if (code) fprintf(stderr, "Error: %s\n", p.msg);
    prod_free(&p);
    return code;
}

/* ---- sync ----------------------------------------------------------------------------------------- */
static void sync_usage(FILE *f)
{
    fprintf(f,
            "usage: the0-runtime daemon sync --bot-id ID [--state-path /state] [--logs-path /var/the0/logs]\n"
            "                                 [--interval 60s] [--watch-done PATH] [--final-timeout 25s]\n"
            "                                 [--spool-dir DIR]\n"
            "Ships the state directory to bot-state/<id>/state.tar.gz when its content changes (inotify, 200 ms\n"
            "debounce bounded by a 300 ms maximum wait, periodic scan) and appends new bot.log bytes to\n"
            "bot-logs/logs/<id>/<YYYYMMDD>.log exactly once. The snapshot is spooled in --spool-dir (default: the\n"
            "logs path; the root filesystem may be read-only). On the done file or SIGTERM/SIGINT: final sync\n"
            "within --final-timeout, then exit 0 — also when something could not be shipped, which is logged as an\n"
            "error and written to the termination message (THE0_TERMINATION_LOG, default " TERMINATION_LOG ").\n"
            "Env: MINIO_* as for init; the logs bucket is bot-logs.\n");
}

static void cap_timeout(void *ud, long remaining_ms) { s3_client_set_timeout(ud, remaining_ms); }

static void on_signal(void *ud, int signo)
{
    (void)signo;
    dsync_term(ud);
}

static int sync_main(int argc, char **argv)
{
    const char *bot_id = NULL, *state = "", *logs = "", *interval = "", *done = NULL, *final = "", *spool = "";
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r = 0;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            sync_usage(stdout);
            return 0;
        }
        if ((r = dd_flag(argc, argv, &i, "bot-id", &v)) > 0) bot_id = v;
        else if (r == 0 && (r = dd_flag(argc, argv, &i, "state-path", &v)) > 0) state = v;
        else if (r == 0 && (r = dd_flag(argc, argv, &i, "logs-path", &v)) > 0) logs = v;
        else if (r == 0 && (r = dd_flag(argc, argv, &i, "interval", &v)) > 0) interval = v;
        else if (r == 0 && (r = dd_flag(argc, argv, &i, "watch-done", &v)) > 0) done = v;
        else if (r == 0 && (r = dd_flag(argc, argv, &i, "final-timeout", &v)) > 0) final = v;
        else if (r == 0 && (r = dd_flag(argc, argv, &i, "spool-dir", &v)) > 0) spool = v;
        if (r < 0) {
            fprintf(stderr, "Error: flag needs an argument: %s\n", argv[i]);
            return 1;
        }
        if (r == 0) {
            fprintf(stderr, "Error: unknown flag: %s\n", argv[i]);
            sync_usage(stderr);
            return 1;
        }
    }
    if (!bot_id || !*bot_id) {
        fprintf(stderr, "Error: required flag(s) \"bot-id\" not set\n");
        sync_usage(stderr);
        return 1;
    }
    long iv = *interval ? dd_parse_duration(interval) : 0;
    long ft = *final ? dd_parse_duration(final) : 25000;
    if (iv < 0 || ft < 0) {
        fprintf(stderr, "Error: invalid duration \"%s\"\n", iv < 0 ? interval : final);
        return 1;
    }
    prod p;
    if (!prod_open(&p)) return 1;
    const char *rb = getenv("THE0_RETRY_BASE_MS");
    dsync_opts o = {
        .bot_id = bot_id,
        .state_path = *state ? state : "/state",
        .logs_path = *logs ? logs : "/var/the0/logs",
        .watch_done = done && *done ? done : NULL,
        .spool_dir = *spool ? spool : NULL,
        .termination_log = termination_log(),
        .state_bucket = p.cfg.state_bucket,
        .logs_bucket = "bot-logs", /* hard-coded, reference §9.1 */
        .state_limits = {.max_total = p.cfg.max_state_size, .max_file = p.cfg.max_state_file_size, .max_entries = 100000},
        .interval_ms = iv > 0 ? iv : 60000,
        .final_timeout_ms = ft > 0 ? ft : 25000,
        .retry_base_ms = rb && atol(rb) > 0 ? atol(rb) : 1000,
        .deadline_hook = cap_timeout,
        .deadline_ud = p.s3,
    };
    dsync *s = NULL;
    t0_err err = {0};
    p.code = 1;
    if (dsync_start(&p.env, &o, on_end, &p, &s, &err) != T0_OK) {
        fprintf(stderr, "Error: %s\n", err.msg);
    } else if (rtloop_on_signals(p.loop, on_signal, s, &err) != T0_OK) {
        fprintf(stderr, "Error: %s\n", err.msg);
    } else {
        rtloop_run(p.loop, -1);
    }
    dsync_destroy(s);
    int code = p.code;
    prod_free(&p);
    return code;
}

/* ---- dispatch ------------------------------------------------------------------------------------- */
static void daemon_usage(FILE *f)
{
    fprintf(f, "usage: the0-runtime daemon <init|sync> [options]\n"
               "  init   init container: download code and state from MinIO, write entrypoint.sh\n"
               "  sync   sidecar: ship state and logs to MinIO until the done file or SIGTERM\n"
               "Run 'the0-runtime daemon <init|sync> --help' for options.\n");
}

int daemon_main(int argc, char **argv)
{
    if (argc < 2) {
        daemon_usage(stderr);
        return 1;
    }
    if (!strcmp(argv[1], "init")) return init_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "sync")) return sync_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        daemon_usage(stdout);
        return 0;
    }
    fprintf(stderr, "Error: unknown command \"%s\" for \"the0-runtime daemon\"\n", argv[1]);
    daemon_usage(stderr);
    return 1;
}
