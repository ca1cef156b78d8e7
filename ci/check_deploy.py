#!/usr/bin/python3
"""ci/check_deploy.py: checks of rendered manifests (stdin: a multi-document YAML stream) for ci/check-deploy.sh.

  check_deploy.py CASE HELP_FILE [BASE_ROLE_FILE]

CASE names what was rendered (base, kind, monitor, helm-default, helm-monitor, helm-nopdb, helm-plain, soak);
HELP_FILE is `the0-runtime controller --help`, so that every flag and environment variable the manifests
give the controller is one it documents. Prints one line per check (expected and observed) and exits 1 on
the first mismatch.
"""
import re
import sys

import yaml

case, help_file = sys.argv[1], sys.argv[2]
docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
help_text = open(help_file).read()
FLAGS = set(re.findall(r"--([a-z0-9][a-z0-9-]*)", help_text))
ENVS = set(re.findall(r"\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b", help_text))


def check(what, want, got):
    if want != got:
        print(f"  FAIL {case}: {what}: expected [{want}], got [{got}]")
        sys.exit(1)
    print(f"  ok   {case}: {what}: [{got}]")


def of_kind(kind):
    return [d for d in docs if d.get("kind") == kind]


def one(kind):
    objs = of_kind(kind)
    check(f"one {kind}", 1, len(objs))
    return objs[0]


def subset(small, big):
    return all(big.get(k) == v for k, v in (small or {}).items())


DNS = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
bad = []
for d in docs:
    name = (d.get("metadata") or {}).get("name", "")
    if not (d.get("apiVersion") and d.get("kind") and DNS.match(name) and len(name) <= 253):
        bad.append(f"{d.get('kind')}/{name}")
check(f"{len(docs)} objects, each with apiVersion, kind and a DNS-1123 name; without", [], bad)

kinds = sorted({d["kind"] for d in docs})
if case == "soak":
    job = one("Job")
    c = job["spec"]["template"]["spec"]["containers"][0]
    check("soak image is the one the image build makes", "the0-sim:latest", c["image"])
    check("soak runs the0-sim soak", True, "the0-sim soak" in " ".join(c.get("args", [])))
    sys.exit(0)

check("no Job, CronJob or Pod in the controller's packaging", [], [k for k in kinds if k in ("Job", "CronJob", "Pod")])
names = {(d["kind"], d["metadata"]["name"]) for d in docs}
dep = one("Deployment")
spec = dep["spec"]
pod = spec["template"]
podspec = pod["spec"]
plabels = pod["metadata"]["labels"]
check("Deployment selector matches its pod labels", True, subset(spec["selector"]["matchLabels"], plabels))
check("Deployment rollout strategy", "RollingUpdate", spec.get("strategy", {}).get("type"))
ru = spec["strategy"].get("rollingUpdate", {})
check("rolling update keeps every running pod until its successor is ready (maxUnavailable)", 0, ru.get("maxUnavailable"))
check("ServiceAccount of the pods is rendered", True, ("ServiceAccount", podspec.get("serviceAccountName")) in names)
for rb in of_kind("RoleBinding"):
    check(f"RoleBinding {rb['metadata']['name']} -> Role", True, ("Role", rb["roleRef"]["name"]) in names)
    for s in rb["subjects"]:
        check(f"RoleBinding subject {s['name']}", True, ("ServiceAccount", s["name"]) in names)
ctr = podspec["containers"][0]
ports = {p["name"]: p["containerPort"] for p in ctr.get("ports", [])}
for probe in ("livenessProbe", "readinessProbe"):
    port = ctr[probe]["httpGet"]["port"]
    check(f"{probe} port is a named container port", True, port in ports)
check("readiness on /readyz", "/readyz", ctr["readinessProbe"]["httpGet"]["path"])
sc = ctr.get("securityContext", {})
check("read-only root filesystem, no privilege escalation", (True, False),
      (sc.get("readOnlyRootFilesystem"), sc.get("allowPrivilegeEscalation")))
for ef in ctr.get("envFrom", []):
    for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
        if key in ef:
            check(f"envFrom {kind} {ef[key]['name']} is rendered", True, (kind, ef[key]["name"]) in names)
for e in ctr.get("env", []):
    ref = (e.get("valueFrom") or {}).get("secretKeyRef")
    if ref:
        check(f"env {e['name']} reads a rendered Secret", True, ("Secret", ref["name"]) in names)
# the controller's flags and environment: only what `the0-runtime controller --help` documents
args = ctr.get("args", [])
unknown = [a for a in args if a.startswith("--") and a[2:].split("=", 1)[0] not in FLAGS]
check("every controller flag is one `controller --help` lists", [], unknown)
envs = [e["name"] for e in ctr.get("env", []) if not e["name"].startswith("POD_")]
for cm in of_kind("ConfigMap"):
    envs += list(cm.get("data", {}))
