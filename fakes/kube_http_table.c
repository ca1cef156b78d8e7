/* kube_http_table.c: Table answers (meta.k8s.io/v1) of the HTTP front: the columns kubectl prints for
 * pods, cronjobs, jobs, leases, events, namespaces and the rest, with its status and age formatting. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "fakes/kube_http_impl.h"

static int64_t ts_of(const cJSON *obj, const char *path)
{
    const char *s = kfake_str(obj, path);
    int64_t ms;
    return s && sim_parse_rfc3339(s, &ms) ? ms : INT64_MIN;
}

/* human_dur: Go's duration.HumanDuration, which kubectl's AGE columns use. */
static void human_dur(int64_t ms, char *b, size_t cap)
{
    long long s = (long long)(ms / 1000);
    if (s < -1) {
        snprintf(b, cap, "<invalid>");
        return;
    }
    if (s < 0) s = 0;
    if (s < 120) {
        snprintf(b, cap, "%llds", s);
        return;
    }
    long long m = s / 60, hr = s / 3600;
    if (m < 10) {
        if (s % 60 == 0)
            snprintf(b, cap, "%lldm", m);
        else
            snprintf(b, cap, "%lldm%llds", m, s % 60);
    } else if (m < 180) {
        snprintf(b, cap, "%lldm", m);
    } else if (hr < 8) {
        if (m % 60 == 0)
            snprintf(b, cap, "%lldh", hr);
        else
            snprintf(b, cap, "%lldh%lldm", hr, m % 60);
    } else if (hr < 48) {
        snprintf(b, cap, "%lldh", hr);
    } else if (hr < 24 * 8) {
        if (hr % 24 == 0)
            snprintf(b, cap, "%lldd", hr / 24);
        else
            snprintf(b, cap, "%lldd%lldh", hr / 24, hr % 24);
    } else if (hr < 24 * 365 * 2) {
        snprintf(b, cap, "%lldd", hr / 24);
    } else if (hr < 24 * 365 * 8) {
        long long dy = (hr / 24) % 365;
        if (dy == 0)
            snprintf(b, cap, "%lldy", hr / 24 / 365);
        else
            snprintf(b, cap, "%lldy%lldd", hr / 24 / 365, dy);
    } else {
        snprintf(b, cap, "%lldy", hr / 24 / 365);
    }
}

/* since: "5m" since the timestamp at PATH, or "<unknown>" when absent. */
static const char *since(khttp *h, const cJSON *obj, const char *path, char *b, size_t cap)
{
    int64_t t = ts_of(obj, path);
    if (t == INT64_MIN) {
        snprintf(b, cap, "<unknown>");
        return b;
    }
    human_dur(sim_loop_now(h->loop) - t, b, cap);
    return b;
}
/* ---- tables ---------------------------------------------------------------------------------- */
typedef struct kh_col {
    const char *name, *type, *format;
    int prio;
    const char *desc;
} kh_col;

static void add_cols(cJSON *t, const kh_col *c, size_t n)
{
    cJSON *a = cJSON_AddArrayToObject(t, "columnDefinitions");
    for (size_t i = 0; i < n; i++) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "name", c[i].name);
        cJSON_AddStringToObject(d, "type", c[i].type);
        cJSON_AddStringToObject(d, "format", c[i].format);
        cJSON_AddStringToObject(d, "description", c[i].desc);
        cJSON_AddNumberToObject(d, "priority", c[i].prio);
        cJSON_AddItemToArray(a, d);
    }
}

#define NAMECOL {"Name", "string", "name", 0, "Name must be unique within a namespace."}
#define AGECOL {"Age", "string", "", 0, "CreationTimestamp is a timestamp representing the server time when this object was created."}
/* the wide columns of a pod template (cronjobs, jobs) */
#define TEMPLATECOLS                                                                                         \
    {"Containers", "string", "", 1, "Names of each container in the template."},                              \
        {"Images", "string", "", 1, "Images referenced by each container in the template."},                  \
        {"Selector", "string", "", 1, "A label query over pods that should match the pod count."}
