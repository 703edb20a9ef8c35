/* test_eval_legal_cli.c — `precis eval legal` end to end on LegalBench's
 * hearsay set: answers files scored with --predicted (numbers known by
 * hand from the set's labels), the model mode with the random-weight test
 * model (the flow, not the quality: every item answered Yes or No, scores
 * in range, deterministic, its saved answers scoring the same), and the
 * command's errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/sha256.h"
#include "tests/support.h"

#define NEAR(a, b) (fabs((a) - (b)) < 1e-12)
#define HEARSAY "legal/legalbench_hearsay_test.tsv"

/* The hearsay set: 95 items after its header, 43 Yes and 52 No; slices
 * Non-assertive conduct (19, No), Statement made in-court (14, No),
 * Standard hearsay (29, Yes), Non-verbal hearsay (14, Yes), Not introduced
 * to prove truth (19, No); items 0..18 are the Non-assertive conduct ones. */

/* An answers file: item i answered with its label when i >= drop (else no
 * line), but "Yes" for every item when all_yes. Labels read from the file's
 * lines (it has no quoted fields). */
static char *answers_file(const char *dataset, int drop, int all_yes)
{
    char *text = test_read_file(dataset, NULL), *save = NULL;
    size_t cap = 64 * 200, len = 0;
    char *out = malloc(cap);
    out[0] = '\0';
    strtok_r(text, "\n", &save);   /* the header */
    int i = 0;
    for (char *line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save), i++) {
        const char *label = strncmp(line, "Yes\t", 4) == 0 ? "Yes" : "No";
        if (i >= drop)
            len += (size_t)snprintf(out + len, cap - len, "{\"index\": %d, \"answer\": \"%s\"}\n", i,
                                    all_yes ? "Yes" : label);
    }
    cr_assert_eq(i, 95);
    char name[64];
    snprintf(name, sizeof name, "answers-%d-%d.jsonl", drop, all_yes);
    char *path = test_write_tmp(name, out);
    free(out);
    free(text);
    return path;
}

static cJSON *run_json(const char *args, int want_status, char **err_out)
{
    char cmd[8192], *out = NULL, errpath[4200];
    snprintf(errpath, sizeof errpath, "%s/eval-legal.stderr", test_tmpdir());
    snprintf(cmd, sizeof cmd, "%s eval legal %s --json 2>'%s'", test_precis_bin(), args, errpath);
    int status = test_run(cmd, &out);
    char *err = test_read_file(errpath, NULL);
    cr_assert_eq(status, want_status, "%s: exit %d: %s %s", cmd, status, out, err);
    cJSON *j = cJSON_Parse(out);
    cr_assert(j, "%s", out);
    free(out);
    if (err_out)
        *err_out = err;
    else
        free(err);
    return j;
}

static void interval(const cJSON *o, const char *key, double ci[2])
{
    const cJSON *a = cJSON_GetObjectItem(o, key);
    cr_assert_eq(cJSON_GetArraySize(a), 2, "%s", key);
    ci[0] = cJSON_GetArrayItem(a, 0)->valuedouble;
    ci[1] = cJSON_GetArrayItem(a, 1)->valuedouble;
}

static const cJSON *slice(const cJSON *j, const char *name)
{
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(j, "per_slice"))
    if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(s, "slice")), name) == 0)
        return s;
    cr_assert_fail("no slice %s", name);
    return NULL;
}

Test(eval_legal_cli, predicted_perfect_answers_score_one, .timeout = 60)
{
    char *dataset = test_corpus_path(HEARSAY), *answers = answers_file(dataset, 0, 0), args[8400];
    snprintf(args, sizeof args, "--dataset '%s' --predicted '%s'", dataset, answers);
    cJSON *j = run_json(args, 0, NULL);
    cr_assert_eq(test_json_number(j, "n"), 95);
    cr_assert_eq(test_json_number(j, "accuracy"), 1.0);
    cr_assert_eq(test_json_number(j, "balanced_accuracy"), 1.0);
    double ci[2];
    interval(j, "accuracy_ci", ci);
    cr_assert(ci[0] == 1 && ci[1] == 1);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "per_slice")), 5);
    cr_assert_eq(test_json_number(slice(j, "Standard hearsay"), "n"), 29);
    cr_assert_eq(test_json_number(slice(j, "Statement made in-court"), "accuracy"), 1.0);
    cr_assert_null(cJSON_GetObjectItem(j, "model"));
    cJSON_Delete(j);
    free(answers);
    free(dataset);
}

