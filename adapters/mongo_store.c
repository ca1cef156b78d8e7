/* mongo_store.c: store_port over mongo-c-driver (see mongo_store.h). */
#include "adapters/mongo_store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mongoc/mongoc.h>

#include "core/clock.h"
#include "core/log.h"
#include "domain/docval.h"
#include "domain/docver.h"
#include "domain/hash.h"

#define COMP "mongo-store"

const char MONGOSTORE_ENABLED_FILTER[] =
    "{\"$or\":[{\"config.enabled\":{\"$ne\":false}},{\"config.enabled\":{\"$exists\":false}}]}";

struct mongostore {
    mongoc_uri_t *uri;
    mongoc_client_t *client; /* NULL after a failure: the next call connects afresh */
    mongoc_collection_t *coll[STORE__COLLS];
    uint64_t reconnects;
};

static const char *const dbs[STORE__COLLS] = {"bot_runner", "bot_scheduler", "bot_runner", "bot_scheduler"};
static const char *const colls[STORE__COLLS] = {"bots", "bot_schedules", "bots_deleted", "bot_schedules_deleted"};

/* The driver's own log lines go through t0_log as component "mongoc", so that --log-format json stays one
 * JSON object per line. Debian's libmongoc initialises itself when it is loaded, before main, and may log
 * then: "Falling back to malloc for counters." when a /dev/shm/mongoc-PID of an earlier process with this
 * pid is left over (a SIGKILLed process leaves it, and a pod's /dev/shm outlives its containers, so a
 * controller restarted after an OOM kill meets its own). The handler is therefore installed from
 * .preinit_array, which runs before any library's constructor; what comes before the log format is known
 * is held (up to DRV_EARLY lines) and written by init_once, when the first store or probe is made. An
 * environment variable cannot serve: libc's start-up resets the environment after .preinit_array runs,
 * so MONGOC_DISABLE_SHM only counts when the operator sets it (deploy/Dockerfile does). */
enum { DRV_EARLY = 8 };
static pthread_mutex_t drv_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    t0_log_level lvl;
    char domain[32], text[256];
} drv_early[DRV_EARLY];
static int drv_n_early, drv_lost;
static bool drv_ready;

static const char DRV_SHM_FALLBACK[] = "Falling back to malloc for counters.";

static void drv_write(t0_log_level lvl, const char *domain, const char *text)
{
    /* harmless: the counters are read only by the mongoc-stat tool; /metrics reports what operators use */
    if (strcmp(text, DRV_SHM_FALLBACK) == 0)
        T0_INFOK("mongoc", text, "domain", domain,
                 "note", "the driver's statistics counters are in ordinary memory: a /dev/shm/mongoc-PID of an "
                         "earlier process with this pid exists");
    else
        t0_logk(lvl, "mongoc", text, "domain", domain);
}

static void drv_log(mongoc_log_level_t level, const char *domain, const char *text, void *ud)
{
    (void)ud;
    t0_log_level lvl = level <= MONGOC_LOG_LEVEL_CRITICAL ? T0_LOG_ERROR
                       : level == MONGOC_LOG_LEVEL_WARNING ? T0_LOG_WARN
                       : level <= MONGOC_LOG_LEVEL_INFO    ? T0_LOG_INFO
                                                           : T0_LOG_DEBUG;
    domain = domain ? domain : "";
    text = text ? text : "";
    pthread_mutex_lock(&drv_mu);
    if (!drv_ready) {
        if (drv_n_early < DRV_EARLY) {
            drv_early[drv_n_early].lvl = lvl;
            snprintf(drv_early[drv_n_early].domain, sizeof drv_early[0].domain, "%s", domain);
            snprintf(drv_early[drv_n_early].text, sizeof drv_early[0].text, "%s", text);
            drv_n_early++;
        } else {
            drv_lost++;
        }
        pthread_mutex_unlock(&drv_mu);
        return;
    }
    pthread_mutex_unlock(&drv_mu);
    drv_write(lvl, domain, text);
}

static void drv_preinit(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    mongoc_log_set_handler(drv_log, NULL);
}
__attribute__((section(".preinit_array"), used)) static void (*const drv_preinit_p)(int, char **, char **) = drv_preinit;

