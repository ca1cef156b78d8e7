/* grammar_conds.c: the scenario grammar's builders of conditions. */
#include "scenarios/grammar_impl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/ports.h"
#include "fsm/tables.h"

/* ---- builders: conditions ---------------------------------------------------------------------------- */
/* The label.K=, annotation.K= and env.K= words of an object condition, in order. */
static bool fields(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    static const struct {
        const char *prefix;
        scn_field_kind kind;
    } pre[] = {{"label.", SCN_FIELD_LABEL}, {"annotation.", SCN_FIELD_ANNOTATION}, {"env.", SCN_FIELD_ENV}};
    scn_field *f = scn_arena_alloc(p->arena, (a->nkv ? a->nkv : 1) * sizeof *f);
    if (!f) return p->oom = true, false;
    size_t n = 0;
    for (size_t i = 0; i < a->nkv; i++)
        for (size_t k = 0; k < T0_ARRAY_LEN(pre); k++) {
            size_t l = strlen(pre[k].prefix);
            if (a->kv[i].klen > l && !strncmp(a->kv[i].key, pre[k].prefix, l)) {
                char key[300];
                snprintf(key, sizeof key, "%.*s", (int)(a->kv[i].klen - l), a->kv[i].key + l);
                f[n++] = (scn_field){pre[k].kind, scn_pstr(p, key), scn_pstr(p, a->kv[i].v)};
            }
        }
    s->a.pod.fields = f;
    s->a.pod.nfields = n;
    return true;
}

bool scn_b_pod(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    s->a.pod.name = scn_pstr(p, pos(a, 0));
    const scn_kv *sc = kv_first(a, "schedule");
    s->a.pod.schedule = sc ? scn_pstr(p, sc->v) : NULL;
    if (!fields(p, s, a)) return false;
    const scn_kv *ph = kv_first(a, "phase"), *rd = kv_first(a, "ready"), *rs = kv_first(a, "restarts");
    s->a.pod.phase = ph ? scn_pstr(p, ph->v) : NULL;
    s->a.pod.ready = rd ? rd->b : -1;
    s->a.pod.restarts_set = rs != NULL;
    s->a.pod.restarts = rs ? rs->u : 0;
    return true;
}

static bool cmp_parse(const char *s, scn_cmp *op)
{
    static const char *const ops[] = {">=", "<=", "==", "!=", ">", "<"};
    static const scn_cmp cmps[] = {SCN_CMP_GE, SCN_CMP_LE, SCN_CMP_EQ, SCN_CMP_NE, SCN_CMP_GT, SCN_CMP_LT};
    for (size_t i = 0; i < T0_ARRAY_LEN(ops); i++)
        if (!strcmp(s, ops[i])) return *op = cmps[i], true;
    return false;
}

static bool count_parse(const char *v, uint64_t *n)
{
    char *end;
    *n = strtoull(v, &end, 10);
    return *v && isdigit((unsigned char)*v) && !*end;
}

/* OP N at positional words K and K+1. */
static bool b_op_n(scn_pctx *p, const scn_args *a, size_t k, const char *what, scn_cmp *op, uint64_t *n)
{
    bool ok = true;
    if (!cmp_parse(pos(a, k), op)) scn_perr(p, pos_col(a, k), "expected a comparison%s, got '%s'", what, pos(a, k)), ok = false;
    if (!count_parse(pos(a, k + 1), n)) scn_perr(p, pos_col(a, k + 1), "expected a number, got '%s'", pos(a, k + 1)), ok = false;
    return ok;
}

/* NAME OP N (job-runs, restarts, log-lines, log-traffic, log-lag, count). */
bool scn_b_num(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    bool ok = b_op_n(p, a, 1, " (>= <= == != > <)", &s->a.num.op, &s->a.num.n);
    const char *name = pos(a, 0);
    if (s->verb == SCN_IF_COUNT) {
        if (!strcmp(name, "pods")) s->a.num.kind = KUBE_POD;
        else if (!strcmp(name, "cronjobs")) s->a.num.kind = KUBE_CRONJOB;
        else if (!strcmp(name, "jobs")) s->a.num.kind = KUBE_JOB;
        else scn_perr(p, pos_col(a, 0), "count what? pods, cronjobs or jobs, got '%s'", name), ok = false;
    }
    s->a.num.name = scn_pstr(p, name);
    return ok;
}

