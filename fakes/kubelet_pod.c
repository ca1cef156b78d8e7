/* kubelet_pod.c: the simulated kubelet steps a pod through fsm_pod_table: its effects, the restart policy
 * and CrashLoopBackOff, SIGTERM and SIGKILL. */
#include "fakes/kubelet_impl.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "fsm/tables.h"

/* Once a pod can ship nothing more (its containers stopped): the checker looks at what it left. */
static void pod_end(kpod *p)
{
    if (p->ended || !p->br) return;
    p->ended = true;
    emit(p, KE_POD_END, 0, NULL, 0);
}

/* c_wait: C waits with REASON, a string literal */
static void c_wait(cstate *c, const char *reason)
{
    c->waiting = true;
    c->wait_reason = reason;
}

/* The next CrashLoopBackOff delay of C: 10 s doubling to 300 s; reset after 10 minutes of running. */
static int64_t c_backoff(cstate *c)
{
    int64_t ran = c->finished_at - c->started_at;
    if (!c->backoff_ms || ran >= BACKOFF_RESET_MS)
        c->backoff_ms = BACKOFF_BASE_MS;
    else
        c->backoff_ms = c->backoff_ms * 2 > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : c->backoff_ms * 2;
    return c->backoff_ms;
}

static void on_sync_backoff(void *ud)
{
    kctr *c = ud;
    c->t_start = 0;
    kl_ctr_start(c, 0);
    kl_write_status(c->p);
}

/* ---- pod steps ------------------------------------------------------------------------------- */
static void on_backoff_done(void *ud)
{
    kpod *p = ud;
    p->t_main = 0;
    kl_pod_fire(p, PE_BACKOFF_DONE);
}

static void on_no_init(void *ud)
{
    kpod *p = ud;
    p->t_main = 0;
    kl_pod_fire(p, PE_INIT_OK);
}

static void on_grace(void *ud)
{
    kpod *p = ud;
    p->t_grace = 0;
    kl_pod_fire(p, PE_GRACE_EXPIRED);
}

static bool all_stopped(const kpod *p) { return !p->bot.st.running && !p->sync.st.running && !p->init.st.running; }

void kl_kill_all(kpod *p, bool grace)
{
    if (grace && p->bot.st.running) emit(p, KE_BOT_KILLED, 0, NULL, 0);
    kl_ctr_kill(&p->bot, 137);
    kl_ctr_kill(&p->sync, 137);
    kl_ctr_kill(&p->init, 137);
    cancel(p->k, &p->t_main);
}

/* SIGTERM for every container: the init container dies of it, the others decide; a container whose process
 * has not started yet never starts. */
static void term_all(kpod *p)
{
    kctr *cs[] = {&p->init, &p->bot, &p->sync};
    for (size_t i = 0; i < T0_ARRAY_LEN(cs); i++) {
        kctr *c = cs[i];
        if (!c->st.running) {
            cancel(p->k, &c->t_start); /* a container waiting in CrashLoopBackOff stays down */
            continue;
        }
        if (c->role == R_INIT || !c->proc) kl_ctr_kill(c, 143);
        else c->proc->term(c->proc);
    }
}

static void pod_effects(kpod *p, const fsm_result *r, bool *remove)
{
    kubelet *k = p->k;
    for (int i = 0; i < r->nfx; i++) {
        switch (r->fx[i]) {
        case PFX_START_INIT:
        case PFX_RESTART_INIT:
            if (p->has_init) kl_ctr_start(&p->init, p->prog.init_ms);
            else {
                p->br->obs.init_runs++;
                p->t_main = sim_loop_timer(k->loop, 0, on_no_init, p);
            }
            break;
        case PFX_START_MAIN:
            kl_ctr_start(&p->bot, 0);
            if (p->has_sync) kl_ctr_start(&p->sync, 0);
            break;
        case PFX_ARM_BACKOFF: {
            cstate *c = r->to == PS_INIT_BACKOFF ? &p->init.st : &p->bot.st;
            int64_t d = c_backoff(c);
            c_wait(c, "CrashLoopBackOff");
            cancel(k, &p->t_main);
            p->t_main = sim_loop_timer(k->loop, d, on_backoff_done, p);
            break;
        }
        case PFX_RESTART_BOT:
            kl_ctr_start(&p->bot, 0);
            break;
        case PFX_RESTART_SYNC: { /* the sync container's own CrashLoopBackOff */
            int64_t d = c_backoff(&p->sync.st);
            c_wait(&p->sync.st, "CrashLoopBackOff");
            cancel(k, &p->sync.t_start);
            p->sync.t_start = sim_loop_timer(k->loop, d, on_sync_backoff, &p->sync);
            break;
        }
        case PFX_SIGTERM:
            cancel(k, &p->t_main);
            p->grace_end = now(k) + p->grace_ms;
            emit(p, KE_SIGTERM, 0, NULL, 0);
            term_all(p);
            p->t_grace = sim_loop_timer(k->loop, p->grace_ms, on_grace, p);
            break;
        case PFX_SIGKILL:
            kl_kill_all(p, r->event == PE_GRACE_EXPIRED);
            break;
        case PFX_PHASE_RUNNING:
            p->phase = "Running";
            break;
        case PFX_PHASE_SUCCEEDED:
            p->phase = "Succeeded";
            pod_end(p);
            break;
        case PFX_PHASE_FAILED:
            p->phase = "Failed";
            pod_end(p);
            break;
        case PFX_MARK_EVICTED:
            p->phase = "Failed";
            snprintf(p->reason, sizeof p->reason, "Evicted");
            pod_end(p);
            break;
        case PFX_REMOVE_OBJECT:
            *remove = true;
            break;
        default:
            break;
        }
    }
}

void kl_pod_fire(kpod *p, int ev)
{
    if (p->stepping) {
        if (p->nq < MAXQ) p->q[p->nq++] = ev;
        return;
    }
    p->stepping = true;
    bool remove = false, gone = false;
    for (;;) {
        pod_fsm_input in = {.restart_always = p->restart_always,
                            .sync_running = p->sync.st.running,
                            .all_ok = (!p->bot.st.terminated || p->bot.st.exit_code == 0) &&
                                      (!p->sync.st.terminated || p->sync.st.exit_code == 0)};
        fsm_result r;
        t0_err err = {0};
        t0_status st = fsm_step(&fsm_pod_table, p->state, ev, &in, p->key, p->k->has_tracer ? &p->k->tracer : NULL, &r, &err);
        if (st == T0_OK) {
            p->state = r.to;
            pod_effects(p, &r, &remove);
            if (r.to == PS_GONE) gone = true;
        } else if (st != T0_EILLEGAL)
            T0_ERROR(COMP, "pod %s: step failed: %s", p->key, err.msg);
        if (!p->nq || gone) break;
        ev = p->q[0];
        memmove(p->q, p->q + 1, (size_t)--p->nq * sizeof *p->q);
    }
    p->nq = 0;
    p->stepping = false;
    if (gone) {
        kl_kill_all(p, false);
        pod_end(p);
        kl_pod_detach(p); /* before the API call: its DELETED event must not find the pod */
        if (remove) {
            t0_err err = {0};
            kube_delete_opts now0 = {.grace_seconds = 0, .precondition_uid = p->uid};
            p->k->sys.remove(p->k->sys.ctx, KUBE_POD, p->ns, p->name, &now0, &err);
        }
        kl_pod_release(p);
        return;
    }
    kl_write_status(p);
    if (p->state == PS_TERMINATING && all_stopped(p)) kl_pod_fire(p, PE_ALL_STOPPED);
}

