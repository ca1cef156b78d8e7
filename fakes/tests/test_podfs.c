/* test_podfs.c: the container filesystem model: shared volumes, read-only roots and mounts, termination
 * files, permissions, capacity and ENOSPC, byte names, watches on the loop, and its fault points. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fakes/podfs.h"
#include "sim/faults.h"
#include "sim/loop.h"

typedef struct fx {
    sim_loop *loop;
    loop_port lp;
    podfs *pod;
} fx;

static void fx_init(fx *f, sim_faults *faults)
{
    cr_assert_eq(sim_loop_new(1, 0, &f->loop, NULL), T0_OK);
    f->lp = sim_loop_port(f->loop);
    cr_assert_eq(podfs_new(&f->lp, faults, &f->pod, NULL), T0_OK);
}

static void fx_free(fx *f)
{
    podfs_destroy(f->pod);
    sim_loop_destroy(f->loop);
}

/* the generated pod's layout: bot-state at /state, the0 at /var/the0, bot-code at /bot */
static podfs_view *view(fx *f, bool ro_root, uint32_t uid, bool with_code)
{
    static const podfs_mount ms[] = {{"bot-state", "/state", false}, {"the0", "/var/the0", false}, {"bot-code", "/bot", false}};
    podfs_view_opts o = {.read_only_root = ro_root, .uid = uid, .gid = uid, .fs_group = 1000, .caps_dropped = true,
                         .mounts = ms, .nmounts = with_code ? 3 : 2};
    podfs_view *v;
    t0_err err = {0};
    cr_assert_eq(podfs_view_new(f->pod, &o, &v, &err), T0_OK, "%s", err.msg);
    return v;
}

static void volumes(fx *f, uint64_t state_cap)
{
    cr_assert_eq(podfs_add_volume(f->pod, "bot-state", state_cap, NULL), T0_OK);
    cr_assert_eq(podfs_add_volume(f->pod, "the0", 0, NULL), T0_OK);
    cr_assert_eq(podfs_add_volume(f->pod, "bot-code", 0, NULL), T0_OK);
}

static int put(const fs_port *fs, const char *path, const char *data)
{
    t0_err err = {0};
    t0_status st = fs_write_all(fs, path, data, strlen(data), 0644, &err);
    return st == T0_OK ? 0 : fs_errno(st, &err);
}

static char *get(const fs_port *fs, const char *path)
{
    char *s = NULL;
    if (fs_read_all(fs, path, 1 << 20, &s, NULL, NULL) != T0_OK) return NULL;
    return s;
}

Test(podfs, volumes_are_shared_and_roots_are_private)
{
    fx f;
    fx_init(&f, NULL);
    volumes(&f, 0);
    podfs_view *bot = view(&f, false, 1000, true), *sync = view(&f, true, 1000, false);
    fs_port b = podfs_view_port(bot), s = podfs_view_port(sync);
    cr_expect_eq(put(&b, "/state/a.json", "1"), 0);
    char *got = get(&s, "/state/a.json");
    cr_expect(got && !strcmp(got, "1"), "the sync container sees the bot's write: %s", got ? got : "(none)");
    free(got);
    cr_expect_eq(put(&b, "/tmp/x.py", "print()"), 0, "a writable root has a writable /tmp");
    fs_stat sb;
    cr_expect_eq(s.lstat(s.ctx, "/tmp/x.py", &sb, NULL), T0_ENOTFOUND, "another container's /tmp is its own");
    cr_expect_eq(put(&s, "/tmp/spool", "x"), EROFS, "readOnlyRootFilesystem: EROFS");
    cr_expect_eq(put(&s, "/var/the0/logs.x", "x"), 0, "a volume stays writable on a read-only root");
    cr_expect_eq(s.lstat(s.ctx, "/bot", &sb, NULL), T0_ENOTFOUND, "sync does not mount bot-code");
    /* a restarted container gets a fresh root and keeps the volumes */
    podfs_view_destroy(bot);
    bot = view(&f, false, 1000, true);
    b = podfs_view_port(bot);
    cr_expect_eq(b.lstat(b.ctx, "/tmp/x.py", &sb, NULL), T0_ENOTFOUND);
    cr_expect_eq(b.lstat(b.ctx, "/state/a.json", &sb, NULL), T0_OK);
    cr_expect_eq(podfs_volume_used(f.pod, "bot-state"), 1u);
    fx_free(&f);
}

