/* actions.c: the executors of the scenario language's actions, one per verb, in one table
 * (scn_action_execs; tests/test_lang.c checks every action of the grammar has exactly one). They take the
 * statement's typed arguments as the grammar built them (docs/scenarios.md "Statements"). */
#include <stdlib.h>
#include <string.h>

#include "controllers/podgen.h"
#include "core/json.h"
#include "domain/botdoc.h"
#include "scenarios/world.h"

#define NS(w) ((w)->o.ns)

/* ---- bots as the API knows them ------------------------------------------------------------------------ */
void scn_bot_free(scn_bot *b)
{
    if (!b) return;
    free(b->id);
    cJSON_Delete(b->config);
    free(b->runtime);
    free(b->entry);
    free(b->version);
    free(b->name);
    free(b->path);
    free(b->cron);
    free(b);
}

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = strdup(v);
}

/* Apply a definition's changes (config.X=, config=, version=, runtime=, ...) to B, in order. */
static void apply_mods(scn_bot *b, const scn_stmt *s)
{
    for (size_t i = 0; i < s->a.def.nmods; i++) {
        const scn_mod *md = &s->a.def.mods[i];
        switch (md->key) {
        case SCN_MOD_CONFIG_KEY: {
            cJSON *val = cJSON_Duplicate(md->json, 1);
            if (!b->config) b->config = cJSON_CreateObject();
            if (!val || !b->config) {
                cJSON_Delete(val);
                continue;
            }
            if (t0_json_get(b->config, md->config_key)) cJSON_ReplaceItemInObjectCaseSensitive(b->config, md->config_key, val);
            else cJSON_AddItemToObject(b->config, md->config_key, val);
            break;
        }
        case SCN_MOD_CONFIG: {
            cJSON *val = cJSON_Duplicate(md->json, 1);
            if (val) {
                cJSON_Delete(b->config);
                b->config = val;
            }
            break;
        }
        case SCN_MOD_RUNTIME: set_str(&b->runtime, md->str); break;
        case SCN_MOD_ENTRY: set_str(&b->entry, md->str); break;
        case SCN_MOD_VERSION: set_str(&b->version, md->str); break;
        case SCN_MOD_NAME: set_str(&b->name, md->str); break;
        case SCN_MOD_PATH: set_str(&b->path, md->str); break;
        case SCN_MOD_CRON: set_str(&b->cron, md->str); break;
        }
    }
}

static scn_bot *bot_lookup(scn_world *w, const char *id) { return hmap_get(&w->bots, id); }

/* The bot ID, defined now when it is not yet (NULL when out of memory). */
static scn_bot *bot_define(scn_world *w, const char *id, bool sched)
{
    scn_bot *b = bot_lookup(w, id);
    if (b) return b;
    b = calloc(1, sizeof *b);
    if (!b || !(b->id = strdup(id)) || hmap_put(&w->bots, id, b, NULL) != T0_OK) {
        scn_bot_free(b);
        return NULL;
    }
    b->next = w->bot_list;
    w->bot_list = b;
    b->scheduled = sched;
    return b;
}

/* The bot's payload_bot; CFG_OUT receives the config to use (schedule added for schedules), owned. */
static payload_bot to_payload(const scn_bot *b, cJSON **cfg_out)
{
    cJSON *cfg = b->config ? cJSON_Duplicate(b->config, 1) : cJSON_CreateObject();
    if (cfg && b->scheduled && b->cron && !t0_json_get(cfg, "schedule"))
        cJSON_AddStringToObject(cfg, "schedule", b->cron);
    *cfg_out = cfg;
    return (payload_bot){.id = b->id, .scheduled = b->scheduled, .config = cfg, .name = b->name, .runtime = b->runtime,
                         .entry = b->entry, .version = b->version, .file_path = b->path};
}

/* ---- set-up ------------------------------------------------------------------------------------------------ */
static void x_applied_before(scn_world *w, const scn_stmt *s)
{
    (void)w, (void)s; /* option and end: applied before the run (world.c) */
}

static void x_define(scn_world *w, const scn_stmt *s)
{
    scn_bot *b = bot_define(w, s->a.def.id, false);
    if (!b) return;
    b->scheduled = s->verb == SCN_SCHEDULE;
    apply_mods(b, s);
    scn_trace(w, "scenario", "%s", s->text);
}

static void x_note(scn_world *w, const scn_stmt *s) { scn_trace(w, "note", "%s", s->a.note); }

