/* json_constraint.c — token-level JSON schema constraint: the vocabulary
 * trie, per-token tests, whole-vocabulary masks, the closing budget and the
 * queue of forced tokens (see json_constraint.h; the forced text itself is
 * json_forced.c's).
 */
#include "engine/json/json_constraint.h"

#include <stdlib.h>
#include <string.h>

#include "engine/json/json_forced.h"
#include "engine/json/json_matcher.h"
#include "engine/json/json_schema_internal.h"

enum { TOK_NEVER, TOK_TEXT, TOK_EOG };

/* A trie node: the tokens whose piece is exactly this prefix are
 * ids[end_at, end_at + n_end); children are nodes[first_child ..+n_children). */
typedef struct trie_node {
    uint32_t first_child;
    uint32_t end_at;
    uint16_t n_children;
    uint8_t byte;
    uint32_t n_end;
} trie_node;

struct json_vocab {
    int n_vocab;
    uint8_t *kind;            /* TOK_* per token */
    size_t *off, *len;        /* piece of token i: arena[off[i] .. +len[i]) */
    char *arena;
    int32_t *ids;             /* TOK_TEXT tokens sorted by piece, then byte-fallback
                                 tokens last, then id */
    int32_t *plain, *other;   /* TOK_TEXT tokens that are / are not plain text */
    uint32_t n_plain, n_other;
    uint16_t *cps;            /* code points of each plain token */
    trie_node *nodes;
    uint32_t n_nodes;
    size_t max_len;           /* longest piece */
};

struct json_constraint {
    const json_vocab *v;
    const json_schema *schema;
    json_matcher m;           /* the text so far */
    long budget;              /* < 0: none */
    json_matcher *scratch;    /* [max_len + 2]: trie walk states */
    uint32_t *walk_node, *walk_child;
    int32_t forced[JSON_FORCED_MAX]; /* forced tokens; [forced_at, n_forced) to come */
    size_t n_forced, forced_at;
};

/* ---------------------------------------------------------------- vocabulary */

typedef struct sort_ctx {
    const json_vocab *v;
    const uint8_t *byte_tok;  /* 1 for byte-fallback tokens (<0x22>) */
} sort_ctx;

/* By piece; on equal pieces a byte-fallback token after the others, then
 * by id: the first token of a trie node is the one forced text uses. */
static int piece_cmp(const void *a, const void *b, void *arg)
{
    const sort_ctx *sc = arg;
    const json_vocab *v = sc->v;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    size_t n = v->len[x] < v->len[y] ? v->len[x] : v->len[y];
    int c = memcmp(v->arena + v->off[x], v->arena + v->off[y], n);
    if (c)
        return c;
    if (v->len[x] != v->len[y])
        return v->len[x] < v->len[y] ? -1 : 1;
    if (sc->byte_tok[x] != sc->byte_tok[y])
        return sc->byte_tok[x] < sc->byte_tok[y] ? -1 : 1;
    return (x > y) - (x < y);
}

static int copy_pieces(json_vocab *v, const tokenizer *tok, uint8_t *byte_tok, size_t *n_text)
{
    size_t total = 0, n = (size_t)v->n_vocab;
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        tokenizer_token_piece(tok, (int32_t)i, &len);
        total += len;
    }
    v->arena = malloc(total + 1);
    if (!v->arena)
        return -1;
    size_t at = 0;
    *n_text = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        const char *p = tokenizer_token_piece(tok, (int32_t)i, &len);
        int type = tokenizer_token_type_of(tok, (int32_t)i);
        byte_tok[i] = type == TOKEN_TYPE_BYTE;
        memcpy(v->arena + at, p, len);
        v->off[i] = at;
        v->len[i] = len;
        at += len;
        if (tokenizer_is_eog(tok, (int32_t)i))
            v->kind[i] = TOK_EOG;
        else if (len == 0 || type == TOKEN_TYPE_CONTROL || type == TOKEN_TYPE_UNKNOWN)
            v->kind[i] = TOK_NEVER;
        else
            v->kind[i] = TOK_TEXT;
        if (v->kind[i] == TOK_TEXT) {
            v->ids[(*n_text)++] = (int32_t)i;
            if (len > v->max_len)
                v->max_len = len;
        }
    }
    return 0;
}

/* Plain text: complete UTF-8 without quotes, backslashes or control bytes;
 * returns its code points, or -1. */
static long plain_code_points(const unsigned char *p, size_t n)
{
    utf8_stream u = { 0 };
    long cps = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] == '"' || p[i] == '\\')
            return -1;
        int lead = u.need == 0;
        if (utf8_stream_step(&u, p[i]) != 0)
            return -1;
        cps += lead;
    }
    return u.need ? -1 : cps;
}

