/* test_botprog.c: the readers of what the bot program model writes: its state documents (whole or cut),
 * its log lines (whole or cut), and state archives (whole or truncated). */
#include <archive.h>
#include <archive_entry.h>
#include <criterion/criterion.h>
#include <string.h>

#include "core/objstore.h"
#include "core/str.h"
#include "fakes/botprog.h"

Test(botprog, documents_whole_or_cut)
{
    uint64_t seq = 0;
    char v[64];
    const char *doc = "{\"value\":\"lo\\\"ng\",\"seq\":17}";
    cr_assert(botprog_doc_parse(doc, strlen(doc), &seq, v, sizeof v));
    cr_assert_eq(seq, 17u);
    cr_assert_str_eq(v, "lo\"ng");
    for (size_t cut = 0; cut < strlen(doc); cut++)
        cr_assert(!botprog_doc_parse(doc, cut, &seq, v, sizeof v), "a document cut at %zu reads as whole", cut);
    const char *utf8 = "{\"value\":\"caf\xc3\xa9\",\"seq\":2}";
    cr_assert(botprog_doc_parse(utf8, strlen(utf8), &seq, v, sizeof v));
    cr_assert_str_eq(v, "caf\xc3\xa9");
}

Test(botprog, log_lines_whole_or_cut)
{
    const char *l = "[2026-01-05 00:00:01] b1 tick #12.";
    cr_assert_eq(botprog_line_number(l, strlen(l)), 12u);
    cr_assert_eq(botprog_line_number("b1 tick #12", 11), 0u, "no terminator: cut");
    cr_assert_eq(botprog_line_number("b1 tick #1", 10), 0u, "#12. cut to #1 is not line 1");
    cr_assert_eq(botprog_line_number("SIGNAL: Received SIGTERM, shutting down.", 40), 0u);
}

static la_ssize_t put(struct archive *a, void *ud, const void *buf, size_t n)
{
    (void)a;
    objstore_buf_append(ud, buf, n);
    return (la_ssize_t)n;
}

static void targz(objstore_buf *out, const char *name, const char *data)
{
    t0_utf8_scope loc = t0_utf8_enter();
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_add_filter_gzip(a);
    archive_write_set_bytes_in_last_block(a, 1); /* as the daemon writes them: no padding after the gzip stream */
    archive_write_open2(a, out, NULL, put, NULL, NULL);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname_utf8(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)strlen(data));
    archive_write_header(a, e);
    archive_write_data(a, data, strlen(data));
    archive_entry_free(e);
    archive_write_close(a);
    archive_write_free(a);
    t0_utf8_leave(loc);
}

static void each(void *ud, const char *name, const char *data, size_t len)
{
    char *got = ud;
    snprintf(got, 256, "%s=%.*s", name, (int)len, data);
}

Test(botprog, archives_whole_or_truncated)
{
    objstore_buf b = {0};
    targz(&b, ".the0-state/caf\xc3\xa9.json", "{\"value\":\"1\",\"seq\":1}");
    char got[256] = "";
    t0_err err = {0};
    cr_assert_eq(botprog_archive_each(b.data, b.len, each, got, &err), T0_OK, "%s", err.msg);
    cr_assert_str_eq(got, ".the0-state/caf\xc3\xa9.json={\"value\":\"1\",\"seq\":1}");
    cr_assert_eq(botprog_archive_each(b.data, b.len / 2, each, got, &err), T0_EINVAL, "a truncated tar.gz is whole");
    cr_assert_eq(botprog_archive_each("garbage", 7, each, got, &err), T0_EINVAL);
    objstore_buf_free(&b);
}
