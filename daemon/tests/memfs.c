/* memfs.c: the in-memory filesystem port of the daemon's unit tests (see memfs.h). */
#include "memfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mnode mnode;
struct mnode {
    char *name;
    fs_type type;
    uint32_t perm;
    char *data; /* file content or symlink target */
    size_t len, cap;
    mnode *parent;
    mnode **kids;
    size_t nkids;
    uint64_t ino;
    int64_t mtime_ns, ctime_ns;
    int refs;      /* the tree's link + open handles */
    bool linked;
    /* a volume root */
    bool is_volume, read_only;
    uint64_t capacity, used;
};

struct fs_file {
    mnode *n;
    int flags;
    char path[1024];
};

typedef struct mwatch {
    uint64_t id;
    mnode *dir;
    unsigned flags;
    fs_watch_fn fn;
    void *ud;
    bool dead;
} mwatch;
struct fs_watch {
    mwatch w;
};

typedef struct note {
    uint64_t watch;
    char *name;
} note;

struct memfs {
    const loop_port *loop;
    mnode *root;
    uint64_t next_ino, next_watch, writes;
    memfs_faults faults;
    fs_watch **watches;
    size_t nwatches;
    note *notes;
    size_t nnotes;
    uint64_t timer;
};

static int64_t now_ns(memfs *m) { return m->loop->now_ms(m->loop->ctx) * 1000000; }

static mnode *node_new(memfs *m, const char *name, fs_type t, uint32_t perm)
{
    mnode *n = calloc(1, sizeof *n);
    n->name = strdup(name);
    n->type = t;
    n->perm = perm & 07777;
    n->ino = ++m->next_ino;
    n->mtime_ns = n->ctime_ns = now_ns(m);
    n->refs = 1;
    n->linked = true;
    return n;
}

static void node_release(mnode *n)
{
    if (--n->refs > 0) return;
    for (size_t i = 0; i < n->nkids; i++) {
        n->kids[i]->linked = false;
        node_release(n->kids[i]);
    }
    free(n->kids);
    free(n->data);
    free(n->name);
    free(n);
}

static mnode *volume_of(mnode *n)
{
    while (n && !n->is_volume) n = n->parent;
    return n;
}

static mnode *child(mnode *d, const char *name, size_t len)
{
    for (size_t i = 0; i < d->nkids; i++)
        if (strlen(d->kids[i]->name) == len && !memcmp(d->kids[i]->name, name, len)) return d->kids[i];
    return NULL;
}

static void attach(mnode *d, mnode *n)
{
    d->kids = realloc(d->kids, (d->nkids + 1) * sizeof *d->kids);
    d->kids[d->nkids++] = n;
    n->parent = d;
    n->linked = true;
}

static void detach(mnode *n)
{
    mnode *d = n->parent;
    for (size_t i = 0; i < d->nkids; i++)
        if (d->kids[i] == n) {
            d->kids[i] = d->kids[--d->nkids];
            break;
        }
    n->parent = NULL;
    n->linked = false;
}

static uint64_t tree_bytes(mnode *n)
{
    if (n->type == FS_REG) return n->len;
    uint64_t s = 0;
    for (size_t i = 0; i < n->nkids; i++)
        if (!n->kids[i]->is_volume) s += tree_bytes(n->kids[i]);
    return s;
}

static t0_status fail(t0_err *err, int e, const char *op, const char *path)
{
    if (e == ENOENT) return t0_fail(err, T0_ENOTFOUND, "%s %s: %s", op, path, strerror(e));
    if (e == EEXIST) return t0_fail(err, T0_EEXIST, "%s %s: %s", op, path, strerror(e));
    t0_status st = t0_fail(err, T0_EIO, "%s %s: %s", op, path, strerror(e));
    if (err) err->sys_errno = e;
    return st;
}

/* Resolve PATH. FOLLOW: follow a final symlink. PARENT and LAST: the parent directory and last name (for
 * creating); returns the node or NULL with *eno set (ENOENT when only the last component is missing and
 * *parent is set). */
