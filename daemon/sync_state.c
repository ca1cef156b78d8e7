/* sync_state.c: ship /state as bot-state/<id>/state.tar.gz when its content changed (deletions included),
 * from a consistent snapshot (in memory when small, else spooled on a volume the sidecar mounts), with a generation
 * and a final flag. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "daemon/daemon.h"

#define COMP "daemon-sync"

void dd_state_meta_read(const objstore_meta *m, dd_state_meta *out)
{
    memset(out, 0, sizeof *out);
    const char *g = objstore_meta_get(m, "the0-generation"), *f = objstore_meta_get(m, "the0-final");
    if (!objstore_meta_get(m, "the0-sha256")) return;
    out->known = true;
    out->generation = g ? strtoull(g, NULL, 10) : 0;
    out->final = f && !strcmp(f, "1");
}

void dsync_state_init(dsync_state *s, const objstore *os, const fs_port *fs, const char *bucket, const char *bot_id,
                      const char *dir, const char *spool_path, const dar_limits *lim)
{
    memset(s, 0, sizeof *s);
    s->os = os;
    s->fs = fs;
    s->bucket = bucket;
    s->dir = dir;
    s->spool_path = spool_path;
    s->lim = *lim;
    s->mem_max = DSYNC_MEM_SPOOL;
    snprintf(s->key, sizeof s->key, "%s/state.tar.gz", bot_id);
    /* init's work directory, and the spool when it is kept inside the state directory */
    s->exclude[0] = DD_STATE_WORK;
    dsync_state_exclude(s, spool_path);
}

void dsync_state_exclude(dsync_state *s, const char *path)
{
    size_t dl = strlen(s->dir), n = 0;
    while (s->exclude[n]) n++;
    if (n + 1 < sizeof s->exclude / sizeof *s->exclude && !strncmp(path, s->dir, dl) && path[dl] == '/' &&
        !strchr(path + dl + 1, '/'))
        s->exclude[n] = path + dl + 1;
}

/* Learn what is stored. A missing object is "empty state"; an object without our metadata (written by
 * another implementation) gets "" so that the first snapshot replaces it once. */
static t0_status learn_remote(dsync_state *s, t0_err *err)
{
    objstore_meta m = {0};
    t0_status st = s->os->head(s->os->ctx, s->bucket, s->key, &m, err);
    if (st == T0_ENOTFOUND) {
        snprintf(s->remote_hash, sizeof s->remote_hash, "%s", DAR_EMPTY_HASH);
        memset(&s->remote, 0, sizeof s->remote);
        s->remote.final = true; /* nothing stored is nothing left unshipped */
    } else if (st == T0_OK) {
        const char *h = objstore_meta_get(&m, "the0-sha256");
        snprintf(s->remote_hash, sizeof s->remote_hash, "%s", h ? h : "");
        dd_state_meta_read(&m, &s->remote);
    } else {
        return st;
    }
    s->remote_known = true;
    return T0_OK;
}

/* A volume with no byte left: a write the bot made may have been cut short, so its files are not a state
 * to ship. */
static t0_status check_not_full(dsync_state *s, t0_err *err)
{
    uint64_t avail = 1;
    t0_err e = {0};
    if (!s->fs->space || s->fs->space(s->fs->ctx, s->dir, &avail, NULL, &e) != T0_OK || avail > 0) return T0_OK;
    s->refused_full++;
    t0_status st = t0_fail(err, T0_EIO,
                           "state volume of %s is full (0 bytes available): a write may have been cut short, so "
                           "%s/%s keeps its previous content until space is freed",
                           s->dir, s->bucket, s->key);
    if (err) err->sys_errno = ENOSPC;
    return st;
}

/* put_snapshot: upload the snapshot (MEM, or the spool when NULL) whose content hash is HASH as the next
 * generation, marked final or not; what is known of the stored object follows. */
