/* runtime_render.c: `the0-runtime render`: its command line (the controller's pod-generation flags and
 * variables, -o json|yaml), usage and exit codes over render_object (controllers/render.h). */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "controllers/podgen.h"
#include "controllers/render.h"
#include "core/cli.h"

static const char RENDER_ABOUT[] =
    "Print the Pod (realtime bot) or CronJob (scheduled bot) the controller would create for the bot or\n"
    "schedule document in FILE (the MongoDB document as JSON). Nothing is sent anywhere. The settings are the\n"
    "controller's, with the same flags and environment variables (`the0-runtime controller --help`).";
static const char RENDER_FOOTER[] =
    "environment only: MINIO_ACCESS_KEY, MINIO_SECRET_KEY (used with --plain-credentials)\n"
    "exit codes: 0 printed, 1 the document cannot be read, parsed or generated, 2 usage error";

int cmd_render(int argc, char **argv)
{
    podgen_settings s;
    podgen_settings_defaults(&s);
    const char *output = "json";
    cli_opt opts[PODGEN_CLI_NOPTS + 1];
    size_t n = podgen_cli_opts(&s, opts, PODGEN_CLI_NOPTS);
    opts[n++] = (cli_opt){"output", 'o', CLI_ENUM, &output, "output format", .choices = "json|yaml"};
    const cli_cmd cmd = {"the0-runtime render", "pod|cronjob FILE [flags]", RENDER_ABOUT, opts, n, 2, 2, RENDER_FOOTER, 2};
    int first, pr = cli_parse(&cmd, argc, argv, &first);
    if (pr != CLI_CONTINUE) return pr;
    const char *kind = argv[first], *file = argv[first + 1];
    if (strcmp(kind, "pod") && strcmp(kind, "cronjob"))
        return cli_usage_error(&cmd, "what to render is pod or cronjob, not '%s'", kind);
    const char *warn = podgen_cli_credentials(&s);
    if (*warn) fprintf(stderr, "render: warning: %s\n", warn);
    t0_err err = {0};
    if (render_object(&s, kind, file, !strcmp(output, "yaml") ? RENDER_YAML : RENDER_JSON, stdout, &err) != T0_OK) {
        fprintf(stderr, "render: %s\n", err.msg);
        return 1;
    }
    return 0;
}
