/* podfs_ops.c: the container filesystem model's fs_port: a view's file and directory operations, with the
 * fault points podfs/read, podfs/write, podfs/rename and the scripted failures. */
#include "fakes/podfs_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/faults.h"

/* ---- the port ---------------------------------------------------------------------------------------- */
/* add_entry: a new entry named R->last in R->parent (checked: exists not, writable, permitted). */
static t0_status add_entry(podfs_view *v, res *r, fs_type t, uint32_t perm, const char *op, const char *path,
                           pnode **out, t0_err *err)
{
    if (r->node) return pf_fail(err, EEXIST, op, path);
    if (r->eno != ENOENT || !r->parent) return pf_fail(err, r->eno ? r->eno : EINVAL, op, path);
    if (r->parent->type != FS_DIR) return pf_fail(err, ENOTDIR, op, path);
    if (r->parent_ro) return pf_fail(err, EROFS, op, path);
    if (!pf_allowed(v, r->parent, P_W | P_X)) return pf_fail(err, EACCES, op, path);
    pnode *n = pf_node_new(v->p, r->parent->vol, r->last, r->lastlen, t, perm, v->uid, v->gid);
    if (!n || !pf_attach(r->parent, n)) {
        free(n ? n->name : NULL);
        free(n);
        return t0_fail(err, T0_ENOMEM, "%s %s: out of memory", op, path);
    }
    pf_touch_dir(v->p, r->parent);
    *out = n;
    return T0_OK;
}

