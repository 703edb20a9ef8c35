/* cmd_eval_legal.c — `precis eval legal`: labelled Yes/No items (LegalBench's
 * hearsay task, or an organisation's own sample in the same format) answered
 * by the model through prompts/hearsay.json, or read from an answers file,
 * and scored (pipeline/eval/eval_legal.h); printed as a table or one JSON
 * object. Progress of a model run goes to stderr. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/eval_kinds.h"
#include "common/monotonic.h"
#include "daemon/config.h"
#include "daemon/pipeline_setup.h"
#include "pipeline/analyses/yes_no.h"
#include "pipeline/eval/eval_legal.h"
#include "pipeline/llm/prompt.h"

extern char **environ;

#define LEGAL_TASK "hearsay"
/* Items whose failure is shown one by one on stderr (the rest are counted). */
#define SHOWN_FAILURES 5

static const cli_command cmd_eval_legal = {
    .name = "eval legal",
    .summary = "Yes/No legal questions (hearsay) against labelled items",
    .usage = "",
    .run = eval_legal_main,
};

typedef struct legal_args {
    const char *dataset, *predicted, *save_path, *model, *config_path;
    int as_json;
} legal_args;

static int take_option(void *args, int opt, const char *arg)
{
    legal_args *a = args;
    switch (opt) {
    case 'd': a->dataset = arg; return 0;
    case 'p': a->predicted = arg; return 0;
    case 's': a->save_path = arg; return 0;
    case 'm': a->model = arg; return 0;
    case 'c': a->config_path = arg; return 0;
    case 'j': a->as_json = 1; return 0;
    default: return CLI_OPTION_UNKNOWN;
    }
}

static int parse_args(int argc, char **argv, legal_args *a)
{
    static const struct option options[] = {
        {"dataset", required_argument, NULL, 'd'}, {"predicted", required_argument, NULL, 'p'},
        {"save-predicted", required_argument, NULL, 's'}, {"model", required_argument, NULL, 'm'},
        {"config", required_argument, NULL, 'c'}, {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    static const cli_options parser = {.shortopts = "d:p:m:c:", .longopts = options, .take = take_option};
    *a = (legal_args){0};
    int first;
    int rc = cli_parse_options(&cmd_eval_legal, &parser, argc, argv, a, &first);
    if (rc == 0 && !a->dataset)
        rc = cli_usage_error(&cmd_eval_legal, "--dataset FILE is required");
    if (rc == 0 && a->predicted && (a->save_path || a->model))
        rc = cli_usage_error(&cmd_eval_legal, "--model and --save-predicted are for model mode (no --predicted)");
    return rc;
}

/* ---- model mode -------------------------------------------------------------------- */

typedef struct progress {
    double start;
} progress;

static void show_progress(void *ctx, size_t done, size_t n)
{
    const progress *p = ctx;
    fprintf(stderr, "precis eval legal: %zu of %zu items answered (%.1f s)\n", done, n, monotonic_seconds() - p->start);
}

/* {"index": i, "answer": "Yes" | "No" | null, "error"?} per item, as --predicted reads them. */
static char *answers_jsonl(const yes_no_result *res, size_t n)
{
    prompt_text t = {0};
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "index", (double)i);
        const char *a = eval_answer_text(res[i].answer == YES_NO_YES ? EVAL_ANSWER_YES
                                         : res[i].answer == YES_NO_NO ? EVAL_ANSWER_NO : EVAL_ANSWER_NONE);
        cJSON_AddItemToObject(o, "answer", a ? cJSON_CreateString(a) : cJSON_CreateNull());
        if (!a)
            cJSON_AddStringToObject(o, "error", res[i].error);
        char *line = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (!line)
            t.failed = 1;
        else
            prompt_text_add(&t, "%s\n", line);
        free(line);
    }
    return prompt_text_finish(&t);
}

/* The model's answers to set's items into answers; failures shown on stderr. */
static int collect(const eval_legal_set *set, const yes_no_result *res, const legal_args *a, eval_answer *answers,
                   perr *err)
{
    size_t failed = 0;
    for (size_t i = 0; i < set->n; i++) {
        answers[i] = res[i].answer == YES_NO_YES ? EVAL_ANSWER_YES : res[i].answer == YES_NO_NO ? EVAL_ANSWER_NO
                                                                                                : EVAL_ANSWER_NONE;
        if (answers[i] == EVAL_ANSWER_NONE && failed++ < SHOWN_FAILURES)
            fprintf(stderr, "precis eval legal: item %zu (line %zu) has no answer (counted wrong): %s\n", i,
                    set->items[i].line, res[i].error);
    }
    if (failed > SHOWN_FAILURES)
        fprintf(stderr, "precis eval legal: %zu more items have no answer\n", failed - SHOWN_FAILURES);
    if (!a->save_path)
        return 0;
    char *text = answers_jsonl(res, set->n);
    int rc = text ? cli_write_file(a->save_path, text, err) : perr_set(err, "out of memory");
    free(text);
    return rc;
}

