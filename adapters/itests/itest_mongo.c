/* itest_mongo.c: mongo_store against a real MongoDB-wire server (CongoDB, started by
 * ci/adapters-integration.sh; URI in T0_MONGO_URI): ping, id-keyed CRUD, the reference enabled filter,
 * the intake's conditional writes ("older than" a version, insert unless present, expiry), two documents
 * with one id, undecodable documents marked, and a fresh connection after one the server poisoned. */
#include <criterion/criterion.h>
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adapters/mongo_store.h"
#include "core/clock.h"
#include "domain/docver.h"

static const char *uri(void)
{
    const char *u = getenv("T0_MONGO_URI");
    cr_assert(u && *u, "T0_MONGO_URI is not set: run through ci/adapters-integration.sh");
    return u;
}

static mongostore *S;
static store_port P;
static char PFX[32];

static void setup(void)
{
    t0_err e = {0};
    cr_assert_eq(mongostore_new(uri(), 5000, &S, &e), T0_OK, "%s", e.msg);
    P = mongostore_port(S);
    snprintf(PFX, sizeof PFX, "t%d-%ld-", (int)getpid(), (long)time(NULL));
}

static void teardown(void) { mongostore_destroy(S); }

TestSuite(mongo, .init = setup, .fini = teardown, .timeout = 60);

static char *id(const char *s)
{
    static char buf[8][96];
    static int i;
    char *b = buf[i++ & 7];
    snprintf(b, 96, "%s%s", PFX, s);
    return b;
}

Test(mongo, unreachable_server_fails_fast_with_unavailable)
{
    mongostore *s = NULL;
    t0_err e = {0};
    int64_t a = t0_mono_ms();
    t0_status st = mongostore_new("mongodb://127.0.0.1:1/", 500, &s, &e);
    int64_t b = t0_mono_ms();
    cr_assert(st == T0_EUNAVAILABLE || st == T0_ETIMEOUT, "got %s: %s", t0_status_name(st), e.msg);
    cr_assert_null(s);
    long ms = (long)(b - a);
    cr_assert(ms < 5000, "took %ld ms", ms);
    cr_assert_eq(mongostore_new("not-a-uri", 500, &s, &e), T0_EINVAL, "%s", e.msg);
}

Test(mongo, upsert_get_remove_by_string_id)
{
    t0_err e = {0};
    cJSON *f = cJSON_Parse("{\"config\":{\"schedule\":\"*/5 * * * *\",\"n\":1.5},\"custom\":{\"version\":\"1.0.0\"},"
                           "\"segment_id\":3}");
    cr_assert_eq(P.upsert(P.ctx, STORE_SCHEDULES, id("a"), f, &e), T0_OK, "%s", e.msg);
    cJSON *doc = NULL;
    cr_assert_eq(P.get(P.ctx, STORE_SCHEDULES, id("a"), &doc, &e), T0_OK, "%s", e.msg);
    char *s = cJSON_PrintUnformatted(doc);
    cr_assert_str_eq(cJSON_GetObjectItem(doc, "id")->valuestring, id("a"), "%s", s);
    cr_assert_null(cJSON_GetObjectItem(doc, "_id"), "%s", s);
    cr_assert_float_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "config"), "n")->valuedouble, 1.5, 1e-12, "%s", s);
    cr_assert_eq(cJSON_GetObjectItem(doc, "segment_id")->valuedouble, 3, "%s", s);
    free(s);
    cJSON_Delete(doc);
    /* $set replaces the named top-level fields and keeps the others */
    cJSON *g = cJSON_Parse("{\"config\":{\"schedule\":\"0 * * * *\"}}");
    cr_assert_eq(P.upsert(P.ctx, STORE_SCHEDULES, id("a"), g, &e), T0_OK, "%s", e.msg);
    cr_assert_eq(P.get(P.ctx, STORE_SCHEDULES, id("a"), &doc, &e), T0_OK);
    s = cJSON_PrintUnformatted(doc);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "config"), "schedule")->valuestring, "0 * * * *");
    cr_assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "config"), "n"), "config replaced whole: %s", s);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "custom"), "version")->valuestring, "1.0.0", "%s", s);
    free(s);
    cJSON_Delete(doc);
    cr_assert_eq(P.remove(P.ctx, STORE_SCHEDULES, id("a"), &e), T0_OK, "%s", e.msg);
    cr_assert_eq(P.get(P.ctx, STORE_SCHEDULES, id("a"), &doc, &e), T0_ENOTFOUND);
    cr_assert(strstr(e.msg, id("a")), "msg %s", e.msg);
    cr_assert_eq(P.remove(P.ctx, STORE_SCHEDULES, id("a"), &e), T0_ENOTFOUND);
    /* the bots collection is a different one */
    cr_assert_eq(P.upsert(P.ctx, STORE_BOTS, id("b"), f, &e), T0_OK);
    cr_assert_eq(P.get(P.ctx, STORE_SCHEDULES, id("b"), &doc, &e), T0_ENOTFOUND);
    cr_assert_eq(P.get(P.ctx, STORE_BOTS, id("b"), &doc, &e), T0_OK);
    cJSON_Delete(doc);
    cJSON_Delete(f);
    cJSON_Delete(g);
}

