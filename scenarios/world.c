/* world.c: the scenario runner: builds the simulated world from the script's options, runs the
 * statements at their simulated times through their executors, and tears the world down (see
 * docs/scenarios.md). */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/str.h"
#include "scenarios/world.h"

/* The world's settings: defaults, then every `option` and `end` of the script in file order. */
static void apply_options(scn_world *w)
{
    scn_opts_w *o = &w->o;
    *o = (scn_opts_w){.manager = true, .leader_election = true, .durable = true, .nats = true, .nodes = 2,
                      .delete_allowance_ms = 150000, .ack_wait_ms = 30000, .latency_ms = 1, .bookmark_ms = 60000};
    snprintf(o->ns, sizeof o->ns, "the0");
    for (size_t i = 0; i < w->script->n; i++) {
        const scn_stmt *s = &w->script->st[i];
        if (s->verb == SCN_END && s->a.end_ms > o->end_ms) o->end_ms = s->a.end_ms;
        if (s->verb != SCN_OPTION) continue;
        for (size_t k = 0; k < s->a.option.n; k++) {
            const scn_option *v = &s->a.option.v[k];
            switch (v->key) {
            case SCN_OPT_MANAGER: o->manager = v->b; break;
            case SCN_OPT_LEADER_ELECTION: o->leader_election = v->b; break;
            case SCN_OPT_DURABLE: o->durable = v->b; break;
            case SCN_OPT_NATS: o->nats = v->b; break;
            case SCN_OPT_NODES: o->nodes = (unsigned)v->u; break;
            case SCN_OPT_RESYNC: o->resync_ms = v->ms; break;
            case SCN_OPT_REQUEUE: o->requeue_ms = v->ms; break;
            case SCN_OPT_DELETE_ALLOWANCE: o->delete_allowance_ms = v->ms; break;
            case SCN_OPT_ACK_WAIT: o->ack_wait_ms = v->ms; break;
            case SCN_OPT_END: o->end_ms = v->ms > o->end_ms ? v->ms : o->end_ms; break;
            case SCN_OPT_LATENCY: o->latency_ms = v->ms; break;
            case SCN_OPT_BOOKMARKS: o->bookmark_ms = v->ms; break;
            case SCN_OPT_WATCH_HISTORY: o->watch_history = (unsigned)v->u; break;
            case SCN_OPT_LIST_PAGE: o->list_page = (unsigned)v->u; o->list_page_set = true; break;
            case SCN_OPT_LEASE: o->lease_ms = v->ms; break;
            case SCN_OPT_CRASHLOOP_ESCALATE: o->crashloop_escalate = (int)v->u; break;
            case SCN_OPT_INIT_ESCALATE: o->init_escalate = (int)v->u; break;
            case SCN_OPT_MAX_DELETES: o->max_deletes = (int)v->u; break;
            case SCN_OPT_NS: snprintf(o->ns, sizeof o->ns, "%s", v->s); break;
            }
        }
    }
}

static void world_free(scn_world *w)
{
    for (scn_mgr *m = w->mgrs, *nx; m; m = nx) {
        nx = m->next;
        scn_mgr_stop(m);
        scn_mgr_free_watches(m);
        free(m);
    }
    w->res->memo_hits = ctl_memo_hits(w->memo);
    if (w->check) w->res->invariant_checks = scn_checker_checks(w->check);
    ctl_memo_destroy(w->memo);
    cronctl_destroy(w->cc);
    kubelet_destroy(w->kl);
    busfake_destroy(w->bus);
    kfake_destroy(w->kube);
    storefake_destroy(w->store);
    objfake_destroy(w->obj);
    scn_checker_destroy(w->check);
    scn_oracle_destroy(w->oracle);
    scn_expect_free(w);
    for (scn_bot *b = w->bot_list, *nx; b; b = nx) {
        nx = b->next;
        scn_bot_free(b);
    }
    for (scn_program *p = w->program_list, *nx; p; p = nx) {
        nx = p->next;
        free(p);
    }
    hmap_free(&w->bots);
    hmap_free(&w->programs);
    hmap_free(&w->fsm_state);
    hmap_free(&w->deleting);
    hmap_free(&w->phases);
    hmap_free(&w->job_runs);
    for (hmap_entry *he = hmap_first(&w->code_zips); he; he = hmap_next(&w->code_zips, he)) {
        objstore_buf_free(he->val);
        free(he->val);
    }
    hmap_free(&w->code_zips);
    hmap_free(&w->events);
    sim_faults_destroy(w->faults);
    sim_loop_destroy(w->loop);
}

