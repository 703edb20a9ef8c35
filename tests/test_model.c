/* test_model.c — the llama model loader, the engine (forward pass, KV cache,
 * sequences, threads), the sampler and the generation loop. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/engine_impl.h"
#include "engine/generate.h"
#include "engine/gguf/gguf.h"
#include "engine/kernels/tensor_types.h"
#include "engine/model.h"
#include "engine/sampler.h"
#include "engine/tokenizer/tokenizer.h"
#include "tests/support.h"

/* llama2.c's own test: stories260K, BOS only, greedy, 200 tokens. */
static const char stories_greedy_200[] =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the "
    "park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\n"
    "Lily's mom said, \"Lily, let's go to the park.\" Lily was sad and didn't know what to do. "
    "She said, \"I want to play with your ball, but I can't find it.\"\n"
    "Lily was sad and didn't know what to do. She said, \"I'm sorry, Lily. I didn't know what "
    "to do.\"\n"
    "Lily didn't want to help her mom, so she";

/* ---- fixtures ---------------------------------------------------------- */

typedef struct loaded {
    model *m;
    tokenizer *tok;
} loaded;

static loaded load_stories(void)
{
    char *path = test_model_path("stories260K.gguf");
    loaded l;
    perr err;
    cr_assert_eq(model_load(&l.m, path, &err), 0, "%s", err.msg);
    cr_assert_eq(tokenizer_from_gguf(&l.tok, l.m->gguf, &err), 0, "%s", err.msg);
    free(path);
    return l;
}

static void unload(loaded *l)
{
    tokenizer_free(l->tok);
    model_free(l->m);
}

static engine_ctx *new_ctx(const model *m, int n_ctx, int n_seq, int n_threads)
{
    engine_ctx *c;
    perr err;
    engine_params p = { .n_ctx = n_ctx, .n_seq = n_seq, .n_threads = n_threads };
    cr_assert_eq(engine_ctx_new(&c, m, &p, &err), 0, "%s", err.msg);
    return c;
}

/* Collects emitted text. */
typedef struct text_buf {
    char data[8192];
    size_t len;
} text_buf;

