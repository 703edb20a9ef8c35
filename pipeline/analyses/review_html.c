/* review_html.c — a legal review as a page, and a collection's index (see
 * review_html.h). */
#include "pipeline/analyses/review_html.h"

#include <cjson/cJSON.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/html.h"
#include "pipeline/llm/structured.h"

static const char page_css[] =
    "body{font-family:Georgia,serif;max-width:52em;margin:2em auto;padding:0 1em;color:#222;line-height:1.5}"
    "h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ddd}"
    ".meta{color:#555;font-size:.9em;font-family:system-ui,sans-serif}"
    ".finding{border:1px solid #ddd;border-left:5px solid #999;padding:.6em 1em;margin:1em 0}"
    ".sev-high{border-left-color:#c62828}.sev-medium{border-left-color:#ef8f00}.sev-low{border-left-color:#5c6bc0}"
    ".tags{font-family:system-ui,sans-serif;font-size:.85em}.tags span{margin-right:1em}"
    ".para{background:#fafafa;padding:.5em .8em;margin:.5em 0;border-radius:3px}"
    "mark{background:#ffe08a;padding:0 .1em}.unverified{color:#8a1c14;font-weight:600}"
    ".verified{color:#2e7d32;font-weight:600}.quote{font-style:italic}"
    "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ddd;padding:.4em;vertical-align:top;"
    "text-align:left}th{background:#f4f4f4;font-family:system-ui,sans-serif;font-size:.9em}"
    ".sensitive{color:#8a1c14;font-weight:600}";

static int has_num(const cJSON *o, const char *key, long *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v))
        return 0;
    *out = (long)v->valuedouble;
    return 1;
}

static void page_head(FILE *f, const char *title)
{
    html_page_start(f, title, page_css);
}

/* ---- the text around a quote ----------------------------------------------------------- */

/* The paragraph of structure holding code point at, or NULL. */
static const cJSON *paragraph_at(const cJSON *structure, long at)
{
    const cJSON *sec, *p;
    cJSON_ArrayForEach(sec, cJSON_GetObjectItemCaseSensitive(structure, "sections"))
    {
        cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(sec, "paragraphs"))
        {
            long s, e;
            if (has_num(p, "char_start", &s) && has_num(p, "char_end", &e) && s <= at && at < e)
                return p;
        }
    }
    return NULL;
}

/* text's code points [from, to) escaped (clamped to the text). */
static void text_range(FILE *f, const char *text, long n_chars, long from, long to)
{
    from = from < 0 ? 0 : from > n_chars ? n_chars : from;
    to = to < from ? from : to > n_chars ? n_chars : to;
    const char *a = g_utf8_offset_to_pointer(text, from), *b = g_utf8_offset_to_pointer(text, to);
    char *piece = g_strndup(a, (gsize)(b - a));
    html_text(f, piece);
    g_free(piece);
}

/* The quote's paragraph with the quote marked (or just the quote's span
 * when the document has no paragraph structure). */
static void quote_in_context(FILE *f, const cJSON *doc, long start, long end)
{
    const char *text = structured_string(doc, "text");
    long n = (long)g_utf8_strlen(text, -1), ps = start, pe = end;
    const cJSON *p = paragraph_at(cJSON_GetObjectItemCaseSensitive(doc, "structure"), start);
    if (p) {
        has_num(p, "char_start", &ps);
        has_num(p, "char_end", &pe);
        pe = pe < end ? end : pe;
    }
    fputs("<div class=\"para\">", f);
    text_range(f, text, n, ps, start);
    fputs("<mark>", f);
    text_range(f, text, n, start, end);
    fputs("</mark>", f);
    text_range(f, text, n, end, pe);
    fputs("</div>\n", f);
}

/* ---- findings ----------------------------------------------------------------------------- */

/* A quote in a paragraph read by OCR says so, with its confidence. */
static void ocr_tag(FILE *f, const cJSON *doc, const cJSON *fnd)
{
    long start;
    double conf = 0;
    if (!has_num(fnd, "start", &start))
        return;
    const cJSON *p = paragraph_at(cJSON_GetObjectItemCaseSensitive(doc, "structure"), start);
    if (!p || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "ocr")))
        return;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(p, "ocr_confidence");
    if (cJSON_IsNumber(c))
        conf = c->valuedouble;
    fprintf(f, "<span class=\"ocr\">OCR, confidence %.0f</span>", conf);
}

