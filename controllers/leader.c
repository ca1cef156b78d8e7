/* leader.c: leader election over a coordination.k8s.io Lease, in client-go's leaderelection shape: a
 * manager campaigns or renews every retry period (2 s); another manager may take the Lease only when its
 * record (holder, acquire and renew times) has not changed for the lease duration (15 s); the holder acts
 * only while its own last successful renewal is younger than the renew deadline (10 s), so it stops acting
 * before anyone may take over. Both durations are measured on each manager's own monotonic clock, as
 * client-go's observedTime: the renewTime in the Lease is the holder's wall clock, and comparing it with
 * ours made a standby whose clock ran 13 s ahead take the Lease from a live leader (two leaders acting for
 * the renew deadline), and a leader whose wall clock stepped back act past its deadline
 * (scenarios/clock_skew.scn). Each time a manager starts leading it opens a new term; every effect is
 * executed only under the term its reconcile was decided in (reconcile.c). */
#include <stdlib.h>
#include <string.h>

#include "controllers/ctl_int.h"
#include "core/json.h"
#include "core/log.h"
#include "core/str.h"

static const cJSON *jget(const cJSON *o, const char *path) { return t0_json_at(o, path); }
static const char *jstr(const cJSON *o, const char *path) { return t0_json_str(o, path); }

void ctl_start_leading(ctl_manager *m)
{
    T0_INFOK("manager", "became leader", "identity", m->s.identity, "lease", m->s.lease_name);
    m->leader = true;
    m->term++;
    m->deletes_this_cycle = 0;
    wq_pause(m->bots.q, false);
    wq_pause(m->scheds.q, false);
    m->st.resyncs++;
    ctl_gate_forget(&m->bots); /* the first read of the term is judged against the objects observed */
    ctl_gate_forget(&m->scheds);
    ctl_resync_kind(&m->bots, true);
    ctl_resync_kind(&m->scheds, true);
    /* the next read a full period after this one: a collapse it found is confirmed only by a read that
     * much later (a timer left from an earlier term would read again at once) */
    if (m->resync_timer) m->p.loop->cancel(m->p.loop->ctx, m->resync_timer);
    m->resync_timer = m->p.loop->timer(m->p.loop->ctx, m->s.resync_ms, ctl_resync_tick, m);
    ctl_intake_start(m); /* only the leader writes desired state from NATS */
}

void ctl_stop_leading(ctl_manager *m, const char *why)
{
    if (!m->leader) return;
    T0_WARNK("manager", "stopped leading", "identity", m->s.identity, "reason", why);
    m->leader = false;
    m->ready = false;
    m->bots.first_done = m->scheds.first_done = false;
    wq_pause(m->bots.q, true);
    wq_pause(m->scheds.q, true);
    ctl_intake_stop(m); /* what was not settled goes to the next leader */
}

static cJSON *lease_object(ctl_manager *m, const char *rv, int64_t acquire_ms, int transitions)
{
    char renew[40], acq[40];
    ctl_fmt_time(ctl_now(m), renew, sizeof renew, true);
    ctl_fmt_time(acquire_ms, acq, sizeof acq, true);
    cJSON *l = cJSON_CreateObject();
    T0_JSON_STR(l, "apiVersion", "coordination.k8s.io/v1");
    T0_JSON_STR(l, "kind", "Lease");
    cJSON *md = T0_JSON_OBJ(l, "metadata");
    T0_JSON_STR(md, "name", m->s.lease_name);
    T0_JSON_STR(md, "namespace", m->s.pod.namespace);
    if (rv) T0_JSON_STR(md, "resourceVersion", rv);
    cJSON *sp = T0_JSON_OBJ(l, "spec");
    T0_JSON_STR(sp, "holderIdentity", m->s.identity);
    T0_JSON_NUM(sp, "leaseDurationSeconds", (double)(m->s.lease_duration_ms / 1000));
    T0_JSON_STR(sp, "acquireTime", acq);
    T0_JSON_STR(sp, "renewTime", renew);
    T0_JSON_NUM(sp, "leaseTransitions", transitions);
    return l;
}

/* lease_expired: whether the record of CUR, held by someone else, has not changed for DUR_MS since this
 * manager first read it (a record read for the first time starts the count: a new manager waits a lease
 * duration before it takes over, as client-go's) */
