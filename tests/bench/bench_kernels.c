/* bench_kernels.c — single-thread micro-benchmark of the vec_dot kernels:
 * a 4096 x 4096 matrix-vector product per weight type and kernel set (ref,
 * avx2, avx512 where the CPU has them), as the engine's matmul does it
 * (activation row quantized once to vec_dot_type, then one vec_dot per
 * weight row). Prints ns per row, weight GB/s, speed-up over the
 * reference, and the cost of quantizing the activation row.
 *
 * A second table times one prefill-shaped matmul (2048 x 5632 weights,
 * the FFN down projection of TinyLlama, against 1, 8, 32 and 512 activation rows)
 * three ways with the best kernel set: one vec_dot per (row, activation
 * row); the tile kernel (vec_dot_tile, bit-identical); and, for comparison
 * only, dequantizing 64-row weight tiles to f32 and multiplying them with
 * the f32 activations by OpenBLAS cblas_sgemm (one thread; different
 * numerics, so not usable by the engine as is).
 *
 * Built and run by `make bench-kernels`; not a test (timings never fail).
 * Usage: bench-kernels [rows cols]   (defaults 4096 4096)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "engine/kernels/kernels.h"
#include "engine/kernels/tensor_types.h"

typedef struct bench_set {
    const char *name;
    const type_traits *(*traits)(uint32_t type);
} bench_set;

static const bench_set sets[] = {
    { "ref", tensor_types_ref },
    { "avx2", kernels_avx2_traits },
    { "avx512", kernels_avx512_traits },
};

static const tensor_type types[] = {
    TT_F32, TT_F16, TT_BF16, TT_Q4_0, TT_Q4_1, TT_Q5_0, TT_Q5_1, TT_Q8_0,
    TT_Q2_K, TT_Q3_K, TT_Q4_K, TT_Q5_K, TT_Q6_K,
};

#define DISTINCT_ROWS 64  /* rows actually quantized, then tiled */

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* load-independent */
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Roughly Gaussian (sum of uniforms), deterministic. */
static void fill_random(float *x, int64_t n, uint64_t seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 1;
    for (int64_t i = 0; i < n; i++) {
        double v = 0;
        for (int k = 0; k < 4; k++)
            v += (double)(next_random(&s) >> 11) / 9007199254740992.0;
        x[i] = (float)(v - 2.0);
    }
}

/* A rows x cols weight matrix of type t (DISTINCT_ROWS quantized rows,
 * repeated), or NULL on allocation failure. */
static uint8_t *make_weights(tensor_type t, int64_t rows, int64_t cols)
{
    const type_traits *ref = tensor_types_ref((uint32_t)t);
    const size_t row_bytes = tensor_row_size(t, cols);
    uint8_t *w = malloc(row_bytes * (size_t)rows);
    float *x = malloc((size_t)cols * sizeof *x);
    if (!w || !x) {
        free(w);
        free(x);
        return NULL;
    }
    for (int64_t r = 0; r < rows; r++) {
        if (r < DISTINCT_ROWS) {
            fill_random(x, cols, (uint64_t)r + 1);
            ref->from_float(x, w + row_bytes * (size_t)r, cols);
        } else {
            memcpy(w + row_bytes * (size_t)r, w + row_bytes * (size_t)(r % DISTINCT_ROWS),
                   row_bytes);
        }
    }
    free(x);
    return w;
}

/* Best time of `reps` matvecs, in seconds. */
static double time_matvec(const type_traits *tr, const uint8_t *w, size_t row_bytes,
                          const void *act, int64_t rows, int64_t cols, float *out, int reps)
{
    double best = 1e30;
    for (int rep = 0; rep < reps; rep++) {
        const double t0 = now_sec();
        for (int64_t r = 0; r < rows; r++)
            tr->vec_dot(cols, &out[r], w + row_bytes * (size_t)r, act);
        const double dt = now_sec() - t0;
        if (dt < best)
            best = dt;
    }
    return best;
}

