/* test_kernels.c — the SIMD kernel sets (engine/kernels/kernels_avx2.c,
 * kernels_avx512.c) against the scalar reference (quant_ref.c), for every
 * type and every set this CPU can run.
 *
 * Correctness modes, per type:
 *  - bit-exact: every quantized vec_dot (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
 *    Q8_1, Q2_K..Q6_K, Q8_K). The kernels compute each block's integer sum
 *    exactly and then run the reference's float operations in its order, so
 *    the float result must be identical, for well-formed activations
 *    (produced by the reference quantizer) and ANY weight bytes — random
 *    bytes, NaN/inf scales, extreme codes included.
 *  - bit-exact: from_float of the activation types (Q8_0, Q8_1, Q8_K) and of
 *    F16 / BF16 — these bytes change every later result.
 *  - tolerance: F32, F16, BF16 vec_dot. Products are the reference's float
 *    products, but the sum runs in double in another order, so the float
 *    result may differ from the reference when the two double sums straddle
 *    a float rounding point. Each double sum is within (n-1)*2^-53*sum|t| of
 *    the exact sum, so |simd - ref| <= n*2^-52*sum|t| + 2 ulp(ref). Almost
 *    all results are equal, which is checked too (>= 90% of rows).
 * A set the CPU lacks is skipped with a message; every test asserts that at
 * least one SIMD set ran (on x86-64 CI machines both do).
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/kernels.h"
#include "engine/kernels/quant_ref.h"
#include "engine/kernels/tensor_types.h"
#include "tests/test_rng.h"

/* ---------------------------------------------------------------- helpers */

typedef struct simd_set {
    const char *name;
    const type_traits *(*traits)(uint32_t type);
} simd_set;

static const simd_set simd_sets[] = {
    { "avx2", kernels_avx2_traits },
    { "avx512", kernels_avx512_traits },
};
#define N_SIMD_SETS (sizeof simd_sets / sizeof simd_sets[0])

static const tensor_type quant_types[] = {
    TT_Q4_0, TT_Q4_1, TT_Q5_0, TT_Q5_1, TT_Q8_0, TT_Q8_1,
    TT_Q2_K, TT_Q3_K, TT_Q4_K, TT_Q5_K, TT_Q6_K, TT_Q8_K,
};
#define N_QUANT_TYPES (sizeof quant_types / sizeof quant_types[0])

static const tensor_type float_types[] = { TT_F32, TT_F16, TT_BF16 };
static const tensor_type activation_types[] = { TT_Q8_0, TT_Q8_1, TT_Q8_K, TT_F16, TT_BF16 };

/* 1 if `set` runs here, else logs why it is skipped. */
static int set_usable(const simd_set *set)
{
    if (kernels_cpu_supports(set->name))
        return 1;
    cr_log_warn("kernel set %s: not supported by this CPU, skipped", set->name);
    return 0;
}

static rng rng_seeded(uint64_t seed)
{
    rng r = { seed * 0x9E3779B97F4A7C15ULL + 0x1234567 };
    return r;
}

/* Gaussian floats with a per-row scale in 1e-3..1e3 and a few outliers. */
static float *random_floats(rng *r, int64_t n)
{
    float *v = malloc((size_t)n * sizeof *v);
    cr_assert(v);
    const float scale = (float)pow(10.0, 6.0 * rng_unit(r) - 3.0);
    for (int64_t i = 0; i < n; i++) {
        v[i] = rng_gauss(r) * scale;
        if (rng_next(r) % 97 == 0)
            v[i] *= 20;
    }
    return v;
}

static uint8_t *random_bytes(rng *r, size_t len)
{
    uint8_t *b = malloc(len);
    cr_assert(b);
    for (size_t i = 0; i < len; i++)
        b[i] = (uint8_t)(rng_next(r) >> 32);
    return b;
}

static void *quantize_ref(tensor_type t, const float *x, int64_t n)
{
    const type_traits *tr = tensor_types_ref((uint32_t)t);
    void *q = malloc(tensor_row_size(t, n));
    cr_assert(q);
    tr->from_float(x, q, n);
    return q;
}

static uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Same bits, or both NaN (NaN payloads may come from different paths). */
static int same_float(float a, float b)
{
    return (isnan(a) && isnan(b)) || f2u(a) == f2u(b);
}

/* The weight row's scale fields as finite halves, so random rows give
 * finite results (the all-random rows test NaN/inf scales separately). */
