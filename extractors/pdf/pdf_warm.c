/* pdf_warm.c — extract a built-in PDF once, to warm the process (see
 * pdf_warm.h). */
#include "extractors/pdf/pdf_warm.h"

#include <glib.h>
#include <poppler.h>
#include <stdlib.h>

#include "common/utf8.h"

#include "extractors/pdf/pdf.h"

/* A one-page PDF with a line of Helvetica text, its xref offsets computed. */
static GString *warm_pdf(void)
{
    static const char *const objects[] = {
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        ("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
         "/Contents 5 0 R >>"),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        "<< /Length 40 >>\nstream\nBT /F1 12 Tf 72 700 Td (Warm up.) Tj ET\n\nendstream",
    };
    enum { N = sizeof objects / sizeof *objects };
    size_t offsets[N];
    GString *pdf = g_string_new("%PDF-1.4\n");
    for (size_t i = 0; i < N; i++) {
        offsets[i] = pdf->len;
        g_string_append_printf(pdf, "%zu 0 obj %s endobj\n", i + 1, objects[i]);
    }
    size_t xref = pdf->len;
    g_string_append_printf(pdf, "xref\n0 %d\n0000000000 65535 f \n", N + 1);
    for (size_t i = 0; i < N; i++)
        g_string_append_printf(pdf, "%010zu 00000 n \n", offsets[i]);
    g_string_append_printf(pdf, "trailer << /Size %d /Root 1 0 R >>\nstartxref\n%zu\n%%%%EOF\n", N + 1, xref);
    return pdf;
}

struct pdf_warm {
    PopplerDocument *held;   /* keeps poppler's GlobalParams alive */
};

pdf_warm *pdf_warm_up(void)
{
    GString *pdf = warm_pdf();
    document *doc = NULL;
    perr err = { { 0 } };
    if (pdf_extract(pdf->str, pdf->len, NULL, &doc, &err) == 0) {
        char *json = document_to_json_compact(doc); /* as a child sends it */
        free(json);
        document_free(doc);
    }
    GBytes *bytes = g_string_free_to_bytes(pdf);
    PopplerDocument *held = poppler_document_new_from_bytes(bytes, NULL, NULL);
    g_bytes_unref(bytes); /* the document holds its own reference */
    if (!held)
        return NULL;
    pdf_warm *w = xmalloc(sizeof *w);
    w->held = held;
    return w;
}

void pdf_warm_free(pdf_warm *w)
{
    if (!w)
        return;
    g_object_unref(w->held);
    free(w);
}
