/* draft.c — prompt-lookup drafts: n-gram matches in a generation's own
 * history (see draft.h). */
#include "engine/draft.h"

#include <string.h>

/* Start of the most recent occurrence of hist[n-g..n) that starts before
 * n-g, or -1. */
static int last_occurrence(const int32_t *hist, int n, int g)
{
    const int32_t *key = hist + n - g;
    for (int i = n - g - 1; i >= 0; i--)
        if (hist[i] == key[0] && memcmp(hist + i, key, (size_t)g * sizeof *key) == 0)
            return i;
    return -1;
}

int draft_lookup(const int32_t *hist, int n, int32_t *out, int max)
{
    if (max <= 0)
        return 0;
    for (int g = DRAFT_NGRAM_MAX; g >= DRAFT_NGRAM_MIN; g--) {
        if (n < g + 1)
            continue;
        int at = last_occurrence(hist, n, g);
        if (at < 0)
            continue;
        int avail = n - (at + g);   /* >= 1: the match starts before the key */
        int k = avail < max ? avail : max;
        memcpy(out, hist + at + g, (size_t)k * sizeof *out);
        return k;
    }
    return 0;
}
