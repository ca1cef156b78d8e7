/* map.h: a string-keyed hash map (FNV-1a, chained, grows by doubling) for the simulator and fakes. */
#ifndef T0_SIM_MAP_H
#define T0_SIM_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/t0.h"

/* Keys are copied on insert and owned by the map; values are borrowed (the map never frees them).
 * Iteration order depends only on the sequence of inserts and removes (no random hash seed), so it is
 * deterministic — but it is not sorted: sort when the order is visible. */
typedef struct sim_map_entry {
    struct sim_map_entry *next;
    size_t hash;
    void *val;
    char key[]; /* NUL-terminated */
} sim_map_entry;

typedef struct sim_map {
    sim_map_entry **buckets;
    size_t nbuckets, count;
} sim_map;

/* sim_map_init: an empty map (no allocation until the first put). */
void sim_map_init(sim_map *m);
/* sim_map_free: free the entries (not the values). */
void sim_map_free(sim_map *m);
void *sim_map_get(const sim_map *m, const char *key);
/* sim_map_getn: lookup by a key that is not NUL-terminated. */
void *sim_map_getn(const sim_map *m, const char *key, size_t n);
/* sim_map_put: set KEY to VAL (replacing; *OLD gets the previous value or NULL when OLD != NULL).
 * T0_ENOMEM when allocation fails (the map is unchanged). */
t0_status sim_map_put(sim_map *m, const char *key, void *val, void **old);
/* sim_map_remove: remove KEY; returns its value (NULL when absent). */
void *sim_map_remove(sim_map *m, const char *key);
/* Iteration: for (sim_map_entry *e = sim_map_first(m, &i); e; e = sim_map_next(m, &i, e)).
 * Do not insert or remove while iterating. */
sim_map_entry *sim_map_first(const sim_map *m, size_t *it);
sim_map_entry *sim_map_next(const sim_map *m, size_t *it, sim_map_entry *e);

#endif
