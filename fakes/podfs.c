/* podfs.c: the container filesystem model (see podfs.h): volumes shared by a pod's containers, one view per
 * container with its root filesystem, mounts, termination file, permissions, capacities and watches. */
#include "fakes/podfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/faults.h"

#define DEFAULT_CAPACITY (UINT64_C(1) << 30)
#define TERM_CAPACITY (64u * 1024u)
#define MAX_DEPTH 128 /* directories on one resolution path */
#define MAX_LINKS 40  /* symlinks followed in one resolution (Linux's limit) */
#define PATH_CAP 4096

typedef struct pvol pvol;
typedef struct pnode pnode;

struct pnode {
    char *name;
    size_t namelen;
    fs_type type;
    uint32_t perm, uid, gid;
    char *data; /* file content or link target (NUL-terminated for links) */
    size_t len, cap;
    pnode *parent; /* within its volume; NULL for a volume's root */
    pnode **kids;
    size_t nkids, capkids;
    pnode *mnt; /* a mount point of a root filesystem: the mounted volume's root (or file) */
    bool mnt_ro;
    uint64_t ino;
    int64_t mtime_ns, ctime_ns;
    int refs; /* the tree's link + open files + watches */
    pvol *vol;
};

struct pvol {
    podfs *p;
    char *name;
    uint64_t id, capacity, used;
    bool read_only, full; /* full: a fault filled it for good */
    pnode *root;
    pvol *next;
};

struct fs_file {
    pnode *n;
    int flags;
    bool ro;
    podfs_view *v;
    fs_file *prev, *next; /* the view's open files */
    char path[];
};

struct fs_watch {
    uint64_t id;
    podfs_view *v;
    pnode *dir;
    unsigned flags;
    fs_watch_fn fn;
    void *ud;
    fs_watch *next;  /* the pod's watches */
};

typedef struct note {
    uint64_t watch;
    char *name;
} note;

/* A resolution a view remembers (resolve): what PATH named while the pod's tree was at generation GEN. */
#define RC_N 4     /* per view: the daemon and the bot ask about the same few paths again and again */
#define RC_PATH 96 /* longer paths are not remembered */
typedef struct rc_ent {
    uint64_t gen; /* podfs.gen when resolved; 0: empty */
    pnode *node, *parent;
    int eno;
    uint16_t plen, lastoff, lastlen; /* the last component is PATH[lastoff, lastoff + lastlen) */
    bool follow, node_ro, parent_ro;
    char path[RC_PATH];
} rc_ent;

struct podfs_view {
    podfs *p;
    pvol *rootfs, *term;
    uint32_t uid, gid, fs_group;
    bool caps_dropped;
    fs_file *files;
    podfs_view *prev, *next;
    rc_ent rc[RC_N];
    unsigned rc_next; /* the entry the next miss replaces */
};

struct podfs {
    const loop_port *loop;
    struct sim_faults *faults;
    pvol *vols; /* the pod's volumes */
    podfs_view *views;
    fs_watch *watches;
    uint64_t next_ino, next_vol, next_watch;
    uint64_t gen; /* bumped by every change a resolution depends on: entries, mounts, permissions, read-only */
    note *notes;
    size_t nnotes, capnotes;
    uint64_t timer;
    podfs_stats stats;
    podfs_script script;
    bool in_hook;
    void (*on_full)(void *ud, const char *volume);
    void *on_full_ud;
};

/* ---- nodes ------------------------------------------------------------------------------------------- */
static int64_t now_ns(const podfs *p) { return p->loop->now_ms(p->loop->ctx) * INT64_C(1000000); }

static pnode *node_new(podfs *p, pvol *vol, const char *name, size_t len, fs_type t, uint32_t perm, uint32_t uid,
                       uint32_t gid)
{
    pnode *n = calloc(1, sizeof *n);
    if (!n || !(n->name = malloc(len + 1))) {
        free(n);
        return NULL;
    }
    memcpy(n->name, name, len);
    n->name[len] = '\0';
    n->namelen = len;
    n->type = t;
    n->perm = perm & 07777;
    n->uid = uid;
    n->gid = gid;
    n->ino = ++p->next_ino;
    n->mtime_ns = n->ctime_ns = now_ns(p);
    n->refs = 1;
    n->vol = vol;
    return n;
}

static void node_release(pnode *n)
{
    if (!n || --n->refs > 0) return;
    for (size_t i = 0; i < n->nkids; i++) {
        n->kids[i]->parent = NULL;
        node_release(n->kids[i]);
    }
    if (n->type == FS_REG && n->vol) n->vol->used -= n->len;
    if (n->mnt) node_release(n->mnt);
    free(n->kids);
    free(n->data);
    free(n->name);
    free(n);
}

static pnode *child(const pnode *d, const char *name, size_t len)
{
    for (size_t i = 0; i < d->nkids; i++)
        if (d->kids[i]->namelen == len && !memcmp(d->kids[i]->name, name, len)) return d->kids[i];
    return NULL;
}

/* tree_changed: resolutions remembered before N's tree changed are forgotten (rc_ent.gen) */
static void tree_changed(const pnode *n)
{
    if (n && n->vol) n->vol->p->gen++;
}

static bool attach(pnode *d, pnode *n)
{
    tree_changed(d);
    if (d->nkids == d->capkids) {
        size_t nc = d->capkids ? 2 * d->capkids : 4;
        pnode **nk = realloc(d->kids, nc * sizeof *nk);
        if (!nk) return false;
        d->kids = nk;
        d->capkids = nc;
    }
    d->kids[d->nkids++] = n;
    n->parent = d;
    return true;
}

