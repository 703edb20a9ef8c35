/* kernels_avx512_rows16.c — the AVX-512 VNNI row-lane kernels, for small
 * batches (2..8 activation rows: batched decode of several documents,
 * short prompts): Q4_0 and Q8_0 weights against Q8_0 activations, Q4_K and
 * Q6_K against Q8_K (part of the AVX-512 set; kernels_avx512.c's tile
 * entry points call avx512_rows16_matmul, see kernels_avx512.h).
 *
 * The 16-row passes of kernels_avx512_tile16.c put activation rows in the
 * lanes and broadcast the weight codes, which pays off when a weight row
 * is unpacked once for 16..64 activation rows. With eight or fewer, the
 * unpacking (stored, then re-read as broadcasts) and the lane-group sums
 * cost as much as the dot products. Here lane r is weight row r of a group
 * of 16: the 16 rows' blocks are loaded and transposed in registers (four
 * 128-bit rows per vector, a 4x4 dword transpose per 128-bit lane), so one
 * vpdpbusd multiplies the same four codes of 16 weight rows with one
 * broadcast quad of an activation row, and a block's weight vectors serve
 * every activation row of the batch. Each lane then does the reference's
 * float operations, (d_x * d_y) * isum added in block order, so results
 * are bit-identical to vec_dot, and each activation row's 16 results are
 * one contiguous store.
 */
#include "engine/kernels/kernels_avx512.h"

/* ======================================================================
 * Q4_0 and Q8_0 against Q8_0
 * ==================================================================== */

/* A group of 16 weight rows: row r at x + off[r], and the next group's
 * bytes from `next`, which the Q4_0/Q8_0 kernels prefetch meanwhile, in
 * order, `pf_lines` cache lines per block: each row is only a few KiB, too
 * short a stream for the hardware prefetcher, but a group is one
 * contiguous range. (The K-quant kernels prefetch each row's next
 * super-block instead, which measured faster for them.) */
typedef struct kx_rl_group {
    size_t off[16];
    int32_t off32[16];       /* the same, for gathers */
    const char *next;
    int64_t pf_lines;
} kx_rl_group;

static inline void kx_rl_group_set(kx_rl_group *g, int rows, size_t x_stride, const uint8_t *x,
                                   int64_t nb)
{
    for (int r = 0; r < 16; r++) {
        g->off[r] = (size_t)(r < rows ? r : rows - 1) * x_stride;
        g->off32[r] = (int32_t)g->off[r];
    }
    g->next = (const char *)x + 16 * x_stride;
    g->pf_lines = ((int64_t)(16 * x_stride) / 64 + nb - 1) / nb;
}

/* Prefetches the 16 rows' next super-block (K-quants, `bsize` bytes each,
 * the next at `next`). A super-block's arithmetic runs so long that its
 * successor's loads come too late for the out-of-order window to overlap
 * them with it, and the 16 rows are 16 short streams that the hardware
 * prefetcher serves poorly. The lines ending at each row's last byte
 * cover every line of its block not already read (the first line may be
 * the current block's last). */
static inline void kx_rlk_prefetch_block(const uint8_t *next, size_t bsize, const size_t off[16])
{
    const char *last = (const char *)next + bsize - 1;
#pragma GCC unroll 16
    for (int r = 0; r < 16; r++)
#pragma GCC unroll 4
        for (size_t l = 0; l < (bsize + 63) / 64; l++)
            _mm_prefetch(last + off[r] - 64 * l, _MM_HINT_T0);
}

/* Prefetches block b's share of the next group. */
static inline void kx_rl_prefetch_next(const kx_rl_group *g, int64_t b)
{
    const char *p = g->next + (size_t)(b * g->pf_lines) * 64;
    for (int64_t i = 0; i < g->pf_lines; i++)
        _mm_prefetch(p + 64 * i, _MM_HINT_T0);
}

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

