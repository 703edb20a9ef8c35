/* kernels_avx512.c — the AVX-512 (F/BW/VL/DQ + VNNI + BF16) kernel set
 * (compiled with those flags; kernels.c calls in here only on CPUs that
 * have them all): its float dots, attention and element-wise kernels, its
 * tile entry points and its type table.
 *
 * The quantized one-row dots, the activation quantizers and the shared
 * tiles are kernels_x86*.h's, compiled here with the VNNI primitives
 * (vpdpbusd for u8 x s8 dot products, vpdpwssd for the int16 scale
 * multiply-accumulate). The one-row dots and the 8 x 1 decode tiles use
 * 256-bit vectors: on Zen 4 a 512-bit op costs two 256-bit ones, the
 * blocks are 32 bytes wide, and the exact per-block integer sums the
 * bit-exact contract needs are cheaper to reduce from 256-bit vectors. The
 * kernels for two or more activation rows (kernels_avx512_rows16.c for
 * 2..8, kernels_avx512_tile16.c for more) and the float dots below use
 * 512-bit vectors, 16 independent sums per vector.
 */
#include "engine/kernels/kernels.h"
#include "engine/kernels/kernels_avx512.h"
#include "engine/kernels/kernels_x86_quant.h"

/* Float dots, 16 elements per step: float products (exact for the half
 * types, rounded like the reference's for f32) added in double. */
static inline void add_products_pd512(__m512d acc[2], __m512 prod)
{
    acc[0] = _mm512_add_pd(acc[0], _mm512_cvtps_pd(_mm512_castps512_ps256(prod)));
    acc[1] = _mm512_add_pd(acc[1], _mm512_cvtps_pd(_mm512_extractf32x8_ps(prod, 1)));
}

/* Elements i..i+15 of an F32, F16 or BF16 row as 16 floats. */
typedef __m512 (*row_load16)(const void *row, int64_t i);

static inline __m512 f32x16_at(const void *row, int64_t i)
{
    return _mm512_loadu_ps((const float *)row + i);
}

static inline __m512 f16x16_at(const void *row, int64_t i)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)row + i)));
}

static inline __m512 bf16x16_at(const void *row, int64_t i)
{
    const __m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)row + i));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* The loop of the three types: load16 gives 16 elements of a row as
 * floats, elem one element (the last n % 16). */
KX_ALWAYS_INLINE void avx512_dot_float_double(int64_t n, float *s, const void *x, const void *y,
                                              row_load16 load16, kx_elem_at elem)
{
    __m512d acc[4] = { _mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd(),
                       _mm512_setzero_pd() };
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        add_products_pd512(&acc[0], _mm512_mul_ps(load16(x, i), load16(y, i)));
        add_products_pd512(&acc[2], _mm512_mul_ps(load16(x, i + 16), load16(y, i + 16)));
    }
    for (; i + 16 <= n; i += 16)
        add_products_pd512(&acc[0], _mm512_mul_ps(load16(x, i), load16(y, i)));
    double sum = _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(acc[0], acc[1]),
                                                    _mm512_add_pd(acc[2], acc[3])));
    for (; i < n; i++)
        sum += (double)(elem(x, i) * elem(y, i));
    *s = (float)sum;
}

static void avx512_vec_dot_f32(int64_t n, float *s, const void *x, const void *y)
{
    avx512_dot_float_double(n, s, x, y, f32x16_at, kx_f32_at);
}

static void avx512_vec_dot_f16(int64_t n, float *s, const void *x, const void *y)
{
    avx512_dot_float_double(n, s, x, y, f16x16_at, kx_f16_at);
}

static void avx512_vec_dot_bf16(int64_t n, float *s, const void *x, const void *y)
{
    avx512_dot_float_double(n, s, x, y, bf16x16_at, kx_bf16_at);
}

/* ---- attention (see attn_kernels in kernels.h) ------------------------ */

