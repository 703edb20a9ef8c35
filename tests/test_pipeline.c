/* test_pipeline.c — the model pipeline end to end with the small synthetic
 * model (synth-d256-q8_0: random weights, the Llama 2 vocabulary, a llama2
 * chat template) and a real PostgreSQL (tests/pg_harness.h): text and PDF
 * jobs, broken and unknown-analysis jobs failing permanently, reprocessing
 * updating one result row, map-reduce over a document longer than the
 * context, prompt files, the daemon step through Kafka with an outside
 * producer (kcat), and `precis run`. */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/log.h"
#include "common/monotonic.h"
#include "common/sha256.h"
#include "daemon/config.h"
#include "daemon/consumer.h"
#include "daemon/job_handler.h"
#include "daemon/mock_broker.h"
#include "daemon/pipeline_setup.h"
#include "extractors/extract_server.h"
#include "daemon/job_handler.h"
#include "pipeline/job_run.h"
#include "pipeline/analyses/analysis.h"
#include "pipeline/pipeline.h"
#include "pipeline/llm/prompt.h"
#include "store/store.h"
#include "tests/pg_harness.h"
#include "tests/pg_query.h"
#include "tests/support.h"

/* The job runner around the pipeline (what serve and run do). */
static int run_job(pipeline *p, store *s, const job *j, pipeline_report *rep, perr *err)
{
    job_analyzer a = job_analyzer_for_pipeline(p);
    return job_run_execute(&a, s, j, NULL, rep, err);
}

#define MODEL "synth-d256-q8_0.gguf"
#define SMALL_PDF "pdf/normal/pdfjs_issue11913_IESC_2001_63.pdf"
/* Enough for the shortest {"title", "summary", "key_points": [{"point",
 * "paragraphs"}]} under constrained decoding, and a few words. */
#define MAX_TOKENS 112

/* ---- helpers ------------------------------------------------------------- */

static const char *prompts_dir(void)
{
    struct stat st;
    cr_assert_eq(stat("prompts/summary.json", &st), 0, "run the tests from the source tree (prompts/ missing)");
    return "prompts";
}

static pipeline *new_pipeline(int n_ctx, int max_tokens, const char *input_root)
{
    char *path = test_model_path(MODEL);
    pipeline_options o = {
        .model = {.model_path = path, .n_ctx = n_ctx, .n_threads = 1},
        .prompts_dir = prompts_dir(),
        .input_root = input_root,
        .max_tokens = max_tokens,
    };
    pipeline *p;
    perr err;
    cr_assert_eq(pipeline_new(&p, &o, &err), 0, "%s", err.msg);
    free(path);
    return p;
}

/* A job whose fields point at the caller's strings (never job_clear it). */
static job text_job(const char *id, const char *text)
{
    return (job){.job_id = (char *)id, .doc_kind = JOB_DOC_TEXT, .text = (char *)text, .text_len = strlen(text),
                 .metadata_json = "{}"};
}

static job content_job(const char *id, const char *filename, const void *bytes, size_t len)
{
    return (job){.job_id = (char *)id, .doc_kind = JOB_DOC_CONTENT, .content = (unsigned char *)bytes,
                 .content_len = len, .filename = (char *)filename, .metadata_json = "{}"};
}

/* Start the job row and run the pipeline on it. */
static int process(pipeline *p, test_db *d, const job *j, pipeline_report *rep, perr *err)
{
    perr serr;
    cr_assert_eq(job_run_start(d->st, j, NULL, NULL, &serr), 0, "%s", serr.msg);
    return run_job(p, d->st, j, rep, err);
}

static char *file_sha256(const char *path)
{
    size_t len;
    char *bytes = test_read_file(path, &len);
    char *hex = malloc(SHA256_HEX_LEN + 1);
    sha256_hex(bytes, len, hex);
    free(bytes);
    return hex;
}

static const char sample_text[] =
    "Rural bus services\n\n"
    "The county council will restore the early bus from the village to the hospital from 1 May.\n\n"
    "The fare cap of two pounds stays in place until the end of the year.";

/* ---- prompt files ---------------------------------------------------------- */

Test(pipeline, prompt_file_parses_and_renders_in_one_pass)
{
    static const char text[] = "{\"name\": \"t\", \"system\": \"S\", \"user\": \"[{{title}}] {{document}}\","
                               " \"max_tokens\": 12, \"temperature\": 0.5, \"seed\": 7}";
    prompt_spec *p;
    perr err;
    cr_assert_eq(prompt_parse(&p, text, strlen(text), "t", &err), 0, "%s", err.msg);
    cr_assert_eq(p->max_tokens, 12);
    cr_assert_float_eq(p->sampling.temp, 0.5f, 1e-6);
    cr_assert_eq(p->sampling.seed, 7);
    char hex[65];
    sha256_hex(text, strlen(text), hex);
    cr_assert_str_eq(p->version, hex, "the version is the file's sha256");
    char *r = prompt_render(p->user, "T", "a {{title}} b");
    cr_assert_str_eq(r, "[T] a {{title}} b", "document text is not expanded again");
    free(r);
    char *sampling = prompt_sampling_json(p);
    cr_assert(strstr(sampling, "\"max_tokens\":12") && strstr(sampling, "\"temperature\":0.5"), "%s", sampling);
    free(sampling);
    prompt_free(p);
}

