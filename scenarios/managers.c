/* managers.c: the controller managers a scenario runs (start, stop, crash, restart across incarnations),
 * their API and store ports wrapped to trace calls and feed the invariant checker, and the FSM hook that
 * traces every transition and keeps each bot's last state for `expect bot ID state=S`. */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/str.h"
#include "fsm/tables.h"
#include "scenarios/world.h"

/* ---- API interposers (per manager): trace writes and failures, feed the invariant checker ----------- */
static const char *obj_name(const cJSON *o)
{
    const char *n = o ? kfake_str(o, "metadata.name") : NULL;
    return n ? n : "?";
}

static void trace_call(scn_mgr *m, const char *verb, kube_kind k, const char *ns, const char *name, t0_status st,
                       const t0_err *err)
{
    if (st == T0_OK) scn_trace(m->w, m->identity, "api %s %s %s/%s -> OK", verb, kube_kind_name(k), ns ? ns : "", name);
    else
        scn_trace(m->w, m->identity, "api %s %s %s/%s -> %s (%s)", verb, kube_kind_name(k), ns ? ns : "", name, t0_status_name(st),
                  err && err->msg[0] ? err->msg : "-");
}

/* The API calls of one manager: counted (`api-calls`), and asked for a fault scoped to this manager only
 * (`fault POINT KIND manager=M`, point "M:kube/KIND/VERB": a partition between M and the API server). */
static const char *const kind_point[KUBE__KINDS] = {"pod", "cronjob", "job", "lease", "event"};
static const char *const verb_point[SCN_API__VERBS] = {"create", "get", "list", "update", "update_status", "delete", "watch"};

typedef enum { CALL_GO = 0, CALL_FAIL, CALL_LATE } call_fate;

/* before_call: count the call; CALL_FAIL: it never reaches the server (*ST, FE say how it fails);
 * CALL_LATE: it reaches the server, whose answer is lost (timeout-applied) */
static call_fate before_call(scn_mgr *m, scn_api_verb v, kube_kind k, t0_status *st, t0_err *fe)
{
    m->api_calls[v][k]++;
    if (!m->w->scoped_faults) return CALL_GO;
    char point[128];
    t0_strjoin(point, sizeof point, m->name, ":kube/", kind_point[k], "/", verb_point[v]);
    sim_fault_hit hit;
    if (!sim_faults_check(m->w->faults, point, &hit)) return CALL_GO;
    *st = sim_faults_fail(&hit, point, fe);
    if (*st == T0_OK) *st = t0_fail(fe, T0_ETIMEOUT, "%s: no answer", point);
    return hit.kind == SIM_FAULT_TIMEOUT_APPLIED ? CALL_LATE : CALL_FAIL;
}

/* after_call: the answer the caller gets: the server's, or the lost one's timeout */
static t0_status after_call(call_fate f, t0_status st, t0_status fst, const t0_err *fe, t0_err *e)
{
    if (f != CALL_LATE || st != T0_OK) return st;
    *e = *fe;
    return fst;
}

static t0_status ik_create(void *ctx, kube_kind k, const char *ns, const cJSON *obj, cJSON **out, t0_err *err)
{
    scn_mgr *m = ctx;
    kube_port p = kfake_port(m->w->kube);
    t0_err e = {0}, fe = {0};
    t0_status fst = T0_OK, st;
    call_fate f = before_call(m, SCN_API_CREATE, k, &fst, &fe);
    if (f == CALL_FAIL) st = fst, e = fe;
    else st = after_call(f, p.create(p.ctx, k, ns, obj, out, &e), fst, &fe, &e);
    if (k != KUBE_LEASE || st != T0_OK) trace_call(m, "create", k, ns, obj_name(obj), st, &e);
    if (err) *err = e;
    return st;
}

