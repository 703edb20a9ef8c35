/* kernels_avx512_packed.c — the AVX-512 set's packed weight layout for
 * decode, 1..16 tokens a pass (type_pack, tensor_types.h): Q4_0, Q8_0, Q4_K and Q6_K rows
 * in groups of 16, one row per 32-bit lane, packed once when the model
 * loads (part of the AVX-512 set; kernels_avx512.c lists these in its type
 * table).
 *
 * The row-lane kernels of kernels_avx512_rows16.c read 16 weight rows from
 * the GGUF layout: per 16 bytes of a block, sixteen 128-bit loads and a 4x4
 * dword transpose per 128-bit lane, and a gather of the sixteen F16
 * scales, which costs more than the dot products of an 8-row batch. Here
 * that rearrangement is done once, and a group takes as many bytes as its
 * 16 rows do in the GGUF (Q4_0/Q8_0 rows of an odd number of blocks: 32
 * bytes more), laid out so that a thread reads each group front to back:
 *  - Q4_0, Q8_0: blocks in pairs, each pair a run of whole cache lines:
 *    the two blocks' sixteen scales as F16 (32 bytes a block), then each
 *    block's codes exactly as the row-lane kernels hold them after the
 *    transpose (Q4_0: 4 vectors of packed nibbles; Q8_0: 8 vectors of
 *    codes already ^ 0x80); an odd last block leaves 32 bytes unused.
 *    A thread so reads one unbroken stream. (With all the scales after
 *    all the codes, the gap they left in the code stream every group cost
 *    single-row decode a third of its read rate per core: measured on AMD
 *    Zen 4.)
 *  - Q4_K, Q6_K: each super-block as its 16-byte chunks' transposed vectors
 *    in the order the dots read them (kx_rl_src in
 *    kernels_avx512_rowlane.h), then for Q6_K the sixteen F16 scales d.
 * K-quant blocks are not always 64-byte aligned (unaligned loads). The arithmetic
 * per lane is the row-lane kernels' (the same block functions), so the
 * results are bit-identical to vec_dot.
 */
#include "engine/kernels/kernels_avx512_rowlane.h"

/* Weight rows per group (lanes of a 512-bit vector of int32). */
#define PK_ROWS 16

/* Activation rows one call takes; more than KX_RL_MAX_TOK go through each
 * group in chunks (the group's bytes are then still in the cache). */
#define PK_MAX_TOK 16

/* How far ahead the weights are prefetched into L2 for nt activation
 * rows, in bytes (rounded to whole blocks, or pairs of blocks), 0 = not
 * at all. (Past a group's end this touches the next group, or the bytes
 * after the matrix: a prefetch never faults.) Measured on AMD Zen 4, one
 * core, weights streaming from DRAM:
 *  - batches: the hardware prefetcher alone leaves the dots waiting on
 *    memory; Q4_0 and Q8_0 read fastest 8 KiB ahead (Q8_0, 4 rows: 25 GB/s
 *    at 4 KiB, 31 at 8), the K-quants 4 KiB ahead;
 *  - one row (decode): Q4_K_M decode went 46 -> 53 tok/s from 2 to 8 KiB
 *    on 2 threads. Q4_0 and Q8_0, whose pairs of blocks are one stream in
 *    the order the dots read it, stream fastest with no prefetch at all:
 *    a software prefetch 2 KiB ahead or more slows a plain sequential read
 *    from 35 to 19-29 GB/s, and the Q4_0 dots from 36-38 to 25-35. */
static inline size_t pk_prefetch_bytes(kx_wtype type, int nt)
{
    if (nt == 1)
        return kx_wtype_is_k(type) ? 8192 : 0;
    return kx_wtype_is_k(type) ? 4096 : 8192;
}

/* Bytes of one block (super-block) of 16 rows, codes only for Q4_0/Q8_0. */
static inline size_t pk_block_bytes(kx_wtype type)
{
    switch (type) {
    case KX_Q4_0: return 256;
    case KX_Q8_0: return 512;
    default: return kx_rl_packed_k_bytes(type);
    }
}

static inline size_t pk_group_bytes(int64_t nb, kx_wtype type)
{
    if (kx_wtype_is_k(type))
        return (size_t)nb * pk_block_bytes(type);
    return (size_t)nb * pk_block_bytes(type) + (size_t)(nb + 1) / 2 * 64;
}

