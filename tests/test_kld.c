/* test_kld.c — llama.cpp's KL-divergence base file and statistics: the
 * arithmetic on hand-made logits, the file both ways against one written by
 * ik_llama.cpp (tests/fixtures/stories260K-c64.kld, see
 * tests/fixtures/README.md), and broken files refused with a message. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kld.h"
#include "engine/logits_file.h"
#include "engine/tokenizer/tokenizer.h"
#include "tests/support.h"

#define IK_FIXTURE "tests/fixtures/stories260K-c64.kld"
#define IK_N_CTX 64
#define IK_N_CHUNK 4
#define IK_HEADER_BYTES (20 + IK_N_CTX * IK_N_CHUNK * 4)

/* ---- arithmetic on hand-made logits ------------------------------------- */

/* One token: the base distribution's record from base logits, then the
 * compared logits added. */
static void add_token(kld_acc *a, const float *base, const float *q, int32_t tok)
{
    uint16_t rec[LOGITS_RECORD_LEN(4)];
    const logit_row_norm nb = logit_norm(base, 4), nq = logit_norm(q, 4);
    logits_record_encode(base, &nb, 4, tok, rec);
    cr_assert_eq(kld_acc_add(a, q, &nq, 4, rec, tok), 0);
}

Test(kld, hand_made_logits_give_hand_computed_statistics)
{
    kld_acc a;
    perr err;
    cr_assert_eq(kld_acc_init(&a, 3, &err), 0);
    const float ln2 = logf(2), ln3 = logf(3), ln4 = logf(4);
    /* 1: base p = .1 .2 .3 .4, compared p = .4 .3 .2 .1, token 2.
     *    KLD = .1 ln(.1/.4) + .2 ln(.2/.3) + .3 ln(.3/.2) + .4 ln(.4/.1)
     *        = .3 ln 4 + .1 ln 1.5 = 0.4564348; top 3 vs 0: differ;
     *    Δp = .2 - .3 = -0.1 */
    const float b1[4] = { 0, ln2, ln3, ln4 }, q1[4] = { ln4, ln3, ln2, 0 };
    add_token(&a, b1, q1, 2);
    /* 2: the same logits: KLD 0, same top, Δp 0 */
    add_token(&a, b1, b1, 3);
    /* 3: base uniform (scale 0), compared p = .4 .2 .2 .2, token 1.
     *    KLD = .25 ln(.25/.4) + .75 ln(.25/.2) = 0.0498568; top 0 both
     *    (first maximum); Δp = .2 - .25 = -0.05 */
    const float b3[4] = { 0, 0, 0, 0 }, q3[4] = { ln2, 0, 0, 0 };
    add_token(&a, b3, q3, 1);
    cr_assert_eq(kld_acc_add(&a, q3, NULL, 4, NULL, 1), -1, "full after 3");

    kld_summary s;
    kld_summarize(&a, &s);
    cr_assert_eq(s.count, 3);
    cr_expect_float_eq(s.kld.val, (0.4564348 + 0 + 0.0498568) / 3, 1e-4);
    cr_expect_float_eq(s.kld_max, 0.4564348, 1e-4);
    cr_expect_float_eq(s.kld_min, 0.0, 1e-4);
    cr_expect_float_eq(s.kld_pct[4], 0.0498568, 1e-4, "median");
    /* 90 %: position .9 x 2 = 1.8 -> .2 x 0.0498568 + .8 x 0.4564348 */
    cr_expect_float_eq(s.kld_pct[3], 0.3751192, 1e-4, "90%% %f", s.kld_pct[3]);
    cr_expect_float_eq(s.same_top.val, 2.0 / 3, 1e-12);
    cr_expect_float_eq(s.p_diff.val, -0.05, 1e-4);
    cr_expect_float_eq(s.p_diff_min, -0.1, 1e-4);
    cr_expect_float_eq(s.p_diff_max, 0.0, 1e-4);
    cr_expect_float_eq(s.p_diff_rms.val, sqrt((0.01 + 0.0025) / 3), 1e-4);
    /* PPL(Q) = exp(mean(-ln .2, -ln .4, -ln .2)), PPL(base) with .3 .4 .25 */
    cr_expect_float_eq(s.ppl.val, exp(-(log(.2) + log(.4) + log(.2)) / 3), 1e-3);
    cr_expect_float_eq(s.ppl_base.val, exp(-(log(.3) + log(.4) + log(.25)) / 3), 1e-3);
    cr_expect_float_eq(s.log_ppl_ratio.val, log(s.ppl.val / s.ppl_base.val), 1e-6);
    kld_acc_free(&a);
}