/* w[j] = codes 4j..4j+3 of the 16 rows' block at p (unsigned: Q4_0
 * nibbles 0..15, Q8_0 codes ^ 0x80). */
static inline void kx_rl_codes_q4_0(const uint8_t *p, const size_t off[16], __m512i w[8])
{
    __m512i z[4], packed[4];
    kx_rl_load4(p + offsetof(block_q4_0, qs), off, z);
    kx_rl_transpose4(z, packed);
    const __m512i nib = _mm512_set1_epi8(0x0f);
#pragma GCC unroll 16
    for (int j = 0; j < 4; j++) {
        w[j] = _mm512_and_si512(packed[j], nib);
        w[j + 4] = _mm512_and_si512(_mm512_srli_epi16(packed[j], 4), nib);
    }
}

static inline void kx_rl_codes_q8_0(const uint8_t *p, const size_t off[16], __m512i w[8])
{
    const __m512i flip = _mm512_set1_epi8((char)0x80);
#pragma GCC unroll 16
    for (int h = 0; h < 2; h++) {
        __m512i z[4];
        kx_rl_load4(p + offsetof(block_q8_0, qs) + 16 * h, off, z);
        kx_rl_transpose4(z, &w[4 * h]);
#pragma GCC unroll 16
        for (int j = 0; j < 4; j++)
            w[4 * h + j] = _mm512_xor_si512(w[4 * h + j], flip);
    }
}

/* The 16 rows' block scales (the F16 at the start of each block). */
static inline __m512 kx_rl_scales(const uint8_t *p, __m512i off32)
{
    const __m512i h = _mm512_i32gather_epi32(off32, (const void *)p, 1);
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(h));
}

/* The same for an F16 in the high half of the gathered dword (at p + 2),
 * for a scale at the end of a block (nothing read past it). */
static inline __m512 kx_rl_scales_hi(const uint8_t *p, __m512i off32)
{
    const __m512i h = _mm512_i32gather_epi32(off32, (const void *)p, 1);
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(h, 16)));
}

/* Q4_0/Q8_0, 16 rows x nt activation rows, one block (y at the activation
 * rows' block): acc[t] += (d_x * d_y) * isum per lane. */
static inline __attribute__((always_inline)) void
kx_rl_block_32(const uint8_t *p, const size_t off[16], __m512i off32, const uint8_t *y,
               size_t y_stride, const kx_rl_act *a, int nt, int q8, __m512 acc[KX_RL_MAX_TOK])
{
    __m512i w[8];
    if (q8)
        kx_rl_codes_q8_0(p, off, w);
    else
        kx_rl_codes_q4_0(p, off, w);
    const __m512 dx = kx_rl_scales(p, off32);
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
 * Q4_K and Q6_K against Q8_K, the same layout: per super-block
 * the 16 rows' codes are transposed group by group, each scale group's
 * integer dot (vpdpbusd) is multiplied by the 16 rows' group scales
 * (vpmulld) and added; the mins (Q4_K) and the -32 offset (Q6_K) come from
 * the activation's bsums through vpdpwssd; then each lane does the
 * reference's float operations (as kx_ktile16_rows in
 * kernels_avx512_tile16.c).
 * ==================================================================== */

/* Longest K-quant row the row-lane kernels take (super-blocks). */
#define KX_RLK_MAX_SB 128

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

/* isum[t] += scale * sum_j dot(w[j], activation row t's quads at q + 4j). */
static inline __attribute__((always_inline)) void
kx_rlk_group(const __m512i *w, int nquads, __m512i scale, const uint8_t *y, size_t y_stride,
             size_t qoff, int nt, __m512i isum[KX_RL_MAX_TOK])
{
#pragma GCC unroll 16
    for (int t = 0; t < nt; t++) {
        const int8_t *q = ((const block_q8_K *)(y + (size_t)t * y_stride))->qs + qoff;
        __m512i gs = _mm512_setzero_si512();
#pragma GCC unroll 16
        for (int j = 0; j < nquads; j++) {
            int32_t quad;
            memcpy(&quad, q + 4 * j, sizeof quad);
            gs = _mm512_dpbusd_epi32(gs, w[j], _mm512_set1_epi32(quad));
        }
        isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(gs, scale));
    }
}

