/* grammar.c: the scenario language's verbs: the table every statement is checked against, and per verb
 * the builder that yields its typed arguments (see docs/scenarios.md). Values are converted here, once:
 * the runner never parses a word. This file: the table and how a statement is matched, split and typed
 * against it (the others: grammar_impl.h). */
#include "scenarios/grammar_impl.h"

#include <stdlib.h>

#include "scenarios/check.h"

/* ---- the table ------------------------------------------------------------------------------------------- */
#define PUB_KEYS "config.*:* version:s runtime:s entry:s path:s name:s cron:s"
#define OPT_KEYS                                                                                                   \
    "manager:b nodes:u resync:d ns:s delete-allowance:d leader-election:b durable:b ack-wait:d end:d latency:d "   \
    "crashloop-escalate:u init-escalate:u requeue:d lease:d max-deletes:u nats:b bookmarks:d watch-history:u list-page:u"
#define ACT false
#define COND true
const scn_grammar_row scn_grammar[] = {
    {SCN_OPTION, "option", ACT, 0, 0, OPT_KEYS, scn_b_option},
    {SCN_END, "end", ACT, 1, 1, "", scn_b_end},
    {SCN_BOT, "bot", ACT, 1, 1, "runtime:s entry:s config:j version:s name:s path:s", scn_b_define},
    {SCN_SCHEDULE, "schedule", ACT, 1, 1, "cron:s runtime:s entry:s config:j version:s name:s path:s", scn_b_define},
    {SCN_PUBLISH_RAW, "publish raw", ACT, 2, 2, "", scn_b_publish_raw},
    {SCN_PUBLISH, "publish", ACT, 2, 3, PUB_KEYS, scn_b_publish},
    {SCN_STORE_PUT_BROKEN, "store put-broken", ACT, 1, 2, "", scn_b_put_broken},
    {SCN_STORE_PUT, "store put", ACT, 1, 1, PUB_KEYS, scn_b_define},
    {SCN_STORE_PUT_DUPLICATE, "store put-duplicate", ACT, 1, 1, PUB_KEYS, scn_b_define},
    {SCN_STORE_DEL, "store del", ACT, 1, 1, "", scn_b_obj},
    {SCN_MODEL, "model", ACT, 2, 4, NULL, scn_b_model},
    {SCN_FAULT, "fault", ACT, 1, 2, NULL, scn_b_fault},
    {SCN_CLEAR_FAULTS, "clear faults", ACT, 0, 0, "", scn_b_none},
    {SCN_CLEAR_FAULT, "clear fault", ACT, 1, 1, "manager:s", scn_b_clear_fault},
    {SCN_OUTAGE, "outage", ACT, 2, 2, "", scn_b_outage},
    {SCN_CRASH_CONTROLLER, "crash controller", ACT, 0, 1, "at-effect:u restart-after:d", scn_b_mgr},
    {SCN_RESTART_CONTROLLER, "restart controller", ACT, 0, 1, "", scn_b_mgr},
    {SCN_START_MANAGER, "start manager", ACT, 1, 1, "", scn_b_mgr},
    {SCN_CLOCK, "clock", ACT, 2, 2, "", scn_b_clock},
    {SCN_STOP_MANAGER, "stop manager", ACT, 1, 1, "", scn_b_mgr},
    {SCN_KILL_NODE, "kill node", ACT, 1, 1, "", scn_b_obj},
    {SCN_REVIVE_NODE, "revive node", ACT, 1, 1, "", scn_b_obj},
    {SCN_ADD_NODE, "add node", ACT, 1, 1, "", scn_b_obj},
    {SCN_EVICT_POD, "evict pod", ACT, 1, 1, "", scn_b_obj},
    {SCN_OOM_KILL, "oom-kill pod", ACT, 1, 1, "container:s", scn_b_obj},
    {SCN_CREATE_POD_FOR, "create pod for", ACT, 1, 1, "", scn_b_obj},
    {SCN_CREATE_CRONJOB_FOR, "create cronjob for", ACT, 1, 1, "", scn_b_obj},
    {SCN_DELETE_POD, "delete pod", ACT, 1, 1, "grace:u", scn_b_obj},
    {SCN_DELETE_CRONJOB, "delete cronjob", ACT, 1, 1, "", scn_b_obj},
    {SCN_CRONJOB_CONTROLLER, "cronjob-controller", ACT, 1, 1, "", scn_b_cronjob_controller},
    {SCN_RESYNC, "resync", ACT, 0, 0, "", scn_b_none},
    {SCN_NOTE, "note", ACT, 0, 64, "*:*", scn_b_note},
    {SCN_OBJECT_PUT, "object put", ACT, 1, 2, "lines:u", scn_b_object},
    {SCN_OBJECT_CUT, "object cut", ACT, 1, 1, "", scn_b_object},
    {SCN_CREATE_POD, "create pod", ACT, 1, 1, "labels:j annotations:j finalizers:j owner:s", scn_b_foreign},
    {SCN_CREATE_CRONJOB, "create cronjob", ACT, 1, 1, "labels:j annotations:j finalizers:j owner:s schedule:s", scn_b_foreign},
    {SCN_ADD_FINALIZER, "add finalizer", ACT, 3, 3, "", scn_b_fin},
    {SCN_REMOVE_FINALIZERS, "remove finalizers", ACT, 2, 2, "", scn_b_fin},
    {SCN_MONGO_RESTORE, "mongo-restore", ACT, 1, 1, "", scn_b_on_off},
    {SCN_INVARIANT, NULL, ACT, 0, 0, "", scn_b_none}, /* always NAME: matched by name in scn_grammar_parse */
    {SCN_IF_NO_POD, "no pod", COND, 1, 1, "", scn_b_pod},
    {SCN_IF_NO_CRONJOB, "no cronjob", COND, 1, 1, "", scn_b_pod},
    {SCN_IF_NO_STORE, "no store", COND, 1, 1, "", scn_b_pod},
    {SCN_IF_POD, "pod", COND, 1, 1, "phase:s ready:b restarts:u label.*:s annotation.*:s env.*:s", scn_b_pod},
    {SCN_IF_CRONJOB, "cronjob", COND, 1, 1, "schedule:s label.*:s annotation.*:s env.*:s", scn_b_pod},
    {SCN_IF_JOB_RUNS, "job-runs", COND, 3, 3, "", scn_b_num},
    {SCN_IF_RESTARTS, "restarts", COND, 3, 3, "", scn_b_num},
    {SCN_IF_LOG_LINES, "log-lines", COND, 3, 3, "", scn_b_num},
    {SCN_IF_LOG_TRAFFIC, "log-traffic", COND, 3, 3, "", scn_b_num},
    {SCN_IF_LOG_LAG, "log-lag", COND, 3, 3, "", scn_b_num},
    {SCN_IF_BOT, "bot", COND, 1, 1, "state:s", scn_b_fsm},
    {SCN_IF_SCHEDULE, "schedule", COND, 1, 1, "state:s", scn_b_fsm},
    {SCN_IF_COUNT, "count", COND, 3, 3, "", scn_b_num},
    {SCN_IF_MANAGER, "manager", COND, 2, 2, "", scn_b_manager},
    {SCN_IF_STATE, "state", COND, 1, 1, "*:*", scn_b_state},
    {SCN_IF_STORE, "store", COND, 1, 1, "", scn_b_pod},
    {SCN_IF_VIOLATIONS, "violations", COND, 2, 2, "", scn_b_violations},
    {SCN_IF_MESSAGE, "message", COND, 3, 3, "", scn_b_message},
    {SCN_IF_STATE_LAG, "state-lag", COND, 3, 3, "", scn_b_num},
    {SCN_IF_INTENT, "pods-match-intent", COND, 0, 0, "", scn_b_none},
    {SCN_IF_EVENT, "event", COND, 1, 3, "reason:s", scn_b_event},
    {SCN_IF_API_CALLS, "api-calls", COND, 5, 5, "", scn_b_api},
    {SCN_IF_LOGS_SHIPPED, "logs-shipped-within", COND, 1, 1, "", scn_b_within},
};
const size_t scn_grammar_len = T0_ARRAY_LEN(scn_grammar);