/* drv_log_ready: write the held lines, then write each line as it comes. */
static void drv_log_ready(void)
{
    pthread_mutex_lock(&drv_mu);
    for (int i = 0; i < drv_n_early; i++) drv_write(drv_early[i].lvl, drv_early[i].domain, drv_early[i].text);
    if (drv_lost) {
        char n[24];
        T0_WARNK("mongoc", "driver log lines before start-up were dropped", "lines", t0_log_num(n, drv_lost));
    }
    drv_n_early = drv_lost = 0;
    drv_ready = true;
    pthread_mutex_unlock(&drv_mu);
}

/* init_once: the driver's log lines from now on; the driver itself, unless it initialised at load (then
 * without shared-memory counters, unless the operator asks for them). */
static void init_once(void)
{
    drv_log_ready();
    setenv("MONGOC_DISABLE_SHM", "1", 0);
    mongoc_init();
}
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

/* drop: forget the client (and its connections). A MongoDB-wire server may fail every later operation on
 * a connection after one bad request (CongoDB does after invalid UTF-8), and a failure says nothing about
 * which: the next call connects afresh, whatever failed. */
static void drop(mongostore *s)
{
    for (int i = 0; i < STORE__COLLS; i++) {
        if (s->coll[i]) mongoc_collection_destroy(s->coll[i]);
        s->coll[i] = NULL;
    }
    if (s->client) mongoc_client_destroy(s->client);
    s->client = NULL;
}

void mongostore_destroy(mongostore *s)
{
    if (!s) return;
    drop(s);
    if (s->uri) mongoc_uri_destroy(s->uri);
    free(s);
}

/* unique_tombstones: a unique index on the tombstones' id (MongoDB enforces it, CongoDB accepts and
 * ignores it): best effort, the intake's conditional writes do not depend on it */
static void unique_tombstones(mongostore *s)
{
    for (int c = STORE_BOTS_DELETED; c <= STORE_SCHEDULES_DELETED; c++) {
        bson_t *cmd = BCON_NEW("createIndexes", BCON_UTF8(colls[c]), "indexes", "[", "{", "key", "{", "id", BCON_INT32(1),
                               "}", "name", BCON_UTF8("id_unique"), "unique", BCON_BOOL(true), "}", "]");
        bson_error_t e;
        mongoc_database_t *db = mongoc_client_get_database(s->client, dbs[c]);
        if (db && !mongoc_database_write_command_with_opts(db, cmd, NULL, NULL, &e))
            T0_WARN(COMP, "unique index on %s.%s: %s (tombstones work without it)", dbs[c], colls[c], e.message);
        mongoc_database_destroy(db);
        bson_destroy(cmd);
    }
}

/* connect: a client when there is none (after a failure, or at the start) */
static t0_status connect_client(mongostore *s, t0_err *err)
{
    if (s->client) return T0_OK;
    s->client = mongoc_client_new_from_uri(s->uri);
    if (!s->client) return t0_fail(err, T0_ENOMEM, "mongo: cannot create a client");
    mongoc_client_set_error_api(s->client, MONGOC_ERROR_API_VERSION_2);
    mongoc_client_set_appname(s->client, "the0-runtime");
    for (int i = 0; i < STORE__COLLS; i++)
        if (!(s->coll[i] = mongoc_client_get_collection(s->client, dbs[i], colls[i]))) {
            drop(s);
            return t0_fail(err, T0_ENOMEM, "mongo: out of memory");
        }
    return T0_OK;
}

/* failed: a driver failure of the call WHAT: the status, and the client dropped */
static t0_status failed(mongostore *s, const bson_error_t *e, const char *what, t0_err *err)
{
    t0_status st = map(e, what, err);
    if (s->client) {
        drop(s);
        s->reconnects++;
        T0_INFO(COMP, "%s failed: the next call connects afresh", what);
    }
    return st;
}

uint64_t mongostore_reconnects(const mongostore *s) { return s->reconnects; }

