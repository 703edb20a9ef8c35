/* synth_model.c — the benchmark-only random-weight model generator (see
 * synth_model.h): shapes table, metadata, and rows assembled from per-type
 * pools of pre-quantized random units, streamed through the GGUF writer. */
#include "engine/synth_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/gguf/gguf.h"
#include "engine/rng.h"

static const synth_shape SHAPES[] = {
    /* name              embd  layer head kv   ff     vocab  ctx */
    {"tinyllama-1.1b",   2048, 22,   32,  4,   5632,  32000, 2048},
    {"llama2-7b",        4096, 32,   32,  32,  11008, 32000, 4096},
    {"d256",             256,  4,    8,   4,   768,   32000, 2048},
};
#define N_SHAPES ((int)(sizeof SHAPES / sizeof SHAPES[0]))

#define UNIT 256              /* elements per pool unit (a K-quant super-block) */
#define POOL_UNITS 4096       /* power of two */

const synth_shape *synth_shape_find(const char *name)
{
    for (int i = 0; name && i < N_SHAPES; i++)
        if (strcasecmp(SHAPES[i].name, name) == 0)
            return &SHAPES[i];
    return NULL;
}

/* ---- Random numbers ---- */

/* Uniform in (0, 1]. */
static double uniform(uint64_t *state)
{
    *state = rng_hash64(*state);
    return ((*state >> 11) + 1) * (1.0 / 9007199254740992.0);
}

/* n standard normal samples times scale (Box-Muller). */
static void fill_normal(float *x, int64_t n, float scale, uint64_t seed)
{
    uint64_t st = seed;
    for (int64_t i = 0; i < n; i += 2) {
        double r = sqrt(-2.0 * log(uniform(&st))), a = 2.0 * M_PI * uniform(&st);
        x[i] = (float)(r * cos(a)) * scale;
        if (i + 1 < n)
            x[i + 1] = (float)(r * sin(a)) * scale;
    }
}

/* ---- Generation ---- */

typedef struct synth_tensor {
    char name[64];
    tensor_type type;
    uint32_t n_dims;
    int64_t ne[2];
} synth_tensor;

typedef struct synth_job {
    const synth_params *p;
    float scale;
    synth_tensor *tensors;
    int n_tensors;
    float *pool_f32;              /* POOL_UNITS * UNIT random floats */
    uint8_t *pool[TT_COUNT];      /* the same pool quantized per type, built on demand */
} synth_job;

static const uint8_t *type_pool(synth_job *j, tensor_type t, perr *err)
{
    if (j->pool[t])
        return j->pool[t];
    size_t unit_bytes = tensor_row_size(t, UNIT);
    uint8_t *pool = malloc(unit_bytes * POOL_UNITS);
    if (!pool) {
        perr_set(err, "out of memory for the %s pool", tensor_type_name(t));
        return NULL;
    }
    const type_traits *tr = tensor_types_ref(t);
    for (int64_t u = 0; u < POOL_UNITS; u++)
        tr->from_float(j->pool_f32 + u * UNIT, pool + u * unit_bytes, UNIT);
    j->pool[t] = pool;
    return pool;
}

static int fill_tensor(void *user, size_t index, void *dst, size_t nbytes, perr *err)
{
    synth_job *j = user;
    const synth_tensor *t = &j->tensors[index];
    if (t->n_dims == 1) {                /* norms: all ones */
        float *v = dst;
        for (int64_t i = 0; i < t->ne[0]; i++)
            v[i] = 1.0f;
        return 0;
    }
    const uint8_t *pool = type_pool(j, t->type, err);
    if (!pool)
        return -1;
    const size_t unit_bytes = tensor_row_size(t->type, UNIT);
    const int64_t units_per_row = t->ne[0] / UNIT;
    uint8_t *out = dst;
    const uint64_t key = rng_hash64(j->p->seed ^ rng_hash64(index + 1));
    for (int64_t r = 0; r < t->ne[1]; r++) {
        uint64_t row_key = rng_hash64(key + (uint64_t)r);
        for (int64_t u = 0; u < units_per_row; u++) {
            uint64_t pick = rng_hash64(row_key + (uint64_t)u) & (POOL_UNITS - 1);
            memcpy(out, pool + pick * unit_bytes, unit_bytes);
            out += unit_bytes;
        }
    }
    (void)nbytes;
    return 0;
}

