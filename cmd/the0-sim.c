/* the0-sim: the simulator (scenario replay, soak, FSM diagrams, the fake cluster over HTTP). */
#include <stdio.h>
#include <string.h>

#include "core/cli.h"
#include "cmd/cmd.h"
#include "fsm/tables.h"
#include "scenarios/scn.h"
#include "sim/loop.h"

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

static int walk_main(int argc, char **argv)
{
    const cli_cmd cmd = {"the0-sim walk", "",
                         "Walk one realtime bot through the bot lifecycle table (after checking every table), printing\n"
                         "each transition with its reason.",
                         NULL, 0, 0, 0, "exit codes: 0 ok, 1 a table rejected, 2 usage error", 2};
    int first, pr = cli_parse(&cmd, argc, argv, &first);
    if (pr != CLI_CONTINUE) return pr;
    char *check[] = {"fsm", "--check", NULL};
    int rc = fsm_cli_main(2, check);
    return rc ? rc : demo_walk();
}

int main(int argc, char **argv)
{
    static const cli_sub subs[] = {
        {"run", "[--seed N] [--file F]", "replay the embedded demo fleet with progress and a summary (make run)",
         scenario_demo_main},
        {"walk", NULL, "walk one bot through the bot lifecycle table, printing each transition", walk_main},
        {"fsm", "[--format F] [TABLE]", "print a lifecycle table as a diagram; --check validates them", fsm_cli_main},
        {"faults", NULL, "print the fault points as Markdown (docs/faults.md)", faults_cli_main},
        {"replay", "[--seed N] FILE...", "replay scenario files (docs/scenarios.md); non-zero on a failure",
         scenario_replay_main},
        {"serve", "[--listen H:P]", "the fake cluster over the Kubernetes REST API (kubectl, the controller)", serve_main},
        {"soak", "[--seeds N] [--jobs J]", "random fleets, changes and faults per seed; shrinks failures (docs/soak.md)",
         soak_main},
        {"sweep", "FILE...", "crash at every effect, fail every API call in turn (docs/soak.md)", sweep_main},
    };
    static const cli_group g = {"the0-sim", "The simulator: the0's controllers against in-process fakes on a virtual clock.",
                                subs, T0_ARRAY_LEN(subs), NULL, 2};
    sim_tune_process();
    return cli_dispatch(&g, argc, argv);
}
