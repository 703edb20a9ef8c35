/* test_tokenizer.c — tokenizer tests: the real Llama 2 vocabulary against
 * SentencePiece's own ids (tests/vectors/llama2_tokenizer.tsv), stories260K's
 * 512-token vocabulary, hand-built SPM and byte-level BPE vocabularies with
 * hand-derived expectations, the BPE pre-tokenizer regexes, and hostile
 * inputs.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gguf/gguf.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/tokenizer_internal.h"
#include "tests/support.h"
#include "tests/tokenizer_vocab.h"

/* ------------------------------------------------------------ helpers */

/* "1 2 3" -> ids; returns the count. */
static size_t parse_ids(const char *s, int32_t *ids, size_t cap)
{
    size_t n = 0;
    char *end;
    for (;;) {
        long v = strtol(s, &end, 10);
        if (end == s)
            break;
        cr_assert_lt(n, cap);
        ids[n++] = (int32_t)v;
        s = end;
    }
    return n;
}

/* Undo the generator's escapes (\\ \t \n \r \xNN) in place; returns length. */
static size_t unescape(char *s)
{
    size_t o = 0;
    for (size_t i = 0; s[i]; i++) {
        if (s[i] != '\\') {
            s[o++] = s[i];
            continue;
        }
        char c = s[++i];
        if (c == 't')
            s[o++] = '\t';
        else if (c == 'n')
            s[o++] = '\n';
        else if (c == 'r')
            s[o++] = '\r';
        else if (c == 'x') {
            char hex[3] = { s[i + 1], s[i + 2], 0 };
            s[o++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else
            s[o++] = c;
    }
    return o;
}

static void assert_ids(const int32_t *got, size_t n_got, const int32_t *want, size_t n_want,
                       const char *what)
{
    char gs[4096] = "", ws[4096] = "";
    for (size_t i = 0; i < n_got && strlen(gs) < 4000; i++)
        snprintf(gs + strlen(gs), sizeof gs - strlen(gs), " %d", got[i]);
    for (size_t i = 0; i < n_want && strlen(ws) < 4000; i++)
        snprintf(ws + strlen(ws), sizeof ws - strlen(ws), " %d", want[i]);
    cr_assert(n_got == n_want && memcmp(got, want, n_got * sizeof *got) == 0,
              "%s:\n  got: %s\n want: %s", what, gs, ws);
}

static void expect_encode(const tokenizer *t, const char *text, int add_special,
                          int parse_special, const int32_t *want, size_t n_want)
{
    int32_t *ids;
    size_t n;
    perr err;
    cr_assert_eq(tokenizer_encode(t, text, strlen(text), add_special, parse_special, &ids, &n,
                                  &err), 0, "%s", err.msg);
    assert_ids(ids, n, want, n_want, text);
    free(ids);
}

#define EXPECT(t, text, add, special, ...)                                        \
    do {                                                                        \
        const int32_t want_[] = { __VA_ARGS__ };                                \
        expect_encode(t, text, add, special, want_, sizeof want_ / sizeof want_[0]); \
    } while (0)

static void expect_round_trip(const tokenizer *t, const char *text, size_t len,
                              const int32_t *ids, size_t n)
{
    char *out;
    size_t out_len;
    perr err;
    cr_assert_eq(tokenizer_decode(t, ids, n, 0, &out, &out_len, &err), 0, "%s", err.msg);
    cr_assert(out_len == len && memcmp(out, text, len) == 0,
              "round trip of \"%.*s\" gave \"%s\"", (int)len, text, out);
    free(out);
}

/* Every line of a vectors file: encode must give exactly the ids, decode
 * must give back the text. Returns the number of vectors checked. */
static size_t check_vectors(const tokenizer *t, const char *path)
{
    char *data = test_read_file(path, NULL);
    size_t count = 0;
    char *save = NULL;
    for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char *tab = strchr(line, '\t');
        cr_assert(tab, "malformed vector line: %s", line);
        *tab = '\0';
        size_t len = unescape(line);
        int32_t want[4096];
        size_t n_want = parse_ids(tab + 1, want, 4096);
        int32_t *ids;
        size_t n;
        perr err;
        cr_assert_eq(tokenizer_encode(t, line, len, 1, 0, &ids, &n, &err), 0, "%s", err.msg);
        assert_ids(ids, n, want, n_want, line);
        expect_round_trip(t, line, len, ids, n);
        free(ids);
        count++;
    }
    free(data);
    return count;
}

/* ------------------------------------------------- real Llama 2 vocabulary */

Test(tokenizer, llama2_metadata)
{
    tokenizer *t = test_load_tokenizer("llama-2-tiny-random.gguf");
    cr_assert_eq(tokenizer_kind_of(t), TOKENIZER_SPM);
    cr_assert_eq(tokenizer_n_vocab(t), 32000);
    cr_assert_eq(tokenizer_bos(t), 1);
    cr_assert_eq(tokenizer_eos(t), 2);
    cr_assert_eq(tokenizer_unk(t), 0);
    cr_assert(tokenizer_adds_bos(t));
    cr_assert(!tokenizer_adds_eos(t));
    cr_assert(tokenizer_is_eog(t, 2));
    cr_assert(!tokenizer_is_eog(t, 1));
    cr_assert(!tokenizer_is_eog(t, 13));
    cr_assert(!tokenizer_is_eog(t, -1));
    cr_assert(!tokenizer_is_eog(t, 32000));
    cr_assert_eq(tokenizer_find_special(t, "</s>"), 2);
    cr_assert_eq(tokenizer_find_special(t, "<s>"), 1);
    cr_assert_eq(tokenizer_find_special(t, "hello"), -1);
    cr_assert_eq(tokenizer_find_token(t, "\xE2\x96\x81the", 6), 278);
    cr_assert_eq(tokenizer_token_type_of(t, 13), TOKEN_TYPE_BYTE);
    cr_assert_eq(tokenizer_token_type_of(t, 1), TOKEN_TYPE_CONTROL);
    cr_assert_eq(tokenizer_token_type_of(t, 32000), -1);
    size_t len;
    const char *p = tokenizer_token_piece(t, 13, &len);  /* <0x0A> */
    cr_assert(p && len == 1 && p[0] == '\n');
    p = tokenizer_token_piece(t, 278, &len);             /* ▁the */
    cr_assert(p && len == 4 && memcmp(p, " the", 4) == 0);
    p = tokenizer_token_text(t, 278, &len);
    cr_assert(p && len == 6 && memcmp(p, "\xE2\x96\x81the", 6) == 0);
    cr_assert_null(tokenizer_token_piece(t, -5, &len));
    tokenizer_free(t);
}

Test(tokenizer, llama2_readme_examples)
{
    tokenizer *t = test_load_tokenizer("llama-2-tiny-random.gguf");
    EXPECT(t, "", 1, 0, 1);
    EXPECT(t, "I believe the meaning of life is", 1, 0, 1, 306, 4658, 278, 6593, 310, 2834, 338);
    EXPECT(t, "Simply put, the theory of relativity states that ", 1, 0, 1, 3439, 17632, 1925,
           29892, 278, 6368, 310, 14215, 537, 5922, 393, 29871);
    tokenizer_free(t);
}

Test(tokenizer, llama2_sentencepiece_vectors)
{
    tokenizer *t = test_load_tokenizer("llama-2-tiny-random.gguf");
    size_t n = check_vectors(t, "tests/vectors/llama2_tokenizer.tsv");
    cr_assert_geq(n, 60, "only %zu vectors", n);
    tokenizer_free(t);
}

Test(tokenizer, llama2_special_tokens_in_text)
{
    tokenizer *t = test_load_tokenizer("llama-2-tiny-random.gguf");
    /* Not parsed: the text pieces SentencePiece gives (see the TSV). */
    EXPECT(t, "<s>hi</s>", 0, 0, 529, 29879, 29958, 2918, 829, 29879, 29958);
    /* Parsed: BOS/EOS ids; a space prefix follows each special token. */
    EXPECT(t, "<s>hi</s>", 0, 1, 1, 7251, 2);
    EXPECT(t, "a</s>b", 1, 1, 1, 263, 2, 289);
    char *out;
    perr err;
    const int32_t ids[] = { 1, 7251, 2 };
    cr_assert_eq(tokenizer_decode(t, ids, 3, 0, &out, NULL, &err), 0);
    cr_assert_str_eq(out, "hi");
    free(out);
    cr_assert_eq(tokenizer_decode(t, ids, 3, TOKENIZER_DECODE_SPECIAL, &out, NULL, &err), 0);
    cr_assert_str_eq(out, "<s>hi</s>");
    free(out);
    cr_assert_eq(tokenizer_decode(t, ids + 1, 1, TOKENIZER_DECODE_KEEP_SPACE, &out, NULL, &err),
                 0);
    cr_assert_str_eq(out, " hi");
    free(out);
    const char *texts[] = { "a</s>b", "a</s> b", "<s> x<s>y</s>", "</s>" };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        int32_t *enc;
        size_t n;
        cr_assert_eq(tokenizer_encode(t, texts[i], strlen(texts[i]), 0, 1, &enc, &n, &err), 0);
        cr_assert_eq(tokenizer_decode(t, enc, n, TOKENIZER_DECODE_SPECIAL, &out, NULL, &err), 0);
        cr_assert_str_eq(out, texts[i]);
        free(out);
        free(enc);
    }
    const int32_t bad[] = { 5, 32000 };
    cr_assert_eq(tokenizer_decode(t, bad, 2, 0, &out, NULL, &err), -1);
    cr_assert(strstr(err.msg, "32000"), "%s", err.msg);
    tokenizer_free(t);
}

