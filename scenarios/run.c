/* run.c: the scenario runner: builds the simulated world, executes statements at their simulated
 * times, evaluates expectations and writes the trace (see docs/scenarios.md). */
#include <stdlib.h>
#include <string.h>

#include "domain/botdoc.h"
#include "controllers/podgen.h"
#include "core/json.h"
#include "core/log.h"
#include "core/str.h"
#include "fsm/tables.h"
#include "scenarios/world.h"

#define NS(w) ((w)->o.ns)

/* ---- trace ---------------------------------------------------------------------------------------- */
int64_t scn_now(scn_world *w) { return sim_loop_now(w->loop) - w->t0; }

/* scn_traced: whether a line that is not forced goes anywhere (or into the trace hash). */
static bool scn_traced(const scn_world *w) { return !w->ro->untraced || !w->ro->quiet || w->ro->trace; }

static void emit(scn_world *w, bool force, const char *who, const char *fmt, va_list ap)
{
    char ts[32], body[1400], line[1600];
    if (!force && !scn_traced(w)) {
        w->res->trace_lines++;
        return;
    }
    vsnprintf(body, sizeof body, fmt, ap);
    int n = snprintf(line, sizeof line, "[%s] %s %s\n", scn_format_offset(scn_now(w), ts, sizeof ts), who, body);
    if (n < 0) return;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    if (len && line[len - 1] != '\n') line[len - 1] = '\n';
    for (size_t i = 0; i < len; i++) w->res->trace_hash = (w->res->trace_hash ^ (unsigned char)line[i]) * 1099511628211ull;
    w->res->trace_lines++;
    if (w->ro->trace) fwrite(line, 1, len, w->ro->trace);
    if (!w->ro->quiet || force) fwrite(line, 1, len, w->ro->out);
}

void scn_trace(scn_world *w, const char *who, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(w, false, who, fmt, ap);
    va_end(ap);
}

static void trace_force(scn_world *w, const char *who, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void trace_force(scn_world *w, const char *who, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(w, true, who, fmt, ap);
    va_end(ap);
}

void scn_violation(scn_world *w, int which, const char *fmt, ...)
{
    char body[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    w->res->violations++;
    if (which >= 0 && which < 8) w->violations_by[which]++;
    trace_force(w, "invariant", "%s VIOLATED: %s", which >= 0 ? scn_invariant_names[which] : "always", body);
}

static void log_sink(void *ud, t0_log_level lvl, const char *component, const char *msg)
{
    scn_world *w = ud;
    scn_trace(w, "log", "%s %s: %s", t0_log_level_name(lvl), component, msg);
}

/* ---- small helpers ---------------------------------------------------------------------------------- */
static const char *kv_get(const scn_stmt *s, size_t from, const char *key)
{
    size_t kl = strlen(key);
    for (size_t i = from; i < s->n; i++)
        if (scn_tok_is_kv(&s->w[i]) && !strncmp(s->w[i].s, key, kl) && s->w[i].s[kl] == '=') return s->w[i].s + kl + 1;
    return NULL;
}

static int64_t dur(const char *v, int64_t def)
{
    int64_t d;
    return v && scn_parse_duration(v, &d) ? d : def;
}

static bool cmp_op(const char *op, uint64_t a, uint64_t b)
{
    if (!strcmp(op, ">=")) return a >= b;
    if (!strcmp(op, "<=")) return a <= b;
    if (!strcmp(op, ">")) return a > b;
    if (!strcmp(op, "<")) return a < b;
    if (!strcmp(op, "!=")) return a != b;
    return a == b;
}


static void bot_free(scn_bot *b)
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
    if (!v) return;
    free(*dst);
    *dst = strdup(v);
}

/* Apply KEY=VALUE modifications (config.X=json-or-string, version=, runtime=, ...) to B. */
static void apply_mods(scn_bot *b, const scn_stmt *s, size_t from)
{
    for (size_t i = from; i < s->n; i++) {
        const scn_tok *t = &s->w[i];
        if (!scn_tok_is_kv(t)) continue;
        const char *eq = strchr(t->s, '=');
        const char *v = eq + 1;
        size_t kl = (size_t)(eq - t->s);
        if (kl > 7 && !strncmp(t->s, "config.", 7)) {
            char key[128];
            snprintf(key, sizeof key, "%.*s", (int)(kl - 7), t->s + 7);
            cJSON *val = cJSON_Parse(v);
            if (!val) val = cJSON_CreateString(v);
            if (!b->config) b->config = cJSON_CreateObject();
            if (!val || !b->config) {
                cJSON_Delete(val);
                continue;
            }
            if (t0_json_get(b->config, key)) cJSON_ReplaceItemInObjectCaseSensitive(b->config, key, val);
            else cJSON_AddItemToObject(b->config, key, val);
        } else if (kl == 6 && !strncmp(t->s, "config", 6)) {
            cJSON *val = cJSON_Parse(v);
            if (val) {
                cJSON_Delete(b->config);
                b->config = val;
            }
        }
#define STRKEY(name, field)                                                                                        \
    else if (kl == strlen(name) && !strncmp(t->s, name, kl)) set_str(&b->field, v);
        STRKEY("runtime", runtime)
        STRKEY("entry", entry)
        STRKEY("version", version)
        STRKEY("name", name)
        STRKEY("path", path)
        STRKEY("cron", cron)
#undef STRKEY
    }
}

static scn_bot *bot_lookup(scn_world *w, const char *id) { return sim_map_get(&w->bots, id); }

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

/* ---- API interposers (per manager): trace writes and failures, feed the invariant checker ----------- */
static const char *st_name(t0_status st) { return t0_status_name(st); }

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
        scn_trace(m->w, m->identity, "api %s %s %s/%s -> %s (%s)", verb, kube_kind_name(k), ns ? ns : "", name, st_name(st),
                  err && err->msg[0] ? err->msg : "-");
}

static t0_status ik_create(void *ctx, kube_kind k, const char *ns, const cJSON *obj, cJSON **out, t0_err *err)
{
    scn_mgr *m = ctx;
    kube_port p = kfake_port(m->w->kube);
    t0_err e = {0};
    t0_status st = p.create(p.ctx, k, ns, obj, out, &e);
    if (k != KUBE_LEASE || st != T0_OK) trace_call(m, "create", k, ns, obj_name(obj), st, &e);
    if (err) *err = e;
    return st;
}

static t0_status ik_get(void *ctx, kube_kind k, const char *ns, const char *name, cJSON **out, t0_err *err)
{
    scn_mgr *m = ctx;
    kube_port p = kfake_port(m->w->kube);
    t0_err e = {0};
    t0_status st = p.get(p.ctx, k, ns, name, out, &e);
    if (st != T0_OK && st != T0_ENOTFOUND) trace_call(m, "get", k, ns, name, st, &e);
    if (err) *err = e;
    return st;
}

static t0_status ik_list(void *ctx, kube_kind k, const char *ns, const char *sel, cJSON **out, t0_err *err)
{
    scn_mgr *m = ctx;
    kube_port p = kfake_port(m->w->kube);
    t0_err e = {0};
    t0_status st = p.list(p.ctx, k, ns, sel, out, &e);
    if (st != T0_OK) trace_call(m, "list", k, ns, sel ? sel : "", st, &e);
    if (err) *err = e;
    return st;
}

