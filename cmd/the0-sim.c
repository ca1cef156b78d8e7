/* the0-sim: the simulator (scenario replay, soak, FSM diagrams, the fake cluster over HTTP). */
#include <stdio.h>
#include <string.h>

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
    fprintf(stderr, "the0-sim: unknown command '%s'\n", argv[1]);
    return 2;
}
