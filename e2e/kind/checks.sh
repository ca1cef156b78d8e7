#!/usr/bin/env bash
# e2e/kind/checks.sh: publish API-shaped NATS events into the cluster and watch Pods and CronJobs appear,
# change and disappear through kubectl. Uses a throwaway pod with the nats CLI image of the cluster's
# registry mirror (set NATS_BOX_IMAGE) because the NATS service is only reachable inside the cluster.
set -euo pipefail
ns=the0
box=${NATS_BOX_IMAGE:-natsio/nats-box:latest}
pub() { kubectl -n $ns run "pub-$RANDOM" --rm -i --restart=Never --image="$box" -- nats --server nats://the0-nats:4222 pub "$1" "$2" >/dev/null; }
wait_for() { # wait_for DESCRIPTION CMD...
    local what=$1; shift
    for _ in $(seq 1 90); do if "$@" >/dev/null 2>&1; then echo "ok: $what"; return 0; fi; sleep 2; done
    echo "FAILED: $what" >&2; return 1
}
bot='{"id":"e2ebot1","config":{"symbol":"BTC/USD","type":"realtime/price-alerts","version":"1.0.0"},"custom":{"version":"1.0.0","filePath":"u1/price-alerts/1.0.0","config":{"name":"price-alerts","runtime":"python3.11","entrypoints":{"bot":"main.py"}}}}'
pub the0.bot.created "$bot"
wait_for "pod bot-e2ebot1 exists" kubectl -n $ns get pod bot-e2ebot1
pub the0.bot.deleted '{"id":"e2ebot1","config":{}}'
wait_for "pod bot-e2ebot1 is gone" bash -c "! kubectl -n $ns get pod bot-e2ebot1"
sched='{"id":"e2esched1","config":{"schedule":"*/5 * * * *","type":"scheduled/daily-report","version":"1.0.0"},"custom":{"version":"1.0.0","filePath":"u1/daily-report/1.0.0","config":{"name":"daily-report","runtime":"python3.11","entrypoints":{"bot":"main.py"}}}}'
pub the0.bot-schedule.created "$sched"
wait_for "cronjob schedule-e2esched1 exists" kubectl -n $ns get cronjob schedule-e2esched1
echo "e2e/kind: all checks passed"
