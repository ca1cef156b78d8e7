/* cmd.h: the subcommands cmd/ implements itself (command line, usage, exit codes) over the modules' library
 * functions. Each takes ARGV[0] = the subcommand's name and returns the process exit status. */
#ifndef T0_CMD_H
#define T0_CMD_H

/* `the0-runtime render pod|cronjob FILE [-o json|yaml] [pod-generation flags]`: 0 printed, 1 the document
 * cannot be read, parsed or generated, 2 usage error. */
int cmd_render(int argc, char **argv);

/* `the0-runtime daemon init|sync [flags]`: exit codes as reference §8.1/§9.1: 0 success, 1 any error (printed as
 * "Error: <msg>" on stderr); `sync` exits 0 once its final sync ended, shipped or not (see fsm/sync_table.c:
 * a sidecar never fails its pod). */
int daemon_main(int argc, char **argv);

/* `the0-sim fsm [--format mermaid|dot|markdown] [--check] [TABLE]`: 0, 1 a table rejected, 2 usage error. */
int fsm_cli_main(int argc, char **argv);

/* `the0-sim faults`: the fault points as Markdown (docs/faults.md): 0 printed, 1 stdout failed, 2 usage error. */
int faults_cli_main(int argc, char **argv);

/* scenario_replay_main: `the0-sim replay [--seed N] [--trace FILE] [--quiet] [--coverage] FILE...`.
 * Exit 0 when every file passed, 1 when an expectation or invariant failed (the seed and the replay
 * command are printed), 2 on usage or parse errors. */
int scenario_replay_main(int argc, char **argv);

/* scenario_demo_main: `the0-sim run [--seed N] [--file F] [--every D] [--quiet]`: replay the embedded
 * scenarios/demo.scn (or F) with a progress line every D of simulated time and a closing summary (bots
 * per FSM state, table rows fired, invariants checked, violations, seed, the replay command). Exit 0 when
 * every expectation passed and no invariant broke, 1 otherwise, 2 on usage or parse errors. */
int scenario_demo_main(int argc, char **argv);

/* soak_main: `the0-sim soak [flags]` (see --help; scenarios/soak.h runs the campaign). Exit 0 when no seed
 * failed, 1 when one did (or a worker died), 2 on usage errors or when the campaign cannot start. */
int soak_main(int argc, char **argv);

/* sweep_main: `the0-sim sweep FILE... [--jobs J] [--max-effects N] [--max-calls N]` (scenarios/soak.h runs
 * it). Exit 0 when no run broke an invariant, 1 when one did, 2 on usage or parse errors. */
int sweep_main(int argc, char **argv);

/* serve_main: ARGV[0] is "serve". Flags: --listen HOST:PORT (default 127.0.0.1:8001; port 0 = any),
 * --nodes N (default 3), --seed S (default 1), --access-log, --log-level L, --run-pods (pods run as podman
 * containers: fakes/podman_kubelet.h) with --containers-conf FILE and --pods-dir DIR, --help. Prints one line
 * "the0-sim serve: listening on http://HOST:PORT ..." on stdout once the port accepts connections.
 * Exit codes: 0 after SIGTERM/SIGINT or --help, 1 when the server cannot start, 2 for a usage error. */
int serve_main(int argc, char **argv);

#endif
