/* test_generate_chain.c — multi-token steps (engine/gen_chain.h): with
 * prompt-lookup drafts and jump-forward on, every generation's text,
 * token count, stop reason and error equal those of one token per pass
 * (both off) — through generate_run and through the batcher with several
 * requests at once, greedy and seeded, without a schema and with compact
 * keyed, enum-array and string schemas, and when n_predict, a stop string,
 * the caller or the context ends the generation in the middle of a chain;
 * and the forward passes per generated token drop where the answer repeats
 * its prompt (drafts) or its schema leaves no choice (jump-forward);
 * precis generate reports both. Models: stories260K (real weights),
 * synth-d256-q8_0 and llama-2-tiny-random (random weights). */
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
    engine_ctx *c;      /* one sequence, for generate_run */
} fixture;

static fixture load(const char *name, int n_ctx)
{
    char *path = test_model_path(name);
    fixture f;
    perr err;
    cr_assert_eq(model_load(&f.m, path, &err), 0, "%s", err.msg);
    cr_assert_eq(tokenizer_from_gguf(&f.tok, f.m->gguf, &err), 0, "%s", err.msg);
    engine_params p = {.n_ctx = n_ctx, .n_seq = 1, .n_threads = 2};
    cr_assert_eq(engine_ctx_new(&f.c, f.m, &p, &err), 0, "%s", err.msg);
    free(path);
    return f;
}

static void unload(fixture *f)
{
    engine_ctx_free(f->c);
    tokenizer_free(f->tok);
    model_free(f->m);
}

static int32_t *tokenize(const fixture *f, const char *text, size_t *n)
{
    int32_t *ids;
    perr err;
    cr_assert_eq(generate_tokenize_prompt(f->tok, text, strlen(text), &ids, n, &err), 0, "%s", err.msg);
    return ids;
}

/* ---- one generation and its comparison ------------------------------------ */

typedef struct outcome {
    int rc;
    char error[PERR_MSG_MAX];
    char text[4096];
    size_t len;
    size_t stop_after;      /* the emit callback stops once this many bytes came (0: never) */
    generate_result res;
} outcome;

static int collect(void *user, const char *text, size_t len)
{
    outcome *o = user;
    cr_assert_lt(o->len + len, sizeof o->text);
    memcpy(o->text + o->len, text, len);
    o->len += len;
    o->text[o->len] = '\0';
    return o->stop_after && o->len >= o->stop_after;
}

/* generate_run with multi-token steps on (both, or jump-forward alone when
 * p says no_draft) or off (neither). */
static outcome run(engine_ctx *c, const fixture *f, const int32_t *ids, size_t n, const generate_params *p,
                   int multi, size_t stop_after)
{
    generate_params q = *p;
    q.no_draft = !multi || p->no_draft;
    q.no_jump_forward = !multi;
    outcome o = {.stop_after = stop_after};
    perr err = {{0}};
    o.rc = generate_run(c, 0, f->tok, ids, n, &q, collect, &o, &o.res, &err);
    snprintf(o.error, sizeof o.error, "%s", o.rc ? err.msg : "");
    return o;
}

static void expect_same(const outcome *on, const outcome *off, const char *what)
{
    cr_assert_eq(on->rc, off->rc, "%s: status %d vs %d (%s | %s)", what, on->rc, off->rc, on->error, off->error);
    cr_assert_str_eq(on->error, off->error, "%s", what);
    cr_assert_str_eq(on->text, off->text, "%s: text with multi-token steps [%s]\nwithout [%s]", what, on->text,
                     off->text);
    if (on->rc == 0) {
        cr_assert_eq(on->res.n_generated, off->res.n_generated, "%s", what);
        cr_assert_eq(on->res.reason, off->res.reason, "%s", what);
    }
    cr_assert_eq(off->res.n_draft_proposed, 0, "%s", what);
}

/* Totals over many comparisons: proof that the chains were exercised. */
typedef struct tally {
    long passes_on, passes_off, generated, proposed, accepted, forced;
} tally;

static void count(tally *t, const outcome *on, const outcome *off)
{
    if (on->rc != 0)
        return;
    t->passes_on += on->res.n_passes;
    t->passes_off += off->res.n_passes;
    t->generated += on->res.n_generated;
    t->proposed += on->res.n_draft_proposed;
    t->accepted += on->res.n_draft_accepted;
    t->forced += on->res.n_forced;
    cr_assert_eq(off->res.n_forced, 0);
    cr_assert_eq(off->res.n_passes, off->res.n_generated, "one pass per token without chains (the prompt's included)");
}

