/* kernels_x86_tile.h — multi-row dot kernels (type_traits.vec_dot_tile):
 * Q4_0 and Q8_0 weights against Q8_0 activations (below), Q4_K and Q6_K
 * against Q8_K (end of file) (engine-internal; included by kernels_x86.h
 * only).
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
 * 0..15 give sum((q - 8) * y) = sum(q * y) - 8 * sum(y); with VNNI, Q8_0
 * codes x give sum(x * y) = sum((x ^ 0x80) * y) - 128 * sum(y) (no
 * saturation in vpdpbusd); plain AVX2 keeps the |x|, sign(y, x) form. The
 * sums of the activation codes are computed once per activation block.
 * With AVX-512 VNNI, batches of 2..8 activation rows take the row-lane
 * kernels of kernels_x86_rows16.h instead (all four types).
 *
 * Work areas (activation blocks rearranged for the lanes, unpacked weight
 * rows) live in the caller's scratch (type_traits.vec_dot_tile_scratch
 * bytes, 64-byte aligned, one per thread), never on the stack: for long
 * rows and 64-row batches they come to over 700 KiB, more than a thread's
 * stack may hold. Each pass of a call lays its areas out from the start of
 * the scratch (passes run one after the other), and each entry point's
 * _scratch function is the largest of its passes' sizes.
 */
#ifndef PRECIS_KERNELS_X86_TILE_H
#define PRECIS_KERNELS_X86_TILE_H

#include "engine/kernels/kernels_x86.h"

/* Longest row the tile kernels take (blocks); longer rows use vec_dot. */
#define KX_TILE_MAX_BLOCKS 512

/* Bytes ahead of the current block each weight row is prefetched (the
 * eight interleaved row streams of a tile are more than the hardware
 * prefetcher follows well). */
#define KX_TILE_PREFETCH 384

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

static inline size_t kx_size_max(size_t a, size_t b)
{
    return a > b ? a : b;
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
 * activation block's codes; `bias_shift` s: isum = dot - (sum(y) << s). */
static inline __m256i q4_0_tile_prep(const block_q4_0 *x)
{
    return unpack_nibbles_16(x->qs);
}

static inline __m256i q4_0_tile_dot(__m256i w, __m256i y)
{
    return mul_sum_u8s8(w, y);
}

static inline __m256i q4_0_tile_correct(__m256i isum, __m256i ysum)
{
    return _mm256_sub_epi32(isum, _mm256_slli_epi32(ysum, 3));
}

static inline __m256i q8_0_tile_prep(const block_q8_0 *x)
{
    const __m256i v = _mm256_loadu_si256((const __m256i *)x->qs);
#ifdef KX_VNNI
    return _mm256_xor_si256(v, _mm256_set1_epi8((char)0x80));
#else
    return v;
#endif
}

static inline __m256i q8_0_tile_dot(__m256i w, __m256i y)
{
#ifdef KX_VNNI
    return mul_sum_u8s8(w, y);
#else
    return mul_sum_s8s8(w, y);
#endif
}

static inline __m256i q8_0_tile_correct(__m256i isum, __m256i ysum)
{
#ifdef KX_VNNI
    return _mm256_sub_epi32(isum, _mm256_slli_epi32(ysum, 7));
#else
    (void)ysum;
    return isum;
#endif
}

/* The eight lanes' weight scales: lane l gets row l / NT's block b. */
#define KX_TILE_DX(xr, NT, b)                                                     \
    _mm256_cvtph_ps(_mm_setr_epi16(                                               \
        (short)(xr)[0 / NT][b].d, (short)(xr)[1 / NT][b].d, (short)(xr)[2 / NT][b].d, \
        (short)(xr)[3 / NT][b].d, (short)(xr)[4 / NT][b].d, (short)(xr)[5 / NT][b].d, \
        (short)(xr)[6 / NT][b].d, (short)(xr)[7 / NT][b].d))

/* name(xr, yr, act, nb): the eight lane sums of an NR x NT tile. */
#define KX_TILE_KERNEL(name, xtype, NR, NT, prep, dot, correct)                   \
    static inline __m256 name(const xtype *const xr[NR], const block_q8_0 *const yr[NT], \
                              const kx_act8 *act, int64_t nb)                     \
    {                                                                             \
        __m256 acc = _mm256_setzero_ps();                                         \
        for (int64_t b = 0; b < nb; b++) {                                        \
            __m256i yv[NT], p[8];                                                 \
            _Pragma("GCC unroll 8")                                               \
            for (int t = 0; t < NT; t++)                                          \
                yv[t] = _mm256_loadu_si256((const __m256i *)yr[t][b].qs);         \
            _Pragma("GCC unroll 8")                                               \
            for (int r = 0; r < NR; r++) {                                        \
                _mm_prefetch((const char *)&xr[r][b] + (NR == 8 ? 8 * ((const char *)xr[1] - \
                             (const char *)xr[0]) : KX_TILE_PREFETCH), _MM_HINT_T0); \
                const __m256i w = prep(&xr[r][b]);                                \
                _Pragma("GCC unroll 8")                                           \
                for (int t = 0; t < NT; t++)                                      \
                    p[r * NT + t] = dot(w, yv[t]);                                \
            }                                                                     \
            const __m256i isum = correct(hsum_i32x8_x8(p),                        \
                                         _mm256_loadu_si256((const __m256i *)act[b].sum)); \
            const __m256 dd = _mm256_mul_ps(KX_TILE_DX(xr, NT, b),                \
                                            _mm256_loadu_ps(act[b].d));           \
            acc = _mm256_add_ps(acc, _mm256_mul_ps(dd, _mm256_cvtepi32_ps(isum))); \
        }                                                                         \
        return acc;                                                               \
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

#if defined(__AVX512F__) && defined(KX_VNNI)
/* ----------------------------------------------------------------------
 * AVX-512 VNNI, 16 activation rows per pass (prefill): the activation
 * blocks are interleaved so that one vpdpbusd multiplies four weight codes
 * (broadcast) with the same four elements of 16 rows, lane t accumulating
 * row t's integer sum directly (no horizontal reduction). Weight rows are
 * unpacked to one unsigned byte per code once for up to four such groups
 * (64 activation rows, a forward micro-batch) and go eight at a time, so
 * each activation load feeds eight vpdpbusd. Batches of 2..8 rows use the
 * same kernel with 2 or 4 code quads per row side by side in a vector.
 * -------------------------------------------------------------------- */
#define KX_TILE16_MAX_BLOCKS 256

/* One activation block of 16 rows: q[i][t] = codes 4i..4i+3 of row t;
 * d the rows' scales; bias the integer correction of the unsigned weight
 * codes, -(sum of the row's codes << bias_shift), the dots' start value. */
typedef struct kx_act16 {
    int8_t q[8][16][4];
    float d[16];
    int32_t bias[16];
} kx_act16;

/* Fills an act16 group for 16 / G activation rows (G = 1, 2 or 4), G quads
 * per row side by side: bytes 64j + 4G*t .. + 4G hold codes 4Gj .. 4Gj +
 * 4G - 1 of row t (lanes G*t .. G*t + G - 1; G = 1 is q[j][t] above). Lane
 * G*t carries row t's bias, the others none; all carry its scale, so after
 * the lane-group sum every lane of the group holds row t's term. */
static inline void kx_act16_fill(kx_act16 *act, int64_t nb, const uint8_t *y, size_t y_stride,
                                 const int *tok, int g, int bias_shift)
{
    const int rows = 16 / g;
    for (int t = 0; t < rows; t++) {
        const block_q8_0 *yr = (const block_q8_0 *)(y + (size_t)tok[t] * y_stride);
        for (int64_t b = 0; b < nb; b++) {
            int8_t *q = &act[b].q[0][0][0];
            for (int j = 0; j < 8 / g; j++)
                memcpy(q + 64 * j + 4 * g * t, yr[b].qs + 4 * g * j, (size_t)(4 * g));
            const float d = half_to_float(yr[b].d);
            for (int l = 0; l < g; l++) {
                act[b].d[g * t + l] = d;
                act[b].bias[g * t + l] = 0;
            }
            act[b].bias[g * t] = -(int32_t)((uint32_t)q8_0_code_sum(&yr[b]) << bias_shift);
        }
    }
}

/* A weight row unpacked for the 16-row passes: one unsigned byte per code
 * (Q4_0: nibbles 0..15; Q8_0: x ^ 0x80) and the block scales as floats.
 * `next` (the same row of the next pass) is prefetched meanwhile. */
typedef struct kx_row16 {
    uint8_t codes[KX_TILE16_MAX_BLOCKS * 32];
    float d[KX_TILE16_MAX_BLOCKS];
} kx_row16;

/* Whole cache lines, so that every area of the scratch stays 64-byte
 * aligned. */
_Static_assert(sizeof(kx_act16) % 64 == 0 && sizeof(kx_row16) % 64 == 0,
               "16-row pass areas are whole cache lines");

#define KX_ROW16_UNPACK(name, xtype, prep)                                        \
    static inline void name(const xtype *x, const xtype *next, int64_t nb, kx_row16 *out) \
    {                                                                             \
        for (int64_t b = 0; b < nb; b++) {                                        \
            _mm_prefetch((const char *)&next[b], _MM_HINT_T0);                     \
            _mm256_storeu_si256((__m256i *)(out->codes + 32 * b), prep(&x[b]));   \
            out->d[b] = half_to_float(x[b].d);                                    \
        }                                                                         \
    }

KX_ROW16_UNPACK(q4_0_row16_unpack, block_q4_0, q4_0_tile_prep)
KX_ROW16_UNPACK(q8_0_row16_unpack, block_q8_0, q8_0_tile_prep)

/* The G quads of a lane group broadcast from a row's codes (block b,
 * vector j): 4G bytes at 32b + 4Gj. */
static inline __m512i kx_codes_bcast(const uint8_t *codes, int64_t b, int j, int g)
{
    const uint8_t *p = codes + 32 * b + 4 * g * j;
    if (g == 1) {
        int32_t quad;
        memcpy(&quad, p, sizeof quad);
        return _mm512_set1_epi32(quad);
    }
    if (g == 2) {
        long long pair;
        memcpy(&pair, p, sizeof pair);
        return _mm512_set1_epi64(pair);
    }
    return _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)p));
}

