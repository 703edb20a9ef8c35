/* quant_ref_k.c — the scalar reference of the K-quants (Q2_K, Q3_K, Q4_K,
 * Q5_K, Q6_K and their activation type Q8_K): dequantize, quantize and dot
 * product, written for clarity, the oracle the SIMD kernels are tested
 * against (the float and 32-element types are in quant_ref.c, whose top
 * comment says where the facts come from; the shared helpers are in
 * quant_ref_scalar.h).
 *
 * Conventions: n is a multiple of QK_K (callers check with
 * tensor_row_size()); rows never share blocks.
 */
#include "engine/kernels/quant_ref.h"

#include <math.h>
#include <string.h>

#include "engine/kernels/quant_ref_scalar.h"

/* ======================================================================
 * K-quant helpers: ggml's scale searches (make_qx_quants with x^2 weights,
 * make_q3_quants, make_qkx2_quants), same arithmetic in the same order.
 * ==================================================================== */

/* Symmetric codes in [-nmax, nmax-1] minimising sum x^2 (x - s*l)^2:
 * start from s = max/-nmax, then try 18 nearby scales. L gets l + nmax.
 * Returns the scale (0 for an all-zero group). (make_qx_quants, type 1.) */
static float fit_symmetric_weighted(int n, int nmax, const float *x, int8_t *L)
{
    float amax;
    const float max = signed_absmax(x, n, &amax);
    if (amax < GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.f;
    }
    float iscale = (float)-nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = iclamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)(l + nmax);
        float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0)
            continue;
        iscale = -((float)nmax + 0.1f * (float)is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = iclamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
            float w = x[i] * x[i];
            sumlx += w * x[i] * (float)l;
            suml2 += w * (float)l * (float)l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++)
                L[i] = (int8_t)(nmax + iclamp(nearest_int(iscale * x[i]), -nmax, nmax - 1));
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* Q3_K group fit (make_q3_quants with rmse): codes in [-nmax, nmax-1] from
 * s = max/-nmax, then up to 5 rounds moving single codes to whatever
 * improves the x^2-weighted fit. L gets l + nmax. Returns the scale. */
static float fit_q3_group(int n, int nmax, const float *x, int8_t *L)
{
    float amax;
    const float max = signed_absmax(x, n, &amax);
    if (amax < GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.f;
    }
    const float iscale = (float)-nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = iclamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)l;
        float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    for (int round = 0; round < 5; round++) {
        int changed = 0;
        for (int i = 0; i < n; i++) {
            float w = x[i] * x[i];
            float slx = sumlx - w * x[i] * (float)L[i];
            if (!(slx > 0))
                continue;
            float sl2 = suml2 - w * (float)L[i] * (float)L[i];
            int new_l = iclamp(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
            if (new_l == L[i])
                continue;
            slx += w * x[i] * (float)new_l;
            sl2 += w * (float)new_l * (float)new_l;
            if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                L[i] = (int8_t)new_l;
                sumlx = slx;
                suml2 = sl2;
                changed++;
            }
        }
        if (!changed)
            break;
    }
    for (int i = 0; i < n; i++)
        L[i] = (int8_t)(L[i] + nmax);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/* Asymmetric group fit (make_qkx2_quants): codes l in [0, nmax] with
 * x ~ scale*l - the_min, the_min >= 0. Starts from the min/max fit, then
 * tries nstep+1 scale candidates (rmin + rdelta*is + nmax)/(max - min),
 * solving weighted least squares for scale and min at each; keeps the one
 * with the lowest weighted error (absolute if use_mad, else squared). */
