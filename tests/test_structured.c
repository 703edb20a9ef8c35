/* test_structured.c — prompt files with steps and placeholders, and the
 * structured call (pipeline/llm/structured.h): a semantic check that fails once
 * is retried with the error quoted, one that always fails ends
 * STRUCTURED_INVALID, a prompt too long for the context is
 * STRUCTURED_TOO_LONG, every attempt is in the trace, and answers are
 * compact JSON. Model:
 * synth-d256-q8_0 (random weights, Llama 2 vocabulary, context 2048). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pipeline/llm/prompt.h"
#include "pipeline/llm/structured.h"
#include "tests/support.h"

#define MODEL "synth-d256-q8_0.gguf"

static const char steps_prompt[] =
    "{\"name\": \"t\", \"system\": \"S\", \"max_tokens\": 40, \"steps\": {"
    " \"first\": {\"user\": \"Q: {{question}} R: {{responses}}\", \"schema\": {\"type\": \"object\"}},"
    " \"second\": {\"system\": \"S2\", \"user\": \"{{themes}}\", \"max_tokens\": 9}}}";

Test(structured, prompt_steps_parse_with_defaults)
{
    prompt_spec *p;
    perr err;
    cr_assert_eq(prompt_parse(&p, steps_prompt, strlen(steps_prompt), "t", &err), 0, "%s", err.msg);
    cr_assert_null(p->user, "a file with steps needs no top-level user template");
    cr_assert_eq(p->n_steps, 2);
    const prompt_step *a = prompt_find_step(p, "first"), *b = prompt_find_step(p, "second");
    cr_assert(a && b);
    cr_assert_null(prompt_find_step(p, "third"));
    cr_assert_str_eq(a->system, "S", "the file's system prompt is the default");
    cr_assert_eq(a->max_tokens, 40);
    cr_assert_str_eq(a->schema_json, "{\"type\":\"object\"}");
    cr_assert_str_eq(b->system, "S2");
    cr_assert_eq(b->max_tokens, 9);
    cr_assert_null(b->schema_json);
    cr_assert_eq(prompt_require(p, "first", a->user, "responses", &err), 0);
    cr_assert_eq(prompt_require(p, "second", b->user, "document", &err), -1);
    cr_assert(strstr(err.msg, "{{document}}"), "%s", err.msg);
    prompt_free(p);
}

Test(structured, prompt_step_errors_are_named)
{
    static const struct {
        const char *json, *needle;
    } cases[] = {
        {"{\"name\": \"t\", \"system\": \"S\", \"max_tokens\": 4}", "\"user\" is required"},
        {"{\"name\": \"t\", \"system\": \"S\", \"max_tokens\": 4, \"steps\": {}}", "non-empty"},
        {"{\"name\": \"t\", \"system\": \"S\", \"max_tokens\": 4, \"steps\": {\"a\": {}}}", "step \"a\": \"user\" is required"},
        {"{\"name\": \"t\", \"system\": \"S\", \"max_tokens\": 4, \"steps\": {\"a\": {\"user\": \"x\", \"temp\": 1}}}",
         "unknown key \"temp\""},
        {"{\"name\": \"t\", \"system\": \"S\", \"max_tokens\": 4, \"steps\": {\"a\": {\"user\": \"{{x}}\"}}}",
         "unknown placeholder"},
        {"{\"name\": \"t\", \"system\": \"S\", \"max_tokens\": 4, \"steps\": {\"a\": {\"user\": \"x\", \"schema\": 1}}}",
         "schema"},
        {"{\"name\": \"t\", \"system\": \"S\", \"max_tokens\": 4, \"steps\": {\"a\": {\"user\": \"x\"}, \"a\": {\"user\": \"y\"}}}",
         "twice"},
        {"{\"name\": \"t\", \"system\": \"S\", \"max_tokens\": 4, \"steps\": {\"a\": {\"user\": \"x\", \"max_tokens\": 0}}}",
         "max_tokens"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        prompt_spec *p = NULL;
        perr err = {{0}};
        cr_assert_eq(prompt_parse(&p, cases[i].json, strlen(cases[i].json), "t", &err), -1, "case %zu", i);
        cr_assert(strstr(err.msg, cases[i].needle), "case %zu: '%s' lacks '%s'", i, err.msg, cases[i].needle);
    }
}

Test(structured, render_vars_is_one_pass_and_refuses_missing_values)
{
    prompt_var vars[] = {{"question", "Q {{responses}}"}, {"responses", "R"}, {"themes", NULL}};
    perr err;
    char *s = prompt_render_vars("{{question}}|{{responses}}|{{themes}}|{{question}}", vars, 3, &err);
    cr_assert_str_eq(s, "Q {{responses}}|R||Q {{responses}}");
    free(s);
    cr_assert_null(prompt_render_vars("{{document}}", vars, 3, &err));
    cr_assert(strstr(err.msg, "{{document}}"), "%s", err.msg);
    s = prompt_render_vars("{{unknown}} {{ question}}", vars, 3, &err);
    cr_assert_str_eq(s, "{{unknown}} {{ question}}", "what is not a placeholder stays");
    free(s);
}

/* ---- structured calls ---------------------------------------------------- */

