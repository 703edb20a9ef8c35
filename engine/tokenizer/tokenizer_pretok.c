/* tokenizer_pretok.c — regex pre-tokenizers of byte-level BPE vocabularies.
 *
 * A pre-tokenizer is a list of regexes (GLib GRegex, i.e. PCRE2 with Unicode
 * properties), applied in turn as llama.cpp does: each regex splits every
 * piece left by the previous one into its matches and the gaps between
 * them (gaps are kept as pieces too). Invalid UTF-8 bytes are never handed
 * to the regex engine: each one is a piece of its own.
 *
 * Names (tokenizer.ggml.pre) and patterns:
 *   default, gpt2, gpt-2 : the GPT-2 pattern
 *   llama3, llama-bpe    : the Llama 3 pattern (digits in groups of 1-3);
 *                          whole words found in the vocabulary skip merging
 *   smollm               : single digits, then the GPT-2 pattern
 *   qwen2                : the Llama 3 pattern with single digits
 */
#include "engine/tokenizer/tokenizer_internal.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"

#define GPT2_PATTERN \
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
#define LLAMA3_PATTERN(digits)                                                   \
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"                \
    "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}" digits                              \
    "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

#define PRETOK_MAX_REGEXES 2

typedef struct pretok_def {
    const char *names[3];
    const char *patterns[PRETOK_MAX_REGEXES];
    pretok_info info;
} pretok_def;

static const pretok_def PRETOK_DEFS[] = {
    { { "default", "gpt2", "gpt-2" }, { GPT2_PATTERN, NULL }, { 0, 0 } },
    { { "llama3", "llama-bpe", NULL }, { LLAMA3_PATTERN("{1,3}"), NULL }, { 1, 1 } },
    { { "smollm", NULL, NULL }, { "\\p{N}", GPT2_PATTERN }, { 0, 0 } },
    { { "qwen2", NULL, NULL }, { LLAMA3_PATTERN(""), NULL }, { 0, 0 } },
};

struct pretok {
    GRegex *re[PRETOK_MAX_REGEXES];
    int n_re;
};

static const pretok_def *find_def(const char *name)
{
    for (size_t i = 0; i < sizeof PRETOK_DEFS / sizeof PRETOK_DEFS[0]; i++)
        for (int k = 0; k < 3 && PRETOK_DEFS[i].names[k]; k++)
            if (strcmp(PRETOK_DEFS[i].names[k], name) == 0)
                return &PRETOK_DEFS[i];
    return NULL;
}

int pretok_new(pretok **out, const char *name, pretok_info *info, perr *err)
{
    *out = NULL;
    const pretok_def *def = find_def(name);
    if (!def)
        return perr_set(err, "unsupported BPE pre-tokenizer \"%s\"", name);
    pretok *p = calloc(1, sizeof *p);
    if (!p)
        return perr_set(err, "out of memory");
    for (int i = 0; i < PRETOK_MAX_REGEXES && def->patterns[i]; i++) {
        GError *gerr = NULL;
        p->re[i] = g_regex_new(def->patterns[i], G_REGEX_OPTIMIZE, 0, &gerr);
        if (!p->re[i]) {
            perr_set(err, "pre-tokenizer %s: regex does not compile: %s", name,
                     gerr ? gerr->message : "unknown error");
            g_clear_error(&gerr);
            pretok_free(p);
            return -1;
        }
        p->n_re++;
    }
    *info = def->info;
    *out = p;
    return 0;
}

void pretok_free(pretok *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_re; i++)
        g_regex_unref(p->re[i]);
    free(p);
}

typedef struct piece {
    size_t off, len;
    int fixed;  /* an invalid byte: no regex sees it */
} piece;

typedef struct piece_vec {
    piece *v;
    size_t n, cap;
} piece_vec;

static int piece_push(piece_vec *pv, size_t off, size_t len, int fixed)
{
    if (len == 0)
        return 0;
    piece *v = grow_to(pv->v, &pv->cap, pv->n + 1, sizeof *v, 64);
    if (!v)
        return -1;
    pv->v = v;
    pv->v[pv->n++] = (piece){ off, len, fixed };
    return 0;
}

/* Runs of valid UTF-8, with each invalid byte a fixed piece of its own. */
static int split_valid_utf8(const char *text, size_t len, piece_vec *out)
{
    size_t run = 0, i = 0;
    while (i < len) {
        size_t n = utf8_char_len(text + i, len - i);
        if (n == 1 && (unsigned char)text[i] >= 0x80) {
            if (piece_push(out, run, i - run, 0) < 0 || piece_push(out, i, 1, 1) < 0)
                return -1;
            run = i + 1;
        }
        i += n;
    }
    return piece_push(out, run, len - run, 0);
}

/* Matches of re inside one piece, and the gaps between them. */
static int split_piece(const GRegex *re, const char *text, const piece *pc, piece_vec *out)
{
    GMatchInfo *mi = NULL;
    size_t done = 0;
    int rc = 0;
    g_regex_match_full(re, text + pc->off, (gssize)pc->len, 0, 0, &mi, NULL);
    while (rc == 0 && g_match_info_matches(mi)) {
        gint start, end;
        if (!g_match_info_fetch_pos(mi, 0, &start, &end) || (size_t)start < done ||
            end <= start)
            break;
        rc = piece_push(out, pc->off + done, (size_t)start - done, 0);
        if (rc == 0)
            rc = piece_push(out, pc->off + (size_t)start, (size_t)(end - start), 0);
        done = (size_t)end;
        g_match_info_next(mi, NULL);
    }
    g_match_info_free(mi);
    if (rc == 0)
        rc = piece_push(out, pc->off + done, pc->len - done, 0);
    return rc;
}

int pretok_split(const pretok *p, const char *text, size_t len,
                 int (*word)(const char *w, size_t n, void *ctx), void *ctx)
{
    piece_vec cur = { 0 }, next = { 0 };
    int rc = split_valid_utf8(text, len, &cur);
    for (int r = 0; rc == 0 && r < p->n_re; r++) {
        next.n = 0;
        for (size_t i = 0; rc == 0 && i < cur.n; i++)
            rc = cur.v[i].fixed ? piece_push(&next, cur.v[i].off, cur.v[i].len, 1)
                                : split_piece(p->re[r], text, &cur.v[i], &next);
        piece_vec tmp = cur;
        cur = next;
        next = tmp;
    }
    for (size_t i = 0; rc == 0 && i < cur.n; i++)
        rc = word(text + cur.v[i].off, cur.v[i].len, ctx);
    free(cur.v);
    free(next.v);
    return rc;
}
