/* reconcile.c: one reconcile of one key, for any kind: read the desired state, observe the cache, turn
 * both into one table event (the kind's classify), step the table, and run the row's effects through
 * the kind's executor array. An effect that fails ends the row's effects; its failure is the event of
 * the next step (api_error, or update_conflict), whose effects back off or re-read. No step is nested
 * inside an effect. Also the executors both kinds share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/ctl_int.h"
#include "core/json.h"
#include "core/log.h"
#include "core/str.h"

static const char *jstr(const cJSON *o, const char *path) { return t0_json_str(o, path); }

/* obj_key: the log key of this kind's object ("pod" / "cronjob") */
static const char *obj_key(const ctl_kind *c) { return c->def->kind == KUBE_POD ? "pod" : "cronjob"; }

bool ctl_needs_replace(const obj_sum *o, const desired *d)
{
    if (!ctl_hash_eq(o->cfg_form, o->cfg_hash, CH_HEX, d->cfg_hash)) return true;
    /* no spec hash: adopt */
    return o->spec_form != CH_NONE && !ctl_hash_eq(o->spec_form, o->spec_hash, CH_HEX, d->spec_hash);
}

/* ---- the shared executors --------------------------------------------------------------------- */

/* kube_failed: an API call of an effect failed: say so for the failure step */
static t0_status kube_failed(ctl_step *s, t0_status st, const t0_err *err)
{
    s->err = *err;
    s->fail_src = FAIL_KUBE;
    s->retry_after_ms = st == T0_ETOOMANY ? err->retry_after_ms : 0;
    return st;
}

t0_status ctl_fx_create(ctl_kind *c, ctl_step *s)
{
    ctl_manager *m = c->m;
    const desired *d = s->d;
    t0_err err = {0};
    cJSON *out = NULL;
    char idbuf[256];
    m->st.api_calls++;
    t0_status st = m->p.kube->create(m->p.kube->ctx, c->def->kind, m->s.pod.namespace, d->obj, &out, &err);
    if (st == T0_OK) {
        m->st.creates++;
        if (out) ctl_cache_apply(c, out, false, idbuf);
        cJSON_Delete(out);
        s->r = ctl_rec_get(c, s->id, true);
        s->r->create_in_flight = true;
        s->r->create_deadline_ms = ctl_mono_ms(m) + m->s.expectation_ttl_ms;
        const char *name = jstr(d->obj, "metadata.name");
        char what[40], msg[CTL_NAME_MAX + 40];
        t0_strjoin(what, sizeof what, "created ", kube_kind_kind(c->def->kind));
        T0_INFOK(c->def->name, what, c->def->noun, s->id, obj_key(c), name, "namespace", m->s.pod.namespace);
        /* about the object the answer described (its uid), which the cache now holds */
        t0_strjoin(msg, sizeof msg, "Created ", kube_kind_kind(c->def->kind), " ", name);
        ctl_emit_event(c, s->id, "Normal", "SuccessfulCreate", msg);
        return T0_OK;
    }
    cJSON_Delete(out);
    if (st == T0_EEXIST) {
        /* our view is behind, or the name is taken by an object that is not this key's: learn which */
        cJSON *cur = NULL;
        const char *name = jstr(d->obj, "metadata.name");
        if (m->p.kube->get(m->p.kube->ctx, c->def->kind, m->s.pod.namespace, name, &cur, NULL) == T0_OK && cur) {
            const char *owner = ctl_owned(c, cur);
            if (owner && !strcmp(owner, s->id)) {
                ctl_cache_apply(c, cur, false, idbuf);
            } else {
                s->not_ours = true;
                const cJSON *mbv = t0_json_get(t0_json_at(cur, "metadata.labels"), LBL_MANAGED_BY);
                const char *mb = cJSON_IsString(mbv) ? mbv->valuestring : NULL;
                t0_fail(&err, T0_EEXIST, "%s %s already exists and is not this %s's (managed-by %s, %s %s)",
                        kube_kind_kind(c->def->kind), name, c->def->noun, mb ? mb : "none", c->def->id_label,
                        owner ? owner : "none");
            }
        }
        cJSON_Delete(cur);
    }
    return kube_failed(s, st, &err);
}

