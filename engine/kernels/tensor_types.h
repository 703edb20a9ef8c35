/* tensor_types.h — the weight/activation element types of GGUF and their traits.
 *
 * Numeric values are GGUF's (ggml's) type ids. Every supported type has:
 *  - to_float:   dequantize a row of n elements (n a multiple of blck);
 *  - from_float: quantize a row (used for activations and by `precis quantize`);
 *  - vec_dot:    dot product of a weight row of this type with an activation row
 *                already converted to `vec_dot_type` (as ggml does: Q4_0/Q5_0/
 *                Q8_0 -> Q8_0, Q4_1/Q5_1 -> Q8_1, K-quants -> Q8_K, F16 -> F16,
 *                BF16 -> BF16, F32 -> F32);
 *  - vec_dot_tile (optional): a block of vec_dots of several weight rows
 *                against several activation rows, bit-identical to vec_dot,
 *                working in a scratch area the caller owns (one per thread)
 *                of vec_dot_tile_scratch bytes.
 * The scalar reference (quant_ref.c, tensor_types_ref()) is the oracle every
 * SIMD kernel is checked against, forever. tensor_types_get() returns the best
 * implementation for this CPU (kernels.c dispatch).
 */
#ifndef PRECIS_TENSOR_TYPES_H
#define PRECIS_TENSOR_TYPES_H

#include <stddef.h>
#include <stdint.h>

typedef enum tensor_type {
    TT_F32 = 0, TT_F16 = 1, TT_Q4_0 = 2, TT_Q4_1 = 3,
    TT_Q5_0 = 6, TT_Q5_1 = 7, TT_Q8_0 = 8, TT_Q8_1 = 9,
    TT_Q2_K = 10, TT_Q3_K = 11, TT_Q4_K = 12, TT_Q5_K = 13, TT_Q6_K = 14,
    TT_Q8_K = 15, TT_BF16 = 30,
    TT_COUNT = 40  /* upper bound for tables indexed by type id */
} tensor_type;

/* A kernel set's own layout of weight rows for decode (passes of a few
 * tokens): the rows in groups of `rows`, each group's blocks rearranged so
 * that one SIMD lane holds one weight row and the codes need no gathering
 * or transposing at run time. Weights are packed once, when the model is
 * loaded (model_pack_weights), into memory of the model's own; the GGUF
 * mapping keeps serving prefill. vec_dot does for
 * min_tok..max_tok activation rows what vec_dot_tile does, bit-identical
 * to vec_dot, reading the packed rows. */
typedef struct type_pack {
    int rows;                /* weight rows per group */
    int min_tok, max_tok;    /* activation rows vec_dot takes */
    /* Bytes of `rows` weight rows of n elements packed (whole groups; a
     * last group of fewer rows is padded); 0 if n is not supported. The
     * group of row r (a multiple of `rows`) starts at size(r, n). */
    size_t (*size)(int64_t rows, int64_t n);
    /* Pack `rows` rows (x_stride bytes apart) into out (size(rows, n)
     * bytes, 64-byte aligned). */
    void (*pack)(const void *x, size_t x_stride, int64_t rows, int64_t n, void *out);
    /* s[t * s_stride + r] = vec_dot(n, weight row r, y row t) for r < nr,
     * t < nt, the weight rows packed from xp on (a group's start); scratch
     * as vec_dot_tile's (vec_dot_tile_scratch(n, nt) bytes). */
    void (*vec_dot)(int64_t n, int nr, int nt, float *s, size_t s_stride, const void *xp,
                    const void *y, size_t y_stride, void *scratch);
} type_pack;

typedef struct type_traits {
    const char *name;         /* "q4_K", as ggml names it */
    int64_t blck;             /* elements per block */
    size_t type_size;         /* bytes per block */
    tensor_type vec_dot_type; /* activation type vec_dot expects */
    void (*to_float)(const void *x, float *y, int64_t n);
    void (*from_float)(const float *x, void *y, int64_t n);
    void (*vec_dot)(int64_t n, float *s, const void *x, const void *y);
    /* Optional (NULL: call vec_dot per pair): many dots in one pass,
     * s[t * s_stride + r] = vec_dot(n, x row r, y row t) for r < nr, t < nt,
     * x rows x_stride bytes apart, y rows y_stride bytes apart. Every result
     * is bit-identical to vec_dot's (same per-block sums, same float
     * operations in the same order); the kernel only reads each weight
     * block once for several activation rows, or several weight rows per
     * activation block, and keeps independent sums in SIMD lanes.
     * `scratch` (64-byte aligned, vec_dot_tile_scratch(n, nt) bytes or
     * more, not shared with another thread's call) holds the kernel's
     * rearranged activation blocks and unpacked weight rows, which would
     * be hundreds of KiB on its stack; nothing in it outlives the call. */
    void (*vec_dot_tile)(int64_t n, int nr, int nt, float *s, size_t s_stride,
                         const void *x, size_t x_stride, const void *y, size_t y_stride,
                         void *scratch);
    /* Bytes of scratch vec_dot_tile needs for rows of n elements and at
     * most nt activation rows (non-decreasing in nt; 0 if it needs none).
     * Set exactly when vec_dot_tile is. */
    size_t (*vec_dot_tile_scratch)(int64_t n, int nt);
    /* Optional (NULL: none): the set's packed layout for decode.
     * Set only with vec_dot_tile. */
    const type_pack *pack;
} type_traits;

/* NULL for an id we do not support (also for ids >= TT_COUNT). */
const type_traits *tensor_types_ref(uint32_t type);
const type_traits *tensor_types_get(uint32_t type);

/* Bytes of a row of n elements; 0 if n is not a multiple of the block size. */
size_t tensor_row_size(tensor_type t, int64_t n);
const char *tensor_type_name(uint32_t type); /* "unknown" if unsupported */
/* Parse "q4_0", "Q4_K", "f16", "bf16"... -1 if unknown. */
int tensor_type_from_name(const char *name);

/* Half-precision conversions (IEEE fp16 and bfloat16), exact as ggml's. */
float fp16_to_f32(uint16_t h);
uint16_t f32_to_fp16(float f);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);

#endif
