/* cli.h — the `precis <command> [options]` command registry.
 *
 * Each command lives in its own cli/cmd_NAME.c (user commands) or
 * tools/cmd_NAME.c (developer tools) and defines one
 * `const cli_command cmd_NAME`; cli/commands.c lists them. Only commands
 * that work are registered. run() gets argv with argv[0] = the command name,
 * returns the process exit status (0 ok, 1 failure, 2 usage error) and is
 * the "top level": it is where errors (perr) are printed or logged.
 */
#ifndef PRECIS_CLI_H
#define PRECIS_CLI_H

#include <stdio.h>

#include "common/error.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

typedef struct cli_command {
    const char *name;     /* e.g. "generate" */
    const char *summary;  /* one line for `precis help` */
    const char *usage;    /* full text printed by `precis NAME --help` */
    int (*run)(int argc, char **argv);
} cli_command;

/* NULL-terminated table, in the order `precis help` lists them. */
extern const cli_command *const cli_commands[];

/* Entry point used by main() and by tests. */
int cli_main(int argc, char **argv);

/* Take --log-level LEVEL / --log-level=LEVEL out of argv (else
 * PRECIS_LOG_LEVEL) and apply it; -1 after printing why it is wrong. */
int cli_take_log_level(int *argc, char **argv);

/* True when argv holds -h or --help (commands call this first). */
int cli_wants_help(int argc, char **argv);
/* Print a command's usage to f. */
void cli_print_usage(const cli_command *cmd, FILE *f);
/* Report a usage error ("precis NAME: MSG" + hint) and return EXIT_USAGE. */
int cli_usage_error(const cli_command *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct option; /* <getopt.h> */

/* What a take function returns for an option it does not know (getopt_long's
 * '?' or ':' included): cli_parse_options reports it. */
enum { CLI_OPTION_UNKNOWN = -1 };

/* How a command reads its options with getopt_long. */
typedef struct cli_options {
    const char *shortopts;           /* getopt_long's optstring ("+c:": stop at the first operand) */
    const struct option *longopts;   /* {NULL, 0, NULL, 0}-terminated */
    /* One option into args (opt as getopt_long returns it, arg its optarg):
     * 0, the status of a cli_usage_error, or CLI_OPTION_UNKNOWN. */
    int (*take)(void *args, int opt, const char *arg);
    int max_operands;                /* arguments allowed after the options */
} cli_options;

/* Read argv's options from the start, getopt's own messages off, each
 * through o->take. An unknown or incomplete option, or more than
 * o->max_operands operands, is a usage error of cmd. Returns 0 with *first
 * the index of the first operand (argc when none), or the usage error's
 * status (printed). */
int cli_parse_options(const cli_command *cmd, const cli_options *o, int argc, char **argv, void *args, int *first);

/* A take function's integer option: arg within lo..hi into *out (0), or a
 * usage error of cmd naming the option ("--jobs needs 1..64, not 'x'"). */
int cli_option_int(const cli_command *cmd, const char *option, const char *arg, int lo, int hi, int *out);

/* Write text to the file at path (created or truncated): 0, or -1 with err
 * naming the path. */
int cli_write_file(const char *path, const char *text, perr *err);

/* The same for a number lo..hi (strtod's syntax). */
int cli_option_double(const cli_command *cmd, const char *option, const char *arg, double lo, double hi, double *out);

#endif