static t0_status put_snapshot(dsync_state *s, const objstore_buf *mem, const char *hash, bool final, bool *uploaded,
                              t0_err *err)
{
    t0_status st;
    if (!s->bucket_ok) {
        if ((st = s->os->ensure_bucket(s->os->ctx, s->bucket, err)) != T0_OK) return st;
        s->bucket_ok = true;
    }
    uint64_t gen = s->remote.generation + 1;
    char gbuf[24];
    snprintf(gbuf, sizeof gbuf, "%" PRIu64, gen);
    objstore_meta m = {0};
    objstore_meta_set(&m, "the0-sha256", hash);
    objstore_meta_set(&m, "the0-generation", gbuf);
    objstore_meta_set(&m, "the0-final", final ? "1" : "0");
    if (mem) {
        objstore_body b = {.data = mem->data, .len = mem->len};
        st = s->os->put(s->os->ctx, s->bucket, s->key, &b, "application/gzip", &m, err);
    } else {
        fs_stream *body;
        if ((st = fs_stream_open(s->fs, s->spool_path, FS_READ, 0, &body, err)) != T0_OK) {
            t0_err_prefix(err, "state sync: reading the spool");
            return st;
        }
        objstore_body b = {.file = body->fp};
        st = s->os->put(s->os->ctx, s->bucket, s->key, &b, "application/gzip", &m, err);
        if (st != T0_OK && body->err.code != T0_OK && err) { /* the cause was ours: say so */
            char was[sizeof err->msg];
            snprintf(was, sizeof was, "%s", err->msg);
            t0_fail(err, T0_EIO, "%s (reading the spool: %s)", was, body->err.msg);
            err->sys_errno = body->err.sys_errno;
            st = T0_EIO;
        }
        fs_stream_close(body, NULL);
    }
    if (st != T0_OK) {
        /* The PUT may have landed anyway (timeout after the server stored it): ask again next time. */
        s->remote_known = false;
        return st;
    }
    snprintf(s->remote_hash, sizeof s->remote_hash, "%s", hash);
    s->remote = (dd_state_meta){.generation = gen, .final = final, .known = true};
    s->uploads++;
    *uploaded = true;
    T0_INFO(COMP, "state uploaded to %s/%s: generation %" PRIu64 "%s, %llu files, %llu bytes%s%s", s->bucket, s->key,
            gen, final ? " (final)" : "", (unsigned long long)s->last.files, (unsigned long long)s->last.bytes,
            s->last.files ? "" : " (empty: deletions propagated)",
            s->last.bad_names ? "; files with non-UTF-8 names were left out" : "");
    return T0_OK;
}

static t0_status attempt(dsync_state *s, objstore_buf *mem, int64_t now_ms, bool final, bool *uploaded, t0_err *err)
{
    t0_status st;
    if (!s->remote_known && (st = learn_remote(s, err)) != T0_OK) {
        t0_err_prefix(err, "state sync");
        return st;
    }
    if ((st = check_not_full(s, err)) != T0_OK) return st;
    char hash[65];
    /* The content's hash alone first (no archive, no compression): a sidecar that starts next to the state init
     * restored, or a tree touched without a content change, costs no tar.gz. */
    dar_snap_opts ho = {.lim = s->lim, .now_ms = now_ms, .exclude = s->exclude, .hash_only = true};
    dar_stats hs;
    st = dar_snapshot(s->fs, s->dir, &ho, NULL, hash, &hs, err);
    if (st == T0_ENOTFOUND) return T0_OK; /* no state directory at all (not mounted): nothing to ship */
    if (st != T0_OK) {
        t0_err_prefix(err, "state sync %s", s->dir);
        return st;
    }
    if (!strcmp(hash, s->remote_hash) && (!final || s->remote.final)) {
        s->skips++;
        return T0_OK;
    }
    /* In memory when the last snapshot fitted (a small state costs no disk and needs no writable volume);
     * otherwise, or when it outgrows the bound, spooled to a file. */
    dar_snap_opts so = {.lim = s->lim, .now_ms = now_ms, .exclude = s->exclude, .mem = mem, .mem_max = s->mem_max};
    if (!s->mem_max || s->spill) so.mem = NULL;
    st = so.mem ? dar_snapshot(s->fs, s->dir, &so, NULL, hash, &s->last, err) : T0_ELIMIT;
    if (st == T0_ELIMIT && (!so.mem || s->last.mem_overflow)) {
        s->spill = true; /* until a spooled archive is small again */
        so.mem = NULL;
        /* the spool's directory (the logs directory by default) may not exist yet: the bot makes it too */
        if ((st = fs_mkdirs_parent(s->fs, s->spool_path, 0755, err)) != T0_OK) {
            t0_err_prefix(err, "state sync: spool directory");
            return st;
        }
        s->spooled = true;
        st = dar_snapshot(s->fs, s->dir, &so, s->spool_path, hash, &s->last, err);
        fs_stat sb;
        if (st == T0_OK && s->fs->lstat(s->fs->ctx, s->spool_path, &sb, NULL) == T0_OK && sb.size <= s->mem_max / 2)
            s->spill = false;
    }
    if (st == T0_ENOTFOUND) return T0_OK; /* no state directory at all (not mounted): nothing to ship */
    if (st != T0_OK) {
        t0_err_prefix(err, "state sync %s", s->dir);
        return st;
    }
    if ((st = check_not_full(s, err)) != T0_OK) return st; /* filled up while we read it */
    /* unchanged, and (for a final sync) already marked as a run's last state: nothing to do */
    if (!strcmp(hash, s->remote_hash) && (!final || s->remote.final)) {
        s->skips++;
        return T0_OK;
    }
    return put_snapshot(s, so.mem, hash, final, uploaded, err);
}

t0_status dsync_state_sync(dsync_state *s, int64_t now_ms, bool final, bool *uploaded, t0_err *err)
{
    *uploaded = false;
    objstore_buf mem = {0};
    s->spooled = false;
    t0_status st = attempt(s, &mem, now_ms, final, uploaded, err);
    objstore_buf_free(&mem);
    /* the spool holds a copy of the state: it never outlives the attempt */
    if (s->spooled) s->fs->unlink(s->fs->ctx, s->spool_path, NULL);
    return st;
}
