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

/* A theme as stored, with its counts and flags (duplicates malloc'd into row). */
static int theme_row(const consultation_theme *t, store_consultation_theme *row)
{
    store_consultation_duplicate *dups = calloc(t->n_duplicates ? t->n_duplicates : 1, sizeof *dups);
    if (!dups)
        return -1;
    for (size_t k = 0; k < t->n_duplicates; k++)
        dups[k] = (store_consultation_duplicate){.id = t->duplicates[k].id,
                                                 .label_overlap = t->duplicates[k].label_overlap,
                                                 .response_overlap = t->duplicates[k].response_overlap};
    *row = (store_consultation_theme){.id = t->id, .label = t->label, .description = t->description,
                                      .position = t->position, .response_count = t->response_count,
                                      .agree = t->agree, .disagree = t->disagree, .unclear = t->unclear,
                                      .no_position = t->no_position, .minority = t->minority,
                                      .duplicates = dups, .n_duplicates = t->n_duplicates};
    return 0;
}

/* The candidate new themes a run proposed (array malloc'd into *run). */
static int candidate_rows(const consultation_result *res, store_consultation_run *run, perr *err)
{
    if (res->n_proposals == 0)
        return 0;
    store_theme_candidate *c = calloc(res->n_proposals, sizeof *c);
    if (!c)
        return perr_set(err, "out of memory");
    for (size_t i = 0; i < res->n_proposals; i++)
        c[i] = (store_theme_candidate){.label = res->proposals[i].label,
                                       .description = res->proposals[i].description,
                                       .position = res->proposals[i].position};
    run->candidates = c;
    run->n_theme_candidates = res->n_proposals;
    return 0;
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
            .unprocessable = a->unprocessable, .unassigned = a->unassigned, .reason = a->reason};
    }
    run->responses = rows;
    run->themes = themes;
    run->n_themes = res->n_themes;
    for (size_t i = 0; i < res->n_themes; i++)
        if (theme_row(&res->themes[i], &themes[i]) != 0)
            return perr_set(err, "out of memory");
    return candidate_rows(res, run, err);
}

static void free_run_rows(store_consultation_run *run)
{
    for (size_t i = 0; run->themes && i < run->n_themes; i++)
        free((void *)run->themes[i].duplicates);
    free((void *)run->responses);
    free((void *)run->themes);
    free((void *)run->candidates);
    run->responses = NULL;
    run->themes = NULL;
    run->candidates = NULL;
}

/* What any run records: its counters and its trace (*trace malloc'd). */
static void run_counters(const consultation_result *res, store_consultation_run *run, char **trace)
{
    *trace = res->out.trace ? cJSON_PrintUnformatted(res->out.trace) : NULL;
    run->trace_json = *trace;
    run->n_unprocessable = res->n_unprocessable;
    run->n_truncated = res->n_truncated;
    run->n_candidates = res->n_candidates;
    run->flags = (store_consultation_flags){.minority_min_responses = res->flags.minority_min_responses,
                                            .minority_min_share = res->flags.minority_min_share,
                                            .duplicate_label_overlap = res->flags.duplicate_label_overlap,
                                            .duplicate_response_overlap = res->flags.duplicate_response_overlap};
    run->n_unassigned = res->n_unassigned;
    run->calls = res->out.calls;
    run->prompt_tokens = res->out.prompt_tokens;
    run->completion_tokens = res->out.completion_tokens;
}

/* What the stored run says of itself (no rows yet). */
typedef struct run_meta {
    const char *prompt_version, *model_name, *model_sha256;
    double started_at;
    const char *error;           /* NULL: done */
    const store_unassigned_key *used;   /* pending responses the candidate step used */
    size_t n_used;
} run_meta;

/* rq + res -> the stored form (rows malloc'd into *run; *trace too): free
 * with free_run_rows and free(*trace). */
static int run_record(const consultation_request *rq, const consultation_result *res, const run_meta *m,
                      store_consultation_run *run, char **trace, perr *err)
{
    *run = (store_consultation_run){
        .collection = rq->collection, .job_id = rq->job_id, .source = rq->source,
        .source_sha256 = rq->source_sha256, .question = rq->question, .prompt_version = m->prompt_version,
        .model_name = m->model_name, .model_sha256 = m->model_sha256,
        .max_themes = rq->options.max_themes ? rq->options.max_themes : CONSULTATION_DEFAULT_MAX_THEMES,
        .started_at = m->started_at, .n_responses = rq->responses->n, .error = m->error,
        .approved = rq->options.approved ? &rq->approved_row : NULL, .used = m->used, .n_used = m->n_used,
    };
    if (rq->options.approved)
        run->max_themes = (int)rq->options.approved->n;
    run_counters(res, run, trace);
    return m->error ? 0 : run_rows(res, rq->responses, run, err);
}

