/* grow.h — the one capacity rule of every growing heap array and text buffer:
 * double the capacity (from a first size) until the wanted count fits.
 */
#ifndef PRECIS_GROW_H
#define PRECIS_GROW_H

#include <stddef.h>

/* items (room for *cap elements of elem bytes; NULL when *cap is 0) made
 * large enough for need elements (need >= 1): returned as it is when need <=
 * *cap, else reallocated to the first capacity of *cap (or first, when *cap
 * is 0) doubled as often as need asks, with *cap updated. NULL when out of
 * memory or the size overflows: items is then still valid and *cap unchanged. */
void *grow_to(void *items, size_t *cap, size_t need, size_t elem, size_t first);

/* grow_to, but out of memory aborts (xrealloc's "precis: out of memory"). */
void *xgrow_to(void *items, size_t *cap, size_t need, size_t elem, size_t first);

#endif
