"""e2e/pyclient.py: python3-kubernetes (Debian's, run with /usr/bin/python3) against `the0-sim serve`:
list, create, watch and delete; each check prints what it expected and what it got; exit 1 on the
first mismatch.   usage: /usr/bin/python3 e2e/pyclient.py http://127.0.0.1:PORT"""
import sys
import threading
import time

from kubernetes import client, watch
from kubernetes.client.rest import ApiException


def check(what, want, got):
    ok = want == got
    print(f"  {'ok ' if ok else 'FAIL'} python3-kubernetes: {what}: expected {want!r}, got {got!r}")
    if not ok:
        sys.exit(1)


def main():
    cfg = client.Configuration()
    cfg.host = sys.argv[1]
    api = client.ApiClient(cfg)
    v1 = client.CoreV1Api(api)
    batch = client.BatchV1Api(api)
    ns = "pyns"
    v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    check("the namespace created is Active", "Active", v1.read_namespace(ns).status.phase)
    check("list pods in an empty namespace", [], [p.metadata.name for p in v1.list_namespaced_pod(ns).items])
    pod = client.V1Pod(metadata=client.V1ObjectMeta(name="py-1", labels={"app": "py"}),
                       spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox")]))
    created = v1.create_namespaced_pod(ns, pod)
    check("create returns the object with a uid", True, bool(created.metadata.uid))
    try:
        v1.create_namespaced_pod(ns, pod)
        check("second create fails", 409, 200)
    except ApiException as e:
        check("second create fails with AlreadyExists", (409, "AlreadyExists"),
              (e.status, __import__("json").loads(e.body)["reason"]))
    check("list by label", ["py-1"], [p.metadata.name for p in v1.list_namespaced_pod(ns, label_selector="app=py").items])
    check("list by another label", [], [p.metadata.name for p in v1.list_namespaced_pod(ns, label_selector="app=other").items])
    cj = client.V1CronJob(metadata=client.V1ObjectMeta(name="py-cj"), spec=client.V1CronJobSpec(
        schedule="*/5 * * * *", job_template=client.V1JobTemplateSpec(spec=client.V1JobSpec(
            template=client.V1PodTemplateSpec(spec=client.V1PodSpec(
                restart_policy="Never", containers=[client.V1Container(name="c", image="busybox")]))))))
    batch.create_namespaced_cron_job(ns, cj)
    check("cronjob listed", ["py-cj"], [c.metadata.name for c in batch.list_namespaced_cron_job(ns).items])

    # watch: the stream starts with ADDED for what exists (watch=True, no resourceVersion), then sees
    # a pod created and one deleted while it runs
    seen = []
    def watcher():
        w = watch.Watch()
        for ev in w.stream(v1.list_namespaced_pod, namespace=ns, timeout_seconds=4):
            seen.append((ev["type"], ev["object"].metadata.name))
    t = threading.Thread(target=watcher)
    t.start()
    time.sleep(0.7)
    pod.metadata.name = "py-2"
    v1.create_namespaced_pod(ns, pod)
    v1.delete_namespaced_pod("py-2", ns, grace_period_seconds=0)
    t.join(10)
    check("watch saw ADDED py-1, ADDED py-2, DELETED py-2 (in that order)",
          [("ADDED", "py-1"), ("ADDED", "py-2"), ("DELETED", "py-2")],
          [e for e in seen if e in {("ADDED", "py-1"), ("ADDED", "py-2"), ("DELETED", "py-2")}][:3])

    v1.delete_namespaced_pod("py-1", ns, body=client.V1DeleteOptions(propagation_policy="Background", grace_period_seconds=0))
    try:
        v1.read_namespaced_pod("py-1", ns)
        check("read after delete", 404, 200)
    except ApiException as e:
        check("read after delete is NotFound", 404, e.status)
    batch.delete_namespaced_cron_job("py-cj", ns)
    check("cronjob gone", [], [c.metadata.name for c in batch.list_namespaced_cron_job(ns).items])
    print("python3-kubernetes: all checks passed")


if __name__ == "__main__":
    main()
