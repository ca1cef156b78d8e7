/* docval.h: the checks every NATS payload and every desired-state document passes before it reaches
 * MongoDB or becomes a Pod/CronJob (docs/intake.md): strict UTF-8 without NUL, bounded nesting, and ids
 * that make valid object names and label values. One bad message or document affects only itself. */
#ifndef DOMAIN_DOCVAL_H
#define DOMAIN_DOCVAL_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "core/t0.h"

/* Nesting limit of a whole document, in objects and arrays (the document is level 1, its config 2, ...;
 * scalars add none). The MongoDB adapter's BSON decoder stops at the same depth and reports the document
 * undecodable, so a document deeper than this is invalid whichever way it is read, never silently cut. */
#define DOCVAL_MAX_DEPTH 64
/* An id: a DNS-1123 label (what bot-ID, schedule-ID and the the0.dev bot-id/schedule-id labels all accept). */
#define DOCVAL_ID_MAX 63

/* docval_utf8: whether the LEN bytes at S are well-formed UTF-8 (no overlong forms, no surrogates, nothing
 * above U+10FFFF) without a NUL byte. When not, *BAD_AT (may be NULL) is the offset of the first bad byte. */
bool docval_utf8(const char *s, size_t len, size_t *bad_at);

/* docval_id: whether ID is 1 to 63 lowercase letters, digits and '-', starting and ending with a letter or
 * digit. T0_EINVAL with ERR saying what is wrong (the id is shown cut to 80 bytes, bad bytes escaped). */
t0_status docval_id(const char *id, t0_err *err);

/* docval_json_text: whether a JSON text is UTF-8 without NUL bytes and has no \u0000 escape (cJSON would
 * silently cut the string there). Structure is not checked (the parser does that). */
t0_status docval_json_text(const char *text, size_t len, t0_err *err);

/* docval_json: whether every key and string of V is valid UTF-8 and V nests at most DOCVAL_MAX_DEPTH
 * levels. T0_EINVAL naming the first offending member path otherwise. */
t0_status docval_json(const cJSON *v, t0_err *err);

/* docval_depth: how many objects and arrays V nests (a scalar 0, {} and {"a":1} 1, {"a":[]} 2). */
int docval_depth(const cJSON *v);

/* docval_quote: S shown safely in a message: at most MAX bytes, bytes outside printable ASCII as \xHH,
 * "..." appended when cut. Writes into OUT (CAP bytes, always terminated) and returns it. */
const char *docval_quote(const char *s, size_t max, char *out, size_t cap);

#endif
