/* kube_fake.c: the in-process Kubernetes API server of the simulator (see kube_fake.h for the semantics):
 * the port's calls (fault points, create/get/list/update/delete/watch) and the cluster's construction.
 * The store, selectors and indexes, watch, lifecycle and validation are in their own files
 * (kube_fake_impl.h lists them). */
#include "fakes/kube_fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakes/kube_fake_impl.h"

/* in kfake_rid order; the port's kinds first (their plural and kind as kube_kind_name/kube_kind_kind) */
const kfake_res kf_res[KFAKE_NRES] = {
    /* group, version, apiVersion, plural, singular, kind, display, shortname, namespaced, all, has_status */
    {"", "v1", "v1", "pods", "pod", "Pod", "Pod", "po", true, true, true},
    {"batch", "v1", "batch/v1", "cronjobs", "cronjob", "CronJob", "CronJob.batch", "cj", true, true, true},
    {"batch", "v1", "batch/v1", "jobs", "job", "Job", "Job.batch", NULL, true, true, true},
    {"coordination.k8s.io", "v1", "coordination.k8s.io/v1", "leases", "lease", "Lease", "Lease.coordination.k8s.io",
     NULL, true, false, false},
    {"", "v1", "v1", "events", "event", "Event", "Event", "ev", true, false, false},
    {"", "v1", "v1", "namespaces", "namespace", "Namespace", "Namespace", "ns", false, false, true},
    {"", "v1", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", "ServiceAccount", "sa", true, false, false},
    {"", "v1", "v1", "secrets", "secret", "Secret", "Secret", NULL, true, false, false},
    {"", "v1", "v1", "configmaps", "configmap", "ConfigMap", "ConfigMap", "cm", true, false, false},
    {"", "v1", "v1", "services", "service", "Service", "Service", "svc", true, true, true},
    {"apps", "v1", "apps/v1", "deployments", "deployment", "Deployment", "Deployment.apps", "deploy", true, true, true},
    {"rbac.authorization.k8s.io", "v1", "rbac.authorization.k8s.io/v1", "roles", "role", "Role",
     "Role.rbac.authorization.k8s.io", NULL, true, false, false},
    {"rbac.authorization.k8s.io", "v1", "rbac.authorization.k8s.io/v1", "rolebindings", "rolebinding", "RoleBinding",
     "RoleBinding.rbac.authorization.k8s.io", NULL, true, false, false},
    {"rbac.authorization.k8s.io", "v1", "rbac.authorization.k8s.io/v1", "clusterroles", "clusterrole", "ClusterRole",
     "ClusterRole.rbac.authorization.k8s.io", NULL, false, false, false},
    {"rbac.authorization.k8s.io", "v1", "rbac.authorization.k8s.io/v1", "clusterrolebindings", "clusterrolebinding",
     "ClusterRoleBinding", "ClusterRoleBinding.rbac.authorization.k8s.io", NULL, false, false, false},
    {"", "v1", "v1", "nodes", "node", "Node", "Node", "no", false, false, true},
};

const kfake_res *kfake_res_of(int res) { return kf_kind_ok(res) ? &kf_res[res] : NULL; }

int kfake_res_find(const char *group, const char *version, const char *plural)
{
    for (int i = 0; i < KFAKE_NRES; i++)
        if (!strcmp(kf_res[i].group, group) && !strcmp(kf_res[i].version, version) && !strcmp(kf_res[i].plural, plural))
            return i;
    return -1;
}

/* ---- small helpers ---------------------------------------------------------------------------- */
const char *kfake_str(const cJSON *obj, const char *path) { return t0_json_str(obj, path); }

t0_status kf_fail(t0_err *err, t0_status st, int http, const char *fmt, ...)
{
    if (!err) return st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->code = st;
    err->http_status = http;
    err->retry_after_ms = 0;
    return st;
}

static bool parse_rv(const char *s, uint64_t *out)
{
    if (!s || !*s) return false;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end) return false;
    *out = v;
    return true;
}

static char *now_str(kfake *k, char *b, size_t cap) { return sim_format_rfc3339(sim_loop_now(k->loop), b, cap); }

/* ---- the API ---------------------------------------------------------------------------------- */
static const char *point(int kind, const char *verb, char *buf, size_t cap)
{
    t0_strjoin(buf, cap, "kube/", kf_kind_ok(kind) ? kf_res[kind].singular : "?", "/", verb);
    return buf;
}

/* fault_gate: ask the point; returns T0_OK to proceed (with *applied_timeout / *stale set), or the
 * injected status. */
static t0_status fault_gate(port_ctx *pc, int kind, const char *verb, bool *applied_timeout, bool *stale,
                            t0_err *err)
{
    if (applied_timeout) *applied_timeout = false;
    if (stale) *stale = false;
    if (!pc->faults || !pc->k->faults) return T0_OK;
    char p[64];
    sim_fault_hit hit;
    if (!sim_faults_check(pc->k->faults, point(kind, verb, p, sizeof p), &hit)) return T0_OK;
    if (hit.kind == SIM_FAULT_TIMEOUT_APPLIED && applied_timeout) {
        *applied_timeout = true;
        return T0_OK;
    }
    if (hit.kind == SIM_FAULT_STALE) {
        if (stale) *stale = true;
        return T0_OK;
    }
    if (hit.status == T0_OK) return T0_OK; /* delivery kinds mean nothing for a call */
    return sim_faults_fail(&hit, p, err);
}