/* delete_reason: why the row that fired deletes (for the log line and the Event) */
static const char *delete_reason(const ctl_kind *c, const ctl_step *s)
{
    int ev = s->res.event;
    if (ev == c->def->ev_unwanted) return s->d->disabled ? "disabled" : "deleted";
    if (ev == c->def->ev_stale) return "spec changed";
    if (ev == c->def->ev_invalid) return "spec invalid";
    return NULL; /* a row whose own Event effect says why (an escalation, a pod that ended) */
}

/* delete_event: the Event of a delete, about the object deleted (its uid): SuccessfulDelete when the key
 * is not wanted or its spec became invalid, Replacing when its spec changed; none for a row that reported
 * its reason with an Event effect of its own */
static void delete_event(ctl_kind *c, const ctl_step *s, const obj_sum *o, const char *why)
{
    if (!why) return;
    char msg[CTL_NAME_MAX + 160];
    const char *kind = kube_kind_kind(c->def->kind), *noun = c->def->noun;
    if (s->res.event == c->def->ev_stale) {
        t0_strjoin(msg, sizeof msg, "Deleted ", kind, " ", o->name, " to replace it: the ", noun, "'s spec changed");
        ctl_emit_event_on(c, s->id, o, "Normal", "Replacing", msg);
    } else if (s->res.event == c->def->ev_invalid) {
        t0_strjoin(msg, sizeof msg, "Deleted ", kind, " ", o->name, ": the ", noun, "'s new spec is invalid");
        ctl_emit_event_on(c, s->id, o, "Normal", "SuccessfulDelete", msg);
    } else {
        t0_strjoin(msg, sizeof msg, "Deleted ", kind, " ", o->name, ": the ", noun, " is ",
                   s->d->disabled ? "disabled" : "deleted");
        ctl_emit_event_on(c, s->id, o, "Normal", "SuccessfulDelete", msg);
    }
}

t0_status ctl_fx_delete(ctl_kind *c, ctl_step *s)
{
    ctl_manager *m = c->m;
    obj_sum *o = s->r->obj;
    if (!o) return T0_OK;
    kube_delete_opts opts = {c->def->kind == KUBE_CRONJOB ? KUBE_PROP_FOREGROUND : KUBE_PROP_BACKGROUND, -1, NULL};
    t0_err err = {0};
    m->st.api_calls++;
    t0_status st = m->p.kube->remove(m->p.kube->ctx, c->def->kind, m->s.pod.namespace, o->name, &opts, &err);
    if (st != T0_OK && st != T0_ENOTFOUND) return kube_failed(s, st, &err);
    char what[48];
    if (st == T0_ENOTFOUND) { /* already gone: our cache was behind */
        t0_strjoin(what, sizeof what, kube_kind_kind(c->def->kind), " was already gone");
        T0_INFOK(c->def->name, what, c->def->noun, s->id, obj_key(c), o->name, "namespace", m->s.pod.namespace);
        ctl_refresh_obj(c, s->id, s->r, NULL);
    } else {
        m->st.deletes++;
        if (s->d->kind == D_ABSENT) m->deletes_this_cycle++;
        t0_strjoin(what, sizeof what, "deleted ", kube_kind_kind(c->def->kind));
        const char *why = delete_reason(c, s);
        T0_INFOK(c->def->name, what, c->def->noun, s->id, obj_key(c), o->name, "namespace", m->s.pod.namespace,
                 "reason", why);
        delete_event(c, s, o, why);
    }
    wq_add_after(c->q, s->id, m->s.requeue_ms);
    s->requeue = CTL_REQUEUE_AFTER;
    return T0_OK;
}

