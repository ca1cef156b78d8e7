/* objstore.h: the object-store port (S3/MinIO). The real S3 client (adapters/s3.h) and the in-process fake
 * (fakes/objstore_fake.h) implement it; the daemon sees only this struct, so its logic is testable without servers. */
#ifndef T0_OBJSTORE_H
#define T0_OBJSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/t0.h"

/* A growable byte buffer owned by whoever declared it; free with objstore_buf_free. data is always
 * NUL-terminated (not counted in len) once anything was appended. */
typedef struct objstore_buf {
    char *data;
    size_t len, cap;
} objstore_buf;

t0_status objstore_buf_append(objstore_buf *b, const void *p, size_t n);
void objstore_buf_free(objstore_buf *b);

/* User metadata (x-amz-meta-<key>) and what a GET/HEAD learned about an object. Keys are lower case
 * without the x-amz-meta- prefix; values are plain ASCII (no CR/LF). */
#define OBJSTORE_MAX_META 8
typedef struct objstore_meta {
    uint64_t size;   /* object size in bytes (GET/HEAD output) */
    char etag[80];   /* as the server sent it, quotes stripped */
    size_t nmeta;
    struct {
        char key[48];
        char val[208];
    } meta[OBJSTORE_MAX_META];
} objstore_meta;

/* objstore_meta_get: the value of user metadata KEY, or NULL. */
const char *objstore_meta_get(const objstore_meta *m, const char *key);
/* objstore_meta_set: add or replace KEY=VAL; T0_ELIMIT when full or too long. */
t0_status objstore_meta_set(objstore_meta *m, const char *key, const char *val);

/* A request body: either memory (data/len) or a seekable FILE read from offset 0 to its end. */
typedef struct objstore_body {
    const void *data;
    size_t len;
    FILE *file;
} objstore_body;

/* Where a GET writes the object: into buf (appended) or to file (written at its current position). A buf sink
 * with max > 0 takes at most max bytes: a longer body fails the GET with T0_ELIMIT (a caller that bounds its
 * memory then fetches the object into a file). On failure the sink may hold a partial body; the caller
 * discards it. */
typedef struct objstore_sink {
    objstore_buf *buf;
    FILE *file;
    size_t max;
} objstore_sink;

/* objstore_sink_write: N more bytes of a body at P into S (what every port's GET writes through): T0_OK;
 * T0_EIO when the file write failed (errno says why); T0_ENOMEM; T0_ELIMIT past a buf sink's max. */
t0_status objstore_sink_write(const objstore_sink *s, const void *p, size_t n);

/* The result of a listing: keys (owned) and sizes, sorted as the server returned them. */
typedef struct objstore_list {
    char **keys;
    uint64_t *sizes;
    size_t n, cap;
} objstore_list;
void objstore_list_free(objstore_list *l);
/* objstore_list_push: append KEY (copied) and SIZE; T0_ENOMEM leaves the list as it was. */
t0_status objstore_list_push(objstore_list *l, const char *key, uint64_t size);

/* The port. Every call returns T0_OK or fills ERR with a message naming the operation, bucket and key.
 * Status contract (the daemon relies on it):
 *   T0_ENOTFOUND    object or bucket missing (message says NoSuchKey or NoSuchBucket)
 *   T0_EFORBIDDEN   credentials refused (401/403)
 *   T0_EUNAVAILABLE cannot connect / connection lost      T0_ETIMEOUT  the call took too long
 *   T0_EINTERNAL    5xx or malformed answer               T0_EINVAL    request refused as malformed (4xx)
 * meta_out may be NULL; meta_in may be NULL. ensure_bucket creates BUCKET when it does not exist. */
typedef struct objstore {
    void *ctx;
    t0_status (*get)(void *ctx, const char *bucket, const char *key, const objstore_sink *sink,
                     objstore_meta *meta_out, t0_err *err);
    t0_status (*put)(void *ctx, const char *bucket, const char *key, const objstore_body *body,
                     const char *content_type, const objstore_meta *meta_in, t0_err *err);
    t0_status (*head)(void *ctx, const char *bucket, const char *key, objstore_meta *meta_out, t0_err *err);
    t0_status (*del)(void *ctx, const char *bucket, const char *key, t0_err *err);
    t0_status (*list)(void *ctx, const char *bucket, const char *prefix, objstore_list *out, t0_err *err);
    t0_status (*ensure_bucket)(void *ctx, const char *bucket, t0_err *err);
} objstore;

#endif
