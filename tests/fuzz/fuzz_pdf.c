/* fuzz_pdf.c — libFuzzer target for pdf_extract() on arbitrary bytes.
 *
 * Inputs are capped at 64 KB and extraction at 4 pages and 1 MB of text so
 * one input stays cheap (poppler itself has no time bound: production runs
 * go through the sandbox). Whatever the input, extraction must end in a
 * document or an error with a message; a document's paragraphs must point
 * inside full_text at their own text (bytes and code points), and the JSON
 * round trip must reproduce full_text (any mismatch aborts).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "extractors/pdf/pdf.h"

#define MAX_INPUT (64 * 1024)

static void check_paragraph(const document *doc, const doc_paragraph *p)
{
    size_t n = strlen(p->text);
    if (p->byte_end > doc->full_text_len || p->byte_start > p->byte_end || p->byte_end - p->byte_start != n ||
        memcmp(doc->full_text + p->byte_start, p->text, n) != 0)
        abort();
    if (p->char_end - p->char_start != utf8_count(p->text, n) ||
        p->char_start != utf8_count(doc->full_text, p->byte_start))
        abort();
    if (p->page < 1 || p->page > doc->pages)
        abort();
}

static void check_document(const document *doc)
{
    if (!utf8_valid(doc->full_text, doc->full_text_len))
        abort();
    for (size_t s = 0; s < doc->n_sections; s++)
        for (size_t i = 0; i < doc->sections[s].n_paragraphs; i++)
            check_paragraph(doc, &doc->sections[s].paragraphs[i]);
    char *json = document_to_json(doc, 0);
    document *back = NULL;
    perr err;
    if (document_from_json(&back, json, &err) != 0 || strcmp(back->full_text, doc->full_text) != 0)
        abort();
    document_free(back);
    free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    extract_options opts = { .max_pages = 4, .max_text_bytes = 1 << 20 };
    document *doc = NULL;
    perr err = { { 0 } };
    if (pdf_extract(data, size, &opts, &doc, &err) == 0) {
        check_document(doc);
        document_free(doc);
    } else if (doc || err.msg[0] == '\0') {
        abort();
    }
    return 0;
}
