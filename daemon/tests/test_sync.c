/* test_sync.c: state and log shipping against the in-memory store: change detection, deletions, exactly-once
 * log appends across restarts and ambiguous failures, faults (S3 and POSIX), and the FSM-driven loop. */
#include <criterion/criterion.h>
#include <fiu-control.h>
#include <fiu.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "helpers.h"
#include "memstore.h"

static const dar_limits lim = {.max_total = 64 << 20, .max_file = 10 << 20, .max_entries = 1000};

static char *restore(memstore *m, const char *d, const char *name)
{
    char *dest = malloc(700), arch[700];
    snprintf(dest, 700, "%s/%s", d, name);
    mkdir(dest, 0755);
    memobj *o = memstore_find(m, "bot-state", "b1/state.tar.gz");
    cr_assert_not_null(o, "no state object");
    snprintf(arch, sizeof arch, "%s/%s.tar.gz", d, name);
    FILE *f = fopen(arch, "wb");
    fwrite(o->data.data, 1, o->data.len, f);
    fclose(f);
    t0_err e = {0};
    cr_assert_eq(dar_extract(arch, DAR_TARGZ, dest, &lim, NULL, &e), T0_OK, "%s", e.msg);
    return dest;
}

Test(sync_state, uploads_only_on_content_change_and_propagates_deletions)
{
    char *d = th_tmpdir(), st[600], p[700];
    snprintf(st, sizeof st, "%s/state", d);
    mkdir(st, 0755);
    memstore m = {0};
    objstore os = memstore_port(&m);
    dsync_state s;
    dsync_state_init(&s, &os, "bot-state", "b1", st, &lim);
    bool up;
    t0_err e = {0};
    cr_assert_eq(dsync_state_sync(&s, &up, &e), T0_OK, "%s", e.msg);
    cr_assert(!up, "empty state next to no object must not upload");
    snprintf(p, sizeof p, "%s/portfolio.json", st);
    th_write(p, "{\"btc\":1}");
    cr_assert_eq(dsync_state_sync(&s, &up, &e), T0_OK, "%s", e.msg);
    cr_assert(up);
    cr_assert_eq(dsync_state_sync(&s, &up, &e), T0_OK);
    cr_assert(!up, "unchanged content re-uploaded");
    sleep(1);
    th_write(p, "{\"btc\":1}"); /* same bytes, new mtime */
    cr_assert_eq(dsync_state_sync(&s, &up, &e), T0_OK);
    cr_assert(!up, "a touch without a content change re-uploaded");
    /* a restarted sidecar next to the restored state does not upload either */
    dsync_state s2;
    dsync_state_init(&s2, &os, "bot-state", "b1", st, &lim);
    cr_assert_eq(dsync_state_sync(&s2, &up, &e), T0_OK);
    cr_assert(!up, "restart re-uploaded identical state");
    /* deletion propagates: an empty archive replaces the old one */
    unlink(p);
    cr_assert_eq(dsync_state_sync(&s, &up, &e), T0_OK, "%s", e.msg);
    cr_assert(up, "deleting the only file must upload");
    char *dest = restore(&m, d, "again");
    cr_assert_eq(th_count_files(dest), 0, "deleted file came back: %d files restored", th_count_files(dest));
    free(dest);
    memstore_free(&m);
    th_rmrf(d);
    free(d);
}

Test(sync_state, failed_put_is_retried_and_enospc_loses_nothing)
{
    fiu_init(0);
    char *d = th_tmpdir(), st[600], p[700];
    snprintf(st, sizeof st, "%s/state", d);
    mkdir(st, 0755);
    snprintf(p, sizeof p, "%s/a.json", st);
    th_write(p, "A");
    memstore m = {0};
    objstore os = memstore_port(&m);
    dsync_state s;
    dsync_state_init(&s, &os, "bot-state", "b1", st, &lim);
    bool up;
    t0_err e = {0};
    m.fail_put = 1;
    m.fail_status = T0_EINTERNAL;
    cr_assert_eq(dsync_state_sync(&s, &up, &e), T0_EINTERNAL, "%s", e.msg);
    fiu_enable("daemon/snapshot/write", 1, NULL, 0); /* ENOSPC on the temporary archive */
    t0_status r = dsync_state_sync(&s, &up, &e);
    fiu_disable("daemon/snapshot/write");
    cr_assert_eq(r, T0_EIO, "got %s: %s", t0_status_name(r), e.msg);
    cr_assert_null(memstore_find(&m, "bot-state", "b1/state.tar.gz"), "a broken archive was uploaded");
    cr_assert_eq(dsync_state_sync(&s, &up, &e), T0_OK, "%s", e.msg);
    cr_assert(up);
    char *dest = restore(&m, d, "r");
    snprintf(p, sizeof p, "%s/a.json", dest);
    char *got = th_read(p, NULL);
    cr_assert_str_eq(got ? got : "(missing)", "A");
    free(got);
    free(dest);
    memstore_free(&m);
    th_rmrf(d);
    free(d);
}

