/* test_sync.c: state and log shipping, and the sidecar (the executor of fsm_sync_table), all on the simulator's
 * virtual loop, the in-memory store and the in-memory container filesystem (read-only root, volumes with a
 * capacity): change detection, deletions, generations, exactly-once log appends across restarts and
 * ambiguous failures, faults, the maximum wait under a steady writer, and a final sync that never fails its
 * pod. No test sleeps: virtual time only. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "fsm/tables.h"
#include "helpers.h"
#include "memfs.h"
#include "memstore.h"
#include "sim/loop.h"

static const dar_limits lim = {.max_total = 64 << 20, .max_file = 10 << 20, .max_entries = 1000};
#define NOW0 INT64_C(1795600000000) /* 2026-11-25 09:46:40 UTC */

/* A pod's sync container: read-only root, emptyDir volumes /state and /var/the0, the termination log. */
typedef struct world {
    sim_loop *l;
    loop_port lp;
    memfs *mf;
    fs_port fs;
    memstore m;
    objstore os;
    dd_env env;
    dsync *s;
    bool exited;
    int code;
    char msg[700];
} world;

static void world_init(world *w, uint64_t state_cap)
{
    memset(w, 0, sizeof *w);
    setenv("TZ", "UTC", 1);
    tzset();
    cr_assert_eq(sim_loop_new(1, NOW0, &w->l, NULL), T0_OK);
    w->lp = sim_loop_port(w->l);
    w->mf = memfs_new(&w->lp);
    memfs_volume(w->mf, "/state", state_cap, false);
    memfs_volume(w->mf, "/var/the0", 0, false);
    memfs_volume(w->mf, "/dev", 0, false);
    memfs_volume(w->mf, "/tmp", 0, true); /* the image's /tmp: read-only like the rest of the root */
    memfs_volume(w->mf, "/", 0, true);
    w->fs = memfs_port(w->mf);
    cr_assert(memfs_put(w->mf, "/var/the0/logs/.keep", ""));
    cr_assert(memfs_put(w->mf, "/dev/termination-log", ""));
    w->os = memstore_port(&w->m);
    w->env = (dd_env){.loop = &w->lp, .os = &w->os, .fs = &w->fs};
}

static void world_free(world *w)
{
    dsync_destroy(w->s);
    memfs_free(w->mf);
    sim_loop_destroy(w->l);
    memstore_free(&w->m);
}

static char *restore_obj(world *w, const char *into)
{
    memobj *o = memstore_find(&w->m, "bot-state", "b1/state.tar.gz");
    cr_assert_not_null(o, "no state object");
    fs_write_all(&w->fs, "/var/the0/restore.tar.gz", o->data.data, o->data.len, 0644, NULL);
    fs_rmtree(&w->fs, into, NULL);
    cr_assert_eq(fs_mkdirs(&w->fs, into, 0755, NULL), T0_OK);
    t0_err e = {0};
    cr_assert_eq(dar_extract(&w->fs, "/var/the0/restore.tar.gz", DAR_TARGZ, into, &lim, NULL, &e), T0_OK, "%s", e.msg);
    return strdup(into);
}

/* The content of REL in the state object (restored under /var/the0/r), or NULL; caller frees. */
static char *restored(world *w, const char *rel)
{
    free(restore_obj(w, "/var/the0/r"));
    char path[600];
    snprintf(path, sizeof path, "/var/the0/r/%s", rel);
    return memfs_get(w->mf, path, NULL);
}

/* ---- state ------------------------------------------------------------------------------------------ */

static t0_status state_sync(world *w, dsync_state *s, bool final, bool *up, t0_err *e)
{
    sim_loop_run_for(w->l, 1000); /* past the racy window of the last write */
    return dsync_state_sync(s, sim_loop_now(w->l), final, up, e);
}

Test(sync_state, uploads_only_on_content_change_and_propagates_deletions)
{
    world w;
    world_init(&w, 0);
    dsync_state s;
    dsync_state_init(&s, &w.os, &w.fs, "bot-state", "b1", "/state", "/var/the0/logs/spool", &lim);
    bool up;
    t0_err e = {0};
    cr_assert_eq(state_sync(&w, &s, false, &up, &e), T0_OK, "%s", e.msg);
    cr_assert(!up, "empty state next to no object must not upload");
    cr_assert(memfs_put(w.mf, "/state/portfolio.json", "{\"btc\":1}"));
    cr_assert_eq(state_sync(&w, &s, false, &up, &e), T0_OK, "%s", e.msg);
    cr_assert(up);
    cr_assert_eq(state_sync(&w, &s, false, &up, &e), T0_OK);
    cr_assert(!up, "unchanged content re-uploaded");
    cr_assert(memfs_put(w.mf, "/state/portfolio.json", "{\"btc\":1}")); /* same bytes, new mtime */
    cr_assert_eq(state_sync(&w, &s, false, &up, &e), T0_OK);
    cr_assert(!up, "a touch without a content change re-uploaded");
    cr_assert(!memfs_exists(w.mf, "/var/the0/logs/spool"), "the spool outlived the attempt");
    /* a restarted sidecar next to the restored state does not upload either */
    dsync_state s2;
    dsync_state_init(&s2, &w.os, &w.fs, "bot-state", "b1", "/state", "/var/the0/logs/spool", &lim);
    cr_assert_eq(state_sync(&w, &s2, false, &up, &e), T0_OK);
    cr_assert(!up, "restart re-uploaded identical state");
    /* deletion propagates: an empty archive replaces the old one */
    w.fs.unlink(w.fs.ctx, "/state/portfolio.json", NULL);
    cr_assert_eq(state_sync(&w, &s, false, &up, &e), T0_OK, "%s", e.msg);
    cr_assert(up, "deleting the only file must upload");
    free(restore_obj(&w, "/var/the0/again"));
    cr_assert_eq(memfs_count_files(w.mf, "/var/the0/again"), 0, "deleted file came back");
    world_free(&w);
}

/* Issue 14: the sidecar spooled through tmpfile(), and a pod's sync container has a read-only root and no
 * writable /tmp: every sync failed with "temporary file: Read-only file system". */
Test(sync_state, spools_on_a_volume_of_a_read_only_root_container)
{
    world w;
    world_init(&w, 0);
    cr_assert(memfs_put(w.mf, "/state/.the0-state/p.json", "{\"btc\":1}"));
    dsync_state s;
    bool up;
    t0_err e = {0};
    /* where the old code spooled: the read-only root */
    dsync_state_init(&s, &w.os, &w.fs, "bot-state", "b1", "/state", "/tmp/spool", &lim);
    s.mem_max = 0; /* always a file */
    cr_assert_eq(state_sync(&w, &s, false, &up, &e), T0_EIO, "a spool on the read-only root cannot work");
    cr_assert(strstr(e.msg, "Read-only file system"), "cause: %s", e.msg);
    /* the default: the logs volume the sidecar mounts */
    dsync_state_init(&s, &w.os, &w.fs, "bot-state", "b1", "/state", "/var/the0/logs/.the0-state-spool.tar.gz", &lim);
    s.mem_max = 0;
    cr_assert_eq(state_sync(&w, &s, false, &up, &e), T0_OK, "%s", e.msg);
    cr_assert(up);
    world_free(&w);
}

