/* test_parse.c: the scenario language parser: durations, time prefixes, statements, and errors that
 * name the file, line and column. */
#include <criterion/criterion.h>
#include <string.h>

#include "scenarios/scn.h"

static void parse_err(const char *text, const char *want)
{
    scn_script *sc = NULL;
    t0_err err = {0};
    t0_status st = scn_parse("t.scn", text, &sc, &err);
    cr_expect_eq(st, T0_EINVAL, "parse of '%s' should fail, got %s", text, t0_status_name(st));
    cr_expect(strstr(err.msg, want) != NULL, "error for '%s': got '%s', want it to contain '%s'", text, err.msg, want);
    scn_script_free(sc);
}

Test(scn_parse, durations)
{
    int64_t ms = -1;
    cr_expect(scn_parse_duration("1m30s", &ms) && ms == 90000, "1m30s -> %lld", (long long)ms);
    cr_expect(scn_parse_duration("250ms", &ms) && ms == 250, "250ms -> %lld", (long long)ms);
    cr_expect(scn_parse_duration("2h", &ms) && ms == 7200000, "2h -> %lld", (long long)ms);
    cr_expect(scn_parse_duration("0s", &ms) && ms == 0);
    cr_expect(!scn_parse_duration("10", &ms), "a unit is required");
    cr_expect(!scn_parse_duration("1x", &ms));
    cr_expect(!scn_parse_duration("", &ms));
    char buf[32];
    cr_expect_str_eq(scn_format_offset(3723004, buf, sizeof buf), "+01:02:03.004");
}

Test(scn_parse, statements_times_and_words)
{
    const char *text = "# comment line\n"
                       "bot b1 runtime=python3.11 config={\"symbol\":\"BTC\", \"n\":[1,2]}  # trailing comment\n"
                       "at 1m30s\n"
                       "publish bot.updated b1 config.threshold=5\n"
                       "after 10s within 60s expect pod bot-b1 phase=Running\n"
                       "at 2m fault kube/pod/create error=500 p=0.3\n"
                       "always no pod bot-x\n"
                       "publish raw the0.bot.created '{\"id\": 1}'\n"
                       "schedule s1 cron=\"*/5 * * * *\"\n";
    scn_script *sc = NULL;
    t0_err err = {0};
    cr_assert_eq(scn_parse("t.scn", text, &sc, &err), T0_OK, "%s", err.msg);
    cr_assert_eq(sc->n, 7u, "statements: %zu", sc->n);
    cr_expect_str_eq(sc->st[0].w[2].s, "runtime=python3.11");
    cr_expect_str_eq(sc->st[0].w[3].s, "config={\"symbol\":\"BTC\", \"n\":[1,2]}", "JSON kept whole: %s", sc->st[0].w[3].s);
    cr_expect_str_eq(sc->st[0].text, "bot b1 runtime=python3.11 config={\"symbol\":\"BTC\", \"n\":[1,2]}", "text: %s",
                     sc->st[0].text);
    cr_expect_eq(sc->st[1].at_ms, 90000, "at 1m30s: %lld", (long long)sc->st[1].at_ms);
    cr_expect_eq(sc->st[2].type, SCN_EXPECT);
    cr_expect_eq(sc->st[2].at_ms, 100000, "after 10s: %lld", (long long)sc->st[2].at_ms);
    cr_expect_eq(sc->st[2].within_ms, 60000);
    cr_expect_str_eq(sc->st[2].w[0].s, "pod");
    cr_expect_eq(sc->st[3].at_ms, 120000);
    cr_expect_str_eq(sc->st[3].w[0].s, "fault");
    cr_expect_eq(sc->st[4].type, SCN_ALWAYS);
    cr_expect_str_eq(sc->st[5].w[3].s, "{\"id\": 1}", "quoted payload: %s", sc->st[5].w[3].s);
    cr_expect(sc->st[5].w[3].quoted);
    cr_expect_str_eq(sc->st[6].w[2].s, "cron=*/5 * * * *", "quotes removed: %s", sc->st[6].w[2].s);
    cr_expect_eq(sc->st[6].w[2].col, 13, "column of cron=: %d", sc->st[6].w[2].col);
    scn_script_free(sc);
}

Test(scn_parse, errors_name_line_and_column)
{
    parse_err("bot b1\nfrobnicate x\n", "t.scn:2:1: unknown statement 'frobnicate'");
    parse_err("at 10s\nat 5s\n", "t.scn:2:4: time goes backwards");
    parse_err("at ten\n", "t.scn:1:4: 'at' needs a duration");
    parse_err("bot b1 colour=red\n", "t.scn:1:8: 'bot' does not take colour=");
    parse_err("bot b1 config={\"a\":\n", "t.scn:1:15: unbalanced JSON value");
    parse_err("fault nats/deliver explode\n", "t.scn:1:20: unknown fault kind 'explode'");
    parse_err("fault kube/pod/create error=999\n", "t.scn:1:23: error= needs an HTTP status");
    parse_err("fault mongo/find outage p=2\n", "t.scn:1:25: p= needs a probability");
    parse_err("within 5s expect job-runs s1 => 2\n", "t.scn:1:30: expected a comparison");
    parse_err("expect pod\n", "'pod' needs 1 argument");
    parse_err("publish bot.exploded b1\n", "t.scn:1:9: publish what?");
    parse_err("outage redis on\n", "t.scn:1:8: outage of what?");
    parse_err("model b1 sidecar crash-every=1s\n", "t.scn:1:10: unknown container 'sidecar'");
    parse_err("model b1 bot write-state at=5s\n", "write-state needs KEY=VALUE next");
    parse_err("bot b1 name=\"unterminated\n", "unterminated \" quote");
    parse_err("expect manager m1 sleepy\n", "t.scn:1:19: manager condition");
    parse_err("within 5s pod x\n", "expected 'within DURATION expect CONDITION'");
}

Test(scn_parse, corpus_files_parse)
{
    const char *files[] = {"scenarios/fakes_only.scn", "scenarios/tests/wrong_expectation.scn"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        scn_script *sc = NULL;
        t0_err err = {0};
        t0_status st = scn_parse_file(files[i], &sc, &err);
        cr_expect_eq(st, T0_OK, "%s: %s", files[i], err.msg);
        cr_expect(sc && sc->n > 3, "%s has statements", files[i]);
        scn_script_free(sc);
    }
}
