/* stub_analyzer.c — report the document and placeholder results without a model (see stub_analyzer.h). */
#include "tests/stub_analyzer.h"

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/sha256.h"

static const char stub_model_sha256[] = "0000000000000000000000000000000000000000000000000000000000000000";

/* The job's pretend work: delay_ms plus a share of jitter_ms fixed by its id. */
static long work_ms(const stub_analyzer_options *o, const job *j)
{
    if (!o)
        return 0;
    uint32_t h = 2166136261u;   /* FNV-1a */
    for (const char *p = j->job_id; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return o->delay_ms + (o->jitter_ms > 0 ? (long)(h % (uint32_t)(o->jitter_ms + 1)) : 0);
}

/* Sleep ms in small steps; 0, or -1 once the job must stop. */
static int pretend_work(long ms, const pipeline_hooks *hooks)
{
    for (long waited = 0; waited < ms; waited += 10) {
        if (hooks && hooks->cancel && hooks->cancel(hooks->cancel_ctx))
            return -1;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* The bytes as a document: their text when they are UTF-8 (bytes taken), else none. */
static document *stub_document(unsigned char *bytes, size_t len)
{
    int is_text = g_utf8_validate((const char *)bytes, (gssize)len, NULL) && !memchr(bytes, 0, len);
    document *d = document_new(is_text ? "text" : "binary", NULL);
    free(d->media_type);
    d->media_type = NULL;
    free(d->full_text);
    d->full_text = is_text ? (char *)bytes : NULL;
    d->full_text_len = is_text ? len : 0;
    if (!is_text)
        free(bytes);
    return d;
}

static void add_results(const job *j, pipeline_report *rep)
{
    size_t n = j->n_analyses ? j->n_analyses : 1;
    for (size_t i = 0; i < n && i < PIPELINE_MAX_ANALYSES; i++) {
        rep->results[rep->n_results++] = (pipeline_result){
            .analysis = j->n_analyses ? j->analyses[i] : "summary", .prompt_name = "stub", .prompt_version = "0",
            .model_name = "none", .model_sha256 = stub_model_sha256,
            .raw_text = strdup("(stub pipeline: no model was run)"),
            .prompt_tokens = -1, .completion_tokens = -1, .prompt_ms = -1, .completion_ms = -1,
        };
    }
}

int stub_analyze(void *ctx, const job *j, const pipeline_hooks *hooks, pipeline_report *rep, perr *err)
{
    const stub_analyzer_options *o = ctx;
    memset(rep, 0, sizeof *rep);
    rep->source = job_source(j);
    if (pretend_work(work_ms(o, j), hooks) != 0)
        return perr_set(err, "cancelled (shutdown or job_timeout)"), PIPELINE_TRANSIENT;
    unsigned char *bytes = NULL;
    size_t len = 0;
    if (job_load_document(j, o ? o->input_root : NULL, &bytes, &len, err) != 0) {
        snprintf(rep->error_class, sizeof rep->error_class, "document");
        return PIPELINE_PERMANENT;
    }
    sha256_hex(bytes, len, rep->sha256);
    rep->doc = stub_document(bytes, len);
    add_results(j, rep);
    return 0;
}