static t0_status applied_timeout_err(int kind, const char *verb, t0_err *err)
{
    char p[64];
    return kf_fail(err, T0_ETIMEOUT, 504, "%s: injected timeout-applied (HTTP 504; the request was applied)",
                     point(kind, verb, p, sizeof p));
}

static void gen_name(kfake *k, const char *prefix, char *out, size_t cap)
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    char suf[6];
    for (int i = 0; i < 5; i++) suf[i] = alphabet[sim_rand_range(k->loop, 0, (int64_t)sizeof alphabet - 2)];
    suf[5] = '\0';
    snprintf(out, cap, "%s%s", prefix, suf);
}

/* create_name: the name of a new object O of KIND in NS into NAME: metadata.name, or generateName and 5
 * characters from the loop PRNG */
static t0_status create_name(kfake *k, int kind, const char *ns, const cJSON *o, char *name, size_t cap,
                             t0_err *err)
{
    const char *nm = kfake_str(o, "metadata.name");
    const char *gn = kfake_str(o, "metadata.generateName");
    if ((!nm || !*nm) && gn && *gn) {
        for (int tries = 0; tries < 8; tries++) {
            gen_name(k, gn, name, cap);
            if (!kf_lookup(k, kind, ns, name)) break;
        }
    } else if (nm && *nm)
        t0_strlcpy(name, nm, cap);
    else
        return kf_fail(err, T0_EINVALID, 422, "%s \"\" is invalid: metadata.name: Required value: name or generateName is required",
                       kf_res[kind].display);
    if (strlen(name) >= cap - 1)
        return kf_fail(err, T0_EINVALID, 422, "%s is invalid: metadata.name: Invalid value: must be no more than 253 characters",
                       kf_res[kind].display);
    return T0_OK;
}

/* create_stamp: what the server sets on a new object O (owned) of KIND: identity, timestamps, version,
 * an empty status (the port's kinds; the others keep what they are given), the defaults */
static void create_stamp(kfake *k, int kind, const char *ns, const char *name, const char *uid, bool dry, cJSON *o)
{
    cJSON *md = kf_obj_at(o, "metadata");
    char ts[32], rvb[32];
    bool typed = kind < KUBE__KINDS;
    kf_set_str(o, "apiVersion", kf_res[kind].api_version);
    kf_set_str(o, "kind", kf_res[kind].kind);
    kf_set_str(md, "name", name);
    if (kf_res[kind].namespaced)
        kf_set_str(md, "namespace", ns);
    else
        kf_del_member(md, "namespace");
    kf_set_str(md, "uid", uid);
    kf_set_str(md, "creationTimestamp", now_str(k, ts, sizeof ts));
    if (typed || t0_json_get(o, "spec"))
        kf_set_num(md, "generation", 1);
    else
        kf_del_member(md, "generation");
    kf_del_member(md, "deletionTimestamp");
    kf_del_member(md, "deletionGracePeriodSeconds");
    if (!typed) kf_del_member(md, "managedFields");
    if (dry) {
        kf_del_member(md, "resourceVersion"); /* (the store sets it) */
    } else {
        kf_rv_str(++k->rv, rvb, sizeof rvb);
        kf_set_str(md, "resourceVersion", rvb);
    }
    if (kind == KUBE_POD || kind == KUBE_JOB || kind == KUBE_CRONJOB) {
        kf_del_member(o, "status");
        cJSON *status = T0_JSON_OBJ(o, "status");
        if (kind == KUBE_POD && status) T0_JSON_STR_STATIC(status, "phase", "Pending");
        if (kind == KUBE_POD) kf_del_member(t0_json_get(o, "spec"), "nodeName");
    }
    kf_apply_defaults(kind, o);
}

static t0_status api_create(void *ctx, int kind, const char *ns, const cJSON *obj, cJSON **out, t0_err *err)
{
    port_ctx *pc = ctx;
    kfake *k = pc->k;
    if (out) *out = NULL;
    if (!kf_kind_ok(kind) || !cJSON_IsObject(obj)) return kf_fail(err, T0_EINVAL, 400, "create: bad kind or object");
    bool applied_to;
    t0_status st = fault_gate(pc, kind, "create", &applied_to, NULL, err);
    if (st != T0_OK) return st;
    ns = ns && kf_res[kind].namespaced ? ns : "";
    const char *ons = kfake_str(obj, "metadata.namespace");
    if (kf_res[kind].namespaced && ons && *ons && strcmp(ons, ns))
        return kf_fail(err, T0_EINVAL, 400, "the namespace of the provided object does not match the namespace sent on the request");
    cJSON *o = cJSON_Duplicate(obj, 1);
    if (!o) return kf_fail(err, T0_ENOMEM, 0, "create: out of memory");
    kf_obj_at(o, "metadata");
    char name[300];
    st = create_name(k, kind, ns, o, name, sizeof name, err);
    if (st == T0_OK) st = kf_validate(k, kind, o, name, NULL, err);
    if (st == T0_OK && kf_lookup(k, kind, ns, name))
        st = kf_fail(err, T0_EEXIST, 409, "%s \"%s\" already exists", kf_res[kind].plural, name);
    if (st != T0_OK) {
        cJSON_Delete(o);
        return st;
    }
    char uid[64];
    snprintf(uid, sizeof uid, "00000000-0000-4000-8000-%012llx", (unsigned long long)(k->uid_counter + 1));
    create_stamp(k, kind, ns, name, uid, pc->dry, o);
    if (pc->dry) {
        if (out) *out = o;
        else cJSON_Delete(o);
        return T0_OK;
    }
    k->uid_counter++;
    kobj *ko = kf_store_insert(k, kind, ns, name, uid, o);
    if (!ko) return kf_fail(err, T0_ENOMEM, 0, "create: out of memory");
    /* a dependent created for owners that do not exist is garbage */
    const cJSON *it;
    cJSON_ArrayForEach(it, t0_json_get(t0_json_get(ko->v->obj, "metadata"), "ownerReferences"))
    {
        const char *u = kfake_str(it, "uid");
        if (u && !hmap_get(&k->by_uid, u)) kf_gc_enqueue(k, u);
    }
    if (out) *out = kf_hand_out(k, ko->v->obj);
    if (applied_to) return applied_timeout_err(kind, "create", err);
    return T0_OK;
}

