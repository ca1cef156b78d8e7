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

#endif
