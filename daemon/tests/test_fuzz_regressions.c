/* test_fuzz_regressions.c: replay every archive saved in fuzz/regressions/{zip,targz}/ through dar_extract. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/tests/helpers.h"
#include "fuzz/regress.h"

/* The limits the fuzz targets use (fuzz/archive_harness.h). */
static const dar_limits fuzz_lim = {.max_total = 1 << 20, .max_file = 256 << 10, .max_entries = 64};

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(p);
    return 0;
}

/* Extract every file of fuzz/regressions/TARGET into TMP/p/dest and check that nothing but dest's own
 * ancestors appears beside it. Returns the number of inputs. */
static int replay(const char *target, dar_format fmt)
{
    char **paths;
    size_t n = fuzz_regressions(target, &paths);
    for (size_t i = 0; i < n; i++) {
        const char *path = paths[i];
        char top[] = "/tmp/t0-fuzzreg-XXXXXX";
        cr_assert(mkdtemp(top));
        char parent[600], dest[700];
        snprintf(parent, sizeof parent, "%s/p", top);
        snprintf(dest, sizeof dest, "%s/p/dest", top);
        cr_assert(mkdir(parent, 0755) == 0 && mkdir(dest, 0755) == 0);
        t0_err err = {0};
        dar_stats stats = {0};
        t0_status st = dar_extract(th_fs(), path, fmt, dest, &fuzz_lim, &stats, &err);
        cr_assert(st == T0_OK || ((st == T0_EINVAL || st == T0_ELIMIT || st == T0_EIO) && err.msg[0]),
                  "%s: status %s, message \"%s\"", path, t0_status_name(st), err.msg);
        cr_assert_leq(stats.bytes, fuzz_lim.max_total, "%s", path);
        DIR *pd = opendir(parent);
        for (struct dirent *e; (e = readdir(pd));)
            cr_assert(!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, "dest"),
                      "%s: \"%s\" escaped next to the destination", path, e->d_name);
        closedir(pd);
        nftw(top, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
        free(paths[i]);
    }
    free(paths);
    return (int)n;
}

Test(fuzz_regressions, zip) { cr_log_info("zip: %d inputs", replay("zip", DAR_ZIP)); }
Test(fuzz_regressions, targz) { cr_log_info("targz: %d inputs", replay("targz", DAR_TARGZ)); }
