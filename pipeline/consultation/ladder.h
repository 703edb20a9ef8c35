/* ladder.h — the retry ladder for model calls over batches of (id, text)
 * items, so that no item is ever silently lost:
 *
 *   1. the caller's call function runs one structured call over the batch
 *      (pipeline/llm/structured.h: schema, semantic check, one retry quoting
 *      the error);
 *   2. still invalid (STRUCTURED_INVALID) or too long for the context
 *      (STRUCTURED_TOO_LONG): the batch is split in half and each half goes
 *      back to step 1 — a trace record {"step", "outcome": "split",
 *      "error", "items"} says why;
 *   3. a single item that still fails is given up: the give_up callback
 *      receives it with the reason, and a trace record {"step", "outcome":
 *      "unprocessable", "error", "id"} keeps it auditable.
 * A hard error (-1) or a cancellation (LLM_CANCELLED) stops the ladder.
 *
 * ladder_run_all does the same for many batches in rounds: every open batch
 * of a round goes to ONE call_many (which runs them together: the model
 * answers [engine] parallel batches at once), and the halves of the failed
 * ones make the next round.
 *
 * Also here, because every batch step needs them: planning token-budgeted
 * batches, and the semantic check "every input id answered exactly once".
 */
#ifndef PRECIS_LADDER_H
#define PRECIS_LADDER_H

#include <stddef.h>

#include "common/error.h"
#include "pipeline/analyses/analysis.h"

typedef struct ladder_item {
    const char *id;
    const char *text;
} ladder_item;

/* One call over items[0..n): 0 = accepted (the callback has kept what it
 * needs), STRUCTURED_INVALID or STRUCTURED_TOO_LONG (err says why) = this
 * batch failed, -1 or LLM_CANCELLED = stop. */
typedef int (*ladder_call_fn)(void *ctx, const ladder_item *items, size_t n, perr *err);

/* An item given up, with the reason; 0, or -1 (err) to stop. */
typedef int (*ladder_give_up_fn)(void *ctx, const ladder_item *item, const char *reason, perr *err);

/* k calls at once: batches[j] holds ns[j] items; rcs[j] is what
 * ladder_call_fn would return for it (errs[j] says why). Returns 0, or -1
 * (err) / LLM_CANCELLED to stop. */
typedef int (*ladder_call_many_fn)(void *ctx, const ladder_item *const *batches, const size_t *ns, size_t k,
                                   int *rcs, perr *errs, perr *err);

typedef struct ladder {
    const char *step;            /* names the trace records */
    ladder_call_fn call;         /* for ladder_run */
    ladder_call_many_fn call_many;   /* for ladder_run_all */
    ladder_give_up_fn give_up;
    void *ctx;
    analysis_output *out;        /* the trace goes to out->trace */
} ladder;

/* Run items[0..n) through the ladder: 0 when every item was answered or
 * given up; -1 (err) or LLM_CANCELLED from the call or give_up function. */
int ladder_run(const ladder *l, const ladder_item *items, size_t n, perr *err);

/* Batches items[ends[b-1] .. ends[b]) (ends as ladder_plan gives them) in
 * rounds through l->call_many; the same outcomes as ladder_run per batch. */
int ladder_run_all(const ladder *l, const ladder_item *items, const size_t *ends, size_t n_batches, perr *err);

/* Cut n items into contiguous batches: a batch holds at most max_items
 * items (0 = no limit) whose costs sum to at most budget; an item that
 * costs more than budget on its own is a batch by itself (the caller
 * decides what to do with it). *ends (malloc'd) receives *n_batches
 * exclusive end indexes. n = 0 gives no batches. */
int ladder_plan(const size_t *costs, size_t n, size_t budget, size_t max_items, size_t **ends, size_t *n_batches,
                perr *err);

/* The semantic check of a batch answer: arr is an array of objects whose
 * `key` member is a string; every item's id must appear exactly once and
 * no other id may appear. err names the first problem in words a model
 * can act on ("response 17 is missing"). */
int ladder_check_ids(const cJSON *arr, const char *key, const ladder_item *items, size_t n, perr *err);

#endif