/* Integer sums of lane groups of G (1, 2 or 4), in every lane of the group. */
static inline __m512i kx_lane_group_sum(__m512i v, int g)
{
    if (g >= 2)
        v = _mm512_add_epi32(v, _mm512_shuffle_epi32(v, _MM_PERM_CDAB));
    if (g == 4)
        v = _mm512_add_epi32(v, _mm512_shuffle_epi32(v, _MM_PERM_BADC));
    return v;
}

/* name(w, act, nb, out): the 16 lane sums of R unpacked weight rows
 * against an act16 group filled for lane groups of G. Per block and row:
 * the integer dot starts at the bias and takes 8 / G vpdpbusd (4G weight
 * codes broadcast against the same codes of the 16 / G activation rows),
 * the lane groups are summed (exact, integer), then the lane term (dx * dy)
 * * isum is added in block order; row t's result is in lane G*t. Each
 * activation load serves R rows; the blocks' dot chains are independent,
 * so out-of-order execution overlaps them. */
#define KX_TILE16_ROWS(name, R, G)                                                \
    static inline void name(const kx_row16 *const w[R], const kx_act16 *act, int64_t nb, \
                            __m512 out[R])                                        \
    {                                                                             \
        __m512 acc[R];                                                            \
        for (int r = 0; r < (R); r++)                                             \
            acc[r] = _mm512_setzero_ps();                                         \
        for (int64_t b = 0; b < nb; b++) {                                        \
            const kx_act16 *a = &act[b];                                          \
            const __m512i bias = _mm512_loadu_si512(a->bias);                     \
            __m512i sum[R];                                                       \
            _Pragma("GCC unroll 8")                                               \
            for (int r = 0; r < (R); r++)                                         \
                sum[r] = bias;                                                    \
            _Pragma("GCC unroll 8")                                               \
            for (int j = 0; j < 8 / (G); j++) {                                   \
                const __m512i y = _mm512_loadu_si512(&a->q[0][0][0] + 64 * j);    \
                _Pragma("GCC unroll 8")                                           \
                for (int r = 0; r < (R); r++)                                     \
                    sum[r] = _mm512_dpbusd_epi32(sum[r], kx_codes_bcast(w[r]->codes, b, j, G), y); \
            }                                                                     \
            const __m512 dy = _mm512_loadu_ps(a->d);                              \
            _Pragma("GCC unroll 8")                                               \
            for (int r = 0; r < (R); r++) {                                       \
                const __m512i isum = kx_lane_group_sum(sum[r], G);                \
                const __m512 dd = _mm512_mul_ps(_mm512_set1_ps(w[r]->d[b]), dy);  \
                acc[r] = _mm512_add_ps(acc[r], _mm512_mul_ps(dd, _mm512_cvtepi32_ps(isum))); \
            }                                                                     \
        }                                                                         \
        for (int r = 0; r < (R); r++)                                             \
            out[r] = acc[r];                                                      \
    }