static outcome compare(const fixture *f, const char *prompt, const generate_params *p, const char *what, tally *t)
{
    size_t n;
    int32_t *ids = tokenize(f, prompt, &n);
    outcome on = run(f->c, f, ids, n, p, 1, 0);
    outcome off = run(f->c, f, ids, n, p, 0, 0);
    expect_same(&on, &off, what);
    count(t, &on, &off);
    free(ids);
    return on;
}

/* ---- schemas -------------------------------------------------------------- */

#define SENTIMENT                                                                                         \
    "{\"type\":\"object\",\"properties\":{\"position\":{\"enum\":[\"AGREE\",\"DISAGREE\",\"UNCLEAR\"]},"  \
    "\"evidence_rich\":{\"enum\":[\"YES\",\"NO\"]}},\"required\":[\"position\",\"evidence_rich\"],"      \
    "\"additionalProperties\":false}"

static const struct {
    const char *name, *text;
    int max_ws, n_predict;
} schemas[] = {
    {"sentiment", SENTIMENT, 0, 40},
    {"enum array",
     "{\"type\":\"array\",\"items\":{\"enum\":[\"AGREE\",\"DISAGREE\",\"UNCLEAR\"]},\"minItems\":2,\"maxItems\":5}",
     0, 48},
    {"keyed sentiments",
     "{\"type\":\"object\",\"properties\":{\"r1\":" SENTIMENT ",\"r2\":" SENTIMENT ",\"r3\":" SENTIMENT
     ",\"r4\":" SENTIMENT "},\"required\":[\"r1\",\"r2\",\"r3\",\"r4\"],\"additionalProperties\":false}",
     0, 140},
    {"stance and why",
     "{\"type\":\"object\",\"properties\":{\"stance\":{\"enum\":[\"AGREE\",\"DISAGREE\"]},"
     "\"why\":{\"type\":\"string\",\"maxLength\":30}},\"required\":[\"stance\",\"why\"]}",
     1, 60},
};
enum { N_SCHEMAS = sizeof schemas / sizeof schemas[0] };

static json_schema *compile(int i)
{
    json_schema *s;
    perr err;
    json_schema_options o = json_schema_default_options();
    o.max_whitespace = schemas[i].max_ws;
    cr_assert_eq(json_schema_compile(&s, schemas[i].text, strlen(schemas[i].text), &o, &err), 0, "%s: %s",
                 schemas[i].name, err.msg);
    return s;
}

static generate_params greedy(int n_predict)
{
    generate_params p = {.n_predict = n_predict, .sampling = sampler_default_params()};
    p.sampling.temp = 0;
    return p;
}

static generate_params seeded(int n_predict, uint64_t seed)
{
    generate_params p = {.n_predict = n_predict, .sampling = sampler_default_params()};
    p.sampling.temp = 0.8f;
    p.sampling.seed = seed;
    return p;
}

/* ---- prompts -------------------------------------------------------------- */

#define STORY_START "Once upon a time, there was a little girl named Lily. She loved to play outside in the park."

static const char *const story_prompts[] = {
    "",
    STORY_START,
    "Lily and Ben were friends. They liked to play in the garden. Lily and Ben were friends. They",
    "One day, a little boy named Tom went to the beach. Tom saw a big red ball. One day, a little boy",
    "The cat sat on the mat. The dog sat on the mat. The cat",
    "{\"position\":\"AGREE\",\"evidence_rich\":\"YES\"} {\"position\":\"DISAGREE\",\"evidence_rich\":\"NO\"}",
};

static const char *const llama_prompts[] = {
    "Answer in JSON. {\"r1\":{\"position\":\"AGREE\",\"evidence_rich\":\"NO\"},\"r2\":{\"position\":"
    "\"UNCLEAR\",\"evidence_rich\":\"YES\"}} The council met on Monday to discuss the bus fares.",
    "The council met on Monday to discuss the bus fares. The council met on Monday to",
    "Residents said that the new timetable was late, late, late and late again.",
};

