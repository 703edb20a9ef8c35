/* pdf.c — PDF to document with poppler-glib (see pdf.h). */
#include "extractors/pdf/pdf.h"

#include <gio/gio.h>
#include <glib.h>
#include <math.h>
#include <poppler.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "extractors/pdf/pdf_glyphs.h"
#include "extractors/pdf/pdf_layout.h"
#include "extractors/pdf/pdf_ocr.h"
#include "extractors/pdf/pdf_render.h"
#include "extractors/textnorm.h"

static int has_visible_text(const char *s)
{
    for (; *s; s = g_utf8_next_char(s))
        if (!g_unichar_isspace(g_utf8_get_char(s)))
            return 1;
    return 0;
}

/* Which characters of the page's text come from a dingbat font. NULL when
 * none, or when poppler's attributes do not cover the text as expected. */
static unsigned char *dingbat_chars(PopplerPage *pp, size_t n_chars)
{
    unsigned char *flags = NULL;
    GList *attrs = poppler_page_get_text_attributes(pp);
    for (GList *l = attrs; l; l = l->next) {
        const PopplerTextAttributes *a = l->data;
        if (!pdf_font_is_dingbat(a->font_name) || a->start_index < 0 || a->end_index < a->start_index)
            continue;
        if (!flags)
            flags = memset(xmalloc(n_chars ? n_chars : 1), 0, n_chars ? n_chars : 1);
        for (size_t i = (size_t)a->start_index; i <= (size_t)a->end_index && i < n_chars; i++)
            flags[i] = 1;
    }
    poppler_page_free_text_attributes(attrs);
    return flags;
}

/* Text, boxes and dingbat flags (from poppler's text attributes: a walk
 * over the words poppler already laid out, no font look-up) into lines. */
static void add_glyph_lines(PopplerPage *pp, const char *text, pdf_page_text *page)
{
    PopplerRectangle *rects = NULL;
    guint n_rects = 0;
    pdf_glyphs g = { .text = text, .n_chars = (size_t)g_utf8_strlen(text, -1) };
    pdf_box *boxes = NULL;
    unsigned char *dingbat = NULL;
    if (poppler_page_get_text_layout(pp, &rects, &n_rects) && n_rects == g.n_chars) {
        boxes = xmalloc(g.n_chars * sizeof *boxes);
        for (size_t i = 0; i < g.n_chars; i++)
            boxes[i] = (pdf_box){ rects[i].x1, rects[i].y1, rects[i].x2, rects[i].y2 };
        g.boxes = boxes;
        dingbat = dingbat_chars(pp, g.n_chars);
        g.dingbat = dingbat;
    }
    pdf_glyphs_to_lines(&g, page);
    free(dingbat);
    free(boxes);
    g_free(rects);
}

/* The text layer of pp into page; returns bytes of text, 0 when empty. */
static size_t read_text_layer(PopplerPage *pp, pdf_page_text *page)
{
    gchar *text = poppler_page_get_text(pp);
    if (!text)
        return 0;
    int valid = g_utf8_validate(text, -1, NULL);
    if (!valid) { /* never seen from poppler; sanitize, without boxes */
        char *clean = utf8_sanitize(text, strlen(text), NULL);
        g_free(text);
        text = g_strdup(clean);
        free(clean);
    }
    size_t bytes = 0;
    if (has_visible_text(text)) {
        if (valid) {
            add_glyph_lines(pp, text, page);
        } else {
            pdf_glyphs g = { .text = text, .n_chars = (size_t)g_utf8_strlen(text, -1) };
            pdf_glyphs_to_lines(&g, page);
        }
        bytes = strlen(text);
    }
    g_free(text);
    return bytes;
}

/* ---- OCR ------------------------------------------------------------------------ */

/* OCR over one extraction: the engine is loaded for the first page that
 * needs it; which pages it read and how confident it was. */
typedef struct ocr_run {
    const extract_options *opts;
    pdf_ocr *engine;
    unsigned char *done;   /* per page: 1 when its text is from OCR */
    int n_done, n_paras, min_dpi;
    double confidence_sum;
} ocr_run;

