/* test_informer.c: the informer cache's compact summaries (controllers/ctl_int.h): resourceVersion, uid and
 * hash annotations kept as numbers when they have the usual form and as strings otherwise, read back
 * exactly as they came; a re-list that tells unchanged objects from changed ones by the resourceVersion
 * string, and drops only what it did not list. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/tests/ctl_fixture.h"

/* pod_json: a Pod of ours for bot ID, named NAME, with RV, UID and the two hash annotations (NULL: absent) */
static cJSON *pod_json(const char *name, const char *id, const char *rv, const char *uid, const char *cfg,
                       const char *spec)
{
    cJSON *p = cJSON_CreateObject(), *md = cJSON_AddObjectToObject(p, "metadata");
    cJSON_AddStringToObject(md, "name", name);
    if (rv) cJSON_AddStringToObject(md, "resourceVersion", rv);
    if (uid) cJSON_AddStringToObject(md, "uid", uid);
    cJSON *l = cJSON_AddObjectToObject(md, "labels");
    cJSON_AddStringToObject(l, LBL_MANAGED_BY, "the0-bot-controller");
    cJSON_AddStringToObject(l, LBL_BOT_ID, id);
    cJSON *a = cJSON_AddObjectToObject(md, "annotations");
    if (cfg) cJSON_AddStringToObject(a, HASH_ANN_CONFIG, cfg);
    if (spec) cJSON_AddStringToObject(a, HASH_ANN_SPEC, spec);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(p, "status"), "phase", "Running");
    return p;
}

/* apply: POD into the bots' cache; its summary */
static obj_sum *apply(ctl_kind *c, cJSON *pod)
{
    char idbuf[256];
    cr_assert_not_null(ctl_cache_apply(c, pod, false, idbuf), "the pod is ours and cached");
    obj_sum *o = hmap_get(&c->objs, t0_json_str(pod, "metadata.name"));
    cJSON_Delete(pod);
    cr_assert_not_null(o);
    return o;
}

Test(informer, usual_forms_are_numbers_and_read_back_exactly)
{
    fixture f;
    setup(&f, false);
    ctl_kind *c = &f.m->bots;
    const char *uid = "00000000-0000-4000-8000-00000000002a";
    obj_sum *o = apply(c, pod_json("bot-b1", "b1", "1234", uid, "0123456789abcdef", "fedcba9876543210"));
    char rb[24], ub[40];
    cr_expect_eq(o->rv_form, RV_DEC, "a decimal resourceVersion is kept as its number");
    cr_expect_eq(o->uid_form, UID_UUID, "a lowercase UUID is kept as 16 bytes");
    cr_expect_null(o->ext, "a pod in the usual forms has no extension");
    cr_expect_eq(o->rv, 1234u);
    cr_expect_str_eq(ctl_obj_rv(o, rb), "1234");
    cr_expect_str_eq(ctl_obj_uid(o, ub), uid);
    cr_expect_eq(o->cfg_form, CH_HEX);
    cr_expect_eq(o->cfg_hash, UINT64_C(0x0123456789abcdef), "config hash %llx", (unsigned long long)o->cfg_hash);
    cr_expect_eq(o->spec_form, CH_HEX);
    cr_expect_str_eq(o->name, "bot-b1");
    cr_expect_str_eq(o->id, "b1");
    cr_expect_eq(ctl_rec_get(c, "b1", false)->obj, o, "the record's primary object is the summary");
    teardown(&f);
}

Test(informer, unusual_forms_are_strings_and_read_back_exactly)
{
    fixture f;
    setup(&f, false);
    ctl_kind *c = &f.m->bots;
    char rb[24], ub[40];
    obj_sum *o = apply(c, pod_json("bot-b2", "b2", "0042", "uid-2", "not-a-hash", NULL));
    cr_expect_eq(o->rv_form, RV_EXT, "a resourceVersion with a leading zero is not a number's decimal form");
    cr_expect_str_eq(ctl_obj_rv(o, rb), "0042");
    cr_expect_eq(o->uid_form, UID_EXT);
    cr_expect_str_eq(ctl_obj_uid(o, ub), "uid-2");
    cr_expect_eq(o->cfg_form, CH_OTHER, "an annotation that is no hash equals no generated hash");
    cr_expect_eq(o->spec_form, CH_NONE);
    o = apply(c, pod_json("bot-b2", "b2", "43", "00000000-0000-4000-8000-00000000002B", NULL, "0123456789abcdefXYZ"));
    cr_expect_eq(o->rv_form, RV_DEC, "the next version is decimal again");
    cr_expect_str_eq(ctl_obj_rv(o, rb), "43");
    cr_expect_eq(o->uid_form, UID_EXT, "an upper-case UUID is kept as it came");
    cr_expect_str_eq(ctl_obj_uid(o, ub), "00000000-0000-4000-8000-00000000002B");
    cr_expect_eq(o->cfg_form, CH_NONE);
    cr_expect_eq(o->spec_form, CH_HEX, "as before, only the first 16 characters of a hash count");
    o = apply(c, pod_json("bot-b3", "b3", NULL, NULL, "0123456789abcde", NULL));
    cr_expect_str_eq(ctl_obj_rv(o, rb), "", "no resourceVersion reads back empty");
    cr_expect_str_eq(ctl_obj_uid(o, ub), "");
    cr_expect_eq(o->cfg_form, CH_OTHER, "15 hex digits are not a hash");
    desired d = {.kind = D_VALID, .cfg_hash = UINT64_C(0x0123456789abcdef), .spec_hash = 7};
    o = apply(c, pod_json("bot-b4", "b4", "1", NULL, "0123456789abcdef", NULL));
    cr_expect_not(ctl_needs_replace(o, &d), "same config hash, no spec hash: adopted");
    o = apply(c, pod_json("bot-b4", "b4", "2", NULL, "0123456789abcdef", "0000000000000008"));
    cr_expect(ctl_needs_replace(o, &d), "another spec hash: replaced");
    o = apply(c, pod_json("bot-b4", "b4", "3", NULL, "0123456789abcdeF", "0000000000000007"));
    cr_expect(ctl_needs_replace(o, &d), "a config hash that is not lowercase hex differs");
    teardown(&f);
}

