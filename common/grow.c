/* grow.c — growing heap arrays by doubling (see grow.h). */
#include "common/grow.h"

#include <stdint.h>
#include <stdlib.h>

#include "common/utf8.h"

/* The doubled capacity that holds need, or 0 when it would overflow. */
static size_t doubled(size_t cap, size_t need, size_t elem, size_t first)
{
    size_t c = cap ? cap : (first ? first : 1);
    while (c < need) {
        if (c > SIZE_MAX / 2)
            return 0;
        c *= 2;
    }
    return c > SIZE_MAX / elem ? 0 : c;
}

void *grow_to(void *items, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return items;
    size_t c = doubled(*cap, need, elem, first);
    void *p = c ? realloc(items, c * elem) : NULL;
    if (p)
        *cap = c;
    return p;
}

void *xgrow_to(void *items, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return items;
    size_t c = doubled(*cap, need, elem, first);
    /* a size that overflows asks for SIZE_MAX bytes: out of memory like any other */
    void *p = xrealloc(items, c ? c * elem : SIZE_MAX);
    *cap = c;
    return p;
}
