/* tokenizer_bpe.c — GPT-2 style byte-level BPE encoding of one fragment.
 *
 * The fragment is split into words by the pre-tokenizer; each word's bytes
 * are mapped to GPT-2's printable byte alphabet (bytes 33-126, 161-172 and
 * 174-255 stand for themselves, the other 68 bytes for U+0100..U+0143 in
 * order), then adjacent symbols are merged by the lowest merge rank
 * (left-most on ties) with a heap of candidate pairs. Merges are keyed by
 * the ids of their two halves; a merge whose halves or result are not in
 * the vocabulary can never apply and is dropped when the table is built.
 */
#include "engine/tokenizer/tokenizer_internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/grow.h"

/* ------------------------------------------------------------ byte alphabet */

static int byte_is_printable(int b)
{
    return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
}

void bpe_init_byte_alphabet(tokenizer *t)
{
    for (int cp = 0; cp < 512; cp++)
        t->cp_to_byte[cp] = -1;
    int extra = 0;
    for (int b = 0; b < 256; b++) {
        int cp = byte_is_printable(b) ? b : 256 + extra++;
        t->cp_to_byte[cp] = (int16_t)b;
        if (cp < 0x80) {
            t->byte_chars[b][0] = (char)cp;
            t->byte_char_len[b] = 1;
        } else {
            t->byte_chars[b][0] = (char)(0xC0 | (cp >> 6));
            t->byte_chars[b][1] = (char)(0x80 | (cp & 0x3F));
            t->byte_char_len[b] = 2;
        }
    }
}

size_t bpe_decode_text(const tokenizer *t, const char *text, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        size_t cl = utf8_char_len(text + i, len - i);
        const unsigned char *u = (const unsigned char *)text + i;
        int cp = -1;
        if (cl == 1 && u[0] < 0x80)
            cp = u[0];
        else if (cl == 2)
            cp = ((u[0] & 0x1F) << 6) | (u[1] & 0x3F);
        if (cp >= 0 && cp < 512 && t->cp_to_byte[cp] >= 0) {
            out[n++] = (char)t->cp_to_byte[cp];
        } else {
            memcpy(out + n, text + i, cl);  /* not a byte char: keep as is */
            n += cl;
        }
        i += cl;
    }
    return n;
}

/* --------------------------------------------------------------- merge map */

static uint64_t pair_key(int32_t left, int32_t right)
{
    return ((uint64_t)(uint32_t)left << 32) | (uint32_t)right;
}

static size_t pair_slot(const merge_map *m, uint64_t key)
{
    uint64_t h = key * 0x9E3779B97F4A7C15ULL;
    return (size_t)(h ^ (h >> 31)) & m->mask;
}

static const merge_entry *merge_find(const merge_map *m, int32_t left, int32_t right)
{
    if (!m->slots)
        return NULL;
    uint64_t key = pair_key(left, right);
    for (size_t i = pair_slot(m, key);; i = (i + 1) & m->mask) {
        if (m->slots[i].key == key)
            return &m->slots[i];
        if (m->slots[i].key == UINT64_MAX)
            return NULL;
    }
}

static void merge_insert(merge_map *m, int32_t left, int32_t right, int32_t rank,
                         int32_t result)
{
    uint64_t key = pair_key(left, right);
    size_t i = pair_slot(m, key);
    while (m->slots[i].key != UINT64_MAX) {
        if (m->slots[i].key == key)
            return;  /* a better-ranked merge of the same pair exists */
        i = (i + 1) & m->mask;
    }
    m->slots[i] = (merge_entry){ key, rank, result };
}

/* Split "left right" at the first space after the first byte. */
static int split_merge(const tokenizer_text *s, size_t *cut)
{
    for (size_t i = 1; i < s->len; i++) {
        if (s->ptr[i] == ' ') {
            *cut = i;
            return 0;
        }
    }
    return -1;
}

int bpe_build_merges(tokenizer *t, const tokenizer_text *merges, size_t n_merges, perr *err)
{
    if (n_merges >= INT32_MAX)
        return perr_set(err, "%zu merges is too many", n_merges);
    size_t cap = 64;
    while (cap < n_merges * 2)
        cap *= 2;
    t->merges.slots = malloc(cap * sizeof *t->merges.slots);
    char *joined = malloc(2 * 1024 + 1);
    if (!t->merges.slots || !joined) {
        free(joined);
        return perr_set(err, "out of memory for %zu merges", n_merges);
    }
    memset(t->merges.slots, 0xFF, cap * sizeof *t->merges.slots);
    t->merges.mask = cap - 1;
    for (size_t r = 0; r < n_merges; r++) {
        const tokenizer_text *s = &merges[r];
        size_t cut;
        if (!s->ptr || s->len > 2 * 1024 || split_merge(s, &cut) < 0) {
            free(joined);
            return perr_set(err, "merge %zu is not of the form \"left right\"", r);
        }
        int32_t left = vocab_find(t, s->ptr, cut);
        int32_t right = vocab_find(t, s->ptr + cut + 1, s->len - cut - 1);
        memcpy(joined, s->ptr, cut);
        memcpy(joined + cut, s->ptr + cut + 1, s->len - cut - 1);
        int32_t result = vocab_find(t, joined, s->len - 1);
        if (left >= 0 && right >= 0 && result >= 0)
            merge_insert(&t->merges, left, right, (int32_t)r, result);
    }
    free(joined);
    return 0;
}

