/* test_json.c: dotted-path reads (core/json.h). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

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

/* drop: PATHS cut from TEXT, as a string */
static char *drop(const char *text, const char *const *paths)
{
    char *b = strdup(text);
    size_t n = t0_json_text_drop(b, strlen(b), paths);
    cr_assert_leq(n, strlen(text));
    b[n] = 0;
    return b;
}

static void expect_drop(const char *text, const char *const *paths, const char *want)
{
    char *got = drop(text, paths);
    cr_expect_str_eq(got, want, "dropping from %s: expected %s, got %s", text, want, got);
    free(got);
}

Test(json, text_drop_cuts_members_and_their_commas)
{
    const char *spec[] = {"spec", NULL};
    expect_drop("{\"a\":1,\"spec\":{\"x\":[1,{\"y\":\"}\"}]},\"status\":{\"p\":\"R\"}}", spec,
                "{\"a\":1,\"status\":{\"p\":\"R\"}}");
    expect_drop("{\"spec\":{},\"b\":2}", spec, "{\"b\":2}");
    expect_drop("{\"spec\":1}", spec, "{}");
    expect_drop("{\"a\":1,\"spec\":\"x\\\\\"}", spec, "{\"a\":1}");
    expect_drop("{\"spec\":1,\"spec\":2,\"c\":3}", spec, "{\"c\":3}");
    expect_drop("{ \"a\" : 1 , \"spec\" : [1, 2] , \"b\" : 3 }", spec, "{ \"a\" : 1 , \"b\" : 3 }");
    expect_drop("{\"a\":{\"spec\":1},\"spec\":true}", spec, "{\"a\":{\"spec\":1}}");
    expect_drop("{\"a\":\"\\\"spec\\\":1\"}", spec, "{\"a\":\"\\\"spec\\\":1\"}");
}

Test(json, text_drop_follows_paths_and_array_wildcards)
{
    const char *list[] = {"items.*.spec", "metadata.x", NULL};
    expect_drop("{\"metadata\":{\"x\":1,\"resourceVersion\":\"5\"},\"items\":[{\"spec\":1,\"m\":2},{\"m\":3,\"spec\":"
                "{\"q\":\"\\\"x\\\\\"}}]}",
                list, "{\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[{\"m\":2},{\"m\":3}]}");
    const char *watch[] = {"object.spec.jobTemplate", NULL};
    expect_drop("{\"type\":\"ADDED\",\"object\":{\"spec\":{\"schedule\":\"* * * * *\",\"jobTemplate\":{\"spec\":{}}}}}",
                watch, "{\"type\":\"ADDED\",\"object\":{\"spec\":{\"schedule\":\"* * * * *\"}}}");
    const char *none[] = {"items.*", NULL}; /* a path ending in "*" names no member */
    expect_drop("{\"items\":[1,2]}", none, "{\"items\":[1,2]}");
}

Test(json, text_drop_leaves_malformed_text_and_escaped_keys_alone)
{
    const char *spec[] = {"spec", NULL};
    const char *bad[] = {"{\"a\":1,\"spec\":{", "{\"spec\":1,", "{\"spec\" 1}", "[\"spec\",1", "{\"spec\":\"x}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) expect_drop(bad[i], spec, bad[i]);
    expect_drop("{\"sp\\u0065c\":1}", spec, "{\"sp\\u0065c\":1}");
    expect_drop("{\"sp\\u0065c\":{\"spec\":1},\"spec\":2}", spec, "{\"sp\\u0065c\":{\"spec\":1}}");
    const char *deep[] = {"a.b", NULL};
    expect_drop("{\"\\u0061\":{\"b\":1},\"a\":{\"b\":2,\"c\":3}}", deep, "{\"\\u0061\":{\"b\":1},\"a\":{\"c\":3}}");
    expect_drop("[{\"spec\":1}]", spec, "[{\"spec\":1}]");
}

Test(json, text_drop_then_parse_equals_parse_then_delete)
{
    cJSON *pod = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"bot-b1\",\"labels\":{\"a\":"
                             "\"b\"}},\"spec\":{\"containers\":[{\"name\":\"bot\",\"env\":[{\"name\":\"X\",\"value\":"
                             "\"y,}]\"}]}]},\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"bot\"}]}}");
    cr_assert_not_null(pod);
    char *text = cJSON_PrintUnformatted(pod);
    const char *spec[] = {"spec", NULL};
    size_t n = t0_json_text_drop(text, strlen(text), spec);
    cJSON *got = cJSON_ParseWithLength(text, n);
    cJSON_DeleteItemFromObjectCaseSensitive(pod, "spec");
    cr_expect(t0_json_equal(got, pod), "parsing the pruned text gives the object without spec");
    free(text);
    cJSON_Delete(got);
    cJSON_Delete(pod);
}
