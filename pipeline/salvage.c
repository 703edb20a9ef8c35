/* salvage.c — keep and repair the last rejected structured answer (see salvage.h). */
#include "pipeline/salvage.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

typedef struct keeper {
    structured_check_fn check;
    void *check_ctx;
    cJSON *last_rejected;
} keeper;

static int keep_rejected(const cJSON *answer, void *ctx, perr *err)
{
    keeper *k = ctx;
    if (k->check(answer, k->check_ctx, err) == 0)
        return 0;
    cJSON_Delete(k->last_rejected);
    k->last_rejected = cJSON_Duplicate(answer, 1);
    return -1;
}

int salvage_run(const analysis_input *in, analysis_output *out, const structured_call *c, salvage_repair_fn repair,
                void *repair_ctx, cJSON **answer, char **raw, perr *err)
{
    keeper k = {.check = c->check, .check_ctx = c->check_ctx};
    structured_call call = *c;
    if (c->check) {
        call.check = keep_rejected;
        call.check_ctx = &k;
    }
    int rc = structured_run(in, out, &call, answer, raw, err);
    if (rc == STRUCTURED_INVALID && k.last_rejected && repair) {
        perr why = *err;
        if (repair(k.last_rejected, repair_ctx, err) == 0) {
            structured_trace(out, c->step, "repaired", why.msg, NULL);
            *answer = k.last_rejected;
            k.last_rejected = NULL;
            rc = 0;
        } else {
            perr_prefix(err, "%s; repairing the answer failed too", why.msg);
        }
    }
    cJSON_Delete(k.last_rejected);
    return rc;
}
