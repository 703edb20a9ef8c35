/* kernels_avx512.h — the AVX-512 set's internal interface: its definitions
 * of the primitives kernels_x86*.h declare (AVX-512 VNNI and BW), and the
 * passes of kernels_avx512_tile16.c (activation rows in lanes, 16 per pass)
 * and kernels_avx512_rows16.c (weight rows in lanes, 2..8 activation rows)
 * that the tile entry points in kernels_avx512.c run before the shared
 * tiles of kernels_x86_tile.h (engine-internal; include only from
 * kernels_avx512*.c, which are compiled with the AVX-512 flags).
 */
#ifndef PRECIS_KERNELS_AVX512_H
#define PRECIS_KERNELS_AVX512_H

#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VNNI__)
#error "kernels_avx512*.c need the AVX-512 flags (ISA_AVX512 in the Makefile)"
#endif

#include "engine/kernels/kernels_x86_tile.h"

/* ---- the primitives kernels_x86*.h declare ----------------------------- */

/* vpdpbusd: no intermediate saturation at all. */
static inline __m256i mul_sum_u8s8(__m256i u, __m256i s)
{
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
}

static inline __m256i madd_acc_i16(__m256i acc, __m256i a, __m256i b)
{
    return _mm256_dpwssd_epi32(acc, a, b);
}

static inline __m256i bytes_of_bits(uint32_t bits)
{
    return _mm256_movm_epi8((__mmask32)bits);
}

/* The tiles' Q8_0 weights as unsigned codes x ^ 0x80 (vpdpbusd), whose dot
 * with y is the signed codes' dot + 128 * sum(y). */
static inline __m256i q8_0_tile_prep(const block_q8_0 *x)
{
    const __m256i v = _mm256_loadu_si256((const __m256i *)x->qs);
    return _mm256_xor_si256(v, _mm256_set1_epi8((char)0x80));
}

static inline __m256i q8_0_tile_dot(__m256i w, __m256i y)
{
    return mul_sum_u8s8(w, y);
}

static inline __m256i q8_0_tile_correct(__m256i isum, __m256i ysum)
{
    return _mm256_sub_epi32(isum, _mm256_slli_epi32(ysum, 7));
}

/* ---- the passes --------------------------------------------------------- */

/* Elements of one weight block (super-block for the K-quants). */
static inline int64_t kx_block_elems(kx_wtype type)
{
    return kx_wtype_is_k(type) ? QK_K : 32;
}

/* The int32 holding int16 lo in its low half and hi in its high half. */
static inline int32_t kx_i16_pair(int lo, int hi)
{
    return (int32_t)((uint32_t)(uint16_t)(int16_t)lo | (uint32_t)(uint16_t)(int16_t)hi << 16);
}

/* ---- the row-lane kernels' activation data (rows16 and packed) -------- */

/* Fewest and most activation rows the row-lane kernels take (one row is
 * the 8 x 1 tile's). */
#define KX_RL_MIN_TOK 2
#define KX_RL_MAX_TOK 8

/* Per activation block, each activation row's scale and the integer
 * correction of the unsigned weight codes, -(sum of its codes << shift),
 * which starts that row's dot. */
typedef struct kx_rl_act {
    float d[KX_RL_MAX_TOK];
    int32_t bias[KX_RL_MAX_TOK];
} kx_rl_act;

static inline void kx_rl_act_fill(kx_rl_act *act, int64_t nb, const uint8_t *y, size_t y_stride,
                                  int nt, int bias_shift)
{
    for (int t = 0; t < nt; t++) {
        const block_q8_0 *yr = (const block_q8_0 *)(y + (size_t)t * y_stride);
        for (int64_t b = 0; b < nb; b++) {
            act[b].d[t] = half_to_float(yr[b].d);
            act[b].bias[t] = -(int32_t)((uint32_t)q8_0_code_sum(&yr[b]) << bias_shift);
        }
    }
}

/* Per super-block, each activation row's scale and the int16 pairs of its
 * bsums summed per 32 elements (sum of 64p..64p+31, of 64p+32..64p+63). */
typedef struct kx_rlk_act {
    float d[KX_RL_MAX_TOK];
    int32_t bs4[4][KX_RL_MAX_TOK];
} kx_rlk_act;

static inline void kx_rlk_act_fill(kx_rlk_act *act, int64_t nsb, const uint8_t *y,
                                   size_t y_stride, int nt)
{
    for (int t = 0; t < nt; t++) {
        const block_q8_K *yr = (const block_q8_K *)(y + (size_t)t * y_stride);
        for (int64_t b = 0; b < nsb; b++) {
            const int16_t *bs = yr[b].bsums;
            act[b].d[t] = yr[b].d;
            for (int p = 0; p < 4; p++)
                act[b].bs4[p][t] = kx_i16_pair(bs[4 * p] + bs[4 * p + 1],
                                               bs[4 * p + 2] + bs[4 * p + 3]);
        }
    }
}

/* Weight rows in lanes, for a call with 2..8 activation rows
 * (KX_RL_MIN_TOK..KX_RL_MAX_TOK) and rows short enough: does the whole
 * call and returns 1; else does nothing and returns 0. */
int avx512_rows16_matmul(const kx_matmul *m, kx_wtype type);
size_t avx512_rows16_scratch(int64_t n, int nt, kx_wtype type);

/* Activation rows in lanes, 16 per pass: activation rows [t0, nt) while
 * two or more are left (Q4_0, Q8_0) or nine or more (Q4_K, Q6_K), when the
 * rows are short enough; returns the first activation row not done. */
int avx512_tile16_matmul(const kx_matmul *m, int t0, kx_wtype type);
size_t avx512_tile16_scratch(int64_t n, int nt, kx_wtype type);

/* The packed layouts (kernels_avx512_packed.c) and the scratch their
 * vec_dot needs (0 for a type without one). */
extern const type_pack avx512_pack_q4_0, avx512_pack_q8_0, avx512_pack_q4_K, avx512_pack_q6_K;
size_t avx512_pack_scratch(int64_t n, int nt, kx_wtype type);

/* The shift of the activation code sum that corrects the dot of unsigned
 * weight codes: Q4_0 codes q - 8 (<< 3), Q8_0 codes x ^ 0x80 (<< 7). */
static inline int kx_bias_shift(kx_wtype type)
{
    return type == KX_Q8_0 ? 7 : 3;
}

#endif
