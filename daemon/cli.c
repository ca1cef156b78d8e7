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

#define TERMINATION_LOG "/dev/termination-log" /* (for the usage texts; daemon/options.c applies it) */

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

static const char *proc_getenv(void *ud, const char *name)
{
    (void)ud;
    return getenv(name);
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
    dinit_opts o;
    bool help;
    t0_err err = {0};
    if (dinit_opts_parse(argc, argv, proc_getenv, NULL, &o, &help, &err) != T0_OK) {
        fprintf(stderr, "Error: %s\n", err.msg);
        init_usage(stderr);
        return 1;
    }
    if (help) {
        init_usage(stdout);
        return 0;
    }
    prod p;
    if (!prod_open(&p)) return 1;
    dinit *in = NULL;
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
    dsync_opts o;
    bool help;
    t0_err err = {0};
    if (dsync_opts_parse(argc, argv, proc_getenv, NULL, &o, &help, &err) != T0_OK) {
        fprintf(stderr, "Error: %s\n", err.msg);
        sync_usage(stderr);
        return 1;
    }
    if (help) {
        sync_usage(stdout);
        return 0;
    }
    prod p;
    if (!prod_open(&p)) return 1;
    o.deadline_hook = cap_timeout;
    o.deadline_ud = p.s3;
    dsync *s = NULL;
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
