/* archive.c: hostile-input-safe extraction of code zips and state tar.gz, and consistent state snapshots,
 * through the filesystem port (libarchive's client callbacks) with UTF-8 names. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/str.h"
#include "daemon/daemon.h"

#define COMP "daemon"
#define RACY_MS 30
#define IOBUF 65536

/* ---- UTF-8 names ---------------------------------------------------------------------------------- */

bool dar_name_utf8(const char *name)
{
    const unsigned char *p = (const unsigned char *)name;
    while (*p) {
        unsigned c = *p;
        size_t n;
        unsigned min;
        if (c < 0x80) {
            p++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            min = 0x10000;
        } else {
            return false;
        }
        unsigned cp = c & (0x3F >> n);
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        p += n + 1;
    }
    return true;
}

const char *dd_escape(const char *name, char *out, size_t cap)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p && o + 5 < cap; p++) {
        if (*p >= 0x20 && *p < 0x7F && *p != '\\') out[o++] = (char)*p;
        else o += (size_t)snprintf(out + o, cap - o, "\\x%02x", *p);
    }
    if (cap) out[o < cap ? o : cap - 1] = '\0';
    return out;
}

/* The message of a libarchive failure: the port's own error when the callbacks recorded one (so a full
 * volume says "No space left on device"), else libarchive's, else its errno: never "(null)". */
static const char *arch_cause(struct archive *a, const t0_err *io, char *buf, size_t cap)
{
    if (io && io->code != T0_OK) return io->msg;
    const char *s = a ? archive_error_string(a) : NULL;
    if (s && *s) return s;
    int e = a ? archive_errno(a) : 0;
    snprintf(buf, cap, "libarchive error without a message (errno %d: %s)", e, e ? strerror(e) : "none");
    return buf;
}

/* ---- reading an archive through the port ---------------------------------------------------------- */

typedef struct rd {
    const fs_port *fs;
    fs_file *f;
    uint64_t pos, size;
    t0_err err;
    char buf[IOBUF];
} rd;

static la_ssize_t rd_read(struct archive *a, void *ud, const void **buff)
{
    rd *r = ud;
    size_t got = 0;
    if (r->fs->read(r->fs->ctx, r->f, r->pos, r->buf, sizeof r->buf, &got, &r->err) != T0_OK) {
        archive_set_error(a, r->err.sys_errno ? r->err.sys_errno : EIO, "%s", r->err.msg);
        return -1;
    }
    r->pos += got;
    *buff = r->buf;
    return (la_ssize_t)got;
}

static la_int64_t rd_skip(struct archive *a, void *ud, la_int64_t request)
{
    (void)a;
    rd *r = ud;
    if (request <= 0) return 0;
    uint64_t left = r->pos < r->size ? r->size - r->pos : 0;
    uint64_t n = (uint64_t)request < left ? (uint64_t)request : left;
    r->pos += n;
    return (la_int64_t)n;
}

static la_int64_t rd_seek(struct archive *a, void *ud, la_int64_t off, int whence)
{
    rd *r = ud;
    int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (int64_t)r->pos : (int64_t)r->size;
    if (base + off < 0) {
        archive_set_error(a, EINVAL, "seek before the start of the archive");
        return ARCHIVE_FATAL;
    }
    r->pos = (uint64_t)(base + off);
    return (la_int64_t)r->pos;
}

/* ---- extraction ----------------------------------------------------------------------------------- */

