/* sync_logs.c: append new bytes of bot.log to bot-logs/logs/<id>/<YYYYMMDD>.log exactly once across restarts. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/str.h"
#include "daemon/daemon.h"

#define COMP "daemon-sync"
#define OFFSET_FILE ".the0-sync-offset"

void dsync_logs_init(dsync_logs *l, const objstore *os, const fs_port *fs, const loop_port *loop, const char *bucket,
                     const char *bot_id, const char *logs_dir)
{
    memset(l, 0, sizeof *l);
    l->os = os;
    l->fs = fs;
    l->loop = loop;
    l->bucket = bucket;
    l->bot_id = bot_id;
    l->dir = logs_dir;
    snprintf(l->log_path, sizeof l->log_path, "%s/bot.log", logs_dir);
    snprintf(l->offset_path, sizeof l->offset_path, "%s/" OFFSET_FILE, logs_dir);
    snprintf(l->spool_path, sizeof l->spool_path, "%s/" DSYNC_LOGS_SPOOL, logs_dir);
    l->mem_max = DSYNC_MEM_SPOOL;
    l->max_chunk = 8u << 20;
    l->small_obj = DSYNC_LOGS_SMALL;
    l->growth_div = DSYNC_LOGS_GROWTH_DIV;
    l->max_delay_ms = DSYNC_LOGS_MAX_DELAY_MS;
}

static time_t now_of(const dsync_logs *l)
{
    return (time_t)(l->loop->now_ms(l->loop->ctx) / 1000);
}

void dsync_logs_key(const char *bot_id, time_t t, char *out, size_t cap)
{
    struct tm tm;
    localtime_r(&t, &tm);
    snprintf(out, cap, "logs/%s/%04d%02d%02d.log", bot_id, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* N as exactly W decimal digits at P. */
static void digits(char *p, unsigned n, int w)
{
    for (int i = w - 1; i >= 0; i--, n /= 10) p[i] = (char)('0' + n % 10);
}

/* The day's object key and the chunk stamp "[YYYY-MM-DD HH:MM:SS] " for T (local time). The broken-down
 * time is cached per minute (zone offsets are whole minutes), so a busy log costs no localtime per chunk. */
static void when(dsync_logs *l, time_t t, char key[512], char stamp[24])
{
    if (!l->tm_valid || t / 60 != l->tm_minute) {
        localtime_r(&t, &l->tm);
        l->tm_minute = t / 60;
        l->tm_sec0 = (int)(t % 60) - l->tm.tm_sec; /* 0 unless the zone has seconds in its offset */
        l->tm_valid = true;
        dsync_logs_key(l->bot_id, t, l->day_key, sizeof l->day_key);
    }
    t0_strlcpy(key, l->day_key, 512);
    int sec = (int)(t % 60) - l->tm_sec0;
    if (sec < 0 || sec > 60) sec = l->tm.tm_sec;
    memcpy(stamp, "[0000-00-00 00:00:00] ", 23);
    digits(stamp + 1, (unsigned)(l->tm.tm_year + 1900), 4);
    digits(stamp + 6, (unsigned)(l->tm.tm_mon + 1), 2);
    digits(stamp + 9, (unsigned)l->tm.tm_mday, 2);
    digits(stamp + 12, (unsigned)l->tm.tm_hour, 2);
    digits(stamp + 15, (unsigned)l->tm.tm_min, 2);
    digits(stamp + 18, (unsigned)sec, 2);
}

/* The offset record (OFFSET_FILE), "v2 <stream> <offset> <key>|-": the stream's appends go to the day object
 * <key> from <offset> on. It is written when a stream starts and before the first append to each day object,
 * not per append: how far the appends to <key> got is in that object's metadata (the0-stream, the0-end), which
 * each PUT sets with its bytes. A successor reads the record and asks <key> (one HEAD): its offset is the0-end
 * when the object names our stream, else the record's. Appends are sequential and each is PUT only after the
 * one before it is known to have landed, so that neither skips a byte nor ships one twice. */
static t0_status save_offset(dsync_logs *l, const char *key, t0_err *err)
{
    char line[700], off[21];
    t0_u64_dec(off, l->offset);
    size_t n = t0_strjoin(line, sizeof line, "v2 ", l->stream, " ", off, " ", *key ? key : "-", "\n");
    t0_status st = fs_write_atomic(l->fs, l->offset_path, line, n < sizeof line ? n : sizeof line - 1, 0644, err);
    if (st != T0_OK) {
        t0_err_prefix(err, "log sync: saving the shipped offset");
        return st;
    }
    if (key != l->rec_key) snprintf(l->rec_key, sizeof l->rec_key, "%s", key);
    return T0_OK;
}