static t0_status ik_update(void *ctx, kube_kind k, const char *ns, const cJSON *obj, cJSON **out, t0_err *err)
{
    scn_mgr *m = ctx;
    kube_port p = kfake_port(m->w->kube);
    t0_err e = {0};
    t0_status st = p.update(p.ctx, k, ns, obj, out, &e);
    if (k != KUBE_LEASE || st != T0_OK) trace_call(m, "update", k, ns, obj_name(obj), st, &e);
    if (err) *err = e;
    return st;
}

static t0_status ik_update_status(void *ctx, kube_kind k, const char *ns, const cJSON *obj, cJSON **out, t0_err *err)
{
    scn_mgr *m = ctx;
    kube_port p = kfake_port(m->w->kube);
    t0_err e = {0};
    t0_status st = p.update_status(p.ctx, k, ns, obj, out, &e);
    trace_call(m, "update_status", k, ns, obj_name(obj), st, &e);
    if (err) *err = e;
    return st;
}

static t0_status ik_remove(void *ctx, kube_kind k, const char *ns, const char *name, const kube_delete_opts *o, t0_err *err)
{
    scn_mgr *m = ctx;
    kube_port p = kfake_port(m->w->kube);
    t0_err e = {0};
    t0_status st = p.remove(p.ctx, k, ns, name, o, &e);
    trace_call(m, "delete", k, ns, name, st, &e);
    if (err) *err = e;
    return st;
}

static t0_status ik_watch(void *ctx, kube_kind k, const char *ns, const char *sel, const char *rv, kube_watch_fn fn,
                          void *ud, kube_watch **out, t0_err *err)
{
    scn_mgr *m = ctx;
    kube_port p = kfake_port(m->w->kube);
    t0_err e = {0};
    t0_status st = p.watch(p.ctx, k, ns, sel, rv, fn, ud, out, &e);
    if (st != T0_OK) trace_call(m, "watch", k, ns, sel ? sel : "", st, &e);
    if (err) *err = e;
    return st;
}

static void ik_unwatch(void *ctx, kube_watch *wt)
{
    scn_mgr *m = ctx;
    kube_port p = kfake_port(m->w->kube);
    p.unwatch(p.ctx, wt);
}

static t0_status is_find(void *ctx, store_coll c, cJSON **out, uint64_t **revs, t0_err *err)
{
    scn_mgr *m = ctx;
    store_port p = storefake_port(m->w->store);
    t0_err e = {0};
    t0_status st = p.find_enabled(p.ctx, c, out, revs, &e);
    if (st != T0_OK) scn_trace(m->w, m->identity, "mongo find %s -> %s (%s)", store_coll_name(c), st_name(st), e.msg);
    scn_inv_read(m->w, c, st, st == T0_OK ? *out : NULL);
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
        scn_trace(m->w, m->identity, "mongo get %s %s -> %s (%s)", store_coll_name(c), id, st_name(st), e.msg);
    if (c <= STORE_SCHEDULES) scn_inv_get(m->w, c, id, st, st == T0_OK ? *out : NULL);
    if (err) *err = e;
    return st;
}

static t0_status is_upsert(void *ctx, store_coll c, const char *id, const cJSON *fields, t0_err *err)
{
    scn_mgr *m = ctx;
    store_port p = storefake_port(m->w->store);
    t0_err e = {0};
    t0_status st = p.upsert(p.ctx, c, id, fields, &e);
    scn_trace(m->w, m->identity, "mongo upsert %s %s -> %s%s%s", store_coll_name(c), id, st_name(st), st ? " " : "",
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
    scn_trace(m->w, m->identity, "mongo remove %s %s -> %s", store_coll_name(c), id, st_name(st));
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
              w->id ? w->id : "",
              vs ? " v=" : "", vs ? vs : "", w->older_than ? " if older" : "", st_name(st), st ? " " : "", st ? e.msg : "");
    if (err) *err = e;
    return st;
}

/* ---- managers ------------------------------------------------------------------------------------- */
static void fsm_hook(void *ud, const fsm_table *t, const char *key, const fsm_result *r)
{
    scn_mgr *m = ud;
    scn_world *w = m->w;
    char k[300], fx[160] = "";
    t0_strjoin(k, sizeof k, t->name, "/", key);
    sim_map_put(&w->fsm_state, k, (void *)(intptr_t)(r->to + 1), NULL);
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

static void mgr_start(scn_mgr *m);

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
    if (!m->m) mgr_start(m);
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
    if (m->restart_after >= 0) m->restart_timer = sim_loop_timer(w->loop, m->restart_after, mgr_restart_cb, m);
    return false;
}

static void mgr_start(scn_mgr *m)
{
    scn_world *w = m->w;
    m->incarnation++;
    m->effects = 0;
    snprintf(m->identity, sizeof m->identity, "%s#%d", m->name, m->incarnation);
    ctl_settings_defaults(&m->s);
    m->s.pod.namespace = w->o.ns;
    m->s.identity = m->identity;
    if (w->o.resync_ms > 0) m->s.resync_ms = w->o.resync_ms;
    if (w->o.requeue_ms > 0) m->s.requeue_ms = w->o.requeue_ms;
    if (w->o.crashloop_escalate > 0) m->s.crashloop_escalate = w->o.crashloop_escalate;
    if (w->o.init_escalate > 0) m->s.init_escalate = w->o.init_escalate;
    if (w->o.max_deletes > 0) m->s.max_deletes_per_cycle = w->o.max_deletes;
    if (w->o.lease_ms > 0) { /* client-go's proportions: renew deadline 2/3, retry period 2/15 of the duration */
        m->s.lease_duration_ms = w->o.lease_ms;
        m->s.lease_renew_deadline_ms = w->o.lease_ms * 2 / 3;
        m->s.lease_renew_ms = w->o.lease_ms * 2 / 15;
    }
    m->s.leader_election = w->o.leader_election;
    m->s.nats_durable = w->o.durable;
    ctl_ports ports = {&w->lp, &m->kube, &m->store, w->o.nats ? &w->busport : NULL};
    ctl_hooks hooks = {m, before_effect, fsm_hook, w->memo};
    t0_err err = {0};
    ctl_manager *cm = NULL;
    if (ctl_manager_new_hooked(&m->s, &ports, &hooks, &cm, &err) != T0_OK) {
        scn_violation(w, -1, "manager %s could not be created: %s", m->identity, err.msg);
        return;
    }
    m->m = cm;
    scn_trace(w, m->identity, "manager start");
    if (ctl_manager_start(cm, &err) != T0_OK) scn_trace(w, m->identity, "manager start failed: %s", err.msg);
}

static scn_mgr *mgr_find(scn_world *w, const char *name)
{
    for (scn_mgr *m = w->mgrs; m; m = m->next)
        if (!strcmp(m->name, name)) return m;
    return NULL;
}

static scn_mgr *mgr_new(scn_world *w, const char *name)
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

