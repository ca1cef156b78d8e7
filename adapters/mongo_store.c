/* mongo_store.c: store_port over mongo-c-driver (see mongo_store.h). */
#include "adapters/mongo_store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mongoc/mongoc.h>

#include "domain/hash.h"
#include "core/log.h"

#define COMP "mongo-store"

const char MONGOSTORE_ENABLED_FILTER[] =
    "{\"$or\":[{\"config.enabled\":{\"$ne\":false}},{\"config.enabled\":{\"$exists\":false}}]}";

struct mongostore {
    mongoc_client_t *client;
    mongoc_collection_t *coll[2];
};

static const char *const dbs[2] = {"bot_runner", "bot_scheduler"};
static const char *const colls[2] = {"bots", "bot_schedules"};

static void init_once(void) { mongoc_init(); }
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* map: a driver error as a status, with WHAT naming the call. */
static t0_status map(const bson_error_t *e, const char *what, t0_err *err)
{
    t0_status st;
    switch (e->domain) {
    case MONGOC_ERROR_SERVER_SELECTION:
    case MONGOC_ERROR_STREAM:
    case MONGOC_ERROR_CLIENT:
        st = strstr(e->message, "timed out") || strstr(e->message, "Timed out") ? T0_ETIMEOUT : T0_EUNAVAILABLE;
        break;
    case MONGOC_ERROR_BSON:
    case MONGOC_ERROR_COMMAND:
        st = e->domain == MONGOC_ERROR_BSON ? T0_EINVAL : T0_EINTERNAL;
        break;
    default:
        st = T0_EINTERNAL;
    }
    return t0_fail(err, st, "%s: %s (domain %u code %u)", what, e->message, e->domain, e->code);
}

void mongostore_destroy(mongostore *s)
{
    if (!s) return;
    for (int i = 0; i < 2; i++)
        if (s->coll[i]) mongoc_collection_destroy(s->coll[i]);
    if (s->client) mongoc_client_destroy(s->client);
    free(s);
}

t0_status mongostore_ping(mongostore *s, t0_err *err)
{
    bson_t *cmd = BCON_NEW("ping", BCON_INT32(1));
    bson_error_t e;
    bool ok = mongoc_client_command_simple(s->client, "admin", cmd, NULL, NULL, &e);
    bson_destroy(cmd);
    if (!ok) {
        /* a failed ping means unreachable (or timed out), whatever the driver's error domain; the message
         * keeps the driver's cause */
        t0_status st = map(&e, "mongo ping", err);
        if (st == T0_ETIMEOUT) return st;
        if (err) err->code = T0_EUNAVAILABLE;
        return T0_EUNAVAILABLE;
    }
    return T0_OK;
}

t0_status mongostore_new(const char *uri_s, int64_t timeout_ms, mongostore **out, t0_err *err)
{
    pthread_once(&once, init_once);
    if (!uri_s || !*uri_s) uri_s = "mongodb://localhost:27017";
    bson_error_t e;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(uri_s, &e);
    if (!uri) return t0_fail(err, T0_EINVAL, "mongo URI: %s", e.message);
    if (timeout_ms > 0) {
        if (!mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
            mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, (int32_t)timeout_ms);
        if (!mongoc_uri_has_option(uri, MONGOC_URI_CONNECTTIMEOUTMS))
            mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS, (int32_t)timeout_ms);
    }
    mongostore *s = calloc(1, sizeof *s);
    if (s) s->client = mongoc_client_new_from_uri(uri);
    mongoc_uri_destroy(uri);
    if (!s || !s->client) {
        mongostore_destroy(s);
        return t0_fail(err, T0_ENOMEM, "mongo: cannot create a client");
    }
    mongoc_client_set_error_api(s->client, MONGOC_ERROR_API_VERSION_2);
    mongoc_client_set_appname(s->client, "the0-runtime");
    for (int i = 0; i < 2; i++)
        if (!(s->coll[i] = mongoc_client_get_collection(s->client, dbs[i], colls[i]))) {
            mongostore_destroy(s);
            return t0_fail(err, T0_ENOMEM, "mongo: out of memory");
        }
    t0_status st = mongostore_ping(s, err);
    if (st != T0_OK) {
        mongostore_destroy(s);
        return st;
    }
    *out = s;
    return T0_OK;
}

/* ---- BSON -> cJSON ---------------------------------------------------------------------------- */
static cJSON *value_to_json(bson_iter_t *it, int depth, bool *truncated);

