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
/* walk: pf_resolve's walk of PATH in V's tree */
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
                r->lastoff = (size_t)(s - p0);
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

int pf_resolve(podfs_view *v, const char *path, bool follow, res *r)
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
