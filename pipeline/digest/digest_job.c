/* digest_job.c — fetch, digest, render and store one collection digest
 * (see digest_job.h). */
#include "pipeline/digest/digest_job.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/digest/collection_digest.h"
#include "pipeline/digest/collection_digest_render.h"
#include "store/store_digest.h"

void digest_format_time(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, cap, "@%lld", (long long)t);
}

static void format_minutes(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(buf, cap, "%Y-%m-%d %H:%M", &tm) == 0)
        snprintf(buf, cap, "@%lld", (long long)t);
}

void digest_period_text(int64_t start, int64_t end, char *buf, size_t cap)
{
    char a[32], b[32];
    format_minutes(start, a, sizeof a);
    format_minutes(end, b, sizeof b);
    snprintf(buf, cap, "%s to %s UTC", a, b);
}

void digest_manual_period_key(int64_t start, int64_t end, char *buf, size_t cap)
{
    char a[32], b[32];
    digest_format_time(start, a, sizeof a);
    digest_format_time(end, b, sizeof b);
    snprintf(buf, cap, "manual:%s/%s", a, b);
}

void digest_outcome_clear(digest_outcome *o)
{
    free(o->output_json);
    free(o->markdown);
    free(o->html);
    memset(o, 0, sizeof *o);
}

static void count_documents(digest_outcome *o)
{
    cJSON *v = cJSON_Parse(o->output_json);
    const cJSON *d;
    cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(v, "documents"))
    {
        o->documents++;
        o->summarized += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "summarized"));
        o->cited += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "cited"));
    }
    o->themes = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(v, "themes"));
    cJSON_Delete(v);
}

static int render(const digest_job *job, const char *period, const char *model, digest_outcome *o, perr *err)
{
    char now[32];
    digest_format_time((int64_t)time(NULL), now, sizeof now);
    digest_page page = {.collection = job->collection, .period = period, .generated_at = now, .model_name = model};
    if (!(o->html = digest_render_html(o->output_json, &page, err)) ||
        !(o->markdown = digest_render_markdown(o->output_json, &page, err)))
        return -1;
    return 0;
}

/* Analyse docs and fill o (everything but the stored id). */
static int digest_documents(pipeline *p, const digest_job *job, const digest_source *docs, size_t n,
                            analysis_input *in, analysis_output *out, digest_outcome *o, perr *err)
{
    char period[128];
    digest_period_text(job->window_start, job->window_end, period, sizeof period);
    digest_request req = {.collection = job->collection, .period = period, .docs = docs, .n_docs = n};
    int rc = analysis_digest(in, &req, out, err);
    if (rc != 0)
        return rc;
    o->output_json = out->output_json;
    out->output_json = NULL;
    o->calls = out->calls;
    o->batches = out->chunks;
    o->levels = out->levels;
    o->prompt_tokens = out->prompt_tokens;
    o->completion_tokens = out->completion_tokens;
    count_documents(o);
    return render(job, period, llm_model_name(pipeline_llm(p)), o, err);
}

int digest_job_run(pipeline *p, store *s, const digest_job *job, digest_outcome *o, perr *err)
{
    memset(o, 0, sizeof *o);
    if (job->period_key)
        snprintf(o->period_key, sizeof o->period_key, "%s", job->period_key);
    else
        digest_manual_period_key(job->window_start, job->window_end, o->period_key, sizeof o->period_key);
    analysis_input in;
    if (pipeline_analysis_input(p, "digest", &in, err) != 0)
        return STORE_ERROR;
    in.cancel = job->cancel;
    in.cancel_ctx = job->cancel_ctx;
    digest_source *docs = NULL;
    size_t n = 0;
    int rc = store_digest_sources(s, job->collection, job->window_start, job->window_end, &docs, &n, err);
    analysis_output out = {0};
    if (rc == 0)
        rc = digest_documents(p, job, docs, n, &in, &out, o, err);
    char *trace = rc == 0 && out.trace ? cJSON_PrintUnformatted(out.trace) : NULL;
    if (rc == 0) {
        store_digest_row row = {
            .collection = job->collection, .schedule = job->schedule, .period_key = o->period_key,
            .window_start = job->window_start, .window_end = job->window_end, .prompt_version = in.prompt->version,
            .model_sha256 = llm_model_sha256(pipeline_llm(p)), .output_json = o->output_json,
            .markdown = o->markdown, .html = o->html, .trace_json = trace, .document_count = (int)n,
        };
        rc = store_digest_save(s, &row, &o->digest_id, err);
    }
    free(trace);
    analysis_output_clear(&out);
    digest_sources_free(docs, n);
    if (rc != 0) {
        perr_prefix(err, "digest of %s", job->collection);
        digest_outcome_clear(o);
    }
    return rc;
}