/* Render and recognise pp into page. Returns its bytes of text (0: none or
 * a page-level failure, with a warning), -1 when OCR cannot run at all. */
static long ocr_page(ocr_run *run, PopplerPage *pp, pdf_page_text *page, document *doc, perr *err)
{
    if (!run->engine && pdf_ocr_open(&run->engine, run->opts->ocr_languages, err) < 0)
        return -1;
    extract_ocr_page_started(run->opts); /* the sandbox extends this document's limits */
    pdf_gray_image img;
    perr page_err = { { 0 } };
    if (pdf_render_gray(pp, run->opts->ocr_dpi, &img, &page_err) < 0) {
        document_warn(doc, "page %d: not recognised (OCR): %s", page->number, page_err.msg);
        return 0;
    }
    int rc = pdf_ocr_page(run->engine, &img, page->number, &page->ocr_paras, &page_err);
    int dpi = img.dpi;
    pdf_gray_image_free(&img);
    if (rc < 0) {
        document_warn(doc, "page %d: not recognised (OCR): %s", page->number, page_err.msg);
        return 0;
    }
    page->ocr = 1;
    size_t bytes = 0;
    for (size_t k = 0; k < page->ocr_paras.n; k++) {
        bytes += strlen(page->ocr_paras.items[k].text);
        run->confidence_sum += page->ocr_paras.items[k].ocr_confidence;
    }
    run->n_paras += (int)page->ocr_paras.n;
    if (bytes == 0)
        return 0;
    run->done[page->number - 1] = 1;
    run->n_done++;
    run->min_dpi = run->min_dpi && run->min_dpi < dpi ? run->min_dpi : dpi;
    return (long)bytes;
}

/* Read page i (0-based) into page: its text layer, or OCR as the mode says.
 * Returns bytes of text, 0 when empty, -1 when OCR cannot run (err). */
static long read_page(PopplerDocument *pdoc, int i, ocr_run *run, pdf_page_text *page, document *doc, perr *err)
{
    page->number = i + 1;
    PopplerPage *pp = poppler_document_get_page(pdoc, i);
    if (!pp)
        return 0;
    int mode = run->opts->ocr;
    long bytes = mode == EXTRACT_OCR_FORCE ? 0 : (long)read_text_layer(pp, page);
    if (mode == EXTRACT_OCR_FORCE || (mode == EXTRACT_OCR_AUTO && bytes == 0))
        bytes = ocr_page(run, pp, page, doc, err);
    g_object_unref(pp);
    return bytes;
}

/* ---- warnings about pages without text ----------------------------------- */

/* "page 3" or "pages 1–2, 5" from a 0/1 array of empty pages. */
static char *page_ranges(const unsigned char *empty, int n)
{
    GString *s = g_string_new(NULL);
    int count = 0;
    for (int i = 0; i < n; i++) {
        if (!empty[i])
            continue;
        int j = i;
        while (j + 1 < n && empty[j + 1])
            j++;
        if (s->len)
            g_string_append(s, ", ");
        if (j > i)
            g_string_append_printf(s, "%d\u2013%d", i + 1, j + 1);
        else
            g_string_append_printf(s, "%d", i + 1);
        count += j - i + 1;
        i = j;
    }
    g_string_prepend(s, count == 1 ? "page " : "pages ");
    return g_string_free(s, FALSE);
}

/* ---- metadata ---------------------------------------------------------------- */

static void meta_string(document *doc, const char *key, gchar *value)
{
    if (value && *value) {
        char *folded = textnorm_fold(value, strlen(value), NULL);
        document_set_meta(doc, key, folded);
        free(folded);
    }
    g_free(value);
}

static void meta_date(document *doc, const char *key, GDateTime *dt)
{
    if (!dt)
        return;
    /* RFC 3339: "Z" for UTC, otherwise a +hh:mm offset */
    gchar *iso = g_date_time_format(dt, g_date_time_get_utc_offset(dt) == 0 ? "%Y-%m-%dT%H:%M:%SZ"
                                                                             : "%Y-%m-%dT%H:%M:%S%:z");
    if (iso)
        document_set_meta(doc, key, iso);
    g_free(iso);
    g_date_time_unref(dt);
}