static int collect(void *user, const char *text, size_t len)
{
    text_buf *b = user;
    cr_assert_lt(b->len + len, sizeof b->data);
    memcpy(b->data + b->len, text, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

static generate_params greedy_params(int n_predict)
{
    generate_params p = { .n_predict = n_predict, .sampling = sampler_default_params() };
    p.sampling.temp = 0;
    return p;
}

/* ---- end to end -------------------------------------------------------- */

Test(model, stories260K_loads_with_expected_shape)
{
    loaded l = load_stories();
    const model_hparams *hp = &l.m->hp;
    cr_assert_eq(hp->n_embd, 64);
    cr_assert_eq(hp->n_layer, 5);
    cr_assert_eq(hp->n_head, 8);
    cr_assert_eq(hp->n_head_kv, 4);
    cr_assert_eq(hp->n_ff, 172);
    cr_assert_eq(hp->n_vocab, 512);
    cr_assert_eq(hp->n_ctx_train, 512);
    cr_assert(l.m->output_tied);
    unload(&l);
}

Test(model, stories260K_greedy_200_tokens_matches_llama2c)
{
    loaded l = load_stories();
    engine_ctx *c = new_ctx(l.m, 512, 1, 2);
    int32_t bos = tokenizer_bos(l.tok);
    generate_params p = greedy_params(200);
    generate_result r;
    text_buf out = { .len = 0 };
    perr err;
    cr_assert_eq(generate_run(c, 0, l.tok, &bos, 1, &p, collect, &out, &r, &err), 0, "%s",
                 err.msg);
    cr_assert_eq(r.n_generated, 200);
    cr_assert_eq(r.reason, GENERATE_STOP_LENGTH);
    cr_assert_str_eq(out.data, stories_greedy_200);
    engine_ctx_free(c);
    unload(&l);
}

Test(model, stop_string_ends_generation_and_is_not_printed)
{
    loaded l = load_stories();
    engine_ctx *c = new_ctx(l.m, 512, 1, 1);
    int32_t bos = tokenizer_bos(l.tok);
    /* "girl na" spans two tokens ("girl", " named"): the held-back text must
     * not leak, and nothing after the stop may appear. */
    const char *stops[] = { "zzz", "girl na" };
    generate_params p = greedy_params(200);
    p.stop = stops;
    p.n_stop = 2;
    generate_result r;
    text_buf out = { .len = 0 };
    perr err;
    cr_assert_eq(generate_run(c, 0, l.tok, &bos, 1, &p, collect, &out, &r, &err), 0, "%s",
                 err.msg);
    cr_assert_eq(r.reason, GENERATE_STOP_STRING);
    cr_assert_str_eq(out.data, "Once upon a time, there was a little ");
    engine_ctx_free(c);
    unload(&l);
}

Test(model, continuation_keeps_its_leading_space)
{
    loaded l = load_stories();
    engine_ctx *c = new_ctx(l.m, 512, 1, 1);
    int32_t *ids;
    size_t n;
    perr err;
    cr_assert_eq(generate_tokenize_prompt(l.tok, "Once upon a time", 16, &ids, &n, &err), 0);
    generate_params p = greedy_params(4);
    generate_result r;
    text_buf out = { .len = 0 };
    cr_assert_eq(generate_run(c, 0, l.tok, ids, n, &p, collect, &out, &r, &err), 0, "%s",
                 err.msg);
    cr_assert_str_eq(out.data, ", there was a");
    free(ids);
    engine_ctx_free(c);
    unload(&l);
}

/* ---- engine invariants ------------------------------------------------- */

static const int32_t some_tokens[] = { 1, 403, 407, 261, 378, 429, 261, 293, 275, 270, 472,
                                       322, 404, 355, 262, 306, 365, 270, 301, 382, 350, 46,
                                       403, 270, 276, 294, 261, 311, 416, 261, 268, 270, 327,
                                       302, 335, 262, 441, 430, 309, 499, 46, 13 };
#define N_SOME ((int)(sizeof some_tokens / sizeof some_tokens[0]))

static float *eval_all(engine_ctx *c, int seq, const int32_t *t, int n)
{
    perr err;
    cr_assert_eq(engine_eval(c, seq, t, n, ENGINE_LOGITS_ALL, &err), 0, "%s", err.msg);
    size_t bytes = (size_t)n * (size_t)engine_n_vocab(c) * sizeof(float);
    float *copy = malloc(bytes);
    memcpy(copy, engine_logits(c, 0), bytes);
    return copy;
}

Test(model, threads_1_and_2_give_bit_identical_logits)
{
    loaded l = load_stories();
    engine_ctx *c1 = new_ctx(l.m, 128, 1, 1), *c2 = new_ctx(l.m, 128, 1, 2);
    float *a = eval_all(c1, 0, some_tokens, N_SOME), *b = eval_all(c2, 0, some_tokens, N_SOME);
    cr_assert_eq(memcmp(a, b, (size_t)N_SOME * 512 * sizeof(float)), 0);
    free(a);
    free(b);
    engine_ctx_free(c1);
    engine_ctx_free(c2);
    unload(&l);
}

Test(model, quantized_threads_1_and_3_give_bit_identical_logits)
{
    char *path = test_model_path("synth-d256-q4_k_m.gguf");
    model *m;
    perr err;
    cr_assert_eq(model_load(&m, path, &err), 0, "%s", err.msg);
    engine_ctx *c1 = new_ctx(m, 64, 1, 1), *c3 = new_ctx(m, 64, 1, 3);
    const int32_t t[] = { 1, 450, 21118, 5545, 278, 8799, 362, 20890 };
    cr_assert_eq(engine_eval(c1, 0, t, 8, ENGINE_LOGITS_LAST, &err), 0, "%s", err.msg);
    cr_assert_eq(engine_eval(c3, 0, t, 8, ENGINE_LOGITS_LAST, &err), 0, "%s", err.msg);
    cr_assert_eq(memcmp(engine_logits(c1, 0), engine_logits(c3, 0), 32000 * sizeof(float)), 0);
    engine_ctx_free(c1);
    engine_ctx_free(c3);
    model_free(m);
    free(path);
}

Test(model, batched_and_token_by_token_eval_agree_exactly)
{
    loaded l = load_stories();
    engine_ctx *c = new_ctx(l.m, 128, 2, 2);
    float *batch = eval_all(c, 0, some_tokens, N_SOME);
    for (int i = 0; i < N_SOME; i++) {
        float *one = eval_all(c, 1, &some_tokens[i], 1);
        cr_assert_eq(memcmp(one, batch + (size_t)i * 512, 512 * sizeof(float)), 0,
                     "token %d differs", i);
        free(one);
    }
    cr_assert_eq(engine_seq_len(c, 0), N_SOME);
    cr_assert_eq(engine_seq_len(c, 1), N_SOME);
    free(batch);
    engine_ctx_free(c);
    unload(&l);
}

/* ---- several sequences in one eval ------------------------------------ */

enum { BATCH_SEQS = 3, BATCH_STEPS = 4 };
static const int batch_len[BATCH_SEQS] = { 5, 37, 70 };
static const engine_logits_mode batch_mode[BATCH_SEQS] = {
    ENGINE_LOGITS_LAST, ENGINE_LOGITS_NONE, ENGINE_LOGITS_ALL
};

/* Token i of sequence s's prompt (or of its decode steps, i >= its length). */
static int32_t batch_token(int s, int i, int n_vocab)
{
    return 3 + (int32_t)(((uint32_t)(s + 1) * 7919u + (uint32_t)i * 104729u) %
                         (uint32_t)(n_vocab - 3));
}

/* The reference: each sequence evaluated on its own with engine_eval, its
 * prompt and then BATCH_STEPS single tokens. Rows as engine_eval_batch lays
 * them out: the prompts' wanted rows, then per step one row per sequence. */
static float *separate_logits(const model *m, int64_t *n_rows)
{
    const int n_vocab = (int)m->hp.n_vocab;
    engine_ctx *c = new_ctx(m, 128, BATCH_SEQS, 1);
    int64_t prompt_rows = 0;
    for (int s = 0; s < BATCH_SEQS; s++)
        prompt_rows += batch_mode[s] == ENGINE_LOGITS_ALL ? batch_len[s]
                     : batch_mode[s] == ENGINE_LOGITS_LAST;
    *n_rows = prompt_rows + BATCH_STEPS * BATCH_SEQS;
    float *out = malloc((size_t)*n_rows * (size_t)n_vocab * sizeof *out);
    perr err;
    int64_t row = 0;
    for (int s = 0; s < BATCH_SEQS; s++) {
        int32_t t[70];
        for (int i = 0; i < batch_len[s]; i++)
            t[i] = batch_token(s, i, n_vocab);
        cr_assert_eq(engine_eval(c, s, t, batch_len[s], batch_mode[s], &err), 0, "%s", err.msg);
        int rows = batch_mode[s] == ENGINE_LOGITS_ALL ? batch_len[s]
                 : batch_mode[s] == ENGINE_LOGITS_LAST;
        for (int r = 0; r < rows; r++, row++)
            memcpy(out + row * n_vocab, engine_logits(c, r), (size_t)n_vocab * sizeof *out);
    }
    for (int step = 0; step < BATCH_STEPS; step++) {
        for (int s = 0; s < BATCH_SEQS; s++, row++) {
            int32_t t = batch_token(s, batch_len[s] + step, n_vocab);
            cr_assert_eq(engine_eval(c, s, &t, 1, ENGINE_LOGITS_LAST, &err), 0, "%s", err.msg);
            memcpy(out + row * n_vocab, engine_logits(c, 0), (size_t)n_vocab * sizeof *out);
        }
    }
    engine_ctx_free(c);
    return out;
}

/* The same work through engine_eval_batch with n_threads threads: the three
 * prompts in one call, then each step one call of three single tokens. */
static void check_batch_is_bit_identical(const model *m, const float *want, int n_threads)
{
    const int n_vocab = (int)m->hp.n_vocab;
    const size_t row_bytes = (size_t)n_vocab * sizeof(float);
    engine_ctx *c = new_ctx(m, 128, BATCH_SEQS, n_threads);
    perr err;
    int32_t prompt[BATCH_SEQS][70];
    engine_batch_item items[BATCH_SEQS];
    for (int s = 0; s < BATCH_SEQS; s++) {
        for (int i = 0; i < batch_len[s]; i++)
            prompt[s][i] = batch_token(s, i, n_vocab);
        items[s] = (engine_batch_item){ .seq = s, .tokens = prompt[s], .n_tokens = batch_len[s],
                                        .logits = batch_mode[s] };
    }
    cr_assert_eq(engine_eval_batch(c, items, BATCH_SEQS, &err), 0, "%s", err.msg);
    int64_t row = 0;
    for (int r = 0; engine_logits(c, r); r++, row++)
        cr_assert_eq(memcmp(engine_logits(c, r), want + row * n_vocab, row_bytes), 0,
                     "prompt row %d differs (%d threads)", r, n_threads);
    cr_assert_eq(row, 1 + 70);
    for (int s = 0; s < BATCH_SEQS; s++)
        cr_assert_eq(engine_seq_len(c, s), batch_len[s]);
    for (int step = 0; step < BATCH_STEPS; step++) {
        /* items in reverse sequence order: row j is item j's sequence */
        int32_t t[BATCH_SEQS];
        for (int j = 0; j < BATCH_SEQS; j++) {
            int s = BATCH_SEQS - 1 - j;
            t[j] = batch_token(s, batch_len[s] + step, n_vocab);
            items[j] = (engine_batch_item){ .seq = s, .tokens = &t[j], .n_tokens = 1,
                                            .logits = ENGINE_LOGITS_LAST };
        }
        cr_assert_eq(engine_eval_batch(c, items, BATCH_SEQS, &err), 0, "%s", err.msg);
        for (int j = 0; j < BATCH_SEQS; j++) {
            int s = BATCH_SEQS - 1 - j;
            cr_assert_eq(memcmp(engine_logits(c, j), want + (row + s) * n_vocab, row_bytes), 0,
                         "step %d sequence %d differs (%d threads)", step, s, n_threads);
        }
        cr_assert_null(engine_logits(c, BATCH_SEQS));
        row += BATCH_SEQS;
    }
    engine_ctx_free(c);
}

static void check_batch_on(const char *name, int max_threads)
{
    char *path = test_model_path(name);
    model *m;
    perr err;
    cr_assert_eq(model_load(&m, path, &err), 0, "%s", err.msg);
    int64_t n_rows;
    float *want = separate_logits(m, &n_rows);
    for (int t = 1; t <= max_threads; t++)
        check_batch_is_bit_identical(m, want, t);
    /* again with the weights packed for batched decode (where the kernel
     * set has a packed layout for the model's types) */
    cr_assert_eq(model_pack_weights(m, MODEL_PACK_ON, &err), 0, "%s", err.msg);
    for (int t = 1; t <= max_threads; t++)
        check_batch_is_bit_identical(m, want, t);
    free(want);
    model_free(m);
    free(path);
}

Test(model, eval_batch_matches_separate_evals_bit_for_bit)
{
    check_batch_on("stories260K.gguf", 2);
}

Test(model, eval_batch_matches_separate_evals_quantized)
{
    check_batch_on("synth-d256-q8_0.gguf", 3);
}

Test(model, eval_batch_matches_separate_evals_q4_0)
{
    check_batch_on("synth-d256-q4_0.gguf", 2);
}

Test(model, packed_weights_follow_the_mode)
{
    char *path = test_model_path("synth-d256-q4_0.gguf");
    model *m;
    perr err;
    cr_assert_eq(model_load(&m, path, &err), 0, "%s", err.msg);
    cr_assert_eq(model_pack_weights(m, MODEL_PACK_OFF, &err), 0, "%s", err.msg);
    cr_assert_eq(m->packed_bytes, 0);
    cr_assert_null(model_packed(m, m->layers[0].wq));
    cr_assert_eq(model_pack_weights(m, MODEL_PACK_ON, &err), 0, "%s", err.msg);
    if (tensor_types_get(m->layers[0].wq->type)->pack) {
        cr_assert_not_null(model_packed(m, m->layers[0].wq));
        cr_assert_gt(m->packed_bytes, 0);
    }
    model_unpack_weights(m);
    cr_assert_null(model_packed(m, m->layers[0].wq));
    model_pack_mode mode;
    cr_assert_eq(model_pack_mode_parse("Auto", &mode), 0);
    cr_assert_eq(mode, MODEL_PACK_AUTO);
    cr_assert_eq(model_pack_mode_parse("off", &mode), 0);
    cr_assert_eq(mode, MODEL_PACK_OFF);
    cr_assert_neq(model_pack_mode_parse("maybe", &mode), 0);
    model_free(m);
    free(path);
}

Test(model, eval_batch_rejects_bad_items_and_evaluates_nothing)
{
    loaded l = load_stories();
    engine_ctx *c = new_ctx(l.m, 16, 2, 1);
    perr err;
    const int32_t t[] = { 1, 403, 407 };
    engine_batch_item two[2] = {
        { .seq = 0, .tokens = t, .n_tokens = 3, .logits = ENGINE_LOGITS_LAST },
        { .seq = 0, .tokens = t, .n_tokens = 1, .logits = ENGINE_LOGITS_LAST },
    };
    cr_assert_neq(engine_eval_batch(c, two, 2, &err), 0);
    cr_assert(strstr(err.msg, "both extend sequence 0"), "%s", err.msg);
    two[1].seq = 2;
    cr_assert_neq(engine_eval_batch(c, two, 2, &err), 0);
    cr_assert(strstr(err.msg, "sequence 2 does not exist"), "%s", err.msg);
    two[1].seq = 1;
    two[1].logits = (engine_logits_mode)7;
    cr_assert_neq(engine_eval_batch(c, two, 2, &err), 0);
    cr_assert(strstr(err.msg, "logits mode"), "%s", err.msg);
    two[1].logits = ENGINE_LOGITS_LAST;
    two[1].n_tokens = 17;
    two[1].tokens = some_tokens;
    cr_assert_neq(engine_eval_batch(c, two, 2, &err), 0);
    cr_assert(strstr(err.msg, "do not fit"), "%s", err.msg);
    cr_assert_neq(engine_eval_batch(c, two, 0, &err), 0);
    engine_batch_item three[3] = { two[0], two[0], two[0] };
    cr_assert_neq(engine_eval_batch(c, three, 3, &err), 0);
    cr_assert_eq(engine_seq_len(c, 0), 0, "nothing was evaluated");
    cr_assert_eq(engine_seq_len(c, 1), 0);
    cr_assert_null(engine_logits(c, 0));
    engine_ctx_free(c);
    unload(&l);
}

/* ENGINE_LOGITS_FROM: only the rows from logits_from on, bit-identical to
 * those of ENGINE_LOGITS_ALL, laid out after the other items' rows. */
Test(model, eval_batch_logits_from_gives_the_tail_rows_only)
{
    loaded l = load_stories();
    engine_ctx *c = new_ctx(l.m, 128, 3, 1);
    perr err;
    float *want = eval_all(c, 2, some_tokens, N_SOME);
    const size_t row = 512 * sizeof(float);
    engine_batch_item items[2] = {
        { .seq = 0, .tokens = some_tokens, .n_tokens = 30, .logits = ENGINE_LOGITS_LAST },
        { .seq = 1, .tokens = some_tokens, .n_tokens = 30, .logits = ENGINE_LOGITS_FROM, .logits_from = 26 },
    };
    cr_assert_eq(engine_eval_batch(c, items, 2, &err), 0, "%s", err.msg);
    cr_assert_eq(memcmp(engine_logits(c, 0), want + 29 * 512, row), 0);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(memcmp(engine_logits(c, 1 + i), want + (size_t)(26 + i) * 512, row), 0, "row %d", i);
    cr_assert_null(engine_logits(c, 5));
    /* a chain after a prefix: logits of its last two tokens */
    items[0] = (engine_batch_item){ .seq = 1, .tokens = some_tokens + 30, .n_tokens = 5,
                                    .logits = ENGINE_LOGITS_FROM, .logits_from = 3 };
    cr_assert_eq(engine_eval_batch(c, items, 1, &err), 0, "%s", err.msg);
    cr_assert_eq(memcmp(engine_logits(c, 0), want + 33 * 512, 2 * row), 0);
    cr_assert_null(engine_logits(c, 2));
    items[0].logits_from = 5;   /* none */
    items[0].seq = 0;
    items[0].tokens = some_tokens + 30;
    cr_assert_eq(engine_eval_batch(c, items, 1, &err), 0, "%s", err.msg);
    cr_assert_null(engine_logits(c, 0));
    items[0].logits_from = 6;
    cr_assert_neq(engine_eval_batch(c, items, 1, &err), 0);
    cr_assert(strstr(err.msg, "logits wanted from token 6 of 5"), "%s", err.msg);
    free(want);
    engine_ctx_free(c);
    unload(&l);
}

Test(model, copied_prefix_continues_like_the_original)
{
    loaded l = load_stories();
    engine_ctx *c = new_ctx(l.m, 128, 3, 1);
    perr err;
    const int split = 20;
    float *whole = eval_all(c, 0, some_tokens, N_SOME);
    /* seq 1: a different history that the copy must replace entirely */
    free(eval_all(c, 1, some_tokens + 5, 30));
    cr_assert_eq(engine_seq_copy_prefix(c, 0, 1, split, &err), 0, "%s", err.msg);
    cr_assert_eq(engine_seq_len(c, 1), split);
    float *rest = eval_all(c, 1, some_tokens + split, N_SOME - split);
    cr_assert_eq(memcmp(rest, whole + (size_t)split * 512,
                        (size_t)(N_SOME - split) * 512 * sizeof(float)), 0);
    /* truncate + re-eval gives the same result as well */
    cr_assert_eq(engine_seq_truncate(c, 0, split, &err), 0, "%s", err.msg);
    free(rest);
    rest = eval_all(c, 0, some_tokens + split, N_SOME - split);
    cr_assert_eq(memcmp(rest, whole + (size_t)split * 512,
                        (size_t)(N_SOME - split) * 512 * sizeof(float)), 0);
    cr_assert_neq(engine_seq_copy_prefix(c, 0, 2, N_SOME + 1, &err), 0);
    cr_assert_neq(engine_seq_copy_prefix(c, 0, 3, 1, &err), 0);
    free(rest);
    free(whole);
    engine_ctx_free(c);
    unload(&l);
}

Test(model, prompt_longer_than_context_is_an_error)
{
    loaded l = load_stories();
    engine_ctx *c = new_ctx(l.m, 16, 1, 1);
    perr err;
    cr_assert_neq(engine_eval(c, 0, some_tokens, 17, ENGINE_LOGITS_LAST, &err), 0);
    cr_assert(strstr(err.msg, "do not fit in the context"), "%s", err.msg);
    cr_assert_eq(engine_seq_len(c, 0), 0, "nothing evaluated, nothing truncated");
    generate_params p = greedy_params(4);
    generate_result r;
    cr_assert_neq(generate_run(c, 0, l.tok, some_tokens, 17, &p, NULL, NULL, &r, &err), 0);
    cr_assert(strstr(err.msg, "prompt has 17 tokens but the context holds only 16"), "%s",
              err.msg);
    /* filling the context exactly works; one more token does not */
    cr_assert_eq(engine_eval(c, 0, some_tokens, 16, ENGINE_LOGITS_NONE, &err), 0, "%s", err.msg);
    cr_assert_neq(engine_eval(c, 0, some_tokens, 1, ENGINE_LOGITS_LAST, &err), 0);
    engine_ctx_free(c);
    unload(&l);
}

Test(model, generation_stops_when_the_context_is_full)
{
    loaded l = load_stories();
    engine_ctx *c = new_ctx(l.m, 10, 1, 1);
    int32_t bos = tokenizer_bos(l.tok);
    generate_params p = greedy_params(-1);
    generate_result r;
    perr err;
    cr_assert_eq(generate_run(c, 0, l.tok, &bos, 1, &p, NULL, NULL, &r, &err), 0, "%s", err.msg);
    cr_assert_eq(r.reason, GENERATE_STOP_CONTEXT);
    cr_assert_eq(r.n_generated, 10);
    engine_ctx_free(c);
    unload(&l);
}

Test(model, bad_tokens_and_sequences_are_errors)
{
    loaded l = load_stories();
    engine_ctx *c = new_ctx(l.m, 16, 1, 1);
    perr err;
    int32_t bad[] = { 1, 512 };
    cr_assert_neq(engine_eval(c, 0, bad, 2, ENGINE_LOGITS_LAST, &err), 0);
    cr_assert(strstr(err.msg, "token id 512"), "%s", err.msg);
    bad[1] = -3;
    cr_assert_neq(engine_eval(c, 0, bad, 2, ENGINE_LOGITS_LAST, &err), 0);
    cr_assert_neq(engine_eval(c, 1, bad, 1, ENGINE_LOGITS_LAST, &err), 0);
    cr_assert(strstr(err.msg, "sequence 1 does not exist"), "%s", err.msg);
    cr_assert_neq(engine_eval(c, 0, bad, 0, ENGINE_LOGITS_LAST, &err), 0);
    engine_ctx_free(c);
    unload(&l);
}

/* ---- hostile and unsupported files ------------------------------------- */

enum { T_DIM = 8, T_HEADS = 2, T_KV_HEADS = 1, T_FF = 16, T_VOCAB = 4, T_CTX = 32 };

typedef struct tiny_spec {
    const char *arch;
    const char *skip_tensor;  /* leave this tensor out */
    const char *skip_key;     /* leave this metadata key out */
    const char *bad_tensor;   /* give this tensor one row too many */
    float rope_linear;        /* > 0: rope.scaling.type linear with this factor */
    const char *rope_type;    /* rope.scaling.type to write instead (e.g. "yarn") */
} tiny_spec;

static void add_tensor(gguf_writer *w, const tiny_spec *s, const char *name, int64_t ne0,
                       int64_t ne1)
{
    if (s->skip_tensor && strcmp(name, s->skip_tensor) == 0)
        return;
    if (s->bad_tensor && strcmp(name, s->bad_tensor) == 0)
        ne1 = ne1 ? ne1 + 1 : 2;
    int64_t ne[2] = { ne0, ne1 ? ne1 : 1 };
    size_t n = (size_t)(ne[0] * ne[1]);
    float *data = malloc(n * sizeof *data);
    for (size_t i = 0; i < n; i++)
        data[i] = 0.1f * (float)((i * 7 + strlen(name)) % 11) - 0.5f;
    perr err;
    cr_assert_eq(gguf_writer_add_tensor(w, name, TT_F32, ne1 ? 2 : 1, ne, data,
                                        n * sizeof *data, &err), 0, "%s", err.msg);
    free(data);
}

static void set_u32(gguf_writer *w, const tiny_spec *s, const char *key, uint32_t v)
{
    if (!s->skip_key || strcmp(key, s->skip_key) != 0)
        gguf_writer_set_u32(w, key, v);
}

/* A complete one-layer llama (F32), altered as the spec says; in memory. */
static void *tiny_model(const tiny_spec *s, size_t *size)
{
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "general.architecture", s->arch ? s->arch : "llama");
    set_u32(w, s, "llama.embedding_length", T_DIM);
    set_u32(w, s, "llama.block_count", 1);
    set_u32(w, s, "llama.attention.head_count", T_HEADS);
    set_u32(w, s, "llama.attention.head_count_kv", T_KV_HEADS);
    set_u32(w, s, "llama.feed_forward_length", T_FF);
    set_u32(w, s, "llama.context_length", T_CTX);
    gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    if (s->rope_linear > 0 || s->rope_type) {
        gguf_writer_set_str(w, "llama.rope.scaling.type", s->rope_type ? s->rope_type : "linear");
        gguf_writer_set_f32(w, "llama.rope.scaling.factor", s->rope_linear > 0 ? s->rope_linear : 2.0f);
    }
    const char *tokens[T_VOCAB] = { "<unk>", "<s>", "</s>", "a" };
    gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", tokens, T_VOCAB);
    const int kv = T_DIM / T_HEADS * T_KV_HEADS;
    add_tensor(w, s, "token_embd.weight", T_DIM, T_VOCAB);
    add_tensor(w, s, "output_norm.weight", T_DIM, 0);
    add_tensor(w, s, "blk.0.attn_norm.weight", T_DIM, 0);
    add_tensor(w, s, "blk.0.attn_q.weight", T_DIM, T_DIM);
    add_tensor(w, s, "blk.0.attn_k.weight", T_DIM, kv);
    add_tensor(w, s, "blk.0.attn_v.weight", T_DIM, kv);
    add_tensor(w, s, "blk.0.attn_output.weight", T_DIM, T_DIM);
    add_tensor(w, s, "blk.0.ffn_norm.weight", T_DIM, 0);
    add_tensor(w, s, "blk.0.ffn_gate.weight", T_DIM, T_FF);
    add_tensor(w, s, "blk.0.ffn_up.weight", T_DIM, T_FF);
    add_tensor(w, s, "blk.0.ffn_down.weight", T_FF, T_DIM);
    void *data;
    perr err;
    cr_assert_eq(gguf_writer_write_memory(w, &data, size, &err), 0, "%s", err.msg);
    gguf_writer_free(w);
    return data;
}

/* Try to load a tiny model variant; returns model_from_gguf's status. */
static int load_tiny(const tiny_spec *s, perr *err, model **unused)
{
    (void)unused;
    size_t size;
    void *data = tiny_model(s, &size);
    gguf_file *f;
    cr_assert_eq(gguf_open_memory(&f, data, size, err), 0, "%s", err->msg);
    model *m;
    int rc = model_from_gguf(&m, f, "tiny.gguf", err);
    if (rc == 0)
        model_free(m);
    free(data);
    return rc;
}

Test(model, tiny_crafted_model_loads_and_runs)
{
    size_t size;
    tiny_spec s = { 0 };
    void *data = tiny_model(&s, &size);
    gguf_file *f;
    perr err;
    cr_assert_eq(gguf_open_memory(&f, data, size, &err), 0, "%s", err.msg);
    model *m;
    cr_assert_eq(model_from_gguf(&m, f, "tiny.gguf", &err), 0, "%s", err.msg);
    cr_assert(m->output_tied);
    cr_assert_eq(m->hp.n_vocab, T_VOCAB);
    cr_assert_eq(m->hp.n_rot, T_DIM / T_HEADS);
    engine_ctx *c = new_ctx(m, 0, 1, 2);
    cr_assert_eq(engine_n_ctx(c), T_CTX);
    const int32_t t[] = { 1, 3, 3, 2 };
    cr_assert_eq(engine_eval(c, 0, t, 4, ENGINE_LOGITS_ALL, &err), 0, "%s", err.msg);
    for (int i = 0; i < 4 * T_VOCAB; i++)
        cr_assert(isfinite(engine_logits(c, 0)[i]));
    engine_ctx_free(c);
    model_free(m);
    free(data);
}

Test(model, wrong_architecture_is_rejected_by_name)
{
    perr err;
    tiny_spec s = { .arch = "gpt2" };
    cr_assert_neq(load_tiny(&s, &err, NULL), 0);
    cr_assert(strstr(err.msg, "architecture 'gpt2' is not supported; precis runs "
                              "llama-architecture models"), "%s", err.msg);
    cr_assert(strstr(err.msg, "tiny.gguf"), "%s", err.msg);
}

Test(model, missing_tensor_is_named)
{
    perr err;
    tiny_spec s = { .skip_tensor = "blk.0.ffn_up.weight" };
    cr_assert_neq(load_tiny(&s, &err, NULL), 0);
    cr_assert(strstr(err.msg, "tensor 'blk.0.ffn_up.weight' is missing"), "%s", err.msg);
    s.skip_tensor = "output_norm.weight";
    cr_assert_neq(load_tiny(&s, &err, NULL), 0);
    cr_assert(strstr(err.msg, "tensor 'output_norm.weight' is missing"), "%s", err.msg);
}

Test(model, wrong_shape_is_named_with_expected_shape)
{
    perr err;
    tiny_spec s = { .bad_tensor = "blk.0.attn_k.weight" };
    cr_assert_neq(load_tiny(&s, &err, NULL), 0);
    cr_assert(strstr(err.msg, "tensor 'blk.0.attn_k.weight' has shape [8, 5"), "%s", err.msg);
    cr_assert(strstr(err.msg, "expected [8, 4]"), "%s", err.msg);
    s.bad_tensor = "blk.0.ffn_norm.weight";
    cr_assert_neq(load_tiny(&s, &err, NULL), 0);
    cr_assert(strstr(err.msg, "tensor 'blk.0.ffn_norm.weight'"), "%s", err.msg);
    s.bad_tensor = "token_embd.weight";
    cr_assert_neq(load_tiny(&s, &err, NULL), 0);
    cr_assert(strstr(err.msg, "token_embd.weight"), "%s", err.msg);
}

Test(model, missing_hyperparameter_is_named)
{
    perr err;
    tiny_spec s = { .skip_key = "llama.feed_forward_length" };
    cr_assert_neq(load_tiny(&s, &err, NULL), 0);
    cr_assert(strstr(err.msg, "llama.feed_forward_length is missing"), "%s", err.msg);
    /* head_count_kv is optional: defaults to head_count (then K/V shapes mismatch) */
    s.skip_key = "llama.attention.head_count_kv";
    cr_assert_neq(load_tiny(&s, &err, NULL), 0);
    cr_assert(strstr(err.msg, "blk.0.attn_k.weight"), "%s", err.msg);
}

Test(model, hostile_model_files_give_errors)
{
    char *dir_path = NULL;
    cr_assert(asprintf(&dir_path, "%s/junk.gguf", test_tmpdir()) > 0);
    FILE *f = fopen(dir_path, "wb");
    fputs("GGUF\x03\x00\x00\x00garbage", f);
    fclose(f);
    model *m;
    perr err;
    cr_assert_neq(model_load(&m, dir_path, &err), 0);
    cr_assert(strstr(err.msg, "loading model"), "%s", err.msg);
    cr_assert_neq(model_load(&m, "/nonexistent/x.gguf", &err), 0);
    cr_assert(strstr(err.msg, "/nonexistent/x.gguf"), "%s", err.msg);
    free(dir_path);
}

/* ---- sampler ----------------------------------------------------------- */

static sampler *new_sampler(sampler_params p, int n_vocab)
{
    sampler *s;
    perr err;
    cr_assert_eq(sampler_new(&s, &p, n_vocab, &err), 0, "%s", err.msg);
    return s;
}

Test(model, sampler_greedy_picks_argmax)
{
    const float logits[] = { 0.5f, -1.0f, 3.25f, 3.0f, 3.25f };
    sampler_params p = sampler_default_params();
    p.temp = 0;
    sampler *s = new_sampler(p, 5);
    cr_assert_eq(sampler_sample(s, logits), 2, "first of the tied maxima");
    cr_assert_eq(sampler_argmax(logits, 5), 2);
    sampler_free(s);
}

Test(model, sampler_top_k_1_equals_greedy)
{
    float logits[64];
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 64; i++)
            logits[i] = (float)((i * 37 + round * 11) % 64) * 0.1f;
        sampler_params p = sampler_default_params();
        p.temp = 1.5f;
        p.top_k = 1;
        p.seed = (uint64_t)round;
        sampler *s = new_sampler(p, 64);
        cr_assert_eq(sampler_sample(s, logits), sampler_argmax(logits, 64));
        sampler_free(s);
    }
}

