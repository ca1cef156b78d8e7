/* grammar_actions.c: the scenario grammar's builders of actions: options, definitions, programs, faults,
 * servers, managers and the cluster. */
#include "scenarios/grammar_impl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include "fakes/payloads.h"

/* ---- builders: options and definitions --------------------------------------------------------------- */
static const struct {
    const char *name;
    scn_opt_key key;
} opt_names[] = {
    {"manager", SCN_OPT_MANAGER}, {"nodes", SCN_OPT_NODES}, {"resync", SCN_OPT_RESYNC}, {"ns", SCN_OPT_NS},
    {"delete-allowance", SCN_OPT_DELETE_ALLOWANCE}, {"leader-election", SCN_OPT_LEADER_ELECTION},
    {"durable", SCN_OPT_DURABLE}, {"ack-wait", SCN_OPT_ACK_WAIT}, {"end", SCN_OPT_END}, {"latency", SCN_OPT_LATENCY},
    {"crashloop-escalate", SCN_OPT_CRASHLOOP_ESCALATE},
    {"init-escalate", SCN_OPT_INIT_ESCALATE}, {"requeue", SCN_OPT_REQUEUE}, {"lease", SCN_OPT_LEASE},
    {"max-deletes", SCN_OPT_MAX_DELETES}, {"nats", SCN_OPT_NATS}, {"bookmarks", SCN_OPT_BOOKMARKS},
    {"watch-history", SCN_OPT_WATCH_HISTORY}, {"list-page", SCN_OPT_LIST_PAGE},
};

bool scn_b_option(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    scn_option *o = scn_arena_alloc(p->arena, (a->nkv ? a->nkv : 1) * sizeof *o);
    if (!o) return p->oom = true, false;
    for (size_t i = 0; i < a->nkv; i++) {
        const scn_kv *kv = &a->kv[i];
        for (size_t k = 0; k < T0_ARRAY_LEN(opt_names); k++)
            if (key_is(kv, opt_names[k].name)) o[i].key = opt_names[k].key;
        o[i].b = kv->b, o[i].u = kv->u, o[i].ms = kv->ms;
        if (o[i].key == SCN_OPT_NS) o[i].s = scn_pstr(p, kv->v);
    }
    s->a.option.v = o;
    s->a.option.n = a->nkv;
    return true;
}

bool scn_b_end(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    if (scn_parse_duration(pos(a, 0), &s->a.end_ms)) return true;
    scn_perr(p, pos_col(a, 0), "end needs a duration, got '%s'", pos(a, 0));
    return false;
}

/* The definition changes among the KEY=VALUE words, in order. */
static bool mods(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    scn_mod *m = scn_arena_alloc(p->arena, (a->nkv ? a->nkv : 1) * sizeof *m);
    if (!m) return p->oom = true, false;
    static const struct {
        const char *name;
        scn_mod_key key;
    } strs[] = {{"runtime", SCN_MOD_RUNTIME}, {"entry", SCN_MOD_ENTRY}, {"version", SCN_MOD_VERSION},
                {"name", SCN_MOD_NAME},       {"path", SCN_MOD_PATH},   {"cron", SCN_MOD_CRON}};
    size_t n = 0;
    for (size_t i = 0; i < a->nkv; i++) {
        const scn_kv *kv = &a->kv[i];
        if (kv->klen > 7 && !strncmp(kv->key, "config.", 7)) {
            char key[128];
            snprintf(key, sizeof key, "%.*s", (int)(kv->klen - 7), kv->key + 7);
            cJSON *val = cJSON_Parse(kv->v);
            if (!val) val = cJSON_CreateString(kv->v);
            if (!(val = scn_arena_json(p->arena, val))) return p->oom = true, false;
            m[n++] = (scn_mod){.key = SCN_MOD_CONFIG_KEY, .config_key = scn_pstr(p, key), .json = val};
        } else if (key_is(kv, "config")) {
            m[n++] = (scn_mod){.key = SCN_MOD_CONFIG, .json = kv->json};
        } else {
            for (size_t k = 0; k < T0_ARRAY_LEN(strs); k++)
                if (key_is(kv, strs[k].name)) m[n++] = (scn_mod){.key = strs[k].key, .str = scn_pstr(p, kv->v)};
        }
    }
    s->a.def.mods = m;
    s->a.def.nmods = n;
    return true;
}

