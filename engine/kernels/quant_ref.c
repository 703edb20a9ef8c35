/* quant_ref.c — the scalar reference for every tensor type: dequantize,
 * quantize and dot product, written for clarity. This is the oracle all SIMD
 * kernels are tested against, so it is kept forever and kept simple.
 *
 * Facts (block layouts, scale packing, rounding, quantizer searches) follow
 * ggml (ggml-quants.c: dequantize_row_*, quantize_row_*_ref; ggml-cpu
 * quants.c: ggml_vec_dot_*_generic). The code is our own. Dequantizers
 * evaluate their float expressions in ggml's order, so they are bit-exact;
 * the quantizers follow ggml's *_ref algorithms step by step. Dot products
 * accumulate integers per block and scale once per block, as ggml does.
 *
 * This file has the float and 32-element block types; the K-quants are in
 * quant_ref_k.c, the helpers both use in quant_ref_scalar.h.
 *
 * Conventions: n is a multiple of the block size (callers check with
 * tensor_row_size()); rows never share blocks.
 */
#include "engine/kernels/quant_ref.h"

#include <math.h>
#include <string.h>

#include "engine/kernels/quant_ref_scalar.h"

/* (int)v (truncation toward zero) clamped into [lo, hi]; NaN gives lo. */
static int trunc_clamp(float v, int lo, int hi)
{
    if (!(v > (float)lo))
        return lo;
    if (v >= (float)hi)
        return hi;
    return (int)v;
}

/* roundf(v) (half away from zero) clamped into [lo, hi]; NaN gives 0. */
static int round_clamp(float v, int lo, int hi)
{
    if (v != v)
        return 0;
    if (v <= (float)lo)
        return lo;
    if (v >= (float)hi)
        return hi;
    return (int)roundf(v);
}

static uint32_t load_u32le(const uint8_t b[4])
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void store_u32le(uint8_t b[4], uint32_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}

/* ======================================================================
 * F32, F16, BF16 — plain arrays. Dots accumulate in double, products in
 * float (exact for the half types), as ggml's scalar paths do.
 * ==================================================================== */

void quant_ref_to_float_f32(const void *x, float *y, int64_t n)
{
    memcpy(y, x, (size_t)n * sizeof(float));
}

void quant_ref_from_float_f32(const float *x, void *y, int64_t n)
{
    memcpy(y, x, (size_t)n * sizeof(float));
}

void quant_ref_vec_dot_f32(int64_t n, float *s, const void *vx, const void *vy)
{
    const float *x = vx, *y = vy;
    double sum = 0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(x[i] * y[i]);
    *s = (float)sum;
}

void quant_ref_to_float_f16(const void *vx, float *y, int64_t n)
{
    const uint16_t *x = vx;
    for (int64_t i = 0; i < n; i++)
        y[i] = fp16_to_f32(x[i]);
}

void quant_ref_from_float_f16(const float *x, void *vy, int64_t n)
{
    uint16_t *y = vy;
    for (int64_t i = 0; i < n; i++)
        y[i] = f32_to_fp16(x[i]);
}

void quant_ref_vec_dot_f16(int64_t n, float *s, const void *vx, const void *vy)
{
    const uint16_t *x = vx, *y = vy;
    double sum = 0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(fp16_to_f32(x[i]) * fp16_to_f32(y[i]));
    *s = (float)sum;
}

void quant_ref_to_float_bf16(const void *vx, float *y, int64_t n)
{
    const uint16_t *x = vx;
    for (int64_t i = 0; i < n; i++)
        y[i] = bf16_to_f32(x[i]);
}

void quant_ref_from_float_bf16(const float *x, void *vy, int64_t n)
{
    uint16_t *y = vy;
    for (int64_t i = 0; i < n; i++)
        y[i] = f32_to_bf16(x[i]);
}

void quant_ref_vec_dot_bf16(int64_t n, float *s, const void *vx, const void *vy)
{
    const uint16_t *x = vx, *y = vy;
    double sum = 0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(bf16_to_f32(x[i]) * bf16_to_f32(y[i]));
    *s = (float)sum;
}

/* ======================================================================
 * Q4_0 — 32 elements, 18 bytes: half d, then 16 bytes of 4-bit codes.
 * Element j (0..15) is the low nibble of qs[j], element j+16 the high
 * nibble. Value = (q - 8) * d. The quantizer takes d = max / -8 where max
 * is the signed value of largest magnitude, so that value maps to code 0.
 * ==================================================================== */

