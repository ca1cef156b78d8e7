/* json.c: dotted-path reads of cJSON objects (see json.h). */
#include "core/json.h"

#include <float.h>
#include <math.h>
#include <string.h>

const cJSON *t0_json_at(const cJSON *o, const char *path)
{
    const cJSON *cur = o;
    while (cur && path && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (!cJSON_IsObject(cur)) return NULL;
        const cJSON *c = cur->child;
        /* the first byte is compared inline: most members differ there, and a call per member costs more
         * than the comparison itself */
        while (c && !(c->string && c->string[0] == path[0] && !strncmp(c->string, path, n) && c->string[n] == '\0'))
            c = c->next;
        cur = c;
        path += n + (dot != NULL);
    }
    return cur;
}

cJSON *t0_json_get(const cJSON *o, const char *key)
{
    if (!o || !key) return NULL;
    for (cJSON *c = o->child; c; c = c->next)
        if (c->string && c->string[0] == key[0] && !strcmp(c->string, key)) return c;
    return NULL;
}

bool t0_json_equal(const cJSON *a, const cJSON *b)
{
    if (!a || !b || (a->type & 0xFF) != (b->type & 0xFF)) return false;
    switch (a->type & 0xFF) {
    case cJSON_False:
    case cJSON_True:
    case cJSON_NULL: return true;
    case cJSON_Number: { /* cJSON_Compare's tolerance */
        double x = a->valuedouble, y = b->valuedouble, m = fabs(x) > fabs(y) ? fabs(x) : fabs(y);
        return fabs(x - y) <= m * DBL_EPSILON;
    }
    case cJSON_String:
    case cJSON_Raw: return a->valuestring && b->valuestring && !strcmp(a->valuestring, b->valuestring);
    case cJSON_Array: {
        const cJSON *x = a->child, *y = b->child;
        for (; x && y; x = x->next, y = y->next)
            if (!t0_json_equal(x, y)) return false;
        return !x && !y;
    }
    case cJSON_Object: {
        /* members in the same order (how the fakes and controllers build them): one pass; otherwise by key */
        const cJSON *x = a->child, *y = b->child;
        for (; x && y; x = x->next, y = y->next) {
            if (!x->string || !y->string || strcmp(x->string, y->string)) return cJSON_Compare(a, b, 1);
            if (!t0_json_equal(x, y)) return false;
        }
        return !x && !y ? true : cJSON_Compare(a, b, 1);
    }
    default: return cJSON_Compare(a, b, 1);
    }
}

const char *t0_json_str(const cJSON *o, const char *path)
{
    const cJSON *v = t0_json_at(o, path);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

cJSON *t0_json_add_static(cJSON *o, const char *key, cJSON *item)
{
    if (!o || !item || !cJSON_AddItemToObjectCS(o, key, item)) {
        cJSON_Delete(item);
        return NULL;
    }
    return item;
}