/* A small state is built in memory: no volume is needed (nor written), so a full or read-only spool place
 * does not stop it; a state that outgrows the bound is spooled to the file, and the next attempt goes to the
 * file at once. */
Test(sync_state, small_snapshots_stay_in_memory_larger_ones_spool)
{
    world w;
    world_init(&w, 0);
    cr_assert(memfs_put(w.mf, "/state/.the0-state/p.json", "{\"btc\":1}"));
    dsync_state s;
    bool up;
    t0_err e = {0};
    dsync_state_init(&s, &w.os, &w.fs, "bot-state", "b1", "/state", "/tmp/spool", &lim);
    uint64_t writes = memfs_writes(w.mf);
    cr_assert_eq(state_sync(&w, &s, false, &up, &e), T0_OK, "in memory, the read-only spool place is not used: %s",
                 e.msg);
    cr_assert(up);
    cr_assert_eq(memfs_writes(w.mf), writes, "%llu writes to the filesystem", (unsigned long long)(memfs_writes(w.mf) - writes));
    char *got = restored(&w, ".the0-state/p.json");
    cr_assert_str_eq(got ? got : "(missing)", "{\"btc\":1}");
    free(got);
    /* larger than the bound: spooled to the file (and removed) */
    dsync_state_init(&s, &w.os, &w.fs, "bot-state", "b1", "/state", "/var/the0/logs/spool", &lim);
    s.mem_max = 64;
    cr_assert(memfs_put(w.mf, "/state/.the0-state/q.json", "{\"eth\":2, \"padding\": \"abcdefghijklmnopqrstuvwxyz\"}"));
    cr_assert_eq(state_sync(&w, &s, false, &up, &e), T0_OK, "%s", e.msg);
    cr_assert(up && s.spooled, "uploaded %d, spooled %d", up, s.spooled);
    cr_assert(s.spill, "the in-memory attempt overflowed first; the next one goes to the file at once");
    cr_assert(!memfs_exists(w.mf, "/var/the0/logs/spool"), "the spool outlived the attempt");
    got = restored(&w, ".the0-state/q.json");
    cr_assert(got && strstr(got, "padding"), "%s", got ? got : "(missing)");
    free(got);
    world_free(&w);
}

Test(sync_state, failed_put_is_retried_and_enospc_loses_nothing)
{
    world w;
    world_init(&w, 0);
    cr_assert(memfs_put(w.mf, "/state/a.json", "A"));
    dsync_state s;
    dsync_state_init(&s, &w.os, &w.fs, "bot-state", "b1", "/state", "/var/the0/logs/spool", &lim);
    bool up;
    t0_err e = {0};
    s.mem_max = 0; /* the spool is a file */
    w.m.fail_put = 1;
    w.m.fail_status = T0_EINTERNAL;
    cr_assert_eq(state_sync(&w, &s, false, &up, &e), T0_EINTERNAL, "%s", e.msg);
    memfs_faults_of(w.mf)->fail_writes = 1; /* ENOSPC on the spool */
    memfs_faults_of(w.mf)->fail_errno = ENOSPC;
    t0_status r = state_sync(&w, &s, false, &up, &e);
    cr_assert_eq(r, T0_EIO, "got %s: %s", t0_status_name(r), e.msg);
    cr_assert(strstr(e.msg, "No space left on device") && !strstr(e.msg, "(null)"), "cause: %s", e.msg);
    cr_assert_null(memstore_find(&w.m, "bot-state", "b1/state.tar.gz"), "a broken archive was uploaded");
    cr_assert_eq(state_sync(&w, &s, false, &up, &e), T0_OK, "%s", e.msg);
    cr_assert(up);
    char *got = restored(&w, "a.json");
    cr_assert_str_eq(got ? got : "(missing)", "A");
    free(got);
    world_free(&w);
}

/* Issue 14: a full state volume uploaded a truncated file over the previous good state. */
Test(sync_state, a_full_state_volume_never_replaces_the_previous_object)
{
    world w;
    world_init(&w, 64);
    cr_assert(memfs_put(w.mf, "/state/a.json", "{\"good\":true}"));
    dsync_state s;
    dsync_state_init(&s, &w.os, &w.fs, "bot-state", "b1", "/state", "/var/the0/logs/spool", &lim);
    bool up;
    t0_err e = {0};
    cr_assert_eq(state_sync(&w, &s, false, &up, &e), T0_OK, "%s", e.msg);
    cr_assert(up);
    memobj *o = memstore_find(&w.m, "bot-state", "b1/state.tar.gz");
    char *good = malloc(o->data.len);
    size_t good_len = o->data.len;
    memcpy(good, o->data.data, good_len);
    /* the bot rewrites its file with more than fits: truncated at the volume's end (ENOSPC) */
    char big[200];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert(!memfs_put(w.mf, "/state/a.json", big), "the write should have failed with ENOSPC");
    t0_status r = state_sync(&w, &s, false, &up, &e);
    cr_assert_eq(r, T0_EIO, "a full volume must not be shipped, got %s", t0_status_name(r));
    cr_assert_eq(e.sys_errno, ENOSPC);
    cr_assert(strstr(e.msg, "full") && strstr(e.msg, "bot-state/b1/state.tar.gz"), "%s", e.msg);
    o = memstore_find(&w.m, "bot-state", "b1/state.tar.gz");
    cr_assert(o->data.len == good_len && !memcmp(o->data.data, good, good_len), "the previous good object was replaced");
    /* space is freed, the bot writes again: shipped */
    cr_assert(memfs_put(w.mf, "/state/a.json", "{\"good\":2}"));
    cr_assert_eq(state_sync(&w, &s, false, &up, &e), T0_OK, "%s", e.msg);
    cr_assert(up);
    free(good);
    world_free(&w);
}