Test(eval_legal_cli, predicted_known_errors_are_counted, .timeout = 60)
{
    /* Everything answered Yes, items 0..9 (all No) not answered: the 43 Yes
     * items right, the 52 No items wrong (42 answered Yes, 10 missing).
     * accuracy 43/95; recall Yes 1, No 0; balanced 0.5, and every resample
     * holding both labels has the same 0.5: the interval is [0.5, 0.5].
     * Non-assertive conduct 0 of 19, Standard hearsay 29 of 29. */
    char *dataset = test_corpus_path(HEARSAY), *answers = answers_file(dataset, 10, 1), args[8400];
    snprintf(args, sizeof args, "-d '%s' -p '%s'", dataset, answers);
    cJSON *j = run_json(args, 0, NULL);
    cr_assert(NEAR(test_json_number(j, "accuracy"), 43.0 / 95), "%g", test_json_number(j, "accuracy"));
    cr_assert_eq(test_json_number(j, "balanced_accuracy"), 0.5);
    cr_assert(test_json_number(j, "recall_yes") == 1 && test_json_number(j, "recall_no") == 0);
    cr_assert(test_json_number(j, "missing") == 10 && test_json_number(j, "answered_yes") == 85 && test_json_number(j, "answered_no") == 0);
    double ci[2];
    interval(j, "accuracy_ci", ci);
    cr_assert(ci[0] < 43.0 / 95 && 43.0 / 95 < ci[1] && ci[0] > 0.3 && ci[1] < 0.6, "[%g, %g]", ci[0], ci[1]);
    interval(j, "balanced_accuracy_ci", ci);
    cr_assert(ci[0] == 0.5 && ci[1] == 0.5, "[%g, %g]", ci[0], ci[1]);
    cr_assert_eq(test_json_number(slice(j, "Non-assertive conduct"), "correct"), 0);
    cr_assert_eq(test_json_number(slice(j, "Standard hearsay"), "correct"), 29);
    cJSON_Delete(j);

    char cmd[8600], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s eval legal %s", test_precis_bin(), args);
    cr_assert_eq(test_run(cmd, &out), 0, "%s", out);
    cr_assert(strstr(out, "accuracy           0.4526  95% CI ["), "%s", out);
    cr_assert(strstr(out, "balanced accuracy  0.5000  95% CI [0.5000, 0.5000]"), "%s", out);
    cr_assert(strstr(out, "85 Yes, 0 No, 10 missing (counted wrong)"), "%s", out);
    cr_assert(strstr(out, "Standard hearsay                      29       29    1.0000"), "%s", out);
    free(out);
    free(answers);
    free(dataset);
}

/* ---- model mode -------------------------------------------------------------------- */

Test(eval_legal_cli, model_mode_answers_every_item, .timeout = 600)
{
    char *dataset = test_corpus_path(HEARSAY), *model = test_model_path("synth-d256-q8_0.gguf");
    char saved[4200], args[12800], *err = NULL;
    snprintf(saved, sizeof saved, "%s/model-answers.jsonl", test_tmpdir());
    snprintf(args, sizeof args, "-d '%s' -m '%s' --save-predicted '%s'", dataset, model, saved);
    cJSON *j = run_json(args, 0, &err);
    cr_assert(strstr(err, "95 of 95 items answered"), "progress on stderr: %s", err);
    cr_assert_null(strstr(err, "has no answer"), "%s", err);
    cr_assert_eq(test_json_number(j, "n"), 95);
    cr_assert_eq(test_json_number(j, "missing"), 0, "every item answered through the schema");
    cr_assert_eq(test_json_number(j, "answered_yes") + test_json_number(j, "answered_no"), 95);
    double acc = test_json_number(j, "accuracy"), bal = test_json_number(j, "balanced_accuracy"), ci[2], bci[2];
    interval(j, "accuracy_ci", ci);
    interval(j, "balanced_accuracy_ci", bci);
    cr_assert(0 <= ci[0] && ci[0] <= acc && acc <= ci[1] && ci[1] <= 1, "%g in [%g, %g]", acc, ci[0], ci[1]);
    cr_assert(0 <= bci[0] && bci[0] <= bal && bal <= bci[1] && bci[1] <= 1, "%g in [%g, %g]", bal, bci[0], bci[1]);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "task")), "hearsay");
    const cJSON *m = cJSON_GetObjectItem(j, "model");
    size_t len;
    char *prompt = test_read_file("prompts/hearsay.json", &len), version[65];
    sha256_hex(prompt, len, version);
    free(prompt);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(m, "prompt_version")), version);
    cr_assert_eq(strlen(cJSON_GetStringValue(cJSON_GetObjectItem(m, "sha256"))), 64);

    /* The saved answers: one line per item, Yes or No. */
    char *lines = test_read_file(saved, NULL), *save = NULL;
    int n = 0;
    for (char *l = strtok_r(lines, "\n", &save); l; l = strtok_r(NULL, "\n", &save), n++) {
        cJSON *o = cJSON_Parse(l);
        cr_assert_eq(test_json_number(o, "index"), n);
        const char *a = cJSON_GetStringValue(cJSON_GetObjectItem(o, "answer"));
        cr_assert(a && (strcmp(a, "Yes") == 0 || strcmp(a, "No") == 0), "%s", l);
        cJSON_Delete(o);
    }
    cr_assert_eq(n, 95);
    free(lines);

    /* Deterministic: the same scores again; and the saved answers score the same. */
    cJSON *again = run_json(args, 0, NULL);
    cr_assert(cJSON_Compare(j, again, 1), "the same JSON twice");
    snprintf(args, sizeof args, "-d '%s' -p '%s'", dataset, saved);
    cJSON *scored = run_json(args, 0, NULL);
    cJSON_DeleteItemFromObject(j, "model");
    cJSON_DeleteItemFromObject(j, "task");
    cr_assert(cJSON_Compare(j, scored, 1), "--predicted of the saved answers scores as the run did");
    cJSON_Delete(scored);
    cJSON_Delete(again);
    cJSON_Delete(j);
    free(err);
    free(model);
    free(dataset);
}

