/* tokenizer.h — text <-> token ids for Llama-family vocabularies.
 *
 * Two algorithms, chosen by the vocabulary (GGUF tokenizer.ggml.model):
 *   "llama" -> TOKENIZER_SPM: SentencePiece BPE. Optional space prefix, ' '
 *              becomes U+2581, UTF-8 characters are merged greedily by the
 *              highest score of the merged piece (left-most on ties);
 *              characters missing from the vocabulary become byte tokens
 *              <0xNN>, else UNK. Identical to SentencePiece for Llama 2.
 *   "gpt2"  -> TOKENIZER_BPE: byte-level BPE. The text is split by the
 *              pre-tokenizer regexes named by tokenizer.ggml.pre ("default"/
 *              "gpt2"/"gpt-2", "llama3"/"llama-bpe", "smollm", "qwen2"),
 *              each word's bytes are mapped to GPT-2's byte-unicode alphabet
 *              and merged by rank (tokenizer.ggml.merges).
 *
 * The core is built from plain arrays (tokenizer_spec), so it can be tested
 * without files; tokenizer_from_gguf() reads the standard GGUF keys into a
 * spec. The tokenizer copies everything it needs: the spec or gguf file may
 * be released after construction. A tokenizer is immutable after creation
 * and may be used from several threads at once.
 *
 * Special tokens (types CONTROL, USER_DEFINED, UNKNOWN) are split out of the
 * text before the algorithm runs, longest match first: USER_DEFINED tokens
 * always, CONTROL/UNKNOWN ones only when parse_special is set (as llama.cpp).
 * For SPM, the space prefix is added at the start of the text and after
 * every special token (as llama.cpp does).
 */
#ifndef PRECIS_TOKENIZER_H
#define PRECIS_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef struct gguf_file gguf_file;
typedef struct tokenizer tokenizer;

typedef enum tokenizer_kind {
    TOKENIZER_SPM = 0,  /* GGUF "llama" */
    TOKENIZER_BPE = 1,  /* GGUF "gpt2" */
} tokenizer_kind;

/* Token types, numbered as GGUF tokenizer.ggml.token_type. */
typedef enum tokenizer_token_type {
    TOKEN_TYPE_UNDEFINED = 0,  /* treated as NORMAL */
    TOKEN_TYPE_NORMAL = 1,
    TOKEN_TYPE_UNKNOWN = 2,
    TOKEN_TYPE_CONTROL = 3,
    TOKEN_TYPE_USER_DEFINED = 4,
    TOKEN_TYPE_UNUSED = 5,
    TOKEN_TYPE_BYTE = 6,
} tokenizer_token_type;

/* A byte string that need not be NUL-terminated. */
typedef struct tokenizer_text {
    const char *ptr;
    size_t len;
} tokenizer_text;

/* Everything a tokenizer is built from. Call tokenizer_spec_init() first,
 * then fill what you have. */
typedef struct tokenizer_spec {
    tokenizer_kind kind;
    const char *pre;               /* BPE pre-tokenizer name; NULL = "default" */
    size_t n_vocab;
    const tokenizer_text *tokens;  /* n_vocab texts as stored in the vocabulary */
    const float *scores;           /* n_vocab or NULL (all 0); SPM merge priority */
    const int32_t *token_types;    /* n_vocab or NULL (all NORMAL) */
    const tokenizer_text *merges;  /* BPE: n_merges "left right" strings, best first */
    size_t n_merges;
    int32_t bos_id, eos_id, eot_id, unk_id, pad_id;  /* -1 = none */
    int add_bos, add_eos;          /* -1 = the default for kind/pre */
    int add_space_prefix;          /* SPM; -1 = default (true) */
    tokenizer_text chat_template;  /* ptr NULL = none */
} tokenizer_spec;

void tokenizer_spec_init(tokenizer_spec *spec, tokenizer_kind kind);

/* Validates the spec (ids in range, known types and pre-tokenizer, ...). */
int tokenizer_new(tokenizer **out, const tokenizer_spec *spec, perr *err);

/* Reads tokenizer.ggml.{model,pre,tokens,scores,token_type,merges,
 * bos_token_id,eos_token_id,eot_token_id,unknown_token_id,padding_token_id,
 * add_bos_token,add_eos_token,add_space_prefix} and tokenizer.chat_template.
 * Missing optional keys take llama.cpp's defaults (SPM: BOS 1, EOS 2, UNK 0,
 * add_bos true; BPE: add_bos only for llama3). */
int tokenizer_from_gguf(tokenizer **out, const gguf_file *f, perr *err);