static t0_status api_get(void *ctx, int kind, const char *ns, const char *name, cJSON **out, t0_err *err)
{
    port_ctx *pc = ctx;
    if (out) *out = NULL;
    if (!kf_kind_ok(kind)) return kf_fail(err, T0_EINVAL, 400, "get: bad kind");
    t0_status st = fault_gate(pc, kind, "get", NULL, NULL, err);
    if (st != T0_OK) return st;
    kobj *o = kf_lookup(pc->k, kind, ns, name);
    if (!o) return kf_not_found(kind, name, err);
    if (out && !(*out = kf_hand_out(pc->k, o->v->obj))) return kf_fail(err, T0_ENOMEM, 0, "get: out of memory");
    return T0_OK;
}

static int cmp_kobj(const void *a, const void *b)
{
    const kobj *x = *(kobj *const *)a, *y = *(kobj *const *)b;
    int c = strcmp(x->ns, y->ns);
    return c ? c : strcmp(x->name, y->name);
}

static void lsnap_free(lsnap *sn)
{
    if (!sn) return;
    for (size_t i = 0; i < sn->n; i++) kf_kver_unref(sn->v[i]);
    free(sn->v);
    free(sn);
}

/* list_build: a List object of KIND at RV over the versions V[0..N) (borrowed): items are read-only
 * references into V when the cluster lends its objects (kfake_opts.lend_objects), copies otherwise. */
static cJSON *list_build(const kfake *k, int kind, uint64_t rv, kver *const *v, size_t n)
{
    cJSON *list = cJSON_CreateObject();
    char rvb[32], kindlist[48];
    kf_rv_str(rv, rvb, sizeof rvb);
    snprintf(kindlist, sizeof kindlist, "%sList", kf_res[kind].kind);
    cJSON_AddStringToObject(list, "apiVersion", kf_res[kind].api_version);
    cJSON_AddStringToObject(list, "kind", kindlist);
    cJSON *lmd = cJSON_AddObjectToObject(list, "metadata");
    cJSON_AddStringToObject(lmd, "resourceVersion", rvb);
    cJSON *items = cJSON_AddArrayToObject(list, "items");
    if (!items) {
        cJSON_Delete(list);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        bool ok = k->opts.lend_objects ? cJSON_AddItemReferenceToArray(items, v[i]->obj)
                                         : cJSON_AddItemToArray(items, cJSON_Duplicate(v[i]->obj, 1));
        if (!ok) {
            cJSON_Delete(list);
            return NULL;
        }
    }
    return list;
}

static void kpages_free(kpages *pg)
{
    if (!pg) return;
    for (size_t i = 0; i < pg->sn.n; i++) kf_kver_unref(pg->sn.v[i]);
    free(pg->sn.v);
    free(pg->skey);
    free(pg);
}

static void kpages_drop(kfake *k, uint64_t id)
{
    char key[24];
    t0_u64_dec(key, id);
    kpages_free(hmap_del(&k->pages, key));
}

/* kpages_finish: PG's last page was served: its token dies now, its versions at the next list call */
static void kpages_finish(kfake *k, kpages *pg)
{
    char key[24];
    t0_u64_dec(key, pg->id);
    hmap_del(&k->pages, key);
    pg->next_done = k->pages_done;
    k->pages_done = pg;
}

static void kpages_free_done(kfake *k)
{
    while (k->pages_done) {
        kpages *pg = k->pages_done;
        k->pages_done = pg->next_done;
        kpages_free(pg);
    }
}

/* A continue token: "<rv>.<id>.<pos>", the snapshot's resourceVersion, its id and where the next page starts.
 * cont_parse: false when CONT is no such token. */
static bool cont_parse(const char *cont, unsigned long long *rv, unsigned long long *id, unsigned long long *pos)
{
    int used = 0;
    return sscanf(cont, "%llu.%llu.%llu%n", rv, id, pos, &used) == 3 && !cont[used];
}

/* page_out: the page of PG from POS (at most LIMIT items; 0 = the rest) as a List into *OUT (NULL: only
 * the bookkeeping), with metadata.continue naming the next one; PG is finished by its last page. */
static t0_status page_out(kfake *k, int kind, kpages *pg, size_t pos, size_t limit, cJSON **out, t0_err *err)
{
    size_t n = pg->sn.n - pos;
    if (limit && n > limit) n = limit;
    bool more = pos + n < pg->sn.n;
    cJSON *list = out ? list_build(k, kind, pg->sn.rv, pg->sn.v + pos, n) : NULL;
    if (out && !list) return kf_fail(err, T0_ENOMEM, 0, "list: out of memory");
    if (more && list) {
        char tok[80], a[24], b[24], c[24];
        t0_u64_dec(a, pg->sn.rv);
        t0_u64_dec(b, pg->id);
        t0_u64_dec(c, (uint64_t)(pos + n));
        t0_strjoin(tok, sizeof tok, a, ".", b, ".", c);
        cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(list, "metadata"), "continue", tok);
        cJSON_AddNumberToObject(cJSON_GetObjectItemCaseSensitive(list, "metadata"), "remainingItemCount",
                                (double)(pg->sn.n - pos - n));
    }
    if (!more) kpages_finish(k, pg);
    if (out) *out = list;
    return T0_OK;
}

