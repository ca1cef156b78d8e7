/* objstore_fake.c: the fake MinIO (see objstore_fake.h). */
#include "fakes/objstore_fake.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/hash.h"
#include "core/hmap.h"
#include "core/str.h"
#include "fakes/fake_faults.h"

typedef struct obucket {
    hmap objs; /* key -> objfake_object* */
} obucket;

struct objfake {
    struct sim_faults *faults;
    bool down;
    hmap buckets; /* name -> obucket* */
    objfake_change_fn on_change;
    void *on_change_ud;
    objfake_stats stats;
};

void objfake_md5_hex(const void *data, size_t len, char out[33])
{
    unsigned char md[HASH_DIGEST_MAX];
    if (hash_digest(HASH_MD5, data, len, md) != 16) memset(md, 0, 16);
    t0_hex(md, 16, out);
}

/* The MD5 of a body is kept as a digest context over it (never finalized): a body that starts with the one it
 * replaces — a log object a sidecar appends to — costs the MD5 of the appended bytes only. */
const char *objfake_etag(const objfake_object *ob)
{
    objfake_object *w = (objfake_object *)ob; /* a cache of a pure function of the body */
    if (w->etag[0]) return w->etag;
    if (!w->md5 && (w->md5 = EVP_MD_CTX_new()) &&
        (!EVP_DigestInit_ex(w->md5, EVP_md5(), NULL) || !EVP_DigestUpdate(w->md5, w->data, w->len))) {
        EVP_MD_CTX_free(w->md5);
        w->md5 = NULL;
    }
    EVP_MD_CTX *fin = w->md5 ? EVP_MD_CTX_new() : NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (fin && EVP_MD_CTX_copy_ex(fin, w->md5) && EVP_DigestFinal_ex(fin, md, &n) && n == 16)
        t0_hex(md, 16, w->etag);
    else
        objfake_md5_hex(w->data, w->len, w->etag);
    EVP_MD_CTX_free(fin);
    t0_strlcpy(w->meta.etag, w->etag, sizeof w->meta.etag);
    return w->etag;
}

static void obj_free(objfake_object *ob)
{
    if (!ob) return;
    EVP_MD_CTX_free(ob->md5);
    free(ob->data);
    free(ob);
}

t0_status objfake_new(struct sim_faults *faults, objfake **out, t0_err *err)
{
    objfake *o = calloc(1, sizeof *o);
    if (!o) return t0_fail(err, T0_ENOMEM, "objfake_new: out of memory");
    o->faults = faults;
    hmap_init(&o->buckets);
    *out = o;
    return T0_OK;
}

void objfake_destroy(objfake *o)
{
    if (!o) return;
    for (hmap_entry *e = hmap_first(&o->buckets); e; e = hmap_next(&o->buckets, e)) {
        obucket *b = e->val;
        for (hmap_entry *oe = hmap_first(&b->objs); oe; oe = hmap_next(&b->objs, oe)) obj_free(oe->val);
        hmap_free(&b->objs);
        free(b);
    }
    hmap_free(&o->buckets);
    free(o);
}

void objfake_set_outage(objfake *o, bool down) { o->down = down; }
void objfake_on_change(objfake *o, objfake_change_fn fn, void *ud)
{
    o->on_change = fn;
    o->on_change_ud = ud;
}
void objfake_get_stats(const objfake *o, objfake_stats *out) { *out = o->stats; }
uint64_t objfake_mem_held(const objfake *o)
{
    return o->stats.mem_get_max > o->stats.mem_put_max ? o->stats.mem_get_max : o->stats.mem_put_max;
}

static obucket *bucket_of(const objfake *o, const char *name) { return name ? hmap_get(&o->buckets, name) : NULL; }

t0_status objfake_create_bucket(objfake *o, const char *bucket, t0_err *err)
{
    if (!bucket || !*bucket) return t0_fail(err, T0_EINVAL, "s3 create bucket: empty name");
    if (bucket_of(o, bucket)) return T0_OK;
    obucket *b = calloc(1, sizeof *b);
    if (!b) return t0_fail(err, T0_ENOMEM, "s3 create bucket %s: out of memory", bucket);
    hmap_init(&b->objs);
    if (hmap_put(&o->buckets, bucket, b, NULL) != T0_OK) {
        free(b);
        return t0_fail(err, T0_ENOMEM, "s3 create bucket %s: out of memory", bucket);
    }
    return T0_OK;
}

bool objfake_has_bucket(const objfake *o, const char *bucket) { return bucket_of(o, bucket) != NULL; }

const objfake_object *objfake_peek(const objfake *o, const char *bucket, const char *key)
{
    obucket *b = bucket_of(o, bucket);
    return b && key ? hmap_get(&b->objs, key) : NULL;
}

