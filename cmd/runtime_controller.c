/* runtime_controller.c: `the0-runtime controller`: wires rtloop, kube_rest, mongo_store and nats_bus into
 * the manager, serves health and metrics, and shuts down gracefully (see runtime_controller.h). */
#include "cmd/runtime_controller.h"

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
#include "core/cli.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/version.h"
#include "fsm/tables.h"

#define COMP "controller"

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
    else if (!s->st.store_ok)
        snprintf(why, cap, "MongoDB has not answered the controller's calls for longer than the readiness bound");
    else if (s->st.leader && !s->st.ready)
        snprintf(why, cap, "leader, first full reconcile not finished");
    else if (!s->st.leader && !s->st.synced)
        snprintf(why, cap, "standby, informer caches not synced (list + watch of Pods and CronJobs)");
    else if (!s->mongo_ok) /* the probe's ping: a standby makes no store calls of its own */
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
/* What the command line and the environment set, besides the pod generation settings in ctl_settings. */
typedef struct ctlcmd_flags {
    const char *mongo_uri, *nats_url, *kubeconfig, *health_addr, *metrics_addr, *log_level, *log_format;
    double qps, event_qps;
    int burst, event_burst, list_page;
    int64_t liveness_ms, watch_timeout_ms;
} ctlcmd_flags;

#define CTL_NOPTS (PODGEN_CLI_NOPTS + 23)

static const char CTL_ABOUT[] =
    "Runs the Bot Controller (one Pod per enabled realtime bot) and the Schedule Controller (one CronJob per\n"
    "enabled scheduled bot) from MongoDB desired state, triggered by NATS and a periodic resync.\n"
    "An environment variable counts when it is set, even to \"\"; a flag overrides it.";
static const char CTL_FOOTER[] =
    "environment only:\n"
    "  MINIO_ACCESS_KEY, MINIO_SECRET_KEY   used only with --plain-credentials (then both are required); by default\n"
    "                                       bot pods read them from the Secret --minio-secret-name and the controller\n"
    "                                       needs none (a warning says so when they are set but unused)\n"
    "  RUNTIME_MODE                         logged (kubernetes-controller when in a cluster and =controller)\n"
    "  KUBERNETES_SERVICE_HOST/PORT         in-cluster configuration (with the ServiceAccount token)\n"
    "\nexit codes: 0 graceful shutdown (SIGTERM/SIGINT), 1 start-up failure, 2 usage error";

