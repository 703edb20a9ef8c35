/* kernels_x86.h — the x86 SIMD primitives and one-row quantized dots
 * (vec_dot) that both kernel sets use: kernels_avx2.c and the AVX-512 files
 * (engine-internal; include only from kernels_avx2.c and kernels_avx512*.c).
 * The activation quantizers are in kernels_x86_quant.h, the shared tiles in
 * kernels_x86_tile.h; each set's own code (float dots, attention,
 * element-wise kernels, its tile entry points) is in its own file.
 *
 * Each including file is compiled with its own instruction-set flags, so the
 * same source becomes two sets of machine code. The few primitives that
 * differ are only declared here (below, and the Q8_0 tile primitives in
 * kernels_x86_tile.h); each set defines them with its own instructions:
 * kernels_avx2.c with vpmaddubsw + vpmaddwd (exact for our operand ranges,
 * see mul_sum_u8s8), kernels_avx512.h with AVX-512 VNNI (one vpdpbusd for
 * the u8 x s8 dot, one vpdpwssd for the i16 x i16 multiply-accumulate) —
 * the integer results are identical.
 *
 * Exactness contract (checked by tests/test_kernels.c against quant_ref.c):
 *  - quantized dots compute each block's integer sum exactly, then do the
 *    reference's float operations on it in the reference's order, so they
 *    are bit-exact with quant_ref_vec_dot_*. This needs two things the
 *    reference guarantees: activation codes lie in [-127, 127] (the Q8
 *    quantizers never produce -128), and Q8_K bsums are the sums of the
 *    codes. Files including this must be compiled with -ffp-contract=off so
 *    the compiler does not fuse the reference's separate mul and add.
 *  - Q8_0 / Q8_1 / Q8_K / F16 / BF16 from_float produce the reference's
 *    bytes exactly (same rounding rules, same NaN/inf/zero handling; see
 *    kernels_x86_quant.h).
 *  - F32 / F16 / BF16 dots (each set's own) form the same float products as the reference
 *    and add them in double, in a different order: the result equals the
 *    reference except when the double sums straddle a float rounding
 *    boundary (then 1 ulp), see the tolerance in the tests.
 *
 * All loads are unaligned loads; rows may start anywhere. The K-quant
 * loops are fully unrolled (GCC unroll pragma, also honoured by clang) so
 * shift counts and shuffle controls become constants.
 */
#ifndef PRECIS_KERNELS_X86_H
#define PRECIS_KERNELS_X86_H

#include <immintrin.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "engine/kernels/quant_ref.h"

/* For functions whose constant arguments (a weight type, a tile shape, a
 * batch size) must reach their loops: each call gets its own code. */
#define KX_ALWAYS_INLINE static inline __attribute__((always_inline))

/* ======================================================================
 * Integer primitives
 * ==================================================================== */

/* The exp of the element-wise kernels (exp_ps256, exp_ps512): x clamped
 * to [KX_EXP_LO, KX_EXP_HI] (e^-104 rounds to 0, e^89 overflows), x = k ln 2
 * + r with k = round(x log2 e) and ln 2 in two parts (k * KX_LN2_HI is
 * exact for |k| <= 150), e^r by the degree-7 Taylor polynomial below
 * (highest coefficient first; truncation below 1e-8 relative), times 2^k. */
#define KX_EXP_LO (-104.0f)
#define KX_EXP_HI 89.0f
#define KX_LOG2E 1.44269504f
#define KX_LN2_HI 0.693359375f
#define KX_LN2_LO (-2.12194440e-4f)
static const float kx_exp_taylor[8] = { 1.0f / 5040, 1.0f / 720, 1.0f / 120, 1.0f / 24,
                                        1.0f / 6,    0.5f,       1.0f,       1.0f };

/* ---- defined by each set (kernels_avx2.c, kernels_avx512.h) ---------- */

/* 8 int32: each the sum of 4 adjacent u[i]*s[i], u unsigned and s signed.
 * Exact when u <= 128 and |s| <= 127. */
static inline __m256i mul_sum_u8s8(__m256i u, __m256i s);

/* acc + pairwise a*b of int16 lanes, into 8 int32. */
static inline __m256i madd_acc_i16(__m256i acc, __m256i a, __m256i b);