bool scn_b_define(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    s->a.def.id = scn_pstr(p, pos(a, 0));
    return mods(p, s, a);
}

bool scn_b_publish(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    const char *ev = pos(a, 0), *dot = strchr(ev, '.');
    int op = dot ? payload_op_parse(dot + 1) : -1;
    bool ok = true;
    if (op < 0 || (strncmp(ev, "bot.", 4) && strncmp(ev, "schedule.", 9))) {
        scn_perr(p, pos_col(a, 0), "publish what? bot.created|updated|deleted, schedule.created|updated|deleted or raw, "
                 "got '%s'", ev);
        ok = false;
    }
    for (size_t k = 2; k < a->npos; k++) {
        if (!strcmp(pos(a, k), "wrapped")) s->a.def.wrapped = true;
        else {
            scn_perr(p, pos_col(a, k), "unexpected '%s' (only 'wrapped' and KEY=VALUE may follow the id)", pos(a, k));
            ok = false;
        }
    }
    if (!ok) return false;
    s->a.def.id = scn_pstr(p, pos(a, 1));
    s->a.def.schedule = !strncmp(ev, "schedule.", 9);
    s->a.def.op = op;
    return mods(p, s, a);
}

bool scn_b_publish_raw(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    s->a.raw.subject = scn_pstr(p, pos(a, 0));
    s->a.raw.data = scn_pstr(p, pos(a, 1));
    return true;
}

bool scn_b_put_broken(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    if (pos(a, 1) && strcmp(pos(a, 1), "schedule")) {
        scn_perr(p, pos_col(a, 1), "store put-broken ID [schedule], got '%s'", pos(a, 1));
        return false;
    }
    s->a.broken.id = scn_pstr(p, pos(a, 0));
    s->a.broken.schedule = pos(a, 1) != NULL;
    return true;
}

/* The one object word of node, pod, cronjob, `create ... for` and `store del` verbs. */
bool scn_b_obj(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    s->a.obj.name = scn_pstr(p, pos(a, 0));
    const scn_kv *g = kv_first(a, "grace");
    s->a.obj.grace_s = !g ? -1 : g->u > INT64_MAX ? INT64_MAX : (int64_t)g->u;
    const scn_kv *c = kv_first(a, "container");
    if (s->verb == SCN_OOM_KILL) {
        s->a.obj.container = c ? scn_pstr(p, c->v) : "bot";
        if (strcmp(s->a.obj.container, "init") && strcmp(s->a.obj.container, "bot") && strcmp(s->a.obj.container, "sync")) {
            scn_perr(p, pos_col(a, 0), "oom-kill pod: container=init|bot|sync, got '%s'", s->a.obj.container);
            return false;
        }
    }
    return true;
}

