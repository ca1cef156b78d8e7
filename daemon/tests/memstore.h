/* memstore.h: an in-memory objstore for the daemon's unit tests, with scripted faults. */
#ifndef T0_DAEMON_TEST_MEMSTORE_H
#define T0_DAEMON_TEST_MEMSTORE_H

#include "core/objstore.h"

typedef struct memobj {
    char bucket[64], key[512];
    objstore_buf data;
    objstore_meta meta;
} memobj;

typedef struct memstore {
    memobj objs[64];
    int nobjs;
    char buckets[8][64];
    int nbuckets;
    /* faults: the next N calls of a kind fail with the given status */
    int fail_get, fail_put, fail_head, fail_bucket;
    t0_status fail_status;
    int put_lands_then_fails; /* the next N PUTs are stored and then reported as failed (ambiguous) */
    void (*after_put)(struct memstore *m); /* hook run after a stored PUT */
    int gets, puts, heads, buckets_checked;
    uint64_t put_bytes; /* the bodies of every PUT, stored or failed (a file body: as stored) */
    uint64_t mem_get_max, mem_put_max; /* the largest body a GET wrote into memory / a PUT sent from memory */
    int file_gets, file_puts;          /* GETs into a file sink, PUTs from a file body */
} memstore;

objstore memstore_port(memstore *m);
memobj *memstore_find(memstore *m, const char *bucket, const char *key);
void memstore_free(memstore *m);

#endif
