/* generate_shared.c — a batcher thread fed by many callers, round-robin (see generate_shared.h). */
#include "engine/generate_shared.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/monotonic.h"

#define CANCEL_POLL_MS 20

/* One caller's requests while it waits in generate_shared_run. */
typedef struct caller {
    generate_request *reqs;
    size_t n;
    size_t next;                 /* reqs[next..] are not taken yet */
    size_t running;              /* taken, not ended */
    atomic_int cancelled;
    int engine_error;
    char error[PERR_MSG_MAX];
    struct caller *link;         /* the callers, in arrival order */
} caller;

struct generate_shared {
    generate_batcher *batcher;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work;         /* the thread: a caller arrived, or stop/forget */
    pthread_cond_t ended;        /* callers: a request ended, or the caches were forgotten */
    caller *callers;
    caller *last_served;         /* round-robin position */
    caller *peeked;
    int stop, forget;
    atomic_uint_fast64_t passes, sequences;
    atomic_uint_fast64_t prompt_tokens, generated_tokens, reused_tokens, requests;
    atomic_uint_fast64_t draft_proposed, draft_accepted;
};

static int has_waiting(const caller *c)
{
    return c->next < c->n;
}

static int finished(const caller *c)
{
    return c->next == c->n && c->running == 0;
}

static caller *owner_of(generate_shared *s, const generate_request *r)
{
    for (caller *c = s->callers; c; c = c->link)
        if (r >= c->reqs && r < c->reqs + c->n)
            return c;
    return NULL;
}

/* A cancelled caller's waiting requests end without starting. */
static void drop_waiting(generate_shared *s, caller *c)
{
    for (; c->next < c->n; c->next++) {
        snprintf(c->reqs[c->next].error, sizeof c->reqs[c->next].error, "cancelled");
        c->reqs[c->next].status = -1;
    }
    pthread_cond_broadcast(&s->ended);
}

/* The caller after `after` in arrival order, wrapping (the first when NULL). */
static caller *following(generate_shared *s, caller *after)
{
    return after && after->link ? after->link : s->callers;
}

/* ---- the batcher's source (called on the batcher's thread) ----------------- */

static generate_request *shared_peek(void *ctx)
{
    generate_shared *s = ctx;
    pthread_mutex_lock(&s->mu);
    s->peeked = NULL;
    caller *start = following(s, s->last_served), *c = start;
    while (c) {
        if (has_waiting(c) && atomic_load(&c->cancelled))
            drop_waiting(s, c);
        if (has_waiting(c)) {
            s->peeked = c;
            break;
        }
        c = following(s, c);
        if (c == start)
            break;
    }
    generate_request *r = s->peeked ? &s->peeked->reqs[s->peeked->next] : NULL;
    pthread_mutex_unlock(&s->mu);
    return r;
}

static void shared_take(void *ctx)
{
    generate_shared *s = ctx;
    pthread_mutex_lock(&s->mu);
    s->peeked->next++;
    s->peeked->running++;
    s->last_served = s->peeked;
    pthread_mutex_unlock(&s->mu);
}

static void shared_finished(void *ctx, generate_request *r)
{
    generate_shared *s = ctx;
    pthread_mutex_lock(&s->mu);
    caller *c = owner_of(s, r);
    atomic_fetch_add(&s->requests, 1);
    if (r->status == 0) {
        atomic_fetch_add(&s->prompt_tokens, (uint_fast64_t)r->result.n_prompt);
        atomic_fetch_add(&s->generated_tokens, (uint_fast64_t)r->result.n_generated);
        atomic_fetch_add(&s->reused_tokens, (uint_fast64_t)r->n_reused);
        atomic_fetch_add(&s->draft_proposed, (uint_fast64_t)r->result.n_draft_proposed);
        atomic_fetch_add(&s->draft_accepted, (uint_fast64_t)r->result.n_draft_accepted);
    }
    if (c) {
        c->running--;
        pthread_cond_broadcast(&s->ended);
    }
    pthread_mutex_unlock(&s->mu);
}

static int shared_abandon(void *ctx, const generate_request *r)
{
    generate_shared *s = ctx;
    pthread_mutex_lock(&s->mu);
    caller *c = owner_of(s, r);
    int drop = c && atomic_load(&c->cancelled);
    pthread_mutex_unlock(&s->mu);
    return drop;
}

/* Every caller with a running or waiting request returns the engine's error. */
static void shared_engine_error(void *ctx, const char *msg)
{
    generate_shared *s = ctx;
    pthread_mutex_lock(&s->mu);
    for (caller *c = s->callers; c; c = c->link)
        if (!finished(c)) {
            c->engine_error = 1;
            snprintf(c->error, sizeof c->error, "%s", msg);
        }
    pthread_mutex_unlock(&s->mu);
}

static void shared_pass(void *ctx, int n_sequences)
{
    generate_shared *s = ctx;
    atomic_fetch_add(&s->passes, 1);
    atomic_fetch_add(&s->sequences, (uint_fast64_t)n_sequences);
}

