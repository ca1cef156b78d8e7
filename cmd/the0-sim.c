/* the0-sim: the simulator (scenario replay, soak, FSM diagrams, the fake cluster over HTTP). */
#include <stdio.h>
#include <string.h>

#include "fsm/cli.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: the0-sim <command> [options]\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "fsm")) return fsm_cli_main(argc - 1, argv + 1);
    fprintf(stderr, "the0-sim: unknown command '%s'\n", argv[1]);
    return 2;
}
