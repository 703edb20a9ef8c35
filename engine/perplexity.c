/* perplexity.c — chunked perplexity, llama.cpp's method (see perplexity.h). */
#include "engine/perplexity.h"

#include "engine/logit_norm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* -log p(tok) from logits and their normaliser. */
static double token_nll(const float *logits, const logit_row_norm *norm, int32_t tok)
{
    return -((double)(logits[tok] - norm->max) - norm->lse);
}

int perplexity_n_chunks(size_t n_tokens, int n_ctx, int max_chunks)
{
    size_t n = n_tokens / (size_t)n_ctx;
    if (max_chunks > 0 && n > (size_t)max_chunks)
        n = (size_t)max_chunks;
    return n > INT32_MAX ? INT32_MAX : (int)n;
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
    perplexity_hooks h = { .progress = progress, .user = user };
    return perplexity_run_chunks(c, tokens, perplexity_n_chunks(n_tokens, n_ctx, 0), n_ctx,
                                 bos, &h, out, err);
}

/* Scores one evaluated chunk: positions first..n_ctx-2 against the original
 * tokens (only token 0 became BOS). */
static int score_chunk(engine_ctx *c, const int32_t *orig, int n_ctx, const perplexity_hooks *h,
                       double *nll, double *nll2, int64_t *count, perr *err)
{
    const int n_vocab = engine_n_vocab(c);
    const int first = n_ctx / 2;
    for (int i = first; i < n_ctx - 1; i++) {
        const float *logits = engine_logits(c, i - first);
        const logit_row_norm norm = logit_norm(logits, n_vocab);
        double v = token_nll(logits, &norm, orig[i + 1]);
        *nll += v;
        *nll2 += v * v;
        (*count)++;
        if (h->token && h->token(h->user, logits, &norm, n_vocab, orig[i + 1], err) != 0)
            return -1;
    }
    return 0;
}

int perplexity_run_chunks(engine_ctx *c, const int32_t *tokens, int n_chunks, int n_ctx,
                          int32_t bos, const perplexity_hooks *h, perplexity_result *out,
                          perr *err)
{
    memset(out, 0, sizeof *out);
    if (n_ctx < 4 || n_ctx > engine_n_ctx(c))
        return perr_set(err, "perplexity context %d must be within [4, %d]", n_ctx,
                        engine_n_ctx(c));
    if (n_chunks < 1)
        return perr_set(err, "no chunk of %d tokens to score", n_ctx);
    const int first = n_ctx / 2;
    int32_t *chunk = malloc((size_t)n_ctx * sizeof *chunk);
    if (!chunk)
        return perr_set(err, "out of memory");

    double nll = 0.0, nll2 = 0.0;
    int64_t count = 0;
    for (int ci = 0; ci < n_chunks; ci++) {
        const int32_t *orig = tokens + (size_t)ci * (size_t)n_ctx;
        memcpy(chunk, orig, (size_t)n_ctx * sizeof *chunk);
        if (bos >= 0)
            chunk[0] = bos;
        engine_seq_clear(c, 0);
        /* Only the scored half needs logits. */
        if (engine_eval_from(c, 0, chunk, n_ctx, first, err) != 0 ||
            score_chunk(c, orig, n_ctx, h, &nll, &nll2, &count, err) != 0) {
            free(chunk);
            engine_seq_clear(c, 0);
            return perr_prefix(err, "chunk %d", ci + 1);
        }
        if (h->progress)
            h->progress(h->user, ci + 1, n_chunks, exp(nll / (double)count));
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