const char *scn_verb_name(scn_verb v)
{
    for (size_t i = 0; i < scn_grammar_len; i++)
        if (scn_grammar[i].verb == v) return scn_grammar[i].words ? scn_grammar[i].words : "always NAME";
    return "?";
}

static size_t verb_len(const char *words)
{
    size_t n = 1;
    for (const char *p = words; *p; p++) n += *p == ' ';
    return n;
}

/* match: are the N words W led by ROW's words? */
static bool match(const scn_tok *w, size_t n, const scn_grammar_row *row)
{
    const char *p = row->words;
    for (size_t i = 0;; i++) {
        const char *sp = strchr(p, ' ');
        size_t l = sp ? (size_t)(sp - p) : strlen(p);
        if (i >= n || strlen(w[i].s) != l || strncmp(w[i].s, p, l)) return false;
        if (!sp) return true;
        p = sp + 1;
    }
}

/* The words after ROW's into A: positional counts and every KEY=VALUE checked and converted (rows with
 * keys NULL check their words themselves). false when something was wrong (reported). */
static bool split_args(scn_pctx *p, const scn_grammar_row *row, scn_args *a)
{
    bool ok = true;
    for (size_t i = a->first; i < a->n; i++) {
        const scn_tok *t = &a->w[i];
        if (row->keys && scn_tok_is_kv(t)) {
            scn_kv *kv = &a->kv[a->nkv];
            scn_kv_split(t, kv);
            if (scn_kv_typed(p, row->words, true, row->keys, kv)) a->nkv++;
            else ok = false;
            continue;
        }
        if ((int)a->npos >= row->maxpos) {
            scn_perr(p, t->col, "'%s' takes at most %d argument%s; unexpected '%s'", row->words, row->maxpos,
                     row->maxpos == 1 ? "" : "s", t->s);
            ok = false;
        } else a->pos[a->npos++] = t;
    }
    if ((int)a->npos < row->minpos && ok) {
        scn_perr(p, a->w[a->n - 1].col, "'%s' needs %d argument%s, got %zu", row->words, row->minpos,
                 row->minpos == 1 ? "" : "s", a->npos);
        ok = false;
    }
    return ok;
}