static void tame_scales(tensor_type t, uint8_t *row, int64_t n, rng *r)
{
    const type_traits *tr = tensor_types_ref((uint32_t)t);
    const int64_t nb = n / tr->blck;
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *blk = row + (size_t)b * tr->type_size;
        const uint16_t h1 = (uint16_t)(0x1000 + rng_next(r) % 0x2000); /* ~2^-11 .. 2^-3 */
        const uint16_t h2 = (uint16_t)(0x1000 + rng_next(r) % 0x2000);
        switch (t) {
        case TT_Q2_K: memcpy(blk + 80, &h1, 2); memcpy(blk + 82, &h2, 2); break;
        case TT_Q3_K: memcpy(blk + 108, &h1, 2); break;
        case TT_Q6_K: memcpy(blk + 208, &h1, 2); break;
        case TT_Q8_K: { float d = (float)rng_unit(r); memcpy(blk, &d, 4); break; }
        case TT_Q4_1: case TT_Q5_1: case TT_Q4_K: case TT_Q5_K:
            memcpy(blk, &h1, 2); memcpy(blk + 2, &h2, 2); break;
        case TT_Q8_1: memcpy(blk, &h1, 2); memcpy(blk + 2, &h2, 2); break;
        default: memcpy(blk, &h1, 2); break;
        }
    }
}

/* Compares one weight row with one activation row under every set; returns
 * how many sets ran. */
static int check_dot_exact(tensor_type t, const void *w, const void *a, int64_t n,
                           const char *what)
{
    const type_traits *ref = tensor_types_ref((uint32_t)t);
    float want;
    ref->vec_dot(n, &want, w, a);
    int ran = 0;
    for (size_t s = 0; s < N_SIMD_SETS; s++) {
        if (!kernels_cpu_supports(simd_sets[s].name))
            continue;
        const type_traits *tr = simd_sets[s].traits((uint32_t)t);
        cr_assert(tr, "%s has no %s", simd_sets[s].name, ref->name);
        float got = -12345.f;
        tr->vec_dot(n, &got, w, a);
        cr_assert(same_float(got, want), "%s %s n=%lld (%s): got %a want %a",
                  simd_sets[s].name, ref->name, (long long)n, what, (double)got, (double)want);
        ran++;
    }
    return ran;
}

static void log_skipped_sets(void)
{
    for (size_t s = 0; s < N_SIMD_SETS; s++)
        set_usable(&simd_sets[s]);
}

/* ------------------------------------------------------- quantized dots */

static const int64_t long_lengths[] = { 256, 512, 768, 1280, 2048, 4096, 8192 };
static const int64_t short_lengths[] = { 32, 64, 96, 224, 288 }; /* 32-blocks: tails */

static void check_random_rows(tensor_type t, int64_t n, uint64_t seed, int raw_weights)
{
    const type_traits *ref = tensor_types_ref((uint32_t)t);
    rng r = rng_seeded(seed);
    float *xa = random_floats(&r, n);
    void *a = quantize_ref(ref->vec_dot_type, xa, n);
    void *w;
    if (raw_weights) {
        w = random_bytes(&r, tensor_row_size(t, n));
        if (raw_weights == 1)
            tame_scales(t, w, n, &r);
    } else {
        float *xw = random_floats(&r, n);
        w = quantize_ref(t, xw, n);
        free(xw);
    }
    const char *what = raw_weights == 2 ? "random bytes" : raw_weights ? "random codes"
                                                                       : "quantized";
    cr_assert(check_dot_exact(t, w, a, n, what) >= 1, "no SIMD set ran");
    free(xa);
    free(a);
    free(w);
}

Test(kernels, quant_vec_dot_bit_exact_quantized_rows)
{
    log_skipped_sets();
    for (size_t i = 0; i < N_QUANT_TYPES; i++) {
        const tensor_type t = quant_types[i];
        for (size_t l = 0; l < sizeof long_lengths / sizeof long_lengths[0]; l++)
            for (uint64_t seed = 0; seed < 4; seed++)
                check_random_rows(t, long_lengths[l], 1000 * (uint64_t)t + 10 * l + seed, 0);
        if (tensor_types_ref((uint32_t)t)->blck == 32)
            for (size_t l = 0; l < sizeof short_lengths / sizeof short_lengths[0]; l++)
                for (uint64_t seed = 0; seed < 4; seed++)
                    check_random_rows(t, short_lengths[l], 7 + 100 * l + seed, 0);
    }
}

Test(kernels, quant_vec_dot_bit_exact_random_weight_bytes)
{
    /* Any weight bytes: random codes and scale bytes (finite scales), then
     * entirely random bytes (NaN/inf scales, -128 in Q8 weights). */
    for (size_t i = 0; i < N_QUANT_TYPES; i++) {
        const tensor_type t = quant_types[i];
        for (int mode = 1; mode <= 2; mode++)
            for (size_t l = 0; l < sizeof long_lengths / sizeof long_lengths[0]; l++)
                for (uint64_t seed = 0; seed < 3; seed++)
                    check_random_rows(t, long_lengths[l], 50000 + 1000 * (uint64_t)t + 10 * l + seed,
                                      mode);
    }
}

