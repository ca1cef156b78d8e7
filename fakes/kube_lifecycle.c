/* kube_lifecycle.c: how objects leave the fake API server: graceful pod deletion (deletionTimestamp, grace
 * period, finished by the kubelet), Foreground/Background/Orphan propagation, finalizers, the garbage
 * collector of dependents whose owners are gone; and the pods/binding subresource. */
#include <stdlib.h>
#include <string.h>

#include "fakes/kube_fake_impl.h"

bool kf_has_finalizers(const kobj *o)
{
    const cJSON *f = t0_json_get(t0_json_get(o->v->obj, "metadata"), "finalizers");
    return cJSON_GetArraySize(f) > 0;
}

static void remove_finalizer(cJSON *obj, const char *name)
{
    cJSON *f = t0_json_get(t0_json_get(obj, "metadata"), "finalizers");
    for (int i = cJSON_GetArraySize(f) - 1; i >= 0; i--) {
        cJSON *it = cJSON_GetArrayItem(f, i);
        if (cJSON_IsString(it) && !strcmp(it->valuestring, name)) cJSON_DeleteItemFromArray(f, i);
    }
    if (f && cJSON_GetArraySize(f) == 0) kf_del_member(t0_json_get(obj, "metadata"), "finalizers");
}

static void check_foreground_owner(kfake *k, const char *uid);

/* kf_remove_now: the object leaves the store: DELETED event, free, then owners and dependents react. */
void kf_remove_now(kfake *k, kobj *o)
{
    hmap_del(&k->objs[o->kind], o->key);
    hmap_del(&k->by_uid, o->uid);
    kf_unindex(k, o);
    kf_bump_rv(k, o);
    kf_emit(k, KUBE_WATCH_DELETED, o, NULL);
    /* owners waiting in foreground deletion may now be complete; dependents become garbage */
    const cJSON *owners =
        t0_json_get(t0_json_get(o->v->obj, "metadata"), "ownerReferences");
    size_t no = (size_t)cJSON_GetArraySize(owners);
    char **ouids = no ? calloc(no, sizeof *ouids) : NULL;
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, owners)
    {
        const char *u = kfake_str(it, "uid");
        if (u && ouids) ouids[i++] = strdup(u);
    }
    if (kf_dependents_count(k, o->uid)) kf_gc_enqueue(k, o->uid);
    kf_kobj_free(o);
    for (size_t j = 0; j < i; j++) {
        if (ouids[j]) check_foreground_owner(k, ouids[j]);
        free(ouids[j]);
    }
    free(ouids);
}

/* modified: O's metadata was changed in place: a new resourceVersion and a MODIFIED event */
static void modified(kfake *k, kobj *o)
{
    kf_bump_rv(k, o);
    kf_emit(k, KUBE_WATCH_MODIFIED, o, NULL);
}

/* An owner in foreground deletion is removed once its last dependent is gone. */
static void check_foreground_owner(kfake *k, const char *uid)
{
    kobj *o = hmap_get(&k->by_uid, uid);
    if (!o || kf_dependents_count(k, uid)) return;
    const cJSON *f = t0_json_get(t0_json_get(o->v->obj, "metadata"), "finalizers");
    bool fg = false;
    const cJSON *it;
    cJSON_ArrayForEach(it, f) if (cJSON_IsString(it) && !strcmp(it->valuestring, "foregroundDeletion")) fg = true;
    if (!fg) return;
    remove_finalizer(kf_meta_w(o), "foregroundDeletion");
    if (kf_has_finalizers(o)) {
        modified(k, o);
        return;
    }
    if (o->pod_terminating) return; /* the kubelet finishes it */
    kf_remove_now(k, o);
}

/* dependent_uids: the uids of the dependents of UID (owned strings in an owned array; *N of them), taken
 * before deleting any of them: a deletion may free others. */
static char **dependent_uids(kfake *k, const char *uid, size_t *n)
{
    kobj **deps;
    *n = kf_dependents(k, uid, &deps);
    char **uids = *n ? calloc(*n, sizeof *uids) : NULL;
    for (size_t j = 0; uids && j < *n; j++) uids[j] = strdup(deps[j]->uid);
    free(deps);
    if (!uids) *n = 0;
    return uids;
}

/* owner_alive: whether any owner of D still exists */
static bool owner_alive(kfake *k, const kobj *d)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, t0_json_get(t0_json_get(d->v->obj, "metadata"), "ownerReferences"))
    {
        const char *u = kfake_str(it, "uid");
        if (u && hmap_get(&k->by_uid, u)) return true;
    }
    return false;
}

