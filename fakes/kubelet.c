/* kubelet.c: simulated nodes and kubelet: pods stepped through fsm_pod_table, sidecars through fsm_sync_table. */
#include "fakes/kubelet.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hmap.h"
#include "core/json.h"
#include "core/log.h"
#include "core/str.h"
#include "fsm/tables.h"

#define COMP "kubelet"
#define BACKOFF_BASE_MS 10000
#define BACKOFF_CAP_MS 300000
#define BACKOFF_RESET_MS 600000
#define STATE_BUCKET "bot-state"
#define LOG_BUCKET "bot-logs"

typedef struct knode {
    char *name;
    bool ready;
    unsigned npods, ipseq;
    int index;
} knode;

typedef struct botrec {
    kubelet_bot_obs obs;
    int init_failures_done;
} botrec;

/* One container's status as the kubelet reports it. */
typedef struct cstate {
    bool present, running, terminated, waiting;
    int64_t started_at, finished_at;
    int exit_code, restarts;
    /* reasons are string literals: the status written refers to them instead of copying them */
    const char *reason, *wait_reason;
    bool has_last;
    int last_exit;
    const char *last_reason;
    int64_t last_started, last_finished;
    int64_t backoff_ms;
    char name[64], image[160];
} cstate;

#define MAXQ 8
typedef struct kpod {
    kubelet *k;
    char *ns, *name, *key, *uid, *bot_id;
    char *sync_key, *state_key; /* "ns/name/sync" (the sync FSM's trace key), "ID/state.tar.gz" */
    int64_t log_day;            /* the day whose log object key log_key holds (-1: none yet) */
    char log_key[300];
    botrec *br;
    knode *node;
    int state, sync_state;
    bool detached, release_pending, restart_always, has_sync, delete_seen, accounted, abrupt, stepping, sync_stepping, final_waiting, final_pending;
    kubelet_program prog;
    cstate init, bot, sync;
    bool has_init;
    int pullfails;
    int64_t grace_ms, grace_end, start_time, final_deadline_at, sync_backoff_ms;
    const char *phase; /* a string literal */
    char reason[32], message[128], ip[32];
    /* timers */
    uint64_t t_main, t_bot_exit, t_log, t_write, t_term, t_grace, t_debounce, t_scan, t_retry, t_upload;
    size_t write_i;
    /* state dir (emptyDir) and bot.log */
    hmap sdir; /* key -> char* value */
    uint64_t state_seq, uploaded_seq;
    char *log;
    size_t log_len, log_cap, log_lines, shipped_off, shipped_lines;
    int q[MAXQ], nq, sq[MAXQ], nsq;
} kpod;

