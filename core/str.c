/* core/str.c: see str.h. */
#include "core/str.h"

#include <locale.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>

/* append: SRC after the LEN characters already in DST (which may already be truncated); returns the new
 * full length. */
static size_t append(char *dst, size_t cap, size_t len, const char *src)
{
    size_t n = strlen(src);
    if (len < cap - 1) {
        size_t room = cap - 1 - len;
        memcpy(dst + len, src, n < room ? n : room);
    }
    return len + n;
}

size_t t0_strlcpy(char *dst, const char *src, size_t cap)
{
    size_t n = append(dst, cap, 0, src ? src : "");
    dst[n < cap ? n : cap - 1] = '\0';
    return n;
}

size_t t0_strjoin_(char *dst, size_t cap, ...)
{
    va_list ap;
    va_start(ap, cap);
    size_t n = 0;
    for (const char *s; (s = va_arg(ap, const char *));) n = append(dst, cap, n, s);
    va_end(ap);
    dst[n < cap ? n : cap - 1] = '\0';
    return n;
}

size_t t0_u64_dec(char buf[21], uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
    return n;
}

char *t0_hex(const void *in, size_t n, char *out)
{
    static const char digit[] = "0123456789abcdef";
    const unsigned char *b = in;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digit[b[i] >> 4];
        out[2 * i + 1] = digit[b[i] & 15];
    }
    out[2 * n] = '\0';
    return out;
}

static locale_t utf8_locale(void)
{
    static _Atomic(locale_t) loc = (locale_t)0;
    locale_t l = loc;
    if (!l) {
        l = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
        if (!l) return (locale_t)0;
        locale_t expected = (locale_t)0;
        if (!atomic_compare_exchange_strong(&loc, &expected, l)) {
            freelocale(l);
            l = expected;
        }
    }
    return l;
}

t0_utf8_scope t0_utf8_enter(void)
{
    t0_utf8_scope s = {0};
    locale_t l = utf8_locale();
    if (l) {
        s.prev = uselocale(l);
        s.set = s.prev != (locale_t)0;
    }
    return s;
}

void t0_utf8_leave(t0_utf8_scope s)
{
    if (s.set) uselocale((locale_t)s.prev);
}
