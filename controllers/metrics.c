/* metrics.c: the manager's metric families in the Prometheus text format: controller-runtime's
 * (controller_runtime_*), client-go's workqueue (workqueue_*) and leader election
 * (leader_election_master_status) families with their names, labels and buckets, next to the domain
 * families (the0_controller_*). See manager.h (ctl_metrics_write). */
#include <stdio.h>

#include "controllers/manager.h"
#include "fsm/tables.h"

static void counter(prom *b, const char *name, const char *help, uint64_t v)
{
    prom_family(b, name, "counter", help);
    prom_sample(b, name, NULL, (double)v);
}

static void gauge(prom *b, const char *name, const char *help, double v)
{
    prom_family(b, name, "gauge", help);
    prom_sample(b, name, NULL, v);
}

/* domain: the0_controller_* */
static void domain(prom *b, const ctl_stats *st)
{
    counter(b, "the0_controller_reconciles_total", "Reconciles run by both controllers.", st->reconciles);
    counter(b, "the0_controller_reconcile_errors_total", "Reconciles that ended in an error.", st->reconcile_errors);
    counter(b, "the0_controller_api_calls_total", "Calls the manager made through its ports.", st->api_calls);
    counter(b, "the0_controller_api_errors_total", "Port calls that failed.", st->api_errors);
    counter(b, "the0_controller_creates_total", "Pods and CronJobs created.", st->creates);
    counter(b, "the0_controller_deletes_total", "Pods and CronJobs deleted.", st->deletes);
    counter(b, "the0_controller_updates_total", "CronJobs updated.", st->updates);
    counter(b, "the0_controller_final_sync_failures_total",
            "Scheduled runs whose sync sidecar could not ship the run's last state or logs (Event FinalSyncFailed).",
            st->final_sync_failures);
    counter(b, "the0_controller_events_emitted_total",
            "Kubernetes Events recorded (written, or counted on the Event a repeat updates).", st->events_emitted);
    counter(b, "the0_controller_events_aggregated_total",
            "Repeated Events counted on the Event already written (count and lastTimestamp updated).",
            st->events_aggregated);
    counter(b, "the0_controller_events_spam_dropped_total",
            "Events dropped by the per-object spam filter (burst 25, then one per 5 minutes).", st->events_spam_dropped);
    counter(b, "the0_controller_events_failed_total", "Event writes the API server or the Event queue refused.",
            st->events_failed);
    counter(b, "the0_controller_nats_messages_total", "NATS messages handled.", st->nats_messages);
    counter(b, "the0_controller_nats_bad_messages_total",
            "NATS messages terminated as bad input (invalid UTF-8 or id, bad cron, malformed), never redelivered.",
            st->nats_bad_messages);
    counter(b, "the0_controller_nats_stale_total", "NATS messages older than the desired state in effect: ignored.",
            st->nats_stale);
    counter(b, "the0_controller_nats_dead_lettered_total",
            "NATS messages that failed on their last allowed delivery: moved to the dead-letter stream.",
            st->nats_dead_lettered);
    counter(b, "the0_controller_store_failures_total", "MongoDB calls that got no answer.", st->store_failures);
    gauge(b, "the0_controller_store_ok", "0 once MongoDB has not answered for longer than the readiness bound.",
          st->store_ok);
    counter(b, "the0_controller_resyncs_total", "Full resyncs.", st->resyncs);
    counter(b, "the0_controller_deletes_deferred_total", "Deletions deferred by the per-cycle cap.", st->deletes_deferred);
    counter(b, "the0_controller_deletion_guard_trips_total",
            "Times a deletion guard refused to delete (failed or suspicious desired-state read).",
            st->deletion_guard_trips);
    counter(b, "the0_controller_name_conflicts_total",
            "Objects with a bot's or schedule's name that are not its own (never touched; reported once).",
            st->name_conflicts);
    gauge(b, "the0_controller_queue_depth", "Keys waiting in the work queues.", st->queue_depth);
    gauge(b, "the0_controller_leader", "1 while this instance holds the lease.", st->leader);
    gauge(b, "the0_controller_synced", "1 while both informer caches are listed and watching.", st->synced);
    char lb[96];
    prom_family(b, "the0_controller_bots", "gauge", "Realtime bots per bot-FSM state.");
    for (int i = 0; i < fsm_bot_table.nstates && i < 16; i++)
        prom_sample(b, "the0_controller_bots", prom_labels(lb, sizeof lb, "state", fsm_bot_table.state_names[i]),
                    st->bot_states[i]);
    prom_family(b, "the0_controller_schedules", "gauge", "Scheduled bots per schedule-FSM state.");
    for (int i = 0; i < fsm_schedule_table.nstates && i < 16; i++)
        prom_sample(b, "the0_controller_schedules",
                    prom_labels(lb, sizeof lb, "state", fsm_schedule_table.state_names[i]), st->sched_states[i]);
}