static void draw_many(uint64_t seed, int32_t *out, int n, const float *logits, int n_vocab)
{
    sampler_params p = sampler_default_params();
    p.temp = 1.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = seed;
    sampler *s = new_sampler(p, n_vocab);
    for (int i = 0; i < n; i++)
        out[i] = sampler_sample(s, logits);
    sampler_free(s);
}

Test(model, sampler_same_seed_same_tokens_different_seed_differs)
{
    float flat[100];
    for (int i = 0; i < 100; i++)
        flat[i] = 0.0f;
    int32_t a[64], b[64], c[64];
    draw_many(42, a, 64, flat, 100);
    draw_many(42, b, 64, flat, 100);
    draw_many(43, c, 64, flat, 100);
    cr_assert_eq(memcmp(a, b, sizeof a), 0);
    cr_assert_neq(memcmp(a, c, sizeof a), 0);
    /* a flat distribution actually spreads: many distinct tokens */
    int seen[100] = { 0 }, distinct = 0;
    for (int i = 0; i < 64; i++)
        distinct += !seen[a[i]]++;
    cr_assert_gt(distinct, 30);
}

Test(model, sampler_repetition_penalty_divides_positive_multiplies_negative)
{
    sampler_params p = sampler_default_params();
    p.temp = 0;
    p.repeat_penalty = 1.25f;
    p.repeat_last_n = 4;
    /* positive: 2.0 / 1.25 = 1.6 < 1.7 */
    const float pos[] = { 2.0f, 1.7f, 0.0f };
    sampler *s = new_sampler(p, 3);
    cr_assert_eq(sampler_sample(s, pos), 0);
    sampler_accept(s, 0);
    sampler_accept(s, 0); /* counted once, not twice: 2.0/1.25^2 would be 1.28 */
    cr_assert_eq(sampler_sample(s, pos), 1);
    sampler_free(s);
    const float once[] = { 2.0f, 1.5f, 0.0f }; /* 1.6 > 1.5: still 0 */
    s = new_sampler(p, 3);
    sampler_accept(s, 0);
    sampler_accept(s, 0);
    cr_assert_eq(sampler_sample(s, once), 0);
    /* the window forgets: after 4 other tokens, 0 is no longer penalized */
    for (int i = 0; i < 4; i++)
        sampler_accept(s, 2);
    cr_assert_eq(sampler_sample(s, pos), 0);
    sampler_free(s);
    /* negative: -1.0 * 1.25 = -1.25 < -1.2 */
    const float neg[] = { -1.0f, -1.2f, -5.0f };
    s = new_sampler(p, 3);
    cr_assert_eq(sampler_sample(s, neg), 0);
    sampler_accept(s, 0);
    cr_assert_eq(sampler_sample(s, neg), 1);
    sampler_free(s);
}

