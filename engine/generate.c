/* generate.c — prompt evaluation, the sampling loop and stop strings
 * (see generate.h). */
#include "engine/generate.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Generated text; bytes before `emitted` were handed to the callback. */
typedef struct text_stream {
    char *buf;
    size_t len, cap, emitted;
} text_stream;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int stream_append(text_stream *s, const char *p, size_t n, perr *err)
{
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 256;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *b = realloc(s->buf, cap);
        if (!b)
            return perr_set(err, "out of memory for generated text");
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    s->buf[s->len] = '\0';
    return 0;
}

/* Earliest start (>= emitted) of any stop string, or SIZE_MAX. */
static size_t find_stop(const text_stream *s, const generate_params *p)
{
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < p->n_stop; i++) {
        size_t n = strlen(p->stop[i]);
        if (n == 0)
            continue;
        const char *hit = memmem(s->buf + s->emitted, s->len - s->emitted, p->stop[i], n);
        if (hit && (size_t)(hit - s->buf) < best)
            best = (size_t)(hit - s->buf);
    }
    return best;
}

/* Length of the longest unemitted suffix that could still grow into a stop string. */
static size_t held_back(const text_stream *s, const generate_params *p)
{
    size_t pending = s->len - s->emitted, hold = 0;
    for (size_t i = 0; i < p->n_stop; i++) {
        size_t n = strlen(p->stop[i]);
        for (size_t k = n > 1 ? n - 1 : 0; k > hold; k--)
            if (k <= pending && memcmp(s->buf + s->len - k, p->stop[i], k) == 0) {
                hold = k;
                break;
            }
    }
    return hold;
}

/* Emit up to `end`; returns non-zero when the caller asked to stop. */
static int stream_emit(text_stream *s, size_t end, generate_emit_fn emit, void *user)
{
    int stop = 0;
    if (end > s->emitted && emit)
        stop = emit(user, s->buf + s->emitted, end - s->emitted);
    if (end > s->emitted)
        s->emitted = end;
    return stop;
}

/* The text of one generated token (empty for control tokens). */
static int token_text(const tokenizer *tok, int32_t id, int strip_space, text_stream *s,
                      perr *err)
{
    char *piece;
    size_t n;
    if (tokenizer_decode(tok, &id, 1, TOKENIZER_DECODE_KEEP_SPACE, &piece, &n, err) != 0)
        return -1;
    const char *p = piece;
    if (strip_space && n > 0 && p[0] == ' ') {
        p++;
        n--;
    }
    int rc = stream_append(s, p, n, err);
    free(piece);
    return rc;
}

/* SentencePiece drops the leading space of the text's first piece: true
 * when nothing visible precedes the generated text. */
static int prompt_is_blank(const tokenizer *tok, const int32_t *prompt, size_t n, int *blank,
                           perr *err)
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

/* Tokens that may still be sampled, counting the next one. */
static long tokens_left(const engine_ctx *c, int seq, const generate_params *p,
                        const generate_result *res)
{
    long left = (long)engine_n_ctx(c) - engine_seq_len(c, seq) + 1;
    if (p->n_predict >= 0 && p->n_predict - res->n_generated < left)
        left = p->n_predict - res->n_generated;
    return left;
}

static int sample_loop(engine_ctx *c, int seq, const tokenizer *tok, sampler *smp,
                       json_constraint *jc, const generate_params *p, int strip_first,
                       text_stream *s, generate_emit_fn emit, void *user, generate_result *res,
                       perr *err)
{
    const float *logits = engine_logits(c, 0);
    for (;;) {
        if (p->n_predict >= 0 && res->n_generated >= p->n_predict) {
            res->reason = GENERATE_STOP_LENGTH;
            break;
        }
        int32_t id;
        if (!jc)
            id = sampler_sample(smp, logits);
        else if (json_constraint_sample(jc, smp, logits, tokens_left(c, seq, p, res), &id,
                                        err) != 0)
            return -1;
        sampler_accept(smp, id);
        res->n_generated++;
        if (tokenizer_is_eog(tok, id)) {
            res->reason = GENERATE_STOP_EOG;
            break;
        }
        if (token_text(tok, id, strip_first && res->n_generated == 1, s, err) != 0)
            return -1;
        size_t stop_at = find_stop(s, p);
        if (stop_at != SIZE_MAX) {
            stream_emit(s, stop_at, emit, user);
            res->reason = GENERATE_STOP_STRING;
            return 0;
        }
        if (stream_emit(s, s->len - held_back(s, p), emit, user)) {
            res->reason = GENERATE_STOP_CALLER;
            return 0;
        }
        if (p->n_predict >= 0 && res->n_generated >= p->n_predict) {
            res->reason = GENERATE_STOP_LENGTH;
            break;
        }
        if (engine_seq_len(c, seq) >= engine_n_ctx(c)) {
            res->reason = GENERATE_STOP_CONTEXT;
            break;
        }
        if (engine_eval(c, seq, &id, 1, ENGINE_LOGITS_LAST, err) != 0)
            return -1;
        logits = engine_logits(c, 0);
    }
    stream_emit(s, s->len, emit, user);
    return 0;
}

