/* kernels_x86_quant.h — the x86 activation quantizers (Q8_0, Q8_1, Q8_K,
 * byte-exact with quant_ref.c) and the F16 / BF16 row conversions, shared by
 * both kernel sets (engine-internal; include only from kernels_avx2.c and
 * kernels_avx512.c). They are each set's from_float / to_float in its
 * type table: they run once per activation row of a matmul.
 */
#ifndef PRECIS_KERNELS_X86_QUANT_H
#define PRECIS_KERNELS_X86_QUANT_H

#include "engine/kernels/kernels_x86.h"

/* ======================================================================
 * Activation quantizers, byte-exact with quant_ref.c.
 * ==================================================================== */

static inline __m256 abs_ps(__m256 v)
{
    return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
}

static inline float hmax_ps(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* max(|x[i]|) over 8*count floats; NaNs are ignored as fmaxf and the
 * reference's `amax < fabsf(x)` ignore them (maxps returns its second
 * operand when the first is NaN). */
static inline float absmax_ps(const float *x, int count)
{
    __m256 amax = _mm256_setzero_ps();
    for (int i = 0; i < count; i++)
        amax = _mm256_max_ps(abs_ps(_mm256_loadu_ps(x + 8 * i)), amax);
    return hmax_ps(amax);
}

/* NaN lanes -> 0, the others clamped into [lo, hi]. */
static inline __m256 clamp_nan0_ps(__m256 v, float lo, float hi)
{
    v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q));
    return _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(lo)), _mm256_set1_ps(hi));
}

/* roundf (half away from zero) of values with |v| < 2^23: truncate, then
 * step away from zero when the exact remainder is at least one half. */
static inline __m256 round_half_away_ps(__m256 v)
{
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 frac = abs_ps(_mm256_sub_ps(v, t));
    const __m256 away = _mm256_or_ps(_mm256_and_ps(v, _mm256_set1_ps(-0.0f)), _mm256_set1_ps(1.0f));
    const __m256 step = _mm256_and_ps(_mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ), away);
    return _mm256_add_ps(t, step);
}

/* Four int32x8 (32 values in order) -> 32 int8 (values already in range). */
static inline __m256i pack_i32x32_to_i8(const __m256i v[4])
{
    const __m256i w01 = _mm256_packs_epi32(v[0], v[1]), w23 = _mm256_packs_epi32(v[2], v[3]);
    const __m256i b = _mm256_packs_epi16(w01, w23);
    /* The packs interleave 128-bit lanes: dwords come out as 0,2,4,6,1,3,5,7. */
    return _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* Q8_0/Q8_1 codes of 32 floats (round_clamp(x * id, -127, 127) with id =
 * 1/d, d = absmax/127); returns d, and the code sum in *code_sum. */
static inline float q8_block_codes_simd(const float *x, int8_t qs[32], int *code_sum)
{
    const float d = absmax_ps(x, 4) / 127;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    const __m256 idv = _mm256_set1_ps(id);
    __m256i q[4];
    for (int i = 0; i < 4; i++) {
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + 8 * i), idv);
        v = round_half_away_ps(clamp_nan0_ps(v, -127.f, 127.f));
        q[i] = _mm256_cvttps_epi32(v);
    }
    _mm256_storeu_si256((__m256i *)qs, pack_i32x32_to_i8(q));
    *code_sum = hsum_i32x8(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]),
                                            _mm256_add_epi32(q[2], q[3])));
    return d;
}

static inline uint16_t float_to_half(float f)
{
    return (uint16_t)_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT); /* as f32_to_fp16 */
}

static inline void kx_from_float_q8_0(const float *x, void *vy, int64_t n)
{
    block_q8_0 *y = vy;
    for (int64_t b = 0; b < n / QK8_0; b++, x += QK8_0) {
        int code_sum;
        y[b].d = float_to_half(q8_block_codes_simd(x, y[b].qs, &code_sum));
    }
}

static inline void kx_from_float_q8_1(const float *x, void *vy, int64_t n)
{
    block_q8_1 *y = vy;
    for (int64_t b = 0; b < n / QK8_1; b++, x += QK8_1) {
        int code_sum;
        const float d = q8_block_codes_simd(x, y[b].qs, &code_sum);
        y[b].d = float_to_half(d);
        y[b].s = float_to_half((float)code_sum * d);
    }
}

