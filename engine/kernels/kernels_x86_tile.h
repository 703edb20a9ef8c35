/* kernels_x86_tile.h — the multi-row dot kernels (type_traits.vec_dot_tile)
 * both x86 kernel sets use: Q4_0 and Q8_0 weights against Q8_0
 * activations, Q4_K and Q6_K against Q8_K, eight dots at once in the lanes
 * of a 256-bit vector (engine-internal; include only from kernels_avx2.c
 * and kernels_avx512*.c). Each set's entry points (in its own file) call
 * kx_tile32_rows / kx_ktile_rows below for the activation rows its own
 * passes leave: the AVX2 set for all of them, the AVX-512 set for what its
 * 16-row passes (kernels_avx512_tile16.c) and row-lane kernels
 * (kernels_avx512_rows16.c) do not take.
 *
 * A matmul is many dots of weight rows with activation rows. One-row
 * vec_dot re-reads and re-unpacks every weight block per activation row and
 * adds each block's term to a single float sum, a chain of dependent adds.
 * Here eight dots run at once, one per SIMD lane: lane l holds weight row
 * l / NT against activation row l % NT, for three tile shapes NR x NT =
 * 1x8 (prefill: a weight block unpacked once for eight activation rows),
 * 2x4 (a few rows, e.g. batched decode) and 8x1 (single-row decode: eight
 * weight rows share one activation block, and eight independent sums hide
 * the add latency).
 *
 * Bit-exactness with vec_dot (and so with quant_ref.c): per block, each
 * lane's integer sum is exact, then each lane does the reference's float
 * operations in its order, (d_x * d_y) * isum added to the lane's sum in
 * block order — the same IEEE single operations, only side by side.
 * The integer sums use unsigned x signed byte products: Q4_0 codes q in
 * 0..15 give sum((q - 8) * y) = sum(q * y) - 8 * sum(y); Q8_0 is each
 * set's own (q8_0_tile_prep, _dot, _correct): with VNNI, codes x give
 * sum(x * y) = sum((x ^ 0x80) * y) - 128 * sum(y) (no saturation in
 * vpdpbusd); plain AVX2 keeps the |x|, sign(y, x) form. The sums of the
 * activation codes are computed once per activation block.
 *
 * Work areas (activation blocks rearranged for the lanes, unpacked weight
 * rows) live in the caller's scratch (type_traits.vec_dot_tile_scratch
 * bytes, 64-byte aligned, one per thread), never on the stack: for long
 * rows and 64-row batches they come to over 700 KiB, more than a thread's
 * stack may hold. Each pass of a call lays its areas out from the start of
 * the scratch (passes run one after the other), and each entry point's
 * _scratch function is the largest of its passes' sizes.
 *
 * Functions taking a `type` (kx_wtype) or a tile shape are always inlined
 * and called with constants, so each type and shape gets its own code.
 */
#ifndef PRECIS_KERNELS_X86_TILE_H
#define PRECIS_KERNELS_X86_TILE_H

#include <stddef.h>

#include "engine/kernels/kernels_x86.h"

/* Longest row the Q4_0 / Q8_0 tiles take (blocks); longer rows use vec_dot. */
#define KX_TILE_MAX_BLOCKS 512

/* Bytes ahead of the current block each weight row is prefetched (the
 * eight interleaved row streams of a tile are more than the hardware
 * prefetcher follows well). */
#define KX_TILE_PREFETCH 384

/* The weight types that have tiles. */
typedef enum kx_wtype { KX_Q4_0, KX_Q8_0, KX_Q4_K, KX_Q6_K } kx_wtype;

static inline int kx_wtype_is_k(kx_wtype type)
{
    return type == KX_Q4_K || type == KX_Q6_K;
}

/* Bytes of one weight block (super-block for the K-quants). */
static inline size_t kx_block_bytes(kx_wtype type)
{
    return type == KX_Q4_0   ? sizeof(block_q4_0)
           : type == KX_Q8_0 ? sizeof(block_q8_0)
           : type == KX_Q4_K ? sizeof(block_q4_K)
                             : sizeof(block_q6_K);
}

