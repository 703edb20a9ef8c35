/* json_constraint.h — a compiled JSON schema as a constraint on generated
 * tokens.
 *
 * A json_vocab is built once per tokenizer: every token's bytes (its piece,
 * exactly what generation appends to the text) in a prefix trie. A
 * json_constraint follows one generation: it holds a json_matcher for the
 * text so far and answers "may token t come next?" either for one token
 * (json_constraint_allows: a copy of the matcher eats the piece's bytes) or
 * for the whole vocabulary (json_constraint_mask: a walk of the trie that
 * drops a whole subtree as soon as its prefix is rejected).
 *
 * Rules: a token is allowed when the matcher accepts all its bytes; control
 * and unknown tokens and tokens with no bytes never are; end-of-generation
 * tokens (tokenizer_is_eog) are allowed exactly when the value is complete.
 * Closing budget: with json_constraint_set_budget(c, n) — n tokens may
 * still be generated, counting the next one — a token is allowed only if
 * the value can still be completed in the tokens left after it, counting
 * one token per byte of the shortest completion. The tokenizer must have a
 * single-byte token for each byte that completion needs (SentencePiece
 * vocabularies with byte fallback and byte-level BPE do); so a generation
 * given enough tokens for the schema's shortest value always ends with a
 * complete value.
 *
 * Forced tokens: when only one text can follow (engine/json/json_forced.h:
 * the bytes while exactly one is acceptable, up to JSON_FORCED_MAX), that
 * text is tokenized once, when it begins, into a queue, and while the queue
 * is not empty its head is the only token allowed (by allows, mask and
 * sample alike, the budget rule still applied). See json_constraint_forced.
 */
#ifndef PRECIS_JSON_CONSTRAINT_H
#define PRECIS_JSON_CONSTRAINT_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "engine/json/json_schema.h"
#include "engine/sampler.h"
#include "engine/tokenizer/tokenizer.h"

typedef struct json_vocab json_vocab;
typedef struct json_constraint json_constraint;

/* Copies what it needs: the tokenizer may be freed afterwards. */
int json_vocab_new(json_vocab **out, const tokenizer *tok, perr *err);
void json_vocab_free(json_vocab *v);
int json_vocab_n_vocab(const json_vocab *v);

/* schema and vocab must outlive the constraint. */
int json_constraint_new(json_constraint **out, const json_schema *s, const json_vocab *v,
                        perr *err);
void json_constraint_free(json_constraint *c);

/* Back to the empty text; the budget is kept. */
void json_constraint_reset(json_constraint *c);

/* Tokens that may still be generated, counting the next one; < 0 = no limit. */
void json_constraint_set_budget(json_constraint *c, long tokens);

/* May token id come next? (Uses scratch space in c.) */
int json_constraint_allows(json_constraint *c, int32_t id);

/* mask[i] = 1 if token i may come next, else 0 (n_vocab entries); returns
 * how many may. */
int json_constraint_mask(json_constraint *c, uint8_t *mask);

/* Commit token id (which must be allowed, budget aside; while tokens are
 * forced, anything but the head is an error and changes nothing). */
int json_constraint_accept(json_constraint *c, int32_t id, perr *err);

/* Pick the next token with smp among the allowed ones, with a closing
 * budget of tokens_left (see json_constraint_set_budget), and commit it.
 * Fails with a clear message when no token fits (e.g. too few tokens left
 * for the schema's shortest value). */
int json_constraint_sample(json_constraint *c, sampler *smp, const float *logits,
                           long tokens_left, int32_t *id, perr *err);

/* Forced tokens (jump-forward decoding). When only one text can follow
 * the text so far (keys and punctuation of a compact schema, the rest of an
 * enum value once its prefix is unique, closing brackets), the constraint
 * allows exactly one tokenization of that text, fixed when the text begins,
 * one token at a time. json_constraint_forced copies up to max of the
 * tokens still to come into out and returns how many there are in all (0:
 * the next token is not forced; out may be NULL when max is 0).
 *
 * The text begins at json_constraint_new, at json_constraint_reset and
 * after every accepted token that leaves the queue empty. Its tokenization
 * is a deterministic longest match, left to right: at each point the token
 * with the longest piece the rest of the text begins with; among tokens
 * with the same piece one that is not a byte-fallback token (<0x22>) if
 * there is one (the tokenizer itself emits those only for bytes nothing
 * else covers), then the lowest id; control, unknown and end-of-generation
 * tokens and empty pieces never count. The queue ends early where no piece
 * begins (normal choice resumes there). Each queued token has at least one
 * byte, so a satisfiable closing budget stays satisfiable. A text longer
 * than JSON_FORCED_MAX bytes is queued in parts: the next part is
 * tokenized when the queue empties. */
size_t json_constraint_forced(const json_constraint *c, int32_t *out, size_t max);

/* The value is complete and nothing can follow it: only an
 * end-of-generation token may come next. (A complete top-level number that
 * may still grow is not "must end".) */
int json_constraint_must_end(const json_constraint *c);

/* The text so far is a complete value of the schema. */
int json_constraint_is_complete(const json_constraint *c);

/* Bytes (an upper bound on tokens) still needed to complete the value. */
size_t json_constraint_min_remaining(const json_constraint *c);

#endif