t0_status ctl_fx_update(ctl_kind *c, ctl_step *s)
{
    ctl_manager *m = c->m;
    obj_sum *o = s->r->obj;
    if (!o) return T0_OK;
    cJSON *obj = cJSON_Duplicate(s->d->obj, 1);
    cJSON *md = t0_json_get(obj, "metadata");
    cJSON_DeleteItemFromObjectCaseSensitive(md, "resourceVersion");
    char rvbuf[24];
    cJSON_AddStringToObject(md, "resourceVersion", ctl_obj_rv(o, rvbuf));
    t0_err err = {0};
    cJSON *out = NULL;
    m->st.api_calls++;
    t0_status st = m->p.kube->update(m->p.kube->ctx, c->def->kind, m->s.pod.namespace, obj, &out, &err);
    cJSON_Delete(obj);
    if (st == T0_OK) {
        m->st.updates++;
        char idbuf[256], name[CTL_NAME_MAX], what[40], msg[CTL_NAME_MAX + 80];
        t0_strlcpy(name, o->name, sizeof name); /* O may be replaced by the answer */
        if (out) ctl_cache_apply(c, out, false, idbuf);
        cJSON_Delete(out);
        t0_strjoin(what, sizeof what, "updated ", kube_kind_kind(c->def->kind));
        T0_INFOK(c->def->name, what, c->def->noun, s->id, obj_key(c), name, "namespace", m->s.pod.namespace, "reason",
                 "spec changed");
        t0_strjoin(msg, sizeof msg, "Updated ", kube_kind_kind(c->def->kind), " ", name, ": the ", c->def->noun,
                   "'s spec changed");
        ctl_emit_event(c, s->id, "Normal", "Updated", msg);
        return T0_OK;
    }
    cJSON_Delete(out);
    s->conflict = st == T0_ECONFLICT; /* the table's update_conflict: re-read, then retry the PUT */
    return kube_failed(s, st, &err);
}

t0_status ctl_fx_reread(ctl_kind *c, ctl_step *s)
{
    ctl_refresh_obj(c, s->id, s->r, NULL); /* the retry decides on its own fresh read */
    wq_add(c->q, s->id);
    s->requeue = CTL_REQUEUE_NOW;
    return T0_OK;
}

t0_status ctl_fx_requeue(ctl_kind *c, ctl_step *s)
{
    wq_add_after(c->q, s->id, c->m->s.requeue_ms);
    s->requeue = CTL_REQUEUE_AFTER;
    return T0_OK;
}

/* requeue_backoff: the key's exponential backoff, or exactly the Retry-After a 429 asked for (retrying
 * a throttled API server after 5 ms, 10 ms, ... would only prolong the storm). */
t0_status ctl_fx_backoff(ctl_kind *c, ctl_step *s)
{
    if (s->retry_after_ms > 0)
        wq_add_after(c->q, s->id, s->retry_after_ms);
    else
        wq_add_rate_limited(c->q, s->id);
    return T0_OK;
}

t0_status ctl_fx_forget(ctl_kind *c, ctl_step *s)
{
    wq_forget(c->q, s->id);
    return T0_OK;
}

/* hold_delete: the deletion gate (DESIGN §5: never delete because a read of desired state failed or
 * came back suspiciously empty) */
t0_status ctl_fx_hold_delete(ctl_kind *c, ctl_step *s)
{
    ctl_manager *m = c->m;
    m->st.deletion_guard_trips++;
    T0_WARNK(c->def->name, "deletion held: the document is missing, but the last desired-state list failed or was "
                           "suspiciously empty; looking again at the next resync", c->def->noun, s->id);
    wq_add_after(c->q, s->id, m->s.resync_ms);
    s->deferred = true;
    s->requeue = CTL_REQUEUE_AFTER;
    return T0_OK;
}