/* Byte j all ones where bit j of bits is set, else zero. */
static inline __m256i bytes_of_bits(uint32_t bits);

/* ---- shared --------------------------------------------------------- */

/* Signed x signed via |x| and y with x's sign applied (y must not be -128). */
static inline __m256i mul_sum_s8s8(__m256i x, __m256i y)
{
    return mul_sum_u8s8(_mm256_abs_epi8(x), _mm256_sign_epi8(y, x));
}

static inline int hsum_i32x8(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* Eight int32x8 vectors -> one vector of their eight horizontal sums
 * (lane i = sum of p[i]), by a hadd tree. */
static inline __m256i hsum_i32x8_x8(const __m256i p[8])
{
    const __m256i h01 = _mm256_hadd_epi32(p[0], p[1]), h23 = _mm256_hadd_epi32(p[2], p[3]);
    const __m256i h45 = _mm256_hadd_epi32(p[4], p[5]), h67 = _mm256_hadd_epi32(p[6], p[7]);
    /* Low 128: partial sums of p0..p3 over elements 0..3, high: over 4..7. */
    const __m256i h0123 = _mm256_hadd_epi32(h01, h23), h4567 = _mm256_hadd_epi32(h45, h67);
    return _mm256_add_epi32(_mm256_permute2x128_si256(h0123, h4567, 0x20),
                            _mm256_permute2x128_si256(h0123, h4567, 0x31));
}

static inline float half_to_float(uint16_t h)
{
    return _cvtsh_ss(h);  /* exact, as fp16_to_f32 */
}

/* 16 bytes of packed nibbles -> 32 bytes: the 16 low nibbles, then the 16
 * high nibbles (the element order of Q4_0/Q4_1/Q5_0/Q5_1 blocks). */
static inline __m256i unpack_nibbles_16(const uint8_t *qs)
{
    const __m128i b = _mm_loadu_si128((const __m128i *)qs);
    const __m256i v = _mm256_set_m128i(_mm_srli_epi16(b, 4), b);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0f));
}

/* The 32 bits of a little-endian uint32 (Q5 qh) -> byte j = 0x10 if bit j. */
static inline __m256i q5_high_bits(const uint8_t qh[4])
{
    uint32_t bits;
    memcpy(&bits, qh, sizeof bits);
    return _mm256_and_si256(bytes_of_bits(bits), _mm256_set1_epi8(0x10));
}

/* ======================================================================
 * 32-element block types. A block's dot is an int32x8 of partial sums;
 * eight blocks at a time are reduced by one hadd tree, then the float
 * scale arithmetic runs per block exactly as in quant_ref.c.
 * ==================================================================== */

/* Every 32-element block starts with its F16 scale d (the loops below read
 * it at byte 0 of a block). */
_Static_assert(offsetof(block_q4_0, d) == 0 && offsetof(block_q4_1, d) == 0 &&
                   offsetof(block_q5_0, d) == 0 && offsetof(block_q5_1, d) == 0 &&
                   offsetof(block_q8_0, d) == 0 && offsetof(block_q8_1, d) == 0,
               "32-element blocks start with their scale");

/* The F16 at p (a field of a block, at any alignment): its bits. */
static inline short kx_half_bits(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, sizeof h);
    return (short)h;
}

/* The F16 at p as a float. */
static inline float kx_half_at(const uint8_t *p)
{
    return half_to_float((uint16_t)kx_half_bits(p));
}

/* The eight F16 at p, p + stride, ..., p + 7 * stride (one field of eight
 * consecutive blocks of `stride` bytes) as 8 floats. */
KX_ALWAYS_INLINE __m256 kx_halves_8(const uint8_t *p, size_t stride)
{
    return _mm256_cvtph_ps(_mm_setr_epi16(
        kx_half_bits(p), kx_half_bits(p + stride), kx_half_bits(p + 2 * stride),
        kx_half_bits(p + 3 * stride), kx_half_bits(p + 4 * stride), kx_half_bits(p + 5 * stride),
        kx_half_bits(p + 6 * stride), kx_half_bits(p + 7 * stride)));
}

/* One 32-element block's integer dot, weight block x against activation
 * block y, as 8 int32 partial sums. */