KX_TILE16_ROWS(kx_tile16_rows8, 8, 1)
KX_TILE16_ROWS(kx_tile8_rows8, 8, 2)
KX_TILE16_ROWS(kx_tile4_rows8, 8, 4)

/* Stores lane t * lane_step of v into s[tok[t]][row] for t < used. */
static inline void kx_lanes_store(float *s, size_t s_stride, __m512 v, int row, const int *tok,
                                  int used, int lane_step)
{
    float lanes[16];
    _mm512_storeu_ps(lanes, v);
    for (int t = 0; t < used; t++)
        s[(size_t)tok[t] * s_stride + (size_t)row] = lanes[t * lane_step];
}

/* Stores eight weight rows' results v[k] (lane t: activation row tok[t])
 * as s[tok[t]][r + k], k < 8, for t < used: the 8 x 16 block is transposed
 * in registers (unpack and shuffle within 128-bit lanes, after which lane j
 * of w[i] holds rows 0..3 of activation row 4j + i and lane j of w[4 + i]
 * its rows 4..7), then each activation row takes two 16-byte stores. */
static inline void kx_rows8_store(float *s, size_t s_stride, const __m512 v[8], int r,
                                  const int *tok, int used)
{
    __m512 t[8], w[8];
    for (int h = 0; h < 2; h++) {
        const __m512 *a = v + 4 * h;
        t[4 * h + 0] = _mm512_unpacklo_ps(a[0], a[1]);
        t[4 * h + 1] = _mm512_unpackhi_ps(a[0], a[1]);
        t[4 * h + 2] = _mm512_unpacklo_ps(a[2], a[3]);
        t[4 * h + 3] = _mm512_unpackhi_ps(a[2], a[3]);
        w[4 * h + 0] = _mm512_shuffle_ps(t[4 * h + 0], t[4 * h + 2], 0x44);
        w[4 * h + 1] = _mm512_shuffle_ps(t[4 * h + 0], t[4 * h + 2], 0xee);
        w[4 * h + 2] = _mm512_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
        w[4 * h + 3] = _mm512_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xee);
    }
    float lanes[8][16];
    for (int i = 0; i < 8; i++)
        _mm512_storeu_ps(lanes[i], w[i]);
    for (int tt = 0; tt < used; tt++) {
        const int j = tt / 4, i = tt % 4;
        float *out = s + (size_t)tok[tt] * s_stride + (size_t)r;
        memcpy(out, &lanes[i][4 * j], 4 * sizeof(float));
        memcpy(out + 4, &lanes[4 + i][4 * j], 4 * sizeof(float));
    }
}

/* Stores the results v[k] of weight rows r + k, k < 8 and r + k < nr, for
 * activation rows tok[t], t < used, whose results sit in lanes t *
 * lane_step: eight whole rows with one lane per activation row go through
 * the transpose, the others lane by lane. */
static inline void kx_rows_store(float *s, size_t s_stride, const __m512 v[8], int r, int nr,
                                 const int *tok, int used, int lane_step)
{
    if (lane_step == 1 && r + 8 <= nr) {
        kx_rows8_store(s, s_stride, v, r, tok, used);
        return;
    }
    for (int k = 0; k < 8 && r + k < nr; k++)
        kx_lanes_store(s, s_stride, v[k], r + k, tok, used, lane_step);
}

/* Activation groups per pass over the weight rows: each weight row is
 * unpacked once for up to 64 activation rows. */
#define KX_TILE16_GROUPS 4

/* The 16-row passes' scratch: the eight unpacked weight rows, then group
 * g's nb activation blocks. Every group takes two or more activation
 * rows, so a call with nt rows fills at most nt / 2 groups. */
static inline kx_row16 *kx_tile16_rows_area(void *scratch)
{
    return scratch;
}

static inline kx_act16 *kx_tile16_act_area(void *scratch, int64_t nb, int g)
{
    return (kx_act16 *)(kx_tile16_rows_area(scratch) + 8) + (size_t)g * (size_t)nb;
}

static inline size_t kx_tile16_scratch(int64_t nb, int nt)
{
    const int groups = nt / 2 < KX_TILE16_GROUPS ? nt / 2 : KX_TILE16_GROUPS;
    if (nb > KX_TILE16_MAX_BLOCKS || groups < 1)
        return 0;
    return 8 * sizeof(kx_row16) + (size_t)groups * (size_t)nb * sizeof(kx_act16);
}

/* Activation rows [t_done, nt) in groups of 16 while at least 9 are left,
 * then one group of 8 if 5..8 are left or of 4 if 2..4 are (rests padded
 * with copies of the group's first row); advances t_done. A single row is
 * left to the 8x1 tile. Weight rows go eight at a time; a last partial
 * eight repeats its last row (computed again, stored once). */