static t0_status ik_get(void *ctx, kube_kind k, const char *ns, const char *name, cJSON **out, t0_err *err)
{
    scn_mgr *m = ctx;
    kube_port p = kfake_port(m->w->kube);
    t0_err e = {0}, fe = {0};
    t0_status fst = T0_OK, st;
    call_fate f = before_call(m, SCN_API_GET, k, &fst, &fe);
    if (f == CALL_FAIL) st = fst, e = fe;
    else st = after_call(f, p.get(p.ctx, k, ns, name, out, &e), fst, &fe, &e);
    if (st != T0_OK && st != T0_ENOTFOUND) trace_call(m, "get", k, ns, name, st, &e);
    if (err) *err = e;
    return st;
}

/* saw_rv: manager M was sent OBJ's resourceVersion (a list's or a watch event's object) for kind K */
static void saw_rv(scn_mgr *m, kube_kind k, const cJSON *obj)
{
    const char *s = kfake_str(obj, "metadata.resourceVersion");
    uint64_t rv = s ? strtoull(s, NULL, 10) : 0;
    if (rv > m->seen_rv[k]) m->seen_rv[k] = rv;
}

static t0_status ik_list(void *ctx, kube_kind k, const char *ns, const char *sel, const kube_list_page *pg, cJSON **out,
                         t0_err *err)
{
    scn_mgr *m = ctx;
    kube_port p = kfake_port(m->w->kube);
    t0_err e = {0}, fe = {0};
    t0_status fst = T0_OK, st;
    call_fate f = before_call(m, SCN_API_LIST, k, &fst, &fe);
    if (f == CALL_FAIL) st = fst, e = fe;
    else st = after_call(f, p.list(p.ctx, k, ns, sel, pg, out, &e), fst, &fe, &e);
    if (st != T0_OK) trace_call(m, "list", k, ns, sel ? sel : "", st, &e);
    else if (out && *out) saw_rv(m, k, *out);
    if (err) *err = e;
    return st;
}

static t0_status ik_update(void *ctx, kube_kind k, const char *ns, const cJSON *obj, cJSON **out, t0_err *err)
{
    scn_mgr *m = ctx;
    kube_port p = kfake_port(m->w->kube);
    t0_err e = {0}, fe = {0};
    t0_status fst = T0_OK, st;
    call_fate f = before_call(m, SCN_API_UPDATE, k, &fst, &fe);
    if (f == CALL_FAIL) st = fst, e = fe;
    else st = after_call(f, p.update(p.ctx, k, ns, obj, out, &e), fst, &fe, &e);
    if (k != KUBE_LEASE || st != T0_OK) trace_call(m, "update", k, ns, obj_name(obj), st, &e);
    if (err) *err = e;
    return st;
}

static t0_status ik_update_status(void *ctx, kube_kind k, const char *ns, const cJSON *obj, cJSON **out, t0_err *err)
{
    scn_mgr *m = ctx;
    kube_port p = kfake_port(m->w->kube);
    t0_err e = {0}, fe = {0};
    t0_status fst = T0_OK, st;
    call_fate f = before_call(m, SCN_API_UPDATE_STATUS, k, &fst, &fe);
    if (f == CALL_FAIL) st = fst, e = fe;
    else st = after_call(f, p.update_status(p.ctx, k, ns, obj, out, &e), fst, &fe, &e);
    trace_call(m, "update_status", k, ns, obj_name(obj), st, &e);
    if (err) *err = e;
    return st;
}

static t0_status ik_remove(void *ctx, kube_kind k, const char *ns, const char *name, const kube_delete_opts *o, t0_err *err)
{
    scn_mgr *m = ctx;
    kube_port p = kfake_port(m->w->kube);
    t0_err e = {0}, fe = {0};
    t0_status fst = T0_OK, st;
    call_fate f = before_call(m, SCN_API_DELETE, k, &fst, &fe);
    if (f == CALL_FAIL) st = fst, e = fe;
    else st = after_call(f, p.remove(p.ctx, k, ns, name, o, &e), fst, &fe, &e);
    trace_call(m, "delete", k, ns, name, st, &e);
    if (err) *err = e;
    return st;
}