/* Ask the model every item's question (prompts/hearsay.json). */
static int ask_model(const legal_args *a, const eval_legal_set *set, eval_answer *answers, eval_legal_report *who,
                     pipeline **pp, perr *err)
{
    config *cfg = NULL;
    pipeline_setup_overrides ov = {.model_path = a->model};
    int rc = config_load(&cfg, a->config_path, environ, err);
    if (rc == 0)
        rc = pipeline_setup(cfg, &ov, pp, err);
    config_free(cfg);
    analysis_input in;
    if (rc == 0)
        rc = pipeline_analysis_input(*pp, LEGAL_TASK, &in, err);
    const char **texts = rc == 0 ? malloc(set->n * sizeof *texts) : NULL;
    yes_no_result *res = rc == 0 ? calloc(set->n, sizeof *res) : NULL;
    if (rc == 0 && (!texts || !res))
        rc = perr_set(err, "out of memory");
    for (size_t i = 0; rc == 0 && i < set->n; i++)
        texts[i] = set->items[i].text;
    progress pr = {.start = monotonic_seconds()};
    analysis_output out = {0};
    if (rc == 0) {
        fprintf(stderr, "precis eval legal: asking %s about %zu items, %d at once\n", llm_model_name(in.llm), set->n,
                llm_n_parallel(in.llm));
        rc = yes_no_ask(&in, texts, set->n, 0, show_progress, &pr, res, &out, err);
    }
    if (rc == 0)
        rc = collect(set, res, a, answers, err);
    if (rc == 0)
        *who = (eval_legal_report){.task = LEGAL_TASK, .model_name = llm_model_name(in.llm),
                                   .model_sha256 = llm_model_sha256(in.llm), .prompt_version = in.prompt->version};
    analysis_output_clear(&out);
    free(texts);
    free(res);
    return rc == 0 ? 0 : -1;
}

/* ---- output ------------------------------------------------------------------------- */

/* "recall Yes         0.5000  (3 of 6)", "-" when there are no items of that label. */
static void print_recall(const char *label, double recall, size_t right, size_t total)
{
    printf("recall %-3s         ", label);
    if (isnan(recall))
        printf("-     ");
    else
        printf("%.4f", recall);
    printf("  (%zu of %zu)\n", right, total);
}

static void print_table(const legal_args *a, const eval_legal_report *r)
{
    if (a->predicted)
        printf("Legal evaluation: %zu items from %s, answers from %s\n", r->n, a->dataset, a->predicted);
    else
        printf("Legal evaluation (%s): %zu items from %s\n", r->task, r->n, a->dataset);
    printf("accuracy           %.4f  95%% CI [%.4f, %.4f]  (%zu of %zu; %zu bootstrap resamples of the items, seed "
           "%llu)\n", r->accuracy, r->accuracy_ci[0], r->accuracy_ci[1], r->correct, r->n, r->bootstrap.resamples,
           (unsigned long long)r->bootstrap.seed);
    printf("balanced accuracy  %.4f  95%% CI [%.4f, %.4f]  (mean of the recall of Yes and of No)\n",
           r->balanced_accuracy, r->balanced_accuracy_ci[0], r->balanced_accuracy_ci[1]);
    print_recall("Yes", r->recall_yes, r->yes_correct, r->n_yes);
    print_recall("No", r->recall_no, r->no_correct, r->n_no);
    printf("answers            %zu Yes, %zu No, %zu missing (counted wrong)\n", r->answered_yes, r->answered_no,
           r->missing);
    if (r->model_name)
        printf("model              %s (sha256 %.16s), prompt %s version %.16s\n", r->model_name, r->model_sha256,
               r->task, r->prompt_version);
    if (!r->n_slices)
        return;
    printf("\n%-32s %7s %8s %9s\n", "Slice", "Items", "Correct", "Accuracy");
    for (size_t i = 0; i < r->n_slices; i++)
        printf("%-32.32s %7zu %8zu %9.4f\n", r->slices[i].slice, r->slices[i].n, r->slices[i].correct,
               r->slices[i].accuracy);
}

static int report(const legal_args *a, const eval_legal_set *set, const eval_answer *answers,
                  const eval_legal_report *who, perr *err)
{
    eval_legal_report rep;
    if (eval_legal_score(set, answers, NULL, &rep, err) != 0)
        return -1;
    rep.task = who->task;
    rep.model_name = who->model_name;
    rep.model_sha256 = who->model_sha256;
    rep.prompt_version = who->prompt_version;
    int rc = 0;
    if (a->as_json) {
        char *json = eval_legal_report_json(&rep);
        rc = json ? 0 : perr_set(err, "out of memory");
        if (json)
            printf("%s\n", json);
        free(json);
    } else {
        print_table(a, &rep);
    }
    eval_legal_report_clear(&rep);
    return rc;
}

int eval_legal_main(int argc, char **argv)
{
    legal_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc;
    eval_legal_set set;
    eval_legal_report who = {0};
    pipeline *p = NULL;
    perr err;
    eval_answer *answers = NULL;
    rc = eval_legal_read(a.dataset, &set, &err);
    if (rc == 0 && !(answers = calloc(set.n, sizeof *answers)))
        rc = perr_set(&err, "out of memory");
    if (rc == 0)
        rc = a.predicted ? eval_legal_answers_read(a.predicted, set.n, answers, &err)
                         : ask_model(&a, &set, answers, &who, &p, &err);
    if (rc == 0)
        rc = report(&a, &set, answers, &who, &err);
    pipeline_free(p);
    free(answers);
    eval_legal_set_clear(&set);
    if (rc != 0) {
        fprintf(stderr, "precis eval legal: %s\n", err.msg);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}
