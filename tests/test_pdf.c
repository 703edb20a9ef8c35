/* test_pdf.c — PDF extraction: layout rules on synthetic lines, generated
 * PDFs, and the real corpus (similarity with pdftotext, hostile files).
 *
 * Similarity measure (corpus tests): both texts are folded (textnorm_fold:
 * NFC + ligatures, fullwidth and math letters), de-hyphenated the same way
 * (a hyphen or soft hyphen ending a line after a letter, next line starting
 * in lower case: joined), remaining soft hyphens dropped, lower-cased, and
 * cut into words = maximal runs of letters/digits. With A and B the two word
 * multisets, similarity = 2 * |A ∩ B| / (|A| + |B|) (Dice over multisets).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extractors/extract.h"
#include "extractors/pdf/pdf.h"
#include "extractors/pdf/pdf_layout.h"
#include "extractors/sandbox.h"
#include "extractors/textnorm.h"
#include "tests/support.h"

/* ---- helpers: a minimal PDF writer ---------------------------------------- */

typedef struct text_item {
    double x, y, size;
    const char *text;    /* WinAnsi (ASCII here) */
} text_item;

typedef struct page_spec {
    const text_item *items;
    size_t n;
} page_spec;

static void append_pdf_string(GString *out, const char *s)
{
    g_string_append_c(out, '(');
    for (; *s; s++) {
        if (*s == '(' || *s == ')' || *s == '\\')
            g_string_append_c(out, '\\');
        g_string_append_c(out, *s);
    }
    g_string_append_c(out, ')');
}

/* A valid PDF: catalog 1, pages 2, Helvetica 3, info 4, then page/content pairs. */
static char *build_pdf(const page_spec *pages, size_t n_pages, const char *info, size_t *len)
{
    GString *pdf = g_string_new("%PDF-1.4\n");
    size_t n_obj = 4 + 2 * n_pages;
    size_t *offset = calloc(n_obj + 1, sizeof *offset);
    offset[1] = pdf->len;
    g_string_append(pdf, "1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n");
    offset[2] = pdf->len;
    g_string_append(pdf, "2 0 obj << /Type /Pages /Kids [");
    for (size_t i = 0; i < n_pages; i++)
        g_string_append_printf(pdf, " %zu 0 R", 5 + 2 * i);
    g_string_append_printf(pdf, " ] /Count %zu >> endobj\n", n_pages);
    offset[3] = pdf->len;
    g_string_append(pdf, "3 0 obj << /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
                         "/Encoding /WinAnsiEncoding >> endobj\n");
    offset[4] = pdf->len;
    g_string_append_printf(pdf, "4 0 obj << %s >> endobj\n", info ? info : "");
    for (size_t i = 0; i < n_pages; i++) {
        GString *content = g_string_new(NULL);
        for (size_t k = 0; k < pages[i].n; k++) {
            const text_item *t = &pages[i].items[k];
            g_string_append_printf(content, "BT /F1 %.1f Tf %.1f %.1f Td ", t->size, t->x, t->y);
            append_pdf_string(content, t->text);
            g_string_append(content, " Tj ET\n");
        }
        offset[5 + 2 * i] = pdf->len;
        g_string_append_printf(pdf,
                               "%zu 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                               "/Resources << /Font << /F1 3 0 R >> >> /Contents %zu 0 R >> endobj\n",
                               5 + 2 * i, 6 + 2 * i);
        offset[6 + 2 * i] = pdf->len;
        g_string_append_printf(pdf, "%zu 0 obj << /Length %zu >> stream\n%s\nendstream endobj\n", 6 + 2 * i,
                               content->len, content->str);
        g_string_free(content, TRUE);
    }
    size_t xref = pdf->len;
    g_string_append_printf(pdf, "xref\n0 %zu\n0000000000 65535 f \n", n_obj + 1);
    for (size_t i = 1; i <= n_obj; i++)
        g_string_append_printf(pdf, "%010zu 00000 n \n", offset[i]);
    g_string_append_printf(pdf, "trailer << /Size %zu /Root 1 0 R /Info 4 0 R >>\nstartxref\n%zu\n%%%%EOF\n",
                           n_obj + 1, xref);
    free(offset);
    *len = pdf->len;
    return g_string_free(pdf, FALSE);
}

