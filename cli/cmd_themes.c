/* cmd_themes.c — `precis themes COLLECTION`: the themes of a collection's
 * consultation from PostgreSQL (its approved set's runs together, else its
 * latest run; or --run ID), as a table or
 * JSON, with the approved set it used and the candidate new themes waiting
 * for review; or --export: the themes as a file for an analyst to edit and
 * approve (`precis consult --themes`). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/utf8.h"
#include "cli/cli.h"
#include "daemon/config.h"
#include "pipeline/consultation/themes_html.h"
#include "pipeline/consultation/consultation_set_report.h"
#include "pipeline/consultation/theme_set.h"
#include "store/store_consultation.h"

extern char **environ;

static int themes_main(int argc, char **argv);

const cli_command cmd_themes = {
    .name = "themes",
    .summary = "themes of a collection (across its approved set, or its latest run), with counts, flags and examples",
    .usage =
        "usage: precis themes [options] COLLECTION\n"
        "       precis themes [options] --run ID\n"
        "\n"
        "Print the themes of COLLECTION's newest consultation run (see\n"
        "`precis consult`), or of run ID: each theme's id, number of responses,\n"
        "label and description; its responses by position (AGREE, DISAGREE,\n"
        "UNCLEAR); MINORITY when it has few responses (kept, never removed: fewer\n"
        "than 5 or under 0.1 % of all responses by default); NEAR DUPLICATE of each\n"
        "other theme whose label shares most words or whose responses are mostly the\n"
        "same (Jaccard); its evidence, the ids of every response mapped to it; and up\n"
        "to three example responses (evidence-rich first, then the longest). Then the\n"
        "positions and the responses that could not be processed, with the reason.\n"
        "A collection with an approved theme set (`precis consult --themes`) is shown\n"
        "across every run mapped onto the set (the first, and each job since), each\n"
        "response as last mapped, counts and flags over all of them; --run ID shows\n"
        "one run. Either way the set is named, with its unassigned responses (no\n"
        "theme fits) and the candidate new themes proposed from them, waiting for\n"
        "an analyst's review.\n"
        "\n"
        "--export FILE writes the run's themes (id, label, description, position) as\n"
        "JSON or CSV (from FILE's extension, else --format) for an analyst to review,\n"
        "merge, rename and approve; `precis consult --collection C --themes FILE` then\n"
        "maps the responses onto the approved set.\n"
        "\n"
        "  -r, --run ID        a given run instead of the newest\n"
        "      --json          the report as one JSON object\n"
        "      --html FILE     also write the report as one self-contained HTML page\n"
        "                      (a bar per theme split by position, flags, examples,\n"
        "                      unassigned and unprocessable responses; no script, no\n"
        "                      network: open it from a file or send it on)\n"
        "  -e, --export FILE   write the run's themes to FILE (\"-\": stdout)\n"
        "      --format F      json or csv, for --export (default: FILE's extension, else json)\n"
        "  -c, --config FILE   configuration file (for [postgres] conninfo)\n"
        "\n"
        "Exit status: 0 shown or written, 1 no such run, no themes or database error,\n"
        "2 usage error.\n",
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

/* The approved set, unassigned responses and candidate themes for review. */
static void print_approved(const cJSON *r)
{
    const cJSON *set = cJSON_GetObjectItemCaseSensitive(r, "approved_set");
    if (!cJSON_IsObject(set))
        return;
    printf("\nApproved theme set %.0f: %s (sha256 %.12s), approved %s\n", num(set, "id"), str(set, "source"),
           str(set, "sha256"), str(set, "approved_at"));
    printf("Unassigned (no theme fits): %.0f in this %s, %.0f waiting for the candidate step\n", num(r, "unassigned"),
           strcmp(str(r, "view"), "approved_set") == 0 ? "collection" : "run", num(r, "pending_unassigned"));
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(r, "unassigned_responses"))
    {
        printf("  %s: ", str(t, "response_id"));
        print_excerpt(str(t, "excerpt"));
    }
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(r, "theme_candidates");
    if (cJSON_GetArraySize(c) > 0)
        printf("\nCandidate new themes for review (not in the approved set; add one to the theme file and run\n"
               "`precis consult --themes` again to approve it):\n");
    cJSON_ArrayForEach(t, c)
    {
        printf("  #%-4.0f %-9s %s (from %.0f unassigned responses, run %.0f)\n      %s\n", num(t, "id"),
               str(t, "position"), str(t, "label"), num(t, "responses"), num(t, "run_id"), str(t, "description"));
    }
}

static void print_table(const cJSON *r)
{
    if (strcmp(str(r, "view"), "approved_set") == 0)
        printf("Collection %s under its approved theme set: %.0f runs (%.0f .. %.0f), %s .. %s; each response as "
               "last mapped\n", str(r, "collection"), num(r, "runs"), num(r, "first_run"), num(r, "last_run"),
               str(r, "started_at"), str(r, "finished_at"));
    else
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
    print_approved(r);
}

/* The report as an HTML page at path. */
static int write_html(const char *path, const char *json, perr *err)
{
    char *html = themes_html(json, err);
    int rc = html ? cli_write_file(path, html, err) : -1;
    free(html);
    return rc;
}

