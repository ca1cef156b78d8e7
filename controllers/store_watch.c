/* store_watch.c: the manager's store port: it forwards every call to the real one and notes whether
 * MongoDB answered, so readiness can say that the controller has not reached MongoDB for longer than
 * ctl_settings.store_unready_ms (ctl_manager_store_ok). An answer is any reply of the server, a "not
 * found" or a lost compare-and-set included; a failure is an unreachable, timed-out or failing server. */
#include "controllers/ctl_int.h"

/* While MongoDB does not answer, the leader reads the desired state every STORE_PROBE_MS instead of every
 * resync period, and once it answers after failing for that long it resyncs at once: the keys whose reads
 * failed meanwhile are in long backoffs, and a deleted bot's pod would otherwise wait for the next resync. */
#define STORE_PROBE_MS 5000

static void probe(void *ud)
{
    ctl_manager *m = ud;
    m->recovered_timer = 0;
    if (m->crashed || !ctl_acting_allowed(m)) return;
    bool failing = m->store_failing_since != 0;
    if (failing || m->store_failed_for_ms >= STORE_PROBE_MS) ctl_manager_resync_now(m); /* its reads note() */
    m->store_failed_for_ms = 0;
    if (m->store_failing_since && !m->recovered_timer)
        m->recovered_timer = m->p.loop->timer(m->p.loop->ctx, STORE_PROBE_MS, probe, m);
}

/* note: record the outcome ST of one store call */
static void note(ctl_manager *m, t0_status st)
{
    bool failed = t0_status_retryable(st) && st != T0_ECONFLICT;
    if (!failed) {
        if (m->store_failing_since) m->store_failed_for_ms = ctl_mono_ms(m) - m->store_failing_since;
        m->store_failing_since = 0;
        return;
    }
    if (!m->recovered_timer) m->recovered_timer = m->p.loop->timer(m->p.loop->ctx, STORE_PROBE_MS, probe, m);
    m->st.store_failures++;
    if (!m->store_failing_since) m->store_failing_since = ctl_mono_ms(m);
}

static t0_status w_find_enabled(void *ctx, store_coll c, cJSON **out, uint64_t **revs, t0_err *err)
{
    ctl_manager *m = ctx;
    t0_status st = m->store_real.find_enabled(m->store_real.ctx, c, out, revs, err);
    note(m, st);
    return st;
}

static t0_status w_get(void *ctx, store_coll c, const char *id, cJSON **out, t0_err *err)
{
    ctl_manager *m = ctx;
    t0_status st = m->store_real.get(m->store_real.ctx, c, id, out, err);
    note(m, st);
    return st;
}

static t0_status w_upsert(void *ctx, store_coll c, const char *id, const cJSON *fields, t0_err *err)
{
    ctl_manager *m = ctx;
    t0_status st = m->store_real.upsert(m->store_real.ctx, c, id, fields, err);
    note(m, st);
    return st;
}

static t0_status w_remove(void *ctx, store_coll c, const char *id, t0_err *err)
{
    ctl_manager *m = ctx;
    t0_status st = m->store_real.remove(m->store_real.ctx, c, id, err);
    note(m, st);
    return st;
}

static t0_status w_write(void *ctx, const store_write *w, t0_err *err)
{
    ctl_manager *m = ctx;
    t0_status st = m->store_real.write(m->store_real.ctx, w, err);
    note(m, st);
    return st;
}

void ctl_store_watch_init(ctl_manager *m, const store_port *real)
{
    m->store_real = *real;
    m->store_watch = (store_port){m, w_find_enabled, w_get, w_upsert, w_remove, real->write ? w_write : NULL};
    m->p.store = &m->store_watch;
}

bool ctl_manager_store_ok(const ctl_manager *m)
{
    return m && (!m->store_failing_since || ctl_mono_ms(m) - m->store_failing_since < m->s.store_unready_ms);
}
