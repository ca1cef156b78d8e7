/* entrypoint.c: the bot container's entrypoint.sh for every runtime (reference §8.4), with the embedded
 * Python and Node wrappers, and the EXIT trap that writes the exit status to the done file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"

#define SUPPORTED "python3.11, nodejs20, rust-stable, gcc13, cpp-gcc13, dotnet8, scala3, ghc96"

/* The Python wrapper (reference §8.4): SIGTERM/SIGINT set a shutdown flag; main(bot_id, config) runs in
 * a daemon thread polled every second; result.json records success or termination. */
static const char python_wrapper[] =
    "import importlib.util\n"
    "import json\n"
    "import logging\n"
    "import os\n"
    "import signal\n"
    "import sys\n"
    "import threading\n"
    "import traceback\n"
    "\n"
    "shutdown_requested = False\n"
    "\n"
    "\n"
    "def _on_signal(signum, frame):\n"
    "    global shutdown_requested\n"
    "    print(f\"SIGNAL: Received {signal.Signals(signum).name}, shutting down.\", flush=True)\n"
    "    shutdown_requested = True\n"
    "\n"
    "\n"
    "def write_result(status, message):\n"
    "    try:\n"
    "        with open(os.path.join(CODE_DIR, \"result.json\"), \"w\") as f:\n"
    "            json.dump({\"status\": status, \"message\": message}, f)\n"
    "    except Exception as e:  # the result file is best effort\n"
    "        print(f\"RESULT_ERROR: {e}\", file=sys.stderr, flush=True)\n"
    "\n"
    "\n"
    "CODE_DIR = \"/\" + os.environ.get(\"CODE_MOUNT_DIR\", \"bot\")\n"
    "\n"
    "\n"
    "def main():\n"
    "    signal.signal(signal.SIGTERM, _on_signal)\n"
    "    signal.signal(signal.SIGINT, _on_signal)\n"
    "    os.chdir(CODE_DIR)\n"
    "    vendor = os.path.join(CODE_DIR, \"vendor\")\n"
    "    if os.path.isdir(vendor):\n"
    "        sys.path.insert(0, vendor)\n"
    "    sys.path.insert(0, CODE_DIR)\n"
    "    logging.basicConfig(level=logging.INFO)\n"
    "    try:\n"
    "        config = json.loads(os.environ.get(\"BOT_CONFIG\", \"{}\"))\n"
    "    except Exception as e:\n"
    "        print(f\"CONFIG_ERROR: invalid BOT_CONFIG: {e}\", file=sys.stderr, flush=True)\n"
    "        sys.exit(1)\n"
    "    bot_id = os.environ.get(\"BOT_ID\", \"\")\n"
    "    script = os.environ.get(\"SCRIPT_PATH\", \"main.py\")\n"
    "    try:\n"
    "        spec = importlib.util.spec_from_file_location(\"main\", os.path.join(CODE_DIR, script))\n"
    "        module = importlib.util.module_from_spec(spec)\n"
    "        sys.modules[\"main\"] = module\n"
    "        spec.loader.exec_module(module)\n"
    "        bot_main = getattr(module, \"main\")\n"
    "    except Exception as e:\n"
    "        print(f\"IMPORT_ERROR: cannot load main from {script}: {e}\", file=sys.stderr, flush=True)\n"
    "        traceback.print_exc()\n"
    "        sys.exit(1)\n"
    "    worker = threading.Thread(target=bot_main, args=(bot_id, config), daemon=True)\n"
    "    worker.start()\n"
    "    while worker.is_alive() and not shutdown_requested:\n"
    "        worker.join(1.0)\n"
    "    if shutdown_requested:\n"
    "        write_result(\"terminated\", \"Bot execution terminated by signal\")\n"
    "        sys.exit(0)\n"
    "    write_result(\"success\", \"Bot executed successfully\")\n"
    "    sys.exit(0)\n"
    "\n"
    "\n"
    "if __name__ == \"__main__\":\n"
    "    main()\n";

/* The Node wrapper (reference §8.4): signals only log and abort an AbortController; main(botId, config)
 * is awaited; its value (or a success record) goes to result.json; a rejection is exit 1. */