static cJSON *doc_to_json(bson_iter_t *parent, bool array, int depth, bool top, bool *truncated)
{
    cJSON *o = array ? cJSON_CreateArray() : cJSON_CreateObject();
    if (!o) return NULL;
    bson_iter_t it;
    if (!bson_iter_recurse(parent, &it)) {
        *truncated = true;
        return o;
    }
    while (bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        bson_type_t t = bson_iter_type(&it);
        if (t == BSON_TYPE_OID || (top && !strcmp(key, "_id"))) continue;
        cJSON *v = value_to_json(&it, depth + 1, truncated);
        if (!v) continue;
        if (array)
            cJSON_AddItemToArray(o, v);
        else
            cJSON_AddItemToObject(o, key, v);
    }
    /* bson_iter_next returns false both at the end and on corruption: tell them apart */
    if (it.err_off) *truncated = true;
    return o;
}

static cJSON *value_to_json(bson_iter_t *it, int depth, bool *truncated)
{
    if (depth > 100) {
        *truncated = true;
        return cJSON_CreateNull();
    }
    switch (bson_iter_type(it)) {
    case BSON_TYPE_DOUBLE:
        return cJSON_CreateNumber(bson_iter_double(it));
    case BSON_TYPE_INT32:
        return cJSON_CreateNumber(bson_iter_int32(it));
    case BSON_TYPE_INT64:
        return cJSON_CreateNumber((double)bson_iter_int64(it));
    case BSON_TYPE_UTF8: {
        uint32_t len;
        const char *s = bson_iter_utf8(it, &len);
        if (strlen(s) != len || !bson_utf8_validate(s, len, false)) {
            *truncated = true; /* embedded NUL or invalid UTF-8: keep what is safe */
            char *cp = bson_strndup(s, strlen(s));
            cJSON *r = cJSON_CreateString(bson_utf8_validate(cp, strlen(cp), false) ? cp : "");
            bson_free(cp);
            return r;
        }
        return cJSON_CreateString(s);
    }
    case BSON_TYPE_BOOL:
        return cJSON_CreateBool(bson_iter_bool(it));
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED:
        return cJSON_CreateNull();
    case BSON_TYPE_DOCUMENT:
        return doc_to_json(it, false, depth, false, truncated);
    case BSON_TYPE_ARRAY:
        return doc_to_json(it, true, depth, false, truncated);
    case BSON_TYPE_DATE_TIME: {
        int64_t ms = bson_iter_date_time(it);
        time_t s = (time_t)(ms / 1000);
        struct tm tm;
        char buf[40];
        gmtime_r(&s, &tm);
        size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf + n, sizeof buf - n, ".%03dZ", (int)(((ms % 1000) + 1000) % 1000));
        return cJSON_CreateString(buf);
    }
    case BSON_TYPE_DECIMAL128: {
        bson_decimal128_t d;
        char buf[BSON_DECIMAL128_STRING];
        bson_iter_decimal128(it, &d);
        bson_decimal128_to_string(&d, buf);
        return cJSON_CreateString(buf);
    }
    case BSON_TYPE_TIMESTAMP: {
        uint32_t ts, inc;
        bson_iter_timestamp(it, &ts, &inc);
        return cJSON_CreateNumber(ts);
    }
    case BSON_TYPE_OID:
        return NULL;
    default:
        return cJSON_CreateNull();
    }
}

t0_status mongostore_bson_to_json(const bson_t *doc, cJSON **out, t0_err *err)
{
    *out = NULL;
    bson_t wrapper;
    bson_init(&wrapper);
    /* recurse needs an iterator positioned on a document value: wrap DOC as {"":DOC} */
    if (!bson_append_document(&wrapper, "", 0, doc)) {
        bson_destroy(&wrapper);
        return t0_fail(err, T0_ENOMEM, "bson: document too large to convert");
    }
    bson_iter_t it;
    bool truncated = false;
    cJSON *o = NULL;
    if (bson_iter_init(&it, &wrapper) && bson_iter_next(&it)) o = doc_to_json(&it, false, 0, true, &truncated);
    bson_destroy(&wrapper);
    if (!o) return t0_fail(err, T0_ENOMEM, "bson: out of memory");
    if (truncated) T0_WARN(COMP, "a document did not decode completely; returning what decoded");
    *out = o;
    return T0_OK;
}

/* ---- port ------------------------------------------------------------------------------------- */
/* bson_rev: a document's revision for find_enabled: the first 8 bytes of SHA-256 over its BSON bytes
 * (a content digest: equal content, equal revision). 0 when hashing fails (the controller then compares
 * the content itself). */