/* Q4_0/Q8_0: bytes of a pair of blocks (the scales' line, two blocks' codes). */
static inline size_t pk_pair_bytes(kx_wtype type)
{
    return 64 + 2 * pk_block_bytes(type);
}

/* Q4_0/Q8_0: offsets of block b's pair in its group, and of the block's
 * scales and codes in the pair. */
static inline size_t pk_pair_at(int64_t b, kx_wtype type)
{
    return (size_t)(b / 2) * pk_pair_bytes(type);
}

static inline size_t pk_scales_at(int64_t b)
{
    return (size_t)(b % 2) * 32;
}

static inline size_t pk_codes_at(int64_t b, kx_wtype type)
{
    return 64 + (size_t)(b % 2) * pk_block_bytes(type);
}

static inline int64_t pk_max_blocks(kx_wtype type)
{
    return kx_wtype_is_k(type) ? KX_RLK_MAX_SB : KX_TILE_MAX_BLOCKS;
}

/* ---- packing ------------------------------------------------------------ */

/* Row r of a group of `rows` (the spare lanes repeat the last row). */
static inline const uint8_t *pk_row(const uint8_t *x, size_t x_stride, int rows, int r)
{
    return x + (size_t)(r < rows ? r : rows - 1) * x_stride;
}

/* Q4_0/Q8_0: dword j of row r's codes lands in lane r of code vector j. */
static void pk_pack_group_32(const uint8_t *x, size_t x_stride, int rows, int64_t nb, kx_wtype type,
                             uint8_t *out)
{
    const size_t bsize = kx_block_bytes(type), cbytes = pk_block_bytes(type);
    const size_t qs_off = type == KX_Q8_0 ? offsetof(block_q8_0, qs) : offsetof(block_q4_0, qs);
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *scales = out + pk_pair_at(b, type) + pk_scales_at(b);
        uint8_t *codes = out + pk_pair_at(b, type) + pk_codes_at(b, type);
        for (int r = 0; r < PK_ROWS; r++) {
            const uint8_t *blk = pk_row(x, x_stride, rows, r) + (size_t)b * bsize;
            memcpy(scales + 2 * (size_t)r, blk, sizeof(uint16_t));
            for (size_t k = 0; k < cbytes / 64; k++) {
                uint32_t dw;
                memcpy(&dw, blk + qs_off + 4 * k, sizeof dw);
                if (type == KX_Q8_0)
                    dw ^= 0x80808080u;
                memcpy(codes + 64 * k + 4 * (size_t)r, &dw, sizeof dw);
            }
        }
    }
    if (nb % 2 != 0) /* the odd last block's unused half line */
        memset(out + pk_pair_at(nb - 1, type) + pk_scales_at(nb), 0, 32);
}

/* Q4_K/Q6_K: the kx_rl_src layout of a packed super-block. */
static inline kx_rl_layout pk_k_layout(kx_wtype type)
{
    return type == KX_Q6_K ? KX_RL_PACKED_Q6_K : KX_RL_PACKED;
}

/* Q4_K/Q6_K: dword j of the 16-byte chunk k of row r's super-block lands
 * at 256 slot(k) + 64 j + 4 r; then (Q6_K) the rows' scales d. */
static void pk_pack_group_k(const uint8_t *x, size_t x_stride, int rows, int64_t nb, kx_wtype type,
                            uint8_t *out)
{
    const size_t bsize = kx_block_bytes(type), chunks = bsize / 16;
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *o = out + (size_t)b * pk_block_bytes(type);
        for (int r = 0; r < PK_ROWS; r++) {
            const uint8_t *blk = pk_row(x, x_stride, rows, r) + (size_t)b * bsize;
            for (size_t k = 0; k < chunks; k++)
                for (size_t j = 0; j < 4; j++)
                    memcpy(o + 256 * kx_rl_slot(pk_k_layout(type), k) + 64 * j + 4 * (size_t)r,
                           blk + 16 * k + 4 * j, 4);
            if (type == KX_Q6_K)
                memcpy(o + 16 * offsetof(block_q6_K, d) + 2 * (size_t)r, blk + offsetof(block_q6_K, d),
                       sizeof(uint16_t));
        }
    }
}

static size_t pk_size(int64_t rows, int64_t n, kx_wtype type)
{
    const int64_t elems = kx_block_elems(type);
    if (n % elems != 0 || n / elems > pk_max_blocks(type))
        return 0;
    return (size_t)((rows + PK_ROWS - 1) / PK_ROWS) * pk_group_bytes(n / elems, type);
}

