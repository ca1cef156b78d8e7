/* kubelet.c: simulated nodes and kubelet: pods stepped through fsm_pod_table; their containers run as the
 * processes their commands name, each in its view of the pod's filesystem (fakes/podfs.h). */
#include "fakes/kubelet.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hmap.h"
#include "core/json.h"
#include "core/log.h"
#include "core/str.h"
#include "fakes/podfs.h"
#include "fsm/tables.h"

#define COMP "kubelet"
#define BACKOFF_BASE_MS 10000
#define BACKOFF_CAP_MS 300000
#define BACKOFF_RESET_MS 600000
#define TERM_MSG_MAX 4096
#define MAXQ 8

typedef struct knode {
    char *name;
    bool ready;
    unsigned npods, ipseq;
    int index;
} knode;

typedef struct botrec {
    kubelet_bot_obs obs;
} botrec;

typedef struct xreg {
    char *path;
    kubelet_exec_fn fn;
    void *ud;
} xreg;

/* One container's status as the kubelet reports it. */
typedef struct cstate {
    bool present, running, terminated, waiting;
    int64_t started_at, finished_at;
    int exit_code, restarts;
    /* reasons are string literals: the status written refers to them instead of copying them */
    const char *reason, *wait_reason;
    char *message; /* the terminated state's message (owned; NULL: none) */
    bool has_last;
    int last_exit;
    const char *last_reason;
    int64_t last_started, last_finished;
    int64_t backoff_ms;
    char name[64], image[160];
} cstate;

enum { R_INIT, R_BOT, R_SYNC };

typedef struct kpod kpod;

/* A container of the spec, and its process while one runs. */
typedef struct kctr {
    kpod *p;
    int role;
    cstate st;
    /* from the spec (owned) */
    char **argv;
    int argc;
    char **env; /* name, value, name, value, ... */
    size_t nenv;
    podfs_mount *mounts;
    size_t nmounts;
    podfs_view_opts vo;
    char *workdir, *config_error;
    /* the process */
    podfs_view *view;
    fs_port fs;
    kubelet_proc *proc;
    kubelet_exec x;
    char trace_key[320];
    uint64_t t_start;
} kctr;

struct kpod {
    kubelet *k;
    char *ns, *name, *key, *uid, *bot_id;
    botrec *br;
    knode *node;
    int state;
    bool detached, restart_always, has_init, has_sync, delete_seen, ended, abrupt, stepping;
    kubelet_program prog;
    kctr init, bot, sync;
    podfs *fs;
    int pullfails;
    int64_t grace_ms, grace_end, start_time;
    const char *phase; /* a string literal */
    char reason[32], message[128], ip[32];
    uint64_t t_main, t_grace;
    int q[MAXQ], nq;
};

struct kubelet {
    sim_loop *loop;
    loop_port lp;
    kfake *api;
    kube_port sys;
    kubelet_opts opts;
    kube_watch *watch;
    hmap pods;        /* "ns/name" -> kpod */
    hmap unscheduled; /* "ns/name" -> (void*)1 */
    hmap bots;        /* bot id -> botrec */
    hmap programs;    /* bot id -> kubelet_program */
    xreg *execs;
    size_t nexecs;
    knode **nodes;
    size_t nnodes;
    kubelet_program default_prog;
    fsm_tracer tracer;
    bool has_tracer;
    unsigned max_running;
    kubelet_event_fn observer;
    void *observer_ud;
};

void kubelet_program_default(kubelet_program *p)
{
    memset(p, 0, sizeof *p);
    p->pull_ms = 1000;
    p->init_ms = 500;
    p->exit_after_ms = -1;
    p->term_ms = 100;
    snprintf(p->log_text, sizeof p->log_text, "tick");
}

static void pod_fire(kpod *p, int ev);
static void write_status(kpod *p);

static int64_t now(const kubelet *k) { return sim_loop_now(k->loop); }

static void cancel(kubelet *k, uint64_t *t)
{
    if (*t) sim_loop_cancel(k->loop, *t);
    *t = 0;
}

static kctr *ctr_of_exec(const kubelet_exec *x) { return (kctr *)((char *)x - offsetof(kctr, x)); }

static void emit(kpod *p, kubelet_event_kind kind, uint64_t n, const char *key, int eno)
{
    kubelet *k = p->k;
    if (!k->observer) return;
    kubelet_event e = {.kind = kind, .bot_id = p->bot_id, .ns = p->ns, .pod = p->name, .pod_uid = p->uid, .n = n,
                       .key = key, .eno = eno, .abrupt = p->abrupt,
                       .sync_message = p->sync.st.message ? p->sync.st.message : ""};
    k->observer(k->observer_ud, &e);
}

/* ---- observers -------------------------------------------------------------------------------- */
static botrec *bot_of(kubelet *k, const char *id)
{
    botrec *b = hmap_get(&k->bots, id);
    if (b) return b;
    b = calloc(1, sizeof *b);
    if (!b) return NULL;
    if (hmap_put(&k->bots, id, b, NULL) != T0_OK) {
        free(b);
        return NULL;
    }
    return b;
}

