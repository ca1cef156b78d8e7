# e2e/realpods/bot/main.py: the python bot of the real-pods stage (e2e/real-pods.sh), zipped into custom-bots.
# It runs under the0's python wrapper (daemon/entrypoint.c): main(bot_id, config) in /bot, STATE_DIR set.
# config: writes (state writes, default 0), every (seconds between them, 0.25), mode "once" (return after
# the writes: a scheduled bot), tag (echoed). State: STATE_DIR/counter.json {"count", "runs", "at"}, each
# write atomic (temporary file + rename). Log lines, each unique so that a lost or doubled line shows:
#   start bot=ID uid=U gid=G restored=N runs=R tag=T     (restored: the count init brought back)
#   wrote count=N at=EPOCH                                (after each state write)
#   heartbeat ID run=R n=N                                (every second while it runs)
#   scheduled run done runs=R                             (mode once)
import json
import os
import time


def _save(path, st):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(st, f)
    os.replace(tmp, path)


def main(bot_id, config):
    sd = os.environ.get("STATE_DIR", "/state/.the0-state")
    os.makedirs(sd, exist_ok=True)
    path = os.path.join(sd, "counter.json")
    try:
        with open(path) as f:
            st = json.load(f)
    except FileNotFoundError:
        st = {"count": 0, "runs": 0}
    restored = st["count"]
    st["runs"] += 1
    st["at"] = time.time()
    _save(path, st)
    print("start bot=%s uid=%d gid=%d restored=%d runs=%d tag=%s"
          % (bot_id, os.getuid(), os.getgid(), restored, st["runs"], config.get("tag", "")), flush=True)
    every = float(config.get("every", 0.25))
    for _ in range(int(config.get("writes", 0))):
        st["count"] += 1
        st["at"] = time.time()
        _save(path, st)
        print("wrote count=%d at=%.3f" % (st["count"], st["at"]), flush=True)
        time.sleep(every)
    if config.get("mode") == "once":
        print("scheduled run done runs=%d" % st["runs"], flush=True)
        return
    n = 0
    while True:
        n += 1
        print("heartbeat %s run=%d n=%d" % (bot_id, st["runs"], n), flush=True)
        time.sleep(1)
