/* kernels.h — the small interface between the kernel dispatcher (kernels.c)
 * and the kernel files, one per instruction set (engine-internal).
 *
 * Each instruction set owns its file, engine/kernels/kernels_<isa>.c,
 * compiled with that set's flags (see ISA_* in the Makefile); a large set
 * may add kernels_<isa>_*.c with the same flags behind an internal header
 * (the AVX-512 set: kernels_avx512_tile16.c and kernels_avx512_rows16.c,
 * kernels_avx512.h). Code both x86 sets use is in kernels_x86*.h; the
 * few primitives it declares for them each x86 set defines with its own
 * instructions. The set's file defines
 *     const type_traits *kernels_<isa>_traits(uint32_t type);
 * returning its own const traits for the types it accelerates (it may mix in
 * quant_ref_* functions for the operations it does not) and NULL for the
 * others. kernels.c lists the sets best first and, per type, picks the first
 * set the CPU supports that provides the type; the reference (quant_ref.c,
 * quant_ref_k.c) always terminates the list. CPU detection lives in kernels.c, which is
 * compiled without ISA flags, so it can never itself fault on an old CPU.
 *
 * Each set also provides the two attention kernels (attn_kernels below),
 * kernels_<isa>_attn(), and the element-wise kernels (vec_kernels below),
 * kernels_<isa>_vec(); the reference ones are attn_ref.c's and vec_ref.c's.
 *
 * Adding a set: write kernels_<isa>.c, declare its traits, attention and
 * element-wise functions here, add one line to the table in kernels.c and
 * its feature test to kernels_cpu_supports().
 */
#ifndef PRECIS_KERNELS_H
#define PRECIS_KERNELS_H

#include <stdint.h>

#include "engine/kernels/tensor_types.h"

/* The instruction-set files (NULL for types they do not provide). */
const type_traits *kernels_avx2_traits(uint32_t type);
const type_traits *kernels_avx512_traits(uint32_t type);

/* Attention over the F16 KV cache for one query token and one KV head,
 * against the n_q query heads that share that KV head (grouped-query
 * attention). The cache layout makes both steps broadcast-and-FMA work
 * with no horizontal sums: K is stored transposed (a row of positions per
 * dimension), V as a row of dimensions per position.
 *
 *  scores: s[h * s_stride + p] = sum_d q[h * hd + d] * K(d, p)
 *          for h < n_q, p < n_kv, with K(d, p) = kt[d * kt_stride + p];
 *  mix:    out[h * hd + i] = sum_p w[h * w_stride + p] * V(p, i)
 *          for h < n_q, i < hd, with V(p, i) = v[p * v_stride + i].
 *
 * The float inputs (queries, softmax weights) arrive already rounded to
 * F16 values by the caller, so every product is exact in float; only the
 * summation order differs between sets. The reference adds in double; the
 * SIMD sets add in float, each output a sum of at most max(hd, n_kv)
 * terms in one lane, and the tests hold them to that rounding bound. */
typedef struct attn_kernels {
    const char *name;
    void (*scores)(int n_q, int hd, int n_kv, const float *q, const uint16_t *kt,
                   size_t kt_stride, float *s, size_t s_stride);
    void (*mix)(int n_q, int hd, int n_kv, const float *w, size_t w_stride, const uint16_t *v,
                size_t v_stride, float *out);
} attn_kernels;

const attn_kernels *kernels_avx2_attn(void);
const attn_kernels *kernels_avx512_attn(void);
const attn_kernels *attn_ref_kernels(void);

/* The attention kernels for this CPU (PRECIS_KERNELS may force a set, as
 * for the types). */
const attn_kernels *kernels_attn(void);

/* Element-wise float kernels of the forward pass:
 *
 *  softmax: s[i] = exp(scale * s[i] - m) / sum_j exp(scale * s[j] - m)
 *           for i < n, with m the largest scale * s[j];
 *  swiglu:  gate[i] = gate[i] / (1 + exp(-gate[i])) * up[i] for i < n.
 *
 * The reference uses expf and adds the softmax terms in double. The SIMD
 * sets compute exp as 2^k * p(r) (r = x - k ln 2, p a degree-7 Taylor
 * polynomial): within a few ulp of expf for normal results, 0 below
 * -104, +inf above ln(FLT_MAX), NaN kept. They add the softmax terms in
 * float lanes; the tests hold them to those bounds. */
typedef struct vec_kernels {
    const char *name;
    void (*softmax)(float *s, int n, float scale);
    void (*swiglu)(float *gate, const float *up, int64_t n);
} vec_kernels;

const vec_kernels *kernels_avx2_vec(void);
const vec_kernels *kernels_avx512_vec(void);
const vec_kernels *vec_ref_kernels(void);

/* The element-wise kernels for this CPU (PRECIS_KERNELS may force a set). */
const vec_kernels *kernels_vec(void);

/* 1 if this CPU can run the named kernel set ("ref", "avx2", "avx512"),
 * else 0 (also for unknown names). */
int kernels_cpu_supports(const char *set);

/* The kernel set tensor_types_get() uses for `type` on this CPU. */
const char *kernels_set_for(uint32_t type);

#endif
