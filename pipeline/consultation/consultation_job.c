/* consultation_job.c — a consultation run with the pipeline's model, stored;
 * and the Kafka job form of it (see consultation_job.h). */
#include "pipeline/consultation/consultation_job.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/sha256.h"
#include "store/store_consultation.h"

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The stored form of a run: its responses with their annotations and its
 * themes (arrays malloc'd into *run; free with free_run_rows). */
static int run_rows(const consultation_result *res, const response_set *rs, store_consultation_run *run, perr *err)
{
    if (res->n != rs->n)
        return perr_set(err, "consultation run: the result does not match the responses");
    store_consultation_response *rows = calloc(res->n ? res->n : 1, sizeof *rows);
    store_consultation_theme *themes = calloc(res->n_themes ? res->n_themes : 1, sizeof *themes);
    if (!rows || !themes) {
        free(rows);
        free(themes);
        return perr_set(err, "out of memory");
    }
    for (size_t i = 0; i < res->n; i++) {
        const consultation_annotation *a = &res->annotations[i];
        rows[i] = (store_consultation_response){
            .response_id = a->response_id, .text = rs->items[i].text, .position = a->position,
            .evidence_rich = a->evidence_rich, .themes = a->themes, .truncated = a->truncated,
            .unprocessable = a->unprocessable, .reason = a->reason};
    }
    for (size_t i = 0; i < res->n_themes; i++) {
        const consultation_theme *t = &res->themes[i];
        themes[i] = (store_consultation_theme){.id = t->id, .label = t->label, .description = t->description,
                                               .position = t->position, .response_count = t->response_count};
    }
    run->responses = rows;
    run->themes = themes;
    run->n_themes = res->n_themes;
    return 0;
}

static void free_run_rows(store_consultation_run *run)
{
    free((void *)run->responses);
    free((void *)run->themes);
}

/* What any run records: its counters and its trace (*trace malloc'd). */
static void run_counters(const consultation_result *res, store_consultation_run *run, char **trace)
{
    *trace = res->out.trace ? cJSON_PrintUnformatted(res->out.trace) : NULL;
    run->trace_json = *trace;
    run->n_unprocessable = res->n_unprocessable;
    run->n_truncated = res->n_truncated;
    run->n_candidates = res->n_candidates;
    run->calls = res->out.calls;
    run->prompt_tokens = res->out.prompt_tokens;
    run->completion_tokens = res->out.completion_tokens;
}

int consultation_execute(pipeline *p, store *s, const consultation_request *rq, const pipeline_hooks *hooks,
                         consultation_result *res, long long *run_id, int *store_rc, perr *err)
{
    memset(res, 0, sizeof *res);
    *store_rc = 0;
    if (run_id)
        *run_id = 0;
    analysis_input in;
    if (pipeline_analysis_input(p, "consultation", &in, err) != 0)
        return -1;
    in.cancel = hooks ? hooks->cancel : NULL;
    in.cancel_ctx = hooks ? hooks->cancel_ctx : NULL;
    double started = wall_seconds();
    int rc = consultation_run(&in, rq->question, rq->responses, &rq->options, res, err);
    if (rc == LLM_CANCELLED || !s)
        return rc;
    const llm *m = pipeline_llm(p);
    store_consultation_run run = {
        .collection = rq->collection, .job_id = rq->job_id, .source = rq->source,
        .source_sha256 = rq->source_sha256, .question = rq->question, .prompt_version = in.prompt->version,
        .model_name = llm_model_name(m), .model_sha256 = llm_model_sha256(m),
        .max_themes = rq->options.max_themes ? rq->options.max_themes : CONSULTATION_DEFAULT_MAX_THEMES,
        .started_at = started, .n_responses = rq->responses->n, .error = rc == 0 ? NULL : err->msg,
    };
    char *trace = NULL;
    run_counters(res, &run, &trace);
    perr serr;
    *store_rc = rc == 0 ? run_rows(res, rq->responses, &run, &serr) : 0;
    if (*store_rc == 0)
        *store_rc = store_consultation_save(s, &run, run_id, &serr);
    if (*store_rc != 0 && rc == 0)
        *err = serr;
    free_run_rows(&run);
    free(trace);
    return rc;
}

static int add_response(void *ctx, const char *id, const char *text, perr *err)
{
    return responses_add(ctx, id, text, 0, err);
}

int consultation_collection_responses(store *s, const char *collection, response_set *out, perr *err)
{
    *out = (response_set){0};
    int rc = store_consultation_responses(s, collection, add_response, out, err);
    if (rc == 0 && out->n == 0)
        rc = perr_set(err, "collection %s has no documents", collection);
    if (rc == 0)
        rc = responses_check_unique(out, err);
    if (rc != 0)
        responses_clear(out);
    return rc;
}

int consultation_job_wanted(const job *j)
{
    for (size_t i = 0; i < j->n_analyses; i++)
        if (strcmp(j->analyses[i], "consultation") == 0)
            return 1;
    return 0;
}

/* "question" and "max_themes" from the job's metadata (question malloc'd). */
static int job_options(const job *j, char **question, consultation_options *o, perr *err)
{
    *question = NULL;
    cJSON *m = cJSON_Parse(j->metadata_json ? j->metadata_json : "{}");
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(m, "question");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(m, "max_themes");
    int rc = 0;
    if (q && !cJSON_IsString(q))
        rc = perr_set(err, "metadata \"question\" must be a string");
    else if (k && (!cJSON_IsNumber(k) || k->valuedouble != floor(k->valuedouble) || k->valuedouble < 1 ||
                   k->valuedouble > CONSULTATION_MAX_THEMES))
        rc = perr_set(err, "metadata \"max_themes\" must be an integer 1..%d", CONSULTATION_MAX_THEMES);
    if (rc == 0 && k)
        o->max_themes = (int)k->valuedouble;
    if (rc == 0 && !(*question = strdup(q ? q->valuestring : "")))
        rc = perr_set(err, "out of memory");
    cJSON_Delete(m);
    return rc;
}

static int fail_with(pipeline_report *rep, const char *error_class)
{
    snprintf(rep->error_class, sizeof rep->error_class, "%s", error_class);
    return PIPELINE_PERMANENT;
}

int consultation_job_run(pipeline *p, store *s, const job *j, const unsigned char *bytes, size_t len,
                         const pipeline_hooks *hooks, pipeline_report *rep, perr *err)
{
    if (j->n_analyses != 1)
        return perr_set(err, "a consultation job must ask for \"consultation\" alone"), fail_with(rep, "unknown_analysis");
    sha256_hex(bytes, len, rep->sha256);
    const char *name = j->doc_kind == JOB_DOC_PATH ? j->path : j->filename;
    responses_options ro = {.format = responses_format_for_name(name)};
    response_set rs;
    if (responses_parse((const char *)bytes, len, &ro, &rs, err) != 0)
        return perr_prefix(err, "responses %s", job_source(j)), fail_with(rep, "document");
    consultation_request rq = {.collection = j->collection ? j->collection : j->job_id, .job_id = j->job_id,
                               .source = job_source(j), .source_sha256 = rep->sha256, .responses = &rs};
    char *question = NULL;
    int rc = job_options(j, &question, &rq.options, err);
    if (rc != 0) {
        responses_clear(&rs);
        return fail_with(rep, "invalid_job");
    }
    rq.question = question;
    consultation_result res;
    int store_rc = 0;
    double t0 = wall_seconds();
    rc = consultation_execute(p, s, &rq, hooks, &res, NULL, &store_rc, err);
    rep->analyze_seconds = wall_seconds() - t0;
    rep->tokens_in = res.out.prompt_tokens;
    rep->tokens_out = res.out.completion_tokens;
    consultation_result_clear(&res);
    responses_clear(&rs);
    free(question);
    if (rc == LLM_CANCELLED)
        return PIPELINE_TRANSIENT;
    if (rc != 0)
        return perr_prefix(err, "consultation"), fail_with(rep, "engine");
    if (store_rc == STORE_TRANSIENT)
        return PIPELINE_TRANSIENT;
    return store_rc == 0 ? 0 : fail_with(rep, "store");
}
