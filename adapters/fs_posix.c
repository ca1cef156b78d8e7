/* fs_posix.c: the filesystem port on POSIX calls, inotify watches on the rtloop (see fs_posix.h). */
#include "adapters/fs_posix.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fiu-local.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

struct fs_file {
    int fd;
    char path[1024];
};

/* One inotify watch descriptor serving one directory of one fs_watch (a tree watch has one per
 * directory). Several entries may share a wd when two watches cover the same directory. */
typedef struct wd_entry {
    int wd;
    uint64_t watch_id;
    char *rel; /* the directory relative to the watch's root ("" for the root) */
} wd_entry;

struct fs_watch {
    uint64_t id;
    char *root;
    unsigned flags;
    fs_watch_fn fn;
    void *ud;
};

struct fs_posix {
    rtloop *loop;
    int ino;
    uint64_t loop_fd_id;
    wd_entry *ents;
    size_t nents, capents;
    fs_watch **watches;
    size_t nwatches, capwatches;
    uint64_t next_id;
};

static t0_status sys_fail(t0_err *err, int e, const char *op, const char *path)
{
    if (e == ENOENT) return t0_fail(err, T0_ENOTFOUND, "%s %s: %s", op, path, strerror(e));
    if (e == EEXIST) return t0_fail(err, T0_EEXIST, "%s %s: %s", op, path, strerror(e));
    t0_status st = t0_fail(err, T0_EIO, "%s %s: %s", op, path, strerror(e));
    if (err) err->sys_errno = e;
    return st;
}

static void to_stat(const struct stat *s, fs_stat *o)
{
    o->type = S_ISREG(s->st_mode) ? FS_REG : S_ISDIR(s->st_mode) ? FS_DIR : S_ISLNK(s->st_mode) ? FS_LNK : FS_OTHER;
    o->perm = (uint32_t)(s->st_mode & 07777);
    o->size = (uint64_t)s->st_size;
    o->mtime_ns = (int64_t)s->st_mtim.tv_sec * 1000000000 + s->st_mtim.tv_nsec;
    o->ctime_ns = (int64_t)s->st_ctim.tv_sec * 1000000000 + s->st_ctim.tv_nsec;
    o->ino = (uint64_t)s->st_ino;
    o->dev = (uint64_t)s->st_dev;
}

/* ---- files ------------------------------------------------------------------------------------- */
static t0_status p_open(void *ctx, const char *path, int flags, uint32_t perm, fs_file **out, t0_err *err)
{
    (void)ctx;
    *out = NULL;
    int acc = (flags & FS_READ) && (flags & FS_WRITE) ? O_RDWR : (flags & FS_WRITE) ? O_WRONLY : O_RDONLY;
    int base = acc | O_CLOEXEC | ((flags & FS_NOFOLLOW) ? O_NOFOLLOW : 0);
    int fd = -1;
    bool created = false;
    if (flags & FS_CREATE) {
        fd = open(path, base | O_CREAT | O_EXCL | ((flags & FS_TRUNC) ? O_TRUNC : 0), (mode_t)(perm & 07777));
        if (fd >= 0) {
            created = true;
        } else if (errno == EEXIST && !(flags & FS_EXCL)) {
            fd = open(path, base | ((flags & FS_TRUNC) ? O_TRUNC : 0));
        }
    } else {
        fd = open(path, base | ((flags & FS_TRUNC) ? O_TRUNC : 0));
    }
    if (fd < 0) return sys_fail(err, errno, "open", path);
    if (created && fchmod(fd, (mode_t)(perm & 07777)) != 0) { /* O_CREAT's mode is masked by the umask */
        int e = errno;
        close(fd);
        return sys_fail(err, e, "chmod", path);
    }
    fs_file *f = malloc(sizeof *f);
    if (!f) {
        close(fd);
        return t0_fail(err, T0_ENOMEM, "open %s: out of memory", path);
    }
    f->fd = fd;
    snprintf(f->path, sizeof f->path, "%s", path);
    *out = f;
    return T0_OK;
}

