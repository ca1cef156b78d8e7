/* reconcile.c: one reconcile of one key, for any kind: read the desired state, observe the cache, turn
 * both into one table event (the kind's classify), step the table, and run the row's effects through
 * the kind's executor array. An effect that fails ends the row's effects; its failure is the event of
 * the next step (api_error, or update_conflict), whose effects back off or re-read. No step is nested
 * inside an effect. Also the executors both kinds share. */
#include <stdlib.h>
#include <string.h>

#include "controllers/ctl_int.h"
#include "core/json.h"
#include "core/log.h"
#include "core/str.h"
#include "domain/names.h"

static const char *jstr(const cJSON *o, const char *path) { return t0_json_str(o, path); }

bool ctl_needs_replace(const obj_sum *o, const desired *d)
{
    if (strcmp(o->cfg_hash, d->cfg_hash) != 0) return true;
    return o->spec_hash[0] && strcmp(o->spec_hash, d->spec_hash) != 0; /* no spec hash: adopt */
}

/* ---- Events ----------------------------------------------------------------------------------- */

void ctl_emit_event(ctl_kind *c, const char *id, const char *type, const char *reason, const char *msg)
{
    char obj_name[CTL_NAME_MAX];
    c->def->object_name(id, obj_name);
    ctl_emit_event_on(c, id, c->def->kind, obj_name, type, reason, msg);
}

