/* kubelet_ctr.c: the simulated kubelet's containers: their processes (registered programs, the bot program,
 * stand-ins), starts, exits and kills. */
#include "fakes/kubelet_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "fsm/tables.h"

/* ---- container status ------------------------------------------------------------------------- */
static void c_start(kpod *p, cstate *c)
{
    if (c->terminated || c->running) {
        c->has_last = true;
        c->last_exit = c->exit_code;
        c->last_reason = c->reason ? c->reason : ""; /* restarted while running: no reason yet */
        c->last_started = c->started_at;
        c->last_finished = c->finished_at;
        c->restarts++;
    }
    c->running = true;
    c->terminated = c->waiting = false;
    free(c->message);
    c->message = NULL;
    c->started_at = now(p->k);
}

/* c_stop: C exited with CODE; REASON is a string literal (NULL: Error or Completed by the code) */
static void c_stop(kpod *p, cstate *c, int code, const char *reason)
{
    c->running = false;
    c->terminated = true;
    c->waiting = false;
    c->exit_code = code;
    c->reason = reason ? reason : code ? "Error" : "Completed";
    c->finished_at = now(p->k);
}

/* ---- processes ---------------------------------------------------------------------------------- */
const char *kubelet_exec_getenv(const kubelet_exec *x, const char *name)
{
    const kctr *c = ctr_of_exec(x);
    for (size_t i = 0; i + 1 < 2 * c->nenv; i += 2)
        if (!strcmp(c->env[i], name)) return c->env[i + 1];
    return NULL;
}

/* The bot container's entrypoint: the bot program model. */
typedef struct botproc {
    kubelet_proc base;
    botprog *b;
    kctr *c;
} botproc;

static void bp_term(kubelet_proc *pr) { botprog_term(((botproc *)pr)->b); }

static void bp_kill(kubelet_proc *pr)
{
    botproc *bp = (botproc *)pr;
    botprog_kill(bp->b);
    free(bp);
}

static void bp_exit(void *ud, int code)
{
    botproc *bp = ud;
    bp->c->x.exit(&bp->c->x, code);
}

static void bp_state(void *ud, uint64_t seq, const char *key, int eno)
{
    kctr *c = ud;
    emit(c->p, KE_STATE_WRITE, seq, key, eno);
}

static void bp_line(void *ud, uint64_t n, int eno)
{
    kctr *c = ud;
    emit(c->p, KE_LOG_LINE, n, NULL, eno);
}

static t0_status bash_exec(void *ud, const kubelet_exec *x, kubelet_proc **out, t0_err *err)
{
    (void)ud;
    kctr *c = ctr_of_exec(x);
    kpod *p = c->p;
    const kubelet_program *g = x->prog;
    botprog_spec spec = {.exit_after_ms = g->exit_after_ms, .exit_code = g->exit_code, .log_every_ms = g->log_every_ms,
                         .term_ms = g->term_ms, .write_every_ms = g->write_every_ms, .nwrites = g->nwrites};
    snprintf(spec.log_text, sizeof spec.log_text, "%s", g->log_text);
    memcpy(spec.writes, g->writes, sizeof spec.writes);
    botproc *bp = calloc(1, sizeof *bp);
    if (!bp) return t0_fail(err, T0_ENOMEM, "bash: out of memory");
    bp->base = (kubelet_proc){bp_term, bp_kill};
    bp->c = c;
    const char *id = kubelet_exec_getenv(x, "BOT_ID"), *sd = kubelet_exec_getenv(x, "STATE_DIR");
    botprog_env env = {.loop = x->loop,
                       .fs = x->fs,
                       .script = x->argc > 1 ? x->argv[1] : "/dev/null",
                       .bot_id = id ? id : x->bot_id,
                       .state_dir = sd ? sd : "/state/.the0-state",
                       .workdir = c->workdir ? c->workdir : "/",
                       .hooks = {c, &p->br->obs.state_seq, &p->br->obs.line_seq, bp_state, bp_line},
                       .exit = bp_exit,
                       .exit_ud = bp};
    t0_status st = botprog_start(&env, &spec, &bp->b, err);
    if (st != T0_OK) {
        free(bp);
        return st;
    }
    *out = &bp->base;
    return T0_OK;
}

/* The stand-in of a command that is not registered (not strict: `the0-sim serve`). */
typedef struct standin {
    kubelet_proc base;
    kctr *c;
    kubelet *k;
    uint64_t t;
} standin;