static const kh_col POD_COLS[] = {
    NAMECOL,
    {"Ready", "string", "", 0, "The aggregate readiness state of this pod for accepting traffic."},
    {"Status", "string", "", 0, "The aggregate status of the containers in this pod."},
    {"Restarts", "string", "", 0, "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."},
    AGECOL,
    {"IP", "string", "", 1, "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated."},
    {"Node", "string", "", 1, "NodeName is a request to schedule this pod onto a specific node."},
    {"Nominated Node", "string", "", 1, "nominatedNodeName is set when this pod preempts other pods on the node."},
    {"Readiness Gates", "string", "", 1, "If specified, all readiness gates will be evaluated for pod readiness."},
};
static const kh_col CJ_COLS[] = {
    NAMECOL,
    {"Schedule", "string", "", 0, "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."},
    {"Suspend", "boolean", "", 0, "This flag tells the controller to suspend subsequent executions."},
    {"Active", "integer", "", 0, "A list of pointers to currently running jobs."},
    {"Last Schedule", "string", "", 0, "Information when was the last time the job was successfully scheduled."},
    AGECOL,
    TEMPLATECOLS,
};
static const kh_col JOB_COLS[] = {
    NAMECOL,
    {"Completions", "string", "", 0, "The desired number of successfully finished pods the job should be run with."},
    {"Duration", "string", "", 0, "Time required to complete the job."},
    AGECOL,
    TEMPLATECOLS,
};
static const kh_col LEASE_COLS[] = {NAMECOL, {"Holder", "string", "", 0, "The holder of the lease."}, AGECOL};
static const kh_col EVENT_COLS[] = {
    {"Last Seen", "string", "", 0, "Time when this event was last seen."},
    {"Type", "string", "", 0, "Type of this event (Normal, Warning)."},
    {"Reason", "string", "", 0, "Why the action was taken."},
    {"Object", "string", "", 0, "The object that this event is about."},
    {"Message", "string", "", 0, "A human-readable description of the status of this operation."},
    {"Name", "string", "name", 1, "Name must be unique within a namespace."},
};
static const kh_col NS_COLS[] = {NAMECOL, {"Status", "string", "", 0, "The status of the namespace"}, AGECOL};
static const kh_col GEN_COLS[] = {NAMECOL, AGECOL};
static const kh_col NODE_COLS[] = {
    NAMECOL,
    {"Status", "string", "", 0, "The status of the node"},
    {"Roles", "string", "", 0, "The roles of the node"},
    AGECOL,
    {"Version", "string", "", 0, "Kubelet Version reported by the node."},
    {"Internal-IP", "string", "", 1, "List of addresses reachable to the node. Queried from cloud provider, if available."},
    {"External-IP", "string", "", 1, "List of addresses reachable to the node. Queried from cloud provider, if available."},
    {"OS-Image", "string", "", 1, "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy))."},
    {"Kernel-Version", "string", "", 1, "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."},
    {"Container-Runtime", "string", "", 1, "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2)."},
};

static void cols_of(int rid, const kh_col **c, size_t *n)
{
#define COLS(a) (*c = a, *n = T0_ARRAY_LEN(a))
    if (rid == KUBE_POD)
        COLS(POD_COLS);
    else if (rid == KUBE_CRONJOB)
        COLS(CJ_COLS);
    else if (rid == KUBE_JOB)
        COLS(JOB_COLS);
    else if (rid == KUBE_LEASE)
        COLS(LEASE_COLS);
    else if (rid == KUBE_EVENT)
        COLS(EVENT_COLS);
    else if (rid == KFAKE_NAMESPACE)
        COLS(NS_COLS);
    else if (rid == KFAKE_NODE)
        COLS(NODE_COLS);
    else
        COLS(GEN_COLS);
#undef COLS
}

static const cJSON *path_of(const cJSON *o, const char *p1, const char *p2)
{
    const cJSON *a = kh_item(o, p1);
    return p2 ? kh_item(a, p2) : a;
}

static void cell_s(cJSON *cells, const char *s) { cJSON_AddItemToArray(cells, cJSON_CreateString(s ? s : "")); }
static void cell_n(cJSON *cells, double v) { cJSON_AddItemToArray(cells, cJSON_CreateNumber(v)); }

