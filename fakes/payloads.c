/* payloads.c: NATS payloads and documents as the0's API produces them (see payloads.h). */
#include "fakes/payloads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const op_names[] = {"created", "updated", "deleted"};

const char *payload_op_name(payload_op op) { return (unsigned)op < 3 ? op_names[op] : "?"; }

int payload_op_parse(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (s && !strcmp(s, op_names[i])) return i;
    return -1;
}

const char *payload_subject(bool scheduled, payload_op op)
{
    static const char *const subj[2][3] = {
        {"the0.bot.created", "the0.bot.updated", "the0.bot.deleted"},
        {"the0.bot-schedule.created", "the0.bot-schedule.updated", "the0.bot-schedule.deleted"},
    };
    return (unsigned)op < 3 ? subj[scheduled ? 1 : 0][op] : "?";
}

/* ISO time as the API's JSON.stringify(Date) gives: 2026-01-01T00:00:00.000Z. */
static void iso(int64_t ms, char buf[32])
{
    if (ms == 0) ms = INT64_C(1767225600000); /* 2026-01-01T00:00:00Z */
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static const char *default_entry(const char *rt)
{
    if (!strcmp(rt, "python3.11")) return "main.py";
    if (!strcmp(rt, "nodejs20")) return "index.js";
    return "main";
}

/* config copy with customBotId added (the API adds it to the event payload). */
static cJSON *user_config(const payload_bot *b, bool add_cb)
{
    cJSON *cfg = b->config ? cJSON_Duplicate(b->config, 1) : cJSON_CreateObject();
    if (!cfg || !cJSON_IsObject(cfg) || !add_cb) return cfg;
    char cb[160];
    snprintf(cb, sizeof cb, "cb-%s", b->id);
    if (!cJSON_GetObjectItemCaseSensitive(cfg, "customBotId"))
        cJSON_AddStringToObject(cfg, "customBotId", b->custom_bot_id ? b->custom_bot_id : cb);
    return cfg;
}

static cJSON *custom_of(const payload_bot *b)
{
    char name[160], fp[512], t1[32], t2[32];
    snprintf(name, sizeof name, "bot-%s", b->id);
    const char *nm = b->name ? b->name : name;
    const char *ver = b->version ? b->version : "1.0.0";
    const char *rt = b->runtime ? b->runtime : "python3.11";
    snprintf(fp, sizeof fp, "user-1/%s/%s", nm, ver);
    iso(b->created_ms, t1);
    iso(b->updated_ms ? b->updated_ms : b->created_ms, t2);
    cJSON *custom = cJSON_CreateObject(), *mf = cJSON_CreateObject(), *eps = cJSON_CreateObject();
    if (!custom || !mf || !eps) {
        cJSON_Delete(custom);
        cJSON_Delete(mf);
        cJSON_Delete(eps);
        return NULL;
    }
    cJSON_AddStringToObject(mf, "name", nm);
    cJSON_AddStringToObject(mf, "description", "scenario bot");
    cJSON_AddStringToObject(mf, "version", ver);
    cJSON_AddStringToObject(mf, "author", "scenario");
    cJSON_AddStringToObject(mf, "type", b->scheduled ? "scheduled" : "realtime");
    if (*rt) cJSON_AddStringToObject(mf, "runtime", rt);
    cJSON_AddStringToObject(eps, "bot", b->entry ? b->entry : default_entry(rt));
    cJSON_AddItemToObject(mf, "entrypoints", eps);
    cJSON *schema = cJSON_CreateObject();
    if (schema) {
        cJSON_AddItemToObject(schema, "bot", cJSON_CreateObject());
        cJSON_AddItemToObject(mf, "schema", schema);
    }
    cJSON_AddItemToObject(custom, "config", mf);
    cJSON_AddStringToObject(custom, "createdAt", t1);
    cJSON_AddStringToObject(custom, "updatedAt", t2);
    cJSON_AddStringToObject(custom, "filePath", b->file_path ? b->file_path : fp);
    cJSON_AddStringToObject(custom, "version", ver);
    return custom;
}

cJSON *payload_document(const payload_bot *b)
{
    if (!b || !b->id) return NULL;
    cJSON *doc = cJSON_CreateObject();
    if (!doc) return NULL;
    cJSON_AddStringToObject(doc, "id", b->id);
    cJSON *cfg = user_config(b, true), *custom = custom_of(b);
    if (!cfg || !custom) {
        cJSON_Delete(cfg);
        cJSON_Delete(custom);
        cJSON_Delete(doc);
        return NULL;
    }
    cJSON_AddItemToObject(doc, "config", cfg);
    cJSON_AddItemToObject(doc, "custom", custom);
    return doc;
}

static char *finish(cJSON *j, const payload_bot *b, t0_err *err)
{
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!s) t0_fail(err, T0_ENOMEM, "payload for bot %s: out of memory", b->id);
    return s;
}

char *payload_direct(const payload_bot *b, payload_op op, t0_err *err)
{
    if (!b || !b->id) {
        t0_fail(err, T0_EINVAL, "payload: the bot has no id");
        return NULL;
    }
    if (op != PAYLOAD_DELETED) return finish(payload_document(b), b, err);
    cJSON *j = cJSON_CreateObject(); /* delete: {id, config} with the stored config, no custom */
    if (j) {
        cJSON_AddStringToObject(j, "id", b->id);
        cJSON *cfg = user_config(b, true);
        if (cfg) cJSON_AddItemToObject(j, "config", cfg);
    }
    return finish(j, b, err);
}

char *payload_wrapped(const payload_bot *b, payload_op op, int64_t now_ms, t0_err *err)
{
    if (!b || !b->id) {
        t0_fail(err, T0_EINVAL, "payload: the bot has no id");
        return NULL;
    }
    cJSON *data = payload_document(b);
    cJSON *j = cJSON_CreateObject();
    if (!data || !j) {
        cJSON_Delete(data);
        cJSON_Delete(j);
        return finish(NULL, b, err);
    }
    const char *subject = payload_subject(b->scheduled, op);
    if (op == PAYLOAD_DELETED) cJSON_DeleteItemFromObjectCaseSensitive(data, "custom");
    cJSON_AddStringToObject(data, "topicName", subject);
    char ts[32];
    iso(now_ms, ts);
    cJSON_AddStringToObject(j, "type", subject + strlen("the0."));
    cJSON_AddStringToObject(j, "entity_id", b->id);
    cJSON_AddItemToObject(j, "data", data);
    cJSON_AddStringToObject(j, "timestamp", ts);
    return finish(j, b, err);
}
