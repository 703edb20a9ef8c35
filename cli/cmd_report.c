/* cmd_report.c — `precis report`: a stored legal review as a page a lawyer
 * can read (pipeline/analyses/review_html.h), for one job or for every
 * reviewed document of a collection with an index page. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "daemon/config.h"
#include "pipeline/analyses/review_html.h"
#include "store/store_review.h"

extern char **environ;

static int report_main(int argc, char **argv);

const cli_command cmd_report = {
    .name = "report",
    .summary = "a stored legal review as a self-contained HTML page (one job, or a collection with an index)",
    .usage =
        "usage: precis report --job ID --html FILE\n"
        "       precis report --collection C --html DIR\n"
        "\n"
        "Write the legal_review of job ID's document (its newest review) as one HTML\n"
        "page: the summary; every finding with its quote highlighted inside its\n"
        "paragraph, the page and paragraph, category, severity, confidence and whether\n"
        "the quote was found in the document (a quote that was not is shown as the\n"
        "model wrote it, marked unverified); with the counterfactual twin (`precis run\n"
        "--twin`, a job's \"twin\"), the findings that differ, side by side. With\n"
        "--collection, DIR/index.html links a page DIR/review-JOB.html per reviewed\n"
        "document of collection C. Pages have no script and load nothing: open them\n"
        "from disk or send them on.\n"
        "\n"
        "  -j, --job ID          the job whose document's review to write\n"
        "  -C, --collection C    every reviewed document of collection C\n"
        "      --html PATH       the page (with --job) or the directory (with --collection)\n"
        "  -c, --config FILE     configuration file (for [postgres] conninfo)\n"
        "\n"
        "Exit status: 0 written, 1 no such review or database error, 2 usage error.\n",
    .run = report_main,
};

typedef struct report_args {
    const char *config_path, *job_id, *collection, *html;
} report_args;

static int take_option(void *args, int opt, const char *arg)
{
    report_args *a = args;
    switch (opt) {
    case 'j': a->job_id = arg; return 0;
    case 'C': a->collection = arg; return 0;
    case 'H': a->html = arg; return 0;
    case 'c': a->config_path = arg; return 0;
    default: return CLI_OPTION_UNKNOWN;
    }
}

/* "review-JOB.html" with the job id's unsafe bytes as '_'. */
static void page_of(const char *job_id, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "review-");
    for (const char *p = job_id; *p && n + 6 < cap; p++)
        out[n++] = g_ascii_isalnum(*p) || *p == '-' || *p == '.' ? *p : '_';
    snprintf(out + n, cap - n, ".html");
}

static int write_review(store *s, const char *job_id, const char *path, perr *err)
{
    char *json = NULL;
    if (store_review_of_job(s, job_id, &json, err) != 0)
        return -1;
    if (!json)
        return perr_set(err, "job %s has no stored legal_review", job_id);
    char *html = review_html(json, err);
    free(json);
    int rc = html ? cli_write_file(path, html, err) : -1;
    free(html);
    return rc;
}

/* DIR/index.html and one page per reviewed document of collection. */
static int write_collection(store *s, const char *collection, const char *dir, int *pages, perr *err)
{
    char *list = NULL;
    if (store_reviews_of_collection(s, collection, &list, err) != 0)
        return -1;
    cJSON *docs = cJSON_Parse(list);
    int rc = g_mkdir_with_parents(dir, 0755) == 0 ? 0 : perr_errno(err, "cannot create %s", dir);
    const cJSON *d;
    cJSON_ArrayForEach(d, docs)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(d, "job_id");
        if (rc != 0 || !cJSON_IsString(id))
            continue;
        char name[512];
        page_of(id->valuestring, name, sizeof name);
        gchar *path = g_build_filename(dir, name, NULL);
        rc = write_review(s, id->valuestring, path, err);
        g_free(path);
        *pages += rc == 0;
    }
    char *html = rc == 0 ? review_index_html(collection, list, page_of, err) : NULL;
    gchar *index = g_build_filename(dir, "index.html", NULL);
    if (rc == 0)
        rc = html ? cli_write_file(index, html, err) : -1;
    free(html);
    g_free(index);
    cJSON_Delete(docs);
    free(list);
    return rc;
}

static int parse_args(int argc, char **argv, report_args *a)
{
    static const struct option options[] = {
        {"job", required_argument, NULL, 'j'},  {"collection", required_argument, NULL, 'C'},
        {"html", required_argument, NULL, 'H'}, {"config", required_argument, NULL, 'c'},
        {NULL, 0, NULL, 0},
    };
    static const cli_options parser = {.shortopts = "j:C:c:", .longopts = options, .take = take_option};
    *a = (report_args){0};
    int first;
    int rc = cli_parse_options(&cmd_report, &parser, argc, argv, a, &first);
    if (rc == 0 && !a->job_id == !a->collection)
        rc = cli_usage_error(&cmd_report, "give --job ID or --collection C");
    if (rc == 0 && !a->html)
        rc = cli_usage_error(&cmd_report, "--html PATH is required");
    return rc;
}

static int report_main(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        cli_print_usage(&cmd_report, stdout);
        return EXIT_OK;
    }
    report_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc;
    perr err;
    config *cfg = NULL;
    store *s = NULL;
    int pages = 0;
    rc = config_load(&cfg, a.config_path, environ, &err);
    if (rc == 0)
        rc = store_connect(&s, config_get(cfg, "postgres", "conninfo"), &err);
    if (rc == 0 && a.job_id)
        rc = write_review(s, a.job_id, a.html, &err);
    else if (rc == 0)
        rc = write_collection(s, a.collection, a.html, &pages, &err);
    store_close(s);
    config_free(cfg);
    if (rc != 0) {
        fprintf(stderr, "precis report: %s\n", err.msg);
        return EXIT_FAIL;
    }
    if (a.collection)
        fprintf(stderr, "precis report: %d review page(s) and index.html written to %s\n", pages, a.html);
    else
        fprintf(stderr, "precis report: %s written\n", a.html);
    return EXIT_OK;
}