static float fit_asymmetric(int n, int nmax, const float *x, const float *weights,
                            uint8_t *L, float *the_min, float rmin, float rdelta,
                            int nstep, int use_mad)
{
    uint8_t Laux[32];
    float min = x[0], max = x[0];
    float sum_w = weights[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min)
            min = x[i];
        if (x[i] > max)
            max = x[i];
        sum_w += weights[i];
        sum_x += weights[i] * x[i];
    }
    if (min > 0)
        min = 0;
    if (max == min) {
        memset(L, 0, (size_t)n);
        *the_min = -min;
        return 0.f;
    }
    float iscale = (float)nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; i++) {
        L[i] = (uint8_t)iclamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
        float diff = scale * (float)L[i] + min - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        best_error += weights[i] * diff;
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * (float)is + (float)nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = iclamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
            Laux[i] = (uint8_t)l;
            float w = weights[i];
            sum_l += w * (float)l;
            sum_l2 += w * (float)l * (float)l;
            sum_xl += w * (float)l * x[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (!(D > 0))
            continue;
        float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
        float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
        if (this_min > 0) {
            this_min = 0;
            this_scale = sum_xl / sum_l2;
        }
        float cur_error = 0;
        for (int i = 0; i < n; i++) {
            float diff = this_scale * (float)Laux[i] + this_min - x[i];
            diff = use_mad ? fabsf(diff) : diff * diff;
            cur_error += weights[i] * diff;
        }
        if (cur_error < best_error) {
            memcpy(L, Laux, (size_t)n);
            best_error = cur_error;
            scale = this_scale;
            min = this_min;
        }
    }
    *the_min = -min;
    return scale;
}

/* Pack 256 2-bit codes: within each 128-element half, element 32*k + l
 * goes to bits 2k..2k+1 of qs[l] (qs advances 32 bytes per half). */
static void pack_2bit(const uint8_t L[QK_K], uint8_t qs[QK_K / 4])
{
    for (int h = 0; h < QK_K; h += 128)
        for (int l = 0; l < 32; l++)
            qs[h / 4 + l] = (uint8_t)(L[h + l] | L[h + l + 32] << 2 |
                                      L[h + l + 64] << 4 | L[h + l + 96] << 6);
}

/* The 2-bit code of element e (0..255) packed by pack_2bit. */
static int unpack_2bit(const uint8_t *qs, int e)
{
    int h = e / 128, k = (e % 128) / 32, l = e % 32;
    return (qs[h * 32 + l] >> (2 * k)) & 3;
}

/* ======================================================================
 * Q2_K — 256 elements, 84 bytes: scales[16] (per 16 elements: low nibble
 * scale, high nibble min), qs[64] (2-bit codes, pack_2bit order), half d,
 * half dmin. Value = d*(sc & 15) * q - dmin*(sc >> 4).
 * ==================================================================== */

void quant_ref_to_float_q2_K(const void *vx, float *y, int64_t n)
{
    const block_q2_K *x = vx;
    for (int64_t b = 0; b < n / QK_K; b++, y += QK_K) {
        const float d = fp16_to_f32(x[b].d);
        const float dmin = fp16_to_f32(x[b].dmin);
        for (int g = 0; g < QK_K / 16; g++) {
            const float dl = d * (float)(x[b].scales[g] & 0x0f);
            const float ml = dmin * (float)(x[b].scales[g] >> 4);
            for (int l = 0; l < 16; l++)
                y[g * 16 + l] = dl * (float)unpack_2bit(x[b].qs, g * 16 + l) - ml;
        }
    }
}

void quant_ref_from_float_q2_K(const float *x, void *vy, int64_t n)
{
    block_q2_K *y = vy;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        uint8_t L[QK_K];
        float scales[QK_K / 16], mins[QK_K / 16], weights[16];
        float max_scale = 0, max_min = 0;
        for (int g = 0; g < QK_K / 16; g++) {
            for (int l = 0; l < 16; l++)
                weights[l] = fabsf(x[16 * g + l]);
            scales[g] = fit_asymmetric(16, 3, x + 16 * g, weights, L + 16 * g, &mins[g],
                                       -0.5f, 0.1f, 15, 1);
            if (scales[g] > max_scale)
                max_scale = scales[g];
            if (mins[g] > max_min)
                max_min = mins[g];
        }
        memset(y[b].scales, 0, sizeof y[b].scales);
        y[b].d = f32_to_fp16(0.f);
        y[b].dmin = f32_to_fp16(0.f);
        if (max_scale > 0) {
            const float iscale = 15.f / max_scale;
            for (int g = 0; g < QK_K / 16; g++)
                y[b].scales[g] = (uint8_t)iclamp(nearest_int(iscale * scales[g]), 0, 15);
            y[b].d = f32_to_fp16(max_scale / 15.f);
        }
        if (max_min > 0) {
            const float iscale = 15.f / max_min;
            for (int g = 0; g < QK_K / 16; g++)
                y[b].scales[g] |= (uint8_t)(iclamp(nearest_int(iscale * mins[g]), 0, 15) << 4);
            y[b].dmin = f32_to_fp16(max_min / 15.f);
        }
        /* Requantize with the stored (rounded) scales. */
        for (int g = 0; g < QK_K / 16; g++) {
            const float d = fp16_to_f32(y[b].d) * (float)(y[b].scales[g] & 0x0f);
            if (d == 0)
                continue;
            const float dm = fp16_to_f32(y[b].dmin) * (float)(y[b].scales[g] >> 4);
            for (int l = 0; l < 16; l++)
                L[16 * g + l] = (uint8_t)iclamp(nearest_int((x[16 * g + l] + dm) / d), 0, 3);
        }
        pack_2bit(L, y[b].qs);
    }
}

