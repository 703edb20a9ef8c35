/* ref_consultation.c — the consultation analysis end to end on the corpus's
 * themefinder gambling set (100 responses, question part 1) with the
 * synthetic model (synth-d256-q8_0: random weights, so the words mean
 * nothing but the structure must hold) and a throwaway PostgreSQL: every
 * output valid under its schema, the integrity rule for all 100 ids in the
 * result and in the tables, at most max_themes themes, and `precis themes`
 * printing the table. In the optimized ref-tests binary: it makes dozens of
 * model calls over ~40k prompt tokens, minutes under ASan. */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/monotonic.h"
#include "engine/json/json_schema.h"
#include "pipeline/consultation/consultation_job.h"
#include "pipeline/pipeline.h"
#include "pipeline/consultation/responses.h"
#include "store/store_consultation.h"
#include "tests/browser.h"
#include "tests/pg_harness.h"
#include "tests/pg_query.h"
#include "tests/support.h"

#define MAX_THEMES 6
#define SET "consultation/themefinder_gambling_XS/"

/* What consultation_result_json must look like. */
static const char result_schema[] =
    "{\"type\": \"object\", \"required\": [\"themes\", \"responses\", \"counts\"], \"properties\": {"
    " \"themes\": {\"type\": \"array\", \"minItems\": 1, \"maxItems\": 6, \"items\": {\"type\": \"object\","
    "   \"required\": [\"id\", \"label\", \"description\", \"position\", \"responses\", \"positions\", \"minority\","
    "     \"near_duplicates\", \"evidence\"], \"properties\": {"
    "   \"id\": {\"enum\": [\"A\", \"B\", \"C\", \"D\", \"E\", \"F\"]},"
    "   \"label\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 60},"
    "   \"description\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 200},"
    "   \"position\": {\"enum\": [\"AGREE\", \"DISAGREE\", \"UNCLEAR\"]},"
    "   \"responses\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 100},"
    "   \"positions\": {\"type\": \"object\", \"required\": [\"AGREE\", \"DISAGREE\", \"UNCLEAR\", \"NONE\"],"
    "     \"properties\": {\"AGREE\": {\"type\": \"integer\", \"minimum\": 0}, \"DISAGREE\": {\"type\": \"integer\", \"minimum\": 0},"
    "     \"UNCLEAR\": {\"type\": \"integer\", \"minimum\": 0}, \"NONE\": {\"type\": \"integer\", \"minimum\": 0}},"
    "     \"additionalProperties\": false},"
    "   \"minority\": {\"type\": \"boolean\"},"
    "   \"near_duplicates\": {\"type\": \"array\", \"items\": {\"type\": \"object\", \"required\": [\"id\","
    "     \"label_overlap\", \"response_overlap\"], \"properties\": {\"id\": {\"enum\": [\"A\", \"B\", \"C\", \"D\", \"E\", \"F\"]},"
    "     \"label_overlap\": {\"type\": \"number\", \"minimum\": 0, \"maximum\": 1},"
    "     \"response_overlap\": {\"type\": \"number\", \"minimum\": 0, \"maximum\": 1}}, \"additionalProperties\": false}},"
    "   \"evidence\": {\"type\": \"array\", \"maxItems\": 100, \"items\": {\"type\": \"string\"}}},"
    "   \"additionalProperties\": false}},"
    " \"responses\": {\"type\": \"array\", \"minItems\": 100, \"maxItems\": 100, \"items\": {\"type\": \"object\","
    "   \"required\": [\"response_id\", \"themes\", \"truncated\", \"unprocessable\"], \"properties\": {"
    "   \"response_id\": {\"type\": \"string\"},"
    "   \"position\": {\"enum\": [\"AGREE\", \"DISAGREE\", \"UNCLEAR\"]},"
    "   \"evidence_rich\": {\"enum\": [\"YES\", \"NO\"]},"
    "   \"themes\": {\"type\": \"array\", \"maxItems\": 3, \"items\": {\"enum\": [\"A\", \"B\", \"C\", \"D\", \"E\", \"F\"]}},"
    "   \"truncated\": {\"type\": \"boolean\"}, \"unprocessable\": {\"type\": \"boolean\"},"
    "   \"reason\": {\"type\": \"string\", \"minLength\": 1}}, \"additionalProperties\": false}},"
    " \"counts\": {\"type\": \"object\", \"properties\": {\"responses\": {\"const\": 100},"
    "   \"candidate_themes\": {\"type\": \"integer\", \"minimum\": 1}, \"themes\": {\"type\": \"integer\"},"
    "   \"unprocessable\": {\"type\": \"integer\"}, \"truncated\": {\"type\": \"integer\"},"
    "   \"calls\": {\"type\": \"integer\"}}}}, \"additionalProperties\": false}";