/* Every prompt x {greedy, seeded} x {no schema, every schema}. */
static void identity_on(const char *model_name, const char *const *prompts, size_t n_prompts, int n_ctx)
{
    fixture f = load(model_name, n_ctx);
    json_schema *compiled[N_SCHEMAS];
    for (int i = 0; i < N_SCHEMAS; i++)
        compiled[i] = compile(i);
    tally t = {0};
    for (size_t i = 0; i < n_prompts; i++)
        for (int s = -1; s < N_SCHEMAS; s++)
            for (int sampled = 0; sampled < 2; sampled++) {
                int n_predict = s < 0 ? 64 : schemas[s].n_predict;
                generate_params p = sampled ? seeded(n_predict, 100 + i) : greedy(n_predict);
                p.json_schema = s < 0 ? NULL : compiled[s];
                char what[256];
                snprintf(what, sizeof what, "%s, prompt %zu, %s, %s", model_name, i,
                         s < 0 ? "no schema" : schemas[s].name, sampled ? "seeded" : "greedy");
                outcome on = compare(&f, prompts[i], &p, what, &t);
                cr_assert(s < 0 || on.rc != 0 || on.text[0] == '{' || on.text[0] == '[' || on.text[1] == '{' ||
                          on.text[1] == '[', "%s: JSON: %s", what, on.text);
            }
    cr_log_info("%s: %ld tokens in %ld passes with chains, %ld without; drafts %ld proposed, %ld accepted; "
                "%ld forced", model_name, t.generated, t.passes_on, t.passes_off, t.proposed, t.accepted, t.forced);
    cr_assert_gt(t.forced, t.generated / 5, "%s: the schemas forced tokens", model_name);
    cr_assert_lt(t.passes_on, t.passes_off, "%s: chains saved passes", model_name);
    cr_assert_gt(t.accepted, 0, "%s: some drafts were accepted", model_name);
    cr_assert_gt(t.proposed, t.accepted, "%s: some drafts were rejected (and cut from the cache)", model_name);
    for (int i = 0; i < N_SCHEMAS; i++)
        json_schema_free(compiled[i]);
    unload(&f);
}

Test(generate_chain, same_tokens_as_one_per_pass_stories260K, .timeout = 600)
{
    identity_on("stories260K.gguf", story_prompts, sizeof story_prompts / sizeof *story_prompts, 512);
}

Test(generate_chain, same_tokens_as_one_per_pass_synth_d256, .timeout = 900)
{
    identity_on("synth-d256-q8_0.gguf", llama_prompts, sizeof llama_prompts / sizeof *llama_prompts, 1024);
}

Test(generate_chain, same_tokens_as_one_per_pass_tiny_random, .timeout = 900)
{
    identity_on("llama-2-tiny-random.gguf", llama_prompts, 2, 512);
}

/* ---- drafts pay where the answer repeats the prompt ----------------------- */

/* stories260K's greedy continuation of STORY_START, then STORY_START
 * again: the greedy answer copies its earlier continuation. */
static char *copy_prompt(const fixture *f)
{
    size_t n;
    int32_t *ids = tokenize(f, STORY_START, &n);
    generate_params p = greedy(40);
    outcome first = run(f->c, f, ids, n, &p, 0, 0);
    cr_assert_eq(first.rc, 0, "%s", first.error);
    free(ids);
    char *prompt;
    cr_assert(asprintf(&prompt, "%s%s\n%s", STORY_START, first.text, STORY_START) > 0);
    return prompt;
}

Test(generate_chain, drafts_halve_the_passes_when_the_answer_repeats_the_prompt, .timeout = 300)
{
    fixture f = load("stories260K.gguf", 512);
    char *prompt = copy_prompt(&f);
    size_t n;
    int32_t *ids = tokenize(&f, prompt, &n);
    generate_params p = greedy(30);
    outcome on = run(f.c, &f, ids, n, &p, 1, 0), off = run(f.c, &f, ids, n, &p, 0, 0);
    expect_same(&on, &off, "copying");
    cr_assert_eq(on.res.n_generated, 30);
    double ratio = (double)on.res.n_passes / on.res.n_generated;
    cr_log_info("copying: %d tokens in %d passes (%.2f per token), drafts %d proposed, %d accepted",
                on.res.n_generated, on.res.n_passes, ratio, on.res.n_draft_proposed, on.res.n_draft_accepted);
    cr_assert_leq(ratio, 0.5, "passes per generated token %.2f", ratio);
    cr_assert_eq(off.res.n_passes, 30);
    free(ids);
    free(prompt);
    unload(&f);
}

/* ---- ends in the middle of a chain ---------------------------------------- */

