/* cmd_consult.c — `precis consult`: the consultation analysis over a
 * response file or a collection's stored documents, now, stored in
 * PostgreSQL; the report on stdout. With --themes FILE the responses are
 * mapped onto an analyst's approved theme set instead of finding themes. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <glib.h>

#include "common/log.h"
#include "common/sha256.h"
#include "cli/cli.h"
#include "daemon/config.h"
#include "daemon/pipeline_setup.h"
#include "pipeline/consultation/consultation_flags.h"
#include "pipeline/consultation/consultation_job.h"
#include "store/store_consultation.h"

extern char **environ;

static int consult_main(int argc, char **argv);

const cli_command cmd_consult = {
    .name = "consult",
    .summary = "themes across consultation responses (a CSV/JSONL file or a collection), stored",
    .usage =
        "usage: precis consult --collection C [--file RESPONSES | RESPONSES] [--question TEXT | --question-file F]\n"
        "                      [--themes APPROVED] [options]\n"
        "\n"
        "Run the consultation analysis now: each response's position (AGREE, DISAGREE,\n"
        "UNCLEAR) and whether it is evidence-rich; candidate themes from batches of\n"
        "responses, condensed to at most --max-themes and refined (ids A, B, C...);\n"
        "then every response mapped to one to three themes. A response that cannot be\n"
        "processed is listed with the reason, never dropped; one too long for the\n"
        "context is truncated for that step and flagged.\n"
        "\n"
        "Responses come from --file (CSV with a header, JSONL or a JSON array; ids from\n"
        "a column/key response_id or id, text from response, text or answer), or else\n"
        "from the documents stored in collection C (id: the job's metadata response_id,\n"
        "else the first 12 hex digits of the document's sha256).\n"
        "The run is stored in PostgreSQL ([postgres] conninfo or PG* environment) under\n"
        "collection C and its report printed as JSON on stdout (see `precis themes`).\n"
        "\n"
        "With --themes FILE (an approved theme set: what `precis themes C --export`\n"
        "wrote, edited by an analyst, as JSON or CSV; themefinder's expected_themes.json\n"
        "too) no themes are found: each response gets its position and is mapped to the\n"
        "file's themes, or marked unassigned when none fits. The run records the set\n"
        "(the file's name and sha256, and its themes), which becomes the collection's\n"
        "approved set: later consultation jobs of collection C map their responses onto\n"
        "it as they arrive. Once [consultation] candidate_threshold responses are\n"
        "unassigned, candidate new themes are proposed from them for review (shown by\n"
        "`precis themes C`), never added to the set. Theme ids are letters A..Z (a\n"
        "lower-case letter is taken as its capital; a theme without id gets a free\n"
        "letter); a duplicate or other id, an empty label, more than 26 themes or an\n"
        "unknown key or column is an error naming the theme or line.\n"
        "\n"
        "  -C, --collection C       collection the run belongs to (required)\n"
        "  -f, --file FILE          response file (.csv, .jsonl, .json; else by content);\n"
        "                           also as the one operand RESPONSES\n"
        "  -t, --themes FILE        map onto this approved theme set (.json or .csv)\n"
        "  -q, --question TEXT      the consultation question\n"
        "      --question-file F    the question from a JSON file (\"question_text\" or\n"
        "                           \"question\") or a plain text file\n"
        "      --max-themes N       at most N themes, 1..26 (default 12; not with --themes)\n"
        "      --batch-size N       at most N responses per model call (default 20)\n"
        "      --minority-below N   flag a theme with fewer than N responses as minority\n"
        "                           (default 5; flagged, never removed)\n"
        "      --minority-share S   ... or with a share of all responses under S (default 0.001)\n"
        "      --duplicate-labels J flag two themes as near duplicates when their labels'\n"
        "                           word sets have a Jaccard overlap >= J (default 0.6)\n"
        "      --duplicate-responses J  ... or their response sets do (default 0.8)\n"
        "      --id-column NAME     CSV id column (\"@row\": row numbers)\n"
        "      --text-column NAME   CSV text column\n"
        "      --no-store           do not store; print the full result (--file only)\n"
        "  -c, --config FILE        configuration file (default /etc/precis/precis.conf)\n"
        "  -m, --model FILE         GGUF model (default as `precis run`)\n"
        "\n"
        "Exit status: 0 done and stored, 1 failure, 2 usage error.\n",
    .run = consult_main,
};

typedef struct consult_args {
    const char *config_path, *model, *collection, *file, *question, *question_file, *id_column, *text_column;
    const char *themes;
    int max_themes, batch_size, no_store;
    consultation_flag_options flags;
} consult_args;

static int take_minority(consult_args *a, const char *arg)
{
    int n;
    int rc = cli_option_int(&cmd_consult, "--minority-below", arg, 0, RESPONSES_MAX_ROWS, &n);
    if (rc == 0)
        a->flags.minority_min_responses = (size_t)n;
    return rc;
}

static int take_option(void *args, int opt, const char *arg)
{
    consult_args *a = args;
    switch (opt) {
    case 'C': a->collection = arg; return 0;
    case 'f': a->file = arg; return 0;
    case 't': a->themes = arg; return 0;
    case 'q': a->question = arg; return 0;
    case 'Q': a->question_file = arg; return 0;
    case 'T': return cli_option_int(&cmd_consult, "--max-themes", arg, 1, CONSULTATION_MAX_THEMES, &a->max_themes);
    case 'B': return cli_option_int(&cmd_consult, "--batch-size", arg, 1, 1000, &a->batch_size);
    case 'I': a->id_column = arg; return 0;
    case 'X': a->text_column = arg; return 0;
    case 'S': a->no_store = 1; return 0;
    case 'M': return take_minority(a, arg);
    case 'H': return cli_option_double(&cmd_consult, "--minority-share", arg, 0, 1, &a->flags.minority_min_share);
    case 'L': return cli_option_double(&cmd_consult, "--duplicate-labels", arg, 0, 2, &a->flags.duplicate_label_overlap);
    case 'R':
        return cli_option_double(&cmd_consult, "--duplicate-responses", arg, 0, 2, &a->flags.duplicate_response_overlap);
    case 'c': a->config_path = arg; return 0;
    case 'm': a->model = arg; return 0;
    default: return CLI_OPTION_UNKNOWN;
    }
}

static int parse_args(int argc, char **argv, consult_args *a)
{
    static const struct option options[] = {
        {"collection", required_argument, NULL, 'C'}, {"file", required_argument, NULL, 'f'},
        {"question", required_argument, NULL, 'q'},   {"question-file", required_argument, NULL, 'Q'},
        {"max-themes", required_argument, NULL, 'T'}, {"batch-size", required_argument, NULL, 'B'},
        {"id-column", required_argument, NULL, 'I'},  {"text-column", required_argument, NULL, 'X'},
        {"no-store", no_argument, NULL, 'S'},         {"config", required_argument, NULL, 'c'},
        {"model", required_argument, NULL, 'm'},      {"minority-below", required_argument, NULL, 'M'},
        {"minority-share", required_argument, NULL, 'H'}, {"duplicate-labels", required_argument, NULL, 'L'},
        {"duplicate-responses", required_argument, NULL, 'R'}, {"themes", required_argument, NULL, 't'},
        {NULL, 0, NULL, 0},
    };
    static const cli_options parser = {.shortopts = "C:f:q:c:m:t:", .longopts = options, .take = take_option,
                                       .max_operands = 1};
    *a = (consult_args){.flags = consultation_flag_defaults()};
    int first;
    int rc = cli_parse_options(&cmd_consult, &parser, argc, argv, a, &first);
    if (rc != 0)
        return rc;
    if (first < argc && a->file)
        return cli_usage_error(&cmd_consult, "give the response file as --file or as the operand, not both");
    if (first < argc)
        a->file = argv[first];
    if (a->themes && a->max_themes)
        return cli_usage_error(&cmd_consult, "--max-themes does not apply with --themes (the set is the themes)");
    if (!a->collection || !*a->collection || strlen(a->collection) > 200)
        return cli_usage_error(&cmd_consult, "--collection (1..200 bytes) is required");
    if (a->question && a->question_file)
        return cli_usage_error(&cmd_consult, "give --question or --question-file, not both");
    if (a->no_store && !a->file)
        return cli_usage_error(&cmd_consult, "--no-store needs --file (a collection's documents are in the database)");
    return 0;
}

/* The question: --question, or from --question-file (malloc'd). */
static int load_question(const consult_args *a, char **out, perr *err)
{
    *out = NULL;
    if (!a->question_file) {
        *out = strdup(a->question ? a->question : "");
        return *out ? 0 : perr_set(err, "out of memory");
    }
    gchar *text = NULL;
    gsize len = 0;
    GError *gerr = NULL;
    if (!g_file_get_contents(a->question_file, &text, &len, &gerr)) {
        perr_set(err, "%s", gerr->message);
        g_error_free(gerr);
        return -1;
    }
    cJSON *j = cJSON_ParseWithLength(text, len);
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(j, "question_text");
    if (!cJSON_IsString(q))
        q = cJSON_GetObjectItemCaseSensitive(j, "question");
    if (j && !cJSON_IsString(q))
        perr_set(err, "%s: no \"question_text\" or \"question\" string", a->question_file);
    else
        *out = strdup(j ? q->valuestring : g_strstrip(text));
    cJSON_Delete(j);
    g_free(text);
    return *out ? 0 : -1;
}

