/* sync.c: `daemon sync`, the sidecar: the one executor of fsm_sync_table. Filesystem watches and loop timers
 * become the table's events; its effects (debounce, maximum wait, upload, backoff, final upload, report,
 * exit) run here on the ports, so that the simulator runs this code on a virtual clock. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "daemon/daemon.h"
#include "fsm/fsm.h"
#include "fsm/tables.h"

#define COMP "daemon-sync"
#define SNAP_RETRY_MS 35  /* a file was being written: look again after this long ... */
#define SNAP_TRIES 20     /* ... this many times before the upload counts as failed */
#define QCAP 16

struct dsync {
    dd_env env;
    dsync_opts o;
    dd_exit_fn exit_fn;
    void *exit_ud;
    dsync_state st;
    dsync_logs lg;
    char spool[1024];
    int state;    /* enum sync_state */
    bool dirty;   /* changes seen that no finished upload contains */
    int64_t first_change_ms; /* the first change not yet in an upload (0 = none) */
    fs_watch *w_state, *w_logs, *w_done;
    const char *done_path; /* --watch-done or --done-file: where the entrypoint writes the bot's exit */
    char done_dir[1024], done_name[256];
    uint64_t t_debounce, t_maxwait, t_scan, t_retry, t_job, t_deadline, t_done, t_exit, t_stopwait, t_logs;
    long backoff_ms;
    /* the upload in progress (one at a time) */
    bool job_active, job_final, job_state_done;
    bool job_ok;
    int job_tries;
    int64_t job_started_ms;
    t0_err job_err;
    /* the end: the wait for the bot, the final sync */
    bool final_started, deadline_set, deadline_passed, done_pushed, awaiting_bot;
    bool final_waiting; /* between two final attempts */
    int final_attempts;
    int64_t deadline_at;
    /* the end */
    bool exited;
    int exit_code;
    char exit_msg[640];
    uint64_t fp_shipped; /* metadata fingerprint of the state tree at the last successful upload */
    bool state_touched;  /* the state watch reported something since the last successful state sync */
    int queue[QCAP], qhead, qlen;
    bool stepping;
    long stop_wait_ms;
    uint64_t upload_failures, snapshot_retries, state_skips;
};

static int64_t now_ms(const dsync *s) { return s->env.loop->now_ms(s->env.loop->ctx); }

static uint64_t arm(dsync *s, int64_t delay, loop_fn fn)
{
    return s->env.loop->timer(s->env.loop->ctx, delay > 0 ? delay : 0, fn, s);
}

static void disarm(dsync *s, uint64_t *id)
{
    if (*id) s->env.loop->cancel(s->env.loop->ctx, *id);
    *id = 0;
}

/* ---- events -------------------------------------------------------------------------------------- */
static void run_effects(dsync *s, const fsm_result *r);

/* The bot still runs when its done file is configured and absent (the entrypoint removes it at start). */
static bool bot_running(const dsync *s)
{
    fs_stat sb;
    return s->done_path && s->env.fs->lstat(s->env.fs->ctx, s->done_path, &sb, NULL) == T0_ENOTFOUND;
}

static void step(dsync *s, int ev)
{
    sync_fsm_input in = {.dirty = s->dirty, .deadline_left = !s->deadline_passed,
                         .bot_running = ev == YE_TERM && bot_running(s)};
    fsm_result r;
    t0_err err = {0};
    t0_status st = fsm_step(&fsm_sync_table, s->state, ev, &in, s->o.trace_key, s->env.tracer, &r, &err);
    if (st != T0_OK) {
        T0_ERROR(COMP, "bot %s: sync FSM: %s", s->o.bot_id, err.msg);
        return;
    }
    if (r.kind == FSM_ROW_GO && r.from != r.to)
        T0_DEBUG(COMP, "bot %s: %s --%s--> %s", s->o.bot_id, fsm_state_name(&fsm_sync_table, r.from),
                 fsm_event_name(&fsm_sync_table, ev), fsm_state_name(&fsm_sync_table, r.to));
    s->state = r.to;
    run_effects(s, &r);
}

