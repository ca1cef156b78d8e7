/* pods.c: what the simulated pods run: `/app/runtime daemon init|sync` is the shipped daemon code (daemon/) on
 * the simulator's ports — the virtual loop, the fake MinIO through its port (faults and all), the
 * container's view of its pod's filesystem — with the options its container's args and env give. And the
 * part of the outside world the init container meets: the bot's code zip in the code bucket, as the0's API
 * would have uploaded it. */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cli.h"
#include "core/log.h"
#include "core/str.h"
#include "daemon/daemon.h"
#include "scenarios/world.h"

#define COMP "pods"

typedef struct dproc {
    kubelet_proc base;
    const kubelet_exec *x;
    scn_world *w;
    dinit *in;
    dsync *sy;
    dd_env env;
    objstore os;
    dinit_opts io;
    dsync_opts so;
    char **argv; /* the daemon's argv: "init"/"sync" and the args (borrowed strings) */
    uint64_t t_fail;
    int fail_code;
} dproc;

static void dp_free(dproc *d)
{
    if (d->t_fail) d->x->loop->cancel(d->x->loop->ctx, d->t_fail);
    dinit_destroy(d->in);
    dsync_destroy(d->sy);
    free(d->argv);
    free(d);
}

static void dp_term(kubelet_proc *pr)
{
    dproc *d = (dproc *)pr;
    if (d->sy) dsync_term(d->sy); /* init has no handler: the kubelet kills it */
}

static void dp_kill(kubelet_proc *pr) { dp_free((dproc *)pr); }

static void dp_exit(void *ud, int code, const char *msg)
{
    dproc *d = ud;
    (void)msg;
    d->x->exit(d->x, code);
}

static void dp_failed(void *ud)
{
    dproc *d = ud;
    d->t_fail = 0;
    d->x->exit(d->x, d->fail_code);
}

static const char *dp_getenv(void *ud, const char *name) { return kubelet_exec_getenv(ud, name); }

/* ---- the code object ------------------------------------------------------------------------------- */
static la_ssize_t zip_write(struct archive *a, void *ud, const void *buf, size_t n)
{
    (void)a;
    return objstore_buf_append(ud, buf, n) == T0_OK ? (la_ssize_t)n : -1;
}

/* A zip with ENTRY (the bot's entry file) and the program's extra files (names as bytes, UTF-8 flagged). */
static bool code_zip(const char *entry, const kubelet_program *prog, objstore_buf *out)
{
    struct archive *a = archive_write_new();
    if (!a) return false;
    t0_utf8_scope loc = t0_utf8_enter(); /* the names go through the locale: UTF-8 */
    archive_write_set_format_zip(a);
    archive_write_set_options(a, "hdrcharset=UTF-8");
    archive_write_set_bytes_in_last_block(a, 1); /* no padding to 10,240 bytes (the default block) */
    bool ok = archive_write_open2(a, out, NULL, zip_write, NULL, NULL) == ARCHIVE_OK;
    const char *names[1 + KUBELET_MAX_CODE_FILES];
    size_t n = 0;
    names[n++] = entry;
    for (size_t i = 0; i < prog->ncode_files && i < KUBELET_MAX_CODE_FILES; i++) names[n++] = prog->code_files[i];
    static const char body[] = "# a simulated bot: its program is the scenario's model\n";
    for (size_t i = 0; ok && i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        if (!e) {
            ok = false;
            break;
        }
        archive_entry_set_pathname_utf8(e, names[i]);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0755);
        archive_entry_set_size(e, (la_int64_t)(sizeof body - 1));
        archive_entry_set_mtime(e, 1767571200, 0); /* fixed: the same zip every run */
        ok = archive_write_header(a, e) == ARCHIVE_OK && archive_write_data(a, body, sizeof body - 1) == (la_ssize_t)(sizeof body - 1);
        archive_entry_free(e);
    }
    ok = archive_write_close(a) == ARCHIVE_OK && ok;
    archive_write_free(a);
    t0_utf8_leave(loc);
    return ok;
}

/* The zip for ENTRY and the program's files, made once per distinct content (the world keeps them). */
static const objstore_buf *zip_for(scn_world *w, const char *entry, const kubelet_program *g)
{
    char key[1024];
    size_t o = (size_t)snprintf(key, sizeof key, "%s", entry);
    for (size_t i = 0; i < g->ncode_files && o < sizeof key; i++)
        o += (size_t)snprintf(key + o, sizeof key - o, "\n%s", g->code_files[i]);
    objstore_buf *z = hmap_get(&w->code_zips, key);
    if (z) return z;
    if (!(z = calloc(1, sizeof *z))) return NULL;
    if (!code_zip(entry, g, z) || hmap_put(&w->code_zips, key, z, NULL) != T0_OK) {
        objstore_buf_free(z);
        free(z);
        return NULL;
    }
    return z;
}