t0_status mongostore_ping(mongostore *s, t0_err *err)
{
    t0_status st = connect_client(s, err);
    if (st != T0_OK) return st;
    bson_t *cmd = BCON_NEW("ping", BCON_INT32(1));
    bson_error_t e;
    bool ok = mongoc_client_command_simple(s->client, "admin", cmd, NULL, NULL, &e);
    bson_destroy(cmd);
    if (!ok) {
        /* a failed ping means unreachable (or timed out), whatever the driver's error domain; the message
         * keeps the driver's cause */
        st = failed(s, &e, "mongo ping", err);
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
    if (!s) {
        mongoc_uri_destroy(uri);
        return t0_fail(err, T0_ENOMEM, "mongo: out of memory");
    }
    s->uri = uri;
    t0_status st = mongostore_ping(s, err);
    if (st != T0_OK) {
        mongostore_destroy(s);
        return st;
    }
    unique_tombstones(s);
    *out = s;
    return T0_OK;
}

/* ---- BSON -> cJSON ---------------------------------------------------------------------------- */
/* Why a document did not decode completely (the first reason found), or "" when it did. */
typedef struct decode_state {
    char why[160];
} decode_state;

static void undecodable(decode_state *ds, const char *why, const char *key)
{
    if (!ds->why[0]) snprintf(ds->why, sizeof ds->why, "%s (at key \"%.60s\")", why, key ? key : "");
}

static cJSON *value_to_json(bson_iter_t *it, int depth, decode_state *ds);

/* utf8_value: a BSON string as a JSON string: a NUL inside it becomes the six characters \u0000 (so an
 * id stays distinct and visibly invalid, never silently cut); invalid UTF-8 marks the document */
static cJSON *utf8_value(const char *s, uint32_t len, const char *key, decode_state *ds)
{
    if (!bson_utf8_validate(s, len, true)) {
        undecodable(ds, "a string is not valid UTF-8", key);
        return cJSON_CreateString("");
    }
    if (strlen(s) == len) return cJSON_CreateString(s);
    undecodable(ds, "a string holds a NUL byte", key);
    size_t nul = 0;
    for (uint32_t i = 0; i < len; i++) nul += s[i] == 0;
    char *cp = malloc(len + nul * 5 + 1);
    if (!cp) return NULL;
    size_t o = 0;
    for (uint32_t i = 0; i < len; i++) {
        if (s[i]) cp[o++] = s[i];
        else memcpy(cp + o, "\\u0000", 6), o += 6;
    }
    cp[o] = 0;
    cJSON *r = cJSON_CreateString(cp);
    free(cp);
    return r;
}

static cJSON *doc_to_json(bson_iter_t *parent, bool array, int depth, bool top, decode_state *ds)
{
    cJSON *o = array ? cJSON_CreateArray() : cJSON_CreateObject();
    if (!o) return NULL;
    bson_iter_t it;
    if (!bson_iter_recurse(parent, &it)) {
        undecodable(ds, "a sub-document does not decode", bson_iter_key(parent));
        return o;
    }
    while (bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        bson_type_t t = bson_iter_type(&it);
        if (t == BSON_TYPE_OID || (top && !strcmp(key, "_id"))) continue;
        if (!bson_utf8_validate(key, strlen(key), false)) {
            undecodable(ds, "a key is not valid UTF-8", NULL);
            continue;
        }
        cJSON *v = value_to_json(&it, depth + 1, ds);
        if (!v) continue;
        if (array)
            cJSON_AddItemToArray(o, v);
        else
            cJSON_AddItemToObject(o, key, v);
    }
    /* bson_iter_next returns false both at the end and on corruption: tell them apart */
    if (it.err_off) undecodable(ds, "the document's bytes stop decoding", NULL);
    return o;
}

/* DEPTH: the value's own (the document is 1, its members 2) */
static cJSON *value_to_json(bson_iter_t *it, int depth, decode_state *ds)
{
    bson_type_t t = bson_iter_type(it);
    if (depth > DOCVAL_MAX_DEPTH && (t == BSON_TYPE_DOCUMENT || t == BSON_TYPE_ARRAY)) {
        char why[64];
        snprintf(why, sizeof why, "nests deeper than %d levels", DOCVAL_MAX_DEPTH);
        undecodable(ds, why, bson_iter_key(it));
        return cJSON_CreateNull();
    }
    switch (t) {
    case BSON_TYPE_DOUBLE:
        return cJSON_CreateNumber(bson_iter_double(it));
    case BSON_TYPE_INT32:
        return cJSON_CreateNumber(bson_iter_int32(it));
    case BSON_TYPE_INT64:
        return cJSON_CreateNumber((double)bson_iter_int64(it));
    case BSON_TYPE_UTF8: {
        uint32_t len;
        const char *s = bson_iter_utf8(it, &len);
        return utf8_value(s, len, bson_iter_key(it), ds);
    }
    case BSON_TYPE_BOOL:
        return cJSON_CreateBool(bson_iter_bool(it));
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED:
        return cJSON_CreateNull();
    case BSON_TYPE_DOCUMENT:
        return doc_to_json(it, false, depth, false, ds);
    case BSON_TYPE_ARRAY:
        return doc_to_json(it, true, depth, false, ds);
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
    decode_state ds = {{0}};
    cJSON *o = NULL;
    if (bson_iter_init(&it, &wrapper) && bson_iter_next(&it)) o = doc_to_json(&it, false, 1, true, &ds);
    bson_destroy(&wrapper);
    if (!o) return t0_fail(err, T0_ENOMEM, "bson: out of memory");
    if (ds.why[0]) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
        T0_WARN(COMP, "document %s did not decode completely (%s): marked %s", cJSON_IsString(id) ? id->valuestring : "?",
                ds.why, STORE_UNDECODABLE);
        cJSON_AddStringToObject(o, STORE_UNDECODABLE, ds.why);
    }
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

/* checked_id: ID may be sent (UTF-8 without NUL, as BSON needs: an invalid string poisons the connection
 * of some servers) */
static t0_status checked_id(store_coll c, const char *id, const char *verb, t0_err *err)
{
    if ((unsigned)c >= STORE__COLLS || !id) return t0_fail(err, T0_EINVAL, "mongo %s: bad collection or id", verb);
    if (!bson_utf8_validate(id, strlen(id), false)) {
        char q[200];
        return t0_fail(err, T0_EINVAL, "mongo %s %s: id \"%s\" is not UTF-8: not sent", verb, store_coll_name(c),
                       docval_quote(id, 80, q, sizeof q));
    }
    return T0_OK;
}

static t0_status s_find_enabled(void *ctx, store_coll c, cJSON **out, uint64_t **revs, t0_err *err)
{
    mongostore *s = ctx;
    *out = NULL;
    if (revs) *revs = NULL;
    uint64_t *rv = NULL;
    size_t nrv = 0, caprv = 0;
    if ((unsigned)c >= STORE__COLLS) return t0_fail(err, T0_EINVAL, "find: bad collection");
    t0_status st = connect_client(s, err);
    if (st != T0_OK) return st;
    bson_error_t e;
    bson_t *filter = bson_new_from_json((const uint8_t *)MONGOSTORE_ENABLED_FILTER, -1, &e);
    if (!filter) return t0_fail(err, T0_EINTERNAL, "find: filter: %s", e.message);
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(s->coll[c], filter, NULL, NULL);
    bson_destroy(filter);
    cJSON *arr = cJSON_CreateArray();
    const bson_t *doc;
    bool cursor_failed = false;
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
    else if (st == T0_OK && mongoc_cursor_error(cur, &e)) cursor_failed = true;
    mongoc_cursor_destroy(cur);
    if (cursor_failed) {
        char what[96];
        snprintf(what, sizeof what, "find enabled in %s", store_coll_name(c));
        st = failed(s, &e, what, err);
    }
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
    t0_status st = checked_id(c, id, "get", err);
    if (st == T0_OK) st = connect_client(s, err);
    if (st != T0_OK) return st;
    /* two answers tell a duplicate (no unique index) from the one document */
    bson_t *filter = BCON_NEW("id", BCON_UTF8(id));
    bson_t *opts = BCON_NEW("limit", BCON_INT64(2));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(s->coll[c], filter, opts, NULL);
    bson_destroy(filter);
    bson_destroy(opts);
    const bson_t *doc;
    bson_error_t e;
    char what[160];
    snprintf(what, sizeof what, "get %s id %s", store_coll_name(c), id);
    cJSON *first = NULL;
    int n = 0;
    st = T0_OK;
    while (st == T0_OK && mongoc_cursor_next(cur, &doc))
        if (n++ == 0) st = mongostore_bson_to_json(doc, &first, err);
    bool cursor_failed = st == T0_OK && mongoc_cursor_error(cur, &e);
    mongoc_cursor_destroy(cur);
    if (cursor_failed) st = failed(s, &e, what, err);
    else if (st == T0_OK && n == 0) st = t0_fail(err, T0_ENOTFOUND, "%s: no such document", what);
    else if (st == T0_OK && n > 1) st = t0_fail(err, T0_EEXIST, "%s: more than one document has this id", what);
    if (st == T0_OK) *out = first;
    else cJSON_Delete(first);
    return st;
}

/* to_bson: FIELDS as BSON (T0_EINVAL, nothing sent, when it does not convert: libbson refuses invalid
 * UTF-8 in JSON text) */
static bson_t *to_bson(const cJSON *fields, const char *what, t0_status *st, t0_err *err)
{
    char *json = cJSON_PrintUnformatted(fields);
    if (!json) {
        *st = t0_fail(err, T0_ENOMEM, "%s: out of memory", what);
        return NULL;
    }
    bson_error_t e;
    bson_t *b = bson_new_from_json((const uint8_t *)json, -1, &e);
    free(json);
    if (!b) *st = t0_fail(err, T0_EINVAL, "%s: fields do not convert to BSON: %s", what, e.message);
    return b;
}

static t0_status s_upsert(void *ctx, store_coll c, const char *id, const cJSON *fields, t0_err *err)
{
    mongostore *s = ctx;
    t0_status st = checked_id(c, id, "upsert", err);
    if (st == T0_OK && !cJSON_IsObject(fields)) st = t0_fail(err, T0_EINVAL, "upsert: fields must be an object");
    if (st == T0_OK) st = connect_client(s, err);
    if (st != T0_OK) return st;
    char what[160];
    snprintf(what, sizeof what, "upsert %s id %s", store_coll_name(c), id);
    bson_t *set = to_bson(fields, what, &st, err);
    if (!set) return st;
    if (!bson_has_field(set, "id")) BSON_APPEND_UTF8(set, "id", id);
    bson_t *filter = BCON_NEW("id", BCON_UTF8(id));
    bson_t update = BSON_INITIALIZER;
    BSON_APPEND_DOCUMENT(&update, "$set", set);
    bson_t *opts = BCON_NEW("upsert", BCON_BOOL(true));
    bson_error_t e;
    bool ok = mongoc_collection_update_one(s->coll[c], filter, &update, opts, NULL, &e);
    bson_destroy(opts);
    bson_destroy(&update);
    bson_destroy(filter);
    bson_destroy(set);
    return ok ? T0_OK : failed(s, &e, what, err);
}

/* count_of: an int64 count from a write's reply */
static int64_t count_of(const bson_t *reply, const char *key)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, reply, key) ? bson_iter_as_int64(&it) : 0;
}

