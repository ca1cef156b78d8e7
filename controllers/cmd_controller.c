/* cmd_controller.c: `the0-runtime controller`: wires rtloop, kube_rest, mongo_store and nats_bus into the
 * manager, serves health and metrics, and shuts down gracefully (see cmd_controller.h). */
#include "controllers/cmd_controller.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adapters/kube_events.h"
#include "adapters/kube_rest.h"
#include "adapters/mongo_store.h"
#include "adapters/nats_bus.h"
#include "adapters/rtloop.h"
#include "core/log.h"
#include "core/version.h"
#include "fsm/tables.h"

#define COMP "controller"

/* ---- Go durations ----------------------------------------------------------------------------- */
bool ctlcmd_parse_duration(const char *s, int64_t *ms)
{
    if (!s || !*s) return false;
    bool neg = false;
    if (*s == '-' || *s == '+') neg = *s++ == '-';
    if (!strcmp(s, "0")) {
        *ms = 0;
        return true;
    }
    if (!*s) return false;
    long double total_ns = 0;
    while (*s) {
        /* digits [. digits] only: Go has no exponents, hex or signs inside */
        long double v = 0, scale = 1;
        int digits = 0;
        while (isdigit((unsigned char)*s)) v = v * 10 + (*s++ - '0'), digits++;
        if (*s == '.') {
            s++;
            while (isdigit((unsigned char)*s)) scale /= 10, v += (*s++ - '0') * scale, digits++;
        }
        if (!digits) return false;
        long double unit;
        if (!strncmp(s, "ns", 2)) unit = 1, s += 2;
        else if (!strncmp(s, "us", 2)) unit = 1e3, s += 2;
        else if (!strncmp(s, "\xc2\xb5s", 3)) unit = 1e3, s += 3; /* µs */
        else if (!strncmp(s, "\xce\xbcs", 3)) unit = 1e3, s += 3; /* μs */
        else if (!strncmp(s, "ms", 2)) unit = 1e6, s += 2;
        else if (*s == 's') unit = 1e9, s += 1;
        else if (*s == 'm') unit = 60e9, s += 1;
        else if (*s == 'h') unit = 3600e9, s += 1;
        else return false; /* a number needs a unit (Go: "missing unit in duration") */
        total_ns += v * unit;
        if (total_ns > 9.2e18L) return false;
    }
    int64_t r = (int64_t)(total_ns / 1e6L);
    *ms = neg ? -r : r;
    return true;
}

bool ctlcmd_parse_addr(const char *s, char *host, size_t cap, int *port)
{
    if (!s) return false;
    const char *colon;
    if (*s == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':') return false;
        if ((size_t)(rb - s - 1) >= cap) return false;
        memcpy(host, s + 1, (size_t)(rb - s - 1));
        host[rb - s - 1] = 0;
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= cap) return false;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = 0;
    }
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end || p < 0 || p > 65535) return false;
    *port = (int)p;
    return true;
}

/* ---- metrics and probes ----------------------------------------------------------------------- */
char *ctlcmd_metrics_text(const ctlcmd_snapshot *s)
{
    prom b;
    prom_init(&b);
    ctl_metrics_write(&b, &s->st, &s->live, s->now_ns, s->lease_name);
    prom_family(&b, "the0_controller_ready", "gauge", "1 while /readyz answers 200 (leader or standby).");
    prom_sample(&b, "the0_controller_ready", NULL, s->ready);
    if (s->have_kube) kuberest_metrics_write(&s->ks, &b);
    if (s->have_events) kevents_metrics_write(&s->es, &b);
    if (s->have_nats) natsbus_metrics_write(&s->ns, s->nats_connected, &b);
    prom_family(&b, "the0_mongo_reachable", "gauge", "1 while the last MongoDB ping succeeded.");
    prom_sample(&b, "the0_mongo_reachable", NULL, s->mongo_ok);
    char lb[160];
    prom_family(&b, "the0_build_info", "gauge",
                "A metric with a constant '1' value labeled by the version and the git commit the0-runtime was built from.");
    prom_sample(&b, "the0_build_info", prom_labels(lb, sizeof lb, "version", T0_VERSION, "commit", t0_build_commit()), 1);
    prom_process(&b);
    return prom_take(&b);
}