/* ---- builders: programs and faults --------------------------------------------------------------- */
static bool model_op(scn_pctx *p, scn_container c, const scn_kv *kv, scn_model_op *op)
{
    if (key_is(kv, "fail")) {
        *op = (scn_model_op){.kind = SCN_M_INIT_FAIL, .n = !strcmp(kv->v, "forever") ? -1 : atoi(kv->v)};
        return c == SCN_CONTAINER_INIT;
    }
    if (key_is(kv, "ms")) {
        *op = (scn_model_op){.kind = c == SCN_CONTAINER_INIT ? SCN_M_INIT_MS : SCN_M_PULL_MS, .ms = kv->ms};
        return c != SCN_CONTAINER_BOT;
    }
    if (c != SCN_CONTAINER_BOT) return false;
    static const struct {
        const char *key;
        scn_model_op_kind kind;
    } keys[] = {{"crash-every", SCN_M_CRASH_EVERY}, {"exit", SCN_M_EXIT}, {"after", SCN_M_AFTER},
                {"log-every", SCN_M_LOG_EVERY},     {"text", SCN_M_TEXT}, {"term", SCN_M_TERM},
                {"write-every", SCN_M_WRITE_EVERY}};
    for (size_t k = 0; k < T0_ARRAY_LEN(keys); k++)
        if (key_is(kv, keys[k].key)) {
            *op = (scn_model_op){.kind = keys[k].kind, .ms = kv->ms, .n = atoi(kv->v)};
            if (op->kind == SCN_M_TEXT) op->val = scn_pstr(p, kv->v);
            return true;
        }
    return false; /* at= (read by write-state) */
}

/* A size in bytes: 4096, 4k, 64Ki, 1M, 1Mi, 2G (k/M/G and Ki/Mi/Gi are powers of 1024 alike). */
static bool parse_size(const char *v, int64_t *out)
{
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (end == v) return false;
    int64_t mul = 1;
    if (*end == 'k' || *end == 'K') mul = 1024, end++;
    else if (*end == 'M') mul = 1024 * 1024, end++;
    else if (*end == 'G') mul = 1024 * 1024 * 1024, end++;
    if (*end == 'i' && mul > 1) end++;
    if (*end || n > (unsigned long long)(INT64_MAX / mul)) return false;
    *out = (int64_t)n * mul;
    return true;
}

/* model ID volume NAME=SIZE...: the capacity of the bot's pods' volumes; model ID code file=NAME...: files of
 * its code zip. */
static bool model_volume_code(scn_pctx *p, scn_container c, const scn_tok *t, scn_model_op *op)
{
    scn_kv kv;
    if (!scn_tok_is_kv(t)) {
        scn_perr(p, t->col, "%s needs KEY=VALUE words, got '%s'", c == SCN_CONTAINER_VOLUME ? "volume" : "code", t->s);
        return false;
    }
    scn_kv_split(t, &kv);
    char key[128];
    snprintf(key, sizeof key, "%.*s", (int)kv.klen, kv.key);
    if (c == SCN_CONTAINER_CODE) {
        if (strcmp(key, "file") || !*kv.v) {
            scn_perr(p, t->col, "code takes file=NAME, got '%s'", t->s);
            return false;
        }
        *op = (scn_model_op){.kind = SCN_M_CODE_FILE, .val = scn_pstr(p, kv.v)};
        return true;
    }
    *op = (scn_model_op){.kind = SCN_M_VOLUME, .key = scn_pstr(p, key)};
    if (!parse_size(kv.v, &op->ms)) {
        scn_perr(p, t->col, "volume %s: a size like 4096, 4k, 1M or 0 (the default), got '%s'", key, kv.v);
        return false;
    }
    return true;
}