Test(podfs, termination_file_is_writable_on_a_read_only_root)
{
    fx f;
    fx_init(&f, NULL);
    volumes(&f, 0);
    podfs_view *v = view(&f, true, 1000, false);
    fs_port p = podfs_view_port(v);
    cr_expect_eq(put(&p, "/dev/termination-log", "final sync done"), 0);
    char buf[4096];
    cr_expect_eq(podfs_view_termination(v, buf, sizeof buf), 15u);
    cr_expect_str_eq(buf, "final sync done");
    cr_expect_eq(put(&p, "/dev/other", "x"), EROFS);
    t0_err err = {0};
    cr_expect_eq(p.unlink(p.ctx, "/dev/termination-log", &err), T0_EIO);
    cr_expect_eq(err.sys_errno, EBUSY, "a mount point: %s", err.msg);
    fx_free(&f);
}

Test(podfs, permissions_follow_uid_and_capabilities)
{
    fx f;
    fx_init(&f, NULL);
    volumes(&f, 0);
    podfs_view *u = view(&f, false, 1000, false);
    fs_port p = podfs_view_port(u);
    cr_expect_eq(put(&p, "/app.conf", "x"), EACCES, "uid 1000 cannot write into root's 0755 /");
    cr_expect_eq(put(&p, "/tmp/ok", "x"), 0, "/tmp is 1777");
    cr_expect_eq(put(&p, "/state/ok", "x"), 0, "an emptyDir is 0777");
    /* root without capabilities (drop ALL) has no CAP_DAC_OVERRIDE */
    cr_expect_eq(p.mkdir(p.ctx, "/state/private", 0700, NULL), T0_OK);
    cr_expect_eq(put(&p, "/state/private/f", "x"), 0);
    podfs_view_opts o = {.uid = 0, .caps_dropped = true};
    podfs_view *r;
    static const podfs_mount m[] = {{"bot-state", "/state", false}};
    o.mounts = m;
    o.nmounts = 1;
    cr_assert_eq(podfs_view_new(f.pod, &o, &r, NULL), T0_OK);
    fs_port rp = podfs_view_port(r);
    cr_expect_eq(put(&rp, "/state/private/g", "x"), EACCES, "root without CAP_DAC_OVERRIDE");
    cr_expect_eq(put(&rp, "/app.conf", "x"), 0, "root owns /");
    o.caps_dropped = false;
    podfs_view *r2;
    cr_assert_eq(podfs_view_new(f.pod, &o, &r2, NULL), T0_OK);
    fs_port r2p = podfs_view_port(r2);
    cr_expect_eq(put(&r2p, "/state/private/g", "x"), 0, "root with its capabilities");
    /* sticky /tmp: another user's file stays */
    cr_expect_eq(rp.unlink(rp.ctx, "/tmp/none", NULL), T0_ENOTFOUND);
    fx_free(&f);
}

Test(podfs, read_only_mount_and_missing_volume)
{
    fx f;
    fx_init(&f, NULL);
    volumes(&f, 0);
    static const podfs_mount m[] = {{"bot-code", "/bot", true}};
    podfs_view_opts o = {.uid = 1000, .mounts = m, .nmounts = 1};
    podfs_view *v;
    cr_assert_eq(podfs_view_new(f.pod, &o, &v, NULL), T0_OK);
    fs_port p = podfs_view_port(v);
    cr_expect_eq(put(&p, "/bot/main.py", "x"), EROFS, "readOnly: true mount");
    static const podfs_mount bad[] = {{"nope", "/x", false}};
    o.mounts = bad;
    t0_err err = {0};
    cr_expect_eq(podfs_view_new(f.pod, &o, &v, &err), T0_ENOTFOUND);
    cr_expect(strstr(err.msg, "volume nope not found") != NULL, "%s", err.msg);
    fx_free(&f);
}

Test(podfs, capacity_gives_enospc_after_what_fits)
{
    fx f;
    fx_init(&f, NULL);
    volumes(&f, 10);
    podfs_view *v = view(&f, true, 1000, false);
    fs_port p = podfs_view_port(v);
    cr_expect_eq(put(&p, "/state/a", "123456"), 0);
    cr_expect_eq(put(&p, "/state/b", "abcdefgh"), ENOSPC);
    char *got = get(&p, "/state/b");
    cr_expect(got && !strcmp(got, "abcd"), "what fitted stays: %s", got ? got : "(none)");
    free(got);
    uint64_t avail = 9;
    cr_expect_eq(p.space(p.ctx, "/state", &avail, NULL, NULL), T0_OK);
    cr_expect_eq(avail, 0u);
    cr_expect_eq(p.unlink(p.ctx, "/state/a", NULL), T0_OK);
    cr_expect_eq(p.space(p.ctx, "/state", &avail, NULL, NULL), T0_OK);
    cr_expect_eq(avail, 6u, "freed on unlink: %llu", (unsigned long long)avail);
    /* a rename never crosses volumes */
    t0_err err = {0};
    cr_expect_eq(p.rename(p.ctx, "/state/b", "/var/the0/b", &err), T0_EIO);
    cr_expect_eq(err.sys_errno, EXDEV, "%s", err.msg);
    cr_expect_eq(p.rename(p.ctx, "/state", "/var/the0/s", &err), T0_EIO);
    cr_expect_eq(err.sys_errno, EBUSY, "a mount point: %s", err.msg);
    fx_free(&f);
}

