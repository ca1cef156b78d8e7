/* test_json.c: dotted-path reads (core/json.h). */
#include <criterion/criterion.h>

#include "core/json.h"

static cJSON *doc(void)
{
    cJSON *o = cJSON_Parse("{\"metadata\":{\"name\":\"p1\",\"namespace\":\"ns\",\"labels\":{\"a.b/c\":\"x\"},"
                           "\"n\":3},\"status\":{\"phase\":\"Running\"},\"metadata2\":{\"name\":\"other\"}}");
    cr_assert_not_null(o);
    return o;
}

Test(json, reads_strings_and_members_along_a_dotted_path)
{
    cJSON *o = doc();
    cr_expect_str_eq(t0_json_str(o, "metadata.name"), "p1");
    cr_expect_str_eq(t0_json_str(o, "status.phase"), "Running");
    const cJSON *n = t0_json_at(o, "metadata.n");
    cr_expect(cJSON_IsNumber(n) && n->valueint == 3, "metadata.n: %d", n ? n->valueint : -1);
    cr_expect_eq(t0_json_at(o, ""), o, "an empty path is the object itself");
    cJSON_Delete(o);
}

Test(json, a_key_must_match_whole_not_as_a_prefix)
{
    cJSON *o = doc();
    cr_expect_null(t0_json_at(o, "meta.name"), "meta is not metadata");
    cr_expect_null(t0_json_at(o, "metadata.nam"), "nam is not name");
    cr_expect_str_eq(t0_json_str(o, "metadata2.name"), "other", "metadata2 is not metadata");
    cJSON_Delete(o);
}

Test(json, missing_steps_non_objects_and_non_strings_give_null)
{
    cJSON *o = doc();
    cr_expect_null(t0_json_at(o, "spec.nodeName"));
    cr_expect_null(t0_json_at(o, "metadata.name.x"), "a string has no members");
    cr_expect_null(t0_json_str(o, "metadata.n"), "a number is not a string");
    cr_expect_null(t0_json_str(o, "metadata"), "an object is not a string");
    cr_expect_null(t0_json_at(NULL, "metadata"));
    /* label keys with dots cannot be reached by a dotted path: callers look labels up by key */
    cr_expect_null(t0_json_str(o, "metadata.labels.a.b/c"));
    cJSON_Delete(o);
}

Test(json, get_is_a_drop_in_for_cjson_get_case_sensitive)
{
    cJSON *o = doc();
    const char *keys[] = {"metadata", "status", "metadata2", "meta", "Metadata", "", "metadata.name", "x"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        cr_expect_eq(t0_json_get(o, keys[i]), cJSON_GetObjectItemCaseSensitive(o, keys[i]), "key \"%s\"", keys[i]);
    cJSON *labels = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "metadata"), "labels");
    cr_expect_eq(t0_json_get(labels, "a.b/c"), cJSON_GetObjectItemCaseSensitive(labels, "a.b/c"), "a key with dots");
    cr_expect_null(t0_json_get(NULL, "metadata"));
    cr_expect_null(t0_json_get(o, NULL));
    cJSON *arr = cJSON_Parse("[1,2]");
    cr_expect_eq(t0_json_get(arr, "0"), cJSON_GetObjectItemCaseSensitive(arr, "0"), "an array has no members");
    cJSON_Delete(arr);
    cJSON_Delete(o);
}

/* t0_json_equal must decide as cJSON_Compare (case-sensitive) does, with or without member order. */
Test(json, equal_decides_as_cjson_compare)
{
    const char *docs[] = {
        "{\"a\":1,\"b\":{\"c\":[1,2,{\"d\":\"x\"}]},\"e\":null,\"f\":true}",
        "{\"b\":{\"c\":[1,2,{\"d\":\"x\"}]},\"a\":1,\"f\":true,\"e\":null}", /* same, other order */
        "{\"a\":1,\"b\":{\"c\":[1,2,{\"d\":\"y\"}]},\"e\":null,\"f\":true}", /* a deep string differs */
        "{\"a\":1,\"b\":{\"c\":[1,2]},\"e\":null,\"f\":true}",               /* an array is shorter */
        "{\"a\":1,\"b\":{\"c\":[1,2,{\"d\":\"x\"}]},\"e\":null}",            /* a member is missing */
        "{\"a\":1,\"b\":{\"c\":[1,2,{\"d\":\"x\"}]},\"e\":null,\"f\":false}", /* a boolean differs */
        "{\"a\":1.0000000000000002,\"b\":{\"c\":[1,2,{\"d\":\"x\"}]},\"e\":null,\"f\":true}", /* within tolerance */
        "{\"a\":\"1\",\"b\":{\"c\":[1,2,{\"d\":\"x\"}]},\"e\":null,\"f\":true}", /* a type differs */
        "{\"A\":1,\"b\":{\"c\":[1,2,{\"d\":\"x\"}]},\"e\":null,\"f\":true}", /* a key's case differs */
        "[]", "{}", "\"s\"", "3",
    };
    size_t n = sizeof docs / sizeof *docs;
    cJSON *v[sizeof docs / sizeof *docs];
    for (size_t i = 0; i < n; i++) cr_assert_not_null(v[i] = cJSON_Parse(docs[i]), "%s", docs[i]);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            bool want = cJSON_Compare(v[i], v[j], 1), got = t0_json_equal(v[i], v[j]);
            cr_expect_eq(got, want, "%s vs %s: t0_json_equal %d, cJSON_Compare %d", docs[i], docs[j], got, want);
        }
    cr_expect(t0_json_equal(v[0], v[1]), "member order does not matter");
    cr_expect(!t0_json_equal(v[0], NULL) && !t0_json_equal(NULL, NULL), "NULL equals nothing, as in cJSON_Compare");
    for (size_t i = 0; i < n; i++) cJSON_Delete(v[i]);
}