/* The type's one-row dot, for the rows outside whole tiles. */
static inline void kx_row_dot(kx_wtype type, int64_t n, float *s, const void *x, const void *y)
{
    switch (type) {
    case KX_Q4_0: kx_vec_dot_q4_0(n, s, x, y); break;
    case KX_Q8_0: kx_vec_dot_q8_0(n, s, x, y); break;
    case KX_Q4_K: kx_vec_dot_q4_K(n, s, x, y); break;
    case KX_Q6_K: kx_vec_dot_q6_K(n, s, x, y); break;
    }
}

/* One call of a tile entry point, as type_traits.vec_dot_tile takes it:
 * s[t * s_stride + r] = vec_dot(n, weight row r, activation row t) for
 * r < nr, t < nt; weight row r at x + r * x_stride, activation row t at
 * y + t * y_stride; scratch the caller's per-thread work area. */
typedef struct kx_matmul {
    int64_t n;
    int nr, nt;
    float *s;
    size_t s_stride;
    const uint8_t *x;
    size_t x_stride;
    const uint8_t *y;
    size_t y_stride;
    void *scratch;
} kx_matmul;

/* The one-row dots of activation rows [t0, nt) with every weight row. */
static inline void kx_row_dots(const kx_matmul *m, int t0, kx_wtype type)
{
    for (int t = t0; t < m->nt; t++)
        for (int r = 0; r < m->nr; r++)
            kx_row_dot(type, m->n, &m->s[(size_t)t * m->s_stride + (size_t)r],
                       m->x + (size_t)r * m->x_stride, m->y + (size_t)t * m->y_stride);
}

/* ======================================================================
 * Q4_0 and Q8_0 weights against Q8_0 activations
 * ==================================================================== */

/* Per activation block, the 8 lanes' activation scale and code sum. */
typedef struct kx_act8 {
    float d[8];
    int32_t sum[8];
} kx_act8;

/* The tiles' lane data of a call, from the scratch: group g's nb blocks
 * at kx_act8_area(scratch, nb, g), for min(nt, KX_TILE_TOKENS / 8) groups
 * (see kx_act8_scratch). */
static inline kx_act8 *kx_act8_area(void *scratch, int64_t nb, int g)
{
    return (kx_act8 *)scratch + (size_t)g * (size_t)nb;
}

/* Sum of the 32 codes of an activation block (exact). */
static inline int32_t q8_0_code_sum(const block_q8_0 *y)
{
    const __m256i v = _mm256_loadu_si256((const __m256i *)y->qs);
    return hsum_i32x8(mul_sum_s8s8(_mm256_set1_epi8(1), v));
}

/* act[b] for lanes l = 0..7 from activation row tok[l % nt] (nt in 1, 4, 8). */
static inline void kx_act8_fill(kx_act8 *act, int64_t nb, const uint8_t *y, size_t y_stride,
                                const int *tok, int nt)
{
    for (int t = 0; t < nt; t++) {
        const block_q8_0 *yr = (const block_q8_0 *)(y + (size_t)tok[t] * y_stride);
        for (int64_t b = 0; b < nb; b++) {
            const float d = half_to_float(yr[b].d);
            const int32_t sum = q8_0_code_sum(&yr[b]);
            for (int l = t; l < 8; l += nt) {
                act[b].d[l] = d;
                act[b].sum[l] = sum;
            }
        }
    }
}

/* Weight block prep (once per block and tile) and the pair dot with an
 * activation block's codes; the correction turns the dot into the signed
 * codes' isum. Q4_0 takes its unsigned codes q and corrects by
 * dot - (sum(y) << 3). Q8_0 is each set's own (defined in kernels_avx2.c
 * and kernels_avx512.h): AVX2 keeps the signed codes (no correction), VNNI
 * flips them to unsigned x ^ 0x80 and corrects by dot - (sum(y) << 7). */
