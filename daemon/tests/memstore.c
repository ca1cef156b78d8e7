/* memstore.c: the in-memory objstore used by the daemon's unit tests (see memstore.h). */
#include "memstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

memobj *memstore_find(memstore *m, const char *bucket, const char *key)
{
    for (int i = 0; i < m->nobjs; i++)
        if (!strcmp(m->objs[i].bucket, bucket) && !strcmp(m->objs[i].key, key)) return &m->objs[i];
    return NULL;
}

static bool has_bucket(memstore *m, const char *b)
{
    for (int i = 0; i < m->nbuckets; i++)
        if (!strcmp(m->buckets[i], b)) return true;
    return false;
}

static t0_status mget(void *ctx, const char *bucket, const char *key, const objstore_sink *sink, objstore_meta *meta,
                      t0_err *err)
{
    memstore *m = ctx;
    m->gets++;
    if (m->fail_get > 0) {
        m->fail_get--;
        return t0_fail(err, m->fail_status, "mem get %s/%s: injected %s", bucket, key, t0_status_name(m->fail_status));
    }
    if (!has_bucket(m, bucket)) return t0_fail(err, T0_ENOTFOUND, "mem get %s/%s: NoSuchBucket", bucket, key);
    memobj *o = memstore_find(m, bucket, key);
    if (!o) return t0_fail(err, T0_ENOTFOUND, "mem get %s/%s: NoSuchKey", bucket, key);
    t0_status ws = objstore_sink_write(sink, o->data.data ? o->data.data : "", o->data.len);
    if (ws != T0_OK) return t0_fail(err, ws, "mem get %s/%s: the sink refused the body", bucket, key);
    if (sink->file) m->file_gets++;
    else if (o->data.len > m->mem_get_max) m->mem_get_max = o->data.len;
    if (meta) {
        *meta = o->meta;
        meta->size = o->data.len;
    }
    return T0_OK;
}

static t0_status mput(void *ctx, const char *bucket, const char *key, const objstore_body *body, const char *ct,
                      const objstore_meta *meta, t0_err *err)
{
    memstore *m = ctx;
    (void)ct;
    m->puts++;
    m->put_bytes += body && !body->file ? body->len : 0;
    if (body && !body->file && body->len > m->mem_put_max) m->mem_put_max = body->len;
    if (m->fail_put > 0) {
        m->fail_put--;
        return t0_fail(err, m->fail_status, "mem put %s/%s: injected %s", bucket, key, t0_status_name(m->fail_status));
    }
    if (!has_bucket(m, bucket)) return t0_fail(err, T0_ENOTFOUND, "mem put %s/%s: NoSuchBucket", bucket, key);
    memobj *o = memstore_find(m, bucket, key);
    if (!o) {
        o = &m->objs[m->nobjs++];
        memset(o, 0, sizeof *o);
        snprintf(o->bucket, sizeof o->bucket, "%s", bucket);
        snprintf(o->key, sizeof o->key, "%s", key);
    }
    o->data.len = 0;
    objstore_buf_append(&o->data, "", 0);
    if (body->file) {
        char buf[65536];
        size_t n;
        m->file_puts++;
        fseeko(body->file, 0, SEEK_SET);
        while ((n = fread(buf, 1, sizeof buf, body->file)) > 0) objstore_buf_append(&o->data, buf, n);
        m->put_bytes += o->data.len;
    } else {
        objstore_buf_append(&o->data, body->data, body->len);
    }
    memset(&o->meta, 0, sizeof o->meta);
    if (meta) o->meta = *meta;
    if (m->after_put) m->after_put(m);
    if (m->put_lands_then_fails > 0) {
        m->put_lands_then_fails--;
        return t0_fail(err, T0_ETIMEOUT, "mem put %s/%s: injected timeout after storing", bucket, key);
    }
    return T0_OK;
}

static t0_status mhead(void *ctx, const char *bucket, const char *key, objstore_meta *meta, t0_err *err)
{
    memstore *m = ctx;
    m->heads++;
    if (m->fail_head > 0) {
        m->fail_head--;
        return t0_fail(err, m->fail_status, "mem head %s/%s: injected", bucket, key);
    }
    memobj *o = has_bucket(m, bucket) ? memstore_find(m, bucket, key) : NULL;
    if (!o) return t0_fail(err, T0_ENOTFOUND, "mem head %s/%s: NoSuchKey", bucket, key);
    if (meta) {
        *meta = o->meta;
        meta->size = o->data.len;
    }
    return T0_OK;
}

static t0_status mdel(void *ctx, const char *bucket, const char *key, t0_err *err)
{
    memstore *m = ctx;
    memobj *o = memstore_find(m, bucket, key);
    if (!o) return t0_fail(err, T0_ENOTFOUND, "mem delete %s/%s: NoSuchKey", bucket, key);
    objstore_buf_free(&o->data);
    *o = m->objs[--m->nobjs];
    return T0_OK;
}

static t0_status mlist(void *ctx, const char *bucket, const char *prefix, objstore_list *out, t0_err *err)
{
    memstore *m = ctx;
    (void)err;
    memset(out, 0, sizeof *out);
    for (int i = 0; i < m->nobjs; i++)
        if (!strcmp(m->objs[i].bucket, bucket) && !strncmp(m->objs[i].key, prefix, strlen(prefix))) {
            out->keys = realloc(out->keys, (out->n + 1) * sizeof *out->keys);
            out->sizes = realloc(out->sizes, (out->n + 1) * sizeof *out->sizes);
            out->keys[out->n] = strdup(m->objs[i].key);
            out->sizes[out->n++] = m->objs[i].data.len;
        }
    out->cap = out->n;
    return T0_OK;
}

static t0_status mbucket(void *ctx, const char *bucket, t0_err *err)
{
    memstore *m = ctx;
    m->buckets_checked++;
    if (m->fail_bucket > 0) {
        m->fail_bucket--;
        return t0_fail(err, m->fail_status, "mem head-bucket %s: injected %s", bucket, t0_status_name(m->fail_status));
    }
    if (!has_bucket(m, bucket)) snprintf(m->buckets[m->nbuckets++], 64, "%s", bucket);
    return T0_OK;
}

objstore memstore_port(memstore *m)
{
    objstore o = {.ctx = m, .get = mget, .put = mput, .head = mhead, .del = mdel, .list = mlist, .ensure_bucket = mbucket};
    return o;
}

void memstore_free(memstore *m)
{
    for (int i = 0; i < m->nobjs; i++) objstore_buf_free(&m->objs[i].data);
    m->nobjs = 0;
}
