/* init.c: `daemon init`, the init container, on ports: code zip into /bot, entrypoint.sh, state into /state,
 * each archive extracted into a staging directory on its own volume and renamed into place only when whole. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "daemon/daemon.h"
#include "domain/names.h"

#define COMP "daemon-init"

enum phase { PH_CODE, PH_ENTRYPOINT, PH_STATE, PH_DONE };

struct dinit {
    dd_env env;
    dinit_opts o;
    dd_exit_fn done;
    void *ud;
    enum phase phase;
    int attempt;
    long delay_ms;
    uint64_t timer;
    bool finished;
    int code;
    char msg[640];
    char state_key[512];
};

static const fs_port *fsp(const dinit *in) { return in->env.fs; }

/* ---- the work directory: <dest>/.the0-init/{download,staging,old} ------------------------------- */
typedef struct work {
    char dir[1024], download[1100], staging[1100], old[1100];
} work;

static t0_status work_paths(const char *dest, work *w, t0_err *err)
{
    t0_status st;
    if ((st = fs_join(w->dir, sizeof w->dir, dest, DD_STATE_WORK, err)) != T0_OK) return st;
    if ((st = fs_join(w->download, sizeof w->download, w->dir, "download", err)) != T0_OK) return st;
    if ((st = fs_join(w->staging, sizeof w->staging, w->dir, "staging", err)) != T0_OK) return st;
    return fs_join(w->old, sizeof w->old, w->dir, "old", err);
}

/* A fresh work directory (a previous init may have died in it). */
static t0_status work_prepare(const fs_port *fs, const char *dest, work *w, t0_err *err)
{
    t0_status st = work_paths(dest, w, err);
    if (st == T0_OK) st = fs_mkdirs(fs, dest, 0755, err);
    if (st == T0_OK) st = fs_rmtree(fs, w->dir, err);
    if (st == T0_OK) st = fs->mkdir(fs->ctx, w->dir, 0700, err);
    if (st == T0_OK) st = fs->mkdir(fs->ctx, w->staging, 0755, err);
    return st;
}

static void work_remove(const fs_port *fs, const work *w)
{
    t0_err e = {0};
    if (fs_rmtree(fs, w->dir, &e) != T0_OK) T0_WARN(COMP, "cleaning up %s: %s", w->dir, e.msg);
}

/* Make DEST hold exactly the staged tree: every entry of DEST (but the work directory) is moved aside into
 * old/ (removed with the work directory), then every staged entry is moved in. All renames stay on DEST's
 * volume. On a failure what was moved is put back as far as possible, so DEST keeps its old content. */
static t0_status work_commit(const fs_port *fs, const char *dest, const work *w, t0_err *err)
{
    fs_list cur = {0}, staged = {0};
    t0_status st = fs->list(fs->ctx, w->staging, &staged, err);
    if (st == T0_OK) st = fs->list(fs->ctx, dest, &cur, err);
    for (size_t i = 0; st == T0_OK && i < staged.n; i++)
        if (!strcmp(staged.names[i], DD_STATE_WORK))
            st = t0_fail(err, T0_EINVAL, "archive entry \"%s\": the name is reserved for init's work directory",
                         DD_STATE_WORK);
    if (st == T0_OK) st = fs->mkdir(fs->ctx, w->old, 0700, err);
    char a[2200], b[2200];
    size_t aside = 0, moved_in = 0;
    for (; st == T0_OK && aside < cur.n; aside++) {
        if (!strcmp(cur.names[aside], DD_STATE_WORK)) continue;
        if ((st = fs_join(a, sizeof a, dest, cur.names[aside], err)) == T0_OK &&
            (st = fs_join(b, sizeof b, w->old, cur.names[aside], err)) == T0_OK)
            st = fs->rename(fs->ctx, a, b, err);
    }
    for (; st == T0_OK && moved_in < staged.n; moved_in++)
        if ((st = fs_join(a, sizeof a, w->staging, staged.names[moved_in], err)) == T0_OK &&
            (st = fs_join(b, sizeof b, dest, staged.names[moved_in], err)) == T0_OK)
            st = fs->rename(fs->ctx, a, b, err);
    if (st != T0_OK) { /* roll back: staged entries out, old entries in */
        for (size_t i = 0; i < moved_in; i++)
            if (fs_join(a, sizeof a, w->staging, staged.names[i], NULL) == T0_OK &&
                fs_join(b, sizeof b, dest, staged.names[i], NULL) == T0_OK)
                fs->rename(fs->ctx, b, a, NULL);
        for (size_t i = 0; i < aside && i < cur.n; i++)
            if (strcmp(cur.names[i], DD_STATE_WORK) && fs_join(a, sizeof a, dest, cur.names[i], NULL) == T0_OK &&
                fs_join(b, sizeof b, w->old, cur.names[i], NULL) == T0_OK)
                fs->rename(fs->ctx, b, a, NULL);
    }
    fs_list_free(&cur);
    fs_list_free(&staged);
    if (st == T0_OK) fs->sync_dir(fs->ctx, dest, NULL);
    return st;
}

