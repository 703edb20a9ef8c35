/* tensor_types.c — the table of tensor type traits (reference kernels) and
 * the type helpers: row sizes and ggml's type names.
 *
 * tensor_types_ref() is the plain scalar oracle; kernels.c chooses faster
 * kernels for tensor_types_get().
 */
#include "engine/kernels/tensor_types.h"

#include <strings.h>

#include "engine/kernels/quant_ref.h"

static const type_traits reference_traits[TT_COUNT] = {
    [TT_F32]  = { "f32",  1, sizeof(float),    TT_F32,  quant_ref_to_float_f32,
                  quant_ref_from_float_f32,  quant_ref_vec_dot_f32, NULL, NULL, NULL },
    [TT_F16]  = { "f16",  1, sizeof(uint16_t), TT_F16,  quant_ref_to_float_f16,
                  quant_ref_from_float_f16,  quant_ref_vec_dot_f16, NULL, NULL, NULL },
    [TT_BF16] = { "bf16", 1, sizeof(uint16_t), TT_BF16, quant_ref_to_float_bf16,
                  quant_ref_from_float_bf16, quant_ref_vec_dot_bf16, NULL, NULL, NULL },
    [TT_Q4_0] = { "q4_0", QK4_0, sizeof(block_q4_0), TT_Q8_0, quant_ref_to_float_q4_0,
                  quant_ref_from_float_q4_0, quant_ref_vec_dot_q4_0, NULL, NULL, NULL },
    [TT_Q4_1] = { "q4_1", QK4_1, sizeof(block_q4_1), TT_Q8_1, quant_ref_to_float_q4_1,
                  quant_ref_from_float_q4_1, quant_ref_vec_dot_q4_1, NULL, NULL, NULL },
    [TT_Q5_0] = { "q5_0", QK5_0, sizeof(block_q5_0), TT_Q8_0, quant_ref_to_float_q5_0,
                  quant_ref_from_float_q5_0, quant_ref_vec_dot_q5_0, NULL, NULL, NULL },
    [TT_Q5_1] = { "q5_1", QK5_1, sizeof(block_q5_1), TT_Q8_1, quant_ref_to_float_q5_1,
                  quant_ref_from_float_q5_1, quant_ref_vec_dot_q5_1, NULL, NULL, NULL },
    [TT_Q8_0] = { "q8_0", QK8_0, sizeof(block_q8_0), TT_Q8_0, quant_ref_to_float_q8_0,
                  quant_ref_from_float_q8_0, quant_ref_vec_dot_q8_0, NULL, NULL, NULL },
    [TT_Q8_1] = { "q8_1", QK8_1, sizeof(block_q8_1), TT_Q8_1, quant_ref_to_float_q8_1,
                  quant_ref_from_float_q8_1, quant_ref_vec_dot_q8_1, NULL, NULL, NULL },
    [TT_Q2_K] = { "q2_K", QK_K, sizeof(block_q2_K), TT_Q8_K, quant_ref_to_float_q2_K,
                  quant_ref_from_float_q2_K, quant_ref_vec_dot_q2_K, NULL, NULL, NULL },
    [TT_Q3_K] = { "q3_K", QK_K, sizeof(block_q3_K), TT_Q8_K, quant_ref_to_float_q3_K,
                  quant_ref_from_float_q3_K, quant_ref_vec_dot_q3_K, NULL, NULL, NULL },
    [TT_Q4_K] = { "q4_K", QK_K, sizeof(block_q4_K), TT_Q8_K, quant_ref_to_float_q4_K,
                  quant_ref_from_float_q4_K, quant_ref_vec_dot_q4_K, NULL, NULL, NULL },
    [TT_Q5_K] = { "q5_K", QK_K, sizeof(block_q5_K), TT_Q8_K, quant_ref_to_float_q5_K,
                  quant_ref_from_float_q5_K, quant_ref_vec_dot_q5_K, NULL, NULL, NULL },
    [TT_Q6_K] = { "q6_K", QK_K, sizeof(block_q6_K), TT_Q8_K, quant_ref_to_float_q6_K,
                  quant_ref_from_float_q6_K, quant_ref_vec_dot_q6_K, NULL, NULL, NULL },
    [TT_Q8_K] = { "q8_K", QK_K, sizeof(block_q8_K), TT_Q8_K, quant_ref_to_float_q8_K,
                  quant_ref_from_float_q8_K, quant_ref_vec_dot_q8_K, NULL, NULL, NULL },
};

const type_traits *tensor_types_ref(uint32_t type)
{
    if (type >= TT_COUNT || !reference_traits[type].name)
        return NULL;
    return &reference_traits[type];
}

size_t tensor_row_size(tensor_type t, int64_t n)
{
    const type_traits *tr = tensor_types_ref((uint32_t)t);
    if (!tr || n < 0 || n % tr->blck != 0)
        return 0;
    return (size_t)(n / tr->blck) * tr->type_size;
}

const char *tensor_type_name(uint32_t type)
{
    const type_traits *tr = tensor_types_ref(type);
    return tr ? tr->name : "unknown";
}

int tensor_type_from_name(const char *name)
{
    if (!name)
        return -1;
    for (uint32_t t = 0; t < TT_COUNT; t++) {
        const type_traits *tr = tensor_types_ref(t);
        if (tr && strcasecmp(tr->name, name) == 0)
            return (int)t;
    }
    return -1;
}
