/* analysis.c — the table of known analyses (see analysis.h). */
#include "pipeline/analyses/analysis.h"

#include "pipeline/consultation/consultation.h"

#include "pipeline/digest/collection_digest.h"

#include "pipeline/analyses/yes_no.h"

#include <cjson/cJSON.h>

#include "engine/json/json_schema.h"
#include <stdlib.h>
#include <string.h>

static const analysis_def analysis_table[] = {
    {"summary", "summary", ANALYSIS_DOCUMENT, analysis_summary, analysis_summary_check,
     "title, summary and key points of one document, citing paragraph ids", analysis_summary_budget},
    {"legal_review", "legal_review", ANALYSIS_DOCUMENT, analysis_legal_review, analysis_legal_review_check,
     "bias and evidentiary review of a judgment or witness statement, with verified verbatim quotes",
     analysis_legal_review_budget},
    {"consultation", "consultation", ANALYSIS_COLLECTION, NULL, analysis_consultation_check,
     "themes across the responses to a consultation question: sentiment, themes, mapping (precis consult)", NULL},
    {"digest", "digest", ANALYSIS_COLLECTION, NULL, analysis_digest_check,
     "themed digest of the documents added to a collection in a period, citing them (precis digest, schedules)", NULL},
    {"hearsay", "hearsay", ANALYSIS_ITEM, NULL, analysis_yes_no_check,
     "is the evidence in a short fact pattern hearsay? Yes or No per labelled item (precis eval legal)", NULL},
};

#define N_ANALYSES (sizeof analysis_table / sizeof analysis_table[0])

const analysis_def *analysis_find(const char *name)
{
    for (size_t i = 0; i < N_ANALYSES; i++)
        if (strcmp(analysis_table[i].name, name) == 0)
            return &analysis_table[i];
    return NULL;
}

const char *analysis_scope_name(analysis_scope s)
{
    return s == ANALYSIS_DOCUMENT ? "document" : s == ANALYSIS_COLLECTION ? "collection" : "item";
}

const analysis_def *analysis_at(size_t i)
{
    return i < N_ANALYSES ? &analysis_table[i] : NULL;
}

int analysis_schema_compile(json_schema **out, const char *text, perr *err)
{
    *out = NULL;
    if (!text)
        return 0;
    json_schema_options o = json_schema_default_options();
    o.max_whitespace = 0;
    return json_schema_compile(out, text, strlen(text), &o, err);
}

static int schema_compiles(const char *text, perr *err)
{
    json_schema *s = NULL;
    if (analysis_schema_compile(&s, text, err) != 0)
        return -1;
    json_schema_free(s);
    return 0;
}

static int check_loaded_prompt(const analysis_def *def, const prompt_spec *p, perr *err)
{
    if (def->check_prompt && def->check_prompt(p, err) != 0)
        return -1;
    if (schema_compiles(p->schema_json, err) != 0)
        return perr_prefix(err, "\"schema\"");
    for (size_t i = 0; i < p->n_steps; i++)
        if (schema_compiles(p->steps[i].schema_json, err) != 0)
            return perr_prefix(err, "step \"%s\": \"schema\"", p->steps[i].name);
    return 0;
}

int analysis_load_prompt(const analysis_def *def, const char *dir, prompt_spec **out, perr *err)
{
    if (prompt_load(out, dir, def->prompt, err) != 0)
        return -1;
    if (check_loaded_prompt(def, *out, err) != 0) {
        prompt_free(*out);
        *out = NULL;
        return perr_prefix(err, "prompt %s/%s.json", dir, def->prompt);
    }
    return 0;
}

void analysis_output_clear(analysis_output *o)
{
    free(o->output_json);
    free(o->raw_text);
    cJSON_Delete(o->trace);
    memset(o, 0, sizeof *o);
}
