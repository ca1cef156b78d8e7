/* test_names.c: names, label sanitising, MinIO path check, cron conversion, runtime tables, quantities. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "domain/names.h"

Test(names, pod_and_cronjob_names)
{
    char b[64];
    cr_assert_eq(names_pod("ck9x2abc", b, sizeof b, NULL), T0_OK);
    cr_assert_str_eq(b, "bot-ck9x2abc");
    cr_assert_eq(names_pod("abcdefgh", b, 8, NULL), T0_ELIMIT);
    char c[NAMES_CRONJOB_MAX + 1];
    names_cronjob("very-long-schedule-id-that-needs-to-be-truncated-for-k8s-name-limit", c);
    cr_assert_str_eq(c, "schedule-very-long-schedule-id-that-needs-to-be-trun");
    names_cronjob("ck9sched01", c);
    cr_assert_str_eq(c, "schedule-ck9sched01");
    names_cronjob("abc--", c); /* trailing '-' stripped even without a cut */
    cr_assert_str_eq(c, "schedule-abc");
}

Test(names, sanitize_label_value)
{
    char o[NAMES_LABEL_MAX + 1];
    names_sanitize_label_value("price-alerts", o);
    cr_assert_str_eq(o, "price-alerts");
    names_sanitize_label_value("My Bot! (v2)", o);
    cr_assert_str_eq(o, "MyBotv2");
    names_sanitize_label_value("__x.y__", o);
    cr_assert_str_eq(o, "x.y");
    names_sanitize_label_value("caf\xc3\xa9", o);
    cr_assert_str_eq(o, "caf");
    names_sanitize_label_value("!!!", o);
    cr_assert_str_eq(o, "bot");
    names_sanitize_label_value("", o);
    cr_assert_str_eq(o, "bot");
    char in[100];
    memset(in, 'a', 70);
    in[70] = '\0';
    names_sanitize_label_value(in, o); /* cut to 63 */
    cr_assert_eq(strlen(o), 63);
    in[62] = '.'; /* the cut leaves a trailing '.', which is then stripped */
    names_sanitize_label_value(in, o);
    cr_assert_eq(strlen(o), 62);
    names_custom_bot_id("", "abcdefghijk", o);
    cr_assert_str_eq(o, "abcdefgh");
    names_custom_bot_id("", "abc", o);
    cr_assert_str_eq(o, "abc");
    /* the id's prefix is sanitised like a name: a label value must end in a letter or digit */
    names_custom_bot_id("", "abcdefg-xyz", o);
    cr_assert_str_eq(o, "abcdefg", "custom-bot-id of abcdefg-xyz: expected abcdefg, got %s", o);
    names_custom_bot_id(NULL, "_a.b", o);
    cr_assert_str_eq(o, "a.b", "expected a.b, got %s", o);
}

Test(names, sanitize_subdomain)
{
    char o[64];
    names_sanitize_subdomain("bot-b1", 50, o, sizeof o);
    cr_assert_str_eq(o, "bot-b1", "a valid name is unchanged: got %s", o);
    names_sanitize_subdomain("bot-Bad_ID!", 50, o, sizeof o);
    cr_assert_str_eq(o, "bot-bad-id", "expected bot-bad-id, got %s", o);
    names_sanitize_subdomain("bot-abcdefghij", 8, o, sizeof o);
    cr_assert_str_eq(o, "bot-abcd", "cut to 8: got %s", o);
    names_sanitize_subdomain("bot-a------", 7, o, sizeof o);
    cr_assert_str_eq(o, "bot-a", "trailing dashes stripped: got %s", o);
    names_sanitize_subdomain("__", 50, o, sizeof o);
    cr_assert_str_eq(o, "x", "nothing left: got %s", o);
    t0_err e = {0};
    const char *odd[] = {"bot-\xc3\xa9t\xc3\xa9.Weird", "a..b", "a-.b", "x._y", ".a.", "a.-"};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        names_sanitize_subdomain(odd[i], 50, o, sizeof o);
        cr_assert(names_check_subdomain(o, 253, &e), "from \"%s\": \"%s\" is not a subdomain: %s", odd[i], o, e.msg);
    }
}

Test(names, minio_path)
{
    t0_err e = {0};
    cr_assert_eq(names_validate_minio_path("", &e), T0_OK);
    cr_assert_eq(names_validate_minio_path("u1/price-alerts/1.0.0_x", &e), T0_OK);
    const char *bad = " ;|`$&'(";
    for (const char *p = bad; *p; p++) {
        char s[4] = {'a', *p, 'b', 0};
        char want[64];
        snprintf(want, sizeof want, "invalid character '%c' in MinIO path", *p);
        cr_assert_eq(names_validate_minio_path(s, &e), T0_EINVAL, "%s", s);
        cr_assert_str_eq(e.msg, want);
    }
    cr_assert_eq(names_validate_minio_path("caf\xc3\xa9", &e), T0_EINVAL);
    cr_assert_str_eq(e.msg, "invalid character '\xc3\xa9' in MinIO path");
    cr_assert_eq(names_validate_minio_path("a\xff", &e), T0_EINVAL);
    cr_assert_str_eq(e.msg, "invalid character '\xef\xbf\xbd' in MinIO path");
}