/* The state object carries a generation; a final sync marks it as the run's last state. */
Test(sync_state, generation_counts_and_final_marks_the_last_state)
{
    world w;
    world_init(&w, 0);
    dsync_state s;
    dsync_state_init(&s, &w.os, &w.fs, "bot-state", "b1", "/state", "/var/the0/logs/spool", &lim);
    bool up;
    t0_err e = {0};
    cr_assert(memfs_put(w.mf, "/state/a.json", "1"));
    cr_assert_eq(state_sync(&w, &s, false, &up, &e), T0_OK, "%s", e.msg);
    cr_assert(memfs_put(w.mf, "/state/a.json", "2"));
    cr_assert_eq(state_sync(&w, &s, false, &up, &e), T0_OK, "%s", e.msg);
    memobj *o = memstore_find(&w.m, "bot-state", "b1/state.tar.gz");
    dd_state_meta m;
    dd_state_meta_read(&o->meta, &m);
    cr_assert(m.known && m.generation == 2 && !m.final, "generation %llu final %d", (unsigned long long)m.generation, m.final);
    /* the final sync finds nothing new, but the object is not marked final yet: the same bytes again */
    int puts = w.m.puts;
    cr_assert_eq(state_sync(&w, &s, true, &up, &e), T0_OK, "%s", e.msg);
    cr_assert(up && w.m.puts == puts + 1, "the final sync must mark the object");
    dd_state_meta_read(&memstore_find(&w.m, "bot-state", "b1/state.tar.gz")->meta, &m);
    cr_assert(m.generation == 3 && m.final, "generation %llu final %d", (unsigned long long)m.generation, m.final);
    /* the next run: nothing changed, its final sync ships nothing */
    dsync_state s2;
    dsync_state_init(&s2, &w.os, &w.fs, "bot-state", "b1", "/state", "/var/the0/logs/spool", &lim);
    cr_assert_eq(state_sync(&w, &s2, true, &up, &e), T0_OK, "%s", e.msg);
    cr_assert(!up, "an unchanged final state was uploaded again");
    world_free(&w);
}

/* ---- logs ------------------------------------------------------------------------------------------- */

static void logs_new(world *w, dsync_logs *l)
{
    dsync_logs_init(l, &w->os, &w->fs, &w->lp, "bot-logs", "b1", "/var/the0/logs");
}

static void append(world *w, const char *s)
{
    fs_file *f;
    fs_stat sb;
    cr_assert_eq(w->fs.open(w->fs.ctx, "/var/the0/logs/bot.log", FS_WRITE | FS_CREATE, 0644, &f, NULL), T0_OK);
    w->fs.fstat(w->fs.ctx, f, &sb, NULL);
    cr_assert_eq(w->fs.write(w->fs.ctx, f, sb.size, s, strlen(s), NULL), T0_OK);
    w->fs.close(w->fs.ctx, f, NULL);
}

static const char *day_obj(world *w)
{
    char key[200];
    dsync_logs_key("b1", (time_t)(sim_loop_now(w->l) / 1000), key, sizeof key);
    memobj *o = memstore_find(&w->m, "bot-logs", key);
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
    world w;
    world_init(&w, 0);
    char key[200];
    dsync_logs_key("b1", (time_t)(NOW0 / 1000), key, sizeof key);
    cr_assert_str_eq(key, "logs/b1/20261125.log");
    dsync_logs l;
    logs_new(&w, &l);
    append(&w, "  line1\nline2\n\n");
    ship_all(&l, false);
    cr_assert_str_eq(day_obj(&w), "[2026-11-25 09:46:40] line1\nline2\n");
    world_free(&w);
}

Test(sync_logs, restart_neither_loses_nor_duplicates)
{
    world w;
    world_init(&w, 0);
    dsync_logs l1;
    logs_new(&w, &l1);
    append(&w, "a1\na2\n");
    ship_all(&l1, false);
    append(&w, "a3\n");
    dsync_logs l2; /* a new process: state only from the offset file */
    logs_new(&w, &l2);
    ship_all(&l2, false);
    cr_assert_str_eq(day_obj(&w), "[2026-11-25 09:46:40] a1\na2\n[2026-11-25 09:46:40] a3\n");
    world_free(&w);
}

/* The offset record names the day object before the first append to it, and is not written again for later
 * appends to it: the object's metadata says how far they got. A process that dies right after a PUT leaves a
 * record behind its object; its successor asks the object (one HEAD) and neither repeats nor skips a line. */
Test(sync_logs, crash_after_a_put_is_idempotent)
{
    world w;
    world_init(&w, 0);
    dsync_logs l1;
    logs_new(&w, &l1);
    append(&w, "b1\n");
    uint64_t writes = memfs_writes(w.mf);
    ship_all(&l1, false);
    cr_assert_eq(memfs_writes(w.mf) - writes, 2, "the new stream's record, then the day's: expected 2 writes, got %llu",
                 (unsigned long long)(memfs_writes(w.mf) - writes));
    append(&w, "b2\n");
    writes = memfs_writes(w.mf);
    bool more;
    t0_err e = {0};
    cr_assert_eq(dsync_logs_ship(&l1, false, &more, &e), T0_OK, "%s", e.msg); /* the object is right */
    cr_assert_eq(memfs_writes(w.mf) - writes, 0, "no durable write for a later append to the same day, got %llu",
                 (unsigned long long)(memfs_writes(w.mf) - writes));
    char *off = memfs_get(w.mf, l1.offset_path, NULL);
    cr_assert(off && !strncmp(off, "v2 ", 3) && strstr(off, " 0 logs/b1/20261125.log"),
              "the record should name the day object from offset 0: %s", off ? off : "(none)");
    free(off);
    dsync_logs l2; /* the process died here; its successor reads the record */
    logs_new(&w, &l2);
    int heads = w.m.heads;
    ship_all(&l2, false);
    cr_assert_eq(w.m.heads - heads, 1, "the successor asks the day object once, asked %d times", w.m.heads - heads);
    cr_assert_eq(l2.offset, l1.offset, "expected the successor at offset %llu, got %llu", (unsigned long long)l1.offset,
                 (unsigned long long)l2.offset);
    append(&w, "b3\n");
    ship_all(&l2, false);
    cr_assert_str_eq(day_obj(&w), "[2026-11-25 09:46:40] b1\n[2026-11-25 09:46:40] b2\n[2026-11-25 09:46:40] b3\n");
    world_free(&w);
}

/* A new day: the record names the new day's object (base: the offset the old day's ended at) before its first
 * append. A successor after that append resumes from the new object; one before it, from the record. */
Test(sync_logs, day_roll_records_the_new_object_once)
{
    world w;
    world_init(&w, 0);
    dsync_logs l1;
    logs_new(&w, &l1);
    append(&w, "d1\n");
    ship_all(&l1, false);
    sim_loop_run_for(w.l, 86400000);
    append(&w, "d2\n");
    uint64_t writes = memfs_writes(w.mf);
    ship_all(&l1, false);
    cr_assert_eq(memfs_writes(w.mf) - writes, 1, "one record for the new day, got %llu writes",
                 (unsigned long long)(memfs_writes(w.mf) - writes));
    char *off = memfs_get(w.mf, l1.offset_path, NULL);
    cr_assert(off && strstr(off, " 3 logs/b1/20261126.log"), "the record should name the new day from offset 3: %s",
              off ? off : "(none)");
    free(off);
    append(&w, "d3\n");
    ship_all(&l1, false);
    dsync_logs l2;
    logs_new(&w, &l2);
    append(&w, "d4\n");
    ship_all(&l2, false);
    cr_assert_str_eq(day_obj(&w), "[2026-11-26 09:46:40] d2\n[2026-11-26 09:46:40] d3\n[2026-11-26 09:46:40] d4\n");
    world_free(&w);
}

