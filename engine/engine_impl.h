/* engine_impl.h — the engine context's private layout, shared by engine.c
 * (context, sequences, KV cache bookkeeping) and forward.c (the maths).
 * Nothing outside engine/engine.c and engine/forward.c includes this.
 */
#ifndef PRECIS_ENGINE_IMPL_H
#define PRECIS_ENGINE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "engine/kernels/kernels.h"
#include "engine/threadpool.h"

/* Tokens per forward micro-batch: every weight row is read once per batch. */
#define ENGINE_UBATCH 256

/* One micro-batch: token i sits at position pos[i] of sequence seq[i]; when
 * logits[i] is non-NULL the model's output for it is written there. */
typedef struct engine_ubatch {
    int n;
    int32_t token[ENGINE_UBATCH];
    int pos[ENGINE_UBATCH];
    int seq[ENGINE_UBATCH];
    float *logits[ENGINE_UBATCH];
} engine_ubatch;

/* Per-thread scratch: attention's, for the query heads of one KV head,
 * and the tile kernels' work area (see vec_dot_tile in tensor_types.h),
 * which would not fit on a thread's stack. */
typedef struct thread_scratch {
    float *scores;      /* [n_rep][n_ctx] scores, then softmax weights */
    uint16_t *w16;      /* [n_ctx] one head's weights as F16 */
    uint16_t *q16;      /* [n_rep * head_dim] queries as F16 */
    float *qf;          /* [n_rep * head_dim] queries rounded to F16 values */
    void *tile;         /* tile_bytes, 64-byte aligned (NULL if 0) */
} thread_scratch;

struct engine_ctx {
    const model *m;
    int n_ctx;
    int n_seq;
    threadpool *pool;

    /* KV cache, F16. K transposed: [n_layer][n_seq][n_embd_kv][n_ctx] (a
     * row of positions per dimension); V: [n_layer][n_seq][n_ctx][n_embd_kv]
     * (a row per position). Both attention steps then stream rows against
     * broadcast queries or weights (see attn_kernels in kernels.h). */
    uint16_t *k_cache;
    uint16_t *v_cache;
    int *seq_len;
    const attn_kernels *attn_ops; /* attention kernels for this CPU */
    const vec_kernels *vec_ops;   /* element-wise kernels for this CPU */
    const type_traits *f16;       /* F16 conversions, for the cache */

    /* Activations of one micro-batch, row-major [token][...]. */
    float *x;        /* residual stream [UBATCH][n_embd] */
    float *xb;       /* normed input    [UBATCH][n_embd] */
    float *q;        /* [UBATCH][n_embd] */
    float *k;        /* [UBATCH][n_embd_kv] */
    float *v;        /* [UBATCH][n_embd_kv] */
    float *attn;     /* attention output [UBATCH][n_embd] */
    float *proj;     /* matmul output [UBATCH][n_embd] */
    float *gate;     /* [UBATCH][n_ff] */
    float *up;       /* [UBATCH][n_ff] */
    float *rope_cs;  /* [UBATCH][n_rot] cos,sin pairs */
    void *xq;        /* activations converted to a vec_dot_type */
    size_t xq_row_cap;
    thread_scratch *scratch; /* one per thread */
    size_t tile_bytes;       /* each thread's tile scratch: the most any
                                matmul of the model needs for ENGINE_UBATCH
                                activation rows */

    /* Output of the last engine_eval. */
    float *logits;
    int64_t logits_cap;   /* rows allocated */
    int n_logits;         /* rows valid */
};

/* forward.c: run the model over one micro-batch (inputs already valid). */
void engine_forward(engine_ctx *c, const engine_ubatch *b);

/* Index helpers for the KV cache: K's row of positions for one dimension,
 * V's row of dimensions for one position. */
static inline uint16_t *kv_k_dim(const engine_ctx *c, int64_t layer, int seq, int64_t dim)
{
    int64_t kv = c->m->hp.n_embd_kv;
    return c->k_cache + ((layer * c->n_seq + seq) * kv + dim) * (int64_t)c->n_ctx;
}

static inline uint16_t *kv_v_row(const engine_ctx *c, int64_t layer, int seq, int pos)
{
    int64_t kv = c->m->hp.n_embd_kv;
    return c->v_cache + ((layer * c->n_seq + seq) * (int64_t)c->n_ctx + pos) * kv;
}

/* cos/sin pairs of one position (forward.c); exposed for tests. */
void engine_rope_table(float *cs, int pos, const model_hparams *hp);

#endif