static void mgr_stop(scn_mgr *m)
{
    scn_world *w = m->w;
    if (m->destroy_timer) sim_loop_cancel(w->loop, m->destroy_timer);
    if (m->restart_timer) sim_loop_cancel(w->loop, m->restart_timer);
    m->destroy_timer = m->restart_timer = 0;
    if (m->m) ctl_manager_destroy(m->m);
    m->m = NULL;
}

/* ---- observers ------------------------------------------------------------------------------------- */
static const char *phase_const(const char *p)
{
    static const char *const ph[] = {"Pending", "Running", "Succeeded", "Failed", "Unknown"};
    for (size_t i = 0; p && i < T0_ARRAY_LEN(ph); i++)
        if (!strcmp(p, ph[i])) return ph[i];
    return "?";
}

static void kube_observer(void *ud, kube_watch_type type, kube_kind kind, const cJSON *obj)
{
    scn_world *w = ud;
    if (kind == KUBE_LEASE || kind == KUBE_EVENT) {
        if (kind == KUBE_EVENT && type == KUBE_WATCH_ADDED) {
            const char *reason = kfake_str(obj, "reason"), *msg = kfake_str(obj, "message");
            const char *on = kfake_str(obj, "involvedObject.name");
            scn_trace(w, "event", "%s %s: %s", on ? on : "?", reason ? reason : "?", msg ? msg : "");
        }
        return;
    }
    const cJSON *md = t0_json_get(obj, "metadata"), *status = t0_json_get(obj, "status"); /* once per event */
    const char *ns = kfake_str(md, "namespace"), *name = kfake_str(md, "name");
    if (!ns) ns = "";
    if (!name) name = "?";
    char key[400];
    t0_strjoin(key, sizeof key, kube_kind_name(kind), "/", ns, "/", name);
    bool deletion_started = false;
    const char *kk = kube_kind_kind(kind);
    if (type == KUBE_WATCH_ADDED) {
        scn_trace(w, "kube", "%s %s/%s created", kk, ns, name);
        if (kind == KUBE_JOB) {
            const cJSON *owners = t0_json_get(md, "ownerReferences");
            const cJSON *o;
            cJSON_ArrayForEach(o, owners)
            {
                const cJSON *ok = t0_json_get(o, "kind"), *on = t0_json_get(o, "name");
                if (cJSON_IsString(ok) && !strcmp(ok->valuestring, "CronJob") && cJSON_IsString(on)) {
                    uintptr_t n = (uintptr_t)sim_map_get(&w->job_runs, on->valuestring);
                    sim_map_put(&w->job_runs, on->valuestring, (void *)(n + 1), NULL);
                }
            }
        }
    }
    if (type != KUBE_WATCH_DELETED && kfake_str(md, "deletionTimestamp") && !sim_map_get(&w->deleting, key)) {
        sim_map_put(&w->deleting, key, (void *)1, NULL);
        deletion_started = true;
        const cJSON *g = t0_json_get(md, "deletionGracePeriodSeconds");
        scn_trace(w, "kube", "%s %s/%s terminating (grace %ds)", kk, ns, name, cJSON_IsNumber(g) ? g->valueint : 0);
    }
    if (kind == KUBE_POD && type != KUBE_WATCH_DELETED) {
        char pk[300];
        t0_strjoin(pk, sizeof pk, ns, "/", name);
        const char *ph = phase_const(kfake_str(status, "phase"));
        const char *old = sim_map_get(&w->phases, pk);
        if (old != ph) {
            const char *reason = kfake_str(status, "reason");
            scn_trace(w, "kube", "Pod %s/%s phase %s -> %s%s%s", ns, name, old ? old : "-", ph, reason ? " reason " : "",
                      reason ? reason : "");
            sim_map_put(&w->phases, pk, (void *)ph, NULL);
        }
    }
    if (type == KUBE_WATCH_DELETED) {
        if (sim_map_get(&w->deleting, key)) sim_map_remove(&w->deleting, key);
        else deletion_started = true;
        if (kind == KUBE_POD) {
            char pk[300];
            t0_strjoin(pk, sizeof pk, ns, "/", name);
            sim_map_remove(&w->phases, pk);
        }
        scn_trace(w, "kube", "%s %s/%s deleted", kk, ns, name);
    }
    scn_inv_kube(w, type, kind, obj, deletion_started);
}

static void store_observer(void *ud, store_coll c, const char *id, const cJSON *doc)
{
    scn_inv_store_change(ud, c, id, doc);
}

static void obj_observer(void *ud, const char *bucket, const char *key, const objfake_object *obj)
{
    scn_inv_object(ud, bucket, key, obj);
}

static void bus_observer(void *ud, const char *subject, const char *durable, unsigned attempt, const char *event, t0_status st)
{
    scn_world *w = ud;
    if (!strcmp(event, "deliver")) return; /* "handled" says the same with the outcome */
    if (!strcmp(event, "handled"))
        scn_trace(w, "nats", "%s delivered%s%s (attempt %u) -> %s", subject, durable ? " to durable " : "",
                  durable ? durable : "", attempt, t0_status_name(st));
    else scn_trace(w, "nats", "%s %s%s%s (attempt %u)", subject, event, durable ? " for durable " : "", durable ? durable : "", attempt);
}

static void kubelet_tracer(void *ud, const fsm_table *t, const char *key, const fsm_result *r)
{
    scn_world *w = ud;
    if (w->ro->cov) {
        if (t == &fsm_pod_table) fsm_coverage_hit(&w->ro->cov->pod, r);
        else if (t == &fsm_sync_table) fsm_coverage_hit(&w->ro->cov->sync, r);
    }
    if (r->kind == FSM_ROW_IGNORE) return;
    scn_trace(w, "kubelet", "%s %s %s -%s-> %s", t->name, key, fsm_state_name(t, r->from), fsm_event_name(t, r->event),
              fsm_state_name(t, r->to));
}

/* ---- conditions ----------------------------------------------------------------------------------- */
static int pod_restarts(const cJSON *pod)
{
    int n = 0;
    const cJSON *cs = t0_json_get(t0_json_get(pod, "status"), "containerStatuses");
    const cJSON *c;
    cJSON_ArrayForEach(c, cs)
    {
        const cJSON *rc = t0_json_get(c, "restartCount");
        const cJSON *nm = t0_json_get(c, "name");
        if (cJSON_IsNumber(rc) && cJSON_IsString(nm) && !strcmp(nm->valuestring, "bot")) n += rc->valueint;
    }
    return n;
}

static bool pod_ready(const cJSON *pod)
{
    const cJSON *conds = t0_json_get(t0_json_get(pod, "status"), "conditions");
    const cJSON *c;
    cJSON_ArrayForEach(c, conds)
    {
        const cJSON *t = t0_json_get(c, "type"), *s = t0_json_get(c, "status");
        if (cJSON_IsString(t) && !strcmp(t->valuestring, "Ready")) return cJSON_IsString(s) && !strcmp(s->valuestring, "True");
    }
    return false;
}