void ctl_metrics_write(prom *b, const ctl_stats *st, const ctl_live *live, int64_t now_ns, const char *lease_name)
{
    char lb[160];
    domain(b, st);
    /* controller-runtime */
    prom_family(b, "controller_runtime_reconcile_total", "counter", "Total number of reconciliations per controller");
    for (int k = 0; k < 2; k++)
        for (int r = 0; r < CTL__RESULTS; r++)
            prom_sample(b, "controller_runtime_reconcile_total",
                        prom_labels(lb, sizeof lb, "controller", st->kinds[k].name, "result", ctl_result_name(r)),
                        (double)st->kinds[k].results[r]);
    prom_family(b, "controller_runtime_reconcile_errors_total", "counter",
                "Total number of reconciliation errors per controller");
    for (int k = 0; k < 2; k++)
        prom_sample(b, "controller_runtime_reconcile_errors_total",
                    prom_labels(lb, sizeof lb, "controller", st->kinds[k].name),
                    (double)st->kinds[k].results[CTL_RESULT_ERROR]);
    prom_family(b, "controller_runtime_reconcile_time_seconds", "histogram",
                "Length of time per reconciliation per controller");
    for (int k = 0; k < 2; k++)
        prom_histogram(b, "controller_runtime_reconcile_time_seconds",
                       prom_labels(lb, sizeof lb, "controller", st->kinds[k].name), PROM_RECONCILE_BUCKETS, 40,
                       &st->kinds[k].reconcile_time);
    prom_family(b, "controller_runtime_max_concurrent_reconciles", "gauge",
                "Maximum number of concurrent reconciles per controller");
    for (int k = 0; k < 2; k++) /* one loop thread: one reconcile at a time */
        prom_sample(b, "controller_runtime_max_concurrent_reconciles",
                    prom_labels(lb, sizeof lb, "controller", st->kinds[k].name), 1);
    prom_family(b, "controller_runtime_active_workers", "gauge", "Number of currently used workers per controller");
    for (int k = 0; k < 2; k++)
        prom_sample(b, "controller_runtime_active_workers", prom_labels(lb, sizeof lb, "controller", st->kinds[k].name),
                    live && live->processing_since_ns[k] ? 1 : 0);
    /* workqueue */
    prom_family(b, "workqueue_depth", "gauge", "Current depth of workqueue");
    for (int k = 0; k < 2; k++)
        prom_sample(b, "workqueue_depth", prom_labels(lb, sizeof lb, "name", st->kinds[k].name), st->kinds[k].queue.depth);
    prom_family(b, "workqueue_adds_total", "counter", "Total number of adds handled by workqueue");
    for (int k = 0; k < 2; k++)
        prom_sample(b, "workqueue_adds_total", prom_labels(lb, sizeof lb, "name", st->kinds[k].name),
                    (double)st->kinds[k].queue.adds);
    prom_family(b, "workqueue_queue_duration_seconds", "histogram",
                "How long in seconds an item stays in workqueue before being requested");
    for (int k = 0; k < 2; k++)
        prom_histogram(b, "workqueue_queue_duration_seconds", prom_labels(lb, sizeof lb, "name", st->kinds[k].name),
                       PROM_WORKQUEUE_BUCKETS, 12, &st->kinds[k].queue.queue_duration);
    prom_family(b, "workqueue_work_duration_seconds", "histogram",
                "How long in seconds processing an item from workqueue takes.");
    for (int k = 0; k < 2; k++)
        prom_histogram(b, "workqueue_work_duration_seconds", prom_labels(lb, sizeof lb, "name", st->kinds[k].name),
                       PROM_WORKQUEUE_BUCKETS, 12, &st->kinds[k].queue.work_duration);
    prom_family(b, "workqueue_retries_total", "counter", "Total number of retries handled by workqueue");
    for (int k = 0; k < 2; k++)
        prom_sample(b, "workqueue_retries_total", prom_labels(lb, sizeof lb, "name", st->kinds[k].name),
                    (double)st->kinds[k].queue.retries);
    prom_family(b, "workqueue_unfinished_work_seconds", "gauge",
                "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. "
                "Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate "
                "at which this increases.");
    for (int k = 0; k < 2; k++) {
        int64_t since = live ? live->processing_since_ns[k] : 0;
        prom_sample(b, "workqueue_unfinished_work_seconds", prom_labels(lb, sizeof lb, "name", st->kinds[k].name),
                    since && now_ns > since ? (double)(now_ns - since) / 1e9 : 0);
    }
    prom_family(b, "workqueue_longest_running_processor_seconds", "gauge",
                "How many seconds has the longest running processor for workqueue been running.");
    for (int k = 0; k < 2; k++) { /* one worker: the longest is the one in flight */
        int64_t since = live ? live->processing_since_ns[k] : 0;
        prom_sample(b, "workqueue_longest_running_processor_seconds",
                    prom_labels(lb, sizeof lb, "name", st->kinds[k].name),
                    since && now_ns > since ? (double)(now_ns - since) / 1e9 : 0);
    }
    /* leader election */
    prom_family(b, "leader_election_master_status", "gauge",
                "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates "
                "master. 'name' is the string used to identify the lease. Please make sure to group by name.");
    prom_sample(b, "leader_election_master_status", prom_labels(lb, sizeof lb, "name", lease_name ? lease_name : ""),
                st->leader);
}