static uint64_t bson_rev(const bson_t *doc)
{
    unsigned char md[HASH_DIGEST_MAX];
    if (hash_digest(HASH_SHA256, bson_get_data(doc), doc->len, md) < 8) return 0;
    uint64_t r = 0;
    for (int i = 0; i < 8; i++) r = r << 8 | md[i];
    return r ? r : 1;
}

static t0_status s_find_enabled(void *ctx, store_coll c, cJSON **out, uint64_t **revs, t0_err *err)
{
    mongostore *s = ctx;
    *out = NULL;
    if (revs) *revs = NULL;
    uint64_t *rv = NULL;
    size_t nrv = 0, caprv = 0;
    if ((unsigned)c > STORE_SCHEDULES) return t0_fail(err, T0_EINVAL, "find: bad collection");
    bson_error_t e;
    bson_t *filter = bson_new_from_json((const uint8_t *)MONGOSTORE_ENABLED_FILTER, -1, &e);
    if (!filter) return t0_fail(err, T0_EINTERNAL, "find: filter: %s", e.message);
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(s->coll[c], filter, NULL, NULL);
    bson_destroy(filter);
    cJSON *arr = cJSON_CreateArray();
    const bson_t *doc;
    t0_status st = T0_OK;
    while (arr && mongoc_cursor_next(cur, &doc)) {
        cJSON *j;
        if ((st = mongostore_bson_to_json(doc, &j, err)) != T0_OK) break;
        cJSON_AddItemToArray(arr, j);
        if (!revs) continue;
        if (nrv == caprv) {
            size_t nc = caprv ? caprv * 2 : 64;
            uint64_t *g = realloc(rv, nc * sizeof *g);
            if (!g) {
                st = t0_fail(err, T0_ENOMEM, "find %s: out of memory", store_coll_name(c));
                break;
            }
            rv = g;
            caprv = nc;
        }
        rv[nrv++] = bson_rev(doc);
    }
    if (!arr) st = t0_fail(err, T0_ENOMEM, "find %s: out of memory", store_coll_name(c));
    else if (st == T0_OK && mongoc_cursor_error(cur, &e)) {
        char what[96];
        snprintf(what, sizeof what, "find enabled in %s", store_coll_name(c));
        st = map(&e, what, err);
    }
    mongoc_cursor_destroy(cur);
    if (st != T0_OK) {
        cJSON_Delete(arr);
        free(rv);
        return st;
    }
    *out = arr;
    if (revs) *revs = rv;
    return T0_OK;
}

static t0_status s_get(void *ctx, store_coll c, const char *id, cJSON **out, t0_err *err)
{
    mongostore *s = ctx;
    *out = NULL;
    if ((unsigned)c > STORE_SCHEDULES || !id) return t0_fail(err, T0_EINVAL, "get: bad collection or id");
    bson_t *filter = BCON_NEW("id", BCON_UTF8(id));
    bson_t *opts = BCON_NEW("limit", BCON_INT64(1));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(s->coll[c], filter, opts, NULL);
    bson_destroy(filter);
    bson_destroy(opts);
    const bson_t *doc;
    bson_error_t e;
    char what[160];
    snprintf(what, sizeof what, "get %s id %s", store_coll_name(c), id);
    t0_status st;
    if (mongoc_cursor_next(cur, &doc))
        st = mongostore_bson_to_json(doc, out, err);
    else if (mongoc_cursor_error(cur, &e))
        st = map(&e, what, err);
    else
        st = t0_fail(err, T0_ENOTFOUND, "%s: no such document", what);
    mongoc_cursor_destroy(cur);
    return st;
}

static t0_status s_upsert(void *ctx, store_coll c, const char *id, const cJSON *fields, t0_err *err)
{
    mongostore *s = ctx;
    if ((unsigned)c > STORE_SCHEDULES || !id || !cJSON_IsObject(fields))
        return t0_fail(err, T0_EINVAL, "upsert: bad collection, id or fields");
    char what[160];
    snprintf(what, sizeof what, "upsert %s id %s", store_coll_name(c), id);
    char *json = cJSON_PrintUnformatted(fields);
    if (!json) return t0_fail(err, T0_ENOMEM, "%s: out of memory", what);
    bson_error_t e;
    bson_t *set = bson_new_from_json((const uint8_t *)json, -1, &e);
    free(json);
    if (!set) return t0_fail(err, T0_EINVAL, "%s: fields do not convert to BSON: %s", what, e.message);
    if (!bson_has_field(set, "id")) BSON_APPEND_UTF8(set, "id", id);
    bson_t *filter = BCON_NEW("id", BCON_UTF8(id));
    bson_t update = BSON_INITIALIZER;
    BSON_APPEND_DOCUMENT(&update, "$set", set);
    bson_t *opts = BCON_NEW("upsert", BCON_BOOL(true));
    bool ok = mongoc_collection_update_one(s->coll[c], filter, &update, opts, NULL, &e);
    bson_destroy(opts);
    bson_destroy(&update);
    bson_destroy(filter);
    bson_destroy(set);
    return ok ? T0_OK : map(&e, what, err);
}

