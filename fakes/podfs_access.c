/* podfs_access.c: the container filesystem model's errors, permissions and path resolution. */
#include "fakes/podfs_impl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- errors ------------------------------------------------------------------------------------------ */
t0_status pf_fail(t0_err *err, int e, const char *op, const char *path)
{
    if (e == ENOENT) return t0_fail(err, T0_ENOTFOUND, "%s %s: %s", op, path, strerror(e));
    if (e == EEXIST) return t0_fail(err, T0_EEXIST, "%s %s: %s", op, path, strerror(e));
    t0_status st = t0_fail(err, T0_EIO, "%s %s: %s", op, path, strerror(e));
    if (err) err->sys_errno = e;
    return st;
}

/* ---- permissions ------------------------------------------------------------------------------------- */
bool pf_allowed(const podfs_view *v, const pnode *n, unsigned want)
{
    if (v->uid == 0 && !v->caps_dropped) return true; /* CAP_DAC_OVERRIDE */
    unsigned bits;
    if (n->uid == v->uid) bits = (n->perm >> 6) & 7;
    else if (n->gid == v->gid || (v->fs_group && n->gid == v->fs_group)) bits = (n->perm >> 3) & 7;
    else bits = n->perm & 7;
    return (bits & want) == want;
}

/* The sticky bit of directory D keeps others from removing or renaming N. */
bool pf_sticky_blocks(const podfs_view *v, const pnode *d, const pnode *n)
{
    if (!(d->perm & 01000) || (v->uid == 0 && !v->caps_dropped)) return false;
    return n->uid != v->uid && d->uid != v->uid;
}

/* ---- resolution -------------------------------------------------------------------------------------- */
int pf_resolve(podfs_view *v, const char *path, bool follow, res *r)
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
    const char *p = path;
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
        if (!pf_allowed(v, d, P_X)) return r->eno = EACCES;
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
                return 0;
            }
            continue;
        }
        pnode *c = pf_child(d, s, len);
        if (final) {
            r->parent = d;
            r->parent_ro = ro[top];
            memcpy(r->last, s, len);
            r->last[len] = '\0';
            r->lastlen = len;
        }
        if (!c) {
            if (!final) r->parent = NULL;
            return r->eno = ENOENT;
        }
        if (c->type == FS_LNK && (!final || follow)) {
            if (++links > MAX_LINKS) return r->eno = ELOOP;
            int nx = 1 - cur;
            int n = snprintf(buf[nx], PATH_CAP, "%s%s", c->data ? c->data : "", rest);
            if (n < 0 || n >= PATH_CAP) return r->eno = ENAMETOOLONG;
            if (buf[nx][0] == '/') top = 0;
            cur = nx;
            p = buf[cur];
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

