/* stub_step.c — record the document and placeholder results without a model (see stub_step.h). */
#include "tests/stub_step.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/sha256.h"

#define STUB_MAX_RESULTS JOB_ANALYSES_MAX

/* Sleep delay_ms in small steps; 0, or -1 once the job must stop (the
 * shutdown grace is over or its job_timeout passed). */
static int pretend_work(const stub_step_options *o, job_run *run)
{
    for (long waited = 0; o && waited < o->delay_ms; waited += 10) {
        if (job_run_should_stop(run))
            return -1;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}

int stub_step(void *ctx, job_run *run, perr *err)
{
    if (pretend_work(ctx, run) != 0)
        return perr_set(err, "cancelled (shutdown or job_timeout)"), STORE_TRANSIENT;
    unsigned char *bytes = NULL;
    size_t len = 0;
    if (job_load_document(run->job, run->input_root, &bytes, &len, err) != 0) {
        snprintf(run->error_class, sizeof run->error_class, "document");
        return STORE_ERROR;
    }
    sha256_hex(bytes, len, run->document_sha256);
    int is_text = g_utf8_validate((const char *)bytes, (gssize)len, NULL) && !memchr(bytes, 0, len);
    store_document doc = {.sha256 = run->document_sha256, .source = job_source(run->job),
                          .format = is_text ? "text" : "binary", .text = is_text ? (const char *)bytes : NULL};
    store_result results[STUB_MAX_RESULTS];
    static const char *const default_analysis[] = {"summary"};
    size_t n = run->job->n_analyses ? run->job->n_analyses : 1;
    for (size_t i = 0; i < n && i < STUB_MAX_RESULTS; i++) {
        results[i] = (store_result){
            .analysis = run->job->n_analyses ? run->job->analyses[i] : default_analysis[0],
            .prompt_name = "stub", .prompt_version = "0", .model_name = "none",
            .model_sha256 = "0000000000000000000000000000000000000000000000000000000000000000",
            .raw_text = "(stub pipeline: no model was run)",
            .prompt_tokens = -1, .completion_tokens = -1, .prompt_ms = -1, .completion_ms = -1,
        };
    }
    int rc = store_job_done(run->store, run->job->job_id, &doc, results, n, NULL, err);
    if (rc == STORE_ERROR)
        snprintf(run->error_class, sizeof run->error_class, "store");
    free(bytes);
    return rc;
}