/* list_continue: the page of the paginated list that token CONT names. A token of another list is a bad
 * request; one whose snapshot is gone (older than KF_CONTINUE_TTL_MS, pushed out, or finished) has expired:
 * 410 with the API server's words. */
static t0_status list_continue(kfake *k, int kind, const char *skey, const char *cont, size_t limit, cJSON **out,
                               t0_err *err)
{
    unsigned long long rv, id, pos;
    if (!cont_parse(cont, &rv, &id, &pos))
        return kf_fail(err, T0_EINVAL, 400, "continue key is not valid: \"%.80s\" is not a continue token of this server",
                       cont);
    char key[24];
    t0_u64_dec(key, id);
    kpages *pg = hmap_get(&k->pages, key);
    if (pg && sim_loop_now(k->loop) - pg->at_ms > KF_CONTINUE_TTL_MS) {
        kpages_drop(k, id);
        pg = NULL;
    }
    if (pg && (strcmp(pg->skey, skey) || pg->sn.rv != rv || pos > pg->sn.n))
        return kf_fail(err, T0_EINVAL, 400, "continue key is not valid: it was issued for another list");
    if (!pg)
        return kf_fail(err, T0_EGONE, 410,
                       "The provided continue parameter is too old to display a consistent list result. You can start a "
                       "new list without the continue parameter.");
    return page_out(k, kind, pg, (size_t)pos, limit, out, err);
}

/* list_first_page: the first LIMIT of the versions VERS[0..M) (taken: freed here) at RV; the rest is kept
 * as a snapshot that the continue token names. */
static t0_status list_first_page(kfake *k, int kind, const char *skey, uint64_t rv, kver **vers, size_t m, size_t limit,
                                 cJSON **out, t0_err *err)
{
    kpages *pg = calloc(1, sizeof *pg);
    char key[24];
    if (!pg || !(pg->skey = strdup(skey))) {
        free(pg);
        free(vers);
        return kf_fail(err, T0_ENOMEM, 0, "list: out of memory");
    }
    pg->id = ++k->pages_seq;
    pg->at_ms = sim_loop_now(k->loop);
    pg->sn = (lsnap){.rv = rv, .n = m, .v = vers};
    for (size_t i = 0; i < m; i++) kf_kver_ref(vers[i]);
    if (k->pages.count >= KF_PAGES_MAX) { /* the oldest list in progress expires */
        uint64_t oldest = UINT64_MAX;
        for (hmap_entry *e = hmap_first(&k->pages); e; e = hmap_next(&k->pages, e)) {
            const kpages *o = e->val;
            if (o->id < oldest) oldest = o->id;
        }
        kpages_drop(k, oldest);
    }
    t0_u64_dec(key, pg->id);
    if (hmap_put(&k->pages, key, pg, NULL) != T0_OK) {
        kpages_free(pg);
        return kf_fail(err, T0_ENOMEM, 0, "list: out of memory");
    }
    return page_out(k, kind, pg, 0, limit, out, err);
}

