/* test_subscriber.c: the intake's versioned writes (subscriber.c, docs/intake.md) against the fake
 * MongoDB: events of one id take effect in publish order whatever fails and is redelivered, and the
 * payload checks that keep poison out. */
#include <criterion/criterion.h>
#include <string.h>

#include "controllers/subscriber.h"
#include "core/json.h"
#include "fakes/store_fake.h"

#define EPOCH 1767571200000000ull
#define NOW 1767571200000LL /* 2026-01-05T00:00:00Z */

typedef struct world {
    storefake *fake;
    store_port real, port; /* port: real, with writes failing on demand */
    int fail_writes;       /* the next N conditional writes fail (unavailable) */
    store_wop fail_op;     /* ... of this kind only */
} world;

static t0_status w_write(void *ctx, const store_write *w, t0_err *err)
{
    world *x = ctx;
    if (x->fail_writes && w->op == x->fail_op) {
        x->fail_writes--;
        return t0_fail(err, T0_EUNAVAILABLE, "test: write refused");
    }
    return x->real.write(x->real.ctx, w, err);
}
static t0_status w_get(void *ctx, store_coll c, const char *id, cJSON **out, t0_err *err)
{
    world *x = ctx;
    return x->real.get(x->real.ctx, c, id, out, err);
}

static void setup(world *x)
{
    memset(x, 0, sizeof *x);
    cr_assert_eq(storefake_new(NULL, &x->fake, NULL), T0_OK);
    x->real = storefake_port(x->fake);
    x->port = x->real;
    x->port.ctx = x;
    x->port.get = w_get;
    x->port.write = w_write;
    x->port.find_enabled = NULL;
    x->port.upsert = NULL;
    x->port.remove = NULL;
}

/* event: apply OP of JSON (a payload) at stream sequence SEQ (0: unversioned) */
static t0_status event(world *x, store_coll c, sub_op op, const char *json, uint64_t seq, sub_outcome *out)
{
    cJSON *f = NULL;
    t0_err e = {0};
    cr_assert_eq(sub_parse_payload(c, op, json, strlen(json), &f, &e), T0_OK, "%s: %s", json, e.msg);
    docver v = {EPOCH, seq, false};
    sub_event ev = {c, op, f, seq ? &v : NULL, NOW, 7LL * 24 * 3600 * 1000};
    sub_outcome o;
    if (!seq) x->port = x->real; /* the unversioned path uses upsert and remove */
    t0_status st = sub_apply(&x->port, &ev, out ? out : &o, &e);
    cJSON_Delete(f);
    return st;
}

static const char *config_x(world *x, const char *id)
{
    const cJSON *d = storefake_peek(x->fake, STORE_BOTS, id);
    const cJSON *v = t0_json_get(t0_json_get(d, "config"), "x");
    return d ? (cJSON_IsString(v) ? v->valuestring : "?") : "(deleted)";
}

#define UPD(xv) "{\"id\":\"b1\",\"config\":{\"x\":\"" xv "\"}}"

Test(subscriber_order, an_update_redelivered_after_the_delete_is_ignored)
{
    world x;
    setup(&x);
    sub_outcome o;
    cr_assert_eq(event(&x, STORE_BOTS, SUB_CREATED, UPD("v1"), 1, &o), T0_OK);
    cr_expect_eq(o, SUB_APPLIED);
    x.fail_writes = 1, x.fail_op = STORE_W_SET;
    cr_expect_eq(event(&x, STORE_BOTS, SUB_UPDATED, UPD("v2"), 2, NULL), T0_EUNAVAILABLE, "the update fails: redelivered later");
    cr_assert_eq(event(&x, STORE_BOTS, SUB_DELETED, "{\"id\":\"b1\",\"config\":{}}", 3, &o), T0_OK);
    cr_expect_eq(o, SUB_APPLIED);
    cr_assert_eq(event(&x, STORE_BOTS, SUB_UPDATED, UPD("v2"), 2, &o), T0_OK, "the redelivery");
    cr_expect_eq(o, SUB_STALE, "older than the delete: ignored (outcome %d)", o);
    cr_expect_str_eq(config_x(&x, "b1"), "(deleted)", "no resurrection");
    cr_assert_eq(event(&x, STORE_BOTS, SUB_CREATED, UPD("v1"), 1, &o), T0_OK, "even the create again");
    cr_expect_eq(o, SUB_STALE);
    cr_assert_eq(event(&x, STORE_BOTS, SUB_CREATED, UPD("v4"), 4, &o), T0_OK, "a newer create is a new intent");
    cr_expect_eq(o, SUB_APPLIED);
    cr_expect_str_eq(config_x(&x, "b1"), "v4");
    storefake_destroy(x.fake);
}

