/* stub_analyzer.h — a test double of the model pipeline, as a job analyzer
 * (pipeline/job_run.h): it loads the job's document and reports it (sha256,
 * its text when it is UTF-8, format "text" or "binary") with one "stub"
 * result per requested analysis (model "none", all-zero model SHA); the job
 * runner stores that as it stores a real report. For tests of Kafka,
 * PostgreSQL and the lifecycle: linked into the unit tests and into the test
 * binary precis-stub (tests/stub_precis.c), never into the product. */
#ifndef PRECIS_STUB_ANALYZER_H
#define PRECIS_STUB_ANALYZER_H

#include "pipeline/job_run.h"

typedef struct stub_analyzer_options {
    long delay_ms;               /* pretend work per job (tests: a crash lands mid-job) */
    long jitter_ms;              /* plus 0..jitter_ms, fixed per job id: jobs finish out of order */
    const char *input_root;      /* for job_load_document */
} stub_analyzer_options;

/* A job_analyze_fn; ctx is a stub_analyzer_options (or NULL). A document
 * that cannot be loaded is a permanent failure (class "document"); a
 * cancel hook that fires during the delay (shutdown grace over, job_timeout
 * passed) gives up (PIPELINE_TRANSIENT). */
int stub_analyze(void *ctx, const job *j, const pipeline_hooks *hooks, pipeline_report *rep, perr *err);

#endif
