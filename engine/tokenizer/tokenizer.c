/* tokenizer.c — the tokenizer core: building the vocabulary from plain
 * arrays, splitting special tokens out of the text, driving the SPM or BPE
 * algorithm over the remaining fragments, and decoding ids back to bytes.
 */
#include "engine/tokenizer/tokenizer_internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "common/utf8.h"

/* ---------------------------------------------------------------- helpers */

int id_vec_push(id_vec *vec, int32_t id)
{
    int32_t *v = grow_to(vec->v, &vec->cap, vec->n + 1, sizeof *v, 64);
    if (!v)
        return -1;
    vec->v = v;
    vec->v[vec->n++] = id;
    return 0;
}

size_t utf8_char_len(const char *s, size_t len)
{
    uint32_t cp;
    size_t n = utf8_decode((const unsigned char *)s, len, &cp);
    return cp == UINT32_MAX ? 1 : n;
}

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL;  /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

int32_t vocab_find(const tokenizer *t, const char *text, size_t len)
{
    size_t i = (size_t)hash_bytes(text, len) & t->map.mask;
    for (;; i = (i + 1) & t->map.mask) {
        int32_t id = t->map.slots[i];
        if (id < 0)
            return -1;
        if (t->texts[id].len == len && memcmp(t->texts[id].ptr, text, len) == 0)
            return id;
    }
}

static int build_vocab_map(tokenizer *t)
{
    size_t cap = 64;
    while (cap < t->n_vocab * 2)
        cap *= 2;
    t->map.slots = malloc(cap * sizeof *t->map.slots);
    if (!t->map.slots)
        return -1;
    memset(t->map.slots, 0xFF, cap * sizeof *t->map.slots);
    t->map.mask = cap - 1;
    for (size_t id = 0; id < t->n_vocab; id++) {
        const tokenizer_text *s = &t->texts[id];
        if (vocab_find(t, s->ptr, s->len) >= 0)
            continue;  /* duplicate text: the first id wins */
        size_t i = (size_t)hash_bytes(s->ptr, s->len) & t->map.mask;
        while (t->map.slots[i] >= 0)
            i = (i + 1) & t->map.mask;
        t->map.slots[i] = (int32_t)id;
    }
    return 0;
}

/* Max-heap on prio, ties to the lowest left index. */
static int cand_before(const merge_cand *x, const merge_cand *y)
{
    if (x->prio != y->prio)
        return x->prio > y->prio;
    return x->left < y->left;
}

int cand_heap_push(cand_heap *h, merge_cand c)
{
    merge_cand *v = grow_to(h->v, &h->cap, h->n + 1, sizeof *v, 64);
    if (!v)
        return -1;
    h->v = v;
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!cand_before(&c, &h->v[parent]))
            break;
        h->v[i] = h->v[parent];
        i = parent;
    }
    h->v[i] = c;
    return 0;
}

int cand_heap_pop(cand_heap *h, merge_cand *out)
{
    if (h->n == 0)
        return 0;
    *out = h->v[0];
    merge_cand last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->n)
            break;
        if (child + 1 < h->n && cand_before(&h->v[child + 1], &h->v[child]))
            child++;
        if (!cand_before(&h->v[child], &last))
            break;
        h->v[i] = h->v[child];
        i = child;
    }
    if (h->n > 0)
        h->v[i] = last;
    return 1;
}

/* ------------------------------------------------------------ construction */

void tokenizer_spec_init(tokenizer_spec *spec, tokenizer_kind kind)
{
    memset(spec, 0, sizeof *spec);
    spec->kind = kind;
    spec->bos_id = spec->eos_id = spec->eot_id = spec->unk_id = spec->pad_id = -1;
    spec->add_bos = spec->add_eos = spec->add_space_prefix = -1;
}

static int is_special_type(int type)
{
    return type == TOKEN_TYPE_CONTROL || type == TOKEN_TYPE_USER_DEFINED ||
           type == TOKEN_TYPE_UNKNOWN;
}

