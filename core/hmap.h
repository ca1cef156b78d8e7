/* hmap.h: a string-keyed hash map (open addressing, linear probing) used for per-bot indexes. */
#ifndef T0_HMAP_H
#define T0_HMAP_H

#include <stddef.h>
#include <stdint.h>

#include "core/t0.h"

/* Keys are copied and owned by the map; values are borrowed pointers the caller owns. Iteration order
 * is insertion-independent but deterministic for the same sequence of operations. */
typedef struct hmap_slot {
    char *key;      /* NULL = empty; HMAP_TOMB = deleted */
    void *val;
    uint64_t hash;
} hmap_slot;

typedef struct hmap {
    hmap_slot *slots;
    size_t cap, len, tombs;
} hmap;

extern char hmap_tomb_[];
#define HMAP_TOMB (hmap_tomb_)

void hmap_init(hmap *m);
/* hmap_free: free the map's storage and keys (not the values). */
void hmap_free(hmap *m);
void *hmap_get(const hmap *m, const char *key);
/* hmap_put: insert or replace; returns T0_ENOMEM on allocation failure. *old (may be NULL) receives the
 * replaced value or NULL. */
t0_status hmap_put(hmap *m, const char *key, void *val, void **old);
/* hmap_del: remove KEY; returns its value or NULL. */
void *hmap_del(hmap *m, const char *key);
/* Iterate: for (size_t i = 0; hmap_next(m, &i, &k, &v);) { ... } — do not insert while iterating
 * (deleting the current key is allowed). */
int hmap_next(const hmap *m, size_t *it, const char **key, void **val);
/* hmap_hash: the hash of the string S (hmap_hash_n: of its first N bytes): XXH3, 64 bits. The one string
 * hash of the project (core/hmap, sim/map). */
uint64_t hmap_hash(const char *s);
uint64_t hmap_hash_n(const char *s, size_t n);

#endif
