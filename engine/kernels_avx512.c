/* kernels_avx512.c — the AVX-512 (F/BW/VL/DQ + VNNI + BF16) kernel set
 * (compiled with those flags; kernels.c calls in here only on CPUs that
 * have them all).
 *
 * The quantized kernels are kernels_x86.h's bodies instantiated with the
 * VNNI primitives (vpdpbusd for u8 x s8 dot products, vpdpwssd for the
 * int16 scale multiply-accumulate) on 256-bit vectors: on Zen 4 a 512-bit
 * op costs two 256-bit ones, the blocks are 32 bytes wide, and the exact
 * per-block integer sums the bit-exact contract needs are cheaper to reduce
 * from 256-bit vectors. The float dots below use 512-bit vectors.
 */
#include "engine/kernels.h"
#include "engine/kernels_x86.h"

/* Float dots, 16 elements per step: float products (exact for the half
 * types, rounded like the reference's for f32) added in double. */
static inline void add_products_pd512(__m512d acc[2], __m512 prod)
{
    acc[0] = _mm512_add_pd(acc[0], _mm512_cvtps_pd(_mm512_castps512_ps256(prod)));
    acc[1] = _mm512_add_pd(acc[1], _mm512_cvtps_pd(_mm512_extractf32x8_ps(prod, 1)));
}

#define DOT_FLOAT_DOUBLE_512(name, elem, load16, scalar)                          \
    static void name(int64_t n, float *s, const void *vx, const void *vy)         \
    {                                                                             \
        const elem *x = vx, *y = vy;                                              \
        __m512d acc[4] = { _mm512_setzero_pd(), _mm512_setzero_pd(),              \
                           _mm512_setzero_pd(), _mm512_setzero_pd() };            \
        int64_t i = 0;                                                            \
        for (; i + 32 <= n; i += 32) {                                            \
            add_products_pd512(&acc[0], _mm512_mul_ps(load16(x + i), load16(y + i))); \
            add_products_pd512(&acc[2], _mm512_mul_ps(load16(x + i + 16),         \
                                                      load16(y + i + 16)));       \
        }                                                                         \
        for (; i + 16 <= n; i += 16)                                              \
            add_products_pd512(&acc[0], _mm512_mul_ps(load16(x + i), load16(y + i))); \
        double sum = _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(acc[0], acc[1]), \
                                                        _mm512_add_pd(acc[2], acc[3]))); \
        for (; i < n; i++)                                                        \
            sum += (double)(scalar(x[i]) * scalar(y[i]));                         \
        *s = (float)sum;                                                          \
    }

static inline __m512 f32x16_load(const float *p) { return _mm512_loadu_ps(p); }
static inline __m512 f16x16_load(const uint16_t *p)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}
static inline __m512 bf16x16_load(const uint16_t *p)
{
    const __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
}

DOT_FLOAT_DOUBLE_512(avx512_vec_dot_f32, float, f32x16_load, f32_ident)
DOT_FLOAT_DOUBLE_512(avx512_vec_dot_f16, uint16_t, f16x16_load, half_to_float)
DOT_FLOAT_DOUBLE_512(avx512_vec_dot_bf16, uint16_t, bf16x16_load, bf16_to_f32)

KX_TRAITS_TABLE(avx512_traits, avx512_vec_dot_f32, avx512_vec_dot_f16, avx512_vec_dot_bf16)

const type_traits *kernels_avx512_traits(uint32_t type)
{
    if (type >= TT_COUNT || !avx512_traits[type].name)
        return NULL;
    return &avx512_traits[type];
}
