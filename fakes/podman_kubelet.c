/* podman_kubelet.c: serve --run-pods: pods bound to a node run as podman containers (contract in podman_kubelet.h;
 * the files it is made of in podman_kubelet_impl.h). This one: start and stop, the pod watch, pod records. */
#include "fakes/podman_kubelet_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/json.h"
#include "core/log.h"

/* ---- cluster thread: pods ------------------------------------------------------------------------- */
static void pod_free(pk_pod *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->nc; i++) {
        free(p->c[i].spec.name);
        free(p->c[i].spec.image);
        free(p->c[i].spec.podman_name);
    }
    free(p->c);
    cJSON_Delete(p->obj);
    free(p->ns), free(p->name), free(p->uid), free(p->key), free(p->node), free(p->podman_pod), free(p->vol_dir),
        free(p->manifest_path), free(p->last_status);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

static int node_index(const char *node)
{
    return node && !strncmp(node, "node-", 5) ? atoi(node + 5) : 0;
}

/* pk_pod_finished: the worker is about to return: forget the pod, join and free it (unless serve is
 * stopping: then pkl_shutdown joins it and pkl_destroy frees it). */
void pk_pod_finished(void *ud)
{
    pk_pod *p = ud;
    pkl *k = p->k;
    if (hmap_get(&k->pods, p->key) == p) hmap_del(&k->pods, p->key);
    int ni = node_index(p->node);
    if (ni >= 1 && (unsigned)ni <= k->o.nodes && k->node_pods[ni - 1]) k->node_pods[ni - 1]--;
    pthread_mutex_lock(&k->mu);
    bool mine = !k->shutting;
    if (mine) {
        for (pk_pod **pp = &k->all; *pp; pp = &(*pp)->next)
            if (*pp == p) {
                *pp = p->next;
                break;
            }
    } else {
        p->finished = true;
    }
    pthread_mutex_unlock(&k->mu);
    if (mine) {
        pthread_join(p->thr, NULL);
        pod_free(p);
    }
}

/* ctr_init: the record of container C (an init container when INIT) of pod P whose spec is SPEC: owned
 * copies of its names and image, the effective runAsNonRoot/runAsUser, waiting to be created. False when
 * out of memory. */
static bool ctr_init(const pk_pod *p, pk_ctr *pc, const cJSON *c, const cJSON *spec, bool init)
{
    const char *nm = t0_json_str(c, "name"), *im = t0_json_str(c, "image");
    pc->spec.init = init;
    pc->spec.name = strdup(nm ? nm : "");
    pc->spec.image = strdup(im ? im : "");
    if (asprintf(&pc->spec.podman_name, "%s-%s", p->podman_pod, nm ? nm : "") < 0) pc->spec.podman_name = NULL;
    const cJSON *sc = t0_json_get(c, "securityContext"), *psc = t0_json_get(spec, "securityContext");
    const cJSON *nr = t0_json_get(sc, "runAsNonRoot");
    if (!nr) nr = t0_json_get(psc, "runAsNonRoot");
    const cJSON *u = t0_json_get(sc, "runAsUser");
    if (!u) u = t0_json_get(psc, "runAsUser");
    pc->spec.run_as_non_root = cJSON_IsTrue(nr);
    pc->spec.run_as_user = cJSON_IsNumber(u) ? (long)u->valuedouble : -1;
    snprintf(pc->field_path, sizeof pc->field_path, "spec.%s{%s}", init ? "initContainers" : "containers", nm ? nm : "");
    pc->ph = PK_WAITING;
    pc->wait_reason = !init ? (p->ninit ? "PodInitializing" : "ContainerCreating") : "PodInitializing";
    return pc->spec.name && pc->spec.image && pc->spec.podman_name;
}

