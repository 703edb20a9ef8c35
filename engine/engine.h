/* engine.h — evaluation contexts: KV cache, sequences and the forward pass.
 *
 * An engine_ctx runs one model with a fixed number of sequence slots. Each
 * sequence has its own positions 0..n_ctx-1 and its own KV cells, so
 * independent conversations (or pipeline jobs) can share one context and a
 * computed prompt prefix can be copied from one slot to another.
 *
 * engine_eval() appends tokens to a sequence and runs the model over them;
 * logits are then read with engine_logits(). Evaluating past n_ctx is an
 * error (nothing is truncated or shifted). Tokens are processed in
 * micro-batches so every weight row is read once per batch.
 *
 * Numerics follow ggml's CPU path for llama: each matmul quantizes the
 * activation row to the weight type's vec_dot_type and uses that type's
 * vec_dot; K and V are cached as F16; the query is rounded to F16 for Q·K
 * and the softmax weights to F16 for the product with V (V stored
 * transposed, one F16 dot product per output element). Results are
 * identical for any thread count.
 */
#ifndef PRECIS_ENGINE_H
#define PRECIS_ENGINE_H

#include <stdint.h>

#include "common/error.h"
#include "engine/model.h"

typedef struct engine_ctx engine_ctx;

typedef struct engine_params {
    int n_ctx;      /* positions per sequence; 0 = the model's training context */
    int n_seq;      /* sequence slots; 0 = 1 */
    int n_threads;  /* 0 = 1 */
} engine_params;

typedef enum engine_logits_mode {
    ENGINE_LOGITS_NONE = 0, /* just fill the KV cache */
    ENGINE_LOGITS_LAST = 1, /* logits of the last token only: engine_logits(ctx, 0) */
    ENGINE_LOGITS_ALL = 2,  /* logits of every token: engine_logits(ctx, i), i < n */
    ENGINE_LOGITS_FROM = 3, /* engine_eval_batch only: logits of tokens logits_from..n-1 */
} engine_logits_mode;

int engine_ctx_new(engine_ctx **out, const model *m, const engine_params *p, perr *err);
void engine_ctx_free(engine_ctx *c);

int engine_n_ctx(const engine_ctx *c);
int engine_n_seq(const engine_ctx *c);
int engine_n_vocab(const engine_ctx *c);

/* Append n tokens to sequence seq (positions seq_pos..seq_pos+n-1). */
int engine_eval(engine_ctx *c, int seq, const int32_t *tokens, int n,
                engine_logits_mode mode, perr *err);

/* Like engine_eval, with logits for tokens logits_from..n-1 (0 = all,
 * n-1 = last, n = none); engine_logits(c, i) is then token logits_from+i. */
int engine_eval_from(engine_ctx *c, int seq, const int32_t *tokens, int n, int logits_from,
                     perr *err);

/* Several sequences evaluated together: each item appends its tokens to
 * its own sequence (positions seq_pos..seq_pos+n_tokens-1), and the tokens
 * of all items share the forward micro-batches, so every weight row is
 * read once for all of them (batched decoding). Results are bit-identical
 * to one engine_eval per item. An item's sequence may appear only once. */
typedef struct engine_batch_item {
    int seq;
    const int32_t *tokens;
    int n_tokens;
    engine_logits_mode logits;
    int logits_from;            /* ENGINE_LOGITS_FROM: 0..n_tokens (n_tokens = none) */
} engine_batch_item;

/* Evaluate n items. Logit rows are laid out in item order: item j's rows
 * (LAST: 1, ALL: n_tokens, NONE: 0, FROM: n_tokens - logits_from) follow
 * those of items 0..j-1, read with engine_logits(c, row). Only those rows
 * are computed (the output matmul over the vocabulary is the dearest part
 * of a small model's token). Nothing is evaluated when an item is invalid. */
int engine_eval_batch(engine_ctx *c, const engine_batch_item *items, size_t n, perr *err);

/* Row i of the last eval's logits (n_vocab floats), or NULL if not computed. */
const float *engine_logits(const engine_ctx *c, int i);

/* Number of tokens in a sequence's cache (= its next position). */
int engine_seq_len(const engine_ctx *c, int seq);
/* Forget every token of a sequence. */
void engine_seq_clear(engine_ctx *c, int seq);
/* Keep only the first n tokens of a sequence (n <= its length). */
int engine_seq_truncate(engine_ctx *c, int seq, int n, perr *err);
/* Make dst hold a copy of the first n tokens of src (dst's old cells dropped). */
int engine_seq_copy_prefix(engine_ctx *c, int src, int dst, int n, perr *err);

#endif