static void pk_pack(const void *x, size_t x_stride, int64_t rows, int64_t n, void *out,
                    kx_wtype type)
{
    const int64_t nb = n / kx_block_elems(type);
    for (int64_t r0 = 0; r0 < rows; r0 += PK_ROWS) {
        const uint8_t *xg = (const uint8_t *)x + (size_t)r0 * x_stride;
        const int rows_here = (int)(rows - r0 < PK_ROWS ? rows - r0 : PK_ROWS);
        uint8_t *og = (uint8_t *)out + (size_t)(r0 / PK_ROWS) * pk_group_bytes(nb, type);
        if (kx_wtype_is_k(type))
            pk_pack_group_k(xg, x_stride, rows_here, nb, type, og);
        else
            pk_pack_group_32(xg, x_stride, rows_here, nb, type, og);
    }
}

/* ---- the dots ------------------------------------------------------------- */

/* Into L2, for a single row and for batches alike: prefetches into L1
 * wait for L1 miss buffers, and with weights streaming from DRAM the dots
 * then wait on memory instead of overlapping it (measured on AMD Zen 4,
 * one thread, 8 activation rows against 100-190 MB of weights, weights x
 * rows per ns: Q4_K 99 -> 166, Q6_K 48 -> 86, Q8_0 83 -> 139, Q4_0 158
 * either way; single-row Q8_0 decode 31 -> 37 tok/s). */
KX_ALWAYS_INLINE void pk_prefetch(const uint8_t *p, size_t bytes)
{
#pragma GCC unroll 64
    for (size_t l = 0; l < bytes; l += 64)
        _mm_prefetch((const char *)p + l, _MM_HINT_T1);
}

/* Q4_0/Q8_0: the code vectors of one block, w[j] = codes 4j..4j+3 of the
 * 16 rows. */
KX_ALWAYS_INLINE void pk_codes(const uint8_t *codes, kx_wtype type, __m512i w[8])
{
    if (type == KX_Q8_0) {
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
            w[j] = _mm512_loadu_si512((const void *)(codes + 64 * j));
        return;
    }
    const __m512i nib = _mm512_set1_epi8(0x0f);
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        const __m512i packed = _mm512_loadu_si512((const void *)(codes + 64 * j));
        w[j] = _mm512_and_si512(packed, nib);
        w[j + 4] = _mm512_and_si512(_mm512_srli_epi16(packed, 4), nib);
    }
}

/* Q4_0/Q8_0: block b's 16 rows (in the pair at `pair`) against the nt
 * activation rows, added to acc. */
KX_ALWAYS_INLINE void pk_block32_dots(const uint8_t *pair, int64_t b, const uint8_t *y,
                                      size_t y_stride, const kx_rl_act *act, int nt, kx_wtype type,
                                      __m512 acc[KX_RL_MAX_TOK])
{
    __m512i w[8];
    pk_codes(pair + pk_codes_at(b, type), type, w);
    const __m512 dx = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(pair + pk_scales_at(b))));
    kx_rl_block_dots(w, dx, y + (size_t)b * sizeof(block_q8_0), y_stride, &act[b], nt, acc);
}

/* `bytes` rounded up to whole steps of `step` bytes. */
static inline size_t pk_round_up(size_t bytes, size_t step)
{
    return (bytes + step - 1) / step * step;
}

/* acc[t] (t < nt): the group's 16 rows against activation rows t over
 * the nb blocks, in stream order; act is the type's kx_rl_act or
 * kx_rlk_act array. nt and type are constants at every call. */