/* The fakes, the invariant checker and the managers' shared memo. */
static t0_status world_new(scn_world *w, t0_err *err)
{
    t0_status st = sim_loop_new(w->ro->seed, 0, &w->loop, err);
    if (st == T0_OK) {
        w->lp = sim_loop_port(w->loop);
        w->t0 = sim_loop_now(w->loop);
        st = sim_faults_new(w->loop, &w->faults, err);
    }
    /* the controllers under test read lists and copy what they keep: the cluster lends its objects */
    kfake_opts kopts = {.lend_objects = true, .watch_history = (int)w->o.watch_history};
    if (st == T0_OK) st = kfake_new(w->loop, w->faults, &kopts, &w->kube, err);
    if (st == T0_OK) st = objfake_new(w->faults, &w->obj, err);
    if (st == T0_OK) st = storefake_new(w->faults, &w->store, err);
    if (st == T0_OK) st = busfake_new(&w->lp, w->faults, &w->bus, err);
    if (st == T0_OK) {
        w->sys = kfake_system_port(w->kube);
        w->busport = busfake_port(w->bus);
        busfake_set_ack_wait(w->bus, w->o.ack_wait_ms);
        busfake_set_latency(w->bus, w->o.latency_ms);
        storefake_set_position(w->store, busfake_position, w->bus); /* direct writes take part in the event order */
        kubelet_opts ko = {.faults = w->faults, .strict = true};
        st = kubelet_new(w->loop, w->kube, &ko, &w->kl, err);
    }
    if (st == T0_OK) st = scn_pods_bind(w, err);
    if (st == T0_OK) st = cronctl_new(w->loop, w->kube, NULL, &w->cc, err);
    podgen_settings ps;
    podgen_settings_defaults(&ps); /* the managers' (scn_mgr_start): the managed-by values of our objects */
    if (st == T0_OK) {
        scn_check_world cw = {w->loop, w->kube, w->kl, w->store, w->o.ns, w->t0, w->o.delete_allowance_ms,
                              ps.bot_controller_name, ps.schedule_controller_name, w->obj};
        scn_check_sink sink = scn_check_sink_of(w);
        st = scn_checker_new(&cw, &sink, &w->check, err);
    }
    if (st == T0_OK) { /* the oracle generates expected objects as every manager of the world does */
        ctl_settings cs;
        ctl_settings_defaults(&cs);
        cs.pod.namespace = w->o.ns;
        scn_oracle_world ow = {w->loop, w->kube, w->store, &cs.pod, w->t0};
        scn_check_sink sink = scn_check_sink_of(w);
        st = scn_oracle_new(&ow, &sink, &w->oracle, err);
    }
    if (st == T0_OK && !w->ro->no_memo) { /* the pod settings every manager of the world gets (scn_mgr_start) */
        ctl_settings cs;
        ctl_settings_defaults(&cs);
        cs.pod.namespace = w->o.ns;
        st = ctl_memo_new(&cs.pod, &w->memo, err);
    }
    return st;
}

static void step_hook(void *ud)
{
    scn_world *w = ud;
    w->res->steps++;
    scn_checker_step(w->check);
    if (w->mgrs && w->mgrs->next) { /* one-acting-leader: only with several managers */
        unsigned acting = 0;
        char who[128] = "";
        for (scn_mgr *m = w->mgrs; m; m = m->next) acting += m->m && ctl_manager_acting(m->m);
        for (scn_mgr *m = acting > 1 ? w->mgrs : NULL; m; m = m->next) /* named only for the report */
            if (m->m && ctl_manager_acting(m->m))
                t0_strjoin(who + strlen(who), sizeof who - strlen(who), *who ? ", " : "", m->identity);
        scn_checker_leaders(w->check, acting, who);
    }
    if (w->pending) scn_expect_step(w);
}

/* Every statement at its time; then the run goes on until the last deadline or `end`. */
static void run_statements(scn_world *w)
{
    const scn_script *script = w->script;
    int64_t end = w->o.end_ms;
    for (size_t i = 0; i < script->n; i++) {
        const scn_stmt *s = &script->st[i];
        sim_loop_run_until(w->loop, w->t0 + s->at_ms);
        if (s->at_ms > end) end = s->at_ms;
        if (!scn_verb_is_condition(s->verb)) {
            scn_exec(w, s);
            continue;
        }
        int64_t deadline = scn_expect(w, s);
        if (deadline > end) end = deadline;
    }
    sim_loop_run_until(w->loop, w->t0 + end);
}

t0_status scn_run(const scn_script *script, const scn_run_opts *ro, scn_result *res, t0_err *err)
{
    scn_world W, *w = &W;
    memset(w, 0, sizeof *w);
    memset(res, 0, sizeof *res);
    res->trace_hash = 1469598103934665603ull;
    w->script = script;
    w->ro = ro;
    w->res = res;
    apply_options(w);
    hmap_init(&w->bots);
    hmap_init(&w->programs);
    hmap_init(&w->fsm_state);
    hmap_init(&w->deleting);
    hmap_init(&w->phases);
    hmap_init(&w->job_runs);
    hmap_init(&w->code_zips);
    hmap_init(&w->events);
    t0_status st = world_new(w, err);
    if (st != T0_OK) {
        t0_err_prefix(err, "%s: setting up the world", script->path);
        world_free(w);
        return st;
    }
    t0_log_level old_level = t0_log_get_level();
    scn_observe(w);
    t0_log_set_level(ro->log_level >= 0 ? (t0_log_level)ro->log_level : T0_LOG_INFO);
    sim_loop_set_step_hook(w->loop, step_hook, w);

    scn_trace(w, "scenario", "replay %s seed=%llu", script->path, (unsigned long long)ro->seed);
    scn_progress_start(w);
    for (unsigned i = 1; i <= w->o.nodes; i++) {
        char n[16];
        snprintf(n, sizeof n, "node-%u", i);
        kubelet_add_node(w->kl, n, NULL);
    }
    if (w->o.manager) {
        scn_mgr *m = scn_mgr_new(w, "m1");
        if (m) scn_mgr_start(m);
    }
    run_statements(w);
    scn_checker_final(w->check);
    res->end_ms = scn_now(w);
    char ts[32];
    scn_trace(w, "scenario", "end at %s: %u expectations, %u passed, %u failed, %u violations, %llu steps",
              scn_format_offset(res->end_ms, ts, sizeof ts), res->expectations, res->passed, res->failed, res->violations,
              (unsigned long long)res->steps);
    scn_progress_final(w);
    if (ro->on_faults) ro->on_faults(ro->on_faults_ud, w->faults);
    t0_log_set_sink(NULL, NULL);
    t0_log_set_level(old_level);
    world_free(w);
    return T0_OK;
}
