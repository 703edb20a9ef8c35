/* kld.c — llama.cpp's KL-divergence statistics (see kld.h). */
#include "engine/kld.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/logit_norm.h"
#include "engine/logits_file.h"

int kld_acc_init(kld_acc *a, size_t cap, perr *err)
{
    memset(a, 0, sizeof *a);
    a->kld_values = malloc((cap ? cap : 1) * sizeof *a->kld_values);
    a->p_diff_values = malloc((cap ? cap : 1) * sizeof *a->p_diff_values);
    if (!a->kld_values || !a->p_diff_values) {
        kld_acc_free(a);
        return perr_set(err, "out of memory for %zu token statistics", cap);
    }
    a->cap = cap;
    return 0;
}

void kld_acc_free(kld_acc *a)
{
    free(a->kld_values);
    free(a->p_diff_values);
    memset(a, 0, sizeof *a);
}

/* sum_i p_base(i) (log p_base(i) - log p(i)) and the base's best token;
 * log_norm = max + lse, so log p(i) = logits[i] - log_norm. */
static double token_kld(const float *logits, int n_vocab, const uint16_t *rec, float log_norm,
                        int *imax_base)
{
    float scale, floor;
    logits_record_scale(rec, &scale, &floor);
    const uint16_t *q = rec + 4;
    double sum = 0.0;
    float best = 0;
    for (int i = 0; i < n_vocab; i++) {
        const float lp_base = scale * q[i] + floor;
        if (i == 0 || lp_base > best) {
            best = lp_base;
            *imax_base = i;
        }
        if (lp_base > -16.f) {
            const float p_base = expf(lp_base);
            sum += p_base * (lp_base - logits[i] + log_norm);
        }
    }
    return sum;
}

int kld_acc_add(kld_acc *a, const float *logits, const logit_row_norm *norm, int n_vocab,
                const uint16_t *base_rec, int32_t tok)
{
    if (a->count >= a->cap)
        return -1;
    float scale, floor;
    const float max = norm->max, lse = (float)norm->lse;
    const int imax = norm->imax;
    int imax_base = 0;
    logits_record_scale(base_rec, &scale, &floor);

    const float nll = max + lse - logits[tok];
    const float nll_base = -(scale * base_rec[4 + tok] + floor);
    a->sum_nll += nll;
    a->sum_nll2 += nll * nll;
    a->sum_nll_base += nll_base;
    a->sum_nll_base2 += nll_base * nll_base;
    a->sum_nll_nll_base += nll * nll_base;

    const double kld = token_kld(logits, n_vocab, base_rec, max + lse, &imax_base);
    a->sum_kld += kld;
    a->sum_kld2 += kld * kld;
    if (imax == imax_base)
        a->n_same_top++;

    const float p_diff = expf(-nll) - expf(-nll_base);
    const double p_diff2 = p_diff * p_diff;
    a->sum_p_diff += p_diff;
    a->sum_p_diff2 += p_diff2;
    a->sum_p_diff4 += p_diff2 * p_diff2;
    if (fabsf(p_diff) > a->max_p_diff)
        a->max_p_diff = fabsf(p_diff);
    a->kld_values[a->count] = (float)kld;
    a->p_diff_values[a->count] = p_diff;
    a->count++;
    return 0;
}

static kld_value mean_unc(double sum, double sum2, size_t count)
{
    if (count < 1)
        return (kld_value){ 0, 0 };
    double f = sum / (double)count;
    double var = sum2 / (double)count - f * f;
    return (kld_value){ f, var > 0 && count > 10 ? sqrt(var / (double)(count - 1)) : 0. };
}

static double covariance(double sa, double sb, double sab, size_t count)
{
    if (count < 10)
        return 0.0;
    double n = (double)count;
    return (sab / n - (sa / n) * (sb / n)) / (n - 1);
}

static kld_value same_top(const kld_acc *a)
{
    double p = (double)a->n_same_top / (double)a->count;
    return (kld_value){ p, a->count > 1 ? sqrt(p * (1 - p) / (double)(a->count - 1)) : 0. };
}

static kld_value p_diff_rms(const kld_acc *a)
{
    kld_value mse = mean_unc(a->sum_p_diff2, a->sum_p_diff4, a->count);
    double rms = sqrt(mse.val);
    return (kld_value){ rms, rms > 0 ? 0.5 / rms * mse.unc : 0. };
}

/* Mean ln(PPL(Q)/PPL(base)) with the covariance of the two taken out. */
static kld_value log_ratio(const kld_acc *a, kld_value lq, kld_value lb)
{
    double cov = covariance(a->sum_nll, a->sum_nll_base, a->sum_nll_nll_base, a->count);
    return (kld_value){ lq.val - lb.val, sqrt(lq.unc * lq.unc + lb.unc * lb.unc - 2.0 * cov) };
}

