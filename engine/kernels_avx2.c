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

static const type_traits avx2_traits[TT_COUNT] = {
    [TT_F32]  = { "f32",  1, sizeof(float),    TT_F32,  quant_ref_to_float_f32,
                  quant_ref_from_float_f32,  kx_vec_dot_f32 },
    [TT_F16]  = { "f16",  1, sizeof(uint16_t), TT_F16,  kx_to_float_f16,
                  kx_from_float_f16,  kx_vec_dot_f16 },
    [TT_BF16] = { "bf16", 1, sizeof(uint16_t), TT_BF16, kx_to_float_bf16,
                  kx_from_float_bf16, kx_vec_dot_bf16 },
    [TT_Q4_0] = { "q4_0", QK4_0, sizeof(block_q4_0), TT_Q8_0, quant_ref_to_float_q4_0,
                  quant_ref_from_float_q4_0, kx_vec_dot_q4_0 },
    [TT_Q4_1] = { "q4_1", QK4_1, sizeof(block_q4_1), TT_Q8_1, quant_ref_to_float_q4_1,
                  quant_ref_from_float_q4_1, kx_vec_dot_q4_1 },
    [TT_Q5_0] = { "q5_0", QK5_0, sizeof(block_q5_0), TT_Q8_0, quant_ref_to_float_q5_0,
                  quant_ref_from_float_q5_0, kx_vec_dot_q5_0 },
    [TT_Q5_1] = { "q5_1", QK5_1, sizeof(block_q5_1), TT_Q8_1, quant_ref_to_float_q5_1,
                  quant_ref_from_float_q5_1, kx_vec_dot_q5_1 },
    [TT_Q8_0] = { "q8_0", QK8_0, sizeof(block_q8_0), TT_Q8_0, quant_ref_to_float_q8_0,
                  kx_from_float_q8_0, kx_vec_dot_q8_0 },
    [TT_Q8_1] = { "q8_1", QK8_1, sizeof(block_q8_1), TT_Q8_1, quant_ref_to_float_q8_1,
                  kx_from_float_q8_1, kx_vec_dot_q8_1 },
    [TT_Q2_K] = { "q2_K", QK_K, sizeof(block_q2_K), TT_Q8_K, quant_ref_to_float_q2_K,
                  quant_ref_from_float_q2_K, kx_vec_dot_q2_K },
    [TT_Q3_K] = { "q3_K", QK_K, sizeof(block_q3_K), TT_Q8_K, quant_ref_to_float_q3_K,
                  quant_ref_from_float_q3_K, kx_vec_dot_q3_K },
    [TT_Q4_K] = { "q4_K", QK_K, sizeof(block_q4_K), TT_Q8_K, quant_ref_to_float_q4_K,
                  quant_ref_from_float_q4_K, kx_vec_dot_q4_K },
    [TT_Q5_K] = { "q5_K", QK_K, sizeof(block_q5_K), TT_Q8_K, quant_ref_to_float_q5_K,
                  quant_ref_from_float_q5_K, kx_vec_dot_q5_K },
    [TT_Q6_K] = { "q6_K", QK_K, sizeof(block_q6_K), TT_Q8_K, quant_ref_to_float_q6_K,
                  quant_ref_from_float_q6_K, kx_vec_dot_q6_K },
    [TT_Q8_K] = { "q8_K", QK_K, sizeof(block_q8_K), TT_Q8_K, quant_ref_to_float_q8_K,
                  kx_from_float_q8_K, kx_vec_dot_q8_K },
};

const type_traits *kernels_avx2_traits(uint32_t type)
{
    if (type >= TT_COUNT || !avx2_traits[type].name)
        return NULL;
    return &avx2_traits[type];
}
