/* hmap.h: the project's one string-keyed hash map (chained, XXH3, grows by doubling): the controllers'
 * indexes, the fakes' object tables and the simulator's registries. */
#ifndef T0_HMAP_H
#define T0_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/t0.h"

/* Keys are copied on insert and owned by the map (inside the entry); values are borrowed pointers the
 * caller owns (the map never frees them). There is no random hash seed: iteration order is a function of
 * the sequence of puts and deletes only, so it is deterministic — but it is not sorted: sort where the
 * order is visible (a trace, a list answer): hmap_sorted. Within one bucket entries keep their insertion
 * order, also across growth. An entry never moves: its address is valid until it is deleted. */
typedef struct hmap_entry {
    struct hmap_entry *next; /* the bucket's chain */
    uint64_t hash;
    void *val;
    char key[]; /* NUL-terminated */
} hmap_entry;

typedef struct hmap {
    hmap_entry **buckets;
    size_t nbuckets; /* 0 or a power of two */
    size_t count;    /* entries */
} hmap;

/* hmap_init: an empty map (no allocation until the first put). A zeroed struct is an empty map too. */
void hmap_init(hmap *m);
/* hmap_free: free the entries and the buckets (not the values); the map is empty and usable afterwards.
 * NULL is a no-op. */
void hmap_free(hmap *m);
/* hmap_get: KEY's value, NULL when absent. hmap_getn: the same for the N bytes at KEY (need not be
 * NUL-terminated), matching only a stored key of exactly those N bytes. */
void *hmap_get(const hmap *m, const char *key);
void *hmap_getn(const hmap *m, const char *key, size_t n);
/* hmap_put: set KEY to VAL, replacing (*OLD, when OLD != NULL, gets the previous value or NULL).
 * T0_ENOMEM when allocation fails (the map is then unchanged). */
t0_status hmap_put(hmap *m, const char *key, void *val, void **old);
/* hmap_del: remove KEY; returns its value (NULL when absent). */
void *hmap_del(hmap *m, const char *key);
/* Iteration: for (hmap_entry *e = hmap_first(m); e; e = hmap_next(m, e)) { e->key, e->val }.
 * Do not put or delete while iterating (take the next entry first to delete the current one). */
hmap_entry *hmap_first(const hmap *m);
hmap_entry *hmap_next(const hmap *m, const hmap_entry *e);
/* hmap_sorted: the entries for which KEEP(E, CTX) is true (KEEP NULL: all of them) in key order (strcmp),
 * for where the order is visible: an owned (free()) NULL-terminated array, *N (when N != NULL) their
 * number. NULL when out of memory. The array borrows the entries: an entry deleted meanwhile must not be
 * read through it. Filtering here rather than afterwards sorts only what is kept. */
typedef bool (*hmap_keep_fn)(const hmap_entry *e, const void *ctx);
hmap_entry **hmap_sorted(const hmap *m, hmap_keep_fn keep, const void *ctx, size_t *n);
/* hmap_hash: the hash of the string S (hmap_hash_n: of its first N bytes): XXH3, 64 bits. The project's
 * one string hash. */
uint64_t hmap_hash(const char *s);
uint64_t hmap_hash_n(const char *s, size_t n);

#endif