/* ---- logs ------------------------------------------------------------------------------------------- */

static time_t fixed_now(void *ud)
{
    return *(time_t *)ud;
}

typedef struct logfix {
    char *d, logs[600], log[700];
    memstore m;
    objstore os;
    time_t now;
} logfix;

static void logfix_init(logfix *f)
{
    memset(f, 0, sizeof *f);
    setenv("TZ", "UTC", 1);
    tzset();
    f->d = th_tmpdir();
    snprintf(f->logs, sizeof f->logs, "%s/logs", f->d);
    mkdir(f->logs, 0755);
    snprintf(f->log, sizeof f->log, "%s/bot.log", f->logs);
    f->os = memstore_port(&f->m);
    f->now = 1795600000; /* 2026-11-25 09:46:40 UTC */
}

static void logs_new(logfix *f, dsync_logs *l)
{
    dsync_logs_init(l, &f->os, "bot-logs", "b1", f->logs);
    l->now = fixed_now;
    l->now_ud = &f->now;
}

static void append(logfix *f, const char *s)
{
    FILE *o = fopen(f->log, "a");
    fputs(s, o);
    fclose(o);
}

static const char *day_obj(logfix *f)
{
    char key[200];
    dsync_logs_key("b1", f->now, key, sizeof key);
    memobj *o = memstore_find(&f->m, "bot-logs", key);
    return o ? o->data.data : "";
}

static void ship_all(dsync_logs *l, bool final)
{
    bool more = true;
    t0_err e = {0};
    for (int i = 0; i < 10 && more; i++) cr_assert_eq(dsync_logs_ship(l, final, &more, &e), T0_OK, "%s", e.msg);
}

Test(sync_logs, reference_format_and_key)
{
    logfix f;
    logfix_init(&f);
    char key[200];
    dsync_logs_key("b1", f.now, key, sizeof key);
    cr_assert_str_eq(key, "logs/b1/20261125.log");
    dsync_logs l;
    logs_new(&f, &l);
    append(&f, "  line1\nline2\n\n");
    ship_all(&l, false);
    cr_assert_str_eq(day_obj(&f), "[2026-11-25 09:46:40] line1\nline2\n");
    memstore_free(&f.m);
    th_rmrf(f.d);
    free(f.d);
}

Test(sync_logs, restart_neither_loses_nor_duplicates)
{
    logfix f;
    logfix_init(&f);
    dsync_logs l1;
    logs_new(&f, &l1);
    append(&f, "a1\na2\n");
    ship_all(&l1, false);
    append(&f, "a3\n");
    dsync_logs l2; /* a new process: state only from the offset file */
    logs_new(&f, &l2);
    ship_all(&l2, false);
    cr_assert_str_eq(day_obj(&f), "[2026-11-25 09:46:40] a1\na2\n[2026-11-25 09:46:40] a3\n");
    memstore_free(&f.m);
    th_rmrf(f.d);
    free(f.d);
}

static void fail_offset_writes(memstore *m)
{
    (void)m;
    fiu_enable("daemon/state/write", 1, NULL, 0); /* the commit after the PUT fails (crash stand-in) */
}

