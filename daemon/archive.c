/* archive.c: hostile-input-safe extraction of code zips and state tar.gz, and consistent state snapshots. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fiu-local.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "daemon/daemon.h"

#define COMP "daemon"
#define RACY_MS 30

/* ---- extraction ----------------------------------------------------------------------------------- */

/* Normalise NAME into OUT ("a/./b//c/" -> "a/b/c"). Refuses absolute paths and ".." components. */
static t0_status clean_name(const char *name, char *out, size_t cap, t0_err *err)
{
    if (!name || !*name) return t0_fail(err, T0_EINVAL, "archive entry with an empty name");
    if (name[0] == '/')
        return t0_fail(err, T0_EINVAL, "archive entry \"%s\": absolute paths are not allowed", name);
    size_t o = 0;
    const char *p = name;
    while (*p) {
        const char *s = p;
        while (*p && *p != '/') p++;
        size_t n = (size_t)(p - s);
        if (*p) p++;
        if (n == 0 || (n == 1 && s[0] == '.')) continue;
        if (n == 2 && s[0] == '.' && s[1] == '.')
            return t0_fail(err, T0_EINVAL, "archive entry \"%s\": path traversal (\"..\") is not allowed", name);
        if (o + n + 2 > cap) return t0_fail(err, T0_EINVAL, "archive entry \"%s\": name too long", name);
        if (o) out[o++] = '/';
        memcpy(out + o, s, n);
        o += n;
    }
    out[o] = '\0';
    return T0_OK;
}

static mode_t perm_of(mode_t m, bool dir)
{
    m &= 0777;
    if (m == 0) return dir ? 0755 : 0644;
    return dir ? (m | 0700) : m;
}

/* Create the parent directories of DEST/REL one component at a time, refusing to pass through any
 * symlink (so nothing is ever written outside DEST). */
static t0_status safe_parents(const char *dest, const char *rel, const char *entry, t0_err *err)
{
    char path[4096];
    size_t dl = strlen(dest);
    if (dl + strlen(rel) + 2 > sizeof path) return t0_fail(err, T0_EINVAL, "archive entry \"%s\": path too long", entry);
    memcpy(path, dest, dl);
    path[dl] = '/';
    strcpy(path + dl + 1, rel);
    char *p = path + dl + 1;
    while ((p = strchr(p, '/')) != NULL) {
        *p = '\0';
        struct stat st;
        if (lstat(path, &st) == 0) {
            if (S_ISLNK(st.st_mode)) {
                *p = '/';
                return t0_fail(err, T0_EINVAL, "archive entry \"%s\": would be written through a symlink", entry);
            }
            if (!S_ISDIR(st.st_mode)) {
                *p = '/';
                return t0_fail(err, T0_EINVAL, "archive entry \"%s\": a parent is not a directory", entry);
            }
        } else if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            t0_fail(err, T0_EIO, "mkdir %s: %s", path, strerror(e));
            if (err) err->sys_errno = e;
            return T0_EIO;
        }
        *p++ = '/';
    }
    return T0_OK;
}

