/* test_fuzz_regressions.c: replay every input saved in fuzz/regressions/scenario/ through scn_parse. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenarios/scn.h"

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

Test(fuzz_regressions, scenario)
{
    char src[] = __FILE__, dir[1024];
    snprintf(dir, sizeof dir, "%s/../../fuzz/regressions/scenario", dirname(src));
    DIR *d = opendir(dir);
    if (!d) return; /* nothing saved yet */
    char *names[1024];
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 1024;)
        if (e->d_name[0] != '.' && !strstr(e->d_name, ".md")) names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        /* scn_parse_file reads it as `the0-sim replay` does */
        scn_script *s = NULL;
        t0_err err = {0};
        t0_status st = scn_parse_file(path, &s, &err);
        cr_assert(st == T0_OK || ((st == T0_EINVAL || st == T0_ELIMIT) && err.msg[0] && !s),
                  "%s: status %s, message \"%s\"", path, t0_status_name(st), err.msg);
        scn_script_free(s);
        free(names[i]);
    }
    cr_log_info("scenario: %zu inputs", n);
}
