/* tokenizer_vocab.h — pieces of the hand-built vocabularies of the tokenizer
 * tests and the tokenizer fuzz target: GPT-2's byte alphabet (written
 * independently of the engine's) and a SentencePiece tokenizer made from a
 * token list. */
#ifndef PRECIS_TOKENIZER_VOCAB_H
#define PRECIS_TOKENIZER_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "engine/tokenizer/tokenizer.h"

/* The code point GPT-2's byte-level BPE writes byte b (0..255) as. */
static inline int gpt2_byte_cp(int b)
{
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174)
        return b;
    int n = 0;
    for (int x = 0; x < b; x++)
        if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || x >= 174))
            n++;
    return 256 + n;
}

/* That code point in UTF-8, NUL-terminated in out; returns its length (1 or 2). */
static inline size_t gpt2_byte_text(int b, char out[3])
{
    int cp = gpt2_byte_cp(b);
    if (cp < 0x80) {
        out[0] = (char)cp;
        out[1] = '\0';
        return 1;
    }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    out[2] = '\0';
    return 2;
}

/* The spec of a byte-level BPE tokenizer with pre-tokenizer pre over n
 * tokens and n_merges merges (no BOS or EOS yet). */
static inline tokenizer_spec synth_bpe_spec(const char *pre, size_t n, const tokenizer_text *tokens,
                                            const int32_t *types, const tokenizer_text *merges, size_t n_merges)
{
    tokenizer_spec spec;
    tokenizer_spec_init(&spec, TOKENIZER_BPE);
    spec.pre = pre;
    spec.n_vocab = n;
    spec.tokens = tokens;
    spec.token_types = types;
    spec.merges = merges;
    spec.n_merges = n_merges;
    return spec;
}

/* A SentencePiece tokenizer over n tokens whose first three are <unk>, <s>
 * and </s>; tokenizer_new's result. */
static inline int synth_spm_new(tokenizer **t, size_t n, const tokenizer_text *tokens, const float *scores,
                                const int32_t *types, perr *err)
{
    tokenizer_spec spec;
    tokenizer_spec_init(&spec, TOKENIZER_SPM);
    spec.n_vocab = n;
    spec.tokens = tokens;
    spec.scores = scores;
    spec.token_types = types;
    spec.bos_id = 1;
    spec.eos_id = 2;
    spec.unk_id = 0;
    return tokenizer_new(t, &spec, err);
}

#endif