static t0_status write_entry_data(struct archive *a, int fd, const char *path, const char *entry,
                                  const dar_limits *lim, uint64_t *total, t0_err *err)
{
    uint64_t written = 0;
    for (;;) {
        const void *buf;
        size_t len;
        la_int64_t off;
        int r = archive_read_data_block(a, &buf, &len, &off);
        if (r == ARCHIVE_EOF) return T0_OK;
        if (r < ARCHIVE_WARN)
            return t0_fail(err, T0_EINVAL, "archive entry \"%s\": corrupt data: %s", entry, archive_error_string(a));
        if (written + len > lim->max_file)
            return t0_fail(err, T0_ELIMIT, "file %s exceeds maximum size limit (%llu bytes)", entry,
                           (unsigned long long)lim->max_file);
        if (*total + len > lim->max_total)
            return t0_fail(err, T0_ELIMIT, "total extracted size exceeds maximum limit (%llu bytes)",
                           (unsigned long long)lim->max_total);
        if (lseek(fd, (off_t)off, SEEK_SET) < 0) {
            int e = errno;
            t0_fail(err, T0_EIO, "write %s: %s", path, strerror(e));
            if (err) err->sys_errno = e;
            return T0_EIO;
        }
        size_t done = 0;
        while (done < len) {
            ssize_t w;
            if (fiu_fail("daemon/extract/write")) {
                errno = ENOSPC;
                w = -1;
            } else {
                w = write(fd, (const char *)buf + done, len - done);
            }
            if (w < 0) {
                if (errno == EINTR) continue;
                int e = errno;
                t0_fail(err, T0_EIO, "write %s: %s", path, strerror(e));
                if (err) err->sys_errno = e;
                return T0_EIO;
            }
            done += (size_t)w;
        }
        written += len;
        *total += len;
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

t0_status dar_extract(const char *archive_path, dar_format fmt, const char *dest, const dar_limits *lim,
                      dar_stats *stats, t0_err *err)
{
    dar_stats local = {0};
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    struct archive *a = archive_read_new();
    if (!a) return t0_fail(err, T0_ENOMEM, "extract %s: out of memory", archive_path);
    if (fmt == DAR_ZIP) {
        archive_read_support_format_zip(a);
    } else {
        archive_read_support_filter_gzip(a);
        archive_read_support_format_tar(a);
        archive_read_support_format_gnutar(a);
    }
    if (archive_read_open_filename(a, archive_path, 65536) != ARCHIVE_OK) {
        t0_status st = t0_fail(err, T0_EINVAL, "failed to open %s: %s", fmt == DAR_ZIP ? "zip" : "tar.gz",
                               archive_error_string(a));
        archive_read_free(a);
        return st;
    }
    t0_status st = T0_OK;
    uint64_t total = 0, entries = 0;
    struct archive_entry *e;
    char rel[2048], path[4096];
    for (;;) {
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) {
            st = t0_fail(err, T0_EINVAL, "corrupt %s archive: %s", fmt == DAR_ZIP ? "zip" : "tar.gz",
                         archive_error_string(a));
            break;
        }
        const char *name = archive_entry_pathname(e);
        if (++entries > lim->max_entries) {
            st = t0_fail(err, T0_ELIMIT, "archive has more than %llu entries", (unsigned long long)lim->max_entries);
            break;
        }
        if ((st = clean_name(name, rel, sizeof rel, err)) != T0_OK) break;
        if (!*rel) continue; /* "./": the destination itself */
        snprintf(path, sizeof path, "%s/%s", dest, rel);
        if (archive_entry_hardlink(e)) {
            st = t0_fail(err, T0_EINVAL, "archive entry \"%s\": hard links are not allowed", name);
            break;
        }
        mode_t type = archive_entry_filetype(e);
        if (type == AE_IFDIR) {
            if ((st = safe_parents(dest, rel, name, err)) != T0_OK) break;
            struct stat sb;
            if (lstat(path, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
                st = t0_fail(err, T0_EINVAL, "archive entry \"%s\": exists and is not a directory", name);
                break;
            }
            if (mkdir(path, perm_of(archive_entry_perm(e), true)) != 0 && errno != EEXIST) {
                int en = errno;
                st = t0_fail(err, T0_EIO, "mkdir %s: %s", path, strerror(en));
                break;
            }
            stats->dirs++;
        } else if (type == AE_IFREG) {
            if (archive_entry_size_is_set(e) && (uint64_t)archive_entry_size(e) > lim->max_file) {
                st = t0_fail(err, T0_ELIMIT, "file %s exceeds maximum size limit (%llu bytes)", rel,
                             (unsigned long long)lim->max_file);
                break;
            }
            if (archive_entry_size_is_set(e) && total + (uint64_t)archive_entry_size(e) > lim->max_total) {
                st = t0_fail(err, T0_ELIMIT, "total extracted size exceeds maximum limit (%llu bytes)",
                             (unsigned long long)lim->max_total);
                break;
            }
            if ((st = safe_parents(dest, rel, name, err)) != T0_OK) break;
            int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, perm_of(archive_entry_perm(e), false));
            if (fd < 0) {
                int en = errno;
                st = t0_fail(err, en == ELOOP ? T0_EINVAL : T0_EIO, "archive entry \"%s\": open %s: %s", name, path,
                             en == ELOOP ? "refusing to write through a symlink" : strerror(en));
                break;
            }
            (void)fchmod(fd, perm_of(archive_entry_perm(e), false)); /* O_CREAT's mode is masked by umask */
            st = write_entry_data(a, fd, path, rel, lim, &total, err);
            if (close(fd) != 0 && st == T0_OK) st = t0_fail(err, T0_EIO, "write %s: %s", path, strerror(errno));
            if (st != T0_OK) {
                unlink(path);
                break;
            }
            stats->files++;
        } else if (type == AE_IFLNK) {
            const char *target = archive_entry_symlink(e);
            if (!link_target_ok(target)) {
                st = t0_fail(err, T0_EINVAL,
                             "archive entry \"%s\": symlink to \"%s\" refused (absolute or \"..\" targets can escape)",
                             name, target ? target : "");
                break;
            }
            if ((st = safe_parents(dest, rel, name, err)) != T0_OK) break;
            struct stat sb;
            if (lstat(path, &sb) == 0) {
                if (S_ISDIR(sb.st_mode)) {
                    st = t0_fail(err, T0_EINVAL, "archive entry \"%s\": a directory of that name exists", name);
                    break;
                }
                unlink(path);
            }
            if (symlink(target, path) != 0) {
                st = t0_fail(err, T0_EIO, "symlink %s: %s", path, strerror(errno));
                break;
            }
            stats->links++;
        } else {
            T0_WARN(COMP, "skipping archive entry \"%s\": not a file, directory or symlink", name);
            stats->skipped++;
        }
    }
    stats->bytes = total;
    archive_read_free(a);
    return st;
}

/* ---- snapshot ------------------------------------------------------------------------------------- */

typedef struct snap {
    struct archive *a;
    EVP_MD_CTX *md;
    const dar_limits *lim;
    dar_stats *stats;
    uint64_t total;
    bool moved; /* a file changed while it was read: retry the snapshot */
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

static t0_status snap_entry_header(snap *s, const char *rel, const struct stat *st, const char *link, t0_err *err)
{
    struct archive_entry *e = archive_entry_new();
    if (!e) return t0_fail(err, T0_ENOMEM, "snapshot: out of memory");
    archive_entry_set_pathname(e, rel);
    archive_entry_set_mode(e, st->st_mode & (S_IFMT | 0777));
    archive_entry_set_mtime(e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
    archive_entry_set_size(e, S_ISREG(st->st_mode) ? st->st_size : 0);
    if (link) archive_entry_set_symlink(e, link);
    int r = archive_write_header(s->a, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK) return t0_fail(err, T0_EIO, "snapshot %s: %s", rel, archive_error_string(s->a));
    char kind = S_ISDIR(st->st_mode) ? 'd' : S_ISLNK(st->st_mode) ? 'l' : 'f';
    unsigned perm = (unsigned)(st->st_mode & 0777);
    hash_field(s->md, &kind, 1);
    hash_field(s->md, rel, strlen(rel));
    hash_field(s->md, &perm, sizeof perm);
    if (link) hash_field(s->md, link, strlen(link));
    return T0_OK;
}

static t0_status snap_file(snap *s, const char *path, const char *rel, t0_err *err)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return T0_OK; /* deleted since the listing: it is simply not in this snapshot */
        int e = errno;
        t0_fail(err, T0_EIO, "snapshot: open %s: %s", path, strerror(e));
        if (err) err->sys_errno = e;
        return T0_EIO;
    }
    struct stat a, b;
    struct timespec t0;
    clock_gettime(CLOCK_REALTIME, &t0);
    if (fstat(fd, &a) != 0 || !S_ISREG(a.st_mode)) {
        close(fd);
        return T0_OK;
    }
    if ((uint64_t)a.st_size > s->lim->max_file) {
        close(fd);
        return t0_fail(err, T0_ELIMIT, "state file %s exceeds maximum size limit (%llu bytes)", rel,
                       (unsigned long long)s->lim->max_file);
    }
    if (s->total + (uint64_t)a.st_size > s->lim->max_total) {
        close(fd);
        return t0_fail(err, T0_ELIMIT, "total state size exceeds maximum limit (%llu bytes)",
                       (unsigned long long)s->lim->max_total);
    }
    t0_status st = snap_entry_header(s, rel, &a, NULL, err);
    uint64_t left = (uint64_t)a.st_size;
    uint64_t size = left;
    EVP_DigestUpdate(s->md, &size, sizeof size);
    EVP_MD_CTX *h1 = EVP_MD_CTX_new();
    if (!h1) {
        close(fd);
        return t0_fail(err, T0_ENOMEM, "snapshot: out of memory");
    }
    EVP_DigestInit_ex(h1, EVP_sha256(), NULL);
    while (st == T0_OK && left > 0) {
        size_t want = left < 65536 ? (size_t)left : 65536;
        ssize_t n = read(fd, s->buf, want);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            st = t0_fail(err, T0_EIO, "snapshot: read %s: %s", path, strerror(errno));
            break;
        }
        if (n == 0) { /* shrank while reading: pad so the archive stays well-formed, then retry */
            s->moved = true;
            memset(s->buf, 0, want);
            n = (ssize_t)want;
        }
        if (archive_write_data(s->a, s->buf, (size_t)n) < 0) {
            st = t0_fail(err, T0_EIO, "snapshot %s: %s", rel, archive_error_string(s->a));
            break;
        }
        EVP_DigestUpdate(s->md, s->buf, (size_t)n);
        EVP_DigestUpdate(h1, s->buf, (size_t)n);
        left -= (uint64_t)n;
    }
    /* Read it a second time: bytes that differ from the archived copy mean a write was in flight, which
     * the timestamps alone do not always show (they tick coarsely and are set before the data lands). */
    if (st == T0_OK && !s->moved) {
        EVP_MD_CTX *h2 = EVP_MD_CTX_new();
        unsigned char d1[32], d2[32];
        unsigned int l1 = 0, l2 = 0;
        if (h2) {
            EVP_DigestInit_ex(h2, EVP_sha256(), NULL);
            uint64_t off = 0, size2 = (uint64_t)a.st_size;
            while (off < size2) {
                size_t want = size2 - off < 65536 ? (size_t)(size2 - off) : 65536;
                ssize_t n = pread(fd, s->buf, want, (off_t)off);
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) {
                    s->moved = true;
                    break;
                }
                EVP_DigestUpdate(h2, s->buf, (size_t)n);
                off += (uint64_t)n;
            }
            EVP_DigestFinal_ex(h1, d1, &l1);
            EVP_DigestFinal_ex(h2, d2, &l2);
            if (memcmp(d1, d2, 32)) s->moved = true;
            EVP_MD_CTX_free(h2);
        }
    }
    EVP_MD_CTX_free(h1);
    struct stat c;
    if (st == T0_OK && (fstat(fd, &b) != 0 || lstat(path, &c) != 0 || b.st_size != a.st_size ||
                        b.st_mtim.tv_sec != a.st_mtim.tv_sec || b.st_mtim.tv_nsec != a.st_mtim.tv_nsec ||
                        b.st_ctim.tv_sec != a.st_ctim.tv_sec || b.st_ctim.tv_nsec != a.st_ctim.tv_nsec ||
                        c.st_ino != a.st_ino))
        s->moved = true;
    /* File timestamps tick coarsely (a few ms), so a write in the same tick as our fstat would not show
     * up as a changed mtime. A file modified within RACY_MS of the snapshot is read again later. */
    int64_t age_ms = ((int64_t)t0.tv_sec - a.st_mtim.tv_sec) * 1000 + (t0.tv_nsec - a.st_mtim.tv_nsec) / 1000000;
    if (age_ms < RACY_MS) s->moved = true;
    close(fd);
    s->total += (uint64_t)a.st_size;
    s->stats->files++;
    s->stats->bytes += (uint64_t)a.st_size;
    return st;
}