/* Q4_K, 16 rows x nt activation rows, one super-block: acc[t] += the
 * lane terms d * yd * isum - dmin * yd * min_sum. */
static inline __attribute__((always_inline)) void
kx_rlk_q4_K_block(const uint8_t *p, const size_t off[16], const uint8_t *y, size_t y_stride,
                  const kx_rlk_act *a, int nt, __m512 acc[KX_RL_MAX_TOK])
{
    const __m512i nib = _mm512_set1_epi8(0x0f);
    __m512i z[4], head[4];
    kx_rl_load4(p, off, z);           /* d|dmin, then the 12 scale bytes */
    kx_rl_transpose4(z, head);
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
        kx_rl_load4(p + offsetof(block_q4_K, qs) + 32 * c, off, z);
        kx_rl_transpose4(z, &packed[0]);
        kx_rl_load4(p + offsetof(block_q4_K, qs) + 32 * c + 16, off, z);
        kx_rl_transpose4(z, &packed[4]);
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
kx_rlk_q6_K_block(const uint8_t *p, const size_t off[16], __m512i off32, const uint8_t *y,
                  size_t y_stride, const kx_rlk_act *a, int nt, __m512 acc[KX_RL_MAX_TOK])
{
    __m512i z[4], scw[4];
    kx_rl_load4(p + offsetof(block_q6_K, scales), off, z);
    kx_rl_transpose4(z, scw);
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
            kx_rl_load4(p + 64 * h + 16 * e, off, z);
            kx_rl_transpose4(z, ql_a);
            kx_rl_load4(p + 64 * h + 32 + 16 * e, off, z);
            kx_rl_transpose4(z, ql_b);
            kx_rl_load4(p + offsetof(block_q6_K, qh) + 32 * h + 16 * e, off, z);
            kx_rl_transpose4(z, qh);
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
    const __m512 d = kx_rl_scales_hi(p + offsetof(block_q6_K, d) - 2, off32);
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

/* ======================================================================
 * One loop over the blocks for all four types, one instance per type and
 * batch size, and the matmul over groups of 16 weight rows
 * ==================================================================== */

/* acc[t] (t < nt): the 16 rows' dots with activation row t over nb blocks
 * (super-blocks); act is the type's kx_rl_act or kx_rlk_act array. nt and
 * type are constants at every call, so each batch size and type gets its
 * own unrolled code. */
KX_ALWAYS_INLINE void kx_rl_rows16(const uint8_t *x, const kx_rl_group *g, int64_t nb,
                                   const uint8_t *y, size_t y_stride, const void *act, int nt,
                                   kx_wtype type, __m512 acc[KX_RL_MAX_TOK])
{
    const __m512i off32 = _mm512_loadu_si512(g->off32);
    const size_t bsize = kx_block_bytes(type);
    __m512 sum[KX_RL_MAX_TOK];
#pragma GCC unroll 16
    for (int t = 0; t < nt; t++)
        sum[t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *p = x + (size_t)b * bsize;
        if (kx_wtype_is_k(type))
            kx_rlk_prefetch_block(p + bsize, bsize, g->off);
        else
            kx_rl_prefetch_next(g, b);
        if (type == KX_Q4_0 || type == KX_Q8_0)
            kx_rl_block_32(p, g->off, off32, y + (size_t)b * sizeof(block_q8_0), y_stride,
                           &((const kx_rl_act *)act)[b], nt, type == KX_Q8_0, sum);
        else if (type == KX_Q4_K)
            kx_rlk_q4_K_block(p, g->off, y + (size_t)b * sizeof(block_q8_K), y_stride,
                              &((const kx_rlk_act *)act)[b], nt, sum);
        else
            kx_rlk_q6_K_block(p, g->off, off32, y + (size_t)b * sizeof(block_q8_K), y_stride,
                              &((const kx_rlk_act *)act)[b], nt, sum);
    }
#pragma GCC unroll 16
    for (int t = 0; t < nt; t++)
        acc[t] = sum[t];
}

/* One function per weight type and batch size, nt a constant in each so
 * that each gets its own unrolled code (and its own symbol in a profile),
 * listed by type and batch size in kx_rl_kernels below. */
typedef void (*kx_rl_rows16_fn)(const uint8_t *x, const kx_rl_group *g, int64_t nb,
                                const uint8_t *y, size_t y_stride, const void *act,
                                __m512 acc[KX_RL_MAX_TOK]);

static void kx_rl_q4_0_2(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 2, KX_Q4_0, acc);
}

static void kx_rl_q4_0_3(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 3, KX_Q4_0, acc);
}

