/* store_fake.c: the fake MongoDB desired-state store (see store_fake.h). */
#include "fakes/store_fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hmap.h"
#include "core/json.h"
#include "domain/docver.h"
#include "fakes/fake_faults.h"

/* One document: a hash-map entry plus a place in the collection's insertion-ordered list, so that
 * find_enabled returns documents in insertion order (as a collection scan without sort does). */
typedef struct sdoc {
    cJSON *doc;
    uint64_t rev; /* the store's write counter when the document was last written (never reused) */
    bool enabled; /* storefake_doc_enabled(doc), decided when it was written */
    struct sdoc *prev, *next;
    struct sdoc *same; /* the next document with the same id (no unique index: storefake_put_duplicate) */
} sdoc;

typedef struct scoll {
    hmap by_id; /* id -> the first sdoc* with that id */
    sdoc *head, *tail;
    size_t n;
} scoll;

struct storefake {
    struct sim_faults *faults;
    bool down;
    bool restoring; /* reads find nothing (storefake_set_restoring) */
    scoll colls[STORE__COLLS];
    storefake_change_fn on_change;
    void *on_change_ud;
    storefake_position_fn position;
    void *position_ud;
    storefake_stats stats;
    uint64_t writes; /* document revisions */
};

static scoll *coll_of(storefake *s, store_coll c) { return (unsigned)c < STORE__COLLS ? &s->colls[c] : NULL; }

t0_status storefake_new(struct sim_faults *faults, storefake **out, t0_err *err)
{
    storefake *s = calloc(1, sizeof *s);
    if (!s) return t0_fail(err, T0_ENOMEM, "storefake_new: out of memory");
    s->faults = faults;
    for (int i = 0; i < STORE__COLLS; i++) hmap_init(&s->colls[i].by_id);
    *out = s;
    return T0_OK;
}