bool ctlcmd_readiness(const ctlcmd_snapshot *s, char *why, size_t cap)
{
    why[0] = 0;
    if (s->shutting_down)
        snprintf(why, cap, "shutting down");
    else if (!s->manager_up)
        snprintf(why, cap, "starting");
    else if (s->st.leader && !s->st.ready)
        snprintf(why, cap, "leader, first full reconcile not finished");
    else if (!s->st.leader && !s->st.synced)
        snprintf(why, cap, "standby, informer caches not synced (list + watch of Pods and CronJobs)");
    else if (!s->mongo_ok)
        snprintf(why, cap, "MongoDB unreachable: %s", s->mongo_why);
    else if (s->have_nats && !s->nats_connected)
        snprintf(why, cap, "NATS not connected");
    return !why[0];
}

bool ctlcmd_liveness(int64_t now_ns, int64_t last_progress_ns, int64_t timeout_ns, char *why, size_t cap)
{
    why[0] = 0;
    if (!last_progress_ns || now_ns - last_progress_ns <= timeout_ns) return true;
    snprintf(why, cap, "the control loop made no progress for %.1f s (timeout %.1f s)",
             (double)(now_ns - last_progress_ns) / 1e9, (double)timeout_ns / 1e9);
    return false;
}

/* ---- flags ------------------------------------------------------------------------------------ */
typedef enum { F_STR, F_BOOL, F_INT, F_DUR, F_NUM } ftype;
typedef struct flag {
    const char *name, *env;
    ftype type;
    const char *def; /* default as text (shown in --help and parsed like a value) */
    const char *help;
    const char *val; /* the chosen text: default, env or flag */
} flag;

enum {
    FL_MONGO, FL_NATS, FL_NS, FL_INTERVAL, FL_MINIO_EP, FL_MINIO_BUCKET, FL_IMAGE, FL_PULL, FL_MINIO_SSL, FL_MINIO_SECRET,
    FL_PLAIN, FL_KUBECONFIG, FL_LEADER, FL_LEASE, FL_IDENTITY, FL_QPS, FL_BURST, FL_HEALTH, FL_METRICS, FL_START_DL,
    FL_ACTIVE_DL, FL_GRACE, FL_LOG, FL_DURABLE, FL_LEASE_DUR, FL_RENEW_DL, FL_RETRY, FL_LOG_FORMAT, FL_EVENTS,
    FL_EVENT_QPS, FL_EVENT_BURST, FL_LIVENESS, FL__N
};

