/* fuzz_tokenizer.c — libFuzzer target for the tokenizer.
 *
 * Encodes the input (any bytes) with a small hand-built SentencePiece vocabulary
 * (byte fallback, merges, CONTROL and USER_DEFINED tokens) and a byte-level
 * BPE vocabulary for each pre-tokenizer, with and without special-token
 * parsing, and requires every decode to give the input back exactly (any
 * difference aborts) — except SentencePiece on text holding U+2581 itself,
 * which decodes as a space there as in SentencePiece.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/tokenizer/tokenizer.h"
#include "tests/tokenizer_vocab.h"

#define SP "\xE2\x96\x81"

typedef struct vocab {
    char text[400][8];
    tokenizer_text tokens[400];
    float scores[400];
    int32_t types[400];
    size_t n;
} vocab;

static void add(vocab *v, const char *text, float score, int type)
{
    snprintf(v->text[v->n], sizeof v->text[v->n], "%s", text);
    v->tokens[v->n] = (tokenizer_text){ v->text[v->n], strlen(v->text[v->n]) };
    v->scores[v->n] = score;
    v->types[v->n] = type;
    v->n++;
}

static tokenizer *build_spm(vocab *v)
{
    static const char *const pieces[] = { SP, "a", "b", "e", "t", "h", SP "t", "he", SP "the",
                                          "ab", "ba", SP "a", "\xC3\xA9", "<" };
    v->n = 0;
    add(v, "<unk>", 0, TOKEN_TYPE_UNKNOWN);
    add(v, "<s>", 0, TOKEN_TYPE_CONTROL);
    add(v, "</s>", 0, TOKEN_TYPE_CONTROL);
    for (int b = 0; b < 256; b++) {
        char s[8];
        snprintf(s, sizeof s, "<0x%02X>", b);
        add(v, s, 0, TOKEN_TYPE_BYTE);
    }
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++)
        add(v, pieces[i], -(float)i, TOKEN_TYPE_NORMAL);
    add(v, "<sep>", 0, TOKEN_TYPE_USER_DEFINED);
    add(v, "bb", 1, TOKEN_TYPE_UNUSED);
    tokenizer *t;
    if (synth_spm_new(&t, v->n, v->tokens, v->scores, v->types, NULL) != 0)
        abort();
    return t;
}

static tokenizer *build_bpe(vocab *v, const char *pre)
{
    static const tokenizer_text merges[] = {
        { "h e", 3 }, { "\xC4\xA0 t", 4 }, { "\xC4\xA0t he", 6 }, { "1 2", 3 }, { "a b", 3 },
    };
    v->n = 0;
    for (int b = 0; b < 256; b++) {
        char s[4];
        gpt2_byte_text(b, s);
        add(v, s, 0, TOKEN_TYPE_NORMAL);
    }
    add(v, "he", 0, TOKEN_TYPE_NORMAL);
    add(v, "\xC4\xA0t", 0, TOKEN_TYPE_NORMAL);
    add(v, "\xC4\xA0the", 0, TOKEN_TYPE_NORMAL);
    add(v, "12", 0, TOKEN_TYPE_NORMAL);
    add(v, "ab", 0, TOKEN_TYPE_NORMAL);
    add(v, "<|eot|>", 0, TOKEN_TYPE_CONTROL);
    add(v, "<sep>", 0, TOKEN_TYPE_USER_DEFINED);
    tokenizer_spec spec = synth_bpe_spec(pre, v->n, v->tokens, v->types, merges, sizeof merges / sizeof merges[0]);
    tokenizer *t;
    if (tokenizer_new(&t, &spec, NULL) != 0)
        abort();
    return t;
}

static void check_round_trip(const tokenizer *t, const uint8_t *data, size_t size,
                             int parse_special, int exact)
{
    int32_t *ids;
    size_t n;
    if (tokenizer_encode(t, (const char *)data, size, 0, parse_special, &ids, &n, NULL) != 0)
        abort();
    char *out;
    size_t len;
    unsigned flags = parse_special ? TOKENIZER_DECODE_SPECIAL : 0;
    if (tokenizer_decode(t, ids, n, flags, &out, &len, NULL) != 0)
        abort();
    if (exact && (len != size || memcmp(out, data, size) != 0))
        abort();
    free(out);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vocab *v = malloc(sizeof *v);
    if (!v)
        abort();
    tokenizer *t = build_spm(v);
    int has_sp = memmem(data, size, SP, 3) != NULL;
    check_round_trip(t, data, size, 0, !has_sp);
    check_round_trip(t, data, size, 1, !has_sp);
    tokenizer_free(t);
    static const char *const pres[] = { "default", "llama3", "smollm", "qwen2" };
    for (size_t i = 0; i < sizeof pres / sizeof pres[0]; i++) {
        t = build_bpe(v, pres[i]);
        check_round_trip(t, data, size, 0, 1);
        check_round_trip(t, data, size, 1, 1);
        tokenizer_free(t);
    }
    free(v);
    return 0;
}
