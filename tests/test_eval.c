/* test_eval.c — evaluation arithmetic (pipeline/eval/): set F1, precision and
 * recall, type-7 percentiles, the seeded bootstrap; the consultation scores
 * on tiny files computed by hand; and `precis eval consultation --predicted`
 * end to end on files derived from the corpus's themefinder expectations;
 * a consultation run turned into predictions (what model mode will score). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pipeline/consultation/consultation_eval.h"
#include "pipeline/eval/eval_bootstrap.h"
#include "pipeline/eval/eval_consultation.h"
#include "pipeline/eval/eval_metrics.h"
#include "pipeline/eval/eval_rng.h"
#include "tests/support.h"

#define NEAR(a, b) (fabs((a) - (b)) < 1e-12)

/* ---- metrics ------------------------------------------------------------------ */

Test(eval, set_f1_precision_recall_and_their_edge_cases)
{
    cr_assert_eq(eval_set_f1(0, 0, 0), 1.0, "both empty: right");
    cr_assert_eq(eval_set_f1(0, 1, 0), 0.0, "predicted something where nothing was expected");
    cr_assert_eq(eval_set_f1(0, 0, 2), 0.0, "predicted nothing");
    cr_assert(NEAR(eval_set_f1(1, 2, 1), 2.0 / 3), "2*1/(2+1)");
    cr_assert(NEAR(eval_set_f1(1, 1, 3), 0.5), "2*1/(1+3)");
    cr_assert_eq(eval_set_f1(2, 2, 2), 1.0);
    cr_assert(NEAR(eval_precision(1, 3), 0.25));
    cr_assert(isnan(eval_precision(0, 0)), "nothing predicted: undefined, not 0");
    cr_assert(NEAR(eval_recall(3, 1), 0.75));
    cr_assert(isnan(eval_recall(0, 0)));
    double x[] = {1, 2, 3, 6};
    cr_assert_eq(eval_mean(x, 4), 3.0);
    cr_assert(isnan(eval_mean(x, 0)));
}

Test(eval, percentile_is_type_7)
{
    double x[] = {1, 2, 3, 4};
    /* h = (n-1)p: p .5 -> h 1.5 -> 2 + .5(3-2); p .025 -> h .075; p .975 -> h 2.925 */
    cr_assert(NEAR(eval_percentile(x, 4, 0.5), 2.5));
    cr_assert(NEAR(eval_percentile(x, 4, 0.025), 1.075));
    cr_assert(NEAR(eval_percentile(x, 4, 0.975), 3.925));
    cr_assert_eq(eval_percentile(x, 4, 0), 1.0);
    cr_assert_eq(eval_percentile(x, 4, 1), 4.0);
    cr_assert_eq(eval_percentile(x, 1, 0.3), 1.0);
}

Test(eval, rng_is_splitmix64_and_local)
{
    /* splitmix64's published first output for state 0. */
    eval_rng r = eval_rng_seeded(0);
    cr_assert_eq(eval_rng_next(&r), 0xE220A8397B1DCDAFULL);
    eval_rng a = eval_rng_seeded(7), b = eval_rng_seeded(7);
    int seen[5] = {0};
    for (int i = 0; i < 200; i++) {
        size_t v = eval_rng_below(&a, 5);
        cr_assert_lt(v, 5);
        cr_assert_eq(v, eval_rng_below(&b, 5), "same seed, same stream");
        seen[v] = 1;
    }
    for (int v = 0; v < 5; v++)
        cr_assert(seen[v], "value %d drawn", v);
}

/* ---- bootstrap ---------------------------------------------------------------- */

