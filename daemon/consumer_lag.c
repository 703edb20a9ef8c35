/* consumer_lag.c — the lag thread: watermarks and positions -> the gauge (see consumer_lag.h). */
#include "daemon/consumer_lag.h"

#include <stdlib.h>

#include "common/periodic.h"

struct consumer_lag {
    rd_kafka_t *rk;
    metrics *metrics;
    periodic *timer;
};

/* Partitions without a position get their committed offset (one request). */
static void fill_missing_positions(consumer_lag *l, rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_position(l->rk, parts);
    int missing = 0;
    for (int i = 0; i < parts->cnt; i++)
        missing += parts->elems[i].offset < 0;
    if (!missing)
        return;
    rd_kafka_topic_partition_list_t *committed = rd_kafka_topic_partition_list_copy(parts);
    if (rd_kafka_committed(l->rk, committed, LAG_QUERY_TIMEOUT_MS) == RD_KAFKA_RESP_ERR_NO_ERROR)
        for (int i = 0; i < parts->cnt; i++)
            if (parts->elems[i].offset < 0 && committed->elems[i].err == RD_KAFKA_RESP_ERR_NO_ERROR)
                parts->elems[i].offset = committed->elems[i].offset;
    rd_kafka_topic_partition_list_destroy(committed);
}

/* One refresh; leaves the gauge alone when the assignment cannot be read
 * or a stop interrupts it. */
static void refresh(void *ctx)
{
    consumer_lag *l = ctx;
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(l->rk, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR || !parts)
        return;
    fill_missing_positions(l, parts);
    int64_t lag = 0;
    int interrupted = 0;
    for (int i = 0; i < parts->cnt && !(interrupted = periodic_stopping(l->timer)); i++) {
        rd_kafka_topic_partition_t *p = &parts->elems[i];
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(l->rk, p->topic, p->partition, &lo, &hi, LAG_QUERY_TIMEOUT_MS) !=
                RD_KAFKA_RESP_ERR_NO_ERROR ||
            hi < 0)
            continue;
        int64_t pos = p->offset >= 0 ? p->offset : lo;
        if (pos >= 0 && hi > pos)
            lag += hi - pos;
    }
    rd_kafka_topic_partition_list_destroy(parts);
    if (!interrupted)
        metrics_set_consumer_lag(l->metrics, lag);
}

int consumer_lag_start(consumer_lag **out, rd_kafka_t *rk, metrics *m, int interval_ms, perr *err)
{
    consumer_lag *l = calloc(1, sizeof *l);
    if (!l)
        return perr_set(err, "out of memory");
    l->rk = rk;
    l->metrics = m;
    if (periodic_start(&l->timer, interval_ms > 0 ? interval_ms : LAG_REFRESH_MS, 1, refresh, l, err) != 0) {
        free(l);
        return perr_prefix(err, "consumer lag");
    }
    *out = l;
    return 0;
}

void consumer_lag_stop(consumer_lag *l)
{
    if (!l)
        return;
    periodic_stop(l->timer);
    free(l);
}