/* object put/cut: what a person or another program does to the object store (no fault, no outage). */
static void x_object(scn_world *w, const scn_stmt *s)
{
    t0_err err = {0};
    t0_status st = T0_OK;
    w->scenario_objects = true;
    if (s->verb == SCN_OBJECT_PUT) {
        st = objfake_put_raw(w->obj, s->a.object.bucket, s->a.object.key, s->a.object.data, s->a.object.len, &err);
    } else {
        const objfake_object *o = objfake_peek(w->obj, s->a.object.bucket, s->a.object.key);
        char *half = o ? malloc(o->len / 2 + 1) : NULL;
        if (!o) st = t0_fail(&err, T0_ENOTFOUND, "no object %s/%s", s->a.object.bucket, s->a.object.key);
        else if (!half) st = t0_fail(&err, T0_ENOMEM, "out of memory");
        else {
            size_t n = o->len / 2;
            memcpy(half, o->data, n);
            st = objfake_put_raw(w->obj, s->a.object.bucket, s->a.object.key, half, n, &err);
        }
        free(half);
    }
    w->scenario_objects = false;
    if (st != T0_OK) scn_trace_force(w, "scenario", "%s: %s", s->text, err.msg);
    else scn_trace(w, "scenario", "%s", s->text);
}

static void x_invariant(scn_world *w, const scn_stmt *s)
{
    scn_trace(w, "scenario", "always %s (built in, checked after every step)", scn_invariant_names[s->a.invariant]);
}

/* ---- the API, MongoDB and NATS -------------------------------------------------------------------------- */
/* published: the API's message DATA on SUBJ reached NATS (ST OK): it is intent unless the intake rejects it.
 * Its version is where the stream stands now, when the intake writes versions (a durable consumer). */
static void published(scn_world *w, const scn_stmt *s, t0_status st, const char *subj, const char *data, size_t len)
{
    if (st != T0_OK) return; /* the API was told it failed: no intent */
    docver v = busfake_position(w->bus);
    char what[32];
    snprintf(what, sizeof what, "line %d", s->line);
    scn_oracle_event(w->oracle, subj, data, len, w->o.durable && w->o.nats ? &v : NULL, what);
}

static void x_publish_raw(scn_world *w, const scn_stmt *s)
{
    t0_err err = {0};
    const char *subj = s->a.raw.subject, *data = s->a.raw.data;
    t0_status st = w->busport.publish(w->busport.ctx, subj, data, strlen(data), &err);
    scn_trace(w, "api", "publish %s (raw, %zu bytes) -> %s%s%s", subj, strlen(data), t0_status_name(st), st ? " " : "",
              st ? err.msg : "");
    published(w, s, st, subj, data, strlen(data));
}