Test(generate_chain, n_predict_stop_strings_caller_and_context_end_mid_chain_as_one_per_pass, .timeout = 600)
{
    fixture f = load("stories260K.gguf", 512);
    char *prompt = copy_prompt(&f);
    size_t n;
    int32_t *ids = tokenize(&f, prompt, &n);
    tally t = {0};
    for (int k = 1; k <= 40; k++) {
        char what[64];
        generate_params p = greedy(k);
        snprintf(what, sizeof what, "n_predict %d", k);
        outcome on = run(f.c, &f, ids, n, &p, 1, 0), off = run(f.c, &f, ids, n, &p, 0, 0);
        expect_same(&on, &off, what);
        count(&t, &on, &off);
        cr_assert_eq(on.res.reason, GENERATE_STOP_LENGTH, "%s", what);
        /* the emit callback stops after k bytes */
        p = greedy(60);
        snprintf(what, sizeof what, "caller stops after %d bytes", k);
        on = run(f.c, &f, ids, n, &p, 1, (size_t)k);
        off = run(f.c, &f, ids, n, &p, 0, (size_t)k);
        expect_same(&on, &off, what);
        cr_assert_eq(on.res.reason, GENERATE_STOP_CALLER, "%s", what);
        count(&t, &on, &off);
        /* the context fills k tokens after the prompt */
        engine_ctx *small;
        perr err;
        engine_params ep = {.n_ctx = (int)n + k, .n_seq = 1, .n_threads = 2};
        cr_assert_eq(engine_ctx_new(&small, f.m, &ep, &err), 0, "%s", err.msg);
        p = greedy(-1);
        snprintf(what, sizeof what, "context of prompt + %d", k);
        on = run(small, &f, ids, n, &p, 1, 0);
        off = run(small, &f, ids, n, &p, 0, 0);
        expect_same(&on, &off, what);
        cr_assert_eq(on.res.reason, GENERATE_STOP_CONTEXT, "%s", what);
        cr_assert_eq(on.res.n_generated, k + 1, "%s", what);
        count(&t, &on, &off);
        engine_ctx_free(small);
    }
    /* stop strings at many places of the copied text (and one never seen) */
    generate_params whole = greedy(60);
    outcome ref = run(f.c, &f, ids, n, &whole, 0, 0);
    for (size_t at = 1; at + 3 <= ref.len && at < 120; at += 3) {
        char stop[4] = {ref.text[at], ref.text[at + 1], ref.text[at + 2], '\0'};
        const char *const stops[] = {"never appears", stop};
        generate_params p = whole;
        p.stop = stops;
        p.n_stop = 2;
        char what[64];
        snprintf(what, sizeof what, "stop string \"%s\"", stop);
        outcome on = run(f.c, &f, ids, n, &p, 1, 0), off = run(f.c, &f, ids, n, &p, 0, 0);
        expect_same(&on, &off, what);
        cr_assert_eq(on.res.reason, GENERATE_STOP_STRING, "%s", what);
        count(&t, &on, &off);
    }
    cr_log_info("mid-chain ends: %ld tokens in %ld passes (%ld one per pass); drafts %ld proposed, %ld accepted",
                t.generated, t.passes_on, t.passes_off, t.proposed, t.accepted);
    cr_assert_lt(t.passes_on * 3, t.passes_off * 2, "the chains were long");
    free(ids);
    free(prompt);
    unload(&f);
}

/* ---- the batcher ---------------------------------------------------------- */

enum { MAX_BATCH = 48 };

typedef struct batch_case {
    char *prompt;
    generate_params p;
} batch_case;

/* Every request of the batcher (drafts on) equals generate_run of its
 * prompt with both off; then the same requests again on the same batcher,
 * whose slots now hold truncated caches that the prompts' prefixes reuse. */
static void batch_identity(const fixture *f, batch_case *cases, size_t n, int n_seq, tally *t)
{
    engine_params ep = {.n_ctx = engine_n_ctx(f->c), .n_seq = n_seq, .n_threads = 2};
    engine_ctx *c;
    generate_batcher *b;
    perr err;
    cr_assert_eq(engine_ctx_new(&c, f->m, &ep, &err), 0, "%s", err.msg);
    cr_assert_eq(generate_batcher_new(&b, c, f->tok, &err), 0, "%s", err.msg);
    generate_request reqs[MAX_BATCH];
    int32_t *ids[MAX_BATCH];
    cr_assert_leq(n, MAX_BATCH);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        ids[i] = tokenize(f, cases[i].prompt, &len);
        reqs[i] = (generate_request){.prompt = ids[i], .n_prompt = len, .params = &cases[i].p};
    }
    for (int round = 0; round < 2; round++) {
        generate_batch_stats st;
        cr_assert_eq(generate_batcher_run(b, reqs, n, NULL, NULL, &st, &err), 0, "%s", err.msg);
        cr_assert_eq(st.max_active, n_seq < (int)n ? n_seq : (int)n);
        long generated = 0;
        for (size_t i = 0; i < n; i++) {
            char what[96];
            snprintf(what, sizeof what, "batched request %zu of %zu, round %d", i, n, round);
            outcome on = {.rc = reqs[i].status, .res = reqs[i].result};
            snprintf(on.error, sizeof on.error, "%s", reqs[i].error);
            snprintf(on.text, sizeof on.text, "%s", reqs[i].text ? reqs[i].text : "");
            outcome off = run(f->c, f, reqs[i].prompt, reqs[i].n_prompt, reqs[i].params, 0, 0);
            if (off.rc != 0)
                off.text[0] = '\0';  /* a failed request has no text */
            expect_same(&on, &off, what);
            count(t, &on, &off);
            generated += on.rc == 0 ? on.res.n_generated : 0;
            generate_request_clear(&reqs[i]);
        }
        cr_assert_geq(st.tokens_generated, generated);
        cr_assert_geq(st.draft_proposed, st.draft_accepted);
    }
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    generate_batcher_free(b);
    engine_ctx_free(c);
}

