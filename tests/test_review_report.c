/* test_review_report.c — the legal review page and the collection index
 * (pipeline/analyses/review_html.h, store/store_review.h, `precis
 * report`): quotes highlighted inside their paragraphs, unverified quotes
 * shown as such, twin differences side by side, everything escaped; pages
 * rendered in headless Chromium; the command end to end on stored rows. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "extractors/document.h"
#include "pipeline/analyses/legal_findings.h"
#include "pipeline/analyses/review_html.h"
#include "pipeline/job_run.h"
#include "store/store_review.h"
#include "tests/browser.h"
#include "tests/pg_query.h"
#include "tests/support.h"

/* A judgment with a hostile title and two pages. */
static document *judgment(void)
{
    document *d = document_new("pdf", "application/pdf");
    document_set_title(d, "R v <script>alert(1)</script> Novak");
    document_add_section(d, "Judgment", 1);
    document_add_paragraph(d, "1. The witness, Ms Novak, was calm and precise throughout her evidence.", 1);
    document_add_paragraph(d, "2. My neighbour told me that he “always carries a knife” — I did not see one.", 2);
    /* page 2 is a scan: its last paragraph was read by OCR */
    document_add_ocr_paragraph(d, "3. The court finds her entirely credible given her respectable appearance.", 2, 87.6);
    return d;
}

/* {"sections": [{"heading", "level", "paragraphs": [{"id", "page", "char_start", "char_end"}]}]} */
static char *structure_of(const document *d)
{
    cJSON *o = cJSON_CreateObject(), *secs = cJSON_AddArrayToObject(o, "sections");
    for (size_t s = 0; s < d->n_sections; s++) {
        cJSON *so = cJSON_CreateObject(), *pars = cJSON_AddArrayToObject(so, "paragraphs");
        cJSON_AddNumberToObject(so, "level", d->sections[s].level);
        for (size_t p = 0; p < d->sections[s].n_paragraphs; p++) {
            const doc_paragraph *par = &d->sections[s].paragraphs[p];
            cJSON *po = cJSON_CreateObject();
            cJSON_AddStringToObject(po, "id", par->id);
            cJSON_AddNumberToObject(po, "page", par->page);
            cJSON_AddNumberToObject(po, "char_start", (double)par->char_start);
            cJSON_AddNumberToObject(po, "char_end", (double)par->char_end);
            if (par->ocr) {
                cJSON_AddTrueToObject(po, "ocr");
                cJSON_AddNumberToObject(po, "ocr_confidence", par->ocr_confidence);
            }
            cJSON_AddItemToArray(pars, po);
        }
        cJSON_AddItemToArray(secs, so);
    }
    char *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return json;
}

static cJSON *finding(const char *category, const char *quote, const char *severity)
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "category", category);
    cJSON_AddStringToObject(f, "subtype", "x<y>");
    cJSON_AddStringToObject(f, "quote", quote);
    cJSON_AddStringToObject(f, "explanation", "Because <b>reasons</b> & more.");
    cJSON_AddStringToObject(f, "severity", severity);
    cJSON_AddStringToObject(f, "confidence", "medium");
    return f;
}

/* The review's output: two verified findings (one identity-sensitive), one
 * unverified, and a twin comparison. */
static char *review_output(const document *d)
{
    cJSON *findings = cJSON_CreateArray();
    cJSON_AddItemToArray(findings, finding("evidentiary", "told me that he “always carries a knife”", "high"));
    cJSON_AddItemToArray(findings, finding("stereotype", "credible given her respectable appearance", "medium"));
    cJSON_AddItemToArray(findings, finding("framing", "the <i>defendant</i> is obviously lying", "low"));
    perr err;
    cr_assert_eq(legal_findings_verify(d, findings, &err), 2);
    cJSON_AddBoolToObject(cJSON_GetArrayItem(findings, 1), "identity_sensitive", 1);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "summary", "A witness statement <with> hearsay.");
    cJSON_AddArrayToObject(out, "parties");
    cJSON_AddItemToObject(out, "findings", findings);
    cJSON *twin = cJSON_Parse(
        "{\"parties\": [], \"substitutions\": 5, \"by_class\": [], \"summary\": \"\", \"identity_sensitive\": 1,"
        " \"same\": 0, \"pairs\": [{\"status\": \"severity_changed\", \"category\": \"stereotype\","
        "  \"original\": {\"quote\": \"credible given her respectable appearance\", \"severity\": \"medium\"},"
        "  \"twin\": {\"quote\": \"credible given his respectable appearance\", \"severity\": \"low\","
        "            \"original_quote\": \"credible given her respectable appearance\"}}]}");
    cJSON_AddItemToObject(out, "twin", twin);
    char *json = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    return json;
}

