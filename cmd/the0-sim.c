/* the0-sim: the simulator (scenario replay, soak, FSM diagrams, the fake cluster over HTTP). */
#include <stdio.h>
#include <string.h>

#include "fsm/cli.h"
#include "fsm/tables.h"
#include "fakes/serve.h"
#include "scenarios/scn.h"
#include "scenarios/soak.h"
#include "sim/loop.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: the0-sim <command> [options]\n"
               "\n"
               "The simulator: the0's controllers against in-process fakes on a virtual clock.\n"
               "\n"
               "commands:\n"
               "  run [--seed N] [--file F]  replay the embedded demo fleet with progress and a summary (make run)\n"
               "  walk                  walk one bot through the bot lifecycle table, printing each transition\n"
               "  fsm [--format F] [T]  print a lifecycle table as a diagram; --check validates them\n"
               "  replay [--seed N] FILE...  replay scenario files (docs/scenarios.md); non-zero on a failure\n"
               "  serve [--listen H:P]  the fake cluster over the Kubernetes REST API (kubectl, the controller)\n"
               "  soak [--seeds N] [--jobs J]  random fleets, changes and faults per seed; shrinks failures (docs/soak.md)\n"
               "  sweep FILE...         crash at every effect, fail every API call in turn (docs/soak.md)\n"
               "\n"
               "Run 'the0-sim <command> --help' for a command's options.\n");
}

/* walk: drive one bot through its lifecycle with the bot table, printing each transition's reason. */
static int demo_walk(void)
{
    static const struct {
        int ev;
        bot_fsm_input in;
        const char *what;
    } steps[] = {
        {BE_NO_POD, {0}, "the bot is enabled; no pod exists"},
        {BE_PENDING, {.pod_exists = true}, "the pod appears; init downloads code and state"},
        {BE_RUNNING, {.pod_exists = true}, "bot and sync containers are up"},
        {BE_CRASHLOOP, {.pod_exists = true}, "the bot crashes repeatedly"},
        {BE_CRASHLOOP, {.pod_exists = true, .escalate = true}, "it keeps crashing past the threshold"},
        {BE_TERMINATING, {.pod_exists = true, .pod_terminating = true}, "the old pod is terminating"},
        {BE_NO_POD, {0}, "the old pod is gone"},
        {BE_RUNNING, {.pod_exists = true}, "the new pod runs"},
        {BE_STALE, {.pod_exists = true}, "the user changes the bot's config"},
        {BE_NO_POD, {0}, "the old pod is gone"},
        {BE_RUNNING, {.pod_exists = true}, "the pod with the new spec runs"},
        {BE_UNWANTED, {.pod_exists = true}, "the user disables the bot"},
        {BE_GONE, {0}, "the pod is gone"},
    };
    const fsm_table *t = &fsm_bot_table;
    int state = t->initial;
    printf("the0-sim: walking one realtime bot through the bot lifecycle table\n\n");
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        fsm_result r;
        t0_err err = {0};
        if (fsm_step(t, state, steps[i].ev, &steps[i].in, "demo", NULL, &r, &err) != T0_OK) {
            fprintf(stderr, "the0-sim: %s\n", err.msg);
            return 1;
        }
        printf("  %-48s %-14s --%s--> %-14s", steps[i].what, fsm_state_name(t, state), fsm_event_name(t, r.event),
               fsm_state_name(t, r.to));
        for (int k = 0; k < r.nfx; k++) printf("%s%s", k ? ", " : " / ", fsm_effect_name(t, r.fx[k]));
        printf("\n  %48s (%s)\n", "", r.row->why);
        state = r.to;
    }
    printf("\nfinal state: %s\n", fsm_state_name(t, state));
    return 0;
}

int main(int argc, char **argv)
{
    sim_tune_process();
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "run")) return scenario_demo_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "walk")) {
        char *check[] = {"fsm", "--check", NULL};
        int rc = fsm_cli_main(2, check);
        return rc ? rc : demo_walk();
    }
    if (!strcmp(argv[1], "fsm")) return fsm_cli_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "replay")) return scenario_replay_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "serve")) return serve_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "soak")) return soak_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "sweep")) return sweep_main(argc - 1, argv + 1);
    fprintf(stderr, "the0-sim: unknown command '%s'\n", argv[1]);
    return 2;
}
