/* s3.c: S3/MinIO client over libcurl CURLOPT_AWS_SIGV4, path-style, with S3 error codes mapped to t0_status. */
#include "adapters/s3.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fiu-local.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"

#define MIB (1024ull * 1024ull)

struct s3_client {
    s3_config cfg;
    long cap_ms; /* s3_client_set_timeout; 0 = none */
    CURL *curl;
    char sigv4[128];
};


static char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return strdup(v && *v ? v : dflt);
}

/* A base-10 count of MiB; unparsable or 0 keeps the default (reference §8.1). */
static uint64_t env_mib(const char *name, uint64_t dflt_mib)
{
    const char *v = getenv(name);
    if (!v || !*v) return dflt_mib * MIB;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end || n == 0 || n > (1ull << 40)) return dflt_mib * MIB;
    return n * MIB;
}

static long env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    if (!v || !*v) return dflt;
    char *end;
    long n = strtol(v, &end, 10);
    return (*end || n <= 0) ? dflt : n;
}

t0_status s3_config_from_env(s3_config *cfg, t0_err *err)
{
    memset(cfg, 0, sizeof *cfg);
    static const char *const required[] = {"MINIO_ENDPOINT", "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY"};
    for (size_t i = 0; i < T0_ARRAY_LEN(required); i++) {
        const char *v = getenv(required[i]);
        if (!v || !*v) return t0_fail(err, T0_EINVAL, "failed to load config: %s is required", required[i]);
    }
    cfg->endpoint = strdup(getenv("MINIO_ENDPOINT"));
    cfg->access_key = strdup(getenv("MINIO_ACCESS_KEY"));
    cfg->secret_key = strdup(getenv("MINIO_SECRET_KEY"));
    const char *ssl = getenv("MINIO_USE_SSL");
    cfg->use_ssl = ssl && !strcmp(ssl, "true");
    cfg->region = env_or("MINIO_REGION", "us-east-1");
    cfg->code_bucket = env_or("MINIO_CODE_BUCKET", "custom-bots");
    cfg->state_bucket = env_or("MINIO_STATE_BUCKET", "bot-state");
    cfg->logs_bucket = env_or("MINIO_LOGS_BUCKET", "bot-logs");
    cfg->results_bucket = env_or("MINIO_RESULTS_BUCKET", "backtest-results");
    cfg->max_state_size = env_mib("MAX_STATE_SIZE_MB", 8192);
    cfg->max_state_file_size = env_mib("MAX_STATE_FILE_SIZE_MB", 10);
    cfg->connect_timeout_ms = env_long("S3_CONNECT_TIMEOUT_MS", 5000);
    cfg->timeout_ms = env_long("S3_TIMEOUT_MS", 120000);
    cfg->low_speed_time_s = env_long("S3_LOW_SPEED_TIME_S", 20);
    if (!cfg->endpoint || !cfg->access_key || !cfg->secret_key || !cfg->region || !cfg->code_bucket ||
        !cfg->state_bucket || !cfg->logs_bucket || !cfg->results_bucket) {
        s3_config_free(cfg);
        return t0_fail(err, T0_ENOMEM, "failed to load config: out of memory");
    }
    return T0_OK;
}

