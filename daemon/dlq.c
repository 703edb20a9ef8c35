/* dlq.c — dead-letter messages with Kafka Connect error headers (see dlq.h). */
#include "daemon/dlq.h"

#include <inttypes.h>
#include <stdio.h>

static const char *const error_header_names[] = {
    DLQ_HDR_TOPIC, DLQ_HDR_PARTITION, DLQ_HDR_OFFSET, DLQ_HDR_CLASS, DLQ_HDR_MESSAGE, DLQ_HDR_ATTEMPTS, NULL,
};

static void add_string(rd_kafka_headers_t *h, const char *name, const char *value)
{
    rd_kafka_header_add(h, name, -1, value, -1);
}

rd_kafka_headers_t *dlq_headers_new(const dlq_failure *f)
{
    rd_kafka_headers_t *h = f->headers ? rd_kafka_headers_copy(f->headers) : rd_kafka_headers_new(8);
    for (size_t i = 0; error_header_names[i]; i++)
        rd_kafka_header_remove(h, error_header_names[i]);
    char num[32];
    add_string(h, DLQ_HDR_TOPIC, f->topic ? f->topic : "");
    snprintf(num, sizeof num, "%" PRId32, f->partition);
    add_string(h, DLQ_HDR_PARTITION, num);
    snprintf(num, sizeof num, "%" PRId64, f->offset);
    add_string(h, DLQ_HDR_OFFSET, num);
    add_string(h, DLQ_HDR_CLASS, f->exception_class ? f->exception_class : DLQ_DEFAULT_CLASS);
    add_string(h, DLQ_HDR_MESSAGE, f->message ? f->message : "");
    snprintf(num, sizeof num, "%d", f->attempts);
    add_string(h, DLQ_HDR_ATTEMPTS, num);
    return h;
}

int dlq_send(producer *p, const char *dlq_topic, const dlq_failure *f, perr *err)
{
    producer_message m = {
        .topic = dlq_topic,
        .partition = RD_KAFKA_PARTITION_UA,
        .key = f->key,
        .key_len = f->key_len,
        .value = f->payload,
        .value_len = f->payload_len,
        .headers = dlq_headers_new(f),
    };
    if (producer_send(p, &m, NULL, err) != 0)
        return perr_prefix(err, "dead-lettering %s [%" PRId32 "] @%" PRId64, f->topic, f->partition, f->offset);
    return 0;
}
