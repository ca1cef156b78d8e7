/* render.c: the `render` subcommand (see render.h). */
#include "controllers/render.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "domain/botdoc.h"
#include "controllers/podgen.h"
#include "core/cli.h"

static char *read_file(const char *path, size_t *len, char *why, size_t whylen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, whylen, "%s", strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
        if (n == cap) {
            if (cap > ((size_t)64 << 20)) {
                snprintf(why, whylen, "file larger than 64 MiB");
                free(buf);
                buf = NULL;
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (buf && ferror(f)) {
        snprintf(why, whylen, "%s", strerror(errno));
        free(buf);
        buf = NULL;
    } else if (!buf && !*why) {
        snprintf(why, whylen, "out of memory");
    }
    fclose(f);
    *len = n;
    return buf;
}

/* ---- YAML output (libyaml's emitter) ------------------------------------------------------------ */
/* needs_quotes: a string that a YAML reader would take for something else (bool, null, number) when plain */
static bool needs_quotes(const char *s)
{
    static const char *const words[] = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"};
    if (!*s) return true;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (!strcasecmp(s, words[i])) return true;
    char *end;
    (void)strtod(s, &end);
    if (!*end) return true;
    return (s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) || strchr("0123456789+-.", s[0]);
}

static int emit_scalar(yaml_emitter_t *em, const char *v, yaml_scalar_style_t style)
{
    yaml_event_t ev;
    yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)v, (int)strlen(v), 1, 1, style);
    return yaml_emitter_emit(em, &ev);
}

static int emit_node(yaml_emitter_t *em, const cJSON *n)
{
    yaml_event_t ev;
    char num[64];
    if (cJSON_IsObject(n) || cJSON_IsArray(n)) {
        bool obj = cJSON_IsObject(n);
        if (obj) yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
        else yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
        if (!yaml_emitter_emit(em, &ev)) return 0;
        for (const cJSON *c = n->child; c; c = c->next) {
            if (obj && !emit_scalar(em, c->string, needs_quotes(c->string) ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
                                                                            : YAML_ANY_SCALAR_STYLE))
                return 0;
            if (!emit_node(em, c)) return 0;
        }
        if (obj) yaml_mapping_end_event_initialize(&ev);
        else yaml_sequence_end_event_initialize(&ev);
        return yaml_emitter_emit(em, &ev);
    }
    if (cJSON_IsString(n))
        return emit_scalar(em, n->valuestring,
                           needs_quotes(n->valuestring) ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
    if (cJSON_IsBool(n)) return emit_scalar(em, cJSON_IsTrue(n) ? "true" : "false", YAML_PLAIN_SCALAR_STYLE);
    if (cJSON_IsNumber(n)) {
        if (n->valuedouble == (double)(long long)n->valuedouble) snprintf(num, sizeof num, "%lld", (long long)n->valuedouble);
        else snprintf(num, sizeof num, "%.17g", n->valuedouble);
        return emit_scalar(em, num, YAML_PLAIN_SCALAR_STYLE);
    }
    return emit_scalar(em, "null", YAML_PLAIN_SCALAR_STYLE);
}

/* print_yaml: OBJ as one YAML document on F. False when libyaml failed (its problem in WHY). */
static bool print_yaml(const cJSON *obj, FILE *f, char *why, size_t whylen)
{
    yaml_emitter_t em;
    yaml_event_t ev;
    if (!yaml_emitter_initialize(&em)) {
        snprintf(why, whylen, "yaml emitter: out of memory");
        return false;
    }
    yaml_emitter_set_output_file(&em, f);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, -1);
    yaml_emitter_set_indent(&em, 2);
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    int ok = yaml_emitter_emit(&em, &ev);
    if (ok) yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1), ok = yaml_emitter_emit(&em, &ev);
    if (ok) ok = emit_node(&em, obj);
    if (ok) yaml_document_end_event_initialize(&ev, 1), ok = yaml_emitter_emit(&em, &ev);
    if (ok) yaml_stream_end_event_initialize(&ev), ok = yaml_emitter_emit(&em, &ev);
    if (!ok) snprintf(why, whylen, "yaml emitter: %s", em.problem ? em.problem : "write failed");
    yaml_emitter_delete(&em);
    return ok;
}

static const char RENDER_ABOUT[] =
    "Print the Pod (realtime bot) or CronJob (scheduled bot) the controller would create for the bot or\n"
    "schedule document in FILE (the MongoDB document as JSON). Nothing is sent anywhere. The settings are the\n"
    "controller's, with the same flags and environment variables (`the0-runtime controller --help`).";
static const char RENDER_FOOTER[] =
    "environment only: MINIO_ACCESS_KEY, MINIO_SECRET_KEY (used with --plain-credentials)\n"
    "exit codes: 0 printed, 1 the document cannot be read, parsed or generated, 2 usage error";

int render_main(int argc, char **argv)
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

    char why[256] = "";
    size_t len = 0;
    char *text = read_file(file, &len, why, sizeof why);
    if (!text) {
        fprintf(stderr, "render: %s: %s\n", file, why);
        return 1;
    }
    t0_err err = {0};
    botdoc *d = NULL;
    cJSON *obj = NULL;
    t0_status st = botdoc_parse_text(text, len, &d, &err);
    free(text);
    if (!st) st = !strcmp(kind, "pod") ? podgen_pod(&s, d, &obj, &err) : podgen_cronjob(&s, d, &obj, &err);
    botdoc_destroy(d);
    if (st) {
        fprintf(stderr, "render: %s: %s\n", file, err.msg);
        return 1;
    }
    if (!strcmp(output, "yaml")) {
        char yw[256] = "";
        bool ok = print_yaml(obj, stdout, yw, sizeof yw);
        cJSON_Delete(obj);
        if (!ok || fflush(stdout)) {
            fprintf(stderr, "render: writing stdout: %s\n", ok ? strerror(errno) : yw);
            return 1;
        }
        return 0;
    }
    char *out = cJSON_Print(obj);
    cJSON_Delete(obj);
    if (!out) {
        fprintf(stderr, "render: %s: out of memory\n", file);
        return 1;
    }
    int rc = (puts(out) == EOF || fflush(stdout)) ? 1 : 0;
    if (rc) fprintf(stderr, "render: writing stdout: %s\n", strerror(errno));
    free(out);
    return rc;
}
