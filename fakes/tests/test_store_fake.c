/* test_store_fake.c: the fake MongoDB store: enabled filter, insertion order, $set upsert, faults. */
#include <criterion/criterion.h>

#include "fakes/store_fake.h"
#include "sim/faults.h"
#include "sim/loop.h"

static cJSON *J(const char *s)
{
    cJSON *j = cJSON_Parse(s);
    cr_assert_not_null(j, "bad JSON in test: %s", s);
    return j;
}

static void put(storefake *s, const char *id, const char *json)
{
    cJSON *d = J(json);
    t0_err err = {0};
    cr_assert_eq(storefake_put(s, STORE_BOTS, id, d, &err), T0_OK, "%s", err.msg);
    cJSON_Delete(d);
}

Test(store_fake, enabled_filter_only_boolean_false_disables)
{
    storefake *s;
    cr_assert_eq(storefake_new(NULL, &s, NULL), T0_OK);
    put(s, "a", "{\"config\":{\"enabled\":false}}");
    put(s, "b", "{\"config\":{\"enabled\":\"false\"}}");
    put(s, "c", "{\"config\":{\"enabled\":0}}");
    put(s, "d", "{\"config\":{\"enabled\":null}}");
    put(s, "e", "{}");
    put(s, "f", "{\"config\":{\"enabled\":true}}");
    store_port p = storefake_port(s);
    cJSON *out = NULL;
    cr_assert_eq(p.find_enabled(p.ctx, STORE_BOTS, &out, NULL, NULL), T0_OK);
    char got[64] = "";
    for (cJSON *d = out->child; d; d = d->next) strcat(got, cJSON_GetObjectItem(d, "id")->valuestring);
    cr_expect_str_eq(got, "bcdef", "enabled ids in insertion order: got %s, want bcdef", got);
    cJSON_Delete(out);
    storefake_destroy(s);
}

Test(store_fake, find_enabled_revisions_change_with_every_write)
{
    storefake *s;
    cr_assert_eq(storefake_new(NULL, &s, NULL), T0_OK);
    put(s, "a", "{}");
    put(s, "b", "{}");
    store_port p = storefake_port(s);
    cJSON *out = NULL;
    uint64_t *r1 = NULL, *r2 = NULL, *r3 = NULL;
    cr_assert_eq(p.find_enabled(p.ctx, STORE_BOTS, &out, &r1, NULL), T0_OK);
    cJSON_Delete(out);
    cr_assert_eq(p.find_enabled(p.ctx, STORE_BOTS, &out, &r2, NULL), T0_OK);
    cJSON_Delete(out);
    cr_assert(r1 && r2, "the fake gives revisions");
    cr_expect(r1[0] != r1[1], "two documents, two revisions: %llu %llu", (unsigned long long)r1[0], (unsigned long long)r1[1]);
    cr_expect(r1[0] == r2[0] && r1[1] == r2[1], "no write, same revisions");
    cJSON *f = J("{\"config\":{\"x\":1}}");
    cr_assert_eq(p.upsert(p.ctx, STORE_BOTS, "a", f, NULL), T0_OK);
    cr_assert_eq(p.find_enabled(p.ctx, STORE_BOTS, &out, &r3, NULL), T0_OK);
    cJSON_Delete(out);
    cr_expect(r3[0] != r1[0], "a written document gets a new revision: %llu then %llu", (unsigned long long)r1[0],
              (unsigned long long)r3[0]);
    cr_expect_eq(r3[1], r1[1], "the other keeps its revision: %llu then %llu", (unsigned long long)r1[1],
                 (unsigned long long)r3[1]);
    cJSON_Delete(f);
    free(r1);
    free(r2);
    free(r3);
    storefake_destroy(s);
}

