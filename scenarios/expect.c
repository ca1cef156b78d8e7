/* expect.c: the conditions of `expect` and `always`, one evaluator per verb in one table (scn_cond_evals;
 * tests/test_lang.c checks every condition of the grammar has exactly one), and the expectations waiting
 * for them (docs/scenarios.md "Expectations"). */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/str.h"
#include "fsm/tables.h"
#include "fakes/botprog.h"
#include "scenarios/world.h"

#define NS(w) ((w)->o.ns)

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

static bool cmp(scn_cmp op, uint64_t a, uint64_t b)
{
    switch (op) {
    case SCN_CMP_GE: return a >= b;
    case SCN_CMP_LE: return a <= b;
    case SCN_CMP_GT: return a > b;
    case SCN_CMP_LT: return a < b;
    case SCN_CMP_NE: return a != b;
    case SCN_CMP_EQ: break;
    }
    return a == b;
}

static bool document(scn_world *w, const char *id, char *got, size_t cap)
{
    bool present = storefake_peek(w->store, STORE_BOTS, id) || storefake_peek(w->store, STORE_SCHEDULES, id);
    snprintf(got, cap, "document %s", present ? "present" : "absent");
    return present;
}

static bool e_store(scn_world *w, const scn_stmt *s, char *got, size_t cap) { return document(w, s->a.pod.name, got, cap); }
static bool e_no_store(scn_world *w, const scn_stmt *s, char *got, size_t cap) { return !document(w, s->a.pod.name, got, cap); }

/* An object of KIND named by S: whether it exists (GOT set when it does not). */
static const cJSON *object(scn_world *w, kube_kind k, const scn_stmt *s, char *got, size_t cap)
{
    const cJSON *o = kfake_peek(w->kube, k, NS(w), s->a.pod.name);
    if (!o) snprintf(got, cap, "no %s %s/%s", k == KUBE_POD ? "pod" : "cronjob", NS(w), s->a.pod.name);
    return o;
}

static bool absent(scn_world *w, kube_kind k, const scn_stmt *s, char *got, size_t cap)
{
    const cJSON *o = object(w, k, s, got, cap);
    if (!o) return true;
    snprintf(got, cap, "%s %s exists%s", k == KUBE_POD ? "pod" : "cronjob", s->a.pod.name,
             kfake_str(o, "metadata.deletionTimestamp") ? " (terminating)" : "");
    return false;
}

static bool e_no_pod(scn_world *w, const scn_stmt *s, char *got, size_t cap) { return absent(w, KUBE_POD, s, got, cap); }
static bool e_no_cronjob(scn_world *w, const scn_stmt *s, char *got, size_t cap) { return absent(w, KUBE_CRONJOB, s, got, cap); }

/* env_of: the value of env var NAME in any container of the pod spec SPEC, or NULL */
static const char *env_of(const cJSON *spec, const char *name)
{
    static const char *const lists[] = {"containers", "initContainers"};
    for (size_t l = 0; l < 2; l++) {
        const cJSON *c;
        cJSON_ArrayForEach(c, t0_json_get(spec, lists[l]))
        {
            const cJSON *e;
            cJSON_ArrayForEach(e, t0_json_get(c, "env"))
            {
                const char *n = kfake_str(e, "name"), *v = kfake_str(e, "value");
                if (n && v && !strcmp(n, name)) return v;
            }
        }
    }
    return NULL;
}

/* fields_hold: the label/annotation/env fields S asks of OBJ (env in the pod spec POD_SPEC); GOT says the
 * first that differs */
static bool fields_hold(const scn_stmt *s, const cJSON *obj, const cJSON *pod_spec, char *got, size_t cap)
{
    for (size_t i = 0; i < s->a.pod.nfields; i++) {
        const scn_field *f = &s->a.pod.fields[i];
        static const char *const what[] = {"label", "annotation", "env"};
        const char *have;
        if (f->kind == SCN_FIELD_ENV) have = env_of(pod_spec, f->key);
        else {
            const cJSON *v = t0_json_get(t0_json_at(obj, f->kind == SCN_FIELD_LABEL ? "metadata.labels" : "metadata.annotations"),
                                         f->key);
            have = cJSON_IsString(v) ? v->valuestring : NULL;
        }
        if (!have || strcmp(have, f->val)) {
            size_t o = strlen(got);
            snprintf(got + o, cap - o, "%s%s %s=%s", o ? "; " : "", what[f->kind], f->key, have ? have : "(none)");
            return false;
        }
    }
    return true;
}