static void finding_tags(FILE *f, const cJSON *doc, const cJSON *fnd, int verified)
{
    fputs("<div class=\"tags\">", f);
    fputs("<span><strong>", f);
    html_text(f, structured_string(fnd, "category"));
    fputs("</strong>", f);
    if (*structured_string(fnd, "subtype")) {
        fputs(" / ", f);
        html_text(f, structured_string(fnd, "subtype"));
    }
    fputs("</span><span>severity ", f);
    html_text(f, structured_string(fnd, "severity"));
    fputs("</span><span>confidence ", f);
    html_text(f, structured_string(fnd, "confidence"));
    fputs("</span>", f);
    long page;
    if (verified) {
        fputs("<span class=\"verified\">quote verified (", f);
        html_text(f, structured_string(fnd, "match"));
        fputs(")</span>", f);
        if (has_num(fnd, "page", &page))
            fprintf(f, "<span>page %ld</span>", page);
        if (*structured_string(fnd, "paragraph")) {
            fputs("<span>paragraph ", f);
            html_text(f, structured_string(fnd, "paragraph"));
            fputs("</span>", f);
        }
        ocr_tag(f, doc, fnd);
    } else {
        fputs("<span class=\"unverified\">quote NOT found in the document</span>", f);
    }
    const cJSON *sens = cJSON_GetObjectItemCaseSensitive(fnd, "identity_sensitive");
    if (cJSON_IsTrue(sens))
        fputs("<span class=\"sensitive\">identity-sensitive</span>", f);
    fputs("</div>\n", f);
}

static void finding_card(FILE *f, const cJSON *doc, const cJSON *fnd, int number)
{
    long start = 0, end = 0;
    int verified = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(fnd, "verified")) && has_num(fnd, "start", &start) &&
                   has_num(fnd, "end", &end);
    fprintf(f, "<div class=\"finding sev-");
    html_text(f, structured_string(fnd, "severity"));
    fprintf(f, "\" id=\"finding-%d\">\n", number);
    finding_tags(f, doc, fnd, verified);
    if (verified) {
        quote_in_context(f, doc, start, end);
    } else {
        fputs("<p class=\"quote\">“", f);
        html_text(f, structured_string(fnd, "quote"));
        fputs("” <span class=\"unverified\">(unverified: the model's words, not found in the text)</span></p>\n", f);
    }
    fputs("<p>", f);
    html_text(f, structured_string(fnd, "explanation"));
    fputs("</p>\n</div>\n", f);
}

/* ---- the twin ------------------------------------------------------------------------------- */

/* One side of a twin pair: the finding's own words and severity; for the
 * twin's, also the original's words at the same place. */
static void twin_side(FILE *f, const cJSON *fnd)
{
    fputs("<td>", f);
    if (!cJSON_IsObject(fnd)) {
        fputs("<em>no such finding</em></td>", f);
        return;
    }
    fputs("<span class=\"quote\">", f);
    html_text(f, structured_string(fnd, "quote"));
    fputs("</span><br><span class=\"meta\">severity ", f);
    html_text(f, structured_string(fnd, "severity"));
    if (*structured_string(fnd, "original_quote")) {
        fputs("; in the original: “", f);
        html_text(f, structured_string(fnd, "original_quote"));
        fputs("”", f);
    }
    fputs("</span></td>", f);
}

