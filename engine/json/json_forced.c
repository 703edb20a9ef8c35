/* json_forced.c — the forced text of a matcher state: probe every byte on a
 * copy of the matcher, follow the run of states that accept exactly one
 * (see json_forced.h).
 */
#include "engine/json/json_forced.h"

/* How many bytes m accepts, counting no further than two; with exactly
 * one, *byte is it and *after the state past it. */
static int accepted_up_to_two(const json_matcher *m, unsigned char *byte, json_matcher *after)
{
    json_matcher t;
    int n = 0;
    for (int b = 0; b < 256 && n < 2; b++) {
        json_matcher_copy(&t, m);
        if (json_matcher_advance(&t, (unsigned char)b) != 0)
            continue;
        if (n++ == 0) {
            *byte = (unsigned char)b;
            json_matcher_copy(after, &t);
        }
    }
    return n;
}

size_t json_forced_text(const json_matcher *m, char *out, size_t cap)
{
    json_matcher cur, next;
    json_matcher_copy(&cur, m);
    size_t n = 0;
    unsigned char b = 0;
    while (n < cap && !json_matcher_is_complete(&cur) &&
           accepted_up_to_two(&cur, &b, &next) == 1) {
        out[n++] = (char)b;
        json_matcher_copy(&cur, &next);
    }
    return n;
}

int json_forced_must_end(const json_matcher *m)
{
    json_matcher next;
    unsigned char b;
    return json_matcher_is_complete(m) && accepted_up_to_two(m, &b, &next) == 0;
}
