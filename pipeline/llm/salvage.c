/* salvage.c — keep and repair the last rejected structured answer (see salvage.h). */
#include "pipeline/llm/salvage.h"

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

/* A call rejected twice: repair its last answer if the caller can. */
static void try_repair(analysis_output *out, const structured_call *c, keeper *k, salvage_repair_fn repair,
                       void *repair_ctx, cJSON **answer, int *rc, perr *why)
{
    if (*rc != STRUCTURED_INVALID || !k->last_rejected || !repair)
        return;
    perr rejection = *why;
    if (repair(k->last_rejected, repair_ctx, why) != 0) {
        perr_prefix(why, "%s; repairing the answer failed too", rejection.msg);
        return;
    }
    structured_trace(out, c->step, "repaired", rejection.msg, NULL);
    *answer = k->last_rejected;
    k->last_rejected = NULL;
    *rc = 0;
}

int salvage_run_many(const analysis_input *in, analysis_output *out, const structured_call *calls, size_t n,
                     salvage_repair_fn repair, void *repair_ctx, cJSON **answers, char **raws, int *rcs, perr *errs,
                     perr *err)
{
    keeper *keepers = calloc(n ? n : 1, sizeof *keepers);
    structured_call *wrapped = calloc(n ? n : 1, sizeof *wrapped);
    if (!keepers || !wrapped) {
        free(keepers);
        free(wrapped);
        return perr_set(err, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        keepers[i] = (keeper){.check = calls[i].check, .check_ctx = calls[i].check_ctx};
        wrapped[i] = calls[i];
        if (calls[i].check) {
            wrapped[i].check = keep_rejected;
            wrapped[i].check_ctx = &keepers[i];
        }
    }
    int rc = structured_run_many(in, out, wrapped, n, answers, raws, rcs, errs, err);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0)
            try_repair(out, &calls[i], &keepers[i], repair, repair_ctx, &answers[i], &rcs[i], &errs[i]);
        cJSON_Delete(keepers[i].last_rejected);
    }
    free(keepers);
    free(wrapped);
    return rc;
}

int salvage_run_parts(const analysis_input *in, analysis_output *out, const structured_call *calls, size_t n,
                      salvage_repair_fn repair, void *repair_ctx, cJSON **answers, char **raw, perr *err)
{
    char **raws = calloc(n ? n : 1, sizeof *raws);
    int *rcs = calloc(n ? n : 1, sizeof *rcs);
    perr *errs = calloc(n ? n : 1, sizeof *errs);
    int rc = raws && rcs && errs ? 0 : perr_set(err, "out of memory");
    if (rc == 0)
        rc = salvage_run_many(in, out, calls, n, repair, repair_ctx, answers, raws, rcs, errs, err);
    if (rc == 0)
        rc = structured_first_failure(rcs, errs, n, "part", err);
    for (size_t i = 0; raws && i < n; i++) {
        if (rc == 0 && i + 1 == n) {
            free(*raw);
            *raw = raws[i];
        } else {
            free(raws[i]);
        }
    }
    free(raws);
    free(rcs);
    free(errs);
    return rc;
}

int salvage_run(const analysis_input *in, analysis_output *out, const structured_call *c, salvage_repair_fn repair,
                void *repair_ctx, cJSON **answer, char **raw, perr *err)
{
    int rc_call;
    perr why = {{0}};
    int rc = salvage_run_many(in, out, c, 1, repair, repair_ctx, answer, raw, &rc_call, &why, err);
    if (rc != 0)
        return rc;
    if (rc_call != 0)
        perr_set(err, "%s", why.msg);
    return rc_call;
}
