/* model.c — load and validate a llama-architecture GGUF (see model.h). */
#include "engine/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/tensor_types.h"

#define ARCH "llama"

/* ---- metadata ---------------------------------------------------------- */

static int check_architecture(const gguf_file *f, perr *err)
{
    gguf_str arch;
    if (gguf_get_str(f, "general.architecture", &arch, err) != 0)
        return perr_set(err, "metadata key general.architecture is missing or not a string");
    if (!gguf_str_eq(arch, ARCH)) {
        int n = arch.len > 64 ? 64 : (int)arch.len;
        return perr_set(err, "architecture '%.*s' is not supported; precis runs "
                        "llama-architecture models", n, arch.ptr);
    }
    return 0;
}

static int has_key(const gguf_file *f, const char *key) { return gguf_find_key(f, key) >= 0; }

/* A required integer ARCH.<name> within [lo, hi]. */
static int get_int(const gguf_file *f, const char *name, int64_t lo, int64_t hi,
                   int64_t *out, perr *err)
{
    char key[128];
    snprintf(key, sizeof key, ARCH ".%s", name);
    if (!has_key(f, key))
        return perr_set(err, "metadata key %s is missing", key);
    if (gguf_get_i64(f, key, out, err) != 0)
        return perr_set(err, "metadata key %s is not an integer", key);
    if (*out < lo || *out > hi)
        return perr_set(err, "metadata key %s = %lld is out of range [%lld, %lld]", key,
                        (long long)*out, (long long)lo, (long long)hi);
    return 0;
}

static int get_int_or(const gguf_file *f, const char *name, int64_t dflt, int64_t lo,
                      int64_t hi, int64_t *out, perr *err)
{
    char key[128];
    snprintf(key, sizeof key, ARCH ".%s", name);
    if (!has_key(f, key)) {
        *out = dflt;
        return 0;
    }
    return get_int(f, name, lo, hi, out, err);
}

/* An optional float ARCH.<name>, which must be finite and > 0. */
static int get_positive_float_or(const gguf_file *f, const char *name, float dflt,
                                 float *out, perr *err)
{
    char key[128];
    snprintf(key, sizeof key, ARCH ".%s", name);
    *out = dflt;
    if (!has_key(f, key))
        return 0;
    if (gguf_get_f32(f, key, out, err) != 0)
        return perr_set(err, "metadata key %s is not a number", key);
    if (!isfinite(*out) || *out <= 0)
        return perr_set(err, "metadata key %s = %g must be a positive number", key,
                        (double)*out);
    return 0;
}

static int read_rope_scaling(const gguf_file *f, model_hparams *hp, perr *err)
{
    float factor = 1.0f;
    gguf_str type = { "linear", 6 };
    if (has_key(f, ARCH ".rope.scaling.type") &&
        gguf_get_str(f, ARCH ".rope.scaling.type", &type, err) != 0)
        return perr_set(err, "metadata key " ARCH ".rope.scaling.type is not a string");
    if (gguf_str_eq(type, "linear")) {
        /* Older files say llama.rope.scale_linear; newer rope.scaling.factor. */
        if (get_positive_float_or(f, "rope.scale_linear", 1.0f, &factor, err) != 0 ||
            get_positive_float_or(f, "rope.scaling.factor", factor, &factor, err) != 0)
            return -1;
    } else if (!gguf_str_eq(type, "none")) {
        int n = type.len > 32 ? 32 : (int)type.len;
        return perr_set(err, "rope scaling type '%.*s' is not supported (only none "
                        "and linear)", n, type.ptr);
    }
    hp->rope_freq_scale = 1.0f / factor;
    return 0;
}