/* One row of n elements whose every byte is `fill`, scales set to `scale`. */
static void *filled_row(tensor_type t, int64_t n, uint8_t fill, uint16_t scale)
{
    const size_t len = tensor_row_size(t, n);
    uint8_t *w = malloc(len);
    cr_assert(w);
    memset(w, fill, len);
    rng r = rng_seeded(fill);
    tame_scales(t, w, n, &r);
    const type_traits *tr = tensor_types_ref((uint32_t)t);
    for (int64_t b = 0; b < n / tr->blck; b++) {
        uint8_t *blk = w + (size_t)b * tr->type_size;
        switch (t) {
        case TT_Q2_K: memcpy(blk + 80, &scale, 2); memcpy(blk + 82, &scale, 2); break;
        case TT_Q3_K: memcpy(blk + 108, &scale, 2); break;
        case TT_Q6_K: memcpy(blk + 208, &scale, 2); break;
        case TT_Q8_K: { float d = 1.0f; memcpy(blk, &d, 4); break; }
        case TT_Q4_1: case TT_Q5_1: case TT_Q4_K: case TT_Q5_K: case TT_Q8_1:
            memcpy(blk, &scale, 2); memcpy(blk + 2, &scale, 2); break;
        default: memcpy(blk, &scale, 2); break;
        }
    }
    return w;
}

Test(kernels, quant_vec_dot_odd_cases)
{
    static const uint8_t fills[] = { 0x00, 0xff, 0x80, 0x7f, 0x55, 0xaa };
    for (size_t i = 0; i < N_QUANT_TYPES; i++) {
        const tensor_type t = quant_types[i];
        const type_traits *ref = tensor_types_ref((uint32_t)t);
        const int64_t lens[] = { ref->blck, 8 * ref->blck, 9 * ref->blck };
        for (size_t l = 0; l < 3; l++) {
            const int64_t n = lens[l];
            float *zeros = calloc((size_t)n, sizeof *zeros);
            float *big = malloc((size_t)n * sizeof *big);
            cr_assert(zeros && big);
            for (int64_t e = 0; e < n; e++)   /* codes +-127, -127 first in each block */
                big[e] = (e % 3 == 0 ? -1.f : 1.f) * 1000.f;
            void *a_zero = quantize_ref(ref->vec_dot_type, zeros, n);
            void *a_big = quantize_ref(ref->vec_dot_type, big, n);
            void *w_zero = quantize_ref(t, zeros, n);
            check_dot_exact(t, w_zero, a_zero, n, "all zeros");
            check_dot_exact(t, w_zero, a_big, n, "zero weights, max activations");
            for (size_t f = 0; f < sizeof fills; f++) {
                void *w = filled_row(t, n, fills[f], 0x7bff); /* largest finite half */
                check_dot_exact(t, w, a_big, n, "extreme codes, max activations");
                check_dot_exact(t, w, a_zero, n, "extreme codes, zero activations");
                free(w);
            }
            free(zeros);
            free(big);
            free(a_zero);
            free(a_big);
            free(w_zero);
        }
    }
}

/* ------------------------------------------------------- tile kernels */

/* The types whose tile kernel must exist in every SIMD set. */
static const tensor_type tiled_types[] = { TT_Q4_0, TT_Q8_0, TT_Q4_K, TT_Q6_K };

/* The set's packed layout (type_pack), when it has one for this shape:
 * pack the nr rows into exactly the bytes it asks for (ASan sees any
 * access past them), run its vec_dot and hold every result to want's
 * bits, the guard column untouched. Returns 1 if it ran. */
static int check_packed(const type_traits *tr, const char *set, int64_t n, int nr, int nt,
                        const uint8_t *x, size_t xb, const uint8_t *y, size_t yb,
                        const float *want, float *got, size_t stride)
{
    const type_pack *pk = tr->pack;
    if (!pk || nt < pk->min_tok || nt > pk->max_tok || pk->size(nr, n) == 0)
        return 0;
    const size_t bytes = pk->size(nr, n);
    void *packed = NULL, *scratch = NULL;
    const size_t scratch_bytes = tr->vec_dot_tile_scratch(n, nt);
    cr_assert_eq(posix_memalign(&packed, 64, bytes), 0);
    cr_assert_eq(posix_memalign(&scratch, 64, scratch_bytes ? scratch_bytes : 1), 0);
    pk->pack(x, xb, nr, n, packed);
    for (size_t i = 0; i < stride * (size_t)nt; i++)
        got[i] = -777.f;
    pk->vec_dot(n, nr, nt, got, stride, packed, y, yb, scratch);
    /* a group in the middle, as the forward pass calls it */
    if (nr > pk->rows) {
        const size_t off = pk->size(pk->rows, n);
        pk->vec_dot(n, nr - pk->rows, nt, got + pk->rows, stride, (const uint8_t *)packed + off, y,
                    yb, scratch);
    }
    free(packed);
    free(scratch);
    for (int ti = 0; ti < nt; ti++) {
        for (int ri = 0; ri < nr; ri++) {
            const size_t k = (size_t)ti * stride + (size_t)ri;
            cr_assert(same_float(got[k], want[k]),
                      "%s %s packed n=%lld nr=%d nt=%d: row %d x act %d got %a want %a", set,
                      tr->name, (long long)n, nr, nt, ri, ti, (double)got[k], (double)want[k]);
        }
        cr_assert_eq(got[(size_t)ti * stride + (size_t)nr], -777.f, "%s %s packed wrote past row nr",
                     set, tr->name);
    }
    return 1;
}

