/* test_parse.c: the scenario language parser: durations, time prefixes, statements, and errors that
 * name the file, line and column. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "fakes/payloads.h"
#include "fsm/tables.h"
#include "scenarios/scn.h"

static void parse_err(const char *text, const char *want)
{
    scn_script *sc = NULL;
    t0_err err = {0};
    t0_status st = scn_parse("t.scn", text, &sc, NULL, &err);
    cr_expect_eq(st, T0_EINVAL, "parse of '%s' should fail, got %s", text, t0_status_name(st));
    cr_expect(strstr(err.msg, want) != NULL, "error for '%s': got '%s', want it to contain '%s'", text, err.msg, want);
    cr_expect_null(sc, "no script on errors");
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

Test(scn_parse, statements_times_and_typed_arguments)
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
    cr_assert_eq(scn_parse("t.scn", text, &sc, NULL, &err), T0_OK, "%s", err.msg);
    cr_assert_eq(sc->n, 7u, "statements: %zu", sc->n);
    const scn_stmt *s = &sc->st[0];
    cr_expect_eq(s->verb, SCN_BOT);
    cr_expect_str_eq(s->a.def.id, "b1");
    cr_assert_eq(s->a.def.nmods, 2u, "mods: %zu", s->a.def.nmods);
    cr_expect_eq(s->a.def.mods[0].key, SCN_MOD_RUNTIME);
    cr_expect_str_eq(s->a.def.mods[0].str, "python3.11");
    cr_expect_eq(s->a.def.mods[1].key, SCN_MOD_CONFIG);
    char *cfg = cJSON_PrintUnformatted(s->a.def.mods[1].json);
    cr_expect_str_eq(cfg, "{\"symbol\":\"BTC\",\"n\":[1,2]}", "JSON kept whole and parsed once: %s", cfg);
    free(cfg);
    cr_expect_str_eq(s->text, "bot b1 runtime=python3.11 config={\"symbol\":\"BTC\", \"n\":[1,2]}", "text: %s", s->text);
    s = &sc->st[1];
    cr_expect_eq(s->at_ms, 90000, "at 1m30s: %lld", (long long)s->at_ms);
    cr_expect_eq(s->verb, SCN_PUBLISH);
    cr_expect_eq(s->a.def.op, PAYLOAD_UPDATED);
    cr_expect(!s->a.def.schedule && !s->a.def.wrapped);
    cr_assert_eq(s->a.def.nmods, 1u);
    cr_expect_eq(s->a.def.mods[0].key, SCN_MOD_CONFIG_KEY);
    cr_expect_str_eq(s->a.def.mods[0].config_key, "threshold");
    cr_expect(cJSON_IsNumber(s->a.def.mods[0].json) && s->a.def.mods[0].json->valueint == 5, "config.threshold=5 is the number 5");
    s = &sc->st[2];
    cr_expect_eq(s->type, SCN_EXPECT);
    cr_expect_eq(s->at_ms, 100000, "after 10s: %lld", (long long)s->at_ms);
    cr_expect_eq(s->within_ms, 60000);
    cr_expect_eq(s->verb, SCN_IF_POD);
    cr_expect_str_eq(s->a.pod.name, "bot-b1");
    cr_expect_str_eq(s->a.pod.phase, "Running");
    cr_expect_eq(s->a.pod.ready, -1, "ready not asked");
    cr_expect(!s->a.pod.restarts_set);
    s = &sc->st[3];
    cr_expect_eq(s->at_ms, 120000);
    cr_expect_eq(s->verb, SCN_FAULT);
    cr_expect_str_eq(s->a.fault.point, "kube/pod/create");
    cr_expect_eq(s->a.fault.spec.kind, SIM_FAULT_ERROR);
    cr_expect_eq(s->a.fault.spec.status, T0_EINTERNAL);
    cr_expect_eq(s->a.fault.spec.http_status, 500);
    cr_expect(s->a.fault.spec.probability > 0.29 && s->a.fault.spec.probability < 0.31, "p=%g", s->a.fault.spec.probability);
    cr_expect_eq(sc->st[4].type, SCN_ALWAYS);
    cr_expect_eq(sc->st[4].verb, SCN_IF_NO_POD);
    cr_expect_str_eq(sc->st[5].a.raw.data, "{\"id\": 1}", "quoted payload: %s", sc->st[5].a.raw.data);
    cr_expect_str_eq(sc->st[5].a.raw.subject, "the0.bot.created");
    cr_expect_eq(sc->st[6].verb, SCN_SCHEDULE);
    cr_expect_str_eq(sc->st[6].a.def.mods[0].str, "*/5 * * * *", "quotes removed: %s", sc->st[6].a.def.mods[0].str);
    scn_script_free(sc);
}

