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
