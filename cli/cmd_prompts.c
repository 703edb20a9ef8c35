/* cmd_prompts.c — `precis prompts`: every analysis with its prompt file's
 * version (the SHA-256 that results record), its steps and whether the
 * file loads; the same checks the daemon applies at start and on SIGHUP. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "daemon/config.h"
#include "daemon/pipeline_setup.h"
#include "pipeline/analyses/analysis.h"

extern char **environ;

static int prompts_run(int argc, char **argv);

const cli_command cmd_prompts = {
    .name = "prompts",
    .summary = "list the analyses and their prompt versions (checks every prompt file)",
    .usage =
        "usage: precis prompts [-c FILE] [--dir DIR] [--json]\n"
        "\n"
        "Loads each analysis's prompt file (DIR/NAME.json) as the daemon does and\n"
        "prints the analysis, whether it works on one document, a collection or each\n"
        "labelled item of an evaluation (item: `precis eval legal`), the file's\n"
        "version (SHA-256 of its bytes, recorded with every result), its steps and\n"
        "what it produces. Exit status 1 when any file is missing or invalid; the\n"
        "error names the file and the problem.\n"
        "\n"
        "  -c, --config FILE   configuration file (default /etc/precis/precis.conf);\n"
        "                      its [pipeline] prompts_dir is used\n"
        "      --dir DIR       the prompts directory (overrides the configuration)\n"
        "      --json          one JSON array instead of the table\n",
    .run = prompts_run,
};

static cJSON *prompt_entry(const analysis_def *def, const prompt_spec *p, const char *dir, const char *error)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "analysis", def->name);
    cJSON_AddStringToObject(o, "scope", analysis_scope_name(def->scope));
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.json", dir, def->prompt);
    cJSON_AddStringToObject(o, "file", path);
    if (p) {
        cJSON_AddStringToObject(o, "version", p->version);
        cJSON *steps = cJSON_AddArrayToObject(o, "steps");
        for (size_t i = 0; i < p->n_steps; i++)
            cJSON_AddItemToArray(steps, cJSON_CreateString(p->steps[i].name));
        cJSON_AddNumberToObject(o, "max_tokens", p->max_tokens);
    }
    if (error)
        cJSON_AddStringToObject(o, "error", error);
    cJSON_AddStringToObject(o, "description", def->description ? def->description : "");
    return o;
}

static void print_row(const cJSON *e)
{
    const char *version = cJSON_GetStringValue(cJSON_GetObjectItem(e, "version"));
    const char *error = cJSON_GetStringValue(cJSON_GetObjectItem(e, "error"));
    printf("%-14s %-10s %-16.16s  ", cJSON_GetStringValue(cJSON_GetObjectItem(e, "analysis")),
           cJSON_GetStringValue(cJSON_GetObjectItem(e, "scope")), version ? version : "INVALID");
    const cJSON *steps = cJSON_GetObjectItem(e, "steps");
    int n = 0;
    for (const cJSON *s = steps ? steps->child : NULL; s; s = s->next)
        printf("%s%s", n++ ? "," : "", s->valuestring);
    printf("%s  %s\n", n ? "" : "-", error ? error : cJSON_GetStringValue(cJSON_GetObjectItem(e, "description")));
}

static int list_prompts(const char *dir, int as_json)
{
    cJSON *all = cJSON_CreateArray();
    int failed = 0;
    for (size_t i = 0; analysis_at(i); i++) {
        const analysis_def *def = analysis_at(i);
        prompt_spec *p = NULL;
        perr err = {{0}};
        int rc = analysis_load_prompt(def, dir, &p, &err);
        failed |= rc != 0;
        cJSON_AddItemToArray(all, prompt_entry(def, p, dir, rc != 0 ? err.msg : NULL));
        prompt_free(p);
    }
    if (as_json) {
        char *text = cJSON_Print(all);
        puts(text);
        free(text);
    } else {
        printf("%-14s %-10s %-16s  %s  %s\n", "ANALYSIS", "SCOPE", "VERSION", "STEPS", "PRODUCES");
        for (const cJSON *e = all->child; e; e = e->next)
            print_row(e);
        printf("(prompts from %s; VERSION is the first 16 hex digits of the file's SHA-256)\n", dir);
    }
    cJSON_Delete(all);
    if (failed)
        fprintf(stderr, "precis prompts: some prompt files are invalid (see above); the daemon would not start\n");
    return failed ? EXIT_FAIL : EXIT_OK;
}

typedef struct prompts_args {
    const char *config_path, *dir;
    int as_json;
} prompts_args;

static int take_option(void *args, int opt, const char *arg)
{
    prompts_args *a = args;
    switch (opt) {
    case 'c': a->config_path = arg; return 0;
    case 'd': a->dir = arg; return 0;
    case 'j': a->as_json = 1; return 0;
    default: return CLI_OPTION_UNKNOWN;
    }
}

static int prompts_run(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"dir", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    static const cli_options parser = {.shortopts = "c:", .longopts = options, .take = take_option};
    prompts_args a = {0};
    int first;
    int status = cli_parse_options(&cmd_prompts, &parser, argc, argv, &a, &first);
    if (status != 0)
        return status;
    if (a.dir)
        return list_prompts(a.dir, a.as_json);
    config *cfg;
    perr err;
    char resolved[4096];
    if (config_load(&cfg, a.config_path, environ, &err) != 0) {
        fprintf(stderr, "precis prompts: %s\n", err.msg);
        return EXIT_FAIL;
    }
    int rc = pipeline_resolve_prompts(cfg, resolved, sizeof resolved, &err);
    config_free(cfg);
    if (rc != 0) {
        fprintf(stderr, "precis prompts: %s\n", err.msg);
        return EXIT_FAIL;
    }
    return list_prompts(resolved, a.as_json);
}
