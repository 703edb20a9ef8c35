/* stub_step.h — a test double of the pipeline step that runs no model: it
 * loads the job's document, records it (sha256, raw text when it is UTF-8)
 * and one "stub" result per requested analysis (all-zero model SHA) with
 * store_job_done. For tests of Kafka, PostgreSQL and the lifecycle: linked
 * into the unit tests and into the test binary precis-stub
 * (tests/stub_precis.c), never into the product. */
#ifndef PRECIS_STUB_STEP_H
#define PRECIS_STUB_STEP_H

#include "daemon/job_handler.h"

typedef struct stub_step_options {
    long delay_ms;   /* pretend work per job (tests: a crash lands mid-job) */
} stub_step_options;

/* A job_step_fn; ctx is a stub_step_options (or NULL). A document that
 * cannot be loaded is a permanent failure (class "document"); a shutdown
 * whose grace ran out, or a job_timeout that passed, during the delay gives
 * up (transient: redelivered; the handler makes a timeout a failure). */
int stub_step(void *ctx, job_run *run, perr *err);

#endif