/* A watch of one manager, wrapped: while a fault scoped to the manager covers "M:kube/watch", its stream
 * breaks (CLOSED, then nothing more), as a connection cut by a partition does. */
typedef struct scn_wwrap {
    scn_mgr *m;
    kube_watch_fn fn;
    void *ud;
    kube_watch *inner;
    kube_kind kind;
    bool dead;
    struct scn_wwrap *next;
} scn_wwrap;

static void ww_event(void *ud, kube_watch_type t, const cJSON *obj)
{
    scn_wwrap *x = ud;
    if (x->dead) return;
    scn_world *w = x->m->w;
    if (w->scoped_faults && t != KUBE_WATCH_GONE && t != KUBE_WATCH_CLOSED) {
        char point[96];
        t0_strjoin(point, sizeof point, x->m->name, ":kube/watch");
        if (sim_faults_check(w->faults, point, NULL)) {
            x->dead = true;
            scn_trace(w, x->m->identity, "watch stream cut (%s)", point);
            x->fn(x->ud, KUBE_WATCH_CLOSED, NULL); /* may unwatch: X is gone after this */
            return;
        }
    }
    if (obj) saw_rv(x->m, x->kind, obj);
    x->fn(x->ud, t, obj);
}

static t0_status ik_watch(void *ctx, kube_kind k, const char *ns, const char *sel, const char *rv, kube_watch_fn fn,
                          void *ud, kube_watch **out, t0_err *err)
{
    scn_mgr *m = ctx;
    kube_port p = kfake_port(m->w->kube);
    t0_err e = {0}, fe = {0};
    t0_status fst = T0_OK, st;
    scn_wwrap *x = calloc(1, sizeof *x);
    if (!x) return t0_fail(err, T0_ENOMEM, "watch: out of memory");
    *x = (scn_wwrap){.m = m, .fn = fn, .ud = ud, .kind = k};
    uint64_t from = rv ? strtoull(rv, NULL, 10) : 0;
    if (m->w->check) scn_checker_watch_from(m->w->check, m->identity, k, from, m->seen_rv[k]);
    call_fate f = before_call(m, SCN_API_WATCH, k, &fst, &fe);
    if (f == CALL_FAIL) st = fst, e = fe;
    else st = p.watch(p.ctx, k, ns, sel, rv, ww_event, x, &x->inner, &e);
    if (st == T0_OK) kfake_watch_bookmarks(m->w->kube, x->inner, m->w->o.bookmark_ms); /* 0: none */
    if (st != T0_OK) {
        trace_call(m, "watch", k, ns, sel ? sel : "", st, &e);
        free(x);
    } else {
        x->next = m->wraps;
        m->wraps = x;
        *out = x->inner;
    }
    if (err) *err = e;
    return st;
}

static void ik_unwatch(void *ctx, kube_watch *wt)
{
    scn_mgr *m = ctx;
    kube_port p = kfake_port(m->w->kube);
    for (scn_wwrap **pp = &m->wraps; *pp; pp = &(*pp)->next)
        if ((*pp)->inner == wt) {
            scn_wwrap *x = *pp;
            *pp = x->next;
            free(x);
            break;
        }
    p.unwatch(p.ctx, wt);
}

static t0_status is_find(void *ctx, store_coll c, cJSON **out, uint64_t **revs, t0_err *err)
{
    scn_mgr *m = ctx;
    store_port p = storefake_port(m->w->store);
    t0_err e = {0};
    t0_status st = p.find_enabled(p.ctx, c, out, revs, &e);
    if (st != T0_OK) scn_trace(m->w, m->identity, "mongo find %s -> %s (%s)", store_coll_name(c), t0_status_name(st), e.msg);
    scn_checker_read(m->w->check, c, st, st == T0_OK ? *out : NULL);
    scn_oracle_read(m->w->oracle, c, st);
    if (err) *err = e;
    return st;
}

