/* fuzz_apiwrite.c: libFuzzer target for what `serve` does with a client's write before the store: JSON patch
 * (kh_json_patch, RFC 6902 with RFC 6901 pointers) and field validation against the OpenAPI schemas
 * (kh_schema_check: unknown and duplicate fields, dropped under Warn). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "fakes/kube_http_impl.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    t0_log_set_level(T0_LOG_OFF);
    return 0;
}

/* reprints: OBJ encodes to JSON that parses and encodes again to the same text (duplicate keys kept) */
static void reprints(const cJSON *obj)
{
    char *js = cJSON_PrintUnformatted(obj);
    if (!js) return; /* out of memory */
    cJSON *back = cJSON_Parse(js);
    char *again = back ? cJSON_PrintUnformatted(back) : NULL;
    if (!back || (again && strcmp(js, again))) abort();
    cJSON_Delete(back);
    free(again);
    free(js);
}

/* Input: 1 byte choosing the resource, the document up to the first '\n', then the patch operations. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int rid = data[0] % KFAKE_NRES;
    char *rest = malloc(size);
    if (!rest) return 0;
    memcpy(rest, data + 1, size - 1);
    rest[size - 1] = '\0';
    char *nl = strchr(rest, '\n');
    if (nl) *nl = '\0';
    cJSON *doc = cJSON_Parse(rest), *ops = nl ? cJSON_Parse(nl + 1) : NULL;
    if (doc && cJSON_IsArray(ops)) {
        char msg[600];
        cJSON *patched = kh_json_patch(cJSON_Duplicate(doc, 1), ops, msg, sizeof msg);
        if (patched) reprints(patched);
        else if (!msg[0]) abort(); /* a failure says why */
        cJSON_Delete(patched);
    }
    if (cJSON_IsObject(doc)) {
        /* Warn drops every unknown and duplicate field: what is left passes Strict */
        kh_req q = {0};
        char errs[1024];
        if (!kh_schema_check(rid, doc, KH_FV_WARN, &q, errs, sizeof errs)) abort();
        if (!kh_schema_check(rid, doc, KH_FV_STRICT, &q, errs, sizeof errs)) abort();
        reprints(doc);
        free(q.warnings);
    }
    cJSON_Delete(doc);
    cJSON_Delete(ops);
    free(rest);
    return 0;
}