/* model ID bot|init|pull|volume|code WORD...: words meant for another container are accepted and ignored. */
bool scn_b_model(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    const scn_tok *w = a->w;
    size_t n = a->n;
    if (n < 3) {
        scn_perr(p, w[0].col, "model needs a bot id and a container: model ID bot|init|pull|volume|code ...");
        return false;
    }
    static const char *const containers[] = {"bot", "init", "pull", "volume", "code"};
    int c = -1;
    for (int i = 0; i < 5; i++)
        if (!strcmp(w[2].s, containers[i])) c = i;
    if (c < 0) {
        scn_perr(p, w[2].col, "unknown container '%s' (bot, init, pull, volume or code)", w[2].s);
        return false;
    }
    scn_model_op *ops = scn_arena_alloc(p->arena, n * sizeof *ops);
    if (!ops) return p->oom = true, false;
    size_t nops = 0;
    bool ok = true;
    for (size_t i = 3; i < n; i++) {
        const scn_tok *t = &w[i];
        scn_kv kv;
        if (c == SCN_CONTAINER_VOLUME || c == SCN_CONTAINER_CODE) {
            if (model_volume_code(p, (scn_container)c, t, &ops[nops])) nops++;
            else ok = false;
            continue;
        }
        if (!strcmp(t->s, "forever") || !strcmp(t->s, "ignore-sigterm") || !strcmp(t->s, "fail")) {
            scn_model_op_kind k = t->s[0] == 'i' ? SCN_M_IGNORE_SIGTERM
                                  : t->s[1] == 'o'  ? SCN_M_FOREVER
                                  : c == SCN_CONTAINER_INIT ? SCN_M_INIT_FAIL : SCN_M_PULL_FAIL;
            bool mine = (c == SCN_CONTAINER_BOT) == (k == SCN_M_IGNORE_SIGTERM || k == SCN_M_FOREVER);
            if (mine) ops[nops++] = (scn_model_op){.kind = k, .n = -1};
        } else if (!strcmp(t->s, "write-state")) {
            if (i + 1 >= n || !scn_tok_is_kv(&w[i + 1]) || !strncmp(w[i + 1].s, "at=", 3)) {
                scn_perr(p, t->col, "write-state needs KEY=VALUE next (then at=DURATION)");
                ok = false;
                continue;
            }
            scn_kv_split(&w[++i], &kv);
            scn_model_op op = {.kind = SCN_M_WRITE_STATE, .val = scn_pstr(p, kv.v)};
            char key[256];
            snprintf(key, sizeof key, "%.*s", (int)kv.klen, kv.key);
            op.key = scn_pstr(p, key);
            for (size_t j = i + 1; j < n; j++) /* the first at= after it */
                if (scn_tok_is_kv(&w[j]) && !strncmp(w[j].s, "at=", 3)) {
                    if (!scn_parse_duration(w[j].s + 3, &op.ms)) op.ms = 0;
                    break;
                }
            if (c == SCN_CONTAINER_BOT) ops[nops++] = op;
        } else if (!scn_tok_is_kv(t)) {
            scn_perr(p, t->col, "unexpected '%s' in model", t->s);
            ok = false;
        } else {
            scn_kv_split(t, &kv);
            if (key_is(&kv, "fail") && strcmp(kv.v, "forever") && !(*kv.v && isdigit((unsigned char)*kv.v) &&
                                                                     strspn(kv.v, "0123456789") == strlen(kv.v))) {
                scn_perr(p, t->col, "fail= needs a count or 'forever', got '%s'", kv.v);
                ok = false;
            } else if (!scn_kv_typed(p, "model", false, "crash-every:d exit:i after:d at:d log-every:d text:s term:d fail:* ms:d write-every:d", &kv))
                ok = false;
            else if (model_op(p, (scn_container)c, &kv, &ops[nops])) nops++;
        }
    }
    s->a.model.id = scn_pstr(p, w[1].s);
    s->a.model.container = (scn_container)c;
    s->a.model.ops = ops;
    s->a.model.nops = nops;
    return ok;
}

/* scoped_point: POINT as the registry knows it: "M:POINT" when only manager M's API port sees it. */
static const char *scoped_point(scn_pctx *p, const char *point, const char *manager)
{
    if (!manager) return scn_pstr(p, point);
    char b[300];
    snprintf(b, sizeof b, "%s:%s", manager, point);
    return scn_pstr(p, b);
}

/* KIND as the fault's kind (a bare word); false when unknown. */
static bool fault_kind(const char *kind, sim_fault_spec *spec)
{
    if (!strcmp(kind, "outage")) {
        spec->kind = SIM_FAULT_ERROR;
        spec->status = T0_EUNAVAILABLE;
        spec->http_status = 503;
        return true;
    }
    int k = sim_fault_kind_parse(kind);
    if (k < 0) return false;
    spec->kind = (sim_fault_kind)k;
    spec->status = k == SIM_FAULT_ERROR ? T0_EINTERNAL : k == SIM_FAULT_TOOMANY ? T0_ETOOMANY : T0_OK;
    spec->http_status = k == SIM_FAULT_ERROR ? 500 : k == SIM_FAULT_TOOMANY ? 429 : 0;
    return true;
}

