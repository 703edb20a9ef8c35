/* test_json_constraint.c — forced tokens of the JSON constraint (jump-forward
 * decoding): the text a state forces, its one tokenization as a queue that
 * allows, masks and samples only its head, must_end, the closing budget
 * with a forced queue, and a property test over random schemas and token
 * walks against an oracle written here from the definitions (probe every
 * byte on a matcher copy; longest piece, a byte-fallback token only when no
 * other token has that piece, then the lowest id).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gguf/gguf.h"
#include "engine/json/json_constraint.h"
#include "engine/json/json_matcher.h"
#include "engine/json/json_schema.h"
#include "engine/sampler.h"
#include "engine/tokenizer/tokenizer.h"
#include "tests/support.h"

#define LLAMA2 "llama-2-tiny-random.gguf"
#define STORIES "stories260K.gguf"
#define FORCED_CAP 256 /* bytes of forced text the constraint looks ahead */

static const char *POSITION_SCHEMA =
    "{\"type\":\"object\",\"properties\":{"
    "\"position\":{\"enum\":[\"AGREE\",\"DISAGREE\",\"UNCLEAR\"]},"
    "\"evidence_rich\":{\"enum\":[\"YES\",\"NO\"]}},"
    "\"required\":[\"position\",\"evidence_rich\"],\"additionalProperties\":false}";

/* ------------------------------------------------------------ fixture */

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* A constraint and, beside it, a matcher over the same text (the oracle's
 * view of the state). */
typedef struct fx {
    tokenizer *tok;
    json_vocab *v;
    json_schema *s;
    json_constraint *c;
    json_matcher m;
    char text[16384];
    size_t len;
    int n_vocab;
} fx;

static void fx_schema(fx *f, const char *schema, int max_ws)
{
    perr err = { { 0 } };
    json_constraint_free(f->c);
    json_schema_free(f->s);
    f->s = test_compile_schema(schema, max_ws);
    cr_assert_eq(json_constraint_new(&f->c, f->s, f->v, &err), 0, "%s", err.msg);
    json_matcher_init(&f->m, f->s);
    f->len = 0;
    f->text[0] = 0;
}

static fx *fx_open(const char *model, const char *schema, int max_ws)
{
    fx *f = calloc(1, sizeof *f);
    perr err = { { 0 } };
    f->tok = test_load_tokenizer(model);
    f->n_vocab = (int)tokenizer_n_vocab(f->tok);
    cr_assert_eq(json_vocab_new(&f->v, f->tok, &err), 0, "%s", err.msg);
    fx_schema(f, schema, max_ws);
    return f;
}

static void fx_close(fx *f)
{
    json_constraint_free(f->c);
    json_schema_free(f->s);
    json_vocab_free(f->v);
    tokenizer_free(f->tok);
    free(f);
}

static void fx_reset(fx *f)
{
    json_constraint_reset(f->c);
    json_matcher_init(&f->m, f->s);
    f->len = 0;
    f->text[0] = 0;
}

static const char *piece(const fx *f, int32_t id, size_t *len)
{
    return tokenizer_token_piece(f->tok, id, len);
}

/* Accept id (which must be allowed) in the constraint and the mirror. */
static void fx_accept(fx *f, int32_t id)
{
    perr err = { { 0 } };
    cr_assert(json_constraint_allows(f->c, id), "token %d refused after '%s'", id, f->text);
    cr_assert_eq(json_constraint_accept(f->c, id, &err), 0, "after '%s': %s", f->text, err.msg);
    if (tokenizer_is_eog(f->tok, id))
        return;
    size_t len = 0;
    const char *p = piece(f, id, &len);
    cr_assert_eq(json_matcher_advance_bytes(&f->m, p, len), 0);
    cr_assert_lt(f->len + len, sizeof f->text);
    memcpy(f->text + f->len, p, len);
    f->len += len;
    f->text[f->len] = 0;
}

/* Token i's piece if the constraint may force it (not a control,
 * unknown or end-of-generation token, not empty), else NULL; *is_byte
 * for a byte-fallback token. */