typedef __m256i (*kx_block32_dot)(const void *x, const void *y);

/* Q4_0 x Q8_0: codes q-8 (signed) against y. */
static inline __m256i q4_0_block_dot(const void *vx, const void *vy)
{
    const block_q4_0 *x = vx;
    const block_q8_0 *y = vy;
    const __m256i q = _mm256_sub_epi8(unpack_nibbles_16(x->qs), _mm256_set1_epi8(8));
    return mul_sum_s8s8(q, _mm256_loadu_si256((const __m256i *)y->qs));
}

/* Q4_1 x Q8_1: unsigned codes 0..15 against y; m is added via y's s. */
static inline __m256i q4_1_block_dot(const void *vx, const void *vy)
{
    const block_q4_1 *x = vx;
    const block_q8_1 *y = vy;
    return mul_sum_u8s8(unpack_nibbles_16(x->qs), _mm256_loadu_si256((const __m256i *)y->qs));
}

/* Q5_0 x Q8_0: 5-bit code (nibble | qh bit << 4) - 16, signed. */
static inline __m256i q5_0_block_dot(const void *vx, const void *vy)
{
    const block_q5_0 *x = vx;
    const block_q8_0 *y = vy;
    __m256i q = _mm256_or_si256(unpack_nibbles_16(x->qs), q5_high_bits(x->qh));
    q = _mm256_sub_epi8(q, _mm256_set1_epi8(16));
    return mul_sum_s8s8(q, _mm256_loadu_si256((const __m256i *)y->qs));
}

/* Q5_1 x Q8_1: unsigned 5-bit codes 0..31. */
static inline __m256i q5_1_block_dot(const void *vx, const void *vy)
{
    const block_q5_1 *x = vx;
    const block_q8_1 *y = vy;
    const __m256i q = _mm256_or_si256(unpack_nibbles_16(x->qs), q5_high_bits(x->qh));
    return mul_sum_u8s8(q, _mm256_loadu_si256((const __m256i *)y->qs));
}

/* Q8_0 x Q8_0 (x may hold -128: |x| = 128 still fits, see mul_sum_u8s8). */
static inline __m256i q8_0_block_dot(const void *vx, const void *vy)
{
    const block_q8_0 *x = vx, *y = vy;
    return mul_sum_s8s8(_mm256_loadu_si256((const __m256i *)x->qs),
                        _mm256_loadu_si256((const __m256i *)y->qs));
}

static inline __m256i q8_1_block_dot(const void *vx, const void *vy)
{
    const block_q8_1 *x = vx, *y = vy;
    return mul_sum_s8s8(_mm256_loadu_si256((const __m256i *)x->qs),
                        _mm256_loadu_si256((const __m256i *)y->qs));
}

/* The integer dots of the eight weight blocks from x (x_bytes each) with
 * the eight activation blocks from y (y_bytes each), as floats (exact:
 * |isum| < 2^24). */
KX_ALWAYS_INLINE __m256 kx_block_isums_8(const uint8_t *x, size_t x_bytes, const uint8_t *y,
                                         size_t y_bytes, kx_block32_dot block_dot)
{
    __m256i p[8];
    for (int i = 0; i < 8; i++)
        p[i] = block_dot(x + (size_t)i * x_bytes, y + (size_t)i * y_bytes);
    return _mm256_cvtepi32_ps(hsum_i32x8_x8(p));
}

/* sum += terms[0], ..., terms[7], one at a time, as the reference does. */
static inline float add_in_order_8(float sum, __m256 terms)
{
    float t[8];
    _mm256_storeu_ps(t, terms);
    for (int i = 0; i < 8; i++)
        sum += t[i];
    return sum;
}

/* A dot over 32-element blocks whose per-block term is d_x * d_y * isum
 * (Q4_0, Q5_0, Q8_0, Q8_1), summed in block order like the reference:
 * weight blocks of x_bytes at vx, activation blocks of y_bytes at vy.
 * Eight terms are formed at once (each vector op rounds exactly as the
 * scalar one), then added one by one. */
