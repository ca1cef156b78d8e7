/* fs.c: helpers over any filesystem port (see fs.h): mkdir -p, rm -r, atomic replace, FILE streams. */
#include "core/fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void fs_list_free(fs_list *l)
{
    if (!l) return;
    for (size_t i = 0; i < l->n; i++) free(l->names[i]);
    free(l->names);
    l->names = NULL;
    l->n = 0;
}

t0_status fs_join(char *out, size_t cap, const char *a, const char *b, t0_err *err)
{
    size_t la = strlen(a), lb = strlen(b), sep = la && a[la - 1] != '/';
    if (la + sep + lb >= cap) return t0_fail(err, T0_ELIMIT, "path too long: \"%s\" + \"%s\"", a, b);
    memmove(out, a, la);
    if (sep) out[la] = '/';
    memmove(out + la + sep, b, lb + 1);
    return T0_OK;
}

int fs_errno(t0_status st, const t0_err *err)
{
    if (st == T0_ENOTFOUND) return ENOENT;
    if (st == T0_EEXIST) return EEXIST;
    if (st == T0_EIO && err) return err->sys_errno;
    return 0;
}

static t0_status fail_errno(t0_err *err, int e, const char *fmt, const char *path)
{
    t0_status st = t0_fail(err, T0_EIO, fmt, path, strerror(e));
    if (err) err->sys_errno = e;
    return st;
}

t0_status fs_mkdirs(const fs_port *fs, const char *path, uint32_t perm, t0_err *err)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return t0_fail(err, T0_EINVAL, "mkdir \"%s\": bad path", path);
    memcpy(buf, path, n + 1);
    while (n > 1 && buf[n - 1] == '/') buf[--n] = '\0';
    fs_stat sb;
    t0_err e = {0};
    t0_status st = fs->lstat(fs->ctx, buf, &sb, &e);
    if (st == T0_OK) return sb.type == FS_DIR ? T0_OK : fail_errno(err, ENOTDIR, "mkdir %s: %s", buf);
    if (st != T0_ENOTFOUND) {
        if (err) *err = e;
        return st;
    }
    char *slash = strrchr(buf, '/');
    if (slash && slash != buf) {
        *slash = '\0';
        st = fs_mkdirs(fs, buf, perm, err);
        *slash = '/';
        if (st != T0_OK) return st;
    }
    st = fs->mkdir(fs->ctx, buf, perm, &e);
    if (st == T0_EEXIST && fs->lstat(fs->ctx, buf, &sb, NULL) == T0_OK && sb.type == FS_DIR) return T0_OK;
    if (st != T0_OK && err) *err = e;
    return st;
}

t0_status fs_mkdirs_parent(const fs_port *fs, const char *path, uint32_t perm, t0_err *err)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path) return T0_OK;
    if ((size_t)(slash - path) >= sizeof dir) return t0_fail(err, T0_EINVAL, "mkdir for \"%s\": bad path", path);
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    return fs_mkdirs(fs, dir, perm, err);
}

t0_status fs_rmtree(const fs_port *fs, const char *path, t0_err *err)
{
    fs_stat sb;
    t0_status st = fs->lstat(fs->ctx, path, &sb, err);
    if (st == T0_ENOTFOUND) return T0_OK;
    if (st != T0_OK) return st;
    if (sb.type != FS_DIR) {
        st = fs->unlink(fs->ctx, path, err);
        return st == T0_ENOTFOUND ? T0_OK : st;
    }
    fs_list l = {0};
    if ((st = fs->list(fs->ctx, path, &l, err)) != T0_OK) return st == T0_ENOTFOUND ? T0_OK : st;
    char child[4096];
    for (size_t i = 0; i < l.n && st == T0_OK; i++)
        if ((st = fs_join(child, sizeof child, path, l.names[i], err)) == T0_OK) st = fs_rmtree(fs, child, err);
    fs_list_free(&l);
    if (st != T0_OK) return st;
    st = fs->rmdir(fs->ctx, path, err);
    return st == T0_ENOTFOUND ? T0_OK : st;
}

static t0_status write_whole(const fs_port *fs, fs_file *f, const void *data, size_t len, t0_err *err)
{
    return len ? fs->write(fs->ctx, f, 0, data, len, err) : T0_OK;
}

