/* cited_text.c — numbered paragraphs and their chunks (see cited_text.h). */
#include "pipeline/analyses/cited_text.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"

/* Tokens kept free in a piece of an over-long paragraph for its "[p12] " label. */
#define LABEL_TOKENS 8
/* Tokens counted for the blank line between two units of a chunk. */
#define JOIN_TOKENS 2

/* ---- a growing string ---------------------------------------------------- */

typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;

static int sbuf_add(sbuf *b, const char *text, size_t len)
{
    char *grown = grow_to(b->s, &b->cap, b->len + len + 1, 1, 64);
    if (!grown)
        return -1;
    b->s = grown;
    memcpy(b->s + b->len, text, len);
    b->len += len;
    b->s[b->len] = '\0';
    return 0;
}

static int sbuf_adds(sbuf *b, const char *text)
{
    return sbuf_add(b, text, strlen(text));
}

/* ---- units ----------------------------------------------------------------- */

static int push_unit(cited_doc *d, const char *id, char *lead, const char *text, size_t len, int page)
{
    cited_unit *grown = realloc(d->units, (d->n + 1) * sizeof *grown);
    if (!grown)
        return -1;
    d->units = grown;
    cited_unit *u = &d->units[d->n];
    *u = (cited_unit){.id = strdup(id), .lead = lead, .text = strndup(text, len), .page = page};
    if (!u->id || !u->text) {
        free(u->id);
        free(u->text);
        return -1;
    }
    d->n++;
    return 0;
}

/* Blank-line separated blocks of text as p1, p2, ... */
static int units_from_text(cited_doc *d, const char *text)
{
    const char *p = text;
    while (*p) {
        while (*p == '\n')
            p++;
        const char *end = p;
        while (*end && !(end[0] == '\n' && end[1] == '\n'))
            end++;
        if (end > p) {
            char id[32];
            snprintf(id, sizeof id, "p%zu", d->n + 1);
            if (push_unit(d, id, NULL, p, (size_t)(end - p), 0) != 0)
                return -1;
        }
        p = end;
    }
    return 0;
}

/* Append "\n\n"-joined heading to *lead (a malloc'd string or NULL). */
static int add_heading(sbuf *lead, const char *heading)
{
    if (!heading || !*heading)
        return 0;
    if (lead->len && sbuf_adds(lead, "\n\n") != 0)
        return -1;
    return sbuf_adds(lead, heading);
}

static int units_from_document(cited_doc *d, const document *doc)
{
    sbuf lead = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < doc->n_sections; i++) {
        const doc_section *s = &doc->sections[i];
        rc = add_heading(&lead, s->heading);
        for (size_t k = 0; rc == 0 && k < s->n_paragraphs; k++) {
            const doc_paragraph *p = &s->paragraphs[k];
            rc = push_unit(d, p->id, lead.s, p->text, strlen(p->text), p->page);
            if (rc == 0)
                lead = (sbuf){0};
        }
    }
    if (rc == 0 && lead.len && d->n) { /* headings after the last paragraph */
        sbuf tail = {.s = d->units[d->n - 1].text, .len = strlen(d->units[d->n - 1].text)};
        tail.cap = tail.len + 1;
        rc = sbuf_adds(&tail, "\n\n") == 0 && sbuf_add(&tail, lead.s, lead.len) == 0 ? 0 : -1;
        d->units[d->n - 1].text = tail.s;
    }
    free(lead.s);
    return rc;
}

int cited_doc_build(const document *doc, const char *text, cited_doc *out, perr *err)
{
    *out = (cited_doc){0};
    int rc = doc ? units_from_document(out, doc) : 0;
    if (rc == 0 && out->n == 0)
        rc = units_from_text(out, doc ? doc->full_text : text ? text : "");
    if (rc != 0) {
        cited_doc_clear(out);
        return perr_set(err, "out of memory");
    }
    if (out->n == 0)
        return perr_set(err, "the document has no text");
    return 0;
}

void cited_doc_clear(cited_doc *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->units[i].id);
        free(d->units[i].lead);
        free(d->units[i].text);
    }
    free(d->units);
    *d = (cited_doc){0};
}

static int render_unit(sbuf *b, const cited_unit *u, int labels)
{
    if (u->lead && (sbuf_adds(b, u->lead) != 0 || sbuf_adds(b, "\n\n") != 0))
        return -1;
    if (labels && (sbuf_adds(b, "[") != 0 || sbuf_adds(b, u->id) != 0 || sbuf_adds(b, "] ") != 0))
        return -1;
    return sbuf_adds(b, u->text);
}