/* ctl_opts: the option table of `controller`, writing into CS and F. Returns the number of options. */
static size_t ctl_opts(ctl_settings *cs, ctlcmd_flags *f, cli_opt *o)
{
    size_t n = 0;
    o[n++] = (cli_opt){"mongo-uri", 0, CLI_STR, &f->mongo_uri, "MongoDB connection URI", .env = "MONGO_URI"};
    o[n++] = (cli_opt){"nats-url", 0, CLI_STR, &f->nats_url, "NATS server URL; empty = no subscribers (periodic resync only)",
                       .env = "NATS_URL"};
    o[n++] = (cli_opt){"reconcile-interval", 0, CLI_DUR, &cs->resync_ms, "full resync period", .min = 1,
                       .max = INT64_MAX};
    n += podgen_cli_opts(&cs->pod, o + n, PODGEN_CLI_NOPTS);
    o[n++] = (cli_opt){"kubeconfig", 0, CLI_STR, &f->kubeconfig,
                       "kubeconfig file; empty = $KUBECONFIG (first entry), else in-cluster, else ~/.kube/config"};
    o[n++] = (cli_opt){"leader-elect", 0, CLI_BOOL, &cs->leader_election, "hold a coordination.k8s.io Lease before acting"};
    o[n++] = (cli_opt){"lease-name", 0, CLI_STR, &cs->lease_name, "name of the Lease"};
    o[n++] = (cli_opt){"identity", 0, CLI_STR, &cs->identity, "holder identity in the Lease (default: the host name)"};
    o[n++] = (cli_opt){"leader-elect-lease-duration", 0, CLI_DUR, &cs->lease_duration_ms,
                       "another instance takes the Lease when it was not renewed for this long", .min = 1, .max = INT64_MAX};
    o[n++] = (cli_opt){"leader-elect-renew-deadline", 0, CLI_DUR, &cs->lease_renew_deadline_ms,
                       "the leader stops acting when it could not renew for this long (< the lease duration)", .min = 1,
                       .max = INT64_MAX};
    o[n++] = (cli_opt){"leader-elect-retry-period", 0, CLI_DUR, &cs->lease_renew_ms,
                       "how often to renew or campaign (< the renew deadline)", .min = 1, .max = INT64_MAX};
    o[n++] = (cli_opt){"kube-qps", 0, CLI_NUM, &f->qps, "client-side Kubernetes API rate limit (requests/s; 0 = none)",
                       .fmin = 0, .fmax = 1e6};
    o[n++] = (cli_opt){"kube-burst", 0, CLI_INT, &f->burst, "client-side Kubernetes API burst", .min = 1, .max = 1000000};
    o[n++] = (cli_opt){"watch-timeout", 0, CLI_DUR, &f->watch_timeout_ms,
                       "how long each watch asks the API server to run (timeoutSeconds); it then resumes where it "
                       "ended (its last event or bookmark)",
                       .min = 1000, .max = 86400000};
    o[n++] = (cli_opt){"list-page-size", 0, CLI_INT, &f->list_page,
                       "objects per page of a (re-)list (limit and continue, as client-go's pager; 0 = the whole list "
                       "in one answer): a re-list holds one page in memory, not the fleet",
                       .min = 0, .max = 1000000};
    o[n++] = (cli_opt){"health-addr", 0, CLI_STR, &f->health_addr, "address of /livez, /readyz and /healthz",
                       .arg = "HOST:PORT"};
    o[n++] = (cli_opt){"metrics-addr", 0, CLI_STR, &f->metrics_addr, "address of /metrics (default: the health server)",
                       .arg = "HOST:PORT"};
    o[n++] = (cli_opt){"log-level", 0, CLI_ENUM, &f->log_level, "log level", .env = "LOG_LEVEL",
                       .choices = "debug|info|warn|error"};
    o[n++] = (cli_opt){"log-format", 0, CLI_ENUM, &f->log_format, "log line format (json: one object per line)",
                       .env = "LOG_FORMAT", .choices = "logfmt|json"};
    o[n++] = (cli_opt){"events", 0, CLI_BOOL, &cs->record_events, "record Kubernetes Events about Pods and CronJobs"};
    o[n++] = (cli_opt){"event-qps", 0, CLI_NUM, &f->event_qps,
                       "the Events' own client-side rate limit (requests/s; 0 = none), apart from --kube-qps", .fmin = 0,
                       .fmax = 1e6};
    o[n++] = (cli_opt){"event-burst", 0, CLI_INT, &f->event_burst, "the Events' own burst, apart from --kube-burst",
                       .min = 1, .max = 1000000};
    o[n++] = (cli_opt){"liveness-timeout", 0, CLI_DUR, &f->liveness_ms,
                       "/livez fails when the control loop made no progress for this long", .min = 1, .max = INT64_MAX};
    o[n++] = (cli_opt){"nats-durable", 0, CLI_BOOL, &cs->nats_durable,
                       "use durable JetStream consumers on THE0_EVENTS (events sent while down are applied at start)"};
    return n;
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
    kuberest_config kc;  /* what the Kubernetes clients were made from */
    loop_port lp;        /* the ports the manager holds on to */
    kube_port kp, ep;
    store_port sp;
    bus_port bp;
} app;

/* last_progress: the latest sign that the loop is not stuck: a snapshot timer ran, the manager finished a
 * reconcile or a lease tick, or the kube client finished a request (a slow one blocks the loop legitimately) */
