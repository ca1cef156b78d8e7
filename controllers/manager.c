/* manager.c: the controller manager: the runtime's lifecycle (start, leadership hand-off, stop), its
 * periodic full resync, the NATS subscribers that write desired state and trigger reconciles, readiness
 * and statistics. Two reconcilers run on it: bot_reconciler and schedule_reconciler (ctl_int.h). */
#include "controllers/manager.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controllers/ctl_int.h"
#include "core/json.h"
#include "core/log.h"
#include "core/str.h"

void ctl_settings_defaults(ctl_settings *s)
{
    memset(s, 0, sizeof *s);
    podgen_settings_defaults(&s->pod);
    s->resync_ms = 30000;
    s->relist_ms = 300000;
    s->list_page = 500;
    s->requeue_ms = 1000;
    s->backoff_base_ms = 5;
    s->backoff_cap_ms = 1000 * 1000;
    s->queue_qps = 10;
    s->queue_burst = 100;
    s->crashloop_escalate = 10;
    s->init_escalate = 5;
    s->max_deletes_per_cycle = 50;
    s->expectation_ttl_ms = 60000;
    s->leader_election = true;
    s->lease_name = "the0-runtime-controller";
    s->identity = "the0-runtime";
    s->lease_duration_ms = 15000;
    s->lease_renew_deadline_ms = 10000;
    s->lease_renew_ms = 2000;
    s->nats_durable = true;
    s->record_events = true;
    static const int64_t backoff[] = {1000, 2000, 5000, 10000, 30000};
    s->nats_max_deliver = 120;
    s->nats_backoff_ms = backoff;
    s->nats_nbackoff = T0_ARRAY_LEN(backoff);
    s->tombstone_ttl_ms = 7LL * 24 * 3600 * 1000;
    s->tombstone_sweep_ms = 3600 * 1000;
    s->store_unready_ms = 60000;
}

int64_t ctl_now(const ctl_manager *m) { return m->p.loop->now_ms(m->p.loop->ctx); }

int64_t ctl_mono_ms(const ctl_manager *m) { return loop_mono_ms(m->p.loop); }

int64_t ctl_clock_ns(const ctl_manager *m) { return m->p.clock_ns ? m->p.clock_ns() : ctl_mono_ms(m) * 1000000; }

void ctl_beat(ctl_manager *m) { atomic_store(&m->beat_ns, ctl_clock_ns(m)); }

const char *ctl_result_name(ctl_result r)
{
    static const char *const names[CTL__RESULTS] = {"success", "error", "requeue", "requeue_after"};
    return (unsigned)r < CTL__RESULTS ? names[r] : "?";
}

bool ctl_acting_allowed(ctl_manager *m)
{
    if (m->crashed || !m->leader) return false;
    if (!m->s.leader_election) return true;
    return ctl_mono_ms(m) < m->lease_valid_until;
}

/* put_digits: V in N decimal digits (zero-padded) at P */
static char *put_digits(char *p, long v, int n)
{
    for (int i = n - 1; i >= 0; i--, v /= 10) p[i] = (char)('0' + v % 10);
    return p + n;
}

/* ctl_fmt_time: RFC 3339 UTC, by hand (the civil date from the day number, as Howard Hinnant's
 * civil_from_days): every Event and Lease write formats one or two, and gmtime_r + strftime + snprintf
 * cost a few thousand instructions each */
void ctl_fmt_time(int64_t ms, char *buf, size_t cap, bool micro)
{
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400), sod = secs - days * 86400;
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1, mo = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (mo <= 2);
    char tmp[40], *p = tmp;
    if (y < 0 || y > 9999) y = y < 0 ? 0 : 9999;
    p = put_digits(p, (long)y, 4);
    *p++ = '-';
    p = put_digits(p, (long)mo, 2);
    *p++ = '-';
    p = put_digits(p, (long)d, 2);
    *p++ = 'T';
    p = put_digits(p, (long)(sod / 3600), 2);
    *p++ = ':';
    p = put_digits(p, (long)(sod / 60 % 60), 2);
    *p++ = ':';
    p = put_digits(p, (long)(sod % 60), 2);
    if (micro) {
        *p++ = '.';
        p = put_digits(p, (long)((ms - secs * 1000) * 1000), 6);
    }
    *p++ = 'Z';
    *p = 0;
    t0_strlcpy(buf, tmp, cap);
}

