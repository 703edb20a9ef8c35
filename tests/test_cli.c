/* test_cli.c — the precis binary's dispatcher: help, version, usage errors, config check. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support.h"

static int run(const char *args, char **out)
{
    char *cmd = NULL;
    cr_assert(asprintf(&cmd, "%s %s 2>&1", test_precis_bin(), args) > 0);
    int rc = test_run(cmd, out);
    free(cmd);
    return rc;
}

Test(cli, help_lists_commands)
{
    char *out;
    cr_assert_eq(run("help", &out), 0);
    cr_assert(strstr(out, "usage: precis <command>"), "%s", out);
    cr_assert(strstr(out, "  config "), "config listed: %s", out);
    free(out);
}

Test(cli, version)
{
    char *out;
    cr_assert_eq(run("--version", &out), 0);
    cr_assert_eq(strncmp(out, "precis ", 7), 0, "%s", out);
    cr_assert_gt(strlen(out), 9);
    free(out);
}

Test(cli, unknown_command_is_usage_error)
{
    char *out;
    cr_assert_eq(run("frobnicate", &out), 2);
    cr_assert(strstr(out, "unknown command 'frobnicate'"), "%s", out);
    free(out);
}

Test(cli, command_help)
{
    char *out;
    cr_assert_eq(run("config --help", &out), 0);
    cr_assert(strstr(out, "usage: precis config check"), "%s", out);
    free(out);
    cr_assert_eq(run("help config", &out), 0);
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
    char *args = NULL, *out;
    cr_assert(asprintf(&args, "config check -c %s", path) > 0);
    cr_assert_eq(run(args, &out), 1);
    char *want = NULL;
    cr_assert(asprintf(&want, "%s:3: unknown key 'listen_adress'", path) > 0);
    cr_assert(strstr(out, want), "%s", out);
    free(want);
    free(out);
    free(args);
    free(path);
}

Test(cli, bad_log_level)
{
    char *out;
    cr_assert_eq(run("--log-level=shout help", &out), 2);
    cr_assert(strstr(out, "unknown log level"), "%s", out);
    free(out);
}
