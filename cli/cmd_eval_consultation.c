/* cmd_eval_consultation.c — `precis eval consultation`: the theme mapping and
 * positions scored against themefinder's expected answers
 * (pipeline/eval/eval_consultation.h), from a predictions file; printed as
 * a table or one JSON object. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/eval_kinds.h"
#include "pipeline/eval/eval_consultation.h"

static const cli_command cmd_eval_consultation = {
    .name = "eval consultation",
    .summary = "consultation theme mapping and positions against expected answers",
    .usage = "",
    .run = eval_consultation_main,
};

typedef struct eval_args {
    const char *expected, *predicted;
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
    default: return CLI_OPTION_UNKNOWN;
    }
}

static int parse_args(int argc, char **argv, eval_args *a)
{
    static const struct option options[] = {
        {"expected", required_argument, NULL, 'e'}, {"predicted", required_argument, NULL, 'p'},
        {"question", required_argument, NULL, 'q'}, {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    static const cli_options parser = {.shortopts = "e:p:q:", .longopts = options, .take = take_option};
    *a = (eval_args){.question = 1};
    int first;
    int rc = cli_parse_options(&cmd_eval_consultation, &parser, argc, argv, a, &first);
    if (rc == 0 && !a->expected)
        rc = cli_usage_error(&cmd_eval_consultation, "--expected DIR is required");
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

static int score(const eval_args *a, const eval_consultation_set *set, perr *err)
{
    eval_items predicted = {0};
    eval_consultation_report rep;
    int rc = eval_items_read(a->predicted, EVAL_NEED_LABELS, &predicted, err);
    if (rc == 0)
        rc = eval_consultation_score(set, &predicted, NULL, &rep, err);
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
    eval_items_clear(&predicted);
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
    /* Model mode plugs in here once the approved-theme-set consultation exists
     * (#22 part 1): the responses of set.responses_path and the question of
     * set.question_path run with set.themes as the approved themes, the result
     * turned into predictions by consultation_eval_predictions
     * (pipeline/consultation/consultation_eval.h), then scored as a file is. */
    if (rc == 0 && !a.predicted)
        rc = perr_set(&err, "model mode needs the approved-theme-set consultation (the expected themes given to "
                            "the mapping step), which this build does not have yet; give --predicted FILE");
    if (rc == 0)
        rc = score(&a, &set, &err);
    eval_consultation_set_clear(&set);
    if (rc != 0) {
        fprintf(stderr, "precis eval consultation: %s\n", err.msg);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}