void quant_ref_vec_dot_q2_K(int64_t n, float *s, const void *vx, const void *vy)
{
    const block_q2_K *x = vx;
    const block_q8_K *y = vy;
    float sum = 0;
    for (int64_t b = 0; b < n / QK_K; b++) {
        int isum = 0, min_sum = 0;
        for (int g = 0; g < QK_K / 16; g++) {
            int gsum = 0;
            for (int l = 0; l < 16; l++)
                gsum += unpack_2bit(x[b].qs, g * 16 + l) * y[b].qs[g * 16 + l];
            isum += (x[b].scales[g] & 0x0f) * gsum;
            min_sum += (x[b].scales[g] >> 4) * y[b].bsums[g];
        }
        const float dall = y[b].d * fp16_to_f32(x[b].d);
        const float dmin = y[b].d * fp16_to_f32(x[b].dmin);
        sum += dall * (float)isum - dmin * (float)min_sum;
    }
    *s = sum;
}

/* ======================================================================
 * Q3_K — 256 elements, 110 bytes: hmask[32], qs[64], scales[12], half d.
 * Code = low 2 bits (pack_2bit order in qs) + a high bit: element
 * 128*h + 32*k + l has its high bit in hmask[l], bit 4*h + k. Value =
 * d * (sc - 32) * (code - 4), i.e. q in [-4, 3] with q = low - 4 when the
 * high bit is clear. The 16 scales are 6 bits: the low 4 bits of scale j
 * are nibble j/8 of scales[j % 8], the high 2 bits are bits 2*(j/4) of
 * scales[8 + j % 4].
 * ==================================================================== */

