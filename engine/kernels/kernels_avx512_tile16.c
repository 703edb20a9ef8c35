/* kernels_avx512_tile16.c — the AVX-512 VNNI 16-row passes (prefill):
 * activation rows in the lanes, 16 per vector, for Q4_0 and Q8_0 weights
 * against Q8_0 activations and Q4_K and Q6_K against Q8_K (part of the
 * AVX-512 set; kernels_avx512.c's tile entry points call
 * avx512_tile16_matmul, see kernels_avx512.h).
 *
 * The activation blocks are interleaved so that one vpdpbusd multiplies
 * four weight codes (broadcast) with the same four elements of 16 rows,
 * lane t accumulating row t's integer sum directly (no horizontal
 * reduction). Weight rows are unpacked to one unsigned byte per code once
 * for up to four such groups (64 activation rows, a forward micro-batch)
 * and go eight at a time, so each activation load feeds eight vpdpbusd.
 * Batches of 2..8 rows use the same kernel with 2 or 4 code quads per row
 * side by side in a vector. Every lane's integers are the reference's,
 * then it does the reference's float operations in block order: results
 * are bit-identical to vec_dot (see kernels_x86_tile.h). Work areas come
 * from the caller's scratch, laid out from its start.
 */
#include "engine/kernels/kernels_avx512.h"

/* ======================================================================
 * Stores of eight weight rows' results
 * ==================================================================== */

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
 * unpacked once for up to 256 activation rows, as many groups as keep their
 * interleaved blocks within KX_TILE16_ACT_BUDGET bytes (they are read again
 * for every eight weight rows, so they must stay in L2). */
#define KX_TILE16_GROUPS 16
#define KX_TILE16_ACT_BUDGET (480 * 1024)

/* Groups per pass for activation rows whose interleaved blocks take
 * group_bytes per group of 16, given at most max_groups by the rows. */
static inline int kx_tile16_groups(size_t group_bytes, int max_groups)
{
    size_t fit = group_bytes ? KX_TILE16_ACT_BUDGET / group_bytes : KX_TILE16_GROUPS;
    int g = fit < 1 ? 1 : fit > KX_TILE16_GROUPS ? KX_TILE16_GROUPS : (int)fit;
    return max_groups < g ? max_groups : g;
}

/* ======================================================================
 * Q4_0 and Q8_0 against Q8_0
 * ==================================================================== */

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
 * (Q4_0: nibbles 0..15; Q8_0: x ^ 0x80) and the block scales as floats. */
typedef struct kx_row16 {
    uint8_t codes[KX_TILE16_MAX_BLOCKS * 32];
    float d[KX_TILE16_MAX_BLOCKS];
} kx_row16;

/* Whole cache lines, so that every area of the scratch stays 64-byte
 * aligned. */
_Static_assert(sizeof(kx_act16) % 64 == 0 && sizeof(kx_row16) % 64 == 0,
               "16-row pass areas are whole cache lines");

/* Unpacks the nb blocks of the weight row at x; `next` (the same row of the
 * next pass) is prefetched meanwhile. */
KX_ALWAYS_INLINE void kx_row16_unpack(const uint8_t *x, const uint8_t *next, int64_t nb,
                                      kx_wtype type, kx_row16 *out)
{
    const size_t bytes = kx_block_bytes(type);
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *block = x + (size_t)b * bytes;
        _mm_prefetch((const char *)next + (size_t)b * bytes, _MM_HINT_T0);
        _mm256_storeu_si256((__m256i *)(out->codes + 32 * b), kx_tile_prep(block, type));
        out->d[b] = kx_half_at(block);
    }
}

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

/* out[r]: the 16 lane sums of eight unpacked weight rows w[r] against an
 * act16 group filled for lane groups of g (a constant: 1, 2 or 4). Per
 * block and row: the integer dot starts at the bias and takes 8 / g
 * vpdpbusd (4g weight codes broadcast against the same codes of the
 * 16 / g activation rows), the lane groups are summed (exact, integer),
 * then the lane term (dx * dy) * isum is added in block order; row t's
 * result is in lane g*t. Each activation load serves the eight rows; the
 * blocks' dot chains are independent, so out-of-order execution overlaps
 * them. */
