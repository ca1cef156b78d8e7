/* core/str.h: bounded string building without printf, for hot paths that format keys and names many
 * thousand times per simulated hour (snprintf parses its format on every call). Every function writes
 * a NUL-terminated result into DST of CAP > 0 bytes, truncating like snprintf, and returns the length the
 * full result would have had (so `>= cap` means truncated). */
#ifndef T0_CORE_STR_H
#define T0_CORE_STR_H

#include <stddef.h>
#include <stdint.h>

/* t0_strlcpy: DST = SRC (NULL: ""). */
size_t t0_strlcpy(char *dst, const char *src, size_t cap);

/* t0_strjoin_: DST = the concatenation of the strings up to the NULL argument (a NULL string is ""
 * only as the sentinel: pass "" for empty pieces). Use the t0_strjoin macro, which adds the sentinel. */
size_t t0_strjoin_(char *dst, size_t cap, ...);
#define t0_strjoin(dst, cap, ...) t0_strjoin_((dst), (cap), __VA_ARGS__, (const char *)NULL)

/* t0_u64_dec: V in decimal into BUF (at least 21 bytes); returns its length. */
size_t t0_u64_dec(char buf[21], uint64_t v);

/* t0_hex: the N bytes at IN as 2N lowercase hex digits and a NUL into OUT (2N + 1 bytes); returns OUT. */
char *t0_hex(const void *in, size_t n, char *out);

/* A thread-local C.UTF-8 LC_CTYPE around code that converts names through the locale (libarchive does,
 * for every entry name, and the processes' locale — the simulator's — is "C"): t0_utf8_enter puts it in
 * place, t0_utf8_leave restores what was there. Without C.UTF-8 on the system nothing changes (callers then
 * get libarchive's clear errors for non-ASCII names). */
typedef struct t0_utf8_scope {
    void *prev; /* locale_t */
    int set;
} t0_utf8_scope;
t0_utf8_scope t0_utf8_enter(void);
void t0_utf8_leave(t0_utf8_scope s);

#endif