/* adopt: a pod bound to one of our nodes: its record, in k->pods and k->all, and its worker thread. */
static t0_status adopt(pkl *k, const cJSON *obj, const char *node)
{
    const cJSON *md = t0_json_get(obj, "metadata"), *spec = t0_json_get(obj, "spec");
    pk_pod *p = calloc(1, sizeof *p);
    if (!p) return T0_ENOMEM;
    p->k = k;
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    p->ns = strdup(t0_json_str(md, "namespace"));
    p->name = strdup(t0_json_str(md, "name"));
    p->uid = strdup(t0_json_str(md, "uid"));
    p->node = strdup(node);
    p->obj = cJSON_Duplicate(obj, 1);
    const char *uid = p->uid ? p->uid : "";
    size_t ul = strlen(uid);
    if (asprintf(&p->key, "%s/%s", p->ns, p->name) < 0) p->key = NULL;
    if (asprintf(&p->podman_pod, "t0_%s_%s_%s_%s", p->ns, p->name, k->inst, ul > 12 ? uid + ul - 12 : uid) < 0)
        p->podman_pod = NULL;
    if (p->podman_pod && asprintf(&p->vol_dir, "%s/%s", k->work, p->podman_pod) < 0) p->vol_dir = NULL;
    if (p->podman_pod && asprintf(&p->manifest_path, "%s/%s.json", k->work, p->podman_pod) < 0) p->manifest_path = NULL;
    const char *rp = t0_json_str(spec, "restartPolicy");
    p->restart_policy = rp && !strcmp(rp, "Never") ? "Never" : rp && !strcmp(rp, "OnFailure") ? "OnFailure" : "Always";
    const cJSON *g = t0_json_get(spec, "terminationGracePeriodSeconds");
    p->grace_s = cJSON_IsNumber(g) ? (int64_t)g->valuedouble : 30;
    p->start_ms = t0_wall_ms();
    p->phase = "Pending";
    const cJSON *inits = t0_json_get(spec, "initContainers"), *ctrs = t0_json_get(spec, "containers");
    p->ninit = (size_t)cJSON_GetArraySize(inits);
    p->nc = p->ninit + (size_t)cJSON_GetArraySize(ctrs);
    p->c = calloc(p->nc ? p->nc : 1, sizeof *p->c);
    bool ok = p->ns && p->name && p->uid && p->node && p->obj && p->key && p->podman_pod && p->vol_dir && p->manifest_path && p->c;
    size_t i = 0;
    for (int pass = 0; ok && pass < 2; pass++) {
        const cJSON *c, *list = pass ? ctrs : inits;
        cJSON_ArrayForEach(c, list)
        {
            if (!ctr_init(p, &p->c[i++], c, spec, pass == 0)) ok = false;
        }
    }
    if (!ok || hmap_put(&k->pods, p->key, p, NULL) != T0_OK) {
        pod_free(p);
        return T0_ENOMEM;
    }
    pthread_mutex_lock(&k->mu);
    p->next = k->all;
    k->all = p;
    if (pthread_create(&p->thr, NULL, pk_worker, p) == 0) p->thr_started = true;
    pthread_mutex_unlock(&k->mu);
    if (!p->thr_started) {
        T0_ERROR(PK_COMP, "pod %s: cannot start its worker thread", p->key);
        return T0_EIO;
    }
    return T0_OK;
}

static void schedule(pkl *k, const cJSON *obj)
{
    const char *ns = kfake_str(obj, "metadata.namespace"), *name = kfake_str(obj, "metadata.name");
    const char *uid = kfake_str(obj, "metadata.uid");
    unsigned best = 0;
    for (unsigned i = 1; i < k->o.nodes; i++)
        if (k->node_pods[i] < k->node_pods[best]) best = i;
    char node[32], msg[700];
    snprintf(node, sizeof node, "node-%u", best + 1);
    t0_err err = {0};
    if (kfake_bind_pod(k->api, ns, name, node, &err) != T0_OK) {
        T0_DEBUG(PK_COMP, "bind %s/%s: %s", ns, name, err.msg);
        return;
    }
    snprintf(msg, sizeof msg, "Successfully assigned %s/%s to %s", ns, name, node);
    pk_record_event(k, ns, name, uid, NULL, false, "Scheduled", msg, "default-scheduler", NULL);
}

