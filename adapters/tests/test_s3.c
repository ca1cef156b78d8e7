/* test_s3.c: S3 client unit tests: encoding, canonical queries, env config, and error mapping against a
 * misbehaving local HTTP server (500s, 403, hangs, dropped connections, refused connections). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fiu-control.h>
#include <fiu.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "adapters/s3.h"

Test(s3_encode, aws_uri_rules)
{
    char *a = s3_uri_encode("a b+c/d~e_f.g-h=ü", false);
    cr_assert_str_eq(a, "a%20b%2Bc%2Fd~e_f.g-h%3D%C3%BC", "got %s", a);
    char *b = s3_uri_encode("logs/x y/2026.log", true);
    cr_assert_str_eq(b, "logs/x%20y/2026.log", "got %s", b);
    free(a);
    free(b);
}

Test(s3_encode, canonical_query_sorted_with_empty_values)
{
    const char *k[] = {"prefix", "list-type", "continuation-token", "location"};
    const char *v[] = {"dir/", "2", "a+b=", NULL};
    char *q = s3_canonical_query(k, v, 4);
    cr_assert_str_eq(q, "continuation-token=a%2Bb%3D&list-type=2&location=&prefix=dir%2F", "got %s", q);
    free(q);
    char *e = s3_canonical_query(NULL, NULL, 0);
    cr_assert_str_eq(e, "", "got %s", e);
    free(e);
}

Test(s3_errors, status_mapping)
{
    cr_assert_eq(s3_error_status(404, "NoSuchKey"), T0_ENOTFOUND);
    cr_assert_eq(s3_error_status(404, "NoSuchBucket"), T0_ENOTFOUND);
    cr_assert_eq(s3_error_status(403, "SignatureDoesNotMatch"), T0_EFORBIDDEN);
    cr_assert_eq(s3_error_status(403, "InvalidAccessKeyId"), T0_EFORBIDDEN);
    cr_assert_eq(s3_error_status(500, "InternalError"), T0_EINTERNAL);
    cr_assert_eq(s3_error_status(502, ""), T0_EINTERNAL);
    cr_assert_eq(s3_error_status(409, "BucketAlreadyOwnedByYou"), T0_EEXIST);
    cr_assert_eq(s3_error_status(400, "InvalidBucketName"), T0_EINVAL);
}

static void clear_env(void)
{
    const char *v[] = {"MINIO_ENDPOINT", "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY", "MINIO_USE_SSL",
                       "MINIO_STATE_BUCKET", "MAX_STATE_SIZE_MB", "MAX_STATE_FILE_SIZE_MB", "MINIO_CODE_BUCKET"};
    for (size_t i = 0; i < T0_ARRAY_LEN(v); i++) unsetenv(v[i]);
}

Test(s3_config, env_errors_in_reference_order)
{
    clear_env();
    s3_config c;
    t0_err e = {0};
    cr_assert_eq(s3_config_from_env(&c, &e), T0_EINVAL);
    cr_assert_str_eq(e.msg, "failed to load config: MINIO_ENDPOINT is required");
    setenv("MINIO_ENDPOINT", "h:1", 1);
    cr_assert_eq(s3_config_from_env(&c, &e), T0_EINVAL);
    cr_assert_str_eq(e.msg, "failed to load config: MINIO_ACCESS_KEY is required");
    setenv("MINIO_ACCESS_KEY", "a", 1);
    cr_assert_eq(s3_config_from_env(&c, &e), T0_EINVAL);
    cr_assert_str_eq(e.msg, "failed to load config: MINIO_SECRET_KEY is required");
    setenv("MINIO_SECRET_KEY", "s", 1);
    setenv("MINIO_USE_SSL", "TRUE", 1);
    setenv("MAX_STATE_SIZE_MB", "abc", 1);
    setenv("MAX_STATE_FILE_SIZE_MB", "3", 1);
    cr_assert_eq(s3_config_from_env(&c, &e), T0_OK, "%s", e.msg);
    cr_assert(!c.use_ssl, "MINIO_USE_SSL=TRUE must not enable TLS (only exactly \"true\")");
    cr_assert_str_eq(c.state_bucket, "bot-state");
    cr_assert_str_eq(c.code_bucket, "custom-bots");
    cr_assert_str_eq(c.logs_bucket, "bot-logs");
    cr_assert_eq(c.max_state_size, 8192ull << 20, "got %llu", (unsigned long long)c.max_state_size);
    cr_assert_eq(c.max_state_file_size, 3ull << 20, "got %llu", (unsigned long long)c.max_state_file_size);
    s3_config_free(&c);
    setenv("MINIO_USE_SSL", "true", 1);
    cr_assert_eq(s3_config_from_env(&c, &e), T0_OK);
    cr_assert(c.use_ssl);
    s3_config_free(&c);
    clear_env();
}

Test(s3_config, malformed_endpoint_rejected)
{
    const char *bad[] = {"http://h:9000", "h:9000/x", "", "h:0", "h:99999", "h :1", "h:"};
    for (size_t i = 0; i < T0_ARRAY_LEN(bad); i++) {
        s3_config cfg = {.endpoint = (char *)bad[i], .access_key = "a", .secret_key = "b"};
        s3_client *c = NULL;
        t0_err e = {0};
        cr_assert_eq(s3_client_new(&cfg, &c, &e), T0_EINVAL, "endpoint \"%s\" accepted", bad[i]);
        cr_assert_null(c);
        cr_assert(strstr(e.msg, "MINIO_ENDPOINT"), "message: %s", e.msg);
    }
    const char *good[] = {"127.0.0.1:9000", "minio.the0.svc", "[::1]:9000"};
    for (size_t i = 0; i < T0_ARRAY_LEN(good); i++) {
        s3_config cfg = {.endpoint = (char *)good[i], .access_key = "a", .secret_key = "b"};
        s3_client *c = NULL;
        cr_assert_eq(s3_client_new(&cfg, &c, NULL), T0_OK, "endpoint \"%s\" refused", good[i]);
        s3_client_free(c);
    }
    s3_client_free(NULL);
}

/* ---- a misbehaving HTTP server on 127.0.0.1 ---------------------------------------------------- */

