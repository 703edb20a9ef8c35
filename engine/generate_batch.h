/* generate_batch.h — continuous batching: many generations share one
 * engine context, each in its own sequence slot, and every step evaluates
 * all active sequences in ONE forward pass (engine_eval_batch), so each
 * weight row is read once per step for all of them. When a generation ends
 * its slot takes the next waiting request at once; its prompt is evaluated
 * in the same pass as the others' next tokens.
 *
 * A step may append several tokens of one sequence (engine/gen_chain.h:
 * the sampled token, tokens a JSON schema forces, drafts to verify); its
 * logits are computed only for the rows verification reads.
 *
 * Shared prefixes: a slot remembers the tokens in its KV cache (rejected
 * drafts are cut from both), also between runs (a generate_batcher lives as
 * long as its context). A new prompt first copies the longest prefix it
 * shares with any slot's tokens (engine_seq_copy_prefix; the chat template
 * and instructions of prompts built from one template) and evaluates only
 * the rest. A prompt that
 * shares much more with a prompt still being evaluated waits one pass for
 * it, so prompts of one template started together compute their common
 * part once.
 *
 * Every request's text and result are exactly those of generate_run on the
 * same prompt with the same parameters (engine_eval_batch is bit-identical
 * to single evaluation, and each request has its own sampler and seed),
 * apart from the pass and draft counts: the sequences of a pass share its
 * draft tokens.
 */
#ifndef PRECIS_GENERATE_BATCH_H
#define PRECIS_GENERATE_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "engine/generate.h"

typedef struct generate_request {
    /* in */
    const int32_t *prompt;
    size_t n_prompt;
    const generate_params *params;     /* stop strings and JSON schema work as in generate_run */
    /* out */
    int status;                         /* 0 ok, -1 failed (error says why) */
    char error[PERR_MSG_MAX];
    char *text;                         /* generated text (malloc'd; free it), stop string excluded */
    generate_result result;
    int n_reused;                       /* prompt tokens whose KV was copied, not computed */
} generate_request;

typedef struct generate_batch_stats {
    int steps;                          /* forward passes */
    long tokens_evaluated;              /* prompt + generated tokens run through the model */
    long tokens_reused;                 /* prompt tokens copied from a shared prefix */
    int max_active;                     /* most sequences in one pass */
    long tokens_generated;              /* of the requests that ended: tokens sampled or forced */
    long draft_proposed, draft_accepted; /* of the requests that ended: draft tokens (gen_chain.h) */
} generate_batch_stats;

/* Return non-zero to abandon the whole batch (shutdown). */
typedef int (*generate_cancel_fn)(void *ctx);

typedef struct generate_batcher generate_batcher;

/* A batcher owns the use of all of c's sequence slots (nobody else may
 * evaluate in c while it exists); c and tok must outlive it. */
int generate_batcher_new(generate_batcher **out, engine_ctx *c, const tokenizer *tok, perr *err);
void generate_batcher_free(generate_batcher *b);

/* Forget what every slot caches (the next prompts are computed in full). */
void generate_batcher_forget(generate_batcher *b);

/* Run every request. A request that fails (bad prompt, schema cannot
 * complete) gets status -1 and does not stop the others. Returns 0, -1 on
 * an engine error (err; every slot is then forgotten), or 1 when cancel()
 * asked to stop (unfinished requests have status -1, "cancelled"). stats
 * (may be NULL) counts this run only. */
int generate_batcher_run(generate_batcher *b, generate_request *reqs, size_t n, generate_cancel_fn cancel,
                         void *cancel_ctx, generate_batch_stats *stats, perr *err);

/* Where a run takes its requests from, for callers that feed a batcher
 * while it runs (engine/generate_shared.h). Every function is called from
 * the thread running the batcher, in this order per request: peek (maybe
 * several times), take, finished. */
typedef struct generate_source {
    /* The next request to start, not yet taken; NULL: none waiting now. */
    generate_request *(*peek)(void *ctx);
    /* Take the request the last peek returned. */
    void (*take)(void *ctx);
    /* r, taken earlier, has ended (status, error, text and result final). */
    void (*finished)(void *ctx, generate_request *r);
    /* Optional: non-zero ends running request r as "cancelled" before the next pass. */
    int (*abandon)(void *ctx, const generate_request *r);
    /* Optional: a forward pass evaluated n_sequences sequences. */
    void (*pass)(void *ctx, int n_sequences);
    /* Optional: the engine failed with msg; every running and waiting
     * request is about to end with it. */
    void (*engine_error)(void *ctx, const char *msg);
    void *ctx;
} generate_source;

/* Run requests from src until nothing runs and src has none waiting. The
 * requests must be reset (generate_request_reset) before they are handed
 * out. Returns as generate_batcher_run: 0, -1 on an engine error (every
 * running and waiting request ends with it), 1 when cancel() asked to stop
 * (every running and waiting request ends "cancelled"). */
int generate_batcher_run_source(generate_batcher *b, const generate_source *src, generate_cancel_fn cancel,
                                void *cancel_ctx, generate_batch_stats *stats, perr *err);

/* One run on a fresh batcher (no prefix carried over from earlier runs). */
int generate_batch_run(engine_ctx *c, const tokenizer *tok, generate_request *reqs, size_t n,
                       generate_cancel_fn cancel, void *cancel_ctx, generate_batch_stats *stats, perr *err);

/* The out fields as a run starts: status -1, no error, no text. */
void generate_request_reset(generate_request *r);
void generate_request_clear(generate_request *r);

#endif
