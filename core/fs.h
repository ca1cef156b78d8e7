/* fs.h: the filesystem port: what the pod-side daemon does to files (open, read, write, rename, list,
 * stat, free space, change notification), so that `daemon init` and `daemon sync` run unchanged on POSIX
 * in a container (adapters/fs_posix.h) and on the simulator's container filesystem model. Plus the
 * helpers every user of the port needs (mkdir -p, rm -r, atomic replace, a stdio FILE over the port).
 *
 * Paths are byte strings ('/'-separated, absolute or relative to the process's working directory in
 * POSIX); a name is any bytes but '/' and NUL (UTF-8 or not: the port does not interpret them).
 *
 * Error contract (every call): T0_OK, or
 *   T0_ENOTFOUND  the path or one of its parents does not exist (ENOENT)
 *   T0_EEXIST     mkdir of an existing name, or FS_EXCL on an existing file (EEXIST)
 *   T0_EIO        anything else, with err->sys_errno the errno value: ENOSPC (volume full), EROFS
 *                 (read-only root or volume), EIO, EACCES, ENOTDIR, EISDIR, ENOTEMPTY, ELOOP (FS_NOFOLLOW met
 *                 a symlink), EXDEV (rename across volumes) ...
 * and err->msg names the operation, the path and the cause ("write /state/a.json: No space left on
 * device"). A simulated filesystem sets sys_errno like POSIX does, so callers test errno values, never
 * messages.
 *
 * Threading contract: as core/ports.h. Watch callbacks run on the loop, one at a time, never from inside
 * a port call (an in-memory implementation defers them with a zero-delay loop timer). */
#ifndef T0_FS_H
#define T0_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/t0.h"

typedef enum fs_type { FS_NONE = 0, FS_REG, FS_DIR, FS_LNK, FS_OTHER } fs_type;

/* What stat learns. Times are nanoseconds since the Unix epoch (virtual in the simulator); ino and dev
 * identify a file and its volume (a file replaced by rename has a new ino; two paths on one volume share
 * dev, so that a caller can check that a rename will not cross volumes). */
typedef struct fs_stat {
    fs_type type;
    uint32_t perm;     /* permission bits (mode & 07777) */
    uint64_t size;     /* bytes of a regular file (a symlink: length of its target) */
    int64_t mtime_ns;  /* last content change */
    int64_t ctime_ns;  /* last content or metadata change */
    uint64_t ino, dev;
} fs_stat;

/* Open flags. FS_READ and/or FS_WRITE; FS_CREATE makes the file when missing, with exactly the permission
 * bits given (no umask); FS_TRUNC empties it; FS_EXCL with FS_CREATE fails with T0_EEXIST when it
 * exists; FS_NOFOLLOW fails (ELOOP) when the last component is a symlink. */
enum { FS_READ = 1, FS_WRITE = 2, FS_CREATE = 4, FS_TRUNC = 8, FS_EXCL = 16, FS_NOFOLLOW = 32 };

typedef struct fs_file fs_file; /* an open file; each implementation defines it */
typedef struct fs_watch fs_watch;

/* A directory listing: entry names (owned; no "." or ".."), in no particular order. */
typedef struct fs_list {
    char **names;
    size_t n;
} fs_list;
void fs_list_free(fs_list *l);

/* A change notification. NAME is the path of what changed, relative to the watched directory ("" for
 * the directory itself), borrowed for the call; NULL means events were lost (queue overflow): the
 * watcher must rescan. Changes: a file or directory created, written, truncated, removed, renamed in or
 * out, its attributes changed. An implementation may report one change several times or coalesce
 * several into one; it never drops one silently (it reports NULL instead). */
typedef void (*fs_watch_fn)(void *ud, const char *name);
enum { FS_WATCH_TREE = 1 /* the whole tree below DIR, directories created later included */ };