static int64_t last_progress(app *a, const ctl_live *live)
{
    int64_t now = t0_mono_ns(), p;
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
    s.now_ns = t0_mono_ns();
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
    a->snap_ns = t0_mono_ns();
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

/* controller_args: the defaults, then the command line and the environment into CS and F; CLI_CONTINUE to go
 * on, else the exit status (a usage error names the flag). */
static int controller_args(int argc, char **argv, ctl_settings *cs, ctlcmd_flags *f)
{
    ctl_settings_defaults(cs);
    cs->identity = "";
    *f = (ctlcmd_flags){.mongo_uri = "mongodb://localhost:27017", .nats_url = "", .kubeconfig = "", .health_addr = ":8080",
                        .metrics_addr = "", .log_level = "info", .log_format = "logfmt", .qps = 50, .burst = 100,
                        .event_qps = 20, .event_burst = 30, .liveness_ms = 60000,
                        .watch_timeout_ms = 300000, .list_page = (int)cs->list_page};
    cli_opt opts[CTL_NOPTS];
    size_t nopts = ctl_opts(cs, f, opts);
    const cli_cmd cmd = {"the0-runtime controller", "[flags]", CTL_ABOUT, opts, nopts, 0, 0, CTL_FOOTER, 2};
    int first, pr = cli_parse(&cmd, argc, argv, &first);
    if (pr != CLI_CONTINUE) return pr;
    cs->list_page = (size_t)f->list_page;
    char health_host[256], metrics_host[256];
    int port;
    if (!ctlcmd_parse_addr(f->health_addr, health_host, sizeof health_host, &port))
        return cli_usage_error(&cmd, "invalid value \"%s\" for --health-addr: HOST:PORT or :PORT is expected", f->health_addr);
    if (*f->metrics_addr && !ctlcmd_parse_addr(f->metrics_addr, metrics_host, sizeof metrics_host, &port))
        return cli_usage_error(&cmd, "invalid value \"%s\" for --metrics-addr: HOST:PORT or :PORT is expected", f->metrics_addr);
    if (cs->lease_renew_deadline_ms >= cs->lease_duration_ms || cs->lease_renew_ms >= cs->lease_renew_deadline_ms)
        return cli_usage_error(&cmd, "leader election wants --leader-elect-retry-period < --leader-elect-renew-deadline < "
                                     "--leader-elect-lease-duration");
    return CLI_CONTINUE;
}

/* set_up_logging: the log level and format F asks for; the warning about MinIO credentials given but unused;
 * the leader-election identity (the host name, into HOSTNAME, unless --identity gave one). */
static void set_up_logging(ctl_settings *cs, const ctlcmd_flags *f, char *hostname, size_t cap)
{
    t0_log_set_level((t0_log_level)t0_log_level_parse(f->log_level));
    t0_log_set_format((t0_log_format)t0_log_format_parse(f->log_format));
    const char *warn = podgen_cli_credentials(&cs->pod);
    if (*warn) T0_WARNK(COMP, warn);
    if (!*cs->identity) {
        if (gethostname(hostname, cap) != 0 || !*hostname) snprintf(hostname, cap, "the0-runtime");
        hostname[cap - 1] = 0;
        cs->identity = hostname;
    }
}

/* log_start and minio_settings_ok: steps 1 (what we run with) and 2 (the MinIO settings the pods get; false,
 * said, when one is missing) */
static void log_start(const ctl_settings *cs)
{
    char interval[32];
    cli_format_duration(cs->resync_ms, interval, sizeof interval);
    bool env_in_cluster = getenv("KUBERNETES_SERVICE_HOST") && getenv("KUBERNETES_SERVICE_PORT");
    T0_INFOK(COMP, "the0-runtime controller starting", "version", T0_VERSION, "commit", t0_build_commit(), "mode",
             runtime_mode(env_in_cluster), "namespace", cs->pod.namespace, "reconcile_interval", interval,
             "leader_elect", cs->leader_election ? "true" : "false", "identity", cs->identity);
}

static bool minio_settings_ok(const ctl_settings *cs)
{
    if (cs->pod.plain_credentials && (!*cs->pod.minio_access_key || !*cs->pod.minio_secret_key)) {
        T0_ERROR(COMP, "ERROR: MinIO credentials (MINIO_ACCESS_KEY, MINIO_SECRET_KEY) are required");
        return false;
    }
    if (!cs->pod.plain_credentials && !*cs->pod.minio_secret_name) {
        T0_ERROR(COMP, "ERROR: --minio-secret-name is required (or --plain-credentials with MINIO_ACCESS_KEY/MINIO_SECRET_KEY)");
        return false;
    }
    if (!*cs->pod.minio_endpoint) {
        T0_ERROR(COMP, "ERROR: MINIO_ENDPOINT is required");
        return false;
    }
    return true;
}

/* app_init: nothing started yet; liveness counts from here (a start-up that hangs fails /livez too). */
static void app_init(app *a, const ctl_settings *cs, const ctlcmd_flags *f)
{
    memset(a, 0, sizeof *a);
    pthread_mutex_init(&a->mu, NULL);
    a->lease_name = cs->lease_name;
    a->snap_ns = t0_mono_ns();
    a->liveness_ns = f->liveness_ms * 1000000;
}

/* Each start-up step below says what failed and returns false; controller_main then stops what started. */

/* start_loop_and_probes: the event loop, its signals and (step 3) the health server: healthy, not ready; the
 * metrics server when it has an address of its own. */
static bool start_loop_and_probes(app *a, const ctlcmd_flags *f)
{
    t0_err e = {0};
    if (rtloop_new(&a->loop, &e) != T0_OK) {
        T0_ERRORK(COMP, "failed to create the event loop", "error", e.msg);
        return false;
    }
    /* before any thread starts, so that SIGTERM/SIGINT reach only the signalfd */
    if (rtloop_on_signals(a->loop, on_signal, a, &e) != T0_OK) {
        T0_ERRORK(COMP, "failed to handle signals", "error", e.msg);
        return false;
    }
    a->snap.healthy = true;
    if (!(a->health = serve(a, f->health_addr, &e))) {
        T0_ERRORK(COMP, "failed to start the health server", "error", e.msg);
        return false;
    }
    if (*f->metrics_addr && strcmp(f->metrics_addr, f->health_addr) && !(a->metrics = serve(a, f->metrics_addr, &e))) {
        T0_ERRORK(COMP, "failed to start the metrics server", "error", e.msg);
        return false;
    }
    return true;
}

/* connect_kube: step 4: the Kubernetes client (in-cluster or a kubeconfig) and, with --events, the Event
 * writer (its own client, queue, thread and budget: adapters/kube_events.h). */
static bool connect_kube(app *a, const ctl_settings *cs, const ctlcmd_flags *f)
{
    t0_err e = {0};
    bool in_cluster = false;
    if (kuberest_config_load(f->kubeconfig, &a->kc, &in_cluster, &e) != T0_OK) {
        T0_ERRORK(COMP, "failed to create the Kubernetes client", "error", e.msg);
        return false;
    }
    if (!in_cluster) T0_WARNK(COMP, "not running in a Kubernetes cluster: using a kubeconfig", "kubeconfig", a->kc.source);
    kuberest_opts ko;
    kuberest_opts_defaults(&ko);
    ko.qps = f->qps;
    ko.burst = f->burst;
    ko.watch_timeout_s = (int)(f->watch_timeout_ms / 1000);
    for (int kind = 0; kind < KUBE__KINDS; kind++) ko.drop[kind] = ctl_unread_members[kind];
    if (kuberest_new(&a->kc, a->loop, &ko, &a->kube, &e) != T0_OK) {
        T0_ERRORK(COMP, "failed to create the Kubernetes client", "error", e.msg);
        return false;
    }
    char safe[512];
    char qpsb[32], burstb[24];
    snprintf(qpsb, sizeof qpsb, "%g", f->qps);
    T0_INFOK(COMP, "Kubernetes API client", "server", t0_redact_url(a->kc.server, safe, sizeof safe), "source", a->kc.source,
             "qps", qpsb, "burst", t0_log_num(burstb, f->burst));
    if (cs->record_events) {
        kevents_opts eo;
        kevents_opts_defaults(&eo);
        eo.qps = f->event_qps;
        eo.burst = f->event_burst;
        if (kevents_new(&a->kc, a->loop, &eo, &a->events, &e) != T0_OK) {
            T0_ERRORK(COMP, "failed to create the Event writer", "error", e.msg);
            return false;
        }
    }
    return true;
}

/* connect_mongo: step 5: the store and the probe /readyz reads. */
static bool connect_mongo(app *a, const ctlcmd_flags *f)
{
    t0_err e = {0};
    if (mongostore_new(f->mongo_uri, 10000, &a->store, &e) != T0_OK) {
        T0_ERRORK(COMP, "failed to connect to MongoDB", "error", e.msg);
        return false;
    }
    T0_INFOK(COMP, "connected to MongoDB");
    if (mongoprobe_start(f->mongo_uri, 5000, 5000, &a->mprobe, &e) != T0_OK) {
        T0_ERRORK(COMP, "failed to start the MongoDB probe", "error", e.msg);
        return false;
    }
    return true;
}

/* connect_nats: step 6: NATS when --nats-url is set (without it: periodic resync only). */
static bool connect_nats(app *a, const ctlcmd_flags *f)
{
    if (!*f->nats_url) {
        T0_WARNK(COMP, "NATS_URL not set: bots and schedules are not synced from the API (periodic resync only)");
        return true;
    }
    t0_err e = {0};
    if (natsbus_new(f->nats_url, a->loop, NULL, &a->bus, &e) != T0_OK) {
        T0_ERRORK(COMP, "failed to connect to NATS", "error", e.msg);
        return false;
    }
    char safe[512];
    T0_INFOK(COMP, "connected to NATS", "url", t0_redact_url(f->nats_url, safe, sizeof safe));
    return true;
}

/* start_manager: steps 7 and 9: the manager over the ports of what started (kept in A: it holds on to
 * them), started; the HTTP thread sees it from now on and snapshots begin. */
static bool start_manager(app *a, const ctl_settings *cs)
{
    t0_err e = {0};
    a->lp = rtloop_port(a->loop);
    a->kp = kuberest_port(a->kube);
    a->sp = mongostore_port(a->store);
    if (a->bus) a->bp = natsbus_port(a->bus);
    if (a->events) a->ep = kevents_port(a->events);
    ctl_ports ports = {&a->lp, &a->kp, &a->sp, a->bus ? &a->bp : NULL, a->events ? &a->ep : NULL, t0_mono_ns};
    if (ctl_manager_new(cs, &ports, &a->mgr, &e) != T0_OK) {
        T0_ERRORK(COMP, "failed to create the manager", "error", e.msg);
        return false;
    }
    if (ctl_manager_start(a->mgr, &e) != T0_OK) {
        T0_ERRORK(COMP, "failed to start the manager", "error", e.msg);
        return false;
    }
    pthread_mutex_lock(&a->mu);
    a->live_mgr = a->mgr;
    pthread_mutex_unlock(&a->mu);
    snap_tick(a);
    T0_INFOK(COMP, "manager started");
    return true;
}

/* app_stop: not ready any more; the servers stop before the things the snapshot came from go away, then
 * everything that started, in reverse. */
static void app_stop(app *a)
{
    a->stopping = true;
    if (a->loop) take_snapshot(a);
    if (a->snap_timer) rtloop_cancel(a->loop, a->snap_timer);
    if (a->metrics) MHD_stop_daemon(a->metrics);
    if (a->health) MHD_stop_daemon(a->health);
    ctl_manager_destroy(a->mgr);
    kevents_destroy(a->events); /* writes what is still queued, for a moment */
    natsbus_destroy(a->bus);
    mongoprobe_destroy(a->mprobe);
    mongostore_destroy(a->store);
    kuberest_destroy(a->kube);
    kuberest_config_free(&a->kc);
    rtloop_destroy(a->loop);
    pthread_mutex_destroy(&a->mu);
}

int controller_main(int argc, char **argv)
{
    ctl_settings cs;
    ctlcmd_flags f;
    int rc = controller_args(argc, argv, &cs, &f);
    if (rc != CLI_CONTINUE) return rc;
    char hostname[256] = "the0-runtime"; /* cs.identity may point here: it lives as long as the manager */
    set_up_logging(&cs, &f, hostname, sizeof hostname);
    log_start(&cs);
    if (!minio_settings_ok(&cs)) return 1;
    app a;
    app_init(&a, &cs, &f);
    bool started = start_loop_and_probes(&a, &f) && connect_kube(&a, &cs, &f) && connect_mongo(&a, &f) &&
                   connect_nats(&a, &f) && start_manager(&a, &cs);
    if (started) rtloop_run(a.loop, -1); /* step 10: until SIGTERM/SIGINT */
    app_stop(&a);
    if (started) T0_INFOK(COMP, "stopped");
    return started ? 0 : 1;
}