/* What store_review_of_job gives for the judgment. */
static char *review_rows(const document *d)
{
    char *output = review_output(d), *structure = structure_of(d);
    cJSON *r = cJSON_CreateObject(), *doc = cJSON_AddObjectToObject(r, "document");
    cJSON_AddStringToObject(r, "job_id", "j<1>");
    cJSON_AddStringToObject(doc, "title", d->title);
    cJSON_AddStringToObject(doc, "text", d->full_text);
    cJSON_AddItemToObject(doc, "structure", cJSON_Parse(structure));
    cJSON_AddStringToObject(r, "model", "m");
    cJSON_AddItemToObject(r, "output", cJSON_Parse(output));
    char *json = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    free(output);
    free(structure);
    return json;
}

Test(review_report, quotes_in_their_paragraphs_unverified_marked_twin_side_by_side_all_escaped)
{
    document *d = judgment();
    char *rows = review_rows(d);
    perr err;
    char *html = review_html(rows, &err);
    cr_assert(html, "%s", err.msg);
    cr_assert(strstr(html, "<div class=\"para\">2. My neighbour <mark>told me that he “always carries a knife”</mark>"
                           " — I did not see one.</div>"), "%s", html);
    cr_assert(strstr(html, "<span>page 2</span><span>paragraph p2</span><span class=\"sensitive\">") ||
              strstr(html, "<span>page 2</span><span>paragraph p2</span></div>"), "%s", html);
    cr_assert(strstr(html, "<span>paragraph p3</span><span class=\"ocr\">OCR, confidence 88</span>"),
              "a quote from an OCR'd paragraph says so: %s", html);
    cr_assert(!strstr(strstr(html, "class=\"ocr\"") + 1, "class=\"ocr\""), "only the OCR'd paragraph's quote");
    cr_assert(strstr(html, "3. The court finds her entirely <mark>credible given her respectable appearance</mark>."));
    cr_assert(strstr(html, "<span class=\"sensitive\">identity-sensitive</span>"));
    cr_assert(strstr(html, "quote NOT found in the document"));
    cr_assert(strstr(html, "“the &lt;i&gt;defendant&lt;/i&gt; is obviously lying” <span class=\"unverified\">"),
              "the unverified quote, as written, never marked as found");
    cr_assert(!strstr(html, "<mark>the"), "an unverified quote is never highlighted");
    cr_assert(strstr(html, "<td class=\"sensitive\">severity_changed</td>"));
    cr_assert(strstr(html, "<span class=\"quote\">credible given his respectable appearance</span><br>"
                           "<span class=\"meta\">severity low; in the original: “credible given her respectable "
                           "appearance”</span>"), "the twin's words, and the original's at that place: %s", html);
    cr_assert(strstr(html, "Findings (3; 1 with a quote not found in the document)"));
    cr_assert(!strstr(html, "<script") && !strstr(html, "<b>reasons") && !strstr(html, "<with>") && !strstr(html, "x<y>"));
    cr_assert(strstr(html, "R v &lt;script&gt;alert(1)&lt;/script&gt; Novak"));
    free(html);
    cr_assert_null(review_html("{\"document\": {}}", &err));
    cr_assert(strstr(err.msg, "not a stored review"), "%s", err.msg);
    free(rows);
    document_free(d);
}

static void page_name(const char *job_id, char *out, size_t cap)
{
    snprintf(out, cap, "review-%s.html", job_id);
}

Test(review_report, index_links_each_document)
{
    perr err;
    char *html = review_index_html("bundle <1>",
                                   "[{\"job_id\": \"a1\", \"title\": \"First <doc>\", \"findings\": 3, \"verified\": 2,"
                                   "  \"high\": 1, \"identity_sensitive\": 1, \"twin\": true},"
                                   " {\"job_id\": \"b2\", \"title\": \"\", \"source\": \"second.pdf\", \"findings\": 0,"
                                   "  \"verified\": 0, \"high\": 0, \"identity_sensitive\": 0, \"twin\": false}]",
                                   page_name, &err);
    cr_assert(html, "%s", err.msg);
    cr_assert(strstr(html, "<a href=\"review-a1.html\">First &lt;doc&gt;</a></td><td>3</td><td>2</td><td>1</td><td>1</td>"),
              "%s", html);
    cr_assert(strstr(html, "<a href=\"review-b2.html\">second.pdf</a></td><td>0</td><td>0</td><td>0</td><td>not assessed"),
              "%s", html);
    cr_assert(strstr(html, "Reviews of bundle &lt;1&gt;"));
    free(html);
}