static bool lease_expired(ctl_manager *m, const cJSON *cur, int64_t dur_ms, int64_t mono)
{
    char seen[sizeof m->lease_seen];
    const char *h = jstr(cur, "spec.holderIdentity"), *a = jstr(cur, "spec.acquireTime"), *r = jstr(cur, "spec.renewTime");
    t0_strjoin(seen, sizeof seen, h ? h : "", "|", a ? a : "", "|", r ? r : "");
    if (strcmp(seen, m->lease_seen)) {
        memcpy(m->lease_seen, seen, sizeof seen);
        m->lease_seen_at = mono;
        return false;
    }
    return mono - m->lease_seen_at > dur_ms;
}

void ctl_lease_tick(void *ud)
{
    ctl_manager *m = ud;
    m->lease_timer = 0;
    if (m->crashed || m->released) return;
    int64_t now = ctl_now(m), mono = ctl_mono_ms(m);
    kube_port *k = m->p.kube;
    cJSON *cur = NULL, *next = NULL;
    t0_err err = {0};
    t0_status st = k->get(k->ctx, KUBE_LEASE, m->s.pod.namespace, m->s.lease_name, &cur, &err);
    bool ok = false;
    if (st == T0_ENOTFOUND) {
        next = lease_object(m, NULL, now, 0);
        ok = k->create(k->ctx, KUBE_LEASE, m->s.pod.namespace, next, NULL, &err) == T0_OK;
    } else if (st == T0_OK) {
        const char *holder = jstr(cur, "spec.holderIdentity");
        const cJSON *dur = jget(cur, "spec.leaseDurationSeconds");
        int64_t dur_ms = cJSON_IsNumber(dur) ? (int64_t)dur->valuedouble * 1000 : m->s.lease_duration_ms;
        const cJSON *tr = jget(cur, "spec.leaseTransitions");
        int transitions = cJSON_IsNumber(tr) ? (int)tr->valuedouble : 0;
        const char *rv = jstr(cur, "metadata.resourceVersion");
        bool mine = holder && !strcmp(holder, m->s.identity);
        bool expired = !holder || !holder[0] || (!mine && lease_expired(m, cur, dur_ms, mono));
        if (mine || expired) {
            int64_t acq = mine ? ctl_parse_time(jstr(cur, "spec.acquireTime")) : now;
            next = lease_object(m, rv, acq, mine ? transitions : transitions + 1);
            ok = k->update(k->ctx, KUBE_LEASE, m->s.pod.namespace, next, NULL, &err) == T0_OK;
        }
    }
    cJSON_Delete(cur);
    cJSON_Delete(next);
    if (ok) {
        m->lease_valid_until = mono + m->s.lease_renew_deadline_ms;
        if (!m->leader) ctl_start_leading(m);
    } else if (m->leader && mono >= m->lease_valid_until) {
        ctl_stop_leading(m, err.msg[0] ? err.msg : "lease held by another manager");
    } else if (m->leader && err.msg[0]) {
        char left[32];
        T0_WARNK("manager", "lease renewal failed: acting until the renew deadline", "identity", m->s.identity,
                 "error", err.msg, "deadline_in", t0_log_duration(left, m->lease_valid_until - mono));
    } else if (!m->leader && err.msg[0]) {
        T0_WARNK("manager", "cannot reach the lease", "identity", m->s.identity, "lease", m->s.lease_name, "error",
                 err.msg);
    } else if (!m->leader) {
        T0_DEBUGK("manager", "standing by: the lease is held by another manager", "identity", m->s.identity, "lease",
                  m->s.lease_name);
    }
    if (m->leader && mono >= m->lease_valid_until) ctl_stop_leading(m, "renew deadline passed without a renewal");
    ctl_beat(m);
    ctl_standby_informers(m); /* a standby keeps its caches synced too: it is ready to take over */
    m->lease_timer = m->p.loop->timer(m->p.loop->ctx, m->s.lease_renew_ms, ctl_lease_tick, m);
}

void ctl_lease_release(ctl_manager *m)
{
    cJSON *cur = NULL;
    if (m->p.kube->get(m->p.kube->ctx, KUBE_LEASE, m->s.pod.namespace, m->s.lease_name, &cur, NULL) == T0_OK) {
        const char *holder = jstr(cur, "spec.holderIdentity");
        cJSON *next = holder && !strcmp(holder, m->s.identity) ? cJSON_Duplicate(cur, 1) : NULL; /* cur: read-only */
        cJSON_Delete(cur);
        cur = next;
        if (next) {
            cJSON *sp = t0_json_get(next, "spec");
            cJSON_ReplaceItemInObjectCaseSensitive(sp, "holderIdentity", cJSON_CreateString(""));
            m->p.kube->update(m->p.kube->ctx, KUBE_LEASE, m->s.pod.namespace, next, NULL, NULL);
        }
    }
    cJSON_Delete(cur);
}