void quant_ref_to_float_q4_0(const void *vx, float *y, int64_t n)
{
    const block_q4_0 *x = vx;
    for (int64_t b = 0; b < n / QK4_0; b++, y += QK4_0) {
        const float d = fp16_to_f32(x[b].d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            y[j] = ((x[b].qs[j] & 0x0f) - 8) * d;
            y[j + QK4_0 / 2] = ((x[b].qs[j] >> 4) - 8) * d;
        }
    }
}

void quant_ref_from_float_q4_0(const float *x, void *vy, int64_t n)
{
    block_q4_0 *y = vy;
    for (int64_t b = 0; b < n / QK4_0; b++, x += QK4_0) {
        float amax;
        const float max = signed_absmax(x, QK4_0, &amax);
        const float d = max / -8;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        y[b].d = f32_to_fp16(d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            int lo = trunc_clamp(x[j] * id + 8.5f, 0, 15);
            int hi = trunc_clamp(x[j + QK4_0 / 2] * id + 8.5f, 0, 15);
            y[b].qs[j] = (uint8_t)(lo | hi << 4);
        }
    }
}

void quant_ref_vec_dot_q4_0(int64_t n, float *s, const void *vx, const void *vy)
{
    const block_q4_0 *x = vx;
    const block_q8_0 *y = vy;
    float sum = 0;
    for (int64_t b = 0; b < n / QK4_0; b++) {
        int isum = 0;
        for (int j = 0; j < QK4_0 / 2; j++) {
            isum += ((x[b].qs[j] & 0x0f) - 8) * y[b].qs[j];
            isum += ((x[b].qs[j] >> 4) - 8) * y[b].qs[j + QK4_0 / 2];
        }
        sum += fp16_to_f32(x[b].d) * fp16_to_f32(y[b].d) * (float)isum;
    }
    *s = sum;
}

/* ======================================================================
 * Q4_1 — 32 elements, 20 bytes: half d, half m, 16 bytes of 4-bit codes
 * (nibble order as Q4_0). Value = q * d + m; m is the block minimum and
 * d = (max - min) / 15. Dot against Q8_1 uses its s = d8 * sum(q8) to add
 * the m term: sum = d*d8*isum + m*s.
 * ==================================================================== */

void quant_ref_to_float_q4_1(const void *vx, float *y, int64_t n)
{
    const block_q4_1 *x = vx;
    for (int64_t b = 0; b < n / QK4_1; b++, y += QK4_1) {
        const float d = fp16_to_f32(x[b].d);
        const float m = fp16_to_f32(x[b].m);
        for (int j = 0; j < QK4_1 / 2; j++) {
            y[j] = (x[b].qs[j] & 0x0f) * d + m;
            y[j + QK4_1 / 2] = (x[b].qs[j] >> 4) * d + m;
        }
    }
}

/* Block minimum and maximum (min starts at +FLT_MAX as in ggml). */
static void block_min_max(const float *x, int n, float *min_out, float *max_out)
{
    float min = 3.402823466e+38f, max = -3.402823466e+38f;
    for (int i = 0; i < n; i++) {
        if (x[i] < min)
            min = x[i];
        if (x[i] > max)
            max = x[i];
    }
    *min_out = min;
    *max_out = max;
}

void quant_ref_from_float_q4_1(const float *x, void *vy, int64_t n)
{
    block_q4_1 *y = vy;
    for (int64_t b = 0; b < n / QK4_1; b++, x += QK4_1) {
        float min, max;
        block_min_max(x, QK4_1, &min, &max);
        const float d = (max - min) / 15;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        y[b].d = f32_to_fp16(d);
        y[b].m = f32_to_fp16(min);
        for (int j = 0; j < QK4_1 / 2; j++) {
            int lo = trunc_clamp((x[j] - min) * id + 0.5f, 0, 15);
            int hi = trunc_clamp((x[j + QK4_1 / 2] - min) * id + 0.5f, 0, 15);
            y[b].qs[j] = (uint8_t)(lo | hi << 4);
        }
    }
}

void quant_ref_vec_dot_q4_1(int64_t n, float *s, const void *vx, const void *vy)
{
    const block_q4_1 *x = vx;
    const block_q8_1 *y = vy;
    float sum = 0;
    for (int64_t b = 0; b < n / QK4_1; b++) {
        int isum = 0;
        for (int j = 0; j < QK4_1 / 2; j++) {
            isum += (x[b].qs[j] & 0x0f) * y[b].qs[j];
            isum += (x[b].qs[j] >> 4) * y[b].qs[j + QK4_1 / 2];
        }
        sum += fp16_to_f32(x[b].d) * fp16_to_f32(y[b].d) * (float)isum
             + fp16_to_f32(x[b].m) * fp16_to_f32(y[b].s);
    }
    *s = sum;
}

