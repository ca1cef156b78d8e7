/* testpods.h: pods for the kubelet's tests: the layout the controller generates (volumes, mounts, commands,
 * security contexts) and stand-ins for `/app/runtime daemon init|sync` (the real daemon runs in the scenario
 * tier; fakes/ cannot link it). */
#ifndef T0_FAKES_TEST_TESTPODS_H
#define T0_FAKES_TEST_TESTPODS_H

#include <cJSON.h>

#include "fakes/kubelet.h"

/* tp_pod_spec: a pod spec (restartPolicy POLICY) as podgen makes it, for bot ID. Owned. BOT_RO: the bot
 * container's readOnlyRootFilesystem. */
cJSON *tp_pod_spec(const char *id, const char *policy, bool bot_ro);
/* tp_pod: the whole Pod "bot-ID" labelled the0.dev/bot-id=ID. Owned. */
cJSON *tp_pod(const char *id, const char *policy, bool bot_ro);

/* tp_register: "/app/runtime" on K: `daemon init` writes /bot/entrypoint.sh (the generated script's layout)
 * and /bot/main.py and exits 0, or exits 1 with "code object missing" in its termination file while the
 * bot's program.init_failures says so (init_runs <= init_failures; -1 always); `daemon sync` exits 0 on
 * SIGTERM, and on the done file when given --watch-done, writing "stand-in sync done" to its termination
 * file. */
void tp_register(kubelet *k);

#endif