void tokenizer_free(tokenizer *t);

/* ---- Encoding. *ids is malloc'd (free() it); it may be non-NULL with
 * *n_ids == 0. add_special: prepend BOS if the vocabulary's add_bos flag is
 * set and append EOS if its add_eos flag is set (llama.cpp's add_special).
 * Any bytes are accepted, including invalid UTF-8 and NUL. */
int tokenizer_encode(const tokenizer *t, const char *text, size_t len, int add_special,
                     int parse_special, int32_t **ids, size_t *n_ids, perr *err);

/* A byte range of a text. */
typedef struct tokenizer_span {
    size_t offset, len;
} tokenizer_span;

/* Like tokenizer_encode, but special tokens are recognised ONLY at the given
 * spans (sorted, non-overlapping), whose text must equal a special token's
 * text to count (otherwise it stays ordinary text). Used for chat prompts:
 * the template's own markers become tokens, user text never does. */
int tokenizer_encode_marked(const tokenizer *t, const char *text, size_t len, int add_special,
                            const tokenizer_span *specials, size_t n_specials,
                            int32_t **ids, size_t *n_ids, perr *err);

/* ---- Decoding. */
enum {
    TOKENIZER_DECODE_SPECIAL = 1,    /* render CONTROL/UNKNOWN tokens as their text */
    TOKENIZER_DECODE_KEEP_SPACE = 2, /* SPM: keep the leading space of the first piece */
};

/* Concatenated pieces into a malloc'd, NUL-terminated string (*out_len
 * excludes the NUL). With flags 0, CONTROL/UNKNOWN tokens produce nothing.
 * For SPM with add_space_prefix, one leading space is removed from a normal
 * piece at the start and right after a CONTROL or USER_DEFINED token (where
 * the encoder added one), unless TOKENIZER_DECODE_KEEP_SPACE. So
 * decode(encode(text, add_special, 0), 0) == text, and
 * decode(encode(text, 0, 1), TOKENIZER_DECODE_SPECIAL) == text (for SPM,
 * when the text holds no U+2581 of its own: that decodes as a space).
 * Fails on an id outside the vocabulary. */
int tokenizer_decode(const tokenizer *t, const int32_t *ids, size_t n_ids, unsigned flags,
                     char **out, size_t *out_len, perr *err);

/* The bytes a token stands for (NULL if id is out of range): byte tokens
 * <0xNN> give that byte, SPM's U+2581 becomes ' ', byte-level BPE text is
 * mapped back to bytes; CONTROL/UNKNOWN/USER_DEFINED tokens give their text.
 * Not NUL-terminated; valid until tokenizer_free(). A multi-byte UTF-8
 * character may be split over several pieces. */
const char *tokenizer_token_piece(const tokenizer *t, int32_t id, size_t *len);

/* The token's text as stored in the vocabulary (NULL if out of range). */
const char *tokenizer_token_text(const tokenizer *t, int32_t id, size_t *len);

/* tokenizer_token_type value of id, or -1 if out of range. */
int tokenizer_token_type_of(const tokenizer *t, int32_t id);

/* Id of the token whose vocabulary text is exactly text[0..len), or -1. */
int32_t tokenizer_find_token(const tokenizer *t, const char *text, size_t len);

/* Id of the special (CONTROL/USER_DEFINED/UNKNOWN) token with that text, or -1. */
int32_t tokenizer_find_special(const tokenizer *t, const char *text);

tokenizer_kind tokenizer_kind_of(const tokenizer *t);
size_t tokenizer_n_vocab(const tokenizer *t);
int32_t tokenizer_bos(const tokenizer *t);  /* -1 = none */
int32_t tokenizer_eos(const tokenizer *t);
/* End-of-turn: tokenizer.ggml.eot_token_id, else the first CONTROL token
 * among <|eot_id|> <|im_end|> <|end|> <end_of_turn> <EOT>; -1 = none. */
int32_t tokenizer_eot(const tokenizer *t);
int32_t tokenizer_unk(const tokenizer *t);
int tokenizer_adds_bos(const tokenizer *t);
int tokenizer_adds_eos(const tokenizer *t);

/* End of generation: EOS, EOT, or a CONTROL/USER_DEFINED token whose text is
 * one of <|eot_id|> <|eom_id|> <|im_end|> <|end|> <end_of_turn>
 * <|endoftext|> <|end_of_text|> <EOT>. */
int tokenizer_is_eog(const tokenizer *t, int32_t id);

/* tokenizer.chat_template (NUL-terminated) or NULL. */
const char *tokenizer_chat_template(const tokenizer *t);

#endif