Test(pipeline, prompt_file_errors_are_named)
{
    static const struct {
        const char *json, *needle;
    } cases[] = {
        {"{\"name\": \"t\", \"system\": \"S\", \"user\": \"{{document}}\", \"max_tokens\": 4, \"x\": 1}", "unknown key \"x\""},
        {"{\"name\": \"t\", \"system\": \"S\", \"user\": \"{{doc}}\", \"max_tokens\": 4}", "{{document}}"},
        {"{\"name\": \"t\", \"system\": \"S {{nope}}\", \"user\": \"{{document}}\", \"max_tokens\": 4}", "unknown placeholder"},
        {"{\"name\": \"t\", \"system\": \"S\", \"user\": \"{{document}}\"}", "max_tokens"},
        {"{\"name\": \"t\", \"system\": \"S\", \"user\": \"{{document}}\", \"max_tokens\": 0}", "max_tokens"},
        {"{\"name\": \"u\", \"system\": \"S\", \"user\": \"{{document}}\", \"max_tokens\": 4}", "\"name\""},
        {"{\"name\": \"t\", \"system\": \"S\", \"user\": \"{{document}}\", \"max_tokens\": 4, \"top_p\": 2}", "top_p"},
        {"[1, 2]", "object"},
        {"{", "JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        prompt_spec *p = NULL;
        perr err = {{0}};
        cr_assert_eq(prompt_parse(&p, cases[i].json, strlen(cases[i].json), "t", &err), -1, "case %zu", i);
        cr_assert_null(p);
        cr_assert(strstr(err.msg, cases[i].needle), "case %zu: '%s' lacks '%s'", i, err.msg, cases[i].needle);
    }
}

Test(pipeline, shipped_summary_prompt_is_valid)
{
    prompt_spec *p;
    perr err;
    cr_assert_eq(prompt_load(&p, prompts_dir(), "summary", &err), 0, "%s", err.msg);
    cr_assert_str_eq(p->name, "summary");
    cr_assert(p->combine, "summary has a combine template for long documents");
    cr_assert_eq(strlen(p->version), 64);
    prompt_free(p);
}

/* ---- jobs ------------------------------------------------------------------- */

Test(pipeline, text_job_is_summarized_and_stored, .timeout = 600)
{
    test_db d = test_db_open();
    pipeline *p = new_pipeline(0, MAX_TOKENS, NULL);
    job j = text_job("text-1", sample_text);
    pipeline_report rep;
    perr err;
    cr_assert_eq(process(p, &d, &j, &rep, &err), 0, "%s", err.msg);
    char hex[65];
    sha256_hex(sample_text, strlen(sample_text), hex);
    cr_assert_str_eq(rep.sha256, hex);
    cr_assert_eq(rep.n_results, 1);
    cr_assert_gt(rep.results[0].prompt_tokens, 20);
    cr_assert(rep.results[0].completion_tokens >= 1 && rep.results[0].completion_tokens <= 2 * MAX_TOKENS,
              "one call and at most one retry");

    pg_assert_query(d.raw, "SELECT status FROM jobs WHERE job_id = 'text-1'", "done");
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM documents WHERE sha256 = '%s' AND format = 'text'"
             " AND text LIKE 'Rural bus services%%'", hex);
    cr_assert_eq(pg_query_long(d.raw, sql), 1);
    pg_assert_query(d.raw, "SELECT analysis || ' ' || prompt_name FROM results", "summary summary");
    char *model_path = test_model_path(MODEL);
    char *model_hex = file_sha256(model_path);
    pg_assert_query(d.raw, "SELECT model_sha256 FROM results", model_hex);
    prompt_spec *ps;
    cr_assert_eq(prompt_load(&ps, prompts_dir(), "summary", &err), 0, "%s", err.msg);
    pg_assert_query(d.raw, "SELECT prompt_version FROM results", ps->version);
    pg_assert_query(d.raw, "SELECT model_name FROM results", llm_model_name(pipeline_llm(p)));
    pg_assert_query(d.raw, "SELECT sampling->>'max_tokens' FROM results", "112");
    pg_assert_query(d.raw, "SELECT (raw_text::jsonb = output AND jsonb_typeof(output->'summary') = 'string'"
                            " AND length(output->>'summary') > 0)::text FROM results", "true");
    pg_assert_query(d.raw, "SELECT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(output) k)::text FROM results",
                     "{key_points,summary,title}");
    pg_assert_query(d.raw, "SELECT (jsonb_array_length(output->'key_points') >= 1 AND NOT EXISTS (SELECT 1 FROM"
                            " jsonb_array_elements(output->'key_points') kp, jsonb_array_elements_text(kp->'paragraphs') AS t(pid)"
                            " WHERE t.pid NOT IN ('p1', 'p2', 'p3')))::text FROM results", "true");
    pg_assert_query(d.raw, "SELECT (prompt_tokens > 20 AND completion_tokens BETWEEN 1 AND 112 * 2"
                            " AND prompt_ms >= 0 AND completion_ms >= 0)::text FROM results", "true");
    pg_assert_query(d.raw, "SELECT timings->>'chunks' FROM results", "1");
    cr_assert(llm_is_toy(pipeline_llm(p)), "the synthetic model is flagged as a toy");
    prompt_free(ps);
    free(model_hex);
    free(model_path);
    pipeline_report_clear(&rep);
    pipeline_free(p);
    test_db_close(&d);
}

