/* cmd.h: the subcommands cmd/ implements itself (command line, usage, exit codes) over the modules' library
 * functions. Each takes ARGV[0] = the subcommand's name and returns the process exit status. */
#ifndef T0_CMD_H
#define T0_CMD_H

/* `the0-runtime render pod|cronjob FILE [-o json|yaml] [pod-generation flags]`: 0 printed, 1 the document
 * cannot be read, parsed or generated, 2 usage error. */
int cmd_render(int argc, char **argv);

/* `the0-sim fsm [--format mermaid|dot|markdown] [--check] [TABLE]`: 0, 1 a table rejected, 2 usage error. */
int fsm_cli_main(int argc, char **argv);

/* scenario_replay_main: `the0-sim replay [--seed N] [--trace FILE] [--quiet] [--coverage] FILE...`.
 * Exit 0 when every file passed, 1 when an expectation or invariant failed (the seed and the replay
 * command are printed), 2 on usage or parse errors. */
int scenario_replay_main(int argc, char **argv);

/* scenario_demo_main: `the0-sim run [--seed N] [--file F] [--every D] [--quiet]`: replay the embedded
 * scenarios/demo.scn (or F) with a progress line every D of simulated time and a closing summary (bots
 * per FSM state, table rows fired, invariants checked, violations, seed, the replay command). Exit 0 when
 * every expectation passed and no invariant broke, 1 otherwise, 2 on usage or parse errors. */
int scenario_demo_main(int argc, char **argv);

#endif
