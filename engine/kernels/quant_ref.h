/* quant_ref.h — GGUF block layouts and the scalar reference kernels (engine-internal).
 *
 * The structs below are bit-exact with ggml's block_* types (little-endian
 * host assumed, as GGUF is little-endian). Halves (`uint16_t d`) are IEEE
 * fp16 bit patterns. Pointers handed to the kernels must be aligned to the
 * block's alignment (2 bytes; 4 for q8_K), as GGUF's data alignment provides.
 *
 * The quant_ref_* functions are the plain scalar oracle: per type a to_float
 * (dequantize), a from_float (quantize, ggml's *_ref algorithms) and a
 * vec_dot against the type's activation type. SIMD kernel files
 * (kernels_<isa>.c) include this header for the layouts and fall back to these
 * functions for whatever they do not accelerate.
 */
#ifndef PRECIS_QUANT_REF_H
#define PRECIS_QUANT_REF_H

#include <stdint.h>

#include "engine/kernels/tensor_types.h"

#define QK4_0 32
#define QK4_1 32
#define QK5_0 32
#define QK5_1 32
#define QK8_0 32
#define QK8_1 32
#define QK_K 256
#define K_SCALE_SIZE 12

typedef struct block_q4_0 {
    uint16_t d;               /* scale */
    uint8_t qs[QK4_0 / 2];    /* element j in low nibble of qs[j], j+16 in high */
} block_q4_0;

typedef struct block_q4_1 {
    uint16_t d, m;            /* scale, minimum */
    uint8_t qs[QK4_1 / 2];
} block_q4_1;

typedef struct block_q5_0 {
    uint16_t d;
    uint8_t qh[4];            /* 5th bits, little-endian uint32: bit j = element j */
    uint8_t qs[QK5_0 / 2];
} block_q5_0;

typedef struct block_q5_1 {
    uint16_t d, m;
    uint8_t qh[4];
    uint8_t qs[QK5_1 / 2];
} block_q5_1;

typedef struct block_q8_0 {
    uint16_t d;
    int8_t qs[QK8_0];
} block_q8_0;

typedef struct block_q8_1 {
    uint16_t d;
    uint16_t s;               /* d * sum(qs) */
    int8_t qs[QK8_1];
} block_q8_1;

typedef struct block_q2_K {
    uint8_t scales[QK_K / 16]; /* low nibble scale, high nibble min, per 16 */
    uint8_t qs[QK_K / 4];
    uint16_t d, dmin;
} block_q2_K;

typedef struct block_q3_K {
    uint8_t hmask[QK_K / 8];  /* high bits */
    uint8_t qs[QK_K / 4];     /* low 2 bits */
    uint8_t scales[12];       /* 16 scales of 6 bits */
    uint16_t d;
} block_q3_K;

typedef struct block_q4_K {
    uint16_t d, dmin;
    uint8_t scales[K_SCALE_SIZE]; /* 8 scales + 8 mins of 6 bits */
    uint8_t qs[QK_K / 2];
} block_q4_K;

typedef struct block_q5_K {
    uint16_t d, dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
} block_q5_K;

typedef struct block_q6_K {
    uint8_t ql[QK_K / 2];     /* low 4 bits */
    uint8_t qh[QK_K / 4];     /* high 2 bits */
    int8_t scales[QK_K / 16];
    uint16_t d;
} block_q6_K;

typedef struct block_q8_K {
    float d;
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16]; /* sum of qs per group of 16 */
} block_q8_K;

_Static_assert(sizeof(block_q4_0) == 18, "q4_0 block size");
_Static_assert(sizeof(block_q4_1) == 20, "q4_1 block size");
_Static_assert(sizeof(block_q5_0) == 22, "q5_0 block size");
_Static_assert(sizeof(block_q5_1) == 24, "q5_1 block size");
_Static_assert(sizeof(block_q8_0) == 34, "q8_0 block size");
_Static_assert(sizeof(block_q8_1) == 36, "q8_1 block size");
_Static_assert(sizeof(block_q2_K) == 84, "q2_K block size");
_Static_assert(sizeof(block_q3_K) == 110, "q3_K block size");
_Static_assert(sizeof(block_q4_K) == 144, "q4_K block size");
_Static_assert(sizeof(block_q5_K) == 176, "q5_K block size");
_Static_assert(sizeof(block_q6_K) == 210, "q6_K block size");
_Static_assert(sizeof(block_q8_K) == 292, "q8_K block size");