/* Split the text tokens into plain text and the rest. */
static void classify_plain(json_vocab *v)
{
    for (int i = 0; i < v->n_vocab; i++) {
        if (v->kind[i] != TOK_TEXT)
            continue;
        long cps = plain_code_points((const unsigned char *)v->arena + v->off[i], v->len[i]);
        if (cps >= 0 && cps <= UINT16_MAX) {
            v->cps[i] = (uint16_t)cps;
            v->plain[v->n_plain++] = i;
        } else {
            v->other[v->n_other++] = i;
        }
    }
}

/* Growable arrays for the trie build. */
typedef struct trie_build {
    trie_node *nodes;
    uint32_t *range_end, *depth;
    size_t n, cap;
} trie_build;

static int trie_push(trie_build *t, trie_node node, uint32_t range_end, uint32_t depth)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 1024;
        trie_node *g = realloc(t->nodes, cap * sizeof *g);
        if (!g)
            return -1;
        t->nodes = g;
        uint32_t *r = realloc(t->range_end, cap * sizeof *r);
        if (!r)
            return -1;
        t->range_end = r;
        uint32_t *d = realloc(t->depth, cap * sizeof *d);
        if (!d)
            return -1;
        t->depth = d;
        t->cap = cap;
    }
    t->nodes[t->n] = node;
    t->range_end[t->n] = range_end;
    t->depth[t->n] = depth;
    t->n++;
    return 0;
}

/* Breadth first: each node's children are appended together. A node's
 * tokens are ids[a, b) (all sharing its prefix of length depth); the ones
 * ending here come first in sorted order. */
static int build_trie(json_vocab *v, size_t n_text)
{
    trie_build t = { 0 };
    int rc = trie_push(&t, (trie_node){ .end_at = 0 }, (uint32_t)n_text, 0);
    for (size_t k = 0; rc == 0 && k < t.n; k++) {
        uint32_t a = t.nodes[k].end_at, b = t.range_end[k], d = t.depth[k];
        uint32_t i = a;
        while (i < b && v->len[v->ids[i]] == d)
            i++;
        t.nodes[k].n_end = i - a;
        t.nodes[k].first_child = (uint32_t)t.n;
        while (i < b && rc == 0) {
            unsigned char c = (unsigned char)v->arena[v->off[v->ids[i]] + d];
            uint32_t j = i;
            while (j < b && (unsigned char)v->arena[v->off[v->ids[j]] + d] == c)
                j++;
            rc = trie_push(&t, (trie_node){ .byte = c, .end_at = i }, j, d + 1);
            t.nodes[k].n_children++;
            i = j;
        }
    }
    v->nodes = t.nodes;
    v->n_nodes = (uint32_t)t.n;
    free(t.range_end);
    free(t.depth);
    return rc;
}

int json_vocab_new(json_vocab **out, const tokenizer *tok, perr *err)
{
    *out = NULL;
    size_t n = tokenizer_n_vocab(tok);
    if (n == 0 || n > (size_t)INT32_MAX)
        return perr_set(err, "json constraint: vocabulary of %zu tokens", n);
    json_vocab *v = calloc(1, sizeof *v);
    if (!v)
        return perr_set(err, "out of memory building the json token index");
    v->n_vocab = (int)n;
    v->kind = calloc(n, 1);
    v->off = malloc(n * sizeof *v->off);
    v->len = malloc(n * sizeof *v->len);
    v->ids = malloc(n * sizeof *v->ids);
    v->plain = malloc(n * sizeof *v->plain);
    v->other = malloc(n * sizeof *v->other);
    v->cps = calloc(n, sizeof *v->cps);
    uint8_t *byte_tok = malloc(n);
    size_t n_text = 0;
    if (!v->kind || !v->off || !v->len || !v->ids || !v->plain || !v->other || !v->cps ||
        !byte_tok || copy_pieces(v, tok, byte_tok, &n_text) != 0) {
        free(byte_tok);
        json_vocab_free(v);
        return perr_set(err, "out of memory building the json token index");
    }
    classify_plain(v);
    sort_ctx sc = { v, byte_tok };
    qsort_r(v->ids, n_text, sizeof *v->ids, piece_cmp, &sc);
    free(byte_tok);
    if (build_trie(v, n_text) != 0) {
        json_vocab_free(v);
        return perr_set(err, "out of memory building the json token index");
    }
    *out = v;
    return 0;
}

void json_vocab_free(json_vocab *v)
{
    if (!v)
        return;
    free(v->kind);
    free(v->off);
    free(v->len);
    free(v->arena);
    free(v->ids);
    free(v->plain);
    free(v->other);
    free(v->cps);
    free(v->nodes);
    free(v);
}

int json_vocab_n_vocab(const json_vocab *v) { return v->n_vocab; }

