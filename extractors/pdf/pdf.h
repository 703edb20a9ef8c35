/* pdf.h — text extraction from PDF with poppler-glib.
 *
 * Text is read per page in poppler's reading order, with per-character
 * boxes (poppler_page_get_text_layout) used to rebuild lines, find running
 * headers/footers and paragraph breaks (see pdf_layout.h). Glyph artefacts are
 * folded (textnorm.h: ligatures, fullwidth and math-styled letters).
 * Metadata: title, authors (Info /Author split on ';'), subject, keywords,
 * creator, producer, creation/modification dates (ISO 8601), PDF version.
 *
 * Errors: "encrypted PDF: password required" (no password given),
 * "encrypted PDF: incorrect password", "no text layer on pages 1–N; OCR not
 * performed" when no page has text (some pages without text only give a
 * warning of that form), "empty input (0 bytes)", "not a readable PDF: ...".
 * poppler itself has no time or memory bound: run untrusted files through
 * the sandbox (sandbox.h).
 */
#ifndef PRECIS_PDF_H
#define PRECIS_PDF_H

#include <stddef.h>

#include "common/error.h"
#include "extractors/document.h"
#include "extractors/extract.h"

int pdf_extract(const void *data, size_t len, const extract_options *opts,
                document **out, perr *err);

#endif