/* insert: a raw document through the driver (types the API never writes, but a database can hold). */
static void insert(const char *coll_db, const char *coll, bson_t *d)
{
    mongoc_client_t *c = mongoc_client_new(uri());
    mongoc_collection_t *col = mongoc_client_get_collection(c, coll_db, coll);
    bson_error_t e;
    cr_assert(mongoc_collection_insert_one(col, d, NULL, NULL, &e), "%s", e.message);
    mongoc_collection_destroy(col);
    mongoc_client_destroy(c);
    bson_destroy(d);
}

Test(mongo, find_enabled_is_the_reference_filter)
{
    /* only BSON boolean false disables (reference 2.8) */
    insert("bot_runner", "bots", BCON_NEW("id", BCON_UTF8(id("off")), "config", "{", "enabled", BCON_BOOL(false), "}"));
    insert("bot_runner", "bots", BCON_NEW("id", BCON_UTF8(id("on")), "config", "{", "enabled", BCON_BOOL(true), "}"));
    insert("bot_runner", "bots", BCON_NEW("id", BCON_UTF8(id("str")), "config", "{", "enabled", BCON_UTF8("false"), "}"));
    insert("bot_runner", "bots", BCON_NEW("id", BCON_UTF8(id("zero")), "config", "{", "enabled", BCON_INT32(0), "}"));
    insert("bot_runner", "bots", BCON_NEW("id", BCON_UTF8(id("null")), "config", "{", "enabled", BCON_NULL, "}"));
    insert("bot_runner", "bots", BCON_NEW("id", BCON_UTF8(id("missing")), "config", "{", "x", BCON_INT32(1), "}"));
    insert("bot_runner", "bots", BCON_NEW("id", BCON_UTF8(id("noconfig"))));
    /* a top-level enabled:false does not matter to the filter */
    insert("bot_runner", "bots", BCON_NEW("id", BCON_UTF8(id("top")), "enabled", BCON_BOOL(false)));
    /* wrong types: the reference's whole query would fail; ours returns it for per-bot reporting */
    insert("bot_runner", "bots",
           BCON_NEW("id", BCON_UTF8(id("badtypes")), "custom", "{", "config", "{", "entrypoints", "{", "bot",
                    BCON_INT32(5), "}", "}", "}"));
    cJSON *arr = NULL;
    t0_err e = {0};
    cr_assert_eq(P.find_enabled(P.ctx, STORE_BOTS, &arr, NULL, &e), T0_OK, "%s", e.msg);
    char got[512] = "";
    const cJSON *d;
    cJSON_ArrayForEach(d, arr)
    {
        const cJSON *i = cJSON_GetObjectItem(d, "id");
        if (cJSON_IsString(i) && !strncmp(i->valuestring, PFX, strlen(PFX))) {
            strcat(got, i->valuestring + strlen(PFX));
            strcat(got, " ");
        }
    }
    cJSON_Delete(arr);
    const char *want[] = {"on", "str", "zero", "null", "missing", "noconfig", "top", "badtypes"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char w[32];
        snprintf(w, sizeof w, "%s ", want[i]);
        cr_assert(strstr(got, w), "%s missing from the enabled set: %s", want[i], got);
    }
    cr_assert_null(strstr(got, "off "), "a disabled bot came back: %s", got);
    cr_assert_eq(P.find_enabled(P.ctx, STORE_SCHEDULES, &arr, NULL, &e), T0_OK, "%s", e.msg);
    cr_assert(cJSON_IsArray(arr));
    cJSON_Delete(arr);
}

