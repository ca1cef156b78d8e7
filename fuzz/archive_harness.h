/* archive_harness.h: shared body of fuzz_zip.c / fuzz_targz.c: dar_extract on the input, then check nothing escaped. */
#ifndef FUZZ_ARCHIVE_HARNESS_H
#define FUZZ_ARCHIVE_HARNESS_H

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapters/fs_posix.h"
#include "core/log.h"
#include "daemon/daemon.h"

#ifndef FUZZ_FORMAT
#error "define FUZZ_FORMAT (DAR_ZIP or DAR_TARGZ) before including archive_harness.h"
#endif

/* Small limits so bombs hit them quickly. */
static const dar_limits fz_lim = {.max_total = 1 << 20, .max_file = 256 << 10, .max_entries = 64};

/* Layout under a private temporary directory TOP:
 *   TOP/in.bin            the input
 *   TOP/p1/p2/p3/p4/dest  the extraction target; an entry escaping up to five levels lands in TOP or below,
 *                         where the walk after each run finds it. */
static char fz_top[256], fz_in[300], fz_work[300], fz_dest[320];
static size_t fz_dest_len;
static fs_port fz_fs; /* the POSIX port */

static int fz_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(p);
    return 0;
}

static void fz_rmrf(const char *p) { nftw(p, fz_rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

static void fz_cleanup(void) { fz_rmrf(fz_top); }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    t0_log_set_level(T0_LOG_OFF);
    /* tmpfs when there is one: on ext4 the mkdir/unlink of every run costs more than the extraction */
    const char *tmp = getenv("FUZZ_TMPDIR");
    if (!tmp || !*tmp) tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    snprintf(fz_top, sizeof fz_top, "%s/t0-fuzz-archive-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(fz_top)) {
        perror("mkdtemp");
        abort();
    }
    snprintf(fz_in, sizeof fz_in, "%s/in.bin", fz_top);
    snprintf(fz_work, sizeof fz_work, "%s/p1", fz_top);
    snprintf(fz_dest, sizeof fz_dest, "%s/p1/p2/p3/p4/dest", fz_top);
    fz_dest_len = strlen(fz_dest);
    fs_posix *p;
    if (fs_posix_new(NULL, &p, NULL) != T0_OK) abort();
    fz_fs = fs_posix_port(p);
    atexit(fz_cleanup);
    return 0;
}

/* Walk state: what was found under TOP after one extraction (directories not counted). */
static uint64_t fz_files, fz_bytes, fz_entries;

static void fz_fail(const char *why, const char *path)
{
    fprintf(stderr, "fuzz archive oracle: %s: %s\n", why, path);
    abort();
}

static int fz_check_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)flag, (void)ftw;
    size_t n = strlen(p);
    bool in_dest = n > fz_dest_len && !strncmp(p, fz_dest, fz_dest_len) && p[fz_dest_len] == '/';
    if (!in_dest) {
        /* outside dest only the input and dest's own ancestors (all directories) may exist */
        bool ancestor = n <= fz_dest_len && !strncmp(p, fz_dest, n) && (fz_dest[n] == '/' || fz_dest[n] == '\0');
        if (!strcmp(p, fz_in) || (ancestor && S_ISDIR(sb->st_mode))) return 0;
        fz_fail("entry escaped the destination", p);
    }
    if (!S_ISDIR(sb->st_mode)) fz_entries++; /* parents made for deeper entries are not entries */
    if (sb->st_mode & (S_ISUID | S_ISGID | S_ISVTX)) fz_fail("setuid/setgid/sticky bit kept", p);
    if (S_ISREG(sb->st_mode)) {
        if (sb->st_nlink != 1) fz_fail("hard link created", p);
        if ((uint64_t)sb->st_size > fz_lim.max_file) fz_fail("file above max_file", p);
        fz_files++;
        fz_bytes += (uint64_t)sb->st_size;
    } else if (S_ISLNK(sb->st_mode)) {
        char t[4096];
        ssize_t tl = readlink(p, t, sizeof t - 1);
        if (tl < 0) fz_fail("unreadable symlink", p);
        t[tl] = '\0';
        if (t[0] == '/') fz_fail("absolute symlink kept", p);
        for (const char *q = t; *q;) {
            const char *s = q;
            while (*q && *q != '/') q++;
            if (q - s == 2 && s[0] == '.' && s[1] == '.') fz_fail("symlink with \"..\" kept", p);
            if (*q) q++;
        }
    } else if (!S_ISDIR(sb->st_mode)) {
        fz_fail("device, FIFO or socket created", p);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_rmrf(fz_work);
    int fd = open(fz_in, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size || close(fd) != 0) {
        perror("write input");
        abort();
    }
    if (fs_mkdirs(&fz_fs, fz_dest, 0755, NULL) != T0_OK) abort();

    dar_stats stats = {0};
    t0_err err = {0};
    t0_status st = dar_extract(&fz_fs, fz_in, FUZZ_FORMAT, fz_dest, &fz_lim, &stats, &err);
    if (st != T0_OK && st != T0_EINVAL && st != T0_ELIMIT && st != T0_EIO) {
        fprintf(stderr, "unexpected status %s: %s\n", t0_status_name(st), err.msg);
        abort();
    }
    if (st != T0_OK && !err.msg[0]) abort();
    if (stats.bytes > fz_lim.max_total || stats.files + stats.dirs + stats.links + stats.skipped > fz_lim.max_entries)
        abort();

    fz_files = fz_bytes = fz_entries = 0;
    nftw(fz_top, fz_check_cb, 16, FTW_PHYS);
    if (fz_bytes > fz_lim.max_total) fz_fail("total above max_total", fz_dest);
    if (fz_entries > fz_lim.max_entries) fz_fail("more files and links than max_entries", fz_dest);
    /* a later entry may overwrite an earlier one, so the disk holds at most what the stats counted */
    if (fz_files > stats.files || fz_bytes > stats.bytes) fz_fail("more on disk than the stats say", fz_dest);
    return 0;
}

#endif
