/* analysis_fixture.h — what an analysis test needs: the synthetic test
 * model (synth-d256-q8_0) with a chosen context, the analysis's shipped
 * prompt loaded as the daemon loads it, and its schema compiled. */
#ifndef PRECIS_ANALYSIS_FIXTURE_H
#define PRECIS_ANALYSIS_FIXTURE_H

#include "engine/json/json_schema.h"
#include "pipeline/analyses/analysis.h"
#include "pipeline/llm/llm.h"

typedef struct analysis_fixture {
    llm *llm;
    prompt_spec *prompt;
    json_schema *schema;         /* the prompt file's "schema" */
} analysis_fixture;

/* prompts/<analysis's prompt>.json through analysis_load_prompt (its own
 * rule included); fails the test on any error. */
analysis_fixture analysis_fixture_open(const char *analysis, int n_ctx);
void analysis_fixture_close(analysis_fixture *f);

#endif