/* The definition fields of B, swapped with those of SNAP (a bot kept apart: its id and list link unused). */
static void bot_swap(scn_bot *b, scn_bot *snap)
{
    scn_bot t = *b;
#define SW(f) b->f = snap->f, snap->f = t.f
    SW(config), SW(runtime), SW(entry), SW(version), SW(name), SW(path), SW(cron), SW(scheduled);
#undef SW
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* bot_snapshot: a copy of B's definition fields (NULL when out of memory). */
static scn_bot *bot_snapshot(const scn_bot *b)
{
    scn_bot *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->scheduled = b->scheduled;
    c->config = b->config ? cJSON_Duplicate(b->config, 1) : NULL;
    c->runtime = dup_or_null(b->runtime), c->entry = dup_or_null(b->entry), c->version = dup_or_null(b->version);
    c->name = dup_or_null(b->name), c->path = dup_or_null(b->path), c->cron = dup_or_null(b->cron);
    return c;
}

static void x_publish(scn_world *w, const scn_stmt *s)
{
    t0_err err = {0};
    const char *id = s->a.def.id;
    bool sched = s->a.def.schedule, wrapped = s->a.def.wrapped;
    payload_op op = (payload_op)s->a.def.op;
    scn_bot *b = bot_define(w, id, sched);
    scn_bot *before = b ? bot_snapshot(b) : NULL;
    if (!before) return;
    apply_mods(b, s);
    cJSON *cfg;
    payload_bot pb = to_payload(b, &cfg);
    pb.scheduled = sched;
    pb.created_ms = w->t0;
    pb.updated_ms = sim_loop_now(w->loop);
    char *data = wrapped ? payload_wrapped(&pb, op, sim_loop_now(w->loop), &err) : payload_direct(&pb, op, &err);
    cJSON_Delete(cfg);
    const char *subj = payload_subject(sched, op);
    /* an event the intake rejects (a bad cron, an id no pod can carry) leaves the definition as it was */
    if (data && !scn_oracle_accepts(subj, data, strlen(data), NULL, NULL)) bot_swap(b, before);
    scn_bot_free(before);
    if (!data) {
        scn_trace_force(w, "scenario", "line %d: %s", s->line, err.msg);
        return;
    }
    t0_status st = w->busport.publish(w->busport.ctx, subj, data, strlen(data), &err);
    scn_trace(w, "api", "publish %s %s%s -> %s%s%s", subj, id, wrapped ? " (wrapped)" : "", t0_status_name(st),
              st ? " " : "", st ? err.msg : "");
    published(w, s, st, subj, data, strlen(data));
    free(data);
}

/* The collection of a defined bot (bots when it is not defined). */
static store_coll coll_of(scn_world *w, const char *id)
{
    scn_bot *b = bot_lookup(w, id);
    return b && b->scheduled ? STORE_SCHEDULES : STORE_BOTS;
}

/* store put|put-duplicate ID: the defined bot's document written straight into MongoDB; DUP adds a second
 * document with the same id. */
static void store_put(scn_world *w, const scn_stmt *s, bool dup)
{
    const char *id = s->a.def.id;
    t0_err err = {0};
    scn_bot *b = bot_lookup(w, id);
    store_coll c = coll_of(w, id);
    if (!b) {
        scn_trace_force(w, "scenario", "line %d: store %s %s: no bot or schedule of that name is defined", s->line,
                        dup ? "put-duplicate" : "put", id);
        return;
    }
    apply_mods(b, s);
    cJSON *cfg;
    payload_bot pb = to_payload(b, &cfg);
    pb.created_ms = w->t0;
    cJSON *doc = payload_document(&pb);
    cJSON_Delete(cfg);
    scn_checker_mark_broken(w->check, c, id, false);
    t0_status st = !doc  ? T0_ENOMEM
                   : dup ? storefake_put_duplicate(w->store, c, id, doc, &err)
                         : storefake_put(w->store, c, id, doc, &err);
    char what[48];
    snprintf(what, sizeof what, "store %s (line %d)", dup ? "put-duplicate" : "put", s->line);
    if (st == T0_OK) scn_oracle_direct(w->oracle, c, id, doc, dup, what);
    cJSON_Delete(doc);
    scn_trace(w, "scenario", "store %s %s %s -> %s", dup ? "put-duplicate" : "put", store_coll_name(c), id,
              t0_status_name(st));
}

static void x_store_put(scn_world *w, const scn_stmt *s) { store_put(w, s, false); }
static void x_store_put_duplicate(scn_world *w, const scn_stmt *s) { store_put(w, s, true); }

static void x_store_put_broken(scn_world *w, const scn_stmt *s)
{
    const char *id = s->a.broken.id;
    t0_err err = {0};
    store_coll c = s->a.broken.schedule ? STORE_SCHEDULES : coll_of(w, id);
    scn_checker_mark_broken(w->check, c, id, true);
    char what[48];
    snprintf(what, sizeof what, "store put-broken (line %d)", s->line);
    if (storefake_put_broken(w->store, c, id, &err) == T0_OK) scn_oracle_direct(w->oracle, c, id, NULL, true, what);
    scn_trace(w, "scenario", "store put-broken %s %s", store_coll_name(c), id);
}

static void x_store_del(scn_world *w, const scn_stmt *s)
{
    const char *id = s->a.obj.name;
    t0_err err = {0};
    store_coll c = coll_of(w, id);
    if (!bot_lookup(w, id) && !storefake_peek(w->store, STORE_BOTS, id)) c = STORE_SCHEDULES;
    t0_status st = storefake_del(w->store, c, id, &err);
    char what[48];
    snprintf(what, sizeof what, "store del (line %d)", s->line);
    scn_oracle_direct(w->oracle, c, id, NULL, false, what); /* a delete whether or not a document was there */
    scn_trace(w, "scenario", "store del %s %s -> %s", store_coll_name(c), id, t0_status_name(st));
}

/* ---- programs and faults --------------------------------------------------------------------------------- */
static kubelet_program *program_of(scn_world *w, const char *id)
{
    scn_program *p = hmap_get(&w->programs, id);
    if (!p) {
        p = malloc(sizeof *p);
        if (!p) return NULL;
        kubelet_program_default(&p->p);
        if (hmap_put(&w->programs, id, p, NULL) != T0_OK) {
            free(p);
            return NULL;
        }
        p->next = w->program_list;
        w->program_list = p;
    }
    return &p->p;
}

static void model_apply(kubelet_program *p, const scn_model_op *op)
{
    switch (op->kind) {
    case SCN_M_FOREVER: p->exit_after_ms = -1; break;
    case SCN_M_IGNORE_SIGTERM: p->term_ms = -1; break;
    case SCN_M_CRASH_EVERY: p->exit_after_ms = op->ms, p->exit_code = 1; break;
    case SCN_M_EXIT: p->exit_code = op->n; break;
    case SCN_M_AFTER: p->exit_after_ms = op->ms; break;
    case SCN_M_LOG_EVERY: p->log_every_ms = op->ms; break;
    case SCN_M_TEXT: snprintf(p->log_text, sizeof p->log_text, "%s", op->val); break;
    case SCN_M_TERM: p->term_ms = op->ms; break;
    case SCN_M_WRITE_STATE:
        if (p->nwrites >= KUBELET_MAX_WRITES) break;
        snprintf(p->writes[p->nwrites].key, sizeof p->writes[0].key, "%s", op->key);
        snprintf(p->writes[p->nwrites].val, sizeof p->writes[0].val, "%s", op->val);
        p->writes[p->nwrites].at_ms = op->ms;
        p->nwrites++;
        break;
    case SCN_M_INIT_FAIL: p->init_failures = op->n; break;
    case SCN_M_INIT_MS: p->init_ms = op->ms; break;
    case SCN_M_PULL_FAIL: p->pull_fail = true; break;
    case SCN_M_PULL_MS: p->pull_ms = op->ms; break;
    case SCN_M_WRITE_EVERY: p->write_every_ms = op->ms; break;
    case SCN_M_VOLUME: {
        size_t i = 0;
        while (i < p->nvolumes && strcmp(p->volumes[i].name, op->key)) i++;
        if (i == KUBELET_MAX_VOLUMES) break;
        if (i == p->nvolumes) p->nvolumes++;
        snprintf(p->volumes[i].name, sizeof p->volumes[i].name, "%s", op->key);
        p->volumes[i].bytes = (uint64_t)op->ms;
        break;
    }
    case SCN_M_CODE_FILE:
        if (p->ncode_files < KUBELET_MAX_CODE_FILES)
            snprintf(p->code_files[p->ncode_files++], sizeof p->code_files[0], "%s", op->val);
        break;
    }
}

static void x_model(scn_world *w, const scn_stmt *s)
{
    const char *id = s->a.model.id;
    kubelet_program *p = program_of(w, id);
    if (!p) return;
    for (size_t i = 0; i < s->a.model.nops; i++) model_apply(p, &s->a.model.ops[i]);
    t0_err err = {0};
    if (kubelet_set_program(w->kl, id, p, &err) != T0_OK) scn_trace_force(w, "scenario", "model %s: %s", id, err.msg);
    else scn_trace(w, "scenario", "%s", s->text);
}

static void x_fault(scn_world *w, const scn_stmt *s)
{
    const char *point = s->a.fault.point;
    const sim_fault_spec *spec = &s->a.fault.spec;
    t0_err err = {0};
    const char *mgr = s->a.fault.manager, *bare = mgr ? point + strlen(mgr) + 1 : point;
    w->scoped_faults |= mgr != NULL;
    if (sim_faults_inject(w->faults, point, spec, &err) != T0_OK)
        scn_trace_force(w, "scenario", "line %d: fault rejected: %s", s->line, err.msg);
    else scn_trace(w, "fault", "inject %s %s%s%s (status %s, p=%g, count=%llu, calls=%llu..%llu, ms=%lld)", point,
                   sim_fault_kind_name(spec->kind), mgr ? " (that manager's API calls only)" : "",
                   sim_faults_known(bare) ? "" : " [undocumented point]",
                   t0_status_name(spec->status), spec->probability, (unsigned long long)spec->count,
                   (unsigned long long)spec->first_call, (unsigned long long)spec->last_call, (long long)spec->ms);
}

static void x_clear_fault(scn_world *w, const scn_stmt *s)
{
    bool any = sim_faults_clear(w->faults, s->a.fault.point);
    scn_trace(w, "fault", "clear %s%s", s->a.fault.point, any ? "" : " (nothing was injected)");
}

static void x_clear_faults(scn_world *w, const scn_stmt *s)
{
    (void)s;
    bool any = sim_faults_clear(w->faults, "*");
    scn_trace(w, "fault", "clear all%s", any ? "" : " (nothing was injected)");
}

static void x_outage(scn_world *w, const scn_stmt *s)
{
    static const char *const names[] = {"mongo", "nats", "s3"};
    bool on = s->a.outage.on;
    switch (s->a.outage.server) {
    case SCN_SERVER_MONGO:
        storefake_set_outage(w->store, on);
        scn_checker_mongo_outage(w->check, on);
        break;
    case SCN_SERVER_NATS: busfake_set_outage(w->bus, on); break;
    case SCN_SERVER_S3: objfake_set_outage(w->obj, on); break;
    }
    scn_trace(w, "fault", "outage %s %s", names[s->a.outage.server], on ? "on" : "off");
}

/* ---- controllers ------------------------------------------------------------------------------------------ */
/* The manager a statement names; traced when there is none. */
static scn_mgr *mgr_named(scn_world *w, const scn_stmt *s)
{
    scn_mgr *m = scn_mgr_find(w, s->a.mgr.name);
    if (!m) scn_trace_force(w, "scenario", "line %d: no manager %s", s->line, s->a.mgr.name);
    return m;
}

static void x_crash_controller(scn_world *w, const scn_stmt *s)
{
    scn_mgr *m = mgr_named(w, s);
    if (!m) return;
    m->restart_after = s->a.mgr.restart_after_ms;
    if (s->a.mgr.at_effect_set) {
        m->crash_at = m->effects + s->a.mgr.at_effect;
        scn_trace(w, m->identity, "will crash before effect #%llu", (unsigned long long)m->crash_at);
        return;
    }
    scn_mgr_stop(m);
    scn_trace(w, m->identity, "CRASH (no cleanup, lease kept)");
    if (m->restart_after >= 0) scn_mgr_restart_in(m, m->restart_after);
}

static void x_restart_controller(scn_world *w, const scn_stmt *s)
{
    scn_mgr *m = mgr_named(w, s);
    if (!m) return;
    scn_mgr_stop(m);
    scn_mgr_start(m);
}

static void x_start_manager(scn_world *w, const scn_stmt *s)
{
    scn_mgr *m = scn_mgr_find(w, s->a.mgr.name);
    if (!m) m = scn_mgr_new(w, s->a.mgr.name);
    if (m && !m->m) scn_mgr_start(m);
}

/* clock M OFFSET: M's node's wall clock reads OFFSET off the true time from now on (a skewed node, or an NTP
 * step while M runs); its monotonic clock does not move */
static void x_clock(scn_world *w, const scn_stmt *s)
{
    scn_mgr *m = scn_mgr_find(w, s->a.mgr.name);
    if (!m) m = scn_mgr_new(w, s->a.mgr.name);
    if (!m) return;
    scn_trace(w, "scenario", "clock of %s: %+.3f s off the true time (was %+.3f s)", m->name,
              (double)s->a.mgr.clock_ms / 1000.0, (double)m->wall_offset_ms / 1000.0);
    m->wall_offset_ms = s->a.mgr.clock_ms;
}

static void x_stop_manager(scn_world *w, const scn_stmt *s)
{
    scn_mgr *m = mgr_named(w, s);
    if (!m) return;
    if (m->m) ctl_manager_release(m->m);
    scn_mgr_stop(m);
    scn_trace(w, m->identity, "manager stopped (lease released)");
}

static void x_resync(scn_world *w, const scn_stmt *s)
{
    (void)s;
    for (scn_mgr *m = w->mgrs; m; m = m->next)
        if (m->m) ctl_manager_resync_now(m->m);
    scn_trace(w, "scenario", "resync");
}

/* ---- nodes and objects -------------------------------------------------------------------------------------- */
static void node_traced(scn_world *w, const char *verb, const char *node, t0_status st, const t0_err *err)
{
    scn_trace(w, "scenario", "%s node %s -> %s%s%s", verb, node, t0_status_name(st), st ? " " : "", st ? err->msg : "");
}

static void x_kill_node(scn_world *w, const scn_stmt *s)
{
    t0_err err = {0};
    node_traced(w, "kill", s->a.obj.name, kubelet_node_down(w->kl, s->a.obj.name, &err), &err);
}

static void x_revive_node(scn_world *w, const scn_stmt *s)
{
    t0_err err = {0};
    node_traced(w, "revive", s->a.obj.name, kubelet_node_up(w->kl, s->a.obj.name, &err), &err);
}

static void x_add_node(scn_world *w, const scn_stmt *s)
{
    t0_err err = {0};
    node_traced(w, "add", s->a.obj.name, kubelet_add_node(w->kl, s->a.obj.name, &err), &err);
}

static void x_evict_pod(scn_world *w, const scn_stmt *s)
{
    t0_err err = {0};
    t0_status st = kubelet_evict(w->kl, NS(w), s->a.obj.name, &err);
    scn_trace(w, "scenario", "evict pod %s -> %s", s->a.obj.name, t0_status_name(st));
}

static void x_oom_kill(scn_world *w, const scn_stmt *s)
{
    t0_err err = {0};
    t0_status st = kubelet_oom_kill(w->kl, NS(w), s->a.obj.name, s->a.obj.container, &err);
    scn_trace(w, "scenario", "oom-kill pod %s container=%s -> %s", s->a.obj.name, s->a.obj.container,
              t0_status_name(st));
}

/* create pod|cronjob for ID: the object the controller would create, through the client port. */
static void create_for(scn_world *w, const scn_stmt *s, bool cronjob)
{
    const char *id = s->a.obj.name;
    scn_bot *b = bot_lookup(w, id);
    if (!b) {
        scn_trace_force(w, "scenario", "line %d: create %s for %s: not defined", s->line, cronjob ? "cronjob" : "pod", id);
        return;
    }
    cJSON *cfg;
    payload_bot pb = to_payload(b, &cfg);
    cJSON *doc = payload_document(&pb);
    cJSON_Delete(cfg);
    botdoc *d = NULL;
    cJSON *obj = NULL;
    t0_err err = {0};
    podgen_settings ps;
    podgen_settings_defaults(&ps);
    ps.namespace = NS(w);
    t0_status st = doc ? botdoc_parse(doc, &d, &err) : T0_ENOMEM;
    if (st == T0_OK) st = cronjob ? podgen_cronjob(&ps, d, &obj, &err) : podgen_pod(&ps, d, &obj, &err);
    kube_port cp = kfake_port(w->kube); /* the client port: kube/pod/create etc. faults apply */
    w->scenario_creating = true;
    if (st == T0_OK) st = cp.create(cp.ctx, cronjob ? KUBE_CRONJOB : KUBE_POD, NS(w), obj, NULL, &err);
    w->scenario_creating = false;
    const char *name = obj ? kfake_str(obj, "metadata.name") : NULL;
    scn_trace(w, "scenario", "create %s %s for %s -> %s%s%s", cronjob ? "cronjob" : "pod", name ? name : "?", id,
              t0_status_name(st), st ? " " : "", st ? err.msg : "");
    cJSON_Delete(obj);
    botdoc_destroy(d);
    cJSON_Delete(doc);
}

static void x_create_pod_for(scn_world *w, const scn_stmt *s) { create_for(w, s, false); }
static void x_create_cronjob_for(scn_world *w, const scn_stmt *s) { create_for(w, s, true); }

/* delete pod|cronjob NAME: through the system port, not counted as the controller's deletion. */
static void delete_obj(scn_world *w, const scn_stmt *s, bool cronjob)
{
    t0_err err = {0};
    kube_delete_opts o = {cronjob ? KUBE_PROP_FOREGROUND : KUBE_PROP_BACKGROUND, s->a.obj.grace_s, NULL};
    w->scenario_deleting = true;
    t0_status st = w->sys.remove(w->sys.ctx, cronjob ? KUBE_CRONJOB : KUBE_POD, NS(w), s->a.obj.name, &o, &err);
    w->scenario_deleting = false;
    scn_trace(w, "scenario", "delete %s %s -> %s", cronjob ? "cronjob" : "pod", s->a.obj.name, t0_status_name(st));
}

static void x_delete_pod(scn_world *w, const scn_stmt *s) { delete_obj(w, s, false); }
static void x_delete_cronjob(scn_world *w, const scn_stmt *s) { delete_obj(w, s, true); }

/* ---- objects that are not ours ----------------------------------------------------------------------------- */
/* owner_ref: an ownerReference to KIND/NAME: the uid of that object when the cluster holds it (Pods, CronJobs,
 * Jobs), else a uid no object has (the owner lives elsewhere or is gone) */
static cJSON *owner_ref(scn_world *w, const char *kind, const char *name)
{
    static const struct {
        const char *kind, *api;
        kube_kind k;
    } known[] = {{"Pod", "v1", KUBE_POD}, {"CronJob", "batch/v1", KUBE_CRONJOB}, {"Job", "batch/v1", KUBE_JOB}};
    const char *api = "apps/v1", *uid = NULL;
    for (size_t i = 0; i < T0_ARRAY_LEN(known); i++)
        if (!strcmp(kind, known[i].kind)) {
            api = known[i].api;
            const cJSON *o = kfake_peek(w->kube, known[i].k, NS(w), name);
            uid = o ? kfake_str(o, "metadata.uid") : NULL;
        }
    cJSON *r = cJSON_CreateObject();
    T0_JSON_STR(r, "apiVersion", api);
    T0_JSON_STR(r, "kind", kind);
    T0_JSON_STR(r, "name", name);
    T0_JSON_STR(r, "uid", uid ? uid : "00000000-0000-4000-8000-0000000fffff");
    T0_JSON_BOOL(r, "controller", true);
    return r;
}

/* create pod|cronjob NAME ...: an object someone else makes (another controller, an operator): through the
 * cluster's own port, so no fault meant for our controller touches it, and not counted as ours */
static void x_create_foreign(scn_world *w, const scn_stmt *s)
{
    bool cj = s->verb == SCN_CREATE_CRONJOB;
    const char *name = s->a.foreign.name;
    cJSON *obj = cJSON_CreateObject();
    T0_JSON_STR(obj, "apiVersion", cj ? "batch/v1" : "v1");
    T0_JSON_STR(obj, "kind", cj ? "CronJob" : "Pod");
    cJSON *md = T0_JSON_OBJ(obj, "metadata");
    T0_JSON_STR(md, "name", name);
    T0_JSON_STR(md, "namespace", NS(w));
    if (s->a.foreign.labels) cJSON_AddItemToObject(md, "labels", cJSON_Duplicate(s->a.foreign.labels, 1));
    if (s->a.foreign.annotations) cJSON_AddItemToObject(md, "annotations", cJSON_Duplicate(s->a.foreign.annotations, 1));
    if (s->a.foreign.finalizers) cJSON_AddItemToObject(md, "finalizers", cJSON_Duplicate(s->a.foreign.finalizers, 1));
    if (s->a.foreign.owner_kind)
        cJSON_AddItemToArray(cJSON_AddArrayToObject(md, "ownerReferences"), owner_ref(w, s->a.foreign.owner_kind, s->a.foreign.owner_name));
    cJSON *pod = cJSON_CreateObject();
    cJSON *ctr = cJSON_CreateObject();
    T0_JSON_STR(ctr, "name", "app");
    T0_JSON_STR(ctr, "image", "registry.example.com/someone-else/app:1");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(pod, "containers"), ctr);
    T0_JSON_STR(pod, "restartPolicy", cj ? "Never" : "Always");
    if (cj) {
        cJSON *spec = T0_JSON_OBJ(obj, "spec");
        T0_JSON_STR(spec, "schedule", s->a.foreign.schedule ? s->a.foreign.schedule : "*/5 * * * *");
        cJSON_AddItemToObject(T0_JSON_OBJ(T0_JSON_OBJ(T0_JSON_OBJ(spec, "jobTemplate"), "spec"), "template"), "spec", pod);
    } else {
        T0_JSON_NUM(pod, "terminationGracePeriodSeconds", 30);
        cJSON_AddItemToObject(obj, "spec", pod);
    }
    t0_err err = {0};
    w->scenario_creating = true;
    t0_status st = w->sys.create(w->sys.ctx, cj ? KUBE_CRONJOB : KUBE_POD, NS(w), obj, NULL, &err);
    w->scenario_creating = false;
    scn_trace(w, "scenario", "create %s %s (someone else's) -> %s%s%s", cj ? "cronjob" : "pod", name, t0_status_name(st),
              st ? " " : "", st ? err.msg : "");
    cJSON_Delete(obj);
}