static bool e_cronjob(scn_world *w, const scn_stmt *s, char *got, size_t cap)
{
    const cJSON *o = object(w, KUBE_CRONJOB, s, got, cap);
    if (!o) return false;
    const char *sched = kfake_str(o, "spec.schedule");
    if (s->a.pod.schedule) snprintf(got, cap, "cronjob %s exists, schedule \"%s\"", s->a.pod.name, sched ? sched : "");
    else snprintf(got, cap, "cronjob %s exists", s->a.pod.name);
    if (s->a.pod.schedule && (!sched || strcmp(sched, s->a.pod.schedule))) return false;
    return fields_hold(s, o, t0_json_at(o, "spec.jobTemplate.spec.template.spec"), got, cap);
}

static bool e_pod(scn_world *w, const scn_stmt *s, char *got, size_t cap)
{
    const cJSON *o = object(w, KUBE_POD, s, got, cap);
    if (!o) return false;
    const char *phase = kfake_str(o, "status.phase");
    int restarts = pod_restarts(o);
    bool ready = pod_ready(o);
    snprintf(got, cap, "phase=%s ready=%s restarts=%d", phase ? phase : "-", ready ? "on" : "off", restarts);
    if (s->a.pod.phase && (!phase || strcmp(phase, s->a.pod.phase))) return false;
    if (s->a.pod.ready >= 0 && (bool)s->a.pod.ready != ready) return false;
    if (s->a.pod.restarts_set && (uint64_t)restarts < s->a.pod.restarts) return false;
    return fields_hold(s, o, t0_json_get(o, "spec"), got, cap);
}

static bool num(const scn_stmt *s, const char *what, uint64_t have, char *got, size_t cap)
{
    snprintf(got, cap, "%s %s = %llu", what, s->a.num.name, (unsigned long long)have);
    return cmp(s->a.num.op, have, s->a.num.n);
}

static bool e_job_runs(scn_world *w, const scn_stmt *s, char *got, size_t cap)
{
    return num(s, "job-runs", (uintptr_t)hmap_get(&w->job_runs, s->a.num.name), got, cap);
}

static bool e_restarts(scn_world *w, const scn_stmt *s, char *got, size_t cap)
{
    const cJSON *o = kfake_peek(w->kube, KUBE_POD, NS(w), s->a.num.name);
    return num(s, "restarts", o ? (uint64_t)pod_restarts(o) : 0, got, cap);
}

static bool e_log_lines(scn_world *w, const scn_stmt *s, char *got, size_t cap)
{
    return num(s, "log-lines", scn_checker_log_lines(w->check, s->a.num.name), got, cap);
}

static bool e_log_traffic(scn_world *w, const scn_stmt *s, char *got, size_t cap)
{
    return num(s, "log-traffic", scn_checker_log_traffic(w->check, s->a.num.name), got, cap);
}

static bool e_log_lag(scn_world *w, const scn_stmt *s, char *got, size_t cap)
{
    return num(s, "log-lag", scn_checker_log_lag(w->check, s->a.num.name), got, cap);
}

static bool e_logs_shipped(scn_world *w, const scn_stmt *s, char *got, size_t cap)
{
    return scn_checker_logs_shipped(w->check, s->a.within_ms, got, cap);
}

static bool e_count(scn_world *w, const scn_stmt *s, char *got, size_t cap)
{
    return num(s, "count", kfake_count(w->kube, (kube_kind)s->a.num.kind), got, cap);
}

static bool e_violations(scn_world *w, const scn_stmt *s, char *got, size_t cap)
{
    snprintf(got, cap, "violations = %u", w->res->violations);
    return cmp(s->a.violations.op, w->res->violations, s->a.violations.n);
}

