/* twin.h — the counterfactual twin of a document (legal_review's `twin`
 * option): the same text with the parties' names replaced (placeholders or
 * swapped names) and protected attributes swapped (gendered words and
 * pronouns, titles, nationality and ethnicity terms), so a review of both
 * shows which findings depend on who the parties are.
 *
 * Substitution rules: the parties' name pairs (class "party") and the
 * attribute pairs of prompts/twin_attributes.json (classes as named there),
 * each pair swapped both ways. Matching is at word boundaries (a word
 * character is a Unicode letter, digit or mark), longest term first, then
 * party names before attributes, then the order listed; letter case is
 * ignored when matching attributes and kept in the replacement (he -> she,
 * He -> She, HE -> SHE); party names match as given or in capitals.
 *
 * The twin is deterministic (same text and rules, same bytes) and
 * reversible: it records every edit (its span in the original and in the
 * twin, the class), so the original is rebuilt exactly (twin_restore) and
 * any span of the twin maps back to the original (twin_span_to_original:
 * a quote verified against the twin's text is reported in the original's
 * coordinates). Offsets are UTF-8 bytes, end exclusive; edits never split a
 * character.
 */
#ifndef PRECIS_TWIN_H
#define PRECIS_TWIN_H

#include <stddef.h>

#include "common/error.h"

/* One term and its replacement, of a class ("party", "gender", ...). */
typedef struct twin_pair {
    char *from, *to, *cls;
} twin_pair;

typedef struct twin_rules {
    twin_pair *pairs;
    size_t n;
} twin_rules;

/* Add the attribute pairs of a twin_attributes.json text (both directions
 * of each pair; an entry whose `from` is already there is skipped, so the
 * first pair listed decides). */
int twin_rules_add_attributes(twin_rules *r, const char *json, perr *err);

/* Add one party: name <-> replacement, both directions (class "party").
 * Empty names, or a name that is already a party term, are refused. */
int twin_rules_add_party(twin_rules *r, const char *name, const char *replacement, perr *err);

void twin_rules_clear(twin_rules *r);

/* One replacement: original bytes [orig_start, orig_end) became twin bytes
 * [twin_start, twin_end). cls points into the rules. */
typedef struct twin_edit {
    size_t orig_start, orig_end, twin_start, twin_end;
    const char *cls;
} twin_edit;

typedef struct twin {
    char *text;                  /* the twin, NUL-terminated */
    size_t len;
    twin_edit *edits;            /* in text order */
    size_t n_edits;
    char *original;              /* a copy of the original, for twin_restore */
} twin;

/* Build the twin of text (valid UTF-8). */
int twin_build(const char *text, const twin_rules *r, twin *out, perr *err);

/* The original text rebuilt from the twin and its edits (malloc'd). */
char *twin_restore(const twin *t);

/* Map the twin span [start, end) to the original: a boundary inside an
 * edit widens to the whole edit, others shift by the edits before them. */
void twin_span_to_original(const twin *t, size_t start, size_t end, size_t *orig_start, size_t *orig_end);

/* How many edits of class cls (NULL: all). */
size_t twin_count(const twin *t, const char *cls);

void twin_clear(twin *t);

#endif