static t0_status snap_dir(snap *s, const char *dir, const char *rel, t0_err *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT && *rel) return T0_OK; /* a subdirectory vanished */
        int e = errno;
        t0_fail(err, e == ENOENT ? T0_ENOTFOUND : T0_EIO, "snapshot: open directory %s: %s", dir, strerror(e));
        if (err) err->sys_errno = e;
        return err ? err->code : T0_EIO;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    t0_status st = T0_OK;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                st = t0_fail(err, T0_ENOMEM, "snapshot: out of memory");
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(de->d_name))) {
            st = t0_fail(err, T0_ENOMEM, "snapshot: out of memory");
            break;
        }
        n++;
    }
    closedir(d);
    if (st == T0_OK && n > 1) qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n && st == T0_OK; i++) {
        char path[4096], r[2048];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        snprintf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", names[i]);
        struct stat sb;
        if (lstat(path, &sb) != 0) continue; /* vanished */
        if (S_ISDIR(sb.st_mode)) {
            st = snap_entry_header(s, r, &sb, NULL, err);
            s->stats->dirs++;
            if (st == T0_OK) st = snap_dir(s, path, r, err);
        } else if (S_ISREG(sb.st_mode)) {
            st = snap_file(s, path, r, err);
        } else if (S_ISLNK(sb.st_mode)) {
            char target[4096];
            ssize_t tl = readlink(path, target, sizeof target - 1);
            if (tl < 0) continue;
            target[tl] = '\0';
            st = snap_entry_header(s, r, &sb, target, err);
            s->stats->links++;
        } else {
            s->stats->skipped++;
        }
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return st;
}