static int q3_scale(const uint8_t scales[12], int j)
{
    int low = j < 8 ? scales[j] & 0x0f : scales[j - 8] >> 4;
    int high = (scales[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (low | high << 4) - 32;
}

static int q3_code(const block_q3_K *x, int e)
{
    int h = e / 128, k = (e % 128) / 32, l = e % 32;
    int high = (x->hmask[l] >> (4 * h + k)) & 1;
    return unpack_2bit(x->qs, e) - (high ? 0 : 4);
}

void quant_ref_to_float_q3_K(const void *vx, float *y, int64_t n)
{
    const block_q3_K *x = vx;
    for (int64_t b = 0; b < n / QK_K; b++, y += QK_K) {
        const float d_all = fp16_to_f32(x[b].d);
        for (int g = 0; g < QK_K / 16; g++) {
            const float dl = d_all * (float)q3_scale(x[b].scales, g);
            for (int l = 0; l < 16; l++)
                y[g * 16 + l] = dl * (float)q3_code(&x[b], g * 16 + l);
        }
    }
}

void quant_ref_from_float_q3_K(const float *x, void *vy, int64_t n)
{
    block_q3_K *y = vy;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        int8_t L[QK_K];
        float scales[QK_K / 16];
        float max_scale = 0, amax = 0;
        for (int g = 0; g < QK_K / 16; g++) {
            scales[g] = fit_q3_group(16, 4, x + 16 * g, L + 16 * g);
            if (fabsf(scales[g]) > amax) {
                amax = fabsf(scales[g]);
                max_scale = scales[g];
            }
        }
        memset(y[b].scales, 0, sizeof y[b].scales);
        y[b].d = f32_to_fp16(0.f);
        if (max_scale != 0) {
            const float iscale = -32.f / max_scale;
            for (int g = 0; g < QK_K / 16; g++) {
                int l = iclamp(nearest_int(iscale * scales[g]), -32, 31) + 32;
                if (g < 8)
                    y[b].scales[g] = (uint8_t)(l & 0x0f);
                else
                    y[b].scales[g - 8] |= (uint8_t)((l & 0x0f) << 4);
                y[b].scales[8 + g % 4] |= (uint8_t)((l >> 4) << (2 * (g / 4)));
            }
            y[b].d = f32_to_fp16(1 / iscale);
        }
        /* Requantize with the stored scales; L becomes codes 0..7. */
        for (int g = 0; g < QK_K / 16; g++) {
            const float d = fp16_to_f32(y[b].d) * (float)q3_scale(y[b].scales, g);
            if (d == 0)
                continue;
            for (int l = 0; l < 16; l++)
                L[16 * g + l] = (int8_t)(iclamp(nearest_int(x[16 * g + l] / d), -4, 3) + 4);
        }
        /* Split: high bit to hmask, low 2 bits to qs. */
        uint8_t low[QK_K];
        memset(y[b].hmask, 0, sizeof y[b].hmask);
        for (int e = 0; e < QK_K; e++) {
            int h = e / 128, k = (e % 128) / 32, l = e % 32;
            if (L[e] > 3)
                y[b].hmask[l] |= (uint8_t)(1u << (4 * h + k));
            low[e] = (uint8_t)(L[e] & 3);
        }
        pack_2bit(low, y[b].qs);
    }
}

void quant_ref_vec_dot_q3_K(int64_t n, float *s, const void *vx, const void *vy)
{
    const block_q3_K *x = vx;
    const block_q8_K *y = vy;
    float sum = 0;
    for (int64_t b = 0; b < n / QK_K; b++) {
        int isum = 0;
        for (int g = 0; g < QK_K / 16; g++) {
            int gsum = 0;
            for (int l = 0; l < 16; l++)
                gsum += q3_code(&x[b], g * 16 + l) * y[b].qs[g * 16 + l];
            isum += q3_scale(x[b].scales, g) * gsum;
        }
        sum += fp16_to_f32(x[b].d) * y[b].d * (float)isum;
    }
    *s = sum;
}

/* ======================================================================
 * Q4_K — 256 elements, 144 bytes: half d, half dmin, scales[12], qs[128].
 * 8 sub-blocks of 32 with a 6-bit scale and 6-bit min each, packed by
 * quant_k4_scale_min(). Sub-blocks 2p and 2p+1 share qs[32p .. 32p+31]:
 * low nibbles then high nibbles. Value = d*sc * q - dmin*m.
 * ==================================================================== */

void quant_k4_scale_min(int j, const uint8_t *scales, uint8_t *sc, uint8_t *m)
{
    if (j < 4) {
        *sc = scales[j] & 63;
        *m = scales[j + 4] & 63;
    } else {
        *sc = (uint8_t)((scales[j + 4] & 0x0f) | (scales[j - 4] >> 6) << 4);
        *m = (uint8_t)((scales[j + 4] >> 4) | (scales[j] >> 6) << 4);
    }
}

/* Inverse of quant_k4_scale_min for all 8 pairs (each value 0..63). */
static void k4_pack_scales(const uint8_t ls[8], const uint8_t lm[8], uint8_t scales[12])
{
    for (int j = 0; j < 4; j++) {
        scales[j] = (uint8_t)((ls[j] & 63) | (ls[j + 4] >> 4) << 6);
        scales[j + 4] = (uint8_t)((lm[j] & 63) | (lm[j + 4] >> 4) << 6);
        scales[j + 8] = (uint8_t)((ls[j + 4] & 0x0f) | (lm[j + 4] & 0x0f) << 4);
    }
}

/* The 4-bit code of element e in a Q4_K/Q5_K qs[128]. */
static int k4_low_code(const uint8_t *qs, int e)
{
    int sub = e / 32, l = e % 32;
    uint8_t byte = qs[(sub / 2) * 32 + l];
    return sub % 2 ? byte >> 4 : byte & 0x0f;
}

void quant_ref_to_float_q4_K(const void *vx, float *y, int64_t n)
{
    const block_q4_K *x = vx;
    for (int64_t b = 0; b < n / QK_K; b++, y += QK_K) {
        const float d = fp16_to_f32(x[b].d);
        const float dmin = fp16_to_f32(x[b].dmin);
        for (int sub = 0; sub < QK_K / 32; sub++) {
            uint8_t sc, m;
            quant_k4_scale_min(sub, x[b].scales, &sc, &m);
            const float d1 = d * (float)sc, m1 = dmin * (float)m;
            for (int l = 0; l < 32; l++)
                y[sub * 32 + l] = d1 * (float)k4_low_code(x[b].qs, sub * 32 + l) - m1;
        }
    }
}

/* The shared first half of the Q4_K and Q5_K reference quantizers: fit each
 * sub-block of 32 (codes 0..nmax), quantize scales and mins to 6 bits
 * against the block maxima, store d/dmin/scales, and requantize all codes
 * with the stored values into L. */
static void k4_fit_superblock(const float *x, int nmax, float rmin, float rdelta, int nstep,
                              uint16_t *d_out, uint16_t *dmin_out, uint8_t scales_out[12],
                              uint8_t L[QK_K])
{
    float scales[QK_K / 32], mins[QK_K / 32], weights[32];
    float max_scale = 0, max_min = 0;
    for (int sub = 0; sub < QK_K / 32; sub++) {
        const float *xs = x + 32 * sub;
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++)
            sum_x2 += xs[l] * xs[l];
        const float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++)
            weights[l] = av_x + fabsf(xs[l]);
        scales[sub] = fit_asymmetric(32, nmax, xs, weights, L + 32 * sub, &mins[sub],
                                     rmin, rdelta, nstep, 0);
        if (scales[sub] > max_scale)
            max_scale = scales[sub];
        if (mins[sub] > max_min)
            max_min = mins[sub];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    uint8_t ls[8], lm[8];
    for (int sub = 0; sub < QK_K / 32; sub++) {
        ls[sub] = (uint8_t)iclamp(nearest_int(inv_scale * scales[sub]), 0, 63);
        lm[sub] = (uint8_t)iclamp(nearest_int(inv_min * mins[sub]), 0, 63);
    }
    k4_pack_scales(ls, lm, scales_out);
    *d_out = f32_to_fp16(max_scale / 63.f);
    *dmin_out = f32_to_fp16(max_min / 63.f);

    for (int sub = 0; sub < QK_K / 32; sub++) {
        uint8_t sc, m;
        quant_k4_scale_min(sub, scales_out, &sc, &m);
        const float d = fp16_to_f32(*d_out) * (float)sc;
        if (d == 0)
            continue;
        const float dm = fp16_to_f32(*dmin_out) * (float)m;
        for (int l = 0; l < 32; l++)
            L[32 * sub + l] = (uint8_t)iclamp(nearest_int((x[32 * sub + l] + dm) / d), 0, nmax);
    }
}