static t0_status s_remove(void *ctx, store_coll c, const char *id, t0_err *err)
{
    mongostore *s = ctx;
    t0_status st = checked_id(c, id, "remove", err);
    if (st == T0_OK) st = connect_client(s, err);
    if (st != T0_OK) return st;
    char what[160];
    snprintf(what, sizeof what, "remove %s id %s", store_coll_name(c), id);
    bson_t *filter = BCON_NEW("id", BCON_UTF8(id));
    bson_t reply;
    bson_error_t e;
    bool ok = mongoc_collection_delete_many(s->coll[c], filter, NULL, &reply, &e); /* every copy of the id */
    bson_destroy(filter);
    if (!ok) st = failed(s, &e, what, err);
    else if (count_of(&reply, "deletedCount") == 0) st = t0_fail(err, T0_ENOTFOUND, "%s: no such document", what);
    bson_destroy(&reply);
    return st;
}

/* older_filter: {id: ID} and, with W->older_than, "older than": no version, not a well-formed one, or a
 * string below it (the text form sorts as it compares: domain/docver.h) */
static bson_t *older_filter(const store_write *w)
{
    bson_t *f = BCON_NEW("id", BCON_UTF8(w->id));
    if (!w->older_than) return f;
    bson_t *or = BCON_NEW("$or", "[", "{", STORE_VERSION_FIELD, "{", "$exists", BCON_BOOL(false), "}", "}", "{",
                          STORE_VERSION_FIELD, "{", "$not", "{", "$regex", BCON_UTF8(DOCVER_REGEX), "}", "}", "}", "{",
                          STORE_VERSION_FIELD, "{", "$lt", BCON_UTF8(w->older_than), "}", "}", "]");
    bson_concat(f, or);
    bson_destroy(or);
    return f;
}