int64_t ctl_parse_time(const char *s)
{
    if (!s) return 0;
    struct tm tm = {0};
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest) return 0;
    int64_t ms = (int64_t)timegm(&tm) * 1000;
    if (*rest == '.') {
        long frac = 0, div = 1;
        for (rest++; *rest >= '0' && *rest <= '9'; rest++)
            if (div < 1000) frac = frac * 10 + (*rest - '0'), div *= 10;
        while (div < 1000) frac *= 10, div *= 10;
        ms += frac;
    }
    return ms;
}

void ctl_finish_initial(ctl_kind *c, rec *r)
{
    if (!r || !r->initial_pending) return;
    r->initial_pending = false;
    if (c->initial_left && --c->initial_left == 0 && !c->first_done) {
        c->first_done = true;
        T0_INFOK(c->def->name, "first full reconcile done");
        ctl_manager *m = c->m;
        if (m->bots.first_done && m->scheds.first_done && !m->ready) {
            m->ready = true;
            T0_INFOK("manager", "ready: both controllers finished their first full reconcile", "identity",
                     m->s.identity);
        }
    }
}

/* ---- full resync ------------------------------------------------------------------------------ */

/* mark_initial: R is part of the first full reconcile (readiness waits for it) */
static void mark_initial(ctl_kind *c, rec *r, bool initial)
{
    if (initial && !r->initial_pending) {
        r->initial_pending = true;
        c->initial_left++;
    }
}

/* list_read_failed: no deletion on a missing document until a list read succeeds (the key's own read
 * decides meanwhile, reconcile.c: gate) */
static void list_read_failed(ctl_kind *c, bool initial, const t0_err *err)
{
    ctl_manager *m = c->m;
    m->st.api_errors++;
    c->gate_open = false; /* gate_suspicious stays: a collapse is cleared only by a good read */
    m->st.deletion_guard_trips++;
    T0_WARNK(c->def->name, "desired-state list failed: deletions only on a key's own successful read until a list "
                           "succeeds", "error", err->msg);
    if (initial) {
        /* still count as reconciled once every observed key was looked at (in key order) */
        hmap_entry **v = hmap_sorted(&c->recs, NULL, NULL, NULL);
        for (size_t i = 0; v && v[i]; i++) wq_add(c->q, v[i]->key);
        free(v);
    }
}

/* collapsed: COUNT documents is a collapse from BEFORE (to nothing, or by more than half of at least 10) */
static bool collapsed(long before, long count) { return before > 0 && (count == 0 || (before >= 10 && count * 2 < before)); }

/* gate_after_read: suspicion: the desired set collapsed, compared with the previous read or with the keys
 * whose objects we observe (so the first read of a restarted or new leader is guarded like any other) —
 * hold deletions until the next read confirms the same count */
static void gate_after_read(ctl_kind *c, long count)
{
    ctl_manager *m = c->m;
    /* a suspicion ages: a read more than two resync periods after the one that found it (only failed reads
     * between) confirms nothing, the collection may have come back and gone again meanwhile (two restores
     * with an outage between them); it is judged afresh and may start a suspicion of its own */
    if (c->gate_suspicious && ctl_mono_ms(m) - c->suspect_ms > 2 * m->s.resync_ms) ctl_gate_forget(c);
    if (!c->synced) {
        /* the cache has not listed the objects yet: the read cannot be compared with them (it would look like
         * nothing to lose); hold deletions and let a read after the cache's first list judge it */
        if (!c->gate_suspicious) c->suspect_ms = ctl_mono_ms(m);
        c->gate_open = false;
        c->gate_suspicious = true;
        m->st.deletion_guard_trips++;
        char n[24];
        T0_WARNK(c->def->name, "desired state read before the objects were listed: deletions held until a later read",
                 "documents", t0_log_num(n, count));
        return;
    }
    bool vs_read = collapsed(c->last_count, count);
    /* fewer documents than keys with objects: suspicious unless it is the same count as a read that was
     * already suspicious (then `unconfirmed` below decides). An earlier good read with that count confirms
     * nothing: it was made before the objects it would now delete existed (a bot created after a read of an
     * empty collection, then a restore: the next read is empty too, and must not delete its pod) */
    bool vs_seen = collapsed(c->observed_ids, count) && !(c->gate_suspicious && count == c->last_count);
    /* the same count again confirms a collapse only a resync period after the read that found it (reads
     * in between, a takeover's or a recovery's, come too soon: a restore can still be under way) */
    bool unconfirmed = c->gate_suspicious && count == c->last_count && ctl_mono_ms(m) - c->suspect_ms < m->s.resync_ms;
    bool suspicious = vs_read || vs_seen || unconfirmed;
    if (suspicious && !c->gate_suspicious) c->suspect_ms = ctl_mono_ms(m);
    c->gate_suspicious = suspicious;
    if (suspicious) {
        c->gate_open = false;
        m->st.deletion_guard_trips++;
        char before[24], now[24];
        if (vs_read)
            T0_WARNK(c->def->name, "desired state collapsed: deletions held until a read confirms it", "documents",
                     t0_log_num(now, count), "before", t0_log_num(before, c->last_count));
        else
            T0_WARNK(c->def->name, "desired state has fewer documents than keys with objects: deletions held until "
                     "a read confirms it", "documents", t0_log_num(now, count), "observed",
                     t0_log_num(before, c->observed_ids));
    } else {
        c->gate_open = true;
    }
    c->last_count = count;
}

