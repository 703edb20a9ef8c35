/* test_attn_kernels.c — the SIMD attention kernels (attn_kernels in
 * engine/kernels/kernels.h: scores = queries x transposed K, mix = weights x V)
 * against the scalar reference (engine/kernels/attn_ref.c), for every set this CPU
 * can run.
 *
 * Inputs are F16 values (the cache) and floats already rounded to F16
 * values (queries, softmax weights), so every product is exact and the
 * reference's double sum is nearly exact. A SIMD set adds the same
 * products in float, each output in one lane: a sum of m terms is then
 * within (m-1)*2^-24*sum|terms| of the exact sum, plus the reference's own
 * final rounding (half an ulp). Shapes cover head counts that are not a
 * multiple of the kernels' head blocks, head sizes with tails, and
 * position counts around every vector width; padding around the outputs
 * must stay untouched.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/kernels.h"
#include "engine/kernels/tensor_types.h"

typedef struct simd_attn {
    const char *name;
    const attn_kernels *(*get)(void);
} simd_attn;

static const simd_attn simd_sets[] = {
    { "avx2", kernels_avx2_attn },
    { "avx512", kernels_avx512_attn },
};
#define N_SETS (sizeof simd_sets / sizeof simd_sets[0])

static const int head_counts[] = { 1, 3, 4, 5, 8, 9 };
static const int head_dims[] = { 64, 128, 40, 17 };
static const int kv_counts[] = { 1, 7, 15, 16, 17, 31, 32, 33, 100, 257 };

#define SENTINEL 1234.5f

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

/* A value in (-2, 2), as an F16 bit pattern. */
static uint16_t random_half(uint64_t *s)
{
    const double u = (double)(rng_next(s) >> 11) / 9007199254740992.0;
    return f32_to_fp16((float)(4.0 * u - 2.0));
}

static uint16_t *random_halves(uint64_t *s, size_t n)
{
    uint16_t *h = malloc(n * sizeof *h);
    cr_assert(h);
    for (size_t i = 0; i < n; i++)
        h[i] = random_half(s);
    return h;
}

/* Floats that are F16 values (as the engine rounds queries and weights). */
static float *random_f16_floats(uint64_t *s, size_t n)
{
    float *x = malloc(n * sizeof *x);
    cr_assert(x);
    for (size_t i = 0; i < n; i++)
        x[i] = fp16_to_f32(random_half(s));
    return x;
}

static float *sentinel_floats(size_t n)
{
    float *x = malloc(n * sizeof *x);
    cr_assert(x);
    for (size_t i = 0; i < n; i++)
        x[i] = SENTINEL;
    return x;
}

/* |got - want| within the float-summation bound for m terms whose
 * absolute values add up to abs_sum. */
static void assert_close(const char *what, float got, float want, int m, double abs_sum)
{
    const double ulp = (double)nextafterf(fabsf(want), INFINITY) - fabs((double)want);
    const double tol = (double)(m > 1 ? m - 1 : 0) * ldexp(abs_sum, -24) + ulp;
    cr_assert(fabs((double)got - (double)want) <= tol, "%s: got %a want %a (tol %g)", what,
              (double)got, (double)want, tol);
}

static void check_scores(const simd_attn *set, int n_q, int hd, int n_kv, uint64_t *seed)
{
    const size_t kt_stride = (size_t)n_kv + 5, s_stride = (size_t)n_kv + 3;
    float *q = random_f16_floats(seed, (size_t)n_q * hd);
    uint16_t *kt = random_halves(seed, (size_t)hd * kt_stride);
    float *want = sentinel_floats((size_t)n_q * s_stride);
    float *got = sentinel_floats((size_t)n_q * s_stride);
    attn_ref_kernels()->scores(n_q, hd, n_kv, q, kt, kt_stride, want, s_stride);
    set->get()->scores(n_q, hd, n_kv, q, kt, kt_stride, got, s_stride);
    for (int h = 0; h < n_q; h++) {
        for (int p = 0; p < (int)s_stride; p++) {
            char what[128];
            snprintf(what, sizeof what, "%s scores n_q=%d hd=%d n_kv=%d h=%d p=%d", set->name,
                     n_q, hd, n_kv, h, p);
            const float g = got[(size_t)h * s_stride + p];
            if (p >= n_kv) {
                cr_assert(g == SENTINEL, "%s: padding overwritten", what);
                continue;
            }
            double abs_sum = 0;
            for (int d = 0; d < hd; d++)
                abs_sum += fabs((double)q[(size_t)h * hd + d] *
                                (double)fp16_to_f32(kt[(size_t)d * kt_stride + p]));
            assert_close(what, g, want[(size_t)h * s_stride + p], hd, abs_sum);
        }
    }
    free(q);
    free(kt);
    free(want);
    free(got);
}