/* add finalizer / remove finalizers: what another controller does to an object's metadata.finalizers
 * (removing keeps the garbage collector's foregroundDeletion) */
static void x_finalizers(scn_world *w, const scn_stmt *s)
{
    bool add = s->verb == SCN_ADD_FINALIZER;
    kube_kind k = s->a.fin.cronjob ? KUBE_CRONJOB : KUBE_POD;
    const cJSON *cur = kfake_peek(w->kube, k, NS(w), s->a.fin.name);
    t0_err err = {0};
    t0_status st = T0_ENOTFOUND;
    if (cur) {
        cJSON *obj = cJSON_Duplicate(cur, 1);
        cJSON *md = t0_json_get(obj, "metadata");
        cJSON *f = t0_json_get(md, "finalizers");
        if (!f) f = cJSON_AddArrayToObject(md, "finalizers");
        if (add) cJSON_AddItemToArray(f, cJSON_CreateString(s->a.fin.value));
        else
            for (int i = cJSON_GetArraySize(f) - 1; i >= 0; i--) {
                const cJSON *it = cJSON_GetArrayItem(f, i);
                if (!cJSON_IsString(it) || strcmp(it->valuestring, "foregroundDeletion")) cJSON_DeleteItemFromArray(f, i);
            }
        if (!cJSON_GetArraySize(f)) cJSON_DeleteItemFromObjectCaseSensitive(md, "finalizers");
        st = w->sys.update(w->sys.ctx, k, NS(w), obj, NULL, &err);
        cJSON_Delete(obj);
    }
    scn_trace(w, "scenario", "%s %s %s%s%s -> %s", add ? "add finalizer" : "remove finalizers", s->a.fin.cronjob ? "cronjob" : "pod",
              s->a.fin.name, add ? " " : "", add ? s->a.fin.value : "", t0_status_name(st));
}