static const char *forcible_piece(const fx *f, int i, size_t *len, int *is_byte)
{
    int type = tokenizer_token_type_of(f->tok, i);
    if (type == TOKEN_TYPE_CONTROL || type == TOKEN_TYPE_UNKNOWN || tokenizer_is_eog(f->tok, i))
        return NULL;
    *is_byte = type == TOKEN_TYPE_BYTE;
    const char *p = piece(f, i, len);
    return *len > 0 ? p : NULL;
}

/* The token for exactly this piece: not a byte-fallback token when
 * another has the piece, then the lowest id; -1 if none. */
static int32_t piece_id(const fx *f, const char *want, size_t want_len)
{
    int32_t best = -1;
    int best_byte = 1;
    for (int i = 0; i < f->n_vocab; i++) {
        size_t len = 0;
        int is_byte;
        const char *p = forcible_piece(f, i, &len, &is_byte);
        if (!p || len != want_len || memcmp(p, want, len) != 0)
            continue;
        if (best < 0 || (best_byte && !is_byte)) {
            best = i;
            best_byte = is_byte;
        }
    }
    return best;
}

static int32_t token_of(const fx *f, const char *want)
{
    int32_t id = piece_id(f, want, strlen(want));
    cr_assert_geq(id, 0, "no token with the piece '%s'", want);
    return id;
}

/* ------------------------------------------------------------ oracle */

/* The text forced at m: while exactly one byte is accepted and the value
 * is not complete, up to cap bytes. */
static size_t oracle_forced(const json_matcher *m0, char *out, size_t cap)
{
    json_matcher m, t, only;
    json_matcher_copy(&m, m0);
    size_t n = 0;
    while (n < cap && !json_matcher_is_complete(&m)) {
        int found = 0, byte = -1;
        for (int b = 0; b < 256; b++) {
            json_matcher_copy(&t, &m);
            if (json_matcher_advance(&t, (unsigned char)b) == 0) {
                found++;
                byte = b;
                json_matcher_copy(&only, &t);
            }
        }
        if (found != 1)
            break;
        out[n++] = (char)byte;
        json_matcher_copy(&m, &only);
    }
    return n;
}

/* Nothing can follow m's text. */
static int oracle_no_byte(const json_matcher *m)
{
    json_matcher t;
    for (int b = 0; b < 256; b++) {
        json_matcher_copy(&t, m);
        if (json_matcher_advance(&t, (unsigned char)b) == 0)
            return 0;
    }
    return 1;
}

/* Longest-match tokenization of text (one pass over the vocabulary per
 * token); stops where no token begins. */
static size_t oracle_tokens(const fx *f, const char *text, size_t len, int32_t *out)
{
    size_t at = 0, n = 0;
    while (at < len) {
        int32_t best = -1;
        size_t best_len = 0;
        int best_byte = 1;
        for (int i = 0; i < f->n_vocab; i++) {
            size_t pl = 0;
            int is_byte;
            const char *p = forcible_piece(f, i, &pl, &is_byte);
            if (!p || pl > len - at || pl < best_len || memcmp(p, text + at, pl) != 0)
                continue;
            if (pl > best_len || (best_byte && !is_byte)) {
                best = i;
                best_len = pl;
                best_byte = is_byte;
            }
        }
        if (best < 0)
            break;
        out[n++] = best;
        at += best_len;
    }
    return n;
}

/* The queue's tokens and their bytes. */
static size_t queue_bytes(const fx *f, int32_t *ids, size_t *n_ids, char *out)
{
    *n_ids = json_constraint_forced(f->c, ids, FORCED_CAP);
    cr_assert_leq(*n_ids, FORCED_CAP);
    size_t n = 0;
    for (size_t i = 0; i < *n_ids; i++) {
        size_t pl = 0;
        const char *p = piece(f, ids[i], &pl);
        cr_assert_gt(pl, 0, "forced token %d has no bytes", ids[i]);
        cr_assert_leq(n + pl, FORCED_CAP);
        memcpy(out + n, p, pl);
        n += pl;
    }
    out[n] = 0;
    return n;
}