void quant_ref_from_float_q4_K(const float *x, void *vy, int64_t n)
{
    block_q4_K *y = vy;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        uint8_t L[QK_K];
        k4_fit_superblock(x, 15, -1.f, 0.1f, 20, &y[b].d, &y[b].dmin, y[b].scales, L);
        for (int p = 0; p < QK_K / 64; p++)
            for (int l = 0; l < 32; l++)
                y[b].qs[32 * p + l] = (uint8_t)(L[64 * p + l] | L[64 * p + 32 + l] << 4);
    }
}

/* Shared Q4_K/Q5_K dot: codes(e) gives element e's unsigned code. */
static float k4_dot_block(float d, float dmin, const uint8_t scales[12], const int codes[QK_K],
                          const block_q8_K *y)
{
    int isum = 0, min_sum = 0;
    for (int sub = 0; sub < QK_K / 32; sub++) {
        uint8_t sc, m;
        quant_k4_scale_min(sub, scales, &sc, &m);
        int ssum = 0;
        for (int l = 0; l < 32; l++)
            ssum += codes[sub * 32 + l] * y->qs[sub * 32 + l];
        isum += sc * ssum;
        min_sum += m * (y->bsums[2 * sub] + y->bsums[2 * sub + 1]);
    }
    return d * y->d * (float)isum - dmin * y->d * (float)min_sum;
}

void quant_ref_vec_dot_q4_K(int64_t n, float *s, const void *vx, const void *vy)
{
    const block_q4_K *x = vx;
    const block_q8_K *y = vy;
    float sum = 0;
    for (int64_t b = 0; b < n / QK_K; b++) {
        int codes[QK_K];
        for (int e = 0; e < QK_K; e++)
            codes[e] = k4_low_code(x[b].qs, e);
        sum += k4_dot_block(fp16_to_f32(x[b].d), fp16_to_f32(x[b].dmin), x[b].scales, codes,
                            &y[b]);
    }
    *s = sum;
}