struct kubelet {
    sim_loop *loop;
    kfake *api;
    kube_port sys;
    objfake *fake;   /* the fake MinIO, or NULL */
    objstore port;   /* its port */
    objstore *store; /* &port, or NULL without a store */
    kubelet_opts opts;
    kube_watch *watch;
    hmap pods;        /* "ns/name" -> kpod */
    hmap unscheduled; /* "ns/name" -> (void*)1 */
    hmap bots;        /* bot id -> botrec */
    hmap programs;    /* bot id -> kubelet_program */
    knode **nodes;
    size_t nnodes;
    kubelet_program default_prog;
    fsm_tracer tracer;
    bool has_tracer;
    unsigned max_running;
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
static void sync_fire(kpod *p, int ev);
static void pod_release(kpod *p);
static void write_status(kpod *p);

static int64_t now(const kubelet *k) { return sim_loop_now(k->loop); }

static void cancel(kubelet *k, uint64_t *t)
{
    if (*t) sim_loop_cancel(k->loop, *t);
    *t = 0;
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

/* Once a pod can ship nothing more: count what it took with it. */
static void account_end(kpod *p)
{
    if (p->accounted || !p->br) return;
    p->accounted = true;
    /* a pod killed without a graceful stop (node loss, eviction) takes its unshipped bytes with its
     * emptyDir whatever the sidecar does: counted apart, not as a loss the invariant blames */
    if (p->state_seq > p->uploaded_seq) {
        if (p->abrupt)
            p->br->obs.state_lost_abrupt++;
        else
            p->br->obs.state_lost++;
    }
    if (p->log_lines > p->shipped_lines) {
        uint64_t n = p->log_lines - p->shipped_lines;
        if (p->abrupt)
            p->br->obs.log_lines_lost_abrupt += n;
        else
            p->br->obs.log_lines_lost += n;
    }
}

/* ---- containers ------------------------------------------------------------------------------- */
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
static int64_t c_backoff(kpod *p, cstate *c)
{
    int64_t ran = c->finished_at - c->started_at;
    if (!c->backoff_ms || ran >= BACKOFF_RESET_MS)
        c->backoff_ms = BACKOFF_BASE_MS;
    else
        c->backoff_ms = c->backoff_ms * 2 > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : c->backoff_ms * 2;
    (void)p;
    return c->backoff_ms;
}

static void on_bot_exit(void *ud);
static void on_bot_log(void *ud);
static void on_bot_write(void *ud);

static void arm_next_write(kpod *p)
{
    cancel(p->k, &p->t_write);
    if (p->write_i >= p->prog.nwrites) return;
    int64_t at = p->bot.started_at + p->prog.writes[p->write_i].at_ms;
    p->t_write = sim_loop_timer_at(p->k->loop, at, on_bot_write, p);
}

static void bot_start(kpod *p)
{
    c_start(p, &p->bot);
    p->br->obs.bot_starts++;
    p->br->obs.bot_running++;
    if (p->br->obs.bot_running > p->br->obs.max_bot_running) p->br->obs.max_bot_running = p->br->obs.bot_running;
    if (p->br->obs.bot_running > p->k->max_running) p->k->max_running = p->br->obs.bot_running;
    if (p->prog.exit_after_ms >= 0) p->t_bot_exit = sim_loop_timer(p->k->loop, p->prog.exit_after_ms, on_bot_exit, p);
    if (p->prog.log_every_ms > 0) p->t_log = sim_loop_timer(p->k->loop, p->prog.log_every_ms, on_bot_log, p);
    p->write_i = 0;
    arm_next_write(p);
}

/* bot_halt: the bot process ends (exit, SIGTERM handled, SIGKILL). No pod event here. */
static void bot_halt(kpod *p, int code, const char *reason)
{
    if (!p->bot.running) return;
    cancel(p->k, &p->t_bot_exit);
    cancel(p->k, &p->t_log);
    cancel(p->k, &p->t_write);
    cancel(p->k, &p->t_term);
    c_stop(p, &p->bot, code, reason);
    p->br->obs.bot_running--;
}

static void on_sync_scan(void *ud);

static void sync_change(kpod *p)
{
    if (!p->has_sync || !p->sync.running) return;
    if (!p->t_scan) p->t_scan = sim_loop_timer(p->k->loop, p->k->opts.sync_interval_ms, on_sync_scan, p);
    sync_fire(p, YE_CHANGE);
}

static void on_bot_write(void *ud)
{
    kpod *p = ud;
    p->t_write = 0;
    if (!p->bot.running) return;
    const char *key = p->prog.writes[p->write_i].key, *val = p->prog.writes[p->write_i].val;
    char *v = strdup(val), *old = NULL;
    if (v && hmap_put(&p->sdir, key, v, (void **)&old) == T0_OK) {
        free(old);
        p->state_seq = ++p->br->obs.state_written_seq;
    } else
        free(v);
    p->write_i++;
    arm_next_write(p);
    sync_change(p);
}

static void log_append(kpod *p, const char *line)
{
    size_t n = strlen(line);
    if (p->log_len + n + 1 > p->log_cap) {
        size_t nc = p->log_cap ? p->log_cap * 2 : 256;
        while (nc < p->log_len + n + 1) nc *= 2;
        char *nl = realloc(p->log, nc);
        if (!nl) return;
        p->log = nl;
        p->log_cap = nc;
    }
    memcpy(p->log + p->log_len, line, n);
    p->log_len += n;
    p->log[p->log_len] = '\0';
    p->log_lines++;
}

static void on_bot_log(void *ud)
{
    kpod *p = ud;
    p->t_log = 0;
    if (!p->bot.running) return;
    char line[160], n[21];
    t0_u64_dec(n, ++p->br->obs.log_lines_written);
    t0_strjoin(line, sizeof line, p->bot_id, " ", p->prog.log_text, " #", n, "\n");
    log_append(p, line);
    p->t_log = sim_loop_timer(p->k->loop, p->prog.log_every_ms, on_bot_log, p);
    sync_change(p);
}

static void on_bot_exit(void *ud)
{
    kpod *p = ud;
    p->t_bot_exit = 0;
    bot_halt(p, p->prog.exit_code, NULL);
    /* restartPolicy Never: the entrypoint's EXIT trap writes the done file; the sidecar sees it */
    if (!p->restart_always && p->has_sync && p->sync.running) sync_fire(p, YE_DONE);
    pod_fire(p, PE_BOT_EXIT);
}

/* ---- the sync sidecar -------------------------------------------------------------------------- */
static void sync_start(kpod *p)
{
    c_start(p, &p->sync);
    p->sync_state = fsm_sync_table.initial;
    p->sync_backoff_ms = 1000;
    p->final_waiting = p->final_pending = false;
    p->nsq = 0;
}

static void sync_halt(kpod *p, int code)
{
    if (!p->sync.running) return;
    cancel(p->k, &p->t_debounce);
    cancel(p->k, &p->t_scan);
    cancel(p->k, &p->t_retry);
    cancel(p->k, &p->t_upload);
    p->final_waiting = p->final_pending = false;
    c_stop(p, &p->sync, code, NULL);
}

/* day_key: the object key of P's log for the day of MS (logs/ID/YYYYMMDD.log, kept per pod: it changes once
 * a day) and the line stamp "[YYYY-MM-DD HH:MM:SS] ". */
static const char *day_key(kpod *p, int64_t ms, char stamp[24])
{
    char ts[32];
    sim_format_rfc3339(ms, ts, sizeof ts); /* 2026-01-05T00:00:00Z */
    int64_t day = ms >= 0 ? ms / 86400000 : -1 - (-ms - 1) / 86400000;
    if (day != p->log_day) {
        snprintf(p->log_key, sizeof p->log_key, "logs/%s/%.4s%.2s%.2s.log", p->bot_id, ts, ts + 5, ts + 8);
        p->log_day = day;
    }
    stamp[0] = '[';
    memcpy(stamp + 1, ts, 10);
    stamp[11] = ' ';
    memcpy(stamp + 12, ts + 11, 8);
    memcpy(stamp + 20, "] ", 3);
    return p->log_key;
}

/* The documented serialisation of the state map (see kubelet.h), in key order. Owned result. */
static char *state_serialise(kpod *p, size_t *len)
{
    size_t cap = 64;
    hmap_entry **v = hmap_sorted(&p->sdir, NULL, NULL, NULL);
    for (size_t j = 0; v && v[j]; j++) cap += strlen(v[j]->key) + strlen(v[j]->val) + 2;
    char *buf = v ? malloc(cap) : NULL;
    if (!buf) {
        free(v);
        return NULL;
    }
    size_t off = (size_t)snprintf(buf, cap, "t0-sim-state v1 seq=%llu\n", (unsigned long long)p->state_seq);
    for (size_t j = 0; v[j]; j++) off += (size_t)snprintf(buf + off, cap - off, "%s=%s\n", v[j]->key, (const char *)v[j]->val);
    free(v);
    *len = off;
    return buf;
}

/* upload: ship state (when changed) and new log bytes. Returns whether everything was shipped. */
static bool upload(kpod *p)
{
    kubelet *k = p->k;
    bool ok = true;
    t0_err err = {0};
    if (p->state_seq != p->uploaded_seq) {
        size_t len = 0;
        char *body = state_serialise(p, &len);
        bool done = false;
        if (body) {
            if (!k->store)
                done = true;
            else {
                objstore_body b = {.data = body, .len = len};
                done = k->store->ensure_bucket(k->store->ctx, STATE_BUCKET, &err) == T0_OK &&
                       k->store->put(k->store->ctx, STATE_BUCKET, p->state_key, &b, "application/gzip", NULL, &err) == T0_OK;
            }
        }
        free(body);
        if (done) {
            p->uploaded_seq = p->state_seq;
            p->br->obs.state_uploaded_seq = p->state_seq;
        } else
            ok = false;
    }
    if (p->shipped_off < p->log_len) {
        const char *chunk = p->log + p->shipped_off;
        size_t clen = p->log_len - p->shipped_off, lines = 0;
        for (size_t i = 0; i < clen; i++) lines += chunk[i] == '\n';
        bool done = false;
        if (!k->store)
            done = true;
        else {
            char stamp[24];
            const char *key = day_key(p, now(k), stamp);
            size_t s = 0, e = clen;
            while (s < e && isspace((unsigned char)chunk[s])) s++;
            while (e > s && isspace((unsigned char)chunk[e - 1])) e--;
            const char *parts[] = {stamp, chunk + s, "\n"};
            const size_t lens[] = {strlen(stamp), e - s, 1};
            t0_status st = k->store->ensure_bucket(k->store->ctx, LOG_BUCKET, &err);
            if (st == T0_OK) /* GET then PUT of the longer body, grown in place; a read error writes nothing */
                st = objfake_append(k->fake, LOG_BUCKET, key, parts, lens, 3, "text/plain", &err);
            done = st == T0_OK;
        }
        if (done) {
            p->shipped_off = p->log_len;
            p->shipped_lines += lines;
            p->br->obs.log_lines_shipped += lines;
        } else
            ok = false;
    }
    return ok;
}

static void on_upload(void *ud)
{
    kpod *p = ud;
    p->t_upload = 0;
    bool final = p->sync_state == SYNC_FINAL;
    bool ok = upload(p);
    if (final) {
        p->final_pending = false;
        sync_fire(p, ok ? YE_FINAL_OK : YE_FINAL_FAIL);
    } else
        sync_fire(p, ok ? YE_UPLOAD_OK : YE_UPLOAD_FAIL);
}

static void on_sync_debounce(void *ud)
{
    kpod *p = ud;
    p->t_debounce = 0;
    sync_fire(p, YE_QUIET);
}

/* The periodic scan is armed only while something is unshipped: an idle pod costs no events (in the
 * simulation no inotify event is lost, so a scan of a clean state dir could find nothing). */
static bool sync_dirty(const kpod *p) { return p->state_seq != p->uploaded_seq || p->shipped_off < p->log_len; }

static void on_sync_scan(void *ud)
{
    kpod *p = ud;
    p->t_scan = 0;
    sync_fire(p, YE_SCAN);
    if (p->sync.running && !p->release_pending && !p->t_scan && sync_dirty(p))
        p->t_scan = sim_loop_timer(p->k->loop, p->k->opts.sync_interval_ms, on_sync_scan, p);
}

static void on_sync_retry(void *ud)
{
    kpod *p = ud;
    p->t_retry = 0;
    sync_fire(p, YE_RETRY);
}

/* The final upload waits for the bot to stop (so its last writes are in the snapshot), but not past
 * 2 s before the grace period ends. */
static void final_go(kpod *p)
{
    p->final_waiting = false;
    if (!p->t_upload) {
        p->final_pending = true;
        p->t_upload = sim_loop_timer(p->k->loop, p->k->opts.upload_ms, on_upload, p);
    }
}

static void on_final_wait(void *ud)
{
    kpod *p = ud;
    p->t_retry = 0;
    if (p->final_waiting) final_go(p);
}

static void sync_effects(kpod *p, const fsm_result *r)
{
    kubelet *k = p->k;
    for (int i = 0; i < r->nfx; i++) {
        switch (r->fx[i]) {
        case YFX_ARM_DEBOUNCE:
            cancel(k, &p->t_debounce);
            p->t_debounce = sim_loop_timer(k->loop, k->opts.sync_debounce_ms, on_sync_debounce, p);
            break;
        case YFX_UPLOAD:
            if (!p->t_upload) p->t_upload = sim_loop_timer(k->loop, k->opts.upload_ms, on_upload, p);
            break;
        case YFX_ARM_RETRY:
            cancel(k, &p->t_retry);
            p->t_retry = sim_loop_timer(k->loop, p->sync_backoff_ms, on_sync_retry, p);
            p->sync_backoff_ms = p->sync_backoff_ms * 2 > 30000 ? 30000 : p->sync_backoff_ms * 2;
            break;
        case YFX_RESET_BACKOFF:
            p->sync_backoff_ms = 1000;
            break;
        case YFX_FINAL_UPLOAD:
            if (!p->final_deadline_at) p->final_deadline_at = now(k) + k->opts.final_deadline_ms;
            cancel(k, &p->t_debounce);
            cancel(k, &p->t_retry);
            if (p->t_upload && !p->final_pending) cancel(k, &p->t_upload); /* an ordinary upload in flight is superseded */
            if (p->bot.running) {
                int64_t limit = p->grace_end ? p->grace_end - 2000 : now(k) + k->opts.final_deadline_ms;
                p->final_waiting = true;
                if (limit > now(k)) {
                    p->t_retry = sim_loop_timer_at(k->loop, limit, on_final_wait, p);
                    break;
                }
            }
            if (r->from == SYNC_FINAL) { /* a retry after a failed final upload */
                cancel(k, &p->t_retry);
                p->final_waiting = true;
                p->t_retry = sim_loop_timer(k->loop, 1000, on_final_wait, p);
                break;
            }
            final_go(p);
            break;
        case YFX_EXIT_OK:
        case YFX_EXIT_FAIL:
            sync_halt(p, r->fx[i] == YFX_EXIT_OK ? 0 : 1);
            pod_fire(p, PE_SYNC_EXIT);
            break;
        default:
            break;
        }
    }
}

static void sync_fire(kpod *p, int ev)
{
    if (!p->sync.running) return;
    if (p->sync_stepping) {
        if (p->nsq < MAXQ) p->sq[p->nsq++] = ev;
        return;
    }
    p->sync_stepping = true;
    for (;;) {
        sync_fsm_input in = {.dirty = p->state_seq != p->uploaded_seq || p->shipped_off < p->log_len,
                             .deadline_left = p->final_deadline_at == 0 || now(p->k) < p->final_deadline_at};
        fsm_result r;
        t0_err err = {0};
        t0_status st = fsm_step(&fsm_sync_table, p->sync_state, ev, &in, p->sync_key, p->k->has_tracer ? &p->k->tracer : NULL,
                                &r, &err);
        if (st == T0_OK) {
            p->sync_state = r.to;
            sync_effects(p, &r);
        } else if (st != T0_EILLEGAL)
            T0_ERROR(COMP, "pod %s: sync step failed: %s", p->key, err.msg);
        if (!p->nsq || !p->sync.running || p->release_pending) break;
        ev = p->sq[0];
        memmove(p->sq, p->sq + 1, (size_t)--p->nsq * sizeof *p->sq);
    }
    p->nsq = 0;
    p->sync_stepping = false;
    if (p->release_pending) pod_release(p);
}

/* ---- init container ---------------------------------------------------------------------------- */
/* restore: the state object into the pod's state dir. Returns false on a download error. */
static bool restore_state(kpod *p)
{
    kubelet *k = p->k;
    if (!k->store) return true;
    objstore_buf b = {0};
    objstore_sink sink = {.buf = &b};
    t0_err err = {0};
    t0_status st = k->store->get(k->store->ctx, STATE_BUCKET, p->state_key, &sink, NULL, &err);
    if (st == T0_ENOTFOUND) {
        objstore_buf_free(&b);
        return true;
    }
    if (st != T0_OK) {
        objstore_buf_free(&b);
        return false;
    }
    char *line = b.data, *save = NULL;
    for (char *l = line ? strtok_r(line, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
        unsigned long long seq;
        if (sscanf(l, "t0-sim-state v1 seq=%llu", &seq) == 1) {
            p->state_seq = p->uploaded_seq = seq;
            continue;
        }
        char *eq = strchr(l, '=');
        if (!eq) continue;
        *eq = '\0';
        char *v = strdup(eq + 1), *old = NULL;
        if (v && hmap_put(&p->sdir, l, v, (void **)&old) == T0_OK)
            free(old);
        else
            free(v);
    }
    objstore_buf_free(&b);
    return true;
}

static void on_init_done(void *ud)
{
    kpod *p = ud;
    p->t_main = 0;
    bool fail = p->prog.init_failures < 0 || p->br->init_failures_done < p->prog.init_failures;
    if (fail)
        p->br->init_failures_done++;
    else if (!restore_state(p))
        fail = true;
    c_stop(p, &p->init, fail ? 1 : 0, NULL);
    pod_fire(p, fail ? PE_INIT_FAIL : PE_INIT_OK);
}

static void init_start(kpod *p)
{
    p->br->obs.init_runs++;
    if (!p->has_init) { /* no init container: done at once */
        p->t_main = sim_loop_timer(p->k->loop, 0, on_init_done, p);
        return;
    }
    c_start(p, &p->init);
    p->t_main = sim_loop_timer(p->k->loop, p->prog.init_ms, on_init_done, p);
}

/* ---- pod steps ------------------------------------------------------------------------------- */
static void on_backoff_done(void *ud)
{
    kpod *p = ud;
    p->t_main = 0;
    pod_fire(p, PE_BACKOFF_DONE);
}

static void on_grace(void *ud)
{
    kpod *p = ud;
    p->t_grace = 0;
    pod_fire(p, PE_GRACE_EXPIRED);
}

static bool all_stopped(const kpod *p) { return !p->bot.running && !p->sync.running && !p->init.running; }

static void check_all_stopped(kpod *p)
{
    if (p->state == PS_TERMINATING && all_stopped(p)) pod_fire(p, PE_ALL_STOPPED);
}

static void on_term_bot(void *ud)
{
    kpod *p = ud;
    p->t_term = 0;
    bot_halt(p, 143, "Error");
    if (p->final_waiting) final_go(p);
    check_all_stopped(p);
}

static void kill_all(kpod *p)
{
    bot_halt(p, 137, "Error");
    sync_halt(p, 137);
    if (p->init.running) c_stop(p, &p->init, 137, "Error");
    cancel(p->k, &p->t_main);
}

static void pod_detach(kpod *p);

static void pod_effects(kpod *p, const fsm_result *r, bool *remove)
{
    kubelet *k = p->k;
    for (int i = 0; i < r->nfx; i++) {
        switch (r->fx[i]) {
        case PFX_START_INIT:
        case PFX_RESTART_INIT:
            init_start(p);
            break;
        case PFX_START_MAIN:
            bot_start(p);
            if (p->has_sync) sync_start(p);
            break;
        case PFX_ARM_BACKOFF: {
            cstate *c = r->to == PS_INIT_BACKOFF ? &p->init : &p->bot;
            int64_t d = c_backoff(p, c);
            c_wait(c, "CrashLoopBackOff");
            cancel(k, &p->t_main);
            p->t_main = sim_loop_timer(k->loop, d, on_backoff_done, p);
            break;
        }
        case PFX_RESTART_BOT:
            bot_start(p);
            break;
        case PFX_RESTART_SYNC:
            sync_start(p);
            break;
        case PFX_SIGTERM:
            cancel(k, &p->t_main);
            if (p->init.running) c_stop(p, &p->init, 143, "Error");
            p->grace_end = now(k) + p->grace_ms;
            if (p->bot.running && p->prog.term_ms >= 0) p->t_term = sim_loop_timer(k->loop, p->prog.term_ms, on_term_bot, p);
            if (p->sync.running) sync_fire(p, YE_TERM);
            p->t_grace = sim_loop_timer(k->loop, p->grace_ms, on_grace, p);
            break;
        case PFX_SIGKILL:
            kill_all(p);
            break;
        case PFX_PHASE_RUNNING:
            p->phase = "Running";
            break;
        case PFX_PHASE_SUCCEEDED:
            p->phase = "Succeeded";
            account_end(p);
            break;
        case PFX_PHASE_FAILED:
            p->phase = "Failed";
            account_end(p);
            break;
        case PFX_MARK_EVICTED:
            p->phase = "Failed";
            snprintf(p->reason, sizeof p->reason, "Evicted");
            account_end(p);
            break;
        case PFX_REMOVE_OBJECT:
            *remove = true;
            break;
        default:
            break;
        }
    }
}

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
                            .sync_running = p->sync.running,
                            .all_ok = (!p->bot.terminated || p->bot.exit_code == 0) &&
                                      (!p->sync.terminated || p->sync.exit_code == 0)};
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
        kill_all(p);
        account_end(p);
        pod_detach(p); /* before the API call: its DELETED event must not find the pod */
        if (remove) {
            t0_err err = {0};
            kube_delete_opts now0 = {.grace_seconds = 0, .precondition_uid = p->uid};
            p->k->sys.remove(p->k->sys.ctx, KUBE_POD, p->ns, p->name, &now0, &err);
        }
        if (p->sync_stepping)
            p->release_pending = true; /* sync_fire is below us on the stack: it frees */
        else
            pod_release(p);
        return;
    }
    write_status(p);
    if (p->state == PS_TERMINATING && all_stopped(p) && !p->stepping) pod_fire(p, PE_ALL_STOPPED);
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
    bool ready = p->bot.running && (!p->has_sync || p->sync.running) && p->state == PS_RUNNING;
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
        cJSON_AddItemToArray(ics, c_status(p, &p->init, true));
    }
    cJSON *cs = T0_JSON_ARR(s, "containerStatuses");
    cJSON_AddItemToArray(cs, c_status(p, &p->bot, false));
    if (p->has_sync) cJSON_AddItemToArray(cs, c_status(p, &p->sync, false));
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
    if (p->bot.running && p->br) p->br->obs.bot_running--;
    p->bot.running = false;
    uint64_t *ts[] = {&p->t_main, &p->t_bot_exit, &p->t_log, &p->t_write, &p->t_term, &p->t_grace,
                      &p->t_debounce, &p->t_scan, &p->t_retry, &p->t_upload};
    for (size_t i = 0; i < T0_ARRAY_LEN(ts); i++) cancel(k, ts[i]);
    if (p->key && hmap_get(&k->pods, p->key) == p) hmap_del(&k->pods, p->key);
    if (p->node && p->node->npods) p->node->npods--;
}

