/* cli.c: `the0-sim fsm`: validate the lifecycle tables and print them as diagrams or row tables. */
#include "fsm/cli.h"

#include <stdio.h>
#include <string.h>

#include "fsm/tables.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: the0-sim fsm [--format mermaid|dot|markdown] [--check] [TABLE]\n"
               "\n"
               "Print a lifecycle table as a diagram (default: mermaid) or validate the tables.\n"
               "TABLE is one of: bot, schedule, pod, sync (default: all of them).\n"
               "\n"
               "  --format F   mermaid (stateDiagram-v2), dot (Graphviz) or markdown (the docs/fsm page)\n"
               "  --check      validate the tables and print one line each; exit 1 if any is rejected\n");
}

int fsm_cli_main(int argc, char **argv)
{
    const char *fmt = "mermaid", *name = NULL;
    int check = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
            fmt = argv[++i];
        } else if (!strncmp(argv[i], "--format=", 9)) {
            fmt = argv[i] + 9;
        } else if (!strcmp(argv[i], "--check")) {
            check = 1;
        } else if (argv[i][0] == '-' || name) {
            fprintf(stderr, "the0-sim fsm: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else {
            name = argv[i];
        }
    }
    size_t n;
    const fsm_table *const *all = fsm_tables(&n);
    const fsm_table *one = NULL;
    if (name && !(one = fsm_table_by_name(name))) {
        fprintf(stderr, "the0-sim fsm: no table '%s' (tables: bot, schedule, pod, sync)\n", name);
        return 2;
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
        else if (!strcmp(fmt, "markdown"))
            st = fsm_export_markdown(t, stdout, &err);
        else {
            fprintf(stderr, "the0-sim fsm: unknown format '%s' (mermaid, dot, markdown)\n", fmt);
            return 2;
        }
        if (st != T0_OK) {
            fprintf(stderr, "the0-sim fsm: %s\n", err.msg);
            return 1;
        }
    }
    return rc;
}
