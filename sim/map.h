/* map.h: GOING AWAY — the old name of the project's hash map, kept only so that fakes/kube_fake.c and
 * fakes/kube_http.c compile unchanged until they are converted to core/hmap.h. Every name here is
 * core/hmap under another spelling (the same map, the same iteration order); new code uses core/hmap.h.
 * Delete this file when `grep -R sim_map` finds nothing else. */
#ifndef T0_SIM_MAP_H
#define T0_SIM_MAP_H

#include <stddef.h>

#include "core/hmap.h"

typedef hmap sim_map;
typedef hmap_entry sim_map_entry;

static inline void sim_map_init(sim_map *m) { hmap_init(m); }
static inline void sim_map_free(sim_map *m) { hmap_free(m); }
static inline void *sim_map_get(const sim_map *m, const char *key) { return hmap_get(m, key); }
static inline void *sim_map_getn(const sim_map *m, const char *key, size_t n) { return hmap_getn(m, key, n); }
static inline t0_status sim_map_put(sim_map *m, const char *key, void *val, void **old) { return hmap_put(m, key, val, old); }
static inline void *sim_map_remove(sim_map *m, const char *key) { return hmap_del(m, key); }
/* The iterator IT of the old interface is no longer needed (it is set to 0 and not read). */
static inline sim_map_entry *sim_map_first(const sim_map *m, size_t *it)
{
    *it = 0;
    return hmap_first(m);
}
static inline sim_map_entry *sim_map_next(const sim_map *m, size_t *it, sim_map_entry *e)
{
    (void)it;
    return hmap_next(m, e);
}

#endif
