/* serve.c: `the0-sim serve`: flags, start the HTTP fake cluster, wait for SIGTERM/SIGINT, stop it. */
#include "fakes/serve.h"

#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/log.h"
#include "fakes/kube_http.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: the0-sim serve [--listen HOST:PORT] [--nodes N] [--namespace NS]... [--seed S] [--idle-timeout S]\n"
               "                      [--max-connections N] [--access-log] [--log-level L]\n"
               "\n"
               "Serves the simulator's fake cluster (API server, kubelet, CronJob and Job controllers) over the\n"
               "Kubernetes REST API in wall-clock time, so that kubectl, python3-kubernetes and `the0-runtime\n"
               "controller` can use it:\n"
               "  kubectl --server=http://127.0.0.1:8001 get pods -o wide\n"
               "\n"
               "  --listen HOST:PORT   IPv4 address and port (default 127.0.0.1:8001; port 0 picks a free one)\n"
               "  --nodes N            simulated Ready nodes node-1..node-N, with their Node objects (default 3)\n"
               "  --namespace NS       a namespace that exists at start, besides default, kube-system, kube-public and\n"
               "                       kube-node-lease (repeatable; default the0); objects go only into namespaces\n"
               "                       that exist\n"
               "  --seed S             seed of the simulation PRNG (default 1)\n"
               "  --idle-timeout S     close a connection idle this many seconds between requests (default 90)\n"
               "  --max-connections N  connections at once (default 4096)\n"
               "  --access-log         one line per request on stderr\n"
               "  --log-level L        debug, info, warn or error (default warn)\n"
               "\n"
               "Stops on SIGTERM or SIGINT (exit 0). Exit 1 when it cannot start, 2 on a usage error.\n");
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || !*s || *s == '-') return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max) return false;
    *out = v;
    return true;
}

typedef struct serve_args {
    const char *listen, *level;
    uint64_t nodes, seed, idle, maxconn;
    bool access_log;
    char namespaces[1024]; /* comma-separated */
} serve_args;

/* set_arg: option K of with_val[] to VAL; false when VAL is not one it takes */
static bool set_arg(serve_args *a, size_t k, const char *val)
{
    switch (k) {
    case 0: a->listen = val; return true;
    case 1: return parse_u64(val, 10000, &a->nodes);
    case 2: return parse_u64(val, UINT64_MAX, &a->seed);
    case 3: a->level = val; return t0_log_level_parse(val) >= 0;
    case 4: return parse_u64(val, 86400, &a->idle) && a->idle > 0;
    case 5: return parse_u64(val, 1000000, &a->maxconn) && a->maxconn > 0;
    default: {
        size_t n = strlen(a->namespaces);
        if (!*val || strchr(val, ',') || n + strlen(val) + 2 >= sizeof a->namespaces) return false;
        snprintf(a->namespaces + n, sizeof a->namespaces - n, "%s%s", n ? "," : "", val);
        return true;
    }
    }
}

/* parse_args: ARGV into A; -1 to go on, else the exit code (0 after --help, 2 on a usage error) */
static int parse_args(int argc, char **argv, serve_args *a)
{
    static const char *const with_val[] = {"--listen",     "--nodes",           "--seed",     "--log-level",
                                           "--idle-timeout", "--max-connections", "--namespace"};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = NULL;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(arg, "--access-log")) {
            a->access_log = true;
            continue;
        }
        size_t k;
        for (k = 0; k < T0_ARRAY_LEN(with_val); k++) {
            size_t n = strlen(with_val[k]);
            if (!strncmp(arg, with_val[k], n) && arg[n] == '=') {
                val = arg + n + 1;
                break;
            }
            if (!strcmp(arg, with_val[k])) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "the0-sim serve: %s needs a value\n", arg);
                    return 2;
                }
                val = argv[++i];
                break;
            }
        }
        if (k == T0_ARRAY_LEN(with_val)) {
            fprintf(stderr, "the0-sim serve: unknown argument '%s' (see --help)\n", arg);
            return 2;
        }
        if (!set_arg(a, k, val)) {
            fprintf(stderr, "the0-sim serve: invalid value '%s' for %s\n", val, with_val[k]);
            return 2;
        }
    }
    return -1;
}

int serve_main(int argc, char **argv)
{
    serve_args a = {.listen = "127.0.0.1:8001", .level = "warn", .nodes = 3, .seed = 1, .idle = 90, .maxconn = 4096};
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) return rc;
    const char *listen = a.listen;
    char host[64];
    const char *colon = strrchr(listen, ':');
    uint64_t port;
    if (!colon || (size_t)(colon - listen) >= sizeof host || !parse_u64(colon + 1, 65535, &port)) {
        fprintf(stderr, "the0-sim serve: --listen wants HOST:PORT, got '%s'\n", listen);
        return 2;
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = 0;
    t0_log_set_level((t0_log_level)t0_log_level_parse(a.level));

    /* block the signals before any thread starts, so that only sigwait below receives them */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    khttp_opts o = {.host = *host ? host : "127.0.0.1", .port = (int)port, .nodes = (unsigned)a.nodes, .seed = a.seed,
                    .access_log = a.access_log, .namespaces = *a.namespaces ? a.namespaces : "the0",
                    .idle_timeout_s = (unsigned)a.idle, .max_connections = (unsigned)a.maxconn};
    /* every idle connection holds a descriptor: take what the hard limit allows */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    khttp *h = NULL;
    t0_err err = {0};
    if (khttp_start(&o, &h, &err) != T0_OK) {
        fprintf(stderr, "the0-sim serve: %s\n", err.msg);
        return 1;
    }
    printf("the0-sim serve: listening on http://%s:%d (nodes %u, seed %" PRIu64 ")\n", o.host, khttp_port(h), o.nodes,
           a.seed);
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    khttp_stats s;
    khttp_get_stats(h, &s);
    khttp_stop(h);
    fprintf(stderr, "the0-sim serve: signal %d: stopped after %" PRIu64 " requests (%" PRIu64 " watches, %" PRIu64 " errors)\n",
            sig, s.requests, s.watches, s.errors);
    return 0;
}
