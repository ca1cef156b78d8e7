/* gojson.h: encode a cJSON value to the exact bytes Go's encoding/json writes for the same value decoded
 * into map[string]interface{} (sorted keys, no whitespace, Go string escaping and float64 formatting). */
#ifndef CONTROLLERS_GOJSON_H
#define CONTROLLERS_GOJSON_H

#include <stddef.h>

#include <cJSON.h>

#include "core/t0.h"

/* gojson_encode: encode V. On T0_OK *out is a NUL-terminated buffer the caller frees with free() and
 * *len (if LEN is not NULL) its length without the NUL. Objects are written with keys sorted by byte
 * order at every level (on duplicate keys the last one wins, as in a Go map); numbers as Go float64
 * ('f' style for 1e-6 <= |x| < 1e21, else exponent style like 1e+21 / 1e-7, shortest round-trip
 * digits); strings with Go's HTML-safe escaping (\u003c \u003e \u0026, U+2028/9, \b \f as Go >= 1.22,
 * invalid UTF-8 as \ufffd). Errors: T0_EINVAL for NaN/Inf, cJSON_Raw or invalid items (message says which
 * value), T0_ENOMEM. *out is untouched on error. */
t0_status gojson_encode(const cJSON *v, char **out, size_t *len, t0_err *err);
/* gojson_encode_omit: the same, as if the member OMIT (an item somewhere inside V, or NULL) were absent:
 * encoding an object without one field needs no copy of it. */
t0_status gojson_encode_omit(const cJSON *v, const cJSON *omit, char **out, size_t *len, t0_err *err);

/* gojson_format_float: write Go's encoding of the finite double X into BUF (at least 32 bytes).
 * Returns T0_EINVAL for NaN/Inf. */
t0_status gojson_format_float(double x, char *buf, size_t cap, t0_err *err);

#endif
