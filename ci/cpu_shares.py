#!/usr/bin/python3
"""ci/cpu_shares.py: who spent a simulator process's CPU, from `perf script -F ip,sym,srcline --full-source-path`
output (call chains recorded with --call-graph dwarf). For ci/bench-shares.sh.

  cpu_shares.py ROOT SCRIPT [--minus SCRIPT2] [--per-bot-hour US --budget US]

With --minus, the shares are those of SCRIPT's samples less SCRIPT2's, category by category (both recorded at one
frequency): a run of the fleet for more hours less a run of its first hour is what the further hours cost.

Each sample goes to the module of the frame of ours (a source file under ROOT) nearest its leaf, skipping core/
and fsm/ (infrastructure both sides call: the caller is who spent it), so a libc or cJSON call counts for the
code that made it:

  shipped: controllers   controllers/, domain/, adapters/ (what the0-runtime controller runs)
  shipped: daemon        daemon/ (what the pods' init container and sidecar run)
  sim: node              the simulated kubelet, pod filesystems, bot programs (fakes/kubelet*, podfs*, botprog,
                         scenarios/pods.c): what it takes to run the shipped daemon in a simulated pod
  sim: API server fake   fakes/kube_*
  sim: other fakes       the fake MongoDB, NATS, S3 and CronJob controller
  sim: oracle and checks scenarios/check.c, oracle.c
  sim: observers, trace  scenarios/trace.c (the hooks that feed the checks; a replay's trace)
  sim: loop, scenario    sim/, scenarios/ (the rest), cmd/
  teardown               anything below world_free (freeing the world at the end of a run)

With --per-bot-hour (what the run measured cost per bot-hour, without the profiler) and --budget (a target's),
prints what the shipped code alone costs per bot-hour and its ratio to that budget.
"""
import argparse
import collections
import re
import sys

ap = argparse.ArgumentParser()
ap.add_argument("root")
ap.add_argument("script")
ap.add_argument("--minus")
ap.add_argument("--per-bot-hour", type=float)
ap.add_argument("--budget", type=float)
args = ap.parse_args()
root = args.root.rstrip("/") + "/"
FRAME = re.compile(r"^\s+[0-9a-f]+ (\S.*)$")


def category(rel, chain_syms):
    if "world_free" in chain_syms:
        return "teardown (world_free)"
    top = rel.split("/")[0]
    base = rel.split("/")[1] if "/" in rel else rel
    if top == "daemon":
        return "shipped: daemon (init container, sidecar)"
    if top in ("controllers", "domain", "adapters"):
        return "shipped: controllers"
    if top == "fakes":
        if base.startswith(("kubelet", "podfs", "botprog", "podman")):
            return "sim: node (kubelet, pod filesystems, bot programs)"
        if base.startswith("kube_"):
            return "sim: API server fake"
        return "sim: other fakes (MongoDB, NATS, S3, CronJobs)"
    if rel.startswith("scenarios/pods.c"):
        return "sim: node (kubelet, pod filesystems, bot programs)"
    if rel.startswith("scenarios/trace.c"):
        return "sim: observers, trace"
    if rel.startswith(("scenarios/check.c", "scenarios/oracle.c")):
        return "sim: oracle and checks"
    return "sim: loop, scenario, soak"


def samples(text):
    for block in text.split("\n\n"):
        frames, lines = [], block.split("\n")
        for i, line in enumerate(lines):
            m = FRAME.match(line)
            if not m:
                continue
            src = lines[i + 1].strip() if i + 1 < len(lines) and not FRAME.match(lines[i + 1]) else ""
            frames.append((m.group(1).split("+")[0], src))
        if frames:
            yield frames


def count(path):
    counts = collections.Counter()
    with open(path) as f:
        text = f.read()
    for frames in samples(text):
        syms = {s for s, _ in frames}
        cat = None
        for _, src in frames:
            if root not in src:
                continue
            rel = src.split(root, 1)[1].lstrip("./")
            if rel.startswith(("core/", "fsm/")):
                continue
            cat = category(rel, syms)
            break
        counts[cat or ("teardown (world_free)" if "world_free" in syms else "unattributed (libraries, kernel)")] += 1
    return counts


counts = count(args.script)
if args.minus:
    counts.subtract(count(args.minus))
total = sum(max(n, 0) for n in counts.values())
if total <= 0:
    sys.exit("cpu_shares: no samples")
for cat, n in sorted(counts.items(), key=lambda kv: -kv[1]):
    print("  %5.1f %%  %s" % (100.0 * max(n, 0) / total, cat))
shipped = sum(max(n, 0) for c, n in counts.items() if c.startswith("shipped")) / total
print("  the shipped code: %.1f %% of %d samples%s" % (100 * shipped, total, " (the difference)" if args.minus else ""))
if args.per_bot_hour and args.budget:
    alone = args.per_bot_hour * shipped
    print("  the shipped code alone: %.1f us CPU per bot-hour = %.2fx the whole budget of %.0f us per bot-hour"
          % (alone, alone / args.budget, args.budget))