static t0_status p_read(void *ctx, fs_file *f, uint64_t off, void *buf, size_t cap, size_t *got, t0_err *err)
{
    (void)ctx;
    *got = 0;
    for (;;) {
        if (fiu_fail("posixfs/read")) return sys_fail(err, EIO, "read", f->path);
        ssize_t n = pread(f->fd, buf, cap, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sys_fail(err, errno, "read", f->path);
        *got = (size_t)n;
        return T0_OK;
    }
}

static t0_status p_write(void *ctx, fs_file *f, uint64_t off, const void *buf, size_t len, t0_err *err)
{
    (void)ctx;
    size_t done = 0;
    if (fiu_fail("posixfs/write")) { /* a filling disk: half of it lands, then ENOSPC */
        size_t half = len / 2;
        while (done < half) {
            ssize_t n = pwrite(f->fd, (const char *)buf + done, half - done, (off_t)(off + done));
            if (n <= 0) break;
            done += (size_t)n;
        }
        return sys_fail(err, ENOSPC, "write", f->path);
    }
    while (done < len) {
        ssize_t n = pwrite(f->fd, (const char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sys_fail(err, errno, "write", f->path);
        if (n == 0) return sys_fail(err, ENOSPC, "write", f->path);
        done += (size_t)n;
    }
    return T0_OK;
}

static t0_status p_fstat(void *ctx, fs_file *f, fs_stat *out, t0_err *err)
{
    (void)ctx;
    struct stat sb;
    if (fstat(f->fd, &sb) != 0) return sys_fail(err, errno, "stat", f->path);
    to_stat(&sb, out);
    return T0_OK;
}

static t0_status p_sync(void *ctx, fs_file *f, t0_err *err)
{
    (void)ctx;
    if (fsync(f->fd) != 0) return sys_fail(err, errno, "fsync", f->path);
    return T0_OK;
}

static t0_status p_close(void *ctx, fs_file *f, t0_err *err)
{
    (void)ctx;
    if (!f) return T0_OK;
    int r = close(f->fd), e = errno;
    t0_status st = r == 0 || e == EINTR ? T0_OK : sys_fail(err, e, "close", f->path);
    free(f);
    return st;
}

/* ---- names ------------------------------------------------------------------------------------- */
static t0_status p_lstat(void *ctx, const char *path, fs_stat *out, t0_err *err)
{
    (void)ctx;
    struct stat sb;
    if (lstat(path, &sb) != 0) return sys_fail(err, errno, "stat", path);
    to_stat(&sb, out);
    return T0_OK;
}

static t0_status p_mkdir(void *ctx, const char *path, uint32_t perm, t0_err *err)
{
    (void)ctx;
    if (mkdir(path, (mode_t)(perm & 07777)) != 0) return sys_fail(err, errno, "mkdir", path);
    if (chmod(path, (mode_t)(perm & 07777)) != 0) return sys_fail(err, errno, "chmod", path);
    return T0_OK;
}

static t0_status p_rename(void *ctx, const char *from, const char *to, t0_err *err)
{
    (void)ctx;
    if (fiu_fail("posixfs/rename")) return sys_fail(err, EIO, "rename", from);
    if (rename(from, to) != 0) {
        int e = errno;
        t0_status st = t0_fail(err, e == ENOENT ? T0_ENOTFOUND : T0_EIO, "rename %s to %s: %s", from, to, strerror(e));
        if (err && st == T0_EIO) err->sys_errno = e;
        return st;
    }
    return T0_OK;
}

static t0_status p_unlink(void *ctx, const char *path, t0_err *err)
{
    (void)ctx;
    if (unlink(path) != 0) return sys_fail(err, errno, "unlink", path);
    return T0_OK;
}

static t0_status p_rmdir(void *ctx, const char *path, t0_err *err)
{
    (void)ctx;
    if (rmdir(path) != 0) return sys_fail(err, errno, "rmdir", path);
    return T0_OK;
}

static t0_status p_list(void *ctx, const char *dir, fs_list *out, t0_err *err)
{
    (void)ctx;
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) return sys_fail(err, errno, "list", dir);
    size_t cap = 0;
    struct dirent *de;
    t0_status st = T0_OK;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (out->n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            char **nn = realloc(out->names, nc * sizeof *nn);
            if (!nn) {
                st = t0_fail(err, T0_ENOMEM, "list %s: out of memory", dir);
                break;
            }
            out->names = nn;
            cap = nc;
        }
        if (!(out->names[out->n] = strdup(de->d_name))) {
            st = t0_fail(err, T0_ENOMEM, "list %s: out of memory", dir);
            break;
        }
        out->n++;
        errno = 0;
    }
    if (st == T0_OK && errno != 0) st = sys_fail(err, errno, "list", dir);
    closedir(d);
    if (st != T0_OK) fs_list_free(out);
    return st;
}

static t0_status p_symlink(void *ctx, const char *target, const char *path, t0_err *err)
{
    (void)ctx;
    if (symlink(target, path) != 0) return sys_fail(err, errno, "symlink", path);
    return T0_OK;
}

static t0_status p_readlink(void *ctx, const char *path, char *buf, size_t cap, t0_err *err)
{
    (void)ctx;
    ssize_t n = readlink(path, buf, cap);
    if (n < 0) return sys_fail(err, errno, "readlink", path);
    if ((size_t)n >= cap) return sys_fail(err, ENAMETOOLONG, "readlink", path);
    buf[n] = '\0';
    return T0_OK;
}

static t0_status p_sync_dir(void *ctx, const char *dir, t0_err *err)
{
    (void)ctx;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return sys_fail(err, errno, "open", dir);
    int r = fsync(fd), e = errno;
    close(fd);
    return r == 0 ? T0_OK : sys_fail(err, e, "fsync", dir);
}

static t0_status p_space(void *ctx, const char *path, uint64_t *avail, uint64_t *total, t0_err *err)
{
    (void)ctx;
    struct statvfs v;
    if (statvfs(path, &v) != 0) return sys_fail(err, errno, "statvfs", path);
    if (avail) *avail = (uint64_t)v.f_bavail * v.f_frsize;
    if (total) *total = (uint64_t)v.f_blocks * v.f_frsize;
    return T0_OK;
}

/* ---- watches ----------------------------------------------------------------------------------- */
#define WATCH_MASK                                                                                                     \
    (IN_CLOSE_WRITE | IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF |    \
     IN_ONLYDIR)

static fs_watch *find_watch(fs_posix *p, uint64_t id)
{
    for (size_t i = 0; i < p->nwatches; i++)
        if (p->watches[i]->id == id) return p->watches[i];
    return NULL;
}

static bool add_entry(fs_posix *p, int wd, uint64_t id, const char *rel)
{
    for (size_t i = 0; i < p->nents; i++)
        if (p->ents[i].wd == wd && p->ents[i].watch_id == id) return true;
    if (p->nents == p->capents) {
        size_t nc = p->capents ? p->capents * 2 : 16;
        wd_entry *a = realloc(p->ents, nc * sizeof *a);
        if (!a) return false;
        p->ents = a;
        p->capents = nc;
    }
    char *r = strdup(rel);
    if (!r) return false;
    p->ents[p->nents++] = (wd_entry){wd, id, r};
    return true;
}

static void drop_entry(fs_posix *p, size_t i)
{
    int wd = p->ents[i].wd;
    free(p->ents[i].rel);
    p->ents[i] = p->ents[--p->nents];
    for (size_t j = 0; j < p->nents; j++)
        if (p->ents[j].wd == wd) return;
    inotify_rm_watch(p->ino, wd); /* the last user of this wd */
}

/* Watch DIR (REL below the watch's root) and, for a tree watch, every directory below it. */
static void watch_dir(fs_posix *p, fs_watch *w, const char *rel, int depth)
{
    char path[4096];
    if (fs_join(path, sizeof path, w->root, rel, NULL) != T0_OK || depth > 64) return;
    int wd = inotify_add_watch(p->ino, path, WATCH_MASK);
    if (wd < 0 || !add_entry(p, wd, w->id, rel)) return;
    if (!(w->flags & FS_WATCH_TREE)) return;
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char sub[4096], full[4096];
        struct stat sb;
        if (fs_join(sub, sizeof sub, rel, de->d_name, NULL) != T0_OK ||
            fs_join(full, sizeof full, w->root, sub, NULL) != T0_OK)
            continue;
        if (lstat(full, &sb) == 0 && S_ISDIR(sb.st_mode)) watch_dir(p, w, sub, depth + 1);
    }
    closedir(d);
}