Test(tokenizer, llama2_marked_spans)
{
    tokenizer *t = test_load_tokenizer("llama-2-tiny-random.gguf");
    const char *text = "</s><s>[INST] x </s> [/INST]";
    /* Only the first two markers are template-made; the user's "</s>" stays text. */
    const tokenizer_span spans[] = { { 0, 4 }, { 4, 3 } };
    int32_t *ids, *plain;
    size_t n, n_plain;
    perr err;
    cr_assert_eq(tokenizer_encode_marked(t, text, strlen(text), 0, spans, 2, &ids, &n, &err),
                 0);
    cr_assert_eq(tokenizer_encode(t, text + 7, strlen(text + 7), 0, 0, &plain, &n_plain, &err),
                 0);
    cr_assert_eq(n, n_plain + 2);
    cr_assert_eq(ids[0], 2);
    cr_assert_eq(ids[1], 1);
    assert_ids(ids + 2, n - 2, plain, n_plain, "text after the markers");
    free(ids);
    free(plain);
    tokenizer_free(t);
}

Test(tokenizer, llama2_invalid_utf8_and_nul)
{
    tokenizer *t = test_load_tokenizer("llama-2-tiny-random.gguf");
    const char text[] = "a\xff\xc3(\0b\xe2\x82";
    size_t len = sizeof text - 1;
    int32_t *ids;
    size_t n;
    perr err;
    cr_assert_eq(tokenizer_encode(t, text, len, 1, 1, &ids, &n, &err), 0);
    /* ▁a, then byte tokens (id = byte + 3) for every invalid byte and NUL. */
    const int32_t want[] = { 1, 263, 0xff + 3, 0xc3 + 3, 29898, 0 + 3, 29890, 0xe2 + 3,
                             0x82 + 3 };
    assert_ids(ids, n, want, sizeof want / sizeof want[0], "invalid UTF-8");
    expect_round_trip(t, text, len, ids, n);
    free(ids);
    tokenizer_free(t);
}