/* Once a pod can ship nothing more (its containers stopped): the checker looks at what it left. */
static void pod_end(kpod *p)
{
    if (p->ended || !p->br) return;
    p->ended = true;
    emit(p, KE_POD_END, 0, NULL, 0);
}

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

/* ctr_kill: SIGKILL (or the signal that ended it: CODE) for a running container. */
static void ctr_kill(kctr *c, int code)
{
    if (c->st.running) ctr_stopped(c, code, "Error");
    cancel(c->p->k, &c->t_start);
}

/* The pod event of an ended container. P may be freed by it. */
static void ctr_event(kctr *c)
{
    kpod *p = c->p;
    switch (c->role) {
    case R_INIT: pod_fire(p, c->st.exit_code ? PE_INIT_FAIL : PE_INIT_OK); break;
    case R_BOT: pod_fire(p, PE_BOT_EXIT); break;
    default: pod_fire(p, PE_SYNC_EXIT); break;
    }
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

/* ctr_start: the container is created now (status running) and its process starts DELAY later. */
static void ctr_start(kctr *c, int64_t delay)
{
    kpod *p = c->p;
    c_start(p, &c->st);
    if (c->role == R_BOT) bot_counts_start(p);
    if (c->role == R_INIT) p->br->obs.init_runs++;
    cancel(p->k, &c->t_start);
    c->t_start = sim_loop_timer(p->k->loop, delay, on_launch, c);
}

static void on_sync_backoff(void *ud)
{
    kctr *c = ud;
    c->t_start = 0;
    ctr_start(c, 0);
    write_status(c->p);
}

static void ctr_free(kctr *c)
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

/* ---- the spec of a container ---------------------------------------------------------------------- */
/* A Kubernetes quantity ("512Mi", "1G", "1000") in bytes; 0 when unreadable. */
static uint64_t quantity(const char *s)
{
    if (!s) return 0;
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0) return 0;
    static const struct {
        const char *sfx;
        double mul;
    } m[] = {{"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0}, {"k", 1e3},
             {"M", 1e6},     {"G", 1e9},        {"T", 1e12},          {"", 1.0}};
    for (size_t i = 0; i < T0_ARRAY_LEN(m); i++)
        if (!strcmp(end, m[i].sfx)) return (uint64_t)(v * m[i].mul);
    return 0;
}

static char *dupstr(const char *s) { return strdup(s ? s : ""); }

static void set_config_error(kctr *c, const char *fmt, const char *a, const char *b)
{
    if (c->config_error) return;
    char buf[400];
    snprintf(buf, sizeof buf, fmt, a, b);
    c->config_error = strdup(buf);
}

static bool json_bool(const cJSON *o, const char *k, bool *out)
{
    const cJSON *v = t0_json_get(o, k);
    if (!cJSON_IsBool(v)) return false;
    *out = cJSON_IsTrue(v);
    return true;
}

static bool json_u32(const cJSON *o, const char *k, uint32_t *out)
{
    const cJSON *v = t0_json_get(o, k);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0) return false;
    *out = (uint32_t)v->valuedouble;
    return true;
}

/* parse_ctr: what C runs, with what, on which filesystem (POD_SPEC for the pod's securityContext and
 * volumes). Anything that makes the container impossible to create becomes its config_error. */