/* Write the run (not a job's status): store_consultation_save. */
static int save_run(store *s, const consultation_request *rq, const consultation_result *res, const run_meta *m,
                    long long *run_id, perr *err)
{
    store_consultation_run run;
    char *trace = NULL;
    int rc = run_record(rq, res, m, &run, &trace, err);
    if (rc == 0)
        rc = store_consultation_save(s, &run, run_id, err);
    free_run_rows(&run);
    free(trace);
    return rc;
}

int consultation_execute(const analysis_input *in, store *s, const consultation_request *rq,
                         consultation_result *res, long long *run_id, int *store_rc, perr *err)
{
    memset(res, 0, sizeof *res);
    *store_rc = 0;
    if (run_id)
        *run_id = 0;
    double started = wall_seconds();
    int rc = consultation_run(in, rq->question, rq->responses, &rq->options, res, err);
    size_t n_used = 0;
    if (rc == 0 && rq->options.approved)
        rc = consultation_propose_if_due(in, rq->question, rq->options.approved, rq->pending, rq->responses, res,
                                         rq->candidate_threshold, &n_used, err);
    if (rc == LLM_CANCELLED || !s)
        return rc;
    run_meta m = {.prompt_version = in->prompt->version, .model_name = llm_model_name(in->llm),
                  .model_sha256 = llm_model_sha256(in->llm), .started_at = started, .error = rc == 0 ? NULL : err->msg,
                  .used = rq->pending ? rq->pending->keys : NULL, .n_used = n_used};
    perr serr;
    *store_rc = save_run(s, rq, res, &m, run_id, &serr);
    if (*store_rc != 0 && rc == 0)
        *err = serr;
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

/* "question" and "max_themes" from the job's metadata (question malloc'd;
 * NULL when absent). */
static int job_options(const job *j, char **question, consultation_options *o, perr *err)
{
    *question = NULL;
    cJSON *m = cJSON_Parse(j->metadata_json ? j->metadata_json : "{}");
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(m, "question");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(m, "max_themes");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "response_id");
    int rc = 0;
    if (q && !cJSON_IsString(q))
        rc = perr_set(err, "metadata \"question\" must be a string");
    else if (r && !cJSON_IsString(r))
        rc = perr_set(err, "metadata \"response_id\" must be a string");
    else if (k && (!cJSON_IsNumber(k) || k->valuedouble != floor(k->valuedouble) || k->valuedouble < 1 ||
                   k->valuedouble > CONSULTATION_MAX_THEMES))
        rc = perr_set(err, "metadata \"max_themes\" must be an integer 1..%d", CONSULTATION_MAX_THEMES);
    if (rc == 0 && k)
        o->max_themes = (int)k->valuedouble;
    if (rc == 0 && q && !(*question = strdup(q->valuestring)))
        rc = perr_set(err, "out of memory");
    cJSON_Delete(m);
    return rc;
}

/* A {"text": ...} job is one response: its id the metadata's "response_id", else the job id. */
static int single_response(const job *j, response_set *out, perr *err)
{
    cJSON *m = cJSON_Parse(j->metadata_json ? j->metadata_json : "{}");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "response_id");
    int rc = responses_add(out, cJSON_IsString(r) ? r->valuestring : j->job_id, j->text, 0, err);
    cJSON_Delete(m);
    return rc;
}

static int fail_with(char error_class[32], const char *cls)
{
    snprintf(error_class, 32, "%s", cls);
    return -1;
}

void consultation_job_outcome_free(consultation_job_outcome *o)
{
    if (!o)
        return;
    consultation_result_clear(&o->res);
    responses_clear(&o->responses);
    theme_set_clear(&o->approved);
    for (size_t i = 0; i < o->n_used; i++)
        free((char *)o->used[i].response_id);
    free(o->used);
    free(o->question);
    free(o->error);
    free(o);
}

/* The request of job j over o's parsed responses (o->rq); with an approved
 * set, mapped onto a copy of it. */
static int job_request(const job *j, const consultation_approved *approved, int threshold,
                       consultation_job_outcome *o, char error_class[32], perr *err)
{
    o->rq = (consultation_request){.collection = j->collection ? j->collection : j->job_id, .job_id = j->job_id,
                                   .source = job_source(j), .source_sha256 = o->sha256, .responses = &o->responses};
    if (job_options(j, &o->question, &o->rq.options, err) != 0)
        return fail_with(error_class, "invalid_job");
    const char *question = o->question ? o->question : "";
    if (approved && approved->set_id > 0) {
        if (theme_set_copy(&o->approved, &approved->themes) != 0)
            return perr_set(err, "out of memory"), fail_with(error_class, "engine");
        o->rq.options.approved = &o->approved;
        o->rq.approved_row = (store_approved_set){.id = approved->set_id};
        o->rq.candidate_threshold = threshold;
        o->rq.pending = approved;
        if (!o->question && approved->question)
            question = approved->question;
    }
    if (!o->question && !(o->question = strdup(question)))
        return perr_set(err, "out of memory"), fail_with(error_class, "engine");
    o->rq.question = o->question;
    return 0;
}

