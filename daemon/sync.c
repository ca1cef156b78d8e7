/* sync.c: `the0-runtime daemon sync`, the sidecar loop: inotify + timers feed events to fsm_sync_table,
 * whose effects (debounce, upload, backoff, final upload, exit) this file executes. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "adapters/s3.h"
#include "core/log.h"
#include "daemon/daemon.h"

#include "core/cli.h"
#include "fsm/fsm.h"
#include "fsm/tables.h"

#define COMP "daemon-sync"
#define MAX_WATCHES 1024

typedef struct loop {
    const dsync_opts *o;
    dsync_state st;
    dsync_logs lg;
    int state; /* FSM state */
    bool dirty;
    int ino, sfd;
    int wd_logs, wd_done;
    int wds[MAX_WATCHES];
    char *wpaths[MAX_WATCHES];
    int nwds;
    char done_dir[PATH_MAX], done_name[NAME_MAX + 1];
    int64_t debounce_at, scan_at, retry_at, done_check_at, final_deadline;
    long backoff_ms;
    int exit_code;
    bool exited, final_started, done_seen, done_pushed;
    int final_attempts;
    uint64_t fp_shipped; /* metadata fingerprint of the state tree at the last successful upload */
    int queue[16];
    int qhead, qlen;
} loop;

static void push(loop *L, int ev)
{
    if (L->qlen == (int)T0_ARRAY_LEN(L->queue)) return; /* events are hints; timers re-raise them */
    L->queue[(L->qhead + L->qlen++) % (int)T0_ARRAY_LEN(L->queue)] = ev;
}

static void watch_tree(loop *L, const char *dir)
{
    if (L->nwds >= MAX_WATCHES) return;
    int wd = inotify_add_watch(L->ino, dir,
                               IN_CLOSE_WRITE | IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                   IN_ATTRIB | IN_DELETE_SELF | IN_ONLYDIR);
    if (wd < 0) return;
    bool known = false;
    for (int i = 0; i < L->nwds; i++) known |= L->wds[i] == wd;
    if (!known) {
        L->wds[L->nwds] = wd;
        L->wpaths[L->nwds++] = strdup(dir);
    }
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat sb;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) watch_tree(L, p);
    }
    closedir(d);
}

static bool is_state_wd(loop *L, int wd, const char **path)
{
    for (int i = 0; i < L->nwds; i++)
        if (L->wds[i] == wd) {
            *path = L->wpaths[i];
            return true;
        }
    return false;
}

/* Read all pending inotify events; mark dirty / raise events. Returns whether anything relevant happened. */
static bool drain_inotify(loop *L)
{
    bool change = false;
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(L->ino, buf, sizeof buf);
        if (n <= 0) break;
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)p;
            p += sizeof *e + e->len;
            const char *dir;
            if (e->mask & IN_Q_OVERFLOW) {
                change = true;
                continue;
            }
            if (e->wd == L->wd_done && e->len && !strcmp(e->name, L->done_name)) L->done_seen = true;
            if (e->wd == L->wd_logs && e->len && !strcmp(e->name, "bot.log")) change = true;
            if (is_state_wd(L, e->wd, &dir)) {
                change = true;
                if ((e->mask & IN_ISDIR) && (e->mask & (IN_CREATE | IN_MOVED_TO)) && e->len) {
                    char p2[PATH_MAX];
                    snprintf(p2, sizeof p2, "%s/%s", dir, e->name);
                    watch_tree(L, p2);
                }
            }
        }
    }
    if (change) L->dirty = true;
    return change;
}

/* A cheap fingerprint of the tree's metadata (names, sizes, mtimes, ctimes, inodes): the periodic scan
 * compares it with the one taken at the last successful upload to catch changes inotify missed. */
static uint64_t fp_mix(uint64_t h, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++) h = (h ^ ((const unsigned char *)p)[i]) * 1099511628211ull;
    return h;
}

static uint64_t fp_walk(const char *dir, uint64_t h, int depth)
{
    DIR *d = opendir(dir);
    if (!d || depth > 64) {
        if (d) closedir(d);
        return fp_mix(h, "?", 1);
    }
    struct dirent *de;
    uint64_t acc = 0; /* order-independent sum of per-entry hashes (readdir order is arbitrary) */
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat sb;
        if (lstat(p, &sb) != 0) continue;
        uint64_t e = fp_mix(14695981039346656037ull, p, strlen(p));
        e = fp_mix(e, &sb.st_size, sizeof sb.st_size);
        e = fp_mix(e, &sb.st_mtim, sizeof sb.st_mtim);
        e = fp_mix(e, &sb.st_ctim, sizeof sb.st_ctim);
        e = fp_mix(e, &sb.st_ino, sizeof sb.st_ino);
        e = fp_mix(e, &sb.st_mode, sizeof sb.st_mode);
        if (S_ISDIR(sb.st_mode)) e = fp_walk(p, e, depth + 1);
        acc += e;
    }
    closedir(d);
    return fp_mix(h, &acc, sizeof acc);
}

