/* analysis.c — the table of known analyses (see analysis.h). */
#include "pipeline/analysis.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const analysis_def analysis_table[] = {
    {"summary", "summary", ANALYSIS_DOCUMENT, analysis_summary, analysis_summary_check,
     "title, summary and key points of one document, citing paragraph ids"},
};

#define N_ANALYSES (sizeof analysis_table / sizeof analysis_table[0])

const analysis_def *analysis_find(const char *name)
{
    for (size_t i = 0; i < N_ANALYSES; i++)
        if (strcmp(analysis_table[i].name, name) == 0)
            return &analysis_table[i];
    return NULL;
}

const analysis_def *analysis_at(size_t i)
{
    return i < N_ANALYSES ? &analysis_table[i] : NULL;
}

void analysis_output_clear(analysis_output *o)
{
    free(o->output_json);
    free(o->raw_text);
    cJSON_Delete(o->trace);
    memset(o, 0, sizeof *o);
}
