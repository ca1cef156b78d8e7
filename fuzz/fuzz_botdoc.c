/* fuzz_botdoc.c: libFuzzer target for botdoc_parse_text (MongoDB documents as JSON), clone and the accessors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain/botdoc.h"
#include "core/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    t0_log_set_level(T0_LOG_OFF);
    return 0;
}

static void check_doc(const botdoc *d)
{
    /* strings are never NULL; id is non-empty; config and entrypoints are objects when present */
    if (!d->id || !d->id[0] || !d->version || !d->file_path || !d->name || !d->runtime) abort();
    if (d->config && !cJSON_IsObject(d->config)) abort();
    if (d->entrypoints) {
        if (!cJSON_IsObject(d->entrypoints)) abort();
        for (const cJSON *e = d->entrypoints->child; e; e = e->next)
            if (!cJSON_IsString(e)) abort();
    }
    if (d->enabled != BOTDOC_ABSENT && d->enabled != BOTDOC_FALSE && d->enabled != BOTDOC_TRUE) abort();
}

/* Deep equality by printed form (cJSON_Compare mismatches objects with duplicate keys). */
static bool same_json(const cJSON *a, const cJSON *b)
{
    if (!a || !b) return a == b;
    char *pa = cJSON_PrintUnformatted(a), *pb = cJSON_PrintUnformatted(b);
    bool same = pa && pb && !strcmp(pa, pb);
    if (!pa || !pb) same = true; /* out of memory: nothing to compare */
    free(pa);
    free(pb);
    return same;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    botdoc *d = NULL;
    t0_err err = {0};
    t0_status st = botdoc_parse_text((const char *)data, size, &d, &err);
    if (st != T0_OK) {
        if (st != T0_EINVAL || !err.msg[0]) abort();
        return 0;
    }
    check_doc(d);
    (void)botdoc_is_enabled(d);
    (void)botdoc_schedule(d);
    const char *ep = botdoc_entrypoint(d, "bot");
    botdoc *c = NULL;
    if (botdoc_clone(d, &c, NULL) != T0_OK) abort();
    check_doc(c);
    if (strcmp(c->id, d->id) || strcmp(c->version, d->version) || strcmp(c->file_path, d->file_path) ||
        strcmp(c->name, d->name) || strcmp(c->runtime, d->runtime) || c->enabled != d->enabled ||
        botdoc_is_enabled(c) != botdoc_is_enabled(d) || !same_json(c->config, d->config) ||
        !same_json(c->entrypoints, d->entrypoints))
        abort();
    const char *ep2 = botdoc_entrypoint(c, "bot");
    if ((ep == NULL) != (ep2 == NULL) || (ep && strcmp(ep, ep2))) abort();
    botdoc_destroy(c);
    botdoc_destroy(d);
    return 0;
}
