/* kernels_avx512.h — the AVX-512 set's internal interface: the passes of
 * kernels_avx512_tile16.c (activation rows in lanes, 16 per pass) and
 * kernels_avx512_rows16.c (weight rows in lanes, 2..8 activation rows)
 * that the tile entry points in kernels_avx512.c run before the shared
 * tiles of kernels_x86_tile.h (engine-internal; include only from
 * kernels_avx512*.c, which are compiled with the AVX-512 flags).
 */
#ifndef PRECIS_KERNELS_AVX512_H
#define PRECIS_KERNELS_AVX512_H

#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VNNI__)
#error "kernels_avx512*.c need the AVX-512 flags (ISA_AVX512 in the Makefile)"
#endif

#include "engine/kernels/kernels_x86_tile.h"

/* Weight rows in lanes, for a call with 2..8 activation rows
 * (KX_RL_MIN_TOK..KX_RL_MAX_TOK) and rows short enough: does the whole
 * call and returns 1; else does nothing and returns 0. */
int avx512_rows16_matmul(const kx_matmul *m, kx_wtype type);
size_t avx512_rows16_scratch(int64_t n, int nt, kx_wtype type);

/* Activation rows in lanes, 16 per pass: activation rows [t0, nt) while
 * two or more are left (Q4_0, Q8_0) or nine or more (Q4_K, Q6_K), when the
 * rows are short enough; returns the first activation row not done. */
int avx512_tile16_matmul(const kx_matmul *m, int t0, kx_wtype type);
size_t avx512_tile16_scratch(int64_t n, int nt, kx_wtype type);

/* The shift of the activation code sum that corrects the dot of unsigned
 * weight codes: Q4_0 codes q - 8 (<< 3), Q8_0 codes x ^ 0x80 (<< 7). */
static inline int kx_bias_shift(kx_wtype type)
{
    return type == KX_Q8_0 ? 7 : 3;
}

/* The int32 holding int16 lo in its low half and hi in its high half. */
static inline int32_t kx_i16_pair(int lo, int hi)
{
    return (int32_t)((uint32_t)(uint16_t)(int16_t)lo | (uint32_t)(uint16_t)(int16_t)hi << 16);
}

#endif