Test(eval, bootstrap_is_deterministic_and_brackets_the_mean)
{
    /* The per-response F1 of the hand case below, padded to 12 items. */
    double x[] = {2.0 / 3, 1, 0, 0, 1, 1, 0.5, 0.8, 1, 0, 1, 0.4};
    double mean = eval_mean(x, 12), ci[2], again[2], other[2];
    perr err;
    eval_bootstrap_options o = eval_bootstrap_defaults();
    cr_assert_eq(o.resamples, 1000);
    cr_assert_eq(eval_bootstrap_mean_ci(x, 12, &o, ci, &err), 0, "%s", err.msg);
    cr_assert_eq(eval_bootstrap_mean_ci(x, 12, NULL, again, &err), 0, "%s", err.msg);
    cr_assert(ci[0] == again[0] && ci[1] == again[1], "fixed seed: the same interval every time");
    /* The interval an independent Python rendering of the same algorithm
     * (splitmix64 from EVAL_BOOTSTRAP_SEED, rejection draws, sums in draw
     * order, type-7 percentiles) gives: the seed is fixed across processes. */
    cr_assert(NEAR(ci[0], 0.38604166666666667) && NEAR(ci[1], 0.830625), "[%.17g, %.17g]", ci[0], ci[1]);
    cr_assert(ci[0] < mean && mean < ci[1], "[%g, %g] brackets %g", ci[0], ci[1], mean);
    cr_assert(ci[0] >= 0 && ci[1] <= 1);
    o.seed = 1;
    cr_assert_eq(eval_bootstrap_mean_ci(x, 12, &o, other, &err), 0, "%s", err.msg);
    cr_assert(other[0] != ci[0] || other[1] != ci[1], "the seed is used");
}

Test(eval, bootstrap_of_two_values_spans_both)
{
    /* x = {0, 1}: a resample's mean is 0, 0.5 or 1 with chances 1/4, 1/2, 1/4;
     * of 1,000 resamples about 250 are 0 and 250 are 1, so the 2.5th
     * percentile (rank 24.975) is 0 and the 97.5th (rank 974.025) is 1. */
    double x[] = {0, 1}, ci[2];
    perr err;
    cr_assert_eq(eval_bootstrap_mean_ci(x, 2, NULL, ci, &err), 0, "%s", err.msg);
    cr_assert_eq(ci[0], 0.0);
    cr_assert_eq(ci[1], 1.0);
}

Test(eval, bootstrap_of_equal_values_is_a_point)
{
    double half[7] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, one[3] = {1, 1, 1}, ci[2];
    perr err;
    cr_assert_eq(eval_bootstrap_mean_ci(half, 7, NULL, ci, &err), 0, "%s", err.msg);
    cr_assert(ci[0] == 0.5 && ci[1] == 0.5, "[%g, %g]", ci[0], ci[1]);
    cr_assert_eq(eval_bootstrap_mean_ci(one, 3, NULL, ci, &err), 0, "%s", err.msg);
    cr_assert(ci[0] == 1 && ci[1] == 1, "[%g, %g]", ci[0], ci[1]);
    cr_assert_eq(eval_bootstrap_mean_ci(one, 0, NULL, ci, &err), -1);
    eval_bootstrap_options bad = {.level = 1.5};
    cr_assert_eq(eval_bootstrap_mean_ci(one, 3, &bad, ci, &err), -1);
    cr_assert(strstr(err.msg, "level"), "%s", err.msg);
}

/* ---- consultation scores on a tiny hand case ---------------------------------- */

/* Themes A B C D; expected mapping and positions:
 *   1: {A, B} AGREE     predicted "1": {A} AGREE            F1 2*1/(1+2) = 2/3
 *   2: {B}    DISAGREE  predicted 2:   {B, B} AGREE          F1 1 (a set), exact
 *   3: {C}    UNCLEAR   no prediction                        F1 0, missing
 *   4: {A}    (none)    predicted 4:   {B, C, Z} null        F1 0
 *   predicted 9: {A} — not expected: extra, not scored.
 * mapping F1 = (2/3 + 1 + 0 + 0) / 4 = 5/12; exact match 1/4;
 * sentiment over 1-3: only 1 right = 1/3.
 * Per theme (support, predicted, tp, P, R):
 *   A 2 1 1 1 .5;  B 2 2 1 .5 .5;  C 1 1 0 0 0;  D 0 0 0 - -;  Z 0 1 0 0 -. */