Test(pipeline, pdf_job_by_path_under_input_root, .timeout = 600)
{
    char *pdf = test_corpus_path(SMALL_PDF);
    char *root = strdup(pdf);
    *strrchr(root, '/') = '\0';
    test_db d = test_db_open();
    pipeline *p = new_pipeline(0, MAX_TOKENS, root);
    job j = {.job_id = "pdf-1", .doc_kind = JOB_DOC_PATH, .path = strrchr(pdf, '/') + 1, .metadata_json = "{}"};
    pipeline_report rep;
    perr err;
    cr_assert_eq(process(p, &d, &j, &rep, &err), 0, "%s", err.msg);
    char *hex = file_sha256(pdf);
    cr_assert_str_eq(rep.sha256, hex);
    pg_assert_query(d.raw, "SELECT format || ' ' || media_type FROM documents", "pdf application/pdf");
    cr_assert_geq(pg_query_long(d.raw, "SELECT pages FROM documents"), 1);
    cr_assert_gt(pg_query_long(d.raw, "SELECT length(text) FROM documents"), 200);
    pg_assert_query(d.raw, "SELECT (structure->'sections'->0->'paragraphs'->0->>'id')::text FROM documents", "p1");
    pg_assert_query(d.raw, "SELECT status FROM jobs WHERE job_id = 'pdf-1'", "done");
    cr_assert_eq(pg_query_long(d.raw, "SELECT count(*) FROM results WHERE analysis = 'summary'"), 1);
    pipeline_report_clear(&rep);

    /* The same file named by a path outside the root is refused. */
    job outside = {.job_id = "pdf-2", .doc_kind = JOB_DOC_PATH, .path = "/etc/passwd", .metadata_json = "{}"};
    cr_assert_eq(pipeline_analyze(p, &outside, NULL, &rep, &err), PIPELINE_PERMANENT);
    cr_assert_str_eq(rep.error_class, "document");
    pipeline_report_clear(&rep);
    free(hex);
    pipeline_free(p);
    test_db_close(&d);
    free(root);
    free(pdf);
}

Test(pipeline, broken_pdf_fails_permanently_with_reason, .timeout = 600)
{
    static const char broken[] = "%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer garbage";
    test_db d = test_db_open();
    pipeline *p = new_pipeline(0, MAX_TOKENS, NULL);
    job j = content_job("broken-1", "broken.pdf", broken, sizeof broken - 1);
    pipeline_report rep;
    perr err = {{0}};
    cr_assert_eq(process(p, &d, &j, &rep, &err), PIPELINE_PERMANENT);
    cr_assert_str_eq(rep.error_class, "extract");
    cr_assert(strstr(err.msg, "broken.pdf"), "the reason names the document: %s", err.msg);
    cr_assert_eq(pg_query_long(d.raw, "SELECT count(*) FROM documents"), 0, "nothing stored");
    cr_assert_eq(pg_query_long(d.raw, "SELECT count(*) FROM results"), 0);
    pipeline_report_clear(&rep);
    pipeline_free(p);
    test_db_close(&d);
}

/* With an extraction server (started before the model's threads, as serve
 * and run do) the job's document is extracted by it; when the server is
 * gone the job fails transiently (retried), not as a broken document. */
Test(pipeline, extraction_server_is_used_and_its_loss_is_transient, .timeout = 600)
{
    extract_server *server = NULL;
    perr err = {{0}};
    cr_assert_eq(extract_server_start(&server, &err), 0, "%s", err.msg);
    char *path = test_model_path(MODEL);
    pipeline_options o = {.model = {.model_path = path, .n_threads = 1}, .prompts_dir = prompts_dir(),
                          .max_tokens = MAX_TOKENS, .extract_server = server};
    pipeline *p;
    cr_assert_eq(pipeline_new(&p, &o, &err), 0, "%s", err.msg);
    free(path);
    job j = text_job("served-1", sample_text);
    pipeline_report rep;
    cr_assert_eq(pipeline_analyze(p, &j, NULL, &rep, &err), 0, "%s", err.msg);
    cr_assert_not_null(rep.doc);
    cr_assert_gt(rep.doc->full_text_len, 0);
    pipeline_report_clear(&rep);
    cr_assert_eq(kill(extract_server_pid(server), SIGKILL), 0);
    test_sleep_ms(100);
    cr_assert_eq(pipeline_analyze(p, &j, NULL, &rep, &err), PIPELINE_TRANSIENT);
    cr_assert_str_eq(rep.error_class, "extract");
    cr_assert(strstr(err.msg, "extraction server is gone"), "%s", err.msg);
    pipeline_report_clear(&rep);
    pipeline_free(p);
    extract_server_stop(server);
}