Test(store_fake, upsert_sets_top_level_fields_and_keeps_order)
{
    storefake *s;
    cr_assert_eq(storefake_new(NULL, &s, NULL), T0_OK);
    store_port p = storefake_port(s);
    cJSON *f1 = J("{\"config\":{\"x\":1},\"custom\":{\"version\":\"1\"}}");
    cJSON *f2 = J("{\"config\":{\"y\":2}}");
    cr_assert_eq(p.upsert(p.ctx, STORE_BOTS, "z", f1, NULL), T0_OK);
    put(s, "a", "{}");
    cr_assert_eq(p.upsert(p.ctx, STORE_BOTS, "z", f2, NULL), T0_OK);
    cJSON *doc = NULL;
    cr_assert_eq(p.get(p.ctx, STORE_BOTS, "z", &doc, NULL), T0_OK);
    char *txt = cJSON_PrintUnformatted(doc);
    cr_expect_str_eq(txt, "{\"id\":\"z\",\"config\":{\"y\":2},\"custom\":{\"version\":\"1\"}}", "got %s", txt);
    free(txt);
    cJSON_Delete(doc);
    cJSON *all = NULL;
    cr_assert_eq(p.find_enabled(p.ctx, STORE_BOTS, &all, NULL, NULL), T0_OK);
    cr_expect_str_eq(cJSON_GetObjectItem(all->child, "id")->valuestring, "z", "z stays first after an update");
    cJSON_Delete(all);
    t0_err err = {0};
    cr_expect_eq(p.remove(p.ctx, STORE_BOTS, "nope", &err), T0_ENOTFOUND, "remove of a missing doc: %s", err.msg);
    cr_expect_eq(p.remove(p.ctx, STORE_BOTS, "z", NULL), T0_OK);
    cr_expect_eq(storefake_count(s, STORE_BOTS), 1u, "count after remove: %zu", storefake_count(s, STORE_BOTS));
    cr_expect_eq(p.get(p.ctx, STORE_SCHEDULES, "a", &doc, NULL), T0_ENOTFOUND, "collections are separate");
    cJSON_Delete(f1);
    cJSON_Delete(f2);
    storefake_destroy(s);
}

Test(store_fake, outage_and_fault_points)
{
    sim_loop *l;
    sim_faults *f;
    cr_assert_eq(sim_loop_new(7, 0, &l, NULL), T0_OK);
    cr_assert_eq(sim_faults_new(l, &f, NULL), T0_OK);
    storefake *s;
    cr_assert_eq(storefake_new(f, &s, NULL), T0_OK);
    store_port p = storefake_port(s);
    cJSON *out = NULL;
    t0_err err = {0};
    storefake_set_outage(s, true);
    cr_expect_eq(p.find_enabled(p.ctx, STORE_BOTS, &out, NULL, &err), T0_EUNAVAILABLE, "outage: %s", err.msg);
    cr_expect_null(out);
    storefake_set_outage(s, false);
    sim_fault_spec spec = {.kind = SIM_FAULT_ERROR, .status = T0_EINTERNAL, .count = 1};
    cr_assert_eq(sim_faults_inject(f, "mongo/find", &spec, &err), T0_OK, "%s", err.msg);
    t0_status st = p.find_enabled(p.ctx, STORE_BOTS, &out, NULL, &err);
    cr_expect_eq(st, T0_EINTERNAL, "injected: got %s (%s)", t0_status_name(st), err.msg);
    cr_expect(strstr(err.msg, "mongo/find") != NULL, "message names the point: %s", err.msg);
    st = p.find_enabled(p.ctx, STORE_BOTS, &out, NULL, &err);
    cr_expect_eq(st, T0_OK, "count=1 fails only once: got %s", t0_status_name(st));
    cJSON_Delete(out);
    cr_expect_eq(sim_faults_calls(f, "mongo/find"), 2u, "calls counted (the outage answers before the fault point): %llu", (unsigned long long)sim_faults_calls(f, "mongo/find"));
    storefake_destroy(s);
    sim_faults_destroy(f);
    sim_loop_destroy(l);
}

Test(store_fake, broken_document_is_returned_by_find)
{
    storefake *s;
    cr_assert_eq(storefake_new(NULL, &s, NULL), T0_OK);
    cr_assert_eq(storefake_put_broken(s, STORE_BOTS, "bad", NULL), T0_OK);
    store_port p = storefake_port(s);
    cJSON *out = NULL;
    cr_assert_eq(p.find_enabled(p.ctx, STORE_BOTS, &out, NULL, NULL), T0_OK);
    cr_expect_eq(cJSON_GetArraySize(out), 1, "broken doc still listed: %d", cJSON_GetArraySize(out));
    const cJSON *bot = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(out->child, "custom"), "config"), "entrypoints"), "bot");
    cr_expect(cJSON_IsNumber(bot), "entrypoints.bot is a number");
    cJSON_Delete(out);
    storefake_destroy(s);
}

#define V(seq) "1767571200000000:0000000000000000000" #seq