KX_ALWAYS_INLINE void pk_group_dots(const uint8_t *g, int64_t nb, const uint8_t *y,
                                    size_t y_stride, const void *act, int nt, kx_wtype type,
                                    __m512 acc[KX_RL_MAX_TOK])
{
    const size_t prefetch = pk_prefetch_bytes(type, nt);
#pragma GCC unroll 8
    for (int t = 0; t < nt; t++)
        acc[t] = _mm512_setzero_ps();
    if (kx_wtype_is_k(type)) {
        const size_t bbytes = pk_block_bytes(type), ahead = pk_round_up(prefetch, bbytes);
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *p = g + (size_t)b * bbytes;
            if (prefetch > 0)
                pk_prefetch(p + ahead, bbytes);
            const kx_rl_src src = { p, NULL, _mm512_setzero_si512(), pk_k_layout(type) };
            const uint8_t *yb = y + (size_t)b * sizeof(block_q8_K);
            const kx_rlk_act *a = &((const kx_rlk_act *)act)[b];
            if (type == KX_Q4_K)
                kx_rlk_q4_K_block(&src, yb, y_stride, a, nt, acc);
            else
                kx_rlk_q6_K_block(&src, yb, y_stride, a, nt, acc);
        }
        return;
    }
    const size_t pbytes = pk_pair_bytes(type), ahead = pk_round_up(prefetch, pbytes);
    for (int64_t b = 0; b < nb; b += 2) {
        const uint8_t *pair = g + pk_pair_at(b, type);
        if (prefetch > 0)
            pk_prefetch(pair + ahead, pbytes);
        pk_block32_dots(pair, b, y, y_stride, act, nt, type, acc);
        if (b + 1 < nb)
            pk_block32_dots(pair, b + 1, y, y_stride, act, nt, type, acc);
    }
}

/* One group for nt (1..KX_RL_MAX_TOK) activation rows: each nt its own
 * unrolled code. */
KX_ALWAYS_INLINE void pk_group_any(const uint8_t *g, int64_t nb, const uint8_t *y, size_t y_stride,
                                   const void *act, int nt, kx_wtype type,
                                   __m512 acc[KX_RL_MAX_TOK])
{
    switch (nt) {
    case 1: pk_group_dots(g, nb, y, y_stride, act, 1, type, acc); break;
    case 2: pk_group_dots(g, nb, y, y_stride, act, 2, type, acc); break;
    case 3: pk_group_dots(g, nb, y, y_stride, act, 3, type, acc); break;
    case 4: pk_group_dots(g, nb, y, y_stride, act, 4, type, acc); break;
    case 5: pk_group_dots(g, nb, y, y_stride, act, 5, type, acc); break;
    case 6: pk_group_dots(g, nb, y, y_stride, act, 6, type, acc); break;
    case 7: pk_group_dots(g, nb, y, y_stride, act, 7, type, acc); break;
    default: pk_group_dots(g, nb, y, y_stride, act, 8, type, acc); break;
    }
}

/* Bytes of one chunk's activation data (scales, biases or bsums). */
static inline size_t pk_act_bytes(int64_t nb, kx_wtype type)
{
    return (size_t)nb * (kx_wtype_is_k(type) ? sizeof(kx_rlk_act) : sizeof(kx_rl_act));
}

/* The activation data of nt rows from y into act. */
static void pk_act_fill(void *act, int64_t nb, const uint8_t *y, size_t y_stride, int nt,
                        kx_wtype type)
{
    if (kx_wtype_is_k(type))
        kx_rlk_act_fill(act, nb, y, y_stride, nt);
    else
        kx_rl_act_fill(act, nb, y, y_stride, nt, kx_bias_shift(type));
}

/* Activation rows in chunks of at most KX_RL_MAX_TOK, each group's dots
 * for every chunk before the next group (measured: chunks of 2 or 4 rows
 * for the K-quants, with fewer registers live, are slower). */
KX_ALWAYS_INLINE void pk_vec_dot(int64_t n, int nr, int nt, float *s, size_t s_stride,
                                 const void *xp, const void *y, size_t y_stride, void *scratch,
                                 kx_wtype type)
{
    const int64_t nb = n / kx_block_elems(type);
    const size_t gbytes = pk_group_bytes(nb, type), abytes = pk_act_bytes(nb, type);
    const int cs = KX_RL_MAX_TOK, chunks = (nt + cs - 1) / cs;
    for (int c = 0; c < chunks; c++) {
        const int t0 = c * cs;
        pk_act_fill((uint8_t *)scratch + (size_t)c * abytes, nb, (const uint8_t *)y + (size_t)t0 * y_stride,
                    y_stride, nt - t0 < cs ? nt - t0 : cs, type);
    }
    for (int r0 = 0; r0 < nr; r0 += PK_ROWS) {
        const uint8_t *g = (const uint8_t *)xp + (size_t)(r0 / PK_ROWS) * gbytes;
        const __mmask16 keep = (__mmask16)((1u << (nr - r0 < PK_ROWS ? nr - r0 : PK_ROWS)) - 1);
        for (int c = 0; c < chunks; c++) {
            const int t0 = c * cs;
            const int ct = nt - t0 < cs ? nt - t0 : cs;
            __m512 acc[KX_RL_MAX_TOK];
            pk_group_any(g, nb, (const uint8_t *)y + (size_t)t0 * y_stride, y_stride,
                         (const uint8_t *)scratch + (size_t)c * abytes, ct, type, acc);
            for (int t = 0; t < ct; t++)
                _mm512_mask_storeu_ps(s + (size_t)(t0 + t) * s_stride + (size_t)r0, keep, acc[t]);
        }
    }
}