static void add_tensor(synth_job *j, const quant_model_info *mi, const char *name,
                       int64_t ne0, int64_t ne1)
{
    synth_tensor *t = &j->tensors[j->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->n_dims = ne1 ? 2 : 1;
    t->ne[0] = ne0;
    t->ne[1] = ne1 ? ne1 : 1;
    t->type = t->n_dims == 1 ? TT_F32 : quant_tensor_type(j->p->scheme, mi, name, ne0, NULL);
}

/* The llama tensor list, in the order converters write it. */
static void list_tensors(synth_job *j, const quant_model_info *mi)
{
    const synth_shape *s = j->p->shape;
    const int64_t kv = s->n_embd / s->n_head * s->n_head_kv;
    char name[64];
    add_tensor(j, mi, "token_embd.weight", s->n_embd, s->n_vocab);
    for (int64_t l = 0; l < s->n_layer; l++) {
        static const char *const parts[] = {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
                                            "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"};
        const int64_t ne[9][2] = {{s->n_embd, 0}, {s->n_embd, s->n_embd}, {s->n_embd, kv},
                                  {s->n_embd, kv}, {s->n_embd, s->n_embd}, {s->n_embd, 0},
                                  {s->n_embd, s->n_ff}, {s->n_embd, s->n_ff}, {s->n_ff, s->n_embd}};
        for (int k = 0; k < 9; k++) {
            snprintf(name, sizeof name, "blk.%lld.%s.weight", (long long)l, parts[k]);
            add_tensor(j, mi, name, ne[k][0], ne[k][1]);
        }
    }
    add_tensor(j, mi, "output_norm.weight", s->n_embd, 0);
    add_tensor(j, mi, "output.weight", s->n_embd, s->n_vocab);
}

static void set_metadata(gguf_writer *w, const synth_params *p)
{
    const synth_shape *s = p->shape;
    char name[96];
    snprintf(name, sizeof name, "precis-synth-%s-%s", s->name, p->scheme->name);
    gguf_writer_set_str(w, "general.architecture", "llama");
    gguf_writer_set_str(w, "general.name", name);
    gguf_writer_set_str(w, "general.description",
                        "random weights for speed benchmarks (precis gen-model); not a trained model");
    gguf_writer_set_u32(w, "general.file_type", p->scheme->file_type);
    gguf_writer_set_u32(w, "general.quantization_version", 2);
    gguf_writer_set_u32(w, "llama.context_length", (uint32_t)s->n_ctx);
    gguf_writer_set_u32(w, "llama.embedding_length", (uint32_t)s->n_embd);
    gguf_writer_set_u32(w, "llama.block_count", (uint32_t)s->n_layer);
    gguf_writer_set_u32(w, "llama.feed_forward_length", (uint32_t)s->n_ff);
    gguf_writer_set_u32(w, "llama.rope.dimension_count", (uint32_t)(s->n_embd / s->n_head));
    gguf_writer_set_u32(w, "llama.attention.head_count", (uint32_t)s->n_head);
    gguf_writer_set_u32(w, "llama.attention.head_count_kv", (uint32_t)s->n_head_kv);
    gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    gguf_writer_set_f32(w, "llama.rope.freq_base", 10000.0f);
}

/* The vocabulary source must have exactly the shape's vocabulary size. */
static int check_vocab(gguf_file *vocab, const synth_shape *s, perr *err)
{
    gguf_value_type elem;
    uint64_t n;
    if (gguf_get_arr(vocab, "tokenizer.ggml.tokens", &elem, &n, err))
        return -1;
    if (elem != GGUF_STRING || n != (uint64_t)s->n_vocab)
        return perr_set(err, "tokenizer.ggml.tokens has %llu entries, shape %s needs %lld",
                        (unsigned long long)n, s->name, (long long)s->n_vocab);
    return 0;
}

static int write_model(synth_job *j, gguf_file *vocab, const char *out_path, perr *err)
{
    const synth_shape *s = j->p->shape;
    quant_model_info mi = {s->n_layer, s->n_head / s->n_head_kv, 1};
    if (s->n_embd % UNIT || s->n_ff % UNIT || s->n_embd % s->n_head || s->n_head % s->n_head_kv)
        return perr_set(err, "shape %s: dimensions must be multiples of %d and of the head counts",
                        s->name, UNIT);
    j->tensors = calloc((size_t)(9 * s->n_layer + 3), sizeof *j->tensors);
    j->pool_f32 = malloc((size_t)POOL_UNITS * UNIT * sizeof(float));
    gguf_writer *w = gguf_writer_new();
    if (!j->tensors || !j->pool_f32 || !w) {
        gguf_writer_free(w);
        return perr_set(err, "out of memory");
    }
    fill_normal(j->pool_f32, (int64_t)POOL_UNITS * UNIT, j->scale, rng_hash64(j->p->seed));
    set_metadata(w, j->p);
    gguf_writer_copy_kv_prefix(w, vocab, "tokenizer.");
    list_tensors(j, &mi);
    int rc = 0;
    for (int i = 0; rc == 0 && i < j->n_tensors; i++)
        rc = gguf_writer_add_tensor_info(w, j->tensors[i].name, j->tensors[i].type,
                                         j->tensors[i].n_dims, j->tensors[i].ne, err);
    if (rc == 0)
        rc = gguf_writer_write_file_stream(w, out_path, fill_tensor, j, err);
    gguf_writer_free(w);
    return rc;
}

int synth_model_write(const char *out_path, const synth_params *p, perr *err)
{
    if (!p || !p->shape || !p->scheme || !p->vocab_path)
        return perr_set(err, "synthetic model: shape, type and vocabulary file are required");
    synth_job j = {.p = p, .scale = p->scale > 0 ? p->scale : 0.02f};
    gguf_file *vocab;
    if (gguf_open(&vocab, p->vocab_path, err))
        return -1;
    int rc = check_vocab(vocab, p->shape, err);
    if (rc)
        perr_prefix(err, "%s", p->vocab_path);
    else
        rc = write_model(&j, vocab, out_path, err);
    gguf_close(vocab);
    for (int t = 0; t < TT_COUNT; t++)
        free(j.pool[t]);
    free(j.pool_f32);
    free(j.tensors);
    return rc;
}