/* ======================================================================
 * Q5_K — 256 elements, 176 bytes: half d, half dmin, scales[12] (as Q4_K),
 * qh[32], qs[128] (low nibbles as Q4_K). The 5th bit of element
 * 32*sub + l is bit `sub` of qh[l]. Value = d*sc * q - dmin*m.
 * ==================================================================== */

static int q5k_code(const block_q5_K *x, int e)
{
    int sub = e / 32, l = e % 32;
    return k4_low_code(x->qs, e) | ((x->qh[l] >> sub) & 1) << 4;
}

void quant_ref_to_float_q5_K(const void *vx, float *y, int64_t n)
{
    const block_q5_K *x = vx;
    for (int64_t b = 0; b < n / QK_K; b++, y += QK_K) {
        const float d = fp16_to_f32(x[b].d);
        const float dmin = fp16_to_f32(x[b].dmin);
        for (int sub = 0; sub < QK_K / 32; sub++) {
            uint8_t sc, m;
            quant_k4_scale_min(sub, x[b].scales, &sc, &m);
            const float d1 = d * (float)sc, m1 = dmin * (float)m;
            for (int l = 0; l < 32; l++)
                y[sub * 32 + l] = d1 * (float)q5k_code(&x[b], sub * 32 + l) - m1;
        }
    }
}

void quant_ref_from_float_q5_K(const float *x, void *vy, int64_t n)
{
    block_q5_K *y = vy;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        uint8_t L[QK_K];
        k4_fit_superblock(x, 31, -0.5f, 0.1f, 15, &y[b].d, &y[b].dmin, y[b].scales, L);
        memset(y[b].qh, 0, sizeof y[b].qh);
        for (int e = 0; e < QK_K; e++) {
            int sub = e / 32, l = e % 32;
            if (L[e] > 15)
                y[b].qh[l] |= (uint8_t)(1u << sub);
        }
        for (int p = 0; p < QK_K / 64; p++)
            for (int l = 0; l < 32; l++)
                y[b].qs[32 * p + l] = (uint8_t)((L[64 * p + l] & 0x0f) |
                                                (L[64 * p + 32 + l] & 0x0f) << 4);
    }
}

void quant_ref_vec_dot_q5_K(int64_t n, float *s, const void *vx, const void *vy)
{
    const block_q5_K *x = vx;
    const block_q8_K *y = vy;
    float sum = 0;
    for (int64_t b = 0; b < n / QK_K; b++) {
        int codes[QK_K];
        for (int e = 0; e < QK_K; e++)
            codes[e] = q5k_code(&x[b], e);
        sum += k4_dot_block(fp16_to_f32(x[b].d), fp16_to_f32(x[b].dmin), x[b].scales, codes,
                            &y[b]);
    }
    *s = sum;
}

/* ======================================================================
 * Q6_K — 256 elements, 210 bytes: ql[128] (low 4 bits), qh[64] (high 2
 * bits), scales[16] (int8, per 16 elements), half d. In each 128-element
 * half h (ql += 64h, qh += 32h), for l in 0..31: element l uses the low
 * nibble of ql[l], element l+32 the low nibble of ql[l+32], element l+64
 * the high nibble of ql[l], element l+96 the high nibble of ql[l+32]; their
 * high bits are bit pairs 0, 2, 4, 6 of qh[l]. Value = d*sc * (code - 32).
 * ==================================================================== */

static int q6_code(const block_q6_K *x, int e)
{
    int h = e / 128, k = (e % 128) / 32, l = e % 32;
    const uint8_t *ql = x->ql + 64 * h;
    uint8_t low_byte = ql[l + (k & 1) * 32];
    int low = k < 2 ? low_byte & 0x0f : low_byte >> 4;
    int high = (x->qh[32 * h + l] >> (2 * k)) & 3;
    return (low | high << 4) - 32;
}

void quant_ref_to_float_q6_K(const void *vx, float *y, int64_t n)
{
    const block_q6_K *x = vx;
    for (int64_t b = 0; b < n / QK_K; b++, y += QK_K) {
        const float d = fp16_to_f32(x[b].d);
        for (int g = 0; g < QK_K / 16; g++) {
            const float dl = d * (float)x[b].scales[g];
            for (int l = 0; l < 16; l++)
                y[g * 16 + l] = dl * (float)q6_code(&x[b], g * 16 + l);
        }
    }
}

