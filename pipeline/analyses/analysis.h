/* analysis.h — the analyses a job may ask for, and what one produces.
 *
 * An analysis turns text into an output through the model with its prompt
 * (prompts/NAME.json). Each is one entry in analysis_table (analysis.c).
 * Document analyses ("summary", ...) run inside a job on one extracted
 * document through analysis_def.run. Collection analyses ("consultation",
 * "digest") work on many documents or responses at once and have their own
 * entry points (run is NULL); the table still names their prompt so it is
 * loaded, checked, versioned and listed by `precis prompts`. Item analyses
 * ("hearsay") ask one short question of each labelled item of an
 * evaluation (`precis eval legal`, pipeline/analyses/yes_no.h); they are not
 * for jobs either (run is NULL).
 */
#ifndef PRECIS_ANALYSIS_H
#define PRECIS_ANALYSIS_H

#include <stddef.h>

#include "common/error.h"
#include "pipeline/llm/llm.h"
#include "pipeline/llm/prompt.h"

typedef struct cJSON cJSON;
struct document;

typedef enum analysis_scope { ANALYSIS_DOCUMENT, ANALYSIS_COLLECTION, ANALYSIS_ITEM } analysis_scope;

/* "document", "collection" or "item". */
const char *analysis_scope_name(analysis_scope s);

typedef struct analysis_input {
    llm *llm;
    const prompt_spec *prompt;
    const json_schema *schema;   /* the prompt's schema compiled; NULL = free text */
    int max_tokens;              /* per model call (the prompt's, or an override) */
    const char *title;           /* document title or its source name */
    const char *text;            /* the extracted full text */
    const struct document *doc;  /* the extracted document (paragraph ids, pages); NULL = text only */
    llm_cancel_fn cancel;        /* may be NULL */
    void *cancel_ctx;
    const struct legal_twin_options *twin;   /* legal_review: also review the counterfactual twin
                                              * (legal_twin.h); NULL = no */
} analysis_input;

typedef struct analysis_output {
    char *output_json;           /* the structured output, a JSON object */
    char *raw_text;              /* the model's text of the final call (JSON when constrained) */
    long prompt_tokens, completion_tokens;   /* over every call */
    long cached_tokens;          /* prompt tokens reused from the prefix cache (part of prompt_tokens) */
    double prompt_seconds, gen_seconds;
    int chunks;                  /* parts the document was cut into (1: it fitted) */
    int calls;                   /* model calls */
    int levels;                  /* reduce levels above the map step (0: none) */
    const char *stop_reason;     /* of the final call */
    cJSON *trace;                /* JSON array of step records (pipeline/llm/structured.h); NULL = none */
} analysis_output;

/* 0, -1 (err) or LLM_CANCELLED. */
typedef int (*analysis_fn)(const analysis_input *in, analysis_output *out, perr *err);

/* The answer budget (max_tokens per call) the analysis uses for a document
 * that does not fit one call, in in's model context: in->max_tokens, or
 * less when the context cannot hold map and combine calls with it. */
typedef int (*analysis_budget_fn)(const analysis_input *in, int *max_tokens, perr *err);

/* Check at load that a prompt file has what the analysis needs (templates,
 * placeholders, steps); 0 or -1 with err. */
typedef int (*analysis_check_fn)(const prompt_spec *p, perr *err);

typedef struct analysis_def {
    const char *name;            /* as in jobs and in results.analysis */
    const char *prompt;          /* prompt file name (prompts/<prompt>.json) */
    analysis_scope scope;
    analysis_fn run;             /* document analyses; NULL for collection and item ones */
    analysis_check_fn check_prompt;  /* NULL = no rule beyond the file format */
    const char *description;     /* one line, for `precis prompts` */
    analysis_budget_fn budget;   /* NULL: max_tokens is never scaled */
} analysis_def;

/* NULL when name is not a known analysis. */
const analysis_def *analysis_find(const char *name);
/* The i-th known analysis, NULL past the end. */
const analysis_def *analysis_at(size_t i);

void analysis_output_clear(analysis_output *o);

/* Load DIR/<def->prompt>.json and check it: the file format, the
 * analysis's own rule (check_prompt), and every schema (the file's and its
 * steps') compiles. The prompts the daemon runs and `precis prompts` lists
 * are loaded this way. */
int analysis_load_prompt(const analysis_def *def, const char *dir, prompt_spec **out, perr *err);

/* Compile an answer schema (NULL text: *out = NULL) as every model call of
 * the pipeline uses it: compact JSON (max_whitespace 0), so an answer has
 * no whitespace between JSON tokens and its keys and punctuation are forced
 * tokens (engine/json/json_constraint.h). */
int analysis_schema_compile(json_schema **out, const char *text, perr *err);

/* The "summary" analysis (summary.c). */
int analysis_summary(const analysis_input *in, analysis_output *out, perr *err);
int analysis_summary_check(const prompt_spec *p, perr *err);
int analysis_summary_budget(const analysis_input *in, int *max_tokens, perr *err);

/* The "legal_review" analysis (legal_review.c). */
int analysis_legal_review(const analysis_input *in, analysis_output *out, perr *err);
int analysis_legal_review_check(const prompt_spec *p, perr *err);
int analysis_legal_review_budget(const analysis_input *in, int *max_tokens, perr *err);

#endif
