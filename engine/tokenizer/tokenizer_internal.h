/* tokenizer_internal.h — the tokenizer's private structure and the helpers
 * shared by its parts (tokenizer.c: vocabulary, special tokens, encode/decode
 * driver; tokenizer_spm.c and tokenizer_bpe.c: the two merge algorithms;
 * tokenizer_pretok.c: BPE regex pre-tokenizers; tokenizer_gguf.c: the GGUF
 * adapter). Not for use outside engine/tokenizer*.c.
 */
#ifndef PRECIS_TOKENIZER_INTERNAL_H
#define PRECIS_TOKENIZER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "engine/tokenizer/tokenizer.h"

/* Growable id array; push fails (returns -1) only when out of memory. */
typedef struct id_vec {
    int32_t *v;
    size_t n, cap;
} id_vec;

int id_vec_push(id_vec *vec, int32_t id);

/* Open-addressing map from token text to id (first occurrence wins). */
typedef struct vocab_map {
    int32_t *slots;  /* -1 = empty */
    size_t mask;
} vocab_map;

/* Map from a pair of token ids to (merge rank, merged token id). */
typedef struct merge_entry {
    uint64_t key;    /* UINT64_MAX = empty */
    int32_t rank;
    int32_t result;
} merge_entry;

typedef struct merge_map {
    merge_entry *slots;
    size_t mask;
} merge_map;

typedef struct pretok pretok;

struct tokenizer {
    tokenizer_kind kind;
    size_t n_vocab;
    tokenizer_text *texts;   /* vocabulary texts, into text_arena */
    tokenizer_text *pieces;  /* decoded bytes, into piece_arena */
    char *text_arena, *piece_arena;
    float *scores;
    uint8_t *types;          /* tokenizer_token_type, UNDEFINED folded to NORMAL */
    uint8_t *eog;
    vocab_map map;

    /* Special tokens sorted by first byte, then longest first;
     * special_start[b]..special_start[b+1] are those starting with byte b. */
    int32_t *specials;
    size_t n_specials;
    uint32_t special_start[257];

    /* SPM */
    int32_t byte_ids[256];   /* <0xNN> tokens, -1 if absent */
    int has_byte_tokens;
    int add_space_prefix;

    /* BPE */
    merge_map merges;
    pretok *pre;
    int ignore_merges;
    char byte_chars[256][2]; /* GPT-2 byte -> unicode char, UTF-8 */
    uint8_t byte_char_len[256];
    int16_t cp_to_byte[512]; /* inverse, -1 if not a byte char */

    int32_t bos, eos, eot, unk, pad;
    int add_bos, add_eos;
    char *chat_template;
};

int32_t vocab_find(const tokenizer *t, const char *text, size_t len);

/* Bytes of one UTF-8 character at s (1..4, never past len); an invalid
 * sequence counts as one byte. */
size_t utf8_char_len(const char *s, size_t len);

/* Append the tokens of one raw-text fragment (no special tokens inside). */
int spm_encode_fragment(const tokenizer *t, const char *text, size_t len, int space_prefix,
                        id_vec *out);
int bpe_encode_fragment(const tokenizer *t, const char *text, size_t len, id_vec *out);

/* BPE set-up: GPT-2 byte alphabet and the merge table. */
void bpe_init_byte_alphabet(tokenizer *t);
int bpe_build_merges(tokenizer *t, const tokenizer_text *merges, size_t n_merges, perr *err);
void bpe_free_merges(tokenizer *t);
/* Decoded bytes of a byte-level token text, written to out (>= len bytes). */
size_t bpe_decode_text(const tokenizer *t, const char *text, size_t len, char *out);

/* Regex pre-tokenizers. */
typedef struct pretok_info {
    int ignore_merges;  /* whole words found in the vocabulary skip merging */
    int add_bos;        /* default add_bos for this pre-tokenizer */
} pretok_info;

int pretok_new(pretok **out, const char *name, pretok_info *info, perr *err);
void pretok_free(pretok *p);
/* Calls word() for each word of text in order; stops and returns -1 when
 * word() does. */
int pretok_split(const pretok *p, const char *text, size_t len,
                 int (*word)(const char *w, size_t n, void *ctx), void *ctx);

/* Max-heap of merge candidates: highest prio first, then lowest left. */
typedef struct merge_cand {
    double prio;
    int32_t left, right;
    int32_t a, b;        /* algorithm-specific validation data */
} merge_cand;

typedef struct cand_heap {
    merge_cand *v;
    size_t n, cap;
} cand_heap;

int cand_heap_push(cand_heap *h, merge_cand c);
int cand_heap_pop(cand_heap *h, merge_cand *out);  /* 0 when empty */

#endif