void ctl_emit_event_on(ctl_kind *c, const char *id, kube_kind kind, const char *obj_name, const char *type,
                       const char *reason, const char *msg)
{
    ctl_manager *m = c->m;
    T0_INFO(c->def->name, "%s %s: %s: %s", c->def->noun, id, reason, msg);
    cJSON *ev = cJSON_CreateObject();
    /* a valid Event name whatever the id is (the object's own name may be invalid: that may be why it is
     * reported) */
    char base[240], name[300], when[40];
    names_sanitize_subdomain(obj_name, sizeof base - 1, base, sizeof base);
    /* unique across incarnations too (a restarted manager must not collide with its predecessor's Events),
     * like client-go's recorder: the time in nanoseconds, here plus a counter within the millisecond */
    uint64_t uniq = (uint64_t)ctl_now(m) * 1000000u + (++m->event_seq % 1000000u);
    snprintf(name, sizeof name, "%s.%llx", base, (unsigned long long)uniq);
    ctl_fmt_time(ctl_now(m), when, sizeof when, false);
    cJSON *md = T0_JSON_OBJ(ev, "metadata");
    T0_JSON_STR(md, "name", name);
    T0_JSON_STR(md, "namespace", m->s.pod.namespace);
    cJSON *inv = T0_JSON_OBJ(ev, "involvedObject");
    T0_JSON_STR(inv, "kind", kube_kind_kind(kind));
    T0_JSON_STR(inv, "name", obj_name);
    T0_JSON_STR(inv, "namespace", m->s.pod.namespace);
    T0_JSON_STR(ev, "type", type);
    T0_JSON_STR(ev, "reason", reason);
    T0_JSON_STR(ev, "message", msg);
    T0_JSON_STR(ev, "firstTimestamp", when);
    T0_JSON_STR(ev, "lastTimestamp", when);
    T0_JSON_NUM(ev, "count", 1);
    cJSON *src = T0_JSON_OBJ(ev, "source");
    T0_JSON_STR(src, "component", c->def->component);
    t0_err err = {0};
    m->st.events_emitted++;
    if (m->p.kube->create(m->p.kube->ctx, KUBE_EVENT, m->s.pod.namespace, ev, NULL, &err) != T0_OK)
        T0_DEBUG(c->def->name, "event for %s not recorded: %s", id, err.msg);
    cJSON_Delete(ev);
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
        s->r->create_deadline_ms = ctl_now(m) + m->s.expectation_ttl_ms;
        T0_INFO(c->def->name, "%s %s: created %s %s", c->def->noun, s->id, kube_kind_kind(c->def->kind),
                jstr(d->obj, "metadata.name"));
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
    if (st == T0_ENOTFOUND) { /* already gone: our cache was behind */
        T0_INFO(c->def->name, "%s %s: %s %s was already gone", c->def->noun, s->id, kube_kind_kind(c->def->kind),
                o->name);
        ctl_refresh_obj(c, s->id, s->r, NULL);
    } else {
        m->st.deletes++;
        if (s->d->kind == D_ABSENT) m->deletes_this_cycle++;
        T0_INFO(c->def->name, "%s %s: deleted %s %s", c->def->noun, s->id, kube_kind_kind(c->def->kind), o->name);
    }
    wq_add_after(c->q, s->id, m->s.requeue_ms);
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
    cJSON_AddStringToObject(md, "resourceVersion", o->rv_str);
    t0_err err = {0};
    cJSON *out = NULL;
    m->st.api_calls++;
    t0_status st = m->p.kube->update(m->p.kube->ctx, c->def->kind, m->s.pod.namespace, obj, &out, &err);
    cJSON_Delete(obj);
    if (st == T0_OK) {
        m->st.updates++;
        char idbuf[256];
        if (out) ctl_cache_apply(c, out, false, idbuf);
        cJSON_Delete(out);
        T0_INFO(c->def->name, "%s %s: updated %s %s", c->def->noun, s->id, kube_kind_kind(c->def->kind), o->name);
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
    return T0_OK;
}

t0_status ctl_fx_requeue(ctl_kind *c, ctl_step *s)
{
    wq_add_after(c->q, s->id, c->m->s.requeue_ms);
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
    T0_WARN(c->def->name, "%s: its document is missing, but deletions are held (the last desired-state list was "
                          "suspiciously empty); looking again at the next resync", s->id);
    wq_add_after(c->q, s->id, m->s.resync_ms);
    s->deferred = true;
    return T0_OK;
}

/* defer_delete: the per-cycle deletion cap */
t0_status ctl_fx_defer_delete(ctl_kind *c, ctl_step *s)
{
    ctl_manager *m = c->m;
    m->st.deletes_deferred++;
    T0_WARN(c->def->name, "%s: deletion deferred: %d deletions this cycle (cap %d)", s->id, m->deletes_this_cycle,
            m->s.max_deletes_per_cycle);
    wq_add_after(c->q, s->id, m->s.resync_ms);
    s->deferred = true;
    return T0_OK;
}

/* requeue_resync: look again after a resync period (a name held by someone else is not freed in 5 ms) */
t0_status ctl_fx_requeue_slow(ctl_kind *c, ctl_step *s)
{
    wq_add_after(c->q, s->id, c->m->s.resync_ms);
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
        T0_ERROR(c->def->name, "%s", err.msg);
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
            T0_WARN(c->def->name, "%s: not leader (or lease not renewed): effect %s skipped", s->id, fxname);
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
    int event = c->def->ev_api_error;
    if (s->conflict && c->def->ev_conflict >= 0) {
        T0_INFO(c->def->name, "%s %s: update conflict (%s); re-reading", c->def->noun, s->id, s->err.msg);
        event = c->def->ev_conflict;
        s->retry_after_ms = 0;
    } else if (s->not_ours) {
        T0_WARN(c->def->name, "%s %s: %s: never touching it", c->def->noun, s->id, s->err.msg);
        event = c->def->ev_name_taken;
    } else {
        if (r->fail_src == FAIL_STORE && s->fail_src == FAIL_KUBE) wq_forget(c->q, s->id); /* the store answered */
        r->fail_src = s->fail_src;
        r->want_fresh = false; /* after a failure, the retry reads the desired state again */
        T0_WARN(c->def->name, "%s %s: %s", c->def->noun, s->id, s->err.msg);
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
    bool own_read_decides = !c->gate_suspicious || d->disabled;
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
    T0_WARN(c->def->name, "%s: the object could not be generated now (%s); looking again", s->id, d->err.msg);
    s->r->want_valid = s->r->want_fresh = false;
    wq_add_rate_limited(c->q, s->id);
    return false;
}

void ctl_reconcile(void *ud, const char *id)
{
    ctl_kind *c = ud;
    ctl_manager *m = c->m;
    if (m->crashed || !ctl_acting_allowed(m)) return;
    if (!c->synced) {
        /* no list has succeeded yet: an empty cache would look like "no pod anywhere" and lead to creates
         * that can only answer AlreadyExists; wait for the informer (its list retry enqueues every key) */
        wq_add_after(c->q, id, m->s.requeue_ms);
        return;
    }
    m->st.reconciles++;
    rec *r = ctl_rec_get(c, id, true);
    if (!r) return;
    desired d;
    ctl_step s = {.id = id, .r = r, .d = &d, .term = m->term};
    ctl_desired_read(c, id, r, &d);
    if (d.kind == D_ERROR) {
        /* a failed desired-state read never leads to a deletion: back off and look again */
        m->st.reconcile_errors++;
        s.err = d.err;
        s.fail_src = FAIL_STORE;
        s.retry_after_ms = d.err.code == T0_ETOOMANY ? d.err.retry_after_ms : 0;
        failed(c, &s, d.err.code);
        ctl_finish_initial(c, s.r);
        return;
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
            return;
        }
        ev = c->def->classify(c, r, &d, &g, &s.in);
    }
    step(c, &s, ev);
    if (!object_for(c, &s)) {
        ctl_desired_free(&d);
        ctl_finish_initial(c, s.r);
        return;
    }
    t0_status st = s.res.row ? run_effects(c, &s) : T0_OK;
    if (st != T0_OK && st != T0_ESTATE) failed(c, &s, st);
    ctl_desired_free(&d);
    if (m->crashed) return;
    r = ctl_rec_get(c, id, false);
    if (!r) return;
    if (!s.deferred) {
        if (r->doc_fp != d.fp) r->doc_rev = 0;
        r->doc_fp = d.fp;
    }
    ctl_finish_initial(c, r);
    if (!s.deferred) ctl_rec_maybe_free(c, id, r);
}
