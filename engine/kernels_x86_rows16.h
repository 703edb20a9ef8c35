/* kernels_x86_rows16.h — weight rows in lanes, for small batches (2..8
 * activation rows: batched decode of several documents, short prompts):
 * Q4_0 and Q8_0 weights against Q8_0 activations, AVX-512 VNNI
 * (engine-internal; included by kernels_x86_tile.h only).
 *
 * The 16-row passes of kernels_x86_tile.h put activation rows in the
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
#ifndef PRECIS_KERNELS_X86_ROWS16_H
#define PRECIS_KERNELS_X86_ROWS16_H

#if defined(__AVX512F__) && defined(KX_VNNI)

/* Most activation rows the row-lane kernels take at once. */
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

/* acc[t] (t < nt): the 16 rows' dots with activation row t, for the rows
 * at x + off[r], blocks of `bsize` bytes. nt is a constant at every call,
 * so each batch size gets its own unrolled code. */
static inline __attribute__((always_inline)) void
kx_rl_rows16(const uint8_t *x, const size_t off[16], size_t bsize, int64_t nb, const uint8_t *y,
             size_t y_stride, const kx_rl_act *act, int nt, int q8, __m512 acc[KX_RL_MAX_TOK])
{
    int32_t off_i32[16];
#pragma GCC unroll 16
    for (int r = 0; r < 16; r++)
        off_i32[r] = (int32_t)off[r];
    const __m512i off32 = _mm512_loadu_si512(off_i32);
    __m512 sum[KX_RL_MAX_TOK];
#pragma GCC unroll 16
    for (int t = 0; t < nt; t++)
        sum[t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *p = x + (size_t)b * bsize;
        if ((b & 1) == 0)
#pragma GCC unroll 16
            for (int r = 0; r < 16; r++)
                _mm_prefetch((const char *)p + off[r] + KX_TILE_PREFETCH, _MM_HINT_T0);
        __m512i w[8];
        if (q8)
            kx_rl_codes_q8_0(p, off, w);
        else
            kx_rl_codes_q4_0(p, off, w);
        const __m512 dx = kx_rl_scales(p, off32);
#pragma GCC unroll 16
        for (int t = 0; t < nt; t++) {
            const block_q8_0 *yb = (const block_q8_0 *)(y + (size_t)t * y_stride) + b;
            __m512i isum = _mm512_set1_epi32(act[b].bias[t]);
#pragma GCC unroll 16
            for (int j = 0; j < 8; j++) {
                int32_t quad;
                memcpy(&quad, yb->qs + 4 * j, sizeof quad);
                isum = _mm512_dpbusd_epi32(isum, w[j], _mm512_set1_epi32(quad));
            }
            const __m512 dd = _mm512_mul_ps(dx, _mm512_set1_ps(act[b].d[t]));
            sum[t] = _mm512_add_ps(sum[t], _mm512_mul_ps(dd, _mm512_cvtepi32_ps(isum)));
        }
    }
#pragma GCC unroll 16
    for (int t = 0; t < nt; t++)
        acc[t] = sum[t];
}

/* One instance per batch size (1..KX_RL_MAX_TOK) and weight type. */
#define KX_RL_ROWS16_NT(name, NT, q8)                                             \
    static void name(const uint8_t *x, const size_t off[16], size_t bsize, int64_t nb, \
                     const uint8_t *y, size_t y_stride, const kx_rl_act *act,     \
                     __m512 acc[KX_RL_MAX_TOK])                                   \
    {                                                                             \
        kx_rl_rows16(x, off, bsize, nb, y, y_stride, act, NT, q8, acc);           \
    }

typedef void (*kx_rl_rows16_fn)(const uint8_t *x, const size_t off[16], size_t bsize, int64_t nb,
                                const uint8_t *y, size_t y_stride, const kx_rl_act *act,
                                __m512 acc[KX_RL_MAX_TOK]);

#define KX_RL_TYPE(prefix, q8)                                                    \
    KX_RL_ROWS16_NT(prefix##_1, 1, q8)                                            \
    KX_RL_ROWS16_NT(prefix##_2, 2, q8)                                            \
    KX_RL_ROWS16_NT(prefix##_3, 3, q8)                                            \
    KX_RL_ROWS16_NT(prefix##_4, 4, q8)                                            \
    KX_RL_ROWS16_NT(prefix##_5, 5, q8)                                            \
    KX_RL_ROWS16_NT(prefix##_6, 6, q8)                                            \
    KX_RL_ROWS16_NT(prefix##_7, 7, q8)                                            \
    KX_RL_ROWS16_NT(prefix##_8, 8, q8)                                            \
    static const kx_rl_rows16_fn prefix[KX_RL_MAX_TOK + 1] = {                    \
        NULL, prefix##_1, prefix##_2, prefix##_3, prefix##_4,                     \
        prefix##_5, prefix##_6, prefix##_7, prefix##_8,                           \
    };

KX_RL_TYPE(kx_rl_q4_0, 0)
KX_RL_TYPE(kx_rl_q8_0, 1)

/* s[t][r] for all nr weight rows and nt (1..KX_RL_MAX_TOK) activation
 * rows, nb <= KX_TILE_MAX_BLOCKS. Rows go 16 at a time; a last group of
 * fewer repeats its last row in the spare lanes (stored once). */
static inline void kx_rl_matmul(const kx_rl_rows16_fn *kernels, size_t bsize, int bias_shift,
                                int64_t nb, int nr, int nt, float *s, size_t s_stride,
                                const uint8_t *x, size_t x_stride, const uint8_t *y,
                                size_t y_stride)
{
    kx_rl_act act[KX_TILE_MAX_BLOCKS];
    kx_rl_act_fill(act, nb, y, y_stride, nt, bias_shift);
    for (int r0 = 0; r0 < nr; r0 += 16) {
        const int rows = nr - r0 < 16 ? nr - r0 : 16;
        size_t off[16];
        for (int r = 0; r < 16; r++)
            off[r] = (size_t)(r < rows ? r : rows - 1) * x_stride;
        __m512 acc[KX_RL_MAX_TOK];
        kernels[nt](x + (size_t)r0 * x_stride, off, bsize, nb, y, y_stride, act, acc);
        const __mmask16 keep = (__mmask16)((1u << rows) - 1);
        for (int t = 0; t < nt; t++)
            _mm512_mask_storeu_ps(s + (size_t)t * s_stride + (size_t)r0, keep, acc[t]);
    }
}

#define KX_RL_PASS(kernels, xtype, bias_shift)                                     \
    if (nt <= KX_RL_MAX_TOK && nt >= KX_RL_MIN_TOK && nb <= KX_TILE_MAX_BLOCKS) { \
        kx_rl_matmul(kernels, sizeof(xtype), bias_shift, nb, nr, nt, s, s_stride, x, x_stride, \
                     y, y_stride);                                                \
        return;                                                                   \
    }

/* Fewest activation rows given to the row-lane kernels (one row is the
 * 8 x 1 tile's). */
#define KX_RL_MIN_TOK 2

#else
#define KX_RL_PASS(kernels, xtype, bias_shift)
#endif

#endif
