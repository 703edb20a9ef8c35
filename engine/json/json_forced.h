/* json_forced.h — the text a JSON matcher state forces (jump-forward
 * decoding; engine/json/json_constraint.h turns it into tokens).
 *
 * At a matcher state the next byte is forced when it is the only byte the
 * matcher accepts and the value is not complete yet; the forced text is the
 * run of such bytes from the state on: keys and punctuation of a compact
 * schema (max_whitespace 0), the rest of an enum value once its prefix is
 * unique, closing brackets. It ends at a complete value (a complete
 * top-level number may still grow), at a state that accepts no byte or
 * several, or after cap bytes. Found by probing all 256 bytes on copies of
 * the matcher. The first byte of a value is never forced: one leading space
 * before it is always allowed.
 */
#ifndef PRECIS_JSON_FORCED_H
#define PRECIS_JSON_FORCED_H

#include <stddef.h>

#include "engine/json/json_matcher.h"

/* Bytes of forced text a constraint looks ahead (and so the most tokens
 * its queue holds: each token has at least one byte). */
#define JSON_FORCED_MAX 256

/* The forced text at m into out (at most cap bytes, not NUL-terminated);
 * returns its length (0: the next byte is not forced). */
size_t json_forced_text(const json_matcher *m, char *out, size_t cap);

/* The value is complete and no byte can follow it. */
int json_forced_must_end(const json_matcher *m);

#endif
