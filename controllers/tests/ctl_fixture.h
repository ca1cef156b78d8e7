/* ctl_fixture.h: a controller manager on stub ports for the controllers' white-box tests (test_recorder.c,
 * test_informer.c): a loop whose clock the test moves, a kube port that keeps the Events it is given and
 * answers lists with kstub.list, and an empty store. */
#ifndef T0_CTL_FIXTURE_H
#define T0_CTL_FIXTURE_H

#include <criterion/criterion.h>
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
    const char *list; /* the answer to a list (NULL: an empty one) */
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
static t0_status k_list(void *ctx, kube_kind k, const char *ns, const char *sel, const kube_list_page *pg, cJSON **out,
                        t0_err *err)
{
    const kstub *s = ctx;
    *out = cJSON_Parse(s->list ? s->list : "{\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[]}");
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

#endif