/* detach: take N out of its directory, keeping the order of the others (listings stay stable). */
static void detach(pnode *n)
{
    pnode *d = n->parent;
    tree_changed(n);
    for (size_t i = 0; d && i < d->nkids; i++)
        if (d->kids[i] == n) {
            memmove(d->kids + i, d->kids + i + 1, (d->nkids - i - 1) * sizeof *d->kids);
            d->nkids--;
            break;
        }
    n->parent = NULL;
}

static pvol *vol_new(podfs *p, const char *name, uint64_t capacity, bool read_only, fs_type root_type, uint32_t perm)
{
    pvol *v = calloc(1, sizeof *v);
    if (!v || !(v->name = strdup(name))) {
        free(v);
        return NULL;
    }
    v->p = p;
    v->id = ++p->next_vol;
    v->capacity = capacity ? capacity : DEFAULT_CAPACITY;
    v->read_only = read_only;
    if (!(v->root = node_new(p, v, "", 0, root_type, perm, 0, 0))) {
        free(v->name);
        free(v);
        return NULL;
    }
    return v;
}

static void vol_free(pvol *v)
{
    if (!v) return;
    node_release(v->root);
    free(v->name);
    free(v);
}

/* ---- errors ------------------------------------------------------------------------------------------ */
static t0_status fail(t0_err *err, int e, const char *op, const char *path)
{
    if (e == ENOENT) return t0_fail(err, T0_ENOTFOUND, "%s %s: %s", op, path, strerror(e));
    if (e == EEXIST) return t0_fail(err, T0_EEXIST, "%s %s: %s", op, path, strerror(e));
    t0_status st = t0_fail(err, T0_EIO, "%s %s: %s", op, path, strerror(e));
    if (err) err->sys_errno = e;
    return st;
}

/* ---- permissions ------------------------------------------------------------------------------------- */
enum { P_X = 1, P_W = 2, P_R = 4 };

static bool allowed(const podfs_view *v, const pnode *n, unsigned want)
{
    if (v->uid == 0 && !v->caps_dropped) return true; /* CAP_DAC_OVERRIDE */
    unsigned bits;
    if (n->uid == v->uid) bits = (n->perm >> 6) & 7;
    else if (n->gid == v->gid || (v->fs_group && n->gid == v->fs_group)) bits = (n->perm >> 3) & 7;
    else bits = n->perm & 7;
    return (bits & want) == want;
}

/* The sticky bit of directory D keeps others from removing or renaming N. */
static bool sticky_blocks(const podfs_view *v, const pnode *d, const pnode *n)
{
    if (!(d->perm & 01000) || (v->uid == 0 && !v->caps_dropped)) return false;
    return n->uid != v->uid && d->uid != v->uid;
}

/* ---- resolution -------------------------------------------------------------------------------------- */
typedef struct res {
    pnode *node;    /* what PATH names (NULL when it does not exist) */
    pnode *parent;  /* the directory holding the last component (NULL for "/") */
    bool node_ro, parent_ro;
    char last[512]; /* the last component */
    size_t lastlen;
    int eno;
    size_t lastoff; /* where the last component starts in PATH (when no symlink was followed) */
    int links;      /* symlinks followed */
} res;

/* walk: resolve's walk of PATH in V's tree */
static int walk(podfs_view *v, const char *path, bool follow, res *r)
{
    memset(r, 0, sizeof *r);
    pnode *stack[MAX_DEPTH];
    bool ro[MAX_DEPTH];
    int top = 0, links = 0;
    stack[0] = v->rootfs->root;
    ro[0] = v->rootfs->read_only;
    char buf[2][PATH_CAP];
    int cur = 0;
    if (strlen(path) >= PATH_CAP) return r->eno = ENAMETOOLONG;
    const char *p = path, *p0 = path; /* p0: the text P walks (PATH, or a link's target and the rest) */
    for (;;) {
        while (*p == '/') p++;
        if (!*p) { /* "/" or a path ending in "/" after a directory */
            r->node = stack[top];
            r->node_ro = ro[top];
            r->parent = top > 0 ? stack[top - 1] : NULL;
            r->parent_ro = top > 0 ? ro[top - 1] : ro[0];
            return 0;
        }
        const char *s = p;
        while (*p && *p != '/') p++;
        size_t len = (size_t)(p - s);
        const char *rest = p;
        bool final = true;
        for (const char *q = rest; *q; q++)
            if (*q != '/') {
                final = false;
                break;
            }
        pnode *d = stack[top];
        if (d->type != FS_DIR) return r->eno = ENOTDIR;
        if (!allowed(v, d, P_X)) return r->eno = EACCES;
        if (len >= sizeof r->last) return r->eno = ENAMETOOLONG;
        if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.')) {
            if (len == 2 && top > 0) top--;
            if (final) {
                r->node = stack[top];
                r->node_ro = ro[top];
                r->parent = top > 0 ? stack[top - 1] : NULL;
                r->parent_ro = top > 0 ? ro[top - 1] : ro[0];
                memcpy(r->last, s, len);
                r->lastlen = len;
                r->lastoff = (size_t)(s - p0);
                return 0;
            }
            continue;
        }
        pnode *c = child(d, s, len);
        if (final) {
            r->parent = d;
            r->parent_ro = ro[top];
            memcpy(r->last, s, len);
            r->last[len] = '\0';
            r->lastlen = len;
            r->lastoff = (size_t)(s - p0);
        }
        if (!c) {
            if (!final) r->parent = NULL;
            return r->eno = ENOENT;
        }
        if (c->type == FS_LNK && (!final || follow)) {
            r->links = links + 1;
            if (++links > MAX_LINKS) return r->eno = ELOOP;
            int nx = 1 - cur;
            int n = snprintf(buf[nx], PATH_CAP, "%s%s", c->data ? c->data : "", rest);
            if (n < 0 || n >= PATH_CAP) return r->eno = ENAMETOOLONG;
            if (buf[nx][0] == '/') top = 0;
            cur = nx;
            p = p0 = buf[cur];
            if (final) {
                r->parent = NULL;
                r->lastlen = 0;
            }
            continue;
        }
        pnode *t = c->mnt ? c->mnt : c;
        bool tro = c->mnt ? (c->mnt_ro || t->vol->read_only) : ro[top];
        if (final) {
            r->node = t;
            r->node_ro = tro;
            return 0;
        }
        if (top + 1 >= MAX_DEPTH) return r->eno = ENAMETOOLONG;
        stack[++top] = t;
        ro[top] = tro;
    }
}