static inline __m256i q8_0_tile_prep(const block_q8_0 *x);
static inline __m256i q8_0_tile_dot(__m256i w, __m256i y);
static inline __m256i q8_0_tile_correct(__m256i isum, __m256i ysum);

static inline __m256i q4_0_tile_prep(const block_q4_0 *x)
{
    return unpack_nibbles_16(x->qs);
}

/* The weight codes of a Q4_0 or Q8_0 block (type a constant). */
KX_ALWAYS_INLINE __m256i kx_tile_prep(const uint8_t *block, kx_wtype type)
{
    return type == KX_Q8_0 ? q8_0_tile_prep((const block_q8_0 *)block)
                           : q4_0_tile_prep((const block_q4_0 *)block);
}

KX_ALWAYS_INLINE __m256i kx_tile_dot(__m256i w, __m256i y, kx_wtype type)
{
    return type == KX_Q8_0 ? q8_0_tile_dot(w, y) : mul_sum_u8s8(w, y);
}

KX_ALWAYS_INLINE __m256i kx_tile_correct(__m256i isum, __m256i ysum, kx_wtype type)
{
    return type == KX_Q8_0 ? q8_0_tile_correct(isum, ysum)
                           : _mm256_sub_epi32(isum, _mm256_slli_epi32(ysum, 3));
}

/* Eight F16 fields of the tile's weight rows as 8 floats: lane l gets the
 * one at byte offset `off` of row xr[l / nt_shape] (a block's scale d at
 * off = the block's offset: every 32-element block starts with it). */
KX_ALWAYS_INLINE __m256 kx_rows_halves_8(const uint8_t *const xr[8], size_t off, int nt_shape)
{
    return _mm256_cvtph_ps(_mm_setr_epi16(
        kx_half_bits(xr[0 / nt_shape] + off), kx_half_bits(xr[1 / nt_shape] + off),
        kx_half_bits(xr[2 / nt_shape] + off), kx_half_bits(xr[3 / nt_shape] + off),
        kx_half_bits(xr[4 / nt_shape] + off), kx_half_bits(xr[5 / nt_shape] + off),
        kx_half_bits(xr[6 / nt_shape] + off), kx_half_bits(xr[7 / nt_shape] + off)));
}

/* The eight lane sums of an NR x NT tile over nb blocks, NT = nt_shape (1,
 * 4 or 8) and NR = 8 / NT: lane l is weight row xr[l / NT] against
 * activation row yr[l % NT] (act: the lanes' activation data). */
KX_ALWAYS_INLINE __m256 kx_tile_lanes(const uint8_t *const xr[8], const block_q8_0 *const yr[8],
                                      const kx_act8 *act, int64_t nb, int nt_shape, kx_wtype type)
{
    const int nr_shape = 8 / nt_shape;
    const size_t bytes = kx_block_bytes(type);
    /* the decode tile's eight rows are next to each other: prefetch the
     * next tile's rows; the others, further along their own rows */
    const ptrdiff_t ahead = nr_shape == 8 ? 8 * (xr[1] - xr[0]) : KX_TILE_PREFETCH;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        __m256i yv[8], p[8];
#pragma GCC unroll 8
        for (int t = 0; t < nt_shape; t++)
            yv[t] = _mm256_loadu_si256((const __m256i *)yr[t][b].qs);
#pragma GCC unroll 8
        for (int r = 0; r < nr_shape; r++) {
            const uint8_t *block = xr[r] + (size_t)b * bytes;
            _mm_prefetch((const char *)block + ahead, _MM_HINT_T0);
            const __m256i w = kx_tile_prep(block, type);
#pragma GCC unroll 8
            for (int t = 0; t < nt_shape; t++)
                p[r * nt_shape + t] = kx_tile_dot(w, yv[t], type);
        }
        const __m256i isum = kx_tile_correct(hsum_i32x8_x8(p),
                                             _mm256_loadu_si256((const __m256i *)act[b].sum), type);
        const __m256 dd = _mm256_mul_ps(kx_rows_halves_8(xr, (size_t)b * bytes, nt_shape),
                                        _mm256_loadu_ps(act[b].d));
        acc = _mm256_add_ps(acc, _mm256_mul_ps(dd, _mm256_cvtepi32_ps(isum)));
    }
    return acc;
}

