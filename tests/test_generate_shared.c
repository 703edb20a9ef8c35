/* test_generate_shared.c — one batcher shared by threads
 * (engine/generate_shared.h): the requests of concurrent callers run in
 * the same passes and each answer equals the request run alone; callers are
 * served round-robin (one request does not wait behind another caller's
 * dozen); a cancelled caller ends alone. Model: synth-d256-q8_0 (random
 * weights, Llama 2 vocabulary). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/generate_batch.h"
#include "engine/generate_shared.h"
#include "engine/model.h"
#include "engine/tokenizer/tokenizer.h"
#include "tests/support.h"

enum { MAX_REQS = 16 };

typedef struct world {
    model *m;
    tokenizer *tok;
    engine_ctx *ctx;
    generate_shared *shared;
    generate_params greedy, sampled;
} world;

static void world_open(world *w, int n_seq)
{
    char *path = test_model_path("synth-d256-q8_0.gguf");
    perr err;
    cr_assert_eq(model_load(&w->m, path, &err), 0, "%s", err.msg);
    cr_assert_eq(tokenizer_from_gguf(&w->tok, w->m->gguf, &err), 0, "%s", err.msg);
    engine_params p = {.n_ctx = 1024, .n_seq = n_seq, .n_threads = 2};
    cr_assert_eq(engine_ctx_new(&w->ctx, w->m, &p, &err), 0, "%s", err.msg);
    cr_assert_eq(generate_shared_new(&w->shared, w->ctx, w->tok, &err), 0, "%s", err.msg);
    w->greedy = (generate_params){.n_predict = 8, .sampling = sampler_default_params()};
    w->greedy.sampling.temp = 0;
    w->sampled = w->greedy;
    w->sampled.sampling.temp = 0.9f;
    w->sampled.sampling.seed = 11;
    free(path);
}

static void world_close(world *w)
{
    generate_shared_free(w->shared);
    engine_ctx_free(w->ctx);
    tokenizer_free(w->tok);
    model_free(w->m);
}

/* One caller: its prompts, requests and what it got back. */
typedef struct caller {
    world *w;
    int id, n;
    int32_t *ids[MAX_REQS];
    generate_request reqs[MAX_REQS];
    int cancel_after_polls;       /* > 0: cancel on that poll */
    int polls;
    int rc;
    uint64_t passes_when_done;
    perr err;
} caller;

static void caller_prepare(caller *c, world *w, int id, int n, const generate_params *p)
{
    memset(c, 0, sizeof *c);
    c->w = w;
    c->id = id;
    c->n = n;
    perr err;
    for (int i = 0; i < n; i++) {
        char text[96];
        snprintf(text, sizeof text, "Caller %d asks question %d about the bus fares in town", id, i);
        size_t len;
        cr_assert_eq(generate_tokenize_prompt(w->tok, text, strlen(text), &c->ids[i], &len, &err), 0, "%s",
                     err.msg);
        c->reqs[i] = (generate_request){.prompt = c->ids[i], .n_prompt = len, .params = p};
    }
}

static int cancel_on_poll(void *ctx)
{
    caller *c = ctx;
    return c->cancel_after_polls > 0 && ++c->polls >= c->cancel_after_polls;
}

static void *caller_run(void *arg)
{
    caller *c = arg;
    c->rc = generate_shared_run(c->w->shared, c->reqs, (size_t)c->n, cancel_on_poll, c, &c->err);
    generate_shared_totals t;
    generate_shared_get_totals(c->w->shared, &t);
    c->passes_when_done = t.passes;
    return NULL;
}

