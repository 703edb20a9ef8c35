/* test_digest.c — the "digest" analysis (pipeline/digest/collection_digest.h), its
 * HTML and Markdown rendering with hostile titles, the digests table and
 * `precis digest`. Model: synth-d256-q8_0 (random weights: the words mean
 * nothing, but every answer must be schema-valid and cite only real ids). */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "common/sha256.h"
#include "engine/json/json_schema.h"
#include "pipeline/digest/collection_digest.h"
#include "pipeline/digest/collection_digest_render.h"
#include "pipeline/llm/prompt.h"
#include "pipeline/llm/structured.h"
#include "store/store.h"
#include "store/store_digest.h"
#include "tests/pg_harness.h"
#include "tests/pg_query.h"
#include "tests/support.h"

#define MODEL "synth-d256-q8_0.gguf"

/* ---- rendering ------------------------------------------------------------- */

static const char hostile_digest[] =
    "{\"title\": \"<script>alert('t')</script> & \\\"Co\\\"\","
    " \"overview\": \"Rates < 5% & rising > \\\"fast\\\" *bold* [x](http://evil)\","
    " \"themes\": [{\"heading\": \"<img src=x onerror=alert(1)>\", \"text\": \"Line one\\n# not a heading\","
    "              \"documents\": [7, 9]}],"
    " \"documents\": [{\"id\": 7, \"title\": \"<script>doc</script>\", \"source\": \"a&b.pdf\", \"cited\": true,"
    "                  \"summarized\": true},"
    "                 {\"id\": 9, \"title\": \"O'Brien \\\"quoted\\\"\", \"source\": null, \"cited\": true,"
    "                  \"summarized\": true},"
    "                 {\"id\": 11, \"title\": null, \"source\": \"x.txt\", \"cited\": false, \"summarized\": false}]}";

static const digest_page hostile_page = {.collection = "c<1>&\"", .period = "2026-01-01 00:00 to 2026-01-02 00:00 UTC",
                                         .generated_at = "2026-01-02T00:00:01Z", .model_name = "m<odel>"};

Test(digest, html_escapes_everything_and_links_citations)
{
    perr err;
    char *html = digest_render_html(hostile_digest, &hostile_page, &err);
    cr_assert(html, "%s", err.msg);
    cr_assert_null(strstr(html, "<script"), "no raw script tag:\n%s", html);
    cr_assert_null(strstr(html, "<img"), "no raw img tag");
    cr_assert_null(strstr(html, "src=\"http"), "no external resource");
    cr_assert_null(strstr(html, "href=\"http"), "no link made from text");
    cr_assert(strstr(html, "&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt; &amp; &quot;Co&quot;"), "%s", html);
    cr_assert(strstr(html, "O&#39;Brien &quot;quoted&quot;"));
    cr_assert(strstr(html, "a&amp;b.pdf"));
    cr_assert(strstr(html, "c&lt;1&gt;&amp;&quot;"), "collection escaped");
    cr_assert(strstr(html, "m&lt;odel&gt;"));
    cr_assert(strstr(html, "<a href=\"#doc-7\""), "citation links to the document entry");
    cr_assert(strstr(html, "<li id=\"doc-7\">") && strstr(html, "<li id=\"doc-9\">") && strstr(html, "<li id=\"doc-11\">"),
              "every document listed with its anchor");
    cr_assert(strstr(html, "(no summary yet)"), "the unsummarized document says so");
    cr_assert(strstr(html, "<style>") && strstr(html, "<!DOCTYPE html>"), "self-contained page");
    free(html);
}