static flag flags_tmpl[FL__N] = {
    [FL_MONGO] = {"mongo-uri", "MONGO_URI", F_STR, "mongodb://localhost:27017", "MongoDB connection URI"},
    [FL_NATS] = {"nats-url", "NATS_URL", F_STR, "", "NATS server URL; empty = no subscribers (periodic resync only)"},
    [FL_NS] = {"namespace", "NAMESPACE", F_STR, "the0", "namespace for Pods and CronJobs"},
    [FL_INTERVAL] = {"reconcile-interval", NULL, F_DUR, "30s", "full resync period (Go duration: 30s, 1m30s)"},
    [FL_MINIO_EP] = {"minio-endpoint", "MINIO_ENDPOINT", F_STR, "minio:9000", "MinIO host:port, no scheme"},
    [FL_MINIO_BUCKET] = {"minio-bucket", "MINIO_BUCKET", F_STR, "the0-custom-bots", "code bucket (validated only)"},
    [FL_IMAGE] = {"runtime-image", "RUNTIME_IMAGE", F_STR, "runtime:latest", "image of the init and sync containers"},
    [FL_PULL] = {"runtime-image-pull-policy", "RUNTIME_IMAGE_PULL_POLICY", F_STR, "IfNotPresent",
                 "imagePullPolicy of all three containers"},
    [FL_MINIO_SSL] = {"minio-use-ssl", "MINIO_USE_SSL", F_BOOL, "false", "pods reach MinIO over TLS"},
    [FL_MINIO_SECRET] = {"minio-secret", "MINIO_SECRET_NAME", F_STR, "the0-minio",
                         "Secret with keys access-key/secret-key that pods read the MinIO credentials from"},
    [FL_PLAIN] = {"plain-credentials", NULL, F_BOOL, "false",
                  "put MINIO_ACCESS_KEY/MINIO_SECRET_KEY into pod env values as the reference does (then both env "
                  "variables are required)"},
    [FL_KUBECONFIG] = {"kubeconfig", NULL, F_STR, "",
                       "kubeconfig file; empty = $KUBECONFIG (first entry), else in-cluster, else ~/.kube/config"},
    [FL_LEADER] = {"leader-elect", NULL, F_BOOL, "true", "hold a coordination.k8s.io Lease before acting"},
    [FL_LEASE] = {"lease-name", NULL, F_STR, "the0-runtime-controller", "name of the Lease"},
    [FL_IDENTITY] = {"identity", NULL, F_STR, "", "holder identity in the Lease (default: the host name)"},
    [FL_LEASE_DUR] = {"leader-elect-lease-duration", NULL, F_DUR, "15s",
                      "another instance takes the Lease when it was not renewed for this long"},
    [FL_RENEW_DL] = {"leader-elect-renew-deadline", NULL, F_DUR, "10s",
                     "the leader stops acting when it could not renew for this long (< the lease duration)"},
    [FL_RETRY] = {"leader-elect-retry-period", NULL, F_DUR, "2s", "how often to renew or campaign (< the renew deadline)"},
    [FL_QPS] = {"kube-qps", NULL, F_NUM, "50", "client-side Kubernetes API rate limit (requests/s; 0 = none)"},
    [FL_BURST] = {"kube-burst", NULL, F_INT, "100", "client-side Kubernetes API burst"},
    [FL_HEALTH] = {"health-addr", NULL, F_STR, ":8080", "address of /livez, /readyz and /healthz"},
    [FL_METRICS] = {"metrics-addr", NULL, F_STR, "", "address of /metrics (default: the health server)"},
    [FL_START_DL] = {"starting-deadline-seconds", NULL, F_INT, "300", "CronJob startingDeadlineSeconds"},
    [FL_ACTIVE_DL] = {"active-deadline-seconds", NULL, F_INT, "3600", "scheduled Job activeDeadlineSeconds"},
    [FL_GRACE] = {"termination-grace-period", NULL, F_INT, "90", "bot Pod terminationGracePeriodSeconds"},
    [FL_LOG] = {"log-level", "LOG_LEVEL", F_STR, "info", "debug, info, warn or error"},
    [FL_LOG_FORMAT] = {"log-format", "LOG_FORMAT", F_STR, "logfmt", "logfmt, or json (one object per line)"},
    [FL_EVENTS] = {"events", NULL, F_BOOL, "true", "record Kubernetes Events about Pods and CronJobs"},
    [FL_EVENT_QPS] = {"event-qps", NULL, F_NUM, "20",
                      "Events' own client-side rate limit (requests/s; 0 = none), apart from --kube-qps"},
    [FL_EVENT_BURST] = {"event-burst", NULL, F_INT, "30", "Events' own burst, apart from --kube-burst"},
    [FL_LIVENESS] = {"liveness-timeout", NULL, F_DUR, "60s",
                     "/livez fails when the control loop made no progress for this long"},
    [FL_DURABLE] = {"nats-durable", NULL, F_BOOL, "true",
                    "use durable JetStream consumers on THE0_EVENTS (events sent while down are applied at start)"},
};

static void usage(FILE *f, const flag *fl)
{
    fprintf(f, "usage: the0-runtime controller [flags]\n\n"
               "Runs the Bot Controller (one Pod per enabled realtime bot) and the Schedule Controller (one CronJob per\n"
               "enabled scheduled bot) from MongoDB desired state, triggered by NATS and a periodic resync.\n\n"
               "flags (--name=value or --name value; an environment variable counts when it is set, even empty):\n");
    for (int i = 0; i < FL__N; i++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s", fl[i].name, fl[i].type == F_BOOL ? "[=bool]" : "");
        fprintf(f, "  %-34s %s\n  %-34s default \"%s\"%s%s%s\n", left, fl[i].help, "", fl[i].def,
                fl[i].env ? ", env " : "", fl[i].env ? fl[i].env : "", "");
    }
    fprintf(f, "\nenvironment only:\n"
               "  MINIO_ACCESS_KEY, MINIO_SECRET_KEY   required only with --plain-credentials; by default pods read\n"
               "                                       them from the Secret --minio-secret and the controller needs none\n"
               "  RUNTIME_MODE                         logged (kubernetes-controller when in a cluster and =controller)\n"
               "\nexit codes: 0 graceful shutdown, 1 start-up failure, 2 usage error\n"
               "Kubernetes API client: QPS 50 and burst 100 unless --kube-qps/--kube-burst say otherwise.\n");
}

static bool parse_bool(const char *s, bool *out)
{
    if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "t") || !strcmp(s, "TRUE") || !strcmp(s, "True"))
        return *out = true, true;
    if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "f") || !strcmp(s, "FALSE") || !strcmp(s, "False"))
        return *out = false, true;
    return false;
}