/* The pending responses the candidate step used, copied into o. */
static int keep_used(consultation_job_outcome *o, const consultation_approved *approved, size_t n, perr *err)
{
    if (n == 0)
        return 0;
    if (!(o->used = calloc(n, sizeof *o->used)))
        return perr_set(err, "out of memory");
    for (; o->n_used < n; o->n_used++) {
        o->used[o->n_used].run_id = approved->keys[o->n_used].run_id;
        if (!(o->used[o->n_used].response_id = strdup(approved->keys[o->n_used].response_id)))
            return perr_set(err, "out of memory");
    }
    return 0;
}

/* Parse the response file and the job's options into a fresh outcome. */
static int prepare(const job *j, const unsigned char *bytes, size_t len, const consultation_approved *approved,
                   int threshold, consultation_job_outcome **out, char error_class[32], perr *err)
{
    if (j->n_analyses != 1)
        return perr_set(err, "a consultation job must ask for \"consultation\" alone"),
               fail_with(error_class, "unknown_analysis");
    consultation_job_outcome *o = calloc(1, sizeof *o);
    if (!o)
        return perr_set(err, "out of memory"), fail_with(error_class, "engine");
    sha256_hex(bytes, len, o->sha256);
    const char *name = j->doc_kind == JOB_DOC_PATH ? j->path : j->filename;
    responses_options ro = {.format = responses_format_for_name(name)};
    int rc = j->doc_kind == JOB_DOC_TEXT ? single_response(j, &o->responses, err)
                                         : responses_parse((const char *)bytes, len, &ro, &o->responses, err);
    if (rc != 0)
        rc = perr_prefix(err, "responses %s", job_source(j)), fail_with(error_class, "document");
    if (rc == 0)
        rc = job_request(j, approved, threshold, o, error_class, err);
    if (rc != 0) {
        consultation_job_outcome_free(o);
        return -1;
    }
    *out = o;
    return 0;
}

int consultation_job_analyze(const analysis_input *in, const job *j, const unsigned char *bytes, size_t len,
                             const consultation_approved *approved, int candidate_threshold,
                             consultation_job_outcome **out, char error_class[32], perr *err)
{
    *out = NULL;
    consultation_job_outcome *o;
    if (prepare(j, bytes, len, approved, candidate_threshold, &o, error_class, err) != 0)
        return -1;
    o->prompt_version = in->prompt->version;
    o->model_name = llm_model_name(in->llm);
    o->model_sha256 = llm_model_sha256(in->llm);
    o->started_at = wall_seconds();
    int rc = consultation_run(in, o->rq.question, o->rq.responses, &o->rq.options, &o->res, err);
    size_t n_used = 0;
    if (rc == 0 && o->rq.options.approved)
        rc = consultation_propose_if_due(in, o->rq.question, o->rq.options.approved, o->rq.pending, o->rq.responses,
                                         &o->res, o->rq.candidate_threshold, &n_used, err);
    if (rc == 0)
        rc = keep_used(o, o->rq.pending, n_used, err);
    o->rq.pending = NULL;   /* the caller's; not kept past this call */
    o->seconds = wall_seconds() - o->started_at;
    if (rc == LLM_CANCELLED) {
        consultation_job_outcome_free(o);
        return rc;
    }
    if (rc != 0 && !(o->error = strdup(err->msg))) {
        consultation_job_outcome_free(o);
        return perr_set(err, "out of memory"), fail_with(error_class, "engine");
    }
    *out = o;
    return rc == 0 ? 0 : (perr_prefix(err, "consultation"), fail_with(error_class, "engine"));
}

int consultation_job_record(const consultation_job_outcome *o, store_consultation_run *run, char **trace, perr *err)
{
    run_meta m = {.prompt_version = o->prompt_version, .model_name = o->model_name,
                  .model_sha256 = o->model_sha256, .started_at = o->started_at, .error = o->error,
                  .used = o->used, .n_used = o->n_used};
    int rc = run_record(&o->rq, &o->res, &m, run, trace, err);
    if (rc != 0)
        consultation_job_record_free(run, *trace);
    return rc;
}

void consultation_job_record_free(store_consultation_run *run, char *trace)
{
    free_run_rows(run);
    free(trace);
}
