/* eval_items.h — labelled responses for evaluation, read from JSONL files:
 * per response an id, a set of labels and a position, expected or
 * predicted. One object per non-empty line; errors name the file and line.
 *
 *   mapping    {"response_id": 1001, "labels": ["A", "D"], ...}
 *   sentiment  {"response_id": 1001, "position": "AGREE", ...}
 *   predicted  {"response_id": "1001", "labels": [...], "position": "AGREE"}
 *              ("position" may be absent or null)
 * response_id is a string or an integer (kept as its decimal text, so 1001
 * and "1001" are the same response); ids are unique within a file. Labels
 * are non-empty strings; a label given twice counts once (a set). Other
 * keys are ignored. A position is any non-empty string (compared as text).
 */
#ifndef PRECIS_EVAL_ITEMS_H
#define PRECIS_EVAL_ITEMS_H

#include <stddef.h>

#include "common/error.h"

#define EVAL_POSITION_MAX 16

typedef struct eval_item {
    char *id;
    char **labels;               /* a set, in first-seen order */
    size_t n_labels;
    int has_labels;              /* a "labels" array was read for it */
    char position[EVAL_POSITION_MAX];   /* "" = none */
    size_t line;                 /* of the first file that named it */
} eval_item;

typedef struct eval_items {
    eval_item *items;            /* file order */
    size_t n, cap;
} eval_items;

/* What a file's lines must hold. */
enum {
    EVAL_NEED_LABELS = 1,        /* a "labels" array */
    EVAL_NEED_POSITION = 2,      /* a "position" string */
};

/* Read path's lines into set (appended; an id seen before in set gets the
 * line's labels/position merged in, but an id twice in one file is an
 * error). need: EVAL_NEED_* bits; without EVAL_NEED_POSITION a position is
 * still read when present. 0 or -1 (err names path and line). */
int eval_items_read(const char *path, int need, eval_items *set, perr *err);

/* The item of id, or NULL. Linear: for lookups in bulk use eval_items_index. */
eval_item *eval_items_find(const eval_items *set, const char *id);

/* Items sorted by id for eval_items_lookup (malloc'd array of pointers into set). */
eval_item **eval_items_index(const eval_items *set);
eval_item *eval_items_lookup(eval_item *const *index, size_t n, const char *id);

/* Whether it holds label. */
int eval_item_has(const eval_item *it, const char *label);

/* Add label to it's set (nothing when it is there): 0, or -1 out of memory. */
int eval_item_add_label(eval_item *it, const char *label);

void eval_items_clear(eval_items *set);

/* The whole file at path, NUL-terminated (malloc'd), at most 128 MiB; *len
 * its length. NULL with err naming the file. For every eval file reader. */
char *eval_file_read(const char *path, size_t *len, perr *err);

#endif