/* nr weight rows x nt activation rows of length n (quantized random rows,
 * or random weight bytes when raw): every tile result (written into a
 * strided output with a guard column) must be the reference vec_dot's
 * bits, and the guard cells untouched. Returns how many sets ran. */
static int check_tile(tensor_type t, int64_t n, int nr, int nt, uint64_t seed, int raw)
{
    const type_traits *ref = tensor_types_ref((uint32_t)t);
    const size_t xb = tensor_row_size(t, n), yb = tensor_row_size(ref->vec_dot_type, n);
    rng r = rng_seeded(seed);
    uint8_t *x = malloc(xb * (size_t)nr), *y = malloc(yb * (size_t)nt);
    cr_assert(x && y);
    for (int i = 0; i < nr; i++) {
        if (raw) {
            uint8_t *b = random_bytes(&r, xb);
            memcpy(x + (size_t)i * xb, b, xb);
            free(b);
            if (raw == 1)
                tame_scales(t, x + (size_t)i * xb, n, &r);
        } else {
            float *f = random_floats(&r, n);
            ref->from_float(f, x + (size_t)i * xb, n);
            free(f);
        }
    }
    for (int i = 0; i < nt; i++) {
        float *f = random_floats(&r, n);
        tensor_types_ref(ref->vec_dot_type)->from_float(f, y + (size_t)i * yb, n);
        free(f);
    }
    const size_t stride = (size_t)nr + 1;
    float *want = malloc(stride * (size_t)nt * sizeof *want);
    float *got = malloc(stride * (size_t)nt * sizeof *got);
    cr_assert(want && got);
    for (int ti = 0; ti < nt; ti++)
        for (int ri = 0; ri < nr; ri++)
            ref->vec_dot(n, &want[(size_t)ti * stride + (size_t)ri], x + (size_t)ri * xb,
                         y + (size_t)ti * yb);
    int ran = 0;
    for (size_t si = 0; si < N_SIMD_SETS; si++) {
        if (!kernels_cpu_supports(simd_sets[si].name))
            continue;
        const type_traits *tr = simd_sets[si].traits((uint32_t)t);
        if (!tr->vec_dot_tile)
            continue;
        for (size_t i = 0; i < stride * (size_t)nt; i++)
            got[i] = -777.f;
        /* exactly the bytes the kernel asks for: ASan sees any access
         * past them */
        const size_t scratch_bytes = tr->vec_dot_tile_scratch(n, nt);
        void *scratch = NULL;
        cr_assert_eq(posix_memalign(&scratch, 64, scratch_bytes ? scratch_bytes : 1), 0);
        tr->vec_dot_tile(n, nr, nt, got, stride, x, xb, y, yb, scratch);
        free(scratch);
        for (int ti = 0; ti < nt; ti++) {
            for (int ri = 0; ri < nr; ri++) {
                const size_t k = (size_t)ti * stride + (size_t)ri;
                cr_assert(same_float(got[k], want[k]),
                          "%s %s tile n=%lld nr=%d nt=%d: row %d x act %d got %a want %a",
                          simd_sets[si].name, ref->name, (long long)n, nr, nt, ri, ti,
                          (double)got[k], (double)want[k]);
            }
            cr_assert_eq(got[(size_t)ti * stride + (size_t)nr], -777.f,
                         "%s %s tile wrote past row nr", simd_sets[si].name, ref->name);
        }
        ran++;
        check_packed(tr, simd_sets[si].name, n, nr, nt, x, xb, y, yb, want, got, stride);
    }
    free(x);
    free(y);
    free(want);
    free(got);
    return ran;
}

Test(kernels, packed_layouts_exist_and_run)
{
    /* The AVX-512 set packs Q4_0, Q8_0, Q4_K and Q6_K; the checks above
     * must have something to check. */
    if (!kernels_cpu_supports("avx512")) {
        cr_log_warn("avx512 not supported: packed layouts not checked");
        return;
    }
    static const tensor_type packed_types[] = { TT_Q4_0, TT_Q8_0, TT_Q4_K, TT_Q6_K };
    for (size_t i = 0; i < sizeof packed_types / sizeof packed_types[0]; i++) {
        const type_traits *tr = kernels_avx512_traits((uint32_t)packed_types[i]);
        cr_assert(tr->pack, "avx512 has no packed %s", tr->name);
        cr_assert(tr->pack->size(16, 2048) > 0);
        cr_assert_eq(tr->pack->size(32, 2048), 2 * tr->pack->size(16, 2048));
        cr_assert_eq(tr->pack->size(16, 2048), 16 * tensor_row_size(packed_types[i], 2048),
                     "packed %s takes more room than the rows", tr->name);
    }
}