static void new_stream(dsync_logs *l)
{
    uint64_t r[2] = {l->loop->rand(l->loop->ctx), l->loop->rand(l->loop->ctx)}; /* seeded in the simulator */
    unsigned char b[16];
    for (int i = 0; i < 16; i++) b[i] = (unsigned char)(r[i / 8] >> (8 * (i % 8))); /* little-endian, as before */
    t0_hex(b, 16, l->stream);
    l->offset = 0;
    l->pending_key[0] = '\0';
    l->rec_key[0] = '\0';
}

/* Load the offset record, or start a new stream (recorded at once). A record of the earlier format, written
 * before every append ("v1 <stream> <offset> <pending key>|- <pending end>"), reads the same way. */
static t0_status load_offset(dsync_logs *l, t0_err *err)
{
    char *text = NULL;
    t0_err e = {0};
    t0_status st = fs_read_all(l->fs, l->offset_path, 4096, &text, NULL, &e);
    if (st != T0_OK && st != T0_ENOTFOUND) {
        if (err) *err = e;
        t0_err_prefix(err, "log sync");
        return st;
    }
    if (text) {
        char stream[64], key[600];
        unsigned long long off, pend;
        int n2 = sscanf(text, "v2 %63s %llu %599s", stream, &off, key);
        int n1 = n2 == 3 ? 0 : sscanf(text, "v1 %63s %llu %599s %llu", stream, &off, key, &pend);
        free(text);
        if ((n2 == 3 || n1 == 4) && strlen(stream) == 32) {
            snprintf(l->stream, sizeof l->stream, "%s", stream);
            l->offset = off;
            const char *k = strcmp(key, "-") ? key : "";
            snprintf(l->pending_key, sizeof l->pending_key, "%s", k); /* how far its appends got: ask it */
            snprintf(l->rec_key, sizeof l->rec_key, "%s", n2 == 3 ? k : "");
            l->loaded = true;
            return T0_OK;
        }
        /* Unreadable: prefer a possible duplicate over losing lines. */
        T0_ERROR(COMP, "log sync: %s is corrupt; starting a new stream from offset 0 (lines may repeat)", l->offset_path);
    }
    new_stream(l);
    st = save_offset(l, "", err);
    if (st == T0_OK) l->loaded = true;
    return st;
}

/* appended: the pacing's reference, our last append: day object KEY, LEN bytes long after it, landed now */
static void appended(dsync_logs *l, const char *key, uint64_t len)
{
    if (key != l->obj_key && strcmp(l->obj_key, key)) t0_strlcpy(l->obj_key, key, sizeof l->obj_key);
    l->obj_len = len;
    l->obj_put_ms = l->loop->now_ms(l->loop->ctx);
}

/* After a restart or a PUT that failed ambiguously: how far did our appends to the pending key get? */
static t0_status resolve_pending(dsync_logs *l, t0_err *err)
{
    if (!*l->pending_key) return T0_OK;
    objstore_meta m = {0};
    t0_status st = l->os->head(l->os->ctx, l->bucket, l->pending_key, &m, err);
    if (st != T0_OK && st != T0_ENOTFOUND) {
        if (err) t0_err_prefix(err, "log sync: checking the last append");
        return st;
    }
    const char *s = st == T0_OK ? objstore_meta_get(&m, "the0-stream") : NULL;
    const char *e = st == T0_OK ? objstore_meta_get(&m, "the0-end") : NULL;
    uint64_t end = e ? strtoull(e, NULL, 10) : 0;
    if (s && !strcmp(s, l->stream) && end > l->offset) {
        T0_INFO(COMP, "log sync: %s holds this log up to offset %llu: resuming there", l->pending_key,
                (unsigned long long)end);
        l->offset = end;
    }
    if (s && !strcmp(s, l->stream)) appended(l, l->pending_key, m.size); /* as far as the pacing goes: just now */
    l->pending_key[0] = '\0';
    return T0_OK;
}

/* paced: whether the SIZE - offset unshipped bytes are due now (the pacing in daemon.h); else *WAIT_MS is
 * how long until they are */
