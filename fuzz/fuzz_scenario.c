/* fuzz_scenario.c: libFuzzer target for the scenario-file parser (scn_parse) and its duration/offset helpers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "scenarios/scn.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    t0_log_set_level(T0_LOG_OFF);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    scn_script *s = NULL;
    scn_errors errs = {0};
    t0_err err = {0};
    t0_status st = scn_parse("fuzz.scn", text, &s, &errs, &err);
    if (st == T0_OK) {
        if (!s || errs.n) abort();
        int64_t prev = 0;
        for (size_t i = 0; i < s->n; i++) {
            const scn_stmt *t = &s->st[i];
            /* documented: file order, at_ms never decreases */
            if (t->at_ms < prev || t->within_ms < 0 || t->line < 1 || !t->text) abort();
            /* a typed statement: a verb of the grammar, conditions only after expect/always */
            if ((unsigned)t->verb >= SCN_VERB__COUNT) abort();
            if (scn_verb_is_condition(t->verb) != (t->type != SCN_ACTION) && t->verb != SCN_INVARIANT) abort();
            prev = t->at_ms;
            char buf[32];
            scn_format_offset(t->at_ms, buf, sizeof buf);
        }
        scn_script_free(s);
    } else if ((st != T0_EINVAL && st != T0_ELIMIT && st != T0_ENOMEM) || !err.msg[0] || s) {
        abort();
    } else if (st == T0_EINVAL) {
        /* every error is reported with its place; the first is also in err */
        if (!errs.n || strncmp(errs.msg[0], err.msg, strlen(errs.msg[0]))) abort();
        for (size_t i = 0; i < errs.n; i++)
            if (strncmp(errs.msg[i], "fuzz.scn:", 9)) abort();
    }
    scn_errors_free(&errs);
    /* the whole input as a duration too */
    int64_t ms;
    if (scn_parse_duration(text, &ms) && ms < 0) abort();
    free(text);
    return 0;
}
