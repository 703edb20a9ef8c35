/* generate_batch.c — continuous batching over an engine context's sequence
 * slots, with shared-prefix reuse (see generate_batch.h). */
#include "engine/generate_batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/monotonic.h"
#include "engine/gen_chain.h"
#include "engine/gen_seq.h"

typedef struct slot {
    generate_request *req;      /* NULL: idle */
    gen_seq g;
    int32_t *tokens;            /* what the slot's KV cache holds (or will, once pending is evaluated) */
    int n_tokens;
    const int32_t *pending;     /* tokens to evaluate in the next pass: the prompt's rest, or ch's */
    int n_pending;
    gen_chain ch;               /* the chain after the prompt (ch.n = 0 while the prompt is pending) */
    double t_start, t_prompt;
} slot;

struct generate_batcher {
    engine_ctx *c;
    const tokenizer *tok;
    slot *slots;
    int n_slots;
    engine_batch_item *items;   /* one per slot, for each pass */
    int *owner;                 /* items[i] belongs to slots[owner[i]] */
    int *first_row;             /* items[i]'s first row of logits */
    generate_batch_stats st;    /* of the current run */
};

typedef struct generate_batcher batch;

static void fail_request(generate_request *r, const char *msg)
{
    r->status = -1;
    snprintf(r->error, sizeof r->error, "%s", msg);
}

static int common_prefix(const int32_t *a, int na, const int32_t *b, int nb)
{
    int n = 0;
    while (n < na && n < nb && a[n] == b[n])
        n++;
    return n;
}

/* Put the longest prefix of prompt any slot holds into slot s's KV (at
 * least one prompt token is left to evaluate, for its logits). */
static int reuse_prefix(batch *b, int s, const int32_t *prompt, int n_prompt, perr *err)
{
    int best = 0, from = s;
    for (int i = 0; i < b->n_slots; i++) {
        /* Only what is evaluated: a slot started in this pass has its prompt still pending. */
        int held = engine_seq_len(b->c, i);
        int k = common_prefix(b->slots[i].tokens, held < b->slots[i].n_tokens ? held : b->slots[i].n_tokens,
                              prompt, n_prompt);
        if (k > best || (k == best && i == s)) {
            best = k;
            from = i;
        }
    }
    if (best >= n_prompt)
        best = n_prompt - 1;
    if (best == 0) {
        engine_seq_clear(b->c, s);
        return 0;
    }
    int rc = from == s ? engine_seq_truncate(b->c, s, best, err) : engine_seq_copy_prefix(b->c, from, s, best, err);
    return rc == 0 ? best : -1;
}

static int remember(slot *sl, const int32_t *toks, int n, int keep, perr *err)
{
    int32_t *grown = realloc(sl->tokens, (size_t)(keep + n) * sizeof *grown);
    if (!grown)
        return perr_set(err, "out of memory");
    memcpy(grown + keep, toks, (size_t)n * sizeof *toks);
    sl->tokens = grown;
    sl->n_tokens = keep + n;
    return 0;
}

/* Give slot s request r: check it, set up sampling, reuse a prefix and
 * queue the rest of its prompt. A request that cannot start is failed. */
static int start_request(batch *b, int s, generate_request *r, perr *err)
{
    slot *sl = &b->slots[s];
    perr rerr;
    if (r->n_prompt == 0 || r->n_prompt > (size_t)engine_n_ctx(b->c)) {
        fail_request(r, r->n_prompt ? "the prompt does not fit the context" : "the prompt is empty");
        return 0;
    }
    if (gen_seq_init(&sl->g, b->tok, engine_n_vocab(b->c), r->prompt, r->n_prompt, r->params, NULL, NULL,
                     &rerr) != 0) {
        fail_request(r, rerr.msg);
        return 0;
    }
    int keep = reuse_prefix(b, s, r->prompt, (int)r->n_prompt, err);
    if (keep < 0)
        return -1;
    r->n_reused = keep;
    b->st.tokens_reused += keep;
    sl->req = r;
    sl->n_tokens = keep;
    sl->pending = r->prompt + keep;
    sl->n_pending = (int)r->n_prompt - keep;
    sl->t_start = monotonic_seconds();
    sl->t_prompt = -1;
    gen_chain_init(&sl->ch);
    /* The whole prompt: the first `keep` may have come from another slot. */
    return remember(sl, r->prompt, (int)r->n_prompt, 0, err);
}