static void si_done(void *ud)
{
    standin *s = ud;
    s->t = 0;
    s->c->x.exit(&s->c->x, 0);
}

static void si_term(kubelet_proc *pr)
{
    standin *s = (standin *)pr;
    if (!s->t) s->t = sim_loop_timer(s->k->loop, 0, si_done, s);
}

static void si_kill(kubelet_proc *pr)
{
    standin *s = (standin *)pr;
    cancel(s->k, &s->t);
    free(s);
}

static t0_status standin_exec(kctr *c, kubelet_proc **out, t0_err *err)
{
    standin *s = calloc(1, sizeof *s);
    if (!s) return t0_fail(err, T0_ENOMEM, "stand-in process: out of memory");
    s->base = (kubelet_proc){si_term, si_kill};
    s->c = c;
    s->k = c->p->k;
    if (c->role == R_INIT) s->t = sim_loop_timer(s->k->loop, 0, si_done, s);
    *out = &s->base;
    return T0_OK;
}

static const xreg *exec_lookup(const kubelet *k, const char *path)
{
    for (size_t i = 0; path && i < k->nexecs; i++)
        if (!strcmp(k->execs[i].path, path)) return &k->execs[i];
    return NULL;
}

t0_status kubelet_register_exec(kubelet *k, const char *path, kubelet_exec_fn fn, void *ud, t0_err *err)
{
    if (exec_lookup(k, path)) return t0_fail(err, T0_EEXIST, "exec %s is registered already", path);
    xreg *nx = realloc(k->execs, (k->nexecs + 1) * sizeof *nx);
    if (!nx) return t0_fail(err, T0_ENOMEM, "register exec: out of memory");
    k->execs = nx;
    if (!(nx[k->nexecs].path = strdup(path))) return t0_fail(err, T0_ENOMEM, "register exec: out of memory");
    nx[k->nexecs].fn = fn;
    nx[k->nexecs].ud = ud;
    k->nexecs++;
    return T0_OK;
}

/* ---- containers ------------------------------------------------------------------------------- */
static void bot_counts_start(kpod *p)
{
    botrec *b = p->br;
    b->obs.bot_starts++;
    b->obs.bot_running++;
    if (b->obs.bot_running > b->obs.max_bot_running) b->obs.max_bot_running = b->obs.bot_running;
    if (b->obs.bot_running > p->k->max_running) p->k->max_running = b->obs.bot_running;
}

/* ctr_halt: C's process is gone (it exited or is killed now): its termination file becomes the status
 * message and its root filesystem goes. No pod event. */
static void ctr_halt(kctr *c)
{
    kpod *p = c->p;
    cancel(p->k, &c->t_start);
    if (c->proc) {
        kubelet_proc *pr = c->proc;
        c->proc = NULL;
        pr->kill(pr);
    }
    if (c->view) {
        char buf[TERM_MSG_MAX + 1];
        if (podfs_view_termination(c->view, buf, sizeof buf)) {
            free(c->st.message);
            c->st.message = strdup(buf);
        }
        podfs_view_destroy(c->view);
        c->view = NULL;
    }
}

/* ctr_stopped: C's process ended with CODE (REASON a literal or NULL); counts, no pod event. */
static void ctr_stopped(kctr *c, int code, const char *reason)
{
    kpod *p = c->p;
    bool was = c->st.running;
    ctr_halt(c);
    if (!was) return;
    c_stop(p, &c->st, code, reason);
    if (c->role == R_BOT && p->br) p->br->obs.bot_running--;
}

void kl_ctr_kill(kctr *c, int code)
{
    if (c->st.running) ctr_stopped(c, code, "Error");
    cancel(c->p->k, &c->t_start);
}

/* The pod event of an ended container. P may be freed by it. */
static void ctr_event(kctr *c)
{
    kpod *p = c->p;
    switch (c->role) {
    case R_INIT: kl_pod_fire(p, c->st.exit_code ? PE_INIT_FAIL : PE_INIT_OK); break;
    case R_BOT: kl_pod_fire(p, PE_BOT_EXIT); break;
    default: kl_pod_fire(p, PE_SYNC_EXIT); break;
    }
}

void kl_ctr_oom(kctr *c)
{
    ctr_stopped(c, 137, "OOMKilled");
    if (c->role == R_SYNC) emit(c->p, KE_SYNC_DOWN, 0, NULL, 0);
    ctr_event(c);
}

