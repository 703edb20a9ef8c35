/* test_ocr_pipeline.c — a scanned PDF as a job, end to end: through the
 * extraction server (the OCR settings cross its wire), the test model and
 * PostgreSQL; the stored paragraphs keep their OCR marks, and a quote taken
 * from the OCR text verifies. ocr = off fails the same job as before. */
#include <criterion/criterion.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "extractors/extract_server.h"
#include "pipeline/analyses/quote.h"
#include "pipeline/job_run.h"
#include "pipeline/pipeline.h"
#include "tests/ocr_fixture.h"
#include "tests/pg_query.h"
#include "tests/support.h"

#define MODEL "synth-d256-q8_0.gguf"
#define MAX_TOKENS 112

static const char scanned[] =
    "The tenant states that the landlord entered the flat on the ninth of June without notice and "
    "removed two boxes of papers from the spare room.\n\n"
    "The landlord accepts that he entered the flat but says that the tenant had agreed to the visit "
    "by telephone the day before.";

static pipeline *new_pipeline(extract_server *server, const pipeline_ocr *ocr)
{
    char *path = test_model_path(MODEL);
    pipeline_options o = {.model = {.model_path = path, .n_threads = 1}, .prompts_dir = "prompts",
                          .max_tokens = MAX_TOKENS, .extract_server = server, .ocr = *ocr};
    pipeline *p;
    perr err = {{0}};
    cr_assert_eq(pipeline_new(&p, &o, &err), 0, "%s", err.msg);
    free(path);
    return p;
}

static job scan_job(const char *id, const unsigned char *pdf, size_t len)
{
    return (job){.job_id = (char *)id, .doc_kind = JOB_DOC_CONTENT, .content = (unsigned char *)pdf,
                 .content_len = len, .filename = "scan.pdf", .metadata_json = "{}"};
}

Test(ocr_pipeline, scanned_pdf_job_is_stored_with_ocr_marks_and_quotes_verify, .timeout = 600)
{
    extract_server *server = NULL;
    perr err = {{0}};
    cr_assert_eq(extract_server_start(&server, &err), 0, "%s", err.msg);
    pipeline_ocr ocr = {.mode = EXTRACT_OCR_AUTO, .languages = "eng", .dpi = 300};
    pipeline *p = new_pipeline(server, &ocr);
    size_t len;
    unsigned char *pdf = ocr_fixture_scan_pdf(scanned, 300, &len);
    test_db d = test_db_open();
    job j = scan_job("scan-1", pdf, len);
    cr_assert_eq(job_run_start(d.st, &j, NULL, NULL, &err), 0, "%s", err.msg);
    job_analyzer a = job_analyzer_for_pipeline(p);
    pipeline_report rep;
    cr_assert_eq(job_run_execute(&a, d.st, &j, NULL, &rep, &err), 0, "%s", err.msg);
    pg_assert_query(d.raw, "SELECT status FROM jobs WHERE job_id = 'scan-1'", "done");
    pg_assert_query(d.raw,
                    "SELECT string_agg(p->>'ocr', ',') FROM documents, "
                    "jsonb_array_elements(structure->'sections'->0->'paragraphs') p",
                    "true,true");
    cr_assert_gt(pg_query_long(d.raw, "SELECT min((p->>'ocr_confidence')::float)::int FROM documents, "
                                      "jsonb_array_elements(structure->'sections'->0->'paragraphs') p"),
                 50);
    char *text = pg_query_text(d.raw, "SELECT text FROM documents");
    cr_assert_geq(ocr_fixture_word_accuracy(scanned, text), 0.95, "%s", text);
    /* a quote taken from the stored OCR text verifies against the document */
    const char *q = strstr(text, "agreed to the visit by telephone");
    cr_assert_not_null(q, "%s", text);
    quote_match m;
    cr_assert_eq(quote_locate(rep.doc, "agreed to the visit by telephone", &m, &err), 0);
    cr_assert(m.verified && m.page == 1, "%s", m.reason);
    cr_assert_str_eq(m.paragraph_first, "p2");
    free(text);
    pipeline_report_clear(&rep);
    pipeline_free(p);

    /* ocr = off: the same scan fails as before OCR existed */
    ocr.mode = EXTRACT_OCR_OFF;
    p = new_pipeline(server, &ocr);
    job j2 = scan_job("scan-2", pdf, len);
    cr_assert_eq(pipeline_analyze(p, &j2, NULL, &rep, &err), PIPELINE_PERMANENT);
    cr_assert_str_eq(rep.error_class, "extract");
    cr_assert(strstr(err.msg, "no text layer on page 1; OCR not performed"), "%s", err.msg);
    pipeline_report_clear(&rep);
    pipeline_free(p);
    test_db_close(&d);
    free(pdf);
    extract_server_stop(server);
}