Test(tokenizer, llama2_large_document)
{
    tokenizer *t = test_load_tokenizer("llama-2-tiny-random.gguf");
    const char *para = "The quick brown fox jumps over the lazy dog; café, naïve, 東京 42!\n";
    size_t plen = strlen(para), reps = 4000, len = plen * reps;
    char *doc = malloc(len + 1);
    for (size_t i = 0; i < reps; i++)
        memcpy(doc + i * plen, para, plen);
    doc[len] = '\0';
    int32_t *ids;
    size_t n;
    perr err;
    cr_assert_eq(tokenizer_encode(t, doc, len, 1, 0, &ids, &n, &err), 0, "%s", err.msg);
    cr_assert_gt(n, reps * 10);
    expect_round_trip(t, doc, len, ids, n);
    free(ids);
    /* One huge word: a long merge chain. */
    memset(doc, 'a', len);
    cr_assert_eq(tokenizer_encode(t, doc, len, 1, 0, &ids, &n, &err), 0, "%s", err.msg);
    expect_round_trip(t, doc, len, ids, n);
    free(ids);
    free(doc);
    tokenizer_free(t);
}

Test(tokenizer, synth_model_has_llama2_vocab_and_template)
{
    tokenizer *t = test_load_tokenizer("synth-d256-q8_0.gguf");
    cr_assert_eq(tokenizer_n_vocab(t), 32000);
    EXPECT(t, "I believe the meaning of life is", 1, 0, 1, 306, 4658, 278, 6593, 310, 2834, 338);
    cr_assert_not_null(tokenizer_chat_template(t));
    cr_assert(strstr(tokenizer_chat_template(t), "[INST]"));
    tokenizer_free(t);
}

/* ------------------------------------------------------ stories260K vocab */

