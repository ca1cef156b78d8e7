/* store_fake.c: the fake MongoDB desired-state store (see store_fake.h). */
#include "fakes/store_fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hmap.h"
#include "core/json.h"
#include "fakes/fake_faults.h"

/* One document: a hash-map entry plus a place in the collection's insertion-ordered list, so that
 * find_enabled returns documents in insertion order (as a collection scan without sort does). */
typedef struct sdoc {
    cJSON *doc;
    uint64_t rev; /* the store's write counter when the document was last written (never reused) */
    bool enabled; /* storefake_doc_enabled(doc), decided when it was written */
    struct sdoc *prev, *next;
} sdoc;

typedef struct scoll {
    hmap by_id; /* id -> sdoc* */
    sdoc *head, *tail;
    size_t n;
} scoll;

struct storefake {
    struct sim_faults *faults;
    bool down;
    scoll colls[2];
    storefake_change_fn on_change;
    void *on_change_ud;
    storefake_stats stats;
    uint64_t writes; /* document revisions */
};

static scoll *coll_of(storefake *s, store_coll c) { return (unsigned)c < 2 ? &s->colls[c] : NULL; }

t0_status storefake_new(struct sim_faults *faults, storefake **out, t0_err *err)
{
    storefake *s = calloc(1, sizeof *s);
    if (!s) return t0_fail(err, T0_ENOMEM, "storefake_new: out of memory");
    s->faults = faults;
    for (int i = 0; i < 2; i++) hmap_init(&s->colls[i].by_id);
    *out = s;
    return T0_OK;
}

void storefake_destroy(storefake *s)
{
    if (!s) return;
    for (int i = 0; i < 2; i++) {
        for (sdoc *d = s->colls[i].head, *nx; d; d = nx) {
            nx = d->next;
            cJSON_Delete(d->doc);
            free(d);
        }
        hmap_free(&s->colls[i].by_id);
    }
    free(s);
}

void storefake_set_outage(storefake *s, bool down) { s->down = down; }
bool storefake_outage(const storefake *s) { return s->down; }
void storefake_on_change(storefake *s, storefake_change_fn fn, void *ud)
{
    s->on_change = fn;
    s->on_change_ud = ud;
}

bool storefake_doc_enabled(const cJSON *doc)
{
    const cJSON *cfg = t0_json_get(doc, "config");
    if (!cJSON_IsObject(cfg)) return true;
    const cJSON *en = t0_json_get(cfg, "enabled");
    return !cJSON_IsFalse(en);
}

static void notify(storefake *s, store_coll c, const char *id, const cJSON *doc)
{
    if (s->on_change) s->on_change(s->on_change_ud, c, id, doc);
}

/* Insert or replace ID's document with DOC (ownership taken). */
static t0_status put_owned(storefake *s, store_coll c, const char *id, cJSON *doc, t0_err *err)
{
    scoll *sc = coll_of(s, c);
    if (!sc) {
        cJSON_Delete(doc);
        return t0_fail(err, T0_EINVAL, "store: unknown collection %d", (int)c);
    }
    sdoc *d = hmap_get(&sc->by_id, id);
    if (d)
        cJSON_Delete(d->doc);
    else {
        d = calloc(1, sizeof *d);
        if (!d || hmap_put(&sc->by_id, id, d, NULL) != T0_OK) {
            free(d);
            cJSON_Delete(doc);
            return t0_fail(err, T0_ENOMEM, "store %s: insert %s: out of memory", store_coll_name(c), id);
        }
        d->prev = sc->tail;
        if (sc->tail) sc->tail->next = d;
        else sc->head = d;
        sc->tail = d;
        sc->n++;
    }
    d->doc = doc;
    d->rev = ++s->writes;
    d->enabled = storefake_doc_enabled(doc);
    notify(s, c, id, doc);
    return T0_OK;
}

static t0_status del_doc(storefake *s, store_coll c, const char *id, t0_err *err)
{
    scoll *sc = coll_of(s, c);
    if (!sc) return t0_fail(err, T0_EINVAL, "store: unknown collection %d", (int)c);
    sdoc *d = hmap_del(&sc->by_id, id);
    if (!d) return t0_fail(err, T0_ENOTFOUND, "store %s: remove %s: no such document", store_coll_name(c), id);
    if (d->prev) d->prev->next = d->next;
    else sc->head = d->next;
    if (d->next) d->next->prev = d->prev;
    else sc->tail = d->prev;
    sc->n--;
    cJSON_Delete(d->doc);
    free(d);
    notify(s, c, id, NULL);
    return T0_OK;
}

/* gate: the outage switch, then the fault point. */
static t0_status gate(storefake *s, const char *point, store_coll c, const char *id, t0_err *err)
{
    if (s->down) {
        s->stats.failures++;
        return t0_fail(err, T0_EUNAVAILABLE, "%s %s%s%s: server selection timeout (outage)", point,
                       store_coll_name(c), id ? " " : "", id ? id : "");
    }
    t0_status st = fake_fault_call(s->faults, point, err);
    if (st != T0_OK) {
        s->stats.failures++;
        t0_err_prefix(err, "%s %s%s%s", point, store_coll_name(c), id ? " " : "", id ? id : "");
    }
    return st;
}