/* The first `n` (0..16) of 16 lanes. */
static inline __mmask16 lanes_16(int n)
{
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

static inline __m512 f16x16_maskz_load(__mmask16 m, const uint16_t *p)
{
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}

/* Eight query heads against 32 positions per pass: each K row segment is
 * loaded once for the eight heads (16 accumulators). Fewer heads than
 * eight repeat the last one; its results are not stored. */
static void avx512_attn_scores(int n_q, int hd, int n_kv, const float *q, const uint16_t *kt,
                               size_t kt_stride, float *s, size_t s_stride)
{
    for (int h0 = 0; h0 < n_q; h0 += 8) {
        const int nh = n_q - h0 < 8 ? n_q - h0 : 8;
        const float *qh[8];
        for (int h = 0; h < 8; h++)
            qh[h] = q + (size_t)(h0 + (h < nh ? h : nh - 1)) * hd;
        for (int p = 0; p < n_kv; p += 32) {
            const __mmask16 m0 = lanes_16(n_kv - p), m1 = lanes_16(n_kv - p - 16);
            __m512 acc[8][2];
#pragma GCC unroll 8
            for (int h = 0; h < 8; h++)
                acc[h][0] = acc[h][1] = _mm512_setzero_ps();
            for (int d = 0; d < hd; d++) {
                const uint16_t *row = kt + (size_t)d * kt_stride + p;
                const __m512 k0 = f16x16_maskz_load(m0, row);
                const __m512 k1 = f16x16_maskz_load(m1, row + 16);
#pragma GCC unroll 8
                for (int h = 0; h < 8; h++) {
                    const __m512 qv = _mm512_set1_ps(qh[h][d]);
                    acc[h][0] = _mm512_fmadd_ps(qv, k0, acc[h][0]);
                    acc[h][1] = _mm512_fmadd_ps(qv, k1, acc[h][1]);
                }
            }
            for (int h = 0; h < nh; h++) {
                float *out = s + (size_t)(h0 + h) * s_stride + p;
                _mm512_mask_storeu_ps(out, m0, acc[h][0]);
                _mm512_mask_storeu_ps(out + 16, m1, acc[h][1]);
            }
        }
    }
}

/* Four query heads against 64 dimensions per pass: each V row segment is
 * loaded once for the four heads (16 accumulators). */
static void avx512_attn_mix(int n_q, int hd, int n_kv, const float *w, size_t w_stride,
                            const uint16_t *v, size_t v_stride, float *out)
{
    for (int h0 = 0; h0 < n_q; h0 += 4) {
        const int nh = n_q - h0 < 4 ? n_q - h0 : 4;
        const float *wh[4];
        for (int h = 0; h < 4; h++)
            wh[h] = w + (size_t)(h0 + (h < nh ? h : nh - 1)) * w_stride;
        for (int i0 = 0; i0 < hd; i0 += 64) {
            __mmask16 m[4];
            __m512 acc[4][4];
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) {
                m[j] = lanes_16(hd - i0 - 16 * j);
                for (int h = 0; h < 4; h++)
                    acc[h][j] = _mm512_setzero_ps();
            }
            for (int p = 0; p < n_kv; p++) {
                const uint16_t *row = v + (size_t)p * v_stride + i0;
                __m512 vv[4];
#pragma GCC unroll 4
                for (int j = 0; j < 4; j++)
                    vv[j] = f16x16_maskz_load(m[j], row + 16 * j);
#pragma GCC unroll 4
                for (int h = 0; h < 4; h++) {
                    const __m512 wv = _mm512_set1_ps(wh[h][p]);
#pragma GCC unroll 4
                    for (int j = 0; j < 4; j++)
                        acc[h][j] = _mm512_fmadd_ps(wv, vv[j], acc[h][j]);
                }
            }
            for (int h = 0; h < nh; h++)
                for (int j = 0; j < 4; j++)
                    _mm512_mask_storeu_ps(out + (size_t)(h0 + h) * hd + i0 + 16 * j, m[j],
                                          acc[h][j]);
        }
    }
}