Test(kld, one_identical_token_gives_finite_statistics)
{
    kld_acc a;
    perr err;
    cr_assert_eq(kld_acc_init(&a, 1, &err), 0);
    const float l[4] = { 0, 0, 0, 0 }; /* record scale 0: Δp exactly 0 */
    add_token(&a, l, l, 0);
    kld_summary s;
    kld_summarize(&a, &s);
    const double v[] = { s.kld.val, s.kld.unc, s.same_top.unc, s.p_diff_rms.val,
                         s.p_diff_rms.unc, s.log_ppl_cor, s.ppl_diff.unc };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        cr_expect(isfinite(v[i]), "value %zu is %f", i, v[i]);
    cr_expect_float_eq(s.same_top.val, 1.0, 0);
    kld_acc_free(&a);
}

Test(kld, percentiles_interpolate_between_sorted_values)
{
    float v[101];
    for (int i = 0; i <= 100; i++)
        v[i] = (float)i;
    cr_expect_float_eq(kld_percentile(v, 101, 0.999f), 99.9f, 1e-3);
    cr_expect_float_eq(kld_percentile(v, 101, 0.05f), 5.0f, 1e-3);
    cr_expect_float_eq(kld_percentile(v, 101, 0.f), 0.0f, 0);
    cr_expect_float_eq(kld_percentile(v, 101, 1.f), 100.0f, 0);
    float w[4] = { 1, 2, 4, 8 };
    /* .5 x 3 = 1.5: halfway between 2 and 4 */
    cr_expect_float_eq(kld_percentile(w, 4, 0.5f), 3.0f, 1e-6);
}

Test(kld, record_keeps_log_probabilities_down_to_24_below_the_best)
{
    const float logits[3] = { 0.f, logf(3.f), -100.f };
    uint16_t rec[LOGITS_RECORD_LEN(3)];
    cr_assert_eq(sizeof rec / sizeof rec[0], 4 + 4, "3 values padded to 4, after 2 floats");
    const logit_row_norm norm = logit_norm(logits, 3);
    double nll = logits_record_encode(logits, &norm, 3, 0, rec);
    float scale, floor;
    logits_record_scale(rec, &scale, &floor);
    /* p = 1/4, 3/4, ~0 */
    cr_expect_float_eq(nll, log(4.0), 1e-5);
    cr_expect_float_eq(scale, 24.f / 65535.f, 1e-9);
    cr_expect_float_eq(floor, logf(3.f) - 24.f - logf(4.f), 1e-5);
    cr_expect_float_eq(scale * rec[4] + floor, logf(0.25f), 1e-4);
    cr_expect_eq(rec[5], 65535);
    cr_expect_eq(rec[6], 0, "below the floor");
    cr_expect_eq(rec[7], 0, "padding");
}

/* ---- the format against ik_llama.cpp ------------------------------------- */

Test(kld, reads_the_file_ik_llama_cpp_wrote)
{
    logits_base b;
    perr err;
    cr_assert_eq(logits_base_open(&b, IK_FIXTURE, &err), 0, "%s", err.msg);
    cr_assert_eq(b.n_ctx, IK_N_CTX);
    cr_assert_eq(b.n_vocab, 512);
    cr_assert_eq(b.n_chunk, IK_N_CHUNK);

    /* the tokens are ours for the same text */
    tokenizer *tok = test_load_tokenizer("stories260K.gguf");
    char *text_path = test_model_path("reference/ppl.txt");
    size_t len, n_ids;
    char *text = test_read_file(text_path, &len);
    int32_t *ids;
    cr_assert_eq(tokenizer_encode(tok, text, len, 1, 0, &ids, &n_ids, &err), 0, "%s", err.msg);
    cr_assert_geq(n_ids, (size_t)(IK_N_CTX * IK_N_CHUNK));
    cr_assert_arr_eq(b.tokens, ids, IK_N_CTX * IK_N_CHUNK * sizeof *ids);

    /* every record is a distribution */
    int n = 0;
    while (n < IK_N_CHUNK * LOGITS_SCORED(IK_N_CTX)) {
        cr_assert_eq(logits_base_next(&b, &err), 0, "record %d: %s", n, err.msg);
        float scale, floor;
        logits_record_scale(b.rec, &scale, &floor);
        double sum = 0;
        for (int i = 0; i < b.n_vocab; i++)
            sum += exp(scale * b.rec[4 + i] + floor);
        cr_expect_float_eq(sum, 1.0, 1e-3, "record %d sums to %f", n, sum);
        n++;
    }
    cr_assert_neq(logits_base_next(&b, &err), 0, "no record past the end");
    logits_base_close(&b);
    free(ids);
    free(text);
    free(text_path);
    tokenizer_free(tok);
}