Test(sync_logs, crash_between_put_and_offset_write_is_idempotent)
{
    fiu_init(0);
    logfix f;
    logfix_init(&f);
    dsync_logs l1;
    logs_new(&f, &l1);
    append(&f, "b1\n");
    ship_all(&l1, false);
    append(&f, "b2\n");
    f.m.after_put = fail_offset_writes;
    bool more;
    t0_err e = {0};
    cr_assert_eq(dsync_logs_ship(&l1, false, &more, &e), T0_OK, "%s", e.msg); /* the object is right */
    fiu_disable("daemon/state/write");
    f.m.after_put = NULL;
    char *off = th_read(l1.offset_path, NULL);
    cr_assert(off && strstr(off, "logs/b1/20261125.log"), "offset file should still name the pending append: %s",
              off ? off : "(none)");
    free(off);
    dsync_logs l2; /* the process died here; its successor reads the stale offset file */
    logs_new(&f, &l2);
    ship_all(&l2, false);
    append(&f, "b3\n");
    ship_all(&l2, false);
    cr_assert_str_eq(day_obj(&f),
                     "[2026-11-25 09:46:40] b1\n[2026-11-25 09:46:40] b2\n[2026-11-25 09:46:40] b3\n");
    memstore_free(&f.m);
    th_rmrf(f.d);
    free(f.d);
}

Test(sync_logs, ambiguous_put_failure_is_not_shipped_twice)
{
    logfix f;
    logfix_init(&f);
    dsync_logs l;
    logs_new(&f, &l);
    append(&f, "c1\n");
    f.m.put_lands_then_fails = 1;
    bool more;
    t0_err e = {0};
    cr_assert_eq(dsync_logs_ship(&l, false, &more, &e), T0_ETIMEOUT);
    ship_all(&l, false);
    cr_assert_str_eq(day_obj(&f), "[2026-11-25 09:46:40] c1\n");
    memstore_free(&f.m);
    th_rmrf(f.d);
    free(f.d);
}

Test(sync_logs, failed_read_of_the_day_object_never_overwrites_it)
{
    logfix f;
    logfix_init(&f);
    dsync_logs l;
    logs_new(&f, &l);
    append(&f, "d1\n");
    ship_all(&l, false);
    append(&f, "d2\n");
    f.m.fail_get = 1;
    f.m.fail_status = T0_EINTERNAL;
    int puts = f.m.puts;
    bool more;
    t0_err e = {0};
    cr_assert_eq(dsync_logs_ship(&l, false, &more, &e), T0_EINTERNAL);
    cr_assert(strstr(e.msg, "not overwriting"), "%s", e.msg);
    cr_assert_eq(f.m.puts, puts, "a PUT followed a failed GET");
    cr_assert_str_eq(day_obj(&f), "[2026-11-25 09:46:40] d1\n");
    ship_all(&l, false);
    cr_assert_str_eq(day_obj(&f), "[2026-11-25 09:46:40] d1\n[2026-11-25 09:46:40] d2\n");
    memstore_free(&f.m);
    th_rmrf(f.d);
    free(f.d);
}

Test(sync_logs, posix_faults_lose_nothing)
{
    fiu_init(0);
    logfix f;
    logfix_init(&f);
    dsync_logs l;
    logs_new(&f, &l);
    append(&f, "e1\n");
    bool more;
    t0_err e = {0};
    fiu_enable("daemon/log/read", 1, NULL, 0);
    cr_assert_eq(dsync_logs_ship(&l, false, &more, &e), T0_EIO, "%s", e.msg);
    fiu_disable("daemon/log/read");
    fiu_enable("daemon/state/write", 1, NULL, 0); /* ENOSPC on the offset file before the PUT */
    cr_assert_eq(dsync_logs_ship(&l, false, &more, &e), T0_EIO, "%s", e.msg);
    fiu_disable("daemon/state/write");
    cr_assert_str_eq(day_obj(&f), "", "nothing may be shipped without a recorded pending append");
    ship_all(&l, false);
    cr_assert_str_eq(day_obj(&f), "[2026-11-25 09:46:40] e1\n");
    memstore_free(&f.m);
    th_rmrf(f.d);
    free(f.d);
}