char *cited_doc_render(const cited_doc *d, int labels)
{
    sbuf b = {0};
    for (size_t i = 0; i < d->n; i++)
        if ((i && sbuf_adds(&b, "\n\n") != 0) || render_unit(&b, &d->units[i], labels) != 0) {
            free(b.s);
            return NULL;
        }
    return b.s ? b.s : strdup("");
}

/* ---- chunks ------------------------------------------------------------------ */

typedef struct chunk_builder {
    cited_chunks *out;
    sbuf text;
    char **ids;
    size_t n_ids;
    int page_first, page_last;
    size_t tokens;
    size_t overlap_len;            /* of the chunk being built */
    const cited_unit *last;        /* the last whole unit added (NULL after pieces) */
    size_t last_tokens;
} chunk_builder;

static void free_ids(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

static int builder_flush(chunk_builder *b, int piece)
{
    if (b->text.len == 0)
        return 0;
    cited_chunk *grown = realloc(b->out->items, (b->out->n + 1) * sizeof *grown);
    if (!grown)
        return -1;
    b->out->items = grown;
    b->out->items[b->out->n++] = (cited_chunk){.text = b->text.s, .ids = b->ids, .n_ids = b->n_ids,
                                               .page_first = b->page_first, .page_last = b->page_last,
                                               .piece = piece, .overlap_len = b->overlap_len};
    b->text = (sbuf){0};
    b->ids = NULL;
    b->n_ids = 0;
    b->page_first = b->page_last = 0;
    b->tokens = 0;
    b->overlap_len = 0;
    return 0;
}

static int builder_note(chunk_builder *b, const cited_unit *u)
{
    if (!b->n_ids || strcmp(b->ids[b->n_ids - 1], u->id) != 0) {
        char **grown = realloc(b->ids, (b->n_ids + 1) * sizeof *grown);
        if (!grown)
            return -1;
        b->ids = grown;
        if (!(b->ids[b->n_ids] = strdup(u->id)))
            return -1;
        b->n_ids++;
    }
    if (u->page > 0) {
        if (!b->page_first || u->page < b->page_first)
            b->page_first = u->page;
        if (u->page > b->page_last)
            b->page_last = u->page;
    }
    return 0;
}

/* An over-long unit: one chunk per token-aligned piece, each labelled. */
static int add_pieces(const llm *m, chunk_builder *b, const cited_unit *u, const char *rendered, int labels,
                      size_t budget, perr *err)
{
    if (builder_flush(b, 0) != 0)
        return perr_set(err, "out of memory");
    b->last = NULL;
    size_t per_piece = labels && budget > 2 * LABEL_TOKENS ? budget - LABEL_TOKENS : budget;
    char **pieces;
    size_t n;
    if (llm_token_pieces(m, rendered, strlen(rendered), per_piece, &pieces, &n, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && labels && i > 0)
            rc = sbuf_adds(&b->text, "[") | sbuf_adds(&b->text, u->id) | sbuf_adds(&b->text, "] ");
        if (rc == 0)
            rc = sbuf_adds(&b->text, pieces[i]) | builder_note(b, u);
        if (rc == 0)
            rc = builder_flush(b, 1);
        free(pieces[i]);
    }
    free(pieces);
    return rc == 0 ? 0 : perr_set(err, "out of memory");
}

/* Start a chunk with the previous chunk's last unit, when it is small
 * (a quarter of the budget at most) and leaves room for the next one. */
static int add_overlap(chunk_builder *b, int labels, size_t budget, size_t next_tokens)
{
    const cited_unit *u = b->last;
    if (!u || b->last_tokens * 4 > budget || b->last_tokens + JOIN_TOKENS + next_tokens > budget)
        return 0;
    if (render_unit(&b->text, u, labels) != 0 || builder_note(b, u) != 0)
        return -1;
    b->overlap_len = b->text.len + 2;
    b->tokens = b->last_tokens;
    return 0;
}

static int add_unit(const llm *m, chunk_builder *b, const cited_unit *u, int labels, size_t budget, perr *err)
{
    sbuf r = {0};
    if (render_unit(&r, u, labels) != 0)
        return perr_set(err, "out of memory");
    size_t tokens;
    int rc = llm_count_tokens(m, r.s, r.len, &tokens, err);
    if (rc == 0 && tokens > budget) {
        rc = add_pieces(m, b, u, r.s, labels, budget, err);
    } else if (rc == 0) {
        if (b->text.len && b->tokens + JOIN_TOKENS + tokens > budget &&
            (builder_flush(b, 0) != 0 || add_overlap(b, labels, budget, tokens) != 0))
            rc = perr_set(err, "out of memory");
        if (rc == 0 && ((b->text.len && sbuf_adds(&b->text, "\n\n") != 0) || sbuf_add(&b->text, r.s, r.len) != 0 ||
                        builder_note(b, u) != 0))
            rc = perr_set(err, "out of memory");
        b->tokens += tokens + (b->tokens ? JOIN_TOKENS : 0);
        b->last = u;
        b->last_tokens = tokens;
    }
    free(r.s);
    return rc;
}

int cited_split(const llm *m, const cited_doc *d, int labels, size_t budget, cited_chunks *out, perr *err)
{
    *out = (cited_chunks){0};
    if (budget == 0)
        return perr_set(err, "chunk budget is zero");
    chunk_builder b = {.out = out};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < d->n; i++)
        rc = add_unit(m, &b, &d->units[i], labels, budget, err);
    if (rc == 0 && builder_flush(&b, 0) != 0)
        rc = perr_set(err, "out of memory");
    free(b.text.s);
    free_ids(b.ids, b.n_ids);
    if (rc != 0)
        cited_chunks_clear(out);
    return rc;
}