/* cond_eval: whether condition S holds now; GOT describes what was observed (for failure messages). */
static bool cond_eval(scn_world *w, const scn_stmt *s, char *got, size_t cap)
{
    const char *v0 = s->w[0].s;
    got[0] = '\0';
    if (!strcmp(v0, "no") || !strcmp(v0, "pod") || !strcmp(v0, "cronjob")) {
        bool neg = !strcmp(v0, "no");
        const char *what = neg ? s->w[1].s : v0, *name = s->w[neg ? 2 : 1].s;
        if (!strcmp(what, "store")) {
            bool present = storefake_peek(w->store, STORE_BOTS, name) || storefake_peek(w->store, STORE_SCHEDULES, name);
            snprintf(got, cap, "document %s", present ? "present" : "absent");
            return neg ? !present : present;
        }
        kube_kind k = !strcmp(what, "pod") ? KUBE_POD : KUBE_CRONJOB;
        const cJSON *o = kfake_peek(w->kube, k, NS(w), name);
        if (!o) {
            snprintf(got, cap, "no %s %s/%s", what, NS(w), name);
            return neg;
        }
        if (neg) {
            snprintf(got, cap, "%s %s exists%s", what, name, kfake_str(o, "metadata.deletionTimestamp") ? " (terminating)" : "");
            return false;
        }
        const char *phase = kfake_str(o, "status.phase");
        int restarts = pod_restarts(o);
        bool ready = pod_ready(o);
        if (k == KUBE_POD) snprintf(got, cap, "phase=%s ready=%s restarts=%d", phase ? phase : "-", ready ? "on" : "off", restarts);
        else snprintf(got, cap, "cronjob %s exists", name);
        const char *want = kv_get(s, 2, "phase");
        if (want && (!phase || strcmp(phase, want))) return false;
        const char *r = kv_get(s, 2, "ready");
        bool rb;
        if (r && scn_parse_bool(r, &rb) && rb != ready) return false;
        const char *rs = kv_get(s, 2, "restarts");
        if (rs && (uint64_t)restarts < strtoull(rs, NULL, 10)) return false;
        return true;
    }
    if (!strcmp(v0, "store")) {
        const char *id = s->w[1].s;
        bool present = storefake_peek(w->store, STORE_BOTS, id) || storefake_peek(w->store, STORE_SCHEDULES, id);
        snprintf(got, cap, "document %s", present ? "present" : "absent");
        return present;
    }
    if (!strcmp(v0, "job-runs") || !strcmp(v0, "restarts") || !strcmp(v0, "log-lines") || !strcmp(v0, "count")) {
        const char *name = s->w[1].s, *op = s->w[2].s;
        uint64_t want = strtoull(s->w[3].s, NULL, 10), have = 0;
        if (!strcmp(v0, "job-runs")) have = (uintptr_t)sim_map_get(&w->job_runs, name);
        else if (!strcmp(v0, "restarts")) {
            const cJSON *o = kfake_peek(w->kube, KUBE_POD, NS(w), name);
            have = o ? (uint64_t)pod_restarts(o) : 0;
        } else if (!strcmp(v0, "log-lines")) {
            kubelet_bot_obs ob;
            have = kubelet_bot_observe(w->kl, name, &ob) ? ob.log_lines_shipped : 0;
        } else {
            kube_kind k = !strcmp(name, "pods") ? KUBE_POD : !strcmp(name, "cronjobs") ? KUBE_CRONJOB : KUBE_JOB;
            have = kfake_count(w->kube, k);
        }
        snprintf(got, cap, "%s %s = %llu", v0, name, (unsigned long long)have);
        return cmp_op(op, have, want);
    }
    if (!strcmp(v0, "violations")) {
        snprintf(got, cap, "violations = %u", w->res->violations);
        return cmp_op(s->w[1].s, w->res->violations, strtoull(s->w[2].s, NULL, 10));
    }
    if (!strcmp(v0, "bot") || !strcmp(v0, "schedule")) {
        const fsm_table *t = !strcmp(v0, "bot") ? &fsm_bot_table : &fsm_schedule_table;
        char k[300];
        snprintf(k, sizeof k, "%s/%s", t->name, s->w[1].s);
        intptr_t st = (intptr_t)sim_map_get(&w->fsm_state, k);
        const char *have = st ? fsm_state_name(t, (int)st - 1) : "(never stepped)";
        snprintf(got, cap, "state=%s", have);
        const char *want = kv_get(s, 2, "state");
        return !want || (st && !strcmp(have, want));
    }
    if (!strcmp(v0, "manager")) {
        scn_mgr *m = mgr_find(w, s->w[1].s);
        const char *c = s->w[2].s;
        bool leader = m && m->m && ctl_manager_is_leader(m->m), ready = m && m->m && ctl_manager_ready(m->m);
        bool crashed = !m || !m->m || ctl_manager_crashed(m->m);
        snprintf(got, cap, "%s: %s, %s, %s", s->w[1].s, leader ? "leader" : "not leader", ready ? "ready" : "not ready",
                 crashed ? "down" : "up");
        if (!strcmp(c, "leader")) return leader;
        if (!strcmp(c, "not-leader")) return !leader;
        if (!strcmp(c, "ready")) return ready;
        if (!strcmp(c, "not-ready")) return !ready;
        return crashed;
    }
    if (!strcmp(v0, "state")) {
        char okey[300];
        snprintf(okey, sizeof okey, "%s/state.tar.gz", s->w[1].s);
        const objfake_object *ob = objfake_peek(w->obj, "bot-state", okey);
        if (!ob) {
            snprintf(got, cap, "no state object bot-state/%s", okey);
            return false;
        }
        const char *kv = s->w[2].s;
        size_t l = strlen(kv);
        for (const char *p = ob->data; p && *p;) {
            const char *nl = strchr(p, '\n');
            size_t ll = nl ? (size_t)(nl - p) : strlen(p);
            if (ll == l && !strncmp(p, kv, l)) {
                snprintf(got, cap, "%s present", kv);
                return true;
            }
            p = nl ? nl + 1 : NULL;
        }
        snprintf(got, cap, "state object has no line %s (%zu bytes)", kv, ob->len);
        return false;
    }
    snprintf(got, cap, "unknown condition");
    return false;
}

/* ---- expectations ------------------------------------------------------------------------------------ */
static void exp_unlink(scn_world *w, scn_exp *e)
{
    for (scn_exp **p = &w->pending; *p; p = &(*p)->next)
        if (*p == e) {
            *p = e->next;
            return;
        }
}

static void exp_pass(scn_world *w, scn_exp *e, const char *got)
{
    w->res->passed++;
    char ts[32];
    scn_trace(w, "expect", "PASS line %d: %s (%s; at %s)", e->st->line, e->st->text, got,
              scn_format_offset(scn_now(w), ts, sizeof ts));
}

static void exp_fail(scn_world *w, const scn_stmt *st, const char *got)
{
    w->res->failed++;
    trace_force(w, "expect", "FAIL %s:%d: %s -- observed: %s", w->script->path, st->line, st->text, got);
}

