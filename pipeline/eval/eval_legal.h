/* eval_legal.h — labelled Yes/No items (LegalBench's format: a legal
 * question such as "is this evidence hearsay?" asked of short fact
 * patterns) and the scores of answers to them. Nothing here runs a model:
 * answers come from a file, or from the caller's model run.
 *
 * Dataset: tab-separated, one item per line, `label<TAB>text[<TAB>slice]`.
 *   - A first line with a field "label", "answer", "text" or "slice" (any
 *     case) is a header naming the columns: "label" or "answer", "text", and
 *     "slice" (optional), in any order; other columns (LegalBench's "index")
 *     are ignored.
 *     Without a header the columns are label, text and optionally slice.
 *     Every line has as many fields as the header (or the first line).
 *   - Labels are Yes or No, in any case, spaces around ignored.
 *   - A field that starts with a double quote is quoted (as spreadsheets and
 *     Python's csv module write it): it ends at the next quote not doubled,
 *     may hold tabs and line breaks, and "" in it is one quote; what follows
 *     its closing quote must be a tab or the end of the line. A field that
 *     does not start with a quote is read as it is, quotes and all.
 *   - Blank lines are skipped; CRLF line ends and a UTF-8 byte order mark
 *     are accepted; the file must be valid UTF-8.
 * Errors name the file and line. Item i (0-based) is the i-th item line;
 * the header and blank lines are not items.
 *
 * Answers file (--predicted): one JSON object per non-blank line,
 *   {"index": N, "answer": "Yes"}
 * N the 0-based item index (an integer 0..n-1; out of range or given twice
 * is an error naming both lines), answer "Yes" or "No" (any case) or null
 * (no answer). Other keys are ignored. An item without an answer is missing.
 *
 * Scores (edge cases are part of the contract):
 *   correct            an answer equal to the label; a missing answer is
 *                      wrong (never left out of n).
 *   accuracy           correct / n.
 *   recall_yes/no      correct / items of that label; NAN when none.
 *   balanced_accuracy  the mean of recall_yes and recall_no over the labels
 *                      present (eval_metrics.h): with only one label in the
 *                      dataset it equals the accuracy.
 *   *_ci               95 % percentile bootstrap over the items
 *                      (eval_bootstrap.h: 1,000 resamples, fixed seed,
 *                      type-7 percentiles); a resample holding one label
 *                      only gets that label's recall as its balanced accuracy.
 *   per slice          n, correct and accuracy of the items of each
 *                      non-empty slice, in order of first appearance; items
 *                      without a slice are in no slice.
 */
#ifndef PRECIS_EVAL_LEGAL_H
#define PRECIS_EVAL_LEGAL_H

#include <stddef.h>

#include "common/error.h"
#include "pipeline/eval/eval_bootstrap.h"

typedef enum eval_answer { EVAL_ANSWER_NONE = 0, EVAL_ANSWER_NO, EVAL_ANSWER_YES } eval_answer;

/* "Yes" / "No" (any case, spaces around ignored) -> *a; -1 for anything else. */
int eval_answer_parse(const char *s, eval_answer *a);
/* "Yes", "No" or NULL (none). */
const char *eval_answer_text(eval_answer a);

typedef struct eval_legal_item {
    eval_answer label;
    char *text;
    char *slice;                 /* "" when none */
    size_t line;                 /* where it starts in the file */
} eval_legal_item;

typedef struct eval_legal_set {
    eval_legal_item *items;      /* file order: item i has index i */
    size_t n, cap;
} eval_legal_set;

/* Read a dataset (see above) into set; 0 or -1 (err names path and line,
 * also "no items"). */
int eval_legal_read(const char *path, eval_legal_set *set, perr *err);
void eval_legal_set_clear(eval_legal_set *set);

/* The same from data[0..len) (need not be NUL-terminated); errors name the line only. */
int eval_legal_parse(const char *data, size_t len, eval_legal_set *set, perr *err);

/* Read an answers file for a dataset of n items into answers[0..n-1] (all
 * set: EVAL_ANSWER_NONE where the file has none). 0 or -1 (err names path
 * and line). */
int eval_legal_answers_read(const char *path, size_t n, eval_answer *answers, perr *err);

/* The same from data[0..len) (need not be NUL-terminated); errors name the line only. */
int eval_legal_answers_parse(const char *data, size_t len, size_t n, eval_answer *answers, perr *err);

typedef struct eval_slice_score {
    const char *slice;           /* points into the set */
    size_t n, correct;
    double accuracy;
} eval_slice_score;

typedef struct eval_legal_report {
    size_t n, correct, missing;
    size_t n_yes, n_no, yes_correct, no_correct;   /* by label */
    size_t answered_yes, answered_no;
    double accuracy, accuracy_ci[2];
    double balanced_accuracy, balanced_accuracy_ci[2];
    double recall_yes, recall_no;                   /* NAN = no item of that label */
    eval_slice_score *slices;
    size_t n_slices;
    eval_bootstrap_options bootstrap;
    /* Where the answers came from, for the JSON (the caller's; NULL = not a model run). */
    const char *task, *model_name, *model_sha256, *prompt_version;
} eval_legal_report;

/* Score answers[0..set->n-1] against set (which rep points into). bo NULL =
 * eval_bootstrap_defaults(). 0, or -1 (err: no items, out of memory). */
int eval_legal_score(const eval_legal_set *set, const eval_answer *answers, const eval_bootstrap_options *bo,
                     eval_legal_report *rep, perr *err);

/* {"kind": "legal", "n", "correct", "missing", "accuracy", "accuracy_ci":
 *  [low, high], "balanced_accuracy", "balanced_accuracy_ci", "recall_yes",
 *  "recall_no", "n_yes", "n_no", "answered_yes", "answered_no", "bootstrap",
 *  "per_slice": [{"slice", "n", "correct", "accuracy"}]}, and when set
 *  "task" and "model": {"name", "sha256", "prompt_version"}; undefined
 *  values are null (malloc'd; NULL when out of memory). */
char *eval_legal_report_json(const eval_legal_report *rep);

void eval_legal_report_clear(eval_legal_report *rep);

#endif
