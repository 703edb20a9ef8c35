/* test_context_2048.c — every shipped analysis runs on a model with a
 * 2048-token context (like TinyLlama-1.1B-Chat) with its prompt's own
 * max_tokens: a prompt written for a 4096-token context gets shorter
 * answers for documents that need map-reduce (the trace says so, and the
 * pipeline reports it for the start-up note), never a failure. Also the
 * budget arithmetic and the reduce pre-check. Model: synth-d256-q8_0
 * (context 2048, random weights: the text means nothing, the budgets do). */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/digest/collection_digest.h"
#include "pipeline/consultation/consultation.h"
#include "pipeline/pipeline.h"
#include "pipeline/analyses/reduce.h"
#include "pipeline/consultation/responses.h"
#include "tests/support.h"

#define MODEL "synth-d256-q8_0.gguf"

static pipeline *open_pipeline(void)
{
    char *model = test_model_path(MODEL);
    pipeline_options o = {.model = {.model_path = model, .n_threads = 2, .n_parallel = 4}, .prompts_dir = "prompts"};
    pipeline *p = NULL;
    perr err;
    cr_assert_eq(pipeline_new(&p, &o, &err), 0, "%s", err.msg);
    cr_assert_eq(llm_n_ctx(pipeline_llm(p)), 2048, "the test model's context");
    free(model);
    return p;
}

static char *demo_text(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "deploy/demo/documents/%s", name);
    char *text = test_read_file(path, NULL);
    cr_assert(text, "%s", path);
    return text;
}

/* Does the result's trace hold a record of step with outcome? */
static int trace_has(const char *trace_json, const char *step, const char *outcome)
{
    cJSON *trace = cJSON_Parse(trace_json ? trace_json : "[]");
    int found = 0;
    const cJSON *rec;
    cJSON_ArrayForEach(rec, trace)
    {
        const cJSON *s = cJSON_GetObjectItem(rec, "step"), *o = cJSON_GetObjectItem(rec, "outcome");
        found |= cJSON_IsString(s) && cJSON_IsString(o) && !strcmp(s->valuestring, step) &&
                 !strcmp(o->valuestring, outcome);
    }
    cJSON_Delete(trace);
    return found;
}

/* One document analysis through the pipeline, as a job would run it. */
static void run_document_analysis(pipeline *p, const char *analysis, char *text, pipeline_report *rep)
{
    char *names[] = {(char *)analysis};
    job j = {.job_id = "ctx-2048", .analyses = names, .n_analyses = 1, .doc_kind = JOB_DOC_TEXT, .text = text,
             .text_len = strlen(text)};
    perr err;
    cr_assert_eq(pipeline_analyze(p, &j, NULL, rep, &err), 0, "%s: %s", analysis, err.msg);
    cr_assert_eq(rep->n_results, 1);
}

Test(context_2048, answer_budget_arithmetic)
{
    /* 0.9 * (2048 - 300 - m) >= 2 * (m + 16 + 2)  ->  m = 530 */
    cr_assert_eq(reduce_fit_answer(2048, 1024, 300, 5000), 530);
    cr_assert_eq(reduce_fit_answer(2048, 200, 300, 5000), 200, "a budget that fits is kept");
    cr_assert_eq(reduce_fit_answer(2048, 1024, 300, 100), 100, "the map step's limit");
    cr_assert_eq(reduce_fit_answer(4096, 1024, 300, 5000), 1024);
    cr_assert_eq(reduce_fit_answer(300, 1024, 280, 5000), 0, "no room at all");
    cr_assert_eq(reduce_fit_answer(2048, 20, 300, 5000), 20, "a small budget below the minimum still runs");
    cr_assert_eq(reduce_fit_answer(2048, 1024, 300, 40), 0, "the map step leaves less than the minimum");
}

Test(context_2048, reduce_is_checked_before_the_map_step, .timeout = 120)
{
    pipeline *p = open_pipeline();
    analysis_input in;
    perr err;
    cr_assert_eq(pipeline_analysis_input(p, "summary", &in, &err), 0, "%s", err.msg);
    reduce_spec spec = {.step = "combine", .system = in.prompt->system, .tmpl = in.prompt->user, .max_tokens = 900};
    cr_assert_eq(reduce_check_feasible(&in, &spec, 22, &err), -1);
    cr_assert(strstr(err.msg, "too small to combine the 22 partial results"), "%s", err.msg);
    cr_assert_eq(reduce_check_feasible(&in, &spec, 1, &err), 0, "one part needs no combine");
    spec.max_tokens = 300;
    cr_assert_eq(reduce_check_feasible(&in, &spec, 500, &err), 0, "%s", err.msg);
    cr_assert_eq(reduce_check_feasible(&in, &spec, (size_t)1 << 40, &err), -1);
    cr_assert(strstr(err.msg, "combine levels"), "%s", err.msg);
    pipeline_free(p);
}