void ctl_gate_forget(ctl_kind *c)
{
    c->gate_open = false;
    c->gate_suspicious = false;
    c->suspect_ms = 0;
    c->last_count = -1; /* what it did not list says nothing now: a key's own read waits for a new list */
}

/* enqueue_listed: every listed document that may have changed since its key was last reconciled */
static void enqueue_listed(ctl_kind *c, const cJSON *docs, const uint64_t *revs, bool initial)
{
    ctl_manager *m = c->m;
    const cJSON *doc;
    size_t di = 0;
    cJSON_ArrayForEach(doc, docs)
    {
        uint64_t rev = revs ? revs[di] : 0;
        di++;
        const cJSON *idj = t0_json_get(doc, "id");
        if (!cJSON_IsString(idj) || !idj->valuestring[0]) {
            T0_WARNK(c->def->name, "a document has no string id: skipped", "collection", store_coll_name(c->def->coll));
            continue;
        }
        const char *id = idj->valuestring;
        rec *r = ctl_rec_get(c, id, false);
        if (r && r->seen_gen == c->gen) {
            /* listed twice (no unique index): neither copy is used; the key's own read reports it */
            cJSON_Delete(r->batch_doc);
            r->batch_doc = NULL;
            r->want_fresh = false;
            r->doc_rev = 0;
            wq_add(c->q, id);
            continue;
        }
        if (!initial && r && c->def->steady(r->state)) {
            /* unchanged since the last reconcile: the same revision, or (new revision) the same content */
            bool same = rev && r->doc_rev == rev;
            if (!same && r->doc_fp == ctl_doc_fingerprint(doc)) {
                r->doc_rev = rev;
                same = true;
            }
            if (same) {
                ctl_rec_stamp(c, r);
                continue;
            }
        }
        r = ctl_rec_get(c, id, true);
        if (!r) continue;
        ctl_rec_stamp(c, r);
        r->want_fresh = false; /* read it again: it may have changed without a NATS message */
        cJSON_Delete(r->batch_doc); /* this read is the fresh read: the reconcile uses it */
        r->batch_doc = cJSON_Duplicate(doc, 1);
        r->batch_at_ms = ctl_mono_ms(m);
        mark_initial(c, r, initial);
        wq_add(c->q, id);
    }
}

/* unlisted: a key the last desired-state read (generation c->gen) did not have */
static bool unlisted(const hmap_entry *e, const void *c) { return ((const rec *)e->val)->seen_gen != ((const ctl_kind *)c)->gen; }

/* enqueue_unlisted: observed keys that are not desired (or disabled: their documents are not in the
 * enabled read), in key order (the order reaches the work queue, so it must not be the hash map's) */
static void enqueue_unlisted(ctl_kind *c, bool initial)
{
    if (c->gen_stamped == c->recs.count) return; /* the read listed every key */
    hmap_entry **v = hmap_sorted(&c->recs, unlisted, c, NULL);
    for (size_t i = 0; v && v[i]; i++) {
        rec *r = v[i]->val;
        r->want_fresh = false; /* not in the enabled read: deleted or disabled; read it again */
        r->missing = r->nobjs != 0;
        cJSON_Delete(r->batch_doc);
        r->batch_doc = NULL;
        mark_initial(c, r, initial);
        wq_add(c->q, v[i]->key);
    }
    free(v);
}