static bool paced(dsync_logs *l, uint64_t size, long *wait_ms)
{
    int64_t now = l->loop->now_ms(l->loop->ctx);
    char key[512], stamp[24];
    when(l, (time_t)(now / 1000), key, stamp);
    if (l->max_delay_ms <= 0 || strcmp(key, l->obj_key) || l->obj_len < l->small_obj) return true;
    if (size - l->offset >= l->obj_len / l->growth_div) return true;
    int64_t due = l->obj_put_ms + l->max_delay_ms;
    if (now >= due) return true;
    *wait_ms = (long)(due - now);
    return false;
}

bool dsync_logs_due(dsync_logs *l, long *wait_ms)
{
    *wait_ms = -1;
    fs_stat st;
    if (l->fs->lstat(l->fs->ctx, l->log_path, &st, NULL) != T0_OK) return false;
    if (!l->loaded) return st.size > 0;
    if (*l->pending_key || st.size < l->offset) return true; /* an append to resolve; a truncated log */
    if (st.size == l->offset) return false;
    return paced(l, st.size, wait_ms);
}

static t0_status read_chunk(dsync_logs *l, uint64_t size, bool final, char **out, size_t *outlen, t0_err *err)
{
    *out = NULL;
    *outlen = 0;
    uint64_t want64 = size - l->offset;
    size_t want = want64 > l->max_chunk ? l->max_chunk : (size_t)want64;
    fs_file *f;
    t0_status st = l->fs->open(l->fs->ctx, l->log_path, FS_READ, 0, &f, err);
    if (st != T0_OK) {
        t0_err_prefix(err, "log sync");
        return st;
    }
    char *buf = malloc(want + 1);
    if (!buf) {
        l->fs->close(l->fs->ctx, f, NULL);
        return t0_fail(err, T0_ENOMEM, "log sync: out of memory");
    }
    size_t got = 0;
    while (got < want) {
        size_t n = 0;
        if ((st = l->fs->read(l->fs->ctx, f, l->offset + got, buf + got, want - got, &n, err)) != T0_OK) {
            free(buf);
            l->fs->close(l->fs->ctx, f, NULL);
            t0_err_prefix(err, "log sync");
            return st;
        }
        if (n == 0) break;
        got += n;
    }
    l->fs->close(l->fs->ctx, f, NULL);
    /* End at the last newline so a line being written is not split, unless the tail has been still
     * since the previous call, this is the final sync, or the chunk is full and has no newline. */
    size_t cut = got;
    bool tail_still = l->last_seen_size == size;
    if (!final && !tail_still) {
        while (cut > 0 && buf[cut - 1] != '\n') cut--;
        if (cut == 0 && got == l->max_chunk) cut = got;
    }
    l->last_seen_size = size;
    *out = buf;
    *outlen = cut;
    return T0_OK;
}

/* log_size: the offset file loaded and an append left pending resolved; *SIZE the log's size now (a log
 * that shrank is shipped from its start as a new stream). *NONE: nothing to ship (no bot.log yet, or
 * nothing new since the offset). */
static t0_status log_size(dsync_logs *l, uint64_t *size, bool *none, t0_err *err)
{
    *none = true;
    t0_status st;
    fs_stat sb0;
    if (!l->loaded && l->fs->lstat(l->fs->ctx, l->log_path, &sb0, NULL) == T0_ENOTFOUND)
        return T0_OK; /* no bot.log yet (nor, maybe, its directory): nothing to ship, nothing to record */
    if (!l->loaded && (st = load_offset(l, err)) != T0_OK) return st;
    if ((st = resolve_pending(l, err)) != T0_OK) return st;
    fs_stat sb;
    if ((st = l->fs->lstat(l->fs->ctx, l->log_path, &sb, err)) != T0_OK) {
        if (st == T0_ENOTFOUND) return T0_OK;
        t0_err_prefix(err, "log sync");
        return st;
    }
    *size = sb.size;
    if (*size < l->offset) {
        T0_WARN(COMP, "log sync: %s shrank from %llu to %llu bytes (truncated); shipping it from the start", l->log_path,
                (unsigned long long)l->offset, (unsigned long long)*size);
        new_stream(l);
        if ((st = save_offset(l, "", err)) != T0_OK) return st;
    }
    *none = *size == l->offset;
    return T0_OK;
}

/* The day's object as an append rewrites it: in memory while it is under mem_max bytes, else in the spool file
 * (the sidecar's memory stays bounded whatever the size of a day's log). */
