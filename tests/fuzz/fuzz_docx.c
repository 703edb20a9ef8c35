/* fuzz_docx.c — libFuzzer target for docx_extract() on arbitrary bytes
 * (zip container, relationships, styles, notes).
 *
 * Whatever the input, extraction must end in a document or an error with a
 * message; a document must serialize to JSON and every paragraph's offsets
 * must point inside full_text at its own text (checked, so ASan sees any
 * over-read and a mismatch aborts).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "extractors/extract.h"
#include "extractors/xml.h"

static void check_document(const document *doc)
{
    for (size_t s = 0; s < doc->n_sections; s++) {
        const doc_section *sec = &doc->sections[s];
        for (size_t i = 0; i < sec->n_paragraphs; i++) {
            const doc_paragraph *p = &sec->paragraphs[i];
            size_t n = strlen(p->text);
            if (p->byte_end > doc->full_text_len || p->byte_end - p->byte_start != n ||
                memcmp(doc->full_text + p->byte_start, p->text, n) != 0)
                abort();
        }
    }
    char *json = document_to_json(doc, 0);
    free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    extract_options opts = {.max_text_bytes = 1 << 20};
    document *doc = NULL;
    perr err = {{0}};
    if (docx_extract(data, size, &opts, &doc, &err) == 0) {
        if (!doc)
            abort();
        check_document(doc);
        document_free(doc);
    } else if (doc || !err.msg[0]) {
        abort();
    }
    return 0;
}