static bool fsm_state(scn_world *w, const fsm_table *t, const scn_stmt *s, char *got, size_t cap)
{
    char k[300];
    snprintf(k, sizeof k, "%s/%s", t->name, s->a.fsm.id);
    intptr_t st = (intptr_t)hmap_get(&w->fsm_state, k);
    snprintf(got, cap, "state=%s", st ? fsm_state_name(t, (int)st - 1) : "(never stepped)");
    return s->a.fsm.state < 0 || (st && (int)st - 1 == s->a.fsm.state);
}

static bool e_bot(scn_world *w, const scn_stmt *s, char *got, size_t cap) { return fsm_state(w, &fsm_bot_table, s, got, cap); }
static bool e_schedule(scn_world *w, const scn_stmt *s, char *got, size_t cap)
{
    return fsm_state(w, &fsm_schedule_table, s, got, cap);
}

static bool e_manager(scn_world *w, const scn_stmt *s, char *got, size_t cap)
{
    scn_mgr *m = scn_mgr_find(w, s->a.manager.name);
    bool leader = m && m->m && ctl_manager_is_leader(m->m), ready = m && m->m && ctl_manager_ready(m->m);
    bool crashed = !m || !m->m || ctl_manager_crashed(m->m);
    snprintf(got, cap, "%s: %s, %s, %s", s->a.manager.name, leader ? "leader" : "not leader", ready ? "ready" : "not ready",
             crashed ? "down" : "up");
    switch (s->a.manager.cond) {
    case SCN_MGR_LEADER: return leader;
    case SCN_MGR_NOT_LEADER: return !leader;
    case SCN_MGR_READY: return ready;
    case SCN_MGR_NOT_READY: return !ready;
    case SCN_MGR_CRASHED: break;
    }
    return crashed;
}

/* The state object holds K=V: its file .the0-state/K.json is the bot program's document of value V. */
typedef struct state_find {
    const char *key, *val;
    size_t klen;
    bool found, match;
    char have[128];
} state_find;

static void state_file(void *ud, const char *name, const char *data, size_t len)
{
    state_find *f = ud;
    static const char dir[] = ".the0-state/";
    size_t nl = strlen(name);
    if (strncmp(name, dir, sizeof dir - 1) || nl != sizeof dir - 1 + f->klen + 5 ||
        memcmp(name + sizeof dir - 1, f->key, f->klen) || strcmp(name + nl - 5, ".json"))
        return;
    uint64_t seq;
    f->found = true;
    if (!botprog_doc_parse(data, len, &seq, f->have, sizeof f->have)) snprintf(f->have, sizeof f->have, "(a cut file)");
    f->match = !strcmp(f->have, f->val);
}

static bool e_state(scn_world *w, const scn_stmt *s, char *got, size_t cap)
{
    const objfake_object *ob = objfake_peek(w->obj, "bot-state", s->a.state.object);
    if (!ob) {
        snprintf(got, cap, "no state object bot-state/%s", s->a.state.object);
        return false;
    }
    const char *kv = s->a.state.line, *eq = strchr(kv, '=');
    state_find f = {.key = kv, .klen = eq ? (size_t)(eq - kv) : strlen(kv), .val = eq ? eq + 1 : ""};
    t0_err err = {0};
    if (botprog_archive_each(ob->data, ob->len, state_file, &f, &err) != T0_OK) {
        snprintf(got, cap, "bot-state/%s is not a tar.gz: %s", s->a.state.object, err.msg);
        return false;
    }
    if (f.match) snprintf(got, cap, "%s present", kv);
    else if (f.found) snprintf(got, cap, "%.*s is %s", (int)f.klen, kv, f.have);
    else snprintf(got, cap, "the state object has no %.*s (%zu bytes)", (int)f.klen, kv, ob->len);
    return f.match;
}

/* NAME matches PATTERN: equal, or PATTERN ends in '*' and NAME starts with what comes before it. */
static bool name_match(const char *pattern, const char *name)
{
    size_t l = strlen(pattern);
    return l && pattern[l - 1] == '*' ? !strncmp(pattern, name, l - 1) : !strcmp(pattern, name);
}

/* The last termination message of container CONTAINER of POD (init containers included; POD may end in '*':
 * any pod of that prefix, e.g. a Job's) contains TEXT. */