/* ======================================================================
 * Q5_0 — 32 elements, 22 bytes: half d, 4 bytes qh (a little-endian
 * uint32 whose bit j is the 5th bit of element j), 16 bytes of low nibbles
 * (order as Q4_0). Value = (q - 16) * d, d = max / -16.
 * ==================================================================== */

/* The 5-bit code of element j (0..31) from the low-nibble array and qh. */
static int q5_code(const uint8_t *qs, uint32_t qh, int j)
{
    int low = j < 16 ? qs[j] & 0x0f : qs[j - 16] >> 4;
    return low | (int)((qh >> j) & 1u) << 4;
}

void quant_ref_to_float_q5_0(const void *vx, float *y, int64_t n)
{
    const block_q5_0 *x = vx;
    for (int64_t b = 0; b < n / QK5_0; b++, y += QK5_0) {
        const float d = fp16_to_f32(x[b].d);
        const uint32_t qh = load_u32le(x[b].qh);
        for (int j = 0; j < QK5_0; j++)
            y[j] = (q5_code(x[b].qs, qh, j) - 16) * d;
    }
}

/* Pack 32 five-bit codes into low nibbles + the qh bit field. */
static void q5_pack(const uint8_t codes[32], uint8_t qs[16], uint8_t qh_out[4])
{
    uint32_t qh = 0;
    for (int j = 0; j < 16; j++) {
        qs[j] = (uint8_t)((codes[j] & 0x0f) | (codes[j + 16] & 0x0f) << 4);
        qh |= (uint32_t)(codes[j] >> 4) << j;
        qh |= (uint32_t)(codes[j + 16] >> 4) << (j + 16);
    }
    store_u32le(qh_out, qh);
}

void quant_ref_from_float_q5_0(const float *x, void *vy, int64_t n)
{
    block_q5_0 *y = vy;
    for (int64_t b = 0; b < n / QK5_0; b++, x += QK5_0) {
        float amax;
        const float max = signed_absmax(x, QK5_0, &amax);
        const float d = max / -16;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        uint8_t codes[QK5_0];
        for (int j = 0; j < QK5_0; j++)
            codes[j] = (uint8_t)trunc_clamp(x[j] * id + 16.5f, 0, 31);
        y[b].d = f32_to_fp16(d);
        q5_pack(codes, y[b].qs, y[b].qh);
    }
}

void quant_ref_vec_dot_q5_0(int64_t n, float *s, const void *vx, const void *vy)
{
    const block_q5_0 *x = vx;
    const block_q8_0 *y = vy;
    float sum = 0;
    for (int64_t b = 0; b < n / QK5_0; b++) {
        const uint32_t qh = load_u32le(x[b].qh);
        int isum = 0;
        for (int j = 0; j < QK5_0; j++)
            isum += (q5_code(x[b].qs, qh, j) - 16) * y[b].qs[j];
        sum += fp16_to_f32(x[b].d) * fp16_to_f32(y[b].d) * (float)isum;
    }
    *s = sum;
}

/* ======================================================================
 * Q5_1 — 32 elements, 24 bytes: half d, half m, 4 bytes qh, 16 bytes qs
 * (bits as Q5_0). Value = q * d + m, d = (max - min) / 31, m = min.
 * ==================================================================== */

void quant_ref_to_float_q5_1(const void *vx, float *y, int64_t n)
{
    const block_q5_1 *x = vx;
    for (int64_t b = 0; b < n / QK5_1; b++, y += QK5_1) {
        const float d = fp16_to_f32(x[b].d);
        const float m = fp16_to_f32(x[b].m);
        const uint32_t qh = load_u32le(x[b].qh);
        for (int j = 0; j < QK5_1; j++)
            y[j] = q5_code(x[b].qs, qh, j) * d + m;
    }
}

void quant_ref_from_float_q5_1(const float *x, void *vy, int64_t n)
{
    block_q5_1 *y = vy;
    for (int64_t b = 0; b < n / QK5_1; b++, x += QK5_1) {
        float min, max;
        block_min_max(x, QK5_1, &min, &max);
        const float d = (max - min) / 31;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        uint8_t codes[QK5_1];
        for (int j = 0; j < QK5_1; j++)
            codes[j] = (uint8_t)trunc_clamp((x[j] - min) * id + 0.5f, 0, 31);
        y[b].d = f32_to_fp16(d);
        y[b].m = f32_to_fp16(min);
        q5_pack(codes, y[b].qs, y[b].qh);
    }
}