void bpe_free_merges(tokenizer *t)
{
    free(t->merges.slots);
    t->merges.slots = NULL;
}

/* ------------------------------------------------------------------ words */

typedef struct bpe_symbol {
    int32_t id;            /* -1: character not in the vocabulary */
    int32_t prev, next;
    int alive;
} bpe_symbol;

/* Scratch buffers reused across the words of one fragment. */
typedef struct bpe_work {
    const tokenizer *t;
    id_vec *out;
    char *mapped;
    size_t mapped_cap;
    bpe_symbol *sym;
    size_t sym_cap;
    cand_heap heap;
} bpe_work;

static int try_add_pair(bpe_work *w, int32_t left, int32_t right)
{
    if (left < 0 || right < 0 || w->sym[left].id < 0 || w->sym[right].id < 0)
        return 0;
    const merge_entry *m = merge_find(&w->t->merges, w->sym[left].id, w->sym[right].id);
    if (!m)
        return 0;
    merge_cand c = { .prio = -(double)m->rank, .left = left, .right = right,
                     .a = w->sym[left].id, .b = w->sym[right].id };
    return cand_heap_push(&w->heap, c);
}

static int merge_word(bpe_work *w, size_t n_sym)
{
    w->heap.n = 0;
    for (size_t k = 1; k < n_sym; k++)
        if (try_add_pair(w, (int32_t)k - 1, (int32_t)k) < 0)
            return -1;
    merge_cand c;
    while (cand_heap_pop(&w->heap, &c)) {
        bpe_symbol *l = &w->sym[c.left], *r = &w->sym[c.right];
        if (!l->alive || !r->alive || l->next != c.right || l->id != c.a || r->id != c.b)
            continue;  /* stale */
        l->id = merge_find(&w->t->merges, c.a, c.b)->result;
        r->alive = 0;
        l->next = r->next;
        if (r->next >= 0)
            w->sym[r->next].prev = c.left;
        if (try_add_pair(w, l->prev, c.left) < 0 || try_add_pair(w, c.left, l->next) < 0)
            return -1;
    }
    return 0;
}

static int encode_word(const char *word, size_t len, void *ctx)
{
    bpe_work *w = ctx;
    const tokenizer *t = w->t;
    if (len == 0)
        return 0;
    char *mapped = grow_to(w->mapped, &w->mapped_cap, 2 * len, 1, 64);
    if (mapped)
        w->mapped = mapped;
    bpe_symbol *sym = mapped ? grow_to(w->sym, &w->sym_cap, len, sizeof *sym, 64) : NULL;
    if (!sym)
        return -1;
    w->sym = sym;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)word[i];
        memcpy(w->mapped + n, t->byte_chars[b], t->byte_char_len[b]);
        n += t->byte_char_len[b];
    }
    if (t->ignore_merges) {
        int32_t whole = vocab_find(t, w->mapped, n);
        if (whole >= 0)
            return id_vec_push(w->out, whole);
    }
    size_t off = 0;
    for (size_t k = 0; k < len; k++) {  /* one symbol per byte */
        uint8_t cl = t->byte_char_len[(unsigned char)word[k]];
        w->sym[k] = (bpe_symbol){ vocab_find(t, w->mapped + off, cl), (int32_t)k - 1,
                                  k + 1 < len ? (int32_t)k + 1 : -1, 1 };
        off += cl;
    }
    if (merge_word(w, len) < 0)
        return -1;
    for (int32_t k = 0; k >= 0; k = w->sym[k].next) {
        int32_t id = w->sym[k].id >= 0 ? w->sym[k].id : t->unk;
        if (id >= 0 && id_vec_push(w->out, id) < 0)
            return -1;
    }
    return 0;
}

int bpe_encode_fragment(const tokenizer *t, const char *text, size_t len, id_vec *out)
{
    bpe_work w = { .t = t, .out = out };
    int rc = pretok_split(t->pre, text, len, encode_word, &w);
    free(w.mapped);
    free(w.sym);
    free(w.heap.v);
    return rc;
}