/* Normalise NAME into OUT ("a/./b//c/" -> "a/b/c"). Refuses absolute paths and ".." components. */
static t0_status clean_name(const char *name, char *out, size_t cap, t0_err *err)
{
    char esc[300];
    if (!*name) return t0_fail(err, T0_EINVAL, "archive entry with an empty name");
    if (name[0] == '/')
        return t0_fail(err, T0_EINVAL, "archive entry \"%s\": absolute paths are not allowed",
                       dd_escape(name, esc, sizeof esc));
    size_t o = 0;
    const char *p = name;
    while (*p) {
        const char *s = p;
        while (*p && *p != '/') p++;
        size_t n = (size_t)(p - s);
        if (*p) p++;
        if (n == 0 || (n == 1 && s[0] == '.')) continue;
        if (n == 2 && s[0] == '.' && s[1] == '.')
            return t0_fail(err, T0_EINVAL, "archive entry \"%s\": path traversal (\"..\") is not allowed",
                           dd_escape(name, esc, sizeof esc));
        if (o + n + 2 > cap)
            return t0_fail(err, T0_EINVAL, "archive entry \"%s\": name too long", dd_escape(name, esc, sizeof esc));
        if (o) out[o++] = '/';
        memcpy(out + o, s, n);
        o += n;
    }
    out[o] = '\0';
    return T0_OK;
}

static uint32_t perm_of(uint32_t m, bool dir)
{
    m &= 0777;
    if (m == 0) return dir ? 0755 : 0644;
    return dir ? (m | 0700) : m;
}

typedef struct ex {
    const fs_port *fs;
    const char *dest;
    const dar_limits *lim;
    dar_stats *stats;
    uint64_t total;
} ex;

/* Create the parent directories of DEST/REL one component at a time, refusing to pass through any
 * symlink (so nothing is ever written outside DEST). */
static t0_status safe_parents(ex *x, const char *rel, const char *entry, t0_err *err)
{
    char path[4096];
    t0_status st = fs_join(path, sizeof path, x->dest, rel, err);
    if (st != T0_OK) return st;
    char *p = path + strlen(x->dest) + 1;
    while ((p = strchr(p, '/')) != NULL) {
        *p = '\0';
        fs_stat sb;
        t0_err e = {0};
        st = x->fs->lstat(x->fs->ctx, path, &sb, &e);
        if (st == T0_OK) {
            if (sb.type == FS_LNK)
                return t0_fail(err, T0_EINVAL, "archive entry \"%s\": would be written through a symlink", entry);
            if (sb.type != FS_DIR)
                return t0_fail(err, T0_EINVAL, "archive entry \"%s\": a parent is not a directory", entry);
        } else if (st != T0_ENOTFOUND || ((st = x->fs->mkdir(x->fs->ctx, path, 0755, &e)) != T0_OK && st != T0_EEXIST)) {
            if (err) *err = e;
            return st;
        }
        *p++ = '/';
    }
    return T0_OK;
}

static t0_status write_entry_data(ex *x, struct archive *a, const rd *r, fs_file *f, const char *path,
                                  const char *entry, t0_err *err)
{
    uint64_t written = 0;
    for (;;) {
        const void *buf;
        size_t len;
        la_int64_t off;
        int rc = archive_read_data_block(a, &buf, &len, &off);
        if (rc == ARCHIVE_EOF) return T0_OK;
        if (rc < ARCHIVE_WARN) {
            char cb[160];
            return t0_fail(err, r->err.code ? r->err.code : T0_EINVAL, "archive entry \"%s\": corrupt data: %s", entry,
                           arch_cause(a, &r->err, cb, sizeof cb));
        }
        if (written + len > x->lim->max_file)
            return t0_fail(err, T0_ELIMIT, "file %s exceeds maximum size limit (%llu bytes)", entry,
                           (unsigned long long)x->lim->max_file);
        if (x->total + len > x->lim->max_total)
            return t0_fail(err, T0_ELIMIT, "total extracted size exceeds maximum limit (%llu bytes)",
                           (unsigned long long)x->lim->max_total);
        if (len) {
            t0_status st = x->fs->write(x->fs->ctx, f, (uint64_t)off, buf, len, err);
            if (st != T0_OK) return st;
        }
        (void)path;
        written += len;
        x->total += len;
    }
}

