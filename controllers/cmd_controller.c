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
#include <unistd.h>

#include "adapters/kube_rest.h"
#include "adapters/mongo_store.h"
#include "adapters/nats_bus.h"
#include "adapters/rtloop.h"
#include "core/cli.h"
#include "core/log.h"
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

/* ---- metrics ---------------------------------------------------------------------------------- */
typedef struct sbuf {
    char *p;
    size_t n, cap;
    bool oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)n < b->cap - b->n) {
            b->n += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n + 1;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

static void counter(sbuf *b, const char *name, const char *help, uint64_t v)
{
    sb_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, (unsigned long long)v);
}

static void gauge(sbuf *b, const char *name, const char *help, double v)
{
    sb_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name, name, v);
}

char *ctlcmd_metrics_text(const ctlcmd_snapshot *s)
{
    sbuf b = {malloc(8192), 0, 8192, false};
    if (!b.p) return NULL;
    b.p[0] = 0;
    const ctl_stats *st = &s->st;
    counter(&b, "the0_controller_reconciles_total", "Reconciles run by both controllers.", st->reconciles);
    counter(&b, "the0_controller_reconcile_errors_total", "Reconciles that ended in an error.", st->reconcile_errors);
    counter(&b, "the0_controller_api_calls_total", "Calls the manager made through its ports.", st->api_calls);
    counter(&b, "the0_controller_api_errors_total", "Port calls that failed.", st->api_errors);
    counter(&b, "the0_controller_creates_total", "Pods and CronJobs created.", st->creates);
    counter(&b, "the0_controller_deletes_total", "Pods and CronJobs deleted.", st->deletes);
    counter(&b, "the0_controller_updates_total", "CronJobs updated.", st->updates);
    counter(&b, "the0_controller_events_emitted_total", "Kubernetes Events emitted.", st->events_emitted);
    counter(&b, "the0_controller_final_sync_failures_total",
            "Scheduled runs whose sync sidecar could not ship the run's last state or logs (Event FinalSyncFailed).",
            st->final_sync_failures);
    counter(&b, "the0_controller_nats_messages_total", "NATS messages handled.", st->nats_messages);
    counter(&b, "the0_controller_nats_bad_messages_total",
            "NATS messages terminated as bad input (invalid UTF-8 or id, bad cron, malformed), never redelivered.",
            st->nats_bad_messages);
    counter(&b, "the0_controller_nats_stale_total", "NATS messages older than the desired state in effect: ignored.",
            st->nats_stale);
    counter(&b, "the0_controller_nats_dead_lettered_total",
            "NATS messages that failed on their last allowed delivery: moved to the dead-letter stream.",
            st->nats_dead_lettered);
    counter(&b, "the0_controller_store_failures_total", "MongoDB calls that got no answer.", st->store_failures);
    gauge(&b, "the0_controller_store_ok", "0 once MongoDB has not answered for longer than the readiness bound.",
          st->store_ok);
    counter(&b, "the0_controller_resyncs_total", "Full resyncs.", st->resyncs);
    counter(&b, "the0_controller_deletes_deferred_total", "Deletions deferred by the per-cycle cap.", st->deletes_deferred);
    counter(&b, "the0_controller_deletion_guard_trips_total",
            "Times a deletion guard refused to delete (failed or suspicious desired-state read).",
            st->deletion_guard_trips);
    counter(&b, "the0_controller_name_conflicts_total",
            "Objects with a bot's or schedule's name that are not its own (never touched; reported once).",
            st->name_conflicts);
    gauge(&b, "the0_controller_queue_depth", "Keys waiting in the work queues.", st->queue_depth);
    gauge(&b, "the0_controller_leader", "1 while this instance holds the lease.", st->leader);
    gauge(&b, "the0_controller_ready",
          "1 once the first full reconcile finished, while MongoDB answers (and not shutting down).", s->ready);
    sb_printf(&b, "# HELP the0_controller_bots Realtime bots per bot-FSM state.\n# TYPE the0_controller_bots gauge\n");
    for (int i = 0; i < fsm_bot_table.nstates && i < 16; i++)
        sb_printf(&b, "the0_controller_bots{state=\"%s\"} %u\n", fsm_bot_table.state_names[i], st->bot_states[i]);
    sb_printf(&b, "# HELP the0_controller_schedules Scheduled bots per schedule-FSM state.\n"
                  "# TYPE the0_controller_schedules gauge\n");
    for (int i = 0; i < fsm_schedule_table.nstates && i < 16; i++)
        sb_printf(&b, "the0_controller_schedules{state=\"%s\"} %u\n", fsm_schedule_table.state_names[i],
                  st->sched_states[i]);
    if (s->have_kube) {
        const kuberest_stats *k = &s->ks;
        sb_printf(&b, "# HELP the0_kube_api_requests_total Kubernetes API requests by verb.\n"
                      "# TYPE the0_kube_api_requests_total counter\n");
        for (int v = 0; v < KR__VERBS; v++)
            sb_printf(&b, "the0_kube_api_requests_total{verb=\"%s\"} %llu\n", kuberest_verb_name(v),
                      (unsigned long long)k->requests[v]);
        sb_printf(&b, "# HELP the0_kube_api_errors_total Kubernetes API requests that failed, by verb.\n"
                      "# TYPE the0_kube_api_errors_total counter\n");
        for (int v = 0; v < KR__VERBS; v++)
            sb_printf(&b, "the0_kube_api_errors_total{verb=\"%s\"} %llu\n", kuberest_verb_name(v),
                      (unsigned long long)k->errors[v]);
        sb_printf(&b, "# HELP the0_kube_api_request_duration_seconds Kubernetes API request latency.\n"
                      "# TYPE the0_kube_api_request_duration_seconds histogram\n");
        for (int v = 0; v < KR__VERBS; v++) {
            if (v == KR_WATCH) continue; /* a watch lasts minutes by design */
            for (int i = 0; i < KUBEREST_NBUCKETS; i++)
                sb_printf(&b, "the0_kube_api_request_duration_seconds_bucket{verb=\"%s\",le=\"%g\"} %llu\n",
                          kuberest_verb_name(v), KUBEREST_BUCKETS[i], (unsigned long long)k->bucket[v][i]);
            sb_printf(&b, "the0_kube_api_request_duration_seconds_bucket{verb=\"%s\",le=\"+Inf\"} %llu\n",
                      kuberest_verb_name(v), (unsigned long long)k->requests[v]);
            sb_printf(&b, "the0_kube_api_request_duration_seconds_sum{verb=\"%s\"} %.6f\n", kuberest_verb_name(v),
                      k->sum_s[v]);
            sb_printf(&b, "the0_kube_api_request_duration_seconds_count{verb=\"%s\"} %llu\n", kuberest_verb_name(v),
                      (unsigned long long)k->requests[v]);
        }
        counter(&b, "the0_kube_api_throttled_total", "Requests that waited for the client-side QPS/burst bucket.",
                k->throttled);
        gauge(&b, "the0_kube_watches", "Watch streams open.", k->watches);
    }
    if (s->have_nats) {
        counter(&b, "the0_nats_received_total", "NATS messages received.", s->ns.received);
        counter(&b, "the0_nats_acked_total", "JetStream messages acked after the store write.", s->ns.acked);
        counter(&b, "the0_nats_naked_total", "JetStream messages negatively acked for redelivery.", s->ns.naked);
        counter(&b, "the0_nats_terminated_total", "JetStream messages terminated as bad input.", s->ns.terminated);
        counter(&b, "the0_nats_dead_lettered_total", "JetStream messages published to the dead-letter stream.",
                s->ns.dead_lettered);
        counter(&b, "the0_nats_dead_letter_failures_total", "Dead-letter publishes that failed (redelivered instead).",
                s->ns.dead_letter_failures);
        counter(&b, "the0_nats_disconnects_total", "NATS disconnections.", s->ns.disconnects);
        counter(&b, "the0_nats_reconnects_total", "NATS reconnections.", s->ns.reconnects);
        gauge(&b, "the0_nats_connected", "1 while connected to NATS.", s->nats_connected);
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* ---- flags ------------------------------------------------------------------------------------ */
/* What the command line and the environment set, besides the pod generation settings in ctl_settings. */
typedef struct ctlcmd_flags {
    const char *mongo_uri, *nats_url, *kubeconfig, *health_addr, *metrics_addr, *log_level;
    double qps;
    int burst;
} ctlcmd_flags;

#define CTL_NOPTS (PODGEN_CLI_NOPTS + 16)

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
    o[n++] = (cli_opt){"health-addr", 0, CLI_STR, &f->health_addr, "address of /healthz and /readyz", .arg = "HOST:PORT"};
    o[n++] = (cli_opt){"metrics-addr", 0, CLI_STR, &f->metrics_addr, "address of /metrics (default: the health server)",
                       .arg = "HOST:PORT"};
    o[n++] = (cli_opt){"log-level", 0, CLI_ENUM, &f->log_level, "log level", .env = "LOG_LEVEL",
                       .choices = "debug|info|warn|error"};
    o[n++] = (cli_opt){"nats-durable", 0, CLI_BOOL, &cs->nats_durable,
                       "use durable JetStream consumers on THE0_EVENTS (events sent while down are applied at start)"};
    return n;
}

/* ---- health / metrics server ------------------------------------------------------------------ */
typedef struct app {
    rtloop *loop;
    kuberest *kube;
    mongostore *store;
    natsbus *bus;
    ctl_manager *mgr;
    pthread_mutex_t mu; /* guards snap */
    ctlcmd_snapshot snap;
    struct MHD_Daemon *health, *metrics;
    uint64_t snap_timer;
    bool stopping;
} app;

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
    pthread_mutex_unlock(&a->mu);
    static char ok[] = "ok", unhealthy[] = "unhealthy", notready[] = "not ready", nf[] = "404 page not found\n";
    bool is_metrics_server = a->metrics && MHD_get_connection_info(c, MHD_CONNECTION_INFO_DAEMON)->daemon == a->metrics;
    if (!strcmp(url, "/metrics") && (is_metrics_server || !a->metrics)) {
        char *t = ctlcmd_metrics_text(&s);
        if (!t) return reply(c, 500, "text/plain; charset=utf-8", nf, false);
        return reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", t, true);
    }
    if (!is_metrics_server && !strcmp(url, "/healthz"))
        return reply(c, s.healthy ? 200 : 503, "text/plain; charset=utf-8", s.healthy ? ok : unhealthy, false);
    if (!is_metrics_server && !strcmp(url, "/readyz"))
        return reply(c, s.ready ? 200 : 503, "text/plain; charset=utf-8", s.ready ? ok : notready, false);
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
    T0_INFO(COMP, "listening on %s (port %u)", addr_s, di ? di->port : 0);
    return d;
}

