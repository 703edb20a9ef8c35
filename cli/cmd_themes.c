/* cmd_themes.c — `precis themes COLLECTION`: the themes of a collection's
 * latest consultation run (or of --run ID) from PostgreSQL, as a table or
 * JSON. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/utf8.h"
#include "cli/cli.h"
#include "daemon/config.h"
#include "pipeline/consultation/themes_html.h"
#include "store/store_consultation.h"

extern char **environ;

static int themes_main(int argc, char **argv);

const cli_command cmd_themes = {
    .name = "themes",
    .summary = "themes of a collection's latest consultation run, with counts and examples",
    .usage =
        "usage: precis themes [options] COLLECTION\n"
        "       precis themes [options] --run ID\n"
        "\n"
        "Print the themes of the newest consultation run of COLLECTION (see\n"
        "`precis consult`), or of run ID: each theme's id, number of responses,\n"
        "label and description; its responses by position (AGREE, DISAGREE,\n"
        "UNCLEAR); MINORITY when it has few responses (kept, never removed: fewer\n"
        "than 5 or under 0.1 % of all responses by default); NEAR DUPLICATE of each\n"
        "other theme whose label shares most words or whose responses are mostly the\n"
        "same (Jaccard); its evidence, the ids of every response mapped to it; and up\n"
        "to three example responses (evidence-rich first, then the longest). Then the\n"
        "positions and the responses that could not be processed, with the reason.\n"
        "\n"
        "  -r, --run ID        a given run instead of the newest\n"
        "      --json          the report as one JSON object\n"
        "      --html FILE     also write the report as one self-contained HTML page\n"
        "                      (a bar per theme split by position, flags, examples,\n"
        "                      unassigned and unprocessable responses; no script, no\n"
        "                      network: open it from a file or send it on)\n"
        "  -c, --config FILE   configuration file (for [postgres] conninfo)\n"
        "\n"
        "Exit status: 0 shown, 1 no such run or database error, 2 usage error.\n",
    .run = themes_main,
};

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* An excerpt on one line, at most 100 bytes (not cutting a character). */
static void print_excerpt(const char *text)
{
    size_t len = strlen(text), n = utf8_floor(text, len, len < 100 ? len : 100);
    putchar('"');
    for (size_t i = 0; i < n; i++)
        putchar(text[i] == '\n' || text[i] == '\r' || text[i] == '\t' ? ' ' : text[i]);
    printf("%s\"\n", text[n] ? "..." : "");
}

/* "positions: AGREE 7, DISAGREE 3, UNCLEAR 2" (and responses without one, when there are). */
static void print_positions(const cJSON *t)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(t, "positions");
    if (!p)
        return;
    printf("    positions: AGREE %.0f, DISAGREE %.0f, UNCLEAR %.0f", num(p, "AGREE"), num(p, "DISAGREE"),
           num(p, "UNCLEAR"));
    if (num(p, "NONE") > 0)
        printf(", no position %.0f", num(p, "NONE"));
    printf("\n");
}

/* The analyst's flags: minority, near duplicates. */
static void print_flags(const cJSON *t, const cJSON *settings)
{
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "minority")))
        printf("    MINORITY: fewer than %.0f responses or under %g %% of them (kept, not removed)\n",
               num(settings, "minority_min_responses"), 100 * num(settings, "minority_min_share"));
    const cJSON *d;
    cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(t, "near_duplicates"))
    {
        printf("    NEAR DUPLICATE of %s: label words %.2f, responses %.2f (Jaccard)\n", str(d, "id"),
               num(d, "label_overlap"), num(d, "response_overlap"));
    }
}

/* "evidence (N): id, id, ..." wrapped at about 100 columns. */
static void print_evidence(const cJSON *t)
{
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(t, "evidence");
    if (!ids)
        return;
    int col = printf("    evidence (%d):", cJSON_GetArraySize(ids));
    const cJSON *id;
    cJSON_ArrayForEach(id, ids)
    {
        const char *text = cJSON_IsString(id) ? id->valuestring : "";
        if (col + (int)strlen(text) + 2 > 100)
            col = printf("\n     ") - 1;
        col += printf(" %s%s", text, id->next ? "," : "");
    }
    printf("\n");
}

static void print_theme(const cJSON *t, const cJSON *settings)
{
    printf("%-3s %9.0f  %-9s %s\n", str(t, "id"), num(t, "responses"), str(t, "position"), str(t, "label"));
    printf("    %s\n", str(t, "description"));
    print_positions(t);
    print_flags(t, settings);
    print_evidence(t);
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(t, "examples"))
    {
        printf("      %s%s: ", str(e, "response_id"), strcmp(str(e, "evidence_rich"), "YES") == 0 ? " (evidence)" : "");
        print_excerpt(str(e, "excerpt"));
    }
}

