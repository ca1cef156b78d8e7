/* sync_state.c: ship /state as bot-state/<id>/state.tar.gz when its content changed (deletions included). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "daemon/daemon.h"

#define COMP "daemon-sync"

void dsync_state_init(dsync_state *s, const objstore *os, const char *bucket, const char *bot_id, const char *dir,
                      const dar_limits *lim)
{
    memset(s, 0, sizeof *s);
    s->os = os;
    s->bucket = bucket;
    s->dir = dir;
    s->lim = *lim;
    snprintf(s->key, sizeof s->key, "%s/state.tar.gz", bot_id);
}

/* Learn the hash of what is stored. A missing object is "empty state"; an object without our metadata
 * (written by another implementation) gets "" so that the first snapshot replaces it once. */
static t0_status learn_remote(dsync_state *s, t0_err *err)
{
    objstore_meta m = {0};
    t0_status st = s->os->head(s->os->ctx, s->bucket, s->key, &m, err);
    if (st == T0_ENOTFOUND) {
        snprintf(s->remote_hash, sizeof s->remote_hash, "%s", DAR_EMPTY_HASH);
    } else if (st == T0_OK) {
        const char *h = objstore_meta_get(&m, "the0-sha256");
        snprintf(s->remote_hash, sizeof s->remote_hash, "%s", h ? h : "");
    } else {
        return st;
    }
    s->remote_known = true;
    return T0_OK;
}

t0_status dsync_state_sync(dsync_state *s, bool *uploaded, t0_err *err)
{
    *uploaded = false;
    t0_status st;
    if (!s->remote_known && (st = learn_remote(s, err)) != T0_OK) {
        if (err) t0_err_prefix(err, "state sync");
        return st;
    }
    FILE *tmp = tmpfile();
    if (!tmp) return t0_fail(err, T0_EIO, "state sync: temporary file: %s", strerror(errno));
    char hash[65];
    dar_stats ds;
    st = dar_snapshot(s->dir, &s->lim, tmp, hash, &ds, err);
    if (st == T0_ENOTFOUND) { /* no state directory at all (not mounted): nothing to ship */
        fclose(tmp);
        return T0_OK;
    }
    if (st != T0_OK) {
        fclose(tmp);
        if (err) t0_err_prefix(err, "state sync %s", s->dir);
        return st;
    }
    if (!strcmp(hash, s->remote_hash)) {
        s->skips++;
        fclose(tmp);
        return T0_OK;
    }
    if (!s->bucket_ok) {
        if ((st = s->os->ensure_bucket(s->os->ctx, s->bucket, err)) != T0_OK) {
            fclose(tmp);
            return st;
        }
        s->bucket_ok = true;
    }
    objstore_meta m = {0};
    objstore_meta_set(&m, "the0-sha256", hash);
    objstore_body body = {.file = tmp};
    st = s->os->put(s->os->ctx, s->bucket, s->key, &body, "application/gzip", &m, err);
    fclose(tmp);
    if (st != T0_OK) {
        /* The PUT may have landed anyway (timeout after the server stored it): ask again next time. */
        s->remote_known = false;
        return st;
    }
    snprintf(s->remote_hash, sizeof s->remote_hash, "%s", hash);
    s->uploads++;
    *uploaded = true;
    T0_INFO(COMP, "state uploaded to %s/%s: %llu files, %llu bytes%s", s->bucket, s->key, (unsigned long long)ds.files,
            (unsigned long long)ds.bytes, ds.files ? "" : " (empty: deletions propagated)");
    return T0_OK;
}
