/* cmd_eval.c — `precis eval KIND`: precis measures its own accuracy against
 * expected answers. Dispatches to one kind (cli/eval_kinds.h); the usage
 * text documents them all. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/eval_kinds.h"

static int eval_main(int argc, char **argv);

const cli_command cmd_eval = {
    .name = "eval",
    .summary = "measure precis's accuracy against expected answers (consultation, legal)",
    .usage =
        "usage: precis eval consultation --expected DIR [--question N] [--json]\n"
        "                                [--predicted FILE | -m MODEL [-c FILE] [--save-predicted FILE]]\n"
        "       precis eval legal --dataset FILE [--json]\n"
        "                         [--predicted FILE | -m MODEL [-c FILE] [--save-predicted FILE]]\n"
        "\n"
        "Score precis against expected answers and print the scores with a 95%\n"
        "bootstrap confidence interval.\n"
        "\n"
        "consultation: theme mapping and positions against themefinder's evaluation\n"
        "layout in DIR, for question N (default 1): qN_expected_themes.json,\n"
        "qN_expected_mapping.jsonl ({\"response_id\", \"labels\": [...]}),\n"
        "qN_expected_sentiment.jsonl ({\"response_id\", \"position\"}, optional) and\n"
        "question_part_N_responses.jsonl.\n"
        "  --predicted FILE scores FILE's lines {\"response_id\": ..., \"labels\": [...],\n"
        "  \"position\": ...} (id a number or a string; position optional) without a model.\n"
        "  Without it the model maps the expected responses onto the expected themes\n"
        "  (model mode: the consultation with the themes as an approved set, sentiment\n"
        "  and mapping only; -m MODEL and -c FILE as for `precis consult`), and\n"
        "  --save-predicted FILE keeps its answers in --predicted's form.\n"
        "  Scores, over the N responses of the expected mapping:\n"
        "    mapping F1     per response 2|P&E|/(|P|+|E|) of the predicted set P and the\n"
        "                   expected set E, then the mean (sample-averaged); both empty\n"
        "                   = 1; a response without a prediction counts as P empty\n"
        "    95% CI         percentile bootstrap: 1,000 resamples of the responses with\n"
        "                   replacement, fixed seed, percentiles by linear interpolation\n"
        "                   between closest ranks (type 7, numpy's default)\n"
        "    exact match    share of responses with P = E\n"
        "    per theme      support (expected), predicted, precision, recall (\"-\" when\n"
        "                   the denominator is 0)\n"
        "    sentiment      accuracy over the responses with an expected position; a\n"
        "                   missing predicted position is wrong\n"
        "\n"
        "  -e, --expected DIR   the expected answers (required)\n"
        "  -q, --question N     question number (default 1)\n"
        "  -p, --predicted FILE predictions to score (JSONL)\n"
        "      --json           one JSON object: n, mapping_f1, mapping_f1_ci [low, high],\n"
        "                       exact_match, sentiment_accuracy, n_sentiment, missing,\n"
        "                       extra, bootstrap, per_theme [{theme, label, support,\n"
        "                       predicted, true_positives, precision, recall}]\n"
        "\n"
        "legal: Yes/No questions (is this evidence hearsay?) against labelled items,\n"
        "e.g. LegalBench's hearsay task or your organisation's own labelled sample.\n"
        "  The dataset is tab-separated, one item per line: label<TAB>text[<TAB>slice],\n"
        "  label Yes or No (any case). An optional header line names the columns\n"
        "  (label or answer, text, slice; others are ignored). A field that starts with\n"
        "  a double quote is quoted: it may hold tabs and line breaks, \"\" is one quote.\n"
        "  Blank lines are skipped. Item N is the N-th item line, counted from 0.\n"
        "  Errors name the line.\n"
        "  Without --predicted the model answers each item through prompts/hearsay.json\n"
        "  (its answer constrained to {\"answer\": \"Yes\"|\"No\"}), items batched across\n"
        "  [engine] parallel slots, progress on stderr; --save-predicted FILE keeps\n"
        "  its answers in --predicted's form.\n"
        "  --predicted FILE scores FILE's lines {\"index\": N, \"answer\": \"Yes\"} (N the\n"
        "  0-based item, answer Yes, No or null) without a model; an index out of\n"
        "  range or given twice is an error.\n"
        "  Scores, over the N items:\n"
        "    accuracy       share answered right; an item without an answer is wrong\n"
        "    balanced       mean of the recall of Yes and of No (the share of the Yes\n"
        "    accuracy       items answered Yes, of the No items answered No); with only\n"
        "                   one label in the dataset, that label's recall (= accuracy)\n"
        "    95% CI         of both, percentile bootstrap over the items as above\n"
        "    per slice      items, correct and accuracy of each slice\n"
        "  To evaluate before trusting a model: label a sample of your own cases in\n"
        "  this format, run `precis eval legal --dataset sample.tsv -m MODEL`, and\n"
        "  compare the CI's lower bound, not the accuracy alone, with what you need.\n"
        "\n"
        "  -d, --dataset FILE     the labelled items (required)\n"
        "  -p, --predicted FILE   answers to score (JSONL)\n"
        "  -m, --model FILE       GGUF model (default as `precis run`)\n"
        "  -c, --config FILE      configuration ([engine], [pipeline] prompts_dir)\n"
        "      --save-predicted FILE\n"
        "                         write the model's answers (JSONL, as --predicted reads)\n"
        "      --json             one JSON object: n, correct, missing, accuracy,\n"
        "                         accuracy_ci [low, high], balanced_accuracy,\n"
        "                         balanced_accuracy_ci, recall_yes, recall_no, n_yes,\n"
        "                         n_no, answered_yes, answered_no, bootstrap, per_slice\n"
        "                         [{slice, n, correct, accuracy}]; with a model also\n"
        "                         task and model {name, sha256, prompt_version}\n"
        "\n"
        "Exit status: 0 scored, 1 failure (unreadable files, model mode), 2 usage error.\n",
    .run = eval_main,
};

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} kinds[] = {
    {"consultation", eval_consultation_main},
    {"legal", eval_legal_main},
};

static int eval_main(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error(&cmd_eval, "give a kind: consultation or legal");
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(argv[1], kinds[i].name) == 0)
            return kinds[i].run(argc - 1, argv + 1);
    return cli_usage_error(&cmd_eval, "unknown kind '%s' (known: consultation, legal)", argv[1]);
}