/* defer_delete: the per-cycle deletion cap */
t0_status ctl_fx_defer_delete(ctl_kind *c, ctl_step *s)
{
    ctl_manager *m = c->m;
    m->st.deletes_deferred++;
    char n[24], cap[24];
    T0_WARNK(c->def->name, "deletion deferred to the next resync: this cycle's deletions are used up", c->def->noun,
             s->id, "deletions", t0_log_num(n, m->deletes_this_cycle), "cap", t0_log_num(cap, m->s.max_deletes_per_cycle));
    wq_add_after(c->q, s->id, m->s.resync_ms);
    s->deferred = true;
    s->requeue = CTL_REQUEUE_AFTER;
    return T0_OK;
}

/* requeue_resync: look again after a resync period (a name held by someone else is not freed in 5 ms) */
t0_status ctl_fx_requeue_slow(ctl_kind *c, ctl_step *s)
{
    wq_add_after(c->q, s->id, c->m->s.resync_ms);
    s->requeue = CTL_REQUEUE_AFTER;
    return T0_OK;
}

/* report_conflict: the object with this key's name is not ours: say so once (the table's name_conflict
 * state keeps it from repeating) */
t0_status ctl_fx_report_conflict(ctl_kind *c, ctl_step *s)
{
    c->m->st.name_conflicts++;
    ctl_emit_event(c, s->id, "Warning", "NameConflict", s->err.msg);
    return T0_OK;
}

/* ---- stepping --------------------------------------------------------------------------------- */

static bool step(ctl_kind *c, ctl_step *s, int event)
{
    ctl_manager *m = c->m;
    fsm_tracer tr = {m->h.on_transition, m->h.ud};
    t0_err err = {0};
    t0_status st = fsm_step(c->def->table, s->r->state, event, &s->in, s->id, m->h.on_transition ? &tr : NULL,
                            &s->res, &err);
    if (st != T0_OK) {
        T0_ERRORK(c->def->name, "no table row for the observation", c->def->noun, s->id, "error", err.msg);
        s->res.row = NULL;
        return false;
    }
    s->r->state = (uint8_t)s->res.to;
    return true;
}

/* hook_ok: the simulator's crash point before every effect (manager_seam.h) */
static bool hook_ok(ctl_kind *c, const char *id, const char *effect)
{
    ctl_manager *m = c->m;
    if (m->h.before_effect && !m->h.before_effect(m->h.ud, c->def->name, id, effect)) {
        m->crashed = true;
        wq_pause(m->bots.q, true);
        wq_pause(m->scheds.q, true);
        return false;
    }
    return !m->crashed;
}

/* run_effects: execute the effects of the row that fired, in order, through the kind's executors.
 * Returns T0_OK, or the status of the effect that failed (the rest of the row is not executed) — or
 * T0_ESTATE when the manager crashed or may no longer act (nothing more may be done). */
static t0_status run_effects(ctl_kind *c, ctl_step *s)
{
    ctl_manager *m = c->m;
    for (int i = 0; i < s->res.nfx; i++) {
        int fx = s->res.fx[i];
        const char *fxname = fsm_effect_name(c->def->table, fx);
        if (!hook_ok(c, s->id, fxname)) return T0_ESTATE;
        if (!ctl_acting_allowed(m) || m->term != s->term) {
            T0_WARNK(c->def->name, "effect skipped: not leader (or the lease was not renewed)", c->def->noun, s->id,
                     "effect", fxname);
            return T0_ESTATE;
        }
        t0_status st = c->def->executors[fx](c, s);
        if (m->crashed) return T0_ESTATE;
        if (!(s->r = ctl_rec_get(c, s->id, false))) return T0_ESTATE;
        if (st != T0_OK) return st;
    }
    return T0_OK;
}

/* failed: an effect (or the desired-state read) failed with ST: record it and step the failure event,
 * then run its effects (a back-off or a re-read). A key whose failures move from MongoDB to the API
 * server (MongoDB answered this time) starts the backoff from the base again: retries of a delete must
 * not wait out the backoff of a MongoDB outage. (Not the other way: failures alternating between both
 * still back off.) */
