/* forward.c — the llama forward pass over one micro-batch of tokens.
 *
 * Reads top to bottom like llama2.c's run.c: embedding lookup, then per
 * layer RMSNorm -> Q,K,V -> RoPE -> grouped-query attention over the KV
 * cache -> output projection + residual -> RMSNorm -> SwiGLU FFN +
 * residual; then the final norm and the logits. Every step works on all
 * tokens of the batch so each weight row is read once per batch.
 *
 * Precision choices follow ggml's CPU path so greedy output matches a mature
 * engine: RMSNorm sums squares in double; matmuls quantize the activation to
 * the weight's vec_dot_type; RoPE uses the adjacent-pair ("normal") rotation
 * with theta advanced by repeated multiplication; K/V are stored as F16, the
 * query and the softmax weights are rounded to F16 before their dot products;
 * softmax sums in double. The attention dots themselves run in the kernel
 * set's attention kernels (kernels.h), one KV head's query heads at a time.
 */
#include "engine/engine_impl.h"

#include <math.h>
#include <string.h>

#include "engine/kernels/tensor_types.h"

/* ---- elementwise ------------------------------------------------------- */

/* out = x / rms(x) * w, as ggml: (x * scale) * w with the sum in double. */
static void rmsnorm(float *out, const float *x, const float *w, int64_t n, float eps)
{
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(x[i] * x[i]);
    const double mean = sum / (double)n;
    const float scale = 1.0f / sqrtf((float)(mean + eps));
    for (int64_t i = 0; i < n; i++)
        out[i] = (x[i] * scale) * w[i];
}

static void add_inplace(float *x, const float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] += y[i];
}

/* ---- element-wise work split over the threads ------------------------- */

/* Below this many tokens the norms and activation quantization run on the
 * calling thread (a pool dispatch costs more than the work). */
#define PARALLEL_MIN_TOKENS 4

/* fn over token rows [0, n_tok): on the pool from PARALLEL_MIN_TOKENS up. */
static void run_token_rows(engine_ctx *c, int n_tok, threadpool_fn fn, void *arg)
{
    if (n_tok < PARALLEL_MIN_TOKENS)
        fn(arg, 0, n_tok, 0);
    else
        threadpool_run(c->pool, n_tok, fn, arg);
}

/* Elements per scheduling unit of swiglu. */
#define SWIGLU_UNIT 2048

typedef struct swiglu_job {
    const vec_kernels *ops;
    float *gate;
    const float *up;
    int64_t n;
} swiglu_job;

static void swiglu_range(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const swiglu_job *j = arg;
    const int64_t i0 = begin * SWIGLU_UNIT;
    const int64_t i1 = end * SWIGLU_UNIT < j->n ? end * SWIGLU_UNIT : j->n;
    j->ops->swiglu(j->gate + i0, j->up + i0, i1 - i0);
}

static void swiglu_all(engine_ctx *c, float *gate, const float *up, int64_t n)
{
    swiglu_job j = { .ops = c->vec_ops, .gate = gate, .up = up, .n = n };
    threadpool_run(c->pool, (n + SWIGLU_UNIT - 1) / SWIGLU_UNIT, swiglu_range, &j);
}

/* out[t] = rmsnorm(x[t]) * w for n_tok rows of dim. */
typedef struct rmsnorm_job {
    float *out;
    const float *x, *w;
    int64_t dim;
    float eps;
} rmsnorm_job;

static void rmsnorm_range(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const rmsnorm_job *j = arg;
    for (int64_t t = begin; t < end; t++)
        rmsnorm(j->out + t * j->dim, j->x + t * j->dim, j->w, j->dim, j->eps);
}

static void rmsnorm_rows(engine_ctx *c, float *out, const float *x, const float *w, int64_t dim,
                         float eps, int n_tok)
{
    rmsnorm_job j = { .out = out, .x = x, .w = w, .dim = dim, .eps = eps };
    run_token_rows(c, n_tok, rmsnorm_range, &j);
}