Test(tokenizer, stories260k_vectors)
{
    tokenizer *t = test_load_tokenizer("stories260K.gguf");
    cr_assert_eq(tokenizer_kind_of(t), TOKENIZER_SPM);
    cr_assert_eq(tokenizer_n_vocab(t), 512);
    cr_assert_eq(tokenizer_bos(t), 1);
    cr_assert_eq(tokenizer_eos(t), 2);
    cr_assert(tokenizer_is_eog(t, 2));
    size_t n = check_vectors(t, "tests/vectors/stories260k_tokenizer.tsv");
    cr_assert_geq(n, 10);
    tokenizer_free(t);
}

/* ---------------------------------------------- hand-built SPM vocabulary */

/* ids: 0 <unk>, 1 <s>, 2 </s>, 3..258 <0x00>..<0xFF> (optional), then
 * normal pieces with the given scores, then extras. */
typedef struct synth_vocab {
    tokenizer_text tokens[300];
    float scores[300];
    int32_t types[300];
    char bytes[256][8];
    size_t n;
} synth_vocab;

static int32_t synth_add(synth_vocab *v, const char *text, float score, int type)
{
    v->tokens[v->n] = (tokenizer_text){ text, strlen(text) };
    v->scores[v->n] = score;
    v->types[v->n] = type;
    return (int32_t)v->n++;
}

static void synth_spm_base(synth_vocab *v, int with_bytes)
{
    memset(v, 0, sizeof *v);
    synth_add(v, "<unk>", 0, TOKEN_TYPE_UNKNOWN);
    synth_add(v, "<s>", 0, TOKEN_TYPE_CONTROL);
    synth_add(v, "</s>", 0, TOKEN_TYPE_CONTROL);
    if (with_bytes) {
        for (int b = 0; b < 256; b++) {
            snprintf(v->bytes[b], sizeof v->bytes[b], "<0x%02X>", b);
            synth_add(v, v->bytes[b], 0, TOKEN_TYPE_BYTE);
        }
    }
}

static tokenizer *synth_spm(synth_vocab *v)
{
    tokenizer *t;
    perr err;
    cr_assert_eq(synth_spm_new(&t, v->n, v->tokens, v->scores, v->types, &err), 0, "%s", err.msg);
    return t;
}

#define SP "\xE2\x96\x81"  /* ▁ */

Test(tokenizer, spm_merge_order)
{
    synth_vocab v;
    synth_spm_base(&v, 1);
    int32_t sp = synth_add(&v, SP, -10, 1);
    int32_t a = synth_add(&v, "a", -10, 1);
    int32_t b = synth_add(&v, "b", -10, 1);
    int32_t c = synth_add(&v, "c", -10, 1);
    int32_t ab = synth_add(&v, "ab", -1, 1);
    int32_t bc = synth_add(&v, "bc", -1, 1);
    int32_t spa = synth_add(&v, SP "a", -3, 1);
    tokenizer *t = synth_spm(&v);
    /* ▁ a b c: "ab" and "bc" tie -> the left one merges first, after which
     * neither "▁ab" nor "abc" exists. */
    EXPECT(t, "abc", 0, 0, sp, ab, c);
    tokenizer_free(t);

    v.scores[bc] = -0.5f;  /* now "bc" is strictly better */
    t = synth_spm(&v);
    EXPECT(t, "abc", 0, 0, spa, bc);
    EXPECT(t, "abc", 1, 0, 1, spa, bc);
    EXPECT(t, "b  a", 0, 0, sp, b, sp, spa);
    (void)a;
    tokenizer_free(t);
}

Test(tokenizer, spm_byte_fallback_and_unk)
{
    synth_vocab v;
    synth_spm_base(&v, 1);
    synth_add(&v, SP, -10, 1);
    synth_add(&v, "a", -10, 1);
    int32_t spa = synth_add(&v, SP "a", -3, 1);
    tokenizer *t = synth_spm(&v);
    EXPECT(t, "a\xC3\xA9", 0, 0, spa, 3 + 0xC3, 3 + 0xA9);
    int32_t *ids;
    size_t n;
    perr err;
    cr_assert_eq(tokenizer_encode(t, "a\xC3\xA9", 3, 0, 0, &ids, &n, &err), 0);
    expect_round_trip(t, "a\xC3\xA9", 3, ids, n);
    free(ids);
    tokenizer_free(t);

    synth_spm_base(&v, 0);  /* no byte tokens: one UNK per unknown character */
    synth_add(&v, SP, -10, 1);
    synth_add(&v, "a", -10, 1);
    spa = synth_add(&v, SP "a", -3, 1);
    t = synth_spm(&v);
    EXPECT(t, "a\xC3\xA9x", 0, 0, spa, 0, 0);
    tokenizer_free(t);
}

