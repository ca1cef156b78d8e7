/* sim_faults.c: `the0-sim faults`: the simulator's fault points as Markdown, generated from sim/faults.c's point
 * table: what docs/faults.md holds (make docs writes it, make docs-check fails when it is stale). */
#include <stdio.h>

#include "cmd/cmd.h"
#include "core/cli.h"
#include "sim/faults.h"

int faults_cli_main(int argc, char **argv)
{
    const cli_cmd cmd = {"the0-sim faults", "",
                         "Print every fault point of the simulator (the kinds a real server produces there and what it\n"
                         "stands for) as Markdown: docs/faults.md is this output ('make docs' writes it, 'make docs-check'\n"
                         "fails when it differs).",
                         NULL, 0, 0, 0, "exit codes: 0 printed, 1 stdout could not be written, 2 usage error", 2};
    int first, pr = cli_parse(&cmd, argc, argv, &first);
    if (pr != CLI_CONTINUE) return pr;
    sim_faults_list(stdout);
    if (fflush(stdout) == 0 && !ferror(stdout)) return 0;
    fprintf(stderr, "the0-sim faults: cannot write stdout\n");
    return 1;
}