/* resolve: walk PATH in V's tree, across mount points, following symlinks (a final one only when FOLLOW).
 * Returns 0 and fills *R (node NULL with eno ENOENT when only the last component is missing: parent and
 * last are set then), or the errno. A view remembers its last few resolutions that followed no symlink,
 * for as long as the pod's tree does not change (podfs.gen): a walk touches a node per step and every
 * entry of each directory on the way, cold in a simulator running thousands of pods (a sync daemon
 * asks about its log file and state directory at every scan). */
static int resolve(podfs_view *v, const char *path, bool follow, res *r)
{
    size_t plen = strlen(path);
    uint64_t gen = v->p->gen + 1; /* + 1: an entry's 0 means empty */
    if (plen < RC_PATH) {
        for (unsigned i = 0; i < RC_N; i++) {
            const rc_ent *e = &v->rc[i];
            if (e->gen != gen || e->plen != plen || e->follow != follow || memcmp(e->path, path, plen)) continue;
            memset(r, 0, sizeof *r);
            r->node = e->node;
            r->parent = e->parent;
            r->node_ro = e->node_ro;
            r->parent_ro = e->parent_ro;
            r->eno = e->eno;
            r->lastoff = e->lastoff;
            r->lastlen = e->lastlen;
            memcpy(r->last, path + e->lastoff, e->lastlen);
            return r->eno;
        }
    }
    int eno = walk(v, path, follow, r);
    if (plen < RC_PATH && !r->links) {
        rc_ent *e = &v->rc[v->rc_next++ % RC_N];
        *e = (rc_ent){.gen = gen, .node = r->node, .parent = r->parent, .eno = r->eno, .plen = (uint16_t)plen,
                      .lastoff = (uint16_t)r->lastoff, .lastlen = (uint16_t)r->lastlen, .follow = follow,
                      .node_ro = r->node_ro, .parent_ro = r->parent_ro};
        memcpy(e->path, path, plen);
    }
    return eno;
}

/* ---- notifications ---------------------------------------------------------------------------------- */
static void deliver(void *ud);

static void queue_note(podfs *p, uint64_t watch, const char *name)
{
    if (p->nnotes && p->notes[p->nnotes - 1].watch == watch && !strcmp(p->notes[p->nnotes - 1].name, name))
        return; /* the same change again: reported once */
    if (p->nnotes == p->capnotes) {
        size_t nc = p->capnotes ? 2 * p->capnotes : 8;
        note *nn = realloc(p->notes, nc * sizeof *nn);
        if (!nn) return;
        p->notes = nn;
        p->capnotes = nc;
    }
    char *copy = strdup(name);
    if (!copy) return;
    p->notes[p->nnotes++] = (note){watch, copy};
    if (!p->timer) p->timer = p->loop->timer(p->loop->ctx, 0, deliver, p);
}

/* changed: N changed; every watch whose directory is N, N's parent, or (tree watches) an ancestor of N
 * within N's volume hears about it. */
static void changed(podfs *p, pnode *n)
{
    for (fs_watch *w = p->watches; w; w = w->next) {
        if (w->dir->vol != n->vol) continue;
        int level = 0;
        pnode *a = n;
        while (a && a != w->dir) a = a->parent, level++;
        if (!a || (level > 1 && !(w->flags & FS_WATCH_TREE))) continue;
        char rel[PATH_CAP];
        size_t at = sizeof rel;
        rel[--at] = '\0';
        bool fits = true;
        for (pnode *b = n; b != w->dir && fits; b = b->parent) {
            if (b->namelen + 1 > at) {
                fits = false;
                break;
            }
            at -= b->namelen;
            memcpy(rel + at, b->name, b->namelen);
            if (b->parent != w->dir) rel[--at] = '/';
        }
        queue_note(p, w->id, fits ? rel + at : "");
    }
}

/* touch_dir: directory D's entries changed: its times move, and (as inotify does it) the watches hear about
 * the entries themselves, not about D. */
static void touch_dir(podfs *p, pnode *d)
{
    d->mtime_ns = d->ctime_ns = now_ns(p);
}

static void touch(podfs *p, pnode *n, bool content)
{
    int64_t t = now_ns(p);
    if (content) n->mtime_ns = t;
    n->ctime_ns = t;
    if (p->watches) changed(p, n);
}

static void deliver(void *ud)
{
    podfs *p = ud;
    p->timer = 0;
    /* the notes queued so far; callbacks may queue more, which a new timer delivers */
    size_t n = p->nnotes;
    note *batch = p->notes;
    p->notes = NULL;
    p->nnotes = p->capnotes = 0;
    for (size_t i = 0; i < n; i++) {
        for (fs_watch *w = p->watches; w; w = w->next)
            if (w->id == batch[i].watch) {
                p->stats.notes++;
                w->fn(w->ud, batch[i].name);
                break;
            }
        free(batch[i].name);
    }
    free(batch);
}

/* ---- the port ---------------------------------------------------------------------------------------- */
static podfs *pod_of(void *ctx) { return ((podfs_view *)ctx)->p; }

