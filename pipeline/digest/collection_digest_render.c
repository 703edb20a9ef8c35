/* collection_digest_render.c — digest output as HTML and Markdown (see
 * collection_digest_render.h). */
#include "pipeline/digest/collection_digest_render.h"

#include "common/html.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char page_css[] =
    "body{font-family:Georgia,serif;max-width:46em;margin:2em auto;padding:0 1em;color:#222;line-height:1.5}"
    "h1{font-size:1.7em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ddd}"
    ".meta{color:#666;font-size:.9em}.cites{font-size:.9em;color:#444}.cites a{text-decoration:none}"
    "ol.docs li{margin:.3em 0}.src{color:#666;font-size:.9em}.note{color:#a40;font-size:.85em}"
    ":target{background:#ffe9a8}";

/* ---- fields ------------------------------------------------------------------------ */

static const char *string_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The "documents" entry for id, NULL when absent. */
static const cJSON *document_entry(const cJSON *digest, long long id)
{
    const cJSON *d;
    cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(digest, "documents"))
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, "id");
        if (cJSON_IsNumber(v) && (long long)v->valuedouble == id)
            return d;
    }
    return NULL;
}

/* One entry of "documents" as both renderings list it. */
typedef struct doc_line {
    long long id;
    const char *title;  /* "(untitled)" when absent or empty */
    const char *source; /* NULL when absent */
    const char *note;   /* why it is not cited, NULL when it is */
} doc_line;

static doc_line doc_line_of(const cJSON *d)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(d, "id");
    const char *title = string_of(d, "title");
    doc_line l = {.id = cJSON_IsNumber(id) ? (long long)id->valuedouble : 0,
                  .title = title && *title ? title : "(untitled)",
                  .source = string_of(d, "source")};
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "unprocessable")))
        l.note = "could not be digested";
    else if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "summarized")))
        l.note = "no summary yet";
    else if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "cited")))
        l.note = "not cited";
    return l;
}

static cJSON *parse_digest(const char *output_json, perr *err)
{
    cJSON *o = output_json ? cJSON_Parse(output_json) : NULL;
    if (!cJSON_IsObject(o) || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(o, "themes"))) {
        cJSON_Delete(o);
        perr_set(err, "not a digest (an object with \"themes\")");
        return NULL;
    }
    return o;
}

/* ---- escaping ---------------------------------------------------------------------- */

/* Markdown: entities for & < >, a backslash before punctuation Markdown
 * gives meaning to; one_line turns line breaks into spaces. */
static void md_text(FILE *f, const char *s, int one_line)
{
    static const char special[] = "\\`*_{}[]()#+-.!|~";
    int line_start = !one_line;
    for (; s && *s; s++) {
        char c = *s;
        if (c == '\r' || (c == '\n' && one_line)) {
            fputc(' ', f);
            continue;
        }
        if (c == '&')
            fputs("&amp;", f);
        else if (c == '<')
            fputs("&lt;", f);
        else if (c == '>')
            fputs("&gt;", f);
        else if (strchr(special, c) && (c != '.' || line_start) && (c != '-' || line_start))
            fprintf(f, "\\%c", c);
        else
            fputc(c, f);
        line_start = c == '\n' || (line_start && (c == ' ' || (c >= '0' && c <= '9')));
    }
}

/* One line of Markdown text. */
static void md_line(FILE *f, const char *s)
{
    md_text(f, s, 1);
}

/* ---- the documents list, in either markup ------------------------------------------- */

/* How a rendering writes the list: printf formats take the document count
 * (open), the id twice (item) and the note (note). */
typedef struct docs_markup {
    const char *open, *item, *source_open, *source_close, *note, *item_close, *close;
    void (*text)(FILE *f, const char *s);
} docs_markup;

static const docs_markup html_docs = {
    .open = "<h2>Documents (%d)</h2>\n<ol class=\"docs\">\n",
    .item = "<li id=\"doc-%lld\"><strong>[%lld]</strong> ",
    .source_open = " <span class=\"src\">&mdash; ",
    .source_close = "</span>",
    .note = " <span class=\"note\">(%s)</span>",
    .item_close = "</li>\n",
    .close = "</ol>\n",
    .text = html_text,
};

static const docs_markup md_docs = {
    .open = "## Documents (%d)\n\n",
    .item = "- <a id=\"doc-%lld\"></a>**\\[%lld\\]** ",
    .source_open = " — ",
    .source_close = "",
    .note = " *(%s)*",
    .item_close = "\n",
    .close = "",
    .text = md_line,
};