/* The earlier format (a record before every append, naming it pending) reads the same way: the successor asks
 * the pending object how far it got. */
/* The pacing (daemon.h): under 16 KiB every line is due; from 16 KiB on, 1/16 of new bytes or 60 s after the
 * last append; a new day's object is due at once. A successor (a restarted sidecar) learns the object's size
 * from the HEAD it makes for its record and paces from there instead of rewriting the object at once. */
Test(sync_logs, appends_to_a_large_object_are_paced_also_after_a_restart)
{
    world w;
    world_init(&w, 0);
    dsync_logs l1;
    logs_new(&w, &l1);
    char big[1100];
    memset(big, 'x', sizeof big - 2);
    big[sizeof big - 2] = '\n', big[sizeof big - 1] = '\0';
    long wait;
    for (int i = 0; i < 16; i++) { /* 16 lines of 1 KiB: each due at once while the object is small */
        append(&w, big);
        cr_assert(dsync_logs_due(&l1, &wait), "line %d of a %llu-byte object not due", i, (unsigned long long)l1.obj_len);
        ship_all(&l1, false);
    }
    cr_assert_geq(l1.obj_len, DSYNC_LOGS_SMALL);
    append(&w, "small\n");
    cr_assert(!dsync_logs_due(&l1, &wait), "6 new bytes on a %llu-byte object are due", (unsigned long long)l1.obj_len);
    cr_assert(wait > 0 && wait <= DSYNC_LOGS_MAX_DELAY_MS, "wait %ld ms", wait);
    sim_loop_run_until(w.l, sim_loop_now(w.l) + 30000);
    cr_assert(!dsync_logs_due(&l1, &wait) && wait <= 30000, "wait %ld ms after 30 s", wait);
    append(&w, big); /* 2.2 KB more: over 1/16 of the object (17.9 KB) */
    append(&w, big);
    cr_assert(dsync_logs_due(&l1, &wait), "1/16 of new bytes is due");
    ship_all(&l1, false);
    append(&w, "after\n");
    int puts = w.m.puts, heads = w.m.heads;
    dsync_logs l2; /* a restarted sidecar: its first look is due (it knows nothing yet) ... */
    logs_new(&w, &l2);
    cr_assert(dsync_logs_due(&l2, &wait));
    ship_all(&l2, false);
    cr_assert_eq(w.m.heads - heads, 1, "the successor asks its record's object once, asked %d times", w.m.heads - heads);
    cr_assert_eq(w.m.puts, puts, "the successor rewrote the large object at once (%d PUTs)", w.m.puts - puts);
    cr_assert(!dsync_logs_due(&l2, &wait) && wait > 0, "... then paces: wait %ld", wait); /* ... and paces */
    sim_loop_run_until(w.l, sim_loop_now(w.l) + wait);
    cr_assert(dsync_logs_due(&l2, &wait), "due after the maximum delay");
    ship_all(&l2, false);
    cr_assert_eq(w.m.puts, puts + 1);
    cr_assert(strstr(day_obj(&w), "small\n") && strstr(day_obj(&w), "after\n"), "log: ...%s", day_obj(&w) + strlen(day_obj(&w)) - 40);
    l2.max_delay_ms = 0; /* --logs-max-delay 0s: every line at once */
    append(&w, "more\n");
    cr_assert(dsync_logs_due(&l2, &wait));
    world_free(&w);
}

/* A chatty bot's day log outgrows what the sidecar may hold (its container has a memory limit, 64 MiB in the pod
 * spec): an append rewrites the whole object, so from mem_max bytes on it goes through a spool file, not memory.
 * The first GET finds out (it stops at mem_max); later appends know from the last one. Nothing in memory is
 * ever the size of the object, and what lands is the same. */
Test(sync_logs, a_day_object_over_the_memory_bound_goes_through_the_spool)
{
    world w;
    world_init(&w, 0);
    char key[200];
    dsync_logs_key("b1", (time_t)(NOW0 / 1000), key, sizeof key);
    size_t big = 200000; /* what a predecessor (another stream) already shipped today */
    char *old = malloc(big + 1);
    for (size_t i = 0; i < big; i++) old[i] = i % 64 == 63 ? '\n' : 'o';
    old[big] = '\0';
    objstore_body ob = {.data = old, .len = big};
    t0_err e = {0};
    cr_assert_eq(w.os.ensure_bucket(w.os.ctx, "bot-logs", &e), T0_OK, "%s", e.msg);
    cr_assert_eq(w.os.put(w.os.ctx, "bot-logs", key, &ob, "text/plain", NULL, &e), T0_OK, "%s", e.msg);
    dsync_logs l;
    logs_new(&w, &l);
    l.mem_max = 64 << 10;
    l.max_delay_ms = 0;
    int gets = w.m.gets;
    w.m.mem_get_max = w.m.mem_put_max = 0;
    append(&w, "n1\n");
    ship_all(&l, false);
    cr_assert_eq(w.m.gets - gets, 2, "a GET stopped at the bound, then one into the spool: %d GETs", w.m.gets - gets);
    cr_assert_eq(w.m.file_gets, 1, "GETs into a file: %d", w.m.file_gets);
    cr_assert_eq(w.m.file_puts, 1, "PUTs from a file: %d", w.m.file_puts);
    cr_assert_eq(w.m.mem_put_max, 0, "a %llu-byte PUT body from memory", (unsigned long long)w.m.mem_put_max);
    const char *got = day_obj(&w);
    cr_assert_eq(strlen(got), big + strlen("[2026-11-25 09:46:40] n1\n"), "object of %zu bytes", strlen(got));
    cr_assert(!strncmp(got, old, big) && !strcmp(got + big, "[2026-11-25 09:46:40] n1\n"), "tail: %s", got + big - 10);
    cr_assert(!memfs_exists(w.mf, l.spool_path), "the spool %s was left behind", l.spool_path);
    append(&w, "n2\n"); /* the last append left the object over the bound: straight to the spool */
    gets = w.m.gets;
    ship_all(&l, false);
    cr_assert_eq(w.m.gets - gets, 1, "%d GETs for an append to a known large object", w.m.gets - gets);
    cr_assert_eq(w.m.file_gets, 2);
    cr_assert(!strcmp(day_obj(&w) + big, "[2026-11-25 09:46:40] n1\n[2026-11-25 09:46:40] n2\n"), "tail: %s",
              day_obj(&w) + big);
    cr_assert_leq(w.m.mem_get_max, 0, "a %llu-byte GET into memory", (unsigned long long)w.m.mem_get_max);
    /* the spool's volume is full: nothing is PUT (the object stays as it was), and the lines go later */
    append(&w, "n3\n");
    size_t before = strlen(day_obj(&w));
    int puts = w.m.puts;
    memfs_faults_of(w.mf)->fail_writes = 1;
    memfs_faults_of(w.mf)->fail_errno = ENOSPC;
    bool more;
    t0_status st = dsync_logs_ship(&l, false, &more, &e);
    cr_assert_neq(st, T0_OK, "a spool that could not be written was shipped");
    cr_assert(strstr(e.msg, "spool"), "the error should name the spool: %s", e.msg);
    cr_assert_eq(w.m.puts, puts, "%d PUTs after a failed spool write", w.m.puts - puts);
    cr_assert_eq(strlen(day_obj(&w)), before);
    cr_assert(!memfs_exists(w.mf, l.spool_path), "the spool %s was left behind", l.spool_path);
    ship_all(&l, false);
    cr_assert(!strcmp(day_obj(&w) + before, "[2026-11-25 09:46:40] n3\n"), "tail: %s", day_obj(&w) + before);
    free(old);
    world_free(&w);
}