typedef enum { BAD_500, BAD_403, BAD_HANG, BAD_CLOSE, BAD_SHORT_BODY } bad_mode;
typedef struct bad_server {
    int fd, port;
    bad_mode mode;
    pthread_t th;
    int served;
} bad_server;

static void *bad_loop(void *ud)
{
    bad_server *s = ud;
    int c = accept(s->fd, NULL, NULL);
    if (c < 0) return NULL;
    char buf[8192];
    ssize_t n = read(c, buf, sizeof buf); /* the request head (small) */
    (void)n;
    const char *body500 = "<?xml version=\"1.0\"?><Error><Code>InternalError</Code><Message>boom</Message></Error>";
    const char *body403 = "<Error><Code>SignatureDoesNotMatch</Code><Message>bad sig</Message></Error>";
    char out[1024];
    switch (s->mode) {
    case BAD_500:
    case BAD_403:
        snprintf(out, sizeof out, "HTTP/1.1 %s\r\nContent-Type: application/xml\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n%s", s->mode == BAD_500 ? "500 Internal Server Error" : "403 Forbidden",
                 strlen(s->mode == BAD_500 ? body500 : body403), s->mode == BAD_500 ? body500 : body403);
        if (write(c, out, strlen(out)) < 0) break;
        break;
    case BAD_HANG:
        sleep(3);
        break;
    case BAD_CLOSE:
        break;
    case BAD_SHORT_BODY:
        snprintf(out, sizeof out, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly-a-little");
        if (write(c, out, strlen(out)) < 0) break;
        break;
    }
    s->served++;
    close(c);
    return NULL;
}

static void bad_start(bad_server *s, bad_mode mode)
{
    memset(s, 0, sizeof *s);
    s->mode = mode;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t l = sizeof a;
    getsockname(s->fd, (struct sockaddr *)&a, &l);
    s->port = ntohs(a.sin_port);
    listen(s->fd, 4);
    pthread_create(&s->th, NULL, bad_loop, s);
}

static void bad_stop(bad_server *s)
{
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    pthread_join(s->th, NULL);
}

static s3_client *client_for(int port, long timeout_ms)
{
    char ep[64];
    snprintf(ep, sizeof ep, "127.0.0.1:%d", port);
    s3_config cfg = {.endpoint = ep, .access_key = "k", .secret_key = "s", .timeout_ms = timeout_ms,
                     .connect_timeout_ms = 1000};
    s3_client *c = NULL;
    cr_assert_eq(s3_client_new(&cfg, &c, NULL), T0_OK);
    return c;
}

static void expect_get(bad_mode mode, t0_status want, const char *needle)
{
    bad_server s;
    bad_start(&s, mode);
    s3_client *c = client_for(s.port, 800);
    objstore_buf b = {0};
    t0_err e = {0};
    t0_status st = s3_get(c, "bot-state", "b1/state.tar.gz", &b, NULL, &e);
    cr_assert_eq(st, want, "mode %d: got %s want %s (%s)", mode, t0_status_name(st), t0_status_name(want), e.msg);
    cr_assert(strstr(e.msg, "get bot-state/b1/state.tar.gz"), "message names op/bucket/key: %s", e.msg);
    if (needle) cr_assert(strstr(e.msg, needle), "message has \"%s\": %s", needle, e.msg);
    objstore_buf_free(&b);
    s3_client_free(c);
    bad_stop(&s);
}

Test(s3_faults, http_500_is_internal)
{
    expect_get(BAD_500, T0_EINTERNAL, "InternalError");
}
Test(s3_faults, http_403_is_forbidden)
{
    expect_get(BAD_403, T0_EFORBIDDEN, "SignatureDoesNotMatch");
}
Test(s3_faults, hang_is_timeout)
{
    expect_get(BAD_HANG, T0_ETIMEOUT, NULL);
}
Test(s3_faults, dropped_connection_is_unavailable)
{
    expect_get(BAD_CLOSE, T0_EUNAVAILABLE, NULL);
}
Test(s3_faults, truncated_body_is_unavailable)
{
    expect_get(BAD_SHORT_BODY, T0_EUNAVAILABLE, NULL);
}

/* A 5xx on the bucket check is returned as a retryable T0_EINTERNAL naming the call (the daemon's upload
 * retries it with backoff and checks again); it is not taken for "missing" (no create follows: this server
 * answers one request, a create would time out). */
Test(s3_faults, http_500_on_head_bucket_is_retryable)
{
    bad_server s;
    bad_start(&s, BAD_500);
    s3_client *c = client_for(s.port, 5000);
    t0_err e = {0};
    t0_status st = s3_ensure_bucket(c, "bot-state", &e);
    cr_assert_eq(st, T0_EINTERNAL, "got %s, want EINTERNAL: %s", t0_status_name(st), e.msg);
    cr_assert(t0_status_retryable(st));
    cr_assert(strstr(e.msg, "head-bucket bot-state"), "message names the call and bucket: %s", e.msg);
    s3_client_free(c);
    bad_stop(&s);
}

Test(s3_faults, refused_connection_is_unavailable)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof a);
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd); /* bound then closed: nothing listens there */
    s3_client *c = client_for(ntohs(a.sin_port), 2000);
    t0_err e = {0};
    t0_status st = s3_put(c, "bot-logs", "logs/b/1.log", "x", 1, "text/plain", NULL, &e);
    cr_assert_eq(st, T0_EUNAVAILABLE, "got %s: %s", t0_status_name(st), e.msg);
    cr_assert(strstr(e.msg, "put bot-logs/logs/b/1.log"), "%s", e.msg);
    s3_client_free(c);
}