/* Draw n tokens with the given filter and report which ids appeared. */
static void histogram(sampler_params p, const float *logits, int n_vocab, int *counts)
{
    memset(counts, 0, sizeof(int) * (size_t)n_vocab);
    sampler *s = new_sampler(p, n_vocab);
    for (int i = 0; i < 2000; i++)
        counts[sampler_sample(s, logits)]++;
    sampler_free(s);
}

Test(model, sampler_min_p_filters_relative_to_best)
{
    /* probabilities proportional to 8, 4, 2, 1 */
    const float logits[] = { logf(8), logf(4), logf(2), logf(1) };
    sampler_params p = { .temp = 1, .top_k = 0, .top_p = 1, .min_p = 0.3f,
                         .repeat_penalty = 1, .repeat_last_n = 0, .seed = 7 };
    int counts[4];
    histogram(p, logits, 4, counts);
    /* 0.3 * 8 = 2.4: only tokens 0 and 1 survive, in ratio 2:1 */
    cr_assert_eq(counts[2] + counts[3], 0);
    cr_assert(counts[0] > 1200 && counts[0] < 1450, "%d", counts[0]);
    p.min_p = 0.2f; /* 1.6: token 2 (2) survives, token 3 (1) does not */
    histogram(p, logits, 4, counts);
    cr_assert_gt(counts[2], 0);
    cr_assert_eq(counts[3], 0);
}