static bool e_message(scn_world *w, const scn_stmt *s, char *got, size_t cap)
{
    cJSON *list = NULL;
    if (w->sys.list(w->sys.ctx, KUBE_POD, NS(w), NULL, NULL, &list, NULL) != T0_OK) {
        snprintf(got, cap, "pods not listed");
        return false;
    }
    static const char *const lists[] = {"status.initContainerStatuses", "status.containerStatuses"};
    const char *msg = NULL, *seen = NULL;
    bool found = false;
    const cJSON *pod;
    cJSON_ArrayForEach(pod, t0_json_get(list, "items"))
    {
        const char *pn = kfake_str(pod, "metadata.name");
        if (!pn || !name_match(s->a.message.pod, pn)) continue;
        found = true;
        for (int l = 0; l < 2; l++) {
            const cJSON *c;
            cJSON_ArrayForEach(c, t0_json_at(pod, lists[l]))
            {
                const char *name = kfake_str(c, "name");
                if (!name || strcmp(name, s->a.message.container)) continue;
                msg = kfake_str(c, "state.terminated.message");
                if (!msg) msg = kfake_str(c, "lastState.terminated.message");
                if (msg && !seen) seen = msg;
                if (msg && strstr(msg, s->a.message.text)) {
                    snprintf(got, cap, "%s/%s message: %s", pn, name, msg);
                    cJSON_Delete(list);
                    return true;
                }
            }
        }
    }
    snprintf(got, cap, "%s: %s", s->a.message.pod, !found ? "no such pod" : seen ? seen : "no termination message");
    cJSON_Delete(list);
    return false;
}

/* Events REASON about object NAME (may end in '*'): OP N, by default at least one. */
static bool e_event(scn_world *w, const scn_stmt *s, char *got, size_t cap)
{
    uint64_t n = 0;
    for (hmap_entry *he = hmap_first(&w->events); he; he = hmap_next(&w->events, he)) {
        const char *k = he->key, *sep = strchr(k, '\x1f');
        char name[400];
        if (!sep || strcmp(sep + 1, s->a.event.reason)) continue;
        snprintf(name, sizeof name, "%.*s", (int)(sep - k), k);
        if (name_match(s->a.event.name, name)) n += (uintptr_t)he->val;
    }
    snprintf(got, cap, "%llu Event(s) of %s with reason %s", (unsigned long long)n, s->a.event.name, s->a.event.reason);
    return cmp(s->a.event.op, n, s->a.event.n);
}

static bool e_state_lag(scn_world *w, const scn_stmt *s, char *got, size_t cap)
{
    return num(s, "state-lag (ms)", scn_checker_state_lag(w->check, s->a.num.name), got, cap);
}

static bool e_api_calls(scn_world *w, const scn_stmt *s, char *got, size_t cap)
{
    scn_mgr *m = scn_mgr_find(w, s->a.api.manager);
    uint64_t n = m ? m->api_calls[s->a.api.verb][s->a.api.kind] : 0;
    snprintf(got, cap, "%s made %llu such calls%s", s->a.api.manager, (unsigned long long)n, m ? "" : " (no such manager)");
    return cmp(s->a.api.op, n, s->a.api.n);
}

static bool e_intent(scn_world *w, const scn_stmt *s, char *got, size_t cap)
{
    (void)s;
    return scn_oracle_matches(w->oracle, got, cap);
}

const scn_cond_eval scn_cond_evals[] = {
    {SCN_IF_POD, e_pod},
    {SCN_IF_NO_POD, e_no_pod},
    {SCN_IF_CRONJOB, e_cronjob},
    {SCN_IF_NO_CRONJOB, e_no_cronjob},
    {SCN_IF_STORE, e_store},
    {SCN_IF_NO_STORE, e_no_store},
    {SCN_IF_JOB_RUNS, e_job_runs},
    {SCN_IF_RESTARTS, e_restarts},
    {SCN_IF_LOG_LINES, e_log_lines},
    {SCN_IF_LOG_TRAFFIC, e_log_traffic},
    {SCN_IF_LOG_LAG, e_log_lag},
    {SCN_IF_COUNT, e_count},
    {SCN_IF_BOT, e_bot},
    {SCN_IF_SCHEDULE, e_schedule},
    {SCN_IF_MANAGER, e_manager},
    {SCN_IF_STATE, e_state},
    {SCN_IF_VIOLATIONS, e_violations},
    {SCN_IF_MESSAGE, e_message},
    {SCN_IF_STATE_LAG, e_state_lag},
    {SCN_IF_INTENT, e_intent},
    {SCN_IF_EVENT, e_event},
    {SCN_IF_API_CALLS, e_api_calls},
    {SCN_IF_LOGS_SHIPPED, e_logs_shipped},
};
const size_t scn_cond_evals_len = T0_ARRAY_LEN(scn_cond_evals);