static mnode *resolve(memfs *m, const char *path, bool follow, mnode **parent, const char **last, size_t *lastlen,
                      int *eno, int depth)
{
    if (depth > 16) {
        *eno = ELOOP;
        return NULL;
    }
    if (path[0] != '/') {
        *eno = EINVAL;
        return NULL;
    }
    mnode *cur = m->root;
    const char *p = path;
    if (parent) *parent = NULL;
    for (;;) {
        while (*p == '/') p++;
        if (!*p) return cur;
        const char *s = p;
        while (*p && *p != '/') p++;
        size_t len = (size_t)(p - s);
        bool final = true;
        for (const char *q = p; *q; q++)
            if (*q != '/') final = false;
        if (cur->type != FS_DIR) {
            *eno = ENOTDIR;
            return NULL;
        }
        mnode *n;
        if (len == 1 && s[0] == '.') n = cur;
        else if (len == 2 && s[0] == '.' && s[1] == '.') n = cur->parent ? cur->parent : cur;
        else n = child(cur, s, len);
        if (!n) {
            *eno = ENOENT;
            if (final && parent) {
                *parent = cur;
                *last = s;
                *lastlen = len;
            }
            return NULL;
        }
        if (final && parent) {
            *parent = cur;
            *last = s;
            *lastlen = len;
        }
        if (n->type == FS_LNK && (!final || follow)) {
            char buf[2048];
            if (n->data[0] == '/') snprintf(buf, sizeof buf, "%s%s", n->data, p);
            else {
                /* the directory of the link, then its target, then the rest */
                char dir[1024] = "";
                for (mnode *a = cur; a && a->parent; a = a->parent) {
                    char t[1024];
                    snprintf(t, sizeof t, "/%s%s", a->name, dir);
                    snprintf(dir, sizeof dir, "%s", t);
                }
                snprintf(buf, sizeof buf, "%s/%s%s", dir, n->data, p);
            }
            return resolve(m, buf, follow, parent, last, lastlen, eno, depth + 1);
        }
        cur = n;
    }
}

static mnode *lookup(memfs *m, const char *path, bool follow, int *eno)
{
    return resolve(m, path, follow, NULL, NULL, NULL, eno, 0);
}

/* ---- notifications ------------------------------------------------------------------------------- */
static void deliver(void *ud)
{
    memfs *m = ud;
    m->timer = 0;
    while (m->nnotes) {
        note n = m->notes[0];
        memmove(m->notes, m->notes + 1, (--m->nnotes) * sizeof *m->notes);
        for (size_t i = 0; i < m->nwatches; i++)
            if (m->watches[i]->w.id == n.watch && !m->watches[i]->w.dead) {
                m->watches[i]->w.fn(m->watches[i]->w.ud, n.name);
                break;
            }
        free(n.name);
    }
}

static void changed(memfs *m, mnode *n)
{
    for (size_t i = 0; i < m->nwatches; i++) {
        mwatch *w = &m->watches[i]->w;
        if (w->dead) continue;
        char rel[2048] = "", t[2048];
        bool hit = false;
        int level = 0;
        for (mnode *a = n; a; a = a->parent, level++) {
            if (a == w->dir) {
                hit = level == 0 || level == 1 || (w->flags & FS_WATCH_TREE);
                break;
            }
            snprintf(t, sizeof t, "%s%s%s", a->name, *rel ? "/" : "", rel);
            snprintf(rel, sizeof rel, "%s", t);
        }
        if (!hit) continue;
        m->notes = realloc(m->notes, (m->nnotes + 1) * sizeof *m->notes);
        m->notes[m->nnotes++] = (note){w->id, strdup(rel)};
    }
    if (m->nnotes && !m->timer) m->timer = m->loop->timer(m->loop->ctx, 0, deliver, m);
}

static void touch(memfs *m, mnode *n, bool content)
{
    int64_t t = now_ns(m);
    if (content) n->mtime_ns = t;
    n->ctime_ns = t;
    changed(m, n);
}

/* ---- port ---------------------------------------------------------------------------------------- */
static bool ro(mnode *n)
{
    mnode *v = volume_of(n);
    return v && v->read_only;
}