KX_ALWAYS_INLINE void kx_dot_blocks32(int64_t n, float *s, const void *vx, size_t x_bytes,
                                      const void *vy, size_t y_bytes, kx_block32_dot block_dot)
{
    const uint8_t *x = vx, *y = vy;
    const int64_t nb = n / 32;
    float sum = 0;
    int64_t b = 0;
    for (; b + 8 <= nb; b += 8) {
        const uint8_t *xb = x + (size_t)b * x_bytes, *yb = y + (size_t)b * y_bytes;
        const __m256 dd = _mm256_mul_ps(kx_halves_8(xb, x_bytes), kx_halves_8(yb, y_bytes));
        sum = add_in_order_8(sum, _mm256_mul_ps(dd, kx_block_isums_8(xb, x_bytes, yb, y_bytes,
                                                                     block_dot)));
    }
    for (; b < nb; b++) {
        const uint8_t *xb = x + (size_t)b * x_bytes, *yb = y + (size_t)b * y_bytes;
        sum += kx_half_at(xb) * kx_half_at(yb) * (float)hsum_i32x8(block_dot(xb, yb));
    }
    *s = sum;
}

/* The same for Q4_1 / Q5_1 against Q8_1, whose term is d_x * d_y * isum
 * + m_x * s_y; a weight block (x_bytes) has its min m at byte m_offset. */
KX_ALWAYS_INLINE void kx_dot_blocks32_with_min(int64_t n, float *s, const void *vx, size_t x_bytes,
                                               size_t m_offset, const void *vy,
                                               kx_block32_dot block_dot)
{
    const size_t y_bytes = sizeof(block_q8_1), s_offset = offsetof(block_q8_1, s);
    const uint8_t *x = vx, *y = vy;
    const int64_t nb = n / 32;
    float sum = 0;
    int64_t b = 0;
    for (; b + 8 <= nb; b += 8) {
        const uint8_t *xb = x + (size_t)b * x_bytes, *yb = y + (size_t)b * y_bytes;
        const __m256 dd = _mm256_mul_ps(kx_halves_8(xb, x_bytes), kx_halves_8(yb, y_bytes));
        const __m256 ms = _mm256_mul_ps(kx_halves_8(xb + m_offset, x_bytes),
                                        kx_halves_8(yb + s_offset, y_bytes));
        const __m256 dot = _mm256_mul_ps(dd, kx_block_isums_8(xb, x_bytes, yb, y_bytes, block_dot));
        sum = add_in_order_8(sum, _mm256_add_ps(dot, ms));
    }
    for (; b < nb; b++) {
        const uint8_t *xb = x + (size_t)b * x_bytes, *yb = y + (size_t)b * y_bytes;
        sum += kx_half_at(xb) * kx_half_at(yb) * (float)hsum_i32x8(block_dot(xb, yb)) +
               kx_half_at(xb + m_offset) * kx_half_at(yb + s_offset);
    }
    *s = sum;
}

/* The one-row dots of the 32-element types (type_traits.vec_dot). */
static inline void kx_vec_dot_q4_0(int64_t n, float *s, const void *x, const void *y)
{
    kx_dot_blocks32(n, s, x, sizeof(block_q4_0), y, sizeof(block_q8_0), q4_0_block_dot);
}

static inline void kx_vec_dot_q5_0(int64_t n, float *s, const void *x, const void *y)
{
    kx_dot_blocks32(n, s, x, sizeof(block_q5_0), y, sizeof(block_q8_0), q5_0_block_dot);
}

static inline void kx_vec_dot_q8_0(int64_t n, float *s, const void *x, const void *y)
{
    kx_dot_blocks32(n, s, x, sizeof(block_q8_0), y, sizeof(block_q8_0), q8_0_block_dot);
}

static inline void kx_vec_dot_q8_1(int64_t n, float *s, const void *x, const void *y)
{
    kx_dot_blocks32(n, s, x, sizeof(block_q8_1), y, sizeof(block_q8_1), q8_1_block_dot);
}

static inline void kx_vec_dot_q4_1(int64_t n, float *s, const void *x, const void *y)
{
    kx_dot_blocks32_with_min(n, s, x, sizeof(block_q4_1), offsetof(block_q4_1, m), y,
                             q4_1_block_dot);
}

