/* yes_no.h — one Yes/No question asked of many short texts, for evaluations
 * (`precis eval legal`: "is this evidence hearsay?" per fact pattern). One
 * call per text, its answer constrained to the prompt's schema
 * {"answer": "Yes" | "No"}, the calls batched (structured_run_many: the
 * model's parallel slots filled, the shared prompt prefix computed once).
 *
 * The prompt file (e.g. prompts/hearsay.json, analysis scope "item") needs a
 * "user" template with {{document}} (the text; {{title}} is "item N", the
 * 1-based item number) and a "schema": an object whose required "answer"
 * property is the enum "Yes", "No" — checked when the file is loaded.
 */
#ifndef PRECIS_YES_NO_H
#define PRECIS_YES_NO_H

#include <stddef.h>

#include "common/error.h"
#include "pipeline/analyses/analysis.h"

typedef enum yes_no { YES_NO_NONE = 0, YES_NO_NO, YES_NO_YES } yes_no;

typedef struct yes_no_result {
    yes_no answer;               /* YES_NO_NONE: the call failed, error says why */
    char error[PERR_MSG_MAX];
} yes_no_result;

/* After each group of calls: done of n texts answered or failed. */
typedef void (*yes_no_progress_fn)(void *ctx, size_t done, size_t n);

/* Ask in->prompt's question of texts[0..n-1] into results[0..n-1]. Calls go
 * `group` at a time (0: 8 per parallel slot of the model) so that progress
 * (may be NULL) is called between groups. A call that fails (the text too
 * long for the context, an answer rejected twice, the model unable to
 * finish in max_tokens) leaves its result YES_NO_NONE with the error; the
 * others go on. out gathers tokens, calls and the trace. Returns 0, -1
 * (err: engine error) or LLM_CANCELLED. */
int yes_no_ask(const analysis_input *in, const char *const *texts, size_t n, size_t group,
               yes_no_progress_fn progress, void *progress_ctx, yes_no_result *results, analysis_output *out,
               perr *err);

/* The load-time rule for a Yes/No prompt (see above). */
int analysis_yes_no_check(const prompt_spec *p, perr *err);

#endif