/* The JSON schema constraint (and the vocabulary index if not given). */
static int constraint_new(const tokenizer *tok, const generate_params *p, json_vocab **own,
                          json_constraint **out, perr *err)
{
    const json_vocab *v = p->json_vocab;
    if (!v && json_vocab_new(own, tok, err) != 0)
        return -1;
    if (json_constraint_new(out, p->json_schema, v ? v : *own, err) != 0) {
        json_vocab_free(*own);
        *own = NULL;
        return -1;
    }
    return 0;
}

int generate_run(engine_ctx *c, int seq, const tokenizer *tok, const int32_t *prompt,
                 size_t n_prompt, const generate_params *p, generate_emit_fn emit, void *user,
                 generate_result *res, perr *err)
{
    memset(res, 0, sizeof *res);
    if (n_prompt == 0)
        return perr_set(err, "the prompt is empty (and the model adds no BOS token)");
    if (n_prompt > (size_t)engine_n_ctx(c))
        return perr_set(err, "the prompt has %zu tokens but the context holds only %d; "
                        "use a larger context", n_prompt, engine_n_ctx(c));
    int strip_first;
    if (prompt_is_blank(tok, prompt, n_prompt, &strip_first, err) != 0)
        return -1;
    sampler *smp;
    if (sampler_new(&smp, &p->sampling, engine_n_vocab(c), err) != 0)
        return -1;
    json_vocab *own_vocab = NULL;
    json_constraint *jc = NULL;
    if (p->json_schema && constraint_new(tok, p, &own_vocab, &jc, err) != 0) {
        sampler_free(smp);
        return -1;
    }
    for (size_t i = 0; i < n_prompt; i++)
        sampler_accept(smp, prompt[i]);

    res->n_prompt = (int)n_prompt;
    engine_seq_clear(c, seq);
    double t0 = now_seconds();
    int rc = engine_eval(c, seq, prompt, (int)n_prompt, ENGINE_LOGITS_LAST, err);
    double t1 = now_seconds();
    text_stream s = { 0 };
    if (rc == 0)
        rc = sample_loop(c, seq, tok, smp, jc, p, strip_first, &s, emit, user, res, err);
    if (rc == 0 && jc && !json_constraint_is_complete(jc) && res->reason != GENERATE_STOP_CALLER)
        rc = perr_set(err, "generation stopped (%s) before the JSON value was complete",
                      generate_stop_reason_name(res->reason));
    res->prompt_seconds = t1 - t0;
    res->gen_seconds = now_seconds() - t1;
    free(s.buf);
    json_constraint_free(jc);
    json_vocab_free(own_vocab);
    sampler_free(smp);
    return rc;
}

int generate_tokenize_prompt(const tokenizer *tok, const char *text, size_t len, int32_t **ids,
                             size_t *n_ids, perr *err)
{
    return tokenizer_encode(tok, text, len, 1, 0, ids, n_ids, err);
}

const char *generate_stop_reason_name(generate_stop_reason r)
{
    switch (r) {
    case GENERATE_STOP_LENGTH: return "length";
    case GENERATE_STOP_EOG: return "end of generation";
    case GENERATE_STOP_STRING: return "stop string";
    case GENERATE_STOP_CONTEXT: return "context full";
    case GENERATE_STOP_CALLER: return "stopped by caller";
    }
    return "unknown";
}
