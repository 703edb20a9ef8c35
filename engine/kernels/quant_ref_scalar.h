/* quant_ref_scalar.h — the scalar helpers both halves of the reference
 * use (quant_ref.c: float and 32-element types; quant_ref_k.c: K-quants):
 * integer clamps, ggml's nearest_int and the signed absolute maximum
 * (engine-internal; include only from quant_ref*.c).
 */
#ifndef PRECIS_QUANT_REF_SCALAR_H
#define PRECIS_QUANT_REF_SCALAR_H

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