static void gc_run(void *ud)
{
    kfake *k = ud;
    k->gc_timer = 0;
    /* take the queue: deletions below may enqueue more (handled in a later turn) */
    char **q = k->gc_queue;
    size_t n = k->gc_len;
    k->gc_queue = NULL;
    k->gc_len = k->gc_cap = 0;
    for (size_t i = 0; i < n; i++) {
        size_t nd = 0;
        /* (an owner that exists again has nothing to collect; uids are unique: it never does) */
        char **duids = hmap_get(&k->by_uid, q[i]) ? NULL : dependent_uids(k, q[i], &nd);
        for (size_t j = 0; j < nd; j++) {
            kobj *d = duids[j] ? hmap_get(&k->by_uid, duids[j]) : NULL;
            /* collected only when every owner is gone */
            if (d && !owner_alive(k, d) && !kfake_str(d->v->obj, "metadata.deletionTimestamp"))
                kf_delete(k, d, KUBE_PROP_BACKGROUND, -1, NULL);
            free(duids[j]);
        }
        free(duids);
        free(q[i]);
    }
    free(q);
}

void kf_gc_enqueue(kfake *k, const char *uid)
{
    if (k->gc_len == k->gc_cap) {
        size_t nc = k->gc_cap ? k->gc_cap * 2 : 16;
        char **nq = realloc(k->gc_queue, nc * sizeof *nq);
        if (!nq) return;
        k->gc_queue = nq;
        k->gc_cap = nc;
    }
    char *u = strdup(uid);
    if (!u) return;
    k->gc_queue[k->gc_len++] = u;
    if (!k->gc_timer) k->gc_timer = sim_loop_timer(k->loop, 0, gc_run, k);
}

static int64_t pod_grace(const kfake *k, const kobj *o, int64_t grace)
{
    if (grace >= 0) return grace;
    const cJSON *g = t0_json_get(t0_json_get(o->v->obj, "spec"), "terminationGracePeriodSeconds");
    return cJSON_IsNumber(g) ? (int64_t)g->valuedouble : k->opts.default_grace_s;
}

static void mark_deleting(kfake *k, kobj *o, int64_t grace_s)
{
    cJSON *md = kf_obj_at(kf_meta_w(o), "metadata");
    char ts[32];
    kf_set_str(md, "deletionTimestamp", sim_format_rfc3339(sim_loop_now(k->loop) + grace_s * 1000, ts, sizeof ts));
    kf_set_num(md, "deletionGracePeriodSeconds", (double)grace_s);
}

/* delete_pod: a bound, running pod terminates gracefully (the kubelet removes it when its containers
 * have stopped); an unbound or finished pod, or grace 0, goes at once unless finalizers hold it */
static void delete_pod(kfake *k, kobj *o, int64_t grace, bool deleting)
{
    int64_t g = pod_grace(k, o, grace);
    const char *phase = kfake_str(o->v->obj, "status.phase");
    bool bound = kfake_str(o->v->obj, "spec.nodeName") != NULL;
    bool ended = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
    if (deleting && g != 0) return; /* already terminating */
    if (!bound || ended || g == 0) {
        o->pod_terminating = false; /* nothing more to wait for but the finalizers */
        if (!kf_has_finalizers(o)) {
            kf_remove_now(k, o);
        } else if (!deleting) {
            mark_deleting(k, o, 0);
            modified(k, o);
        }
        return;
    }
    mark_deleting(k, o, g);
    o->pod_terminating = true;
    modified(k, o);
}

/* orphan_dependents: the dependents of O lose their owner references to it */
static void orphan_dependents(kfake *k, kobj *o)
{
    kobj **deps;
    size_t nd = kf_dependents(k, o->uid, &deps);
    char *uid = strdup(o->uid);
    for (size_t i = 0; i < nd && uid; i++) {
        kobj *d = deps[i];
        kver *old = kf_kver_ref(d->v); /* shared now: kf_meta_w derives a new version */
        cJSON *dobj = kf_meta_w(d);
        cJSON *refs = t0_json_get(t0_json_get(dobj, "metadata"), "ownerReferences");
        for (int j = cJSON_GetArraySize(refs) - 1; j >= 0; j--) {
            const char *u = kfake_str(cJSON_GetArrayItem(refs, j), "uid");
            if (u && !strcmp(u, uid)) cJSON_DeleteItemFromArray(refs, j);
        }
        if (refs && !cJSON_GetArraySize(refs)) kf_del_member(t0_json_get(dobj, "metadata"), "ownerReferences");
        kf_unindex(k, d);
        kf_index(k, d);
        kf_bump_rv(k, d);
        kf_emit(k, KUBE_WATCH_MODIFIED, d, old);
        kf_kver_unref(old);
    }
    free(uid);
    free(deps);
}