Test(subscriber_order, an_old_delete_redelivered_leaves_a_newer_write)
{
    world x;
    setup(&x);
    sub_outcome o;
    cr_assert_eq(event(&x, STORE_BOTS, SUB_CREATED, UPD("v1"), 1, &o), T0_OK);
    x.fail_writes = 1, x.fail_op = STORE_W_REMOVE;
    cr_expect_eq(event(&x, STORE_BOTS, SUB_DELETED, "{\"id\":\"b1\"}", 2, NULL), T0_EUNAVAILABLE,
                 "tombstone written, the remove fails");
    cr_expect_not_null(storefake_peek(x.fake, STORE_BOTS_DELETED, "b1"));
    cr_assert_eq(event(&x, STORE_BOTS, SUB_UPDATED, UPD("v3"), 3, &o), T0_OK);
    cr_expect_eq(o, SUB_APPLIED, "newer than the delete: applies");
    cr_assert_eq(event(&x, STORE_BOTS, SUB_DELETED, "{\"id\":\"b1\"}", 2, &o), T0_OK, "the delete's redelivery");
    cr_expect_eq(o, SUB_STALE);
    cr_expect_str_eq(config_x(&x, "b1"), "v3");
    storefake_destroy(x.fake);
}

Test(subscriber_order, a_create_after_a_half_applied_delete_replaces_the_doomed_document)
{
    world x;
    setup(&x);
    sub_outcome o;
    cr_assert_eq(event(&x, STORE_BOTS, SUB_CREATED, UPD("v1"), 1, &o), T0_OK);
    x.fail_writes = 1, x.fail_op = STORE_W_REMOVE;
    cr_expect_eq(event(&x, STORE_BOTS, SUB_DELETED, "{\"id\":\"b1\"}", 2, NULL), T0_EUNAVAILABLE);
    cr_assert_eq(event(&x, STORE_BOTS, SUB_CREATED, UPD("v3"), 3, &o), T0_OK);
    cr_expect_eq(o, SUB_APPLIED, "in publish order the document was gone: the create applies (outcome %d)", o);
    cr_assert_eq(event(&x, STORE_BOTS, SUB_DELETED, "{\"id\":\"b1\"}", 2, &o), T0_OK);
    cr_expect_str_eq(config_x(&x, "b1"), "v3", "and the old delete leaves it");
    /* a create for a document that is simply there is ignored, as the reference does */
    cr_assert_eq(event(&x, STORE_BOTS, SUB_CREATED, UPD("v9"), 9, &o), T0_OK);
    cr_expect_eq(o, SUB_EXISTS);
    cr_expect_str_eq(config_x(&x, "b1"), "v3");
    storefake_destroy(x.fake);
}