/* The child of trie node k for byte b, or 0 (the root is nobody's child);
 * children are in byte order. */
static uint32_t trie_child(const json_vocab *v, uint32_t k, unsigned char b)
{
    const trie_node *nd = &v->nodes[k];
    uint32_t lo = nd->first_child, hi = lo + nd->n_children, end = hi;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (v->nodes[mid].byte < b)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < end && v->nodes[lo].byte == b ? lo : 0;
}

/* The longest token piece that p[0..n) begins with: its length (0: none)
 * and in *id the node's first token (see piece_cmp). */
static size_t longest_piece(const json_vocab *v, const char *p, size_t n, int32_t *id)
{
    size_t best = 0;
    uint32_t k = 0;
    for (size_t i = 0; i < n; i++) {
        k = trie_child(v, k, (unsigned char)p[i]);
        if (k == 0)
            break;
        if (v->nodes[k].n_end) {
            best = i + 1;
            *id = v->ids[v->nodes[k].end_at];
        }
    }
    return best;
}

/* ---------------------------------------------------------------- constraint */

/* A forced text begins at the current state: tokenize it once, longest
 * piece first; the queue stops where no token begins. */
static void plan_forced(json_constraint *c)
{
    char text[JSON_FORCED_MAX];
    size_t n = json_forced_text(&c->m, text, sizeof text), at = 0;
    c->n_forced = c->forced_at = 0;
    while (at < n) {
        int32_t id = -1;
        size_t len = longest_piece(c->v, text + at, n - at, &id);
        if (len == 0)
            break;
        c->forced[c->n_forced++] = id;
        at += len;
    }
}

static int forcing(const json_constraint *c) { return c->forced_at < c->n_forced; }

int json_constraint_new(json_constraint **out, const json_schema *s, const json_vocab *v,
                        perr *err)
{
    *out = NULL;
    json_constraint *c = calloc(1, sizeof *c);
    if (!c)
        return perr_set(err, "out of memory for a json constraint");
    c->v = v;
    c->schema = s;
    c->budget = -1;
    size_t levels = v->max_len + 2;
    c->scratch = malloc(levels * sizeof *c->scratch);
    c->walk_node = malloc(levels * sizeof *c->walk_node);
    c->walk_child = malloc(levels * sizeof *c->walk_child);
    if (!c->scratch || !c->walk_node || !c->walk_child) {
        json_constraint_free(c);
        return perr_set(err, "out of memory for a json constraint");
    }
    json_matcher_init(&c->m, s);
    plan_forced(c);
    *out = c;
    return 0;
}

void json_constraint_free(json_constraint *c)
{
    if (!c)
        return;
    free(c->scratch);
    free(c->walk_node);
    free(c->walk_child);
    free(c);
}

void json_constraint_reset(json_constraint *c)
{
    json_matcher_init(&c->m, c->schema);
    plan_forced(c);
}

void json_constraint_set_budget(json_constraint *c, long tokens) { c->budget = tokens; }

size_t json_constraint_forced(const json_constraint *c, int32_t *out, size_t max)
{
    size_t n = c->n_forced - c->forced_at;
    if (n && max)
        memcpy(out, c->forced + c->forced_at, (n < max ? n : max) * sizeof *out);
    return n;
}

int json_constraint_must_end(const json_constraint *c) { return json_forced_must_end(&c->m); }

int json_constraint_is_complete(const json_constraint *c) { return json_matcher_is_complete(&c->m); }

size_t json_constraint_min_remaining(const json_constraint *c)
{
    return json_matcher_min_remaining(&c->m);
}

/* After a text token: can the value still be closed in the tokens left? */
static int within_budget(const json_constraint *c, const json_matcher *after)
{
    if (c->budget < 0)
        return 1;
    if (c->budget < 1)
        return 0;
    return json_matcher_min_remaining(after) <= (size_t)(c->budget - 1);
}

int json_constraint_allows(json_constraint *c, int32_t id)
{
    const json_vocab *v = c->v;
    if (id < 0 || id >= v->n_vocab)
        return 0;
    if (forcing(c) && id != c->forced[c->forced_at])
        return 0;
    if (v->kind[id] == TOK_EOG)
        return json_matcher_is_complete(&c->m);
    if (v->kind[id] != TOK_TEXT || c->budget == 0)
        return 0;
    json_matcher *t = &c->scratch[0];
    json_matcher_copy(t, &c->m);
    if (json_matcher_advance_bytes(t, v->arena + v->off[id], v->len[id]) != 0)
        return 0;
    return within_budget(c, t);
}

/* Inside string text most tokens are plain text: judge those from their
 * code point count, run only the others through the matcher. */