Test(tokenizer, spm_unused_pieces_are_resegmented)
{
    synth_vocab v;
    synth_spm_base(&v, 1);
    int32_t sp = synth_add(&v, SP, -10, 1);
    int32_t c = synth_add(&v, "c", -10, 1);
    synth_add(&v, "cc", 0, TOKEN_TYPE_UNUSED);
    tokenizer *t = synth_spm(&v);
    EXPECT(t, "cc", 0, 0, sp, c, c);
    tokenizer_free(t);
}

Test(tokenizer, spm_special_token_matching)
{
    synth_vocab v;
    synth_spm_base(&v, 1);
    int32_t sp = synth_add(&v, SP, -10, 1);
    synth_add(&v, "a", -10, 1);
    int32_t b = synth_add(&v, "b", -10, 1);
    int32_t spa = synth_add(&v, SP "a", -3, 1);
    int32_t sep = synth_add(&v, "<sep>", 0, TOKEN_TYPE_USER_DEFINED);
    int32_t sepx = synth_add(&v, "<sep>x", 0, TOKEN_TYPE_CONTROL);
    tokenizer *t = synth_spm(&v);
    /* CONTROL only when parsing specials; longest match first. */
    EXPECT(t, "a</s>b", 0, 1, spa, 2, sp, b);
    EXPECT(t, "a</s>b", 0, 0, spa, 3 + '<', 3 + '/', 3 + 's', 3 + '>', b);
    EXPECT(t, "<sep>xb", 0, 1, sepx, sp, b);
    /* USER_DEFINED always. */
    EXPECT(t, "a<sep>b", 0, 0, spa, sep, sp, b);
    EXPECT(t, "<s>", 1, 1, 1, 1);
    cr_assert_eq(tokenizer_find_special(t, "<sep>"), sep);
    tokenizer_free(t);
}

Test(tokenizer, spm_without_space_prefix)
{
    synth_vocab v;
    synth_spm_base(&v, 1);
    synth_add(&v, SP, -10, 1);
    int32_t a = synth_add(&v, "a", -10, 1);
    int32_t spa = synth_add(&v, SP "a", -3, 1);
    tokenizer_spec spec;
    tokenizer_spec_init(&spec, TOKENIZER_SPM);
    spec.n_vocab = v.n;
    spec.tokens = v.tokens;
    spec.scores = v.scores;
    spec.token_types = v.types;
    spec.bos_id = 1;
    spec.add_space_prefix = 0;
    tokenizer *t;
    perr err;
    cr_assert_eq(tokenizer_new(&t, &spec, &err), 0, "%s", err.msg);
    EXPECT(t, "a a", 1, 0, 1, a, spa);
    int32_t ids[] = { a, spa };
    expect_round_trip(t, "a a", 3, ids, 2);
    tokenizer_free(t);
}

/* ------------------------------------------- hand-built byte-level BPE */

typedef struct synth_bpe {
    char byte_text[256][4];
    tokenizer_text tokens[320];
    int32_t types[320];
    tokenizer_text merges[32];
    size_t n, n_merges;
} synth_bpe;

static int32_t bpe_add(synth_bpe *v, const char *text, int type)
{
    v->tokens[v->n] = (tokenizer_text){ text, strlen(text) };
    v->types[v->n] = type;
    return (int32_t)v->n++;
}

static void bpe_merge(synth_bpe *v, const char *m)
{
    v->merges[v->n_merges++] = (tokenizer_text){ m, strlen(m) };
}

/* ids 0..255: the byte characters (id == byte); then merged tokens. */
enum { T_HE = 256, T_LL, T_EL, T_LLO, T_HELLO, T_GT, T_GTHE, T_GHELLO, T_APOS_S, T_12, T_123,
       T_NLNL, T_EACUTE, T_AF, T_CAF, T_CAFE, T_XYZ, T_EOT, T_EOS };

#define G "\xC4\xA0"  /* Ġ = space */