/* Activation rows quantized to the weights' vec_dot_type. */
typedef struct quantize_job {
    const type_traits *vt;
    const float *x;
    int64_t cols;
    uint8_t *xq;
    size_t xq_row_bytes;
} quantize_job;

static void quantize_range(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const quantize_job *j = arg;
    for (int64_t t = begin; t < end; t++)
        j->vt->from_float(j->x + t * j->cols, j->xq + (size_t)t * j->xq_row_bytes, j->cols);
}

/* ---- matmul ------------------------------------------------------------ */

/* One weight matrix of a matmul job and its output. */
typedef struct matmul_part {
    const type_traits *tr;
    int tiled;               /* vec_dot_tile, its scratch fitting the threads' */
    const uint8_t *w;        /* weight rows */
    const uint8_t *wp;       /* the packed rows, when this call's token count suits them */
    size_t w_row_bytes;
    int64_t rows;
    int64_t unit0;           /* first scheduling unit of this matrix */
    float *y;                /* [n_tok][rows] */
} matmul_part;

/* Up to three matrices that read the same activation rows (Q, K, V; gate,
 * up) go in one job: the activations are quantized once and the threads
 * meet once. */
#define MATMUL_MAX_PARTS 3

typedef struct matmul_job {
    matmul_part part[MATMUL_MAX_PARTS];
    int n_parts;
    thread_scratch *scratch; /* per thread */
    const uint8_t *xq;       /* n_tok activation rows in vec_dot_type */
    size_t xq_row_bytes;
    int64_t cols;
    int n_tok;
} matmul_job;

/* Rows per scheduling unit: threads split the output rows in whole units
 * (a multiple of every tile kernel's row count, and the row-lane kernels'
 * group of 16, so that no chunk boundary splits a group), aligned to each
 * matrix's row 0. */
#define MATMUL_ROW_UNIT 16

/* Most activation rows for which a matmul is cut into many chunks per
 * thread (decode steps). With more (prefill), every call repacks all the
 * activation rows for its 16-row passes, so each thread takes one chunk:
 * eight cost Q8_0 pp512 about 10 % of its tokens per CPU-second. */
#define MATMUL_FEW_TOKENS 8

static void matmul_part_rows(const matmul_job *j, const matmul_part *p, int64_t r0, int64_t r1,
                             int thread)
{
    if (p->wp) {
        p->tr->pack->vec_dot(j->cols, (int)(r1 - r0), j->n_tok, p->y + r0, (size_t)p->rows,
                             p->wp + p->tr->pack->size(r0, j->cols), j->xq, j->xq_row_bytes,
                             j->scratch[thread].tile);
        return;
    }
    if (p->tiled) {
        p->tr->vec_dot_tile(j->cols, (int)(r1 - r0), j->n_tok, p->y + r0, (size_t)p->rows,
                            p->w + (size_t)r0 * p->w_row_bytes, p->w_row_bytes, j->xq,
                            j->xq_row_bytes, j->scratch[thread].tile);
        return;
    }
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *wrow = p->w + (size_t)r * p->w_row_bytes;
        for (int t = 0; t < j->n_tok; t++)
            p->tr->vec_dot(j->cols, &p->y[(int64_t)t * p->rows + r], wrow,
                           j->xq + (size_t)t * j->xq_row_bytes);
    }
}

static void matmul_rows(void *arg, int64_t begin, int64_t end, int thread)
{
    const matmul_job *j = arg;
    for (int i = 0; i < j->n_parts; i++) {
        const matmul_part *p = &j->part[i];
        const int64_t units = (p->rows + MATMUL_ROW_UNIT - 1) / MATMUL_ROW_UNIT;
        const int64_t u0 = begin > p->unit0 ? begin - p->unit0 : 0;
        const int64_t u1 = end - p->unit0 < units ? end - p->unit0 : units;
        if (u0 >= u1)
            continue;
        const int64_t r1 = u1 * MATMUL_ROW_UNIT < p->rows ? u1 * MATMUL_ROW_UNIT : p->rows;
        matmul_part_rows(j, p, u0 * MATMUL_ROW_UNIT, r1, thread);
    }
}

