/* monotonic.h — the monotonic clock in the units callers measure with
 * (seconds for rates and durations, milliseconds for deadlines,
 * microseconds for short polls). Header-only: each is one clock_gettime.
 */
#ifndef PRECIS_MONOTONIC_H
#define PRECIS_MONOTONIC_H

#include <stdint.h>
#include <time.h>

static inline double monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#endif
