/* theme_set.h — an analyst's approved theme set: the themes a consultation's
 * responses are mapped to without generating themes (`precis themes
 * --export`, edited, then `precis consult --themes FILE` and the jobs of
 * the collection after it).
 *
 * Forms read (theme_set_parse):
 *   JSON  an array of theme objects, or an object {"themes": [...]} (what
 *         `precis themes --export` writes; its other keys "collection",
 *         "run_id" and "question" are informational). A theme object has
 *         "id", "label", "description", "position" — or themefinder's
 *         expected_themes.json keys "topic_id", "topic_label",
 *         "topic_description" (its "topic", label and description joined,
 *         is ignored).
 *   CSV   a header naming the columns id, label, description, position (or
 *         topic_id, topic_label, topic_description, topic), case-insensitive;
 *         only label is required.
 * An unknown key or column is an error naming it (a misspelt "descripton"
 * would otherwise lose the text silently).
 *
 * Rules: 1..THEME_SET_MAX themes; a label is required (non-empty after
 * trimming, at most THEME_SET_LABEL_MAX characters); a description is
 * optional (at most THEME_SET_DESCRIPTION_MAX characters); a position is
 * AGREE, DISAGREE or UNCLEAR (any case) or empty. Ids are single letters
 * A..Z: a lower-case letter is taken as its capital, a theme without id (or
 * with "") gets the first letter no other theme uses, an id used twice or
 * any other id ("AA", "1", "B2") is an error naming the theme. Ids need not
 * be contiguous (an analyst who merged B into A keeps A, C, D...). Line
 * breaks and other control characters in a label or description become
 * spaces. Errors name the theme (JSON: its position, 1-based) or the line
 * (CSV). The input must be valid UTF-8.
 */
#ifndef PRECIS_THEME_SET_H
#define PRECIS_THEME_SET_H

#include <stddef.h>

#include "common/error.h"

#define THEME_SET_MAX 26                  /* ids A..Z */
#define THEME_SET_LABEL_MAX 200           /* characters */
#define THEME_SET_DESCRIPTION_MAX 1000    /* characters */
#define THEME_SET_MAX_FILE_BYTES (1u << 20)

typedef struct theme_set_item {
    char id[2];                  /* "A".."Z" */
    char *label, *description;   /* malloc'd; description may be "" */
    char position[10];           /* "AGREE", "DISAGREE", "UNCLEAR" or "" */
} theme_set_item;

typedef struct theme_set {
    theme_set_item *items;       /* sorted by id */
    size_t n;
} theme_set;

typedef enum theme_set_format {
    THEME_SET_AUTO,              /* JSON when the first non-blank byte is '[' or '{', else CSV */
    THEME_SET_JSON,
    THEME_SET_CSV,
} theme_set_format;

/* The format a file name suggests (.json, .csv; else AUTO). */
theme_set_format theme_set_format_for_name(const char *name);

/* "json" or "csv" -> the format; -1 for anything else. */
int theme_set_format_named(const char *name, theme_set_format *out);

/* Parse data[0..len) into *out (left empty on error). */
int theme_set_parse(const char *data, size_t len, theme_set_format format, theme_set *out, perr *err);

/* Read and parse a file (at most THEME_SET_MAX_FILE_BYTES); sha256 (may be
 * NULL) receives the file's SHA-256 in hex. Errors start with the path. */
int theme_set_load_file(const char *path, theme_set_format format, theme_set *out, char sha256[65], perr *err);

/* Where the themes came from, written into the JSON form (all optional). */
typedef struct theme_set_origin {
    const char *collection;      /* NULL = omitted */
    long long run_id;            /* 0 = omitted */
    const char *question;        /* NULL or "" = omitted */
} theme_set_origin;

/* The set as text an analyst can edit (malloc'd): JSON (indented, with
 * origin's keys) or CSV (header id,label,description,position; RFC 4180
 * quoting). theme_set_parse reads both back to the same set. */
char *theme_set_write(const theme_set *ts, theme_set_format format, const theme_set_origin *origin, perr *err);

/* The set as a compact JSON array [{"id", "label", "description",
 * "position"}] (malloc'd), the form stored with a run. */
char *theme_set_json(const theme_set *ts);

/* Index of theme id in ts; -1 when absent. */
int theme_set_find(const theme_set *ts, char id);

/* A deep copy of src into *dst; 0 or -1 (out of memory, dst empty). */
int theme_set_copy(theme_set *dst, const theme_set *src);

void theme_set_clear(theme_set *ts);

#endif
