/* kubelet.c: simulated nodes and kubelet: pods stepped through fsm_pod_table; their containers run as the
 * processes their commands name, each in its view of the pod's filesystem (fakes/podfs.h). This file: nodes,
 * scheduling, the pod watch, adoption, image pulls, pod records, the API (the others: kubelet_impl.h). */
#include "fakes/kubelet_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "core/str.h"
#include "fsm/tables.h"

void kubelet_program_default(kubelet_program *p)
{
    memset(p, 0, sizeof *p);
    p->pull_ms = 1000;
    p->init_ms = 500;
    p->exit_after_ms = -1;
    p->term_ms = 100;
    snprintf(p->log_text, sizeof p->log_text, "tick");
}

/* ---- observers -------------------------------------------------------------------------------- */
static botrec *bot_of(kubelet *k, const char *id)
{
    botrec *b = hmap_get(&k->bots, id);
    if (b) return b;
    b = calloc(1, sizeof *b);
    if (!b) return NULL;
    if (hmap_put(&k->bots, id, b, NULL) != T0_OK) {
        free(b);
        return NULL;
    }
    return b;
}

/* ---- pods ------------------------------------------------------------------------------------- */
void kl_pod_detach(kpod *p)
{
    kubelet *k = p->k;
    if (p->detached) return;
    p->detached = true;
    kl_kill_all(p, false);
    cancel(k, &p->t_main);
    cancel(k, &p->t_grace);
    if (p->key && hmap_get(&k->pods, p->key) == p) hmap_del(&k->pods, p->key);
    if (p->node && p->node->npods) p->node->npods--;
}

void kl_pod_release(kpod *p)
{
    kl_ctr_free(&p->init);
    kl_ctr_free(&p->bot);
    kl_ctr_free(&p->sync);
    podfs_destroy(p->fs);
    free(p->ns);
    free(p->name);
    free(p->key);
    free(p->uid);
    free(p->bot_id);
    free(p);
}

static void pod_free(kpod *p)
{
    kl_pod_detach(p);
    kl_pod_release(p);
}

static void on_pulled(void *ud);

static void arm_pull(kpod *p, int64_t delay) { p->t_main = sim_loop_timer(p->k->loop, delay, on_pulled, p); }

static void on_pulled(void *ud)
{
    kpod *p = ud;
    p->t_main = 0;
    sim_fault_hit hit;
    if (p->prog.pull_fail || (p->k->opts.faults && sim_faults_check(p->k->opts.faults, "kubelet/pull", &hit) && hit.status != T0_OK)) {
        p->pullfails++;
        kl_write_status(p);
        if (!p->prog.pull_fail) {
            int64_t d = (int64_t)BACKOFF_BASE_MS << (p->pullfails > 5 ? 5 : p->pullfails - 1);
            arm_pull(p, d > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : d);
        }
        return;
    }
    p->pullfails = 0;
    kl_pod_fire(p, PE_PULLED);
}

static knode *node_by_name(kubelet *k, const char *name)
{
    for (size_t i = 0; name && i < k->nnodes; i++)
        if (!strcmp(k->nodes[i]->name, name)) return k->nodes[i];
    return NULL;
}

