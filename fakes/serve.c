/* serve.c: `the0-sim serve`: flags, start the HTTP fake cluster, wait for SIGTERM/SIGINT, stop it. */
#include "fakes/serve.h"

#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "fakes/kube_http.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: the0-sim serve [--listen HOST:PORT] [--nodes N] [--seed S] [--access-log] [--log-level L]\n"
               "                      [--run-pods [--containers-conf FILE] [--pods-dir DIR]]\n"
               "\n"
               "Serves the simulator's fake cluster (API server, kubelet, CronJob and Job controllers) over the\n"
               "Kubernetes REST API in wall-clock time, so that kubectl, python3-kubernetes and `the0-runtime\n"
               "controller` can use it:\n"
               "  kubectl --server=http://127.0.0.1:8001 get pods -o wide\n"
               "\n"
               "  --listen HOST:PORT   IPv4 address and port (default 127.0.0.1:8001; port 0 picks a free one)\n"
               "  --nodes N            simulated Ready nodes node-1..node-N (default 3)\n"
               "  --seed S             seed of the simulation PRNG (default 1)\n"
               "  --access-log         one line per request on stderr\n"
               "  --log-level L        debug, info, warn or error (default warn)\n"
               "  --run-pods           run pods bound to a node as real containers through podman (kube play; see\n"
               "                       docs/conformance.md): images must be local (make images); pods share the\n"
               "                       host's network; kubectl logs and the kubelet's Events work. Stopping serve\n"
               "                       stops and removes every container it started\n"
               "  --containers-conf F  podman's engine settings for --run-pods (sets CONTAINERS_CONF; these\n"
               "                       machines need ci/podman/containers.conf)\n"
               "  --pods-dir DIR       where --run-pods keeps pod volumes (default: a new /tmp/the0-pods-XXXXXX)\n"
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

int serve_main(int argc, char **argv)
{
    const char *listen = "127.0.0.1:8001", *level = "warn";
    uint64_t nodes = 3, seed = 1;
    bool access_log = false, run_pods = false;
    const char *containers_conf = NULL, *pods_dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--access-log")) {
            access_log = true;
            continue;
        }
        if (!strcmp(a, "--run-pods")) {
            run_pods = true;
            continue;
        }
        static const char *const with_val[] = {"--listen", "--nodes", "--seed", "--log-level", "--containers-conf",
                                               "--pods-dir"};
        size_t k;
        for (k = 0; k < sizeof with_val / sizeof with_val[0]; k++) {
            size_t n = strlen(with_val[k]);
            if (!strncmp(a, with_val[k], n) && a[n] == '=') {
                val = a + n + 1;
                break;
            }
            if (!strcmp(a, with_val[k])) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "the0-sim serve: %s needs a value\n", a);
                    return 2;
                }
                val = argv[++i];
                break;
            }
        }
        if (k == sizeof with_val / sizeof with_val[0]) {
            fprintf(stderr, "the0-sim serve: unknown argument '%s' (see --help)\n", a);
            return 2;
        }
        bool ok = true;
        if (k == 0)
            listen = val;
        else if (k == 1)
            ok = parse_u64(val, 10000, &nodes);
        else if (k == 2)
            ok = parse_u64(val, UINT64_MAX, &seed);
        else if (k == 3)
            ok = t0_log_level_parse(val) >= 0, level = val;
        else if (k == 4)
            containers_conf = val;
        else
            pods_dir = val;
        if (!ok) {
            fprintf(stderr, "the0-sim serve: invalid value '%s' for %s\n", val, with_val[k]);
            return 2;
        }
    }
    char host[64];
    const char *colon = strrchr(listen, ':');
    uint64_t port;
    if (!colon || (size_t)(colon - listen) >= sizeof host || !parse_u64(colon + 1, 65535, &port)) {
        fprintf(stderr, "the0-sim serve: --listen wants HOST:PORT, got '%s'\n", listen);
        return 2;
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = 0;
    t0_log_set_level((t0_log_level)t0_log_level_parse(level));

    /* block the signals before any thread starts, so that only sigwait below receives them */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if ((containers_conf || pods_dir) && !run_pods) {
        fprintf(stderr, "the0-sim serve: --containers-conf and --pods-dir go with --run-pods\n");
        return 2;
    }
    if (containers_conf) setenv("CONTAINERS_CONF", containers_conf, 1); /* before any thread starts */
    pkl_opts po = {.work_dir = pods_dir};
    khttp_opts o = {.host = *host ? host : "127.0.0.1", .port = (int)port, .nodes = (unsigned)nodes, .seed = seed,
                    .access_log = access_log, .run_pods = run_pods ? &po : NULL};
    khttp *h = NULL;
    t0_err err = {0};
    if (khttp_start(&o, &h, &err) != T0_OK) {
        fprintf(stderr, "the0-sim serve: %s\n", err.msg);
        return 1;
    }
    printf("the0-sim serve: listening on http://%s:%d (nodes %u, seed %" PRIu64 "%s)\n", o.host, khttp_port(h), o.nodes,
           seed, run_pods ? ", pods run as podman containers" : "");
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