/* The packed rows of w for a call with n_tok activation rows, or NULL
 * (not packed, or a token count the packed kernel does not take). Row
 * units must not split a packed group. */
static const uint8_t *packed_rows(const engine_ctx *c, const type_traits *tr, const gguf_tensor *w,
                                  int n_tok)
{
    const type_pack *pk = tr->pack;
    if (!pk || n_tok < pk->min_tok || n_tok > pk->max_tok || MATMUL_ROW_UNIT % pk->rows != 0)
        return NULL;
    return model_packed(c->m, w);
}

/* y[i][t][r] = W_i[r] · x[t] for the n_tok rows of x (each cols long) and
 * the n weight matrices w[i], which must share their column count and
 * activation type (matmul_many checks). */
static void matmul_job_run(engine_ctx *c, float *const y[], const gguf_tensor *const w[], int n,
                           const float *x, int n_tok)
{
    const type_traits *tr = tensor_types_get(w[0]->type);
    const int64_t cols = w[0]->ne[0];
    matmul_job j = { .n_parts = n, .scratch = c->scratch, .cols = cols, .n_tok = n_tok };
    int64_t units = 0;
    for (int i = 0; i < n; i++) {
        const type_traits *tri = tensor_types_get(w[i]->type);
        j.part[i] = (matmul_part){
            .tr = tri, .w = w[i]->data, .wp = packed_rows(c, tri, w[i], n_tok),
            .tiled = tri->vec_dot_tile && tri->vec_dot_tile_scratch(cols, n_tok) <= c->tile_bytes,
            .w_row_bytes = tensor_row_size(w[i]->type, cols), .rows = w[i]->ne[1],
            .unit0 = units, .y = y[i],
        };
        units += (w[i]->ne[1] + MATMUL_ROW_UNIT - 1) / MATMUL_ROW_UNIT;
    }
    if (tr->vec_dot_type == TT_F32) {
        j.xq = (const uint8_t *)x;
        j.xq_row_bytes = (size_t)cols * sizeof(float);
    } else {
        j.xq_row_bytes = tensor_row_size(tr->vec_dot_type, cols);
        quantize_job q = { .vt = tensor_types_get(tr->vec_dot_type), .x = x, .cols = cols,
                           .xq = (uint8_t *)c->xq, .xq_row_bytes = j.xq_row_bytes };
        run_token_rows(c, n_tok, quantize_range, &q);
        j.xq = c->xq;
    }
    threadpool_run_chunked(c->pool, units,
                           n_tok > MATMUL_FEW_TOKENS ? 1 : THREADPOOL_CHUNKS_PER_THREAD,
                           matmul_rows, &j);
}

/* y = W · x for one matrix. */
static void matmul(engine_ctx *c, float *y, const gguf_tensor *w, const float *x, int n_tok)
{
    matmul_job_run(c, &y, &w, 1, x, n_tok);
}

/* Several matrices against the same x: one job when their column counts
 * and activation types agree, else one each. */
static void matmul_many(engine_ctx *c, float *const y[], const gguf_tensor *const w[], int n,
                        const float *x, int n_tok)
{
    const tensor_type vdt = tensor_types_get(w[0]->type)->vec_dot_type;
    for (int i = 1; i < n; i++) {
        if (w[i]->ne[0] != w[0]->ne[0] || tensor_types_get(w[i]->type)->vec_dot_type != vdt) {
            for (int k = 0; k < n; k++)
                matmul(c, y[k], w[k], x, n_tok);
            return;
        }
    }
    matmul_job_run(c, y, w, n, x, n_tok);
}

/* ---- rotary position embedding ----------------------------------------- */

/* cos/sin pairs for one position, as ggml computes them (linear scaling
 * multiplies the angle by freq_scale; theta advances by multiplication). */
