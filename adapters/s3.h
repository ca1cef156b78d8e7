/* s3.h: S3/MinIO client over libcurl's CURLOPT_AWS_SIGV4 (path-style), implementing the objstore port. */
#ifndef T0_S3_H
#define T0_S3_H

#include <stdbool.h>
#include <stdint.h>

#include "core/objstore.h"
#include "core/t0.h"

/* Configuration shared by `daemon init` and `daemon sync` (reference §8.1, §9.1). All strings owned. */
typedef struct s3_config {
    char *endpoint;      /* host[:port], no scheme, no path (MINIO_ENDPOINT) */
    char *access_key;    /* MINIO_ACCESS_KEY */
    char *secret_key;    /* MINIO_SECRET_KEY */
    bool use_ssl;        /* MINIO_USE_SSL exactly "true" */
    char *region;        /* MINIO_REGION, default us-east-1 (MinIO's default) */
    char *code_bucket;   /* MINIO_CODE_BUCKET, default custom-bots */
    char *state_bucket;  /* MINIO_STATE_BUCKET, default bot-state */
    char *logs_bucket;   /* MINIO_LOGS_BUCKET, default bot-logs (sync hard-codes bot-logs, §9.1) */
    char *results_bucket;/* MINIO_RESULTS_BUCKET, default backtest-results (unused) */
    uint64_t max_state_size;      /* MAX_STATE_SIZE_MB * MiB, default 8192 MiB */
    uint64_t max_state_file_size; /* MAX_STATE_FILE_SIZE_MB * MiB, default 10 MiB */
    long connect_timeout_ms;      /* default 5000 */
    long timeout_ms;              /* whole request, default 120000 */
    long low_speed_time_s;        /* abort a transfer slower than 1 byte/s for this long, default 20 */
} s3_config;

/* s3_config_from_env: read the MINIO_* variables. Missing required ones fail in the reference order with
 * "failed to load config: MINIO_ENDPOINT is required" (then ACCESS_KEY, SECRET_KEY); T0_EINVAL. On
 * failure nothing is left allocated. Optional S3_CONNECT_TIMEOUT_MS / S3_TIMEOUT_MS tune timeouts. */
t0_status s3_config_from_env(s3_config *cfg, t0_err *err);
void s3_config_free(s3_config *cfg);

typedef struct s3_client s3_client;

/* s3_client_new: validate CFG (a malformed endpoint is T0_EINVAL) and make a client holding a copy of
 * it. The caller owns *out and frees it with s3_client_free (NULL is a no-op). Not thread-safe: one
 * client per thread. */
t0_status s3_client_new(const s3_config *cfg, s3_client **out, t0_err *err);
void s3_client_free(s3_client *c);
/* s3_client_set_timeout: cap each later request at TIMEOUT_MS (connect timeout too), e.g. to fit a
 * final sync into a grace period. Values <= 0 restore the configured timeouts. */
void s3_client_set_timeout(s3_client *c, long timeout_ms);

/* s3_objstore: the port view of C (C stays owned by the caller and must outlive the port). */
objstore s3_objstore(s3_client *c);

/* Operations. Errors name the operation, bucket and key; see objstore.h for the status contract.
 * Fault points (libfiu, enabled in tests): s3/get, s3/put, s3/head, s3/delete, s3/list, s3/bucket
 * make the call fail with T0_EUNAVAILABLE before any byte is sent. */
t0_status s3_get(s3_client *c, const char *bucket, const char *key, objstore_buf *out, objstore_meta *meta,
                 t0_err *err);
t0_status s3_get_file(s3_client *c, const char *bucket, const char *key, FILE *out, objstore_meta *meta,
                      t0_err *err);
t0_status s3_put(s3_client *c, const char *bucket, const char *key, const void *data, size_t len,
                 const char *content_type, const objstore_meta *meta, t0_err *err);
/* s3_put_file: stream F (seekable; from offset 0 to its end) as the object body. */
t0_status s3_put_file(s3_client *c, const char *bucket, const char *key, FILE *f, const char *content_type,
                      const objstore_meta *meta, t0_err *err);
t0_status s3_head(s3_client *c, const char *bucket, const char *key, objstore_meta *meta, t0_err *err);
t0_status s3_delete(s3_client *c, const char *bucket, const char *key, t0_err *err);
/* s3_list: every key starting with PREFIX ("" for all), following continuation tokens. */
t0_status s3_list(s3_client *c, const char *bucket, const char *prefix, objstore_list *out, t0_err *err);
/* s3_ensure_bucket: HEAD the bucket and create it when missing (BucketAlreadyOwnedByYou counts as OK). */
t0_status s3_ensure_bucket(s3_client *c, const char *bucket, t0_err *err);

/* Helpers exposed for tests. */
/* s3_uri_encode: AWS URI encoding (only A-Za-z0-9-._~ kept; '/' kept when KEEP_SLASH). Caller frees. */
char *s3_uri_encode(const char *s, bool keep_slash);
/* s3_canonical_query: "k1=v1&k2=v2" from N key/value pairs, sorted by key, values encoded, "k=" for empty
 * or NULL values (curl 7.88 signs the query as sent, see environment.md §2). Caller frees. */
char *s3_canonical_query(const char *const *keys, const char *const *vals, size_t n);
/* s3_error_status: map an HTTP status and S3 error code to a t0_status. */
t0_status s3_error_status(long http_status, const char *s3_code);

#endif
