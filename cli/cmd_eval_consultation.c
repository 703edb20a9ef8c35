/* cmd_eval_consultation.c — `precis eval consultation`: the theme mapping and
 * positions scored against themefinder's expected answers
 * (pipeline/eval/eval_consultation.h), from a predictions file or from a
 * run of the model (the expected responses mapped onto the expected themes
 * as an approved set: sentiment and mapping only); printed as a table or one
 * JSON object. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>
#include <glib.h>

#include "cli/eval_kinds.h"
#include "daemon/config.h"
#include "daemon/pipeline_setup.h"
#include "pipeline/consultation/consultation.h"
#include "pipeline/consultation/consultation_eval.h"
#include "pipeline/consultation/theme_set.h"
#include "pipeline/eval/eval_consultation.h"
#include "pipeline/pipeline.h"

extern char **environ;

static const cli_command cmd_eval_consultation = {
    .name = "eval consultation",
    .summary = "consultation theme mapping and positions against expected answers",
    .usage = "",
    .run = eval_consultation_main,
};

typedef struct eval_args {
    const char *expected, *predicted;
    const char *model, *config_path, *save_path;   /* model mode */
    int question, as_json;
} eval_args;

static int take_option(void *args, int opt, const char *arg)
{
    eval_args *a = args;
    switch (opt) {
    case 'e': a->expected = arg; return 0;
    case 'p': a->predicted = arg; return 0;
    case 'q': return cli_option_int(&cmd_eval_consultation, "--question", arg, 1, 1000, &a->question);
    case 'j': a->as_json = 1; return 0;
    case 'm': a->model = arg; return 0;
    case 'c': a->config_path = arg; return 0;
    case 's': a->save_path = arg; return 0;
    default: return CLI_OPTION_UNKNOWN;
    }
}

static int parse_args(int argc, char **argv, eval_args *a)
{
    static const struct option options[] = {
        {"expected", required_argument, NULL, 'e'}, {"predicted", required_argument, NULL, 'p'},
        {"question", required_argument, NULL, 'q'}, {"json", no_argument, NULL, 'j'},
        {"model", required_argument, NULL, 'm'},    {"config", required_argument, NULL, 'c'},
        {"save-predicted", required_argument, NULL, 's'}, {NULL, 0, NULL, 0},
    };
    static const cli_options parser = {.shortopts = "e:p:q:m:c:", .longopts = options, .take = take_option};
    *a = (eval_args){.question = 1};
    int first;
    int rc = cli_parse_options(&cmd_eval_consultation, &parser, argc, argv, a, &first);
    if (rc == 0 && !a->expected)
        rc = cli_usage_error(&cmd_eval_consultation, "--expected DIR is required");
    if (rc == 0 && a->predicted && (a->model || a->save_path))
        rc = cli_usage_error(&cmd_eval_consultation, "--model and --save-predicted are for model mode (no --predicted)");
    return rc;
}

/* A score, or "-" when undefined. */
static void print_score(double v)
{
    if (isnan(v))
        printf("  %9s", "-");
    else
        printf("  %9.4f", v);
}

static void print_table(const eval_args *a, const eval_consultation_report *r)
{
    printf("Consultation evaluation of question %d: %zu responses (%s)\n", a->question, r->n, a->expected);
    printf("mapping F1   %.4f  95%% CI [%.4f, %.4f]  (%zu bootstrap resamples of the responses, seed %llu)\n",
           r->mapping_f1, r->mapping_f1_ci[0], r->mapping_f1_ci[1], r->bootstrap.resamples,
           (unsigned long long)r->bootstrap.seed);
    printf("exact match  %.4f  (%zu of %zu)\n", r->exact_match, r->exact, r->n);
    if (r->n_sentiment)
        printf("sentiment    %.4f  (%zu of %zu responses with an expected position)\n", r->sentiment_accuracy,
               r->sentiment_correct, r->n_sentiment);
    else
        printf("sentiment    -  (no expected positions)\n");
    printf("missing      %zu responses without predicted labels; %zu predictions of other responses ignored\n",
           r->missing, r->extra);
    printf("\nTheme    Support  Predicted  Precision     Recall  Label\n");
    for (size_t i = 0; i < r->n_themes; i++) {
        const eval_theme_score *s = &r->themes[i];
        printf("%-5s  %9zu  %9zu", s->id, s->support, s->predicted);
        print_score(s->precision);
        print_score(s->recall);
        printf("  %s\n", s->label);
    }
}

static int score(const eval_args *a, const eval_consultation_set *set, const eval_items *predicted, perr *err)
{
    eval_consultation_report rep;
    int rc = eval_consultation_score(set, predicted, NULL, &rep, err);
    if (rc == 0 && a->as_json) {
        char *json = eval_consultation_report_json(&rep);
        rc = json ? 0 : perr_set(err, "out of memory");
        if (json)
            printf("%s\n", json);
        free(json);
    } else if (rc == 0) {
        print_table(a, &rep);
    }
    if (rc == 0)
        eval_consultation_report_clear(&rep);
    return rc;
}

/* ---- model mode ------------------------------------------------------------------------- */

