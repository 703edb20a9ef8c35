/* test_vec_kernels.c — the element-wise kernels (vec_kernels in
 * engine/kernels/kernels.h: softmax, SwiGLU) of every set this CPU can run, the
 * scalar reference included, against values computed in double.
 *
 * The SIMD sets compute exp with a polynomial instead of expf, so they are
 * held to bounds in ulps of the exact result rather than to the
 * reference's bits: SwiGLU swept densely over the whole range where exp
 * is finite and nonzero (with up = 1, a negative gate's result carries
 * exp's relative error undamped), the softmax over many lengths (tails of
 * every vector width) and score spreads. Special values (infinities, NaN,
 * signed zeros, exp overflow and underflow) must come out as the
 * reference's; elements past n must stay untouched.
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/kernels.h"

typedef struct vec_set {
    const char *name;
    const vec_kernels *(*get)(void);
} vec_set;

static const vec_set vec_sets[] = {
    { "ref", vec_ref_kernels },
    { "avx2", kernels_avx2_vec },
    { "avx512", kernels_avx512_vec },
};
#define N_SETS (sizeof vec_sets / sizeof vec_sets[0])

#define SENTINEL 1234.5f
#define PAD 16

/* |got - want| in units of the float spacing at want (subnormal spacing
 * below FLT_MIN). */
static double ulps(float got, double want)
{
    const double a = fabs(want) < FLT_MIN ? FLT_MIN : fabs(want);
    const double spacing = ldexp(1.0, ilogb(a) - 23);
    return fabs((double)got - want) / spacing;
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

static double uniform(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) / 9007199254740992.0;
}

static double silu_exact(float g)
{
    return (double)g / (1.0 + exp(-(double)g));
}

/* Largest ulp error of a set's SwiGLU (up = 1) over gates g, n of them. */
static double swiglu_max_ulps(const vec_kernels *k, const float *g, int64_t n)
{
    float *gate = malloc((size_t)(n + PAD) * sizeof *gate);
    float *up = malloc((size_t)n * sizeof *up);
    cr_assert(gate && up);
    memcpy(gate, g, (size_t)n * sizeof *gate);
    for (int64_t i = 0; i < n; i++)
        up[i] = 1.0f;
    for (int i = 0; i < PAD; i++)
        gate[n + i] = SENTINEL;
    k->swiglu(gate, up, n);
    double worst = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const double e = ulps(gate[i], silu_exact(g[i]));
        if (e > worst)
            worst = e;
    }
    for (int i = 0; i < PAD; i++)
        cr_assert_eq(gate[n + i], SENTINEL, "%s swiglu wrote past n=%lld", k->name, (long long)n);
    free(gate);
    free(up);
    return worst;
}

Test(vec_kernels, swiglu_within_3_ulp_over_the_whole_exp_range)
{
    /* Gates every 1/1024 from -87.5 to 88 (below about -88.7, e^-g
     * overflows and the result is -0, checked with the special values),
     * plus random ones in that range. */
    const int64_t n = (int64_t)(175.5 * 1024) + 4096;
    float *g = malloc((size_t)n * sizeof *g);
    cr_assert(g);
    int64_t m = 0;
    for (double x = -87.5; x < 88.0; x += 1.0 / 1024)
        g[m++] = (float)x;
    uint64_t seed = 7;
    while (m < n)
        g[m++] = (float)(175.5 * uniform(&seed) - 87.5);
    for (size_t i = 0; i < N_SETS; i++) {
        if (!kernels_cpu_supports(vec_sets[i].name))
            continue;
        const double worst = swiglu_max_ulps(vec_sets[i].get(), g, n);
        cr_log_info("%s swiglu: max error %.2f ulp", vec_sets[i].name, worst);
        cr_expect_leq(worst, 3.0, "%s swiglu: %.2f ulp", vec_sets[i].name, worst);
    }
    free(g);
}

Test(vec_kernels, swiglu_special_values_match_the_reference)
{
    static const float g[] = { 0.0f,   -0.0f,  INFINITY, -INFINITY, NAN,     88.9f,   -88.9f,
                               200.0f, -200.0f, 1e-30f,  -1e-30f,   1e-40f,  -1e-40f, FLT_MAX,
                               -FLT_MAX, -95.0f, -103.0f, -104.5f,  3.0f,    -3.0f };
    static const float up[] = { 2.0f, 2.0f,  2.0f,  2.0f,      2.0f,     -1.5f, -1.5f,
                                0.5f, 0.5f,  3.0f,  3.0f,      1.0f,     1.0f,  1.0f,
                                1.0f, 1.0f,  1.0f,  1.0f,      0.0f,     INFINITY };
    const int n = (int)(sizeof g / sizeof g[0]);
    float want[sizeof g / sizeof g[0]];
    memcpy(want, g, sizeof want);
    vec_ref_kernels()->swiglu(want, up, n);
    for (size_t i = 0; i < N_SETS; i++) {
        if (!kernels_cpu_supports(vec_sets[i].name))
            continue;
        float got[sizeof g / sizeof g[0]];
        memcpy(got, g, sizeof got);
        vec_sets[i].get()->swiglu(got, up, n);
        for (int j = 0; j < n; j++) {
            if (isnan(want[j])) {
                cr_expect(isnan(got[j]), "%s swiglu(%g): %g, want NaN", vec_sets[i].name, g[j],
                          got[j]);
            } else if (isinf(want[j]) || want[j] == 0.0f) {
                cr_expect(got[j] == want[j] && signbit(got[j]) == signbit(want[j]),
                          "%s swiglu(%g) * %g: %g, want %g", vec_sets[i].name, g[j], up[j],
                          got[j], want[j]);
            } else {
                cr_expect_leq(ulps(got[j], silu_exact(g[j]) * up[j]), 3.0,
                              "%s swiglu(%g) * %g: %g, want %g", vec_sets[i].name, g[j], up[j],
                              got[j], want[j]);
            }
        }
    }
}