static bool parse_ctr(kpod *p, kctr *c, int role, const cJSON *spec, const cJSON *pod_spec)
{
    c->p = p;
    c->role = role;
    c->st.present = true;
    snprintf(c->st.name, sizeof c->st.name, "%s", kfake_str(spec, "name") ? kfake_str(spec, "name") : "");
    snprintf(c->st.image, sizeof c->st.image, "%s", kfake_str(spec, "image") ? kfake_str(spec, "image") : "");
    snprintf(c->trace_key, sizeof c->trace_key, "%s/%s", p->key, c->st.name);
    const cJSON *cmd = t0_json_get(spec, "command"), *args = t0_json_get(spec, "args");
    int n = cJSON_GetArraySize(cmd) + cJSON_GetArraySize(args);
    if (!(c->argv = calloc((size_t)n + 1, sizeof *c->argv))) return false;
    const cJSON *it;
    cJSON_ArrayForEach(it, cmd) if (cJSON_IsString(it) && !(c->argv[c->argc++] = strdup(it->valuestring))) return false;
    cJSON_ArrayForEach(it, args) if (cJSON_IsString(it) && !(c->argv[c->argc++] = strdup(it->valuestring))) return false;
    if (c->argc == 0) set_config_error(c, "no command: the simulated images have no default entrypoint%s%s", "", "");
    const cJSON *env = t0_json_get(spec, "env");
    if (cJSON_GetArraySize(env) && !(c->env = calloc(2 * (size_t)cJSON_GetArraySize(env), sizeof *c->env))) return false;
    cJSON_ArrayForEach(it, env)
    {
        const char *name = kfake_str(it, "name"), *value = kfake_str(it, "value"); /* valueFrom: "" */
        if (!name) continue;
        if (!(c->env[2 * c->nenv] = strdup(name)) || !(c->env[2 * c->nenv + 1] = dupstr(value))) return false;
        c->nenv++;
    }
    const cJSON *mounts = t0_json_get(spec, "volumeMounts"), *vols = t0_json_get(pod_spec, "volumes");
    if (cJSON_GetArraySize(mounts) && !(c->mounts = calloc((size_t)cJSON_GetArraySize(mounts), sizeof *c->mounts)))
        return false;
    cJSON_ArrayForEach(it, mounts)
    {
        const char *vn = kfake_str(it, "name"), *mp = kfake_str(it, "mountPath");
        const cJSON *v, *found = NULL;
        cJSON_ArrayForEach(v, vols) if (vn && kfake_str(v, "name") && !strcmp(kfake_str(v, "name"), vn)) found = v;
        if (!found) set_config_error(c, "volume \"%s\" not found (mounted at %s)", vn ? vn : "", mp ? mp : "");
        else if (!t0_json_get(found, "emptyDir"))
            set_config_error(c, "volume \"%s\": only emptyDir volumes are simulated%s", vn, "");
        bool ro = false;
        json_bool(it, "readOnly", &ro);
        podfs_mount *m = &c->mounts[c->nmounts++];
        m->read_only = ro;
        if (!(m->volume = dupstr(vn)) || !(m->path = dupstr(mp))) return false;
    }
    c->vo.mounts = c->mounts;
    c->vo.nmounts = c->nmounts;
    const cJSON *psc = t0_json_get(pod_spec, "securityContext"), *csc = t0_json_get(spec, "securityContext");
    bool nonroot = false, ro = false;
    if (!json_u32(csc, "runAsUser", &c->vo.uid)) json_u32(psc, "runAsUser", &c->vo.uid);
    if (!json_u32(csc, "runAsGroup", &c->vo.gid)) json_u32(psc, "runAsGroup", &c->vo.gid);
    json_u32(psc, "fsGroup", &c->vo.fs_group);
    if (!json_bool(csc, "runAsNonRoot", &nonroot)) json_bool(psc, "runAsNonRoot", &nonroot);
    json_bool(csc, "readOnlyRootFilesystem", &ro);
    c->vo.read_only_root = ro;
    cJSON_ArrayForEach(it, t0_json_get(t0_json_get(csc, "capabilities"), "drop"))
        if (cJSON_IsString(it) && !strcmp(it->valuestring, "ALL")) c->vo.caps_dropped = true;
    if (nonroot && c->vo.uid == 0)
        set_config_error(c, "container has runAsNonRoot and image will run as root (container: %s)%s", c->st.name, "");
    const char *tp = kfake_str(spec, "terminationMessagePath"), *wd = kfake_str(spec, "workingDir");
    if (tp && !(c->vo.termination_path = strdup(tp))) return false;
    if (wd && !(c->workdir = strdup(wd))) return false;
    return true;
}

static void on_volume_full(void *ud, const char *volume)
{
    emit(ud, KE_VOLUME_FULL, 0, volume, 0);
}

/* The pod's volumes: emptyDirs with their capacity (sizeLimit, else the bot's program, else 1 GiB). */
static bool make_volumes(kpod *p, const cJSON *pod_spec)
{
    t0_err err = {0};
    if (podfs_new(&p->k->lp, p->k->opts.faults, &p->fs, &err) != T0_OK) return false;
    podfs_on_full(p->fs, on_volume_full, p);
    const cJSON *v;
    cJSON_ArrayForEach(v, t0_json_get(pod_spec, "volumes"))
    {
        const char *name = kfake_str(v, "name");
        const cJSON *ed = t0_json_get(v, "emptyDir");
        if (!name || !ed) continue;
        uint64_t cap = quantity(kfake_str(ed, "sizeLimit"));
        for (size_t i = 0; !cap && i < p->prog.nvolumes; i++)
            if (!strcmp(p->prog.volumes[i].name, name)) cap = p->prog.volumes[i].bytes;
        if (podfs_add_volume(p->fs, name, cap, &err) != T0_OK && err.code != T0_EEXIST) return false;
    }
    return true;
}

/* ---- pod steps ------------------------------------------------------------------------------- */
static void on_backoff_done(void *ud)
{
    kpod *p = ud;
    p->t_main = 0;
    pod_fire(p, PE_BACKOFF_DONE);
}

static void on_no_init(void *ud)
{
    kpod *p = ud;
    p->t_main = 0;
    pod_fire(p, PE_INIT_OK);
}