static const char node_wrapper[] =
    "const fs = require('fs');\n"
    "const path = require('path');\n"
    "const controller = new AbortController();\n"
    "for (const sig of ['SIGTERM', 'SIGINT']) {\n"
    "  process.on(sig, () => {\n"
    "    console.log(`SIGNAL: Received ${sig}, triggering abort.`);\n"
    "    controller.abort();\n"
    "  });\n"
    "}\n"
    "const codeDir = '/' + (process.env.CODE_MOUNT_DIR || process.env.ENTRYPOINT_TYPE || 'bot');\n"
    "function writeResult(obj) {\n"
    "  try { fs.writeFileSync(path.join(codeDir, 'result.json'), JSON.stringify(obj)); }\n"
    "  catch (e) { console.error(`RESULT_ERROR: ${e.message}`); }\n"
    "}\n"
    "async function run() {\n"
    "  process.chdir(codeDir);\n"
    "  let config = {};\n"
    "  try { config = JSON.parse(process.env.BOT_CONFIG || '{}'); }\n"
    "  catch (e) { console.error(`CONFIG_ERROR: invalid BOT_CONFIG: ${e.message}`); process.exit(1); }\n"
    "  const botId = process.env.BOT_ID || '';\n"
    "  const script = process.env.SCRIPT_PATH || 'main';\n"
    "  let main;\n"
    "  try {\n"
    "    const mod = require(path.join(codeDir, script));\n"
    "    main = mod.main || mod.default || mod;\n"
    "    if (typeof main !== 'function') throw new Error(`${script} exports no main function`);\n"
    "  } catch (e) {\n"
    "    console.error(`IMPORT_ERROR: ${e.message}`);\n"
    "    writeResult({ status: 'error', message: e.message });\n"
    "    process.exit(1);\n"
    "  }\n"
    "  try {\n"
    "    const result = await main(botId, config);\n"
    "    writeResult(result !== undefined ? result : { status: 'success', message: 'Bot executed successfully' });\n"
    "    process.exit(0);\n"
    "  } catch (e) {\n"
    "    console.error(`EXECUTE_ERROR: ${e && e.message ? e.message : e}`);\n"
    "    writeResult({ status: 'error', message: String(e && e.message ? e.message : e) });\n"
    "    process.exit(1);\n"
    "  }\n"
    "}\n"
    "run();\n";

t0_status dinit_entrypoint_validate(const char *ep, t0_err *err)
{
    if (!ep || !*ep) return t0_fail(err, T0_EINVAL, "entrypoint cannot be empty");
    for (const char *p = ep; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.' || c == '/'))
            return t0_fail(err, T0_EINVAL, "entrypoint contains invalid characters: \"%s\"", ep);
    }
    if (strstr(ep, "..")) return t0_fail(err, T0_EINVAL, "entrypoint cannot contain path traversal");
    return T0_OK;
}

typedef enum { TPL_PYTHON, TPL_NODE, TPL_BINARY, TPL_DOTNET, TPL_SCALA } tpl_kind;

static int template_of(const char *rt)
{
    static const struct {
        const char *rt;
        tpl_kind k;
    } map[] = {{"python3.11", TPL_PYTHON}, {"nodejs20", TPL_NODE},   {"rust-stable", TPL_BINARY},
               {"gcc13", TPL_BINARY},      {"cpp-gcc13", TPL_BINARY}, {"ghc96", TPL_BINARY},
               {"dotnet8", TPL_DOTNET},    {"scala3", TPL_SCALA}};
    for (size_t i = 0; rt && i < T0_ARRAY_LEN(map); i++)
        if (!strcmp(rt, map[i].rt)) return (int)map[i].k;
    return -1;
}