static void write_tiny_case(char **dir, char **predicted)
{
    char *themes = test_write_tmp("q1_expected_themes.json",
                                  "[{\"topic_id\": \"A\", \"topic_label\": \"Alpha\", \"topic_description\": \"The first\"},"
                                  " {\"topic_id\": \"B\", "
                                  "\"topic_label\": \"Beta\"}, {\"topic_id\": \"C\", \"topic_label\": \"Gamma\"}, "
                                  "{\"topic_id\": \"D\", \"topic_label\": \"Delta\"}]");
    free(test_write_tmp("q1_expected_mapping.jsonl", "{\"response_id\": 1, \"labels\": [\"A\", \"B\"]}\n"
                                                     "{\"response_id\": 2, \"labels\": [\"B\"]}\n\n"
                                                     "{\"response_id\": 3, \"labels\": [\"C\"]}\n"
                                                     "{\"response_id\": 4, \"labels\": [\"A\"]}\n"));
    free(test_write_tmp("q1_expected_sentiment.jsonl", "{\"response_id\": 1, \"position\": \"AGREE\"}\n"
                                                       "{\"response_id\": 2, \"position\": \"DISAGREE\"}\n"
                                                       "{\"response_id\": 3, \"position\": \"UNCLEAR\"}\n"));
    *predicted = test_write_tmp("tiny_predicted.jsonl",
                                "{\"response_id\": \"1\", \"labels\": [\"A\"], \"position\": \"AGREE\"}\n"
                                "{\"response_id\": 2, \"labels\": [\"B\", \"B\"], \"position\": \"AGREE\"}\n"
                                "{\"response_id\": 4, \"labels\": [\"B\", \"C\", \"Z\"], \"position\": null}\n"
                                "{\"response_id\": 9, \"labels\": [\"A\"]}\n");
    *strrchr(themes, '/') = '\0';
    *dir = themes;
}

static void assert_theme(const eval_theme_score *s, const char *id, size_t support, size_t predicted, size_t tp,
                         double p, double r)
{
    cr_assert_str_eq(s->id, id);
    cr_assert_eq(s->support, support, "%s support", id);
    cr_assert_eq(s->predicted, predicted, "%s predicted", id);
    cr_assert_eq(s->tp, tp, "%s tp", id);
    cr_assert(isnan(p) ? isnan(s->precision) : NEAR(s->precision, p), "%s precision %g", id, s->precision);
    cr_assert(isnan(r) ? isnan(s->recall) : NEAR(s->recall, r), "%s recall %g", id, s->recall);
}

Test(eval, consultation_scores_by_hand)
{
    char *dir, *pred;
    write_tiny_case(&dir, &pred);
    eval_consultation_set set;
    eval_items predicted = {0};
    eval_consultation_report rep;
    perr err;
    cr_assert_eq(eval_consultation_load(dir, 1, &set, &err), 0, "%s", err.msg);
    cr_assert_eq(eval_items_read(pred, EVAL_NEED_LABELS, &predicted, &err), 0, "%s", err.msg);
    cr_assert_eq(eval_consultation_score(&set, &predicted, NULL, &rep, &err), 0, "%s", err.msg);
    cr_assert_eq(rep.n, 4);
    cr_assert(NEAR(rep.f1[0], 2.0 / 3) && rep.f1[1] == 1 && rep.f1[2] == 0 && rep.f1[3] == 0);
    cr_assert(NEAR(rep.mapping_f1, 5.0 / 12), "%g", rep.mapping_f1);
    cr_assert(NEAR(rep.exact_match, 0.25));
    cr_assert_eq(rep.missing, 1);
    cr_assert_eq(rep.extra, 1);
    cr_assert_eq(rep.n_sentiment, 3);
    cr_assert(NEAR(rep.sentiment_accuracy, 1.0 / 3));
    cr_assert(rep.mapping_f1_ci[0] <= rep.mapping_f1 && rep.mapping_f1 <= rep.mapping_f1_ci[1]);
    cr_assert_eq(rep.n_themes, 5);
    assert_theme(&rep.themes[0], "A", 2, 1, 1, 1, 0.5);
    assert_theme(&rep.themes[1], "B", 2, 2, 1, 0.5, 0.5);
    assert_theme(&rep.themes[2], "C", 1, 1, 0, 0, 0);
    assert_theme(&rep.themes[3], "D", 0, 0, 0, NAN, NAN);
    assert_theme(&rep.themes[4], "Z", 0, 1, 0, 0, NAN);
    cr_assert_str_eq(rep.themes[1].label, "Beta");
    cr_assert_str_eq(rep.themes[4].label, "", "not in the themes file");
    cr_assert_str_eq(set.themes[0].description, "The first", "kept for model mode's approved themes");
    cr_assert_str_eq(set.themes[1].description, "");
    char *json = eval_consultation_report_json(&rep);
    cJSON *j = cJSON_Parse(json);
    cr_assert(j, "%s", json);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "per_theme"), 3), "precision")),
              "undefined is null: %s", json);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "mapping_f1_ci")), 2);
    cJSON_Delete(j);
    free(json);
    eval_consultation_report_clear(&rep);
    eval_items_clear(&predicted);
    eval_consultation_set_clear(&set);
    free(dir);
    free(pred);
}

