/* oracle.c: the intent oracle (oracle.h; definitions in docs/scenarios.md "The intent oracle"). Per id it
 * keeps the latest intent only: its kind, the document the intake stores for it, its version and, for a
 * delete or a disable, when it took effect. Everything is O(1) per event except a list read, which looks
 * at the ids whose delete or disable has not taken effect yet. */
#include "scenarios/oracle.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/subscriber.h"
#include "core/hmap.h"
#include "core/json.h"
#include "core/str.h"
#include "domain/botdoc.h"
#include "domain/hash.h"
#include "scenarios/scn.h"

#define LBL_BOT "the0.dev/bot-id"
#define LBL_SCHED "the0.dev/schedule-id"
#define LBL_MANAGED_BY "the0.dev/managed-by"

typedef enum ikind { I_NONE = 0, I_ENABLED, I_DISABLED, I_DELETED, I_INVALID } ikind;
static const char *const ikind_names[] = {"none", "enabled", "disabled", "deleted", "invalid"};

/* One id's latest intent. */
typedef struct oid {
    char *id;
    store_coll coll;
    ikind kind;
    cJSON *doc;          /* I_ENABLED / I_DISABLED: the document fields the intake stores ({id, config, custom}) */
    docver ver;          /* the version the intake writes for it; unset: none (an event without a version) */
    bool direct;         /* a direct write: in effect in the store as it is made */
    char what[120];      /* the statement, for reports */
    int64_t at_ms;       /* when it was made */
    int64_t effect_ms;   /* I_DELETED / I_DISABLED: when it took effect (-1: not yet) */
    bool pending;        /* on its collection's list of deletes/disables awaiting a read */
    bool reported;       /* a resurrection of this intent was reported */
    /* what the cluster should hold for it, computed at the first match check of this intent */
    bool expected;
    bool gen_ok;         /* an object can be generated from the document (else: invalid spec) */
    char name[320];      /* the object's name */
    char cfg[HASH_HEX_LEN + 1], spec[HASH_HEX_LEN + 1];
    char *cron;          /* schedules: spec.schedule */
} oid;

struct scn_oracle {
    scn_oracle_world w;
    podgen_settings pod;
    scn_check_sink sink;
    hmap ids;            /* "b:<id>" / "s:<id>" -> oid* */
    oid **all;           /* in the order first seen */
    size_t nall, capall;
    oid **pending[2];    /* per desired-state collection: deletes/disables awaiting a read (lazily pruned) */
    size_t npending[2], cappending[2];
    size_t cursor;       /* scn_oracle_matches starts here */
};

static int64_t now_ms(const scn_oracle *o) { return sim_loop_now(o->w.loop) - o->w.t0; }

static const char *noun(store_coll c) { return c == STORE_BOTS ? "bot" : "schedule"; }

