/* kld_report.c — llama.cpp's KL-divergence output layout (see kld_report.h). */
#include "tools/kld_report.h"

void kld_report_chunk_header(FILE *out)
{
    fprintf(out, "\nchunk             PPL               ln(PPL(Q)/PPL(base))          "
                 "KL Divergence              \u0394p RMS            Same top p\n");
}

void kld_report_chunk(FILE *out, int chunk, const kld_running *r)
{
    fprintf(out, "%4d", chunk);
    fprintf(out, "    %9.4f \u00b1 %9.4f", r->ppl.val, r->ppl.unc);
    fprintf(out, "    %10.5f \u00b1 %10.5f", r->log_ppl_ratio.val, r->log_ppl_ratio.unc);
    fprintf(out, "    %10.5f \u00b1 %10.5f", r->kld.val, r->kld.unc);
    fprintf(out, "    %6.3f \u00b1 %6.3f %%", 100.0 * r->p_diff_rms.val, 100.0 * r->p_diff_rms.unc);
    fprintf(out, "    %6.3f \u00b1 %6.3f %%", 100.0 * r->same_top.val, 100.0 * r->same_top.unc);
    fprintf(out, "\n");
}

static void ppl_section(FILE *out, const kld_summary *s)
{
    fprintf(out, "====== Perplexity statistics ======\n");
    fprintf(out, "Mean PPL(Q)                   : %10.6f \u00b1 %10.6f\n", s->ppl.val, s->ppl.unc);
    fprintf(out, "Mean PPL(base)                : %10.6f \u00b1 %10.6f\n", s->ppl_base.val,
            s->ppl_base.unc);
    fprintf(out, "Cor(ln(PPL(Q)), ln(PPL(base))): %6.2f%%\n", 100.0 * s->log_ppl_cor);
    fprintf(out, "Mean ln(PPL(Q)/PPL(base))     : %10.6f \u00b1 %10.6f\n", s->log_ppl_ratio.val,
            s->log_ppl_ratio.unc);
    fprintf(out, "Mean PPL(Q)/PPL(base)         : %10.6f \u00b1 %10.6f\n", s->ppl_ratio.val,
            s->ppl_ratio.unc);
    fprintf(out, "Mean PPL(Q)-PPL(base)         : %10.6f \u00b1 %10.6f\n", s->ppl_diff.val,
            s->ppl_diff.unc);
    fprintf(out, "\n");
}

static void kld_section(FILE *out, const kld_summary *s)
{
    static const char *const label[KLD_N_PCT] = { "99.9%   KLD", "99.0%   KLD", "95.0%   KLD",
                                                  "90.0%   KLD", "Median  KLD", "10.0%   KLD",
                                                  " 5.0%   KLD", " 1.0%   KLD", " 0.1%   KLD" };
    fprintf(out, "====== KL divergence statistics ======\n");
    fprintf(out, "Mean    KLD: %10.6f \u00b1 %10.6f\n", s->kld.val, s->kld.unc);
    fprintf(out, "Maximum KLD: %10.6f\n", s->kld_max);
    for (int i = 0; i < KLD_N_PCT; i++)
        fprintf(out, "%s: %10.6f\n", label[i], s->kld_pct[i]);
    fprintf(out, "Minimum KLD: %10.6f\n", s->kld_min);
    fprintf(out, "\n");
}

static void p_diff_section(FILE *out, const kld_summary *s)
{
    static const char *const label[DP_N_PCT] = {
        "99.9%   \u0394p", "99.0%   \u0394p", "95.0%   \u0394p", "90.0%   \u0394p",
        "75.0%   \u0394p", "Median  \u0394p", "25.0%   \u0394p", "10.0%   \u0394p",
        " 5.0%   \u0394p", " 1.0%   \u0394p", " 0.1%   \u0394p"
    };
    fprintf(out, "====== Token probability statistics ======\n");
    fprintf(out, "Mean    \u0394p: %6.3f \u00b1 %5.3f %%\n", 100.0 * s->p_diff.val,
            100.0 * s->p_diff.unc);
    fprintf(out, "Maximum \u0394p: %6.3f%%\n", 100.0 * s->p_diff_max);
    for (int i = 0; i < DP_N_PCT; i++)
        fprintf(out, "%s: %6.3f%%\n", label[i], 100.0 * s->p_diff_pct[i]);
    fprintf(out, "Minimum \u0394p: %6.3f%%\n", 100.0 * s->p_diff_min);
    fprintf(out, "RMS \u0394p    : %6.3f \u00b1 %5.3f %%\n", 100.0 * s->p_diff_rms.val,
            100.0 * s->p_diff_rms.unc);
    fprintf(out, "Same top p: %6.3f \u00b1 %5.3f %%\n", 100.0 * s->same_top.val,
            100.0 * s->same_top.unc);
}

void kld_report_summary(FILE *out, const kld_summary *s)
{
    ppl_section(out, s);
    kld_section(out, s);
    p_diff_section(out, s);
}