Test(podfs, names_are_bytes)
{
    fx f;
    fx_init(&f, NULL);
    volumes(&f, 0);
    podfs_view *v = view(&f, true, 1000, false);
    fs_port p = podfs_view_port(v);
    cr_expect_eq(p.mkdir(p.ctx, "/state/donn\xc3\xa9" "es", 0755, NULL), T0_OK);
    cr_expect_eq(put(&p, "/state/donn\xc3\xa9" "es/caf\xc3\xa9.json", "1"), 0);
    cr_expect_eq(put(&p, "/state/bad\xff", "2"), 0, "not UTF-8 is still a name");
    fs_list l = {0};
    cr_assert_eq(p.list(p.ctx, "/state", &l, NULL), T0_OK);
    cr_expect_eq(l.n, 2u);
    bool utf8 = false, raw = false;
    for (size_t i = 0; i < l.n; i++) {
        utf8 |= !strcmp(l.names[i], "donn\xc3\xa9" "es");
        raw |= !strcmp(l.names[i], "bad\xff");
    }
    cr_expect(utf8 && raw);
    fs_list_free(&l);
    fx_free(&f);
}

typedef struct seen {
    char names[16][64];
    int n;
} seen;

static void on_change(void *ud, const char *name)
{
    seen *s = ud;
    if (s->n < 16) snprintf(s->names[s->n++], 64, "%s", name ? name : "(lost)");
}

Test(podfs, watches_report_changes_on_the_loop)
{
    fx f;
    fx_init(&f, NULL);
    volumes(&f, 0);
    podfs_view *bot = view(&f, false, 1000, false), *sync = view(&f, true, 1000, false);
    fs_port b = podfs_view_port(bot), s = podfs_view_port(sync);
    seen tree = {0}, flat = {0};
    fs_watch *wt, *wf;
    cr_assert_eq(s.watch(s.ctx, "/state", FS_WATCH_TREE, on_change, &tree, &wt, NULL), T0_OK);
    cr_assert_eq(s.watch(s.ctx, "/var/the0", 0, on_change, &flat, &wf, NULL), T0_OK);
    cr_expect_eq(b.mkdir(b.ctx, "/state/.the0-state", 0755, NULL), T0_OK);
    cr_expect_eq(put(&b, "/state/.the0-state/pos.json", "{}"), 0);
    cr_expect_eq(fs_mkdirs(&b, "/var/the0/logs", 0755, NULL), T0_OK);
    cr_expect_eq(put(&b, "/var/the0/logs/bot.log", "line\n"), 0);
    cr_expect_eq(tree.n, 0, "nothing from inside a port call");
    sim_loop_run_for(f.loop, 1);
    bool deep = false;
    for (int i = 0; i < tree.n; i++) deep |= !strcmp(tree.names[i], ".the0-state/pos.json");
    cr_expect(deep, "the tree watch names the file relative to /state (%d notes, first %s)", tree.n, tree.names[0]);
    bool logs = false, log_file = false;
    for (int i = 0; i < flat.n; i++) {
        logs |= !strcmp(flat.names[i], "logs");
        log_file |= !strcmp(flat.names[i], "logs/bot.log");
    }
    cr_expect(logs && !log_file, "a flat watch hears about its entries, not their insides");
    s.unwatch(s.ctx, wt);
    int before = tree.n;
    cr_expect_eq(put(&b, "/state/.the0-state/pos.json", "{1}"), 0);
    sim_loop_run_for(f.loop, 1);
    cr_expect_eq(tree.n, before, "no callback after unwatch");
    podfs_view_destroy(sync); /* its watches go with it */
    cr_expect_eq(put(&b, "/var/the0/x", "1"), 0);
    sim_loop_run_for(f.loop, 1);
    (void)wf;
    fx_free(&f);
}