static void exp_deadline_cb(void *ud)
{
    scn_exp *e = ud;
    scn_world *w = e->w;
    char got[512];
    e->timer = 0;
    exp_unlink(w, e);
    if (cond_eval(w, e->st, got, sizeof got)) exp_pass(w, e, got);
    else exp_fail(w, e->st, got);
    free(e);
}

/* Evaluate pending expectations and always-conditions (after every simulated step). */
static void exp_check(scn_world *w)
{
    char got[512];
    for (scn_exp **p = &w->pending; *p;) {
        scn_exp *e = *p;
        bool ok = cond_eval(w, e->st, got, sizeof got);
        if (e->always) {
            if (!ok) {
                scn_violation(w, -1, "line %d: always %s -- observed: %s", e->st->line, e->st->text, got);
                *p = e->next;
                free(e);
                continue;
            }
        } else if (ok) {
            exp_pass(w, e, got);
            *p = e->next;
            if (e->timer) sim_loop_cancel(w->loop, e->timer);
            free(e);
            continue;
        }
        p = &e->next;
    }
}

/* ---- statements -------------------------------------------------------------------------------------- */
static void st_fault(scn_world *w, const scn_stmt *s)
{
    const char *point = s->w[1].s;
    sim_fault_spec spec = {.kind = SIM_FAULT_ERROR, .status = T0_EINTERNAL, .http_status = 500, .probability = 1.0};
    for (size_t i = 2; i < s->n; i++) {
        const scn_tok *t = &s->w[i];
        if (scn_tok_is_kv(t)) {
            const char *v = strchr(t->s, '=') + 1;
            if (!strncmp(t->s, "error=", 6)) {
                spec.kind = SIM_FAULT_ERROR;
                spec.http_status = atoi(v);
                spec.status = (t0_status)scn_http_to_status(spec.http_status);
                if (spec.status == T0_ETOOMANY) spec.kind = SIM_FAULT_TOOMANY;
            } else if (!strncmp(t->s, "p=", 2)) spec.probability = strtod(v, NULL);
            else if (!strncmp(t->s, "count=", 6)) spec.count = strtoull(v, NULL, 10);
            else if (!strncmp(t->s, "calls=", 6)) {
                uint64_t a, b;
                if (scn_parse_range(v, &a, &b)) spec.first_call = a, spec.last_call = b;
            } else if (!strncmp(t->s, "ms=", 3)) spec.ms = dur(v, 1000);
        } else if (!strcmp(t->s, "outage")) {
            spec.kind = SIM_FAULT_ERROR;
            spec.status = T0_EUNAVAILABLE;
            spec.http_status = 503;
        } else {
            spec.kind = (sim_fault_kind)scn_fault_kind_parse(t->s);
            spec.status = spec.kind == SIM_FAULT_ERROR ? T0_EINTERNAL : spec.kind == SIM_FAULT_TOOMANY ? T0_ETOOMANY : T0_OK;
            spec.http_status = spec.kind == SIM_FAULT_ERROR ? 500 : spec.kind == SIM_FAULT_TOOMANY ? 429 : 0;
        }
    }
    if ((spec.kind == SIM_FAULT_TOOMANY || spec.kind == SIM_FAULT_LATENCY || spec.kind == SIM_FAULT_REORDER) && !spec.ms)
        spec.ms = 1000;
    t0_err err = {0};
    if (sim_faults_inject(w->faults, point, &spec, &err) != T0_OK)
        trace_force(w, "scenario", "line %d: fault rejected: %s", s->line, err.msg);
    else scn_trace(w, "fault", "inject %s %s%s (status %s, p=%g, count=%llu, calls=%llu..%llu, ms=%lld)", point,
                   sim_fault_kind_name(spec.kind), sim_faults_known(point) ? "" : " [undocumented point]",
                   t0_status_name(spec.status), spec.probability, (unsigned long long)spec.count,
                   (unsigned long long)spec.first_call, (unsigned long long)spec.last_call, (long long)spec.ms);
}

static kubelet_program *program_of(scn_world *w, const char *id)
{
    kubelet_program *p = sim_map_get(&w->programs, id);
    if (!p) {
        p = malloc(sizeof *p);
        if (!p) return NULL;
        kubelet_program_default(p);
        if (sim_map_put(&w->programs, id, p, NULL) != T0_OK) {
            free(p);
            return NULL;
        }
    }
    return p;
}

static void st_model(scn_world *w, const scn_stmt *s)
{
    const char *id = s->w[1].s, *c = s->w[2].s;
    kubelet_program *p = program_of(w, id);
    if (!p) return;
    for (size_t i = 3; i < s->n; i++) {
        const char *t = s->w[i].s;
        const char *v = strchr(t, '=') ? strchr(t, '=') + 1 : "";
        if (!strcmp(c, "bot")) {
            if (!strcmp(t, "forever")) p->exit_after_ms = -1;
            else if (!strcmp(t, "ignore-sigterm")) p->term_ms = -1;
            else if (!strncmp(t, "crash-every=", 12)) p->exit_after_ms = dur(v, -1), p->exit_code = 1;
            else if (!strncmp(t, "exit=", 5)) p->exit_code = atoi(v);
            else if (!strncmp(t, "after=", 6)) p->exit_after_ms = dur(v, -1);
            else if (!strncmp(t, "log-every=", 10)) p->log_every_ms = dur(v, 0);
            else if (!strncmp(t, "text=", 5)) snprintf(p->log_text, sizeof p->log_text, "%s", v);
            else if (!strncmp(t, "term=", 5)) p->term_ms = dur(v, 100);
            else if (!strcmp(t, "write-state") && i + 1 < s->n && p->nwrites < KUBELET_MAX_WRITES) {
                const char *kv = s->w[++i].s, *eq = strchr(kv, '=');
                const char *at = kv_get(s, i + 1, "at");
                snprintf(p->writes[p->nwrites].key, sizeof p->writes[0].key, "%.*s", (int)(eq - kv), kv);
                snprintf(p->writes[p->nwrites].val, sizeof p->writes[0].val, "%s", eq + 1);
                p->writes[p->nwrites].at_ms = dur(at, 0);
                p->nwrites++;
            }
        } else if (!strcmp(c, "init")) {
            if (!strncmp(t, "fail=", 5)) p->init_failures = !strcmp(v, "forever") ? -1 : atoi(v);
            else if (!strcmp(t, "fail")) p->init_failures = -1;
            else if (!strncmp(t, "ms=", 3)) p->init_ms = dur(v, 500);
        } else {
            if (!strcmp(t, "fail")) p->pull_fail = true;
            else if (!strncmp(t, "ms=", 3)) p->pull_ms = dur(v, 1000);
        }
    }
    t0_err err = {0};
    if (kubelet_set_program(w->kl, id, p, &err) != T0_OK) trace_force(w, "scenario", "model %s: %s", id, err.msg);
    else scn_trace(w, "scenario", "%s", s->text);
}

