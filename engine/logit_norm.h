/* logit_norm.h — the log-softmax normaliser of one row of logits, shared by
 * perplexity (perplexity.c), the KL-divergence base file (logits_file.c)
 * and its statistics (kld.c): log p(i) = logits[i] - max - lse. Perplexity
 * computes it once per scored token and hands it to its token hook.
 */
#ifndef PRECIS_LOGIT_NORM_H
#define PRECIS_LOGIT_NORM_H

#include <math.h>

typedef struct logit_row_norm {
    float max;   /* the largest logit */
    int imax;    /* its index (the first when several tie) */
    double lse;  /* log sum_i exp(logits[i] - max) */
} logit_row_norm;

/* The sum taken in double as llama.cpp's perplexity tool does. n_vocab >= 1. */
static inline logit_row_norm logit_norm(const float *logits, int n_vocab)
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
    return (logit_row_norm){ m, im, log(sum) };
}

#endif
