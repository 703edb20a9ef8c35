/* gen_seq.c — one generation's sampling, constraint, stop-string and
 * history state (see gen_seq.h). */
#include "engine/gen_seq.h"

#include <stdlib.h>
#include <string.h>

#include "common/grow.h"

static int append(gen_seq *g, const char *p, size_t n, perr *err)
{
    char *b = grow_to(g->text, &g->cap, g->len + n + 1, 1, 256);
    if (!b)
        return perr_set(err, "out of memory for generated text");
    g->text = b;
    memcpy(g->text + g->len, p, n);
    g->len += n;
    g->text[g->len] = '\0';
    return 0;
}

/* Earliest start (>= emitted) of any stop string, or SIZE_MAX. */
static size_t find_stop(const gen_seq *g)
{
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < g->p->n_stop; i++) {
        size_t n = strlen(g->p->stop[i]);
        if (n == 0)
            continue;
        const char *hit = memmem(g->text + g->emitted, g->len - g->emitted, g->p->stop[i], n);
        if (hit && (size_t)(hit - g->text) < best)
            best = (size_t)(hit - g->text);
    }
    return best;
}

/* Length of the longest unemitted suffix that could still grow into a stop string. */
static size_t held_back(const gen_seq *g)
{
    size_t pending = g->len - g->emitted, hold = 0;
    for (size_t i = 0; i < g->p->n_stop; i++) {
        size_t n = strlen(g->p->stop[i]);
        for (size_t k = n > 1 ? n - 1 : 0; k > hold; k--)
            if (k <= pending && memcmp(g->text + g->len - k, g->p->stop[i], k) == 0) {
                hold = k;
                break;
            }
    }
    return hold;
}

/* Emit up to `end`; returns non-zero when the caller asked to stop. */
static int emit_to(gen_seq *g, size_t end)
{
    int stop = 0;
    if (end > g->emitted && g->emit)
        stop = g->emit(g->user, g->text + g->emitted, end - g->emitted);
    if (end > g->emitted)
        g->emitted = end;
    return stop;
}

/* Append the text of one generated token (empty for control tokens). */
static int token_text(gen_seq *g, int32_t id, perr *err)
{
    char *piece;
    size_t n;
    if (tokenizer_decode(g->tok, &id, 1, TOKENIZER_DECODE_KEEP_SPACE, &piece, &n, err) != 0)
        return -1;
    const char *p = piece;
    if (g->strip_first && g->res.n_generated == 1 && n > 0 && p[0] == ' ') {
        p++;
        n--;
    }
    int rc = append(g, p, n, err);
    free(piece);
    return rc;
}

/* SentencePiece drops the leading space of the text's first piece: true
 * when nothing visible precedes the generated text. */
static int prompt_is_blank(const tokenizer *tok, const int32_t *prompt, size_t n, int *blank, perr *err)
{
    *blank = 0;
    if (tokenizer_kind_of(tok) != TOKENIZER_SPM)
        return 0;
    char *text;
    size_t len;
    if (tokenizer_decode(tok, prompt, n, 0, &text, &len, err) != 0)
        return -1;
    *blank = len == 0;
    free(text);
    return 0;
}

static int remember(gen_seq *g, const int32_t *ids, size_t n, perr *err)
{
    int32_t *h = grow_to(g->hist, &g->hist_cap, g->n_hist + n, sizeof *h, 256);
    if (!h)
        return perr_set(err, "out of memory for the token history");
    g->hist = h;
    memcpy(g->hist + g->n_hist, ids, n * sizeof *ids);
    g->n_hist += n;
    return 0;
}

/* The token a forced end takes: EOS, else EOT, else any EOG token. */
static int32_t eog_token(const tokenizer *tok)
{
    if (tokenizer_is_eog(tok, tokenizer_eos(tok)))
        return tokenizer_eos(tok);
    if (tokenizer_is_eog(tok, tokenizer_eot(tok)))
        return tokenizer_eot(tok);
    for (size_t i = 0; i < tokenizer_n_vocab(tok); i++)
        if (tokenizer_is_eog(tok, (int32_t)i))
            return (int32_t)i;
    return -1;
}

static int constraint_new(gen_seq *g, perr *err)
{
    const json_vocab *v = g->p->json_vocab;
    if (!v && json_vocab_new(&g->own_vocab, g->tok, err) != 0)
        return -1;
    return json_constraint_new(&g->jc, g->p->json_schema, v ? v : g->own_vocab, err);
}

