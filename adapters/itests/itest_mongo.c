/* itest_mongo.c: mongo_store against a real MongoDB-wire server (CongoDB, started by
 * ci/adapters-integration.sh; URI in T0_MONGO_URI): ping, id-keyed CRUD, the reference enabled filter. */
#include <criterion/criterion.h>
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adapters/mongo_store.h"

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
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    t0_status st = mongostore_new("mongodb://127.0.0.1:1/", 500, &s, &e);
    clock_gettime(CLOCK_MONOTONIC, &b);
    cr_assert(st == T0_EUNAVAILABLE || st == T0_ETIMEOUT, "got %s: %s", t0_status_name(st), e.msg);
    cr_assert_null(s);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
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