/* fault POINT KIND|error=HTTP [p=P] [count=N] [calls=K..M] [ms=D] -> the registry's sim_fault_spec. */
bool scn_b_fault(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    const scn_tok *w = a->w;
    if (a->n < 3) {
        scn_perr(p, w[0].col, "fault needs a point and a kind: fault POINT KIND [p=..] [count=..] [calls=..]");
        return false;
    }
    sim_fault_spec spec = {.kind = SIM_FAULT_ERROR, .status = T0_EINTERNAL, .http_status = 500, .probability = 1.0};
    bool kind = false, ok = true;
    for (size_t i = 2; i < a->n; i++) {
        const scn_tok *t = &w[i];
        scn_kv kv;
        if (!scn_tok_is_kv(t)) {
            if (kind) scn_perr(p, t->col, "a fault has one kind; unexpected '%s'", t->s), ok = false;
            else if (!fault_kind(t->s, &spec))
                scn_perr(p, t->col, "unknown fault kind '%s' (error[=HTTP] 429 timeout timeout-applied latency drop "
                         "duplicate reorder gone close stale outage)", t->s), ok = false;
            kind = true;
            continue;
        }
        scn_kv_split(t, &kv);
        if (key_is(&kv, "error")) {
            int code = atoi(kv.v), st = scn_http_to_status(code);
            if (kind) scn_perr(p, t->col, "a fault has one kind"), ok = false;
            else if (st < 0)
                scn_perr(p, t->col, "error= needs an HTTP status (404 409 410 422 429 5xx), got '%s'", kv.v), ok = false;
            kind = true;
            spec.kind = st == T0_ETOOMANY ? SIM_FAULT_TOOMANY : SIM_FAULT_ERROR;
            spec.http_status = code;
            spec.status = (t0_status)st;
        } else if (!scn_kv_typed(p, "fault", false, "p:f count:u calls:r ms:d manager:s", &kv)) ok = false;
        else if (key_is(&kv, "manager")) s->a.fault.manager = scn_pstr(p, kv.v);
        else if (kv.ty == 'f') spec.probability = kv.f;
        else if (kv.ty == 'u') spec.count = kv.u;
        else if (kv.ty == 'r') spec.first_call = kv.lo, spec.last_call = kv.hi;
        else spec.ms = kv.ms;
    }
    if (!kind) scn_perr(p, w[1].col, "fault %s: no kind given", w[1].s), ok = false;
    if ((spec.kind == SIM_FAULT_TOOMANY || spec.kind == SIM_FAULT_LATENCY || spec.kind == SIM_FAULT_REORDER) && !spec.ms)
        spec.ms = 1000;
    char why[300];
    if (ok && kind && !sim_faults_realistic(w[1].s, &spec, why, sizeof why)) {
        scn_perr(p, w[1].col, "%s", why);
        ok = false;
    }
    s->a.fault.point = scoped_point(p, w[1].s, s->a.fault.manager);
    s->a.fault.spec = spec;
    return ok;
}

bool scn_b_clear_fault(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    const scn_kv *m = kv_first(a, "manager");
    s->a.fault.manager = m ? scn_pstr(p, m->v) : NULL;
    s->a.fault.point = scoped_point(p, pos(a, 0), s->a.fault.manager);
    return true;
}

bool scn_b_none(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    (void)p, (void)s, (void)a;
    return true;
}

