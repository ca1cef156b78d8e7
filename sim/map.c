/* map.c: the string-keyed chained hash map of the simulator (see map.h). */
#include "sim/map.h"

#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "core/hmap.h"

static size_t hash_bytes(const char *s, size_t n) { return (size_t)hmap_hash_n(s, n); }

void sim_map_init(sim_map *m) { memset(m, 0, sizeof *m); }

void sim_map_free(sim_map *m)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        sim_map_entry *e = m->buckets[i];
        while (e) {
            sim_map_entry *n = e->next;
            free(e);
            e = n;
        }
    }
    free(m->buckets);
    sim_map_init(m);
}

void *sim_map_getn(const sim_map *m, const char *key, size_t n)
{
    if (!m->nbuckets) return NULL;
    size_t h = hash_bytes(key, n);
    for (sim_map_entry *e = m->buckets[h & (m->nbuckets - 1)]; e; e = e->next)
        if (e->hash == h && !strncmp(e->key, key, n) && e->key[n] == '\0') return e->val;
    return NULL;
}

void *sim_map_get(const sim_map *m, const char *key) { return sim_map_getn(m, key, strlen(key)); }

static t0_status grow(sim_map *m)
{
    size_t nb = m->nbuckets ? m->nbuckets * 2 : 16;
    sim_map_entry **b = calloc(nb, sizeof *b);
    if (!b) return T0_ENOMEM;
    /* Re-link preserving each chain's relative order so iteration stays a function of history. */
    for (size_t i = 0; i < m->nbuckets; i++) {
        sim_map_entry *e = m->buckets[i];
        while (e) {
            sim_map_entry *n = e->next;
            sim_map_entry **tail = &b[e->hash & (nb - 1)];
            while (*tail) tail = &(*tail)->next;
            e->next = NULL;
            *tail = e;
            e = n;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
    return T0_OK;
}

t0_status sim_map_put(sim_map *m, const char *key, void *val, void **old)
{
    size_t n = strlen(key), h = hash_bytes(key, n);
    if (old) *old = NULL;
    if (m->nbuckets) {
        for (sim_map_entry *e = m->buckets[h & (m->nbuckets - 1)]; e; e = e->next)
            if (e->hash == h && !strcmp(e->key, key)) {
                if (old) *old = e->val;
                e->val = val;
                return T0_OK;
            }
    }
    if (m->count + 1 > m->nbuckets * 3 / 4 && grow(m) != T0_OK) return T0_ENOMEM;
    sim_map_entry *e = malloc(sizeof *e + n + 1);
    if (!e) return T0_ENOMEM;
    memcpy(e->key, key, n + 1);
    e->hash = h;
    e->val = val;
    e->next = NULL;
    sim_map_entry **tail = &m->buckets[h & (m->nbuckets - 1)];
    while (*tail) tail = &(*tail)->next;
    *tail = e;
    m->count++;
    return T0_OK;
}

void *sim_map_remove(sim_map *m, const char *key)
{
    if (!m->nbuckets) return NULL;
    size_t h = hash_bytes(key, strlen(key));
    for (sim_map_entry **pe = &m->buckets[h & (m->nbuckets - 1)]; *pe; pe = &(*pe)->next) {
        sim_map_entry *e = *pe;
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

sim_map_entry *sim_map_first(const sim_map *m, size_t *it)
{
    for (*it = 0; *it < m->nbuckets; (*it)++)
        if (m->buckets[*it]) return m->buckets[*it];
    return NULL;
}

sim_map_entry *sim_map_next(const sim_map *m, size_t *it, sim_map_entry *e)
{
    if (e->next) return e->next;
    for ((*it)++; *it < m->nbuckets; (*it)++)
        if (m->buckets[*it]) return m->buckets[*it];
    return NULL;
}