/* ---- steps ------------------------------------------------------------------------------------------ */
static void run(void *ud);

static void on_finish(void *ud)
{
    dinit *in = ud;
    in->timer = 0;
    if (in->done) in->done(in->ud, in->code, in->msg);
}

static void finish(dinit *in, int code, const char *msg)
{
    in->finished = true;
    in->phase = PH_DONE;
    in->code = code;
    snprintf(in->msg, sizeof in->msg, "%s", msg);
    if (code) T0_ERROR(COMP, "init bot %s: %s", in->o.bot_id, msg);
    else T0_INFO(COMP, "init bot %s: %s", in->o.bot_id, msg);
    dd_termination_message(fsp(in), in->o.termination_log, in->msg);
    in->timer = in->env.loop->timer(in->env.loop->ctx, 0, on_finish, in);
}

/* Download BUCKET/KEY into W's download file. T0_ENOTFOUND at once when the object or bucket is missing. */
static t0_status download(dinit *in, const char *bucket, const char *key, const work *w, objstore_meta *meta,
                          t0_err *err)
{
    fs_stream *out;
    t0_status st = fs_stream_open(fsp(in), w->download, FS_WRITE | FS_CREATE | FS_TRUNC, 0600, &out, err);
    if (st != T0_OK) return st;
    objstore_sink sink = {.file = out->fp};
    st = in->env.os->get(in->env.os->ctx, bucket, key, &sink, meta, err);
    t0_err local = out->err, ce = {0};
    t0_status cs = fs_stream_close(out, &ce);
    if (local.code == T0_OK && cs != T0_OK) local = ce;
    if (local.code != T0_OK) { /* the cause was our volume (full, read-only ...), not the object store */
        if (err) *err = local;
        t0_err_prefix(err, "saving %s/%s", bucket, key);
        return local.code;
    }
    return st;
}

/* One attempt at the archive of this phase; true when the phase is over (done or failed). */
static bool archive_step(dinit *in, bool code)
{
    const dinit_opts *o = &in->o;
    const char *dest = code ? o->code_path : o->state_path;
    const char *bucket = code ? o->code_bucket : o->state_bucket;
    const char *key = code ? o->code_file : in->state_key;
    const char *what = code ? "download code" : "download state";
    int attempts = o->attempts > 0 ? o->attempts : 6;
    work w;
    t0_err e = {0};
    char msg[sizeof in->msg];
    t0_status st = in->attempt == 0 ? work_prepare(fsp(in), dest, &w, &e) : work_paths(dest, &w, &e);
    if (st != T0_OK) {
        snprintf(msg, sizeof msg, "%s: preparing %s: %s", code ? "failed to download code" : "failed to restore state",
                 dest, e.msg);
        finish(in, 1, msg);
        return true;
    }
    in->attempt++;
    objstore_meta meta = {0};
    st = download(in, bucket, key, &w, &meta, &e);
    if (st != T0_OK && st != T0_ENOTFOUND && fs_errno(st, &e) == 0 && in->attempt < attempts) {
        T0_WARN(COMP, "%s: attempt %d/%d failed (%s), retrying in %ld ms", what, in->attempt, attempts, e.msg, in->delay_ms);
        in->timer = in->env.loop->timer(in->env.loop->ctx, in->delay_ms, run, in);
        in->delay_ms = in->delay_ms * 2 > 8000 ? 8000 : in->delay_ms * 2;
        return false;
    }
    if (st == T0_ENOTFOUND && !code) {
        T0_INFO(COMP, "No existing state (first run): %s", e.msg);
        work_remove(fsp(in), &w);
        return true;
    }
    if (st != T0_OK) {
        if (fs_errno(st, &e) == 0 && in->attempt >= attempts) t0_err_prefix(&e, "gave up after %d attempts", in->attempt);
        snprintf(msg, sizeof msg, "%s: %s", code ? "failed to download code: failed to read from MinIO" :
                                                   "failed to restore state (saved state may exist; refusing to start on "
                                                   "empty state)", e.msg);
        work_remove(fsp(in), &w);
        finish(in, 1, msg);
        return true;
    }
    dar_stats ds;
    st = dar_extract(fsp(in), w.download, code ? DAR_ZIP : DAR_TARGZ, w.staging, code ? &o->code_limits : &o->state_limits,
                     &ds, &e);
    if (st == T0_OK) st = work_commit(fsp(in), dest, &w, &e);
    work_remove(fsp(in), &w); /* also a refused archive's staged files: nothing is left behind */
    if (st != T0_OK) {
        snprintf(msg, sizeof msg, "%s %s/%s: %s", code ? "failed to extract code" : "failed to restore state from", bucket,
                 key, e.msg);
        finish(in, 1, msg);
        return true;
    }
    if (code) {
        T0_INFO(COMP, "code %s/%s extracted into %s: %llu files, %llu dirs, %llu links, %llu bytes", bucket, key, dest,
                (unsigned long long)ds.files, (unsigned long long)ds.dirs, (unsigned long long)ds.links,
                (unsigned long long)ds.bytes);
    } else {
        dd_state_meta m;
        dd_state_meta_read(&meta, &m);
        T0_INFO(COMP, "state %s/%s restored into %s: %llu files, %llu bytes, generation %" PRIu64, bucket, key, dest,
                (unsigned long long)ds.files, (unsigned long long)ds.bytes, m.generation);
        if (m.known && !m.final)
            T0_WARN(COMP,
                    "bot %s: state generation %" PRIu64 " is not marked final: the previous run ended without its final "
                    "sync, so changes it made after this generation were not shipped",
                    o->bot_id, m.generation);
        snprintf(in->msg, sizeof in->msg, "restored state generation %" PRIu64 "%s", m.generation,
                 m.known && !m.final ? " (not final: the previous run's last changes may be missing)" : "");
    }
    return true;
}

