/* test_botdoc.c: parsing, ownership and the enabled rule of bot/schedule documents. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/ports.h"
#include "domain/botdoc.h"
#include "domain/docval.h"

static botdoc *parse_ok(const char *json)
{
    botdoc *d = NULL;
    t0_err err = {0};
    cr_assert_eq(botdoc_parse_text(json, strlen(json), &d, &err), T0_OK, "%s", err.msg);
    cr_assert_not_null(d);
    return d;
}

static void parse_fails(const char *json, const char *want_msg)
{
    botdoc *d = (botdoc *)0x1;
    t0_err err = {0};
    cr_assert_eq(botdoc_parse_text(json, strlen(json), &d, &err), T0_EINVAL, "document %s", json);
    cr_assert_eq(d, (botdoc *)0x1);
    cr_assert_str_eq(err.msg, want_msg);
}

Test(botdoc, full_document)
{
    botdoc *d = parse_ok("{\"_id\":{\"$oid\":\"65a\"},\"id\":\"ck9x2abc\",\"segment_id\":3,\"enabled\":true,"
                         "\"config\":{\"symbol\":\"BTC/USD\",\"n\":5},"
                         "\"custom\":{\"version\":\"1.0.0\",\"filePath\":\"u1/p/1.0.0\",\"createdAt\":\"x\","
                         "\"config\":{\"name\":\"price-alerts\",\"runtime\":\"python3.11\",\"type\":\"realtime\","
                         "\"entrypoints\":{\"bot\":\"main.py\",\"query\":\"\"}}}}");
    cr_assert_str_eq(d->id, "ck9x2abc");
    cr_assert_eq(d->enabled, BOTDOC_TRUE);
    cr_assert_str_eq(d->version, "1.0.0");
    cr_assert_str_eq(d->file_path, "u1/p/1.0.0");
    cr_assert_str_eq(d->name, "price-alerts");
    cr_assert_str_eq(d->runtime, "python3.11");
    cr_assert_str_eq(botdoc_entrypoint(d, "bot"), "main.py");
    cr_assert_str_eq(botdoc_entrypoint(d, "query"), "");
    cr_assert_null(botdoc_entrypoint(d, "other"));
    cr_assert_str_eq(cJSON_GetObjectItem(d->config, "symbol")->valuestring, "BTC/USD");

    botdoc *c = NULL;
    cr_assert_eq(botdoc_clone(d, &c, NULL), T0_OK);
    botdoc_destroy(d);
    cr_assert_str_eq(c->id, "ck9x2abc");
    cr_assert_str_eq(botdoc_entrypoint(c, "bot"), "main.py");
    cr_assert_eq(cJSON_GetObjectItem(c->config, "n")->valuedouble, 5);
    botdoc_destroy(c);
    botdoc_destroy(NULL);
}

Test(botdoc, minimal_document_defaults)
{
    botdoc *d = parse_ok("{\"id\":\"x\",\"config\":null,\"custom\":null,\"enabled\":null}");
    cr_assert_null(d->config);
    cr_assert_eq(d->enabled, BOTDOC_ABSENT);
    cr_assert_str_eq(d->version, "");
    cr_assert_str_eq(d->file_path, "");
    cr_assert_str_eq(d->name, "");
    cr_assert_str_eq(d->runtime, "");
    cr_assert_null(d->entrypoints);
    cr_assert(botdoc_is_enabled(d));
    cr_assert_null(botdoc_schedule(d));
    botdoc_destroy(d);
}

Test(botdoc, enabled_rule_only_boolean_false_disables)
{
    static const struct {
        const char *doc;
        bool want;
    } cases[] = {
        {"{\"id\":\"a\",\"config\":{\"enabled\":false}}", false},
        {"{\"id\":\"a\",\"config\":{\"enabled\":true}}", true},
        {"{\"id\":\"a\",\"config\":{\"enabled\":\"false\"}}", true},
        {"{\"id\":\"a\",\"config\":{\"enabled\":0}}", true},
        {"{\"id\":\"a\",\"config\":{\"enabled\":null}}", true},
        {"{\"id\":\"a\",\"config\":{}}", true},
        {"{\"id\":\"a\"}", true},
        {"{\"id\":\"a\",\"enabled\":false,\"config\":{}}", true}, /* top-level enabled is not the filter */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        botdoc *d = parse_ok(cases[i].doc);
        cr_assert_eq(botdoc_is_enabled(d), cases[i].want, "%s", cases[i].doc);
        botdoc_destroy(d);
    }
}

