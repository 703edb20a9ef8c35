/* attn_ref.c — scalar reference attention kernels (see attn_kernels in
 * kernels.h): the oracle the SIMD sets are checked against in tests, and
 * the kernels used on CPUs without AVX2. Products of F16 values and
 * F16-rounded floats are exact in float; they are added in double.
 */
#include "engine/kernels/kernels.h"

static void ref_attn_scores(int n_q, int hd, int n_kv, const float *q, const uint16_t *kt,
                            size_t kt_stride, float *s, size_t s_stride)
{
    for (int h = 0; h < n_q; h++) {
        for (int p = 0; p < n_kv; p++) {
            double sum = 0.0;
            for (int d = 0; d < hd; d++)
                sum += (double)(q[(size_t)h * hd + d] * fp16_to_f32(kt[(size_t)d * kt_stride + p]));
            s[(size_t)h * s_stride + p] = (float)sum;
        }
    }
}

static void ref_attn_mix(int n_q, int hd, int n_kv, const float *w, size_t w_stride,
                         const uint16_t *v, size_t v_stride, float *out)
{
    for (int h = 0; h < n_q; h++) {
        for (int i = 0; i < hd; i++) {
            double sum = 0.0;
            for (int p = 0; p < n_kv; p++)
                sum += (double)(w[(size_t)h * w_stride + p] * fp16_to_f32(v[(size_t)p * v_stride + i]));
            out[(size_t)h * hd + i] = (float)sum;
        }
    }
}

static const attn_kernels ref_attn = { "ref", ref_attn_scores, ref_attn_mix };

const attn_kernels *attn_ref_kernels(void) { return &ref_attn; }
