/* render.h: `the0-runtime render pod|cronjob FILE.json [options]`: print the object the controller would
 * create for a bot or schedule document, without talking to any server. */
#ifndef CONTROLLERS_RENDER_H
#define CONTROLLERS_RENDER_H

/* render_main: ARGV[0] is "render". Prints the generated object as indented JSON (or, with -o yaml, YAML)
 * on stdout. Settings: the controller's flags and environment variables (podgen_cli_opts). Returns 0 on
 * success, 1 when the document cannot be read, parsed or generated (stderr: `render: <file>: <error>`),
 * 2 on a usage error. */
int render_main(int argc, char **argv);

#endif