Test(sync_logs, partial_line_waits_until_still_or_final_and_day_rolls)
{
    logfix f;
    logfix_init(&f);
    dsync_logs l;
    logs_new(&f, &l);
    append(&f, "f1\nhalf");
    bool more;
    t0_err e = {0};
    cr_assert_eq(dsync_logs_ship(&l, false, &more, &e), T0_OK);
    cr_assert_str_eq(day_obj(&f), "[2026-11-25 09:46:40] f1\n");
    append(&f, "-line\n");
    cr_assert_eq(dsync_logs_ship(&l, false, &more, &e), T0_OK);
    cr_assert_str_eq(day_obj(&f), "[2026-11-25 09:46:40] f1\n[2026-11-25 09:46:40] half-line\n");
    f.now += 86400;
    append(&f, "tail-without-newline");
    cr_assert_eq(dsync_logs_ship(&l, true, &more, &e), T0_OK);
    cr_assert_str_eq(day_obj(&f), "[2026-11-26 09:46:40] tail-without-newline\n");
    memstore_free(&f.m);
    th_rmrf(f.d);
    free(f.d);
}

/* ---- the FSM-driven loop -------------------------------------------------------------------------------- */

typedef struct bot_sim {
    char state[600], logs[600], done[600];
    pthread_t main_thread;
    bool term; /* end by SIGTERM instead of the done file */
} bot_sim;

static void *bot_thread(void *ud)
{
    bot_sim *b = ud;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    char p[700];
    usleep(100000);
    snprintf(p, sizeof p, "%s/pos.json", b->state);
    th_write(p, "{\"pos\":1}");
    snprintf(p, sizeof p, "%s/bot.log", b->logs);
    FILE *f = fopen(p, "a");
    fputs("started\n", f);
    fclose(f);
    usleep(400000);
    f = fopen(p, "a");
    fputs("finished\n", f);
    fclose(f);
    if (b->term) {
        pthread_kill(b->main_thread, SIGTERM);
    } else {
        th_write(b->done, "0\n");
    }
    return NULL;
}

static int run_loop(memstore *m, bot_sim *b, const char *d, long final_ms, int64_t *elapsed)
{
    snprintf(b->state, sizeof b->state, "%s/state", d);
    snprintf(b->logs, sizeof b->logs, "%s/logs", d);
    snprintf(b->done, sizeof b->done, "%s/done", d);
    mkdir(b->state, 0755);
    mkdir(b->logs, 0755);
    objstore os = memstore_port(m);
    dsync_opts o = {.bot_id = "b1", .state_path = b->state, .logs_path = b->logs,
                    .watch_done = b->term ? NULL : b->done, .state_bucket = "bot-state", .logs_bucket = "bot-logs",
                    .state_limits = lim, .interval_ms = 60000, .debounce_ms = 50, .final_timeout_ms = final_ms,
                    .retry_base_ms = 20, .retry_max_ms = 100};
    b->main_thread = pthread_self();
    pthread_t th;
    pthread_create(&th, NULL, bot_thread, b);
    int64_t t0 = dd_now_ms();
    int rc = dsync_run(&os, &o);
    *elapsed = dd_now_ms() - t0;
    pthread_join(th, NULL);
    return rc;
}

Test(sync_loop, done_file_final_sync_ships_everything, .timeout = 30)
{
    char *d = th_tmpdir();
    memstore m = {0};
    bot_sim b = {0};
    int64_t ms;
    int rc = run_loop(&m, &b, d, 5000, &ms);
    cr_assert_eq(rc, 0);
    cr_assert_not_null(memstore_find(&m, "bot-state", "b1/state.tar.gz"));
    bool found = false;
    for (int i = 0; i < m.nobjs; i++)
        if (!strcmp(m.objs[i].bucket, "bot-logs")) {
            found = true;
            cr_assert(strstr(m.objs[i].data.data, "started") && strstr(m.objs[i].data.data, "finished"), "log: %s",
                      m.objs[i].data.data);
        }
    cr_assert(found, "no log object");
    memstore_free(&m);
    th_rmrf(d);
    free(d);
}

Test(sync_loop, sigterm_final_sync_is_bounded_when_minio_is_down, .timeout = 30)
{
    char *d = th_tmpdir();
    memstore m = {0};
    m.fail_put = 1000000;
    m.fail_status = T0_EUNAVAILABLE;
    bot_sim b = {.term = true};
    int64_t ms;
    int rc = run_loop(&m, &b, d, 700, &ms);
    cr_assert_eq(rc, 1, "a final sync that shipped nothing must exit 1, got %d", rc);
    cr_assert_lt(ms, 500 + 700 + 1500, "final sync took %lld ms", (long long)ms);
    memstore_free(&m);
    th_rmrf(d);
    free(d);
}