/* delete_foreground: O gets the foregroundDeletion finalizer, its dependents are deleted (Foreground,
 * recursively), and it goes when the last of them is gone */
static void delete_foreground(kfake *k, kobj *o)
{
    mark_deleting(k, o, 0);
    cJSON *md = kf_obj_at(kf_meta_w(o), "metadata");
    cJSON *f = t0_json_get(md, "finalizers");
    if (!cJSON_IsArray(f)) f = cJSON_AddArrayToObject(md, "finalizers");
    cJSON_AddItemToArray(f, cJSON_CreateString("foregroundDeletion"));
    modified(k, o);
    size_t nd;
    char **duids = dependent_uids(k, o->uid, &nd);
    char *uid = strdup(o->uid);
    for (size_t i = 0; i < nd; i++) {
        kobj *d = duids[i] ? hmap_get(&k->by_uid, duids[i]) : NULL;
        if (d) kf_delete(k, d, KUBE_PROP_FOREGROUND, -1, NULL);
        free(duids[i]);
    }
    free(duids);
    if (uid) check_foreground_owner(k, uid);
    free(uid);
}

t0_status kf_delete(kfake *k, kobj *o, kube_propagation prop, int64_t grace, t0_err *err)
{
    (void)err;
    if (prop == KUBE_PROP_DEFAULT) prop = o->kind == KUBE_JOB ? KUBE_PROP_ORPHAN : KUBE_PROP_BACKGROUND;
    bool deleting = kfake_str(o->v->obj, "metadata.deletionTimestamp") != NULL;
    if (o->kind == KUBE_POD) {
        delete_pod(k, o, grace, deleting);
        return T0_OK;
    }
    if (deleting) return T0_OK;
    if (prop == KUBE_PROP_ORPHAN) orphan_dependents(k, o);
    if (prop == KUBE_PROP_FOREGROUND && kf_dependents_count(k, o->uid)) {
        delete_foreground(k, o);
    } else if (kf_has_finalizers(o)) {
        mark_deleting(k, o, 0);
        modified(k, o);
    } else {
        kf_remove_now(k, o);
    }
    return T0_OK;
}

t0_status kfake_bind_pod(kfake *k, const char *ns, const char *name, const char *node, t0_err *err)
{
    kobj *o = kf_lookup(k, KUBE_POD, ns, name);
    if (!o) return kf_not_found(KUBE_POD, name, err);
    if (kfake_str(o->v->obj, "spec.nodeName"))
        return kf_fail(err, T0_ECONFLICT, 409, "Operation cannot be fulfilled on pods/binding \"%s\": pod %s is already assigned to node \"%s\"",
                         name, name, kfake_str(o->v->obj, "spec.nodeName"));
    if (kfake_str(o->v->obj, "metadata.deletionTimestamp"))
        return kf_fail(err, T0_ECONFLICT, 409, "pod %s is being deleted, cannot be assigned to a host", name);
    /* the bound version: its own metadata and a new spec object with nodeName; every other member, and
     * every other member of the spec, shared with the version before */
    cJSON *n = cJSON_CreateObject();
    bool ok = n != NULL;
    for (cJSON *c = o->v->obj->child; ok && c; c = c->next) {
        if (!strcmp(c->string, "metadata")) {
            ok = kf_add_like(n, c, cJSON_Duplicate(c, 1));
        } else if (!strcmp(c->string, "spec") && cJSON_IsObject(c)) {
            cJSON *spec = T0_JSON_OBJ(n, "spec");
            ok = spec != NULL;
            for (cJSON *m = c->child; ok && m; m = m->next)
                if (strcmp(m->string, "nodeName") != 0) ok = kf_add_like(spec, m, kf_share(m));
            ok = ok && T0_JSON_STR(spec, "nodeName", node);
        } else {
            ok = kf_add_like(n, c, kf_share(c));
        }
    }
    if (ok && !t0_json_get(n, "spec")) ok = T0_JSON_STR(T0_JSON_OBJ(n, "spec"), "nodeName", node) != NULL;
    if (!ok) {
        cJSON_Delete(n);
        return kf_fail(err, T0_ENOMEM, 0, "bind: out of memory");
    }
    kf_store_update(k, o, n, o->v, true);
    return T0_OK;
}