/* the revision of PFX+NAME in a find_enabled of the bots (0 when absent) */
static uint64_t rev_of(const char *name)
{
    cJSON *arr = NULL;
    uint64_t *revs = NULL, r = 0;
    t0_err e = {0};
    cr_assert_eq(P.find_enabled(P.ctx, STORE_BOTS, &arr, &revs, &e), T0_OK, "%s", e.msg);
    cr_assert_not_null(revs, "the MongoDB store gives revisions");
    size_t i = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, arr)
    {
        const cJSON *j = cJSON_GetObjectItem(d, "id");
        if (cJSON_IsString(j) && !strcmp(j->valuestring, id(name))) r = revs[i];
        i++;
    }
    cJSON_Delete(arr);
    free(revs);
    return r;
}

Test(mongo, find_enabled_revisions_follow_content)
{
    insert("bot_runner", "bots", BCON_NEW("id", BCON_UTF8(id("rev")), "config", "{", "x", BCON_INT32(1), "}"));
    uint64_t a = rev_of("rev"), b = rev_of("rev");
    cr_assert(a != 0 && a == b, "an unchanged document keeps its revision: %llu then %llu", (unsigned long long)a,
              (unsigned long long)b);
    cJSON *f = cJSON_Parse("{\"config\":{\"x\":2}}");
    t0_err e = {0};
    cr_assert_eq(P.upsert(P.ctx, STORE_BOTS, id("rev"), f, &e), T0_OK, "%s", e.msg);
    cJSON_Delete(f);
    uint64_t c = rev_of("rev");
    cr_assert(c != 0 && c != a, "a changed document gets another revision: %llu then %llu", (unsigned long long)a,
              (unsigned long long)c);
}

/* ver: the text form of event SEQ of a fixed epoch (its seq padded to 20 digits) */
static const char *ver(uint64_t seq, char buf[DOCVER_TEXT_MAX])
{
    docver v = {1767571200000000ull, seq, false};
    docver_format(&v, buf);
    return buf;
}

/* fields: {"config":{"n":N},"the0_version":V} (owned) */
static cJSON *fields(int n, const char *v)
{
    cJSON *f = cJSON_CreateObject();
    cJSON *c = cJSON_AddObjectToObject(f, "config");
    cJSON_AddNumberToObject(c, "n", n);
    if (v) cJSON_AddStringToObject(f, STORE_VERSION_FIELD, v);
    return f;
}

static int config_n(store_coll c, const char *i)
{
    cJSON *doc = NULL;
    if (P.get(P.ctx, c, i, &doc, NULL) != T0_OK) return -1;
    const cJSON *n = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "config"), "n");
    int r = cJSON_IsNumber(n) ? n->valueint : -2;
    cJSON_Delete(doc);
    return r;
}