static void pod_release(kpod *p)
{
    for (hmap_entry *e = hmap_first(&p->sdir); e; e = hmap_next(&p->sdir, e)) free(e->val);
    hmap_free(&p->sdir);
    free(p->log);
    free(p->ns);
    free(p->name);
    free(p->key);
    free(p->sync_key);
    free(p->state_key);
    free(p->uid);
    free(p->bot_id);
    free(p);
}

static void pod_free(kpod *p)
{
    pod_detach(p);
    pod_release(p);
}

static void copy_container(cstate *c, const cJSON *spec)
{
    c->present = true;
    snprintf(c->name, sizeof c->name, "%s", kfake_str(spec, "name") ? kfake_str(spec, "name") : "");
    snprintf(c->image, sizeof c->image, "%s", kfake_str(spec, "image") ? kfake_str(spec, "image") : "");
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
    const char *bid;
    const cJSON *labels = t0_json_get(t0_json_get(obj, "metadata"), "labels");
    const cJSON *bl = t0_json_get(labels, "the0.dev/bot-id");
    bid = cJSON_IsString(bl) ? bl->valuestring : p->name;
    p->bot_id = strdup(bid ? bid : "");
    p->key = malloc(strlen(p->ns ? p->ns : "") + strlen(p->name ? p->name : "") + 2);
    if (!p->ns || !p->name || !p->uid || !p->bot_id || !p->key || !(p->br = bot_of(k, p->bot_id))) {
        free(p->key);
        p->key = NULL;
        pod_free(p);
        return;
    }
    sprintf(p->key, "%s/%s", p->ns, p->name);
    if (asprintf(&p->sync_key, "%s/sync", p->key) < 0) p->sync_key = NULL;
    if (asprintf(&p->state_key, "%s/state.tar.gz", p->bot_id) < 0) p->state_key = NULL;
    if (!p->sync_key || !p->state_key) {
        pod_free(p);
        return;
    }
    p->log_day = -1;
    hmap_init(&p->sdir);
    const kubelet_program *prog = hmap_get(&k->programs, p->bot_id);
    p->prog = prog ? *prog : k->default_prog;
    const cJSON *spec = t0_json_get(obj, "spec");
    const char *rp = kfake_str(spec, "restartPolicy");
    p->restart_always = !rp || !strcmp(rp, "Always");
    const cJSON *inits = t0_json_get(spec, "initContainers");
    const cJSON *ctrs = t0_json_get(spec, "containers");
    if (cJSON_GetArraySize(inits) > 0) {
        p->has_init = true;
        copy_container(&p->init, cJSON_GetArrayItem(inits, 0));
    }
    copy_container(&p->bot, cJSON_GetArrayItem(ctrs, 0));
    const cJSON *c;
    cJSON_ArrayForEach(c, ctrs) if (c != cJSON_GetArrayItem(ctrs, 0) && kfake_str(c, "name") && !strcmp(kfake_str(c, "name"), "sync"))
    {
        p->has_sync = true;
        copy_container(&p->sync, c);
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
        if (p) pod_fire(p, PE_REMOVED);
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
t0_status kubelet_new(sim_loop *loop, kfake *api, objfake *store, const kubelet_opts *opts, kubelet **out, t0_err *err)
{
    kubelet *k = calloc(1, sizeof *k);
    if (!k) return t0_fail(err, T0_ENOMEM, "kubelet_new: out of memory");
    k->loop = loop;
    k->api = api;
    k->sys = kfake_system_port(api);
    k->fake = store;
    if (store) {
        k->port = objfake_port(store);
        k->store = &k->port;
    }
    if (opts) k->opts = *opts;
    if (k->opts.sync_interval_ms <= 0) k->opts.sync_interval_ms = 60000;
    if (k->opts.sync_debounce_ms <= 0) k->opts.sync_debounce_ms = 200;
    if (k->opts.final_deadline_ms <= 0) k->opts.final_deadline_ms = 90000;
    if (k->opts.upload_ms <= 0) k->opts.upload_ms = 20;
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

int kubelet_pod_state(const kubelet *k, const char *ns, const char *name)
{
    char key[600];
    t0_strjoin(key, sizeof key, ns, "/", name);
    const kpod *p = hmap_get(&k->pods, key);
    return p ? p->state : -1;
}

size_t kubelet_pods(const kubelet *k) { return k->pods.count; }