/* ---- builders: servers, managers, the cluster -------------------------------------------------------- */
bool scn_b_outage(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    static const char *const servers[] = {"mongo", "nats", "s3"};
    const char *what = pos(a, 0);
    int sv = -1;
    for (int i = 0; i < 3; i++)
        if (!strcmp(what, servers[i])) sv = i;
    if (sv < 0) scn_perr(p, pos_col(a, 0), "outage of what? mongo, nats or s3, got '%s'", what);
    bool on = false, ok = scn_parse_bool(pos(a, 1), &on);
    if (!ok) scn_perr(p, pos_col(a, 1), "outage %s on|off, got '%s'", what, pos(a, 1));
    s->a.outage.server = (scn_server)sv;
    s->a.outage.on = on;
    return ok && sv >= 0;
}

/* [M] at-effect=N restart-after=D: the manager (default m1; a bare `at-effect` names none). */
bool scn_b_mgr(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    const char *name = pos(a, 0);
    s->a.mgr.name = name && strcmp(name, "at-effect") ? scn_pstr(p, name) : "m1";
    const scn_kv *at = kv_first(a, "at-effect"), *ra = kv_first(a, "restart-after");
    s->a.mgr.at_effect_set = at != NULL;
    s->a.mgr.at_effect = at ? at->u : 0;
    s->a.mgr.restart_after_ms = ra ? ra->ms : -1;
    return true;
}

/* clock M OFFSET: "+20s", "-1m30s", "0s" */
bool scn_b_clock(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    const char *v = pos(a, 1);
    int sign = *v == '-' ? -1 : 1;
    s->a.mgr.name = scn_pstr(p, pos(a, 0));
    s->a.mgr.restart_after_ms = -1;
    if (scn_parse_duration(v + (*v == '-' || *v == '+'), &s->a.mgr.clock_ms)) {
        s->a.mgr.clock_ms *= sign;
        return true;
    }
    scn_perr(p, pos_col(a, 1), "clock %s: expected an offset such as +20s or -1m, got '%s'", pos(a, 0), v);
    return false;
}

/* create pod|cronjob NAME [labels=] [annotations=] [finalizers=] [owner=KIND/NAME] [schedule=] */
bool scn_b_foreign(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    const scn_kv *l = kv_first(a, "labels"), *an = kv_first(a, "annotations"), *f = kv_first(a, "finalizers");
    const scn_kv *o = kv_first(a, "owner"), *sc = kv_first(a, "schedule");
    bool ok = true;
    s->a.foreign.name = scn_pstr(p, pos(a, 0));
    s->a.foreign.labels = l ? l->json : NULL;
    s->a.foreign.annotations = an ? an->json : NULL;
    s->a.foreign.finalizers = f ? f->json : NULL;
    s->a.foreign.schedule = sc ? scn_pstr(p, sc->v) : NULL;
    const cJSON *it;
    if (l && !cJSON_IsObject(l->json)) scn_perr(p, l->tok->col, "labels= needs a JSON object"), ok = false;
    if (an && !cJSON_IsObject(an->json)) scn_perr(p, an->tok->col, "annotations= needs a JSON object"), ok = false;
    const scn_kv *maps[] = {l, an};
    for (size_t m = 0; m < 2; m++) {
        if (!maps[m] || !cJSON_IsObject(maps[m]->json)) continue;
        cJSON_ArrayForEach(it, maps[m]->json) if (!cJSON_IsString(it)) {
            scn_perr(p, maps[m]->tok->col, "label and annotation values are strings ('%s' is not)", it->string);
            ok = false;
            break;
        }
    }
    if (f && !cJSON_IsArray(f->json)) scn_perr(p, f->tok->col, "finalizers= needs a JSON array of strings"), ok = false;
    if (s->verb != SCN_CREATE_CRONJOB && sc) scn_perr(p, sc->tok->col, "'create pod' does not take schedule="), ok = false;
    if (o) {
        const char *slash = strchr(o->v, '/');
        if (!slash || slash == o->v || !slash[1]) {
            scn_perr(p, o->tok->col, "owner= needs KIND/NAME (owner=ReplicaSet/web-5d9c), got '%s'", o->v);
            ok = false;
        } else {
            char k[128];
            snprintf(k, sizeof k, "%.*s", (int)(slash - o->v), o->v);
            s->a.foreign.owner_kind = scn_pstr(p, k);
            s->a.foreign.owner_name = scn_pstr(p, slash + 1);
        }
    }
    return ok;
}