Test(eval_legal_cli, model_mode_item_too_long_is_missing, .timeout = 300)
{
    /* The middle item does not fit the model's context (2048 tokens): it is
     * reported on stderr with the reason, counted wrong (missing), saved as
     * {"answer": null, "error"}, and its saved answers score the same. */
    size_t words = 5000, cap = words * 6 + 256, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text, cap, "label\ttext\tslice\nYes\tOn the issue of X, Y's letter saying X.\tS\nNo\t");
    for (size_t i = 0; i < words; i++)
        len += (size_t)snprintf(text + len, cap - len, "%s ", i % 2 ? "fact" : "word");
    snprintf(text + len, cap - len, "\tS\nNo\tOn the issue of Z, Z's testimony at trial.\tS\n");
    char *dataset = test_write_tmp("long.tsv", text), *model = test_model_path("synth-d256-q8_0.gguf");
    free(text);
    char saved[4200], args[12800], *err = NULL;
    snprintf(saved, sizeof saved, "%s/long-answers.jsonl", test_tmpdir());
    snprintf(args, sizeof args, "-d '%s' -m '%s' --save-predicted '%s'", dataset, model, saved);
    cJSON *j = run_json(args, 0, &err);
    cr_assert(strstr(err, "item 1 (line 3) has no answer (counted wrong)") && strstr(err, "does not fit"), "%s", err);
    cr_assert_eq(test_json_number(j, "n"), 3);
    cr_assert_eq(test_json_number(j, "missing"), 1);
    cr_assert_eq(test_json_number(j, "answered_yes") + test_json_number(j, "answered_no"), 2);
    cr_assert_leq(test_json_number(j, "correct"), 2, "the missing item is wrong");
    char *lines = test_read_file(saved, NULL);
    cr_assert(strstr(lines, "{\"index\":1,\"answer\":null,\"error\":\""), "%s", lines);
    free(lines);
    snprintf(args, sizeof args, "-d '%s' -p '%s'", dataset, saved);
    cJSON *scored = run_json(args, 0, NULL);
    cJSON_DeleteItemFromObject(j, "model");
    cJSON_DeleteItemFromObject(j, "task");
    cr_assert(cJSON_Compare(j, scored, 1), "the saved answers score as the run did");
    cJSON_Delete(scored);
    cJSON_Delete(j);
    free(err);
    free(model);
    free(dataset);
}

/* ---- errors ------------------------------------------------------------------------ */

Test(eval_legal_cli, errors, .timeout = 60)
{
    char *dataset = test_corpus_path(HEARSAY);
    char *bad = test_write_tmp("bad.tsv", "label\ttext\nYes\tfine\nPerhaps\tnot fine\n");
    char *out_of_range = test_write_tmp("range.jsonl", "{\"index\": 95, \"answer\": \"Yes\"}\n");
    char args[5][8400];
    snprintf(args[0], sizeof args[0], "eval legal --predicted x");
    snprintf(args[1], sizeof args[1], "eval legal -d '%s' -p x -m model.gguf", dataset);
    snprintf(args[2], sizeof args[2], "eval legal -d '%s' -p x", bad);
    snprintf(args[3], sizeof args[3], "eval legal -d '%s' -p '%s'", dataset, out_of_range);
    snprintf(args[4], sizeof args[4], "eval legal -d /nonexistent.tsv -p x");
    static const struct {
        const char *needle;
        int status;
    } want[] = {
        {"--dataset FILE is required", 2},
        {"--model and --save-predicted are for model mode", 2},
        {"line 3: label \"Perhaps\" is neither Yes nor No", 1},
        {"line 1: index 95 is out of range: the dataset has 95 items, 0..94", 1},
        {"/nonexistent.tsv", 1},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char cmd[8600], *out = NULL;
        snprintf(cmd, sizeof cmd, "%s %s 2>&1", test_precis_bin(), args[i]);
        int status = test_run(cmd, &out);
        cr_assert_eq(status, want[i].status, "%s: exit %d: %s", args[i], status, out);
        cr_assert(strstr(out, want[i].needle), "%s: '%s' lacks '%s'", args[i], out, want[i].needle);
        free(out);
    }
    char cmd[256], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s eval legal --help", test_precis_bin());
    cr_assert_eq(test_run(cmd, &out), 0);
    cr_assert(strstr(out, "--dataset FILE") && strstr(out, "balanced") && strstr(out, "your organisation"), "%s", out);
    free(out);
    free(bad);
    free(out_of_range);
    free(dataset);
}