/* The same request alone on a fresh one-slot context. */
static void expect_alone(world *w, const generate_request *got, const char *who)
{
    engine_params p = {.n_ctx = 1024, .n_seq = 1, .n_threads = 2};
    engine_ctx *c;
    perr err;
    cr_assert_eq(engine_ctx_new(&c, w->m, &p, &err), 0, "%s", err.msg);
    generate_request alone = {.prompt = got->prompt, .n_prompt = got->n_prompt, .params = got->params};
    cr_assert_eq(generate_batch_run(c, w->tok, &alone, 1, NULL, NULL, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(got->status, 0, "%s: %s", who, got->error);
    cr_assert_str_eq(got->text, alone.text, "%s: shared [%s] alone [%s]", who, got->text, alone.text);
    cr_assert_eq(got->result.n_generated, alone.result.n_generated, "%s", who);
    generate_request_clear(&alone);
    engine_ctx_free(c);
}

static void caller_free(caller *c)
{
    for (int i = 0; i < c->n; i++) {
        generate_request_clear(&c->reqs[i]);
        free(c->ids[i]);
    }
}

Test(generate_shared, concurrent_callers_share_passes_and_get_their_own_answers, .timeout = 600)
{
    world w;
    world_open(&w, 4);
    enum { CALLERS = 4 };
    caller *callers = calloc(CALLERS, sizeof *callers);
    pthread_t th[CALLERS];
    for (int i = 0; i < CALLERS; i++)
        caller_prepare(&callers[i], &w, i, 3, i % 2 ? &w.sampled : &w.greedy);
    for (int i = 0; i < CALLERS; i++)
        pthread_create(&th[i], NULL, caller_run, &callers[i]);
    for (int i = 0; i < CALLERS; i++)
        pthread_join(th[i], NULL);
    generate_shared_totals t;
    generate_shared_get_totals(w.shared, &t);
    cr_assert_gt(t.passes, 0);
    cr_assert_gt(t.sequences, t.passes * 2, "passes held %.2f sequences on average (4 slots, 12 requests)",
                 (double)t.sequences / (double)t.passes);
    uint64_t prompt = 0, generated = 0, reused = 0;
    for (int i = 0; i < CALLERS; i++)
        for (int k = 0; k < callers[i].n; k++) {
            prompt += (uint64_t)callers[i].reqs[k].result.n_prompt;
            generated += (uint64_t)callers[i].reqs[k].result.n_generated;
            reused += (uint64_t)callers[i].reqs[k].n_reused;
        }
    cr_assert_eq(t.requests, CALLERS * 3);
    cr_assert_eq(t.prompt_tokens, prompt, "totals count every prompt token");
    cr_assert_eq(t.generated_tokens, generated, "totals count every generated token");
    cr_assert_eq(t.reused_tokens, reused, "totals count the reused prefix tokens");
    for (int i = 0; i < CALLERS; i++) {
        cr_assert_eq(callers[i].rc, 0, "%s", callers[i].err.msg);
        for (int k = 0; k < callers[i].n; k++) {
            char who[64];
            snprintf(who, sizeof who, "caller %d request %d", i, k);
            expect_alone(&w, &callers[i].reqs[k], who);
        }
        caller_free(&callers[i]);
    }
    free(callers);
    world_close(&w);
}

/* Two slots. A asks twelve answers; once it runs, B asks one. Round-robin
 * gives B the next free slot, so B is done long before A (first come,
 * first served would start B only after A's twelfth). */
Test(generate_shared, a_caller_with_one_request_is_not_held_behind_one_with_many, .timeout = 600)
{
    world w;
    world_open(&w, 2);
    caller *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    caller_prepare(a, &w, 0, 12, &w.greedy);
    caller_prepare(b, &w, 1, 1, &w.greedy);
    pthread_t ta, tb;
    pthread_create(&ta, NULL, caller_run, a);
    generate_shared_totals t = {0};
    while (t.passes < 3) {
        test_sleep_ms(1);
        generate_shared_get_totals(w.shared, &t);
    }
    pthread_create(&tb, NULL, caller_run, b);
    pthread_join(tb, NULL);
    pthread_join(ta, NULL);
    cr_assert_eq(a->rc, 0, "%s", a->err.msg);
    cr_assert_eq(b->rc, 0, "%s", b->err.msg);
    cr_assert_lt(b->passes_when_done * 10, a->passes_when_done * 6,
                 "B (1 request) was done after pass %llu, A (12) after pass %llu",
                 (unsigned long long)b->passes_when_done, (unsigned long long)a->passes_when_done);
    expect_alone(&w, &b->reqs[0], "B");
    expect_alone(&w, &a->reqs[11], "A's last");
    caller_free(a);
    caller_free(b);
    free(a);
    free(b);
    world_close(&w);
}

Test(generate_shared, a_cancelled_caller_ends_alone, .timeout = 600)
{
    world w;
    world_open(&w, 2);
    caller *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    generate_params longer = w.greedy;
    longer.n_predict = 200;
    caller_prepare(a, &w, 0, 6, &longer);
    a->cancel_after_polls = 2;
    caller_prepare(b, &w, 1, 3, &w.greedy);
    pthread_t ta, tb;
    pthread_create(&ta, NULL, caller_run, a);
    pthread_create(&tb, NULL, caller_run, b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    cr_assert_eq(a->rc, 1, "A was cancelled");
    int cancelled = 0;
    for (int i = 0; i < a->n; i++)
        cancelled += a->reqs[i].status == -1 && strcmp(a->reqs[i].error, "cancelled") == 0;
    cr_assert_geq(cancelled, 4, "A's unfinished requests end cancelled (%d of 6)", cancelled);
    cr_assert_eq(b->rc, 0, "%s", b->err.msg);
    for (int i = 0; i < b->n; i++)
        expect_alone(&w, &b->reqs[i], "B");
    caller_free(a);
    caller_free(b);
    free(a);
    free(b);
    world_close(&w);
}
