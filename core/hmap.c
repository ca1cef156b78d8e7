/* hmap.c: string-keyed open-addressing hash map (see hmap.h). */
#include "core/hmap.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

char hmap_tomb_[1];

uint64_t hmap_hash_n(const char *s, size_t n) { return XXH3_64bits(s, n); }

uint64_t hmap_hash(const char *s) { return XXH3_64bits(s, strlen(s)); }

void hmap_init(hmap *m) { memset(m, 0, sizeof *m); }

void hmap_free(hmap *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key && m->slots[i].key != HMAP_TOMB) free(m->slots[i].key);
    free(m->slots);
    hmap_init(m);
}

static hmap_slot *find(const hmap *m, const char *key, uint64_t h)
{
    if (!m->cap) return NULL;
    for (size_t i = h & (m->cap - 1), n = 0; n < m->cap; i = (i + 1) & (m->cap - 1), n++) {
        hmap_slot *s = &m->slots[i];
        if (!s->key) return NULL;
        if (s->key != HMAP_TOMB && s->hash == h && strcmp(s->key, key) == 0) return s;
    }
    return NULL;
}

static t0_status grow(hmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    if (m->len * 2 < m->cap) ncap = m->cap; /* mostly tombstones: rehash in place size */
    hmap_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns) return T0_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        hmap_slot *s = &m->slots[i];
        if (!s->key || s->key == HMAP_TOMB) continue;
        size_t j = s->hash & (ncap - 1);
        while (ns[j].key) j = (j + 1) & (ncap - 1);
        ns[j] = *s;
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    m->tombs = 0;
    return T0_OK;
}

void *hmap_get(const hmap *m, const char *key)
{
    hmap_slot *s = find(m, key, hmap_hash(key));
    return s ? s->val : NULL;
}

t0_status hmap_put(hmap *m, const char *key, void *val, void **old)
{
    uint64_t h = hmap_hash(key);
    hmap_slot *s = find(m, key, h);
    if (old) *old = NULL;
    if (s) {
        if (old) *old = s->val;
        s->val = val;
        return T0_OK;
    }
    if ((m->len + m->tombs + 1) * 4 >= m->cap * 3 && grow(m) != T0_OK) return T0_ENOMEM;
    char *k = strdup(key);
    if (!k) return T0_ENOMEM;
    size_t i = h & (m->cap - 1);
    while (m->slots[i].key && m->slots[i].key != HMAP_TOMB) i = (i + 1) & (m->cap - 1);
    if (m->slots[i].key == HMAP_TOMB) m->tombs--;
    m->slots[i] = (hmap_slot){k, val, h};
    m->len++;
    return T0_OK;
}

void *hmap_del(hmap *m, const char *key)
{
    hmap_slot *s = find(m, key, hmap_hash(key));
    if (!s) return NULL;
    void *v = s->val;
    free(s->key);
    s->key = HMAP_TOMB;
    s->val = NULL;
    m->len--;
    m->tombs++;
    return v;
}

int hmap_next(const hmap *m, size_t *it, const char **key, void **val)
{
    for (; *it < m->cap; (*it)++) {
        hmap_slot *s = &m->slots[*it];
        if (s->key && s->key != HMAP_TOMB) {
            if (key) *key = s->key;
            if (val) *val = s->val;
            (*it)++;
            return 1;
        }
    }
    return 0;
}