check("every controller env variable is one `controller --help` lists", [], [e for e in envs if e not in ENVS])
svcs = of_kind("Service")
for svc in svcs:
    check(f"Service {svc['metadata']['name']} selects the controller pods", True, subset(svc["spec"]["selector"], plabels))
    for p in svc["spec"]["ports"]:
        check(f"Service port {p['name']} targets a named container port", True, p["targetPort"] in ports)
for pdb in of_kind("PodDisruptionBudget"):
    check("PodDisruptionBudget is policy/v1", "policy/v1", pdb["apiVersion"])
    check("PodDisruptionBudget selects the controller pods", True, subset(pdb["spec"]["selector"]["matchLabels"], plabels))
    check("PodDisruptionBudget allows one eviction at a time", 1, pdb["spec"].get("maxUnavailable"))
for sm in of_kind("ServiceMonitor"):
    target = [s for s in svcs if subset(sm["spec"]["selector"]["matchLabels"], s["metadata"].get("labels", {}))]
    check("ServiceMonitor selects exactly one Service", 1, len(target))
    sports = {p["name"] for p in target[0]["spec"]["ports"]}
    check("ServiceMonitor endpoint port is a Service port", True, all(e["port"] in sports for e in sm["spec"]["endpoints"]))

role = one("Role")
rules = sorted((tuple(r["apiGroups"]), tuple(r["resources"]), tuple(sorted(r["verbs"]))) for r in role["rules"])
if len(sys.argv) > 3:  # the chart's Role grants what the kustomize base grants
    base_rules = yaml.safe_load(open(sys.argv[3]))
    check("Role rules equal the base's", [list(map(list, r)) for r in base_rules], [list(map(list, r)) for r in rules])
else:
    yaml.safe_dump([list(map(list, r)) for r in rules], open(help_file + ".rules", "w"))

want_kinds = {
    "base": ["ConfigMap", "Deployment", "Namespace", "PodDisruptionBudget", "Role", "RoleBinding", "Secret", "Service", "ServiceAccount"],
    "kind": ["ConfigMap", "Deployment", "Namespace", "PodDisruptionBudget", "Role", "RoleBinding", "Secret", "Service", "ServiceAccount"],
    "monitor": ["ConfigMap", "Deployment", "Namespace", "PodDisruptionBudget", "Role", "RoleBinding", "Secret", "Service", "ServiceAccount", "ServiceMonitor"],
    "helm-default": ["Deployment", "PodDisruptionBudget", "Role", "RoleBinding", "Secret", "Service", "ServiceAccount"],
    "helm-monitor": ["Deployment", "PodDisruptionBudget", "Role", "RoleBinding", "Secret", "Service", "ServiceAccount", "ServiceMonitor"],
    "helm-nopdb": ["Deployment", "Role", "RoleBinding", "Secret", "Service", "ServiceAccount"],
    "helm-plain": ["Deployment", "PodDisruptionBudget", "Role", "RoleBinding", "Secret", "Service", "ServiceAccount"],
}[case]
check("kinds rendered", want_kinds, kinds)
cmdata = of_kind("ConfigMap")[0]["data"] if of_kind("ConfigMap") else {}
if case == "base":
    check("two replicas (leader and standby)", 2, spec["replicas"])
if case == "kind":
    check("kind: one replica", 1, spec["replicas"])
    check("kind: the controller image comes from the node", "Never", ctr["imagePullPolicy"])
    check("kind: bot pods' runtime image comes from the node", "Never", cmdata.get("RUNTIME_IMAGE_PULL_POLICY"))
if case == "helm-default":  # the reference chart's Deployment (reference section 4.5)
    check("replicas (reference values)", 1, spec["replicas"])
    check("image (reference values)", "runtime:latest", ctr["image"])
    check("imagePullPolicy (reference global.imagePullPolicy)", "Never", ctr["imagePullPolicy"])
    check("command (reference)", ["/app/runtime", "controller"], ctr["command"])
    ref_args = ["--namespace=the0", "--reconcile-interval=30s", "--minio-endpoint=the0-minio:9000",
                "--minio-bucket=custom-bots", "--runtime-image=runtime:latest", "--runtime-image-pull-policy=Never"]
    check("the reference chart's args are all given", [], [a for a in ref_args if a not in args])
    env = {e["name"]: e.get("value") for e in ctr["env"]}
    check("MONGO_URI (reference values)", "mongodb://root:the0_mongo_password@the0-mongo:27017", env.get("MONGO_URI"))
    check("NATS_URL (reference values)", "nats://the0-nats:4222", env.get("NATS_URL"))
    check("resources (reference values)", {"requests": {"memory": "256Mi", "cpu": "100m"}, "limits": {"memory": "512Mi", "cpu": "500m"}},
          ctr["resources"])
if case == "helm-plain":
    env = {e["name"]: e for e in ctr["env"]}
    check("plain credentials: the flag", True, "--plain-credentials=true" in args)
    check("plain credentials: MINIO_ACCESS_KEY from the Secret", "access-key",
          env.get("MINIO_ACCESS_KEY", {}).get("valueFrom", {}).get("secretKeyRef", {}).get("key"))