static int read_vocab_size(const gguf_file *f, model_hparams *hp, perr *err)
{
    hp->n_vocab = 0;
    if (!has_key(f, "tokenizer.ggml.tokens"))
        return 0; /* taken from token_embd.weight later */
    gguf_value_type elem;
    uint64_t count;
    if (gguf_get_arr(f, "tokenizer.ggml.tokens", &elem, &count, err) != 0 ||
        elem != GGUF_STRING)
        return perr_set(err, "metadata key tokenizer.ggml.tokens is not an array of strings");
    if (count == 0 || count > (1u << 24))
        return perr_set(err, "vocabulary size %llu is out of range", (unsigned long long)count);
    hp->n_vocab = (int64_t)count;
    return 0;
}

static int read_hparams(const gguf_file *f, model_hparams *hp, perr *err)
{
    memset(hp, 0, sizeof *hp);
    if (get_int(f, "embedding_length", 1, 1 << 20, &hp->n_embd, err) != 0 ||
        get_int(f, "block_count", 1, 4096, &hp->n_layer, err) != 0 ||
        get_int(f, "attention.head_count", 1, hp->n_embd, &hp->n_head, err) != 0 ||
        get_int_or(f, "attention.head_count_kv", hp->n_head, 1, hp->n_head,
                   &hp->n_head_kv, err) != 0 ||
        get_int(f, "feed_forward_length", 1, 1 << 22, &hp->n_ff, err) != 0 ||
        get_int(f, "context_length", 1, 1 << 24, &hp->n_ctx_train, err) != 0)
        return -1;
    if (hp->n_embd % hp->n_head != 0)
        return perr_set(err, "embedding length %lld is not a multiple of head count %lld",
                        (long long)hp->n_embd, (long long)hp->n_head);
    if (hp->n_head % hp->n_head_kv != 0)
        return perr_set(err, "head count %lld is not a multiple of KV head count %lld",
                        (long long)hp->n_head, (long long)hp->n_head_kv);
    hp->head_dim = hp->n_embd / hp->n_head;
    hp->n_embd_kv = hp->head_dim * hp->n_head_kv;
    if (get_int_or(f, "rope.dimension_count", hp->head_dim, 2, hp->head_dim, &hp->n_rot,
                   err) != 0)
        return -1;
    if (hp->n_rot % 2 != 0)
        return perr_set(err, ARCH ".rope.dimension_count = %lld must be even",
                        (long long)hp->n_rot);
    if (!has_key(f, ARCH ".attention.layer_norm_rms_epsilon"))
        return perr_set(err, "metadata key " ARCH ".attention.layer_norm_rms_epsilon is missing");
    if (get_positive_float_or(f, "attention.layer_norm_rms_epsilon", 1e-5f, &hp->norm_eps,
                              err) != 0 ||
        get_positive_float_or(f, "rope.freq_base", 10000.0f, &hp->rope_freq_base, err) != 0 ||
        read_rope_scaling(f, hp, err) != 0)
        return -1;
    return read_vocab_size(f, hp, err);
}

/* ---- tensors ----------------------------------------------------------- */

static const gguf_tensor *find_tensor(const gguf_file *f, const char *name, perr *err)
{
    const gguf_tensor *t = gguf_find_tensor(f, name);
    if (!t)
        perr_set(err, "tensor '%s' is missing", name);
    return t;
}

static int check_shape(const gguf_tensor *t, const char *name, int64_t ne0, int64_t ne1,
                       perr *err)
{
    int want_dims = ne1 > 0 ? 2 : 1;
    int64_t want1 = ne1 > 0 ? ne1 : 1;
    if ((int)t->n_dims != want_dims || t->ne[0] != ne0 || t->ne[1] != want1 ||
        t->ne[2] != 1 || t->ne[3] != 1) {
        if (want_dims == 2)
            return perr_set(err, "tensor '%s' has shape [%lld, %lld, %lld, %lld] (%u dims), "
                            "expected [%lld, %lld]", name, (long long)t->ne[0],
                            (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3],
                            t->n_dims, (long long)ne0, (long long)ne1);
        return perr_set(err, "tensor '%s' has shape [%lld, %lld, %lld, %lld] (%u dims), "
                        "expected [%lld]", name, (long long)t->ne[0], (long long)t->ne[1],
                        (long long)t->ne[2], (long long)t->ne[3], t->n_dims, (long long)ne0);
    }
    return 0;
}

