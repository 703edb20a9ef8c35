/* producer.h — a Kafka producer that sends one message and waits for its
 * delivery report, so callers (dead-letter queue, results events, `precis
 * submit`) know the broker acknowledged it before they go on (for the DLQ:
 * before the original offset is committed).
 *
 * Properties are passed verbatim (see kafka_conf.h); message.timeout.ms
 * defaults to 30000 so a send never blocks longer than that unless the user
 * configures otherwise.
 */
#ifndef PRECIS_PRODUCER_H
#define PRECIS_PRODUCER_H

#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>

#include "common/error.h"
#include "daemon/kafka_conf.h"

typedef struct producer producer;

typedef struct producer_message {
    const char *topic;
    int32_t partition;             /* RD_KAFKA_PARTITION_UA: chosen from the key */
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
    rd_kafka_headers_t *headers;   /* may be NULL; always taken over by producer_send */
} producer_message;

/* Where an acknowledged message landed. */
typedef struct producer_delivery {
    int32_t partition;
    int64_t offset;
} producer_delivery;

int producer_new(producer **out, const kafka_property *props, size_t n, perr *err);

/* Produce m and wait for the broker's acknowledgement (or the failure the
 * delivery report gives). delivered may be NULL. */
int producer_send(producer *p, const producer_message *m, producer_delivery *delivered, perr *err);

/* Flushes (up to 5 s) and destroys. NULL is ignored. */
void producer_free(producer *p);

#endif