static void failed(ctl_kind *c, ctl_step *s, t0_status st)
{
    ctl_manager *m = c->m;
    rec *r = s->r;
    m->st.api_errors++;
    s->failed = true;
    int event = c->def->ev_api_error;
    if (s->conflict && c->def->ev_conflict >= 0) {
        T0_INFOK(c->def->name, "update conflict: re-reading", c->def->noun, s->id, "error", s->err.msg);
        event = c->def->ev_conflict;
        s->retry_after_ms = 0;
    } else if (s->not_ours) {
        T0_WARNK(c->def->name, "name taken by an object that is not ours: never touching it", c->def->noun, s->id,
                 "error", s->err.msg);
        event = c->def->ev_name_taken;
    } else {
        if (r->fail_src == FAIL_STORE && s->fail_src == FAIL_KUBE) wq_forget(c->q, s->id); /* the store answered */
        r->fail_src = s->fail_src;
        r->want_fresh = false; /* after a failure, the retry reads the desired state again */
        T0_WARNK(c->def->name, s->fail_src == FAIL_STORE ? "desired-state read failed" : "API call failed",
                 c->def->noun, s->id, "error", s->err.msg);
    }
    if (step(c, s, event)) (void)run_effects(c, s);
}

/* gate: the deletion guards for this reconcile. The gate guards against deleting on a failed or collapsed
 * list read. A reconcile read the key's own document: when the list failed, that read decides whether a
 * missing document deletes; when the list collapsed, only an explicit disable does (a missing document is
 * what a collapse looks like). Escalations (which delete a live pod) are held while the gate is closed. */
static ctl_gate gate(ctl_kind *c, const rec *r, const desired *d)
{
    ctl_manager *m = c->m;
    ctl_gate g = {0};
    bool missing = d->kind == D_ABSENT && r->nobjs;
    /* while the list fails, a missing document is decided by its own read only when the last good list of
     * this term already found it missing while the key had objects: a get answering "not found" for
     * anything else is what a restore looks like while lists fail (an explicit disable always decides) */
    bool own_read_decides = (ctl_list_trusted(c) && ctl_rec_missing(c, r)) || d->disabled;
    g.held = !c->gate_open && (!missing || !own_read_decides);
    g.cap_reached = missing && !g.held && r->obj && !r->obj->terminating &&
                    m->deletes_this_cycle >= m->s.max_deletes_per_cycle;
    return g;
}

/* object_for: generate the desired object when a row needs it and the fast paths skipped it. false
 * when that failed (the document changed or could not be read again): the key is looked at again. */
static bool object_for(ctl_kind *c, ctl_step *s)
{
    desired *d = s->d;
    if (!s->res.row || d->kind != D_VALID || d->obj) return true;
    bool needs = false;
    for (int i = 0; i < s->res.nfx; i++) {
        ctl_executor ex = c->def->executors[s->res.fx[i]];
        needs |= ex == ctl_fx_create || ex == ctl_fx_update;
    }
    if (!needs || ctl_desired_object(c, s->id, d) == T0_OK) return true;
    T0_WARNK(c->def->name, "the object could not be generated now; looking again", c->def->noun, s->id, "error",
             d->err.msg);
    s->r->want_valid = s->r->want_fresh = false;
    wq_add_rate_limited(c->q, s->id);
    return false;
}