/* The exact softmax of scale * s in double. */
static void softmax_exact(const float *s, int n, float scale, double *out)
{
    double max = -INFINITY;
    for (int i = 0; i < n; i++)
        max = fmax(max, (double)(s[i] * scale));
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        out[i] = exp((double)(s[i] * scale) - max);
        sum += out[i];
    }
    for (int i = 0; i < n; i++)
        out[i] /= sum;
}

Test(vec_kernels, softmax_within_bounds_every_length)
{
    /* Bound per weight, in ulps, for the reference and the SIMD sets alike:
     * a few for exp and the final scaling; |a| more for the float rounding
     * of exp's argument a = scale * s - max (a relative error of |a| 2^-24
     * in e^a); n - 1 more for a float sum of n terms. exp itself is held
     * tightly by softmax_exp_over_the_whole_negative_range. */
    static const int lens[] = { 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 100, 257, 1000, 4097 };
    static const float spreads[] = { 0.01f, 1.0f, 20.0f, 200.0f };
    uint64_t seed = 11;
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        const int n = lens[li];
        float *s = malloc((size_t)(n + PAD) * sizeof *s), *src = malloc((size_t)n * sizeof *src);
        double *want = malloc((size_t)n * sizeof *want);
        cr_assert(s && src && want);
        for (size_t si = 0; si < sizeof spreads / sizeof spreads[0]; si++) {
            for (int i = 0; i < n; i++)
                src[i] = (float)(spreads[si] * (2.0 * uniform(&seed) - 1.0));
            const float scale = 0.125f;
            softmax_exact(src, n, scale, want);
            float max = -INFINITY;
            for (int i = 0; i < n; i++)
                max = fmaxf(max, src[i] * scale);
            for (size_t k = 0; k < N_SETS; k++) {
                if (!kernels_cpu_supports(vec_sets[k].name))
                    continue;
                memcpy(s, src, (size_t)n * sizeof *s);
                for (int i = 0; i < PAD; i++)
                    s[n + i] = SENTINEL;
                vec_sets[k].get()->softmax(s, n, scale);
                double total = 0.0;
                for (int i = 0; i < n; i++) {
                    const double bound = 4.0 + fabs((double)(src[i] * scale - max)) + (n - 1);
                    const double e = ulps(s[i], want[i]);
                    cr_expect_leq(e, bound, "%s softmax n=%d spread=%g [%d]: %.1f ulp > %.1f",
                                  vec_sets[k].name, n, spreads[si], i, e, bound);
                    total += s[i];
                }
                cr_expect(fabs(total - 1.0) < 1e-5 + n * 1e-7, "%s softmax n=%d: sum %.9f",
                          vec_sets[k].name, n, total);
                for (int i = 0; i < PAD; i++)
                    cr_assert_eq(s[n + i], SENTINEL, "%s softmax wrote past n=%d",
                                 vec_sets[k].name, n);
            }
        }
        free(s);
        free(src);
        free(want);
    }
}

Test(vec_kernels, softmax_exp_over_the_whole_negative_range)
{
    /* Two scores [0, -x]: the second weight is e^-x / (1 + e^-x), carrying
     * exp's relative error, for x every 1/256 from 0 to 103 (down into the
     * subnormal results, where the bound is in subnormal spacings). */
    for (size_t k = 0; k < N_SETS; k++) {
        if (!kernels_cpu_supports(vec_sets[k].name))
            continue;
        double worst = 0.0;
        for (double x = 0.0; x < 103.0; x += 1.0 / 256) {
            float s[2] = { 0.0f, (float)-x };
            vec_sets[k].get()->softmax(s, 2, 1.0f);
            const double e = exp(-(double)(float)x);
            worst = fmax(worst, ulps(s[1], e / (1.0 + e)));
            worst = fmax(worst, ulps(s[0], 1.0 / (1.0 + e)));
        }
        cr_log_info("%s softmax [0, -x]: max error %.2f ulp", vec_sets[k].name, worst);
        cr_expect_leq(worst, 3.0, "%s softmax [0, -x]: %.2f ulp", vec_sets[k].name, worst);
    }
}

Test(vec_kernels, softmax_special_values_match_the_reference)
{
    static const float cases[][4] = {
        { 1000.0f, 0.0f, -1000.0f, 5.0f },            /* one weight 1, the rest 0 */
        { 3.0f, 3.0f, 3.0f, 3.0f },                    /* equal: 1/4 each, exactly */
        { -INFINITY, 0.0f, 1.0f, -INFINITY },          /* masked positions: 0 */
        { 1.0f, NAN, 2.0f, 3.0f },                     /* NaN: every weight NaN */
        { INFINITY, 0.0f, 1.0f, 2.0f },                /* inf - inf: NaN, as the reference */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        float want[4];
        memcpy(want, cases[c], sizeof want);
        vec_ref_kernels()->softmax(want, 4, 1.0f);
        for (size_t k = 0; k < N_SETS; k++) {
            if (!kernels_cpu_supports(vec_sets[k].name))
                continue;
            float got[4];
            memcpy(got, cases[c], sizeof got);
            vec_sets[k].get()->softmax(got, 4, 1.0f);
            for (int i = 0; i < 4; i++)
                cr_expect(isnan(want[i]) ? isnan(got[i]) : got[i] == want[i],
                          "%s softmax case %zu [%d]: %g, want %g", vec_sets[k].name, c, i,
                          got[i], want[i]);
        }
    }
}