Test(sync_logs, a_record_of_the_earlier_format_reads_the_same_way)
{
    world w;
    world_init(&w, 0);
    dsync_logs l1;
    logs_new(&w, &l1);
    append(&w, "h1\n");
    ship_all(&l1, false);
    char v1[200];
    snprintf(v1, sizeof v1, "v1 %s 0 logs/b1/20261125.log 3\n", l1.stream);
    cr_assert(memfs_put(w.mf, l1.offset_path, v1));
    dsync_logs l2;
    logs_new(&w, &l2);
    append(&w, "h2\n");
    ship_all(&l2, false);
    cr_assert_str_eq(day_obj(&w), "[2026-11-25 09:46:40] h1\n[2026-11-25 09:46:40] h2\n");
    world_free(&w);
}

Test(sync_logs, ambiguous_put_failure_is_not_shipped_twice)
{
    world w;
    world_init(&w, 0);
    dsync_logs l;
    logs_new(&w, &l);
    append(&w, "c1\n");
    w.m.put_lands_then_fails = 1;
    bool more;
    t0_err e = {0};
    cr_assert_eq(dsync_logs_ship(&l, false, &more, &e), T0_ETIMEOUT);
    ship_all(&l, false);
    cr_assert_str_eq(day_obj(&w), "[2026-11-25 09:46:40] c1\n");
    world_free(&w);
}

Test(sync_logs, failed_read_of_the_day_object_never_overwrites_it)
{
    world w;
    world_init(&w, 0);
    dsync_logs l;
    logs_new(&w, &l);
    append(&w, "d1\n");
    ship_all(&l, false);
    append(&w, "d2\n");
    w.m.fail_get = 1;
    w.m.fail_status = T0_EINTERNAL;
    int puts = w.m.puts;
    bool more;
    t0_err e = {0};
    cr_assert_eq(dsync_logs_ship(&l, false, &more, &e), T0_EINTERNAL);
    cr_assert(strstr(e.msg, "not overwriting"), "%s", e.msg);
    cr_assert_eq(w.m.puts, puts, "a PUT followed a failed GET");
    cr_assert_str_eq(day_obj(&w), "[2026-11-25 09:46:40] d1\n");
    ship_all(&l, false);
    cr_assert_str_eq(day_obj(&w), "[2026-11-25 09:46:40] d1\n[2026-11-25 09:46:40] d2\n");
    world_free(&w);
}

/* A 5xx on the bucket check (s3rver under concurrent writes; MinIO while it starts or heals) is an ordinary
 * retryable failure: nothing is written, and the next attempt checks the bucket again and ships once. */
Test(sync_logs, a_5xx_on_the_bucket_check_is_retried)
{
    world w;
    world_init(&w, 0);
    dsync_logs l;
    logs_new(&w, &l);
    append(&w, "g1\n");
    w.m.fail_bucket = 1;
    w.m.fail_status = T0_EINTERNAL;
    bool more;
    t0_err e = {0};
    t0_status st = dsync_logs_ship(&l, false, &more, &e);
    cr_assert_eq(st, T0_EINTERNAL, "got %s: %s", t0_status_name(st), e.msg);
    cr_assert(t0_status_retryable(st), "a 5xx on the bucket check must be retryable");
    cr_assert_eq(w.m.puts, 0, "expected no PUT after a failed bucket check, got %d", w.m.puts);
    ship_all(&l, false);
    cr_assert_eq(w.m.buckets_checked, 2, "expected the bucket checked again after the failure, checked %d times",
                 w.m.buckets_checked);
    cr_assert_str_eq(day_obj(&w), "[2026-11-25 09:46:40] g1\n");
    /* the state's bucket check likewise */
    cr_assert(memfs_put(w.mf, "/state/a.json", "A"));
    dsync_state s;
    dsync_state_init(&s, &w.os, &w.fs, "bot-state", "b1", "/state", "/var/the0/logs/spool", &lim);
    bool up;
    w.m.fail_bucket = 1;
    st = state_sync(&w, &s, false, &up, &e);
    cr_assert_eq(st, T0_EINTERNAL, "got %s: %s", t0_status_name(st), e.msg);
    cr_assert_null(memstore_find(&w.m, "bot-state", "b1/state.tar.gz"), "uploaded after a failed bucket check");
    cr_assert_eq(state_sync(&w, &s, false, &up, &e), T0_OK, "%s", e.msg);
    cr_assert(up, "the retry must upload");
    world_free(&w);
}

Test(sync_logs, filesystem_faults_lose_nothing)
{
    world w;
    world_init(&w, 0);
    dsync_logs l;
    logs_new(&w, &l);
    append(&w, "e1\n");
    bool more;
    t0_err e = {0};
    ship_all(&l, false); /* (the offset file exists from here on) */
    append(&w, "e2\n");
    memfs_faults_of(w.mf)->fail_reads = 1;
    cr_assert_eq(dsync_logs_ship(&l, false, &more, &e), T0_EIO, "%s", e.msg);
    cr_assert(strstr(e.msg, "Input/output error"), "%s", e.msg);
    ship_all(&l, false);
    cr_assert_str_eq(day_obj(&w), "[2026-11-25 09:46:40] e1\n[2026-11-25 09:46:40] e2\n");
    sim_loop_run_for(w.l, 86400000); /* a new day's object: its record first, and ENOSPC on it */
    append(&w, "e3\n");
    memfs_faults_of(w.mf)->fail_writes = 1;
    memfs_faults_of(w.mf)->fail_errno = ENOSPC;
    cr_assert_eq(dsync_logs_ship(&l, false, &more, &e), T0_EIO, "%s", e.msg);
    cr_assert_str_eq(day_obj(&w), "", "nothing may go to a day object the record does not name");
    ship_all(&l, false);
    cr_assert_str_eq(day_obj(&w), "[2026-11-26 09:46:40] e3\n");
    world_free(&w);
}

