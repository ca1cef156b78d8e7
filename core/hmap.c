/* hmap.c: the string-keyed chained hash map (see hmap.h). */
#include "core/hmap.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

uint64_t hmap_hash_n(const char *s, size_t n) { return XXH3_64bits(s, n); }

uint64_t hmap_hash(const char *s) { return XXH3_64bits(s, strlen(s)); }

void hmap_init(hmap *m) { memset(m, 0, sizeof *m); }

void hmap_free(hmap *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->nbuckets; i++)
        for (hmap_entry *e = m->buckets[i], *n; e; e = n) {
            n = e->next;
            free(e);
        }
    free(m->buckets);
    hmap_init(m);
}

void *hmap_getn(const hmap *m, const char *key, size_t n)
{
    if (!m->nbuckets) return NULL;
    uint64_t h = hmap_hash_n(key, n);
    for (hmap_entry *e = m->buckets[h & (m->nbuckets - 1)]; e; e = e->next)
        if (e->hash == h && !strncmp(e->key, key, n) && e->key[n] == '\0') return e->val;
    return NULL;
}

void *hmap_get(const hmap *m, const char *key) { return hmap_getn(m, key, strlen(key)); }

/* grow: double the buckets. Bucket i splits into i and i + old size; each keeps its entries' relative
 * order, so iteration order stays a function of the history alone. */
static t0_status grow(hmap *m)
{
    size_t old = m->nbuckets, nb = old ? old * 2 : 16;
    hmap_entry **b = calloc(nb, sizeof *b);
    if (!b) return T0_ENOMEM;
    for (size_t i = 0; i < old; i++) {
        hmap_entry **lo = &b[i], **hi = &b[i + old];
        for (hmap_entry *e = m->buckets[i], *n; e; e = n) {
            n = e->next;
            e->next = NULL;
            if (e->hash & old) {
                *hi = e;
                hi = &e->next;
            } else {
                *lo = e;
                lo = &e->next;
            }
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
    return T0_OK;
}

t0_status hmap_put(hmap *m, const char *key, void *val, void **old)
{
    size_t n = strlen(key);
    uint64_t h = hmap_hash_n(key, n);
    if (old) *old = NULL;
    if (m->nbuckets)
        for (hmap_entry *e = m->buckets[h & (m->nbuckets - 1)]; e; e = e->next)
            if (e->hash == h && !strcmp(e->key, key)) {
                if (old) *old = e->val;
                e->val = val;
                return T0_OK;
            }
    if (m->count + 1 > m->nbuckets * 3 / 4 && grow(m) != T0_OK) return T0_ENOMEM;
    hmap_entry *e = malloc(sizeof *e + n + 1);
    if (!e) return T0_ENOMEM;
    memcpy(e->key, key, n + 1);
    e->hash = h;
    e->val = val;
    e->next = NULL;
    hmap_entry **tail = &m->buckets[h & (m->nbuckets - 1)];
    while (*tail) tail = &(*tail)->next;
    *tail = e;
    m->count++;
    return T0_OK;
}

void *hmap_del(hmap *m, const char *key)
{
    if (!m->nbuckets) return NULL;
    uint64_t h = hmap_hash(key);
    for (hmap_entry **pe = &m->buckets[h & (m->nbuckets - 1)]; *pe; pe = &(*pe)->next) {
        hmap_entry *e = *pe;
        if (e->hash == h && !strcmp(e->key, key)) {
            void *v = e->val;
            *pe = e->next;
            free(e);
            m->count--;
            return v;
        }
    }
    return NULL;
}

static hmap_entry *from_bucket(const hmap *m, size_t i)
{
    for (; i < m->nbuckets; i++)
        if (m->buckets[i]) return m->buckets[i];
    return NULL;
}

hmap_entry *hmap_first(const hmap *m) { return from_bucket(m, 0); }

static int cmp_key(const void *a, const void *b) { return strcmp((*(hmap_entry *const *)a)->key, (*(hmap_entry *const *)b)->key); }

hmap_entry **hmap_sorted(const hmap *m, hmap_keep_fn keep, const void *ctx, size_t *n)
{
    if (n) *n = 0;
    hmap_entry **v = malloc((m->count + 1) * sizeof *v);
    if (!v) return NULL;
    size_t i = 0;
    for (hmap_entry *e = hmap_first(m); e; e = hmap_next(m, e))
        if (!keep || keep(e, ctx)) v[i++] = e;
    v[i] = NULL;
    qsort(v, i, sizeof *v, cmp_key);
    if (n) *n = i;
    return v;
}

hmap_entry *hmap_next(const hmap *m, const hmap_entry *e)
{
    return e->next ? e->next : from_bucket(m, (size_t)(e->hash & (m->nbuckets - 1)) + 1);
}