static void report(scn_oracle *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(scn_oracle *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    scn_sink_vreport(&o->sink, SCN_INV_RESURRECTION, fmt, ap);
    va_end(ap);
}

t0_status scn_oracle_new(const scn_oracle_world *w, const scn_check_sink *sink, scn_oracle **out, t0_err *err)
{
    scn_oracle *o = calloc(1, sizeof *o);
    if (!o) return t0_fail(err, T0_ENOMEM, "intent oracle: out of memory");
    o->w = *w;
    o->pod = *w->pod;
    o->w.pod = &o->pod;
    o->sink = *sink;
    hmap_init(&o->ids);
    *out = o;
    return T0_OK;
}

static void expected_clear(oid *x)
{
    x->expected = x->gen_ok = false;
    free(x->cron);
    x->cron = NULL;
}

void scn_oracle_destroy(scn_oracle *o)
{
    if (!o) return;
    for (size_t i = 0; i < o->nall; i++) {
        cJSON_Delete(o->all[i]->doc);
        expected_clear(o->all[i]);
        free(o->all[i]->id);
        free(o->all[i]);
    }
    free(o->all);
    for (int k = 0; k < 2; k++) free(o->pending[k]);
    hmap_free(&o->ids);
    free(o);
}

static oid *oid_get(scn_oracle *o, store_coll c, const char *id, bool create)
{
    char key[320];
    t0_strjoin(key, sizeof key, c == STORE_BOTS ? "b:" : "s:", id);
    oid *x = hmap_get(&o->ids, key);
    if (x || !create) return x;
    if (o->nall == o->capall) {
        size_t nc = o->capall ? 2 * o->capall : 64;
        oid **na = realloc(o->all, nc * sizeof *na);
        if (!na) return NULL;
        o->all = na;
        o->capall = nc;
    }
    if (!(x = calloc(1, sizeof *x)) || !(x->id = strdup(id)) || hmap_put(&o->ids, key, x, NULL) != T0_OK) {
        if (x) free(x->id);
        free(x);
        return NULL;
    }
    x->coll = c;
    x->effect_ms = -1;
    o->all[o->nall++] = x;
    return x;
}

/* set_intent: X's latest intent becomes KIND with document DOC (copied; NULL for a delete). */
static void set_intent(scn_oracle *o, oid *x, ikind kind, const cJSON *doc, const docver *v, bool direct, const char *what)
{
    cJSON_Delete(x->doc);
    x->doc = doc ? cJSON_Duplicate(doc, 1) : NULL;
    x->kind = kind;
    x->ver = v ? *v : (docver){0};
    x->direct = direct;
    x->at_ms = now_ms(o);
    x->effect_ms = -1;
    x->reported = false;
    snprintf(x->what, sizeof x->what, "%s", what);
    expected_clear(x);
    if ((kind != I_DELETED && kind != I_DISABLED) || x->pending) return;
    int c = x->coll == STORE_BOTS ? 0 : 1;
    if (o->npending[c] == o->cappending[c]) {
        size_t nc = o->cappending[c] ? 2 * o->cappending[c] : 16;
        oid **na = realloc(o->pending[c], nc * sizeof *na);
        if (!na) return;
        o->pending[c] = na;
        o->cappending[c] = nc;
    }
    o->pending[c][o->npending[c]++] = x;
    x->pending = true;
}

static ikind kind_of(const cJSON *doc) { return storefake_doc_enabled(doc) ? I_ENABLED : I_DISABLED; }

/* ---- intent -------------------------------------------------------------------------------------- */
bool scn_oracle_accepts(const char *subject, const char *data, size_t len, cJSON **fields, t0_err *why)
{
    store_coll c;
    sub_op op;
    cJSON *f = NULL;
    t0_err e = {0};
    if (fields) *fields = NULL;
    bool ok = sub_parse_subject(subject, &c, &op, &e) == T0_OK && sub_parse_payload(c, op, data, len, &f, &e) == T0_OK;
    if (why) *why = e;
    if (ok && fields) *fields = f;
    else cJSON_Delete(f);
    return ok;
}

void scn_oracle_event(scn_oracle *o, const char *subject, const char *data, size_t len, const docver *v, const char *what)
{
    store_coll c;
    sub_op op;
    cJSON *f = NULL;
    if (sub_parse_subject(subject, &c, &op, NULL) != T0_OK || !scn_oracle_accepts(subject, data, len, &f, NULL))
        return; /* terminated by the intake: no intent */
    oid *x = oid_get(o, c, t0_json_get(f, "id")->valuestring, true);
    char w[120];
    if (v) snprintf(w, sizeof w, "%s seq %llu (%s)", subject, (unsigned long long)v->seq, what);
    else snprintf(w, sizeof w, "%s (%s)", subject, what);
    if (x && op == SUB_DELETED) set_intent(o, x, I_DELETED, NULL, v, false, w);
    /* created changes nothing when, in this order, the document exists (the reference skips it) */
    else if (x && (op == SUB_UPDATED || x->kind == I_NONE || x->kind == I_DELETED))
        set_intent(o, x, kind_of(f), f, v, false, w);
    cJSON_Delete(f);
}

void scn_oracle_direct(scn_oracle *o, store_coll c, const char *id, const cJSON *doc, bool invalid, const char *what)
{
    oid *x = oid_get(o, c, id, true);
    if (!x) return;
    if (invalid) set_intent(o, x, I_INVALID, NULL, NULL, true, what);
    else set_intent(o, x, doc ? kind_of(doc) : I_DELETED, doc, NULL, true, what);
}

/* ---- effect ---------------------------------------------------------------------------------------- */
/* applied: the store holds X's latest intent: a direct write at once; an event when the document (a
 * disable) or the tombstone with no document left (a delete) carries its version or a newer one. An
 * event without a version never counts as applied (the oracle cannot tell it from an older one). */
static bool applied(const scn_oracle *o, const oid *x)
{
    if (x->direct) return true;
    if (!docver_is_set(&x->ver)) return false;
    const cJSON *doc = storefake_peek(o->w.store, x->coll, x->id);
    if (x->kind == I_DISABLED) return doc && !docver_older(doc, &x->ver);
    const cJSON *tomb = storefake_peek(o->w.store, store_tombstones(x->coll), x->id);
    return !doc && tomb && !docver_older(tomb, &x->ver);
}

static bool awaits_effect(const oid *x) { return (x->kind == I_DELETED || x->kind == I_DISABLED) && x->effect_ms < 0; }

static void observe(scn_oracle *o, oid *x)
{
    if (awaits_effect(x) && applied(o, x)) x->effect_ms = now_ms(o);
}

void scn_oracle_read(scn_oracle *o, store_coll c, t0_status st)
{
    if ((unsigned)c > STORE_SCHEDULES || st != T0_OK) return;
    int k = c == STORE_BOTS ? 0 : 1;
    size_t keep = 0;
    for (size_t i = 0; i < o->npending[k]; i++) {
        oid *x = o->pending[k][i];
        observe(o, x);
        if (awaits_effect(x)) o->pending[k][keep++] = x;
        else x->pending = false;
    }
    o->npending[k] = keep;
}

void scn_oracle_get(scn_oracle *o, store_coll c, const char *id, t0_status st)
{
    if ((unsigned)c > STORE_SCHEDULES || (st != T0_OK && st != T0_ENOTFOUND)) return;
    oid *x = oid_get(o, c, id, false);
    if (x) observe(o, x);
}

static const char *label(const cJSON *obj, const char *key)
{
    const cJSON *v = t0_json_get(t0_json_at(obj, "metadata.labels"), key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ours: OBJ (a Pod or CronJob) is managed by our controller of that kind; its id into *C, *ID */
static bool ours(const scn_oracle *o, kube_kind k, const cJSON *obj, store_coll *c, const char **id)
{
    const char *mb = label(obj, LBL_MANAGED_BY);
    if (k == KUBE_POD && mb && !strcmp(mb, o->pod.bot_controller_name)) *c = STORE_BOTS, *id = label(obj, LBL_BOT);
    else if (k == KUBE_CRONJOB && mb && !strcmp(mb, o->pod.schedule_controller_name))
        *c = STORE_SCHEDULES, *id = label(obj, LBL_SCHED);
    else return false;
    return *id && **id;
}

void scn_oracle_kube(scn_oracle *o, kube_watch_type type, kube_kind kind, const cJSON *obj, bool by_scenario)
{
    store_coll c;
    const char *id;
    if (type != KUBE_WATCH_ADDED || by_scenario || !ours(o, kind, obj, &c, &id)) return;
    oid *x = oid_get(o, c, id, false);
    if (!x || x->reported || x->effect_ms < 0 || (x->kind != I_DELETED && x->kind != I_DISABLED)) return;
    x->reported = true;
    char t1[32], t2[32];
    report(o, "%s %s: %s %s created although its latest intent (%s: %s, made at %s) took effect at %s and nothing "
              "newer asks for it", noun(c), id, kube_kind_kind(kind), kfake_str(obj, "metadata.name"),
           ikind_names[x->kind], x->what, scn_format_offset(x->at_ms, t1, sizeof t1),
           scn_format_offset(x->effect_ms, t2, sizeof t2));
}

/* ---- pods-match-intent ------------------------------------------------------------------------------- */
/* expect: what X's intent asks of the cluster, generated from its document the way the controller is
 * configured to (the config hash with domain/hash.h, the spec hash and name from the same generator) */
static void expect(scn_oracle *o, oid *x)
{
    if (x->expected) return;
    x->expected = true;
    if (x->coll == STORE_BOTS) t0_strjoin(x->name, sizeof x->name, "bot-", x->id);
    else x->name[0] = '\0';
    if (x->kind != I_ENABLED) return;
    botdoc *bd = NULL;
    cJSON *obj = NULL;
    t0_err e = {0};
    if (botdoc_parse(x->doc, &bd, &e) == T0_OK &&
        (x->coll == STORE_BOTS ? podgen_pod(&o->pod, bd, &obj, &e) : podgen_cronjob(&o->pod, bd, &obj, &e)) == T0_OK) {
        x->gen_ok = true;
        hash_config_doc(bd, x->cfg);
        const char *sp = podgen_annotation(obj, HASH_ANN_SPEC), *nm = kfake_str(obj, "metadata.name");
        t0_strlcpy(x->spec, sp ? sp : "", sizeof x->spec);
        t0_strlcpy(x->name, nm ? nm : "", sizeof x->name);
        const char *cr = botdoc_schedule(bd);
        if (x->coll == STORE_SCHEDULES && cr) x->cron = strdup(cr);
    }
    cJSON_Delete(obj);
    botdoc_destroy(bd);
}

/* ours_labelled: our objects of X's kind labelled with its id, terminating ones included */
static size_t ours_labelled(const scn_oracle *o, const oid *x)
{
    bool b = x->coll == STORE_BOTS;
    return kfake_count_labels(o->w.kube, b ? KUBE_POD : KUBE_CRONJOB, o->pod.namespace, b ? LBL_BOT : LBL_SCHED, x->id,
                              LBL_MANAGED_BY, b ? o->pod.bot_controller_name : o->pod.schedule_controller_name);
}

/* matches: whether the cluster holds what X asks for; WHY says what differs */
static bool matches(scn_oracle *o, oid *x, char *why, size_t cap)
{
    expect(o, x);
    bool b = x->coll == STORE_BOTS;
    const char *kk = b ? "pod" : "cronjob";
    size_t n = ours_labelled(o, x);
    if (x->kind == I_NONE || x->kind == I_INVALID || (x->kind == I_ENABLED && !x->gen_ok && !b))
        return true; /* nothing to ask: never asked, or a document the controller reports invalid */
    if (x->kind != I_ENABLED || !x->gen_ok) {
        snprintf(why, cap, "%zu %s%s of ours (wants none)", n, kk, n == 1 ? "" : "s");
        return n == 0;
    }
    const cJSON *obj = kfake_peek(o->w.kube, b ? KUBE_POD : KUBE_CRONJOB, o->pod.namespace, x->name);
    store_coll c;
    const char *id;
    if (!obj || !ours(o, b ? KUBE_POD : KUBE_CRONJOB, obj, &c, &id) || strcmp(id, x->id)) {
        snprintf(why, cap, "no %s %s of ours", kk, x->name);
        return false;
    }
    if (kfake_str(obj, "metadata.deletionTimestamp")) {
        snprintf(why, cap, "%s %s is terminating", kk, x->name);
        return false;
    }
    const char *cfg = podgen_annotation(obj, b ? HASH_ANN_CONFIG : HASH_ANN_SCHEDULE);
    const char *spec = podgen_annotation(obj, HASH_ANN_SPEC);
    const char *cron = b ? NULL : kfake_str(obj, "spec.schedule");
    if (!cfg || strcmp(cfg, x->cfg)) {
        snprintf(why, cap, "%s %s has %s %s, the intent's is %s", kk, x->name, b ? "config-hash" : "schedule-hash",
                 cfg ? cfg : "(none)", x->cfg);
        return false;
    }
    if (!spec || strcmp(spec, x->spec)) {
        snprintf(why, cap, "%s %s has spec-hash %s, the intent's is %s", kk, x->name, spec ? spec : "(none)", x->spec);
        return false;
    }
    if (!b && (!cron || !x->cron || strcmp(cron, x->cron))) {
        snprintf(why, cap, "cronjob %s has schedule \"%s\", the intent's is \"%s\"", x->name, cron ? cron : "",
                 x->cron ? x->cron : "");
        return false;
    }
    if (n != 1) {
        snprintf(why, cap, "%zu %ss of ours labelled %s", n, kk, x->id);
        return false;
    }
    return true;
}

bool scn_oracle_matches(scn_oracle *o, char *got, size_t cap)
{
    for (size_t k = 0; k < o->nall; k++) {
        size_t i = (o->cursor + k) % o->nall;
        oid *x = o->all[i];
        char why[400];
        if (!matches(o, x, why, sizeof why)) {
            o->cursor = i;
            char t[32];
            snprintf(got, cap, "%s %s: %s (its latest intent: %s by %s at %s)", noun(x->coll), x->id, why,
                     ikind_names[x->kind], x->what, scn_format_offset(x->at_ms, t, sizeof t));
            return false;
        }
    }
    snprintf(got, cap, "%zu ids as their latest intent asks", o->nall);
    return true;
}
