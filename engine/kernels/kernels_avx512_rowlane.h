/* kernels_avx512_rowlane.h — the per-block arithmetic of the AVX-512
 * row-lane kernels, shared by the two layouts they read (engine-internal;
 * include only from kernels_avx512_rows16.c and kernels_avx512_packed.c).
 *
 * Lane r of every vector is weight row r of a group of 16. The rows come
 * either from the GGUF layout (kernels_avx512_rows16.c: each 16-byte chunk
 * of the 16 rows' block loaded and transposed per step, the F16 scales
 * gathered) or from the packed layout (kernels_avx512_packed.c: the same
 * vectors stored once at load). A kx_rl_src says which; the block
 * functions below only ask it for "the transposed vectors of the chunk at
 * byte o of the block", so both layouts run the same operations and give
 * the same bits (those of vec_dot, see kernels_avx512_rows16.c).
 */
#ifndef PRECIS_KERNELS_AVX512_ROWLANE_H
#define PRECIS_KERNELS_AVX512_ROWLANE_H

#include "engine/kernels/kernels_avx512.h"

/* z[k] = the 16 bytes at p + off[r] for rows r = k, k + 4, k + 8, k + 12
 * (128-bit lane L holds row k + 4L). */
static inline void kx_rl_load4(const uint8_t *p, const size_t off[16], __m512i z[4])
{
#pragma GCC unroll 16
    for (int k = 0; k < 4; k++) {
        __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(p + off[k])));
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + off[k + 4])), 1);
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + off[k + 8])), 2);
        z[k] = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + off[k + 12])), 3);
    }
}

/* The 4x4 dword transpose of each 128-bit lane of z[0..3]: afterwards
 * element r of w[j] is dword j of row r (with z as kx_rl_load4 fills it). */
static inline void kx_rl_transpose4(const __m512i z[4], __m512i w[4])
{
    const __m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]), t1 = _mm512_unpackhi_epi32(z[0], z[1]);
    const __m512i t2 = _mm512_unpacklo_epi32(z[2], z[3]), t3 = _mm512_unpackhi_epi32(z[2], z[3]);
    w[0] = _mm512_unpacklo_epi64(t0, t2);
    w[1] = _mm512_unpackhi_epi64(t0, t2);
    w[2] = _mm512_unpacklo_epi64(t1, t3);
    w[3] = _mm512_unpackhi_epi64(t1, t3);
}

/* Longest K-quant row the row-lane kernels take (super-blocks). */
#define KX_RLK_MAX_SB 128

/* Where one block of 16 weight rows is read from: the GGUF layout (row r
 * at p + off[r], scales gathered at off32) or a packed K-quant block at p:
 * each 16-byte chunk of the block as its four transposed vectors in a
 * 256-byte slot, then (Q6_K) the 16 rows' F16 scales. Q4_K's slots follow
 * its chunks; Q6_K's follow the order kx_rlk_q6_K_block reads them
 * (kx_rl_q6_K_slot), so that decode reads every packed block front to
 * back (measured on one AMD Zen 4 core, Q6_K from DRAM: 4 activation rows
 * 10.7 -> 13.3 GB/s, 8 rows 8.2 -> 9.0; without prefetching, 1 row 9 ->
 * 18). */
typedef enum kx_rl_layout { KX_RL_GGUF, KX_RL_PACKED, KX_RL_PACKED_Q6_K } kx_rl_layout;

typedef struct kx_rl_src {
    const uint8_t *p;
    const size_t *off;
    __m512i off32;
    kx_rl_layout layout;
} kx_rl_src;

/* The packed slot of Q6_K's chunk c (bytes 16c..16c+15 of a block): the
 * scales (chunk 12) first, then for each half h and column e the chunks
 * of ql (4h+e), ql + 32 (4h+2+e) and qh (8+2h+e). */
static inline size_t kx_rl_q6_K_slot(size_t chunk)
{
    static const uint8_t slot[13] = { 1, 4, 2, 5, 7, 10, 8, 11, 3, 6, 9, 12, 0 };
    return slot[chunk];
}

/* The packed slot of a layout's chunk c. */
static inline size_t kx_rl_slot(kx_rl_layout layout, size_t chunk)
{
    return layout == KX_RL_PACKED_Q6_K ? kx_rl_q6_K_slot(chunk) : chunk;
}

