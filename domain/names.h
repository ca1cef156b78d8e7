/* names.h: object names, label values, MinIO path checks, runtime tables, cron conversion and
 * Kubernetes quantities for the pod generator (reference 6.5, 6.6, 7.2, 7.3, 7.4). */
#ifndef CONTROLLERS_NAMES_H
#define CONTROLLERS_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "core/t0.h"

#define NAMES_LABEL_MAX 63     /* label value length limit */
#define NAMES_SUBDOMAIN_MAX 253 /* DNS-1123 subdomain length limit (object names) */
#define NAMES_CRONJOB_MAX 52   /* CronJob names leave room for the Job suffix */

/* The reference's error suffix listing the supported runtimes, sorted. */
#define NAMES_SUPPORTED_RUNTIMES "cpp-gcc13, dotnet8, gcc13, ghc96, nodejs20, python3.11, rust-stable, scala3"

/* names_pod: "bot-" + ID into BUF (reference 7.8; no truncation or sanitising). T0_ELIMIT when BUF is too
 * small. Validity is checked separately (names_check_subdomain). */
t0_status names_pod(const char *id, char *buf, size_t cap, t0_err *err);

/* names_cronjob: "schedule-" + ID cut to 52 bytes, then every trailing '-' stripped (reference 6.6). */
void names_cronjob(const char *id, char out[NAMES_CRONJOB_MAX + 1]);

/* names_sanitize_label_value: reference 7.2: keep ASCII letters, digits, '-', '_' and '.'; cut to 63;
 * strip non-alphanumerics at both ends; "bot" if nothing is left. */
void names_sanitize_label_value(const char *in, char out[NAMES_LABEL_MAX + 1]);

/* names_sanitize_subdomain: IN made a valid DNS-1123 subdomain of at most MAX (< CAP) bytes, for names
 * derived from ids that may be invalid (Event names): upper case lowered, any other character outside
 * [a-z0-9.-] becomes '-', cut to MAX, and non-alphanumerics stripped from both ends ("x" when nothing is
 * left). A valid name of at most MAX bytes comes out unchanged. */
void names_sanitize_subdomain(const char *in, size_t max, char *out, size_t cap);
/* names_custom_bot_id: the pod's custom-bot-id label (reference 7.2): the sanitised NAME if it is
 * non-empty, else the first 8 bytes of ID, sanitised too (the reference does not sanitise them, so an id
 * like "abcdefg-x" gave the label value "abcdefg-", which ends in '-', and every create failed with 422). */
void names_custom_bot_id(const char *name, const char *id, char out[NAMES_LABEL_MAX + 1]);

/* names_validate_minio_path: reference 7.3: every character an ASCII letter, digit, '/', '-', '_' or '.';
 * "" is valid. Error (T0_EINVAL): `invalid character '<c>' in MinIO path` (<c> is the whole UTF-8
 * character, or U+FFFD for an invalid byte, as Go's range loop gives). Ours (issue 14): the path stays in
 * its prefix: a leading '/' and "." or ".." segments are refused too ("leading '/' in MinIO path ...",
 * "'..' segment in MinIO path ..."); backslashes and '%' (percent-encoded dots) are invalid characters
 * already. Empty segments ("u1//1.0.0") stay in their prefix and pass. */
t0_status names_validate_minio_path(const char *s, t0_err *err);

/* names_convert_cron: reference 6.5: exactly 6 whitespace-separated fields -> drop the first and join the
 * other five with single spaces; anything else is returned unchanged. Writes into BUF; T0_ELIMIT when
 * BUF is too small. */
t0_status names_convert_cron(const char *expr, char *buf, size_t cap, t0_err *err);

/* names_default_entrypoint: python3.11 -> main.py, nodejs20 -> index.js, anything else -> main. */
const char *names_default_entrypoint(const char *runtime);

/* names_runtime_image: the bot image of a runtime (reference 7.4), NULL when unsupported. */
const char *names_runtime_image(const char *runtime);

/* names_shell_for_image: "/bin/sh" if IMAGE contains "alpine", else "/bin/bash". */
const char *names_shell_for_image(const char *image);

/* names_check_label_value: whether S is a valid label value (at most 63 bytes, empty or
 * [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?). On failure ERR says why, e.g. "must be at most 63 characters". */
bool names_check_label_value(const char *s, t0_err *err);

/* names_check_subdomain: whether S is a DNS-1123 subdomain of at most MAX bytes (lowercase alphanumerics,
 * '-' and '.', starting and ending with an alphanumeric, each dot-separated part non-empty). */
bool names_check_subdomain(const char *s, size_t max, t0_err *err);

/* names_quantity_parse: parse a Kubernetes quantity (sign, digits with optional fraction, and one of
 * the suffixes Ki Mi Gi Ti Pi Ei, n u m k M G T P E, or e<int>/E<int>). Sets *value (approximate, for
 * comparisons) when VALUE is not NULL. Returns false when S is not a quantity. */
bool names_quantity_parse(const char *s, double *value);

#endif