void quant_ref_vec_dot_q5_1(int64_t n, float *s, const void *vx, const void *vy)
{
    const block_q5_1 *x = vx;
    const block_q8_1 *y = vy;
    float sum = 0;
    for (int64_t b = 0; b < n / QK5_1; b++) {
        const uint32_t qh = load_u32le(x[b].qh);
        int isum = 0;
        for (int j = 0; j < QK5_1; j++)
            isum += q5_code(x[b].qs, qh, j) * y[b].qs[j];
        sum += fp16_to_f32(x[b].d) * fp16_to_f32(y[b].d) * (float)isum
             + fp16_to_f32(x[b].m) * fp16_to_f32(y[b].s);
    }
    *s = sum;
}

/* ======================================================================
 * Q8_0 — 32 elements, 34 bytes: half d, 32 int8. Value = q * d with
 * d = absmax / 127 and q = round(x / d) (half away from zero).
 * ==================================================================== */

void quant_ref_to_float_q8_0(const void *vx, float *y, int64_t n)
{
    const block_q8_0 *x = vx;
    for (int64_t b = 0; b < n / QK8_0; b++, y += QK8_0) {
        const float d = fp16_to_f32(x[b].d);
        for (int j = 0; j < QK8_0; j++)
            y[j] = x[b].qs[j] * d;
    }
}

/* Symmetric 8-bit codes of 32 values; returns the (unrounded) scale. */
static float q8_block_codes(const float *x, int8_t qs[32])
{
    float amax = 0;
    for (int j = 0; j < 32; j++)
        amax = fmaxf(amax, fabsf(x[j]));
    const float d = amax / 127;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    for (int j = 0; j < 32; j++)
        qs[j] = (int8_t)round_clamp(x[j] * id, -127, 127);
    return d;
}

void quant_ref_from_float_q8_0(const float *x, void *vy, int64_t n)
{
    block_q8_0 *y = vy;
    for (int64_t b = 0; b < n / QK8_0; b++, x += QK8_0)
        y[b].d = f32_to_fp16(q8_block_codes(x, y[b].qs));
}

void quant_ref_vec_dot_q8_0(int64_t n, float *s, const void *vx, const void *vy)
{
    const block_q8_0 *x = vx;
    const block_q8_0 *y = vy;
    float sum = 0;
    for (int64_t b = 0; b < n / QK8_0; b++) {
        int isum = 0;
        for (int j = 0; j < QK8_0; j++)
            isum += x[b].qs[j] * y[b].qs[j];
        sum += fp16_to_f32(x[b].d) * fp16_to_f32(y[b].d) * (float)isum;
    }
    *s = sum;
}

/* ======================================================================
 * Q8_1 — activation type for Q4_1/Q5_1. 32 elements, 36 bytes: half d,
 * half s = d * sum(qs) (from the unrounded d), 32 int8; codes as Q8_0.
 * (ggml has no Q8_1 x Q8_1 dot; ours is the obvious one, for symmetry.)
 * ==================================================================== */

void quant_ref_to_float_q8_1(const void *vx, float *y, int64_t n)
{
    const block_q8_1 *x = vx;
    for (int64_t b = 0; b < n / QK8_1; b++, y += QK8_1) {
        const float d = fp16_to_f32(x[b].d);
        for (int j = 0; j < QK8_1; j++)
            y[j] = x[b].qs[j] * d;
    }
}

void quant_ref_from_float_q8_1(const float *x, void *vy, int64_t n)
{
    block_q8_1 *y = vy;
    for (int64_t b = 0; b < n / QK8_1; b++, x += QK8_1) {
        const float d = q8_block_codes(x, y[b].qs);
        int sum = 0;
        for (int j = 0; j < QK8_1; j++)
            sum += y[b].qs[j];
        y[b].d = f32_to_fp16(d);
        y[b].s = f32_to_fp16((float)sum * d);
    }
}

void quant_ref_vec_dot_q8_1(int64_t n, float *s, const void *vx, const void *vy)
{
    const block_q8_1 *x = vx;
    const block_q8_1 *y = vy;
    float sum = 0;
    for (int64_t b = 0; b < n / QK8_1; b++) {
        int isum = 0;
        for (int j = 0; j < QK8_1; j++)
            isum += x[b].qs[j] * y[b].qs[j];
        sum += fp16_to_f32(x[b].d) * fp16_to_f32(y[b].d) * (float)isum;
    }
    *s = sum;
}