static t0_status is_get(void *ctx, store_coll c, const char *id, cJSON **out, t0_err *err)
{
    scn_mgr *m = ctx;
    store_port p = storefake_port(m->w->store);
    t0_err e = {0};
    t0_status st = p.get(p.ctx, c, id, out, &e);
    if (st != T0_OK && st != T0_ENOTFOUND)
        scn_trace(m->w, m->identity, "mongo get %s %s -> %s (%s)", store_coll_name(c), id, t0_status_name(st), e.msg);
    scn_checker_get(m->w->check, c, id, st, st == T0_OK ? *out : NULL);
    scn_oracle_get(m->w->oracle, c, id, st);
    if (err) *err = e;
    return st;
}

static t0_status is_upsert(void *ctx, store_coll c, const char *id, const cJSON *fields, t0_err *err)
{
    scn_mgr *m = ctx;
    store_port p = storefake_port(m->w->store);
    t0_err e = {0};
    t0_status st = p.upsert(p.ctx, c, id, fields, &e);
    scn_trace(m->w, m->identity, "mongo upsert %s %s -> %s%s%s", store_coll_name(c), id, t0_status_name(st), st ? " " : "",
              st ? e.msg : "");
    if (err) *err = e;
    return st;
}

static t0_status is_remove(void *ctx, store_coll c, const char *id, t0_err *err)
{
    scn_mgr *m = ctx;
    store_port p = storefake_port(m->w->store);
    t0_err e = {0};
    t0_status st = p.remove(p.ctx, c, id, &e);
    scn_trace(m->w, m->identity, "mongo remove %s %s -> %s", store_coll_name(c), id, t0_status_name(st));
    if (err) *err = e;
    return st;
}

static t0_status is_write(void *ctx, const store_write *w, t0_err *err)
{
    scn_mgr *m = ctx;
    store_port p = storefake_port(m->w->store);
    t0_err e = {0};
    t0_status st = p.write(p.ctx, w, &e);
    static const char *const verbs[] = {"set", "insert", "remove", "expire"};
    const cJSON *v = w->fields ? t0_json_get(w->fields, STORE_VERSION_FIELD) : NULL;
    /* the version the write carries (v=) and its condition: "if older" than that same version */
    const char *vs = cJSON_IsString(v) ? v->valuestring : w->older_than;
    scn_trace(m->w, m->identity, "mongo %s %s%s%s%s%s%s -> %s%s%s", verbs[w->op], store_coll_name(w->coll), w->id ? " " : "",
              w->id ? w->id : "", vs ? " v=" : "", vs ? vs : "", w->older_than ? " if older" : "", t0_status_name(st),
              st ? " " : "", st ? e.msg : "");
    if (err) *err = e;
    return st;
}

/* ---- managers ------------------------------------------------------------------------------------- */
/* The fleet's count of bots (schedules) per FSM state as progress reports it: a key moved from state FROM
 * (-1: never stepped) to TO. */
static void fleet_count(scn_world *w, const fsm_table *t, int from, int to)
{
    bool bot = t == &fsm_bot_table;
    if (!bot && t != &fsm_schedule_table) return;
    unsigned *n = bot ? &w->fleet.bots : &w->fleet.schedules;
    unsigned *per = bot ? w->fleet.bot_states : w->fleet.sched_states;
    if (from >= 0 && from < 16) (*n)--, per[from]--;
    if (to >= 0 && to < 16) (*n)++, per[to]++;
}

static void on_forget(void *ud, kube_kind kind, const char *name, const char *id, const char *uid)
{
    scn_mgr *m = ud;
    if (m->w->check) scn_checker_forget(m->w->check, m->identity, kind, name, id, uid);
}