/* The queue holds exactly want, tokenized by the oracle. */
static void expect_forced(const fx *f, const char *want)
{
    int32_t ids[FORCED_CAP], oracle[FORCED_CAP];
    char got[FORCED_CAP + 1];
    size_t n_ids = 0, n = queue_bytes(f, ids, &n_ids, got);
    cr_assert_eq(n, strlen(want), "after '%s': forced '%s', want '%s'", f->text, got, want);
    cr_assert_str_eq(got, want, "after '%s'", f->text);
    size_t n_oracle = oracle_tokens(f, want, strlen(want), oracle);
    cr_assert_eq(n_ids, n_oracle, "after '%s': %zu forced tokens, want %zu", f->text, n_ids,
                 n_oracle);
    for (size_t i = 0; i < n_ids; i++)
        cr_assert_eq(ids[i], oracle[i], "after '%s': forced token %zu is %d, want %d", f->text,
                     i, ids[i], oracle[i]);
}

/* Accept every forced token. */
static void accept_forced(fx *f)
{
    int32_t id;
    while (json_constraint_forced(f->c, &id, 1) > 0)
        fx_accept(f, id);
}

/* mask and allows agree, and with a queue allow its head alone. */
static void expect_mask_is_queue(fx *f)
{
    uint8_t *mask = malloc((size_t)f->n_vocab);
    int count = json_constraint_mask(f->c, mask), brute = 0;
    int32_t head = -1;
    size_t queued = json_constraint_forced(f->c, &head, 1);
    for (int i = 0; i < f->n_vocab; i++) {
        int a = json_constraint_allows(f->c, i);
        brute += a;
        cr_assert_eq(a, mask[i], "after '%s': token %d: allows %d, mask %d", f->text, i, a,
                     mask[i]);
        if (queued)
            cr_assert_eq(a, i == head, "after '%s': token %d allowed beside the forced %d",
                         f->text, i, head);
    }
    cr_assert_eq(count, brute, "after '%s'", f->text);
    free(mask);
}

/* ------------------------------------------------------------ forced text */

Test(json_constraint, forced_keys_enum_rest_and_closing_in_a_compact_object)
{
    fx *f = fx_open(LLAMA2, POSITION_SCHEMA, 0);
    int32_t eos = tokenizer_eos(f->tok);
    /* One leading space is always allowed: the first byte is never forced. */
    expect_forced(f, "");
    fx_accept(f, token_of(f, "{"));
    expect_forced(f, "\"position\":\"");
    accept_forced(f);
    expect_forced(f, "");            /* A, D or U */
    fx_accept(f, token_of(f, "DI"));
    expect_forced(f, "SAGREE\",\"evidence_rich\":\"");
    accept_forced(f);
    cr_assert_str_eq(f->text, "{\"position\":\"DISAGREE\",\"evidence_rich\":\"");
    expect_forced(f, "");            /* Y or N */
    cr_assert(!json_constraint_must_end(f->c));
    fx_accept(f, token_of(f, "YES"));
    expect_forced(f, "\"}");
    int32_t close = -1;
    cr_assert_eq(json_constraint_forced(f->c, &close, 1), 1);
    cr_assert_eq(close, token_of(f, "\"}"), "\"} is one token of the Llama 2 vocabulary");
    cr_assert(!json_constraint_must_end(f->c));
    cr_assert(!json_constraint_allows(f->c, eos));
    fx_accept(f, close);
    cr_assert(json_constraint_is_complete(f->c));
    cr_assert(json_constraint_must_end(f->c), "nothing can follow the final }");
    expect_forced(f, "");
    uint8_t *mask = malloc((size_t)f->n_vocab);
    cr_assert_eq(json_constraint_mask(f->c, mask), 1);
    cr_assert(mask[eos]);
    free(mask);
    fx_accept(f, eos);
    fx_close(f);
}

Test(json_constraint, a_leading_space_then_the_value_start_is_forced)
{
    fx *f = fx_open(LLAMA2, POSITION_SCHEMA, 0);
    fx_accept(f, token_of(f, " "));
    expect_forced(f, "{\"position\":\"");
    /* reset drops the queue and plans again from the empty text */
    json_constraint_reset(f->c);
    int32_t id = -1;
    cr_assert_eq(json_constraint_forced(f->c, &id, 1), 0);
    fx_close(f);
}