Test(sync_logs, partial_line_waits_until_still_or_final_and_day_rolls)
{
    world w;
    world_init(&w, 0);
    dsync_logs l;
    logs_new(&w, &l);
    append(&w, "f1\nhalf");
    bool more;
    t0_err e = {0};
    cr_assert_eq(dsync_logs_ship(&l, false, &more, &e), T0_OK);
    cr_assert_str_eq(day_obj(&w), "[2026-11-25 09:46:40] f1\n");
    append(&w, "-line\n");
    cr_assert_eq(dsync_logs_ship(&l, false, &more, &e), T0_OK);
    cr_assert_str_eq(day_obj(&w), "[2026-11-25 09:46:40] f1\n[2026-11-25 09:46:40] half-line\n");
    sim_loop_run_for(w.l, 86400000);
    append(&w, "tail-without-newline");
    cr_assert_eq(dsync_logs_ship(&l, true, &more, &e), T0_OK);
    cr_assert_str_eq(day_obj(&w), "[2026-11-26 09:46:40] tail-without-newline\n");
    world_free(&w);
}

/* ---- the sidecar ------------------------------------------------------------------------------------ */

static void on_exit_cb(void *ud, int code, const char *msg)
{
    world *w = ud;
    w->exited = true;
    w->code = code;
    snprintf(w->msg, sizeof w->msg, "%s", msg);
}

static dsync_opts sync_opts(bool scheduled)
{
    return (dsync_opts){.bot_id = "b1", .state_path = "/state", .logs_path = "/var/the0/logs",
                        .watch_done = scheduled ? "/var/the0/done" : NULL, .state_bucket = "bot-state",
                        .logs_bucket = "bot-logs", .termination_log = "/dev/termination-log", .state_limits = lim,
                        .final_timeout_ms = 5000};
}

static void start(world *w, const dsync_opts *o)
{
    t0_err e = {0};
    cr_assert_eq(dsync_start(&w->env, o, on_exit_cb, w, &w->s, &e), T0_OK, "%s", e.msg);
}

/* Run the loop until the sidecar exited or MS of virtual time passed. */
static void run_for(world *w, int64_t ms)
{
    int64_t end = sim_loop_now(w->l) + ms, at;
    while (!w->exited && sim_loop_next_due(w->l, &at) && at <= end) sim_loop_step(w->l);
    if (!w->exited) sim_loop_run_until(w->l, end);
}

Test(sync_loop, done_file_final_sync_ships_everything)
{
    world w;
    world_init(&w, 0);
    dsync_opts o = sync_opts(true);
    start(&w, &o);
    run_for(&w, 100);
    cr_assert(memfs_put(w.mf, "/state/pos.json", "{\"pos\":1}"));
    append(&w, "started\n");
    run_for(&w, 400);
    append(&w, "finished\n");
    cr_assert(memfs_put(w.mf, "/var/the0/done", "0\n"));
    run_for(&w, 10000);
    cr_assert(w.exited, "the sidecar did not exit after the done file");
    cr_assert_eq(w.code, 0, "%s", w.msg);
    cr_assert_not_null(memstore_find(&w.m, "bot-state", "b1/state.tar.gz"));
    cr_assert(strstr(day_obj(&w), "started") && strstr(day_obj(&w), "finished"), "log: %s", day_obj(&w));
    dd_state_meta m;
    dd_state_meta_read(&memstore_find(&w.m, "bot-state", "b1/state.tar.gz")->meta, &m);
    cr_assert(m.final, "the run's last state must be marked final");
    char *tl = memfs_get(w.mf, "/dev/termination-log", NULL);
    cr_assert(tl && strstr(tl, "final sync done"), "termination message: %s", tl ? tl : "(none)");
    free(tl);
    world_free(&w);
}

/* The sidecar may start before the bot makes the logs directory: it makes it first, so that its watch works and
 * the bot's first lines are shipped at once, not at the first periodic scan (60 s). */
Test(sync_loop, first_lines_of_a_fresh_pod_ship_at_once)
{
    world w;
    world_init(&w, 0);
    fs_rmtree(&w.fs, "/var/the0/logs", NULL);
    dsync_opts o = sync_opts(false);
    start(&w, &o);
    run_for(&w, 2000); /* the start's upload is over */
    cr_assert_eq(fs_mkdirs(&w.fs, "/var/the0/logs", 0755, NULL), T0_OK); /* the entrypoint's mkdir -p */
    append(&w, "first\n");
    run_for(&w, 1000);
    cr_assert(strstr(day_obj(&w), "first"), "the first line waits for the scan: %s", day_obj(&w));
    world_free(&w);
}

/* Issue 14 (phase 2, point 5): SIGTERM reaches the bot and the sidecar at once. A sidecar that started its
 * final sync at once lost what the bot wrote while it stopped. With the bot's done file it waits: the
 * bot's last write, 3 s after SIGTERM, is shipped. A bot that does not stop within --done-wait loses only
 * what it writes after that (the hard-kill bound). */
typedef struct stopper {
    world *w;
    const char *value;
    bool done;
} stopper;

static void bot_stops(void *ud)
{
    stopper *b = ud;
    cr_assert(memfs_put(b->w->mf, "/state/pos.json", b->value));
    append(b->w, "shutting down\n");
    if (b->done) cr_assert(memfs_put(b->w->mf, "/var/the0/done", "143\n"));
}

static void sigterm_waits(bool bot_stops_in_time)
{
    world w;
    world_init(&w, 0);
    dsync_opts o = sync_opts(false);
    o.done_file = "/var/the0/done";
    o.done_wait_ms = 10000;
    o.final_timeout_ms = 20000;
    start(&w, &o);
    cr_assert(memfs_put(w.mf, "/state/pos.json", "{\"pos\":1}"));
    run_for(&w, 2000);
    int64_t t0 = sim_loop_now(w.l);
    dsync_term(w.s);
    stopper b = {&w, "{\"pos\":2}", bot_stops_in_time};
    sim_loop_timer(w.l, bot_stops_in_time ? 3000 : 12000, bot_stops, &b);
    run_for(&w, 30000);
    cr_assert(w.exited && w.code == 0, "exited %d code %d: %s", w.exited, w.code, w.msg);
    char *got = restored(&w, "pos.json");
    if (bot_stops_in_time) {
        cr_assert_str_eq(got ? got : "(missing)", "{\"pos\":2}", "the write made while the bot stopped was lost");
        cr_assert(strstr(day_obj(&w), "shutting down"), "log: %s", day_obj(&w));
    } else {
        cr_assert_str_eq(got ? got : "(missing)", "{\"pos\":1}", "the final sync ran at the end of --done-wait");
        dsync_info in;
        dsync_get_info(w.s, &in);
        cr_assert_eq(in.state, SYNC_EXITED);
    }
    cr_assert_leq(sim_loop_now(w.l) - t0, 30000);
    free(got);
    world_free(&w);
}

Test(sync_loop, sigterm_waits_for_the_bot_done_file) { sigterm_waits(true); }
Test(sync_loop, sigterm_waits_no_longer_than_done_wait) { sigterm_waits(false); }