/* Bytes of a packed K-quant block of 16 rows: each 16-byte chunk as four
 * vectors (16 x 16 bytes), then for Q6_K the 16 F16 scales. */
static inline size_t kx_rl_packed_k_bytes(kx_wtype type)
{
    return type == KX_Q4_K ? 16 * sizeof(block_q4_K) : 16 * sizeof(block_q6_K);
}

/* w[j] = dword j of the 16-byte chunk at byte o of each row's block. */
KX_ALWAYS_INLINE void kx_rl_vecs(const kx_rl_src *src, size_t o, __m512i w[4])
{
    if (src->layout != KX_RL_GGUF) {
        const uint8_t *slot = src->p + 256 * kx_rl_slot(src->layout, o / 16);
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++)
            w[j] = _mm512_loadu_si512((const void *)(slot + 64 * j));
        return;
    }
    __m512i z[4];
    kx_rl_load4(src->p + o, src->off, z);
    kx_rl_transpose4(z, w);
}

/* The same for an F16 in the high half of the gathered dword (at p + 2),
 * for a scale at the end of a block (nothing read past it). */
static inline __m512 kx_rl_scales_hi(const uint8_t *p, __m512i off32)
{
    const __m512i h = _mm512_i32gather_epi32(off32, (const void *)p, 1);
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(h, 16)));
}

/* The 16 rows' Q6_K scales d (the F16 ending each block). */
KX_ALWAYS_INLINE __m512 kx_rl_q6_K_scales(const kx_rl_src *src)
{
    if (src->layout != KX_RL_GGUF)
        return _mm512_cvtph_ps(_mm256_loadu_si256(
            (const __m256i *)(src->p + 16 * offsetof(block_q6_K, d))));
    return kx_rl_scales_hi(src->p + offsetof(block_q6_K, d) - 2, src->off32);
}

/* Q4_0/Q8_0: acc[t] += (d_x * d_y) * isum per lane for one block, given
 * the block's code vectors w (unsigned codes) and the rows' scales dx; y
 * at the activation rows' block. */
KX_ALWAYS_INLINE void kx_rl_block_dots(const __m512i w[8], __m512 dx, const uint8_t *y,
                                       size_t y_stride, const kx_rl_act *a, int nt,
                                       __m512 acc[KX_RL_MAX_TOK])
{
#pragma GCC unroll 16
    for (int t = 0; t < nt; t++) {
        const block_q8_0 *yb = (const block_q8_0 *)(y + (size_t)t * y_stride);
        __m512i isum = _mm512_set1_epi32(a->bias[t]);
#pragma GCC unroll 16
        for (int j = 0; j < 8; j++) {
            int32_t quad;
            memcpy(&quad, yb->qs + 4 * j, sizeof quad);
            isum = _mm512_dpbusd_epi32(isum, w[j], _mm512_set1_epi32(quad));
        }
        const __m512 dd = _mm512_mul_ps(dx, _mm512_set1_ps(a->d[t]));
        acc[t] = _mm512_add_ps(acc[t], _mm512_mul_ps(dd, _mm512_cvtepi32_ps(isum)));
    }
}

/* ======================================================================
 * Q4_K and Q6_K against Q8_K: per super-block the 16 rows' codes are
 * transposed group by group, each scale group's integer dot (vpdpbusd) is
 * multiplied by the 16 rows' group scales (vpmulld) and added; the mins
 * (Q4_K) and the -32 offset (Q6_K) come from the activation's bsums
 * through vpdpwssd; then each lane does the reference's float operations
 * (as kx_ktile16_rows in kernels_avx512_tile16.c).
 * ==================================================================== */

/* Lane r of the result: byte k of dword v's lane r, zero- or sign-extended. */
static inline __m512i kx_rl_byte_u(__m512i v, int k)
{
    return _mm512_and_si512(_mm512_srli_epi32(v, 8 * k), _mm512_set1_epi32(0xff));
}

static inline __m512i kx_rl_byte_s(__m512i v, int k)
{
    return _mm512_srai_epi32(_mm512_slli_epi32(v, 24 - 8 * k), 24);
}

/* int16 pair (lo, hi) of two int32 vectors whose values fit int16. */
static inline __m512i kx_rl_pair16(__m512i lo, __m512i hi)
{
    return _mm512_or_si512(_mm512_and_si512(lo, _mm512_set1_epi32(0xffff)),
                           _mm512_slli_epi32(hi, 16));
}