/* ---- the type_pack entries ------------------------------------------------ */

static size_t pk_size_q4_0(int64_t rows, int64_t n) { return pk_size(rows, n, KX_Q4_0); }
static size_t pk_size_q8_0(int64_t rows, int64_t n) { return pk_size(rows, n, KX_Q8_0); }
static size_t pk_size_q4_K(int64_t rows, int64_t n) { return pk_size(rows, n, KX_Q4_K); }
static size_t pk_size_q6_K(int64_t rows, int64_t n) { return pk_size(rows, n, KX_Q6_K); }

static void pk_pack_q4_0(const void *x, size_t x_stride, int64_t rows, int64_t n, void *out)
{
    pk_pack(x, x_stride, rows, n, out, KX_Q4_0);
}

static void pk_pack_q8_0(const void *x, size_t x_stride, int64_t rows, int64_t n, void *out)
{
    pk_pack(x, x_stride, rows, n, out, KX_Q8_0);
}

static void pk_pack_q4_K(const void *x, size_t x_stride, int64_t rows, int64_t n, void *out)
{
    pk_pack(x, x_stride, rows, n, out, KX_Q4_K);
}

static void pk_pack_q6_K(const void *x, size_t x_stride, int64_t rows, int64_t n, void *out)
{
    pk_pack(x, x_stride, rows, n, out, KX_Q6_K);
}

static void pk_vec_dot_q4_0(int64_t n, int nr, int nt, float *s, size_t s_stride, const void *xp,
                            const void *y, size_t y_stride, void *scratch)
{
    pk_vec_dot(n, nr, nt, s, s_stride, xp, y, y_stride, scratch, KX_Q4_0);
}

static void pk_vec_dot_q8_0(int64_t n, int nr, int nt, float *s, size_t s_stride, const void *xp,
                            const void *y, size_t y_stride, void *scratch)
{
    pk_vec_dot(n, nr, nt, s, s_stride, xp, y, y_stride, scratch, KX_Q8_0);
}

static void pk_vec_dot_q4_K(int64_t n, int nr, int nt, float *s, size_t s_stride, const void *xp,
                            const void *y, size_t y_stride, void *scratch)
{
    pk_vec_dot(n, nr, nt, s, s_stride, xp, y, y_stride, scratch, KX_Q4_K);
}

static void pk_vec_dot_q6_K(int64_t n, int nr, int nt, float *s, size_t s_stride, const void *xp,
                            const void *y, size_t y_stride, void *scratch)
{
    pk_vec_dot(n, nr, nt, s, s_stride, xp, y, y_stride, scratch, KX_Q6_K);
}

const type_pack avx512_pack_q4_0 = { PK_ROWS, 1, PK_MAX_TOK, pk_size_q4_0, pk_pack_q4_0,
                                     pk_vec_dot_q4_0 };
const type_pack avx512_pack_q8_0 = { PK_ROWS, 1, PK_MAX_TOK, pk_size_q8_0, pk_pack_q8_0,
                                     pk_vec_dot_q8_0 };
const type_pack avx512_pack_q4_K = { PK_ROWS, 1, PK_MAX_TOK, pk_size_q4_K, pk_pack_q4_K,
                                     pk_vec_dot_q4_K };
const type_pack avx512_pack_q6_K = { PK_ROWS, 1, PK_MAX_TOK, pk_size_q6_K, pk_pack_q6_K,
                                     pk_vec_dot_q6_K };

size_t avx512_pack_scratch(int64_t n, int nt, kx_wtype type)
{
    const int64_t nb = n / kx_block_elems(type);
    if (nt < 1 || nb > pk_max_blocks(type))
        return 0;
    const int chunks = ((nt < PK_MAX_TOK ? nt : PK_MAX_TOK) + KX_RL_MAX_TOK - 1) / KX_RL_MAX_TOK;
    return (size_t)chunks * pk_act_bytes(nb, type);
}
