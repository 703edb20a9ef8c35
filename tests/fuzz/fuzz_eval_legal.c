/* fuzz_eval_legal.c — libFuzzer target: the labelled Yes/No dataset reader
 * (tab-separated, quoted fields) and the answers reader on arbitrary bytes
 * must never crash, leak, hang or over-read; what they accept must hold
 * their contract (labels Yes or No, texts non-empty), and its scores must
 * lie in [0, 1]. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/eval/eval_legal.h"

static void check_set(const eval_legal_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        const eval_legal_item *it = &set->items[i];
        if ((it->label != EVAL_ANSWER_YES && it->label != EVAL_ANSWER_NO) || !it->text[0] || !it->slice)
            abort();
    }
}

static void check_scores(const eval_legal_set *set, const eval_answer *answers)
{
    eval_bootstrap_options o = {.resamples = 20, .seed = 1, .level = 0.95};
    eval_legal_report r;
    perr err;
    if (eval_legal_score(set, answers, &o, &r, &err) != 0)
        abort();
    if (!(r.accuracy >= 0 && r.accuracy <= 1 && r.balanced_accuracy >= 0 && r.balanced_accuracy <= 1) ||
        r.accuracy_ci[0] > r.accuracy_ci[1] || r.correct + (r.n - r.correct) != set->n)
        abort();
    eval_legal_report_clear(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy so any read past the end is caught by ASan. */
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    if (size)
        memcpy(copy, data, size);
    eval_legal_set set;
    perr err;
    int have_set = eval_legal_parse(copy, size, &set, &err) == 0;
    if (have_set)
        check_set(&set);
    size_t n = have_set ? set.n : 4;
    eval_answer *answers = calloc(n, sizeof *answers);
    if (answers && eval_legal_answers_parse(copy, size, n, answers, &err) == 0 && have_set)
        check_scores(&set, answers);
    free(answers);
    if (have_set)
        eval_legal_set_clear(&set);
    free(copy);
    return 0;
}
