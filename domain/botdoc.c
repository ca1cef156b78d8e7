/* botdoc.c: parsing and ownership of bot and schedule desired-state documents (see botdoc.h). */
#include "domain/botdoc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/ports.h"
#include "domain/docval.h"

static const char *type_name(const cJSON *v)
{
    if (!v) return "nothing";
    switch (v->type & 0xFF) {
    case cJSON_NULL: return "null";
    case cJSON_True:
    case cJSON_False: return "boolean";
    case cJSON_Number: return "number";
    case cJSON_String: return "string";
    case cJSON_Array: return "array";
    case cJSON_Object: return "object";
    default: return "invalid value";
    }
}

static int absent(const cJSON *v) { return !v || cJSON_IsNull(v); }

static t0_status bad_type(t0_err *err, const char *id, const char *field, const char *want, const cJSON *got)
{
    return t0_fail(err, T0_EINVAL, "bot %s: field %s: expected %s, got %s", id && *id ? id : "(no id)", field, want,
                   type_name(got));
}

/* Optional string field: "" when absent or null; error for other types. */
static t0_status opt_string(const cJSON *obj, const char *key, const char *id, const char *path, char **out,
                            t0_err *err)
{
    const cJSON *v = obj ? t0_json_get(obj, key) : NULL;
    const char *s = "";
    if (!absent(v)) {
        if (!cJSON_IsString(v)) return bad_type(err, id, path, "string", v);
        s = v->valuestring;
    }
    *out = strdup(s);
    if (!*out) return t0_fail(err, T0_ENOMEM, "bot %s: out of memory", id);
    return T0_OK;
}

void botdoc_destroy(botdoc *d)
{
    if (!d) return;
    free(d->id);
    cJSON_Delete(d->config);
    free(d->version);
    free(d->file_path);
    free(d->name);
    free(d->runtime);
    cJSON_Delete(d->entrypoints);
    free(d);
}

t0_status botdoc_parse(const cJSON *doc, botdoc **out, t0_err *err)
{
    if (!cJSON_IsObject(doc)) return t0_fail(err, T0_EINVAL, "bot document: expected object, got %s", type_name(doc));
    const cJSON *idv = t0_json_get(doc, "id");
    if (!cJSON_IsString(idv)) return bad_type(err, NULL, "id", "string", idv);
    if (!*idv->valuestring) return t0_fail(err, T0_EINVAL, "bot document: field id is empty");
    const char *id = idv->valuestring;

    const cJSON *cfg = t0_json_get(doc, "config");
    if (!absent(cfg) && !cJSON_IsObject(cfg)) return bad_type(err, id, "config", "object", cfg);
    const cJSON *en = t0_json_get(doc, "enabled");
    if (!absent(en) && !cJSON_IsBool(en)) return bad_type(err, id, "enabled", "boolean", en);
    const cJSON *custom = t0_json_get(doc, "custom");
    if (!absent(custom) && !cJSON_IsObject(custom)) return bad_type(err, id, "custom", "object", custom);
    if (absent(custom)) custom = NULL;
    const cJSON *ccfg = custom ? t0_json_get(custom, "config") : NULL;
    if (!absent(ccfg) && !cJSON_IsObject(ccfg)) return bad_type(err, id, "custom.config", "object", ccfg);
    if (absent(ccfg)) ccfg = NULL;
    const cJSON *eps = ccfg ? t0_json_get(ccfg, "entrypoints") : NULL;
    if (!absent(eps)) {
        if (!cJSON_IsObject(eps)) return bad_type(err, id, "custom.config.entrypoints", "object", eps);
        for (const cJSON *e = eps->child; e; e = e->next) {
            if (!cJSON_IsString(e)) {
                char path[256];
                snprintf(path, sizeof path, "custom.config.entrypoints.%s", e->string ? e->string : "");
                return bad_type(err, id, path, "string", e);
            }
        }
    } else {
        eps = NULL;
    }

    botdoc *d = calloc(1, sizeof *d);
    if (!d) return t0_fail(err, T0_ENOMEM, "bot %s: out of memory", id);
    t0_status st = T0_OK;
    d->enabled = absent(en) ? BOTDOC_ABSENT : (cJSON_IsTrue(en) ? BOTDOC_TRUE : BOTDOC_FALSE);
    d->id = strdup(id);
    if (!d->id) st = t0_fail(err, T0_ENOMEM, "bot %s: out of memory", id);
    if (!st && !absent(cfg) && !(d->config = cJSON_Duplicate(cfg, 1)))
        st = t0_fail(err, T0_ENOMEM, "bot %s: out of memory", id);
    if (!st && eps && !(d->entrypoints = cJSON_Duplicate(eps, 1)))
        st = t0_fail(err, T0_ENOMEM, "bot %s: out of memory", id);
    if (!st) st = opt_string(custom, "version", id, "custom.version", &d->version, err);
    if (!st) st = opt_string(custom, "filePath", id, "custom.filePath", &d->file_path, err);
    if (!st) st = opt_string(ccfg, "name", id, "custom.config.name", &d->name, err);
    if (!st) st = opt_string(ccfg, "runtime", id, "custom.config.runtime", &d->runtime, err);
    if (st) {
        botdoc_destroy(d);
        return st;
    }
    *out = d;
    return T0_OK;
}