/* The code object holds the bot's entry file (and the model's extra files), as the0's API uploaded it for
 * this version — unless the bot's model withholds it for this init run (`model ID init fail=N`). */
static void code_object(scn_world *w, const kubelet_exec *x, const dinit_opts *o)
{
    if (!o->code_file || !*o->code_file) return;
    const kubelet_program *g = x->prog;
    bool withheld = g->init_failures < 0 || (int64_t)x->init_runs <= g->init_failures;
    const objfake_object *have = objfake_peek(w->obj, o->code_bucket, o->code_file);
    w->scenario_objects = true;
    if (withheld) {
        if (have) objfake_del_raw(w->obj, o->code_bucket, o->code_file);
    } else {
        const objstore_buf *zip = zip_for(w, o->entrypoint && *o->entrypoint ? o->entrypoint : "main.py", g);
        t0_err err = {0};
        if (!zip)
            T0_ERROR(COMP, "bot %s: the code zip could not be made", x->bot_id);
        else if ((!have || have->len != zip->len || memcmp(have->data, zip->data, zip->len)) &&
                 objfake_put_raw(w->obj, o->code_bucket, o->code_file, zip->data, zip->len, &err) != T0_OK)
            T0_ERROR(COMP, "bot %s: the code object %s/%s: %s", x->bot_id, o->code_bucket, o->code_file, err.msg);
    }
    w->scenario_objects = false;
}

/* ---- /app/runtime -------------------------------------------------------------------------------------- */
static t0_status runtime_exec(void *ud, const kubelet_exec *x, kubelet_proc **out, t0_err *err)
{
    scn_world *w = ud;
    if (x->argc < 3 || strcmp(x->argv[1], "daemon") || (strcmp(x->argv[2], "init") && strcmp(x->argv[2], "sync")))
        return t0_fail(err, T0_EINVAL, "/app/runtime %s %s: the simulated runtime image runs `daemon init|sync`",
                       x->argc > 1 ? x->argv[1] : "", x->argc > 2 ? x->argv[2] : "");
    dproc *d = calloc(1, sizeof *d);
    if (!d || !(d->argv = calloc((size_t)x->argc, sizeof *d->argv))) {
        free(d);
        return t0_fail(err, T0_ENOMEM, "daemon: out of memory");
    }
    d->base = (kubelet_proc){dp_term, dp_kill};
    d->x = x;
    d->w = w;
    int argc = x->argc - 2;
    for (int i = 0; i < argc; i++) d->argv[i] = x->argv[i + 2];
    d->os = objfake_port(w->obj);
    d->env = (dd_env){.loop = x->loop, .os = &d->os, .fs = x->fs};
    /* usage errors go where the container's stderr would: the log (a fixed buffer: open_memstream would
     * calloc 8 KB per container start for text that is almost never written) */
    char text[2048] = "";
    FILE *msgs = fmemopen(text, sizeof text - 1, "w");
    bool init = !strcmp(d->argv[0], "init");
    int pr = init ? dinit_opts_parse(argc, d->argv, dp_getenv, (void *)x, &d->io, msgs, msgs)
                  : dsync_opts_parse(argc, d->argv, dp_getenv, (void *)x, &d->so, msgs, msgs);
    if (msgs) fclose(msgs);
    t0_status st = T0_OK;
    t0_err e = {0};
    if (pr != CLI_CONTINUE) {
        T0_WARN(COMP, "pod %s/%s container %s: daemon %s exited %d: %s", x->ns, x->pod, x->container, d->argv[0], pr,
                text);
        d->fail_code = pr;
    } else if (init) {
        code_object(w, x, &d->io);
        st = dinit_start(&d->env, &d->io, dp_exit, d, &d->in, &e);
    } else {
        d->so.trace_key = x->trace_key;
        d->so.done_poll_ms = -1; /* the model's watches are exact */
        d->env.tracer = x->tracer;
        st = dsync_start(&d->env, &d->so, dp_exit, d, &d->sy, &e);
    }
    if (st != T0_OK) { /* the process ran and failed at once: exit 1 with its error, as the binary prints it */
        T0_ERROR(COMP, "pod %s/%s container %s: Error: %s", x->ns, x->pod, x->container, e.msg);
        dd_termination_message(x->fs, init ? d->io.termination_log : d->so.termination_log, e.msg);
        d->fail_code = 1;
    }
    if (st != T0_OK || pr != CLI_CONTINUE) d->t_fail = x->loop->timer(x->loop->ctx, 0, dp_failed, d);
    *out = &d->base;
    return T0_OK;
}

t0_status scn_pods_bind(scn_world *w, t0_err *err)
{
    /* the log's day key and stamps use local time: the simulated nodes run in UTC */
    setenv("TZ", "UTC", 1);
    tzset();
    return kubelet_register_exec(w->kl, "/app/runtime", runtime_exec, w, err);
}