Test(podfs, fault_points)
{
    sim_loop *loop;
    cr_assert_eq(sim_loop_new(1, 0, &loop, NULL), T0_OK);
    sim_faults *faults;
    cr_assert_eq(sim_faults_new(loop, &faults, NULL), T0_OK);
    loop_port lp = sim_loop_port(loop);
    podfs *pod;
    cr_assert_eq(podfs_new(&lp, faults, &pod, NULL), T0_OK);
    cr_assert_eq(podfs_add_volume(pod, "bot-state", 1000, NULL), T0_OK);
    static const podfs_mount m[] = {{"bot-state", "/state", false}};
    podfs_view_opts o = {.uid = 1000, .mounts = m, .nmounts = 1};
    podfs_view *v;
    cr_assert_eq(podfs_view_new(pod, &o, &v, NULL), T0_OK);
    fs_port p = podfs_view_port(v);
    sim_fault_spec spec = {.kind = SIM_FAULT_SHORT, .count = 1};
    cr_assert_eq(sim_faults_inject(faults, "podfs/write", &spec, NULL), T0_OK);
    cr_expect_eq(put(&p, "/state/a", "12345678"), EIO);
    char *got = get(&p, "/state/a");
    cr_expect(got && !strcmp(got, "1234"), "short: half landed: %s", got ? got : "(none)");
    free(got);
    spec.kind = SIM_FAULT_ERROR;
    cr_assert_eq(sim_faults_inject(faults, "podfs/write", &spec, NULL), T0_OK);
    cr_expect_eq(put(&p, "/state/b", "12345678"), EIO);
    cr_expect_eq(podfs_volume_used(pod, "bot-state"), 4u, "error: nothing written");
    spec.kind = SIM_FAULT_ENOSPC;
    cr_assert_eq(sim_faults_inject(faults, "podfs/write", &spec, NULL), T0_OK);
    cr_expect_eq(put(&p, "/state/c", "12345678"), ENOSPC);
    cr_expect_eq(put(&p, "/state/d", "1"), ENOSPC, "the volume stays full");
    uint64_t avail = 1;
    cr_expect_eq(p.space(p.ctx, "/state", &avail, NULL, NULL), T0_OK);
    cr_expect_eq(avail, 0u);
    spec.kind = SIM_FAULT_ERROR;
    cr_assert_eq(sim_faults_inject(faults, "podfs/read", &spec, NULL), T0_OK);
    cr_expect_eq(get(&p, "/state/a"), NULL, "read: EIO");
    cr_expect_eq(sim_faults_injected(faults, "podfs/write"), 3u);
    podfs_destroy(pod);
    sim_faults_destroy(faults);
    sim_loop_destroy(loop);
}

/* A view remembers its recent resolutions (podfs.c resolve); what another container of the pod changes is
 * seen at the next call: creates, unlinks, renames and directories made in between. */
Test(podfs, a_view_sees_what_another_container_changed)
{
    fx f;
    fx_init(&f, NULL);
    volumes(&f, 0);
    podfs_view *bot = view(&f, false, 1000, true), *sync = view(&f, true, 1000, false);
    fs_port b = podfs_view_port(bot), s = podfs_view_port(sync);
    fs_stat sb;
    for (int round = 0; round < 3; round++) {
        cr_expect_eq(s.lstat(s.ctx, "/state/a.json", &sb, NULL), T0_ENOTFOUND, "round %d: not there yet", round);
        cr_expect_eq(s.lstat(s.ctx, "/state/a.json", &sb, NULL), T0_ENOTFOUND, "round %d: asked again", round);
        cr_expect_eq(put(&b, "/state/a.json", "1"), 0);
        cr_expect_eq(s.lstat(s.ctx, "/state/a.json", &sb, NULL), T0_OK, "round %d: created by the bot", round);
        cr_expect_eq(b.rename(b.ctx, "/state/a.json", "/state/b.json", NULL), T0_OK);
        cr_expect_eq(s.lstat(s.ctx, "/state/a.json", &sb, NULL), T0_ENOTFOUND, "round %d: renamed away", round);
        cr_expect_eq(s.lstat(s.ctx, "/state/b.json", &sb, NULL), T0_OK, "round %d: renamed here", round);
        cr_expect_eq(b.unlink(b.ctx, "/state/b.json", NULL), T0_OK);
        cr_expect_eq(s.lstat(s.ctx, "/state/b.json", &sb, NULL), T0_ENOTFOUND, "round %d: unlinked", round);
    }
    cr_expect_eq(s.lstat(s.ctx, "/state/d/x", &sb, NULL), T0_ENOTFOUND);
    cr_expect_eq(b.mkdir(b.ctx, "/state/d", 0755, NULL), T0_OK);
    cr_expect_eq(put(&b, "/state/d/x", "2"), 0);
    char *got = get(&s, "/state/d/x");
    cr_expect(got && !strcmp(got, "2"), "a file in a directory made since: %s", got ? got : "(none)");
    free(got);
    fx_free(&f);
}
