/* test_ocr.c — OCR of PDF pages without a text layer (extractors/pdf/pdf_ocr.h):
 * the corpus's scan, pages rendered from known text as image-only PDFs
 * (tests/ocr_fixture.h: word accuracy per language), the modes, errors, and
 * quotes verified against OCR text. Everything runs in the sandbox, as jobs do. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "extractors/extract.h"
#include "extractors/sandbox.h"
#include "pipeline/analyses/quote.h"
#include "tests/ocr_fixture.h"
#include "tests/support.h"

static const char english[] =
    "The claimant says that the notice of termination was served on the fourth of March, two weeks before "
    "the meeting at which the board approved the sale of the northern depot.\n\n"
    "The defendant denies that any notice was received and relies on the minutes of that meeting, which "
    "record no discussion of the contract or of the claimant's employment.\n\n"
    "Both parties agree that the witness statement of the former manager was signed after the hearing date.";

static const char english_page2[] =
    "The court must decide whether the evidence of the telephone call is admissible, and what weight it "
    "should be given if it is.";

static const char french[] =
    "Le requérant soutient que la décision a été prise sans qu'il ait été entendu, ce qui méconnaît "
    "le principe du contradictoire.\n\n"
    "La société défenderesse répond que l'intéressé a reçu une lettre recommandée et qu'il n'a pas "
    "présenté d'observations à la date prévue.";

static const char german[] =
    "Der Kläger trägt vor, dass die Kündigung ohne vorherige Abmahnung ausgesprochen wurde und daher "
    "unwirksam ist.\n\n"
    "Die Beklagte erwidert, dass das Verhalten des Klägers eine fristlose Kündigung rechtfertigte, weil "
    "er wiederholt gegen die Schweigepflicht verstoßen hat.";

static int run(const void *pdf, size_t len, const extract_options *o, document **doc, perr *err)
{
    sandbox_limits lim = { 0 };
    return sandbox_extract(pdf, len, o, &lim, doc, err);
}

static document *ocr_ok(const void *pdf, size_t len, const extract_options *o)
{
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(run(pdf, len, o, &doc, &err), 0, "%s", err.msg);
    return doc;
}

/* Every paragraph of doc is (ocr = 1) or is not (ocr = 0) from OCR. */
static void assert_all_ocr(const document *doc, int ocr)
{
    size_t n = 0;
    for (size_t s = 0; s < doc->n_sections; s++)
        for (size_t i = 0; i < doc->sections[s].n_paragraphs; i++, n++) {
            const doc_paragraph *p = &doc->sections[s].paragraphs[i];
            cr_assert_eq(p->ocr, ocr, "%s: ocr %d", p->id, p->ocr);
            if (ocr)
                cr_assert(p->ocr_confidence > 0 && p->ocr_confidence <= 100, "%s: %f", p->id, p->ocr_confidence);
        }
    cr_assert_gt(n, 0);
}

static double scan_accuracy(const char *text, const char *languages, int dpi)
{
    size_t len;
    unsigned char *pdf = ocr_fixture_scan_pdf(text, dpi, &len);
    extract_options o = { .ocr_languages = languages };
    document *doc = ocr_ok(pdf, len, &o);
    assert_all_ocr(doc, 1);
    double acc = ocr_fixture_word_accuracy(text, doc->full_text);
    fprintf(stderr, "ocr word accuracy: %s, rendered at %d dpi, read at 300 dpi: %.3f\n", languages, dpi, acc);
    document_free(doc);
    free(pdf);
    return acc;
}

/* Threads of this process (entries of /proc/self/task). */
static int thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Tesseract would run its LSTM on 4 OpenMP threads a page, which stay
 * behind in libgomp's pool; recognition must stay on the calling thread
 * (in a child process of its own here, so that no other test's threads
 * count). */
Test(ocr, recognition_starts_no_threads, .timeout = 120)
{
    size_t len;
    unsigned char *pdf = ocr_fixture_scan_pdf(english, 300, &len);
    const pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        const int before = thread_count();
        document *doc = NULL;
        perr err = { { 0 } };
        extract_options o = { .ocr_languages = "eng" };
        const int rc = extract_document(pdf, len, &o, &doc, &err);
        const int after = thread_count();
        fprintf(stderr, "threads before OCR %d, after %d\n", before, after);
        _exit(rc == 0 && doc && before > 0 && after == before ? 0 : 1);
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    free(pdf);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "OCR left threads behind (or failed)");
}

