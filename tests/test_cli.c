/* test_cli.c — the precis binary's dispatcher: help, version, usage errors, config check. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/sha256.h"
#include "pipeline/analyses/analysis.h"
#include "tests/support.h"

Test(cli, help_lists_commands)
{
    char *out;
    cr_assert_eq(test_run_precis(&out, "help"), 0);
    cr_assert(strstr(out, "usage: precis <command>"), "%s", out);
    cr_assert(strstr(out, "  config "), "config listed: %s", out);
    free(out);
}

Test(cli, version)
{
    char *out;
    cr_assert_eq(test_run_precis(&out, "--version"), 0);
    cr_assert_eq(strncmp(out, "precis ", 7), 0, "%s", out);
    cr_assert_gt(strlen(out), 9);
    free(out);
}

Test(cli, unknown_command_is_usage_error)
{
    char *out;
    cr_assert_eq(test_run_precis(&out, "frobnicate"), 2);
    cr_assert(strstr(out, "unknown command 'frobnicate'"), "%s", out);
    free(out);
}

/* Test doubles are linked only into test binaries (tests/stub_precis.c). */
Test(cli, product_binary_has_no_test_double)
{
    char *out;
    cr_assert_eq(test_run_precis(&out, "serve --stub-pipeline"), 2, "%s", out);
    cr_assert(strstr(out, "unknown or incomplete option '--stub-pipeline'"), "%s", out);
    free(out);
    char *cmd = NULL;
    cr_assert(asprintf(&cmd, "nm %s | grep -c stub_", test_precis_bin()) > 0);
    test_run(cmd, &out);
    cr_assert_eq(atoi(out), 0, "stub symbols in the product: %s", out);
    free(out);
    free(cmd);
}

Test(cli, command_help)
{
    char *out;
    cr_assert_eq(test_run_precis(&out, "config --help"), 0);
    cr_assert(strstr(out, "usage: precis config check"), "%s", out);
    free(out);
    cr_assert_eq(test_run_precis(&out, "help config"), 0);
    cr_assert(strstr(out, "usage: precis config check"), "%s", out);
    free(out);
}

Test(cli, config_check_rejects_unknown_key_with_file_and_line)
{
    char *path = NULL;
    cr_assert(asprintf(&path, "%s/bad.conf", test_tmpdir()) > 0);
    FILE *f = fopen(path, "w");
    fputs("[metrics]\nenabled = true\nlisten_adress = :1\n", f);
    fclose(f);
    char *out;
    cr_assert_eq(test_run_precis(&out, "config check -c %s", path), 1);
    char *want = NULL;
    cr_assert(asprintf(&want, "%s:3: unknown key 'listen_adress'", path) > 0);
    cr_assert(strstr(out, want), "%s", out);
    free(want);
    free(out);
    free(path);
}

Test(cli, bad_log_level)
{
    char *out;
    cr_assert_eq(test_run_precis(&out, "--log-level=shout help"), 2);
    cr_assert(strstr(out, "unknown log level"), "%s", out);
    free(out);
}

/* `precis prompts` lists every known analysis with the SHA-256 of its file,
 * and fails naming the file when one is broken. */
Test(cli, prompts_lists_versions_and_names_a_broken_file)
{
    char *out;
    cr_assert_eq(test_run_precis(&out, "prompts --dir prompts --json"), 0, "%s", out);
    cJSON *list = cJSON_Parse(out);
    cr_assert(cJSON_IsArray(list), "%s", out);
    size_t n = 0;
    for (const analysis_def *def; (def = analysis_at(n)); n++) {
        const cJSON *e = cJSON_GetArrayItem(list, (int)n);
        cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(e, "analysis")), def->name);
        char path[256], want[65];
        snprintf(path, sizeof path, "prompts/%s.json", def->prompt);
        size_t len;
        char *bytes = test_read_file(path, &len);
        sha256_hex(bytes, len, want);
        free(bytes);
        cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(e, "version")), want, "%s", def->name);
    }
    cr_assert_eq((size_t)cJSON_GetArraySize(list), n, "one entry per analysis");
    cJSON_Delete(list);
    free(out);

    char dir[512], *cmd;
    snprintf(dir, sizeof dir, "%s/prompts", test_tmpdir());
    cr_assert(asprintf(&cmd, "cp -r prompts %s && printf '{\"name\": \"summary\"' > %s/summary.json", dir, dir) > 0);
    cr_assert_eq(system(cmd), 0);
    free(cmd);
    cr_assert_eq(test_run_precis(&out, "prompts --dir %s", dir), 1, "%s", out);
    cr_assert(strstr(out, "summary.json") && strstr(out, "not valid JSON") && strstr(out, "INVALID"), "%s", out);
    free(out);
}
