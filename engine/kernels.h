/* kernels.h — the small interface between the kernel dispatcher (kernels.c)
 * and the kernel files, one per instruction set (engine-internal).
 *
 * Each instruction set gets one file, engine/kernels_<isa>.c, compiled with
 * that set's flags (see ISA_* in the Makefile), which defines
 *     const type_traits *kernels_<isa>_traits(uint32_t type);
 * returning its own const traits for the types it accelerates (it may mix in
 * quant_ref_* functions for the operations it does not) and NULL for the
 * others. kernels.c lists the sets best first and, per type, picks the first
 * set the CPU supports that provides the type; the reference (quant_ref.c)
 * always terminates the list. CPU detection lives in kernels.c, which is
 * compiled without ISA flags, so it can never itself fault on an old CPU.
 *
 * Adding a set: write kernels_<isa>.c, declare its traits function here, add
 * one line to the table in kernels.c and its feature test to
 * kernels_cpu_supports().
 */
#ifndef PRECIS_KERNELS_H
#define PRECIS_KERNELS_H

#include <stdint.h>

#include "engine/tensor_types.h"

/* The instruction-set files (NULL for types they do not provide). */
const type_traits *kernels_avx2_traits(uint32_t type);
const type_traits *kernels_avx512_traits(uint32_t type);

/* 1 if this CPU can run the named kernel set ("ref", "avx2", "avx512"),
 * else 0 (also for unknown names). */
int kernels_cpu_supports(const char *set);

/* The kernel set tensor_types_get() uses for `type` on this CPU. */
const char *kernels_set_for(uint32_t type);

#endif