typedef struct day_obj {
    objstore_buf buf;
    fs_stream *spool; /* set: the object is in l->spool_path */
    uint64_t len;
} day_obj;

static void day_free(dsync_logs *l, day_obj *d)
{
    objstore_buf_free(&d->buf);
    if (d->spool) {
        fs_stream_close(d->spool, NULL);
        d->spool = NULL;
        l->fs->unlink(l->fs->ctx, l->spool_path, NULL);
    }
    d->len = 0;
}

/* get_day: one GET of KEY into SINK and M; "no such key" is an empty object (T0_OK, *ABSENT); a bucket deleted
 * under us is made again next time. */
static t0_status get_day(dsync_logs *l, const char *key, const objstore_sink *sink, objstore_meta *m, bool *absent,
                         t0_err *err)
{
    t0_err e = {0};
    *absent = false;
    t0_status st = l->os->get(l->os->ctx, l->bucket, key, sink, m, &e);
    bool no_bucket = st == T0_ENOTFOUND && strstr(e.msg, "NoSuchBucket");
    if (no_bucket) l->bucket_ok = false; /* deleted under us: recreate next time */
    if (st == T0_ENOTFOUND && !no_bucket) {
        *absent = true;
        return T0_OK;
    }
    if (st != T0_OK && err) *err = e;
    return st;
}

/* read_day_object: the day's object KEY into D and M ("no such key": empty), the bucket made first when needed:
 * into memory unless our last append left it at mem_max bytes or more, or the GET finds it that large; then
 * into the spool file. Anything else fails here (D freed): never overwrite what could not be read. */
static t0_status read_day_object(dsync_logs *l, const char *key, day_obj *d, objstore_meta *m, t0_err *err)
{
    t0_status st;
    bool absent;
    if (!l->bucket_ok) {
        if ((st = l->os->ensure_bucket(l->os->ctx, l->bucket, err)) != T0_OK) return st;
        l->bucket_ok = true;
    }
    bool spill = l->mem_max && !strcmp(l->obj_key, key) && l->obj_len >= l->mem_max;
    if (!spill) {
        objstore_sink sink = {.buf = &d->buf, .max = l->mem_max};
        st = get_day(l, key, &sink, m, &absent, err);
        if (st == T0_OK) {
            if (absent) objstore_buf_free(&d->buf);
            d->len = d->buf.len;
            return T0_OK;
        }
        objstore_buf_free(&d->buf);
        if (st != T0_ELIMIT) {
            t0_err_prefix(err, "log sync: reading the day's log (not overwriting it)");
            return st;
        }
        memset(m, 0, sizeof *m);
    }
    if ((st = fs_mkdirs_parent(l->fs, l->spool_path, 0755, err)) != T0_OK ||
        (st = fs_stream_open(l->fs, l->spool_path, FS_READ | FS_WRITE | FS_CREATE | FS_TRUNC, 0600, &d->spool, err)) != T0_OK) {
        t0_err_prefix(err, "log sync: the day's log is %s: spooling it to %s", spill ? "large" : "over the memory bound",
                      l->spool_path);
        return st;
    }
    objstore_sink sink = {.file = d->spool->fp};
    st = get_day(l, key, &sink, m, &absent, err);
    if (d->spool->err.code != T0_OK) /* the spool's volume failed (full, say): that is the cause */
        st = t0_fail(err, d->spool->err.code, "spooling the day's log to %s: %s", l->spool_path, d->spool->err.msg);
    else if (st == T0_OK && fseeko(d->spool->fp, 0, SEEK_END))
        st = t0_fail(err, T0_EIO, "spooling the day's log to %s: %s", l->spool_path, strerror(errno));
    if (st != T0_OK) {
        day_free(l, d);
        t0_err_prefix(err, "log sync: reading the day's log (not overwriting it)");
        return st;
    }
    off_t len = ftello(d->spool->fp);
    d->len = len > 0 ? (uint64_t)len : 0;
    return T0_OK;
}