static t0_status api_list(void *ctx, int kind, const char *ns, const char *selector, const kube_list_page *page,
                          cJSON **out, t0_err *err)
{
    port_ctx *pc = ctx;
    kfake *k = pc->k;
    if (out) *out = NULL;
    kpages_free_done(k); /* what the last list lent is the caller's no longer (the port's contract) */
    if (!kf_kind_ok(kind)) return kf_fail(err, T0_EINVAL, 400, "list: bad kind");
    const char *cont = page && page->cont && *page->cont ? page->cont : NULL;
    size_t limit = page ? page->limit : 0;
    bool stale;
    t0_status st = fault_gate(pc, kind, cont ? "continue" : "list", NULL, &stale, err);
    if (st == T0_EGONE) { /* compacted under the list: the token stays expired */
        unsigned long long rv, id, pos;
        if (cont_parse(cont, &rv, &id, &pos)) kpages_drop(k, id);
        return st;
    }
    if (st != T0_OK) return st;
    char skey[700];
    snprintf(skey, sizeof skey, "%d|%s|%s", (int)kind, ns ? ns : "", selector ? selector : "");
    if (cont) return list_continue(k, kind, skey, cont, limit, out, err);
    if (stale) {
        const lsnap *prev = hmap_get(&k->stale, skey);
        if (prev) {
            if (limit && prev->n > limit) {
                kver **vers = malloc(prev->n * sizeof *vers);
                if (!vers) return kf_fail(err, T0_ENOMEM, 0, "list: out of memory");
                memcpy(vers, prev->v, prev->n * sizeof *vers);
                return list_first_page(k, kind, skey, prev->rv, vers, prev->n, limit, out, err);
            }
            if (out && !(*out = list_build(k, kind, prev->rv, prev->v, prev->n)))
                return kf_fail(err, T0_ENOMEM, 0, "list: out of memory");
            return T0_OK;
        }
    }
    kfake_selector *sel = NULL;
    t0_err serr = {0};
    if (selector && *selector && kfake_selector_parse(selector, &sel, &serr) != T0_OK)
        return kf_fail(err, T0_EINVAL, 400, "%s", serr.msg);
    kobj **cand;
    size_t n = kf_candidates(k, kind, sel, &cand), m = 0;
    for (size_t i = 0; i < n; i++) {
        kobj *o = cand[i];
        if (ns && *ns && strcmp(o->ns, ns)) continue;
        if (!kfake_selector_matches(sel, t0_json_get(t0_json_get(o->v->obj, "metadata"), "labels")))
            continue;
        cand[m++] = o;
    }
    kfake_selector_free(sel);
    if (m > 1) qsort(cand, m, sizeof *cand, cmp_kobj);
    /* the versions served (kept as the stale snapshot when faults may ask for it) */
    kver **vers = m ? malloc(m * sizeof *vers) : NULL;
    if (m && !vers) {
        free(cand);
        return kf_fail(err, T0_ENOMEM, 0, "list: out of memory");
    }
    for (size_t i = 0; i < m; i++) vers[i] = cand[i]->v;
    free(cand);
    bool paged = limit && m > limit;
    cJSON *list = out && !paged ? list_build(k, kind, k->rv, vers, m) : NULL;
    if (pc->faults && k->faults) {
        lsnap *sn = calloc(1, sizeof *sn), *old = NULL;
        kver **keep = paged ? malloc(m * sizeof *keep) : vers; /* a paged list keeps VERS for its snapshot */
        if (sn && (keep || !m)) {
            if (paged) memcpy(keep, vers, m * sizeof *keep);
            else vers = NULL;
            sn->rv = k->rv;
            sn->n = m;
            sn->v = keep;
            for (size_t i = 0; i < m; i++) kf_kver_ref(keep[i]);
            if (hmap_put(&k->stale, skey, sn, (void **)&old) == T0_OK)
                lsnap_free(old);
            else
                lsnap_free(sn);
        } else {
            free(sn);
            if (paged) free(keep);
        }
    }
    if (paged) return list_first_page(k, kind, skey, k->rv, vers, m, limit, out, err);
    free(vers);
    if (out && !list) return kf_fail(err, T0_ENOMEM, 0, "list: out of memory");
    if (out) *out = list;
    return T0_OK;
}

/* write_status: O's status becomes OBJ's (or *GIVE, taken when it is stored). A write of the status
 * already stored is a no-op. *OUT (may be NULL) gets what the port returns. */
static t0_status write_status(kfake *k, kobj *o, const cJSON *obj, cJSON **give, bool dry, cJSON **out, t0_err *err)
{
    const cJSON *s = t0_json_get(obj, "status");
    const cJSON *os = t0_json_get(o->v->obj, "status");
    cJSON *nst = *give ? *give : s ? cJSON_Duplicate(s, 1) : cJSON_CreateObject();
    *give = NULL;
    if (!nst) return kf_fail(err, T0_ENOMEM, 0, "update: out of memory");
    if (dry) { /* the stored object with the new status */
        cJSON *n = cJSON_Duplicate(o->v->obj, 1);
        kf_del_member(n, "status");
        t0_json_add_static(n, "status", nst);
        if (out) *out = n;
        else cJSON_Delete(n);
        return n ? T0_OK : kf_fail(err, T0_ENOMEM, 0, "update: out of memory");
    }
    if (os && t0_json_equal(nst, os)) {
        cJSON_Delete(nst);
        if (out) *out = kf_hand_out(k, o->v->obj);
        return T0_OK;
    }
    /* the new version: the new status, its own metadata, the spec shared (it does not change here) */
    kver *base;
    cJSON *n = kf_derive(o->v, "status", &base);
    if (!n) {
        cJSON_Delete(nst);
        return kf_fail(err, T0_ENOMEM, 0, "update: out of memory");
    }
    t0_json_add_static(n, "status", nst);
    kf_store_update(k, o, n, base, true); /* the metadata is a copy of the stored one */
    if (out) *out = kf_hand_out(k, o->v->obj);
    return T0_OK;
}

/* update_body: what an update of O to OBJ (named NAME) stores into *OUT (owned): OBJ defaulted and
 * validated, with the metadata the server owns, the status (of kinds with a status subresource) and a
 * pod's binding kept from O, the generation bumped when .spec changes */