static t0_status m_open(void *ctx, const char *path, int flags, uint32_t perm, fs_file **out, t0_err *err)
{
    memfs *m = ctx;
    mnode *parent;
    const char *last;
    size_t ll;
    int eno = 0;
    mnode *n = resolve(m, path, !(flags & FS_NOFOLLOW), &parent, &last, &ll, &eno, 0);
    if (n && (flags & FS_NOFOLLOW) && n->type == FS_LNK) return fail(err, ELOOP, "open", path);
    if (n && (flags & FS_CREATE) && (flags & FS_EXCL)) return fail(err, EEXIST, "open", path);
    if (!n) {
        if (eno != ENOENT || !(flags & FS_CREATE) || !parent) return fail(err, eno, "open", path);
        if (ro(parent)) return fail(err, EROFS, "open", path);
        char name[1024];
        snprintf(name, sizeof name, "%.*s", (int)ll, last);
        n = node_new(m, name, FS_REG, perm);
        attach(parent, n);
        touch(m, parent, true);
    } else if (n->type == FS_DIR && (flags & FS_WRITE)) {
        return fail(err, EISDIR, "open", path);
    } else if ((flags & FS_WRITE) && ro(n)) {
        return fail(err, EROFS, "open", path);
    }
    if ((flags & FS_TRUNC) && n->type == FS_REG && n->len) {
        volume_of(n)->used -= n->len;
        n->len = 0;
        touch(m, n, true);
    }
    fs_file *f = calloc(1, sizeof *f);
    f->n = n;
    f->flags = flags;
    snprintf(f->path, sizeof f->path, "%s", path);
    n->refs++;
    *out = f;
    return T0_OK;
}

static t0_status m_read(void *ctx, fs_file *f, uint64_t off, void *buf, size_t cap, size_t *got, t0_err *err)
{
    memfs *m = ctx;
    *got = 0;
    if (f->n->type != FS_REG) return fail(err, EISDIR, "read", f->path);
    if (m->faults.before_read) m->faults.before_read(m->faults.before_read_ud, f->path);
    if (m->faults.fail_reads > 0) {
        m->faults.fail_reads--;
        return fail(err, EIO, "read", f->path);
    }
    if (off >= f->n->len) return T0_OK;
    size_t n = f->n->len - off < cap ? f->n->len - (size_t)off : cap;
    if (m->faults.short_reads > 0 && n > 1) {
        m->faults.short_reads--;
        n = 1;
    }
    memcpy(buf, f->n->data + off, n);
    *got = n;
    return T0_OK;
}

static t0_status m_write(void *ctx, fs_file *f, uint64_t off, const void *buf, size_t len, t0_err *err)
{
    memfs *m = ctx;
    mnode *n = f->n;
    if (!(f->flags & FS_WRITE)) return fail(err, EBADF, "write", f->path);
    if (ro(n)) return fail(err, EROFS, "write", f->path);
    mnode *v = volume_of(n);
    size_t want = len;
    int eno = 0;
    if (m->faults.fail_writes > 0) {
        m->faults.fail_writes--;
        want = len / 2;
        eno = m->faults.fail_errno ? m->faults.fail_errno : EIO;
    }
    uint64_t end = off + want, grow = end > n->len ? end - n->len : 0;
    if (v->capacity && v->used + grow > v->capacity) { /* fill what fits, then ENOSPC */
        uint64_t room = v->capacity - v->used;
        want = (size_t)(n->len + room > off ? n->len + room - off : 0);
        if (want > len) want = len;
        eno = ENOSPC;
        end = off + want;
        grow = end > n->len ? end - n->len : 0;
    }
    if (end > n->cap) {
        size_t nc = n->cap ? n->cap : 64;
        while (nc < end) nc *= 2;
        n->data = realloc(n->data, nc);
        n->cap = nc;
    }
    if (off > n->len) memset(n->data + n->len, 0, (size_t)off - n->len);
    memcpy(n->data + off, buf, want);
    if (end > n->len) n->len = (size_t)end;
    v->used += grow;
    if (want || !len) touch(m, n, true);
    if (eno) return fail(err, eno, "write", f->path);
    m->writes++;
    return T0_OK;
}

static void to_stat(const mnode *n, fs_stat *o)
{
    o->type = n->type;
    o->perm = n->perm;
    o->size = n->type == FS_LNK ? strlen(n->data) : n->len;
    o->mtime_ns = n->mtime_ns;
    o->ctime_ns = n->ctime_ns;
    o->ino = n->ino;
    mnode *v = volume_of((mnode *)n);
    o->dev = v ? v->ino : 0;
}