Test(kernels, packed_q8_0_keeps_each_pair_of_blocks_scales_beside_their_codes)
{
    /* Decode streams a packed group front to back: blocks in pairs, each
     * pair the two blocks' 16 F16 scales (one cache line), then block b's
     * code vectors (dword j of row r at 64 j + 4 r, codes ^ 0x80), then
     * block b + 1's; an odd last block leaves half a line unused. (With
     * all the scales after all the codes, decode read a third slower.) */
    if (!kernels_cpu_supports("avx512")) {
        cr_log_warn("avx512 not supported: packed layout not checked");
        return;
    }
    enum { ROWS = 16, BLOCKS = 3, N = BLOCKS * 32 };
    const type_pack *pk = kernels_avx512_traits((uint32_t)TT_Q8_0)->pack;
    block_q8_0 x[ROWS][BLOCKS];
    for (int r = 0; r < ROWS; r++)
        for (int b = 0; b < BLOCKS; b++) {
            x[r][b].d = (uint16_t)(0x1000 + 16 * b + r);
            for (int i = 0; i < 32; i++)
                x[r][b].qs[i] = (int8_t)(7 * r + 3 * b + i);
        }
    const size_t bytes = pk->size(ROWS, N);
    cr_assert_eq(bytes, sizeof x + 32, "3 blocks: the rows' bytes and half a line");
    uint8_t *out = aligned_alloc(64, (bytes + 63) / 64 * 64);
    cr_assert(out);
    memset(out, 0xaa, bytes); /* pack must write every byte, the unused ones as 0 */
    pk->pack(x, sizeof x[0], ROWS, N, out);
    for (int i = 0; i < 32; i++)
        cr_assert_eq(out[64 + 2 * 512 + 32 + i], 0, "the odd last block's unused half line");
    for (int b = 0; b < BLOCKS; b++) {
        const uint8_t *pair = out + (size_t)(b / 2) * (64 + 2 * 512);
        const uint8_t *scales = pair + 32 * (b % 2), *codes = pair + 64 + 512 * (b % 2);
        for (int r = 0; r < ROWS; r++) {
            uint16_t d;
            memcpy(&d, scales + 2 * r, sizeof d);
            cr_assert_eq(d, x[r][b].d, "block %d row %d: scale", b, r);
            for (int i = 0; i < 32; i++)
                cr_assert_eq(codes[64 * (i / 4) + 4 * r + i % 4], (uint8_t)x[r][b].qs[i] ^ 0x80,
                             "block %d row %d: code %d", b, r, i);
        }
    }
    free(out);
}

Test(kernels, tile_kernels_exist_for_the_tiled_types)
{
    int ran = 0;
    for (size_t s = 0; s < N_SIMD_SETS; s++) {
        if (!set_usable(&simd_sets[s]))
            continue;
        ran++;
        for (size_t i = 0; i < sizeof tiled_types / sizeof tiled_types[0]; i++)
            cr_assert(simd_sets[s].traits((uint32_t)tiled_types[i])->vec_dot_tile,
                      "%s has no %s tile kernel", simd_sets[s].name,
                      tensor_type_name((uint32_t)tiled_types[i]));
    }
    cr_assert(ran >= 1, "no SIMD set ran");
}

Test(kernels, tile_bit_exact_every_shape)
{
    /* Every activation-row count 1..9 (each tile shape, padded groups),
     * more than one pass (33, 41; 75, 130 and 250: several groups of 16 in
     * one pass over the weight rows; 270: more than the 16 groups one pass
     * takes; 21, 24, 34: a group of 8 or 4 after groups of 16), and
     * weight-row counts that leave rows outside whole tiles; every type
     * that has a tile kernel. */
    static const int nts[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 16, 21, 24, 34, 33, 41, 75, 130,
                               250, 270 };
    static const int nrs[] = { 1, 3, 8, 13, 40, 67 };
    int ran = 0;
    for (size_t i = 0; i < N_QUANT_TYPES; i++) {
        const tensor_type t = quant_types[i];
        const int64_t blck = tensor_types_ref((uint32_t)t)->blck;
        for (size_t a = 0; a < sizeof nts / sizeof nts[0]; a++)
            for (size_t b = 0; b < sizeof nrs / sizeof nrs[0]; b++)
                ran += check_tile(t, blck * (1 + (int64_t)(a + b) % 9), nrs[b], nts[a],
                                  77 + 100 * a + b, 0);
    }
    cr_assert(ran >= 1, "no tile kernel ran");
}