static int copy_vocab(tokenizer *t, const tokenizer_spec *spec, perr *err)
{
    size_t n = spec->n_vocab, total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!spec->tokens[i].ptr && spec->tokens[i].len)
            return perr_set(err, "token %zu has no text", i);
        if (spec->tokens[i].len > 1024)
            return perr_set(err, "token %zu is %zu bytes long (limit 1024)", i,
                            spec->tokens[i].len);
        total += spec->tokens[i].len;
    }
    t->texts = calloc(n, sizeof *t->texts);
    t->scores = calloc(n, sizeof *t->scores);
    t->types = calloc(n, 1);
    t->eog = calloc(n, 1);
    t->text_arena = malloc(total + 1);
    if (!t->texts || !t->scores || !t->types || !t->eog || !t->text_arena)
        return perr_set(err, "out of memory for a vocabulary of %zu tokens", n);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        if (spec->tokens[i].len)
            memcpy(t->text_arena + off, spec->tokens[i].ptr, spec->tokens[i].len);
        t->texts[i].ptr = t->text_arena + off;
        t->texts[i].len = spec->tokens[i].len;
        off += spec->tokens[i].len;
        t->scores[i] = spec->scores ? spec->scores[i] : 0.0f;
        int type = spec->token_types ? spec->token_types[i] : TOKEN_TYPE_NORMAL;
        if (type < TOKEN_TYPE_UNDEFINED || type > TOKEN_TYPE_BYTE)
            return perr_set(err, "token %zu has unknown type %d", i, type);
        t->types[i] = (uint8_t)(type == TOKEN_TYPE_UNDEFINED ? TOKEN_TYPE_NORMAL : type);
    }
    return 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* The byte a "<0xNN>" text stands for, or -1. */
