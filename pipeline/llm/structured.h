/* structured.h — one model call whose answer must be JSON of a schema and
 * pass the checks a schema cannot express, retried once with the error
 * quoted; the building block of every analysis.
 *
 *   1. render: the caller gives the system and user text, already rendered;
 *   2. the prompt must fit the context with max_tokens to spare, else
 *      STRUCTURED_TOO_LONG (the caller splits its input; nothing is cut);
 *   3. generate constrained to the schema (the answer always parses and
 *      validates; the schema may be built per call, e.g. an enum of the ids
 *      in this batch), then the caller's semantic check (all ids present,
 *      ids unique, ...);
 *   4. on a failed check: once more, with the user text followed by the
 *      error ("Your previous answer was rejected: ..."); a second failure is
 *      STRUCTURED_INVALID with the reason in err — the caller then splits
 *      the batch or marks the item unprocessable (pipeline/consultation/ladder.h).
 * Every attempt appends a record to out->trace (created on first use):
 *   {"step", "attempt", "outcome": "ok" | "rejected" | "too_long",
 *    "error"?, "prompt_tokens", "completion_tokens", "items"?}
 * and adds its tokens and times to out's counters.
 */
#ifndef PRECIS_STRUCTURED_H
#define PRECIS_STRUCTURED_H

#include <cjson/cJSON.h>

#include "common/error.h"
#include "pipeline/analyses/analysis.h"

enum { STRUCTURED_TOO_LONG = -3, STRUCTURED_INVALID = -4 };

/* The string member key of an answer's object o: "" when o has none or it
 * is not a string. */
static inline const char *structured_string(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* The semantic check: 0 when the answer is acceptable, else -1 with err
 * saying what is wrong in words the model can act on. */
typedef int (*structured_check_fn)(const cJSON *answer, void *ctx, perr *err);

typedef struct structured_call {
    const char *step;            /* names the call in the trace ("map", "sentiment", ...) */
    const char *system, *user;   /* rendered */
    const char *schema_json;     /* JSON Schema text; NULL = free text (answer is {"text": ...}) */
    int max_tokens;
    const sampler_params *sampling;
    structured_check_fn check;   /* NULL = the schema is enough */
    void *check_ctx;
    long items;                  /* > 0: batch size, recorded in the trace */
} structured_call;

/* Run the call for in's model. On 0 *answer is the parsed JSON (cJSON_Delete
 * it) and *raw (may be NULL) the text generated. Returns 0, -1 (err: engine
 * or schema error), LLM_CANCELLED, STRUCTURED_TOO_LONG or STRUCTURED_INVALID. */
int structured_run(const analysis_input *in, analysis_output *out, const structured_call *c, cJSON **answer,
                   char **raw, perr *err);

/* Independent calls run together: every first attempt in one batch
 * (llm_chat_many: n_parallel at a time, shared prompt prefixes computed
 * once), then every retry. Per call: rcs[i] is structured_run's result
 * (0, -1, STRUCTURED_TOO_LONG or STRUCTURED_INVALID) with errs[i] saying
 * why, answers[i] / raws[i] (raws may be NULL) are set when rcs[i] is 0.
 * Returns 0, -1 (err) or LLM_CANCELLED for the whole batch. */
int structured_run_many(const analysis_input *in, analysis_output *out, const structured_call *calls, size_t n,
                        cJSON **answers, char **raws, int *rcs, perr *errs, perr *err);

/* After structured_run_many: 0 when every call succeeded, else -1 with the
 * first failure's error as "<what> i of n: ..." (a prompt that came out too
 * long says so). */
int structured_first_failure(const int *rcs, const perr *errs, size_t n, const char *what, perr *err);

/* Tokens of the chat prompt system + user (for budgeting batches). */
int structured_prompt_tokens(const analysis_input *in, const char *system, const char *user, size_t *n,
                             perr *err);

/* Append a record {"step", "outcome", "error"?, ...extra} to out->trace
 * (extra: an object whose items are moved in, may be NULL). For decisions
 * that are not model calls: "split", "unprocessable", "truncated". */
void structured_trace(analysis_output *out, const char *step, const char *outcome, const char *error,
                      cJSON *extra);

#endif