t0_status fs_write_all(const fs_port *fs, const char *path, const void *data, size_t len, uint32_t perm, t0_err *err)
{
    fs_file *f;
    t0_status st = fs->open(fs->ctx, path, FS_WRITE | FS_CREATE | FS_TRUNC, perm, &f, err);
    if (st != T0_OK) return st;
    st = write_whole(fs, f, data, len, err);
    t0_err e2 = {0};
    t0_status cs = fs->close(fs->ctx, f, &e2);
    if (st == T0_OK && cs != T0_OK) {
        if (err) *err = e2;
        st = cs;
    }
    return st;
}

t0_status fs_write_atomic(const fs_port *fs, const char *path, const void *data, size_t len, uint32_t perm,
                          t0_err *err)
{
    char tmp[4200], dir[4200];
    size_t pl = strlen(path);
    if (pl + 5 > sizeof tmp) return t0_fail(err, T0_ELIMIT, "write %s: path too long", path);
    memcpy(tmp, path, pl);
    memcpy(tmp + pl, ".tmp", 5);
    fs_file *f;
    t0_status st = fs->open(fs->ctx, tmp, FS_WRITE | FS_CREATE | FS_TRUNC | FS_NOFOLLOW, perm, &f, err);
    if (st != T0_OK) return st;
    st = write_whole(fs, f, data, len, err);
    if (st == T0_OK) st = fs->sync(fs->ctx, f, err);
    t0_err e2 = {0};
    t0_status cs = fs->close(fs->ctx, f, &e2);
    if (st == T0_OK && cs != T0_OK) {
        if (err) *err = e2;
        st = cs;
    }
    if (st == T0_OK) st = fs->rename(fs->ctx, tmp, path, err);
    if (st != T0_OK) {
        fs->unlink(fs->ctx, tmp, NULL);
        return st;
    }
    memcpy(dir, path, pl + 1);
    char *slash = strrchr(dir, '/');
    if (slash) {
        if (slash == dir) slash[1] = '\0';
        else *slash = '\0';
    } else {
        memcpy(dir, ".", 2);
    }
    (void)fs->sync_dir(fs->ctx, dir, NULL); /* the rename happened; durability of the entry is best effort */
    return T0_OK;
}

/* One loop for every whole-file reader: CHUNK(CTX, off, buf, cap, &got, err) reads up to CAP bytes at OFF
 * (*got 0 at the end). The buffer doubles up to MAX (+1 for the NUL); more than MAX bytes is T0_ELIMIT. */
typedef t0_status (*chunk_fn)(void *ctx, uint64_t off, char *buf, size_t cap, size_t *got, t0_err *err);