Test(eval, item_files_errors_name_the_line)
{
    static const struct {
        const char *text, *needle;
        int need;
    } cases[] = {
        {"{\"response_id\": 1, \"labels\": []}\n{\"response_id\": \"1\", \"labels\": []}\n",
         "line 2: response id \"1\" is a duplicate (first on line 1)", EVAL_NEED_LABELS},
        {"{\"response_id\": 1.5, \"labels\": []}\n", "line 1: no \"response_id\"", EVAL_NEED_LABELS},
        {"{\"response_id\": 1}\n", "line 1: no \"labels\" array", EVAL_NEED_LABELS},
        {"{\"response_id\": 1, \"labels\": [\"A\", 2]}\n", "line 1: \"labels\" must be an array of non-empty strings",
         EVAL_NEED_LABELS},
        {"\n{\"response_id\": 1, \"labels\": [\"A\"]\n", "line 2: not valid JSON", EVAL_NEED_LABELS},
        {"{\"response_id\": 1}\n", "line 1: no \"position\" string", EVAL_NEED_POSITION},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *path = test_write_tmp("bad.jsonl", cases[i].text);
        eval_items set = {0};
        perr err = {{0}};
        cr_assert_eq(eval_items_read(path, cases[i].need, &set, &err), -1, "case %zu", i);
        cr_assert(strstr(err.msg, cases[i].needle), "case %zu: '%s' lacks '%s'", i, err.msg, cases[i].needle);
        cr_assert(strstr(err.msg, path), "case %zu names the file: %s", i, err.msg);
        eval_items_clear(&set);
        free(path);
    }
}

/* ---- `precis eval consultation` end to end -------------------------------------- */

#define XS "consultation/themefinder_gambling_XS"

/* Predictions derived from the corpus's expected mapping and positions, ids
 * as strings: the first `drop` responses left out, the positions of the
 * next `flip` turned to "WRONG". */
static char *derived_predictions(const char *dir, int drop, int flip)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/q1_expected_mapping.jsonl", dir);
    char *mapping = test_read_file(path, NULL);
    snprintf(path, sizeof path, "%s/q1_expected_sentiment.jsonl", dir);
    char *sentiment = test_read_file(path, NULL);
    size_t cap = strlen(mapping) * 2 + 4096, len = 0;
    char *out = malloc(cap);
    char *m_save, *s_save;
    char *m = strtok_r(mapping, "\n", &m_save), *s = strtok_r(sentiment, "\n", &s_save);
    for (int i = 0; m && s; i++, m = strtok_r(NULL, "\n", &m_save), s = strtok_r(NULL, "\n", &s_save)) {
        cJSON *mo = cJSON_Parse(m), *so = cJSON_Parse(s);
        cr_assert(mo && so);
        cr_assert_eq(cJSON_GetObjectItem(mo, "response_id")->valueint, cJSON_GetObjectItem(so, "response_id")->valueint,
                     "the two files list the responses in the same order");
        if (i >= drop) {
            char id[32];
            snprintf(id, sizeof id, "%d", cJSON_GetObjectItem(mo, "response_id")->valueint);
            cJSON *p = cJSON_CreateObject();
            cJSON_AddStringToObject(p, "response_id", id);
            cJSON_AddItemToObject(p, "labels", cJSON_Duplicate(cJSON_GetObjectItem(mo, "labels"), 1));
            cJSON_AddStringToObject(p, "position",
                                    i < drop + flip ? "WRONG" : cJSON_GetObjectItem(so, "position")->valuestring);
            char *line = cJSON_PrintUnformatted(p);
            len += (size_t)snprintf(out + len, cap - len, "%s\n", line);
            free(line);
            cJSON_Delete(p);
        }
        cJSON_Delete(mo);
        cJSON_Delete(so);
    }
    free(mapping);
    free(sentiment);
    char name[64];
    snprintf(name, sizeof name, "predicted-%d-%d.jsonl", drop, flip);
    char *file = test_write_tmp(name, out);
    free(out);
    return file;
}