static void print_table(const cJSON *r)
{
    printf("Consultation run %.0f of collection %s: %s, %s .. %s\n", num(r, "run_id"), str(r, "collection"),
           str(r, "status"), str(r, "started_at"), str(r, "finished_at"));
    if (*str(r, "question"))
        printf("Question: %s\n", str(r, "question"));
    if (*str(r, "error"))
        printf("Error: %s\n", str(r, "error"));
    printf("Responses: %.0f (unprocessable %.0f, truncated %.0f); %.0f model calls; model %s\n", num(r, "responses"),
           num(r, "unprocessable"), num(r, "truncated"), num(r, "calls"), str(r, "model"));
    printf("Positions:");
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(r, "positions"))
    {
        printf(" %s %.0f", p->string, p->valuedouble);
    }
    printf("\n\nID  Responses  Position  Label\n");
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(r, "themes"))
    {
        print_theme(t, cJSON_GetObjectItemCaseSensitive(r, "flags"));
    }
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(r, "unprocessable_responses");
    if (cJSON_GetArraySize(u) > 0)
        printf("\nUnprocessable responses:\n");
    cJSON_ArrayForEach(t, u)
    {
        printf("  %s: %s\n", str(t, "response_id"), str(t, "reason"));
    }
}

/* The report as an HTML page at path. */
static int write_html(const char *path, const char *json, perr *err)
{
    char *html = themes_html(json, err);
    int rc = html ? cli_write_file(path, html, err) : -1;
    free(html);
    return rc;
}

static int show(const char *config_path, const char *collection, long long run_id, int as_json,
                const char *html_path)
{
    perr err;
    config *cfg = NULL;
    store *s = NULL;
    char *json = NULL;
    int rc = config_load(&cfg, config_path, environ, &err);
    if (rc == 0)
        rc = store_connect(&s, config_get(cfg, "postgres", "conninfo"), &err);
    if (rc == 0)
        rc = store_consultation_report(s, collection, run_id, &json, &err);
    store_close(s);
    config_free(cfg);
    if (rc == 0 && !json) {
        if (run_id > 0)
            fprintf(stderr, "precis themes: no consultation run %lld\n", run_id);
        else
            fprintf(stderr, "precis themes: no consultation run for collection %s\n", collection);
        return EXIT_FAIL;
    }
    if (rc != 0) {
        fprintf(stderr, "precis themes: %s\n", err.msg);
        return EXIT_FAIL;
    }
    if (html_path && write_html(html_path, json, &err) != 0) {
        fprintf(stderr, "precis themes: %s\n", err.msg);
        free(json);
        return EXIT_FAIL;
    }
    cJSON *r = as_json ? NULL : cJSON_Parse(json);
    if (as_json)
        printf("%s\n", json);
    else if (r)
        print_table(r);
    cJSON_Delete(r);
    free(json);
    return EXIT_OK;
}

typedef struct themes_args {
    const char *config_path;
    long long run_id;
    int as_json;
    const char *html_path;
} themes_args;

static int take_option(void *args, int opt, const char *arg)
{
    themes_args *a = args;
    char *end;
    switch (opt) {
    case 'r':
        a->run_id = strtoll(arg, &end, 10);
        if (!*arg || *end || a->run_id < 1)
            return cli_usage_error(&cmd_themes, "--run wants a run id (a positive number), not '%s'", arg);
        return 0;
    case 'j': a->as_json = 1; return 0;
    case 'H': a->html_path = arg; return 0;
    case 'c': a->config_path = arg; return 0;
    default: return CLI_OPTION_UNKNOWN;
    }
}

static int themes_main(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        cli_print_usage(&cmd_themes, stdout);
        return EXIT_OK;
    }
    static const struct option options[] = {
        {"run", required_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},
        {"html", required_argument, NULL, 'H'},
        {"config", required_argument, NULL, 'c'},
        {NULL, 0, NULL, 0},
    };
    static const cli_options parser = {.shortopts = "r:c:", .longopts = options, .take = take_option,
                                       .max_operands = 1};
    themes_args a = {0};
    int first;
    int usage = cli_parse_options(&cmd_themes, &parser, argc, argv, &a, &first);
    if (usage != 0)
        return usage;
    const char *collection = first < argc ? argv[first] : NULL;
    if (!collection && a.run_id == 0)
        return cli_usage_error(&cmd_themes, "give a COLLECTION or --run ID");
    return show(a.config_path, collection, a.run_id, a.as_json, a.html_path);
}