void ctl_resync_kind(ctl_kind *c, bool initial)
{
    ctl_manager *m = c->m;
    /* a first full reconcile whose desired-state read failed never started: this resync is the first one
     * (otherwise the manager would never become ready while it keeps leading) */
    if (!c->first_done && c->initial_left == 0) initial = true;
    int64_t now = ctl_mono_ms(m);
    if (initial || !c->watch || !c->last_relist_ms || now - c->last_relist_ms >= m->s.relist_ms) {
        if (ctl_relist(c) == T0_OK) c->last_relist_ms = now;
    }
    if (!c->watch) ctl_start_watch(c);
    cJSON *docs = NULL;
    uint64_t *revs = NULL;
    t0_err err = {0};
    m->st.api_calls++;
    t0_status st = m->p.store->find_enabled(m->p.store->ctx, c->def->coll, &docs, &revs, &err);
    if (st != T0_OK) {
        cJSON_Delete(docs);
        free(revs);
        list_read_failed(c, initial, &err);
        return;
    }
    gate_after_read(c, cJSON_GetArraySize(docs));
    c->gen++;
    c->gen_stamped = 0;
    enqueue_listed(c, docs, revs, initial);
    cJSON_Delete(docs);
    free(revs);
    enqueue_unlisted(c, initial);
    if (initial && c->initial_left == 0 && !c->first_done) {
        c->first_done = true;
        if (m->bots.first_done && m->scheds.first_done) m->ready = true;
    }
}

void ctl_resync_tick(void *ud)
{
    ctl_manager *m = ud;
    m->resync_timer = 0;
    if (m->crashed) return;
    ctl_beat(m);
    if (ctl_acting_allowed(m)) {
        m->st.resyncs++;
        m->deletes_this_cycle = 0;
        ctl_resync_kind(&m->bots, false);
        ctl_resync_kind(&m->scheds, false);
    }
    m->resync_timer = m->p.loop->timer(m->p.loop->ctx, m->s.resync_ms, ctl_resync_tick, m);
}

void ctl_manager_resync_now(ctl_manager *m)
{
    if (!m || m->crashed || !ctl_acting_allowed(m)) return;
    m->st.resyncs++;
    ctl_resync_kind(&m->bots, false);
    ctl_resync_kind(&m->scheds, false);
}

/* ---- lifecycle -------------------------------------------------------------------------------- */

static t0_status kind_init(ctl_manager *m, ctl_kind *c, const ctl_kind_def *def, t0_err *err)
{
    c->m = m;
    c->def = def;
    snprintf(c->selector, sizeof c->selector, "%s=%s", LBL_MANAGED_BY, def->managed_by(&m->s.pod));
    c->last_count = -1;
    hmap_init(&c->recs);
    hmap_init(&c->objs);
    wq_settings ws = {m->s.backoff_base_ms, m->s.backoff_cap_ms, m->s.queue_qps, m->s.queue_burst, 64, m->p.clock_ns};
    t0_status st = wq_new(m->p.loop, &ws, ctl_reconcile, c, &c->q, err);
    if (st == T0_OK) wq_pause(c->q, true);
    return st;
}

static void kind_fini(ctl_manager *m, ctl_kind *c)
{
    if (c->watch) m->p.kube->unwatch(m->p.kube->ctx, c->watch);
    if (c->list_timer) m->p.loop->cancel(m->p.loop->ctx, c->list_timer);
    wq_destroy(c->q);
    for (hmap_entry *e = hmap_first(&c->objs); e; e = hmap_next(&c->objs, e)) ctl_obj_free(e->val);
    for (hmap_entry *e = hmap_first(&c->recs); e; e = hmap_next(&c->recs, e))
        cJSON_Delete(((rec *)e->val)->batch_doc); /* records and summaries live in their entries */
    hmap_free(&c->objs);
    hmap_free(&c->recs);
}

t0_status ctl_manager_new(const ctl_settings *s, const ctl_ports *ports, ctl_manager **out, t0_err *err)
{
    return ctl_manager_new_hooked(s, ports, NULL, out, err);
}

