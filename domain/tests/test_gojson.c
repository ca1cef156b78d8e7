/* test_gojson.c: the Go encoding/json compatible encoder: numbers, escaping, key order, errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/gojson.h"

static void num(double x, const char *want)
{
    char buf[64];
    t0_err err = {0};
    cr_assert_eq(gojson_format_float(x, buf, sizeof buf, &err), T0_OK, "%s", err.msg);
    cr_assert_str_eq(buf, want, "formatting %.17g", x);
}

Test(gojson, numbers)
{
    num(5.0, "5");
    num(-2.5, "-2.5");
    num(0.1, "0.1");
    num(100, "100");
    num(123.456, "123.456");
    num(0.1 + 0.2, "0.30000000000000004");
    num(1e21, "1e+21");
    num(1e20, "100000000000000000000");
    num(1e-7, "1e-7");
    num(1e-10, "1e-10");
    num(0.000001, "0.000001");
    num(0.0000012345, "0.0000012345");
    num(1.5e300, "1.5e+300");
    num(-1.5e-300, "-1.5e-300");
    num(12345678901234567890.0, "12345678901234567000");
    num(5e-324, "5e-324");
    num(1.7976931348623157e308, "1.7976931348623157e+308");
    num(0.0, "0");
    num(-0.0, "-0");
    num(9007199254740993.0, "9007199254740992");
    num(2.5e-5, "0.000025");
}

Test(gojson, nan_inf_are_errors)
{
    char buf[64];
    t0_err err = {0};
    cr_assert_eq(gojson_format_float(NAN, buf, sizeof buf, &err), T0_EINVAL);
    cr_assert(strstr(err.msg, "NaN"), "%s", err.msg);
    cr_assert_eq(gojson_format_float(-INFINITY, buf, sizeof buf, NULL), T0_EINVAL);
    cJSON *o = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(o, "a");
    cJSON_AddItemToArray(a, cJSON_CreateNumber(INFINITY));
    char *out = (char *)0x1;
    cr_assert_eq(gojson_encode(o, &out, NULL, &err), T0_EINVAL);
    cr_assert_eq(out, (char *)0x1, "out untouched on error");
    cJSON_Delete(o);
}

static void enc(const char *json_in, const char *want)
{
    cJSON *v = cJSON_Parse(json_in);
    cr_assert_not_null(v, "bad test JSON %s", json_in);
    char *out = NULL;
    size_t len = 0;
    t0_err err = {0};
    cr_assert_eq(gojson_encode(v, &out, &len, &err), T0_OK, "%s", err.msg);
    cr_assert_str_eq(out, want);
    cr_assert_eq(len, strlen(want));
    free(out);
    cJSON_Delete(v);
}

static void enc_str(const char *raw, const char *want)
{
    cJSON *v = cJSON_CreateString(raw);
    char *out = NULL;
    cr_assert_eq(gojson_encode(v, &out, NULL, NULL), T0_OK);
    cr_assert_str_eq(out, want);
    free(out);
    cJSON_Delete(v);
}

Test(gojson, sorted_nested_no_whitespace)
{
    enc("{ \"b\": 1, \"a\": { \"z\": [3, 2, {\"y\": true, \"x\": null}], \"B\": false }, \"\": \"e\" }",
        "{\"\":\"e\",\"a\":{\"B\":false,\"z\":[3,2,{\"x\":null,\"y\":true}]},\"b\":1}");
    enc("{}", "{}");
    enc("[]", "[]");
    enc("{\"a\":[],\"b\":{}}", "{\"a\":[],\"b\":{}}");
    /* byte order: upper case before lower case, and UTF-8 bytes after ASCII */
    enc("{\"\xc3\xa9\":1,\"z\":2,\"Z\":3,\"a_b\":4,\"a-b\":5}",
        "{\"Z\":3,\"a-b\":5,\"a_b\":4,\"z\":2,\"\xc3\xa9\":1}");
    /* duplicates: the last one wins, as when Go decodes into a map */
    enc("{\"k\":1,\"k\":2}", "{\"k\":2}");
}

Test(gojson, string_escaping)
{
    enc_str("a\"b\\c\nd\re\tf", "\"a\\\"b\\\\c\\nd\\re\\tf\"");
    enc_str("\x01\x1f\x7f", "\"\\u0001\\u001f\x7f\"");
    enc_str("\b\f", "\"\\b\\f\""); /* Go >= 1.22 */
    enc_str("<b> & </b>", "\"\\u003cb\\u003e \\u0026 \\u003c/b\\u003e\"");
    enc_str("l\xe2\x80\xa8p\xe2\x80\xa9", "\"l\\u2028p\\u2029\"");
    enc_str("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80\"");
    enc_str("/", "\"/\"");
    enc_str("\xef\xbf\xbd", "\"\xef\xbf\xbd\""); /* a real U+FFFD stays raw */
}

Test(gojson, invalid_utf8_replaced_per_byte)
{
    enc_str("a\xff" "b", "\"a\\ufffdb\"");
    enc_str("\xe2\x82", "\"\\ufffd\\ufffd\"");             /* truncated 3-byte sequence */
    enc_str("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");   /* surrogate U+D800 */
    enc_str("\xc0\xaf", "\"\\ufffd\\ufffd\"");             /* overlong '/' */
    enc_str("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* above U+10FFFF */
    enc_str("\x80", "\"\\ufffd\"");
}

Test(gojson, keys_escaped_like_values)
{
    enc("{\"<k>\":\"v\"}", "{\"\\u003ck\\u003e\":\"v\"}");
}

Test(gojson, raw_items_rejected)
{
    cJSON *r = cJSON_CreateRaw("{}");
    char *out = NULL;
    t0_err err = {0};
    cr_assert_eq(gojson_encode(r, &out, NULL, &err), T0_EINVAL);
    cr_assert_null(out);
    cJSON_Delete(r);
}

/* every ASCII byte, against Go's rules written out here: control bytes, '"', '\\', '<', '>' and '&' escaped
 * (short forms for \b \f \n \r \t), everything else (DEL included) as itself */
Test(gojson, every_ascii_byte_escaped_as_go_does)
{
    for (int c = 1; c < 128; c++) {
        char in[4] = {'x', (char)c, 'y', 0}, want[16];
        const char *shortf = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : c == '\n' ? "\\n"
                           : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
        if (shortf) snprintf(want, sizeof want, "\"x%sy\"", shortf);
        else if (c < 0x20 || c == '<' || c == '>' || c == '&') snprintf(want, sizeof want, "\"x\\u%04xy\"", c);
        else snprintf(want, sizeof want, "\"x%cy\"", c);
        enc_str(in, want);
    }
}