static t0_status update_body(kfake *k, int kind, kobj *o, const cJSON *obj, const char *name, cJSON **out,
                             t0_err *err)
{
    cJSON *n = cJSON_Duplicate(obj, 1);
    if (!n) return kf_fail(err, T0_ENOMEM, 0, "update: out of memory");
    bool typed = kind < KUBE__KINDS;
    kf_apply_defaults(kind, n);
    t0_status st = kf_validate(k, kind, n, name, o, err);
    if (st != T0_OK) {
        cJSON_Delete(n);
        return st;
    }
    cJSON *md = kf_obj_at(n, "metadata");
    const cJSON *omd = t0_json_get(o->v->obj, "metadata");
    const char *keep[] = {"uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "namespace", "name"};
    for (size_t i = 0; i < T0_ARRAY_LEN(keep); i++) {
        kf_del_member(md, keep[i]);
        const cJSON *v = t0_json_get(omd, keep[i]);
        if (v) t0_json_add_static(md, keep[i], cJSON_Duplicate(v, 1)); /* keep[] holds literals */
    }
    if (!typed) kf_del_member(md, "managedFields");
    kf_set_str(n, "apiVersion", kf_res[kind].api_version);
    kf_set_str(n, "kind", kf_res[kind].kind);
    if (typed || kf_res[kind].has_status) {
        kf_del_member(n, "status");
        const cJSON *os = t0_json_get(o->v->obj, "status");
        if (os) t0_json_add_static(n, "status", cJSON_Duplicate(os, 1));
    }
    if (kind == KUBE_POD) {
        /* nodeName is set only through binding */
        cJSON *spec = t0_json_get(n, "spec");
        kf_del_member(spec, "nodeName");
        const char *node = kfake_str(o->v->obj, "spec.nodeName");
        if (node && spec) T0_JSON_STR(spec, "nodeName", node);
    }
    const cJSON *spec = t0_json_get(n, "spec"), *ospec = t0_json_get(o->v->obj, "spec");
    if ((spec || ospec) && !t0_json_equal(spec, ospec)) {
        /* (the port's kinds always have one; the others from their first .spec) */
        const cJSON *g = t0_json_get(omd, "generation");
        kf_set_num(md, "generation", (cJSON_IsNumber(g) ? g->valuedouble : typed ? 1 : 0) + 1);
    }
    *out = n;
    return T0_OK;
}

/* write_object: the update of O to OBJ (named NAME). A write that changes nothing is a no-op (no new
 * resourceVersion, no event); an object being deleted whose last finalizer this write removed goes. */
static t0_status write_object(kfake *k, int kind, kobj *o, const cJSON *obj, const char *name, bool dry, cJSON **out,
                              t0_err *err)
{
    cJSON *n = NULL;
    t0_status st = update_body(k, kind, o, obj, name, &n, err);
    if (st != T0_OK) return st;
    kf_set_str(kf_obj_at(n, "metadata"), "resourceVersion", kfake_str(o->v->obj, "metadata.resourceVersion"));
    if (dry) {
        if (out) *out = n;
        else cJSON_Delete(n);
        return T0_OK;
    }
    if (t0_json_equal(n, o->v->obj)) {
        cJSON_Delete(n);
        if (out) *out = kf_hand_out(k, o->v->obj);
        return T0_OK;
    }
    kf_store_update(k, o, n, NULL, false);
    if (out) *out = kf_hand_out(k, o->v->obj);
    if (kfake_str(o->v->obj, "metadata.deletionTimestamp") && !kf_has_finalizers(o) && !o->pod_terminating &&
        !kf_dependents_count(k, o->uid))
        kf_remove_now(k, o);
    return T0_OK;
}

/* update_common: update (STATUS false) or update_status. GIVE (status writes only; owned, consumed
 * whatever the outcome) is the new status when the caller hands it over instead of OBJ's being copied. */
static t0_status update_common(port_ctx *pc, int kind, const char *ns, const cJSON *obj, cJSON *give, cJSON **out,
                               bool status, t0_err *err)
{
    kfake *k = pc->k;
    if (out) *out = NULL;
    const char *verb = status ? "update_status" : "update";
    bool applied_to = false;
    t0_status st = T0_OK;
    if (!kf_kind_ok(kind) || !cJSON_IsObject(obj))
        st = kf_fail(err, T0_EINVAL, 400, "%s: bad kind or object", verb);
    if (st == T0_OK) st = fault_gate(pc, kind, verb, &applied_to, NULL, err);
    const cJSON *in_md = t0_json_get(obj, "metadata"); /* looked up once: every status write comes here */
    const char *name = kfake_str(in_md, "name");
    kobj *o = st == T0_OK ? kf_lookup(k, kind, ns, name) : NULL;
    if (st == T0_OK && !o) st = kf_not_found(kind, name, err);
    const char *want_rv = kfake_str(in_md, "resourceVersion"), *want_uid = kfake_str(in_md, "uid");
    if (st == T0_OK && want_rv && *want_rv && strcmp(want_rv, kfake_str(o->v->obj, "metadata.resourceVersion")))
        st = kf_fail(err, T0_ECONFLICT, 409,
                     "Operation cannot be fulfilled on %s \"%s\": the object has been modified; please apply your "
                     "changes to the latest version and try again",
                     kf_res[kind].plural, name);
    if (st == T0_OK && want_uid && *want_uid && strcmp(want_uid, o->uid))
        st = kf_fail(err, T0_ECONFLICT, 409, "Precondition failed: UID in precondition: %s, UID in object meta: %s",
                     want_uid, o->uid);
    if (st == T0_OK)
        st = status ? write_status(k, o, obj, &give, pc->dry, out, err)
                    : write_object(k, kind, o, obj, name, pc->dry, out, err);
    cJSON_Delete(give); /* not taken: a failed or no-op write */
    if (st != T0_OK) return st;
    return applied_to ? applied_timeout_err(kind, verb, err) : T0_OK;
}

t0_status kfake_write_status(kfake *k, kube_kind kind, const char *ns, cJSON *obj, t0_err *err)
{
    cJSON *status = cJSON_DetachItemFromObjectCaseSensitive(obj, "status");
    t0_status st = update_common(&k->system, kind, ns, obj, status, NULL, true, err);
    cJSON_Delete(obj);
    return st;
}

static t0_status api_remove(void *ctx, int kind, const char *ns, const char *name, const kube_delete_opts *opts,
                           t0_err *err)
{
    port_ctx *pc = ctx;
    if (!kf_kind_ok(kind)) return kf_fail(err, T0_EINVAL, 400, "delete: bad kind");
    bool applied_to;
    t0_status st = fault_gate(pc, kind, "delete", &applied_to, NULL, err);
    if (st != T0_OK) return st;
    kobj *o = kf_lookup(pc->k, kind, ns, name);
    if (!o) return kf_not_found(kind, name, err);
    if (opts && opts->precondition_uid && *opts->precondition_uid && strcmp(opts->precondition_uid, o->uid))
        return kf_fail(err, T0_ECONFLICT, 409,
                         "Operation cannot be fulfilled on %s \"%s\": Precondition failed: UID in precondition: %s, "
                         "UID in object meta: %s",
                         kf_res[kind].plural, name, opts->precondition_uid, o->uid);
    if (pc->dry) return T0_OK;
    st = kf_delete(pc->k, o, opts ? opts->propagation : KUBE_PROP_DEFAULT, opts ? opts->grace_seconds : -1, err);
    if (st == T0_OK && applied_to) return applied_timeout_err(kind, "delete", err);
    return st;
}


static t0_status api_watch(void *ctx, int kind, const char *ns, const char *selector, const char *from_rv,
                          kube_watch_fn fn, void *ud, kube_watch **out, t0_err *err)
{
    port_ctx *pc = ctx;
    kfake *k = pc->k;
    *out = NULL;
    if (!kf_kind_ok(kind) || !fn) return kf_fail(err, T0_EINVAL, 400, "watch: bad kind or callback");
    char p[64];
    sim_fault_hit hit;
    bool gone = false;
    if (pc->faults && k->faults && sim_faults_check(k->faults, point(kind, "watch", p, sizeof p), &hit)) {
        if (hit.kind == SIM_FAULT_GONE)
            gone = true;
        else if (hit.status != T0_OK)
            return sim_faults_fail(&hit, p, err);
    }
    uint64_t from = 0;
    if (from_rv && *from_rv && strcmp(from_rv, "0") && !parse_rv(from_rv, &from))
        return kf_fail(err, T0_EINVAL, 400, "watch: invalid resourceVersion \"%s\"", from_rv);
    return kf_watch_open(k, kind, ns, selector, from, gone, pc->faults && k->faults, fn, ud, out, err);
}

/* ---- the port and the calls on any resource ------------------------------------------------------ */
static t0_status port_create(void *ctx, kube_kind kind, const char *ns, const cJSON *obj, cJSON **out, t0_err *err)
{
    return api_create(ctx, (int)kind, ns, obj, out, err);
}

static t0_status port_get(void *ctx, kube_kind kind, const char *ns, const char *name, cJSON **out, t0_err *err)
{
    return api_get(ctx, (int)kind, ns, name, out, err);
}

static t0_status port_list(void *ctx, kube_kind kind, const char *ns, const char *selector, const kube_list_page *page,
                           cJSON **out, t0_err *err)
{
    return api_list(ctx, (int)kind, ns, selector, page, out, err);
}

static t0_status port_update(void *ctx, kube_kind kind, const char *ns, const cJSON *obj, cJSON **out, t0_err *err)
{
    return update_common(ctx, (int)kind, ns, obj, NULL, out, false, err);
}

static t0_status port_update_status(void *ctx, kube_kind kind, const char *ns, const cJSON *obj, cJSON **out,
                                    t0_err *err)
{
    return update_common(ctx, (int)kind, ns, obj, NULL, out, true, err);
}

static t0_status port_remove(void *ctx, kube_kind kind, const char *ns, const char *name, const kube_delete_opts *opts,
                             t0_err *err)
{
    return api_remove(ctx, (int)kind, ns, name, opts, err);
}

static t0_status port_watch(void *ctx, kube_kind kind, const char *ns, const char *selector, const char *from_rv,
                            kube_watch_fn fn, void *ud, kube_watch **out, t0_err *err)
{
    return api_watch(ctx, (int)kind, ns, selector, from_rv, fn, ud, out, err);
}

static void port_unwatch(void *ctx, kube_watch *w)
{
    (void)ctx;
    kf_watch_close(w);
}

static port_ctx *ctx_of(kfake *k, unsigned flags) { return flags & KFAKE_DRY_RUN ? &k->dry : &k->client; }

t0_status kfake_create(kfake *k, int res, const char *ns, const cJSON *obj, unsigned flags, cJSON **out, t0_err *err)
{
    return api_create(ctx_of(k, flags), res, ns, obj, out, err);
}

t0_status kfake_get(kfake *k, int res, const char *ns, const char *name, cJSON **out, t0_err *err)
{
    return api_get(&k->client, res, ns, name, out, err);
}

t0_status kfake_list(kfake *k, int res, const char *ns, const char *selector, const kube_list_page *page, cJSON **out,
                     t0_err *err)
{
    return api_list(&k->client, res, ns, selector, page, out, err);
}

t0_status kfake_update(kfake *k, int res, const char *ns, const cJSON *obj, bool status, unsigned flags, cJSON **out,
                       t0_err *err)
{
    return update_common(ctx_of(k, flags), res, ns, obj, NULL, out, status, err);
}

t0_status kfake_remove(kfake *k, int res, const char *ns, const char *name, const kube_delete_opts *opts, unsigned flags,
                       t0_err *err)
{
    return api_remove(ctx_of(k, flags), res, ns, name, opts, err);
}

const cJSON *kfake_causes(const kfake *k) { return k->causes; }

t0_status kfake_watch(kfake *k, int res, const char *ns, const char *selector, const char *from_rv, kube_watch_fn fn,
                      void *ud, kube_watch **out, t0_err *err)
{
    return api_watch(&k->client, res, ns, selector, from_rv, fn, ud, out, err);
}

void kfake_unwatch(kfake *k, kube_watch *w)
{
    (void)k;
    kf_watch_close(w);
}

/* ---- construction ----------------------------------------------------------------------------- */
t0_status kfake_new(sim_loop *loop, sim_faults *faults, const kfake_opts *opts, kfake **out, t0_err *err)
{
    kfake *k = calloc(1, sizeof *k);
    if (!k) return t0_fail(err, T0_ENOMEM, "kfake_new: out of memory");
    k->loop = loop;
    k->faults = faults;
    if (opts) k->opts = *opts;
    if (k->opts.watch_history <= 0) k->opts.watch_history = 100;
    if (k->opts.default_grace_s <= 0) k->opts.default_grace_s = 30;
    if (k->opts.watch_delay_ms < 0) k->opts.watch_delay_ms = 0;
    for (int i = 0; i < KFAKE_NRES; i++) {
        hmap_init(&k->objs[i]);
        k->hist[i] = calloc((size_t)k->opts.watch_history, sizeof *k->hist[i]);
        if (!k->hist[i]) {
            kfake_destroy(k);
            return t0_fail(err, T0_ENOMEM, "kfake_new: out of memory");
        }
    }
    hmap_init(&k->by_uid);
    hmap_init(&k->index);
    hmap_init(&k->stale);
    k->client = (port_ctx){k, true, false};
    k->system = (port_ctx){k, false, false};
    k->dry = (port_ctx){k, true, true};
    *out = k;
    return T0_OK;
}

void kfake_destroy(kfake *k)
{
    if (!k) return;
    for (int i = 0; i < KFAKE_NRES; i++) {
        while (k->watchers[i]) kf_watch_free(k->watchers[i]);
        for (hmap_entry *e = hmap_first(&k->objs[i]); e; e = hmap_next(&k->objs[i], e)) kf_kobj_free(e->val);
        hmap_free(&k->objs[i]);
        size_t cap = (size_t)k->opts.watch_history;
        for (size_t j = 0; k->hist[i] && j < k->hist_len[i]; j++) kf_wevent_unref(k->hist[i][(k->hist_head[i] + j) % cap]);
        free(k->hist[i]);
    }
    for (hmap_entry *e = hmap_first(&k->index); e; e = hmap_next(&k->index, e)) free(e->val);
    for (hmap_entry *e = hmap_first(&k->stale); e; e = hmap_next(&k->stale, e)) lsnap_free(e->val);
    for (hmap_entry *e = hmap_first(&k->pages); e; e = hmap_next(&k->pages, e)) kpages_free(e->val);
    hmap_free(&k->pages);
    kpages_free_done(k);
    hmap_free(&k->index);
    hmap_free(&k->stale);
    hmap_free(&k->by_uid);
    if (k->gc_timer) sim_loop_cancel(k->loop, k->gc_timer);
    for (size_t i = 0; i < k->gc_len; i++) free(k->gc_queue[i]);
    free(k->gc_queue);
    cJSON_Delete(k->causes);
    free(k);
}

static kube_port make_port(port_ctx *pc)
{
    return (kube_port){.ctx = pc,
                       .create = port_create,
                       .get = port_get,
                       .list = port_list,
                       .update = port_update,
                       .update_status = port_update_status,
                       .remove = port_remove,
                       .watch = port_watch,
                       .unwatch = port_unwatch};
}

kube_port kfake_port(kfake *k) { return make_port(&k->client); }
kube_port kfake_system_port(kfake *k) { return make_port(&k->system); }

const cJSON *kfake_peek(const kfake *k, kube_kind kind, const char *ns, const char *name)
{
    if (!kf_kind_ok(kind)) return NULL;
    kobj *o = kf_lookup((kfake *)k, kind, ns, name);
    return o ? o->v->obj : NULL;
}

size_t kfake_count(const kfake *k, kube_kind kind) { return kf_kind_ok(kind) ? k->objs[kind].count : 0; }

size_t kfake_count_label(const kfake *k, kube_kind kind, const char *ns, const char *key, const char *value)
{
    char ik[700];
    kf_label_index_key(kind, key, value, ik, sizeof ik);
    ibucket *b = hmap_get(&k->index, ik);
    if (!b) return 0;
    if (!ns || !*ns) return b->n;
    size_t n = 0;
    for (inode *nd = b->head; nd; nd = nd->next) n += !strcmp(nd->o->ns, ns);
    return n;
}

size_t kfake_count_labels(const kfake *k, kube_kind kind, const char *ns, const char *key, const char *value,
                          const char *key2, const char *value2)
{
    char ik[700];
    kf_label_index_key(kind, key, value, ik, sizeof ik);
    ibucket *b = hmap_get(&k->index, ik);
    size_t n = 0;
    for (inode *nd = b ? b->head : NULL; nd; nd = nd->next) {
        if (ns && *ns && strcmp(nd->o->ns, ns)) continue;
        const cJSON *v = t0_json_get(t0_json_get(t0_json_get(nd->o->v->obj, "metadata"), "labels"), key2);
        n += cJSON_IsString(v) && !strcmp(v->valuestring, value2);
    }
    return n;
}

uint64_t kfake_resource_version(const kfake *k) { return k->rv; }

void kfake_set_observer(kfake *k, kfake_observer_fn fn, void *ud)
{
    k->observer = fn;
    k->observer_ud = ud;
}