/* Values the runner used to read from words at run time are typed once by the parser. */
Test(scn_parse, typed_values)
{
    const char *text = "option nodes=3 resync=1m manager=off ns=prod\n"
                       "end 12m\n"
                       "model b1 bot crash-every=30s exit=3 write-state pos=7 at=5s text=\"hi there\"\n"
                       "model b1 init fail=forever ms=2s\n"
                       "fault kube/* 429 count=20 calls=3..5\n"
                       "crash controller m2 at-effect=2 restart-after=5s\n"
                       "delete pod bot-b3 grace=0\n"
                       "expect job-runs schedule-s1 >= 2\n"
                       "expect count cronjobs == 1\n"
                       "expect bot b1 state=running\n"
                       "expect manager m2 not-leader\n"
                       "expect state b1 last=1\n"
                       "always no-orphans\n"
                       "outage nats on\n";
    scn_script *sc = NULL;
    t0_err err = {0};
    cr_assert_eq(scn_parse("t.scn", text, &sc, NULL, &err), T0_OK, "%s", err.msg);
    cr_assert_eq(sc->n, 14u, "statements: %zu", sc->n);
    const scn_stmt *s = sc->st;
    cr_assert_eq(s[0].a.option.n, 4u);
    cr_expect(s[0].a.option.v[0].key == SCN_OPT_NODES && s[0].a.option.v[0].u == 3);
    cr_expect(s[0].a.option.v[1].key == SCN_OPT_RESYNC && s[0].a.option.v[1].ms == 60000);
    cr_expect(s[0].a.option.v[2].key == SCN_OPT_MANAGER && !s[0].a.option.v[2].b);
    cr_expect(s[0].a.option.v[3].key == SCN_OPT_NS && !strcmp(s[0].a.option.v[3].s, "prod"));
    cr_expect_eq(s[1].a.end_ms, 720000);
    cr_expect_eq(s[2].a.model.container, SCN_CONTAINER_BOT);
    cr_assert_eq(s[2].a.model.nops, 4u, "ops: %zu", s[2].a.model.nops);
    cr_expect(s[2].a.model.ops[0].kind == SCN_M_CRASH_EVERY && s[2].a.model.ops[0].ms == 30000);
    cr_expect(s[2].a.model.ops[1].kind == SCN_M_EXIT && s[2].a.model.ops[1].n == 3);
    cr_expect(s[2].a.model.ops[2].kind == SCN_M_WRITE_STATE && !strcmp(s[2].a.model.ops[2].key, "pos") &&
              !strcmp(s[2].a.model.ops[2].val, "7") && s[2].a.model.ops[2].ms == 5000, "write-state pos=7 at=5s");
    cr_expect(s[2].a.model.ops[3].kind == SCN_M_TEXT && !strcmp(s[2].a.model.ops[3].val, "hi there"));
    cr_assert_eq(s[3].a.model.nops, 2u);
    cr_expect(s[3].a.model.ops[0].kind == SCN_M_INIT_FAIL && s[3].a.model.ops[0].n == -1);
    cr_expect(s[3].a.model.ops[1].kind == SCN_M_INIT_MS && s[3].a.model.ops[1].ms == 2000);
    const sim_fault_spec *f = &s[4].a.fault.spec;
    cr_expect(f->kind == SIM_FAULT_TOOMANY && f->status == T0_ETOOMANY && f->http_status == 429 && f->ms == 1000 &&
              f->count == 20 && f->first_call == 3 && f->last_call == 5, "429 spec");
    cr_expect(!strcmp(s[5].a.mgr.name, "m2") && s[5].a.mgr.at_effect_set && s[5].a.mgr.at_effect == 2 &&
              s[5].a.mgr.restart_after_ms == 5000, "crash controller");
    cr_expect(!strcmp(s[6].a.obj.name, "bot-b3") && s[6].a.obj.grace_s == 0, "grace=0: %lld", (long long)s[6].a.obj.grace_s);
    cr_expect(s[7].verb == SCN_IF_JOB_RUNS && s[7].a.num.op == SCN_CMP_GE && s[7].a.num.n == 2);
    cr_expect(s[8].verb == SCN_IF_COUNT && s[8].a.num.kind == KUBE_CRONJOB && s[8].a.num.op == SCN_CMP_EQ);
    cr_expect(s[9].verb == SCN_IF_BOT && s[9].a.fsm.state == fsm_state_index(&fsm_bot_table, "running"));
    cr_expect(s[10].verb == SCN_IF_MANAGER && s[10].a.manager.cond == SCN_MGR_NOT_LEADER);
    cr_expect(!strcmp(s[11].a.state.line, "last=1") && !strcmp(s[11].a.state.object, "b1/state.tar.gz"));
    cr_expect(s[12].verb == SCN_INVARIANT && s[12].type == SCN_ALWAYS);
    cr_expect(s[13].verb == SCN_OUTAGE && s[13].a.outage.server == SCN_SERVER_NATS && s[13].a.outage.on);
    scn_script_free(sc);
}

