/* logit_norm.h — the log-softmax normaliser of one row of logits, shared by
 * perplexity (perplexity.c), the KL-divergence base file (logits_file.c)
 * and its statistics (kld.c): log p(i) = logits[i] - max - lse.
 */
#ifndef PRECIS_LOGIT_NORM_H
#define PRECIS_LOGIT_NORM_H

#include <math.h>

/* *max = the largest logit, *imax its index (the first when several tie);
 * returns log sum_i exp(logits[i] - max), the sum taken in double as
 * llama.cpp's perplexity tool does. n_vocab >= 1. */
static inline double logit_norm(const float *logits, int n_vocab, float *max, int *imax)
{
    float m = logits[0];
    int im = 0;
    for (int i = 1; i < n_vocab; i++)
        if (logits[i] > m) {
            m = logits[i];
            im = i;
        }
    double sum = 0.0;
    for (int i = 0; i < n_vocab; i++)
        sum += expf(logits[i] - m);
    *max = m;
    *imax = im;
    return log(sum);
}

#endif