void cited_chunks_clear(cited_chunks *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->items[i].text);
        free_ids(c->items[i].ids, c->items[i].n_ids);
    }
    free(c->items);
    *c = (cited_chunks){0};
}

/* Tokens kept free besides the 10% margin. */
#define CHUNK_MARGIN_TOKENS 16

int cited_fits_one_call(int n_ctx, int max_tokens, size_t overhead, size_t whole)
{
    long avail = (long)n_ctx - max_tokens - (long)overhead;
    return avail > 0 && whole + 8 <= (size_t)avail;
}

int cited_chunk_budget(int n_ctx, int max_tokens, size_t overhead, size_t whole, size_t min_chunk, size_t *budget,
                       perr *err)
{
    long avail = (long)n_ctx - max_tokens - (long)overhead;
    if (cited_fits_one_call(n_ctx, max_tokens, overhead, whole)) {
        *budget = SIZE_MAX / 2;
        return 0;
    }
    *budget = avail > CHUNK_MARGIN_TOKENS ? (size_t)(avail - CHUNK_MARGIN_TOKENS) * 9 / 10 : 0;
    if (*budget < min_chunk)
        return perr_set(err, "the document does not fit the context of %d tokens, and the context is too small to "
                        "split it (%zu tokens left for text, %zu needed; raise [engine] ctx_size or lower max_tokens)",
                        n_ctx, *budget, min_chunk);
    return 0;
}

int cited_answer_limit(int n_ctx, size_t overhead, size_t min_chunk)
{
    /* (n_ctx - m - overhead - margin) * 9 / 10 >= min_chunk */
    long limit = (long)n_ctx - (long)overhead - CHUNK_MARGIN_TOKENS - (long)((min_chunk * 10 + 8) / 9);
    return limit > 0 ? (int)limit : 0;
}

cJSON *cited_chunk_provenance(const cited_chunk *c, size_t index)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    size_t skip = c->overlap_len && c->n_ids > 1 ? 1 : 0;
    cJSON_AddNumberToObject(o, "chunk", (double)index);
    cJSON_AddNumberToObject(o, "paragraphs", (double)(c->n_ids - skip));
    if (c->n_ids) {
        cJSON_AddStringToObject(o, "first", c->ids[skip]);
        cJSON_AddStringToObject(o, "last", c->ids[c->n_ids - 1]);
    }
    if (skip)
        cJSON_AddStringToObject(o, "overlap", c->ids[0]);
    cJSON *pages = cJSON_AddArrayToObject(o, "pages");
    if (pages && c->page_first) {
        cJSON_AddItemToArray(pages, cJSON_CreateNumber(c->page_first));
        cJSON_AddItemToArray(pages, cJSON_CreateNumber(c->page_last));
    }
    if (c->piece)
        cJSON_AddBoolToObject(o, "piece", 1);
    return o;
}
