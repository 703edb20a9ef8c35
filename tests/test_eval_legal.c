/* test_eval_legal.c — labelled Yes/No items (pipeline/eval/eval_legal.h):
 * balanced accuracy, the scores of hand-made answer files computed by hand,
 * the dataset and answers readers with their errors, LegalBench's hearsay
 * file; and the hearsay question asked of items by the test model
 * (pipeline/analyses/yes_no.h). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pipeline/analyses/yes_no.h"
#include "pipeline/eval/eval_legal.h"
#include "pipeline/eval/eval_metrics.h"
#include "tests/analysis_fixture.h"
#include "tests/support.h"

#define NEAR(a, b) (fabs((a) - (b)) < 1e-12)

/* ---- balanced accuracy ------------------------------------------------------------ */

Test(eval_legal, balanced_accuracy_and_an_absent_class)
{
    size_t right[2] = {1, 3}, total[2] = {2, 4};
    cr_assert(NEAR(eval_balanced_accuracy(right, total, 2), (0.5 + 0.75) / 2));
    /* Class 0 has no items: no recall, left out; the mean is class 1's 2/4. */
    size_t right1[2] = {0, 2}, total1[2] = {0, 4};
    cr_assert(NEAR(eval_balanced_accuracy(right1, total1, 2), 0.5));
    size_t none[2] = {0, 0};
    cr_assert(isnan(eval_balanced_accuracy(none, none, 2)), "no items at all: undefined");
}

/* ---- scores of a hand-made case ---------------------------------------------------- */

/* Seven items (label, slice) and the answers file below:
 *   0 Yes S1   Yes   right
 *   1 No  S1   Yes   wrong
 *   2 Yes S2   null  wrong (missing)
 *   3 No  S2   No    right
 *   4 No  S2   no    right (any case)
 *   5 No  -    No    right (no slice)
 *   6 Yes S1   --    wrong (no line: missing)
 * accuracy 4/7; recall Yes 1/3 (0 of 0, 2, 6), recall No 3/4 (3, 4, 5 of
 * 1, 3, 4, 5); balanced (1/3 + 3/4) / 2 = 13/24; missing 2; answered Yes 2,
 * No 3; slices S1 (0, 1, 6) 1 of 3, S2 (2, 3, 4) 2 of 3; item 5 in none. */
static const char hand_dataset[] = "label\ttext\tslice\n"
                                   "Yes\tfirst\tS1\n"
                                   "No\tsecond\tS1\n"
                                   "Yes\tthird\tS2\n"
                                   "No\tfourth\tS2\n"
                                   "No\tfifth\tS2\n"
                                   "No\tsixth\t\n"
                                   "Yes\tseventh\tS1\n";
static const char hand_answers[] = "{\"index\": 0, \"answer\": \"Yes\"}\n"
                                   "{\"index\": 1, \"answer\": \"Yes\"}\n"
                                   "\n"
                                   "{\"index\": 2, \"answer\": null}\n"
                                   "{\"index\": 4, \"answer\": \"no\", \"note\": \"ignored\"}\n"
                                   "{\"index\": 3, \"answer\": \"No\"}\n"
                                   "{\"index\": 5, \"answer\": \" No \"}\n";

static void read_case(const char *dataset, const char *answers, eval_legal_set *set, eval_answer **out)
{
    char *d = test_write_tmp("case.tsv", dataset), *a = test_write_tmp("case.jsonl", answers);
    perr err;
    cr_assert_eq(eval_legal_read(d, set, &err), 0, "%s", err.msg);
    *out = calloc(set->n, sizeof **out);
    cr_assert_eq(eval_legal_answers_read(a, set->n, *out, &err), 0, "%s", err.msg);
    free(d);
    free(a);
}

