/* perplexity.c — chunked perplexity, llama.cpp's method (see perplexity.h). */
#include "engine/perplexity.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* -log p(tok) from logits: log-softmax with the exp sum in double. */
static double token_nll(const float *logits, int n_vocab, int32_t tok)
{
    float max = logits[0];
    for (int i = 1; i < n_vocab; i++)
        if (logits[i] > max)
            max = logits[i];
    double sum = 0.0;
    for (int i = 0; i < n_vocab; i++)
        sum += expf(logits[i] - max);
    return -((double)(logits[tok] - max) - log(sum));
}

int perplexity_run(engine_ctx *c, const int32_t *tokens, size_t n_tokens, int n_ctx,
                   int32_t bos, perplexity_progress_fn progress, void *user,
                   perplexity_result *out, perr *err)
{
    memset(out, 0, sizeof *out);
    if (n_ctx < 4 || n_ctx > engine_n_ctx(c))
        return perr_set(err, "perplexity context %d must be within [4, %d]", n_ctx,
                        engine_n_ctx(c));
    if (n_tokens < 2 * (size_t)n_ctx)
        return perr_set(err, "the text has %zu tokens; perplexity with a context of %d "
                        "needs at least %d", n_tokens, n_ctx, 2 * n_ctx);
    const int n_vocab = engine_n_vocab(c);
    const int n_chunks = (int)(n_tokens / (size_t)n_ctx);
    const int first = n_ctx / 2;
    int32_t *chunk = malloc((size_t)n_ctx * sizeof *chunk);
    if (!chunk)
        return perr_set(err, "out of memory");

    double nll = 0.0, nll2 = 0.0;
    int64_t count = 0;
    for (int ci = 0; ci < n_chunks; ci++) {
        memcpy(chunk, tokens + (size_t)ci * (size_t)n_ctx, (size_t)n_ctx * sizeof *chunk);
        if (bos >= 0)
            chunk[0] = bos;
        engine_seq_clear(c, 0);
        if (engine_eval_from(c, 0, chunk, n_ctx, first, err) != 0) {
            free(chunk);
            return perr_prefix(err, "chunk %d", ci + 1);
        }
        /* Only the scored half needs logits. They are compared with the
         * original tokens (only token 0 became BOS). */
        const int32_t *orig = tokens + (size_t)ci * (size_t)n_ctx;
        for (int i = first; i < n_ctx - 1; i++) {
            double v = token_nll(engine_logits(c, i - first), n_vocab, orig[i + 1]);
            nll += v;
            nll2 += v * v;
            count++;
        }
        if (progress)
            progress(user, ci + 1, n_chunks, exp(nll / (double)count));
    }
    free(chunk);

    const double mean = nll / (double)count;
    double var = nll2 / (double)count - mean * mean;
    out->ppl = exp(mean);
    out->ppl_error = var > 0 && count > 1 ? sqrt(var / (double)(count - 1)) * out->ppl : 0.0;
    out->n_chunks = n_chunks;
    out->n_scored = count;
    engine_seq_clear(c, 0);
    return 0;
}