KX_ALWAYS_INLINE void kx_tile16_rows8(const kx_row16 *const w[8], const kx_act16 *act, int64_t nb,
                                      int g, __m512 out[8])
{
    const int nvec = 8 / g; /* activation code vectors per block */
    __m512 acc[8];
    for (int r = 0; r < 8; r++)
        acc[r] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const kx_act16 *a = &act[b];
        const __m512i bias = _mm512_loadu_si512(a->bias);
        __m512i sum[8];
#pragma GCC unroll 8
        for (int r = 0; r < 8; r++)
            sum[r] = bias;
#pragma GCC unroll 8
        for (int j = 0; j < nvec; j++) {
            const __m512i y = _mm512_loadu_si512(&a->q[0][0][0] + 64 * j);
#pragma GCC unroll 8
            for (int r = 0; r < 8; r++)
                sum[r] = _mm512_dpbusd_epi32(sum[r], kx_codes_bcast(w[r]->codes, b, j, g), y);
        }
        const __m512 dy = _mm512_loadu_ps(a->d);
#pragma GCC unroll 8
        for (int r = 0; r < 8; r++) {
            const __m512i isum = kx_lane_group_sum(sum[r], g);
            const __m512 dd = _mm512_mul_ps(_mm512_set1_ps(w[r]->d[b]), dy);
            acc[r] = _mm512_add_ps(acc[r], _mm512_mul_ps(dd, _mm512_cvtepi32_ps(isum)));
        }
    }
    for (int r = 0; r < 8; r++)
        out[r] = acc[r];
}

/* The passes' scratch: the eight unpacked weight rows, then group g's nb
 * activation blocks. Every group takes two or more activation rows, so a
 * call with nt rows fills at most nt / 2 groups. */
static inline kx_row16 *kx_tile16_rows_area(void *scratch)
{
    return scratch;
}

static inline kx_act16 *kx_tile16_act_area(void *scratch, int64_t nb, int g)
{
    return (kx_act16 *)(kx_tile16_rows_area(scratch) + 8) + (size_t)g * (size_t)nb;
}

static size_t kx_tile16_scratch(int64_t nb, int nt)
{
    const int groups = kx_tile16_groups((size_t)nb * sizeof(kx_act16), nt / 2);
    if (nb > KX_TILE16_MAX_BLOCKS || groups < 1)
        return 0;
    return 8 * sizeof(kx_row16) + (size_t)groups * (size_t)nb * sizeof(kx_act16);
}

/* Unpacks weight rows r..r+7 of the call into rows[0..7]; past the last
 * row (nr - 1) the last is repeated. Each row prefetches the same row of
 * the next eight. */
KX_ALWAYS_INLINE void kx_tile16_unpack8(const kx_matmul *m, int r, int64_t nb, kx_wtype type,
                                        kx_row16 rows[8])
{
    for (int k = 0; k < 8; k++) {
        const int ri = r + k < m->nr ? r + k : m->nr - 1;
        const int rn = ri + 8 < m->nr ? ri + 8 : ri;
        kx_row16_unpack(m->x + (size_t)ri * m->x_stride, m->x + (size_t)rn * m->x_stride, nb, type,
                        &rows[k]);
    }
}

/* Activation rows [t0, nt) of a Q4_0 / Q8_0 call in groups of 16 while at
 * least 9 are left, then one group of 8 if 5..8 are left or of 4 if 2..4
 * are (rests padded with copies of the group's first row); up to
 * KX_TILE16_GROUPS groups per pass over the weight rows. A single row is
 * left to the 8x1 tile. Weight rows go eight at a time; a last partial
 * eight repeats its last row (computed again, stored once). Returns the
 * first activation row not done. */
KX_ALWAYS_INLINE int kx_tile16_pass(const kx_matmul *m, int t0, kx_wtype type)
{
    const int64_t nb = m->n / 32;
    if (nb > KX_TILE16_MAX_BLOCKS)
        return t0;
    kx_row16 *rows = kx_tile16_rows_area(m->scratch);
    const int max_groups = kx_tile16_groups((size_t)nb * sizeof(kx_act16), KX_TILE16_GROUPS);
    while (m->nt - t0 >= 2) {
        int tok[KX_TILE16_GROUPS][16], used[KX_TILE16_GROUPS], width[KX_TILE16_GROUPS];
        int ng = 0;
        while (ng < max_groups && m->nt - t0 >= 2) {
            const int left = m->nt - t0;
            width[ng] = left >= 9 ? 16 : left >= 5 ? 8 : 4;
            used[ng] = left < width[ng] ? left : width[ng];
            for (int t = 0; t < width[ng]; t++)
                tok[ng][t] = t0 + (t < used[ng] ? t : 0);
            kx_act16_fill(kx_tile16_act_area(m->scratch, nb, ng), nb, m->y, m->y_stride, tok[ng],
                          16 / width[ng], kx_bias_shift(type));
            t0 += used[ng++];
        }
        for (int r = 0; r < m->nr; r += 8) {
            kx_tile16_unpack8(m, r, nb, type, rows);
            const kx_row16 *const wr[8] = { &rows[0], &rows[1], &rows[2], &rows[3],
                                            &rows[4], &rows[5], &rows[6], &rows[7] };
            for (int g = 0; g < ng; g++) {
                const kx_act16 *act16 = kx_tile16_act_area(m->scratch, nb, g);
                __m512 v[8];
                if (width[g] == 16)
                    kx_tile16_rows8(wr, act16, nb, 1, v);
                else if (width[g] == 8)
                    kx_tile16_rows8(wr, act16, nb, 2, v);
                else
                    kx_tile16_rows8(wr, act16, nb, 4, v);
                kx_rows_store(m->s, m->s_stride, v, r, m->nr, tok[g], used[g], 16 / width[g]);
            }
        }
    }
    return t0;
}

