/* engine.c — evaluation contexts: allocation, sequences, KV bookkeeping and
 * splitting an eval into micro-batches for forward.c (see engine.h). */
#include "engine/engine_impl.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/tensor_types.h"

#define MAX_CTX (1 << 20)
#define MAX_SEQ 4096

/* The weight matrices of layer il, or (il < 0) the output matrix, into
 * ts; returns how many. */
static int layer_matrices(const model *m, int64_t il, const gguf_tensor *ts[7])
{
    if (il < 0) {
        ts[0] = m->output;
        return 1;
    }
    const model_layer *l = &m->layers[il];
    ts[0] = l->wq; ts[1] = l->wk; ts[2] = l->wv; ts[3] = l->wo;
    ts[4] = l->ffn_gate; ts[5] = l->ffn_up; ts[6] = l->ffn_down;
    return 7;
}

/* What the matmuls of m need at most: the largest activation row (in its
 * vec_dot_type) and the largest tile-kernel scratch (a micro-batch has at
 * most ENGINE_UBATCH activation rows). */
typedef struct matmul_needs {
    size_t xq_row, tile_scratch;
} matmul_needs;

static matmul_needs max_matmul_needs(const model *m)
{
    matmul_needs need = {0, 0};
    const gguf_tensor *ts[7];
    for (int64_t il = -1; il < m->hp.n_layer; il++) {
        const int n = layer_matrices(m, il, ts);
        for (int i = 0; i < n; i++) {
            const type_traits *tr = tensor_types_get(ts[i]->type);
            size_t row = tensor_row_size(tr->vec_dot_type, ts[i]->ne[0]);
            size_t tile = tr->vec_dot_tile ? tr->vec_dot_tile_scratch(ts[i]->ne[0], ENGINE_UBATCH) : 0;
            if (row > need.xq_row)
                need.xq_row = row;
            if (tile > need.tile_scratch)
                need.tile_scratch = tile;
        }
    }
    return need;
}

/* size bytes (> 0) at a 64-byte boundary, zeroed; NULL for 0. */
static void *alloc_aligned(size_t size, int *failed)
{
    void *p = NULL;
    if (size == 0)
        return NULL;
    if (posix_memalign(&p, 64, size) != 0) {
        *failed = 1;
        return NULL;
    }
    return memset(p, 0, size);
}

static void *alloc_array(size_t n, size_t size, int *failed)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        *failed = 1;
    return p;
}

static int alloc_buffers(engine_ctx *c, perr *err)
{
    const model_hparams *hp = &c->m->hp;
    const size_t U = ENGINE_UBATCH;
    const size_t kv_cells = (size_t)hp->n_layer * (size_t)c->n_seq * (size_t)c->n_ctx;
    int failed = 0;
    if (kv_cells > SIZE_MAX / 4 / (size_t)hp->n_embd_kv)
        return perr_set(err, "KV cache of %d sequences x %d positions is too large",
                        c->n_seq, c->n_ctx);
    c->k_cache = alloc_array(kv_cells * (size_t)hp->n_embd_kv, sizeof(uint16_t), &failed);
    c->v_cache = alloc_array(kv_cells * (size_t)hp->n_embd_kv, sizeof(uint16_t), &failed);
    c->seq_len = alloc_array((size_t)c->n_seq, sizeof(int), &failed);
    c->x = alloc_array(U * (size_t)hp->n_embd, sizeof(float), &failed);
    c->xb = alloc_array(U * (size_t)hp->n_embd, sizeof(float), &failed);
    c->q = alloc_array(U * (size_t)hp->n_embd, sizeof(float), &failed);
    c->k = alloc_array(U * (size_t)hp->n_embd_kv, sizeof(float), &failed);
    c->v = alloc_array(U * (size_t)hp->n_embd_kv, sizeof(float), &failed);
    c->attn = alloc_array(U * (size_t)hp->n_embd, sizeof(float), &failed);
    c->proj = alloc_array(U * (size_t)hp->n_embd, sizeof(float), &failed);
    c->gate = alloc_array(U * (size_t)hp->n_ff, sizeof(float), &failed);
    c->up = alloc_array(U * (size_t)hp->n_ff, sizeof(float), &failed);
    c->rope_cs = alloc_array(U * (size_t)hp->n_rot, sizeof(float), &failed);
    matmul_needs need = max_matmul_needs(c->m);
    c->xq_row_cap = need.xq_row;
    c->xq = alloc_array(U, c->xq_row_cap, &failed);
    c->tile_bytes = need.tile_scratch;
    int n_threads = threadpool_size(c->pool);
    c->scratch = alloc_array((size_t)n_threads, sizeof *c->scratch, &failed);
    for (int i = 0; !failed && i < n_threads; i++) {
        const size_t n_rep = (size_t)(hp->n_head / hp->n_head_kv);
        c->scratch[i].scores = alloc_array(n_rep * (size_t)c->n_ctx, sizeof(float), &failed);
        c->scratch[i].w16 = alloc_array((size_t)c->n_ctx, sizeof(uint16_t), &failed);
        c->scratch[i].q16 = alloc_array(n_rep * (size_t)hp->head_dim, sizeof(uint16_t), &failed);
        c->scratch[i].qf = alloc_array(n_rep * (size_t)hp->head_dim, sizeof(float), &failed);
        c->scratch[i].tile = alloc_aligned(c->tile_bytes, &failed);
    }
    if (failed)
        return perr_set(err, "out of memory allocating the engine context "
                        "(%d sequences x %d positions)", c->n_seq, c->n_ctx);
    return 0;
}