static uint64_t tree_fingerprint(const char *dir)
{
    return fp_walk(dir, 14695981039346656037ull, 0);
}

static bool upload_all(loop *L, bool final, t0_err *err)
{
    bool ok = true, up = false, more = true;
    uint64_t fp = tree_fingerprint(L->o->state_path);
    t0_err e1 = {0}, e2 = {0};
    if (dsync_state_sync(&L->st, &up, &e1) != T0_OK) {
        ok = false;
        T0_WARN(COMP, "bot %s: %s", L->o->bot_id, e1.msg);
        *err = e1;
    } else {
        L->fp_shipped = fp;
    }
    /* Logs: several chunks per upload, bounded so a huge backlog does not starve the loop. */
    for (int i = 0; i < (final ? 1000 : 8) && more; i++) {
        if (dsync_logs_ship(&L->lg, final, &more, &e2) != T0_OK) {
            ok = false;
            T0_WARN(COMP, "bot %s: %s", L->o->bot_id, e2.msg);
            *err = e2;
            break;
        }
        if (final && L->final_deadline && dd_now_ms() >= L->final_deadline) break;
    }
    if (ok && more && !final) L->dirty = true; /* the rest goes in the next upload */
    if (final && more) ok = false;
    return ok;
}

static void run_effects(loop *L, const fsm_result *r);

static void step(loop *L, int ev)
{
    sync_fsm_input in = {.dirty = L->dirty,
                         .deadline_left = L->final_deadline == 0 || dd_now_ms() < L->final_deadline};
    fsm_result r;
    t0_err err = {0};
    t0_status s = fsm_step(&fsm_sync_table, L->state, ev, &in, L->o->bot_id, NULL, &r, &err);
    if (s != T0_OK) {
        T0_ERROR(COMP, "bot %s: sync FSM: %s", L->o->bot_id, err.msg);
        return;
    }
    if (r.kind == FSM_ROW_GO && r.from != r.to)
        T0_DEBUG(COMP, "bot %s: %s --%s--> %s", L->o->bot_id, fsm_state_name(&fsm_sync_table, r.from),
                 fsm_event_name(&fsm_sync_table, ev), fsm_state_name(&fsm_sync_table, r.to));
    L->state = r.to;
    run_effects(L, &r);
}

static void run_effects(loop *L, const fsm_result *r)
{
    for (int i = 0; i < r->nfx; i++) {
        t0_err err = {0};
        switch (r->fx[i]) {
        case YFX_ARM_DEBOUNCE:
            L->debounce_at = dd_now_ms() + L->o->debounce_ms;
            break;
        case YFX_UPLOAD: {
            L->dirty = false;
            bool ok = upload_all(L, false, &err);
            drain_inotify(L); /* changes made during the upload are still unshipped */
            if (!ok) L->dirty = true;
            push(L, ok ? YE_UPLOAD_OK : YE_UPLOAD_FAIL);
            break;
        }
        case YFX_ARM_RETRY:
            L->retry_at = dd_now_ms() + L->backoff_ms;
            T0_WARN(COMP, "bot %s: upload failed, retrying in %ld ms", L->o->bot_id, L->backoff_ms);
            L->backoff_ms = L->backoff_ms * 2 > L->o->retry_max_ms ? L->o->retry_max_ms : L->backoff_ms * 2;
            break;
        case YFX_RESET_BACKOFF:
            L->backoff_ms = L->o->retry_base_ms;
            L->retry_at = 0;
            break;
        case YFX_FINAL_UPLOAD: {
            if (!L->final_started) {
                L->final_started = true;
                L->final_deadline = dd_now_ms() + L->o->final_timeout_ms;
            } else { /* a retry: short pause, never past the deadline */
                long left = (long)(L->final_deadline - dd_now_ms());
                long pause = 100L << (L->final_attempts < 5 ? L->final_attempts : 5);
                dd_sleep_ms(pause < left ? pause : left - 1);
            }
            L->final_attempts++;
            long left = (long)(L->final_deadline - dd_now_ms());
            if (L->o->deadline_hook) L->o->deadline_hook(L->o->deadline_ud, left > 100 ? left : 100);
            bool ok = left > 0 && upload_all(L, true, &err);
            if (!ok && left > 0)
                T0_WARN(COMP, "bot %s: final sync attempt %d failed: %s", L->o->bot_id, L->final_attempts, err.msg);
            push(L, ok ? YE_FINAL_OK : YE_FINAL_FAIL);
            break;
        }
        case YFX_EXIT_OK:
            T0_INFO(COMP, "bot %s: final sync done; state and logs shipped", L->o->bot_id);
            L->exit_code = 0;
            L->exited = true;
            break;
        case YFX_EXIT_FAIL:
            T0_ERROR(COMP, "bot %s: final sync FAILED within %ld ms: state or log bytes were not shipped", L->o->bot_id,
                     L->o->final_timeout_ms);
            L->exit_code = 1;
            L->exited = true;
            break;
        default:
            break;
        }
    }
}

