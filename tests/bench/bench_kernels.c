/* bench_kernels.c — single-thread micro-benchmark of the vec_dot kernels:
 * a 4096 x 4096 matrix-vector product per weight type and kernel set (ref,
 * avx2, avx512 where the CPU has them), as the engine's matmul does it
 * (activation row quantized once to vec_dot_type, then one vec_dot per
 * weight row). Prints ns per row, weight GB/s, speed-up over the
 * reference, and the cost of quantizing the activation row.
 *
 * Built and run by `make bench-kernels`; not a test (timings never fail).
 * Usage: bench-kernels [rows cols]   (defaults 4096 4096)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/kernels.h"
#include "engine/tensor_types.h"

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
    return 0;
}
