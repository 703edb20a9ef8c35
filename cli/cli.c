/* cli.c — dispatch `precis <command> [options]`, global flags, help and version. */
#include "cli/cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "precis_version.h"

static const char *const program_usage =
    "usage: precis <command> [options]\n"
    "       precis help [command]\n"
    "       precis --version\n"
    "\n"
    "Global options (accepted anywhere on the line):\n"
    "  --log-level LEVEL   debug, info, warn or error (default info; env PRECIS_LOG_LEVEL)\n";

static const cli_command *find_command(const char *name)
{
    for (size_t i = 0; cli_commands[i]; i++)
        if (strcmp(cli_commands[i]->name, name) == 0)
            return cli_commands[i];
    return NULL;
}

static void print_program_help(FILE *f)
{
    fputs(program_usage, f);
    fputs("\nCommands:\n", f);
    for (size_t i = 0; cli_commands[i]; i++)
        fprintf(f, "  %-14s %s\n", cli_commands[i]->name, cli_commands[i]->summary);
    fputs("\nRun 'precis <command> --help' for a command's options.\n", f);
}

void cli_print_usage(const cli_command *cmd, FILE *f)
{
    fputs(cmd->usage, f);
    size_t n = strlen(cmd->usage);
    if (n == 0 || cmd->usage[n - 1] != '\n')
        fputc('\n', f);
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    }
    return 0;
}

int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "precis %s: ", cmd->name);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'precis %s --help'.\n", cmd->name);
    va_end(ap);
    return EXIT_USAGE;
}

int cli_parse_options(const cli_command *cmd, const cli_options *o, int argc, char **argv, void *args, int *first)
{
    optind = 0;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, o->shortopts, o->longopts, NULL)) != -1) {
        int rc = o->take(args, opt, optarg);
        if (rc == CLI_OPTION_UNKNOWN)
            return cli_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        if (rc != 0)
            return rc;
    }
    if (argc - optind > o->max_operands)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + o->max_operands]);
    *first = optind;
    return 0;
}

/* Remove `--log-level X` / `--log-level=X` from argv and apply it.
 * Returns -1 (after printing) when the level is missing or unknown. */
int cli_take_log_level(int *argc, char **argv)
{
    const char *level = getenv("PRECIS_LOG_LEVEL");
    int out = 0;
    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], "--log-level") == 0) {
            if (i + 1 >= *argc) {
                fputs("precis: --log-level needs a value\n", stderr);
                return -1;
            }
            level = argv[++i];
            continue;
        }
        if (strncmp(argv[i], "--log-level=", 12) == 0) {
            level = argv[i] + 12;
            continue;
        }
        argv[out++] = argv[i];
    }
    *argc = out;
    argv[out] = NULL;
    if (level && *level && log_set_level_name(level) != 0) {
        fprintf(stderr, "precis: unknown log level '%s' (use debug, info, warn or error)\n", level);
        return -1;
    }
    return 0;
}

int cli_main(int argc, char **argv)
{
    if (cli_take_log_level(&argc, argv) != 0)
        return EXIT_USAGE;
    if (argc < 2) {
        print_program_help(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("precis %s\n", PRECIS_VERSION);
        return EXIT_OK;
    }
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        if (argc > 2 && strcmp(name, "help") == 0) {
            const cli_command *cmd = find_command(argv[2]);
            if (!cmd) {
                fprintf(stderr, "precis: unknown command '%s'\n", argv[2]);
                return EXIT_USAGE;
            }
            cli_print_usage(cmd, stdout);
            return EXIT_OK;
        }
        print_program_help(stdout);
        return EXIT_OK;
    }
    const cli_command *cmd = find_command(name);
    if (!cmd) {
        fprintf(stderr, "precis: unknown command '%s'\nRun 'precis help' for the list of commands.\n", name);
        return EXIT_USAGE;
    }
    if (cli_wants_help(argc - 1, argv + 1)) {
        cli_print_usage(cmd, stdout);
        return EXIT_OK;
    }
    return cmd->run(argc - 1, argv + 1);
}

int cli_option_int(const cli_command *cmd, const char *option, const char *arg, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (!*arg || *end || v < lo || v > hi)
        return cli_usage_error(cmd, "%s needs %d..%d, not '%s'", option, lo, hi, arg);
    *out = (int)v;
    return 0;
}

int cli_write_file(const char *path, const char *text, perr *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return perr_errno(err, "cannot write %s", path);
    int failed = fputs(text, f) < 0;
    failed |= fclose(f) != 0;
    return failed ? perr_errno(err, "writing %s", path) : 0;
}

int cli_option_double(const cli_command *cmd, const char *option, const char *arg, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(arg, &end);
    if (!*arg || *end || !(v >= lo && v <= hi))
        return cli_usage_error(cmd, "%s needs %g..%g, not '%s'", option, lo, hi, arg);
    *out = v;
    return 0;
}