static void on_pod_event(void *ud, kube_watch_type type, const cJSON *obj)
{
    pkl *k = ud;
    if (type == KUBE_WATCH_GONE || type == KUBE_WATCH_CLOSED) {
        T0_ERROR(PK_COMP, "pod watch ended (%d): the kubelet is blind from now on", (int)type);
        return;
    }
    const cJSON *md = t0_json_get(obj, "metadata");
    const char *ns = kfake_str(md, "namespace"), *name = kfake_str(md, "name"), *uid = kfake_str(md, "uid");
    if (!ns || !name || !uid) return;
    char key[600];
    snprintf(key, sizeof key, "%s/%s", ns, name);
    pk_pod *p = hmap_get(&k->pods, key);
    if (p && strcmp(p->uid, uid)) p = NULL;
    if (type == KUBE_WATCH_DELETED) {
        if (p) {
            pthread_mutex_lock(&p->mu);
            p->gone = true;
            if (!p->stop) p->grace_s = 2; /* removed without a grace period (force): a short one here */
            p->stop = true;
            pthread_cond_broadcast(&p->cv);
            pthread_mutex_unlock(&p->mu);
        }
        return;
    }
    const char *deleting = kfake_str(md, "deletionTimestamp");
    const char *node = kfake_str(obj, "spec.nodeName");
    if (!p) {
        if (deleting) {
            /* not ours (or already finished): an unbound pod is removed by the API at once */
            return;
        }
        if (!node) {
            schedule(k, obj);
            return;
        }
        const char *phase = kfake_str(obj, "status.phase");
        int ni = node_index(node);
        if (ni < 1 || (unsigned)ni > k->o.nodes || (phase && strcmp(phase, "Pending"))) return;
        pthread_mutex_lock(&k->mu);
        bool shutting = k->shutting;
        pthread_mutex_unlock(&k->mu);
        if (shutting) return;
        if (adopt(k, obj, node) == T0_OK) k->node_pods[ni - 1]++;
        return;
    }
    if (deleting) {
        const cJSON *g = t0_json_get(md, "deletionGracePeriodSeconds");
        pthread_mutex_lock(&p->mu);
        if (!p->stop) {
            p->stop = true;
            if (cJSON_IsNumber(g)) p->grace_s = (int64_t)g->valuedouble;
            pthread_cond_broadcast(&p->cv);
        }
        pthread_mutex_unlock(&p->mu);
    }
}

/* ---- public API ---------------------------------------------------------------------------------- */
/* make_work_dir: opts.work_dir (made with its parents), or a new /tmp/the0-pods-XXXXXX that pkl_destroy removes */
static t0_status make_work_dir(pkl *k, t0_err *err)
{
    if (k->o.work_dir && *k->o.work_dir) {
        snprintf(k->work, sizeof k->work, "%s", k->o.work_dir);
        if (pk_mkdir_p(k->work, 0755) != 0) return t0_fail(err, T0_EIO, "run-pods: mkdir %s: %s", k->work, strerror(errno));
        return T0_OK;
    }
    snprintf(k->work, sizeof k->work, "/tmp/the0-pods-XXXXXX");
    if (!mkdtemp(k->work)) return t0_fail(err, T0_EIO, "run-pods: mkdtemp: %s", strerror(errno));
    k->own_work = true, chmod(k->work, 0755);
    return T0_OK;
}