typedef struct pending_call {
    uint64_t id;
    char name[4096];
    bool lost;
} pending_call;

static void on_inotify(void *ud)
{
    fs_posix *p = ud;
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(p->ino, buf, sizeof buf);
        if (n <= 0) break;
        for (char *q = buf; q < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)q;
            q += sizeof *e + e->len;
            if (e->mask & IN_Q_OVERFLOW) {
                /* lost events: every watch rescans */
                for (size_t i = 0; i < p->nwatches; i++) {
                    uint64_t id = p->watches[i]->id;
                    fs_watch *w = find_watch(p, id);
                    if (w) w->fn(w->ud, NULL);
                }
                continue;
            }
            /* gather first: a callback may unwatch (and free the entries) */
            pending_call calls[8];
            size_t nc = 0;
            for (size_t i = 0; i < p->nents && nc < 8; i++) {
                if (p->ents[i].wd != e->wd) continue;
                calls[nc].id = p->ents[i].watch_id;
                calls[nc].lost = false;
                if (e->len && *e->name)
                    fs_join(calls[nc].name, sizeof calls[nc].name, p->ents[i].rel, e->name, NULL);
                else
                    snprintf(calls[nc].name, sizeof calls[nc].name, "%s", p->ents[i].rel);
                nc++;
            }
            if (e->mask & IN_IGNORED) { /* the directory is gone: forget its entries */
                for (size_t i = 0; i < p->nents;)
                    if (p->ents[i].wd == e->wd) {
                        free(p->ents[i].rel);
                        p->ents[i] = p->ents[--p->nents];
                    } else {
                        i++;
                    }
                continue;
            }
            for (size_t c = 0; c < nc; c++) {
                fs_watch *w = find_watch(p, calls[c].id);
                if (!w) continue;
                if ((w->flags & FS_WATCH_TREE) && (e->mask & IN_ISDIR) && (e->mask & (IN_CREATE | IN_MOVED_TO)))
                    watch_dir(p, w, calls[c].name, 0);
                w->fn(w->ud, calls[c].name);
            }
        }
    }
}