/* The statements of objects not ours, finalizers, a restore, faults of one manager, and the conditions
 * on object fields, Events, API calls and `never`. */
Test(scn_parse, foreign_objects_fields_and_counts)
{
    const char *text = "create pod bot-b1 labels={\"the0.dev/managed-by\":\"x\"} annotations={\"a\":\"b\"} owner=ReplicaSet/r1\n"
                       "create cronjob schedule-s1 schedule=\"0 3 * * *\" finalizers=[\"f\"]\n"
                       "add finalizer pod bot-b1 example.com/hold\n"
                       "remove finalizers cronjob schedule-s1\n"
                       "mongo-restore on\n"
                       "fault kube/* timeout manager=m2\n"
                       "clear fault kube/* manager=m2\n"
                       "expect pod bot-b1 label.app=web annotation.the0.dev/config-hash=abc env.BOT_ID=b1\n"
                       "expect cronjob schedule-s1 schedule=\"*/5 * * * *\"\n"
                       "expect event bot-b1 reason=NameConflict == 1\n"
                       "expect api-calls m1 create pods <= 3\n"
                       "never count pods > 2\n"
                       "within 10m expect pods-match-intent\n"
                       "create pod for b1\n";
    scn_script *sc = NULL;
    t0_err err = {0};
    cr_assert_eq(scn_parse("t.scn", text, &sc, NULL, &err), T0_OK, "%s", err.msg);
    cr_assert_eq(sc->n, 14u, "statements: %zu", sc->n);
    const scn_stmt *s = sc->st;
    cr_expect(s[0].verb == SCN_CREATE_POD && !strcmp(s[0].a.foreign.name, "bot-b1") &&
              !strcmp(s[0].a.foreign.owner_kind, "ReplicaSet") && !strcmp(s[0].a.foreign.owner_name, "r1") &&
              cJSON_IsObject(s[0].a.foreign.labels) && cJSON_IsObject(s[0].a.foreign.annotations));
    cr_expect(s[1].verb == SCN_CREATE_CRONJOB && !strcmp(s[1].a.foreign.schedule, "0 3 * * *") &&
              cJSON_IsArray(s[1].a.foreign.finalizers));
    cr_expect(s[2].verb == SCN_ADD_FINALIZER && !s[2].a.fin.cronjob && !strcmp(s[2].a.fin.value, "example.com/hold"));
    cr_expect(s[3].verb == SCN_REMOVE_FINALIZERS && s[3].a.fin.cronjob && !s[3].a.fin.value);
    cr_expect(s[4].verb == SCN_MONGO_RESTORE && s[4].a.down);
    cr_expect(s[5].verb == SCN_FAULT && !strcmp(s[5].a.fault.point, "m2:kube/*") && !strcmp(s[5].a.fault.manager, "m2") &&
              s[5].a.fault.spec.kind == SIM_FAULT_TIMEOUT, "scoped fault: %s", s[5].a.fault.point);
    cr_expect(s[6].verb == SCN_CLEAR_FAULT && !strcmp(s[6].a.fault.point, "m2:kube/*"));
    cr_assert_eq(s[7].a.pod.nfields, 3u);
    cr_expect(s[7].a.pod.fields[0].kind == SCN_FIELD_LABEL && !strcmp(s[7].a.pod.fields[0].key, "app") &&
              !strcmp(s[7].a.pod.fields[0].val, "web"));
    cr_expect(s[7].a.pod.fields[1].kind == SCN_FIELD_ANNOTATION && !strcmp(s[7].a.pod.fields[1].key, "the0.dev/config-hash"));
    cr_expect(s[7].a.pod.fields[2].kind == SCN_FIELD_ENV && !strcmp(s[7].a.pod.fields[2].key, "BOT_ID"));
    cr_expect(!strcmp(s[8].a.pod.schedule, "*/5 * * * *"));
    cr_expect(s[9].verb == SCN_IF_EVENT && !strcmp(s[9].a.event.reason, "NameConflict") && s[9].a.event.op == SCN_CMP_EQ &&
              s[9].a.event.n == 1);
    cr_expect(s[10].verb == SCN_IF_API_CALLS && !strcmp(s[10].a.api.manager, "m1") && s[10].a.api.verb == SCN_API_CREATE &&
              s[10].a.api.kind == KUBE_POD && s[10].a.api.op == SCN_CMP_LE && s[10].a.api.n == 3);
    cr_expect(s[11].type == SCN_NEVER && s[11].verb == SCN_IF_COUNT);
    cr_expect(s[12].verb == SCN_IF_INTENT && s[12].within_ms == 600000);
    cr_expect(s[13].verb == SCN_CREATE_POD_FOR, "'create pod for' is its own verb");
    scn_script_free(sc);
}

