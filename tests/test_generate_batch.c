/* test_generate_batch.c — continuous batching (engine/generate_batch.h):
 * every request's text and result equal generate_run's on a fresh context
 * (greedy, seeded sampling, JSON schema, stop strings, n_predict 1), more
 * requests than slots run through freed slots, a bad request fails alone,
 * and a shared 500-token prefix is copied instead of computed. Model:
 * synth-d256-q8_0 (random weights, Llama 2 vocabulary, context 2048). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/generate.h"
#include "engine/generate_batch.h"
#include "engine/json/json_schema.h"
#include "engine/model.h"
#include "engine/tokenizer/tokenizer.h"
#include "tests/support.h"

typedef struct fixture {
    model *m;
    tokenizer *tok;
} fixture;

static fixture load(void)
{
    char *path = test_model_path("synth-d256-q8_0.gguf");
    fixture f;
    perr err;
    cr_assert_eq(model_load(&f.m, path, &err), 0, "%s", err.msg);
    cr_assert_eq(tokenizer_from_gguf(&f.tok, f.m->gguf, &err), 0, "%s", err.msg);
    free(path);
    return f;
}

static engine_ctx *new_ctx(const model *m, int n_ctx, int n_seq)
{
    engine_ctx *c;
    perr err;
    engine_params p = {.n_ctx = n_ctx, .n_seq = n_seq, .n_threads = 2};
    cr_assert_eq(engine_ctx_new(&c, m, &p, &err), 0, "%s", err.msg);
    return c;
}

static void tokenize(const fixture *f, const char *text, int32_t **ids, size_t *n)
{
    perr err;
    cr_assert_eq(generate_tokenize_prompt(f->tok, text, strlen(text), ids, n, &err), 0, "%s", err.msg);
}

typedef struct collected {
    char *text;
    size_t len;
} collected;

static int collect(void *user, const char *text, size_t len)
{
    collected *c = user;
    c->text = realloc(c->text, c->len + len + 1);
    memcpy(c->text + c->len, text, len);
    c->len += len;
    c->text[c->len] = '\0';
    return 0;
}

/* The reference: generate_run alone on a fresh one-sequence context. */
static void expect_same_as_single(const fixture *f, const generate_request *r, int index)
{
    engine_ctx *c = new_ctx(f->m, 2048, 1);
    collected out = {0};
    generate_result res;
    perr err;
    int rc = generate_run(c, 0, f->tok, r->prompt, r->n_prompt, r->params, collect, &out, &res, &err);
    cr_assert_eq(rc, r->status, "status: single %d, batched %d (%s)", rc, r->status, r->error);
    if (rc == 0) {
        cr_assert_str_eq(r->text, out.text ? out.text : "", "request %d: batched text equals single: [%s] vs [%s] (reused %d)", index, r->text,
                         out.text ? out.text : "", r->n_reused);
        cr_assert_eq(r->result.n_generated, res.n_generated);
        cr_assert_eq(r->result.reason, res.reason);
    }
    free(out.text);
    engine_ctx_free(c);
}

static const char schema_text[] =
    "{\"type\":\"object\",\"properties\":{\"stance\":{\"enum\":[\"AGREE\",\"DISAGREE\"]},"
    "\"why\":{\"type\":\"string\",\"maxLength\":20}},\"required\":[\"stance\",\"why\"]}";

Test(generate_batch, equals_single_generation_through_freed_slots, .timeout = 600)
{
    fixture f = load();
    perr err;
    json_schema *schema;
    cr_assert_eq(json_schema_compile(&schema, schema_text, strlen(schema_text), NULL, &err), 0, "%s", err.msg);
    static const char *const stop[] = {"e"};
    generate_params greedy = {.n_predict = 12, .sampling = sampler_default_params()};
    greedy.sampling.temp = 0;
    generate_params sampled = {.n_predict = 10, .sampling = sampler_default_params()};
    sampled.sampling.temp = 0.9f;
    sampled.sampling.seed = 7;
    generate_params json = greedy;
    json.n_predict = 40;
    json.json_schema = schema;
    generate_params stopped = greedy;
    stopped.stop = stop;
    stopped.n_stop = 1;
    generate_params one = greedy;
    one.n_predict = 1;
    const struct {
        const char *text;
        const generate_params *p;
    } cases[] = {
        {"The council met on Monday to discuss", &greedy},
        {"The council met on Monday to decide", &sampled},
        {"Respond in JSON about the bus fares", &json},
        {"Residents said that the", &stopped},
        {"One token only", &one},
        {"The council met on Tuesday", &greedy},
        {"", &greedy},   /* tokenizes to BOS only: valid */
    };
    enum { N = sizeof cases / sizeof cases[0] };
    generate_request reqs[N + 1];
    int32_t *ids[N];
    memset(reqs, 0, sizeof reqs);
    for (size_t i = 0; i < N; i++) {
        size_t n;
        tokenize(&f, cases[i].text, &ids[i], &n);
        reqs[i] = (generate_request){.prompt = ids[i], .n_prompt = n, .params = cases[i].p};
    }
    reqs[N] = (generate_request){.prompt = ids[0], .n_prompt = 0, .params = &greedy};   /* empty: fails alone */
    engine_ctx *c = new_ctx(f.m, 2048, 3);
    generate_batch_stats st;
    cr_assert_eq(generate_batch_run(c, f.tok, reqs, N + 1, NULL, NULL, &st, &err), 0, "%s", err.msg);
    cr_assert_eq(st.max_active, 3, "three slots busy at once");
    cr_assert_eq(reqs[N].status, -1);
    cr_assert(strstr(reqs[N].error, "empty"), "%s", reqs[N].error);
    for (size_t i = 0; i < N; i++) {
        cr_assert_eq(reqs[i].status, 0, "request %zu: %s", i, reqs[i].error);
        expect_same_as_single(&f, &reqs[i], (int)i);
    }
    cr_assert(strchr(reqs[2].text, '{') && strstr(reqs[2].text, "stance"), "schema-shaped: %s", reqs[2].text);
    cr_assert_null(strchr(reqs[3].text, 'e'), "the stop string is not in the text: %s", reqs[3].text);
    for (size_t i = 0; i <= N; i++)
        generate_request_clear(&reqs[i]);
    for (size_t i = 0; i < N; i++)
        free(ids[i]);
    engine_ctx_free(c);
    json_schema_free(schema);
    tokenizer_free(f.tok);
    model_free(f.m);
}

