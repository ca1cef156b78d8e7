/* test_log.c: structured log lines (logfmt and JSON on stderr, the sink's text), URL redaction, durations,
 * and t0_fail wrapping its own message. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "core/log.h"
#include "core/t0.h"

static char got[4096];
static t0_log_level got_lvl;
static void sink(void *ud, t0_log_level lvl, const char *component, const char *msg)
{
    (void)ud;
    got_lvl = lvl;
    snprintf(got, sizeof got, "%s|%s", component, msg);
}

Test(log, sink_gets_message_then_fields_in_logfmt)
{
    t0_log_set_sink(sink, NULL);
    t0_log_set_level(T0_LOG_DEBUG);
    T0_INFOK("bot-controller", "created Pod", "bot", "b1", "pod", "bot-b1");
    cr_expect_str_eq(got, "bot-controller|created Pod bot=b1 pod=bot-b1", "got [%s]", got);
    cr_expect_eq(got_lvl, T0_LOG_INFO);
    T0_WARNK("c", "create failed", "bot", "b 2", "error", "HTTP \"500\"\nnext", "skipped", NULL, "empty", "");
    cr_expect_str_eq(got, "c|create failed bot=\"b 2\" error=\"HTTP \\\"500\\\"\\nnext\" empty=\"\"", "got [%s]", got);
    T0_INFOK("c", "no fields");
    cr_expect_str_eq(got, "c|no fields", "got [%s]", got);
    t0_log_set_sink(NULL, NULL);
    t0_log_set_level(T0_LOG_INFO);
}

/* capture: run the logging in FN with stderr redirected to a file; the file's text into OUT */
static void capture(void (*fn)(void), char *out, size_t cap)
{
    char path[] = "/tmp/t0-log-test-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    fn();
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, out, cap - 1);
    out[n > 0 ? n : 0] = 0;
    close(fd);
    unlink(path);
}

static void log_two(void)
{
    T0_INFOK("bot-controller", "created Pod", "bot", "b1", "pod", "bot-b1", "namespace", "the0");
    T0_ERRORK("controller", "failed to connect to MongoDB", "error", "ping: \"refused\"\tx\x01");
}

Test(log, logfmt_lines_on_stderr)
{
    char text[4096];
    t0_log_set_format(T0_LOG_LOGFMT);
    capture(log_two, text, sizeof text);
    char *second = strchr(text, '\n');
    cr_assert_not_null(second, "two lines, got [%s]", text);
    *second++ = 0;
    cr_expect(strncmp(text, "ts=", 3) == 0, "starts with ts=: [%s]", text);
    const char *want1 = " level=info component=bot-controller msg=\"created Pod\" bot=b1 pod=bot-b1 namespace=the0";
    cr_expect_not_null(strstr(text, want1), "expected [...%s], got [%s]", want1, text);
    const char *want2 = " level=error component=controller msg=\"failed to connect to MongoDB\" error=\"ping: "
                        "\\\"refused\\\"\\tx\\x01\"\n";
    cr_expect_not_null(strstr(second, want2), "expected [...%s], got [%s]", want2, second);
}

Test(log, json_lines_are_one_object_each)
{
    char text[4096];
    t0_log_set_format(T0_LOG_JSON);
    capture(log_two, text, sizeof text);
    t0_log_set_format(T0_LOG_LOGFMT);
    int lines = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        cJSON *o = cJSON_Parse(l);
        cr_assert_not_null(o, "line %d is not JSON: [%s]", lines + 1, l);
        cr_expect(cJSON_IsString(cJSON_GetObjectItem(o, "ts")), "ts in [%s]", l);
        if (lines == 0) {
            cr_expect_str_eq(cJSON_GetObjectItem(o, "level")->valuestring, "info");
            cr_expect_str_eq(cJSON_GetObjectItem(o, "msg")->valuestring, "created Pod");
            cr_expect_str_eq(cJSON_GetObjectItem(o, "bot")->valuestring, "b1");
            cr_expect_str_eq(cJSON_GetObjectItem(o, "pod")->valuestring, "bot-b1");
        } else {
            cr_expect_str_eq(cJSON_GetObjectItem(o, "error")->valuestring, "ping: \"refused\"\tx\x01", "got [%s]",
                             cJSON_GetObjectItem(o, "error")->valuestring);
        }
        cJSON_Delete(o);
        lines++;
    }
    cr_expect_eq(lines, 2, "expected 2 JSON lines, got %d", lines);
}

Test(log, formats_parse)
{
    cr_expect_eq(t0_log_format_parse("json"), T0_LOG_JSON);
    cr_expect_eq(t0_log_format_parse("logfmt"), T0_LOG_LOGFMT);
    cr_expect_eq(t0_log_format_parse("text"), -1);
    cr_expect_eq(t0_log_format_parse(NULL), -1);
}

Test(log, redact_url_hides_passwords_and_tokens)
{
    struct {
        const char *in, *want;
    } c[] = {
        {"nats://alice:s3cret@127.0.0.1:4222", "nats://alice:xxxxx@127.0.0.1:4222"},
        {"nats://tok3n@h:4222", "nats://xxxxx@h:4222"},
        {"nats://a:p1@h1:4222,nats://b:p2@h2:4222", "nats://a:xxxxx@h1:4222,nats://b:xxxxx@h2:4222"},
        {"mongodb://root:pa:ss@m1:27017,m2:27017/db?authSource=admin", "mongodb://root:xxxxx@m1:27017,m2:27017/db?authSource=admin"},
        {"mongodb://localhost:27017/?serverSelectionTimeoutMS=500", "mongodb://localhost:27017/?serverSelectionTimeoutMS=500"},
        {"http://h/path@x", "http://h/path@x"},
        {"no url at all", "no url at all"},
        {"", ""},
        {"a://://b", "a://://b"},
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        char buf[256];
        t0_redact_url(c[i].in, buf, sizeof buf);
        cr_expect_str_eq(buf, c[i].want, "redact(%s): expected %s, got %s", c[i].in, c[i].want, buf);
    }
    char small[12];
    t0_redact_url("nats://alice:s3cret@h", small, sizeof small);
    cr_expect_str_eq(small, "nats://alic", "truncated, got %s", small);
}

Test(log, durations_like_go)
{
    struct {
        long long ms;
        const char *want;
    } c[] = {{0, "0ms"}, {250, "250ms"}, {1000, "1s"}, {1500, "1.5s"}, {30000, "30s"}, {61250, "1m1.25s"},
             {3600000, "1h0m0s"}};
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        char b[32];
        cr_expect_str_eq(t0_log_duration(b, c[i].ms), c[i].want, "%lld ms: expected %s, got %s", c[i].ms, c[i].want, b);
    }
}

Test(t0, fail_may_wrap_its_own_message)
{
    t0_err e = {0};
    t0_fail(&e, T0_EUNAVAILABLE, "connection refused calling hello on '127.0.0.1:1'");
    t0_fail(&e, T0_EUNAVAILABLE, "mongo ping: %s", e.msg);
    cr_expect_str_eq(e.msg, "mongo ping: connection refused calling hello on '127.0.0.1:1'", "got [%s]", e.msg);
    t0_fail(&e, T0_ETIMEOUT, "%s", e.msg);
    cr_expect_str_eq(e.msg, "mongo ping: connection refused calling hello on '127.0.0.1:1'", "got [%s]", e.msg);
    cr_expect_eq(e.code, T0_ETIMEOUT);
}