static tokenizer *synth_bpe_tokenizer(synth_bpe *v, const char *pre)
{
    memset(v, 0, sizeof *v);
    for (int b = 0; b < 256; b++) {
        gpt2_byte_text(b, v->byte_text[b]);
        bpe_add(v, v->byte_text[b], 1);
    }
    const char *merged[] = { "he", "ll", "el", "llo", "hello", G "t", G "the", G "hello", "'s",
                             "12", "123", "\xC4\x8A\xC4\x8A", "\xC3\x83\xC2\xA9", "af", "caf",
                             "caf\xC3\x83\xC2\xA9", "xyz" };
    for (size_t i = 0; i < sizeof merged / sizeof merged[0]; i++)
        bpe_add(v, merged[i], 1);
    bpe_add(v, "<|eot_id|>", TOKEN_TYPE_CONTROL);
    bpe_add(v, "<|end_of_text|>", TOKEN_TYPE_CONTROL);
    bpe_merge(v, "h e");
    bpe_merge(v, "l l");
    bpe_merge(v, "e l");
    bpe_merge(v, "ll o");
    bpe_merge(v, "he llo");
    bpe_merge(v, G " t");
    bpe_merge(v, G "t he");
    bpe_merge(v, G " hello");
    bpe_merge(v, "' s");
    bpe_merge(v, "1 2");
    bpe_merge(v, "12 3");
    bpe_merge(v, "\xC4\x8A \xC4\x8A");         /* Ċ Ċ (newlines) */
    bpe_merge(v, "\xC3\x83 \xC2\xA9");         /* Ã © (UTF-8 of é) */
    bpe_merge(v, "a f");
    bpe_merge(v, "c af");
    bpe_merge(v, "caf \xC3\x83\xC2\xA9");
    bpe_merge(v, "q nothere");                 /* halves not in the vocabulary: ignored */
    tokenizer_spec spec = synth_bpe_spec(pre, v->n, v->tokens, v->types, v->merges, v->n_merges);
    spec.bos_id = -1;
    spec.eos_id = T_EOS;
    tokenizer *t;
    perr err;
    cr_assert_eq(tokenizer_new(&t, &spec, &err), 0, "%s", err.msg);
    return t;
}

Test(tokenizer, bpe_merge_by_rank)
{
    synth_bpe v;
    tokenizer *t = synth_bpe_tokenizer(&v, "default");
    EXPECT(t, "hello", 0, 0, T_HELLO);
    EXPECT(t, "hell", 0, 0, T_HE, T_LL);
    EXPECT(t, "ell", 0, 0, 'e', T_LL);     /* rank of "l l" beats the left-most "e l" */
    EXPECT(t, "lll", 0, 0, T_LL, 'l');     /* equal ranks: left-most first */
    EXPECT(t, "xyz", 0, 0, 'x', 'y', 'z'); /* no merges lead to it */
    tokenizer_free(t);
}

Test(tokenizer, bpe_gpt2_sentence)
{
    synth_bpe v;
    tokenizer *t = synth_bpe_tokenizer(&v, "gpt2");
    /* Words: "hello" " the" " world" "'s" " 123" " café" "\n\n" */
    EXPECT(t, "hello the world's 123 caf\xC3\xA9\n\n", 0, 0, T_HELLO, T_GTHE, ' ',
           'w', 'o', 'r', 'l', 'd', T_APOS_S, ' ', T_123, ' ',
           T_CAFE, T_NLNL);
    int32_t *ids;
    size_t n;
    perr err;
    const char *text = "hello the world's 123 caf\xC3\xA9\n\n \x01\xff";
    cr_assert_eq(tokenizer_encode(t, text, strlen(text), 0, 0, &ids, &n, &err), 0);
    expect_round_trip(t, text, strlen(text), ids, n);
    free(ids);
    cr_assert(!tokenizer_adds_bos(t));
    tokenizer_free(t);
}

Test(tokenizer, bpe_llama3_numbers_and_ignore_merges)
{
    synth_bpe v;
    tokenizer *t = synth_bpe_tokenizer(&v, "llama3");
    cr_assert(tokenizer_adds_bos(t) == 0, "no BOS id: the spec cannot ask for one");
    /* " 123" is " " + "123"; "1234567" is "123" "456" "7"; "xyz" is a whole
     * vocabulary word, so merges are skipped. */
    EXPECT(t, "hello 123", 0, 0, T_HELLO, ' ', T_123);
    EXPECT(t, "1234567", 0, 0, T_123, '4', '5', '6', '7');
    EXPECT(t, "xyz", 0, 0, T_XYZ);
    EXPECT(t, "hi<|eot_id|>", 0, 1, 'h', 'i', T_EOT);
    EXPECT(t, "hi<|eot_id|>", 1, 0, 'h', 'i', '<', '|', 'e', 'o', 't', '_', 'i', 'd', '|', '>');
    cr_assert_eq(tokenizer_eot(t), T_EOT);
    cr_assert(tokenizer_is_eog(t, T_EOT));
    cr_assert(tokenizer_is_eog(t, T_EOS));
    cr_assert(!tokenizer_is_eog(t, T_HELLO));
    tokenizer_free(t);
}