static void kx_rl_q4_0_4(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 4, KX_Q4_0, acc);
}

static void kx_rl_q4_0_5(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 5, KX_Q4_0, acc);
}

static void kx_rl_q4_0_6(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 6, KX_Q4_0, acc);
}

static void kx_rl_q4_0_7(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 7, KX_Q4_0, acc);
}

static void kx_rl_q4_0_8(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 8, KX_Q4_0, acc);
}

static void kx_rl_q8_0_2(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 2, KX_Q8_0, acc);
}

static void kx_rl_q8_0_3(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 3, KX_Q8_0, acc);
}

static void kx_rl_q8_0_4(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 4, KX_Q8_0, acc);
}

static void kx_rl_q8_0_5(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 5, KX_Q8_0, acc);
}

static void kx_rl_q8_0_6(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 6, KX_Q8_0, acc);
}

static void kx_rl_q8_0_7(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 7, KX_Q8_0, acc);
}

static void kx_rl_q8_0_8(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 8, KX_Q8_0, acc);
}

static void kx_rl_q4_K_2(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 2, KX_Q4_K, acc);
}

static void kx_rl_q4_K_3(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 3, KX_Q4_K, acc);
}

static void kx_rl_q4_K_4(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 4, KX_Q4_K, acc);
}

static void kx_rl_q4_K_5(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 5, KX_Q4_K, acc);
}

static void kx_rl_q4_K_6(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 6, KX_Q4_K, acc);
}

static void kx_rl_q4_K_7(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 7, KX_Q4_K, acc);
}

static void kx_rl_q4_K_8(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 8, KX_Q4_K, acc);
}

static void kx_rl_q6_K_2(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 2, KX_Q6_K, acc);
}

static void kx_rl_q6_K_3(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 3, KX_Q6_K, acc);
}

static void kx_rl_q6_K_4(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 4, KX_Q6_K, acc);
}

static void kx_rl_q6_K_5(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 5, KX_Q6_K, acc);
}

static void kx_rl_q6_K_6(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 6, KX_Q6_K, acc);
}

static void kx_rl_q6_K_7(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 7, KX_Q6_K, acc);
}

static void kx_rl_q6_K_8(const uint8_t *x, const kx_rl_group *g, int64_t nb, const uint8_t *y,
                         size_t y_stride, const void *act, __m512 acc[KX_RL_MAX_TOK])
{
    kx_rl_rows16(x, g, nb, y, y_stride, act, 8, KX_Q6_K, acc);
}