static cJSON *eval_json(const char *dir, const char *predicted)
{
    char cmd[8192], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s eval consultation --expected '%s' --predicted '%s' --json", test_precis_bin(), dir,
             predicted);
    int status = test_run(cmd, &out);
    cr_assert_eq(status, 0, "%s: exit %d: %s", cmd, status, out);
    cJSON *j = cJSON_Parse(out);
    cr_assert(j, "%s", out);
    free(out);
    return j;
}

Test(eval, cli_perfect_predictions_score_one, .timeout = 60)
{
    char *dir = test_corpus_path(XS);
    char *pred = derived_predictions(dir, 0, 0);
    cJSON *j = eval_json(dir, pred);
    cr_assert_eq(test_json_number(j, "n"), 100);
    cr_assert_eq(test_json_number(j, "mapping_f1"), 1.0);
    cr_assert_eq(test_json_number(j, "exact_match"), 1.0);
    cr_assert_eq(test_json_number(j, "sentiment_accuracy"), 1.0);
    cr_assert_eq(test_json_number(j, "n_sentiment"), 100);
    const cJSON *ci = cJSON_GetObjectItem(j, "mapping_f1_ci");
    cr_assert(cJSON_GetArrayItem(ci, 0)->valuedouble == 1 && cJSON_GetArrayItem(ci, 1)->valuedouble == 1);
    const cJSON *t;
    int themes = 0;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(j, "per_theme"))
    {
        themes++;
        if (test_json_number(t, "support") > 0)
            cr_assert(test_json_number(t, "precision") == 1 && test_json_number(t, "recall") == 1, "theme %s",
                      cJSON_GetObjectItem(t, "theme")->valuestring);
    }
    cr_assert_eq(themes, 13, "A..K, X and Y of the themes file");
    cJSON_Delete(j);
    free(pred);
    free(dir);
}

Test(eval, cli_known_errors_are_counted, .timeout = 60)
{
    /* 10 of 100 responses without a prediction (each expected at least one
     * label: F1 0), the rest exact: F1 = exact = 90/100; 5 more positions
     * wrong: sentiment 85/100. */
    char *dir = test_corpus_path(XS);
    char *pred = derived_predictions(dir, 10, 5);
    cJSON *j = eval_json(dir, pred);
    cr_assert_eq(test_json_number(j, "n"), 100);
    cr_assert(NEAR(test_json_number(j, "mapping_f1"), 0.9), "%g", test_json_number(j, "mapping_f1"));
    cr_assert(NEAR(test_json_number(j, "exact_match"), 0.9));
    cr_assert(NEAR(test_json_number(j, "sentiment_accuracy"), 0.85));
    cr_assert_eq(test_json_number(j, "missing"), 10);
    const cJSON *ci = cJSON_GetObjectItem(j, "mapping_f1_ci");
    double lo = cJSON_GetArrayItem(ci, 0)->valuedouble, hi = cJSON_GetArrayItem(ci, 1)->valuedouble;
    cr_assert(lo < 0.9 && 0.9 < hi && lo > 0.7 && hi <= 1.0, "[%g, %g]", lo, hi);
    cJSON_Delete(j);

    char cmd[8192], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s eval consultation -e '%s' -p '%s'", test_precis_bin(), dir, pred);
    cr_assert_eq(test_run(cmd, &out), 0, "%s", out);
    cr_assert(strstr(out, "mapping F1   0.9000  95% CI ["), "%s", out);
    cr_assert(strstr(out, "exact match  0.9000  (90 of 100)"), "%s", out);
    cr_assert(strstr(out, "sentiment    0.8500  (85 of 100"), "%s", out);
    cr_assert(strstr(out, "Complete Ban Support"), "%s", out);
    free(out);
    free(pred);
    free(dir);
}