typedef struct themes_args {
    const char *config_path, *export_path, *html_path;
    long long run_id;
    int as_json;
    theme_set_format format;
} themes_args;

/* The report's themes as a set (the stored run's, already checked). */
static int report_themes(const cJSON *r, theme_set *ts, perr *err)
{
    const cJSON *themes = cJSON_GetObjectItemCaseSensitive(r, "themes");
    size_t n = (size_t)cJSON_GetArraySize(themes);
    *ts = (theme_set){0};
    if (n == 0)
        return perr_set(err, "run %.0f has no themes to export (status %s)", num(r, "run_id"), str(r, "status"));
    if (!(ts->items = calloc(n, sizeof *ts->items)))
        return perr_set(err, "out of memory");
    const cJSON *t;
    cJSON_ArrayForEach(t, themes)
    {
        theme_set_item *it = &ts->items[ts->n++];
        snprintf(it->id, sizeof it->id, "%s", str(t, "id"));
        snprintf(it->position, sizeof it->position, "%s", str(t, "position"));
        it->label = strdup(str(t, "label"));
        it->description = strdup(str(t, "description"));
        if (!it->label || !it->description)
            return perr_set(err, "out of memory");
    }
    return 0;
}

static int write_text(const char *path, const char *text, perr *err)
{
    if (strcmp(path, "-") == 0)
        return fputs(text, stdout) < 0 ? perr_errno(err, "writing stdout") : 0;
    FILE *f = fopen(path, "w");
    if (!f)
        return perr_errno(err, "cannot create %s", path);
    int rc = fputs(text, f) < 0 ? perr_errno(err, "writing %s", path) : 0;
    if (fclose(f) != 0 && rc == 0)
        rc = perr_errno(err, "writing %s", path);
    return rc;
}

static int export_themes(const themes_args *a, const cJSON *r, perr *err)
{
    theme_set ts;
    int rc = report_themes(r, &ts, err);
    theme_set_format format = a->format ? a->format : theme_set_format_for_name(a->export_path);
    theme_set_origin origin = {.collection = str(r, "collection"), .run_id = (long long)num(r, "run_id"),
                               .question = str(r, "question")};
    char *text = rc == 0 ? theme_set_write(&ts, format ? format : THEME_SET_JSON, &origin, err) : NULL;
    if (rc == 0)
        rc = text ? write_text(a->export_path, text, err) : -1;
    if (rc == 0)
        fprintf(stderr, "precis themes: wrote %zu themes of run %.0f to %s\n", ts.n, num(r, "run_id"),
                a->export_path);
    free(text);
    theme_set_clear(&ts);
    return rc;
}

static int show(const themes_args *a, const char *collection)
{
    const char *config_path = a->config_path;
    long long run_id = a->run_id;
    int as_json = a->as_json;
    perr err;
    config *cfg = NULL;
    store *s = NULL;
    char *json = NULL;
    int rc = config_load(&cfg, config_path, environ, &err);
    if (rc == 0)
        rc = store_connect(&s, config_get(cfg, "postgres", "conninfo"), &err);
    /* A collection with an approved set: every run mapped onto it, together. */
    if (rc == 0 && run_id == 0)
        rc = consultation_set_report(s, collection, &json, &err);
    if (rc == 0 && !json)
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
    if (a->html_path && write_html(a->html_path, json, &err) != 0) {
        fprintf(stderr, "precis themes: %s\n", err.msg);
        free(json);
        return EXIT_FAIL;
    }
    cJSON *r = as_json ? NULL : cJSON_Parse(json);
    if (as_json)
        printf("%s\n", json);
    else if (r && a->export_path)
        rc = export_themes(a, r, &err);
    else if (r)
        print_table(r);
    cJSON_Delete(r);
    free(json);
    if (rc != 0) {
        fprintf(stderr, "precis themes: %s\n", err.msg);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

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
    case 'e': a->export_path = arg; return 0;
    case 'F':
        if (theme_set_format_named(arg, &a->format) != 0)
            return cli_usage_error(&cmd_themes, "--format wants json or csv, not '%s'", arg);
        return 0;
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
        {"export", required_argument, NULL, 'e'},
        {"format", required_argument, NULL, 'F'},
        {"config", required_argument, NULL, 'c'},
        {NULL, 0, NULL, 0},
    };
    static const cli_options parser = {.shortopts = "r:c:e:", .longopts = options, .take = take_option,
                                       .max_operands = 1};
    themes_args a = {0};
    int first;
    int usage = cli_parse_options(&cmd_themes, &parser, argc, argv, &a, &first);
    if (usage != 0)
        return usage;
    const char *collection = first < argc ? argv[first] : NULL;
    if (!collection && a.run_id == 0)
        return cli_usage_error(&cmd_themes, "give a COLLECTION or --run ID");
    if (a.export_path && a.as_json)
        return cli_usage_error(&cmd_themes, "give --export or --json, not both");
    if (a.format && !a.export_path)
        return cli_usage_error(&cmd_themes, "--format goes with --export");
    return show(&a, collection);
}