/* ======================================================================
 * Q4_K and Q6_K against Q8_K, the same layout: one vpdpbusd multiplies
 * four unsigned weight codes (broadcast) with the same four Q8_K codes of
 * 16 rows. Each scale group's integer sum is multiplied by its scale
 * (vpmulld) and added; the mins (Q4_K) and the -32 offset (Q6_K) come from
 * the Q8_K bsums through one vpdpwssd per pair of groups.
 * ==================================================================== */

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

/* The K-quant passes' scratch: the KX_K16_ROWS unpacked weight rows, then
 * group g's nsb activation super-blocks (at most nt / 9 groups: each takes
 * nine or more rows). */
static inline kx_krow16 *kx_ktile16_rows_area(void *scratch)
{
    return scratch;
}

static inline kx_kact16 *kx_ktile16_act_area(void *scratch, int64_t nsb, int g)
{
    return (kx_kact16 *)(kx_ktile16_rows_area(scratch) + KX_K16_ROWS) + (size_t)g * (size_t)nsb;
}

static size_t kx_ktile16_scratch(int64_t nsb, int nt)
{
    const int groups = kx_tile16_groups((size_t)nsb * sizeof(kx_kact16), nt / 9);
    if (nsb > KX_K16_MAX_SB || groups < 1)
        return 0;
    return KX_K16_ROWS * sizeof(kx_krow16) + (size_t)groups * (size_t)nsb * sizeof(kx_kact16);
}

/* Prefetches every cache line of the `bytes` bytes at p. */
static inline void kx_prefetch_lines(const void *p, size_t bytes)
{
    for (size_t off = 0; off < bytes; off += 64)
        _mm_prefetch((const char *)p + off, _MM_HINT_T0);
}

/* Unpacks the nsb super-blocks of a weight row; `next` (the same row of
 * the next pass) is prefetched meanwhile. */
