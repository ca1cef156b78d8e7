/* serve.h: `the0-sim serve`: the fake cluster over the Kubernetes REST API until SIGTERM/SIGINT. */
#ifndef T0_FAKES_SERVE_H
#define T0_FAKES_SERVE_H

/* serve_main: ARGV[0] is "serve". Flags: --listen HOST:PORT (default 127.0.0.1:8001; port 0 = any),
 * --nodes N (default 3), --seed S (default 1), --access-log, --log-level L, --run-pods (pods run as podman
 * containers: fakes/podman_kubelet.h) with --containers-conf FILE and --pods-dir DIR, --help. Prints one line
 * "the0-sim serve: listening on http://HOST:PORT ..." on stdout once the port accepts connections.
 * Exit codes: 0 after SIGTERM/SIGINT or --help, 1 when the server cannot start, 2 for a usage error. */
int serve_main(int argc, char **argv);

#endif