Test(subscriber_order, reordered_and_duplicated_deliveries)
{
    world x;
    setup(&x);
    sub_outcome o;
    cr_assert_eq(event(&x, STORE_BOTS, SUB_UPDATED, UPD("v5"), 5, &o), T0_OK, "an update of a missing document creates it");
    cr_expect_eq(o, SUB_APPLIED);
    cr_assert_eq(event(&x, STORE_BOTS, SUB_UPDATED, UPD("v4"), 4, &o), T0_OK);
    cr_expect_eq(o, SUB_STALE, "delivered late: older than what is stored");
    cr_assert_eq(event(&x, STORE_BOTS, SUB_UPDATED, UPD("v5"), 5, &o), T0_OK);
    cr_expect_eq(o, SUB_STALE, "a duplicate is a no-op");
    cr_assert_eq(event(&x, STORE_BOTS, SUB_DELETED, "{\"id\":\"b1\"}", 6, &o), T0_OK);
    cr_assert_eq(event(&x, STORE_BOTS, SUB_DELETED, "{\"id\":\"b1\"}", 6, &o), T0_OK);
    cr_expect_eq(o, SUB_ABSENT, "a duplicate delete finds nothing to remove");
    cr_assert_eq(event(&x, STORE_BOTS, SUB_DELETED, "{\"id\":\"b1\"}", 4, &o), T0_OK, "an older delete late");
    const cJSON *t = storefake_peek(x.fake, STORE_BOTS_DELETED, "b1");
    cr_expect_str_eq(t0_json_get(t, STORE_VERSION_FIELD)->valuestring, "1767571200000000:00000000000000000006",
                     "the tombstone keeps the newest delete");
    cr_expect_eq(t0_json_get(t, STORE_EXPIRES_FIELD)->valuedouble, (double)(NOW + 7LL * 24 * 3600 * 1000),
                 "it expires after the stream's max age");
    storefake_destroy(x.fake);
}

static docver position(void *ud) { return *(docver *)ud; }

Test(subscriber_order, a_direct_write_is_newer_than_every_event_published_before_it)
{
    world x;
    setup(&x);
    sub_outcome o;
    cr_assert_eq(event(&x, STORE_BOTS, SUB_CREATED, UPD("v1"), 1, &o), T0_OK);
    docver pos = {EPOCH, 3, false}; /* events 2 and 3 published, not applied yet */
    storefake_set_position(x.fake, position, &pos);
    cJSON *doc = cJSON_Parse("{\"config\":{\"x\":\"operator\"}}");
    cr_assert_eq(storefake_put(x.fake, STORE_BOTS, "b1", doc, NULL), T0_OK);
    cJSON_Delete(doc);
    cr_assert_eq(event(&x, STORE_BOTS, SUB_UPDATED, UPD("v3"), 3, &o), T0_OK);
    cr_expect_eq(o, SUB_STALE, "published before the direct write");
    cr_assert_eq(event(&x, STORE_BOTS, SUB_UPDATED, UPD("v4"), 4, &o), T0_OK);
    cr_expect_eq(o, SUB_APPLIED, "published after it");
    cr_expect_str_eq(config_x(&x, "b1"), "v4");
    pos.seq = 6;
    cr_assert_eq(storefake_del(x.fake, STORE_BOTS, "b1", NULL), T0_OK);
    cr_assert_eq(event(&x, STORE_BOTS, SUB_UPDATED, UPD("v5"), 5, &o), T0_OK);
    cr_expect_eq(o, SUB_STALE, "a direct delete leaves a tombstone too");
    cr_expect_str_eq(config_x(&x, "b1"), "(deleted)");
    storefake_destroy(x.fake);
}

Test(subscriber_order, unversioned_events_apply_as_the_reference_does)
{
    world x;
    setup(&x);
    sub_outcome o;
    cr_assert_eq(event(&x, STORE_BOTS, SUB_CREATED, UPD("v1"), 0, &o), T0_OK);
    cr_assert_eq(event(&x, STORE_BOTS, SUB_CREATED, UPD("v2"), 0, &o), T0_OK);
    cr_expect_eq(o, SUB_EXISTS, "a create of an existing document is ignored");
    cr_assert_eq(event(&x, STORE_BOTS, SUB_UPDATED, UPD("v3"), 0, &o), T0_OK);
    cr_expect_str_eq(config_x(&x, "b1"), "v3");
    cr_assert_eq(event(&x, STORE_BOTS, SUB_DELETED, "{\"id\":\"b1\"}", 0, &o), T0_OK);
    cr_assert_eq(event(&x, STORE_BOTS, SUB_DELETED, "{\"id\":\"b1\"}", 0, &o), T0_OK);
    cr_expect_eq(o, SUB_ABSENT);
    storefake_destroy(x.fake);
}