static la_ssize_t snap_write_cb(struct archive *a, void *ud, const void *buf, size_t n)
{
    (void)a;
    FILE *f = ud;
    if (fiu_fail("daemon/snapshot/write")) {
        errno = ENOSPC;
        return -1;
    }
    return fwrite(buf, 1, n, f) == n ? (la_ssize_t)n : -1;
}

static t0_status snapshot_once(const char *dir, const dar_limits *lim, FILE *out, char hash[65], dar_stats *stats,
                               bool *moved, t0_err *err)
{
    memset(stats, 0, sizeof *stats);
    if (fflush(out) != 0 || ftruncate(fileno(out), 0) != 0 || fseeko(out, 0, SEEK_SET) != 0)
        return t0_fail(err, T0_EIO, "snapshot: truncate the temporary archive: %s", strerror(errno));
    snap s = {.lim = lim, .stats = stats};
    s.buf = malloc(65536);
    s.a = archive_write_new();
    s.md = EVP_MD_CTX_new();
    if (!s.buf || !s.a || !s.md) {
        free(s.buf);
        if (s.a) archive_write_free(s.a);
        if (s.md) EVP_MD_CTX_free(s.md);
        return t0_fail(err, T0_ENOMEM, "snapshot: out of memory");
    }
    EVP_DigestInit_ex(s.md, EVP_sha256(), NULL);
    archive_write_set_format_pax_restricted(s.a);
    archive_write_add_filter_gzip(s.a);
    archive_write_set_bytes_in_last_block(s.a, 1);
    t0_status st = T0_OK;
    if (archive_write_open2(s.a, out, NULL, snap_write_cb, NULL, NULL) != ARCHIVE_OK)
        st = t0_fail(err, T0_EIO, "snapshot: %s", archive_error_string(s.a));
    size_t entries_before = 0;
    (void)entries_before;
    if (st == T0_OK) st = snap_dir(&s, dir, "", err);
    if (st == T0_OK && archive_write_close(s.a) != ARCHIVE_OK)
        st = t0_fail(err, T0_EIO, "snapshot: finishing the archive: %s", archive_error_string(s.a));
    archive_write_free(s.a);
    if (st == T0_OK && fflush(out) != 0) st = t0_fail(err, T0_EIO, "snapshot: write: %s", strerror(errno));
    unsigned char d[32];
    unsigned int dl = 0;
    if (stats->files + stats->dirs + stats->links == 0) {
        EVP_MD_CTX_reset(s.md); /* an empty directory hashes as the empty string */
        EVP_DigestInit_ex(s.md, EVP_sha256(), NULL);
    }
    EVP_DigestFinal_ex(s.md, d, &dl);
    EVP_MD_CTX_free(s.md);
    free(s.buf);
    for (int i = 0; i < 32; i++) sprintf(hash + 2 * i, "%02x", d[i]);
    *moved = s.moved;
    return st;
}

t0_status dar_snapshot(const char *dir, const dar_limits *lim, FILE *out, char hash[65], dar_stats *stats,
                       t0_err *err)
{
    dar_stats local;
    if (!stats) stats = &local;
    for (int attempt = 0; attempt < 20; attempt++) {
        bool moved = false;
        t0_status st = snapshot_once(dir, lim, out, hash, stats, &moved, err);
        if (st != T0_OK) return st;
        if (!moved) return T0_OK;
        dd_sleep_ms(RACY_MS + 5);
    }
    return t0_fail(err, T0_ESTATE, "snapshot of %s: files kept changing while being read (20 tries)", dir);
}