static void finish_request(slot *sl, int failed, const char *msg)
{
    generate_request *r = sl->req;
    perr err;
    if (!failed && gen_seq_finish(&sl->g, &err) != 0) {
        failed = 1;
        msg = err.msg;
    }
    r->result = sl->g.res;
    double t = monotonic_seconds();
    r->result.prompt_seconds = sl->t_prompt >= 0 ? sl->t_prompt - sl->t_start : t - sl->t_start;
    r->result.gen_seconds = sl->t_prompt >= 0 ? t - sl->t_prompt : 0;
    if (failed) {
        fail_request(r, msg);
    } else {
        r->status = 0;
        r->text = sl->g.text ? sl->g.text : strdup("");
        sl->g.text = NULL;
    }
    gen_seq_free(&sl->g);
    sl->req = NULL;
    sl->n_pending = 0;
}

/* A prompt that shares this many more tokens with a prompt still waiting
 * to be evaluated than with any cache waits one pass, then copies them. */
#define DEFER_MIN_SHARED 32

/* Should r wait for a prompt being evaluated in this pass? (Prompts of one
 * template started together would otherwise each compute the shared part.) */
static int worth_waiting(const batch *b, const generate_request *r)
{
    int held_best = 0, pending_best = 0;
    for (int i = 0; i < b->n_slots; i++) {
        const slot *sl = &b->slots[i];
        int held = engine_seq_len(b->c, i) < sl->n_tokens ? engine_seq_len(b->c, i) : sl->n_tokens;
        int k = common_prefix(sl->tokens, held, r->prompt, (int)r->n_prompt);
        if (k > held_best)
            held_best = k;
        if (sl->req && sl->n_pending > 1) {
            k = common_prefix(sl->tokens, sl->n_tokens, r->prompt, (int)r->n_prompt);
            if (k > pending_best)
                pending_best = k;
        }
    }
    return pending_best > held_best + DEFER_MIN_SHARED;
}

/* Fill idle slots from the source, in its order. */
static int fill_slots(batch *b, const generate_source *src, perr *err)
{
    for (int s = 0; s < b->n_slots; s++) {
        generate_request *r;
        while (!b->slots[s].req && (r = src->peek(src->ctx)) != NULL) {
            if (worth_waiting(b, r))
                return 0;
            src->take(src->ctx);
            if (start_request(b, s, r, err) != 0)
                return -1;
            if (!b->slots[s].req)
                src->finished(src->ctx, r);    /* it could not start */
        }
    }
    return 0;
}

/* One forward pass over every slot with pending tokens: logits from the
 * prompt's last token, or from the chain's verifying tail. */
static int eval_pass(batch *b, int *n_items, perr *err)
{
    int n = 0, rows = 0;
    for (int s = 0; s < b->n_slots; s++) {
        slot *sl = &b->slots[s];
        if (!sl->req || sl->n_pending == 0)
            continue;
        int from = sl->ch.n ? gen_chain_logits_from(&sl->ch) : sl->n_pending - 1;
        b->items[n] = (engine_batch_item){.seq = s, .tokens = sl->pending, .n_tokens = sl->n_pending,
                                          .logits = ENGINE_LOGITS_FROM, .logits_from = from};
        b->first_row[n] = rows;
        rows += sl->n_pending - from;
        b->owner[n++] = s;
        b->st.tokens_evaluated += sl->n_pending;
        sl->g.res.n_passes++;
    }
    *n_items = n;
    if (n == 0)
        return 0;
    b->st.steps++;
    if (n > b->st.max_active)
        b->st.max_active = n;
    return engine_eval_batch(b->c, b->items, (size_t)n, err);
}