Test(model, sampler_top_p_keeps_smallest_covering_set)
{
    /* probabilities 0.5, 0.25, 0.125, 0.125 */
    const float logits[] = { logf(4), logf(2), logf(1), logf(1) };
    sampler_params p = { .temp = 1, .top_k = 0, .top_p = 0.7f, .min_p = 0,
                         .repeat_penalty = 1, .repeat_last_n = 0, .seed = 9 };
    int counts[4];
    histogram(p, logits, 4, counts);
    cr_assert_eq(counts[2] + counts[3], 0, "0.5 + 0.25 >= 0.7");
    cr_assert_gt(counts[1], 0);
    p.top_p = 0.5f; /* exactly reached by the first token */
    histogram(p, logits, 4, counts);
    cr_assert_eq(counts[0], 2000);
    p.top_p = 0.8f;
    histogram(p, logits, 4, counts);
    cr_assert_gt(counts[2] + counts[3], 0);
}

Test(model, sampler_temperature_sharpens)
{
    const float logits[] = { 1.0f, 0.0f };
    sampler_params p = { .temp = 0.25f, .top_k = 0, .top_p = 1, .min_p = 0,
                         .repeat_penalty = 1, .repeat_last_n = 0, .seed = 3 };
    int counts[2];
    histogram(p, logits, 2, counts);
    /* p0 = 1 / (1 + e^-4) = 0.982 */
    cr_assert(counts[0] > 1900, "%d", counts[0]);
    p.temp = 1.0f; /* p0 = 0.731 */
    histogram(p, logits, 2, counts);
    cr_assert(counts[0] > 1350 && counts[0] < 1580, "%d", counts[0]);
}