/* A symlink is kept only when its target is relative and has no ".." component. */
static bool link_target_ok(const char *t)
{
    if (!t || !*t || t[0] == '/') return false;
    for (const char *p = t; *p;) {
        const char *s = p;
        while (*p && *p != '/') p++;
        if (p - s == 2 && s[0] == '.' && s[1] == '.') return false;
        if (*p) p++;
    }
    return true;
}

static t0_status extract_file(ex *x, struct archive *a, const rd *r, struct archive_entry *e, const char *rel,
                              const char *path, const char *shown, t0_err *err)
{
    const dar_limits *lim = x->lim;
    if (archive_entry_size_is_set(e) && (uint64_t)archive_entry_size(e) > lim->max_file)
        return t0_fail(err, T0_ELIMIT, "file %s exceeds maximum size limit (%llu bytes)", shown,
                       (unsigned long long)lim->max_file);
    if (archive_entry_size_is_set(e) && x->total + (uint64_t)archive_entry_size(e) > lim->max_total)
        return t0_fail(err, T0_ELIMIT, "total extracted size exceeds maximum limit (%llu bytes)",
                       (unsigned long long)lim->max_total);
    t0_status st = safe_parents(x, rel, shown, err);
    if (st != T0_OK) return st;
    fs_file *f;
    t0_err e2 = {0};
    st = x->fs->open(x->fs->ctx, path, FS_WRITE | FS_CREATE | FS_TRUNC | FS_NOFOLLOW,
                     perm_of((uint32_t)archive_entry_perm(e), false), &f, &e2);
    if (st != T0_OK) {
        if (e2.sys_errno == ELOOP)
            return t0_fail(err, T0_EINVAL, "archive entry \"%s\": refusing to write through a symlink", shown);
        if (err) *err = e2;
        t0_err_prefix(err, "archive entry \"%s\"", shown);
        return st;
    }
    st = write_entry_data(x, a, r, f, path, shown, err);
    t0_err ce = {0};
    if (x->fs->close(x->fs->ctx, f, &ce) != T0_OK && st == T0_OK) {
        if (err) *err = ce;
        st = ce.code;
    }
    if (st != T0_OK) {
        x->fs->unlink(x->fs->ctx, path, NULL);
        return st;
    }
    x->stats->files++;
    return T0_OK;
}