#define KX_TILE16_PASSES(xtype, row_unpack, bias_shift)                           \
    if (nb <= KX_TILE16_MAX_BLOCKS && nt - t_done >= 2) {                         \
        kx_row16 *rows = kx_tile16_rows_area(scratch);                            \
        while (nt - t_done >= 2) {                                                \
            int tok[KX_TILE16_GROUPS][16], used[KX_TILE16_GROUPS], width[KX_TILE16_GROUPS]; \
            int ng = 0;                                                           \
            while (ng < KX_TILE16_GROUPS && nt - t_done >= 2) {                   \
                const int left = nt - t_done;                                     \
                width[ng] = left >= 9 ? 16 : left >= 5 ? 8 : 4;                   \
                used[ng] = left < width[ng] ? left : width[ng];                   \
                for (int t = 0; t < width[ng]; t++)                               \
                    tok[ng][t] = t_done + (t < used[ng] ? t : 0);                 \
                kx_act16_fill(kx_tile16_act_area(scratch, nb, ng), nb, y, y_stride, \
                              tok[ng], 16 / width[ng], bias_shift);               \
                t_done += used[ng++];                                             \
            }                                                                     \
            for (int r = 0; r < nr; r += 8) {                                     \
                int ri[8];                                                        \
                for (int k = 0; k < 8; k++) {                                     \
                    ri[k] = r + k < nr ? r + k : nr - 1;                          \
                    const int rn = ri[k] + 8 < nr ? ri[k] + 8 : ri[k];            \
                    row_unpack((const xtype *)(x + (size_t)ri[k] * x_stride),     \
                               (const xtype *)(x + (size_t)rn * x_stride), nb, &rows[k]); \
                }                                                                 \
                const kx_row16 *wr[8];                                            \
                for (int k = 0; k < 8; k++)                                       \
                    wr[k] = &rows[k];                                             \
                for (int g = 0; g < ng; g++) {                                    \
                    const kx_act16 *act16 = kx_tile16_act_area(scratch, nb, g);   \
                    __m512 v[8];                                                  \
                    const int lane_step = 16 / width[g];                          \
                    if (width[g] == 16)                                           \
                        kx_tile16_rows8(wr, act16, nb, v);                        \
                    else if (width[g] == 8)                                       \
                        kx_tile8_rows8(wr, act16, nb, v);                         \
                    else                                                          \
                        kx_tile4_rows8(wr, act16, nb, v);                         \
                    kx_rows_store(s, s_stride, v, r, nr, tok[g], used[g], lane_step); \
                }                                                                 \
            }                                                                     \
        }                                                                         \
    }
#else
#define KX_TILE16_PASSES(xtype, row_unpack, bias_shift)

static inline size_t kx_tile16_scratch(int64_t nb, int nt)
{
    (void)nb;
    (void)nt;
    return 0;
}
#endif

#include "engine/kernels/kernels_x86_rows16.h"

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

/* The largest scratch of the passes a Q4_0 / Q8_0 call may run. */
static inline size_t kx_tile32_scratch(int64_t n, int nt)
{
    const int64_t nb = n / 32;
    if (nb > KX_TILE_MAX_BLOCKS || nt < 1)
        return 0;
    return kx_size_max(kx_act8_scratch(nb, nt),
                       kx_size_max(kx_tile16_scratch(nb, nt), kx_rl_scratch(nb, nt)));
}

/* The tile entry point of one weight type (see the top of the file); rows
 * outside whole tiles and over-long rows use vec_dot. */
#define KX_TILE_ENTRY(name, xtype, vec_dot, k18, k24, k81, row16_unpack, bias_shift, rl) \
    static size_t name##_scratch(int64_t n, int nt)                               \
    {                                                                             \
        return kx_tile32_scratch(n, nt);                                          \
    }                                                                             \
    static void name(int64_t n, int nr, int nt, float *s, size_t s_stride,        \
                     const void *vx, size_t x_stride, const void *vy, size_t y_stride, \
                     void *scratch)                                               \
    {                                                                             \
        const int64_t nb = n / 32;                                                \
        const uint8_t *x = vx, *y = vy;                                           \
        if (nb > KX_TILE_MAX_BLOCKS) {                                            \
            for (int t = 0; t < nt; t++)                                          \
                for (int r = 0; r < nr; r++)                                      \
                    vec_dot(n, &s[(size_t)t * s_stride + (size_t)r],              \
                            x + (size_t)r * x_stride, y + (size_t)t * y_stride);  \
            return;                                                               \
        }                                                                         \
        KX_RL_PASS(rl, xtype, bias_shift)                                         \
        int t_done = 0;                                                           \
        KX_TILE16_PASSES(xtype, row16_unpack, bias_shift)                                 \
        kx_tile_group groups[KX_TILE_TOKENS / 8];                                 \
        for (int t0 = t_done; t0 < nt; t0 += KX_TILE_TOKENS) {                    \
            const int t1 = nt - t0 < KX_TILE_TOKENS ? nt : t0 + KX_TILE_TOKENS;   \
            const int ng = kx_tile_plan(groups, t0, t1, y, y_stride);             \
            for (int g = 0; g < ng; g++)                                          \
                kx_act8_fill(kx_act8_area(scratch, nb, g), nb, y, y_stride,       \
                             groups[g].tok, groups[g].shape_nt);                  \
            for (int c0 = 0; c0 < nr; c0 += KX_TILE_ROW_CHUNK) {                  \
                const int c1 = nr - c0 < KX_TILE_ROW_CHUNK ? nr : c0 + KX_TILE_ROW_CHUNK; \
                for (int g = 0; g < ng; g++) {                                    \
                    const kx_tile_group *gr = &groups[g];                         \
                    const kx_act8 *act = kx_act8_area(scratch, nb, g);            \
                    const int shape_nr = 8 / gr->shape_nt;                        \
                    int r = c0;                                                   \
                    for (; r + shape_nr <= c1; r += shape_nr) {                   \
                        const xtype *xr[8];                                       \
                        for (int i = 0; i < shape_nr; i++)                        \
                            xr[i] = (const xtype *)(x + (size_t)(r + i) * x_stride); \
                        const __m256 v = gr->shape_nt == 8 ? k18(xr, gr->yr, act, nb) \
                                       : gr->shape_nt == 4 ? k24(xr, gr->yr, act, nb) \
                                                           : k81(xr, gr->yr, act, nb); \
                        kx_tile_store(s, s_stride, v, r, gr->shape_nt, gr->tok, gr->used); \
                    }                                                             \
                    for (; r < c1; r++)                                           \
                        for (int t = 0; t < gr->used; t++)                        \
                            vec_dot(n, &s[(size_t)gr->tok[t] * s_stride + (size_t)r], \
                                    x + (size_t)r * x_stride,                     \
                                    y + (size_t)gr->tok[t] * y_stride);           \
                }                                                                 \
            }                                                                     \
        }                                                                         \
    }