static const attn_kernels avx512_attn = { "avx512", avx512_attn_scores, avx512_attn_mix };

const attn_kernels *kernels_avx512_attn(void) { return &avx512_attn; }

/* ---- element-wise kernels (see vec_kernels in kernels.h) -------------- */

/* exp of 16 floats (see kx_exp_taylor in kernels_x86.h); scalef applies
 * 2^k, rounding correctly into the subnormals and overflowing to +inf.
 * NaN inputs come out as themselves. */
static inline __m512 exp_ps512(__m512 x)
{
    const __m512 xc = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(KX_EXP_LO)),
                                    _mm512_set1_ps(KX_EXP_HI));
    const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(KX_LOG2E)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(KX_LN2_HI), xc);
    r = _mm512_fnmadd_ps(k, _mm512_set1_ps(KX_LN2_LO), r);
    __m512 p = _mm512_set1_ps(kx_exp_taylor[0]);
    for (int i = 1; i < 8; i++)
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kx_exp_taylor[i]));
    const __m512 y = _mm512_scalef_ps(p, k);
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), y, x);
}

/* Mask of the first min(left, 16) lanes (all ones for whole vectors). */
static inline __mmask16 tail_mask16(int64_t left)
{
    return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
}

static void avx512_softmax(float *s, int n, float scale)
{
    const __m512 vscale = _mm512_set1_ps(scale);
    __m512 vmax = _mm512_set1_ps(-INFINITY);
    for (int i = 0; i < n; i += 16) {
        const __mmask16 m = tail_mask16(n - i);
        const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, s + i), vscale);
        _mm512_mask_storeu_ps(s + i, m, v);
        vmax = _mm512_mask_max_ps(vmax, m, v, vmax);
    }
    const __m512 max = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
    __m512 vsum = _mm512_setzero_ps();
    for (int i = 0; i < n; i += 16) {
        const __mmask16 m = tail_mask16(n - i);
        const __m512 e = exp_ps512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, s + i), max));
        _mm512_mask_storeu_ps(s + i, m, e);
        vsum = _mm512_mask_add_ps(vsum, m, vsum, e);
    }
    const __m512 inv = _mm512_set1_ps((float)(1.0 / (double)_mm512_reduce_add_ps(vsum)));
    for (int i = 0; i < n; i += 16) {
        const __mmask16 m = tail_mask16(n - i);
        _mm512_mask_storeu_ps(s + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, s + i), inv));
    }
}

static void avx512_swiglu(float *gate, const float *up, int64_t n)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = tail_mask16(n - i);
        const __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
        const __m512 e = exp_ps512(_mm512_sub_ps(_mm512_setzero_ps(), g));
        const __m512 silu = _mm512_div_ps(g, _mm512_add_ps(one, e));
        _mm512_mask_storeu_ps(gate + i, m, _mm512_mul_ps(silu, _mm512_maskz_loadu_ps(m, up + i)));
    }
}

static const vec_kernels avx512_vec = { "avx512", avx512_softmax, avx512_swiglu };

const vec_kernels *kernels_avx512_vec(void) { return &avx512_vec; }

/* ---- tile entry points (type_traits.vec_dot_tile) --------------------- */

/* Q4_0 / Q8_0: 2..8 activation rows take the row-lane kernels; more take
 * the 16-row passes while two or more are left, and a last single row the
 * shared 8x1 tile (rows too long for the AVX-512 passes: the shared
 * tiles, or vec_dot). Q4_K / Q6_K: the same, the 16-row passes while nine
 * or more rows are left, then the shared 1x8 and 8x1 tiles. */