/* Rows must be decodable (to_float) and, for matrices, usable by vec_dot. */
static int check_type(const gguf_tensor *t, const char *name, int need_vec_dot, perr *err)
{
    const type_traits *tr = tensor_types_get(t->type);
    if (!tr || !tr->to_float)
        return perr_set(err, "tensor '%s' has unsupported type %s (id %u)", name,
                        tensor_type_name(t->type), (unsigned)t->type);
    size_t row = tensor_row_size(t->type, t->ne[0]);
    if (row == 0)
        return perr_set(err, "tensor '%s': row length %lld is not a multiple of the %s "
                        "block size %lld", name, (long long)t->ne[0], tr->name,
                        (long long)tr->blck);
    if (t->nbytes < row * (size_t)t->ne[1])
        return perr_set(err, "tensor '%s' holds %zu bytes, expected %zu", name, t->nbytes,
                        row * (size_t)t->ne[1]);
    if (need_vec_dot) {
        const type_traits *vt = tensor_types_get(tr->vec_dot_type);
        if (!tr->vec_dot || !vt || !vt->from_float ||
            tensor_row_size(tr->vec_dot_type, t->ne[0]) == 0)
            return perr_set(err, "tensor '%s': type %s cannot be multiplied with rows of "
                            "length %lld", name, tr->name, (long long)t->ne[0]);
    }
    return 0;
}

static const gguf_tensor *matrix(const gguf_file *f, const char *name, int64_t cols,
                                 int64_t rows, perr *err)
{
    const gguf_tensor *t = find_tensor(f, name, err);
    if (!t || check_shape(t, name, cols, rows, err) != 0 || check_type(t, name, 1, err) != 0)
        return NULL;
    return t;
}

/* A norm vector of n_embd, converted to float into dst. */
static int norm_vector(const gguf_file *f, const char *name, int64_t n, float *dst, perr *err)
{
    const gguf_tensor *t = find_tensor(f, name, err);
    if (!t || check_shape(t, name, n, 0, err) != 0 || check_type(t, name, 0, err) != 0)
        return -1;
    tensor_types_get(t->type)->to_float(t->data, dst, n);
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(dst[i]))
            return perr_set(err, "tensor '%s' holds a non-finite value", name);
    return 0;
}

static int load_layer(model *m, int64_t il, perr *err)
{
    const gguf_file *f = m->gguf;
    const model_hparams *hp = &m->hp;
    model_layer *l = &m->layers[il];
    char name[96];
#define BLK(suffix) (snprintf(name, sizeof name, "blk.%lld." suffix ".weight", (long long)il), name)
    float *norms = m->norms + (size_t)(1 + 2 * il) * (size_t)hp->n_embd;
    l->attn_norm = norms;
    l->ffn_norm = norms + hp->n_embd;
    if (norm_vector(f, BLK("attn_norm"), hp->n_embd, norms, err) != 0 ||
        norm_vector(f, BLK("ffn_norm"), hp->n_embd, norms + hp->n_embd, err) != 0 ||
        !(l->wq = matrix(f, BLK("attn_q"), hp->n_embd, hp->n_embd, err)) ||
        !(l->wk = matrix(f, BLK("attn_k"), hp->n_embd, hp->n_embd_kv, err)) ||
        !(l->wv = matrix(f, BLK("attn_v"), hp->n_embd, hp->n_embd_kv, err)) ||
        !(l->wo = matrix(f, BLK("attn_output"), hp->n_embd, hp->n_embd, err)) ||
        !(l->ffn_gate = matrix(f, BLK("ffn_gate"), hp->n_embd, hp->n_ff, err)) ||
        !(l->ffn_up = matrix(f, BLK("ffn_up"), hp->n_embd, hp->n_ff, err)) ||
        !(l->ffn_down = matrix(f, BLK("ffn_down"), hp->n_ff, hp->n_embd, err)))
        return -1;
#undef BLK
    return 0;
}

