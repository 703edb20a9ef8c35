/* producer.c — produce one message and wait for its delivery report (see producer.h). */
#include "daemon/producer.h"

#include <stdatomic.h>
#include <stdlib.h>

struct producer {
    rd_kafka_t *rk;
};

/* Filled by the delivery report callback; lives on producer_send's stack and
 * is only referenced until that callback ran (producer_send waits for it). */
typedef struct delivery_state {
    atomic_int done;
    rd_kafka_resp_err_t err;
    int32_t partition;
    int64_t offset;
} delivery_state;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    (void)rk;
    (void)opaque;
    delivery_state *st = msg->_private;
    if (!st)
        return;
    st->err = msg->err;
    st->partition = msg->partition;
    st->offset = msg->offset;
    atomic_store(&st->done, 1);
}

int producer_new(producer **out, const kafka_property *props, size_t n, perr *err)
{
    rd_kafka_conf_t *conf;
    if (kafka_conf_new(&conf, props, n, err) != 0)
        return perr_prefix(err, "producer");
    if (!kafka_props_get(props, n, "message.timeout.ms") &&
        kafka_conf_set(conf, "message.timeout.ms", "30000", err) != 0) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    char errstr[256];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return perr_set(err, "creating Kafka producer: %s", errstr);
    }
    producer *p = calloc(1, sizeof *p);
    if (!p) {
        rd_kafka_destroy(rk);
        return perr_set(err, "out of memory");
    }
    p->rk = rk;
    *out = p;
    return 0;
}

int producer_send(producer *p, const producer_message *m, producer_delivery *delivered, perr *err)
{
    delivery_state st = {.err = RD_KAFKA_RESP_ERR_NO_ERROR};
    atomic_init(&st.done, 0);
    rd_kafka_resp_err_t rc;
    if (m->headers)
        rc = rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(m->topic), RD_KAFKA_V_PARTITION(m->partition),
                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                               RD_KAFKA_V_KEY(m->key, m->key_len),
                               RD_KAFKA_V_VALUE((void *)m->value, m->value_len),
                               RD_KAFKA_V_HEADERS(m->headers), RD_KAFKA_V_OPAQUE(&st), RD_KAFKA_V_END);
    else
        rc = rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(m->topic), RD_KAFKA_V_PARTITION(m->partition),
                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                               RD_KAFKA_V_KEY(m->key, m->key_len),
                               RD_KAFKA_V_VALUE((void *)m->value, m->value_len),
                               RD_KAFKA_V_OPAQUE(&st), RD_KAFKA_V_END);
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
        /* On failure the headers were not taken over by librdkafka. */
        if (m->headers)
            rd_kafka_headers_destroy(m->headers);
        return perr_set(err, "producing to %s: %s", m->topic, rd_kafka_err2str(rc));
    }
    /* librdkafka guarantees a delivery report within message.timeout.ms. */
    while (!atomic_load(&st.done))
        rd_kafka_poll(p->rk, 50);
    if (st.err != RD_KAFKA_RESP_ERR_NO_ERROR)
        return perr_set(err, "delivering to %s: %s", m->topic, rd_kafka_err2str(st.err));
    if (delivered) {
        delivered->partition = st.partition;
        delivered->offset = st.offset;
    }
    return 0;
}

void producer_free(producer *p)
{
    if (!p)
        return;
    rd_kafka_flush(p->rk, 5000);
    rd_kafka_destroy(p->rk);
    free(p);
}
