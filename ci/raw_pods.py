#!/usr/bin/env python3
"""ci/raw_pods.py: the raw pod traffic the live benchmarks compare the controller with (ci/bench-live.sh,
ci/bench-serve.sh, ci/bench_common.sh). Pods are named bot-PREFIX1 .. bot-PREFIXN, each a copy of POD (the
pod the controller makes for a bot, `the0-runtime render`) with its name and bot-id label changed.

  raw_pods.py curl-config POD PORT PREFIX N
      a curl config (-K) POSTing the N pods one after another, as the controller does: one keep-alive
      connection, Content-Type JSON, no 100-continue; each writes its HTTP code on a line
  raw_pods.py delete PORT PREFIX N WHO
      DELETE the N pods with grace 0 on one connection; 404 is fine, any other failure exits naming WHO
"""
import http.client
import json
import sys


def curl_config(pod_file, port, prefix, n):
    pod = json.load(open(pod_file))
    out = []
    for i in range(1, n + 1):
        pod["metadata"]["name"] = "bot-%s%d" % (prefix, i)
        pod["metadata"]["labels"]["the0.dev/bot-id"] = "%s%d" % (prefix, i)
        out.append('%surl = "http://127.0.0.1:%s/api/v1/namespaces/the0/pods"\n'
                   'header = "Content-Type: application/json"\nheader = "Expect:"\n'
                   'data = %s\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"'
                   % ("next\n" if i > 1 else "", port, json.dumps(json.dumps(pod, separators=(",", ":")))))
    print("\n".join(out))


def delete(port, prefix, n, who):
    c = http.client.HTTPConnection("127.0.0.1", port)
    for i in range(1, n + 1):
        c.request("DELETE", "/api/v1/namespaces/the0/pods/bot-%s%d?gracePeriodSeconds=0" % (prefix, i))
        r = c.getresponse()
        r.read()
        if r.status >= 300 and r.status != 404:
            raise SystemExit("%s: DELETE bot-%s%d -> %d" % (who, prefix, i, r.status))


def main(argv):
    if len(argv) == 5 and argv[0] == "curl-config":
        curl_config(argv[1], argv[2], argv[3], int(argv[4]))
    elif len(argv) == 5 and argv[0] == "delete":
        delete(int(argv[1]), argv[2], int(argv[3]), argv[4])
    else:
        raise SystemExit(__doc__.strip())


if __name__ == "__main__":
    main(sys.argv[1:])
