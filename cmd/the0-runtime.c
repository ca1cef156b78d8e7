/* the0-runtime: the production binary (controller, daemon init, daemon sync, render, version). */
#include <stdio.h>
#include <string.h>

#include "controllers/cmd_controller.h"
#include "controllers/render.h"
#include "core/version.h"
#include "daemon/daemon.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: the0-runtime <command> [options]\n"
            "\n"
            "The0's Kubernetes mode: one Pod per enabled realtime bot, one CronJob per enabled scheduled bot.\n"
            "\n"
            "commands:\n"
            "  controller            run the Bot and Schedule controllers (MongoDB desired state, NATS triggers)\n"
            "  daemon init           init container: fetch code and state from MinIO, write entrypoint.sh\n"
            "  daemon sync           sidecar: ship state and logs to MinIO\n"
            "  render pod|cronjob F  print the object the controller would create for a bot document\n"
            "  version               print the version\n"
            "\n"
            "Run 'the0-runtime <command> --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "controller")) return controller_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "render")) return render_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "daemon")) return daemon_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
        printf("the0-runtime version %s (commit %s)\n", T0_VERSION, t0_build_commit());
        return 0;
    }
    fprintf(stderr, "the0-runtime: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
