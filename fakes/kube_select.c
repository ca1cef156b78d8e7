/* kube_select.c: the fake API server's label selectors (parse, match; label and name syntax as the API
 * server checks it) and its indexes (objects by label key=value and by owner uid). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakes/kube_fake_impl.h"

/* ---- label selectors -------------------------------------------------------------------------- */
void kfake_selector_free(kfake_selector *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->reqs[i].key);
        for (size_t j = 0; j < s->reqs[i].nvals; j++) free(s->reqs[i].vals[j]);
        free(s->reqs[i].vals);
    }
    free(s->reqs);
    free(s);
}

static bool is_key_char(char c) { return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.' || c == '/'; }

/* kf_label_key_ok / kf_label_value_ok: the API server's syntax rules; on failure MSG says why. */
static bool name_part_ok(const char *s, size_t n, char *msg, size_t cap)
{
    if (n == 0 || n > 63) {
        snprintf(msg, cap, "name part must be no more than 63 characters and non-empty");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = isalnum((unsigned char)c) && (unsigned char)c < 128;
        if (!alnum && c != '-' && c != '_' && c != '.') goto bad;
        if ((i == 0 || i == n - 1) && !alnum) goto bad;
    }
    return true;
bad:
    snprintf(msg, cap,
             "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
             "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
             "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
    return false;
}

bool kf_subdomain_ok(const char *s, size_t n, size_t max, char *msg, size_t cap)
{
    if (n > max) {
        snprintf(msg, cap, "must be no more than %zu characters", max);
        return false;
    }
    bool ok = n > 0;
    for (size_t i = 0; ok && i < n; i++) {
        char c = s[i];
        bool an = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!an && c != '-' && c != '.') ok = false;
        bool edge = i == 0 || i == n - 1 || s[i - 1] == '.' || s[i + 1] == '.';
        if (edge && !an) ok = false;
    }
    if (!ok)
        snprintf(msg, cap,
                 "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
                 "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
    return ok;
}

bool kf_label_key_ok(const char *k, char *msg, size_t cap)
{
    const char *slash = strchr(k, '/');
    if (slash) {
        if (!kf_subdomain_ok(k, (size_t)(slash - k), 253, msg, cap)) {
            char tmp[400];
            snprintf(tmp, sizeof tmp, "prefix part %s", msg);
            snprintf(msg, cap, "%s", tmp);
            return false;
        }
        k = slash + 1;
    }
    return name_part_ok(k, strlen(k), msg, cap);
}

bool kf_label_value_ok(const char *v, char *msg, size_t cap)
{
    size_t n = strlen(v);
    if (n > 63) {
        snprintf(msg, cap, "must be no more than 63 characters");
        return false;
    }
    if (n == 0) return true;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        bool alnum = isalnum((unsigned char)c) && (unsigned char)c < 128;
        if ((!alnum && c != '-' && c != '_' && c != '.') || ((i == 0 || i == n - 1) && !alnum)) {
            snprintf(msg, cap,
                     "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                     "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
                     "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
            return false;
        }
    }
    return true;
}

static void skip_ws(const char **p)
{
    while (isspace((unsigned char)**p)) (*p)++;
}

static char *take_word(const char **p)
{
    skip_ws(p);
    const char *s = *p;
    while (**p && is_key_char(**p)) (*p)++;
    if (*p == s) return NULL;
    return strndup(s, (size_t)(*p - s));
}

static t0_status push_val(sel_req *r, char *v)
{
    char **nv = realloc(r->vals, (r->nvals + 1) * sizeof *nv);
    if (!nv) {
        free(v);
        return T0_ENOMEM;
    }
    r->vals = nv;
    r->vals[r->nvals++] = v;
    return T0_OK;
}

t0_status kfake_selector_parse(const char *s, kfake_selector **out, t0_err *err)
{
    kfake_selector *sel = calloc(1, sizeof *sel);
    if (!sel) return t0_fail(err, T0_ENOMEM, "selector: out of memory");
    const char *p = s ? s : "";
    char msg[400];
    skip_ws(&p);
    while (*p) {
        sel_req *nr = realloc(sel->reqs, (sel->n + 1) * sizeof *nr);
        if (!nr) goto nomem;
        sel->reqs = nr;
        sel_req *r = &sel->reqs[sel->n];
        memset(r, 0, sizeof *r);
        sel->n++;
        bool neg = false;
        skip_ws(&p);
        if (*p == '!') {
            neg = true;
            p++;
        }
        r->key = take_word(&p);
        if (!r->key) goto bad;
        if (!kf_label_key_ok(r->key, msg, sizeof msg)) goto badkey;
        skip_ws(&p);
        if (neg) {
            r->op = SEL_NOTEXISTS;
        } else if (*p == ',' || !*p) {
            r->op = SEL_EXISTS;
        } else if (p[0] == '=' || (p[0] == '!' && p[1] == '=')) {
            r->op = p[0] == '!' ? SEL_NEQ : SEL_EQ;
            p += (p[0] == '!' || p[1] == '=') ? 2 : 1;
            skip_ws(&p);
            const char *vs = p;
            while (*p && !isspace((unsigned char)*p) && *p != ',') p++;
            char *v = strndup(vs, (size_t)(p - vs));
            if (!v || push_val(r, v) != T0_OK) goto nomem;
            if (!kf_label_value_ok(r->vals[0], msg, sizeof msg)) goto badval;
        } else if (!strncmp(p, "in", 2) || !strncmp(p, "notin", 5)) {
            r->op = p[0] == 'i' ? SEL_IN : SEL_NOTIN;
            p += r->op == SEL_IN ? 2 : 5;
            skip_ws(&p);
            if (*p != '(') goto bad;
            p++;
            for (;;) {
                skip_ws(&p);
                const char *vs = p;
                while (*p && !isspace((unsigned char)*p) && *p != ',' && *p != ')') p++;
                char *v = strndup(vs, (size_t)(p - vs));
                if (!v || push_val(r, v) != T0_OK) goto nomem;
                if (!kf_label_value_ok(v, msg, sizeof msg)) goto badval;
                skip_ws(&p);
                if (*p == ',') {
                    p++;
                    continue;
                }
                if (*p == ')') {
                    p++;
                    break;
                }
                goto bad;
            }
        } else
            goto bad;
        skip_ws(&p);
        if (*p == ',') {
            p++;
            skip_ws(&p);
            if (!*p) goto bad;
        } else if (*p)
            goto bad;
    }
    *out = sel;
    return T0_OK;
nomem:
    kfake_selector_free(sel);
    return t0_fail(err, T0_ENOMEM, "selector: out of memory");
bad:
    kfake_selector_free(sel);
    return t0_fail(err, T0_EINVAL, "unable to parse requirement: found '%s', expected: in, notin, =, ==, !=, (, ), ','",
                   p);
badkey:
badval : {
    t0_status st = t0_fail(err, T0_EINVAL, "unable to parse requirement: invalid label %s: %s",
                           sel->reqs[sel->n - 1].key ? "key or value" : "key", msg);
    kfake_selector_free(sel);
    return st;
}
}

bool kfake_selector_matches(const kfake_selector *sel, const cJSON *labels)
{
    if (!sel) return true;
    for (size_t i = 0; i < sel->n; i++) {
        const sel_req *r = &sel->reqs[i];
        const cJSON *l = labels ? t0_json_get(labels, r->key) : NULL;
        const char *v = cJSON_IsString(l) ? l->valuestring : NULL;
        bool in = false;
        for (size_t j = 0; v && j < r->nvals; j++)
            if (!strcmp(v, r->vals[j])) in = true;
        switch (r->op) {
        case SEL_EQ:
        case SEL_IN:
            if (!in) return false;
            break;
        case SEL_NEQ:
        case SEL_NOTIN:
            if (in) return false;
            break;
        case SEL_EXISTS:
            if (!v) return false;
            break;
        case SEL_NOTEXISTS:
            if (v) return false;
            break;
        }
    }
    return true;
}


/* ---- indexes ---------------------------------------------------------------------------------- */
static ibucket *bucket_get(kfake *k, const char *key, bool create)
{
    ibucket *b = hmap_get(&k->index, key);
    if (b || !create) return b;
    b = calloc(1, sizeof *b);
    if (!b) return NULL;
    if (hmap_put(&k->index, key, b, NULL) != T0_OK) {
        free(b);
        return NULL;
    }
    return b;
}

void kf_label_index_key(int kind, const char *key, const char *val, char *buf, size_t cap)
{
    char kd[21];
    t0_u64_dec(kd, (uint64_t)kind);
    t0_strjoin(buf, cap, "k|", kd, "|", key, "=", val);
}

static void owner_index_key(const char *uid, char *buf, size_t cap) { t0_strjoin(buf, cap, "o|", uid); }

void kf_unindex(kfake *k, kobj *o)
{
    (void)k;
    for (size_t i = 0; i < o->nnodes; i++) {
        inode *n = &o->nodes[i];
        if (!n->b) continue;
        if (n->prev)
            n->prev->next = n->next;
        else
            n->b->head = n->next;
        if (n->next) n->next->prev = n->prev;
        n->b->n--;
    }
    free(o->nodes);
    o->nodes = NULL;
    o->nnodes = 0;
}

/* link_node: O's next index node, in the bucket under KEY (O->nodes has room for it) */
static t0_status link_node(kfake *k, kobj *o, const char *key)
{
    ibucket *b = bucket_get(k, key, true);
    if (!b) return T0_ENOMEM;
    inode *nd = &o->nodes[o->nnodes++];
    nd->o = o;
    nd->b = b;
    nd->next = b->head;
    if (b->head) b->head->prev = nd;
    b->head = nd;
    b->n++;
    return T0_OK;
}

t0_status kf_index(kfake *k, kobj *o)
{
    const cJSON *md = t0_json_get(o->v->obj, "metadata");
    const cJSON *labels = t0_json_get(md, "labels");
    const cJSON *owners = t0_json_get(md, "ownerReferences");
    size_t n = (size_t)cJSON_GetArraySize(labels) + (size_t)cJSON_GetArraySize(owners);
    if (!n) return T0_OK;
    o->nodes = calloc(n, sizeof *o->nodes);
    if (!o->nodes) return T0_ENOMEM;
    o->nnodes = 0;
    char key[700];
    const cJSON *it;
    cJSON_ArrayForEach(it, labels)
    {
        if (!cJSON_IsString(it)) continue;
        kf_label_index_key(o->kind, it->string, it->valuestring, key, sizeof key);
        if (link_node(k, o, key) != T0_OK) return T0_ENOMEM;
    }
    cJSON_ArrayForEach(it, owners)
    {
        const char *uid = kfake_str(it, "uid");
        if (!uid) continue;
        owner_index_key(uid, key, sizeof key);
        if (link_node(k, o, key) != T0_OK) return T0_ENOMEM;
    }
    return T0_OK;
}

size_t kf_dependents(kfake *k, const char *uid, kobj ***out)
{
    char key[300];
    owner_index_key(uid, key, sizeof key);
    ibucket *b = bucket_get(k, key, false);
    *out = NULL;
    if (!b || !b->n) return 0;
    kobj **v = malloc(b->n * sizeof *v);
    if (!v) return 0;
    size_t n = 0;
    for (inode *nd = b->head; nd; nd = nd->next) v[n++] = nd->o;
    *out = v;
    return n;
}

size_t kf_dependents_count(kfake *k, const char *uid)
{
    char key[300];
    owner_index_key(uid, key, sizeof key);
    ibucket *b = bucket_get(k, key, false);
    return b ? b->n : 0;
}

/* Candidates for SEL: the smallest equality bucket, or every object of the kind. Owned array. */
size_t kf_candidates(kfake *k, int kind, const kfake_selector *sel, kobj ***out)
{
    ibucket *best = NULL;
    bool have_eq = false;
    for (size_t i = 0; sel && i < sel->n; i++) {
        const sel_req *r = &sel->reqs[i];
        if (!(r->op == SEL_EQ || (r->op == SEL_IN && r->nvals == 1))) continue;
        char key[700];
        kf_label_index_key(kind, r->key, r->vals[0], key, sizeof key);
        ibucket *b = bucket_get(k, key, false);
        if (!b || !b->n) {
            *out = NULL;
            return 0;
        }
        if (!have_eq || b->n < best->n) best = b;
        have_eq = true;
    }
    size_t n = have_eq ? best->n : k->objs[kind].count;
    *out = NULL;
    if (!n) return 0;
    kobj **v = malloc(n * sizeof *v);
    if (!v) return 0;
    size_t i = 0;
    if (have_eq) {
        for (inode *nd = best->head; nd; nd = nd->next) v[i++] = nd->o;
    } else {
        for (hmap_entry *e = hmap_first(&k->objs[kind]); e; e = hmap_next(&k->objs[kind], e))
            v[i++] = e->val;
    }
    *out = v;
    return i;
}