/* The kernels of each type by batch size (index nt, KX_RL_MIN_TOK..). */
static const kx_rl_rows16_fn kx_rl_kernels[4][KX_RL_MAX_TOK + 1] = {
    [KX_Q4_0] = { NULL, NULL, kx_rl_q4_0_2, kx_rl_q4_0_3, kx_rl_q4_0_4, kx_rl_q4_0_5,
                  kx_rl_q4_0_6, kx_rl_q4_0_7, kx_rl_q4_0_8 },
    [KX_Q8_0] = { NULL, NULL, kx_rl_q8_0_2, kx_rl_q8_0_3, kx_rl_q8_0_4, kx_rl_q8_0_5,
                  kx_rl_q8_0_6, kx_rl_q8_0_7, kx_rl_q8_0_8 },
    [KX_Q4_K] = { NULL, NULL, kx_rl_q4_K_2, kx_rl_q4_K_3, kx_rl_q4_K_4, kx_rl_q4_K_5,
                  kx_rl_q4_K_6, kx_rl_q4_K_7, kx_rl_q4_K_8 },
    [KX_Q6_K] = { NULL, NULL, kx_rl_q6_K_2, kx_rl_q6_K_3, kx_rl_q6_K_4, kx_rl_q6_K_5,
                  kx_rl_q6_K_6, kx_rl_q6_K_7, kx_rl_q6_K_8 },
};

/* s[t][r] for all nr weight rows and nt (KX_RL_MIN_TOK..KX_RL_MAX_TOK)
 * activation rows, given the activation data `act`. Rows go 16 at a time;
 * a last group of fewer repeats its last row in the spare lanes (stored
 * once). */
static void kx_rl_groups(const kx_matmul *m, int64_t nb, const void *act, kx_wtype type)
{
    for (int r0 = 0; r0 < m->nr; r0 += 16) {
        const int rows = m->nr - r0 < 16 ? m->nr - r0 : 16;
        const uint8_t *xg = m->x + (size_t)r0 * m->x_stride;
        kx_rl_group g;
        kx_rl_group_set(&g, rows, m->x_stride, xg, nb);
        __m512 acc[KX_RL_MAX_TOK];
        kx_rl_kernels[type][m->nt](xg, &g, nb, m->y, m->y_stride, act, acc);
        const __mmask16 keep = (__mmask16)((1u << rows) - 1);
        for (int t = 0; t < m->nt; t++)
            _mm512_mask_storeu_ps(m->s + (size_t)t * m->s_stride + (size_t)r0, keep, acc[t]);
    }
}

/* The longest row (blocks, super-blocks) the row-lane kernels take. */
static inline int64_t kx_rl_max_blocks(kx_wtype type)
{
    return kx_wtype_is_k(type) ? KX_RLK_MAX_SB : KX_TILE_MAX_BLOCKS;
}

/* The whole call: the activation data into the scratch (nb kx_rl_act or
 * kx_rlk_act), then the groups of weight rows. */
static void kx_rl_matmul(const kx_matmul *m, kx_wtype type)
{
    const int64_t nb = m->n / kx_block_elems(type);
    if (kx_wtype_is_k(type))
        kx_rlk_act_fill(m->scratch, nb, m->y, m->y_stride, m->nt);
    else
        kx_rl_act_fill(m->scratch, nb, m->y, m->y_stride, m->nt, kx_bias_shift(type));
    kx_rl_groups(m, nb, m->scratch, type);
}

/* ======================================================================
 * The interface (kernels_avx512.h)
 * ==================================================================== */

int avx512_rows16_matmul(const kx_matmul *m, kx_wtype type)
{
    if (m->nt < KX_RL_MIN_TOK || m->nt > KX_RL_MAX_TOK ||
        m->n / kx_block_elems(type) > kx_rl_max_blocks(type))
        return 0;
    kx_rl_matmul(m, type);
    return 1;
}

/* The activation data of a call with 2..8 activation rows (counted for
 * more rows too, as the scratch size must not fall as nt grows). */
size_t avx512_rows16_scratch(int64_t n, int nt, kx_wtype type)
{
    const int64_t nb = n / kx_block_elems(type);
    if (nt < KX_RL_MIN_TOK || nb > kx_rl_max_blocks(type))
        return 0;
    return (size_t)nb * (kx_wtype_is_k(type) ? sizeof(kx_rlk_act) : sizeof(kx_rl_act));
}