Test(mongo, conditional_writes_keep_the_version_order)
{
    char v3[DOCVER_TEXT_MAX], v5[DOCVER_TEXT_MAX], v7[DOCVER_TEXT_MAX], v9[DOCVER_TEXT_MAX], v12[DOCVER_TEXT_MAX];
    ver(3, v3), ver(5, v5), ver(7, v7), ver(9, v9), ver(12, v12);
    t0_err e = {0};
    cJSON *f5 = fields(5, v5), *f3 = fields(3, v3), *f7 = fields(7, v7), *f12 = fields(12, v12);
    store_write w = {.op = STORE_W_INSERT, .coll = STORE_BOTS, .id = id("cw"), .fields = f5};
    cr_assert_eq(P.write(P.ctx, &w, &e), T0_OK, "%s", e.msg);
    cr_expect_eq(P.write(P.ctx, &w, &e), T0_EEXIST, "a second insert leaves the document: %s", e.msg);
    cr_expect_eq(config_n(STORE_BOTS, id("cw")), 5);
    store_write older = {.op = STORE_W_SET, .coll = STORE_BOTS, .id = id("cw"), .fields = f3, .older_than = v3};
    cr_expect_eq(P.write(P.ctx, &older, &e), T0_ECONFLICT, "event 3 after event 5: %s", e.msg);
    store_write same = {.op = STORE_W_SET, .coll = STORE_BOTS, .id = id("cw"), .fields = f5, .older_than = v5};
    cr_expect_eq(P.write(P.ctx, &same, &e), T0_ECONFLICT, "event 5 again");
    store_write newer = {.op = STORE_W_SET, .coll = STORE_BOTS, .id = id("cw"), .fields = f7, .older_than = v7};
    cr_expect_eq(P.write(P.ctx, &newer, &e), T0_OK, "%s", e.msg);
    cr_expect_eq(config_n(STORE_BOTS, id("cw")), 7);
    /* a seq of more digits sorts after: the padding makes the text order the version order */
    store_write twelve = {.op = STORE_W_SET, .coll = STORE_BOTS, .id = id("cw"), .fields = f12, .older_than = v12};
    cr_expect_eq(P.write(P.ctx, &twelve, &e), T0_OK, "event 12 after event 7: %s", e.msg);
    store_write rm_old = {.op = STORE_W_REMOVE, .coll = STORE_BOTS, .id = id("cw"), .older_than = v9};
    cr_expect_eq(P.write(P.ctx, &rm_old, &e), T0_ECONFLICT, "a delete of event 9 leaves event 12's document");
    cr_expect_eq(config_n(STORE_BOTS, id("cw")), 12);
    /* documents without a version, or with one that is not well formed, are older than every event */
    insert("bot_runner", "bots", BCON_NEW("id", BCON_UTF8(id("nov")), "config", "{", "n", BCON_INT32(0), "}"));
    insert("bot_runner", "bots", BCON_NEW("id", BCON_UTF8(id("junk")), "the0_version", BCON_UTF8("zzz"), "config", "{", "n",
                                          BCON_INT32(0), "}"));
    insert("bot_runner", "bots", BCON_NEW("id", BCON_UTF8(id("num")), "the0_version", BCON_INT32(99)));
    const char *olds[] = {"nov", "junk", "num"};
    for (int i = 0; i < 3; i++) {
        store_write s3 = {.op = STORE_W_SET, .coll = STORE_BOTS, .id = id(olds[i]), .fields = f3, .older_than = v3};
        cr_expect_eq(P.write(P.ctx, &s3, &e), T0_OK, "%s: %s", olds[i], e.msg);
        cr_expect_eq(config_n(STORE_BOTS, id(olds[i])), 3, "%s", olds[i]);
    }
    store_write rm = {.op = STORE_W_REMOVE, .coll = STORE_BOTS, .id = id("cw"), .older_than = v12};
    cr_expect_eq(P.write(P.ctx, &rm, &e), T0_ECONFLICT, "event 12 is not older than itself");
    rm.older_than = ver(13, v9);
    cr_expect_eq(P.write(P.ctx, &rm, &e), T0_OK, "%s", e.msg);
    cr_expect_eq(config_n(STORE_BOTS, id("cw")), -1, "gone");
    cJSON_Delete(f3);
    cJSON_Delete(f5);
    cJSON_Delete(f7);
    cJSON_Delete(f12);
}

Test(mongo, tombstones_live_apart_and_expire)
{
    t0_err e = {0};
    char v1[DOCVER_TEXT_MAX];
    cJSON *t = fields(0, ver(1, v1));
    cJSON_AddNumberToObject(t, STORE_EXPIRES_FIELD, 1000);
    store_write w = {.op = STORE_W_INSERT, .coll = STORE_BOTS_DELETED, .id = id("tomb"), .fields = t};
    cr_assert_eq(P.write(P.ctx, &w, &e), T0_OK, "%s", e.msg);
    cJSON *doc = NULL;
    cr_expect_eq(P.get(P.ctx, STORE_BOTS, id("tomb"), &doc, NULL), T0_ENOTFOUND, "not in the bots the reference reads");
    cr_expect_eq(P.get(P.ctx, STORE_BOTS_DELETED, id("tomb"), &doc, &e), T0_OK, "%s", e.msg);
    cJSON_Delete(doc);
    store_write ex = {.op = STORE_W_EXPIRE, .coll = STORE_BOTS_DELETED, .before_ms = 2000};
    cr_assert_eq(P.write(P.ctx, &ex, &e), T0_OK, "%s", e.msg);
    cr_expect_eq(P.get(P.ctx, STORE_BOTS_DELETED, id("tomb"), &doc, NULL), T0_ENOTFOUND, "expired");
    cJSON_Delete(t);
}