static int load_embeddings(model *m, perr *err)
{
    const gguf_file *f = m->gguf;
    model_hparams *hp = &m->hp;
    const gguf_tensor *t = find_tensor(f, "token_embd.weight", err);
    if (!t)
        return -1;
    if (hp->n_vocab == 0) /* no tokenizer.ggml.tokens: trust the embedding */
        hp->n_vocab = t->n_dims == 2 ? t->ne[1] : 0;
    if (hp->n_vocab < 1 || hp->n_vocab > (1 << 24))
        return perr_set(err, "tensor 'token_embd.weight' does not give a usable vocabulary size");
    if (check_shape(t, "token_embd.weight", hp->n_embd, hp->n_vocab, err) != 0 ||
        check_type(t, "token_embd.weight", 0, err) != 0)
        return -1;
    m->tok_embd = t;
    if (gguf_find_tensor(f, "output.weight")) {
        m->output = matrix(f, "output.weight", hp->n_embd, hp->n_vocab, err);
        return m->output ? 0 : -1;
    }
    m->output_tied = 1;
    m->output = t;
    return check_type(t, "token_embd.weight (used as output.weight)", 1, err);
}

static int load_tensors(model *m, perr *err)
{
    const model_hparams *hp = &m->hp;
    size_t n_norms = (size_t)(1 + 2 * hp->n_layer) * (size_t)hp->n_embd;
    m->norms = malloc(n_norms * sizeof *m->norms);
    m->layers = calloc((size_t)hp->n_layer, sizeof *m->layers);
    if (!m->norms || !m->layers)
        return perr_set(err, "out of memory");
    if (load_embeddings(m, err) != 0)
        return -1;
    m->output_norm = m->norms;
    if (norm_vector(m->gguf, "output_norm.weight", hp->n_embd, m->norms, err) != 0)
        return -1;
    for (int64_t il = 0; il < hp->n_layer; il++)
        if (load_layer(m, il, err) != 0)
            return -1;
    return 0;
}

/* ---- public ------------------------------------------------------------ */

int model_from_gguf(model **out, gguf_file *f, const char *name, perr *err)
{
    *out = NULL;
    model *m = calloc(1, sizeof *m);
    if (!m) {
        gguf_close(f);
        return perr_set(err, "loading model %s: out of memory", name);
    }
    m->gguf = f;
    m->path = strdup(name);
    if (!m->path) {
        model_free(m);
        return perr_set(err, "loading model %s: out of memory", name);
    }
    if (check_architecture(f, err) != 0 || read_hparams(f, &m->hp, err) != 0 ||
        load_tensors(m, err) != 0) {
        model_free(m);
        return perr_prefix(err, "loading model %s", name);
    }
    *out = m;
    return 0;
}

int model_load(model **out, const char *path, perr *err)
{
    *out = NULL;
    gguf_file *f;
    if (gguf_open(&f, path, err) != 0)
        return perr_prefix(err, "loading model %s", path);
    return model_from_gguf(out, f, path, err);
}

void model_free(model *m)
{
    if (!m)
        return;
    model_unpack_weights(m);
    gguf_close(m->gguf);
    free(m->layers);
    free(m->norms);
    free(m->path);
    free(m);
}

void model_type_counts(const model *m, int64_t counts[TT_COUNT])
{
    memset(counts, 0, sizeof(int64_t) * TT_COUNT);
    for (int64_t i = 0; i < gguf_n_tensors(m->gguf); i++) {
        const gguf_tensor *t = gguf_tensor_at(m->gguf, i);
        if ((unsigned)t->type < TT_COUNT)
            counts[t->type]++;
    }
}
