/* kernels_avx2.c — the AVX2 + FMA + F16C kernel set (compiled with those
 * flags only; kernels.c calls in here only on CPUs that have them).
 *
 * The quantized one-row dots, the activation quantizers and the tiles are
 * the shared x86 code (kernels_x86.h, kernels_x86_quant.h,
 * kernels_x86_tile.h) compiled here with this file's AVX2 primitives
 * (vpmaddubsw + vpmaddwd); this file owns those primitives, the float dots,
 * the attention and element-wise kernels, the tile entry points and the
 * type table. Every type has a SIMD
 * vec_dot here; quantizers other than the activation types (Q8_0, Q8_1,
 * Q8_K, F16, BF16) and the quantized dequantizers stay the reference's
 * (they are not on the hot path).
 */
#include "engine/kernels/kernels.h"
#include "engine/kernels/kernels_x86.h"
#include "engine/kernels/kernels_x86_quant.h"
#include "engine/kernels/kernels_x86_tile.h"

/* ---- the primitives kernels_x86*.h declare ----------------------------- */

/* vpmaddubsw's int16 pair sums cannot saturate for u <= 128, |s| <= 127
 * (2 * 128 * 127 < 32768). */
static inline __m256i mul_sum_u8s8(__m256i u, __m256i s)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

static inline __m256i madd_acc_i16(__m256i acc, __m256i a, __m256i b)
{
    return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
}

/* Byte j gets byte j/8 of bits, ORed with all bits but bit j%8: it is all
 * ones exactly when bit j is set. */
static inline __m256i bytes_of_bits(uint32_t bits)
{
    const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits),
                                          _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                                            0x0101010101010101, 0));
    const __m256i ored = _mm256_or_si256(v, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    return _mm256_cmpeq_epi8(ored, _mm256_set1_epi64x(-1));
}

/* The tiles' Q8_0 weights keep their signed codes: |x|, sign(y, x), no
 * correction. */
static inline __m256i q8_0_tile_prep(const block_q8_0 *x)
{
    return _mm256_loadu_si256((const __m256i *)x->qs);
}

static inline __m256i q8_0_tile_dot(__m256i w, __m256i y)
{
    return mul_sum_s8s8(w, y);
}

static inline __m256i q8_0_tile_correct(__m256i isum, __m256i ysum)
{
    (void)ysum;
    return isum;
}

/* ---- float dots ------------------------------------------------------ */

/* F32 / F16 / BF16 dots: float products (as the reference), summed in
 * double with four independent accumulators, 8 elements per step. */

static inline void add_products_pd(__m256d acc_lo_hi[2], __m256 prod)
{
    acc_lo_hi[0] = _mm256_add_pd(acc_lo_hi[0], _mm256_cvtps_pd(_mm256_castps256_ps128(prod)));
    acc_lo_hi[1] = _mm256_add_pd(acc_lo_hi[1], _mm256_cvtps_pd(_mm256_extractf128_ps(prod, 1)));
}