Test(subscriber_order, schedules_get_next_execution_time_and_a_delete_removes_duplicates)
{
    world x;
    setup(&x);
    sub_outcome o;
    cr_assert_eq(event(&x, STORE_SCHEDULES, SUB_CREATED, "{\"id\":\"s1\",\"config\":{\"schedule\":\"0 * * * *\"}}", 1, &o),
                 T0_OK);
    const cJSON *d = storefake_peek(x.fake, STORE_SCHEDULES, "s1");
    cr_expect_eq(t0_json_get(d, "next_execution_time")->valuedouble, (double)(NOW / 1000 + 3600), "the next full hour");
    cJSON *dup = cJSON_Parse("{\"config\":{\"schedule\":\"5 * * * *\"}}");
    cr_assert_eq(storefake_put_duplicate(x.fake, STORE_SCHEDULES, "s1", dup, NULL), T0_OK);
    cJSON_Delete(dup);
    cr_assert_eq(event(&x, STORE_SCHEDULES, SUB_DELETED, "{\"id\":\"s1\"}", 2, &o), T0_OK);
    cr_expect_eq(storefake_count(x.fake, STORE_SCHEDULES), 0u, "every copy of the id is removed");
    storefake_destroy(x.fake);
}

Test(subscriber_payload, poison_is_refused_before_the_store)
{
    static const struct {
        store_coll c;
        sub_op op;
        const char *json;
        const char *why;
    } bad[] = {
        {STORE_BOTS, SUB_CREATED, "{\"id\":\"b1\",\"config\":{\"s\":\"\xff\"}}", "not UTF-8"},
        {STORE_BOTS, SUB_CREATED, "{\"id\":\"b1\\u0000x\",\"config\":{}}", "u0000"},
        {STORE_BOTS, SUB_UPDATED, "{\"id\":\"Upper\",\"config\":{}}", "lowercase"},
        {STORE_BOTS, SUB_DELETED, "{\"id\":\"a234567890123456789012345678901234567890123456789012345678901234\"}", "64 bytes"},
        {STORE_SCHEDULES, SUB_UPDATED, "{\"id\":\"s1\",\"config\":{\"schedule\":\"61 * * * *\"}}", "invalid cron"},
        {STORE_SCHEDULES, SUB_CREATED, "{\"id\":\"s1\",\"config\":{}}", "missing or invalid schedule"},
        {STORE_SCHEDULES, SUB_UPDATED, "{\"id\":\"s1\",\"config\":{\"schedule\":\"\"}}", "missing or invalid schedule"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cJSON *f = NULL;
        t0_err e = {0};
        cr_expect_eq(sub_parse_payload(bad[i].c, bad[i].op, bad[i].json, strlen(bad[i].json), &f, &e), T0_EINVAL,
                     "accepted: %s", bad[i].json);
        cr_expect_null(f);
        cr_expect(strstr(e.msg, bad[i].why), "payload %zu: want \"%s\" in: %s", i, bad[i].why, e.msg);
    }
    /* a schedule delete needs no schedule; a bot needs none either */
    cJSON *f = NULL;
    cr_expect_eq(sub_parse_payload(STORE_SCHEDULES, SUB_DELETED, "{\"id\":\"s1\"}", 11, &f, NULL), T0_OK);
    cJSON_Delete(f);
    cr_expect_eq(sub_parse_payload(STORE_BOTS, SUB_CREATED, "{\"id\":\"b1\"}", 11, &f, NULL), T0_OK);
    cJSON_Delete(f);
}