t0_status dinit_entrypoint_script(const char *runtime, const char *ep, const dinit_paths *paths, char **out,
                                  t0_err *err)
{
    *out = NULL;
    t0_status st = dinit_entrypoint_validate(ep, err);
    if (st != T0_OK) {
        t0_err_prefix(err, "invalid entrypoint");
        return st;
    }
    int k = template_of(runtime);
    if (k < 0)
        return t0_fail(err, T0_EINVAL, "unsupported runtime: \"%s\" (supported: " SUPPORTED ")", runtime ? runtime : "");
    const char *bot = paths && paths->bot_dir ? paths->bot_dir : "/bot";
    const char *var = paths && paths->var_dir ? paths->var_dir : "/var/the0";
    const char *mount = bot[0] == '/' ? bot + 1 : bot; /* CODE_MOUNT_DIR: "bot" for /bot */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return t0_fail(err, T0_ENOMEM, "entrypoint: out of memory");
    fprintf(f,
            "#!/bin/bash\n"
            "# Generated by the0-runtime daemon init (runtime %s, entrypoint %s).\n"
            "mkdir -p %s/logs\n"
            "# The done file says the bot has stopped: a restarted bot's old one goes first (the sidecar waits\n"
            "# for it after SIGTERM). Whatever ends this script (exit, set -e failure, signal), it gets the status.\n"
            "rm -f %s/done\n"
            "trap 'rc=$?; echo \"$rc\" > %s/done; exit $rc' EXIT\n"
            "set -e\n"
            "cd %s\n",
            runtime, ep, var, var, var, bot);
    switch ((tpl_kind)k) {
    case TPL_PYTHON:
    case TPL_NODE: {
        bool py = k == TPL_PYTHON;
        fprintf(f,
                "if [ ! -d %s ]; then\n"
                "    echo \"ERROR: %s directory does not exist\" >&2\n"
                "    exit 1\n"
                "fi\n"
                "cat > /tmp/%s << '%s'\n%s%s\n"
                "export SCRIPT_PATH=\"%s\"\n"
                "export ENTRYPOINT_TYPE=\"bot\"\n"
                "export CODE_MOUNT_DIR=\"%s\"\n"
                "%s /tmp/%s 2>&1 | tee -a %s/logs/bot.log\n"
                "exit \"${PIPESTATUS[0]}\"\n",
                bot, bot, py ? "python_entrypoint.py" : "nodejs_entrypoint.js", py ? "PYTHON_SCRIPT" : "NODEJS_SCRIPT",
                py ? python_wrapper : node_wrapper, py ? "PYTHON_SCRIPT" : "NODEJS_SCRIPT", ep, mount, py ? "python3" : "node",
                py ? "python_entrypoint.py" : "nodejs_entrypoint.js", var);
        break;
    }
    case TPL_BINARY:
        fprintf(f,
                "BINARY=\"%s\"\n"
                "if [ ! -f \"$BINARY\" ]; then\n"
                "    echo \"{\\\"status\\\":\\\"error\\\",\\\"message\\\":\\\"Binary not found: $BINARY\\\"}\"\n"
                "    exit 1\n"
                "fi\n"
                "chmod +x \"$BINARY\"\n"
                "export CODE_MOUNT_DIR=\"%s\"\n"
                "\"./$BINARY\" 2>&1 | tee -a %s/logs/bot.log\n"
                "exit \"${PIPESTATUS[0]}\"\n",
                ep, mount, var);
        break;
    case TPL_DOTNET:
    case TPL_SCALA: {
        bool dn = k == TPL_DOTNET;
        fprintf(f,
                "%s=\"%s\"\n"
                "if [ ! -f \"$%s\" ]; then\n"
                "    echo \"{\\\"status\\\":\\\"error\\\",\\\"message\\\":\\\"%s not found: $%s\\\"}\"\n"
                "    exit 1\n"
                "fi\n"
                "export CODE_MOUNT_DIR=\"%s\"\n"
                "%s \"$%s\" 2>&1 | tee -a %s/logs/bot.log\n"
                "exit \"${PIPESTATUS[0]}\"\n",
                dn ? "DLL" : "JAR", ep, dn ? "DLL" : "JAR", dn ? "DLL" : "JAR", dn ? "DLL" : "JAR", mount,
                dn ? "dotnet" : "java -jar", dn ? "DLL" : "JAR", var);
        break;
    }
    }
    if (fclose(f) != 0 || !buf) {
        free(buf);
        return t0_fail(err, T0_ENOMEM, "entrypoint: out of memory");
    }
    *out = buf;
    return T0_OK;
}