/* add_entry: a new entry named R->last in R->parent (checked: exists not, writable, permitted). */
static t0_status add_entry(podfs_view *v, res *r, fs_type t, uint32_t perm, const char *op, const char *path,
                           pnode **out, t0_err *err)
{
    if (r->node) return fail(err, EEXIST, op, path);
    if (r->eno != ENOENT || !r->parent) return fail(err, r->eno ? r->eno : EINVAL, op, path);
    if (r->parent->type != FS_DIR) return fail(err, ENOTDIR, op, path);
    if (r->parent_ro) return fail(err, EROFS, op, path);
    if (!allowed(v, r->parent, P_W | P_X)) return fail(err, EACCES, op, path);
    pnode *n = node_new(v->p, r->parent->vol, r->last, r->lastlen, t, perm, v->uid, v->gid);
    if (!n || !attach(r->parent, n)) {
        free(n ? n->name : NULL);
        free(n);
        return t0_fail(err, T0_ENOMEM, "%s %s: out of memory", op, path);
    }
    touch_dir(v->p, r->parent);
    *out = n;
    return T0_OK;
}

static t0_status v_open(void *ctx, const char *path, int flags, uint32_t perm, fs_file **out, t0_err *err)
{
    podfs_view *v = ctx;
    res r;
    resolve(v, path, !(flags & FS_NOFOLLOW), &r);
    pnode *n = r.node;
    bool ro = r.node_ro;
    if (n && (flags & FS_NOFOLLOW) && n->type == FS_LNK) return fail(err, ELOOP, "open", path);
    if (n && (flags & FS_CREATE) && (flags & FS_EXCL)) return fail(err, EEXIST, "open", path);
    if (!n) {
        if (r.eno != ENOENT || !(flags & FS_CREATE)) return fail(err, r.eno, "open", path);
        t0_status st = add_entry(v, &r, FS_REG, perm, "open", path, &n, err);
        if (st != T0_OK) return st;
        ro = r.parent_ro;
        touch(v->p, n, true);
    } else {
        if (n->type == FS_DIR && (flags & FS_WRITE)) return fail(err, EISDIR, "open", path);
        if ((flags & FS_WRITE) && ro) return fail(err, EROFS, "open", path);
        unsigned want = ((flags & FS_READ) ? P_R : 0) | ((flags & FS_WRITE) ? P_W : 0);
        if (want && !allowed(v, n, want)) return fail(err, EACCES, "open", path);
        if ((flags & FS_TRUNC) && n->type == FS_REG && n->len) {
            n->vol->used -= n->len;
            n->len = 0;
            touch(v->p, n, true);
        }
    }
    size_t pl = strlen(path);
    fs_file *f = calloc(1, sizeof *f + pl + 1);
    if (!f) return t0_fail(err, T0_ENOMEM, "open %s: out of memory", path);
    memcpy(f->path, path, pl + 1);
    f->n = n;
    f->flags = flags;
    f->ro = ro;
    f->v = v;
    f->next = v->files;
    if (v->files) v->files->prev = f;
    v->files = f;
    n->refs++;
    *out = f;
    return T0_OK;
}

static t0_status v_read(void *ctx, fs_file *f, uint64_t off, void *buf, size_t cap, size_t *got, t0_err *err)
{
    podfs *p = pod_of(ctx);
    *got = 0;
    if (f->n->type == FS_DIR) return fail(err, EISDIR, "read", f->path);
    if (!(f->flags & FS_READ)) return fail(err, EBADF, "read", f->path);
    p->stats.reads++;
    if (p->script.before_read && !p->in_hook) { /* the hook's own reads do not call it again */
        p->in_hook = true;
        p->script.before_read(p->script.before_read_ud, f->path);
        p->in_hook = false;
    }
    sim_fault_hit hit;
    if ((p->script.fail_reads > 0 && p->script.fail_reads--) ||
        (p->faults && sim_faults_check(p->faults, "podfs/read", &hit) && hit.kind == SIM_FAULT_ERROR)) {
        p->stats.read_faults++;
        return fail(err, EIO, "read", f->path);
    }
    if (off >= f->n->len) return T0_OK;
    size_t n = f->n->len - (size_t)off < cap ? f->n->len - (size_t)off : cap;
    if (p->script.short_reads > 0 && n > 1) {
        p->script.short_reads--;
        n = 1;
    }
    memcpy(buf, f->n->data + off, n);
    *got = n;
    return T0_OK;
}

