/* eval_rng.h — the seeded pseudo-random generator of evaluations: each call
 * owns its state (no global state), so a result depends only on its seed.
 * splitmix64 (Steele, Lea, Flood 2014): every 64-bit seed is a valid state.
 */
#ifndef PRECIS_EVAL_RNG_H
#define PRECIS_EVAL_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct eval_rng {
    uint64_t s;
} eval_rng;

static inline eval_rng eval_rng_seeded(uint64_t seed)
{
    return (eval_rng){.s = seed};
}

static inline uint64_t eval_rng_next(eval_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in 0..n-1 (n >= 1), without modulo bias (rejection). */
static inline size_t eval_rng_below(eval_rng *r, size_t n)
{
    uint64_t bound = (uint64_t)n, limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t v;
    do
        v = eval_rng_next(r);
    while (v >= limit);
    return (size_t)(v % bound);
}

#endif