/* isum[t] += scale * sum_j dot(w[j], activation row t's quads at q + 4j).
 * With one activation row the dots go into two chains (even and odd j)
 * added at the end: the same integers, and half the dependent vpdpbusd,
 * so the out-of-order window reaches the next loads sooner (one AMD Zen 4
 * core, Q4_K from DRAM: 28-31 -> 33-35 GB/s; batches have a chain per
 * row already). */
static inline __attribute__((always_inline)) void
kx_rlk_group(const __m512i *w, int nquads, __m512i scale, const uint8_t *y, size_t y_stride,
             size_t qoff, int nt, __m512i isum[KX_RL_MAX_TOK])
{
    const int chains = nt == 1 ? 2 : 1;
#pragma GCC unroll 16
    for (int t = 0; t < nt; t++) {
        const int8_t *q = ((const block_q8_K *)(y + (size_t)t * y_stride))->qs + qoff;
        __m512i gs[2] = { _mm512_setzero_si512(), _mm512_setzero_si512() };
#pragma GCC unroll 16
        for (int j = 0; j < nquads; j++) {
            int32_t quad;
            memcpy(&quad, q + 4 * j, sizeof quad);
            gs[j % chains] = _mm512_dpbusd_epi32(gs[j % chains], w[j], _mm512_set1_epi32(quad));
        }
        const __m512i sum = chains == 2 ? _mm512_add_epi32(gs[0], gs[1]) : gs[0];
        isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(sum, scale));
    }
}

/* Q4_K, 16 rows x nt activation rows, one super-block: acc[t] += the
 * lane terms d * yd * isum - dmin * yd * min_sum. */
static inline __attribute__((always_inline)) void
kx_rlk_q4_K_block(const kx_rl_src *src, const uint8_t *y, size_t y_stride, const kx_rlk_act *a,
                  int nt, __m512 acc[KX_RL_MAX_TOK])
{
    const __m512i nib = _mm512_set1_epi8(0x0f);
    __m512i head[4];
    kx_rl_vecs(src, 0, head);         /* d|dmin, then the 12 scale bytes */
    const __m512i low6 = _mm512_set1_epi32(0x3f3f3f3f), low4 = _mm512_set1_epi32(0x0f0f0f0f);
    const __m512i hi2 = _mm512_set1_epi32(0x30303030);
    const __m512i w0 = head[1], w1 = head[2], w2 = head[3];
    const __m512i sc03 = _mm512_and_si512(w0, low6), m03 = _mm512_and_si512(w1, low6);
    const __m512i sc47 = _mm512_or_si512(_mm512_and_si512(w2, low4),
                                         _mm512_and_si512(_mm512_srli_epi32(w0, 2), hi2));
    const __m512i m47 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(w2, 4), low4),
                                        _mm512_and_si512(_mm512_srli_epi32(w1, 2), hi2));
    __m512i isum[KX_RL_MAX_TOK];
#pragma GCC unroll 16
    for (int t = 0; t < nt; t++)
        isum[t] = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        __m512i packed[8];
        kx_rl_vecs(src, offsetof(block_q4_K, qs) + 32 * c, &packed[0]);
        kx_rl_vecs(src, offsetof(block_q4_K, qs) + 32 * c + 16, &packed[4]);
        const __m512i sc_lo = kx_rl_byte_u(c < 2 ? sc03 : sc47, (2 * c) % 4);
        const __m512i sc_hi = kx_rl_byte_u(c < 2 ? sc03 : sc47, (2 * c + 1) % 4);
        __m512i w[8];
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
            w[j] = _mm512_and_si512(packed[j], nib);
        kx_rlk_group(w, 8, sc_lo, y, y_stride, (size_t)64 * c, nt, isum);
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
            w[j] = _mm512_and_si512(_mm512_srli_epi16(packed[j], 4), nib);
        kx_rlk_group(w, 8, sc_hi, y, y_stride, (size_t)64 * c + 32, nt, isum);
    }
    __m512i mpair[4];
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) {
        const __m512i m = q < 2 ? m03 : m47;
        mpair[q] = kx_rl_pair16(kx_rl_byte_u(m, (2 * q) % 4), kx_rl_byte_u(m, (2 * q + 1) % 4));
    }
    const __m512 d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(head[0]));
    const __m512 dmin = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(head[0], 16)));