Test(digest, markdown_neutralizes_markup)
{
    perr err;
    char *md = digest_render_markdown(hostile_digest, &hostile_page, &err);
    cr_assert(md, "%s", err.msg);
    cr_assert_null(strstr(md, "<script"), "%s", md);
    cr_assert_null(strstr(md, "<img"));
    cr_assert(strstr(md, "# &lt;script&gt;alert\\('t'\\)&lt;/script&gt; &amp; \"Co\""), "%s", md);
    cr_assert(strstr(md, "2026-01-01 00:00 to 2026-01-02"), "no needless escapes inside a line:\n%s", md);
    cr_assert(strstr(md, "\\*bold\\*") && strstr(md, "\\[x\\]\\(http://evil\\)"), "Markdown syntax escaped:\n%s", md);
    cr_assert(strstr(md, "\n\\# not a heading"), "a # at a line start is not a heading:\n%s", md);
    cr_assert(strstr(md, "[\\[7\\]](#doc-7)") && strstr(md, "<a id=\"doc-7\"></a>"), "citations link to anchors");
    cr_assert(strstr(md, "<a id=\"doc-11\"></a>") && strstr(md, "untitled"), "every document listed");
    free(md);
}

Test(digest, render_rejects_what_is_not_a_digest)
{
    perr err;
    cr_assert_null(digest_render_html("[1, 2]", &hostile_page, &err));
    cr_assert(strstr(err.msg, "themes"), "%s", err.msg);
    cr_assert_null(digest_render_markdown("{\"title\": 1", &hostile_page, &err));
    cr_assert_null(digest_render_html(NULL, &hostile_page, &err));
}

/* ---- prompt and per-call schema --------------------------------------------- */

static prompt_spec *digest_prompt(void)
{
    prompt_spec *p;
    perr err;
    cr_assert_eq(prompt_load(&p, "prompts", "digest", &err), 0, "%s", err.msg);
    return p;
}

Test(digest, prompt_file_passes_its_rule)
{
    prompt_spec *p = digest_prompt();
    perr err;
    cr_assert_eq(analysis_digest_check(p, &err), 0, "%s", err.msg);
    prompt_free(p);
    static const char no_combine[] =
        "{\"name\": \"digest\", \"system\": \"S\", \"max_tokens\": 9, \"steps\": {\"batch\": {\"user\": \"{{summaries}}\","
        " \"schema\": {\"type\": \"object\", \"properties\": {\"themes\": {\"type\": \"array\", \"items\": {\"type\": "
        "\"object\", \"properties\": {\"documents\": {\"type\": \"array\"}}}}}}}}}";
    cr_assert_eq(prompt_parse(&p, no_combine, strlen(no_combine), "digest", &err), 0, "%s", err.msg);
    cr_assert_eq(analysis_digest_check(p, &err), -1);
    cr_assert(strstr(err.msg, "combine"), "%s", err.msg);
    prompt_free(p);
}

Test(digest, call_schema_allows_only_the_given_ids)
{
    prompt_spec *p = digest_prompt();
    perr err;
    int64_t ids[] = {3, 9};
    char *text = digest_call_schema(prompt_find_step(p, "batch")->schema_json, ids, 2, &err);
    cr_assert(text, "%s", err.msg);
    json_schema *s;
    cr_assert_eq(json_schema_compile(&s, text, strlen(text), NULL, &err), 0, "%s", err.msg);
    const char *good = "{\"title\": \"t\", \"overview\": \"o\", \"themes\": [{\"heading\": \"h\", \"text\": \"x\", \"documents\": [9, 3]}]}";
    const char *bad = "{\"title\": \"t\", \"overview\": \"o\", \"themes\": [{\"heading\": \"h\", \"text\": \"x\", \"documents\": [4]}]}";
    const char *none = "{\"title\": \"t\", \"overview\": \"o\", \"themes\": [{\"heading\": \"h\", \"text\": \"x\", \"documents\": []}]}";
    cr_assert_eq(json_schema_validate_text(s, good, strlen(good), &err), 0, "%s", err.msg);
    cr_assert_eq(json_schema_validate_text(s, bad, strlen(bad), &err), -1, "an id not given is rejected");
    cr_assert_eq(json_schema_validate_text(s, none, strlen(none), &err), -1, "a theme cites at least one document");
    json_schema_free(s);
    free(text);
    cr_assert_null(digest_call_schema("{\"type\": \"object\"}", ids, 2, &err));
    cr_assert_null(digest_call_schema(prompt_find_step(p, "batch")->schema_json, ids, 0, &err));
    prompt_free(p);
}