Test(informer, relist_compares_resource_version_strings_and_drops_only_unlisted)
{
    fixture f;
    setup(&f, false);
    ctl_kind *c = &f.m->bots;
    apply(c, pod_json("bot-b1", "b1", "10", NULL, NULL, NULL));
    apply(c, pod_json("bot-b2", "b2", "11", NULL, NULL, NULL));
    apply(c, pod_json("bot-b3", "b3", "12", NULL, NULL, NULL));
    apply(c, pod_json("bot-b4", "b4", "13", NULL, NULL, NULL));
    unsigned before = wq_len(c->q);
    /* b1 unchanged; b2 listed as "011" (not the string it had: changed); b3 at 18446744073709551628 (2^64 + 12:
     * past 64 bits, not 12); b4 missing from a list newer than it: gone */
    char list[2048];
    cJSON *items = cJSON_CreateArray();
    const char *names[3] = {"bot-b1", "bot-b2", "bot-b3"}, *ids[3] = {"b1", "b2", "b3"};
    const char *rvs[3] = {"10", "011", "18446744073709551628"};
    for (int i = 0; i < 3; i++) cJSON_AddItemToArray(items, pod_json(names[i], ids[i], rvs[i], NULL, NULL, NULL));
    cJSON *l = cJSON_CreateObject();
    cJSON_AddStringToObject(cJSON_AddObjectToObject(l, "metadata"), "resourceVersion", "20");
    cJSON_AddItemToObject(l, "items", items);
    cr_assert(cJSON_PrintPreallocated(l, list, sizeof list, false));
    cJSON_Delete(l);
    f.kube.list = list;
    cr_assert_eq(ctl_relist(c), T0_OK);
    /* b2 is summarized again (its string changed) but not enqueued: its number did not (as before) */
    cr_expect_eq(wq_len(c->q) - before, 2u, "b3 (changed) and b4 (gone) are enqueued, b1 and b2 are not: %u enqueued",
                 wq_len(c->q) - before);
    char rb[24];
    cr_expect_str_eq(ctl_obj_rv(hmap_get(&c->objs, "bot-b2"), rb), "011");
    cr_expect_str_eq(ctl_obj_rv(hmap_get(&c->objs, "bot-b3"), rb), "18446744073709551628");
    cr_expect_null(hmap_get(&c->objs, "bot-b4"), "an object the newer list did not show is dropped");
    cr_expect_eq(c->objs.count, 3u);
    cr_expect_eq(c->list_stamped, 3u, "every cached object was listed: %zu stamped", c->list_stamped);
    cr_expect_eq(ctl_rec_get(c, "b4", false)->nobjs, 0u);
    /* the same list again: nothing changed, nothing is dropped (the pass looking for unlisted ones is skipped) */
    before = wq_len(c->q);
    cr_assert_eq(ctl_relist(c), T0_OK);
    cr_expect_eq(wq_len(c->q), before, "an unchanged list enqueues nothing");
    cr_expect_eq(c->objs.count, 3u);
    teardown(&f);
}

/* unread: OBJ's text without ctl_unread_members[KIND], parsed again (what the REST client hands over) */
static cJSON *unread(const cJSON *obj, kube_kind kind)
{
    char *text = cJSON_PrintUnformatted(obj);
    size_t len = strlen(text), n = t0_json_text_drop(text, len, ctl_unread_members[kind]);
    cJSON *out = cJSON_ParseWithLength(text, n);
    cr_assert_not_null(out);
    cr_assert_lt(n, len, "something was left out (%zu of %zu bytes kept)", n, len);
    for (const char *const *p = ctl_unread_members[kind]; *p; p++)
        cr_expect_null(t0_json_at(out, *p), "%s is left out", *p);
    free(text);
    return out;
}

