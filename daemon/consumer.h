/* consumer.h — the job consumer: a Kafka consumer-group loop around a handler.
 *
 * For each message on the jobs topic the loop calls handler.handle() and acts
 * on its outcome:
 *   JOB_OK                 store offset+1 and commit it synchronously;
 *   JOB_PERMANENT_FAILURE  send the message to the DLQ topic (original key,
 *                          payload with its secrets masked — see
 *                          pipeline/job_redact.h — and headers plus Kafka Connect error
 *                          headers, see dlq.h), wait for the broker's ack,
 *                          then commit; if the DLQ send fails the message is
 *                          treated as a transient failure (retried);
 *   JOB_TRANSIENT_FAILURE  commit nothing: pause the partition, seek it back
 *                          to the message and resume after an exponential
 *                          backoff (backoff_initial_ms doubling up to
 *                          backoff_max_ms); the same message is handled again.
 * The handler must have durably recorded the outcome (PostgreSQL transaction
 * committed) before returning OK or PERMANENT_FAILURE: offsets are committed
 * only afterwards, so a crash mid-job means redelivery, never loss.
 *
 * We own offset management: enable.auto.commit and enable.auto.offset.store
 * are always false (a user value is overridden with a warning). Defaults the
 * user may override: group.id=precis, auto.offset.reset=earliest. On a
 * rebalance, stored offsets are committed synchronously before partitions are
 * revoked, for both the eager and the cooperative protocol.
 *
 * Up to jobs_in_flight messages are handled at once, each on a worker
 * thread of its own (daemon/job_workers.h); every Kafka call stays on the
 * thread that calls consumer_run. Messages of a partition may finish out of
 * order: its offset is committed only up to the first message whose outcome
 * is not yet durable (daemon/offset_tracker.h), so a crash redelivers every
 * unfinished job. A message redelivered while it still runs (after a retry's
 * seek) is not handled twice. While every worker is busy the consumer does
 * not poll: set max.poll.interval.ms above the longest job you expect. With
 * metrics, a thread of the consumer's own keeps the lag gauge current
 * (daemon/consumer_lag.h), from consumer_run's start until its loop ends.
 * Before partitions are revoked, their running jobs finish and what is done
 * is committed.
 *
 * Stop: consumer_request_stop (thread-safe, async-signal-safe) makes the loop
 * stop taking messages; the jobs in progress may finish within the grace
 * period — a handler checks consumer_job_cancelled() to give up early (and
 * should then return JOB_TRANSIENT_FAILURE so the job is redelivered) — then
 * offsets are committed and the consumer leaves the group. A reload request
 * waits until no job runs (on_reload runs between jobs).
 */
#ifndef PRECIS_CONSUMER_H
#define PRECIS_CONSUMER_H

#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>

#include "common/error.h"
#include "daemon/kafka_conf.h"
#include "daemon/metrics.h"

typedef struct consumer consumer;

typedef enum job_outcome { JOB_OK, JOB_PERMANENT_FAILURE, JOB_TRANSIENT_FAILURE } job_outcome;

/* One consumed message, valid for the duration of handle(). */
typedef struct kafka_message_view {
    const char *topic;
    int32_t partition;
    int64_t offset;
    const void *key;        /* NULL when the message has no key */
    size_t key_len;
    const void *payload;    /* NULL when empty */
    size_t payload_len;
    const rd_kafka_headers_t *headers;   /* NULL when none */
    int attempt;            /* 1 on first delivery, +1 per transient retry in this process */
    int worker;             /* 0..jobs_in_flight-1: the worker thread handling it */
    consumer *consumer;     /* for consumer_job_cancelled() and the metrics */
    const char **failure_class;  /* out, optional: the DLQ exception class of a
                                    permanent failure (left NULL: DLQ_DEFAULT_CLASS) */
} kafka_message_view;

typedef struct job_handler {
    /* On failure fill err: its text becomes the DLQ exception message.
     * Called on the worker threads, up to jobs_in_flight at once. */
    job_outcome (*handle)(void *ctx, const kafka_message_view *msg, perr *err);
    void *ctx;
} job_handler;

typedef struct consumer_options {
    const kafka_property *props;   /* verbatim librdkafka properties */
    size_t nprops;
    const char *jobs_topic;        /* NULL: "precis.jobs" */
    const char *dlq_topic;         /* NULL: "precis.jobs.dlq" */
    job_handler handler;
    metrics *metrics;              /* optional */
    int backoff_initial_ms;        /* 0: 1000 */
    int backoff_max_ms;            /* 0: 30000 */
    int poll_ms;                   /* poll timeout between stop checks; 0: 200 */
    int jobs_in_flight;            /* messages handled at once (worker threads); 0: 1 */
    int lag_refresh_ms;            /* lag gauge refresh period (consumer_lag.h); 0: 5000 */
    long shutdown_grace_ms;        /* after a stop request; <0: unlimited; 0: cancel at once */
    void (*on_reload)(void *ctx);  /* optional; run between jobs after consumer_request_reload */
    void (*on_idle)(void *ctx);    /* optional; run every loop turn (e.g. watchdog) */
    void *hook_ctx;
    kafka_log_hook log_hook;       /* tests: sees the consumer's librdkafka log lines; NULL: none */
} consumer_options;

/* Creates the consumer (and its DLQ producer) and subscribes to the jobs topic. */
int consumer_new(consumer **out, const consumer_options *opt, perr *err);

/* Runs until a stop request or a fatal Kafka error: 0 after a clean stop
 * (offsets committed, group left), -1 with err otherwise. */
int consumer_run(consumer *c, perr *err);

/* Thread-safe and async-signal-safe. */
void consumer_request_stop(consumer *c);
void consumer_request_reload(consumer *c);

/* True once a stop was requested and the grace period has run out. */
int consumer_job_cancelled(consumer *c);

/* Kafka reachable: a metadata request answered within timeout_ms. */
int consumer_kafka_ready(consumer *c, int timeout_ms, perr *err);

metrics *consumer_metrics(consumer *c);

/* Destroys (consumer_run must have returned). NULL is ignored. */
void consumer_free(consumer *c);

#endif