static void run(void *ud)
{
    dinit *in = ud;
    in->timer = 0;
    const dinit_opts *o = &in->o;
    for (;;) {
        switch (in->phase) {
        case PH_CODE:
            if (o->code_file && *o->code_file && !archive_step(in, true)) return; /* waiting to retry */
            if (in->finished) return;
            in->phase = PH_ENTRYPOINT;
            in->attempt = 0;
            in->delay_ms = o->retry_base_ms > 0 ? o->retry_base_ms : 500;
            break;
        case PH_ENTRYPOINT:
            if (o->runtime && *o->runtime && o->entrypoint && *o->entrypoint) {
                char *script = NULL, path[1100], msg[sizeof in->msg];
                t0_err e = {0};
                t0_status st = dinit_entrypoint_script(o->runtime, o->entrypoint, &o->paths, &script, &e);
                if (st != T0_OK) {
                    snprintf(msg, sizeof msg, "failed to generate entrypoint: %s", e.msg);
                    finish(in, 1, msg);
                    return;
                }
                if ((st = fs_mkdirs(fsp(in), o->code_path, 0755, &e)) == T0_OK &&
                    (st = fs_join(path, sizeof path, o->code_path, "entrypoint.sh", &e)) == T0_OK) {
                    fsp(in)->unlink(fsp(in)->ctx, path, NULL); /* a file (or link) of that name from the zip is replaced */
                    st = fs_write_atomic(fsp(in), path, script, strlen(script), 0755, &e);
                }
                free(script);
                if (st != T0_OK) {
                    snprintf(msg, sizeof msg, "failed to write entrypoint: %s", e.msg);
                    finish(in, 1, msg);
                    return;
                }
            }
            in->phase = PH_STATE;
            break;
        case PH_STATE:
            if (!archive_step(in, false)) return;
            if (in->finished) return;
            {
                char m[sizeof in->msg];
                snprintf(m, sizeof m, "done: %s", in->msg[0] ? in->msg : "first run, no state to restore");
                finish(in, 0, m);
            }
            return;
        case PH_DONE:
            return;
        }
    }
}

t0_status dinit_start(const dd_env *env, const dinit_opts *o, dd_exit_fn done, void *ud, dinit **out, t0_err *err)
{
    *out = NULL;
    t0_err e = {0};
    if (!o->bot_id || !*o->bot_id) return t0_fail(err, T0_EINVAL, "no bot id");
    if (names_validate_minio_path(o->bot_id, &e) != T0_OK) return t0_fail(err, T0_EINVAL, "invalid bot ID: %s", e.msg);
    if (o->code_file && *o->code_file && names_validate_minio_path(o->code_file, &e) != T0_OK)
        return t0_fail(err, T0_EINVAL, "invalid code file \"%s\": %s", o->code_file, e.msg);
    dinit *in = calloc(1, sizeof *in);
    if (!in) return t0_fail(err, T0_ENOMEM, "init: out of memory");
    in->env = *env;
    in->o = *o;
    in->done = done;
    in->ud = ud;
    if (!in->o.code_path || !*in->o.code_path) in->o.code_path = "/bot";
    if (!in->o.state_path || !*in->o.state_path) in->o.state_path = "/state";
    in->delay_ms = o->retry_base_ms > 0 ? o->retry_base_ms : 500;
    snprintf(in->state_key, sizeof in->state_key, "%s/state.tar.gz", o->bot_id);
    T0_INFO(COMP, "init bot %s: code %s/%s into %s, state %s/%s into %s", o->bot_id, o->code_bucket,
            o->code_file && *o->code_file ? o->code_file : "(none)", in->o.code_path, o->state_bucket, in->state_key,
            in->o.state_path);
    in->timer = env->loop->timer(env->loop->ctx, 0, run, in);
    *out = in;
    return T0_OK;
}

void dinit_destroy(dinit *in)
{
    if (!in) return;
    if (in->timer) in->env.loop->cancel(in->env.loop->ctx, in->timer);
    free(in);
}
