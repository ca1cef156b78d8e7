/* test_docval.c: the poison checks of payloads and documents: strict UTF-8, ids, NUL escapes, nesting;
 * and document versions: text form, order, "older than". */
#include <criterion/criterion.h>
#include <string.h>

#include "core/ports.h"
#include "core/json.h"
#include "domain/docval.h"
#include "domain/docver.h"

static bool utf8(const char *s) { return docval_utf8(s, strlen(s), NULL); }

Test(docval, utf8_is_strict)
{
    cr_expect(utf8("plain ascii"));
    cr_expect(utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "2-, 3- and 4-byte forms");
    cr_expect(!utf8("\xff"), "0xff is never UTF-8");
    cr_expect(!utf8("\xc0\xaf"), "overlong 2-byte form of '/'");
    cr_expect(!utf8("\xe0\x80\xaf"), "overlong 3-byte form");
    cr_expect(!utf8("\xf0\x80\x80\xaf"), "overlong 4-byte form");
    cr_expect(!utf8("\xed\xa0\x80"), "a UTF-16 surrogate (U+D800)");
    cr_expect(!utf8("\xf4\x90\x80\x80"), "above U+10FFFF");
    cr_expect(!utf8("\xc3"), "a sequence cut short at the end");
    cr_expect(!utf8("\xe2\x82"), "a 3-byte sequence cut short");
    cr_expect(!utf8("\xe2\x28\xa1"), "a bad continuation byte");
    size_t at = 0;
    cr_expect(!docval_utf8("ab\0cd", 5, &at), "a NUL byte is refused");
    cr_expect_eq(at, 2u, "the offset of the NUL: %zu", at);
    cr_expect(!docval_utf8("abc\xff", 4, &at));
    cr_expect_eq(at, 3u);
}

Test(docval, ids_are_dns_labels_of_at_most_63)
{
    const char *good[] = {"b1", "ck9x2abcdefghijklmnopqrs", "a-b", "0", "x2345678901234567890123456789012345678901234567890123456789012"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) cr_expect_eq(docval_id(good[i], NULL), T0_OK, "refused: %s", good[i]);
    char max[64];
    memset(max, 'a', 63);
    max[63] = 0;
    cr_expect_eq(docval_id(max, NULL), T0_OK, "63 characters are fine");
    char longer[65];
    memset(longer, 'a', 64);
    longer[64] = 0;
    t0_err e = {0};
    cr_expect_eq(docval_id(longer, &e), T0_EINVAL);
    cr_expect(strstr(e.msg, "64 bytes"), "%s", e.msg);
    const char *bad[] = {"", "B1", "bad_id", "a.b", "-a", "a-", "a b", "a\xc3\xa9", "p2\\u0000"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        t0_err why = {0};
        cr_expect_eq(docval_id(bad[i], &why), T0_EINVAL, "accepted: \"%s\"", bad[i]);
        cr_expect(why.msg[0], "no reason for \"%s\"", bad[i]);
    }
    char huge[10001];
    memset(huge, 'a', 10000);
    huge[10000] = 0;
    t0_err h = {0};
    cr_expect_eq(docval_id(huge, &h), T0_EINVAL);
    cr_expect_lt(strlen(h.msg), 300u, "a 10 kB id is cut in the message: %zu bytes", strlen(h.msg));
}