/* cond_eval: whether condition S holds now. */
static bool cond_eval(scn_world *w, const scn_stmt *s, char *got, size_t cap)
{
    got[0] = '\0';
    for (size_t i = 0; i < scn_cond_evals_len; i++)
        if (scn_cond_evals[i].verb == s->verb) return scn_cond_evals[i].eval(w, s, got, cap);
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

static void exp_pass(scn_world *w, const scn_stmt *s, const char *got)
{
    w->res->passed++;
    char ts[32];
    scn_trace(w, "expect", "PASS line %d: %s (%s; at %s)", s->line, s->text, got, scn_format_offset(scn_now(w), ts, sizeof ts));
}

static void exp_fail(scn_world *w, const scn_stmt *s, const char *got)
{
    w->res->failed++;
    scn_trace_force(w, "expect", "FAIL %s:%d: %s -- observed: %s", w->script->path, s->line, s->text, got);
}

static void always_broke(scn_world *w, const scn_stmt *s, const char *got)
{
    if (s->type == SCN_NEVER) scn_violation(w, "line %d: held, but must never: %s -- observed: %s", s->line, s->text, got);
    else scn_violation(w, "line %d: always %s -- observed: %s", s->line, s->text, got);
}

/* broken: whether an always/never condition S broke, given whether it holds now (OK) */
static bool broken(const scn_stmt *s, bool ok) { return s->type == SCN_NEVER ? ok : !ok; }

static void exp_deadline_cb(void *ud)
{
    scn_exp *e = ud;
    scn_world *w = e->w;
    char got[512];
    e->timer = 0;
    exp_unlink(w, e);
    if (cond_eval(w, e->st, got, sizeof got)) exp_pass(w, e->st, got);
    else exp_fail(w, e->st, got);
    free(e);
}

void scn_expect_step(scn_world *w)
{
    char got[512];
    for (scn_exp **p = &w->pending; *p;) {
        scn_exp *e = *p;
        bool ok = cond_eval(w, e->st, got, sizeof got);
        if (e->always) {
            if (broken(e->st, ok)) {
                always_broke(w, e->st, got);
                *p = e->next;
                free(e);
                continue;
            }
        } else if (ok) {
            exp_pass(w, e->st, got);
            *p = e->next;
            if (e->timer) sim_loop_cancel(w->loop, e->timer);
            free(e);
            continue;
        }
        p = &e->next;
    }
}

int64_t scn_expect(scn_world *w, const scn_stmt *s)
{
    w->res->expectations += s->type == SCN_EXPECT;
    char got[512];
    bool ok = cond_eval(w, s, got, sizeof got);
    if (s->type == SCN_EXPECT && (ok || s->within_ms == 0)) {
        if (ok) exp_pass(w, s, got);
        else exp_fail(w, s, got);
        return 0;
    }
    bool lasting = s->type == SCN_ALWAYS || s->type == SCN_NEVER;
    if (lasting && broken(s, ok)) {
        always_broke(w, s, got);
        return 0;
    }
    scn_exp *e = calloc(1, sizeof *e);
    if (!e) return 0;
    e->w = w;
    e->st = s;
    e->always = lasting;
    e->deadline = s->at_ms + s->within_ms;
    e->next = w->pending;
    w->pending = e;
    if (e->always) return 0;
    e->timer = sim_loop_timer_at(w->loop, w->t0 + e->deadline, exp_deadline_cb, e);
    return e->deadline;
}

void scn_expect_free(scn_world *w)
{
    while (w->pending) {
        scn_exp *e = w->pending;
        w->pending = e->next;
        free(e);
    }
}
