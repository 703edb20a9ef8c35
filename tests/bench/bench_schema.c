/* bench_schema.c — cost of JSON-schema constrained decoding (not a test).
 *
 * Greedy decoding on a Llama 2 vocabulary model (default synth-d256-q8_0)
 * for N tokens without a schema, then under a schema that is mostly free
 * string text and under the nested summary schema; prints the time per
 * generated token and the ratio to unconstrained decoding. Then the
 * per-token constraint cost on its own: the filtered greedy choice and a
 * whole-vocabulary mask in string and structural states, in microseconds.
 *
 * Times are process CPU time, fastest of REPS interleaved runs.
 *
 *   bench-schema [MODEL] [N_TOKENS] [THREADS] [REPS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine.h"
#include "engine/generate.h"
#include "engine/json/json_constraint.h"
#include "engine/json/json_matcher.h"
#include "engine/json/json_schema.h"
#include "engine/model.h"
#include "engine/sampler.h"
#include "engine/tokenizer/tokenizer.h"

static const char *TEXT_SCHEMA =
    "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}},"
    "\"required\":[\"text\"]}";

static const char *SUMMARY_SCHEMA =
    "{\"type\":\"object\",\"properties\":{"
    "\"title\":{\"type\":\"string\",\"maxLength\":120},"
    "\"summary\":{\"type\":\"string\",\"maxLength\":300},"
    "\"key_points\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":5,\"items\":{"
    "\"type\":\"object\",\"properties\":{\"point\":{\"type\":\"string\",\"maxLength\":80},"
    "\"paragraph_ids\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"maxLength\":8},"
    "\"maxItems\":3}},"
    "\"required\":[\"point\",\"paragraph_ids\"]}}},"
    "\"required\":[\"title\",\"summary\",\"key_points\"]}";

/* Process CPU time: the machine may be shared, so wall time would count
 * other processes' turns. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct bench {
    model *m;
    tokenizer *tok;
    engine_ctx *ctx;
    json_vocab *vocab;
    int32_t *prompt;
    size_t n_prompt;
    int sample;  /* default sampling chain instead of greedy */
} bench;

static int die(const char *what, const perr *err)
{
    fprintf(stderr, "bench-schema: %s: %s\n", what, err->msg);
    exit(1);
}

/* CPU seconds of one run of at most n tokens (prompt included); greedy
 * unless b->sample. */
static double run_once(bench *b, const json_schema *s, int n, int *n_out)
{
    generate_params p = { .n_predict = n, .sampling = sampler_default_params(),
                          .json_schema = s, .json_vocab = b->vocab };
    p.sampling.seed = 7;
    if (!b->sample)
        p.sampling.temp = 0;
    generate_result r;
    perr err;
    double t0 = now();
    if (generate_run(b->ctx, 0, b->tok, b->prompt, b->n_prompt, &p, NULL, NULL, &r, &err))
        die("generate", &err);
    *n_out = r.n_generated;
    return now() - t0;
}

/* Seconds per generated token after the first: (run(n) - run(1)) / (n - 1),
 * each run the fastest of `reps` (interleaved by the caller). */
typedef struct timing {
    double full, first;
    int n;
} timing;

static void time_round(bench *b, const json_schema *s, int n, timing *t)
{
    int n1, nn;
    double first = run_once(b, NULL, 1, &n1); /* the prompt, and one token */
    double full = run_once(b, s, n, &nn);
    if (t->n == 0 || first < t->first)
        t->first = first;
    if (t->n == 0 || full < t->full)
        t->full = full;
    t->n = nn;
}

static double per_token(const timing *t) { return (t->full - t->first) / (t->n - 1); }

static int filter_allow(void *user, int32_t id) { return json_constraint_allows(user, id); }
static int filter_mask(void *user, uint8_t *mask) { return json_constraint_mask(user, mask); }

static void micro(bench *b, const json_schema *s, const char *prefix, const char *label)
{
    perr err;
    json_constraint *c;
    if (json_constraint_new(&c, s, b->vocab, &err) != 0)
        die("constraint", &err);
    /* Feed the prefix byte by byte through single-byte pieces, or through
     * the forced tokens where the constraint forces them. */
    json_matcher m;
    json_matcher_init(&m, s);
    if (json_matcher_advance_bytes(&m, prefix, strlen(prefix)) != 0) {
        fprintf(stderr, "bench-schema: bad prefix %s\n", prefix);
        exit(1);
    }
    int n_vocab = json_vocab_n_vocab(b->vocab);
    for (size_t i = 0; prefix[i];) {
        int32_t id = -1;
        size_t len = 1;
        if (json_constraint_forced(c, &id, 1) > 0) {
            const char *p = tokenizer_token_piece(b->tok, id, &len);
            if (len > strlen(prefix + i) || memcmp(p, prefix + i, len) != 0)
                id = -1; /* the forced token runs past the prefix */
        }
        for (int t = 0; t < n_vocab && id < 0; t++) {
            const char *p = tokenizer_token_piece(b->tok, t, &len);
            if (len == 1 && p[0] == prefix[i] && json_constraint_allows(c, t))
                id = t;
        }
        if (id < 0 || json_constraint_accept(c, id, &err) != 0)
            die("feeding the prefix", &err);
        i += len;
    }
    uint8_t *mask = malloc((size_t)n_vocab);
    int allowed = 0, reps = 20;
    double mask_us = 1e30, plain_us = 1e30, filt_us = 1e30;
    for (int round = 0; round < 5; round++) {
        double t0 = now();
        for (int r = 0; r < reps; r++)
            allowed = json_constraint_mask(c, mask);
        double us = (now() - t0) * 1e6 / reps;
        if (us < mask_us)
            mask_us = us;
    }
    const float *logits = engine_logits(b->ctx, 0);
    sampler_params sp = sampler_default_params();
    sp.temp = 0;
    sampler *smp;
    if (sampler_new(&smp, &sp, n_vocab, &err) != 0)
        die("sampler", &err);
    const sampler_filter f = { .user = c, .allow = filter_allow, .mask = filter_mask };
    volatile int32_t sink = 0;
    reps = 100;
    for (int round = 0; round < 5; round++) {
        double t0 = now();
        for (int r = 0; r < reps; r++)
            sink = sampler_sample(smp, logits);
        double t1 = now();
        for (int r = 0; r < reps; r++)
            sink = sampler_sample_filtered(smp, logits, &f);
        double t2 = now();
        if ((t1 - t0) * 1e6 / reps < plain_us)
            plain_us = (t1 - t0) * 1e6 / reps;
        if ((t2 - t1) * 1e6 / reps < filt_us)
            filt_us = (t2 - t1) * 1e6 / reps;
    }
    (void)sink;
    printf("  %-26s mask of all %d tokens: %7.1f us (%d allowed); greedy pick: plain %5.1f us, "
           "constrained %6.1f us\n", label, n_vocab, mask_us, allowed, plain_us, filt_us);
    sampler_free(smp);
    free(mask);
    json_constraint_free(c);
}

