/* mock_broker.c — start librdkafka's in-process mock cluster (see mock_broker.h). */
#include "daemon/mock_broker.h"

#include <stdlib.h>

#include "daemon/kafka_conf.h"

struct mock_broker {
    rd_kafka_t *rk;                   /* owner handle the mock cluster requires */
    rd_kafka_mock_cluster_t *cluster;
};

static rd_kafka_t *owner_handle(perr *err)
{
    rd_kafka_conf_t *conf;
    /* Quiet: this handle never connects anywhere itself. */
    static const kafka_property props[] = {{"log_level", "3"}, {"client.id", "precis-mock-broker"}};
    if (kafka_conf_new(&conf, props, sizeof props / sizeof props[0], err) != 0)
        return NULL;
    char errstr[256];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        perr_set(err, "mock broker: %s", errstr);
    }
    return rk;
}

int mock_broker_start(mock_broker **out, const mock_broker_options *opt, perr *err)
{
    int brokers = opt && opt->brokers > 0 ? opt->brokers : 1;
    int partitions = opt && opt->partitions > 0 ? opt->partitions : 3;
    mock_broker *b = calloc(1, sizeof *b);
    if (!b)
        return perr_set(err, "out of memory");
    if (!(b->rk = owner_handle(err))) {
        free(b);
        return -1;
    }
    if (!(b->cluster = rd_kafka_mock_cluster_new(b->rk, brokers))) {
        mock_broker_stop(b);
        return perr_set(err, "cannot start the mock Kafka cluster");
    }
    for (size_t i = 0; opt && opt->topics && opt->topics[i]; i++) {
        rd_kafka_resp_err_t rc = rd_kafka_mock_topic_create(b->cluster, opt->topics[i], partitions, 1);
        if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
            mock_broker_stop(b);
            return perr_set(err, "mock broker: creating topic %s: %s", opt->topics[i], rd_kafka_err2str(rc));
        }
    }
    *out = b;
    return 0;
}

const char *mock_broker_bootstraps(const mock_broker *b)
{
    return rd_kafka_mock_cluster_bootstraps(b->cluster);
}

rd_kafka_mock_cluster_t *mock_broker_cluster(mock_broker *b)
{
    return b->cluster;
}

void mock_broker_stop(mock_broker *b)
{
    if (!b)
        return;
    if (b->cluster)
        rd_kafka_mock_cluster_destroy(b->cluster);
    if (b->rk)
        rd_kafka_destroy(b->rk);
    free(b);
}
