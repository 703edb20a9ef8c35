/* textnorm.h — Unicode clean-up for extracted text.
 *
 * Decision: NFKC is too aggressive for documents (it rewrites superscripts,
 * fractions, ellipses, circled numbers, CJK compatibility characters...), so
 * text is normalized to NFC and then only these compatibility forms are
 * folded, because PDFs produce them as glyph artefacts rather than meaning:
 *   - Latin ligatures U+FB00..U+FB06 (ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ) -> ff fi fl ffi ffl st st
 *   - fullwidth ASCII U+FF01..U+FF5E -> U+0021..U+007E, ideographic space -> ' '
 *   - mathematical alphanumeric symbols U+1D400..U+1D7FF (𝑥, 𝐀, 𝟏) -> the
 *     plain letter or digit they are styled from
 *   - non-breaking hyphen U+2011 -> '-'
 *   - TeX's dotless i/j followed by a combining accent -> i/j (so "naı̈ve"
 *     composes to "naïve")
 * Invalid UTF-8 is replaced with U+FFFD first.
 */
#ifndef PRECIS_TEXTNORM_H
#define PRECIS_TEXTNORM_H

#include <stddef.h>

/* New NUL-terminated string (never NULL); *out_len optional. */
char *textnorm_fold(const char *s, size_t len, size_t *out_len);

#endif