Test(pipeline, unknown_analysis_fails_before_any_work, .timeout = 600)
{
    pipeline *p = new_pipeline(0, MAX_TOKENS, NULL);
    char *names[] = {"summary", "horoscope"};
    job j = text_job("unknown-1", sample_text);
    j.analyses = names;
    j.n_analyses = 2;
    pipeline_report rep;
    perr err;
    cr_assert_eq(pipeline_analyze(p, &j, NULL, &rep, &err), PIPELINE_PERMANENT);
    cr_assert_str_eq(rep.error_class, "unknown_analysis");
    cr_assert(strstr(err.msg, "\"horoscope\"") && strstr(err.msg, "known: summary"), "%s", err.msg);
    cr_assert_null(rep.doc, "nothing was extracted");
    cr_assert_eq(rep.n_results, 0);
    pipeline_report_clear(&rep);
    pipeline_free(p);
}

Test(pipeline, item_analysis_is_refused_in_a_job, .timeout = 600)
{
    /* "hearsay" asks its question of an evaluation's items (precis eval legal), never of a job's document. */
    pipeline *p = new_pipeline(0, MAX_TOKENS, NULL);
    char *names[] = {"hearsay"};
    job j = text_job("item-1", sample_text);
    j.analyses = names;
    j.n_analyses = 1;
    pipeline_report rep;
    perr err;
    cr_assert_eq(pipeline_analyze(p, &j, NULL, &rep, &err), PIPELINE_PERMANENT);
    cr_assert_str_eq(rep.error_class, "unknown_analysis");
    cr_assert(strstr(err.msg, "\"hearsay\"") && strstr(err.msg, "precis eval legal"), "%s", err.msg);
    cr_assert_null(rep.doc, "nothing was extracted");
    pipeline_report_clear(&rep);
    pipeline_free(p);
}

Test(pipeline, empty_document_fails_permanently, .timeout = 600)
{
    pipeline *p = new_pipeline(0, MAX_TOKENS, NULL);
    job j = text_job("empty-1", "\n\n  \n");
    pipeline_report rep;
    perr err;
    cr_assert_eq(pipeline_analyze(p, &j, NULL, &rep, &err), PIPELINE_PERMANENT);
    cr_assert(strcmp(rep.error_class, "empty_document") == 0 || strcmp(rep.error_class, "extract") == 0,
              "%s: %s", rep.error_class, err.msg);
    pipeline_report_clear(&rep);
    pipeline_free(p);
}

/* One pipeline (one model load) serves several jobs; the same document
 * again updates its result row, and greedy output is identical each time
 * (the engine context is reset between jobs). */
Test(pipeline, one_model_many_jobs_and_reprocessing_updates_one_row, .timeout = 600)
{
    test_db d = test_db_open();
    pipeline *p = new_pipeline(0, MAX_TOKENS, NULL);
    const llm *model = pipeline_llm(p);
    static const char other[] = "A second, different document about library opening hours.";
    const char *ids[] = {"again-1", "other-1", "again-2"};
    const char *texts[] = {sample_text, other, sample_text};
    char *raw[3];
    for (int i = 0; i < 3; i++) {
        job j = text_job(ids[i], texts[i]);
        pipeline_report rep;
        perr err;
        cr_assert_eq(process(p, &d, &j, &rep, &err), 0, "job %s: %s", ids[i], err.msg);
        raw[i] = strdup(rep.results[0].raw_text);
        pipeline_report_clear(&rep);
        cr_assert_eq(pipeline_llm(p), model, "the same model serves every job");
    }
    cr_assert_str_eq(raw[0], raw[2], "same document, same greedy output");
    cr_assert_eq(pg_query_long(d.raw, "SELECT count(*) FROM jobs WHERE status = 'done'"), 3);
    cr_assert_eq(pg_query_long(d.raw, "SELECT count(*) FROM documents"), 2);
    cr_assert_eq(pg_query_long(d.raw, "SELECT count(*) FROM results"), 2, "reprocessing updated the row");
    cr_assert_eq(pg_query_long(d.raw, "SELECT count(DISTINCT model_sha256) FROM results"), 1);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT r.job_id FROM results r JOIN documents d ON d.id = r.document_id"
             " WHERE d.text LIKE 'Rural%%'");
    pg_assert_query(d.raw, sql, "again-2");
    for (int i = 0; i < 3; i++)
        free(raw[i]);
    pipeline_free(p);
    test_db_close(&d);
}

/* ---- long documents ------------------------------------------------------------ */

