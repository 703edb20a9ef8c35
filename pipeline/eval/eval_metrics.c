/* eval_metrics.c — per-item and per-class evaluation arithmetic (see eval_metrics.h). */
#include "pipeline/eval/eval_metrics.h"

#include <math.h>

double eval_set_f1(size_t n_common, size_t n_predicted, size_t n_expected)
{
    if (n_predicted + n_expected == 0)
        return 1.0;
    return 2.0 * (double)n_common / (double)(n_predicted + n_expected);
}

double eval_precision(size_t tp, size_t fp)
{
    return tp + fp ? (double)tp / (double)(tp + fp) : NAN;
}

double eval_recall(size_t tp, size_t fn)
{
    return tp + fn ? (double)tp / (double)(tp + fn) : NAN;
}

double eval_mean(const double *x, size_t n)
{
    if (n == 0)
        return NAN;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += x[i];
    return sum / (double)n;
}

double eval_balanced_accuracy(const size_t *correct, const size_t *total, size_t n_classes)
{
    double sum = 0;
    size_t present = 0;
    for (size_t c = 0; c < n_classes; c++) {
        if (total[c] == 0)
            continue;
        sum += (double)correct[c] / (double)total[c];
        present++;
    }
    return present ? sum / (double)present : NAN;
}