Test(review_report, chromium_renders_the_review_with_its_highlights, .timeout = 180)
{
    document *d = judgment();
    char *rows = review_rows(d);
    perr err;
    char *html = review_html(rows, &err);
    char *page = test_write_tmp("review.html", html);
    char png[4096];
    snprintf(png, sizeof png, "%s/review.png", test_tmpdir());
    browser_shot shot;
    browser_render(page, png, &shot);
    cr_assert(shot.ink > (size_t)shot.width * (size_t)shot.height / 100, "blank page");
    cr_assert(browser_png_count(png, 0xffe08a) > 1000, "the quotes' highlight is drawn");
    cr_assert_str_empty(shot.console, "console messages:\n%s", shot.console);
    free(shot.console);
    free(page);
    free(html);
    free(rows);
    document_free(d);
}

/* The judgment stored as job job_id of collection "bundle", reviewed. */
static void store_judgment(test_db *db, const char *job_id, const document *d)
{
    job j = {.job_id = (char *)job_id, .collection = "bundle", .doc_kind = JOB_DOC_TEXT, .text = "x", .text_len = 1,
             .metadata_json = "{}"};
    perr err;
    cr_assert_eq(job_run_start(db->st, &j, NULL, NULL, &err), 0, "%s", err.msg);
    char *structure = structure_of(d), *output = review_output(d), sha[65];
    snprintf(sha, sizeof sha, "%064d", (int)strlen(job_id));
    store_document doc = {.sha256 = sha, .source = "judgment.pdf", .format = "pdf", .title = d->title,
                          .pages = 2, .text = d->full_text, .structure_json = structure};
    store_result r = {.analysis = "legal_review", .prompt_name = "legal_review", .prompt_version = "v1",
                      .model_name = "m", .model_sha256 = "cd34", .output_json = output, .prompt_tokens = -1,
                      .completion_tokens = -1, .prompt_ms = -1, .completion_ms = -1};
    cr_assert_eq(store_job_done(db->st, job_id, &doc, &r, 1, NULL, &err), 0, "%s", err.msg);
    free(structure);
    free(output);
}

Test(review_report, precis_report_for_a_job_and_a_collection, .timeout = 300)
{
    test_db db = test_db_open();
    document *d = judgment();
    store_judgment(&db, "rev-1", d);
    char page[8192], dir[4096], cmd[16384], *out = NULL;
    snprintf(page, sizeof page, "%s/rev-1.html", test_tmpdir());
    snprintf(dir, sizeof dir, "%s/bundle", test_tmpdir());
    snprintf(cmd, sizeof cmd, "PRECIS_POSTGRES_CONNINFO='%s' %s report --job rev-1 --html '%s' 2>&1", db.conninfo,
             test_precis_bin(), page);
    cr_assert_eq(test_run(cmd, &out), 0, "%s", out);
    free(out);
    char *html = test_read_file(page, NULL);
    cr_assert(strstr(html, "<mark>told me that he “always carries a knife”</mark>"), "%s", html);
    free(html);
    snprintf(cmd, sizeof cmd, "PRECIS_POSTGRES_CONNINFO='%s' %s report --collection bundle --html '%s' 2>&1",
             db.conninfo, test_precis_bin(), dir);
    cr_assert_eq(test_run(cmd, &out), 0, "%s", out);
    cr_assert(strstr(out, "1 review page(s)"), "%s", out);
    free(out);
    snprintf(page, sizeof page, "%s/index.html", dir);
    html = test_read_file(page, NULL);
    cr_assert(strstr(html, "href=\"review-rev-1.html\"") && strstr(html, "<td>3</td><td>2</td><td>1</td><td>1</td>"),
              "%s", html);
    free(html);
    snprintf(page, sizeof page, "%s/review-rev-1.html", dir);
    html = test_read_file(page, NULL);
    cr_assert(strstr(html, "identity-sensitive"));
    free(html);
    snprintf(cmd, sizeof cmd, "PRECIS_POSTGRES_CONNINFO='%s' %s report --job nope --html '%s/x.html' 2>&1",
             db.conninfo, test_precis_bin(), test_tmpdir());
    cr_assert_eq(test_run(cmd, &out), 1, "%s", out);
    cr_assert(strstr(out, "job nope has no stored legal_review"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s report --job a --collection b --html x 2>&1", test_precis_bin());
    cr_assert_eq(test_run(cmd, &out), 2, "%s", out);
    free(out);
    document_free(d);
    test_db_close(&db);
}