/* The expected themes as an approved set (ids are single letters A..Z). */
static int expected_theme_set(const eval_consultation_set *set, theme_set *ts, perr *err)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < set->n_themes; i++) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "id", set->themes[i].id);
        cJSON_AddStringToObject(t, "label", set->themes[i].label);
        cJSON_AddStringToObject(t, "description", set->themes[i].description);
        cJSON_AddItemToArray(arr, t);
    }
    char *json = arr ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    int rc = json ? theme_set_parse(json, strlen(json), THEME_SET_JSON, ts, err) : perr_set(err, "out of memory");
    free(json);
    return rc == 0 ? 0 : perr_prefix(err, "the expected themes as an approved set");
}

/* The question text of question_part_N_question.json ("" when absent). */
static char *expected_question(const eval_consultation_set *set)
{
    gchar *text = NULL;
    gsize len = 0;
    char *q = NULL;
    if (set->question_path && g_file_get_contents(set->question_path, &text, &len, NULL)) {
        cJSON *j = cJSON_ParseWithLength(text, len);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "question_text");
        q = strdup(cJSON_IsString(v) ? v->valuestring : "");
        cJSON_Delete(j);
        g_free(text);
    }
    return q ? q : strdup("");
}

/* The predictions as the lines --predicted reads, to path. */
static int save_predictions(const char *path, const eval_items *items, perr *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return perr_errno(err, "cannot write %s", path);
    for (size_t i = 0; i < items->n; i++) {
        const eval_item *it = &items->items[i];
        cJSON *o = cJSON_CreateObject(), *labels = cJSON_AddArrayToObject(o, "labels");
        cJSON_AddStringToObject(o, "response_id", it->id);
        for (size_t k = 0; k < it->n_labels; k++)
            cJSON_AddItemToArray(labels, cJSON_CreateString(it->labels[k]));
        if (it->position[0])
            cJSON_AddStringToObject(o, "position", it->position);
        char *line = cJSON_PrintUnformatted(o);
        if (line)
            fprintf(f, "%s\n", line);
        free(line);
        cJSON_Delete(o);
    }
    return fclose(f) == 0 ? 0 : perr_errno(err, "writing %s", path);
}

/* The consultation in approved mode over the expected responses. */
static int run_consultation(const eval_args *a, const theme_set *ts, const response_set *rs, const char *question,
                            consultation_result *res, perr *err)
{
    config *cfg = NULL;
    pipeline *p = NULL;
    pipeline_setup_overrides ov = {.model_path = a->model};
    int rc = config_load(&cfg, a->config_path, environ, err);
    if (rc == 0)
        rc = pipeline_setup(cfg, &ov, &p, err);
    analysis_input in;
    if (rc == 0)
        rc = pipeline_analysis_input(p, "consultation", &in, err);
    consultation_options opt = {.approved = ts};
    if (rc == 0) {
        fprintf(stderr, "precis eval consultation: mapping %zu responses onto %zu expected themes\n", rs->n, ts->n);
        rc = consultation_run(&in, question, rs, &opt, res, err);
    }
    if (rc == 0)
        fprintf(stderr, "precis eval consultation: %d model calls, %ld prompt + %ld generated tokens, %zu unassigned, "
                "%zu unprocessable\n", res->out.calls, res->out.prompt_tokens, res->out.completion_tokens,
                res->n_unassigned, res->n_unprocessable);
    pipeline_free(p);
    config_free(cfg);
    return rc;
}

/* Model mode: the predictions of a run of the model. */
static int model_predictions(const eval_args *a, const eval_consultation_set *set, eval_items *out, perr *err)
{
    theme_set ts = {0};
    response_set rs = {0};
    consultation_result res = {0};
    responses_options ro = {0};
    char *question = expected_question(set);
    int rc = question ? expected_theme_set(set, &ts, err) : perr_set(err, "out of memory");
    if (rc == 0)
        rc = responses_load_file(set->responses_path, &ro, &rs, err);
    if (rc == 0)
        rc = run_consultation(a, &ts, &rs, question, &res, err);
    if (rc == 0)
        rc = consultation_eval_predictions(&res, NULL, out, err);
    if (rc == 0 && a->save_path)
        rc = save_predictions(a->save_path, out, err);
    consultation_result_clear(&res);
    responses_clear(&rs);
    theme_set_clear(&ts);
    free(question);
    return rc;
}

int eval_consultation_main(int argc, char **argv)
{
    eval_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc;
    eval_consultation_set set;
    perr err;
    rc = eval_consultation_load(a.expected, a.question, &set, &err);
    eval_items predicted = {0};
    if (rc == 0 && a.predicted)
        rc = eval_items_read(a.predicted, EVAL_NEED_LABELS, &predicted, &err);
    else if (rc == 0)
        rc = model_predictions(&a, &set, &predicted, &err);
    if (rc == 0)
        rc = score(&a, &set, &predicted, &err);
    eval_items_clear(&predicted);
    eval_consultation_set_clear(&set);
    if (rc != 0) {
        fprintf(stderr, "precis eval consultation: %s\n", err.msg);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}