Test(tokenizer, bpe_smollm_single_digits)
{
    synth_bpe v;
    tokenizer *t = synth_bpe_tokenizer(&v, "smollm");
    EXPECT(t, " 123", 0, 0, ' ', '1', '2', '3');
    tokenizer_free(t);
}

/* Byte b is token b, whose text is GPT-2's character for b. */
Test(tokenizer, bpe_byte_alphabet)
{
    cr_assert_eq(gpt2_byte_cp(' '), 0x120);
    cr_assert_eq(gpt2_byte_cp('\n'), 0x10A);
    synth_bpe v;
    tokenizer *t = synth_bpe_tokenizer(&v, "default");
    for (int b = 0; b < 256; b++) {
        size_t len;
        const char *p = tokenizer_token_piece(t, b, &len);
        cr_assert(p && len == 1 && (unsigned char)p[0] == b, "byte %d", b);
    }
    tokenizer_free(t);
}

/* ------------------------------------------------ pre-tokenizer splits */

typedef struct split_out {
    char words[64][64];
    size_t n;
} split_out;

static int collect(const char *w, size_t n, void *ctx)
{
    split_out *o = ctx;
    cr_assert_lt(o->n, 64);
    cr_assert_lt(n, 64);
    memcpy(o->words[o->n], w, n);
    o->words[o->n][n] = '\0';
    o->n++;
    return 0;
}

static void expect_split(const char *pre, const char *text, const char *const *want)
{
    pretok *p;
    pretok_info info;
    perr err;
    cr_assert_eq(pretok_new(&p, pre, &info, &err), 0, "%s", err.msg);
    split_out o = { .n = 0 };
    cr_assert_eq(pretok_split(p, text, strlen(text), collect, &o), 0);
    size_t n_want = 0;
    while (want[n_want])
        n_want++;
    char got[2048] = "";
    for (size_t i = 0; i < o.n; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "[%s]", o.words[i]);
    cr_assert_eq(o.n, n_want, "%s on \"%s\": %s", pre, text, got);
    for (size_t i = 0; i < n_want; i++)
        cr_assert_str_eq(o.words[i], want[i], "%s on \"%s\": %s", pre, text, got);
    pretok_free(p);
}

#define SPLIT(pre, text, ...)                                 \
    do {                                                     \
        const char *const want_[] = { __VA_ARGS__, NULL };   \
        expect_split(pre, text, want_);                      \
    } while (0)

Test(tokenizer, pretok_gpt2)
{
    SPLIT("gpt2", "Hello world's it's", "Hello", " world", "'s", " it", "'s");
    SPLIT("gpt2", "I'll   go", "I", "'ll", "  ", " go");
    SPLIT("gpt2", "x 12345 y", "x", " 12345", " y");
    SPLIT("gpt2", "a\n\nb", "a", "\n", "\n", "b");
    SPLIT("gpt2", "h\xC3\xA9llo w\xC3\xB6rld", "h\xC3\xA9llo", " w\xC3\xB6rld");
    SPLIT("gpt2", "end.  ", "end", ".", "  ");
    SPLIT("gpt2", "$100!!", "$", "100", "!!");
    SPLIT("gpt2", "DON'T", "DON", "'", "T");
    SPLIT("default", "ab\xFF" "cd", "ab", "\xFF", "cd");
}

Test(tokenizer, pretok_llama3)
{
    SPLIT("llama3", "DON'T stop", "DON", "'T", " stop");
    SPLIT("llama3", "1234567", "123", "456", "7");
    SPLIT("llama3", "x 12345", "x", " ", "123", "45");
    SPLIT("llama3", "a\n\nb", "a", "\n\n", "b");
    SPLIT("llama3", "hello!!\n\nworld", "hello", "!!\n\n", "world");
    SPLIT("llama3", "(foo)", "(foo", ")");
    SPLIT("llama-bpe", "  spaces", " ", " spaces");
    SPLIT("llama3", "caf\xC3\xA9 \xC3\xBC" "ber", "caf\xC3\xA9", " \xC3\xBC" "ber");
    SPLIT("llama3", "\xE6\x9D\xB1\xE4\xBA\xAC 42", "\xE6\x9D\xB1\xE4\xBA\xAC", " ", "42");
}

Test(tokenizer, pretok_smollm_and_qwen2)
{
    SPLIT("smollm", "abc 123", "abc", " ", "1", "2", "3");
    SPLIT("qwen2", "v1234", "v", "1", "2", "3", "4");
}

/* ------------------------------------------------------- bad specs */