int gen_seq_init(gen_seq *g, const tokenizer *tok, int n_vocab, const int32_t *prompt, size_t n_prompt,
                 const generate_params *p, generate_emit_fn emit, void *user, perr *err)
{
    memset(g, 0, sizeof *g);
    g->tok = tok;
    g->p = p;
    g->emit = emit;
    g->user = user;
    g->res.n_prompt = (int)n_prompt;
    g->eog = p->json_schema && !p->no_jump_forward ? eog_token(tok) : -1;
    if (prompt_is_blank(tok, prompt, n_prompt, &g->strip_first, err) != 0 ||
        sampler_new(&g->smp, &p->sampling, n_vocab, err) != 0 || (p->json_schema && constraint_new(g, err) != 0) ||
        (n_prompt > 0 && remember(g, prompt, n_prompt, err) != 0)) {
        gen_seq_free(g);
        return -1;
    }
    for (size_t i = 0; i < n_prompt; i++)
        sampler_accept(g->smp, prompt[i]);
    return 0;
}

long gen_seq_left(const gen_seq *g)
{
    return g->p->n_predict >= 0 ? g->p->n_predict - g->res.n_generated : -1;
}

/* Record token id (chosen by the sampler or forced), append its text and
 * check every end; *done = 0 when the generation goes on. */
static int take(gen_seq *g, int32_t id, long room, int *done, perr *err)
{
    *done = 1;
    sampler_accept(g->smp, id);
    g->res.n_generated++;
    if (remember(g, &id, 1, err) != 0)
        return -1;
    if (tokenizer_is_eog(g->tok, id)) {
        g->res.reason = GENERATE_STOP_EOG;
        return 0;
    }
    if (token_text(g, id, err) != 0)
        return -1;
    size_t stop_at = find_stop(g);
    if (stop_at != SIZE_MAX) {
        emit_to(g, stop_at);
        g->len = stop_at;
        g->text[g->len] = '\0';
        g->res.reason = GENERATE_STOP_STRING;
        return 0;
    }
    if (emit_to(g, g->len - held_back(g))) {
        g->res.reason = GENERATE_STOP_CALLER;
        return 0;
    }
    if (gen_seq_left(g) == 0) {
        g->res.reason = GENERATE_STOP_LENGTH;
        return 0;
    }
    if (room <= 1) {
        g->res.reason = GENERATE_STOP_CONTEXT;
        return 0;
    }
    *done = 0;
    return 0;
}

/* Tokens the next one may be chosen within: n_predict's and the context's. */
static long budget(const gen_seq *g, long room)
{
    long left = gen_seq_left(g);
    return left < 0 || room < left ? room : left;
}

int gen_seq_step(gen_seq *g, const float *logits, long room, int32_t *next, int *done, perr *err)
{
    *done = 1;
    if (gen_seq_left(g) == 0) {
        g->res.reason = GENERATE_STOP_LENGTH;
        return 0;
    }
    int32_t id;
    if (!g->jc)
        id = sampler_sample(g->smp, logits);
    else if (json_constraint_sample(g->jc, g->smp, logits, budget(g, room), &id, err) != 0)
        return -1;
    if (take(g, id, room, done, err) != 0)
        return -1;
    *next = id;
    return 0;
}

int gen_seq_forced(gen_seq *g, long room, int32_t *id, int *done, perr *err)
{
    *done = 0;
    if (!g->jc || g->p->no_jump_forward || gen_seq_left(g) == 0)
        return 0;
    int32_t t;
    if (json_constraint_must_end(g->jc)) {
        if (g->eog < 0)
            return 0;
        t = g->eog;
    } else {
        if (json_constraint_forced(g->jc, &t, 1) == 0)
            return 0;
        /* Out of budget the sampler would find no token: let it say so. */
        json_constraint_set_budget(g->jc, budget(g, room));
        if (!json_constraint_allows(g->jc, t))
            return 0;
    }
    if (json_constraint_accept(g->jc, t, err) != 0 || take(g, t, room, done, err) != 0)
        return -1;
    g->res.n_forced++;
    *id = t;
    return 1;
}

int gen_seq_finish(gen_seq *g, perr *err)
{
    if (g->res.reason != GENERATE_STOP_STRING && g->res.reason != GENERATE_STOP_CALLER)
        emit_to(g, g->len);
    if (g->jc && !json_constraint_is_complete(g->jc) && g->res.reason != GENERATE_STOP_CALLER)
        return perr_set(err, "generation stopped (%s) before the JSON value was complete",
                        generate_stop_reason_name(g->res.reason));
    return 0;
}

void gen_seq_free(gen_seq *g)
{
    free(g->text);
    free(g->hist);
    json_constraint_free(g->jc);
    json_vocab_free(g->own_vocab);
    sampler_free(g->smp);
    memset(g, 0, sizeof *g);
}