/* Writes the lanes of one tile: lane l is weight row r0 + l / nt_shape
 * against activation row tok[l % nt_shape]; lanes of padding rows
 * (index >= n_real_tok) are dropped. */
static inline void kx_tile_store(float *s, size_t s_stride, __m256 v, int64_t r0, int nt_shape,
                                 const int *tok, int n_real_tok)
{
    float lanes[8];
    _mm256_storeu_ps(lanes, v);
    for (int l = 0; l < 8; l++) {
        const int t = l % nt_shape;
        if (t < n_real_tok)
            s[(size_t)tok[t] * s_stride + (size_t)(r0 + l / nt_shape)] = lanes[l];
    }
}

/* One group of activation rows run as a tile: its shape's NT, the rows
 * actually used (the rest are padding copies of the first) and the lanes'
 * activation data. */
typedef struct kx_tile_group {
    int shape_nt, used;
    int tok[8];
    const block_q8_0 *yr[8];
} kx_tile_group;

/* Activation rows per pass (a forward micro-batch) and weight rows per
 * cache-resident chunk that all groups of the pass go through. */
#define KX_TILE_TOKENS 32
#define KX_TILE_ROW_CHUNK 32

/* Splits activation rows [t0, t1) into groups: whole 8s (1x8), then a
 * rest of 5..7 as a padded 1x8, 2..4 as a padded 2x4 and 1 as 8x1. */
static inline int kx_tile_plan(kx_tile_group *g, int t0, int t1, const uint8_t *y,
                               size_t y_stride)
{
    int n = 0;
    while (t0 < t1) {
        const int left = t1 - t0;
        kx_tile_group *gr = &g[n++];
        gr->shape_nt = left >= 5 ? 8 : left >= 2 ? 4 : 1;
        gr->used = left < gr->shape_nt ? left : gr->shape_nt;
        for (int t = 0; t < gr->shape_nt; t++) {
            gr->tok[t] = t0 + (t < gr->used ? t : 0);
            gr->yr[t] = (const block_q8_0 *)(y + (size_t)gr->tok[t] * y_stride);
        }
        t0 += gr->used;
    }
    return n;
}

/* The scratch of the 1x8 / 2x4 / 8x1 tiles: one group per 8 activation
 * rows of a pass and one for a rest, at most KX_TILE_TOKENS / 8 and never
 * more than nt. */
static inline size_t kx_act8_scratch(int64_t nb, int nt)
{
    const int groups = nt < KX_TILE_TOKENS / 8 ? nt : KX_TILE_TOKENS / 8;
    return (size_t)groups * (size_t)nb * sizeof(kx_act8);
}

/* Weight rows [c0, c1) against one group: whole tiles of the group's
 * shape, then the rows left over by vec_dot. */
KX_ALWAYS_INLINE void kx_tile_group_rows(const kx_matmul *m, const kx_tile_group *gr,
                                         const kx_act8 *act, int c0, int c1, kx_wtype type)
{
    const int64_t nb = m->n / 32;
    const int shape_nr = 8 / gr->shape_nt;
    int r = c0;
    for (; r + shape_nr <= c1; r += shape_nr) {
        const uint8_t *xr[8];
        for (int i = 0; i < shape_nr; i++)
            xr[i] = m->x + (size_t)(r + i) * m->x_stride;
        const __m256 v = gr->shape_nt == 8   ? kx_tile_lanes(xr, gr->yr, act, nb, 8, type)
                         : gr->shape_nt == 4 ? kx_tile_lanes(xr, gr->yr, act, nb, 4, type)
                                             : kx_tile_lanes(xr, gr->yr, act, nb, 1, type);
        kx_tile_store(m->s, m->s_stride, v, r, gr->shape_nt, gr->tok, gr->used);
    }
    for (; r < c1; r++)
        for (int t = 0; t < gr->used; t++)
            kx_row_dot(type, m->n, &m->s[(size_t)gr->tok[t] * m->s_stride + (size_t)r],
                       m->x + (size_t)r * m->x_stride, m->y + (size_t)gr->tok[t] * m->y_stride);
}

