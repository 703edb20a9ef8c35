/* draft.h — prompt-lookup drafts: a guess at a generation's next tokens,
 * taken from its own history (prompt + generated tokens). A summary quotes
 * its document, a JSON answer repeats keys and ids: when the last few
 * tokens appeared earlier, what followed them then is a cheap, often right
 * guess at what follows now. The guesses are only ever verified (see
 * engine/gen_chain.h), so a wrong one costs compute, never output.
 */
#ifndef PRECIS_DRAFT_H
#define PRECIS_DRAFT_H

#include <stdint.h>

enum {
    DRAFT_MAX = 8,           /* draft tokens proposed at most per pass */
    DRAFT_NGRAM_MAX = 3,     /* the longest suffix looked up ... */
    DRAFT_NGRAM_MIN = 2,     /* ... down to this one (one token matches too much) */
};

/* Find the last n-gram of hist[0..n) earlier in hist, longest n-gram first
 * (DRAFT_NGRAM_MAX down to DRAFT_NGRAM_MIN), its most recent occurrence
 * first, and copy up to max of the tokens that followed it into out.
 * Returns how many (0: no match, or max <= 0). */
int draft_lookup(const int32_t *hist, int n, int32_t *out, int max);

#endif
