/* job_run.c — start, analyse, store, done | failed: the one writer of a job's status (see job_run.h). */
#include "pipeline/job_run.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/monotonic.h"
#include "store/store_consultation.h"

static int analyze_with_pipeline(void *ctx, const job *j, const pipeline_hooks *hooks, pipeline_report *rep,
                                 perr *err)
{
    return pipeline_analyze(ctx, j, hooks, rep, err);
}

job_analyzer job_analyzer_for_pipeline(pipeline *p)
{
    return (job_analyzer){.analyze = analyze_with_pipeline, .ctx = p};
}

int job_run_start(store *s, const job *j, const store_kafka_pos *pos, store_job_start_info *info, perr *err)
{
    store_job_record r = {.job_id = j->job_id, .collection = j->collection, .analyses = j->analyses,
                          .n_analyses = j->n_analyses, .source = job_source(j), .metadata_json = j->metadata_json};
    return store_job_start(s, &r, pos, info, err);
}

/* The report's document and results as rows, the job done (one transaction). */
static int store_document_done(store *s, const job *j, const pipeline_report *rep, perr *err)
{
    const document *d = rep->doc;
    store_document sd = {
        .sha256 = rep->sha256, .source = rep->source, .media_type = d->media_type, .format = d->format,
        .title = d->title, .language = d->language, .pages = d->pages, .metadata_json = rep->metadata_json,
        .text = d->full_text, .structure_json = rep->structure_json,
    };
    store_result results[PIPELINE_MAX_ANALYSES];
    for (size_t i = 0; i < rep->n_results; i++) {
        const pipeline_result *r = &rep->results[i];
        results[i] = (store_result){
            .analysis = r->analysis, .prompt_name = r->prompt_name, .prompt_version = r->prompt_version,
            .model_name = r->model_name, .model_sha256 = r->model_sha256,
            .sampling_json = r->sampling_json, .output_json = r->output_json, .raw_text = r->raw_text,
            .prompt_tokens = r->prompt_tokens, .completion_tokens = r->completion_tokens,
            .prompt_ms = r->prompt_ms, .completion_ms = r->completion_ms, .timings_json = r->timings_json,
            .trace_json = r->trace_json,
        };
    }
    return store_job_done(s, j->job_id, &sd, results, rep->n_results, NULL, err);
}

/* A consultation job's run: done with the job marked done (one
 * transaction), or failed in the model as its failed run row alone. */
static int store_consultation(store *s, const consultation_job_outcome *o, perr *err)
{
    store_consultation_run run;
    char *trace = NULL;
    int rc = consultation_job_record(o, &run, &trace, err);
    if (rc != 0)
        return rc;
    rc = o->error ? store_consultation_save(s, &run, NULL, err)
                  : store_job_done_consultation(s, o->rq.job_id, &run, NULL, err);
    consultation_job_record_free(&run, trace);
    return rc;
}

/* Record an analysed job done; a store refusal is permanent (class "store"). */
static int store_done(store *s, const job *j, const pipeline_hooks *hooks, pipeline_report *rep, perr *err)
{
    if (hooks && hooks->stage)
        hooks->stage(hooks->stage_ctx, "store");
    double t0 = monotonic_seconds();
    int rc = rep->consultation ? store_consultation(s, rep->consultation, err)
                               : store_document_done(s, j, rep, err);
    rep->store_seconds = monotonic_seconds() - t0;
    if (rc == STORE_ERROR)
        snprintf(rep->error_class, sizeof rep->error_class, "store");
    return rc;
}

/* A consultation run that failed in the model is kept as a failed run row. */
static void store_failed_run(store *s, const pipeline_report *rep)
{
    perr serr;
    const consultation_job_outcome *o = rep->consultation;
    if (s && o && o->error && store_consultation(s, o, &serr) != 0)
        log_warn("cannot store the failed consultation run", "job_id=%s error=%s", o->rq.job_id, serr.msg);
}

/* A consultation job's collection: its approved set and pending unassigned
 * responses, read before the analysis (which never reads the database). */
static int load_approved(store *s, const job *j, consultation_approved *approved, pipeline_report *rep, perr *err)
{
    *approved = (consultation_approved){0};
    if (!s || !consultation_job_wanted(j))
        return 0;
    int rc = consultation_approved_load(s, j->collection ? j->collection : j->job_id, approved, err);
    if (rc == STORE_ERROR)
        snprintf(rep->error_class, sizeof rep->error_class, "store");
    if (rc != 0)
        perr_prefix(err, "reading the approved themes of the job's collection");
    return rc;
}

int job_run_execute(const job_analyzer *a, store *s, const job *j, const pipeline_hooks *hooks,
                    pipeline_report *rep, perr *err)
{
    memset(rep, 0, sizeof *rep);
    consultation_approved approved;
    int rc = load_approved(s, j, &approved, rep, err);
    if (rc != 0)
        return rc;
    pipeline_hooks h = hooks ? *hooks : (pipeline_hooks){0};
    h.approved = &approved;
    rc = a->analyze(a->ctx, j, &h, rep, err);
    if (rc == PIPELINE_PERMANENT)
        store_failed_run(s, rep);
    if (rc == 0 && s)
        rc = store_done(s, j, &h, rep, err);
    consultation_approved_clear(&approved);
    return rc;
}

int job_run_fail(store *s, const char *job_id, const store_kafka_pos *pos, const char *error_class,
                 const char *reason, int dead, perr *err)
{
    return store_job_failed(s, job_id, pos, error_class, reason, dead, err);
}