static void on_grace(void *ud)
{
    kpod *p = ud;
    p->t_grace = 0;
    pod_fire(p, PE_GRACE_EXPIRED);
}

static bool all_stopped(const kpod *p) { return !p->bot.st.running && !p->sync.st.running && !p->init.st.running; }

/* SIGKILL for every container (GRACE: the end of the grace period). */
static void kill_all(kpod *p, bool grace)
{
    if (grace && p->bot.st.running) emit(p, KE_BOT_KILLED, 0, NULL, 0);
    ctr_kill(&p->bot, 137);
    ctr_kill(&p->sync, 137);
    ctr_kill(&p->init, 137);
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
        if (c->role == R_INIT || !c->proc) ctr_kill(c, 143);
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
            if (p->has_init) ctr_start(&p->init, p->prog.init_ms);
            else {
                p->br->obs.init_runs++;
                p->t_main = sim_loop_timer(k->loop, 0, on_no_init, p);
            }
            break;
        case PFX_START_MAIN:
            ctr_start(&p->bot, 0);
            if (p->has_sync) ctr_start(&p->sync, 0);
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
            ctr_start(&p->bot, 0);
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
            kill_all(p, r->event == PE_GRACE_EXPIRED);
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

static void pod_detach(kpod *p);
static void pod_release(kpod *p);

static void pod_fire(kpod *p, int ev)
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
        kill_all(p, false);
        pod_end(p);
        pod_detach(p); /* before the API call: its DELETED event must not find the pod */
        if (remove) {
            t0_err err = {0};
            kube_delete_opts now0 = {.grace_seconds = 0, .precondition_uid = p->uid};
            p->k->sys.remove(p->k->sys.ctx, KUBE_POD, p->ns, p->name, &now0, &err);
        }
        pod_release(p);
        return;
    }
    write_status(p);
    if (p->state == PS_TERMINATING && all_stopped(p)) pod_fire(p, PE_ALL_STOPPED);
}

/* ---- status ---------------------------------------------------------------------------------- */
static cJSON *c_status(const kpod *p, const cstate *c, bool init)
{
    char ts[32];
    cJSON *s = cJSON_CreateObject();
    T0_JSON_STR(s, "name", c->name);
    T0_JSON_STR(s, "image", c->image);
    T0_JSON_BOOL(s, "ready", c->running && !init);
    T0_JSON_NUM(s, "restartCount", c->restarts);
    T0_JSON_BOOL(s, "started", c->running);
    cJSON *st = T0_JSON_OBJ(s, "state");
    if (c->running && !c->waiting) {
        T0_JSON_STR(T0_JSON_OBJ(st, "running"), "startedAt", sim_format_rfc3339(c->started_at, ts, sizeof ts));
    } else if (c->waiting || (!c->terminated && !c->running)) {
        cJSON *w = T0_JSON_OBJ(st, "waiting");
        const char *reason = c->waiting ? c->wait_reason : init ? "PodInitializing" : p->state == PS_PENDING ? "ContainerCreating" : "PodInitializing";
        if (p->state == PS_PENDING && p->pullfails) reason = p->prog.pull_fail ? "ImagePullBackOff" : "ErrImagePull";
        T0_JSON_STR_STATIC(w, "reason", reason);
        if (c->waiting && !strcmp(c->wait_reason, "CrashLoopBackOff")) {
            char m[160];
            snprintf(m, sizeof m, "back-off %llds restarting failed container=%s pod=%s_%s(%s)", (long long)(c->backoff_ms / 1000),
                     c->name, p->name, p->ns, p->uid);
            T0_JSON_STR(w, "message", m);
        }
    } else {
        cJSON *t = T0_JSON_OBJ(st, "terminated");
        T0_JSON_NUM(t, "exitCode", c->exit_code);
        T0_JSON_STR_STATIC(t, "reason", c->reason ? c->reason : "");
        if (c->message) T0_JSON_STR(t, "message", c->message);
        T0_JSON_STR(t, "startedAt", sim_format_rfc3339(c->started_at, ts, sizeof ts));
        T0_JSON_STR(t, "finishedAt", sim_format_rfc3339(c->finished_at, ts, sizeof ts));
    }
    cJSON *ls = T0_JSON_OBJ(s, "lastState");
    const bool waiting_after_exit = c->waiting && c->terminated;
    if (c->has_last || waiting_after_exit) {
        cJSON *t = T0_JSON_OBJ(ls, "terminated");
        int code = waiting_after_exit ? c->exit_code : c->last_exit;
        T0_JSON_NUM(t, "exitCode", code);
        const char *why = waiting_after_exit ? c->reason : c->last_reason;
        T0_JSON_STR_STATIC(t, "reason", why ? why : "");
        if (waiting_after_exit && c->message) T0_JSON_STR(t, "message", c->message);
        T0_JSON_STR(t, "startedAt", sim_format_rfc3339(waiting_after_exit ? c->started_at : c->last_started, ts, sizeof ts));
        T0_JSON_STR(t, "finishedAt", sim_format_rfc3339(waiting_after_exit ? c->finished_at : c->last_finished, ts, sizeof ts));
    }
    return s;
}