static t0_status extract_entries(ex *x, struct archive *a, rd *r, dar_format fmt, t0_err *err)
{
    const char *kind = fmt == DAR_ZIP ? "zip" : "tar.gz";
    uint64_t entries = 0;
    struct archive_entry *e;
    char rel[2048], path[4096], cb[160], shown[600];
    for (;;) {
        int rc = archive_read_next_header(a, &e);
        if (rc == ARCHIVE_EOF) return T0_OK;
        if (rc < ARCHIVE_WARN)
            return t0_fail(err, r->err.code ? r->err.code : T0_EINVAL, "corrupt %s archive: %s", kind,
                           arch_cause(a, &r->err, cb, sizeof cb));
        if (++entries > x->lim->max_entries)
            return t0_fail(err, T0_ELIMIT, "archive has more than %llu entries", (unsigned long long)x->lim->max_entries);
        /* UTF-8 when the archive says so (zip flag, pax path); raw bytes otherwise, as Go keeps them */
        const char *name = archive_entry_pathname_utf8(e);
        if (!name) name = archive_entry_pathname(e);
        if (!name) return t0_fail(err, T0_EINVAL, "archive entry %llu: its name cannot be decoded", (unsigned long long)entries);
        dd_escape(name, shown, sizeof shown);
        t0_status st = clean_name(name, rel, sizeof rel, err);
        if (st != T0_OK) return st;
        if (!*rel) continue; /* "./": the destination itself */
        if ((st = fs_join(path, sizeof path, x->dest, rel, err)) != T0_OK) return st;
        if (archive_entry_hardlink(e))
            return t0_fail(err, T0_EINVAL, "archive entry \"%s\": hard links are not allowed", shown);
        mode_t type = archive_entry_filetype(e);
        fs_stat sb;
        if (type == AE_IFDIR) {
            if ((st = safe_parents(x, rel, shown, err)) != T0_OK) return st;
            if (x->fs->lstat(x->fs->ctx, path, &sb, NULL) == T0_OK) {
                if (sb.type != FS_DIR)
                    return t0_fail(err, T0_EINVAL, "archive entry \"%s\": exists and is not a directory", shown);
            } else if ((st = x->fs->mkdir(x->fs->ctx, path, perm_of((uint32_t)archive_entry_perm(e), true), err)) !=
                       T0_OK) {
                return st;
            }
            x->stats->dirs++;
        } else if (type == AE_IFREG) {
            if ((st = extract_file(x, a, r, e, rel, path, shown, err)) != T0_OK) return st;
        } else if (type == AE_IFLNK) {
            const char *target = archive_entry_symlink_utf8(e);
            if (!target) target = archive_entry_symlink(e);
            if (!link_target_ok(target)) {
                char te[300];
                return t0_fail(err, T0_EINVAL,
                               "archive entry \"%s\": symlink to \"%s\" refused (absolute or \"..\" targets can escape)",
                               shown, dd_escape(target ? target : "", te, sizeof te));
            }
            if ((st = safe_parents(x, rel, shown, err)) != T0_OK) return st;
            if (x->fs->lstat(x->fs->ctx, path, &sb, NULL) == T0_OK) {
                if (sb.type == FS_DIR)
                    return t0_fail(err, T0_EINVAL, "archive entry \"%s\": a directory of that name exists", shown);
                x->fs->unlink(x->fs->ctx, path, NULL);
            }
            if ((st = x->fs->symlink(x->fs->ctx, target, path, err)) != T0_OK) return st;
            x->stats->links++;
        } else {
            T0_WARN(COMP, "skipping archive entry \"%s\": not a file, directory or symlink", shown);
            x->stats->skipped++;
        }
    }
}

t0_status dar_extract(const fs_port *fs, const char *archive_path, dar_format fmt, const char *dest,
                      const dar_limits *lim, dar_stats *stats, t0_err *err)
{
    dar_stats local = {0};
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    rd *r = calloc(1, sizeof *r);
    if (!r) return t0_fail(err, T0_ENOMEM, "extract %s: out of memory", archive_path);
    r->fs = fs;
    fs_stat sb;
    t0_status st = fs->open(fs->ctx, archive_path, FS_READ, 0, &r->f, err);
    if (st == T0_OK && (st = fs->fstat(fs->ctx, r->f, &sb, err)) != T0_OK) fs->close(fs->ctx, r->f, NULL);
    if (st != T0_OK) {
        free(r);
        return st;
    }
    r->size = sb.size;
    t0_utf8_scope loc = t0_utf8_enter();
    struct archive *a = archive_read_new();
    if (!a) {
        st = t0_fail(err, T0_ENOMEM, "extract %s: out of memory", archive_path);
    } else {
        if (fmt == DAR_ZIP) {
            archive_read_support_format_zip(a);
        } else {
            archive_read_support_filter_gzip(a);
            archive_read_support_format_tar(a);
            archive_read_support_format_gnutar(a);
        }
        archive_read_set_callback_data(a, r);
        archive_read_set_read_callback(a, rd_read);
        archive_read_set_skip_callback(a, rd_skip);
        archive_read_set_seek_callback(a, rd_seek);
        char cb[160];
        if (archive_read_open1(a) != ARCHIVE_OK) {
            st = t0_fail(err, r->err.code ? r->err.code : T0_EINVAL, "failed to open %s: %s",
                         fmt == DAR_ZIP ? "zip" : "tar.gz", arch_cause(a, &r->err, cb, sizeof cb));
        } else {
            ex x = {.fs = fs, .dest = dest, .lim = lim, .stats = stats};
            st = extract_entries(&x, a, r, fmt, err);
            stats->bytes = x.total;
        }
        archive_read_free(a);
    }
    t0_utf8_leave(loc);
    fs->close(fs->ctx, r->f, NULL);
    free(r);
    return st;
}