static void x_mongo_restore(scn_world *w, const scn_stmt *s)
{
    storefake_set_restoring(w->store, s->a.down);
    scn_trace(w, "fault", "mongo-restore %s", s->a.down ? "on (reads find nothing)" : "off");
}

static void x_cronjob_controller(scn_world *w, const scn_stmt *s)
{
    cronctl_set_down(w->cc, s->a.down);
    scn_trace(w, "scenario", "cronjob-controller %s", s->a.down ? "down" : "up");
}

/* ---- the table ------------------------------------------------------------------------------------------------ */
const scn_action_exec scn_action_execs[] = {
    {SCN_OPTION, x_applied_before},
    {SCN_END, x_applied_before},
    {SCN_BOT, x_define},
    {SCN_SCHEDULE, x_define},
    {SCN_PUBLISH, x_publish},
    {SCN_PUBLISH_RAW, x_publish_raw},
    {SCN_STORE_PUT, x_store_put},
    {SCN_STORE_PUT_DUPLICATE, x_store_put_duplicate},
    {SCN_STORE_PUT_BROKEN, x_store_put_broken},
    {SCN_STORE_DEL, x_store_del},
    {SCN_MODEL, x_model},
    {SCN_FAULT, x_fault},
    {SCN_CLEAR_FAULT, x_clear_fault},
    {SCN_CLEAR_FAULTS, x_clear_faults},
    {SCN_OUTAGE, x_outage},
    {SCN_CRASH_CONTROLLER, x_crash_controller},
    {SCN_RESTART_CONTROLLER, x_restart_controller},
    {SCN_START_MANAGER, x_start_manager},
    {SCN_STOP_MANAGER, x_stop_manager},
    {SCN_CLOCK, x_clock},
    {SCN_KILL_NODE, x_kill_node},
    {SCN_REVIVE_NODE, x_revive_node},
    {SCN_ADD_NODE, x_add_node},
    {SCN_EVICT_POD, x_evict_pod},
    {SCN_OOM_KILL, x_oom_kill},
    {SCN_CREATE_POD_FOR, x_create_pod_for},
    {SCN_CREATE_CRONJOB_FOR, x_create_cronjob_for},
    {SCN_DELETE_POD, x_delete_pod},
    {SCN_DELETE_CRONJOB, x_delete_cronjob},
    {SCN_CRONJOB_CONTROLLER, x_cronjob_controller},
    {SCN_RESYNC, x_resync},
    {SCN_NOTE, x_note},
    {SCN_OBJECT_PUT, x_object},
    {SCN_OBJECT_CUT, x_object},
    {SCN_CREATE_POD, x_create_foreign},
    {SCN_CREATE_CRONJOB, x_create_foreign},
    {SCN_ADD_FINALIZER, x_finalizers},
    {SCN_REMOVE_FINALIZERS, x_finalizers},
    {SCN_MONGO_RESTORE, x_mongo_restore},
    {SCN_INVARIANT, x_invariant},
};
const size_t scn_action_execs_len = T0_ARRAY_LEN(scn_action_execs);

void scn_exec(scn_world *w, const scn_stmt *s)
{
    for (size_t i = 0; i < scn_action_execs_len; i++)
        if (scn_action_execs[i].verb == s->verb) return scn_action_execs[i].exec(w, s);
    scn_trace_force(w, "scenario", "line %d: statement not implemented: %s", s->line, s->text);
}