static void drain_queue(loop *L)
{
    while (L->qlen > 0 && !L->exited) {
        int ev = L->queue[L->qhead];
        L->qhead = (L->qhead + 1) % (int)T0_ARRAY_LEN(L->queue);
        L->qlen--;
        step(L, ev);
    }
}

static void check_done(loop *L)
{
    if (!L->o->watch_done || L->final_started || L->done_pushed) return;
    struct stat sb;
    if (!L->done_seen && stat(L->o->watch_done, &sb) != 0) return;
    if (stat(L->o->watch_done, &sb) != 0) { /* inotify saw a create but the file is gone again */
        L->done_seen = false;
        return;
    }
    FILE *f = fopen(L->o->watch_done, "r");
    int code = -1;
    if (f) {
        if (fscanf(f, "%d", &code) != 1) code = -1;
        fclose(f);
    }
    if (code >= 0)
        T0_INFO(COMP, "bot %s: Done file detected (bot exit code %d), performing final sync", L->o->bot_id, code);
    else
        T0_INFO(COMP, "bot %s: Done file detected (exit code unreadable), performing final sync", L->o->bot_id);
    L->done_pushed = true;
    push(L, YE_DONE);
}

int dsync_run(const objstore *os, const dsync_opts *o)
{
    loop *L = calloc(1, sizeof *L);
    if (!L) return 1;
    L->o = o;
    L->state = fsm_sync_table.initial;
    L->backoff_ms = o->retry_base_ms;
    L->wd_logs = L->wd_done = -1;
    dsync_state_init(&L->st, os, o->state_bucket, o->bot_id, o->state_path, &o->state_limits);
    dsync_logs_init(&L->lg, os, o->logs_bucket, o->bot_id, o->logs_path);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    L->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    L->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (L->ino >= 0) {
        watch_tree(L, o->state_path);
        L->wd_logs = inotify_add_watch(L->ino, o->logs_path, IN_MODIFY | IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO);
        if (o->watch_done) {
            snprintf(L->done_dir, sizeof L->done_dir, "%s", o->watch_done);
            char *slash = strrchr(L->done_dir, '/');
            if (slash) {
                snprintf(L->done_name, sizeof L->done_name, "%s", slash + 1);
                if (slash == L->done_dir) slash[1] = '\0';
                else *slash = '\0';
            } else {
                snprintf(L->done_name, sizeof L->done_name, "%s", o->watch_done);
                snprintf(L->done_dir, sizeof L->done_dir, ".");
            }
            L->wd_done = inotify_add_watch(L->ino, L->done_dir, IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO);
        }
    } else {
        T0_WARN(COMP, "inotify unavailable (%s); relying on the periodic scan", strerror(errno));
    }
    T0_INFO(COMP, "sync bot %s: state %s -> %s/%s/state.tar.gz, logs %s/bot.log -> %s/logs/%s/, scan every %ld ms%s%s",
            o->bot_id, o->state_path, o->state_bucket, o->bot_id, o->logs_path, o->logs_bucket, o->bot_id,
            o->interval_ms, o->watch_done ? ", done file " : "", o->watch_done ? o->watch_done : "");

    int64_t now = dd_now_ms();
    L->scan_at = now + o->interval_ms;
    if (o->watch_done) L->done_check_at = now + 500;
    /* Start with a change: unshipped bytes from before a restart go out at once. */
    L->dirty = true;
    push(L, YE_CHANGE);
    drain_queue(L);

    while (!L->exited) {
        now = dd_now_ms();
        int64_t next = L->scan_at;
        if (L->debounce_at && L->debounce_at < next) next = L->debounce_at;
        if (L->retry_at && L->retry_at < next) next = L->retry_at;
        if (L->done_check_at && L->done_check_at < next) next = L->done_check_at;
        int timeout = next > now ? (int)(next - now) : 0;
        struct pollfd p[2] = {{.fd = L->ino, .events = POLLIN}, {.fd = L->sfd, .events = POLLIN}};
        int n = poll(p, 2, timeout);
        if (n < 0 && errno != EINTR) break;
        if (p[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(L->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                T0_INFO(COMP, "bot %s: signal %u received, performing final sync", o->bot_id, si.ssi_signo);
                push(L, YE_TERM);
            }
        }
        if ((p[0].revents & POLLIN) && drain_inotify(L)) push(L, YE_CHANGE);
        if (L->done_seen) check_done(L);
        now = dd_now_ms();
        if (L->done_check_at && now >= L->done_check_at) {
            L->done_check_at = now + 500;
            check_done(L);
        }
        if (L->debounce_at && now >= L->debounce_at) {
            L->debounce_at = 0;
            push(L, YE_QUIET);
        }
        if (L->retry_at && now >= L->retry_at) {
            L->retry_at = 0;
            push(L, YE_RETRY);
        }
        if (now >= L->scan_at) {
            L->scan_at = now + o->interval_ms;
            if (dsync_logs_pending(&L->lg)) L->dirty = true;
            if (tree_fingerprint(o->state_path) != L->fp_shipped) L->dirty = true;
            push(L, YE_SCAN);
        }
        drain_queue(L);
    }
    int code = L->exit_code;
    for (int i = 0; i < L->nwds; i++) free(L->wpaths[i]);
    if (L->ino >= 0) close(L->ino);
    if (L->sfd >= 0) close(L->sfd);
    free(L);
    return code;
}

/* ---- CLI ----------------------------------------------------------------------------------------------- */

static const char SYNC_ABOUT[] =
    "Ships the state directory to bot-state/<id>/state.tar.gz when its content changes (inotify, 200 ms debounce,\n"
    "periodic scan) and appends new bot.log bytes to bot-logs/logs/<id>/<YYYYMMDD>.log exactly once. On the done\n"
    "file or SIGTERM/SIGINT: a final sync within --final-timeout, then exit 0 (1 when something could not be\n"
    "shipped in time).";
static const char SYNC_FOOTER[] =
    "environment: MINIO_* as for init; the logs bucket is bot-logs; THE0_RETRY_BASE_MS.\n"
    "exit codes: 0 everything shipped, 1 otherwise (usage errors too, as the reference)";

static void cap_timeout(void *ud, long remaining_ms)
{
    s3_client_set_timeout(ud, remaining_ms);
}

int dsync_main(int argc, char **argv)
{
    const char *bot_id = "", *state = "/state", *logs = "/var/the0/logs", *done = "";
    int64_t iv = 60000, ft = 25000;
    const cli_opt opts[] = {
        {"bot-id", 0, CLI_STR, &bot_id, "the bot's id (required)"},
        {"state-path", 0, CLI_STR, &state, "the state directory", .arg = "DIR"},
        {"logs-path", 0, CLI_STR, &logs, "the directory of bot.log", .arg = "DIR"},
        {"interval", 0, CLI_DUR, &iv, "periodic scan", .min = 1, .max = 86400000},
        {"watch-done", 0, CLI_STR, &done, "stop after a final sync once this file exists", .arg = "PATH"},
        {"final-timeout", 0, CLI_DUR, &ft, "bound of the final sync", .min = 1, .max = 3600000},
    };
    const cli_cmd cmd = {"the0-runtime daemon sync", "--bot-id ID [flags]", SYNC_ABOUT, opts, T0_ARRAY_LEN(opts), 0, 0,
                         SYNC_FOOTER, 1};
    int first, pr = cli_parse(&cmd, argc, argv, &first);
    if (pr != CLI_CONTINUE) return pr;
    if (!*bot_id) {
        fprintf(stderr, "Error: required flag(s) \"bot-id\" not set\n");
        return 1;
    }
    s3_config cfg;
    s3_client *c = NULL;
    if (!dd_open_s3(&cfg, &c)) return 1;
    const char *rb = getenv("THE0_RETRY_BASE_MS");
    dsync_opts o = {
        .bot_id = bot_id,
        .state_path = *state ? state : "/state",
        .logs_path = *logs ? logs : "/var/the0/logs",
        .watch_done = *done ? done : NULL,
        .state_bucket = cfg.state_bucket,
        .logs_bucket = "bot-logs", /* hard-coded, reference §9.1 */
        .state_limits = {.max_total = cfg.max_state_size, .max_file = cfg.max_state_file_size, .max_entries = 100000},
        .interval_ms = (long)iv,
        .debounce_ms = 200,
        .final_timeout_ms = (long)ft,
        .retry_base_ms = rb && atol(rb) > 0 ? atol(rb) : 1000,
        .retry_max_ms = 30000,
        .deadline_hook = cap_timeout,
        .deadline_ud = c,
    };
    objstore os = s3_objstore(c);
    int code = dsync_run(&os, &o);
    s3_client_free(c);
    s3_config_free(&cfg);
    return code;
}
