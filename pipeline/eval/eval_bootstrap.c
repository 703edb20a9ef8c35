/* eval_bootstrap.c — percentile bootstrap confidence intervals (see eval_bootstrap.h). */
#include "pipeline/eval/eval_bootstrap.h"

#include <math.h>
#include <stdlib.h>

#include "pipeline/eval/eval_rng.h"

eval_bootstrap_options eval_bootstrap_defaults(void)
{
    return (eval_bootstrap_options){.resamples = EVAL_BOOTSTRAP_RESAMPLES, .seed = EVAL_BOOTSTRAP_SEED,
                                    .level = EVAL_BOOTSTRAP_LEVEL};
}

double eval_percentile(const double *sorted, size_t n, double p)
{
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)floor(h);
    if (lo + 1 >= n)
        return sorted[n - 1];
    return sorted[lo] + (h - (double)lo) * (sorted[lo + 1] - sorted[lo]);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int eval_bootstrap_ci(size_t n, eval_statistic_fn stat, void *ctx, const eval_bootstrap_options *o, double ci[2],
                      perr *err)
{
    eval_bootstrap_options d = eval_bootstrap_defaults();
    size_t resamples = o && o->resamples ? o->resamples : d.resamples;
    uint64_t seed = o ? o->seed : d.seed;
    double level = o && o->level != 0 ? o->level : d.level;
    if (n == 0)
        return perr_set(err, "bootstrap: no items");
    if (!(level > 0 && level < 1))
        return perr_set(err, "bootstrap: the level must be between 0 and 1, not %g", level);
    size_t *idx = malloc(n * sizeof *idx);
    double *stats = malloc(resamples * sizeof *stats);
    if (!idx || !stats) {
        free(idx);
        free(stats);
        return perr_set(err, "out of memory");
    }
    eval_rng rng = eval_rng_seeded(seed);
    for (size_t r = 0; r < resamples; r++) {
        for (size_t i = 0; i < n; i++)
            idx[i] = eval_rng_below(&rng, n);
        stats[r] = stat(idx, n, ctx);
    }
    qsort(stats, resamples, sizeof *stats, by_value);
    ci[0] = eval_percentile(stats, resamples, (1 - level) / 2);
    ci[1] = eval_percentile(stats, resamples, (1 + level) / 2);
    free(idx);
    free(stats);
    return 0;
}

static double mean_of(const size_t *idx, size_t n, void *ctx)
{
    const double *x = ctx;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += x[idx[i]];
    return sum / (double)n;
}

int eval_bootstrap_mean_ci(const double *x, size_t n, const eval_bootstrap_options *o, double ci[2], perr *err)
{
    return eval_bootstrap_ci(n, mean_of, (void *)x, o, ci, err);
}