static inline void kx_vec_dot_q5_1(int64_t n, float *s, const void *x, const void *y)
{
    kx_dot_blocks32_with_min(n, s, x, sizeof(block_q5_1), offsetof(block_q5_1, m), y,
                             q5_1_block_dot);
}

/* ======================================================================
 * K-quants against Q8_K (256 elements per super-block). The integer sums
 * over a super-block are exact int32; the float tail is the reference's.
 * ==================================================================== */

/* One super-block's float term, weight block x against the Q8_K block y. */
typedef float (*kx_superblock_dot)(const void *x, const void *y);

static inline __m256i load_y32(const block_q8_K *y, int offset)
{
    return _mm256_loadu_si256((const __m256i *)(y->qs + offset));
}

/* From 16 signed byte scales (one per 16 elements) in both 128-bit lanes:
 * int16 scales for the 32 elements 32*pair .. 32*pair+31, i.e. group
 * 2*pair in the low lane and group 2*pair+1 in the high lane. The shuffle
 * puts the byte in each word's high half (0x80 control bytes give zero),
 * the arithmetic shift sign-extends. */
static inline __m256i group_pair_scales(__m256i scales_both_lanes, int pair)
{
    const __m256i base = _mm256_set_m128i(_mm_set1_epi16(0x0180), _mm_set1_epi16(0x0080));
    const __m256i ctrl = _mm256_add_epi8(base, _mm256_set1_epi8((char)(2 * pair)));
    return _mm256_srai_epi16(_mm256_shuffle_epi8(scales_both_lanes, ctrl), 8);
}

/* sum over 16 groups of scale[g] * bsums[g] (scales as 16 int8). */
static inline int scaled_bsums(__m128i scales_i8, const int16_t bsums[16])
{
    const __m256i sc16 = _mm256_cvtepi8_epi16(scales_i8);
    const __m256i bs = _mm256_loadu_si256((const __m256i *)bsums);
    return hsum_i32x8(_mm256_madd_epi16(sc16, bs));
}

/* Q2_K: in each 128-element half, qs[32h + l] holds elements 128h + 32k + l
 * in bits 2k..2k+1, so one 32-byte load serves four steps of 32 elements;
 * every 16 elements have their own 4-bit scale (low nibble) and min (high
 * nibble). isum = sum_g sc_g * dot_g, min_sum = sum_g m_g * bsums_g. */
static inline float q2_K_block_dot(const void *vx, const void *vy)
{
    const block_q2_K *x = vx;
    const block_q8_K *y = vy;
    const __m128i sc_bytes = _mm_loadu_si128((const __m128i *)x->scales);
    const __m128i nib = _mm_set1_epi8(0x0f);
    const __m256i scales = _mm256_broadcastsi128_si256(_mm_and_si128(sc_bytes, nib));
    const __m128i mins = _mm_and_si128(_mm_srli_epi16(sc_bytes, 4), nib);
    const int min_sum = scaled_bsums(mins, y->bsums);

    __m256i acc = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int h = 0; h < 2; h++) {
        const __m256i q = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * h));
#pragma GCC unroll 8
        for (int k = 0; k < 4; k++) {
            const __m256i codes = _mm256_and_si256(_mm256_srli_epi16(q, 2 * k),
                                                   _mm256_set1_epi8(3));
            const __m256i p = _mm256_maddubs_epi16(codes, load_y32(y, 128 * h + 32 * k));
            acc = madd_acc_i16(acc, p, group_pair_scales(scales, 4 * h + k));
        }
    }
    const int isum = hsum_i32x8(acc);
    const float dall = y->d * half_to_float(x->d);
    const float dmin = y->d * half_to_float(x->dmin);
    return dall * (float)isum - dmin * (float)min_sum;
}

/* The 16 Q3_K scales (6 bits, minus 32) as int8, unpacked four at a time in
 * 32-bit words: scale j's low 4 bits are nibble j/8 of byte j%8, its high
 * 2 bits are bits 2*(j/4) of byte 8 + j%4. */
