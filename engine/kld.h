/* kld.h — KL divergence of a run's token distributions from a base run's
 * (llama.cpp's `--kl-divergence` statistics), token by token.
 *
 * For each scored token the base distribution comes from a logits-file
 * record (logits_file.h), the compared one from the logits:
 *   nll       = -log p(tok)           nll_base = -log p_base(tok)
 *   KLD       = sum_i p_base(i) (log p_base(i) - log p(i)), over the i with
 *               log p_base(i) > -16
 *   same top  = argmax logits == argmax base (first maximum each)
 *   Δp        = p(tok) - p_base(tok)
 * with llama.cpp's precision: log-softmax in float with the exp sum in
 * double, sums in double. kld_summarize gives the means with their
 * uncertainties and the percentiles (linear interpolation between the
 * sorted values) llama.cpp prints; where llama.cpp would divide by zero
 * (one token, Δp all zero, no spread) the uncertainty or correlation is 0.
 */
#ifndef PRECIS_KLD_H
#define PRECIS_KLD_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "engine/logit_norm.h"

typedef struct kld_acc {
    double sum_nll, sum_nll2, sum_nll_base, sum_nll_base2, sum_nll_nll_base;
    double sum_kld, sum_kld2, sum_p_diff, sum_p_diff2, sum_p_diff4;
    float max_p_diff;     /* largest |Δp| */
    size_t n_same_top, count, cap;
    float *kld_values;    /* per token, in order */
    float *p_diff_values;
} kld_acc;

/* Room for cap tokens. */
int kld_acc_init(kld_acc *a, size_t cap, perr *err);
void kld_acc_free(kld_acc *a);

/* Adds one token: logits (n_vocab) and their normaliser (logit_norm), its
 * base record, the token that followed. Returns -1 when the accumulator is
 * full. */
int kld_acc_add(kld_acc *a, const float *logits, const logit_row_norm *norm, int n_vocab,
                const uint16_t *base_rec, int32_t tok);

/* A mean and its standard error, as llama.cpp computes them. */
typedef struct kld_value {
    double val, unc;
} kld_value;

/* Running figures (llama.cpp's per-chunk line). */
typedef struct kld_running {
    kld_value ppl, log_ppl_ratio, kld, p_diff_rms, same_top;
} kld_running;

void kld_running_of(const kld_acc *a, kld_running *r);

#define KLD_N_PCT 9  /* 99.9 99 95 90 median 10 5 1 0.1 */
#define DP_N_PCT 11  /* 99.9 99 95 90 75 median 25 10 5 1 0.1 */

typedef struct kld_summary {
    size_t count;
    kld_value ppl, ppl_base, log_ppl_ratio, ppl_ratio, ppl_diff;
    double log_ppl_cor;
    kld_value kld;
    float kld_max, kld_min, kld_pct[KLD_N_PCT];
    kld_value p_diff, p_diff_rms, same_top;
    float p_diff_max, p_diff_min, p_diff_pct[DP_N_PCT];
} kld_summary;

/* Sorts the accumulator's values in place (count >= 1). */
void kld_summarize(kld_acc *a, kld_summary *s);

/* Percentile of sorted values (n >= 1): linear between neighbours. */
float kld_percentile(const float *sorted, size_t n, float fraction);

#endif