static void st_publish(scn_world *w, const scn_stmt *s)
{
    t0_err err = {0};
    if (!strcmp(s->w[1].s, "raw")) {
        const char *subj = s->w[2].s, *data = s->w[3].s;
        t0_status st = w->busport.publish(w->busport.ctx, subj, data, strlen(data), &err);
        scn_trace(w, "api", "publish %s (raw, %zu bytes) -> %s%s%s", subj, strlen(data), t0_status_name(st), st ? " " : "",
                  st ? err.msg : "");
        return;
    }
    const char *ev = s->w[1].s, *id = s->w[2].s;
    bool sched = !strncmp(ev, "schedule.", 9);
    payload_op op = (payload_op)payload_op_parse(strchr(ev, '.') + 1);
    scn_bot *b = bot_lookup(w, id);
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b || !(b->id = strdup(id)) || sim_map_put(&w->bots, id, b, NULL) != T0_OK) {
            bot_free(b);
            return;
        }
        b->scheduled = sched;
    }
    apply_mods(b, s, 3);
    bool wrapped = false;
    for (size_t i = 3; i < s->n; i++) wrapped |= !strcmp(s->w[i].s, "wrapped");
    cJSON *cfg;
    payload_bot pb = to_payload(b, &cfg);
    pb.scheduled = sched;
    pb.created_ms = w->t0;
    pb.updated_ms = sim_loop_now(w->loop);
    char *data = wrapped ? payload_wrapped(&pb, op, sim_loop_now(w->loop), &err) : payload_direct(&pb, op, &err);
    cJSON_Delete(cfg);
    if (!data) {
        trace_force(w, "scenario", "line %d: %s", s->line, err.msg);
        return;
    }
    const char *subj = payload_subject(sched, op);
    t0_status st = w->busport.publish(w->busport.ctx, subj, data, strlen(data), &err);
    scn_trace(w, "api", "publish %s %s%s -> %s%s%s", subj, id, wrapped ? " (wrapped)" : "", t0_status_name(st),
              st ? " " : "", st ? err.msg : "");
    free(data);
}

static void st_store(scn_world *w, const scn_stmt *s)
{
    const char *sub = s->w[1].s, *id = s->w[2].s;
    t0_err err = {0};
    scn_bot *b = bot_lookup(w, id);
    store_coll c = b && b->scheduled ? STORE_SCHEDULES : STORE_BOTS;
    if (!strcmp(sub, "put-broken")) {
        if (s->n > 3) c = STORE_SCHEDULES;
        scn_inv_mark_broken(w, c, id, true);
        storefake_put_broken(w->store, c, id, &err);
        scn_trace(w, "scenario", "store put-broken %s %s", store_coll_name(c), id);
        return;
    }
    if (!strcmp(sub, "del")) {
        if (!b && !storefake_peek(w->store, STORE_BOTS, id)) c = STORE_SCHEDULES;
        t0_status st = storefake_del(w->store, c, id, &err);
        scn_trace(w, "scenario", "store del %s %s -> %s", store_coll_name(c), id, t0_status_name(st));
        return;
    }
    if (!b) {
        trace_force(w, "scenario", "line %d: store put %s: no bot or schedule of that name is defined", s->line, id);
        return;
    }
    apply_mods(b, s, 3);
    cJSON *cfg;
    payload_bot pb = to_payload(b, &cfg);
    pb.created_ms = w->t0;
    cJSON *doc = payload_document(&pb);
    cJSON_Delete(cfg);
    scn_inv_mark_broken(w, c, id, false);
    bool dup = !strcmp(sub, "put-duplicate");
    t0_status st = !doc ? T0_ENOMEM : dup ? storefake_put_duplicate(w->store, c, id, doc, &err) : storefake_put(w->store, c, id, doc, &err);
    cJSON_Delete(doc);
    scn_trace(w, "scenario", "store %s %s %s -> %s", sub, store_coll_name(c), id, t0_status_name(st));
}

static void st_define(scn_world *w, const scn_stmt *s, bool sched)
{
    const char *id = s->w[1].s;
    scn_bot *b = bot_lookup(w, id);
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b || !(b->id = strdup(id)) || sim_map_put(&w->bots, id, b, NULL) != T0_OK) {
            bot_free(b);
            return;
        }
    }
    b->scheduled = sched;
    apply_mods(b, s, 2);
    scn_trace(w, "scenario", "%s", s->text);
}