/* add_cond: a pod condition; TYPE and REASON (NULL: none) are string literals */
static void add_cond(cJSON *arr, const char *type, bool v, const char *reason, int64_t t)
{
    char ts[32];
    cJSON *c = cJSON_CreateObject();
    T0_JSON_STR_STATIC(c, "type", type);
    T0_JSON_STR_STATIC(c, "status", v ? "True" : "False");
    if (reason) T0_JSON_STR_STATIC(c, "reason", reason);
    T0_JSON_STR(c, "lastTransitionTime", sim_format_rfc3339(t, ts, sizeof ts));
    cJSON_AddItemToArray(arr, c);
}

static void write_status(kpod *p)
{
    kubelet *k = p->k;
    char ts[32];
    cJSON *o = cJSON_CreateObject();
    cJSON *md = T0_JSON_OBJ(o, "metadata");
    T0_JSON_STR(md, "name", p->name);
    T0_JSON_STR(md, "namespace", p->ns);
    T0_JSON_STR(md, "uid", p->uid);
    cJSON *s = T0_JSON_OBJ(o, "status");
    T0_JSON_STR_STATIC(s, "phase", p->phase);
    if (*p->reason) T0_JSON_STR(s, "reason", p->reason);
    if (*p->message) T0_JSON_STR(s, "message", p->message);
    bool initialized = p->state != PS_PENDING && p->state != PS_INIT_RUNNING && p->state != PS_INIT_BACKOFF;
    bool ready = p->bot.st.running && (!p->has_sync || p->sync.st.running) && p->state == PS_RUNNING;
    cJSON *conds = T0_JSON_ARR(s, "conditions");
    add_cond(conds, "PodScheduled", true, NULL, p->start_time);
    add_cond(conds, "Initialized", initialized, initialized ? NULL : "ContainersNotInitialized", p->start_time);
    add_cond(conds, "ContainersReady", ready, ready ? NULL : "ContainersNotReady", p->start_time);
    add_cond(conds, "Ready", ready, ready ? NULL : "ContainersNotReady", p->start_time);
    T0_JSON_STR_STATIC(s, "hostIP", "10.0.0.1");
    if (*p->ip && strcmp(p->phase, "Pending")) T0_JSON_STR(s, "podIP", p->ip);
    T0_JSON_STR(s, "startTime", sim_format_rfc3339(p->start_time, ts, sizeof ts));
    if (p->has_init) {
        cJSON *ics = T0_JSON_ARR(s, "initContainerStatuses");
        cJSON_AddItemToArray(ics, c_status(p, &p->init.st, true));
    }
    cJSON *cs = T0_JSON_ARR(s, "containerStatuses");
    cJSON_AddItemToArray(cs, c_status(p, &p->bot.st, false));
    if (p->has_sync) cJSON_AddItemToArray(cs, c_status(p, &p->sync.st, false));
    t0_err err = {0};
    t0_status st = kfake_write_status(k->api, KUBE_POD, p->ns, o, &err);
    if (st != T0_OK && st != T0_ENOTFOUND) T0_WARN(COMP, "pod %s: status write failed: %s", p->key, err.msg);
}


/* ---- pods ------------------------------------------------------------------------------------- */
/* pod_detach: the kubelet stops running P (timers, maps, counters); memory stays until pod_release. */
static void pod_detach(kpod *p)
{
    kubelet *k = p->k;
    if (p->detached) return;
    p->detached = true;
    kill_all(p, false);
    cancel(k, &p->t_main);
    cancel(k, &p->t_grace);
    if (p->key && hmap_get(&k->pods, p->key) == p) hmap_del(&k->pods, p->key);
    if (p->node && p->node->npods) p->node->npods--;
}

static void pod_release(kpod *p)
{
    ctr_free(&p->init);
    ctr_free(&p->bot);
    ctr_free(&p->sync);
    podfs_destroy(p->fs);
    free(p->ns);
    free(p->name);
    free(p->key);
    free(p->uid);
    free(p->bot_id);
    free(p);
}

static void pod_free(kpod *p)
{
    pod_detach(p);
    pod_release(p);
}

static void on_pulled(void *ud);

static void arm_pull(kpod *p, int64_t delay) { p->t_main = sim_loop_timer(p->k->loop, delay, on_pulled, p); }

static void on_pulled(void *ud)
{
    kpod *p = ud;
    p->t_main = 0;
    sim_fault_hit hit;
    if (p->prog.pull_fail || (p->k->opts.faults && sim_faults_check(p->k->opts.faults, "kubelet/pull", &hit) && hit.status != T0_OK)) {
        p->pullfails++;
        write_status(p);
        if (!p->prog.pull_fail) {
            int64_t d = (int64_t)BACKOFF_BASE_MS << (p->pullfails > 5 ? 5 : p->pullfails - 1);
            arm_pull(p, d > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : d);
        }
        return;
    }
    p->pullfails = 0;
    pod_fire(p, PE_PULLED);
}