Test(json_constraint, enum_rest_is_forced_once_its_prefix_is_unique)
{
    fx *f = fx_open(LLAMA2, "{\"enum\":[\"apple\",\"apricot\",\"banana\"]}", 0);
    fx_accept(f, token_of(f, "\""));
    expect_forced(f, "");            /* a or b */
    fx_accept(f, token_of(f, "b"));
    expect_forced(f, "anana\"");
    accept_forced(f);
    cr_assert(json_constraint_must_end(f->c));
    fx_reset(f);
    fx_accept(f, token_of(f, "\""));
    fx_accept(f, token_of(f, "a"));
    expect_forced(f, "p");           /* then l or r */
    accept_forced(f);
    expect_forced(f, "");
    fx_accept(f, token_of(f, "r"));
    expect_forced(f, "icot\"");
    /* A value that is a prefix of another: after "AB both " and C fit. */
    fx_schema(f, "{\"enum\":[\"AB\",\"ABC\"]}", 0);
    fx_accept(f, token_of(f, "\""));
    expect_forced(f, "AB");
    accept_forced(f);
    expect_forced(f, "");
    fx_accept(f, token_of(f, "C"));
    expect_forced(f, "\"");
    fx_close(f);
}

Test(json_constraint, nested_array_forces_only_what_max_items_leaves)
{
    fx *f = fx_open(LLAMA2, "{\"type\":\"array\",\"items\":{\"enum\":[\"A\",\"B\"]},"
                            "\"minItems\":1,\"maxItems\":2}", 0);
    fx_accept(f, token_of(f, "["));
    expect_forced(f, "\"");          /* minItems 1: no ] yet */
    accept_forced(f);
    fx_accept(f, token_of(f, "A"));
    expect_forced(f, "\"");
    accept_forced(f);
    expect_forced(f, "");            /* , or ] */
    cr_assert(!json_constraint_must_end(f->c));
    fx_accept(f, token_of(f, ","));
    expect_forced(f, "\"");
    accept_forced(f);
    fx_accept(f, token_of(f, "B"));
    expect_forced(f, "\"]");         /* maxItems reached */
    accept_forced(f);
    cr_assert_str_eq(f->text, "[\"A\",\"B\"]");
    cr_assert(json_constraint_must_end(f->c));
    fx_close(f);
}

/* ------------------------------------------------------------ must_end */

Test(json_constraint, must_end_only_when_no_byte_can_follow)
{
    fx *f = fx_open(LLAMA2, "{\"type\":\"integer\",\"minimum\":0,\"maximum\":100}", 0);
    int32_t eos = tokenizer_eos(f->tok);
    fx_accept(f, token_of(f, "5"));
    cr_assert(json_constraint_is_complete(f->c));
    cr_assert(!json_constraint_must_end(f->c), "5 may still grow to 50");
    cr_assert(json_constraint_allows(f->c, eos));
    cr_assert(json_constraint_allows(f->c, token_of(f, "0")));
    fx_reset(f);
    fx_accept(f, token_of(f, "1"));
    fx_accept(f, token_of(f, "0"));
    fx_accept(f, token_of(f, "0"));
    cr_assert(json_constraint_must_end(f->c), "100 is the maximum: no digit may follow");
    fx_schema(f, "{\"type\":\"number\"}", 0);
    fx_accept(f, token_of(f, "1"));
    fx_accept(f, token_of(f, "2"));
    cr_assert(json_constraint_is_complete(f->c));
    cr_assert(!json_constraint_must_end(f->c), "12 may become 12.5 or 123");
    fx_accept(f, token_of(f, "."));
    cr_assert(!json_constraint_is_complete(f->c));
    cr_assert(!json_constraint_must_end(f->c));
    fx_schema(f, "{\"type\":\"boolean\"}", 0);
    fx_accept(f, token_of(f, "t"));
    expect_forced(f, "rue");
    cr_assert(!json_constraint_must_end(f->c));
    accept_forced(f);
    cr_assert(json_constraint_must_end(f->c));
    fx_close(f);
}

/* ------------------------------------------------------------ the queue */