/* take_snapshot: on the loop thread, copy what the HTTP handlers show. */
static void take_snapshot(app *a)
{
    ctlcmd_snapshot s;
    memset(&s, 0, sizeof s);
    if (a->mgr) ctl_manager_stats(a->mgr, &s.st);
    if (a->kube) {
        kuberest_stats_get(a->kube, &s.ks);
        s.have_kube = true;
    }
    if (a->bus) {
        natsbus_stats_get(a->bus, &s.ns);
        s.have_nats = true;
        s.nats_connected = natsbus_connected(a->bus);
    }
    s.healthy = true;
    s.shutting_down = a->stopping;
    s.ready = !a->stopping && a->mgr && ctl_manager_ready(a->mgr);
    s.taken_ms = rtloop_now_ms(a->loop);
    pthread_mutex_lock(&a->mu);
    a->snap = s;
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
        T0_WARN(COMP, "second signal %d: stopping now", signo);
        rtloop_stop(a->loop);
        return;
    }
    T0_INFO(COMP, "received signal %d: not ready, releasing the lease, stopping", signo);
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
    ctl_settings cs;
    ctl_settings_defaults(&cs);
    cs.identity = "";
    ctlcmd_flags f = {.mongo_uri = "mongodb://localhost:27017", .nats_url = "", .kubeconfig = "", .health_addr = ":8080",
                      .metrics_addr = "", .log_level = "info", .qps = 50, .burst = 100};
    cli_opt opts[CTL_NOPTS];
    size_t nopts = ctl_opts(&cs, &f, opts);
    const cli_cmd cmd = {"the0-runtime controller", "[flags]", CTL_ABOUT, opts, nopts, 0, 0, CTL_FOOTER, 2};
    int first, pr = cli_parse(&cmd, argc, argv, &first);
    if (pr != CLI_CONTINUE) return pr;
    char health_host[256], metrics_host[256];
    int port;
    if (!ctlcmd_parse_addr(f.health_addr, health_host, sizeof health_host, &port))
        return cli_usage_error(&cmd, "invalid value \"%s\" for --health-addr: HOST:PORT or :PORT is expected", f.health_addr);
    if (*f.metrics_addr && !ctlcmd_parse_addr(f.metrics_addr, metrics_host, sizeof metrics_host, &port))
        return cli_usage_error(&cmd, "invalid value \"%s\" for --metrics-addr: HOST:PORT or :PORT is expected", f.metrics_addr);
    if (cs.lease_renew_deadline_ms >= cs.lease_duration_ms || cs.lease_renew_ms >= cs.lease_renew_deadline_ms)
        return cli_usage_error(&cmd, "leader election wants --leader-elect-retry-period < --leader-elect-renew-deadline < "
                                     "--leader-elect-lease-duration");
    t0_log_set_level((t0_log_level)t0_log_level_parse(f.log_level));
    const char *warn = podgen_cli_credentials(&cs.pod);
    if (*warn) T0_WARN(COMP, "%s", warn);
    char hostname[256] = "the0-runtime";
    if (!*cs.identity) {
        if (gethostname(hostname, sizeof hostname) != 0 || !*hostname) snprintf(hostname, sizeof hostname, "the0-runtime");
        hostname[sizeof hostname - 1] = 0;
        cs.identity = hostname;
    }
    char interval[32];
    cli_format_duration(cs.resync_ms, interval, sizeof interval);

    /* 1. what we run with */
    bool env_in_cluster = getenv("KUBERNETES_SERVICE_HOST") && getenv("KUBERNETES_SERVICE_PORT");
    T0_INFO(COMP, "the0-runtime controller: mode=%s namespace=%s reconcile-interval=%s leader-elect=%s identity=%s",
            runtime_mode(env_in_cluster), cs.pod.namespace, interval, cs.leader_election ? "true" : "false",
            cs.identity);
    /* 2. MinIO settings */
    if (cs.pod.plain_credentials && (!*cs.pod.minio_access_key || !*cs.pod.minio_secret_key)) {
        T0_ERROR(COMP, "ERROR: MinIO credentials (MINIO_ACCESS_KEY, MINIO_SECRET_KEY) are required");
        return 1;
    }
    if (!cs.pod.plain_credentials && !*cs.pod.minio_secret_name) {
        T0_ERROR(COMP, "ERROR: --minio-secret-name is required (or --plain-credentials with MINIO_ACCESS_KEY/MINIO_SECRET_KEY)");
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
    kuberest_config kc;
    memset(&kc, 0, sizeof kc);
    kube_port kp;
    store_port sp;
    bus_port bp;
    if (rtloop_new(&a.loop, &e) != T0_OK) {
        T0_ERROR(COMP, "%s", e.msg);
        goto out;
    }
    /* before any thread starts, so that SIGTERM/SIGINT reach only the signalfd */
    if (rtloop_on_signals(a.loop, on_signal, &a, &e) != T0_OK) {
        T0_ERROR(COMP, "%s", e.msg);
        goto out;
    }
    /* 3. health (healthy, not ready) */
    a.snap.healthy = true;
    if (!(a.health = serve(&a, f.health_addr, &e))) {
        T0_ERROR(COMP, "health server: %s", e.msg);
        goto out;
    }
    if (*f.metrics_addr && strcmp(f.metrics_addr, f.health_addr) &&
        !(a.metrics = serve(&a, f.metrics_addr, &e))) {
        T0_ERROR(COMP, "metrics server: %s", e.msg);
        goto out;
    }
    /* 4. Kubernetes */
    bool in_cluster = false;
    if (kuberest_config_load(f.kubeconfig, &kc, &in_cluster, &e) != T0_OK) {
        T0_ERROR(COMP, "failed to create the Kubernetes client: %s", e.msg);
        goto out;
    }
    if (!in_cluster) T0_WARN(COMP, "not running in a Kubernetes cluster; using kubeconfig %s", kc.source);
    kuberest_opts ko;
    kuberest_opts_defaults(&ko);
    ko.qps = f.qps;
    ko.burst = f.burst;
    if (kuberest_new(&kc, a.loop, &ko, &a.kube, &e) != T0_OK) {
        T0_ERROR(COMP, "failed to create the Kubernetes client: %s", e.msg);
        goto out;
    }
    T0_INFO(COMP, "Kubernetes API %s (%s), QPS %g burst %d", kc.server, kc.source, ko.qps, ko.burst);
    /* 5. MongoDB */
    if (mongostore_new(f.mongo_uri, 10000, &a.store, &e) != T0_OK) {
        T0_ERROR(COMP, "failed to connect to MongoDB: %s", e.msg);
        goto out;
    }
    T0_INFO(COMP, "connected to MongoDB");
    /* 6. NATS */
    if (*f.nats_url) {
        if (natsbus_new(f.nats_url, a.loop, NULL, &a.bus, &e) != T0_OK) {
            T0_ERROR(COMP, "failed to connect to NATS: %s", e.msg);
            goto out;
        }
        T0_INFO(COMP, "connected to NATS at %s", f.nats_url);
    } else {
        T0_WARN(COMP, "WARNING: NATS_URL not set, bots/schedules won't be synced from API");
    }
    /* 7. manager */
    loop_port lp = rtloop_port(a.loop);
    kp = kuberest_port(a.kube);
    sp = mongostore_port(a.store);
    if (a.bus) bp = natsbus_port(a.bus);
    ctl_ports ports = {&lp, &kp, &sp, a.bus ? &bp : NULL};
    if (ctl_manager_new(&cs, &ports, &a.mgr, &e) != T0_OK) {
        T0_ERROR(COMP, "failed to create the manager: %s", e.msg);
        goto out;
    }
    /* 9. start */
    if (ctl_manager_start(a.mgr, &e) != T0_OK) {
        T0_ERROR(COMP, "failed to start the manager: %s", e.msg);
        goto out;
    }
    snap_tick(&a);
    T0_INFO(COMP, "manager started");
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
    natsbus_destroy(a.bus);
    mongostore_destroy(a.store);
    kuberest_destroy(a.kube);
    kuberest_config_free(&kc);
    rtloop_destroy(a.loop);
    pthread_mutex_destroy(&a.mu);
    if (rc == 0) T0_INFO(COMP, "stopped");
    return rc;
}