Test(eval_legal, scores_by_hand)
{
    eval_legal_set set;
    eval_answer *answers;
    read_case(hand_dataset, hand_answers, &set, &answers);
    cr_assert_eq(set.n, 7);
    eval_legal_report r;
    perr err;
    cr_assert_eq(eval_legal_score(&set, answers, NULL, &r, &err), 0, "%s", err.msg);
    cr_assert_eq(r.n, 7);
    cr_assert_eq(r.correct, 4);
    cr_assert(NEAR(r.accuracy, 4.0 / 7), "%g", r.accuracy);
    cr_assert(NEAR(r.recall_yes, 1.0 / 3) && NEAR(r.recall_no, 0.75), "%g %g", r.recall_yes, r.recall_no);
    cr_assert(NEAR(r.balanced_accuracy, 13.0 / 24), "%g", r.balanced_accuracy);
    cr_assert_eq(r.missing, 2);
    cr_assert(r.answered_yes == 2 && r.answered_no == 3);
    cr_assert(r.n_yes == 3 && r.n_no == 4);
    cr_assert_eq(r.n_slices, 2);
    cr_assert_str_eq(r.slices[0].slice, "S1");
    cr_assert(r.slices[0].n == 3 && r.slices[0].correct == 1 && NEAR(r.slices[0].accuracy, 1.0 / 3));
    cr_assert_str_eq(r.slices[1].slice, "S2");
    cr_assert(r.slices[1].n == 3 && r.slices[1].correct == 2 && NEAR(r.slices[1].accuracy, 2.0 / 3));
    cr_assert(r.accuracy_ci[0] <= r.accuracy && r.accuracy <= r.accuracy_ci[1], "[%g, %g]", r.accuracy_ci[0],
              r.accuracy_ci[1]);
    cr_assert(r.balanced_accuracy_ci[0] <= r.balanced_accuracy && r.balanced_accuracy <= r.balanced_accuracy_ci[1]);
    cr_assert(r.accuracy_ci[0] >= 0 && r.accuracy_ci[1] <= 1 && r.accuracy_ci[0] < r.accuracy_ci[1]);

    /* The same seed gives the same intervals; the accuracy interval is the
     * bootstrap of the mean of the per-item 0/1 outcomes. */
    eval_legal_report again;
    cr_assert_eq(eval_legal_score(&set, answers, NULL, &again, &err), 0, "%s", err.msg);
    cr_assert(again.accuracy_ci[0] == r.accuracy_ci[0] && again.accuracy_ci[1] == r.accuracy_ci[1]);
    cr_assert(again.balanced_accuracy_ci[0] == r.balanced_accuracy_ci[0] &&
              again.balanced_accuracy_ci[1] == r.balanced_accuracy_ci[1]);
    double outcome[7] = {1, 0, 0, 1, 1, 1, 0}, ci[2];
    cr_assert_eq(eval_bootstrap_mean_ci(outcome, 7, NULL, ci, &err), 0);
    cr_assert(ci[0] == r.accuracy_ci[0] && ci[1] == r.accuracy_ci[1]);

    char *json = eval_legal_report_json(&r);
    cJSON *j = cJSON_Parse(json);
    cr_assert(j, "%s", json);
    cr_assert(NEAR(cJSON_GetObjectItem(j, "balanced_accuracy")->valuedouble, 13.0 / 24));
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "accuracy_ci")), 2);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "per_slice")), 2);
    cr_assert_null(cJSON_GetObjectItem(j, "model"), "answers from a file: no model");
    cJSON_Delete(j);
    free(json);
    eval_legal_report_clear(&again);
    eval_legal_report_clear(&r);
    free(answers);
    eval_legal_set_clear(&set);
}

Test(eval_legal, one_class_absent)
{
    /* Only No items: recall Yes undefined (null), balanced accuracy = recall
     * No = 2/3 = the accuracy. Every resample holds No items only, so its
     * balanced accuracy is its accuracy: the two intervals are the same. */
    eval_legal_set set;
    eval_answer *answers;
    read_case("No\ta\nNo\tb\nno\tc\n",
              "{\"index\": 0, \"answer\": \"No\"}\n{\"index\": 1, \"answer\": \"Yes\"}\n{\"index\": 2, \"answer\": \"No\"}\n",
              &set, &answers);
    eval_legal_report r;
    perr err;
    cr_assert_eq(eval_legal_score(&set, answers, NULL, &r, &err), 0, "%s", err.msg);
    cr_assert(NEAR(r.accuracy, 2.0 / 3));
    cr_assert(isnan(r.recall_yes));
    cr_assert(NEAR(r.recall_no, 2.0 / 3));
    cr_assert(NEAR(r.balanced_accuracy, 2.0 / 3), "%g", r.balanced_accuracy);
    cr_assert(NEAR(r.balanced_accuracy_ci[0], r.accuracy_ci[0]) && NEAR(r.balanced_accuracy_ci[1], r.accuracy_ci[1]));
    cr_assert_eq(r.n_slices, 0, "no slice column: no slices");
    char *json = eval_legal_report_json(&r);
    cJSON *j = cJSON_Parse(json);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "recall_yes")), "undefined is null: %s", json);
    cJSON_Delete(j);
    free(json);
    eval_legal_report_clear(&r);
    free(answers);
    eval_legal_set_clear(&set);
}