static void read_metadata(PopplerDocument *pdoc, document *doc)
{
    gchar *title = poppler_document_get_title(pdoc);
    if (title) {
        char *folded = textnorm_fold(title, strlen(title), NULL);
        document_set_title(doc, folded);
        free(folded);
    }
    meta_string(doc, "title", title);
    gchar *author = poppler_document_get_author(pdoc);
    if (author) {
        gchar **names = g_strsplit(author, ";", 0);
        for (gchar **n = names; *n; n++) {
            char *folded = textnorm_fold(*n, strlen(*n), NULL);
            document_add_author(doc, folded);
            free(folded);
        }
        g_strfreev(names);
    }
    meta_string(doc, "author", author);
    meta_string(doc, "subject", poppler_document_get_subject(pdoc));
    meta_string(doc, "keywords", poppler_document_get_keywords(pdoc));
    meta_string(doc, "creator", poppler_document_get_creator(pdoc));
    meta_string(doc, "producer", poppler_document_get_producer(pdoc));
    meta_date(doc, "created", poppler_document_get_creation_date_time(pdoc));
    meta_date(doc, "modified", poppler_document_get_modification_date_time(pdoc));
    meta_string(doc, "pdf_version", poppler_document_get_pdf_version_string(pdoc));
}

/* ---- opening ---------------------------------------------------------------------- */

/* Opened through a GInputStream: poppler 22.12's new_from_bytes and
 * new_from_data crash (SIGSEGV in PDFDoc::PDFDoc) when an encrypted file is
 * given a wrong or empty password; new_from_stream does not. An empty
 * password is passed as none. */
static PopplerDocument *open_pdf(GBytes *bytes, const char *password, perr *err)
{
    GError *gerr = NULL;
    if (password && !*password)
        password = NULL;
    GInputStream *stream = g_memory_input_stream_new_from_bytes(bytes);
    PopplerDocument *pdoc =
        poppler_document_new_from_stream(stream, (goffset)g_bytes_get_size(bytes), password, NULL, &gerr);
    g_object_unref(stream);
    if (pdoc)
        return pdoc;
    if (gerr && gerr->domain == POPPLER_ERROR && gerr->code == POPPLER_ERROR_ENCRYPTED)
        perr_set(err, "encrypted PDF: %s", password ? "incorrect password" : "password required");
    else
        perr_set(err, "not a readable PDF: %s", gerr && gerr->message ? gerr->message : "unknown error");
    if (gerr)
        g_error_free(gerr);
    return NULL;
}

/* ---- extraction -------------------------------------------------------------------- */

typedef struct pdf_pages {
    pdf_page_text *pages;
    unsigned char *empty;
    int n;                 /* pages read */
    int n_empty;
} pdf_pages;

static int read_pages(PopplerDocument *pdoc, int n_pages, ocr_run *run, document *doc, pdf_pages *out, perr *err)
{
    const extract_options *opts = run->opts;
    int n = n_pages;
    if (n > opts->max_pages) {
        document_warn(doc, "only the first %d of %d pages were read (page limit)", opts->max_pages, n_pages);
        n = opts->max_pages;
    }
    out->pages = xmalloc((size_t)n * sizeof *out->pages);
    memset(out->pages, 0, (size_t)n * sizeof *out->pages);
    out->empty = xmalloc((size_t)n);
    run->done = xmalloc((size_t)n);
    memset(run->done, 0, (size_t)n);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        long bytes = read_page(pdoc, i, run, &out->pages[i], doc, err);
        out->n = i + 1;
        if (bytes < 0)
            return -1;
        out->empty[i] = bytes == 0;
        out->n_empty += bytes == 0;
        total += (size_t)bytes;
        if (total > opts->max_text_bytes && i + 1 < n) {
            document_warn(doc, "text truncated after page %d of %d (text limit of %zu bytes)", i + 1, n_pages,
                          opts->max_text_bytes);
            break;
        }
    }
    return 0;
}

static void free_pages(pdf_pages *pp)
{
    for (int i = 0; i < pp->n; i++)
        pdf_page_text_free(&pp->pages[i]);
    free(pp->pages);
    free(pp->empty);
}