/* same_summary: A and B summarize the same (every field a reconcile reads) */
static void same_summary(const obj_sum *a, const obj_sum *b, const char *what)
{
    char ra[24], rb[24], ua[40], ub[40];
    cr_expect_str_eq(ctl_obj_rv(a, ra), ctl_obj_rv(b, rb), "%s: resourceVersion", what);
    cr_expect_str_eq(ctl_obj_uid(a, ua), ctl_obj_uid(b, ub), "%s: uid", what);
    cr_expect(a->cfg_form == b->cfg_form && a->cfg_hash == b->cfg_hash, "%s: config hash", what);
    cr_expect(a->spec_form == b->spec_form && a->spec_hash == b->spec_hash, "%s: spec hash", what);
    cr_expect(a->phase == b->phase && a->terminating == b->terminating && a->init_failing == b->init_failing &&
                  a->crashloop == b->crashloop && a->bot_running == b->bot_running && a->evicted == b->evicted,
              "%s: phase and flags", what);
    cr_expect(a->init_restarts == b->init_restarts && a->bot_restarts == b->bot_restarts, "%s: restarts", what);
    cr_expect_eq(!a->ext, !b->ext, "%s: extension", what);
    if (!a->ext || !b->ext) return;
    cr_expect(a->ext->active == b->ext->active && a->ext->created_ms == b->ext->created_ms &&
                  a->ext->last_schedule_ms == b->ext->last_schedule_ms &&
                  a->ext->last_success_ms == b->ext->last_success_ms && a->ext->deadline_s == b->ext->deadline_s,
              "%s: schedule fields", what);
    cr_expect_str_eq(a->ext->schedule ? a->ext->schedule : "-", b->ext->schedule ? b->ext->schedule : "-",
                     "%s: schedule", what);
}

Test(informer, unread_members_are_not_read)
{
    fixture full, part;
    setup(&full, false);
    setup(&part, false);
    podgen_settings ps;
    podgen_settings_defaults(&ps);
    botdoc *d = NULL;
    t0_err err = {0};
    const char *bot = "{\"id\":\"b1\",\"config\":{\"schedule\":\"0 9 * * *\",\"type\":\"realtime/acme\",\"version\":"
                      "\"1.0.0\"},\"custom\":{\"version\":\"1.0.0\",\"filePath\":\"u1/acme/1.0.0\",\"config\":{\"name\":"
                      "\"acme\",\"runtime\":\"python3.11\",\"type\":\"realtime\",\"entrypoints\":{\"bot\":\"main.py\"}}}}";
    cr_assert_eq(botdoc_parse_text(bot, strlen(bot), &d, &err), T0_OK, "%s", err.msg);
    cJSON *pod = NULL, *cj = NULL;
    cr_assert_eq(podgen_pod(&ps, d, &pod, &err), T0_OK, "%s", err.msg);
    cr_assert_eq(podgen_cronjob(&ps, d, &cj, &err), T0_OK, "%s", err.msg);
    botdoc_destroy(d);
    cJSON *md = t0_json_get(pod, "metadata");
    cJSON_AddStringToObject(md, "resourceVersion", "77");
    cJSON_AddStringToObject(md, "uid", "00000000-0000-4000-8000-000000000001");
    cJSON_AddItemToObject(md, "managedFields", cJSON_Parse("[{\"manager\":\"kubectl\",\"fieldsV1\":{\"f:spec\":{}}}]"));
    cJSON *st = cJSON_Parse("{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],\"initContainerStatuses\":[{\"name\":\"init\",\"restartCount\":2,"
                            "\"state\":{\"terminated\":{\"exitCode\":0}}}],\"containerStatuses\":[{\"name\":\"bot\","
                            "\"restartCount\":3,\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}}}]}");
    cJSON_AddItemToObject(pod, "status", st);
    md = t0_json_get(cj, "metadata");
    cJSON_AddStringToObject(md, "resourceVersion", "78");
    cJSON_AddStringToObject(md, "creationTimestamp", "2026-01-05T00:00:00Z");
    cJSON_AddItemToObject(cj, "status", cJSON_Parse("{\"active\":[{\"name\":\"j\"}],\"lastScheduleTime\":"
                                                   "\"2026-01-05T00:05:00Z\",\"lastSuccessfulTime\":\"2026-01-05T00:00:30Z\"}"));
    obj_sum *a = apply(&full.m->bots, cJSON_Duplicate(pod, 1)), *b = apply(&part.m->bots, unread(pod, KUBE_POD));
    same_summary(a, b, "pod");
    cr_expect(a->crashloop && a->bot_restarts == 3 && a->cfg_form == CH_HEX, "the pod's status and hashes were read");
    a = apply(&full.m->scheds, cJSON_Duplicate(cj, 1));
    b = apply(&part.m->scheds, unread(cj, KUBE_CRONJOB));
    same_summary(a, b, "cronjob");
    cr_assert_not_null(a->ext);
    cr_expect(a->ext->active == 1 && a->ext->last_schedule_ms > 0 && a->ext->schedule,
              "the CronJob's schedule fields were read: active %d, last schedule %lld, schedule %s", a->ext->active,
              (long long)a->ext->last_schedule_ms, a->ext->schedule ? a->ext->schedule : "-");
    cJSON_Delete(pod);
    cJSON_Delete(cj);
    teardown(&full);
    teardown(&part);
}