static void fsm_hook(void *ud, const fsm_table *t, const char *key, const fsm_result *r)
{
    scn_mgr *m = ud;
    scn_world *w = m->w;
    char k[300], fx[160] = "";
    t0_strjoin(k, sizeof k, t->name, "/", key);
    void *old = NULL;
    hmap_put(&w->fsm_state, k, (void *)(intptr_t)(r->to + 1), &old);
    fleet_count(w, t, (int)(intptr_t)old - 1, r->to);
    if (w->ro->cov) {
        if (t == &fsm_bot_table) fsm_coverage_hit(&w->ro->cov->bot, r);
        else if (t == &fsm_schedule_table) fsm_coverage_hit(&w->ro->cov->sched, r);
    }
    if (r->kind == FSM_ROW_IGNORE) return; /* expected no-ops are not timeline events */
    if (!scn_traced(w)) {
        w->res->trace_lines++;
        return;
    }
    size_t o = 0;
    for (int i = 0; i < r->nfx && o < sizeof fx; i++)
        o += (size_t)snprintf(fx + o, sizeof fx - o, "%s%s", i ? "," : " [", fsm_effect_name(t, r->fx[i]));
    if (r->nfx && o < sizeof fx) snprintf(fx + o, sizeof fx - o, "]");
    scn_trace(w, m->identity, "%s %s %s -%s-> %s%s (%s)", t->name, key, fsm_state_name(t, r->from),
              fsm_event_name(t, r->event), fsm_state_name(t, r->to), fx, r->row && r->row->why ? r->row->why : "");
}

static void mgr_destroy_cb(void *ud)
{
    scn_mgr *m = ud;
    m->destroy_timer = 0;
    if (m->m) {
        ctl_manager_destroy(m->m);
        m->m = NULL;
    }
}

static void mgr_restart_cb(void *ud)
{
    scn_mgr *m = ud;
    m->restart_timer = 0;
    if (!m->m) scn_mgr_start(m);
}

static bool before_effect(void *ud, const char *controller, const char *key, const char *effect)
{
    scn_mgr *m = ud;
    scn_world *w = m->w;
    m->effects++;
    w->res->effects++;
    bool overall = w->ro->crash_at_effect && w->res->effects == w->ro->crash_at_effect;
    if (!overall && (!m->crash_at || m->effects < m->crash_at)) return true;
    scn_trace(w, m->identity, "CRASH before effect #%llu%s: %s %s %s", (unsigned long long)m->effects,
              overall ? " (run option crash_at_effect)" : "", controller, key, effect);
    m->crash_at = 0;
    if (overall) m->restart_after = w->ro->crash_restart_ms;
    m->destroy_timer = sim_loop_timer(w->loop, 0, mgr_destroy_cb, m);
    if (m->restart_after >= 0) scn_mgr_restart_in(m, m->restart_after);
    return false;
}

/* The manager's loop port: the world's timers and randomness; its wall clock (now_ms) off by the node's
 * offset, its monotonic clock (mono_ms) the true time. */
static int64_t mgr_now(void *ctx)
{
    scn_mgr *m = ctx;
    return m->w->lp.now_ms(m->w->lp.ctx) + m->wall_offset_ms;
}
static int64_t mgr_mono(void *ctx)
{
    scn_mgr *m = ctx;
    return m->w->lp.now_ms(m->w->lp.ctx);
}
static uint64_t mgr_timer(void *ctx, int64_t delay, loop_fn fn, void *ud)
{
    scn_mgr *m = ctx;
    return m->w->lp.timer(m->w->lp.ctx, delay, fn, ud);
}
static void mgr_cancel(void *ctx, uint64_t id)
{
    scn_mgr *m = ctx;
    m->w->lp.cancel(m->w->lp.ctx, id);
}
static uint64_t mgr_rand(void *ctx)
{
    scn_mgr *m = ctx;
    return m->w->lp.rand(m->w->lp.ctx);
}

