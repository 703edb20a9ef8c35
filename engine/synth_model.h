/* synth_model.h — random-weight llama GGUFs of named shapes, FOR BENCHMARKS
 * ONLY (no real model can be downloaded on the build machines).
 *
 * The file has the exact tensor names, shapes and types a real model of that
 * shape would have (a mix such as q4_k_m follows quantize.h's rules), the
 * real Llama 2 vocabulary copied from another GGUF (its tokenizer.* keys) so
 * prompts tokenize realistically, and weights ~ N(0, scale²) with norms = 1
 * so activations stay bounded. It is written directly in the target type:
 * a pool of 4096 random 256-element units is quantized once per type, and
 * every row is assembled from pool units picked by a hash of (seed, tensor,
 * row, unit), so a 7B model costs memory copies and disk writes, never an F32
 * copy of the model. The weights carry no meaning: speed only.
 */
#ifndef PRECIS_SYNTH_MODEL_H
#define PRECIS_SYNTH_MODEL_H

#include <stdint.h>

#include "common/error.h"
#include "engine/quantize.h"

typedef struct synth_shape {
    const char *name;       /* "tinyllama-1.1b" */
    int64_t n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, n_ctx;
} synth_shape;

/* Case-insensitive; NULL if unknown. */
const synth_shape *synth_shape_find(const char *name);

typedef struct synth_params {
    const synth_shape *shape;
    const quant_scheme *scheme;  /* type (or mix) of the 2-D weights */
    uint64_t seed;
    const char *vocab_path;      /* GGUF whose tokenizer.* keys are copied */
    float scale;                 /* weight standard deviation; 0 = 0.02 */
} synth_params;

/* Write the model to out_path (via out_path.tmp, renamed when complete). */
int synth_model_write(const char *out_path, const synth_params *p, perr *err);

#endif