static knode *node_by_name(kubelet *k, const char *name)
{
    for (size_t i = 0; name && i < k->nnodes; i++)
        if (!strcmp(k->nodes[i]->name, name)) return k->nodes[i];
    return NULL;
}

/* adopt: the kubelet of NODE starts running OBJ. */
static void adopt(kubelet *k, const cJSON *obj, knode *node)
{
    kpod *p = calloc(1, sizeof *p);
    if (!p) return;
    p->k = k;
    p->ns = strdup(kfake_str(obj, "metadata.namespace"));
    p->name = strdup(kfake_str(obj, "metadata.name"));
    p->uid = strdup(kfake_str(obj, "metadata.uid"));
    const cJSON *labels = t0_json_get(t0_json_get(obj, "metadata"), "labels");
    const cJSON *bl = t0_json_get(labels, "the0.dev/bot-id");
    const char *bid = cJSON_IsString(bl) ? bl->valuestring : p->name;
    p->bot_id = strdup(bid ? bid : "");
    p->key = malloc(strlen(p->ns ? p->ns : "") + strlen(p->name ? p->name : "") + 2);
    if (!p->ns || !p->name || !p->uid || !p->bot_id || !p->key || !(p->br = bot_of(k, p->bot_id))) {
        free(p->key);
        p->key = NULL;
        pod_free(p);
        return;
    }
    sprintf(p->key, "%s/%s", p->ns, p->name);
    const kubelet_program *prog = hmap_get(&k->programs, p->bot_id);
    p->prog = prog ? *prog : k->default_prog;
    const cJSON *spec = t0_json_get(obj, "spec");
    const char *rp = kfake_str(spec, "restartPolicy");
    p->restart_always = !rp || !strcmp(rp, "Always");
    const cJSON *inits = t0_json_get(spec, "initContainers");
    const cJSON *ctrs = t0_json_get(spec, "containers");
    bool ok = make_volumes(p, spec);
    if (ok && cJSON_GetArraySize(inits) > 0) {
        p->has_init = true;
        ok = parse_ctr(p, &p->init, R_INIT, cJSON_GetArrayItem(inits, 0), spec);
    }
    ok = ok && parse_ctr(p, &p->bot, R_BOT, cJSON_GetArrayItem(ctrs, 0), spec);
    const cJSON *c;
    cJSON_ArrayForEach(c, ctrs) if (ok && c != cJSON_GetArrayItem(ctrs, 0) && kfake_str(c, "name") && !strcmp(kfake_str(c, "name"), "sync"))
    {
        p->has_sync = true;
        ok = parse_ctr(p, &p->sync, R_SYNC, c, spec);
    }
    if (!ok) {
        T0_ERROR(COMP, "pod %s: out of memory reading its spec", p->key);
        pod_free(p);
        return;
    }
    p->node = node;
    node->npods++;
    snprintf(p->ip, sizeof p->ip, "10.244.%d.%u", node->index, (node->ipseq++ % 254) + 1);
    p->phase = "Pending";
    p->state = fsm_pod_table.initial;
    p->start_time = now(k);
    const cJSON *g = t0_json_get(spec, "terminationGracePeriodSeconds");
    p->grace_ms = (cJSON_IsNumber(g) ? (int64_t)g->valuedouble : 30) * 1000;
    if (hmap_put(&k->pods, p->key, p, NULL) != T0_OK) {
        pod_free(p);
        return;
    }
    p->br->obs.pods_started++;
    write_status(p);
    arm_pull(p, p->prog.pull_ms);
}

static knode *pick_node(kubelet *k)
{
    knode *best = NULL;
    for (size_t i = 0; i < k->nnodes; i++) {
        knode *n = k->nodes[i];
        if (!n->ready) continue;
        if (!best || n->npods < best->npods || (n->npods == best->npods && strcmp(n->name, best->name) < 0)) best = n;
    }
    return best;
}

static void try_schedule(kubelet *k, const char *ns, const char *name)
{
    knode *n = pick_node(k);
    char key[600];
    t0_strjoin(key, sizeof key, ns, "/", name);
    if (!n) {
        if (!hmap_get(&k->unscheduled, key)) hmap_put(&k->unscheduled, key, (void *)1, NULL);
        return;
    }
    hmap_del(&k->unscheduled, key);
    t0_err err = {0};
    if (kfake_bind_pod(k->api, ns, name, n->name, &err) != T0_OK) T0_DEBUG(COMP, "bind %s: %s", key, err.msg);
}

