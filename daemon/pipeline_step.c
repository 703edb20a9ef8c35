/* pipeline_step.c — the model pipeline as the daemon's job step (see pipeline_step.h). */
#include "daemon/pipeline_step.h"

#include <stdio.h>

#include "common/log.h"

static void observe(metrics *m, const pipeline_report *rep)
{
    if (!m)
        return;
    metrics_observe_stage(m, "load", rep->load_seconds);
    if (rep->doc)
        metrics_observe_stage(m, "extract", rep->extract_seconds);
    if (rep->n_results) {
        metrics_observe_stage(m, "analyze", rep->analyze_seconds);
        metrics_add_tokens(m, (uint64_t)rep->tokens_in, (uint64_t)rep->tokens_out);
        metrics_add_cached_tokens(m, (uint64_t)rep->tokens_cached);
    }
}

int pipeline_step(void *ctx, job_run *run, perr *err)
{
    pipeline *p = ctx;
    pipeline_hooks hooks = {.cancel = job_run_should_stop, .cancel_ctx = run};
    pipeline_report rep;
    int rc = pipeline_process(p, run->store, run->job, &hooks, &rep, err);
    observe(run->metrics, &rep);
    if (rc == 0) {
        if (run->metrics)
            metrics_observe_stage(run->metrics, "store", rep.store_seconds);
        snprintf(run->document_sha256, sizeof run->document_sha256, "%s", rep.sha256);
        log_info("job analysed", "job_id=%s source=%s sha256=%.12s title=%s tokens_in=%ld tokens_out=%ld "
                 "tokens_cached=%ld extract_ms=%.0f analyze_ms=%.0f", run->job->job_id, rep.source, rep.sha256,
                 rep.doc && rep.doc->title ? rep.doc->title : "", rep.tokens_in, rep.tokens_out, rep.tokens_cached,
                 rep.extract_seconds * 1000, rep.analyze_seconds * 1000);
    } else if (rc == STORE_ERROR) {
        snprintf(run->error_class, sizeof run->error_class, "%s", rep.error_class[0] ? rep.error_class : "pipeline");
    }
    pipeline_report_clear(&rep);
    return rc;
}
