/* utf8.h — the project's one UTF-8 decoder and its helpers (extractors,
 * pipeline, the engine's tokenizers and JSON constraint).
 *
 * Decoding follows RFC 3629 strictly: overlong forms, surrogates and code
 * points above U+10FFFF are invalid. Sanitizing replaces each maximal invalid
 * subsequence with U+FFFD and drops NUL bytes, so the result is always a valid
 * NUL-terminated UTF-8 string. Allocation failure aborts (as g_malloc does):
 * these helpers are used by builders that have no error path.
 */
#ifndef PRECIS_UTF8_H
#define PRECIS_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decode one code point at s[0..len). Returns the number of bytes consumed
 * (1..4) and stores the code point in *cp; on an invalid sequence stores
 * UINT32_MAX in *cp and returns the length of the invalid subpart (>= 1). */
size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

/* Incremental validation, one byte at a time, by the same rules as
 * utf8_decode (for matchers that see text byte by byte). Start zeroed; a
 * text is complete when need is 0. */
typedef struct utf8_stream {
    uint8_t need, lo, hi;        /* continuation bytes still due; the next one's range */
} utf8_stream;

/* 0 when b may come next (u updated), -1 when it may not. */
int utf8_stream_step(utf8_stream *u, unsigned char b);

/* Encode cp (must be a valid scalar value) into out[4]; returns its length. */
size_t utf8_encode(uint32_t cp, char out[4]);

/* True when data[0..len) is entirely valid UTF-8 without NUL bytes. */
int utf8_valid(const char *data, size_t len);

/* The white space a document's text collapses (and quotes are compared
 * across): controls, NBSP and the Unicode spaces and line separators. */
int utf8_is_space(uint32_t cp);
/* Characters that show nothing and are dropped: zero-width space and BOM. */
int utf8_is_invisible(uint32_t cp);

/* Number of code points in a valid UTF-8 string of len bytes. */
size_t utf8_count(const char *s, size_t len);

/* Bytes of the first max_chars code points of valid UTF-8 s[0..len). */
size_t utf8_prefix_bytes(const char *s, size_t len, size_t max_chars);

/* The largest character boundary <= n in valid UTF-8 s[0..len) (n <= len):
 * where to cut without splitting a character. */
size_t utf8_floor(const char *s, size_t len, size_t n);

/* Valid, NUL-terminated copy of data[0..len) (see top of file); *out_len
 * (optional) receives its length in bytes. Never returns NULL. */
char *utf8_sanitize(const char *data, size_t len, size_t *out_len);

/* Convert ISO-8859-1 bytes to UTF-8 (NUL bytes dropped). Bytes 0x80..0x9F
 * are read as Windows-1252, as web browsers do for "latin1". Never NULL. */
char *latin1_to_utf8(const char *data, size_t len, size_t *out_len);

/* malloc/realloc/strdup that abort on failure (after writing
 * "precis: out of memory" to stderr). */
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