static double time_from_float(const type_traits *vt, const float *x, void *act, int64_t cols)
{
    const int reps = 2000;
    const double t0 = now_sec();
    for (int i = 0; i < reps; i++)
        vt->from_float(x, act, cols);
    return (now_sec() - t0) / reps;
}

/* ---- prefill-shaped matmul: per pair, tile kernel, dequantize + sgemm ---- */

#define SGEMM_TILE_ROWS 64

static double time_pairs(const type_traits *tr, const uint8_t *w, size_t wb, const uint8_t *aq,
                         size_t ab, int64_t rows, int64_t cols, int nt, float *out)
{
    const double t0 = now_sec();
    for (int64_t r = 0; r < rows; r++)
        for (int t = 0; t < nt; t++)
            tr->vec_dot(cols, &out[(size_t)t * (size_t)rows + (size_t)r], w + wb * (size_t)r,
                        aq + ab * (size_t)t);
    return now_sec() - t0;
}

static double time_tile(const type_traits *tr, const uint8_t *w, size_t wb, const uint8_t *aq,
                        size_t ab, int64_t rows, int64_t cols, int nt, float *out, void *scratch)
{
    const double t0 = now_sec();
    tr->vec_dot_tile(cols, (int)rows, nt, out, (size_t)rows, w, wb, aq, ab, scratch);
    return now_sec() - t0;
}

static double time_sgemm(const type_traits *tr, const uint8_t *w, size_t wb, const float *x,
                         int64_t rows, int64_t cols, int nt, float *out, float *deq)
{
    const double t0 = now_sec();
    for (int64_t r0 = 0; r0 < rows; r0 += SGEMM_TILE_ROWS) {
        const int64_t n = rows - r0 < SGEMM_TILE_ROWS ? rows - r0 : SGEMM_TILE_ROWS;
        for (int64_t r = 0; r < n; r++)
            tr->to_float(w + wb * (size_t)(r0 + r), deq + (size_t)r * (size_t)cols, cols);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nt, (int)n, (int)cols, 1.0f, x,
                    (int)cols, deq, (int)cols, 0.0f, out + r0, (int)rows);
    }
    return now_sec() - t0;
}

static int bench_prefill_matmul(void)
{
    static const tensor_type mm_types[] = { TT_Q4_0, TT_Q8_0, TT_Q4_K, TT_Q6_K };
    static const int n_toks[] = { 1, 8, 32, 512 };
    const int64_t rows = 2048, cols = 5632;
    const int max_nt = 512;
    float *x = malloc((size_t)max_nt * (size_t)cols * sizeof *x);
    float *out = malloc((size_t)max_nt * (size_t)rows * sizeof *out);
    float *deq = malloc((size_t)SGEMM_TILE_ROWS * (size_t)cols * sizeof *deq);
    uint8_t *aq = malloc((size_t)max_nt * (size_t)cols * 2);
    if (!x || !out || !deq || !aq)
        return 1;
    for (int t = 0; t < max_nt; t++)
        fill_random(x + (size_t)t * (size_t)cols, cols, 777 + (uint64_t)t);
    openblas_set_num_threads(1);
    printf("\nprefill matmul %lld x %lld weights, single thread, thread CPU time, us per "
           "activation row\n", (long long)rows, (long long)cols);
    printf("%-5s %-7s %5s %10s %10s %10s\n", "type", "set", "rows", "per pair", "tile",
           "deq+sgemm");
    for (size_t ti = 0; ti < sizeof mm_types / sizeof mm_types[0]; ti++) {
        const tensor_type t = mm_types[ti];
        const type_traits *tr = tensor_types_get((uint32_t)t);
        const type_traits *vt = tensor_types_get((uint32_t)tr->vec_dot_type);
        const size_t wb = tensor_row_size(t, cols), ab = tensor_row_size(tr->vec_dot_type, cols);
        uint8_t *w = make_weights(t, rows, cols);
        void *scratch = NULL;
        if (!w || posix_memalign(&scratch, 64,
                                 tr->vec_dot_tile ? tr->vec_dot_tile_scratch(cols, max_nt) + 1 : 1))
            return 1;
        for (int t2 = 0; t2 < max_nt; t2++)
            vt->from_float(x + (size_t)t2 * (size_t)cols, aq + ab * (size_t)t2, cols);
        for (size_t k = 0; k < sizeof n_toks / sizeof n_toks[0]; k++) {
            const int nt = n_toks[k];
            const double pairs = nt <= 32 ? time_pairs(tr, w, wb, aq, ab, rows, cols, nt, out) : 0;
            const double tile = tr->vec_dot_tile
                                    ? time_tile(tr, w, wb, aq, ab, rows, cols, nt, out, scratch)
                                    : 0;
            const double sg = time_sgemm(tr, w, wb, x, rows, cols, nt, out, deq);
            printf("%-5s %-7s %5d %10.1f %10.1f %10.1f\n", tr->name, kernels_set_for((uint32_t)t), nt,
                   pairs * 1e6 / nt, tile * 1e6 / nt, sg * 1e6 / nt);
        }
        free(scratch);
        free(w);
    }
    free(x);
    free(out);
    free(deq);
    free(aq);
    return 0;
}