/* post: queue EV; the outermost post steps the table until the queue is empty. Effects may post (an
 * upload that finished at once), which only queues. */
static void post(dsync *s, int ev)
{
    if (s->exited) return;
    if (s->qlen == QCAP) return; /* events are hints; timers and scans raise them again */
    s->queue[(s->qhead + s->qlen++) % QCAP] = ev;
    if (s->stepping) return;
    s->stepping = true;
    while (s->qlen > 0 && !s->exited) {
        int e = s->queue[s->qhead];
        s->qhead = (s->qhead + 1) % QCAP;
        s->qlen--;
        step(s, e);
    }
    s->qlen = 0;
    s->stepping = false;
}

static void changed(dsync *s)
{
    s->dirty = true;
    /* A change reported while an upload runs may have happened as early as that upload's snapshot began
     * (notifications are read only between loop callbacks): the maximum wait counts from there. */
    if (!s->first_change_ms) s->first_change_ms = s->job_active ? s->job_started_ms : now_ms(s);
    post(s, YE_CHANGE);
}

/* ---- watches and scans --------------------------------------------------------------------------- */
static void check_done(dsync *s);

static void on_state_change(void *ud, const char *name)
{
    dsync *s = ud;
    if (name && !strncmp(name, DD_STATE_WORK, strlen(DD_STATE_WORK)) &&
        (name[strlen(DD_STATE_WORK)] == '\0' || name[strlen(DD_STATE_WORK)] == '/'))
        return; /* init's work directory */
    for (int i = 1; name && s->st.exclude[i]; i++)
        if (!strcmp(name, s->st.exclude[i])) return; /* our own spools */
    s->state_touched = true;
    changed(s);
}

/* New log lines make a change when the pacing ships them now; otherwise a timer looks again when the
 * maximum delay makes them due (lines that come meanwhile may make them due earlier). */
static void on_logs_due(void *ud);
static bool logs_due(dsync *s)
{
    long wait;
    if (dsync_logs_due(&s->lg, &wait)) return true;
    if (wait >= 0 && !s->t_logs) s->t_logs = arm(s, wait, on_logs_due);
    return false;
}

static void on_logs_due(void *ud)
{
    dsync *s = ud;
    s->t_logs = 0;
    if (logs_due(s)) changed(s);
}

static void on_logs_change(void *ud, const char *name)
{
    dsync *s = ud;
    if ((!name || !strcmp(name, "bot.log")) && logs_due(s)) changed(s);
}

static void on_done_change(void *ud, const char *name)
{
    dsync *s = ud;
    if (!name || !strcmp(name, s->done_name)) check_done(s);
}

static void watch(dsync *s, const char *dir, unsigned flags, fs_watch_fn fn, fs_watch **w)
{
    const fs_port *fs = s->env.fs;
    if (*w || !fs->watch) return;
    t0_err e = {0};
    if (fs->watch(fs->ctx, dir, flags, fn, s, w, &e) != T0_OK) {
        *w = NULL;
        T0_DEBUG(COMP, "bot %s: no change notification for %s (%s); the periodic scan covers it", s->o.bot_id, dir,
                 e.msg);
    }
}

static void watch_all(dsync *s)
{
    watch(s, s->o.state_path, FS_WATCH_TREE, on_state_change, &s->w_state);
    watch(s, s->o.logs_path, 0, on_logs_change, &s->w_logs);
    if (s->done_path) watch(s, s->done_dir, 0, on_done_change, &s->w_done);
}

/* A cheap fingerprint of the tree's metadata (names, sizes, mtimes, ctimes, inodes): the periodic scan
 * compares it with the one taken at the last successful upload to catch changes a watch missed. */
static uint64_t fp_mix(uint64_t h, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++) h = (h ^ ((const unsigned char *)p)[i]) * 1099511628211ull;
    return h;
}

