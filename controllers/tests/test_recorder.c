/* test_recorder.c: Events as client-go's recorder writes them: the involved object named with its uid,
 * repeats counted on the Event already written (a PUT, a create again when it expired), a new Event for a
 * new incarnation of the same name, the per-object spam filter, and the events port used instead of the
 * kube port when there is one. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "controllers/ctl_int.h"
#include "core/json.h"
#include "core/log.h"

/* ---- a loop whose clock the test moves, and ports that keep what they were given ---- */
static int64_t now_ms = 1767225600000; /* 2026-01-01T00:00:00Z */
static int64_t l_now(void *c) { return now_ms; }
static uint64_t l_timer(void *c, int64_t d, loop_fn fn, void *ud) { return 1; }
static void l_cancel(void *c, uint64_t id) {}
static uint64_t l_rand(void *c) { return 4; }

/* a kube port that stores Events by name and counts the writes */
typedef struct kstub {
    cJSON *events; /* name -> Event */
    int creates, updates, others;
} kstub;
static t0_status k_create(void *ctx, kube_kind k, const char *ns, const cJSON *obj, cJSON **out, t0_err *err)
{
    kstub *s = ctx;
    if (out) *out = NULL;
    if (k != KUBE_EVENT) return s->others++, T0_OK;
    s->creates++;
    const char *name = t0_json_str(obj, "metadata.name");
    if (cJSON_GetObjectItemCaseSensitive(s->events, name)) return t0_fail(err, T0_EEXIST, "exists");
    cJSON_AddItemToObject(s->events, name, cJSON_Duplicate(obj, 1));
    return T0_OK;
}
static t0_status k_update(void *ctx, kube_kind k, const char *ns, const cJSON *obj, cJSON **out, t0_err *err)
{
    kstub *s = ctx;
    if (out) *out = NULL;
    s->updates++;
    const char *name = t0_json_str(obj, "metadata.name");
    if (!cJSON_GetObjectItemCaseSensitive(s->events, name)) return t0_fail(err, T0_ENOTFOUND, "not found");
    cJSON_ReplaceItemInObjectCaseSensitive(s->events, name, cJSON_Duplicate(obj, 1));
    return T0_OK;
}
static t0_status k_get(void *ctx, kube_kind k, const char *ns, const char *name, cJSON **out, t0_err *err)
{
    if (out) *out = NULL;
    return t0_fail(err, T0_ENOTFOUND, "not found");
}
static t0_status k_list(void *ctx, kube_kind k, const char *ns, const char *sel, cJSON **out, t0_err *err)
{
    *out = cJSON_Parse("{\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[]}");
    return T0_OK;
}
static t0_status k_remove(void *ctx, kube_kind k, const char *ns, const char *name, const kube_delete_opts *o, t0_err *err)
{
    return T0_OK;
}
static t0_status k_watch(void *ctx, kube_kind k, const char *ns, const char *sel, const char *rv, kube_watch_fn fn,
                         void *ud, kube_watch **out, t0_err *err)
{
    *out = (kube_watch *)1;
    return T0_OK;
}
static void k_unwatch(void *ctx, kube_watch *w) {}
static t0_status s_find(void *ctx, store_coll c, cJSON **out, uint64_t **revs, t0_err *err)
{
    *out = cJSON_CreateArray();
    if (revs) *revs = NULL;
    return T0_OK;
}
static t0_status s_get(void *ctx, store_coll c, const char *id, cJSON **out, t0_err *err)
{
    return t0_fail(err, T0_ENOTFOUND, "no document");
}

typedef struct fixture {
    loop_port lp;
    kstub kube, events;
    kube_port kp, ep;
    store_port sp;
    ctl_manager *m;
} fixture;

