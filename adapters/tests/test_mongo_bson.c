/* test_mongo_bson.c: BSON -> cJSON conversion of mongo_store (no server): number types, nesting,
 * dropped ObjectIds, datetimes, and documents the reference could not decode still returned. */
#include <bson/bson.h>
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "adapters/mongo_store.h"

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