/* Issue 14: `u1/../u2/...` or `../bot-logs/x` passed, and curl then normalised the path it signed. */
Test(names, minio_path_stays_in_its_prefix)
{
    t0_err e = {0};
    static const struct {
        const char *path, *msg;
    } bad[] = {
        {"../bot-logs/x", "'..' segment in MinIO path \"../bot-logs/x\""},
        {"u1/../u2/bot/1.0.0", "'..' segment in MinIO path \"u1/../u2/bot/1.0.0\""},
        {"u1/./bot", "'.' segment in MinIO path \"u1/./bot\""},
        {"..", "'..' segment in MinIO path \"..\""},
        {"/u1/bot", "leading '/' in MinIO path \"/u1/bot\""},
        {"u1\\..\\u2", "invalid character '\\' in MinIO path"},
        {"u1/%2e%2e/u2", "invalid character '%' in MinIO path"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_assert_eq(names_validate_minio_path(bad[i].path, &e), T0_EINVAL, "\"%s\" was accepted", bad[i].path);
        cr_assert_str_eq(e.msg, bad[i].msg);
    }
    /* dots inside a segment are fine; so is an empty segment (it stays in its prefix) */
    cr_assert_eq(names_validate_minio_path("user-1//1.0.0", &e), T0_OK, "%s", e.msg);
    cr_assert_eq(names_validate_minio_path("u1/bot..v2/1.0.0", &e), T0_OK, "%s", e.msg);
    cr_assert_eq(names_validate_minio_path(".hidden/x", &e), T0_OK, "%s", e.msg);
}

static void conv(const char *in, const char *want)
{
    char b[128];
    cr_assert_eq(names_convert_cron(in, b, sizeof b, NULL), T0_OK);
    cr_assert_str_eq(b, want);
}

Test(names, cron_conversion_6_5)
{
    conv("0 9 * * *", "0 9 * * *");
    conv("0 0 9 * * *", "0 9 * * *");
    conv("30 0 9 1 * 0", "0 9 1 * 0");
    conv("0-30 */2 * * 1-5", "0-30 */2 * * 1-5");
    conv("@daily", "@daily");
    conv("0  9 * *  *", "0  9 * *  *");  /* 5 fields: unchanged, spaces and all */
    conv(" 0 0  9 * * * ", "0 9 * * *"); /* 6 fields: joined with single spaces */
    char b[4];
    cr_assert_eq(names_convert_cron("0 9 * * *", b, sizeof b, NULL), T0_ELIMIT);
}

Test(names, runtime_tables)
{
    cr_assert_str_eq(names_runtime_image("python3.11"), "the0/python311:latest");
    cr_assert_str_eq(names_runtime_image("nodejs20"), "the0/nodejs20:latest");
    cr_assert_str_eq(names_runtime_image("rust-stable"), "the0/rust-stable:latest");
    cr_assert_str_eq(names_runtime_image("dotnet8"), "the0/dotnet8:latest");
    cr_assert_str_eq(names_runtime_image("gcc13"), "the0/gcc13:latest");
    cr_assert_str_eq(names_runtime_image("cpp-gcc13"), "the0/gcc13:latest");
    cr_assert_str_eq(names_runtime_image("scala3"), "the0/scala3:latest");
    cr_assert_str_eq(names_runtime_image("ghc96"), "the0/ghc96:latest");
    cr_assert_null(names_runtime_image(""));
    cr_assert_null(names_runtime_image("Python3.11"));
    cr_assert_str_eq(names_default_entrypoint("python3.11"), "main.py");
    cr_assert_str_eq(names_default_entrypoint("nodejs20"), "index.js");
    cr_assert_str_eq(names_default_entrypoint("scala3"), "main");
    cr_assert_str_eq(names_shell_for_image("the0/python311:latest"), "/bin/bash");
    cr_assert_str_eq(names_shell_for_image("foo/alpine:3"), "/bin/sh");
}

Test(names, label_and_subdomain_checks)
{
    cr_assert(names_check_label_value("", NULL));
    cr_assert(names_check_label_value("1.0.0", NULL));
    cr_assert(names_check_label_value("A_b-c.D", NULL));
    cr_assert_not(names_check_label_value("-a", NULL));
    cr_assert_not(names_check_label_value("a.", NULL));
    cr_assert_not(names_check_label_value("a b", NULL));
    cr_assert(names_check_subdomain("bot-ck9x2abc", 253, NULL));
    cr_assert(names_check_subdomain("a.b-c.d", 253, NULL));
    cr_assert_not(names_check_subdomain("a..b", 253, NULL));
    cr_assert_not(names_check_subdomain("a.-b", 253, NULL));
    cr_assert_not(names_check_subdomain("", 253, NULL));
    cr_assert_not(names_check_subdomain("abcdef", 5, NULL));
    cr_assert_not(names_check_subdomain("Abc", 253, NULL));
}

Test(names, quantities)
{
    double v;
    cr_assert(names_quantity_parse("512Mi", &v));
    cr_assert_eq(v, 512.0 * 1048576);
    cr_assert(names_quantity_parse("500m", &v));
    cr_assert_float_eq(v, 0.5, 1e-12);
    cr_assert(names_quantity_parse("1.5", &v));
    cr_assert(names_quantity_parse(".5", &v));
    cr_assert(names_quantity_parse("1e3", &v));
    cr_assert_float_eq(v, 1000, 1e-9);
    cr_assert(names_quantity_parse("1E", &v)); /* exa */
    cr_assert_float_eq(v, 1e18, 1);
    cr_assert(names_quantity_parse("-1", &v));
    cr_assert_eq(v, -1);
    cr_assert(names_quantity_parse("+2k", &v));
    cr_assert_eq(v, 2000);
    cr_assert_not(names_quantity_parse("", NULL));
    cr_assert_not(names_quantity_parse("abc", NULL));
    cr_assert_not(names_quantity_parse("1 m", NULL));
    cr_assert_not(names_quantity_parse("1MB", NULL));
    cr_assert_not(names_quantity_parse("1e", NULL));
    cr_assert_not(names_quantity_parse("Mi", NULL));
}