static const char *version_of(storefake *s, store_coll c, const char *id)
{
    const cJSON *v = cJSON_GetObjectItem(storefake_peek(s, c, id), STORE_VERSION_FIELD);
    return cJSON_IsString(v) ? v->valuestring : "(none)";
}

Test(store_fake, conditional_writes_follow_the_version_order)
{
    storefake *s;
    cr_assert_eq(storefake_new(NULL, &s, NULL), T0_OK);
    store_port p = storefake_port(s);
    cJSON *f5 = J("{\"config\":{\"v\":5},\"the0_version\":\"" V(5) "\"}");
    cJSON *f3 = J("{\"config\":{\"v\":3},\"the0_version\":\"" V(3) "\"}");
    store_write ins = {.op = STORE_W_INSERT, .coll = STORE_BOTS, .id = "b1", .fields = f5};
    cr_assert_eq(p.write(p.ctx, &ins, NULL), T0_OK);
    t0_err e = {0};
    cr_expect_eq(p.write(p.ctx, &ins, &e), T0_EEXIST, "a second insert: %s", e.msg);
    store_write older = {.op = STORE_W_SET, .coll = STORE_BOTS, .id = "b1", .fields = f3, .older_than = V(3)};
    cr_expect_eq(p.write(p.ctx, &older, NULL), T0_ECONFLICT, "event 3 does not overwrite event 5");
    cr_expect_str_eq(version_of(s, STORE_BOTS, "b1"), V(5));
    store_write same = {.op = STORE_W_SET, .coll = STORE_BOTS, .id = "b1", .fields = f5, .older_than = V(5)};
    cr_expect_eq(p.write(p.ctx, &same, NULL), T0_ECONFLICT, "a redelivery of event 5 changes nothing");
    cJSON *f7 = J("{\"config\":{\"v\":7},\"the0_version\":\"" V(7) "\"}");
    store_write newer = {.op = STORE_W_SET, .coll = STORE_BOTS, .id = "b1", .fields = f7, .older_than = V(7)};
    cr_expect_eq(p.write(p.ctx, &newer, NULL), T0_OK);
    cr_expect_str_eq(version_of(s, STORE_BOTS, "b1"), V(7));
    store_write rm_old = {.op = STORE_W_REMOVE, .coll = STORE_BOTS, .id = "b1", .older_than = V(6)};
    cr_expect_eq(p.write(p.ctx, &rm_old, NULL), T0_ECONFLICT, "a delete of event 6 leaves event 7's document");
    store_write rm = {.op = STORE_W_REMOVE, .coll = STORE_BOTS, .id = "b1", .older_than = V(8)};
    cr_expect_eq(p.write(p.ctx, &rm, NULL), T0_OK);
    cr_expect_null(storefake_peek(s, STORE_BOTS, "b1"));
    store_write bad = {.op = STORE_W_SET, .coll = STORE_BOTS, .id = "b1", .fields = f7, .older_than = "7"};
    cr_expect_eq(p.write(p.ctx, &bad, NULL), T0_EINVAL, "a condition that is no version");
    /* tombstones expire by their expires_at */
    cJSON *t1 = J("{\"the0_version\":\"" V(1) "\",\"expires_at\":1000}"), *t2 = J("{\"the0_version\":\"" V(2) "\",\"expires_at\":5000}");
    store_write ti = {.op = STORE_W_INSERT, .coll = STORE_BOTS_DELETED, .id = "x1", .fields = t1};
    cr_assert_eq(p.write(p.ctx, &ti, NULL), T0_OK);
    ti.id = "x2";
    ti.fields = t2;
    cr_assert_eq(p.write(p.ctx, &ti, NULL), T0_OK);
    store_write ex = {.op = STORE_W_EXPIRE, .coll = STORE_BOTS_DELETED, .before_ms = 2000};
    cr_assert_eq(p.write(p.ctx, &ex, NULL), T0_OK);
    cr_expect_null(storefake_peek(s, STORE_BOTS_DELETED, "x1"), "expired");
    cr_expect_not_null(storefake_peek(s, STORE_BOTS_DELETED, "x2"), "not yet");
    cJSON_Delete(f3);
    cJSON_Delete(f5);
    cJSON_Delete(f7);
    cJSON_Delete(t1);
    cJSON_Delete(t2);
    storefake_destroy(s);
}