static void on_pod_event(void *ud, kube_watch_type type, const cJSON *obj)
{
    kubelet *k = ud;
    if (type == KUBE_WATCH_GONE || type == KUBE_WATCH_CLOSED) {
        T0_ERROR(COMP, "pod watch ended (%d): the kubelet is blind from now on", (int)type);
        return;
    }
    const cJSON *md = t0_json_get(obj, "metadata"); /* looked up once: this runs on every pod event */
    const char *ns = kfake_str(md, "namespace"), *name = kfake_str(md, "name");
    const char *uid = kfake_str(md, "uid");
    const char *deleting = kfake_str(md, "deletionTimestamp");
    if (!ns || !name || !uid) return;
    char key[600];
    t0_strjoin(key, sizeof key, ns, "/", name);
    kpod *p = hmap_get(&k->pods, key);
    if (p && strcmp(p->uid, uid)) p = NULL; /* another incarnation */
    if (type == KUBE_WATCH_DELETED) {
        hmap_del(&k->unscheduled, key);
        if (p) {
            p->abrupt = true; /* removed without the kubelet: its containers die, its volumes go */
            pod_fire(p, PE_REMOVED);
        }
        return;
    }
    const char *node = kfake_str(obj, "spec.nodeName");
    if (!p) {
        if (!node) {
            if (!deleting) try_schedule(k, ns, name);
            return;
        }
        knode *n = node_by_name(k, node);
        const char *phase = kfake_str(obj, "status.phase");
        if (!n || !n->ready || (phase && strcmp(phase, "Pending")) || deleting) return;
        adopt(k, obj, n);
        return;
    }
    if (deleting && !p->delete_seen) {
        p->delete_seen = true;
        const cJSON *g = t0_json_get(md, "deletionGracePeriodSeconds");
        if (cJSON_IsNumber(g)) p->grace_ms = (int64_t)g->valuedouble * 1000;
        pod_fire(p, PE_DELETE);
    }
}

/* ---- public API ------------------------------------------------------------------------------ */
t0_status kubelet_new(sim_loop *loop, kfake *api, const kubelet_opts *opts, kubelet **out, t0_err *err)
{
    kubelet *k = calloc(1, sizeof *k);
    if (!k) return t0_fail(err, T0_ENOMEM, "kubelet_new: out of memory");
    k->loop = loop;
    k->lp = sim_loop_port(loop);
    k->api = api;
    k->sys = kfake_system_port(api);
    if (opts) k->opts = *opts;
    kubelet_program_default(&k->default_prog);
    hmap_init(&k->pods);
    hmap_init(&k->unscheduled);
    hmap_init(&k->bots);
    hmap_init(&k->programs);
    t0_status st = k->sys.watch(k->sys.ctx, KUBE_POD, NULL, NULL, NULL, on_pod_event, k, &k->watch, err);
    if (st != T0_OK) {
        kubelet_destroy(k);
        return st;
    }
    *out = k;
    return T0_OK;
}

void kubelet_destroy(kubelet *k)
{
    if (!k) return;
    if (k->watch) k->sys.unwatch(k->sys.ctx, k->watch);
    /* collect first: pod_free removes from the map */
    size_t n = k->pods.count, i = 0;
    kpod **v = n ? malloc(n * sizeof *v) : NULL;
    for (hmap_entry *e = hmap_first(&k->pods); v && e; e = hmap_next(&k->pods, e)) v[i++] = e->val;
    for (size_t j = 0; j < i; j++) pod_free(v[j]);
    free(v);
    for (hmap_entry *e = hmap_first(&k->bots); e; e = hmap_next(&k->bots, e)) free(e->val);
    for (hmap_entry *e = hmap_first(&k->programs); e; e = hmap_next(&k->programs, e)) free(e->val);
    hmap_free(&k->pods);
    hmap_free(&k->unscheduled);
    hmap_free(&k->bots);
    hmap_free(&k->programs);
    for (size_t j = 0; j < k->nexecs; j++) free(k->execs[j].path);
    free(k->execs);
    for (size_t j = 0; j < k->nnodes; j++) {
        free(k->nodes[j]->name);
        free(k->nodes[j]);
    }
    free(k->nodes);
    free(k);
}


/* Bind every pod waiting for a node (in key order, so the order does not depend on the hash map). */
static void schedule_waiting(kubelet *k)
{
    size_t n = 0;
    if (!k->unscheduled.count) return;
    hmap_entry **v = hmap_sorted(&k->unscheduled, NULL, NULL, &n);
    char **keys = v ? malloc(n * sizeof *keys) : NULL; /* copies: try_schedule removes from the map */
    for (size_t j = 0; keys && j < n; j++) keys[j] = strdup(v[j]->key);
    free(v);
    if (!keys) return;
    for (size_t j = 0; j < n; j++) {
        char *slash = keys[j] ? strchr(keys[j], '/') : NULL;
        if (slash) {
            *slash = '\0';
            try_schedule(k, keys[j], slash + 1);
        }
        free(keys[j]);
    }
    free(keys);
}

