/* testpods.c: generated-layout pods and stand-in daemon processes for the kubelet's tests (see testpods.h). */
#include "testpods.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SPEC[] =
    "{\"restartPolicy\":\"%s\",\"terminationGracePeriodSeconds\":30,"
    "\"securityContext\":{\"runAsNonRoot\":true,\"runAsUser\":1000,\"runAsGroup\":1000,\"fsGroup\":1000},"
    "\"volumes\":[{\"name\":\"bot-code\",\"emptyDir\":{}},{\"name\":\"bot-state\",\"emptyDir\":{}},{\"name\":\"the0\","
    "\"emptyDir\":{}}],"
    "\"initContainers\":[{\"name\":\"init\",\"image\":\"runtime:latest\",\"command\":[\"/app/runtime\",\"daemon\",\"init\"],"
    "\"args\":[\"--bot-id\",\"%s\"],\"volumeMounts\":[{\"name\":\"bot-code\",\"mountPath\":\"/bot\"},{\"name\":\"bot-state\","
    "\"mountPath\":\"/state\"}],\"securityContext\":{\"readOnlyRootFilesystem\":true,\"capabilities\":{\"drop\":[\"ALL\"]}}}],"
    "\"containers\":[{\"name\":\"bot\",\"image\":\"the0/python311:latest\",\"command\":[\"/bin/bash\",\"/bot/entrypoint.sh\"],"
    "\"workingDir\":\"/bot\",\"env\":[{\"name\":\"BOT_ID\",\"value\":\"%s\"},{\"name\":\"STATE_DIR\",\"value\":"
    "\"/state/.the0-state\"}],\"volumeMounts\":[{\"name\":\"bot-code\",\"mountPath\":\"/bot\"},{\"name\":\"bot-state\","
    "\"mountPath\":\"/state\"},{\"name\":\"the0\",\"mountPath\":\"/var/the0\"}],\"securityContext\":"
    "{\"readOnlyRootFilesystem\":%s,\"capabilities\":{\"drop\":[\"ALL\"]}}},"
    "{\"name\":\"sync\",\"image\":\"runtime:latest\",\"command\":[\"/app/runtime\",\"daemon\",\"sync\"],\"args\":[\"--bot-id\","
    "\"%s\"%s],\"volumeMounts\":[{\"name\":\"bot-state\",\"mountPath\":\"/state\"},{\"name\":\"the0\",\"mountPath\":"
    "\"/var/the0\"}],\"securityContext\":{\"readOnlyRootFilesystem\":true,\"capabilities\":{\"drop\":[\"ALL\"]}}}]}";

cJSON *tp_pod_spec(const char *id, const char *policy, bool bot_ro)
{
    char buf[4096];
    bool never = !strcmp(policy, "Never");
    snprintf(buf, sizeof buf, SPEC, policy, id, id, bot_ro ? "true" : "false", id,
             never ? ",\"--watch-done\",\"/var/the0/done\"" : "");
    return cJSON_Parse(buf);
}

cJSON *tp_pod(const char *id, const char *policy, bool bot_ro)
{
    cJSON *pod = cJSON_CreateObject(), *md = cJSON_AddObjectToObject(pod, "metadata");
    char name[128];
    snprintf(name, sizeof name, "bot-%s", id);
    cJSON_AddStringToObject(md, "name", name);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(md, "labels"), "the0.dev/bot-id", id);
    cJSON_AddItemToObject(pod, "spec", tp_pod_spec(id, policy, bot_ro));
    return pod;
}

/* ---- the stand-in processes ------------------------------------------------------------------------- */
typedef struct tproc {
    kubelet_proc base;
    const kubelet_exec *x;
    uint64_t t;
    int code;
    fs_watch *w;
} tproc;

static void tp_end(void *ud)
{
    tproc *p = ud;
    p->t = 0;
    p->x->exit(p->x, p->code);
}

static void tp_exit_soon(tproc *p, int code)
{
    if (p->t) return;
    p->code = code;
    p->t = p->x->loop->timer(p->x->loop->ctx, 0, tp_end, p);
}

static void tp_term(kubelet_proc *pr) { tp_exit_soon((tproc *)pr, 0); }

static void tp_kill(kubelet_proc *pr)
{
    tproc *p = (tproc *)pr;
    if (p->t) p->x->loop->cancel(p->x->loop->ctx, p->t);
    if (p->w) p->x->fs->unwatch(p->x->fs->ctx, p->w);
    free(p);
}

static void on_var(void *ud, const char *name)
{
    tproc *p = ud;
    if (name && strcmp(name, "done")) return;
    fs_write_all(p->x->fs, "/dev/termination-log", "stand-in sync done", strlen("stand-in sync done"), 0644, NULL);
    tp_exit_soon(p, 0);
}

static const char SCRIPT[] = "#!/bin/bash\n"
                             "mkdir -p /var/the0/logs\n"
                             "rm -f /var/the0/done\n"
                             "trap 'rc=$?; echo \"$rc\" > /var/the0/done; exit $rc' EXIT\n"
                             "set -e\n"
                             "cd /bot\n"
                             "cat > /tmp/python_entrypoint.py << 'PYTHON_SCRIPT'\nPYTHON_SCRIPT\n"
                             "export SCRIPT_PATH=\"main.py\"\n";

static t0_status runtime(void *ud, const kubelet_exec *x, kubelet_proc **out, t0_err *err)
{
    (void)ud;
    tproc *p = calloc(1, sizeof *p);
    if (!p) return t0_fail(err, T0_ENOMEM, "out of memory");
    p->base = (kubelet_proc){tp_term, tp_kill};
    p->x = x;
    if (x->argc > 2 && !strcmp(x->argv[2], "init")) {
        int fails = x->prog->init_failures;
        if (fails < 0 || (int)x->init_runs <= fails) {
            fs_write_all(x->fs, "/dev/termination-log", "code object missing", 19, 0644, NULL);
            tp_exit_soon(p, 1);
        } else {
            bool ok = fs_write_all(x->fs, "/bot/entrypoint.sh", SCRIPT, sizeof SCRIPT - 1, 0755, NULL) == T0_OK &&
                      fs_write_all(x->fs, "/bot/main.py", "pass\n", 5, 0644, NULL) == T0_OK;
            tp_exit_soon(p, ok ? 0 : 1);
        }
    } else {
        for (int i = 3; i + 1 < x->argc; i++)
            if (!strcmp(x->argv[i], "--watch-done")) x->fs->watch(x->fs->ctx, "/var/the0", 0, on_var, p, &p->w, NULL);
    }
    *out = &p->base;
    return T0_OK;
}

void tp_register(kubelet *k) { kubelet_register_exec(k, "/app/runtime", runtime, NULL, NULL); }
