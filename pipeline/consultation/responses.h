/* responses.h — consultation responses: (id, text) pairs read from one CSV,
 * JSONL or JSON file, or added one by one (stored documents).
 *
 * CSV (RFC 4180, pipeline/consultation/csv.h): the first record is the header; the id
 * column is the first header named (case-insensitive, trimmed) response_id
 * or id, the text column response, text or answer — or the columns the
 * options name. The id column may be "@row": the record's row number
 * (1 = the first record after the header), for files without ids. Every
 * record must have as many fields as the header; empty lines are skipped;
 * a UTF-8 byte order mark is skipped.
 * JSONL: one JSON object per non-empty line, with "response_id" or "id" (a
 * string or an integer) and "response", "text" or "answer" (a string);
 * other keys are ignored.
 * JSON: an array of such objects.
 * Rules for every form: the whole input must be valid UTF-8 without NUL
 * bytes; ids are 1..RESPONSES_MAX_ID_BYTES bytes without control
 * characters and unique; at most RESPONSES_MAX_ROWS responses, each at most
 * RESPONSES_MAX_TEXT_BYTES. Errors name the line (CSV, JSONL) or the array
 * index (JSON). A response whose text is empty is kept (the consultation
 * marks it unprocessable, it does not vanish).
 */
#ifndef PRECIS_RESPONSES_H
#define PRECIS_RESPONSES_H

#include <stddef.h>

#include "common/error.h"

#define RESPONSES_MAX_ROWS 100000
#define RESPONSES_MAX_ID_BYTES 200
#define RESPONSES_MAX_TEXT_BYTES (1u << 20)
#define RESPONSES_MAX_FILE_BYTES (128u << 20)

typedef enum responses_format {
    RESPONSES_AUTO,              /* JSON when the first non-blank byte is '[', JSONL when '{', else CSV */
    RESPONSES_CSV,
    RESPONSES_JSONL,
    RESPONSES_JSON,
} responses_format;

typedef struct response {
    char *id;
    char *text;
    size_t line;                 /* CSV/JSONL line; 0 = JSON array or not from a file */
} response;

typedef struct response_set {
    response *items;             /* in input order */
    size_t n, cap;
} response_set;

typedef struct responses_options {
    responses_format format;
    const char *id_column;       /* CSV: header name or "@row"; NULL = by name */
    const char *text_column;     /* CSV: header name; NULL = by name */
} responses_options;

/* Parse data[0..len) into *out (empty it first with responses_clear; it
 * is left empty on error). opt may be NULL (auto format, columns by name). */
int responses_parse(const char *data, size_t len, const responses_options *opt, response_set *out, perr *err);

/* Read and parse a file (at most RESPONSES_MAX_FILE_BYTES). */
int responses_load_file(const char *path, const responses_options *opt, response_set *out, perr *err);

/* The format a file name suggests: .csv, .jsonl/.ndjson, .json; else AUTO. */
responses_format responses_format_for_name(const char *name);

/* Append one response (copies both strings; line as in response); checks
 * the id and size rules except uniqueness (responses_check_unique). */
int responses_add(response_set *set, const char *id, const char *text, size_t line, perr *err);

/* -1 naming an id that appears twice (and its lines when known). */
int responses_check_unique(const response_set *set, perr *err);

void responses_clear(response_set *set);

#endif