/* Activation rows [t0, nt) of a Q4_0 or Q8_0 call (type): KX_TILE_TOKENS
 * at a time, planned into tile groups, each weight-row chunk through every
 * group. Rows longer than KX_TILE_MAX_BLOCKS blocks use vec_dot. */
KX_ALWAYS_INLINE void kx_tile32_rows(const kx_matmul *m, int t0, kx_wtype type)
{
    const int64_t nb = m->n / 32;
    if (nb > KX_TILE_MAX_BLOCKS) {
        kx_row_dots(m, t0, type);
        return;
    }
    kx_tile_group groups[KX_TILE_TOKENS / 8];
    for (int tp = t0; tp < m->nt; tp += KX_TILE_TOKENS) {
        const int t1 = m->nt - tp < KX_TILE_TOKENS ? m->nt : tp + KX_TILE_TOKENS;
        const int ng = kx_tile_plan(groups, tp, t1, m->y, m->y_stride);
        for (int g = 0; g < ng; g++)
            kx_act8_fill(kx_act8_area(m->scratch, nb, g), nb, m->y, m->y_stride, groups[g].tok,
                         groups[g].shape_nt);
        for (int c0 = 0; c0 < m->nr; c0 += KX_TILE_ROW_CHUNK) {
            const int c1 = m->nr - c0 < KX_TILE_ROW_CHUNK ? m->nr : c0 + KX_TILE_ROW_CHUNK;
            for (int g = 0; g < ng; g++)
                kx_tile_group_rows(m, &groups[g], kx_act8_area(m->scratch, nb, g), c0, c1, type);
        }
    }
}

/* ======================================================================
 * K-quant weights (Q4_K, Q6_K) against Q8_K activations: 1x8 and 8x1
 * tiles. A super-block's unpacking (codes, scales, mins) is done once for
 * eight activation rows; each lane then forms the reference's
 * per-super-block float term, so every result is vec_dot's. One or two
 * activation rows use the 8x1 tile (the padding would cost more than the
 * shared unpacking saves).
 * ==================================================================== */

/* The eight lanes' activation scales of super-block b. */
static inline __m256 q8_K_lane_d(const block_q8_K *const yr[8], int64_t b)
{
    return _mm256_setr_ps(yr[0][b].d, yr[1][b].d, yr[2][b].d, yr[3][b].d, yr[4][b].d, yr[5][b].d,
                          yr[6][b].d, yr[7][b].d);
}

/* A Q4_K super-block unpacked for the tiles: codes of the eight
 * sub-blocks, their scales as int16 lanes, the mins as int16 pairs. */
typedef struct kx_q4_K_prep {
    __m256i w[8], scale[8], m_pairs;
} kx_q4_K_prep;

static inline void q4_K_prep(const block_q4_K *xb, kx_q4_K_prep *p)
{
    const __m256i nib = _mm256_set1_epi8(0x0f);
    const __m128i sm = k4_scales_mins(xb->scales);
    const __m256i sc = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));
    const __m128i m16 = _mm_cvtepu8_epi16(_mm_srli_si128(sm, 8));
    p->m_pairs = _mm256_set_m128i(_mm_unpackhi_epi16(m16, m16), _mm_unpacklo_epi16(m16, m16));
#pragma GCC unroll 8
    for (int k = 0; k < 4; k++) {
        const __m256i q = _mm256_loadu_si256((const __m256i *)(xb->qs + 32 * k));
        p->w[2 * k] = _mm256_and_si256(q, nib);
        p->w[2 * k + 1] = _mm256_and_si256(_mm256_srli_epi16(q, 4), nib);
        p->scale[2 * k] = k4_broadcast_scale(sc, 2 * k);
        p->scale[2 * k + 1] = k4_broadcast_scale(sc, 2 * k + 1);
    }
}