void kld_running_of(const kld_acc *a, kld_running *r)
{
    kld_value lq = mean_unc(a->sum_nll, a->sum_nll2, a->count);
    kld_value lb = mean_unc(a->sum_nll_base, a->sum_nll_base2, a->count);
    double ppl = exp(lq.val);
    r->ppl = (kld_value){ ppl, ppl * lq.unc };
    r->log_ppl_ratio = log_ratio(a, lq, lb);
    r->kld = mean_unc(a->sum_kld, a->sum_kld2, a->count);
    r->p_diff_rms = p_diff_rms(a);
    r->same_top = same_top(a);
}

float kld_percentile(const float *sorted, size_t n, float fraction)
{
    if (fraction <= 0)
        return sorted[0];
    if (fraction >= 1)
        return sorted[n - 1];
    float p = fraction * (float)(n - 1);
    size_t ip = (size_t)p;
    p -= (float)ip;
    size_t next = ip + 1 < n ? ip + 1 : n - 1;
    return (1 - p) * sorted[ip] + p * sorted[next];
}

static float median(const float *sorted, size_t n)
{
    return n % 2 == 0 ? 0.5f * (sorted[n / 2] + sorted[n / 2 - 1]) : sorted[n / 2];
}

static int cmp_float(const void *x, const void *y)
{
    float a = *(const float *)x, b = *(const float *)y;
    return (a > b) - (a < b);
}

static void summarize_ppl(const kld_acc *a, kld_summary *s)
{
    kld_value lq = mean_unc(a->sum_nll, a->sum_nll2, a->count);
    kld_value lb = mean_unc(a->sum_nll_base, a->sum_nll_base2, a->count);
    double cov = covariance(a->sum_nll, a->sum_nll_base, a->sum_nll_nll_base, a->count);
    s->ppl = (kld_value){ exp(lq.val), exp(lq.val) * lq.unc };
    s->ppl_base = (kld_value){ exp(lb.val), exp(lb.val) * lb.unc };
    s->log_ppl_cor = lq.unc * lb.unc > 0 ? cov / (lq.unc * lb.unc) : 0.;
    s->log_ppl_ratio = log_ratio(a, lq, lb);
    double ratio = exp(s->log_ppl_ratio.val);
    s->ppl_ratio = (kld_value){ ratio, ratio * s->log_ppl_ratio.unc };
    double ppl_cov = s->ppl.val * s->ppl_base.val * cov;
    s->ppl_diff = (kld_value){ s->ppl.val - s->ppl_base.val,
                               sqrt(s->ppl.unc * s->ppl.unc + s->ppl_base.unc * s->ppl_base.unc -
                                    2.0 * ppl_cov) };
}

void kld_summarize(kld_acc *a, kld_summary *s)
{
    static const float kld_fr[KLD_N_PCT] = { 0.999f, 0.990f, 0.950f, 0.900f, 0.5f,
                                             0.100f, 0.050f, 0.010f, 0.001f };
    static const float dp_fr[DP_N_PCT] = { 0.999f, 0.990f, 0.950f, 0.900f, 0.750f, 0.5f,
                                           0.250f, 0.100f, 0.050f, 0.010f, 0.001f };
    memset(s, 0, sizeof *s);
    size_t n = a->count;
    s->count = n;
    summarize_ppl(a, s);
    qsort(a->kld_values, n, sizeof *a->kld_values, cmp_float);
    qsort(a->p_diff_values, n, sizeof *a->p_diff_values, cmp_float);
    s->kld = mean_unc(a->sum_kld, a->sum_kld2, n);
    s->kld_max = a->kld_values[n - 1];
    s->kld_min = a->kld_values[0];
    for (int i = 0; i < KLD_N_PCT; i++)
        s->kld_pct[i] = kld_fr[i] == 0.5f ? median(a->kld_values, n)
                                          : kld_percentile(a->kld_values, n, kld_fr[i]);
    s->p_diff = mean_unc(a->sum_p_diff, a->sum_p_diff2, n);
    s->p_diff_rms = p_diff_rms(a);
    s->same_top = same_top(a);
    s->p_diff_max = a->p_diff_values[n - 1];
    s->p_diff_min = a->p_diff_values[0];
    for (int i = 0; i < DP_N_PCT; i++)
        s->p_diff_pct[i] = dp_fr[i] == 0.5f ? median(a->p_diff_values, n)
                                            : kld_percentile(a->p_diff_values, n, dp_fr[i]);
}