Test(botdoc, schedule_field)
{
    botdoc *d = parse_ok("{\"id\":\"s\",\"config\":{\"schedule\":\"0 9 * * *\"}}");
    cr_assert_str_eq(botdoc_schedule(d), "0 9 * * *");
    botdoc_destroy(d);
    d = parse_ok("{\"id\":\"s\",\"config\":{\"schedule\":5}}");
    cr_assert_null(botdoc_schedule(d));
    botdoc_destroy(d);
}

Test(botdoc, errors_name_id_and_field)
{
    parse_fails("[1]", "bot document: expected object, got array");
    parse_fails("{\"config\":{}}", "bot (no id): field id: expected string, got nothing");
    parse_fails("{\"id\":7}", "bot (no id): field id: expected string, got number");
    parse_fails("{\"id\":\"\"}", "bot document: field id is empty");
    parse_fails("{\"id\":\"b1\",\"config\":\"x\"}", "bot b1: field config: expected object, got string");
    parse_fails("{\"id\":\"b1\",\"enabled\":\"yes\"}", "bot b1: field enabled: expected boolean, got string");
    parse_fails("{\"id\":\"b1\",\"custom\":[]}", "bot b1: field custom: expected object, got array");
    parse_fails("{\"id\":\"b1\",\"custom\":{\"version\":1}}", "bot b1: field custom.version: expected string, got number");
    parse_fails("{\"id\":\"b1\",\"custom\":{\"filePath\":true}}",
                "bot b1: field custom.filePath: expected string, got boolean");
    parse_fails("{\"id\":\"b1\",\"custom\":{\"config\":5}}", "bot b1: field custom.config: expected object, got number");
    parse_fails("{\"id\":\"b1\",\"custom\":{\"config\":{\"name\":{}}}}",
                "bot b1: field custom.config.name: expected string, got object");
    parse_fails("{\"id\":\"b1\",\"custom\":{\"config\":{\"runtime\":[]}}}",
                "bot b1: field custom.config.runtime: expected string, got array");
    parse_fails("{\"id\":\"b1\",\"custom\":{\"config\":{\"entrypoints\":\"main.py\"}}}",
                "bot b1: field custom.config.entrypoints: expected object, got string");
    parse_fails("{\"id\":\"b1\",\"custom\":{\"config\":{\"entrypoints\":{\"bot\":1}}}}",
                "bot b1: field custom.config.entrypoints.bot: expected string, got number");
    parse_fails("{\"id\":", "bot document: invalid JSON near byte 5");
}

Test(botdoc, stored_documents_get_the_payload_checks)
{
    const char *good = "{\"id\":\"ck9x\",\"config\":{\"a\":1},\"custom\":{\"config\":{\"runtime\":\"python3.11\"}}}";
    cJSON *d = cJSON_Parse(good);
    botdoc *b = NULL;
    cr_assert_eq(botdoc_parse_stored(d, &b, NULL), T0_OK);
    botdoc_destroy(b);
    /* marked undecodable by the store: invalid, whatever did decode */
    cJSON_AddStringToObject(d, STORE_UNDECODABLE, "a string holds a NUL byte (at key \"id\")");
    t0_err e = {0};
    cr_expect_eq(botdoc_parse_stored(d, &b, &e), T0_EINVAL);
    cr_expect(strstr(e.msg, "does not decode") && strstr(e.msg, "NUL"), "%s", e.msg);
    cJSON_Delete(d);
    /* an id no pod can be named after (botdoc_parse alone takes it: podgen reports it the reference's way) */
    d = cJSON_Parse("{\"id\":\"Ck9X.y\",\"config\":{}}");
    cr_expect_eq(botdoc_parse(d, &b, NULL), T0_OK);
    botdoc_destroy(b);
    e = (t0_err){0};
    cr_expect_eq(botdoc_parse_stored(d, &b, &e), T0_EINVAL);
    cr_expect(strstr(e.msg, "invalid id"), "%s", e.msg);
    cJSON_Delete(d);
    /* a config deeper than the limit */
    char deep[1024] = "{\"id\":\"b1\",\"config\":";
    for (int i = 0; i < DOCVAL_MAX_DEPTH; i++) strcat(deep, "{\"a\":");
    strcat(deep, "1");
    for (int i = 0; i < DOCVAL_MAX_DEPTH + 1; i++) strcat(deep, "}");
    d = cJSON_Parse(deep);
    cr_assert_not_null(d);
    e = (t0_err){0};
    cr_expect_eq(botdoc_parse_stored(d, &b, &e), T0_EINVAL);
    cr_expect(strstr(e.msg, "deeper than"), "%s", e.msg);
    cJSON_Delete(d);
}
