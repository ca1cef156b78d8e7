/* sim_fsm.c: `the0-sim fsm`: validate the lifecycle tables and print them as diagrams or row tables (the
 * command line over fsm/tables.h and fsm/export). */
#include "cmd/cmd.h"

#include <stdio.h>
#include <string.h>

#include "core/cli.h"
#include "fsm/tables.h"

int fsm_cli_main(int argc, char **argv)
{
    const char *fmt = "mermaid", *name = NULL;
    bool check = false;
    const cli_opt opts[] = {
        {"format", 0, CLI_ENUM, &fmt, "mermaid (stateDiagram-v2), dot (Graphviz) or markdown (the docs/fsm page)",
         .choices = "mermaid|dot|markdown"},
        {"check", 0, CLI_BOOL, &check, "validate the tables and print one line each; exit 1 if any is rejected"},
    };
    const cli_cmd cmd = {"the0-sim fsm", "[--format F] [--check] [TABLE]",
                         "Print a lifecycle table as a diagram (default: mermaid) or validate the tables.\n"
                         "TABLE is one of: bot, schedule, pod, sync (default: all of them).",
                         opts, T0_ARRAY_LEN(opts), 0, 1, "exit codes: 0 ok, 1 a table rejected, 2 usage error", 2};
    int first, pr = cli_parse(&cmd, argc, argv, &first);
    if (pr != CLI_CONTINUE) return pr;
    if (first < argc) name = argv[first];
    size_t n;
    const fsm_table *const *all = fsm_tables(&n);
    const fsm_table *one = NULL;
    if (name && !(one = fsm_table_by_name(name))) {
        return cli_usage_error(&cmd, "no table '%s' (tables: bot, schedule, pod, sync)", name);
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const fsm_table *t = all[i];
        if (one && t != one) continue;
        t0_err err = {0};
        if (check) {
            if (fsm_validate(t, &err) == T0_OK) {
                size_t go = 0;
                for (size_t r = 0; r < t->nrows; r++) go += t->rows[r].kind == FSM_ROW_GO;
                printf("fsm %-8s ok: %d states, %d events, %zu rows (%zu transitions)\n", t->name, t->nstates,
                       t->nevents, t->nrows, go);
            } else {
                printf("fsm %-8s REJECTED\n%s\n", t->name, err.msg);
                rc = 1;
            }
            continue;
        }
        t0_status st;
        if (!strcmp(fmt, "mermaid"))
            st = fsm_export(t, FSM_FMT_MERMAID, stdout, &err);
        else if (!strcmp(fmt, "dot"))
            st = fsm_export(t, FSM_FMT_DOT, stdout, &err);
        else
            st = fsm_export_markdown(t, stdout, &err);
        if (st != T0_OK) {
            fprintf(stderr, "the0-sim fsm: %s\n", err.msg);
            return 1;
        }
    }
    return rc;
}