static uint64_t fp_walk(const fs_port *fs, const char *dir, uint64_t h, int depth)
{
    fs_list l = {0};
    if (depth > 64 || fs->list(fs->ctx, dir, &l, NULL) != T0_OK) return fp_mix(h, "?", 1);
    uint64_t acc = 0; /* order-independent sum of per-entry hashes (listing order is arbitrary) */
    for (size_t i = 0; i < l.n; i++) {
        char p[4096];
        fs_stat sb;
        if (fs_join(p, sizeof p, dir, l.names[i], NULL) != T0_OK || fs->lstat(fs->ctx, p, &sb, NULL) != T0_OK) continue;
        uint64_t e = fp_mix(14695981039346656037ull, p, strlen(p));
        e = fp_mix(e, &sb.size, sizeof sb.size);
        e = fp_mix(e, &sb.mtime_ns, sizeof sb.mtime_ns);
        e = fp_mix(e, &sb.ctime_ns, sizeof sb.ctime_ns);
        e = fp_mix(e, &sb.ino, sizeof sb.ino);
        e = fp_mix(e, &sb.perm, sizeof sb.perm);
        if (sb.type == FS_DIR) e = fp_walk(fs, p, e, depth + 1);
        acc += e;
    }
    fs_list_free(&l);
    return fp_mix(h, &acc, sizeof acc);
}

static uint64_t tree_fingerprint(dsync *s) { return fp_walk(s->env.fs, s->o.state_path, 14695981039346656037ull, 0); }

static void on_scan(void *ud)
{
    dsync *s = ud;
    s->t_scan = arm(s, s->o.interval_ms, on_scan);
    watch_all(s); /* a directory that appeared since the start */
    if (logs_due(s) || tree_fingerprint(s) != s->fp_shipped) {
        s->state_touched = true; /* (or the logs: the upload looks at the state anyway) */
        s->dirty = true;
        if (!s->first_change_ms) s->first_change_ms = now_ms(s);
    }
    post(s, YE_SCAN);
}

/* The done file: with --watch-done it ends the sidecar; with --done-file only while SIGTERM waits for it. */
static void check_done(dsync *s)
{
    if (!s->done_path || s->final_started || s->done_pushed) return;
    if (!s->o.watch_done && !s->awaiting_bot) return;
    const fs_port *fs = s->env.fs;
    fs_stat sb;
    if (fs->lstat(fs->ctx, s->done_path, &sb, NULL) != T0_OK) return;
    char *text = NULL;
    int code = -1;
    if (fs_read_all(fs, s->done_path, 64, &text, NULL, NULL) == T0_OK && sscanf(text, "%d", &code) != 1) code = -1;
    free(text);
    if (code >= 0)
        T0_INFO(COMP, "bot %s: Done file detected (bot exit code %d), performing final sync", s->o.bot_id, code);
    else
        T0_INFO(COMP, "bot %s: Done file detected (exit code unreadable), performing final sync", s->o.bot_id);
    s->done_pushed = true;
    post(s, YE_DONE);
}

static void on_done_poll(void *ud)
{
    dsync *s = ud;
    s->t_done = s->o.done_poll_ms > 0 ? arm(s, s->o.done_poll_ms, on_done_poll) : 0;
    check_done(s);
}

/* ---- the upload job ------------------------------------------------------------------------------- *
 * One upload: the state (a snapshot, retried on a timer while a file is being written), then the logs.
 * It ends by posting upload_ok/upload_failed (final_ok/final_failed for the final sync). */
static void job_run(void *ud);

static void job_end(dsync *s)
{
    s->job_active = false;
    disarm(s, &s->t_job);
    if (!s->job_ok) s->upload_failures++;
    if (s->job_final) {
        if (!s->job_ok)
            T0_WARN(COMP, "bot %s: final sync attempt %d failed: %s", s->o.bot_id, s->final_attempts, s->job_err.msg);
        post(s, s->job_ok ? YE_FINAL_OK : YE_FINAL_FAIL);
    } else {
        if (!s->job_ok) s->dirty = true;
        post(s, s->job_ok ? YE_UPLOAD_OK : YE_UPLOAD_FAIL);
    }
}

static void job_fail(dsync *s, const t0_err *e)
{
    if (s->job_ok) s->job_err = *e;
    s->job_ok = false;
    T0_WARN(COMP, "bot %s: %s", s->o.bot_id, e->msg);
}