Test(eval, cli_errors, .timeout = 60)
{
    char *dir = test_corpus_path(XS);
    char args[5][4200];
    snprintf(args[0], sizeof args[0], "eval");
    snprintf(args[1], sizeof args[1], "eval legalese");
    snprintf(args[2], sizeof args[2], "eval consultation --question 1");
    snprintf(args[3], sizeof args[3], "eval consultation --expected '%s' -p x -m model.gguf", dir);
    snprintf(args[4], sizeof args[4], "eval consultation --expected '%s' --question 3 -p x", dir);
    static const struct {
        const char *needle;
        int status;
    } want[] = {
        {"give a kind: consultation", 2},
        {"unknown kind 'legalese'", 2},
        {"--expected DIR is required", 2},
        {"--model and --save-predicted are for model mode (no --predicted)", 2},
        {"q3_expected_themes.json", 1},
    };
    for (size_t i = 0; i < 5; i++) {
        char cmd[8192], *out = NULL;
        snprintf(cmd, sizeof cmd, "%s %s 2>&1", test_precis_bin(), args[i]);
        int status = test_run(cmd, &out);
        cr_assert_eq(status, want[i].status, "%s: exit %d: %s", args[i], status, out);
        cr_assert(strstr(out, want[i].needle), "%s: '%s' lacks '%s'", args[i], out, want[i].needle);
        free(out);
    }
    char cmd[256], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s eval --help", test_precis_bin());
    cr_assert_eq(test_run(cmd, &out), 0);
    cr_assert(strstr(out, "--predicted FILE") && strstr(out, "type 7"), "%s", out);
    free(out);
    free(dir);
}

/* Model mode on the gambling set with the dim-256 test model: the expected
 * responses mapped onto the expected themes (sentiment and mapping only,
 * no theme generation), scored; the predictions it saves score the same
 * through --predicted. Random weights: the scores mean nothing, the flow
 * and the arithmetic's bounds do. */
Test(eval, model_mode_runs_the_approved_set_consultation_and_scores_it, .timeout = 600)
{
    char *dir = test_corpus_path(XS), *model = test_model_path("synth-d256-q8_0.gguf");
    char saved[4096], cmd[16384], *out = NULL;
    snprintf(saved, sizeof saved, "%s/model-predictions.jsonl", test_tmpdir());
    snprintf(cmd, sizeof cmd, "%s eval consultation --expected '%s' -m '%s' --save-predicted '%s' --json 2>/dev/null",
             test_precis_bin(), dir, model, saved);
    cr_assert_eq(test_run(cmd, &out), 0, "%s", out);
    cJSON *j = cJSON_Parse(out);
    cr_assert(j, "%s", out);
    free(out);
    cr_assert_eq(test_json_number(j, "n"), 100);
    cr_assert_eq(test_json_number(j, "missing"), 0, "every expected response got a prediction");
    double f1 = test_json_number(j, "mapping_f1");
    const cJSON *ci = cJSON_GetObjectItem(j, "mapping_f1_ci");
    double lo = cJSON_GetArrayItem(ci, 0)->valuedouble, hi = cJSON_GetArrayItem(ci, 1)->valuedouble;
    cr_assert(0 <= lo && lo <= f1 && f1 <= hi && hi <= 1, "F1 %g CI [%g, %g]", f1, lo, hi);
    cr_assert(test_json_number(j, "sentiment_accuracy") >= 0 && test_json_number(j, "sentiment_accuracy") <= 1);
    char *lines = test_read_file(saved, NULL);
    int n = 0;
    for (const char *p = lines; (p = strchr(p, '\n')); p++)
        n++;
    cr_assert_eq(n, 100, "one saved prediction per response");
    cr_assert(strstr(lines, "\"response_id\":\"1001\""), "%.200s", lines);
    free(lines);
    cJSON *again = eval_json(dir, saved);
    cr_assert_eq(test_json_number(again, "mapping_f1"), f1, "the saved predictions score the same");
    cr_assert_eq(test_json_number(again, "sentiment_accuracy"), test_json_number(j, "sentiment_accuracy"));
    cr_assert_eq(test_json_number(again, "exact_match"), test_json_number(j, "exact_match"));
    cJSON_Delete(again);
    cJSON_Delete(j);
    free(model);
    free(dir);
}

/* ---- a consultation run as predictions (the model mode's input) ------------------- */