/* Faults a real server does not produce are refused: a 404 comes from an object that is really gone, a 409
 * on create from one that really exists, a 422 from the object alone; a wildcard may not ask for them
 * either. Conflicts on updates, quota refusals on creates and server errors are real. */
/* The log conditions: traffic and lag per bot (NAME OP N), and every running pod's lines shipped within D. */
Test(scn_parse, log_conditions)
{
    const char *text = "expect log-traffic b1 <= 51500000\nexpect log-lag b1 < 61000\nexpect logs-shipped-within 1m5s\n";
    scn_script *sc = NULL;
    t0_err err = {0};
    cr_assert_eq(scn_parse("t.scn", text, &sc, NULL, &err), T0_OK, "%s", err.msg);
    cr_assert_eq(sc->n, 3u, "statements: %zu", sc->n);
    const scn_stmt *s = sc->st;
    cr_expect(s[0].verb == SCN_IF_LOG_TRAFFIC && !strcmp(s[0].a.num.name, "b1") && s[0].a.num.op == SCN_CMP_LE &&
              s[0].a.num.n == 51500000u);
    cr_expect(s[1].verb == SCN_IF_LOG_LAG && s[1].a.num.op == SCN_CMP_LT && s[1].a.num.n == 61000u);
    cr_expect(s[2].verb == SCN_IF_LOGS_SHIPPED && s[2].a.within_ms == 65000, "within %lld", (long long)s[2].a.within_ms);
    scn_script_free(sc);
    parse_err("expect logs-shipped-within soon\n", "logs-shipped-within: expected a duration");
    parse_err("clock m2 ahead\n", "clock m2: expected an offset");
    scn_script *c = NULL;
    cr_assert_eq(scn_parse("t.scn", "clock m2 -1m30s\nclock m1 +20s\n", &c, NULL, &err), T0_OK, "%s", err.msg);
    cr_expect(c->st[0].verb == SCN_CLOCK && !strcmp(c->st[0].a.mgr.name, "m2") && c->st[0].a.mgr.clock_ms == -90000);
    cr_expect(c->st[1].a.mgr.clock_ms == 20000);
    scn_script_free(c);
    parse_err("expect log-lag b1 <= a-minute\n", "expected a number");
}

