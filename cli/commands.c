/* commands.c — the table of registered commands (see cli.h). */
#include "cli/cli.h"

extern const cli_command cmd_config;
extern const cli_command cmd_migrate;
extern const cli_command cmd_status;
extern const cli_command cmd_extract;
extern const cli_command cmd_generate;
extern const cli_command cmd_perplexity;
extern const cli_command cmd_model_info;
extern const cli_command cmd_tokenize;
extern const cli_command cmd_quantize;
extern const cli_command cmd_gen_model;
extern const cli_command cmd_bench;
extern const cli_command cmd_broker;
extern const cli_command cmd_submit;
extern const cli_command cmd_serve;
extern const cli_command cmd_run;
extern const cli_command cmd_consult;
extern const cli_command cmd_themes;
extern const cli_command cmd_report;
extern const cli_command cmd_eval;
extern const cli_command cmd_digest;
extern const cli_command cmd_prompts;

const cli_command *const cli_commands[] = {
    &cmd_config,
    &cmd_migrate,
    &cmd_status,
    &cmd_extract,
    &cmd_generate,
    &cmd_perplexity,
    &cmd_model_info,
    &cmd_tokenize,
    &cmd_quantize,
    &cmd_gen_model,
    &cmd_bench,
    &cmd_broker,
    &cmd_submit,
    &cmd_serve,
    &cmd_run,
    &cmd_consult,
    &cmd_themes,
    &cmd_report,
    &cmd_eval,
    &cmd_digest,
    &cmd_prompts,
    NULL,
};