static void write_documents(FILE *f, const cJSON *digest, const docs_markup *m)
{
    const cJSON *docs = cJSON_GetObjectItemCaseSensitive(digest, "documents");
    fprintf(f, m->open, cJSON_GetArraySize(docs));
    const cJSON *d;
    cJSON_ArrayForEach(d, docs)
    {
        doc_line l = doc_line_of(d);
        fprintf(f, m->item, l.id, l.id);
        m->text(f, l.title);
        if (l.source) {
            fputs(m->source_open, f);
            m->text(f, l.source);
            fputs(m->source_close, f);
        }
        if (l.note)
            fprintf(f, m->note, l.note);
        fputs(m->item_close, f);
    }
    fputs(m->close, f);
}

/* ---- HTML -------------------------------------------------------------------------- */

static void html_citations(FILE *f, const cJSON *theme, const cJSON *digest)
{
    fputs("<p class=\"cites\">Documents:", f);
    const cJSON *id;
    cJSON_ArrayForEach(id, cJSON_GetObjectItemCaseSensitive(theme, "documents"))
    {
        long long v = (long long)id->valuedouble;
        const cJSON *entry = document_entry(digest, v);
        fprintf(f, " <a href=\"#doc-%lld\" title=\"", v);
        html_text(f, entry ? string_of(entry, "title") : NULL);
        fprintf(f, "\">[%lld]</a>", v);
    }
    fputs("</p>\n", f);
}

static void html_body(FILE *f, const cJSON *digest, const digest_page *page)
{
    fputs("<h1>", f);
    html_text(f, string_of(digest, "title"));
    fputs("</h1>\n<p class=\"meta\">Collection <strong>", f);
    html_text(f, page->collection);
    fputs("</strong> &middot; ", f);
    html_text(f, page->period);
    if (page->generated_at) {
        fputs(" &middot; generated ", f);
        html_text(f, page->generated_at);
    }
    if (page->model_name) {
        fputs(" by ", f);
        html_text(f, page->model_name);
    }
    fputs("</p>\n<p>", f);
    html_text(f, string_of(digest, "overview"));
    fputs("</p>\n", f);
    const cJSON *theme;
    cJSON_ArrayForEach(theme, cJSON_GetObjectItemCaseSensitive(digest, "themes"))
    {
        fputs("<h2>", f);
        html_text(f, string_of(theme, "heading"));
        fputs("</h2>\n<p>", f);
        html_text(f, string_of(theme, "text"));
        fputs("</p>\n", f);
        html_citations(f, theme, digest);
    }
    write_documents(f, digest, &html_docs);
}

/* The whole self-contained page: head with inline CSS, then the body. */
static void html_page(FILE *f, const cJSON *digest, const digest_page *page)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>", f);
    html_text(f, string_of(digest, "title"));
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n", page_css);
    html_body(f, digest, page);
    fputs("</body>\n</html>\n", f);
}

/* ---- Markdown ------------------------------------------------------------------------ */

static void md_body(FILE *f, const cJSON *digest, const digest_page *page)
{
    fputs("# ", f);
    md_text(f, string_of(digest, "title"), 1);
    fputs("\n\n*Collection:* ", f);
    md_text(f, page->collection, 1);
    fputs(" · *Period:* ", f);
    md_text(f, page->period, 1);
    if (page->generated_at) {
        fputs(" · *Generated:* ", f);
        md_text(f, page->generated_at, 1);
    }
    if (page->model_name) {
        fputs(" · *Model:* ", f);
        md_text(f, page->model_name, 1);
    }
    fputs("\n\n", f);
    md_text(f, string_of(digest, "overview"), 0);
    fputs("\n\n", f);
    const cJSON *theme;
    cJSON_ArrayForEach(theme, cJSON_GetObjectItemCaseSensitive(digest, "themes"))
    {
        fputs("## ", f);
        md_text(f, string_of(theme, "heading"), 1);
        fputs("\n\n", f);
        md_text(f, string_of(theme, "text"), 0);
        fputs("\n\nDocuments:", f);
        const cJSON *id;
        cJSON_ArrayForEach(id, cJSON_GetObjectItemCaseSensitive(theme, "documents"))
        fprintf(f, " [\\[%lld\\]](#doc-%lld)", (long long)id->valuedouble, (long long)id->valuedouble);
        fputs("\n\n", f);
    }
    write_documents(f, digest, &md_docs);
}

typedef void (*render_fn)(FILE *f, const cJSON *digest, const digest_page *page);

/* Parse the stored digest and write it with write into a new string. */
static char *render(const char *output_json, const digest_page *page, render_fn write, perr *err)
{
    cJSON *digest = parse_digest(output_json, err);
    if (!digest)
        return NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        cJSON_Delete(digest);
        perr_set(err, "out of memory");
        return NULL;
    }
    write(f, digest, page);
    fclose(f);
    cJSON_Delete(digest);
    return text;
}

char *digest_render_html(const char *output_json, const digest_page *page, perr *err)
{
    return render(output_json, page, html_page, err);
}

char *digest_render_markdown(const char *output_json, const digest_page *page, perr *err)
{
    return render(output_json, page, md_body, err);
}