int engine_ctx_new(engine_ctx **out, const model *m, const engine_params *p, perr *err)
{
    *out = NULL;
    int n_ctx = p && p->n_ctx > 0 ? p->n_ctx : (int)(m->hp.n_ctx_train < MAX_CTX ? m->hp.n_ctx_train : MAX_CTX);
    int n_seq = p && p->n_seq > 0 ? p->n_seq : 1;
    int n_threads = p && p->n_threads > 0 ? p->n_threads : 1;
    if (n_ctx > MAX_CTX)
        return perr_set(err, "context size %d is too large (max %d)", n_ctx, MAX_CTX);
    if (n_seq > MAX_SEQ)
        return perr_set(err, "%d sequences is too many (max %d)", n_seq, MAX_SEQ);
    engine_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return perr_set(err, "out of memory");
    c->m = m;
    c->n_ctx = n_ctx;
    c->n_seq = n_seq;
    c->attn_ops = kernels_attn();
    c->vec_ops = kernels_vec();
    c->f16 = tensor_types_get(TT_F16);
    if (threadpool_new(&c->pool, n_threads, err) != 0 || alloc_buffers(c, err) != 0) {
        engine_ctx_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

void engine_ctx_free(engine_ctx *c)
{
    if (!c)
        return;
    if (c->scratch) {
        for (int i = 0; i < threadpool_size(c->pool); i++) {
            free(c->scratch[i].scores);
            free(c->scratch[i].w16);
            free(c->scratch[i].q16);
            free(c->scratch[i].qf);
            free(c->scratch[i].tile);
        }
    }
    threadpool_free(c->pool);
    free(c->scratch);
    free(c->k_cache);
    free(c->v_cache);
    free(c->seq_len);
    free(c->x);
    free(c->xb);
    free(c->q);
    free(c->k);
    free(c->v);
    free(c->attn);
    free(c->proj);
    free(c->gate);
    free(c->up);
    free(c->rope_cs);
    free(c->xq);
    free(c->logits);
    free(c);
}

int engine_n_ctx(const engine_ctx *c) { return c->n_ctx; }
int engine_n_seq(const engine_ctx *c) { return c->n_seq; }
int engine_n_vocab(const engine_ctx *c) { return (int)c->m->hp.n_vocab; }

static int check_seq(const engine_ctx *c, int seq, perr *err)
{
    if (seq < 0 || seq >= c->n_seq)
        return perr_set(err, "sequence %d does not exist (context has %d)", seq, c->n_seq);
    return 0;
}

static int reserve_logits(engine_ctx *c, int64_t rows, perr *err)
{
    if (rows <= c->logits_cap)
        return 0;
    float *p = realloc(c->logits, (size_t)rows * (size_t)c->m->hp.n_vocab * sizeof(float));
    if (!p)
        return perr_set(err, "out of memory for %lld rows of logits", (long long)rows);
    c->logits = p;
    c->logits_cap = rows;
    return 0;
}

static int check_eval_args(const engine_ctx *c, int seq, const int32_t *tokens, int n,
                           perr *err)
{
    if (check_seq(c, seq, err) != 0)
        return -1;
    if (n < 1 || !tokens)
        return perr_set(err, "nothing to evaluate (no tokens)");
    if (n > c->n_ctx - c->seq_len[seq])
        return perr_set(err, "%d tokens do not fit in the context: sequence %d already holds "
                        "%d of %d positions", n, seq, c->seq_len[seq], c->n_ctx);
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= c->m->hp.n_vocab)
            return perr_set(err, "token id %d at index %d is outside the vocabulary (0..%lld)",
                            (int)tokens[i], i, (long long)c->m->hp.n_vocab - 1);
    return 0;
}

int engine_eval_from(engine_ctx *c, int seq, const int32_t *tokens, int n, int logits_from,
                     perr *err)
{
    c->n_logits = 0;
    if (check_eval_args(c, seq, tokens, n, err) != 0)
        return -1;
    if (logits_from < 0 || logits_from > n)
        return perr_set(err, "logits wanted from token %d of %d", logits_from, n);
    if (reserve_logits(c, n - logits_from, err) != 0)
        return -1;

    const int64_t n_vocab = c->m->hp.n_vocab;
    engine_ubatch b;
    for (int start = 0; start < n; start += ENGINE_UBATCH) {
        b.n = n - start < ENGINE_UBATCH ? n - start : ENGINE_UBATCH;
        for (int t = 0; t < b.n; t++) {
            int i = start + t;
            b.token[t] = tokens[i];
            b.pos[t] = c->seq_len[seq] + i;
            b.seq[t] = seq;
            b.logits[t] = i >= logits_from ? c->logits + (int64_t)(i - logits_from) * n_vocab
                                           : NULL;
        }
        engine_forward(c, &b);
    }
    c->seq_len[seq] += n;
    c->n_logits = n - logits_from;
    return 0;
}

int engine_eval(engine_ctx *c, int seq, const int32_t *tokens, int n,
                engine_logits_mode mode, perr *err)
{
    if (mode == ENGINE_LOGITS_FROM)
        return perr_set(err, "engine_eval takes no ENGINE_LOGITS_FROM (engine_eval_from does)");
    int from = mode == ENGINE_LOGITS_ALL ? 0 : mode == ENGINE_LOGITS_LAST ? n - 1 : n;
    return engine_eval_from(c, seq, tokens, n, from < 0 ? 0 : from, err);
}

/* Logit rows an item wants, and the index of its first token with logits. */
static int item_logits_from(const engine_batch_item *it)
{
    if (it->logits == ENGINE_LOGITS_FROM)
        return it->logits_from;
    if (it->logits == ENGINE_LOGITS_ALL)
        return 0;
    return it->logits == ENGINE_LOGITS_LAST ? it->n_tokens - 1 : it->n_tokens;
}

static int check_batch(const engine_ctx *c, const engine_batch_item *items, size_t n,
                       int64_t *rows, perr *err)
{
    *rows = 0;
    if (n < 1 || !items)
        return perr_set(err, "nothing to evaluate (no sequences)");
    if (n > (size_t)c->n_seq)
        return perr_set(err, "%zu batch items for %d sequences: a sequence repeats", n,
                        c->n_seq);
    for (size_t j = 0; j < n; j++) {
        const engine_batch_item *it = &items[j];
        if (check_eval_args(c, it->seq, it->tokens, it->n_tokens, err) != 0)
            return perr_prefix(err, "batch item %zu", j);
        if (it->logits != ENGINE_LOGITS_NONE && it->logits != ENGINE_LOGITS_LAST &&
            it->logits != ENGINE_LOGITS_ALL && it->logits != ENGINE_LOGITS_FROM)
            return perr_set(err, "batch item %zu: unknown logits mode %d", j, (int)it->logits);
        if (it->logits == ENGINE_LOGITS_FROM && (it->logits_from < 0 || it->logits_from > it->n_tokens))
            return perr_set(err, "batch item %zu: logits wanted from token %d of %d", j, it->logits_from,
                            it->n_tokens);
        for (size_t i = 0; i < j; i++)
            if (items[i].seq == it->seq)
                return perr_set(err, "batch items %zu and %zu both extend sequence %d", i, j,
                                it->seq);
        *rows += it->n_tokens - item_logits_from(it);
    }
    if (*rows > INT_MAX)
        return perr_set(err, "%lld rows of logits is too many", (long long)*rows);
    return 0;
}

int engine_eval_batch(engine_ctx *c, const engine_batch_item *items, size_t n, perr *err)
{
    c->n_logits = 0;
    int64_t rows;
    if (check_batch(c, items, n, &rows, err) != 0 || reserve_logits(c, rows, err) != 0)
        return -1;

    const int64_t n_vocab = c->m->hp.n_vocab;
    engine_ubatch b = { .n = 0 };
    int64_t row = 0;
    for (size_t j = 0; j < n; j++) {
        const engine_batch_item *it = &items[j];
        const int from = item_logits_from(it);
        for (int i = 0; i < it->n_tokens; i++) {
            b.token[b.n] = it->tokens[i];
            b.pos[b.n] = c->seq_len[it->seq] + i;
            b.seq[b.n] = it->seq;
            b.logits[b.n] = i >= from ? c->logits + row++ * n_vocab : NULL;
            if (++b.n == ENGINE_UBATCH) {
                engine_forward(c, &b);
                b.n = 0;
            }
        }
    }
    if (b.n > 0)
        engine_forward(c, &b);
    for (size_t j = 0; j < n; j++)
        c->seq_len[items[j].seq] += items[j].n_tokens;
    c->n_logits = (int)rows;
    return 0;
}

const float *engine_logits(const engine_ctx *c, int i)
{
    if (i < 0 || i >= c->n_logits)
        return NULL;
    return c->logits + (int64_t)i * c->m->hp.n_vocab;
}

int engine_seq_len(const engine_ctx *c, int seq)
{
    return seq >= 0 && seq < c->n_seq ? c->seq_len[seq] : 0;
}

void engine_seq_clear(engine_ctx *c, int seq)
{
    if (seq >= 0 && seq < c->n_seq)
        c->seq_len[seq] = 0;
}

int engine_seq_truncate(engine_ctx *c, int seq, int n, perr *err)
{
    if (check_seq(c, seq, err) != 0)
        return -1;
    if (n < 0 || n > c->seq_len[seq])
        return perr_set(err, "cannot truncate sequence %d of %d tokens to %d", seq,
                        c->seq_len[seq], n);
    c->seq_len[seq] = n;
    return 0;
}

int engine_seq_copy_prefix(engine_ctx *c, int src, int dst, int n, perr *err)
{
    if (check_seq(c, src, err) != 0 || check_seq(c, dst, err) != 0)
        return -1;
    if (n < 0 || n > c->seq_len[src])
        return perr_set(err, "cannot copy %d tokens of sequence %d, which holds %d", n, src,
                        c->seq_len[src]);
    if (src != dst) {
        const int64_t kv = c->m->hp.n_embd_kv;
        for (int64_t il = 0; il < c->m->hp.n_layer; il++) {
            for (int64_t d = 0; d < kv; d++)
                memcpy(kv_k_dim(c, il, dst, d), kv_k_dim(c, il, src, d),
                       (size_t)n * sizeof(uint16_t));
            memcpy(kv_v_row(c, il, dst, 0), kv_v_row(c, il, src, 0),
                   (size_t)n * (size_t)kv * sizeof(uint16_t));
        }
    }
    c->seq_len[dst] = n;
    return 0;
}
