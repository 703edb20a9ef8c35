/* ocr_fixture.c — image-only PDFs from known text with cairo, and word
 * accuracy (see ocr_fixture.h). */
#include "tests/ocr_fixture.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <criterion/criterion.h>
#include <fontconfig/fontconfig.h>
#include <glib.h>
#include <string.h>

#include "tests/support.h"

#define PAGE_W 595.0 /* A4, points */
#define PAGE_H 842.0
#define MARGIN 64.0
#define FONT_PT 11.0
#define LEADING 1.45


static void draw_paragraph(cairo_t *cr, const char *para, double *y)
{
    gchar **words = g_strsplit_set(para, " \n", 0);
    GString *line = g_string_new(NULL);
    for (gchar **w = words;; w++) {
        int flush = *w == NULL;
        if (!flush && **w) {
            GString *trial = g_string_new(line->str);
            if (trial->len)
                g_string_append_c(trial, ' ');
            g_string_append(trial, *w);
            cairo_text_extents_t ext;
            cairo_text_extents(cr, trial->str, &ext);
            if (ext.x_advance > PAGE_W - 2 * MARGIN && line->len) {
                cairo_move_to(cr, MARGIN, *y);
                cairo_show_text(cr, line->str);
                *y += FONT_PT * LEADING;
                g_string_assign(line, *w);
            } else {
                g_string_assign(line, trial->str);
            }
            g_string_free(trial, TRUE);
        }
        if (flush) {
            if (line->len) {
                cairo_move_to(cr, MARGIN, *y);
                cairo_show_text(cr, line->str);
                *y += FONT_PT * LEADING;
            }
            break;
        }
    }
    *y += FONT_PT * LEADING;   /* blank line between paragraphs */
    g_string_free(line, TRUE);
    g_strfreev(words);
}

static void draw_page(cairo_t *cr, const char *page_text)
{
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_select_font_face(cr, "DejaVu Serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, FONT_PT);
    double y = MARGIN + FONT_PT;
    gchar **paras = g_strsplit(page_text, "\n\n", 0);
    for (gchar **p = paras; *p; p++)
        draw_paragraph(cr, *p, &y);
    g_strfreev(paras);
}

static cairo_status_t to_bytes(void *closure, const unsigned char *data, unsigned int length)
{
    g_byte_array_append(closure, data, length);
    return CAIRO_STATUS_SUCCESS;
}

static unsigned char *finish(cairo_surface_t *pdf, GByteArray *bytes, size_t *len)
{
    cairo_surface_finish(pdf);
    cr_assert_eq(cairo_surface_status(pdf), CAIRO_STATUS_SUCCESS);
    cairo_surface_destroy(pdf);
    /* cairo's font caches and fontconfig's configuration would otherwise
     * stay allocated and LeakSanitizer report them at the test's exit. */
    cairo_debug_reset_static_data();
    FcFini();
    *len = bytes->len;
    return g_byte_array_free(bytes, FALSE);
}

/* Page text drawn as an image at dpi, painted onto the PDF page. */
static void scanned_page(cairo_t *pcr, const char *text, int dpi)
{
    double scale = dpi / 72.0;
    cairo_surface_t *img =
        cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)(PAGE_W * scale), (int)(PAGE_H * scale));
    cairo_t *cr = cairo_create(img);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_scale(cr, scale, scale);
    draw_page(cr, text);
    cairo_destroy(cr);
    cairo_save(pcr);
    cairo_scale(pcr, 1 / scale, 1 / scale);
    cairo_set_source_surface(pcr, img, 0, 0);
    cairo_paint(pcr);
    cairo_restore(pcr);
    cairo_surface_destroy(img);
}

unsigned char *ocr_fixture_pdf(const char *text, int dpi, unsigned scanned, size_t *len)
{
    GByteArray *bytes = g_byte_array_new();
    cairo_surface_t *pdf = cairo_pdf_surface_create_for_stream(to_bytes, bytes, PAGE_W, PAGE_H);
    cairo_t *cr = cairo_create(pdf);
    gchar **pages = g_strsplit(text, "\f", 0);
    for (unsigned i = 0; pages[i]; i++) {
        if (i < 32 && (scanned >> i) & 1)
            scanned_page(cr, pages[i], dpi);
        else
            draw_page(cr, pages[i]);
        cairo_show_page(cr);
    }
    g_strfreev(pages);
    cairo_destroy(cr);
    return finish(pdf, bytes, len);
}

unsigned char *ocr_fixture_scan_pdf(const char *text, int dpi, size_t *len)
{
    return ocr_fixture_pdf(text, dpi, ~0u, len);
}

unsigned char *ocr_fixture_text_pdf(const char *text, size_t *len)
{
    return ocr_fixture_pdf(text, 0, 0, len);
}

double ocr_fixture_word_accuracy(const char *expected, const char *got)
{
    size_t n_expected, n_got;
    size_t matched = test_words_in_common(expected, got, &n_expected, &n_got);
    return n_expected ? (double)matched / (double)n_expected : 1.0;
}
