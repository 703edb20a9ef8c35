/* tokenizer_spm.c — SentencePiece BPE encoding of one text fragment.
 *
 * As SentencePiece's bpe_model.cc (and llama.cpp's SPM tokenizer): escape
 * spaces to U+2581 (with an optional leading one), start from one symbol per
 * UTF-8 character, and repeatedly merge the adjacent pair whose concatenation
 * is the vocabulary piece with the highest score (left-most on ties), using a
 * heap of candidate pairs: O(n log n). Pieces that may be merged are NORMAL,
 * USER_DEFINED and UNUSED ones (SentencePiece keeps CONTROL, UNKNOWN and
 * BYTE pieces out of its piece table). A final symbol that is UNUSED is
 * split back into the two symbols it was merged from; a character that is
 * not in the vocabulary becomes byte tokens <0xNN> (or one UNK if the
 * vocabulary has no byte tokens).
 */
#include "engine/tokenizer/tokenizer_internal.h"

#include <stdlib.h>
#include <string.h>

/* A symbol in the linked list of the current segmentation. Symbols are
 * indexed by their first character; `node` is their merge-tree node. */
typedef struct spm_symbol {
    int32_t prev, next;
    uint32_t start, len;   /* bytes in the escaped text; len 0 = merged away */
    int32_t node;
} spm_symbol;

/* Merge tree: leaves are characters, inner nodes remember their halves. */
typedef struct spm_node {
    uint32_t start, len;
    int32_t left, right;   /* -1 for leaves */
} spm_node;

typedef struct spm_work {
    const tokenizer *t;
    char *text;            /* escaped text */
    size_t len;
    spm_symbol *sym;
    spm_node *node;
    size_t n_sym, n_node;
    cand_heap heap;
} spm_work;

static int mergeable(int type)
{
    return type == TOKEN_TYPE_NORMAL || type == TOKEN_TYPE_USER_DEFINED ||
           type == TOKEN_TYPE_UNUSED;
}

static int32_t find_piece(const tokenizer *t, const char *s, size_t len)
{
    int32_t id = vocab_find(t, s, len);
    return id >= 0 && mergeable(t->types[id]) ? id : -1;
}

/* Escaped copy of the fragment: ' ' -> U+2581, optionally one in front. */
static char *escape_spaces(const char *text, size_t len, int space_prefix, size_t *out_len)
{
    char *buf = malloc(3 * len + 4);
    if (!buf)
        return NULL;
    size_t n = 0;
    if (space_prefix) {
        memcpy(buf, "\xE2\x96\x81", 3);
        n = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(buf + n, "\xE2\x96\x81", 3);
            n += 3;
        } else {
            buf[n++] = text[i];
        }
    }
    *out_len = n;
    return buf;
}

static int try_add_pair(spm_work *w, int32_t left, int32_t right)
{
    if (left < 0 || right < 0)
        return 0;
    const spm_symbol *l = &w->sym[left], *r = &w->sym[right];
    int32_t id = find_piece(w->t, w->text + l->start, l->len + r->len);
    if (id < 0)
        return 0;
    merge_cand c = { .prio = w->t->scores[id], .left = left, .right = right,
                     .a = (int32_t)(l->len + r->len), .b = id };
    return cand_heap_push(&w->heap, c);
}

static int split_into_chars(spm_work *w)
{
    w->sym = malloc(w->len * sizeof *w->sym);
    w->node = malloc(2 * w->len * sizeof *w->node);
    if (!w->sym || !w->node)
        return -1;
    for (size_t i = 0; i < w->len;) {
        size_t n = utf8_char_len(w->text + i, w->len - i);
        int32_t k = (int32_t)w->n_sym++;
        w->node[k] = (spm_node){ (uint32_t)i, (uint32_t)n, -1, -1 };
        w->sym[k] = (spm_symbol){ k - 1, -1, (uint32_t)i, (uint32_t)n, k };
        if (k > 0)
            w->sym[k - 1].next = k;
        i += n;
    }
    w->n_node = w->n_sym;
    return 0;
}

/* Symbols are indexed by their first character, and a symbol's next always
 * has a larger index, so `left` and `right` name list positions. */
static int merge_all(spm_work *w)
{
    for (size_t k = 1; k < w->n_sym; k++)
        if (try_add_pair(w, (int32_t)k - 1, (int32_t)k) < 0)
            return -1;
    merge_cand c;
    while (cand_heap_pop(&w->heap, &c)) {
        spm_symbol *l = &w->sym[c.left], *r = &w->sym[c.right];
        if (l->len == 0 || r->len == 0 || l->len + r->len != (uint32_t)c.a)
            continue;  /* stale: one side changed since the pair was queued */
        int32_t node = (int32_t)w->n_node++;
        w->node[node] = (spm_node){ l->start, l->len + r->len, l->node, r->node };
        l->node = node;
        l->len += r->len;
        r->len = 0;
        l->next = r->next;
        if (r->next >= 0)
            w->sym[r->next].prev = c.left;
        if (try_add_pair(w, l->prev, c.left) < 0 || try_add_pair(w, c.left, l->next) < 0)
            return -1;
    }
    return 0;
}

static int emit_unknown(const tokenizer *t, const char *s, size_t len, id_vec *out)
{
    if (!t->has_byte_tokens)
        return t->unk >= 0 ? id_vec_push(out, t->unk) : 0;
    for (size_t i = 0; i < len; i++) {
        int32_t id = t->byte_ids[(unsigned char)s[i]];
        if (id < 0)
            id = t->unk;
        if (id >= 0 && id_vec_push(out, id) < 0)
            return -1;
    }
    return 0;
}

static int emit_node(const spm_work *w, int32_t node, id_vec *out)
{
    const spm_node *nd = &w->node[node];
    const char *s = w->text + nd->start;
    int32_t id = find_piece(w->t, s, nd->len);
    if (id >= 0 && w->t->types[id] != TOKEN_TYPE_UNUSED)
        return id_vec_push(out, id);
    if (nd->left >= 0)
        return emit_node(w, nd->left, out) < 0 ? -1 : emit_node(w, nd->right, out);
    return emit_unknown(w->t, s, nd->len, out);
}

int spm_encode_fragment(const tokenizer *t, const char *text, size_t len, int space_prefix,
                        id_vec *out)
{
    spm_work w = { .t = t };
    int rc = -1;
    w.text = escape_spaces(text, len, space_prefix, &w.len);
    if (!w.text || split_into_chars(&w) < 0 || merge_all(&w) < 0)
        goto done;
    for (int32_t k = w.n_sym ? 0 : -1; k >= 0; k = w.sym[k].next)
        if (emit_node(&w, w.sym[k].node, out) < 0)
            goto done;
    rc = 0;
done:
    free(w.text);
    free(w.sym);
    free(w.node);
    free(w.heap.v);
    return rc;
}