static t0_status m_fstat(void *ctx, fs_file *f, fs_stat *out, t0_err *err)
{
    (void)ctx, (void)err;
    to_stat(f->n, out);
    return T0_OK;
}

static t0_status m_sync(void *ctx, fs_file *f, t0_err *err)
{
    (void)ctx, (void)f, (void)err;
    return T0_OK;
}

static t0_status m_close(void *ctx, fs_file *f, t0_err *err)
{
    memfs *m = ctx;
    (void)err;
    if (!f) return T0_OK;
    if ((f->flags & FS_WRITE) && f->n->linked) changed(m, f->n); /* IN_CLOSE_WRITE */
    node_release(f->n);
    free(f);
    return T0_OK;
}

static t0_status m_lstat(void *ctx, const char *path, fs_stat *out, t0_err *err)
{
    int eno = 0;
    mnode *n = lookup(ctx, path, false, &eno);
    if (!n) return fail(err, eno, "stat", path);
    to_stat(n, out);
    return T0_OK;
}

/* A new entry at PATH (which must not exist, in a writable directory): mkdir and symlink. */
static t0_status create_at(memfs *m, const char *path, fs_type t, uint32_t perm, const char *op, mnode **out, t0_err *err)
{
    mnode *parent;
    const char *last;
    size_t ll;
    int eno = 0;
    if (resolve(m, path, false, &parent, &last, &ll, &eno, 0)) return fail(err, EEXIST, op, path);
    if (eno != ENOENT || !parent) return fail(err, eno, op, path);
    if (ro(parent)) return fail(err, EROFS, op, path);
    char name[1024];
    snprintf(name, sizeof name, "%.*s", (int)ll, last);
    *out = node_new(m, name, t, perm);
    attach(parent, *out);
    touch(m, parent, true);
    return T0_OK;
}

static t0_status m_mkdir(void *ctx, const char *path, uint32_t perm, t0_err *err)
{
    memfs *m = ctx;
    mnode *n;
    t0_status st = create_at(m, path, FS_DIR, perm, "mkdir", &n, err);
    if (st == T0_OK) changed(m, n);
    return st;
}

static bool is_ancestor(const mnode *a, const mnode *n)
{
    for (; n; n = n->parent)
        if (n == a) return true;
    return false;
}

static t0_status m_rename(void *ctx, const char *from, const char *to, t0_err *err)
{
    memfs *m = ctx;
    if (m->faults.fail_renames > 0) {
        m->faults.fail_renames--;
        return fail(err, EIO, "rename", from);
    }
    int eno = 0;
    mnode *src = lookup(m, from, false, &eno);
    if (!src) return fail(err, eno, "rename", from);
    mnode *tp;
    const char *last;
    size_t ll;
    mnode *dst = resolve(m, to, false, &tp, &last, &ll, &eno, 0);
    if (!dst && (eno != ENOENT || !tp)) return fail(err, eno, "rename", to);
    if (ro(src) || ro(tp)) return fail(err, EROFS, "rename", from);
    if (volume_of(src->parent) != volume_of(tp)) return fail(err, EXDEV, "rename", from);
    if (src->is_volume || is_ancestor(src, tp)) return fail(err, EINVAL, "rename", from);
    if (dst == src) return T0_OK;
    if (dst) {
        if (dst->type == FS_DIR && (src->type != FS_DIR || dst->nkids)) return fail(err, dst->nkids ? ENOTEMPTY : EISDIR, "rename", to);
        if (dst->type != FS_DIR && src->type == FS_DIR) return fail(err, ENOTDIR, "rename", to);
        volume_of(dst)->used -= tree_bytes(dst);
        detach(dst);
        node_release(dst);
    }
    mnode *oldp = src->parent;
    detach(src);
    free(src->name);
    src->name = strndup(last, ll);
    attach(tp, src);
    touch(m, oldp, true);
    touch(m, tp, true);
    changed(m, src);
    return T0_OK;
}