static const scn_grammar_row *lookup(scn_pctx *p, const scn_stmt *s, const scn_tok *w, size_t n)
{
    const scn_grammar_row *best = NULL;
    bool cond = s->type != SCN_ACTION;
    for (size_t i = 0; i < scn_grammar_len; i++) {
        const scn_grammar_row *r = &scn_grammar[i];
        if (r->words && r->condition == cond && r->words[0] == w[0].s[0] && match(w, n, r) &&
            (!best || verb_len(r->words) > verb_len(best->words)))
            best = r;
    }
    if (!best) scn_perr(p, w[0].col, "unknown %s '%s'", cond ? "condition" : "statement", w[0].s);
    return best;
}

bool scn_grammar_parse(scn_pctx *p, scn_stmt *s, const scn_tok *w, size_t n)
{
    if (s->type == SCN_ALWAYS && n == 1) {
        for (int i = 0; scn_invariant_names[i]; i++)
            if (!strcmp(w[0].s, scn_invariant_names[i])) {
                s->verb = SCN_INVARIANT;
                s->a.invariant = i;
                return true;
            }
    }
    const scn_grammar_row *row = lookup(p, s, w, n);
    if (!row) return false;
    s->verb = row->verb;
    scn_args a = {.w = w, .n = n, .first = verb_len(row->words)};
    const scn_tok *pos_small[16];
    scn_kv kv_small[16];
    bool small = n <= 16; /* most statements: no allocation */
    a.pos = small ? pos_small : malloc(n * sizeof *a.pos);
    a.kv = small ? kv_small : malloc(n * sizeof *a.kv);
    bool ok = a.pos && a.kv;
    if (!ok) p->oom = true;
    else ok = (!row->keys || split_args(p, row, &a)) && row->build(p, s, &a);
    if (!small) {
        free(a.pos);
        free(a.kv);
    }
    return ok && !p->oom;
}