/* ---- snapshot ------------------------------------------------------------------------------------- */

typedef struct wr {
    const fs_port *fs;
    fs_file *f;
    objstore_buf *mem; /* instead of f: the archive in memory, at most mem_max bytes */
    uint64_t mem_max;
    bool overflow;
    uint64_t pos;
    t0_err err;
} wr;

static la_ssize_t wr_write(struct archive *a, void *ud, const void *buf, size_t n)
{
    wr *w = ud;
    if (w->mem) {
        if (w->mem->len + n > w->mem_max) {
            w->overflow = true;
            t0_fail(&w->err, T0_ELIMIT, "the archive outgrew the in-memory spool (%llu bytes)",
                    (unsigned long long)w->mem_max);
        } else if (objstore_buf_append(w->mem, buf, n) != T0_OK) {
            t0_fail(&w->err, T0_ENOMEM, "out of memory");
        } else {
            w->pos += n;
            return (la_ssize_t)n;
        }
        archive_set_error(a, ENOSPC, "%s", w->err.msg);
        return -1;
    }
    if (w->fs->write(w->fs->ctx, w->f, w->pos, buf, n, &w->err) != T0_OK) {
        archive_set_error(a, w->err.sys_errno ? w->err.sys_errno : EIO, "%s", w->err.msg);
        return -1;
    }
    w->pos += n;
    return (la_ssize_t)n;
}

typedef struct snap {
    const fs_port *fs;
    const dar_snap_opts *o;
    struct archive *a;
    wr out;
    EVP_MD_CTX *md;
    dar_stats *stats;
    uint64_t total;
    char moved[600]; /* non-empty: this file changed while it was read (retry the snapshot) */
    char *buf;
} snap;

