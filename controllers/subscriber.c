/* subscriber.c: NATS payloads -> desired-state store, validated and versioned (see subscriber.h and
 * docs/intake.md). */
#include "controllers/subscriber.h"

#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "domain/cronexpr.h"
#include "domain/docval.h"

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

/* check_fields: the id and the schedule of parsed fields F (the payload's text was checked already) */
static t0_status check_fields(store_coll coll, sub_op op, const cJSON *f, t0_err *err)
{
    t0_err e = {0};
    if (docval_id(t0_json_get(f, "id")->valuestring, &e) != T0_OK) return t0_fail(err, T0_EINVAL, "%s", e.msg);
    if (coll != STORE_SCHEDULES || op == SUB_DELETED) return T0_OK;
    const char *id = t0_json_get(f, "id")->valuestring;
    const cJSON *sched = t0_json_get(t0_json_get(f, "config"), "schedule");
    if (!cJSON_IsString(sched) || !sched->valuestring[0])
        return t0_fail(err, T0_EINVAL, "schedule %s: missing or invalid schedule in message config", id);
    cronexpr ce;
    if (cronexpr_parse(sched->valuestring, &ce, &e) != T0_OK)
        return t0_fail(err, T0_EINVAL, "schedule %s: invalid cron expression \"%s\": %s", id, sched->valuestring, e.msg);
    return T0_OK;
}

t0_status sub_parse_payload(store_coll coll, sub_op op, const char *data, size_t len, cJSON **out, t0_err *err)
{
    *out = NULL;
    t0_status vs = docval_json_text(data, len, err);
    if (vs != T0_OK) return vs;
    cJSON *root = cJSON_ParseWithLength(data, len);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return t0_fail(err, T0_EINVAL, "payload is not a JSON object (%zu bytes)", len);
    }
    t0_err e = {0};
    if (docval_json(root, &e) != T0_OK) {
        cJSON_Delete(root);
        return t0_fail(err, T0_EINVAL, "payload: %s", e.msg);
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
    t0_status st = check_fields(coll, op, f, err);
    if (st != T0_OK) {
        cJSON_Delete(f);
        return st;
    }
    *out = f;
    return T0_OK;
}

/* ---- applying ------------------------------------------------------------------------------------ */

/* doc_fields: what a created/updated event writes: config, custom, next_execution_time (schedules) and,
 * when versioned, the version. NULL on failure (ERR says why). */
static cJSON *doc_fields(const sub_event *ev, t0_err *err)
{
    const char *id = t0_json_get(ev->fields, "id")->valuestring;
    cJSON *set = cJSON_Duplicate(ev->fields, 1);
    if (!set) {
        t0_fail(err, T0_ENOMEM, "subscriber: out of memory");
        return NULL;
    }
    if (ev->coll == STORE_SCHEDULES) {
        const cJSON *sched = t0_json_get(t0_json_get(ev->fields, "config"), "schedule");
        cronexpr ce;
        int64_t next;
        t0_err e = {0};
        if (!cJSON_IsString(sched) || cronexpr_parse(sched->valuestring, &ce, &e) != T0_OK ||
            cronexpr_next(&ce, ev->now_ms / 1000, &next, &e) != T0_OK) {
            cJSON_Delete(set);
            t0_fail(err, T0_EINVAL, "schedule %s: no next execution time: %s", id, e.msg);
            return NULL;
        }
        cJSON_AddNumberToObject(set, "next_execution_time", (double)next);
    }
    if (ev->ver) {
        char v[DOCVER_TEXT_MAX];
        docver_format(ev->ver, v);
        cJSON_AddStringToObject(set, STORE_VERSION_FIELD, v);
    }
    return set;
}

/* apply_unversioned: the reference's subscribers exactly: no order to keep (core NATS has no redelivery). */
static t0_status apply_unversioned(store_port *store, const sub_event *ev, const char *id, sub_outcome *out, t0_err *err)
{
    if (ev->op == SUB_DELETED) {
        t0_status st = store->remove(store->ctx, ev->coll, id, err);
        if (st == T0_ENOTFOUND) *out = SUB_ABSENT;
        return st == T0_ENOTFOUND ? T0_OK : st;
    }
    if (ev->op == SUB_CREATED) {
        cJSON *existing = NULL;
        t0_status st = store->get(store->ctx, ev->coll, id, &existing, err);
        cJSON_Delete(existing);
        if (st == T0_OK || st == T0_EEXIST) {
            *out = SUB_EXISTS;
            return T0_OK;
        }
        if (st != T0_ENOTFOUND) return st;
    }
    cJSON *set = doc_fields(ev, err);
    if (!set) return err ? err->code : T0_ENOMEM;
    t0_status st = store->upsert(store->ctx, ev->coll, id, set, err);
    cJSON_Delete(set);
    return st;
}

/* version_of: the version of ID's document in C: *EXISTS, and the version in *V (none when absent or
 * unversioned). Two documents with one id count as existing, with no version. */
static t0_status version_of(store_port *store, store_coll c, const char *id, bool *exists, docver *v, t0_err *err)
{
    cJSON *doc = NULL;
    *exists = false;
    *v = (docver){0};
    t0_status st = store->get(store->ctx, c, id, &doc, err);
    if (st == T0_ENOTFOUND) return T0_OK;
    if (st == T0_EEXIST) st = T0_OK;
    if (st != T0_OK) return st;
    *exists = true;
    *v = docver_of(doc);
    cJSON_Delete(doc);
    return T0_OK;
}

#define SUB_RACE_TRIES 4 /* a write lost a race with another writer: read and decide again */

/* apply_doc: created/updated: set the document if it is older than the event, else insert it unless a
 * tombstone (or the document itself) is as new (docs/intake.md) */
