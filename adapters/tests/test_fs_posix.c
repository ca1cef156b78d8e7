/* test_fs_posix.c: the POSIX filesystem port: errno contract, exact modes, the helpers of core/fs.h over it, and
 * inotify watches delivered on the rtloop (a directory created later is watched too; unwatch is final). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapters/fs_posix.h"

typedef struct fx {
    rtloop *l;
    fs_posix *p;
    fs_port fs;
    char dir[64];
} fx;

static void fx_init(fx *f)
{
    cr_assert_eq(rtloop_new(&f->l, NULL), T0_OK);
    cr_assert_eq(fs_posix_new(f->l, &f->p, NULL), T0_OK);
    f->fs = fs_posix_port(f->p);
    snprintf(f->dir, sizeof f->dir, "/tmp/t0-fsposix-XXXXXX");
    cr_assert_not_null(mkdtemp(f->dir));
}

static void fx_free(fx *f)
{
    fs_rmtree(&f->fs, f->dir, NULL);
    fs_posix_free(f->p);
    rtloop_destroy(f->l);
}

static char *path(const fx *f, const char *rel)
{
    static char buf[4][256];
    static int i;
    char *b = buf[i++ % 4];
    snprintf(b, 256, "%s/%s", f->dir, rel);
    return b;
}

Test(fs_posix, errno_contract_exact_modes_and_helpers)
{
    fx f;
    fx_init(&f);
    t0_err e = {0};
    fs_stat sb;
    cr_assert_eq(f.fs.lstat(f.fs.ctx, path(&f, "none"), &sb, &e), T0_ENOTFOUND, "%s", e.msg);
    cr_assert_eq(f.fs.mkdir(f.fs.ctx, path(&f, "d"), 0700, &e), T0_OK, "%s", e.msg);
    cr_assert_eq(f.fs.mkdir(f.fs.ctx, path(&f, "d"), 0700, &e), T0_EEXIST);
    cr_assert_eq(f.fs.lstat(f.fs.ctx, path(&f, "d"), &sb, &e), T0_OK);
    cr_assert(sb.type == FS_DIR && sb.perm == 0700, "type %d perm %o", sb.type, sb.perm);
    mode_t old = umask(077); /* a create gives exactly the mode asked for, whatever the umask */
    cr_assert_eq(fs_write_atomic(&f.fs, path(&f, "d/a.json"), "{}", 2, 0644, &e), T0_OK, "%s", e.msg);
    umask(old);
    cr_assert_eq(f.fs.lstat(f.fs.ctx, path(&f, "d/a.json"), &sb, &e), T0_OK);
    cr_assert(sb.type == FS_REG && sb.perm == 0644 && sb.size == 2, "perm %o size %llu", sb.perm, (unsigned long long)sb.size);
    cr_assert_neq(access(path(&f, "d/a.json.tmp"), F_OK), 0, "the temporary file stayed");
    char *text = NULL;
    cr_assert_eq(fs_read_all(&f.fs, path(&f, "d/a.json"), 100, &text, NULL, &e), T0_OK);
    cr_assert_str_eq(text, "{}");
    free(text);
    cr_assert_eq(f.fs.symlink(f.fs.ctx, "a.json", path(&f, "d/link"), &e), T0_OK);
    fs_file *fh;
    t0_status st = f.fs.open(f.fs.ctx, path(&f, "d/link"), FS_WRITE | FS_NOFOLLOW, 0, &fh, &e);
    cr_assert_eq(st, T0_EIO);
    cr_assert_eq(e.sys_errno, ELOOP, "FS_NOFOLLOW on a symlink: errno %d (%s)", e.sys_errno, e.msg);
    cr_assert_eq(f.fs.rmdir(f.fs.ctx, path(&f, "d"), &e), T0_EIO);
    cr_assert_eq(e.sys_errno, ENOTEMPTY);
    /* a FILE over the port: written, then read back with SEEK_END */
    fs_stream *s;
    cr_assert_eq(fs_stream_open(&f.fs, path(&f, "d/s.bin"), FS_WRITE | FS_CREATE | FS_TRUNC, 0600, &s, &e), T0_OK);
    fputs("hello stream", s->fp);
    cr_assert_eq(fs_stream_close(s, &e), T0_OK, "%s", e.msg);
    cr_assert_eq(fs_stream_open(&f.fs, path(&f, "d/s.bin"), FS_READ, 0, &s, &e), T0_OK);
    cr_assert_eq(fseeko(s->fp, 0, SEEK_END), 0);
    cr_assert_eq(ftello(s->fp), 12);
    fs_stream_close(s, NULL);
    cr_assert_eq(fs_rmtree(&f.fs, path(&f, "d"), &e), T0_OK, "%s", e.msg);
    cr_assert_eq(f.fs.lstat(f.fs.ctx, path(&f, "d"), &sb, NULL), T0_ENOTFOUND);
    uint64_t avail = 0, total = 0;
    cr_assert_eq(f.fs.space(f.fs.ctx, f.dir, &avail, &total, &e), T0_OK);
    cr_assert(total > 0 && avail <= total);
    fx_free(&f);
}

typedef struct seen {
    char names[64][256];
    int n, lost;
    rtloop *l;
} seen;

static void on_change(void *ud, const char *name)
{
    seen *s = ud;
    if (!name) s->lost++;
    else if (s->n < 64) snprintf(s->names[s->n++], 256, "%s", name);
}

static bool saw(const seen *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->names[i], name)) return true;
    return false;
}

Test(fs_posix, tree_watch_on_the_loop_follows_new_directories)
{
    fx f;
    fx_init(&f);
    seen s = {.l = f.l};
    fs_watch *w;
    t0_err e = {0};
    cr_assert_eq(f.fs.watch(f.fs.ctx, f.dir, FS_WATCH_TREE, on_change, &s, &w, &e), T0_OK, "%s", e.msg);
    cr_assert_eq(f.fs.mkdir(f.fs.ctx, path(&f, "sub"), 0755, &e), T0_OK);
    rtloop_run(f.l, 100); /* the new directory is watched from its creation event on */
    cr_assert(saw(&s, "sub"), "the creation of sub was not reported (%d events)", s.n);
    cr_assert_eq(fs_write_all(&f.fs, path(&f, "sub/x.json"), "1", 1, 0644, &e), T0_OK);
    rtloop_run(f.l, 100);
    cr_assert(saw(&s, "sub/x.json"), "a write in a directory created after the watch was not reported (%d events)", s.n);
    f.fs.unwatch(f.fs.ctx, w);
    int before = s.n;
    fs_write_all(&f.fs, path(&f, "sub/y.json"), "2", 1, 0644, NULL);
    rtloop_run(f.l, 100);
    cr_assert_eq(s.n, before, "a callback ran after unwatch");
    /* without a loop there is no notification, and the caller is told */
    fs_posix *p2;
    cr_assert_eq(fs_posix_new(NULL, &p2, NULL), T0_OK);
    fs_port fs2 = fs_posix_port(p2);
    cr_assert_eq(fs2.watch(fs2.ctx, f.dir, 0, on_change, &s, &w, &e), T0_EUNAVAILABLE);
    fs_posix_free(p2);
    fx_free(&f);
}