Test(scn_parse, unrealistic_faults_are_refused)
{
    parse_err("fault kube/pod/get error=404\n", "a 404 is for an object that is really gone");
    parse_err("fault kube/pod/create error=409\n", "kube/pod/create does not answer that");
    parse_err("fault kube/* error=409\n", "does not answer that");
    parse_err("fault kube/pod/update error=422\n", "a 422 depends on the object alone");
    parse_err("fault kube/pod/list error=409 count=5\n", "kube/pod/list does not answer that");
    parse_err("fault mongo/find 429\n", "no point it names takes 429");
    parse_err("fault kube/pod/get error=404 manager=m2\n", "a 404 is for an object");
    parse_err("never no-orphans\n", "unknown condition");
    parse_err("expect event bot-b1\n", "which reason");
    parse_err("expect api-calls m1 make pods <= 3\n", "api-calls: verb");
    const char *ok = "fault kube/pod/update error=409\nfault kube/pod/create error=403\nfault kube/* error=503\n"
                     "fault kube/* 429 ms=2s\nfault mongo/upsert timeout-applied count=1\nfault mongo/find outage\n"
                     "fault kube/pod/list stale count=1\nfault kube/watch drop\n";
    scn_script *sc = NULL;
    t0_err err = {0};
    cr_expect_eq(scn_parse("t.scn", ok, &sc, NULL, &err), T0_OK, "%s", err.msg);
    scn_script_free(sc);
}

/* A note's text is what follows `note`, with or without a time prefix on its line (the prefix used to
 * shift it: "at 1m note hello" traced "m note hello"). */
Test(scn_parse, note_text)
{
    const char *text = "note first\nat 1m note hello world # comment\nafter 5s note\nnote  two spaces\n";
    scn_script *sc = NULL;
    t0_err err = {0};
    cr_assert_eq(scn_parse("t.scn", text, &sc, NULL, &err), T0_OK, "%s", err.msg);
    cr_assert_eq(sc->n, 4u);
    const char *want[] = {"first", "hello world", "", " two spaces"};
    for (size_t i = 0; i < 4; i++) {
        cr_expect_eq(sc->st[i].verb, SCN_NOTE);
        cr_expect_str_eq(sc->st[i].a.note, want[i], "note %zu: got '%s', want '%s'", i, sc->st[i].a.note, want[i]);
    }
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
    parse_err("expect bot b1 state=runing\n", "t.scn:1:15: unknown bot state 'runing' (");
}

/* Every error of a file is reported, each with its place, in file order; the good lines around them do
 * not hide them and a bad line does not stop the parse. */
Test(scn_parse, every_error_of_a_file)
{
    const char *text = "bot b1 colour=red\n"              /* 1:8 */
                       "at 10s\n"
                       "frobnicate x\n"                   /* 3:1 */
                       "bot b2 runtime=nodejs20\n"
                       "at 5s\n"                          /* 5:4 backwards */
                       "fault kube/pod/create error=999 p=2\n" /* 6:23 and 6:33 */
                       "bot b3 name=\"unterminated\n"      /* 7:8 */
                       "expect pod\n";                    /* 8:8 */
    scn_script *sc = NULL;
    scn_errors errs = {0};
    t0_err err = {0};
    cr_assert_eq(scn_parse("t.scn", text, &sc, &errs, &err), T0_EINVAL);
    cr_expect_null(sc);
    const char *want[] = {"t.scn:1:8: 'bot' does not take colour=",
                          "t.scn:3:1: unknown statement 'frobnicate'",
                          "t.scn:5:4: time goes backwards",
                          "t.scn:6:23: error= needs an HTTP status",
                          "t.scn:6:33: p= needs a probability",
                          "t.scn:7:8: unterminated \" quote",
                          "t.scn:8:8: 'pod' needs 1 argument"};
    cr_assert_eq(errs.n, T0_ARRAY_LEN(want), "errors: %zu (first: %s)", errs.n, err.msg);
    for (size_t i = 0; i < errs.n; i++)
        cr_expect(strstr(errs.msg[i], want[i]) == errs.msg[i], "error %zu: got '%s', want '%s'", i, errs.msg[i], want[i]);
    cr_expect(strstr(err.msg, "t.scn:1:8: 'bot' does not take colour= (and 6 more errors)") != NULL, "err: %s", err.msg);
    scn_errors_free(&errs);
}

Test(scn_parse, corpus_files_parse)
{
    const char *files[] = {"scenarios/fakes_only.scn", "scenarios/tests/wrong_expectation.scn"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        scn_script *sc = NULL;
        t0_err err = {0};
        t0_status st = scn_parse_file(files[i], &sc, NULL, &err);
        cr_expect_eq(st, T0_OK, "%s: %s", files[i], err.msg);
        cr_expect(sc && sc->n > 3, "%s has statements", files[i]);
        scn_script_free(sc);
    }
}