KX_TILE_KERNEL(q4_0_tile_1x8, block_q4_0, 1, 8, q4_0_tile_prep, q4_0_tile_dot, q4_0_tile_correct)
KX_TILE_KERNEL(q4_0_tile_2x4, block_q4_0, 2, 4, q4_0_tile_prep, q4_0_tile_dot, q4_0_tile_correct)
KX_TILE_KERNEL(q4_0_tile_8x1, block_q4_0, 8, 1, q4_0_tile_prep, q4_0_tile_dot, q4_0_tile_correct)
KX_TILE_ENTRY(kx_vec_dot_tile_q4_0, block_q4_0, kx_vec_dot_q4_0,
              q4_0_tile_1x8, q4_0_tile_2x4, q4_0_tile_8x1, q4_0_row16_unpack, 3, kx_rl_q4_0)

KX_TILE_KERNEL(q8_0_tile_1x8, block_q8_0, 1, 8, q8_0_tile_prep, q8_0_tile_dot, q8_0_tile_correct)
KX_TILE_KERNEL(q8_0_tile_2x4, block_q8_0, 2, 4, q8_0_tile_prep, q8_0_tile_dot, q8_0_tile_correct)
KX_TILE_KERNEL(q8_0_tile_8x1, block_q8_0, 8, 1, q8_0_tile_prep, q8_0_tile_dot, q8_0_tile_correct)
KX_TILE_ENTRY(kx_vec_dot_tile_q8_0, block_q8_0, kx_vec_dot_q8_0,
              q8_0_tile_1x8, q8_0_tile_2x4, q8_0_tile_8x1, q8_0_row16_unpack, 7, kx_rl_q8_0)

/* ======================================================================
 * K-quant weights (Q4_K, Q6_K) against Q8_K activations: 1x8 tiles (and,
 * with AVX-512 VNNI, the 16-row passes further down for 9+ rows).
 * A super-block's unpacking (codes, scales, mins) is done once for eight
 * activation rows; each lane then forms the reference's per-super-block
 * float term, so every result is vec_dot's. One or two activation rows use
 * vec_dot (the padding would cost more than the shared unpacking saves).
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
static inline void kx_prefetch_next_tile(const void *const xr[8], int r, const void *block, size_t bytes)
{
    const ptrdiff_t tile = 8 * ((const char *)xr[1] - (const char *)xr[0]);
    const char *p = (const char *)block + tile;
    (void)r;
    for (size_t off = 0; off < bytes + 63; off += 64)
        _mm_prefetch(p + off, _MM_HINT_T0);
}

/* The half `field` of super-block b of eight rows, as 8 floats. */
#define KX_ROWS_HALF8(xr, b, field)                                               \
    _mm256_cvtph_ps(_mm_setr_epi16((short)(xr)[0][b].field, (short)(xr)[1][b].field, \
                                   (short)(xr)[2][b].field, (short)(xr)[3][b].field, \
                                   (short)(xr)[4][b].field, (short)(xr)[5][b].field, \
                                   (short)(xr)[6][b].field, (short)(xr)[7][b].field))

/* Q4_K, eight weight rows x one activation row (decode): eight
 * independent lane sums, one reduction tree per super-block. */
static inline __m256 q4_K_tile_8x1(const block_q4_K *const xr[8], const block_q8_K *y, int64_t nb)
{
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        __m256i pi[8], pm[8];
#pragma GCC unroll 8
        for (int r = 0; r < 8; r++) {
            kx_prefetch_next_tile((const void *const *)xr, r, &xr[r][b], sizeof xr[r][b]);
            kx_q4_K_prep p;
            q4_K_prep(&xr[r][b], &p);
            q4_K_parts(&p, &y[b], &pi[r], &pm[r]);
        }
        acc = _mm256_add_ps(acc, q4_K_lane_term(KX_ROWS_HALF8(xr, b, d), KX_ROWS_HALF8(xr, b, dmin),
                                                _mm256_set1_ps(y[b].d), hsum_i32x8_x8(pi),
                                                hsum_i32x8_x8(pm)));
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

/* Q6_K, eight weight rows x one activation row (decode). */
static inline __m256 q6_K_tile_8x1(const block_q6_K *const xr[8], const block_q8_K *y, int64_t nb)
{
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        __m256i pi[8], pb[8];
#pragma GCC unroll 8
        for (int r = 0; r < 8; r++) {
            kx_prefetch_next_tile((const void *const *)xr, r, &xr[r][b], sizeof xr[r][b]);
            kx_q6_K_prep p;
            q6_K_prep(&xr[r][b], &p);
            q6_K_parts(&p, &y[b], &pi[r], &pb[r]);
        }
        acc = _mm256_add_ps(acc, q6_K_lane_term(KX_ROWS_HALF8(xr, b, d), _mm256_set1_ps(y[b].d),
                                                hsum_i32x8_x8(pi), hsum_i32x8_x8(pb)));
    }
    return acc;
}

#if defined(__AVX512F__) && defined(KX_VNNI)
/* ----------------------------------------------------------------------
 * K-quants, AVX-512 VNNI, 16 activation rows per pass (prefill), as the
 * 32-element types above: one vpdpbusd multiplies four unsigned weight
 * codes (broadcast) with the same four Q8_K codes of 16 rows. Each scale
 * group's integer sum is multiplied by its scale (vpmulld) and added; the
 * mins (Q4_K) and the -32 offset (Q6_K) come from the Q8_K bsums through
 * one vpdpwssd per pair of groups. Every lane's integers are the
 * reference's, then it does the reference's float operations: results are
 * bit-identical to vec_dot.
 * -------------------------------------------------------------------- */
#define KX_K16_MAX_SB (KX_TILE16_MAX_BLOCKS * 32 / QK_K)

/* Weight rows per pass of the 16-row K-quant kernel: each activation load
 * feeds eight vpdpbusd, and eight independent sums hide their latency. */
#define KX_K16_ROWS 8
_Static_assert(KX_K16_ROWS == 8, "kx_rows_store takes eight weight rows");