static inline double hsum_pd(__m256d v)
{
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

static inline __m256 f16x8_load(const uint16_t *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

/* Elements i..i+7 of an F32, F16 or BF16 row as 8 floats. */
typedef __m256 (*row_load8)(const void *row, int64_t i);

static inline __m256 f32x8_at(const void *row, int64_t i)
{
    return _mm256_loadu_ps((const float *)row + i);
}

static inline __m256 f16x8_at(const void *row, int64_t i)
{
    return f16x8_load((const uint16_t *)row + i);
}

static inline __m256 bf16x8_at(const void *row, int64_t i)
{
    return bf16x8_to_ps((const uint16_t *)row + i);
}

/* The loop of the three types: load8 gives 8 elements of a row as floats,
 * elem one element (the last n % 8). */
KX_ALWAYS_INLINE void avx2_dot_float_double(int64_t n, float *s, const void *x, const void *y,
                                            row_load8 load8, kx_elem_at elem)
{
    __m256d acc[4] = { _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(),
                       _mm256_setzero_pd() };
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        add_products_pd(&acc[0], _mm256_mul_ps(load8(x, i), load8(y, i)));
        add_products_pd(&acc[2], _mm256_mul_ps(load8(x, i + 8), load8(y, i + 8)));
    }
    for (; i + 8 <= n; i += 8)
        add_products_pd(&acc[0], _mm256_mul_ps(load8(x, i), load8(y, i)));
    double sum = hsum_pd(_mm256_add_pd(_mm256_add_pd(acc[0], acc[1]),
                                       _mm256_add_pd(acc[2], acc[3])));
    for (; i < n; i++)
        sum += (double)(elem(x, i) * elem(y, i));
    *s = (float)sum;
}

static void avx2_vec_dot_f32(int64_t n, float *s, const void *x, const void *y)
{
    avx2_dot_float_double(n, s, x, y, f32x8_at, kx_f32_at);
}

static void avx2_vec_dot_f16(int64_t n, float *s, const void *x, const void *y)
{
    avx2_dot_float_double(n, s, x, y, f16x8_at, kx_f16_at);
}

static void avx2_vec_dot_bf16(int64_t n, float *s, const void *x, const void *y)
{
    avx2_dot_float_double(n, s, x, y, bf16x8_at, kx_bf16_at);
}

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

/* ---- element-wise kernels (see vec_kernels in kernels.h) -------------- */

/* 2^k for integral k in [-75, 65], from the exponent bits. */
static inline __m256 pow2_ps256(__m256 k)
{
    const __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
}

/* exp of 8 floats (see kx_exp_taylor in kernels_x86.h); 2^k is applied as
 * 2^(k/2) * 2^(k - k/2), both normal, so the second product rounds
 * correctly into the subnormals or overflows to +inf. NaN kept. */
static inline __m256 exp_ps256(__m256 x)
{
    const __m256 xc = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(KX_EXP_LO)),
                                    _mm256_set1_ps(KX_EXP_HI));
    const __m256 k = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(KX_LOG2E)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(KX_LN2_HI), xc);
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(KX_LN2_LO), r);
    __m256 p = _mm256_set1_ps(kx_exp_taylor[0]);
    for (int i = 1; i < 8; i++)
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kx_exp_taylor[i]));
    const __m256 k1 = _mm256_round_ps(_mm256_mul_ps(k, _mm256_set1_ps(0.5f)),
                                      _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, pow2_ps256(k1)),
                                   pow2_ps256(_mm256_sub_ps(k, k1)));
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

/* Lane mask of the first min(left, 8) lanes, for masked loads and stores. */
static inline __m256i tail_mask8(int64_t left)
{
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(left < 8 ? (int)left : 8), lanes);
}

static inline float hmax_ps256(__m256 v)
{
    float lanes[8], max = -INFINITY;
    _mm256_storeu_ps(lanes, v);
    for (int l = 0; l < 8; l++)
        max = lanes[l] > max ? lanes[l] : max;
    return max;
}

static inline double hsum_ps256(__m256 v)
{
    float lanes[8];
    _mm256_storeu_ps(lanes, v);
    double sum = 0.0;
    for (int l = 0; l < 8; l++)
        sum += (double)lanes[l];
    return sum;
}

/* Whole vectors load and store plainly; the last n % 8 elements go
 * through masks (masked lanes of the max are -inf, of the sum 0). */
static void avx2_softmax(float *s, int n, float scale)
{
    const __m256 vscale = _mm256_set1_ps(scale), neg_inf = _mm256_set1_ps(-INFINITY);
    const int whole = n - n % 8;
    const __m256i tail = tail_mask8(n - whole);
    __m256 vmax = neg_inf;
    for (int i = 0; i < whole; i += 8) {
        const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(s + i), vscale);
        _mm256_storeu_ps(s + i, v);
        vmax = _mm256_max_ps(v, vmax);
    }
    if (whole < n) {
        const __m256 v = _mm256_mul_ps(_mm256_maskload_ps(s + whole, tail), vscale);
        _mm256_maskstore_ps(s + whole, tail, v);
        vmax = _mm256_max_ps(_mm256_blendv_ps(neg_inf, v, _mm256_castsi256_ps(tail)), vmax);
    }
    const __m256 max = _mm256_set1_ps(hmax_ps256(vmax));
    __m256 vsum = _mm256_setzero_ps();
    for (int i = 0; i < whole; i += 8) {
        const __m256 e = exp_ps256(_mm256_sub_ps(_mm256_loadu_ps(s + i), max));
        _mm256_storeu_ps(s + i, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    if (whole < n) {
        const __m256 e = exp_ps256(_mm256_sub_ps(_mm256_maskload_ps(s + whole, tail), max));
        _mm256_maskstore_ps(s + whole, tail, e);
        vsum = _mm256_add_ps(vsum, _mm256_and_ps(e, _mm256_castsi256_ps(tail)));
    }
    const __m256 inv = _mm256_set1_ps((float)(1.0 / hsum_ps256(vsum)));
    for (int i = 0; i < whole; i += 8)
        _mm256_storeu_ps(s + i, _mm256_mul_ps(_mm256_loadu_ps(s + i), inv));
    if (whole < n)
        _mm256_maskstore_ps(s + whole, tail,
                            _mm256_mul_ps(_mm256_maskload_ps(s + whole, tail), inv));
}

static inline __m256 swiglu_ps256(__m256 g, __m256 up)
{
    const __m256 e = exp_ps256(_mm256_sub_ps(_mm256_setzero_ps(), g));
    return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), up);
}