/* day_append: the chunk's stamp, TEXT (N bytes) and a newline after the object in D */
static t0_status day_append(dsync_logs *l, day_obj *d, const char *stamp, const char *text, size_t n, t0_err *err)
{
    if (!d->spool) {
        if (objstore_buf_append(&d->buf, stamp, strlen(stamp)) != T0_OK || objstore_buf_append(&d->buf, text, n) != T0_OK ||
            objstore_buf_append(&d->buf, "\n", 1) != T0_OK)
            return t0_fail(err, T0_ENOMEM, "log sync: out of memory");
        d->len = d->buf.len;
        return T0_OK;
    }
    FILE *f = d->spool->fp;
    size_t sl = strlen(stamp);
    if (fwrite(stamp, 1, sl, f) != sl || fwrite(text, 1, n, f) != n || fputc('\n', f) == EOF || fflush(f)) {
        t0_status st = d->spool->err.code != T0_OK ? d->spool->err.code : T0_EIO;
        return t0_fail(err, st, "log sync: writing the day's log spool %s: %s", l->spool_path,
                       d->spool->err.code != T0_OK ? d->spool->err.msg : strerror(errno));
    }
    d->len += sl + n + 1;
    return T0_OK;
}

/* put_append: PUT D (freed) as the day object KEY holding our bytes up to END, after recording KEY first when
 * the offset record names another; *MORE when the log (SIZE bytes) has more after END. */
static t0_status put_append(dsync_logs *l, const char *key, uint64_t end, uint64_t size, day_obj *d, bool *more,
                            t0_err *err)
{
    t0_status st;
    if (strcmp(l->rec_key, key) && (st = save_offset(l, key, err)) != T0_OK) {
        day_free(l, d);
        return st;
    }
    objstore_meta pm = {0};
    char endbuf[32];
    t0_u64_dec(endbuf, end);
    objstore_meta_set(&pm, "the0-stream", l->stream);
    objstore_meta_set(&pm, "the0-end", endbuf);
    objstore_body body = {.data = d->buf.data, .len = d->buf.len, .file = d->spool ? d->spool->fp : NULL};
    st = l->os->put(l->os->ctx, l->bucket, key, &body, "text/plain", &pm, err);
    if (st != T0_OK && d->spool && d->spool->err.code != T0_OK && err) /* the cause was ours: say so */
        t0_err_prefix(err, "log sync: reading the day's log spool (%s)", d->spool->err.msg);
    uint64_t len = d->len;
    day_free(l, d);
    if (st != T0_OK) { /* it may have landed all the same: ask the object before the next attempt */
        snprintf(l->pending_key, sizeof l->pending_key, "%s", key);
        return st;
    }
    appended(l, key, len);
    l->offset = end;
    l->appends++;
    *more = end < size;
    return T0_OK;
}

t0_status dsync_logs_ship(dsync_logs *l, bool final, bool *more, t0_err *err)
{
    *more = false;
    uint64_t size = 0;
    bool none;
    t0_status st = log_size(l, &size, &none, err);
    if (st != T0_OK || none) return st;
    long wait;
    if (!final && !paced(l, size, &wait)) return T0_OK; /* a successor's first look at its day object: paced */

    char *chunk;
    size_t len;
    if ((st = read_chunk(l, size, final, &chunk, &len, err)) != T0_OK) return st;
    if (len == 0) { /* only a partial line so far: wait for its end */
        free(chunk);
        *more = true;
        return T0_OK;
    }
    uint64_t end = l->offset + len;
    time_t now = now_of(l);
    char key[512], stamp[24];
    when(l, now, key, stamp);

    /* Trim like the reference; a chunk of only whitespace advances the offset without a write. */
    size_t a = 0, b = len;
    while (a < b && isspace((unsigned char)chunk[a])) a++;
    while (b > a && isspace((unsigned char)chunk[b - 1])) b--;
    if (a == b) { /* (not recorded: a successor reads the blank again and skips it again) */
        free(chunk);
        l->offset = end;
        *more = end < size;
        return T0_OK;
    }

    day_obj obj = {0};
    objstore_meta m = {0};
    if ((st = read_day_object(l, key, &obj, &m, err)) != T0_OK) {
        free(chunk);
        return st;
    }
    const char *ms = objstore_meta_get(&m, "the0-stream"), *me = objstore_meta_get(&m, "the0-end");
    if (obj.len && ms && me && !strcmp(ms, l->stream) && strtoull(me, NULL, 10) > l->offset) {
        /* The object already holds our bytes up to `me` (e.g. an offset file restored from an older copy). */
        l->offset = strtoull(me, NULL, 10);
        day_free(l, &obj);
        free(chunk);
        *more = l->offset < size;
        return T0_OK;
    }
    st = day_append(l, &obj, stamp, chunk + a, b - a, err);
    free(chunk);
    if (st != T0_OK) {
        day_free(l, &obj);
        return st;
    }
    return put_append(l, key, end, size, &obj, more, err);
}