static void check_mix(const simd_attn *set, int n_q, int hd, int n_kv, uint64_t *seed)
{
    const size_t w_stride = (size_t)n_kv + 2, v_stride = (size_t)hd + 3;
    const size_t out_len = (size_t)n_q * hd + 16;
    float *w = random_f16_floats(seed, (size_t)n_q * w_stride);
    uint16_t *v = random_halves(seed, (size_t)n_kv * v_stride);
    float *want = sentinel_floats(out_len), *got = sentinel_floats(out_len);
    attn_ref_kernels()->mix(n_q, hd, n_kv, w, w_stride, v, v_stride, want);
    set->get()->mix(n_q, hd, n_kv, w, w_stride, v, v_stride, got);
    for (size_t o = 0; o < out_len; o++) {
        char what[128];
        snprintf(what, sizeof what, "%s mix n_q=%d hd=%d n_kv=%d out=%zu", set->name, n_q, hd,
                 n_kv, o);
        if (o >= (size_t)n_q * hd) {
            cr_assert(got[o] == SENTINEL, "%s: written past the output", what);
            continue;
        }
        const size_t h = o / (size_t)hd, i = o % (size_t)hd;
        double abs_sum = 0;
        for (int p = 0; p < n_kv; p++)
            abs_sum += fabs((double)w[h * w_stride + p] *
                            (double)fp16_to_f32(v[(size_t)p * v_stride + i]));
        assert_close(what, got[o], want[o], n_kv, abs_sum);
    }
    free(w);
    free(v);
    free(want);
    free(got);
}

#define FOR_EACH_SHAPE(body)                                                          \
    for (size_t a = 0; a < sizeof head_counts / sizeof head_counts[0]; a++)           \
        for (size_t b = 0; b < sizeof head_dims / sizeof head_dims[0]; b++)           \
            for (size_t c = 0; c < sizeof kv_counts / sizeof kv_counts[0]; c++) {     \
                const int n_q = head_counts[a], hd = head_dims[b], n_kv = kv_counts[c]; \
                body;                                                                 \
            }

static int run_on_every_set(void (*check)(const simd_attn *, int, int, int, uint64_t *))
{
    int ran = 0;
    for (size_t s = 0; s < N_SETS; s++) {
        if (!kernels_cpu_supports(simd_sets[s].name)) {
            cr_log_warn("kernel set %s: not supported by this CPU, skipped", simd_sets[s].name);
            continue;
        }
        ran++;
        uint64_t seed = 0x9e3779b97f4a7c15ULL + s;
        FOR_EACH_SHAPE(check(&simd_sets[s], n_q, hd, n_kv, &seed));
    }
    return ran;
}

Test(attn_kernels, scores_within_float_bound_of_reference)
{
    cr_assert(run_on_every_set(check_scores) >= 1, "no SIMD set ran");
}

Test(attn_kernels, mix_within_float_bound_of_reference)
{
    cr_assert(run_on_every_set(check_mix) >= 1, "no SIMD set ran");
}

/* A long context: sums of thousands of terms stay within the bound. */
Test(attn_kernels, long_context)
{
    int ran = 0;
    for (size_t s = 0; s < N_SETS; s++) {
        if (!kernels_cpu_supports(simd_sets[s].name))
            continue;
        ran++;
        uint64_t seed = 42 + s;
        check_scores(&simd_sets[s], 8, 64, 4096, &seed);
        check_mix(&simd_sets[s], 8, 64, 4096, &seed);
    }
    cr_assert(ran >= 1, "no SIMD set ran");
}

/* kernels_attn() picks a set this CPU runs, and PRECIS_KERNELS=ref forces
 * the reference. */
Test(attn_kernels, dispatch_and_override)
{
    const attn_kernels *k = kernels_attn();
    cr_assert(k && kernels_cpu_supports(k->name), "picked %s", k ? k->name : "nothing");
    setenv("PRECIS_KERNELS", "ref", 1);
    cr_assert_str_eq(kernels_attn()->name, "ref");
    unsetenv("PRECIS_KERNELS");
}