/* ---- the analysis on the synthetic model ---------------------------------------- */

typedef struct model_fixture {
    llm *m;
    prompt_spec *prompt;
} model_fixture;

static model_fixture open_model(int n_ctx)
{
    model_fixture f = {.prompt = digest_prompt()};
    char *path = test_model_path(MODEL);
    llm_options o = {.model_path = path, .n_ctx = n_ctx, .n_threads = 1};
    perr err;
    cr_assert_eq(llm_open(&f.m, &o, &err), 0, "%s", err.msg);
    free(path);
    return f;
}

static void close_model(model_fixture *f)
{
    llm_free(f->m);
    prompt_free(f->prompt);
}

/* n documents with ids 100.. and summaries of about `words` words. */
static digest_source *make_sources(size_t n, int words)
{
    digest_source *d = calloc(n, sizeof *d);
    for (size_t i = 0; i < n; i++) {
        d[i].id = 100 + (int64_t)i;
        cr_assert(asprintf(&d[i].title, "Report %zu on <water> & \"rates\"", i) > 0);
        cr_assert(asprintf(&d[i].source, "report-%zu.pdf", i) > 0);
        char *s = strdup("");
        for (int w = 0; w < words; w++) {
            char *longer = NULL;
            cr_assert(asprintf(&longer, "%s%s%zu", s, w % 7 == 6 ? "council budget " : "river level ", i) > 0);
            free(s);
            s = longer;
        }
        d[i].summary = s;
    }
    return d;
}

static void free_sources(digest_source *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        digest_source_clear(&d[i]);
    free(d);
}

/* The model's part of an output validates against the batch step's schema
 * for exactly these ids; cited ids are real; every document is listed. */
static void check_output(const model_fixture *f, const char *output_json, const digest_source *docs, size_t n)
{
    cJSON *o = cJSON_Parse(output_json);
    cr_assert(o, "output is JSON: %s", output_json);
    cJSON *listed = cJSON_DetachItemFromObjectCaseSensitive(o, "documents");
    cr_assert_eq(cJSON_GetArraySize(listed), (int)n, "every document of the window is listed");
    int64_t *ids = calloc(n, sizeof *ids);
    for (size_t i = 0; i < n; i++) {
        ids[i] = docs[i].id;
        const cJSON *entry = cJSON_GetArrayItem(listed, (int)i);
        cr_assert_eq((int64_t)cJSON_GetObjectItem(entry, "id")->valuedouble, docs[i].id);
        cr_assert_eq(cJSON_IsTrue(cJSON_GetObjectItem(entry, "summarized")), docs[i].summary != NULL);
    }
    perr err;
    char *schema_text = digest_call_schema(prompt_find_step(f->prompt, "batch")->schema_json, ids, n, &err);
    cr_assert(schema_text, "%s", err.msg);
    json_schema *schema;
    cr_assert_eq(json_schema_compile(&schema, schema_text, strlen(schema_text), NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(json_schema_validate(schema, o, &err), 0, "schema-valid: %s\n%s", err.msg, output_json);
    /* Cited ids: documents that had a summary, and flagged cited. */
    const cJSON *theme;
    cJSON_ArrayForEach(theme, cJSON_GetObjectItem(o, "themes"))
    {
        const cJSON *id;
        cJSON_ArrayForEach(id, cJSON_GetObjectItem(theme, "documents"))
        {
            size_t k = 0;
            while (k < n && docs[k].id != (int64_t)id->valuedouble)
                k++;
            cr_assert_lt(k, n, "cited id %g is a document of the window", id->valuedouble);
            cr_assert(docs[k].summary, "only documents with a summary are cited");
            cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(listed, (int)k), "cited")));
        }
    }
    json_schema_free(schema);
    free(schema_text);
    free(ids);
    cJSON_Delete(listed);
    cJSON_Delete(o);
}