static void twin_section(FILE *f, const cJSON *twin)
{
    if (!cJSON_IsObject(twin))
        return;
    long n = 0, sensitive = 0;
    has_num(twin, "substitutions", &n);
    has_num(twin, "identity_sensitive", &sensitive);
    fprintf(f, "<h2>Counterfactual twin</h2>\n<p>The document was reviewed again with the parties' names and "
               "protected attributes swapped (%ld substitutions). %ld finding(s) differ between the two "
               "reviews:</p>\n",
            n, sensitive);
    fputs("<table>\n<tr><th>category</th><th>status</th><th>original</th><th>twin</th></tr>\n",
          f);
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(twin, "pairs"))
    {
        int same = strcmp(structured_string(p, "status"), "same") == 0;
        fputs("<tr><td>", f);
        html_text(f, structured_string(p, "category"));
        fprintf(f, "</td><td%s>", same ? "" : " class=\"sensitive\"");
        html_text(f, structured_string(p, "status"));
        fputs("</td>", f);
        twin_side(f, cJSON_GetObjectItemCaseSensitive(p, "original"));
        twin_side(f, cJSON_GetObjectItemCaseSensitive(p, "twin"));
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* ---- the pages ------------------------------------------------------------------------------ */

static void review_page(FILE *f, const cJSON *r)
{
    const cJSON *doc = cJSON_GetObjectItemCaseSensitive(r, "document");
    const cJSON *out = cJSON_GetObjectItemCaseSensitive(r, "output");
    const char *title = structured_string(doc, "title");
    if (!*title)
        title = structured_string(doc, "source");
    page_head(f, title);
    fputs("<h1>Review: ", f);
    html_text(f, title);
    fputs("</h1>\n<p class=\"meta\">Job ", f);
    html_text(f, structured_string(r, "job_id"));
    fputs(", reviewed ", f);
    html_text(f, structured_string(r, "reviewed_at"));
    fputs(" by ", f);
    html_text(f, structured_string(r, "model"));
    fputs(" (prompts ", f);
    html_text(f, structured_string(r, "prompt_version"));
    fputs(").</p>\n<h2>Summary</h2>\n<p>", f);
    html_text(f, structured_string(out, "summary"));
    fputs("</p>\n", f);
    const cJSON *findings = cJSON_GetObjectItemCaseSensitive(out, "findings"), *fnd;
    int n = cJSON_GetArraySize(findings), unverified = 0, i = 0;
    cJSON_ArrayForEach(fnd, findings)
    {
        unverified += !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(fnd, "verified"));
    }
    fprintf(f, "<h2>Findings (%d; %d with a quote not found in the document)</h2>\n", n, unverified);
    cJSON_ArrayForEach(fnd, findings)
    {
        finding_card(f, doc, fnd, ++i);
    }
    if (n == 0)
        fputs("<p>The review found nothing to report.</p>\n", f);
    twin_section(f, cJSON_GetObjectItemCaseSensitive(out, "twin"));
    fputs("</body>\n</html>\n", f);
}

static void write_review(FILE *f, const void *ctx)
{
    review_page(f, ctx);
}

char *review_html(const char *review_json, perr *err)
{
    cJSON *r = review_json ? cJSON_Parse(review_json) : NULL;
    if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(r, "document")) ||
        !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(r, "output"))) {
        cJSON_Delete(r);
        perr_set(err, "not a stored review (an object with \"document\" and \"output\")");
        return NULL;
    }
    char *html = html_capture(write_review, r, "the review page", err);
    cJSON_Delete(r);
    return html;
}

typedef struct index_ctx {
    const char *collection;
    const cJSON *list;
    void (*page_of)(const char *job_id, char *out, size_t cap);
} index_ctx;

static void write_index(FILE *f, const void *ctx)
{
    const index_ctx *x = ctx;
    page_head(f, x->collection);
    fputs("<h1>Reviews of ", f);
    html_text(f, x->collection);
    fprintf(f, "</h1>\n<p class=\"meta\">%d documents.</p>\n<table>\n<tr><th>document</th><th>findings</th>"
               "<th>verified</th><th>high</th><th>identity-sensitive</th></tr>\n",
            cJSON_GetArraySize(x->list));
    const cJSON *d;
    cJSON_ArrayForEach(d, x->list)
    {
        char href[512];
        x->page_of(structured_string(d, "job_id"), href, sizeof href);
        long findings = 0, verified = 0, high = 0, sensitive = 0;
        has_num(d, "findings", &findings);
        has_num(d, "verified", &verified);
        has_num(d, "high", &high);
        has_num(d, "identity_sensitive", &sensitive);
        fputs("<tr><td><a href=\"", f);
        html_text(f, href);
        fputs("\">", f);
        html_text(f, *structured_string(d, "title") ? structured_string(d, "title") : structured_string(d, "source"));
        fprintf(f, "</a></td><td>%ld</td><td>%ld</td><td>%ld</td><td>", findings, verified, high);
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "twin")))
            fprintf(f, "%ld", sensitive);
        else
            fputs("not assessed", f);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n</body>\n</html>\n", f);
}

char *review_index_html(const char *collection, const char *list_json,
                        void (*page_of)(const char *job_id, char *out, size_t cap), perr *err)
{
    cJSON *list = list_json ? cJSON_Parse(list_json) : NULL;
    if (!cJSON_IsArray(list)) {
        cJSON_Delete(list);
        perr_set(err, "not a list of reviews");
        return NULL;
    }
    index_ctx x = {collection, list, page_of};
    char *html = html_capture(write_index, &x, "the review index", err);
    cJSON_Delete(list);
    return html;
}
