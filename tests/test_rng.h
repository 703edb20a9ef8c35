/* test_rng.h — the xorshift64* generator of the kernel and quantization
 * tests: reproducible uniform and Gaussian numbers from a seeded state. */
#ifndef PRECIS_TEST_RNG_H
#define PRECIS_TEST_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct rng {
    uint64_t s;                  /* the state: any value but 0 */
} rng;

static inline uint64_t rng_next(rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1DULL;
}

/* Uniform in (0, 1). */
static inline double rng_unit(rng *r)
{
    return ((double)(rng_next(r) >> 11) + 0.5) / 9007199254740992.0;
}

/* Standard normal (Box-Muller). */
static inline float rng_gauss(rng *r)
{
    double u = rng_unit(r), v = rng_unit(r);
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

#endif