static void job_start(dsync *s, bool final)
{
    disarm(s, &s->t_job);
    s->job_active = true;
    s->job_started_ms = now_ms(s);
    s->job_final = final;
    s->job_state_done = false;
    s->job_ok = true;
    s->job_tries = 0;
    memset(&s->job_err, 0, sizeof s->job_err);
    job_run(s);
}

static void job_run(void *ud)
{
    dsync *s = ud;
    s->t_job = 0;
    if (s->job_final && s->o.deadline_hook) {
        long left = (long)(s->deadline_at - now_ms(s));
        s->o.deadline_hook(s->o.deadline_ud, left > 100 ? left : 100);
    }
    if (!s->job_state_done) {
        /* Nothing to do when the state watch reported nothing since the last successful state sync (it
         * reports lost events as a change), or when the tree's metadata is as it was then (that snapshot saw
         * every file settled for the racy window, so any later write shows in a size, time or inode) —
         * unless a final sync must still mark the object as the run's last state. */
        bool quiet = !s->state_touched && s->w_state && s->fp_shipped;
        uint64_t fp = quiet ? s->fp_shipped : tree_fingerprint(s);
        bool up = false;
        t0_err e = {0};
        bool same = fp == s->fp_shipped && (!s->job_final || s->st.remote.final);
        t0_status st = same ? T0_OK : dsync_state_sync(&s->st, now_ms(s), s->job_final, &up, &e);
        if (same) s->state_skips++;
        if (st == T0_ESTATE && ++s->job_tries < SNAP_TRIES) { /* a file is being written: look again soon */
            s->snapshot_retries++;
            T0_DEBUG(COMP, "bot %s: %s; retrying the snapshot in %d ms", s->o.bot_id, e.msg, SNAP_RETRY_MS);
            s->t_job = arm(s, SNAP_RETRY_MS, job_run);
            return;
        }
        s->job_state_done = true;
        if (st == T0_ESTATE) t0_fail(&e, T0_ESTATE, "%s (still changing after %d tries)", e.msg, SNAP_TRIES);
        if (st != T0_OK) {
            job_fail(s, &e);
        } else {
            s->fp_shipped = fp; /* what this snapshot (or its skip) covered: changes reported later set the flag */
            s->state_touched = false;
        }
    }
    /* Logs: several chunks per upload, bounded so that a huge backlog does not starve the loop; none when
     * the pacing holds them (this upload is for the state). */
    bool ship = s->job_final || logs_due(s), more = ship; /* (held: logs_due armed the timer) */
    for (int i = 0; i < (s->job_final ? 1000 : 8) && more; i++) {
        t0_err e = {0};
        if (dsync_logs_ship(&s->lg, s->job_final, &more, &e) != T0_OK) {
            job_fail(s, &e);
            break;
        }
        if (s->job_final && now_ms(s) >= s->deadline_at) break;
    }
    if (more && !s->job_final) s->dirty = true; /* the rest goes in the next upload */
    if (ship && !s->job_final) logs_due(s);    /* held by the pacing after all: the timer that ships them */
    if (more && s->job_final && s->job_ok) {
        t0_err e = {0};
        t0_fail(&e, T0_ETIMEOUT, "log sync: bytes of %s/bot.log still unshipped", s->o.logs_path);
        job_fail(s, &e);
    }
    job_end(s);
}

/* ---- effects -------------------------------------------------------------------------------------- */
static void on_debounce(void *ud)
{
    dsync *s = ud;
    s->t_debounce = 0;
    post(s, YE_QUIET);
}

static void on_max_wait(void *ud)
{
    dsync *s = ud;
    s->t_maxwait = 0;
    post(s, YE_MAX_WAIT);
}

static void on_retry(void *ud)
{
    dsync *s = ud;
    s->t_retry = 0;
    post(s, YE_RETRY);
}

static void on_deadline(void *ud)
{
    dsync *s = ud;
    s->t_deadline = 0;
    s->deadline_passed = true;
    if (s->final_waiting) { /* no time left for another attempt: the last one's failure stands */
        s->final_waiting = false;
        disarm(s, &s->t_job);
        post(s, YE_FINAL_FAIL);
    } else if (s->job_active && s->t_job) { /* a snapshot kept changing until the end */
        t0_err e = {0};
        t0_fail(&e, T0_ETIMEOUT, "the final sync's deadline (%ld ms) passed", s->o.final_timeout_ms);
        job_fail(s, &e);
        job_end(s);
    }
}