/* One Q8_K super-block of 16 rows: q[i][t] = codes 4i..4i+3 of row t;
 * bs4[p][t] = int16 pair (sum of codes 64p..64p+31, of 64p+32..64p+63);
 * bs6[p][t] = int16 pair (bsums[2p], bsums[2p+1]); d the rows' scales. */
typedef struct kx_kact16 {
    int8_t q[QK_K / 4][16][4];
    int32_t bs4[4][16];
    int32_t bs6[8][16];
    float d[16];
} kx_kact16;

static inline void kx_kact16_fill(kx_kact16 *act, int64_t nsb, const uint8_t *y, size_t y_stride,
                                  const int tok[16])
{
    for (int t = 0; t < 16; t++) {
        const block_q8_K *yr = (const block_q8_K *)(y + (size_t)tok[t] * y_stride);
        for (int64_t b = 0; b < nsb; b++) {
            for (int i = 0; i < QK_K / 4; i++)
                memcpy(act[b].q[i][t], yr[b].qs + 4 * i, 4);
            const int16_t *bs = yr[b].bsums;
            for (int p = 0; p < 4; p++)
                act[b].bs4[p][t] = kx_i16_pair(bs[4 * p] + bs[4 * p + 1],
                                               bs[4 * p + 2] + bs[4 * p + 3]);
            for (int p = 0; p < 8; p++)
                act[b].bs6[p][t] = kx_i16_pair(bs[2 * p], bs[2 * p + 1]);
            act[b].d[t] = yr[b].d;
        }
    }
}

/* A K-quant weight row unpacked: unsigned codes, the group scales as
 * int32 (Q4_K: 8 of 32 elements; Q6_K: 16 of 16), the int16 pairs the
 * bsum term multiplies (Q4_K: mins; Q6_K: scales) and d, dmin. */
typedef struct kx_krow16 {
    uint8_t codes[KX_K16_MAX_SB * QK_K];
    int32_t sc[KX_K16_MAX_SB][16];
    int32_t pair[KX_K16_MAX_SB][8];
    float d[KX_K16_MAX_SB], dmin[KX_K16_MAX_SB];
} kx_krow16;

_Static_assert(sizeof(kx_kact16) % 64 == 0 && sizeof(kx_krow16) % 64 == 0,
               "16-row K-quant pass areas are whole cache lines");

/* The K-quant 16-row passes' scratch: the KX_K16_ROWS unpacked weight
 * rows, then group g's nsb activation super-blocks (at most nt / 9 groups:
 * each takes nine or more rows). */
static inline kx_krow16 *kx_ktile16_rows_area(void *scratch)
{
    return scratch;
}

static inline kx_kact16 *kx_ktile16_act_area(void *scratch, int64_t nsb, int g)
{
    return (kx_kact16 *)(kx_ktile16_rows_area(scratch) + KX_K16_ROWS) + (size_t)g * (size_t)nsb;
}

static inline size_t kx_ktile16_scratch(int64_t nsb, int nt)
{
    const int groups = nt / 9 < KX_TILE16_GROUPS ? nt / 9 : KX_TILE16_GROUPS;
    if (nsb > KX_K16_MAX_SB || groups < 1)
        return 0;
    return KX_K16_ROWS * sizeof(kx_krow16) + (size_t)groups * (size_t)nsb * sizeof(kx_kact16);
}

/* Prefetches the super-block of the same row of the next pass. */
#define KX_PREFETCH_SB(next, b)                                                   \
    do {                                                                          \
        const char *pf = (const char *)&(next)[b];                                \
        for (size_t off = 0; off < sizeof (next)[b]; off += 64)                   \
            _mm_prefetch(pf + off, _MM_HINT_T0);                                  \
    } while (0)

static inline void q4_K_row16_unpack(const block_q4_K *x, const block_q4_K *next, int64_t nsb,
                                     kx_krow16 *out)
{
    const __m256i nib = _mm256_set1_epi8(0x0f);
    for (int64_t b = 0; b < nsb; b++) {
        KX_PREFETCH_SB(next, b);
        for (int p = 0; p < 4; p++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(x[b].qs + 32 * p));
            _mm256_storeu_si256((__m256i *)(out->codes + QK_K * b + 64 * p), _mm256_and_si256(q, nib));
            _mm256_storeu_si256((__m256i *)(out->codes + QK_K * b + 64 * p + 32),
                                _mm256_and_si256(_mm256_srli_epi16(q, 4), nib));
        }
        /* scales 0..7 as int32; mins 0..7 as int16, i.e. the pairs
         * (m0, m1) .. (m6, m7) as int32 */
        const __m128i sm = k4_scales_mins(x[b].scales);
        _mm256_storeu_si256((__m256i *)out->sc[b], _mm256_cvtepu8_epi32(sm));
        _mm_storeu_si128((__m128i *)out->pair[b], _mm_cvtepu8_epi16(_mm_srli_si128(sm, 8)));
        out->d[b] = half_to_float(x[b].d);
        out->dmin[b] = half_to_float(x[b].dmin);
    }
}

static inline void q6_K_row16_unpack(const block_q6_K *x, const block_q6_K *next, int64_t nsb,
                                     kx_krow16 *out)
{
    const __m256i nib = _mm256_set1_epi8(0x0f), bits45 = _mm256_set1_epi8(0x30);
    for (int64_t b = 0; b < nsb; b++) {
        KX_PREFETCH_SB(next, b);
        uint8_t *c = out->codes + QK_K * b;
        for (int h = 0; h < 2; h++) {
            const __m256i ql0 = _mm256_loadu_si256((const __m256i *)(x[b].ql + 64 * h));
            const __m256i ql1 = _mm256_loadu_si256((const __m256i *)(x[b].ql + 64 * h + 32));
            const __m256i qh = _mm256_loadu_si256((const __m256i *)(x[b].qh + 32 * h));
            const __m256i u[4] = {
                _mm256_or_si256(_mm256_and_si256(ql0, nib),
                                _mm256_and_si256(_mm256_slli_epi16(qh, 4), bits45)),
                _mm256_or_si256(_mm256_and_si256(ql1, nib),
                                _mm256_and_si256(_mm256_slli_epi16(qh, 2), bits45)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), nib),
                                _mm256_and_si256(qh, bits45)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), nib),
                                _mm256_and_si256(_mm256_srli_epi16(qh, 2), bits45)),
            };
            for (int k = 0; k < 4; k++)
                _mm256_storeu_si256((__m256i *)(c + 128 * h + 32 * k), u[k]);
        }
        /* the 16 scales as int32, and as int16 (the pairs as int32) */
        const __m128i sc = _mm_loadu_si128((const __m128i *)x[b].scales);
        _mm512_storeu_si512(out->sc[b], _mm512_cvtepi8_epi32(sc));
        _mm256_storeu_si256((__m256i *)out->pair[b], _mm256_cvtepi8_epi16(sc));
        out->d[b] = half_to_float(x[b].d);
    }
}

