/* vec_ref.c — scalar reference element-wise kernels (see vec_kernels in
 * kernels.h): softmax and SwiGLU with expf, the softmax sum in double as
 * ggml's soft_max adds it. The oracle the SIMD sets are checked against in
 * tests, and the kernels used on CPUs without AVX2.
 */
#include <math.h>

#include "engine/kernels/kernels.h"

static void ref_softmax(float *s, int n, float scale)
{
    float max = -INFINITY;
    for (int i = 0; i < n; i++) {
        s[i] *= scale;
        if (s[i] > max)
            max = s[i];
    }
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        s[i] = expf(s[i] - max);
        sum += (double)s[i];
    }
    const float inv = (float)(1.0 / sum);
    for (int i = 0; i < n; i++)
        s[i] *= inv;
}

static void ref_swiglu(float *gate, const float *up, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        const float g = gate[i];
        gate[i] = (g / (1.0f + expf(-g))) * up[i];
    }
}

static const vec_kernels ref_vec = { "ref", ref_softmax, ref_swiglu };

const vec_kernels *vec_ref_kernels(void) { return &ref_vec; }
