/* test_fuzz_regressions.c: replay every input saved in fuzz/regressions/scenario/ through scn_parse. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/regress.h"
#include "scenarios/scn.h"

Test(fuzz_regressions, scenario)
{
    char **paths;
    size_t n = fuzz_regressions("scenario", &paths);
    for (size_t i = 0; i < n; i++) {
        /* scn_parse_file reads it as `the0-sim replay` does */
        scn_script *s = NULL;
        t0_err err = {0};
        t0_status st = scn_parse_file(paths[i], &s, NULL, &err);
        cr_assert(st == T0_OK || ((st == T0_EINVAL || st == T0_ELIMIT) && err.msg[0] && !s),
                  "%s: status %s, message \"%s\"", paths[i], t0_status_name(st), err.msg);
        scn_script_free(s);
        free(paths[i]);
    }
    free(paths);
    cr_log_info("scenario: %zu inputs", n);
}
