/* eval_kinds.h — the kinds of `precis eval` (cli/cmd_eval.c dispatches):
 * each gets argv with argv[0] = the kind's name and returns the exit status. */
#ifndef PRECIS_EVAL_KINDS_H
#define PRECIS_EVAL_KINDS_H

#include "cli/cli.h"

extern const cli_command cmd_eval;

/* `precis eval consultation` (cli/cmd_eval_consultation.c). */
int eval_consultation_main(int argc, char **argv);

/* `precis eval legal` (cli/cmd_eval_legal.c). */
int eval_legal_main(int argc, char **argv);

#endif
