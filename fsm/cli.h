/* cli.h: the `the0-sim fsm` subcommand. */
#ifndef T0_FSM_CLI_H
#define T0_FSM_CLI_H
/* fsm_cli_main: argv[0] is "fsm". Returns the process exit code. */
int fsm_cli_main(int argc, char **argv);
#endif
