/* fuzz_quote.c — libFuzzer target for quote_locate_indexed() (pipeline/analyses/quote.h).
 *
 * Input: a document body, then optionally a NUL byte and a quote. The body is
 * cut into blocks at '\n'; a block starting with '#' becomes a section
 * heading, any other a paragraph (page = block number % 5). Without a NUL
 * byte the quote is a slice of full_text chosen by the first two input bytes,
 * which must then be found. Any match must lie inside full_text, on character
 * boundaries, with code-point offsets that agree with the byte offsets, and
 * an exact match must equal the trimmed quote; violations abort.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "extractors/document.h"
#include "pipeline/analyses/quote.h"

static document *build_document(const char *body, size_t len)
{
    document *doc = document_new("text", "text/plain");
    size_t start = 0, block = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && body[i] != '\n')
            continue;
        char *text = strndup(body + start, i - start);
        if (!text)
            abort();
        if (text[0] == '#')
            document_add_section(doc, text + 1, 1);
        else
            document_add_paragraph(doc, text, (int)(block % 5));
        free(text);
        block++;
        start = i + 1;
    }
    return doc;
}

static int is_boundary(const document *doc, size_t b)
{
    return b == doc->full_text_len || ((unsigned char)doc->full_text[b] & 0xC0) != 0x80;
}

static void check_match(const document *doc, const char *quote, const quote_match *m)
{
    if (!m->verified) {
        if (!m->reason || m->method != QUOTE_NONE)
            abort();
        return;
    }
    if (m->byte_start >= m->byte_end || m->byte_end > doc->full_text_len ||
        !is_boundary(doc, m->byte_start) || !is_boundary(doc, m->byte_end) ||
        m->char_start != utf8_count(doc->full_text, m->byte_start) ||
        m->char_end != utf8_count(doc->full_text, m->byte_end) || m->occurrences == 0)
        abort();
    if (m->method == QUOTE_EXACT) {
        size_t n = m->byte_end - m->byte_start;
        size_t q_len = strlen(quote);
        if (utf8_valid(quote, q_len) && !memmem(quote, q_len, doc->full_text + m->byte_start, n))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const char *body = (const char *)data + 2;
    size_t body_len = size - 2;
    const char *nul = memchr(body, '\0', body_len);
    document *doc = build_document(body, nul ? (size_t)(nul - body) : body_len);
    quote_index *idx;
    perr err = {{0}};
    if (quote_index_new(doc, &idx, &err) < 0)
        abort();
    char *quote;
    if (nul) {
        quote = strndup(nul + 1, body_len - (size_t)(nul - body) - 1);
    } else {
        size_t from = doc->full_text_len ? data[0] % doc->full_text_len : 0;
        while (from > 0 && !is_boundary(doc, from))
            from--;
        size_t to = from + data[1];
        if (to > doc->full_text_len)
            to = doc->full_text_len;
        while (!is_boundary(doc, to))
            to--;
        quote = strndup(doc->full_text + from, to - from);
    }
    if (!quote)
        abort();
    quote_match m;
    if (quote_locate_indexed(idx, quote, &m, &err) < 0)
        abort();
    check_match(doc, quote, &m);
    if (!nul && !m.verified && strcmp(m.reason, "empty quote") != 0)
        abort();   /* a slice of the text must be found */
    free(quote);
    quote_index_free(idx);
    document_free(doc);
    return 0;
}