typedef struct fs_port {
    void *ctx;
    /* open: see the flags. *out is released by close (also when close fails). */
    t0_status (*open)(void *ctx, const char *path, int flags, uint32_t perm, fs_file **out, t0_err *err);
    /* read: up to CAP bytes at OFF into BUF; *got = 0 at the end of the file. A short count is allowed
     * anywhere (callers loop). */
    t0_status (*read)(void *ctx, fs_file *f, uint64_t off, void *buf, size_t cap, size_t *got, t0_err *err);
    /* write: all LEN bytes at OFF, or fail (ENOSPC when the volume fills up; bytes written before the
     * failure may remain). */
    t0_status (*write)(void *ctx, fs_file *f, uint64_t off, const void *buf, size_t len, t0_err *err);
    t0_status (*fstat)(void *ctx, fs_file *f, fs_stat *out, t0_err *err);
    /* sync: the file's data and size are durable (fsync). */
    t0_status (*sync)(void *ctx, fs_file *f, t0_err *err);
    t0_status (*close)(void *ctx, fs_file *f, t0_err *err);

    /* lstat: never follows a final symlink. */
    t0_status (*lstat)(void *ctx, const char *path, fs_stat *out, t0_err *err);
    /* mkdir: one directory with exactly PERM; T0_EEXIST when the name exists (whatever it is). */
    t0_status (*mkdir)(void *ctx, const char *path, uint32_t perm, t0_err *err);
    /* rename: atomic replace of TO (a file, or an empty directory when FROM is a directory). */
    t0_status (*rename)(void *ctx, const char *from, const char *to, t0_err *err);
    /* unlink: a file or symlink. rmdir: an empty directory. */
    t0_status (*unlink)(void *ctx, const char *path, t0_err *err);
    t0_status (*rmdir)(void *ctx, const char *path, t0_err *err);
    t0_status (*list)(void *ctx, const char *dir, fs_list *out, t0_err *err);
    t0_status (*symlink)(void *ctx, const char *target, const char *path, t0_err *err);
    /* readlink: the target into BUF (NUL-terminated); EINVAL-like T0_EIO when it does not fit. */
    t0_status (*readlink)(void *ctx, const char *path, char *buf, size_t cap, t0_err *err);
    /* sync_dir: the directory's entries (creations, renames, removals) are durable. */
    t0_status (*sync_dir)(void *ctx, const char *dir, t0_err *err);
    /* space: bytes an unprivileged writer can still write on the volume holding PATH, and its size. */
    t0_status (*space)(void *ctx, const char *path, uint64_t *avail, uint64_t *total, t0_err *err);

    /* watch: call FN(UD, name) on the loop for changes in directory DIR (flags: FS_WATCH_TREE), until
     * unwatch. May be NULL, or fail with T0_EUNAVAILABLE, where notification does not exist: callers then
     * rely on periodic scans. unwatch(NULL) is a no-op; no callback runs after it returns. */
    t0_status (*watch)(void *ctx, const char *dir, unsigned flags, fs_watch_fn fn, void *ud, fs_watch **out,
                       t0_err *err);
    void (*unwatch)(void *ctx, fs_watch *w);
} fs_port;

/* ---- helpers over any fs_port ------------------------------------------------------------------- */

/* fs_join: "A/B" into OUT (A "" gives B); T0_ELIMIT "path too long" when it does not fit. */
t0_status fs_join(char *out, size_t cap, const char *a, const char *b, t0_err *err);
/* fs_errno: the errno of a failed call (err->sys_errno for T0_EIO, ENOENT for T0_ENOTFOUND, EEXIST for
 * T0_EEXIST, else 0). */
int fs_errno(t0_status st, const t0_err *err);
/* fs_mkdirs: mkdir -p (each missing component with PERM); an existing non-directory is T0_EIO ENOTDIR. */
t0_status fs_mkdirs(const fs_port *fs, const char *path, uint32_t perm, t0_err *err);
/* fs_mkdirs_parent: fs_mkdirs of the directory PATH names a file in (nothing for a name without a directory). */
t0_status fs_mkdirs_parent(const fs_port *fs, const char *path, uint32_t perm, t0_err *err);
/* fs_rmtree: remove PATH and everything below it without following symlinks; a missing PATH is T0_OK. */
t0_status fs_rmtree(const fs_port *fs, const char *path, t0_err *err);
/* fs_write_all: write LEN bytes at offset 0 of PATH (created with PERM or truncated), in place. */
t0_status fs_write_all(const fs_port *fs, const char *path, const void *data, size_t len, uint32_t perm, t0_err *err);
/* fs_write_atomic: PATH.tmp, write, sync, close, rename over PATH, sync the directory: readers see the old
 * or the new content, never a mix. On failure PATH.tmp is removed and PATH is untouched. */
t0_status fs_write_atomic(const fs_port *fs, const char *path, const void *data, size_t len, uint32_t perm,
                          t0_err *err);
/* fs_read_all: the whole file (at most MAX bytes, else T0_ELIMIT) as a NUL-terminated string the caller
 * frees; *len may be NULL. */
t0_status fs_read_all(const fs_port *fs, const char *path, size_t max, char **out, size_t *len, t0_err *err);
/* fs_read_host: the same for a file of the host the process runs on (configuration, scenario and document
 * files given on a command line), read with stdio rather than through a port; a missing file is
 * T0_ENOTFOUND, other failures T0_EIO with err->sys_errno. */
t0_status fs_read_host(const char *path, size_t max, char **out, size_t *len, t0_err *err);

/* fs_stream: a stdio FILE over the port (fopencookie), for code that takes a FILE — the object store's
 * bodies and sinks. Reads, writes and seeks (SEEK_END included) go to the port. The first failure of the
 * port is kept in err (the FILE only sees errno), so that a caller can say what went wrong. */
typedef struct fs_stream {
    FILE *fp;
    t0_err err;   /* the first port failure under fp (code T0_OK while none) */
    /* private */
    const fs_port *fs;
    fs_file *f;
    uint64_t pos;
    char path[1024];
} fs_stream;
/* fs_stream_open: open PATH with FLAGS/PERM (see open) and wrap it; the caller owns *out. */
t0_status fs_stream_open(const fs_port *fs, const char *path, int flags, uint32_t perm, fs_stream **out, t0_err *err);
/* fs_stream_close: flush, close and free (NULL is a no-op). A write that failed while flushing is reported
 * with its port error. */
t0_status fs_stream_close(fs_stream *s, t0_err *err);

#endif
