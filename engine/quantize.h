/* quantize.h — convert an F32/F16/BF16 llama GGUF to a quantized type or
 * to one of llama.cpp's mixes (`precis quantize`).
 *
 * A scheme names the default type of the 2-D weights and the rules that
 * give some tensors more bits, as llama.cpp's quantizer does without an
 * importance matrix: output.weight (or a tied token_embd) -> Q6_K for every
 * quantized scheme except Q8_0; q4_k_m / q5_k_m put attn_v and ffn_down of
 * the "more bits" layers (first 1/8, last 1/8, every third in between) in
 * Q6_K; q2_k, q4_k (= Q4_K_S) have their own small rules. 1-D tensors
 * (norms) are F32. Rows whose length is not a multiple of the chosen type's
 * block fall back to a compatible type (reported as a warning).
 *
 * Quantization uses the scalar reference quantizers (tensor_types_ref),
 * which reproduce ggml's reference rounding, so a Q8_0/Q4_0/K-quant file
 * matches one written by llama.cpp's quantizer from the same source. The
 * output is streamed tensor by tensor: memory holds one output tensor.
 */
#ifndef PRECIS_QUANTIZE_H
#define PRECIS_QUANTIZE_H

#include <stdint.h>

#include "common/error.h"
#include "engine/kernels/tensor_types.h"

typedef enum quant_rules {
    QUANT_RULES_PLAIN = 0,  /* only the output rule (q4_0, q8_0, q3_k, q5_k, q6_k...) */
    QUANT_RULES_NONE,       /* f16 / bf16: every 2-D weight in the base type */
    QUANT_RULES_Q2_K,       /* llama.cpp Q2_K */
    QUANT_RULES_Q4_K_S,
    QUANT_RULES_Q4_K_M,
    QUANT_RULES_Q5_K_M,
} quant_rules;

typedef struct quant_scheme {
    const char *name;       /* "q4_k_m" */
    const char *alias;      /* another accepted name ("q4_k_s"), or NULL */
    tensor_type base;       /* type of the 2-D weights without a special rule */
    uint32_t file_type;     /* general.file_type (llama.cpp's llama_ftype) */
    quant_rules rules;
} quant_scheme;

/* Case-insensitive lookup by name or alias; NULL if unknown. */
const quant_scheme *quant_scheme_find(const char *name);
/* The i-th scheme (NULL past the end), for usage texts and tests. */
const quant_scheme *quant_scheme_at(int i);

/* What the type rules need to know about the model. */
typedef struct quant_model_info {
    int64_t n_layer;
    int64_t n_gqa;          /* n_head / n_head_kv */
    int has_output;         /* an output.weight exists (else token_embd is tied) */
} quant_model_info;

/* Does a tensor get quantized at all (2-D+ weight that is not a norm)? */
int quant_tensor_is_weight(const char *name, uint32_t n_dims);

/* Type for a weight tensor of row length ne0. *wanted (may be NULL) gets
 * the rule's choice before the row-length fallback; they differ when the
 * fallback applied. */
tensor_type quant_tensor_type(const quant_scheme *s, const quant_model_info *mi,
                              const char *name, int64_t ne0, tensor_type *wanted);

/* Progress lines and warnings (no trailing newline). */
typedef void (*quant_log_fn)(void *user, int is_warning, const char *msg);

typedef struct quantize_params {
    const quant_scheme *scheme;
    int n_threads;          /* 0 = 1 */
    quant_log_fn log;       /* may be NULL */
    void *log_user;
} quantize_params;

typedef struct quantize_stats {
    int64_t n_tensors;
    int64_t n_fallback;             /* tensors that needed a fallback type */
    uint64_t bytes_in, bytes_out;   /* tensor data only */
    int64_t type_counts[TT_COUNT];  /* output tensors per type */
} quantize_stats;

/* Read in_path, write out_path (via out_path.tmp, renamed at the end).
 * stats may be NULL. */
int quantize_file(const char *in_path, const char *out_path, const quantize_params *p,
                  quantize_stats *stats, perr *err);

#endif
