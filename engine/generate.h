/* generate.h — the text generation loop shared by the CLI and the pipeline.
 *
 * generate_run() evaluates a tokenized prompt in one sequence of an engine
 * context, then samples tokens one at a time until n_predict tokens, an
 * end-of-generation token (tokenizer_is_eog), a stop string or the end of
 * the context. Generated text is handed to an `emit` callback as soon as it
 * can no longer turn into a stop string; a stop string itself is never
 * emitted. Text is the concatenation of the tokens' pieces; when the prompt
 * renders to nothing (just BOS) the first piece loses its leading space, as
 * SentencePiece's decoder does.
 *
 * A forward pass may append several tokens (engine/gen_chain.h): the
 * sampled one, the tokens a JSON schema forces after it, and drafts guessed
 * from the prompt that the next samples verify. The tokens and text are
 * exactly those of one token per pass, greedy or seeded.
 */
#ifndef PRECIS_GENERATE_H
#define PRECIS_GENERATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "engine/engine.h"
#include "engine/json/json_constraint.h"
#include "engine/sampler.h"
#include "engine/tokenizer/tokenizer.h"

typedef struct generate_params {
    int n_predict;              /* new tokens at most; < 0 = until the context is full */
    sampler_params sampling;
    const char *const *stop;    /* stop strings (may be NULL) */
    size_t n_stop;
    /* Constrained decoding (engine/json/json_schema.h): the text is a JSON value
     * of this schema, closed in time for n_predict and the context, then
     * EOS. A run that ends before the value is complete (a stop string,
     * n_predict too small for the schema) fails. NULL = off. */
    const json_schema *json_schema;
    const json_vocab *json_vocab; /* the tokenizer's index; NULL = built per run */
    /* Multi-token steps (engine/gen_chain.h); the tokens and text are the
     * same with or without them, only the forward passes differ. */
    int no_draft;               /* 1: no prompt-lookup drafts */
    int no_jump_forward;        /* 1: tokens the JSON schema forces get a pass each */
} generate_params;

typedef enum generate_stop_reason {
    GENERATE_STOP_LENGTH = 0,   /* n_predict tokens generated */
    GENERATE_STOP_EOG = 1,      /* end-of-generation token */
    GENERATE_STOP_STRING = 2,   /* a stop string appeared */
    GENERATE_STOP_CONTEXT = 3,  /* the sequence filled the context */
    GENERATE_STOP_CALLER = 4,   /* emit returned non-zero */
} generate_stop_reason;

typedef struct generate_result {
    int n_prompt;
    int n_generated;            /* tokens sampled or forced (including a final EOG token) */
    generate_stop_reason reason;
    int n_passes;               /* forward passes that evaluated its tokens, the prompt's included */
    int n_draft_proposed;       /* draft tokens evaluated to be verified */
    int n_draft_accepted;       /* of them, tokens the sampler then chose */
    int n_forced;               /* tokens the JSON schema forced, taken without sampling (jump-forward) */
    double prompt_seconds;      /* wall time evaluating the prompt */
    double gen_seconds;         /* wall time of the generation steps */
} generate_result;

/* Receives text as it becomes final; return non-zero to stop early. */
typedef int (*generate_emit_fn)(void *user, const char *text, size_t len);

/* The prompt goes into sequence seq, which is cleared first. */
int generate_run(engine_ctx *c, int seq, const tokenizer *tok, const int32_t *prompt,
                 size_t n_prompt, const generate_params *p, generate_emit_fn emit, void *user,
                 generate_result *res, perr *err);

/* Convenience: tokenize text (BOS/EOS per the vocabulary's flags) for a prompt. */
int generate_tokenize_prompt(const tokenizer *tok, const char *text, size_t len, int32_t **ids,
                             size_t *n_ids, perr *err);

const char *generate_stop_reason_name(generate_stop_reason r);

#endif
