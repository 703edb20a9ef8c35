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
#include "engine/kernels/kernels_avx512_rowlane.h"

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
    kx_rl_block_dots(w, kx_rl_scales(p, off32), y, y_stride, a, nt, acc);
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
        const kx_rl_src src = { p, g->off, off32, KX_RL_GGUF };
        if (type == KX_Q4_0 || type == KX_Q8_0)
            kx_rl_block_32(p, g->off, off32, y + (size_t)b * sizeof(block_q8_0), y_stride,
                           &((const kx_rl_act *)act)[b], nt, type == KX_Q8_0, sum);
        else if (type == KX_Q4_K)
            kx_rlk_q4_K_block(&src, y + (size_t)b * sizeof(block_q8_K), y_stride,
                              &((const kx_rlk_act *)act)[b], nt, sum);
        else
            kx_rlk_q6_K_block(&src, y + (size_t)b * sizeof(block_q8_K), y_stride,
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