static t0_status read_whole(chunk_fn chunk, void *ctx, const char *path, size_t max, char **out, size_t *len,
                            t0_err *err)
{
    size_t n = 0, cap = 256;
    char *buf = malloc(cap);
    t0_status st = buf ? T0_OK : t0_fail(err, T0_ENOMEM, "read %s: out of memory", path);
    while (st == T0_OK) {
        if (n + 1 >= cap) {
            if (cap > max + 1) {
                st = t0_fail(err, T0_ELIMIT, "read %s: larger than %zu bytes", path, max);
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                st = t0_fail(err, T0_ENOMEM, "read %s: out of memory", path);
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = 0;
        st = chunk(ctx, n, buf + n, cap - 1 - n, &got, err);
        if (st != T0_OK || got == 0) break;
        n += got;
    }
    if (st == T0_OK && n > max) st = t0_fail(err, T0_ELIMIT, "read %s: larger than %zu bytes", path, max);
    if (st != T0_OK) {
        free(buf);
        return st;
    }
    buf[n] = '\0';
    *out = buf;
    if (len) *len = n;
    return T0_OK;
}

typedef struct port_file {
    const fs_port *fs;
    fs_file *f;
} port_file;

static t0_status port_chunk(void *ctx, uint64_t off, char *buf, size_t cap, size_t *got, t0_err *err)
{
    port_file *p = ctx;
    return p->fs->read(p->fs->ctx, p->f, off, buf, cap, got, err);
}

t0_status fs_read_all(const fs_port *fs, const char *path, size_t max, char **out, size_t *len, t0_err *err)
{
    *out = NULL;
    port_file p = {fs, NULL};
    t0_status st = fs->open(fs->ctx, path, FS_READ, 0, &p.f, err);
    if (st != T0_OK) return st;
    st = read_whole(port_chunk, &p, path, max, out, len, err);
    fs->close(fs->ctx, p.f, NULL);
    return st;
}

typedef struct host_file {
    FILE *f;
    const char *path;
} host_file;

static t0_status host_chunk(void *ctx, uint64_t off, char *buf, size_t cap, size_t *got, t0_err *err)
{
    (void)off; /* sequential */
    host_file *h = ctx;
    *got = fread(buf, 1, cap, h->f);
    if (*got == 0 && ferror(h->f)) {
        int e = errno ? errno : EIO;
        if (err) err->sys_errno = e;
        return t0_fail(err, T0_EIO, "read %s: %s", h->path, strerror(e));
    }
    return T0_OK;
}

t0_status fs_read_host(const char *path, size_t max, char **out, size_t *len, t0_err *err)
{
    *out = NULL;
    host_file h = {fopen(path, "rb"), path};
    if (!h.f) {
        int e = errno;
        t0_status st = t0_fail(err, e == ENOENT ? T0_ENOTFOUND : T0_EIO, "open %s: %s", path, strerror(e));
        if (err && st == T0_EIO) err->sys_errno = e;
        return st;
    }
    t0_status st = read_whole(host_chunk, &h, path, max, out, len, err);
    fclose(h.f);
    return st;
}

/* ---- FILE over the port ------------------------------------------------------------------------- */

static void stream_fail(fs_stream *s, const t0_err *e)
{
    if (s->err.code == T0_OK) s->err = *e;
    errno = e->sys_errno ? e->sys_errno : EIO;
}

static ssize_t cookie_read(void *c, char *buf, size_t n)
{
    fs_stream *s = c;
    size_t got = 0;
    t0_err e = {0};
    if (s->fs->read(s->fs->ctx, s->f, s->pos, buf, n, &got, &e) != T0_OK) {
        stream_fail(s, &e);
        return -1;
    }
    s->pos += got;
    return (ssize_t)got;
}

static ssize_t cookie_write(void *c, const char *buf, size_t n)
{
    fs_stream *s = c;
    t0_err e = {0};
    if (s->fs->write(s->fs->ctx, s->f, s->pos, buf, n, &e) != T0_OK) {
        stream_fail(s, &e);
        return 0; /* stdio: 0 means an error */
    }
    s->pos += n;
    return (ssize_t)n;
}

static int cookie_seek(void *c, off64_t *off, int whence)
{
    fs_stream *s = c;
    int64_t base = 0;
    if (whence == SEEK_CUR) {
        base = (int64_t)s->pos;
    } else if (whence == SEEK_END) {
        fs_stat sb;
        t0_err e = {0};
        if (s->fs->fstat(s->fs->ctx, s->f, &sb, &e) != T0_OK) {
            stream_fail(s, &e);
            return -1;
        }
        base = (int64_t)sb.size;
    } else if (whence != SEEK_SET) {
        errno = EINVAL;
        return -1;
    }
    if (base + *off < 0) {
        errno = EINVAL;
        return -1;
    }
    s->pos = (uint64_t)(base + *off);
    *off = (off64_t)s->pos;
    return 0;
}

static int cookie_close(void *c)
{
    (void)c; /* the port file is closed by fs_stream_close, which can report its error */
    return 0;
}

t0_status fs_stream_open(const fs_port *fs, const char *path, int flags, uint32_t perm, fs_stream **out, t0_err *err)
{
    *out = NULL;
    fs_stream *s = calloc(1, sizeof *s);
    if (!s) return t0_fail(err, T0_ENOMEM, "open %s: out of memory", path);
    s->fs = fs;
    snprintf(s->path, sizeof s->path, "%s", path);
    t0_status st = fs->open(fs->ctx, path, flags, perm, &s->f, err);
    if (st != T0_OK) {
        free(s);
        return st;
    }
    cookie_io_functions_t io = {cookie_read, cookie_write, cookie_seek, cookie_close};
    const char *mode = (flags & FS_WRITE) ? ((flags & FS_READ) ? "r+" : "w") : "r";
    s->fp = fopencookie(s, mode, io);
    if (!s->fp) {
        fs->close(fs->ctx, s->f, NULL);
        free(s);
        return t0_fail(err, T0_ENOMEM, "open %s: fopencookie failed", path);
    }
    *out = s;
    return T0_OK;
}

t0_status fs_stream_close(fs_stream *s, t0_err *err)
{
    if (!s) return T0_OK;
    t0_status st = T0_OK;
    if (fclose(s->fp) != 0) {
        if (s->err.code != T0_OK) {
            if (err) *err = s->err;
            st = s->err.code;
        } else {
            st = fail_errno(err, errno ? errno : EIO, "write %s: %s", s->path);
        }
    }
    t0_err e2 = {0};
    t0_status cs = s->fs->close(s->fs->ctx, s->f, &e2);
    if (st == T0_OK && cs != T0_OK) {
        if (err) *err = e2;
        st = cs;
    }
    free(s);
    return st;
}
