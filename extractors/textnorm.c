/* textnorm.c — NFC plus folding of PDF glyph artefacts (see textnorm.h). */
#include "extractors/textnorm.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"

/* Expansion of a Latin ligature, or NULL. */
static const char *ligature(uint32_t cp)
{
    static const char *const forms[] = { "ff", "fi", "fl", "ffi", "ffl", "st", "st" };
    return cp >= 0xFB00 && cp <= 0xFB06 ? forms[cp - 0xFB00] : NULL;
}

/* Single replacement code point, or cp itself. */
static uint32_t fold_one(uint32_t cp)
{
    if (cp >= 0xFF01 && cp <= 0xFF5E)
        return cp - 0xFF01 + 0x21;
    if (cp == 0x3000)
        return ' ';
    if (cp == 0x2011)
        return '-';
    if (cp >= 0x1D400 && cp <= 0x1D7FF) {
        gunichar out[G_UNICHAR_MAX_DECOMPOSITION_LENGTH];
        gsize n = g_unichar_fully_decompose(cp, TRUE, out, G_N_ELEMENTS(out));
        if (n == 1)
            return out[0];
    }
    return cp;
}

/* TeX writes accented i/j as a dotless letter plus a combining accent
 * ("naı̈ve"): restore the dotted letter so NFC can compose "naïve". Same length
 * in bytes (U+0131 and U+0237 are 2 bytes; i and j are 1), edits in place. */
static size_t undot_before_accents(char *s, size_t len)
{
    size_t o = 0, i = 0;
    while (i < len) {
        uint32_t cp, next = 0;
        size_t n = utf8_decode((const unsigned char *)s + i, len - i, &cp);
        if (i + n < len)
            utf8_decode((const unsigned char *)s + i + n, len - i - n, &next);
        if ((cp == 0x0131 || cp == 0x0237) && next >= 0x0300 && next <= 0x036F) {
            s[o++] = cp == 0x0131 ? 'i' : 'j';
        } else {
            memmove(s + o, s + i, n);
            o += n;
        }
        i += n;
    }
    s[o] = '\0';
    return o;
}

/* Printable ASCII and ASCII controls but NUL: every step above is the
 * identity on it. */
static int is_plain_ascii(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80 || s[i] == 0)
            return 0;
    return 1;
}

/* Whether a code point may be changed by NFC or by the folds: combining
 * marks and everything from U+0300 up, except the general punctuation
 * U+2012..U+205F (dashes, quotes, bullets, ellipsis: no decomposition, no
 * combining class, never part of a composition; U+2011 is folded). */
static int may_change(uint32_t cp)
{
    return cp >= 0x0300 && !(cp >= 0x2012 && cp <= 0x205F);
}

/* Valid UTF-8 s[0..len) with no code point may_change. */
static int is_stable(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        i += utf8_decode((const unsigned char *)s + i, len - i, &cp);
        if (may_change(cp))
            return 0;
    }
    return 1;
}

char *textnorm_fold(const char *s, size_t len, size_t *out_len)
{
    if (is_plain_ascii(s, len)) { /* most lines of most documents */
        char *copy = xmalloc(len + 1);
        memcpy(copy, s, len);
        copy[len] = '\0';
        if (out_len)
            *out_len = len;
        return copy;
    }
    size_t clean_len;
    char *clean = utf8_sanitize(s, len, &clean_len);
    if (is_stable(clean, clean_len)) { /* Latin-1, quotes and dashes: nothing to do */
        if (out_len)
            *out_len = clean_len;
        return clean;
    }
    clean_len = undot_before_accents(clean, clean_len);
    char *nfc = g_utf8_normalize(clean, (gssize)clean_len, G_NORMALIZE_DEFAULT_COMPOSE);
    free(clean);
    if (!nfc)
        abort();
    size_t n = strlen(nfc);
    /* A ligature (3 bytes) expands to at most 3 bytes; other folds shrink. */
    char *out = xmalloc(n + 1);
    size_t o = 0, i = 0;
    while (i < n) {
        uint32_t cp;
        size_t step = utf8_decode((const unsigned char *)nfc + i, n - i, &cp);
        const char *lig = ligature(cp);
        if (lig) {
            size_t l = strlen(lig);
            memcpy(out + o, lig, l);
            o += l;
        } else {
            o += utf8_encode(fold_one(cp), out + o);
        }
        i += step;
    }
    out[o] = '\0';
    g_free(nfc);
    if (out_len)
        *out_len = o;
    return xrealloc(out, o + 1);
}