static llm *open_model(void)
{
    char *path = test_model_path(MODEL);
    llm_options o = {.model_path = path, .n_ctx = 512, .n_threads = 1};
    llm *m;
    perr err;
    cr_assert_eq(llm_open(&m, &o, &err), 0, "%s", err.msg);
    free(path);
    return m;
}

static const char pair_schema[] =
    "{\"type\":\"object\",\"properties\":{\"ids\":{\"type\":\"array\",\"items\":{\"enum\":[\"r1\",\"r2\"]},"
    "\"minItems\":2,\"maxItems\":2}},\"required\":[\"ids\"],\"additionalProperties\":false}";

typedef struct check_state {
    int calls, reject_first;
} check_state;

/* Rejects the first answer (when asked to), then wants distinct ids. */
static int check_ids(const cJSON *answer, void *ctx, perr *err)
{
    check_state *st = ctx;
    if (st->calls++ == 0 && st->reject_first)
        return perr_set(err, "response id r9 is missing");
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(answer, "ids");
    cr_assert(cJSON_IsArray(ids) && cJSON_GetArraySize(ids) == 2, "the schema holds");
    return 0;
}

static int always_reject(const cJSON *answer, void *ctx, perr *err)
{
    (void)answer;
    ++*(int *)ctx;
    return perr_set(err, "ids must be unique");
}

static const char *trace_outcome(const cJSON *trace, int i)
{
    const cJSON *rec = cJSON_GetArrayItem(trace, i);
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(rec, "outcome");
    cr_assert(cJSON_IsString(o), "trace record %d has an outcome", i);
    return o->valuestring;
}

Test(structured, failed_check_is_retried_once_with_the_error, .timeout = 300)
{
    llm *m = open_model();
    sampler_params sp = sampler_default_params();
    sp.temp = 0;
    analysis_input in = {.llm = m};
    analysis_output out = {0};
    check_state st = {.reject_first = 1};
    structured_call c = {.step = "map", .system = "S", .user = "Map r1 and r2.", .schema_json = pair_schema,
                         .max_tokens = 40, .sampling = &sp, .check = check_ids, .check_ctx = &st, .items = 2};
    cJSON *answer;
    char *raw;
    perr err;
    cr_assert_eq(structured_run(&in, &out, &c, &answer, &raw, &err), 0, "%s", err.msg);
    cr_assert_eq(st.calls, 2, "checked twice: rejected, then accepted");
    cr_assert_eq(out.calls, 2);
    cr_assert_eq(cJSON_GetArraySize(out.trace), 2);
    cr_assert_str_eq(trace_outcome(out.trace, 0), "rejected");
    cr_assert_str_eq(trace_outcome(out.trace, 1), "ok");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(out.trace, 0), "error");
    cr_assert(cJSON_IsString(e) && strstr(e->valuestring, "r9"), "the reason is recorded");
    cJSON *parsed = cJSON_Parse(raw);
    cr_assert(cJSON_Compare(parsed, answer, 1), "raw text is the answer");
    cJSON_Delete(parsed);
    cJSON_Delete(answer);
    free(raw);

    /* Always rejected: two attempts, then STRUCTURED_INVALID with the reason. */
    int rejected = 0;
    analysis_output out2 = {0};
    c.check = always_reject;
    c.check_ctx = &rejected;
    cr_assert_eq(structured_run(&in, &out2, &c, &answer, NULL, &err), STRUCTURED_INVALID);
    cr_assert_null(answer);
    cr_assert_eq(rejected, 2);
    cr_assert(strstr(err.msg, "unique"), "%s", err.msg);
    cr_assert_eq(cJSON_GetArraySize(out2.trace), 2);
    analysis_output_clear(&out);
    analysis_output_clear(&out2);
    llm_free(m);
}

Test(structured, prompt_longer_than_the_context_is_too_long_not_cut, .timeout = 300)
{
    llm *m = open_model();
    size_t len = 20000;
    char *user = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        user[i] = i % 6 == 5 ? ' ' : 'a' + (char)(i % 7);
    user[len] = '\0';
    sampler_params sp = sampler_default_params();
    analysis_input in = {.llm = m};
    analysis_output out = {0};
    structured_call c = {.step = "map", .system = "S", .user = user, .schema_json = pair_schema, .max_tokens = 40,
                         .sampling = &sp};
    cJSON *answer;
    perr err;
    cr_assert_eq(structured_run(&in, &out, &c, &answer, NULL, &err), STRUCTURED_TOO_LONG);
    cr_assert(strstr(err.msg, "does not fit the context of 512"), "%s", err.msg);
    cr_assert_eq(out.calls, 0, "nothing was generated");
    cr_assert_str_eq(trace_outcome(out.trace, 0), "too_long");
    analysis_output_clear(&out);
    free(user);
    llm_free(m);
}