KX_ALWAYS_INLINE void avx512_tile(const kx_matmul *m, kx_wtype type)
{
    if (avx512_rows16_matmul(m, type))
        return;
    const int t0 = avx512_tile16_matmul(m, 0, type);
    if (kx_wtype_is_k(type))
        kx_ktile_rows(m, t0, type);
    else
        kx_tile32_rows(m, t0, type);
}

static inline size_t kx_size_max(size_t a, size_t b)
{
    return a > b ? a : b;
}

/* The largest scratch of the passes a call may run. */
static size_t avx512_tile_scratch(int64_t n, int nt, kx_wtype type)
{
    return kx_size_max(kx_size_max(kx_tiles_scratch(n, nt, type), avx512_pack_scratch(n, nt, type)),
                       kx_size_max(avx512_tile16_scratch(n, nt, type),
                                   avx512_rows16_scratch(n, nt, type)));
}

static void avx512_vec_dot_tile_q4_0(int64_t n, int nr, int nt, float *s, size_t s_stride,
                                     const void *x, size_t x_stride, const void *y,
                                     size_t y_stride, void *scratch)
{
    const kx_matmul m = { n, nr, nt, s, s_stride, x, x_stride, y, y_stride, scratch };
    avx512_tile(&m, KX_Q4_0);
}

static void avx512_vec_dot_tile_q8_0(int64_t n, int nr, int nt, float *s, size_t s_stride,
                                     const void *x, size_t x_stride, const void *y,
                                     size_t y_stride, void *scratch)
{
    const kx_matmul m = { n, nr, nt, s, s_stride, x, x_stride, y, y_stride, scratch };
    avx512_tile(&m, KX_Q8_0);
}

static void avx512_vec_dot_tile_q4_K(int64_t n, int nr, int nt, float *s, size_t s_stride,
                                     const void *x, size_t x_stride, const void *y,
                                     size_t y_stride, void *scratch)
{
    const kx_matmul m = { n, nr, nt, s, s_stride, x, x_stride, y, y_stride, scratch };
    avx512_tile(&m, KX_Q4_K);
}

static void avx512_vec_dot_tile_q6_K(int64_t n, int nr, int nt, float *s, size_t s_stride,
                                     const void *x, size_t x_stride, const void *y,
                                     size_t y_stride, void *scratch)
{
    const kx_matmul m = { n, nr, nt, s, s_stride, x, x_stride, y, y_stride, scratch };
    avx512_tile(&m, KX_Q6_K);
}

static size_t avx512_vec_dot_tile_q4_0_scratch(int64_t n, int nt)
{
    return avx512_tile_scratch(n, nt, KX_Q4_0);
}

static size_t avx512_vec_dot_tile_q8_0_scratch(int64_t n, int nt)
{
    return avx512_tile_scratch(n, nt, KX_Q8_0);
}

static size_t avx512_vec_dot_tile_q4_K_scratch(int64_t n, int nt)
{
    return avx512_tile_scratch(n, nt, KX_Q4_K);
}

static size_t avx512_vec_dot_tile_q6_K_scratch(int64_t n, int nt)
{
    return avx512_tile_scratch(n, nt, KX_Q6_K);
}

/* The type table: quantized vec_dots and the activation quantizers are
 * kernels_x86*.h's, the float dots and tile entry points this file's; the
 * quantizers of the weight types and the quantized dequantizers are the
 * reference's (not on the hot path). */