static t0_status v_write(void *ctx, fs_file *f, uint64_t off, const void *buf, size_t len, t0_err *err)
{
    podfs *p = pod_of(ctx);
    pnode *n = f->n;
    if (!(f->flags & FS_WRITE)) return fail(err, EBADF, "write", f->path);
    if (f->ro) return fail(err, EROFS, "write", f->path);
    if (n->type != FS_REG) return fail(err, EISDIR, "write", f->path);
    pvol *vol = n->vol;
    size_t want = len;
    int eno = 0;
    bool fill = false;
    sim_fault_hit hit;
    if (p->script.fail_writes > 0) {
        p->script.fail_writes--;
        p->stats.write_faults++;
        want = len / 2;
        eno = p->script.fail_errno ? p->script.fail_errno : EIO;
    } else if (p->faults && sim_faults_check(p->faults, "podfs/write", &hit)) {
        if (hit.kind == SIM_FAULT_ERROR) {
            p->stats.write_faults++;
            return fail(err, EIO, "write", f->path);
        }
        if (hit.kind == SIM_FAULT_ENOSPC || hit.kind == SIM_FAULT_SHORT) {
            p->stats.write_faults++;
            want = len / 2;
            eno = hit.kind == SIM_FAULT_ENOSPC ? ENOSPC : EIO;
            fill = hit.kind == SIM_FAULT_ENOSPC;
        }
    }
    uint64_t end = off + want, grow = end > n->len ? end - n->len : 0;
    uint64_t avail = vol->full ? 0 : vol->capacity > vol->used ? vol->capacity - vol->used : 0;
    if (grow > avail) { /* fill what fits, then ENOSPC */
        uint64_t room = n->len + avail > off ? n->len + avail - off : 0;
        want = room < want ? (size_t)room : want;
        eno = ENOSPC;
        end = off + want;
        grow = end > n->len ? end - n->len : 0;
    }
    if (end > n->cap) {
        size_t nc = n->cap ? n->cap : 64;
        while (nc < end) nc *= 2;
        char *nd = realloc(n->data, nc);
        if (!nd) return t0_fail(err, T0_ENOMEM, "write %s: out of memory", f->path);
        n->data = nd;
        n->cap = nc;
    }
    if (off > n->len) memset(n->data + n->len, 0, (size_t)off - n->len);
    if (want) memcpy(n->data + off, buf, want);
    if (end > n->len) n->len = (size_t)end;
    vol->used += grow;
    if (fill) vol->full = true;
    if (want || !len) touch(p, n, true);
    if (eno) {
        if (eno == ENOSPC) {
            p->stats.enospc++;
            if (p->on_full) p->on_full(p->on_full_ud, vol->name);
        }
        return fail(err, eno, "write", f->path);
    }
    p->stats.writes++;
    return T0_OK;
}

static void to_stat(const pnode *n, fs_stat *o)
{
    o->type = n->type;
    o->perm = n->perm;
    o->size = n->type == FS_LNK ? (n->data ? strlen(n->data) : 0) : n->len;
    o->mtime_ns = n->mtime_ns;
    o->ctime_ns = n->ctime_ns;
    o->ino = n->ino;
    o->dev = n->vol ? n->vol->id : 0;
}

static t0_status v_fstat(void *ctx, fs_file *f, fs_stat *out, t0_err *err)
{
    (void)ctx, (void)err;
    to_stat(f->n, out);
    return T0_OK;
}

static t0_status v_sync(void *ctx, fs_file *f, t0_err *err)
{
    (void)ctx, (void)f, (void)err;
    return T0_OK;
}

static void file_free(fs_file *f)
{
    podfs_view *v = f->v;
    if (f->prev) f->prev->next = f->next;
    else v->files = f->next;
    if (f->next) f->next->prev = f->prev;
    node_release(f->n);
    free(f);
}

static t0_status v_close(void *ctx, fs_file *f, t0_err *err)
{
    (void)err;
    if (!f) return T0_OK;
    podfs *p = pod_of(ctx);
    if ((f->flags & FS_WRITE) && f->n->parent && p->watches) changed(p, f->n); /* IN_CLOSE_WRITE */
    file_free(f);
    return T0_OK;
}

static t0_status v_lstat(void *ctx, const char *path, fs_stat *out, t0_err *err)
{
    res r;
    if (resolve(ctx, path, false, &r) || !r.node) return fail(err, r.eno ? r.eno : ENOENT, "stat", path);
    to_stat(r.node, out);
    return T0_OK;
}

static t0_status v_mkdir(void *ctx, const char *path, uint32_t perm, t0_err *err)
{
    podfs_view *v = ctx;
    res r;
    resolve(v, path, false, &r);
    pnode *n;
    t0_status st = add_entry(v, &r, FS_DIR, perm, "mkdir", path, &n, err);
    if (st == T0_OK && v->p->watches) changed(v->p, n);
    return st;
}

static bool is_ancestor(const pnode *a, const pnode *n)
{
    for (; n; n = n->parent)
        if (n == a) return true;
    return false;
}

static t0_status v_rename(void *ctx, const char *from, const char *to, t0_err *err)
{
    podfs_view *v = ctx;
    podfs *p = v->p;
    sim_fault_hit hit;
    if ((p->script.fail_renames > 0 && p->script.fail_renames--) ||
        (p->faults && sim_faults_check(p->faults, "podfs/rename", &hit) && hit.kind == SIM_FAULT_ERROR))
        return fail(err, EIO, "rename", from);
    res a, b;
    resolve(v, from, false, &a);
    if (!a.node) return fail(err, a.eno ? a.eno : ENOENT, "rename", from);
    pnode *src = a.node;
    if (!src->parent || !a.parent) return fail(err, EBUSY, "rename", from); /* a mount point or "/" */
    resolve(v, to, false, &b);
    if (!b.node && (b.eno != ENOENT || !b.parent)) return fail(err, b.eno ? b.eno : ENOENT, "rename", to);
    pnode *dst = b.node, *tp = b.parent;
    if (dst && (!dst->parent || !tp)) return fail(err, EBUSY, "rename", to);
    if (tp->type != FS_DIR) return fail(err, ENOTDIR, "rename", to);
    if (a.parent_ro || b.parent_ro) return fail(err, EROFS, "rename", from);
    if (src->vol != tp->vol) return fail(err, EXDEV, "rename", from);
    if (!allowed(v, a.parent, P_W | P_X) || !allowed(v, tp, P_W | P_X) || sticky_blocks(v, a.parent, src) ||
        (dst && sticky_blocks(v, tp, dst)))
        return fail(err, EACCES, "rename", from);
    if (dst == src) return T0_OK;
    if (src->type == FS_DIR && is_ancestor(src, tp)) return fail(err, EINVAL, "rename", from);
    if (dst) {
        if (dst->type == FS_DIR && (src->type != FS_DIR || dst->nkids))
            return fail(err, dst->nkids ? ENOTEMPTY : EISDIR, "rename", to);
        if (dst->type != FS_DIR && src->type == FS_DIR) return fail(err, ENOTDIR, "rename", to);
        if (p->watches) changed(p, dst);
        detach(dst);
        node_release(dst);
    }
    char *nn = malloc(b.lastlen + 1);
    if (!nn) return t0_fail(err, T0_ENOMEM, "rename %s: out of memory", from);
    memcpy(nn, b.last, b.lastlen);
    nn[b.lastlen] = '\0';
    if (p->watches) changed(p, src); /* moved out */
    pnode *oldp = src->parent;
    detach(src);
    free(src->name);
    src->name = nn;
    src->namelen = b.lastlen;
    if (!attach(tp, src)) { /* cannot happen after a successful detach unless memory is gone */
        node_release(src);
        return t0_fail(err, T0_ENOMEM, "rename %s: out of memory", from);
    }
    src->ctime_ns = now_ns(p);
    touch_dir(p, oldp);
    if (tp != oldp) touch_dir(p, tp);
    if (p->watches) changed(p, src); /* moved in */
    return T0_OK;
}

