/* kube_http_patch.c: the HTTP front's patches: JSON merge patch (RFC 7386), the approximation of strategic
 * merge patch described in kube_http.h (also used for server-side apply) and JSON patch (RFC 6902). */
#include <stdio.h>
#include <stdlib.h>
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

/* ---- JSON patch (RFC 6902, with RFC 6901 pointers) ------------------------------------------------ */
/* unescape: the next reference token of pointer *P (after its '/') into TOK, ~1 -> '/', ~0 -> '~' */
static bool next_token(const char **p, char *tok, size_t cap)
{
    if (**p != '/') return false;
    (*p)++;
    size_t n = 0;
    for (; **p && **p != '/'; (*p)++) {
        char c = **p;
        if (c == '~') {
            char e = (*p)[1];
            if (e != '0' && e != '1') return false;
            c = e == '0' ? '~' : '/';
            (*p)++;
        }
        if (n + 1 >= cap) return false;
        tok[n++] = c;
    }
    tok[n] = 0;
    return true;
}

/* array_index: TOK as an index into an array of N elements (END: "-" allowed, meaning N); -1 if none */
static int array_index(const char *tok, int n, bool end)
{
    if (end && !strcmp(tok, "-")) return n;
    if (!*tok || (tok[0] == '0' && tok[1]) || strspn(tok, "0123456789") != strlen(tok) || strlen(tok) > 9) return -1;
    int i = atoi(tok);
    return i <= n - (end ? 0 : 1) ? i : -1;
}

/* resolve: the value at POINTER in DOC, or NULL. With PARENT, the container of the last token instead
 * (*LAST gets that token). */
static cJSON *resolve(cJSON *doc, const char *pointer, bool parent, char *last, size_t cap)
{
    cJSON *cur = doc;
    const char *p = pointer;
    char tok[512];
    while (*p) {
        if (!next_token(&p, tok, sizeof tok)) return NULL;
        if (parent && !*p) {
            snprintf(last, cap, "%s", tok);
            return cur;
        }
        if (cJSON_IsObject(cur)) {
            cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
        } else if (cJSON_IsArray(cur)) {
            int i = array_index(tok, cJSON_GetArraySize(cur), false);
            cur = i < 0 ? NULL : cJSON_GetArrayItem(cur, i);
        } else {
            return NULL;
        }
        if (!cur) return NULL;
    }
    return parent ? NULL : cur;
}

/* op_add: VALUE (owned, consumed) at PATH of *DOC; false with MSG on failure */
static bool op_add(cJSON **doc, const char *path, cJSON *value, const char *op, char *msg, size_t cap)
{
    if (!*path) {
        cJSON_Delete(*doc);
        *doc = value;
        return true;
    }
    char key[512];
    cJSON *par = resolve(*doc, path, true, key, sizeof key);
    if (cJSON_IsObject(par)) {
        if (cJSON_GetObjectItemCaseSensitive(par, key))
            cJSON_ReplaceItemInObjectCaseSensitive(par, key, value);
        else
            cJSON_AddItemToObject(par, key, value);
        return true;
    }
    int i = cJSON_IsArray(par) ? array_index(key, cJSON_GetArraySize(par), true) : -1;
    if (i >= 0) {
        if (i == cJSON_GetArraySize(par))
            cJSON_AddItemToArray(par, value);
        else
            cJSON_InsertItemInArray(par, i, value);
        return true;
    }
    cJSON_Delete(value);
    if (cJSON_IsArray(par))
        snprintf(msg, cap, "Unable to access invalid index: %s: invalid index referenced", key);
    else
        snprintf(msg, cap, "%s operation does not apply: doc is missing path: \"%s\": missing value", op, path);
    return false;
}

/* op_detach: the value at PATH of DOC, taken out of it; NULL when there is none */
static cJSON *op_detach(cJSON *doc, const char *path)
{
    char key[512];
    cJSON *par = *path ? resolve(doc, path, true, key, sizeof key) : NULL;
    if (cJSON_IsObject(par)) return cJSON_DetachItemFromObjectCaseSensitive(par, key);
    int i = cJSON_IsArray(par) ? array_index(key, cJSON_GetArraySize(par), false) : -1;
    return i >= 0 ? cJSON_DetachItemFromArray(par, i) : NULL;
}

/* one_op: apply operation OP to *DOC; false with MSG as evanphx/json-patch (the API server's) words it */
static bool one_op(cJSON **doc, const cJSON *op, char *msg, size_t cap)
{
    const char *kind = kfake_str(op, "op"), *path = kfake_str(op, "path"), *from = kfake_str(op, "from");
    const cJSON *value = kh_item(op, "value");
    if (!kind || !path) {
        snprintf(msg, cap, "Unexpected kind: %s", kind ? kind : "unknown");
        return false;
    }
    if (!value && (!strcmp(kind, "add") || !strcmp(kind, "replace") || !strcmp(kind, "test"))) {
        snprintf(msg, cap, "%s operation does not apply: the operation has no value", kind);
        return false;
    }
    if (!strcmp(kind, "add")) return op_add(doc, path, cJSON_Duplicate(value, 1), "add", msg, cap);
    if (!strcmp(kind, "remove") || !strcmp(kind, "replace")) {
        cJSON *old = op_detach(*doc, path);
        if (!old && strcmp(kind, "remove")) {
            snprintf(msg, cap, "replace operation does not apply: doc is missing key: %s: missing value", path);
            return false;
        }
        if (!old) {
            snprintf(msg, cap, "Unable to remove nonexistent key: %s: missing value", path);
            return false;
        }
        cJSON_Delete(old);
        return !strcmp(kind, "remove") || op_add(doc, path, cJSON_Duplicate(value, 1), "replace", msg, cap);
    }
    if (!strcmp(kind, "move") || !strcmp(kind, "copy")) {
        cJSON *src = from ? resolve(*doc, from, false, NULL, 0) : NULL;
        if (!src) {
            snprintf(msg, cap, "%s operation does not apply: doc is missing from path: %s: missing value", kind,
                     from ? from : "");
            return false;
        }
        cJSON *v = !strcmp(kind, "copy") ? cJSON_Duplicate(src, 1) : op_detach(*doc, from);
        return op_add(doc, path, v, kind, msg, cap);
    }
    if (!strcmp(kind, "test")) {
        const cJSON *cur = resolve(*doc, path, false, NULL, 0);
        if (cur && value && cJSON_Compare(cur, value, 1)) return true;
        snprintf(msg, cap, "testing value %s failed: test failed", path);
        return false;
    }
    snprintf(msg, cap, "Unexpected kind: %s", kind);
    return false;
}

cJSON *kh_json_patch(cJSON *doc, const cJSON *ops, char *msg, size_t cap)
{
    *msg = 0;
    const cJSON *op;
    cJSON_ArrayForEach(op, ops)
    {
        if (!one_op(&doc, op, msg, cap)) {
            cJSON_Delete(doc);
            return NULL;
        }
    }
    return doc;
}