Test(model, sampler_rejects_bad_parameters)
{
    sampler *s;
    perr err;
    sampler_params p = sampler_default_params();
    cr_assert_neq(sampler_new(&s, &p, 0, &err), 0);
    p.repeat_penalty = 0;
    cr_assert_neq(sampler_new(&s, &p, 10, &err), 0);
    p = sampler_default_params();
    p.temp = NAN;
    cr_assert_neq(sampler_new(&s, &p, 10, &err), 0);
}

/* Last-token logits of the crafted model for a fixed 6-token sequence. */
static float *tiny_logits(const tiny_spec *s, model_hparams *hp_out)
{
    size_t size;
    void *data = tiny_model(s, &size);
    gguf_file *f;
    perr err;
    cr_assert_eq(gguf_open_memory(&f, data, size, &err), 0, "%s", err.msg);
    model *m;
    cr_assert_eq(model_from_gguf(&m, f, "tiny.gguf", &err), 0, "%s", err.msg);
    *hp_out = m->hp;
    engine_ctx *c = new_ctx(m, 0, 1, 1);
    const int32_t t[] = { 1, 3, 2, 3, 2, 3 };
    cr_assert_eq(engine_eval(c, 0, t, 6, ENGINE_LOGITS_LAST, &err), 0, "%s", err.msg);
    float *out = malloc(T_VOCAB * sizeof *out);
    memcpy(out, engine_logits(c, 0), T_VOCAB * sizeof *out);
    engine_ctx_free(c);
    model_free(m);
    free(data);
    return out;
}

