/* test_fuzz_regressions.c: replay every input saved in fuzz/regressions/{kubeconfig,kubestatus}/ through kube_rest's decoders. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/kube_rest.h"
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

static void one_kubeconfig(const char *path, const char *data, size_t len)
{
    kuberest_config c;
    t0_err err = {0};
    t0_status st = kuberest_config_kubeconfig_text(data, len, "/base", NULL, &c, &err);
    cr_assert(st == T0_OK || (st == T0_EINVAL && err.msg[0]), "%s: status %s, message \"%s\"", path,
              t0_status_name(st), err.msg);
    kuberest_config_free(&c);
}

/* Layout as in fuzz/fuzz_kubestatus.c: 2 bytes HTTP status, Retry-After up to '\n', then the body. */
static void one_kubestatus(const char *path, const char *data, size_t len)
{
    if (len < 2) return;
    long http = (long)((((unsigned char)data[0]) << 8 | (unsigned char)data[1]) % 600);
    char *rest = strdup(data + 2);
    char *nl = strchr(rest, '\n');
    const char *retry_after = NULL, *body = rest;
    if (nl) {
        *nl = '\0';
        retry_after = rest;
        body = nl + 1;
    }
    t0_err err = {0};
    t0_status st = kuberest_map_error(http, body, retry_after, "replay", &err);
    cr_assert((st == T0_OK) == (http >= 200 && http < 300), "%s: status %s for HTTP %ld", path, t0_status_name(st), http);
    if (st != T0_OK) {
        cr_assert(err.retry_after_ms >= 0, "%s: negative retry_after_ms %ld", path, err.retry_after_ms);
        /* retryAfterSeconds is an int32 in the API: the delay stays within it */
        cr_assert(err.retry_after_ms <= 2147483647L * 1000, "%s: retry_after_ms %ld", path, err.retry_after_ms);
    }
    free(rest);
}

Test(fuzz_regressions, kubeconfig) { cr_log_info("kubeconfig: %d inputs", replay("kubeconfig", one_kubeconfig)); }
Test(fuzz_regressions, kubestatus) { cr_log_info("kubestatus: %d inputs", replay("kubestatus", one_kubestatus)); }
