/* test_quant.c — the tensor type reference (engine/kernels/quant_ref.c, fp16.c,
 * tensor_types.c, kernels.c): half conversions, quantize/dequantize error,
 * vec_dot against dequantize-then-dot (the oracle test), hand-built blocks
 * with known values, and decoding of real GGUF files quantized by a mature
 * quantizer.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gguf/gguf.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/quant_ref.h"
#include "engine/kernels/tensor_types.h"
#include "tests/support.h"
#include "tests/test_rng.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86 1
#endif

/* ---------------------------------------------------------------- helpers */

static float *gauss_vec(uint64_t seed, int64_t n)
{
    rng r = { seed * 0x9E3779B97F4A7C15ULL + 1 };
    float *v = malloc((size_t)n * sizeof *v);
    cr_assert(v);
    for (int64_t i = 0; i < n; i++)
        v[i] = rng_gauss(&r);
    return v;
}

static uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* sqrt(sum (a-b)^2 / sum a^2) */
static double rel_rmse(const float *a, const float *b, int64_t n)
{
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        num += d * d;
        den += (double)a[i] * (double)a[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static double norm2(const float *a, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += (double)a[i] * a[i];
    return sqrt(s);
}

static void *quantize_new(const type_traits *tr, const float *x, int64_t n)
{
    size_t size = tensor_row_size((tensor_type)tensor_type_from_name(tr->name), n);
    cr_assert(size > 0, "%s: bad row size for %lld", tr->name, (long long)n);
    void *q = malloc(size);
    cr_assert(q);
    tr->from_float(x, q, n);
    return q;
}

static float *dequantize_new(const type_traits *tr, const void *q, int64_t n)
{
    float *y = malloc((size_t)n * sizeof *y);
    cr_assert(y);
    tr->to_float(q, y, n);
    return y;
}

/* ------------------------------------------------------ fp16 and bf16 */

Test(quant, fp16_roundtrip_all_65536)
{
    for (uint32_t h = 0; h < 65536; h++) {
        float f = fp16_to_f32((uint16_t)h);
        uint16_t back = f32_to_fp16(f);
        int is_nan_half = (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0;
        if (is_nan_half) {
            cr_assert(isnan(f), "0x%04x should decode to NaN", h);
            cr_assert((back & 0x7c00) == 0x7c00 && (back & 0x3ff) != 0,
                      "NaN 0x%04x came back as non-NaN 0x%04x", h, back);
            cr_assert_eq(back & 0x8000, h & 0x8000, "NaN sign lost for 0x%04x", h);
        } else {
            cr_assert_eq(back, h, "0x%04x -> %a -> 0x%04x", h, (double)f, back);
        }
    }
}

Test(quant, fp16_known_values)
{
    cr_assert_eq(fp16_to_f32(0x3c00), 1.0f);
    cr_assert_eq(fp16_to_f32(0xc000), -2.0f);
    cr_assert_eq(fp16_to_f32(0x7bff), 65504.0f);
    cr_assert_eq(fp16_to_f32(0x0400), ldexpf(1, -14));   /* smallest normal */
    cr_assert_eq(fp16_to_f32(0x0001), ldexpf(1, -24));   /* smallest subnormal */
    cr_assert_eq(fp16_to_f32(0x03ff), ldexpf(1023, -24)); /* largest subnormal */
    cr_assert_eq(fp16_to_f32(0x3555), 0.333251953125f);
    cr_assert(isinf(fp16_to_f32(0x7c00)) && fp16_to_f32(0x7c00) > 0);
    cr_assert(isinf(fp16_to_f32(0xfc00)) && fp16_to_f32(0xfc00) < 0);
    cr_assert(fp16_to_f32(0x8000) == 0 && signbit(fp16_to_f32(0x8000)));

    cr_assert_eq(f32_to_fp16(1.0f), 0x3c00);
    cr_assert_eq(f32_to_fp16(-0.0f), 0x8000);
    cr_assert_eq(f32_to_fp16(65504.0f), 0x7bff);
    cr_assert_eq(f32_to_fp16(65519.0f), 0x7bff);        /* below the midpoint */
    cr_assert_eq(f32_to_fp16(65520.0f), 0x7c00);        /* tie to even: overflow */
    cr_assert_eq(f32_to_fp16(1e6f), 0x7c00);
    cr_assert_eq(f32_to_fp16(-INFINITY), 0xfc00);
    cr_assert_eq(f32_to_fp16(1.0f + ldexpf(1, -11)), 0x3c00);     /* tie -> even */
    cr_assert_eq(f32_to_fp16(1.0f + 3 * ldexpf(1, -11)), 0x3c02); /* tie -> even */
    cr_assert_eq(f32_to_fp16(1.0f + ldexpf(1, -11) + ldexpf(1, -20)), 0x3c01);
    cr_assert_eq(f32_to_fp16(ldexpf(1, -24)), 0x0001);
    cr_assert_eq(f32_to_fp16(ldexpf(1, -25)), 0x0000);   /* tie -> even (0) */
    cr_assert_eq(f32_to_fp16(ldexpf(1.5f, -25)), 0x0001);
    cr_assert_eq(f32_to_fp16(ldexpf(3, -25)), 0x0002);   /* 1.5 ulp tie -> 2 */
    cr_assert_eq(f32_to_fp16(ldexpf(2047, -25)), 0x0400); /* carries into normal */
    cr_assert_eq(f32_to_fp16(1e-10f), 0x0000);
    cr_assert_eq(f32_to_fp16(-1e-10f), 0x8000);
    cr_assert_eq(f32_to_fp16(0.1f), 0x2e66);
    uint16_t nan = f32_to_fp16(NAN);
    cr_assert((nan & 0x7c00) == 0x7c00 && (nan & 0x3ff) != 0);
    cr_assert_eq(f32_to_fp16(u2f(0x7f800001)) & 0x7e00, 0x7e00); /* sNaN -> quiet */
}

#ifdef HAVE_X86
__attribute__((target("f16c"))) static uint16_t hw_f32_to_fp16(float f)
{
    return (uint16_t)_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT);
}

__attribute__((target("f16c"))) static float hw_fp16_to_f32(uint16_t h)
{
    return _cvtsh_ss(h);
}
#endif

/* ggml converts with F16C on x86: we must agree with the hardware bit for bit. */
Test(quant, fp16_matches_f16c_hardware)
{
#ifdef HAVE_X86
    if (!__builtin_cpu_supports("avx2"))
        cr_skip_test("no F16C on this CPU");
    for (uint32_t h = 0; h < 65536; h++) {
        float a = fp16_to_f32((uint16_t)h), b = hw_fp16_to_f32((uint16_t)h);
        if (isnan(b))
            cr_assert(isnan(a));
        else
            cr_assert_eq(f2u(a), f2u(b), "fp16 0x%04x", h);
    }
    rng r = { 12345 };
    for (int i = 0; i < 2000000; i++) {
        uint32_t u = (uint32_t)rng_next(&r);
        if (i & 1) /* half the samples near the fp16 range */
            u = (u & 0x81ffffffu) | ((uint32_t)(96 + i % 48) << 23);
        float f = u2f(u);
        cr_assert_eq(f32_to_fp16(f), hw_f32_to_fp16(f), "f32 0x%08x", u);
    }
#else
    cr_skip_test("not x86");
#endif
}

Test(quant, bf16_conversions)
{
    cr_assert_eq(f32_to_bf16(1.0f), 0x3f80);
    cr_assert_eq(f32_to_bf16(-2.0f), 0xc000);
    cr_assert_eq(f32_to_bf16(u2f(0x3f808000)), 0x3f80); /* tie -> even (down) */
    cr_assert_eq(f32_to_bf16(u2f(0x3f818000)), 0x3f82); /* tie -> even (up) */
    cr_assert_eq(f32_to_bf16(u2f(0x3f808001)), 0x3f81); /* above the tie */
    cr_assert_eq(f32_to_bf16(u2f(0x3f807fff)), 0x3f80); /* below the tie */
    cr_assert_eq(f32_to_bf16(INFINITY), 0x7f80);
    cr_assert_eq(f32_to_bf16(-INFINITY), 0xff80);
    cr_assert_eq(f32_to_bf16(u2f(0x7f7fffff)), 0x7f80); /* FLT_MAX rounds to inf */
    cr_assert_eq(f32_to_bf16(u2f(0x7f800001)), 0x7fc0); /* sNaN forced quiet */
    cr_assert_eq(f32_to_bf16(u2f(0xffc12345)), 0xffc1); /* NaN payload top kept */
    cr_assert_eq(bf16_to_f32(0x3f80), 1.0f);
    cr_assert_eq(bf16_to_f32(0x4049), 3.140625f);
    for (uint32_t h = 0; h < 65536; h++) {
        float f = bf16_to_f32((uint16_t)h);
        cr_assert_eq(f2u(f), h << 16);
        if (!isnan(f))
            cr_assert_eq(f32_to_bf16(f), h, "bf16 0x%04x", h);
        else
            cr_assert(isnan(bf16_to_f32(f32_to_bf16(f))));
    }
}

/* ------------------------------------------------------- type helpers */

typedef struct type_case {
    tensor_type type;
    const char *name;
    int64_t blck;
    size_t size;
    tensor_type dot_type;
    double max_rel_rmse; /* quantize -> dequantize, Gaussian data */
} type_case;

/* Round-trip error bounds (relative RMSE, N(0,1) data, 3 x 64K values).
 * Measured with this reference: f16 0.00021, bf16 0.00166, q4_0 0.0860,
 * q4_1 0.0785, q5_0 0.0429, q5_1 0.0380, q8_0 0.00537, q8_1 0.00537,
 * q2_K 0.297, q3_K 0.151, q4_K 0.0716, q5_K 0.0363, q6_K 0.0178,
 * q8_K 0.0070. Bounds are ~20% above (the data is seeded; the headroom
 * only absorbs libm differences in the Gaussian generator). F32 is exact;
 * F16/BF16 rounding errors are at most half an ulp, uniform in practice:
 * 2^-11/sqrt(3) = 2.8e-4 and 2^-8/sqrt(3) = 2.3e-3. */
static const type_case type_cases[] = {
    { TT_F32,  "f32",  1,   4,   TT_F32,  0 },
    { TT_F16,  "f16",  1,   2,   TT_F16,  3.0e-4 },
    { TT_BF16, "bf16", 1,   2,   TT_BF16, 2.5e-3 },
    { TT_Q4_0, "q4_0", 32,  18,  TT_Q8_0, 0.100 },
    { TT_Q4_1, "q4_1", 32,  20,  TT_Q8_1, 0.095 },
    { TT_Q5_0, "q5_0", 32,  22,  TT_Q8_0, 0.052 },
    { TT_Q5_1, "q5_1", 32,  24,  TT_Q8_1, 0.046 },
    { TT_Q8_0, "q8_0", 32,  34,  TT_Q8_0, 0.0065 },
    { TT_Q8_1, "q8_1", 32,  36,  TT_Q8_1, 0.0065 },
    { TT_Q2_K, "q2_K", 256, 84,  TT_Q8_K, 0.35 },
    { TT_Q3_K, "q3_K", 256, 110, TT_Q8_K, 0.18 },
    { TT_Q4_K, "q4_K", 256, 144, TT_Q8_K, 0.085 },
    { TT_Q5_K, "q5_K", 256, 176, TT_Q8_K, 0.044 },
    { TT_Q6_K, "q6_K", 256, 210, TT_Q8_K, 0.021 },
    { TT_Q8_K, "q8_K", 256, 292, TT_Q8_K, 0.0085 },
};
#define N_TYPE_CASES (sizeof type_cases / sizeof type_cases[0])

static const type_case *case_of(tensor_type t)
{
    for (size_t i = 0; i < N_TYPE_CASES; i++)
        if (type_cases[i].type == t)
            return &type_cases[i];
    return NULL;
}

Test(quant, traits_table)
{
    for (size_t i = 0; i < N_TYPE_CASES; i++) {
        const type_case *c = &type_cases[i];
        const type_traits *tr = tensor_types_ref(c->type);
        cr_assert(tr, "%s missing", c->name);
        cr_assert_str_eq(tr->name, c->name);
        cr_assert_eq(tr->blck, c->blck, "%s blck", c->name);
        cr_assert_eq(tr->type_size, c->size, "%s size", c->name);
        cr_assert_eq(tr->vec_dot_type, c->dot_type, "%s vec_dot_type", c->name);
        cr_assert(tr->to_float && tr->from_float && tr->vec_dot, "%s functions", c->name);
        const type_traits *best = tensor_types_get(c->type);
        cr_assert(best, "%s: tensor_types_get", c->name);
        cr_assert_eq(best->blck, tr->blck);
        cr_assert_eq(best->type_size, tr->type_size);
        cr_assert_eq(best->vec_dot_type, tr->vec_dot_type);
    }
    uint32_t unsupported[] = { 4, 5, 16, 29, 31, 39, 40, 1000, 0xffffffffu };
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
        cr_assert_null(tensor_types_ref(unsupported[i]));
        cr_assert_null(tensor_types_get(unsupported[i]));
        cr_assert_str_eq(tensor_type_name(unsupported[i]), "unknown");
    }
    cr_assert_eq(kernels_cpu_supports("ref"), 1);
    cr_assert_eq(kernels_cpu_supports("no-such-isa"), 0);
    cr_assert_eq(kernels_cpu_supports(NULL), 0);
    cr_assert_str_neq(kernels_set_for(TT_Q4_K), "none");
    cr_assert_str_eq(kernels_set_for(4), "none");
}

Test(quant, row_size_and_names)
{
    cr_assert_eq(tensor_row_size(TT_F32, 10), 40);
    cr_assert_eq(tensor_row_size(TT_F16, 3), 6);
    cr_assert_eq(tensor_row_size(TT_BF16, 3), 6);
    cr_assert_eq(tensor_row_size(TT_Q4_0, 64), 36);
    cr_assert_eq(tensor_row_size(TT_Q4_0, 33), 0);
    cr_assert_eq(tensor_row_size(TT_Q4_0, 0), 0);
    cr_assert_eq(tensor_row_size(TT_Q4_0, -32), 0);
    cr_assert_eq(tensor_row_size(TT_Q8_0, 4096), 4352);
    cr_assert_eq(tensor_row_size(TT_Q4_K, 512), 288);
    cr_assert_eq(tensor_row_size(TT_Q4_K, 128), 0);
    cr_assert_eq(tensor_row_size(TT_Q6_K, 4096), 3360);
    cr_assert_eq(tensor_row_size(TT_Q8_K, 256), 292);
    cr_assert_eq(tensor_row_size((tensor_type)4, 32), 0);
    cr_assert_eq(tensor_row_size(TT_COUNT, 32), 0);

    cr_assert_str_eq(tensor_type_name(TT_Q4_K), "q4_K");
    cr_assert_str_eq(tensor_type_name(TT_BF16), "bf16");
    cr_assert_str_eq(tensor_type_name(TT_F32), "f32");
    for (size_t i = 0; i < N_TYPE_CASES; i++)
        cr_assert_eq(tensor_type_from_name(type_cases[i].name), (int)type_cases[i].type);
    cr_assert_eq(tensor_type_from_name("Q4_K"), TT_Q4_K);
    cr_assert_eq(tensor_type_from_name("Q8_0"), TT_Q8_0);
    cr_assert_eq(tensor_type_from_name("BF16"), TT_BF16);
    cr_assert_eq(tensor_type_from_name("F16"), TT_F16);
    cr_assert_eq(tensor_type_from_name("q4_2"), -1);
    cr_assert_eq(tensor_type_from_name("q4_k_m"), -1);
    cr_assert_eq(tensor_type_from_name(""), -1);
    cr_assert_eq(tensor_type_from_name(NULL), -1);
    cr_assert_eq(tensor_type_from_name("unknown"), -1);
}

/* ------------------------------------------ quantize / dequantize error */

#define N_ERR (256 * 256)

Test(quant, roundtrip_error_per_type)
{
    for (size_t i = 0; i < N_TYPE_CASES; i++) {
        const type_case *c = &type_cases[i];
        const type_traits *tr = tensor_types_ref(c->type);
        double worst = 0;
        for (uint64_t seed = 1; seed <= 3; seed++) {
            float *x = gauss_vec(seed, N_ERR);
            void *q = quantize_new(tr, x, N_ERR);
            float *y = dequantize_new(tr, q, N_ERR);
            double e = rel_rmse(x, y, N_ERR);
            if (e > worst)
                worst = e;
            free(x);
            free(q);
            free(y);
        }
        cr_log_info("roundtrip %-5s rel RMSE %.5f (bound %.5f)", c->name, worst,
                    c->max_rel_rmse);
        cr_expect(worst <= c->max_rel_rmse, "%s: rel RMSE %.5f > %.5f", c->name, worst,
                  c->max_rel_rmse);
        if (c->type == TT_F32)
            cr_expect_eq(worst, 0.0);
    }
}

/* Zero and constant rows must not produce NaN or garbage. */
Test(quant, zero_and_constant_rows)
{
    enum { N = 512 };
    float zeros[N] = { 0 }, consts[N], y[N];
    for (int i = 0; i < N; i++)
        consts[i] = 0.75f;
    for (size_t i = 0; i < N_TYPE_CASES; i++) {
        const type_traits *tr = tensor_types_ref(type_cases[i].type);
        void *q = quantize_new(tr, zeros, N);
        tr->to_float(q, y, N);
        for (int j = 0; j < N; j++)
            cr_assert_eq(y[j], 0.0f, "%s zero row decodes to %g", tr->name, (double)y[j]);
        const type_traits *vd = tensor_types_ref(tr->vec_dot_type);
        void *a = quantize_new(vd, zeros, N);
        float s = -1;
        tr->vec_dot(N, &s, q, a);
        cr_assert_eq(s, 0.0f, "%s zero dot", tr->name);
        free(q);
        free(a);

        q = quantize_new(tr, consts, N);
        tr->to_float(q, y, N);
        double e = rel_rmse(consts, y, N);
        cr_assert(e < 0.02, "%s constant row error %g", tr->name, e);
        free(q);
    }
}

/* ------------------------------------------------- the oracle: vec_dot */

#define N_DOT (256 * 8)

/* Q4_1/Q5_1 x Q8_1 (as in ggml) take the activation's block sum from its
 * stored s = fp16(d * sum q) rather than from the dequantized values; the
 * oracle applies the same: sum over blocks of m * (s - sum of the block's
 * dequantized activations). Zero for every other type. */
static double q8_1_sum_correction(const type_traits *tr, const void *wq, const void *aq,
                                  const float *ad, int64_t n)
{
    if (tr->vec_dot_type != TT_Q8_1 || (tensor_type)tensor_type_from_name(tr->name) == TT_Q8_1)
        return 0;
    const block_q8_1 *a = aq;
    double corr = 0;
    for (int64_t b = 0; b < n / QK8_1; b++) {
        uint16_t m_half; /* m follows d in both block_q4_1 and block_q5_1 */
        memcpy(&m_half, (const char *)wq + (size_t)b * tr->type_size + 2, 2);
        double block_sum = 0;
        for (int j = 0; j < QK8_1; j++)
            block_sum += ad[b * QK8_1 + j];
        corr += (double)fp16_to_f32(m_half) * ((double)fp16_to_f32(a[b].s) - block_sum);
    }
    return corr;
}

/* For every type: vec_dot(Tw, Ta) must equal the float dot of the two
 * dequantized rows up to summation order (rel 1e-5 of sum |w_i a_i|), and
 * the fully-F32 dot within the quantization error (Cauchy-Schwarz: the
 * error is at most (ew + ea + ew*ea) |w| |a| with ew, ea the measured
 * relative RMSEs of the two rows). */
Test(quant, vec_dot_matches_dequantized_dot)
{
    for (size_t i = 0; i < N_TYPE_CASES; i++) {
        const type_case *c = &type_cases[i];
        const type_traits *tr = tensor_types_ref(c->type);
        const type_traits *vd = tensor_types_ref(tr->vec_dot_type);
        for (uint64_t seed = 10; seed < 14; seed++) {
            float *w = gauss_vec(seed, N_DOT);
            float *a = gauss_vec(seed + 100, N_DOT);
            if (seed == 13) /* correlated rows: a large dot */
                for (int64_t j = 0; j < N_DOT; j++)
                    a[j] = 0.5f * a[j] + w[j];
            void *wq = quantize_new(tr, w, N_DOT);
            void *aq = quantize_new(vd, a, N_DOT);
            float *wd = dequantize_new(tr, wq, N_DOT);
            float *ad = dequantize_new(vd, aq, N_DOT);

            float dot = NAN;
            tr->vec_dot(N_DOT, &dot, wq, aq);

            double deq = 0, deq_abs = 0, exact = 0;
            for (int64_t j = 0; j < N_DOT; j++) {
                deq += (double)wd[j] * ad[j];
                deq_abs += fabs((double)wd[j] * ad[j]);
                exact += (double)w[j] * a[j];
            }
            deq += q8_1_sum_correction(tr, wq, aq, ad, N_DOT);
            cr_assert(fabs(dot - deq) <= 1e-5 * deq_abs + 1e-30,
                      "%s seed %llu: vec_dot %.9g vs dequantized dot %.9g", c->name,
                      (unsigned long long)seed, (double)dot, deq);

            double ew = rel_rmse(w, wd, N_DOT), ea = rel_rmse(a, ad, N_DOT);
            double bound = (ew + ea + ew * ea) * norm2(w, N_DOT) * norm2(a, N_DOT);
            bound += fabs(q8_1_sum_correction(tr, wq, aq, ad, N_DOT));
            cr_assert(fabs(dot - exact) <= bound * 1.001 + 1e-5 * deq_abs,
                      "%s seed %llu: vec_dot %.9g vs f32 dot %.9g (bound %.3g)", c->name,
                      (unsigned long long)seed, (double)dot, exact, bound);
            /* ... and that bound itself is tight for the type. */
            const type_case *ac = case_of(tr->vec_dot_type);
            cr_assert(ew <= c->max_rel_rmse * 1.1 && ea <= ac->max_rel_rmse * 1.1,
                      "%s: row errors %g %g", c->name, ew, ea);
            free(w);
            free(a);
            free(wq);
            free(aq);
            free(wd);
            free(ad);
        }
    }
}

/* Q8_K's bsums are the sums of each 16 codes (the K-quant dots rely on it). */
Test(quant, q8_K_bsums_and_scale)
{
    float *x = gauss_vec(77, 2 * QK_K);
    block_q8_K q[2];
    quant_ref_from_float_q8_K(x, q, 2 * QK_K);
    for (int b = 0; b < 2; b++) {
        int has127 = 0;
        for (int g = 0; g < QK_K / 16; g++) {
            int sum = 0;
            for (int l = 0; l < 16; l++) {
                sum += q[b].qs[16 * g + l];
                has127 |= abs(q[b].qs[16 * g + l]) == 127;
            }
            cr_assert_eq(q[b].bsums[g], sum);
        }
        cr_assert(has127, "the largest value maps to +-127");
    }
    free(x);
}

/* --------------------------------------------------- hand-built blocks */

Test(quant, q4_0_known_block)
{
    block_q4_0 b;
    b.d = 0x3800; /* 0.5 */
    memset(b.qs, 0x88, sizeof b.qs);
    b.qs[0] = 0x1f;  /* element 0: code 15, element 16: code 1 */
    b.qs[15] = 0x80; /* element 15: code 0, element 31: code 8 */
    b.qs[7] = 0xa3;  /* element 7: code 3, element 23: code 10 */
    float y[32];
    quant_ref_to_float_q4_0(&b, y, 32);
    for (int j = 0; j < 32; j++) {
        float want = 0;
        switch (j) {
        case 0: want = 3.5f; break;
        case 16: want = -3.5f; break;
        case 15: want = -4.0f; break;
        case 31: want = 0.0f; break;
        case 7: want = -2.5f; break;
        case 23: want = 1.0f; break;
        }
        cr_assert_eq(y[j], want, "element %d: %g != %g", j, (double)y[j], (double)want);
    }
}

Test(quant, q8_0_known_block)
{
    block_q8_0 b;
    b.d = 0x3400; /* 0.25 */
    for (int j = 0; j < 32; j++)
        b.qs[j] = (int8_t)(4 * j - 64);
    b.qs[31] = -128;
    float y[32];
    quant_ref_to_float_q8_0(&b, y, 32);
    for (int j = 0; j < 31; j++)
        cr_assert_eq(y[j], (float)(j - 16));
    cr_assert_eq(y[31], -32.0f);
}

Test(quant, q4_K_known_block)
{
    /* 6-bit scales sc[] and mins m[] of the 8 sub-blocks, packed by hand:
     * bytes 0-3: sc[0..3] | (sc[4..7] >> 4) << 6; bytes 4-7: m[0..3] |
     * (m[4..7] >> 4) << 6; bytes 8-11: (sc[4..7] & 15) | (m[4..7] & 15) << 4. */
    static const int sc[8] = { 1, 2, 3, 4, 21, 38, 55, 63 };
    static const int m[8] = { 5, 6, 7, 8, 16, 33, 50, 0 };
    static const uint8_t packed[12] = { 65, 130, 195, 196, 69, 134, 199, 8, 5, 22, 39, 15 };
    block_q4_K b;
    memset(&b, 0, sizeof b);
    b.d = 0x4000;    /* 2.0 */
    b.dmin = 0x3c00; /* 1.0 */
    memcpy(b.scales, packed, 12);
    int code[256] = { 0 };
    /* qs[32p + l]: low nibble -> element 64p + l, high -> element 64p + 32 + l */
    b.qs[0] = 0xa3;        code[0] = 3;    code[32] = 10;
    b.qs[96 + 31] = 0xf1;  code[223] = 1;  code[255] = 15;
    for (int p = 0; p < 4; p++) {
        b.qs[32 * p + 1] = 0x21;
        code[64 * p + 1] = 1;
        code[64 * p + 33] = 2;
    }
    float y[256];
    quant_ref_to_float_q4_K(&b, y, 256);
    for (int e = 0; e < 256; e++) {
        float want = 2.0f * (float)sc[e / 32] * (float)code[e] - (float)m[e / 32];
        cr_assert_eq(y[e], want, "element %d: %g != %g", e, (double)y[e], (double)want);
    }
    for (int j = 0; j < 8; j++) {
        uint8_t s, mm;
        quant_k4_scale_min(j, b.scales, &s, &mm);
        cr_assert_eq(s, sc[j]);
        cr_assert_eq(mm, m[j]);
    }
}

Test(quant, q6_K_known_block)
{
    block_q6_K b;
    memset(&b, 0, sizeof b);
    b.d = 0x3800; /* 0.5 */
    for (int g = 0; g < 16; g++)
        b.scales[g] = (int8_t)(g % 2 ? -(g + 1) : g + 1);
    int code[256] = { 0 };
    b.ql[0] = 0x21;       /* element 0 low 1, element 64 low 2 */
    b.qh[0] = 0xe4;       /* high bits: element 0: 0, 32: 1, 64: 2, 96: 3 */
    code[0] = 1; code[32] = 16; code[64] = 2 + 32; code[96] = 48;
    b.ql[32 + 5] = 0xf0;  /* element 37 low 0, element 101 low 15 */
    code[101] = 15;
    b.ql[64 + 3] = 0x07;  /* second half: element 131 low 7 */
    code[131] = 7;
    b.qh[32 + 3] = 0x0c;  /* second half: element 163 high 3 */
    code[163] = 48;
    float y[256];
    quant_ref_to_float_q6_K(&b, y, 256);
    for (int e = 0; e < 256; e++) {
        float want = 0.5f * (float)b.scales[e / 16] * (float)(code[e] - 32);
        cr_assert_eq(y[e], want, "element %d: %g != %g", e, (double)y[e], (double)want);
    }
}

Test(quant, q5_0_and_q3_K_known_bits)
{
    /* Q5_0: qh bit j is the 5th bit of element j. */
    block_q5_0 b5;
    memset(&b5, 0, sizeof b5);
    b5.d = 0x3c00;
    b5.qh[0] = 0x01; /* element 0 */
    b5.qh[2] = 0x80; /* element 23 */
    b5.qs[7] = 0x50; /* element 7 low 0, element 23 low 5 */
    float y[256];
    quant_ref_to_float_q5_0(&b5, y, 32);
    for (int j = 0; j < 32; j++) {
        float want = j == 0 ? 0.0f : j == 23 ? 5.0f : -16.0f;
        cr_assert_eq(y[j], want, "q5_0 element %d: %g", j, (double)y[j]);
    }

    /* Q3_K: all codes low 0 with high bit clear -> -4; scales all 32 (=0)
     * except scale 0 = 33 (+1) and scale 15 = 63 (+31). */
    block_q3_K b3;
    memset(&b3, 0, sizeof b3);
    b3.d = 0x3c00;
    /* low nibbles of scale j: byte j%8, nibble j/8; high 2 bits: byte 8 + j%4,
     * bits 2*(j/4). Value 32 = 0b10 0000 -> high bits 2, low 0. */
    for (int j = 0; j < 16; j++)
        b3.scales[8 + j % 4] |= (uint8_t)(2 << (2 * (j / 4)));
    b3.scales[0] |= 1;          /* scale 0: 33 */
    b3.scales[7] |= 0xf0;       /* scale 15 low 15 */
    b3.scales[11] |= 0xc0;      /* scale 15 high 3 -> 63 */
    b3.hmask[0] = 0x01;         /* element 0: high bit set */
    b3.qs[0] = 0x03;            /* element 0 low 3 -> code 3 */
    b3.hmask[31] = 0x80;        /* element 255 (h 1, k 3, l 31) high bit */
    b3.qs[63] = 0x80;           /* element 255 low 2 -> code 2 */
    quant_ref_to_float_q3_K(&b3, y, 256);
    for (int e = 0; e < 256; e++) {
        int scale = e < 16 ? 1 : e >= 240 ? 31 : 0;
        int q = e == 0 ? 3 : e == 255 ? 2 : -4;
        float want = (float)(scale * q);
        cr_assert_eq(y[e], want, "q3_K element %d: %g != %g", e, (double)y[e], (double)want);
    }
}

/* --------------------------------------------------- real GGUF models */

typedef struct model_case {
    const char *file;
    double max_rel_rmse[TT_COUNT]; /* per tensor type found in the file */
} model_case;

static const char *const model_tensors[] = {
    "blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight",
    "blk.0.attn_output.weight", "blk.0.ffn_gate.weight", "blk.0.ffn_up.weight",
    "blk.0.ffn_down.weight", "blk.3.ffn_down.weight", "blk.3.attn_v.weight",
    "token_embd.weight", "output.weight",
};

static gguf_file *open_model(const char *name)
{
    char *path = test_model_path(name);
    gguf_file *f = NULL;
    perr err;
    int rc = gguf_open(&f, path, &err);
    cr_assert_eq(rc, 0, "%s: %s", path, err.msg);
    free(path);
    return f;
}

/* Dequantize a whole tensor with our to_float. */
static float *tensor_to_f32(const gguf_tensor *t, int64_t *count)
{
    const type_traits *tr = tensor_types_ref(t->type);
    cr_assert(tr, "tensor type %u unsupported", t->type);
    int64_t rows = t->ne[1] * t->ne[2] * t->ne[3];
    size_t row_bytes = tensor_row_size(t->type, t->ne[0]);
    cr_assert(row_bytes > 0);
    cr_assert_eq(row_bytes * (size_t)rows, t->nbytes);
    float *y = malloc((size_t)(rows * t->ne[0]) * sizeof *y);
    cr_assert(y);
    for (int64_t r = 0; r < rows; r++)
        tr->to_float((const char *)t->data + (size_t)r * row_bytes, y + r * t->ne[0], t->ne[0]);
    *count = rows * t->ne[0];
    return y;
}

static void check_model_against_f16(const char *file, const double bounds[TT_COUNT],
                                    int *types_seen)
{
    gguf_file *ref = open_model("synth-d256-f16.gguf");
    gguf_file *q = open_model(file);
    for (size_t i = 0; i < sizeof model_tensors / sizeof model_tensors[0]; i++) {
        const gguf_tensor *tr = gguf_find_tensor(ref, model_tensors[i]);
        const gguf_tensor *tq = gguf_find_tensor(q, model_tensors[i]);
        cr_assert(tr && tq, "%s: tensor %s missing", file, model_tensors[i]);
        for (int d = 0; d < GGUF_MAX_DIMS; d++)
            cr_assert_eq(tr->ne[d], tq->ne[d]);
        int64_t n1, n2;
        float *a = tensor_to_f32(tr, &n1);
        float *b = tensor_to_f32(tq, &n2);
        cr_assert_eq(n1, n2);
        double e = rel_rmse(a, b, n1);
        double bound = bounds[tq->type];
        cr_log_info("%s %-26s %-5s rel RMSE %.5f (bound %.4f)", file, model_tensors[i],
                    tensor_type_name(tq->type), e, bound);
        cr_expect(bound > 0, "%s: unexpected type %s for %s", file,
                  tensor_type_name(tq->type), model_tensors[i]);
        cr_expect(e <= bound, "%s %s (%s): rel RMSE %.5f > %.5f", file, model_tensors[i],
                  tensor_type_name(tq->type), e, bound);
        if (tq->type < TT_COUNT)
            types_seen[tq->type] = 1;
        free(a);
        free(b);
    }
    gguf_close(q);
    gguf_close(ref);
}

/* Bounds: relative RMSE of each quantized tensor decoded by us against the
 * F16 tensor. Measured worst tensor: q8_0 0.00538, q6_K 0.01763, q5_K
 * 0.03629, q4_K 0.07167, q4_0 0.08622 (the same as our own round-trip
 * errors on Gaussian data, as it should be for these random weights);
 * bounds ~20% above. A decoding slip (nibble order, scale packing) gives
 * errors near 1. */
static void model_bounds(double b[TT_COUNT])
{
    for (int t = 0; t < TT_COUNT; t++)
        b[t] = 0;
    b[TT_F16] = 1e-9;
    b[TT_F32] = 1e-3;
    b[TT_Q8_0] = 0.0065;
    b[TT_Q6_K] = 0.0210;
    b[TT_Q5_K] = 0.0430;
    b[TT_Q4_K] = 0.0850;
    b[TT_Q4_0] = 0.1000;
}

Test(quant, model_q8_0_decodes_like_f16)
{
    double b[TT_COUNT];
    int seen[TT_COUNT] = { 0 };
    model_bounds(b);
    check_model_against_f16("synth-d256-q8_0.gguf", b, seen);
    cr_assert(seen[TT_Q8_0]);
}

Test(quant, model_q4_0_decodes_like_f16)
{
    double b[TT_COUNT];
    int seen[TT_COUNT] = { 0 };
    model_bounds(b);
    check_model_against_f16("synth-d256-q4_0.gguf", b, seen);
    cr_assert(seen[TT_Q4_0]);
}

Test(quant, model_q4_k_m_decodes_like_f16)
{
    double b[TT_COUNT];
    int seen[TT_COUNT] = { 0 };
    model_bounds(b);
    check_model_against_f16("synth-d256-q4_k_m.gguf", b, seen);
    cr_assert(seen[TT_Q4_K] && seen[TT_Q6_K]);
}

Test(quant, model_q5_k_m_decodes_like_f16)
{
    double b[TT_COUNT];
    int seen[TT_COUNT] = { 0 };
    model_bounds(b);
    check_model_against_f16("synth-d256-q5_k_m.gguf", b, seen);
    cr_assert(seen[TT_Q5_K]);
}

Test(quant, model_q6_k_decodes_like_f16)
{
    double b[TT_COUNT];
    int seen[TT_COUNT] = { 0 };
    model_bounds(b);
    check_model_against_f16("synth-d256-q6_k.gguf", b, seen);
    cr_assert(seen[TT_Q6_K]);
}

/* Requantize the F16 weights with our from_float and compare the quality
 * with the mature quantizer's: our error against the F16 weights must not
 * exceed theirs by more than max_ratio. (Byte equality cannot be checked
 * with these files: the mature quantizer started from F32 weights, so even
 * Q8_0 scales differ from ours by one fp16 ulp in about a quarter of the
 * blocks.) */
static void check_requantize_quality(const char *file, double max_ratio)
{
    gguf_file *ref = open_model("synth-d256-f16.gguf");
    gguf_file *q = open_model(file);
    for (size_t i = 0; i < sizeof model_tensors / sizeof model_tensors[0]; i++) {
        if (strncmp(model_tensors[i], "blk.", 4) != 0)
            continue; /* the 32000-row tensors are too slow under ASan */
        const gguf_tensor *tr = gguf_find_tensor(ref, model_tensors[i]);
        const gguf_tensor *tq = gguf_find_tensor(q, model_tensors[i]);
        cr_assert(tr && tq);
        int64_t n;
        float *x = tensor_to_f32(tr, &n);
        float *theirs = tensor_to_f32(tq, &n);
        const type_traits *tt = tensor_types_ref(tq->type);
        size_t row_bytes = tensor_row_size(tq->type, tq->ne[0]);
        int64_t rows = n / tq->ne[0];
        unsigned char *mine = malloc(row_bytes * (size_t)rows);
        float *mine_f = malloc((size_t)n * sizeof *mine_f);
        cr_assert(mine && mine_f);
        for (int64_t r = 0; r < rows; r++) {
            tt->from_float(x + r * tq->ne[0], mine + (size_t)r * row_bytes, tq->ne[0]);
            tt->to_float(mine + (size_t)r * row_bytes, mine_f + r * tq->ne[0], tq->ne[0]);
        }
        int64_t blocks = (int64_t)(tq->nbytes / tt->type_size), same = 0;
        for (int64_t b = 0; b < blocks; b++)
            same += memcmp(mine + b * tt->type_size,
                           (const unsigned char *)tq->data + b * tt->type_size,
                           tt->type_size) == 0;
        double e_mine = rel_rmse(x, mine_f, n), e_theirs = rel_rmse(x, theirs, n);
        cr_log_info("%s %-26s %-5s ours %.5f theirs %.5f identical blocks %lld/%lld", file,
                    model_tensors[i], tt->name, e_mine, e_theirs, (long long)same,
                    (long long)blocks);
        cr_expect(e_mine <= e_theirs * max_ratio, "%s %s: our %s error %.5f vs theirs %.5f",
                  file, model_tensors[i], tt->name, e_mine, e_theirs);
        free(mine);
        free(mine_f);
        free(theirs);
        free(x);
    }
    gguf_close(q);
    gguf_close(ref);
}

Test(quant, requantize_q8_0_quality) { check_requantize_quality("synth-d256-q8_0.gguf", 1.01); }
Test(quant, requantize_q4_0_quality) { check_requantize_quality("synth-d256-q4_0.gguf", 1.01); }
Test(quant, requantize_q4_k_m_quality) { check_requantize_quality("synth-d256-q4_k_m.gguf", 1.02); }
Test(quant, requantize_q5_k_m_quality) { check_requantize_quality("synth-d256-q5_k_m.gguf", 1.02); }
Test(quant, requantize_q6_k_quality) { check_requantize_quality("synth-d256-q6_k.gguf", 1.02); }