Test(context_2048, start_up_note_names_the_shortened_analyses, .timeout = 120)
{
    pipeline *p = open_pipeline();
    pipeline_budget_note note;
    perr err = {{0}};
    int seen_summary = 0, seen_legal = 0;
    for (size_t i = 0; pipeline_budget_note_at(p, i, &note, &err) == 0; i++) {
        cr_assert_lt(note.used, note.max_tokens, "%s", note.analysis);
        cr_assert_geq(note.used, REDUCE_MIN_ANSWER_TOKENS, "%s", note.analysis);
        seen_summary |= !strcmp(note.analysis, "summary") && note.max_tokens == 768;
        seen_legal |= !strcmp(note.analysis, "legal_review") && note.max_tokens == 1024;
    }
    cr_assert_eq(err.msg[0], '\0', "%s", err.msg);
    cr_assert(seen_summary && seen_legal, "both map-reduce analyses need shorter answers at 2048 tokens");
    pipeline_free(p);
}

Test(context_2048, legal_review_runs_with_its_prompt_budget, .timeout = 600)
{
    pipeline *p = open_pipeline();
    char *text = demo_text("judgment-harlow-v-medway.txt");
    pipeline_report rep;
    run_document_analysis(p, "legal_review", text, &rep);
    cr_assert(trace_has(rep.results[0].trace_json, "budget", "scaled"), "%s", rep.results[0].trace_json);
    cJSON *out = cJSON_Parse(rep.results[0].output_json);
    cr_assert(cJSON_IsArray(cJSON_GetObjectItem(out, "findings")), "%s", rep.results[0].output_json);
    cJSON_Delete(out);
    pipeline_report_clear(&rep);
    free(text);
    pipeline_free(p);
}

Test(context_2048, summary_of_a_long_document_runs_with_its_prompt_budget, .timeout = 900)
{
    pipeline *p = open_pipeline();
    char *a = demo_text("judgment-harlow-v-medway.txt"), *b = demo_text("article-rural-bus-services.txt");
    char *text = NULL;
    cr_assert(asprintf(&text, "%s\n\n%s", a, b) > 0);
    pipeline_report rep;
    run_document_analysis(p, "summary", text, &rep);
    cr_assert(trace_has(rep.results[0].trace_json, "budget", "scaled"), "%s", rep.results[0].trace_json);
    cJSON *timings = cJSON_Parse(rep.results[0].timings_json);
    cr_assert_geq(cJSON_GetObjectItem(timings, "chunks")->valueint, 2, "%s", rep.results[0].timings_json);
    cr_assert_geq(cJSON_GetObjectItem(timings, "levels")->valueint, 1, "the chunks were combined: %s",
                  rep.results[0].timings_json);
    cJSON_Delete(timings);
    pipeline_report_clear(&rep);
    free(text);
    free(a);
    free(b);
    pipeline_free(p);
}

Test(context_2048, consultation_runs_with_its_prompt_budget, .timeout = 600)
{
    pipeline *p = open_pipeline();
    analysis_input in;
    perr err;
    cr_assert_eq(pipeline_analysis_input(p, "consultation", &in, &err), 0, "%s", err.msg);
    char *data = demo_text("consultation-bus-responses.jsonl");
    response_set rs = {0};
    cr_assert_eq(responses_parse(data, strlen(data), NULL, &rs, &err), 0, "%s", err.msg);
    consultation_result res = {0};
    consultation_options opt = {0};
    cr_assert_eq(consultation_run(&in, "Should the bus service be kept?", &rs, &opt, &res, &err), 0, "%s", err.msg);
    cr_assert_eq(res.n, rs.n);
    cr_assert_gt(res.n_themes, 0);
    consultation_result_clear(&res);
    responses_clear(&rs);
    free(data);
    pipeline_free(p);
}

Test(context_2048, digest_runs_with_its_prompt_budget, .timeout = 600)
{
    pipeline *p = open_pipeline();
    analysis_input in;
    perr err;
    cr_assert_eq(pipeline_analysis_input(p, "digest", &in, &err), 0, "%s", err.msg);
    enum { N = 6 };
    digest_source docs[N];
    char titles[N][32], summaries[N][400];
    for (size_t i = 0; i < N; i++) {
        snprintf(titles[i], sizeof titles[i], "Report %zu", i);
        snprintf(summaries[i], sizeof summaries[i], "The council reviewed the rural bus routes in district %zu and "
                 "heard from residents about fares, timetables and the school run; a decision is due next month.", i);
        docs[i] = (digest_source){.id = 100 + (int64_t)i, .title = titles[i], .source = "x.txt", .summary = summaries[i]};
    }
    digest_request req = {.collection = "c", .period = "yesterday", .docs = docs, .n_docs = N};
    analysis_output out;
    cr_assert_eq(analysis_digest(&in, &req, &out, &err), 0, "%s", err.msg);
    cr_assert(out.output_json);
    analysis_output_clear(&out);
    pipeline_free(p);
}