/* parse_flags: fill fl[].val from defaults, env, then argv. Returns 0 ok, 1 help, 2 error. */
static int parse_flags(int argc, char **argv, flag *fl)
{
    for (int i = 0; i < FL__N; i++) {
        fl[i].val = fl[i].def;
        const char *e = fl[i].env ? getenv(fl[i].env) : NULL;
        if (e) fl[i].val = e;
    }
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h") || !strcmp(arg, "-help")) return 1;
        if (arg[0] != '-') {
            fprintf(stderr, "Error: unexpected argument \"%s\"\n", arg);
            return 2;
        }
        const char *name = arg + (arg[1] == '-' ? 2 : 1);
        const char *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        int f = -1;
        for (int i = 0; i < FL__N; i++)
            if (strlen(fl[i].name) == nl && !strncmp(fl[i].name, name, nl)) f = i;
        if (f < 0) {
            fprintf(stderr, "Error: unknown flag: %s\n", arg);
            return 2;
        }
        if (eq)
            fl[f].val = eq + 1;
        else if (fl[f].type == F_BOOL)
            fl[f].val = "true";
        else if (a + 1 < argc)
            fl[f].val = argv[++a];
        else {
            fprintf(stderr, "Error: flag needs an argument: --%s\n", fl[f].name);
            return 2;
        }
    }
    for (int i = 0; i < FL__N; i++) {
        bool b;
        int64_t d;
        char *end;
        bool ok = true;
        switch (fl[i].type) {
        case F_BOOL: ok = parse_bool(fl[i].val, &b); break;
        case F_INT: ok = *fl[i].val && (strtol(fl[i].val, &end, 10), !*end); break;
        case F_NUM: ok = *fl[i].val && (strtod(fl[i].val, &end), !*end); break;
        case F_DUR: ok = ctlcmd_parse_duration(fl[i].val, &d) && d > 0; break;
        default: break;
        }
        if (!ok) {
            fprintf(stderr, "Error: invalid value \"%s\" for --%s%s%s\n", fl[i].val, fl[i].name,
                    fl[i].type == F_DUR ? " (a positive Go duration such as 30s or 1m30s)" : "",
                    fl[i].type == F_BOOL ? " (true or false)" : "");
            return 2;
        }
    }
    if (t0_log_level_parse(fl[FL_LOG].val) < 0) {
        fprintf(stderr, "Error: invalid value \"%s\" for --log-level (debug, info, warn, error)\n", fl[FL_LOG].val);
        return 2;
    }
    if (t0_log_format_parse(fl[FL_LOG_FORMAT].val) < 0) {
        fprintf(stderr, "Error: invalid value \"%s\" for --log-format (logfmt, json)\n", fl[FL_LOG_FORMAT].val);
        return 2;
    }
    return 0;
}

/* ---- health / metrics server ------------------------------------------------------------------ */
typedef struct app {
    rtloop *loop;
    kuberest *kube;
    kevents *events;
    mongostore *store;
    mongoprobe *mprobe;
    natsbus *bus;
    ctl_manager *mgr;
    ctl_manager *live_mgr; /* mgr, for the HTTP thread (under mu) once started */
    const char *lease_name;
    int64_t liveness_ns;
    pthread_mutex_t mu; /* guards snap and the progress marks */
    ctlcmd_snapshot snap;
    int64_t snap_ns;       /* mono: when the loop last took a snapshot (its timers run) */
    uint64_t kube_reqs;    /* the kube client's requests when the HTTP thread last looked ... */
    int64_t kube_reqs_ns;  /* ... and when that count last changed */
    struct MHD_Daemon *health, *metrics;
    uint64_t snap_timer;
    bool stopping;
} app;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* last_progress: the latest sign that the loop is not stuck: a snapshot timer ran, the manager finished a
 * reconcile or a lease tick, or the kube client finished a request (a slow one blocks the loop legitimately) */
static int64_t last_progress(app *a, const ctl_live *live)
{
    int64_t now = mono_ns(), p;
    uint64_t reqs = 0;
    if (a->kube) {
        kuberest_stats ks;
        kuberest_stats_get(a->kube, &ks);
        for (int v = 0; v < KR__VERBS; v++) reqs += ks.requests[v];
    }
    pthread_mutex_lock(&a->mu);
    if (reqs != a->kube_reqs) {
        a->kube_reqs = reqs;
        a->kube_reqs_ns = now;
    }
    p = a->snap_ns > a->kube_reqs_ns ? a->snap_ns : a->kube_reqs_ns;
    pthread_mutex_unlock(&a->mu);
    return live && live->beat_ns > p ? live->beat_ns : p;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *ctype, char *body, bool owned)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, owned ? MHD_RESPMEM_MUST_FREE
                                                                                        : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (owned) free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", ctype);
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

