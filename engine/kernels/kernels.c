/* kernels.c — runtime choice of tensor kernels for this CPU.
 *
 * tensor_types_get() returns, per type, the traits of the best kernel set
 * the CPU supports (see kernels.h for how instruction-set files plug in).
 * The sets are the x86 SIMD files (kernels_avx512.c, kernels_avx2.c) and the
 * scalar reference, which provides every type.
 * The environment variable PRECIS_KERNELS (process configuration, read only)
 * may name a set to force, e.g. PRECIS_KERNELS=ref to compare results; an
 * unsupported or unknown name is ignored.
 */
#include "engine/kernels/kernels.h"

#include <stdlib.h>
#include <string.h>

typedef struct kernel_set {
    const char *name;
    const type_traits *(*traits)(uint32_t type);
    const attn_kernels *(*attn)(void);
    const vec_kernels *(*vec)(void);
} kernel_set;

/* Best first; the reference provides every type and ends the list. */
static const kernel_set kernel_sets[] = {
#if defined(__x86_64__) || defined(__i386__)
    { "avx512", kernels_avx512_traits, kernels_avx512_attn, kernels_avx512_vec },
    { "avx2",   kernels_avx2_traits,   kernels_avx2_attn,   kernels_avx2_vec },
#endif
    { "ref", tensor_types_ref, attn_ref_kernels, vec_ref_kernels },
};

#define N_KERNEL_SETS (sizeof kernel_sets / sizeof kernel_sets[0])

int kernels_cpu_supports(const char *set)
{
    if (!set)
        return 0;
    if (strcmp(set, "ref") == 0)
        return 1;
#if defined(__x86_64__) || defined(__i386__)
    /* clang 14 cannot test "f16c"; every AVX2 CPU has F16C. */
    if (strcmp(set, "avx2") == 0)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (strcmp(set, "avx512") == 0)
        return kernels_cpu_supports("avx2") && __builtin_cpu_supports("avx512f") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vnni") &&
               __builtin_cpu_supports("avx512bf16");
#endif
    return 0;
}

/* Whether a set provides `type`; the attention and element-wise kernels
 * ask for no type (NO_TYPE): every set provides them. */
#define NO_TYPE UINT32_MAX

static int set_provides(const kernel_set *set, uint32_t type)
{
    return type == NO_TYPE || set->traits(type) != NULL;
}

/* The set for `type`: the forced one if PRECIS_KERNELS names a usable set
 * that provides it, else the first supported set that provides it. */
static const kernel_set *choose_set(uint32_t type)
{
    const char *forced = getenv("PRECIS_KERNELS");
    if (forced && *forced) {
        for (size_t i = 0; i < N_KERNEL_SETS; i++)
            if (strcmp(kernel_sets[i].name, forced) == 0 && kernels_cpu_supports(forced) &&
                set_provides(&kernel_sets[i], type))
                return &kernel_sets[i];
    }
    for (size_t i = 0; i < N_KERNEL_SETS; i++)
        if (kernels_cpu_supports(kernel_sets[i].name) && set_provides(&kernel_sets[i], type))
            return &kernel_sets[i];
    return NULL;
}

const type_traits *tensor_types_get(uint32_t type)
{
    const kernel_set *set = choose_set(type);
    return set ? set->traits(type) : NULL;
}

/* The reference ends the list and is always supported, so a set is found. */
const attn_kernels *kernels_attn(void)
{
    return choose_set(NO_TYPE)->attn();
}

const vec_kernels *kernels_vec(void)
{
    return choose_set(NO_TYPE)->vec();
}

const char *kernels_set_for(uint32_t type)
{
    const kernel_set *set = choose_set(type);
    return set ? set->name : "none";
}