/* adopt: the kubelet of NODE starts running OBJ. */
static void adopt(kubelet *k, const cJSON *obj, knode *node)
{
    kpod *p = calloc(1, sizeof *p);
    if (!p) return;
    p->k = k;
    /* every container slot knows its pod, the ones the pod does not have too (no init container, no sync):
     * killing and freeing walk all three, and a slot left NULL made them read through a null pointer */
    p->init.p = p->bot.p = p->sync.p = p;
    p->ns = strdup(kfake_str(obj, "metadata.namespace"));
    p->name = strdup(kfake_str(obj, "metadata.name"));
    p->uid = strdup(kfake_str(obj, "metadata.uid"));
    const cJSON *labels = t0_json_get(t0_json_get(obj, "metadata"), "labels");
    const cJSON *bl = t0_json_get(labels, "the0.dev/bot-id");
    const char *bid = cJSON_IsString(bl) ? bl->valuestring : p->name;
    p->bot_id = strdup(bid ? bid : "");
    p->key = malloc(strlen(p->ns ? p->ns : "") + strlen(p->name ? p->name : "") + 2);
    if (!p->ns || !p->name || !p->uid || !p->bot_id || !p->key || !(p->br = bot_of(k, p->bot_id))) {
        free(p->key);
        p->key = NULL;
        pod_free(p);
        return;
    }
    sprintf(p->key, "%s/%s", p->ns, p->name);
    const kubelet_program *prog = hmap_get(&k->programs, p->bot_id);
    p->prog = prog ? *prog : k->default_prog;
    const cJSON *spec = t0_json_get(obj, "spec");
    const char *rp = kfake_str(spec, "restartPolicy");
    p->restart_always = !rp || !strcmp(rp, "Always");
    const cJSON *inits = t0_json_get(spec, "initContainers");
    const cJSON *ctrs = t0_json_get(spec, "containers");
    bool ok = kl_make_volumes(p, spec);
    if (ok && cJSON_GetArraySize(inits) > 0) {
        p->has_init = true;
        ok = kl_parse_ctr(p, &p->init, R_INIT, cJSON_GetArrayItem(inits, 0), spec);
    }
    ok = ok && kl_parse_ctr(p, &p->bot, R_BOT, cJSON_GetArrayItem(ctrs, 0), spec);
    const cJSON *c;
    cJSON_ArrayForEach(c, ctrs) if (ok && c != cJSON_GetArrayItem(ctrs, 0) && kfake_str(c, "name") && !strcmp(kfake_str(c, "name"), "sync"))
    {
        p->has_sync = true;
        ok = kl_parse_ctr(p, &p->sync, R_SYNC, c, spec);
    }
    if (!ok) {
        T0_ERROR(COMP, "pod %s: out of memory reading its spec", p->key);
        pod_free(p);
        return;
    }
    p->node = node;
    node->npods++;
    snprintf(p->ip, sizeof p->ip, "10.244.%d.%u", node->index, (node->ipseq++ % 254) + 1);
    p->phase = "Pending";
    p->state = fsm_pod_table.initial;
    p->start_time = now(k);
    const cJSON *g = t0_json_get(spec, "terminationGracePeriodSeconds");
    p->grace_ms = (cJSON_IsNumber(g) ? (int64_t)g->valuedouble : 30) * 1000;
    if (hmap_put(&k->pods, p->key, p, NULL) != T0_OK) {
        pod_free(p);
        return;
    }
    p->br->obs.pods_started++;
    kl_write_status(p);
    arm_pull(p, p->prog.pull_ms);
}

static knode *pick_node(kubelet *k)
{
    knode *best = NULL;
    for (size_t i = 0; i < k->nnodes; i++) {
        knode *n = k->nodes[i];
        if (!n->ready) continue;
        if (!best || n->npods < best->npods || (n->npods == best->npods && strcmp(n->name, best->name) < 0)) best = n;
    }
    return best;
}

static void try_schedule(kubelet *k, const char *ns, const char *name)
{
    knode *n = pick_node(k);
    char key[600];
    t0_strjoin(key, sizeof key, ns, "/", name);
    if (!n) {
        if (!hmap_get(&k->unscheduled, key)) hmap_put(&k->unscheduled, key, (void *)1, NULL);
        return;
    }
    hmap_del(&k->unscheduled, key);
    t0_err err = {0};
    if (kfake_bind_pod(k->api, ns, name, n->name, &err) != T0_OK) T0_DEBUG(COMP, "bind %s: %s", key, err.msg);
}

static void on_pod_event(void *ud, kube_watch_type type, const cJSON *obj)
{
    kubelet *k = ud;
    if (type == KUBE_WATCH_GONE || type == KUBE_WATCH_CLOSED) {
        T0_ERROR(COMP, "pod watch ended (%d): the kubelet is blind from now on", (int)type);
        return;
    }
    const cJSON *md = t0_json_get(obj, "metadata"); /* looked up once: this runs on every pod event */
    const char *ns = kfake_str(md, "namespace"), *name = kfake_str(md, "name");
    const char *uid = kfake_str(md, "uid");
    const char *deleting = kfake_str(md, "deletionTimestamp");
    if (!ns || !name || !uid) return;
    char key[600];
    t0_strjoin(key, sizeof key, ns, "/", name);
    kpod *p = hmap_get(&k->pods, key);
    if (p && strcmp(p->uid, uid)) p = NULL; /* another incarnation */
    if (type == KUBE_WATCH_DELETED) {
        hmap_del(&k->unscheduled, key);
        if (p) {
            p->abrupt = true; /* removed without the kubelet: its containers die, its volumes go */
            kl_pod_fire(p, PE_REMOVED);
        }
        return;
    }
    const char *node = kfake_str(obj, "spec.nodeName");
    if (!p) {
        if (!node) {
            if (!deleting) try_schedule(k, ns, name);
            return;
        }
        knode *n = node_by_name(k, node);
        const char *phase = kfake_str(obj, "status.phase");
        if (!n || !n->ready || (phase && strcmp(phase, "Pending")) || deleting) return;
        adopt(k, obj, n);
        return;
    }
    if (deleting && !p->delete_seen) {
        p->delete_seen = true;
        const cJSON *g = t0_json_get(md, "deletionGracePeriodSeconds");
        if (cJSON_IsNumber(g)) p->grace_ms = (int64_t)g->valuedouble * 1000;
        kl_pod_fire(p, PE_DELETE);
    }
}