Test(eval, consultation_run_becomes_predictions)
{
    /* A run over three responses with themes A, B numbered by the run, which
     * the approved set calls "G" and "X"; r3 could not be processed. */
    consultation_theme themes[2] = {{.id = "A"}, {.id = "B"}};
    consultation_annotation ann[3] = {
        {.response_id = "r1", .position = "AGREE", .themes = "AB"},
        {.response_id = "r2", .position = "DISAGREE", .themes = "B"},
        {.response_id = "r3", .unprocessable = 1, .reason = (char *)"mapping: gave up"},
    };
    consultation_result res = {.annotations = ann, .n = 3, .themes = themes, .n_themes = 2};
    const char *const ids[] = {"G", "X"};
    eval_items items = {0};
    perr err;
    cr_assert_eq(consultation_eval_predictions(&res, ids, &items, &err), 0, "%s", err.msg);
    cr_assert_eq(items.n, 3);
    cr_assert_str_eq(items.items[0].id, "r1");
    cr_assert_eq(items.items[0].n_labels, 2);
    cr_assert_str_eq(items.items[0].labels[0], "G");
    cr_assert_str_eq(items.items[0].labels[1], "X");
    cr_assert_str_eq(items.items[0].position, "AGREE");
    cr_assert_str_eq(items.items[1].labels[0], "X");
    cr_assert_eq(items.items[2].has_labels, 0, "unprocessable: scored as missing");
    cr_assert_str_eq(items.items[2].position, "");
    cr_assert_eq(consultation_eval_predictions(&res, NULL, &items, &err), 0, "%s", err.msg);
    cr_assert_str_eq(items.items[0].labels[1], "B", "the run's own ids");
    ann[1].themes[0] = 'C';
    cr_assert_eq(consultation_eval_predictions(&res, NULL, &items, &err), -1);
    cr_assert(strstr(err.msg, "unknown theme C"), "%s", err.msg);
    cr_assert_eq(items.n, 0);
    eval_items_clear(&items);
}

Test(eval, an_approved_sets_ids_with_gaps_are_labels_by_id)
{
    /* the gambling set's ids run A..K, then X, Y; an analyst's may be A, C, D */
    consultation_theme themes[3] = {{.id = "A"}, {.id = "C"}, {.id = "X"}};
    consultation_annotation ann[2] = {
        {.response_id = "r1", .position = "AGREE", .themes = "CX"},
        {.response_id = "r2", .position = "UNCLEAR", .themes = "A"},
    };
    consultation_result res = {.annotations = ann, .n = 2, .themes = themes, .n_themes = 3};
    eval_items items = {0};
    perr err;
    cr_assert_eq(consultation_eval_predictions(&res, NULL, &items, &err), 0, "%s", err.msg);
    cr_assert_eq(items.items[0].n_labels, 2);
    cr_assert_str_eq(items.items[0].labels[0], "C");
    cr_assert_str_eq(items.items[0].labels[1], "X");
    cr_assert_str_eq(items.items[1].labels[0], "A");
    const char *const ids[] = {"a", "c", "x"};
    cr_assert_eq(consultation_eval_predictions(&res, ids, &items, &err), 0, "%s", err.msg);
    cr_assert_str_eq(items.items[0].labels[0], "c", "renamed by the theme's index, found by its id");
    cr_assert_str_eq(items.items[0].labels[1], "x");
    eval_items_clear(&items);
}

Test(eval, large_files_are_read_whole)
{
    /* 6,000 responses, about 300 KiB: more than the reader's first buffers
     * (no sentiment file: this test process has its own scratch directory). */
    size_t cap = 6000 * 64, len = 0;
    char *lines = malloc(cap);
    for (int i = 0; i < 6000; i++)
        len += (size_t)snprintf(lines + len, cap - len, "{\"response_id\": %d, \"labels\": [\"A\", \"B\"]}\n", 100000 + i);
    char *expected = test_write_tmp("q1_expected_mapping.jsonl", lines);
    char *predicted = test_write_tmp("large_predicted.jsonl", lines);
    free(test_write_tmp("q1_expected_themes.json", "[{\"topic_id\": \"A\"}, {\"topic_id\": \"B\"}]"));
    *strrchr(expected, '/') = '\0';
    eval_consultation_set set;
    eval_items pred = {0};
    eval_consultation_report rep;
    perr err;
    cr_assert_eq(eval_consultation_load(expected, 1, &set, &err), 0, "%s", err.msg);
    cr_assert_eq(eval_items_read(predicted, EVAL_NEED_LABELS, &pred, &err), 0, "%s", err.msg);
    cr_assert_eq(set.expected.n, 6000);
    cr_assert_eq(pred.n, 6000);
    cr_assert_eq(eval_consultation_score(&set, &pred, NULL, &rep, &err), 0, "%s", err.msg);
    cr_assert_eq(rep.mapping_f1, 1.0);
    cr_assert_eq(rep.missing, 0);
    eval_consultation_report_clear(&rep);
    eval_items_clear(&pred);
    eval_consultation_set_clear(&set);
    free(lines);
    free(expected);
    free(predicted);
}
