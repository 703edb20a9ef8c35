/* eval_consultation.c — scores of predicted theme labels and positions
 * against expected ones, and the report as JSON (see eval_consultation.h). */
#include "pipeline/eval/eval_consultation.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "pipeline/eval/eval_json.h"
#include "pipeline/eval/eval_metrics.h"

typedef struct theme_table {
    eval_theme_score *items;
    size_t n, cap;
} theme_table;

/* The row of label, added (with label "") when new; NULL when out of memory. */
static eval_theme_score *theme_row(theme_table *t, const char *id)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->items[i].id, id) == 0)
            return &t->items[i];
    eval_theme_score *grown = grow_to(t->items, &t->cap, t->n + 1, sizeof *grown, 16);
    if (!grown)
        return NULL;
    t->items = grown;
    t->items[t->n] = (eval_theme_score){.id = id, .label = ""};
    return &t->items[t->n++];
}

/* Labels of it in both sets. */
static size_t common_labels(const eval_item *expected, const eval_item *predicted)
{
    size_t k = 0;
    for (size_t i = 0; predicted && i < predicted->n_labels; i++)
        k += (size_t)eval_item_has(expected, predicted->labels[i]);
    return k;
}

/* One expected response against its prediction (NULL = none). */
static int score_response(const eval_item *e, const eval_item *p, theme_table *t, eval_consultation_report *rep,
                          perr *err)
{
    size_t n_pred = p ? p->n_labels : 0, common = common_labels(e, p);
    rep->f1[rep->n] = eval_set_f1(common, n_pred, e->n_labels);
    rep->exact += common == n_pred && common == e->n_labels;
    rep->missing += !p;
    for (size_t i = 0; i < e->n_labels; i++) {
        eval_theme_score *row = theme_row(t, e->labels[i]);
        if (!row)
            return perr_set(err, "out of memory");
        row->support++;
        row->tp += (size_t)(p && eval_item_has(p, e->labels[i]));
    }
    for (size_t i = 0; i < n_pred; i++) {
        eval_theme_score *row = theme_row(t, p->labels[i]);
        if (!row)
            return perr_set(err, "out of memory");
        row->predicted++;
    }
    rep->n++;
    return 0;
}

static int score_all(const eval_consultation_set *set, const eval_items *predicted, theme_table *t,
                     eval_consultation_report *rep, perr *err)
{
    eval_item **index = eval_items_index(predicted);
    if (!index)
        return perr_set(err, "out of memory");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < set->expected.n; i++) {
        const eval_item *e = &set->expected.items[i];
        const eval_item *p = eval_items_lookup(index, predicted->n, e->id);
        if (e->has_labels)
            rc = score_response(e, p && p->has_labels ? p : NULL, t, rep, err);
        if (e->position[0]) {
            rep->n_sentiment++;
            rep->sentiment_correct += p && strcmp(p->position, e->position) == 0;
        }
    }
    free(index);
    /* Predictions of responses that are not expected. */
    eval_item **expected = rc == 0 ? eval_items_index(&set->expected) : NULL;
    if (rc == 0 && !expected)
        rc = perr_set(err, "out of memory");
    for (size_t i = 0; rc == 0 && i < predicted->n; i++)
        rep->extra += !eval_items_lookup(expected, set->expected.n, predicted->items[i].id);
    free(expected);
    return rc;
}

int eval_consultation_score(const eval_consultation_set *set, const eval_items *predicted,
                            const eval_bootstrap_options *bo, eval_consultation_report *rep, perr *err)
{
    *rep = (eval_consultation_report){.bootstrap = bo ? *bo : eval_bootstrap_defaults()};
    if (rep->bootstrap.resamples == 0)
        rep->bootstrap.resamples = EVAL_BOOTSTRAP_RESAMPLES;
    if (rep->bootstrap.level == 0)
        rep->bootstrap.level = EVAL_BOOTSTRAP_LEVEL;
    theme_table t = {0};
    int rc = (rep->f1 = calloc(set->expected.n ? set->expected.n : 1, sizeof *rep->f1)) ? 0 : perr_set(err, "out of memory");
    for (size_t i = 0; rc == 0 && i < set->n_themes; i++) {
        eval_theme_score *row = theme_row(&t, set->themes[i].id);
        if (row)
            row->label = set->themes[i].label;
        else
            rc = perr_set(err, "out of memory");
    }
    if (rc == 0)
        rc = score_all(set, predicted, &t, rep, err);
    rep->themes = t.items;
    rep->n_themes = t.n;
    if (rc == 0 && rep->n == 0)
        rc = perr_set(err, "no expected mapping: nothing to score");
    if (rc == 0)
        rc = eval_bootstrap_mean_ci(rep->f1, rep->n, &rep->bootstrap, rep->mapping_f1_ci, err);
    if (rc != 0) {
        eval_consultation_report_clear(rep);
        return -1;
    }
    rep->mapping_f1 = eval_mean(rep->f1, rep->n);
    rep->exact_match = (double)rep->exact / (double)rep->n;
    rep->sentiment_accuracy = rep->n_sentiment ? (double)rep->sentiment_correct / (double)rep->n_sentiment : NAN;
    for (size_t i = 0; i < rep->n_themes; i++) {
        eval_theme_score *row = &rep->themes[i];
        row->precision = eval_precision(row->tp, row->predicted - row->tp);
        row->recall = eval_recall(row->tp, row->support - row->tp);
    }
    return 0;
}

void eval_consultation_report_clear(eval_consultation_report *rep)
{
    free(rep->f1);
    free(rep->themes);
    *rep = (eval_consultation_report){0};
}

static cJSON *theme_json(const eval_theme_score *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "theme", s->id);
    cJSON_AddStringToObject(o, "label", s->label);
    cJSON_AddNumberToObject(o, "support", (double)s->support);
    cJSON_AddNumberToObject(o, "predicted", (double)s->predicted);
    cJSON_AddNumberToObject(o, "true_positives", (double)s->tp);
    eval_json_add_number(o, "precision", s->precision);
    eval_json_add_number(o, "recall", s->recall);
    return o;
}

char *eval_consultation_report_json(const eval_consultation_report *rep)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "kind", "consultation");
    cJSON_AddNumberToObject(o, "n", (double)rep->n);
    cJSON_AddNumberToObject(o, "mapping_f1", rep->mapping_f1);
    eval_json_add_interval(o, "mapping_f1_ci", rep->mapping_f1_ci);
    cJSON_AddNumberToObject(o, "exact_match", rep->exact_match);
    eval_json_add_number(o, "sentiment_accuracy", rep->sentiment_accuracy);
    cJSON_AddNumberToObject(o, "n_sentiment", (double)rep->n_sentiment);
    cJSON_AddNumberToObject(o, "missing", (double)rep->missing);
    cJSON_AddNumberToObject(o, "extra", (double)rep->extra);
    eval_json_add_bootstrap(o, &rep->bootstrap);
    cJSON *themes = cJSON_AddArrayToObject(o, "per_theme");
    for (size_t i = 0; themes && i < rep->n_themes; i++)
        cJSON_AddItemToArray(themes, theme_json(&rep->themes[i]));
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}