int main(int argc, char **argv)
{
    const char *dir = getenv("PRECIS_TEST_MODELS");
    char path[4096];
    snprintf(path, sizeof path, "%s/synth-d256-q8_0.gguf", dir ? dir : "/work/shared/models");
    const char *model_path = argc > 1 ? argv[1] : path;
    int n = argc > 2 ? atoi(argv[2]) : 256;
    int threads = argc > 3 ? atoi(argv[3]) : 1;
    int reps = argc > 4 ? atoi(argv[4]) : 5;
    bench b = { 0 };
    perr err;
    if (model_load(&b.m, model_path, &err) || tokenizer_from_gguf(&b.tok, b.m->gguf, &err))
        die("loading", &err);
    engine_params ep = { .n_ctx = 1024, .n_seq = 1, .n_threads = threads };
    if (engine_ctx_new(&b.ctx, b.m, &ep, &err) != 0)
        die("context", &err);
    double t0 = now();
    if (json_vocab_new(&b.vocab, b.tok, &err) != 0)
        die("vocab", &err);
    double vocab_ms = (now() - t0) * 1e3;
    const char *prompt = "Summarise the document as JSON.\n\nDocument: The council approved the "
                         "budget after a long debate.\n\nJSON:";
    if (generate_tokenize_prompt(b.tok, prompt, strlen(prompt), &b.prompt, &b.n_prompt, &err))
        die("tokenize", &err);
    json_schema *text = NULL, *summary = NULL;
    if (json_schema_compile(&text, TEXT_SCHEMA, strlen(TEXT_SCHEMA), NULL, &err) ||
        json_schema_compile(&summary, SUMMARY_SCHEMA, strlen(SUMMARY_SCHEMA), NULL, &err))
        die("schema", &err);

    printf("bench-schema: %s, %zu-token vocabulary, %d thread(s), %d tokens, "
           "best of %d\n", model_path, tokenizer_n_vocab(b.tok), threads, n, reps);
    printf("  vocabulary index built in %.1f ms\n", vocab_ms);
    timing plain = { 0 }, text_t = { 0 }, sum_t = { 0 };
    int warm;
    run_once(&b, NULL, 8, &warm);
    for (int rep = 0; rep < reps; rep++) {
        time_round(&b, NULL, n, &plain);
        time_round(&b, text, n, &text_t);
        time_round(&b, summary, n, &sum_t);
    }
    timing plain_s = { 0 }, sum_s = { 0 };
    b.sample = 1;
    for (int rep = 0; rep < reps; rep++) {
        time_round(&b, NULL, n, &plain_s);
        time_round(&b, summary, n, &sum_s);
    }
    b.sample = 0;
    double tp = per_token(&plain), tt = per_token(&text_t), ts = per_token(&sum_t);
    double tps = per_token(&plain_s), tss = per_token(&sum_s);
    printf("  greedy:\n");
    printf("  unconstrained             %8.1f us/token (%d tokens)\n", tp * 1e6, plain.n);
    printf("  string schema             %8.1f us/token (%d tokens)  ratio %.3f  overhead "
           "%+.1f us/token\n", tt * 1e6, text_t.n, tt / tp, (tt - tp) * 1e6);
    printf("  summary schema            %8.1f us/token (%d tokens)  ratio %.3f  overhead "
           "%+.1f us/token\n", ts * 1e6, sum_t.n, ts / tp, (ts - tp) * 1e6);
    printf("  sampling (temp 0.8, top-k 40, top-p 0.95, min-p 0.05):\n");
    printf("  unconstrained             %8.1f us/token (%d tokens)\n", tps * 1e6, plain_s.n);
    printf("  summary schema            %8.1f us/token (%d tokens)  ratio %.3f  overhead "
           "%+.1f us/token\n", tss * 1e6, sum_s.n, tss / tps, (tss - tps) * 1e6);
    /* Logits of the last run stay in the context for the micro-benchmark. */
    micro(&b, text, "{\"text\":\"Hello wor", "inside a string:");
    micro(&b, summary, "{\"title\":\"T\",", "before a key:");
    micro(&b, summary, "{\"title\":\"T\",\"summary\":\"S\",\"key_points\":[", "array item start:");
    json_schema_free(text);
    json_schema_free(summary);
    free(b.prompt);
    json_vocab_free(b.vocab);
    engine_ctx_free(b.ctx);
    tokenizer_free(b.tok);
    model_free(b.m);
    return 0;
}
