# e2e/realpods/s3.py: the real-pods stage's S3 side (boto3 against moto with SigV4 auth): upload bot code,
# read the state and log objects the sidecar wrote, and time how long a state write takes to reach S3.
#   s3.py ENDPOINT AK SK put-code KEY DIR        zip DIR into custom-bots/KEY (bucket created when absent)
#   s3.py ENDPOINT AK SK state BOT               counter.json inside bot-state/BOT/state.tar.gz, or {}
#   s3.py ENDPOINT AK SK logs BOT                today's (and yesterday's) bot-logs/logs/BOT/YYYYMMDD.log
#   s3.py ENDPOINT AK SK watch-state BOT SECONDS  print "EPOCH COUNT" each time the state object's count changes
import datetime
import io
import json
import os
import sys
import tarfile
import time
import zipfile

import boto3
import botocore

ep, ak, sk, cmd = sys.argv[1:5]
args = sys.argv[5:]
s3 = boto3.client("s3", endpoint_url="http://" + ep, region_name="us-east-1", aws_access_key_id=ak,
                  aws_secret_access_key=sk, config=botocore.config.Config(retries={"max_attempts": 1}))


def state(bot):
    try:
        body = s3.get_object(Bucket="bot-state", Key=bot + "/state.tar.gz")["Body"].read()
    except botocore.exceptions.ClientError:
        return {}
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as t:
        for m in t.getmembers():
            if m.name.endswith(".the0-state/counter.json"):
                return json.load(t.extractfile(m))
    return {}


if cmd == "put-code":
    key, src = args
    try:
        s3.create_bucket(Bucket="custom-bots")
    except botocore.exceptions.ClientError as e:
        if e.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name in sorted(os.listdir(src)):
            z.write(os.path.join(src, name), name)
    s3.put_object(Bucket="custom-bots", Key=key, Body=buf.getvalue())
    print("custom-bots/%s: %d bytes" % (key, len(buf.getvalue())))
elif cmd == "state":
    print(json.dumps(state(args[0])))
elif cmd == "logs":
    now = datetime.datetime.now(datetime.timezone.utc)
    for day in (now - datetime.timedelta(days=1), now):
        try:
            key = "logs/%s/%s.log" % (args[0], day.strftime("%Y%m%d"))
            sys.stdout.write(s3.get_object(Bucket="bot-logs", Key=key)["Body"].read().decode())
        except botocore.exceptions.ClientError:
            pass
elif cmd == "watch-state":
    bot, secs = args[0], float(args[1])
    end, last = time.time() + secs, None
    while time.time() < end:
        c = state(bot).get("count")
        if c != last:
            print("%.3f %s" % (time.time(), c), flush=True)
            last = c
        time.sleep(0.05)
else:
    sys.exit("s3.py: unknown command " + cmd)