static void st_create_for(scn_world *w, const scn_stmt *s, bool cronjob)
{
    const char *id = s->w[3].s;
    scn_bot *b = bot_lookup(w, id);
    if (!b) {
        trace_force(w, "scenario", "line %d: create %s for %s: not defined", s->line, cronjob ? "cronjob" : "pod", id);
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
    if (st == T0_OK) st = cp.create(cp.ctx, cronjob ? KUBE_CRONJOB : KUBE_POD, NS(w), obj, NULL, &err);
    scn_trace(w, "scenario", "create %s %s for %s -> %s%s%s", cronjob ? "cronjob" : "pod", obj ? obj_name(obj) : "?", id,
              t0_status_name(st), st ? " " : "", st ? err.msg : "");
    cJSON_Delete(obj);
    botdoc_destroy(d);
    cJSON_Delete(doc);
}

static void st_exec(scn_world *w, const scn_stmt *s)
{
    const char *v0 = s->w[0].s, *v1 = s->n > 1 ? s->w[1].s : "";
    t0_err err = {0};
    t0_status st;
    if (!strcmp(v0, "option") || !strcmp(v0, "end")) return; /* applied before the run */
    if (!strcmp(v0, "bot") || !strcmp(v0, "schedule")) return st_define(w, s, !strcmp(v0, "schedule"));
    if (!strcmp(v0, "publish")) return st_publish(w, s);
    if (!strcmp(v0, "store")) return st_store(w, s);
    if (!strcmp(v0, "model")) return st_model(w, s);
    if (!strcmp(v0, "fault")) return st_fault(w, s);
    if (!strcmp(v0, "note")) return scn_trace(w, "note", "%s", s->text + 4 + (s->text[4] == ' '));
    if (!strcmp(v0, "clear")) {
        bool any = sim_faults_clear(w->faults, !strcmp(v1, "faults") ? "*" : s->w[2].s);
        scn_trace(w, "fault", "clear %s%s", !strcmp(v1, "faults") ? "all" : s->w[2].s, any ? "" : " (nothing was injected)");
        return;
    }
    if (!strcmp(v0, "outage")) {
        bool on;
        scn_parse_bool(s->w[2].s, &on);
        if (!strcmp(v1, "mongo")) storefake_set_outage(w->store, on);
        else if (!strcmp(v1, "nats")) busfake_set_outage(w->bus, on);
        else objfake_set_outage(w->obj, on);
        scn_trace(w, "fault", "outage %s %s", v1, on ? "on" : "off");
        return;
    }
    if (!strcmp(v0, "crash") || !strcmp(v0, "restart") || !strcmp(v0, "start") || !strcmp(v0, "stop")) {
        const char *name = "m1";
        for (size_t i = 2; i < s->n; i++)
            if (!scn_tok_is_kv(&s->w[i]) && strcmp(s->w[i].s, "at-effect")) name = s->w[i].s;
        scn_mgr *m = mgr_find(w, name);
        if (!strcmp(v0, "start")) {
            if (!m) m = mgr_new(w, name);
            if (m && !m->m) mgr_start(m);
            return;
        }
        if (!m) {
            trace_force(w, "scenario", "line %d: no manager %s", s->line, name);
            return;
        }
        if (!strcmp(v0, "stop")) {
            if (m->m) ctl_manager_release(m->m);
            mgr_stop(m);
            scn_trace(w, m->identity, "manager stopped (lease released)");
            return;
        }
        if (!strcmp(v0, "restart")) {
            mgr_stop(m);
            mgr_start(m);
            return;
        }
        const char *at = kv_get(s, 2, "at-effect");
        m->restart_after = dur(kv_get(s, 2, "restart-after"), -1);
        if (at) {
            m->crash_at = m->effects + strtoull(at, NULL, 10);
            scn_trace(w, m->identity, "will crash before effect #%llu", (unsigned long long)m->crash_at);
            return;
        }
        mgr_stop(m);
        scn_trace(w, m->identity, "CRASH (no cleanup, lease kept)");
        if (m->restart_after >= 0) m->restart_timer = sim_loop_timer(w->loop, m->restart_after, mgr_restart_cb, m);
        return;
    }
    if (!strcmp(v0, "kill") || !strcmp(v0, "revive") || !strcmp(v0, "add")) {
        const char *n = s->w[2].s;
        st = !strcmp(v0, "kill") ? kubelet_node_down(w->kl, n, &err)
             : !strcmp(v0, "revive") ? kubelet_node_up(w->kl, n, &err)
                                     : kubelet_add_node(w->kl, n, &err);
        scn_trace(w, "scenario", "%s node %s -> %s%s%s", v0, n, t0_status_name(st), st ? " " : "", st ? err.msg : "");
        return;
    }
    if (!strcmp(v0, "evict")) {
        st = kubelet_evict(w->kl, NS(w), s->w[2].s, &err);
        scn_trace(w, "scenario", "evict pod %s -> %s", s->w[2].s, t0_status_name(st));
        return;
    }
    if (!strcmp(v0, "create")) return st_create_for(w, s, !strcmp(v1, "cronjob"));
    if (!strcmp(v0, "delete")) {
        const char *g = kv_get(s, 3, "grace");
        kube_delete_opts o = {!strcmp(v1, "cronjob") ? KUBE_PROP_FOREGROUND : KUBE_PROP_BACKGROUND,
                              g ? strtoll(g, NULL, 10) : -1, NULL};
        w->scenario_deleting = true;
        st = w->sys.remove(w->sys.ctx, !strcmp(v1, "cronjob") ? KUBE_CRONJOB : KUBE_POD, NS(w), s->w[2].s, &o, &err);
        w->scenario_deleting = false;
        scn_trace(w, "scenario", "delete %s %s -> %s", v1, s->w[2].s, t0_status_name(st));
        return;
    }
    if (!strcmp(v0, "cronjob-controller")) {
        cronctl_set_down(w->cc, !strcmp(v1, "down"));
        scn_trace(w, "scenario", "cronjob-controller %s", v1);
        return;
    }
    if (!strcmp(v0, "resync")) {
        for (scn_mgr *m = w->mgrs; m; m = m->next)
            if (m->m) ctl_manager_resync_now(m->m);
        scn_trace(w, "scenario", "resync");
        return;
    }
    trace_force(w, "scenario", "line %d: statement not implemented: %s", s->line, s->text);
}

/* ---- progress ------------------------------------------------------------------------------------------ */
static void progress_fill(scn_world *w, scn_progress *p, bool final)
{
    memset(p, 0, sizeof *p);
    p->sim_ms = scn_now(w);
    p->steps = w->res->steps;
    p->trace_lines = w->res->trace_lines;
    p->violations = w->res->violations;
    p->final = final;
    size_t it;
    for (sim_map_entry *e = sim_map_first(&w->fsm_state, &it); e; e = sim_map_next(&w->fsm_state, &it, e)) {
        int st = (int)(intptr_t)e->val - 1;
        if (st < 0 || st >= 16) continue;
        if (!strncmp(e->key, "bot/", 4)) p->bots++, p->bot_states[st]++;
        else if (!strncmp(e->key, "schedule/", 9)) p->schedules++, p->sched_states[st]++;
    }
}

static void progress_tick(void *ud)
{
    scn_world *w = ud;
    scn_progress p;
    progress_fill(w, &p, false);
    w->ro->progress(w->ro->progress_ud, &p);
    sim_loop_timer(w->loop, w->ro->progress_every_ms, progress_tick, w);
}

/* ---- the run ---------------------------------------------------------------------------------------- */
static void step_hook(void *ud)
{
    scn_world *w = ud;
    w->res->steps++;
    scn_inv_step(w);
    if (w->pending) exp_check(w);
}

static void apply_options(scn_world *w)
{
    scn_opts_w *o = &w->o;
    *o = (scn_opts_w){.manager = true, .leader_election = true, .durable = true, .nats = true, .nodes = 2,
                      .delete_allowance_ms = 150000, .ack_wait_ms = 30000, .latency_ms = 1};
    snprintf(o->ns, sizeof o->ns, "the0");
    for (size_t i = 0; i < w->script->n; i++) {
        const scn_stmt *s = &w->script->st[i];
        if (s->type != SCN_ACTION) continue;
        if (!strcmp(s->w[0].s, "end")) {
            int64_t d = dur(s->w[1].s, 0);
            if (d > o->end_ms) o->end_ms = d;
            continue;
        }
        if (strcmp(s->w[0].s, "option")) continue;
        for (size_t k = 1; k < s->n; k++) {
            const char *t = s->w[k].s, *v = strchr(t, '=') + 1;
            size_t kl = (size_t)(v - 1 - t);
#define IS(name) (kl == strlen(name) && !strncmp(t, name, kl))
            if (IS("manager")) scn_parse_bool(v, &o->manager);
            else if (IS("leader-election")) scn_parse_bool(v, &o->leader_election);
            else if (IS("durable")) scn_parse_bool(v, &o->durable);
            else if (IS("nats")) scn_parse_bool(v, &o->nats);
            else if (IS("nodes")) o->nodes = (unsigned)strtoul(v, NULL, 10);
            else if (IS("resync")) o->resync_ms = dur(v, 0);
            else if (IS("requeue")) o->requeue_ms = dur(v, 0);
            else if (IS("delete-allowance")) o->delete_allowance_ms = dur(v, 150000);
            else if (IS("ack-wait")) o->ack_wait_ms = dur(v, 30000);
            else if (IS("end")) o->end_ms = dur(v, 0) > o->end_ms ? dur(v, 0) : o->end_ms;
            else if (IS("latency")) o->latency_ms = dur(v, 1);
            else if (IS("sync-interval")) o->sync_interval_ms = dur(v, 0);
            else if (IS("lease")) o->lease_ms = dur(v, 0);
            else if (IS("crashloop-escalate")) o->crashloop_escalate = atoi(v);
            else if (IS("init-escalate")) o->init_escalate = atoi(v);
            else if (IS("max-deletes")) o->max_deletes = atoi(v);
            else if (IS("ns")) snprintf(o->ns, sizeof o->ns, "%s", v);
#undef IS
        }
    }
}

static void world_free(scn_world *w)
{
    for (scn_mgr *m = w->mgrs, *nx; m; m = nx) {
        nx = m->next;
        mgr_stop(m);
        free(m);
    }
    w->res->memo_hits = ctl_memo_hits(w->memo);
    ctl_memo_destroy(w->memo);
    cronctl_destroy(w->cc);
    kubelet_destroy(w->kl);
    busfake_destroy(w->bus);
    kfake_destroy(w->kube);
    storefake_destroy(w->store);
    objfake_destroy(w->obj);
    scn_inv_free(w);
    while (w->pending) {
        scn_exp *e = w->pending;
        w->pending = e->next;
        free(e);
    }
    sim_map_entry *e;
    size_t it;
    for (e = sim_map_first(&w->bots, &it); e; e = sim_map_next(&w->bots, &it, e)) bot_free(e->val);
    for (e = sim_map_first(&w->programs, &it); e; e = sim_map_next(&w->programs, &it, e)) free(e->val);
    sim_map_free(&w->bots);
    sim_map_free(&w->programs);
    sim_map_free(&w->fsm_state);
    sim_map_free(&w->deleting);
    sim_map_free(&w->phases);
    sim_map_free(&w->job_runs);
    sim_faults_destroy(w->faults);
    sim_loop_destroy(w->loop);
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
    sim_map_init(&w->bots);
    sim_map_init(&w->programs);
    sim_map_init(&w->fsm_state);
    sim_map_init(&w->deleting);
    sim_map_init(&w->phases);
    sim_map_init(&w->job_runs);
    scn_inv_init(w);
    t0_status st = sim_loop_new(ro->seed, 0, &w->loop, err);
    if (st == T0_OK) {
        w->lp = sim_loop_port(w->loop);
        w->t0 = sim_loop_now(w->loop);
        st = sim_faults_new(w->loop, &w->faults, err);
    }
    /* the controllers under test read lists and copy what they keep: the cluster lends its objects */
    kfake_opts kopts = {.lend_objects = true};
    if (st == T0_OK) st = kfake_new(w->loop, w->faults, &kopts, &w->kube, err);
    if (st == T0_OK) st = objfake_new(w->faults, &w->obj, err);
    if (st == T0_OK) st = storefake_new(w->faults, &w->store, err);
    if (st == T0_OK) st = busfake_new(&w->lp, w->faults, &w->bus, err);
    if (st == T0_OK) {
        w->sys = kfake_system_port(w->kube);
        w->busport = busfake_port(w->bus);
        busfake_set_ack_wait(w->bus, w->o.ack_wait_ms);
        busfake_set_latency(w->bus, w->o.latency_ms);
        kubelet_opts ko = {0};
        ko.sync_interval_ms = w->o.sync_interval_ms;
        st = kubelet_new(w->loop, w->kube, w->obj, &ko, &w->kl, err);
    }
    if (st == T0_OK) st = cronctl_new(w->loop, w->kube, NULL, &w->cc, err);
    if (st == T0_OK && !ro->no_memo) { /* the pod settings every manager of the world gets (mgr_start) */
        ctl_settings cs;
        ctl_settings_defaults(&cs);
        cs.pod.namespace = w->o.ns;
        st = ctl_memo_new(&cs.pod, &w->memo, err);
    }
    if (st != T0_OK) {
        t0_err_prefix(err, "%s: setting up the world", script->path);
        world_free(w);
        return st;
    }
    t0_log_level old_level = t0_log_get_level();
    t0_log_set_sink(log_sink, w);
    t0_log_set_level(ro->log_level >= 0 ? (t0_log_level)ro->log_level : T0_LOG_INFO);
    kfake_set_observer(w->kube, kube_observer, w);
    storefake_on_change(w->store, store_observer, w);
    storefake_set_position(w->store, busfake_position, w->bus); /* direct writes take part in the event order */
    objfake_on_change(w->obj, obj_observer, w);
    busfake_observe(w->bus, bus_observer, w);
    fsm_tracer kt = {kubelet_tracer, w};
    kubelet_set_tracer(w->kl, &kt);
    sim_loop_set_step_hook(w->loop, step_hook, w);

    scn_trace(w, "scenario", "replay %s seed=%llu", script->path, (unsigned long long)ro->seed);
    if (ro->progress && ro->progress_every_ms > 0) sim_loop_timer(w->loop, ro->progress_every_ms, progress_tick, w);
    for (unsigned i = 1; i <= w->o.nodes; i++) {
        char n[16];
        snprintf(n, sizeof n, "node-%u", i);
        kubelet_add_node(w->kl, n, NULL);
    }
    if (w->o.manager) {
        scn_mgr *m = mgr_new(w, "m1");
        if (m) mgr_start(m);
    }
    int64_t end = w->o.end_ms;
    for (size_t i = 0; i < script->n; i++) {
        const scn_stmt *s = &script->st[i];
        sim_loop_run_until(w->loop, w->t0 + s->at_ms);
        if (s->at_ms > end) end = s->at_ms;
        if (s->type == SCN_ACTION) {
            st_exec(w, s);
            continue;
        }
        res->expectations += s->type == SCN_EXPECT;
        char got[512];
        bool ok = cond_eval(w, s, got, sizeof got);
        if (s->type == SCN_EXPECT && (ok || s->within_ms == 0)) {
            scn_exp tmp = {.st = s};
            if (ok) exp_pass(w, &tmp, got);
            else exp_fail(w, s, got);
            continue;
        }
        if (s->type == SCN_ALWAYS && s->n == 1) { /* a built-in invariant: always on */
            scn_trace(w, "scenario", "always %s (built in, checked after every step)", s->w[0].s);
            continue;
        }
        if (s->type == SCN_ALWAYS && !ok) {
            scn_violation(w, -1, "line %d: always %s -- observed: %s", s->line, s->text, got);
            continue;
        }
        scn_exp *e = calloc(1, sizeof *e);
        if (!e) continue;
        e->w = w;
        e->st = s;
        e->always = s->type == SCN_ALWAYS;
        e->deadline = s->at_ms + s->within_ms;
        e->next = w->pending;
        w->pending = e;
        if (!e->always) {
            if (e->deadline > end) end = e->deadline;
            e->timer = sim_loop_timer_at(w->loop, w->t0 + e->deadline, exp_deadline_cb, e);
        }
    }
    sim_loop_run_until(w->loop, w->t0 + end);
    scn_inv_final(w);
    res->end_ms = scn_now(w);
    char ts[32];
    scn_trace(w, "scenario", "end at %s: %u expectations, %u passed, %u failed, %u violations, %llu steps",
              scn_format_offset(res->end_ms, ts, sizeof ts), res->expectations, res->passed, res->failed, res->violations,
              (unsigned long long)res->steps);
    if (ro->progress) {
        scn_progress p;
        progress_fill(w, &p, true);
        ro->progress(ro->progress_ud, &p);
    }
    if (ro->on_faults) ro->on_faults(ro->on_faults_ud, w->faults);
    t0_log_set_sink(NULL, NULL);
    t0_log_set_level(old_level);
    world_free(w);
    return T0_OK;
}