/* Realtime pods name the done file with --done-file: a done file written while no SIGTERM came (a bot that
 * crashed and is restarted by the kubelet) does not end the sidecar. */
Test(sync_loop, a_done_file_without_sigterm_does_not_end_a_realtime_sidecar)
{
    world w;
    world_init(&w, 0);
    dsync_opts o = sync_opts(false);
    o.done_file = "/var/the0/done";
    o.done_wait_ms = 10000;
    start(&w, &o);
    cr_assert(memfs_put(w.mf, "/var/the0/done", "1\n"));
    run_for(&w, 5000);
    cr_assert(!w.exited, "the sidecar ended on a realtime bot's crash");
    dsync_term(w.s); /* the bot is not running (its done file is there): no wait */
    run_for(&w, 100);
    cr_assert(w.exited, "SIGTERM with the done file present waited anyway");
    world_free(&w);
}

/* Issue 14: when the final sync failed, `daemon sync` exited 1, the pod ended Failed although the bot
 * exited 0, and the Job (backoffLimit 2) ran the bot again. The sidecar now reports and exits 0. */
static void final_sync_fails(bool scheduled)
{
    world w;
    world_init(&w, 0);
    dsync_opts o = sync_opts(scheduled);
    start(&w, &o);
    cr_assert(memfs_put(w.mf, "/state/pos.json", "{\"pos\":1}"));
    run_for(&w, 2000); /* shipped: generation 1 */
    cr_assert_not_null(memstore_find(&w.m, "bot-state", "b1/state.tar.gz"));
    cr_assert(memfs_put(w.mf, "/state/pos.json", "{\"pos\":2}"));
    w.m.fail_put = 1000000;
    w.m.fail_head = 1000000;
    w.m.fail_status = T0_EUNAVAILABLE;
    int64_t t0 = sim_loop_now(w.l);
    if (scheduled) cr_assert(memfs_put(w.mf, "/var/the0/done", "0\n"));
    else dsync_term(w.s);
    run_for(&w, 60000);
    cr_assert(w.exited, "the final sync never ended");
    cr_assert_leq(sim_loop_now(w.l) - t0, o.final_timeout_ms + 1000, "the final sync overran its deadline");
    cr_assert_eq(w.code, 0, "a failed final sync must exit 0 (the Job would run the bot again); got %d", w.code);
    cr_assert(strstr(w.msg, "final sync FAILED") && strstr(w.msg, "generation 1") && strstr(w.msg, "injected"),
              "the report must say what was not shipped and why: %s", w.msg);
    char *tl = memfs_get(w.mf, "/dev/termination-log", NULL);
    cr_assert(tl && strstr(tl, "final sync FAILED"), "termination message: %s", tl ? tl : "(none)");
    free(tl);
    dd_state_meta m;
    dd_state_meta_read(&memstore_find(&w.m, "bot-state", "b1/state.tar.gz")->meta, &m);
    cr_assert(m.generation == 1 && !m.final, "the object left behind must tell the next run (gen %llu final %d)",
              (unsigned long long)m.generation, m.final);
    world_free(&w);
}

Test(sync_loop, a_failed_final_sync_exits_0_and_reports_for_a_scheduled_bot) { final_sync_fails(true); }
Test(sync_loop, a_failed_final_sync_exits_0_and_reports_on_sigterm) { final_sync_fails(false); }

/* Issue 14: the debounce was pushed back on every write, so a bot writing every 100 ms was only shipped by
 * the 60 s scan. With the maximum wait every write is in MinIO within a second. (Virtual time.) */
typedef struct steady {
    world *w;
    int version, read_version, shipped_version;
    int64_t written_at[400];
    int64_t shipped_at[400];
    uint64_t timer;
} steady;
static steady *cur_steady;

static void steady_write(void *ud)
{
    steady *s = ud;
    if (s->version + 1 >= 400) return;
    s->version++;
    char buf[64];
    snprintf(buf, sizeof buf, "{\"v\":%d}", s->version);
    cr_assert(memfs_put(s->w->mf, "/state/.the0-state/p.json", buf));
    s->written_at[s->version] = sim_loop_now(s->w->l);
    s->timer = sim_loop_timer(s->w->l, 100, steady_write, s);
}

static void steady_read(void *ud, const char *path)
{
    steady *s = ud;
    if (strcmp(path, "/state/.the0-state/p.json")) return;
    char *c = memfs_get(s->w->mf, path, NULL);
    if (c) s->read_version = atoi(c + 5);
    free(c);
}

