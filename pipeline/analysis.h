/* analysis.h — the analyses a job may ask for, and what one produces.
 *
 * An analysis turns a document's text into an output through the model with
 * its prompt (prompts/NAME.json). Known analyses: "summary". The analyses
 * issue adds more; each is one entry in analysis_table (analysis.c).
 */
#ifndef PRECIS_ANALYSIS_H
#define PRECIS_ANALYSIS_H

#include <stddef.h>

#include "common/error.h"
#include "pipeline/llm.h"
#include "pipeline/prompt.h"

typedef struct analysis_input {
    llm *llm;
    const prompt_spec *prompt;
    const json_schema *schema;   /* the prompt's schema compiled; NULL = free text */
    int max_tokens;              /* per model call (the prompt's, or an override) */
    const char *title;           /* document title or its source name */
    const char *text;            /* the extracted full text */
    llm_cancel_fn cancel;        /* may be NULL */
    void *cancel_ctx;
} analysis_input;

typedef struct analysis_output {
    char *output_json;           /* the structured output, a JSON object */
    char *raw_text;              /* the model's text of the final call (JSON when constrained) */
    long prompt_tokens, completion_tokens;   /* over every call */
    double prompt_seconds, gen_seconds;
    int chunks;                  /* parts the document was cut into (1: it fitted) */
    int calls;                   /* model calls */
    int levels;                  /* reduce levels above the map step (0: none) */
    const char *stop_reason;     /* of the final call */
} analysis_output;

/* 0, -1 (err) or LLM_CANCELLED. */
typedef int (*analysis_fn)(const analysis_input *in, analysis_output *out, perr *err);

typedef struct analysis_def {
    const char *name;            /* as in jobs and in results.analysis */
    const char *prompt;          /* prompt file name (prompts/<prompt>.json) */
    analysis_fn run;
} analysis_def;

/* NULL when name is not a known analysis. */
const analysis_def *analysis_find(const char *name);
/* The i-th known analysis, NULL past the end. */
const analysis_def *analysis_at(size_t i);

void analysis_output_clear(analysis_output *o);

/* The "summary" analysis (summary.c). */
int analysis_summary(const analysis_input *in, analysis_output *out, perr *err);

#endif