static void on_stop_wait(void *ud)
{
    dsync *s = ud;
    s->t_stopwait = 0;
    T0_WARN(COMP, "bot %s: the bot did not stop within %ld ms of SIGTERM; final sync now (what it writes later is lost "
                  "when it is killed)", s->o.bot_id, s->stop_wait_ms);
    post(s, YE_STOP_WAIT);
}

/* The final deadline counts from SIGTERM (the wait for the bot included) or from the done file. */
static void start_deadline(dsync *s)
{
    if (s->deadline_set) return;
    s->deadline_set = true;
    s->deadline_at = now_ms(s) + s->o.final_timeout_ms;
    s->t_deadline = arm(s, s->o.final_timeout_ms, on_deadline);
}

/* Nothing ordinary runs any more: timers of the watching life and an upload waiting for a snapshot retry. */
static void stop_ordinary(dsync *s)
{
    disarm(s, &s->t_logs);
    disarm(s, &s->t_debounce);
    disarm(s, &s->t_maxwait);
    disarm(s, &s->t_retry);
    disarm(s, &s->t_scan);
    if (s->job_active && !s->job_final) {
        disarm(s, &s->t_job);
        s->job_active = false; /* superseded by the final sync */
    }
}

static void on_final_retry(void *ud)
{
    dsync *s = ud;
    s->t_job = 0;
    s->final_waiting = false;
    job_start(s, true);
}

static void on_exit_cb(void *ud)
{
    dsync *s = ud;
    s->t_exit = 0;
    if (s->exit_fn) s->exit_fn(s->exit_ud, s->exit_code, s->exit_msg);
}

static void stop_all(dsync *s)
{
    disarm(s, &s->t_logs);
    disarm(s, &s->t_debounce);
    disarm(s, &s->t_maxwait);
    disarm(s, &s->t_scan);
    disarm(s, &s->t_retry);
    disarm(s, &s->t_job);
    disarm(s, &s->t_deadline);
    disarm(s, &s->t_done);
    disarm(s, &s->t_stopwait);
    const fs_port *fs = s->env.fs;
    if (fs->unwatch) {
        fs->unwatch(fs->ctx, s->w_state);
        fs->unwatch(fs->ctx, s->w_logs);
        fs->unwatch(fs->ctx, s->w_done);
    }
    s->w_state = s->w_logs = s->w_done = NULL;
}

static void finish(dsync *s, int code)
{
    s->exited = true;
    s->exit_code = code;
    stop_all(s);
    dd_termination_message(s->env.fs, s->o.termination_log, s->exit_msg);
    s->t_exit = arm(s, 0, on_exit_cb); /* on the loop, never from inside a call into us */
}