static void setup(fixture *f, bool own_events_port)
{
    memset(f, 0, sizeof *f);
    t0_log_set_level(T0_LOG_OFF);
    f->lp = (loop_port){NULL, l_now, l_timer, l_cancel, l_rand};
    f->kube.events = cJSON_CreateObject();
    f->events.events = cJSON_CreateObject();
    f->kp = (kube_port){&f->kube, k_create, k_get, k_list, k_update, k_update, k_remove, k_watch, k_unwatch};
    f->ep = (kube_port){&f->events, k_create, k_get, k_list, k_update, k_update, k_remove, k_watch, k_unwatch};
    f->sp = (store_port){NULL, s_find, s_get, NULL, NULL};
    ctl_settings s;
    ctl_settings_defaults(&s);
    s.leader_election = false;
    ctl_ports p = {&f->lp, &f->kp, &f->sp, NULL, own_events_port ? &f->ep : NULL, NULL};
    t0_err err = {0};
    cr_assert_eq(ctl_manager_new(&s, &p, &f->m, &err), T0_OK, "%s", err.msg);
}

static void teardown(fixture *f)
{
    ctl_manager_destroy(f->m);
    t0_log_set_level(T0_LOG_INFO);
    cJSON_Delete(f->kube.events);
    cJSON_Delete(f->events.events);
}

static obj_sum pod(const char *name, const char *uid, const char *rv)
{
    obj_sum o;
    memset(&o, 0, sizeof o);
    o.name = (char *)name;
    snprintf(o.uid, sizeof o.uid, "%s", uid);
    snprintf(o.rv_str, sizeof o.rv_str, "%s", rv);
    return o;
}

static const cJSON *only_event(const kstub *k, int i)
{
    const cJSON *e = k->events->child;
    while (e && i--) e = e->next;
    return e;
}

Test(recorder, names_the_object_with_its_uid_and_counts_repeats_on_one_event)
{
    fixture f;
    setup(&f, false);
    ctl_kind *c = &f.m->bots;
    obj_sum o = pod("bot-b1", "uid-1", "17");
    ctl_emit_event_on(c, "b1", &o, "Warning", "BotCrashLooping", "bot container is in CrashLoopBackOff");
    now_ms += 30000;
    ctl_emit_event_on(c, "b1", &o, "Warning", "BotCrashLooping", "bot container is in CrashLoopBackOff");
    cr_expect_eq(f.kube.creates, 1, "a repeat writes no new Event: expected 1 create, got %d", f.kube.creates);
    cr_expect_eq(f.kube.updates, 1, "a repeat updates the Event: expected 1 update, got %d", f.kube.updates);
    cr_assert_eq(cJSON_GetArraySize(f.kube.events), 1, "expected 1 Event, got %d", cJSON_GetArraySize(f.kube.events));
    const cJSON *e = only_event(&f.kube, 0);
    cr_expect_str_eq(t0_json_str(e, "involvedObject.uid"), "uid-1");
    cr_expect_str_eq(t0_json_str(e, "involvedObject.apiVersion"), "v1");
    cr_expect_str_eq(t0_json_str(e, "involvedObject.kind"), "Pod");
    cr_expect_str_eq(t0_json_str(e, "involvedObject.name"), "bot-b1");
    cr_expect_str_eq(t0_json_str(e, "involvedObject.resourceVersion"), "17");
    cr_expect_str_eq(t0_json_str(e, "source.component"), "the0-bot-controller");
    const cJSON *count = t0_json_get(e, "count");
    cr_expect(cJSON_IsNumber(count) && count->valueint == 2, "count: expected 2, got %d", count ? count->valueint : -1);
    cr_expect_str_neq(t0_json_str(e, "firstTimestamp"), t0_json_str(e, "lastTimestamp"),
                      "lastTimestamp moves, firstTimestamp stays: both %s", t0_json_str(e, "firstTimestamp"));
    cr_expect_eq(f.m->st.events_emitted, 2);
    cr_expect_eq(f.m->st.events_aggregated, 1);

    /* a new pod of the same name (a replacement): its own Event, not a third count of the old one */
    obj_sum o2 = pod("bot-b1", "uid-2", "25");
    ctl_emit_event_on(c, "b1", &o2, "Warning", "BotCrashLooping", "bot container is in CrashLoopBackOff");
    cr_expect_eq(cJSON_GetArraySize(f.kube.events), 2, "a new incarnation gets a new Event: expected 2, got %d",
                 cJSON_GetArraySize(f.kube.events));
    cr_expect_str_eq(t0_json_str(only_event(&f.kube, 1), "involvedObject.uid"), "uid-2");

    /* the first Event expired on the server: the next repeat writes it again, with its count */
    cJSON_DeleteItemFromObjectCaseSensitive(f.kube.events, t0_json_str(e, "metadata.name"));
    ctl_emit_event_on(c, "b1", &o, "Warning", "BotCrashLooping", "bot container is in CrashLoopBackOff");
    cr_assert_eq(cJSON_GetArraySize(f.kube.events), 2);
    const cJSON *again = only_event(&f.kube, 1);
    cr_expect_str_eq(t0_json_str(again, "involvedObject.uid"), "uid-1");
    cr_expect_eq(t0_json_get(again, "count")->valueint, 3, "expected count 3, got %d", t0_json_get(again, "count")->valueint);
    teardown(&f);
}