t0_status botdoc_parse_stored(const cJSON *doc, botdoc **out, t0_err *err)
{
    if (!cJSON_IsObject(doc)) return botdoc_parse(doc, out, err);
    const cJSON *idv = t0_json_get(doc, "id");
    const char *id = cJSON_IsString(idv) ? idv->valuestring : "(no id)";
    char q[200];
    const cJSON *undec = t0_json_get(doc, STORE_UNDECODABLE);
    if (undec)
        return t0_fail(err, T0_EINVAL, "bot %s: the stored document does not decode: %s", docval_quote(id, 80, q, sizeof q),
                       cJSON_IsString(undec) ? undec->valuestring : "(no reason given)");
    t0_err why = {0};
    if (docval_json(doc, &why) != T0_OK)
        return t0_fail(err, T0_EINVAL, "bot %s: %s", docval_quote(id, 80, q, sizeof q), why.msg);
    if (cJSON_IsString(idv) && idv->valuestring[0] && docval_id(id, &why) != T0_OK)
        return t0_fail(err, T0_EINVAL, "bot %s: invalid id: %s", docval_quote(id, 80, q, sizeof q), why.msg);
    return botdoc_parse(doc, out, err);
}

t0_status botdoc_parse_text(const char *text, size_t len, botdoc **out, t0_err *err)
{
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!doc) {
        size_t off = end && end >= text ? (size_t)(end - text) : 0;
        return t0_fail(err, T0_EINVAL, "bot document: invalid JSON near byte %zu", off);
    }
    t0_status st = botdoc_parse(doc, out, err);
    cJSON_Delete(doc);
    return st;
}

t0_status botdoc_clone(const botdoc *src, botdoc **out, t0_err *err)
{
    botdoc *d = calloc(1, sizeof *d);
    if (!d) return t0_fail(err, T0_ENOMEM, "bot %s: out of memory", src->id);
    d->enabled = src->enabled;
    d->id = strdup(src->id);
    d->version = strdup(src->version);
    d->file_path = strdup(src->file_path);
    d->name = strdup(src->name);
    d->runtime = strdup(src->runtime);
    d->config = src->config ? cJSON_Duplicate(src->config, 1) : NULL;
    d->entrypoints = src->entrypoints ? cJSON_Duplicate(src->entrypoints, 1) : NULL;
    if (!d->id || !d->version || !d->file_path || !d->name || !d->runtime || (src->config && !d->config) ||
        (src->entrypoints && !d->entrypoints)) {
        botdoc_destroy(d);
        return t0_fail(err, T0_ENOMEM, "bot %s: out of memory", src->id);
    }
    *out = d;
    return T0_OK;
}

bool botdoc_is_enabled(const botdoc *d)
{
    if (!d->config) return true;
    const cJSON *e = t0_json_get(d->config, "enabled");
    return !cJSON_IsFalse(e);
}

const char *botdoc_entrypoint(const botdoc *d, const char *key)
{
    if (!d->entrypoints) return NULL;
    const cJSON *v = t0_json_get(d->entrypoints, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *botdoc_schedule(const botdoc *d)
{
    if (!d->config) return NULL;
    const cJSON *v = t0_json_get(d->config, "schedule");
    return cJSON_IsString(v) ? v->valuestring : NULL;
}