static void run_effects(dsync *s, const fsm_result *r)
{
    for (int i = 0; i < r->nfx && !s->exited; i++) {
        switch ((enum sync_effect)r->fx[i]) {
        case YFX_ARM_DEBOUNCE:
            disarm(s, &s->t_debounce);
            s->t_debounce = arm(s, s->o.debounce_ms, on_debounce);
            break;
        case YFX_ARM_MAX_WAIT:
            if (!s->t_maxwait) {
                int64_t since = s->first_change_ms ? s->first_change_ms : now_ms(s);
                s->t_maxwait = arm(s, since + s->o.max_wait_ms - now_ms(s), on_max_wait);
            }
            break;
        case YFX_UPLOAD:
            disarm(s, &s->t_debounce);
            disarm(s, &s->t_maxwait);
            s->dirty = false;
            s->first_change_ms = 0;
            job_start(s, false);
            break;
        case YFX_ARM_RETRY:
            disarm(s, &s->t_retry);
            s->t_retry = arm(s, s->backoff_ms, on_retry);
            T0_WARN(COMP, "bot %s: upload failed, retrying in %ld ms", s->o.bot_id, s->backoff_ms);
            s->backoff_ms = s->backoff_ms * 2 > s->o.retry_max_ms ? s->o.retry_max_ms : s->backoff_ms * 2;
            break;
        case YFX_RESET_BACKOFF:
            s->backoff_ms = s->o.retry_base_ms;
            disarm(s, &s->t_retry);
            break;
        case YFX_AWAIT_BOT:
            start_deadline(s);
            stop_ordinary(s);
            s->awaiting_bot = true;
            T0_INFO(COMP, "bot %s: termination requested while the bot runs: waiting up to %ld ms for %s before the "
                          "final sync", s->o.bot_id, s->stop_wait_ms, s->done_path);
            s->t_stopwait = arm(s, s->stop_wait_ms, on_stop_wait);
            break;
        case YFX_FINAL_UPLOAD:
            if (!s->final_started) {
                s->final_started = true;
                start_deadline(s);
                stop_ordinary(s);
                disarm(s, &s->t_done);
                disarm(s, &s->t_stopwait);
                s->job_active = false;
                s->final_attempts = 1;
                job_start(s, true);
            } else { /* a retry after a short pause; none when the deadline comes first */
                long pause = 100L << (s->final_attempts < 5 ? s->final_attempts : 5);
                long left = (long)(s->deadline_at - now_ms(s));
                disarm(s, &s->t_job);
                s->final_waiting = true;
                if (pause < left) {
                    s->final_attempts++;
                    s->t_job = arm(s, pause, on_final_retry);
                }
            }
            break;
        case YFX_REPORT_UNSHIPPED: {
            const dd_state_meta *m = &s->st.remote;
            snprintf(s->exit_msg, sizeof s->exit_msg,
                     "final sync FAILED after %d attempts in %ld ms: state or log bytes were not shipped; "
                     "%s/%s holds generation %" PRIu64 " (not marked final, so the next run can tell): %s",
                     s->final_attempts, s->o.final_timeout_ms, s->st.bucket, s->st.key, m->generation,
                     s->job_err.msg[0] ? s->job_err.msg : "unknown cause");
            T0_ERROR(COMP, "bot %s: %s", s->o.bot_id, s->exit_msg);
            break;
        }
        case YFX_EXIT_OK:
            if (!s->exit_msg[0])
                snprintf(s->exit_msg, sizeof s->exit_msg, "final sync done: state generation %" PRIu64 " and logs shipped",
                         s->st.remote.generation);
            T0_INFO(COMP, "bot %s: %s; exiting 0", s->o.bot_id, s->exit_msg);
            finish(s, 0);
            break;
        case YFX_NONE_:
        case YFX__COUNT:
            break;
        }
    }
}

/* ---- life ------------------------------------------------------------------------------------------ */
static void on_start(void *ud)
{
    dsync *s = ud;
    s->t_exit = 0;
    check_done(s);
    if (s->exited || s->final_started) return;
    /* start with a change: bytes left unshipped by a previous sidecar go out at once */
    changed(s);
}