static int trace_has(const analysis_output *out, const char *step, const char *outcome)
{
    const cJSON *rec;
    cJSON_ArrayForEach(rec, out->trace)
    {
        if (!strcmp(cJSON_GetObjectItem(rec, "step")->valuestring, step) &&
            !strcmp(cJSON_GetObjectItem(rec, "outcome")->valuestring, outcome))
            return 1;
    }
    return 0;
}

Test(digest, few_summaries_one_call_schema_valid, .timeout = 600)
{
    model_fixture f = open_model(2048);
    digest_source *docs = make_sources(4, 12);
    free(docs[2].summary);
    docs[2].summary = NULL;   /* a document without a summary is listed, never cited */
    analysis_input in = {.llm = f.m, .prompt = f.prompt, .max_tokens = 96};
    digest_request req = {.collection = "c", .period = "yesterday", .docs = docs, .n_docs = 4};
    analysis_output out;
    perr err;
    cr_assert_eq(analysis_digest(&in, &req, &out, &err), 0, "%s", err.msg);
    cr_assert_eq(out.chunks, 1, "everything fitted one batch");
    cr_assert_eq(out.levels, 0);
    cr_assert_geq(out.calls, 1);
    cr_assert(trace_has(&out, "batch", "ok"));
    check_output(&f, out.output_json, docs, 4);
    analysis_output_clear(&out);
    free_sources(docs, 4);
    close_model(&f);
}

Test(digest, many_summaries_batched_and_combined, .timeout = 900)
{
    model_fixture f = open_model(1024);
    enum { N = 12 };
    digest_source *docs = make_sources(N, 60);
    analysis_input in = {.llm = f.m, .prompt = f.prompt, .max_tokens = 96};
    digest_request req = {.collection = "c", .period = "last week", .docs = docs, .n_docs = N};
    analysis_output out;
    perr err;
    cr_assert_eq(analysis_digest(&in, &req, &out, &err), 0, "%s", err.msg);
    cr_assert_gt(out.chunks, 1, "the summaries did not fit one call: %d batches", out.chunks);
    cr_assert_geq(out.levels, 1, "partial digests were combined");
    cr_assert(trace_has(&out, "combine", "ok"));
    check_output(&f, out.output_json, docs, N);
    analysis_output_clear(&out);
    free_sources(docs, N);
    close_model(&f);
}

Test(digest, overlong_summary_is_cut_and_traced, .timeout = 600)
{
    model_fixture f = open_model(1024);
    digest_source *docs = make_sources(2, 12);
    free(docs[1].summary);
    docs[1].summary = calloc(1, 40000);
    for (int i = 0; i < 3999; i++)
        memcpy(docs[1].summary + i * 10, "long text ", 10);
    analysis_input in = {.llm = f.m, .prompt = f.prompt, .max_tokens = 96};
    digest_request req = {.collection = "c", .period = "p", .docs = docs, .n_docs = 2};
    analysis_output out;
    perr err;
    cr_assert_eq(analysis_digest(&in, &req, &out, &err), 0, "%s", err.msg);
    cr_assert(trace_has(&out, "batch", "truncated"), "the cut is in the trace");
    check_output(&f, out.output_json, docs, 2);
    analysis_output_clear(&out);
    free_sources(docs, 2);
    close_model(&f);
}

Test(digest, empty_window_makes_no_call, .timeout = 300)
{
    model_fixture f = open_model(2048);
    analysis_input in = {.llm = f.m, .prompt = f.prompt, .max_tokens = 96};
    digest_request req = {.collection = "c", .period = "p", .docs = NULL, .n_docs = 0};
    analysis_output out;
    perr err;
    cr_assert_eq(analysis_digest(&in, &req, &out, &err), 0, "%s", err.msg);
    cr_assert_eq(out.calls, 0);
    cr_assert(trace_has(&out, "batch", "empty"));
    cJSON *o = cJSON_Parse(out.output_json);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(o, "themes")), 0);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(o, "documents")), 0);
    cJSON_Delete(o);
    analysis_output_clear(&out);
    close_model(&f);
}

/* ---- the database and `precis digest` ------------------------------------------ */

