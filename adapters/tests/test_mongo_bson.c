/* test_mongo_bson.c: BSON -> cJSON conversion of mongo_store (no server): number types, nesting,
 * dropped ObjectIds, datetimes, and documents the reference could not decode still returned. */
#include <bson/bson.h>
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "adapters/mongo_store.h"
#include "domain/docval.h"

Test(mongo_bson, types_keep_what_the_hash_needs)
{
    bson_oid_t oid;
    bson_oid_init(&oid, NULL);
    bson_t *d = BCON_NEW("_id", BCON_OID(&oid), "id", BCON_UTF8("bot-1"), "segment_id", BCON_INT32(3),
                         "next_execution_time", BCON_INT64(1767571200), "ratio", BCON_DOUBLE(0.25), "enabled",
                         BCON_BOOL(false), "nothing", BCON_NULL, "config", "{", "schedule", BCON_UTF8("*/5 * * * *"),
                         "symbols", "[", BCON_UTF8("BTC"), BCON_INT32(2), "{", "x", BCON_DOUBLE(1.5), "}", "]",
                         "ref", BCON_OID(&oid), "}", "when", BCON_DATE_TIME(1767571200123));
    cJSON *j = NULL;
    cr_assert_eq(mongostore_bson_to_json(d, &j, NULL), T0_OK);
    char *s = cJSON_PrintUnformatted(j);
    cr_assert_null(cJSON_GetObjectItem(j, "_id"), "_id kept: %s", s);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "id")->valuestring, "bot-1");
    cr_assert_eq(cJSON_GetObjectItem(j, "segment_id")->valuedouble, 3);
    cr_assert_eq(cJSON_GetObjectItem(j, "next_execution_time")->valuedouble, 1767571200.0);
    cr_assert_float_eq(cJSON_GetObjectItem(j, "ratio")->valuedouble, 0.25, 1e-12);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "enabled")));
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "nothing")));
    cJSON *cfg = cJSON_GetObjectItem(j, "config");
    cr_assert_str_eq(cJSON_GetObjectItem(cfg, "schedule")->valuestring, "*/5 * * * *");
    cJSON *sym = cJSON_GetObjectItem(cfg, "symbols");
    cr_assert_eq(cJSON_GetArraySize(sym), 3, "%s", s);
    cr_assert_str_eq(cJSON_GetArrayItem(sym, 0)->valuestring, "BTC");
    cr_assert_eq(cJSON_GetArrayItem(sym, 1)->valuedouble, 2);
    cr_assert_float_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(sym, 2), "x")->valuedouble, 1.5, 1e-12);
    cr_assert_null(cJSON_GetObjectItem(cfg, "ref"), "nested ObjectId kept: %s", s);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "when")->valuestring, "2026-01-05T00:00:00.123Z");
    free(s);
    cJSON_Delete(j);
    bson_destroy(d);
}

Test(mongo_bson, a_document_with_wrong_types_is_still_returned)
{
    /* entrypoints.bot an int and runtime a bool: the Go model would fail the whole query; we return it */
    bson_t *d = BCON_NEW("id", BCON_UTF8("bad-1"), "custom", "{", "config", "{", "runtime", BCON_BOOL(true),
                         "entrypoints", "{", "bot", BCON_INT32(7), "}", "}", "}", "config", BCON_UTF8("not an object"));
    cJSON *j = NULL;
    cr_assert_eq(mongostore_bson_to_json(d, &j, NULL), T0_OK);
    cJSON *rt = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "custom"), "config"), "runtime");
    cr_assert(cJSON_IsTrue(rt));
    cr_assert(cJSON_IsString(cJSON_GetObjectItem(j, "config")));
    cJSON_Delete(j);
    bson_destroy(d);
}

Test(mongo_bson, enabled_filter_is_the_reference_one)
{
    bson_error_t e;
    bson_t *f = bson_new_from_json((const uint8_t *)MONGOSTORE_ENABLED_FILTER, -1, &e);
    cr_assert_not_null(f, "%s", e.message);
    char *s = bson_as_relaxed_extended_json(f, NULL);
    cr_assert_str_eq(s, "{ \"$or\" : [ { \"config.enabled\" : { \"$ne\" : false } }, { \"config.enabled\" : { "
                        "\"$exists\" : false } } ] }",
                     "%s", s);
    bson_free(s);
    bson_destroy(f);
}

static const char *undecodable(const cJSON *j)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, STORE_UNDECODABLE);
    return cJSON_IsString(m) ? m->valuestring : NULL;
}

Test(mongo_bson, a_nul_in_a_string_marks_the_document_and_keeps_the_id_distinct)
{
    bson_t d = BSON_INITIALIZER;
    bson_append_utf8(&d, "id", -1, "ab\0cd", 5);
    BSON_APPEND_UTF8(&d, "name", "fine");
    cJSON *j = NULL;
    cr_assert_eq(mongostore_bson_to_json(&d, &j, NULL), T0_OK);
    const char *why = undecodable(j);
    cr_expect(why && strstr(why, "NUL"), "marked: %s", why ? why : "(not marked)");
    cr_expect_str_eq(cJSON_GetObjectItem(j, "id")->valuestring, "ab\\u0000cd", "not cut to \"ab\"");
    cJSON_Delete(j);
    bson_destroy(&d);
}

Test(mongo_bson, invalid_utf8_marks_the_document)
{
    bson_t d = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&d, "id", "b1");
    bson_t cfg;
    BSON_APPEND_DOCUMENT_BEGIN(&d, "config", &cfg);
    bson_append_utf8(&cfg, "symbol", -1, "\xff\xfe", 2);
    bson_append_document_end(&d, &cfg);
    cJSON *j = NULL;
    cr_assert_eq(mongostore_bson_to_json(&d, &j, NULL), T0_OK);
    const char *why = undecodable(j);
    cr_expect(why && strstr(why, "UTF-8") && strstr(why, "symbol"), "marked: %s", why ? why : "(not marked)");
    cJSON_Delete(j);
    bson_destroy(&d);
}

/* nest: a document {"id":"b1","config":{"a":{"a":...}}} whose config has LEVELS levels */
static bson_t *nest(int levels)
{
    bson_t *inner = bson_new();
    BSON_APPEND_INT32(inner, "leaf", 1);
    for (int i = 1; i < levels; i++) {
        bson_t *outer = bson_new();
        BSON_APPEND_DOCUMENT(outer, "a", inner);
        bson_destroy(inner);
        inner = outer;
    }
    bson_t *d = BCON_NEW("id", BCON_UTF8("b1"));
    BSON_APPEND_DOCUMENT(d, "config", inner);
    bson_destroy(inner);
    return d;
}

Test(mongo_bson, nesting_deeper_than_the_limit_marks_the_document)
{
    bson_t *d = nest(DOCVAL_MAX_DEPTH - 1); /* the document is level 1: its config reaches exactly the limit */
    cJSON *j = NULL;
    cr_assert_eq(mongostore_bson_to_json(d, &j, NULL), T0_OK);
    cr_expect_null(undecodable(j), "at the limit: %s", undecodable(j));
    cr_expect_eq(docval_depth(j), DOCVAL_MAX_DEPTH);
    cJSON_Delete(j);
    bson_destroy(d);
    d = nest(DOCVAL_MAX_DEPTH + 30);
    cr_assert_eq(mongostore_bson_to_json(d, &j, NULL), T0_OK);
    const char *why = undecodable(j);
    cr_expect(why && strstr(why, "deeper than 64"), "marked: %s", why ? why : "(not marked)");
    cJSON_Delete(j);
    bson_destroy(d);
}
