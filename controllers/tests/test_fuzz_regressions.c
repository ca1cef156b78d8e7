/* test_fuzz_regressions.c: replay every input saved in fuzz/regressions/<target>/ through the controllers' parsers. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/botdoc.h"
#include "domain/cronexpr.h"
#include "domain/gojson.h"
#include "domain/names.h"
#include "controllers/podgen.h"
#include "controllers/subscriber.h"
#include "fuzz/regress.h"

/* Call FN on the bytes of every file in fuzz/regressions/TARGET (sorted; none is fine). Returns the count. */
static int replay(const char *target, void (*fn)(const char *path, const char *data, size_t len))
{
    char **paths;
    size_t n = fuzz_regressions(target, &paths);
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        char *buf = fuzz_regression_read(paths[i], &len);
        cr_assert(buf, "read %s", paths[i]);
        fn(paths[i], buf, len);
        free(buf);
        free(paths[i]);
    }
    free(paths);
    return (int)n;
}

static void is_ok_or_error(const char *path, t0_status st, const t0_err *err)
{
    cr_assert(st == T0_OK || ((st == T0_EINVAL || st == T0_ELIMIT) && err->msg[0]), "%s: status %s, message \"%s\"",
              path, t0_status_name(st), err->msg);
}

static void one_cron(const char *path, const char *data, size_t len)
{
    (void)len;
    cronexpr c;
    t0_err err = {0};
    t0_status st = cronexpr_parse(data, &c, &err);
    is_ok_or_error(path, st, &err);
    if (st) return;
    int64_t next;
    t0_status ns = cronexpr_next(&c, 1700000000, &next, NULL);
    cr_assert(ns == T0_OK || ns == T0_ENOTFOUND, "%s: cronexpr_next %s", path, t0_status_name(ns));
    if (ns == T0_OK) cr_assert_gt(next, 1700000000, "%s", path);
    char conv[512];
    (void)names_convert_cron(data, conv, sizeof conv, NULL);
}

static void one_payload(const char *path, const char *data, size_t len)
{
    for (store_coll coll = STORE_BOTS; coll <= STORE_SCHEDULES; coll++)
        for (sub_op op = SUB_CREATED; op <= SUB_DELETED; op++) {
            cJSON *f = NULL;
            t0_err err = {0};
            t0_status st = sub_parse_payload(coll, op, data, len, &f, &err);
            is_ok_or_error(path, st, &err);
            cr_assert((st == T0_OK) == (f != NULL), "%s: output and status disagree", path);
            cJSON_Delete(f);
        }
}

static void one_botdoc(const char *path, const char *data, size_t len)
{
    botdoc *d = NULL;
    t0_err err = {0};
    t0_status st = botdoc_parse_text(data, len, &d, &err);
    is_ok_or_error(path, st, &err);
    if (st) return;
    botdoc *c = NULL;
    cr_assert_eq(botdoc_clone(d, &c, NULL), T0_OK, "%s: clone", path);
    (void)botdoc_is_enabled(c);
    (void)botdoc_schedule(c);
    (void)botdoc_entrypoint(c, "bot");
    botdoc_destroy(c);
    botdoc_destroy(d);
}

static void one_gojson(const char *path, const char *data, size_t len)
{
    cJSON *v = cJSON_ParseWithLength(data, len);
    if (!v) return; /* the target only encodes what parses */
    char *out = NULL;
    t0_err err = {0};
    t0_status st = gojson_encode(v, &out, NULL, &err);
    is_ok_or_error(path, st, &err);
    if (!st) {
        cJSON *w = cJSON_Parse(out);
        cr_assert(w, "%s: encoder output is not JSON: %s", path, out);
        cJSON_Delete(w);
    }
    free(out);
    cJSON_Delete(v);
}

static void one_podgen(const char *path, const char *data, size_t len)
{
    botdoc *d = NULL;
    if (botdoc_parse_text(data, len, &d, NULL) != T0_OK) return;
    podgen_settings s;
    podgen_settings_defaults(&s);
    cJSON *o = NULL;
    t0_err err = {0};
    t0_status st = podgen_pod(&s, d, &o, &err);
    is_ok_or_error(path, st, &err);
    cJSON_Delete(o);
    o = NULL;
    t0_err err2 = {0};
    st = podgen_cronjob(&s, d, &o, &err2);
    is_ok_or_error(path, st, &err2);
    cJSON_Delete(o);
    botdoc_destroy(d);
}

Test(fuzz_regressions, cron) { cr_log_info("cron: %d inputs", replay("cron", one_cron)); }
Test(fuzz_regressions, payload) { cr_log_info("payload: %d inputs", replay("payload", one_payload)); }
Test(fuzz_regressions, botdoc) { cr_log_info("botdoc: %d inputs", replay("botdoc", one_botdoc)); }
Test(fuzz_regressions, gojson) { cr_log_info("gojson: %d inputs", replay("gojson", one_gojson)); }
Test(fuzz_regressions, podgen) { cr_log_info("podgen: %d inputs", replay("podgen", one_podgen)); }