/* The reference kernels, one triple per type (signatures of type_traits). */
void quant_ref_to_float_f32(const void *x, float *y, int64_t n);
void quant_ref_from_float_f32(const float *x, void *y, int64_t n);
void quant_ref_vec_dot_f32(int64_t n, float *s, const void *x, const void *y);

void quant_ref_to_float_f16(const void *x, float *y, int64_t n);
void quant_ref_from_float_f16(const float *x, void *y, int64_t n);
void quant_ref_vec_dot_f16(int64_t n, float *s, const void *x, const void *y);

void quant_ref_to_float_bf16(const void *x, float *y, int64_t n);
void quant_ref_from_float_bf16(const float *x, void *y, int64_t n);
void quant_ref_vec_dot_bf16(int64_t n, float *s, const void *x, const void *y);

void quant_ref_to_float_q4_0(const void *x, float *y, int64_t n);
void quant_ref_from_float_q4_0(const float *x, void *y, int64_t n);
void quant_ref_vec_dot_q4_0(int64_t n, float *s, const void *x, const void *y);

void quant_ref_to_float_q4_1(const void *x, float *y, int64_t n);
void quant_ref_from_float_q4_1(const float *x, void *y, int64_t n);
void quant_ref_vec_dot_q4_1(int64_t n, float *s, const void *x, const void *y);

void quant_ref_to_float_q5_0(const void *x, float *y, int64_t n);
void quant_ref_from_float_q5_0(const float *x, void *y, int64_t n);
void quant_ref_vec_dot_q5_0(int64_t n, float *s, const void *x, const void *y);

void quant_ref_to_float_q5_1(const void *x, float *y, int64_t n);
void quant_ref_from_float_q5_1(const float *x, void *y, int64_t n);
void quant_ref_vec_dot_q5_1(int64_t n, float *s, const void *x, const void *y);

void quant_ref_to_float_q8_0(const void *x, float *y, int64_t n);
void quant_ref_from_float_q8_0(const float *x, void *y, int64_t n);
void quant_ref_vec_dot_q8_0(int64_t n, float *s, const void *x, const void *y);

void quant_ref_to_float_q8_1(const void *x, float *y, int64_t n);
void quant_ref_from_float_q8_1(const float *x, void *y, int64_t n);
void quant_ref_vec_dot_q8_1(int64_t n, float *s, const void *x, const void *y);

void quant_ref_to_float_q2_K(const void *x, float *y, int64_t n);
void quant_ref_from_float_q2_K(const float *x, void *y, int64_t n);
void quant_ref_vec_dot_q2_K(int64_t n, float *s, const void *x, const void *y);

void quant_ref_to_float_q3_K(const void *x, float *y, int64_t n);
void quant_ref_from_float_q3_K(const float *x, void *y, int64_t n);
void quant_ref_vec_dot_q3_K(int64_t n, float *s, const void *x, const void *y);

void quant_ref_to_float_q4_K(const void *x, float *y, int64_t n);
void quant_ref_from_float_q4_K(const float *x, void *y, int64_t n);
void quant_ref_vec_dot_q4_K(int64_t n, float *s, const void *x, const void *y);

void quant_ref_to_float_q5_K(const void *x, float *y, int64_t n);
void quant_ref_from_float_q5_K(const float *x, void *y, int64_t n);
void quant_ref_vec_dot_q5_K(int64_t n, float *s, const void *x, const void *y);

void quant_ref_to_float_q6_K(const void *x, float *y, int64_t n);
void quant_ref_from_float_q6_K(const float *x, void *y, int64_t n);
void quant_ref_vec_dot_q6_K(int64_t n, float *s, const void *x, const void *y);

void quant_ref_to_float_q8_K(const void *x, float *y, int64_t n);
void quant_ref_from_float_q8_K(const float *x, void *y, int64_t n);
void quant_ref_vec_dot_q8_K(int64_t n, float *s, const void *x, const void *y);

/* Unpack scale/min j (0..7) of a q4_K/q5_K `scales[12]` (6 bits each). */
void quant_k4_scale_min(int j, const uint8_t *scales, uint8_t *sc, uint8_t *m);

#endif