static document *extract_pdf_ok(const char *data, size_t len, const extract_options *opts)
{
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(pdf_extract(data, len, opts, &doc, &err), 0, "pdf_extract: %s", err.msg);
    cr_assert_not_null(doc);
    return doc;
}

static const char *meta(const document *doc, const char *key)
{
    for (size_t i = 0; i < doc->n_metadata; i++)
        if (strcmp(doc->metadata[i].key, key) == 0)
            return doc->metadata[i].value;
    return NULL;
}

static const doc_paragraph *paragraph(const document *doc, size_t index)
{
    for (size_t s = 0; s < doc->n_sections; s++) {
        if (index < doc->sections[s].n_paragraphs)
            return &doc->sections[s].paragraphs[index];
        index -= doc->sections[s].n_paragraphs;
    }
    return NULL;
}

/* ---- helpers: similarity --------------------------------------------------- */

static int ends_with_broken_word(const GString *s)
{
    if (s->len < 2)
        return 0;
    const char *last = g_utf8_find_prev_char(s->str, s->str + s->len);
    gunichar h = g_utf8_get_char(last);
    if (h != '-' && h != 0x2010 && h != 0x00AD)
        return 0;
    const char *before = g_utf8_find_prev_char(s->str, last);
    return before && g_unichar_isalpha(g_utf8_get_char(before));
}

/* Fold, de-hyphenate line ends, drop soft hyphens, lower-case. */
static char *normalize_for_similarity(const char *text)
{
    char *folded = textnorm_fold(text, strlen(text), NULL);
    gchar **lines = g_strsplit(folded, "\n", -1);
    GString *joined = g_string_new(NULL);
    for (gchar **l = lines; *l; l++) {
        char *line = g_strstrip(*l);
        if (ends_with_broken_word(joined) && g_unichar_islower(g_utf8_get_char(line)))
            g_string_truncate(joined, (gsize)(g_utf8_find_prev_char(joined->str, joined->str + joined->len) - joined->str));
        else if (joined->len)
            g_string_append_c(joined, '\n');
        g_string_append(joined, line);
    }
    g_strfreev(lines);
    free(folded);
    GString *clean = g_string_new(NULL);
    for (const char *p = joined->str; *p; p = g_utf8_next_char(p))
        if (g_utf8_get_char(p) != 0x00AD)
            g_string_append_unichar(clean, g_utf8_get_char(p));
    g_string_free(joined, TRUE);
    char *lower = g_utf8_strdown(clean->str, -1);
    g_string_free(clean, TRUE);
    return lower;
}

/* Dice similarity of the two texts' word multisets, after normalising both. */
static double word_similarity(const char *a, const char *b)
{
    char *na_text = normalize_for_similarity(a), *nb_text = normalize_for_similarity(b);
    size_t na, nb, common = test_words_in_common(na_text, nb_text, &na, &nb);
    g_free(na_text);
    g_free(nb_text);
    return na + nb ? 2.0 * (double)common / (double)(na + nb) : 1.0;
}

