/* eval_consultation.h — how well a consultation's theme mapping and positions
 * match expected ones: themefinder's evaluation layout read from a
 * directory, and the scores of predicted labels and positions against it.
 * Nothing here runs a model or knows pipeline/consultation/: predictions come
 * as eval_items (a file, or a run converted by the caller).
 *
 * Layout of DIR for question N (themefinder's evals):
 *   qN_expected_themes.json           [{"topic_id": "A", "topic_label": ..., ...}]
 *   qN_expected_mapping.jsonl         {"response_id": 1001, "labels": ["A", "D"], ...}
 *   qN_expected_sentiment.jsonl       {"response_id": 1001, "position": "AGREE"} (optional)
 *   question_part_N_responses.jsonl   the responses (model mode)
 *   question_part_N_question.json     {"question_text": ...} (model mode)
 *
 * Scores (edge cases are part of the contract):
 *   n                 responses of the expected mapping; the mapping scores are over them.
 *   per-response F1   eval_set_f1 of the predicted against the expected label set;
 *                     a response without a prediction (missing, or no "labels")
 *                     counts as an empty prediction: F1 0 unless nothing was
 *                     expected (both empty = 1).
 *   mapping_f1        the mean of the n per-response F1 (sample-averaged F1).
 *   mapping_f1_ci     the 95 % percentile-bootstrap interval of that mean over
 *                     responses (eval_bootstrap.h: 1,000 resamples, fixed seed,
 *                     type-7 percentiles).
 *   exact_match       the share of the n responses whose predicted set equals
 *                     the expected set (order and repeats ignored).
 *   per theme         support (expected responses with it), predicted (responses
 *                     predicted with it), tp (both), precision tp/predicted and
 *                     recall tp/support (NAN when the denominator is 0); every
 *                     theme of the themes file in file order, then any other
 *                     label seen (expected first, then predicted).
 *   sentiment         over the responses with an expected position: correct when
 *                     the predicted position is the same text; a missing one is
 *                     wrong. NAN when no response has an expected position.
 *   extra             predictions for responses that are not expected (ignored).
 */
#ifndef PRECIS_EVAL_CONSULTATION_H
#define PRECIS_EVAL_CONSULTATION_H

#include <stddef.h>

#include "common/error.h"
#include "pipeline/eval/eval_bootstrap.h"
#include "pipeline/eval/eval_items.h"

typedef struct eval_theme {
    char *id, *label, *description;   /* label, description "" when the file has none */
} eval_theme;

/* One question's expected answers. */
typedef struct eval_consultation_set {
    eval_items expected;         /* labels from the mapping, positions from the sentiment file */
    eval_theme *themes;
    size_t n_themes;
    char *responses_path;        /* question_part_N_responses.jsonl (may not exist) */
    char *question_path;         /* question_part_N_question.json (may not exist) */
} eval_consultation_set;

/* Read DIR's files for question (>= 1); the sentiment file is optional.
 * 0 or -1 (err names the file and line). */
int eval_consultation_load(const char *dir, int question, eval_consultation_set *set, perr *err);
void eval_consultation_set_clear(eval_consultation_set *set);

/* [{"topic_id", "topic_label", "topic_description"}] (or "id", "label",
 * "description") from path; ids unique. */
int eval_themes_read(const char *path, eval_theme **themes, size_t *n, perr *err);

typedef struct eval_theme_score {
    const char *id, *label;      /* point into the themes or items; label "" when unknown */
    size_t support, predicted, tp;
    double precision, recall;    /* NAN = undefined */
} eval_theme_score;

typedef struct eval_consultation_report {
    size_t n;                    /* responses of the expected mapping */
    double *f1;                  /* per response, in expected order */
    double mapping_f1, mapping_f1_ci[2], exact_match;
    size_t exact;                /* responses matched exactly */
    size_t missing;              /* of n, without a predicted label set */
    size_t extra;                /* predictions of responses not expected */
    size_t n_sentiment, sentiment_correct;
    double sentiment_accuracy;
    eval_theme_score *themes;
    size_t n_themes;
    eval_bootstrap_options bootstrap;
} eval_consultation_report;

/* Score predicted against set (which it must outlive: rep points into both).
 * bo NULL = eval_bootstrap_defaults(). 0, or -1 (err: no expected mapping,
 * out of memory). */
int eval_consultation_score(const eval_consultation_set *set, const eval_items *predicted,
                            const eval_bootstrap_options *bo, eval_consultation_report *rep, perr *err);

/* {"kind": "consultation", "n", "mapping_f1", "mapping_f1_ci": [low, high],
 *  "exact_match", "sentiment_accuracy", "n_sentiment", "missing", "extra",
 *  "bootstrap": {"resamples", "seed", "level", "percentile"},
 *  "per_theme": [{"theme", "label", "support", "predicted", "true_positives",
 *  "precision", "recall"}]} — undefined values are null (malloc'd). */
char *eval_consultation_report_json(const eval_consultation_report *rep);

void eval_consultation_report_clear(eval_consultation_report *rep);

#endif