/* n numbered paragraphs of about 40 tokens each (malloc'd). */
static char *long_text(int n)
{
    size_t cap = (size_t)n * 300 + 1, len = 0;
    char *t = malloc(cap);
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(t + len, cap - len, "%sParagraph %d. The committee reviewed the bus timetable,"
                                " the fare cap and the stops near the surgery, and agreed to report back.",
                                i ? "\n\n" : "", i + 1);
    return t;
}

Test(pipeline, long_document_is_summarized_by_map_reduce, .timeout = 600)
{
    test_db d = test_db_open();
    pipeline *p = new_pipeline(768, MAX_TOKENS, NULL);
    char *text = long_text(40);   /* ~1,500 tokens: twice the context (512 has no room to combine two parts) */
    job j = text_job("long-1", text);
    pipeline_report rep;
    perr err;
    cr_assert_eq(process(p, &d, &j, &rep, &err), 0, "%s", err.msg);
    cr_assert_gt(rep.results[0].prompt_tokens, 1200, "every chunk went through the model");
    cr_assert_gt(rep.tokens_cached, 0, "later chunks reuse the shared instructions' cache");
    cr_assert_lt(rep.tokens_cached, rep.tokens_in);
    cr_assert_gt(pg_query_long(d.raw, "SELECT (timings->>'chunks')::int FROM results"), 2);
    cr_assert_gt(pg_query_long(d.raw, "SELECT (timings->>'calls')::int FROM results"),
                 pg_query_long(d.raw, "SELECT (timings->>'chunks')::int FROM results"), "map calls plus a reduce call");
    pg_assert_query(d.raw, "SELECT (output ? 'summary')::text FROM results", "true");
    pipeline_report_clear(&rep);
    free(text);
    pipeline_free(p);
    test_db_close(&d);
}

Test(pipeline, context_too_small_to_split_is_a_clear_error, .timeout = 600)
{
    pipeline *p = new_pipeline(160, 120, NULL);
    char *text = long_text(10);
    job j = text_job("small-ctx", text);
    pipeline_report rep;
    perr err;
    cr_assert_eq(pipeline_analyze(p, &j, NULL, &rep, &err), PIPELINE_PERMANENT);
    cr_assert_str_eq(rep.error_class, "engine");
    cr_assert(strstr(err.msg, "too small"), "%s", err.msg);
    pipeline_report_clear(&rep);
    free(text);
    pipeline_free(p);
}

Test(pipeline, too_few_tokens_for_the_json_answer_is_a_clear_error, .timeout = 600)
{
    pipeline *p = new_pipeline(0, 3, NULL);
    job j = text_job("few-tokens", sample_text);
    pipeline_report rep;
    perr err;
    cr_assert_eq(pipeline_analyze(p, &j, NULL, &rep, &err), PIPELINE_PERMANENT);
    cr_assert_str_eq(rep.error_class, "engine");
    cr_assert(strstr(err.msg, "analysis summary") && strstr(err.msg, "token limit"), "%s", err.msg);
    pipeline_report_clear(&rep);
    pipeline_free(p);
}

/* ---- the daemon step through Kafka ------------------------------------------ */

typedef struct kafka_daemon {
    mock_broker *broker;
    kafka_property props[4];
    job_handler_state *handler;
    consumer *consumer;
    pthread_t thread;
    int rc;
    perr err;
} kafka_daemon;

static void *consume(void *arg)
{
    kafka_daemon *k = arg;
    k->rc = consumer_run(k->consumer, &k->err);
    return NULL;
}

static void wait_rows(PGconn *c, const char *sql, long want)
{
    int64_t deadline = monotonic_ms() + 240000;
    long got;
    while ((got = pg_query_long(c, sql)) < want) {
        cr_assert_lt(monotonic_ms(), deadline, "timed out: '%s' = %ld, want %ld", sql, got, want);
        usleep(50000);
    }
}

/* N jobs produced by kcat (an outside Kafka client) and one broken PDF ->
 * N result rows through the real pipeline; the broken one dead with its reason. */
