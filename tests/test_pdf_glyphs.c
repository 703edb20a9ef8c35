/* test_pdf_glyphs.c — glyph-level PDF text rules (extractors/pdf/pdf_glyphs.h)
 * on PDFs drawn with cairo (sub/superscripts, Unicode bullets) or written by
 * hand (a Wingdings font whose bullets come out as letters). */
#include <cairo-pdf.h>
#include <cairo.h>
#include <criterion/criterion.h>
#include <fontconfig/fontconfig.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "extractors/pdf/pdf.h"
#include "extractors/pdf/pdf_glyphs.h"
#include "extractors/sandbox.h"

/* ---- helpers ------------------------------------------------------------------ */

/* A piece of text drawn after the previous one: its size, its baseline
 * shift (points, down positive) and the gap before it. */
typedef struct run {
    const char *text;
    double size, shift, gap;
} run;

static cairo_status_t to_bytes(void *closure, const unsigned char *data, unsigned int length)
{
    g_byte_array_append(closure, data, length);
    return CAIRO_STATUS_SUCCESS;
}

/* One A4 page; each NULL-text-terminated line of runs starts at x, y. */
static char *draw_pdf(const run *const *lines, const double *xs, const double *ys, size_t n_lines, size_t *len)
{
    GByteArray *bytes = g_byte_array_new();
    cairo_surface_t *pdf = cairo_pdf_surface_create_for_stream(to_bytes, bytes, 595, 842);
    cairo_t *cr = cairo_create(pdf);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    for (size_t l = 0; l < n_lines; l++) {
        double x = xs[l], y = ys[l];
        for (const run *r = lines[l]; r->text; r++) {
            cairo_set_font_size(cr, r->size);
            cairo_move_to(cr, x + r->gap, ys[l] + r->shift);
            cairo_show_text(cr, r->text);
            cairo_get_current_point(cr, &x, &y);
        }
    }
    cairo_show_page(cr);
    cairo_destroy(cr);
    cairo_surface_finish(pdf);
    cr_assert_eq(cairo_surface_status(pdf), CAIRO_STATUS_SUCCESS);
    cairo_surface_destroy(pdf);
    cairo_debug_reset_static_data(); /* else LeakSanitizer reports cairo's caches */
    FcFini();
    *len = bytes->len;
    return (char *)g_byte_array_free(bytes, FALSE);
}

static document *extract(const char *data, size_t len)
{
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(pdf_extract(data, len, NULL, &doc, &err), 0, "pdf_extract: %s", err.msg);
    return doc;
}

/* Paragraph texts joined with " | ". */
static char *paragraphs(const document *doc)
{
    GString *s = g_string_new(NULL);
    for (size_t i = 0; i < doc->n_sections; i++)
        for (size_t k = 0; k < doc->sections[i].n_paragraphs; k++)
            g_string_append_printf(s, "%s%s", s->len ? " | " : "", doc->sections[i].paragraphs[k].text);
    return g_string_free(s, FALSE);
}

/* ---- sub- and superscripts ------------------------------------------------------ */

Test(pdf_glyphs, subscripts_and_superscripts_stay_on_their_base)
{
    /* 10 pt text; 6.5 pt scripts 2.5-5 pt off the baseline, with the small
     * gaps that make poppler see two words. (A subscript with a superscript
     * right after it, NH4+, poppler makes one word as tall as both: it
     * keeps poppler's space.) */
    const run line1[] = { { "The PaCO", 10, 0, 0 }, { "2", 6.5, 2.5, 0.6 }, { "rises and NH", 10, 0, 2.8 },
                          { "4", 6.5, 2.5, 0.4 },  { "falls, while x", 10, 0, 2.8 },
                          { "2", 6.5, -4, 0.5 },    { "grows.", 10, 0, 2.8 }, { NULL, 0, 0, 0 } };
    const run line2[] = { { "Deep PCO", 10, 0, 0 }, { "2", 6.5, 5, 0.5 }, { "is next.", 10, 0, 2.8 },
                          { NULL, 0, 0, 0 } };
    const run *lines[] = { line1, line2 };
    const double xs[] = { 72, 72 }, ys[] = { 100, 130 };
    size_t len;
    char *pdf = draw_pdf(lines, xs, ys, 2, &len);
    document *doc = extract(pdf, len);
    char *text = paragraphs(doc);
    cr_log_info("%s", text);
    cr_expect(strstr(text, "The PaCO2 rises and NH4 falls, while x2 grows.") != NULL, "got: %s", text);
    cr_expect(strstr(text, "Deep PCO2 is next.") != NULL, "got: %s", text);
    g_free(text);
    document_free(doc);
    g_free(pdf);
}

/* ---- bullets ------------------------------------------------------------------------ */