void engine_rope_table(float *cs, int pos, const model_hparams *hp)
{
    const float theta_scale = powf(hp->rope_freq_base, -2.0f / (float)hp->n_rot);
    float theta = (float)pos;
    for (int64_t i = 0; i < hp->n_rot; i += 2) {
        const float angle = hp->rope_freq_scale * theta;
        cs[i] = cosf(angle);
        cs[i + 1] = sinf(angle);
        theta *= theta_scale;
    }
}

/* Rotate adjacent pairs (x[2i], x[2i+1]) of every head. */
static void rope_apply(float *x, int64_t n_heads, const float *cs, const model_hparams *hp)
{
    for (int64_t h = 0; h < n_heads; h++) {
        float *v = x + h * hp->head_dim;
        for (int64_t i = 0; i < hp->n_rot; i += 2) {
            const float x0 = v[i], x1 = v[i + 1];
            v[i] = x0 * cs[i] - x1 * cs[i + 1];
            v[i + 1] = x0 * cs[i + 1] + x1 * cs[i];
        }
    }
}

/* ---- attention --------------------------------------------------------- */

typedef struct attn_job {
    engine_ctx *c;
    const engine_ubatch *b;
    int64_t layer;
} attn_job;

/* Round n floats to F16 values in place (via `tmp`), as ggml's mul_mat
 * does to an operand multiplied with an F16 matrix. */
static void round_to_f16(const engine_ctx *c, float *x, uint16_t *tmp, int64_t n)
{
    c->f16->from_float(x, tmp, n);
    c->f16->to_float(tmp, x, n);
}

/* One token and one KV head: its n_rep query heads attend over positions
 * 0..pos of the token's sequence (scores, softmax, weighted sum of V). */
static void attend_group(engine_ctx *c, const engine_ubatch *b, int64_t layer, int t, int64_t g,
                         thread_scratch *s)
{
    const model_hparams *hp = &c->m->hp;
    const int64_t hd = hp->head_dim, n_rep = hp->n_head / hp->n_head_kv;
    const int n_kv = b->pos[t] + 1;
    const int seq = b->seq[t];
    const size_t stride = (size_t)c->n_ctx;

    memcpy(s->qf, c->q + (int64_t)t * hp->n_embd + g * n_rep * hd,
           (size_t)(n_rep * hd) * sizeof(float));
    round_to_f16(c, s->qf, s->q16, n_rep * hd);
    c->attn_ops->scores((int)n_rep, (int)hd, n_kv, s->qf, kv_k_dim(c, layer, seq, g * hd),
                        stride, s->scores, stride);
    for (int64_t h = 0; h < n_rep; h++) {
        c->vec_ops->softmax(s->scores + h * stride, n_kv, 1.0f / sqrtf((float)hd));
        round_to_f16(c, s->scores + h * stride, s->w16, n_kv);
    }
    c->attn_ops->mix((int)n_rep, (int)hd, n_kv, s->scores, stride,
                     kv_v_row(c, layer, seq, 0) + g * hd, (size_t)hp->n_embd_kv,
                     c->attn + (int64_t)t * hp->n_embd + g * n_rep * hd);
}

/* Items are (KV head, token) pairs, KV-head major, so each thread's share
 * spans every token (costs grow with the position). */
static void attend_range(void *arg, int64_t begin, int64_t end, int thread)
{
    const attn_job *j = arg;
    for (int64_t item = begin; item < end; item++)
        attend_group(j->c, j->b, j->layer, (int)(item % j->b->n), item / j->b->n,
                     &j->c->scratch[thread]);
}

/* Store the batch's K (already rotated) and V into the cache as F16. */
static void kv_store(engine_ctx *c, const engine_ubatch *b, int64_t layer)
{
    const int64_t kv = c->m->hp.n_embd_kv;
    for (int t = 0; t < b->n; t++) {
        const float *k = c->k + t * kv;
        for (int64_t d = 0; d < kv; d++)
            kv_k_dim(c, layer, b->seq[t], d)[b->pos[t]] = f32_to_fp16(k[d]);
        c->f16->from_float(c->v + t * kv, kv_v_row(c, layer, b->seq[t], b->pos[t]), kv);
    }
}