static int mask_in_string(json_constraint *c, uint8_t *mask, long room, size_t short_by,
                          size_t rest)
{
    const json_vocab *v = c->v;
    int count = 0;
    for (uint32_t k = 0; k < v->n_plain; k++) {
        int32_t id = v->plain[k];
        size_t cps = v->cps[id];
        if (room >= 0 && (long)cps > room)
            continue;
        size_t after = js_add(short_by > cps ? short_by - cps : 0, rest);
        if (c->budget >= 0 && after > (size_t)(c->budget - 1))
            continue;
        mask[id] = 1;
        count++;
    }
    for (uint32_t k = 0; k < v->n_other; k++)
        if (json_constraint_allows(c, v->other[k])) {
            mask[v->other[k]] = 1;
            count++;
        }
    return count;
}

int json_constraint_mask(json_constraint *c, uint8_t *mask)
{
    const json_vocab *v = c->v;
    int count = 0;
    memset(mask, 0, (size_t)v->n_vocab);
    if (forcing(c)) {
        int32_t head = c->forced[c->forced_at];
        mask[head] = (uint8_t)json_constraint_allows(c, head);
        return mask[head];
    }
    int complete = json_matcher_is_complete(&c->m);
    for (int i = 0; i < v->n_vocab; i++)
        if (v->kind[i] == TOK_EOG && complete) {
            mask[i] = 1;
            count++;
        }
    if (c->budget == 0)
        return count;
    long room;
    size_t short_by, rest;
    if (json_matcher_in_string_text(&c->m, &room, &short_by, &rest))
        return count + mask_in_string(c, mask, room, short_by, rest);
    json_matcher *st = c->scratch;
    json_matcher_copy(&st[0], &c->m);
    int d = 0;
    c->walk_node[0] = 0;
    c->walk_child[0] = 0;
    while (d >= 0) {
        const trie_node *nd = &v->nodes[c->walk_node[d]];
        if (c->walk_child[d] == nd->n_children) {
            d--;
            continue;
        }
        uint32_t ci = nd->first_child + c->walk_child[d]++;
        const trie_node *ch = &v->nodes[ci];
        json_matcher_copy(&st[d + 1], &st[d]);
        if (json_matcher_advance(&st[d + 1], ch->byte) != 0)
            continue;
        if (ch->n_end && within_budget(c, &st[d + 1]))
            for (uint32_t k = 0; k < ch->n_end; k++) {
                mask[v->ids[ch->end_at + k]] = 1;
                count++;
            }
        if (ch->n_children) {
            d++;
            c->walk_node[d] = ci;
            c->walk_child[d] = 0;
        }
    }
    return count;
}

int json_constraint_accept(json_constraint *c, int32_t id, perr *err)
{
    const json_vocab *v = c->v;
    if (id < 0 || id >= v->n_vocab)
        return perr_set(err, "json constraint: token %d is outside the vocabulary", id);
    if (forcing(c) && id != c->forced[c->forced_at])
        return perr_set(err, "json constraint: token %d given where token %d is forced", id,
                        c->forced[c->forced_at]);
    if (v->kind[id] == TOK_EOG) {
        if (!json_matcher_is_complete(&c->m))
            return perr_set(err, "json constraint: generation ended before the JSON value "
                                 "was complete");
        return 0;
    }
    if (v->kind[id] != TOK_TEXT)
        return perr_set(err, "json constraint: token %d has no text", id);
    json_matcher *t = &c->scratch[0];
    json_matcher_copy(t, &c->m);
    if (json_matcher_advance_bytes(t, v->arena + v->off[id], v->len[id]) != 0)
        return perr_set(err, "json constraint: token %d does not fit the schema here", id);
    json_matcher_copy(&c->m, t);
    if (forcing(c))
        c->forced_at++;
    if (!forcing(c))
        plan_forced(c);
    return 0;
}

/* ---------------------------------------------------------------- sampling */

static int filter_allow(void *user, int32_t id) { return json_constraint_allows(user, id); }
static int filter_mask(void *user, uint8_t *mask) { return json_constraint_mask(user, mask); }

int json_constraint_sample(json_constraint *c, sampler *smp, const float *logits,
                           long tokens_left, int32_t *id, perr *err)
{
    json_constraint_set_budget(c, tokens_left);
    const sampler_filter f = { .user = c, .allow = filter_allow, .mask = filter_mask };
    *id = sampler_sample_filtered(smp, logits, &f);
    if (*id < 0) {
        size_t need = json_matcher_min_remaining(&c->m);
        if (tokens_left >= 0 && need > (size_t)tokens_left)
            return perr_set(err, "json schema: the output needs at least %zu more bytes to be "
                                 "complete but only %ld tokens are left (raise the token limit)",
                            need, tokens_left);
        return perr_set(err, "json schema: no token of the vocabulary can continue the output");
    }
    return json_constraint_accept(c, *id, err);
}