static t0_status m_unlink(void *ctx, const char *path, t0_err *err)
{
    memfs *m = ctx;
    int eno = 0;
    mnode *n = lookup(m, path, false, &eno);
    if (!n) return fail(err, eno, "unlink", path);
    if (n->type == FS_DIR) return fail(err, EISDIR, "unlink", path);
    if (ro(n)) return fail(err, EROFS, "unlink", path);
    mnode *p = n->parent;
    changed(m, n);
    volume_of(n)->used -= n->type == FS_REG ? n->len : 0;
    detach(n);
    node_release(n);
    touch(m, p, true);
    return T0_OK;
}

static t0_status m_rmdir(void *ctx, const char *path, t0_err *err)
{
    memfs *m = ctx;
    int eno = 0;
    mnode *n = lookup(m, path, false, &eno);
    if (!n) return fail(err, eno, "rmdir", path);
    if (n->type != FS_DIR) return fail(err, ENOTDIR, "rmdir", path);
    if (n->nkids) return fail(err, ENOTEMPTY, "rmdir", path);
    if (!n->parent || n->is_volume) return fail(err, EBUSY, "rmdir", path);
    if (ro(n)) return fail(err, EROFS, "rmdir", path);
    mnode *p = n->parent;
    changed(m, n);
    detach(n);
    node_release(n);
    touch(m, p, true);
    return T0_OK;
}

static t0_status m_list(void *ctx, const char *dir, fs_list *out, t0_err *err)
{
    int eno = 0;
    memset(out, 0, sizeof *out);
    mnode *n = lookup(ctx, dir, true, &eno);
    if (!n) return fail(err, eno, "list", dir);
    if (n->type != FS_DIR) return fail(err, ENOTDIR, "list", dir);
    out->names = calloc(n->nkids + 1, sizeof *out->names);
    for (size_t i = n->nkids; i-- > 0;) out->names[out->n++] = strdup(n->kids[i]->name); /* not sorted */
    return T0_OK;
}

static t0_status m_symlink(void *ctx, const char *target, const char *path, t0_err *err)
{
    memfs *m = ctx;
    mnode *n;
    t0_status st = create_at(m, path, FS_LNK, 0777, "symlink", &n, err);
    if (st != T0_OK) return st;
    n->data = strdup(target);
    changed(m, n);
    return T0_OK;
}

static t0_status m_readlink(void *ctx, const char *path, char *buf, size_t cap, t0_err *err)
{
    int eno = 0;
    mnode *n = lookup(ctx, path, false, &eno);
    if (!n) return fail(err, eno, "readlink", path);
    if (n->type != FS_LNK) return fail(err, EINVAL, "readlink", path);
    if (strlen(n->data) >= cap) return fail(err, ENAMETOOLONG, "readlink", path);
    strcpy(buf, n->data);
    return T0_OK;
}

static t0_status m_sync_dir(void *ctx, const char *dir, t0_err *err)
{
    int eno = 0;
    return lookup(ctx, dir, true, &eno) ? T0_OK : fail(err, eno, "fsync", dir);
}

static t0_status m_space(void *ctx, const char *path, uint64_t *avail, uint64_t *total, t0_err *err)
{
    int eno = 0;
    mnode *n = lookup(ctx, path, true, &eno);
    if (!n) return fail(err, eno, "statvfs", path);
    mnode *v = volume_of(n);
    uint64_t cap = v->capacity ? v->capacity : UINT64_C(1) << 40;
    if (avail) *avail = cap - v->used;
    if (total) *total = cap;
    return T0_OK;
}

static t0_status m_watch(void *ctx, const char *dir, unsigned flags, fs_watch_fn fn, void *ud, fs_watch **out,
                         t0_err *err)
{
    memfs *m = ctx;
    int eno = 0;
    mnode *n = lookup(m, dir, true, &eno);
    if (!n) return fail(err, eno, "watch", dir);
    if (n->type != FS_DIR) return fail(err, ENOTDIR, "watch", dir);
    fs_watch *w = calloc(1, sizeof *w);
    w->w = (mwatch){++m->next_watch, n, flags, fn, ud, false};
    n->refs++;
    m->watches = realloc(m->watches, (m->nwatches + 1) * sizeof *m->watches);
    m->watches[m->nwatches++] = w;
    *out = w;
    return T0_OK;
}