static char *question_text(void)
{
    char *path = test_corpus_path(SET "question_part_1_question.json");
    char *text = test_read_file(path, NULL);
    cJSON *q = cJSON_Parse(text);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(q, "question_text");
    cr_assert(cJSON_IsString(s), "%s has no question_text", path);
    char *out = strdup(s->valuestring);
    cJSON_Delete(q);
    free(text);
    free(path);
    return out;
}

static void check_result(const consultation_result *res)
{
    perr err;
    cr_assert_eq(consultation_integrity(res, &err), 0, "%s", err.msg);
    cr_assert_eq(res->n, 100);
    cr_assert(res->n_themes >= 1 && res->n_themes <= MAX_THEMES, "%zu themes", res->n_themes);
    char *json = consultation_result_json(res);
    json_schema *schema;
    cr_assert_eq(json_schema_compile(&schema, result_schema, strlen(result_schema), NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(json_schema_validate_text(schema, json, strlen(json), &err), 0, "%s", err.msg);
    json_schema_free(schema);
    free(json);
    /* Every model call's answer was accepted or rejected (then retried), none cut short. */
    const cJSON *r;
    int calls = 0;
    cJSON_ArrayForEach(r, res->out.trace)
    {
        const char *outcome = cJSON_GetObjectItemCaseSensitive(r, "outcome")->valuestring;
        if (!cJSON_GetObjectItemCaseSensitive(r, "attempt"))
            continue;  /* a decision (split, truncated, integrity...), not a call */
        cr_assert(strcmp(outcome, "ok") == 0 || strcmp(outcome, "rejected") == 0, "call outcome %s", outcome);
        calls++;
    }
    cr_assert_eq(calls, res->out.calls, "every call is in the trace");
}

static void check_tables(const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);
    cr_assert_eq(PQstatus(c), CONNECTION_OK);
    pg_assert_query(c, "SELECT status || ' ' || responses FROM consultation_runs", "done 100");
    pg_assert_query(c, "SELECT count(*) FROM response_annotations", "100");
    pg_assert_query(c, "SELECT count(*) FROM response_annotations a WHERE NOT (a.unprocessable AND a.reason <> '')"
                    " AND (a.position IS NULL OR NOT EXISTS (SELECT 1 FROM response_themes t"
                    "      WHERE t.run_id = a.run_id AND t.response_id = a.response_id))", "0");
    pg_assert_query(c, "SELECT (count(*) BETWEEN 1 AND 6)::text FROM themes", "true");
    pg_assert_query(c, "SELECT (sum(response_count) = (SELECT count(*) FROM response_themes))::text FROM themes", "true");
    pg_assert_query(c, "SELECT min(response_id) || ' ' || max(response_id) FROM response_annotations", "1001 1100");
    PQfinish(c);
}

/* `precis themes --html` on the run: the page opens in headless Chromium,
 * not blank, with no console message. */
static void check_themes_page(const char *conninfo)
{
    char cmd[8192], page[4096], png[4096], *out = NULL;
    snprintf(page, sizeof page, "%s/gambling.html", test_tmpdir());
    snprintf(png, sizeof png, "%s/gambling.png", test_tmpdir());
    snprintf(cmd, sizeof cmd, "PRECIS_POSTGRES_CONNINFO='%s' %s themes --html '%s' gambling 2>&1", conninfo,
             test_precis_bin(), page);
    cr_assert_eq(test_run(cmd, &out), 0, "%s", out);
    free(out);
    char *html = test_read_file(page, NULL);
    cr_assert(strstr(html, "<svg") && strstr(html, "id=\"theme-A\""), "the chart and the first theme");
    free(html);
    browser_shot shot;
    browser_render(page, png, &shot);
    cr_assert(shot.ink > (size_t)shot.width * (size_t)shot.height / 100, "blank page");
    cr_assert_str_empty(shot.console, "console messages:\n%s", shot.console);
    free(shot.console);
}

static void check_themes_command(const char *conninfo)
{
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof cmd, "PRECIS_POSTGRES_CONNINFO='%s' %s themes gambling 2>&1", conninfo, test_precis_bin());
    cr_assert_eq(test_run(cmd, &out), 0, "%s", out);
    cr_assert(strstr(out, "Consultation run 1 of collection gambling: done"), "%s", out);
    cr_assert(strstr(out, "ID  Responses  Position  Label\nA "), "%s", out);
    cr_assert(strstr(out, "Responses: 100"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "PRECIS_POSTGRES_CONNINFO='%s' %s themes --json gambling", conninfo, test_precis_bin());
    cr_assert_eq(test_run(cmd, &out), 0, "%s", out);
    cJSON *r = cJSON_Parse(out);
    cr_assert(r, "%s", out);
    const cJSON *themes = cJSON_GetObjectItemCaseSensitive(r, "themes");
    cr_assert(cJSON_GetArraySize(themes) >= 1 && cJSON_GetArraySize(themes) <= MAX_THEMES);
    const cJSON *t;
    cJSON_ArrayForEach(t, themes)
    {
        int examples = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(t, "examples"));
        double n = cJSON_GetObjectItemCaseSensitive(t, "responses")->valuedouble;
        cr_assert_eq(examples, n < 3 ? (int)n : 3, "up to three examples per theme");
        cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(t, "evidence")), (int)n,
                     "every response behind the theme is its evidence");
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(t, "positions");
        double by_position = 0;
        for (const cJSON *k = p ? p->child : NULL; k; k = k->next)
            by_position += k->valuedouble;
        cr_assert_eq(by_position, n, "every response of the theme counted by position");
        cr_assert(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(t, "minority")));
    }
    cJSON_Delete(r);
    free(out);
    check_themes_page(conninfo);
}

