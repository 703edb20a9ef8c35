/* pdf_glyphs.h — a page's glyphs (poppler's page text, one box per
 * character, optionally which characters come from a dingbat font) into
 * pdf_layout lines.
 *
 * Independent of poppler so the rules can be tested on synthetic boxes:
 *   1. poppler's text lines are split where they glue separate blocks
 *      (columns, table cells): a step back to the left, a gap over 1.5 line
 *      heights, boxes neither side by side nor stacked; a gap over half a
 *      line height without a space gets one;
 *   2. subscripts and superscripts stay on their base: a glyph markedly
 *      smaller than the one before it (height under 0.85 of it) whose
 *      baseline is shifted, within 0.12 of the larger height horizontally,
 *      a letter, digit or sign after a letter/digit/closing bracket, is
 *      glued to it (poppler's own space between the two words is dropped;
 *      it stays after the script, and after a script that comes first, as
 *      a footnote's number before its text): "PCO" +
 *      "2" -> "PCO2". poppler gives one box per word, so a subscript with
 *      a superscript right after it (NH4+), which poppler makes one word as
 *      tall as both, is not seen as smaller and keeps poppler's space;
 *   3. bullet glyphs (U+2022, U+2023, U+2043, U+2219, geometric shapes
 *      U+25A0..U+25FF, ballot boxes U+2610..U+2612, dingbats
 *      U+2700..U+27BF, private-use U+E000..U+F8FF, and any glyph of a
 *      dingbat font, which comes out as a letter such as 'h' from Wingdings)
 *      never touch a word: a run of them starting a line becomes the list
 *      marker PDF_LIST_MARKER; elsewhere they are dropped for a space.
 * Each line is folded (textnorm.h) before it is added.
 */
#ifndef PRECIS_PDF_GLYPHS_H
#define PRECIS_PDF_GLYPHS_H

#include <stddef.h>

#include "extractors/pdf/pdf_layout.h"

typedef struct pdf_box {
    double x1, y1, x2, y2;        /* PDF points, y growing downwards */
} pdf_box;

typedef struct pdf_glyphs {
    const char *text;             /* valid UTF-8, lines separated by '\n' */
    const pdf_box *boxes;         /* one per character of text, or NULL */
    const unsigned char *dingbat; /* per character: 1 = from a dingbat font; or NULL */
    size_t n_chars;               /* characters of text (length of boxes/dingbat) */
} pdf_glyphs;

/* Rules 1-3 over every line of g->text; appends the lines to page. */
void pdf_glyphs_to_lines(const pdf_glyphs *g, pdf_page_text *page);

/* Rule 3's code points. */
int pdf_is_bullet(unsigned int c);

/* A font whose glyphs are symbols whatever their codes (Wingdings,
 * Webdings, ZapfDingbats, Dingbats, Monotype Sorts), by name, subset
 * prefix ("ABCDEF+") ignored. */
int pdf_font_is_dingbat(const char *name);

#endif