/* pod_status: kubectl's printPod reason column (Init:x/y, waiting/terminated reasons, Terminating). */
static void pod_status(const cJSON *o, char *b, size_t cap, bool *initializing)
{
    const cJSON *st = kh_item(o, "status"), *spec = kh_item(o, "spec");
    const char *phase = kfake_str(st, "phase"), *reason = kfake_str(st, "reason");
    snprintf(b, cap, "%s", reason && *reason ? reason : phase ? phase : "Unknown");
    *initializing = false;
    const cJSON *ics = kh_item(st, "initContainerStatuses"), *c;
    int ninit = cJSON_GetArraySize(kh_item(spec, "initContainers")), i = 0;
    cJSON_ArrayForEach(c, ics)
    {
        const cJSON *term = path_of(c, "state", "terminated"), *wait = path_of(c, "state", "waiting");
        const cJSON *ec = kh_item(term, "exitCode");
        if (term && cJSON_IsNumber(ec) && ec->valueint == 0) {
            i++;
            continue;
        }
        *initializing = true;
        const char *tr = kfake_str(term, "reason"), *wr = kfake_str(wait, "reason");
        if (term) {
            if (tr && *tr)
                snprintf(b, cap, "Init:%s", tr);
            else
                snprintf(b, cap, "Init:ExitCode:%d", cJSON_IsNumber(ec) ? ec->valueint : 0);
        } else if (wr && *wr && strcmp(wr, "PodInitializing")) {
            snprintf(b, cap, "Init:%s", wr);
        } else {
            snprintf(b, cap, "Init:%d/%d", i, ninit);
        }
        break;
    }
    if (!*initializing) {
        bool has_running = false;
        const cJSON *cs = kh_item(st, "containerStatuses");
        for (int k = cJSON_GetArraySize(cs) - 1; k >= 0; k--) {
            c = cJSON_GetArrayItem(cs, k);
            const cJSON *term = path_of(c, "state", "terminated"), *wait = path_of(c, "state", "waiting");
            const char *tr = kfake_str(term, "reason"), *wr = kfake_str(wait, "reason");
            if (wr && *wr)
                snprintf(b, cap, "%s", wr);
            else if (tr && *tr)
                snprintf(b, cap, "%s", tr);
            else if (term)
                snprintf(b, cap, "ExitCode:%d", cJSON_IsNumber(kh_item(term, "exitCode")) ? kh_item(term, "exitCode")->valueint : 0);
            else if (cJSON_IsTrue(kh_item(c, "ready")) && path_of(c, "state", "running"))
                has_running = true;
        }
        if (!strcmp(b, "Completed") && has_running) {
            bool ready = false;
            cJSON_ArrayForEach(c, kh_item(st, "conditions"))
            {
                const char *t = kfake_str(c, "type"), *s = kfake_str(c, "status");
                if (t && s && !strcmp(t, "Ready") && !strcmp(s, "True")) ready = true;
            }
            snprintf(b, cap, "%s", ready ? "Running" : "NotReady");
        }
    }
    if (kfake_str(o, "metadata.deletionTimestamp")) {
        if (reason && !strcmp(reason, "NodeLost"))
            snprintf(b, cap, "Unknown");
        else
            snprintf(b, cap, "Terminating");
    }
}

static void row_pod(khttp *h, const cJSON *o, cJSON *cells)
{
    const cJSON *st = kh_item(o, "status"), *c;
    int ready = 0, restarts = 0, total = cJSON_GetArraySize(path_of(o, "spec", "containers"));
    int64_t last_restart = INT64_MIN;
    char status[128], b[64], age[32];
    bool initializing;
    pod_status(o, status, sizeof status, &initializing);
    cJSON_ArrayForEach(c, kh_item(st, initializing ? "initContainerStatuses" : "containerStatuses"))
    {
        const cJSON *rc = kh_item(c, "restartCount");
        if (cJSON_IsNumber(rc)) restarts += rc->valueint;
        int64_t fin = ts_of(path_of(c, "lastState", "terminated"), "finishedAt");
        if (fin > last_restart) last_restart = fin;
    }
    cJSON_ArrayForEach(c, kh_item(st, "containerStatuses")) if (cJSON_IsTrue(kh_item(c, "ready"))) ready++;
    cell_s(cells, kfake_str(o, "metadata.name"));
    snprintf(b, sizeof b, "%d/%d", ready, total);
    cell_s(cells, b);
    cell_s(cells, status);
    if (restarts && last_restart != INT64_MIN) {
        human_dur(sim_loop_now(h->loop) - last_restart, age, sizeof age);
        snprintf(b, sizeof b, "%d (%s ago)", restarts, age);
    } else {
        snprintf(b, sizeof b, "%d", restarts);
    }
    cell_s(cells, b);
    cell_s(cells, since(h, o, "metadata.creationTimestamp", age, sizeof age));
    const char *ip = kfake_str(st, "podIP"), *node = kfake_str(o, "spec.nodeName");
    cell_s(cells, ip && *ip ? ip : "<none>");
    cell_s(cells, node && *node ? node : "<none>");
    const char *nom = kfake_str(st, "nominatedNodeName");
    cell_s(cells, nom && *nom ? nom : "<none>");
    cell_s(cells, "<none>");
}