static t0_status p_find_enabled(void *ctx, store_coll c, cJSON **out, uint64_t **revs, t0_err *err)
{
    storefake *s = ctx;
    s->stats.finds++;
    *out = NULL;
    if (revs) *revs = NULL;
    scoll *sc = coll_of(s, c);
    if (!sc) return t0_fail(err, T0_EINVAL, "mongo/find: unknown collection %d", (int)c);
    t0_status st = gate(s, "mongo/find", c, NULL, err);
    if (st != T0_OK) return st;
    cJSON *arr = cJSON_CreateArray();
    uint64_t *rv = revs && sc->n ? malloc(sc->n * sizeof *rv) : NULL;
    if (!arr || (revs && sc->n && !rv)) goto oom;
    size_t n = 0;
    for (sdoc *d = sc->head; d; d = d->next) {
        if (!d->enabled) continue;
        /* a reference, not a copy: the port allows it (read-only, freed before the next call) */
        if (!cJSON_AddItemReferenceToArray(arr, d->doc)) goto oom;
        if (rv) rv[n] = d->rev;
        n++;
    }
    *out = arr;
    if (revs) *revs = rv;
    return T0_OK;
oom:
    cJSON_Delete(arr);
    free(rv);
    return t0_fail(err, T0_ENOMEM, "mongo/find %s: out of memory", store_coll_name(c));
}

static t0_status p_get(void *ctx, store_coll c, const char *id, cJSON **out, t0_err *err)
{
    storefake *s = ctx;
    s->stats.gets++;
    *out = NULL;
    t0_status st = gate(s, "mongo/get", c, id, err);
    if (st != T0_OK) return st;
    const cJSON *d = storefake_peek(s, c, id);
    if (!d) return t0_fail(err, T0_ENOTFOUND, "mongo/get %s %s: no such document", store_coll_name(c), id);
    *out = cJSON_Duplicate(d, 1);
    if (!*out) return t0_fail(err, T0_ENOMEM, "mongo/get %s %s: out of memory", store_coll_name(c), id);
    return T0_OK;
}

static t0_status p_upsert(void *ctx, store_coll c, const char *id, const cJSON *fields, t0_err *err)
{
    storefake *s = ctx;
    s->stats.upserts++;
    if (!id || !cJSON_IsObject(fields))
        return t0_fail(err, T0_EINVAL, "mongo/upsert %s: need an id and an object of fields", store_coll_name(c));
    t0_status st = gate(s, "mongo/upsert", c, id, err);
    if (st != T0_OK) return st;
    const cJSON *old = storefake_peek(s, c, id);
    cJSON *doc = old ? cJSON_Duplicate(old, 1) : cJSON_CreateObject();
    if (!doc) return t0_fail(err, T0_ENOMEM, "mongo/upsert %s %s: out of memory", store_coll_name(c), id);
    if (!old && !cJSON_AddStringToObject(doc, "id", id)) goto oom;
    for (const cJSON *f = fields->child; f; f = f->next) {
        cJSON *cp = cJSON_Duplicate(f, 1);
        if (!cp) goto oom;
        if (t0_json_get(doc, f->string)) {
            if (!cJSON_ReplaceItemInObjectCaseSensitive(doc, f->string, cp)) {
                cJSON_Delete(cp);
                goto oom;
            }
        } else if (!cJSON_AddItemToObject(doc, f->string, cp)) {
            cJSON_Delete(cp);
            goto oom;
        }
    }
    return put_owned(s, c, id, doc, err);
oom:
    cJSON_Delete(doc);
    return t0_fail(err, T0_ENOMEM, "mongo/upsert %s %s: out of memory", store_coll_name(c), id);
}

static t0_status p_remove(void *ctx, store_coll c, const char *id, t0_err *err)
{
    storefake *s = ctx;
    s->stats.removes++;
    t0_status st = gate(s, "mongo/remove", c, id, err);
    if (st != T0_OK) return st;
    return del_doc(s, c, id, err);
}

store_port storefake_port(storefake *s)
{
    return (store_port){.ctx = s, .find_enabled = p_find_enabled, .get = p_get, .upsert = p_upsert, .remove = p_remove};
}

t0_status storefake_put(storefake *s, store_coll c, const char *id, const cJSON *doc, t0_err *err)
{
    if (!id || !*id || !cJSON_IsObject(doc))
        return t0_fail(err, T0_EINVAL, "store put: need a non-empty id and a JSON object");
    cJSON *cp = cJSON_Duplicate(doc, 1);
    if (!cp) return t0_fail(err, T0_ENOMEM, "store put %s: out of memory", id);
    cJSON *idv = cJSON_CreateString(id);
    if (!idv) {
        cJSON_Delete(cp);
        return t0_fail(err, T0_ENOMEM, "store put %s: out of memory", id);
    }
    if (t0_json_get(cp, "id")) cJSON_ReplaceItemInObjectCaseSensitive(cp, "id", idv);
    else cJSON_AddItemToObject(cp, "id", idv);
    return put_owned(s, c, id, cp, err);
}

t0_status storefake_put_broken(storefake *s, store_coll c, const char *id, t0_err *err)
{
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"id\":\"%s\",\"config\":\"not-an-object\",\"custom\":{\"version\":\"1.0.0\","
             "\"filePath\":\"u/broken/1.0.0\",\"config\":{\"name\":\"broken\",\"runtime\":\"python3.11\","
             "\"entrypoints\":{\"bot\":42}}}}",
             id);
    cJSON *doc = cJSON_Parse(buf);
    if (!doc) return t0_fail(err, T0_EINVAL, "store put-broken: bad id %s", id);
    return put_owned(s, c, id, doc, err);
}

t0_status storefake_del(storefake *s, store_coll c, const char *id, t0_err *err) { return del_doc(s, c, id, err); }

const cJSON *storefake_peek(const storefake *s, store_coll c, const char *id)
{
    if ((unsigned)c >= 2 || !id) return NULL;
    sdoc *d = hmap_get(&s->colls[c].by_id, id);
    return d ? d->doc : NULL;
}

size_t storefake_count(const storefake *s, store_coll c) { return (unsigned)c < 2 ? s->colls[c].n : 0; }

void storefake_get_stats(const storefake *s, storefake_stats *out) { *out = s->stats; }
