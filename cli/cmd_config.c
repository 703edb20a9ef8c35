/* cmd_config.c — `precis config check|defaults`: validate and show configuration. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "daemon/config.h"
#include "daemon/pipeline_setup.h"

extern char **environ;

static int config_run(int argc, char **argv);

const cli_command cmd_config = {
    .name = "config",
    .summary = "validate the configuration and print it (secrets masked)",
    .usage =
        "usage: precis config check [-c FILE]\n"
        "       precis config defaults\n"
        "\n"
        "check     load FILE (default /etc/precis/precis.conf if present), apply\n"
        "          PRECIS_<SECTION>_<KEY> environment overrides, validate every key\n"
        "          (unknown sections or keys are errors naming FILE:LINE; an OCR\n"
        "          language that is not installed is named) and print the\n"
        "          effective configuration with secrets masked.\n"
        "defaults  list every precis key with its default and meaning. In [kafka],\n"
        "          any librdkafka property (dotted name) is also accepted verbatim.\n"
        "\n"
        "  -c, --config FILE   configuration file\n",
    .run = config_run,
};

static int config_check(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc)
            path = argv[++i];
        else if (!strncmp(argv[i], "--config=", 9))
            path = argv[i] + 9;
        else
            return cli_usage_error(&cmd_config, "unexpected argument '%s'", argv[i]);
    }
    config *cfg;
    perr err;
    if (config_load(&cfg, path, environ, &err) != 0) {
        fprintf(stderr, "precis config: %s\n", err.msg);
        return EXIT_FAIL;
    }
    pipeline_ocr ocr;
    if (pipeline_read_ocr(cfg, 1, &ocr, &err) != 0) {
        fprintf(stderr, "precis config: %s\n", err.msg);
        config_free(cfg);
        return EXIT_FAIL;
    }
    config_print(cfg, stdout);
    config_free(cfg);
    return EXIT_OK;
}

static void print_defaults(void)
{
    const char *section = "";
    for (size_t i = 0; config_keys[i].section; i++) {
        const config_key_spec *k = &config_keys[i];
        if (strcmp(section, k->section) != 0) {
            printf("%s[%s]\n", i ? "\n" : "", k->section);
            section = k->section;
        }
        printf("%-18s = %-16s # %s\n", k->key, k->default_value ? k->default_value : "(unset)", k->help);
    }
}

static int config_run(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error(&cmd_config, "missing subcommand (check or defaults)");
    if (!strcmp(argv[1], "check"))
        return config_check(argc - 1, argv + 1);
    if (!strcmp(argv[1], "defaults") && argc == 2) {
        print_defaults();
        return EXIT_OK;
    }
    return cli_usage_error(&cmd_config, "unknown subcommand '%s'", argv[1]);
}