/* The value of the output line starting with label, as a double. */
static double value_after(const char *out, const char *label)
{
    const char *p = strstr(out, label);
    cr_assert(p, "no '%s' in:\n%s", label, out);
    cr_assert(p == out || p[-1] == '\n', "'%s' does not start a line", label);
    return strtod(p + strlen(label), NULL);
}

Test(kld, compares_with_ik_llama_cpp_file_near_zero)
{
    char *model = test_model_path("stories260K.gguf");
    char *out;
    cr_assert_eq(test_run_precis(&out, "perplexity -m %s --kl-divergence-base %s --kl-divergence -t 2",
                                 model, IK_FIXTURE), 0, "%s", out);
    static const char *const labels[] = {
        "chunk             PPL               ln(PPL(Q)/PPL(base))",
        "====== Perplexity statistics ======", "Mean PPL(Q)                   : ",
        "Mean PPL(base)                : ", "Cor(ln(PPL(Q)), ln(PPL(base))): ",
        "====== KL divergence statistics ======", "Maximum KLD: ", "99.9%   KLD: ",
        "Median  KLD: ", " 0.1%   KLD: ", "Minimum KLD: ",
        "====== Token probability statistics ======", "Mean    \u0394p: ",
        "Maximum \u0394p: ", "75.0%   \u0394p: ", "Median  \u0394p: ", "Minimum \u0394p: ",
        "RMS \u0394p    : ",
    };
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
        value_after(out, labels[i]);
    double kld = value_after(out, "Mean    KLD: ");
    double same = value_after(out, "Same top p: ");
    double ratio = value_after(out, "Mean PPL(Q)/PPL(base)         : ");
    cr_log_info("against ik_llama.cpp's stories260K file: mean KLD %g, same top %g %%", kld,
                same);
    cr_expect_leq(fabs(kld), 1e-4, "mean KLD %g", kld);
    cr_expect_geq(same, 99.0, "same top %g %%", same);
    cr_expect_leq(fabs(ratio - 1), 1e-3, "PPL ratio %g", ratio);
    cr_assert(strstr(out, "   4 "), "a row per chunk:\n%s", out);
    free(out);
    free(model);
}

static char *read_bin(const char *path, size_t *len)
{
    return test_read_file(path, len);
}

Test(kld, writes_the_layout_ik_llama_cpp_writes)
{
    char *model = test_model_path("stories260K.gguf");
    char *text = test_model_path("reference/ppl.txt");
    char *mine = NULL, *out;
    cr_assert(asprintf(&mine, "%s/mine.kld", test_tmpdir()) > 0);
    cr_assert_eq(test_run_precis(&out, "perplexity -m %s -f %s -c %d --chunks %d -t 2 "
                                 "--kl-divergence-base %s", model, text, IK_N_CTX, IK_N_CHUNK,
                                 mine), 0, "%s", out);
    cr_assert(strstr(out, "Final estimate: PPL = "), "%s", out);
    size_t n_mine, n_ik;
    char *a = read_bin(mine, &n_mine), *b = read_bin(IK_FIXTURE, &n_ik);
    cr_assert_eq(n_mine, n_ik, "%zu bytes, ik_llama.cpp's %zu", n_mine, n_ik);
    cr_assert_arr_eq(a, b, IK_HEADER_BYTES, "header and tokens byte for byte");

    /* the records hold the same distributions (where the logits of two
     * engines differ most, on tokens far below the best, a log-probability
     * of -20 may differ by a few hundredths: compared as probabilities) */
    const size_t rec_bytes = LOGITS_RECORD_LEN(512) * 2;
    double worst = 0;
    for (size_t off = IK_HEADER_BYTES; off < n_ik; off += rec_bytes) {
        uint16_t ra[LOGITS_RECORD_LEN(512)], rb[LOGITS_RECORD_LEN(512)];
        memcpy(ra, a + off, rec_bytes);
        memcpy(rb, b + off, rec_bytes);
        float sa, fa, sb, fb;
        logits_record_scale(ra, &sa, &fa);
        logits_record_scale(rb, &sb, &fb);
        for (int i = 0; i < 512; i++) {
            double d = fabs(exp(sa * ra[4 + i] + fa) - exp(sb * rb[4 + i] + fb));
            worst = d > worst ? d : worst;
        }
    }
    cr_log_info("largest probability difference to ik_llama.cpp's file: %g", worst);
    cr_expect_leq(worst, 0.005, "probabilities differ by up to %g", worst);
    free(a);
    free(b);
    free(out);
    free(mine);
    free(text);
    free(model);
}

/* ---- broken files -------------------------------------------------------- */

/* The fixture with len bytes at off replaced by bytes (or cut at cut >= 0,
 * or extended by extra bytes), written to the test directory. */
