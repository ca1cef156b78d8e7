/* fuzz_gojson.c: libFuzzer target for the Go-compatible JSON encoder: encode(any JSON) is valid JSON, re-encodes, then is a fixed point. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain/gojson.h"
#include "core/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    t0_log_set_level(T0_LOG_OFF);
    return 0;
}

/* The first 8 bytes as a double: gojson_format_float must round-trip every finite value. */
static void check_float(const uint8_t *data, size_t size)
{
    if (size < 8) return;
    double x;
    memcpy(&x, data, sizeof x);
    char buf[64];
    t0_status st = gojson_format_float(x, buf, sizeof buf, NULL);
    if (isnan(x) || isinf(x)) {
        if (st != T0_EINVAL) abort();
        return;
    }
    if (st != T0_OK || strlen(buf) >= 32) abort();
    if (strtod(buf, NULL) != x || signbit(strtod(buf, NULL)) != signbit(x)) abort();
}

/* parse TEXT back and encode it again; both must succeed */
static char *reencode(const char *text, size_t len)
{
    cJSON *w = cJSON_ParseWithLength(text, len);
    if (!w) abort();
    char *out = NULL;
    if (gojson_encode(w, &out, NULL, NULL) != T0_OK) abort();
    cJSON_Delete(w);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_float(data, size);
    cJSON *v = cJSON_ParseWithLength((const char *)data, size);
    if (!v) return 0;
    char *out = NULL;
    size_t len = 0;
    t0_err err = {0};
    t0_status st = gojson_encode(v, &out, &len, &err);
    if (st == T0_OK) {
        if (!out || strlen(out) != len) abort();
        /* The output is valid JSON that encodes again. Not byte for byte: invalid UTF-8 became the escape
         * \ufffd, which reads back as a valid U+FFFD that Go (and we) then write raw. From the second round
         * on it is a fixed point. */
        char *out2 = reencode(out, len), *out3 = reencode(out2, strlen(out2));
        if (strlen(out2) > len || strcmp(out2, out3)) abort();
        free(out3);
        free(out2);
        free(out);
    } else if ((st != T0_EINVAL && st != T0_ELIMIT) || !err.msg[0] || out) {
        abort();
    }
    cJSON_Delete(v);
    return 0;
}