void quant_ref_from_float_q6_K(const float *x, void *vy, int64_t n)
{
    block_q6_K *y = vy;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        int8_t L[QK_K];
        float scales[QK_K / 16];
        float max_scale = 0, max_abs_scale = 0;
        for (int g = 0; g < QK_K / 16; g++) {
            scales[g] = fit_symmetric_weighted(16, 32, x + 16 * g, L + 16 * g);
            if (fabsf(scales[g]) > max_abs_scale) {
                max_abs_scale = fabsf(scales[g]);
                max_scale = scales[g];
            }
        }
        memset(&y[b], 0, sizeof y[b]);
        if (max_abs_scale < GROUP_MAX_EPS)
            continue;                       /* all zero: d = 0, codes 0 */
        const float iscale = -128.f / max_scale;
        y[b].d = f32_to_fp16(1 / iscale);
        for (int g = 0; g < QK_K / 16; g++)
            y[b].scales[g] = (int8_t)iclamp(nearest_int(iscale * scales[g]), -128, 127);
        /* Requantize with the stored scales; L becomes codes 0..63. */
        for (int g = 0; g < QK_K / 16; g++) {
            const float d = fp16_to_f32(y[b].d) * (float)y[b].scales[g];
            if (d == 0)
                continue;
            for (int l = 0; l < 16; l++)
                L[16 * g + l] = (int8_t)(iclamp(nearest_int(x[16 * g + l] / d), -32, 31) + 32);
        }
        for (int e = 0; e < QK_K; e++) {
            int h = e / 128, k = (e % 128) / 32, l = e % 32;
            int code = L[e];
            y[b].ql[64 * h + l + (k & 1) * 32] |= (uint8_t)((code & 0x0f) << (k < 2 ? 0 : 4));
            y[b].qh[32 * h + l] |= (uint8_t)((code >> 4) << (2 * k));
        }
    }
}

void quant_ref_vec_dot_q6_K(int64_t n, float *s, const void *vx, const void *vy)
{
    const block_q6_K *x = vx;
    const block_q8_K *y = vy;
    float sum = 0;
    for (int64_t b = 0; b < n / QK_K; b++) {
        int isum = 0;
        for (int g = 0; g < QK_K / 16; g++) {
            int gsum = 0;
            for (int l = 0; l < 16; l++)
                gsum += q6_code(&x[b], g * 16 + l) * y[b].qs[g * 16 + l];
            isum += x[b].scales[g] * gsum;
        }
        sum += fp16_to_f32(x[b].d) * y[b].d * (float)isum;
    }
    *s = sum;
}

/* ======================================================================
 * Q8_K — activation type of the K-quants. 256 elements, 292 bytes: float
 * d, int8 qs[256], int16 bsums[16] (sum of each 16 codes). d = max/-127
 * with max the signed value of largest magnitude (so d may be negative,
 * as in ggml), codes round half to even. (The Q8_K x Q8_K dot is ours,
 * for symmetry; ggml has none.)
 * ==================================================================== */

void quant_ref_to_float_q8_K(const void *vx, float *y, int64_t n)
{
    const block_q8_K *x = vx;
    for (int64_t b = 0; b < n / QK_K; b++, y += QK_K)
        for (int j = 0; j < QK_K; j++)
            y[j] = x[b].d * (float)x[b].qs[j];
}

void quant_ref_from_float_q8_K(const float *x, void *vy, int64_t n)
{
    block_q8_K *y = vy;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        float amax;
        const float max = signed_absmax(x, QK_K, &amax);
        if (amax == 0) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < QK_K; j++)
            y[b].qs[j] = (int8_t)iclamp(nearest_int(iscale * x[j]), -128, 127);
        for (int g = 0; g < QK_K / 16; g++) {
            int sum = 0;
            for (int l = 0; l < 16; l++)
                sum += y[b].qs[16 * g + l];
            y[b].bsums[g] = (int16_t)sum;
        }
        y[b].d = 1 / iscale;
    }
}

void quant_ref_vec_dot_q8_K(int64_t n, float *s, const void *vx, const void *vy)
{
    const block_q8_K *x = vx;
    const block_q8_K *y = vy;
    float sum = 0;
    for (int64_t b = 0; b < n / QK_K; b++) {
        int isum = 0;
        for (int j = 0; j < QK_K; j++)
            isum += x[b].qs[j] * y[b].qs[j];
        sum += x[b].d * y[b].d * (float)isum;
    }
    *s = sum;
}
