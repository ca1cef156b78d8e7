/* runtime_daemon.c: `the0-runtime daemon init|sync`: flags and environment, and the production ports they run
 * on (the S3 client, the wall-clock loop with SIGTERM, the POSIX filesystem). daemon/ itself sees only ports;
 * the simulator binds its own to dinit_start/dsync_start (scenarios/pods.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/fs_posix.h"
#include "adapters/rtloop.h"
#include "adapters/s3.h"
#include "cmd/cmd.h"
#include "core/cli.h"
#include "core/log.h"
#include "daemon/daemon.h"

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
static int init_main(int argc, char **argv)
{
    dinit_opts o;
    int pr = dinit_opts_parse(argc, argv, proc_getenv, NULL, &o, NULL, NULL);
    if (pr != CLI_CONTINUE) return pr;
    t0_err err = {0};
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
static void cap_timeout(void *ud, long remaining_ms) { s3_client_set_timeout(ud, remaining_ms); }

static void on_signal(void *ud, int signo)
{
    (void)signo;
    dsync_term(ud);
}

static int sync_main(int argc, char **argv)
{
    dsync_opts o;
    int pr = dsync_opts_parse(argc, argv, proc_getenv, NULL, &o, NULL, NULL);
    if (pr != CLI_CONTINUE) return pr;
    t0_err err = {0};
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
int daemon_main(int argc, char **argv)
{
    static const cli_sub subs[] = {
        {"init", "--bot-id ID ...", "init container: download code and state from MinIO, write entrypoint.sh", init_main},
        {"sync", "--bot-id ID ...", "sidecar: ship state and logs to MinIO until the done file or SIGTERM", sync_main},
    };
    /* usage errors exit 1 here, as the reference's cobra commands do */
    static const cli_group g = {"the0-runtime daemon", "The pod-side daemon of bot pods.", subs, 2, NULL, 1};
    return cli_dispatch(&g, argc, argv);
}
