/* objstore_fake.h: an in-process fake MinIO implementing the objstore port (core/objstore.h):
 * buckets, objects with MD5 ETags and user metadata, list by prefix, ensure_bucket, a conditional
 * (If-Match) write helper, fault points s3/get, s3/put, s3/head, s3/delete, s3/list, s3/ensure_bucket and an outage. */
#ifndef FAKES_OBJSTORE_FAKE_H
#define FAKES_OBJSTORE_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/objstore.h"
#include "core/t0.h"

struct sim_faults;
typedef struct objfake objfake;

/* An object as stored. Borrowed from the fake; valid until the next write of that key. */
typedef struct objfake_object {
    char *data; /* NUL-terminated (not counted in len) */
    size_t len;
    size_t cap;           /* bytes allocated at data (> len) */
    char etag[33];        /* lower-case MD5 hex of the body, as MinIO gives for single-part uploads:
                             computed on first use (read it through objfake_etag) */
    char content_type[64];
    objstore_meta meta;   /* user metadata (meta.size filled too; meta.etag with the ETag) */
    uint64_t version;     /* 1 for the first write of the key, +1 per overwrite */
    void *md5;            /* private: the body's MD5 context (objfake_etag) */
} objfake_object;

/* A write observer (state/log invariants): after every successful put (OBJ set) or delete (OBJ NULL).
 * Runs synchronously inside the call; OBJ is borrowed for the call. */
typedef void (*objfake_change_fn)(void *ud, const char *bucket, const char *key, const objfake_object *obj);

/* objfake_new: no buckets. FAULTS (borrowed, may be NULL) drives the s3/<op> points. */
t0_status objfake_new(struct sim_faults *faults, objfake **out, t0_err *err);
void objfake_destroy(objfake *o); /* NULL is a no-op */
objstore objfake_port(objfake *o);

/* objfake_set_outage: while DOWN every port call fails with T0_EUNAVAILABLE (connection refused). */
void objfake_set_outage(objfake *o, bool down);
void objfake_on_change(objfake *o, objfake_change_fn fn, void *ud);

/* objfake_put_if_match: a conditional PUT (If-Match). IF_MATCH NULL = unconditional; "*" = only when
 * the key exists; "" = only when it does not (If-None-Match: *); otherwise the current ETag must equal
 * IF_MATCH. A failed precondition returns T0_ECONFLICT (HTTP 412) and writes nothing. Goes through
 * the s3/put fault point and the outage switch like the port's put. */
t0_status objfake_put_if_match(objfake *o, const char *bucket, const char *key, const objstore_body *body,
                               const char *content_type, const objstore_meta *meta_in, const char *if_match,
                               t0_err *err);

/* ---- scenario/test helpers: no faults, no outage ------------------------------------------------ */
t0_status objfake_create_bucket(objfake *o, const char *bucket, t0_err *err);
bool objfake_has_bucket(const objfake *o, const char *bucket);
/* objfake_put_raw: store DATA[LEN] at BUCKET/KEY (bucket created when missing). */
t0_status objfake_put_raw(objfake *o, const char *bucket, const char *key, const void *data, size_t len, t0_err *err);
/* objfake_del_raw: remove BUCKET/KEY (T0_ENOTFOUND when there is none). */
t0_status objfake_del_raw(objfake *o, const char *bucket, const char *key);
const objfake_object *objfake_peek(const objfake *o, const char *bucket, const char *key);
/* objfake_etag: OB's ETag. Hashing a body is deferred until something reads its ETag: the simulated
 * sidecars rewrite growing log objects far more often than anything compares their ETags. */
const char *objfake_etag(const objfake_object *ob);
size_t objfake_count(const objfake *o, const char *bucket);

typedef struct objfake_stats {
    unsigned long gets, puts, heads, dels, lists, ensures, failures, precondition_failed;
    /* the largest body a GET through the port wrote into memory (not a file) and a PUT sent from memory: what
     * a client held of one object (the pods' sidecars bound it: sidecar-memory-bounded) */
    uint64_t mem_get_max, mem_put_max;
} objfake_stats;
void objfake_get_stats(const objfake *o, objfake_stats *out);
/* objfake_mem_held: the larger of stats.mem_get_max and mem_put_max (checked after every simulated step) */
uint64_t objfake_mem_held(const objfake *o);

/* objfake_md5_hex: MD5 of DATA[LEN] as 32 lower-case hex digits into OUT. */
void objfake_md5_hex(const void *data, size_t len, char out[33]);

#endif