/* Integer sums of KX_K16_ROWS rows' groups of GS elements (GS/4 vpdpbusd
 * each) times the groups' scales, added over the super-block's groups. */
#define KX_K16_SCALED_SUMS(GS, w, a, b, isum)                                     \
    do {                                                                          \
        for (int grp = 0; grp < QK_K / (GS); grp++) {                             \
            __m512i gs[KX_K16_ROWS];                                              \
            _Pragma("GCC unroll 8")                                               \
            for (int r = 0; r < KX_K16_ROWS; r++)                                 \
                gs[r] = _mm512_setzero_si512();                                   \
            _Pragma("GCC unroll 8")                                               \
            for (int i = 0; i < (GS) / 4; i++) {                                  \
                const __m512i yv = _mm512_loadu_si512((a)->q[grp * ((GS) / 4) + i]); \
                _Pragma("GCC unroll 8")                                           \
                for (int r = 0; r < KX_K16_ROWS; r++) {                           \
                    int32_t quad;                                                 \
                    memcpy(&quad, (w)[r]->codes + QK_K * (b) + (GS) * grp + 4 * i, 4); \
                    gs[r] = _mm512_dpbusd_epi32(gs[r], _mm512_set1_epi32(quad), yv); \
                }                                                                 \
            }                                                                     \
            _Pragma("GCC unroll 8")                                               \
            for (int r = 0; r < KX_K16_ROWS; r++)                                 \
                (isum)[r] = _mm512_add_epi32(                                     \
                    (isum)[r], _mm512_mullo_epi32(gs[r], _mm512_set1_epi32((w)[r]->sc[b][grp]))); \
        }                                                                         \
    } while (0)

/* sum over pairs p < np of the rows' int16 pairs x the activation's. */
static inline void kx_k16_pair_sums(const kx_krow16 *const w[KX_K16_ROWS], int64_t b,
                                    const int32_t (*bs)[16], int np, __m512i out[KX_K16_ROWS])
{
    for (int r = 0; r < KX_K16_ROWS; r++)
        out[r] = _mm512_setzero_si512();
    for (int p = 0; p < np; p++) {
        const __m512i bv = _mm512_loadu_si512(bs[p]);
#pragma GCC unroll 8
        for (int r = 0; r < KX_K16_ROWS; r++)
            out[r] = _mm512_dpwssd_epi32(out[r], _mm512_set1_epi32(w[r]->pair[b][p]), bv);
    }
}

/* KX_K16_ROWS K-quant rows against one kx_kact16 group, per super-block: the
 * scaled group sums and the bsum term, then the type's lane term
 * (Q4_K: d * yd * isum - dmin * yd * min_sum, as k4_dot_block; Q6_K:
 * d * yd * (isum - 32 * sum of scale x bsum), as q6_K_block_dot). `q6` is
 * a constant at each call, so each type gets its own straight code. */
static inline void kx_ktile16_rows(const kx_krow16 *const w[KX_K16_ROWS], const kx_kact16 *act,
                                   int64_t nsb, int q6, __m512 out[KX_K16_ROWS])
{
    __m512 acc[KX_K16_ROWS];
    for (int r = 0; r < KX_K16_ROWS; r++)
        acc[r] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nsb; b++) {
        const kx_kact16 *a = &act[b];
        __m512i isum[KX_K16_ROWS], bsum[KX_K16_ROWS];
        for (int r = 0; r < KX_K16_ROWS; r++)
            isum[r] = _mm512_setzero_si512();
        if (q6) {
            KX_K16_SCALED_SUMS(16, w, a, b, isum);
            kx_k16_pair_sums(w, b, (const int32_t (*)[16])a->bs6, 8, bsum);
        } else {
            KX_K16_SCALED_SUMS(32, w, a, b, isum);
            kx_k16_pair_sums(w, b, (const int32_t (*)[16])a->bs4, 4, bsum);
        }
        const __m512 dy = _mm512_loadu_ps(a->d);
#pragma GCC unroll 8
        for (int r = 0; r < KX_K16_ROWS; r++) {
            const __m512 dyd = _mm512_mul_ps(_mm512_set1_ps(w[r]->d[b]), dy);
            __m512 term;
            if (q6) {
                const __m512i is = _mm512_sub_epi32(isum[r], _mm512_slli_epi32(bsum[r], 5));
                term = _mm512_mul_ps(dyd, _mm512_cvtepi32_ps(is));
            } else {
                const __m512 myd = _mm512_mul_ps(_mm512_set1_ps(w[r]->dmin[b]), dy);
                term = _mm512_sub_ps(_mm512_mul_ps(dyd, _mm512_cvtepi32_ps(isum[r])),
                                     _mm512_mul_ps(myd, _mm512_cvtepi32_ps(bsum[r])));
            }
            acc[r] = _mm512_add_ps(acc[r], term);
        }
    }
    for (int r = 0; r < KX_K16_ROWS; r++)
        out[r] = acc[r];
}

static inline void q4_K_tile16_rows(const kx_krow16 *const w[KX_K16_ROWS], const kx_kact16 *act,
                                    int64_t nsb, __m512 out[KX_K16_ROWS])
{
    kx_ktile16_rows(w, act, nsb, 0, out);
}

static inline void q6_K_tile16_rows(const kx_krow16 *const w[KX_K16_ROWS], const kx_kact16 *act,
                                    int64_t nsb, __m512 out[KX_K16_ROWS])
{
    kx_ktile16_rows(w, act, nsb, 1, out);
}