static t0_status p_watch(void *ctx, const char *dir, unsigned flags, fs_watch_fn fn, void *ud, fs_watch **out,
                         t0_err *err)
{
    fs_posix *p = ctx;
    *out = NULL;
    if (!p->loop) return t0_fail(err, T0_EUNAVAILABLE, "watch %s: no loop to deliver changes on", dir);
    struct stat sb;
    if (stat(dir, &sb) != 0) return sys_fail(err, errno, "watch", dir);
    if (!S_ISDIR(sb.st_mode)) return sys_fail(err, ENOTDIR, "watch", dir);
    if (p->ino < 0) {
        p->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (p->ino < 0) {
            int e = errno;
            return t0_fail(err, T0_EUNAVAILABLE, "watch %s: inotify: %s", dir, strerror(e));
        }
        p->loop_fd_id = rtloop_watch_fd(p->loop, p->ino, on_inotify, p);
        if (!p->loop_fd_id) return t0_fail(err, T0_ENOMEM, "watch %s: out of memory", dir);
    }
    if (p->nwatches == p->capwatches) {
        size_t nc = p->capwatches ? p->capwatches * 2 : 8;
        fs_watch **a = realloc(p->watches, nc * sizeof *a);
        if (!a) return t0_fail(err, T0_ENOMEM, "watch %s: out of memory", dir);
        p->watches = a;
        p->capwatches = nc;
    }
    fs_watch *w = calloc(1, sizeof *w);
    if (!w || !(w->root = strdup(dir))) {
        free(w);
        return t0_fail(err, T0_ENOMEM, "watch %s: out of memory", dir);
    }
    w->id = ++p->next_id;
    w->flags = flags;
    w->fn = fn;
    w->ud = ud;
    p->watches[p->nwatches++] = w;
    watch_dir(p, w, "", 0);
    *out = w;
    return T0_OK;
}

static void p_unwatch(void *ctx, fs_watch *w)
{
    fs_posix *p = ctx;
    if (!w) return;
    for (size_t i = 0; i < p->nents;)
        if (p->ents[i].watch_id == w->id) drop_entry(p, i);
        else i++;
    for (size_t i = 0; i < p->nwatches; i++)
        if (p->watches[i] == w) {
            p->watches[i] = p->watches[--p->nwatches];
            break;
        }
    free(w->root);
    free(w);
}

t0_status fs_posix_new(rtloop *loop, fs_posix **out, t0_err *err)
{
    fs_posix *p = calloc(1, sizeof *p);
    if (!p) return t0_fail(err, T0_ENOMEM, "fs: out of memory");
    p->loop = loop;
    p->ino = -1;
    *out = p;
    return T0_OK;
}

void fs_posix_free(fs_posix *p)
{
    if (!p) return;
    while (p->nwatches) p_unwatch(p, p->watches[0]);
    free(p->watches);
    free(p->ents);
    if (p->ino >= 0) {
        if (p->loop && p->loop_fd_id) rtloop_unwatch_fd(p->loop, p->loop_fd_id);
        close(p->ino);
    }
    free(p);
}

fs_port fs_posix_port(fs_posix *p)
{
    return (fs_port){.ctx = p,
                     .open = p_open,
                     .read = p_read,
                     .write = p_write,
                     .fstat = p_fstat,
                     .sync = p_sync,
                     .close = p_close,
                     .lstat = p_lstat,
                     .mkdir = p_mkdir,
                     .rename = p_rename,
                     .unlink = p_unlink,
                     .rmdir = p_rmdir,
                     .list = p_list,
                     .symlink = p_symlink,
                     .readlink = p_readlink,
                     .sync_dir = p_sync_dir,
                     .space = p_space,
                     .watch = p_watch,
                     .unwatch = p_unwatch};
}