/* containers/images/selector of a pod template, comma-separated */
static void template_cells(const cJSON *tmpl_spec, const cJSON *selector, cJSON *cells)
{
    char names[512] = "", images[1024] = "";
    const cJSON *c;
    cJSON_ArrayForEach(c, kh_item(tmpl_spec, "containers"))
    {
        const char *n = kfake_str(c, "name"), *im = kfake_str(c, "image");
        size_t a = strlen(names), b = strlen(images);
        snprintf(names + a, sizeof names - a, "%s%s", a ? "," : "", n ? n : "");
        snprintf(images + b, sizeof images - b, "%s%s", b ? "," : "", im ? im : "");
    }
    cell_s(cells, names);
    cell_s(cells, images);
    char sel[512] = "";
    const cJSON *ml = kh_item(selector, "matchLabels");
    cJSON_ArrayForEach(c, ml) if (cJSON_IsString(c))
    {
        size_t a = strlen(sel);
        snprintf(sel + a, sizeof sel - a, "%s%s=%s", a ? "," : "", c->string, c->valuestring);
    }
    cell_s(cells, *sel ? sel : "<none>");
}

static void row_cronjob(khttp *h, const cJSON *o, cJSON *cells)
{
    char b[32];
    cell_s(cells, kfake_str(o, "metadata.name"));
    cell_s(cells, kfake_str(o, "spec.schedule"));
    const cJSON *sus = path_of(o, "spec", "suspend");
    cell_s(cells, cJSON_IsBool(sus) ? (cJSON_IsTrue(sus) ? "True" : "False") : "<unset>");
    cell_n(cells, cJSON_GetArraySize(path_of(o, "status", "active")));
    if (kfake_str(o, "status.lastScheduleTime"))
        cell_s(cells, since(h, o, "status.lastScheduleTime", b, sizeof b));
    else
        cell_s(cells, "<none>");
    cell_s(cells, since(h, o, "metadata.creationTimestamp", b, sizeof b));
    const cJSON *js = path_of(path_of(o, "spec", "jobTemplate"), "spec", NULL);
    template_cells(path_of(kh_item(js, "template"), "spec", NULL), kh_item(js, "selector"), cells);
}

static void row_job(khttp *h, const cJSON *o, cJSON *cells)
{
    char b[64], d[32];
    cell_s(cells, kfake_str(o, "metadata.name"));
    const cJSON *succ = path_of(o, "status", "succeeded"), *comp = path_of(o, "spec", "completions");
    int s = cJSON_IsNumber(succ) ? succ->valueint : 0;
    if (cJSON_IsNumber(comp))
        snprintf(b, sizeof b, "%d/%d", s, comp->valueint);
    else
        snprintf(b, sizeof b, "%d/1", s);
    cell_s(cells, b);
    int64_t start = ts_of(o, "status.startTime"), end = ts_of(o, "status.completionTime");
    if (start == INT64_MIN)
        *d = 0;
    else
        human_dur((end != INT64_MIN ? end : sim_loop_now(h->loop)) - start, d, sizeof d);
    cell_s(cells, d);
    cell_s(cells, since(h, o, "metadata.creationTimestamp", b, sizeof b));
    template_cells(kh_item(kh_item(kh_item(o, "spec"), "template"), "spec"), kh_item(kh_item(o, "spec"), "selector"), cells);
}

static void row_lease(khttp *h, const cJSON *o, cJSON *cells)
{
    char b[32];
    cell_s(cells, kfake_str(o, "metadata.name"));
    const char *holder = kfake_str(o, "spec.holderIdentity");
    cell_s(cells, holder ? holder : "");
    cell_s(cells, since(h, o, "metadata.creationTimestamp", b, sizeof b));
}

static void row_event(khttp *h, const cJSON *o, cJSON *cells)
{
    char b[32], obj[320];
    const char *last = kfake_str(o, "lastTimestamp") ? "lastTimestamp"
                       : kfake_str(o, "eventTime")   ? "eventTime"
                                                     : "metadata.creationTimestamp";
    cell_s(cells, since(h, o, last, b, sizeof b));
    cell_s(cells, kfake_str(o, "type"));
    cell_s(cells, kfake_str(o, "reason"));
    const char *k = kfake_str(o, "involvedObject.kind"), *n = kfake_str(o, "involvedObject.name");
    snprintf(obj, sizeof obj, "%s/%s", k ? k : "", n ? n : "");
    for (char *p = obj; *p && *p != '/'; p++) *p = (char)tolower((unsigned char)*p);
    cell_s(cells, obj);
    cell_s(cells, kfake_str(o, "message"));
    cell_s(cells, kfake_str(o, "metadata.name"));
}

