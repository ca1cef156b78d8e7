/* test_fs.c: fs_read_host, the whole-file reader of the host's files: content and length exact at the sizes
 * where the buffer grows, the limit to the byte, a missing file and a directory told apart. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fs.h"

static char dir[] = "/tmp/t0-test-fs-XXXXXX";

static void setup(void) { cr_assert_not_null(mkdtemp(dir), "mkdtemp"); }
static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) cr_log_warn("cannot remove %s", dir);
}

static const char *write_file(const char *name, size_t n)
{
    static char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    cr_assert_not_null(f, "cannot create %s", p);
    for (size_t i = 0; i < n; i++) fputc('a' + (int)(i % 26), f);
    cr_assert_eq(fclose(f), 0);
    return p;
}

TestSuite(fs_host, .init = setup, .fini = teardown);

Test(fs_host, reads_whole_files_at_every_growth_boundary)
{
    static const size_t sizes[] = {0, 1, 254, 255, 256, 511, 512, 4096, 100000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const char *p = write_file("f", sizes[i]);
        char *text = NULL;
        size_t len = 12345;
        t0_err e = {0};
        cr_assert_eq(fs_read_host(p, 1 << 20, &text, &len, &e), T0_OK, "%zu bytes: %s", sizes[i], e.msg);
        cr_assert_eq(len, sizes[i], "length %zu, file has %zu", len, sizes[i]);
        cr_assert_eq(strlen(text), sizes[i], "NUL at %zu, want %zu", strlen(text), sizes[i]);
        for (size_t j = 0; j < len; j++)
            cr_assert_eq(text[j], 'a' + (int)(j % 26), "%zu bytes: byte %zu is '%c'", sizes[i], j, text[j]);
        free(text);
    }
}

Test(fs_host, limit_is_exact)
{
    const char *p = write_file("g", 1000);
    char *text = NULL;
    t0_err e = {0};
    cr_assert_eq(fs_read_host(p, 1000, &text, NULL, &e), T0_OK, "a file of exactly the limit: %s", e.msg);
    free(text);
    text = (char *)1;
    cr_assert_eq(fs_read_host(p, 999, &text, NULL, &e), T0_ELIMIT, "one byte over: %s", e.msg);
    cr_assert_null(text, "no buffer handed out on failure");
    cr_assert(strstr(e.msg, p) && strstr(e.msg, "larger than 999 bytes"), "message: %s", e.msg);
}

Test(fs_host, missing_file_and_directory)
{
    char p[256], *text = NULL;
    snprintf(p, sizeof p, "%s/absent", dir);
    t0_err e = {0};
    cr_assert_eq(fs_read_host(p, 100, &text, NULL, &e), T0_ENOTFOUND, "missing: %s", e.msg);
    cr_assert(strstr(e.msg, "open ") && strstr(e.msg, p) && strstr(e.msg, "No such file"), "message: %s", e.msg);
    e = (t0_err){0};
    cr_assert_eq(fs_read_host(dir, 100, &text, NULL, &e), T0_EIO, "a directory: %s", e.msg);
    cr_assert_neq(e.sys_errno, 0, "sys_errno set for %s", e.msg);
}