/* A 500-token instruction prefix shared by four prompts is computed once. */
Test(generate_batch, shared_prefix_is_copied_not_recomputed, .timeout = 600)
{
    fixture f = load();
    char *prefix = NULL;
    size_t cap = 0;
    FILE *m = open_memstream(&prefix, &cap);
    for (int i = 0; i < 60; i++)
        fprintf(m, "Rule %d: quote the document exactly. ", i);
    fclose(m);
    int32_t *pre;
    size_t n_pre;
    tokenize(&f, prefix, &pre, &n_pre);
    cr_assert_geq(n_pre, 500, "the shared prefix has %zu tokens", n_pre);
    enum { N = 4 };
    int32_t *ids[N];
    generate_request reqs[N];
    generate_params greedy = {.n_predict = 6, .sampling = sampler_default_params()};
    greedy.sampling.temp = 0;
    for (int i = 0; i < N; i++) {
        char *text = NULL;
        cr_assert(asprintf(&text, "%sDocument %d: the fare rises in May.", prefix, i) > 0);
        size_t n;
        tokenize(&f, text, &ids[i], &n);
        free(text);
        reqs[i] = (generate_request){.prompt = ids[i], .n_prompt = n, .params = &greedy};
    }
    /* One slot: every later prompt reuses the previous one's cache. */
    engine_ctx *c = new_ctx(f.m, 2048, 1);
    generate_batch_stats st;
    perr err;
    cr_assert_eq(generate_batch_run(c, f.tok, reqs, N, NULL, NULL, &st, &err), 0, "%s", err.msg);
    cr_assert_eq(reqs[0].n_reused, 0);
    for (int i = 1; i < N; i++) {
        cr_assert_eq(reqs[i].status, 0, "%s", reqs[i].error);
        cr_assert_geq(reqs[i].n_reused, (int)(n_pre * 95 / 100), "request %d reused %d of the %zu-token prefix", i,
                      reqs[i].n_reused, n_pre);
        expect_same_as_single(&f, &reqs[i], (int)i);
    }
    long computed_prompt = 0;
    for (int i = 0; i < N; i++)
        computed_prompt += (long)reqs[i].n_prompt - reqs[i].n_reused;
    cr_assert_eq(st.tokens_reused, (long)(reqs[1].n_reused + reqs[2].n_reused + reqs[3].n_reused));
    cr_assert_lt(computed_prompt, (long)n_pre + 4 * 40, "the prefix was computed once");
    for (int i = 0; i < N; i++)
        generate_request_clear(&reqs[i]);
    engine_ctx_free(c);

    /* Four slots, all four prompts at once: the later three wait one pass
     * for the first and copy its prefix instead of computing it too. */
    c = new_ctx(f.m, 2048, 4);
    cr_assert_eq(generate_batch_run(c, f.tok, reqs, N, NULL, NULL, &st, &err), 0, "%s", err.msg);
    for (int i = 1; i < N; i++) {
        cr_assert_geq(reqs[i].n_reused, (int)(n_pre * 95 / 100), "batched request %d reused %d", i, reqs[i].n_reused);
        expect_same_as_single(&f, &reqs[i], i);
    }
    cr_assert_eq(st.max_active, 4, "then all four run together");
    for (int i = 0; i < N; i++) {
        generate_request_clear(&reqs[i]);
        free(ids[i]);
    }
    free(pre);
    free(prefix);
    engine_ctx_free(c);
    tokenizer_free(f.tok);
    model_free(f.m);
}

static int cancel_now(void *ctx)
{
    return ++*(int *)ctx > 3;
}

Test(generate_batch, cancel_fails_unfinished_requests, .timeout = 300)
{
    fixture f = load();
    int32_t *ids;
    size_t n;
    tokenize(&f, "A long story about buses", &ids, &n);
    generate_params p = {.n_predict = 50, .sampling = sampler_default_params()};
    generate_request reqs[4];
    for (int i = 0; i < 4; i++)
        reqs[i] = (generate_request){.prompt = ids, .n_prompt = n, .params = &p};
    engine_ctx *c = new_ctx(f.m, 512, 2);
    int calls = 0;
    perr err;
    cr_assert_eq(generate_batch_run(c, f.tok, reqs, 4, cancel_now, &calls, NULL, &err), 1);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(reqs[i].status, -1);
        cr_assert_str_eq(reqs[i].error, "cancelled");
        cr_assert_null(reqs[i].text);
    }
    free(ids);
    engine_ctx_free(c);
    tokenizer_free(f.tok);
    model_free(f.m);
}
