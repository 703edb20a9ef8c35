/* test_utf8.c — the one UTF-8 decoder (common/utf8.h): whole-character
 * decoding and byte-by-byte validation agree on every 1..4-byte sequence
 * class, and the cutting helpers never split a character. */
#include <criterion/criterion.h>
#include <string.h>

#include "common/utf8.h"

/* Valid by the streaming validator? */
static int stream_valid(const char *s, size_t len)
{
    utf8_stream u = {0};
    for (size_t i = 0; i < len; i++)
        if (utf8_stream_step(&u, (unsigned char)s[i]) != 0)
            return 0;
    return u.need == 0;
}

static const struct {
    const char *bytes;
    int valid;
} cases[] = {
    {"a", 1}, {"\xc3\xa9", 1}, {"\xe2\x82\xac", 1}, {"\xf0\x9f\x98\x80", 1}, {"\xf4\x8f\xbf\xbf", 1},
    {"\xc0\xaf", 0},                 /* overlong 2-byte */
    {"\xe0\x80\xaf", 0},             /* overlong 3-byte */
    {"\xed\xa0\x80", 0},             /* surrogate */
    {"\xf0\x80\x80\xaf", 0},         /* overlong 4-byte */
    {"\xf4\x90\x80\x80", 0},         /* above U+10FFFF */
    {"\xf5\x80\x80\x80", 0}, {"\x80", 0}, {"\xc3", 0}, {"\xe2\x82", 0}, {"\xc3\x28", 0},
};

Test(utf8, decoder_and_stream_agree)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *s = cases[i].bytes;
        size_t len = strlen(s);
        uint32_t cp;
        size_t n = utf8_decode((const unsigned char *)s, len, &cp);
        int decoded = cp != UINT32_MAX && n == len;
        cr_assert_eq(decoded, cases[i].valid, "case %zu: decode", i);
        cr_assert_eq(stream_valid(s, len), cases[i].valid, "case %zu: stream", i);
        cr_assert_eq(utf8_valid(s, len), cases[i].valid, "case %zu: utf8_valid", i);
    }
    uint32_t cp;
    cr_assert_eq(utf8_decode((const unsigned char *)"\xf0\x9f\x98\x80", 4, &cp), 4);
    cr_assert_eq(cp, 0x1F600);
}

Test(utf8, cutting_never_splits_a_character)
{
    const char s[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";   /* a é € 😀 z */
    size_t len = sizeof s - 1;
    cr_assert_eq(utf8_prefix_bytes(s, len, 0), 0);
    cr_assert_eq(utf8_prefix_bytes(s, len, 2), 3);
    cr_assert_eq(utf8_prefix_bytes(s, len, 4), 10);
    cr_assert_eq(utf8_prefix_bytes(s, len, 99), len);
    cr_assert_eq(utf8_floor(s, len, 2), 1, "inside é");
    cr_assert_eq(utf8_floor(s, len, 3), 3);
    cr_assert_eq(utf8_floor(s, len, 8), 6, "inside the emoji");
    cr_assert_eq(utf8_floor(s, len, len), len);
    cr_assert_eq(utf8_count(s, len), 5);
}
