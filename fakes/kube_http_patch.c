/* kube_http_patch.c: the HTTP front's patches: JSON merge patch (RFC 7386) and the approximation of
 * strategic merge patch described in kube_http.h (also used for server-side apply). */
#include <string.h>

#include "fakes/kube_http_impl.h"

static const char *merge_key(const cJSON *patch_array)
{
    static const char *const keys[] = {"name", "mountPath", "containerPort"};
    if (!cJSON_IsArray(patch_array) || !cJSON_GetArraySize(patch_array)) return NULL;
    for (size_t k = 0; k < T0_ARRAY_LEN(keys); k++) {
        bool all = true;
        const cJSON *e;
        cJSON_ArrayForEach(e, patch_array)
        {
            const cJSON *v = kh_item(e, keys[k]);
            if (!cJSON_IsObject(e) || !(cJSON_IsString(v) || cJSON_IsNumber(v))) all = false;
        }
        if (all) return keys[k];
    }
    return NULL;
}

static bool same_key(const cJSON *a, const cJSON *b)
{
    if (cJSON_IsString(a) && cJSON_IsString(b)) return !strcmp(a->valuestring, b->valuestring);
    return cJSON_IsNumber(a) && cJSON_IsNumber(b) && a->valuedouble == b->valuedouble;
}

/* kh_merge_patch: apply PATCH to TARGET (owned, consumed) and return the result: RFC 7386, or with
 * STRATEGIC the approximation of strategic merge described in kube_http.h. */
cJSON *kh_merge_patch(cJSON *target, const cJSON *patch, bool strategic)
{
    if (!cJSON_IsObject(patch)) {
        cJSON_Delete(target);
        return cJSON_Duplicate(patch, 1);
    }
    if (!cJSON_IsObject(target)) {
        cJSON_Delete(target);
        target = cJSON_CreateObject();
    }
    const cJSON *p;
    cJSON_ArrayForEach(p, patch)
    {
        if (strategic && p->string[0] == '$') continue;
        if (cJSON_IsNull(p)) {
            cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
            continue;
        }
        cJSON *t = cJSON_DetachItemFromObjectCaseSensitive(target, p->string);
        const char *mk = strategic && cJSON_IsArray(t) ? merge_key(p) : NULL;
        if (mk) {
            const cJSON *pe;
            cJSON_ArrayForEach(pe, p)
            {
                const char *dir = kfake_str(pe, "$patch");
                cJSON *te = t->child;
                int idx = 0;
                while (te && !(cJSON_IsObject(te) && same_key(kh_item(te, mk), kh_item(pe, mk)))) te = te->next, idx++;
                if (dir && !strcmp(dir, "delete")) {
                    if (te) cJSON_DeleteItemFromArray(t, idx);
                } else if (te) {
                    cJSON *m = kh_merge_patch(cJSON_DetachItemFromArray(t, idx), pe, true);
                    cJSON_InsertItemInArray(t, idx, m);
                } else {
                    cJSON_AddItemToArray(t, kh_merge_patch(NULL, pe, true));
                }
            }
            cJSON_AddItemToObject(target, p->string, t);
        } else {
            cJSON_AddItemToObject(target, p->string, kh_merge_patch(t, p, strategic));
        }
    }
    return target;
}
