/* runtime_controller.h: `the0-runtime controller`: flags and env (reference §4.1 plus ours), the startup
 * sequence and exit codes of §4.2, /livez /readyz /healthz /metrics, graceful shutdown on SIGTERM. */
#ifndef T0_CMD_RUNTIME_CONTROLLER_H
#define T0_CMD_RUNTIME_CONTROLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapters/kube_events.h"
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

/* What /metrics, /readyz and /livez show: copies taken on the loop thread (the HTTP thread never touches
 * the manager, except its atomics: live). */
typedef struct ctlcmd_snapshot {
    ctl_stats st;
    kuberest_stats ks; /* the controller's client plus the Event writer's */
    bool have_kube;
    kevents_stats es;
    bool have_events;
    natsbus_stats ns;
    bool have_nats, nats_connected;
    bool mongo_ok;
    char mongo_why[256];
    bool manager_up; /* the manager was created and started */
    bool healthy, ready, shutting_down;
    const char *lease_name;
    int64_t taken_ms;
    ctl_live live;  /* filled by the HTTP thread when it renders */
    int64_t now_ns; /* ... and when (the clock of ctl_live) */
} ctlcmd_snapshot;

/* ctlcmd_metrics_text: the Prometheus text exposition (format 0.0.4) of SNAP, malloc'ed (NULL when out
 * of memory): the manager's families (controller_runtime_*, workqueue_*, leader_election_master_status,
 * the0_controller_*), the REST clients' (rest_client_*, the0_kube_api_*), the Event writer's, NATS's,
 * the0_mongo_reachable, the0_build_info and process_*. */
char *ctlcmd_metrics_text(const ctlcmd_snapshot *snap);

/* ctlcmd_readiness: /readyz: ready to serve as leader (first full reconcile done) or as standby (informer
 * caches synced), MongoDB reachable (the manager's own calls answered: ctl_manager_store_ok; and the
 * probe's ping, which a standby, making no store calls, needs), NATS connected when configured, not
 * shutting down. When not, WHY says why. */
bool ctlcmd_readiness(const ctlcmd_snapshot *snap, char *why, size_t cap);
/* ctlcmd_liveness: /livez: the control loop made progress (a timer ran, a reconcile or an API request
 * finished) within TIMEOUT_NS of NOW_NS (LAST_PROGRESS_NS 0: starting, alive). When not, WHY says so. */
bool ctlcmd_liveness(int64_t now_ns, int64_t last_progress_ns, int64_t timeout_ns, char *why, size_t cap);

#endif
