/* generate_shared.h — one continuous batcher shared by many threads.
 *
 * A thread of its own runs a generate_batcher over the engine context. A
 * caller's requests join the batch already running: every forward pass
 * evaluates the active sequences of every caller together, and a slot whose
 * answer ends takes the next waiting request of any caller. Callers are
 * served round-robin, one request at a time, so a caller with hundreds of
 * requests (a long document's chunks) does not hold back one with a few.
 * Slots keep their KV caches between callers, so a prompt prefix shared by
 * many callers (an analysis's instructions) is computed once and copied.
 *
 * Each request's text and result are exactly those of generate_run on its
 * prompt alone (engine_eval_batch is bit-identical to single evaluation and
 * each request has its own sampler), whatever else runs beside it.
 */
#ifndef PRECIS_GENERATE_SHARED_H
#define PRECIS_GENERATE_SHARED_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "engine/generate_batch.h"

typedef struct generate_shared generate_shared;

/* Totals since the batcher started, for metrics. */
typedef struct generate_shared_totals {
    uint64_t passes;             /* forward passes */
    uint64_t sequences;          /* sequences evaluated over all passes (occupancy = sequences / passes) */
    uint64_t prompt_tokens;      /* of the requests that ended: prompt tokens (computed or reused) */
    uint64_t generated_tokens;   /* of the requests that ended: tokens sampled */
    uint64_t reused_tokens;      /* of their prompt tokens, copied from a cached prefix, not computed */
    uint64_t requests;           /* requests that ended, answered or not */
    uint64_t draft_proposed;     /* of the requests that ended: draft tokens evaluated (gen_chain.h) */
    uint64_t draft_accepted;     /* of them, tokens the sampler then chose */
} generate_shared_totals;

/* Start the batcher's thread; it owns every sequence slot of c (nobody else
 * may evaluate in c until generate_shared_free). c and tok must outlive it. */
int generate_shared_new(generate_shared **out, engine_ctx *c, const tokenizer *tok, perr *err);
/* Stop the thread. No generate_shared_run may be in progress. */
void generate_shared_free(generate_shared *s);

/* Answer reqs alongside every other caller's; blocks until each has ended.
 * cancel (may be NULL) is polled by the calling thread about every 20 ms;
 * once it returns non-zero the caller's requests end "cancelled" (running
 * ones before the next pass). Returns 0, -1 on an engine error (err; the
 * requests fail with it), or 1 when cancelled. Thread-safe. */
int generate_shared_run(generate_shared *s, generate_request *reqs, size_t n, generate_cancel_fn cancel,
                        void *cancel_ctx, perr *err);

/* Forget what every slot caches, once no request runs (benchmarks). */
void generate_shared_forget(generate_shared *s);

/* Thread-safe. */
void generate_shared_get_totals(generate_shared *s, generate_shared_totals *out);

#endif
