/* cmd_controller.h: `the0-runtime controller`: flags and env (reference §4.1 plus ours), the startup
 * sequence and exit codes of §4.2, /healthz /readyz /metrics, graceful shutdown on SIGTERM. */
#ifndef T0_CMD_CONTROLLER_H
#define T0_CMD_CONTROLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapters/kube_rest.h"
#include "adapters/nats_bus.h"
#include "controllers/manager.h"

/* controller_main: ARGV[0] is "controller". Exit codes: 0 after a graceful shutdown (SIGTERM/SIGINT)
 * or --help; 1 when a dependency fails at start-up (MinIO settings, health port, Kubernetes config,
 * MongoDB, NATS, manager); 2 for a usage error (unknown flag, bad value). */
int controller_main(int argc, char **argv);

/* ctlcmd_parse_addr: ":8080", "127.0.0.1:0", "[::1]:9090" into HOST (may become "" = all interfaces)
 * and PORT. False when malformed. */
bool ctlcmd_parse_addr(const char *s, char *host, size_t cap, int *port);

/* What /metrics shows: copies taken on the loop thread (the HTTP thread never touches the manager). */
typedef struct ctlcmd_snapshot {
    ctl_stats st;
    kuberest_stats ks;
    bool have_kube;
    natsbus_stats ns;
    bool have_nats, nats_connected;
    bool healthy, ready, shutting_down;
    int64_t taken_ms;
} ctlcmd_snapshot;

/* ctlcmd_metrics_text: the Prometheus text exposition (format 0.0.4) of SNAP, malloc'ed (NULL when out
 * of memory). Counters end in _total; bots/schedules per FSM state carry state="<name>" labels; the
 * Kubernetes API latency is a histogram per verb. */
char *ctlcmd_metrics_text(const ctlcmd_snapshot *snap);

#endif
