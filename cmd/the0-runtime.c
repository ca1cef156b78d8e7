/* the0-runtime: the production binary (controller, daemon init, daemon sync, render, version): the dispatch. */
#include <stdio.h>
#include <string.h>

#include "core/cli.h"
#include "core/t0.h"
#include "cmd/runtime_controller.h"
#include "cmd/cmd.h"
#include "core/version.h"

static int version_main(int argc, char **argv)
{
    const cli_cmd cmd = {"the0-runtime version", "", "Print the version.", NULL, 0, 0, 0, NULL, 2};
    int first, pr = cli_parse(&cmd, argc, argv, &first);
    if (pr != CLI_CONTINUE) return pr;
    printf("the0-runtime version %s (commit %s)\n", T0_VERSION, t0_build_commit());
    return 0;
}

int main(int argc, char **argv)
{
    static const cli_sub subs[] = {
        {"controller", "[flags]", "run the Bot and Schedule controllers (MongoDB desired state, NATS triggers)",
         controller_main},
        {"daemon", "init|sync [flags]", "init container (fetch code and state, write entrypoint.sh) or sidecar (ship state "
                                        "and logs)", daemon_main},
        {"render", "pod|cronjob FILE", "print the object the controller would create for a bot document", cmd_render},
        {"version", NULL, "print the version", version_main},
    };
    static const cli_group g = {"the0-runtime",
                                "The0's Kubernetes mode: one Pod per enabled realtime bot, one CronJob per enabled "
                                "scheduled bot.",
                                subs, T0_ARRAY_LEN(subs), "exit codes: 0 ok, 1 failure, 2 usage error (daemon: 1)", 2};
    if (argc == 2 && !strcmp(argv[1], "--version")) return version_main(1, argv + 1);
    return cli_dispatch(&g, argc, argv);
}
