/* csv.h — a strict RFC 4180 record reader for response files.
 *
 * Fields are separated by ',' and records by CRLF or LF. A field that
 * starts with '"' is quoted: it may hold commas, line breaks and doubled
 * quotes ("" is one "), and must be followed by ',', the end of the record
 * or the end of the input. Anything else is an error naming the line:
 *   a quote inside an unquoted field, a character after a closing quote,
 *   a quoted field never closed (the line where it started), a lone CR,
 *   a NUL byte, more than CSV_MAX_FIELDS fields or a field longer than
 *   CSV_MAX_FIELD_BYTES.
 * A record's line is the physical line (1-based) where it starts. An empty
 * line is returned as a record with `blank` set (callers usually skip it).
 * The reader does not check UTF-8 or field counts: that is the caller's rule.
 */
#ifndef PRECIS_CSV_H
#define PRECIS_CSV_H

#include <stddef.h>

#include "common/error.h"

#define CSV_MAX_FIELDS 1024
#define CSV_MAX_FIELD_BYTES (4u << 20)

typedef struct csv_reader {
    const char *p, *end;
    size_t line;                 /* line of the next byte */
} csv_reader;

typedef struct csv_record {
    char **fields;               /* n malloc'd NUL-terminated strings */
    size_t n;
    size_t line;                 /* where the record starts */
    int blank;                   /* the record was an empty line */
} csv_record;

void csv_reader_init(csv_reader *r, const char *data, size_t len);

/* Read the next record into rec (cleared first): 1 = a record, 0 = end of
 * input, -1 = error (err says what and on which line). */
int csv_next(csv_reader *r, csv_record *rec, perr *err);

void csv_record_clear(csv_record *rec);

#endif
