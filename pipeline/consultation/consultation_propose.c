/* consultation_propose.c — candidate new themes from the responses that fit
 * no theme of an approved set: the themes and condense steps over them
 * alone (traced as "propose:themes", "propose:condense"), for an analyst
 * to review (see consultation.h). */
#include <stdlib.h>
#include <string.h>

#include "pipeline/consultation/consultation_internal.h"

/* The condensed candidates appended to res->proposals. */
static int keep_proposals(const theme_list *l, consultation_result *res, perr *err)
{
    consultation_proposal *grown = realloc(res->proposals, (res->n_proposals + l->n + 1) * sizeof *grown);
    if (!grown)
        return perr_set(err, "out of memory");
    res->proposals = grown;
    for (size_t i = 0; i < l->n; i++) {
        consultation_proposal *p = &res->proposals[res->n_proposals];
        *p = (consultation_proposal){.label = strdup(l->items[i].label),
                                     .description = strdup(l->items[i].description)};
        memcpy(p->position, l->items[i].position, sizeof p->position);
        if (!p->label || !p->description) {
            free(p->label);
            free(p->description);
            return perr_set(err, "out of memory");
        }
        res->n_proposals++;
    }
    return 0;
}

int consultation_propose(const analysis_input *in, const char *question, const response_set *rs,
                         const theme_set *approved, consultation_result *res, perr *err)
{
    (void)approved;   /* only read: candidates never join it */
    if (rs->n == 0)
        return 0;
    /* The steps write their calls and trace to the scratch result's out:
     * res->out is lent to it and taken back. */
    consultation_result scratch = {.annotations = calloc(rs->n, sizeof *scratch.annotations), .n = rs->n,
                                   .out = res->out};
    res->out = (analysis_output){0};
    if (!scratch.annotations) {
        res->out = scratch.out;
        return perr_set(err, "out of memory");
    }
    for (size_t i = 0; i < rs->n; i++)
        scratch.annotations[i].response_id = rs->items[i].id;
    consult_ctx cx = {.in = in, .question = question ? question : "", .rs = rs, .res = &scratch,
                      .max_themes = CONSULTATION_DEFAULT_MAX_THEMES, .batch_size = 20, .proposing = 1};
    structured_trace(&scratch.out, "propose", "start", NULL, NULL);
    int rc = consult_generate_themes(&cx, err);
    if (rc == 0)
        rc = consult_condense(&cx, err);
    if (rc == 0)
        rc = keep_proposals(&cx.candidates, res, err);
    theme_list_clear(&cx.candidates);
    res->out = scratch.out;
    scratch.out = (analysis_output){0};
    consultation_result_clear(&scratch);
    if (rc == 0) {
        cJSON *extra = cJSON_CreateObject();
        if (extra) {
            cJSON_AddNumberToObject(extra, "responses", (double)rs->n);
            cJSON_AddNumberToObject(extra, "count", (double)res->n_proposals);
        }
        structured_trace(&res->out, "propose", "candidates", NULL, extra);
    }
    return rc;
}