static void m_unwatch(void *ctx, fs_watch *w)
{
    memfs *m = ctx;
    if (!w) return;
    for (size_t i = 0; i < m->nwatches; i++)
        if (m->watches[i] == w) {
            m->watches[i] = m->watches[--m->nwatches];
            break;
        }
    node_release(w->w.dir);
    free(w);
}

fs_port memfs_port(memfs *m)
{
    return (fs_port){.ctx = m,
                     .open = m_open,
                     .read = m_read,
                     .write = m_write,
                     .fstat = m_fstat,
                     .sync = m_sync,
                     .close = m_close,
                     .lstat = m_lstat,
                     .mkdir = m_mkdir,
                     .rename = m_rename,
                     .unlink = m_unlink,
                     .rmdir = m_rmdir,
                     .list = m_list,
                     .symlink = m_symlink,
                     .readlink = m_readlink,
                     .sync_dir = m_sync_dir,
                     .space = m_space,
                     .watch = m_watch,
                     .unwatch = m_unwatch};
}

/* ---- life and helpers ----------------------------------------------------------------------------- */
memfs *memfs_new(const loop_port *loop)
{
    memfs *m = calloc(1, sizeof *m);
    m->loop = loop;
    m->root = node_new(m, "", FS_DIR, 0755);
    m->root->is_volume = true;
    return m;
}

void memfs_free(memfs *m)
{
    if (!m) return;
    if (m->timer) m->loop->cancel(m->loop->ctx, m->timer);
    while (m->nwatches) m_unwatch(m, m->watches[0]);
    free(m->watches);
    for (size_t i = 0; i < m->nnotes; i++) free(m->notes[i].name);
    free(m->notes);
    node_release(m->root);
    free(m);
}

memfs_faults *memfs_faults_of(memfs *m) { return &m->faults; }
uint64_t memfs_writes(memfs *m) { return m->writes; }

static void mkdirs(memfs *m, const char *path)
{
    fs_port p = memfs_port(m);
    mnode *save = m->root;
    bool was = save->read_only;
    save->read_only = false; /* the test sets the tree up */
    fs_mkdirs(&p, path, 0755, NULL);
    save->read_only = was;
}

void memfs_volume(memfs *m, const char *path, uint64_t capacity, bool read_only)
{
    int eno = 0;
    if (strcmp(path, "/")) mkdirs(m, path);
    mnode *n = lookup(m, path, true, &eno);
    if (!n) abort();
    if (!n->is_volume && n != m->root) {
        mnode *old = volume_of(n->parent);
        uint64_t b = tree_bytes(n);
        old->used -= b;
        n->used = b;
    }
    n->is_volume = true;
    n->capacity = capacity;
    n->read_only = read_only;
}

uint64_t memfs_used(memfs *m, const char *path)
{
    int eno = 0;
    mnode *n = lookup(m, path, true, &eno);
    return n ? volume_of(n)->used : 0;
}

bool memfs_put(memfs *m, const char *path, const char *data)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        fs_port p = memfs_port(m);
        fs_mkdirs(&p, dir, 0755, NULL);
    }
    fs_port p = memfs_port(m);
    return fs_write_all(&p, path, data, strlen(data), 0644, NULL) == T0_OK;
}

char *memfs_get(memfs *m, const char *path, size_t *len)
{
    int eno = 0;
    mnode *n = lookup(m, path, true, &eno);
    if (!n || n->type != FS_REG) return NULL;
    char *b = malloc(n->len + 1);
    memcpy(b, n->data ? n->data : "", n->len);
    b[n->len] = '\0';
    if (len) *len = n->len;
    return b;
}

bool memfs_exists(memfs *m, const char *path)
{
    int eno = 0;
    return lookup(m, path, false, &eno) != NULL;
}

static int count(mnode *n)
{
    if (n->type == FS_REG) return 1;
    int c = 0;
    for (size_t i = 0; i < n->nkids; i++) c += count(n->kids[i]);
    return c;
}

int memfs_count_files(memfs *m, const char *dir)
{
    int eno = 0;
    mnode *n = lookup(m, dir, false, &eno);
    return n ? count(n) : 0;
}