/* End slot sl's request and hand it back to the source. */
static void end_slot(batch *b, slot *sl, const generate_source *src, int failed, const char *msg)
{
    generate_request *r = sl->req;
    b->st.tokens_generated += sl->g.res.n_generated;
    b->st.draft_proposed += sl->g.res.n_draft_proposed;
    b->st.draft_accepted += sl->g.res.n_draft_accepted;
    finish_request(sl, failed, msg);
    src->finished(src->ctx, r);
}

/* Draft tokens in a pass, shared by its sequences: a pass costs a fixed
 * part (reading the weights) and a part per token, so drafts are cheap next
 * to one sequence and dear in a full batch, where a wrong one costs about
 * what a generated token does. */
#define PASS_DRAFT_TOKENS 16

static int draft_share(int n_active)
{
    int k = PASS_DRAFT_TOKENS / (n_active > 0 ? n_active : 1);
    return k < 1 ? 1 : k > DRAFT_MAX ? DRAFT_MAX : k;
}

/* Slot s after a pass of n_active sequences: verify and sample (the KV
 * cache and the slot's token list keep the accepted tokens), then queue its
 * next chain. */
static int advance_slot(batch *b, int s, int first_row, int n_active, const generate_source *src, perr *err)
{
    slot *sl = &b->slots[s];
    int32_t next;
    int done;
    perr serr;
    int rc = gen_chain_verify(&sl->ch, &sl->g, b->c, s, first_row, &next, &done, &serr);
    sl->n_tokens = engine_seq_len(b->c, s);
    sl->ch.draft_limit = draft_share(n_active);
    if (rc == 0 && !done)
        rc = gen_chain_build(&sl->ch, &sl->g, next, sl->n_tokens, engine_n_ctx(b->c), &done, &serr);
    if (rc != 0 || done) {
        end_slot(b, sl, src, rc != 0, serr.msg);
        return 0;
    }
    sl->pending = sl->ch.tok;
    sl->n_pending = sl->ch.n;
    return remember(sl, sl->ch.tok, sl->ch.n, sl->n_tokens, err);
}

/* Sample each evaluated slot's next tokens; finished slots become idle. */
static int sample_pass(batch *b, const generate_source *src, int n_items, perr *err)
{
    double t = monotonic_seconds();
    for (int i = 0; i < n_items; i++) {
        slot *sl = &b->slots[b->owner[i]];
        if (sl->t_prompt < 0)
            sl->t_prompt = t;
        if (advance_slot(b, b->owner[i], b->first_row[i], n_items, src, err) != 0)
            return -1;
    }
    return 0;
}

/* End every running request with msg, and every waiting one too. */
static void end_all(batch *b, const generate_source *src, const char *msg)
{
    for (int s = 0; s < b->n_slots; s++)
        if (b->slots[s].req)
            end_slot(b, &b->slots[s], src, 1, msg);
    generate_request *r;
    while ((r = src->peek(src->ctx)) != NULL) {
        src->take(src->ctx);
        fail_request(r, msg);
        src->finished(src->ctx, r);
    }
}

/* Running requests the source abandons end "cancelled". */
static void drop_abandoned(batch *b, const generate_source *src)
{
    for (int s = 0; src->abandon && s < b->n_slots; s++)
        if (b->slots[s].req && src->abandon(src->ctx, b->slots[s].req))
            end_slot(b, &b->slots[s], src, 1, "cancelled");
}

static int run_loop(batch *b, const generate_source *src, generate_cancel_fn cancel, void *cancel_ctx, perr *err)
{
    for (;;) {
        if (cancel && cancel(cancel_ctx)) {
            end_all(b, src, "cancelled");
            return 1;
        }
        drop_abandoned(b, src);
        if (fill_slots(b, src, err) != 0)
            return -1;
        int n_items;
        if (eval_pass(b, &n_items, err) != 0)
            return -1;
        if (n_items == 0)
            return 0;
        if (src->pass)
            src->pass(src->ctx, n_items);
        if (sample_pass(b, src, n_items, err) != 0)
            return -1;
    }
}