t0_status kubelet_add_node(kubelet *k, const char *name, t0_err *err)
{
    if (node_by_name(k, name)) return t0_fail(err, T0_EEXIST, "node %s already exists", name);
    knode **nv = realloc(k->nodes, (k->nnodes + 1) * sizeof *nv);
    if (!nv) return t0_fail(err, T0_ENOMEM, "add node: out of memory");
    k->nodes = nv;
    knode *n = calloc(1, sizeof *n);
    if (!n || !(n->name = strdup(name))) {
        free(n);
        return t0_fail(err, T0_ENOMEM, "add node: out of memory");
    }
    n->ready = true;
    n->index = (int)k->nnodes + 1;
    k->nodes[k->nnodes++] = n;
    schedule_waiting(k);
    return T0_OK;
}

static bool pod_on_node(const hmap_entry *e, const void *node) { return ((const kpod *)e->val)->node == node; }

/* The pods of node N, sorted by key. Owned array (NULL when out of memory). */
static size_t pods_on(kubelet *k, knode *n, kpod ***out)
{
    size_t c = 0;
    hmap_entry **e = hmap_sorted(&k->pods, pod_on_node, n, &c);
    kpod **v = e ? malloc((c + 1) * sizeof *v) : NULL;
    for (size_t i = 0; v && i < c; i++) v[i] = e[i]->val;
    free(e);
    *out = v;
    return v ? c : 0;
}

t0_status kubelet_node_down(kubelet *k, const char *name, t0_err *err)
{
    knode *n = node_by_name(k, name);
    if (!n) return t0_fail(err, T0_ENOTFOUND, "node %s not found", name);
    n->ready = false;
    kpod **v;
    size_t c = pods_on(k, n, &v);
    for (size_t i = 0; i < c; i++) {
        snprintf(v[i]->message, sizeof v[i]->message, "node %s was lost", name);
        v[i]->abrupt = true;
        pod_fire(v[i], PE_EVICT);
    }
    free(v);
    return T0_OK;
}

t0_status kubelet_node_up(kubelet *k, const char *name, t0_err *err)
{
    knode *n = node_by_name(k, name);
    if (!n) return t0_fail(err, T0_ENOTFOUND, "node %s not found", name);
    n->ready = true;
    schedule_waiting(k);
    return T0_OK;
}

t0_status kubelet_evict(kubelet *k, const char *ns, const char *name, t0_err *err)
{
    char key[600];
    t0_strjoin(key, sizeof key, ns, "/", name);
    kpod *p = hmap_get(&k->pods, key);
    if (!p) return t0_fail(err, T0_ENOTFOUND, "pod %s is not run by this kubelet", key);
    snprintf(p->message, sizeof p->message, "The node was low on resource: memory.");
    p->abrupt = true;
    pod_fire(p, PE_EVICT);
    return T0_OK;
}

t0_status kubelet_set_program(kubelet *k, const char *bot_id, const kubelet_program *prog, t0_err *err)
{
    kubelet_program *c = malloc(sizeof *c), *old = NULL;
    if (!c) return t0_fail(err, T0_ENOMEM, "set program: out of memory");
    *c = *prog;
    if (c->nwrites > KUBELET_MAX_WRITES) c->nwrites = KUBELET_MAX_WRITES;
    if (c->nvolumes > KUBELET_MAX_VOLUMES) c->nvolumes = KUBELET_MAX_VOLUMES;
    if (c->ncode_files > KUBELET_MAX_CODE_FILES) c->ncode_files = KUBELET_MAX_CODE_FILES;
    if (hmap_put(&k->programs, bot_id, c, (void **)&old) != T0_OK) {
        free(c);
        return t0_fail(err, T0_ENOMEM, "set program: out of memory");
    }
    free(old);
    return T0_OK;
}

void kubelet_set_default_program(kubelet *k, const kubelet_program *p) { k->default_prog = *p; }

void kubelet_set_tracer(kubelet *k, const fsm_tracer *t)
{
    k->has_tracer = t && t->fn;
    if (k->has_tracer) k->tracer = *t;
}

bool kubelet_bot_observe(const kubelet *k, const char *bot_id, kubelet_bot_obs *out)
{
    const botrec *b = hmap_get(&k->bots, bot_id);
    if (!b) {
        memset(out, 0, sizeof *out);
        return false;
    }
    *out = b->obs;
    return true;
}

unsigned kubelet_max_bot_running(const kubelet *k) { return k->max_running; }

void kubelet_set_observer(kubelet *k, kubelet_event_fn fn, void *ud)
{
    k->observer = fn;
    k->observer_ud = ud;
}

int kubelet_pod_state(const kubelet *k, const char *ns, const char *name)
{
    char key[600];
    t0_strjoin(key, sizeof key, ns, "/", name);
    const kpod *p = hmap_get(&k->pods, key);
    return p ? p->state : -1;
}

size_t kubelet_pods(const kubelet *k) { return k->pods.count; }
