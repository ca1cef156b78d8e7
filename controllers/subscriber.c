/* subscriber.c: NATS payloads -> desired-state store (see subscriber.h). */
#include "controllers/subscriber.h"

#include <string.h>

#include "domain/cronexpr.h"
#include "core/log.h"

t0_status sub_parse_subject(const char *subject, store_coll *coll, sub_op *op, t0_err *err)
{
    const char *rest;
    if (!strncmp(subject, "the0.bot.", 9)) {
        *coll = STORE_BOTS;
        rest = subject + 9;
    } else if (!strncmp(subject, "the0.bot-schedule.", 18)) {
        *coll = STORE_SCHEDULES;
        rest = subject + 18;
    } else {
        return t0_fail(err, T0_EINVAL, "subject %s: not a bot or schedule event", subject);
    }
    if (!strcmp(rest, "created"))
        *op = SUB_CREATED;
    else if (!strcmp(rest, "updated"))
        *op = SUB_UPDATED;
    else if (!strcmp(rest, "deleted"))
        *op = SUB_DELETED;
    else
        return t0_fail(err, T0_EINVAL, "subject %s: unknown operation '%s'", subject, rest);
    return T0_OK;
}

/* Take {id, config, custom} from SRC if id is a non-empty string; NULL otherwise (with why in err). */
static cJSON *take_fields(const cJSON *src, const char *where, t0_err *err)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(src, "id");
    if (!cJSON_IsString(id) || !id->valuestring[0]) {
        t0_fail(err, T0_EINVAL, "%s: no non-empty string \"id\"", where);
        return NULL;
    }
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(src, "config");
    const cJSON *custom = cJSON_GetObjectItemCaseSensitive(src, "custom");
    if (config && !cJSON_IsObject(config) && !cJSON_IsNull(config)) {
        t0_fail(err, T0_EINVAL, "%s: id %s: \"config\" must be an object", where, id->valuestring);
        return NULL;
    }
    if (custom && !cJSON_IsObject(custom) && !cJSON_IsNull(custom)) {
        t0_fail(err, T0_EINVAL, "%s: id %s: \"custom\" must be an object", where, id->valuestring);
        return NULL;
    }
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "id", id->valuestring);
    cJSON_AddItemToObject(o, "config", config ? cJSON_Duplicate(config, 1) : cJSON_CreateNull());
    if (custom && cJSON_IsObject(custom)) cJSON_AddItemToObject(o, "custom", cJSON_Duplicate(custom, 1));
    return o;
}

t0_status sub_parse_payload(store_coll coll, const char *data, size_t len, cJSON **out, t0_err *err)
{
    *out = NULL;
    cJSON *root = cJSON_ParseWithLength(data, len);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return t0_fail(err, T0_EINVAL, "payload is not a JSON object (%zu bytes)", len);
    }
    t0_err direct = {0};
    cJSON *f = take_fields(root, "direct payload", &direct);
    if (!f && coll == STORE_BOTS) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "data");
        if (cJSON_IsObject(d)) {
            f = take_fields(d, "wrapped payload data", err);
        } else {
            t0_fail(err, T0_EINVAL, "failed to unmarshal event in both direct and wrapped formats: %s; no \"data\" object",
                    direct.msg);
        }
    } else if (!f) {
        t0_fail(err, T0_EINVAL, "%s", direct.msg);
    }
    cJSON_Delete(root);
    if (!f) return err ? err->code : T0_EINVAL;
    *out = f;
    return T0_OK;
}

t0_status sub_apply(store_port *store, store_coll coll, sub_op op, const cJSON *fields, int64_t now_ms, t0_err *err)
{
    const char *id = cJSON_GetObjectItemCaseSensitive(fields, "id")->valuestring;
    if (op == SUB_DELETED) {
        t0_status st = store->remove(store->ctx, coll, id, err);
        return st == T0_ENOTFOUND ? T0_OK : st;
    }
    if (op == SUB_CREATED) {
        cJSON *existing = NULL;
        t0_status st = store->get(store->ctx, coll, id, &existing, err);
        cJSON_Delete(existing);
        if (st == T0_OK) {
            T0_INFOK("subscriber", "document already exists: create ignored (reference semantics)", "collection",
                     store_coll_name(coll), "id", id);
            return T0_OK;
        }
        if (st != T0_ENOTFOUND) return st;
    }
    cJSON *set = cJSON_Duplicate(fields, 1);
    if (!set) return t0_fail(err, T0_ENOMEM, "subscriber: out of memory");
    if (coll == STORE_SCHEDULES) {
        const cJSON *sched = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(fields, "config"), "schedule");
        cronexpr ce;
        int64_t next;
        if (cJSON_IsString(sched) && cronexpr_parse(sched->valuestring, &ce, NULL) == T0_OK &&
            cronexpr_next(&ce, now_ms / 1000, &next, NULL) == T0_OK)
            cJSON_AddNumberToObject(set, "next_execution_time", (double)next);
        else
            T0_WARNK("subscriber", "missing or invalid cron expression: stored, the controller reports it", "schedule",
                     id);
    }
    t0_status st = store->upsert(store->ctx, coll, id, set, err);
    cJSON_Delete(set);
    return st;
}