int generate_batcher_new(generate_batcher **out, engine_ctx *c, const tokenizer *tok, perr *err)
{
    batch *b = calloc(1, sizeof *b);
    if (!b)
        return perr_set(err, "out of memory");
    b->c = c;
    b->tok = tok;
    b->n_slots = engine_n_seq(c);
    b->slots = calloc((size_t)b->n_slots, sizeof *b->slots);
    b->items = calloc((size_t)b->n_slots, sizeof *b->items);
    b->owner = calloc((size_t)b->n_slots, sizeof *b->owner);
    b->first_row = calloc((size_t)b->n_slots, sizeof *b->first_row);
    if (!b->slots || !b->items || !b->owner || !b->first_row) {
        generate_batcher_free(b);
        return perr_set(err, "out of memory");
    }
    for (int s = 0; s < b->n_slots; s++)
        engine_seq_clear(c, s);
    *out = b;
    return 0;
}

void generate_batcher_free(generate_batcher *b)
{
    if (!b)
        return;
    for (int s = 0; b->slots && s < b->n_slots; s++) {
        gen_seq_free(&b->slots[s].g);
        free(b->slots[s].tokens);
    }
    free(b->slots);
    free(b->items);
    free(b->owner);
    free(b->first_row);
    free(b);
}

void generate_batcher_forget(generate_batcher *b)
{
    for (int s = 0; s < b->n_slots; s++) {
        engine_seq_clear(b->c, s);
        b->slots[s].n_tokens = 0;
    }
}

int generate_batcher_run_source(generate_batcher *b, const generate_source *src, generate_cancel_fn cancel,
                                void *cancel_ctx, generate_batch_stats *stats, perr *err)
{
    memset(&b->st, 0, sizeof b->st);
    int rc = run_loop(b, src, cancel, cancel_ctx, err);
    if (rc < 0) {
        if (src->engine_error)
            src->engine_error(src->ctx, err->msg);
        end_all(b, src, err->msg);
        generate_batcher_forget(b);  /* after an engine error the caches are unknown */
    }
    if (stats)
        *stats = b->st;
    return rc;
}

/* ---- one caller's array of requests --------------------------------------- */

typedef struct array_source {
    generate_request *reqs;
    size_t n, next;
} array_source;

static generate_request *array_peek(void *ctx)
{
    array_source *a = ctx;
    return a->next < a->n ? &a->reqs[a->next] : NULL;
}

static void array_take(void *ctx)
{
    ((array_source *)ctx)->next++;
}

static void array_finished(void *ctx, generate_request *r)
{
    (void)ctx;
    (void)r;
}

int generate_batcher_run(generate_batcher *b, generate_request *reqs, size_t n, generate_cancel_fn cancel,
                         void *cancel_ctx, generate_batch_stats *stats, perr *err)
{
    for (size_t i = 0; i < n; i++)
        generate_request_reset(&reqs[i]);
    array_source a = {.reqs = reqs, .n = n};
    generate_source src = {.peek = array_peek, .take = array_take, .finished = array_finished, .ctx = &a};
    return generate_batcher_run_source(b, &src, cancel, cancel_ctx, stats, err);
}

int generate_batch_run(engine_ctx *c, const tokenizer *tok, generate_request *reqs, size_t n,
                       generate_cancel_fn cancel, void *cancel_ctx, generate_batch_stats *stats, perr *err)
{
    generate_batcher *b;
    if (generate_batcher_new(&b, c, tok, err) != 0)
        return -1;
    int rc = generate_batcher_run(b, reqs, n, cancel, cancel_ctx, stats, err);
    generate_batcher_free(b);
    return rc;
}

void generate_request_reset(generate_request *r)
{
    r->status = -1;
    r->error[0] = '\0';
    r->text = NULL;
    r->n_reused = 0;
    memset(&r->result, 0, sizeof r->result);
}

void generate_request_clear(generate_request *r)
{
    free(r->text);
    r->text = NULL;
}