Test(pipeline, kafka_jobs_from_kcat_end_to_end, .timeout = 600)
{
    log_set_level(LOG_WARN);
    test_db d = test_db_open();
    pipeline *p = new_pipeline(0, MAX_TOKENS, NULL);
    kafka_daemon k = {0};
    static const char *const topics[] = {"precis.jobs", "precis.jobs.dlq", NULL};
    mock_broker_options mo = {.partitions = 2, .topics = topics};
    perr err;
    cr_assert_eq(mock_broker_start(&k.broker, &mo, &err), 0, "%s", err.msg);
    k.props[0] = (kafka_property){"bootstrap.servers", mock_broker_bootstraps(k.broker)};
    job_handler_options ho = {.conninfo = d.conninfo, .max_attempts = 3, .analyzer = job_analyzer_for_pipeline(p)};
    cr_assert_eq(job_handler_new(&k.handler, &ho, &err), 0, "%s", err.msg);
    consumer_options co = {.props = k.props, .nprops = 1, .handler = job_handler_for(k.handler), .poll_ms = 50,
                           .backoff_initial_ms = 100, .backoff_max_ms = 400, .shutdown_grace_ms = 5000};
    cr_assert_eq(consumer_new(&k.consumer, &co, &err), 0, "%s", err.msg);
    cr_assert_eq(pthread_create(&k.thread, NULL, consume, &k), 0);

    enum { N = 3 };
    char *cmd;
    cr_assert(asprintf(&cmd, "kcat -b %s -t precis.jobs -P -K:", mock_broker_bootstraps(k.broker)) > 0);
    FILE *kcat = popen(cmd, "w");
    cr_assert(kcat, "popen kcat");
    for (int i = 0; i < N; i++)
        fprintf(kcat, "k%d:{\"job_id\": \"kcat-%d\", \"analyses\": [\"summary\"], \"document\": {\"text\":"
                      " \"Notice %d. The library opens at nine on weekdays and at ten on Saturdays.\"}}\n", i, i, i);
    /* base64 of "%PDF-1.4 garbage" */
    fprintf(kcat, "kb:{\"job_id\": \"kcat-broken\", \"document\": {\"content_base64\": \"JVBERi0xLjQgZ2FyYmFnZQ==\","
                  " \"filename\": \"broken.pdf\"}}\n");
    cr_assert_eq(pclose(kcat), 0, "kcat failed");
    free(cmd);

    wait_rows(d.raw, "SELECT count(*) FROM jobs WHERE status IN ('done', 'dead')", N + 1);
    consumer_request_stop(k.consumer);
    pthread_join(k.thread, NULL);
    cr_assert_eq(k.rc, 0, "%s", k.err.msg);
    cr_assert_eq(pg_query_long(d.raw, "SELECT count(*) FROM jobs WHERE status = 'done' AND job_id LIKE 'kcat-_'"), N);
    cr_assert_eq(pg_query_long(d.raw, "SELECT count(*) FROM results WHERE analysis = 'summary'"), N);
    cr_assert_eq(pg_query_long(d.raw, "SELECT count(*) FROM results WHERE output ? 'summary'"), N);
    pg_assert_query(d.raw, "SELECT status || ' ' || error_class FROM jobs WHERE job_id = 'kcat-broken'", "dead extract");
    char *why = pg_query_text(d.raw, "SELECT error FROM jobs WHERE job_id = 'kcat-broken'");
    cr_assert(why && strstr(why, "broken.pdf"), "the reason is recorded: %s", why ? why : "(null)");
    free(why);
    consumer_free(k.consumer);
    job_handler_free(k.handler);
    mock_broker_stop(k.broker);
    pipeline_free(p);
    test_db_close(&d);
}

/* ---- precis run ---------------------------------------------------------------- */

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* The "N sequences per forward pass" of precis run's summary line. */
static double occupancy_of(const char *log)
{
    const char *p = strstr(log, " sequences per forward pass");
    cr_assert(p, "summary line with the batch occupancy: %s", log);
    while (p > log && (p[-1] == '.' || (p[-1] >= '0' && p[-1] <= '9')))
        p--;
    return strtod(p, NULL);
}

Test(pipeline, precis_run_analyses_documents_at_once_and_prints_in_input_order, .timeout = 600)
{
    enum { N = 4 };
    char *model = test_model_path(MODEL);
    char files[N][512], *list = NULL;
    for (int i = 0; i < N; i++) {
        snprintf(files[i], sizeof files[i], "%s/doc-%d.txt", test_tmpdir(), i);
        char *text = NULL;
        /* The first document is the longest, so it finishes last. */
        cr_assert(asprintf(&text, "Document %d.\n%s%s", i, sample_text, i == 0 ? sample_text : "") > 0);
        write_text(files[i], text);
        free(text);
        char *grown = NULL;
        cr_assert(asprintf(&grown, "%s %s", list ? list : "", files[i]) > 0);
        free(list);
        list = grown;
    }
    for (int jobs = 1; jobs <= N; jobs += N - 1) {
        char *cmd, *out, *log;
        cr_assert(asprintf(&cmd, "%s run --no-store -m %s -n 112 -j %d %s 2>%s/run-%d.log", test_precis_bin(), model,
                           jobs, list, test_tmpdir(), jobs) > 0);
        cr_assert_eq(test_run(cmd, &out), 0, "%s", out);
        char *logpath = NULL;
        cr_assert(asprintf(&logpath, "%s/run-%d.log", test_tmpdir(), jobs) > 0);
        log = test_read_file(logpath, NULL);
        double occupancy = occupancy_of(log);
        if (jobs == 1)
            cr_assert(occupancy <= 1.0, "one document at a time decodes alone: %.2f\n%s", occupancy, log);
        else
            cr_assert(occupancy >= 1.8, "%d documents share the batch: %.2f sequences per pass\n%s", jobs, occupancy,
                      log);
        char *save = NULL, *line = strtok_r(out, "\n", &save);
        for (int i = 0; i < N; i++, line = strtok_r(NULL, "\n", &save)) {
            cr_assert(line, "a line per document: -j %d", jobs);
            cJSON *o = cJSON_Parse(line);
            cr_assert(o, "JSON: %s", line);
            cr_assert_str_eq(cJSON_GetObjectItem(o, "file")->valuestring, files[i], "input order with -j %d", jobs);
            cr_assert(cJSON_IsObject(cJSON_GetObjectItem(o, "analyses")), "%s", line);
            cJSON_Delete(o);
        }
        free(logpath);
        free(log);
        free(out);
        free(cmd);
    }
    /* --unordered prints every document once, as each finishes. */
    char *cmd, *out;
    cr_assert(asprintf(&cmd, "%s run --no-store -m %s -n 112 -j %d --unordered %s 2>/dev/null", test_precis_bin(),
                       model, N, list) > 0);
    cr_assert_eq(test_run(cmd, &out), 0, "%s", out);
    for (int i = 0; i < N; i++)
        cr_assert(strstr(out, files[i]), "%s printed: %s", files[i], out);
    free(out);
    free(cmd);
    free(list);
    free(model);
}