/* check: a probe's answer in controller-runtime's shape: "ok", or the failed check and why, then
 * "<probe> check failed" (VERBOSE: every check, passing ones as [+]) */
static enum MHD_Result check(struct MHD_Connection *c, const char *probe, const char *name, bool ok, const char *why,
                             bool verbose)
{
    static char okb[] = "ok";
    if (ok && !verbose) return reply(c, 200, "text/plain; charset=utf-8", okb, false);
    char *body = malloc(768);
    if (!body) return MHD_NO;
    if (ok)
        snprintf(body, 768, "[+]%s ok\n%s check passed\n", name, probe);
    else
        snprintf(body, 768, "[-]%s failed: %s\n%s check failed\n", name, why, probe);
    return reply(c, ok ? 200 : 503, "text/plain; charset=utf-8", body, true);
}

static enum MHD_Result on_http(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)method, (void)version, (void)upload;
    app *a = cls;
    if (!*con_cls) { /* first call: headers only */
        *con_cls = (void *)1;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0; /* any method; bodies are ignored */
        return MHD_YES;
    }
    ctlcmd_snapshot s;
    pthread_mutex_lock(&a->mu);
    s = a->snap;
    ctl_manager *mgr = a->live_mgr; /* stays valid: the servers stop before the manager goes */
    pthread_mutex_unlock(&a->mu);
    if (mgr) ctl_manager_live(mgr, &s.live);
    s.now_ns = mono_ns();
    static char nf[] = "404 page not found\n";
    const char *vv = NULL;
    size_t vl = 0; /* "?verbose" has no value: ask whether the key is there */
    bool verbose = MHD_lookup_connection_value_n(c, MHD_GET_ARGUMENT_KIND, "verbose", 7, &vv, &vl) == MHD_YES;
    bool is_metrics_server = a->metrics && MHD_get_connection_info(c, MHD_CONNECTION_INFO_DAEMON)->daemon == a->metrics;
    if (!strcmp(url, "/metrics") && (is_metrics_server || !a->metrics)) {
        char *t = ctlcmd_metrics_text(&s);
        if (!t) return reply(c, 500, "text/plain; charset=utf-8", nf, false);
        return reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", t, true);
    }
    if (!is_metrics_server && (!strcmp(url, "/livez") || !strcmp(url, "/healthz"))) {
        char why[256];
        bool ok = ctlcmd_liveness(s.now_ns, last_progress(a, mgr ? &s.live : NULL), a->liveness_ns, why, sizeof why);
        return check(c, url + 1, "loop", ok, why, verbose);
    }
    if (!is_metrics_server && !strcmp(url, "/readyz")) {
        char why[512];
        bool ok = ctlcmd_readiness(&s, why, sizeof why);
        return check(c, "readyz", "controller", ok, why, verbose);
    }
    return reply(c, 404, "text/plain; charset=utf-8", nf, false);
}

static struct MHD_Daemon *serve(app *a, const char *addr_s, t0_err *err)
{
    char host[256];
    int port;
    if (!ctlcmd_parse_addr(addr_s, host, sizeof host, &port)) {
        t0_fail(err, T0_EINVAL, "bad listen address \"%s\" (want host:port or :port)", addr_s);
        return NULL;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (!*host || !strcmp(host, "0.0.0.0")) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        in->sin_addr.s_addr = htonl(INADDR_ANY);
    } else if (strchr(host, ':')) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1) {
            t0_fail(err, T0_EINVAL, "bad IPv6 address \"%s\"", host);
            return NULL;
        }
        flags |= MHD_USE_IPv6;
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, strcmp(host, "localhost") ? host : "127.0.0.1", &in->sin_addr) != 1) {
            t0_fail(err, T0_EINVAL, "bad IPv4 address \"%s\" (use an IP address)", host);
            return NULL;
        }
    }
    struct MHD_Daemon *d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_http, a, MHD_OPTION_SOCK_ADDR, &ss,
                                            MHD_OPTION_CONNECTION_TIMEOUT, 5u, MHD_OPTION_END);
    if (!d) {
        t0_fail(err, T0_EIO, "cannot listen on %s", addr_s);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char portb[24];
    T0_INFOK(COMP, "listening", "address", addr_s, "port", t0_log_num(portb, di ? di->port : 0));
    return d;
}