static inline __m128i q3_K_scales(const uint8_t s[12])
{
    const uint32_t low4 = 0x0f0f0f0fu, low2 = 0x03030303u;
    uint32_t w[3];
    memcpy(w, s, sizeof w);
    const __m128i v = _mm_setr_epi32((int)((w[0] & low4) | ((w[2] >> 0) & low2) << 4),
                                     (int)((w[1] & low4) | ((w[2] >> 2) & low2) << 4),
                                     (int)(((w[0] >> 4) & low4) | ((w[2] >> 4) & low2) << 4),
                                     (int)(((w[1] >> 4) & low4) | ((w[2] >> 6) & low2) << 4));
    return _mm_sub_epi8(v, _mm_set1_epi8(32));
}

/* Q3_K: low 2 bits as Q2_K; the high bit of element 128h + 32k + l is bit
 * 4h + k of hmask[l]. With u = low + 4*high (0..7) the code is u - 4, so
 * isum = sum_g sc_g * (dot(u, y)_g - 4 * bsums_g). */
static inline float q3_K_block_dot(const void *vx, const void *vy)
{
    const block_q3_K *x = vx;
    const block_q8_K *y = vy;
    const __m128i sc = q3_K_scales(x->scales);
    const __m256i scales = _mm256_broadcastsi128_si256(sc);
    const __m256i hmask = _mm256_loadu_si256((const __m256i *)x->hmask);
    const __m256i one = _mm256_set1_epi8(1), three = _mm256_set1_epi8(3);

    __m256i acc = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int h = 0; h < 2; h++) {
        const __m256i q = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * h));
#pragma GCC unroll 8
        for (int k = 0; k < 4; k++) {
            const __m256i low = _mm256_and_si256(_mm256_srli_epi16(q, 2 * k), three);
            const __m256i high = _mm256_and_si256(_mm256_srli_epi16(hmask, 4 * h + k), one);
            const __m256i u = _mm256_or_si256(low, _mm256_slli_epi16(high, 2));
            const __m256i p = _mm256_maddubs_epi16(u, load_y32(y, 128 * h + 32 * k));
            acc = madd_acc_i16(acc, p, group_pair_scales(scales, 4 * h + k));
        }
    }
    const int isum = hsum_i32x8(acc) - 4 * scaled_bsums(sc, y->bsums);
    return half_to_float(x->d) * y->d * (float)isum;
}

/* The 8 scales (bytes 0..7) and 8 mins (bytes 8..15) of a Q4_K/Q5_K block
 * (see quant_k4_scale_min), unpacked four at a time in 32-bit words: for
 * j < 4 they are the low 6 bits of bytes j and j+4; for j >= 4 the low
 * and high nibbles of byte j+4, topped with bits 6..7 of bytes j-4 and j. */
static inline __m128i k4_scales_mins(const uint8_t s[12])
{
    const uint32_t low6 = 0x3f3f3f3fu, low4 = 0x0f0f0f0fu, low2 = 0x03030303u;
    uint32_t w[3];
    memcpy(w, s, sizeof w);
    return _mm_setr_epi32((int)(w[0] & low6),                                  /* scales 0..3 */
                          (int)((w[2] & low4) | ((w[0] >> 6) & low2) << 4),    /* scales 4..7 */
                          (int)(w[1] & low6),                                  /* mins 0..3 */
                          (int)(((w[2] >> 4) & low4) | ((w[1] >> 6) & low2) << 4)); /* 4..7 */
}

/* sum_j m_j * (bsums[2j] + bsums[2j+1]), m = bytes 8..15 of scales_mins. */
static inline int k4_min_sum(__m128i scales_mins, const int16_t bsums[16])
{
    const __m128i m16 = _mm_cvtepu8_epi16(_mm_srli_si128(scales_mins, 8));
    const __m256i m_pairs = _mm256_set_m128i(_mm_unpackhi_epi16(m16, m16),
                                             _mm_unpacklo_epi16(m16, m16));
    const __m256i bs = _mm256_loadu_si256((const __m256i *)bsums);
    return hsum_i32x8(_mm256_madd_epi16(m_pairs, bs));
}

/* From the 8 scales as int16 in both lanes: scale j in every word. */
static inline __m256i k4_broadcast_scale(__m256i scales16, int j)
{
    const __m256i ctrl = _mm256_set1_epi16((short)(0x0101 * (2 * j) + 0x0100));
    return _mm256_shuffle_epi8(scales16, ctrl);
}

