/* consumer_lag.h — keeps the precis_consumer_lag gauge current, also while
 * a long job holds the consumer's thread.
 *
 * A thread owned by the consumer: every interval_ms it sums, over the
 * partitions assigned to rk, the high watermark (asked of the broker,
 * LAG_QUERY_TIMEOUT_MS per partition) minus the consumer's position (the
 * offset after the last message handed to the application; when there is
 * none yet, the committed offset, else the low watermark) and sets the
 * gauge. A partition whose watermark cannot be had is left out of that sum.
 * Every librdkafka call it makes is thread-safe; consumer_lag_stop must run
 * before rk is closed.
 */
#ifndef PRECIS_CONSUMER_LAG_H
#define PRECIS_CONSUMER_LAG_H

#include <librdkafka/rdkafka.h>

#include "common/error.h"
#include "daemon/metrics.h"

#define LAG_REFRESH_MS 5000
#define LAG_QUERY_TIMEOUT_MS 2000

typedef struct consumer_lag consumer_lag;

/* interval_ms <= 0: LAG_REFRESH_MS. The first refresh happens at once. */
int consumer_lag_start(consumer_lag **out, rd_kafka_t *rk, metrics *m, int interval_ms, perr *err);

/* Stops and joins the thread (a refresh in progress ends after its current
 * broker request). NULL is ignored. */
void consumer_lag_stop(consumer_lag *l);

#endif
