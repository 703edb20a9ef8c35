/* json_schema_internal.h — the compiled schema tree shared by the compiler
 * (json_schema.c), the validator (json_schema_validate.c) and the byte
 * matcher (json_matcher.c). Not for use outside engine/json_*.c.
 */
#ifndef PRECIS_JSON_SCHEMA_INTERNAL_H
#define PRECIS_JSON_SCHEMA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "engine/json/json_schema.h"

/* Generated numbers: integers have at most 16 digits; numbers at most 12
 * integer digits and exactly JS_NUM_FRAC fraction digits of resolution.
 * Magnitudes are handled as int64 counts of 10^-frac units (< 10^18). */
#define JS_INT_DIGITS 16
#define JS_NUM_INT_DIGITS 12
#define JS_NUM_FRAC 6
#define JS_MAX_PROPS 64     /* properties per object (a 64-bit candidate mask) */
#define JS_MAX_NESTING 30   /* object/array nesting of a schema */
#define JS_MAX_KEY 1024     /* bytes of a property name as JSON (the matcher counts in 16 bits) */

typedef enum js_kind {
    JS_OBJECT,
    JS_ARRAY,
    JS_STRING,
    JS_NUMBER,    /* integer or number */
    JS_LITERALS,  /* enum, const, boolean, null: a set of exact JSON texts */
    JS_ANY_OF,    /* alternatives with disjoint first bytes */
} js_kind;

typedef struct js_node js_node;

typedef struct js_prop {
    const char *name;      /* decoded name (points into the schema document) */
    char *key;             /* the name as a JSON string, quotes included */
    size_t key_len;
    int required;
    const js_node *value;
} js_prop;

typedef struct js_literal {
    char *text;            /* compact JSON text */
    size_t len;
    const cJSON *value;    /* for validation */
} js_literal;

struct js_node {
    js_kind kind;
    size_t min_len;        /* bytes of the shortest complete value */
    uint8_t first[32];     /* bit set of bytes a value can begin with */
    union {
        struct {
            js_prop *props;
            int n_props;
            size_t *req_after; /* [n_props + 1]: bytes of the required properties
                                * with index >= i, each with its leading comma */
        } obj;
        struct {
            const js_node *items;
            long min_items, max_items; /* max -1 = unbounded */
        } arr;
        struct {
            long min_len, max_len;     /* code points; max -1 = unbounded */
        } str;
        struct {
            int integer;
            int frac;                  /* fraction digits generated (0 for integers) */
            int int_digits;            /* integer digits at most */
            int64_t lo, hi;            /* generated range, in 10^-frac units */
            double min, max;           /* the schema's bounds, for validation */
            int has_min, has_max, min_excl, max_excl;
        } num;
        struct {
            js_literal *lits;          /* sorted bytewise, distinct */
            int n;
        } lit;
        struct {
            const js_node **alts;
            int n;
        } any;
    } u;
};

struct json_schema {
    cJSON *doc;            /* the parsed schema (names and enum values point here) */
    cJSON *owned;          /* values created for boolean and null types */
    js_node **nodes;       /* every node, for freeing */
    size_t n_nodes, cap_nodes;
    const js_node *root;
    int max_whitespace;
};

/* Saturating size arithmetic (lengths of huge minItems products). */
static inline size_t js_add(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }
static inline size_t js_mul(size_t a, size_t b)
{
    return a && b > SIZE_MAX / a ? SIZE_MAX : a * b;
}

static inline int js_first_has(const js_node *n, unsigned char b)
{
    return (n->first[b >> 3] >> (b & 7)) & 1;
}

#endif