size_t objfake_count(const objfake *o, const char *bucket)
{
    obucket *b = bucket_of(o, bucket);
    return b ? b->objs.count : 0;
}

/* gate_w: ask the fault point; *APPLIED (may be NULL: never) when the injected failure is a timeout after the
 * write was done, which the caller then does before it fails. */
static t0_status gate_w(objfake *o, const char *point, const char *bucket, const char *key, bool *applied, t0_err *err)
{
    if (applied) *applied = false;
    if (o->down) {
        o->stats.failures++;
        return t0_fail(err, T0_EUNAVAILABLE, "%s %s/%s: connection refused (outage)", point, bucket ? bucket : "",
                       key ? key : "");
    }
    fake_fault ff = {0};
    t0_status st = fake_fault_at(o->faults, point, &ff, err) == FAKE_FAULT_ERROR ? ff.status : T0_OK;
    if (st != T0_OK) {
        o->stats.failures++;
        t0_err_prefix(err, "%s %s/%s", point, bucket ? bucket : "", key ? key : "");
        if (applied && ff.applied) *applied = true;
    }
    return st;
}

static t0_status gate(objfake *o, const char *point, const char *bucket, const char *key, t0_err *err)
{
    return gate_w(o, point, bucket, key, NULL, err);
}

/* Read a body (memory or a whole seekable file) into a new NUL-terminated buffer. */
static t0_status read_body(const objstore_body *body, char **out, size_t *len, t0_err *err)
{
    size_t n = 0;
    char *p = NULL;
    if (body && body->file) {
        if (fseek(body->file, 0, SEEK_END) != 0) return t0_fail(err, T0_EIO, "s3/put: cannot seek body file");
        long end = ftell(body->file);
        if (end < 0 || fseek(body->file, 0, SEEK_SET) != 0) return t0_fail(err, T0_EIO, "s3/put: cannot seek body file");
        n = (size_t)end;
        p = malloc(n + 1);
        if (!p) return t0_fail(err, T0_ENOMEM, "s3/put: out of memory");
        if (n && fread(p, 1, n, body->file) != n) {
            free(p);
            return t0_fail(err, T0_EIO, "s3/put: short read of body file");
        }
    } else {
        n = body ? body->len : 0;
        p = malloc(n + 1);
        if (!p) return t0_fail(err, T0_ENOMEM, "s3/put: out of memory");
        if (n) memcpy(p, body->data, n);
    }
    p[n] = '\0';
    *out = p;
    *len = n;
    return T0_OK;
}

/* store: replace BUCKET/KEY with DATA (ownership taken; LEN bytes and the NUL in CAP bytes allocated). */
static t0_status store_obj(objfake *o, obucket *b, const char *bucket, const char *key, char *data, size_t len, size_t cap,
                           const char *ctype, const objstore_meta *meta_in, t0_err *err)
{
    objfake_object *old = hmap_get(&b->objs, key);
    /* not calloc: the metadata table is kilobytes and a sidecar rewrites its log object every few seconds */
    objfake_object *ob = malloc(sizeof *ob);
    if (!ob) {
        free(data);
        return t0_fail(err, T0_ENOMEM, "s3/put %s/%s: out of memory", bucket, key);
    }
    ob->data = data;
    ob->len = len;
    ob->cap = cap;
    t0_strlcpy(ob->content_type, ctype ? ctype : "application/octet-stream", sizeof ob->content_type);
    ob->meta.nmeta = meta_in ? meta_in->nmeta : 0;
    if (ob->meta.nmeta > OBJSTORE_MAX_META) ob->meta.nmeta = OBJSTORE_MAX_META;
    if (ob->meta.nmeta) memcpy(ob->meta.meta, meta_in->meta, ob->meta.nmeta * sizeof ob->meta.meta[0]);
    ob->meta.size = len;
    ob->etag[0] = ob->meta.etag[0] = '\0'; /* objfake_etag computes them */
    ob->md5 = NULL;
    if (old && old->md5 && len >= old->len && !memcmp(data, old->data, old->len) && (ob->md5 = EVP_MD_CTX_new()) &&
        (!EVP_MD_CTX_copy_ex(ob->md5, old->md5) || !EVP_DigestUpdate(ob->md5, data + old->len, len - old->len))) {
        EVP_MD_CTX_free(ob->md5); /* computed from the whole body when asked */
        ob->md5 = NULL;
    }
    ob->version = old ? old->version + 1 : 1;
    if (hmap_put(&b->objs, key, ob, NULL) != T0_OK) {
        obj_free(ob);
        return t0_fail(err, T0_ENOMEM, "s3/put %s/%s: out of memory", bucket, key);
    }
    obj_free(old);
    if (o->on_change) o->on_change(o->on_change_ud, bucket, key, ob);
    return T0_OK;
}