static inline void q4_K_row16_unpack(const block_q4_K *x, const block_q4_K *next, int64_t nsb,
                                     kx_krow16 *out)
{
    const __m256i nib = _mm256_set1_epi8(0x0f);
    for (int64_t b = 0; b < nsb; b++) {
        kx_prefetch_lines(&next[b], sizeof next[b]);
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
        kx_prefetch_lines(&next[b], sizeof next[b]);
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

/* isum[r] += the integer sums of the KX_K16_ROWS rows' groups of gs
 * elements (a constant: 16 for Q6_K, 32 for Q4_K; gs / 4 vpdpbusd each)
 * in super-block b, each times its group's scale. */
KX_ALWAYS_INLINE void kx_k16_scaled_sums(const kx_krow16 *const w[KX_K16_ROWS],
                                         const kx_kact16 *a, int64_t b, int gs,
                                         __m512i isum[KX_K16_ROWS])
{
    for (int grp = 0; grp < QK_K / gs; grp++) {
        __m512i sums[KX_K16_ROWS];
#pragma GCC unroll 8
        for (int r = 0; r < KX_K16_ROWS; r++)
            sums[r] = _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int i = 0; i < gs / 4; i++) {
            const __m512i yv = _mm512_loadu_si512(a->q[grp * (gs / 4) + i]);
#pragma GCC unroll 8
            for (int r = 0; r < KX_K16_ROWS; r++) {
                int32_t quad;
                memcpy(&quad, w[r]->codes + QK_K * b + gs * grp + 4 * i, 4);
                sums[r] = _mm512_dpbusd_epi32(sums[r], _mm512_set1_epi32(quad), yv);
            }
        }
#pragma GCC unroll 8
        for (int r = 0; r < KX_K16_ROWS; r++)
            isum[r] = _mm512_add_epi32(
                isum[r], _mm512_mullo_epi32(sums[r], _mm512_set1_epi32(w[r]->sc[b][grp])));
    }
}

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
 * (Q4_K: d * yd * isum - dmin * yd * min_sum, as q4_K_block_dot; Q6_K:
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
            kx_k16_scaled_sums(w, a, b, 16, isum);
            kx_k16_pair_sums(w, b, (const int32_t (*)[16])a->bs6, 8, bsum);
        } else {
            kx_k16_scaled_sums(w, a, b, 32, isum);
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

/* Unpacks weight rows r..r+KX_K16_ROWS-1 of the call into rows[]; past the
 * last row (nr - 1) the last is repeated. Each row prefetches the same row
 * of the next pass. */
KX_ALWAYS_INLINE void kx_ktile16_unpack(const kx_matmul *m, int r, int64_t nsb, kx_wtype type,
                                        kx_krow16 rows[KX_K16_ROWS])
{
    for (int k = 0; k < KX_K16_ROWS; k++) {
        const int ri = r + k < m->nr ? r + k : m->nr - 1;
        const int rn = ri + KX_K16_ROWS < m->nr ? ri + KX_K16_ROWS : ri;
        const uint8_t *x = m->x + (size_t)ri * m->x_stride, *next = m->x + (size_t)rn * m->x_stride;
        if (type == KX_Q6_K)
            q6_K_row16_unpack((const block_q6_K *)x, (const block_q6_K *)next, nsb, &rows[k]);
        else
            q4_K_row16_unpack((const block_q4_K *)x, (const block_q4_K *)next, nsb, &rows[k]);
    }
}

/* Activation rows [t0, nt) of a Q4_K / Q6_K call in groups of 16 while at
 * least 9 are left (a rest padded with copies of the first row), up to
 * KX_TILE16_GROUPS groups per pass over the weight rows. Returns the first
 * activation row not done. */
KX_ALWAYS_INLINE int kx_ktile16_pass(const kx_matmul *m, int t0, kx_wtype type)
{
    const int64_t nsb = m->n / QK_K;
    if (nsb > KX_K16_MAX_SB)
        return t0;
    kx_krow16 *rows = kx_ktile16_rows_area(m->scratch);
    const int max_groups = kx_tile16_groups((size_t)nsb * sizeof(kx_kact16), KX_TILE16_GROUPS);
    while (m->nt - t0 >= 9) {
        int tok[KX_TILE16_GROUPS][16], used[KX_TILE16_GROUPS], ng = 0;
        while (ng < max_groups && m->nt - t0 >= 9) {
            used[ng] = m->nt - t0 < 16 ? m->nt - t0 : 16;
            for (int t = 0; t < 16; t++)
                tok[ng][t] = t0 + (t < used[ng] ? t : 0);
            kx_kact16_fill(kx_ktile16_act_area(m->scratch, nsb, ng), nsb, m->y, m->y_stride,
                           tok[ng]);
            t0 += used[ng++];
        }
        for (int r = 0; r < m->nr; r += KX_K16_ROWS) {
            kx_ktile16_unpack(m, r, nsb, type, rows);
            const kx_krow16 *const wr[KX_K16_ROWS] = { &rows[0], &rows[1], &rows[2], &rows[3],
                                                       &rows[4], &rows[5], &rows[6], &rows[7] };
            for (int g = 0; g < ng; g++) {
                __m512 v[KX_K16_ROWS];
                kx_ktile16_rows(wr, kx_ktile16_act_area(m->scratch, nsb, g), nsb,
                                type == KX_Q6_K, v);
                kx_rows_store(m->s, m->s_stride, v, r, m->nr, tok[g], used[g], 1);
            }
        }
    }
    return t0;
}

/* ======================================================================
 * The interface (kernels_avx512.h)
 * ==================================================================== */

int avx512_tile16_matmul(const kx_matmul *m, int t0, kx_wtype type)
{
    switch (type) {
    case KX_Q4_0: return kx_tile16_pass(m, t0, KX_Q4_0);
    case KX_Q8_0: return kx_tile16_pass(m, t0, KX_Q8_0);
    case KX_Q4_K: return kx_ktile16_pass(m, t0, KX_Q4_K);
    case KX_Q6_K: return kx_ktile16_pass(m, t0, KX_Q6_K);
    }
    return t0;
}

size_t avx512_tile16_scratch(int64_t n, int nt, kx_wtype type)
{
    return kx_wtype_is_k(type) ? kx_ktile16_scratch(n / QK_K, nt) : kx_tile16_scratch(n / 32, nt);
}
