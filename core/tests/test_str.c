/* test_str.c: bounded string building (core/str.h), checked against snprintf. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "core/str.h"

Test(str, strlcpy_copies_and_truncates_like_snprintf)
{
    char a[8], b[8];
    const char *inputs[] = {"", "abc", "1234567", "12345678", "a longer string than eight"};
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        size_t n = t0_strlcpy(a, inputs[i], sizeof a);
        int m = snprintf(b, sizeof b, "%s", inputs[i]);
        cr_expect_str_eq(a, b, "input %s: got %s, snprintf %s", inputs[i], a, b);
        cr_expect_eq(n, (size_t)m, "input %s: length %zu, snprintf %d", inputs[i], n, m);
    }
    t0_strlcpy(a, NULL, sizeof a);
    cr_expect_str_eq(a, "", "NULL copies as empty: got %s", a);
    char one[1] = {'x'};
    cr_expect_eq(t0_strlcpy(one, "abc", 1), 3u);
    cr_expect_eq(one[0], '\0', "a one-byte buffer holds only the terminator");
}

Test(str, strjoin_concatenates_and_truncates_like_snprintf)
{
    char a[10], b[10];
    size_t n = t0_strjoin(a, sizeof a, "logs/", "b1", "/", "20260105.log");
    int m = snprintf(b, sizeof b, "logs/%s/%s", "b1", "20260105.log");
    cr_expect_str_eq(a, b, "got %s, snprintf %s", a, b);
    cr_expect_eq(n, (size_t)m, "length %zu, snprintf %d", n, m);
    char big[64];
    n = t0_strjoin(big, sizeof big, "bot-", "", "x");
    cr_expect_str_eq(big, "bot-x", "got %s", big);
    cr_expect_eq(n, 5u, "length %zu", n);
}

Test(str, u64_dec_matches_printf)
{
    uint64_t vs[] = {0, 7, 10, 99, 12345, 18446744073709551615ull};
    for (size_t i = 0; i < sizeof vs / sizeof *vs; i++) {
        char a[21], b[32];
        size_t n = t0_u64_dec(a, vs[i]);
        snprintf(b, sizeof b, "%llu", (unsigned long long)vs[i]);
        cr_expect_str_eq(a, b, "got %s, printf %s", a, b);
        cr_expect_eq(n, strlen(b), "length %zu for %s", n, b);
    }
}

Test(str, hex_is_printf_lowercase_hex_of_every_byte)
{
    unsigned char in[256];
    for (int i = 0; i < 256; i++) in[i] = (unsigned char)(255 - i);
    char got[2 * 256 + 1], want[2 * 256 + 1];
    memset(got, 'X', sizeof got);
    for (int i = 0; i < 256; i++) snprintf(want + 2 * i, 3, "%02x", in[i]);
    cr_expect_eq(t0_hex(in, 256, got), got, "returns OUT");
    cr_expect_str_eq(got, want, "got %s, printf %s", got, want);
    char empty[1] = {'X'};
    t0_hex(in, 0, empty);
    cr_expect_eq(empty[0], '\0', "no bytes: the empty string, got '%c'", empty[0]);
}
