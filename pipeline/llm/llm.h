/* llm.h — the pipeline's one language model: weights, vocabulary, chat
 * template and one engine context with n_parallel sequence slots (KV cache
 * of n_ctx positions each), loaded once per process and shared by every
 * job. llm_chat_many runs up to n_parallel answers at once (continuous
 * batching: each step evaluates all active sequences in one forward pass);
 * every call reuses the longest prompt prefix still in any slot's cache
 * (the chat template and instructions shared by calls of one prompt).
 * Calls are thread-safe: the calls of concurrent jobs join one continuous
 * batch (engine/generate_shared.h), served round-robin between callers, and
 * each answer is what the call would give alone.
 *
 * Identity recorded with every result: the model's name (GGUF general.name,
 * else the file's base name) and the SHA-256 of the whole file, computed
 * once at load (a few seconds for a multi-GB file).
 */
#ifndef PRECIS_LLM_H
#define PRECIS_LLM_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "engine/generate.h"
#include "engine/json/json_schema.h"
#include "engine/sampler.h"

typedef struct llm llm;

typedef struct llm_options {
    const char *model_path;     /* required */
    int n_ctx;                  /* <= 0 or above the model's: the model's training context */
    int n_threads;              /* <= 0: one per online CPU */
    const char *chat_template;  /* NULL or "auto": from the model; else llama2, llama3, chatml, zephyr */
    int n_parallel;             /* sequence slots (answers generated at once); <= 0: 1 */
    const char *pack_weights;   /* NULL or "auto", "on", "off": model_pack_weights (engine/model.h) */
    int no_draft;               /* 1: no prompt-lookup drafts (generate_params.no_draft; answers unchanged) */
} llm_options;

/* Models below this many parameters are test toys: their text means nothing. */
#define LLM_TOY_PARAMS 50000000LL

int llm_open(llm **out, const llm_options *opt, perr *err);
void llm_free(llm *m);

const char *llm_model_name(const llm *m);
const char *llm_model_sha256(const llm *m);
const char *llm_model_path(const llm *m);
const char *llm_chat_template_name(const llm *m);
int llm_n_ctx(const llm *m);
int llm_n_threads(const llm *m);
/* Sequence slots: answers generated at once. */
int llm_n_parallel(const llm *m);
/* Bytes of weights packed for batched decode (0: none). */
size_t llm_packed_bytes(const llm *m);
long long llm_n_params(const llm *m);
/* True for tiny test or random-weight models (fewer than LLM_TOY_PARAMS). */
int llm_is_toy(const llm *m);

/* Tokens of plain text (no BOS/EOS, no special tokens). */
int llm_count_tokens(const llm *m, const char *text, size_t len, size_t *n, perr *err);

/* Cut text into pieces of at most per_piece tokens each (tokenized once; an
 * over-long paragraph becomes pieces that fit): *pieces is a malloc'd array
 * of *n malloc'd strings whose tokens, in order, are text's. */
int llm_token_pieces(const llm *m, const char *text, size_t len, size_t per_piece, char ***pieces, size_t *n,
                     perr *err);

/* A system + user exchange formatted with the chat template and tokenized
 * (BOS as the vocabulary says; template markers as special tokens). */
int llm_chat_tokens(const llm *m, const char *system, const char *user, int32_t **ids, size_t *n,
                    perr *err);

/* Return non-zero to abandon a generation (shutdown). */
typedef int (*llm_cancel_fn)(void *ctx);

typedef struct llm_reply {
    char *text;                 /* the answer, surrounding whitespace removed (malloc'd) */
    long prompt_tokens, completion_tokens;
    long cached_tokens;         /* prompt tokens reused from the cache, not computed */
    double prompt_seconds, gen_seconds;
    generate_stop_reason reason;
} llm_reply;

enum { LLM_CANCELLED = -2 };

/* Generate the assistant's answer to a tokenized chat prompt: at most
 * max_tokens tokens, stopping at the template's end-of-turn. With a schema
 * (may be NULL) the answer is a complete JSON value of that schema
 * (constrained decoding; the model's vocabulary index is built once, at the
 * first such call), or the call fails. Returns 0, -1 (err) or
 * LLM_CANCELLED when cancel() asked to stop. */
int llm_chat(llm *m, const int32_t *ids, size_t n_ids, int max_tokens, const sampler_params *sp,
             const json_schema *schema, llm_cancel_fn cancel, void *cancel_ctx, llm_reply *out,
             perr *err);
void llm_reply_clear(llm_reply *r);

/* Drop every cached prompt prefix (benchmarks; answers do not change);
 * waits until no call runs. */
void llm_forget(llm *m);

/* What the model has done since load, for metrics and progress. */
typedef struct llm_totals {
    uint64_t passes;             /* forward passes */
    uint64_t sequences;          /* sequences evaluated in them (sequences / passes = batch occupancy) */
    uint64_t prompt_tokens;      /* of the model calls that ended: prompt tokens (computed or reused) */
    uint64_t generated_tokens;   /* of the model calls that ended: tokens generated */
    uint64_t cached_tokens;      /* of their prompt tokens, reused from a cached prefix */
    uint64_t calls;              /* model calls that ended */
    uint64_t draft_proposed;     /* of the model calls that ended: draft tokens evaluated to be verified */
    uint64_t draft_accepted;     /* of them, tokens the sampler then chose */
} llm_totals;

/* Thread-safe. */
void llm_get_totals(const llm *m, llm_totals *out);

/* One answer of a batch. */
typedef struct llm_chat_request {
    const int32_t *ids;         /* in: llm_chat_tokens() */
    size_t n_ids;
    int max_tokens;
    const sampler_params *sampling;
    const json_schema *schema;  /* may be NULL */
    int status;                 /* out: 0, or -1 with error */
    char error[PERR_MSG_MAX];
    llm_reply reply;            /* out when status is 0 (llm_reply_clear it) */
} llm_chat_request;

/* Answer every request, n_parallel at a time; each answer equals what
 * llm_chat gives for it alone. A request that fails (e.g. its schema
 * cannot be completed in max_tokens) does not stop the others. Returns 0,
 * -1 (engine error: err) or LLM_CANCELLED. */
int llm_chat_many(llm *m, llm_chat_request *reqs, size_t n, llm_cancel_fn cancel, void *cancel_ctx, perr *err);

#endif