t0_status objfake_put_raw(objfake *o, const char *bucket, const char *key, const void *data, size_t len, t0_err *err)
{
    t0_status st = objfake_create_bucket(o, bucket, err);
    if (st != T0_OK) return st;
    char *p = malloc(len + 1);
    if (!p) return t0_fail(err, T0_ENOMEM, "s3 put %s/%s: out of memory", bucket, key);
    if (len) memcpy(p, data, len);
    p[len] = '\0';
    return store_obj(o, bucket_of(o, bucket), bucket, key, p, len, len + 1, NULL, NULL, err);
}

t0_status objfake_del_raw(objfake *o, const char *bucket, const char *key)
{
    obucket *b = bucket_of(o, bucket);
    objfake_object *ob = b && key ? hmap_del(&b->objs, key) : NULL;
    if (!ob) return T0_ENOTFOUND;
    obj_free(ob);
    if (o->on_change) o->on_change(o->on_change_ud, bucket, key, NULL);
    return T0_OK;
}

/* put_begin: what every PUT does first: count it, check the key, pass the s3/put point and find the
 * bucket (*B) */
/* put_begin: the bucket of a PUT; a fault fails it here, except a timeout-applied one (*LATE gets its
 * status and message: the PUT is done, then fails with it). */
static t0_status put_begin(objfake *o, const char *bucket, const char *key, obucket **b, t0_status *late,
                           t0_err *late_err, t0_err *err)
{
    o->stats.puts++;
    *late = T0_OK;
    if (!key || !*key) return t0_fail(err, T0_EINVAL, "s3/put %s: empty key", bucket ? bucket : "");
    bool applied;
    t0_status st = gate_w(o, "s3/put", bucket, key, &applied, late_err);
    if (st != T0_OK && !applied) {
        if (err) *err = *late_err;
        return st;
    }
    *late = st;
    *b = bucket_of(o, bucket);
    if (!*b) return t0_fail(err, T0_ENOTFOUND, "s3/put %s/%s: NoSuchBucket", bucket ? bucket : "", key);
    return T0_OK;
}

t0_status objfake_put_if_match(objfake *o, const char *bucket, const char *key, const objstore_body *body,
                               const char *content_type, const objstore_meta *meta_in, const char *if_match,
                               t0_err *err)
{
    obucket *b = NULL;
    t0_status late;
    t0_err late_err = {0};
    t0_status st = put_begin(o, bucket, key, &b, &late, &late_err, err);
    if (st != T0_OK) return st;
    const objfake_object *cur = hmap_get(&b->objs, key);
    if (if_match) {
        bool ok = !strcmp(if_match, "*") ? cur != NULL : !*if_match ? cur == NULL : cur && !strcmp(objfake_etag(cur), if_match);
        if (!ok) {
            o->stats.precondition_failed++;
            t0_status r = t0_fail(err, T0_ECONFLICT, "s3/put %s/%s: PreconditionFailed (If-Match %s, current %s)", bucket,
                                  key, *if_match ? if_match : "<none>", cur ? objfake_etag(cur) : "<none>");
            if (err) err->http_status = 412;
            return r;
        }
    }
    char *data = NULL;
    size_t len = 0;
    st = read_body(body, &data, &len, err);
    if (st != T0_OK) return st;
    st = store_obj(o, b, bucket, key, data, len, len + 1, content_type, meta_in, err);
    if (st == T0_OK && late != T0_OK) { /* stored, and the client timed out all the same */
        if (err) *err = late_err;
        return late;
    }
    return st;
}

static t0_status p_put(void *ctx, const char *bucket, const char *key, const objstore_body *body,
                       const char *content_type, const objstore_meta *meta_in, t0_err *err)
{
    objfake *o = ctx;
    if (body && !body->file && body->len > o->stats.mem_put_max) o->stats.mem_put_max = body->len;
    return objfake_put_if_match(ctx, bucket, key, body, content_type, meta_in, NULL, err);
}

static t0_status lookup(objfake *o, const char *point, const char *bucket, const char *key,
                        const objfake_object **out, t0_err *err)
{
    t0_status st = gate(o, point, bucket, key, err);
    if (st != T0_OK) return st;
    obucket *b = bucket_of(o, bucket);
    if (!b) return t0_fail(err, T0_ENOTFOUND, "%s %s/%s: NoSuchBucket", point, bucket ? bucket : "", key ? key : "");
    *out = key ? hmap_get(&b->objs, key) : NULL;
    if (!*out) return t0_fail(err, T0_ENOTFOUND, "%s %s/%s: NoSuchKey", point, bucket, key ? key : "");
    return T0_OK;
}

