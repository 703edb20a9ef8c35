/* fp16.c — IEEE binary16 and bfloat16 <-> float conversions, bit-exact with ggml.
 *
 * fp16 -> f32 is exact (every half is a float). f32 -> fp16 rounds to nearest,
 * ties to even, overflows to infinity and keeps NaNs NaN (sign and the top
 * mantissa bits are kept and the quiet bit is set, as the F16C instruction
 * ggml uses on x86 does). bf16 is the top half of a float: f32 -> bf16 rounds
 * to nearest even and forces NaNs quiet, exactly as ggml's GGML_FP32_TO_BF16.
 * Plain integer code, no tables, no state.
 */
#include "engine/kernels/tensor_types.h"

#include <string.h>

static uint32_t float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float fp16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;

    if (exp == 0x1f)                      /* infinity or NaN: payload kept */
        return bits_float(sign | 0x7f800000u | (man << 13));
    if (exp != 0)                         /* normal: rebias 15 -> 127 */
        return bits_float(sign | ((exp + 112u) << 23) | (man << 13));
    if (man == 0)                         /* signed zero */
        return bits_float(sign);
    /* Subnormal: man * 2^-24, exactly representable as a normal float. */
    int shift = 0;
    while (!(man & 0x400u)) {
        man <<= 1;
        shift++;
    }
    man &= 0x3ffu;
    return bits_float(sign | ((uint32_t)(113 - shift) << 23) | (man << 13));
}

/* Shift `value` right by `shift` bits rounding to nearest, ties to even. */
static uint32_t shift_round_even(uint32_t value, unsigned shift)
{
    if (shift >= 32)
        return 0;
    uint32_t kept = value >> shift;
    uint32_t rest = value & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1);
    if (rest > half || (rest == half && (kept & 1u)))
        kept++;
    return kept;
}

uint16_t f32_to_fp16(float f)
{
    uint32_t u = float_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t exp = (u >> 23) & 0xffu;
    uint32_t man = u & 0x7fffffu;

    if (exp == 0xff) {
        if (man == 0)
            return sign | 0x7c00u;                              /* infinity */
        return (uint16_t)(sign | 0x7e00u | (man >> 13));         /* quiet NaN */
    }
    int e = (int)exp - 127;                 /* unbiased exponent */
    if (e > 15)
        return sign | 0x7c00u;              /* too large: infinity */
    if (e >= -14) {
        /* Normal half. Rounding may carry into the exponent, and from the
         * largest finite value into infinity: both fall out of the addition. */
        uint32_t bits = ((uint32_t)(e + 15) << 10) | (man >> 13);
        uint32_t rest = man & 0x1fffu;
        if (rest > 0x1000u || (rest == 0x1000u && (bits & 1u)))
            bits++;
        return (uint16_t)(sign | bits);
    }
    /* Subnormal half (or zero): the half stores m = value * 2^24. With the
     * 24-bit significand full = 1.man * 2^23, value = full * 2^(e-23), so
     * m = full >> (-e - 1), rounded. Float subnormals are far below 2^-25. */
    if (exp == 0)
        return sign;
    uint32_t full = man | 0x800000u;
    unsigned shift = (unsigned)(-e - 1);
    return (uint16_t)(sign | shift_round_even(full, shift));
}

float bf16_to_f32(uint16_t h)
{
    return bits_float((uint32_t)h << 16);
}

uint16_t f32_to_bf16(float f)
{
    uint32_t u = float_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40u);   /* NaN: keep it, force quiet */
    uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)((u + rounding) >> 16);
}