static void on_proc_exit(const kubelet_exec *x, int code)
{
    kctr *c = ctr_of_exec(x);
    if (!c->proc) return; /* killed meanwhile */
    ctr_stopped(c, code, NULL);
    ctr_event(c);
}

/* The container cannot be created or started: it ends at once, as containerd reports it. */
static void ctr_start_failed(kctr *c, const char *why)
{
    T0_DEBUG(COMP, "pod %s: container %s: %s", c->p->key, c->st.name, why);
    ctr_stopped(c, 128, "StartError");
    free(c->st.message);
    c->st.message = strdup(why);
    if (c->role == R_SYNC) emit(c->p, KE_SYNC_DOWN, 0, NULL, 0);
    ctr_event(c);
}

static void on_launch(void *ud)
{
    kctr *c = ud;
    kpod *p = c->p;
    kubelet *k = p->k;
    c->t_start = 0;
    char why[512];
    t0_err err = {0};
    bool strict = k->opts.strict;
    if (c->config_error && (strict || c->argc > 0)) {
        ctr_start_failed(c, c->config_error);
        return;
    }
    sim_fault_hit hit;
    if (k->opts.faults && sim_faults_check(k->opts.faults, "kubelet/start", &hit) && hit.status != T0_OK) {
        ctr_start_failed(c, "failed to create containerd task: injected fault kubelet/start");
        return;
    }
    if (podfs_view_new(p->fs, &c->vo, &c->view, &err) != T0_OK) {
        ctr_start_failed(c, err.msg);
        return;
    }
    c->fs = podfs_view_port(c->view);
    fs_stat sb;
    if (c->workdir && (c->fs.lstat(c->fs.ctx, c->workdir, &sb, NULL) != T0_OK || sb.type != FS_DIR)) {
        snprintf(why, sizeof why, "chdir to cwd (\"%s\") set in config.json failed: no such file or directory", c->workdir);
        ctr_start_failed(c, why);
        return;
    }
    const char *bin = c->argc > 0 ? c->argv[0] : NULL;
    const xreg *xr = exec_lookup(k, bin);
    kubelet_exec_fn fn = xr ? xr->fn : strict && bin && !strcmp(bin, "/bin/bash") ? bash_exec : NULL;
    if (!fn && !strict) {
        c->x = (kubelet_exec){.exit = on_proc_exit};
        if (standin_exec(c, &c->proc, &err) != T0_OK) ctr_start_failed(c, err.msg);
        return;
    }
    if (!fn) {
        snprintf(why, sizeof why, "exec: \"%s\": stat %s: no such file or directory", bin ? bin : "", bin ? bin : "");
        ctr_start_failed(c, why);
        return;
    }
    c->x = (kubelet_exec){.ns = p->ns, .pod = p->name, .pod_uid = p->uid, .bot_id = p->bot_id, .container = c->st.name,
                          .argc = c->argc, .argv = c->argv, .fs = &c->fs, .loop = &k->lp,
                          .tracer = k->has_tracer ? &k->tracer : NULL, .trace_key = c->trace_key, .prog = &p->prog,
                          .init_runs = (unsigned)p->br->obs.init_runs, .faults = k->opts.faults, .exit = on_proc_exit};
    if (fn(xr ? xr->ud : NULL, &c->x, &c->proc, &err) != T0_OK) {
        c->proc = NULL;
        ctr_start_failed(c, err.msg);
    }
}

void kl_ctr_start(kctr *c, int64_t delay)
{
    kpod *p = c->p;
    c_start(p, &c->st);
    if (c->role == R_SYNC) emit(p, KE_SYNC_UP, 0, NULL, 0);
    if (c->role == R_BOT) bot_counts_start(p);
    if (c->role == R_INIT) p->br->obs.init_runs++;
    cancel(p->k, &c->t_start);
    c->t_start = sim_loop_timer(p->k->loop, delay, on_launch, c);
}

void kl_ctr_free(kctr *c)
{
    ctr_halt(c);
    for (int i = 0; i < c->argc; i++) free(c->argv[i]);
    free(c->argv);
    for (size_t i = 0; i < 2 * c->nenv; i++) free(c->env[i]);
    free(c->env);
    for (size_t i = 0; i < c->nmounts; i++) {
        free((char *)c->mounts[i].volume);
        free((char *)c->mounts[i].path);
    }
    free(c->mounts);
    free((char *)c->vo.termination_path);
    free(c->workdir);
    free(c->config_error);
    free(c->st.message);
}