/* Activation rows [t0, nt) in groups of 16 while at least 9 are left (a
 * rest padded with copies of the first row), up to KX_TILE16_GROUPS
 * groups per pass over the weight rows; advances t0. */
#define KX_KTILE16_PASSES(xtype, row_unpack, tile_rows)                           \
    if (nb <= KX_K16_MAX_SB && nt - t0 >= 9) {                                    \
        kx_krow16 *rows = kx_ktile16_rows_area(scratch);                          \
        while (nt - t0 >= 9) {                                                    \
            int tok[KX_TILE16_GROUPS][16], used[KX_TILE16_GROUPS], ng = 0;        \
            while (ng < KX_TILE16_GROUPS && nt - t0 >= 9) {                       \
                used[ng] = nt - t0 < 16 ? nt - t0 : 16;                           \
                for (int t = 0; t < 16; t++)                                      \
                    tok[ng][t] = t0 + (t < used[ng] ? t : 0);                     \
                kx_kact16_fill(kx_ktile16_act_area(scratch, nb, ng), nb, y, y_stride, \
                               tok[ng]);                                          \
                t0 += used[ng++];                                                 \
            }                                                                     \
            for (int r = 0; r < nr; r += KX_K16_ROWS) {                           \
                int ri[KX_K16_ROWS];                                              \
                for (int k = 0; k < KX_K16_ROWS; k++) {                           \
                    ri[k] = r + k < nr ? r + k : nr - 1;                          \
                    const int rn = ri[k] + KX_K16_ROWS < nr ? ri[k] + KX_K16_ROWS : ri[k]; \
                    row_unpack((const xtype *)(x + (size_t)ri[k] * x_stride),     \
                               (const xtype *)(x + (size_t)rn * x_stride), nb, &rows[k]); \
                }                                                                 \
                const kx_krow16 *wr[KX_K16_ROWS];                                 \
                for (int k = 0; k < KX_K16_ROWS; k++)                             \
                    wr[k] = &rows[k];                                             \
                for (int g = 0; g < ng; g++) {                                    \
                    __m512 v[KX_K16_ROWS];                                        \
                    tile_rows(wr, kx_ktile16_act_area(scratch, nb, g), nb, v);    \
                    kx_rows_store(s, s_stride, v, r, nr, tok[g], used[g], 1);     \
                }                                                                 \
            }                                                                     \
        }                                                                         \
    }
#else
#define KX_KTILE16_PASSES(xtype, row_unpack, tile_rows)

static inline size_t kx_ktile16_scratch(int64_t nsb, int nt)
{
    (void)nsb;
    (void)nt;
    return 0;
}
#endif

/* The largest scratch of the passes a Q4_K / Q6_K call may run (the 1x8
 * and 8x1 tiles need none). */
static inline size_t kx_ktile_scratch(int64_t n, int nt)
{
    const int64_t nsb = n / QK_K;
    return kx_size_max(kx_ktile16_scratch(nsb, nt), kx_rlk_scratch(nsb, nt));
}

/* Entry point for a K-quant weight type: activation rows in groups of up
 * to 8 (a rest of 3..7 padded), weight rows in cache-resident chunks. */
#define KX_KTILE_ENTRY(name, xtype, vec_dot, k18, k81, row16_unpack, tile_rows, rl) \
    static size_t name##_scratch(int64_t n, int nt)                               \
    {                                                                             \
        return kx_ktile_scratch(n, nt);                                           \
    }                                                                             \
    static void name(int64_t n, int nr, int nt, float *s, size_t s_stride,        \
                     const void *vx, size_t x_stride, const void *vy, size_t y_stride, \
                     void *scratch)                                               \
    {                                                                             \
        const int64_t nb = n / QK_K;                                              \
        const uint8_t *x = vx, *y = vy;                                           \
        (void)scratch; /* the 1x8 and 8x1 tiles need none */                      \
        KX_RLK_PASS(rl, xtype)                                                    \
        int t0 = 0;                                                               \
        KX_KTILE16_PASSES(xtype, row16_unpack, tile_rows)                         \
        while (t0 < nt) {                                                         \
            const int used = nt - t0 < 8 ? nt - t0 : 8;                           \
            if (used <= 2) {                                                      \
                for (int t = t0; t < t0 + used; t++) {                            \
                    const block_q8_K *yt = (const block_q8_K *)(y + (size_t)t * y_stride); \
                    int r = 0;                                                    \
                    for (; r + 8 <= nr; r += 8) {                                 \
                        const xtype *xr[8];                                       \
                        for (int i = 0; i < 8; i++)                               \
                            xr[i] = (const xtype *)(x + (size_t)(r + i) * x_stride); \
                        const int one[1] = { t };                                 \
                        kx_tile_store(s, s_stride, k81(xr, yt, nb), r, 1, one, 1); \
                    }                                                             \
                    for (; r < nr; r++)                                           \
                        vec_dot(n, &s[(size_t)t * s_stride + (size_t)r],          \
                                x + (size_t)r * x_stride, y + (size_t)t * y_stride); \
                }                                                                 \
                t0 += used;                                                       \
                continue;                                                         \
            }                                                                     \
            int tok[8];                                                           \
            const block_q8_K *yr[8];                                              \
            for (int t = 0; t < 8; t++) {                                         \
                tok[t] = t0 + (t < used ? t : 0);                                 \
                yr[t] = (const block_q8_K *)(y + (size_t)tok[t] * y_stride);      \
            }                                                                     \
            for (int r = 0; r < nr; r++)                                          \
                kx_tile_store(s, s_stride, k18((const xtype *)(x + (size_t)r * x_stride), yr, nb), \
                              r, 8, tok, used);                                   \
            t0 += used;                                                           \
        }                                                                         \
    }

KX_KTILE_ENTRY(kx_vec_dot_tile_q4_K, block_q4_K, kx_vec_dot_q4_K, q4_K_tile_1x8, q4_K_tile_8x1,
               q4_K_row16_unpack, q4_K_tile16_rows, kx_rl_q4_K)
KX_KTILE_ENTRY(kx_vec_dot_tile_q6_K, block_q6_K, kx_vec_dot_q6_K, q6_K_tile_1x8, q6_K_tile_8x1,
               q6_K_row16_unpack, q6_K_tile16_rows, kx_rl_q6_K)

#endif
