/* kernels_avx2.c — the AVX2 + FMA + F16C kernel set (compiled with those
 * flags only; kernels.c calls in here only on CPUs that have them).
 *
 * The kernel bodies live in kernels_x86.h, shared with the AVX-512 set;
 * this file instantiates them with AVX2 primitives (vpmaddubsw + vpmaddwd)
 * and lists them. Every type has a SIMD vec_dot here; quantizers other than
 * the activation types (Q8_0, Q8_1, Q8_K, F16, BF16) and the quantized
 * dequantizers stay the reference's (they are not on the hot path).
 */
#include "engine/kernels.h"
#include "engine/kernels_x86.h"

/* ---- attention (see attn_kernels in kernels.h) ------------------------ */

/* Four query heads against 16 positions per pass (8 accumulators); the
 * last n_kv % 16 positions are summed one at a time in float. Fewer heads
 * than four repeat the last one; its results are not stored. */
static void avx2_attn_scores(int n_q, int hd, int n_kv, const float *q, const uint16_t *kt,
                             size_t kt_stride, float *s, size_t s_stride)
{
    for (int h0 = 0; h0 < n_q; h0 += 4) {
        const int nh = n_q - h0 < 4 ? n_q - h0 : 4;
        const float *qh[4];
        for (int h = 0; h < 4; h++)
            qh[h] = q + (size_t)(h0 + (h < nh ? h : nh - 1)) * hd;
        int p = 0;
        for (; p + 16 <= n_kv; p += 16) {
            __m256 acc[4][2];
#pragma GCC unroll 4
            for (int h = 0; h < 4; h++)
                acc[h][0] = acc[h][1] = _mm256_setzero_ps();
            for (int d = 0; d < hd; d++) {
                const uint16_t *row = kt + (size_t)d * kt_stride + p;
                const __m256 k0 = f16x8_load(row), k1 = f16x8_load(row + 8);
#pragma GCC unroll 4
                for (int h = 0; h < 4; h++) {
                    const __m256 qv = _mm256_set1_ps(qh[h][d]);
                    acc[h][0] = _mm256_fmadd_ps(qv, k0, acc[h][0]);
                    acc[h][1] = _mm256_fmadd_ps(qv, k1, acc[h][1]);
                }
            }
            for (int h = 0; h < nh; h++) {
                _mm256_storeu_ps(s + (size_t)(h0 + h) * s_stride + p, acc[h][0]);
                _mm256_storeu_ps(s + (size_t)(h0 + h) * s_stride + p + 8, acc[h][1]);
            }
        }
        for (; p < n_kv; p++)
            for (int h = 0; h < nh; h++) {
                float sum = 0.0f;
                for (int d = 0; d < hd; d++)
                    sum = fmaf(qh[h][d], half_to_float(kt[(size_t)d * kt_stride + p]), sum);
                s[(size_t)(h0 + h) * s_stride + p] = sum;
            }
    }
}

/* Four query heads against 16 dimensions per pass (8 accumulators); the
 * last hd % 16 dimensions are summed one at a time in float. */
static void avx2_attn_mix(int n_q, int hd, int n_kv, const float *w, size_t w_stride,
                          const uint16_t *v, size_t v_stride, float *out)
{
    for (int h0 = 0; h0 < n_q; h0 += 4) {
        const int nh = n_q - h0 < 4 ? n_q - h0 : 4;
        const float *wh[4];
        for (int h = 0; h < 4; h++)
            wh[h] = w + (size_t)(h0 + (h < nh ? h : nh - 1)) * w_stride;
        int i0 = 0;
        for (; i0 + 16 <= hd; i0 += 16) {
            __m256 acc[4][2];
#pragma GCC unroll 4
            for (int h = 0; h < 4; h++)
                acc[h][0] = acc[h][1] = _mm256_setzero_ps();
            for (int p = 0; p < n_kv; p++) {
                const uint16_t *row = v + (size_t)p * v_stride + i0;
                const __m256 v0 = f16x8_load(row), v1 = f16x8_load(row + 8);
#pragma GCC unroll 4
                for (int h = 0; h < 4; h++) {
                    const __m256 wv = _mm256_set1_ps(wh[h][p]);
                    acc[h][0] = _mm256_fmadd_ps(wv, v0, acc[h][0]);
                    acc[h][1] = _mm256_fmadd_ps(wv, v1, acc[h][1]);
                }
            }
            for (int h = 0; h < nh; h++) {
                _mm256_storeu_ps(out + (size_t)(h0 + h) * hd + i0, acc[h][0]);
                _mm256_storeu_ps(out + (size_t)(h0 + h) * hd + i0 + 8, acc[h][1]);
            }
        }
        for (; i0 < hd; i0++)
            for (int h = 0; h < nh; h++) {
                float sum = 0.0f;
                for (int p = 0; p < n_kv; p++)
                    sum = fmaf(wh[h][p], half_to_float(v[(size_t)p * v_stride + i0]), sum);
                out[(size_t)(h0 + h) * hd + i0] = sum;
            }
    }
}

static const attn_kernels avx2_attn = { "avx2", avx2_attn_scores, avx2_attn_mix };

const attn_kernels *kernels_avx2_attn(void) { return &avx2_attn; }

KX_TRAITS_TABLE(avx2_traits, kx_vec_dot_f32, kx_vec_dot_f16, kx_vec_dot_bf16)

const type_traits *kernels_avx2_traits(uint32_t type)
{
    if (type >= TT_COUNT || !avx2_traits[type].name)
        return NULL;
    return &avx2_traits[type];
}