Test(json_constraint, only_the_head_is_allowed_masked_sampled_and_accepted)
{
    fx *f = fx_open(LLAMA2, POSITION_SCHEMA, 0);
    perr err = { { 0 } };
    fx_accept(f, token_of(f, "{"));
    int32_t ids[FORCED_CAP];
    size_t total = json_constraint_forced(f->c, ids, FORCED_CAP);
    cr_assert_geq(total, 2);
    int32_t one[2] = { -7, -7 };
    cr_assert_eq(json_constraint_forced(f->c, one, 1), total, "returns the count in all");
    cr_assert_eq(one[0], ids[0]);
    cr_assert_eq(one[1], -7, "writes at most max tokens");
    cr_assert_eq(json_constraint_forced(f->c, NULL, 0), total, "only the count");
    expect_mask_is_queue(f);
    /* A token the matcher would take but the queue does not hold: the
     * byte-fallback token for " (the queue uses the normal one). */
    int32_t other = -1;
    for (int i = 0; i < f->n_vocab && other < 0; i++) {
        size_t pl = 0;
        const char *p = piece(f, i, &pl);
        if (tokenizer_token_type_of(f->tok, i) == TOKEN_TYPE_BYTE && pl == 1 && p[0] == '"')
            other = i;
    }
    cr_assert_geq(other, 0);
    cr_assert_neq(other, ids[0]);
    cr_assert_eq(ids[0], token_of(f, "\""), "a normal token, not the byte-fallback one");
    json_matcher t;
    json_matcher_copy(&t, &f->m);
    cr_assert_eq(json_matcher_advance(&t, '"'), 0);
    cr_assert(!json_constraint_allows(f->c, other));
    cr_assert_neq(json_constraint_accept(f->c, other, &err), 0, "a non-head token accepted");
    cr_assert(strstr(err.msg, "forced"), "%s", err.msg);
    cr_assert_eq(json_constraint_forced(f->c, one, 1), total, "a refused token changes nothing");
    /* Sampling, greedy or not, whatever the logits, gives the head. */
    float *logits = malloc((size_t)f->n_vocab * sizeof *logits);
    uint64_t x = 99;
    for (size_t k = 0; k < total; k++) {
        for (int i = 0; i < f->n_vocab; i++)
            logits[i] = (float)(rnd(&x) % 2000) / 100.0f;
        logits[other] = 1e6f;
        sampler_params sp = sampler_default_params();
        sp.temp = k % 2 ? 0.0f : 0.9f;
        sp.seed = k;
        sampler *smp = NULL;
        cr_assert_eq(sampler_new(&smp, &sp, f->n_vocab, &err), 0, "%s", err.msg);
        int32_t id = -1;
        cr_assert_eq(json_constraint_sample(f->c, smp, logits, -1, &id, &err), 0, "%s",
                     err.msg);
        cr_assert_eq(id, ids[k], "sampled %d, forced %d", id, ids[k]);
        cr_assert_eq(json_constraint_forced(f->c, one, 1), total - k - 1, "accept pops the head");
        sampler_free(smp);
        size_t pl = 0;
        const char *p = piece(f, id, &pl);
        json_matcher_advance_bytes(&f->m, p, pl);
        memcpy(f->text + f->len, p, pl);
        f->len += pl;
        f->text[f->len] = 0;
        if (k + 1 < total)
            expect_mask_is_queue(f);
    }
    cr_assert_str_eq(f->text, "{\"position\":\"");
    free(logits);
    fx_close(f);
}

/* Under a budget of exactly the bytes still needed, sampling still closes
 * the value: each forced token eats at least one byte. */
Test(json_constraint, forced_tokens_fit_a_budget_at_its_edge)
{
    fx *f = fx_open(LLAMA2, POSITION_SCHEMA, 0);
    perr err = { { 0 } };
    fx_accept(f, token_of(f, "{"));
    long need = (long)json_constraint_min_remaining(f->c);
    int32_t head = -1;
    cr_assert_gt(json_constraint_forced(f->c, &head, 1), 0);
    json_constraint_set_budget(f->c, need);
    expect_mask_is_queue(f);
    cr_assert(json_constraint_allows(f->c, head), "the forced head must fit the budget");
    size_t head_len = 0;
    piece(f, head, &head_len);
    json_constraint_set_budget(f->c, need - 1);
    cr_assert_eq(json_constraint_allows(f->c, head), need - (long)head_len <= need - 2,
                 "the budget rule applies to the forced head too");
    json_constraint_set_budget(f->c, -1);
    float *logits = malloc((size_t)f->n_vocab * sizeof *logits);
    for (uint64_t seed = 0; seed < 6; seed++) {
        fx_reset(f);
        uint64_t x = seed + 1;
        sampler_params sp = sampler_default_params();
        sp.temp = 1.0f;
        sp.top_k = 0;
        sp.min_p = 0.0f;
        sp.seed = seed;
        sampler *smp = NULL;
        cr_assert_eq(sampler_new(&smp, &sp, f->n_vocab, &err), 0, "%s", err.msg);
        long left = (long)json_constraint_min_remaining(f->c) + (long)(seed % 2);
        int32_t eos = tokenizer_eos(f->tok), id = -1;
        int ended = 0;
        for (; left > 0 && !ended; left--) {
            for (int i = 0; i < f->n_vocab; i++)
                logits[i] = (float)(rnd(&x) % 1000) / 100.0f;
            cr_assert_eq(json_constraint_sample(f->c, smp, logits, left, &id, &err), 0,
                         "seed %lu, %ld left: %s", (unsigned long)seed, left, err.msg);
            ended = id == eos;
        }
        cr_assert(json_constraint_is_complete(f->c), "seed %lu", (unsigned long)seed);
        sampler_free(smp);
    }
    free(logits);
    fx_close(f);
}