t0_status dsync_start(const dd_env *env, const dsync_opts *o, dd_exit_fn exit_fn, void *ud, dsync **out,
                      t0_err *err)
{
    *out = NULL;
    if (!o->bot_id || !*o->bot_id) return t0_fail(err, T0_EINVAL, "sync: no bot id");
    dsync *s = calloc(1, sizeof *s);
    if (!s) return t0_fail(err, T0_ENOMEM, "sync: out of memory");
    s->env = *env;
    s->o = *o;
    s->exit_fn = exit_fn;
    s->exit_ud = ud;
    if (!s->o.trace_key) s->o.trace_key = o->bot_id;
    if (s->o.interval_ms <= 0) s->o.interval_ms = 60000;
    if (s->o.debounce_ms <= 0) s->o.debounce_ms = 200;
    if (s->o.max_wait_ms <= 0) s->o.max_wait_ms = 300;
    if (s->o.final_timeout_ms <= 0) s->o.final_timeout_ms = 25000;
    if (s->o.retry_base_ms <= 0) s->o.retry_base_ms = 1000;
    if (s->o.retry_max_ms <= 0) s->o.retry_max_ms = 30000;
    if (s->o.done_poll_ms == 0) s->o.done_poll_ms = 500;
    /* the wait for the bot leaves the final sync at least a second of its deadline */
    s->stop_wait_ms = s->o.done_wait_ms < s->o.final_timeout_ms - 1000 ? s->o.done_wait_ms : s->o.final_timeout_ms - 1000;
    if (s->stop_wait_ms < 0) s->stop_wait_ms = 0;
    s->done_path = o->watch_done ? o->watch_done : o->done_file;
    if (!s->o.spool_dir) s->o.spool_dir = o->logs_path;
    t0_status st = fs_join(s->spool, sizeof s->spool, s->o.spool_dir, ".the0-state-spool.tar.gz", err);
    if (st != T0_OK) {
        free(s);
        return st;
    }
    s->state = fsm_sync_table.initial;
    s->backoff_ms = s->o.retry_base_ms;
    dsync_state_init(&s->st, env->os, env->fs, o->state_bucket, o->bot_id, o->state_path, s->spool, &o->state_limits);
    dsync_logs_init(&s->lg, env->os, env->fs, env->loop, o->logs_bucket, o->bot_id, o->logs_path);
    s->lg.max_delay_ms = o->logs_max_delay_ms;
    if ((st = fs_join(s->lg.spool_path, sizeof s->lg.spool_path, s->o.spool_dir, DSYNC_LOGS_SPOOL, err)) != T0_OK) {
        free(s);
        return st;
    }
    dsync_state_exclude(&s->st, s->lg.spool_path);
    if (s->done_path) {
        snprintf(s->done_dir, sizeof s->done_dir, "%s", s->done_path);
        char *slash = strrchr(s->done_dir, '/');
        if (slash) {
            snprintf(s->done_name, sizeof s->done_name, "%s", slash + 1);
            if (slash == s->done_dir) slash[1] = '\0';
            else *slash = '\0';
        } else {
            snprintf(s->done_name, sizeof s->done_name, "%s", s->done_path);
            snprintf(s->done_dir, sizeof s->done_dir, ".");
        }
    }
    /* The bot makes the logs directory when it starts, which may be after us: a watch on a directory that
     * does not exist yet fails, and its lines would wait for the periodic scan. Make it first (best effort;
     * mkdir -p in the entrypoint does nothing then). */
    fs_mkdirs(env->fs, o->logs_path, 0755, NULL);
    watch_all(s);
    T0_INFO(COMP,
            "sync bot %s: state %s -> %s/%s/state.tar.gz, logs %s/bot.log -> %s/logs/%s/, spool %s, scan every %ld ms%s%s%s",
            o->bot_id, o->state_path, o->state_bucket, o->bot_id, o->logs_path, o->logs_bucket, o->bot_id, s->spool,
            s->o.interval_ms, o->watch_done ? ", done file " : o->done_file ? ", bot's done file " : "",
            s->done_path ? s->done_path : "", o->watch_done ? " (ends the sidecar)" : "");
    s->t_scan = arm(s, s->o.interval_ms, on_scan);
    if (s->done_path && s->o.done_poll_ms > 0) s->t_done = arm(s, s->o.done_poll_ms, on_done_poll);
    s->t_exit = arm(s, 0, on_start);
    *out = s;
    return T0_OK;
}

void dsync_term(dsync *s)
{
    if (!s || s->exited) return;
    T0_INFO(COMP, "bot %s: termination requested, performing final sync", s->o.bot_id);
    disarm(s, &s->t_exit); /* not started yet: the final sync covers it */
    post(s, YE_TERM);
}

void dsync_destroy(dsync *s)
{
    if (!s) return;
    stop_all(s);
    disarm(s, &s->t_exit);
    free(s);
}

void dsync_get_info(const dsync *s, dsync_info *out)
{
    memset(out, 0, sizeof *out);
    out->state = s->state;
    out->state_uploads = s->st.uploads;
    out->log_appends = s->lg.appends;
    out->upload_failures = s->upload_failures;
    out->snapshot_retries = s->snapshot_retries;
    out->state_skips = s->state_skips;
    out->remote = s->st.remote;
}