/* Q4_K: sub-blocks 2p and 2p+1 are the low and high nibbles of
 * qs[32p .. 32p+31]; each sub-block of 32 has one 6-bit scale and min. */
static inline float q4_K_block_dot(const void *vx, const void *vy)
{
    const block_q4_K *x = vx;
    const block_q8_K *y = vy;
    const __m128i sm = k4_scales_mins(x->scales);
    const __m256i sc = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));
    const __m256i nib = _mm256_set1_epi8(0x0f);
    __m256i acc = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int p = 0; p < 4; p++) {
        const __m256i q = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * p));
        const __m256i lo = _mm256_and_si256(q, nib);
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), nib);
        acc = madd_acc_i16(acc, _mm256_maddubs_epi16(lo, load_y32(y, 64 * p)),
                           k4_broadcast_scale(sc, 2 * p));
        acc = madd_acc_i16(acc, _mm256_maddubs_epi16(hi, load_y32(y, 64 * p + 32)),
                           k4_broadcast_scale(sc, 2 * p + 1));
    }
    const int isum = hsum_i32x8(acc);
    const int min_sum = k4_min_sum(sm, y->bsums);
    const float d = half_to_float(x->d), dmin = half_to_float(x->dmin);
    return d * y->d * (float)isum - dmin * y->d * (float)min_sum;
}

/* Q5_K: Q4_K's nibbles plus a 5th bit: bit `sub` of qh[l] for element
 * 32*sub + l, so one 32-byte qh load serves all eight sub-blocks. */
static inline float q5_K_block_dot(const void *vx, const void *vy)
{
    const block_q5_K *x = vx;
    const block_q8_K *y = vy;
    const __m128i sm = k4_scales_mins(x->scales);
    const __m256i sc = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));
    const __m256i nib = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1);
    const __m256i qh = _mm256_loadu_si256((const __m256i *)x->qh);
    __m256i acc = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int p = 0; p < 4; p++) {
        const __m256i q = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * p));
        const __m256i h_lo = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * p), one);
        const __m256i h_hi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * p + 1), one);
        const __m256i lo = _mm256_or_si256(_mm256_and_si256(q, nib), _mm256_slli_epi16(h_lo, 4));
        const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), nib),
                                           _mm256_slli_epi16(h_hi, 4));
        acc = madd_acc_i16(acc, _mm256_maddubs_epi16(lo, load_y32(y, 64 * p)),
                           k4_broadcast_scale(sc, 2 * p));
        acc = madd_acc_i16(acc, _mm256_maddubs_epi16(hi, load_y32(y, 64 * p + 32)),
                           k4_broadcast_scale(sc, 2 * p + 1));
    }
    const int isum = hsum_i32x8(acc);
    const int min_sum = k4_min_sum(sm, y->bsums);
    const float d = half_to_float(x->d), dmin = half_to_float(x->dmin);
    return d * y->d * (float)isum - dmin * y->d * (float)min_sum;
}

/* Q6_K: per 128-element half h, ql0 = ql[64h..], ql1 = ql[64h+32..],
 * qh = qh[32h..]; step k takes the low (k < 2) or high nibble of ql0
 * (k even) or ql1 (k odd) and bits 2k..2k+1 of qh as bits 4..5. The code
 * u is 0..63 and the value u - 32, so isum = sum_g sc_g * (dot(u, y)_g -
 * 32 * bsums_g). */
static inline float q6_K_block_dot(const void *vx, const void *vy)
{
    const block_q6_K *x = vx;
    const block_q8_K *y = vy;
    const __m128i sc = _mm_loadu_si128((const __m128i *)x->scales);
    const __m256i scales = _mm256_broadcastsi128_si256(sc);
    const __m256i nib = _mm256_set1_epi8(0x0f), bits45 = _mm256_set1_epi8(0x30);
    __m256i acc = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int h = 0; h < 2; h++) {
        const __m256i ql0 = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h));
        const __m256i ql1 = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h + 32));
        const __m256i qh = _mm256_loadu_si256((const __m256i *)(x->qh + 32 * h));
        const __m256i low[4] = {
            _mm256_and_si256(ql0, nib), _mm256_and_si256(ql1, nib),
            _mm256_and_si256(_mm256_srli_epi16(ql0, 4), nib),
            _mm256_and_si256(_mm256_srli_epi16(ql1, 4), nib),
        };
        const __m256i high[4] = {
            _mm256_and_si256(_mm256_slli_epi16(qh, 4), bits45),
            _mm256_and_si256(_mm256_slli_epi16(qh, 2), bits45),
            _mm256_and_si256(qh, bits45),
            _mm256_and_si256(_mm256_srli_epi16(qh, 2), bits45),
        };
