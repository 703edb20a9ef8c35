/* salvage.h — a structured call (pipeline/llm/structured.h) whose second
 * rejection is not the end of the analysis.
 *
 * structured_run retries a rejected answer once; when the retry is
 * rejected too, the answer is lost. salvage_run keeps the last rejected
 * answer (it always matches the schema: only the semantic check refused it)
 * and hands it to the caller's repair function, which may fix what can be
 * fixed without inventing anything (drop an empty key point, remove a
 * repeated id, mark quotes as unverified). A repaired answer is used and the
 * trace gets a {"step", "outcome": "repaired", "error": <the rejection>}
 * record; when the repair refuses, the result is STRUCTURED_INVALID as
 * before. No further model call is made: the analysis never loops.
 */
#ifndef PRECIS_SALVAGE_H
#define PRECIS_SALVAGE_H

#include "pipeline/llm/structured.h"

/* Fix answer in place: 0 when it is now acceptable, else -1 with err. */
typedef int (*salvage_repair_fn)(cJSON *answer, void *ctx, perr *err);

/* structured_run(c), then the repair above. *raw is NULL when the answer
 * was repaired (it is then not the text the model generated). */
int salvage_run(const analysis_input *in, analysis_output *out, const structured_call *c, salvage_repair_fn repair,
                void *repair_ctx, cJSON **answer, char **raw, perr *err);

/* The same for independent calls, batched (structured_run_many): per call
 * rcs[i], errs[i], answers[i] and raws[i] (raws may be NULL). Returns 0,
 * -1 (err) or LLM_CANCELLED for the whole batch. */
int salvage_run_many(const analysis_input *in, analysis_output *out, const structured_call *calls, size_t n,
                     salvage_repair_fn repair, void *repair_ctx, cJSON **answers, char **raws, int *rcs, perr *errs,
                     perr *err);

/* The map step of a chunked analysis: salvage_run_many over the calls of
 * the n parts, answers[i] for each. Returns 0 when every call succeeded,
 * then *raw (freed first) is the last call's text; else -1 with the first
 * failure as structured_first_failure words it ("part i of n: ..."), or
 * LLM_CANCELLED. */
int salvage_run_parts(const analysis_input *in, analysis_output *out, const structured_call *calls, size_t n,
                      salvage_repair_fn repair, void *repair_ctx, cJSON **answers, char **raw, perr *err);

#endif
