/* test_ocr_limits.c — a scanned bundle gets time in proportion to its pages
 * (sandbox.h): each OCR'd page moves the wall-clock deadline and the CPU
 * limit ocr_page_seconds further, up to ocr_max_seconds; through
 * sandbox_extract and through the extraction server. */
#include <criterion/criterion.h>
#include <glib.h>
#include <string.h>

#include "extractors/extract.h"
#include "extractors/extract_server.h"
#include "extractors/sandbox.h"
#include "tests/ocr_fixture.h"

#define PAGES 3

/* Pages of the capped test: OCR at 300 dpi takes 0.3-1 s a page here, so
 * these need several seconds in all, far past its 2 s (1 s + a 1 s cap). */
#define MANY_PAGES 12

/* pages image-only pages drawn at dpi (read at dpi). PAGES at 300 dpi:
 * more than the 1 s base limits in all, well under ten seconds a page. */
static unsigned char *bundle(int pages, int dpi, size_t *len)
{
    const char *para = "The defendant denies that any notice was received and relies on the minutes of that "
                       "meeting, which record no discussion of the contract or of the claimant's employment. ";
    GString *text = g_string_new(NULL);
    for (int p = 0; p < pages; p++) {
        if (p)
            g_string_append_c(text, '\f');
        for (int k = 0; k < 2; k++)
            g_string_append_printf(text, "%s%s\n\n", para, para);
    }
    unsigned char *pdf = ocr_fixture_scan_pdf(text->str, dpi, len);
    g_string_free(text, TRUE);
    return pdf;
}

static int extract(int via_server, int pages, int dpi, const sandbox_limits *lim, document **doc, perr *err)
{
    size_t len;
    unsigned char *pdf = bundle(pages, dpi, &len);
    extract_options opts = { .ocr = EXTRACT_OCR_AUTO, .ocr_dpi = dpi };
    int rc;
    if (via_server) {
        extract_server *s = NULL;
        cr_assert_eq(extract_server_start(&s, err), 0, "%s", err->msg);
        rc = extract_server_run(s, pdf, len, &opts, lim, doc, err);
        extract_server_stop(s);
    } else {
        rc = sandbox_extract(pdf, len, &opts, lim, doc, err);
    }
    g_free(pdf);
    return rc;
}

static void expect_all_pages_read(int via_server, const sandbox_limits *lim)
{
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(extract(via_server, PAGES, 300, lim, &doc, &err), 0, "%s", err.msg);
    cr_expect_eq(doc->pages, PAGES);
    cr_expect_not_null(strstr(doc->full_text, "minutes of that meeting"));
    document_free(doc);
}

Test(ocr_limits, each_ocr_page_extends_the_wall_deadline, .timeout = 120)
{
    /* 1 s of wall time would not do for PAGES pages; 10 s more a page does. */
    sandbox_limits lim = { .wall_seconds = 1, .ocr_page_seconds = 10, .ocr_max_seconds = 100 };
    expect_all_pages_read(0, &lim);
}

Test(ocr_limits, each_ocr_page_raises_the_cpu_limit, .timeout = 120)
{
    sandbox_limits lim = { .cpu_seconds = 1, .wall_seconds = 100, .ocr_page_seconds = 10, .ocr_max_seconds = 100 };
    expect_all_pages_read(0, &lim);
}

Test(ocr_limits, the_extension_is_capped, .timeout = 120)
{
    sandbox_limits lim = { .wall_seconds = 1, .ocr_page_seconds = 10, .ocr_max_seconds = 1 };
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_neq(extract(0, MANY_PAGES, 300, &lim, &doc, &err), 0);
    cr_expect_null(doc);
    cr_expect_str_eq(err.msg, "extractor timed out after 2 s");
}

Test(ocr_limits, the_extraction_server_extends_both_limits, .timeout = 120)
{
    sandbox_limits lim = { .cpu_seconds = 1, .wall_seconds = 1, .ocr_page_seconds = 10, .ocr_max_seconds = 100 };
    expect_all_pages_read(1, &lim);
}
