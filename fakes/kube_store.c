/* kube_store.c: the fake API server's store: objects by namespace/name and uid, their versions (shared
 * between the store, watch events and list snapshots; copy on write of the metadata), resourceVersions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakes/kube_fake_impl.h"

/* ---- stored versions -------------------------------------------------------------------------- */
/* kf_kver_new: a version owning OBJ (freed with OBJ on failure), refs 1. */
kver *kf_kver_new(cJSON *obj)
{
    kver *v = obj ? malloc(sizeof *v) : NULL;
    if (!v) {
        cJSON_Delete(obj);
        return NULL;
    }
    v->refs = 1;
    v->obj = obj;
    v->base = NULL;
    return v;
}

void kf_kver_unref(kver *v)
{
    if (!v || --v->refs > 0) return;
    cJSON_Delete(v->obj); /* leaves what reference members point to */
    kf_kver_unref(v->base);
    free(v);
}

/* derive: the object of a version derived from V that changes only its metadata and/or the member SKIP
 * (NULL: none; left out here): its own copies of scalar members and its own metadata object (whose scalar
 * members are copies too), every object or array, top-level or in the metadata (labels, annotations,
 * owner references, finalizers), shared as a reference. *BASE gets a version that keeps those references
 * alive: the one they all live in when it is one (so repeated status writes grow no chain of versions),
 * else V. NULL when out of memory. Writers of the metadata go through kf_meta_w, which makes the shared
 * members their own first. */
typedef struct derive_owner {
    kver *v, *owner;
    bool mixed;
} derive_owner;

/* shared_member: add to N a reference standing for member C of V's object (object or array), noting the
 * version its target lives in: V's base when C is itself a reference, else V */
static bool shared_member(cJSON *n, const cJSON *c, derive_owner *d)
{
    kver *in = (c->type & cJSON_IsReference) ? d->v->base : d->v;
    d->mixed = d->mixed || (d->owner && d->owner != in);
    d->owner = in;
    return kf_add_like(n, c, kf_share(c));
}

cJSON *kf_derive(kver *v, const char *skip, kver **base)
{
    cJSON *n = cJSON_CreateObject();
    derive_owner d = {v, NULL, false};
    for (cJSON *c = v->obj->child; n && c; c = c->next) {
        if (skip && !strcmp(c->string, skip)) continue;
        bool ok;
        if (!strcmp(c->string, "metadata") && cJSON_IsObject(c) && !(c->type & cJSON_IsReference)) {
            cJSON *md = cJSON_CreateObject();
            ok = kf_add_like(n, c, md);
            for (const cJSON *m = ok ? c->child : NULL; ok && m; m = m->next)
                ok = cJSON_IsObject(m) || cJSON_IsArray(m) ? shared_member(md, m, &d) : kf_add_like(md, m, cJSON_Duplicate(m, 1));
        } else if (cJSON_IsObject(c) || cJSON_IsArray(c))
            ok = shared_member(n, c, &d);
        else
            ok = kf_add_like(n, c, cJSON_Duplicate(c, 1));
        if (!ok) {
            cJSON_Delete(n);
            n = NULL;
        }
    }
    *base = d.mixed ? v : d.owner;
    return n;
}

/* own_metadata: replace the shared members of OBJ's metadata by copies of their own, before a write */
static bool own_metadata(cJSON *obj)
{
    cJSON *md = t0_json_get(obj, "metadata");
    for (cJSON *m = md ? md->child : NULL, *next; m; m = next) {
        next = m->next;
        if (!(m->type & cJSON_IsReference)) continue;
        cJSON *own = cJSON_Duplicate(m, 1); /* a copy of a reference is a deep copy of its target */
        if (!own || !cJSON_ReplaceItemViaPointer(md, m, own)) {
            cJSON_Delete(own);
            return false;
        }
    }
    return true;
}

/* kf_meta_w: O's stored object, for a write of its metadata only. A version shared with events or snapshots
 * is first replaced by a derived one (its own metadata, the rest shared). NULL when out of memory (the
 * write is lost; the stored object is unchanged). */
cJSON *kf_meta_w(kobj *o)
{
    if (o->v->refs > 1) {
        kver *base;
        cJSON *n = kf_derive(o->v, NULL, &base);
        kver *nv = n ? kf_kver_new(n) : NULL;
        if (!nv) return NULL;
        nv->base = base ? kf_kver_ref(base) : NULL;
        kf_kver_unref(o->v);
        o->v = nv;
    }
    return own_metadata(o->v->obj) ? o->v->obj : NULL; /* its metadata object is its own; now its members too */
}

