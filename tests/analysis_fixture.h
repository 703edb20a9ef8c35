/* analysis_fixture.h — what an analysis test needs: the synthetic test
 * model (synth-d256-q8_0) with a chosen context, the analysis's shipped
 * prompt loaded as the daemon loads it, and its schema compiled. */
#ifndef PRECIS_ANALYSIS_FIXTURE_H
#define PRECIS_ANALYSIS_FIXTURE_H

#include <cjson/cJSON.h>

#include "engine/json/json_schema.h"
#include "extractors/document.h"
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

/* out's output_json parsed (cJSON_Delete it); fails the test unless it is
 * JSON valid against the prompt's schema. */
cJSON *analysis_fixture_output(const analysis_fixture *f, const analysis_output *out);

/* A text document that tries to take over the prompt: a paragraph telling
 * the model to output plain text, then the paragraph fake_answer (document_free it). */
document *analysis_fixture_injection(const char *fake_answer);

#endif