Test(eval_legal, nothing_answered_is_all_wrong)
{
    eval_legal_set set;
    eval_answer *answers;
    read_case(hand_dataset, "\n", &set, &answers);
    eval_legal_report r;
    perr err;
    cr_assert_eq(eval_legal_score(&set, answers, NULL, &r, &err), 0, "%s", err.msg);
    cr_assert(r.accuracy == 0 && r.balanced_accuracy == 0 && r.missing == 7);
    cr_assert(r.accuracy_ci[0] == 0 && r.accuracy_ci[1] == 0);
    eval_legal_report_clear(&r);
    free(answers);
    eval_legal_set_clear(&set);
}

/* ---- reading datasets ---------------------------------------------------------------- */

Test(eval_legal, reads_quoted_fields_header_columns_and_line_ends)
{
    /* A BOM; the header quoted, in another order, with LegalBench's "index"
     * column; a quoted text holding a doubled quote and a tab; a quoted text
     * over two lines; a blank CRLF line; quotes inside an unquoted field kept;
     * an empty slice at a CRLF end. */
    char *path = test_write_tmp("quoted.tsv", "\xEF\xBB\xBF\"answer\"\tindex\tslice\ttext\n"
                                              "yes\t0\tA\t\"He said \"\"stop\"\"\tand left\"\n"
                                              " NO \t1\tB\t\"two\nlines\"\n"
                                              "\r\n"
                                              "Yes\t2\t\tplain \"quoted\" words\r\n");
    eval_legal_set set;
    perr err;
    cr_assert_eq(eval_legal_read(path, &set, &err), 0, "%s", err.msg);
    cr_assert_eq(set.n, 3);
    cr_assert_eq(set.items[0].label, EVAL_ANSWER_YES);
    cr_assert_str_eq(set.items[0].text, "He said \"stop\"\tand left");
    cr_assert_str_eq(set.items[0].slice, "A");
    cr_assert_eq(set.items[0].line, 2);
    cr_assert_eq(set.items[1].label, EVAL_ANSWER_NO);
    cr_assert_str_eq(set.items[1].text, "two\nlines");
    cr_assert_eq(set.items[1].line, 3);
    cr_assert_str_eq(set.items[2].text, "plain \"quoted\" words");
    cr_assert_str_eq(set.items[2].slice, "");
    cr_assert_eq(set.items[2].line, 6, "the quoted line break and the blank line are counted");
    eval_legal_set_clear(&set);
    free(path);
}