/* The signed value of largest magnitude among 256 floats, the first one
 * when several tie (as the reference's strict `<` scan); 0 if all are
 * zero or NaN. */
static inline float q8_K_signed_absmax(const float *x)
{
    const float amax = absmax_ps(x, QK_K / 8);
    if (amax == 0)
        return 0;
    const __m256 target = _mm256_set1_ps(amax);
    for (int i = 0; i < QK_K / 8; i++) {
        const __m256 hit = _mm256_cmp_ps(abs_ps(_mm256_loadu_ps(x + 8 * i)), target, _CMP_EQ_OQ);
        const int mask = _mm256_movemask_ps(hit);
        if (mask)
            return x[8 * i + __builtin_ctz((unsigned)mask)];
    }
    return 0; /* unreachable: amax is one of the |x| */
}

/* Q8_K: iscale = -127/max (max signed), codes nearest_int(iscale * x)
 * (round half to even) clamped to [-128, 127], bsums per 16, d = 1/iscale. */
static inline void kx_from_float_q8_K(const float *x, void *vy, int64_t n)
{
    block_q8_K *y = vy;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        const float max = q8_K_signed_absmax(x);
        if (max == 0) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        const float iscale = -127.f / max;
        const __m256 isv = _mm256_set1_ps(iscale);
        for (int c = 0; c < QK_K / 32; c++) {
            __m256i q[4];
            for (int i = 0; i < 4; i++) {
                __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + 32 * c + 8 * i), isv);
                v = _mm256_round_ps(clamp_nan0_ps(v, -128.f, 127.f),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                q[i] = _mm256_cvttps_epi32(v);
            }
            _mm256_storeu_si256((__m256i *)(y[b].qs + 32 * c), pack_i32x32_to_i8(q));
            y[b].bsums[2 * c] = (int16_t)hsum_i32x8(_mm256_add_epi32(q[0], q[1]));
            y[b].bsums[2 * c + 1] = (int16_t)hsum_i32x8(_mm256_add_epi32(q[2], q[3]));
        }
        y[b].d = 1 / iscale;
    }
}

/* ======================================================================
 * F16 and BF16 conversions (F16C; bf16 with integer rounding, because
 * vcvtneps2bf16 flushes denormal inputs where the reference does not).
 * ==================================================================== */

static inline void kx_from_float_f16(const float *x, void *vy, int64_t n)
{
    uint16_t *y = vy;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++)
        y[i] = f32_to_fp16(x[i]);
}

static inline void kx_to_float_f16(const void *vx, float *y, int64_t n)
{
    const uint16_t *x = vx;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
    for (; i < n; i++)
        y[i] = fp16_to_f32(x[i]);
}

/* Round to nearest even into the top 16 bits; NaNs keep their top bits with
 * the quiet bit forced (f32_to_bf16). */
static inline void kx_from_float_bf16(const float *x, void *vy, int64_t n)
{
    uint16_t *y = vy;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i u = _mm256_castps_si256(_mm256_loadu_ps(x + i));
        const __m256i mag = _mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff));
        const __m256i is_nan = _mm256_cmpgt_epi32(mag, _mm256_set1_epi32(0x7f800000));
        const __m256i top = _mm256_srli_epi32(u, 16);
        const __m256i lsb = _mm256_and_si256(top, _mm256_set1_epi32(1));
        const __m256i bias = _mm256_add_epi32(_mm256_set1_epi32(0x7fff), lsb);
        const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(u, bias), 16);
        const __m256i quiet = _mm256_or_si256(top, _mm256_set1_epi32(0x40));
        const __m256i r = _mm256_blendv_epi8(rounded, quiet, is_nan);
        const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0x08);
        _mm_storeu_si128((__m128i *)(y + i), _mm256_castsi256_si128(packed));
    }
    for (; i < n; i++)
        y[i] = f32_to_bf16(x[i]);
}

static inline __m256 bf16x8_to_ps(const uint16_t *p)
{
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

static inline void kx_to_float_bf16(const void *vx, float *y, int64_t n)
{
    const uint16_t *x = vx;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, bf16x8_to_ps(x + i));
    for (; i < n; i++)
        y[i] = bf16_to_f32(x[i]);
}

#endif
