/* gen_chain.h — multi-token steps: what one forward pass appends to a
 * generation's sequence.
 *
 * After a token `next` is sampled, the pass that evaluates it may carry
 * more tokens behind it: the chain [next, f1..fk, d1..dm].
 *
 *   - f1..fk are forced (jump-forward): the JSON constraint allows only one
 *     token after next, then only one after that, ... (gen_seq_forced).
 *     They are taken as generated tokens right away, without logits; when
 *     the value must end, the generation ends with its EOG token and the
 *     chain is not evaluated at all.
 *   - d1..dm are drafts (engine/draft.h): guesses from the sequence's own
 *     history. The pass computes logits only from fk (or next) on; then
 *     gen_chain_verify samples from those rows in order, exactly as one
 *     token per pass would: a sample equal to the next draft accepts it,
 *     the first other sample becomes the next `next`, and the KV cache is
 *     truncated to the accepted tokens.
 *
 * The sampler and constraint see the same tokens in the same order with
 * the same logits (evaluating several tokens is bit-identical to one at a
 * time), so the tokens and text are those of one token per pass. Without
 * forced tokens or drafts the chain is [next] with the last row's logits:
 * the pass is exactly a plain decoding step.
 */
#ifndef PRECIS_GEN_CHAIN_H
#define PRECIS_GEN_CHAIN_H

#include <stdint.h>

#include "common/error.h"
#include "engine/draft.h"
#include "engine/engine.h"
#include "engine/gen_seq.h"

enum {
    GEN_CHAIN_FORCED_MAX = 32,   /* forced tokens per pass at most (more go in later passes) */
    GEN_CHAIN_MAX = 1 + GEN_CHAIN_FORCED_MAX + DRAFT_MAX,
};

typedef struct gen_chain {
    int32_t tok[GEN_CHAIN_MAX];  /* next, forced tokens, drafts */
    int n;                       /* tokens to evaluate */
    int n_draft;                 /* the last n_draft of them are drafts */
    int draft_limit;             /* set by the driver: drafts a chain may carry at most (DRAFT_MAX) */
    /* How drafts have fared: the cap doubles while whole drafts are
     * accepted and drops to one more than the accepted part of a rejected
     * one; a draft rejected outright pauses drafting for 1, 2, 4 ... 16
     * chains (a generation that never repeats its prompt pays for one
     * draft token now and then, at most). */
    int draft_cap, draft_pause, draft_backoff;
} gen_chain;

/* A generation's first chain: nothing pending (its prompt's last row is
 * the one to sample from). */
void gen_chain_init(gen_chain *ch);

/* Index of the first chain token whose logits verification needs (its
 * last forced token, or next). */
int gen_chain_logits_from(const gen_chain *ch);

/* After the pass that evaluated the chain (or the prompt) into sequence
 * seq of c, with its rows at engine_logits(c, first_row ..): sample from
 * them in order with gen_seq_step (drafts accepted while they match),
 * truncate seq's KV cache to the tokens kept, and set *next to the token to
 * evaluate next, or *done = 1. Counts drafts in g->res. */
int gen_chain_verify(gen_chain *ch, gen_seq *g, engine_ctx *c, int seq, int first_row, int32_t *next, int *done,
                     perr *err);

/* Build the chain of next for sequence seq (holding held tokens in a
 * context of n_ctx): next, then the forced tokens (taken into g), then
 * drafts (unless g's params say no_draft). *done = 1 when the generation
 * ended on a forced token: nothing is to be evaluated. */
int gen_chain_build(gen_chain *ch, gen_seq *g, int32_t next, int held, int n_ctx, int *done, perr *err);

#endif
