/* fuzz_payload.c: libFuzzer target for NATS payloads: sub_parse_payload (bots and schedules, every operation) then
 * sub_apply, unversioned and versioned, on a stub store. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/subscriber.h"
#include "core/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    t0_log_set_level(T0_LOG_OFF);
    return 0;
}

/* A store that has no documents and accepts every write (it only checks what it is given). */
static t0_status st_get(void *ctx, store_coll c, const char *id, cJSON **out, t0_err *err)
{
    (void)ctx, (void)c, (void)id;
    *out = NULL;
    return t0_fail(err, T0_ENOTFOUND, "not found");
}
static t0_status st_upsert(void *ctx, store_coll c, const char *id, const cJSON *fields, t0_err *err)
{
    (void)ctx, (void)c, (void)err;
    const cJSON *fid = cJSON_GetObjectItemCaseSensitive(fields, "id");
    if (!cJSON_IsString(fid) || strcmp(fid->valuestring, id)) abort();
    return T0_OK;
}
static t0_status st_remove(void *ctx, store_coll c, const char *id, t0_err *err)
{
    (void)ctx, (void)c, (void)id;
    return t0_fail(err, T0_ENOTFOUND, "not found");
}
/* every conditional write is well formed: an id, and fields for a set or an insert */
static t0_status st_write(void *ctx, const store_write *w, t0_err *err)
{
    (void)ctx, (void)err;
    if (!w->id || ((w->op == STORE_W_SET || w->op == STORE_W_INSERT) && !cJSON_IsObject(w->fields))) abort();
    return T0_OK;
}

/* The documented shape of a parsed payload. */
static void check_fields(const cJSON *f)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(f, "id");
    if (!cJSON_IsString(id) || !id->valuestring[0]) abort();
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(f, "config");
    if (!cJSON_IsObject(cfg) && !cJSON_IsNull(cfg)) abort();
    const cJSON *custom = cJSON_GetObjectItemCaseSensitive(f, "custom");
    if (custom && !cJSON_IsObject(custom)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    store_port store = {.get = st_get, .upsert = st_upsert, .remove = st_remove, .write = st_write};
    static const store_coll colls[] = {STORE_BOTS, STORE_SCHEDULES};
    docver v = {.epoch = 1700000000000000ull, .seq = 7};
    for (size_t i = 0; i < 2; i++)
        for (sub_op op = SUB_CREATED; op <= SUB_DELETED; op++) {
            cJSON *f = NULL;
            t0_err err = {0};
            t0_status st = sub_parse_payload(colls[i], op, (const char *)data, size, &f, &err);
            if (st != T0_OK) {
                if (f || st != T0_EINVAL || !err.msg[0]) abort();
                continue;
            }
            check_fields(f);
            for (int versioned = 0; versioned < 2; versioned++) {
                sub_event ev = {colls[i], op, f, versioned ? &v : NULL, 1700000000000LL, 86400000};
                sub_outcome out;
                if (sub_apply(&store, &ev, &out, &err) != T0_OK) abort();
            }
            cJSON_Delete(f);
        }
    return 0;
}
