/* eval_legal.c — scores of Yes/No answers against labelled items: accuracy,
 * balanced accuracy, their bootstrap intervals, per slice (see eval_legal.h). */
#include "pipeline/eval/eval_legal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/eval/eval_json.h"
#include "pipeline/eval/eval_metrics.h"

/* What the bootstrap statistics see: per item its label and whether it was answered right. */
typedef struct outcomes {
    const eval_legal_set *set;
    const double *correct;       /* 1 or 0 per item */
} outcomes;

/* Class 0 = No, 1 = Yes (for eval_balanced_accuracy). */
static size_t class_of(eval_answer label)
{
    return label == EVAL_ANSWER_YES;
}

static double balanced_of(const size_t *idx, size_t n, void *ctx)
{
    const outcomes *o = ctx;
    size_t right[2] = {0, 0}, total[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        size_t c = class_of(o->set->items[idx[i]].label);
        total[c]++;
        right[c] += o->correct[idx[i]] != 0;
    }
    return eval_balanced_accuracy(right, total, 2);
}

static void count(const eval_legal_set *set, const eval_answer *answers, double *correct, eval_legal_report *rep)
{
    for (size_t i = 0; i < set->n; i++) {
        eval_answer label = set->items[i].label, a = answers[i];
        int right = a == label;
        correct[i] = right;
        rep->correct += right;
        rep->missing += a == EVAL_ANSWER_NONE;
        rep->answered_yes += a == EVAL_ANSWER_YES;
        rep->answered_no += a == EVAL_ANSWER_NO;
        if (label == EVAL_ANSWER_YES) {
            rep->n_yes++;
            rep->yes_correct += right;
        } else {
            rep->n_no++;
            rep->no_correct += right;
        }
    }
}

/* The slice of slices[0..n) named s, or NULL. */
static eval_slice_score *find_slice(eval_slice_score *slices, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(slices[i].slice, s) == 0)
            return &slices[i];
    return NULL;
}

static int score_slices(const eval_legal_set *set, const double *correct, eval_legal_report *rep, perr *err)
{
    if (!(rep->slices = calloc(set->n, sizeof *rep->slices)))
        return perr_set(err, "out of memory");
    for (size_t i = 0; i < set->n; i++) {
        const char *name = set->items[i].slice;
        if (!name[0])
            continue;
        eval_slice_score *s = find_slice(rep->slices, rep->n_slices, name);
        if (!s) {
            s = &rep->slices[rep->n_slices++];
            s->slice = name;
        }
        s->n++;
        s->correct += correct[i] != 0;
    }
    for (size_t i = 0; i < rep->n_slices; i++)
        rep->slices[i].accuracy = (double)rep->slices[i].correct / (double)rep->slices[i].n;
    return 0;
}

int eval_legal_score(const eval_legal_set *set, const eval_answer *answers, const eval_bootstrap_options *bo,
                     eval_legal_report *rep, perr *err)
{
    *rep = (eval_legal_report){.bootstrap = bo ? *bo : eval_bootstrap_defaults()};
    if (set->n == 0)
        return perr_set(err, "no items to score");
    double *correct = malloc(set->n * sizeof *correct);
    if (!correct)
        return perr_set(err, "out of memory");
    rep->n = set->n;
    count(set, answers, correct, rep);
    rep->accuracy = (double)rep->correct / (double)rep->n;
    rep->recall_yes = eval_recall(rep->yes_correct, rep->n_yes - rep->yes_correct);
    rep->recall_no = eval_recall(rep->no_correct, rep->n_no - rep->no_correct);
    size_t right[2] = {rep->no_correct, rep->yes_correct}, total[2] = {rep->n_no, rep->n_yes};
    rep->balanced_accuracy = eval_balanced_accuracy(right, total, 2);
    outcomes o = {.set = set, .correct = correct};
    int rc = eval_bootstrap_mean_ci(correct, set->n, &rep->bootstrap, rep->accuracy_ci, err);
    if (rc == 0)
        rc = eval_bootstrap_ci(set->n, balanced_of, &o, &rep->bootstrap, rep->balanced_accuracy_ci, err);
    if (rc == 0)
        rc = score_slices(set, correct, rep, err);
    free(correct);
    if (rc != 0)
        eval_legal_report_clear(rep);
    return rc;
}

void eval_legal_report_clear(eval_legal_report *rep)
{
    free(rep->slices);
    *rep = (eval_legal_report){0};
}

static cJSON *slice_json(const eval_slice_score *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "slice", s->slice);
    cJSON_AddNumberToObject(o, "n", (double)s->n);
    cJSON_AddNumberToObject(o, "correct", (double)s->correct);
    cJSON_AddNumberToObject(o, "accuracy", s->accuracy);
    return o;
}

char *eval_legal_report_json(const eval_legal_report *rep)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "kind", "legal");
    if (rep->task)
        cJSON_AddStringToObject(o, "task", rep->task);
    cJSON_AddNumberToObject(o, "n", (double)rep->n);
    cJSON_AddNumberToObject(o, "correct", (double)rep->correct);
    cJSON_AddNumberToObject(o, "missing", (double)rep->missing);
    cJSON_AddNumberToObject(o, "accuracy", rep->accuracy);
    eval_json_add_interval(o, "accuracy_ci", rep->accuracy_ci);
    eval_json_add_number(o, "balanced_accuracy", rep->balanced_accuracy);
    eval_json_add_interval(o, "balanced_accuracy_ci", rep->balanced_accuracy_ci);
    eval_json_add_number(o, "recall_yes", rep->recall_yes);
    eval_json_add_number(o, "recall_no", rep->recall_no);
    cJSON_AddNumberToObject(o, "n_yes", (double)rep->n_yes);
    cJSON_AddNumberToObject(o, "n_no", (double)rep->n_no);
    cJSON_AddNumberToObject(o, "answered_yes", (double)rep->answered_yes);
    cJSON_AddNumberToObject(o, "answered_no", (double)rep->answered_no);
    eval_json_add_bootstrap(o, &rep->bootstrap);
    if (rep->model_name) {
        cJSON *m = cJSON_AddObjectToObject(o, "model");
        cJSON_AddStringToObject(m, "name", rep->model_name);
        cJSON_AddStringToObject(m, "sha256", rep->model_sha256 ? rep->model_sha256 : "");
        cJSON_AddStringToObject(m, "prompt_version", rep->prompt_version ? rep->prompt_version : "");
    }
    cJSON *slices = cJSON_AddArrayToObject(o, "per_slice");
    for (size_t i = 0; slices && i < rep->n_slices; i++)
        cJSON_AddItemToArray(slices, slice_json(&rep->slices[i]));
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}