static t0_status s_write(void *ctx, const store_write *w, t0_err *err)
{
    mongostore *s = ctx;
    static const char *const verbs[] = {"set", "insert", "remove", "expire"};
    if ((unsigned)w->op > STORE_W_EXPIRE) return t0_fail(err, T0_EINVAL, "mongo write: unknown operation");
    const char *verb = verbs[w->op];
    t0_status st = w->op == STORE_W_EXPIRE ? ((unsigned)w->coll < STORE__COLLS ? T0_OK : t0_fail(err, T0_EINVAL, "mongo expire: bad collection"))
                                           : checked_id(w->coll, w->id, verb, err);
    docver ov;
    if (st == T0_OK && w->older_than && !docver_parse(w->older_than, &ov))
        st = t0_fail(err, T0_EINVAL, "mongo %s: \"%s\" is not a version", verb, w->older_than);
    if (st == T0_OK && (w->op == STORE_W_SET || w->op == STORE_W_INSERT) && !cJSON_IsObject(w->fields))
        st = t0_fail(err, T0_EINVAL, "mongo %s: fields must be an object", verb);
    if (st == T0_OK) st = connect_client(s, err);
    if (st != T0_OK) return st;
    char what[200];
    snprintf(what, sizeof what, "%s %s%s%s", verb, store_coll_name(w->coll), w->id ? " id " : "", w->id ? w->id : "");
    bson_t *fields = NULL, *filter = NULL, *opts = NULL, update = BSON_INITIALIZER, reply = BSON_INITIALIZER;
    bson_error_t e;
    bool ok = true;
    if (w->op == STORE_W_SET || w->op == STORE_W_INSERT) {
        if (!(fields = to_bson(w->fields, what, &st, err))) goto out;
        BSON_APPEND_DOCUMENT(&update, w->op == STORE_W_SET ? "$set" : "$setOnInsert", fields);
    }
    bson_destroy(&reply);
    switch (w->op) {
    case STORE_W_SET:
        filter = older_filter(w);
        ok = mongoc_collection_update_one(s->coll[w->coll], filter, &update, NULL, &reply, &e);
        if (ok && count_of(&reply, "matchedCount") == 0)
            st = t0_fail(err, T0_ECONFLICT, "%s: no document older than %s", what, w->older_than ? w->older_than : "(any)");
        break;
    case STORE_W_INSERT:
        /* an upsert on {id} alone whose update is only $setOnInsert: atomic on the server, an existing
         * document is matched and left as it is (never a second document with the id) */
        filter = BCON_NEW("id", BCON_UTF8(w->id));
        opts = BCON_NEW("upsert", BCON_BOOL(true));
        ok = mongoc_collection_update_one(s->coll[w->coll], filter, &update, opts, &reply, &e);
        if (ok && count_of(&reply, "matchedCount") > 0) st = t0_fail(err, T0_EEXIST, "%s: a document exists", what);
        if (!ok && e.code == MONGOC_ERROR_DUPLICATE_KEY) { /* a unique index refused a concurrent insert */
            ok = true;
            st = t0_fail(err, T0_EEXIST, "%s: a document exists (duplicate key)", what);
        }
        break;
    case STORE_W_REMOVE:
        filter = older_filter(w);
        ok = mongoc_collection_delete_many(s->coll[w->coll], filter, NULL, &reply, &e);
        if (ok && count_of(&reply, "deletedCount") == 0)
            st = t0_fail(err, T0_ECONFLICT, "%s: no document older than %s", what, w->older_than ? w->older_than : "(any)");
        break;
    case STORE_W_EXPIRE:
        filter = BCON_NEW(STORE_EXPIRES_FIELD, "{", "$lte", BCON_INT64(w->before_ms), "}");
        ok = mongoc_collection_delete_many(s->coll[w->coll], filter, NULL, &reply, &e);
        break;
    }
    if (!ok) st = failed(s, &e, what, err);
out:
    if (fields) bson_destroy(fields);
    if (filter) bson_destroy(filter);
    if (opts) bson_destroy(opts);
    bson_destroy(&update);
    bson_destroy(&reply);
    return st;
}

t0_status mongostore_insert_raw(mongostore *s, store_coll c, const bson_t *doc, t0_err *err)
{
    if ((unsigned)c >= STORE__COLLS || !doc) return t0_fail(err, T0_EINVAL, "mongo insert raw: bad collection or document");
    t0_status st = connect_client(s, err);
    if (st != T0_OK) return st;
    bson_error_t e;
    char what[96];
    snprintf(what, sizeof what, "insert raw into %s", store_coll_name(c));
    return mongoc_collection_insert_one(s->coll[c], doc, NULL, NULL, &e) ? T0_OK : failed(s, &e, what, err);
}

store_port mongostore_port(mongostore *s) { return (store_port){s, s_find_enabled, s_get, s_upsert, s_remove, s_write}; }

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
        struct timespec until = t0_deadline(CLOCK_REALTIME, p->every_ms);
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