/* The int32x8 parts of isum and of min_sum for one activation block. */
static inline void q4_K_parts(const kx_q4_K_prep *p, const block_q8_K *y, __m256i *pi, __m256i *pm)
{
    __m256i a = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++)
        a = madd_acc_i16(a, _mm256_maddubs_epi16(p->w[k], load_y32(y, 32 * k)), p->scale[k]);
    *pi = a;
    *pm = _mm256_madd_epi16(p->m_pairs, _mm256_loadu_si256((const __m256i *)y->bsums));
}

/* Lane term of Q4_K: d * yd * isum - dmin * yd * min_sum (q4_K_block_dot),
 * d, dmin and yd per lane. */
static inline __m256 q4_K_lane_term(__m256 d, __m256 dmin, __m256 yd, __m256i isum, __m256i msum)
{
    const __m256 dyd = _mm256_mul_ps(d, yd), myd = _mm256_mul_ps(dmin, yd);
    return _mm256_sub_ps(_mm256_mul_ps(dyd, _mm256_cvtepi32_ps(isum)),
                         _mm256_mul_ps(myd, _mm256_cvtepi32_ps(msum)));
}

/* Q4_K, one weight row x eight activation rows. */
static inline __m256 q4_K_tile_1x8(const block_q4_K *x, const block_q8_K *const yr[8], int64_t nb)
{
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        kx_q4_K_prep p;
        q4_K_prep(&x[b], &p);
        __m256i pi[8], pm[8];
#pragma GCC unroll 8
        for (int t = 0; t < 8; t++)
            q4_K_parts(&p, &yr[t][b], &pi[t], &pm[t]);
        acc = _mm256_add_ps(acc, q4_K_lane_term(_mm256_set1_ps(half_to_float(x[b].d)),
                                                _mm256_set1_ps(half_to_float(x[b].dmin)),
                                                q8_K_lane_d(yr, b), hsum_i32x8_x8(pi),
                                                hsum_i32x8_x8(pm)));
    }
    return acc;
}

/* Decode tiles read eight whole rows, which lie next to each other: bring in
 * the same super-block of the next tile's row (eight rows on), every cache
 * line of it, so the loads of the next tile find it in cache. */
static inline void kx_prefetch_next_tile(const uint8_t *const xr[8], const void *block,
                                         size_t bytes)
{
    const ptrdiff_t tile = 8 * (xr[1] - xr[0]);
    const char *p = (const char *)block + tile;
    for (size_t off = 0; off < bytes + 63; off += 64)
        _mm_prefetch(p + off, _MM_HINT_T0);
}

/* Q4_K, eight weight rows xr[0..7] x one activation row (decode): eight
 * independent lane sums, one reduction tree per super-block. */
static inline __m256 q4_K_tile_8x1(const uint8_t *const xr[8], const block_q8_K *y, int64_t nb)
{
    const size_t bytes = sizeof(block_q4_K);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const size_t off = (size_t)b * bytes;
        __m256i pi[8], pm[8];
#pragma GCC unroll 8
        for (int r = 0; r < 8; r++) {
            const block_q4_K *xb = (const block_q4_K *)(xr[r] + off);
            kx_prefetch_next_tile(xr, xb, bytes);
            kx_q4_K_prep p;
            q4_K_prep(xb, &p);
            q4_K_parts(&p, &y[b], &pi[r], &pm[r]);
        }
        const __m256 d = kx_rows_halves_8(xr, off + offsetof(block_q4_K, d), 1);
        const __m256 dmin = kx_rows_halves_8(xr, off + offsetof(block_q4_K, dmin), 1);
        acc = _mm256_add_ps(acc, q4_K_lane_term(d, dmin, _mm256_set1_ps(y[b].d),
                                                hsum_i32x8_x8(pi), hsum_i32x8_x8(pm)));
    }
    return acc;
}

/* A Q6_K super-block unpacked for the tiles: unsigned codes 0..63 of the
 * eight 32-element parts, the group-pair scales, the scales for bsums. */
