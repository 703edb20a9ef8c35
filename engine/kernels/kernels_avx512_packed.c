/* kernels_avx512_packed.c — the AVX-512 set's packed weight layout for
 * small batches (type_pack, tensor_types.h): Q4_0 and Q8_0 rows in groups
 * of 16, one row per 32-bit lane, packed once when the model loads (part
 * of the AVX-512 set; kernels_avx512.c lists these in its type table).
 *
 * The row-lane kernels of kernels_avx512_rows16.c read 16 weight rows from
 * the GGUF layout: per block, sixteen 128-bit loads, a 4x4 dword transpose
 * per 128-bit lane and a gather of the sixteen F16 scales, which costs
 * more than the dot products of an 8-row batch. Here that rearrangement is
 * done once: a group's block b is its codes exactly as those kernels hold
 * them in registers after the transpose (Q4_0: 4 vectors of packed
 * nibbles; Q8_0: 8 vectors of codes already ^ 0x80), then, after all the
 * blocks' codes, the blocks' sixteen scales as F16 (32 bytes a block). The
 * group takes as many bytes as its 16 rows do in the GGUF (blocks are not
 * always 64-byte aligned in it: unaligned loads). The arithmetic
 * per lane is the row-lane kernels', so results are bit-identical to
 * vec_dot: (d_x * d_y) * isum added in block order.
 */
#include "engine/kernels/kernels_avx512.h"

/* Weight rows per group (lanes of a 512-bit vector of int32). */
#define PK_ROWS 16

/* Activation rows one call takes; more than KX_RL_MAX_TOK go through each
 * group in chunks (the group's bytes are then still in the cache). */
#define PK_MAX_TOK 16

/* Bytes of one block's codes for 16 rows. */
static inline size_t pk_code_bytes(kx_wtype type)
{
    return type == KX_Q8_0 ? 512 : 256;
}

static inline size_t pk_group_bytes(int64_t nb, kx_wtype type)
{
    return (size_t)nb * (pk_code_bytes(type) + 32);
}

/* ---- packing ------------------------------------------------------------ */

/* One group: rows r < rows from x (row r at x + r * x_stride), the spare
 * lanes repeating the last row. Dword j of row r's codes lands in lane r
 * of code vector j. */
static void pk_pack_group(const uint8_t *x, size_t x_stride, int rows, int64_t nb, kx_wtype type,
                          uint8_t *out)
{
    const size_t bsize = kx_block_bytes(type), cbytes = pk_code_bytes(type);
    const size_t qs_off = type == KX_Q8_0 ? offsetof(block_q8_0, qs) : offsetof(block_q4_0, qs);
    const int ndw = (int)(cbytes / 64);
    uint16_t *scales = (uint16_t *)(out + (size_t)nb * cbytes);
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *codes = out + (size_t)b * cbytes;
        for (int r = 0; r < PK_ROWS; r++) {
            const uint8_t *blk = x + (size_t)(r < rows ? r : rows - 1) * x_stride + (size_t)b * bsize;
            uint16_t d;
            memcpy(&d, blk, sizeof d);
            scales[b * PK_ROWS + r] = d;
            for (int j = 0; j < ndw; j++) {
                uint32_t dw;
                memcpy(&dw, blk + qs_off + 4 * j, sizeof dw);
                if (type == KX_Q8_0)
                    dw ^= 0x80808080u;
                memcpy(codes + 64 * j + 4 * r, &dw, sizeof dw);
            }
        }
    }
}

static size_t pk_size(int64_t rows, int64_t n, kx_wtype type)
{
    if (n % 32 != 0 || n / 32 > KX_TILE_MAX_BLOCKS)
        return 0;
    return (size_t)((rows + PK_ROWS - 1) / PK_ROWS) * pk_group_bytes(n / 32, type);
}

static void pk_pack(const void *x, size_t x_stride, int64_t rows, int64_t n, void *out,
                    kx_wtype type)
{
    const int64_t nb = n / 32;
    for (int64_t r0 = 0; r0 < rows; r0 += PK_ROWS)
        pk_pack_group((const uint8_t *)x + (size_t)r0 * x_stride, x_stride,
                      (int)(rows - r0 < PK_ROWS ? rows - r0 : PK_ROWS), nb, type,
                      (uint8_t *)out + (size_t)(r0 / PK_ROWS) * pk_group_bytes(nb, type));
}

/* ---- the dots ------------------------------------------------------------- */

/* The code vectors of one block: w[j] = codes 4j..4j+3 of the 16 rows. */
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

/* How far ahead the codes are prefetched, in bytes (rounded to whole
 * blocks): the hardware prefetcher alone leaves the loads waiting on
 * memory. (Past the group's codes this touches its scales or the next
 * group: harmless.) */
#define PK_PREFETCH_BYTES 2048

KX_ALWAYS_INLINE void pk_prefetch(const uint8_t *p, size_t bytes)
{
#pragma GCC unroll 8
    for (size_t l = 0; l < bytes; l += 64)
        _mm_prefetch((const char *)p + l, _MM_HINT_T0);
}

/* acc[t] (t < nt): the group's 16 rows against activation rows t over
 * the nb blocks; act holds the activation rows' scales and biases. nt
 * and type are constants at every call. */