static t0_status p_get(void *ctx, const char *bucket, const char *key, const objstore_sink *sink,
                       objstore_meta *meta_out, t0_err *err)
{
    objfake *o = ctx;
    o->stats.gets++;
    const objfake_object *ob = NULL;
    t0_status st = lookup(o, "s3/get", bucket, key, &ob, err);
    if (st != T0_OK) return st;
    if (sink && (st = objstore_sink_write(sink, ob->data, ob->len)) != T0_OK)
        return t0_fail(err, st, "s3/get %s/%s: %s", bucket, key,
                       st == T0_ELIMIT ? "the body is larger than the sink's bound" : "writing the sink failed");
    if (sink && !sink->file && sink->buf && ob->len > o->stats.mem_get_max) o->stats.mem_get_max = ob->len;
    if (meta_out) {
        objfake_etag(ob);
        *meta_out = ob->meta;
    }
    return T0_OK;
}

static t0_status p_head(void *ctx, const char *bucket, const char *key, objstore_meta *meta_out, t0_err *err)
{
    objfake *o = ctx;
    o->stats.heads++;
    const objfake_object *ob = NULL;
    t0_status st = lookup(o, "s3/head", bucket, key, &ob, err);
    if (st == T0_OK && meta_out) {
        objfake_etag(ob);
        *meta_out = ob->meta;
    }
    return st;
}

static t0_status p_del(void *ctx, const char *bucket, const char *key, t0_err *err)
{
    objfake *o = ctx;
    o->stats.dels++;
    t0_status st = gate(o, "s3/delete", bucket, key, err);
    if (st != T0_OK) return st;
    obucket *b = bucket_of(o, bucket);
    if (!b) return t0_fail(err, T0_ENOTFOUND, "s3/delete %s/%s: NoSuchBucket", bucket ? bucket : "", key ? key : "");
    objfake_object *ob = key ? hmap_del(&b->objs, key) : NULL;
    if (ob) { /* S3 answers 204 for a missing key too */
        obj_free(ob);
        if (o->on_change) o->on_change(o->on_change_ud, bucket, key, NULL);
    }
    return T0_OK;
}

static bool has_prefix(const hmap_entry *e, const void *prefix) { return !prefix || !strncmp(e->key, prefix, strlen(prefix)); }

static t0_status p_list(void *ctx, const char *bucket, const char *prefix, objstore_list *out, t0_err *err)
{
    objfake *o = ctx;
    o->stats.lists++;
    t0_status st = gate(o, "s3/list", bucket, prefix, err);
    if (st != T0_OK) return st;
    obucket *b = bucket_of(o, bucket);
    if (!b) return t0_fail(err, T0_ENOTFOUND, "s3/list %s: NoSuchBucket", bucket ? bucket : "");
    size_t n = 0;
    /* S3 lists in UTF-8 binary order */
    hmap_entry **keys = hmap_sorted(&b->objs, has_prefix, prefix, &n);
    if (!keys) return t0_fail(err, T0_ENOMEM, "s3/list %s: out of memory", bucket);
    for (size_t i = 0; i < n; i++) {
        if (out->n == out->cap) {
            size_t nc = out->cap ? out->cap * 2 : 16;
            char **nk = realloc(out->keys, nc * sizeof *nk);
            if (nk) out->keys = nk;
            uint64_t *ns = nk ? realloc(out->sizes, nc * sizeof *ns) : NULL;
            if (ns) out->sizes = ns;
            if (!nk || !ns) {
                free(keys);
                return t0_fail(err, T0_ENOMEM, "s3/list %s: out of memory", bucket);
            }
            out->cap = nc;
        }
        char *dup = strdup(keys[i]->key);
        if (!dup) {
            free(keys);
            return t0_fail(err, T0_ENOMEM, "s3/list %s: out of memory", bucket);
        }
        const objfake_object *ob = keys[i]->val;
        out->keys[out->n] = dup;
        out->sizes[out->n] = ob->len;
        out->n++;
    }
    free(keys);
    return T0_OK;
}

static t0_status p_ensure_bucket(void *ctx, const char *bucket, t0_err *err)
{
    objfake *o = ctx;
    o->stats.ensures++;
    t0_status st = gate(o, "s3/ensure_bucket", bucket, NULL, err);
    if (st != T0_OK) return st;
    return objfake_create_bucket(o, bucket, err);
}

objstore objfake_port(objfake *o)
{
    return (objstore){.ctx = o, .get = p_get, .put = p_put, .head = p_head, .del = p_del, .list = p_list,
                      .ensure_bucket = p_ensure_bucket};
}