/* kobj_set: O's stored object becomes NOBJ (owned; its reference members point into BASE, which the new
 * version then references, or BASE is NULL). False when out of memory (NOBJ freed, unchanged). */
static bool kobj_set(kobj *o, cJSON *nobj, kver *base)
{
    kver *n = kf_kver_new(nobj);
    if (!n) return false;
    n->base = base ? kf_kver_ref(base) : NULL;
    kf_kver_unref(o->v);
    o->v = n;
    return true;
}

/* kf_hand_out: what a port call returns for a stored object: a read-only reference when the cluster lends
 * its objects (kfake_opts.lend_objects), else a copy. cJSON_Delete releases either. */
cJSON *kf_hand_out(const kfake *k, const cJSON *obj)
{
    return k->opts.lend_objects ? cJSON_CreateObjectReference(obj->child) : cJSON_Duplicate(obj, 1);
}

/* ---- objects ---------------------------------------------------------------------------------- */
kobj *kf_lookup(kfake *k, int kind, const char *ns, const char *name)
{
    char key[600];
    t0_strjoin(key, sizeof key, ns ? ns : "", "/", name ? name : "");
    return hmap_get(&k->objs[kind], key);
}

void kf_kobj_free(kobj *o)
{
    if (!o) return;
    free(o->nodes);
    if (o->v) kf_kver_unref(o->v);
    free(o->key);
    free(o->ns);
    free(o->name);
    free(o->uid);
    free(o);
}

/* kf_stamp_rv: the next resourceVersion into OBJ's metadata. kf_bump_rv: the same on O's stored object. */
void kf_stamp_rv(kfake *k, cJSON *obj)
{
    char b[32];
    kf_rv_str(++k->rv, b, sizeof b);
    kf_set_str(kf_obj_at(obj, "metadata"), "resourceVersion", b);
}

void kf_bump_rv(kfake *k, kobj *o) { kf_stamp_rv(k, kf_meta_w(o)); }

/* kf_store_update: replace O's object by NOBJ (owned; its reference members point into BASE, or NULL), bump
 * its resourceVersion, reindex unless the caller knows labels and owner references are unchanged
 * (SAME_LABELS), emit MODIFIED. */
void kf_store_update(kfake *k, kobj *o, cJSON *nobj, kver *base, bool same_labels)
{
    kver *old = kf_kver_ref(o->v);
    kf_stamp_rv(k, nobj); /* its metadata is its own even when it borrows from BASE */
    if (!kobj_set(o, nobj, base)) {
        kf_kver_unref(old);
        return;
    }
    if (!same_labels) { /* labels and owner references are what the index holds */
        kf_unindex(k, o);
        kf_index(k, o);
    }
    kf_emit(k, KUBE_WATCH_MODIFIED, o, same_labels ? NULL : old);
    kf_kver_unref(old);
}

kobj *kf_store_insert(kfake *k, int kind, const char *ns, const char *name, const char *uid, cJSON *obj)
{
    kobj *ko = calloc(1, sizeof *ko);
    if (!ko) goto nomem;
    ko->kind = kind;
    ko->ns = strdup(ns);
    ko->name = strdup(name);
    ko->uid = strdup(uid);
    size_t klen = strlen(ns) + strlen(name) + 2;
    ko->key = malloc(klen);
    if (!ko->ns || !ko->name || !ko->uid || !ko->key) goto nomem;
    t0_strjoin(ko->key, klen, ns, "/", name);
    ko->v = kf_kver_new(obj);
    obj = NULL;
    if (!ko->v) goto nomem;
    if (hmap_put(&k->objs[kind], ko->key, ko, NULL) != T0_OK) goto nomem;
    if (hmap_put(&k->by_uid, ko->uid, ko, NULL) != T0_OK) {
        hmap_del(&k->objs[kind], ko->key);
        goto nomem;
    }
    if (kf_index(k, ko) != T0_OK) {
        kf_unindex(k, ko);
        hmap_del(&k->objs[kind], ko->key);
        hmap_del(&k->by_uid, ko->uid);
        goto nomem;
    }
    kf_emit(k, KUBE_WATCH_ADDED, ko, NULL);
    return ko;
nomem:
    cJSON_Delete(obj);
    kf_kobj_free(ko);
    return NULL;
}