KX_ALWAYS_INLINE void pk_group_dots(const uint8_t *g, int64_t nb, const uint8_t *y,
                                    size_t y_stride, const kx_rl_act *act, int nt, kx_wtype type,
                                    __m512 acc[KX_RL_MAX_TOK])
{
    const size_t cbytes = pk_code_bytes(type);
    const uint16_t *scales = (const uint16_t *)(g + (size_t)nb * cbytes);
    const size_t ahead = (PK_PREFETCH_BYTES + cbytes - 1) / cbytes * cbytes;
#pragma GCC unroll 8
    for (int t = 0; t < nt; t++)
        acc[t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        __m512i w[8];
        pk_prefetch(g + (size_t)b * cbytes + ahead, cbytes);
        pk_codes(g + (size_t)b * cbytes, type, w);
        const __m512 dx = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(scales + b * PK_ROWS)));
        const kx_rl_act *a = &act[b];
#pragma GCC unroll 8
        for (int t = 0; t < nt; t++) {
            const block_q8_0 *yb = (const block_q8_0 *)(y + (size_t)t * y_stride) + b;
            __m512i isum = _mm512_set1_epi32(a->bias[t]);
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++) {
                int32_t quad;
                memcpy(&quad, yb->qs + 4 * j, sizeof quad);
                isum = _mm512_dpbusd_epi32(isum, w[j], _mm512_set1_epi32(quad));
            }
            const __m512 dd = _mm512_mul_ps(dx, _mm512_set1_ps(a->d[t]));
            acc[t] = _mm512_add_ps(acc[t], _mm512_mul_ps(dd, _mm512_cvtepi32_ps(isum)));
        }
    }
}

/* One group for nt (1..KX_RL_MAX_TOK) activation rows: each nt its own
 * unrolled code. */
KX_ALWAYS_INLINE void pk_group_any(const uint8_t *g, int64_t nb, const uint8_t *y, size_t y_stride,
                                   const kx_rl_act *act, int nt, kx_wtype type,
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

/* Activation rows [t0, t0 + nt) of the call: their scales and biases. */
static const kx_rl_act *pk_act(void *scratch, int64_t nb, const uint8_t *y, size_t y_stride,
                               int nt, kx_wtype type)
{
    kx_rl_act *act = scratch;
    kx_rl_act_fill(act, nb, y, y_stride, nt, kx_bias_shift(type));
    return act;
}

KX_ALWAYS_INLINE void pk_vec_dot(int64_t n, int nr, int nt, float *s, size_t s_stride,
                                 const void *xp, const void *y, size_t y_stride, void *scratch,
                                 kx_wtype type)
{
    const int64_t nb = n / 32;
    const size_t gbytes = pk_group_bytes(nb, type);
    const kx_rl_act *act[PK_MAX_TOK / KX_RL_MAX_TOK];
    for (int c = 0; c * KX_RL_MAX_TOK < nt; c++)
        act[c] = pk_act((uint8_t *)scratch + (size_t)c * (size_t)nb * sizeof(kx_rl_act), nb,
                        (const uint8_t *)y + (size_t)(c * KX_RL_MAX_TOK) * y_stride, y_stride,
                        nt - c * KX_RL_MAX_TOK < KX_RL_MAX_TOK ? nt - c * KX_RL_MAX_TOK
                                                               : KX_RL_MAX_TOK,
                        type);
    for (int r0 = 0; r0 < nr; r0 += PK_ROWS) {
        const uint8_t *g = (const uint8_t *)xp + (size_t)(r0 / PK_ROWS) * gbytes;
        const __mmask16 keep = (__mmask16)((1u << (nr - r0 < PK_ROWS ? nr - r0 : PK_ROWS)) - 1);
        for (int c = 0; c * KX_RL_MAX_TOK < nt; c++) {
            const int t0 = c * KX_RL_MAX_TOK;
            const int ct = nt - t0 < KX_RL_MAX_TOK ? nt - t0 : KX_RL_MAX_TOK;
            __m512 acc[KX_RL_MAX_TOK];
            pk_group_any(g, nb, (const uint8_t *)y + (size_t)t0 * y_stride, y_stride, act[c], ct,
                         type, acc);
            for (int t = 0; t < ct; t++)
                _mm512_mask_storeu_ps(s + (size_t)(t0 + t) * s_stride + (size_t)r0, keep, acc[t]);
        }
    }
}

/* ---- the type_pack entries ------------------------------------------------ */

static size_t pk_size_q4_0(int64_t rows, int64_t n) { return pk_size(rows, n, KX_Q4_0); }
static size_t pk_size_q8_0(int64_t rows, int64_t n) { return pk_size(rows, n, KX_Q8_0); }

static void pk_pack_q4_0(const void *x, size_t x_stride, int64_t rows, int64_t n, void *out)
{
    pk_pack(x, x_stride, rows, n, out, KX_Q4_0);
}

static void pk_pack_q8_0(const void *x, size_t x_stride, int64_t rows, int64_t n, void *out)
{
    pk_pack(x, x_stride, rows, n, out, KX_Q8_0);
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

const type_pack avx512_pack_q4_0 = { PK_ROWS, 2, PK_MAX_TOK, pk_size_q4_0, pk_pack_q4_0,
                                     pk_vec_dot_q4_0 };
const type_pack avx512_pack_q8_0 = { PK_ROWS, 2, PK_MAX_TOK, pk_size_q8_0, pk_pack_q8_0,
                                     pk_vec_dot_q8_0 };

size_t avx512_pack_scratch(int64_t n, int nt, kx_wtype type)
{
    if (kx_wtype_is_k(type) || nt < 2)
        return 0;
    const int chunks = (nt < PK_MAX_TOK ? nt : PK_MAX_TOK) + KX_RL_MAX_TOK - 1;
    return (size_t)(chunks / KX_RL_MAX_TOK) * (size_t)(n / 32) * sizeof(kx_rl_act);
}