#pragma GCC unroll 16
    for (int t = 0; t < nt; t++) {
        __m512i msum = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++)
            msum = _mm512_dpwssd_epi32(msum, mpair[q], _mm512_set1_epi32(a->bs4[q][t]));
        const __m512 dy = _mm512_set1_ps(a->d[t]);
        const __m512 dyd = _mm512_mul_ps(d, dy), myd = _mm512_mul_ps(dmin, dy);
        const __m512 term = _mm512_sub_ps(_mm512_mul_ps(dyd, _mm512_cvtepi32_ps(isum[t])),
                                          _mm512_mul_ps(myd, _mm512_cvtepi32_ps(msum)));
        acc[t] = _mm512_add_ps(acc[t], term);
    }
}

/* Q6_K, 16 rows x nt activation rows, one super-block: acc[t] += the lane
 * terms d * yd * (isum - 32 * sum of scale x bsum). */
static inline __attribute__((always_inline)) void
kx_rlk_q6_K_block(const kx_rl_src *src, const uint8_t *y, size_t y_stride, const kx_rlk_act *a,
                  int nt, __m512 acc[KX_RL_MAX_TOK])
{
    __m512i scw[4];
    kx_rl_vecs(src, offsetof(block_q6_K, scales), scw);
    __m512i isum[KX_RL_MAX_TOK];
#pragma GCC unroll 16
    for (int t = 0; t < nt; t++)
        isum[t] = _mm512_setzero_si512();
    const __m512i nib = _mm512_set1_epi8(0x0f), bits45 = _mm512_set1_epi8(0x30);
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
#pragma GCC unroll 2
        for (int e = 0; e < 2; e++) {
            __m512i ql_a[4], ql_b[4], qh[4];
            kx_rl_vecs(src, (size_t)(64 * h + 16 * e), ql_a);
            kx_rl_vecs(src, (size_t)(64 * h + 32 + 16 * e), ql_b);
            kx_rl_vecs(src, offsetof(block_q6_K, qh) + (size_t)(32 * h + 16 * e), qh);
#pragma GCC unroll 4
            for (int k = 0; k < 4; k++) {
                __m512i w[4];
#pragma GCC unroll 4
                for (int j = 0; j < 4; j++) {
                    const __m512i ql = k % 2 == 0 ? ql_a[j] : ql_b[j];
                    const __m512i lo = k < 2 ? _mm512_and_si512(ql, nib)
                                             : _mm512_and_si512(_mm512_srli_epi16(ql, 4), nib);
                    const __m512i hi = k == 0 ? _mm512_slli_epi16(qh[j], 4)
                                     : k == 1 ? _mm512_slli_epi16(qh[j], 2)
                                     : k == 2 ? qh[j]
                                              : _mm512_srli_epi16(qh[j], 2);
                    w[j] = _mm512_or_si512(lo, _mm512_and_si512(hi, bits45));
                }
                /* run k (elements 128h + 32k + 16e .. + 15, scale group g):
                 * low nibbles of ql_a, of ql_b, high nibbles of ql_a, of
                 * ql_b, topped with qh bits 2k, 2k + 1. */
                const int g = 8 * h + 2 * k + e;
                kx_rlk_group(w, 4, kx_rl_byte_s(scw[g / 4], g % 4), y, y_stride, (size_t)16 * g,
                             nt, isum);
            }
        }
    }
    __m512i spair[8];
#pragma GCC unroll 8
    for (int q = 0; q < 8; q++)
        spair[q] = kx_rl_pair16(kx_rl_byte_s(scw[q / 2], (2 * q) % 4),
                                kx_rl_byte_s(scw[q / 2], (2 * q + 1) % 4));
    const __m512 d = kx_rl_q6_K_scales(src);
#pragma GCC unroll 16
    for (int t = 0; t < nt; t++) {
        const int16_t *bs = ((const block_q8_K *)(y + (size_t)t * y_stride))->bsums;
        __m512i bsum = _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int q = 0; q < 8; q++) {
            int32_t pair;
            memcpy(&pair, bs + 2 * q, sizeof pair);
            bsum = _mm512_dpwssd_epi32(bsum, spair[q], _mm512_set1_epi32(pair));
        }
        const __m512i is = _mm512_sub_epi32(isum[t], _mm512_slli_epi32(bsum, 5));
        const __m512 dyd = _mm512_mul_ps(d, _mm512_set1_ps(a->d[t]));
        acc[t] = _mm512_add_ps(acc[t], _mm512_mul_ps(dyd, _mm512_cvtepi32_ps(is)));
    }
}


#endif
