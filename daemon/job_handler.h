/* job_handler.h — the consumer's handler for `precis serve`: one Kafka
 * message -> parsed job -> pipeline step -> outcome recorded in PostgreSQL.
 *
 *   invalid job JSON        job_run_fail(dead) under the job_id the message
 *                           carries when it is a usable id, else
 *                           "kafka:TOPIC:PARTITION:OFFSET" (never the message
 *                           key), class invalid_job -> PERMANENT (DLQ)
 *   job already done, or dead from this same message (a redelivery)
 *                           nothing to do -> OK; a NEW message for a dead or
 *                           failed job runs it again (history kept)
 *   redelivered (first try in this process) with more than max_attempts
 *   attempts of this message  a job that keeps crashing the daemon ->
 *                           job_run_fail(dead), class too_many_attempts -> PERMANENT
 *   job runs (job_run_execute)  analysed and recorded done -> OK (+ results event)
 *   ran past job_timeout    job_run_fail, class timeout: while the
 *                           message's attempts are below max_attempts the job
 *                           is 'failed' -> TRANSIENT (retried after backoff);
 *                           then dead -> PERMANENT (precis.Timeout)
 *   run TRANSIENT           -> TRANSIENT (paused, retried; nothing committed)
 *   run PERMANENT           job_run_fail(dead) with the report's class -> PERMANENT
 * Every failure reason is scrubbed of the message's secrets (the job
 * password) before it is stored, logged, dead-lettered or published.
 * A database that cannot be reached at any point -> TRANSIENT. The outcome
 * is in PostgreSQL before the handler returns, so the consumer may commit.
 *
 * Every status is written through the job runner (pipeline/job_run.h); the
 * analyzer is a parameter so the Kafka side is testable without the engine.
 * Stage durations and token counts go to the metrics.
 */
#ifndef PRECIS_JOB_HANDLER_H
#define PRECIS_JOB_HANDLER_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "daemon/consumer.h"
#include "daemon/metrics.h"
#include "daemon/producer.h"
#include "pipeline/job.h"
#include "pipeline/job_run.h"
#include "store/store.h"

/* For an analyzer's cancel hook: the attempt gives up (PIPELINE_TRANSIENT)
 * once its deadline has passed or the shutdown grace is over. */
typedef struct job_attempt {
    consumer *consumer;           /* consumer_job_cancelled: shutdown grace over */
    int64_t deadline_ms;          /* monotonic ms ([pipeline] job_timeout); 0: none */
    int timed_out;                /* set once the deadline passed */
} job_attempt;

/* An llm_cancel_fn for ctx = a job_attempt. */
int job_attempt_should_stop(void *attempt);

typedef struct job_handler_options {
    const char *conninfo;         /* [postgres] conninfo */
    long max_attempts;            /* [pipeline] max_attempts; <= 0: no limit */
    long job_timeout_ms;          /* [pipeline] job_timeout; <= 0: none */
    int jobs_in_flight;           /* the consumer's workers (one connection each); <= 0: 1 */
    job_analyzer analyzer;        /* the model pipeline, or a test double */
    producer *results;            /* optional: results events */
    const char *results_topic;
    metrics *metrics;             /* optional */
} job_handler_options;

typedef struct job_handler_state job_handler_state;

int job_handler_new(job_handler_state **out, const job_handler_options *opt, perr *err);
void job_handler_free(job_handler_state *h);

/* The consumer's job_handler for h. */
job_handler job_handler_for(job_handler_state *h);

/* Readiness: a fresh connection answers a round trip within about 2 s per
 * phase (store_probe; thread-safe). */
int job_handler_pg_ready(void *h, perr *err);

/* The results event JSON: {"job_id","status","document_sha256","analyses":[...],"error"}
 * (document_sha256/error omitted when NULL). malloc'd. */
char *results_event_json(const char *job_id, const char *status, const char *document_sha256,
                         char *const *analyses, size_t n_analyses, const char *error);

#endif