/* take_snapshot: on the loop thread, copy what the HTTP handlers show. */
static void take_snapshot(app *a)
{
    ctlcmd_snapshot s;
    memset(&s, 0, sizeof s);
    if (a->mgr) ctl_manager_stats(a->mgr, &s.st);
    s.manager_up = a->mgr != NULL;
    if (a->kube) {
        kuberest_stats_get(a->kube, &s.ks);
        s.have_kube = true;
    }
    if (a->events) {
        kevents_stats_get(a->events, &s.es);
        kuberest_stats_add(&s.ks, &s.es.client); /* rest_client_* counts every request to the server */
        s.have_events = true;
    }
    if (a->bus) {
        natsbus_stats_get(a->bus, &s.ns);
        s.have_nats = true;
        s.nats_connected = natsbus_connected(a->bus);
    }
    s.mongo_ok = a->mprobe ? mongoprobe_ok(a->mprobe, s.mongo_why, sizeof s.mongo_why) : a->store != NULL;
    s.lease_name = a->lease_name;
    s.healthy = true;
    s.shutting_down = a->stopping;
    char why[8];
    s.ready = ctlcmd_readiness(&s, why, sizeof why);
    s.taken_ms = rtloop_now_ms(a->loop);
    pthread_mutex_lock(&a->mu);
    a->snap = s;
    a->snap_ns = mono_ns();
    pthread_mutex_unlock(&a->mu);
}

static void snap_tick(void *ud)
{
    app *a = ud;
    take_snapshot(a);
    a->snap_timer = rtloop_timer(a->loop, 1000, snap_tick, a);
}

static void on_signal(void *ud, int signo)
{
    app *a = ud;
    if (a->stopping) {
        char sb[24];
        T0_WARNK(COMP, "second signal: stopping now", "signal", t0_log_num(sb, signo));
        rtloop_stop(a->loop);
        return;
    }
    char sb[24];
    T0_INFOK(COMP, "received signal: not ready, releasing the lease, stopping", "signal", t0_log_num(sb, signo));
    a->stopping = true;
    take_snapshot(a); /* readiness false before anything else */
    if (a->mgr) ctl_manager_release(a->mgr);
    rtloop_stop(a->loop);
}

static const char *runtime_mode(bool in_cluster)
{
    const char *m = getenv("RUNTIME_MODE");
    return in_cluster && m && !strcmp(m, "controller") ? "kubernetes-controller" : "docker";
}