static t0_status v_open(void *ctx, const char *path, int flags, uint32_t perm, fs_file **out, t0_err *err)
{
    podfs_view *v = ctx;
    res r;
    pf_resolve(v, path, !(flags & FS_NOFOLLOW), &r);
    pnode *n = r.node;
    bool ro = r.node_ro;
    if (n && (flags & FS_NOFOLLOW) && n->type == FS_LNK) return pf_fail(err, ELOOP, "open", path);
    if (n && (flags & FS_CREATE) && (flags & FS_EXCL)) return pf_fail(err, EEXIST, "open", path);
    if (!n) {
        if (r.eno != ENOENT || !(flags & FS_CREATE)) return pf_fail(err, r.eno, "open", path);
        t0_status st = add_entry(v, &r, FS_REG, perm, "open", path, &n, err);
        if (st != T0_OK) return st;
        ro = r.parent_ro;
        pf_touch(v->p, n, true);
    } else {
        if (n->type == FS_DIR && (flags & FS_WRITE)) return pf_fail(err, EISDIR, "open", path);
        if ((flags & FS_WRITE) && ro) return pf_fail(err, EROFS, "open", path);
        unsigned want = ((flags & FS_READ) ? P_R : 0) | ((flags & FS_WRITE) ? P_W : 0);
        if (want && !pf_allowed(v, n, want)) return pf_fail(err, EACCES, "open", path);
        if ((flags & FS_TRUNC) && n->type == FS_REG && n->len) {
            n->vol->used -= n->len;
            n->len = 0;
            pf_touch(v->p, n, true);
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
    if (f->n->type == FS_DIR) return pf_fail(err, EISDIR, "read", f->path);
    if (!(f->flags & FS_READ)) return pf_fail(err, EBADF, "read", f->path);
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
        return pf_fail(err, EIO, "read", f->path);
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
    if (!(f->flags & FS_WRITE)) return pf_fail(err, EBADF, "write", f->path);
    if (f->ro) return pf_fail(err, EROFS, "write", f->path);
    if (n->type != FS_REG) return pf_fail(err, EISDIR, "write", f->path);
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
            return pf_fail(err, EIO, "write", f->path);
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
    if (want || !len) pf_touch(p, n, true);
    if (eno) {
        if (eno == ENOSPC) {
            p->stats.enospc++;
            if (p->on_full) p->on_full(p->on_full_ud, vol->name);
        }
        return pf_fail(err, eno, "write", f->path);
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

void pf_file_free(fs_file *f)
{
    podfs_view *v = f->v;
    if (f->prev) f->prev->next = f->next;
    else v->files = f->next;
    if (f->next) f->next->prev = f->prev;
    pf_node_release(f->n);
    free(f);
}

static t0_status v_close(void *ctx, fs_file *f, t0_err *err)
{
    (void)err;
    if (!f) return T0_OK;
    podfs *p = pod_of(ctx);
    if ((f->flags & FS_WRITE) && f->n->parent && p->watches) pf_changed(p, f->n); /* IN_CLOSE_WRITE */
    pf_file_free(f);
    return T0_OK;
}

static t0_status v_lstat(void *ctx, const char *path, fs_stat *out, t0_err *err)
{
    res r;
    if (pf_resolve(ctx, path, false, &r) || !r.node) return pf_fail(err, r.eno ? r.eno : ENOENT, "stat", path);
    to_stat(r.node, out);
    return T0_OK;
}

static t0_status v_mkdir(void *ctx, const char *path, uint32_t perm, t0_err *err)
{
    podfs_view *v = ctx;
    res r;
    pf_resolve(v, path, false, &r);
    pnode *n;
    t0_status st = add_entry(v, &r, FS_DIR, perm, "mkdir", path, &n, err);
    if (st == T0_OK && v->p->watches) pf_changed(v->p, n);
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
        return pf_fail(err, EIO, "rename", from);
    res a, b;
    pf_resolve(v, from, false, &a);
    if (!a.node) return pf_fail(err, a.eno ? a.eno : ENOENT, "rename", from);
    pnode *src = a.node;
    if (!src->parent || !a.parent) return pf_fail(err, EBUSY, "rename", from); /* a mount point or "/" */
    pf_resolve(v, to, false, &b);
    if (!b.node && (b.eno != ENOENT || !b.parent)) return pf_fail(err, b.eno ? b.eno : ENOENT, "rename", to);
    pnode *dst = b.node, *tp = b.parent;
    if (dst && (!dst->parent || !tp)) return pf_fail(err, EBUSY, "rename", to);
    if (tp->type != FS_DIR) return pf_fail(err, ENOTDIR, "rename", to);
    if (a.parent_ro || b.parent_ro) return pf_fail(err, EROFS, "rename", from);
    if (src->vol != tp->vol) return pf_fail(err, EXDEV, "rename", from);
    if (!pf_allowed(v, a.parent, P_W | P_X) || !pf_allowed(v, tp, P_W | P_X) || pf_sticky_blocks(v, a.parent, src) ||
        (dst && pf_sticky_blocks(v, tp, dst)))
        return pf_fail(err, EACCES, "rename", from);
    if (dst == src) return T0_OK;
    if (src->type == FS_DIR && is_ancestor(src, tp)) return pf_fail(err, EINVAL, "rename", from);
    if (dst) {
        if (dst->type == FS_DIR && (src->type != FS_DIR || dst->nkids))
            return pf_fail(err, dst->nkids ? ENOTEMPTY : EISDIR, "rename", to);
        if (dst->type != FS_DIR && src->type == FS_DIR) return pf_fail(err, ENOTDIR, "rename", to);
        if (p->watches) pf_changed(p, dst);
        pf_detach(dst);
        pf_node_release(dst);
    }
    char *nn = malloc(b.lastlen + 1);
    if (!nn) return t0_fail(err, T0_ENOMEM, "rename %s: out of memory", from);
    memcpy(nn, b.last, b.lastlen);
    nn[b.lastlen] = '\0';
    if (p->watches) pf_changed(p, src); /* moved out */
    pnode *oldp = src->parent;
    pf_detach(src);
    free(src->name);
    src->name = nn;
    src->namelen = b.lastlen;
    if (!pf_attach(tp, src)) { /* cannot happen after a successful detach unless memory is gone */
        pf_node_release(src);
        return t0_fail(err, T0_ENOMEM, "rename %s: out of memory", from);
    }
    src->ctime_ns = now_ns(p);
    pf_touch_dir(p, oldp);
    if (tp != oldp) pf_touch_dir(p, tp);
    if (p->watches) pf_changed(p, src); /* moved in */
    return T0_OK;
}

/* drop_entry: N leaves its directory (checked by the caller) and is freed once no handle holds it. */
static t0_status drop_entry(podfs_view *v, pnode *n)
{
    pnode *d = n->parent;
    if (v->p->watches) pf_changed(v->p, n);
    pf_detach(n);
    pf_node_release(n);
    pf_touch_dir(v->p, d);
    return T0_OK;
}

static t0_status v_unlink(void *ctx, const char *path, t0_err *err)
{
    podfs_view *v = ctx;
    res r;
    pf_resolve(v, path, false, &r);
    pnode *n = r.node;
    if (!n) return pf_fail(err, r.eno ? r.eno : ENOENT, "unlink", path);
    if (!n->parent || !r.parent) return pf_fail(err, n->type == FS_DIR ? EISDIR : EBUSY, "unlink", path);
    if (n->type == FS_DIR) return pf_fail(err, EISDIR, "unlink", path);
    if (r.parent_ro) return pf_fail(err, EROFS, "unlink", path);
    if (!pf_allowed(v, r.parent, P_W | P_X) || pf_sticky_blocks(v, r.parent, n)) return pf_fail(err, EACCES, "unlink", path);
    return drop_entry(v, n);
}

static t0_status v_rmdir(void *ctx, const char *path, t0_err *err)
{
    podfs_view *v = ctx;
    res r;
    pf_resolve(v, path, false, &r);
    pnode *n = r.node;
    if (!n) return pf_fail(err, r.eno ? r.eno : ENOENT, "rmdir", path);
    if (n->type != FS_DIR) return pf_fail(err, ENOTDIR, "rmdir", path);
    if (!n->parent || !r.parent) return pf_fail(err, EBUSY, "rmdir", path);
    if (n->nkids) return pf_fail(err, ENOTEMPTY, "rmdir", path);
    if (r.parent_ro) return pf_fail(err, EROFS, "rmdir", path);
    if (!pf_allowed(v, r.parent, P_W | P_X) || pf_sticky_blocks(v, r.parent, n)) return pf_fail(err, EACCES, "rmdir", path);
    return drop_entry(v, n);
}

static t0_status v_list(void *ctx, const char *dir, fs_list *out, t0_err *err)
{
    podfs_view *v = ctx;
    memset(out, 0, sizeof *out);
    res r;
    pf_resolve(v, dir, true, &r);
    pnode *n = r.node;
    if (!n) return pf_fail(err, r.eno ? r.eno : ENOENT, "list", dir);
    if (n->type != FS_DIR) return pf_fail(err, ENOTDIR, "list", dir);
    if (!pf_allowed(v, n, P_R)) return pf_fail(err, EACCES, "list", dir);
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
    pf_resolve(v, path, false, &r);
    pnode *n;
    t0_status st = add_entry(v, &r, FS_LNK, 0777, "symlink", path, &n, err);
    if (st != T0_OK) return st;
    if (!(n->data = strdup(target))) {
        pf_detach(n);
        pf_node_release(n);
        return t0_fail(err, T0_ENOMEM, "symlink %s: out of memory", path);
    }
    if (v->p->watches) pf_changed(v->p, n);
    return T0_OK;
}

static t0_status v_readlink(void *ctx, const char *path, char *buf, size_t cap, t0_err *err)
{
    res r;
    pf_resolve(ctx, path, false, &r);
    if (!r.node) return pf_fail(err, r.eno ? r.eno : ENOENT, "readlink", path);
    if (r.node->type != FS_LNK) return pf_fail(err, EINVAL, "readlink", path);
    size_t l = r.node->data ? strlen(r.node->data) : 0;
    if (l >= cap) return pf_fail(err, ENAMETOOLONG, "readlink", path);
    memcpy(buf, r.node->data ? r.node->data : "", l + 1);
    return T0_OK;
}

static t0_status v_sync_dir(void *ctx, const char *dir, t0_err *err)
{
    res r;
    pf_resolve(ctx, dir, true, &r);
    return r.node ? T0_OK : pf_fail(err, r.eno ? r.eno : ENOENT, "fsync", dir);
}

static t0_status v_space(void *ctx, const char *path, uint64_t *avail, uint64_t *total, t0_err *err)
{
    res r;
    pf_resolve(ctx, path, true, &r);
    if (!r.node) return pf_fail(err, r.eno ? r.eno : ENOENT, "statvfs", path);
    pvol *vol = r.node->vol;
    if (avail) *avail = vol->full || vol->used >= vol->capacity ? 0 : vol->capacity - vol->used;
    if (total) *total = vol->capacity;
    return T0_OK;
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
                     .watch = pf_watch,
                     .unwatch = pf_unwatch};
}
