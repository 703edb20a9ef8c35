/* mock_broker.h — librdkafka's built-in mock Kafka cluster, for embedded
 * defaults (`precis serve` without bootstrap.servers), `precis broker` and tests.
 *
 * It lives in this process and keeps everything in memory: NOT durable.
 * librdkafka 2.0.2 binds each mock broker to 127.0.0.1 on a random port
 * (rd_kafka_mock_cluster_new takes no address and no property sets one), so
 * the bootstrap address is only known after start: mock_broker_bootstraps().
 */
#ifndef PRECIS_MOCK_BROKER_H
#define PRECIS_MOCK_BROKER_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "common/error.h"

typedef struct mock_broker mock_broker;

typedef struct mock_broker_options {
    int brokers;                    /* 0: 1 */
    int partitions;                 /* per topic; 0: 3 */
    const char *const *topics;      /* NULL-terminated; NULL: none created up front */
} mock_broker_options;

int mock_broker_start(mock_broker **out, const mock_broker_options *opt, perr *err);

/* "127.0.0.1:PORT[,...]" — the bootstrap.servers to give clients. */
const char *mock_broker_bootstraps(const mock_broker *b);

/* For fault injection in tests (rd_kafka_mock_broker_set_down etc.). */
rd_kafka_mock_cluster_t *mock_broker_cluster(mock_broker *b);

void mock_broker_stop(mock_broker *b);

#endif