/* ------------------------------------------------------------ property */

static const char *const NAMES[] = { "a", "ab", "abc", "id", "name", "key_points", "x" };
static const char *const WORDS[] = { "AGREE", "DISAGREE", "DIS", "UNCLEAR", "YES", "NO", "Y",
                                     "p1", "p12", "" };

static void put(char *out, size_t cap, const char *s)
{
    size_t n = strlen(out);
    cr_assert_lt(n + strlen(s), cap, "schema too long");
    memcpy(out + n, s, strlen(s) + 1);
}

/* A random schema of the supported subset (depth-limited). */
static void gen_schema(uint64_t *x, int depth, char *out, size_t cap)
{
    char buf[128];
    switch (rnd(x) % (depth > 2 ? 5 : 8)) {
    case 0: {
        put(out, cap, "{\"enum\":[");
        int n = 1 + (int)(rnd(x) % 4), first = (int)(rnd(x) % 10);
        for (int i = 0; i < n; i++) {
            snprintf(buf, sizeof buf, "%s\"%s\"", i ? "," : "", WORDS[(first + i) % 10]);
            put(out, cap, buf);
        }
        put(out, cap, rnd(x) % 3 ? "]}" : ",null,true]}");
        break;
    }
    case 1:
        snprintf(buf, sizeof buf, "{\"type\":\"string\",\"maxLength\":%d}", (int)(rnd(x) % 6));
        put(out, cap, buf);
        break;
    case 2: {
        int lo = (int)(rnd(x) % 120) - 20;
        snprintf(buf, sizeof buf, "{\"type\":\"integer\",\"minimum\":%d,\"maximum\":%d}", lo,
                 lo + (int)(rnd(x) % 200));
        put(out, cap, buf);
        break;
    }
    case 3:
        put(out, cap, rnd(x) % 2 ? "{\"type\":\"boolean\"}" : "{\"const\":\"fixed\"}");
        break;
    case 4:
        put(out, cap, "{\"type\":[\"string\",\"null\"],\"maxLength\":3}");
        break;
    case 5:
    case 6: {
        put(out, cap, "{\"type\":\"object\",\"properties\":{");
        int n = 1 + (int)(rnd(x) % 3), first = (int)(rnd(x) % 7);
        char req[256] = "";
        for (int i = 0; i < n; i++) {
            const char *name = NAMES[(first + i) % 7];
            snprintf(buf, sizeof buf, "%s\"%s\":", i ? "," : "", name);
            put(out, cap, buf);
            gen_schema(x, depth + 1, out, cap);
            if (rnd(x) % 3) {
                snprintf(buf, sizeof buf, "%s\"%s\"", req[0] ? "," : "", name);
                put(req, sizeof req, buf);
            }
        }
        put(out, cap, "},\"required\":[");
        put(out, cap, req);
        put(out, cap, "],\"additionalProperties\":false}");
        break;
    }
    default: {
        put(out, cap, "{\"type\":\"array\",\"items\":");
        gen_schema(x, depth + 1, out, cap);
        int lo = (int)(rnd(x) % 3);
        snprintf(buf, sizeof buf, ",\"minItems\":%d,\"maxItems\":%d}", lo, lo + (int)(rnd(x) % 3));
        put(out, cap, buf);
        break;
    }
    }
}