Test(generate_chain, batcher_gives_the_same_tokens_with_several_requests_at_once, .timeout = 900)
{
    fixture f = load("stories260K.gguf", 512);
    json_schema *compiled[N_SCHEMAS];
    for (int i = 0; i < N_SCHEMAS; i++)
        compiled[i] = compile(i);
    char *copy = copy_prompt(&f);
    batch_case cases[MAX_BATCH];
    size_t n = 0;
    size_t n_prompts = sizeof story_prompts / sizeof *story_prompts;
    for (size_t i = 0; i <= n_prompts; i++)
        for (int s = -1; s < N_SCHEMAS; s += 2) {
            const char *prompt = i < n_prompts ? story_prompts[i] : copy;
            int n_predict = s < 0 ? 48 : schemas[s].n_predict;
            cases[n].prompt = strdup(prompt);
            cases[n].p = (i + (size_t)(s + 1)) % 2 ? seeded(n_predict, 7 + i) : greedy(n_predict);
            cases[n].p.json_schema = s < 0 ? NULL : compiled[s];
            n++;
        }
    tally t = {0};
    batch_identity(&f, cases, n, 4, &t);
    batch_identity(&f, cases, n, 1, &t);
    cr_log_info("batcher: %ld tokens in %ld request-passes (%ld one per pass); drafts %ld proposed, %ld accepted; "
                "%ld forced", t.generated, t.passes_on, t.passes_off, t.proposed, t.accepted, t.forced);
    cr_assert_gt(t.forced, 0);
    cr_assert_lt(t.passes_on, t.passes_off);
    cr_assert_gt(t.accepted, 0);
    cr_assert_gt(t.proposed, t.accepted);
    for (size_t i = 0; i < n; i++)
        free(cases[i].prompt);
    free(copy);
    for (int i = 0; i < N_SCHEMAS; i++)
        json_schema_free(compiled[i]);
    unload(&f);
}

Test(generate_chain, batcher_copies_in_few_passes, .timeout = 300)
{
    fixture f = load("stories260K.gguf", 512);
    char *copy = copy_prompt(&f);
    batch_case cases[3];
    for (int i = 0; i < 3; i++) {
        cases[i].prompt = copy;
        cases[i].p = greedy(30 - 2 * i);
    }
    tally t = {0};
    batch_identity(&f, cases, 3, 3, &t);
    cr_log_info("batched copying: %ld tokens in %ld request-passes", t.generated, t.passes_on);
    cr_assert_leq((double)t.passes_on / (double)t.generated, 0.5, "%ld passes for %ld tokens", t.passes_on,
                  t.generated);
    free(copy);
    unload(&f);
}

/* A slot's token list stays its KV cache's contents when drafts are cut: a
 * prompt that extends an earlier prompt by its answer reuses the answer's
 * tokens from the cache, and answers as generate_run does. */
