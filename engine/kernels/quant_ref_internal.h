/* quant_ref_internal.h — the small arithmetic both halves of the scalar
 * reference share (quant_ref.c: plain and legacy block types; quant_ref_k.c:
 * K-quants): ggml's rounding, clamps, little-endian words, absmax. */
#ifndef PRECIS_QUANT_REF_INTERNAL_H
#define PRECIS_QUANT_REF_INTERNAL_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define GROUP_MAX_EPS 1e-15f

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }
static inline int iclamp(int v, int lo, int hi) { return imin(hi, imax(lo, v)); }

/* Round to nearest, ties to even (ggml's nearest_int): adding 1.5*2^23 makes
 * the FPU round v into the low mantissa bits. Out-of-range values saturate
 * and NaN gives 0, where ggml would assert. */
static inline int nearest_int(float v)
{
    if (!(fabsf(v) <= 4194303.f))
        return v > 0 ? 4194303 : v < 0 ? -4194303 : 0;
    float biased = v + 12582912.f;
    uint32_t bits;
    memcpy(&bits, &biased, sizeof bits);
    return (int)(bits & 0x7fffffu) - 0x400000;
}

/* (int)v (truncation toward zero) clamped into [lo, hi]; NaN gives lo. */
static inline int trunc_clamp(float v, int lo, int hi)
{
    if (!(v > (float)lo))
        return lo;
    if (v >= (float)hi)
        return hi;
    return (int)v;
}

/* roundf(v) (half away from zero) clamped into [lo, hi]; NaN gives 0. */
static inline int round_clamp(float v, int lo, int hi)
{
    if (v != v)
        return 0;
    if (v <= (float)lo)
        return lo;
    if (v >= (float)hi)
        return hi;
    return (int)roundf(v);
}

static inline uint32_t load_u32le(const uint8_t b[4])
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline void store_u32le(uint8_t b[4], uint32_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}

/* Largest |x[i]| and the signed value that has it (first one wins). */
static inline float signed_absmax(const float *x, int n, float *amax_out)
{
    float amax = 0, max = 0;
    for (int i = 0; i < n; i++) {
        if (amax < fabsf(x[i])) {
            amax = fabsf(x[i]);
            max = x[i];
        }
    }
    *amax_out = amax;
    return max;
}

#endif