int main(int argc, char **argv)
{
    const int64_t rows = argc > 2 ? atoll(argv[1]) : 4096;
    const int64_t cols = argc > 2 ? atoll(argv[2]) : 4096;
    if (rows <= 0 || cols <= 0 || cols % 256 != 0) {
        fprintf(stderr, "usage: bench-kernels [rows cols]  (cols a multiple of 256)\n");
        return 2;
    }
    float *x = malloc((size_t)cols * sizeof *x);
    float *out = malloc((size_t)rows * sizeof *out);
    void *act = malloc((size_t)cols * 4 + 4096);
    if (!x || !out || !act)
        return 1;
    fill_random(x, cols, 12345);

    printf("matvec %lld x %lld, single thread, thread CPU time; best of several runs\n", (long long)rows,
           (long long)cols);
    printf("%-5s %-7s %10s %8s %8s %12s %s\n", "type", "set", "ns/row", "GB/s", "x ref",
           "act ns/row", "(act = from_float of the activation row, vec_dot_type)");
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        const tensor_type t = types[ti];
        const size_t row_bytes = tensor_row_size(t, cols);
        uint8_t *w = make_weights(t, rows, cols);
        if (!w)
            return 1;
        double ref_time = 0;
        for (size_t si = 0; si < sizeof sets / sizeof sets[0]; si++) {
            if (!kernels_cpu_supports(sets[si].name))
                continue;
            const type_traits *tr = sets[si].traits((uint32_t)t);
            const type_traits *vt = sets[si].traits((uint32_t)tr->vec_dot_type);
            double act_time = 0;
            if (tr->vec_dot_type == TT_F32)
                memcpy(act, x, (size_t)cols * sizeof *x);
            else
                act_time = time_from_float(vt, x, act, cols);
            const int reps = si == 0 ? 2 : 8;
            time_matvec(tr, w, row_bytes, act, rows, cols, out, 1); /* warm up */
            const double dt = time_matvec(tr, w, row_bytes, act, rows, cols, out, reps);
            if (si == 0)
                ref_time = dt;
            printf("%-5s %-7s %10.1f %8.2f %8.2f %12.1f\n", tr->name, sets[si].name,
                   dt * 1e9 / (double)rows, (double)row_bytes * (double)rows / dt * 1e-9,
                   ref_time / dt, act_time * 1e9);
        }
        free(w);
    }
    free(x);
    free(out);
    free(act);
    return bench_prefill_matmul();
}