/* Independent calls batched: a rejected one is retried, a too-long one
 * fails alone, the others are answered as structured_run answers them. */
Test(structured, many_calls_run_together_with_their_own_outcomes, .timeout = 300)
{
    char *path = test_model_path(MODEL);
    llm_options o = {.model_path = path, .n_ctx = 512, .n_threads = 2, .n_parallel = 2};
    llm *m;
    perr err;
    cr_assert_eq(llm_open(&m, &o, &err), 0, "%s", err.msg);
    free(path);
    llm *single = open_model();
    sampler_params sp = sampler_default_params();
    sp.temp = 0;
    char *huge = malloc(6001);
    for (int i = 0; i < 6000; i++)
        huge[i] = i % 5 == 4 ? ' ' : 'k';
    huge[6000] = '\0';
    check_state st = {.reject_first = 1};
    structured_call calls[4] = {
        {.step = "a", .system = "S", .user = "Map r1 and r2.", .schema_json = pair_schema, .max_tokens = 40, .sampling = &sp},
        {.step = "b", .system = "S", .user = "Map r2 then r1.", .schema_json = pair_schema, .max_tokens = 40, .sampling = &sp,
         .check = check_ids, .check_ctx = &st},
        {.step = "c", .system = "S", .user = huge, .schema_json = pair_schema, .max_tokens = 40, .sampling = &sp},
        {.step = "d", .system = "S", .user = "Any ids.", .schema_json = pair_schema, .max_tokens = 40, .sampling = &sp},
    };
    analysis_input in = {.llm = m};
    analysis_output out = {0};
    cJSON *answers[4];
    char *raws[4];
    int rcs[4];
    perr errs[4];
    cr_assert_eq(structured_run_many(&in, &out, calls, 4, answers, raws, rcs, errs, &err), 0, "%s", err.msg);
    cr_assert_eq(rcs[0], 0, "%s", errs[0].msg);
    cr_assert_eq(rcs[1], 0, "accepted on the retry: %s", errs[1].msg);
    cr_assert_eq(st.calls, 2);
    cr_assert_eq(rcs[2], STRUCTURED_TOO_LONG);
    cr_assert(strstr(errs[2].msg, "does not fit"), "%s", errs[2].msg);
    cr_assert_eq(rcs[3], 0, "%s", errs[3].msg);
    cr_assert_eq(out.calls, 4, "three first attempts and one retry");
    cr_assert_eq(cJSON_GetArraySize(out.trace), 5, "every attempt recorded (one too_long)");
    /* Call a and d alone give the same answers. */
    for (int i = 0; i < 4; i += 3) {
        analysis_input in1 = {.llm = single};
        analysis_output out1 = {0};
        cJSON *one;
        char *raw1;
        cr_assert_eq(structured_run(&in1, &out1, &calls[i], &one, &raw1, &err), 0, "%s", err.msg);
        cr_assert_str_eq(raw1, raws[i], "call %d", i);
        cJSON_Delete(one);
        free(raw1);
        analysis_output_clear(&out1);
    }
    for (int i = 0; i < 4; i++) {
        cJSON_Delete(answers[i]);
        free(raws[i]);
    }
    analysis_output_clear(&out);
    free(huge);
    llm_free(single);
    llm_free(m);
}

/* Answers are compact JSON (analysis_schema_compile, max_whitespace 0):
 * the raw text is its value printed unformatted, whatever the sampling. */
Test(structured, answers_are_compact_json, .timeout = 300)
{
    json_schema *s;
    perr err;
    cr_assert_eq(analysis_schema_compile(&s, pair_schema, &err), 0, "%s", err.msg);
    perr verr;
    cr_assert_eq(json_schema_validate_text(s, "{\"ids\":[\"r1\",\"r2\"]}", 19, &verr), 0, "%s", verr.msg);
    json_schema_free(s);
    cr_assert_eq(analysis_schema_compile(&s, NULL, &err), 0);
    cr_assert_null(s, "no schema: free text");
    llm *m = open_model();
    analysis_input in = {.llm = m};
    for (uint64_t seed = 1; seed <= 8; seed++) {
        sampler_params sp = sampler_default_params();
        sp.temp = 1.5f;
        sp.top_k = 0;
        sp.seed = seed;
        analysis_output out = {0};
        structured_call c = {.step = "map", .system = "S", .user = "Map r1 and r2.", .schema_json = pair_schema,
                             .max_tokens = 40, .sampling = &sp};
        cJSON *answer;
        char *raw;
        cr_assert_eq(structured_run(&in, &out, &c, &answer, &raw, &err), 0, "%s", err.msg);
        char *compact = cJSON_PrintUnformatted(answer);
        cr_assert_str_eq(raw, compact, "seed %lu: the answer has whitespace", (unsigned long)seed);
        free(compact);
        cJSON_Delete(answer);
        free(raw);
        analysis_output_clear(&out);
    }
    llm_free(m);
}