static char *pdftotext(const char *path)
{
    char *cmd = g_strdup_printf("pdftotext -enc UTF-8 '%s' - 2>/dev/null", path);
    char *out = NULL;
    int rc = test_run(cmd, &out);
    g_free(cmd);
    cr_assert_eq(rc, 0, "pdftotext failed on %s (is poppler-utils installed?)", path);
    return out;
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted *.pdf names in a corpus directory (NULL-terminated, g_strfreev). */
static gchar **list_pdfs(const char *dir)
{
    GPtrArray *names = g_ptr_array_new();
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot open %s", dir);
    struct dirent *e;
    while ((e = readdir(d)))
        if (g_str_has_suffix(e->d_name, ".pdf"))
            g_ptr_array_add(names, g_strdup(e->d_name));
    closedir(d);
    g_ptr_array_sort(names, compare_names);
    g_ptr_array_add(names, NULL);
    return (gchar **)g_ptr_array_free(names, FALSE);
}

/* ---- layout rules on synthetic lines --------------------------------------- */

static char *joined(const char *a, const char *b)
{
    GString *buf = g_string_new(a);
    pdf_join_line(buf, b);
    return g_string_free(buf, FALSE);
}

static void assert_join(const char *a, const char *b, const char *expected)
{
    char *got = joined(a, b);
    cr_assert_str_eq(got, expected, "join(\"%s\", \"%s\")", a, b);
    g_free(got);
}

Test(pdf, dehyphenation_and_line_joining)
{
    assert_join("the regu-", "lation applies", "the regulation applies");
    assert_join("the regu\xe2\x80\x90", "lation", "the regulation");        /* U+2010 */
    assert_join("in\xc2\xad", "Cluding", "inCluding");                       /* soft hyphen */
    assert_join("Soekarno-", "Hatta airport", "Soekarno-Hatta airport");      /* capital: keep */
    assert_join("Model 737\xe2\x80\x93", "9 airplanes", "Model 737\xe2\x80\x93" "9 airplanes");
    assert_join("see https://", "www.example.org", "see https://www.example.org");
    assert_join("a list -", "item", "a list - item");                       /* not after a letter */
    assert_join("end of line", "  next line", "end of line next line");
    assert_join("", "first", "first");
    assert_join("same", "   ", "same");
}

Test(pdf, unicode_folding)
{
    const char in[] = "\xef\xac\x81nd \xef\xac\x82ow \xef\xac\x80 \xef\xac\x83 \xef\xac\x84"  /* ligatures */
                      " \xef\xbc\xa1\xef\xbc\x91"                                             /* fullwidth A1 */
                      " \xf0\x9d\x91\xa5"                                                     /* math italic x */
                      " e\xcc\x81"                                                            /* e + combining acute */
                      " \xc2\xbd x\xc2\xb2 \xe2\x80\xa6"                                      /* kept: ½ ² … */
                      " na\xc4\xb1\xcc\x88ve \xc4\xb1";                                   /* TeX's naı̈ve; lone ı kept */
    char *out = textnorm_fold(in, strlen(in), NULL);
    cr_assert_str_eq(out, "find flow ff ffi ffl A1 x \xc3\xa9 \xc2\xbd x\xc2\xb2 \xe2\x80\xa6 na\xc3\xafve \xc4\xb1");
    free(out);
}

static void add_boxed(pdf_page_text *page, const char *text, double x1, double y1, double x2, double y2)
{
    double box[4] = { x1, y1, x2, y2 };
    pdf_page_add_line(page, text, strlen(text), box);
}

/* n pages: header, body lines unique to the page around a line repeated on
 * every page, page number footer. */
static pdf_page_text *pages_with_running_lines(size_t n)
{
    pdf_page_text *pages = calloc(n, sizeof *pages);
    for (size_t i = 0; i < n; i++) {
        char body[64], footer[32];
        pages[i].number = (int)i + 1;
        add_boxed(&pages[i], "Journal of Tests, Vol. 3", 72, 30, 300, 40);
        for (int k = 0; k < 4; k++) {
            snprintf(body, sizeof body, "Body text %c of part %c.", (char)('a' + k), (char)('A' + i)); /* letters: digits are masked */
            add_boxed(&pages[i], k == 2 ? "The same line on every page." : body, 72, 100 + 13 * k, 500, 112 + 13 * k);
        }
        snprintf(footer, sizeof footer, "Page %zu", i + 1);
        add_boxed(&pages[i], footer, 290, 750, 320, 760);
    }
    return pages;
}

static void free_pages(pdf_page_text *pages, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pdf_page_text_free(&pages[i]);
    free(pages);
}

Test(pdf, running_headers_and_footers_removed)
{
    pdf_page_text *pages = pages_with_running_lines(4);
    size_t marked = pdf_mark_running_lines(pages, 4);
    for (size_t i = 0; i < 4; i++) {
        cr_expect(pages[i].lines[0].removed);
        for (int k = 1; k <= 4; k++) /* line 3 repeats, but mid-page: kept */
            cr_expect_not(pages[i].lines[k].removed, "page %zu line %d", i + 1, k);
        cr_expect(pages[i].lines[5].removed, "page numbers match after digit masking");
    }
    free_pages(pages, 4);
    cr_assert_eq(marked, 8);
}

Test(pdf, running_lines_need_three_pages)
{
    pdf_page_text *pages = pages_with_running_lines(2);
    size_t marked = pdf_mark_running_lines(pages, 2);
    free_pages(pages, 2);
    cr_assert_eq(marked, 0);
}

Test(pdf, paragraphs_from_line_geometry)
{
    pdf_page_text page = { .number = 3 };
    /* paragraph 1: three lines at a 12 pt pitch, the second ending in a hyphen */
    add_boxed(&page, "The first paragraph starts here and runs on", 72, 100, 500, 112);
    add_boxed(&page, "to a second line with the word regu-", 72, 112, 500, 124);
    add_boxed(&page, "lation broken across lines.", 72, 124, 300, 136);
    /* paragraph 2: after a blank line's worth of space */
    add_boxed(&page, "A second paragraph after a gap.", 72, 150, 400, 162);
    /* heading: larger type */
    add_boxed(&page, "Heading", 72, 180, 200, 198);
    add_boxed(&page, "Text under the heading.", 72, 200, 300, 212);
    pdf_para_list paras = { 0 };
    pdf_build_paragraphs(&page, 1, &paras);
    cr_assert_eq(paras.n, 4);
    cr_assert_str_eq(paras.items[0].text, "The first paragraph starts here and runs on to a second line with "
                                          "the word regulation broken across lines.");
    cr_assert_str_eq(paras.items[1].text, "A second paragraph after a gap.");
    cr_assert_str_eq(paras.items[2].text, "Heading");
    cr_assert_str_eq(paras.items[3].text, "Text under the heading.");
    cr_assert_eq(paras.items[0].page, 3);
    pdf_para_list_free(&paras);
    pdf_page_text_free(&page);
}

Test(pdf, paragraph_continues_across_pages)
{
    pdf_page_text pages[2] = { { .number = 1 }, { .number = 2 } };
    add_boxed(&pages[0], "A sentence that does not end on this", 72, 700, 500, 712);
    add_boxed(&pages[1], "page but on the next one.", 72, 100, 400, 112);
    add_boxed(&pages[1], "New paragraph.", 72, 140, 200, 152);
    pdf_para_list paras = { 0 };
    pdf_build_paragraphs(pages, 2, &paras);
    cr_assert_eq(paras.n, 2);
    cr_assert_str_eq(paras.items[0].text, "A sentence that does not end on this page but on the next one.");
    cr_assert_eq(paras.items[0].page, 1);
    cr_assert_eq(paras.items[1].page, 2);
    pdf_para_list_free(&paras);
    pdf_page_text_free(&pages[0]);
    pdf_page_text_free(&pages[1]);
}

/* ---- generated PDFs --------------------------------------------------------- */

Test(pdf, generated_pdf_text_and_metadata)
{
    const text_item items[] = { { 72, 700, 12, "Hello PDF world." } };
    const page_spec page = { items, 1 };
    size_t len;
    char *data = build_pdf(&page, 1,
                           "/Title (A Test Title) /Author (Ada Lovelace; Alan Turing) /Producer (precis tests) "
                           "/CreationDate (D:20240102030405Z)",
                           &len);
    document *doc = extract_pdf_ok(data, len, NULL);
    cr_assert_str_eq(doc->format, "pdf");
    cr_assert_str_eq(doc->media_type, "application/pdf");
    cr_assert_str_eq(doc->title, "A Test Title");
    cr_assert_eq(doc->n_authors, 2);
    cr_assert_str_eq(doc->authors[0], "Ada Lovelace");
    cr_assert_str_eq(doc->authors[1], "Alan Turing");
    cr_assert_str_eq(meta(doc, "producer"), "precis tests");
    cr_assert_str_eq(meta(doc, "created"), "2024-01-02T03:04:05Z");
    cr_assert_eq(doc->pages, 1);
    cr_assert_str_eq(doc->full_text, "Hello PDF world.");
    cr_assert_eq(paragraph(doc, 0)->page, 1);
    cr_assert_eq(doc->n_warnings, 0);
    document_free(doc);
    g_free(data);
}

/* Four pages: running header and footer, a hyphenated word, two paragraphs. */
Test(pdf, generated_pdf_layout_clean_up)
{
    page_spec pages[4];
    text_item items[4][7];
    char footers[4][32], bodies[4][64], ends[4][64];
    for (int i = 0; i < 4; i++) {
        snprintf(footers[i], sizeof footers[i], "Page %d of 4", i + 1);
        snprintf(bodies[i], sizeof bodies[i], "Section %c opens with a sentence whose", 'A' + i);
        /* differs by a letter: a line repeated near the bottom of every page
         * would be taken for a running footer */
        snprintf(ends[i], sizeof ends[i], "It ends in section %c.", 'A' + i);
        text_item page_items[7] = {
            { 72, 760, 9, "Journal of Testing, Vol. 3, 2024" },
            { 72, 700, 11, bodies[i] },
            { 72, 687, 11, "last word is split by a regu-" },
            { 72, 674, 11, "lation hyphen at the line end." },
            { 72, 640, 11, "A second paragraph follows the gap." },
            { 72, 627, 11, ends[i] },
            { 280, 40, 9, footers[i] },
        };
        memcpy(items[i], page_items, sizeof page_items);
        pages[i].items = items[i];
        pages[i].n = 7;
    }
    size_t len;
    char *data = build_pdf(pages, 4, NULL, &len);
    document *doc = extract_pdf_ok(data, len, NULL);
    cr_assert_eq(doc->pages, 4);
    cr_assert_null(strstr(doc->full_text, "Journal of Testing"), "running header kept:\n%s", doc->full_text);
    cr_assert_null(strstr(doc->full_text, "Page 2 of 4"), "running footer kept");
    cr_assert_eq(doc->n_paragraphs_total, 8, "paragraphs:\n%s", doc->full_text);
    cr_assert_str_eq(paragraph(doc, 0)->text,
                     "Section A opens with a sentence whose last word is split by a regulation hyphen at the line end.");
    cr_assert_str_eq(paragraph(doc, 1)->text, "A second paragraph follows the gap. It ends in section A.");
    cr_assert_eq(paragraph(doc, 7)->page, 4);
    document_free(doc);
    extract_options keep = { .keep_running_lines = 1 };
    doc = extract_pdf_ok(data, len, &keep);
    cr_assert_not_null(strstr(doc->full_text, "Journal of Testing"));
    document_free(doc);
    g_free(data);
}

Test(pdf, pages_without_text)
{
    const text_item items[] = { { 72, 700, 12, "Only the first page has text." } };
    const page_spec pages[3] = { { items, 1 }, { NULL, 0 }, { NULL, 0 } };
    size_t len;
    char *data = build_pdf(pages, 3, NULL, &len);
    extract_options off = { .ocr = EXTRACT_OCR_OFF };
    document *doc = extract_pdf_ok(data, len, &off);
    cr_assert_eq(doc->n_warnings, 1);
    cr_assert_str_eq(doc->warnings[0], "no text layer on pages 2\xe2\x80\x93" "3; OCR not performed");
    document_free(doc);
    /* ocr = auto (the default): OCR tried the empty pages, found nothing */
    doc = extract_pdf_ok(data, len, NULL);
    cr_assert_eq(doc->n_warnings, 1);
    cr_assert_str_eq(doc->warnings[0], "no text on pages 2\xe2\x80\x93" "3: OCR found none");
    document_free(doc);
    g_free(data);

    data = build_pdf(&pages[1], 2, NULL, &len);
    perr err = { { 0 } };
    cr_assert_eq(pdf_extract(data, len, &off, &doc, &err), -1);
    cr_assert_null(doc);
    cr_assert_str_eq(err.msg, "no text layer on pages 1\xe2\x80\x93" "2; OCR not performed");
    cr_assert_eq(pdf_extract(data, len, NULL, &doc, &err), -1);
    cr_assert_str_eq(err.msg, "no text on pages 1\xe2\x80\x93" "2: no text layer, and OCR found none");
    g_free(data);
}

Test(pdf, page_limit_warns)
{
    const text_item items[] = { { 72, 700, 12, "Some text." } };
    const page_spec pages[3] = { { items, 1 }, { items, 1 }, { items, 1 } };
    size_t len;
    char *data = build_pdf(pages, 3, NULL, &len);
    extract_options opts = { .max_pages = 2 };
    document *doc = extract_pdf_ok(data, len, &opts);
    cr_assert_eq(doc->n_paragraphs_total, 2);
    cr_assert_eq(doc->n_warnings, 1);
    cr_assert_str_eq(doc->warnings[0], "only the first 2 of 3 pages were read (page limit)");
    document_free(doc);
    g_free(data);
}

Test(pdf, garbage_and_empty_inputs_fail_cleanly)
{
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(pdf_extract("", 0, NULL, &doc, &err), -1);
    cr_assert_str_eq(err.msg, "empty input (0 bytes)");
    const char junk[] = "%PDF-1.4\nthis is not really a PDF at all\n";
    cr_assert_eq(pdf_extract(junk, sizeof junk - 1, NULL, &doc, &err), -1);
    cr_assert_null(doc);
    cr_assert(strlen(err.msg) > 0);
}

/* ---- the real corpus ----------------------------------------------------------- */

Test(pdf, corpus_normal_matches_pdftotext)
{
    char *dir = test_corpus_path("pdf/normal");
    gchar **names = list_pdfs(dir);
    cr_assert_not_null(names[0], "no PDFs in %s", dir);
    extract_options opts = { .keep_running_lines = 1 }; /* pdftotext keeps them too */
    for (gchar **n = names; *n; n++) {
        char *path = g_strdup_printf("%s/%s", dir, *n);
        size_t len;
        char *data = test_read_file(path, &len);
        document *doc = NULL;
        perr err = { { 0 } };
        cr_assert_eq(extract_document(data, len, &opts, &doc, &err), 0, "%s: %s", *n, err.msg);
        char *ref = pdftotext(path);
        double sim = word_similarity(doc->full_text, ref);
        cr_log_info("similarity %.4f  %s", sim, *n);
        cr_expect_geq(sim, 0.98, "%s: word similarity with pdftotext %.4f < 0.98", *n, sim);
        document_free(doc);
        free(ref);
        free(data);
        g_free(path);
    }
    g_strfreev(names);
    free(dir);
}

Test(pdf, corpus_running_header_removed)
{
    char *path = test_corpus_path("pdf/normal/pdfplumber_federal-register-2020-17221.pdf");
    size_t len;
    char *data = test_read_file(path, &len);
    document *doc = extract_pdf_ok(data, len, NULL);
    char *ref = pdftotext(path);
    const char *header = "Federal Register / Vol. 85, No. 152 / Thursday, August 6, 2020 / Proposed Rules";
    cr_assert_not_null(strstr(ref, header), "pdftotext has the running header");
    cr_assert_null(strstr(doc->full_text, header), "running header kept");
    cr_assert_null(strstr(doc->full_text, "VerDate"), "printer's margin line kept");
    double sim = word_similarity(doc->full_text, ref);
    cr_log_info("similarity with headers removed %.4f", sim);
    cr_assert_geq(sim, 0.95, "too much removed: %.4f", sim);
    cr_assert_eq(doc->pages, 15);
    cr_assert_eq(paragraph(doc, doc->n_paragraphs_total - 1)->page, 15);
    document_free(doc);
    free(ref);
    free(data);
    free(path);
}

Test(pdf, corpus_ligatures_become_letters)
{
    char *path = test_corpus_path("pdf/normal/pdfjs_copy_paste_ligatures.pdf");
    size_t len;
    char *data = test_read_file(path, &len);
    document *doc = extract_pdf_ok(data, len, NULL);
    cr_assert_str_eq(doc->full_text, "abcdeffffiflffifflststghijklmno"); /* abcdef ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ ghijklmno */
    document_free(doc);
    free(data);
    free(path);
}

/* Extract a hostile file in the sandbox with a short deadline. */
static int sandboxed(const char *name, const char *password, document **doc, perr *err)
{
    char *path = test_corpus_path(name);
    size_t len;
    char *data = test_read_file(path, &len);
    extract_options opts = { .password = password };
    sandbox_limits lim = { .memory_mb = 1024, .cpu_seconds = 10, .wall_seconds = 5 };
    int rc = sandbox_extract(data, len, &opts, &lim, doc, err);
    free(data);
    free(path);
    return rc;
}

Test(pdf, corpus_hostile_files_end_cleanly)
{
    char *dir = test_corpus_path("pdf/hostile");
    gchar **names = list_pdfs(dir);
    cr_assert_not_null(names[0]);
    for (gchar **n = names; *n; n++) {
        char *name = g_strdup_printf("pdf/hostile/%s", *n);
        document *doc = NULL;
        perr err = { { 0 } };
        int rc = sandboxed(name, NULL, &doc, &err);
        if (rc == 0) {
            cr_log_info("text (%zu chars)  %s", doc->full_text_chars, *n);
            cr_expect_gt(doc->full_text_len, 0, "%s: success without text", *n);
        } else {
            cr_log_info("error \"%s\"  %s", err.msg, *n);
            cr_expect_null(doc);
            cr_expect_gt(strlen(err.msg), 0, "%s: empty error", *n);
            cr_expect_null(strstr(err.msg, "crashed"), "%s: %s", *n, err.msg);
            cr_expect_null(strstr(err.msg, "exited with status"), "%s: %s", *n, err.msg);
        }
        document_free(doc);
        g_free(name);
    }
    g_strfreev(names);
    free(dir);
}

static void expect_error(const char *name, const char *password, const char *expected)
{
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(sandboxed(name, password, &doc, &err), -1, "%s: expected \"%s\"", name, expected);
    cr_assert_str_eq(err.msg, expected, "%s", name);
}

static void expect_text(const char *name, const char *password, const char *needle)
{
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(sandboxed(name, password, &doc, &err), 0, "%s: %s", name, err.msg);
    cr_assert_not_null(strstr(doc->full_text, needle), "%s: \"%s\" not in text", name, needle);
    document_free(doc);
}

Test(pdf, corpus_encrypted)
{
    expect_error("pdf/hostile/pypdf_r4-aes-user-password.pdf", NULL, "encrypted PDF: password required");
    expect_error("pdf/hostile/pypdf_r4-aes-user-password.pdf", "wrong", "encrypted PDF: incorrect password");
    expect_text("pdf/hostile/pypdf_r4-aes-user-password.pdf", "asdfzxcv", "encryption test password");
    expect_error("pdf/hostile/pdfplumber_password-example_rc4.pdf", NULL, "encrypted PDF: password required");
    expect_text("pdf/hostile/pdfplumber_password-example_rc4.pdf", "test", "Backup4all");
    expect_error("pdf/hostile/pdfjs_issue3371_user_password.pdf", NULL, "encrypted PDF: password required");
    /* the right password opens a scan, read by OCR */
    expect_text("pdf/hostile/pdfjs_issue3371_user_password.pdf", "ELXRTQWS", "This is quite a simple example.");
    /* owner password only: opens without one (an empty page) */
    expect_error("pdf/hostile/pdfjs_empty_protected_owner_only.pdf", NULL,
                 "no text on page 1: no text layer, and OCR found none");
}

Test(pdf, corpus_hostile_specifics)
{
    expect_text("pdf/hostile/pdfminer_pdf-with-jbig2_image_only.pdf", NULL, "Doesn't"); /* OCR: test_ocr.c */
    expect_error("pdf/hostile/pdfplumber_empty_0bytes.pdf", NULL, "empty input (0 bytes)");
    expect_error("pdf/hostile/pdfjs_poppler-67295-0_count_9999999999.pdf", NULL, "PDF has no pages");
    expect_text("pdf/hostile/pdfminer_issue-1113-evil-xobjects.pdf", NULL, "Hello world");
    expect_text("pdf/hostile/pdfminer_zen_of_python_corrupted.pdf", NULL, "Beautiful is better than ugly.");

    /* the JBIG2 bomb: text or a limit error, within the deadline */
    document *doc = NULL;
    perr err = { { 0 } };
    int rc = sandboxed("pdf/hostile/pdfjs_bomb_giant_jbig2.pdf", NULL, &doc, &err);
    if (rc == 0)
        cr_assert_not_null(strstr(doc->full_text, "JBIG2"));
    else
        cr_assert(strstr(err.msg, "timed out") || strstr(err.msg, "limit"), "%s", err.msg);
    document_free(doc);
}
