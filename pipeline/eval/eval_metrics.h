/* eval_metrics.h — per-item and per-class evaluation arithmetic: F1 of a
 * predicted label set against the expected one, precision and recall from
 * counts, the mean. Definitions (and their edge cases) are the contract:
 *
 *   set F1       2|P∩E| / (|P| + |E|) for predicted set P, expected set E;
 *                both empty = 1 (nothing expected, nothing predicted: right);
 *                exactly one empty = 0.
 *   precision    tp / (tp + fp); NAN when nothing was predicted (tp+fp = 0).
 *   recall       tp / (tp + fn); NAN when nothing was expected (tp+fn = 0).
 *   mean         of n values; NAN when n = 0.
 * NAN means "undefined" and is shown as null / "-", never as 0.
 */
#ifndef PRECIS_EVAL_METRICS_H
#define PRECIS_EVAL_METRICS_H

#include <stddef.h>

/* F1 of a predicted set of n_predicted labels against an expected set of
 * n_expected, n_common of them in both (sets: no label counted twice). */
double eval_set_f1(size_t n_common, size_t n_predicted, size_t n_expected);

double eval_precision(size_t tp, size_t fp);
double eval_recall(size_t tp, size_t fn);

double eval_mean(const double *x, size_t n);

#endif