Test(s3_faults, fiu_point_fails_before_sending)
{
    fiu_init(0);
    s3_client *c = client_for(1, 500);
    fiu_enable("s3/head", 1, NULL, 0);
    t0_err e = {0};
    t0_status st = s3_head(c, "b", "k", NULL, &e);
    fiu_disable("s3/head");
    cr_assert_eq(st, T0_EUNAVAILABLE, "got %s", t0_status_name(st));
    cr_assert(strstr(e.msg, "injected fault (s3/head)"), "%s", e.msg);
    s3_client_free(c);
}

Test(objstore, meta_set_get_and_limits)
{
    objstore_meta m = {0};
    cr_assert_eq(objstore_meta_set(&m, "The0-End", "5"), T0_OK);
    cr_assert_eq(objstore_meta_set(&m, "the0-end", "6"), T0_OK);
    cr_assert_eq(m.nmeta, 1);
    cr_assert_str_eq(objstore_meta_get(&m, "THE0-END"), "6");
    for (int i = 0; i < OBJSTORE_MAX_META - 1; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        cr_assert_eq(objstore_meta_set(&m, k, "v"), T0_OK);
    }
    cr_assert_eq(objstore_meta_set(&m, "one-too-many", "v"), T0_ELIMIT);
    cr_assert_null(objstore_meta_get(&m, "absent"));
}
