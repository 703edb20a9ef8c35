/* fuzz_extract.h — the body shared by the XML and DOCX libFuzzer targets.
 *
 * Whatever the input, extraction must end in a document or an error with a
 * message; a document must serialize to JSON and every paragraph's offsets
 * must point inside full_text at its own text (checked, so ASan sees any
 * over-read and a mismatch aborts).
 */
#ifndef PRECIS_FUZZ_EXTRACT_H
#define PRECIS_FUZZ_EXTRACT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "extractors/extract.h"

typedef int (*fuzz_extract_fn)(const void *data, size_t len, const struct extract_options *opts,
                               document **out, perr *err);

static void fuzz_check_document(const document *doc)
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

static int fuzz_extract_one(fuzz_extract_fn extract, const uint8_t *data, size_t size)
{
    extract_options opts = {.max_text_bytes = 1 << 20};
    document *doc = NULL;
    perr err = {{0}};
    if (extract(data, size, &opts, &doc, &err) == 0) {
        if (!doc)
            abort();
        fuzz_check_document(doc);
        document_free(doc);
    } else if (doc || !err.msg[0]) {
        abort();
    }
    return 0;
}

#endif