static void add_paragraphs(document *doc, pdf_pages *pp, int keep_running_lines)
{
    if (!keep_running_lines)
        pdf_mark_running_lines(pp->pages, (size_t)pp->n);
    pdf_para_list paras = { 0 };
    pdf_build_paragraphs(pp->pages, (size_t)pp->n, &paras);
    for (size_t i = 0; i < paras.n; i++) {
        const pdf_para *p = &paras.items[i];
        if (p->ocr)
            document_add_ocr_paragraph(doc, p->text, p->page, p->ocr_confidence);
        else
            document_add_paragraph(doc, p->text, p->page);
    }
    pdf_para_list_free(&paras);
}

/* The pages without text: a warning, or the error when no page has any. */
static int report_empty(const pdf_pages *pp, int mode, document *doc, perr *err)
{
    if (pp->n_empty == 0)
        return 0;
    char *ranges = page_ranges(pp->empty, pp->n);
    const char *why = mode == EXTRACT_OCR_OFF ? "OCR not performed" : "OCR found none";
    int rc = 0;
    if (pp->n_empty == pp->n)
        rc = mode == EXTRACT_OCR_OFF ? perr_set(err, "no text layer on %s; %s", ranges, why)
                                     : perr_set(err, "no text on %s: no text layer, and %s", ranges, why);
    else if (mode == EXTRACT_OCR_OFF)
        document_warn(doc, "no text layer on %s; %s", ranges, why);
    else
        document_warn(doc, "no text on %s: %s", ranges, why);
    g_free(ranges);
    return rc;
}

/* Which pages' text is from OCR, with what, how confidently. */
static void report_ocr(const ocr_run *run, const pdf_pages *pp, document *doc)
{
    if (run->n_done == 0)
        return;
    char *ranges = page_ranges(run->done, pp->n);
    document_warn(doc, "text of %s is from OCR (Tesseract %s, %s, %d dpi; mean paragraph confidence %.0f of 100)",
                  ranges, pdf_ocr_version(run->engine), run->opts->ocr_languages, run->min_dpi,
                  run->n_paras ? run->confidence_sum / run->n_paras : 0.0);
    g_free(ranges);
}

static int extract_opened(PopplerDocument *pdoc, const extract_options *opts, document *doc, perr *err)
{
    int n_pages = poppler_document_get_n_pages(pdoc);
    if (n_pages <= 0)
        return perr_set(err, "PDF has no pages");
    doc->pages = n_pages;
    read_metadata(pdoc, doc);
    pdf_pages pp = { 0 };
    ocr_run run = { .opts = opts };
    int rc = read_pages(pdoc, n_pages, &run, doc, &pp, err);
    if (rc == 0)
        rc = report_empty(&pp, opts->ocr, doc, err);
    if (rc == 0) {
        report_ocr(&run, &pp, doc);
        add_paragraphs(doc, &pp, opts->keep_running_lines);
    }
    pdf_ocr_close(run.engine);
    free(run.done);
    free_pages(&pp);
    return rc;
}

int pdf_extract(const void *data, size_t len, const extract_options *opts_in, document **out, perr *err)
{
    *out = NULL;
    extract_options opts = extract_options_resolve(opts_in);
    if (len == 0)
        return perr_set(err, "empty input (0 bytes)");
    if (len > opts.max_input_bytes)
        return perr_set(err, "PDF too large (%zu bytes, limit %zu)", len, opts.max_input_bytes);
    if (len > G_MAXSSIZE)
        return perr_set(err, "PDF too large");
    GBytes *bytes = g_bytes_new_static(data, len);
    PopplerDocument *pdoc = open_pdf(bytes, opts.password, err);
    if (!pdoc) {
        g_bytes_unref(bytes);
        return -1;
    }
    document *doc = document_new("pdf", "application/pdf");
    int rc = extract_opened(pdoc, &opts, doc, err);
    g_object_unref(pdoc);
    g_bytes_unref(bytes);
    if (rc < 0) {
        document_free(doc);
        return -1;
    }
    *out = doc;
    return 0;
}
