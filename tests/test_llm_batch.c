/* test_llm_batch.c — the pipeline model's batched answers and prompt-prefix
 * reuse (pipeline/llm/llm.h): llm_chat_many over more requests than slots gives
 * exactly llm_chat's answers, and a second call sharing a 500-token prefix
 * with the first computes less than 5% of it. Model: synth-d256-q8_0. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/json/json_schema.h"
#include "pipeline/llm/llm.h"
#include "tests/support.h"

static llm *open_model(int n_parallel)
{
    char *path = test_model_path("synth-d256-q8_0.gguf");
    llm_options o = {.model_path = path, .n_ctx = 2048, .n_threads = 2, .n_parallel = n_parallel};
    llm *m;
    perr err;
    cr_assert_eq(llm_open(&m, &o, &err), 0, "%s", err.msg);
    free(path);
    return m;
}

static void chat_tokens(llm *m, const char *system, const char *user, int32_t **ids, size_t *n)
{
    perr err;
    cr_assert_eq(llm_chat_tokens(m, system, user, ids, n, &err), 0, "%s", err.msg);
}

static const char schema_text[] =
    "{\"type\":\"object\",\"properties\":{\"position\":{\"enum\":[\"AGREE\",\"DISAGREE\",\"UNCLEAR\"]},"
    "\"evidence\":{\"type\":\"string\",\"maxLength\":30}},\"required\":[\"position\",\"evidence\"]}";

Test(llm_batch, many_answers_equal_single_calls, .timeout = 600)
{
    llm *batched = open_model(3), *single = open_model(1);
    perr err;
    json_schema *schema;
    cr_assert_eq(json_schema_compile(&schema, schema_text, strlen(schema_text), NULL, &err), 0, "%s", err.msg);
    sampler_params greedy = sampler_default_params(), sampled = sampler_default_params();
    greedy.temp = 0;
    sampled.temp = 0.8f;
    sampled.seed = 11;
    enum { N = 7 };
    llm_chat_request reqs[N];
    int32_t *ids[N];
    for (int i = 0; i < N; i++) {
        char user[128];
        snprintf(user, sizeof user, "Response %d: the buses should run later on Sundays.", i);
        size_t n;
        chat_tokens(batched, "You classify consultation responses.", user, &ids[i], &n);
        reqs[i] = (llm_chat_request){.ids = ids[i], .n_ids = n, .max_tokens = i == 5 ? 2 : 48,
                                     .sampling = i % 2 ? &sampled : &greedy, .schema = i % 3 ? schema : NULL};
    }
    cr_assert_eq(llm_chat_many(batched, reqs, N, NULL, NULL, &err), 0, "%s", err.msg);
    for (int i = 0; i < N; i++) {
        llm_reply one;
        perr e1 = {{0}};
        int rc = llm_chat(single, reqs[i].ids, reqs[i].n_ids, reqs[i].max_tokens, reqs[i].sampling, reqs[i].schema,
                          NULL, NULL, &one, &e1);
        cr_assert_eq(reqs[i].status, rc == 0 ? 0 : -1, "request %d: batched '%s', single '%s'", i, reqs[i].error,
                     e1.msg);
        if (rc != 0) {
            cr_assert(strstr(reqs[i].error, "token"), "request %d fails for the same reason: %s / %s", i, reqs[i].error,
                      e1.msg);
            continue;
        }
        cr_assert_str_eq(reqs[i].reply.text, one.text, "request %d", i);
        cr_assert_eq(reqs[i].reply.completion_tokens, one.completion_tokens);
        if (reqs[i].schema)
            cr_assert_eq(json_schema_validate_text(schema, one.text, strlen(one.text), &e1), 0, "%s", e1.msg);
        llm_reply_clear(&one);
        llm_reply_clear(&reqs[i].reply);
    }
    cr_assert_eq(reqs[5].status, -1, "2 tokens cannot hold the JSON value: that request alone fails");
    cr_assert_eq(reqs[4].status, 0, "the others succeed");
    for (int i = 0; i < N; i++)
        free(ids[i]);
    json_schema_free(schema);
    llm_free(batched);
    llm_free(single);
}

Test(llm_batch, shared_prefix_is_reused_across_calls, .timeout = 600)
{
    llm *m = open_model(1), *fresh = open_model(1);
    char *system = NULL;
    size_t cap = 0;
    FILE *f = open_memstream(&system, &cap);
    for (int i = 0; i < 50; i++)
        fprintf(f, "Instruction %d: cite the paragraph ids you use. ", i);
    fclose(f);
    sampler_params sp = sampler_default_params();
    sp.temp = 0;
    int32_t *a, *b;
    size_t na, nb;
    chat_tokens(m, system, "Document one: the library opens at nine.", &a, &na);
    chat_tokens(m, system, "Document two: the pool closes in May.", &b, &nb);
    size_t shared = 0;
    while (shared < na && shared < nb && a[shared] == b[shared])
        shared++;
    cr_assert_geq(shared, 500, "the prompts share %zu tokens", shared);
    llm_reply r1, r2, ref;
    perr err;
    cr_assert_eq(llm_chat(m, a, na, 16, &sp, NULL, NULL, NULL, &r1, &err), 0, "%s", err.msg);
    cr_assert_eq(r1.cached_tokens, 0);
    cr_assert_eq(llm_chat(m, b, nb, 16, &sp, NULL, NULL, NULL, &r2, &err), 0, "%s", err.msg);
    cr_assert_geq(r2.cached_tokens, (long)(shared * 95 / 100), "reused %ld of %zu", r2.cached_tokens, shared);
    cr_assert_eq(r2.prompt_tokens, (long)nb, "prompt_tokens still counts the whole prompt");
    cr_assert_eq(llm_chat(fresh, b, nb, 16, &sp, NULL, NULL, NULL, &ref, &err), 0, "%s", err.msg);
    cr_assert_str_eq(r2.text, ref.text, "reuse does not change the answer");
    llm_reply_clear(&r1);
    llm_reply_clear(&r2);
    llm_reply_clear(&ref);
    free(a);
    free(b);
    free(system);
    llm_free(m);
    llm_free(fresh);
}
