/* render.c: what `the0-runtime render` prints: the object the controller would create (see render.h). */
#include "controllers/render.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "core/fs.h"
#include "domain/botdoc.h"
#include "controllers/podgen.h"

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

t0_status render_object(const podgen_settings *s, const char *kind, const char *file, render_format fmt, FILE *out,
                        t0_err *err)
{
    size_t len = 0;
    char *text = NULL;
    t0_status rst = fs_read_host(file, (size_t)64 << 20, &text, &len, err); /* a document is far smaller */
    if (rst != T0_OK) return rst;
    botdoc *d = NULL;
    cJSON *obj = NULL;
    t0_status st = botdoc_parse_text(text, len, &d, err);
    free(text);
    if (!st) st = !strcmp(kind, "pod") ? podgen_pod(s, d, &obj, err) : podgen_cronjob(s, d, &obj, err);
    botdoc_destroy(d);
    if (st) {
        t0_err_prefix(err, "%s", file);
        return st;
    }
    if (fmt == RENDER_YAML) {
        char why[256] = "";
        bool ok = print_yaml(obj, out, why, sizeof why);
        cJSON_Delete(obj);
        if (!ok) return t0_fail(err, T0_EIO, "writing the output: %s", why);
        if (fflush(out)) return t0_fail(err, T0_EIO, "writing the output: %s", strerror(errno));
        return T0_OK;
    }
    char *txt = cJSON_Print(obj);
    cJSON_Delete(obj);
    if (!txt) return t0_fail(err, T0_ENOMEM, "%s: out of memory", file);
    bool ok = fputs(txt, out) != EOF && fputc('\n', out) != EOF && !fflush(out);
    free(txt);
    if (!ok) return t0_fail(err, T0_EIO, "writing the output: %s", strerror(errno));
    return T0_OK;
}