static void steady_put(memstore *m)
{
    steady *s = cur_steady;
    (void)m;
    for (int v = s->shipped_version + 1; v <= s->read_version; v++) s->shipped_at[v] = sim_loop_now(s->w->l);
    if (s->read_version > s->shipped_version) s->shipped_version = s->read_version;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

Test(sync_loop, a_steady_writer_is_shipped_within_a_second)
{
    world w;
    world_init(&w, 0);
    steady s = {.w = &w};
    cur_steady = &s;
    memfs_faults_of(w.mf)->before_read = steady_read;
    memfs_faults_of(w.mf)->before_read_ud = &s;
    w.m.after_put = steady_put;
    dsync_opts o = sync_opts(false);
    start(&w, &o);
    s.timer = sim_loop_timer(w.l, 50, steady_write, &s);
    run_for(&w, 30000); /* 300 writes, 100 ms apart */
    sim_loop_cancel(w.l, s.timer);
    int n = s.version - 10; /* the last second's writes may still be in flight */
    int64_t lat[400];
    for (int v = 1; v <= n; v++) {
        cr_assert(s.shipped_at[v], "write %d (at +%lld ms) was never shipped", v, (long long)(s.written_at[v] - NOW0));
        lat[v - 1] = s.shipped_at[v] - s.written_at[v];
    }
    qsort(lat, (size_t)n, sizeof *lat, cmp_i64);
    cr_log_info("steady writer (virtual time): %d writes, write->object p50 %lld ms, p99 %lld ms, max %lld ms", n,
                (long long)lat[n / 2], (long long)lat[n * 99 / 100], (long long)lat[n - 1]);
    cr_assert_leq(lat[n - 1], 1000, "a write waited %lld ms for its upload (bound: 1000 ms)", (long long)lat[n - 1]);
    dsync_info in;
    dsync_get_info(w.s, &in);
    cr_assert_lt(in.state_uploads, (uint64_t)n, "one upload per write: the debounce does nothing (%llu uploads)",
                 (unsigned long long)in.state_uploads);
    world_free(&w);
}

/* S3 has no append: every append PUTs the whole day object. A bot that logs a 100-byte line every 100 ms for
 * 40 minutes (2.4 MB) made the sidecar PUT its growing object after every line or two (about 4.6 GB). Paced
 * (dsync_logs_due), an object of 16 KiB or more is rewritten only once the new lines add 1/16 of it or 60 s
 * after its last append, so the traffic is bounded by 17 times the log plus one rewrite of the object per
 * minute — and no line is later than that minute (checked every 5 s of the run). */
typedef struct chatty {
    world *w;
    int lines;
    int64_t written_at[30000];
    uint64_t timer, checker;
    int checks;
    int64_t worst_lag;
} chatty;

static void chatty_line(void *ud)
{
    chatty *c = ud;
    char line[128];
    snprintf(line, sizeof line, "line %06d %-88s\n", c->lines, "the quick brown fox jumps over the lazy dog");
    c->written_at[c->lines++] = sim_loop_now(c->w->l);
    append(c->w, line);
    c->timer = c->lines < 24000 ? sim_loop_timer(c->w->l, 100, chatty_line, c) : 0;
}

/* The oldest line written but not in the day object yet: how long it has waited. */
static void chatty_check(void *ud)
{
    chatty *c = ud;
    const char *obj = day_obj(c->w), *last = NULL;
    for (size_t i = strlen(obj); i-- > 0 && !last;) /* the last line, from the end: no scan of 2 MB per check */
        if (!strncmp(obj + i, "line ", 5)) last = obj + i;
    int shipped = last ? atoi(last + 5) + 1 : 0;
    if (shipped < c->lines) {
        int64_t lag = sim_loop_now(c->w->l) - c->written_at[shipped];
        if (lag > c->worst_lag) c->worst_lag = lag;
    }
    c->checks++;
    c->checker = sim_loop_timer(c->w->l, 5000, chatty_check, c);
}

Test(sync_loop, a_chatty_log_costs_traffic_linear_in_its_bytes)
{
    world w;
    world_init(&w, 0);
    static chatty c;
    memset(&c, 0, sizeof c);
    c.w = &w;
    dsync_opts o = sync_opts(false);
    o.logs_max_delay_ms = 60000;
    start(&w, &o);
    c.timer = sim_loop_timer(w.l, 100, chatty_line, &c);
    c.checker = sim_loop_timer(w.l, 5000, chatty_check, &c);
    run_for(&w, 2400 * 1000);
    sim_loop_cancel(w.l, c.checker);
    uint64_t log_bytes = (uint64_t)c.lines * 100, obj_len = strlen(day_obj(&w));
    uint64_t bound = 17 * log_bytes + (2400 / 60 + 1) * obj_len + (uint64_t)DSYNC_LOGS_SMALL * (DSYNC_LOGS_SMALL / 100);
    cr_log_info("chatty log (virtual time): %d lines, %llu bytes; %d PUTs of %llu bytes in all (%.1f x the log; bound "
                "%llu); worst lag of a line %lld ms", c.lines, (unsigned long long)log_bytes, w.m.puts,
                (unsigned long long)w.m.put_bytes, (double)w.m.put_bytes / (double)log_bytes, (unsigned long long)bound,
                (long long)c.worst_lag);
    cr_assert_leq(w.m.put_bytes, bound, "PUT %llu bytes for a %llu-byte log (bound %llu): quadratic traffic",
                  (unsigned long long)w.m.put_bytes, (unsigned long long)log_bytes, (unsigned long long)bound);
    cr_assert_leq(c.worst_lag, 60000 + 5000, "a line waited %lld ms for its append (bound: 60 s + one check)",
                  (long long)c.worst_lag);
    cr_assert(c.checks >= 400, "%d checks", c.checks);
    world_free(&w);
}

/* A file that changes while it is read is read again on the loop 35 ms later (no sleep), and what is
 * shipped is a whole version. */
static int rewrites;
static void rewrite_once(void *ud, const char *path)
{
    world *w = ud;
    if (strcmp(path, "/state/a.json") || rewrites++ != 1) return;
    memfs_put(w->mf, "/state/a.json", "{\"v\":2}");
}

Test(sync_loop, a_file_changed_while_read_is_snapshotted_again_on_the_loop)
{
    world w;
    world_init(&w, 0);
    cr_assert(memfs_put(w.mf, "/state/a.json", "{\"v\":1}"));
    sim_loop_run_for(w.l, 1000);
    rewrites = 0;
    memfs_faults_of(w.mf)->before_read = rewrite_once;
    memfs_faults_of(w.mf)->before_read_ud = &w;
    dsync_opts o = sync_opts(false);
    start(&w, &o);
    run_for(&w, 3000);
    dsync_info in;
    dsync_get_info(w.s, &in);
    cr_assert_geq(in.snapshot_retries, 1, "the change during the read went unnoticed");
    cr_assert_eq(in.upload_failures, 0);
    memfs_faults_of(w.mf)->before_read = NULL;
    char *got = restored(&w, "a.json");
    cr_assert_str_eq(got ? got : "(missing)", "{\"v\":2}");
    free(got);
    world_free(&w);
}

/* Issue 14: "café.json" in the state made the whole state unshippable; a name that is not UTF-8 now fails
 * only its own file. */
Test(sync_loop, utf8_names_ship_and_a_bad_name_fails_only_its_file)
{
    world w;
    world_init(&w, 0);
    cr_assert(memfs_put(w.mf, "/state/.the0-state/caf\xc3\xa9.json", "{\"cr\xc3\xa8me\":1}"));
    cr_assert(memfs_put(w.mf, "/state/.the0-state/bad\xff.json", "latin-1"));
    dsync_opts o = sync_opts(false);
    start(&w, &o);
    run_for(&w, 3000);
    dsync_info in;
    dsync_get_info(w.s, &in);
    cr_assert_eq(in.state_uploads, 1, "uploads %llu, failures %llu", (unsigned long long)in.state_uploads,
                 (unsigned long long)in.upload_failures);
    free(restore_obj(&w, "/var/the0/r"));
    cr_assert(memfs_exists(w.mf, "/var/the0/r/.the0-state/caf\xc3\xa9.json"), "café.json did not round-trip");
    cr_assert_eq(memfs_count_files(w.mf, "/var/the0/r"), 1, "only the UTF-8 name is shipped");
    world_free(&w);
}

/* A sidecar killed (SIGKILL) leaves no timer and no watch behind; the next one resumes. */
Test(sync_loop, destroy_is_abrupt_and_clean)
{
    world w;
    world_init(&w, 0);
    dsync_opts o = sync_opts(false);
    start(&w, &o);
    cr_assert(memfs_put(w.mf, "/state/a.json", "1"));
    run_for(&w, 50);
    dsync_destroy(w.s);
    w.s = NULL;
    sim_loop_run_for(w.l, 10); /* (the filesystem's own pending notifications) */
    cr_assert_eq(sim_loop_pending(w.l), 0, "%llu timers left after destroy", (unsigned long long)sim_loop_pending(w.l));
    start(&w, &o);
    run_for(&w, 2000);
    cr_assert_not_null(memstore_find(&w.m, "bot-state", "b1/state.tar.gz"), "the next sidecar did not ship");
    world_free(&w);
}
