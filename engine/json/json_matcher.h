/* json_matcher.h — a byte-level state machine accepting exactly the JSON
 * texts of a compiled schema (engine/json/json_schema.h).
 *
 * The matcher is a small pushdown automaton: a fixed array of frames, one
 * per open object/array plus the value being written. It is a plain value:
 * copy it (json_matcher_copy copies only the frames in use) to explore a
 * continuation without committing to it. Every state it reaches can still
 * be completed: bytes that would lead to a dead end (a number that can no
 * longer land in its range, a required property skipped, a string past
 * maxLength...) are rejected when they are offered.
 *
 * Grammar: no whitespace inside numbers, literals and keys; between JSON
 * tokens at most max_whitespace spaces/newlines in a row (one leading space
 * before the value is always allowed); nothing after the value. Strings
 * hold valid UTF-8 without raw control characters; escapes are \" \\ \/ \b
 * \f \n \r \t and \uXXXX except surrogates and \u0000. Properties appear in
 * the schema's order. Numbers have no exponent, no leading zeros and no
 * negative zero.
 */
#ifndef PRECIS_JSON_MATCHER_H
#define PRECIS_JSON_MATCHER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/utf8.h"
#include "engine/json/json_schema.h"

#define JSON_MATCHER_MAX_DEPTH 32

typedef struct js_node js_node;

/* One frame; the fields are private to json_matcher.c. */
typedef struct json_matcher_frame {
    const js_node *node;   /* NULL for the root frame */
    uint8_t phase;
    union {
        struct { uint64_t cand; uint32_t next; uint16_t pos; } obj;
        struct { uint32_t count; } arr;
        struct { uint32_t count; uint16_t hex; uint8_t nhex; utf8_stream u; } str;
        struct { int64_t ival, fval; uint8_t neg, nd, lead0, nf; } num;
        struct { uint32_t lo, hi, pos; } lit;
    } u;
} json_matcher_frame;

typedef struct json_matcher {
    const js_node *root;
    uint8_t max_ws;        /* whitespace bytes in a row between tokens */
    uint8_t ws;            /* whitespace bytes just consumed */
    int depth;             /* frames in use (>= 1) */
    json_matcher_frame frames[JSON_MATCHER_MAX_DEPTH];
} json_matcher;

void json_matcher_init(json_matcher *m, const json_schema *s);

static inline void json_matcher_copy(json_matcher *dst, const json_matcher *src)
{
    memcpy(dst, src, offsetof(json_matcher, frames) +
                     (size_t)src->depth * sizeof(json_matcher_frame));
}

/* Consume one byte: 0, or -1 if the byte is not allowed here (the matcher
 * is then in an unspecified state: advance a copy when probing). */
int json_matcher_advance(json_matcher *m, unsigned char b);
int json_matcher_advance_bytes(json_matcher *m, const char *p, size_t n);

/* The bytes so far form a complete value of the schema. (A complete
 * top-level number may still grow; nothing else can follow a complete
 * value.) */
int json_matcher_is_complete(const json_matcher *m);

/* Bytes in the shortest continuation that completes the value (0 when
 * complete). Exact: one accepted byte lowers it by at most one. */
size_t json_matcher_min_remaining(const json_matcher *m);

/* Inside string text (not in an escape or a UTF-8 sequence): returns 1 and
 * sets *room to the code points the string may still take (-1 = no
 * limit), *short_by to those minLength still wants, and *rest to the bytes
 * that complete the value once the string is closed, closing quote
 * included. Otherwise returns 0. Text without quotes, backslashes, control
 * bytes or partial UTF-8 changes nothing but the count here, which lets
 * callers judge such tokens without running them through the matcher. */
int json_matcher_in_string_text(const json_matcher *m, long *room, size_t *short_by,
                                size_t *rest);

/* ---- helpers shared with the schema compiler */

/* For a JS_NUMBER node: bytes of the shortest in-range number text (first
 * == NULL), or of the shortest one beginning with *first; -1 if none. */
long json_matcher_number_start_cost(const js_node *n, const unsigned char *first);

#endif