typedef struct kx_q6_K_prep {
    __m256i u[8], scale[8], sc16;
} kx_q6_K_prep;

static inline void q6_K_prep(const block_q6_K *xb, kx_q6_K_prep *p)
{
    const __m256i nib = _mm256_set1_epi8(0x0f), bits45 = _mm256_set1_epi8(0x30);
    const __m128i sc = _mm_loadu_si128((const __m128i *)xb->scales);
    const __m256i scales = _mm256_broadcastsi128_si256(sc);
    p->sc16 = _mm256_cvtepi8_epi16(sc);
#pragma GCC unroll 8
    for (int h = 0; h < 2; h++) {
        const __m256i ql0 = _mm256_loadu_si256((const __m256i *)(xb->ql + 64 * h));
        const __m256i ql1 = _mm256_loadu_si256((const __m256i *)(xb->ql + 64 * h + 32));
        const __m256i qh = _mm256_loadu_si256((const __m256i *)(xb->qh + 32 * h));
        p->u[4 * h + 0] = _mm256_or_si256(_mm256_and_si256(ql0, nib),
                                          _mm256_and_si256(_mm256_slli_epi16(qh, 4), bits45));
        p->u[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(ql1, nib),
                                          _mm256_and_si256(_mm256_slli_epi16(qh, 2), bits45));
        p->u[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), nib),
                                          _mm256_and_si256(qh, bits45));
        p->u[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), nib),
                                          _mm256_and_si256(_mm256_srli_epi16(qh, 2), bits45));
#pragma GCC unroll 8
        for (int k = 0; k < 4; k++)
            p->scale[4 * h + k] = group_pair_scales(scales, 4 * h + k);
    }
}

/* The int32x8 parts of the unsigned-code sum and of the scaled bsums. */
static inline void q6_K_parts(const kx_q6_K_prep *p, const block_q8_K *y, __m256i *pi, __m256i *pb)
{
    __m256i a = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++)
        a = madd_acc_i16(a, _mm256_maddubs_epi16(p->u[k], load_y32(y, 32 * k)), p->scale[k]);
    *pi = a;
    *pb = _mm256_madd_epi16(p->sc16, _mm256_loadu_si256((const __m256i *)y->bsums));
}

/* Lane term of Q6_K: d * yd * (isum - 32 * scaled bsums) (q6_K_block_dot). */
static inline __m256 q6_K_lane_term(__m256 d, __m256 yd, __m256i isum, __m256i bsum)
{
    const __m256i is = _mm256_sub_epi32(isum, _mm256_slli_epi32(bsum, 5));
    return _mm256_mul_ps(_mm256_mul_ps(d, yd), _mm256_cvtepi32_ps(is));
}

/* Q6_K, one weight row x eight activation rows. */
static inline __m256 q6_K_tile_1x8(const block_q6_K *x, const block_q8_K *const yr[8], int64_t nb)
{
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        kx_q6_K_prep p;
        q6_K_prep(&x[b], &p);
        __m256i pi[8], pb[8];
#pragma GCC unroll 8
        for (int t = 0; t < 8; t++)
            q6_K_parts(&p, &yr[t][b], &pi[t], &pb[t]);
        acc = _mm256_add_ps(acc, q6_K_lane_term(_mm256_set1_ps(half_to_float(x[b].d)),
                                                q8_K_lane_d(yr, b), hsum_i32x8_x8(pi),
                                                hsum_i32x8_x8(pb)));
    }
    return acc;
}

