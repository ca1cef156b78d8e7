/* sim_serve.c: `the0-sim serve`: flags, start the HTTP fake cluster, wait for SIGTERM/SIGINT, stop it. */
#include "cmd/cmd.h"

#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/cli.h"
#include "core/log.h"
#include "fakes/kube_http.h"

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

static const char SERVE_ABOUT[] =
    "Serves the simulator's fake cluster (API server, kubelet, CronJob and Job controllers) over the\n"
    "Kubernetes REST API in wall-clock time, so that kubectl, python3-kubernetes and `the0-runtime\n"
    "controller` can use it:\n"
    "  kubectl --server=http://127.0.0.1:8001 get pods -o wide\n"
    "With --run-pods, pods bound to a node run as real containers through podman (kube play; see\n"
    "docs/conformance.md): images must be in podman's local store (make images), pods share the host's\n"
    "network, kubectl logs and the kubelet's Events work, and stopping serve stops and removes every\n"
    "container it started.";

int serve_main(int argc, char **argv)
{
    const char *listen = "127.0.0.1:8001", *level = "warn";
    const char *namespaces = "the0";
    unsigned nodes = 3, idle = 90, maxconn = 4096, bookmark = 60;
    uint64_t seed = 1;
    bool access_log = false, run_pods = false;
    const char *containers_conf = NULL, *pods_dir = NULL;
    const cli_opt opts[] = {
        {"listen", 0, CLI_STR, &listen, "IPv4 address and port (port 0 picks a free one)", .arg = "HOST:PORT"},
        {"nodes", 0, CLI_UINT, &nodes, "simulated Ready nodes node-1..node-N, with their Node objects", .min = 0,
         .max = 10000},
        {"namespace", 0, CLI_STR, &namespaces,
         "namespaces that exist at start besides default, kube-system, kube-public and kube-node-lease; objects "
         "go only into namespaces that exist",
         .arg = "NS[,NS...]"},
        {"seed", 0, CLI_U64, &seed, "seed of the simulation PRNG"},
        {"idle-timeout", 0, CLI_UINT, &idle, "seconds a connection may idle between requests before it is closed",
         .min = 1, .max = 86400, .arg = "S"},
        {"max-connections", 0, CLI_UINT, &maxconn, "connections at once", .min = 1, .max = 1000000},
        {"watch-bookmark-interval", 0, CLI_UINT, &bookmark,
         "seconds between the BOOKMARK events of a watch that asks for them (allowWatchBookmarks=true)", .min = 1,
         .max = 86400, .arg = "S"},
        {"access-log", 0, CLI_BOOL, &access_log, "one line per request on stderr"},
        {"log-level", 0, CLI_ENUM, &level, "log level", .choices = "debug|info|warn|error|off"},
        {"run-pods", 0, CLI_BOOL, &run_pods, "run pods bound to a node as real containers through podman"},
        {"containers-conf", 0, CLI_STR, &containers_conf,
         "podman's engine settings for --run-pods (sets CONTAINERS_CONF; these machines need ci/podman/containers.conf)",
         .arg = "FILE"},
        {"pods-dir", 0, CLI_STR, &pods_dir, "where --run-pods keeps pod volumes (default: a new /tmp/the0-pods-XXXXXX)",
         .arg = "DIR"},
    };
    const cli_cmd cmd = {"the0-sim serve", "[flags]", SERVE_ABOUT, opts, T0_ARRAY_LEN(opts), 0, 0,
                         "Stops on SIGTERM or SIGINT (exit 0). Exit 1 when it cannot start, 2 on a usage error.", 2};
    int first, pr = cli_parse(&cmd, argc, argv, &first);
    if (pr != CLI_CONTINUE) return pr;
    char host[64];
    const char *colon = strrchr(listen, ':');
    uint64_t port;
    if (!colon || (size_t)(colon - listen) >= sizeof host || !parse_u64(colon + 1, 65535, &port))
        return cli_usage_error(&cmd, "invalid value \"%s\" for --listen: HOST:PORT with a port from 0 to 65535 is expected",
                               listen);
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = 0;
    if ((containers_conf || pods_dir) && !run_pods)
        return cli_usage_error(&cmd, "--containers-conf and --pods-dir go with --run-pods");
    if (containers_conf) setenv("CONTAINERS_CONF", containers_conf, 1); /* before any thread starts */
    t0_log_set_level((t0_log_level)t0_log_level_parse(level));

    /* block the signals before any thread starts, so that only sigwait below receives them */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    pkl_opts po = {.work_dir = pods_dir};
    khttp_opts o = {.host = *host ? host : "127.0.0.1", .port = (int)port, .nodes = nodes, .seed = seed,
                    .access_log = access_log, .namespaces = namespaces, .idle_timeout_s = idle,
                    .max_connections = maxconn, .run_pods = run_pods ? &po : NULL, .bookmark_s = bookmark};
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