static long query_long(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
    long v = PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) ? atol(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return v;
}

/* A document in collection added `ago` before now, with a summary result of
 * output (NULL: none). Returns its id. */
static long add_document(PGconn *c, const char *collection, const char *title, const char *ago, const char *output)
{
    char sha[65], *key = NULL;
    cr_assert(asprintf(&key, "%s|%s|%s", collection, title, ago) > 0);
    sha256_hex(key, strlen(key), sha);
    free(key);
    const char *p1[] = {sha, title};
    PGresult *r = PQexecParams(c, "INSERT INTO documents (sha256, source, title, text) VALUES ($1, $2 || '.pdf', $2, 'x')"
                                  " RETURNING id", 2, NULL, p1, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
    char id[24];
    snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    const char *p2[] = {collection, id, ago};
    r = PQexecParams(c, "INSERT INTO document_collections (collection, document_id, added_at)"
                        " VALUES ($1, $2::bigint, now() - $3::interval)", 3, NULL, p2, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
    PQclear(r);
    if (output) {
        const char *p3[] = {id, output};
        r = PQexecParams(c, "INSERT INTO results (document_id, analysis, prompt_name, prompt_version, model_name,"
                            " model_sha256, output) VALUES ($1::bigint, 'summary', 'summary', 'v', 'm', 's', $2::jsonb)",
                         2, NULL, p3, NULL, NULL, 0);
        cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
        PQclear(r);
    }
    return atol(id);
}

static char *migrated_db(PGconn **raw)
{
    char *conninfo = test_shared_migrated_db();
    *raw = PQconnectdb(conninfo);
    cr_assert_eq(PQstatus(*raw), CONNECTION_OK);
    return conninfo;
}

Test(digest, sources_read_both_summary_shapes_in_the_window, .timeout = 120)
{
    PGconn *c;
    char *conninfo = migrated_db(&c);
    long old_shape = add_document(c, "news", "Old shape", "1 hour", "{\"summary\": \"plain summary\"}");
    long new_shape = add_document(c, "news", "Doc title", "2 hours",
                                  "{\"title\": \"Model title\", \"summary\": \"new summary\", \"key_points\": []}");
    long unsummarized = add_document(c, "news", "No summary", "3 hours", NULL);
    add_document(c, "news", "Too old", "3 days", "{\"summary\": \"old\"}");
    add_document(c, "other", "Elsewhere", "1 hour", "{\"summary\": \"other\"}");
    store *s;
    perr err;
    cr_assert_eq(store_connect(&s, conninfo, &err), 0, "%s", err.msg);
    long long now = query_long(c, "SELECT extract(epoch FROM now())::bigint");
    digest_source *docs;
    size_t n;
    cr_assert_eq(store_digest_sources(s, "news", now - 86400, now + 60, &docs, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 3, "the three documents of the window, not the old one or the other collection's");
    cr_assert_eq(docs[0].id, unsummarized, "oldest first");
    cr_assert_null(docs[0].summary);
    cr_assert_eq(docs[1].id, new_shape);
    cr_assert_str_eq(docs[1].title, "Model title", "the summary's title wins");
    cr_assert_str_eq(docs[1].summary, "new summary");
    cr_assert_eq(docs[2].id, old_shape);
    cr_assert_str_eq(docs[2].title, "Old shape", "else the document's title");
    cr_assert_str_eq(docs[2].summary, "plain summary");
    cr_assert_str_eq(docs[2].source, "Old shape.pdf");
    digest_sources_free(docs, n);

    store_digest_row row = {.collection = "news", .period_key = "manual:x", .window_start = now - 10, .window_end = now,
                            .prompt_version = "v", .model_sha256 = "s", .output_json = "{\"themes\": []}",
                            .markdown = "# m", .html = "<p>h</p>", .document_count = 3};
    int64_t id1, id2;
    cr_assert_eq(store_digest_save(s, &row, &id1, &err), 0, "%s", err.msg);
    row.markdown = "# again";
    cr_assert_eq(store_digest_save(s, &row, &id2, &err), 0, "%s", err.msg);
    cr_assert_eq(id1, id2, "the same collection and period replaces the row");
    cr_assert_eq(query_long(c, "SELECT count(*) FROM digests WHERE markdown = '# again'"), 1);
    store_close(s);
    PQfinish(c);
    free(conninfo);
}

Test(digest, cli_stores_and_writes_the_report, .timeout = 600)
{
    PGconn *c;
    char *conninfo = migrated_db(&c);
    add_document(c, "board", "<script>alert(1)</script> minutes", "1 hour", "{\"summary\": \"the board met\"}");
    add_document(c, "board", "Budget & \"plans\"", "2 hours",
                 "{\"title\": \"Budget plans\", \"summary\": \"money\", \"key_points\": []}");
    char *model = test_model_path(MODEL);
    char conf[512], out_dir[512];
    snprintf(conf, sizeof conf, "%s/digest.conf", test_tmpdir());
    snprintf(out_dir, sizeof out_dir, "%s/out", test_tmpdir());
    cr_assert_eq(mkdir(out_dir, 0700), 0);
    FILE *f = fopen(conf, "w");
    cr_assert(f);
    fprintf(f, "[postgres]\nconninfo = %s\n[engine]\nmodel = %s\nctx_size = 2048\nthreads = 1\n"
               "[pipeline]\nprompts_dir = prompts\n", conninfo, model);
    fclose(f);
    char *cmd = NULL, *out = NULL;
    cr_assert(asprintf(&cmd, "%s digest -c %s --collection board --since 24h -n 128 --out %s 2>%s/err.log",
                       test_precis_bin(), conf, out_dir, test_tmpdir()) > 0);
    int rc = test_run(cmd, &out);
    cr_assert_eq(rc, 0, "precis digest failed: %s (see %s/err.log)", out, test_tmpdir());
    cr_assert(strstr(out, "2 documents (2 summarized"), "%s", out);
    cr_assert_eq(query_long(c, "SELECT count(*) FROM digests WHERE collection = 'board' AND schedule IS NULL"
                               " AND period_key LIKE 'manual:%' AND document_count = 2"), 1);
    cr_assert_eq(query_long(c, "SELECT count(*) FROM digests WHERE html LIKE '%&lt;script&gt;alert(1)%'"
                               " AND html NOT LIKE '%<script>%' AND markdown LIKE '%Budget plans%'"), 1);
    char *ls = NULL;
    char *lscmd = NULL;
    cr_assert(asprintf(&lscmd, "ls %s", out_dir) > 0);
    cr_assert_eq(test_run(lscmd, &ls), 0);
    cr_assert(strstr(ls, "digest-board-") && strstr(ls, ".html") && strstr(ls, ".md"), "%s", ls);
    /* A missing --out directory fails before any model call: nothing stored. */
    free(out);
    free(cmd);
    cr_assert(asprintf(&cmd, "%s digest -c %s --collection board --since 24h -n 128 --out %s/missing 2>&1",
                       test_precis_bin(), conf, out_dir) > 0);
    cr_assert_eq(test_run(cmd, &out), 1, "%s", out);
    cr_assert(strstr(out, "/missing: cannot write files there"), "%s", out);
    cr_assert_eq(query_long(c, "SELECT count(*) FROM digests"), 1, "the failed run stored no digest");
    /* Usage errors. */
    free(out);
    free(cmd);
    cr_assert(asprintf(&cmd, "%s digest --since 24h 2>&1", test_precis_bin()) > 0);
    cr_assert_eq(test_run(cmd, &out), 2, "%s", out);
    free(out);
    free(cmd);
    cr_assert(asprintf(&cmd, "%s digest --collection x --since yesterday 2>&1", test_precis_bin()) > 0);
    cr_assert_eq(test_run(cmd, &out), 2, "%s", out);
    cr_assert(strstr(out, "--since"), "%s", out);
    free(out);
    free(cmd);
    free(ls);
    free(lscmd);
    free(model);
    PQfinish(c);
    free(conninfo);
}
