/* chunk.h — cutting a long text into pieces that fit a token budget, at
 * paragraph boundaries (blank lines), for map-reduce over documents that do
 * not fit the model's context. Nothing is dropped: the chunks, joined with
 * blank lines, hold every paragraph in order. A paragraph longer than the
 * budget on its own is cut into token-aligned pieces.
 */
#ifndef PRECIS_CHUNK_H
#define PRECIS_CHUNK_H

#include <stddef.h>

#include "common/error.h"
#include "pipeline/llm/llm.h"

/* Tokens counted for the blank line between two paragraphs of a chunk. */
#define CHUNK_JOIN_TOKENS 2

typedef struct chunk_list {
    char **items;     /* malloc'd, NUL-terminated */
    size_t n;
} chunk_list;

/* Split text into chunks of at most budget tokens (as counted paragraph by
 * paragraph with the model's tokenizer, plus CHUNK_JOIN_TOKENS per join). */
int chunk_split(const llm *m, const char *text, size_t budget, chunk_list *out, perr *err);
void chunk_list_clear(chunk_list *l);

#endif