Test(recorder, spam_filter_allows_a_burst_of_25_then_one_per_5_minutes)
{
    fixture f;
    setup(&f, false);
    ctl_kind *c = &f.m->scheds;
    obj_sum o = pod("schedule-s1", "uid-9", "3");
    for (int i = 0; i < 30; i++) {
        char msg[32];
        snprintf(msg, sizeof msg, "message %d", i); /* all different: no aggregation */
        ctl_emit_event_on(c, "s1", &o, "Warning", "ScheduledRunFailed", msg);
    }
    cr_expect_eq(f.kube.creates, 25, "expected 25 Events written, got %d", f.kube.creates);
    cr_expect_eq(f.m->st.events_spam_dropped, 5, "expected 5 dropped, got %llu",
                 (unsigned long long)f.m->st.events_spam_dropped);
    cr_expect_str_eq(t0_json_str(only_event(&f.kube, 0), "involvedObject.apiVersion"), "batch/v1");
    cr_expect_str_eq(t0_json_str(only_event(&f.kube, 0), "involvedObject.kind"), "CronJob");
    now_ms += 300000;
    ctl_emit_event_on(c, "s1", &o, "Warning", "ScheduledRunFailed", "after five minutes");
    ctl_emit_event_on(c, "s1", &o, "Warning", "ScheduledRunFailed", "and one more");
    cr_expect_eq(f.kube.creates, 26, "one token after 5 minutes: expected 26 Events, got %d", f.kube.creates);
    /* another object has its own bucket */
    obj_sum other = pod("schedule-s2", "uid-10", "4");
    ctl_emit_event_on(c, "s2", &other, "Normal", "SuccessfulCreate", "Created CronJob schedule-s2");
    cr_expect_eq(f.kube.creates, 27, "expected 27, got %d", f.kube.creates);
    teardown(&f);
}

Test(recorder, events_go_to_the_events_port_when_there_is_one)
{
    fixture f;
    setup(&f, true);
    obj_sum o = pod("bot-b1", "uid-1", "1");
    ctl_emit_event_on(&f.m->bots, "b1", &o, "Normal", "SuccessfulCreate", "Created Pod bot-b1");
    cr_expect_eq(f.events.creates, 1, "expected the Event on the events port, got %d creates", f.events.creates);
    cr_expect_eq(f.kube.creates, 0, "expected nothing on the kube port, got %d creates", f.kube.creates);
    teardown(&f);
}

Test(recorder, object_without_a_cached_copy_is_named_without_uid)
{
    fixture f;
    setup(&f, false);
    ctl_emit_event(&f.m->bots, "b7", "Warning", "InvalidBotSpec", "bot b7: unknown runtime");
    cr_assert_eq(cJSON_GetArraySize(f.kube.events), 1);
    const cJSON *e = only_event(&f.kube, 0);
    cr_expect_str_eq(t0_json_str(e, "involvedObject.name"), "bot-b7");
    cr_expect_null(t0_json_get(t0_json_get(e, "involvedObject"), "uid"), "no uid for an object not seen");
    teardown(&f);
}