static t0_status apply_doc(store_port *store, const sub_event *ev, const char *id, const char *vtext, cJSON *set,
                           sub_outcome *out, t0_err *err)
{
    store_coll tc = store_tombstones(ev->coll);
    t0_status st = T0_ECONFLICT;
    for (int attempt = 0; attempt < SUB_RACE_TRIES && st == T0_ECONFLICT; attempt++) {
        if (ev->op == SUB_UPDATED) { /* the common case first: one conditional write */
            store_write w = {.op = STORE_W_SET, .coll = ev->coll, .id = id, .fields = set, .older_than = vtext};
            st = store->write(store->ctx, &w, err);
            if (st != T0_ECONFLICT) return st;
            bool exists;
            docver dv;
            if ((st = version_of(store, ev->coll, id, &exists, &dv, err)) != T0_OK) return st;
            if (exists) { /* not older: this event, or a newer one, is in effect */
                *out = SUB_STALE;
                return T0_OK;
            }
        }
        bool tomb;
        docver tv;
        if ((st = version_of(store, tc, id, &tomb, &tv, err)) != T0_OK) return st;
        if (tomb && docver_cmp(ev->ver, &tv) <= 0) { /* deleted by a newer event (or direct delete) */
            *out = SUB_STALE;
            return T0_OK;
        }
        store_write w = {.op = STORE_W_INSERT, .coll = ev->coll, .id = id, .fields = set};
        st = store->write(store->ctx, &w, err);
        if (st == T0_EEXIST && ev->op == SUB_CREATED) {
            /* reference semantics: a create never changes an existing document, unless that document is
             * older than a delete still being applied (its tombstone is there, the document not yet gone):
             * in publish order it is gone already, so the create replaces it */
            char ttext[DOCVER_TEXT_MAX];
            if (tomb && docver_is_set(&tv)) {
                docver_format(&tv, ttext);
                store_write r = {.op = STORE_W_SET, .coll = ev->coll, .id = id, .fields = set, .older_than = ttext};
                st = store->write(store->ctx, &r, err);
                if (st != T0_ECONFLICT) return st;
            }
            *out = SUB_EXISTS;
            return T0_OK;
        }
        if (st == T0_EEXIST) st = T0_ECONFLICT; /* inserted meanwhile: set it instead */
    }
    return st;
}

/* apply_delete: the tombstone first (so no older event can bring the document back), then every document
 * of the id older than the event */
static t0_status apply_delete(store_port *store, const sub_event *ev, const char *id, const char *vtext, sub_outcome *out,
                              t0_err *err)
{
    store_coll tc = store_tombstones(ev->coll);
    cJSON *t = cJSON_CreateObject();
    if (!t || !cJSON_AddStringToObject(t, STORE_VERSION_FIELD, vtext) ||
        !cJSON_AddNumberToObject(t, "deleted_at", (double)ev->now_ms) ||
        !cJSON_AddNumberToObject(t, STORE_EXPIRES_FIELD, (double)(ev->now_ms + ev->tombstone_ttl_ms))) {
        cJSON_Delete(t);
        return t0_fail(err, T0_ENOMEM, "subscriber: out of memory");
    }
    t0_status st = T0_ECONFLICT;
    for (int attempt = 0; attempt < SUB_RACE_TRIES && st == T0_ECONFLICT; attempt++) {
        /* the common case first: no tombstone yet */
        store_write w = {.op = STORE_W_INSERT, .coll = tc, .id = id, .fields = t};
        st = store->write(store->ctx, &w, err);
        if (st != T0_EEXIST) continue;
        w.op = STORE_W_SET;
        w.older_than = vtext;
        st = store->write(store->ctx, &w, err);
        if (st != T0_ECONFLICT) continue;
        bool exists; /* not older: as new already (a redelivery, a newer delete), or removed meanwhile */
        docver tv;
        if ((st = version_of(store, tc, id, &exists, &tv, err)) != T0_OK) break;
        st = exists && docver_cmp(&tv, ev->ver) >= 0 ? T0_OK : T0_ECONFLICT;
    }
    cJSON_Delete(t);
    if (st != T0_OK) return st;
    store_write w = {.op = STORE_W_REMOVE, .coll = ev->coll, .id = id, .older_than = vtext};
    st = store->write(store->ctx, &w, err);
    if (st != T0_ECONFLICT) return st;
    bool exists; /* nothing older to remove: say which it was */
    docver dv;
    if ((st = version_of(store, ev->coll, id, &exists, &dv, err)) != T0_OK) return st;
    *out = exists ? SUB_STALE : SUB_ABSENT;
    return T0_OK;
}

t0_status sub_apply(store_port *store, const sub_event *ev, sub_outcome *out, t0_err *err)
{
    const char *id = t0_json_get(ev->fields, "id")->valuestring;
    *out = SUB_APPLIED;
    if (!ev->ver || !docver_is_set(ev->ver) || !store->write) return apply_unversioned(store, ev, id, out, err);
    char vtext[DOCVER_TEXT_MAX];
    docver_format(ev->ver, vtext);
    t0_status st;
    if (ev->op == SUB_DELETED) {
        st = apply_delete(store, ev, id, vtext, out, err);
    } else {
        cJSON *set = doc_fields(ev, err);
        if (!set) return err ? err->code : T0_ENOMEM;
        st = apply_doc(store, ev, id, vtext, set, out, err);
        cJSON_Delete(set);
    }
    if (st == T0_ECONFLICT)
        t0_err_prefix(err, "%s %s kept changing while written (%d tries)", store_coll_name(ev->coll), id, SUB_RACE_TRIES);
    return st;
}