Test(consultation_ref, gambling_100_responses_end_to_end, .timeout = 1800)
{
    char *model = test_model_path("synth-d256-q8_0.gguf");
    char *path = test_corpus_path(SET "question_part_1_responses.jsonl");
    char *question = question_text();
    response_set rs;
    perr err;
    cr_assert_eq(responses_load_file(path, NULL, &rs, &err), 0, "%s", err.msg);
    pipeline_options po = {.model = {.model_path = model, .n_threads = 2, .n_parallel = 4}, .prompts_dir = "prompts"};
    pipeline *p;
    cr_assert_eq(pipeline_new(&p, &po, &err), 0, "%s", err.msg);
    pg_harness *pg = pg_harness_shared();
    char *conninfo = pg_harness_new_db(pg);
    store *s;
    cr_assert_eq(store_connect(&s, conninfo, &err), 0, "%s", err.msg);
    cr_assert_eq(store_migrate(s, NULL, NULL, NULL, NULL, &err), 0, "%s", err.msg);

    consultation_request rq = {.collection = "gambling", .source = path, .question = question, .responses = &rs,
                               .options = {.max_themes = MAX_THEMES}};
    consultation_result res;
    long long run_id = 0;
    int store_rc = -1;
    const double t0 = monotonic_seconds();
    analysis_input in;
    cr_assert_eq(pipeline_analysis_input(p, "consultation", &in, &err), 0, "%s", err.msg);
    int rc = consultation_execute(&in, s, &rq, &res, &run_id, &store_rc, &err);
    const double seconds = monotonic_seconds() - t0;
    cr_assert_eq(rc, 0, "%s", err.msg);
    cr_assert_eq(store_rc, 0, "%s", err.msg);
    cr_assert_eq(run_id, 1);
    fprintf(stderr, "consultation_ref: 100 responses, %zu themes, %d calls, %ld prompt + %ld generated tokens, "
            "%zu unprocessable, %.1f s\n", res.n_themes, res.out.calls, res.out.prompt_tokens,
            res.out.completion_tokens, res.n_unprocessable,
            seconds);
    check_result(&res);
    check_tables(conninfo);
    check_themes_command(conninfo);

    consultation_result_clear(&res);
    store_close(s);
    free(conninfo);
    pg_harness_free(pg);
    pipeline_free(p);
    responses_clear(&rs);
    free(question);
    free(path);
    free(model);
}