Test(generate_chain, a_prompt_extending_an_answer_reuses_its_cut_cache, .timeout = 300)
{
    fixture f = load("stories260K.gguf", 512);
    char *copy = copy_prompt(&f);
    engine_params ep = {.n_ctx = 512, .n_seq = 1, .n_threads = 2};
    engine_ctx *c;
    generate_batcher *b;
    perr err;
    cr_assert_eq(engine_ctx_new(&c, f.m, &ep, &err), 0, "%s", err.msg);
    cr_assert_eq(generate_batcher_new(&b, c, f.tok, &err), 0, "%s", err.msg);
    size_t n_first;
    int32_t *first = tokenize(&f, copy, &n_first);
    generate_params p = greedy(40);
    generate_request r = {.prompt = first, .n_prompt = n_first, .params = &p};
    generate_batch_stats st;
    cr_assert_eq(generate_batcher_run(b, &r, 1, NULL, NULL, &st, &err), 0, "%s", err.msg);
    cr_assert_eq(r.status, 0, "%s", r.error);
    cr_assert_gt(st.draft_proposed, st.draft_accepted, "some drafts were cut");
    char *longer;
    cr_assert(asprintf(&longer, "%s%s Then", copy, r.text) > 0);
    generate_request_clear(&r);
    size_t n_second;
    int32_t *second = tokenize(&f, longer, &n_second);
    generate_params q = greedy(20);
    r = (generate_request){.prompt = second, .n_prompt = n_second, .params = &q};
    cr_assert_eq(generate_batcher_run(b, &r, 1, NULL, NULL, &st, &err), 0, "%s", err.msg);
    cr_log_info("the second prompt (%zu tokens) reused %d: the first's %zu and its answer's", n_second, r.n_reused,
                n_first);
    cr_assert_geq(r.n_reused, (int)n_first + 30, "reused %d of the first %zu tokens + its 40-token answer",
                  r.n_reused, n_first);
    outcome on = {.rc = r.status, .res = r.result};
    snprintf(on.text, sizeof on.text, "%s", r.text ? r.text : "");
    outcome off = run(f.c, &f, second, n_second, &q, 0, 0);
    expect_same(&on, &off, "after reuse");
    generate_request_clear(&r);
    free(longer);
    free(first);
    free(second);
    free(copy);
    generate_batcher_free(b);
    engine_ctx_free(c);
    unload(&f);
}

/* ---- jump-forward: tokens a JSON schema forces ---------------------------- */

/* {"id1":ITEM,...} over n ids, compact. */
static json_schema *keyed_items(int n, const char *item)
{
    char *props = NULL, *req = NULL, *text = NULL;
    size_t pcap = 0, rcap = 0;
    FILE *p = open_memstream(&props, &pcap), *r = open_memstream(&req, &rcap);
    for (int i = 0; i < n; i++) {
        fprintf(p, "%s\"resp-%d\":%s", i ? "," : "", 101 + i, item);
        fprintf(r, "%s\"resp-%d\"", i ? "," : "", 101 + i);
    }
    fclose(p);
    fclose(r);
    cr_assert(asprintf(&text, "{\"type\":\"object\",\"properties\":{%s},\"required\":[%s],\"additionalProperties\":false}",
                       props, req) > 0);
    json_schema *s;
    perr err;
    json_schema_options o = json_schema_default_options();
    o.max_whitespace = 0;
    cr_assert_eq(json_schema_compile(&s, text, strlen(text), &o, &err), 0, "%s", err.msg);
    free(props);
    free(req);
    free(text);
    return s;
}

static json_schema *keyed_sentiments(int n)
{
    return keyed_items(n, SENTIMENT);
}

/* The consultation's mapping step: each response's themes, 1..3 of A..F. */
#define MAPPING "{\"type\":\"array\",\"items\":{\"enum\":[\"A\",\"B\",\"C\",\"D\",\"E\",\"F\"]}," \
                "\"minItems\":1,\"maxItems\":3}"

static const char sentiment_prompt[] =
    "Classify each response to the consultation on bus fares: does it agree, and does it give evidence? "
    "resp-101: The fare cap helped me get to work. resp-102: No. resp-103: The early bus is always late, "
    "I have counted eleven late buses in May. resp-104: Fine. resp-105: Raise fares and I will drive.";

/* One keyed answer under the schema (seed 0: greedy), the same with
 * multi-token steps as without (compare), complete, in at most 0.6
 * forward passes per generated token. */
static outcome few_passes(const fixture *f, const json_schema *schema, uint64_t seed, const char *what, tally *t)
{
    generate_params p = seed ? seeded(400, seed) : greedy(400);
    p.json_schema = schema;
    outcome on = compare(f, sentiment_prompt, &p, what, t);
    cr_assert_eq(on.rc, 0, "%s", on.error);
    cr_assert_eq(on.res.reason, GENERATE_STOP_EOG);
    double ratio = (double)on.res.n_passes / on.res.n_generated;
    cr_log_info("%s: %d tokens in %d passes (%.2f per token), %d forced: %s", what, on.res.n_generated,
                on.res.n_passes, ratio, on.res.n_forced, on.text);
    cr_assert_leq(ratio, 0.6, "%s: passes per generated token %.2f", what, ratio);
    return on;
}

