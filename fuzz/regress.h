/* regress.h: the inputs saved in fuzz/regressions/<target>/, for the modules' Criterion replay tests
 * (header-only: each test binary includes it once). */
#ifndef T0_FUZZ_REGRESS_H
#define T0_FUZZ_REGRESS_H

#include <dirent.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline int fuzz_regress_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* fuzz_regressions: the paths of every saved input of TARGET (notes *.md and dot files left out), sorted.
 * *out is a malloc'd array of malloc'd strings the caller frees; 0 when none is saved (or no folder). */
static inline size_t fuzz_regressions(const char *target, char ***out)
{
    char here[] = __FILE__, dir[1024];
    snprintf(dir, sizeof dir, "%s/regressions/%s", dirname(here), target);
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d) return 0;
    char **paths = NULL;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.' || strstr(e->d_name, ".md")) continue;
        char **grown = realloc(paths, (n + 1) * sizeof *paths);
        if (!grown) break;
        paths = grown;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        if (!(paths[n] = malloc(len))) break;
        snprintf(paths[n++], len, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (n > 1) qsort(paths, n, sizeof *paths, fuzz_regress_cmp);
    *out = paths;
    return n;
}

/* fuzz_regression_read: the bytes of PATH, NUL-terminated (not counted in *len); NULL when unreadable. */
static inline char *fuzz_regression_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[n] = '\0', *len = (size_t)n;
    return buf;
}

#endif