static char *broken_copy(const char *name, size_t off, const void *bytes, size_t len, long cut,
                         size_t extra)
{
    size_t n;
    char *data = read_bin(IK_FIXTURE, &n);
    if (bytes)
        memcpy(data + off, bytes, len);
    size_t keep = cut >= 0 ? (size_t)cut : n;
    char *path = NULL;
    cr_assert(asprintf(&path, "%s/%s", test_tmpdir(), name) > 0);
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    cr_assert_eq(fwrite(data, 1, keep, f), keep);
    for (size_t i = 0; i < extra; i++)
        fputc(0, f);
    fclose(f);
    free(data);
    return path;
}

static void expect_open_error(const char *path, const char *want)
{
    logits_base b;
    perr err;
    cr_assert_neq(logits_base_open(&b, path, &err), 0, "%s opened", path);
    cr_expect(strstr(err.msg, want), "'%s' not in: %s", want, err.msg);
    cr_expect(strstr(err.msg, path), "path not in: %s", err.msg);
}

Test(kld, broken_files_are_refused_with_a_reason)
{
    char *p;
    p = broken_copy("truncated.kld", 0, NULL, 0, 129012 - 100, 0);
    expect_open_error(p, "truncated");
    free(p);
    p = broken_copy("header-only.kld", 0, NULL, 0, 14, 0);
    expect_open_error(p, "ends inside its header");
    free(p);
    p = broken_copy("empty.kld", 0, NULL, 0, 0, 0);
    expect_open_error(p, "not a llama.cpp logits file");
    free(p);
    p = broken_copy("long.kld", 0, NULL, 0, -1, 7);
    expect_open_error(p, "trailing bytes");
    free(p);
    p = broken_copy("magic.kld", 0, "_logitz_", 8, -1, 0);
    expect_open_error(p, "not a llama.cpp logits file");
    free(p);
    const int32_t zero = 0, huge = 0x7fffffff, minus = -3, big_tok = 512;
    p = broken_copy("ctx.kld", 8, &zero, 4, -1, 0);
    expect_open_error(p, "n_ctx 0");
    free(p);
    p = broken_copy("vocab.kld", 12, &huge, 4, -1, 0);
    expect_open_error(p, "n_vocab 2147483647");
    free(p);
    p = broken_copy("chunks.kld", 16, &huge, 4, -1, 0);
    expect_open_error(p, "truncated");
    free(p);
    p = broken_copy("neg.kld", 16, &minus, 4, -1, 0);
    expect_open_error(p, "n_chunk -3");
    free(p);
    p = broken_copy("token.kld", 20 + 4 * 5, &big_tok, 4, -1, 0);
    expect_open_error(p, "token 5 is 512");
    free(p);
    expect_open_error("/nonexistent/base.kld", "No such file");
}

Test(kld, corrupt_record_is_refused_with_a_reason)
{
    const float bad = NAN;
    size_t rec2 = IK_HEADER_BYTES + 2 * LOGITS_RECORD_LEN(512) * 2;
    char *p = broken_copy("nan.kld", rec2, &bad, 4, -1, 0);
    logits_base b;
    perr err;
    cr_assert_eq(logits_base_open(&b, p, &err), 0, "%s", err.msg);
    cr_assert_eq(logits_base_next(&b, &err), 0, "%s", err.msg);
    cr_assert_eq(logits_base_next(&b, &err), 0, "%s", err.msg);
    cr_assert_neq(logits_base_next(&b, &err), 0);
    cr_expect(strstr(err.msg, "record 3 of 124"), "%s", err.msg);
    cr_expect(strstr(err.msg, "corrupt"), "%s", err.msg);
    logits_base_close(&b);

    /* and through the command: exit 1, the message, no crash */
    char *model = test_model_path("stories260K.gguf");
    char *out;
    cr_assert_eq(test_run_precis(&out, "perplexity -m %s --kl-divergence-base %s --kl-divergence -t 1",
                                 model, p), 1, "%s", out);
    cr_expect(strstr(out, "chunk 1: base record 3 of 124"), "%s", out);
    free(out);
    free(model);
    free(p);
}

Test(kld, base_of_another_vocabulary_is_refused)
{
    char *model = test_model_path("llama-2-tiny-random.gguf");
    char *out;
    cr_assert_eq(test_run_precis(&out, "perplexity -m %s --kl-divergence-base %s --kl-divergence",
                                 model, IK_FIXTURE), 1, "%s", out);
    cr_expect(strstr(out, "its vocabulary has 512 tokens, the model's 32000"), "%s", out);
    free(out);
    cr_assert_eq(test_run_precis(&out, "perplexity -m %s --kl-divergence", model), 2, "%s", out);
    cr_expect(strstr(out, "--kl-divergence needs --kl-divergence-base"), "%s", out);
    free(out);
    free(model);
}