void storefake_destroy(storefake *s)
{
    if (!s) return;
    for (int i = 0; i < STORE__COLLS; i++) {
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
void storefake_set_restoring(storefake *s, bool on) { s->restoring = on; }
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

void storefake_set_position(storefake *s, storefake_position_fn fn, void *ud)
{
    s->position = fn;
    s->position_ud = ud;
}

/* notify: the observer sees the desired-state collections (not the tombstones) */
static void notify(storefake *s, store_coll c, const char *id, const cJSON *doc)
{
    if (s->on_change && c <= STORE_SCHEDULES) s->on_change(s->on_change_ud, c, id, doc);
}

/* append: a new document record at the end of SC's insertion list (not in by_id) */
static sdoc *append(scoll *sc)
{
    sdoc *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->prev = sc->tail;
    if (sc->tail) sc->tail->next = d;
    else sc->head = d;
    sc->tail = d;
    sc->n++;
    return d;
}

static void unlink_doc(scoll *sc, sdoc *d)
{
    if (d->prev) d->prev->next = d->next;
    else sc->head = d->next;
    if (d->next) d->next->prev = d->prev;
    else sc->tail = d->prev;
    sc->n--;
    cJSON_Delete(d->doc);
    free(d);
}

/* set_doc: D holds DOC (ownership taken) from now, at a new revision */
static void set_doc(storefake *s, store_coll c, const char *id, sdoc *d, cJSON *doc)
{
    cJSON_Delete(d->doc);
    d->doc = doc;
    d->rev = ++s->writes;
    d->enabled = storefake_doc_enabled(doc);
    notify(s, c, id, doc);
}

/* Insert or replace ID's (first) document with DOC (ownership taken). */
static t0_status put_owned(storefake *s, store_coll c, const char *id, cJSON *doc, t0_err *err)
{
    scoll *sc = coll_of(s, c);
    if (!sc) {
        cJSON_Delete(doc);
        return t0_fail(err, T0_EINVAL, "store: unknown collection %d", (int)c);
    }
    sdoc *d = hmap_get(&sc->by_id, id);
    if (!d) {
        d = append(sc);
        if (!d || hmap_put(&sc->by_id, id, d, NULL) != T0_OK) {
            if (d) unlink_doc(sc, d);
            cJSON_Delete(doc);
            return t0_fail(err, T0_ENOMEM, "store %s: insert %s: out of memory", store_coll_name(c), id);
        }
    }
    set_doc(s, c, id, d, doc);
    return T0_OK;
}

/* del_matching: remove every document with ID older than OLDER (NULL: every one); how many went in *N */
static t0_status del_matching(storefake *s, store_coll c, const char *id, const docver *older, size_t *n, t0_err *err)
{
    scoll *sc = coll_of(s, c);
    *n = 0;
    if (!sc) return t0_fail(err, T0_EINVAL, "store: unknown collection %d", (int)c);
    sdoc *first = hmap_get(&sc->by_id, id), *keep = NULL, **tail = &keep;
    for (sdoc *d = first, *nx; d; d = nx) {
        nx = d->same;
        if (!older || docver_older(d->doc, older)) {
            unlink_doc(sc, d);
            (*n)++;
        } else {
            *tail = d;
            tail = &d->same;
            d->same = NULL;
        }
    }
    if (!*n) return T0_OK;
    if (keep) hmap_put(&sc->by_id, id, keep, NULL);
    else hmap_del(&sc->by_id, id);
    notify(s, c, id, keep ? keep->doc : NULL);
    return T0_OK;
}

static t0_status del_doc(storefake *s, store_coll c, const char *id, t0_err *err)
{
    size_t n;
    t0_status st = del_matching(s, c, id, NULL, &n, err);
    if (st == T0_OK && !n) return t0_fail(err, T0_ENOTFOUND, "store %s: remove %s: no such document", store_coll_name(c), id);
    return st;
}

/* gate: the outage switch, then the fault point. A write whose fault is timeout-applied gets T0_OK and
 * *LATE (which must not be NULL for writes) set to the failure to answer once the write is done. */
static t0_status gate_w(storefake *s, const char *point, store_coll c, const char *id, t0_status *late, t0_err *err)
{
    if (late) *late = T0_OK;
    if (s->down) {
        s->stats.failures++;
        return t0_fail(err, T0_EUNAVAILABLE, "%s %s%s%s: server selection timeout (outage)", point,
                       store_coll_name(c), id ? " " : "", id ? id : "");
    }
    fake_fault ff;
    if (fake_fault_at(s->faults, point, &ff, err) != FAKE_FAULT_ERROR) return T0_OK;
    s->stats.failures++;
    t0_err_prefix(err, "%s %s%s%s", point, store_coll_name(c), id ? " " : "", id ? id : "");
    if (!ff.applied || !late) return ff.status;
    *late = ff.status;
    return T0_OK;
}

static t0_status gate(storefake *s, const char *point, store_coll c, const char *id, t0_err *err)
{
    return gate_w(s, point, c, id, NULL, err);
}

/* late: the answer of a write whose fault said it is applied but times out (ST: the write's own) */
static t0_status late_answer(t0_status st, t0_status late, const t0_err *fault, t0_err *err)
{
    if (st != T0_OK || late == T0_OK) return st;
    if (err) *err = *fault;
    return late;
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
    if (arr && s->restoring) { /* the collections were dropped and are being filled again */
        *out = arr;
        return T0_OK;
    }
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
    scoll *sc = coll_of(s, c);
    const sdoc *d = sc && id && !(s->restoring && c <= STORE_SCHEDULES) ? hmap_get(&sc->by_id, id) : NULL;
    if (!d) return t0_fail(err, T0_ENOTFOUND, "mongo/get %s %s: no such document", store_coll_name(c), id);
    if (d->same) {
        size_t n = 0;
        for (const sdoc *x = d; x; x = x->same) n++;
        return t0_fail(err, T0_EEXIST, "mongo/get %s %s: %zu documents have this id", store_coll_name(c), id, n);
    }
    *out = cJSON_Duplicate(d->doc, 1);
    if (!*out) return t0_fail(err, T0_ENOMEM, "mongo/get %s %s: out of memory", store_coll_name(c), id);
    return T0_OK;
}

/* with_fields: a copy of OLD (NULL: {"id": ID}) with each top-level field of FIELDS set ($set) */
static cJSON *with_fields(const cJSON *old, const char *id, const cJSON *fields)
{
    cJSON *doc = old ? cJSON_Duplicate(old, 1) : cJSON_CreateObject();
    if (!doc) return NULL;
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
    return doc;
oom:
    cJSON_Delete(doc);
    return NULL;
}

static t0_status p_upsert(void *ctx, store_coll c, const char *id, const cJSON *fields, t0_err *err)
{
    storefake *s = ctx;
    s->stats.upserts++;
    if (!id || !cJSON_IsObject(fields))
        return t0_fail(err, T0_EINVAL, "mongo/upsert %s: need an id and an object of fields", store_coll_name(c));
    t0_status late;
    t0_err fe = {0};
    t0_status st = gate_w(s, "mongo/upsert", c, id, &late, &fe);
    if (st != T0_OK) return err ? (*err = fe, st) : st;
    cJSON *doc = with_fields(storefake_peek(s, c, id), id, fields);
    if (!doc) return t0_fail(err, T0_ENOMEM, "mongo/upsert %s %s: out of memory", store_coll_name(c), id);
    return late_answer(put_owned(s, c, id, doc, err), late, &fe, err);
}

static t0_status p_remove(void *ctx, store_coll c, const char *id, t0_err *err)
{
    storefake *s = ctx;
    s->stats.removes++;
    t0_status late;
    t0_err fe = {0};
    t0_status st = gate_w(s, "mongo/remove", c, id, &late, &fe);
    if (st != T0_OK) return err ? (*err = fe, st) : st;
    return late_answer(del_doc(s, c, id, err), late, &fe, err);
}

/* due: whether tombstone DOC may be removed at BEFORE_MS */
static bool due(const cJSON *doc, int64_t before_ms)
{
    const cJSON *e = t0_json_get(doc, STORE_EXPIRES_FIELD);
    return cJSON_IsNumber(e) && e->valuedouble <= (double)before_ms;
}

static t0_status w_expire(storefake *s, const store_write *w, t0_err *err)
{
    scoll *sc = coll_of(s, w->coll);
    /* first the ids whose every document is due, then their removal (which changes the list) */
    char **ids = sc->n ? calloc(sc->n, sizeof *ids) : NULL;
    size_t n = 0;
    t0_status st = T0_OK;
    if (sc->n && !ids) return t0_fail(err, T0_ENOMEM, "mongo/write %s: expire: out of memory", store_coll_name(w->coll));
    for (const sdoc *d = sc->head; d; d = d->next) {
        const cJSON *idj = t0_json_get(d->doc, "id");
        const sdoc *first = cJSON_IsString(idj) ? hmap_get(&sc->by_id, idj->valuestring) : NULL;
        if (first != d) continue; /* each id once, at its first document */
        bool all = true;
        for (const sdoc *x = first; x; x = x->same) all &= due(x->doc, w->before_ms);
        if (all && !(ids[n++] = strdup(idj->valuestring))) st = t0_fail(err, T0_ENOMEM, "mongo/write: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        size_t gone;
        if (st == T0_OK && ids[i]) st = del_matching(s, w->coll, ids[i], NULL, &gone, err);
        free(ids[i]);
    }
    free(ids);
    return st;
}

static t0_status write_apply(storefake *s, const store_write *w, scoll *sc, const docver *older, t0_err *err);

static t0_status p_write(void *ctx, const store_write *w, t0_err *err)
{
    storefake *s = ctx;
    s->stats.writes++;
    scoll *sc = coll_of(s, w->coll);
    docver older = {0};
    if (!sc || (w->op != STORE_W_EXPIRE && !w->id) || ((w->op == STORE_W_SET || w->op == STORE_W_INSERT) && !cJSON_IsObject(w->fields)) ||
        (w->older_than && !docver_parse(w->older_than, &older)))
        return t0_fail(err, T0_EINVAL, "mongo/write: bad collection, id, fields or version");
    const char *point = w->op == STORE_W_SET || w->op == STORE_W_INSERT ? "mongo/upsert" : "mongo/remove";
    t0_status late;
    t0_err fe = {0};
    t0_status st = gate_w(s, point, w->coll, w->id, &late, &fe);
    if (st != T0_OK) return err ? (*err = fe, st) : st;
    return late_answer(write_apply(s, w, sc, &older, err), late, &fe, err);
}

/* write_apply: the conditional write W (its gate passed) on collection SC */
static t0_status write_apply(storefake *s, const store_write *w, scoll *sc, const docver *olderp, t0_err *err)
{
    const char *cn = store_coll_name(w->coll);
    docver older = *olderp;
    t0_status st;
    switch (w->op) {
    case STORE_W_SET: {
        sdoc *d = hmap_get(&sc->by_id, w->id);
        while (d && w->older_than && !docver_older(d->doc, &older)) d = d->same;
        if (!d) return t0_fail(err, T0_ECONFLICT, "mongo/write %s %s: no document older than %s", cn, w->id,
                               w->older_than ? w->older_than : "(any)");
        cJSON *doc = with_fields(d->doc, w->id, w->fields);
        if (!doc) return t0_fail(err, T0_ENOMEM, "mongo/write %s %s: out of memory", cn, w->id);
        set_doc(s, w->coll, w->id, d, doc);
        return T0_OK;
    }
    case STORE_W_INSERT:
        if (hmap_get(&sc->by_id, w->id)) return t0_fail(err, T0_EEXIST, "mongo/write %s %s: a document exists", cn, w->id);
        {
            cJSON *doc = with_fields(NULL, w->id, w->fields);
            if (!doc) return t0_fail(err, T0_ENOMEM, "mongo/write %s %s: out of memory", cn, w->id);
            return put_owned(s, w->coll, w->id, doc, err);
        }
    case STORE_W_REMOVE: {
        size_t n;
        st = del_matching(s, w->coll, w->id, w->older_than ? &older : NULL, &n, err);
        if (st == T0_OK && !n)
            st = t0_fail(err, T0_ECONFLICT, "mongo/write %s %s: no document older than %s to remove", cn, w->id,
                         w->older_than ? w->older_than : "(any)");
        return st;
    }
    case STORE_W_EXPIRE:
        return w_expire(s, w, err);
    }
    return t0_fail(err, T0_EINVAL, "mongo/write: unknown operation %d", (int)w->op);
}

store_port storefake_port(storefake *s)
{
    return (store_port){.ctx = s,
                        .find_enabled = p_find_enabled,
                        .get = p_get,
                        .upsert = p_upsert,
                        .remove = p_remove,
                        .write = p_write};
}

/* direct_version: the version a direct write gets now (docs/intake.md), in OUT; false without a position
 * source */
static bool direct_version(storefake *s, char out[DOCVER_TEXT_MAX])
{
    if (!s->position) return false;
    docver v = s->position(s->position_ud);
    if (!docver_is_set(&v)) return false;
    v.direct = true;
    docver_format(&v, out);
    return true;
}

/* direct_doc: a copy of DOC with "id" ID and, with a position source, the direct write's version */
static cJSON *direct_doc(storefake *s, const char *id, const cJSON *doc)
{
    cJSON *cp = cJSON_Duplicate(doc, 1), *idv = cJSON_CreateString(id);
    if (!cp || !idv) {
        cJSON_Delete(cp);
        cJSON_Delete(idv);
        return NULL;
    }
    if (t0_json_get(cp, "id")) cJSON_ReplaceItemInObjectCaseSensitive(cp, "id", idv); /* keeps its place */
    else cJSON_AddItemToObject(cp, "id", idv);
    cJSON_DeleteItemFromObjectCaseSensitive(cp, STORE_VERSION_FIELD);
    char ver[DOCVER_TEXT_MAX];
    if (direct_version(s, ver) && !cJSON_AddStringToObject(cp, STORE_VERSION_FIELD, ver)) {
        cJSON_Delete(cp);
        return NULL;
    }
    return cp;
}

t0_status storefake_put(storefake *s, store_coll c, const char *id, const cJSON *doc, t0_err *err)
{
    if (!id || !*id || !cJSON_IsObject(doc) || c > STORE_SCHEDULES)
        return t0_fail(err, T0_EINVAL, "store put: need a desired-state collection, a non-empty id and a JSON object");
    cJSON *cp = direct_doc(s, id, doc);
    if (!cp) return t0_fail(err, T0_ENOMEM, "store put %s: out of memory", id);
    return put_owned(s, c, id, cp, err);
}

t0_status storefake_put_duplicate(storefake *s, store_coll c, const char *id, const cJSON *doc, t0_err *err)
{
    scoll *sc = coll_of(s, c);
    if (!id || !*id || !cJSON_IsObject(doc) || c > STORE_SCHEDULES)
        return t0_fail(err, T0_EINVAL, "store put-duplicate: need a desired-state collection, a non-empty id and a JSON object");
    sdoc *first = hmap_get(&sc->by_id, id);
    if (!first) return storefake_put(s, c, id, doc, err);
    cJSON *cp = direct_doc(s, id, doc);
    sdoc *d = cp ? append(sc) : NULL;
    if (!d) {
        cJSON_Delete(cp);
        return t0_fail(err, T0_ENOMEM, "store put-duplicate %s: out of memory", id);
    }
    sdoc *last = first;
    while (last->same) last = last->same;
    last->same = d;
    set_doc(s, c, id, d, cp);
    return T0_OK;
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
    t0_status st = storefake_put(s, c, id, doc, err);
    cJSON_Delete(doc);
    return st;
}

t0_status storefake_del(storefake *s, store_coll c, const char *id, t0_err *err)
{
    if (c > STORE_SCHEDULES) return t0_fail(err, T0_EINVAL, "store del: not a desired-state collection");
    char ver[DOCVER_TEXT_MAX];
    if (direct_version(s, ver)) { /* the direct delete's tombstone: older events of this id stay undone */
        cJSON *t = cJSON_CreateObject();
        if (!t || !cJSON_AddStringToObject(t, STORE_VERSION_FIELD, ver)) {
            cJSON_Delete(t);
            return t0_fail(err, T0_ENOMEM, "store del %s: out of memory", id);
        }
        cJSON *tomb = with_fields(NULL, id, t);
        cJSON_Delete(t);
        if (!tomb) return t0_fail(err, T0_ENOMEM, "store del %s: out of memory", id);
        t0_status st = put_owned(s, store_tombstones(c), id, tomb, err);
        if (st != T0_OK) return st;
    }
    return del_doc(s, c, id, err);
}

const cJSON *storefake_peek(const storefake *s, store_coll c, const char *id)
{
    if ((unsigned)c >= STORE__COLLS || !id) return NULL;
    sdoc *d = hmap_get(&s->colls[c].by_id, id);
    return d ? d->doc : NULL;
}

size_t storefake_count(const storefake *s, store_coll c) { return (unsigned)c < STORE__COLLS ? s->colls[c].n : 0; }

void storefake_get_stats(const storefake *s, storefake_stats *out) { *out = s->stats; }