static t0_status s_remove(void *ctx, store_coll c, const char *id, t0_err *err)
{
    mongostore *s = ctx;
    if ((unsigned)c > STORE_SCHEDULES || !id) return t0_fail(err, T0_EINVAL, "remove: bad collection or id");
    char what[160];
    snprintf(what, sizeof what, "remove %s id %s", store_coll_name(c), id);
    bson_t *filter = BCON_NEW("id", BCON_UTF8(id));
    bson_t reply;
    bson_error_t e;
    bool ok = mongoc_collection_delete_one(s->coll[c], filter, NULL, &reply, &e);
    bson_destroy(filter);
    t0_status st = T0_OK;
    if (!ok) {
        st = map(&e, what, err);
    } else {
        bson_iter_t it;
        int64_t n = 0;
        if (bson_iter_init_find(&it, &reply, "deletedCount")) n = bson_iter_as_int64(&it);
        if (n == 0) st = t0_fail(err, T0_ENOTFOUND, "%s: no such document", what);
    }
    bson_destroy(&reply);
    return st;
}

store_port mongostore_port(mongostore *s) { return (store_port){s, s_find_enabled, s_get, s_upsert, s_remove}; }

/* ---- the reachability probe ------------------------------------------------------------------- */
struct mongoprobe {
    char *uri;
    int64_t timeout_ms, every_ms;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, ok;
    char why[sizeof ((t0_err *)0)->msg];
};

static void *probe_run(void *arg)
{
    mongoprobe *p = arg;
    mongostore *s = NULL;
    for (;;) {
        t0_err e = {0};
        t0_status st = s ? mongostore_ping(s, &e) : mongostore_new(p->uri, p->timeout_ms, &s, &e);
        pthread_mutex_lock(&p->mu);
        p->ok = st == T0_OK;
        snprintf(p->why, sizeof p->why, "%s", st == T0_OK ? "" : e.msg);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += p->every_ms / 1000;
        until.tv_nsec += (p->every_ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) until.tv_sec++, until.tv_nsec -= 1000000000;
        while (!p->stop && pthread_cond_timedwait(&p->cv, &p->mu, &until) == 0) {}
        bool stop = p->stop;
        pthread_mutex_unlock(&p->mu);
        if (stop) break;
    }
    mongostore_destroy(s);
    return NULL;
}

t0_status mongoprobe_start(const char *uri, int64_t timeout_ms, int64_t every_ms, mongoprobe **out, t0_err *err)
{
    pthread_once(&once, init_once);
    mongoprobe *p = calloc(1, sizeof *p);
    if (!p || !(p->uri = strdup(uri && *uri ? uri : "mongodb://localhost:27017"))) {
        free(p);
        return t0_fail(err, T0_ENOMEM, "mongo probe: out of memory");
    }
    p->timeout_ms = timeout_ms;
    p->every_ms = every_ms > 0 ? every_ms : 5000;
    p->ok = true; /* until the first ping says otherwise (the caller connected just before) */
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    int rc = pthread_create(&p->thread, NULL, probe_run, p);
    if (rc != 0) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        free(p->uri);
        free(p);
        return t0_fail(err, T0_EUNAVAILABLE, "mongo probe: cannot start a thread: %s", strerror(rc));
    }
    *out = p;
    return T0_OK;
}

bool mongoprobe_ok(mongoprobe *p, char *why, size_t cap)
{
    pthread_mutex_lock(&p->mu);
    bool ok = p->ok;
    if (why && cap) snprintf(why, cap, "%s", p->why);
    pthread_mutex_unlock(&p->mu);
    return ok;
}

void mongoprobe_destroy(mongoprobe *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL); /* a ping in progress ends within the server selection timeout */
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->uri);
    free(p);
}
