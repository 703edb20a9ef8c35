/* kernels_avx2.c — the AVX2 + FMA + F16C kernel set (compiled with those
 * flags only; kernels.c calls in here only on CPUs that have them).
 *
 * The kernel bodies live in kernels_x86.h, shared with the AVX-512 set;
 * this file instantiates them with AVX2 primitives (vpmaddubsw + vpmaddwd)
 * and lists them. Every type has a SIMD vec_dot here; quantizers other than
 * the activation types (Q8_0, Q8_1, Q8_K, F16, BF16) and the quantized
 * dequantizers stay the reference's (they are not on the hot path).
 */
#include "engine/kernels.h"
#include "engine/kernels_x86.h"

KX_TRAITS_TABLE(avx2_traits, kx_vec_dot_f32, kx_vec_dot_f16, kx_vec_dot_bf16)

const type_traits *kernels_avx2_traits(uint32_t type)
{
    if (type >= TT_COUNT || !avx2_traits[type].name)
        return NULL;
    return &avx2_traits[type];
}
