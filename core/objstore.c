/* objstore.c: the helpers of the object-store port (core/objstore.h): buffers, metadata, listings. */
#include "core/objstore.h"
#include "core/str.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

t0_status objstore_buf_append(objstore_buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) return T0_ENOMEM;
        b->data = d;
        b->cap = cap;
    }
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return T0_OK;
}

t0_status objstore_sink_write(const objstore_sink *s, const void *p, size_t n)
{
    if (s->file) return n && fwrite(p, 1, n, s->file) != n ? T0_EIO : T0_OK;
    if (!s->buf) return T0_OK;
    if (s->max && s->buf->len + n > s->max) return T0_ELIMIT;
    return objstore_buf_append(s->buf, p, n);
}

void objstore_buf_free(objstore_buf *b)
{
    if (!b) return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

const char *objstore_meta_get(const objstore_meta *m, const char *key)
{
    if (!m) return NULL;
    for (size_t i = 0; i < m->nmeta; i++)
        if (!strcasecmp(m->meta[i].key, key)) return m->meta[i].val;
    return NULL;
}

t0_status objstore_meta_set(objstore_meta *m, const char *key, const char *val)
{
    if (strlen(key) >= sizeof m->meta[0].key || strlen(val) >= sizeof m->meta[0].val) return T0_ELIMIT;
    size_t i = 0;
    while (i < m->nmeta && strcasecmp(m->meta[i].key, key)) i++;
    if (i == m->nmeta) {
        if (m->nmeta == OBJSTORE_MAX_META) return T0_ELIMIT;
        m->nmeta++;
    }
    t0_strlcpy(m->meta[i].key, key, sizeof m->meta[i].key);
    for (char *p = m->meta[i].key; *p; p++) *p = (char)tolower((unsigned char)*p);
    t0_strlcpy(m->meta[i].val, val, sizeof m->meta[i].val);
    return T0_OK;
}

void objstore_list_free(objstore_list *l)
{
    if (!l) return;
    for (size_t i = 0; i < l->n; i++) free(l->keys[i]);
    free(l->keys);
    free(l->sizes);
    memset(l, 0, sizeof *l);
}

t0_status objstore_list_push(objstore_list *l, const char *key, uint64_t size)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **k = realloc(l->keys, cap * sizeof *k);
        if (!k) return T0_ENOMEM;
        l->keys = k;
        uint64_t *s = realloc(l->sizes, cap * sizeof *s);
        if (!s) return T0_ENOMEM;
        l->sizes = s;
        l->cap = cap;
    }
    if (!(l->keys[l->n] = strdup(key))) return T0_ENOMEM;
    l->sizes[l->n++] = size;
    return T0_OK;
}

