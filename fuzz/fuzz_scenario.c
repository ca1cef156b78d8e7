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
    t0_err err = {0};
    t0_status st = scn_parse("fuzz.scn", text, &s, &err);
    if (st == T0_OK) {
        if (!s) abort();
        int64_t prev = 0;
        for (size_t i = 0; i < s->n; i++) {
            /* documented: file order, at_ms never decreases */
            if (s->st[i].at_ms < prev || s->st[i].within_ms < 0 || s->st[i].line < 1) abort();
            prev = s->st[i].at_ms;
            char buf[32];
            scn_format_offset(s->st[i].at_ms, buf, sizeof buf);
        }
        scn_script_free(s);
    } else if ((st != T0_EINVAL && st != T0_ELIMIT) || !err.msg[0] || s) {
        abort();
    }
    /* the whole input as a duration too */
    int64_t ms;
    if (scn_parse_duration(text, &ms) && ms < 0) abort();
    free(text);
    return 0;
}
