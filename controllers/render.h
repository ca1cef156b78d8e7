/* render.h: the object the controller would create for a bot or schedule document, printed without talking
 * to any server (`the0-runtime render`, cmd/runtime_render.c). */
#ifndef CONTROLLERS_RENDER_H
#define CONTROLLERS_RENDER_H

#include <stdio.h>

#include "controllers/podgen.h"
#include "core/t0.h"

typedef enum render_format { RENDER_JSON, RENDER_YAML } render_format;

/* render_object: read the bot or schedule document in FILE (the MongoDB document as JSON), generate the
 * Pod (KIND "pod") or CronJob (KIND "cronjob") with settings S and print it on OUT as indented JSON or as
 * YAML (libyaml's emitter; strings a YAML reader would take for a bool, null or number are quoted).
 * Errors: T0_EIO "FILE: <why>" when it cannot be read or OUT cannot be written, the document's parse or
 * generation error prefixed with FILE. */
t0_status render_object(const podgen_settings *s, const char *kind, const char *file, render_format fmt, FILE *out,
                        t0_err *err);

#endif