/* KEY=N of precis run's "run finished" log line. */
static long logged(const char *log, const char *key)
{
    char *k = NULL;
    cr_assert(asprintf(&k, " %s=", key) > 0);
    const char *p = strstr(log, "msg=\"run finished\"");
    cr_assert(p, "the run finished line: %s", log);
    p = strstr(p, k);
    cr_assert(p, "%s in: %s", k, log);
    long v = strtol(p + strlen(k), NULL, 10);
    free(k);
    return v;
}

/* Drafts on (the default), --no-draft and [engine] draft = false: the same
 * results; only the forward passes and the draft counts differ. */
Test(pipeline, precis_run_drafts_change_the_passes_not_the_results, .timeout = 600)
{
    char *model = test_model_path(MODEL);
    char doc[512];
    snprintf(doc, sizeof doc, "%s/quoting.txt", test_tmpdir());
    write_text(doc, sample_text);
    char *conf = test_write_tmp("nodraft.conf", "[engine]\ndraft = false\n");
    const char *variants[] = {"", "--no-draft", NULL};
    char *first = NULL;
    for (int v = 0; v < 3; v++) {
        char *cmd, *out, *logpath;
        cr_assert(asprintf(&logpath, "%s/drafts-%d.log", test_tmpdir(), v) > 0);
        cr_assert(asprintf(&cmd, "%s run --no-store -m %s -n 112 -j 1 %s%s %s %s 2>%s", test_precis_bin(), model,
                           v == 2 ? "-c " : "", v == 2 ? conf : "", v < 2 ? variants[v] : "", doc, logpath) > 0);
        cr_assert_eq(test_run(cmd, &out), 0, "%s", out);
        char *log = test_read_file(logpath, NULL);
        long generated = logged(log, "generated_tokens"), passes = logged(log, "forward_passes");
        long proposed = logged(log, "draft_proposed"), accepted = logged(log, "draft_accepted");
        cr_assert_gt(generated, 0, "%s", log);
        if (v == 0) {
            cr_assert_gt(proposed, 0, "drafts by default: %s", log);
            cr_assert_lt(passes, generated, "%s", log);
            first = strdup(out);
        } else {
            cr_assert_eq(proposed, 0, "variant %d: %s", v, log);
            cr_assert_eq(accepted, 0);
            cr_assert_str_eq(out, first, "the same results with drafts off (variant %d)", v);
        }
        cr_assert_geq(proposed, accepted);
        free(log);
        free(out);
        free(cmd);
        free(logpath);
    }
    free(first);
    free(conf);
    free(model);
}

