/* utf8.c — strict UTF-8 decoding, validation, sanitizing and Latin-1 conversion. */
#include "common/utf8.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Fatal path, like g_error: one fixed line on stderr (the sandbox parent
 * reads it to report a memory limit rather than a crash), then abort. */
static void out_of_memory(void)
{
    static const char msg[] = "precis: out of memory\n";
    ssize_t rc = write(2, msg, sizeof msg - 1);
    (void)rc;
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory();
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory();
    return q;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s);
    char *p = xmalloc(n + 1);
    memcpy(p, s, n + 1);
    return p;
}

/* Continuation byte test. */
static int is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

/* A lead byte c: how many continuation bytes follow and the range the first
 * of them must fall in (overlongs, surrogates and > U+10FFFF excluded);
 * -1 when c cannot start a character. */
static int lead_byte(unsigned char c, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        return 1;
    if (c >= 0xE0 && c <= 0xEF) {
        if (c == 0xE0) *lo = 0xA0;          /* overlong */
        if (c == 0xED) *hi = 0x9F;          /* surrogates */
        return 2;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (c == 0xF0) *lo = 0x90;          /* overlong */
        if (c == 0xF4) *hi = 0x8F;          /* > U+10FFFF */
        return 3;
    }
    return -1;
}

int utf8_stream_step(utf8_stream *u, unsigned char b)
{
    if (u->need) {
        if (b < u->lo || b > u->hi)
            return -1;
        u->need--;
        u->lo = 0x80;
        u->hi = 0xBF;
        return 0;
    }
    if (b < 0x80)
        return 0;
    int need = lead_byte(b, &u->lo, &u->hi);
    if (need < 0)
        return -1;
    u->need = (uint8_t)need;
    return 0;
}

size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char c = s[0];
    *cp = UINT32_MAX;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    unsigned char lo, hi;               /* allowed range of the second byte */
    int need = lead_byte(c, &lo, &hi);
    if (need < 0)
        return 1;
    uint32_t v = c & (need == 1 ? 0x1F : need == 2 ? 0x0F : 0x07);
    for (size_t i = 1; i <= (size_t)need; i++) {
        if (i >= len)
            return i;
        unsigned char b = s[i];
        if (i == 1 ? (b < lo || b > hi) : !is_cont(b))
            return i;
        v = (v << 6) | (b & 0x3F);
    }
    *cp = v;
    return (size_t)need + 1;
}

size_t utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int utf8_valid(const char *data, size_t len)
{
    const unsigned char *s = (const unsigned char *)data;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = utf8_decode(s + i, len - i, &cp);
        if (cp == UINT32_MAX || cp == 0)
            return 0;
        i += n;
    }
    return 1;
}

int utf8_is_space(uint32_t cp)
{
    if (cp <= 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0xA0))
        return 1;
    return cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

int utf8_is_invisible(uint32_t cp) { return cp == 0x200B || cp == 0xFEFF; }

size_t utf8_count(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (!is_cont((unsigned char)s[i]))
            n++;
    return n;
}

size_t utf8_prefix_bytes(const char *s, size_t len, size_t max_chars)
{
    size_t bytes = 0;
    for (size_t chars = 0; bytes < len && chars < max_chars; chars++) {
        bytes++;
        while (bytes < len && is_cont((unsigned char)s[bytes]))
            bytes++;
    }
    return bytes;
}

size_t utf8_floor(const char *s, size_t len, size_t n)
{
    while (n > 0 && n < len && is_cont((unsigned char)s[n]))
        n--;
    return n;
}

char *utf8_sanitize(const char *data, size_t len, size_t *out_len)
{
    const unsigned char *s = (const unsigned char *)data;
    size_t ascii = 0;
    while (ascii < len && s[ascii] && s[ascii] < 0x80)
        ascii++;
    if (ascii == len) { /* plain ASCII without NUL: already clean */
        char *copy = xmalloc(len + 1);
        memcpy(copy, data, len);
        copy[len] = '\0';
        if (out_len)
            *out_len = len;
        return copy;
    }
    /* Worst case: every byte becomes U+FFFD (3 bytes). */
    if (len > (SIZE_MAX - 1) / 3)
        out_of_memory();
    char *out = xmalloc(len * 3 + 1);
    size_t o = 0, i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = utf8_decode(s + i, len - i, &cp);
        if (cp == UINT32_MAX) {
            o += utf8_encode(0xFFFD, out + o);
        } else if (cp != 0) {
            memcpy(out + o, s + i, n);
            o += n;
        }
        i += n;
    }
    out[o] = '\0';
    if (out_len)
        *out_len = o;
    return xrealloc(out, o + 1);
}

/* Windows-1252 meanings of bytes 0x80..0x9F (0 = undefined, kept as C1). */
static const uint16_t cp1252_c1[32] = {
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
    0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
};

char *latin1_to_utf8(const char *data, size_t len, size_t *out_len)
{
    if (len > (SIZE_MAX - 1) / 3)
        out_of_memory();
    char *out = xmalloc(len * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)data[i];
        uint32_t cp = c >= 0x80 && c <= 0x9F && cp1252_c1[c - 0x80] ? cp1252_c1[c - 0x80] : c;
        if (cp != 0)
            o += utf8_encode(cp, out + o);
    }
    out[o] = '\0';
    if (out_len)
        *out_len = o;
    return xrealloc(out, o + 1);
}