Test(ocr, corpus_scan_is_read_with_ocr_marks, .timeout = 120)
{
    char *path = test_corpus_path("pdf/hostile/pdfminer_pdf-with-jbig2_image_only.pdf");
    size_t len;
    char *pdf = test_read_file(path, &len);
    document *doc = ocr_ok(pdf, len, NULL);
    /* A drawn face with a speech bubble: "It / Doesn't / Work?!?!?!" */
    cr_assert_not_null(strstr(doc->full_text, "Doesn't"), "text: %s", doc->full_text);
    assert_all_ocr(doc, 1);
    cr_assert_eq(doc->sections[0].paragraphs[0].page, 1);
    cr_assert_eq(doc->n_warnings, 1);
    cr_assert_not_null(strstr(doc->warnings[0], "text of page 1 is from OCR (Tesseract"), "%s", doc->warnings[0]);
    fprintf(stderr, "ocr word accuracy: corpus jbig2 scan: %.3f\n",
            ocr_fixture_word_accuracy("It Doesn't Work", doc->full_text));
    /* The marks survive the JSON round trip out of the sandbox and back. */
    char *json = document_to_json(doc, 0);
    cr_assert_not_null(strstr(json, "\"ocr\":true,\"ocr_confidence\":"), "%s", json);
    free(json);
    document_free(doc);
    free(pdf);
    free(path);
}

Test(ocr, english_scan_word_accuracy_and_pages, .timeout = 180)
{
    char *text = g_strdup_printf("%s\f%s", english, english_page2);
    cr_assert_geq(scan_accuracy(text, "eng", 300), 0.95);
    size_t len;
    unsigned char *pdf = ocr_fixture_scan_pdf(text, 300, &len);
    document *doc = ocr_ok(pdf, len, NULL);
    /* Three paragraphs on page 1 and one on page 2, ids in reading order. */
    cr_assert_eq(doc->n_paragraphs_total, 4, "%s", doc->full_text);
    const doc_paragraph *ps = doc->sections[0].paragraphs;
    cr_assert_eq(ps[0].page, 1);
    cr_assert_eq(ps[2].page, 1);
    cr_assert_eq(ps[3].page, 2);
    cr_assert_str_eq(ps[3].id, "p4");
    cr_assert_not_null(strstr(doc->warnings[0], "text of pages 1\xe2\x80\x93" "2 is from OCR"), "%s",
                       doc->warnings[0]);
    document_free(doc);
    free(pdf);
    g_free(text);
}

Test(ocr, english_scan_at_200_dpi, .timeout = 120)
{
    cr_assert_geq(scan_accuracy(english, "eng", 200), 0.95);
}

Test(ocr, french_accents_with_its_language_pack, .timeout = 120)
{
    cr_assert_geq(scan_accuracy(french, "fra", 300), 0.95);
}

Test(ocr, german_umlauts_with_its_language_pack, .timeout = 120)
{
    cr_assert_geq(scan_accuracy(german, "deu", 300), 0.95);
}

Test(ocr, off_keeps_the_no_text_layer_error, .timeout = 60)
{
    size_t len;
    unsigned char *pdf = ocr_fixture_scan_pdf(english_page2, 150, &len);
    extract_options o = { .ocr = EXTRACT_OCR_OFF };
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(run(pdf, len, &o, &doc, &err), -1);
    cr_assert_str_eq(err.msg, "no text layer on page 1; OCR not performed");
    free(pdf);
}