static int cmp_names(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static void hash_field(EVP_MD_CTX *md, const void *p, size_t n)
{
    uint64_t len = n;
    EVP_DigestUpdate(md, &len, sizeof len);
    EVP_DigestUpdate(md, p, n);
}

static t0_status archive_failed(snap *s, const char *what, const char *rel, t0_err *err)
{
    char cb[160];
    const char *cause = arch_cause(s->a, &s->out.err, cb, sizeof cb);
    t0_status st = t0_fail(err, T0_EIO, "snapshot: %s %s: %s", what, rel, cause);
    if (err && s->out.err.code != T0_OK) err->sys_errno = s->out.err.sys_errno;
    return st;
}

static t0_status snap_entry_header(snap *s, const char *rel, const fs_stat *st, const char *link, t0_err *err)
{
    if (!s->a) goto hash; /* hash_only */
    struct archive_entry *e = archive_entry_new();
    if (!e) return t0_fail(err, T0_ENOMEM, "snapshot: out of memory");
    archive_entry_set_pathname_utf8(e, rel);
    unsigned type = st->type == FS_DIR ? AE_IFDIR : st->type == FS_LNK ? AE_IFLNK : AE_IFREG;
    archive_entry_set_mode(e, (mode_t)(type | (st->perm & 0777)));
    archive_entry_set_mtime(e, (time_t)(st->mtime_ns / 1000000000), (long)(st->mtime_ns % 1000000000));
    archive_entry_set_size(e, st->type == FS_REG ? (la_int64_t)st->size : 0);
    if (link) archive_entry_set_symlink_utf8(e, link);
    int r = archive_write_header(s->a, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK) return archive_failed(s, "entry", rel, err);
hash:;
    char kind = st->type == FS_DIR ? 'd' : st->type == FS_LNK ? 'l' : 'f';
    unsigned perm = st->perm & 0777;
    hash_field(s->md, &kind, 1);
    hash_field(s->md, rel, strlen(rel));
    hash_field(s->md, &perm, sizeof perm);
    if (link) hash_field(s->md, link, strlen(link));
    return T0_OK;
}

static void moved(snap *s, const char *rel, const char *why)
{
    if (!s->moved[0]) {
        char esc[400];
        snprintf(s->moved, sizeof s->moved, "%s %s", dd_escape(rel, esc, sizeof esc), why);
    }
}

/* Read F (SIZE bytes) once more and compare with the digest of what was archived. */
static void reread(snap *s, fs_file *f, uint64_t size, EVP_MD_CTX *h1, const char *rel)
{
    EVP_MD_CTX *h2 = EVP_MD_CTX_new();
    if (!h2) return;
    EVP_DigestInit_ex(h2, EVP_sha256(), NULL);
    uint64_t off = 0;
    while (off < size) {
        size_t want = size - off < IOBUF ? (size_t)(size - off) : IOBUF, got = 0;
        if (s->fs->read(s->fs->ctx, f, off, s->buf, want, &got, NULL) != T0_OK || got == 0) {
            moved(s, rel, "shrank while being read");
            break;
        }
        EVP_DigestUpdate(h2, s->buf, got);
        off += got;
    }
    unsigned char d1[32], d2[32];
    unsigned int l1 = 0, l2 = 0;
    EVP_DigestFinal_ex(h1, d1, &l1);
    EVP_DigestFinal_ex(h2, d2, &l2);
    if (memcmp(d1, d2, 32)) moved(s, rel, "changed while being read");
    EVP_MD_CTX_free(h2);
}

static t0_status snap_file(snap *s, const char *path, const char *rel, t0_err *err)
{
    fs_file *f;
    t0_err oe = {0};
    t0_status st = s->fs->open(s->fs->ctx, path, FS_READ | FS_NOFOLLOW, 0, &f, &oe);
    if (st == T0_ENOTFOUND) return T0_OK; /* deleted since the listing: it is simply not in this snapshot */
    if (st != T0_OK) {
        if (err) *err = oe;
        t0_err_prefix(err, "snapshot");
        return st;
    }
    fs_stat a, b, c;
    if ((st = s->fs->fstat(s->fs->ctx, f, &a, err)) != T0_OK || a.type != FS_REG) {
        s->fs->close(s->fs->ctx, f, NULL);
        return st;
    }
    const dar_limits *lim = &s->o->lim;
    if (a.size > lim->max_file) {
        s->fs->close(s->fs->ctx, f, NULL);
        return t0_fail(err, T0_ELIMIT, "state file %s exceeds maximum size limit (%llu bytes)", rel,
                       (unsigned long long)lim->max_file);
    }
    if (s->total + a.size > lim->max_total) {
        s->fs->close(s->fs->ctx, f, NULL);
        return t0_fail(err, T0_ELIMIT, "total state size exceeds maximum limit (%llu bytes)",
                       (unsigned long long)lim->max_total);
    }
    st = snap_entry_header(s, rel, &a, NULL, err);
    uint64_t left = a.size, off = 0;
    EVP_DigestUpdate(s->md, &a.size, sizeof a.size);
    EVP_MD_CTX *h1 = EVP_MD_CTX_new();
    if (!h1) {
        s->fs->close(s->fs->ctx, f, NULL);
        return t0_fail(err, T0_ENOMEM, "snapshot: out of memory");
    }
    EVP_DigestInit_ex(h1, EVP_sha256(), NULL);
    while (st == T0_OK && left > 0) {
        size_t want = left < IOBUF ? (size_t)left : IOBUF, got = 0;
        t0_err re = {0};
        if (s->fs->read(s->fs->ctx, f, off, s->buf, want, &got, &re) != T0_OK) {
            if (err) *err = re;
            t0_err_prefix(err, "snapshot");
            st = re.code;
            break;
        }
        if (got == 0) { /* shrank while reading: pad so the archive stays well-formed; this attempt fails */
            moved(s, rel, "shrank while being read");
            memset(s->buf, 0, want);
            got = want;
        }
        if (s->a && archive_write_data(s->a, s->buf, got) < 0) {
            st = archive_failed(s, "write", rel, err);
            break;
        }
        EVP_DigestUpdate(s->md, s->buf, got);
        EVP_DigestUpdate(h1, s->buf, got);
        left -= got;
        off += got;
    }
    /* Read it a second time: bytes that differ from the archived copy mean a write was in flight, which
     * the timestamps alone do not always show (they tick coarsely and are set before the data lands). */
    if (st == T0_OK && !s->moved[0]) reread(s, f, a.size, h1, rel);
    EVP_MD_CTX_free(h1);
    if (st == T0_OK && !s->moved[0]) {
        if (s->fs->fstat(s->fs->ctx, f, &b, NULL) != T0_OK || s->fs->lstat(s->fs->ctx, path, &c, NULL) != T0_OK ||
            b.size != a.size || b.mtime_ns != a.mtime_ns || b.ctime_ns != a.ctime_ns || c.ino != a.ino)
            moved(s, rel, "changed while being read");
        /* Timestamps tick coarsely (a few ms), so a write in the same tick as our fstat would not show up
         * as a changed mtime. A file modified within racy_ms of the snapshot is read again later. */
        int64_t racy = s->o->racy_ms > 0 ? s->o->racy_ms : RACY_MS;
        if (s->o->now_ms * 1000000 - a.mtime_ns < racy * 1000000) moved(s, rel, "is still being written");
    }
    s->fs->close(s->fs->ctx, f, NULL);
    s->total += a.size;
    s->stats->files++;
    s->stats->bytes += a.size;
    return st;
}

static bool excluded(const snap *s, const char *rel, const char *name)
{
    if (*rel || !s->o->exclude) return false;
    for (const char *const *x = s->o->exclude; *x; x++)
        if (!strcmp(*x, name)) return true;
    return false;
}

static t0_status snap_dir(snap *s, const char *dir, const char *rel, int depth, t0_err *err)
{
    fs_list l = {0};
    t0_err le = {0};
    t0_status st = s->fs->list(s->fs->ctx, dir, &l, &le);
    if (st == T0_ENOTFOUND && *rel) return T0_OK; /* a subdirectory vanished */
    if (st != T0_OK) {
        if (err) *err = le;
        t0_err_prefix(err, "snapshot");
        return st;
    }
    if (depth > 64) {
        fs_list_free(&l);
        return t0_fail(err, T0_ELIMIT, "snapshot: %s is nested more than 64 directories deep", dir);
    }
    if (l.n > 1) qsort(l.names, l.n, sizeof *l.names, cmp_names);
    for (size_t i = 0; i < l.n && st == T0_OK; i++) {
        char path[4096], r[2048], esc[600];
        if (excluded(s, rel, l.names[i])) continue;
        if ((st = fs_join(path, sizeof path, dir, l.names[i], err)) != T0_OK ||
            (st = fs_join(r, sizeof r, rel, l.names[i], err)) != T0_OK)
            break;
        if (!dar_name_utf8(l.names[i])) {
            T0_ERROR(COMP, "state file \"%s\": its name is not valid UTF-8; it is not shipped (rename it to sync it)",
                     dd_escape(r, esc, sizeof esc));
            s->stats->bad_names++;
            continue;
        }
        fs_stat sb;
        if (s->fs->lstat(s->fs->ctx, path, &sb, NULL) != T0_OK) continue; /* vanished */
        if (sb.type == FS_DIR) {
            st = snap_entry_header(s, r, &sb, NULL, err);
            s->stats->dirs++;
            if (st == T0_OK) st = snap_dir(s, path, r, depth + 1, err);
        } else if (sb.type == FS_REG) {
            st = snap_file(s, path, r, err);
        } else if (sb.type == FS_LNK) {
            char target[4096];
            if (s->fs->readlink(s->fs->ctx, path, target, sizeof target, NULL) != T0_OK) continue;
            if (!dar_name_utf8(target)) {
                T0_ERROR(COMP, "state symlink \"%s\": its target is not valid UTF-8; it is not shipped",
                         dd_escape(r, esc, sizeof esc));
                s->stats->bad_names++;
                continue;
            }
            st = snap_entry_header(s, r, &sb, target, err);
            s->stats->links++;
        } else {
            s->stats->skipped++;
        }
    }
    fs_list_free(&l);
    return st;
}

t0_status dar_snapshot(const fs_port *fs, const char *dir, const dar_snap_opts *o, const char *out_path,
                       char hash[65], dar_stats *stats, t0_err *err)
{
    dar_stats local;
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    fs_stat dsb;
    t0_status st = fs->lstat(fs->ctx, dir, &dsb, err);
    if (st != T0_OK) return st;
    if (dsb.type != FS_DIR) return t0_fail(err, T0_ENOTFOUND, "snapshot: %s is not a directory", dir);
    snap s = {.fs = fs, .o = o, .stats = stats};
    s.out.fs = fs;
    s.out.mem = o->mem;
    s.out.mem_max = o->mem_max;
    if (o->mem) o->mem->len = 0;
    if (!o->mem && !o->hash_only && (st = fs->open(fs->ctx, out_path, FS_WRITE | FS_CREATE | FS_TRUNC, 0600, &s.out.f, err)) != T0_OK) {
        if (st == T0_ENOTFOUND) { /* T0_ENOTFOUND means "no state directory" to callers */
            st = T0_EIO;
            if (err) err->code = st, err->sys_errno = ENOENT;
        }
        t0_err_prefix(err, "snapshot: spool");
        return st;
    }
    s.buf = malloc(IOBUF);
    s.md = EVP_MD_CTX_new();
    t0_utf8_scope loc = t0_utf8_enter();
    s.a = o->hash_only ? NULL : archive_write_new();
    if (!s.buf || (!s.a && !o->hash_only) || !s.md) {
        st = t0_fail(err, T0_ENOMEM, "snapshot: out of memory");
    } else {
        EVP_DigestInit_ex(s.md, EVP_sha256(), NULL);
    }
    if (st == T0_OK && o->hash_only) {
        st = snap_dir(&s, dir, "", 0, err);
    } else if (st == T0_OK) {
        archive_write_set_format_pax_restricted(s.a);
        archive_write_add_filter_gzip(s.a);
        archive_write_set_bytes_in_last_block(s.a, 1);
        const char *where = o->mem ? "(memory)" : out_path;
        if (archive_write_open2(s.a, &s.out, NULL, wr_write, NULL, NULL) != ARCHIVE_OK)
            st = archive_failed(&s, "open", where, err);
        if (st == T0_OK) st = snap_dir(&s, dir, "", 0, err);
        if (st == T0_OK && archive_write_close(s.a) != ARCHIVE_OK) st = archive_failed(&s, "finish", where, err);
    }
    if (s.a) archive_write_free(s.a);
    t0_utf8_leave(loc);
    if (s.out.overflow) {
        stats->mem_overflow = true;
        st = t0_fail(err, T0_ELIMIT, "snapshot of %s: %s", dir, s.out.err.msg);
    }
    t0_err ce = {0};
    if (s.out.f && fs->close(fs->ctx, s.out.f, &ce) != T0_OK && st == T0_OK) {
        if (err) *err = ce;
        st = ce.code;
    }
    if (s.md) {
        unsigned char d[32];
        unsigned int dl = 0;
        if (stats->files + stats->dirs + stats->links == 0) {
            EVP_MD_CTX_reset(s.md); /* an empty directory hashes as the empty string */
            EVP_DigestInit_ex(s.md, EVP_sha256(), NULL);
        }
        EVP_DigestFinal_ex(s.md, d, &dl);
        EVP_MD_CTX_free(s.md);
        t0_hex(d, 32, hash);
    }
    free(s.buf);
    if (st == T0_OK && s.moved[0]) return t0_fail(err, T0_ESTATE, "snapshot of %s: %s", dir, s.moved);
    return st;
}