/* check_podman: podman must run: a clear error now rather than at the first pod */
static t0_status check_podman(pkl *k, t0_err *err)
{
    const char *argv[] = {k->podman, "version", "--format", "{{.Client.Version}}", NULL};
    char *o = NULL, *e = NULL;
    int rc = pk_run(argv, &o, &e);
    char line[300];
    t0_status st = T0_OK;
    if (rc != 0)
        st = t0_fail(err, T0_EUNAVAILABLE, "run-pods: `%s version` failed (exit %d): %s (install podman, runc and "
                     "catatonit: ci/deps.sh)", k->podman, rc, pk_last_line(e, line, sizeof line));
    else
        T0_INFO(PK_COMP, "podman %s; pod volumes under %s", pk_last_line(o, line, sizeof line), k->work);
    free(o);
    free(e);
    return st;
}

t0_status pkl_new(kfake *api, const pkl_host *host, const pkl_opts *opts, pkl **out, t0_err *err)
{
    *out = NULL;
    pkl *k = calloc(1, sizeof *k);
    if (!k) return t0_fail(err, T0_ENOMEM, "run-pods: out of memory");
    k->api = api;
    k->sys = kfake_system_port(api);
    k->host = *host;
    if (opts) k->o = *opts;
    if (!k->o.nodes) k->o.nodes = 1;
    if (k->o.shutdown_grace_s <= 0) k->o.shutdown_grace_s = 10;
    snprintf(k->podman, sizeof k->podman, "%s", k->o.podman && *k->o.podman ? k->o.podman : "podman");
    snprintf(k->inst, sizeof k->inst, "%06x", (unsigned)((getpid() * 2654435761u) ^ (unsigned)t0_wall_ms()) & 0xffffff);
    pthread_mutex_init(&k->mu, NULL);
    hmap_init(&k->pods);
    hmap_init(&k->events);
    k->ev_fd = -1;
    k->node_pods = calloc(k->o.nodes, sizeof *k->node_pods);
    t0_status st = k->node_pods ? T0_OK : t0_fail(err, T0_ENOMEM, "run-pods: out of memory");
    if (st == T0_OK) st = make_work_dir(k, err);
    if (st == T0_OK) st = check_podman(k, err);
    if (st == T0_OK) st = pk_events_start(k, err);
    if (st == T0_OK) st = k->sys.watch(k->sys.ctx, KUBE_POD, NULL, NULL, NULL, on_pod_event, k, &k->watch, err);
    if (st != T0_OK) {
        pkl_shutdown(k);
        pkl_destroy(k);
        return st;
    }
    *out = k;
    return T0_OK;
}

void pkl_shutdown(pkl *k)
{
    if (!k) return;
    pthread_mutex_lock(&k->mu);
    bool again = k->shutting;
    k->shutting = true;
    size_t n = 0;
    for (pk_pod *p = k->all; p; p = p->next) {
        n++;
        pthread_mutex_lock(&p->mu);
        if (!p->stop || p->grace_s > k->o.shutdown_grace_s) p->grace_s = p->grace_s < k->o.shutdown_grace_s ? p->grace_s : k->o.shutdown_grace_s;
        p->stop = true;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    pk_pod *list = k->all;
    pthread_mutex_unlock(&k->mu);
    if (again) return;
    if (n) T0_INFO(PK_COMP, "stopping %zu pod(s)", n);
    for (pk_pod *p = list; p; p = p->next)
        if (p->thr_started) pthread_join(p->thr, NULL);
    pk_events_stop(k);
}

void pkl_destroy(pkl *k)
{
    if (!k) return;
    if (k->watch) k->sys.unwatch(k->sys.ctx, k->watch);
    pk_pod *p = k->all;
    while (p) {
        pk_pod *n = p->next;
        pod_free(p);
        p = n;
    }
    for (hmap_entry *e = hmap_first(&k->events); e; e = hmap_next(&k->events, e)) free(e->val);
    hmap_free(&k->events);
    hmap_free(&k->pods);
    if (k->own_work) pk_rm_rf(k->work);
    free(k->node_pods);
    pthread_mutex_destroy(&k->mu);
    free(k);
}