Test(kernels, tile_bit_exact_long_rows_and_random_bytes)
{
    /* Model-sized rows, rows longer than the tile kernels take (vec_dot
     * fallback), and random weight bytes (NaN/inf scales, -128 codes). */
    static const int64_t lens[] = { 2048, 5632, 16384, 16640 };
    int ran = 0;
    for (size_t i = 0; i < N_QUANT_TYPES; i++) {
        const tensor_type t = quant_types[i];
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
            ran += check_tile(t, lens[l], 9, 5, 900 + l + 10 * (uint64_t)t, 0);
            ran += check_tile(t, lens[l], 16, 1, 950 + l + 10 * (uint64_t)t, 1);
            ran += check_tile(t, lens[l], 8, 9, 990 + l + 10 * (uint64_t)t, 2);
            ran += check_tile(t, lens[l], 3, 32, 970 + l + 10 * (uint64_t)t, 0);
            ran += check_tile(t, lens[l], 37, 8, 1010 + l + 10 * (uint64_t)t, 1);
            ran += check_tile(t, lens[l], 32, 16, 1050 + l + 10 * (uint64_t)t, 2);
            /* long rows take fewer groups per pass (their activation blocks
             * must stay in L2): 100 rows are several passes */
            ran += check_tile(t, lens[l], 9, 100, 1090 + l + 10 * (uint64_t)t, 0);
        }
    }
    cr_assert(ran >= 1, "no tile kernel ran");
}

/* ------------------------------------------------------------ float dots */

/* Random elements of type t (f32, f16 or bf16) and their float values. */
static void *random_float_row(tensor_type t, rng *r, int64_t n)
{
    float *x = random_floats(r, n);
    if (t == TT_F32)
        return x;
    void *q = quantize_ref(t, x, n);
    free(x);
    return q;
}

static double element_value(tensor_type t, const void *row, int64_t i)
{
    if (t == TT_F32)
        return ((const float *)row)[i];
    const uint16_t h = ((const uint16_t *)row)[i];
    return t == TT_F16 ? fp16_to_f32(h) : bf16_to_f32(h);
}

/* |simd - ref| <= n*2^-52*sum|x_i*y_i| + 2 ulp(ref); returns 1 if equal. */
static int check_dot_close(const type_traits *tr, const char *set, tensor_type t,
                           const void *x, const void *y, int64_t n)
{
    const type_traits *ref = tensor_types_ref((uint32_t)t);
    float want, got = -12345.f;
    ref->vec_dot(n, &want, x, y);
    tr->vec_dot(n, &got, x, y);
    if (isnan(want) || isinf(want)) {
        cr_assert(same_float(got, want), "%s %s n=%lld: got %a want %a", set, ref->name,
                  (long long)n, (double)got, (double)want);
        return 1;
    }
    double abs_sum = 0;
    for (int64_t i = 0; i < n; i++)
        abs_sum += fabs((double)(float)(element_value(t, x, i) * element_value(t, y, i)));
    const double ulp = (double)nextafterf(fabsf(want), INFINITY) - fabs((double)want);
    const double tol = (double)n * ldexp(abs_sum, -52) + 2 * ulp;
    cr_assert(fabs((double)got - (double)want) <= tol, "%s %s n=%lld: got %a want %a (tol %g)",
              set, ref->name, (long long)n, (double)got, (double)want, tol);
    return f2u(got) == f2u(want);
}

Test(kernels, float_vec_dot_within_tolerance)
{
    log_skipped_sets();
    int ran = 0;
    for (size_t s = 0; s < N_SIMD_SETS; s++) {
        if (!kernels_cpu_supports(simd_sets[s].name))
            continue;
        ran++;
        for (size_t k = 0; k < sizeof float_types / sizeof float_types[0]; k++) {
            const tensor_type t = float_types[k];
            const type_traits *tr = simd_sets[s].traits((uint32_t)t);
            cr_assert(tr);
            int rows = 0, equal = 0;
            rng r = rng_seeded(77 + t);
            for (int64_t n = 1; n <= 8192; n = n < 80 ? n + 1 : n * 2 + (n % 3 == 0 ? 0 : 64)) {
                for (int rep = 0; rep < 3; rep++) {
                    void *x = random_float_row(t, &r, n), *y = random_float_row(t, &r, n);
                    equal += check_dot_close(tr, simd_sets[s].name, t, x, y, n);
                    rows++;
                    free(x);
                    free(y);
                }
            }
            cr_assert(equal * 10 >= rows * 9, "%s %s: only %d of %d rows equal the reference",
                      simd_sets[s].name, tr->name, equal, rows);
        }
    }
    cr_assert(ran >= 1, "no SIMD set ran");
}

