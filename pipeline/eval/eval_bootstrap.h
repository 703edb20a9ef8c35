/* eval_bootstrap.h — confidence intervals by the percentile bootstrap: the
 * statistic recomputed on `resamples` resamples of the n items, each n
 * items drawn uniformly with replacement by a generator seeded per call
 * (eval_rng.h); the interval is the (1-level)/2 and (1+level)/2 percentiles
 * of the recomputed statistics. Same inputs, same seed: same interval.
 *
 * Percentiles (eval_percentile) interpolate linearly between the closest
 * ranks — Hyndman & Fan's type 7, numpy.percentile's default ("linear"):
 * for sorted x[0..n-1] and p in [0, 1], h = (n-1)p and the percentile is
 * x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h]).
 *
 * Resampling draws n indices in order per resample (eval_rng_below), so a
 * statistic sees idx[0..n-1]; a resample of identical items yields the
 * statistic of those items, hence an interval [x, x] when every item's
 * value is x and the statistic is the mean of exactly representable sums.
 */
#ifndef PRECIS_EVAL_BOOTSTRAP_H
#define PRECIS_EVAL_BOOTSTRAP_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define EVAL_BOOTSTRAP_RESAMPLES 1000
#define EVAL_BOOTSTRAP_SEED 20260522ULL
#define EVAL_BOOTSTRAP_LEVEL 0.95

typedef struct eval_bootstrap_options {
    size_t resamples;            /* 0 = EVAL_BOOTSTRAP_RESAMPLES */
    uint64_t seed;               /* taken as is (0 is a seed too) */
    double level;                /* in (0, 1); 0 = EVAL_BOOTSTRAP_LEVEL */
} eval_bootstrap_options;

/* The defaults: 1,000 resamples, seed EVAL_BOOTSTRAP_SEED, 95 %. */
eval_bootstrap_options eval_bootstrap_defaults(void);

/* A statistic of the items idx[0..n-1] (indices may repeat); ctx is the caller's. */
typedef double (*eval_statistic_fn)(const size_t *idx, size_t n, void *ctx);

/* ci[0], ci[1]: the interval of stat over n >= 1 items. o NULL = defaults.
 * 0, or -1 (err: no items, a bad level, out of memory). */
int eval_bootstrap_ci(size_t n, eval_statistic_fn stat, void *ctx, const eval_bootstrap_options *o, double ci[2],
                      perr *err);

/* The interval of the mean of x[0..n-1]. */
int eval_bootstrap_mean_ci(const double *x, size_t n, const eval_bootstrap_options *o, double ci[2], perr *err);

/* The p-percentile (p in [0, 1]) of sorted[0..n-1], n >= 1, type 7 as above. */
double eval_percentile(const double *sorted, size_t n, double p);

#endif