Test(pdf_glyphs, bullets_become_list_markers_never_glued)
{
    const run item1[] = { { "\xe2\x80\xa2" "Acidemie comes first", 10, 0, 0 }, { NULL, 0, 0, 0 } };      /* • */
    const run item2[] = { { "\xe2\x96\xaa" "Alkalosis second", 10, 0, 0 }, { NULL, 0, 0, 0 } };         /* ▪ */
    const run item3[] = { { "\xe2\x9c\x93\xe2\x9c\x93" "Checked third", 10, 0, 0 }, { NULL, 0, 0, 0 } }; /* ✓✓ */
    const run mid[] = { { "Paris" "\xe2\x97\x8f" "London", 10, 0, 0 }, { NULL, 0, 0, 0 } };              /* ● */
    const run lone[] = { { "\xe2\x80\xa2", 10, 0, 0 }, { NULL, 0, 0, 0 } };
    const run far[] = { { "Set apart from its bullet.", 10, 0, 0 }, { NULL, 0, 0, 0 } };
    const run *lines[] = { item1, item2, item3, mid, lone, far };
    const double xs[] = { 72, 72, 72, 72, 72, 300 }, ys[] = { 100, 114, 128, 160, 200, 240 };
    size_t len;
    char *pdf = draw_pdf(lines, xs, ys, 6, &len);
    document *doc = extract(pdf, len);
    char *text = paragraphs(doc);
    cr_log_info("%s", text);
    cr_expect(strstr(text, "\xe2\x80\xa2 Acidemie comes first | \xe2\x80\xa2 Alkalosis second | "
                           "\xe2\x80\xa2 Checked third | Paris London") != NULL,
              "got: %s", text);
    cr_expect(strstr(text, "Set apart from its bullet.") != NULL, "got: %s", text);
    cr_expect(strstr(text, "| \xe2\x80\xa2 |") == NULL && !g_str_has_suffix(text, "| \xe2\x80\xa2"),
              "a lone bullet paragraph: %s", text);
    g_free(text);
    document_free(doc);
    g_free(pdf);
}

/* A hand-written page: "hh" in Wingdings (no ToUnicode, so poppler reads the
 * codes as letters) right before "Acidemie" in Helvetica, twice. */
static char *wingdings_pdf(size_t *len)
{
    const char *content = "BT /F2 10 Tf 72 700 Td (hh) Tj ET BT /F1 10 Tf 90 700 Td (Acidemie metabolique) Tj ET\n"
                          "BT /F2 10 Tf 72 686 Td (h) Tj ET BT /F1 10 Tf 84 686 Td (Alcalose respiratoire) Tj ET\n";
    GString *pdf = g_string_new("%PDF-1.4\n");
    size_t off[7];
    off[1] = pdf->len;
    g_string_append(pdf, "1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n");
    off[2] = pdf->len;
    g_string_append(pdf, "2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n");
    off[3] = pdf->len;
    g_string_append(pdf, "3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                         "/Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >> endobj\n");
    off[4] = pdf->len;
    g_string_append(pdf, "4 0 obj << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> endobj\n");
    off[5] = pdf->len;
    g_string_append(pdf, "5 0 obj << /Type /Font /Subtype /Type1 /BaseFont /Wingdings-Regular >> endobj\n");
    off[6] = pdf->len;
    g_string_append_printf(pdf, "6 0 obj << /Length %zu >> stream\n%s\nendstream endobj\n", strlen(content),
                           content);
    size_t xref = pdf->len;
    g_string_append(pdf, "xref\n0 7\n0000000000 65535 f \n");
    for (int i = 1; i <= 6; i++)
        g_string_append_printf(pdf, "%010zu 00000 n \n", off[i]);
    g_string_append_printf(pdf, "trailer << /Size 7 /Root 1 0 R >>\nstartxref\n%zu\n%%%%EOF\n", xref);
    *len = pdf->len;
    return g_string_free(pdf, FALSE);
}

Test(pdf_glyphs, dingbat_font_letters_become_list_markers)
{
    size_t len;
    char *pdf = wingdings_pdf(&len);
    /* In the sandbox: poppler's fontconfig look-up of the missing font
     * leaves an allocation LeakSanitizer would report in this process. */
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(sandbox_extract(pdf, len, NULL, NULL, &doc, &err), 0, "%s", err.msg);
    char *text = paragraphs(doc);
    cr_log_info("%s", text);
    cr_expect_str_eq(text, "\xe2\x80\xa2 Acidemie metabolique | \xe2\x80\xa2 Alcalose respiratoire");
    g_free(text);
    document_free(doc);
    g_free(pdf);
}

/* ---- the rules' edges on synthetic boxes ------------------------------------------ */

Test(pdf_glyphs, classes)
{
    cr_expect(pdf_is_bullet(0x2022) && pdf_is_bullet(0x25AA) && pdf_is_bullet(0xF0B7) && pdf_is_bullet(0x2713));
    cr_expect(!pdf_is_bullet('h') && !pdf_is_bullet(0x00B7) && !pdf_is_bullet('-') && !pdf_is_bullet(0x2013));
    cr_expect(pdf_font_is_dingbat("AUXYXE+Wingdings") && pdf_font_is_dingbat("ZapfDingbats") &&
              pdf_font_is_dingbat("Webdings") && pdf_font_is_dingbat("MonotypeSorts"));
    cr_expect(!pdf_font_is_dingbat("Symbol") && !pdf_font_is_dingbat("TimesNewRoman") && !pdf_font_is_dingbat(NULL));
}

Test(pdf_glyphs, a_script_before_its_text_keeps_the_space)
{
    /* "1 The": a footnote's raised number, poppler's space, then full-size text. */
    const pdf_box boxes[] = { { 72, 92, 76, 99 }, { 76, 92, 76.5, 99 }, { 76.5, 92, 83, 104 },
                              { 83, 92, 89, 104 }, { 89, 92, 95, 104 } };
    pdf_glyphs g = { .text = "1 The", .boxes = boxes, .n_chars = 5 };
    pdf_page_text page = { .number = 1 };
    pdf_glyphs_to_lines(&g, &page);
    cr_assert_eq(page.n_lines, 1);
    cr_expect_str_eq(page.lines[0].text, "1 The");
    pdf_page_text_free(&page);
}