/* drop_entry: N leaves its directory (checked by the caller) and is freed once no handle holds it. */
static t0_status drop_entry(podfs_view *v, pnode *n)
{
    pnode *d = n->parent;
    if (v->p->watches) changed(v->p, n);
    detach(n);
    node_release(n);
    touch_dir(v->p, d);
    return T0_OK;
}

static t0_status v_unlink(void *ctx, const char *path, t0_err *err)
{
    podfs_view *v = ctx;
    res r;
    resolve(v, path, false, &r);
    pnode *n = r.node;
    if (!n) return fail(err, r.eno ? r.eno : ENOENT, "unlink", path);
    if (!n->parent || !r.parent) return fail(err, n->type == FS_DIR ? EISDIR : EBUSY, "unlink", path);
    if (n->type == FS_DIR) return fail(err, EISDIR, "unlink", path);
    if (r.parent_ro) return fail(err, EROFS, "unlink", path);
    if (!allowed(v, r.parent, P_W | P_X) || sticky_blocks(v, r.parent, n)) return fail(err, EACCES, "unlink", path);
    return drop_entry(v, n);
}

static t0_status v_rmdir(void *ctx, const char *path, t0_err *err)
{
    podfs_view *v = ctx;
    res r;
    resolve(v, path, false, &r);
    pnode *n = r.node;
    if (!n) return fail(err, r.eno ? r.eno : ENOENT, "rmdir", path);
    if (n->type != FS_DIR) return fail(err, ENOTDIR, "rmdir", path);
    if (!n->parent || !r.parent) return fail(err, EBUSY, "rmdir", path);
    if (n->nkids) return fail(err, ENOTEMPTY, "rmdir", path);
    if (r.parent_ro) return fail(err, EROFS, "rmdir", path);
    if (!allowed(v, r.parent, P_W | P_X) || sticky_blocks(v, r.parent, n)) return fail(err, EACCES, "rmdir", path);
    return drop_entry(v, n);
}

static t0_status v_list(void *ctx, const char *dir, fs_list *out, t0_err *err)
{
    podfs_view *v = ctx;
    memset(out, 0, sizeof *out);
    res r;
    resolve(v, dir, true, &r);
    pnode *n = r.node;
    if (!n) return fail(err, r.eno ? r.eno : ENOENT, "list", dir);
    if (n->type != FS_DIR) return fail(err, ENOTDIR, "list", dir);
    if (!allowed(v, n, P_R)) return fail(err, EACCES, "list", dir);
    out->names = calloc(n->nkids + 1, sizeof *out->names);
    if (!out->names) return t0_fail(err, T0_ENOMEM, "list %s: out of memory", dir);
    for (size_t i = 0; i < n->nkids; i++) {
        if (!(out->names[out->n] = strdup(n->kids[i]->name))) {
            fs_list_free(out);
            return t0_fail(err, T0_ENOMEM, "list %s: out of memory", dir);
        }
        out->n++;
    }
    return T0_OK;
}

static t0_status v_symlink(void *ctx, const char *target, const char *path, t0_err *err)
{
    podfs_view *v = ctx;
    res r;
    resolve(v, path, false, &r);
    pnode *n;
    t0_status st = add_entry(v, &r, FS_LNK, 0777, "symlink", path, &n, err);
    if (st != T0_OK) return st;
    if (!(n->data = strdup(target))) {
        detach(n);
        node_release(n);
        return t0_fail(err, T0_ENOMEM, "symlink %s: out of memory", path);
    }
    if (v->p->watches) changed(v->p, n);
    return T0_OK;
}

static t0_status v_readlink(void *ctx, const char *path, char *buf, size_t cap, t0_err *err)
{
    res r;
    resolve(ctx, path, false, &r);
    if (!r.node) return fail(err, r.eno ? r.eno : ENOENT, "readlink", path);
    if (r.node->type != FS_LNK) return fail(err, EINVAL, "readlink", path);
    size_t l = r.node->data ? strlen(r.node->data) : 0;
    if (l >= cap) return fail(err, ENAMETOOLONG, "readlink", path);
    memcpy(buf, r.node->data ? r.node->data : "", l + 1);
    return T0_OK;
}

static t0_status v_sync_dir(void *ctx, const char *dir, t0_err *err)
{
    res r;
    resolve(ctx, dir, true, &r);
    return r.node ? T0_OK : fail(err, r.eno ? r.eno : ENOENT, "fsync", dir);
}

static t0_status v_space(void *ctx, const char *path, uint64_t *avail, uint64_t *total, t0_err *err)
{
    res r;
    resolve(ctx, path, true, &r);
    if (!r.node) return fail(err, r.eno ? r.eno : ENOENT, "statvfs", path);
    pvol *vol = r.node->vol;
    if (avail) *avail = vol->full || vol->used >= vol->capacity ? 0 : vol->capacity - vol->used;
    if (total) *total = vol->capacity;
    return T0_OK;
}

