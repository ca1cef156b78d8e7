/* fuzz_kubestatus.c: libFuzzer target for decoding Kubernetes API answers (kuberest_map_error: Status JSON body, Retry-After). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/kube_rest.h"
#include "core/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    t0_log_set_level(T0_LOG_OFF);
    return 0;
}

/* Input: 2 bytes of HTTP status (mod 600), the Retry-After header up to the first '\n', then the body. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    long http = (long)((data[0] << 8 | data[1]) % 600);
    char *rest = malloc(size - 2 + 1);
    if (!rest) return 0;
    memcpy(rest, data + 2, size - 2);
    rest[size - 2] = '\0';
    char *nl = strchr(rest, '\n');
    const char *retry_after = NULL, *body = rest;
    if (nl) {
        *nl = '\0';
        retry_after = rest;
        body = nl + 1;
    }
    t0_err err = {0};
    t0_status st = kuberest_map_error(http, body, retry_after, "fuzz Pod the0/bot-1", &err);
    if ((st == T0_OK) != (http >= 200 && http < 300)) abort();
    if (st != T0_OK) {
        if (err.http_status != http || err.retry_after_ms < 0 || !err.msg[0]) abort();
        if (st != T0_ETOOMANY && err.retry_after_ms != 0) abort();
    }
    /* the same answer without a body or header */
    (void)kuberest_map_error(http, NULL, NULL, "fuzz", NULL);
    free(rest);
    return 0;
}