Test(kernels, float_vec_dot_special_values)
{
    /* inf and NaN propagate as in the reference; zeros give +0. */
    const float inf = INFINITY;
    for (size_t s = 0; s < N_SIMD_SETS; s++) {
        if (!kernels_cpu_supports(simd_sets[s].name))
            continue;
        for (size_t k = 0; k < sizeof float_types / sizeof float_types[0]; k++) {
            const tensor_type t = float_types[k];
            const type_traits *tr = simd_sets[s].traits((uint32_t)t);
            const int64_t n = 67;
            float xs[67], ys[67];
            for (int pos = 0; pos < n; pos += 13) {
                for (int i = 0; i < n; i++)
                    xs[i] = ys[i] = 0.0f;
                xs[pos] = inf;
                ys[pos] = 2.0f;
                void *x = quantize_ref(t, xs, n), *y = quantize_ref(t, ys, n);
                check_dot_close(tr, simd_sets[s].name, t, x, y, n); /* +inf */
                ys[pos] = 0.0f;
                free(y);
                y = quantize_ref(t, ys, n);
                check_dot_close(tr, simd_sets[s].name, t, x, y, n); /* inf*0: NaN */
                float got;
                tr->vec_dot(n, &got, y, y);
                cr_assert(f2u(got) == 0, "%s %s: zero dot is %a", simd_sets[s].name, tr->name,
                          (double)got);
                free(x);
                free(y);
            }
        }
    }
}

/* ------------------------------------------------------------ from_float */

static void check_from_float_exact(tensor_type t, const float *x, int64_t n, const char *what)
{
    const type_traits *ref = tensor_types_ref((uint32_t)t);
    const size_t len = tensor_row_size(t, n);
    uint8_t *want = malloc(len), *got = malloc(len);
    cr_assert(want && got);
    ref->from_float(x, want, n);
    int ran = 0;
    for (size_t s = 0; s < N_SIMD_SETS; s++) {
        if (!kernels_cpu_supports(simd_sets[s].name))
            continue;
        const type_traits *tr = simd_sets[s].traits((uint32_t)t);
        cr_assert(tr);
        memset(got, 0xa5, len);
        tr->from_float(x, got, n);
        for (size_t i = 0; i < len; i++)
            cr_assert_eq(got[i], want[i], "%s %s from_float n=%lld (%s): byte %zu is %02x, want %02x",
                         simd_sets[s].name, ref->name, (long long)n, what, i, got[i], want[i]);
        ran++;
    }
    cr_assert(ran >= 1, "no SIMD set ran");
    free(want);
    free(got);
}

Test(kernels, from_float_bit_exact_random)
{
    log_skipped_sets();
    for (size_t k = 0; k < sizeof activation_types / sizeof activation_types[0]; k++) {
        const tensor_type t = activation_types[k];
        const int64_t blck = tensor_types_ref((uint32_t)t)->blck;
        rng r = rng_seeded(500 + t);
        for (int64_t n = 256; n <= 8192; n *= 2) {
            for (int rep = 0; rep < 4; rep++) {
                float *x = random_floats(&r, n + 8);
                check_from_float_exact(t, x, n, "gaussian");
                if (blck == 1)  /* any length, with tails */
                    check_from_float_exact(t, x + rep, n / 3 + rep + 1, "gaussian tail");
                free(x);
            }
        }
    }
}

/* A block of 256 values full of rounding ties and special values. */
static void special_floats(float *x, int64_t n, int variant)
{
    static const float specials[] = {
        0.0f, -0.0f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, 126.5f, -126.5f,
        1e-45f, -1e-45f, 1.17549435e-38f, 6.0e-8f, 5.96e-8f, 65504.f, 65520.f, -65536.f,
        3.4e38f, 1e-30f, 0.333333343f, 1.00048828125f, 1.0009765625f, 1.00146484375f,
    };
    const int ns = (int)(sizeof specials / sizeof specials[0]);
    for (int64_t i = 0; i < n; i++) {
        switch (variant) {
        case 0: x[i] = specials[i % ns]; break;
        case 1: x[i] = (float)((i % 255) - 127) + (i % 2 ? 0.5f : 0.0f); break; /* max 127 */
        case 2: x[i] = (i % 32 == 5) ? -127.f : (float)(i % 127) * 0.5f; break;
        case 3: x[i] = (i % 32 == 3) ? NAN : (i % 32 == 4) ? -3.f : 1.f; break;
        case 4: x[i] = (i % 64 == 7) ? INFINITY : (float)i; break;
        case 5: x[i] = 0.0f; break;
        case 6: x[i] = (i % 2) ? 1e-40f : -1e-41f; break; /* denormals only */
        case 7:   /* quiet NaNs with payloads among ordinary values */
        case 8: { /* signalling NaNs (F16/BF16 only, see the test) */
            static const uint32_t nans[2][4] = {
                { 0x7fc00001u, 0xffc00123u, 0x7fe00000u, 0xffffffffu },
                { 0x7f800001u, 0xff800123u, 0x7fa00000u, 0xffbfffffu },
            };
            uint32_t u = nans[variant - 7][i % 4];
            if (i % 3 == 0)
                memcpy(&x[i], &u, sizeof u);
            else
                x[i] = (float)i * 0.75f;
            break;
        }
        default: x[i] = (i % 16 == 0) ? 8.f : (i % 16 == 1) ? -8.f : 0.25f; break; /* tie */
        }
    }
}