static t0_status v_watch(void *ctx, const char *dir, unsigned flags, fs_watch_fn fn, void *ud, fs_watch **out,
                         t0_err *err)
{
    podfs_view *v = ctx;
    res r;
    resolve(v, dir, true, &r);
    pnode *n = r.node;
    if (!n) return fail(err, r.eno ? r.eno : ENOENT, "watch", dir);
    if (n->type != FS_DIR) return fail(err, ENOTDIR, "watch", dir);
    if (!allowed(v, n, P_R)) return fail(err, EACCES, "watch", dir);
    fs_watch *w = calloc(1, sizeof *w);
    if (!w) return t0_fail(err, T0_ENOMEM, "watch %s: out of memory", dir);
    *w = (fs_watch){++v->p->next_watch, v, n, flags, fn, ud, v->p->watches};
    n->refs++;
    v->p->watches = w;
    *out = w;
    return T0_OK;
}

static void v_unwatch(void *ctx, fs_watch *w)
{
    if (!w) return;
    podfs *p = pod_of(ctx);
    for (fs_watch **pp = &p->watches; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    node_release(w->dir);
    free(w);
}

fs_port podfs_view_port(podfs_view *v)
{
    return (fs_port){.ctx = v,
                     .open = v_open,
                     .read = v_read,
                     .write = v_write,
                     .fstat = v_fstat,
                     .sync = v_sync,
                     .close = v_close,
                     .lstat = v_lstat,
                     .mkdir = v_mkdir,
                     .rename = v_rename,
                     .unlink = v_unlink,
                     .rmdir = v_rmdir,
                     .list = v_list,
                     .symlink = v_symlink,
                     .readlink = v_readlink,
                     .sync_dir = v_sync_dir,
                     .space = v_space,
                     .watch = v_watch,
                     .unwatch = v_unwatch};
}

/* ---- pods, volumes, views ---------------------------------------------------------------------------- */
t0_status podfs_new(const loop_port *loop, struct sim_faults *faults, podfs **out, t0_err *err)
{
    podfs *p = calloc(1, sizeof *p);
    if (!p) return t0_fail(err, T0_ENOMEM, "podfs_new: out of memory");
    p->loop = loop;
    p->faults = faults;
    *out = p;
    return T0_OK;
}

void podfs_destroy(podfs *p)
{
    if (!p) return;
    while (p->views) podfs_view_destroy(p->views);
    while (p->watches) v_unwatch(p->watches->v, p->watches);
    if (p->timer) p->loop->cancel(p->loop->ctx, p->timer);
    for (size_t i = 0; i < p->nnotes; i++) free(p->notes[i].name);
    free(p->notes);
    for (pvol *v = p->vols, *nx; v; v = nx) {
        nx = v->next;
        vol_free(v);
    }
    free(p);
}

static pvol *vol_by_name(const podfs *p, const char *name)
{
    for (pvol *v = p->vols; v; v = v->next)
        if (!strcmp(v->name, name)) return v;
    return NULL;
}

t0_status podfs_add_volume(podfs *p, const char *name, uint64_t capacity, t0_err *err)
{
    if (vol_by_name(p, name)) return t0_fail(err, T0_EEXIST, "volume %s already exists", name);
    pvol *v = vol_new(p, name, capacity, false, FS_DIR, 0777);
    if (!v) return t0_fail(err, T0_ENOMEM, "volume %s: out of memory", name);
    v->next = p->vols;
    p->vols = v;
    return T0_OK;
}

uint64_t podfs_volume_used(const podfs *p, const char *name)
{
    const pvol *v = vol_by_name(p, name);
    return v ? v->used : 0;
}

uint64_t podfs_volume_capacity(const podfs *p, const char *name)
{
    const pvol *v = vol_by_name(p, name);
    return v ? v->capacity : 0;
}

bool podfs_volume_set_capacity(podfs *p, const char *name, uint64_t capacity)
{
    pvol *v = vol_by_name(p, name);
    if (!v) return false;
    v->capacity = capacity ? capacity : DEFAULT_CAPACITY;
    return true;
}

/* dir_at: the directory PATH of V's tree as the container runtime prepares it (mount points, their
 * parents): missing components are created (root-owned, 0755) in whatever tree they fall, mounts
 * followed. NULL when a component exists and is not a directory. */
static pnode *dir_at(podfs_view *v, const char *path, bool *created_last)
{
    pnode *cur = v->rootfs->root;
    const char *p = path;
    if (created_last) *created_last = false;
    for (;;) {
        while (*p == '/') p++;
        if (!*p) return cur;
        const char *s = p;
        while (*p && *p != '/') p++;
        size_t len = (size_t)(p - s);
        if ((len == 1 && *s == '.') || (len == 2 && s[0] == '.' && s[1] == '.')) return NULL;
        pnode *c = child(cur, s, len);
        if (!c) {
            c = node_new(v->p, cur->vol, s, len, FS_DIR, 0755, 0, 0);
            if (!c || !attach(cur, c)) {
                free(c ? c->name : NULL);
                free(c);
                return NULL;
            }
            if (created_last) *created_last = true;
        } else if (created_last) {
            *created_last = false;
        }
        if (c->mnt) c = c->mnt;
        if (c->type != FS_DIR) return NULL;
        cur = c;
    }
}

/* mount_at: make the last component of PATH in V's tree a mount point of TARGET. */
static t0_status mount_at(podfs_view *v, const char *path, pnode *target, bool ro, t0_err *err)
{
    char parent[PATH_CAP];
    size_t l = strlen(path);
    while (l > 1 && path[l - 1] == '/') l--;
    if (l >= sizeof parent || path[0] != '/' || l <= 1)
        return t0_fail(err, T0_EINVAL, "mount %s: the path must be absolute and not \"/\"", path);
    memcpy(parent, path, l);
    parent[l] = '\0';
    char *slash = strrchr(parent, '/');
    const char *name = slash + 1;
    *slash = '\0';
    if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
        return t0_fail(err, T0_EINVAL, "mount %s: bad mount path", path);
    pnode *d = dir_at(v, *parent ? parent : "/", NULL);
    if (!d) return t0_fail(err, T0_EINVAL, "mount %s: a parent is not a directory", path);
    pnode *c = child(d, name, strlen(name));
    if (c && c->mnt) return t0_fail(err, T0_EINVAL, "mount %s: two mounts at one path", path);
    if (!c) {
        c = node_new(v->p, d->vol, name, strlen(name), target->type, 0755, 0, 0);
        if (!c || !attach(d, c)) {
            free(c ? c->name : NULL);
            free(c);
            return t0_fail(err, T0_ENOMEM, "mount %s: out of memory", path);
        }
    }
    c->mnt = target;
    c->mnt_ro = ro;
    tree_changed(c);
    target->refs++;
    return T0_OK;
}

static int cmp_mount(const void *a, const void *b)
{
    const podfs_mount *x = a, *y = b;
    size_t lx = strlen(x->path), ly = strlen(y->path);
    return lx < ly ? -1 : lx > ly ? 1 : strcmp(x->path, y->path);
}

t0_status podfs_view_new(podfs *p, const podfs_view_opts *o, podfs_view **out, t0_err *err)
{
    *out = NULL;
    podfs_view *v = calloc(1, sizeof *v);
    if (!v) return t0_fail(err, T0_ENOMEM, "container filesystem: out of memory");
    v->p = p;
    v->uid = o->uid;
    v->gid = o->gid;
    v->fs_group = o->fs_group;
    v->caps_dropped = o->caps_dropped;
    v->rootfs = vol_new(p, "(root)", 0, false, FS_DIR, 0755);
    v->term = vol_new(p, "(termination)", TERM_CAPACITY, false, FS_REG, 0666);
    podfs_mount *ms = o->nmounts ? malloc(o->nmounts * sizeof *ms) : NULL;
    t0_status st = T0_OK;
    if (!v->rootfs || !v->term || (o->nmounts && !ms)) st = t0_fail(err, T0_ENOMEM, "container filesystem: out of memory");
    if (st == T0_OK) {
        bool made;
        pnode *tmp = dir_at(v, "/tmp", &made), *dev = dir_at(v, "/dev", NULL);
        if (!tmp || !dev) st = t0_fail(err, T0_ENOMEM, "container filesystem: out of memory");
        else {
            tmp->perm = 01777;
            tree_changed(tmp);
        }
    }
    if (st == T0_OK && o->nmounts) { /* shorter paths first: a mount inside another lands in the outer one */
        memcpy(ms, o->mounts, o->nmounts * sizeof *ms);
        qsort(ms, o->nmounts, sizeof *ms, cmp_mount);
    }
    for (size_t i = 0; st == T0_OK && i < o->nmounts; i++) st = podfs_view_mount(v, ms[i].volume, ms[i].path, ms[i].read_only, err);
    free(ms);
    if (st == T0_OK) {
        const char *tp = o->termination_path && *o->termination_path ? o->termination_path : "/dev/termination-log";
        st = mount_at(v, tp, v->term->root, false, err);
    }
    if (v->rootfs) {
        v->rootfs->read_only = o->read_only_root;
        tree_changed(v->rootfs->root);
    }
    if (st != T0_OK) {
        podfs_view_destroy(v);
        return st;
    }
    v->next = p->views;
    if (p->views) p->views->prev = v;
    p->views = v;
    *out = v;
    return T0_OK;
}

t0_status podfs_view_mount(podfs_view *v, const char *volume, const char *path, bool read_only, t0_err *err)
{
    pvol *vol = vol_by_name(v->p, volume);
    if (!vol) return t0_fail(err, T0_ENOTFOUND, "volume %s not found (mounted at %s)", volume, path);
    return mount_at(v, path, vol->root, read_only, err);
}

void podfs_view_set_root(podfs_view *v, bool read_only, uint64_t capacity)
{
    v->rootfs->read_only = read_only;
    v->rootfs->capacity = capacity ? capacity : DEFAULT_CAPACITY;
    tree_changed(v->rootfs->root);
}

size_t podfs_view_termination(const podfs_view *v, char *buf, size_t cap)
{
    if (!cap) return 0;
    const pnode *n = v->term->root;
    size_t l = n->len < cap - 1 ? n->len : cap - 1;
    if (l) memcpy(buf, n->data, l);
    buf[l] = '\0';
    return l;
}

void podfs_view_destroy(podfs_view *v)
{
    if (!v) return;
    podfs *p = v->p;
    for (fs_watch **pp = &p->watches; *pp;) {
        fs_watch *w = *pp;
        if (w->v == v) {
            *pp = w->next;
            node_release(w->dir);
            free(w);
        } else {
            pp = &w->next;
        }
    }
    while (v->files) file_free(v->files);
    bool listed = v->prev || p->views == v;
    if (listed) {
        if (v->prev) v->prev->next = v->next;
        else p->views = v->next;
        if (v->next) v->next->prev = v->prev;
    }
    vol_free(v->rootfs);
    vol_free(v->term);
    free(v);
}

void podfs_get_stats(const podfs *p, podfs_stats *out) { *out = p->stats; }
podfs_script *podfs_script_of(podfs *p) { return &p->script; }

void podfs_on_full(podfs *p, void (*fn)(void *ud, const char *volume), void *ud)
{
    p->on_full = fn;
    p->on_full_ud = ud;
}