/* event NAME reason=R [OP N]: without OP N, at least one */
bool scn_b_event(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    const scn_kv *r = kv_first(a, "reason");
    s->a.event.name = scn_pstr(p, pos(a, 0));
    s->a.event.reason = r ? scn_pstr(p, r->v) : NULL;
    s->a.event.op = SCN_CMP_GE, s->a.event.n = 1;
    bool ok = true;
    if (!r) scn_perr(p, pos_col(a, 0), "event %s: which reason? event NAME reason=R [OP N]", pos(a, 0)), ok = false;
    if (a->npos == 2) scn_perr(p, pos_col(a, 1), "event NAME reason=R [OP N]: a comparison needs a number"), ok = false;
    if (a->npos == 3 && !b_op_n(p, a, 1, " (>= <= == != > <)", &s->a.event.op, &s->a.event.n)) ok = false;
    return ok;
}

/* api-calls M VERB KIND OP N */
bool scn_b_api(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    static const char *const verbs[] = {"create", "get", "list", "update", "update_status", "delete", "watch"};
    static const char *const kinds[] = {"pods", "cronjobs", "jobs", "leases", "events"}; /* kube_kind */
    _Static_assert(T0_ARRAY_LEN(verbs) == SCN_API__VERBS, "api verbs");
    _Static_assert(T0_ARRAY_LEN(kinds) == KUBE__KINDS, "kube kinds");
    bool ok = b_op_n(p, a, 3, " (>= <= == != > <)", &s->a.api.op, &s->a.api.n);
    int v = -1, k = -1;
    for (int i = 0; i < SCN_API__VERBS; i++)
        if (!strcmp(pos(a, 1), verbs[i])) v = i;
    for (int i = 0; i < KUBE__KINDS; i++)
        if (!strcmp(pos(a, 2), kinds[i])) k = i;
    if (v < 0) scn_perr(p, pos_col(a, 1), "api-calls: verb create|get|list|update|update_status|delete|watch, got '%s'", pos(a, 1)), ok = false;
    if (k < 0) scn_perr(p, pos_col(a, 2), "api-calls: kind pods|cronjobs|jobs|leases|events, got '%s'", pos(a, 2)), ok = false;
    s->a.api.manager = scn_pstr(p, pos(a, 0));
    s->a.api.verb = (scn_api_verb)(v < 0 ? 0 : v);
    s->a.api.kind = k < 0 ? 0 : k;
    return ok;
}

/* logs-shipped-within D */
bool scn_b_within(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    if (scn_parse_duration(pos(a, 0), &s->a.within_ms)) return true;
    scn_perr(p, pos_col(a, 0), "logs-shipped-within: expected a duration (90s, 2m), got '%s'", pos(a, 0));
    return false;
}

bool scn_b_violations(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    return b_op_n(p, a, 0, "", &s->a.violations.op, &s->a.violations.n);
}

bool scn_b_fsm(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    const fsm_table *t = s->verb == SCN_IF_BOT ? &fsm_bot_table : &fsm_schedule_table;
    const scn_kv *st = kv_first(a, "state");
    s->a.fsm.id = scn_pstr(p, pos(a, 0));
    s->a.fsm.state = st ? fsm_state_index(t, st->v) : -1;
    if (!st || s->a.fsm.state >= 0) return true;
    char names[400];
    size_t o = 0;
    for (int i = 0; i < t->nstates && o < sizeof names; i++)
        o += (size_t)snprintf(names + o, sizeof names - o, "%s%s", i ? " " : "", t->state_names[i]);
    scn_perr(p, st->tok->col, "unknown %s state '%s' (%s)", t->name, st->v, names);
    return false;
}

bool scn_b_manager(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    static const char *const conds[] = {"leader", "not-leader", "ready", "not-ready", "crashed"}; /* scn_mgr_cond */
    const char *c = pos(a, 1);
    for (int i = 0; i < 5; i++)
        if (!strcmp(c, conds[i])) {
            s->a.manager.name = scn_pstr(p, pos(a, 0));
            s->a.manager.cond = (scn_mgr_cond)i;
            return true;
        }
    scn_perr(p, pos_col(a, 1), "manager condition: leader, not-leader, ready, not-ready or crashed, got '%s'", c);
    return false;
}

bool scn_b_message(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    s->a.message.pod = scn_pstr(p, pos(a, 0));
    s->a.message.container = scn_pstr(p, pos(a, 1));
    s->a.message.text = scn_pstr(p, pos(a, 2));
    return true;
}

bool scn_b_state(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    if (a->n != 3 || !scn_tok_is_kv(&a->w[2])) {
        scn_perr(p, a->w[a->n - 1].col, "state needs: state ID KEY=VALUE");
        return false;
    }
    char okey[300];
    snprintf(okey, sizeof okey, "%s/state.tar.gz", a->w[1].s);
    s->a.state.id = scn_pstr(p, a->w[1].s);
    s->a.state.line = scn_pstr(p, a->w[2].s);
    s->a.state.object = scn_pstr(p, okey);
    return true;
}
