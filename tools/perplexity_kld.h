/* perplexity_kld.h — `precis perplexity --kl-divergence-base`: write a run's
 * log-probabilities as llama.cpp's base file, or compare a run with one and
 * print llama.cpp's KL-divergence statistics. */
#ifndef PRECIS_PERPLEXITY_KLD_H
#define PRECIS_PERPLEXITY_KLD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"
#include "engine/engine.h"
#include "engine/perplexity.h"

/* Perplexity over the first n_chunks chunks of ids (progress as
 * `[i]ppl,` on out) writing every scored token's record to path. */
int ppl_write_base(engine_ctx *ctx, const int32_t *ids, int n_chunks, int n_ctx, int32_t bos,
                   const char *path, FILE *out, perplexity_result *r, perr *err);

/* The model (m, n_threads) over the tokens of the base file at path, in its
 * chunks, compared token by token; prints llama.cpp's table and statistics
 * on out. max_chunks > 0 stops after that many chunks; n_ctx > 0 must equal
 * the file's. */
int ppl_compare_base(const model *m, int32_t bos, const char *path, int n_ctx, int max_chunks,
                     int n_threads, FILE *out, perr *err);

#endif