Test(eval_legal, dataset_errors_name_the_line)
{
    static const struct {
        const char *text, *needle;
    } cases[] = {
        {"label\ttext\nMaybe\tx\n", "line 2: label \"Maybe\" is neither Yes nor No"},
        {"label\ttext\tslice\nYes\ta\tb\n\nNo\ta\tb\tc\n", "line 4: 4 fields where 3 are expected"},
        {"Yes\ta\tb\tc\n", "line 1: 4 fields where label, text and an optional slice are expected"},
        {"No\ta\tb\nYes\tc\n", "line 2: 2 fields where 3 are expected"},
        {"label\ttext\nYes\t\"open\n\n", "line 2: a quoted field is never closed"},
        {"label\ttext\nYes\t\"a\n\"b\n", "line 3: text after the closing quote"},
        {"label\ttext\nYes\t  \n", "line 2: the text is empty"},
        {"label\tslice\nYes\ta\n", "line 1: the header has no \"text\" column"},
        {"text\tslice\nx\ty\n", "line 1: the header has no \"label\" (or \"answer\") column"},
        {"label\ttext\ttext\n", "line 1: the header names column \"text\" twice"},
        {"label\ttext\nYes\tok\nNo\tbad \xff byte\n", "line 3: not valid UTF-8"},
        {"label\ttext\tslice\n\n", "no items"},
        {"", "no items"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *path = test_write_tmp("bad.tsv", cases[i].text);
        eval_legal_set set;
        perr err = {{0}};
        cr_assert_eq(eval_legal_read(path, &set, &err), -1, "case %zu", i);
        cr_assert(strstr(err.msg, cases[i].needle), "case %zu: '%s' lacks '%s'", i, err.msg, cases[i].needle);
        cr_assert(strstr(err.msg, path), "case %zu names the file: %s", i, err.msg);
        cr_assert_eq(set.n, 0);
        free(path);
    }
}

Test(eval_legal, answers_errors_name_the_line)
{
    static const struct {
        const char *text, *needle;
    } cases[] = {
        {"{\"index\": 1, \"answer\": \"Yes\"}\n\n{\"index\": 1, \"answer\": \"No\"}\n",
         "line 3: index 1 is answered twice (first on line 1)"},
        {"{\"index\": 3, \"answer\": \"Yes\"}\n", "line 1: index 3 is out of range: the dataset has 3 items, 0..2"},
        {"{\"index\": -1, \"answer\": \"Yes\"}\n", "line 1: no \"index\""},
        {"{\"index\": 1.5, \"answer\": \"Yes\"}\n", "line 1: no \"index\""},
        {"{\"index\": \"1\", \"answer\": \"Yes\"}\n", "line 1: no \"index\""},
        {"{\"index\": 0, \"answer\": \"Maybe\"}\n", "line 1: \"answer\" must be \"Yes\", \"No\" or null"},
        {"{\"index\": 0}\n", "line 1: \"answer\" must be"},
        {"{\"index\": 0, \"answer\": \"Yes\"\n", "line 1: not valid JSON"},
        {"[0, \"Yes\"]\n", "line 1: not a JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *path = test_write_tmp("bad.jsonl", cases[i].text);
        eval_answer answers[3];
        perr err = {{0}};
        cr_assert_eq(eval_legal_answers_read(path, 3, answers, &err), -1, "case %zu", i);
        cr_assert(strstr(err.msg, cases[i].needle), "case %zu: '%s' lacks '%s'", i, err.msg, cases[i].needle);
        cr_assert(strstr(err.msg, path), "case %zu names the file: %s", i, err.msg);
        free(path);
    }
    eval_answer answers[3];
    perr err;
    cr_assert_eq(eval_legal_answers_read("/nonexistent/answers.jsonl", 3, answers, &err), -1);
    cr_assert(strstr(err.msg, "/nonexistent/answers.jsonl"), "%s", err.msg);
}

#define HEARSAY "legal/legalbench_hearsay_test.tsv"

Test(eval_legal, reads_legalbench_hearsay)
{
    char *path = test_corpus_path(HEARSAY);
    eval_legal_set set;
    perr err;
    cr_assert_eq(eval_legal_read(path, &set, &err), 0, "%s", err.msg);
    cr_assert_eq(set.n, 95, "96 lines, the first a header");
    size_t yes = 0;
    for (size_t i = 0; i < set.n; i++)
        yes += set.items[i].label == EVAL_ANSWER_YES;
    cr_assert_eq(yes, 43);
    cr_assert_eq(set.items[0].label, EVAL_ANSWER_NO);
    cr_assert(strncmp(set.items[0].text, "On the issue of whether James is an smart individual", 52) == 0, "%s",
              set.items[0].text);
    cr_assert_str_eq(set.items[0].slice, "Non-assertive conduct");
    cr_assert_eq(set.items[0].line, 2);
    cr_assert_eq(set.items[94].line, 96);
    cr_assert_str_eq(set.items[94].slice, "Standard hearsay");
    int quoted = 0;
    for (size_t i = 0; i < set.n; i++)
        quoted |= strstr(set.items[i].text, "\"Viva la Vida\"") != NULL;
    cr_assert(quoted, "quotes inside an unquoted text are kept");
    eval_legal_set_clear(&set);
    free(path);
}

/* ---- the question asked by the test model --------------------------------------------- */

static void count_progress(void *ctx, size_t done, size_t n)
{
    size_t *calls = ctx;
    cr_assert_leq(done, n);
    calls[0]++;
    calls[1] = done;
}

Test(eval_legal, every_item_gets_a_constrained_answer, .timeout = 300)
{
    /* The random-weight model's answers mean nothing, but each is Yes or No
     * through the schema; a text too long for the context is an item
     * without an answer, saying why, and the others are answered. */
    analysis_fixture f = analysis_fixture_open("hearsay", 1024);
    analysis_input in = {.llm = f.llm, .prompt = f.prompt, .schema = f.schema, .max_tokens = f.prompt->max_tokens};
    size_t long_len = 40000;
    char *long_text = malloc(long_len + 1);
    for (size_t i = 0; i < long_len; i++)
        long_text[i] = i % 6 == 5 ? ' ' : 'a' + (char)(i % 5);
    long_text[long_len] = '\0';
    const char *texts[] = {"On the issue of whether it rained, the fact that Ana carried an umbrella.",
                           "On the issue of whether the car was red, Bo's statement to the police, \"it was red.\"",
                           long_text,
                           "On the issue of who took the money, the cashier nodding when asked whether Cy took it.",
                           "On the issue of whether Di was at home, her testimony at trial that she was."};
    size_t n = sizeof texts / sizeof texts[0], calls[2] = {0, 0};
    yes_no_result res[5];
    analysis_output out = {0};
    perr err;
    cr_assert_eq(yes_no_ask(&in, texts, n, 2, count_progress, calls, res, &out, &err), 0, "%s", err.msg);
    cr_assert_eq(calls[0], 3, "groups of 2: progress after 2, 4 and 5");
    cr_assert_eq(calls[1], n);
    for (size_t i = 0; i < n; i++) {
        if (i == 2) {
            cr_assert_eq(res[i].answer, YES_NO_NONE);
            cr_assert(strstr(res[i].error, "does not fit"), "%s", res[i].error);
            continue;
        }
        cr_assert(res[i].answer == YES_NO_YES || res[i].answer == YES_NO_NO, "item %zu: %s", i, res[i].error);
    }
    cr_assert_eq(out.calls, 4, "one call per text that fits");
    analysis_output_clear(&out);
    free(long_text);
    analysis_fixture_close(&f);
}

Test(eval_legal, the_prompt_rule)
{
    static const char *const bad[] = {
        "{\"name\": \"hearsay\", \"system\": \"s\", \"user\": \"no placeholder\", \"max_tokens\": 8, "
        "\"schema\": {\"type\": \"object\", \"properties\": {\"answer\": {\"enum\": [\"Yes\", \"No\"]}}, "
        "\"required\": [\"answer\"]}}",
        "{\"name\": \"hearsay\", \"system\": \"s\", \"user\": \"{{document}}\", \"max_tokens\": 8}",
        "{\"name\": \"hearsay\", \"system\": \"s\", \"user\": \"{{document}}\", \"max_tokens\": 8, "
        "\"schema\": {\"type\": \"object\", \"properties\": {\"answer\": {\"enum\": [\"Yes\", \"No\", \"Maybe\"]}}, "
        "\"required\": [\"answer\"]}}",
        "{\"name\": \"hearsay\", \"system\": \"s\", \"user\": \"{{document}}\", \"max_tokens\": 8, "
        "\"schema\": {\"type\": \"object\", \"properties\": {\"answer\": {\"enum\": [\"Yes\", \"No\"]}}}}",
        "{\"name\": \"hearsay\", \"system\": \"s\", \"user\": \"{{document}} {{question}}\", \"max_tokens\": 8, "
        "\"schema\": {\"type\": \"object\", \"properties\": {\"answer\": {\"enum\": [\"No\", \"Yes\"]}}, "
        "\"required\": [\"answer\"]}}",
    };
    static const char *const needles[] = {"{{document}}", "\"answer\"", "\"answer\"", "\"answer\"", "{{title}}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        prompt_spec *p;
        perr err;
        cr_assert_eq(prompt_parse(&p, bad[i], strlen(bad[i]), "hearsay", &err), 0, "case %zu: %s", i, err.msg);
        cr_assert_eq(analysis_yes_no_check(p, &err), -1, "case %zu", i);
        cr_assert(strstr(err.msg, needles[i]), "case %zu: %s", i, err.msg);
        prompt_free(p);
    }
    const analysis_def *def = analysis_find("hearsay");
    cr_assert(def && def->scope == ANALYSIS_ITEM && !def->run);
    prompt_spec *p;
    perr err;
    cr_assert_eq(analysis_load_prompt(def, "prompts", &p, &err), 0, "the shipped prompt passes: %s", err.msg);
    prompt_free(p);
}