Test(tokenizer, rejects_bad_specs)
{
    synth_bpe v;
    tokenizer *t = synth_bpe_tokenizer(&v, "default");
    tokenizer_free(t);
    tokenizer_spec spec;
    tokenizer_spec_init(&spec, TOKENIZER_BPE);
    spec.n_vocab = v.n;
    spec.tokens = v.tokens;
    spec.merges = v.merges;
    spec.n_merges = v.n_merges;
    perr err;

    spec.pre = "no-such-pre";
    cr_assert_eq(tokenizer_new(&t, &spec, &err), -1);
    cr_assert(strstr(err.msg, "no-such-pre"), "%s", err.msg);
    cr_assert_null(t);
    spec.pre = NULL;

    spec.eos_id = (int32_t)v.n;
    cr_assert_eq(tokenizer_new(&t, &spec, &err), -1);
    cr_assert(strstr(err.msg, "EOS"), "%s", err.msg);
    spec.eos_id = -1;

    tokenizer_text bad_merge = { "nospace", 7 };
    spec.merges = &bad_merge;
    spec.n_merges = 1;
    cr_assert_eq(tokenizer_new(&t, &spec, &err), -1);
    cr_assert(strstr(err.msg, "merge 0"), "%s", err.msg);
    spec.merges = v.merges;
    spec.n_merges = v.n_merges;

    int32_t types[320];
    memcpy(types, v.types, sizeof types);
    types[5] = 42;
    spec.token_types = types;
    cr_assert_eq(tokenizer_new(&t, &spec, &err), -1);
    cr_assert(strstr(err.msg, "type 42"), "%s", err.msg);
    spec.token_types = NULL;

    spec.add_bos = 1;  /* but no BOS id */
    cr_assert_eq(tokenizer_new(&t, &spec, &err), -1);
    cr_assert(strstr(err.msg, "BOS"), "%s", err.msg);
    spec.add_bos = -1;

    spec.n_vocab = 0;
    cr_assert_eq(tokenizer_new(&t, &spec, &err), -1);
}

Test(tokenizer, gguf_adapter_errors)
{
    gguf_writer *w = gguf_writer_new();
    const char *tokens[] = { "<unk>", "<s>", "</s>", "a" };
    gguf_writer_set_str(w, "tokenizer.ggml.model", "bert");
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", tokens, 4);
    void *data;
    size_t size;
    perr err;
    cr_assert_eq(gguf_writer_write_memory(w, &data, &size, &err), 0, "%s", err.msg);
    gguf_file *f;
    cr_assert_eq(gguf_open_memory(&f, data, size, &err), 0, "%s", err.msg);
    tokenizer *t;
    cr_assert_eq(tokenizer_from_gguf(&t, f, &err), -1);
    cr_assert(strstr(err.msg, "bert"), "%s", err.msg);
    gguf_close(f);
    free(data);
    gguf_writer_free(w);

    w = gguf_writer_new();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", tokens, 4);
    float scores[3] = { 0, 0, 0 };
    gguf_writer_set_arr_f32(w, "tokenizer.ggml.scores", scores, 3);  /* wrong count */
    cr_assert_eq(gguf_writer_write_memory(w, &data, &size, &err), 0, "%s", err.msg);
    cr_assert_eq(gguf_open_memory(&f, data, size, &err), 0, "%s", err.msg);
    cr_assert_eq(tokenizer_from_gguf(&t, f, &err), -1);
    cr_assert(strstr(err.msg, "tokenizer.ggml.scores"), "%s", err.msg);
    gguf_close(f);
    free(data);
    gguf_writer_free(w);
}

/* ------------------------------------------------------------- CLI */

Test(tokenizer, cli_tokenize)
{
    char *model = test_model_path("llama-2-tiny-random.gguf");
    char cmd[1024];
    char *out;
    snprintf(cmd, sizeof cmd, "%s tokenize -m %s 'I believe the meaning of life is'",
             test_precis_bin(), model);
    cr_assert_eq(test_run(cmd, &out), 0, "%s", out);
    cr_assert_str_eq(out, "1 306 4658 278 6593 310 2834 338\n");
    free(out);
    snprintf(cmd, sizeof cmd, "printf 'Hello world' | %s tokenize --no-bos -m %s -f -",
             test_precis_bin(), model);
    cr_assert_eq(test_run(cmd, &out), 0, "%s", out);
    cr_assert_str_eq(out, "15043 3186\n");
    free(out);
    snprintf(cmd, sizeof cmd, "%s tokenize 2>/dev/null", test_precis_bin());
    cr_assert_eq(test_run(cmd, &out), 2);
    free(out);
    free(model);
}