#pragma GCC unroll 8
        for (int k = 0; k < 4; k++) {
            const __m256i u = _mm256_or_si256(low[k], high[k]);
            const __m256i p = _mm256_maddubs_epi16(u, load_y32(y, 128 * h + 32 * k));
            acc = madd_acc_i16(acc, p, group_pair_scales(scales, 4 * h + k));
        }
    }
    const int isum = hsum_i32x8(acc) - 32 * scaled_bsums(sc, y->bsums);
    return half_to_float(x->d) * y->d * (float)isum;
}

/* Q8_K x Q8_K (ours, for symmetry): eight 32-byte steps, signed x signed. */
static inline float q8_K_block_dot(const void *vx, const void *vy)
{
    const block_q8_K *x = vx, *y = vy;
    __m256i acc = _mm256_setzero_si256();
    for (int k = 0; k < QK_K / 32; k++)
        acc = _mm256_add_epi32(acc, mul_sum_s8s8(_mm256_loadu_si256((const __m256i *)(x->qs + 32 * k)),
                                                 load_y32(y, 32 * k)));
    return x->d * y->d * (float)hsum_i32x8(acc);
}

/* A dot over super-blocks: weight blocks of x_bytes at vx against the
 * Q8_K blocks at vy, each super-block's float term (block_dot) added in
 * block order like the reference. */
KX_ALWAYS_INLINE void kx_dot_superblocks(int64_t n, float *s, const void *vx, size_t x_bytes,
                                         const void *vy, kx_superblock_dot block_dot)
{
    const uint8_t *x = vx;
    const block_q8_K *y = vy;
    float sum = 0;
    for (int64_t b = 0; b < n / QK_K; b++)
        sum += block_dot(x + (size_t)b * x_bytes, &y[b]);
    *s = sum;
}

/* The one-row dots of the K-quants (type_traits.vec_dot). */
static inline void kx_vec_dot_q2_K(int64_t n, float *s, const void *x, const void *y)
{
    kx_dot_superblocks(n, s, x, sizeof(block_q2_K), y, q2_K_block_dot);
}

static inline void kx_vec_dot_q3_K(int64_t n, float *s, const void *x, const void *y)
{
    kx_dot_superblocks(n, s, x, sizeof(block_q3_K), y, q3_K_block_dot);
}

static inline void kx_vec_dot_q4_K(int64_t n, float *s, const void *x, const void *y)
{
    kx_dot_superblocks(n, s, x, sizeof(block_q4_K), y, q4_K_block_dot);
}

static inline void kx_vec_dot_q5_K(int64_t n, float *s, const void *x, const void *y)
{
    kx_dot_superblocks(n, s, x, sizeof(block_q5_K), y, q5_K_block_dot);
}

static inline void kx_vec_dot_q6_K(int64_t n, float *s, const void *x, const void *y)
{
    kx_dot_superblocks(n, s, x, sizeof(block_q6_K), y, q6_K_block_dot);
}

static inline void kx_vec_dot_q8_K(int64_t n, float *s, const void *x, const void *y)
{
    kx_dot_superblocks(n, s, x, sizeof(block_q8_K), y, q8_K_block_dot);
}

/* Element i of an F32, F16 or BF16 row as a float: the last elements of
 * each set's float dots, one at a time. */
typedef float (*kx_elem_at)(const void *row, int64_t i);

static inline float kx_f32_at(const void *row, int64_t i)
{
    return ((const float *)row)[i];
}

static inline float kx_f16_at(const void *row, int64_t i)
{
    return half_to_float(((const uint16_t *)row)[i]);
}

static inline float kx_bf16_at(const void *row, int64_t i)
{
    return bf16_to_f32(((const uint16_t *)row)[i]);
}

#endif