static int open_store(const config *cfg, store **s, perr *err)
{
    static const char *const vars[] = {"PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGSERVICE", "PGUSER", NULL};
    const char *conninfo = config_get(cfg, "postgres", "conninfo");
    int configured = conninfo && *conninfo;
    for (size_t i = 0; !configured && vars[i]; i++)
        configured = getenv(vars[i]) && *getenv(vars[i]);
    if (!configured)
        return perr_set(err, "no database: set [postgres] conninfo or PG* variables (or use --no-store)");
    if (store_connect(s, conninfo, err) != 0)
        return -1;
    return store_migrate_check(*s, NULL, err);
}

static int load_responses(const consult_args *a, store *s, response_set *rs, char sha[65], perr *err)
{
    if (!a->file)
        return consultation_collection_responses(s, a->collection, rs, err);
    responses_options ro = {.id_column = a->id_column, .text_column = a->text_column};
    if (responses_load_file(a->file, &ro, rs, err) != 0)
        return -1;
    gchar *bytes = NULL;
    gsize len = 0;
    if (g_file_get_contents(a->file, &bytes, &len, NULL)) {
        sha256_hex(bytes, len, sha);
        g_free(bytes);
    }
    return 0;
}

static void print_outcome(store *s, const consult_args *a, const consultation_result *res, long long run_id)
{
    char *json = NULL;
    perr err;
    if (s && store_consultation_report(s, a->collection, run_id, &json, &err) != 0)
        fprintf(stderr, "precis consult: reading the report back: %s\n", err.msg);
    if (!s)
        json = consultation_result_json(res);
    if (json)
        printf("%s\n", json);
    free(json);
    if (res->approved)
        fprintf(stderr, "precis consult: %zu responses mapped to %zu approved themes, %zu unassigned, %zu candidate new "
                "themes for review, %zu unprocessable, %zu truncated, %d model calls%s\n", res->n, res->n_themes,
                res->n_unassigned, res->n_proposals, res->n_unprocessable, res->n_truncated, res->out.calls,
                s ? "; stored" : "; not stored");
    else
        fprintf(stderr, "precis consult: %zu responses, %zu themes (%zu candidates), %zu unprocessable, %zu truncated, "
                "%d model calls%s\n", res->n, res->n_themes, res->n_candidates, res->n_unprocessable, res->n_truncated,
                res->out.calls, s ? "; stored" : "; not stored");
}