static const type_traits avx512_traits[TT_COUNT] = {
    [TT_F32]  = { "f32",  1, sizeof(float),    TT_F32,  quant_ref_to_float_f32,
                  quant_ref_from_float_f32, avx512_vec_dot_f32, NULL, NULL, NULL },
    [TT_F16]  = { "f16",  1, sizeof(uint16_t), TT_F16,  kx_to_float_f16,
                  kx_from_float_f16, avx512_vec_dot_f16, NULL, NULL, NULL },
    [TT_BF16] = { "bf16", 1, sizeof(uint16_t), TT_BF16, kx_to_float_bf16,
                  kx_from_float_bf16, avx512_vec_dot_bf16, NULL, NULL, NULL },
    [TT_Q4_0] = { "q4_0", QK4_0, sizeof(block_q4_0), TT_Q8_0, quant_ref_to_float_q4_0,
                  quant_ref_from_float_q4_0, kx_vec_dot_q4_0, avx512_vec_dot_tile_q4_0,
                  avx512_vec_dot_tile_q4_0_scratch, &avx512_pack_q4_0 },
    [TT_Q4_1] = { "q4_1", QK4_1, sizeof(block_q4_1), TT_Q8_1, quant_ref_to_float_q4_1,
                  quant_ref_from_float_q4_1, kx_vec_dot_q4_1, NULL, NULL, NULL },
    [TT_Q5_0] = { "q5_0", QK5_0, sizeof(block_q5_0), TT_Q8_0, quant_ref_to_float_q5_0,
                  quant_ref_from_float_q5_0, kx_vec_dot_q5_0, NULL, NULL, NULL },
    [TT_Q5_1] = { "q5_1", QK5_1, sizeof(block_q5_1), TT_Q8_1, quant_ref_to_float_q5_1,
                  quant_ref_from_float_q5_1, kx_vec_dot_q5_1, NULL, NULL, NULL },
    [TT_Q8_0] = { "q8_0", QK8_0, sizeof(block_q8_0), TT_Q8_0, quant_ref_to_float_q8_0,
                  kx_from_float_q8_0, kx_vec_dot_q8_0, avx512_vec_dot_tile_q8_0,
                  avx512_vec_dot_tile_q8_0_scratch, &avx512_pack_q8_0 },
    [TT_Q8_1] = { "q8_1", QK8_1, sizeof(block_q8_1), TT_Q8_1, quant_ref_to_float_q8_1,
                  kx_from_float_q8_1, kx_vec_dot_q8_1, NULL, NULL, NULL },
    [TT_Q2_K] = { "q2_K", QK_K, sizeof(block_q2_K), TT_Q8_K, quant_ref_to_float_q2_K,
                  quant_ref_from_float_q2_K, kx_vec_dot_q2_K, NULL, NULL, NULL },
    [TT_Q3_K] = { "q3_K", QK_K, sizeof(block_q3_K), TT_Q8_K, quant_ref_to_float_q3_K,
                  quant_ref_from_float_q3_K, kx_vec_dot_q3_K, NULL, NULL, NULL },
    [TT_Q4_K] = { "q4_K", QK_K, sizeof(block_q4_K), TT_Q8_K, quant_ref_to_float_q4_K,
                  quant_ref_from_float_q4_K, kx_vec_dot_q4_K, avx512_vec_dot_tile_q4_K,
                  avx512_vec_dot_tile_q4_K_scratch, &avx512_pack_q4_K },
    [TT_Q5_K] = { "q5_K", QK_K, sizeof(block_q5_K), TT_Q8_K, quant_ref_to_float_q5_K,
                  quant_ref_from_float_q5_K, kx_vec_dot_q5_K, NULL, NULL, NULL },
    [TT_Q6_K] = { "q6_K", QK_K, sizeof(block_q6_K), TT_Q8_K, quant_ref_to_float_q6_K,
                  quant_ref_from_float_q6_K, kx_vec_dot_q6_K, avx512_vec_dot_tile_q6_K,
                  avx512_vec_dot_tile_q6_K_scratch, &avx512_pack_q6_K },
    [TT_Q8_K] = { "q8_K", QK_K, sizeof(block_q8_K), TT_Q8_K, quant_ref_to_float_q8_K,
                  kx_from_float_q8_K, kx_vec_dot_q8_K, NULL, NULL, NULL },
};

const type_traits *kernels_avx512_traits(uint32_t type)
{
    if (type >= TT_COUNT || !avx512_traits[type].name)
        return NULL;
    return &avx512_traits[type];
}