Test(ocr, force_reads_a_text_page_with_ocr_auto_does_not, .timeout = 120)
{
    size_t len;
    unsigned char *pdf = ocr_fixture_text_pdf(english, &len);
    document *doc = ocr_ok(pdf, len, NULL);
    assert_all_ocr(doc, 0);
    cr_assert_eq(doc->n_warnings, 0);
    document_free(doc);
    extract_options o = { .ocr = EXTRACT_OCR_FORCE };
    doc = ocr_ok(pdf, len, &o);
    assert_all_ocr(doc, 1);
    cr_assert_geq(ocr_fixture_word_accuracy(english, doc->full_text), 0.95);
    document_free(doc);
    free(pdf);
}

Test(ocr, mixed_document_ocrs_only_the_page_without_text, .timeout = 120)
{
    /* page 1 a text layer, page 2 a scan, page 3 a blank scan */
    char *text = g_strdup_printf("%s\f%s\f ", english, english_page2);
    size_t len;
    unsigned char *pdf = ocr_fixture_pdf(text, 300, 6u, &len);
    document *doc = ocr_ok(pdf, len, NULL);
    cr_assert_eq(doc->n_paragraphs_total, 4, "%s", doc->full_text);
    const doc_paragraph *ps = doc->sections[0].paragraphs;
    for (int i = 0; i < 3; i++)
        cr_assert(!ps[i].ocr && ps[i].page == 1, "p%d", i + 1);
    cr_assert(ps[3].ocr && ps[3].page == 2);
    cr_assert_eq(doc->n_warnings, 2);
    cr_assert_str_eq(doc->warnings[0], "no text on page 3: OCR found none");
    cr_assert_not_null(strstr(doc->warnings[1], "text of page 2 is from OCR"), "%s", doc->warnings[1]);
    document_free(doc);
    free(pdf);
    g_free(text);
}

Test(ocr, blank_scan_is_a_clear_error, .timeout = 60)
{
    size_t len;
    unsigned char *pdf = ocr_fixture_scan_pdf(" ", 150, &len);
    document *doc = NULL;
    perr err = { { 0 } };
    cr_assert_eq(run(pdf, len, NULL, &doc, &err), -1);
    cr_assert_str_eq(err.msg, "no text on page 1: no text layer, and OCR found none");
    free(pdf);
}

Test(ocr, missing_or_malformed_language_is_named, .timeout = 60)
{
    size_t len;
    unsigned char *pdf = ocr_fixture_scan_pdf(english_page2, 150, &len);
    document *doc = NULL;
    perr err = { { 0 } };
    extract_options o = { .ocr_languages = "eng+xyz" };
    cr_assert_eq(run(pdf, len, &o, &doc, &err), -1);
    cr_assert_str_eq(err.msg, "OCR language \"xyz\" is not installed (no xyz.traineddata in Tesseract's data "
                              "directory; on Debian: apt-get install tesseract-ocr-xyz)");
    o.ocr_languages = "qqq";
    cr_assert_eq(run(pdf, len, &o, &doc, &err), -1);
    cr_assert_not_null(strstr(err.msg, "OCR language \"qqq\" is not installed"), "%s", err.msg);
    o.ocr_languages = "../eng";
    cr_assert_eq(run(pdf, len, &o, &doc, &err), -1);
    cr_assert_not_null(strstr(err.msg, "'.' is not allowed"), "%s", err.msg);
    free(pdf);
}

Test(ocr, quotes_from_ocr_text_verify_with_page_and_paragraph, .timeout = 120)
{
    char *text = g_strdup_printf("%s\f%s", english, english_page2);
    size_t len;
    unsigned char *pdf = ocr_fixture_scan_pdf(text, 300, &len);
    document *doc = ocr_ok(pdf, len, NULL);
    quote_match m;
    perr err = { { 0 } };
    cr_assert_eq(quote_locate(doc, "whether the evidence of the telephone call is admissible", &m, &err), 0);
    cr_assert(m.verified, "%s in %s", m.reason, doc->full_text);
    cr_assert_eq(m.page, 2);
    cr_assert_str_eq(m.paragraph_first, "p4");
    cr_assert_eq(quote_locate(doc, "relies on the minutes of that meeting", &m, &err), 0);
    cr_assert(m.verified, "%s", m.reason);
    cr_assert_eq(m.page, 1);
    cr_assert_str_eq(m.paragraph_first, "p2");
    document_free(doc);
    free(pdf);
    g_free(text);
}