Test(mongo, two_documents_with_one_id_are_reported)
{
    insert("bot_runner", "bots", BCON_NEW("id", BCON_UTF8(id("dup")), "config", "{", "n", BCON_INT32(1), "}"));
    insert("bot_runner", "bots", BCON_NEW("id", BCON_UTF8(id("dup")), "config", "{", "n", BCON_INT32(2), "}"));
    cJSON *doc = NULL;
    t0_err e = {0};
    cr_expect_eq(P.get(P.ctx, STORE_BOTS, id("dup"), &doc, &e), T0_EEXIST, "%s", e.msg);
    cr_expect_null(doc);
    cr_expect_eq(P.remove(P.ctx, STORE_BOTS, id("dup"), &e), T0_OK, "%s", e.msg);
    cr_expect_eq(P.get(P.ctx, STORE_BOTS, id("dup"), &doc, NULL), T0_ENOTFOUND, "every copy removed");
}

Test(mongo, undecodable_documents_are_marked)
{
    bson_t *d = bson_new();
    bson_append_utf8(d, "id", -1, "nul\0id", 6);
    insert("bot_runner", "bots", d);
    cJSON *arr = NULL;
    t0_err e = {0};
    cr_assert_eq(P.find_enabled(P.ctx, STORE_BOTS, &arr, NULL, &e), T0_OK, "%s", e.msg);
    bool found = false;
    const cJSON *x;
    cJSON_ArrayForEach(x, arr)
    {
        const cJSON *i = cJSON_GetObjectItem(x, "id");
        if (cJSON_IsString(i) && !strcmp(i->valuestring, "nul\\u0000id")) {
            found = true;
            cr_expect_not_null(cJSON_GetObjectItem(x, STORE_UNDECODABLE), "marked");
        }
    }
    cr_expect(found, "the document with a NUL in its id is returned, its id escaped");
    cJSON_Delete(arr);
}

Test(mongo, a_poisoned_connection_is_replaced)
{
    /* CongoDB fails every operation on a connection after a request with invalid UTF-8. The store never
     * sends such a thing itself: */
    cJSON *doc = NULL;
    t0_err e = {0};
    cr_expect_eq(P.get(P.ctx, STORE_BOTS, "bad\xff", &doc, &e), T0_EINVAL, "refused before sending: %s", e.msg);
    cr_expect_eq(P.get(P.ctx, STORE_BOTS, id("none"), &doc, &e), T0_ENOTFOUND, "the connection is fine: %s", e.msg);
    /* but when a call fails, whatever the reason, the next one connects afresh: a raw insert of invalid
     * UTF-8 on the store's own connection (what an unchecked writer would send) poisons it */
    uint64_t before = mongostore_reconnects(S);
    bson_t bad = BSON_INITIALIZER;
    bson_append_utf8(&bad, "id", -1, "poison\xff\xfe", 8);
    t0_status st = mongostore_insert_raw(S, STORE_BOTS, &bad, &e);
    bson_destroy(&bad);
    cr_expect_neq(st, T0_OK, "the server refuses it");
    cr_expect_eq(mongostore_reconnects(S), before + 1, "and the connection is dropped (%llu reconnects)",
                 (unsigned long long)mongostore_reconnects(S));
    st = P.get(P.ctx, STORE_BOTS, id("none"), &doc, &e);
    cr_expect_eq(st, T0_ENOTFOUND, "a fresh connection answers: %s (%s)", t0_status_name(st), e.msg);
    /* the same through a client that keeps its connection: every later call fails */
    mongoc_client_t *c = mongoc_client_new(uri());
    mongoc_client_set_error_api(c, MONGOC_ERROR_API_VERSION_2);
    mongoc_collection_t *col = mongoc_client_get_collection(c, "bot_runner", "bots");
    bad = (bson_t)BSON_INITIALIZER;
    bson_append_utf8(&bad, "id", -1, "poison\xff\xfe", 8);
    bson_error_t be;
    cr_expect(!mongoc_collection_insert_one(col, &bad, NULL, NULL, &be), "refused");
    bson_destroy(&bad);
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
    bool ok = mongoc_client_command_simple(c, "admin", ping, NULL, NULL, &be);
    cr_expect(!ok, "CongoDB fails the next call on that connection too (a ping)");
    bson_destroy(ping);
    mongoc_collection_destroy(col);
    mongoc_client_destroy(c);
    cr_expect_eq(mongostore_ping(S, &e), T0_OK, "%s", e.msg);
}