void scn_mgr_start(scn_mgr *m)
{
    scn_world *w = m->w;
    m->incarnation++;
    m->effects = 0;
    memset(m->seen_rv, 0, sizeof m->seen_rv);
    snprintf(m->identity, sizeof m->identity, "%s#%d", m->name, m->incarnation);
    ctl_settings_defaults(&m->s);
    m->s.pod.namespace = w->o.ns;
    m->s.identity = m->identity;
    if (w->o.resync_ms > 0) m->s.resync_ms = w->o.resync_ms;
    if (w->o.requeue_ms > 0) m->s.requeue_ms = w->o.requeue_ms;
    if (w->o.crashloop_escalate > 0) m->s.crashloop_escalate = w->o.crashloop_escalate;
    if (w->o.init_escalate > 0) m->s.init_escalate = w->o.init_escalate;
    if (w->o.max_deletes > 0) m->s.max_deletes_per_cycle = w->o.max_deletes;
    if (w->o.list_page_set) m->s.list_page = w->o.list_page;
    if (w->o.lease_ms > 0) { /* client-go's proportions: renew deadline 2/3, retry period 2/15 of the duration */
        m->s.lease_duration_ms = w->o.lease_ms;
        m->s.lease_renew_deadline_ms = w->o.lease_ms * 2 / 3;
        m->s.lease_renew_ms = w->o.lease_ms * 2 / 15;
    }
    m->s.leader_election = w->o.leader_election;
    m->s.nats_durable = w->o.durable;
    m->lp = (loop_port){m, mgr_now, mgr_timer, mgr_cancel, mgr_rand, mgr_mono};
    ctl_ports ports = {&m->lp, &m->kube, &m->store, w->o.nats ? &w->busport : NULL};
    ctl_hooks hooks = {m, before_effect, fsm_hook, w->memo, on_forget};
    t0_err err = {0};
    ctl_manager *cm = NULL;
    if (ctl_manager_new_hooked(&m->s, &ports, &hooks, &cm, &err) != T0_OK) {
        scn_violation(w, "manager %s could not be created: %s", m->identity, err.msg);
        return;
    }
    m->m = cm;
    scn_trace(w, m->identity, "manager start");
    if (ctl_manager_start(cm, &err) != T0_OK) scn_trace(w, m->identity, "manager start failed: %s", err.msg);
}

scn_mgr *scn_mgr_find(scn_world *w, const char *name)
{
    for (scn_mgr *m = w->mgrs; m; m = m->next)
        if (!strcmp(m->name, name)) return m;
    return NULL;
}

scn_mgr *scn_mgr_new(scn_world *w, const char *name)
{
    scn_mgr *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->w = w;
    snprintf(m->name, sizeof m->name, "%s", name);
    m->restart_after = -1;
    m->kube = (kube_port){m, ik_create, ik_get, ik_list, ik_update, ik_update_status, ik_remove, ik_watch, ik_unwatch};
    m->store = (store_port){m, is_find, is_get, is_upsert, is_remove, is_write};
    scn_mgr **tail = &w->mgrs;
    while (*tail) tail = &(*tail)->next;
    *tail = m;
    return m;
}

void scn_mgr_stop(scn_mgr *m)
{
    scn_world *w = m->w;
    if (m->destroy_timer) sim_loop_cancel(w->loop, m->destroy_timer);
    if (m->restart_timer) sim_loop_cancel(w->loop, m->restart_timer);
    m->destroy_timer = m->restart_timer = 0;
    if (m->m) ctl_manager_destroy(m->m);
    m->m = NULL;
}

void scn_mgr_restart_in(scn_mgr *m, int64_t ms) { m->restart_timer = sim_loop_timer(m->w->loop, ms, mgr_restart_cb, m); }

void scn_mgr_free_watches(scn_mgr *m)
{
    while (m->wraps) {
        scn_wwrap *x = m->wraps;
        m->wraps = x->next;
        free(x);
    }
}