static void avx2_swiglu(float *gate, const float *up, int64_t n)
{
    const int64_t whole = n - n % 8;
    for (int64_t i = 0; i < whole; i += 8)
        _mm256_storeu_ps(gate + i, swiglu_ps256(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
    if (whole < n) {
        const __m256i m = tail_mask8(n - whole);
        _mm256_maskstore_ps(gate + whole, m,
                            swiglu_ps256(_mm256_maskload_ps(gate + whole, m),
                                         _mm256_maskload_ps(up + whole, m)));
    }
}

static const vec_kernels avx2_vec = { "avx2", avx2_softmax, avx2_swiglu };

const vec_kernels *kernels_avx2_vec(void) { return &avx2_vec; }

/* ---- tile entry points (type_traits.vec_dot_tile) --------------------- */

/* Every activation row by the shared tiles of kernels_x86_tile.h. */
static void avx2_vec_dot_tile_q4_0(int64_t n, int nr, int nt, float *s, size_t s_stride,
                                   const void *x, size_t x_stride, const void *y, size_t y_stride,
                                   void *scratch)
{
    const kx_matmul m = { n, nr, nt, s, s_stride, x, x_stride, y, y_stride, scratch };
    kx_tile32_rows(&m, 0, KX_Q4_0);
}

static void avx2_vec_dot_tile_q8_0(int64_t n, int nr, int nt, float *s, size_t s_stride,
                                   const void *x, size_t x_stride, const void *y, size_t y_stride,
                                   void *scratch)
{
    const kx_matmul m = { n, nr, nt, s, s_stride, x, x_stride, y, y_stride, scratch };
    kx_tile32_rows(&m, 0, KX_Q8_0);
}

static void avx2_vec_dot_tile_q4_K(int64_t n, int nr, int nt, float *s, size_t s_stride,
                                   const void *x, size_t x_stride, const void *y, size_t y_stride,
                                   void *scratch)
{
    const kx_matmul m = { n, nr, nt, s, s_stride, x, x_stride, y, y_stride, scratch };
    kx_ktile_rows(&m, 0, KX_Q4_K);
}

static void avx2_vec_dot_tile_q6_K(int64_t n, int nr, int nt, float *s, size_t s_stride,
                                   const void *x, size_t x_stride, const void *y, size_t y_stride,
                                   void *scratch)
{
    const kx_matmul m = { n, nr, nt, s, s_stride, x, x_stride, y, y_stride, scratch };
    kx_ktile_rows(&m, 0, KX_Q6_K);
}

static size_t avx2_vec_dot_tile_q4_0_scratch(int64_t n, int nt)
{
    return kx_tiles_scratch(n, nt, KX_Q4_0);
}

static size_t avx2_vec_dot_tile_q8_0_scratch(int64_t n, int nt)
{
    return kx_tiles_scratch(n, nt, KX_Q8_0);
}

static size_t avx2_vec_dot_tile_q4_K_scratch(int64_t n, int nt)
{
    return kx_tiles_scratch(n, nt, KX_Q4_K);
}

static size_t avx2_vec_dot_tile_q6_K_scratch(int64_t n, int nt)
{
    return kx_tiles_scratch(n, nt, KX_Q6_K);
}

/* The type table: quantized vec_dots and the activation quantizers are
 * kernels_x86*.h's, the float dots and tile entry points this file's; the
 * quantizers of the weight types and the quantized dequantizers are the
 * reference's (not on the hot path). */
static const type_traits avx2_traits[TT_COUNT] = {
    [TT_F32]  = { "f32",  1, sizeof(float),    TT_F32,  quant_ref_to_float_f32,
                  quant_ref_from_float_f32, avx2_vec_dot_f32, NULL, NULL, NULL },
    [TT_F16]  = { "f16",  1, sizeof(uint16_t), TT_F16,  kx_to_float_f16,
                  kx_from_float_f16, avx2_vec_dot_f16, NULL, NULL, NULL },
    [TT_BF16] = { "bf16", 1, sizeof(uint16_t), TT_BF16, kx_to_float_bf16,
                  kx_from_float_bf16, avx2_vec_dot_bf16, NULL, NULL, NULL },
    [TT_Q4_0] = { "q4_0", QK4_0, sizeof(block_q4_0), TT_Q8_0, quant_ref_to_float_q4_0,
                  quant_ref_from_float_q4_0, kx_vec_dot_q4_0, avx2_vec_dot_tile_q4_0,
                  avx2_vec_dot_tile_q4_0_scratch, NULL },
    [TT_Q4_1] = { "q4_1", QK4_1, sizeof(block_q4_1), TT_Q8_1, quant_ref_to_float_q4_1,
                  quant_ref_from_float_q4_1, kx_vec_dot_q4_1, NULL, NULL, NULL },
    [TT_Q5_0] = { "q5_0", QK5_0, sizeof(block_q5_0), TT_Q8_0, quant_ref_to_float_q5_0,
                  quant_ref_from_float_q5_0, kx_vec_dot_q5_0, NULL, NULL, NULL },
    [TT_Q5_1] = { "q5_1", QK5_1, sizeof(block_q5_1), TT_Q8_1, quant_ref_to_float_q5_1,
                  quant_ref_from_float_q5_1, kx_vec_dot_q5_1, NULL, NULL, NULL },
    [TT_Q8_0] = { "q8_0", QK8_0, sizeof(block_q8_0), TT_Q8_0, quant_ref_to_float_q8_0,
                  kx_from_float_q8_0, kx_vec_dot_q8_0, avx2_vec_dot_tile_q8_0,
                  avx2_vec_dot_tile_q8_0_scratch, NULL },
    [TT_Q8_1] = { "q8_1", QK8_1, sizeof(block_q8_1), TT_Q8_1, quant_ref_to_float_q8_1,
                  kx_from_float_q8_1, kx_vec_dot_q8_1, NULL, NULL, NULL },
    [TT_Q2_K] = { "q2_K", QK_K, sizeof(block_q2_K), TT_Q8_K, quant_ref_to_float_q2_K,
                  quant_ref_from_float_q2_K, kx_vec_dot_q2_K, NULL, NULL, NULL },
    [TT_Q3_K] = { "q3_K", QK_K, sizeof(block_q3_K), TT_Q8_K, quant_ref_to_float_q3_K,
                  quant_ref_from_float_q3_K, kx_vec_dot_q3_K, NULL, NULL, NULL },
    [TT_Q4_K] = { "q4_K", QK_K, sizeof(block_q4_K), TT_Q8_K, quant_ref_to_float_q4_K,
                  quant_ref_from_float_q4_K, kx_vec_dot_q4_K, avx2_vec_dot_tile_q4_K,
                  avx2_vec_dot_tile_q4_K_scratch, NULL },
    [TT_Q5_K] = { "q5_K", QK_K, sizeof(block_q5_K), TT_Q8_K, quant_ref_to_float_q5_K,
                  quant_ref_from_float_q5_K, kx_vec_dot_q5_K, NULL, NULL, NULL },
    [TT_Q6_K] = { "q6_K", QK_K, sizeof(block_q6_K), TT_Q8_K, quant_ref_to_float_q6_K,
                  quant_ref_from_float_q6_K, kx_vec_dot_q6_K, avx2_vec_dot_tile_q6_K,
                  avx2_vec_dot_tile_q6_K_scratch, NULL },
    [TT_Q8_K] = { "q8_K", QK_K, sizeof(block_q8_K), TT_Q8_K, quant_ref_to_float_q8_K,
                  kx_from_float_q8_K, kx_vec_dot_q8_K, NULL, NULL, NULL },
};

const type_traits *kernels_avx2_traits(uint32_t type)
{
    if (type >= TT_COUNT || !avx2_traits[type].name)
        return NULL;
    return &avx2_traits[type];
}