Test(model, linear_rope_scaling_is_read_and_applied)
{
    model_hparams plain, scaled;
    tiny_spec s0 = { 0 }, s2 = { .rope_linear = 2.0f };
    float *a = tiny_logits(&s0, &plain);
    float *b = tiny_logits(&s2, &scaled);
    cr_assert_float_eq(plain.rope_freq_scale, 1.0f, 0.0f);
    cr_assert_float_eq(scaled.rope_freq_scale, 0.5f, 0.0f);
    int differ = 0;
    for (int i = 0; i < T_VOCAB; i++)
        differ |= a[i] != b[i];
    cr_assert(differ, "rope scaling changed nothing");
    /* Linear scaling by 2 means position 2p rotates exactly as p did. */
    float cs_plain[T_DIM], cs_scaled[T_DIM];
    for (int pos = 0; pos < 8; pos++) {
        engine_rope_table(cs_plain, pos, &plain);
        engine_rope_table(cs_scaled, 2 * pos, &scaled);
        cr_assert_arr_eq(cs_plain, cs_scaled, (size_t)plain.n_rot * sizeof(float), "position %d", pos);
    }
    free(a);
    free(b);
}

Test(model, unsupported_rope_scaling_type_is_rejected)
{
    perr err;
    tiny_spec s = { .rope_type = "yarn" };
    cr_assert_neq(load_tiny(&s, &err, NULL), 0);
    cr_assert(strstr(err.msg, "rope scaling type 'yarn' is not supported"), "%s", err.msg);
}