Test(docval, json_text_refuses_nul_escapes_but_not_escaped_backslashes)
{
    const char *ok[] = {"{\"id\":\"a\"}", "{\"s\":\"\\\\u0000\"}", "{\"s\":\"\\u0041\\u00e9\"}", "{\"s\":\"\\\\\\\\u0000\"}"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        cr_expect_eq(docval_json_text(ok[i], strlen(ok[i]), NULL), T0_OK, "refused: %s", ok[i]);
    const char *bad[] = {"{\"id\":\"p2\\u0000x\"}", "{\"k\\u0000\":1}", "{\"s\":\"\\\\\\u0000\"}", "{\"s\":\"\\U0000\"}"};
    /* the last one is not a valid escape for JSON (capital U): cJSON refuses it anyway; here it is no NUL */
    for (size_t i = 0; i < 3; i++) {
        t0_err e = {0};
        cr_expect_eq(docval_json_text(bad[i], strlen(bad[i]), &e), T0_EINVAL, "accepted: %s", bad[i]);
        cr_expect(strstr(e.msg, "u0000"), "%s", e.msg);
    }
    cr_expect_eq(docval_json_text(bad[3], strlen(bad[3]), NULL), T0_OK);
    t0_err e = {0};
    cr_expect_eq(docval_json_text("{\"s\":\"\xff\"}", 9, &e), T0_EINVAL);
    cr_expect(strstr(e.msg, "0xff at offset 6"), "%s", e.msg);
}

static cJSON *nested(int levels)
{
    cJSON *root = cJSON_CreateObject(), *cur = root;
    for (int i = 1; i < levels; i++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddItemToObject(cur, "a", c);
        cur = c;
    }
    return root;
}

Test(docval, depth_and_strings_of_a_parsed_document)
{
    cJSON *d = nested(DOCVAL_MAX_DEPTH);
    cr_expect_eq(docval_depth(d), DOCVAL_MAX_DEPTH);
    cr_expect_eq(docval_json(d, NULL), T0_OK, "exactly the limit is fine");
    cJSON_Delete(d);
    d = nested(DOCVAL_MAX_DEPTH + 1);
    t0_err e = {0};
    cr_expect_eq(docval_json(d, &e), T0_EINVAL);
    cr_expect(strstr(e.msg, "deeper than 64"), "%s", e.msg);
    cJSON_Delete(d);
    d = cJSON_Parse("{\"config\":{\"symbol\":\"x\"},\"list\":[1,\"y\"]}");
    cr_expect_eq(docval_json(d, NULL), T0_OK);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(d, "config"), "symbol", cJSON_CreateString("bad\xff"));
    e = (t0_err){0};
    cr_expect_eq(docval_json(d, &e), T0_EINVAL);
    cr_expect(strstr(e.msg, "config.symbol"), "the path is named: %s", e.msg);
    cJSON_Delete(d);
    d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "k\xfe", 1);
    e = (t0_err){0};
    cr_expect_eq(docval_json(d, &e), T0_EINVAL, "a key that is not UTF-8");
    cJSON_Delete(d);
    d = cJSON_Parse("{\"config\":{\"list\":[1,{}]}}");
    cJSON_AddNumberToObject(cJSON_GetArrayItem(t0_json_at(d, "config.list"), 1), "k\xfe", 1);
    e = (t0_err){0};
    cr_expect_eq(docval_json(d, &e), T0_EINVAL, "a nested key that is not UTF-8");
    cr_expect(strstr(e.msg, "config.list[1] has a key that is not valid UTF-8"), "the path is named: %s", e.msg);
    cJSON_Delete(d);
}

Test(docver, text_form_round_trips_and_sorts_as_it_compares)
{
    docver a = {1767571200000000ull, 42, false}, b = {1767571200000000ull, 42, true}, c = {1767571200000000ull, 43, false},
           d = {1767571300000000ull, 1, false}, none = {0};
    char ta[DOCVER_TEXT_MAX], tb[DOCVER_TEXT_MAX], tc[DOCVER_TEXT_MAX], td[DOCVER_TEXT_MAX];
    docver_format(&a, ta);
    docver_format(&b, tb);
    docver_format(&c, tc);
    docver_format(&d, td);
    cr_expect_str_eq(ta, "1767571200000000:00000000000000000042");
    cr_expect_str_eq(tb, "1767571200000000:00000000000000000042:direct");
    docver p;
    cr_expect(docver_parse(tb, &p) && docver_cmp(&p, &b) == 0, "round trip");
    /* event 42 < direct write after 42 < event 43 < any event of a newer stream; no version is oldest */
    const docver *order[] = {&none, &a, &b, &c, &d};
    const char *texts[] = {NULL, ta, tb, tc, td};
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) {
            int want = i < j ? -1 : i > j ? 1 : 0, got = docver_cmp(order[i], order[j]);
            cr_expect((got > 0) - (got < 0) == want, "cmp(%d,%d) = %d", i, j, got);
            if (i && j) {
                int s = strcmp(texts[i], texts[j]);
                cr_expect((s > 0) - (s < 0) == want, "the text order agrees (%s vs %s)", texts[i], texts[j]);
            }
        }
    const char *bad[] = {"", "1:2", "1767571200000000:42", "1767571200000000:00000000000000000042:Direct",
                         "0000000000000000:00000000000000000001", "x767571200000000:00000000000000000042",
                         "1767571200000000:00000000000000000042 "};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) cr_expect(!docver_parse(bad[i], &p), "accepted: \"%s\"", bad[i]);
}

Test(docver, older_than_is_what_a_store_selects)
{
    docver v = {1767571200000000ull, 10, false};
    cJSON *doc = cJSON_Parse("{\"id\":\"b1\"}");
    cr_expect(docver_older(doc, &v), "no version: older than every event");
    cJSON_AddStringToObject(doc, STORE_VERSION_FIELD, "garbage");
    cr_expect(docver_older(doc, &v), "an unreadable version counts as none");
    cJSON_ReplaceItemInObject(doc, STORE_VERSION_FIELD, cJSON_CreateString("1767571200000000:00000000000000000009:direct"));
    cr_expect(docver_older(doc, &v), "a direct write after event 9 is older than event 10");
    cJSON_ReplaceItemInObject(doc, STORE_VERSION_FIELD, cJSON_CreateString("1767571200000000:00000000000000000010"));
    cr_expect(!docver_older(doc, &v), "the same event is not older (a redelivery is a no-op)");
    cJSON_ReplaceItemInObject(doc, STORE_VERSION_FIELD, cJSON_CreateNumber(5));
    cr_expect(docver_older(doc, &v), "a number is no version");
    cJSON_Delete(doc);
}