/* One random walk: at every step the queue is the oracle's forced text in
 * the oracle's tokens (when it begins; later what is left of it), its head
 * is the only token the mask allows, and must_end matches the definition. */
static int property_walk(fx *f, uint64_t *x, uint8_t *mask, int32_t *ok)
{
    int forced_steps = 0;
    fx_reset(f);
    long budget = (long)json_schema_min_length(f->s) + (long)(rnd(x) % 12);
    int fresh = 1, ended = 0;
    for (; budget > 0 && !ended; budget--) {
        json_constraint_set_budget(f->c, budget);
        int32_t ids[FORCED_CAP], oracle[FORCED_CAP];
        char got[FORCED_CAP + 1], want[FORCED_CAP + 1];
        size_t n_ids = 0, n = queue_bytes(f, ids, &n_ids, got);
        size_t wn = oracle_forced(&f->m, want, FORCED_CAP);
        want[wn] = 0;
        cr_assert_leq(n, wn, "after '%s': forced '%s' beyond the forced text '%s'", f->text,
                      got, want);
        cr_assert(memcmp(got, want, n) == 0, "after '%s': forced '%s', text '%s'", f->text,
                  got, want);
        if (fresh) {
            cr_assert_eq(n, wn, "after '%s': forced '%s', want '%s'", f->text, got, want);
            size_t n_oracle = oracle_tokens(f, want, wn, oracle);
            cr_assert_eq(n_ids, n_oracle, "after '%s'", f->text);
            for (size_t i = 0; i < n_ids; i++)
                cr_assert_eq(ids[i], oracle[i], "after '%s': token %zu", f->text, i);
        }
        cr_assert_eq(json_constraint_must_end(f->c),
                     json_matcher_is_complete(&f->m) && oracle_no_byte(&f->m), "after '%s'",
                     f->text);
        int k = json_constraint_mask(f->c, mask), m = 0;
        cr_assert_gt(k, 0, "no token allowed after '%s' (budget %ld)", f->text, budget);
        for (int i = 0; i < f->n_vocab; i++)
            if (mask[i])
                ok[m++] = i;
        if (n_ids) {
            forced_steps++;
            cr_assert_eq(k, 1, "after '%s': %d tokens allowed beside the forced %d", f->text,
                         k, ids[0]);
            cr_assert_eq(ok[0], ids[0]);
            cr_assert(json_constraint_allows(f->c, ids[0]));
        }
        int32_t id = ok[rnd(x) % (unsigned)m];
        fx_accept(f, id);
        ended = tokenizer_is_eog(f->tok, id);
        fresh = n_ids <= 1;
    }
    cr_assert(ended || json_constraint_is_complete(f->c), "incomplete: '%s'", f->text);
    perr err = { { 0 } };
    cr_assert_eq(json_schema_validate_text(f->s, f->text, f->len, &err), 0, "'%s': %s", f->text,
                 err.msg);
    return forced_steps;
}

static void property(const char *model, int schemas, int walks, uint64_t seed)
{
    fx *f = fx_open(model, "{\"type\":\"boolean\"}", 0);
    uint8_t *mask = malloc((size_t)f->n_vocab);
    int32_t *ok = malloc((size_t)f->n_vocab * sizeof *ok);
    uint64_t x = seed;
    int with_queue = 0, forced_steps = 0;
    for (int i = 0; i < schemas; i++) {
        char text[8192] = "";
        gen_schema(&x, 0, text, sizeof text);
        fx_schema(f, text, i % 4 == 3 ? 1 : 0);
        if (i < 3)
            cr_log_info("schema: %s", text);
        for (int w = 0; w < walks; w++) {
            int k = property_walk(f, &x, mask, ok);
            with_queue += k > 0;
            forced_steps += k;
        }
    }
    cr_log_info("%s: %d of %d walks had forced tokens, %d forced steps", model, with_queue,
                schemas * walks, forced_steps);
    cr_assert_gt(with_queue, schemas * walks / 2, "too few walks had a forced token");
    free(mask);
    free(ok);
    fx_close(f);
}

Test(json_constraint, random_schemas_queue_is_the_forced_text_and_the_mask, .timeout = 600)
{
    property(LLAMA2, 150, 4, 7);
}

Test(json_constraint, random_schemas_queue_stories_vocab, .timeout = 600)
{
    property(STORIES, 200, 4, 11);
}