Test(kernels, from_float_bit_exact_special_values)
{
    const int64_t n = 512;
    float x[512];
    for (int variant = 0; variant < 10; variant++) {
        special_floats(x, n, variant);
        for (size_t k = 0; k < sizeof activation_types / sizeof activation_types[0]; k++) {
            /* Signalling NaNs never come out of arithmetic, so activations
             * never hold them; the reference's fmaxf (IEEE maxNum) turns one
             * into a NaN maximum that a later number replaces again, which
             * the SIMD quantizers do not imitate. */
            if (variant == 8 && activation_types[k] != TT_F16 && activation_types[k] != TT_BF16)
                continue;
            check_from_float_exact(activation_types[k], x, n, "special values");
            if (activation_types[k] == TT_F16 || activation_types[k] == TT_BF16)
                check_from_float_exact(activation_types[k], x + 1, 37, "special values tail");
        }
    }
    /* Scales that make the quantizers' inverse scale overflow. */
    for (int i = 0; i < n; i++)
        x[i] = (i % 5 == 0) ? 1e-40f : 0.0f;
    for (size_t k = 0; k < 3; k++)
        check_from_float_exact(activation_types[k], x, n, "denormal block max");
}

Test(kernels, half_to_float_exact)
{
    /* All 65536 halves (and bf16s) decode exactly as the reference. */
    uint16_t *h = malloc(65536 * sizeof *h);
    float *want = malloc(65536 * sizeof *want), *got = malloc(65536 * sizeof *got);
    cr_assert(h && want && got);
    for (int i = 0; i < 65536; i++)
        h[i] = (uint16_t)i;
    const tensor_type types[] = { TT_F16, TT_BF16 };
    for (size_t k = 0; k < 2; k++) {
        tensor_types_ref((uint32_t)types[k])->to_float(h, want, 65536);
        for (size_t s = 0; s < N_SIMD_SETS; s++) {
            if (!kernels_cpu_supports(simd_sets[s].name))
                continue;
            simd_sets[s].traits((uint32_t)types[k])->to_float(h, got, 65536);
            for (int i = 0; i < 65536; i++)
                cr_assert(same_float(got[i], want[i]), "%s %s %04x", simd_sets[s].name,
                          tensor_type_name(types[k]), i);
        }
    }
    free(h);
    free(want);
    free(got);
}

/* -------------------------------------------------------------- dispatch */

Test(kernels, every_set_provides_every_type_with_reference_geometry)
{
    int ran = 0;
    for (size_t s = 0; s < N_SIMD_SETS; s++) {
        if (!kernels_cpu_supports(simd_sets[s].name))
            continue;
        ran++;
        for (uint32_t t = 0; t < TT_COUNT + 2; t++) {
            const type_traits *ref = tensor_types_ref(t), *tr = simd_sets[s].traits(t);
            if (!ref) {
                cr_assert_null(tr);
                continue;
            }
            cr_assert(tr, "%s lacks %s", simd_sets[s].name, ref->name);
            cr_assert_str_eq(tr->name, ref->name);
            cr_assert_eq(tr->blck, ref->blck);
            cr_assert_eq(tr->type_size, ref->type_size);
            cr_assert_eq(tr->vec_dot_type, ref->vec_dot_type);
            cr_assert(tr->to_float && tr->from_float && tr->vec_dot);
        }
    }
    cr_assert(ran >= 1, "no SIMD set ran on this CPU");
    /* The dispatcher picks the best supported set. */
    const char *best = kernels_cpu_supports("avx512") ? "avx512" : "avx2";
    cr_assert_str_eq(kernels_set_for(TT_Q4_K), best);
}

Test(kernels, env_override_forces_a_set)
{
    cr_assert_eq(setenv("PRECIS_KERNELS", "ref", 1), 0);
    cr_assert_str_eq(kernels_set_for(TT_Q4_0), "ref");
    cr_assert_eq(tensor_types_get(TT_Q4_0), tensor_types_ref(TT_Q4_0));
    cr_assert_eq(kernels_vec(), vec_ref_kernels());
    cr_assert_eq(kernels_attn(), attn_ref_kernels());
    if (kernels_cpu_supports("avx2")) {
        cr_assert_eq(setenv("PRECIS_KERNELS", "avx2", 1), 0);
        cr_assert_str_eq(kernels_set_for(TT_Q6_K), "avx2");
        cr_assert_eq(tensor_types_get(TT_Q6_K), kernels_avx2_traits(TT_Q6_K));
        cr_assert_eq(kernels_vec(), kernels_avx2_vec());
    }
    cr_assert_eq(setenv("PRECIS_KERNELS", "no-such-set", 1), 0);
    cr_assert_str_neq(kernels_set_for(TT_Q6_K), "none");
    cr_assert_eq(unsetenv("PRECIS_KERNELS"), 0);
}