Test(generate_chain, jump_forward_needs_few_passes_for_keyed_sentiments, .timeout = 600)
{
    fixture f = load("synth-d256-q8_0.gguf", 1024);
    json_schema *schema = keyed_sentiments(5);
    tally t = {0};
    for (int sampled = 0; sampled < 2; sampled++) {
        outcome on = few_passes(&f, schema, sampled ? 42 : 0, sampled ? "keyed, seeded" : "keyed, greedy", &t);
        generate_params p = sampled ? seeded(400, 42) : greedy(400);
        p.json_schema = schema;
        /* jump-forward alone (no drafts) */
        p.no_draft = 1;
        outcome jump = compare(&f, sentiment_prompt, &p, sampled ? "jump only, seeded" : "jump only, greedy", &t);
        cr_assert_eq(jump.res.n_draft_proposed, 0);
        cr_assert_str_eq(jump.text, on.text);
        double ratio = (double)jump.res.n_passes / jump.res.n_generated;
        cr_log_info("jump-forward alone: %d passes (%.2f per token)", jump.res.n_passes, ratio);
        cr_assert_leq(ratio, 0.6, "passes per generated token %.2f without drafts", ratio);
    }
    /* the batcher: several such requests at once */
    batch_case cases[4];
    for (int i = 0; i < 4; i++) {
        cases[i].prompt = (char *)sentiment_prompt;
        cases[i].p = i % 2 ? seeded(400, 9 + (uint64_t)i) : greedy(400 - i);
        cases[i].p.json_schema = schema;
    }
    tally bt = {0};
    batch_identity(&f, cases, 4, 4, &bt);
    cr_log_info("batched keyed sentiments: %ld tokens in %ld request-passes", bt.generated, bt.passes_on);
    cr_assert_leq((double)bt.passes_on / (double)bt.generated, 0.6);
    json_schema_free(schema);
    unload(&f);
}

Test(generate_chain, jump_forward_needs_few_passes_for_keyed_mappings, .timeout = 600)
{
    fixture f = load("synth-d256-q8_0.gguf", 1024);
    json_schema *schema = keyed_items(5, MAPPING);
    tally t = {0};
    few_passes(&f, schema, 0, "mapping, greedy", &t);
    few_passes(&f, schema, 7, "mapping, seeded", &t);
    json_schema_free(schema);
    unload(&f);
}

/* A compact schema's output is mostly forced, so stop strings and the
 * caller end it inside forced runs; n_predict and the context cannot (a
 * schema's closing budget counts a token per byte) but decide, near the
 * shortest value's length, which choices still fit. */
