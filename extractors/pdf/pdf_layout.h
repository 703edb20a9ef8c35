/* pdf_layout.h — turning a PDF's text lines into clean paragraphs.
 *
 * Pure functions over lines (text + bounding box in PDF points, y growing
 * downwards), independent of poppler so they can be tested directly:
 *   1. running headers/footers: in documents of 3 or more pages, a line among
 *      the two top-most or two bottom-most lines of a page is removed when the
 *      same line (lower-cased, digit runs masked as '#', so page numbers and
 *      dates match) sits at the top/bottom of at least half of the pages
 *      (and of at least 3 pages);
 *   2. paragraphs: a new paragraph starts at a vertical gap clearly larger
 *      than the page's usual line pitch, at a jump back up the page (next
 *      column or block), at a change of line height (headings), at an
 *      indented line after a sentence end, after a short line ending a
 *      sentence, or at a line starting with PDF_LIST_MARKER; a continuation
 *      (previous text without final punctuation,
 *      next starting in lower case) is joined across columns and pages;
 *   3. joining lines: "regu-" + "lation" -> "regulation" when the line ends
 *      in a hyphen (U+002D, U+2010 or soft hyphen U+00AD) after a letter and
 *      the next line starts with a lower-case letter; otherwise one space.
 *      Remaining soft hyphens are removed, and a paragraph that is only a
 *      list marker (bullets set apart from their items) is dropped.
 * A page recognised by OCR (pdf_ocr.h) brings its paragraphs as the
 * recogniser found them (ocr = 1, with their confidence) instead of lines:
 * step 2 ends the paragraph before it and emits them as they are.
 */
#ifndef PRECIS_PDF_LAYOUT_H
#define PRECIS_PDF_LAYOUT_H

#include <stddef.h>

/* The list marker a line starting with bullet glyphs begins with
 * (pdf_glyphs.h); such a line starts a paragraph. */
#define PDF_LIST_MARKER "\xe2\x80\xa2 " /* U+2022 and a space */

typedef struct pdf_line {
    char *text;               /* UTF-8, no newline */
    double x1, y1, x2, y2;    /* bounding box when has_box */
    int has_box;
    int removed;              /* marked as running header/footer */
} pdf_line;

typedef struct pdf_para {
    char *text;
    int page;                 /* page the paragraph starts on */
    int ocr;                  /* recognised by OCR */
    double ocr_confidence;    /* ocr: 0..100 */
} pdf_para;

typedef struct pdf_para_list {
    pdf_para *items;
    size_t n, cap;
} pdf_para_list;

typedef struct pdf_page_text {
    int number;               /* 1-based page number */
    pdf_line *lines;
    size_t n_lines, cap_lines;
    int ocr;                  /* the page's text is ocr_paras (OCR), not lines */
    pdf_para_list ocr_paras;
} pdf_page_text;

/* Append a line (text[0..len), copied, made valid UTF-8); box is
 * {x1, y1, x2, y2} or NULL (a box with a non-finite value counts as none). */
void pdf_page_add_line(pdf_page_text *page, const char *text, size_t len, const double *box);
void pdf_page_text_free(pdf_page_text *page);
/* Append a paragraph to *list (text copied, made valid UTF-8). */
void pdf_para_list_add(pdf_para_list *list, const char *text, int page, int ocr, double confidence);

/* Step 1: mark running headers/footers; returns how many lines were marked. */
size_t pdf_mark_running_lines(pdf_page_text *pages, size_t n_pages);

/* Steps 2 and 3 over all pages in order; appends to *out. */
void pdf_build_paragraphs(const pdf_page_text *pages, size_t n_pages, pdf_para_list *out);
void pdf_para_list_free(pdf_para_list *list);

/* Step 3 alone: append `next` to the paragraph text in buf (GString). */
struct _GString;
void pdf_join_line(struct _GString *buf, const char *next);

#endif
