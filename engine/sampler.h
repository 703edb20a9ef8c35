/* sampler.h — choosing the next token from logits.
 *
 * Semantics follow llama.cpp's default sampler chain: repetition penalty
 * over the last N accepted tokens (a positive logit is divided by the
 * penalty, a negative one multiplied), then top-k, top-p and min-p on the
 * untempered distribution, then temperature and a draw from the remaining
 * candidates. temp <= 0 means greedy (argmax after the penalty; the lowest
 * id wins a tie). Each sampler has its own random generator (engine/rng.h:
 * xoshiro256** seeded through splitmix64): the same seed gives the same tokens.
 */
#ifndef PRECIS_SAMPLER_H
#define PRECIS_SAMPLER_H

#include <stdint.h>

#include "common/error.h"

typedef struct sampler_params {
    float temp;            /* <= 0: greedy */
    int top_k;             /* <= 0: off */
    float top_p;           /* >= 1: off */
    float min_p;           /* <= 0: off */
    float repeat_penalty;  /* 1: off */
    int repeat_last_n;     /* tokens of history the penalty looks at */
    uint64_t seed;
} sampler_params;

/* llama.cpp's defaults: temp 0.8, top-k 40, top-p 0.95, min-p 0.05,
 * repeat penalty 1.0 (off) over the last 64 tokens, seed 0. */
sampler_params sampler_default_params(void);

typedef struct sampler sampler;

int sampler_new(sampler **out, const sampler_params *p, int n_vocab, perr *err);
void sampler_free(sampler *s);

/* Record a token (prompt or generated) for the repetition penalty. */
void sampler_accept(sampler *s, int32_t token);
/* Pick a token from n_vocab logits (not modified). */
int32_t sampler_sample(sampler *s, const float *logits);

/* A constraint on the next token (e.g. engine/json/json_constraint.h): allow()
 * tests one token; mask() sets mask[0..n_vocab) to 1 for allowed tokens
 * and 0 for the others and returns how many are allowed. */
typedef struct sampler_filter {
    void *user;
    int (*allow)(void *user, int32_t id);
    int (*mask)(void *user, uint8_t *mask);
} sampler_filter;

/* sampler_sample() restricted to allowed tokens: greedy picks the best
 * allowed token; sampling runs top-k/top-p/min-p/temperature over the
 * allowed tokens only. Candidates are tested best first, so allow() is
 * usually called a few times; mask() when that is not enough. Returns -1
 * when no token is allowed.
 *
 * A single candidate draws no random number: when the filter leaves one
 * token (or top-k 1 leaves one of the allowed ones), it is returned at any
 * temperature without touching the generator. So a step whose token is
 * forced (json_constraint_forced) consumes nothing, and a decoding loop
 * that appends forced tokens without calling the sampler gives the same
 * tokens, seed for seed, as one that samples every step. (sampler_sample
 * has no filter and always draws at temp > 0; its single-candidate cases,
 * top-k 1 or a one-token vocabulary, give the same token either way.) */
int32_t sampler_sample_filtered(sampler *s, const float *logits, const sampler_filter *f);

/* Index of the largest logit (lowest index on ties). */
int32_t sampler_argmax(const float *logits, int n);

#endif
