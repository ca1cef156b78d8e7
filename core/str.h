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

#endif
