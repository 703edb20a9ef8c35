/* csv.c — strict RFC 4180 record reader (see csv.h). */
#include "pipeline/consultation/csv.h"

#include <stdlib.h>
#include <string.h>

#include "common/grow.h"

typedef struct field_buf {
    char *data;
    size_t len, cap;
} field_buf;

static int buf_push(field_buf *b, char c)
{
    char *grown = grow_to(b->data, &b->cap, b->len + 2, 1, 64);
    if (!grown)
        return -1;
    b->data = grown;
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
    return 0;
}

static int add_field(csv_record *rec, field_buf *b, perr *err)
{
    if (rec->n >= CSV_MAX_FIELDS)
        return perr_set(err, "line %zu: more than %d fields", rec->line, CSV_MAX_FIELDS);
    char **grown = realloc(rec->fields, (rec->n + 1) * sizeof *grown);
    if (!grown)
        return perr_set(err, "out of memory");
    rec->fields = grown;
    char *text = b->data ? b->data : strdup("");
    if (!text)
        return perr_set(err, "out of memory");
    rec->fields[rec->n++] = text;
    *b = (field_buf){0};
    return 0;
}

/* At a line break (LF or CRLF)? Returns its length, 0 if not; -1 for a lone CR. */
static int line_break_at(const csv_reader *r)
{
    if (r->p >= r->end)
        return 0;
    if (*r->p == '\n')
        return 1;
    if (*r->p == '\r')
        return r->p + 1 < r->end && r->p[1] == '\n' ? 2 : -1;
    return 0;
}

static int check_byte(const csv_reader *r, field_buf *b, perr *err)
{
    if (*r->p == '\0')
        return perr_set(err, "line %zu: NUL byte", r->line);
    if (b->len >= CSV_MAX_FIELD_BYTES)
        return perr_set(err, "line %zu: a field is longer than %u bytes", r->line, CSV_MAX_FIELD_BYTES);
    if (buf_push(b, *r->p) != 0)
        return perr_set(err, "out of memory");
    return 0;
}

/* A quoted field from after its opening quote to after its closing one. */
static int read_quoted(csv_reader *r, field_buf *b, perr *err)
{
    size_t start_line = r->line;
    for (;;) {
        if (r->p >= r->end)
            return perr_set(err, "line %zu: quoted field is never closed", start_line);
        if (*r->p == '"') {
            if (r->p + 1 < r->end && r->p[1] == '"') {
                if (buf_push(b, '"') != 0)
                    return perr_set(err, "out of memory");
                r->p += 2;
                continue;
            }
            r->p++;
            return 0;
        }
        if (*r->p == '\n')
            r->line++;
        if (check_byte(r, b, err) != 0)
            return -1;
        r->p++;
    }
}

/* An unquoted field up to ',', a line break or the end. */
static int read_plain(csv_reader *r, field_buf *b, perr *err)
{
    while (r->p < r->end && *r->p != ',' && *r->p != '\n' && *r->p != '\r') {
        if (*r->p == '"')
            return perr_set(err, "line %zu: quote inside an unquoted field (quote the whole field and double the "
                            "quote)", r->line);
        if (check_byte(r, b, err) != 0)
            return -1;
        r->p++;
    }
    return 0;
}

/* One field; *more = 1 when a ',' follows (another field of this record). */
static int read_field(csv_reader *r, csv_record *rec, int *more, perr *err)
{
    field_buf b = {0};
    int quoted = r->p < r->end && *r->p == '"';
    int rc;
    if (quoted) {
        r->p++;
        rc = read_quoted(r, &b, err);
        if (rc == 0 && r->p < r->end && *r->p != ',' && !line_break_at(r) && *r->p != '\r')
            rc = perr_set(err, "line %zu: unexpected character '%c' after a closing quote", r->line,
                          *r->p >= ' ' && *r->p < 127 ? *r->p : '?');
    } else {
        rc = read_plain(r, &b, err);
    }
    if (rc == 0 && line_break_at(r) < 0)
        rc = perr_set(err, "line %zu: carriage return not followed by a line feed", r->line);
    if (rc == 0)
        rc = add_field(rec, &b, err);
    if (rc != 0) {
        free(b.data);
        return -1;
    }
    *more = r->p < r->end && *r->p == ',';
    if (*more)
        r->p++;
    return 0;
}

void csv_reader_init(csv_reader *r, const char *data, size_t len)
{
    *r = (csv_reader){.p = data, .end = data + len, .line = 1};
}

int csv_next(csv_reader *r, csv_record *rec, perr *err)
{
    csv_record_clear(rec);
    if (r->p >= r->end)
        return 0;
    rec->line = r->line;
    rec->blank = line_break_at(r) > 0;
    int more = 1;
    while (more) {
        if (read_field(r, rec, &more, err) != 0) {
            csv_record_clear(rec);
            return -1;
        }
    }
    int brk = line_break_at(r);
    if (brk > 0) {
        r->p += brk;
        r->line++;
    }
    return 1;
}

void csv_record_clear(csv_record *rec)
{
    for (size_t i = 0; i < rec->n; i++)
        free(rec->fields[i]);
    free(rec->fields);
    *rec = (csv_record){0};
}
