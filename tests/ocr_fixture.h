/* ocr_fixture.h — scanned-looking PDFs made from known text, and how much of
 * that text OCR gave back (for tests/test_ocr*.c).
 *
 * ocr_fixture_scan_pdf draws the text (DejaVu Serif, 11 pt, word-wrapped
 * paragraphs separated by blank lines, a new page at each '\f') onto a
 * white image surface at dpi, then paints that image onto an A4 PDF page:
 * the PDF has no text layer, only the picture of one. ocr_fixture_text_pdf
 * draws the same text as real PDF text (a text layer).
 *
 * Word accuracy: both texts cut into words (maximal runs of letters and
 * digits, lower-cased, Unicode-aware); accuracy = the share of the expected
 * words (as a multiset) found among the recognised ones. 1.0 = every word
 * back, character for character, accents included.
 */
#ifndef PRECIS_TEST_OCR_FIXTURE_H
#define PRECIS_TEST_OCR_FIXTURE_H

#include <stddef.h>

unsigned char *ocr_fixture_scan_pdf(const char *text, int dpi, size_t *len);
unsigned char *ocr_fixture_text_pdf(const char *text, size_t *len);
/* Mixed: page i (< 32) is scanned when bit i of scanned is set, else text. */
unsigned char *ocr_fixture_pdf(const char *text, int dpi, unsigned scanned, size_t *len);
double ocr_fixture_word_accuracy(const char *expected, const char *got);

#endif