/* Q6_K, eight weight rows xr[0..7] x one activation row (decode). */
static inline __m256 q6_K_tile_8x1(const uint8_t *const xr[8], const block_q8_K *y, int64_t nb)
{
    const size_t bytes = sizeof(block_q6_K);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const size_t off = (size_t)b * bytes;
        __m256i pi[8], pb[8];
#pragma GCC unroll 8
        for (int r = 0; r < 8; r++) {
            const block_q6_K *xb = (const block_q6_K *)(xr[r] + off);
            kx_prefetch_next_tile(xr, xb, bytes);
            kx_q6_K_prep p;
            q6_K_prep(xb, &p);
            q6_K_parts(&p, &y[b], &pi[r], &pb[r]);
        }
        const __m256 d = kx_rows_halves_8(xr, off + offsetof(block_q6_K, d), 1);
        acc = _mm256_add_ps(acc, q6_K_lane_term(d, _mm256_set1_ps(y[b].d), hsum_i32x8_x8(pi),
                                                hsum_i32x8_x8(pb)));
    }
    return acc;
}

/* The 1x8 tile of a K-quant weight row x (type a constant). */
KX_ALWAYS_INLINE __m256 kx_ktile_1x8(const uint8_t *x, const block_q8_K *const yr[8], int64_t nsb,
                                     kx_wtype type)
{
    return type == KX_Q6_K ? q6_K_tile_1x8((const block_q6_K *)x, yr, nsb)
                           : q4_K_tile_1x8((const block_q4_K *)x, yr, nsb);
}

/* The 8x1 tile of the eight K-quant weight rows from x (type a constant). */
KX_ALWAYS_INLINE __m256 kx_ktile_8x1(const uint8_t *x, size_t x_stride, const block_q8_K *y,
                                     int64_t nsb, kx_wtype type)
{
    const uint8_t *xr[8];
    for (int i = 0; i < 8; i++)
        xr[i] = x + (size_t)i * x_stride;
    return type == KX_Q6_K ? q6_K_tile_8x1(xr, y, nsb) : q4_K_tile_8x1(xr, y, nsb);
}

/* Activation rows [t0, nt) of a Q4_K or Q6_K call (type): eight at a time
 * by the 1x8 tile (a rest of 3..7 padded with copies of its first row),
 * a rest of one or two rows each by the 8x1 tile, whose last nr % 8
 * weight rows use vec_dot. The tiles need no scratch. */
KX_ALWAYS_INLINE void kx_ktile_rows(const kx_matmul *m, int t0, kx_wtype type)
{
    const int64_t nsb = m->n / QK_K;
    while (t0 < m->nt) {
        const int used = m->nt - t0 < 8 ? m->nt - t0 : 8;
        if (used <= 2) {
            for (int t = t0; t < t0 + used; t++) {
                const uint8_t *yt = m->y + (size_t)t * m->y_stride;
                const int one[1] = { t };
                int r = 0;
                for (; r + 8 <= m->nr; r += 8)
                    kx_tile_store(m->s, m->s_stride,
                                  kx_ktile_8x1(m->x + (size_t)r * m->x_stride, m->x_stride,
                                               (const block_q8_K *)yt, nsb, type),
                                  r, 1, one, 1);
                for (; r < m->nr; r++)
                    kx_row_dot(type, m->n, &m->s[(size_t)t * m->s_stride + (size_t)r],
                               m->x + (size_t)r * m->x_stride, yt);
            }
            t0 += used;
            continue;
        }
        int tok[8];
        const block_q8_K *yr[8];
        for (int t = 0; t < 8; t++) {
            tok[t] = t0 + (t < used ? t : 0);
            yr[t] = (const block_q8_K *)(m->y + (size_t)tok[t] * m->y_stride);
        }
        for (int r = 0; r < m->nr; r++) {
            const __m256 v = kx_ktile_1x8(m->x + (size_t)r * m->x_stride, yr, nsb, type);
            kx_tile_store(m->s, m->s_stride, v, r, 8, tok, used);
        }
        t0 += used;
    }
}

/* The scratch of the shared tiles for rows of n elements and at most nt
 * activation rows (the K-quant tiles need none). */
static inline size_t kx_tiles_scratch(int64_t n, int nt, kx_wtype type)
{
    const int64_t nb = n / 32;
    if (kx_wtype_is_k(type) || nb > KX_TILE_MAX_BLOCKS || nt < 1)
        return 0;
    return kx_act8_scratch(nb, nt);
}

#endif