/* ---- the pass ---------------------------------------------------------- */

static void embed_tokens(engine_ctx *c, const engine_ubatch *b)
{
    const model *m = c->m;
    const type_traits *tr = tensor_types_get(m->tok_embd->type);
    const size_t row_bytes = tensor_row_size(m->tok_embd->type, m->hp.n_embd);
    for (int t = 0; t < b->n; t++)
        tr->to_float((const uint8_t *)m->tok_embd->data + (size_t)b->token[t] * row_bytes,
                     c->x + (int64_t)t * m->hp.n_embd, m->hp.n_embd);
}

static void attention_block(engine_ctx *c, const engine_ubatch *b, int64_t il)
{
    const model_hparams *hp = &c->m->hp;
    const model_layer *l = &c->m->layers[il];
    const int64_t dim = hp->n_embd, kv = hp->n_embd_kv;

    rmsnorm_rows(c, c->xb, c->x, l->attn_norm, dim, hp->norm_eps, b->n);
    float *const qkv_out[3] = { c->q, c->k, c->v };
    const gguf_tensor *const qkv[3] = { l->wq, l->wk, l->wv };
    matmul_many(c, qkv_out, qkv, 3, c->xb, b->n);
    for (int t = 0; t < b->n; t++) {
        rope_apply(c->q + t * dim, hp->n_head, c->rope_cs + t * hp->n_rot, hp);
        rope_apply(c->k + t * kv, hp->n_head_kv, c->rope_cs + t * hp->n_rot, hp);
    }
    kv_store(c, b, il);

    attn_job job = { .c = c, .b = b, .layer = il };
    threadpool_run(c->pool, (int64_t)b->n * hp->n_head_kv, attend_range, &job);

    matmul(c, c->proj, l->wo, c->attn, b->n);
    add_inplace(c->x, c->proj, (int64_t)b->n * dim);
}

static void ffn_block(engine_ctx *c, const engine_ubatch *b, int64_t il)
{
    const model_hparams *hp = &c->m->hp;
    const model_layer *l = &c->m->layers[il];
    const int64_t dim = hp->n_embd;

    rmsnorm_rows(c, c->xb, c->x, l->ffn_norm, dim, hp->norm_eps, b->n);
    float *const gate_up_out[2] = { c->gate, c->up };
    const gguf_tensor *const gate_up[2] = { l->ffn_gate, l->ffn_up };
    matmul_many(c, gate_up_out, gate_up, 2, c->xb, b->n);
    swiglu_all(c, c->gate, c->up, (int64_t)b->n * hp->n_ff);
    matmul(c, c->proj, l->ffn_down, c->gate, b->n);
    add_inplace(c->x, c->proj, (int64_t)b->n * dim);
}

/* Final norm and output projection for the tokens that want logits. The
 * rows are gathered so the (large) output matrix is read once. */
static void output_logits(engine_ctx *c, const engine_ubatch *b)
{
    const model *m = c->m;
    const int64_t dim = m->hp.n_embd;
    int n_out = 0, first = -1;
    for (int t = 0; t < b->n; t++) {
        if (!b->logits[t])
            continue;
        if (first < 0)
            first = t;
        rmsnorm(c->xb + n_out * dim, c->x + t * dim, m->output_norm, dim, m->hp.norm_eps);
        n_out++;
    }
    if (n_out == 0)
        return;
    /* Wanted rows are consecutive in the logits buffer (engine.c lays them
     * out that way), so one matmul writes them all in place. */
    matmul(c, b->logits[first], m->output, c->xb, n_out);
}

void engine_forward(engine_ctx *c, const engine_ubatch *b)
{
    const model_hparams *hp = &c->m->hp;
    embed_tokens(c, b);
    for (int t = 0; t < b->n; t++)
        engine_rope_table(c->rope_cs + t * hp->n_rot, b->pos[t], hp);
    for (int64_t il = 0; il < hp->n_layer; il++) {
        attention_block(c, b, il);
        ffn_block(c, b, il);
    }
    output_logits(c, b);
}
