/* fake_faults.c: maps sim/faults decisions onto what the store, bus and object-store fakes do. */
#include "fakes/fake_faults.h"

#include "sim/faults.h"

fake_fault_kind fake_fault_at(struct sim_faults *f, const char *point, fake_fault *out, t0_err *err)
{
    *out = (fake_fault){FAKE_FAULT_NONE, T0_OK, 0, false};
    sim_fault_hit hit;
    if (!f || !sim_faults_check(f, point, &hit)) return FAKE_FAULT_NONE;
    switch (hit.kind) {
    case SIM_FAULT_ERROR:
    case SIM_FAULT_TOOMANY:
    case SIM_FAULT_TIMEOUT:
    case SIM_FAULT_TIMEOUT_APPLIED: /* fake_fault_call's callers never apply a timed-out write; the store does */
        out->kind = FAKE_FAULT_ERROR;
        out->applied = hit.kind == SIM_FAULT_TIMEOUT_APPLIED;
        out->status = sim_faults_fail(&hit, point, err);
        if (out->status == T0_OK) out->status = t0_fail(err, T0_EINTERNAL, "%s: injected error", point);
        break;
    case SIM_FAULT_DROP:
    case SIM_FAULT_CLOSE:
        out->kind = FAKE_FAULT_DROP;
        break;
    case SIM_FAULT_DUPLICATE:
        out->kind = FAKE_FAULT_DUPLICATE;
        break;
    case SIM_FAULT_LATENCY:
    case SIM_FAULT_REORDER:
        out->kind = FAKE_FAULT_DELAY;
        out->delay_ms = hit.ms > 0 ? hit.ms : 1000;
        break;
    default: /* gone/stale: not meaningful for these fakes */
        break;
    }
    return out->kind;
}

t0_status fake_fault_call(struct sim_faults *f, const char *point, t0_err *err)
{
    fake_fault ff;
    return fake_fault_at(f, point, &ff, err) == FAKE_FAULT_ERROR ? ff.status : T0_OK;
}