/* reconcile_key: one reconcile of ID; its controller_runtime_reconcile_total result */
static ctl_result reconcile_key(ctl_kind *c, const char *id)
{
    ctl_manager *m = c->m;
    if (!c->synced) {
        /* no list has succeeded yet: an empty cache would look like "no pod anywhere" and lead to creates
         * that can only answer AlreadyExists; wait for the informer (its list retry enqueues every key) */
        wq_add_after(c->q, id, m->s.requeue_ms);
        return CTL_RESULT_REQUEUE_AFTER;
    }
    m->st.reconciles++;
    rec *r = ctl_rec_get(c, id, true);
    if (!r) return CTL_RESULT_ERROR;
    desired d;
    ctl_step s = {.id = id, .r = r, .d = &d, .term = m->term};
    ctl_desired_read(c, id, r, &d);
    if (d.kind == D_VALID || d.kind == D_INVALID) r->missing = false; /* its document is there */
    if (d.kind == D_ERROR) {
        /* a failed desired-state read never leads to a deletion: back off and look again */
        s.err = d.err;
        s.fail_src = FAIL_STORE;
        s.retry_after_ms = d.err.code == T0_ETOOMANY ? d.err.retry_after_ms : 0;
        failed(c, &s, d.err.code);
        ctl_finish_initial(c, s.r);
        return CTL_RESULT_ERROR;
    }
    ctl_gate g = gate(c, r, &d);
    /* a hold or a deferral is decided on what is known; anything else looks at the object afresh first */
    bool decided = d.kind == D_ABSENT && r->nobjs && (g.held || g.cap_reached);
    if (!decided && r->obj && r->obj->terminating) {
        ctl_refresh_obj(c, id, r, NULL); /* waiting for it to go: do not depend on the watch alone */
        s.r = r = ctl_rec_get(c, id, true);
    }
    int ev = c->def->classify(c, r, &d, &g, &s.in);
    if (!decided && c->def->needs_fresh(ev, r->state)) {
        /* deleting or replacing a live object is decided on a successful fresh read, never on a failed one */
        t0_status st = ctl_refresh_obj(c, id, r, &s.err);
        s.r = r = ctl_rec_get(c, id, true);
        if (st != T0_OK) {
            s.fail_src = FAIL_KUBE;
            s.retry_after_ms = st == T0_ETOOMANY ? s.err.retry_after_ms : 0;
            failed(c, &s, st);
            ctl_desired_free(&d);
            ctl_finish_initial(c, s.r);
            return CTL_RESULT_ERROR;
        }
        ev = c->def->classify(c, r, &d, &g, &s.in);
    }
    step(c, &s, ev);
    if (!object_for(c, &s)) {
        ctl_desired_free(&d);
        ctl_finish_initial(c, s.r);
        return CTL_RESULT_ERROR;
    }
    t0_status st = s.res.row ? run_effects(c, &s) : T0_OK;
    if (st != T0_OK && st != T0_ESTATE) failed(c, &s, st);
    ctl_desired_free(&d);
    ctl_result res = s.failed                          ? CTL_RESULT_ERROR
                     : s.requeue == CTL_REQUEUE_NOW   ? CTL_RESULT_REQUEUE
                     : s.requeue == CTL_REQUEUE_AFTER ? CTL_RESULT_REQUEUE_AFTER
                                                      : CTL_RESULT_SUCCESS;
    if (m->crashed) return res;
    r = ctl_rec_get(c, id, false);
    if (!r) return res;
    if (!s.deferred) {
        if (r->doc_fp != d.fp) r->doc_rev = 0;
        r->doc_fp = d.fp;
    }
    ctl_finish_initial(c, r);
    if (!s.deferred) ctl_rec_maybe_free(c, id, r);
    return res;
}

void ctl_reconcile(void *ud, const char *id)
{
    ctl_kind *c = ud;
    ctl_manager *m = c->m;
    if (m->crashed || !ctl_acting_allowed(m)) return;
    int64_t start = ctl_clock_ns(m);
    ctl_result res = reconcile_key(c, id);
    c->results[res]++;
    if (res == CTL_RESULT_ERROR) m->st.reconcile_errors++;
    int64_t took = ctl_clock_ns(m) - start;
    prom_hist_observe(&c->reconcile_time, PROM_RECONCILE_BUCKETS, 40, (double)took / 1e9);
    ctl_beat(m);
    if (t0_log_get_level() <= T0_LOG_DEBUG) {
        char d[32];
        snprintf(d, sizeof d, "%.3fms", (double)took / 1e6);
        T0_DEBUGK(c->def->name, "reconciled", c->def->noun, id, "result", ctl_result_name(res), "duration", d);
    }
}
