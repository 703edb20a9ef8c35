/* job_handler.h — the consumer's handler for `precis serve`: one Kafka
 * message -> parsed job -> pipeline step -> outcome recorded in PostgreSQL.
 *
 *   invalid job JSON        store_job_failed(dead) under the job_id the message
 *                           carries when it is a usable id, else
 *                           "kafka:TOPIC:PARTITION:OFFSET" (never the message
 *                           key), class invalid_job -> PERMANENT (DLQ)
 *   job already done, or dead from this same message (a redelivery)
 *                           nothing to do -> OK; a NEW message for a dead or
 *                           failed job runs it again (history kept)
 *   redelivered (first try in this process) with more than max_attempts
 *   attempts of this message  a job that keeps crashing the daemon ->
 *                           store_job_failed(dead), class too_many_attempts -> PERMANENT
 *   step returns 0          the step committed store_job_done -> OK (+ results event)
 *   step ran past job_timeout  store_job_failed, class timeout: while the
 *                           message's attempts are below max_attempts the job
 *                           is 'failed' -> TRANSIENT (retried after backoff);
 *                           then dead -> PERMANENT (precis.Timeout)
 *   step STORE_TRANSIENT    -> TRANSIENT (paused, retried; nothing committed)
 *   step STORE_ERROR        store_job_failed(dead) with the step's class -> PERMANENT
 * Every failure reason is scrubbed of the message's secrets (the job
 * password) before it is stored, logged, dead-lettered or published.
 * A database that cannot be reached at any point -> TRANSIENT. The outcome
 * is in PostgreSQL before the handler returns, so the consumer may commit.
 *
 * The pipeline step (extract -> engine -> store) is a callback so the Kafka
 * side is testable without the engine.
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
#include "store/store.h"

/* What a step gets, and what it reports back. */
typedef struct job_run {
    const job *job;
    store *store;                 /* connected; the step calls store_job_done */
    const char *input_root;       /* for job_load_document */
    metrics *metrics;             /* may be NULL: stage durations, tokens */
    consumer *consumer;           /* consumer_job_cancelled(run->consumer): give up
                                     (return STORE_TRANSIENT) when shutdown grace is over */
    int attempts;                 /* recorded attempts including this one */
    int64_t deadline_ms;          /* monotonic ms the attempt must end by ([pipeline]
                                     job_timeout); 0: none. Steps poll job_run_should_stop */
    int timed_out;                /* set by job_run_should_stop once the deadline passed */
    /* Filled by the step: */
    char error_class[32];         /* on STORE_ERROR, e.g. "extract", "engine" */
    char document_sha256[65];     /* on success, for the results event */
} job_run;

/* 0 (store_job_done committed), STORE_ERROR (permanent) or STORE_TRANSIENT. */
typedef int (*job_step_fn)(void *ctx, job_run *run, perr *err);

/* For steps to poll (an llm_cancel_fn for ctx = run): true once the job's
 * deadline has passed (run->timed_out set) or the shutdown grace is over.
 * The step then gives up (STORE_TRANSIENT); the handler turns a timeout
 * into a failure of class "timeout". */
int job_run_should_stop(void *run);

typedef struct job_handler_options {
    const char *conninfo;         /* [postgres] conninfo */
    const char *input_root;       /* [pipeline] input_root */
    long max_attempts;            /* [pipeline] max_attempts; <= 0: no limit */
    long job_timeout_ms;          /* [pipeline] job_timeout; <= 0: none */
    job_step_fn step;
    void *step_ctx;
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