/* row_node: kubectl's printNode: Ready/NotReady (SchedulingDisabled), roles from node-role labels */
static void row_node(khttp *h, const cJSON *o, cJSON *cells)
{
    char b[32], status[64] = "Unknown", roles[256] = "";
    const cJSON *c;
    cJSON_ArrayForEach(c, kh_item(kh_item(o, "status"), "conditions"))
    {
        const char *t = kfake_str(c, "type"), *s = kfake_str(c, "status");
        if (t && !strcmp(t, "Ready")) snprintf(status, sizeof status, "%s", s && !strcmp(s, "True") ? "Ready" : "NotReady");
    }
    if (cJSON_IsTrue(kh_item(kh_item(o, "spec"), "unschedulable")))
        snprintf(status + strlen(status), sizeof status - strlen(status), ",SchedulingDisabled");
    cJSON_ArrayForEach(c, kh_item(kh_item(o, "metadata"), "labels"))
    {
        if (strncmp(c->string, "node-role.kubernetes.io/", 24) || !c->string[24]) continue;
        size_t n = strlen(roles);
        snprintf(roles + n, sizeof roles - n, "%s%s", n ? "," : "", c->string + 24);
    }
    cell_s(cells, kfake_str(o, "metadata.name"));
    cell_s(cells, status);
    cell_s(cells, *roles ? roles : "<none>");
    cell_s(cells, since(h, o, "metadata.creationTimestamp", b, sizeof b));
    cell_s(cells, kfake_str(o, "status.nodeInfo.kubeletVersion"));
    const char *ip[2] = {"<none>", "<none>"};
    cJSON_ArrayForEach(c, kh_item(kh_item(o, "status"), "addresses"))
    {
        const char *t = kfake_str(c, "type"), *a = kfake_str(c, "address");
        if (t && a && !strcmp(t, "InternalIP")) ip[0] = a;
        if (t && a && !strcmp(t, "ExternalIP")) ip[1] = a;
    }
    cell_s(cells, ip[0]);
    cell_s(cells, ip[1]);
    cell_s(cells, kfake_str(o, "status.nodeInfo.osImage"));
    cell_s(cells, kfake_str(o, "status.nodeInfo.kernelVersion"));
    cell_s(cells, kfake_str(o, "status.nodeInfo.containerRuntimeVersion"));
}

static void row_generic(khttp *h, int rid, const cJSON *o, cJSON *cells)
{
    char b[32];
    cell_s(cells, kfake_str(o, "metadata.name"));
    if (rid == KFAKE_NAMESPACE) {
        const char *ph = kfake_str(o, "status.phase");
        cell_s(cells, ph ? ph : "Active");
    }
    cell_s(cells, since(h, o, "metadata.creationTimestamp", b, sizeof b));
}

/* kh_table_new: an empty meta.k8s.io/v1 Table for R; HEADERS = with columnDefinitions. */
cJSON *kh_table_new(int rid, bool headers, const char *rv)
{
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "kind", "Table");
    cJSON_AddStringToObject(t, "apiVersion", "meta.k8s.io/v1");
    cJSON *md = cJSON_AddObjectToObject(t, "metadata");
    if (rv) cJSON_AddStringToObject(md, "resourceVersion", rv);
    if (headers) {
        const kh_col *c;
        size_t n;
        cols_of(rid, &c, &n);
        add_cols(t, c, n);
    } else {
        cJSON_AddArrayToObject(t, "columnDefinitions");
    }
    cJSON_AddArrayToObject(t, "rows");
    return t;
}

void kh_table_add(khttp *h, int rid, cJSON *t, const cJSON *o, bool include_object)
{
    cJSON *row = cJSON_CreateObject(), *cells = cJSON_AddArrayToObject(row, "cells");
    if (rid == KUBE_POD)
        row_pod(h, o, cells);
    else if (rid == KUBE_CRONJOB)
        row_cronjob(h, o, cells);
    else if (rid == KUBE_JOB)
        row_job(h, o, cells);
    else if (rid == KUBE_LEASE)
        row_lease(h, o, cells);
    else if (rid == KUBE_EVENT)
        row_event(h, o, cells);
    else if (rid == KFAKE_NODE)
        row_node(h, o, cells);
    else
        row_generic(h, rid, o, cells);
    if (include_object) {
        cJSON *po = cJSON_AddObjectToObject(row, "object");
        cJSON_AddStringToObject(po, "kind", "PartialObjectMetadata");
        cJSON_AddStringToObject(po, "apiVersion", "meta.k8s.io/v1");
        const cJSON *md = kh_item(o, "metadata");
        cJSON_AddItemToObject(po, "metadata", md ? cJSON_Duplicate(md, 1) : cJSON_CreateObject());
    }
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(t, "rows"), row);
}
