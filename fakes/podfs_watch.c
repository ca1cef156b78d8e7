/* podfs_watch.c: the container filesystem model's watches: changes queued as notes and delivered on the loop. */
#include "fakes/podfs_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

void pf_changed(podfs *p, pnode *n)
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

void pf_touch_dir(podfs *p, pnode *d)
{
    d->mtime_ns = d->ctime_ns = now_ns(p);
}

void pf_touch(podfs *p, pnode *n, bool content)
{
    int64_t t = now_ns(p);
    if (content) n->mtime_ns = t;
    n->ctime_ns = t;
    if (p->watches) pf_changed(p, n);
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

t0_status pf_watch(void *ctx, const char *dir, unsigned flags, fs_watch_fn fn, void *ud, fs_watch **out,
                         t0_err *err)
{
    podfs_view *v = ctx;
    res r;
    pf_resolve(v, dir, true, &r);
    pnode *n = r.node;
    if (!n) return pf_fail(err, r.eno ? r.eno : ENOENT, "watch", dir);
    if (n->type != FS_DIR) return pf_fail(err, ENOTDIR, "watch", dir);
    if (!pf_allowed(v, n, P_R)) return pf_fail(err, EACCES, "watch", dir);
    fs_watch *w = calloc(1, sizeof *w);
    if (!w) return t0_fail(err, T0_ENOMEM, "watch %s: out of memory", dir);
    *w = (fs_watch){++v->p->next_watch, v, n, flags, fn, ud, v->p->watches};
    n->refs++;
    v->p->watches = w;
    *out = w;
    return T0_OK;
}

void pf_unwatch(void *ctx, fs_watch *w)
{
    if (!w) return;
    podfs *p = pod_of(ctx);
    for (fs_watch **pp = &p->watches; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    pf_node_release(w->dir);
    free(w);
}