/* ---- public API ------------------------------------------------------------------------------ */
t0_status kubelet_new(sim_loop *loop, kfake *api, const kubelet_opts *opts, kubelet **out, t0_err *err)
{
    kubelet *k = calloc(1, sizeof *k);
    if (!k) return t0_fail(err, T0_ENOMEM, "kubelet_new: out of memory");
    k->loop = loop;
    k->lp = sim_loop_port(loop);
    k->api = api;
    k->sys = kfake_system_port(api);
    if (opts) k->opts = *opts;
    kubelet_program_default(&k->default_prog);
    hmap_init(&k->pods);
    hmap_init(&k->unscheduled);
    hmap_init(&k->bots);
    hmap_init(&k->programs);
    t0_status st = k->sys.watch(k->sys.ctx, KUBE_POD, NULL, NULL, NULL, on_pod_event, k, &k->watch, err);
    if (st != T0_OK) {
        kubelet_destroy(k);
        return st;
    }
    *out = k;
    return T0_OK;
}

void kubelet_destroy(kubelet *k)
{
    if (!k) return;
    if (k->watch) k->sys.unwatch(k->sys.ctx, k->watch);
    /* collect first: pod_free removes from the map */
    size_t n = k->pods.count, i = 0;
    kpod **v = n ? malloc(n * sizeof *v) : NULL;
    for (hmap_entry *e = hmap_first(&k->pods); v && e; e = hmap_next(&k->pods, e)) v[i++] = e->val;
    for (size_t j = 0; j < i; j++) pod_free(v[j]);
    free(v);
    for (hmap_entry *e = hmap_first(&k->bots); e; e = hmap_next(&k->bots, e)) free(e->val);
    for (hmap_entry *e = hmap_first(&k->programs); e; e = hmap_next(&k->programs, e)) free(e->val);
    hmap_free(&k->pods);
    hmap_free(&k->unscheduled);
    hmap_free(&k->bots);
    hmap_free(&k->programs);
    for (size_t j = 0; j < k->nexecs; j++) free(k->execs[j].path);
    free(k->execs);
    for (size_t j = 0; j < k->nnodes; j++) {
        free(k->nodes[j]->name);
        free(k->nodes[j]);
    }
    free(k->nodes);
    free(k);
}


/* Bind every pod waiting for a node (in key order, so the order does not depend on the hash map). */
static void schedule_waiting(kubelet *k)
{
    size_t n = 0;
    if (!k->unscheduled.count) return;
    hmap_entry **v = hmap_sorted(&k->unscheduled, NULL, NULL, &n);
    char **keys = v ? malloc(n * sizeof *keys) : NULL; /* copies: try_schedule removes from the map */
    for (size_t j = 0; keys && j < n; j++) keys[j] = strdup(v[j]->key);
    free(v);
    if (!keys) return;
    for (size_t j = 0; j < n; j++) {
        char *slash = keys[j] ? strchr(keys[j], '/') : NULL;
        if (slash) {
            *slash = '\0';
            try_schedule(k, keys[j], slash + 1);
        }
        free(keys[j]);
    }
    free(keys);
}

t0_status kubelet_add_node(kubelet *k, const char *name, t0_err *err)
{
    if (node_by_name(k, name)) return t0_fail(err, T0_EEXIST, "node %s already exists", name);
    knode **nv = realloc(k->nodes, (k->nnodes + 1) * sizeof *nv);
    if (!nv) return t0_fail(err, T0_ENOMEM, "add node: out of memory");
    k->nodes = nv;
    knode *n = calloc(1, sizeof *n);
    if (!n || !(n->name = strdup(name))) {
        free(n);
        return t0_fail(err, T0_ENOMEM, "add node: out of memory");
    }
    n->ready = true;
    n->index = (int)k->nnodes + 1;
    k->nodes[k->nnodes++] = n;
    schedule_waiting(k);
    return T0_OK;
}

static bool pod_on_node(const hmap_entry *e, const void *node) { return ((const kpod *)e->val)->node == node; }

/* The pods of node N, sorted by key. Owned array (NULL when out of memory). */
static size_t pods_on(kubelet *k, knode *n, kpod ***out)
{
    size_t c = 0;
    hmap_entry **e = hmap_sorted(&k->pods, pod_on_node, n, &c);
    kpod **v = e ? malloc((c + 1) * sizeof *v) : NULL;
    for (size_t i = 0; v && i < c; i++) v[i] = e[i]->val;
    free(e);
    *out = v;
    return v ? c : 0;
}