static int byte_token_value(const tokenizer_text *s)
{
    if (s->len != 6 || memcmp(s->ptr, "<0x", 3) != 0 || s->ptr[5] != '>')
        return -1;
    int hi = hex_digit(s->ptr[3]), lo = hex_digit(s->ptr[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

static void find_byte_tokens(tokenizer *t)
{
    for (int b = 0; b < 256; b++)
        t->byte_ids[b] = -1;
    for (size_t i = 0; i < t->n_vocab; i++) {
        if (t->types[i] != TOKEN_TYPE_BYTE)
            continue;
        int b = byte_token_value(&t->texts[i]);
        if (b >= 0 && t->byte_ids[b] < 0) {
            t->byte_ids[b] = (int32_t)i;
            t->has_byte_tokens = 1;
        }
    }
}

/* Decoded bytes of one token, written at out; returns the length. */
static size_t decode_token_text(const tokenizer *t, size_t id, char *out)
{
    const tokenizer_text *s = &t->texts[id];
    int type = t->types[id];
    if (type == TOKEN_TYPE_BYTE) {
        int b = byte_token_value(s);
        if (b >= 0) {
            out[0] = (char)b;
            return 1;
        }
    }
    if (type != TOKEN_TYPE_NORMAL && type != TOKEN_TYPE_UNUSED && type != TOKEN_TYPE_BYTE) {
        memcpy(out, s->ptr, s->len);
        return s->len;
    }
    if (t->kind == TOKENIZER_BPE)
        return bpe_decode_text(t, s->ptr, s->len, out);
    size_t n = 0;
    for (size_t i = 0; i < s->len;) {
        if (i + 3 <= s->len && memcmp(s->ptr + i, "\xE2\x96\x81", 3) == 0) {
            out[n++] = ' ';
            i += 3;
        } else {
            out[n++] = s->ptr[i++];
        }
    }
    return n;
}

static int build_pieces(tokenizer *t)
{
    size_t total = 0;
    for (size_t i = 0; i < t->n_vocab; i++)
        total += t->texts[i].len + 1;  /* decoding never grows a text (+1: byte tokens) */
    t->pieces = calloc(t->n_vocab, sizeof *t->pieces);
    t->piece_arena = malloc(total + 1);
    if (!t->pieces || !t->piece_arena)
        return -1;
    size_t off = 0;
    for (size_t i = 0; i < t->n_vocab; i++) {
        size_t n = decode_token_text(t, i, t->piece_arena + off);
        t->pieces[i].ptr = t->piece_arena + off;
        t->pieces[i].len = n;
        off += n;
    }
    return 0;
}

static int special_order(const void *pa, const void *pb, void *ctx)
{
    const tokenizer *t = ctx;
    const tokenizer_text *a = &t->texts[*(const int32_t *)pa];
    const tokenizer_text *b = &t->texts[*(const int32_t *)pb];
    unsigned char fa = (unsigned char)a->ptr[0], fb = (unsigned char)b->ptr[0];
    if (fa != fb)
        return fa < fb ? -1 : 1;
    if (a->len != b->len)
        return a->len > b->len ? -1 : 1;
    int32_t ia = *(const int32_t *)pa, ib = *(const int32_t *)pb;
    return ia < ib ? -1 : ia > ib;
}

static int index_specials(tokenizer *t)
{
    t->specials = malloc((t->n_vocab + 1) * sizeof *t->specials);
    if (!t->specials)
        return -1;
    for (size_t i = 0; i < t->n_vocab; i++)
        if (is_special_type(t->types[i]) && t->texts[i].len > 0)
            t->specials[t->n_specials++] = (int32_t)i;
    qsort_r(t->specials, t->n_specials, sizeof *t->specials, special_order, t);
    size_t k = 0;
    for (int b = 0; b < 256; b++) {
        t->special_start[b] = (uint32_t)k;
        while (k < t->n_specials && (unsigned char)t->texts[t->specials[k]].ptr[0] == b)
            k++;
    }
    t->special_start[256] = (uint32_t)k;
    return 0;
}

static int32_t find_special_text(const tokenizer *t, const char *text, size_t len)
{
    if (len == 0)
        return -1;
    unsigned char first = (unsigned char)text[0];
    for (uint32_t k = t->special_start[first]; k < t->special_start[first + 1]; k++) {
        const tokenizer_text *s = &t->texts[t->specials[k]];
        if (s->len == len && memcmp(s->ptr, text, len) == 0)
            return t->specials[k];
    }
    return -1;
}

static const char *const EOT_TEXTS[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<EOT>", NULL,
};
static const char *const EOG_TEXTS[] = {
    "<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
    "<|endoftext|>", "<|end_of_text|>", "<EOT>", NULL,
};

static void mark_end_of_generation(tokenizer *t)
{
    if (t->eot < 0) {
        for (int i = 0; EOT_TEXTS[i] && t->eot < 0; i++) {
            int32_t id = find_special_text(t, EOT_TEXTS[i], strlen(EOT_TEXTS[i]));
            if (id >= 0 && t->types[id] == TOKEN_TYPE_CONTROL)
                t->eot = id;
        }
    }
    for (int i = 0; EOG_TEXTS[i]; i++) {
        int32_t id = find_special_text(t, EOG_TEXTS[i], strlen(EOG_TEXTS[i]));
        if (id >= 0 && t->types[id] != TOKEN_TYPE_UNKNOWN)
            t->eog[id] = 1;
    }
    if (t->eos >= 0)
        t->eog[t->eos] = 1;
    if (t->eot >= 0)
        t->eog[t->eot] = 1;
}

static int check_id(int32_t id, size_t n_vocab, const char *what, perr *err)
{
    if (id < -1 || (id >= 0 && (size_t)id >= n_vocab))
        return perr_set(err, "%s token id %d is outside the vocabulary of %zu", what, id,
                        n_vocab);
    return 0;
}

static int check_spec(const tokenizer_spec *spec, perr *err)
{
    if (spec->kind != TOKENIZER_SPM && spec->kind != TOKENIZER_BPE)
        return perr_set(err, "unknown tokenizer kind %d", (int)spec->kind);
    if (spec->n_vocab == 0 || spec->n_vocab >= INT32_MAX || !spec->tokens)
        return perr_set(err, "vocabulary size %zu is invalid", spec->n_vocab);
    if (check_id(spec->bos_id, spec->n_vocab, "BOS", err) ||
        check_id(spec->eos_id, spec->n_vocab, "EOS", err) ||
        check_id(spec->eot_id, spec->n_vocab, "EOT", err) ||
        check_id(spec->unk_id, spec->n_vocab, "UNK", err))
        return -1;
    if (spec->kind == TOKENIZER_BPE && spec->n_merges > 0 && !spec->merges)
        return perr_set(err, "merges are missing");
    return 0;
}

static int setup_bpe(tokenizer *t, const tokenizer_spec *spec, pretok_info *info, perr *err)
{
    if (pretok_new(&t->pre, spec->pre ? spec->pre : "default", info, err) < 0)
        return -1;
    t->ignore_merges = info->ignore_merges;
    bpe_init_byte_alphabet(t);
    return bpe_build_merges(t, spec->merges, spec->n_merges, err);
}

int tokenizer_new(tokenizer **out, const tokenizer_spec *spec, perr *err)
{
    *out = NULL;
    if (check_spec(spec, err) < 0)
        return -1;
    tokenizer *t = calloc(1, sizeof *t);
    if (!t)
        return perr_set(err, "out of memory");
    t->kind = spec->kind;
    t->n_vocab = spec->n_vocab;
    t->bos = spec->bos_id;
    t->eos = spec->eos_id;
    t->eot = spec->eot_id;
    t->unk = spec->unk_id;
    t->pad = spec->pad_id >= 0 && (size_t)spec->pad_id < spec->n_vocab ? spec->pad_id : -1;
    pretok_info info = { 0, 0 };
    if (copy_vocab(t, spec, err) < 0)
        goto fail;
    if (build_vocab_map(t) < 0 || index_specials(t) < 0) {
        perr_set(err, "out of memory");
        goto fail;
    }
    find_byte_tokens(t);
    if (t->kind == TOKENIZER_BPE && setup_bpe(t, spec, &info, err) < 0)
        goto fail;
    if (build_pieces(t) < 0) {
        perr_set(err, "out of memory");
        goto fail;
    }
    int spm = t->kind == TOKENIZER_SPM;
    /* A default never asks for a token the vocabulary lacks; an explicit flag may. */
    t->add_bos = spec->add_bos >= 0 ? spec->add_bos != 0 : (spm || info.add_bos) && t->bos >= 0;
    t->add_eos = spec->add_eos >= 0 ? spec->add_eos != 0 : 0;
    t->add_space_prefix = spm && (spec->add_space_prefix < 0 || spec->add_space_prefix);
    if (t->add_bos && t->bos < 0) {
        perr_set(err, "the vocabulary asks for a BOS token but has none");
        goto fail;
    }
    if (t->add_eos && t->eos < 0) {
        perr_set(err, "the vocabulary asks for an EOS token but has none");
        goto fail;
    }
    if (spec->chat_template.ptr) {
        t->chat_template = strndup(spec->chat_template.ptr, spec->chat_template.len);
        if (!t->chat_template) {
            perr_set(err, "out of memory");
            goto fail;
        }
    }
    mark_end_of_generation(t);
    *out = t;
    return 0;
fail:
    tokenizer_free(t);
    return -1;
}

void tokenizer_free(tokenizer *t)
{
    if (!t)
        return;
    free(t->texts);
    free(t->pieces);
    free(t->text_arena);
    free(t->piece_arena);
    free(t->scores);
    free(t->types);
    free(t->eog);
    free(t->map.slots);
    free(t->specials);
    bpe_free_merges(t);
    pretok_free(t->pre);
    free(t->chat_template);
    free(t);
}

/* ---------------------------------------------------------------- encoding */

/* State of one encode call: the output and whether the previous fragment
 * was a special token (SPM adds the space prefix after one). */
typedef struct encode_state {
    const tokenizer *t;
    id_vec out;
    int prev_special;
} encode_state;

static int emit_raw(encode_state *st, const char *text, size_t len)
{
    if (len == 0)
        return 0;
    const tokenizer *t = st->t;
    int rc = t->kind == TOKENIZER_SPM
                 ? spm_encode_fragment(t, text, len, t->add_space_prefix && st->prev_special,
                                       &st->out)
                 : bpe_encode_fragment(t, text, len, &st->out);
    st->prev_special = 0;
    return rc;
}

/* After an UNKNOWN token no space prefix follows (llama.cpp adds one): the
 * decoder cannot tell a parsed "<unk>" from one standing for an unknown
 * character, so this keeps decode(encode(text)) == text. */
static int emit_special(encode_state *st, int32_t id)
{
    st->prev_special = st->t->types[id] != TOKEN_TYPE_UNKNOWN;
    return id_vec_push(&st->out, id);
}

/* Longest special token matching at text (allowed types only), or -1. */
static int32_t special_at(const tokenizer *t, const char *text, size_t len, int parse_special)
{
    unsigned char first = (unsigned char)text[0];
    for (uint32_t k = t->special_start[first]; k < t->special_start[first + 1]; k++) {
        int32_t id = t->specials[k];
        const tokenizer_text *s = &t->texts[id];
        if (!parse_special && t->types[id] != TOKEN_TYPE_USER_DEFINED)
            continue;
        if (s->len <= len && memcmp(s->ptr, text, s->len) == 0)
            return id;
    }
    return -1;
}

static int encode_scanning(encode_state *st, const char *text, size_t len, int parse_special)
{
    const tokenizer *t = st->t;
    size_t raw_start = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (t->special_start[c] == t->special_start[c + 1])
            continue;
        int32_t id = special_at(t, text + i, len - i, parse_special);
        if (id < 0)
            continue;
        if (emit_raw(st, text + raw_start, i - raw_start) < 0 || emit_special(st, id) < 0)
            return -1;
        i += t->texts[id].len - 1;
        raw_start = i + 1;
    }
    return emit_raw(st, text + raw_start, len - raw_start);
}

static int encode_marked(encode_state *st, const char *text, size_t len,
                         const tokenizer_span *spans, size_t n_spans)
{
    size_t raw_start = 0;
    for (size_t k = 0; k < n_spans; k++) {
        const tokenizer_span *sp = &spans[k];
        if (sp->offset < raw_start || sp->offset > len || sp->len > len - sp->offset)
            continue;  /* unsorted, overlapping or out of range: ignore */
        int32_t id = find_special_text(st->t, text + sp->offset, sp->len);
        if (id < 0)
            continue;
        if (emit_raw(st, text + raw_start, sp->offset - raw_start) < 0 ||
            emit_special(st, id) < 0)
            return -1;
        raw_start = sp->offset + sp->len;
    }
    return emit_raw(st, text + raw_start, len - raw_start);
}

static int encode_common(const tokenizer *t, const char *text, size_t len, int add_special,
                         int parse_special, const tokenizer_span *spans, size_t n_spans,
                         int32_t **ids, size_t *n_ids, perr *err)
{
    encode_state st = { .t = t, .prev_special = 1 };
    *ids = NULL;
    *n_ids = 0;
    if (len > (size_t)INT32_MAX / 4)
        return perr_set(err, "text of %zu bytes is too long to tokenize", len);
    int rc = 0;
    if (add_special && t->add_bos)
        rc = id_vec_push(&st.out, t->bos);
    if (rc == 0)
        rc = spans ? encode_marked(&st, text, len, spans, n_spans)
                   : encode_scanning(&st, text, len, parse_special);
    if (rc == 0 && add_special && t->add_eos)
        rc = id_vec_push(&st.out, t->eos);
    if (rc < 0) {
        free(st.out.v);
        return perr_set(err, "out of memory while tokenizing %zu bytes", len);
    }
    *ids = st.out.v;
    *n_ids = st.out.n;
    return 0;
}

int tokenizer_encode(const tokenizer *t, const char *text, size_t len, int add_special,
                     int parse_special, int32_t **ids, size_t *n_ids, perr *err)
{
    return encode_common(t, text, len, add_special, parse_special, NULL, 0, ids, n_ids, err);
}

int tokenizer_encode_marked(const tokenizer *t, const char *text, size_t len, int add_special,
                            const tokenizer_span *specials, size_t n_specials,
                            int32_t **ids, size_t *n_ids, perr *err)
{
    static const tokenizer_span none[1] = { { 0, 0 } };
    return encode_common(t, text, len, add_special, 0, specials ? specials : none,
                         specials ? n_specials : 0, ids, n_ids, err);
}

/* ---------------------------------------------------------------- decoding */

static const tokenizer_text NO_PIECE = { "", 0 };

int tokenizer_decode(const tokenizer *t, const int32_t *ids, size_t n_ids, unsigned flags,
                     char **out, size_t *out_len, perr *err)
{
    *out = NULL;
    if (out_len)
        *out_len = 0;
    size_t total = 0;
    for (size_t i = 0; i < n_ids; i++) {
        if (ids[i] < 0 || (size_t)ids[i] >= t->n_vocab)
            return perr_set(err, "token id %d at position %zu is outside the vocabulary of %zu",
                            ids[i], i, t->n_vocab);
        total += t->pieces[ids[i]].len;
    }
    char *buf = malloc(total + 1);
    if (!buf)
        return perr_set(err, "out of memory decoding %zu tokens", n_ids);
    /* The encoder adds a space prefix at the start and after each special
     * token; drop it from the next normal piece. */
    int may_strip = t->add_space_prefix && !(flags & TOKENIZER_DECODE_KEEP_SPACE);
    int strip = may_strip;
    size_t n = 0;
    for (size_t i = 0; i < n_ids; i++) {
        int type = t->types[ids[i]];
        int special = type == TOKEN_TYPE_CONTROL || type == TOKEN_TYPE_USER_DEFINED;
        const tokenizer_text *p = &t->pieces[ids[i]];
        size_t skip = 0;
        if ((type == TOKEN_TYPE_CONTROL || type == TOKEN_TYPE_UNKNOWN) &&
            !(flags & TOKENIZER_DECODE_SPECIAL))
            p = &NO_PIECE;
        else if (strip && type == TOKEN_TYPE_NORMAL && p->len > 0 && p->ptr[0] == ' ')
            skip = 1;
        memcpy(buf + n, p->ptr + skip, p->len - skip);
        n += p->len - skip;
        strip = special ? may_strip : 0;
    }
    buf[n] = '\0';
    *out = buf;
    if (out_len)
        *out_len = n;
    return 0;
}

/* --------------------------------------------------------------- accessors */

static int in_vocab(const tokenizer *t, int32_t id)
{
    return id >= 0 && (size_t)id < t->n_vocab;
}

const char *tokenizer_token_piece(const tokenizer *t, int32_t id, size_t *len)
{
    if (!in_vocab(t, id))
        return NULL;
    *len = t->pieces[id].len;
    return t->pieces[id].ptr;
}

const char *tokenizer_token_text(const tokenizer *t, int32_t id, size_t *len)
{
    if (!in_vocab(t, id))
        return NULL;
    *len = t->texts[id].len;
    return t->texts[id].ptr;
}

int tokenizer_token_type_of(const tokenizer *t, int32_t id)
{
    return in_vocab(t, id) ? t->types[id] : -1;
}

int32_t tokenizer_find_token(const tokenizer *t, const char *text, size_t len)
{
    return vocab_find(t, text, len);
}

int32_t tokenizer_find_special(const tokenizer *t, const char *text)
{
    return find_special_text(t, text, strlen(text));
}

tokenizer_kind tokenizer_kind_of(const tokenizer *t) { return t->kind; }
size_t tokenizer_n_vocab(const tokenizer *t) { return t->n_vocab; }
int32_t tokenizer_bos(const tokenizer *t) { return t->bos; }
int32_t tokenizer_eos(const tokenizer *t) { return t->eos; }
int32_t tokenizer_eot(const tokenizer *t) { return t->eot; }
int32_t tokenizer_unk(const tokenizer *t) { return t->unk; }
int tokenizer_adds_bos(const tokenizer *t) { return t->add_bos; }
int tokenizer_adds_eos(const tokenizer *t) { return t->add_eos; }
const char *tokenizer_chat_template(const tokenizer *t) { return t->chat_template; }

int tokenizer_is_eog(const tokenizer *t, int32_t id)
{
    return in_vocab(t, id) && t->eog[id];
}
