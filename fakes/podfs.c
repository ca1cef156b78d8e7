/* podfs.c: the container filesystem model (see podfs.h): volumes shared by a pod's containers, one view per
 * container with its root filesystem, mounts, termination file, permissions, capacities and watches. This
 * file: the trees, pods, volumes and views (the others: podfs_impl.h). */
#include "fakes/podfs_impl.h"

#include <stdlib.h>
#include <string.h>

/* ---- nodes ------------------------------------------------------------------------------------------- */
pnode *pf_node_new(podfs *p, pvol *vol, const char *name, size_t len, fs_type t, uint32_t perm, uint32_t uid,
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

void pf_node_release(pnode *n)
{
    if (!n || --n->refs > 0) return;
    for (size_t i = 0; i < n->nkids; i++) {
        n->kids[i]->parent = NULL;
        pf_node_release(n->kids[i]);
    }
    if (n->type == FS_REG && n->vol) n->vol->used -= n->len;
    if (n->mnt) pf_node_release(n->mnt);
    free(n->kids);
    free(n->data);
    free(n->name);
    free(n);
}

pnode *pf_child(const pnode *d, const char *name, size_t len)
{
    for (size_t i = 0; i < d->nkids; i++)
        if (d->kids[i]->namelen == len && !memcmp(d->kids[i]->name, name, len)) return d->kids[i];
    return NULL;
}

void pf_tree_changed(const pnode *n)
{
    if (n && n->vol) n->vol->p->gen++;
}

bool pf_attach(pnode *d, pnode *n)
{
    pf_tree_changed(d);
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

void pf_detach(pnode *n)
{
    pnode *d = n->parent;
    pf_tree_changed(n);
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
    if (!(v->root = pf_node_new(p, v, "", 0, root_type, perm, 0, 0))) {
        free(v->name);
        free(v);
        return NULL;
    }
    return v;
}

static void vol_free(pvol *v)
{
    if (!v) return;
    pf_node_release(v->root);
    free(v->name);
    free(v);
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
    while (p->watches) pf_unwatch(p->watches->v, p->watches);
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
        pnode *c = pf_child(cur, s, len);
        if (!c) {
            c = pf_node_new(v->p, cur->vol, s, len, FS_DIR, 0755, 0, 0);
            if (!c || !pf_attach(cur, c)) {
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
    pnode *c = pf_child(d, name, strlen(name));
    if (c && c->mnt) return t0_fail(err, T0_EINVAL, "mount %s: two mounts at one path", path);
    if (!c) {
        c = pf_node_new(v->p, d->vol, name, strlen(name), target->type, 0755, 0, 0);
        if (!c || !pf_attach(d, c)) {
            free(c ? c->name : NULL);
            free(c);
            return t0_fail(err, T0_ENOMEM, "mount %s: out of memory", path);
        }
    }
    c->mnt = target;
    pf_tree_changed(c);
    c->mnt_ro = ro;
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
            pf_tree_changed(tmp);
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
        pf_tree_changed(v->rootfs->root);
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
    pf_tree_changed(v->rootfs->root);
    v->rootfs->capacity = capacity ? capacity : DEFAULT_CAPACITY;
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
            pf_node_release(w->dir);
            free(w);
        } else {
            pp = &w->next;
        }
    }
    while (v->files) pf_file_free(v->files);
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
