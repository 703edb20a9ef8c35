/* chunk.c — paragraph-aligned chunks within a token budget (see chunk.h). */
#include "pipeline/analyses/chunk.h"

#include <stdlib.h>
#include <string.h>

/* A chunk being filled. */
typedef struct chunk_builder {
    chunk_list *out;
    char *buf;
    size_t len, cap, tokens;
} chunk_builder;

static int list_push(chunk_list *l, char *item, perr *err)
{
    char **grown = realloc(l->items, (l->n + 1) * sizeof *grown);
    if (!grown) {
        free(item);
        return perr_set(err, "out of memory");
    }
    l->items = grown;
    l->items[l->n++] = item;
    return 0;
}

static int builder_flush(chunk_builder *b, perr *err)
{
    if (b->len == 0)
        return 0;
    char *item = b->buf;
    b->buf = NULL;
    b->len = b->cap = b->tokens = 0;
    return list_push(b->out, item, err);
}

static int builder_append(chunk_builder *b, const char *text, size_t len, size_t tokens, perr *err)
{
    size_t sep = b->len ? 2 : 0;
    if (b->len + sep + len + 1 > b->cap) {
        size_t cap = (b->len + sep + len + 1) * 2;
        char *grown = realloc(b->buf, cap);
        if (!grown)
            return perr_set(err, "out of memory");
        b->buf = grown;
        b->cap = cap;
    }
    if (sep)
        memcpy(b->buf + b->len, "\n\n", 2);
    memcpy(b->buf + b->len + sep, text, len);
    b->len += sep + len;
    b->buf[b->len] = '\0';
    b->tokens += tokens + (sep ? CHUNK_JOIN_TOKENS : 0);
    return 0;
}

static int add_paragraph(const llm *m, chunk_builder *b, const char *p, size_t len, size_t budget,
                         perr *err)
{
    size_t tokens;
    if (llm_count_tokens(m, p, len, &tokens, err) != 0)
        return -1;
    if (tokens > budget) {
        if (builder_flush(b, err) != 0)
            return -1;
        char **pieces;
        size_t n;
        if (llm_token_pieces(m, p, len, budget, &pieces, &n, err) != 0)
            return -1;
        int rc = 0;
        for (size_t i = 0; i < n; i++) {
            if (rc == 0)
                rc = list_push(b->out, pieces[i], err);
            else
                free(pieces[i]);
        }
        free(pieces);
        return rc;
    }
    if (b->len && b->tokens + CHUNK_JOIN_TOKENS + tokens > budget && builder_flush(b, err) != 0)
        return -1;
    return builder_append(b, p, len, tokens, err);
}

static int is_blank_line_at(const char *s)
{
    return s[0] == '\n' && s[1] == '\n';
}

int chunk_split(const llm *m, const char *text, size_t budget, chunk_list *out, perr *err)
{
    *out = (chunk_list){0};
    if (budget == 0)
        return perr_set(err, "chunk budget is zero");
    chunk_builder b = {.out = out};
    int rc = 0;
    const char *p = text;
    while (rc == 0 && *p) {
        while (*p == '\n')
            p++;
        const char *end = p;
        while (*end && !is_blank_line_at(end))
            end++;
        if (end > p)
            rc = add_paragraph(m, &b, p, (size_t)(end - p), budget, err);
        p = end;
    }
    if (rc == 0)
        rc = builder_flush(&b, err);
    free(b.buf);
    if (rc != 0)
        chunk_list_clear(out);
    return rc;
}

void chunk_list_clear(chunk_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    *l = (chunk_list){0};
}