t0_status ctl_manager_new_hooked(const ctl_settings *s, const ctl_ports *ports, const ctl_hooks *hooks,
                                 ctl_manager **out, t0_err *err)
{
    *out = NULL;
    if (!ports || !ports->loop || !ports->kube || !ports->store)
        return t0_fail(err, T0_EINVAL, "manager: the loop, kube and store ports are required");
    if (s->leader_election &&
        !(s->lease_duration_ms > s->lease_renew_deadline_ms && s->lease_renew_deadline_ms > s->lease_renew_ms &&
          s->lease_renew_ms > 0))
        return t0_fail(err, T0_EINVAL,
                       "manager: leader election needs lease duration (%lld ms) > renew deadline (%lld ms) > retry "
                       "period (%lld ms) > 0",
                       (long long)s->lease_duration_ms, (long long)s->lease_renew_deadline_ms,
                       (long long)s->lease_renew_ms);
    ctl_manager *m = calloc(1, sizeof *m);
    if (!m) return t0_fail(err, T0_ENOMEM, "manager: out of memory");
    m->s = *s;
    m->p = *ports;
    ctl_store_watch_init(m, ports->store);
    if (hooks) m->h = *hooks;
    ctl_recorder_init(m);
    ctl_beat(m);
    t0_status st = kind_init(m, &m->bots, &bot_reconciler, err);
    if (st == T0_OK) st = kind_init(m, &m->scheds, &schedule_reconciler, err);
    if (st != T0_OK) {
        ctl_manager_destroy(m);
        return st;
    }
    *out = m;
    return T0_OK;
}

t0_status ctl_manager_start(ctl_manager *m, t0_err *err)
{
    if (m->started) return t0_fail(err, T0_ESTATE, "manager already running");
    m->started = true;
    (void)err; /* NATS is consumed while leading (intake.c) */
    if (m->s.leader_election) {
        ctl_lease_tick(m);
    } else {
        ctl_start_leading(m);
    }
    return T0_OK;
}

void ctl_manager_release(ctl_manager *m)
{
    if (!m || m->crashed || !m->leader || !m->s.leader_election) return;
    ctl_lease_release(m);
    m->released = true;
    ctl_stop_leading(m, "released");
}

void ctl_manager_destroy(ctl_manager *m)
{
    if (!m) return;
    ctl_intake_stop(m);
    if (m->lease_timer) m->p.loop->cancel(m->p.loop->ctx, m->lease_timer);
    if (m->resync_timer) m->p.loop->cancel(m->p.loop->ctx, m->resync_timer);
    if (m->recovered_timer) m->p.loop->cancel(m->p.loop->ctx, m->recovered_timer);
    if (m->bots.q) kind_fini(m, &m->bots);
    if (m->scheds.q) kind_fini(m, &m->scheds);
    ctl_recorder_fini(m);
    free(m);
}

bool ctl_manager_ready(const ctl_manager *m) { return m && m->ready && !m->crashed && ctl_manager_store_ok(m); }
bool ctl_manager_is_leader(const ctl_manager *m) { return m && m->leader && !m->crashed; }
bool ctl_manager_crashed(const ctl_manager *m) { return m && m->crashed; }
bool ctl_manager_acting(ctl_manager *m) { return m && ctl_acting_allowed(m); }

void ctl_manager_stats(const ctl_manager *m, ctl_stats *out)
{
    *out = m->st;
    out->queue_depth = wq_len(m->bots.q) + wq_len(m->scheds.q);
    out->bots = (unsigned)m->bots.recs.count;
    out->schedules = (unsigned)m->scheds.recs.count;
    out->leader = ctl_manager_is_leader(m);
    out->ready = ctl_manager_ready(m);
    out->store_ok = ctl_manager_store_ok(m);
    for (hmap_entry *e = hmap_first(&m->bots.recs); e; e = hmap_next(&m->bots.recs, e))
        out->bot_states[((rec *)e->val)->state & 15]++;
    for (hmap_entry *e = hmap_first(&m->scheds.recs); e; e = hmap_next(&m->scheds.recs, e))
        out->sched_states[((rec *)e->val)->state & 15]++;
    out->synced = !m->crashed && m->bots.synced && m->bots.watch && m->scheds.synced && m->scheds.watch;
    const ctl_kind *kinds[2] = {&m->bots, &m->scheds};
    for (int i = 0; i < 2; i++) {
        ctl_kind_stats *ks = &out->kinds[i];
        ks->name = kinds[i]->def->name;
        memcpy(ks->results, kinds[i]->results, sizeof ks->results);
        ks->reconcile_time = kinds[i]->reconcile_time;
        wq_metrics_get(kinds[i]->q, &ks->queue);
    }
}

void ctl_manager_live(const ctl_manager *m, ctl_live *out)
{
    out->beat_ns = atomic_load(&m->beat_ns);
    out->processing_since_ns[0] = wq_processing_since_ns(m->bots.q);
    out->processing_since_ns[1] = wq_processing_since_ns(m->scheds.q);
}