int controller_main(int argc, char **argv)
{
    flag fl[FL__N];
    memcpy(fl, flags_tmpl, sizeof fl);
    int pr = parse_flags(argc, argv, fl);
    if (pr == 1) {
        usage(stdout, fl);
        return 0;
    }
    if (pr) {
        fprintf(stderr, "Run 'the0-runtime controller --help' for usage.\n");
        return 2;
    }
    t0_log_set_level((t0_log_level)t0_log_level_parse(fl[FL_LOG].val));
    t0_log_set_format((t0_log_format)t0_log_format_parse(fl[FL_LOG_FORMAT].val));

    ctl_settings cs;
    ctl_settings_defaults(&cs);
    int64_t interval_ms = 30000;
    ctlcmd_parse_duration(fl[FL_INTERVAL].val, &interval_ms);
    cs.resync_ms = interval_ms;
    cs.pod.namespace = fl[FL_NS].val;
    cs.pod.minio_endpoint = fl[FL_MINIO_EP].val;
    cs.pod.minio_bucket = fl[FL_MINIO_BUCKET].val;
    cs.pod.runtime_image = fl[FL_IMAGE].val;
    cs.pod.pull_policy = fl[FL_PULL].val;
    parse_bool(fl[FL_MINIO_SSL].val, &cs.pod.minio_use_ssl);
    cs.pod.minio_secret_name = fl[FL_MINIO_SECRET].val;
    parse_bool(fl[FL_PLAIN].val, &cs.pod.plain_credentials);
    const char *ak = getenv("MINIO_ACCESS_KEY"), *sk = getenv("MINIO_SECRET_KEY");
    cs.pod.minio_access_key = ak ? ak : "";
    cs.pod.minio_secret_key = sk ? sk : "";
    cs.pod.starting_deadline_seconds = strtol(fl[FL_START_DL].val, NULL, 10);
    cs.pod.active_deadline_seconds = strtol(fl[FL_ACTIVE_DL].val, NULL, 10);
    cs.pod.termination_grace_period_seconds = strtol(fl[FL_GRACE].val, NULL, 10);
    parse_bool(fl[FL_LEADER].val, &cs.leader_election);
    parse_bool(fl[FL_DURABLE].val, &cs.nats_durable);
    cs.lease_name = fl[FL_LEASE].val;
    ctlcmd_parse_duration(fl[FL_LEASE_DUR].val, &cs.lease_duration_ms);
    ctlcmd_parse_duration(fl[FL_RENEW_DL].val, &cs.lease_renew_deadline_ms);
    ctlcmd_parse_duration(fl[FL_RETRY].val, &cs.lease_renew_ms);
    char hostname[256] = "the0-runtime";
    if (!*fl[FL_IDENTITY].val) {
        if (gethostname(hostname, sizeof hostname) != 0 || !*hostname) snprintf(hostname, sizeof hostname, "the0-runtime");
        hostname[sizeof hostname - 1] = 0;
        cs.identity = hostname;
    } else {
        cs.identity = fl[FL_IDENTITY].val;
    }

    /* 1. what we run with */
    bool env_in_cluster = getenv("KUBERNETES_SERVICE_HOST") && getenv("KUBERNETES_SERVICE_PORT");
    T0_INFOK(COMP, "the0-runtime controller starting", "version", T0_VERSION, "commit", t0_build_commit(), "mode",
             runtime_mode(env_in_cluster), "namespace", cs.pod.namespace, "reconcile_interval", fl[FL_INTERVAL].val,
             "leader_elect", cs.leader_election ? "true" : "false", "identity", cs.identity);
    /* 2. MinIO settings */
    if (cs.pod.plain_credentials && (!*cs.pod.minio_access_key || !*cs.pod.minio_secret_key)) {
        T0_ERROR(COMP, "ERROR: MinIO credentials (MINIO_ACCESS_KEY, MINIO_SECRET_KEY) are required");
        return 1;
    }
    if (!cs.pod.plain_credentials && !*cs.pod.minio_secret_name) {
        T0_ERROR(COMP, "ERROR: --minio-secret is required (or --plain-credentials with MINIO_ACCESS_KEY/MINIO_SECRET_KEY)");
        return 1;
    }
    if (!*cs.pod.minio_endpoint) {
        T0_ERROR(COMP, "ERROR: MINIO_ENDPOINT is required");
        return 1;
    }

    int rc = 1;
    t0_err e = {0};
    app a;
    memset(&a, 0, sizeof a);
    pthread_mutex_init(&a.mu, NULL);
    a.lease_name = cs.lease_name;
    a.snap_ns = mono_ns(); /* liveness counts from here: a start-up that hangs fails /livez too */
    int64_t live_ms = 60000;
    ctlcmd_parse_duration(fl[FL_LIVENESS].val, &live_ms);
    a.liveness_ns = live_ms * 1000000;
    kuberest_config kc;
    memset(&kc, 0, sizeof kc);
    kube_port kp;
    store_port sp;
    bus_port bp;
    if (rtloop_new(&a.loop, &e) != T0_OK) {
        T0_ERRORK(COMP, "failed to create the event loop", "error", e.msg);
        goto out;
    }
    /* before any thread starts, so that SIGTERM/SIGINT reach only the signalfd */
    if (rtloop_on_signals(a.loop, on_signal, &a, &e) != T0_OK) {
        T0_ERRORK(COMP, "failed to handle signals", "error", e.msg);
        goto out;
    }
    /* 3. health (healthy, not ready) */
    a.snap.healthy = true;
    if (!(a.health = serve(&a, fl[FL_HEALTH].val, &e))) {
        T0_ERRORK(COMP, "failed to start the health server", "error", e.msg);
        goto out;
    }
    if (*fl[FL_METRICS].val && strcmp(fl[FL_METRICS].val, fl[FL_HEALTH].val) &&
        !(a.metrics = serve(&a, fl[FL_METRICS].val, &e))) {
        T0_ERRORK(COMP, "failed to start the metrics server", "error", e.msg);
        goto out;
    }
    /* 4. Kubernetes */
    bool in_cluster = false;
    if (kuberest_config_load(fl[FL_KUBECONFIG].val, &kc, &in_cluster, &e) != T0_OK) {
        T0_ERRORK(COMP, "failed to create the Kubernetes client", "error", e.msg);
        goto out;
    }
    if (!in_cluster) T0_WARNK(COMP, "not running in a Kubernetes cluster: using a kubeconfig", "kubeconfig", kc.source);
    kuberest_opts ko;
    kuberest_opts_defaults(&ko);
    ko.qps = strtod(fl[FL_QPS].val, NULL);
    ko.burst = (int)strtol(fl[FL_BURST].val, NULL, 10);
    if (kuberest_new(&kc, a.loop, &ko, &a.kube, &e) != T0_OK) {
        T0_ERRORK(COMP, "failed to create the Kubernetes client", "error", e.msg);
        goto out;
    }
    char safe[512];
    T0_INFOK(COMP, "Kubernetes API client", "server", t0_redact_url(kc.server, safe, sizeof safe), "source", kc.source,
             "qps", fl[FL_QPS].val, "burst", fl[FL_BURST].val);
    bool events_on = true;
    parse_bool(fl[FL_EVENTS].val, &events_on);
    cs.record_events = events_on;
    if (events_on) { /* Events: their own client, queue, thread and budget (adapters/kube_events.h) */
        kevents_opts eo;
        kevents_opts_defaults(&eo);
        eo.qps = strtod(fl[FL_EVENT_QPS].val, NULL);
        eo.burst = (int)strtol(fl[FL_EVENT_BURST].val, NULL, 10);
        if (kevents_new(&kc, a.loop, &eo, &a.events, &e) != T0_OK) {
            T0_ERRORK(COMP, "failed to create the Event writer", "error", e.msg);
            goto out;
        }
    }
    /* 5. MongoDB */
    if (mongostore_new(fl[FL_MONGO].val, 10000, &a.store, &e) != T0_OK) {
        T0_ERRORK(COMP, "failed to connect to MongoDB", "error", e.msg);
        goto out;
    }
    T0_INFOK(COMP, "connected to MongoDB");
    if (mongoprobe_start(fl[FL_MONGO].val, 5000, 5000, &a.mprobe, &e) != T0_OK) {
        T0_ERRORK(COMP, "failed to start the MongoDB probe", "error", e.msg);
        goto out;
    }
    /* 6. NATS */
    if (*fl[FL_NATS].val) {
        if (natsbus_new(fl[FL_NATS].val, a.loop, NULL, &a.bus, &e) != T0_OK) {
            T0_ERRORK(COMP, "failed to connect to NATS", "error", e.msg);
            goto out;
        }
        T0_INFOK(COMP, "connected to NATS", "url", t0_redact_url(fl[FL_NATS].val, safe, sizeof safe));
    } else {
        T0_WARNK(COMP, "NATS_URL not set: bots and schedules are not synced from the API (periodic resync only)");
    }
    /* 7. manager */
    loop_port lp = rtloop_port(a.loop);
    kp = kuberest_port(a.kube);
    sp = mongostore_port(a.store);
    if (a.bus) bp = natsbus_port(a.bus);
    kube_port ep;
    if (a.events) ep = kevents_port(a.events);
    ctl_ports ports = {&lp, &kp, &sp, a.bus ? &bp : NULL, a.events ? &ep : NULL, mono_ns};
    if (ctl_manager_new(&cs, &ports, &a.mgr, &e) != T0_OK) {
        T0_ERRORK(COMP, "failed to create the manager", "error", e.msg);
        goto out;
    }
    /* 9. start */
    if (ctl_manager_start(a.mgr, &e) != T0_OK) {
        T0_ERRORK(COMP, "failed to start the manager", "error", e.msg);
        goto out;
    }
    pthread_mutex_lock(&a.mu);
    a.live_mgr = a.mgr;
    pthread_mutex_unlock(&a.mu);
    snap_tick(&a);
    T0_INFOK(COMP, "manager started");
    /* 10. run until SIGTERM/SIGINT */
    rtloop_run(a.loop, -1);
    rc = 0;
out:
    a.stopping = true;
    if (a.loop) take_snapshot(&a);
    if (a.snap_timer) rtloop_cancel(a.loop, a.snap_timer);
    /* stop serving before the things the snapshot came from go away */
    if (a.metrics) MHD_stop_daemon(a.metrics);
    if (a.health) MHD_stop_daemon(a.health);
    ctl_manager_destroy(a.mgr);
    kevents_destroy(a.events); /* writes what is still queued, for a moment */
    natsbus_destroy(a.bus);
    mongoprobe_destroy(a.mprobe);
    mongostore_destroy(a.store);
    kuberest_destroy(a.kube);
    kuberest_config_free(&kc);
    rtloop_destroy(a.loop);
    pthread_mutex_destroy(&a.mu);
    if (rc == 0) T0_INFOK(COMP, "stopped");
    return rc;
}