/* The approved set of --themes, its sha256 and its compact JSON (malloc'd). */
static int load_themes(const consult_args *a, theme_set *ts, char sha[65], char **json, perr *err)
{
    *json = NULL;
    if (!a->themes)
        return 0;
    if (theme_set_load_file(a->themes, THEME_SET_AUTO, ts, sha, err) != 0)
        return perr_prefix(err, "--themes");
    if (!(*json = theme_set_json(ts)))
        return perr_set(err, "out of memory");
    return 0;
}

static int candidate_threshold(const config *cfg, int *out, perr *err)
{
    long v = 0;
    if (config_get_int(cfg, "consultation", "candidate_threshold", &v, err) != 0)
        return -1;
    if (v < 0 || v > 1000000)
        return perr_set(err, "[consultation] candidate_threshold must be 0..1000000, not %ld", v);
    *out = (int)v;
    return 0;
}

static int run(const consult_args *a, config *cfg, perr *err)
{
    store *s = NULL;
    pipeline *p = NULL;
    response_set rs = {0};
    theme_set ts = {0};
    char *question = NULL, *themes_json = NULL, sha[65] = "", themes_sha[65] = "";
    int threshold = 0;
    int rc = load_question(a, &question, err);
    if (rc == 0)
        rc = load_themes(a, &ts, themes_sha, &themes_json, err);
    if (rc == 0)
        rc = candidate_threshold(cfg, &threshold, err);
    if (rc == 0 && !a->no_store)
        rc = open_store(cfg, &s, err);
    if (rc == 0)
        rc = load_responses(a, s, &rs, sha, err);
    pipeline_setup_overrides ov = {.model_path = a->model};
    if (rc == 0)
        rc = pipeline_setup(cfg, &ov, &p, err);
    if (rc == 0) {
        consultation_request rq = {.collection = a->collection, .source = a->file ? a->file : "collection",
                                   .source_sha256 = sha[0] ? sha : NULL, .question = question, .responses = &rs,
                                   .options = {.max_themes = a->max_themes, .batch_size = a->batch_size,
                                               .flags = &a->flags,
                                               .approved = a->themes ? &ts : NULL},
                                   .approved_row = {.source = a->themes, .source_sha256 = themes_sha,
                                                    .question = question, .themes_json = themes_json},
                                   .candidate_threshold = threshold};
        consultation_result res = {0};
        long long run_id = 0;
        int store_rc = 0;
        analysis_input in;
        rc = pipeline_analysis_input(p, "consultation", &in, err);
        if (rc == 0)
            rc = consultation_execute(&in, s, &rq, &res, &run_id, &store_rc, err);
        if (rc == 0 && store_rc != 0)
            rc = -1;
        if (rc == 0)
            print_outcome(s, a, &res, run_id);
        consultation_result_clear(&res);
    }
    pipeline_free(p);
    responses_clear(&rs);
    theme_set_clear(&ts);
    store_close(s);
    free(question);
    free(themes_json);
    return rc;
}

static int consult_main(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        cli_print_usage(&cmd_consult, stdout);
        return EXIT_OK;
    }
    consult_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc;
    config *cfg = NULL;
    perr err;
    if (config_load(&cfg, a.config_path, environ, &err) != 0 || run(&a, cfg, &err) != 0) {
        fprintf(stderr, "precis consult: %s\n", err.msg);
        config_free(cfg);
        return EXIT_FAIL;
    }
    config_free(cfg);
    return EXIT_OK;
}