void s3_config_free(s3_config *cfg)
{
    if (!cfg) return;
    free(cfg->endpoint);
    free(cfg->access_key);
    free(cfg->secret_key);
    free(cfg->region);
    free(cfg->code_bucket);
    free(cfg->state_bucket);
    free(cfg->logs_bucket);
    free(cfg->results_bucket);
    memset(cfg, 0, sizeof *cfg);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* host[:port] with a host of letters, digits, '.', '-', '_' or a bracketed IPv6 literal. */
static bool endpoint_valid(const char *ep)
{
    if (!ep || !*ep) return false;
    const char *p = ep;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        if (!close || close == p + 1) return false;
        p = close + 1;
    } else {
        const char *start = p;
        while (*p && (isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == '_')) p++;
        if (p == start) return false;
    }
    if (*p == ':') {
        p++;
        if (!*p) return false;
        char *end;
        long port = strtol(p, &end, 10);
        if (*end || port <= 0 || port > 65535) return false;
        return true;
    }
    return *p == '\0';
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_global(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

t0_status s3_client_new(const s3_config *cfg, s3_client **out, t0_err *err)
{
    *out = NULL;
    if (!endpoint_valid(cfg->endpoint))
        return t0_fail(err, T0_EINVAL, "invalid MINIO_ENDPOINT \"%s\": want host[:port] without scheme or path",
                       cfg->endpoint ? cfg->endpoint : "");
    if (!cfg->access_key || !*cfg->access_key || !cfg->secret_key || !*cfg->secret_key)
        return t0_fail(err, T0_EINVAL, "s3 client: access key and secret key are required");
    pthread_once(&curl_once, curl_global);
    s3_client *c = calloc(1, sizeof *c);
    if (!c) return t0_fail(err, T0_ENOMEM, "s3 client: out of memory");
    c->cfg = *cfg;
    c->cfg.endpoint = dup_or_null(cfg->endpoint);
    c->cfg.access_key = dup_or_null(cfg->access_key);
    c->cfg.secret_key = dup_or_null(cfg->secret_key);
    c->cfg.region = strdup(cfg->region && *cfg->region ? cfg->region : "us-east-1");
    c->cfg.code_bucket = dup_or_null(cfg->code_bucket);
    c->cfg.state_bucket = dup_or_null(cfg->state_bucket);
    c->cfg.logs_bucket = dup_or_null(cfg->logs_bucket);
    c->cfg.results_bucket = dup_or_null(cfg->results_bucket);
    if (c->cfg.connect_timeout_ms <= 0) c->cfg.connect_timeout_ms = 5000;
    if (c->cfg.timeout_ms <= 0) c->cfg.timeout_ms = 120000;
    if (c->cfg.low_speed_time_s <= 0) c->cfg.low_speed_time_s = 20;
    c->curl = curl_easy_init();
    if (!c->cfg.endpoint || !c->cfg.access_key || !c->cfg.secret_key || !c->cfg.region || !c->curl) {
        s3_client_free(c);
        return t0_fail(err, T0_ENOMEM, "s3 client: out of memory");
    }
    snprintf(c->sigv4, sizeof c->sigv4, "aws:amz:%s:s3", c->cfg.region);
    *out = c;
    return T0_OK;
}

void s3_client_set_timeout(s3_client *c, long timeout_ms)
{
    c->cap_ms = timeout_ms > 0 ? timeout_ms : 0;
}

void s3_client_free(s3_client *c)
{
    if (!c) return;
    if (c->curl) curl_easy_cleanup(c->curl);
    s3_config_free(&c->cfg);
    free(c);
}

/* ---- encoding -------------------------------------------------------------------------------------- */

char *s3_uri_encode(const char *s, bool keep_slash)
{
    size_t n = strlen(s);
    char *out = malloc(n * 3 + 1), *o = out;
    if (!out) return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~' || (keep_slash && *p == '/')) {
            *o++ = (char)*p;
        } else {
            static const char hex[] = "0123456789ABCDEF";
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

char *s3_canonical_query(const char *const *keys, const char *const *vals, size_t n)
{
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx) return NULL;
    for (size_t i = 0; i < n; i++) idx[i] = i;
    for (size_t i = 1; i < n; i++) /* insertion sort by key (byte order, as SigV4 wants) */
        for (size_t j = i; j > 0 && strcmp(keys[idx[j - 1]], keys[idx[j]]) > 0; j--) {
            size_t t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    objstore_buf b = {0};
    t0_status st = objstore_buf_append(&b, "", 0);
    for (size_t i = 0; i < n && st == T0_OK; i++) {
        char *k = s3_uri_encode(keys[idx[i]], false);
        char *v = s3_uri_encode(vals[idx[i]] ? vals[idx[i]] : "", false);
        if (!k || !v) st = T0_ENOMEM;
        if (st == T0_OK && i) st = objstore_buf_append(&b, "&", 1);
        if (st == T0_OK) st = objstore_buf_append(&b, k, strlen(k));
        if (st == T0_OK) st = objstore_buf_append(&b, "=", 1);
        if (st == T0_OK) st = objstore_buf_append(&b, v, strlen(v));
        free(k);
        free(v);
    }
    free(idx);
    if (st != T0_OK) {
        objstore_buf_free(&b);
        return NULL;
    }
    return b.data;
}

t0_status s3_error_status(long http, const char *code)
{
    if (code && (!strcmp(code, "NoSuchKey") || !strcmp(code, "NoSuchBucket"))) return T0_ENOTFOUND;
    if (code && !strcmp(code, "BucketAlreadyOwnedByYou")) return T0_EEXIST;
    if (code && !strcmp(code, "SlowDown")) return T0_ETOOMANY;
    if (code && (!strcmp(code, "RequestTimeout"))) return T0_ETIMEOUT;
    if (http == 401 || http == 403) return T0_EFORBIDDEN;
    if (http == 404) return T0_ENOTFOUND;
    if (http == 409) return T0_EEXIST;
    if (http == 429) return T0_ETOOMANY;
    if (http >= 500) return T0_EINTERNAL;
    if (http >= 400) return T0_EINVAL;
    return T0_EINTERNAL; /* anything else unexpected (1xx/3xx) */
}

static t0_status curl_status(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
        return T0_EUNAVAILABLE;
    case CURLE_OPERATION_TIMEDOUT:
        return T0_ETIMEOUT;
    case CURLE_OUT_OF_MEMORY:
        return T0_ENOMEM;
    case CURLE_WRITE_ERROR:
    case CURLE_READ_ERROR:
        return T0_EIO;
    default:
        return T0_EINTERNAL;
    }
}

/* The text between <TAG> and </TAG> in XML (first occurrence), entity-decoded, into OUT. */
static bool xml_tag(const char *xml, const char *tag, char *out, size_t cap, const char **after)
{
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *s = xml ? strstr(xml, open) : NULL;
    if (!s) return false;
    s += strlen(open);
    const char *e = strstr(s, close);
    if (!e) return false;
    size_t o = 0;
    for (const char *p = s; p < e && o + 1 < cap;) {
        static const struct {
            const char *ent;
            char c;
        } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
        bool done = false;
        if (*p == '&') {
            for (size_t i = 0; i < T0_ARRAY_LEN(ents) && !done; i++) {
                size_t l = strlen(ents[i].ent);
                if ((size_t)(e - p) >= l && !strncmp(p, ents[i].ent, l)) {
                    out[o++] = ents[i].c;
                    p += l;
                    done = true;
                }
            }
        }
        if (!done) out[o++] = *p++;
    }
    out[o] = '\0';
    if (after) *after = e + strlen(close);
    return true;
}

/* ---- one request ------------------------------------------------------------------------------------ */

typedef struct req {
    const char *op;               /* "get", "put", ... for messages */
    const char *method;           /* GET PUT HEAD DELETE */
    const char *bucket, *key;     /* key may be NULL (bucket-level) */
    const char *query;            /* canonical query or NULL */
    const char *content_type;     /* PUT only */
    const objstore_meta *meta_in; /* PUT only */
    const objstore_body *body;    /* PUT only */
    const objstore_sink *sink;    /* GET only: where a 2xx body goes */
    objstore_meta *meta_out;      /* response headers */
    /* filled during the transfer */
    long http;
    objstore_buf errbody; /* non-2xx body (or list body) */
    objstore_buf *capture; /* where the 2xx body goes when no sink is set (listing) */
    bool sink_failed;
    t0_status sink_status; /* why the sink refused the body */
    size_t body_off;
} req;

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    req *r = ud;
    size_t len = sz * n;
    if (len >= 5 && !strncmp(p, "HTTP/", 5)) {
        const char *sp = memchr(p, ' ', len);
        if (sp) r->http = strtol(sp + 1, NULL, 10);
        if (r->meta_out) { /* a new response (e.g. after 100-continue) starts clean */
            r->meta_out->nmeta = 0;
            r->meta_out->etag[0] = '\0';
        }
        return len;
    }
    if (!r->meta_out) return len;
    const char *colon = memchr(p, ':', len);
    if (!colon) return len;
    char name[128], val[256];
    size_t nl = (size_t)(colon - p);
    if (nl >= sizeof name) return len;
    memcpy(name, p, nl);
    name[nl] = '\0';
    const char *v = colon + 1, *end = p + len;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
    size_t vl = (size_t)(end - v);
    if (vl >= sizeof val) vl = sizeof val - 1;
    memcpy(val, v, vl);
    val[vl] = '\0';
    if (!strcasecmp(name, "content-length")) {
        r->meta_out->size = strtoull(val, NULL, 10);
    } else if (!strcasecmp(name, "etag")) {
        char *q = val;
        if (*q == '"') q++;
        size_t ql = strlen(q);
        if (ql && q[ql - 1] == '"') q[--ql] = '\0';
        snprintf(r->meta_out->etag, sizeof r->meta_out->etag, "%s", q);
    } else if (!strncasecmp(name, "x-amz-meta-", 11)) {
        (void)objstore_meta_set(r->meta_out, name + 11, val);
    }
    return len;
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    req *r = ud;
    size_t len = sz * n;
    if (r->http >= 200 && r->http < 300 && r->sink) {
        if ((r->sink_status = objstore_sink_write(r->sink, p, len)) != T0_OK) {
            r->sink_failed = true;
            return 0;
        }
        return len;
    }
    objstore_buf *b = (r->http >= 200 && r->http < 300 && r->capture) ? r->capture : &r->errbody;
    if (b == &r->errbody && b->len > 64 * 1024) return len; /* error bodies are small; cap them */
    if (objstore_buf_append(b, p, len) != T0_OK) return 0;
    return len;
}

static size_t on_read(char *p, size_t sz, size_t n, void *ud)
{
    req *r = ud;
    size_t want = sz * n;
    if (r->body->file) {
        size_t got = fread(p, 1, want, r->body->file);
        if (got == 0 && ferror(r->body->file)) return CURL_READFUNC_ABORT;
        return got;
    }
    size_t left = r->body->len - r->body_off;
    if (want > left) want = left;
    memcpy(p, (const char *)r->body->data + r->body_off, want);
    r->body_off += want;
    return want;
}

static int on_seek(void *ud, curl_off_t off, int origin)
{
    req *r = ud;
    if (origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
    if (r->body->file) return fseeko(r->body->file, (off_t)off, SEEK_SET) ? CURL_SEEKFUNC_FAIL : CURL_SEEKFUNC_OK;
    if ((size_t)off > r->body->len) return CURL_SEEKFUNC_FAIL;
    r->body_off = (size_t)off;
    return CURL_SEEKFUNC_OK;
}

static void hex32(const unsigned char *d, char out[65])
{
    for (int i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

/* SHA-256 of the body (the file is read once and rewound). */
static t0_status body_sha256(const objstore_body *b, char out[65], uint64_t *len)
{
    unsigned char d[32];
    unsigned int dl = 0;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    if (!m) return T0_ENOMEM;
    EVP_DigestInit_ex(m, EVP_sha256(), NULL);
    t0_status st = T0_OK;
    if (b->file) {
        char buf[65536];
        size_t got;
        uint64_t total = 0;
        if (fseeko(b->file, 0, SEEK_SET)) st = T0_EIO;
        while (st == T0_OK && (got = fread(buf, 1, sizeof buf, b->file)) > 0) {
            EVP_DigestUpdate(m, buf, got);
            total += got;
        }
        if (st == T0_OK && ferror(b->file)) st = T0_EIO;
        if (st == T0_OK && fseeko(b->file, 0, SEEK_SET)) st = T0_EIO;
        *len = total;
    } else {
        EVP_DigestUpdate(m, b->data, b->len);
        *len = b->len;
    }
    EVP_DigestFinal_ex(m, d, &dl);
    EVP_MD_CTX_free(m);
    hex32(d, out);
    return st;
}

static const char *obj_name(const req *r, char *buf, size_t cap)
{
    if (r->key)
        snprintf(buf, cap, "%s/%s", r->bucket, r->key);
    else
        snprintf(buf, cap, "%s", r->bucket);
    return buf;
}

static t0_status fail_http(req *r, t0_err *err)
{
    char code[128] = "", msg[256] = "", name[600];
    xml_tag(r->errbody.data, "Code", code, sizeof code, NULL);
    xml_tag(r->errbody.data, "Message", msg, sizeof msg, NULL);
    if (!*code && r->http == 404 && !strcmp(r->method, "HEAD")) /* HEAD answers carry no body */
        snprintf(code, sizeof code, "%s", r->key ? "NoSuchKey" : "NoSuchBucket");
    t0_status st = s3_error_status(r->http, code);
    obj_name(r, name, sizeof name);
    const char *what = "";
    if (!strcmp(code, "NoSuchBucket"))
        what = " (the bucket does not exist)";
    else if (!strcmp(code, "NoSuchKey"))
        what = " (no such object)";
    t0_fail(err, st, "s3 %s %s: HTTP %ld %s%s%s%s", r->op, name, r->http, *code ? code : "(no error code)",
            what, *msg ? ": " : "", msg);
    if (err) err->http_status = (int)r->http;
    return st;
}

static t0_status perform(s3_client *c, req *r, t0_err *err)
{
    char name[600];
    obj_name(r, name, sizeof name);
    char *bkt = s3_uri_encode(r->bucket, false);
    char *key = r->key ? s3_uri_encode(r->key, true) : NULL;
    if (!bkt || (r->key && !key)) {
        free(bkt);
        free(key);
        return t0_fail(err, T0_ENOMEM, "s3 %s %s: out of memory", r->op, name);
    }
    size_t ulen = strlen(c->cfg.endpoint) + strlen(bkt) + (key ? strlen(key) : 0) +
                  (r->query ? strlen(r->query) : 0) + 32;
    char *url = malloc(ulen);
    if (!url) {
        free(bkt);
        free(key);
        return t0_fail(err, T0_ENOMEM, "s3 %s %s: out of memory", r->op, name);
    }
    snprintf(url, ulen, "%s://%s/%s%s%s%s%s", c->cfg.use_ssl ? "https" : "http", c->cfg.endpoint, bkt,
             key ? "/" : "", key ? key : "", r->query ? "?" : "", r->query ? r->query : "");
    free(bkt);
    free(key);

    struct curl_slist *h = NULL;
    char line[512], sha[65] = "";
    uint64_t blen = 0;
    t0_status st = T0_OK;
    if (r->body) {
        if (body_sha256(r->body, sha, &blen) != T0_OK) {
            free(url);
            return t0_fail(err, T0_EIO, "s3 %s %s: reading the request body failed", r->op, name);
        }
    } else {
        /* SHA-256 of the empty string: GET/HEAD/DELETE send no body. */
        snprintf(sha, sizeof sha, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
    snprintf(line, sizeof line, "x-amz-content-sha256: %s", sha);
    h = curl_slist_append(h, line);
    if (r->content_type) {
        snprintf(line, sizeof line, "Content-Type: %s", r->content_type);
        h = curl_slist_append(h, line);
    }
    if (r->meta_in)
        for (size_t i = 0; i < r->meta_in->nmeta; i++) {
            snprintf(line, sizeof line, "x-amz-meta-%s: %s", r->meta_in->meta[i].key, r->meta_in->meta[i].val);
            h = curl_slist_append(h, line);
        }

    CURL *cu = c->curl;
    curl_easy_reset(cu);
    curl_easy_setopt(cu, CURLOPT_URL, url);
    /* Send the path exactly as it is signed: curl would otherwise resolve "." and ".." segments and so
     * address (and sign) another key than the caller named (issue 14). */
    curl_easy_setopt(cu, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(cu, CURLOPT_AWS_SIGV4, c->sigv4);
    curl_easy_setopt(cu, CURLOPT_USERNAME, c->cfg.access_key);
    curl_easy_setopt(cu, CURLOPT_PASSWORD, c->cfg.secret_key);
    curl_easy_setopt(cu, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
    long cto = c->cfg.connect_timeout_ms, to = c->cfg.timeout_ms;
    if (c->cap_ms && c->cap_ms < to) to = c->cap_ms;
    if (c->cap_ms && c->cap_ms < cto) cto = c->cap_ms;
    curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT_MS, cto);
    curl_easy_setopt(cu, CURLOPT_TIMEOUT_MS, to);
    curl_easy_setopt(cu, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(cu, CURLOPT_LOW_SPEED_TIME, c->cfg.low_speed_time_s);
    curl_easy_setopt(cu, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(cu, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(cu, CURLOPT_WRITEDATA, r);
    if (!strcmp(r->method, "PUT")) {
        curl_easy_setopt(cu, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(cu, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(cu, CURLOPT_READDATA, r);
        curl_easy_setopt(cu, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(cu, CURLOPT_SEEKDATA, r);
        curl_easy_setopt(cu, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(r->body ? blen : 0));
    } else if (!strcmp(r->method, "HEAD")) {
        curl_easy_setopt(cu, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(r->method, "DELETE")) {
        curl_easy_setopt(cu, CURLOPT_CUSTOMREQUEST, "DELETE");
    }
    if (r->meta_out) memset(r->meta_out, 0, sizeof *r->meta_out);

    CURLcode cc = curl_easy_perform(cu);
    curl_slist_free_all(h);
    free(url);
    if (cc == CURLE_WRITE_ERROR && r->sink_failed && r->sink_status == T0_ELIMIT) {
        st = t0_fail(err, T0_ELIMIT, "s3 %s %s: the body is larger than the %zu bytes asked for", r->op, name,
                     r->sink->max);
    } else if (cc == CURLE_WRITE_ERROR && r->sink_failed) {
        int e = errno;
        st = t0_fail(err, r->sink_status == T0_ENOMEM ? T0_ENOMEM : T0_EIO, "s3 %s %s: writing the downloaded body failed",
                     r->op, name);
        if (err) err->sys_errno = e;
    } else if (cc != CURLE_OK) {
        st = t0_fail(err, curl_status(cc), "s3 %s %s: %s (%s://%s)", r->op, name, curl_easy_strerror(cc),
                     c->cfg.use_ssl ? "https" : "http", c->cfg.endpoint);
    } else if (r->http < 200 || r->http >= 300) {
        st = fail_http(r, err);
    }
    objstore_buf_free(&r->errbody);
    return st;
}

static t0_status injected(const char *point, const char *op, const char *bucket, const char *key, t0_err *err)
{
    (void)point;
    return t0_fail(err, T0_EUNAVAILABLE, "s3 %s %s%s%s: injected fault (%s)", op, bucket, key ? "/" : "",
                   key ? key : "", point);
}

static t0_status s3_get_sink(s3_client *c, const char *bucket, const char *key, const objstore_sink *sink,
                      objstore_meta *meta, t0_err *err)
{
    if (fiu_fail("s3/get")) return injected("s3/get", "get", bucket, key, err);
    objstore_meta tmp;
    req r = {.op = "get", .method = "GET", .bucket = bucket, .key = key, .sink = sink,
             .meta_out = meta ? meta : &tmp};
    t0_status st = perform(c, &r, err);
    if (st == T0_OK && sink->file && fflush(sink->file))
        return t0_fail(err, T0_EIO, "s3 get %s/%s: writing the downloaded body failed: %s", bucket, key,
                       strerror(errno));
    return st;
}

t0_status s3_get(s3_client *c, const char *bucket, const char *key, objstore_buf *out, objstore_meta *meta,
                 t0_err *err)
{
    objstore_sink s = {.buf = out};
    return s3_get_sink(c, bucket, key, &s, meta, err);
}

t0_status s3_get_file(s3_client *c, const char *bucket, const char *key, FILE *out, objstore_meta *meta,
                      t0_err *err)
{
    objstore_sink s = {.file = out};
    return s3_get_sink(c, bucket, key, &s, meta, err);
}

static t0_status put_body(s3_client *c, const char *bucket, const char *key, const objstore_body *body,
                          const char *content_type, const objstore_meta *meta, t0_err *err)
{
    if (fiu_fail("s3/put")) return injected("s3/put", "put", bucket, key, err);
    req r = {.op = "put", .method = "PUT", .bucket = bucket, .key = key, .body = body,
             .content_type = content_type ? content_type : "application/octet-stream", .meta_in = meta};
    return perform(c, &r, err);
}

t0_status s3_put(s3_client *c, const char *bucket, const char *key, const void *data, size_t len,
                 const char *content_type, const objstore_meta *meta, t0_err *err)
{
    objstore_body b = {.data = data ? data : "", .len = len};
    return put_body(c, bucket, key, &b, content_type, meta, err);
}

t0_status s3_put_file(s3_client *c, const char *bucket, const char *key, FILE *f, const char *content_type,
                      const objstore_meta *meta, t0_err *err)
{
    objstore_body b = {.file = f};
    return put_body(c, bucket, key, &b, content_type, meta, err);
}

t0_status s3_head(s3_client *c, const char *bucket, const char *key, objstore_meta *meta, t0_err *err)
{
    if (fiu_fail("s3/head")) return injected("s3/head", "head", bucket, key, err);
    objstore_meta tmp;
    req r = {.op = "head", .method = "HEAD", .bucket = bucket, .key = key, .meta_out = meta ? meta : &tmp};
    return perform(c, &r, err);
}

t0_status s3_delete(s3_client *c, const char *bucket, const char *key, t0_err *err)
{
    if (fiu_fail("s3/delete")) return injected("s3/delete", "delete", bucket, key, err);
    req r = {.op = "delete", .method = "DELETE", .bucket = bucket, .key = key};
    return perform(c, &r, err);
}

t0_status s3_list(s3_client *c, const char *bucket, const char *prefix, objstore_list *out, t0_err *err)
{
    memset(out, 0, sizeof *out);
    if (fiu_fail("s3/list")) return injected("s3/list", "list", bucket, prefix, err);
    char token[1024] = "";
    for (int page = 0; page < 100000; page++) {
        const char *keys[] = {"list-type", "prefix", "continuation-token"};
        const char *vals[] = {"2", prefix ? prefix : "", token};
        char *q = s3_canonical_query(keys, vals, *token ? 3 : 2);
        if (!q) {
            objstore_list_free(out);
            return t0_fail(err, T0_ENOMEM, "s3 list %s prefix %s: out of memory", bucket, prefix);
        }
        objstore_buf body = {0};
        req r = {.op = "list", .method = "GET", .bucket = bucket, .query = q, .capture = &body};
        t0_status st = perform(c, &r, err);
        free(q);
        if (st != T0_OK) {
            if (err) t0_err_prefix(err, "prefix \"%s\"", prefix ? prefix : "");
            objstore_buf_free(&body);
            objstore_list_free(out);
            return st;
        }
        const char *p = body.data ? body.data : "";
        char k[1100], sz[32];
        const char *cont;
        while ((cont = strstr(p, "<Contents>")) != NULL) {
            const char *after;
            if (!xml_tag(cont, "Key", k, sizeof k, &after)) break;
            sz[0] = '\0';
            xml_tag(cont, "Size", sz, sizeof sz, NULL);
            if (objstore_list_push(out, k, strtoull(sz, NULL, 10)) != T0_OK) {
                objstore_buf_free(&body);
                objstore_list_free(out);
                return t0_fail(err, T0_ENOMEM, "s3 list %s: out of memory", bucket);
            }
            const char *endc = strstr(cont, "</Contents>");
            p = endc ? endc + 11 : after;
        }
        char trunc[16] = "";
        xml_tag(body.data, "IsTruncated", trunc, sizeof trunc, NULL);
        bool more = !strcmp(trunc, "true") &&
                    xml_tag(body.data, "NextContinuationToken", token, sizeof token, NULL) && *token;
        objstore_buf_free(&body);
        if (!more) return T0_OK;
    }
    objstore_list_free(out);
    return t0_fail(err, T0_EINTERNAL, "s3 list %s: too many pages", bucket);
}

t0_status s3_ensure_bucket(s3_client *c, const char *bucket, t0_err *err)
{
    if (fiu_fail("s3/bucket")) return injected("s3/bucket", "create-bucket", bucket, NULL, err);
    req h = {.op = "head-bucket", .method = "HEAD", .bucket = bucket};
    t0_err e = {0};
    t0_status st = perform(c, &h, &e);
    if (st == T0_OK) return T0_OK;
    if (st != T0_ENOTFOUND) {
        if (err) *err = e;
        return st;
    }
    req p = {.op = "create-bucket", .method = "PUT", .bucket = bucket};
    objstore_body empty = {.data = "", .len = 0};
    p.body = &empty;
    st = perform(c, &p, err);
    if (st == T0_EEXIST) return T0_OK; /* created meanwhile by someone else, or already ours */
    return st;
}

/* ---- the port ---------------------------------------------------------------------------------------- */

static t0_status port_get(void *ctx, const char *bucket, const char *key, const objstore_sink *sink,
                          objstore_meta *meta, t0_err *err)
{
    return s3_get_sink(ctx, bucket, key, sink, meta, err);
}

static t0_status port_put(void *ctx, const char *bucket, const char *key, const objstore_body *body,
                          const char *content_type, const objstore_meta *meta, t0_err *err)
{
    return put_body(ctx, bucket, key, body, content_type, meta, err);
}

static t0_status port_head(void *ctx, const char *bucket, const char *key, objstore_meta *meta, t0_err *err)
{
    return s3_head(ctx, bucket, key, meta, err);
}

static t0_status port_del(void *ctx, const char *bucket, const char *key, t0_err *err)
{
    return s3_delete(ctx, bucket, key, err);
}

static t0_status port_list(void *ctx, const char *bucket, const char *prefix, objstore_list *out, t0_err *err)
{
    return s3_list(ctx, bucket, prefix, out, err);
}

static t0_status port_bucket(void *ctx, const char *bucket, t0_err *err)
{
    return s3_ensure_bucket(ctx, bucket, err);
}

objstore s3_objstore(s3_client *c)
{
    objstore o = {.ctx = c,
                  .get = port_get,
                  .put = port_put,
                  .head = port_head,
                  .del = port_del,
                  .list = port_list,
                  .ensure_bucket = port_bucket};
    return o;
}
