/* rng.h — the engine's seeded random numbers: splitmix64 (a 64-bit hash and
 * the sequence it steps) and xoshiro256** seeded through it (the sampler's
 * draws; tests/test_sampler.c's oracle draws the same numbers through it).
 * Header-only: each is a few integer operations.
 */
#ifndef PRECIS_RNG_H
#define PRECIS_RNG_H

#include <stdint.h>

/* splitmix64's output for the state x: x plus the golden gamma, mixed. */
static inline uint64_t rng_hash64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* The next number of the splitmix64 sequence in *state. */
static inline uint64_t rng_splitmix64(uint64_t *state)
{
    uint64_t z = rng_hash64(*state);
    *state += 0x9e3779b97f4a7c15ULL;
    return z;
}

/* xoshiro256**: four words of state, seeded from one 64-bit seed. */
typedef struct rng {
    uint64_t s[4];
} rng;

static inline void rng_seed(rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = rng_splitmix64(&seed);
}

static inline uint64_t rng_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rng_rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rng_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1), 53 random bits. */
static inline double rng_uniform(rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

#endif