/* ---- the batcher's thread ------------------------------------------------------- */

static int any_waiting(const generate_shared *s)
{
    for (const caller *c = s->callers; c; c = c->link)
        if (has_waiting(c))
            return 1;
    return 0;
}

static void *batcher_thread(void *arg)
{
    generate_shared *s = arg;
    generate_source src = {.peek = shared_peek, .take = shared_take, .finished = shared_finished,
                           .abandon = shared_abandon, .pass = shared_pass,
                           .engine_error = shared_engine_error, .ctx = s};
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        if (s->forget) {
            generate_batcher_forget(s->batcher);
            s->forget = 0;
            pthread_cond_broadcast(&s->ended);
        }
        if (!any_waiting(s)) {
            pthread_cond_wait(&s->work, &s->mu);
            continue;
        }
        pthread_mutex_unlock(&s->mu);
        perr err;
        generate_batcher_run_source(s->batcher, &src, NULL, NULL, NULL, &err);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int generate_shared_new(generate_shared **out, engine_ctx *c, const tokenizer *tok, perr *err)
{
    generate_shared *s = calloc(1, sizeof *s);
    if (!s)
        return perr_set(err, "out of memory");
    if (generate_batcher_new(&s->batcher, c, tok, err) != 0) {
        free(s);
        return -1;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->ended, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&s->passes, 0);
    atomic_init(&s->sequences, 0);
    atomic_init(&s->prompt_tokens, 0);
    atomic_init(&s->generated_tokens, 0);
    atomic_init(&s->reused_tokens, 0);
    atomic_init(&s->requests, 0);
    atomic_init(&s->draft_proposed, 0);
    atomic_init(&s->draft_accepted, 0);
    int rc = pthread_create(&s->thread, NULL, batcher_thread, s);
    if (rc != 0) {
        generate_batcher_free(s->batcher);
        free(s);
        return perr_set(err, "cannot start the batcher thread: %s", strerror(rc));
    }
    *out = s;
    return 0;
}

void generate_shared_free(generate_shared *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    generate_batcher_free(s->batcher);
    pthread_cond_destroy(&s->work);
    pthread_cond_destroy(&s->ended);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- callers ---------------------------------------------------------------------- */

static void unlink_caller(generate_shared *s, caller *c)
{
    for (caller **p = &s->callers; *p; p = &(*p)->link)
        if (*p == c) {
            *p = c->link;
            break;
        }
    if (s->last_served == c)
        s->last_served = NULL;
}

/* Wait for c's requests, polling cancel outside the lock. */
static void wait_for(generate_shared *s, caller *c, generate_cancel_fn cancel, void *cancel_ctx)
{
    pthread_mutex_lock(&s->mu);
    while (!finished(c)) {
        struct timespec until = monotonic_timespec_after_ms(CANCEL_POLL_MS);
        pthread_cond_timedwait(&s->ended, &s->mu, &until);
        if (finished(c) || !cancel || atomic_load(&c->cancelled))
            continue;
        pthread_mutex_unlock(&s->mu);
        int stop = cancel(cancel_ctx);
        pthread_mutex_lock(&s->mu);
        if (stop) {
            atomic_store(&c->cancelled, 1);
            drop_waiting(s, c);
        }
    }
    unlink_caller(s, c);
    pthread_mutex_unlock(&s->mu);
}

int generate_shared_run(generate_shared *s, generate_request *reqs, size_t n, generate_cancel_fn cancel,
                        void *cancel_ctx, perr *err)
{
    for (size_t i = 0; i < n; i++)
        generate_request_reset(&reqs[i]);
    if (n == 0)
        return 0;
    caller c = {.reqs = reqs, .n = n};
    atomic_init(&c.cancelled, 0);
    pthread_mutex_lock(&s->mu);
    caller **tail = &s->callers;
    while (*tail)
        tail = &(*tail)->link;
    *tail = &c;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
    wait_for(s, &c, cancel, cancel_ctx);
    if (c.engine_error)
        return perr_set(err, "%s", c.error);
    return atomic_load(&c.cancelled) ? 1 : 0;
}

void generate_shared_forget(generate_shared *s)
{
    pthread_mutex_lock(&s->mu);
    s->forget = 1;
    pthread_cond_signal(&s->work);
    while (s->forget)
        pthread_cond_wait(&s->ended, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

void generate_shared_get_totals(generate_shared *s, generate_shared_totals *out)
{
    out->passes = atomic_load(&s->passes);
    out->sequences = atomic_load(&s->sequences);
    out->prompt_tokens = atomic_load(&s->prompt_tokens);
    out->generated_tokens = atomic_load(&s->generated_tokens);
    out->reused_tokens = atomic_load(&s->reused_tokens);
    out->requests = atomic_load(&s->requests);
    out->draft_proposed = atomic_load(&s->draft_proposed);
    out->draft_accepted = atomic_load(&s->draft_accepted);
}