t0_status kubelet_node_down(kubelet *k, const char *name, t0_err *err)
{
    knode *n = node_by_name(k, name);
    if (!n) return t0_fail(err, T0_ENOTFOUND, "node %s not found", name);
    n->ready = false;
    kpod **v;
    size_t c = pods_on(k, n, &v);
    for (size_t i = 0; i < c; i++) {
        snprintf(v[i]->message, sizeof v[i]->message, "node %s was lost", name);
        v[i]->abrupt = true;
        kl_pod_fire(v[i], PE_EVICT);
    }
    free(v);
    return T0_OK;
}

t0_status kubelet_node_up(kubelet *k, const char *name, t0_err *err)
{
    knode *n = node_by_name(k, name);
    if (!n) return t0_fail(err, T0_ENOTFOUND, "node %s not found", name);
    n->ready = true;
    schedule_waiting(k);
    return T0_OK;
}

t0_status kubelet_evict(kubelet *k, const char *ns, const char *name, t0_err *err)
{
    char key[600];
    t0_strjoin(key, sizeof key, ns, "/", name);
    kpod *p = hmap_get(&k->pods, key);
    if (!p) return t0_fail(err, T0_ENOTFOUND, "pod %s is not run by this kubelet", key);
    snprintf(p->message, sizeof p->message, "The node was low on resource: memory.");
    p->abrupt = true;
    kl_pod_fire(p, PE_EVICT);
    return T0_OK;
}

t0_status kubelet_oom_kill(kubelet *k, const char *ns, const char *name, const char *container, t0_err *err)
{
    char key[600];
    t0_strjoin(key, sizeof key, ns, "/", name);
    kpod *p = hmap_get(&k->pods, key);
    if (!p) return t0_fail(err, T0_ENOTFOUND, "pod %s is not run by this kubelet", key);
    kctr *c = !strcmp(container, "init") ? &p->init : !strcmp(container, "bot") ? &p->bot : !strcmp(container, "sync") ? &p->sync : NULL;
    if (!c) return t0_fail(err, T0_EINVAL, "pod %s: no container role \"%s\" (init, bot or sync)", key, container);
    if (!c->st.running) return t0_fail(err, T0_ENOTFOUND, "pod %s: its %s container is not running", key, container);
    T0_DEBUG(COMP, "pod %s: container %s OOM-killed", key, c->st.name);
    kl_ctr_oom(c);
    return T0_OK;
}

t0_status kubelet_set_program(kubelet *k, const char *bot_id, const kubelet_program *prog, t0_err *err)
{
    kubelet_program *c = malloc(sizeof *c), *old = NULL;
    if (!c) return t0_fail(err, T0_ENOMEM, "set program: out of memory");
    *c = *prog;
    if (c->nwrites > KUBELET_MAX_WRITES) c->nwrites = KUBELET_MAX_WRITES;
    if (c->nvolumes > KUBELET_MAX_VOLUMES) c->nvolumes = KUBELET_MAX_VOLUMES;
    if (c->ncode_files > KUBELET_MAX_CODE_FILES) c->ncode_files = KUBELET_MAX_CODE_FILES;
    if (hmap_put(&k->programs, bot_id, c, (void **)&old) != T0_OK) {
        free(c);
        return t0_fail(err, T0_ENOMEM, "set program: out of memory");
    }
    free(old);
    return T0_OK;
}

void kubelet_set_default_program(kubelet *k, const kubelet_program *p) { k->default_prog = *p; }

void kubelet_set_tracer(kubelet *k, const fsm_tracer *t)
{
    k->has_tracer = t && t->fn;
    if (k->has_tracer) k->tracer = *t;
}

bool kubelet_bot_observe(const kubelet *k, const char *bot_id, kubelet_bot_obs *out)
{
    const botrec *b = hmap_get(&k->bots, bot_id);
    if (!b) {
        memset(out, 0, sizeof *out);
        return false;
    }
    *out = b->obs;
    return true;
}

unsigned kubelet_max_bot_running(const kubelet *k) { return k->max_running; }

void kubelet_set_observer(kubelet *k, kubelet_event_fn fn, void *ud)
{
    k->observer = fn;
    k->observer_ud = ud;
}

int kubelet_pod_state(const kubelet *k, const char *ns, const char *name)
{
    char key[600];
    t0_strjoin(key, sizeof key, ns, "/", name);
    const kpod *p = hmap_get(&k->pods, key);
    return p ? p->state : -1;
}

size_t kubelet_pods(const kubelet *k) { return k->pods.count; }
