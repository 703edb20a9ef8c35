/* engine_cli.h — helpers shared by the model commands (generate, perplexity,
 * model-info, tokenize): strict number parsing, reading a text file, and loading a
 * model together with its tokenizer. */
#ifndef PRECIS_ENGINE_CLI_H
#define PRECIS_ENGINE_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"
#include "engine/model.h"
#include "engine/tokenizer/tokenizer.h"

/* Whole-string parses; -1 when s is not a number in [lo, hi]. */
int cli_parse_int(const char *s, long lo, long hi, int *out);
int cli_parse_u64(const char *s, uint64_t *out);
int cli_parse_float(const char *s, double lo, double hi, float *out);

/* Whole file, NUL-terminated, malloc'd. */
int cli_read_text_file(const char *path, char **text, size_t *len, perr *err);
/* The rest of f the same way (f stays open; path names it in messages). */
int cli_read_text_stream(FILE *f, const char *path, char **text, size_t *len, perr *err);

/* Both or neither; free with model_free / tokenizer_free. */
int cli_load_model(const char *path, model **m, tokenizer **tok, perr *err);

/* Online CPUs (at least 1). */
int cli_default_threads(void);

#endif
