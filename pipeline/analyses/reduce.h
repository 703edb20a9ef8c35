/* reduce.h — combining the partial answers of a long document, level by
 * level (the reduce of map-reduce), for analyses that summarize chunks.
 *
 * The parts (JSON answers of the map step, in document order) are rendered
 * as text by the caller and packed, in order, into groups whose combine
 * prompt fits the context with max_tokens to spare; each group of two or
 * more parts becomes one part through one structured call (schema built by
 * the caller for that group, e.g. an enum of the paragraph ids its parts
 * cite); a part alone in its group goes up as it is. The next level does
 * the same with the new parts until one is left. A level that cannot join
 * any two parts (the context is too small) is an error that says so, as is
 * exceeding REDUCE_MAX_LEVELS; nothing is dropped to make things fit.
 */
#ifndef PRECIS_REDUCE_H
#define PRECIS_REDUCE_H

#include <stddef.h>

#include "pipeline/llm/salvage.h"

#define REDUCE_MAX_LEVELS 16
/* Tokens a rendered part may add to its answer ("Part 12:" and labels). */
#define REDUCE_PART_LABEL_TOKENS 16
/* The shortest answer budget worth a map-reduce. */
#define REDUCE_MIN_ANSWER_TOKENS 64

typedef struct reduce_spec {
    const char *step;              /* names the calls in the trace ("combine") */
    const char *system, *tmpl;     /* tmpl: the combine template; the group's parts,
                                      joined, take the place of {{document}} */
    int max_tokens;
    const sampler_params *sampling;
    /* The text of one part as the combine call reads it (malloc'd; NULL = out of memory). */
    char *(*render_part)(const cJSON *part, size_t number, void *ctx);
    /* The JSON Schema text for combining parts[0..n) (malloc'd); NULL with err. */
    char *(*schema_for)(cJSON *const *parts, size_t n, void *ctx, perr *err);
    structured_check_fn check;     /* may be NULL */
    salvage_repair_fn repair;      /* may be NULL */
    void *ctx;                     /* for every callback above */
} reduce_spec;

/* The answer budget (<= max_tokens, <= map_limit: the largest answer with
 * which a map call still gets its text) for a map-reduce whose combine
 * prompt takes combine_prompt_tokens, in a context of n_ctx: the largest
 * with which any two answers (each + REDUCE_PART_LABEL_TOKENS) fit one
 * combine call together with its own answer, 10% margin kept. 0 when not
 * even REDUCE_MIN_ANSWER_TOKENS (or max_tokens, when smaller) fits. A prompt written for a 4096-token
 * context runs on a 2048-token model this way, with shorter answers. */
int reduce_fit_answer(int n_ctx, int max_tokens, size_t combine_prompt_tokens, int map_limit);

/* The answer budget of a map-reduce described by spec (its combine prompt)
 * whose map step allows answers up to map_limit: reduce_fit_answer for
 * in's model, or an error saying the context is too small. */
int reduce_answer_budget(const analysis_input *in, const reduce_spec *spec, int map_limit, int *max_tokens,
                         perr *err);

/* A budget smaller than in->max_tokens as a trace record {"step": "budget",
 * "outcome": "scaled", "max_tokens", "used", "n_ctx"}; nothing otherwise. */
void reduce_trace_budget(const analysis_input *in, analysis_output *out, int used);

/* Before the map step: can n parts, each an answer of at most
 * spec->max_tokens, be combined within REDUCE_MAX_LEVELS levels? 0, or -1
 * with err saying why, so an impossible job fails before its map calls. */
int reduce_check_feasible(const analysis_input *in, const reduce_spec *spec, size_t n, perr *err);

/* Combine parts[0..n) (n >= 1; the parts are taken and freed, the array
 * itself stays the caller's) into
 * *result; *raw is the final call's text (NULL when n is 1 or the final
 * answer was repaired). out->levels is set to the levels used. 0, -1 (err),
 * LLM_CANCELLED or STRUCTURED_INVALID. */
int reduce_run(const analysis_input *in, analysis_output *out, const reduce_spec *spec, cJSON **parts, size_t n,
               cJSON **result, char **raw, perr *err);

#endif