Test(pipeline, precis_run_prints_json_and_stores, .timeout = 600)
{
    test_db d = test_db_open();
    char *model = test_model_path(MODEL);
    char doc[512], missing[512];
    snprintf(doc, sizeof doc, "%s/notice.txt", test_tmpdir());
    snprintf(missing, sizeof missing, "%s/missing.txt", test_tmpdir());
    FILE *f = fopen(doc, "w");
    cr_assert(f);
    fputs(sample_text, f);
    fclose(f);
    char *cmd, *out;
    cr_assert(asprintf(&cmd, "PRECIS_POSTGRES_CONNINFO='%s' %s run -m %s -n 112 %s %s 2>%s/run.log", d.conninfo,
                       test_precis_bin(), model, doc, missing, test_tmpdir()) > 0);
    int status = test_run(cmd, &out);
    cr_assert_eq(status, 1, "one file failed, so exit 1 (stdout: %s)", out);
    char *second = strchr(out, '\n');
    cr_assert(second, "two JSON lines: %s", out);
    *second++ = '\0';
    cJSON *ok = cJSON_Parse(out), *bad = cJSON_Parse(second);
    cr_assert(ok && bad, "valid JSON lines: %s / %s", out, second);
    char hex[65];
    sha256_hex(sample_text, strlen(sample_text), hex);
    cr_assert_str_eq(cJSON_GetObjectItem(ok, "sha256")->valuestring, hex);
    cr_assert_str_eq(cJSON_GetObjectItem(ok, "file")->valuestring, doc);
    cJSON *summary = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(ok, "analyses"), "summary"), "summary");
    cr_assert(cJSON_IsString(summary), "analyses.summary.summary is a string");
    cr_assert_str_eq(cJSON_GetObjectItem(bad, "file")->valuestring, missing);
    cr_assert(cJSON_IsString(cJSON_GetObjectItem(bad, "error")));
    cr_assert_eq(pg_query_long(d.raw, "SELECT count(*) FROM jobs WHERE status = 'done'"), 1);
    cr_assert_eq(pg_query_long(d.raw, "SELECT count(*) FROM results"), 1);
    pg_assert_query(d.raw, "SELECT sampling->>'max_tokens' FROM results", "112");
    cJSON_Delete(ok);
    cJSON_Delete(bad);
    free(out);
    free(cmd);

    /* Without a database: still prints, says it does not store. */
    cr_assert(asprintf(&cmd, "env -u PGHOST -u PGDATABASE -u PGSERVICE -u PGHOSTADDR -u PGPORT -u PGUSER "
                             "PRECIS_POSTGRES_CONNINFO= %s run -m %s -n 112 %s 2>&1 >/dev/null", test_precis_bin(),
                       model, doc) > 0);
    cr_assert_eq(test_run(cmd, &out), 0, "%s", out);
    cr_assert(strstr(out, "NOT stored"), "%s", out);
    cr_assert(strstr(out, "not meaningful"), "the toy model is called out: %s", out);
    free(out);
    free(cmd);
    free(model);
    test_db_close(&d);
}


Test(pipeline, prompts_reload_all_or_nothing, .timeout = 600)
{
    char *dir = NULL, *file = NULL;
    cr_assert(asprintf(&dir, "%s/prompts", test_tmpdir()) > 0 && asprintf(&file, "%s/summary.json", dir) > 0);
    cr_assert_eq(mkdir(dir, 0700), 0);
    /* Every analysis's prompt is loaded: copy them all, then edit summary.json. */
    for (size_t i = 0; analysis_at(i); i++) {
        char *from = NULL, *to = NULL;
        cr_assert(asprintf(&from, "prompts/%s.json", analysis_at(i)->prompt) > 0);
        cr_assert(asprintf(&to, "%s/%s.json", dir, analysis_at(i)->prompt) > 0);
        char *text = test_read_file(from, NULL);
        write_text(to, text);
        free(text);
        free(from);
        free(to);
    }
    char *original = test_read_file("prompts/summary.json", NULL);
    char *path = test_model_path(MODEL);
    pipeline_options o = {
        .model = {.model_path = path, .n_ctx = 512, .n_threads = 1},
        .prompts_dir = dir,
        .max_tokens = MAX_TOKENS,
    };
    pipeline *p;
    perr err;
    cr_assert_eq(pipeline_new(&p, &o, &err), 0, "%s", err.msg);
    char v1[65];
    snprintf(v1, sizeof v1, "%s", pipeline_prompt_version(p, "summary"));

    /* An edited prompt file is a new version after reload. */
    char *edited = NULL;
    cr_assert(asprintf(&edited, "%s\n", original) > 0);
    write_text(file, edited);
    cr_assert_str_eq(pipeline_prompt_version(p, "summary"), v1, "nothing changes before the reload");
    cr_assert_eq(pipeline_reload_prompts(p, &err), 0, "%s", err.msg);
    char v2[65];
    snprintf(v2, sizeof v2, "%s", pipeline_prompt_version(p, "summary"));
    cr_assert_str_neq(v2, v1);

    /* A broken file is an error and the prompts in use stay. */
    write_text(file, "{ not json");
    cr_assert_eq(pipeline_reload_prompts(p, &err), -1);
    cr_assert(strstr(err.msg, "previous ones stay in use"), "%s", err.msg);
    cr_assert_str_eq(pipeline_prompt_version(p, "summary"), v2);

    pipeline_free(p);
    free(edited);
    free(original);
    free(path);
    free(file);
    free(dir);
}

Test(pipeline, reload_settings_applies_extraction_limits, .timeout = 600)
{
    pipeline *p = new_pipeline(512, MAX_TOKENS, NULL);
    char *conf = NULL;
    cr_assert(asprintf(&conf, "%s/reload.conf", test_tmpdir()) > 0);
    char *const no_env[] = {NULL};
    config *cfg;
    perr err;
    write_text(conf, "[pipeline]\nextract_timeout = 7\nextract_memory_mb = 300\n");
    cr_assert_eq(config_load(&cfg, conf, no_env, &err), 0, "%s", err.msg);
    cr_assert_eq(pipeline_reload_settings(p, cfg, &err), 0, "%s", err.msg);
    cr_assert_eq(pipeline_limits(p)->wall_seconds, 7);
    cr_assert_eq(pipeline_limits(p)->memory_mb, 300);
    config_free(cfg);
    pipeline_free(p);
    free(conf);
}