Test(generate_chain, forced_tokens_end_mid_chain_as_one_per_pass, .timeout = 900)
{
    fixture f = load("stories260K.gguf", 512);
    json_schema *schema = keyed_sentiments(2);
    size_t n;
    int32_t *ids = tokenize(&f, "resp-101: the bus is late. resp-102: fine.", &n);
    generate_params whole = greedy(300);
    whole.json_schema = schema;
    outcome ref = run(f.c, &f, ids, n, &whole, 0, 0);
    cr_assert_eq(ref.rc, 0, "%s", ref.error);
    tally t = {0};
    char what[64];
    int shortest = (int)json_schema_min_length(schema);
    for (int k = shortest - 2; k <= shortest + 6; k++) {
        generate_params p = whole;
        p.n_predict = k;
        snprintf(what, sizeof what, "schema, n_predict %d", k);
        outcome on = run(f.c, &f, ids, n, &p, 1, 0), off = run(f.c, &f, ids, n, &p, 0, 0);
        expect_same(&on, &off, what);
        count(&t, &on, &off);
        engine_ctx *small;
        perr err;
        engine_params ep = {.n_ctx = (int)n + k, .n_seq = 1, .n_threads = 2};
        cr_assert_eq(engine_ctx_new(&small, f.m, &ep, &err), 0, "%s", err.msg);
        snprintf(what, sizeof what, "schema, context of prompt + %d", k);
        on = run(small, &f, ids, n, &whole, 1, 0);
        off = run(small, &f, ids, n, &whole, 0, 0);
        expect_same(&on, &off, what);
        count(&t, &on, &off);
        engine_ctx_free(small);
    }
    for (size_t k = 1; k < ref.len; k++) {
        snprintf(what, sizeof what, "schema, caller stops after %zu bytes", k);
        outcome on = run(f.c, &f, ids, n, &whole, 1, k), off = run(f.c, &f, ids, n, &whole, 0, k);
        expect_same(&on, &off, what);
        cr_assert_eq(on.res.reason, GENERATE_STOP_CALLER, "%s", what);
        count(&t, &on, &off);
        char stop[3] = {ref.text[k - 1], ref.text[k], '\0'};
        const char *const stops[] = {stop};
        generate_params p = whole;
        p.stop = stops;
        p.n_stop = 1;
        snprintf(what, sizeof what, "schema, stop string \"%s\"", stop);
        on = run(f.c, &f, ids, n, &p, 1, 0);
        off = run(f.c, &f, ids, n, &p, 0, 0);
        expect_same(&on, &off, what);
    }
    /* A value forced to its end in one-byte tokens: the closing budget
     * (a token per byte) lets the context end exactly at its last token. */
    json_schema *array;
    perr aerr;
    json_schema_options ao = json_schema_default_options();
    ao.max_whitespace = 0;
    const char *qq = "{\"type\":\"array\",\"items\":{\"enum\":[\"Q\"]},\"minItems\":2,\"maxItems\":2}";
    cr_assert_eq(json_schema_compile(&array, qq, strlen(qq), &ao, &aerr), 0, "%s", aerr.msg);
    for (int k = 1; k <= 16; k++) {
        engine_ctx *small;
        perr err;
        engine_params ep = {.n_ctx = (int)n + k, .n_seq = 1, .n_threads = 2};
        cr_assert_eq(engine_ctx_new(&small, f.m, &ep, &err), 0, "%s", err.msg);
        for (int qs = 0; qs < 2; qs++) {
            generate_params p = greedy(-1);
            p.json_schema = qs ? array : schema;
            snprintf(what, sizeof what, "%s, context of prompt + %d", qs ? "[\"Q\",\"Q\"]" : "keyed", k);
            outcome on = run(small, &f, ids, n, &p, 1, 0), off = run(small, &f, ids, n, &p, 0, 0);
            expect_same(&on, &off, what);
            count(&t, &on, &off);
        }
        engine_ctx_free(small);
    }
    json_schema_free(array);
    cr_log_info("forced ends: %ld tokens in %ld passes (%ld one per pass), %ld forced", t.generated, t.passes_on,
                t.passes_off, t.forced);
    cr_assert_gt(t.forced, t.generated / 2);
    cr_assert_lt(t.passes_on * 2, t.passes_off, "forced tokens were taken without passes");
    free(ids);
    json_schema_free(schema);
    unload(&f);
}

/* ---- precis generate's report --------------------------------------------- */

/* KEY=N on precis generate's stats line. */
static long stat_of(const char *err_text, const char *key)
{
    char *k = NULL;
    cr_assert(asprintf(&k, " %s=", key) > 0);
    const char *p = strstr(err_text, k);
    cr_assert(p, "%s in: %s", k, err_text);
    long v = strtol(p + strlen(k), NULL, 10);
    free(k);
    return v;
}

Test(generate_chain, precis_generate_reports_passes_drafts_and_forced_tokens, .timeout = 300)
{
    char *model = test_model_path("stories260K.gguf");
    char *texts[2], *errs[2];
    for (int off = 0; off < 2; off++) {
        char *cmd = NULL, *errpath = NULL;
        cr_assert(asprintf(&errpath, "%s/generate-%d.err", test_tmpdir(), off) > 0);
        cr_assert(asprintf(&cmd, "%s generate -m %s -n 200 --temp 0 -t 1 %s 2>%s", test_precis_bin(), model,
                           off ? "--no-draft" : "", errpath) > 0);
        cr_assert_eq(test_run(cmd, &texts[off]), 0, "%s", texts[off]);
        errs[off] = test_read_file(errpath, NULL);
        cr_assert_eq(stat_of(errs[off], "generated_tokens"), 200, "%s", errs[off]);
        cr_assert_eq(stat_of(errs[off], "forced_tokens"), 0);
        free(cmd);
        free(errpath);
    }
    cr_assert_str_eq(texts[0], texts[1]);
    cr_assert_lt(stat_of(errs[0], "forward_passes"), 200, "%s", errs[0]);
    cr_assert_gt(stat_of(errs[0], "draft_accepted"), 0, "%s", errs[0]);
    cr_assert_geq(stat_of(errs[0], "draft_proposed"), stat_of(errs[0], "draft_accepted"));
    cr_assert_eq(stat_of(errs[1], "forward_passes"), 200, "%s", errs[1]);
    cr_assert_eq(stat_of(errs[1], "draft_proposed"), 0, "%s", errs[1]);
    for (int i = 0; i < 2; i++) {
        free(texts[i]);
        free(errs[i]);
    }
    free(model);
}
