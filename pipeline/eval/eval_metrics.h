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
 *   balanced accuracy  the mean of the recalls of the classes that have
 *                items (recall = items of the class answered right / items
 *                of the class); a class without items has no recall and is
 *                left out of the mean, so with one class present it is that
 *                class's recall, i.e. the accuracy (scikit-learn's
 *                balanced_accuracy_score does the same); NAN when no class
 *                has items.
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

/* Balanced accuracy over n_classes classes: correct[c] of total[c] items of
 * class c answered right (see above). */
double eval_balanced_accuracy(const size_t *correct, const size_t *total, size_t n_classes);

#endif
