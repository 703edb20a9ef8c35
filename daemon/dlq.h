/* dlq.h — dead-lettering a job that failed permanently.
 *
 * The dead-letter message keeps the original key and payload (the caller
 * masks the payload's secrets first, see consumer.c) (and the
 * original headers) and adds headers following Kafka Connect's convention, so
 * existing DLQ tooling understands it:
 *     __connect.errors.topic                 original topic
 *     __connect.errors.partition             original partition (decimal)
 *     __connect.errors.offset                original offset (decimal)
 *     __connect.errors.exception.class.name  failure class, e.g. precis.InvalidJob
 *     __connect.errors.exception.message     the failure's message
 *     precis.errors.attempts                 handler attempts for this message (decimal)
 * Headers with these names already on the original (a re-dead-lettered
 * message) are replaced, not duplicated. dlq_send waits for the broker's
 * acknowledgement so the original offset can be committed safely afterwards.
 */
#ifndef PRECIS_DLQ_H
#define PRECIS_DLQ_H

#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>

#include "common/error.h"
#include "daemon/producer.h"

#define DLQ_HDR_TOPIC "__connect.errors.topic"
#define DLQ_HDR_PARTITION "__connect.errors.partition"
#define DLQ_HDR_OFFSET "__connect.errors.offset"
#define DLQ_HDR_CLASS "__connect.errors.exception.class.name"
#define DLQ_HDR_MESSAGE "__connect.errors.exception.message"
#define DLQ_HDR_ATTEMPTS "precis.errors.attempts"

/* Class name used when the handler gives none. */
#define DLQ_DEFAULT_CLASS "precis.PermanentJobFailure"

typedef struct dlq_failure {
    const char *topic;                      /* where the message was consumed */
    int32_t partition;
    int64_t offset;
    const void *key;
    size_t key_len;
    const void *payload;
    size_t payload_len;
    const rd_kafka_headers_t *headers;      /* original headers, may be NULL */
    const char *exception_class;            /* NULL: DLQ_DEFAULT_CLASS */
    const char *message;                    /* why it failed */
    int attempts;
} dlq_failure;

/* The dead-letter headers for f (original headers plus the error headers). */
rd_kafka_headers_t *dlq_headers_new(const dlq_failure *f);

/* Send f to dlq_topic, keyed like the original, and wait for the ack. */
int dlq_send(producer *p, const char *dlq_topic, const dlq_failure *f, perr *err);

#endif