Test(store_fake, two_documents_with_one_id)
{
    storefake *s;
    cr_assert_eq(storefake_new(NULL, &s, NULL), T0_OK);
    store_port p = storefake_port(s);
    put(s, "d", "{\"config\":{\"n\":1}}");
    cJSON *two = J("{\"config\":{\"n\":2}}");
    cr_assert_eq(storefake_put_duplicate(s, STORE_BOTS, "d", two, NULL), T0_OK);
    cJSON *doc = NULL;
    t0_err e = {0};
    cr_expect_eq(p.get(p.ctx, STORE_BOTS, "d", &doc, &e), T0_EEXIST, "get reports the duplicate: %s", e.msg);
    cr_expect_null(doc);
    cJSON *all = NULL;
    cr_assert_eq(p.find_enabled(p.ctx, STORE_BOTS, &all, NULL, NULL), T0_OK);
    cr_expect_eq(cJSON_GetArraySize(all), 2, "find returns both");
    cJSON_Delete(all);
    cr_expect_eq(storefake_count(s, STORE_BOTS), 2u);
    cr_expect_eq(p.remove(p.ctx, STORE_BOTS, "d", NULL), T0_OK, "a remove takes every copy");
    cr_expect_eq(storefake_count(s, STORE_BOTS), 0u);
    cr_expect_eq(p.get(p.ctx, STORE_BOTS, "d", &doc, NULL), T0_ENOTFOUND);
    cJSON_Delete(two);
    storefake_destroy(s);
}

static docver position(void *ud) { return *(docver *)ud; }

Test(store_fake, direct_writes_carry_the_stream_position)
{
    storefake *s;
    cr_assert_eq(storefake_new(NULL, &s, NULL), T0_OK);
    put(s, "a", "{}");
    cr_expect_str_eq(version_of(s, STORE_BOTS, "a"), "(none)", "without a position source: no version");
    docver pos = {1767571200000000ull, 4, false};
    storefake_set_position(s, position, &pos);
    put(s, "a", "{\"the0_version\":\"whatever\"}");
    cr_expect_str_eq(version_of(s, STORE_BOTS, "a"), V(4) ":direct", "after event 4, before event 5");
    pos.seq = 6;
    cr_assert_eq(storefake_del(s, STORE_BOTS, "a", NULL), T0_OK);
    cr_expect_str_eq(version_of(s, STORE_BOTS_DELETED, "a"), V(6) ":direct", "the direct delete's tombstone");
    cr_expect_eq(storefake_del(s, STORE_BOTS, "never", NULL), T0_ENOTFOUND);
    cr_expect_not_null(storefake_peek(s, STORE_BOTS_DELETED, "never"), "a delete of nothing still says deleted");
    storefake_destroy(s);
}

/* A restore hides the desired-state collections from reads (lists empty, gets not found), not the intake's
 * tombstones: an event older than a delete must still find its tombstone (a stale update resurrected a bot
 * in the soak while the tombstones were hidden too). Writes work; the documents come back afterwards. */
Test(store_fake, restoring_hides_documents_not_tombstones)
{
    storefake *s;
    cr_assert_eq(storefake_new(NULL, &s, NULL), T0_OK);
    docver v = {.epoch = 1767571200000000ull, .seq = 7};
    storefake_set_position(s, position, &v); /* direct deletes leave tombstones */
    put(s, "a", "{\"config\":{}}");
    t0_err err = {0};
    cr_assert_eq(storefake_del(s, STORE_BOTS, "a", &err), T0_OK);
    put(s, "b", "{\"config\":{}}");
    store_port p = storefake_port(s);
    storefake_set_restoring(s, true);
    cJSON *out = NULL;
    cr_assert_eq(p.find_enabled(p.ctx, STORE_BOTS, &out, NULL, &err), T0_OK);
    cr_expect_eq(cJSON_GetArraySize(out), 0, "a list during a restore finds nothing, got %d", cJSON_GetArraySize(out));
    cJSON_Delete(out);
    out = NULL;
    cr_expect_eq(p.get(p.ctx, STORE_BOTS, "b", &out, &err), T0_ENOTFOUND, "b is being restored");
    cJSON_Delete(out);
    out = NULL;
    cr_expect_eq(p.get(p.ctx, STORE_BOTS_DELETED, "a", &out, &err), T0_OK, "a's tombstone stays readable: %s", err.msg);
    cJSON_Delete(out);
    storefake_set_restoring(s, false);
    out = NULL;
    cr_expect_eq(p.get(p.ctx, STORE_BOTS, "b", &out, &err), T0_OK, "b is back: %s", err.msg);
    cJSON_Delete(out);
    storefake_destroy(s);
}
