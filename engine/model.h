/* model.h — a llama-architecture GGUF model: hyper-parameters and weights.
 *
 * model_load() opens the GGUF (mmap), reads the hyper-parameters from the
 * metadata, finds every tensor the llama graph needs and checks its shape
 * and type against the hyper-parameters, so the forward pass never has to.
 * Weight tensors stay in the mapping (zero copy); only the tiny norm vectors
 * are converted to float. Errors name the file and the key or tensor.
 */
#ifndef PRECIS_MODEL_H
#define PRECIS_MODEL_H

#include <stdint.h>

#include "common/error.h"
#include "engine/gguf/gguf.h"

typedef struct model_hparams {
    int64_t n_embd;        /* model dimension */
    int64_t n_layer;
    int64_t n_head;
    int64_t n_head_kv;     /* grouped-query attention: n_head % n_head_kv == 0 */
    int64_t head_dim;      /* n_embd / n_head */
    int64_t n_embd_kv;     /* head_dim * n_head_kv */
    int64_t n_ff;          /* feed-forward hidden size */
    int64_t n_ctx_train;   /* context length the model was trained with */
    int64_t n_vocab;
    int64_t n_rot;         /* rotary dimensions per head (<= head_dim) */
    float norm_eps;        /* RMSNorm epsilon */
    float rope_freq_base;  /* default 10000 */
    float rope_freq_scale; /* 1 / linear scaling factor (1 = no scaling) */
} model_hparams;

typedef struct model_layer {
    const float *attn_norm;      /* [n_embd] */
    const gguf_tensor *wq;       /* [n_embd] -> [n_embd] */
    const gguf_tensor *wk;       /* [n_embd] -> [n_embd_kv] */
    const gguf_tensor *wv;       /* [n_embd] -> [n_embd_kv] */
    const gguf_tensor *wo;       /* [n_embd] -> [n_embd] */
    const float *ffn_norm;       /* [n_embd] */
    const gguf_tensor *ffn_gate; /* [n_embd] -> [n_ff] */
    const gguf_tensor *ffn_up;   /* [n_embd] -> [n_ff] */
    const gguf_tensor *ffn_down; /* [n_ff] -> [n_embd] */
} model_layer;

typedef struct model {
    gguf_file *gguf;
    char *path;                  /* as given to model_load (or "<memory>") */
    model_hparams hp;
    const gguf_tensor *tok_embd; /* [n_embd, n_vocab], one row per token */
    const float *output_norm;    /* [n_embd] */
    const gguf_tensor *output;   /* [n_embd] -> [n_vocab]; == tok_embd when tied */
    int output_tied;
    model_layer *layers;         /* n_layer entries */
    float *norms;                /* storage behind every norm pointer */
    const void **packed;         /* model_pack_weights: per GGUF tensor index, its packed copy or NULL */
    size_t packed_bytes;
    void *packed_region;         /* one mapping holding them, packed_mapped bytes */
    size_t packed_mapped;
} model;

int model_load(model **out, const char *path, perr *err);
/* Takes ownership of f (closed by model_free, or here on failure). */
int model_from_gguf(model **out, gguf_file *f, const char *name, perr *err);
void model_free(model *m);

/* Packed weights: the weight matrices repacked into the kernel set's
 * layout for decode (type_pack in engine/kernels/tensor_types.h), which
 * passes of 1..16 tokens (one answer, several at once, drafts) read
 * instead of the GGUF layout: no transposing or gathering per step, one
 * stream per thread. The packed copies take as much memory again as those
 * matrices (the mapping still serves prefill). AUTO packs when that fits in half the memory
 * available now; ON always; OFF never. Types the kernel set has no layout
 * for stay as they are. Call before any context evaluates (not thread-safe
 * with evaluation). */
typedef enum model_pack_mode { MODEL_PACK_AUTO = 0, MODEL_PACK_ON = 1, MODEL_PACK_OFF = 2 } model_pack_mode;

int model_pack_weights(model *m, model_pack_mode mode, perr *err);
/* Drop the packed copies (also done by model_free). */
void model_unpack_weights(model *m);
/* The packed copy of weight matrix t, or NULL. */
const void *model_packed(const model *m, const gguf_tensor *t);
/* "auto", "on", "off" (any case); -1 otherwise. */
int model_pack_mode_parse(const char *s, model_pack_mode *out);

/* Count of weight tensors of each type (tensor_type id < TT_COUNT). */
void model_type_counts(const model *m, int64_t counts[TT_COUNT]);

#endif