/* add finalizer pod|cronjob NAME VALUE, remove finalizers pod|cronjob NAME */
bool scn_b_fin(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    const char *k = pos(a, 0);
    if (strcmp(k, "pod") && strcmp(k, "cronjob")) {
        scn_perr(p, pos_col(a, 0), "finalizers of a pod or a cronjob, got '%s'", k);
        return false;
    }
    s->a.fin.cronjob = !strcmp(k, "cronjob");
    s->a.fin.name = scn_pstr(p, pos(a, 1));
    s->a.fin.value = pos(a, 2) ? scn_pstr(p, pos(a, 2)) : NULL;
    return true;
}

bool scn_b_on_off(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    bool on = false;
    if (scn_parse_bool(pos(a, 0), &on)) {
        s->a.down = on;
        return true;
    }
    scn_perr(p, pos_col(a, 0), "on or off, got '%s'", pos(a, 0));
    return false;
}

bool scn_b_cronjob_controller(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    const char *v = pos(a, 0);
    if (strcmp(v, "down") && strcmp(v, "up")) {
        scn_perr(p, pos_col(a, 0), "cronjob-controller down|up, got '%s'", v);
        return false;
    }
    s->a.down = !strcmp(v, "down");
    return true;
}

/* note TEXT: the text after `note ` as written (the statement's text may start with a time prefix). */
bool scn_b_note(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    const char *t = s->text + (a->w[0].col - p->text_col) + 4;
    s->a.note = t + (*t == ' ');
    return true;
}

/* FILLER: what `object put B/K lines=N` writes, N lines of it (an earlier writer's log: no bot's numbered lines) */
#define FILLER "a line an earlier writer left in this object\n"

/* object put BUCKET/KEY 'BYTES' | object put BUCKET/KEY lines=N | object cut BUCKET/KEY: the scenario writes the
 * object store (no fault applies). */
bool scn_b_object(scn_pctx *p, scn_stmt *s, const scn_args *a)
{
    const char *bk = pos(a, 0), *slash = bk ? strchr(bk, '/') : NULL;
    if (!slash || slash == bk || !slash[1]) {
        scn_perr(p, pos_col(a, 0), "object needs BUCKET/KEY, got '%s'", bk ? bk : "");
        return false;
    }
    char bucket[128];
    snprintf(bucket, sizeof bucket, "%.*s", (int)(slash - bk), bk);
    s->a.object.bucket = scn_pstr(p, bucket);
    s->a.object.key = scn_pstr(p, slash + 1);
    s->a.object.data = s->verb == SCN_OBJECT_PUT && pos(a, 1) ? scn_pstr(p, pos(a, 1)) : NULL;
    s->a.object.len = s->a.object.data ? strlen(s->a.object.data) : 0;
    if (s->verb != SCN_OBJECT_PUT) return true;
    uint64_t lines = a->nkv ? a->kv[0].u : 0;
    if ((s->a.object.data != NULL) == (a->nkv > 0) || lines > 10000000) {
        scn_perr(p, pos_col(a, 0), "object put needs 'BYTES' or lines=N (at most 10,000,000), not both");
        return false;
    }
    if (lines) {
        size_t fl = sizeof FILLER - 1;
        char *d = scn_arena_alloc(p->arena, lines * fl + 1);
        if (!d) return p->oom = true, false;
        for (uint64_t i = 0; i < lines; i++) memcpy(d + i * fl, FILLER, fl);
        d[lines * fl] = '\0';
        s->a.object.data = d;
        s->a.object.len = lines * fl;
    }
    return true;
}

