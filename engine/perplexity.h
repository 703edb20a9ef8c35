/* perplexity.h — perplexity of a token stream, computed as llama.cpp's
 * perplexity tool does.
 *
 * The tokens are cut into n_chunks = n_tokens / n_ctx chunks of n_ctx
 * tokens (the remainder is ignored). Each chunk is evaluated from an empty
 * cache with its first token replaced by BOS (when the vocabulary adds
 * BOS); only the second half is scored: for i in [n_ctx/2, n_ctx-1) the
 * negative log-likelihood of token i+1 under the logits of token i
 * (log-softmax with the sum in double). PPL = exp(mean nll). Like llama.cpp
 * it needs at least 2*n_ctx tokens.
 */
#ifndef PRECIS_PERPLEXITY_H
#define PRECIS_PERPLEXITY_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "engine/logit_norm.h"
#include "engine/engine.h"

typedef struct perplexity_result {
    double ppl;          /* exp(mean nll) */
    double ppl_error;    /* standard error of ppl, as llama.cpp prints it */
    int n_chunks;
    int64_t n_scored;    /* tokens scored */
} perplexity_result;

/* Called after every chunk with the running estimate. */
typedef void (*perplexity_progress_fn)(void *user, int chunk, int n_chunks, double ppl);

/* Called for every scored token, chunk by chunk in order: the logits of a
 * position, their normaliser (logit_norm.h, already computed for the
 * perplexity) and the token that follows it. A non-zero return (with err
 * set) stops the run. */
typedef int (*perplexity_token_fn)(void *user, const float *logits, const logit_row_norm *norm,
                                   int n_vocab, int32_t next, perr *err);

typedef struct perplexity_hooks {
    perplexity_progress_fn progress; /* may be NULL */
    perplexity_token_fn token;       /* may be NULL */
    void *user;
} perplexity_hooks;

/* Uses sequence 0 of c (cleared). n_ctx <= engine_n_ctx(c). bos < 0: keep
 * each chunk's first token. */
int perplexity_run(engine_ctx *c, const int32_t *tokens, size_t n_tokens, int n_ctx,
                   int32_t bos, perplexity_progress_fn progress, void *user,
                   perplexity_result *out, perr *err);

/* Chunks a text of n_tokens gives: n_tokens / n_ctx, at most max_chunks
 * (max_chunks <= 0: no limit). */
int perplexity_n_chunks(size_t n_tokens, int n_ctx, int max_chunks);

/* Exactly n_chunks chunks of tokens (n_chunks * n_ctx of them, n_chunks >=
 * 1, no 2 x n_ctx minimum), with the hooks. */
int perplexity_run_chunks(engine_ctx *c, const int32_t *tokens, int n_chunks, int n_ctx,
                          int32_t bos, const perplexity_hooks *hooks, perplexity_result *out,
                          perr *err);

#endif
